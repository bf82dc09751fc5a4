//! Private DNS zone groups of a private endpoint: they write the endpoint's A record into each
//! zone they name, and remove it again when the group or the endpoint goes.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Batch, State, guid, weak_etag};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{PrivateDnsZoneConfig, PrivateDnsZoneGroup, PrivateEndpoint, Record, RecordData, RecordSet, Tags};
use crate::privatedns;

/// TTL of the A records a zone group writes (azure-dns-details.md: "the TTL for the A record is 10s").
pub const ZONE_GROUP_TTL: u32 = 10;
/// Zones per group, groups per endpoint (azure-behaviour.md §3.7).
pub const MAX_ZONES_PER_GROUP: usize = 5;

pub fn of_endpoint(state: &State, pe_id: &str) -> Vec<PrivateDnsZoneGroup> {
    state
        .descendants(&format!("{pe_id}/privateDnsZoneGroups"))
        .filter_map(|(_, r)| match r {
            Record::PrivateDnsZoneGroup(g) => Some(g.clone()),
            _ => None,
        })
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSpec {
    #[serde(default)]
    pub properties: GroupPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPropertiesSpec {
    #[serde(default)]
    pub private_dns_zone_configs: Vec<ZoneConfigSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneConfigSpec {
    pub name: Option<String>,
    #[serde(default)]
    pub properties: ZoneConfigPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneConfigPropertiesSpec {
    pub private_dns_zone_id: Option<String>,
}

/// The record name an endpoint registers in a zone: the bare vault name.
fn record_name(pe: &PrivateEndpoint) -> Option<String> {
    let target = &pe.connections.first()?.private_link_service_id;
    Some(target.rsplit('/').next()?.to_ascii_lowercase())
}

pub fn put(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, pe_name, name): (&str, &str, &str, &str),
    spec: GroupSpec,
) -> Result<(PrivateDnsZoneGroup, bool)> {
    let pe = super::get_endpoint(state, caller, (sub, rg, pe_name))?;
    vaultlink_rules::network_resource_name(name)?;
    let id = format!("{}/privateDnsZoneGroups/{name}", pe.id);
    let existing = match state.get(&id) {
        Some(Record::PrivateDnsZoneGroup(g)) => Some(g.clone()),
        _ => None,
    };
    if existing.is_none() && !of_endpoint(state, &pe.id).is_empty() {
        return Err(Error::bad_request(
            "PrivateDnsZoneGroupLimitReached",
            format!("Private endpoint {} already has a private DNS zone group; only one is allowed.", pe.id),
        ));
    }
    let configs = spec.properties.private_dns_zone_configs;
    if configs.is_empty() || configs.len() > MAX_ZONES_PER_GROUP {
        return Err(Error::bad_request(
            "BadRequest",
            format!("A private DNS zone group needs between 1 and {MAX_ZONES_PER_GROUP} zone configurations."),
        ));
    }
    if let Some(old) = &existing {
        remove_records(state, batch, old);
    }
    let rname = record_name(&pe).unwrap_or_default();
    let mut out = Vec::new();
    for (i, c) in configs.into_iter().enumerate() {
        let zone_id = c
            .properties
            .private_dns_zone_id
            .ok_or_else(|| Error::bad_request("BadRequest", "privateDnsZoneId is required."))?;
        let zone = privatedns::zone(state, &zone_id).ok_or_else(|| {
            Error::bad_request(
                "InvalidResourceReference",
                format!("Private DNS zone {zone_id} referenced by {id} was not found."),
            )
        })?;
        let rs_id = format!("{}/A/{rname}", zone.id);
        let mut rs = match batch.pending(&rs_id).unwrap_or_else(|| state.get(&rs_id)) {
            Some(Record::RecordSet(r)) => r.clone(),
            _ => Box::new(RecordSet {
                id: rs_id.clone(),
                zone_id: zone.id.clone(),
                record_type: "A".into(),
                name: rname.clone(),
                ttl: ZONE_GROUP_TTL,
                metadata: Tags::new(),
                data: RecordData::default(),
                auto_registered: false,
                etag: guid(),
            }),
        };
        if !rs.data.a.contains(&pe.private_ip_address) {
            rs.data.a.push(pe.private_ip_address.clone());
        }
        rs.etag = guid();
        batch.put(&rs_id, Record::RecordSet(rs));
        out.push(PrivateDnsZoneConfig {
            name: c.name.unwrap_or_else(|| format!("config{}", i + 1)),
            private_dns_zone_id: zone.id,
            record_set_ids: vec![rs_id],
        });
    }
    let g = PrivateDnsZoneGroup {
        id: id.clone(),
        name: name.to_string(),
        private_endpoint_id: pe.id.clone(),
        configs: out,
        etag: weak_etag(),
    };
    batch.put(&id, Record::PrivateDnsZoneGroup(g.clone()));
    Ok((g, existing.is_none()))
}

/// Removes the endpoint's address from the records this group wrote (the set goes when empty).
pub(crate) fn remove_records(state: &State, batch: &mut Batch, g: &PrivateDnsZoneGroup) {
    let ip = super::endpoint(state, &g.private_endpoint_id).map(|p| p.private_ip_address).unwrap_or_default();
    for c in &g.configs {
        for rs_id in &c.record_set_ids {
            if let Some(Record::RecordSet(rs)) = batch.pending(rs_id).unwrap_or_else(|| state.get(rs_id)) {
                let mut rs = rs.clone();
                rs.data.a.retain(|a| *a != ip);
                if rs.data.a.is_empty() {
                    batch.delete(rs_id);
                } else {
                    batch.put(rs_id, Record::RecordSet(rs));
                }
            }
        }
    }
    batch.delete(&g.id);
}

pub fn get(
    state: &State,
    caller: &Caller,
    (sub, rg, pe_name, name): (&str, &str, &str, &str),
) -> Result<PrivateDnsZoneGroup> {
    let pe = super::get_endpoint(state, caller, (sub, rg, pe_name))?;
    match state.get(&format!("{}/privateDnsZoneGroups/{name}", pe.id)) {
        Some(Record::PrivateDnsZoneGroup(g)) => Ok(g.clone()),
        _ => Err(Error::not_found("NotFound", format!("Resource {}/privateDnsZoneGroups/{name} not found.", pe.id))),
    }
}

pub fn list(state: &State, caller: &Caller, key: (&str, &str, &str)) -> Result<Vec<PrivateDnsZoneGroup>> {
    let pe = super::get_endpoint(state, caller, key)?;
    Ok(of_endpoint(state, &pe.id))
}

pub fn delete(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str, &str)) -> Result<bool> {
    match get(state, caller, key) {
        Ok(g) => {
            remove_records(state, batch, &g);
            Ok(true)
        }
        Err(e) if e.kind == crate::error::Kind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn render(state: &State, g: &PrivateDnsZoneGroup) -> Value {
    let configs: Vec<Value> = g
        .configs
        .iter()
        .map(|c| {
            let zone_name = c.private_dns_zone_id.rsplit('/').next().unwrap_or_default();
            let record_sets: Vec<Value> = c
                .record_set_ids
                .iter()
                .filter_map(|id| match state.get(id) {
                    Some(Record::RecordSet(r)) => Some(json!({
                        "recordType": r.record_type,
                        "recordSetName": r.name,
                        "fqdn": format!("{}.{zone_name}", r.name),
                        "provisioningState": "Succeeded",
                        "ttl": r.ttl,
                        "ipAddresses": r.data.a,
                    })),
                    _ => None,
                })
                .collect();
            json!({
                "name": c.name,
                "id": format!("{}/privateDnsZoneConfigs/{}", g.id, c.name),
                "properties": {"privateDnsZoneId": c.private_dns_zone_id, "recordSets": record_sets},
            })
        })
        .collect();
    json!({
        "name": g.name,
        "id": g.id,
        "etag": g.etag,
        "type": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        "properties": {"provisioningState": "Succeeded", "privateDnsZoneConfigs": configs},
    })
}
