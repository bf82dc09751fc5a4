//! On-premises networks (joined to a VNet by a gateway; vaultlink's own object) and the minimal
//! DNS Private Resolver (`Microsoft.Network/dnsResolvers` with `inboundEndpoints`) that conditional
//! forwarders point at (azure-behaviour.md §1.8).

use std::net::Ipv4Addr;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Batch, State, guid, weak_etag};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{DnsResolver, InboundEndpoint, OnPremisesNetwork, Record, Tags};
use crate::wire;
use crate::{network, resources};

pub const RESOLVER_TYPE: &str = "Microsoft.Network/dnsResolvers";
pub const INBOUND_TYPE: &str = "Microsoft.Network/dnsResolvers/inboundEndpoints";

pub fn onprem_id(name: &str) -> String {
    format!("/vaultlink/onPremisesNetworks/{name}")
}

pub fn all_onprem(state: &State) -> Vec<OnPremisesNetwork> {
    state
        .descendants("/vaultlink/onPremisesNetworks")
        .filter_map(|(_, r)| match r {
            Record::OnPremisesNetwork(o) => Some((**o).clone()),
            _ => None,
        })
        .collect()
}

pub fn onprem(state: &State, name_or_id: &str) -> Option<OnPremisesNetwork> {
    all_onprem(state)
        .into_iter()
        .find(|o| o.name.eq_ignore_ascii_case(name_or_id) || o.id.eq_ignore_ascii_case(name_or_id))
}

/// Every inbound endpoint, anywhere.
pub fn all_inbound(state: &State) -> impl Iterator<Item = &InboundEndpoint> {
    state.of_kind(crate::model::RecordKind::InboundEndpoint).filter_map(|r| match r {
        Record::InboundEndpoint(i) => Some(&**i),
        _ => None,
    })
}

/// The VNet whose Azure DNS an inbound endpoint at `address` answers for.
pub fn resolver_vnet_at(state: &State, address: &str) -> Option<String> {
    let ep = all_inbound(state).find(|i| i.private_ip_address == address)?;
    match state.get(&ep.resolver_id) {
        Some(Record::DnsResolver(r)) => Some(r.virtual_network_id.clone()),
        _ => None,
    }
}

/// Creates or replaces an on-premises network. `forwarders` are `zone=address` pairs.
pub fn put_onprem(
    state: &State,
    batch: &mut Batch,
    name: &str,
    gateway_vnet: &str,
    address_space: &str,
    forwarders: &[(String, String)],
) -> Result<OnPremisesNetwork> {
    vaultlink_rules::network_resource_name(name)?;
    let vnet = network::vnet(state, gateway_vnet)
        .or_else(|| network::all_vnets(state).into_iter().find(|v| v.name.eq_ignore_ascii_case(gateway_vnet)))
        .ok_or_else(|| {
            Error::bad_request("InvalidResourceReference", format!("Virtual network {gateway_vnet} was not found."))
        })?;
    let space: vaultlink_rules::Ipv4Cidr = vaultlink_rules::address_prefix(address_space, &onprem_id(name))?;
    if space.size() < 64 {
        return Err(Error::bad_request(
            "BadRequest",
            "The on-premises address space must hold at least 64 addresses (a /26).",
        ));
    }
    for p in &vnet.address_prefixes {
        if p.parse::<vaultlink_rules::Ipv4Cidr>().is_ok_and(|v| v.overlaps(&space)) {
            return Err(Error::bad_request(
                "BadRequest",
                format!("The on-premises address space {space} overlaps virtual network {} ({p}).", vnet.name),
            ));
        }
    }
    let mut fwd = Vec::new();
    for (zone, target) in forwarders {
        let target: Ipv4Addr = target.parse().map_err(|_| {
            Error::bad_request("BadRequest", format!("Forwarder target {target} is not an IPv4 address."))
        })?;
        fwd.push((zone.trim_end_matches('.').to_ascii_lowercase(), target.to_string()));
    }
    let base = u32::from(space.network());
    let h = vaultlink_crypto::sha256(name.as_bytes());
    let o = OnPremisesNetwork {
        id: onprem_id(name),
        name: name.to_string(),
        gateway_vnet_id: vnet.id.clone(),
        address_space: space.to_string(),
        client_address: Ipv4Addr::from(base + 10).to_string(),
        dns_server: Ipv4Addr::from(base + 53).to_string(),
        public_address: Ipv4Addr::new(203, 0, 113, 100 + h[0] % 100).to_string(),
        forwarders: fwd,
    };
    batch.put(&o.id, Record::OnPremisesNetwork(Box::new(o.clone())));
    Ok(o)
}

