//! Directory writes: tenants and principals made by the operator (`vaultlink tenant add`,
//! `vaultlink principal add`), and users, applications, their secrets and service principals
//! made through Microsoft Graph, with Graph's rules and error codes.
//!
//! Who may write (documented in docs/behaviour.md): a tenant's Global Administrators may do
//! everything; any user may register an application (Entra's default); an application's owners
//! may add and remove its secrets and create its service principal.

use super::{
    Caller, applications_key, applications_key_of, principal_in, principal_key, principals_in, secrets, tenant,
    tenant_key,
};
use crate::engine::{Batch, Engine, State, guid};
use crate::error::{Error, Result};
use crate::model::{Application, PasswordCredential, Principal, Record, Tenant, UserAccount};

/// How long a secret lasts when the request names no end (Graph's default: two years).
pub(super) const DEFAULT_SECRET_LIFETIME_SECS: i64 = 2 * 365 * 24 * 3600;

fn denied() -> Error {
    Error::forbidden("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

fn bad(message: impl Into<String>) -> Error {
    Error::bad_request("Request_BadRequest", message)
}

fn not_found(id: &str) -> Error {
    Error::not_found(
        "Request_ResourceNotFound",
        format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

/// The caller's own principal record (its directory role, whether it is a user).
fn acting(state: &State, caller: &Caller) -> Result<Principal> {
    principal_in(state, &caller.tenant_id, &caller.object_id).ok_or_else(denied)
}

fn is_admin(state: &State, caller: &Caller) -> Result<bool> {
    Ok(super::is_directory_admin(&acting(state, caller)?))
}

/// A new client secret (with the display name it is stored under) and its stored form, made
/// before the write that stores it (an Argon2id hash takes tens of milliseconds, which the writer
/// lock should not wait for).
pub struct NewSecret {
    text: String,
    hash: String,
    display_name: Option<String>,
}

impl NewSecret {
    /// A random secret of 40 characters, Entra's shape (three, `8Q~`, then the rest), hashed.
    pub fn new(display_name: Option<String>) -> Self {
        let raw = vaultlink_crypto::b64url(&vaultlink_crypto::random_bytes(30));
        let text = format!("{}8Q~{}", &raw[..3], &raw[3..37]);
        let hash = secrets::hash(&text);
        Self { text, hash, display_name }
    }
}

/// A stored credential for `secret`; its hint is the secret's first three characters.
fn credential(secret: &NewSecret, start: i64, end: i64) -> PasswordCredential {
    PasswordCredential {
        key_id: guid(),
        display_name: secret.display_name.clone(),
        hint: secret.text[..3].to_string(),
        secret_hash: Some(secret.hash.clone()),
        secret_sha256: None,
        start,
        end,
    }
}

/// What `vaultlink tenant add` made: the tenant and its first administrator (a service principal
/// with Global Administrator), with that principal's secret (shown once).
pub struct AddedTenant {
    pub tenant: Tenant,
    pub admin: Principal,
    pub secret: String,
}

/// Creates a tenant named `name` (domain `{name}.onmicrosoft.com`) and its administrator.
pub fn add_tenant(engine: &Engine, name: &str) -> Result<AddedTenant> {
    let valid = !name.is_empty()
        && name.len() <= 27
        && name.chars().all(|c| c.is_ascii_alphanumeric())
        && name.starts_with(|c: char| c.is_ascii_alphabetic());
    if !valid {
        return Err(bad(format!(
            "The tenant name '{name}' is invalid: use 1 to 27 letters and digits, starting with a letter (it becomes the domain {name}.onmicrosoft.com)."
        )));
    }
    let tenant = Tenant {
        tenant_id: guid(),
        display_name: name.to_string(),
        default_domain: format!("{}.onmicrosoft.com", name.to_ascii_lowercase()),
        quota: Default::default(),
    };
    let secret = NewSecret::new(Some("vaultlink".into()));
    let admin = engine.write(|state, batch| -> Result<Principal> {
        if super::tenants(state).iter().any(|t| t.default_domain.eq_ignore_ascii_case(&tenant.default_domain)) {
            return Err(Error::conflict(
                "TenantExists",
                format!("A tenant with the domain '{}' already exists.", tenant.default_domain),
            ));
        }
        batch.put(&tenant_key(&tenant.tenant_id), Record::Tenant(tenant.clone()));
        let (_, admin) = put_application(
            state,
            batch,
            &tenant.tenant_id,
            &format!("{name}-admin"),
            "AzureADMyOrg",
            Some(&secret),
            true,
        );
        Ok(admin)
    })?;
    Ok(AddedTenant { tenant, admin, secret: secret.text })
}

/// Writes an application and its service principal in `tid`, with one secret when given.
fn put_application(
    state: &State,
    batch: &mut Batch,
    tid: &str,
    display_name: &str,
    sign_in_audience: &str,
    secret: Option<&NewSecret>,
    directory_admin: bool,
) -> (Application, Principal) {
    let t = state.now();
    let app = Application {
        object_id: guid(),
        app_id: guid(),
        tenant_id: tid.to_string(),
        display_name: display_name.to_string(),
        sign_in_audience: sign_in_audience.to_string(),
        password_credentials: secret.map(|s| credential(s, t, t + DEFAULT_SECRET_LIFETIME_SECS)).into_iter().collect(),
        owners: Vec::new(),
        created_at: t,
    };
    batch.put(&applications_key_of(tid, &app.app_id), Record::Application(Box::new(app.clone())));
    let sp = service_principal_of(&app, tid, directory_admin);
    batch.put(&principal_key(tid, &sp.app_id), Record::Principal(Box::new(sp.clone())));
    (app, sp)
}

fn service_principal_of(app: &Application, tid: &str, directory_admin: bool) -> Principal {
    Principal {
        app_id: app.app_id.clone(),
        object_id: guid(),
        tenant_id: tid.to_string(),
        display_name: app.display_name.clone(),
        secret_hash: None,
        secret_sha256: None,
        managed_identity: false,
        user: None,
        directory_admin,
    }
}

/// `vaultlink principal add`: an application and its service principal in the default tenant,
/// with a random secret, returned once.
pub fn add_principal(engine: &Engine, display_name: &str) -> Result<(Principal, String)> {
    add_principal_in(engine, crate::seed::TENANT_ID, display_name, false)
}

/// `vaultlink principal add --tenant T [--multi-tenant]`: as [`add_principal`], in tenant `tid`
/// (`AzureADMultipleOrgs` when `multi_tenant`, so other tenants may add its service principal).
pub fn add_principal_in(
    engine: &Engine,
    tid: &str,
    display_name: &str,
    multi_tenant: bool,
) -> Result<(Principal, String)> {
    let secret = NewSecret::new(Some("vaultlink".into()));
    let audience = if multi_tenant { "AzureADMultipleOrgs" } else { "AzureADMyOrg" };
    let sp = engine.write(|state, batch| -> Result<Principal> {
        if tenant(state, tid).is_none() {
            return Err(Error::not_found("TenantNotFound", format!("No tenant '{tid}'.")));
        }
        Ok(put_application(state, batch, tid, display_name, audience, Some(&secret), false).1)
    })?;
    Ok((sp, secret.text))
}

/// A user to create (`POST /users`); the password is hashed before the write (see [`NewUser::new`]).
pub struct NewUser {
    pub user_principal_name: String,
    pub display_name: String,
    pub mail_nickname: String,
    pub account_enabled: bool,
    password_hash: String,
}

impl NewUser {
    /// Checks Entra's password rule (8 to 256 characters, three of: lower case, upper case,
    /// digits, symbols) and hashes it.
    pub fn new(
        user_principal_name: &str,
        display_name: &str,
        mail_nickname: &str,
        password: &str,
        account_enabled: bool,
    ) -> Result<Self> {
        let classes = [
            password.chars().any(|c| c.is_lowercase()),
            password.chars().any(|c| c.is_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_alphanumeric()),
        ];
        let long_enough = (8..=256).contains(&password.chars().count());
        if !long_enough || classes.iter().filter(|&&c| c).count() < 3 {
            return Err(bad(
                "The specified password does not comply with password complexity requirements. Please provide a different password.",
            ));
        }
        Ok(Self {
            user_principal_name: user_principal_name.to_string(),
            display_name: display_name.to_string(),
            mail_nickname: mail_nickname.to_string(),
            account_enabled,
            password_hash: vaultlink_crypto::hash_password(password),
        })
    }
}

/// `POST /users`: a Global Administrator creates a user of its tenant, whose name ends with the
/// tenant's domain.
pub fn create_user(state: &State, batch: &mut Batch, caller: &Caller, new: NewUser) -> Result<Principal> {
    if !is_admin(state, caller)? {
        return Err(denied());
    }
    let t = tenant(state, &caller.tenant_id).ok_or_else(denied)?;
    if new.display_name.trim().is_empty() || new.display_name.len() > 256 {
        return Err(bad("Invalid value specified for property 'displayName' of resource 'User'."));
    }
    let nickname_ok = !new.mail_nickname.is_empty()
        && new.mail_nickname.len() <= 64
        && new.mail_nickname.chars().all(|c| c.is_ascii_alphanumeric() || "._-'".contains(c));
    if !nickname_ok {
        return Err(bad("Invalid value specified for property 'mailNickname' of resource 'User'."));
    }
    let (local, domain) = new.user_principal_name.rsplit_once('@').unwrap_or(("", ""));
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.');
    if !local_ok {
        return Err(bad("Invalid value specified for property 'userPrincipalName' of resource 'User'."));
    }
    if !domain.eq_ignore_ascii_case(&t.default_domain) {
        return Err(bad(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ));
    }
    if principals_in(state, &t.tenant_id).any(|p| p.app_id.eq_ignore_ascii_case(&new.user_principal_name)) {
        return Err(bad("Another object with the same value for property userPrincipalName already exists."));
    }
    let upn = format!("{local}@{}", t.default_domain);
    let user = Principal {
        app_id: upn.clone(),
        object_id: guid(),
        tenant_id: t.tenant_id.clone(),
        display_name: new.display_name,
        secret_hash: None,
        secret_sha256: None,
        managed_identity: false,
        user: Some(UserAccount {
            user_principal_name: upn,
            mail_nickname: new.mail_nickname,
            password_hash: new.password_hash,
            account_enabled: new.account_enabled,
            created_at: state.now(),
        }),
        directory_admin: false,
    };
    batch.put(&principal_key(&t.tenant_id, &user.object_id), Record::Principal(Box::new(user.clone())));
    Ok(user)
}

/// `DELETE /users/{id}`: a Global Administrator removes a user (not itself).
pub fn delete_user(state: &State, batch: &mut Batch, caller: &Caller, id: &str) -> Result<()> {
    let user = principal_in(state, &caller.tenant_id, id).filter(|p| p.user.is_some()).ok_or_else(|| not_found(id))?;
    if !is_admin(state, caller)? || user.object_id.eq_ignore_ascii_case(&caller.object_id) {
        return Err(denied());
    }
    batch.delete(&principal_key(&user.tenant_id, &user.object_id));
    Ok(())
}

/// `POST /applications`: any user, or a Global Administrator, registers an application in its
/// tenant and becomes its owner.
pub fn create_application(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    display_name: &str,
    sign_in_audience: Option<&str>,
) -> Result<Application> {
    let me = acting(state, caller)?;
    if me.user.is_none() && !super::is_directory_admin(&me) {
        return Err(denied());
    }
    if display_name.trim().is_empty() || display_name.len() > 256 {
        return Err(bad("Invalid value specified for property 'displayName' of resource 'Application'."));
    }
    let audience = sign_in_audience.unwrap_or("AzureADMyOrg");
    if !["AzureADMyOrg", "AzureADMultipleOrgs"].contains(&audience) {
        return Err(bad("Invalid value specified for property 'signInAudience' of resource 'Application'."));
    }
    let app = Application {
        object_id: guid(),
        app_id: guid(),
        tenant_id: caller.tenant_id.clone(),
        display_name: display_name.to_string(),
        sign_in_audience: audience.to_string(),
        password_credentials: Vec::new(),
        owners: vec![caller.object_id.clone()],
        created_at: state.now(),
    };
    batch.put(
        &format!("{}/{}", applications_key(&app.tenant_id), app.app_id),
        Record::Application(Box::new(app.clone())),
    );
    Ok(app)
}

/// An application of the caller's tenant by object id or app id, with the right to change it.
fn owned_application(state: &State, caller: &Caller, id: &str) -> Result<Application> {
    let app = super::applications_in(state, &caller.tenant_id)
        .find(|a| a.object_id.eq_ignore_ascii_case(id) || a.app_id.eq_ignore_ascii_case(id))
        .cloned()
        .ok_or_else(|| not_found(id))?;
    if !is_admin(state, caller)? && !app.owners.iter().any(|o| o.eq_ignore_ascii_case(&caller.object_id)) {
        return Err(denied());
    }
    Ok(app)
}

fn put_app(batch: &mut Batch, app: &Application) {
    batch.put(
        &format!("{}/{}", applications_key(&app.tenant_id), app.app_id),
        Record::Application(Box::new(app.clone())),
    );
}

/// `POST /applications/{id}/addPassword`: a new secret, made (and hashed) before the write with
/// [`NewSecret::new`]; its text is returned once.
pub fn add_password(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    id: &str,
    secret: NewSecret,
    start: Option<i64>,
    end: Option<i64>,
) -> Result<(PasswordCredential, String)> {
    let mut app = owned_application(state, caller, id)?;
    let start = start.unwrap_or_else(|| state.now());
    let end = end.unwrap_or(start + DEFAULT_SECRET_LIFETIME_SECS);
    if end <= start {
        return Err(bad("Key credential end date is invalid."));
    }
    let cred = credential(&secret, start, end);
    app.password_credentials.push(cred.clone());
    put_app(batch, &app);
    Ok((cred, secret.text))
}

/// `POST /applications/{id}/removePassword` with the secret's `keyId`.
pub fn remove_password(state: &State, batch: &mut Batch, caller: &Caller, id: &str, key_id: &str) -> Result<()> {
    let mut app = owned_application(state, caller, id)?;
    let before = app.password_credentials.len();
    app.password_credentials.retain(|c| !c.key_id.eq_ignore_ascii_case(key_id));
    if app.password_credentials.len() == before {
        return Err(bad(format!("No password credential found with keyId {key_id}.")));
    }
    put_app(batch, &app);
    Ok(())
}

/// `DELETE /applications/{id}`: the application and its service principal in its own tenant.
pub fn delete_application(state: &State, batch: &mut Batch, caller: &Caller, id: &str) -> Result<()> {
    let app = owned_application(state, caller, id)?;
    batch.delete(&format!("{}/{}", applications_key(&app.tenant_id), app.app_id));
    batch.delete(&principal_key(&app.tenant_id, &app.app_id));
    Ok(())
}

/// `POST /servicePrincipals` with `appId`: the application's owner (or a Global Administrator)
/// in the application's own tenant; a Global Administrator of another tenant for a multi-tenant
/// application (Entra's admin consent).
pub fn create_service_principal(state: &State, batch: &mut Batch, caller: &Caller, app_id: &str) -> Result<Principal> {
    let Some(app) = super::application(state, app_id) else {
        return Err(bad(format!(
            "The appId '{app_id}' of the service principal does not reference a valid application object."
        )));
    };
    let home = app.tenant_id.eq_ignore_ascii_case(&caller.tenant_id);
    if home {
        owned_application(state, caller, &app.object_id)?;
    } else if app.sign_in_audience != "AzureADMultipleOrgs" {
        return Err(bad(
            "When using this permission, the backing application of the service principal being created must in the local tenant",
        ));
    } else if !is_admin(state, caller)? {
        return Err(denied());
    }
    if principal_in(state, &caller.tenant_id, &app.app_id).is_some() {
        return Err(Error::conflict(
            "Request_MultipleObjectsWithSameKeyValue",
            format!(
                "The service principal cannot be created, updated, or restored because the service principal name {} is already in use.",
                app.app_id
            ),
        ));
    }
    let sp = service_principal_of(&app, &caller.tenant_id, false);
    batch.put(&principal_key(&caller.tenant_id, &sp.app_id), Record::Principal(Box::new(sp.clone())));
    Ok(sp)
}

/// `DELETE /servicePrincipals/{id}`: a Global Administrator, or the application's owner.
pub fn delete_service_principal(state: &State, batch: &mut Batch, caller: &Caller, id: &str) -> Result<()> {
    let sp = principal_in(state, &caller.tenant_id, id)
        .filter(|p| p.user.is_none() && !p.managed_identity)
        .ok_or_else(|| not_found(id))?;
    let owner = super::application(state, &sp.app_id)
        .is_some_and(|a| a.owners.iter().any(|o| o.eq_ignore_ascii_case(&caller.object_id)));
    if !(is_admin(state, caller)? || owner) || sp.object_id.eq_ignore_ascii_case(&caller.object_id) {
        return Err(denied());
    }
    batch.delete(&principal_key(&sp.tenant_id, &sp.app_id));
    Ok(())
}
