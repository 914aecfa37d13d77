//! The Open Inference Protocol (KServe v2) REST paths.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::scoring::{Protocol, handle};
use crate::App;
use crate::error::ApiError;
use crate::protocol::kserve_v2::tensor_metadata;

/// `GET /v2`: server metadata.
pub(super) async fn server_metadata() -> Response {
    super::value_ok(&json!({
        "name": "scorewell",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["binary_tensor_data"],
    }))
}

/// `GET /v2/health/live`: 200 while the process serves.
pub(super) async fn live() -> Response {
    super::value_ok(&json!({"live": true}))
}

/// `GET /v2/health/ready`: 200 when every model is loaded and no shutdown has begun.
pub(super) async fn ready(State(app): State<App>) -> Response {
    let ready = !app.is_draining() && app.repository().all_ready();
    let body = json!({"ready": ready});
    if ready {
        super::value_ok(&body)
    } else {
        super::json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::to_vec(&body).unwrap_or_default(),
        )
    }
}

fn check_version(app: &App, name: &str, version: Option<&str>) -> Result<(), ApiError> {
    let model = app.repository().model(name)?;
    match version {
        Some(v) if v != model.version() => Err(ApiError::UnknownVersion {
            name: name.to_string(),
            version: v.to_string(),
            serving: model.version().to_string(),
        }),
        _ => Ok(()),
    }
}

fn metadata(app: &App, name: &str, version: Option<&str>) -> Response {
    if let Err(e) = check_version(app, name, version) {
        return e.into_response();
    }
    let model = match app.repository().model(name) {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let (inputs, outputs) = tensor_metadata(&model);
    let tensor = |(name, datatype): (String, &str)| json!({"name": name, "datatype": datatype, "shape": [-1]});
    let inputs: Vec<Value> = inputs.into_iter().map(tensor).collect();
    let outputs: Vec<Value> = outputs.into_iter().map(tensor).collect();
    super::value_ok(&json!({
        "name": model.name(),
        "versions": [model.version()],
        "platform": "scorewell",
        "inputs": inputs,
        "outputs": outputs,
    }))
}

/// `GET /v2/models/{name}`.
pub(super) async fn model_metadata(State(app): State<App>, Path(name): Path<String>) -> Response {
    metadata(&app, &name, None)
}

/// `GET /v2/models/{name}/versions/{version}`.
pub(super) async fn model_metadata_version(
    State(app): State<App>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    metadata(&app, &name, Some(&version))
}

fn model_ready_inner(app: &App, name: &str, version: Option<&str>) -> Response {
    match check_version(app, name, version) {
        Ok(()) => super::value_ok(&json!({"name": name, "ready": true})),
        Err(e @ ApiError::ModelUnavailable { .. }) => super::json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::to_vec(&json!({"name": name, "ready": false, "error": e.to_string()}))
                .unwrap_or_default(),
        ),
        Err(e) => e.into_response(),
    }
}

/// `GET /v2/models/{name}/ready`.
pub(super) async fn model_ready(State(app): State<App>, Path(name): Path<String>) -> Response {
    model_ready_inner(&app, &name, None)
}

/// `GET /v2/models/{name}/versions/{version}/ready`.
pub(super) async fn model_ready_version(
    State(app): State<App>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    model_ready_inner(&app, &name, Some(&version))
}

/// `POST /v2/models/{name}/infer`.
pub(super) async fn infer(
    State(app): State<App>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    handle(app, name, None, Protocol::V2, parts.headers, body).await
}

/// `POST /v2/models/{name}/versions/{version}/infer`.
pub(super) async fn infer_version(
    State(app): State<App>,
    Path((name, version)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    handle(app, name, Some(version), Protocol::V2, parts.headers, body).await
}
