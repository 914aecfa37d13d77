//! One read from Azure Blob Storage's API, served by Azurite (pinned in
//! tests/emulators/package.json, installed by scripts/setup-emulators.sh): `az://` reaches it
//! through the Azure client with SharedKey signing.
//!
//! Its own test binary: the emulator settings come from the environment, set once here.
#![cfg(feature = "remote")]
#![allow(clippy::unwrap_used)] // helpers of tests: a failed unwrap is the failed test

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use scorewell_source::{FetchOptions, Origin, resolve};
use sha2::{Digest, Sha256};

/// Azurite's built-in development account (public, documented by Microsoft).
const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn azurite() -> PathBuf {
    if let Some(p) = std::env::var_os("SCOREWELL_AZURITE") {
        return PathBuf::from(p);
    }
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/emulators/node_modules/.bin/azurite-blob");
    assert!(
        bin.exists(),
        "the Azure test needs Azurite: run `bash scripts/setup-emulators.sh` (or set SCOREWELL_AZURITE)"
    );
    bin
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |b: u8| block.iter().map(|k| k ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// A SharedKey-signed PUT to Azurite (path-style: /account/container[/blob]); the status line.
fn put(
    port: u16,
    path: &str,
    query: Option<(&str, &str)>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let date = httpdate::fmt_http_date(SystemTime::now());
    let mut ms: Vec<(String, String)> = vec![
        ("x-ms-date".into(), date),
        ("x-ms-version".into(), "2021-08-06".into()),
    ];
    ms.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    ms.sort();
    let length = if body.is_empty() {
        String::new()
    } else {
        body.len().to_string()
    };
    let content_type = if body.is_empty() {
        ""
    } else {
        "application/octet-stream"
    };
    let mut resource = format!("/{ACCOUNT}{path}");
    if let Some((k, v)) = query {
        resource.push_str(&format!("\n{k}:{v}"));
    }
    let canonical: String = ms.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let to_sign = format!("PUT\n\n\n{length}\n\n{content_type}\n\n\n\n\n\n\n{canonical}{resource}");
    let key = base64::engine::general_purpose::STANDARD
        .decode(KEY)
        .unwrap();
    let signature =
        base64::engine::general_purpose::STANDARD.encode(hmac_sha256(&key, to_sign.as_bytes()));
    let url = match query {
        Some((k, v)) => format!("{path}?{k}={v}"),
        None => path.to_string(),
    };
    let mut head = format!(
        "PUT {url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\nAuthorization: SharedKey {ACCOUNT}:{signature}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    for (k, v) in &ms {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn az_urls_are_read_through_the_azure_api() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Killed(
        Command::new(azurite())
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--skipApiVersionCheck",
                "--silent",
                "--location",
            ])
            .arg(dir.path().join("azurite"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start azurite"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "Azurite did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let made = put(
        port,
        &format!("/{ACCOUNT}/models"),
        Some(("restype", "container")),
        &[],
        b"",
    );
    assert!(made.contains(" 201 "), "create container: {made}");
    let model = b"tree\nversion=v4\n";
    let stored = put(
        port,
        &format!("/{ACCOUNT}/models/dir/m.txt"),
        None,
        &[("x-ms-blob-type", "BlockBlob")],
        model,
    );
    assert!(stored.contains(" 201 "), "put blob: {stored}");

    // SAFETY: the only test in this binary, before any fetch starts a thread.
    unsafe {
        std::env::set_var("AZURE_STORAGE_USE_EMULATOR", "true");
        std::env::set_var(
            "AZURITE_BLOB_STORAGE_URL",
            format!("http://127.0.0.1:{port}"),
        );
    }
    let options = FetchOptions {
        cache_dir: Some(dir.path().join("cache")),
        retries: 0,
        ..Default::default()
    };
    let got = resolve("az://models/dir/m.txt", &options).unwrap();
    assert_eq!(got.origin, Origin::Downloaded);
    assert_eq!(std::fs::read(&got.path).unwrap(), model);
    assert!(got.etag.is_some());
    let again = resolve("az://models/dir/m.txt", &options).unwrap();
    assert_eq!(
        again.origin,
        Origin::Revalidated,
        "Azurite answers If-None-Match with 304"
    );
    let missing = resolve("az://models/dir/none.txt", &options).unwrap_err();
    assert_eq!(missing.to_string(), "az://models/dir/none.txt: not found");
}
