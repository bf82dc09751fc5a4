//! Azure RBAC: built-in role definitions (Key Vault's and the general ones), role assignments at
//! any scope, and the data-action check the Key Vault data plane makes.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::armops::{ArmOperation, Check, Target};
use crate::engine::{Batch, State, rfc3339};
use crate::error::{Error, Result};
use crate::identity::{self, Caller};
use crate::model::{CustomRole, Record, RoleAssignment};
use crate::seed;

/// A built-in role (keyvault-rbac.md §1).
#[derive(Debug)]
pub struct RoleDefinition {
    pub name: &'static str,
    pub role_name: &'static str,
    pub description: &'static str,
    pub actions: &'static [&'static str],
    pub not_actions: &'static [&'static str],
    pub data_actions: &'static [&'static str],
}

const KV_MGMT_READ: &[&str] = &[
    "Microsoft.Authorization/*/read",
    "Microsoft.Insights/alertRules/*",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Support/*",
    "Microsoft.KeyVault/checkNameAvailability/read",
    "Microsoft.KeyVault/deletedVaults/read",
    "Microsoft.KeyVault/locations/*/read",
    "Microsoft.KeyVault/vaults/*/read",
    "Microsoft.KeyVault/operations/read",
];

pub const KEY_VAULT_ADMINISTRATOR: &str = "00482a5a-887f-4fb3-b363-3b7fe8e74483";
pub const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

