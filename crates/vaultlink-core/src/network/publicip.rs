//! Public IP addresses (`az network public-ip create`): an address from vaultlink's one public
//! range, an optional DNS label, and the IP configuration that uses it (derived from the NICs).

use super::*;

/// Where every public IP address comes from: TEST-NET-1 (RFC 5737), which no other address
/// vaultlink gives out uses (vault ingress `198.18/15`, VNet outbound `198.51.100/24`, callers
/// `203.0.113/24`; docs/behaviour.md), so it is never a real host and never clashes.
/// The range's network address and prefix length: `192.0.2.0/24`.
pub const PUBLIC_RANGE: (Ipv4Addr, u8) = (Ipv4Addr::new(192, 0, 2, 0), 24);

/// Azure's bounds of `idleTimeoutInMinutes`, and its default.
pub const IDLE_TIMEOUT_MINUTES: std::ops::RangeInclusive<u32> = 4..=30;
const DEFAULT_IDLE_TIMEOUT: u32 = 4;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpSpec {
    pub location: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub sku: Option<SkuSpec>,
    #[serde(default)]
    pub properties: PublicIpPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuSpec {
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpPropertiesSpec {
    #[serde(rename = "publicIPAllocationMethod")]
    pub allocation_method: Option<String>,
    #[serde(rename = "publicIPAddressVersion")]
    pub address_version: Option<String>,
    pub idle_timeout_in_minutes: Option<i64>,
    pub dns_settings: Option<DnsSettingsSpec>,
    pub delete_option: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsSettingsSpec {
    pub domain_name_label: Option<String>,
}

/// PUT a public IP address. Returns (address, created).
pub fn put_public_ip(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
    spec: PublicIpSpec,
) -> Result<(PublicIpAddress, bool)> {
    vaultlink_rules::network_resource_name(name)?;
    let group = resources::resource_group(state, caller, sub, rg)?;
    let location = resources::location(&spec.location)?;
    let id = network_id(sub, &group.name, "publicIPAddresses", name);
    let existing = public_ip(state, &id);
    if let Some(e) = &existing {
        same_location(&e.location, &location, name, &group.name)?;
    }
    let p = spec.properties;
    // Basic was retired in 2025: an address without a SKU is Standard (docs/behaviour.md).
    let sku = match spec.sku.and_then(|s| s.name) {
        Some(s) => one_of(&s, "sku.name", &["Basic", "Standard"])?,
        None => existing.as_ref().map_or_else(|| "Standard".to_string(), |e| e.sku.clone()),
    };
    let allocation_method = match p.allocation_method {
        Some(m) => one_of(&m, "publicIPAllocationMethod", &["Static", "Dynamic"])?,
        None if sku == "Standard" => "Static".to_string(),
        None => existing.as_ref().map_or_else(|| "Dynamic".to_string(), |e| e.allocation_method.clone()),
    };
    if sku == "Standard" && allocation_method != "Static" {
        return Err(Error::bad_request(
            "StandardSkuPublicIPAddressesMustBeStatic",
            format!("Standard sku publicIp {id} must have AllocationMethod set to Static."),
        ));
    }
    if let Some(v) = p.address_version
        && !v.eq_ignore_ascii_case("IPv4")
    {
        return Err(Error::bad_request(
            "InvalidRequestFormat",
            format!(
                "Value '{v}' is not valid for publicIPAddressVersion: vaultlink models IPv4 public addresses only."
            ),
        ));
    }
    let idle = p.idle_timeout_in_minutes.unwrap_or(i64::from(DEFAULT_IDLE_TIMEOUT));
    let idle = u32::try_from(idle).ok().filter(|m| IDLE_TIMEOUT_MINUTES.contains(m)).ok_or_else(|| {
        Error::bad_request(
            "PublicIPIdleTimeoutIsOutOfRange",
            format!(
                "Idle timeout value {idle} for public IP address {id} is out of range. The value must be between {} and {} minutes.",
                IDLE_TIMEOUT_MINUTES.start(),
                IDLE_TIMEOUT_MINUTES.end()
            ),
        )
    })?;
    let label = match p.dns_settings {
        Some(d) => d.domain_name_label.filter(|l| !l.is_empty()),
        None => existing.as_ref().and_then(|e| e.domain_name_label.clone()),
    };
    if let Some(l) = &label {
        domain_name_label_ok(l)?;
        let taken = all_public_ips(state).into_iter().any(|o| {
            !o.id.eq_ignore_ascii_case(&id)
                && o.location == location
                && o.domain_name_label.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(l))
        });
        if taken {
            return Err(Error::bad_request(
                "DnsRecordInUse",
                format!("DNS record {} is already used by another public IP.", fqdn(l, &location)),
            ));
        }
    }
    let delete_option = match p.delete_option {
        Some(o) => Some(delete_option(&o)?),
        None => existing.as_ref().and_then(|e| e.delete_option.clone()),
    };
    let ip_address = match &existing {
        Some(e) => e.ip_address.clone(),
        None => allocate_public(state, batch)?.to_string(),
    };
    let pip = PublicIpAddress {
        id: existing.as_ref().map_or(id.clone(), |e| e.id.clone()),
        name: existing.as_ref().map_or(name.to_string(), |e| e.name.clone()),
        location,
        tags: spec.tags.unwrap_or_default(),
        sku,
        allocation_method,
        idle_timeout_in_minutes: idle,
        domain_name_label: label,
        ip_address,
        resource_guid: existing.as_ref().map_or_else(guid, |e| e.resource_guid.clone()),
        etag: weak_etag(),
        delete_option,
    };
    batch.put(&pip.id, Record::PublicIpAddress(Box::new(pip.clone())));
    Ok((pip, existing.is_none()))
}

/// A `deleteOption` (of a public IP, or of the reference to one in a NIC's IP configuration).
pub(crate) fn delete_option(o: &str) -> Result<String> {
    one_of(o, "deleteOption", &["Delete", "Detach"])
}

pub fn get_public_ip(state: &State, caller: &Caller, (sub, rg, name): (&str, &str, &str)) -> Result<PublicIpAddress> {
    let group = resources::resource_group(state, caller, sub, rg)?;
    public_ip(state, &network_id(sub, rg, "publicIPAddresses", name))
        .ok_or_else(|| Error::resource_not_found(PUBLIC_IP_TYPE, name, &group.name))
}

/// DELETE a public IP address; refused while an IP configuration uses it. False: there was none.
pub fn delete_public_ip(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str)) -> Result<bool> {
    let Ok(p) = get_public_ip(state, caller, key) else {
        resources::resource_group(state, caller, key.0, key.1)?;
        return Ok(false);
    };
    if let Some(n) = nic_using_public_ip(state, &p.id) {
        return Err(Error::bad_request(
            "PublicIPAddressCannotBeDeleted",
            format!(
                "Public IP address {} can not be deleted since it is still allocated to resource {}. In order to delete the public IP, disassociate/detach the Public IP address from the resource.  To learn how to do this, see aka.ms/deletepublicip.",
                p.id,
                ip_configuration_id(&n)
            ),
        ));
    }
    batch.delete(&p.id);
    Ok(true)
}

pub fn public_ip(state: &State, id: &str) -> Option<PublicIpAddress> {
    match state.get(id) {
        Some(Record::PublicIpAddress(p)) => Some((**p).clone()),
        _ => None,
    }
}

pub fn all_public_ips(state: &State) -> Vec<PublicIpAddress> {
    state
        .of_kind(crate::model::RecordKind::PublicIpAddress)
        .filter_map(|r| match r {
            Record::PublicIpAddress(p) => Some((**p).clone()),
            _ => None,
        })
        .collect()
}

/// The client NIC whose IP configuration uses the public IP address (at most one: `put_nic`).
pub fn nic_using_public_ip(state: &State, pip_id: &str) -> Option<NetworkInterface> {
    state.of_kind(crate::model::RecordKind::NetworkInterface).find_map(|r| match r {
        Record::NetworkInterface(n)
            if n.public_ip_address_id.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(pip_id)) =>
        {
            Some((**n).clone())
        }
        _ => None,
    })
}

