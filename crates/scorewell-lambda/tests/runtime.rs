//! The real `bootstrap` binary driven through a stand-in for the Lambda Runtime API, with its
//! model in a real S3-compatible server: every event kind answered with XGBoost's own
//! predictions, bad requests answered 4xx while the function keeps serving, and each init
//! failure (missing object, bad credentials, checksum mismatch, corrupt model) reported to
//! `/runtime/init/error` with the precise message.
#![allow(clippy::unwrap_used)] // helpers of tests: a failed unwrap is the failed test

#[path = "../../../tests/support/seaweed.rs"]
mod seaweed;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// What the function posted back (an `Error` is only ever printed, in failure messages).
#[derive(Debug)]
#[allow(dead_code)]
enum Posted {
    Response { id: String, body: Value },
    Error { id: String, body: Value },
    InitError { body: Value },
}

/// A stand-in Runtime API: hands out queued events on `/next` (and then holds `/next` open,
/// as a frozen execution environment would) and reports what the function posts.
struct FakeRuntime {
    addr: String,
    events: Arc<Mutex<VecDeque<(String, Value)>>>,
    posted: Receiver<Posted>,
}

impl FakeRuntime {
    fn start(events: Vec<Value>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let queue: VecDeque<(String, Value)> = events
            .into_iter()
            .enumerate()
            .map(|(i, e)| (format!("req-{i}"), e))
            .collect();
        let events = Arc::new(Mutex::new(queue));
        let (tx, posted) = channel();
        let shared = events.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (events, tx) = (shared.clone(), tx.clone());
                std::thread::spawn(move || serve_connection(conn, &events, &tx));
            }
        });
        Self {
            addr,
            events,
            posted,
        }
    }

    fn next(&self) -> Posted {
        self.posted
            .recv_timeout(Duration::from_secs(60))
            .expect("the function posted nothing within 60 s")
    }
}

fn serve_connection(
    conn: TcpStream,
    events: &Mutex<VecDeque<(String, Value)>>,
    tx: &Sender<Posted>,
) {
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            if h == "\r\n" || h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let base = "/2018-06-01/runtime";
        if method == "GET" && path == format!("{base}/invocation/next") {
            let next = events.lock().unwrap().pop_front();
            let Some((id, event)) = next else {
                // A frozen environment: nothing more to hand out.
                std::thread::sleep(Duration::from_secs(3600));
                return;
            };
            let text = event.to_string();
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:scorewell\r\nLambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\nContent-Length: {}\r\n\r\n",
                text.len()
            );
            writer.write_all(head.as_bytes()).unwrap();
            writer.write_all(text.as_bytes()).unwrap();
            continue;
        }
        let posted = if path == format!("{base}/init/error") {
            Posted::InitError { body }
        } else if let Some(rest) = path.strip_prefix(&format!("{base}/invocation/")) {
            let (id, kind) = rest.split_once('/').unwrap();
            match kind {
                "response" => Posted::Response {
                    id: id.into(),
                    body,
                },
                _ => Posted::Error {
                    id: id.into(),
                    body,
                },
            }
        } else {
            panic!("unexpected {method} {path}");
        };
        tx.send(posted).unwrap();
        writer
            .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n")
            .unwrap();
    }
}

/// The binary under test: this build's, or a packaged one (`SCOREWELL_BOOTSTRAP`, set by
/// scripts/test.sh to the `bootstrap` unzipped from scripts/package-lambda.sh's zip).
fn binary() -> std::path::PathBuf {
    std::env::var_os("SCOREWELL_BOOTSTRAP")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_bootstrap").into())
}

/// The bootstrap, as Lambda starts it, with the folder its cache lives in (removed on drop).
fn bootstrap(runtime: &FakeRuntime, env: &[(&str, String)]) -> (Child, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(binary());
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &runtime.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "scorewell")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("SCOREWELL_CACHE_DIR", cache.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    (cmd.spawn().expect("start bootstrap"), cache)
}

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/fraud")
        .join(name)
}

