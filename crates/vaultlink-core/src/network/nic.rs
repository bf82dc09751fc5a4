//! Client network interfaces (`az network nic create`), with their network security group and
//! public IP address; endpoint NICs are read-only.

use super::*;

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
    pub network_security_group: Option<IdRef>,
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
    #[serde(rename = "publicIPAddress")]
    pub public_ip_address: Option<PublicIpRef>,
}

/// A NIC's reference to its public IP address; the Azure portal's VM template sets the address's
/// `deleteOption` here.
#[derive(Debug, Deserialize)]
pub struct PublicIpRef {
    pub id: String,
    #[serde(default)]
    pub properties: Option<PublicIpRefProperties>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpRefProperties {
    pub delete_option: Option<String>,
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
    spec: NicSpec,
) -> Result<(NetworkInterface, bool)> {
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
    let ip_configuration_name = ipc.name.clone().unwrap_or_else(|| "ipconfig1".into());
    let stored_id = existing.as_ref().map_or(id.clone(), |e| e.id.clone());
    let network_security_group_id = match &spec.properties.network_security_group {
        Some(r) => Some(
            nsg(state, &r.id)
                .filter(|g| g.location == location)
                .map(|g| g.id)
                .ok_or_else(|| invalid_reference(&r.id, &id))?,
        ),
        None => None,
    };
    let public_ip_address_id = match &ipc.properties.public_ip_address {
        Some(r) => {
            let mut p = public_ip(state, &r.id)
                .filter(|p| p.location == location)
                .ok_or_else(|| invalid_reference(&r.id, &id))?;
            if let Some(other) = nic_using_public_ip(state, &p.id).filter(|o| !o.id.eq_ignore_ascii_case(&id)) {
                return Err(Error::bad_request(
                    "PublicIPAddressInUse",
                    format!(
                        "Resource {stored_id}/ipConfigurations/{ip_configuration_name} is referencing public IP address {} that is already allocated to resource {}.",
                        p.id,
                        ip_configuration_id(&other)
                    ),
                ));
            }
            if let Some(o) = r.properties.as_ref().and_then(|x| x.delete_option.as_deref()) {
                p.delete_option = Some(delete_option(o)?);
                p.etag = weak_etag();
                batch.put(&p.id, Record::PublicIpAddress(Box::new(p.clone())));
            }
            Some(p.id)
        }
        None => None,
    };
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
        id: stored_id,
        name: existing.as_ref().map_or(name.to_string(), |e| e.name.clone()),
        location,
        tags: spec.tags.unwrap_or_default(),
        subnet_id: s.id.clone(),
        ip_configuration_name,
        private_ip_address: address,
        private_ip_allocation_method: if static_ip { "Static".into() } else { "Dynamic".into() },
        private_endpoint_id: None,
        private_link: None,
        resource_guid: existing.as_ref().map_or_else(guid, |e| e.resource_guid.clone()),
        mac_address: existing.as_ref().map_or_else(mac_address, |e| e.mac_address.clone()),
        etag: weak_etag(),
        network_security_group_id,
        public_ip_address_id,
    };
    batch.put(&n.id, Record::NetworkInterface(Box::new(n.clone())));
    Ok((n, existing.is_none()))
}

pub(crate) fn mac_address() -> String {
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
    if let Some(p) = &n.public_ip_address_id {
        ipc_props["publicIPAddress"] = json!({"id": p});
    }
    let mut props = json!({
        "provisioningState": "Succeeded",
        "resourceGuid": n.resource_guid,
        "ipConfigurations": [{
            "name": n.ip_configuration_name,
            "id": ip_configuration_id(n),
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
    if let Some(g) = &n.network_security_group_id {
        props["networkSecurityGroup"] = json!({"id": g});
    }
    wire::omit_empty_tags(
        json!({"name": n.name, "id": n.id, "etag": n.etag, "type": NIC_TYPE, "location": n.location, "tags": n.tags, "kind": "Regular", "properties": props}),
    )
}
