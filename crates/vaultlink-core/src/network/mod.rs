//! Microsoft.Network's own networks: virtual networks, subnets, network interfaces, peerings and
//! what lies beyond a gateway (on-premises networks, the DNS Private Resolver). Address rules come
//! from `vaultlink_rules::cidr`. Shared lookups and address allocation here; one file per
//! resource: `vnet.rs` (VNets and subnets), `nic.rs` (client NICs), `publicip.rs` (public IP
//! addresses), `nsg.rs` (network security groups, stored and shown, not enforced), `peering.rs`
//! (VNet peering), `onprem.rs` (on-premises networks and resolver inbound endpoints). Private endpoints live in
//! `privatelink`, which builds on this folder; nothing here imports it or `privatedns`.

mod nic;
mod nsg;
pub mod onprem;
pub mod peering;
mod publicip;
mod vnet;

pub use nic::*;
pub use nsg::*;
pub use publicip::*;
pub use vnet::*;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde::Deserialize;
use serde_json::{Value, json};
use vaultlink_rules::Ipv4Cidr;

use crate::engine::{Batch, State, guid, weak_etag};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{
    NetworkInterface, NetworkSecurityGroup, PublicIpAddress, Record, SecurityRule, ServiceEndpoint, Subnet, Tags,
    VirtualNetwork,
};
use crate::resources;
use crate::wire;

pub const VNET_TYPE: &str = "Microsoft.Network/virtualNetworks";
pub const SUBNET_TYPE: &str = "Microsoft.Network/virtualNetworks/subnets";
pub const NIC_TYPE: &str = "Microsoft.Network/networkInterfaces";
pub const PUBLIC_IP_TYPE: &str = "Microsoft.Network/publicIPAddresses";
pub const NSG_TYPE: &str = "Microsoft.Network/networkSecurityGroups";

// Azure's networking limits (azure-subscription-service-limits, "Networking limits"); the error
// codes are vaultlink's, in the provider's `...CountLimitReached` style (docs/behaviour.md).
/// Subnets per virtual network.
pub const MAX_SUBNETS: usize = 3000;
/// Virtual network peerings per virtual network.
pub const MAX_PEERINGS: usize = 500;
/// DNS servers per virtual network.
pub const MAX_DNS_SERVERS: usize = 20;
/// Address prefixes in one virtual network's address space: not documented; vaultlink's choice.
pub const MAX_ADDRESS_PREFIXES: usize = 1000;

/// The refusal when a count limit would be passed: `what` is counted in `within`.
pub(crate) fn count_limit(code: &str, limit: usize, what: &str, within: &str) -> Error {
    Error::bad_request(code, format!("Cannot create more than {limit} {what} for {within}."))
}

pub fn network_id(sub: &str, rg: &str, type_path: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{type_path}/{name}")
}

/// Subscription and resource group named by a resource id.
pub(crate) fn id_parts(id: &str) -> (String, String) {
    let parts: Vec<&str> = id.split('/').collect();
    (parts.get(2).unwrap_or(&"").to_string(), parts.get(4).unwrap_or(&"").to_string())
}

pub(crate) fn invalid_reference(referenced: &str, by: &str) -> Error {
    Error::bad_request(
        "InvalidResourceReference",
        format!(
            "Resource {referenced} referenced by resource {by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
        ),
    )
}

/// Refuses to move an existing resource to another region, as Resource Manager refuses it.
fn same_location(existing: &str, location: &str, name: &str, group: &str) -> Result<()> {
    if existing == location {
        return Ok(());
    }
    Err(Error::bad_request(
        "InvalidResourceLocation",
        format!(
            "The resource '{name}' already exists in location '{existing}' in resource group '{group}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name."
        ),
    ))
}

/// `value` as Azure spells it, when it is one of `allowed` in any casing.
fn one_of(value: &str, field: &str, allowed: &[&str]) -> Result<String> {
    allowed.iter().find(|a| a.eq_ignore_ascii_case(value)).map(|a| a.to_string()).ok_or_else(|| {
        Error::bad_request(
            "InvalidRequestFormat",
            format!("Value '{value}' is not valid for {field}. Allowed values: {}.", allowed.join(", ")),
        )
    })
}

/// The id of a NIC's (one) IP configuration.
pub fn ip_configuration_id(n: &NetworkInterface) -> String {
    format!("{}/ipConfigurations/{}", n.id, n.ip_configuration_name)
}

fn cidr(s: &str) -> Result<Ipv4Cidr> {
    s.parse::<Ipv4Cidr>().map_err(|_| {
        Error::bad_request("InvalidAddressPrefixFormat", format!("Address prefix {s} is not formatted correctly. It should follow CIDR notation, for example 10.0.0.0/24."))
    })
}

/// Parses an address prefix given for `resource_id`, with Azure's host-bits rule.
fn prefix_for(s: &str, resource_id: &str) -> Result<Ipv4Cidr> {
    Ok(vaultlink_rules::address_prefix(s, resource_id)?)
}

