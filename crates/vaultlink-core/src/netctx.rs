//! Network contexts: where a caller sits (the internet, or a NIC in a subnet of a VNet), which DNS
//! view it sees, and which path a connection to a vault host takes from there.

use std::net::Ipv4Addr;

use crate::State;
use crate::dns::{self, RecordData, View};
use crate::firewall::NetworkContext;
use crate::keyvault;
use crate::model::{NetworkInterface, Record, Subnet, VirtualNetwork};
use crate::network::{self, onprem, peering};
use crate::privatelink::{self, connections};

/// Where a caller sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// On the internet with this public address.
    Internet { public_address: Ipv4Addr },
    /// A machine at this (client) NIC.
    Nic { nic_id: String },
    /// A machine in an on-premises network joined to a VNet by a gateway.
    OnPremises { network_id: String },
}

/// A caller identity as given to the proxy (`http://IDENTITY@127.0.0.1:8780`), `--nic` or `--vm`: an
/// IPv4 address (an internet caller with that public address), a NIC's name or resource id, or a
/// virtual machine's (its primary NIC).
pub fn locate(state: &State, identity: Option<&str>, default_public: Ipv4Addr) -> Result<Origin, String> {
    let Some(id) = identity.filter(|i| !i.is_empty()) else {
        return Ok(Origin::Internet { public_address: default_public });
    };
    if let Ok(a) = id.parse::<Ipv4Addr>() {
        return Ok(Origin::Internet { public_address: a });
    }
    if let Some(o) = onprem::onprem(state, id) {
        return Ok(Origin::OnPremises { network_id: o.id });
    }
    let nics: Vec<&NetworkInterface> = state
        .of_kind(crate::model::RecordKind::NetworkInterface)
        .filter_map(|r| match r {
            Record::NetworkInterface(n)
                if n.private_endpoint_id.is_none()
                    && (n.id.eq_ignore_ascii_case(id) || n.name.eq_ignore_ascii_case(id)) =>
            {
                Some(&**n)
            }
            _ => None,
        })
        .collect();
    match nics.as_slice() {
        [n] => Ok(Origin::Nic { nic_id: n.id.clone() }),
        // A virtual machine is its primary NIC.
        [] if let Some(vm) = crate::compute::find_vm(state, id) => match crate::compute::primary_nic(&vm) {
            Some(n) => Ok(Origin::Nic { nic_id: n.id.clone() }),
            None => Err(format!("virtual machine '{id}' has no network interface")),
        },
        [] => Err(format!(
            "no client network interface, virtual machine or on-premises network named '{id}' (create a NIC with `az network nic create` or a VM with `az vm create`)"
        )),
        _ => Err(format!("more than one network interface is named '{id}'; use its resource id")),
    }
}

/// The origin named by a stored id: an on-premises network's id, else a NIC's.
pub fn origin_of(state: &State, id: &str) -> Origin {
    match onprem::onprem(state, id) {
        Some(o) => Origin::OnPremises { network_id: o.id },
        None => Origin::Nic { nic_id: id.to_string() },
    }
}

/// The NIC, subnet and VNet of a NIC origin.
pub fn placement(state: &State, nic_id: &str) -> Option<(NetworkInterface, Subnet, VirtualNetwork)> {
    let n = network::nic(state, nic_id)?;
    let s = network::subnet(state, &n.subnet_id)?;
    let v = network::vnet(state, &network::vnet_of_subnet(&s.id))?;
    Some((n, s, v))
}

/// The DNS view a caller gets: Azure DNS of its VNet, or the internet's.
pub fn view(state: &State, origin: &Origin) -> View {
    match origin {
        Origin::Internet { .. } => View::Internet,
        Origin::Nic { nic_id } => match placement(state, nic_id) {
            Some((_, _, v)) => View::VirtualNetwork { vnet_id: v.id },
            None => View::Internet,
        },
        Origin::OnPremises { network_id } => View::OnPremises { network_id: network_id.clone() },
    }
}

/// The public address a VNet's outbound traffic leaves with (Azure's default outbound access):
/// stable per VNet, from TEST-NET-2 (RFC 5737) so it is never a real host.
pub fn outbound_address(v: &VirtualNetwork) -> Ipv4Addr {
    let h = vaultlink_crypto::sha256(v.resource_guid.as_bytes());
    Ipv4Addr::new(198, 51, 100, 1 + h[0] % 250)
}

/// What happens when the caller connects to a vault host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The connection reaches the vault; the firewall then decides with this context.
    Reaches(NetworkContext),
    /// The name does not resolve in the caller's view (e.g. the linked zone lacks the record).
    NotResolved { view: String },
    /// The name resolves to an address the caller cannot reach, or to a private endpoint whose
    /// connection carries no traffic; the connection times out.
    Unreachable { address: Ipv4Addr, reason: String },
}

/// The address `host` resolves to in `view`, following the CNAME chain (None: no A record).
pub fn resolve(state: &State, view: &View, host: &str) -> Option<Ipv4Addr> {
    let a = dns::answer(state, view, host, dns::QType::A);
    a.answers.iter().rev().find_map(|r| match r.data {
        RecordData::A(ip) => Some(ip),
        _ => None,
    })
}

/// Decides the path of a connection from `origin` to the vault host `host` (`{name}.vault.azure.net`):
/// resolve the name in the caller's DNS view, then connect to that address.
pub fn route(state: &State, origin: &Origin, host: &str) -> Route {
    let v = view(state, origin);
    match resolve(state, &v, host) {
        Some(address) => connect(state, origin, address, host),
        None => Route::NotResolved { view: describe_view(&v) },
    }
}

