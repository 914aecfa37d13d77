//! The one path every scoring request takes: read the body (within the size and time limits),
//! find the model, parse, [`scorewell::Scorer::score`], encode, count.
//!
//! A small body is parsed on the connection's task, and scored there too when it holds at
//! most [`INLINE_ROWS`] rows, so single-row requests pay no thread hand-off. Everything
//! else runs on the blocking pool, where the request timeout can still answer 504 while the
//! work finishes in the background (holding its concurrency permit until it does).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::OwnedSemaphorePermit;

use crate::App;
use crate::error::ApiError;
use crate::limits::{INLINE_BODY_BYTES, INLINE_ROWS, Limits};
use crate::metrics::UNKNOWN_MODEL;
use crate::protocol::kserve_v2::Answer;
use crate::protocol::{binary, json, kserve_v2};
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
    let in_flight = InFlight::enter(metrics.in_flight());
    let limit = app.config().limits.timeout;
    let work = run(&app, &name, version.as_deref(), protocol, &headers, body);
    let result = match tokio::time::timeout(limit, work).await {
        Ok(r) => r,
        Err(_) => Err(ApiError::Timeout {
            ms: limit.as_millis(),
        }),
    };
    drop(in_flight);
    let elapsed = started.elapsed();
    let model_label = match &result {
        Err(ApiError::UnknownModel { .. }) => UNKNOWN_MODEL,
        _ => name.as_str(),
    };
    match result {
        Ok((answer, rows)) => {
            metrics.request(model_label, protocol.label(), 200, None, elapsed, rows);
            tracing::debug!(model = %name, rows, micros = elapsed.as_micros() as u64, "scored");
            match answer.json_len {
                None => super::json_ok(answer.body),
                Some(json_len) => binary_response(answer.body, json_len),
            }
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
) -> Result<(Answer, usize), ApiError> {
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
    let header_len = match protocol {
        Protocol::V2 => binary::header_length(headers)?,
        Protocol::V1 => None,
    };
    let limits = limits.clone();
    if bytes.len() > INLINE_BODY_BYTES {
        // The permit travels with the work: a request that times out still counts against
        // the concurrency limit until its scoring really ends.
        return blocking(permit, move || {
            score(
                &model,
                &parse(&model, protocol, &bytes, &limits, header_len)?,
            )
        })
        .await;
    }
    let parsed = guard(|| parse(&model, protocol, &bytes, &limits, header_len))?;
    if parsed.rows() <= INLINE_ROWS {
        let out = guard(|| score(&model, &parsed));
        drop(permit);
        return out;
    }
    blocking(permit, move || score(&model, &parsed)).await
}

/// A 200 whose body is a JSON header of `json_len` bytes followed by binary tensor data.
fn binary_response(body: Vec<u8>, json_len: usize) -> Response {
    (
        axum::http::StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/octet-stream"),
            ),
            (
                axum::http::HeaderName::from_static(binary::HEADER_LENGTH),
                axum::http::HeaderValue::from(json_len),
            ),
        ],
        body,
    )
        .into_response()
}

/// Run `job` here, turning a panic into a 500.
pub(crate) fn guard<T>(job: impl FnOnce() -> Result<T, ApiError>) -> Result<T, ApiError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
        .unwrap_or_else(|_| Err(ApiError::Internal("scoring panicked".into())))
}

/// Run `job` on the blocking pool, holding `permit` until it ends. Awaiting it can be cut
/// short by the request timeout.
pub(crate) async fn blocking<T: Send + 'static>(
    permit: OwnedSemaphorePermit,
    job: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        job()
    })
    .await
    .map_err(|e| ApiError::Internal(format!("scoring task failed: {e}")))?
}

/// Counts a request in `scorewell_in_flight_requests` for as long as it lives, including
/// when its future is dropped because the client went away.
struct InFlight<'a>(&'a Gauge);

impl<'a> InFlight<'a> {
    fn enter(gauge: &'a Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
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

/// A request body, parsed into a batch for the model.
enum Parsed {
    V1(json::Request),
    V2(kserve_v2::Request),
}

impl Parsed {
    fn rows(&self) -> usize {
        match self {
            Parsed::V1(r) => r.rows(),
            Parsed::V2(r) => r.rows(),
        }
    }
}

fn parse(
    model: &LoadedModel,
    protocol: Protocol,
    body: &[u8],
    limits: &Limits,
    header_len: Option<usize>,
) -> Result<Parsed, ApiError> {
    Ok(match protocol {
        Protocol::V1 => Parsed::V1(json::parse(model, body, limits)?),
        Protocol::V2 => Parsed::V2(kserve_v2::parse(model, body, limits, header_len)?),
    })
}

fn score(model: &Arc<LoadedModel>, req: &Parsed) -> Result<(Answer, usize), ApiError> {
    match req {
        Parsed::V1(req) => {
            let scored = model.scorer().score(&req.built.batch)?;
            let body = json::answer(model, req, &scored)?;
            Ok((
                Answer {
                    body,
                    json_len: None,
                },
                scored.num_rows(),
            ))
        }
        Parsed::V2(req) => {
            let scored = model.scorer().score(&req.built.batch)?;
            Ok((kserve_v2::answer(model, req, &scored)?, scored.num_rows()))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{Config, ModelSpec, Repository};

    /// A LightGBM model of `trees` identical stumps on `x`: slow to score on purpose.
    fn forest(trees: usize) -> String {
        let tree = "num_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\n\
                    decision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=1 2\n\
                    leaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\n\
                    internal_count=2\nis_linear=0\nshrinkage=1\n";
        let mut out = format!(
            "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n\
             max_feature_idx=0\nobjective=regression\nfeature_names=x\nfeature_infos=[0:1]\n\
             tree_sizes={}\n\n",
            vec!["100"; trees].join(" ")
        );
        for i in 0..trees {
            out.push_str(&format!("Tree={i}\n{tree}\n\n"));
        }
        out.push_str("end of trees\n");
        out
    }

    /// A request whose future is dropped half-way (the client went away, or the server
    /// stopped waiting for it) leaves the in-flight gauge as it found it.
    #[tokio::test]
    async fn a_dropped_request_is_no_longer_counted_in_flight() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("slow.txt");
        std::fs::write(&path, forest(1000)).expect("write");
        let repo = Repository::open(vec![ModelSpec::new("slow", &path)], None).expect("open");
        let app = App::new(
            repo,
            Config {
                poll_interval: None,
                ..Config::default()
            },
        );
        // 2,000 rows: scored on the blocking pool, where the request waits long enough.
        let body = format!(r#"{{"columns":{{"x":[{}]}}}}"#, vec!["0.1"; 2000].join(","));
        let request = handle(
            app.clone(),
            "slow".into(),
            None,
            Protocol::V1,
            HeaderMap::new(),
            Body::from(body),
        );
        let gauge = app.metrics().in_flight();
        assert!(
            tokio::time::timeout(Duration::from_millis(5), request)
                .await
                .is_err(),
            "the request should still be scoring"
        );
        assert_eq!(gauge.get(), 0);
    }
}
