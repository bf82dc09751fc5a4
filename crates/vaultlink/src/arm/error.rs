//! The one place that decides Resource Manager status codes for core errors.

use hyper::StatusCode;
use serde_json::json;
use vaultlink_core::error::{Error, Kind};

use crate::http::{Resp, json};

/// ARM's error envelope `{"error":{"code","message"}}` with the status for each kind.
pub(crate) fn render(e: &Error) -> Resp {
    let status = match e.kind {
        Kind::BadRequest => StatusCode::BAD_REQUEST,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::Unauthorized => StatusCode::UNAUTHORIZED,
        Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Kind::Internal => {
            tracing::error!(detail = %e.message, "internal error");
            return json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": {"code": "InternalServerError", "message": "vaultlink encountered an internal error. See its log."}}),
            );
        }
        Kind::Unavailable => {
            return crate::http::unavailable(
                &e.message,
                &json!({"error": {"code": e.code, "message": crate::http::UNAVAILABLE}}),
            );
        }
    };
    let (code, message) = (e.code.as_str(), e.message.as_str());
    json(status, &json!({"error": {"code": code, "message": message}}))
}