pub const ROLES: &[RoleDefinition] = &[
    RoleDefinition {
        name: KEY_VAULT_ADMINISTRATOR,
        role_name: "Key Vault Administrator",
        description: "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        actions: KV_MGMT_READ,
        not_actions: &[],
        data_actions: &["Microsoft.KeyVault/vaults/*"],
    },
    RoleDefinition {
        name: "a4417e6f-fecd-4de8-b567-7b0420556985",
        role_name: "Key Vault Certificates Officer",
        description: "Perform any action on the certificates of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        actions: KV_MGMT_READ,
        not_actions: &[],
        data_actions: &[
            "Microsoft.KeyVault/vaults/certificatecas/*",
            "Microsoft.KeyVault/vaults/certificates/*",
            "Microsoft.KeyVault/vaults/certificatecontacts/write",
        ],
    },
    RoleDefinition {
        name: "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
        role_name: "Key Vault Certificate User",
        description: "Read certificate contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        actions: &[],
        not_actions: &[],
        data_actions: &[
            "Microsoft.KeyVault/vaults/certificates/read",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            "Microsoft.KeyVault/vaults/keys/read",
        ],
    },
    RoleDefinition {
        name: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
        role_name: "Key Vault Crypto Officer",
        description: "Perform any action on the keys of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        actions: KV_MGMT_READ,
        not_actions: &[],
        data_actions: &["Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/keyrotationpolicies/*"],
    },
    RoleDefinition {
        name: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
        role_name: "Key Vault Crypto Service Encryption User",
        description: "Read metadata of keys and perform wrap/unwrap operations. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        actions: &[
            "Microsoft.EventGrid/eventSubscriptions/write",
            "Microsoft.EventGrid/eventSubscriptions/read",
            "Microsoft.EventGrid/eventSubscriptions/delete",
        ],
        not_actions: &[],
        data_actions: &[
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
        ],
    },
    RoleDefinition {
        name: "08bbd89e-9f13-488c-ac41-acfcb10c90ab",
        role_name: "Key Vault Crypto Service Release User",
        description: "Release keys. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        actions: &[],
        not_actions: &[],
        data_actions: &["Microsoft.KeyVault/vaults/keys/release/action"],
    },
    RoleDefinition {
        name: "12338af0-0e69-4776-bea7-57ae8d297424",
        role_name: "Key Vault Crypto User",
        description: "Perform cryptographic operations using keys. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        actions: &[],
        not_actions: &[],
        data_actions: &[
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/update/action",
            "Microsoft.KeyVault/vaults/keys/backup/action",
            "Microsoft.KeyVault/vaults/keys/encrypt/action",
            "Microsoft.KeyVault/vaults/keys/decrypt/action",
            "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
            "Microsoft.KeyVault/vaults/keys/sign/action",
            "Microsoft.KeyVault/vaults/keys/verify/action",
        ],
    },
    RoleDefinition {
        name: "8b54135c-b56d-4d72-a534-26097cfdc8d8",
        role_name: "Key Vault Data Access Administrator",
        description: "Manage access to Azure Key Vault by adding or removing role assignments for the Key Vault Administrator, Key Vault Certificates Officer, Key Vault Crypto Officer, Key Vault Crypto Service Encryption User, Key Vault Crypto User, Key Vault Reader, Key Vault Secrets Officer, or Key Vault Secrets User roles. Includes an ABAC condition to constrain role assignments.",
        actions: &[
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Management/managementGroups/read",
            "Microsoft.Support/*",
            "Microsoft.KeyVault/vaults/*/read",
        ],
        not_actions: &[],
        data_actions: &[],
    },
    RoleDefinition {
        name: "21090545-7ca7-4776-b22c-e363652d74d2",
        role_name: "Key Vault Reader",
        description: "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values such as secret contents or key material. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        actions: KV_MGMT_READ,
        not_actions: &[],
        data_actions: &["Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
    },
    RoleDefinition {
        name: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        role_name: "Key Vault Secrets Officer",
        description: "Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        actions: KV_MGMT_READ,
        not_actions: &[],
        data_actions: &["Microsoft.KeyVault/vaults/secrets/*"],
    },
    RoleDefinition {
        name: "4633458b-17de-408a-b874-0445c86b69e6",
        role_name: "Key Vault Secrets User",
        description: "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        actions: &[],
        not_actions: &[],
        data_actions: &[
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ],
    },
    RoleDefinition {
        name: "f25e0fa2-a7c8-4377-a976-54943a77a395",
        role_name: "Key Vault Contributor",
        description: "Lets you manage key vaults, but not access to them.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.KeyVault/*",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ],
        not_actions: &[
            "Microsoft.KeyVault/locations/deletedVaults/purge/action",
            "Microsoft.KeyVault/hsmPools/*",
            "Microsoft.KeyVault/managedHsms/*",
        ],
        data_actions: &[],
    },
    RoleDefinition {
        name: OWNER,
        role_name: "Owner",
        description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        actions: &["*"],
        not_actions: &[],
        data_actions: &[],
    },
    RoleDefinition {
        name: "b24988ac-6180-42a0-ab88-20f7382dd24c",
        role_name: "Contributor",
        description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
        actions: &["*"],
        not_actions: &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ],
        data_actions: &[],
    },
    RoleDefinition {
        name: "4d97b98b-1d4f-4787-a291-c67834d212e7",
        role_name: "Network Contributor",
        description: "Lets you manage networks, but not access to them.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Network/*",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ],
        not_actions: &[],
        data_actions: &[],
    },
    RoleDefinition {
        name: "b12aa53e-6015-4669-85d0-8515ebb3ae7f",
        role_name: "Private DNS Zone Contributor",
        description: "Lets you manage private DNS zone resources, but not the virtual networks they are linked to.",
        actions: &[
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
            "Microsoft.Authorization/*/read",
            "Microsoft.Network/privateDnsZones/*",
            "Microsoft.Network/privateDnsOperationResults/*",
            "Microsoft.Network/privateDnsOperationStatuses/*",
            "Microsoft.Network/virtualNetworks/read",
            "Microsoft.Network/virtualNetworks/join/action",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
        ],
        not_actions: &[],
        data_actions: &[],
    },
    RoleDefinition {
        name: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        role_name: "Role Based Access Control Administrator",
        description: "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.",
        actions: &[
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "*/read",
            "Microsoft.Support/*",
        ],
        not_actions: &[],
        data_actions: &[],
    },
    RoleDefinition {
        name: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        role_name: "Reader",
        description: "View all resources, but does not allow you to make any changes.",
        actions: &["*/read"],
        not_actions: &[],
        data_actions: &[],
    },
    RoleDefinition {
        name: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        role_name: "User Access Administrator",
        description: "Lets you manage user access to Azure resources.",
        actions: &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        not_actions: &[],
        data_actions: &[],
    },
];

