//! Lambda events onto scorewell's routes.
//!
//! The serve paths (`/v1/models/{name}/score`, the OIP `/v2/…` paths, health, metrics) answer
//! exactly as in `scorewell serve`. Any other POST is a scoring request, so an API Gateway
//! route such as `POST /score` or `ANY /{proxy+}`, a Function URL's root, and a direct
//! invocation (whose payload is the request body) need no naming scheme: it goes to the one
//! model, or, with several, to the model a `"model"` field or the path's last segment names.

use axum::response::{IntoResponse, Response};
use lambda_http::{Body, Request};
use scorewell_server::{ApiError, App};
use tower::ServiceExt;

/// The service `lambda_http::run` drives.
pub fn service(
    app: App,
) -> impl tower::Service<
    Request,
    Response = Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<Response, std::convert::Infallible>> + Send,
> + Clone {
    let names = app.repository().names();
    let templates: Vec<&'static str> = scorewell_server::routes().iter().map(|r| r.path).collect();
    let router = scorewell_server::router(app);
    tower::service_fn(move |req: Request| {
        let target = retarget(req, &names, &templates);
        let router = router.clone();
        async move {
            match target {
                Ok(req) => router.oneshot(req).await,
                Err(e) => Ok(e.into_response()),
            }
        }
    })
}

/// `req` as the server should see it: unchanged on a serve path; otherwise, for a POST, sent
/// to `/v1/models/{name}/score` with the model chosen as the module says.
fn retarget(req: Request, names: &[String], templates: &[&str]) -> Result<Request, ApiError> {
    let path = req.uri().path();
    if req.method() != http::Method::POST || templates.iter().any(|t| matches_template(t, path)) {
        return Ok(req);
    }
    let last = path.rsplit('/').next().unwrap_or("").to_string();
    let (mut parts, body) = req.into_parts();
    let (named, body) = take_model_field(body)?;
    let name = match named {
        Some(n) => n,
        None if names.contains(&last) => last,
        None if names.len() == 1 => names[0].clone(),
        None => {
            return Err(ApiError::InvalidRequest(format!(
                "several models are served ({}); name one: POST /v1/models/{{name}}/score, a path ending in the name, or a \"model\" field",
                names.join(", ")
            )));
        }
    };
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let uri = format!("/v1/models/{name}/score{query}");
    parts.uri = uri
        .parse()
        .map_err(|_| ApiError::InvalidRequest(format!("`{name}` cannot be a model name")))?;
    Ok(Request::from_parts(parts, body))
}

/// Whether `path` fits a route template (`{x}` matches one segment).
fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// A top-level `"model": "<name>"` in a JSON body chooses the model; it is removed, since the
/// scoring request itself takes only `rows` or `columns`. Bodies without it pass untouched
/// (and unparsed).
fn take_model_field(body: Body) -> Result<(Option<String>, Body), ApiError> {
    let bytes: &[u8] = match &body {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => return Ok((None, body)),
    };
    if !bytes.windows(7).any(|w| w == b"\"model\"") {
        return Ok((None, body));
    }
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    let Some(obj) = value.as_object_mut() else {
        return Ok((None, body));
    };
    let name = match obj.remove("model") {
        None => return Ok((None, body)),
        Some(serde_json::Value::String(s)) => s,
        Some(other) => {
            return Err(ApiError::InvalidRequest(format!(
                "\"model\" must be a model name (a string), not {other}"
            )));
        }
    };
    let rest = serde_json::to_string(&value).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((Some(name), Body::Text(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(path: &str, body: &str) -> Request {
        http::Request::builder()
            .method("POST")
            .uri(path)
            .body(Body::Text(body.into()))
            .unwrap()
    }

    fn templates() -> Vec<&'static str> {
        scorewell_server::routes().iter().map(|r| r.path).collect()
    }

    fn target(req: Request, names: &[&str]) -> Result<(String, String), String> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let req = retarget(req, &names, &templates()).map_err(|e| e.to_string())?;
        let body = match req.body() {
            Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        Ok((req.uri().to_string(), body))
    }

    #[test]
    fn serve_paths_pass_through_and_any_other_post_scores() {
        let rows = r#"{"rows":[{"x":1}]}"#;
        assert_eq!(
            target(post("/v2/models/m/infer", "{}"), &["m"]).unwrap().0,
            "/v2/models/m/infer"
        );
        assert_eq!(
            target(post("/v1/models/m/score", rows), &["m"]).unwrap().0,
            "/v1/models/m/score"
        );
        for path in ["/", "/score", "/events", "/api/predict?debug=1"] {
            let (uri, body) = target(post(path, rows), &["fraud"]).unwrap();
            assert!(uri.starts_with("/v1/models/fraud/score"), "{path} → {uri}");
            assert_eq!(body, rows, "the body is untouched");
        }
        assert_eq!(
            target(post("/api/predict?debug=1", rows), &["fraud"])
                .unwrap()
                .0,
            "/v1/models/fraud/score?debug=1"
        );
        let get = http::Request::builder()
            .uri("/anything")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(target(get, &["fraud"]).unwrap().0, "/anything");
    }

    #[test]
    fn with_several_models_a_field_or_the_path_chooses() {
        let names = ["fraud", "spam"];
        let (uri, body) = target(
            post("/events", r#"{"model":"spam","rows":[{"x":1}]}"#),
            &names,
        )
        .unwrap();
        assert_eq!(uri, "/v1/models/spam/score");
        assert_eq!(body, r#"{"rows":[{"x":1}]}"#);
        assert_eq!(
            target(post("/score/fraud", r#"{"rows":[]}"#), &names)
                .unwrap()
                .0,
            "/v1/models/fraud/score"
        );
        let err = target(post("/score", r#"{"rows":[]}"#), &names).unwrap_err();
        assert!(
            err.contains("several models are served (fraud, spam)"),
            "{err}"
        );
        let err = target(post("/", r#"{"model":3,"rows":[]}"#), &names).unwrap_err();
        assert!(err.contains("must be a model name"), "{err}");
    }

    #[test]
    fn templates_match_whole_segments() {
        assert!(matches_template(
            "/v1/models/{name}/score",
            "/v1/models/a/score"
        ));
        assert!(!matches_template(
            "/v1/models/{name}/score",
            "/v1/models//score"
        ));
        assert!(!matches_template(
            "/v1/models/{name}/score",
            "/v1/models/a/score/x"
        ));
        assert!(matches_template("/v2/health/live", "/v2/health/live"));
    }
}
