//! Entra ID: the tenants, their principals (service principals, managed identities, users) and
//! applications; who may sign in (`signin`), what a token says and whom it names (`claims`), and
//! the directory writes Microsoft Graph serves (`directory`).
//!
//! Signing is `vaultlink_crypto::TokenSigner`'s job. Keys: a tenant at `/tenants/{tid}`, a
//! service principal or managed identity at `/tenants/{tid}/principals/{appId}`, a user at
//! `/tenants/{tid}/principals/{objectId}`, an application at `/tenants/{home}/applications/{appId}`.

mod claims;
mod directory;
mod secrets;
mod signin;
#[cfg(test)]
mod tests;

pub use claims::{
    ARM_AUDIENCES, GRAPH_AUDIENCES, TOKEN_LIFETIME_SECS, VAULT_AUDIENCE, VAULT_AUDIENCES, access_token_claims,
    caller_from_claims, id_token_claims, resource_from_scope, token_claims, user_access_token_claims,
};
pub use directory::{
    AddedTenant, NewSecret, NewUser, add_password, add_principal, add_principal_in, add_tenant, create_application,
    create_service_principal, create_user, delete_application, delete_service_principal, delete_user, remove_password,
};
pub use signin::{authenticate, authenticate_user, resolve_tenant, served_resource};

use crate::engine::{Batch, State};
use crate::model::{Application, Principal, Record, Tenant};
use crate::seed;

/// Who is calling, taken from a validated token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub object_id: String,
    /// The application id; for a user, its user principal name (as ARM's refusals name a user).
    pub app_id: String,
}

