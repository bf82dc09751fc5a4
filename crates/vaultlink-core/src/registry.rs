//! The resource types vaultlink serves, one line each: what feeds the providers list
//! (`GET /subscriptions/{s}/providers`), the generic resources list (`GET .../resources`) and a
//! resource group's cascade (what a type must undo outside the group before the group goes).
//! A new type is its core module, one line here and its route line. Also the operations over
//! every type: the providers and their registration, and deleting a resource group with what is
//! in it. (The api-versions each namespace accepts are `apiversion`'s.)

use serde_json::{Value, json};

use crate::engine::{Batch, State};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{Record, RecordKind, Subscription, Tags};
use crate::{apiversion, regions, resources};

/// What deleting its resource group does first to a resource with effects outside the group.
pub type Teardown = fn(&State, &mut Batch, &Record) -> Result<()>;

/// One resource type of one provider namespace.
pub struct ResourceType {
    /// `Namespace/type` as Azure spells it (`Microsoft.KeyVault/vaults`); a stored type's is its
    /// module's constant, so the name is written once.
    pub full: &'static str,
    /// The record kind that stores it, for a type `GET .../resources` lists (tracked, top-level).
    pub listed: Option<RecordKind>,
    pub teardown: Option<Teardown>,
}

impl ResourceType {
    /// The namespace (`Microsoft.KeyVault`).
    pub fn namespace(&self) -> &'static str {
        self.full.split_once('/').map_or(self.full, |(ns, _)| ns)
    }

    /// The type within the namespace (`vaults`, `privateDnsZones/virtualNetworkLinks`).
    pub fn name(&self) -> &'static str {
        self.full.split_once('/').map_or("", |(_, t)| t)
    }
}

const fn t(full: &'static str) -> ResourceType {
    ResourceType { full, listed: None, teardown: None }
}

const fn listed(full: &'static str, kind: RecordKind) -> ResourceType {
    ResourceType { full, listed: Some(kind), teardown: None }
}

/// Every type, in the order the providers list shows them.
pub const TYPES: &[ResourceType] = &[
    ResourceType {
        teardown: Some(|s, b, r| match r {
            Record::Vault(v) => crate::keyvault::soft_delete(s, b, v),
            _ => Ok(()),
        }),
        ..listed(crate::keyvault::VAULT_TYPE, RecordKind::Vault)
    },
    t(crate::kv::secrets::arm::SECRET_TYPE),
    t(crate::kv::keys::arm::KEY_TYPE),
    t(crate::kv::keys::arm::VERSION_TYPE),
    t("Microsoft.KeyVault/deletedVaults"),
    t("Microsoft.KeyVault/locations"),
    t("Microsoft.KeyVault/operations"),
    t("Microsoft.KeyVault/checkNameAvailability"),
    ResourceType {
        teardown: Some(|s, b, r| {
            if let Record::VirtualNetwork(v) = r {
                crate::network::vnet_teardown(s, b, &v.id);
            }
            Ok(())
        }),
        ..listed(crate::network::VNET_TYPE, RecordKind::VirtualNetwork)
    },
    listed(crate::network::NIC_TYPE, RecordKind::NetworkInterface),
    listed(crate::network::PUBLIC_IP_TYPE, RecordKind::PublicIpAddress),
    listed(crate::network::NSG_TYPE, RecordKind::NetworkSecurityGroup),
    ResourceType {
        teardown: Some(|s, b, r| {
            if let Record::PrivateEndpoint(pe) = r {
                crate::privatelink::endpoint_teardown(s, b, pe);
            }
            Ok(())
        }),
        ..listed(crate::privatelink::PE_TYPE, RecordKind::PrivateEndpoint)
    },
    listed(crate::privatedns::ZONE_TYPE, RecordKind::PrivateDnsZone),
    listed(crate::compute::VM_TYPE, RecordKind::VirtualMachine),
    t(crate::compute::runcommand::RUN_COMMAND_TYPE),
    t("Microsoft.Compute/locations"),
    t("Microsoft.Network/privateDnsZones/virtualNetworkLinks"),
    t("Microsoft.Network/dnsResolvers"),
    t("Microsoft.Network/locations"),
    t("Microsoft.Authorization/roleAssignments"),
    t("Microsoft.Authorization/roleDefinitions"),
    t("Microsoft.Resources/resourceGroups"),
    t("Microsoft.Resources/subscriptions"),
];

/// The namespaces, as Azure spells them, in the providers list's order.
pub fn namespaces() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for t in TYPES {
        if !out.contains(&t.namespace()) {
            out.push(t.namespace());
        }
    }
    out
}

/// A namespace by any casing, as Azure spells it.
pub fn namespace(name: &str) -> Option<&'static str> {
    TYPES.iter().map(ResourceType::namespace).find(|n| n.eq_ignore_ascii_case(name))
}

/// The types of a namespace (as Azure spells the namespace).
pub fn types_of(namespace: &str) -> impl Iterator<Item = &'static ResourceType> + use<'_> {
    TYPES.iter().filter(move |t| t.namespace() == namespace)
}

/// The type a record is, when `GET .../resources` lists it.
fn listed_type(r: &Record) -> Option<&'static ResourceType> {
    let kind = r.kind();
    TYPES.iter().find(|t| t.listed == Some(kind))
}

