//! `scorewell serve`: starts, answers, logs JSON, drains and exits 0 on SIGTERM; refuses bad
//! models at startup with one error line.

use std::io::{BufReader, Read};
use std::process::{Command, Stdio};

use crate::util::{Dir, STUMP, http, listening_port, scorewell};

/// POST `body` to `path` on `port`; the raw response.
fn post(port: u16, path: &str, body: &str) -> String {
    http(port, "POST", path, body)
}

#[test]
fn serve_answers_logs_json_and_drains_on_sigterm() {
    let dir = Dir::new();
    let model = dir.write("stump.txt", STUMP);
    let mut child = Command::new(env!("CARGO_BIN_EXE_scorewell"))
        .args(["serve", "--port", "0", "--log-format", "json"])
        .arg(format!("m={}", model.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut logs = BufReader::new(child.stderr.take().expect("stderr"));
    let port = listening_port(&mut logs);
    let reply = post(port, "/v1/models/m/score", r#"{"rows":[{"x":0.9}]}"#);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply.ends_with(r#"{"model":"m","version":"1","rows":[{"prediction":2.0}]}"#),
        "{reply}"
    );
    let reply = post(port, "/v1/models/m/score", "{");
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");

    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    logs.read_to_string(&mut rest).expect("logs");
    assert!(
        rest.contains("received SIGTERM") && rest.contains("\"stopped\""),
        "{rest}"
    );
}

#[test]
fn serve_refuses_a_broken_model_with_one_error_line() {
    let dir = Dir::new();
    let bad = dir.write("bad.json", "{");
    let run = scorewell(&[&"serve", &"--port", &"0", &format!("bad={}", bad.display())]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The loader's error is logged, then the CLI's one-line summary ends stderr.
    let last = run.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("scorewell: model `bad`: "), "{last}");
    assert!(
        last.contains("bad.json: not a recognised model file"),
        "{last}"
    );
    let run = scorewell(&[&"serve", &"--port", &"0"]);
    assert!(run.err().contains("no models to serve"), "{}", run.stderr);
}
