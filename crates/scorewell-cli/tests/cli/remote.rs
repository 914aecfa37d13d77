//! Models from a real S3-compatible server (SeaweedFS, signatures checked): `score`, `inspect`
//! and `verify` read `s3://` URLs exactly as local files, pins and failures are one line
//! naming the URL, and `serve` swaps in a new remote version and keeps the old one when the
//! new one is broken.
#![allow(clippy::unwrap_used)] // helpers of tests: a failed unwrap is the failed test

#[path = "../../../../tests/support/seaweed.rs"]
mod seaweed;

use std::io::BufReader;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Dir, STUMP, http, listening_port};

fn example(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/fraud")
        .join(name)
}

/// `scorewell` with the S3 server's endpoint and credentials and a private cache.
fn run(args: &[&dyn AsRef<std::ffi::OsStr>], cache: &Dir, extra: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scorewell"));
    cmd.args(args.iter().map(|a| a.as_ref()))
        .envs(seaweed::seaweed().env())
        .env("SCOREWELL_CACHE_DIR", cache.path("cache"));
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().expect("run scorewell")
}

fn one_error_line(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    assert!(!text.contains('\n'), "one line expected: {text}");
    text
}

#[test]
fn score_inspect_and_verify_read_s3_like_local_files() {
    let s3 = seaweed::seaweed();
    let dir = Dir::new();
    let model = std::fs::read(example("model.json")).unwrap();
    s3.put("cli/model.json", &model);
    let (zip, _) = scorewell::source_bytes(example("bundle")).unwrap();
    s3.put("cli/fraud.zip", &zip);
    let local_out = dir.path("local.csv");
    let remote_out = dir.path("remote.csv");
    let input = example("transactions.csv");
    let local = run(
        &[
            &"score",
            &example("bundle"),
            &"--input",
            &input,
            &"--output",
            &local_out,
        ],
        &dir,
        &[],
    );
    assert!(local.status.success(), "{local:?}");
    let remote = run(
        &[
            &"score",
            &"s3://models/cli/fraud.zip",
            &"--input",
            &input,
            &"--output",
            &remote_out,
        ],
        &dir,
        &[],
    );
    assert!(remote.status.success(), "{remote:?}");
    assert_eq!(
        std::fs::read(&local_out).unwrap(),
        std::fs::read(&remote_out).unwrap(),
        "same scores from S3 as from the local bundle"
    );

    let inspect = run(&[&"inspect", &"s3://models/cli/model.json"], &dir, &[]);
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(inspect.status.success(), "{inspect:?}");
    assert!(
        text.contains("model:      s3://models/cli/model.json"),
        "{text}"
    );
    assert!(text.contains("xgboost"), "{text}");

    let verify = run(&[&"verify", &"s3://models/cli/fraud.zip"], &dir, &[]);
    assert!(verify.status.success(), "{verify:?}");
    assert!(String::from_utf8_lossy(&verify.stdout).contains("verified"));
}

#[test]
fn pins_and_failures_are_one_line_naming_the_url() {
    let s3 = seaweed::seaweed();
    let dir = Dir::new();
    s3.put("cli/pinned.txt", STUMP.as_bytes());
    let digest = {
        use sha2::Digest;
        sha2::Sha256::digest(STUMP.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let out = dir.path("o.csv");
    let input = dir.write("in.csv", "x\n0.9\n");
    let score = |model: &str, extra: &[(&str, &str)]| {
        run(
            &[&"score", &model, &"--input", &input, &"--output", &out],
            &dir,
            extra,
        )
    };
    assert!(
        score(&format!("s3://models/cli/pinned.txt#sha256={digest}"), &[])
            .status
            .success()
    );
    let sha = format!("sha256:{digest}");
    assert!(
        score(
            "s3://models/cli/pinned.txt",
            &[("SCOREWELL_MODEL_SHA256", &sha)]
        )
        .status
        .success()
    );

    std::fs::remove_file(&out).unwrap();
    let wrong = "ab".repeat(32);
    let line = one_error_line(&score(
        &format!("s3://models/cli/pinned.txt#sha256={wrong}"),
        &[],
    ));
    assert!(
        line.starts_with("scorewell: s3://models/cli/pinned.txt: sha256 mismatch"),
        "{line}"
    );
    let line = one_error_line(&score("s3://models/cli/absent.txt", &[]));
    assert_eq!(line, "scorewell: s3://models/cli/absent.txt: not found");
    let line = one_error_line(&score(
        "s3://models/cli/pinned.txt",
        &[("AWS_SECRET_ACCESS_KEY", "not-the-secret")],
    ));
    assert!(
        line.starts_with("scorewell: s3://models/cli/pinned.txt: access denied"),
        "{line}"
    );
    let line = one_error_line(&score("ftp://host/m.txt", &[]));
    assert!(
        line.contains("unsupported model location scheme `ftp`"),
        "{line}"
    );
    assert!(!out.exists(), "no output file from a failed run");
}

/// Poll `check` for up to 20 s.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serve_swaps_in_new_remote_versions_and_keeps_serving_through_a_broken_one() {
    let s3 = seaweed::seaweed();
    let dir = Dir::new();
    s3.put("cli/swap/stump.txt", STUMP.as_bytes());
    let mut child = Command::new(env!("CARGO_BIN_EXE_scorewell"))
        .args([
            "serve",
            "--port",
            "0",
            "--poll-interval-ms",
            "200",
            "--log-format",
            "json",
        ])
        .arg("m=s3://models/cli/swap/stump.txt")
        .envs(s3.env())
        .env("SCOREWELL_CACHE_DIR", dir.path("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut logs = BufReader::new(child.stderr.take().expect("stderr"));
    let port = listening_port(&mut logs);
    // Keep reading the log so the server never blocks on a full pipe (failed polls log).
    std::thread::spawn(move || std::io::copy(&mut logs, &mut std::io::sink()));
    let score = || {
        http(
            port,
            "POST",
            "/v1/models/m/score",
            r#"{"rows":[{"x":0.9}]}"#,
        )
    };
    assert!(score().contains(r#""prediction":2.0"#), "{}", score());

    s3.put(
        "cli/swap/stump.txt",
        STUMP.replace("leaf_value=1 2", "leaf_value=1 7").as_bytes(),
    );
    eventually("the new version serves", || {
        score().contains(r#""prediction":7.0"#)
    });

    s3.put("cli/swap/stump.txt", b"not a model");
    eventually("the broken version is reported", || {
        http(port, "GET", "/v1/models/m", "").contains("not a recognised model file")
    });
    assert!(
        score().contains(r#""prediction":7.0"#),
        "the old version keeps serving"
    );

    s3.delete("cli/swap/stump.txt");
    eventually("the missing object is reported", || {
        http(port, "GET", "/v1/models/m", "").contains("s3://models/cli/swap/stump.txt: not found")
    });
    assert!(score().contains(r#""prediction":7.0"#));
    let _ = child.kill();
    let _ = child.wait();
}
