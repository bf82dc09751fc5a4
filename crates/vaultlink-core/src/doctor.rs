//! The doctor: the seed's troubleshooting guide as checks, run against the live state and the DNS
//! answer the caller actually gets, each finding with its evidence and the `az` command that fixes it.

use serde::Serialize;

use crate::dns::{self, RecordData, View};
use crate::firewall::{self, NetworkContext};
use crate::identity::Caller;
use crate::model::{PrivateDnsZone, Vault, VirtualNetwork};
use crate::netctx::{self, Origin, Route};
use crate::network::{self, onprem, peering};
use crate::privatelink::{self, connections};
use crate::{State, keyvault, kv, privatedns};

pub mod steps;

/// What reading a secret needs (its RBAC data action and access-policy permission).
const READ_SECRETS: kv::Operation = kv::Operation::Secret(kv::SecretOp::Get);

/// The `az` command that lets `object_id` read the vault's secrets, in the vault's permission model.
fn grant_secret_reads(vault: &Vault, object_id: &str) -> String {
    if vault.enable_rbac_authorization {
        steps::assign_role(object_id, "Key Vault Secrets User", &vault.id)
    } else {
        format!("az keyvault set-policy --name {} --object-id {object_id} --secret-permissions get list", vault.name)
    }
}

/// The zone Key Vault private endpoints need (azure-behaviour.md §1.2).
pub const VAULT_ZONE: &str = "privatelink.vaultcore.azure.net";

/// One problem found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// A stable identifier of the check (`connection-not-approved`, `zone-not-linked`, ...).
    pub check: &'static str,
    pub problem: String,
    pub evidence: Vec<String>,
    /// The exact command that fixes it, names filled in (None when only a person can decide).
    pub fix: Option<String>,
    /// The resource whose page in the portal fixes it (the vault for a connection's state, the
    /// zone for its links and records), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// `error` (the caller does not reach the vault as intended because of it) or `warning`
    /// (works today, but against Azure's guidance).
    pub severity: &'static str,
}

/// The doctor's report for one vault and one caller.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub vault: String,
    pub caller: String,
    /// The DNS answer the caller gets for the vault's host name, one line per record.
    pub dns: Vec<String>,
    pub address: Option<String>,
    /// `private-endpoint`, `public`, or `none`.
    pub path: String,
    pub reachable: bool,
    pub reason: String,
    pub findings: Vec<Finding>,
    /// With a principal: which of the seed's steps it may do on this vault, and what grants the rest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub principal_steps: Vec<steps::Step>,
}

impl Report {
    /// Healthy: the caller reaches the vault and no finding is an error.
    pub fn healthy(&self) -> bool {
        self.reachable && self.findings.iter().all(|f| f.severity != "error")
    }
}

fn parts(id: &str) -> (String, String) {
    let p: Vec<&str> = id.split('/').collect();
    (p.get(2).unwrap_or(&"").to_string(), p.get(4).unwrap_or(&"").to_string())
}

fn describe_origin(state: &State, origin: &Origin) -> String {
    match origin {
        Origin::Internet { public_address } => format!("the internet ({public_address})"),
        Origin::Nic { nic_id } => match netctx::placement(state, nic_id) {
            Some((n, s, v)) => match crate::compute::vm_of_nic(state, nic_id) {
                Some(vm) => {
                    format!("VM {} (NIC {}, {}) in {}/{}", vm.name, n.name, n.private_ip_address, v.name, s.name)
                }
                None => format!("NIC {} ({}) in {}/{}", n.name, n.private_ip_address, v.name, s.name),
            },
            None => format!("NIC {nic_id}"),
        },
        Origin::OnPremises { network_id } => match onprem::onprem(state, network_id) {
            Some(o) => format!("on-premises network {} ({})", o.name, o.client_address),
            None => format!("on-premises network {network_id}"),
        },
    }
}

fn chain_lines(state: &State, view: &View, host: &str) -> (Vec<String>, Option<String>, dns::Rcode) {
    let a = dns::answer(state, view, host, dns::QType::A);
    let mut lines = Vec::new();
    let mut last = None;
    for r in &a.answers {
        let data = match &r.data {
            RecordData::A(ip) => {
                last = Some(ip.to_string());
                format!("A {ip}")
            }
            RecordData::Cname(c) => format!("CNAME {c}"),
            other => format!("{other:?}"),
        };
        lines.push(format!("{} {} {data}", r.name, r.ttl));
    }
    if a.answers.is_empty() || !matches!(a.rcode, dns::Rcode::NoError) {
        lines.push(format!("status: {:?}", a.rcode));
    }
    (lines, last, a.rcode)
}