/// The address a NIC's traffic to the internet leaves with when its IP configuration has a
/// public IP address.
pub fn public_address_of(state: &State, nic: &NetworkInterface) -> Option<Ipv4Addr> {
    nic.public_ip_address_id.as_deref().and_then(|id| public_ip(state, id)).and_then(|p| p.ip_address.parse().ok())
}

/// `<label>.<region>.cloudapp.azure.com`, as Azure names a public IP's DNS label.
pub fn fqdn(label: &str, location: &str) -> String {
    format!("{}.{location}.cloudapp.azure.com", label.to_ascii_lowercase())
}

/// Azure's rule for a domain name label: `^[a-z][a-z0-9-]{1,61}[a-z0-9]$`.
fn domain_name_label_ok(label: &str) -> Result<()> {
    let b = label.as_bytes();
    let ok = match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            (3..=63).contains(&b.len())
                && first.is_ascii_lowercase()
                && (last.is_ascii_lowercase() || last.is_ascii_digit())
                && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(
            "InvalidDomainNameLabel",
            format!(
                "The domain name label {label} is invalid. It must conform to the following regular expression: ^[a-z][a-z0-9-]{{1,61}}[a-z0-9]$."
            ),
        ))
    }
}

/// The lowest free address of [`PUBLIC_RANGE`] (its network and broadcast addresses excepted),
/// counting the ones written earlier in this same batch.
fn allocate_public(state: &State, batch: &Batch) -> Result<Ipv4Addr> {
    let mut used: BTreeSet<Ipv4Addr> = all_public_ips(state).iter().filter_map(|p| p.ip_address.parse().ok()).collect();
    used.extend(batch.puts().filter_map(|(_, r)| match r {
        Record::PublicIpAddress(p) => p.ip_address.parse::<Ipv4Addr>().ok(),
        _ => None,
    }));
    let (network, prefix_len) = PUBLIC_RANGE;
    let first = u32::from(network);
    let size = 1u32 << (32 - prefix_len);
    (first + 1..first + size - 1).map(Ipv4Addr::from).find(|a| !used.contains(a)).ok_or_else(|| {
        count_limit(
            "PublicIPCountLimitReached",
            (size - 2) as usize,
            "public IP addresses",
            &format!("vaultlink's public range {network}/{prefix_len}"),
        )
    })
}

