//! Virtual networks and their subnets.

use super::*;

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
    spec: VnetSpec,
) -> Result<(VirtualNetwork, bool)> {
    vaultlink_rules::network_resource_name(name)?;
    let group = resources::resource_group(state, caller, sub, rg)?;
    let location = resources::location(&spec.location)?;
    let id = network_id(sub, &group.name, "virtualNetworks", name);
    let existing = vnet(state, &id);
    let listed = spec.properties.address_space.map(|a| a.address_prefixes).unwrap_or_default();
    if listed.len() > MAX_ADDRESS_PREFIXES {
        let within = format!("the address space of virtual network {id}");
        return Err(count_limit("AddressPrefixCountLimitReached", MAX_ADDRESS_PREFIXES, "address prefixes", &within));
    }
    let prefixes: Vec<Ipv4Cidr> = listed.iter().map(|p| prefix_for(p, &id)).collect::<Result<_>>()?;
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
    if dns_servers.len() > MAX_DNS_SERVERS {
        let within = format!("virtual network {id}");
        return Err(count_limit("DnsServerCountLimitReached", MAX_DNS_SERVERS, "DNS servers", &within));
    }
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
            if wanted.len() > MAX_SUBNETS {
                return Err(count_limit(
                    "SubnetCountLimitReached",
                    MAX_SUBNETS,
                    "subnets",
                    &format!("virtual network {}", v.id),
                ));
            }
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
                batch.put(&subnet.id.clone(), Record::Subnet(Box::new(subnet)));
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
    batch.put(&v.id, Record::VirtualNetwork(Box::new(v.clone())));
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
    if let Some(i) = onprem::all_inbound(state).find(|i| i.subnet_id.eq_ignore_ascii_case(&s.id)) {
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
    // The state's index, not `privatedns` (which builds on this folder).
    let links: Vec<String> = state
        .links_of_vnet(vnet_id)
        .filter_map(|r| match r {
            Record::VirtualNetworkLink(l) => Some(l.id.clone()),
            _ => None,
        })
        .collect();
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
    spec: SubnetSpec,
) -> Result<(Subnet, bool)> {
    let v = get_vnet(state, caller, (sub, rg, vnet_name))?;
    let siblings: Vec<(String, Ipv4Cidr)> = subnets_of(state, &v.id)
        .into_iter()
        .filter(|s| !s.name.eq_ignore_ascii_case(name))
        .map(|s| Ok((s.name.clone(), cidr(&s.address_prefix)?)))
        .collect::<Result<_>>()?;
    let created = subnet(state, &format!("{}/subnets/{name}", v.id)).is_none();
    if created && siblings.len() >= MAX_SUBNETS {
        return Err(count_limit(
            "SubnetCountLimitReached",
            MAX_SUBNETS,
            "subnets",
            &format!("virtual network {}", v.id),
        ));
    }
    let s = build_subnet(state, &v, name, spec.properties, &siblings)?;
    batch.put(&s.id, Record::Subnet(Box::new(s.clone())));
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
        "virtualNetworkPeerings": state.descendants(&format!("{}/virtualNetworkPeerings", v.id)).filter_map(|(_, r)| match r { Record::VirtualNetworkPeering(p) => Some(peering::render(state, p)), _ => None }).collect::<Vec<_>>(),
        "enableDdosProtection": false,
        "privateEndpointVNetPolicies": "Disabled",
    });
    if !v.dns_servers.is_empty() {
        props["dhcpOptions"] = json!({"dnsServers": v.dns_servers});
    }
    wire::omit_empty_tags(
        json!({"name": v.name, "id": v.id, "etag": v.etag, "type": VNET_TYPE, "location": v.location, "tags": v.tags, "properties": props}),
    )
}
