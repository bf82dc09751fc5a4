//! For `doctor --principal`: which of the seed's steps a principal may do on a vault (manage it,
//! connect a private endpoint to it, approve connections, read its secrets), each decided by the
//! same checks Resource Manager and the data plane apply, and the role that would grant it.

use serde::Serialize;

use crate::identity::Caller;
use crate::model::Vault;
use crate::{State, kv, rbac};

/// One step of the seed and whether the principal may take it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    pub step: &'static str,
    /// The Azure action (or data action) it needs, on the vault.
    pub action: &'static str,
    pub allowed: bool,
    /// The command that grants it (None when allowed).
    pub fix: Option<String>,
}

const APPROVAL: &str = "Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action";

pub fn of(state: &State, vault: &Vault, p: &Caller) -> Vec<Step> {
    let grants = rbac::grants(state, &p.object_id);
    let assign = |role: &str| {
        format!(
            "az role assignment create --assignee-object-id {} --assignee-principal-type ServicePrincipal --role \"{role}\" --scope {}",
            p.object_id, vault.id
        )
    };
    let control = |step, action, role: &str| {
        let allowed = rbac::permits(&grants, action, &vault.id);
        Step { step, action, allowed, fix: (!allowed).then(|| assign(role)) }
    };
    let read = kv::Permission {
        data_action: "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        policy: ("secrets", "get"),
    };
    let can_read = kv::authorize(state, vault, p, read, None).is_ok();
    vec![
        control(
            "manage the vault (firewall, public access)",
            "Microsoft.KeyVault/vaults/write",
            "Key Vault Contributor",
        ),
        control("create an automatically approved private endpoint to the vault", APPROVAL, "Key Vault Contributor"),
        control("approve or reject private endpoint connections", APPROVAL, "Key Vault Contributor"),
        control(
            "assign roles on the vault",
            "Microsoft.Authorization/roleAssignments/write",
            "Role Based Access Control Administrator",
        ),
        Step {
            step: "read secrets",
            action: read.data_action,
            allowed: can_read,
            fix: (!can_read).then(|| {
                if vault.enable_rbac_authorization {
                    assign("Key Vault Secrets User")
                } else {
                    format!(
                        "az keyvault set-policy --name {} --object-id {} --secret-permissions get list",
                        vault.name, p.object_id
                    )
                }
            }),
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
