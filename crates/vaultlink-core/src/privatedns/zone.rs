//! Private DNS zones: create (with the SOA record set), update tags, delete, render.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneSpec {
    pub location: Option<String>,
    #[serde(default)]
    pub tags: Option<Tags>,
}

/// Zones and their links live in `global`; another location is refused.
pub(super) fn check_global(location: Option<&str>, what: &str) -> Result<()> {
    match location {
        Some(l) if !l.eq_ignore_ascii_case("global") => Err(Error::bad_request(
            "InvalidLocation",
            format!("The location '{l}' is not valid for {what}; it must be 'global'."),
        )),
        _ => Ok(()),
    }
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
    check_global(spec.location.as_deref(), "private DNS zones")?;
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
        batch.put(&soa.id.clone(), Record::RecordSet(Box::new(soa)));
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
    wire::omit_empty_tags(json!({
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
    }))
}