pub fn delete_onprem(state: &State, batch: &mut Batch, name: &str) -> bool {
    match onprem(state, name) {
        Some(o) => {
            batch.delete(&o.id);
            true
        }
        None => false,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolverSpec {
    pub location: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    pub properties: ResolverPropertiesSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolverPropertiesSpec {
    pub virtual_network: network::IdRef,
}

pub fn put_resolver(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
    spec: ResolverSpec,
) -> Result<(DnsResolver, bool)> {
    vaultlink_rules::network_resource_name(name)?;
    let group = resources::resource_group(state, caller, sub, rg)?;
    let location = resources::location(&spec.location)?;
    let id = network::network_id(sub, &group.name, "dnsResolvers", name);
    let vnet = network::vnet(state, &spec.properties.virtual_network.id).ok_or_else(|| {
        Error::bad_request(
            "InvalidResourceReference",
            format!("Resource {} referenced by resource {id} was not found.", spec.properties.virtual_network.id),
        )
    })?;
    if vnet.location != location {
        return Err(Error::bad_request(
            "InvalidResourceReference",
            format!("The DNS resolver must be in the region of virtual network {} ({}).", vnet.name, vnet.location),
        ));
    }
    let existing = match state.get(&id) {
        Some(Record::DnsResolver(r)) => Some(r.clone()),
        _ => None,
    };
    let r = DnsResolver {
        id: id.clone(),
        name: name.to_string(),
        location,
        tags: spec.tags.unwrap_or_default(),
        virtual_network_id: vnet.id,
        resource_guid: existing.as_ref().map_or_else(guid, |e| e.resource_guid.clone()),
        etag: weak_etag(),
    };
    batch.put(&id, Record::DnsResolver(Box::new(r.clone())));
    Ok((r, existing.is_none()))
}

pub fn get_resolver(state: &State, caller: &Caller, (sub, rg, name): (&str, &str, &str)) -> Result<DnsResolver> {
    let group = resources::resource_group(state, caller, sub, rg)?;
    match state.get(&network::network_id(sub, rg, "dnsResolvers", name)) {
        Some(Record::DnsResolver(r)) => Ok((**r).clone()),
        _ => Err(Error::resource_not_found(RESOLVER_TYPE, name, &group.name)),
    }
}

pub fn delete_resolver(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str)) -> Result<bool> {
    match get_resolver(state, caller, key) {
        Ok(r) => {
            batch.delete_tree(state, &r.id);
            Ok(true)
        }
        Err(e) if e.kind == crate::error::Kind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundSpec {
    pub location: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    pub properties: InboundPropertiesSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundPropertiesSpec {
    pub ip_configurations: Vec<InboundIpConfigSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundIpConfigSpec {
    pub subnet: network::IdRef,
    pub private_ip_address: Option<String>,
}

pub fn put_inbound(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, resolver, name): (&str, &str, &str, &str),
    spec: InboundSpec,
) -> Result<(InboundEndpoint, bool)> {
    let r = get_resolver(state, caller, (sub, rg, resolver))?;
    vaultlink_rules::network_resource_name(name)?;
    let id = format!("{}/inboundEndpoints/{name}", r.id);
    if let Some(Record::InboundEndpoint(e)) = state.get(&id) {
        let mut e = e.clone();
        e.tags = spec.tags.unwrap_or_default();
        batch.put(&id, Record::InboundEndpoint(e.clone()));
        return Ok((*e, false));
    }
    let [ipc] = spec.properties.ip_configurations.as_slice() else {
        return Err(Error::bad_request("BadRequest", "An inbound endpoint needs exactly one IP configuration."));
    };
    let subnet = network::subnet(state, &ipc.subnet.id).ok_or_else(|| {
        Error::bad_request(
            "InvalidResourceReference",
            format!("Resource {} referenced by resource {id} was not found.", ipc.subnet.id),
        )
    })?;
    if !network::vnet_of_subnet(&subnet.id).eq_ignore_ascii_case(&r.virtual_network_id) {
        return Err(Error::bad_request(
            "BadRequest",
            "The inbound endpoint's subnet must be in the resolver's virtual network.",
        ));
    }
    // The subnet is dedicated to the resolver (azure-behaviour.md §1.8).
    if !network::nics_in_subnet(state, &subnet.id).is_empty()
        || all_inbound(state).any(|i| i.subnet_id.eq_ignore_ascii_case(&subnet.id))
    {
        return Err(Error::bad_request(
            "SubnetInUse",
            format!("Subnet {} is in use; a DNS resolver endpoint needs a dedicated subnet.", subnet.id),
        ));
    }
    let address = network::allocate(state, batch, &subnet, ipc.private_ip_address.as_deref())?;
    let e = InboundEndpoint {
        id: id.clone(),
        name: name.to_string(),
        location: r.location.clone(),
        tags: spec.tags.unwrap_or_default(),
        resolver_id: r.id.clone(),
        subnet_id: subnet.id.clone(),
        private_ip_address: address,
        etag: weak_etag(),
    };
    batch.put(&id, Record::InboundEndpoint(Box::new(e.clone())));
    Ok((e, true))
}

pub fn get_inbound(
    state: &State,
    caller: &Caller,
    (sub, rg, resolver, name): (&str, &str, &str, &str),
) -> Result<InboundEndpoint> {
    let r = get_resolver(state, caller, (sub, rg, resolver))?;
    match state.get(&format!("{}/inboundEndpoints/{name}", r.id)) {
        Some(Record::InboundEndpoint(e)) => Ok((**e).clone()),
        _ => Err(Error::not_found("NotFound", format!("Resource {}/inboundEndpoints/{name} not found.", r.id))),
    }
}

pub fn render_resolver(r: &DnsResolver) -> Value {
    wire::omit_empty_tags(json!({
        "id": r.id, "name": r.name, "type": RESOLVER_TYPE, "location": r.location, "tags": r.tags, "etag": r.etag,
        "properties": {"virtualNetwork": {"id": r.virtual_network_id}, "dnsResolverState": "Connected", "provisioningState": "Succeeded", "resourceGuid": r.resource_guid},
    }))
}

pub fn render_inbound(e: &InboundEndpoint) -> Value {
    wire::omit_empty_tags(json!({
        "id": e.id, "name": e.name, "type": INBOUND_TYPE, "location": e.location, "tags": e.tags, "etag": e.etag,
        "properties": {
            "ipConfigurations": [{"subnet": {"id": e.subnet_id}, "privateIpAddress": e.private_ip_address, "privateIpAllocationMethod": "Dynamic"}],
            "provisioningState": "Succeeded",
        },
    }))
}

pub fn render_onprem(o: &OnPremisesNetwork) -> Value {
    json!({
        "name": o.name, "gatewayVirtualNetwork": o.gateway_vnet_id, "addressSpace": o.address_space,
        "clientAddress": o.client_address, "dnsServer": o.dns_server, "publicAddress": o.public_address,
        "forwarders": o.forwarders.iter().map(|(z, t)| json!({"zone": z, "target": t})).collect::<Vec<_>>(),
    })
}
