//! The one gate of every data-plane operation. `admit` resolves, in one snapshot of the state,
//! the vault, the caller its token names, the network decision and the authorization of one
//! `Operation`, spends the operation's throttling budget, and returns an `Admitted`: the proof
//! every data-plane operation of the core takes in place of the vault it acts on. Only `admit`
//! makes one (outside tests), so an operation that was not admitted does not compile. A write
//! runs `admit` inside its `Engine::write` closure, so it is authorized on the state it changes.

use std::ops::Deref;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::operation::{Operation, Permission};
use super::throttle::Throttle;
use crate::error::{Error, Kind};
use crate::firewall::{self, NetworkContext, caller_string};
use crate::identity::{self, Caller};
use crate::model::Vault;
use crate::{State, keyvault, rbac};

/// What a request brings to the gate.
#[derive(Clone, Copy)]
pub struct Ask<'r> {
    /// The vault's name, from the request's host.
    pub vault: &'r str,
    /// The claims of the request's token, whose signature and lifetime the surface checked.
    pub claims: &'r Map<String, Value>,
    /// Where the caller sits and which path it took.
    pub context: &'r NetworkContext,
    pub api_version: Option<&'r str>,
    pub throttle: &'r Throttle,
}

/// Proof that one operation was admitted on one vault, for one caller. It derefs to the vault.
#[derive(Debug, Clone)]
pub struct Admitted {
    vault: Arc<Vault>,
    caller: Caller,
    operation: Operation,
}

impl Deref for Admitted {
    type Target = Vault;
    fn deref(&self) -> &Vault {
        &self.vault
    }
}

impl Admitted {
    pub fn caller(&self) -> &Caller {
        &self.caller
    }
    pub fn operation(&self) -> Operation {
        self.operation
    }
    /// A proof made without the gate, for the core's own tests and the shared test world.
    #[cfg(any(test, feature = "testing"))]
    pub fn assume(vault: Vault) -> Self {
        Self {
            vault: Arc::new(vault),
            caller: crate::testing::developer(),
            operation: Operation::Secret(super::operation::SecretOp::Get),
        }
    }
}

/// Admits `operation` (on `object`, when the operation is scoped to the object it names), or
/// gives Key Vault's refusal: 401 for a token of another audience or tenant, 400 for a bad
/// api-version, 403 from the network or the authorization, 429 past the budget, in that order.
/// (Azure's order between 403 and 429 is not documented; budget last is vaultlink's choice.)
pub fn admit(state: &State, ask: &Ask<'_>, operation: Operation, object: Option<&str>) -> Result<Admitted, Error> {
    let (vault, caller) = gate(state, ask)?;
    authorize(state, &vault, &caller, operation, object)?;
    // Only what the vault would serve counts against its budget: a caller the firewall or the
    // authorization refuses cannot use up the owner's requests (docs/behaviour.md).
    ask.throttle.admit(&vault.id, operation.class())?;
    Ok(Admitted { vault, caller, operation })
}

/// Whether the vault's permission model lets `caller` do `operation` (on `object`, when the
/// operation is scoped to the object it names): `admit`'s last step, and the doctor's question.
pub fn authorize(
    state: &State,
    vault: &Vault,
    caller: &Caller,
    operation: Operation,
    object: Option<&str>,
) -> Result<(), Error> {
    let object = object.filter(|_| operation.object_scoped());
    permits(state, vault, caller, operation.permission(), object).or_else(|refused| match operation.alternative() {
        Some(alt) => permits(state, vault, caller, alt, object).map_err(|_| refused),
        None => Err(refused),
    })
}

/// The answer to a request that is no operation: the gate's refusal if it has one (so an
/// unauthenticated caller learns nothing of the routes), else `BadParameter` naming it.
pub fn refuse_unserved(state: &State, ask: &Ask<'_>, method: &str, path: &str) -> Error {
    match gate(state, ask) {
        Err(e) => e,
        Ok(_) => Error::bad_parameter(format!("vaultlink does not serve {method} {path}.")),
    }
}

