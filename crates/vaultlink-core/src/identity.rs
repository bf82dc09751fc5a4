//! Entra ID: principals of the emulated tenant, client-credential checks, token claims.
//!
//! Signing is `vaultlink_crypto::TokenSigner`'s job; this module decides *who* a token is for,
//! what it says, and whether a presented token's claims are acceptable to a given audience.

use serde_json::{Value, json};

use crate::engine::{Batch, Engine, State};
use crate::error::{Error, Result};
use crate::model::{Principal, Record};
use crate::seed;

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

/// The audiences of a Microsoft Graph token (Entra issues either spelling, or Graph's app id).
pub const GRAPH_AUDIENCES: &[&str] =
    &["https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"];

/// Refuses a token request for a resource vaultlink does not serve (`AADSTS500011`). `direct`
/// lists the audiences of the direct listener (`https://localhost:{port}/`, ...).
pub fn served_resource(resource: &str, direct: &[String]) -> Result<(), OAuthError> {
    // Resource Manager, the Key Vault data plane (either spelling) and Microsoft Graph (which az
    // asks for before some commands); any other is refused as Entra refuses one not in the tenant.
    let vault = [VAULT_AUDIENCE, "https://vault.azure.net/"];
    let known = ARM_AUDIENCES.iter().chain(&vault).chain(GRAPH_AUDIENCES).any(|r| r.eq_ignore_ascii_case(resource))
        || direct.iter().any(|r| r.eq_ignore_ascii_case(resource));
    if known {
        return Ok(());
    }
    Err(OAuthError {
        status: 400,
        error: "invalid_resource",
        description: format!(
            "AADSTS500011: The resource principal named {resource} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
            seed::TENANT_ID
        ),
        codes: vec![500011],
    })
}

/// Who is calling, taken from a validated token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub object_id: String,
    pub app_id: String,
}

impl Caller {
    fn of(p: &Principal) -> Self {
        Self { tenant_id: p.tenant_id.clone(), object_id: p.object_id.clone(), app_id: p.app_id.clone() }
    }
}

/// A refusal from the token endpoint, in Entra's terms (`error` + `AADSTS` description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
    pub codes: Vec<u32>,
}

fn principal_key(app_id: &str) -> String {
    format!("/tenants/{}/principals/{}", seed::TENANT_ID, app_id)
}