/// Runs every check for `vault_name` from `origin`; `principal` (object id) adds the authorization check.
pub fn diagnose(state: &State, vault_name: &str, origin: &Origin, principal: Option<&Caller>) -> Option<Report> {
    let vault = keyvault::vault_by_name(state, vault_name)?.clone();
    let host = keyvault::vault_host(&vault.name);
    let view = netctx::view(state, origin);
    let (dns_lines, address, rcode) = chain_lines(state, &view, &host);
    let route = netctx::route(state, origin, &host);
    let mut findings = Vec::new();
    let (sub, rg) = parts(&vault.id);
    let conns = keyvault::connections(state, &vault.id);
    let approved: Vec<_> = conns.iter().filter(|c| c.status == connections::status::APPROVED).collect();
    let caller_vnet: Option<VirtualNetwork> = match origin {
        Origin::Nic { nic_id } => netctx::placement(state, nic_id).map(|(_, _, v)| v),
        _ => None,
    };

    // 1. Connection states.
    for c in &conns {
        match c.status.as_str() {
            connections::status::PENDING => findings.push(Finding {
                check: "connection-not-approved",
                resource: Some(vault.id.clone()),
                severity: "error",
                problem: format!("private endpoint connection {} is Pending: it carries no traffic until the vault's owner approves it", c.name),
                evidence: vec![format!("{} status=Pending provisioningState={}", c.id, c.provisioning_state)],
                fix: Some(format!("az keyvault private-endpoint-connection approve --description \"Approved\" --resource-group {rg} --vault-name {} --name {}", vault.name, c.name)),
            }),
            connections::status::REJECTED => findings.push(Finding {
                check: "connection-rejected",
                resource: Some(vault.id.clone()),
                severity: "error",
                problem: format!("private endpoint connection {} is Rejected; a rejected connection cannot be approved again", c.name),
                evidence: vec![format!("{} status=Rejected", c.id)],
                fix: Some(format!("az keyvault private-endpoint-connection delete --resource-group {rg} --vault-name {} --name {}  # then create a new private endpoint", vault.name, c.name)),
            }),
            _ => {}
        }
    }

    // The caller's VNet (or, from the internet, nothing) is where the private DNS must work.
    if let Some(cv) = &caller_vnet {
        // Endpoints of this vault reachable from the caller.
        let reachable_pes: Vec<(String, String)> = approved
            .iter()
            .filter_map(|c| privatelink::endpoint(state, &c.private_endpoint_id))
            .filter(|pe| peering::connected(state, &cv.id, &network::vnet_of_subnet(&pe.subnet_id)))
            .map(|pe| (pe.name.clone(), pe.private_ip_address.clone()))
            .collect();
        let same_vnet: Vec<_> = keyvault::connections(state, &vault.id)
            .iter()
            .filter_map(|c| privatelink::endpoint(state, &c.private_endpoint_id))
            .filter(|pe| network::vnet_of_subnet(&pe.subnet_id).eq_ignore_ascii_case(&cv.id))
            .map(|pe| pe.name)
            .collect();
        if same_vnet.len() > 1 {
            findings.push(Finding {
                check: "two-endpoints-one-vnet",
                resource: None,
                severity: "warning",
                problem: format!("vault {} has {} private endpoints in virtual network {}; Azure advises one per VNet (their A records compete in one zone)", vault.name, same_vnet.len(), cv.name),
                evidence: same_vnet.clone(),
                fix: None,
            });
        }
        if !cv.dns_servers.is_empty() {
            findings.push(Finding {
                check: "custom-dns-bypasses-zones",
                resource: None,
                severity: "error",
                problem: format!(
                    "virtual network {} uses custom DNS servers {:?}: private DNS zones linked to it are not consulted",
                    cv.name, cv.dns_servers
                ),
                evidence: vec![format!("{} dhcpOptions.dnsServers={:?}", cv.id, cv.dns_servers)],
                fix: Some(format!(
                    "az network vnet update --resource-group {} --name {} --dns-servers \"\"",
                    parts(&cv.id).1,
                    cv.name
                )),
            });
        }
        if !reachable_pes.is_empty() && cv.dns_servers.is_empty() {
            let zones: Vec<PrivateDnsZone> = privatedns::all_zones(state).cloned().collect();
            let exact: Vec<&PrivateDnsZone> =
                zones.iter().filter(|z| z.name.eq_ignore_ascii_case(VAULT_ZONE)).collect();
            let (pe_name, pe_ip) = reachable_pes[0].clone();
            if exact.is_empty() {
                let misnamed: Vec<String> = zones
                    .iter()
                    .filter(|z| z.name.contains("vault") && z.name.contains("privatelink"))
                    .map(|z| z.name.clone())
                    .collect();
                findings.push(Finding {
                    check: "zone-missing",
                    resource: None,
                    severity: "error",
                    problem: format!(
                        "no private DNS zone named exactly {VAULT_ZONE}{}",
                        if misnamed.is_empty() {
                            String::new()
                        } else {
                            format!(" (found {misnamed:?}, which Key Vault's CNAME never points to)")
                        }
                    ),
                    evidence: zones.iter().map(|z| z.id.clone()).collect(),
                    fix: Some(format!(
                        "az network private-dns zone create --resource-group {rg} --name {VAULT_ZONE} && az network private-dns link vnet create --resource-group {rg} --zone-name {VAULT_ZONE} --name link-{} --virtual-network {} --registration-enabled false && az network private-dns record-set a add-record --resource-group {rg} --zone-name {VAULT_ZONE} --record-set-name {} --ipv4-address {pe_ip}",
                        cv.name, cv.id, vault.name
                    )),
                });
            } else {
                let linked: Vec<&&PrivateDnsZone> = exact
                    .iter()
                    .filter(|z| {
                        privatedns::links_of(state, &z.id)
                            .iter()
                            .any(|l| l.virtual_network_id.eq_ignore_ascii_case(&cv.id))
                    })
                    .collect();
                match linked.first() {
                    None => {
                        let z = exact[0];
                        let peered = peering::peers(state, &cv.id);
                        findings.push(Finding {
                            check: "zone-not-linked",
                            resource: Some(z.id.clone()),
                            severity: "error",
                            problem: format!("zone {VAULT_ZONE} is not linked to the caller's virtual network {}{}: the name resolves to the vault's public address", cv.name, if peered.is_empty() { String::new() } else { " (peering does not share zone links)".into() }),
                            evidence: privatedns::links_of(state, &z.id).iter().map(|l| format!("link {} -> {}", l.name, l.virtual_network_id)).collect(),
                            fix: Some(format!("az network private-dns link vnet create --resource-group {} --zone-name {VAULT_ZONE} --name link-{} --virtual-network {} --registration-enabled false", parts(&z.id).1, cv.name, cv.id)),
                        });
                    }
                    Some(z) => {
                        let record = privatedns::record_sets_named(state, &z.id, &vault.name)
                            .into_iter()
                            .find(|r| r.record_type == "A");
                        let zrg = parts(&z.id).1;
                        match record {
                            None => findings.push(Finding {
                                check: "a-record-missing",
                                resource: Some(z.id.clone()),
                                severity: "error",
                                problem: format!("zone {VAULT_ZONE} linked to {} has no A record named {}: the caller gets NXDOMAIN (the linked zone answers for every privatelink name)", cv.name, vault.name),
                                evidence: dns_lines.clone(),
                                fix: Some(format!("az network private-dns record-set a add-record --resource-group {zrg} --zone-name {VAULT_ZONE} --record-set-name {} --ipv4-address {pe_ip}", vault.name)),
                            }),
                            Some(r) if !r.data.a.iter().any(|a| reachable_pes.iter().any(|(_, ip)| ip == a)) => findings.push(Finding {
                                check: "a-record-wrong-address",
                                resource: Some(z.id.clone()),
                                severity: "error",
                                problem: format!("A record {} in {VAULT_ZONE} points to {:?}, but private endpoint {pe_name} has address {pe_ip}", vault.name, r.data.a),
                                evidence: vec![format!("{} A {:?}", r.id, r.data.a)],
                                fix: Some(format!("az network private-dns record-set a update --resource-group {zrg} --zone-name {VAULT_ZONE} --name {} --set aRecords[0].ipv4Address={pe_ip}", vault.name)),
                            }),
                            _ => {}
                        }
                        // The VNet's one registration zone taken by the privatelink zone.
                        if privatedns::links_of(state, &z.id)
                            .iter()
                            .any(|l| l.virtual_network_id.eq_ignore_ascii_case(&cv.id) && l.registration_enabled)
                        {
                            findings.push(Finding {
                                check: "registration-zone-taken",
                                resource: None,
                                severity: "warning",
                                problem: format!("the link of {VAULT_ZONE} to {} has auto-registration on: it uses the VNet's only registration zone, which private link does not need", cv.name),
                                evidence: vec![],
                                fix: None,
                            });
                        }
                    }
                }
            }
        }
        // The NXDOMAIN trap: a linked privatelink zone without this vault's record, while the vault's
        // approved endpoints elsewhere make its name a privatelink alias.
        if matches!(rcode, dns::Rcode::NxDomain) && reachable_pes.is_empty() && !approved.is_empty() {
            let link = privatedns::links_of_vnet(state, &cv.id)
                .find(|l| l.zone_id.to_ascii_lowercase().ends_with(&format!("/{VAULT_ZONE}")))
                .cloned();
            findings.push(Finding {
                check: "nxdomain-trap",
                resource: None,
                severity: "error",
                problem: format!("{host} gets NXDOMAIN in {}: a zone {VAULT_ZONE} is linked there without a record for {}, whose other endpoints make its name a privatelink alias", cv.name, vault.name),
                evidence: dns_lines.clone(),
                fix: link.map(|l| {
                    format!(
                        "az network private-dns link vnet update --resource-group {} --zone-name {VAULT_ZONE} --name {} --set resolutionPolicy=NxDomainRedirect",
                        parts(&l.zone_id).1,
                        l.name
                    )
                }),
            });
        }
    }

    // On-premises DNS: conditional forwarders for both public zones, to a resolver inbound endpoint
    // in a VNet linked to the zone (azure-behaviour.md §1.8).
    if let Origin::OnPremises { network_id } = origin
        && let Some(o) = onprem::onprem(state, network_id)
    {
        let reachable_pe = approved
            .iter()
            .filter_map(|c| privatelink::endpoint(state, &c.private_endpoint_id))
            .any(|pe| peering::connected(state, &o.gateway_vnet_id, &network::vnet_of_subnet(&pe.subnet_id)));
        if reachable_pe {
            let inbound: Option<String> = onprem::all_inbound(state)
                .find(|i| {
                    onprem::resolver_vnet_at(state, &i.private_ip_address).is_some_and(|v| {
                        peering::connected(state, &o.gateway_vnet_id, &v)
                            && privatedns::all_zones(state).any(|z| {
                                z.name.eq_ignore_ascii_case(VAULT_ZONE)
                                    && privatedns::links_of(state, &z.id)
                                        .iter()
                                        .any(|l| l.virtual_network_id.eq_ignore_ascii_case(&v))
                            })
                    })
                })
                .map(|i| i.private_ip_address.clone());
            let target = inbound.clone().unwrap_or_else(|| "INBOUND_ENDPOINT_IP".into());
            let fix = format!(
                "vaultlink onprem add {} --vnet {} --address-space {} --forward vault.azure.net={target} --forward vaultcore.azure.net={target}",
                o.name, o.gateway_vnet_id, o.address_space
            );
            if o.forwarders.iter().any(|(z, _)| z.eq_ignore_ascii_case(VAULT_ZONE)) {
                findings.push(Finding {
                    check: "onprem-forwards-privatelink-zone",
                    resource: None,
                    severity: "error",
                    problem: format!("on-premises network {} forwards {VAULT_ZONE}; it must forward the public zones vault.azure.net and vaultcore.azure.net instead", o.name),
                    evidence: o.forwarders.iter().map(|(z, t)| format!("forward {z} -> {t}")).collect(),
                    fix: Some(fix),
                });
            } else {
                let missing: Vec<&str> = ["vault.azure.net", "vaultcore.azure.net"]
                    .into_iter()
                    .filter(|zone| {
                        !o.forwarders
                            .iter()
                            .any(|(z, t)| z.eq_ignore_ascii_case(zone) && inbound.as_deref() == Some(t.as_str()))
                    })
                    .collect();
                if !missing.is_empty() {
                    findings.push(Finding {
                        check: "onprem-forwarders-missing",
                        resource: None,
                        severity: "error",
                        problem: format!("on-premises network {} has no conditional forwarder for {missing:?} to a DNS resolver inbound endpoint in a VNet linked to {VAULT_ZONE}", o.name),
                        evidence: o.forwarders.iter().map(|(z, t)| format!("forward {z} -> {t}")).collect(),
                        fix: Some(fix),
                    });
                }
            }
        }
    }

    // Path and the firewall's word on public callers.
    let (path, reachable, reason) = match &route {
        Route::Reaches(ctx) => {
            let who = principal.cloned().unwrap_or(Caller {
                tenant_id: String::new(),
                object_id: "caller".into(),
                app_id: "caller".into(),
            });
            match firewall::decide(state, &vault, ctx, &who) {
                Ok(firewall::Path::PrivateEndpoint) => {
                    ("private-endpoint".to_string(), true, "through an approved private endpoint".to_string())
                }
                Ok(firewall::Path::TrustedService) => ("public".into(), true, "trusted service bypass".into()),
                Ok(firewall::Path::PublicNetwork { rule }) => {
                    ("public".into(), true, format!("public network, allowed by {rule}"))
                }
                Err(d) => {
                    // When the private side is broken, the firewall's refusal is a symptom, not the cause.
                    if findings.iter().all(|f| f.severity != "error") {
                        findings.push(firewall_finding(&vault, &rg, ctx, &d));
                    }
                    (if ctx.private_endpoint.is_some() { "private-endpoint" } else { "public" }.into(), false, d.reason)
                }
            }
        }
        Route::NotResolved { view } => ("none".into(), false, format!("{host} does not resolve in {view}")),
        Route::Unreachable { address, reason } => ("none".into(), false, format!("{address}: {reason}")),
    };
    if let (Some(p), true) = (principal, reachable)
        && let Err(e) = kv::authorize(state, &vault, p, READ_SECRETS, None)
    {
        findings.push(Finding {
            check: "principal-not-authorized",
            resource: None,
            severity: "error",
            problem: format!("principal {} may not read secrets: {}", p.object_id, e.inner.clone().unwrap_or(e.code)),
            evidence: vec![e.message.lines().next().unwrap_or_default().to_string()],
            fix: Some(grant_secret_reads(&vault, &p.object_id)),
        });
    }
    let _ = sub;
    let principal_steps = principal.map(|p| steps::of(state, &vault, p)).unwrap_or_default();
    Some(Report {
        vault: vault.name.clone(),
        caller: describe_origin(state, origin),
        dns: dns_lines,
        address,
        path,
        reachable,
        reason,
        findings,
        principal_steps,
    })
}