pub mod custom;

pub const ASSIGNMENT_TYPE: &str = "Microsoft.Authorization/roleAssignments";
pub const DEFINITION_TYPE: &str = "Microsoft.Authorization/roleDefinitions";

pub fn role(name_or_id: &str) -> Option<&'static RoleDefinition> {
    let guid = name_or_id.rsplit('/').next().unwrap_or(name_or_id);
    ROLES.iter().find(|r| r.name.eq_ignore_ascii_case(guid))
}

/// A role as the checks read it: built in, or a custom role of the tenant.
#[derive(Debug, Clone)]
pub enum Role {
    BuiltIn(&'static RoleDefinition),
    Custom(std::sync::Arc<CustomRole>),
}

impl Role {
    /// Its GUID.
    pub fn name(&self) -> &str {
        match self {
            Role::BuiltIn(r) => r.name,
            Role::Custom(r) => &r.name,
        }
    }

    /// Whether the role allows a control-plane action: some `actions` pattern matches and none of
    /// its `notActions` does (they subtract from this role only; another role may still grant it).
    fn allows(&self, action: &str) -> bool {
        fn go<S: AsRef<str>>(yes: &[S], no: &[S], action: &str) -> bool {
            yes.iter().any(|p| action_matches(p.as_ref(), action))
                && !no.iter().any(|p| action_matches(p.as_ref(), action))
        }
        match self {
            Role::BuiltIn(r) => go(r.actions, r.not_actions, action),
            Role::Custom(r) => go(&r.actions, &r.not_actions, action),
        }
    }