/// What a connection from `origin` to `address` for `host` does: the vault's public ingress (the
/// firewall decides), an approved private endpoint the caller can reach, or nothing.
pub fn connect(state: &State, origin: &Origin, address: Ipv4Addr, host: &str) -> Route {
    let name = host.trim_end_matches('.').strip_suffix(".vault.azure.net").unwrap_or_default();
    let vault = keyvault::vault_by_name(state, name);
    let place = match origin {
        Origin::Nic { nic_id } => placement(state, nic_id),
        _ => None,
    };
    let onprem = match origin {
        Origin::OnPremises { network_id } => onprem::onprem(state, network_id),
        _ => None,
    };
    // The regional public ingress, shared by every vault of a region: the host picks the vault.
    let public_ingress = keyvault::all_vaults(state).any(|v| dns::vault_public_address(v) == address);
    if public_ingress || vault.is_none() {
        return Route::Reaches(match (origin, &place) {
            (Origin::Internet { public_address }, _) => NetworkContext::internet(*public_address),
            (Origin::OnPremises { .. }, _) => NetworkContext::internet(
                onprem.as_ref().and_then(|o| o.public_address.parse().ok()).unwrap_or(Ipv4Addr::UNSPECIFIED),
            ),
            (_, Some((n, s, vnet))) => {
                let service_endpoint =
                    s.service_endpoints.iter().any(|e| e.service.eq_ignore_ascii_case("Microsoft.KeyVault"));
                if service_endpoint {
                    NetworkContext {
                        client_address: n.private_ip_address.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
                        service_endpoint_subnet: Some(s.id.to_ascii_lowercase()),
                        private_endpoint: None,
                        trusted_service: false,
                    }
                } else {
                    // A public IP on the NIC's IP configuration is its source address on the
                    // internet; without one, the VNet's default outbound access.
                    NetworkContext::internet(
                        network::public_address_of(state, n).unwrap_or_else(|| outbound_address(vnet)),
                    )
                }
            }
            (_, None) => NetworkContext::internet(Ipv4Addr::UNSPECIFIED),
        });
    }
    // A private address: an endpoint NIC the caller's VNet (or the on-premises gateway's) can reach.
    let (client_address, from_vnet, from_name) = match (&place, &onprem) {
        (Some((n, _, v)), _) => (n.private_ip_address.clone(), v.id.clone(), format!("virtual network {}", v.name)),
        (None, Some(o)) => {
            (o.client_address.clone(), o.gateway_vnet_id.clone(), format!("on-premises network {}", o.name))
        }
        _ => {
            return Route::Unreachable {
                address,
                reason: format!("{address} is a private address, unreachable from the internet"),
            };
        }
    };
    let Some(pe_id) = endpoint_at(state, &from_vnet, address) else {
        return Route::Unreachable {
            address,
            reason: format!("no private endpoint with address {address} is reachable from {from_name}"),
        };
    };
    let approved = vault.is_some_and(|vault| {
        keyvault::connections(state, &vault.id)
            .iter()
            .any(|c| c.private_endpoint_id.eq_ignore_ascii_case(&pe_id) && c.status == connections::status::APPROVED)
    });
    if !approved {
        let status = privatelink::endpoint(state, &pe_id)
            .and_then(|pe| pe.connections.first().map(|c| privatelink::endpoint_connection_state(state, c).0))
            .unwrap_or_else(|| "unknown".into());
        return Route::Unreachable {
            address,
            reason: format!(
                "private endpoint {} carries no traffic to {host}: its connection is {status}",
                pe_id.rsplit('/').next().unwrap_or(&pe_id)
            ),
        };
    }
    Route::Reaches(NetworkContext {
        client_address: client_address.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        service_endpoint_subnet: None,
        private_endpoint: Some(pe_id),
        trusted_service: false,
    })
}

/// The private endpoint (id) whose NIC has `address`, in a VNet reachable from `vnet_id`.
pub fn endpoint_at(state: &State, vnet_id: &str, address: Ipv4Addr) -> Option<String> {
    state.of_kind(crate::model::RecordKind::NetworkInterface).find_map(|r| match r {
        Record::NetworkInterface(e) if e.private_ip_address == address.to_string() => {
            let pe = e.private_endpoint_id.clone()?;
            peering::connected(state, vnet_id, &network::vnet_of_subnet(&e.subnet_id)).then_some(pe)
        }
        _ => None,
    })
}

/// Every private endpoint address reachable from a VNet (its own and its peers').
pub fn reachable_endpoint_addresses(state: &State, vnet_id: &str) -> Vec<Ipv4Addr> {
    state
        .of_kind(crate::model::RecordKind::NetworkInterface)
        .filter_map(|r| match r {
            Record::NetworkInterface(e)
                if e.private_endpoint_id.is_some()
                    && peering::connected(state, vnet_id, &network::vnet_of_subnet(&e.subnet_id)) =>
            {
                e.private_ip_address.parse().ok()
            }
            _ => None,
        })
        .collect()
}

pub fn describe_view(v: &View) -> String {
    match v {
        View::Internet => "the internet".into(),
        View::VirtualNetwork { vnet_id } => {
            format!("virtual network {}", vnet_id.rsplit('/').next().unwrap_or(vnet_id))
        }
        #[allow(unreachable_patterns)]
        _ => format!("{v:?}"),
    }
}
