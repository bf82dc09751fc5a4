//! Who may sign in: client credentials (a service principal's secret), a user's password (the
//! resource-owner password flow), which tenant a token URL names, and which resources are served.

use super::secrets::{self, Candidate, Slot};
use super::{OAuthError, application, applications_key_of, principal_in, principal_key, tenant, tenants};
use crate::engine::{Engine, State};
use crate::model::{Principal, Record};
use crate::seed;

/// Refuses a token request for a resource vaultlink does not serve (`AADSTS500011`). `direct`
/// lists the audiences of the direct listener (`https://localhost:{port}/`, ...).
pub fn served_resource(resource: &str, direct: &[String]) -> Result<(), OAuthError> {
    use super::{ARM_AUDIENCES, GRAPH_AUDIENCES, VAULT_AUDIENCES};
    // Resource Manager, the Key Vault data plane (either spelling) and Microsoft Graph (which az
    // asks for before some commands); any other is refused as Entra refuses one not in the tenant.
    let known =
        ARM_AUDIENCES.iter().chain(VAULT_AUDIENCES).chain(GRAPH_AUDIENCES).any(|r| r.eq_ignore_ascii_case(resource))
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

/// The tenant a token URL names: `Ok(None)` for `common` / `organizations` (the principal's
/// home tenant decides), the tenant for its id or one of its domains. An unknown id is Entra's
/// AADSTS90002; any other name is taken as a domain of the default tenant (documented).
pub fn resolve_tenant(state: &State, name: &str) -> Result<Option<String>, OAuthError> {
    let not_found = || OAuthError {
        status: 400,
        error: "invalid_request",
        description: format!(
            "AADSTS90002: Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ),
        codes: vec![90002],
    };
    if name.is_empty() || name.len() > 256 || name.contains(['/', '?', '#']) {
        return Err(not_found());
    }
    if ["common", "organizations"].iter().any(|a| a.eq_ignore_ascii_case(name)) {
        return Ok(None);
    }
    if uuid::Uuid::parse_str(name).is_ok() {
        return tenant(state, name).map(|t| Some(t.tenant_id)).ok_or_else(not_found);
    }
    let by_domain = tenants(state).into_iter().find(|t| t.default_domain.eq_ignore_ascii_case(name));
    Ok(Some(by_domain.map_or_else(|| seed::TENANT_ID.to_string(), |t| t.tenant_id)))
}

/// Where a principal signs in when the URL names no tenant: the application's home tenant if it
/// has a service principal there, else the first tenant that has one.
fn home_of(state: &State, app_or_user: &str) -> Option<String> {
    let home = application(state, app_or_user).map(|a| a.tenant_id);
    home.filter(|t| principal_in(state, t, app_or_user).is_some()).or_else(|| {
        tenants(state).into_iter().map(|t| t.tenant_id).find(|t| principal_in(state, t, app_or_user).is_some())
    })
}

/// Checks client credentials as Entra does, in the tenant the URL names; the error is Entra's
/// for each failure. A secret counts if it is one of the application's (unexpired) secrets, or
/// the principal's own from before applications held them.
///
/// The secrets are read in one snapshot and checked outside the state's lock (Argon2id is slow
/// on purpose; `secrets` says how it is kept fast for a secret that verified recently). A wrong
/// secret costs at least one Argon2id check, also for an unknown principal or a managed
/// identity. A secret that matched a SHA-256 hash of an older state file is rehashed with
/// Argon2id and written back through `Engine::write` before the answer.
pub fn authenticate(engine: &Engine, tenant: &str, client_id: &str, secret: &str) -> Result<Principal, OAuthError> {
    let (tid, found) = engine.read(|state| {
        let tid = resolve_tenant(state, tenant)?
            .or_else(|| home_of(state, client_id))
            .unwrap_or_else(|| seed::TENANT_ID.to_string());
        let found = principal_in(state, &tid, client_id)
            .filter(|p| p.app_id.eq_ignore_ascii_case(client_id) && p.user.is_none())
            .map(|p| {
                let candidates = if p.managed_identity { Vec::new() } else { candidates(state, &p) };
                (p, candidates)
            });
        Ok::<_, OAuthError>((tid, found))
    })?;
    let Some((p, candidates)) = found else {
        secrets::dummy_check(secret);
        return Err(OAuthError {
            status: 400,
            error: "unauthorized_client",
            description: format!(
                "AADSTS700016: Application with identifier '{client_id}' was not found in the directory '{tid}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
            codes: vec![700016],
        });
    };
    let matched = secrets::verify(&candidates, secret);
    let Some(matched) = matched.filter(|_| !p.managed_identity) else {
        return Err(OAuthError {
            status: 401,
            error: "invalid_client",
            description: format!(
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                p.app_id
            ),
            codes: vec![7000215],
        });
    };
    if let secrets::Stored::Sha256(old) = &matched.stored {
        rehash(engine, &p, &matched.slot, old, secret);
    }
    Ok(p)
}

/// The secrets a sign-in of `p` may match, as stored: its own, then its application's that are
/// valid now (a start up to five minutes ahead counts, for clock skew).
fn candidates(state: &State, p: &Principal) -> Vec<Candidate> {
    let own = Slot { record_key: principal_key(&p.tenant_id, &p.app_id), key_id: None };
    let mut out: Vec<Candidate> =
        Candidate::of(own, p.secret_hash.as_ref(), p.secret_sha256.as_ref()).into_iter().collect();
    let now = state.now();
    if let Some(a) = application(state, &p.app_id) {
        let record_key = applications_key_of(&a.tenant_id, &a.app_id);
        out.extend(a.password_credentials.iter().filter(|c| c.start <= now + 300 && now < c.end).filter_map(|c| {
            let slot = Slot { record_key: record_key.clone(), key_id: Some(c.key_id.clone()) };
            Candidate::of(slot, c.secret_hash.as_ref(), c.secret_sha256.as_ref())
        }));
    }
    out
}

/// Replaces the SHA-256 hash `old` that `secret` matched with an Argon2id hash of it, if the
/// record still holds `old` (a secret removed or rehashed meanwhile is left alone). A failed write
/// is logged and the sign-in still succeeds: the next one tries again.
fn rehash(engine: &Engine, p: &Principal, slot: &Slot, old: &str, secret: &str) {
    let new = secrets::hash(secret);
    let written = engine.write(|state, batch| -> crate::error::Result<bool> {
        let record = match state.get(&slot.record_key).cloned() {
            Some(Record::Principal(mut q)) if slot.key_id.is_none() && q.secret_sha256.as_deref() == Some(old) => {
                q.secret_sha256 = None;
                q.secret_hash = Some(new.clone());
                Record::Principal(q)
            }
            Some(Record::Application(mut a)) => {
                let held = a.password_credentials.iter_mut().find(|c| {
                    slot.key_id.as_deref() == Some(c.key_id.as_str()) && c.secret_sha256.as_deref() == Some(old)
                });
                let Some(c) = held else { return Ok(false) };
                c.secret_sha256 = None;
                c.secret_hash = Some(new.clone());
                Record::Application(a)
            }
            _ => return Ok(false),
        };
        batch.put(&slot.record_key, record);
        Ok(true)
    });
    match written {
        Ok(true) => {
            secrets::remember(&new, secret);
            tracing::info!(app_id = %p.app_id, "client secret rehashed from SHA-256 to Argon2id");
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(
            app_id = %p.app_id,
            error = %e,
            "could not store the rehashed client secret; it stays SHA-256 until its next sign-in"
        ),
    }
}

/// Checks a user's name and password (the resource-owner password flow, `az login -u -p`).
/// Entra's `invalid_grant` errors: AADSTS50034 for a name it does not know, AADSTS50126 for a
/// wrong password, AADSTS50057 for a disabled account. The password is checked outside the
/// state's lock (it is deliberately slow to check).
pub fn authenticate_user(
    engine: &Engine,
    tenant: &str,
    username: &str,
    password: &str,
) -> Result<Principal, OAuthError> {
    let invalid = |code: u32, text: String| OAuthError {
        status: 400,
        error: "invalid_grant",
        description: format!("AADSTS{code}: {text}"),
        codes: vec![code],
    };
    let (named, user) = engine.read(|state| {
        let named = resolve_tenant(state, tenant)?;
        let user = tenants(state)
            .into_iter()
            .filter(|t| named.as_deref().is_none_or(|n| n.eq_ignore_ascii_case(&t.tenant_id)))
            .find_map(|t| principal_in(state, &t.tenant_id, username))
            .filter(|p| p.user.is_some());
        Ok::<_, OAuthError>((named, user))
    })?;
    let Some((p, account)) = user.and_then(|p| p.user.clone().map(|a| (p, a))) else {
        let dir = named.unwrap_or_else(|| username.rsplit('@').next().unwrap_or_default().to_string());
        return Err(invalid(
            50034,
            format!(
                "The user account {{EUII Hidden}} does not exist in the {dir} directory. To sign into this application, the account must be added to the directory."
            ),
        ));
    };
    if !vaultlink_crypto::verify_password(password, &account.password_hash) {
        return Err(invalid(50126, "Error validating credentials due to invalid username or password.".into()));
    }
    if !account.account_enabled {
        return Err(invalid(50057, "The user account is disabled.".into()));
    }
    Ok(p)
}
