//! Hot reload: the repository folder, atomic swaps under load, failed loads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use scorewell_server::{Config, Repository};
use serde_json::json;

use crate::util::*;

const ROW: &str = r#"{"rows":[{"x":0.2}]}"#;

/// Clients hammer the model while `swap` runs; returns each client's answers in order.
async fn hammer_while(
    server: &TestServer,
    clients: usize,
    swap: impl std::future::Future<Output = ()>,
) -> Vec<Vec<f64>> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let addr = server.addr;
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let r = conn
                    .send("POST", "/v1/models/m/score", &[], ROW.as_bytes())
                    .await
                    .expect("request failed at the connection level");
                assert_eq!(r.status, 200, "failed request during reload: {}", r.text());
                let v = r.json()["rows"][0]["prediction"]
                    .as_f64()
                    .expect("prediction");
                seen.push(v);
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    swap.await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("client"));
    }
    out
}

/// Every client saw only `old` then only `new`, with at least one of each overall.
fn assert_switched(answers: &[Vec<f64>], old: f64, new: f64) {
    for seen in answers {
        assert!(!seen.is_empty());
        let first_new = seen.iter().position(|&v| v == new).unwrap_or(seen.len());
        assert!(
            seen[..first_new].iter().all(|&v| v == old)
                && seen[first_new..].iter().all(|&v| v == new),
            "answers did not switch cleanly from {old} to {new}: {seen:?}"
        );
    }
    assert!(answers.iter().all(|s| s[0] == old), "{answers:?}");
    assert!(
        answers.iter().all(|s| *s.last().expect("some") == new),
        "{answers:?}"
    );
}

