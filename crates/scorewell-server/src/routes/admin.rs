//! `POST /admin/reload`, guarded by a bearer token.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::App;
use crate::error::ApiError;

/// Whether `headers` carry `Authorization: Bearer <token>` for the configured token.
fn authorized(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = app
        .config()
        .admin_token
        .as_deref()
        .filter(|t| !t.is_empty())
    else {
        return Err(ApiError::AdminDisabled);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .ok_or(ApiError::Unauthorized)?;
    if constant_time_eq(given.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// The token of an `Authorization: Bearer <token>` value. The scheme name is
/// case-insensitive (RFC 9110 §11.1), the token is not.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compare without returning early on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

/// `POST /admin/reload`: rescan the repository and reload every changed model now.
pub(super) async fn reload(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(e) = authorized(&app, &headers) {
        tracing::warn!(error = %e, "admin request refused");
        return e.into_response();
    }
    let a = app.clone();
    match tokio::task::spawn_blocking(move || a.repository().reload()).await {
        Ok(outcomes) => {
            tracing::info!(?outcomes, "reload requested through the admin API");
            super::value_ok(&json!({ "models": outcomes }))
        }
        Err(e) => ApiError::Internal(format!("reload failed: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::{bearer_token, constant_time_eq};

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"secret"));
        assert!(!constant_time_eq(b"secret", b""));
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_the_token_is_not() {
        for value in [
            "Bearer s3cret",
            "bearer s3cret",
            "BEARER  s3cret ",
            "bEaReR\ts3cret",
        ] {
            assert_eq!(bearer_token(value), Some("s3cret"), "{value:?}");
        }
        assert_eq!(bearer_token("Bearer S3CRET"), Some("S3CRET"));
        for value in [
            "Basic s3cret",
            "Bearers3cret",
            "Bearer ",
            "Bearer",
            "s3cret",
        ] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }
}
