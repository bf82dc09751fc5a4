//! VNet peering (minimal): one peering resource per side; traffic flows only when both sides
//! exist and allow virtual network access ("Connected").

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Batch, State, weak_etag};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{Record, VirtualNetworkPeering};
use crate::network;

pub const PEERING_TYPE: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeeringSpec {
    #[serde(default)]
    pub properties: PeeringPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeeringPropertiesSpec {
    pub remote_virtual_network: Option<network::IdRef>,
    pub allow_virtual_network_access: Option<bool>,
}

fn peerings_of(state: &State, vnet_id: &str) -> Vec<VirtualNetworkPeering> {
    state
        .descendants(&format!("{vnet_id}/virtualNetworkPeerings"))
        .filter_map(|(_, r)| match r {
            Record::VirtualNetworkPeering(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

/// `Connected` when the remote side peers back, else `Initiated`.
pub fn peering_state(state: &State, p: &VirtualNetworkPeering) -> &'static str {
    if network::vnet(state, &p.remote_vnet_id).is_none() {
        return "Disconnected";
    }
    let back =
        peerings_of(state, &p.remote_vnet_id).into_iter().any(|r| r.remote_vnet_id.eq_ignore_ascii_case(&p.vnet_id));
    if back { "Connected" } else { "Initiated" }
}

/// True when traffic flows between the two VNets (same VNet, or a Connected peering allowing access both ways).
pub fn connected(state: &State, a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let one = peerings_of(state, a).into_iter().find(|p| p.remote_vnet_id.eq_ignore_ascii_case(b));
    let two = peerings_of(state, b).into_iter().find(|p| p.remote_vnet_id.eq_ignore_ascii_case(a));
    matches!((one, two), (Some(x), Some(y)) if x.allow_virtual_network_access && y.allow_virtual_network_access)
}

/// The VNets directly peered with `vnet_id` (Connected).
pub fn peers(state: &State, vnet_id: &str) -> Vec<String> {
    peerings_of(state, vnet_id)
        .into_iter()
        .filter(|p| connected(state, vnet_id, &p.remote_vnet_id))
        .map(|p| p.remote_vnet_id)
        .collect()
}

pub fn put(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, vnet_name, name): (&str, &str, &str, &str),
    spec: PeeringSpec,
) -> Result<(VirtualNetworkPeering, bool)> {
    let v = network::get_vnet(state, caller, (sub, rg, vnet_name))?;
    vaultlink_rules::network_resource_name(name)?;
    let remote_id = spec
        .properties
        .remote_virtual_network
        .map(|r| r.id)
        .ok_or_else(|| Error::bad_request("InvalidRequestFormat", "remoteVirtualNetwork is required."))?;
    let remote = network::vnet(state, &remote_id).ok_or_else(|| {
        Error::bad_request(
            "InvalidResourceReference",
            format!(
                "Resource {remote_id} referenced by resource {}/virtualNetworkPeerings/{name} was not found.",
                v.id
            ),
        )
    })?;
    if remote.id.eq_ignore_ascii_case(&v.id) {
        return Err(Error::bad_request(
            "CannotPeerVirtualNetworkWithItself",
            format!("Virtual network {} cannot be peered with itself.", v.id),
        ));
    }
    // Address spaces of peered VNets must not overlap.
    for a in &v.address_prefixes {
        for b in &remote.address_prefixes {
            if let (Ok(x), Ok(y)) = (a.parse::<vaultlink_rules::Ipv4Cidr>(), b.parse::<vaultlink_rules::Ipv4Cidr>())
                && x.overlaps(&y)
            {
                return Err(Error::bad_request(
                    "VnetAddressSpacesOverlap",
                    format!(
                        "Cannot create or update peering {name}. Virtual networks {} and {} cannot be peered because their address spaces overlap. Overlapping address prefixes: {a}, {b}",
                        v.id, remote.id
                    ),
                ));
            }
        }
    }
    let id = format!("{}/virtualNetworkPeerings/{name}", v.id);
    let existing = matches!(state.get(&id), Some(Record::VirtualNetworkPeering(_)));
    if !existing && peerings_of(state, &v.id).len() >= network::MAX_PEERINGS {
        let within = format!("virtual network {}", v.id);
        return Err(network::count_limit(
            "PeeringCountLimitReached",
            network::MAX_PEERINGS,
            "virtual network peerings",
            &within,
        ));
    }
    let p = VirtualNetworkPeering {
        id: id.clone(),
        name: name.to_string(),
        vnet_id: v.id.clone(),
        remote_vnet_id: remote.id.clone(),
        allow_virtual_network_access: spec.properties.allow_virtual_network_access.unwrap_or(true),
        etag: weak_etag(),
    };
    batch.put(&id, Record::VirtualNetworkPeering(p.clone()));
    Ok((p, !existing))
}

pub fn get(
    state: &State,
    caller: &Caller,
    (sub, rg, vnet_name, name): (&str, &str, &str, &str),
) -> Result<VirtualNetworkPeering> {
    let v = network::get_vnet(state, caller, (sub, rg, vnet_name))?;
    match state.get(&format!("{}/virtualNetworkPeerings/{name}", v.id)) {
        Some(Record::VirtualNetworkPeering(p)) => Ok(p.clone()),
        _ => Err(Error::not_found("NotFound", format!("Resource {}/virtualNetworkPeerings/{name} not found.", v.id))),
    }
}

pub fn list(state: &State, caller: &Caller, key: (&str, &str, &str)) -> Result<Vec<VirtualNetworkPeering>> {
    let v = network::get_vnet(state, caller, key)?;
    Ok(peerings_of(state, &v.id))
}

pub fn delete(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str, &str)) -> Result<bool> {
    match get(state, caller, key) {
        Ok(p) => {
            batch.delete(&p.id);
            Ok(true)
        }
        Err(e) if e.kind == crate::error::Kind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn render(state: &State, p: &VirtualNetworkPeering) -> Value {
    let st = peering_state(state, p);
    json!({
        "name": p.name,
        "id": p.id,
        "etag": p.etag,
        "type": PEERING_TYPE,
        "properties": {
            "provisioningState": "Succeeded",
            "peeringState": st,
            "peeringSyncLevel": if st == "Connected" { "FullyInSync" } else { "RemoteNotInSync" },
            "remoteVirtualNetwork": {"id": p.remote_vnet_id},
            "allowVirtualNetworkAccess": p.allow_virtual_network_access,
            "allowForwardedTraffic": false,
            "allowGatewayTransit": false,
            "useRemoteGateways": false,
            "remoteAddressSpace": {"addressPrefixes": network::vnet(state, &p.remote_vnet_id).map(|v| v.address_prefixes).unwrap_or_default()},
        },
    })
}