    fn allows_data(&self, data_action: &str) -> bool {
        match self {
            Role::BuiltIn(r) => r.data_actions.iter().any(|p| action_matches(p, data_action)),
            Role::Custom(r) => {
                r.data_actions.iter().any(|p| action_matches(p, data_action))
                    && !r.not_data_actions.iter().any(|p| action_matches(p, data_action))
            }
        }
    }
}

/// A built-in role, else a custom role of the tenant, by GUID or role definition id.
pub fn role_in(state: &State, name_or_id: &str) -> Option<Role> {
    if let Some(r) = role(name_or_id) {
        return Some(Role::BuiltIn(r));
    }
    let guid = name_or_id.rsplit('/').next().unwrap_or(name_or_id);
    custom::get(state, guid).map(|r| Role::Custom(std::sync::Arc::new(r.clone())))
}

/// `*` matches any run of characters (segments included); comparison ignores case.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match p.split_first() {
            None => a.is_empty(),
            Some((b'*', rest)) => (0..=a.len()).any(|i| go(rest, &a[i..])),
            Some((c, rest)) => a.split_first().is_some_and(|(x, ar)| x.eq_ignore_ascii_case(c) && go(rest, ar)),
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// True when `scope` is `resource` or one of its ancestors (segment-aware, case-insensitive).
pub fn scope_covers(scope: &str, resource: &str) -> bool {
    let s = scope.trim_end_matches('/');
    s.is_empty()
        || resource.get(..s.len()).is_some_and(|head| head.eq_ignore_ascii_case(s))
            && matches!(resource.as_bytes().get(s.len()), None | Some(b'/'))
}

fn assignment_id(scope: &str, name: &str) -> String {
    format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", scope.trim_end_matches('/'))
}

/// Seeds the developer principal as Owner and Key Vault Administrator of the seeded subscription.
pub(crate) fn seed(state: &State, batch: &mut Batch) {
    let scope = format!("/subscriptions/{}", seed::SUBSCRIPTION_ID);
    for (name, role) in [
        ("5e1d0a6c-0000-4000-8000-000000000001", OWNER),
        ("5e1d0a6c-0000-4000-8000-000000000002", KEY_VAULT_ADMINISTRATOR),
    ] {
        if state.get(&assignment_id(&scope, name)).is_none() {
            assign(
                state,
                batch,
                &scope,
                name,
                role,
                seed::DEV_OBJECT_ID,
                "Seeded by vaultlink for the developer principal.",
            );
        }
    }
}

/// Writes an assignment of a built-in role to a service principal, made by vaultlink itself (the
/// seed, `vaultlink subscription add --owner`).
pub(crate) fn assign(
    state: &State,
    batch: &mut Batch,
    scope: &str,
    name: &str,
    role: &str,
    principal_id: &str,
    description: &str,
) {
    let id = assignment_id(scope, name);
    batch.put(
        &id,
        Record::RoleAssignment(Box::new(RoleAssignment {
            id: id.clone(),
            name: name.into(),
            scope: scope.into(),
            role_definition_name: role.into(),
            principal_id: principal_id.into(),
            principal_type: "ServicePrincipal".into(),
            description: Some(description.into()),
            created_on: state.now(),
            created_by: "vaultlink".into(),
        })),
    );
}

pub fn all_assignments(state: &State) -> impl Iterator<Item = &RoleAssignment> {
    state.of_kind(crate::model::RecordKind::RoleAssignment).filter_map(|r| match r {
        Record::RoleAssignment(a) => Some(&**a),
        _ => None,
    })
}

/// Whether the principal holds `data_action` on `resource` through any assignment at or above it.
pub fn has_data_action(state: &State, principal_object_id: &str, resource: &str, data_action: &str) -> bool {
    all_assignments(state)
        .filter(|a| a.principal_id.eq_ignore_ascii_case(principal_object_id) && scope_covers(&a.scope, resource))
        .filter_map(|a| role_in(state, &a.role_definition_name))
        .any(|r| r.allows_data(data_action))
}

/// A role a principal holds at a scope: what the control-plane check reads.
#[derive(Debug, Clone)]
pub struct Grant {
    pub scope: String,
    pub role: Role,
}

/// The principal's grants (its role assignments with their definitions).
pub fn grants(state: &State, principal_object_id: &str) -> Vec<Grant> {
    all_assignments(state)
        .filter(|a| a.principal_id.eq_ignore_ascii_case(principal_object_id))
        .filter_map(|a| Some(Grant { scope: a.scope.clone(), role: role_in(state, &a.role_definition_name)? }))
        .collect()
}

/// Whether the grants allow `action` over `scope` (a grant at the scope or above it).
pub fn permits(grants: &[Grant], action: &str, scope: &str) -> bool {
    grants.iter().any(|g| scope_covers(&g.scope, scope) && g.role.allows(action))
}

/// Whether some grant lies strictly below `scope` (a list over the scope then shows the items
/// the caller may read, each checked with its own type's read action, as ARM filters lists).
fn grant_below(grants: &[Grant], scope: &str) -> bool {
    grants.iter().any(|g| scope_covers(scope, &g.scope) && !scope_covers(&g.scope, scope))
}

/// The caller as ARM's refusals name it: a service principal by its application id.
fn client_of(caller: &Caller) -> &str {
    &caller.app_id
}

/// ARM's 403 for an action the caller may not perform.
pub fn authorization_failed(caller: &Caller, check: &Check) -> Error {
    Error::forbidden(
        "AuthorizationFailed",
        format!(
            "The client '{}' with object id '{}' does not have authorization to perform action '{}' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            client_of(caller),
            caller.object_id,
            check.action,
            check.scope
        ),
    )
}

/// ARM's 403 for a write allowed on its own resource but not on the resources its body links.
fn linked_authorization_failed(caller: &Caller, main: &Check, missing: &[&Check]) -> Error {
    let actions: Vec<&str> = missing.iter().map(|c| c.action.as_str()).collect();
    let scopes: Vec<&str> = missing.iter().map(|c| c.scope.as_str()).collect();
    Error::forbidden(
        "LinkedAuthorizationFailed",
        format!(
            "The client '{}' with object id '{}' has permission to perform action '{}' on scope '{}'; however, it does not have permission to perform action(s) '{}' on the linked scope(s) '{}' (respectively) or the linked scope(s) are invalid.",
            client_of(caller),
            caller.object_id,
            main.action,
            main.scope,
            actions.join(","),
            scopes.join(",")
        ),
    )
}

/// A caller admitted to one ARM operation: the proof the routes take. Writes check the
/// operation again inside `Engine::write` (`Admitted::recheck`), in the state they change.
#[derive(Debug, Clone)]
pub struct Admitted {
    caller: Caller,
    /// Principals of other tenants named by auxiliary tokens (`x-ms-authorization-auxiliary`),
    /// whose grants count for linked scopes in their tenants.
    auxiliary: Vec<Caller>,
    operation: Option<ArmOperation>,
    /// Set for a list the caller may not read whole: the grants that decide which items it sees.
    partial: Option<Vec<Grant>>,
}

impl std::ops::Deref for Admitted {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

/// Admits `caller` to `operation` (`None`: an operation every authenticated caller may run), or
/// refuses it with ARM's 403.
pub fn admit(state: &State, caller: Caller, operation: Option<ArmOperation>) -> Result<Admitted> {
    admit_with_auxiliary(state, caller, Vec::new(), operation)
}

/// [`admit`], with the callers of auxiliary tokens: a linked scope in another tenant than the
/// caller's is checked against the grants of the auxiliary caller from that tenant, as ARM
/// authorizes cross-tenant links (no auxiliary token for it: the check fails).
pub fn admit_with_auxiliary(
    state: &State,
    caller: Caller,
    auxiliary: Vec<Caller>,
    operation: Option<ArmOperation>,
) -> Result<Admitted> {
    let partial = match &operation {
        Some(op) => check(state, &caller, &auxiliary, op)?,
        None => None,
    };
    Ok(Admitted { caller, auxiliary, operation, partial })
}

/// The check itself: `Ok(Some(grants))` admits a list the caller may read only in part.
fn check(state: &State, caller: &Caller, auxiliary: &[Caller], op: &ArmOperation) -> Result<Option<Vec<Grant>>> {
    let grants = grants(state, &caller.object_id);
    let whole = permits(&grants, &op.main.action, &op.main.scope);
    let partial = !whole && op.target == Target::Collection && grant_below(&grants, &op.main.scope);
    if !whole && !partial {
        return Err(authorization_failed(caller, &op.main));
    }
    if let Some(missing) = op.also.iter().find(|c| !permits(&grants, &c.action, &c.scope)) {
        return Err(authorization_failed(caller, missing));
    }
    let linked_permits = |c: &Check| match identity::tenant_of(state, &c.scope) {
        Some(t) if !t.eq_ignore_ascii_case(&caller.tenant_id) => auxiliary
            .iter()
            .filter(|a| a.tenant_id.eq_ignore_ascii_case(&t))
            .any(|a| permits(&self::grants(state, &a.object_id), &c.action, &c.scope)),
        _ => permits(&grants, &c.action, &c.scope),
    };
    let missing: Vec<&Check> = op.linked.iter().filter(|c| !linked_permits(c)).collect();
    if !missing.is_empty() {
        return Err(linked_authorization_failed(caller, &op.main, &missing));
    }
    Ok((!whole).then_some(grants))
}

impl Admitted {
    /// Checks the operation again against `state` (inside the write that acts on it).
    pub fn recheck(&self, state: &State) -> Result<()> {
        match &self.operation {
            Some(op) => check(state, &self.caller, &self.auxiliary, op).map(drop),
            None => Ok(()),
        }
    }