/// Key Vault's 404 for a host that names no vault.
pub fn vault_not_found(name: &str) -> Error {
    Error::new(Kind::NotFound, "VaultNotFound", format!("The vault '{name}' does not exist."))
}

/// Everything before the authorization: the vault, the caller, its tenant, the api-version, the
/// network.
fn gate(state: &State, ask: &Ask<'_>) -> Result<(Arc<Vault>, Caller), Error> {
    let unauthorized = |m: String| Error::new(Kind::Unauthorized, "Unauthorized", m);
    let vault = keyvault::vault_by_name(state, ask.vault).cloned().ok_or_else(|| vault_not_found(ask.vault))?;
    let caller = identity::caller_from_claims(state, ask.claims, identity::VAULT_AUDIENCES).map_err(|_| {
        let aud = ask.claims.get("aud").and_then(Value::as_str).unwrap_or_default();
        unauthorized(format!("AKV10022: Invalid audience. Expected https://vault.azure.net, found: {aud}."))
    })?;
    // A token is good only for vaults of the tenant that issued it; the challenge names the
    // vault's tenant, so a client gets a token there and tries again.
    if !caller.tenant_id.eq_ignore_ascii_case(&vault.tenant_id) {
        return Err(unauthorized(format!(
            "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{t}/, https://login.microsoftonline.com/{t}/v2.0, found https://sts.windows.net/{}/.",
            caller.tenant_id,
            t = vault.tenant_id
        )));
    }
    crate::apiversion::data_plane(ask.api_version)?;
    if let Err(denied) = firewall::decide(state, &vault, ask.context, &caller) {
        crate::info_limited!(vault = %vault.name, client = %ask.context.client_address, reason = %denied.reason, "network refused the request");
        return Err(Error::new(Kind::Forbidden, "Forbidden", denied.message).with_inner(denied.inner_code));
    }
    Ok((vault, caller))
}

/// Authorizes `caller` for `perm` on the vault (object-scoped when `object` names one), as the
/// vault's permission model says. Azure's 403 otherwise.
fn permits(state: &State, vault: &Vault, caller: &Caller, perm: Permission, object: Option<&str>) -> Result<(), Error> {
    if vault.enable_rbac_authorization {
        let resource = match object {
            Some(o) => format!("{}/{}/{}", vault.id, perm.policy.0, o).to_ascii_lowercase(),
            None => vault.id.to_ascii_lowercase(),
        };
        if rbac::has_data_action(state, &caller.object_id, &resource, perm.data_action) {
            return Ok(());
        }
        return Err(Error::new(
            Kind::Forbidden,
            "Forbidden",
            format!(
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: {}\r\nAction: '{}'\r\nResource: '{resource}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: {};location={}\r\n",
                caller_string(caller),
                perm.data_action,
                vault.name,
                vault.location
            ),
        )
        .with_inner("ForbiddenByRbac"));
    }
    let (kind, wanted) = perm.policy;
    let allowed = vault.access_policies.iter().any(|p| {
        p.tenant_id.eq_ignore_ascii_case(&caller.tenant_id)
            && p.object_id.eq_ignore_ascii_case(&caller.object_id)
            && p.application_id.as_deref().is_none_or(|a| a.eq_ignore_ascii_case(&caller.app_id))
            && match kind {
                "keys" => &p.keys,
                "secrets" => &p.secrets,
                "certificates" => &p.certificates,
                _ => &p.storage,
            }
            .iter()
            .any(|x| x.eq_ignore_ascii_case(wanted) || x.eq_ignore_ascii_case("all"))
    });
    if allowed {
        return Ok(());
    }
    Err(Error::new(
        Kind::Forbidden,
        "Forbidden",
        format!(
            "The user, group or application '{}' does not have {kind} {wanted} permission on key vault '{};location={}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
            caller_string(caller),
            vault.name,
            vault.location
        ),
    )
    .with_inner("AccessDenied"))
}

#[cfg(test)]
mod tests;