/// A resource as `GET .../resources` shows it.
pub struct Generic<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// `Namespace/type`.
    pub type_name: &'static str,
    pub location: &'a str,
    pub tags: &'a Tags,
}

/// The generic view of a record, for the types the registry lists.
pub fn generic(r: &Record) -> Option<Generic<'_>> {
    let t = listed_type(r)?;
    let (id, name, location, tags) = match r {
        Record::Vault(v) => (&v.id, &v.name, v.location.as_str(), &v.tags),
        Record::VirtualNetwork(v) => (&v.id, &v.name, v.location.as_str(), &v.tags),
        Record::NetworkInterface(v) => (&v.id, &v.name, v.location.as_str(), &v.tags),
        Record::PublicIpAddress(v) => (&v.id, &v.name, v.location.as_str(), &v.tags),
        Record::NetworkSecurityGroup(v) => (&v.id, &v.name, v.location.as_str(), &v.tags),
        Record::PrivateEndpoint(v) => (&v.id, &v.name, v.location.as_str(), &v.tags),
        Record::VirtualMachine(v) => (&v.id, &v.name, v.location.as_str(), &v.tags),
        // Private DNS zones are global resources.
        Record::PrivateDnsZone(v) => (&v.id, &v.name, "global", &v.tags),
        _ => return None,
    };
    Some(Generic { id, name, type_name: t.full, location, tags })
}

/// The teardown a record's type asks for when its resource group is deleted.
pub fn teardown(r: &Record) -> Option<Teardown> {
    listed_type(r).and_then(|t| t.teardown)
}

fn known_provider(name: &str) -> Result<&'static str> {
    namespace(name).ok_or_else(|| {
        Error::not_found("InvalidResourceNamespace", format!("The resource namespace '{name}' is invalid."))
    })
}

/// Registers (or unregisters) a provider on the subscription; returns its rendering.
pub fn set_provider_registration(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    sub: &str,
    namespace: &str,
    register: bool,
) -> Result<Value> {
    let mut s = resources::subscription(state, caller, sub)?;
    let name = known_provider(namespace)?;
    let key = name.to_ascii_lowercase();
    if register {
        s.registered_providers.insert(key.clone(), name.to_string());
        s.unregistered_providers.remove(&key);
    } else if s.registered_providers.remove(&key).is_some() {
        s.unregistered_providers.insert(key, state.now());
    }
    let out = render_provider(&s, name, state.now());
    batch.put(&resources::subscription_id(sub), Record::Subscription(s));
    Ok(out)
}

pub fn provider(state: &State, caller: &Caller, sub: &str, namespace: &str) -> Result<Value> {
    let s = resources::subscription(state, caller, sub)?;
    let name = known_provider(namespace)?;
    Ok(render_provider(&s, name, state.now()))
}

pub fn providers(state: &State, caller: &Caller, sub: &str) -> Result<Vec<Value>> {
    let s = resources::subscription(state, caller, sub)?;
    Ok(namespaces().into_iter().map(|n| render_provider(&s, n, state.now())).collect())
}

/// How long an unregistration shows `Unregistering` before `Unregistered` (vaultlink's choice:
/// short, so that `az provider unregister --wait`, which polls every 10 s, ends at its first poll).
pub const UNREGISTERING_SECONDS: i64 = 5;

fn render_provider(s: &Subscription, namespace: &str, now: i64) -> Value {
    let key = namespace.to_ascii_lowercase();
    let state = match (s.registered_providers.contains_key(&key), s.unregistered_providers.get(&key)) {
        (true, _) => "Registered",
        (false, Some(since)) if now - since < UNREGISTERING_SECONDS => "Unregistering",
        (false, Some(_)) => "Unregistered",
        (false, None) => "NotRegistered",
    };
    let versions: Vec<_> = apiversion::arm_versions(&key).iter().rev().collect();
    json!({
        "id": format!("/subscriptions/{}/providers/{namespace}", s.subscription_id),
        "namespace": namespace,
        "registrationState": state,
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": types_of(namespace).map(|t| json!({
            "resourceType": t.name(),
            "locations": regions::PHYSICAL.iter().map(|r| r.display_name).collect::<Vec<_>>(),
            "apiVersions": versions,
            "capabilities": "None",
        })).collect::<Vec<_>>(),
    })
}

/// DELETE a resource group and everything in it (vaults go to the soft-deleted state, as in Azure).
pub fn delete_resource_group(state: &State, batch: &mut Batch, caller: &Caller, sub: &str, rg: &str) -> Result<()> {
    let group = resources::resource_group(state, caller, sub, rg)?;
    // Resources with effects outside the group first (each type's teardown in the registry):
    // endpoints drop their vault connections, vaults become deleted vaults, VNets lose their links.
    let undo: Vec<(Teardown, Record)> =
        state.descendants(&group.id).filter_map(|(_, r)| teardown(r).map(|t| (t, r.clone()))).collect();
    for (teardown, record) in &undo {
        teardown(state, batch, record)?;
    }
    batch.delete_tree(state, &group.id);
    Ok(())
}

#[cfg(test)]
mod tests;
