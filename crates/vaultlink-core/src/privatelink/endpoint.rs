//! Private endpoints: the NIC in the subnet and the connection they ask of the vault.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{connections, zonegroups};
use crate::engine::{Batch, State, guid, weak_etag};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{
    EndpointConnection, NetworkInterface, PrivateEndpoint, PrivateLinkConnectionProperties, Record, Tags,
};
use crate::network::{
    IdRef, allocate, id_parts, invalid_reference, mac_address, network_id, nic, subnet, vnet, vnet_of_subnet,
};
use crate::resources;
use crate::wire;

pub const PE_TYPE: &str = "Microsoft.Network/privateEndpoints";
/// `requestMessage` limit on a private endpoint connection (azure-behaviour.md §3.1).
pub const MAX_REQUEST_MESSAGE: usize = 140;
/// Private endpoints per virtual network (Azure's Private Link limits; per subnet, the subnet's
/// free addresses are the bound).
pub const MAX_ENDPOINTS_PER_VNET: usize = 1000;

pub fn endpoint(state: &State, id: &str) -> Option<PrivateEndpoint> {
    match state.get(id) {
        Some(Record::PrivateEndpoint(p)) => Some((**p).clone()),
        _ => None,
    }
}

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
    spec: EndpointSpec,
) -> Result<(PrivateEndpoint, bool)> {
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
        batch.put(&updated.id, Record::PrivateEndpoint(Box::new(updated.clone())));
        return Ok((updated, false));
    }

    let in_vnet = state
        .of_kind(crate::model::RecordKind::PrivateEndpoint)
        .filter(|r| matches!(r, Record::PrivateEndpoint(e) if vnet_of_subnet(&e.subnet_id).eq_ignore_ascii_case(&v.id)))
        .count();
    if in_vnet >= MAX_ENDPOINTS_PER_VNET {
        let within = format!("virtual network {}", v.id);
        return Err(crate::network::count_limit(
            "PrivateEndpointCountLimitReached",
            MAX_ENDPOINTS_PER_VNET,
            "private endpoints",
            &within,
        ));
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
        Record::NetworkInterface(Box::new(NetworkInterface {
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
            network_security_group_id: None,
            public_ip_address_id: None,
        })),
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
    batch.put(&id, Record::PrivateEndpoint(Box::new(pe.clone())));
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
    for g in zonegroups::of_endpoint(state, &pe.id) {
        zonegroups::remove_records(state, batch, &g);
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
    wire::omit_empty_tags(json!({
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
    }))
}
