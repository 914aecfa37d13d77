//! Fetching over HTTP from a hand-written server on loopback that can misbehave on purpose:
//! revalidation with ETags, and one clear error for each way a transfer goes wrong.
#![cfg(feature = "remote")]
#![allow(clippy::unwrap_used)] // helpers of tests: a failed unwrap is the failed test

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scorewell_source::{FetchOptions, Origin, Sha256Pin, SourceError, resolve};

/// The object `/m.json` serves, and how many full bodies were sent.
#[derive(Default)]
struct State {
    body: Vec<u8>,
    version: u32,
    bodies_sent: u32,
}

fn start(state: Arc<Mutex<State>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let state = state.clone();
            std::thread::spawn(move || answer(conn, &state));
        }
    });
    format!("http://{addr}")
}

fn answer(mut conn: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request = String::new();
    reader.read_line(&mut request).unwrap();
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut if_none_match = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("if-none-match")
        {
            if_none_match = Some(v.trim().to_string());
        }
    }
    let head = |status: &str, len: usize, extra: &str| {
        format!("HTTP/1.1 {status}\r\ncontent-length: {len}\r\nconnection: close\r\n{extra}\r\n")
    };
    let reply = match path.as_str() {
        "/models/m.json" => {
            let mut s = state.lock().unwrap();
            let etag = format!("\"v{}\"", s.version);
            if if_none_match.as_deref() == Some(etag.as_str()) {
                head("304 Not Modified", 0, &format!("etag: {etag}\r\n")).into_bytes()
            } else {
                s.bodies_sent += 1;
                let mut r = head("200 OK", s.body.len(), &format!("etag: {etag}\r\n")).into_bytes();
                r.extend_from_slice(&s.body);
                r
            }
        }
        "/models/denied.json" => head("403 Forbidden", 0, "").into_bytes(),
        "/models/short.json" => {
            let mut r = head("200 OK", 1000, "").into_bytes();
            r.extend_from_slice(b"0123456789");
            r
        }
        "/models/slow.json" => {
            std::thread::sleep(Duration::from_secs(3));
            head("200 OK", 2, "").into_bytes()
        }
        _ => head("404 Not Found", 0, "").into_bytes(),
    };
    let _ = conn.write_all(&reply);
}

fn options(cache: &std::path::Path) -> FetchOptions {
    FetchOptions {
        cache_dir: Some(cache.to_path_buf()),
        timeout: Duration::from_secs(1),
        retries: 0,
        ..Default::default()
    }
}

#[test]
fn downloads_once_then_revalidates_and_picks_up_a_new_version() {
    let state = Arc::new(Mutex::new(State {
        body: b"{\"v\": 1}".to_vec(),
        ..Default::default()
    }));
    let base = start(state.clone());
    let cache = tempfile::tempdir().unwrap();
    let url = format!("{base}/models/m.json");

    let first = resolve(&url, &options(cache.path())).unwrap();
    assert_eq!(first.origin, Origin::Downloaded);
    assert_eq!(first.path.file_name().unwrap(), "m.json");
    assert_eq!(std::fs::read(&first.path).unwrap(), b"{\"v\": 1}");
    assert_eq!(first.etag.as_deref(), Some("\"v0\""));

    let again = resolve(&url, &options(cache.path())).unwrap();
    assert_eq!(again.origin, Origin::Revalidated);
    assert_eq!(again.path, first.path);
    assert_eq!(state.lock().unwrap().bodies_sent, 1, "304, no second body");

    {
        let mut s = state.lock().unwrap();
        s.body = b"{\"v\": 22}".to_vec();
        s.version = 1;
    }
    let changed = resolve(&url, &options(cache.path())).unwrap();
    assert_eq!(changed.origin, Origin::Downloaded);
    assert_eq!(std::fs::read(&changed.path).unwrap(), b"{\"v\": 22}");
    assert_ne!(changed.sha256, first.sha256);
}

#[test]
fn a_pin_is_checked_before_anything_is_kept() {
    let state = Arc::new(Mutex::new(State {
        body: b"abc".to_vec(),
        ..Default::default()
    }));
    let base = start(state);
    let cache = tempfile::tempdir().unwrap();
    let url = format!("{base}/models/m.json");
    let wrong = "11".repeat(32);
    let err = resolve(&format!("{url}#sha256={wrong}"), &options(cache.path())).unwrap_err();
    assert!(matches!(err, SourceError::DigestMismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{url}: sha256 mismatch")),
        "{err}"
    );
    // Nothing from the refused download is left to be used later.
    let again = resolve(&url, &options(cache.path())).unwrap();
    assert_eq!(again.origin, Origin::Downloaded);

    let right = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let mut o = options(cache.path());
    o.sha256 = Some(Sha256Pin::parse(&format!("sha256:{right}")).unwrap());
    let pinned = resolve(&url, &o).unwrap();
    assert_eq!(pinned.origin, Origin::Revalidated);
    assert_eq!(pinned.sha256.as_deref(), Some(right));
    // A pin that disagrees with a cached (304) copy is refused too.
    o.sha256 = Some(Sha256Pin::parse(&wrong).unwrap());
    assert!(matches!(
        resolve(&url, &o),
        Err(SourceError::DigestMismatch { .. })
    ));
}

#[test]
fn each_failure_is_one_line_naming_the_url() {
    let base = start(Arc::default());
    let cache = tempfile::tempdir().unwrap();
    let o = options(cache.path());
    let fail = |name: &str| resolve(&format!("{base}/models/{name}"), &o).unwrap_err();

    let e = fail("nothing.json");
    assert!(matches!(e, SourceError::NotFound { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!("{base}/models/nothing.json: not found")
    );

    let e = fail("denied.json");
    assert!(matches!(e, SourceError::Denied { .. }), "{e}");

    let e = fail("short.json");
    assert!(
        matches!(e, SourceError::Truncated { expected: 1000, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("truncated transfer"), "{e}");

    let small = FetchOptions {
        max_bytes: 500,
        ..options(cache.path())
    };
    let e = resolve(&format!("{base}/models/short.json"), &small).unwrap_err();
    assert!(
        matches!(
            e,
            SourceError::TooLarge {
                size: 1000,
                limit: 500,
                ..
            }
        ),
        "{e}"
    );

    let e = fail("slow.json");
    assert!(matches!(e, SourceError::Timeout { .. }), "{e}");

    for e in [
        fail("nothing.json"),
        fail("denied.json"),
        fail("short.json"),
    ] {
        let line = e.to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with(&format!("{base}/models/")), "{line}");
    }
    // No partial file is ever left where a later call could pick it up.
    let leftovers: Vec<_> = walk(cache.path())
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "entry.json"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
