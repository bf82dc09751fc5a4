//! Microsoft.Network/privateDnsZones: zones (with their SOA), virtual network links, record sets.
//! The lookups every part shares (zones, links, the record sets a zone holds with those
//! auto-registration keeps, preconditions) here; one file per resource: `zone.rs`, `link.rs`,
//! `recordset.rs`. Builds on `network` (VNets and their NICs); never imports `privatelink`.

mod link;
mod recordset;
mod zone;

pub use link::*;
pub use recordset::*;
pub use zone::*;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Batch, State, guid};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{PrivateDnsZone, Record, RecordData, RecordSet, Soa, Tags, VirtualNetworkLink};
use crate::resources;
use crate::wire;

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

/// The zone a write or list of its links or record sets (`child`: `virtualNetworkLinks`, `A`,
/// ...) needs: Resource Manager's 404 `ParentResourceNotFound` otherwise, worded as recorded
/// (Azure/azure-cli privatedns test_PutRecordSet_ZoneNotExists_ExpectError).
fn parent_zone(
    state: &State,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
    action: &str,
    child: &str,
) -> Result<PrivateDnsZone> {
    resources::resource_group(state, caller, sub, rg)?;
    zone(state, &zone_id(sub, rg, name)).ok_or_else(|| {
        Error::not_found(
            "ParentResourceNotFound",
            format!(
                "Failed to perform '{action}' on resource(s) of type 'privateDnsZones/{child}', because the parent resource '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/privateDnsZones/{name}' could not be found."
            ),
        )
    })
}

/// A zone's link or record set (`child` `virtualNetworkLinks/{name}`, `A/{name}`, ...) that is
/// not there, or whose zone is not there: the same `ResourceNotFound`, naming it as nested under
/// the zone (Azure/azure-cli privatedns test_GetLink_ZoneNotExists_ExpectError and
/// test_GetLink_LinkNotExists_ExpectError).
fn child_not_found(zone_name: &str, child: &str, rg: &str) -> Error {
    Error::resource_not_found(ZONE_TYPE, &format!("{zone_name}/{child}"), rg)
}

/// The zone of a read or delete of one link or record set, if it is there (its absence is the
/// child's `ResourceNotFound` for a read, nothing to do for a delete).
fn zone_of_child(
    state: &State,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
) -> Result<Option<PrivateDnsZone>> {
    resources::resource_group(state, caller, sub, rg)?;
    Ok(zone(state, &zone_id(sub, rg, name)))
}

pub fn links_of(state: &State, zone_id: &str) -> Vec<VirtualNetworkLink> {
    state
        .descendants(&format!("{zone_id}/virtualNetworkLinks"))
        .filter_map(|(_, r)| match r {
            Record::VirtualNetworkLink(l) => Some((**l).clone()),
            _ => None,
        })
        .collect()
}

/// The private DNS zone links that point at the virtual network `vnet_id` (an index lookup).
pub fn links_of_vnet<'a>(state: &'a State, vnet_id: &str) -> impl Iterator<Item = &'a VirtualNetworkLink> + 'a {
    state.links_of_vnet(vnet_id).filter_map(|r| match r {
        Record::VirtualNetworkLink(l) => Some(&**l),
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
            Record::RecordSet(s) => Some((**s).clone()),
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
            Some(Record::RecordSet(s)) => Some((**s).clone()),
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

/// Preconditions a request carries.
#[derive(Debug, Default, Clone, Copy)]
pub struct Preconditions<'a> {
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
}
