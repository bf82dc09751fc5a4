//! Microsoft.Network: virtual networks, subnets, network interfaces, private endpoints and their
//! private DNS zone groups. Address rules come from `vaultlink_rules::cidr`.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde::Deserialize;
use serde_json::{Value, json};
use vaultlink_rules::Ipv4Cidr;

use crate::connections;
use crate::engine::{Batch, State, guid, weak_etag};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{
    EndpointConnection, NetworkInterface, PrivateEndpoint, PrivateLinkConnectionProperties, Record, ServiceEndpoint,
    Subnet, Tags, VirtualNetwork,
};
use crate::resources;

pub const VNET_TYPE: &str = "Microsoft.Network/virtualNetworks";
pub const SUBNET_TYPE: &str = "Microsoft.Network/virtualNetworks/subnets";
pub const NIC_TYPE: &str = "Microsoft.Network/networkInterfaces";
pub const PE_TYPE: &str = "Microsoft.Network/privateEndpoints";
/// `requestMessage` limit on a private endpoint connection (azure-behaviour.md §3.1).
pub const MAX_REQUEST_MESSAGE: usize = 140;

pub fn network_id(sub: &str, rg: &str, type_path: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{type_path}/{name}")
}

/// Subscription and resource group named by a resource id.
fn id_parts(id: &str) -> (String, String) {
    let parts: Vec<&str> = id.split('/').collect();
    (parts.get(2).unwrap_or(&"").to_string(), parts.get(4).unwrap_or(&"").to_string())
}

fn parse_body<T: serde::de::DeserializeOwned>(v: Value) -> Result<T> {
    crate::wire::parse(v)
}

fn invalid_reference(referenced: &str, by: &str) -> Error {
    Error::bad_request(
        "InvalidResourceReference",
        format!(
            "Resource {referenced} referenced by resource {by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
        ),
    )
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
        Some(Record::VirtualNetwork(v)) => Some(v.clone()),
        _ => None,
    }
}

pub fn subnet(state: &State, id: &str) -> Option<Subnet> {
    match state.get(id) {
        Some(Record::Subnet(s)) => Some(s.clone()),
        _ => None,
    }
}

