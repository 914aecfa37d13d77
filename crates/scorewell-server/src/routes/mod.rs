//! The route table: every path the server answers, with its handler. [`router`] is built from
//! [`routes`], and the OpenAPI document is checked against it.

mod admin;
mod ops;
pub(crate) mod scoring;
mod v1;
mod v2;

use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use crate::App;
use crate::error::ApiError;

/// One route: method, path (OpenAPI/axum syntax, `{name}`), handler.
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path template.
    pub path: &'static str,
    handler: MethodRouter<App>,
}

/// Every route the server answers, in the order `/openapi.json` lists them.
pub fn routes() -> Vec<Route> {
    let r = |method: Method, path: &'static str, handler: MethodRouter<App>| Route {
        method,
        path,
        handler,
    };
    vec![
        r(Method::GET, "/v1/models", get(v1::list)),
        r(Method::GET, "/v1/models/{name}", get(v1::describe)),
        r(Method::POST, "/v1/models/{name}/score", post(v1::score)),
        r(Method::GET, "/v2", get(v2::server_metadata)),
        r(Method::GET, "/v2/health/live", get(v2::live)),
        r(Method::GET, "/v2/health/ready", get(v2::ready)),
        r(Method::GET, "/v2/models/{name}", get(v2::model_metadata)),
        r(Method::GET, "/v2/models/{name}/ready", get(v2::model_ready)),
        r(Method::POST, "/v2/models/{name}/infer", post(v2::infer)),
        r(
            Method::GET,
            "/v2/models/{name}/versions/{version}",
            get(v2::model_metadata_version),
        ),
        r(
            Method::GET,
            "/v2/models/{name}/versions/{version}/ready",
            get(v2::model_ready_version),
        ),
        r(
            Method::POST,
            "/v2/models/{name}/versions/{version}/infer",
            post(v2::infer_version),
        ),
        r(Method::GET, "/metrics", get(ops::metrics)),
        r(Method::GET, "/openapi.json", get(ops::openapi)),
        r(Method::POST, "/admin/reload", post(admin::reload)),
    ]
}

/// The axum router for `app`: [`routes`], JSON 404/405 answers, and nothing else.
pub fn router(app: App) -> Router {
    let mut router: Router<App> = Router::new();
    for route in routes() {
        let path = route.path;
        router = router.route(
            path,
            route.handler.fallback(move |req: Request| async move {
                ApiError::MethodNotAllowed {
                    method: req.method().to_string(),
                    path: path.to_string(),
                }
                .into_response()
            }),
        );
    }
    router
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            refuse_while_draining,
        ))
        .with_state(app)
}

/// Paths that keep answering while the server drains: probes and metrics.
const DRAIN_EXEMPT: [&str; 3] = ["/v2/health/live", "/v2/health/ready", "/metrics"];

/// Once a shutdown has begun, a request that reaches the server on a connection it already
/// holds (its first request, or one racing the close of a kept-alive connection) gets 503
/// `shutting_down` and `Connection: close`, so the client retries elsewhere. Requests already
/// in progress are not affected: they passed this check before the shutdown began.
async fn refuse_while_draining(
    axum::extract::State(app): axum::extract::State<App>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    if app.is_draining() && !DRAIN_EXEMPT.contains(&req.uri().path()) {
        let mut response = ApiError::ShuttingDown.into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return response;
    }
    next.run(req).await
}

async fn no_route(req: Request) -> Response {
    ApiError::NoRoute {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
    }
    .into_response()
}

/// A JSON response with status 200.
pub(crate) fn json_ok(body: Vec<u8>) -> Response {
    json_response(axum::http::StatusCode::OK, body)
}

/// A JSON response.
pub(crate) fn json_response(status: axum::http::StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A `serde_json::Value` as a 200 response.
pub(crate) fn value_ok(v: &serde_json::Value) -> Response {
    match serde_json::to_vec(v) {
        Ok(body) => json_ok(body),
        Err(e) => ApiError::Internal(e.to_string()).into_response(),
    }
}