    /// Whether an item of an admitted list is shown: always, unless the caller may read the list
    /// only in part; then only items one of its grants lets it read.
    pub fn may_read(&self, id: &str) -> bool {
        let Some(grants) = &self.partial else { return true };
        crate::armops::operation("GET", id, None).is_some_and(|op| permits(grants, &op.main.action, &op.main.scope))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentSpec {
    pub properties: AssignmentPropertiesSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentPropertiesSpec {
    pub role_definition_id: String,
    pub principal_id: String,
    pub principal_type: Option<String>,
    pub description: Option<String>,
    pub condition: Option<String>,
}

/// PUT a role assignment at `scope`. Returns (assignment, created).
pub fn put_assignment(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    scope: &str,
    name: &str,
    spec: AssignmentSpec,
) -> Result<(RoleAssignment, bool)> {
    if !vaultlink_rules::is_guid(name) {
        return Err(Error::bad_request(
            "InvalidRoleAssignmentId",
            format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
        ));
    }
    let p = spec.properties;
    if p.condition.is_some() {
        return Err(Error::bad_request(
            "InvalidRoleAssignmentCondition",
            "vaultlink does not evaluate role assignment conditions (ABAC); create the assignment without a condition.",
        ));
    }
    let Some(r) = role_in(state, &p.role_definition_id) else {
        return Err(Error::bad_request(
            "RoleDefinitionDoesNotExist",
            format!(
                "The specified role definition with ID '{}' does not exist.",
                p.role_definition_id.rsplit('/').next().unwrap_or("")
            ),
        ));
    };
    // The principal must be in the directory the scope's subscription belongs to.
    let directory = identity::tenant_of(state, scope).unwrap_or_else(|| caller.tenant_id.clone());
    if identity::principal_in(state, &directory, &p.principal_id)
        .filter(|x| x.object_id.eq_ignore_ascii_case(&p.principal_id))
        .is_none()
    {
        return Err(Error::bad_request(
            "PrincipalNotFound",
            format!(
                "Principal {} does not exist in the directory {directory}. Check that you have the correct principal ID.",
                p.principal_id.replace('-', ""),
            ),
        ));
    }
    if let Role::Custom(c) = &r {
        custom::check_assignable(c, scope)?;
    }
    let principal_type = p.principal_type.unwrap_or_else(|| "User".into());
    let id = assignment_id(scope, name);
    let existing = match state.get(&id) {
        Some(Record::RoleAssignment(a)) => Some(a.clone()),
        _ => None,
    };
    if let Some(e) = &existing
        && (!e.principal_id.eq_ignore_ascii_case(&p.principal_id)
            || !e.role_definition_name.eq_ignore_ascii_case(r.name()))
    {
        return Err(Error::bad_request(
            "RoleAssignmentUpdateNotPermitted",
            "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
        ));
    }
    if existing.is_none()
        && all_assignments(state).any(|a| {
            a.principal_id.eq_ignore_ascii_case(&p.principal_id)
                && a.role_definition_name.eq_ignore_ascii_case(r.name())
                && a.scope.eq_ignore_ascii_case(scope.trim_end_matches('/'))
        })
    {
        return Err(Error::conflict("RoleAssignmentExists", "The role assignment already exists."));
    }
    let a = RoleAssignment {
        id: id.clone(),
        name: name.to_ascii_lowercase(),
        scope: scope.trim_end_matches('/').to_string(),
        role_definition_name: r.name().into(),
        principal_id: p.principal_id.to_ascii_lowercase(),
        principal_type,
        description: p.description,
        created_on: existing.as_ref().map_or_else(|| state.now(), |e| e.created_on),
        created_by: caller.object_id.clone(),
    };
    batch.put(&id, Record::RoleAssignment(Box::new(a.clone())));
    Ok((a, existing.is_none()))
}

pub fn get_assignment(state: &State, scope: &str, name: &str) -> Result<RoleAssignment> {
    match state.get(&assignment_id(scope, name)) {
        Some(Record::RoleAssignment(a)) => Ok((**a).clone()),
        _ => Err(Error::not_found("RoleAssignmentNotFound", format!("The role assignment '{name}' is not found."))),
    }
}

pub fn delete_assignment(state: &State, batch: &mut Batch, scope: &str, name: &str) -> Option<RoleAssignment> {
    let a = get_assignment(state, scope, name).ok()?;
    batch.delete(&a.id);
    Some(a)
}

/// Lists assignments for a scope. `$filter=atScope()`: at or above; `principalId eq 'x'`: that
/// principal's, at, above or below; no filter: at, above and below.
pub fn list_assignments(state: &State, scope: &str, filter: Option<&str>) -> Vec<RoleAssignment> {
    let principal = filter
        .and_then(|f| f.split_once("principalId eq"))
        .map(|(_, v)| v.trim().trim_matches('\'').to_ascii_lowercase());
    let at_scope = filter.is_some_and(|f| f.contains("atScope()"));
    all_assignments(state)
        .filter(|a| {
            let above = scope_covers(&a.scope, scope);
            let below = scope_covers(scope, &a.scope);
            match (&principal, at_scope) {
                (Some(p), _) => a.principal_id == *p && (above || below),
                (None, true) => above,
                (None, false) => above || below,
            }
        })
        .cloned()
        .collect()
}

/// A role definition's id as seen from `scope` (under its subscription, when it has one).
fn role_definition_id(scope: &str, guid: &str) -> String {
    let sub = scope.split('/').nth(2).filter(|_| scope.to_ascii_lowercase().starts_with("/subscriptions/"));
    match sub {
        Some(s) => format!("/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        None => format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
    }
}

pub fn render_assignment(a: &RoleAssignment) -> Value {
    let role_id = role_definition_id(&a.scope, &a.role_definition_name);
    json!({
        "properties": {
            "roleDefinitionId": role_id,
            "principalId": a.principal_id,
            "principalType": a.principal_type,
            "scope": a.scope,
            "condition": null,
            "conditionVersion": null,
            "createdOn": rfc3339(a.created_on),
            "updatedOn": rfc3339(a.created_on),
            "createdBy": a.created_by,
            "updatedBy": a.created_by,
            "delegatedManagedIdentityResourceId": null,
            "description": a.description,
        },
        "id": a.id,
        "type": ASSIGNMENT_TYPE,
        "name": a.name,
    })
}

/// Role definitions visible at a scope (the built-in ones and the tenant's custom roles
/// assignable there), with `$filter=roleName eq '...'` (case-insensitive) or `type eq '...'`.
pub fn list_role_definitions(state: &State, scope: &str, filter: Option<&str>) -> Vec<Value> {
    let clause = |field: &str| {
        filter.and_then(|f| f.split_once(field)).map(|(_, v)| {
            let v = v.trim_start();
            let v = v.strip_prefix('\'').unwrap_or(v);
            v.split('\'').next().unwrap_or(v).to_ascii_lowercase()
        })
    };
    let (name, kind) = (clause("roleName eq"), clause("type eq"));
    let wanted = |role_name: &str, role_type: &str| {
        name.as_ref().is_none_or(|w| role_name.to_ascii_lowercase() == *w)
            && kind.as_ref().is_none_or(|w| role_type.to_ascii_lowercase() == *w)
    };
    let built_in = ROLES.iter().filter(|r| wanted(r.role_name, "BuiltInRole")).map(|r| render_role(scope, r));
    let custom = custom::visible_at(state, scope)
        .filter(|r| wanted(&r.role_name, "CustomRole"))
        .map(|r| custom::render(scope, r))
        .collect::<Vec<_>>();
    built_in.chain(custom).collect()
}

pub fn render_role(scope: &str, r: &RoleDefinition) -> Value {
    json!({
        "properties": {
            "roleName": r.role_name,
            "type": "BuiltInRole",
            "description": r.description,
            "assignableScopes": ["/"],
            "permissions": [{"actions": r.actions, "notActions": r.not_actions, "dataActions": r.data_actions, "notDataActions": []}],
            "createdOn": "2015-02-02T21:55:09.8806423Z",
            "updatedOn": "2024-01-01T00:00:00.0000000Z",
            "createdBy": null,
            "updatedBy": null,
        },
        "id": role_definition_id(scope, r.name),
        "type": DEFINITION_TYPE,
        "name": r.name,
    })
}

#[cfg(test)]
mod tests;