/// The example bundle, zipped, and its first rows as JSON with XGBoost's predictions.
fn fraud() -> (Vec<u8>, Value, Vec<f64>) {
    let (zip, _) = scorewell::source_bytes(example("bundle")).unwrap();
    let text = std::fs::read_to_string(example("transactions.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Value> = lines
        .take(25)
        .map(|l| {
            let mut row = serde_json::Map::new();
            for (k, v) in header.iter().zip(l.split(',')) {
                let value = match v.parse::<f64>() {
                    Ok(x) => json!(x),
                    Err(_) if v.is_empty() => Value::Null, // a missing value in the CSV
                    Err(_) => json!(v),
                };
                row.insert(k.to_string(), value);
            }
            Value::Object(row)
        })
        .collect();
    let expected: Vec<f64> = std::fs::read_to_string(example("expected.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .take(25)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    (zip, json!({ "rows": rows }), expected)
}

fn predictions(answer: &Value) -> Vec<f64> {
    answer["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {answer}"))
        .iter()
        .map(|r| r["fraud_probability"].as_f64().unwrap())
        .collect()
}

fn assert_xgboost(answer: &Value, expected: &[f64]) {
    let got = predictions(answer);
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(expected) {
        assert!((g - e).abs() <= 1e-6, "{g} vs XGBoost's {e}");
    }
}

fn http_v2(path: &str, stage: &str, body: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": if stage == "$default" { "$default".to_string() } else { format!("POST {path}") },
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "abc.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc", "requestId": "r1", "routeKey": "POST /score", "stage": stage,
            "time": "05/Dec/2026:10:00:00 +0000", "timeEpoch": 1796464800000i64,
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "10.0.0.1", "userAgent": "test"}
        },
        "body": body,
        "isBase64Encoded": false
    })
}

