//! The server's errors: [`ApiError`] for a request (mapped to an HTTP status in one place,
//! [`ApiError::status`]) and [`ServerError`] for starting up.

use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scorewell::ScoreError;

/// Why a request failed. The response is `{"error": "<message>", "code": "<code>"}` with the
/// status from [`ApiError::status`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not valid JSON (including the non-JSON literals `NaN` and `Infinity`).
    #[error("malformed JSON: {0}")]
    InvalidJson(String),
    /// The body is JSON but not a request this route accepts (wrong shape or value types).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The request holds no rows.
    #[error("the request has no rows; send at least one")]
    EmptyRows,
    /// The body is larger than [`crate::Limits::max_body_bytes`].
    #[error("request body exceeds the limit of {limit} bytes (--max-body-bytes)")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The request has more rows than [`crate::Limits::max_rows`].
    #[error("request has more than {limit} rows (--max-rows); split it")]
    TooManyRows {
        /// The limit.
        limit: usize,
    },
    /// The request holds more values (rows × fields) than [`crate::Limits::max_cells`].
    #[error(
        "request has more than {limit} values, counted as rows × fields with missing fields as nulls (--max-cells); send fewer rows or fields"
    )]
    TooManyCells {
        /// The limit.
        limit: usize,
    },
    /// No model has this name.
    #[error("no model named `{name}` (models: {available})")]
    UnknownModel {
        /// The requested name.
        name: String,
        /// The served names, comma-separated.
        available: String,
    },
    /// The model is served, but not in the requested version.
    #[error("model `{name}` has no version `{version}` (serving version {serving})")]
    UnknownVersion {
        /// The model.
        name: String,
        /// The requested version.
        version: String,
        /// The version served now.
        serving: String,
    },
    /// The model is known but has never loaded successfully.
    #[error("model `{name}` is not loaded: {reason}")]
    ModelUnavailable {
        /// The model.
        name: String,
        /// The last load error.
        reason: String,
    },
    /// The scorer refused the batch (missing column, wrong type, ...).
    #[error("{0}")]
    Score(#[from] ScoreError),
    /// More requests are being scored than [`crate::Limits::max_concurrency`] allows.
    #[error(
        "the server is at its limit of {limit} concurrent requests (--max-concurrency); retry later"
    )]
    Overloaded {
        /// The limit.
        limit: usize,
    },
    /// The request took longer than [`crate::Limits::timeout`].
    #[error("the request took longer than the limit of {ms} ms (--timeout-ms)")]
    Timeout {
        /// The limit in milliseconds.
        ms: u128,
    },
    /// The server is shutting down: it finishes the requests in progress but takes no new
    /// ones.
    #[error("the server is shutting down; retry on another instance")]
    ShuttingDown,
    /// `/admin/*` was called but no admin token is configured.
    #[error(
        "the admin API is disabled: start the server with --admin-token or SCOREWELL_ADMIN_TOKEN"
    )]
    AdminDisabled,
    /// `/admin/*` was called without the right bearer token.
    #[error("missing or wrong bearer token (send `Authorization: Bearer <token>`)")]
    Unauthorized,
    /// No route has this path.
    #[error("no route for {method} {path} (see /openapi.json)")]
    NoRoute {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// The path exists but not with this method.
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// A bug or an unexpected failure on the server's side.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status for this error; the one place errors meet statuses.
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            InvalidJson(_) | InvalidRequest(_) | EmptyRows | Score(_) => StatusCode::BAD_REQUEST,
            BodyTooLarge { .. } | TooManyRows { .. } | TooManyCells { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            UnknownModel { .. } | UnknownVersion { .. } | NoRoute { .. } => StatusCode::NOT_FOUND,
            ModelUnavailable { .. } | ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Overloaded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            AdminDisabled => StatusCode::FORBIDDEN,
            Unauthorized => StatusCode::UNAUTHORIZED,
            MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable name for the error (the `code` field and a metrics label).
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidJson(_) => "invalid_json",
            InvalidRequest(_) => "invalid_request",
            EmptyRows => "empty_rows",
            BodyTooLarge { .. } => "body_too_large",
            TooManyRows { .. } => "too_many_rows",
            TooManyCells { .. } => "too_many_cells",
            UnknownModel { .. } => "unknown_model",
            UnknownVersion { .. } => "unknown_version",
            ModelUnavailable { .. } => "model_unavailable",
            Score(e) => score_code(e),
            Overloaded { .. } => "overloaded",
            Timeout { .. } => "timeout",
            ShuttingDown => "shutting_down",
            AdminDisabled => "admin_disabled",
            Unauthorized => "unauthorized",
            NoRoute { .. } => "no_route",
            MethodNotAllowed { .. } => "method_not_allowed",
            Internal(_) => "internal",
        }
    }

    /// The JSON body: `{"error": "...", "code": "..."}`.
    pub fn body(&self) -> Vec<u8> {
        let body = serde_json::json!({"error": self.to_string(), "code": self.code()});
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"error\":\"internal error\"}".to_vec())
    }
}

fn score_code(e: &ScoreError) -> &'static str {
    match e {
        ScoreError::MissingColumn { .. } => "missing_column",
        ScoreError::ColumnType { .. } => "wrong_type",
        ScoreError::InvalidValue { .. } => "invalid_value",
        ScoreError::InStage { source, .. } => score_code(source),
        _ => "scoring_failed",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match status {
            StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A model named on the command line failed to load.
    #[error("model `{name}`: {message}")]
    Load {
        /// The model's name.
        name: String,
        /// Its source.
        path: PathBuf,
        /// What the loader said (it names the file).
        message: String,
    },
    /// Two models have the same name.
    #[error("two models are named `{name}`: {first} and {second}")]
    DuplicateName {
        /// The name.
        name: String,
        /// One source.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A model name that cannot appear in a URL path.
    #[error(
        "model name `{name}` is not allowed: use letters, digits, `_`, `-` and `.` (not first)"
    )]
    BadName {
        /// The name.
        name: String,
    },
    /// The repository folder could not be listed.
    #[error("model repository {path}: {source}")]
    Repository {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// No models were given.
    #[error("no models to serve: name model files (NAME=PATH) or a --repository folder")]
    NoModels,
}
