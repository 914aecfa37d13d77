//! Request bodies sent to the server's scoring routes (the JSON API and the Open Inference
//! Protocol), through its router in process, against a two-feature LightGBM stump.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use scorewell_server::{App, Config, ModelSpec, Repository};
use tower::ServiceExt;

/// Bodies for `POST /v1/models/m/score`.
pub(crate) const V1_SEEDS: &[&str] = &[
    r#"{"rows":[{"x":0.2,"y":1},{"x":0.9,"y":1,"id":"b"}]}"#,
    r#"{"columns":{"y":[0,0,0],"x":[0.1,0.6,null]}}"#,
    r#"{"rows":[{"x":"NaN","y":"Infinity"}],"outputs":["prediction"]}"#,
    r#"[{"x":1e308,"y":-1e308}]"#,
];

/// Bodies for `POST /v2/models/m/infer`.
pub(crate) const OIP_SEEDS: &[&str] = &[
    r#"{"id":"r","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0.1,0.9,"NaN"]},{"name":"y","shape":[3,1],"datatype":"INT64","data":[[1],[2],[3]]}]}"#,
    r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1]},{"name":"y","shape":[1],"datatype":"BOOL","data":[true]}],"outputs":[{"name":"prediction"}]}"#,
    r#"{"inputs":[{"name":"x","shape":[2,1],"datatype":"BYTES","data":["1","2"]},{"name":"y","shape":[-1],"datatype":"FP32","data":[1,2]}]}"#,
];

const STUMP: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=1\nobjective=binary sigmoid:1\nfeature_names=x y\nfeature_infos=[0:1] [0:1]\ntree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=-1 1\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n";

/// The router and the runtime that drives it, made once per process.
fn served() -> Option<&'static (tokio::runtime::Runtime, Router)> {
    static SERVED: OnceLock<Option<(tokio::runtime::Runtime, Router)>> = OnceLock::new();
    SERVED
        .get_or_init(|| {
            // The model file must outlive the process's requests: leak its folder.
            let dir = tempfile::tempdir().ok()?.keep();
            let path = dir.join("m.txt");
            std::fs::write(&path, STUMP).ok()?;
            let repo = Repository::open(vec![ModelSpec::new("m", &path)], None).ok()?;
            let config = Config {
                poll_interval: None,
                ..Config::default()
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            Some((runtime, scorewell_server::router(App::new(repo, config))))
        })
        .as_ref()
}

fn post(path: &str, data: &[u8]) {
    let Some((runtime, router)) = served() else {
        return;
    };
    let Ok(request) = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(data.to_vec()))
    else {
        return;
    };
    runtime.block_on(async {
        let Ok(response) = router.clone().oneshot(request).await;
        // A 5xx is a finding as much as a panic: bad input is the caller's error.
        let status = response.status();
        let body = response.into_body().collect().await;
        assert!(
            !status.is_server_error(),
            "{path} answered {status} to a request: {:?}",
            body.map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        );
    });
}

pub(crate) fn v1(data: &[u8]) {
    post("/v1/models/m/score", data);
}

pub(crate) fn oip(data: &[u8]) {
    post("/v2/models/m/infer", data);
}
