//! Operations: metrics, the OpenAPI document, the admin API, limits, graceful shutdown.

use std::collections::BTreeSet;
use std::time::Duration;

use scorewell_server::{Config, Limits};
use serde_json::json;

use crate::util::*;

async fn stump_server(config: Config) -> (Dir, TestServer) {
    let dir = Dir::new();
    let path = dir.write("m.txt", stump(&["x", "y"], 1.0, 2.0));
    let server = TestServer::with_models(&[("m", &path)], config).await;
    (dir, server)
}

const ROW: &str = r#"{"rows":[{"x":0.2,"y":1}]}"#;

#[tokio::test]
async fn openapi_lists_exactly_the_routes_and_each_answers() {
    let (_dir, server) = stump_server(Config {
        admin_token: Some("t".into()),
        ..quiet()
    })
    .await;
    let doc = server.get("/openapi.json").await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routed: BTreeSet<(String, String)> = scorewell_server::routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, routed);
    // Every documented route is served (no 404 `no_route`, no 405).
    for (method, path) in &documented {
        let concrete = path.replace("{name}", "m").replace("{version}", "1");
        let body = if method == "GET" {
            ""
        } else if concrete.ends_with("/infer") {
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1]},{"name":"y","shape":[1],"datatype":"FP64","data":[1]}]}"#
        } else {
            ROW
        };
        let headers: &[(&str, &str)] = &[("authorization", "Bearer t")];
        let r = call(server.addr, method, &concrete, headers, body.as_bytes()).await;
        assert_eq!(r.status, 200, "{method} {concrete}: {}", r.text());
    }
}

