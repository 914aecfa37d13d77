//! The one path every scoring request takes: read the body (within the size and time limits),
//! find the model, parse, [`scorewell::Scorer::score`], encode, count.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::App;
use crate::error::ApiError;
use crate::limits::INLINE_BODY_BYTES;
use crate::metrics::UNKNOWN_MODEL;
use crate::protocol::{json, kserve_v2};
use crate::repository::LoadedModel;

/// Which API a scoring request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `POST /v1/models/{name}/score`
    V1,
    /// `POST /v2/models/{name}[/versions/{v}]/infer`
    V2,
}

impl Protocol {
    fn label(self) -> &'static str {
        match self {
            Protocol::V1 => "v1",
            Protocol::V2 => "v2",
        }
    }
}

/// Answer one scoring request.
pub(crate) async fn handle(
    app: App,
    name: String,
    version: Option<String>,
    protocol: Protocol,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let metrics = app.metrics();
    metrics.in_flight().inc();
    let limit = app.config().limits.timeout;
    let work = run(&app, &name, version.as_deref(), protocol, &headers, body);
    let result = match tokio::time::timeout(limit, work).await {
        Ok(r) => r,
        Err(_) => Err(ApiError::Timeout {
            ms: limit.as_millis(),
        }),
    };
    metrics.in_flight().dec();
    let elapsed = started.elapsed();
    let model_label = match &result {
        Err(ApiError::UnknownModel { .. }) => UNKNOWN_MODEL,
        _ => name.as_str(),
    };
    match result {
        Ok((body, rows)) => {
            metrics.request(model_label, protocol.label(), 200, None, elapsed, rows);
            tracing::debug!(model = %name, rows, micros = elapsed.as_micros() as u64, "scored");
            super::json_ok(body)
        }
        Err(e) => {
            let status = e.status();
            metrics.request(
                model_label,
                protocol.label(),
                status.as_u16(),
                Some(e.code()),
                elapsed,
                0,
            );
            if status.is_server_error() {
                tracing::warn!(model = %name, status = status.as_u16(), error = %e, "request failed");
            } else {
                tracing::debug!(model = %name, status = status.as_u16(), error = %e, "request refused");
            }
            e.into_response()
        }
    }
}

async fn run(
    app: &App,
    name: &str,
    version: Option<&str>,
    protocol: Protocol,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Vec<u8>, usize), ApiError> {
    let limits = &app.config().limits;
    let model = app.repository().model(name)?;
    if let Some(v) = version
        && v != model.version()
    {
        return Err(ApiError::UnknownVersion {
            name: name.to_string(),
            version: v.to_string(),
            serving: model.version().to_string(),
        });
    }
    let permit = app.gate().enter()?;
    let bytes = read_body(headers, body, limits.max_body_bytes).await?;
    let max_rows = limits.max_rows;
    let job = move || score(&model, protocol, &bytes, max_rows);
    if bytes_len_small(headers) {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        drop(permit);
        out.unwrap_or_else(|_| Err(ApiError::Internal("scoring panicked".into())))
    } else {
        // The permit travels with the work: a request that times out still counts against
        // the concurrency limit until its scoring really ends.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await
        .map_err(|e| ApiError::Internal(format!("scoring task failed: {e}")))?
    }
}

/// Whether the declared body is small enough to score on the connection's task.
fn bytes_len_small(headers: &HeaderMap) -> bool {
    content_length(headers).is_some_and(|n| n <= INLINE_BODY_BYTES)
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    if content_length(headers).is_some_and(|n| n > limit) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes().into()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::BodyTooLarge { limit })
        }
        Err(e) => Err(ApiError::InvalidRequest(format!(
            "could not read the request body: {e}"
        ))),
    }
}

fn score(
    model: &Arc<LoadedModel>,
    protocol: Protocol,
    body: &[u8],
    max_rows: usize,
) -> Result<(Vec<u8>, usize), ApiError> {
    match protocol {
        Protocol::V1 => {
            let req = json::parse(model, body, max_rows)?;
            let scored = model.scorer().score(&req.built.batch)?;
            Ok((json::answer(model, &req, &scored)?, scored.num_rows()))
        }
        Protocol::V2 => {
            let req = kserve_v2::parse(model, body, max_rows)?;
            let scored = model.scorer().score(&req.built.batch)?;
            Ok((kserve_v2::answer(model, &req, &scored)?, scored.num_rows()))
        }
    }
}
