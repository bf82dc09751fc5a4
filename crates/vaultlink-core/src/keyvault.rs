//! Microsoft.KeyVault/vaults: create, update, patch, delete (soft), deleted vaults, recover, purge,
//! name availability, and the vault's rendering. Private endpoint connections are in `connections`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Batch, State, guid, rfc3339};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{
    AccessPolicy, DeletedVault, NetworkAcls, PrivateEndpointConnection, Record, Tags, Vault, VirtualNetworkRule,
};
use crate::resources;

pub const VAULT_TYPE: &str = "Microsoft.KeyVault/vaults";
/// Azure's limits (azure-behaviour.md §2.3, §5.6).
pub const MAX_IP_RULES: usize = 1000;
pub const MAX_VNET_RULES: usize = 200;
pub const MAX_ACCESS_POLICIES: usize = 1024;
/// The api-version from which a new vault defaults to RBAC authorization (its OpenAPI `default: true`).
pub const RBAC_DEFAULT_SINCE: &str = "2026-02-01";

pub fn vault_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}")
}

pub fn deleted_vault_id(sub: &str, location: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{name}")
}

/// The vault's data-plane host name.
pub fn vault_host(name: &str) -> String {
    format!("{}.vault.azure.net", name.to_ascii_lowercase())
}

/// A vault that must exist in the resource group.
pub fn vault(state: &State, caller: &Caller, sub: &str, rg: &str, name: &str) -> Result<Vault> {
    let group = resources::resource_group(state, caller, sub, rg)?;
    match state.get(&vault_id(sub, rg, name)) {
        Some(Record::Vault(v)) => Ok(Vault::clone(v)),
        _ => Err(Error::resource_not_found(VAULT_TYPE, name, &group.name)),
    }
}

/// Every live vault, in every subscription (vault names are global).
pub fn all_vaults(state: &State) -> impl Iterator<Item = &Vault> {
    state.of_kind(crate::model::RecordKind::Vault).filter_map(|r| match r {
        Record::Vault(v) => Some(&**v),
        _ => None,
    })
}

/// The live vault with this (global) name.
pub fn vault_by_name<'a>(state: &'a State, name: &str) -> Option<&'a std::sync::Arc<Vault>> {
    state.vault_named(name)
}

/// Every deleted vault, those past their retention included (`purge_due` removes them).
fn stored_deleted(state: &State) -> impl Iterator<Item = &DeletedVault> {
    state.of_kind(crate::model::RecordKind::DeletedVault).filter_map(|r| match r {
        Record::DeletedVault(d) => Some(&**d),
        _ => None,
    })
}

/// The deleted vaults still within their retention: one past it is purged, whether or not
/// `purge_due` has removed its record yet.
fn all_deleted(state: &State) -> impl Iterator<Item = &DeletedVault> {
    let t = state.now();
    stored_deleted(state).filter(move |d| d.retained_at(t))
}

/// The deleted vault of this id, if it is still within its retention.
fn deleted_record<'a>(state: &'a State, id: &str) -> Option<&'a DeletedVault> {
    match state.get(id) {
        Some(Record::DeletedVault(d)) if d.retained_at(state.now()) => Some(d),
        _ => None,
    }
}

pub fn vaults_in(state: &State, caller: &Caller, sub: &str, rg: Option<&str>) -> Result<Vec<Vault>> {
    let scope = match rg {
        Some(rg) => resources::resource_group(state, caller, sub, rg)?.id,
        None => resources::subscription(state, caller, sub).map(|s| resources::subscription_id(&s.subscription_id))?,
    };
    Ok(state
        .descendants(&scope)
        .filter_map(|(_, r)| match r {
            Record::Vault(v) => Some(Vault::clone(v)),
            _ => None,
        })
        .collect())
}