async fn wait_for_version(server: &TestServer, name: &str, version: &str) {
    for _ in 0..200 {
        let v = server.get(&format!("/v1/models/{name}")).await.json();
        if v["version"] == version {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("model {name} never reached version {version}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_file_swaps_under_load_without_failed_requests() {
    let dir = Dir::new();
    dir.write("m.txt", stump(&["x"], 1.0, 2.0));
    let repo = Repository::open(vec![], Some(dir.0.path().to_path_buf())).expect("open");
    let server = TestServer::start(
        repo,
        Config {
            poll_interval: Some(Duration::from_millis(50)),
            ..Config::default()
        },
    )
    .await;
    let answers = hammer_while(&server, 4, async {
        dir.replace("m.txt", stump(&["x"], 3.0, 4.0));
        wait_for_version(&server, "m", "2").await;
    })
    .await;
    assert_switched(&answers, 1.0, 3.0);
    let total: usize = answers.iter().map(Vec::len).sum();
    assert!(total > 50, "only {total} requests were made");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reload_swaps_under_load_without_failed_requests() {
    let dir = Dir::new();
    let path = dir.write("m.txt", stump(&["x"], 1.0, 2.0));
    let server = TestServer::with_models(
        &[("m", &path)],
        Config {
            admin_token: Some("tok".into()),
            ..quiet()
        },
    )
    .await;
    let answers = hammer_while(&server, 4, async {
        // Rewritten in place (not atomically): nothing polls, so nothing reads it half-done.
        std::fs::write(&path, stump(&["x"], 5.0, 6.0)).expect("write");
        let r = call(
            server.addr,
            "POST",
            "/admin/reload",
            &[("authorization", "Bearer tok")],
            b"",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.json(),
            json!({"models": [{"name": "m", "status": "loaded", "version": "2"}]})
        );
    })
    .await;
    assert_switched(&answers, 1.0, 5.0);
    server.stop().await;
}

#[tokio::test]
async fn a_broken_update_keeps_the_old_model_serving_and_reports_the_error() {
    let dir = Dir::new();
    let path = dir.write("m.txt", stump(&["x"], 1.0, 2.0));
    let server = TestServer::with_models(
        &[("m", &path)],
        Config {
            admin_token: Some("tok".into()),
            ..quiet()
        },
    )
    .await;
    let reload = || {
        call(
            server.addr,
            "POST",
            "/admin/reload",
            &[("authorization", "Bearer tok")],
            b"",
        )
    };
    std::fs::write(&path, "tree\nthis is not a model\n").expect("write");
    let r = reload().await;
    assert_eq!(r.status, 200);
    let outcome = &r.json()["models"][0];
    assert_eq!(outcome["status"], "failed");
    assert_eq!(outcome["version"], "1");
    let r = server.post("/v1/models/m/score", ROW).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["rows"][0]["prediction"], 1.0);
    let meta = server.get("/v1/models/m").await.json();
    assert_eq!(meta["version"], "1");
    assert_eq!(meta["ready"], true);
    let err = meta["last_error"]["message"].as_str().expect("last error");
    assert!(err.contains("m.txt"), "{err}");
    assert!(meta["last_error"]["at"].as_str().is_some());
    let metrics = server.get("/metrics").await.text();
    assert!(
        metrics.contains(r#"scorewell_model_load_error{model="m"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"scorewell_model_loads_total{model="m",result="error"} 1"#));
    // Fixed: the new version loads and the error clears.
    std::fs::write(&path, stump(&["x"], 7.0, 8.0)).expect("write");
    assert_eq!(reload().await.json()["models"][0]["status"], "loaded");
    let meta = server.get("/v1/models/m").await.json();
    assert_eq!(
        (meta["version"].clone(), meta["last_error"].clone()),
        (json!("2"), json!(null))
    );
    assert_eq!(
        server.post("/v1/models/m/score", ROW).await.json()["rows"][0]["prediction"],
        7.0
    );
}

#[tokio::test]
async fn the_repository_folder_adds_and_removes_models_and_skips_temporary_files() {
    let dir = Dir::new();
    dir.write("a.txt", stump(&["x"], 1.0, 2.0));
    dir.write(".hidden.txt", stump(&["x"], 1.0, 2.0));
    dir.write("b.txt.tmp", stump(&["x"], 1.0, 2.0));
    dir.write("broken.json", "{");
    let repo = Repository::open(vec![], Some(dir.0.path().to_path_buf())).expect("open");
    let server = TestServer::start(
        repo,
        Config {
            admin_token: Some("tok".into()),
            ..quiet()
        },
    )
    .await;
    let names = |v: serde_json::Value| -> Vec<String> {
        v["models"]
            .as_array()
            .expect("models")
            .iter()
            .map(|m| m["name"].as_str().expect("name").to_string())
            .collect()
    };
    assert_eq!(
        names(server.get("/v1/models").await.json()),
        ["a", "broken"]
    );
    // A model that never loaded: listed with its error, 503 to requests, not ready.
    let msg = server
        .post("/v1/models/broken/score", ROW)
        .await
        .error(503, "model_unavailable");
    assert!(msg.contains("broken.json"), "{msg}");
    assert_eq!(server.get("/v2/models/broken/ready").await.status, 503);
    assert_eq!(server.get("/v2/health/ready").await.status, 503);

    std::fs::remove_file(dir.path("broken.json")).expect("rm");
    dir.write("c.txt", stump(&["x"], 9.0, 9.5));
    let r = call(
        server.addr,
        "POST",
        "/admin/reload",
        &[("authorization", "Bearer tok")],
        b"",
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"models": [
            {"name": "a", "status": "unchanged", "version": "1"},
            {"name": "broken", "status": "removed"},
            {"name": "c", "status": "loaded", "version": "1"},
        ]})
    );
    assert_eq!(names(server.get("/v1/models").await.json()), ["a", "c"]);
    assert_eq!(server.get("/v2/health/ready").await.status, 200);
    assert_eq!(
        server.post("/v1/models/c/score", ROW).await.json()["rows"][0]["prediction"],
        9.0
    );
    server
        .get("/v1/models/broken")
        .await
        .error(404, "unknown_model");
}

#[tokio::test]
async fn explicit_models_must_load_at_startup() {
    let dir = Dir::new();
    let bad = dir.write("bad.json", "{");
    let err = Repository::open(vec![scorewell_server::ModelSpec::new("bad", &bad)], None)
        .expect_err("a broken model refuses to start");
    let msg = err.to_string();
    assert!(
        msg.starts_with("model `bad`: ") && msg.contains("bad.json"),
        "{msg}"
    );
    let err = Repository::open(vec![], None).expect_err("no models");
    assert!(err.to_string().contains("no models"), "{err}");
    let good = dir.write("m.txt", stump(&["x"], 1.0, 2.0));
    let err = Repository::open(
        vec![
            scorewell_server::ModelSpec::new("m", &good),
            scorewell_server::ModelSpec::new("m", &bad),
        ],
        None,
    )
    .expect_err("duplicate");
    assert!(
        err.to_string().contains("two models are named `m`"),
        "{err}"
    );
    let err = Repository::open(vec![scorewell_server::ModelSpec::new("a/b", &good)], None)
        .expect_err("bad name");
    assert!(err.to_string().contains("`a/b` is not allowed"), "{err}");
}