pub fn render_public_ip(state: &State, p: &PublicIpAddress) -> Value {
    let user = nic_using_public_ip(state, &p.id);
    let mut props = json!({
        "provisioningState": "Succeeded",
        "resourceGuid": p.resource_guid,
        "publicIPAddressVersion": "IPv4",
        "publicIPAllocationMethod": p.allocation_method,
        "idleTimeoutInMinutes": p.idle_timeout_in_minutes,
        "ipTags": [],
        "ddosSettings": {"protectionMode": "VirtualNetworkInherited"},
    });
    // A Dynamic address is shown only while something uses it, as Azure shows it.
    if p.allocation_method == "Static" || user.is_some() {
        props["ipAddress"] = json!(p.ip_address);
    }
    if let Some(l) = &p.domain_name_label {
        props["dnsSettings"] = json!({"domainNameLabel": l, "fqdn": fqdn(l, &p.location)});
    }
    if let Some(n) = &user {
        props["ipConfiguration"] = json!({"id": ip_configuration_id(n)});
    }
    if let Some(o) = &p.delete_option {
        props["deleteOption"] = json!(o);
    }
    wire::omit_empty_tags(json!({
        "name": p.name, "id": p.id, "etag": p.etag, "type": PUBLIC_IP_TYPE, "location": p.location,
        "tags": p.tags, "sku": {"name": p.sku, "tier": "Regional"}, "properties": props,
    }))
}