/// The body of a vault PUT (`VaultCreateOrUpdateParameters`). Read-only fields the CLI echoes back
/// (`vaultUri`, `provisioningState`, `privateEndpointConnections`) are accepted and ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultSpec {
    pub location: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    pub properties: VaultPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultPropertiesSpec {
    pub tenant_id: Option<String>,
    pub sku: Option<SkuSpec>,
    pub access_policies: Option<Vec<AccessPolicySpec>>,
    pub enabled_for_deployment: Option<bool>,
    pub enabled_for_disk_encryption: Option<bool>,
    pub enabled_for_template_deployment: Option<bool>,
    pub enable_soft_delete: Option<bool>,
    pub soft_delete_retention_in_days: Option<i64>,
    pub enable_rbac_authorization: Option<bool>,
    pub create_mode: Option<String>,
    pub enable_purge_protection: Option<bool>,
    pub network_acls: Option<NetworkAclsSpec>,
    pub public_network_access: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuSpec {
    pub family: Option<String>,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicySpec {
    pub tenant_id: String,
    pub object_id: String,
    pub application_id: Option<String>,
    pub permissions: PermissionsSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionsSpec {
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub certificates: Vec<String>,
    #[serde(default)]
    pub storage: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAclsSpec {
    pub bypass: Option<String>,
    pub default_action: Option<String>,
    pub ip_rules: Option<Vec<IpRuleSpec>>,
    pub virtual_network_rules: Option<Vec<VnetRuleSpec>>,
}

#[derive(Debug, Deserialize)]
pub struct IpRuleSpec {
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetRuleSpec {
    pub id: String,
    #[serde(default)]
    pub ignore_missing_vnet_service_endpoint: Option<bool>,
}

fn enum_value(field: &str, value: &str, allowed: &[&str]) -> Result<String> {
    allowed.iter().find(|a| a.eq_ignore_ascii_case(value)).map(|a| a.to_string()).ok_or_else(|| {
        Error::bad_request(
            "BadRequest",
            format!("The value '{value}' is not valid for property '{field}'. Allowed values: {}.", allowed.join(", ")),
        )
    })
}

fn access_policies(specs: Vec<AccessPolicySpec>) -> Result<Vec<AccessPolicy>> {
    if specs.len() > MAX_ACCESS_POLICIES {
        return Err(Error::bad_request(
            "BadRequest",
            format!("The number of access policies ({}) exceeds the maximum of {MAX_ACCESS_POLICIES}.", specs.len()),
        ));
    }
    specs
        .into_iter()
        .map(|p| {
            if !vaultlink_rules::is_guid(&p.tenant_id) || !vaultlink_rules::is_guid(&p.object_id) {
                return Err(Error::bad_request(
                    "BadRequest",
                    "An access policy's tenantId and objectId must be GUIDs.",
                ));
            }
            Ok(AccessPolicy {
                tenant_id: p.tenant_id.to_ascii_lowercase(),
                object_id: p.object_id.to_ascii_lowercase(),
                application_id: p.application_id,
                keys: crate::authz::normalise_permissions("keys", p.permissions.keys)?,
                secrets: crate::authz::normalise_permissions("secrets", p.permissions.secrets)?,
                certificates: crate::authz::normalise_permissions("certificates", p.permissions.certificates)?,
                storage: crate::authz::normalise_permissions("storage", p.permissions.storage)?,
            })
        })
        .collect()
}

/// Applies a network ACL spec over the current ACLs, enforcing Azure's rules and limits.
fn network_acls(state: &State, current: &NetworkAcls, spec: NetworkAclsSpec) -> Result<NetworkAcls> {
    let mut acls = current.clone();
    if let Some(b) = spec.bypass {
        acls.bypass = enum_value("networkAcls.bypass", &b, &["AzureServices", "None"])?;
    }
    if let Some(d) = spec.default_action {
        acls.default_action = enum_value("networkAcls.defaultAction", &d, &["Allow", "Deny"])?;
    }
    if let Some(rules) = spec.ip_rules {
        if rules.len() > MAX_IP_RULES {
            return Err(Error::bad_request(
                "BadRequest",
                format!("The number of IP rules ({}) exceeds the maximum of {MAX_IP_RULES}.", rules.len()),
            ));
        }
        let mut out: Vec<String> = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            let cidr = vaultlink_rules::keyvault_ip_rule_at(i, &r.value)?.to_string();
            if !out.contains(&cidr) {
                out.push(cidr);
            }
        }
        acls.ip_rules = out;
    }
    if let Some(rules) = spec.virtual_network_rules {
        if rules.len() > MAX_VNET_RULES {
            return Err(Error::bad_request(
                "BadRequest",
                format!(
                    "The number of virtual network rules ({}) exceeds the maximum of {MAX_VNET_RULES}.",
                    rules.len()
                ),
            ));
        }
        let mut out: Vec<VirtualNetworkRule> = Vec::new();
        for r in rules {
            let ignore = r.ignore_missing_vnet_service_endpoint.unwrap_or(false);
            if !ignore {
                crate::network::require_service_endpoint(state, &r.id, "Microsoft.KeyVault")?;
            }
            let id = r.id.to_ascii_lowercase();
            if !out.iter().any(|x| x.id == id) {
                out.push(VirtualNetworkRule { id, ignore_missing_vnet_service_endpoint: ignore });
            }
        }
        acls.virtual_network_rules = out;
    }
    Ok(acls)
}

fn bad(message: impl Into<String>) -> Error {
    Error::bad_request("BadRequest", message)
}

/// The outcome of a vault PUT: the vault and whether it was created.
pub struct PutOutcome {
    pub vault: Vault,
    pub created: bool,
}

/// PUT a vault: create, recover (`createMode: recover`) or replace.
pub fn put_vault(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
    api_version: &str,
    spec: VaultSpec,
) -> Result<PutOutcome> {
    vaultlink_rules::vault_name(name)?;
    let group = resources::resource_group(state, caller, sub, rg)?;
    resources::require_provider(state, sub, "Microsoft.KeyVault")?;
    let location = resources::location(&spec.location)?;
    let p = spec.properties;
    let id = vault_id(sub, &group.name, name);
    let existing = match state.get(&id) {
        Some(Record::Vault(v)) => Some(Vault::clone(v)),
        _ => None,
    };
    let create_mode =
        p.create_mode.as_deref().map(|m| enum_value("createMode", m, &["default", "recover"])).transpose()?;

    if create_mode.as_deref() == Some("recover") {
        if existing.is_some() {
            return Err(Error::conflict(
                "ConflictError",
                format!("The vault '{name}' exists and cannot be recovered."),
            ));
        }
        let Some(d) = deleted_record(state, &deleted_vault_id(sub, &location, name)) else {
            return Err(Error::not_found(
                "DeletedVaultNotFound",
                format!(
                    "A deleted vault with the name '{name}' was not found in location '{location}' of subscription '{sub}'."
                ),
            ));
        };
        crate::quota::check_vault(state, sub)?;
        let mut v = d.vault.clone();
        v.id = id.clone();
        v.updated_at = state.now();
        v.updated_by = caller.app_id.clone();
        batch.delete(&d.id);
        batch.put(&id, Record::Vault(std::sync::Arc::new(v.clone())));
        return Ok(PutOutcome { vault: v, created: true });
    }

    let tenant_id = p.tenant_id.ok_or_else(|| bad("The property 'tenantId' is required."))?;
    if !vaultlink_rules::is_guid(&tenant_id) {
        return Err(bad(format!("The tenant ID '{tenant_id}' is not a valid GUID.")));
    }
    let sku = p.sku.ok_or_else(|| bad("The property 'sku' is required."))?;
    let sku_name = enum_value("sku.name", &sku.name, &["standard", "premium"])?;
    let sku_family = enum_value("sku.family", sku.family.as_deref().unwrap_or("A"), &["A"])?;

    if existing.is_none() {
        if let Some(other) = vault_by_name(state, name) {
            let _ = other;
            return Err(name_taken(name));
        }
        if let Some(d) = all_deleted(state).find(|d| d.vault.name.eq_ignore_ascii_case(name)) {
            if d.id.to_ascii_lowercase().starts_with(&format!("/subscriptions/{}/", sub.to_ascii_lowercase())) {
                return Err(Error::conflict("ConflictError", "Exist soft deleted vault with the same name. "));
            }
            return Err(name_taken(name));
        }
        crate::quota::check_vault(state, sub)?;
    }
    if let Some(e) = &existing
        && e.location != location
    {
        return Err(Error::bad_request(
            "LocationNotAvailable",
            format!("The location of vault '{name}' cannot be changed from '{}' to '{location}'.", e.location),
        ));
    }

    let soft_delete = match (p.enable_soft_delete, &existing) {
        (Some(false), Some(e)) if e.enable_soft_delete => {
            return Err(bad(
                "The property \"enableSoftDelete\" has been set to false. Enabling the 'soft delete' functionality is an irreversible action.",
            ));
        }
        (Some(false), None) => {
            return Err(bad(
                "The property \"enableSoftDelete\" cannot be set to false. Soft delete is enabled for every new vault and cannot be disabled.",
            ));
        }
        _ => true,
    };
    let retention = match p.soft_delete_retention_in_days {
        Some(d) if !(7..=90).contains(&d) => {
            return Err(bad(format!(
                "The property \"softDeleteRetentionInDays\" is {d}; it accepts values between 7 and 90."
            )));
        }
        Some(d) => d as u32,
        None => existing.as_ref().map_or(90, |e| e.soft_delete_retention_in_days),
    };
    if let Some(e) = &existing
        && e.soft_delete_retention_in_days != retention
    {
        return Err(bad(
            "The property \"softDeleteRetentionInDays\" cannot be changed once the vault has been created.",
        ));
    }
    let purge_protection = match (p.enable_purge_protection, &existing) {
        (Some(false), Some(e)) if e.enable_purge_protection => {
            return Err(bad(
                "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.",
            ));
        }
        (Some(v), _) => v,
        (None, Some(e)) => e.enable_purge_protection,
        (None, None) => false,
    };
    let rbac = match (p.enable_rbac_authorization, &existing) {
        (Some(v), _) => v,
        (None, Some(e)) => e.enable_rbac_authorization,
        (None, None) => api_version >= RBAC_DEFAULT_SINCE,
    };
    let default_acls = NetworkAcls {
        bypass: "AzureServices".into(),
        default_action: "Allow".into(),
        ip_rules: vec![],
        virtual_network_rules: vec![],
    };
    let base_acls = existing.as_ref().map_or(default_acls.clone(), |e| e.network_acls.clone());
    let acls = match p.network_acls {
        // A PUT replaces: fields left out take Azure's defaults, not the old values.
        Some(spec) => network_acls(state, &default_acls, spec)?,
        None if existing.is_some() => base_acls,
        None => default_acls,
    };
    let pna = match p.public_network_access {
        Some(v) => enum_value("publicNetworkAccess", &v, &["Enabled", "Disabled"])?,
        None => existing.as_ref().map_or("Enabled".into(), |e| e.public_network_access.clone()),
    };
    let policies = access_policies(p.access_policies.unwrap_or_default())?;
    let t = state.now();
    let vault = Vault {
        id: existing.as_ref().map_or(id.clone(), |e| e.id.clone()),
        name: existing.as_ref().map_or(name.to_string(), |e| e.name.clone()),
        location,
        tags: spec.tags.unwrap_or_default(),
        internal_id: existing.as_ref().map_or_else(guid, |e| e.internal_id.clone()),
        tenant_id: tenant_id.to_ascii_lowercase(),
        sku_name,
        sku_family,
        access_policies: policies,
        enabled_for_deployment: p.enabled_for_deployment.unwrap_or(false),
        enabled_for_disk_encryption: p.enabled_for_disk_encryption.unwrap_or(false),
        enabled_for_template_deployment: p.enabled_for_template_deployment.unwrap_or(false),
        enable_soft_delete: soft_delete,
        soft_delete_retention_in_days: retention,
        enable_rbac_authorization: rbac,
        enable_purge_protection: purge_protection,
        network_acls: acls,
        public_network_access: pna,
        created_at: existing.as_ref().map_or(t, |e| e.created_at),
        created_by: existing.as_ref().map_or(caller.app_id.clone(), |e| e.created_by.clone()),
        updated_at: t,
        updated_by: caller.app_id.clone(),
    };
    batch.put(&vault.id, Record::Vault(std::sync::Arc::new(vault.clone())));
    Ok(PutOutcome { vault, created: existing.is_none() })
}

fn name_taken(name: &str) -> Error {
    Error::conflict(
        "VaultAlreadyExists",
        format!(
            "The vault name '{name}' is already in use. Vault names are globally unique so it is possible that the name is already taken. If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault will need to be purged before reusing the name. For more information on soft delete and purging a vault follow this link https://go.microsoft.com/fwlink/?linkid=2147740."
        ),
    )
}

/// PATCH a vault (`VaultPatchParameters`): only the fields given change.
/// A vault PATCH's body: what it names changes, the rest stays.
#[derive(Debug, Deserialize)]
pub struct VaultPatch {
    pub tags: Option<Tags>,
    #[serde(default)]
    pub properties: VaultPropertiesSpec,
}

/// PATCH the vault `current` (found by `vault` first: a missing vault is refused before the
/// body's shape is checked, so the route looks it up, then parses the body).
pub fn patch_vault(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    current: Vault,
    patch: VaultPatch,
) -> Result<Vault> {
    let p = patch.properties;
    let mut v = current.clone();
    if let Some(t) = patch.tags {
        v.tags = t;
    }
    if let Some(t) = p.tenant_id {
        if !vaultlink_rules::is_guid(&t) {
            return Err(bad(format!("The tenant ID '{t}' is not a valid GUID.")));
        }
        v.tenant_id = t.to_ascii_lowercase();
    }
    if let Some(s) = p.sku {
        v.sku_name = enum_value("sku.name", &s.name, &["standard", "premium"])?;
    }
    if let Some(ap) = p.access_policies {
        v.access_policies = access_policies(ap)?;
    }
    v.enabled_for_deployment = p.enabled_for_deployment.unwrap_or(v.enabled_for_deployment);
    v.enabled_for_disk_encryption = p.enabled_for_disk_encryption.unwrap_or(v.enabled_for_disk_encryption);
    v.enabled_for_template_deployment = p.enabled_for_template_deployment.unwrap_or(v.enabled_for_template_deployment);
    if p.enable_soft_delete == Some(false) {
        return Err(bad(
            "The property \"enableSoftDelete\" has been set to false. Enabling the 'soft delete' functionality is an irreversible action.",
        ));
    }
    if let Some(d) = p.soft_delete_retention_in_days
        && d as u32 != v.soft_delete_retention_in_days
    {
        return Err(bad(
            "The property \"softDeleteRetentionInDays\" cannot be changed once the vault has been created.",
        ));
    }
    match p.enable_purge_protection {
        Some(false) if v.enable_purge_protection => {
            return Err(bad(
                "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.",
            ));
        }
        Some(x) => v.enable_purge_protection = x,
        None => {}
    }
    v.enable_rbac_authorization = p.enable_rbac_authorization.unwrap_or(v.enable_rbac_authorization);
    if let Some(acls) = p.network_acls {
        v.network_acls = network_acls(state, &v.network_acls, acls)?;
    }
    if let Some(pna) = p.public_network_access {
        v.public_network_access = enum_value("publicNetworkAccess", &pna, &["Enabled", "Disabled"])?;
    }
    v.updated_at = state.now();
    v.updated_by = caller.app_id.clone();
    batch.put(&v.id, Record::Vault(std::sync::Arc::new(v.clone())));
    Ok(v)
}

/// Replaces the vault record (used by access-policy and connection operations).
pub fn save(batch: &mut Batch, v: &Vault) {
    batch.put(&v.id, Record::Vault(std::sync::Arc::new(v.clone())));
}

/// DELETE a vault: with soft delete it becomes a deleted vault (recoverable until purged).
pub fn delete_vault(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
) -> Result<bool> {
    resources::resource_group(state, caller, sub, rg)?;
    let Some(Record::Vault(v)) = state.get(&vault_id(sub, rg, name)) else {
        return Ok(false);
    };
    soft_delete(state, batch, v)?;
    Ok(true)
}

pub(crate) fn soft_delete(state: &State, batch: &mut Batch, v: &Vault) -> Result<()> {
    let sub = v.subscription();
    batch.delete_tree(state, &v.id);
    if v.enable_soft_delete {
        let t = state.now();
        let d = DeletedVault {
            id: deleted_vault_id(&sub, &v.location, &v.name),
            vault: v.clone(),
            deletion_date: t,
            scheduled_purge_date: t + i64::from(v.soft_delete_retention_in_days) * 86_400,
        };
        batch.put(&d.id.clone(), Record::DeletedVault(Box::new(d)));
    } else {
        batch.delete_tree(state, &v.objects_root());
    }
    Ok(())
}

pub fn deleted_vaults(state: &State, caller: &Caller, sub: &str) -> Result<Vec<DeletedVault>> {
    resources::subscription(state, caller, sub)?;
    let prefix = format!("/subscriptions/{}/", sub.to_ascii_lowercase());
    Ok(all_deleted(state).filter(|d| d.id.to_ascii_lowercase().starts_with(&prefix)).cloned().collect())
}

pub fn deleted_vault(state: &State, caller: &Caller, sub: &str, location: &str, name: &str) -> Result<DeletedVault> {
    resources::subscription(state, caller, sub)?;
    match deleted_record(state, &deleted_vault_id(sub, location, name)) {
        Some(d) => Ok(d.clone()),
        None => Err(Error::not_found(
            "ResourceNotFound",
            format!(
                "The Resource 'Microsoft.KeyVault/deletedVaults/{name}' under location '{location}' was not found."
            ),
        )),
    }
}

/// POST purge of a deleted vault. Refused while purge protection holds it.
pub fn purge_deleted_vault(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    sub: &str,
    location: &str,
    name: &str,
) -> Result<()> {
    // Found only while its retention holds it (after that it is purged already).
    let d = deleted_vault(state, caller, sub, location, name)?;
    if d.vault.enable_purge_protection {
        return Err(Error::conflict(
            "ConflictError",
            format!(
                "Operation 'Purge' is not allowed on vault '{name}' because purge protection is enabled. The vault will be purged automatically on {}.",
                rfc3339(d.scheduled_purge_date)
            ),
        ));
    }
    batch.delete(&d.id);
    batch.delete_tree(state, &d.vault.objects_root());
    Ok(())
}

/// What Key Vault purges by itself once the retention has passed: deleted vaults (with
/// everything in them) and the soft-deleted secrets, keys and certificates of live vaults.
/// Lookups already treat such records as gone (`kv::objects::object`, `deleted_vault`); this
/// removes them from the state and the store. Returns how many were purged.
pub fn purge_due(state: &State, batch: &mut Batch) -> usize {
    use crate::kv::objects::purge_expired;
    use crate::model::{CertificateObject, KeyObject, RecordKind, SecretObject};
    let t = state.now();
    let mut purged = 0;
    for d in stored_deleted(state).filter(|d| !d.retained_at(t)) {
        batch.delete(&d.id);
        batch.delete_tree(state, &d.vault.objects_root());
        purged += 1;
    }
    for record in state.of_kind(RecordKind::Vault) {
        if let Record::Vault(v) = record {
            purged += purge_expired::<SecretObject>(state, batch, v)
                + purge_expired::<KeyObject>(state, batch, v)
                + purge_expired::<CertificateObject>(state, batch, v);
        }
    }
    purged
}

/// POST checkNameAvailability.
pub fn check_name_availability(state: &State, name: &str) -> Value {
    if let Err(e) = vaultlink_rules::vault_name(name) {
        return json!({"nameAvailable": false, "reason": "AccountNameInvalid", "message": e.message});
    }
    let taken =
        vault_by_name(state, name).is_some() || all_deleted(state).any(|d| d.vault.name.eq_ignore_ascii_case(name));
    if taken {
        json!({"nameAvailable": false, "reason": "AlreadyExists", "message": format!("The vault name '{name}' is already in use.")})
    } else {
        json!({"nameAvailable": true})
    }
}

/// `systemData`'s actor type: a user is recorded by its sign-in name, an application by its id.
fn by_type(actor: &str) -> &'static str {
    if actor.contains('@') { "User" } else { "Application" }
}

pub fn render_vault(state: &State, v: &Vault) -> Value {
    let mut props = json!({
        "sku": {"family": v.sku_family, "name": v.sku_name},
        "tenantId": v.tenant_id,
        "accessPolicies": v.access_policies.iter().map(render_access_policy).collect::<Vec<_>>(),
        "enabledForDeployment": v.enabled_for_deployment,
        "enabledForDiskEncryption": v.enabled_for_disk_encryption,
        "enabledForTemplateDeployment": v.enabled_for_template_deployment,
        "enableSoftDelete": v.enable_soft_delete,
        "softDeleteRetentionInDays": v.soft_delete_retention_in_days,
        "enableRbacAuthorization": v.enable_rbac_authorization,
        "networkAcls": {
            "bypass": v.network_acls.bypass,
            "defaultAction": v.network_acls.default_action,
            "ipRules": v.network_acls.ip_rules.iter().map(|r| json!({"value": r})).collect::<Vec<_>>(),
            "virtualNetworkRules": v.network_acls.virtual_network_rules.iter().map(|r| json!({"id": r.id, "ignoreMissingVnetServiceEndpoint": r.ignore_missing_vnet_service_endpoint})).collect::<Vec<_>>(),
        },
        "vaultUri": format!("https://{}/", vault_host(&v.name)),
        "provisioningState": "Succeeded",
        "publicNetworkAccess": v.public_network_access,
    });
    if v.enable_purge_protection {
        props["enablePurgeProtection"] = json!(true);
    }
    let pecs: Vec<Value> = connections(state, &v.id)
        .iter()
        .map(|c| json!({"id": c.id, "etag": c.etag, "properties": render_connection_properties(c)}))
        .collect();
    props["privateEndpointConnections"] = json!(pecs);
    json!({
        "id": v.id,
        "name": v.name,
        "type": VAULT_TYPE,
        "location": v.location,
        "tags": v.tags,
        "systemData": {
            "createdBy": v.created_by, "createdByType": by_type(&v.created_by), "createdAt": rfc3339(v.created_at),
            "lastModifiedBy": v.updated_by, "lastModifiedByType": by_type(&v.updated_by), "lastModifiedAt": rfc3339(v.updated_at),
        },
        "properties": props,
    })
}

fn render_access_policy(p: &AccessPolicy) -> Value {
    let mut v = json!({
        "tenantId": p.tenant_id,
        "objectId": p.object_id,
        "permissions": {"keys": p.keys, "secrets": p.secrets, "certificates": p.certificates, "storage": p.storage},
    });
    if let Some(a) = &p.application_id {
        v["applicationId"] = json!(a);
    }
    v
}

pub fn render_deleted_vault(d: &DeletedVault) -> Value {
    json!({
        "id": d.id,
        "name": d.vault.name,
        "type": "Microsoft.KeyVault/deletedVaults",
        "properties": {
            "vaultId": d.vault.id,
            "location": d.vault.location,
            "deletionDate": rfc3339(d.deletion_date),
            "scheduledPurgeDate": rfc3339(d.scheduled_purge_date),
            "tags": d.vault.tags,
            "purgeProtectionEnabled": d.vault.enable_purge_protection,
        },
    })
}

/// `GET .../vaults/{v}/privateLinkResources`.
pub fn render_private_link_resources(v: &Vault) -> Value {
    json!({"value": [{
        "id": format!("{}/privateLinkResources/vault", v.id),
        "name": "vault",
        "type": "Microsoft.KeyVault/vaults/privateLinkResources",
        "properties": {"groupId": "vault", "requiredMembers": ["default"], "requiredZoneNames": ["privatelink.vaultcore.azure.net"]},
    }]})
}

/// The body of `PUT .../vaults/{v}/accessPolicies/{op}`.
#[derive(Debug, Deserialize)]
pub struct AccessPolicyUpdate {
    pub properties: AccessPolicyUpdateProperties,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicyUpdateProperties {
    pub access_policies: Vec<AccessPolicySpec>,
}

/// `PUT .../vaults/{v}/accessPolicies/{add|replace|remove}`: merges, replaces or removes the
/// permissions of the listed principals in the vault `v` (found by `vault` first: a missing
/// vault is refused before the body's shape is checked); returns `{id, name, type,
/// properties:{accessPolicies}}`.
pub fn update_access_policies(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    mut v: Vault,
    op: &str,
    update: AccessPolicyUpdate,
) -> Result<Value> {
    let given = access_policies(update.properties.access_policies)?;
    let same = |a: &AccessPolicy, b: &AccessPolicy| {
        a.tenant_id == b.tenant_id && a.object_id == b.object_id && a.application_id == b.application_id
    };
    for p in given.iter() {
        let existing = v.access_policies.iter_mut().find(|x| same(x, p));
        match (op, existing) {
            ("add", Some(x)) => {
                for (mine, theirs) in [
                    (&mut x.keys, &p.keys),
                    (&mut x.secrets, &p.secrets),
                    (&mut x.certificates, &p.certificates),
                    (&mut x.storage, &p.storage),
                ] {
                    for perm in theirs {
                        if !mine.contains(perm) {
                            mine.push(perm.clone());
                        }
                    }
                }
            }
            ("replace", Some(x)) => *x = p.clone(),
            ("remove", Some(x)) => {
                for (mine, theirs) in [
                    (&mut x.keys, &p.keys),
                    (&mut x.secrets, &p.secrets),
                    (&mut x.certificates, &p.certificates),
                    (&mut x.storage, &p.storage),
                ] {
                    mine.retain(|perm| !theirs.contains(perm));
                }
            }
            ("add" | "replace", None) => v.access_policies.push(p.clone()),
            _ => {}
        }
    }
    v.access_policies
        .retain(|p| !(p.keys.is_empty() && p.secrets.is_empty() && p.certificates.is_empty() && p.storage.is_empty()));
    if v.access_policies.len() > MAX_ACCESS_POLICIES {
        return Err(bad(format!("The number of access policies exceeds the maximum of {MAX_ACCESS_POLICIES}.")));
    }
    v.updated_at = state.now();
    v.updated_by = caller.app_id.clone();
    save(batch, &v);
    Ok(json!({
        "id": format!("{}/accessPolicies/{op}", v.id),
        "name": op,
        "type": "Microsoft.KeyVault/vaults/accessPolicies",
        "location": v.location,
        "properties": {"accessPolicies": v.access_policies.iter().map(render_access_policy).collect::<Vec<_>>()},
    }))
}

/// Every private endpoint connection of a vault (its child resources), in name order.
pub fn connections(state: &State, vault_id: &str) -> Vec<PrivateEndpointConnection> {
    state
        .descendants(&format!("{vault_id}/privateEndpointConnections"))
        .filter_map(|(_, r)| match r {
            Record::PrivateEndpointConnection(c) => Some((**c).clone()),
            _ => None,
        })
        .collect()
}

/// A private endpoint connection's `properties`, as the vault and its connection routes show it.
pub fn render_connection_properties(c: &PrivateEndpointConnection) -> Value {
    json!({
        "provisioningState": c.provisioning_state,
        "privateEndpoint": {"id": c.private_endpoint_id},
        "privateLinkServiceConnectionState": {
            "status": c.status,
            "description": c.description,
            "actionsRequired": c.actions_required,
        },
    })
}