fn firewall_finding(vault: &Vault, rg: &str, ctx: &NetworkContext, d: &firewall::Denied) -> Finding {
    let fix = match d.inner_code {
        "ForbiddenByFirewall" => Some(format!(
            "az keyvault network-rule add --resource-group {rg} --name {} --ip-address {}",
            vault.name, ctx.client_address
        )),
        _ if ctx.private_endpoint.is_none() => Some(format!(
            "az keyvault update --resource-group {rg} --name {} --public-network-access Enabled  # or reach it through an approved private endpoint",
            vault.name
        )),
        _ => None,
    };
    Finding {
        check: if d.inner_code == "ForbiddenByFirewall" { "firewall-denies" } else { "connection-refused" },
        severity: "error",
        problem: format!("the vault refuses this caller ({}): {}", d.inner_code, d.reason),
        evidence: d.message.split("\r\n").map(str::to_string).collect(),
        fix,
        resource: Some(vault.id.clone()),
    }
}

/// One row of `doctor --matrix`.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixRow {
    pub caller: String,
    pub vault: String,
    pub address: Option<String>,
    pub path: String,
    pub allowed: bool,
    pub reason: String,
}

/// Every caller context (the internet, every client NIC, named by its VM when it has one, every
/// on-premises network) against every vault.
pub fn matrix(state: &State, internet: std::net::Ipv4Addr) -> Vec<MatrixRow> {
    let mut origins = vec![Origin::Internet { public_address: internet }];
    origins.extend(state.of_kind(crate::model::RecordKind::NetworkInterface).filter_map(|r| match r {
        crate::model::Record::NetworkInterface(n) if n.private_endpoint_id.is_none() => {
            Some(Origin::Nic { nic_id: n.id.clone() })
        }
        _ => None,
    }));
    origins.extend(onprem::all_onprem(state).into_iter().map(|o| Origin::OnPremises { network_id: o.id }));
    let vaults: Vec<String> = keyvault::all_vaults(state).map(|v| v.name.clone()).collect();
    let mut rows = Vec::new();
    for o in &origins {
        for v in &vaults {
            if let Some(r) = diagnose(state, v, o, None) {
                rows.push(MatrixRow {
                    caller: r.caller,
                    vault: r.vault,
                    address: r.address,
                    path: r.path,
                    allowed: r.reachable,
                    reason: r.reason,
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests;
