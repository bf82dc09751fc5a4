//! Microsoft.Network/privateDnsZones: zones (with their SOA), virtual network links, record sets.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Batch, State, guid};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{PrivateDnsZone, Record, RecordData, RecordSet, Soa, Tags, VirtualNetworkLink};
use crate::resources;

pub const ZONE_TYPE: &str = "Microsoft.Network/privateDnsZones";
pub const LINK_TYPE: &str = "Microsoft.Network/privateDnsZones/virtualNetworkLinks";
/// Record types private zones accept (azure-dns-details.md §1).
pub const RECORD_TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "PTR", "SOA", "SRV", "TXT"];
/// Limits of a private zone (Azure DNS limits).
pub const MAX_RECORD_SETS: usize = 25_000;
pub const MAX_LINKS: usize = 1000;
pub const MAX_REGISTRATION_LINKS: usize = 100;
pub const MAX_RECORDS_PER_SET: usize = 20;

pub fn zone_id(sub: &str, rg: &str, zone: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/privateDnsZones/{}",
        zone.to_ascii_lowercase()
    )
}

fn canonical_type(t: &str) -> Result<&'static str> {
    RECORD_TYPES.iter().copied().find(|x| x.eq_ignore_ascii_case(t)).ok_or_else(|| {
        Error::bad_request("InvalidRecordType", format!("The record type '{t}' is not supported in private DNS zones."))
    })
}

pub fn zone(state: &State, id: &str) -> Option<PrivateDnsZone> {
    match state.get(id) {
        Some(Record::PrivateDnsZone(z)) => Some(z.clone()),
        _ => None,
    }
}

pub fn all_zones(state: &State) -> impl Iterator<Item = &PrivateDnsZone> {
    state.of_kind(crate::model::RecordKind::PrivateDnsZone).filter_map(|r| match r {
        Record::PrivateDnsZone(z) => Some(z),
        _ => None,
    })
}

pub fn get_zone(state: &State, caller: &Caller, (sub, rg, name): (&str, &str, &str)) -> Result<PrivateDnsZone> {
    let group = resources::resource_group(state, caller, sub, rg)?;
    zone(state, &zone_id(sub, rg, name)).ok_or_else(|| Error::resource_not_found(ZONE_TYPE, name, &group.name))
}

/// The zone a nested operation (link, record set) needs: ARM's `ParentResourceNotFound` otherwise.
fn parent_zone(state: &State, caller: &Caller, (sub, rg, name): (&str, &str, &str)) -> Result<PrivateDnsZone> {
    resources::resource_group(state, caller, sub, rg)?;
    zone(state, &zone_id(sub, rg, name)).ok_or_else(|| {
        Error::not_found(
            "ParentResourceNotFound",
            format!(
                "Can not perform requested operation on nested resource. Parent resource '{}' not found.",
                name.to_ascii_lowercase()
            ),
        )
    })
}

