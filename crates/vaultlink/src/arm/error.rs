//! The one place that decides Resource Manager status codes for core errors.

use hyper::StatusCode;
use serde_json::json;
use vaultlink_core::Error;

use crate::http::{Resp, json};

/// ARM's error envelope `{"error":{"code","message"}}` with the status for each kind.
pub(super) fn render(e: &Error) -> Resp {
    let (status, code, message) = match e {
        Error::BadRequest { code, message } => (StatusCode::BAD_REQUEST, code.as_str(), message.as_str()),
        Error::NotFound { code, message } => (StatusCode::NOT_FOUND, code.as_str(), message.as_str()),
        Error::Conflict { code, message } => (StatusCode::CONFLICT, code.as_str(), message.as_str()),
        Error::PreconditionFailed { code, message } => {
            (StatusCode::PRECONDITION_FAILED, code.as_str(), message.as_str())
        }
        Error::Forbidden { code, message } => (StatusCode::FORBIDDEN, code.as_str(), message.as_str()),
        Error::Unauthorized { code, message } => (StatusCode::UNAUTHORIZED, code.as_str(), message.as_str()),
        Error::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "vaultlink encountered an internal error. See its log.",
            )
        }
    };
    json(status, &json!({"error": {"code": code, "message": message}}))
}
