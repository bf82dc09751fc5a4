//! The Key Vault data plane at `https://{vault}.vault.azure.net`.

use hyper::StatusCode;
use serde_json::json;

use crate::http::{App, Req, Resp};

/// Answers the bodyless first request of every SDK with Azure's challenge.
pub fn handle(_app: &App, req: &Req) -> Resp {
    let mut r = crate::http::json(
        StatusCode::UNAUTHORIZED,
        &json!({"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}}),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&format!(
        "Bearer authorization=\"https://login.microsoftonline.com/{}\", resource=\"https://vault.azure.net\"",
        vaultlink_core::seed::TENANT_ID
    )) {
        r.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, v);
    }
    let _ = req;
    r
}