/// Seeds the developer principal and the managed identity on a fresh instance.
pub(crate) fn seed(state: &State, batch: &mut Batch) {
    for (app, object, name, secret, mi) in [
        (seed::DEV_CLIENT_ID, seed::DEV_OBJECT_ID, "vaultlink-developer", Some(seed::DEV_CLIENT_SECRET), false),
        (seed::MI_CLIENT_ID, seed::MI_OBJECT_ID, "vaultlink-managed-identity", None, true),
    ] {
        let key = principal_key(app);
        if state.get(&key).is_none() {
            batch.put(
                &key,
                Record::Principal(Principal {
                    app_id: app.into(),
                    object_id: object.into(),
                    tenant_id: seed::TENANT_ID.into(),
                    display_name: name.into(),
                    secret_sha256: secret.map(|s| hex(&vaultlink_crypto::sha256(s.as_bytes()))),
                    managed_identity: mi,
                }),
            );
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every principal of the tenant.
pub fn principals(state: &State) -> Vec<Principal> {
    state
        .descendants(&format!("/tenants/{}/principals", seed::TENANT_ID))
        .filter_map(|(_, r)| match r {
            Record::Principal(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

/// Looks a principal up by application (client) id or object id.
pub fn principal(state: &State, id: &str) -> Option<Principal> {
    state.descendants(&format!("/tenants/{}/principals", seed::TENANT_ID)).find_map(|(_, r)| match r {
        Record::Principal(p) if p.app_id.eq_ignore_ascii_case(id) || p.object_id.eq_ignore_ascii_case(id) => {
            Some(p.clone())
        }
        _ => None,
    })
}

/// Creates a new service principal with a random secret; returns it and the secret (shown once).
pub fn add_principal(engine: &Engine, display_name: &str) -> Result<(Principal, String)> {
    let secret = format!("vl~{}", vaultlink_crypto::random_hex(20));
    let principal = Principal {
        app_id: crate::engine::guid(),
        object_id: crate::engine::guid(),
        tenant_id: seed::TENANT_ID.into(),
        display_name: display_name.into(),
        secret_sha256: Some(hex(&vaultlink_crypto::sha256(secret.as_bytes()))),
        managed_identity: false,
    };
    engine.write(|_, batch| -> Result<()> {
        batch.put(&principal_key(&principal.app_id), Record::Principal(principal.clone()));
        Ok(())
    })?;
    Ok((principal, secret))
}

/// Checks client credentials as Entra does; the error is Entra's for each failure.
pub fn authenticate(state: &State, tenant: &str, client_id: &str, secret: &str) -> Result<Principal, OAuthError> {
    if !tenant_matches(tenant) {
        return Err(OAuthError {
            status: 400,
            error: "invalid_request",
            description: format!(
                "AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
            codes: vec![90002],
        });
    }
    let Some(p) = principal(state, client_id).filter(|p| p.app_id.eq_ignore_ascii_case(client_id)) else {
        return Err(OAuthError {
            status: 400,
            error: "unauthorized_client",
            description: format!(
                "AADSTS700016: Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                seed::TENANT_ID
            ),
            codes: vec![700016],
        });
    };
    let ok = p.secret_sha256.as_deref().is_some_and(|h| h == hex(&vaultlink_crypto::sha256(secret.as_bytes())));
    if !ok {
        return Err(OAuthError {
            status: 401,
            error: "invalid_client",
            description: format!(
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                p.app_id
            ),
            codes: vec![7000215],
        });
    }
    Ok(p)
}

/// True when `tenant` (from a token URL) names the emulated tenant. Like the CLI contract shows,
/// clients may use any alias; `common`, `organizations` and the tenant id are accepted, and so is
/// any other string, which Entra would resolve as a domain name of the tenant.
pub fn tenant_matches(tenant: &str) -> bool {
    !tenant.is_empty() && tenant.len() <= 256 && !tenant.contains(['/', '?', '#'])
}

/// The resource (audience) a scope names: `https://vault.azure.net/.default` -> `https://vault.azure.net`;
/// `https://management.core.windows.net//.default` -> `https://management.core.windows.net/`.
pub fn resource_from_scope(scope: &str) -> Option<String> {
    scope.split_whitespace().find_map(|s| s.strip_suffix("/.default").map(str::to_string))
}

/// The claims of an access token, as Entra v1 access tokens carry them.
pub fn access_token_claims(p: &Principal, audience: &str, now: i64) -> Value {
    json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{}/", p.tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECS,
        "aio": vaultlink_crypto::random_hex(16),
        "appid": p.app_id,
        "appidacr": if p.managed_identity { "2" } else { "1" },
        "idp": format!("https://sts.windows.net/{}/", p.tenant_id),
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

/// Checks the claims of a token whose signature and lifetime were verified: audience and that the
/// principal still exists. Returns the caller.
pub fn caller_from_claims(
    state: &State,
    claims: &serde_json::Map<String, Value>,
    audiences: &[&str],
) -> Result<Caller> {
    let aud = claims.get("aud").and_then(Value::as_str).unwrap_or_default();
    if !audiences.iter().any(|a| a.eq_ignore_ascii_case(aud)) {
        return Err(Error::Unauthorized {
            code: "InvalidAuthenticationTokenAudience".into(),
            message: format!(
                "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences '{}'.",
                audiences.join("','")
            ),
        });
    }
    let oid = claims.get("oid").and_then(Value::as_str).unwrap_or_default();
    // The token's application id finds the principal with one lookup; its object id must match.
    let by_app = claims.get("appid").or_else(|| claims.get("azp")).and_then(Value::as_str).and_then(|app| match state
        .get(&principal_key(app))
    {
        Some(Record::Principal(p)) if p.object_id.eq_ignore_ascii_case(oid) => Some(Caller::of(p)),
        _ => None,
    });
    by_app.or_else(|| principal(state, oid).as_ref().map(Caller::of)).ok_or_else(|| Error::Unauthorized {
        code: "InvalidAuthenticationToken".into(),
        message: "The access token is invalid: its principal does not exist in the tenant.".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let e = Engine::open(Box::new(vaultlink_store::MemoryStore)).unwrap();
        seed::seed(&e).unwrap();
        e
    }

    #[test]
    fn seeded_developer_authenticates_and_a_wrong_secret_is_invalid_client() {
        let e = engine();
        e.read(|s| {
            let p = authenticate(s, seed::TENANT_ID, seed::DEV_CLIENT_ID, seed::DEV_CLIENT_SECRET).unwrap();
            assert_eq!(p.object_id, seed::DEV_OBJECT_ID);
            let err = authenticate(s, seed::TENANT_ID, seed::DEV_CLIENT_ID, "nope").unwrap_err();
            assert_eq!((err.status, err.error), (401, "invalid_client"));
            assert!(err.description.starts_with("AADSTS7000215"));
            let err = authenticate(s, seed::TENANT_ID, "00000000-0000-0000-0000-000000000000", "x").unwrap_err();
            assert_eq!(err.error, "unauthorized_client");
            // A managed identity has no secret: client credentials never work for it.
            assert!(authenticate(s, seed::TENANT_ID, seed::MI_CLIENT_ID, "").is_err());
        });
    }

    #[test]
    fn added_principal_gets_a_working_secret() {
        let e = engine();
        let (p, secret) = add_principal(&e, "app2").unwrap();
        e.read(|s| assert_eq!(authenticate(s, "common", &p.app_id, &secret).unwrap().object_id, p.object_id));
    }

    #[test]
    fn scope_to_resource_keeps_the_double_slash_meaning() {
        assert_eq!(
            resource_from_scope("https://management.core.windows.net//.default").as_deref(),
            Some("https://management.core.windows.net/")
        );
        assert_eq!(resource_from_scope("https://vault.azure.net/.default").as_deref(), Some("https://vault.azure.net"));
        assert_eq!(resource_from_scope("openid"), None);
    }

    #[test]
    fn tokens_are_issued_only_for_served_resources() {
        let direct = vec!["https://localhost:8743/".to_string()];
        for ok in ["https://management.azure.com/", "https://VAULT.azure.net", "https://localhost:8743/"] {
            assert!(served_resource(ok, &direct).is_ok(), "{ok}");
        }
        let e = served_resource("https://evil.example/", &direct).unwrap_err();
        assert_eq!((e.status, e.error, e.codes.as_slice()), (400, "invalid_resource", &[500011][..]));
        assert!(e.description.starts_with("AADSTS500011: The resource principal named https://evil.example/ "));
        assert!(served_resource("https://localhost:9999/", &direct).is_err());
    }

    #[test]
    fn wrong_audience_is_refused() {
        let e = engine();
        e.read(|s| {
            let p = principal(s, seed::DEV_CLIENT_ID).unwrap();
            let claims = access_token_claims(&p, VAULT_AUDIENCE, 0);
            let map = claims.as_object().unwrap();
            assert!(caller_from_claims(s, map, ARM_AUDIENCES).is_err());
            assert_eq!(caller_from_claims(s, map, &[VAULT_AUDIENCE]).unwrap().object_id, seed::DEV_OBJECT_ID);
        });
    }
}