fn rest_v1(path: &str, stage: &str, body: &str) -> Value {
    json!({
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": {"proxy": path.trim_start_matches('/')},
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012", "resourceId": "r", "stage": stage, "requestId": "r2",
            "path": format!("/{stage}{path}"), "httpMethod": "POST", "apiId": "abc",
            "resourcePath": "/{proxy+}", "identity": {"sourceIp": "10.0.0.1"}
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
}

fn alb(body: &str) -> Value {
    json!({
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/1"}},
        "httpMethod": "POST",
        "path": "/",
        "queryStringParameters": {},
        "headers": {"content-type": "application/json"},
        "body": body,
        "isBase64Encoded": false
    })
}

/// The answer to direct invocation `id`: the JSON body itself.
fn direct_answer(posted: Posted, id: &str) -> Value {
    match posted {
        Posted::Response { id: got, body } if got == id => body,
        other => panic!("expected the response to {id}, got {other:?}"),
    }
}

/// The body of an HTTP-shaped answer, with its status.
fn http_answer(posted: Posted, id: &str) -> (u64, Value) {
    let Posted::Response { id: got, body } = posted else {
        panic!("expected a response, got {posted:?}");
    };
    assert_eq!(got, id);
    let status = body["statusCode"].as_u64().expect("statusCode");
    let text = body["body"].as_str().unwrap_or("");
    let text = if body["isBase64Encoded"] == json!(true) {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap(),
        )
        .unwrap()
    } else {
        text.to_string()
    };
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn every_event_kind_is_answered_with_xgboosts_predictions() {
    let s3 = seaweed::seaweed();
    let (zip, request, expected) = fraud();
    s3.put("lambda/fraud.zip", &zip);
    let body = request.to_string();
    let bad = json!({"rows": [{"amount": "lots"}]}).to_string();
    let runtime = FakeRuntime::start(vec![
        http_v2("/score", "$default", &body), // HTTP API, POST /score
        rest_v1("/v1/models/fraud/score", "prod", &body), // REST API, stage + base64
        http_v2("/", "$default", &body),      // Function URL
        alb(&body),                           // ALB
        request.clone(),                      // direct invocation
        http_v2("/score", "$default", &bad),  // a bad request...
        http_v2("/v1/models/fraud/score", "live", &body), // ...and the function goes on
        json!({"model": "fraud", "rows": request["rows"]}), // direct, naming the model
    ]);
    let mut env = s3.env();
    env.push(("SCOREWELL_MODEL", "s3://models/lambda/fraud.zip".into()));
    let (mut child, _cache) = bootstrap(&runtime, &env);

    for id in ["req-0", "req-1", "req-2", "req-3"] {
        let (status, answer) = http_answer(runtime.next(), id);
        assert_eq!(status, 200, "{id}: {answer}");
        assert_eq!(answer["model"], "fraud");
        assert_xgboost(&answer, &expected);
    }
    assert_xgboost(&direct_answer(runtime.next(), "req-4"), &expected);
    let (status, answer) = http_answer(runtime.next(), "req-5");
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("amount"), "{answer}");
    let (status, answer) = http_answer(runtime.next(), "req-6");
    assert_eq!(status, 200, "{answer}");
    assert_xgboost(&answer, &expected);
    assert_xgboost(&direct_answer(runtime.next(), "req-7"), &expected);
    assert!(runtime.events.lock().unwrap().is_empty());
    child.kill().unwrap();
    let _ = child.wait();
}

/// Start the function with `model` (and any extra environment) and return the init error
/// it reports, checking that it exits.
fn init_error(model: &str, extra: &[(&str, String)]) -> String {
    let s3 = seaweed::seaweed();
    let runtime = FakeRuntime::start(vec![]);
    let mut env = s3.env();
    env.push(("SCOREWELL_MODEL", model.into()));
    env.extend(extra.iter().cloned());
    let (mut child, _cache) = bootstrap(&runtime, &env);
    let posted = runtime.next();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the function must exit after a failed init"
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    match posted {
        Posted::InitError { body } => {
            assert_eq!(body["errorType"], "Runtime.InitError");
            let message = body["errorMessage"].as_str().unwrap().to_string();
            assert!(stderr.contains(&message), "the log says it too: {stderr}");
            message
        }
        other => panic!("expected an init error, got {other:?}"),
    }
}

#[test]
fn init_failures_are_reported_precisely() {
    let s3 = seaweed::seaweed();
    let (zip, _, _) = fraud();
    s3.put("lambda/init/fraud.zip", &zip);
    s3.put("lambda/init/corrupt.json", b"{\"learner\": 3");

    let missing = init_error("s3://models/lambda/init/nothing.zip", &[]);
    assert!(
        missing.ends_with("s3://models/lambda/init/nothing.zip: not found"),
        "{missing}"
    );

    let denied = init_error(
        "s3://models/lambda/init/fraud.zip",
        &[("AWS_SECRET_ACCESS_KEY", "wrong".into())],
    );
    assert!(
        denied.contains("s3://models/lambda/init/fraud.zip: access denied"),
        "{denied}"
    );

    let wrong = "00".repeat(32);
    let mismatch = init_error(
        "s3://models/lambda/init/fraud.zip",
        &[("SCOREWELL_MODEL_SHA256", wrong.clone())],
    );
    assert!(
        mismatch.contains("sha256 mismatch: expected 0000"),
        "{mismatch}"
    );

    let corrupt = init_error("s3://models/lambda/init/corrupt.json", &[]);
    assert!(
        corrupt.contains("s3://models/lambda/init/corrupt.json"),
        "{corrupt}"
    );
    assert!(
        !corrupt.contains("scorewell-cache"),
        "names the URL, not the cache: {corrupt}"
    );
}

#[test]
fn without_the_runtime_api_it_says_where_it_runs() {
    let out = Command::new(binary()).env_clear().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_LAMBDA_RUNTIME_API is not set"));
}