// ---------------------------------------------------------------- lookups

pub fn vnet(state: &State, id: &str) -> Option<VirtualNetwork> {
    match state.get(id) {
        Some(Record::VirtualNetwork(v)) => Some((**v).clone()),
        _ => None,
    }
}

pub fn subnet(state: &State, id: &str) -> Option<Subnet> {
    match state.get(id) {
        Some(Record::Subnet(s)) => Some((**s).clone()),
        _ => None,
    }
}

pub fn subnets_of(state: &State, vnet_id: &str) -> Vec<Subnet> {
    state
        .descendants(&format!("{vnet_id}/subnets"))
        .filter_map(|(_, r)| match r {
            Record::Subnet(s) => Some((**s).clone()),
            _ => None,
        })
        .collect()
}

/// The VNet id a subnet id belongs to.
pub fn vnet_of_subnet(subnet_id: &str) -> String {
    subnet_id.rsplitn(3, '/').nth(2).unwrap_or_default().to_string()
}

/// Every NIC (client or endpoint) whose address lies in the subnet.
pub fn nics_in_subnet(state: &State, subnet_id: &str) -> Vec<NetworkInterface> {
    state
        .of_kind(crate::model::RecordKind::NetworkInterface)
        .filter_map(|r| match r {
            Record::NetworkInterface(n) if n.subnet_id.eq_ignore_ascii_case(subnet_id) => Some((**n).clone()),
            _ => None,
        })
        .collect()
}

pub fn nic(state: &State, id: &str) -> Option<NetworkInterface> {
    match state.get(id) {
        Some(Record::NetworkInterface(n)) => Some((**n).clone()),
        _ => None,
    }
}

/// Every resource of one kind in a scope (subscription or resource group id).
pub fn list_in<T>(state: &State, scope: &str, pick: impl Fn(&Record) -> Option<T>) -> Vec<T> {
    state.descendants(scope).filter_map(|(_, r)| pick(r)).collect()
}

/// Fails unless the subnet exists and has the service endpoint (vault `virtualNetworkRules`).
pub fn require_service_endpoint(state: &State, subnet_id: &str, service: &str) -> Result<()> {
    let ok = subnet(state, subnet_id)
        .is_some_and(|s| s.service_endpoints.iter().any(|e| e.service.eq_ignore_ascii_case(service)));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(
            "NetworkAclsValidationFailure",
            format!("Validation of network acls failure: SubnetsHaveNoServiceEndpointsConfigured:{subnet_id}"),
        ))
    }
}

fn used_addresses(state: &State, subnet_id: &str) -> BTreeSet<Ipv4Addr> {
    let mut used: BTreeSet<Ipv4Addr> =
        nics_in_subnet(state, subnet_id).iter().filter_map(|n| n.private_ip_address.parse().ok()).collect();
    used.extend(
        onprem::all_inbound(state)
            .filter(|i| i.subnet_id.eq_ignore_ascii_case(subnet_id))
            .filter_map(|i| i.private_ip_address.parse::<Ipv4Addr>().ok()),
    );
    used
}

/// Every virtual network.
pub fn all_vnets(state: &State) -> Vec<VirtualNetwork> {
    state
        .of_kind(crate::model::RecordKind::VirtualNetwork)
        .filter_map(|r| match r {
            Record::VirtualNetwork(v) => Some((**v).clone()),
            _ => None,
        })
        .collect()
}

/// The next free address of a subnet (Azure's .4 onwards, or the requested static one), or
/// Azure's subnet-full error.
pub(crate) fn allocate(state: &State, batch: &Batch, subnet: &Subnet, requested: Option<&str>) -> Result<String> {
    let prefix = cidr(&subnet.address_prefix)?;
    let mut used = used_addresses(state, &subnet.id);
    // Addresses taken earlier in this same operation.
    for (_, r) in batch_nics(batch) {
        if let Ok(a) = r.private_ip_address.parse() {
            used.insert(a);
        }
    }
    if let Some(ip) = requested {
        let addr: Ipv4Addr = ip.parse().map_err(|_| {
            Error::bad_request(
                "InvalidPrivateIPAddressFormat",
                format!("Private static IP address {ip} does not have a valid format."),
            )
        })?;
        vaultlink_rules::static_address_ok(&prefix, &used, addr)?;
        return Ok(addr.to_string());
    }
    vaultlink_rules::next_free_address(&prefix, &used)
        .map(|a| a.to_string())
        .ok_or_else(|| vaultlink_rules::subnet_is_full(&subnet.id, &prefix).into())
}

fn batch_nics(batch: &Batch) -> Vec<(String, NetworkInterface)> {
    batch
        .puts()
        .filter_map(|(k, r)| match r {
            Record::NetworkInterface(n) => Some((k.clone(), (**n).clone())),
            _ => None,
        })
        .collect()
}
