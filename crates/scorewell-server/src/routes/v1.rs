//! The simple JSON API under `/v1`.

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::scoring::{Protocol, handle};
use crate::App;
use crate::error::ApiError;
use crate::repository::{LoadedModel, ModelSlot};
use crate::time::rfc3339;

/// `GET /v1/models`: every model with its state.
pub(super) async fn list(State(app): State<App>) -> Response {
    let models: Vec<Value> = app
        .repository()
        .slots()
        .iter()
        .map(|slot| {
            let current = slot.current();
            json!({
                "name": slot.name(),
                "ready": current.is_some(),
                "version": current.as_ref().map(|m| m.version()),
                "digest": current.as_ref().map(|m| digest(m)),
                "last_error": slot.last_error().map(|e| e.message.clone()),
            })
        })
        .collect();
    super::value_ok(&json!({ "models": models }))
}

/// A model's digest as both `/v1/models` routes show it: `sha256:<hex>`.
fn digest(model: &LoadedModel) -> String {
    format!("sha256:{}", model.digest())
}

/// The metadata of one model, shared with the OIP routes' error answers.
pub(crate) fn metadata(slot: &ModelSlot) -> Value {
    let current = slot.current();
    let inputs: Vec<Value> = current
        .as_ref()
        .map(|m| {
            m.inputs()
                .iter()
                .map(|c| {
                    json!({
                        "name": c.name,
                        "type": if c.numeric { "number" } else { "number or string" },
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let outputs: Vec<Value> = current
        .as_ref()
        .map(|m| {
            m.outputs()
                .iter()
                .map(|f| json!({"name": f.name(), "type": f.data_type().to_string()}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "name": slot.name(),
        "source": slot.path().display().to_string(),
        "ready": current.is_some(),
        "version": current.as_ref().map(|m| m.version()),
        "digest": current.as_ref().map(|m| digest(m)),
        "loaded_at": current.as_ref().map(|m| rfc3339(m.loaded_at())),
        "load_duration_ms": current.as_ref().map(|m| m.load_duration().as_secs_f64() * 1e3),
        "inputs": inputs,
        "outputs": outputs,
        "last_error": slot.last_error().map(|e| json!({
            "message": e.message,
            "at": rfc3339(e.at),
        })),
    })
}

/// `GET /v1/models/{name}`: schema, outputs, version, digest, load time, last load error.
pub(super) async fn describe(State(app): State<App>, Path(name): Path<String>) -> Response {
    match app.repository().slot(&name) {
        Some(slot) => super::value_ok(&metadata(&slot)),
        None => match app.repository().model(&name) {
            Err(e) => e.into_response(),
            Ok(_) => ApiError::Internal("model vanished".into()).into_response(),
        },
    }
}

/// `POST /v1/models/{name}/score`.
pub(super) async fn score(
    State(app): State<App>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    handle(app, name, None, Protocol::V1, parts.headers, body).await
}
