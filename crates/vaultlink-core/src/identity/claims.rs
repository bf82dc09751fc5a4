//! What a token says (Entra's v1 access-token claims, v2 ID-token claims) and whom a presented
//! token names.

use serde_json::{Value, json};

use super::{Caller, principal_in, principal_key};
use crate::engine::State;
use crate::error::{Error, Result};
use crate::model::{Principal, Record};

/// Token lifetime, as Entra issues them for client credentials (about an hour).
pub const TOKEN_LIFETIME_SECS: i64 = 3599;

/// The audiences vaultlink's Resource Manager accepts (Azure's ARM accepts both spellings).
pub const ARM_AUDIENCES: &[&str] = &[
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

/// The audience of every Key Vault data-plane token.
pub const VAULT_AUDIENCE: &str = "https://vault.azure.net";

/// The audiences the Key Vault data plane accepts (either spelling).
pub const VAULT_AUDIENCES: &[&str] = &[VAULT_AUDIENCE, "https://vault.azure.net/"];

/// The audiences of a Microsoft Graph token (Entra issues either spelling, or Graph's app id).
pub const GRAPH_AUDIENCES: &[&str] =
    &["https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"];

/// The resource (audience) a scope names: `https://vault.azure.net/.default` -> `https://vault.azure.net`;
/// `https://management.core.windows.net//.default` -> `https://management.core.windows.net/`.
pub fn resource_from_scope(scope: &str) -> Option<String> {
    scope.split_whitespace().find_map(|s| s.strip_suffix("/.default").map(str::to_string))
}

fn issuer(tid: &str) -> String {
    format!("https://sts.windows.net/{tid}/")
}

/// The claims of an application's access token, as Entra v1 access tokens carry them.
pub fn access_token_claims(p: &Principal, audience: &str, now: i64) -> Value {
    json!({
        "aud": audience,
        "iss": issuer(&p.tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECS,
        "aio": vaultlink_crypto::random_hex(16),
        "appid": p.app_id,
        "appidacr": if p.managed_identity { "2" } else { "1" },
        "idp": issuer(&p.tenant_id),
        "idtyp": "app",
        "oid": p.object_id,
        "rh": "0.vaultlink",
        "sub": p.object_id,
        "tid": p.tenant_id,
        "uti": vaultlink_crypto::random_hex(11),
        "ver": "1.0",
        "xms_tcdt": now,
    })
}

/// The claims of a user's (delegated) access token, issued to the client application that
/// signed the user in (`az`'s own app id for `az login -u`).
pub fn user_access_token_claims(p: &Principal, audience: &str, client_id: &str, now: i64) -> Value {
    let upn = p.user.as_ref().map_or(p.app_id.as_str(), |u| u.user_principal_name.as_str());
    json!({
        "aud": audience,
        "iss": issuer(&p.tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECS,
        "acr": "1",
        "aio": vaultlink_crypto::random_hex(16),
        "amr": ["pwd"],
        "appid": client_id,
        "appidacr": "0",
        "idtyp": "user",
        "name": p.display_name,
        "oid": p.object_id,
        "rh": "0.vaultlink",
        "scp": "user_impersonation",
        "sub": p.object_id,
        "tid": p.tenant_id,
        "unique_name": upn,
        "upn": upn,
        "uti": vaultlink_crypto::random_hex(11),
        "ver": "1.0",
    })
}

/// The access-token claims for whoever signed in: a user's (delegated, naming `client_id`, the
/// application that signed it in) or an application's own.
pub fn token_claims(p: &Principal, audience: &str, client_id: &str, now: i64) -> Value {
    if p.user.is_some() {
        user_access_token_claims(p, audience, client_id, now)
    } else {
        access_token_claims(p, audience, now)
    }
}

/// A v2 ID token's claims for a signed-in user or application (what MSAL keeps as the account).
pub fn id_token_claims(p: &Principal, client_id: &str, now: i64) -> Value {
    let upn = p.user.as_ref().map_or(p.app_id.as_str(), |u| u.user_principal_name.as_str());
    json!({
        "aud": client_id,
        "iss": format!("https://login.microsoftonline.com/{}/v2.0", p.tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECS,
        "name": p.display_name,
        "oid": p.object_id,
        "preferred_username": upn,
        "sub": p.object_id,
        "tid": p.tenant_id,
        "ver": "2.0",
    })
}

/// Checks the claims of a token whose signature and lifetime were verified: audience, and that
/// the principal exists in the tenant the token was issued for (`tid`, matching `iss`).
/// Returns the caller.
pub fn caller_from_claims(
    state: &State,
    claims: &serde_json::Map<String, Value>,
    audiences: &[&str],
) -> Result<Caller> {
    let aud = claims.get("aud").and_then(Value::as_str).unwrap_or_default();
    if !audiences.iter().any(|a| a.eq_ignore_ascii_case(aud)) {
        return Err(Error::unauthorized(
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences '{}'.",
                audiences.join("','")
            ),
        ));
    }
    let invalid = || {
        Error::unauthorized(
            "InvalidAuthenticationToken",
            "The access token is invalid: its principal does not exist in the tenant.",
        )
    };
    let tid = claims.get("tid").and_then(Value::as_str).unwrap_or_default();
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
    // `iss` must be `https://sts.windows.net/{tid}/` (compared in place: this runs per request).
    let iss_tenant = iss.strip_prefix("https://sts.windows.net/").and_then(|r| r.strip_suffix('/'));
    if tid.is_empty() || !iss_tenant.is_some_and(|t| t.eq_ignore_ascii_case(tid)) {
        return Err(invalid());
    }
    let oid = claims.get("oid").and_then(Value::as_str).unwrap_or_default();
    let user = claims.get("idtyp").and_then(Value::as_str) == Some("user");
    // One lookup: a user by its object id, an application by its app id (its object id must match).
    let key = if user {
        oid
    } else {
        claims.get("appid").or_else(|| claims.get("azp")).and_then(Value::as_str).unwrap_or(oid)
    };
    let found = match state.get(&principal_key(tid, key)) {
        Some(Record::Principal(p)) if p.object_id.eq_ignore_ascii_case(oid) => Some(Caller::of(p)),
        _ => principal_in(state, tid, oid).filter(|p| p.object_id.eq_ignore_ascii_case(oid)).as_ref().map(Caller::of),
    };
    found.filter(|c| c.tenant_id.eq_ignore_ascii_case(tid)).ok_or_else(invalid)
}
