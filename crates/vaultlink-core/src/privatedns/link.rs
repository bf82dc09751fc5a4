//! Virtual network links: which VNets resolve a zone, and which register their machines in it.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkSpec {
    #[serde(default)]
    pub location: Option<String>,
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
    let z = parent_zone(state, caller, (sub, rg, zone_name), "write", "virtualNetworkLinks")?;
    vaultlink_rules::network_resource_name(name)?;
    check_global(spec.location.as_deref(), "virtual network links")?;
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
    batch.put(&link.id, Record::VirtualNetworkLink(Box::new(link.clone())));
    Ok((link, existing.is_none()))
}

pub fn get_link(
    state: &State,
    caller: &Caller,
    (sub, rg, zone_name, name): (&str, &str, &str, &str),
) -> Result<VirtualNetworkLink> {
    let z = zone_of_child(state, caller, (sub, rg, zone_name))?;
    match z.and_then(|z| state.get(&format!("{}/virtualNetworkLinks/{name}", z.id))) {
        Some(Record::VirtualNetworkLink(l)) => Ok((**l).clone()),
        _ => Err(child_not_found(zone_name, &format!("virtualNetworkLinks/{name}"), rg)),
    }
}

pub fn delete_link(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    key: (&str, &str, &str, &str),
    pre: Preconditions<'_>,
) -> Result<bool> {
    // A link of a zone that is not there is not there: 204 (test_DeleteLink_ZoneNotExists_ExpectNoError).
    let Some(z) = zone_of_child(state, caller, (key.0, key.1, key.2))? else { return Ok(false) };
    let Some(Record::VirtualNetworkLink(l)) = state.get(&format!("{}/virtualNetworkLinks/{}", z.id, key.3)) else {
        return Ok(false);
    };
    check_preconditions(Some(&l.etag), pre.if_match, pre.if_none_match)?;
    batch.delete(&l.id);
    Ok(true)
}

pub fn render_link(l: &VirtualNetworkLink) -> Value {
    wire::omit_empty_tags(json!({
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
    }))
}
