//! The one error every handler answers with.
//!
//! A client's mistake (4xx) is answered as it is, specifically — `{"error": "line 7: …",
//! "line": 7}` — because the client can fix it. A failure on our side (ClickHouse, I/O) is not
//! the client's business and may say more than it should: its cause is logged with a short
//! random id, and the answer carries only a generic message and that id, for an operator to
//! find the log line.

use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::auth::Denied;
use crate::store;

/// What a client is told when storage fails.
pub const STORAGE_ANSWER: &str = "storage unavailable, send again later";

/// A short random id tying an answer to the log line of its cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorId(String);

impl ErrorId {
    pub fn new() -> ErrorId {
        let mut raw = [0u8; 8];
        // Without randomness the id is less unique, not wrong: the log line still has it.
        if getrandom::fill(&mut raw).is_err() {
            raw = crate::time::now_us().to_be_bytes();
        }
        ErrorId(hex::encode(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ErrorId {
    fn default() -> ErrorId {
        ErrorId::new()
    }
}

impl fmt::Display for ErrorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A request not served. `Display` is the full story, for logs and the audit trail; the
/// answer ([`IntoResponse`]) is what a client may see.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request's fault, or a refusal of its credential or scope: answered as it is.
    #[error("{message}")]
    Refused {
        status: StatusCode,
        /// The word the ingest metrics count it under (`invalid`, `forbidden`, …).
        outcome: &'static str,
        message: String,
        /// The batch line at fault, if there is one.
        line: Option<usize>,
    },
    /// ClickHouse failed: 503, the cause logged under `id`.
    #[error("storage unavailable: {source} (error id {id})")]
    Storage { source: store::Error, id: ErrorId },
    /// Anything else of ours failed: 500, `answer` and `id` only.
    #[error("{answer}: {cause} (error id {id})")]
    Internal {
        answer: &'static str,
        cause: String,
        id: ErrorId,
    },
}

impl ApiError {
    /// A refusal (4xx, or a 503 of ours whose reason is safe to tell).
    pub fn new(status: StatusCode, outcome: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Refused {
            status,
            outcome,
            message: message.into(),
            line: None,
        }
    }

    /// A 400: the request is not valid.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    /// A 404 with its reason.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A 409 with its reason.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// A 403 with its reason.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// A failed ClickHouse request, logged with its id. Count it where it happens
    /// ([`App::storage_error`](super::App::storage_error) does both).
    pub fn storage(source: store::Error) -> ApiError {
        let id = ErrorId::new();
        tracing::error!(error_id = %id, error = %source, "storage failed");
        ApiError::Storage { source, id }
    }

    /// Another failure of ours, logged with its id; the client reads `answer`.
    pub fn internal(answer: &'static str, cause: impl fmt::Display) -> ApiError {
        let id = ErrorId::new();
        let cause = cause.to_string();
        tracing::error!(error_id = %id, error = %cause, "{answer}");
        ApiError::Internal { answer, cause, id }
    }

    /// The refusal names batch line `line`: `line 7: …`.
    pub fn at(self, n: usize) -> ApiError {
        match self {
            ApiError::Refused {
                status,
                outcome,
                message,
                ..
            } => ApiError::Refused {
                status,
                outcome,
                message: format!("line {n}: {message}"),
                line: Some(n),
            },
            other => other,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Refused { status, .. } => *status,
            ApiError::Storage { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The word the ingest metrics count it under.
    pub fn outcome(&self) -> &'static str {
        match self {
            ApiError::Refused { outcome, .. } => outcome,
            ApiError::Storage { .. } => "unavailable",
            ApiError::Internal { .. } => "failed",
        }
    }

    /// A refusal for the credential or the scope: audited as an attempt.
    pub fn is_denial(&self) -> bool {
        matches!(
            self.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        )
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> ApiError {
        let outcome = match d.status {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            _ => "unavailable",
        };
        ApiError::new(d.status, outcome, d.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            ApiError::Refused {
                message,
                line: Some(line),
                ..
            } => json!({ "error": message, "line": line }),
            ApiError::Refused { message, .. } => json!({ "error": message }),
            ApiError::Storage { id, .. } => json!({ "error": STORAGE_ANSWER, "error_id": id.0 }),
            ApiError::Internal { answer, id, .. } => json!({ "error": answer, "error_id": id.0 }),
        };
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(e: ApiError) -> (StatusCode, serde_json::Value) {
        let r = e.into_response();
        let status = r.status();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn refusals_say_why_and_name_the_line() {
        let e = ApiError::bad("not UTF-8").at(7);
        assert_eq!(e.to_string(), "line 7: not UTF-8");
        assert_eq!(e.outcome(), "invalid");
        let (status, v) = body(e).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(v, json!({"error": "line 7: not UTF-8", "line": 7}));
        let (_, v) = body(ApiError::forbidden("outside scope")).await;
        assert_eq!(v, json!({"error": "outside scope"}));
    }

    #[tokio::test]
    async fn failures_of_ours_answer_an_id_not_their_cause() {
        let e = ApiError::internal("writing CSV failed", "disk on fire at /var/secret");
        let ApiError::Internal { id, .. } = &e else {
            panic!("internal")
        };
        let id = id.clone();
        assert!(
            e.to_string().contains("disk on fire"),
            "the log and audit keep the cause"
        );
        let (status, v) = body(e).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            v,
            json!({"error": "writing CSV failed", "error_id": id.as_str()})
        );
        assert_eq!(id.as_str().len(), 16);
        assert_ne!(ErrorId::new(), ErrorId::new());
    }
}
