//! `scorewell serve`: starts, answers, logs JSON, drains and exits 0 on SIGTERM; refuses bad
//! models at startup with one error line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use crate::util::{Dir, scorewell};

const STUMP: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\nobjective=regression\nfeature_names=x\nfeature_infos=[0:1]\ntree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=1 2\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n";

/// POST `body` to `path` on `port`; the raw response.
fn post(port: u16, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
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
    let mut port = None;
    let mut line = String::new();
    while port.is_none() {
        line.clear();
        assert!(logs.read_line(&mut line).expect("log") > 0, "exited early");
        let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        if let Some(msg) = event["message"].as_str()
            && let Some(addr) = msg.strip_prefix("listening on http://")
        {
            port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
        }
    }
    let port = port.expect("port");
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