#[tokio::test]
async fn metrics_count_requests_errors_rows_and_loads() {
    let (_dir, server) = stump_server(quiet()).await;
    for _ in 0..3 {
        assert_eq!(server.post("/v1/models/m/score", ROW).await.status, 200);
    }
    server.post("/v1/models/m/score", "{").await;
    server.post("/v1/models/ghost/score", ROW).await;
    let r = server.get("/metrics").await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .expect("type")
            .starts_with("application/openmetrics-text")
    );
    let text = r.text();
    for needle in [
        r#"scorewell_requests_total{model="m",protocol="v1",status="200"} 3"#,
        r#"scorewell_requests_total{model="m",protocol="v1",status="400"} 1"#,
        r#"scorewell_requests_total{model="(unknown)",protocol="v1",status="404"} 1"#,
        r#"scorewell_request_errors_total{model="m",protocol="v1",code="invalid_json"} 1"#,
        r#"scorewell_rows_scored_total{model="m"} 3"#,
        r#"scorewell_request_duration_seconds_count{model="m",protocol="v1"} 4"#,
        r#"scorewell_model_loads_total{model="m",result="ok"} 1"#,
        r#"scorewell_model_load_error{model="m"} 0"#,
        r#"scorewell_model_loaded_info{model="m",version="1",digest=""#,
        "scorewell_model_load_duration_seconds{model=\"m\"}",
        "scorewell_in_flight_requests 0",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[tokio::test]
async fn admin_reload_needs_the_bearer_token() {
    let (_dir, server) = stump_server(quiet()).await;
    let msg = server
        .post("/admin/reload", "")
        .await
        .error(403, "admin_disabled");
    assert!(msg.contains("--admin-token"), "{msg}");
    server.stop().await;

    let (_dir, server) = stump_server(Config {
        admin_token: Some("s3cret".into()),
        ..quiet()
    })
    .await;
    let r = server.post("/admin/reload", "").await;
    r.error(401, "unauthorized");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let wrong = call(
        server.addr,
        "POST",
        "/admin/reload",
        &[("authorization", "Bearer nope")],
        b"",
    )
    .await;
    wrong.error(401, "unauthorized");
    let ok = call(
        server.addr,
        "POST",
        "/admin/reload",
        &[("authorization", "Bearer s3cret")],
        b"",
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(
        ok.json(),
        json!({"models": [{"name": "m", "status": "unchanged", "version": "1"}]})
    );
    // The scheme is case-insensitive (RFC 9110); the token is not.
    for value in ["bearer s3cret", "BEARER s3cret"] {
        let r = call(
            server.addr,
            "POST",
            "/admin/reload",
            &[("authorization", value)],
            b"",
        )
        .await;
        assert_eq!(r.status, 200, "{value}: {}", r.text());
    }
    call(
        server.addr,
        "POST",
        "/admin/reload",
        &[("authorization", "Bearer S3CRET")],
        b"",
    )
    .await
    .error(401, "unauthorized");
}

#[tokio::test]
async fn a_10_mb_body_gets_413_and_the_server_keeps_serving() {
    let (_dir, server) = stump_server(quiet()).await;
    let mut big = String::from(r#"{"rows":["#);
    while big.len() < 10 * 1024 * 1024 {
        big.push_str(r#"{"x":0.123456789,"y":0.987654321},"#);
    }
    big.push_str(r#"{"x":1,"y":1}]}"#);
    // Declared length over the limit: refused before the body is read.
    let mut conn = Conn::open(server.addr).await;
    conn.send_head("POST", "/v1/models/m/score", &[], big.len(), b"")
        .await
        .expect("head");
    let r = conn.read_reply().await.expect("reply");
    let msg = r.error(413, "body_too_large");
    assert!(
        msg.contains("4194304 bytes") && msg.contains("--max-body-bytes"),
        "{msg}"
    );
    // Chunked, so the limit is found while reading.
    let mut conn = Conn::open(server.addr).await;
    let head = "POST /v1/models/m/score HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n";
    conn.send_more(head.as_bytes()).await.expect("head");
    let reader = tokio::spawn(async move {
        for piece in big.as_bytes().chunks(64 * 1024) {
            let chunk = [format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat();
            if conn.send_more(&chunk).await.is_err() {
                break;
            }
        }
        conn
    });
    let mut conn = reader.await.expect("writer");
    let r = conn.read_reply().await.expect("reply");
    r.error(413, "body_too_large");
    assert_eq!(server.post("/v1/models/m/score", ROW).await.status, 200);
}

#[tokio::test]
async fn too_many_rows_gets_413() {
    let (_dir, server) = stump_server(Config {
        limits: Limits {
            max_rows: 2,
            ..Limits::default()
        },
        ..quiet()
    })
    .await;
    let three = r#"{"rows":[{"x":1,"y":1},{"x":1,"y":1},{"x":1,"y":1}]}"#;
    let msg = server
        .post("/v1/models/m/score", three)
        .await
        .error(413, "too_many_rows");
    assert!(msg.contains("more than 2 rows"), "{msg}");
    let cols = r#"{"columns":{"x":[1,1,1],"y":[1,1,1]}}"#;
    server
        .post("/v1/models/m/score", cols)
        .await
        .error(413, "too_many_rows");
    let v2 = json!({"inputs":[{"name":"x","shape":[3],"datatype":"FP64","data":[1,1,1]}]});
    server
        .post("/v2/models/m/infer", &v2.to_string())
        .await
        .error(413, "too_many_rows");
    let two = r#"{"rows":[{"x":1,"y":1},{"x":1,"y":1}]}"#;
    assert_eq!(server.post("/v1/models/m/score", two).await.status, 200);
}

#[tokio::test]
async fn slow_uploads_time_out_with_504_and_busy_servers_answer_429() {
    let (_dir, server) = stump_server(Config {
        limits: Limits {
            timeout: Duration::from_millis(300),
            max_concurrency: 1,
            ..Limits::default()
        },
        ..quiet()
    })
    .await;
    // A client that stops halfway through its body holds the only permit...
    let mut stalled = Conn::open(server.addr).await;
    stalled
        .send_head(
            "POST",
            "/v1/models/m/score",
            &[],
            ROW.len(),
            &ROW.as_bytes()[..5],
        )
        .await
        .expect("head");
    tokio::time::sleep(Duration::from_millis(50)).await;
    // ...so another request is refused at once,
    let r = server.post("/v1/models/m/score", ROW).await;
    r.error(429, "overloaded");
    assert_eq!(r.header("retry-after"), Some("1"));
    // and the stalled one ends with 504 when its time is up.
    let r = stalled.read_reply().await.expect("reply");
    let msg = r.error(504, "timeout");
    assert!(msg.contains("300 ms"), "{msg}");
    assert_eq!(server.post("/v1/models/m/score", ROW).await.status, 200);
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let (_dir, mut server) = stump_server(quiet()).await;
    let mut conn = Conn::open(server.addr).await;
    conn.send_head(
        "POST",
        "/v1/models/m/score",
        &[],
        ROW.len(),
        &ROW.as_bytes()[..5],
    )
    .await
    .expect("head");
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.begin_stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // New connections are no longer accepted (or are closed without an answer)...
    let refused = async {
        let mut c = tokio::net::TcpStream::connect(server.addr).await.ok()?;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        c.write_all(b"GET /v2/health/live HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .ok()?;
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_millis(300), c.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        (n > 0).then_some(())
    };
    assert!(
        refused.await.is_none(),
        "a new connection was served after shutdown began"
    );
    // ...but the request in flight completes.
    conn.send_more(&ROW.as_bytes()[5..]).await.expect("rest");
    let r = conn.read_reply().await.expect("reply");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["rows"][0]["prediction"], 1.0);
    server.stop().await;
}

/// A field first seen in a late row is padded with nulls for every row before it, so a
/// small body could make the server allocate rows × fields values: that count is bounded
/// (`--max-cells`) before anything is padded.
#[tokio::test]
async fn too_many_values_get_413_before_they_are_allocated() {
    let (_dir, server) = stump_server(Config {
        limits: Limits {
            max_cells: 100,
            ..Limits::default()
        },
        ..quiet()
    })
    .await;
    // 20 rows × (x, y and 5 fields seen in one row each) = 140 values.
    let mut rows: Vec<serde_json::Value> = (0..20).map(|_| json!({"x": 1, "y": 1})).collect();
    for k in 0..5 {
        rows[15 + k][format!("f{k}")] = json!(1);
    }
    let msg = server
        .post("/v1/models/m/score", &json!({ "rows": rows }).to_string())
        .await
        .error(413, "too_many_cells");
    assert!(
        msg.contains("100 values") && msg.contains("--max-cells"),
        "{msg}"
    );
    // Trailing rows without fields count too: 2 fields × 60 rows.
    let mut rows = vec![json!({"x": 1, "y": 1})];
    rows.extend((1..60).map(|_| json!({})));
    server
        .post("/v1/models/m/score", &json!({ "rows": rows }).to_string())
        .await
        .error(413, "too_many_cells");
    let cols = json!({"columns": {"x": vec![1; 60], "y": vec![1; 60]}});
    server
        .post("/v1/models/m/score", &cols.to_string())
        .await
        .error(413, "too_many_cells");
    let v2 = json!({"inputs": [
        {"name": "x", "shape": [60], "datatype": "FP64", "data": vec![1; 60]},
        {"name": "y", "shape": [60], "datatype": "FP64", "data": vec![1; 60]},
    ]});
    server
        .post("/v2/models/m/infer", &v2.to_string())
        .await
        .error(413, "too_many_cells");
    // Within the limit: 20 rows × 2 fields.
    let rows: Vec<serde_json::Value> = (0..20).map(|_| json!({"x": 1, "y": 1})).collect();
    let r = server
        .post("/v1/models/m/score", &json!({ "rows": rows }).to_string())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn a_sparse_body_of_a_few_kilobytes_cannot_ask_for_millions_of_values() {
    let (_dir, server) = stump_server(quiet()).await;
    // 1024 extra fields, each in one of 2048 rows: a 20 KB body that would become
    // 2048 × 1026 values, just over the default limit of 2,097,152.
    let mut body = String::from(r#"{"rows":[{"x":1,"y":1}"#);
    for row in 1..2048 {
        if row >= 1024 {
            body.push_str(&format!(r#",{{"f{}":1}}"#, row - 1024));
        } else {
            body.push_str(",{}");
        }
    }
    body.push_str(",{\"f1023\":1}]}");
    assert!(body.len() < 32 * 1024, "{}", body.len());
    let msg = server
        .post("/v1/models/m/score", &body)
        .await
        .error(413, "too_many_cells");
    assert!(msg.contains("2097152 values"), "{msg}");
    assert_eq!(server.post("/v1/models/m/score", ROW).await.status, 200);
}

/// A small body can still hold a batch that takes long to score: it is scored on the
/// blocking pool, so the timeout answers 504 instead of waiting for it.
#[tokio::test]
async fn a_slow_batch_in_a_small_body_times_out_with_504() {
    let dir = Dir::new();
    let path = dir.write("slow.txt", forest(&["x", "y"], 2000, 1.0, 2.0));
    let server = TestServer::with_models(
        &[("slow", &path)],
        Config {
            limits: Limits {
                timeout: Duration::from_millis(10),
                ..Limits::default()
            },
            ..quiet()
        },
    )
    .await;
    // 5,000 rows in ~30 KB: 10 million tree walks.
    let body = json!({"columns": {"x": vec![0.1; 5000], "y": vec![0; 5000]}}).to_string();
    assert!(body.len() < 64 * 1024);
    let msg = server
        .post("/v1/models/slow/score", &body)
        .await
        .error(504, "timeout");
    assert!(msg.contains("10 ms"), "{msg}");
}

/// Once SIGTERM has begun the drain, a request still arriving on a connection the server
/// holds (here: its head half-sent when the drain began) is answered 503 with a JSON body
/// and `Connection: close`, readiness says not ready, and the request that was in flight
/// still completes.
#[tokio::test]
async fn requests_arriving_while_draining_get_503() {
    let (_dir, mut server) = stump_server(quiet()).await;
    let mut busy = Conn::open(server.addr).await;
    busy.send_head(
        "POST",
        "/v1/models/m/score",
        &[],
        ROW.len(),
        &ROW.as_bytes()[..5],
    )
    .await
    .expect("head");
    let mut arriving = Conn::open(server.addr).await;
    arriving
        .send_more(b"POST /v1/models/m/score HTTP/1.1\r\nhost: t\r\n")
        .await
        .expect("half a head");
    let mut probe = Conn::open(server.addr).await;
    probe
        .send_more(b"GET /v2/health/ready HTTP/1.1\r\n")
        .await
        .expect("half a head");
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.begin_stop();
    for _ in 0..200 {
        if server.app.is_draining() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(server.app.is_draining());
    let rest = format!("content-length: {}\r\n\r\n{ROW}", ROW.len());
    arriving.send_more(rest.as_bytes()).await.expect("rest");
    let r = arriving
        .read_reply()
        .await
        .expect("an answer, not a dropped connection");
    let msg = r.error(503, "shutting_down");
    assert!(msg.contains("shutting down"), "{msg}");
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(r.header("retry-after"), Some("1"));
    probe.send_more(b"host: t\r\n\r\n").await.expect("rest");
    let r = probe.read_reply().await.expect("readiness");
    assert_eq!((r.status, r.json()), (503, json!({"ready": false})));
    busy.send_more(&ROW.as_bytes()[5..]).await.expect("rest");
    let r = busy.read_reply().await.expect("reply");
    assert_eq!(r.status, 200, "{}", r.text());
    server.stop().await;
}

/// A bundle whose `split` stage sends users to two stumps by a hash of `user`, made from a
/// spec as `scorewell bundle create --transforms` makes it.
fn split_bundle(dir: &Dir) -> std::path::PathBuf {
    dir.write("a.txt", stump(&["x"], 0.25, 0.75));
    dir.write("b.txt", stump(&["x"], 0.35, 0.95));
    let spec = dir.write(
        "ab.yaml",
        "stages:\n  - kind: split\n    name: ab\n    params:\n      key: user\n      arms:\n        - {name: champion, weight: 0.5, model: a.txt}\n        - {name: challenger, weight: 0.5, model: b.txt}\n",
    );
    let bundle = scorewell::bundle::create(&scorewell::bundle::CreateOptions {
        name: "ab-served".into(),
        version: "1".into(),
        spec: Some(spec),
        ..Default::default()
    })
    .expect("create");
    let path = dir.path("ab.zip");
    bundle.write(&path).expect("write");
    path
}

#[tokio::test]
async fn a_split_bundle_shows_requests_and_a_score_histogram_per_arm() {
    let dir = Dir::new();
    let path = split_bundle(&dir);
    let server = TestServer::with_models(&[("ab", &path)], quiet()).await;
    let mut arms = std::collections::BTreeMap::<String, usize>::new();
    for user in 0..40 {
        let body = format!(r#"{{"rows":[{{"user":"u{user}","x":0.2}}]}}"#);
        let r = server.post("/v1/models/ab/score", &body).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let json = r.json();
        let text = json.to_string();
        let arm = if text.contains("challenger") {
            "challenger"
        } else {
            "champion"
        };
        // The same user again goes the same way.
        let again = server
            .post("/v1/models/ab/score", &body)
            .await
            .json()
            .to_string();
        assert_eq!(text, again);
        *arms.entry(arm.to_string()).or_default() += 2;
    }
    assert_eq!(arms.len(), 2, "{arms:?}");
    let text = server.get("/metrics").await.text();
    for (arm, n) in &arms {
        let needle = format!(
            r#"scorewell_route_arm_requests_total{{bundle="ab-served",stage="ab",arm="{arm}"}} {n}"#
        );
        assert!(text.contains(&needle), "missing {needle} in\n{text}");
        // x = 0.2 takes the left leaf: 0.25 for the champion, 0.35 for the challenger.
        let (le, below) = if arm == "champion" {
            ("0.3", "0.2")
        } else {
            ("0.4", "0.3")
        };
        let hit = format!(
            r#"scorewell_route_arm_score_bucket{{bundle="ab-served",stage="ab",arm="{arm}",le="{le}"}} {n}"#
        );
        let miss = format!(
            r#"scorewell_route_arm_score_bucket{{bundle="ab-served",stage="ab",arm="{arm}",le="{below}"}} 0"#
        );
        assert!(
            text.contains(&hit) && text.contains(&miss),
            "{hit} / {miss} in\n{text}"
        );
    }
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
}
