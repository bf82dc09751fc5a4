//! For `doctor --principal`: which of the seed's steps a principal may do on a vault (manage it,
//! connect a private endpoint to it, approve connections, read its secrets), each decided by the
//! same checks Resource Manager and the data plane apply, and the role that would grant it.

use serde::Serialize;

use crate::identity::Caller;
use crate::model::Vault;
use crate::{State, armops, kv, rbac};

/// One step of the seed and whether the principal may take it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    pub step: &'static str,
    /// The Azure action (or data action) it needs, on the vault.
    pub action: String,
    pub allowed: bool,
    /// The command that grants it (None when allowed).
    pub fix: Option<String>,
}

/// `az role assignment create` for one principal, role and scope.
pub(super) fn assign_role(object_id: &str, role: &str, scope: &str) -> String {
    format!(
        "az role assignment create --assignee-object-id {object_id} --assignee-principal-type ServicePrincipal --role \"{role}\" --scope {scope}"
    )
}

pub fn of(state: &State, vault: &Vault, p: &Caller) -> Vec<Step> {
    let grants = rbac::grants(state, &p.object_id);
    // Each step's action is the one Resource Manager checks for the request that takes it.
    let action_of = |method: &str, path: String, approval: bool| {
        let op = armops::operation(method, &path, None);
        op.map(|op| if approval { op.also.into_iter().next().unwrap_or(op.main) } else { op.main }.action)
            .unwrap_or_default()
    };
    let control = |step, action: String, role: &str| {
        let allowed = rbac::permits(&grants, &action, &vault.id);
        Step { step, action, allowed, fix: (!allowed).then(|| assign_role(&p.object_id, role, &vault.id)) }
    };
    let approve = || action_of("PUT", format!("{}/privateEndpointConnections/c", vault.id), true);
    let assign = action_of("PUT", format!("{}/providers/Microsoft.Authorization/roleAssignments/a", vault.id), false);
    let can_read = kv::authorize(state, vault, p, super::READ_SECRETS, None).is_ok();
    vec![
        control(
            "manage the vault (firewall, public access)",
            action_of("PUT", vault.id.clone(), false),
            "Key Vault Contributor",
        ),
        control("create an automatically approved private endpoint to the vault", approve(), "Key Vault Contributor"),
        control("approve or reject private endpoint connections", approve(), "Key Vault Contributor"),
        control("assign roles on the vault", assign, "Role Based Access Control Administrator"),
        Step {
            step: "read secrets",
            action: super::READ_SECRETS.permission().data_action.to_string(),
            allowed: can_read,
            fix: (!can_read).then(|| super::grant_secret_reads(vault, &p.object_id)),
        },
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{identity, testing};

    #[test]
    fn the_developer_may_do_every_step_and_a_new_principal_none() {
        let e = testing::world();
        let vault = testing::vault(&e, "kv1", json!({"enableRbacAuthorization": true}));
        let (p, _) = identity::add_principal(&e, "nobody").unwrap();
        let nobody = Caller { tenant_id: p.tenant_id, object_id: p.object_id, app_id: p.app_id };
        e.read(|s| {
            assert!(of(s, &vault, &testing::developer()).iter().all(|x| x.allowed && x.fix.is_none()));
            let steps = of(s, &vault, &nobody);
            assert!(steps.iter().all(|x| !x.allowed));
            let read = steps.iter().find(|x| x.step == "read secrets").unwrap();
            assert!(read.fix.as_deref().unwrap().contains("--role \"Key Vault Secrets User\""), "{read:?}");
        });
    }
}