impl Caller {
    /// The caller a principal is when it signs in to its own tenant.
    pub fn of(p: &Principal) -> Self {
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

pub(crate) fn tenant_key(tid: &str) -> String {
    format!("/tenants/{}", tid.to_ascii_lowercase())
}

fn principals_key(tid: &str) -> String {
    format!("{}/principals", tenant_key(tid))
}

/// A service principal's key (by app id), or a user's (by object id).
pub(crate) fn principal_key(tid: &str, id: &str) -> String {
    format!("{}/{}", principals_key(tid), id.to_ascii_lowercase())
}

fn applications_key(tid: &str) -> String {
    format!("{}/applications", tenant_key(tid))
}

fn applications_key_of(tid: &str, app_id: &str) -> String {
    format!("{}/{}", applications_key(tid), app_id)
}

/// The seeded developer's secret hashed once per process: the secret is published (`seed.rs`), so
/// one salt per process costs nothing, and every fresh engine (each test's) need not pay a hash.
fn developer_secret_hash() -> String {
    static HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| secrets::hash(seed::DEV_CLIENT_SECRET));
    HASH.clone()
}

/// Seeds the default tenant, the developer principal (its Global Administrator) and the
/// managed identity on a fresh instance.
pub(crate) fn seed(state: &State, batch: &mut Batch) {
    let tenant = tenant_key(seed::TENANT_ID);
    if state.get(&tenant).is_none() {
        batch.put(
            &tenant,
            Record::Tenant(Tenant {
                tenant_id: seed::TENANT_ID.into(),
                display_name: seed::TENANT_NAME.into(),
                default_domain: seed::TENANT_DOMAIN.into(),
                quota: Default::default(),
            }),
        );
    }
    for (app, object, name, secret, mi) in [
        (seed::DEV_CLIENT_ID, seed::DEV_OBJECT_ID, "vaultlink-developer", Some(seed::DEV_CLIENT_SECRET), false),
        (seed::MI_CLIENT_ID, seed::MI_OBJECT_ID, "vaultlink-managed-identity", None, true),
    ] {
        let key = principal_key(seed::TENANT_ID, app);
        if state.get(&key).is_none() {
            batch.put(
                &key,
                Record::Principal(Box::new(Principal {
                    app_id: app.into(),
                    object_id: object.into(),
                    tenant_id: seed::TENANT_ID.into(),
                    display_name: name.into(),
                    secret_hash: secret.map(|_| developer_secret_hash()),
                    secret_sha256: None,
                    managed_identity: mi,
                    user: None,
                    directory_admin: !mi,
                })),
            );
        }
    }
}

/// Whether the principal holds its directory's Global Administrator role. The seeded developer
/// does, also in data directories seeded before the role was recorded.
pub fn is_directory_admin(p: &Principal) -> bool {
    p.directory_admin || p.object_id.eq_ignore_ascii_case(seed::DEV_OBJECT_ID)
}

/// Every tenant.
pub fn tenants(state: &State) -> Vec<Tenant> {
    state
        .of_kind(crate::model::RecordKind::Tenant)
        .filter_map(|r| match r {
            Record::Tenant(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// A tenant by id.
pub fn tenant(state: &State, tid: &str) -> Option<Tenant> {
    match state.get(&tenant_key(tid)) {
        Some(Record::Tenant(t)) => Some(t.clone()),
        _ => None,
    }
}

/// The tenant an operator names: by its id, its default domain or its display name (any case);
/// unlike a token URL's (`resolve_tenant`), an unknown name is no tenant.
pub fn tenant_named(state: &State, name: &str) -> Option<Tenant> {
    tenants(state)
        .into_iter()
        .find(|t| [&t.tenant_id, &t.default_domain, &t.display_name].iter().any(|n| n.eq_ignore_ascii_case(name)))
}

/// The principals (service principals, managed identities and users) of one tenant.
pub fn principals_in<'a>(state: &'a State, tid: &str) -> impl Iterator<Item = &'a Principal> + 'a {
    state.descendants(&principals_key(tid)).filter_map(|(_, r)| match r {
        Record::Principal(p) => Some(&**p),
        _ => None,
    })
}

/// Every principal of every tenant.
pub fn principals(state: &State) -> Vec<Principal> {
    state
        .of_kind(crate::model::RecordKind::Principal)
        .filter_map(|r| match r {
            Record::Principal(p) => Some((**p).clone()),
            _ => None,
        })
        .collect()
}

/// A principal of one tenant by object id, application id or (for a user) sign-in name.
pub fn principal_in(state: &State, tid: &str, id: &str) -> Option<Principal> {
    if let Some(Record::Principal(p)) = state.get(&principal_key(tid, id)) {
        return Some((**p).clone());
    }
    principals_in(state, tid)
        .find(|p| p.object_id.eq_ignore_ascii_case(id) || p.app_id.eq_ignore_ascii_case(id))
        .cloned()
}

/// Looks a principal up in any tenant (the default tenant first) by application id, object id
/// or sign-in name: what `vaultlink doctor --principal` and the control API accept.
pub fn principal(state: &State, id: &str) -> Option<Principal> {
    principal_in(state, seed::TENANT_ID, id).or_else(|| {
        principals(state)
            .into_iter()
            .find(|p| p.object_id.eq_ignore_ascii_case(id) || p.app_id.eq_ignore_ascii_case(id))
    })
}

/// The applications registered in one tenant.
pub fn applications_in<'a>(state: &'a State, tid: &str) -> impl Iterator<Item = &'a Application> + 'a {
    state.descendants(&applications_key(tid)).filter_map(|(_, r)| match r {
        Record::Application(a) => Some(&**a),
        _ => None,
    })
}

/// An application by its app id, in whichever tenant it is registered.
pub fn application(state: &State, app_id: &str) -> Option<Application> {
    state.of_kind(crate::model::RecordKind::Application).find_map(|r| match r {
        Record::Application(a) if a.app_id.eq_ignore_ascii_case(app_id) => Some((**a).clone()),
        _ => None,
    })
}

/// The tenants a caller can reach (`GET /tenants`): a user's own; for an application, every
/// tenant that holds a service principal of it.
pub fn tenants_of(state: &State, caller: &Caller) -> Vec<Tenant> {
    tenants(state)
        .into_iter()
        .filter(|t| {
            t.tenant_id.eq_ignore_ascii_case(&caller.tenant_id)
                || matches!(state.get(&principal_key(&t.tenant_id, &caller.app_id)), Some(Record::Principal(p)) if p.user.is_none())
        })
        .collect()
}

/// The tenant of the subscription a scope (or resource id) lies in.
pub fn tenant_of(state: &State, scope: &str) -> Option<String> {
    let mut segs = scope.trim_start_matches('/').split('/');
    let sub = match (segs.next(), segs.next()) {
        (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") => id,
        _ => return None,
    };
    match state.get(&crate::model::Subscription::key(sub)) {
        Some(Record::Subscription(s)) => Some(s.tenant_id.clone()),
        _ => None,
    }
}