pub fn subnets_of(state: &State, vnet_id: &str) -> Vec<Subnet> {
    state
        .descendants(&format!("{vnet_id}/subnets"))
        .filter_map(|(_, r)| match r {
            Record::Subnet(s) => Some(s.clone()),
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
            Record::NetworkInterface(n) if n.subnet_id.eq_ignore_ascii_case(subnet_id) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

pub fn nic(state: &State, id: &str) -> Option<NetworkInterface> {
    match state.get(id) {
        Some(Record::NetworkInterface(n)) => Some(n.clone()),
        _ => None,
    }
}

pub fn endpoint(state: &State, id: &str) -> Option<PrivateEndpoint> {
    match state.get(id) {
        Some(Record::PrivateEndpoint(p)) => Some(p.clone()),
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
        crate::onprem::all_inbound(state)
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
            Record::VirtualNetwork(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

/// Allocates an address in a subnet (Azure's .4 onwards, or the requested static one).
pub(crate) fn allocate_in(state: &State, batch: &Batch, subnet: &Subnet, requested: Option<&str>) -> Result<String> {
    allocate(state, batch, subnet, requested)
}

/// The next free address of a subnet (Azure's .4 onwards), or Azure's subnet-full error.
fn allocate(state: &State, batch: &Batch, subnet: &Subnet, requested: Option<&str>) -> Result<String> {
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
            Record::NetworkInterface(n) => Some((k.clone(), n.clone())),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- virtual networks

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetSpec {
    pub location: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub properties: VnetPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetPropertiesSpec {
    pub address_space: Option<AddressSpaceSpec>,
    pub dhcp_options: Option<DhcpOptionsSpec>,
    pub subnets: Option<Vec<SubnetSpec>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressSpaceSpec {
    #[serde(default)]
    pub address_prefixes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DhcpOptionsSpec {
    #[serde(default)]
    pub dns_servers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetSpec {
    pub name: Option<String>,
    #[serde(default)]
    pub properties: SubnetPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetPropertiesSpec {
    pub address_prefix: Option<String>,
    pub address_prefixes: Option<Vec<String>>,
    pub private_endpoint_network_policies: Option<String>,
    pub private_link_service_network_policies: Option<String>,
    pub service_endpoints: Option<Vec<ServiceEndpointSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEndpointSpec {
    pub service: String,
    #[serde(default)]
    pub locations: Vec<String>,
}

/// PUT a virtual network (and, when the body lists them, its subnets). Returns (vnet, created).
pub fn put_vnet(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
    body: Value,
) -> Result<(VirtualNetwork, bool)> {
    let spec: VnetSpec = parse_body(body)?;
    vaultlink_rules::network_resource_name(name)?;
    let group = resources::resource_group(state, caller, sub, rg)?;
    let location = resources::location(&spec.location)?;
    let id = network_id(sub, &group.name, "virtualNetworks", name);
    let existing = vnet(state, &id);
    let prefixes: Vec<Ipv4Cidr> = spec
        .properties
        .address_space
        .map(|a| a.address_prefixes)
        .unwrap_or_default()
        .iter()
        .map(|p| prefix_for(p, &id))
        .collect::<Result<_>>()?;
    vaultlink_rules::vnet_address_space_ok(&id, &prefixes)?;
    // `az network vnet update --dns-servers ""` (the documented way back to Azure DNS) sends [""].
    let dns_servers: Vec<String> = spec
        .properties
        .dhcp_options
        .map(|d| d.dns_servers)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect();
    for s in &dns_servers {
        s.parse::<Ipv4Addr>().map_err(|_| {
            Error::bad_request("InvalidDnsServers", format!("DNS server {s} is not a valid IP address."))
        })?;
    }
    if let Some(e) = &existing
        && e.location != location
    {
        return Err(Error::bad_request(
            "InvalidResourceLocation",
            format!(
                "The resource '{name}' already exists in location '{}' in resource group '{}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name.",
                e.location, group.name
            ),
        ));
    }
    let v = VirtualNetwork {
        id: existing.as_ref().map_or(id.clone(), |e| e.id.clone()),
        name: existing.as_ref().map_or(name.to_string(), |e| e.name.clone()),
        location,
        tags: spec.tags.unwrap_or_default(),
        address_prefixes: prefixes.iter().map(ToString::to_string).collect(),
        dns_servers,
        resource_guid: existing.as_ref().map_or_else(guid, |e| e.resource_guid.clone()),
        etag: weak_etag(),
    };
    // Existing subnets must still fit the (possibly new) address space.
    let current = subnets_of(state, &v.id);
    match spec.properties.subnets {
        Some(wanted) => {
            let mut placed: Vec<(String, Ipv4Cidr)> = Vec::new();
            let mut keep = BTreeSet::new();
            for s in wanted {
                let sname = s
                    .name
                    .clone()
                    .ok_or_else(|| Error::bad_request("InvalidRequestFormat", "Each subnet needs a name."))?;
                let subnet = build_subnet(state, &v, &sname, s.properties, &placed)?;
                placed.push((subnet.name.clone(), cidr(&subnet.address_prefix)?));
                keep.insert(subnet.id.to_ascii_lowercase());
                batch.put(&subnet.id.clone(), Record::Subnet(subnet));
            }
            for old in current.iter().filter(|s| !keep.contains(&s.id.to_ascii_lowercase())) {
                ensure_subnet_unused(state, old)?;
                batch.delete(&old.id);
            }
        }
        None => {
            for s in &current {
                let p = cidr(&s.address_prefix)?;
                if !prefixes.iter().any(|space| space.contains(&p)) {
                    return Err(Error::bad_request(
                        "NetcfgSubnetRangeOutsideVnet",
                        format!(
                            "Subnet '{}' is not valid because its IP address range is outside the IP address range of virtual network '{}'.",
                            s.name, v.name
                        ),
                    ));
                }
            }
        }
    }
    batch.put(&v.id, Record::VirtualNetwork(v.clone()));
    Ok((v, existing.is_none()))
}

fn build_subnet(
    state: &State,
    v: &VirtualNetwork,
    name: &str,
    p: SubnetPropertiesSpec,
    siblings: &[(String, Ipv4Cidr)],
) -> Result<Subnet> {
    vaultlink_rules::network_resource_name(name)?;
    let id = format!("{}/subnets/{name}", v.id);
    let existing = subnet(state, &id);
    let prefix_str =
        p.address_prefix.or_else(|| p.address_prefixes.and_then(|v| v.into_iter().next())).ok_or_else(|| {
            Error::bad_request("InvalidRequestFormat", format!("Subnet '{name}' must specify addressPrefix."))
        })?;
    let prefix = prefix_for(&prefix_str, &id)?;
    let space: Vec<Ipv4Cidr> = v.address_prefixes.iter().map(|p| cidr(p)).collect::<Result<_>>()?;
    vaultlink_rules::subnet_prefix_ok(&space, siblings, prefix, name, &v.name)?;
    if let Some(e) = &existing
        && e.address_prefix != prefix.to_string()
        && !nics_in_subnet(state, &e.id).is_empty()
    {
        return Err(Error::bad_request(
            "InUseSubnetCannotBeUpdated",
            format!("Subnet {name} is in use and cannot be updated."),
        ));
    }
    let policies = |value: Option<String>, field: &str, default: &str, allowed: &[&str]| -> Result<String> {
        match value {
            None => Ok(existing_policy(&existing, field).unwrap_or_else(|| default.to_string())),
            Some(x) => allowed.iter().find(|a| a.eq_ignore_ascii_case(&x)).map(|a| a.to_string()).ok_or_else(|| {
                Error::bad_request(
                    "InvalidRequestFormat",
                    format!("Value '{x}' is not valid for {field}. Allowed values: {}.", allowed.join(", ")),
                )
            }),
        }
    };
    let pe = policies(
        p.private_endpoint_network_policies,
        "privateEndpointNetworkPolicies",
        "Disabled",
        &["Disabled", "Enabled", "NetworkSecurityGroupEnabled", "RouteTableEnabled"],
    )?;
    let pls = policies(
        p.private_link_service_network_policies,
        "privateLinkServiceNetworkPolicies",
        "Enabled",
        &["Disabled", "Enabled"],
    )?;
    let service_endpoints = match p.service_endpoints {
        Some(list) => list
            .into_iter()
            .map(|e| ServiceEndpoint {
                service: e.service,
                locations: if e.locations.is_empty() { vec![v.location.clone()] } else { e.locations },
            })
            .collect(),
        None => existing.as_ref().map(|e| e.service_endpoints.clone()).unwrap_or_default(),
    };
    Ok(Subnet {
        id: existing.as_ref().map_or(id, |e| e.id.clone()),
        name: existing.as_ref().map_or(name.to_string(), |e| e.name.clone()),
        address_prefix: prefix.to_string(),
        private_endpoint_network_policies: pe,
        private_link_service_network_policies: pls,
        service_endpoints,
        etag: weak_etag(),
    })
}

fn existing_policy(existing: &Option<Subnet>, field: &str) -> Option<String> {
    existing.as_ref().map(|e| {
        if field == "privateEndpointNetworkPolicies" {
            e.private_endpoint_network_policies.clone()
        } else {
            e.private_link_service_network_policies.clone()
        }
    })
}

fn ensure_subnet_unused(state: &State, s: &Subnet) -> Result<()> {
    if let Some(i) = crate::onprem::all_inbound(state).find(|i| i.subnet_id.eq_ignore_ascii_case(&s.id)) {
        return Err(Error::bad_request(
            "InUseSubnetCannotBeDeleted",
            format!(
                "Subnet {} is in use by {} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
                s.name, i.id
            ),
        ));
    }
    if let Some(n) = nics_in_subnet(state, &s.id).first() {
        return Err(Error::bad_request(
            "InUseSubnetCannotBeDeleted",
            format!(
                "Subnet {} is in use by {}/ipConfigurations/{} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
                s.name, n.id, n.ip_configuration_name
            ),
        ));
    }
    Ok(())
}

pub fn get_vnet(state: &State, caller: &Caller, (sub, rg, name): (&str, &str, &str)) -> Result<VirtualNetwork> {
    let group = resources::resource_group(state, caller, sub, rg)?;
    vnet(state, &network_id(sub, rg, "virtualNetworks", name))
        .ok_or_else(|| Error::resource_not_found(VNET_TYPE, name, &group.name))
}

pub fn delete_vnet(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str)) -> Result<bool> {
    let Ok(v) = get_vnet(state, caller, key) else {
        resources::resource_group(state, caller, key.0, key.1)?;
        return Ok(false);
    };
    for s in subnets_of(state, &v.id) {
        ensure_subnet_unused(state, &s)?;
    }
    vnet_teardown(state, batch, &v.id);
    Ok(true)
}

/// A VNet goes with its subnets and peerings, and the private DNS links that point at it are
/// cleared (as Azure clears them).
pub(crate) fn vnet_teardown(state: &State, batch: &mut Batch, vnet_id: &str) {
    let links: Vec<String> = crate::privatedns::links_of_vnet(state, vnet_id).map(|l| l.id.clone()).collect();
    for l in links {
        batch.delete(&l);
    }
    batch.delete_tree(state, vnet_id);
}

/// PUT a subnet of an existing VNet. Returns (subnet, created).
pub fn put_subnet(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, vnet_name, name): (&str, &str, &str, &str),
    body: Value,
) -> Result<(Subnet, bool)> {
    let spec: SubnetSpec = parse_body(body)?;
    let v = get_vnet(state, caller, (sub, rg, vnet_name))?;
    let siblings: Vec<(String, Ipv4Cidr)> = subnets_of(state, &v.id)
        .into_iter()
        .filter(|s| !s.name.eq_ignore_ascii_case(name))
        .map(|s| Ok((s.name.clone(), cidr(&s.address_prefix)?)))
        .collect::<Result<_>>()?;
    let created = subnet(state, &format!("{}/subnets/{name}", v.id)).is_none();
    let s = build_subnet(state, &v, name, spec.properties, &siblings)?;
    batch.put(&s.id, Record::Subnet(s.clone()));
    Ok((s, created))
}

pub fn get_subnet(
    state: &State,
    caller: &Caller,
    (sub, rg, vnet_name, name): (&str, &str, &str, &str),
) -> Result<Subnet> {
    let v = get_vnet(state, caller, (sub, rg, vnet_name))?;
    subnet(state, &format!("{}/subnets/{name}", v.id))
        .ok_or_else(|| Error::not_found("NotFound", format!("Resource {}/subnets/{name} not found.", v.id)))
}

pub fn delete_subnet(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str, &str)) -> Result<bool> {
    let v = get_vnet(state, caller, (key.0, key.1, key.2))?;
    let Some(s) = subnet(state, &format!("{}/subnets/{}", v.id, key.3)) else { return Ok(false) };
    ensure_subnet_unused(state, &s)?;
    batch.delete(&s.id);
    Ok(true)
}

pub fn render_subnet(state: &State, s: &Subnet) -> Value {
    let nics = nics_in_subnet(state, &s.id);
    let endpoints: Vec<Value> =
        nics.iter().filter_map(|n| n.private_endpoint_id.as_ref()).map(|id| json!({"id": id})).collect();
    let ipconfigs: Vec<Value> = nics
        .iter()
        .filter(|n| n.private_endpoint_id.is_none())
        .map(|n| json!({"id": format!("{}/ipConfigurations/{}", n.id, n.ip_configuration_name)}))
        .collect();
    let mut props = json!({
        "provisioningState": "Succeeded",
        "addressPrefix": s.address_prefix,
        "delegations": [],
        "privateEndpointNetworkPolicies": s.private_endpoint_network_policies,
        "privateLinkServiceNetworkPolicies": s.private_link_service_network_policies,
    });
    if !s.service_endpoints.is_empty() {
        props["serviceEndpoints"] = json!(
            s.service_endpoints
                .iter()
                .map(|e| json!({"service": e.service, "locations": e.locations, "provisioningState": "Succeeded"}))
                .collect::<Vec<_>>()
        );
    }
    if !endpoints.is_empty() {
        props["privateEndpoints"] = json!(endpoints);
    }
    if !ipconfigs.is_empty() {
        props["ipConfigurations"] = json!(ipconfigs);
    }
    json!({"name": s.name, "id": s.id, "etag": s.etag, "type": SUBNET_TYPE, "properties": props})
}

pub fn render_vnet(state: &State, v: &VirtualNetwork) -> Value {
    let mut props = json!({
        "provisioningState": "Succeeded",
        "resourceGuid": v.resource_guid,
        "addressSpace": {"addressPrefixes": v.address_prefixes},
        "subnets": subnets_of(state, &v.id).iter().map(|s| render_subnet(state, s)).collect::<Vec<_>>(),
        "virtualNetworkPeerings": state.descendants(&format!("{}/virtualNetworkPeerings", v.id)).filter_map(|(_, r)| match r { Record::VirtualNetworkPeering(p) => Some(crate::peering::render(state, p)), _ => None }).collect::<Vec<_>>(),
        "enableDdosProtection": false,
        "privateEndpointVNetPolicies": "Disabled",
    });
    if !v.dns_servers.is_empty() {
        props["dhcpOptions"] = json!({"dnsServers": v.dns_servers});
    }
    json!({"name": v.name, "id": v.id, "etag": v.etag, "type": VNET_TYPE, "location": v.location, "tags": v.tags, "properties": props})
}

// ---------------------------------------------------------------- network interfaces

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicSpec {
    pub location: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub properties: NicPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicPropertiesSpec {
    #[serde(default)]
    pub ip_configurations: Vec<IpConfigSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpConfigSpec {
    pub name: Option<String>,
    #[serde(default)]
    pub properties: IpConfigPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpConfigPropertiesSpec {
    pub subnet: Option<IdRef>,
    #[serde(rename = "privateIPAddress")]
    pub private_ip_address: Option<String>,
    #[serde(rename = "privateIPAllocationMethod")]
    pub private_ip_allocation_method: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct IdRef {
    pub id: String,
}

/// PUT a client NIC (as `az network nic create` makes). Endpoint NICs are read-only.
pub fn put_nic(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
    body: Value,
) -> Result<(NetworkInterface, bool)> {
    let spec: NicSpec = parse_body(body)?;
    vaultlink_rules::network_resource_name(name)?;
    let group = resources::resource_group(state, caller, sub, rg)?;
    let location = resources::location(&spec.location)?;
    let id = network_id(sub, &group.name, "networkInterfaces", name);
    let existing = nic(state, &id);
    if let Some(e) = &existing
        && let Some(pe) = &e.private_endpoint_id
    {
        return Err(Error::bad_request(
            "CannotModifyNicAttachedToPrivateEndpoint",
            format!("Network interface {} is managed by private endpoint {pe} and cannot be modified.", e.id),
        ));
    }
    let [ipc] = spec.properties.ip_configurations.as_slice() else {
        return Err(Error::bad_request(
            "InvalidRequestFormat",
            "A network interface needs exactly one IP configuration.",
        ));
    };
    let subnet_id =
        ipc.properties.subnet.as_ref().map(|s| s.id.clone()).ok_or_else(|| {
            Error::bad_request("InvalidRequestFormat", "The IP configuration must reference a subnet.")
        })?;
    let s = subnet(state, &subnet_id).ok_or_else(|| invalid_reference(&subnet_id, &id))?;
    let v = vnet(state, &vnet_of_subnet(&s.id)).ok_or_else(|| invalid_reference(&subnet_id, &id))?;
    if v.location != location {
        return Err(invalid_reference(&v.id, &id));
    }
    let static_ip =
        ipc.properties.private_ip_allocation_method.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("Static"));
    let address = match &existing {
        Some(e)
            if e.subnet_id.eq_ignore_ascii_case(&s.id)
                && (!static_ip || ipc.properties.private_ip_address.as_deref() == Some(&e.private_ip_address)) =>
        {
            e.private_ip_address.clone()
        }
        _ => allocate(state, batch, &s, if static_ip { ipc.properties.private_ip_address.as_deref() } else { None })?,
    };
    let n = NetworkInterface {
        id: existing.as_ref().map_or(id.clone(), |e| e.id.clone()),
        name: existing.as_ref().map_or(name.to_string(), |e| e.name.clone()),
        location,
        tags: spec.tags.unwrap_or_default(),
        subnet_id: s.id.clone(),
        ip_configuration_name: ipc.name.clone().unwrap_or_else(|| "ipconfig1".into()),
        private_ip_address: address,
        private_ip_allocation_method: if static_ip { "Static".into() } else { "Dynamic".into() },
        private_endpoint_id: None,
        private_link: None,
        resource_guid: existing.as_ref().map_or_else(guid, |e| e.resource_guid.clone()),
        mac_address: existing.as_ref().map_or_else(mac_address, |e| e.mac_address.clone()),
        etag: weak_etag(),
    };
    batch.put(&n.id, Record::NetworkInterface(n.clone()));
    Ok((n, existing.is_none()))
}

fn mac_address() -> String {
    let b = vaultlink_crypto::random_bytes(5);
    format!("00-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}", b[0], b[1], b[2], b[3], b[4])
}

pub fn get_nic(state: &State, caller: &Caller, (sub, rg, name): (&str, &str, &str)) -> Result<NetworkInterface> {
    let group = resources::resource_group(state, caller, sub, rg)?;
    nic(state, &network_id(sub, rg, "networkInterfaces", name))
        .ok_or_else(|| Error::resource_not_found(NIC_TYPE, name, &group.name))
}

pub fn delete_nic(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str)) -> Result<bool> {
    let Ok(n) = get_nic(state, caller, key) else {
        resources::resource_group(state, caller, key.0, key.1)?;
        return Ok(false);
    };
    if let Some(pe) = &n.private_endpoint_id {
        return Err(Error::bad_request(
            "CannotDeleteNicAttachedToPrivateEndpoint",
            format!(
                "Network interface {} is managed by private endpoint {pe}; delete the private endpoint instead.",
                n.id
            ),
        ));
    }
    batch.delete(&n.id);
    Ok(true)
}

pub fn render_nic(n: &NetworkInterface) -> Value {
    let mut ipc_props = json!({
        "provisioningState": "Succeeded",
        "privateIPAddress": n.private_ip_address,
        "privateIPAllocationMethod": n.private_ip_allocation_method,
        "subnet": {"id": n.subnet_id},
        "primary": true,
        "privateIPAddressVersion": "IPv4",
    });
    if let Some(pl) = &n.private_link {
        ipc_props["privateLinkConnectionProperties"] =
            json!({"groupId": pl.group_id, "requiredMemberName": pl.required_member_name, "fqdns": pl.fqdns});
    }
    let mut props = json!({
        "provisioningState": "Succeeded",
        "resourceGuid": n.resource_guid,
        "ipConfigurations": [{
            "name": n.ip_configuration_name,
            "id": format!("{}/ipConfigurations/{}", n.id, n.ip_configuration_name),
            "etag": n.etag,
            "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
            "properties": ipc_props,
        }],
        "dnsSettings": {"dnsServers": [], "appliedDnsServers": [], "internalDomainNameSuffix": "vaultlink.internal.cloudapp.net"},
        "macAddress": n.mac_address,
        "enableAcceleratedNetworking": false,
        "enableIPForwarding": false,
        "nicType": "Standard",
        "auxiliaryMode": "None",
        "auxiliarySku": "None",
    });
    if let Some(pe) = &n.private_endpoint_id {
        props["privateEndpoint"] = json!({"id": pe});
    }
    json!({"name": n.name, "id": n.id, "etag": n.etag, "type": NIC_TYPE, "location": n.location, "tags": n.tags, "kind": "Regular", "properties": props})
}

// ---------------------------------------------------------------- private endpoints

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSpec {
    pub location: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub properties: EndpointPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointPropertiesSpec {
    pub subnet: Option<IdRef>,
    #[serde(default)]
    pub private_link_service_connections: Vec<EndpointConnectionSpec>,
    #[serde(default)]
    pub manual_private_link_service_connections: Vec<EndpointConnectionSpec>,
    pub custom_network_interface_name: Option<String>,
    #[serde(default)]
    pub ip_configurations: Vec<EndpointIpConfigSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointConnectionSpec {
    pub name: String,
    #[serde(default)]
    pub properties: EndpointConnectionPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointConnectionPropertiesSpec {
    pub private_link_service_id: Option<String>,
    #[serde(default)]
    pub group_ids: Vec<String>,
    pub request_message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointIpConfigSpec {
    #[serde(default)]
    pub properties: EndpointIpConfigPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointIpConfigPropertiesSpec {
    #[serde(rename = "privateIPAddress")]
    pub private_ip_address: Option<String>,
}

/// PUT a private endpoint: allocates its address and read-only NIC, and asks the vault for a
/// connection (automatic: Approved; manual: Pending).
pub fn put_endpoint(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
    body: Value,
) -> Result<(PrivateEndpoint, bool)> {
    let spec: EndpointSpec = parse_body(body)?;
    vaultlink_rules::network_resource_name(name)?;
    let group = resources::resource_group(state, caller, sub, rg)?;
    let location = resources::location(&spec.location)?;
    let id = network_id(sub, &group.name, "privateEndpoints", name);
    let existing = endpoint(state, &id);
    let p = spec.properties;
    let subnet_id =
        p.subnet.as_ref().map(|s| s.id.clone()).ok_or_else(|| {
            Error::bad_request("InvalidRequestFormat", "The private endpoint must reference a subnet.")
        })?;
    let s = subnet(state, &subnet_id).ok_or_else(|| invalid_reference(&subnet_id, &id))?;
    let v = vnet(state, &vnet_of_subnet(&s.id)).ok_or_else(|| invalid_reference(&subnet_id, &id))?;
    if v.location != location || !id_parts(&v.id).0.eq_ignore_ascii_case(sub) {
        return Err(invalid_reference(&v.id, &id));
    }
    let mut wanted: Vec<(EndpointConnectionSpec, bool)> =
        p.private_link_service_connections.into_iter().map(|c| (c, false)).collect();
    wanted.extend(p.manual_private_link_service_connections.into_iter().map(|c| (c, true)));
    if wanted.len() != 1 {
        return Err(Error::bad_request(
            "PrivateEndpointMustHaveOneConnection",
            "A private endpoint must have exactly one private link service connection (automatic or manual).",
        ));
    }

    if let Some(e) = existing {
        // Subnet, address and connections are fixed for the endpoint's lifetime; tags may change.
        if !e.subnet_id.eq_ignore_ascii_case(&s.id) {
            return Err(Error::bad_request(
                "CannotChangePrivateEndpointSubnet",
                format!("The subnet of private endpoint {} cannot be changed.", e.id),
            ));
        }
        let (c, manual) = &wanted[0];
        let same = e.connections.iter().any(|x| x.name.eq_ignore_ascii_case(&c.name) && x.manual == *manual);
        if !same {
            return Err(Error::bad_request(
                "CannotChangePrivateEndpointConnection",
                format!(
                    "The connections of private endpoint {} cannot be changed; create a new private endpoint.",
                    e.id
                ),
            ));
        }
        let mut updated = e.clone();
        updated.tags = spec.tags.unwrap_or_default();
        updated.etag = weak_etag();
        batch.put(&updated.id, Record::PrivateEndpoint(updated.clone()));
        return Ok((updated, false));
    }

    let (c, manual) = wanted.into_iter().next().expect("one connection");
    let target = c
        .properties
        .private_link_service_id
        .clone()
        .ok_or_else(|| Error::bad_request("InvalidRequestFormat", "privateLinkServiceId is required."))?;
    let vault = match state.get(&target) {
        Some(Record::Vault(vault)) => crate::model::Vault::clone(vault),
        _ => {
            return Err(Error::bad_request(
                "PrivateLinkServiceNotFound",
                format!("Private link service or resource {target} referenced by private endpoint {id} was not found."),
            ));
        }
    };
    if c.properties.group_ids.len() != 1 || !c.properties.group_ids[0].eq_ignore_ascii_case("vault") {
        return Err(Error::bad_request(
            "InvalidPrivateLinkServiceConnectionGroupId",
            format!(
                "Group ids {:?} are not valid for resource {target}. The valid group id is 'vault'.",
                c.properties.group_ids
            ),
        ));
    }
    if let Some(m) = &c.properties.request_message
        && m.chars().count() > MAX_REQUEST_MESSAGE
    {
        return Err(Error::bad_request(
            "PrivateEndpointRequestMessageTooLong",
            format!("The request message of connection {} is longer than {MAX_REQUEST_MESSAGE} characters.", c.name),
        ));
    }
    let requested_ip = p.ip_configurations.first().and_then(|i| i.properties.private_ip_address.clone());
    let address = allocate(state, batch, &s, requested_ip.as_deref())?;
    let nic_name = p
        .custom_network_interface_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("{name}.nic.{}", guid()));
    vaultlink_rules::network_resource_name(&nic_name)?;
    let nic_id = network_id(sub, &group.name, "networkInterfaces", &nic_name);
    if nic(state, &nic_id).is_some() {
        return Err(Error::conflict(
            "NetworkInterfaceNameInUse",
            format!("Network interface {nic_id} already exists."),
        ));
    }
    let vault_connection_id =
        connections::request(state, batch, &vault.id, &id, name, manual, c.properties.request_message.as_deref())?;
    let host = crate::keyvault::vault_host(&vault.name);
    batch.put(
        &nic_id,
        Record::NetworkInterface(NetworkInterface {
            id: nic_id.clone(),
            name: nic_name,
            location: location.clone(),
            tags: Tags::new(),
            subnet_id: s.id.clone(),
            ip_configuration_name: "privateEndpointIpConfig.".to_string() + &guid(),
            private_ip_address: address.clone(),
            private_ip_allocation_method: "Dynamic".into(),
            private_endpoint_id: Some(id.clone()),
            private_link: Some(PrivateLinkConnectionProperties {
                group_id: "vault".into(),
                required_member_name: "default".into(),
                fqdns: vec![host],
            }),
            resource_guid: guid(),
            mac_address: mac_address(),
            etag: weak_etag(),
        }),
    );
    let pe = PrivateEndpoint {
        id: id.clone(),
        name: name.to_string(),
        location,
        tags: spec.tags.unwrap_or_default(),
        subnet_id: s.id.clone(),
        network_interface_id: nic_id,
        private_ip_address: address,
        connections: vec![EndpointConnection {
            name: c.name,
            private_link_service_id: vault.id.clone(),
            group_ids: vec!["vault".into()],
            request_message: c.properties.request_message,
            manual,
            vault_connection_id: Some(vault_connection_id),
        }],
        custom_network_interface_name: p.custom_network_interface_name,
        resource_guid: guid(),
        etag: weak_etag(),
    };
    batch.put(&id, Record::PrivateEndpoint(pe.clone()));
    Ok((pe, true))
}

pub fn get_endpoint(state: &State, caller: &Caller, (sub, rg, name): (&str, &str, &str)) -> Result<PrivateEndpoint> {
    let group = resources::resource_group(state, caller, sub, rg)?;
    endpoint(state, &network_id(sub, rg, "privateEndpoints", name))
        .ok_or_else(|| Error::resource_not_found(PE_TYPE, name, &group.name))
}

pub fn delete_endpoint(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str)) -> Result<bool> {
    let Ok(pe) = get_endpoint(state, caller, key) else {
        resources::resource_group(state, caller, key.0, key.1)?;
        return Ok(false);
    };
    endpoint_teardown(state, batch, &pe);
    Ok(true)
}

/// Everything an endpoint owns goes with it: its NIC, its zone groups' records, its vault-side
/// connection.
pub(crate) fn endpoint_teardown(state: &State, batch: &mut Batch, pe: &PrivateEndpoint) {
    for c in &pe.connections {
        if let Some(cid) = &c.vault_connection_id
            && connections::for_endpoint(state, cid).is_some_and(|x| x.private_endpoint_id.eq_ignore_ascii_case(&pe.id))
        {
            batch.delete(cid);
        }
    }
    for g in crate::zonegroups::of_endpoint(state, &pe.id) {
        crate::zonegroups::remove_records(state, batch, &g);
    }
    batch.delete(&pe.network_interface_id);
    batch.delete_tree(state, &pe.id);
}

/// The endpoint side's view of a connection: the vault side's state, or Disconnected once the
/// owner removed it.
pub fn endpoint_connection_state(state: &State, c: &EndpointConnection) -> (String, String, String) {
    match c.vault_connection_id.as_deref().and_then(|id| connections::for_endpoint(state, id)) {
        Some(v) => (v.status, v.description, v.actions_required),
        None => (
            connections::status::DISCONNECTED.into(),
            "The private endpoint connection has been removed by the resource owner.".into(),
            "None".into(),
        ),
    }
}

pub fn render_endpoint(state: &State, pe: &PrivateEndpoint) -> Value {
    let render_conn = |c: &EndpointConnection| {
        let (status, description, actions) = endpoint_connection_state(state, c);
        let kind = if c.manual { "manualPrivateLinkServiceConnections" } else { "privateLinkServiceConnections" };
        let mut props = json!({
            "provisioningState": "Succeeded",
            "privateLinkServiceId": c.private_link_service_id,
            "groupIds": c.group_ids,
            "privateLinkServiceConnectionState": {"status": status, "description": description, "actionsRequired": actions},
        });
        if let Some(m) = &c.request_message {
            props["requestMessage"] = json!(m);
        }
        json!({
            "name": c.name,
            "id": format!("{}/{kind}/{}", pe.id, c.name),
            "etag": pe.etag,
            "type": format!("Microsoft.Network/privateEndpoints/{kind}"),
            "properties": props,
        })
    };
    let auto: Vec<Value> = pe.connections.iter().filter(|c| !c.manual).map(render_conn).collect();
    let manual: Vec<Value> = pe.connections.iter().filter(|c| c.manual).map(render_conn).collect();
    let fqdns: Vec<String> =
        nic(state, &pe.network_interface_id).and_then(|n| n.private_link).map(|p| p.fqdns).unwrap_or_default();
    json!({
        "name": pe.name,
        "id": pe.id,
        "etag": pe.etag,
        "type": PE_TYPE,
        "location": pe.location,
        "tags": pe.tags,
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": pe.resource_guid,
            "privateLinkServiceConnections": auto,
            "manualPrivateLinkServiceConnections": manual,
            "customNetworkInterfaceName": pe.custom_network_interface_name.clone().unwrap_or_default(),
            "subnet": {"id": pe.subnet_id},
            "ipConfigurations": [],
            "networkInterfaces": [{"id": pe.network_interface_id}],
            "customDnsConfigs": fqdns.iter().map(|f| json!({"fqdn": f, "ipAddresses": [pe.private_ip_address]})).collect::<Vec<_>>(),
            "ipVersionType": "IPv4",
        },
    })
}