pub fn links_of(state: &State, zone_id: &str) -> Vec<VirtualNetworkLink> {
    state
        .descendants(&format!("{zone_id}/virtualNetworkLinks"))
        .filter_map(|(_, r)| match r {
            Record::VirtualNetworkLink(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

/// The private DNS zone links that point at the virtual network `vnet_id` (an index lookup).
pub fn links_of_vnet<'a>(state: &'a State, vnet_id: &str) -> impl Iterator<Item = &'a VirtualNetworkLink> + 'a {
    state.links_of_vnet(vnet_id).filter_map(|r| match r {
        Record::VirtualNetworkLink(l) => Some(l),
        _ => None,
    })
}

/// The zone's record sets: the stored ones plus the A records auto-registration keeps for the
/// machines of every VNet linked with `registrationEnabled` (azure-behaviour.md §1.5). vaultlink
/// has no VMs: a client NIC registers under its own name. A stored record set of the same name
/// wins, as a manual record overrides an auto-registered one in Azure.
pub fn record_sets_of(state: &State, zone_id: &str) -> Vec<RecordSet> {
    let mut sets: Vec<RecordSet> = state
        .descendants(zone_id)
        .filter_map(|(_, r)| match r {
            Record::RecordSet(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let auto = auto_registered(state, zone_id, None, |name| sets.iter().any(|s| s.name.eq_ignore_ascii_case(name)));
    sets.extend(auto);
    sets
}

/// How many record sets a zone has (stored and auto-registered), without copying them.
pub fn record_set_count(state: &State, zone_id: &str) -> usize {
    let auto = auto_registered(state, zone_id, None, |name| state.zone_has_exactly(zone_id, name));
    state.zone_record_sets(zone_id) + auto.len()
}

/// The record sets named `name` (relative, any casing) in a zone: the stored ones (a lookup per
/// record type, whatever the zone's size), else an auto-registered one.
pub fn record_sets_named(state: &State, zone_id: &str, name: &str) -> Vec<RecordSet> {
    let name = name.to_ascii_lowercase();
    let stored: Vec<RecordSet> = RECORD_TYPES
        .iter()
        .filter_map(|t| match state.get(&format!("{zone_id}/{t}/{name}")) {
            Some(Record::RecordSet(s)) => Some(s.clone()),
            _ => None,
        })
        .collect();
    if !stored.is_empty() {
        return stored;
    }
    auto_registered(state, zone_id, Some(&name), |_| false)
}

/// The A records Azure DNS registers for the client NICs of VNets linked with registration on
/// (only `only`, when given), except names `taken` by a stored record set.
fn auto_registered(state: &State, zone_id: &str, only: Option<&str>, taken: impl Fn(&str) -> bool) -> Vec<RecordSet> {
    let mut sets: Vec<RecordSet> = Vec::new();
    let registering: Vec<String> =
        links_of(state, zone_id).into_iter().filter(|l| l.registration_enabled).map(|l| l.virtual_network_id).collect();
    for vnet_id in registering {
        for (_, r) in state.descendants(&format!("{vnet_id}/subnets")) {
            let Record::Subnet(subnet) = r else { continue };
            for nic in crate::network::nics_in_subnet(state, &subnet.id)
                .into_iter()
                .filter(|n| n.private_endpoint_id.is_none())
            {
                let name = nic.name.to_ascii_lowercase();
                if only.is_some_and(|o| o != name)
                    || vaultlink_rules::record_set_name(&name).is_err()
                    || taken(&name)
                    || sets.iter().any(|s| s.name == name)
                {
                    continue;
                }
                sets.push(RecordSet {
                    id: format!("{zone_id}/A/{name}"),
                    zone_id: zone_id.to_string(),
                    record_type: "A".into(),
                    name,
                    ttl: AUTO_REGISTERED_TTL,
                    metadata: Tags::new(),
                    data: RecordData { a: vec![nic.private_ip_address.clone()], ..RecordData::default() },
                    auto_registered: true,
                    etag: nic.resource_guid.clone(),
                });
            }
        }
    }
    sets
}

/// TTL of auto-registered records (Azure uses 10 s).
pub const AUTO_REGISTERED_TTL: u32 = 10;

/// Checks `If-Match` / `If-None-Match` against the current etag (None = absent).
pub fn check_preconditions(current: Option<&str>, if_match: Option<&str>, if_none_match: Option<&str>) -> Result<()> {
    if let Some(m) = if_match {
        let ok = match current {
            Some(etag) => m == "*" || m.trim_matches('"') == etag.trim_matches('"'),
            None => false,
        };
        if !ok {
            return Err(Error::precondition(match current {
                Some(_) => "The etag provided in the If-Match header does not match the current etag of the resource.",
                None => "The resource does not exist, so the If-Match precondition cannot be met.",
            }));
        }
    }
    if let Some(n) = if_none_match
        && current.is_some()
        && (n == "*" || current.is_some_and(|c| c.trim_matches('"') == n.trim_matches('"')))
    {
        return Err(Error::precondition("The resource already exists, so the If-None-Match precondition is not met."));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneSpec {
    pub location: Option<String>,
    #[serde(default)]
    pub tags: Option<Tags>,
}

/// Preconditions a request carries.
#[derive(Debug, Default, Clone, Copy)]
pub struct Preconditions<'a> {
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
}

pub fn put_zone(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
    spec: ZoneSpec,
    pre: Preconditions<'_>,
) -> Result<(PrivateDnsZone, bool)> {
    vaultlink_rules::private_dns_zone_name(name)?;
    let group = resources::resource_group(state, caller, sub, rg)?;
    if let Some(l) = &spec.location
        && !l.eq_ignore_ascii_case("global")
    {
        return Err(Error::bad_request(
            "InvalidLocation",
            format!("The location '{l}' is not valid for private DNS zones; it must be 'global'."),
        ));
    }
    let id = zone_id(sub, &group.name, name);
    let existing = zone(state, &id);
    check_preconditions(existing.as_ref().map(|z| z.etag.as_str()), pre.if_match, pre.if_none_match)?;
    let z = PrivateDnsZone {
        id: id.clone(),
        name: name.to_ascii_lowercase(),
        tags: spec.tags.unwrap_or_default(),
        internal_id: existing.as_ref().map_or_else(guid, |e| e.internal_id.clone()),
        etag: guid(),
    };
    if existing.is_none() {
        let soa = RecordSet {
            id: format!("{id}/SOA/@"),
            zone_id: id.clone(),
            record_type: "SOA".into(),
            name: "@".into(),
            ttl: 3600,
            metadata: Tags::new(),
            data: RecordData {
                soa: Some(Soa {
                    email: "azureprivatedns-host.microsoft.com".into(),
                    expire_time: 2_419_200,
                    host: "azureprivatedns.net".into(),
                    minimum_ttl: 10,
                    refresh_time: 3600,
                    retry_time: 300,
                    serial_number: 1,
                }),
                ..RecordData::default()
            },
            auto_registered: false,
            etag: guid(),
        };
        batch.put(&soa.id.clone(), Record::RecordSet(soa));
    }
    batch.put(&id, Record::PrivateDnsZone(z.clone()));
    Ok((z, existing.is_none()))
}

pub fn patch_zone(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    key: (&str, &str, &str),
    spec: ZoneSpec,
    pre: Preconditions<'_>,
) -> Result<PrivateDnsZone> {
    let mut z = get_zone(state, caller, key)?;
    check_preconditions(Some(&z.etag), pre.if_match, pre.if_none_match)?;
    if let Some(t) = spec.tags {
        z.tags = t;
    }
    z.etag = guid();
    batch.put(&z.id, Record::PrivateDnsZone(z.clone()));
    Ok(z)
}

pub fn delete_zone(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    key: (&str, &str, &str),
    pre: Preconditions<'_>,
) -> Result<bool> {
    let Ok(z) = get_zone(state, caller, key) else {
        resources::resource_group(state, caller, key.0, key.1)?;
        return Ok(false);
    };
    check_preconditions(Some(&z.etag), pre.if_match, pre.if_none_match)?;
    if !links_of(state, &z.id).is_empty() {
        return Err(Error::bad_request(
            "CannotDeleteResource",
            format!(
                "Private DNS zone '{}' has virtual network links. Delete the virtual network links before deleting the zone.",
                z.name
            ),
        ));
    }
    batch.delete_tree(state, &z.id);
    Ok(true)
}

pub fn render_zone(state: &State, z: &PrivateDnsZone) -> Value {
    let links = links_of(state, &z.id);
    json!({
        "id": z.id,
        "name": z.name,
        "type": ZONE_TYPE,
        "etag": z.etag,
        "location": "global",
        "tags": z.tags,
        "properties": {
            "maxNumberOfRecordSets": MAX_RECORD_SETS,
            "maxNumberOfVirtualNetworkLinks": MAX_LINKS,
            "maxNumberOfVirtualNetworkLinksWithRegistration": MAX_REGISTRATION_LINKS,
            "numberOfRecordSets": record_set_count(state, &z.id),
            "numberOfVirtualNetworkLinks": links.len(),
            "numberOfVirtualNetworkLinksWithRegistration": links.iter().filter(|l| l.registration_enabled).count(),
            "provisioningState": "Succeeded",
            "internalId": z.internal_id,
        },
    })
}

// ---------------------------------------------------------------- virtual network links

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkSpec {
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub properties: LinkPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkPropertiesSpec {
    pub virtual_network: Option<crate::network::IdRef>,
    pub registration_enabled: Option<bool>,
    pub resolution_policy: Option<String>,
}

pub fn put_link(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, zone_name, name): (&str, &str, &str, &str),
    spec: LinkSpec,
    pre: Preconditions<'_>,
) -> Result<(VirtualNetworkLink, bool)> {
    let z = parent_zone(state, caller, (sub, rg, zone_name))?;
    vaultlink_rules::network_resource_name(name)?;
    let id = format!("{}/virtualNetworkLinks/{name}", z.id);
    let existing = match state.get(&id) {
        Some(Record::VirtualNetworkLink(l)) => Some(l.clone()),
        _ => None,
    };
    check_preconditions(existing.as_ref().map(|l| l.etag.as_str()), pre.if_match, pre.if_none_match)?;
    let vnet_id = spec
        .properties
        .virtual_network
        .map(|v| v.id)
        .or_else(|| existing.as_ref().map(|e| e.virtual_network_id.clone()))
        .ok_or_else(|| {
            Error::bad_request("BadRequest", "The virtual network link must reference a virtual network.")
        })?;
    let vnet = crate::network::vnet(state, &vnet_id).ok_or_else(|| {
        Error::bad_request("BadRequest", format!("Virtual network '{vnet_id}' referenced by the link was not found."))
    })?;
    if let Some(e) = &existing
        && !e.virtual_network_id.eq_ignore_ascii_case(&vnet.id)
    {
        return Err(Error::bad_request("BadRequest", "The virtual network of a link cannot be changed."));
    }
    let others = links_of(state, &z.id);
    if existing.is_none() {
        if others.len() >= MAX_LINKS {
            return Err(Error::bad_request(
                "BadRequest",
                format!("The zone already has the maximum of {MAX_LINKS} virtual network links."),
            ));
        }
        if let Some(dup) = others.iter().find(|l| l.virtual_network_id.eq_ignore_ascii_case(&vnet.id)) {
            return Err(Error::conflict(
                "Conflict",
                format!(
                    "A virtual network cannot be linked to the same private zone more than once. Virtual network '{}' is already linked by '{}'.",
                    vnet.id, dup.name
                ),
            ));
        }
    }
    let registration =
        spec.properties.registration_enabled.or(existing.as_ref().map(|e| e.registration_enabled)).unwrap_or(false);
    if registration {
        // A VNet may have only one registration zone.
        let taken = links_of_vnet(state, &vnet.id).find(|l| l.registration_enabled && !l.id.eq_ignore_ascii_case(&id));
        if let Some(t) = taken {
            return Err(Error::bad_request(
                "BadRequest",
                format!(
                    "A virtual network can be linked to only one private DNS zone with auto-registration enabled. Virtual network '{}' is already registered in zone '{}'.",
                    vnet.id, t.zone_id
                ),
            ));
        }
        if existing.as_ref().is_none_or(|e| !e.registration_enabled)
            && others.iter().filter(|l| l.registration_enabled).count() >= MAX_REGISTRATION_LINKS
        {
            return Err(Error::bad_request(
                "BadRequest",
                format!("The zone already has the maximum of {MAX_REGISTRATION_LINKS} registration links."),
            ));
        }
    }
    let policy = match spec.properties.resolution_policy {
        Some(p) => ["Default", "NxDomainRedirect"]
            .iter()
            .find(|x| x.eq_ignore_ascii_case(&p))
            .map(|x| x.to_string())
            .ok_or_else(|| {
            Error::bad_request(
                "BadRequest",
                format!("The resolution policy '{p}' is not valid. Allowed values: Default, NxDomainRedirect."),
            )
        })?,
        None => existing.as_ref().map_or("Default".into(), |e| e.resolution_policy.clone()),
    };
    let link = VirtualNetworkLink {
        id: existing.as_ref().map_or(id.clone(), |e| e.id.clone()),
        name: existing.as_ref().map_or(name.to_string(), |e| e.name.clone()),
        zone_id: z.id.clone(),
        tags: spec.tags.unwrap_or_default(),
        virtual_network_id: vnet.id.clone(),
        registration_enabled: registration,
        resolution_policy: policy,
        etag: guid(),
    };
    batch.put(&link.id, Record::VirtualNetworkLink(link.clone()));
    Ok((link, existing.is_none()))
}

pub fn get_link(
    state: &State,
    caller: &Caller,
    (sub, rg, zone_name, name): (&str, &str, &str, &str),
) -> Result<VirtualNetworkLink> {
    let z = parent_zone(state, caller, (sub, rg, zone_name))?;
    match state.get(&format!("{}/virtualNetworkLinks/{name}", z.id)) {
        Some(Record::VirtualNetworkLink(l)) => Ok(l.clone()),
        _ => Err(Error::resource_not_found(LINK_TYPE, &format!("{}/{name}", z.name), rg)),
    }
}

pub fn delete_link(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    key: (&str, &str, &str, &str),
    pre: Preconditions<'_>,
) -> Result<bool> {
    let z = parent_zone(state, caller, (key.0, key.1, key.2))?;
    let Some(Record::VirtualNetworkLink(l)) = state.get(&format!("{}/virtualNetworkLinks/{}", z.id, key.3)) else {
        return Ok(false);
    };
    check_preconditions(Some(&l.etag), pre.if_match, pre.if_none_match)?;
    batch.delete(&l.id);
    Ok(true)
}

pub fn render_link(l: &VirtualNetworkLink) -> Value {
    json!({
        "id": l.id,
        "name": l.name,
        "type": LINK_TYPE,
        "etag": l.etag,
        "location": "global",
        "tags": l.tags,
        "properties": {
            "provisioningState": "Succeeded",
            "registrationEnabled": l.registration_enabled,
            "resolutionPolicy": l.resolution_policy,
            "virtualNetwork": {"id": l.virtual_network_id},
            "virtualNetworkLinkState": "Completed",
        },
    })
}

// ---------------------------------------------------------------- record sets

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSetSpec {
    #[serde(default)]
    pub properties: RecordSetPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSetPropertiesSpec {
    pub ttl: Option<i64>,
    pub metadata: Option<Tags>,
    pub a_records: Option<Vec<ARecordSpec>>,
    pub aaaa_records: Option<Vec<AaaaRecordSpec>>,
    pub cname_record: Option<CnameSpec>,
    pub mx_records: Option<Vec<MxSpec>>,
    pub ptr_records: Option<Vec<PtrSpec>>,
    pub srv_records: Option<Vec<SrvSpec>>,
    pub txt_records: Option<Vec<TxtSpec>>,
    pub soa_record: Option<SoaSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ARecordSpec {
    pub ipv4_address: String,
}
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AaaaRecordSpec {
    pub ipv6_address: String,
}
#[derive(Debug, Deserialize)]
pub struct CnameSpec {
    pub cname: String,
}
#[derive(Debug, Deserialize)]
pub struct MxSpec {
    pub preference: u16,
    pub exchange: String,
}
#[derive(Debug, Deserialize)]
pub struct PtrSpec {
    pub ptrdname: String,
}
#[derive(Debug, Deserialize)]
pub struct SrvSpec {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}
#[derive(Debug, Deserialize)]
pub struct TxtSpec {
    pub value: Vec<String>,
}
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoaSpec {
    pub email: Option<String>,
    pub expire_time: Option<u32>,
    pub minimum_ttl: Option<u32>,
    pub refresh_time: Option<u32>,
    pub retry_time: Option<u32>,
}

fn record_data(rtype: &str, p: &RecordSetPropertiesSpec, current: Option<&RecordData>) -> Result<RecordData> {
    let bad = |m: String| Error::bad_request("BadRequest", m);
    let mut d = RecordData::default();
    match rtype {
        "A" => {
            for r in p.a_records.iter().flatten() {
                let a: std::net::Ipv4Addr = r
                    .ipv4_address
                    .parse()
                    .map_err(|_| bad(format!("The IPv4 address '{}' is not valid.", r.ipv4_address)))?;
                d.a.push(a.to_string());
            }
        }
        "AAAA" => {
            for r in p.aaaa_records.iter().flatten() {
                let a: std::net::Ipv6Addr = r
                    .ipv6_address
                    .parse()
                    .map_err(|_| bad(format!("The IPv6 address '{}' is not valid.", r.ipv6_address)))?;
                d.aaaa.push(a.to_string());
            }
        }
        "CNAME" => d.cname = p.cname_record.as_ref().map(|c| c.cname.clone()),
        "MX" => d.mx = p.mx_records.iter().flatten().map(|m| (m.preference, m.exchange.clone())).collect(),
        "PTR" => d.ptr = p.ptr_records.iter().flatten().map(|r| r.ptrdname.clone()).collect(),
        "SRV" => {
            d.srv = p.srv_records.iter().flatten().map(|s| (s.priority, s.weight, s.port, s.target.clone())).collect()
        }
        "TXT" => d.txt = p.txt_records.iter().flatten().map(|t| t.value.clone()).collect(),
        "SOA" => {
            let mut soa = current
                .and_then(|c| c.soa.clone())
                .ok_or_else(|| bad("The SOA record set cannot be created.".into()))?;
            if let Some(s) = &p.soa_record {
                soa.email = s.email.clone().unwrap_or(soa.email);
                soa.expire_time = s.expire_time.unwrap_or(soa.expire_time);
                soa.minimum_ttl = s.minimum_ttl.unwrap_or(soa.minimum_ttl);
                soa.refresh_time = s.refresh_time.unwrap_or(soa.refresh_time);
                soa.retry_time = s.retry_time.unwrap_or(soa.retry_time);
            }
            d.soa = Some(soa);
        }
        _ => unreachable!("record types are checked by canonical_type"),
    }
    let count = d.a.len() + d.aaaa.len() + d.mx.len() + d.ptr.len() + d.srv.len() + d.txt.len();
    if count > MAX_RECORDS_PER_SET {
        return Err(bad(format!("A record set can hold at most {MAX_RECORDS_PER_SET} records.")));
    }
    Ok(d)
}

type RecordKey<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

pub fn put_record_set(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, zone_name, rtype, name): RecordKey<'_>,
    spec: RecordSetSpec,
    pre: Preconditions<'_>,
    patch: bool,
) -> Result<(RecordSet, bool)> {
    let z = parent_zone(state, caller, (sub, rg, zone_name))?;
    let rtype = canonical_type(rtype)?;
    vaultlink_rules::record_set_name(name)?;
    let id = format!("{}/{rtype}/{}", z.id, name.to_ascii_lowercase());
    let existing = match state.get(&id) {
        Some(Record::RecordSet(r)) => Some(r.clone()),
        _ => None,
    };
    if patch && existing.is_none() {
        return Err(Error::resource_not_found(&format!("{ZONE_TYPE}/{rtype}"), &format!("{}/{name}", z.name), rg));
    }
    check_preconditions(existing.as_ref().map(|r| r.etag.as_str()), pre.if_match, pre.if_none_match)?;
    if rtype == "SOA" && name != "@" {
        return Err(Error::bad_request("BadRequest", "The SOA record set must be named '@'."));
    }
    if rtype == "CNAME" && name == "@" {
        return Err(Error::bad_request("BadRequest", "A CNAME record set cannot be created at the zone apex."));
    }
    if existing.is_none() && record_set_count(state, &z.id) >= MAX_RECORD_SETS {
        return Err(Error::bad_request(
            "BadRequest",
            format!("The zone already has the maximum of {MAX_RECORD_SETS} record sets."),
        ));
    }
    // A CNAME cannot share its name with any other record set, and vice versa.
    let clash = record_sets_named(state, &z.id, name)
        .into_iter()
        .find(|r| r.record_type != rtype && (r.record_type == "CNAME" || rtype == "CNAME"));
    if let Some(c) = clash {
        return Err(Error::conflict(
            "Conflict",
            format!(
                "The record set {name} of type {rtype} conflicts with the existing {} record set of the same name.",
                c.record_type
            ),
        ));
    }
    let data = if patch && no_records_given(&spec.properties) {
        existing.as_ref().map(|e| e.data.clone()).unwrap_or_default()
    } else {
        record_data(rtype, &spec.properties, existing.as_ref().map(|e| &e.data))?
    };
    let ttl = match spec.properties.ttl {
        Some(t) if !(0..=2_147_483_647).contains(&t) => {
            return Err(Error::bad_request("BadRequest", format!("The TTL {t} is not valid.")));
        }
        Some(t) => t as u32,
        None => existing.as_ref().map_or(3600, |e| e.ttl),
    };
    let rs = RecordSet {
        id: existing
            .as_ref()
            .map_or_else(|| format!("{}/{rtype}/{}", z.id, name.to_ascii_lowercase()), |e| e.id.clone()),
        zone_id: z.id.clone(),
        record_type: rtype.into(),
        name: existing.as_ref().map_or_else(|| name.to_ascii_lowercase(), |e| e.name.clone()),
        ttl,
        metadata: spec.properties.metadata.or(existing.as_ref().map(|e| e.metadata.clone())).unwrap_or_default(),
        data,
        auto_registered: false,
        etag: guid(),
    };
    batch.put(&rs.id, Record::RecordSet(rs.clone()));
    Ok((rs, existing.is_none()))
}

fn no_records_given(p: &RecordSetPropertiesSpec) -> bool {
    p.a_records.is_none()
        && p.aaaa_records.is_none()
        && p.cname_record.is_none()
        && p.mx_records.is_none()
        && p.ptr_records.is_none()
        && p.srv_records.is_none()
        && p.txt_records.is_none()
        && p.soa_record.is_none()
}

pub fn get_record_set(
    state: &State,
    caller: &Caller,
    (sub, rg, zone_name, rtype, name): RecordKey<'_>,
) -> Result<RecordSet> {
    let z = parent_zone(state, caller, (sub, rg, zone_name))?;
    let rtype = canonical_type(rtype)?;
    record_sets_named(state, &z.id, name)
        .into_iter()
        .find(|r| r.record_type == rtype)
        .ok_or_else(|| Error::resource_not_found(&format!("{ZONE_TYPE}/{rtype}"), &format!("{}/{name}", z.name), rg))
}

pub fn delete_record_set(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    key: RecordKey<'_>,
    pre: Preconditions<'_>,
) -> Result<bool> {
    if canonical_type(key.3)? == "SOA" {
        return Err(Error::bad_request("BadRequest", "The SOA record set cannot be deleted."));
    }
    match get_record_set(state, caller, key) {
        Ok(r) => {
            check_preconditions(Some(&r.etag), pre.if_match, pre.if_none_match)?;
            batch.delete(&r.id);
            Ok(true)
        }
        Err(Error::NotFound { code, .. }) if code == "ResourceNotFound" => {
            get_zone(state, caller, (key.0, key.1, key.2))?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Lists record sets of one type, or of all types (`ALL`).
pub fn list_record_sets(
    state: &State,
    caller: &Caller,
    (sub, rg, zone_name): (&str, &str, &str),
    rtype: Option<&str>,
) -> Result<Vec<RecordSet>> {
    let z = parent_zone(state, caller, (sub, rg, zone_name))?;
    let rtype = rtype.map(canonical_type).transpose()?;
    Ok(record_sets_of(state, &z.id).into_iter().filter(|r| rtype.is_none_or(|t| r.record_type == t)).collect())
}

pub fn render_record_set(z_name: &str, r: &RecordSet) -> Value {
    let fqdn = if r.name == "@" { format!("{z_name}.") } else { format!("{}.{z_name}.", r.name) };
    let mut props = json!({"ttl": r.ttl, "fqdn": fqdn, "isAutoRegistered": r.auto_registered});
    if !r.metadata.is_empty() {
        props["metadata"] = json!(r.metadata);
    }
    let d = &r.data;
    match r.record_type.as_str() {
        "A" => props["aRecords"] = json!(d.a.iter().map(|a| json!({"ipv4Address": a})).collect::<Vec<_>>()),
        "AAAA" => props["aaaaRecords"] = json!(d.aaaa.iter().map(|a| json!({"ipv6Address": a})).collect::<Vec<_>>()),
        "CNAME" => {
            if let Some(c) = &d.cname {
                props["cnameRecord"] = json!({"cname": c});
            }
        }
        "MX" => {
            props["mxRecords"] =
                json!(d.mx.iter().map(|(p, e)| json!({"preference": p, "exchange": e})).collect::<Vec<_>>())
        }
        "PTR" => props["ptrRecords"] = json!(d.ptr.iter().map(|p| json!({"ptrdname": p})).collect::<Vec<_>>()),
        "SRV" => {
            props["srvRecords"] = json!(
                d.srv
                    .iter()
                    .map(|(p, w, port, t)| json!({"priority": p, "weight": w, "port": port, "target": t}))
                    .collect::<Vec<_>>()
            )
        }
        "TXT" => props["txtRecords"] = json!(d.txt.iter().map(|v| json!({"value": v})).collect::<Vec<_>>()),
        "SOA" => {
            if let Some(s) = &d.soa {
                props["soaRecord"] = json!({"email": s.email, "expireTime": s.expire_time, "host": s.host, "minimumTtl": s.minimum_ttl, "refreshTime": s.refresh_time, "retryTime": s.retry_time, "serialNumber": s.serial_number});
            }
        }
        _ => {}
    }
    json!({
        "id": r.id,
        "name": r.name,
        "type": format!("{ZONE_TYPE}/{}", r.record_type),
        "etag": r.etag,
        "properties": props,
    })
}
