//! DNS answers: what Azure DNS says about a name, seen from the internet or from inside a VNet.
//!
//! This is the one place that decides DNS answers (azure-behaviour.md §1, azure-dns-details.md).
//! It is a pure function of the state, the asker's [`View`] and the question; `vaultlink-dns`
//! parses and renders the wire format around it, and the doctor can call it to explain a result.
//!
//! # The model
//!
//! Every view is a recursive resolver (Azure DNS at 168.63.129.16 sets `rd ra` and never `aa`,
//! azure-dns-details.md §4). Resolving a name is a walk along its CNAME chain; at each name the
//! resolver asks the first source that holds it:
//!
//! 1. a private DNS zone linked to the asker's VNet (the longest zone name that is a suffix of
//!    the name wins), when the view has linked zones at all;
//! 2. otherwise the public zones vaultlink plays: `vault.azure.net` (one CNAME per vault) and
//!    `vaultcore.azure.net` (the `privatelink` aliases and the regional `data-prod-*` names), and
//!    the other Azure hosts it serves ([`SERVICE_ADDRESSES`]);
//! 3. any other name is on the real internet, which vaultlink does not resolve: REFUSED.
//!
//! This reproduces Azure's behaviour: a vault with an Approved private endpoint connection gets
//! the public alias `<v>.privatelink.vaultcore.azure.net`; a VNet linked to a zone of that name
//! stops the chain there and answers from the zone (the A record named by the bare vault name),
//! or NXDOMAIN when the zone lacks it, unless the link says `NxDomainRedirect`.
//!
//! # Choices where Azure's behaviour is not documented
//!
//! Marked "vaultlink's choice" where they are made; TTLs and public SOA values are in [`ttl`]
//! and [`public_soa`], so they can be corrected in one place.
//!
//! - Public hops: TTL 60 on the vault and privatelink CNAMEs (observed), 300 on the regional
//!   CNAME and A records; the public zones get an Azure-DNS-style SOA (`ns1-01.azure-dns.com.
//!   azuredns-hostmaster.microsoft.com. 1 3600 300 2419200 300`) and four NS records; negative
//!   answers carry that SOA with TTL 300.
//! - Region codes beyond the observed ones (eus, weu, cca, sea, ncu) follow the pattern; public
//!   addresses come from 198.18.0.0/15 (see [`region_public_address`]).
//! - `privatelink.vaultcore.azure.net` is, publicly, an empty name inside `vaultcore.azure.net`.
//! - A soft-deleted vault keeps its public name until its scheduled purge date; it never has the
//!   privatelink alias (its connections went with it).
//! - Names outside the public zones above, and outside the view's linked zones: REFUSED, also
//!   mid-chain (a private CNAME to an internet name), with the chain so far. vaultlink is not a
//!   resolver for the internet.
//! - A view naming a VNet that doesn't exist: REFUSED.
//! - A VNet with custom DNS servers: the first server is the one asked; if it is 168.63.129.16
//!   the VNet behaves as with default DNS, otherwise the custom server is modelled as a plain
//!   recursive resolver on the internet (no private zones). Forwarding to a Private Resolver is
//!   not modelled.
//! - NS at a private zone apex: NODATA (private zones have no NS records).
//! - A CNAME loop, or a chain longer than [`MAX_CHAIN`]: SERVFAIL with the chain so far.
//! - `NxDomainRedirect` applies to zones named `privatelink.*` and A/AAAA/CNAME questions, and
//!   retries the missing name publicly (azure-behaviour.md §1.4).
//! - TTLs of private records are served as stored (captures through 168.63.129.16 show 1800 for a
//!   3600 record, maybe a cap; UNVERIFIED, so not copied).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::engine::State;
use crate::keyvault;
use crate::model::{self, PrivateDnsZone, Record, RecordSet, Vault, VirtualNetwork};
use crate::privatedns;
use crate::privatelink::connections;
use crate::regions;

/// Where a question comes from: decides which private zones the resolver consults.
///
/// Adding a view (e.g. `OnPremises { .. }`) means adding a variant and one arm in `Scope::of`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum View {
    /// A client on the internet, using any public recursive resolver.
    Internet,
    /// A client in this virtual network, asking the DNS server the VNet gives it: Azure DNS
    /// (168.63.129.16) by default, or the VNet's custom DNS servers.
    VirtualNetwork { vnet_id: String },
    /// A client in an on-premises network, asking its own DNS server, which applies its
    /// conditional forwarders and otherwise resolves on the internet.
    OnPremises { network_id: String },
}

/// The data of one resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// Target, absolute, with its trailing dot.
    Cname(String),
    /// Preference, exchange.
    Mx(u16, String),
    /// Name server (public zone apexes only: private zones have no NS records).
    Ns(String),
    Ptr(String),
    /// Priority, weight, port, target.
    Srv(u16, u16, u16, String),
    /// The character strings of one TXT record, as stored (the wire layer splits long ones).
    Txt(Vec<String>),
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
}

impl RecordData {
    /// The record type of this data.
    pub fn qtype(&self) -> QType {
        match self {
            RecordData::A(_) => QType::A,
            RecordData::Aaaa(_) => QType::Aaaa,
            RecordData::Cname(_) => QType::Cname,
            RecordData::Mx(..) => QType::Mx,
            RecordData::Ns(_) => QType::Ns,
            RecordData::Ptr(_) => QType::Ptr,
            RecordData::Srv(..) => QType::Srv,
            RecordData::Txt(_) => QType::Txt,
            RecordData::Soa { .. } => QType::Soa,
        }
    }
}

/// One resource record (class IN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// Owner name: absolute, lower-case, with its trailing dot.
    pub name: String,
    pub ttl: u32,
    pub data: RecordData,
}

/// Zone-file presentation (`name ttl IN TYPE data`), as `dig` prints records.
impl std::fmt::Display for DnsRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} IN ", self.name, self.ttl)?;
        match &self.data {
            RecordData::A(a) => write!(f, "A {a}"),
            RecordData::Aaaa(a) => write!(f, "AAAA {a}"),
            RecordData::Cname(t) => write!(f, "CNAME {t}"),
            RecordData::Mx(p, x) => write!(f, "MX {p} {x}"),
            RecordData::Ns(n) => write!(f, "NS {n}"),
            RecordData::Ptr(p) => write!(f, "PTR {p}"),
            RecordData::Srv(p, w, port, t) => write!(f, "SRV {p} {w} {port} {t}"),
            RecordData::Txt(strings) => {
                f.write_str("TXT")?;
                for s in strings {
                    write!(f, " \"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))?;
                }
                Ok(())
            }
            RecordData::Soa { mname, rname, serial, refresh, retry, expire, minimum } => {
                write!(f, "SOA {mname} {rname} {serial} {refresh} {retry} {expire} {minimum}")
            }
        }
    }
}

/// The response codes a view can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rcode {
    NoError,
    NxDomain,
    /// A CNAME chain that loops or is longer than [`MAX_CHAIN`].
    ServFail,
    /// The name is outside what vaultlink serves (also mid-chain: the CNAMEs so far are in the
    /// answer), or the view names no known network.
    Refused,
}

/// The answer to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAnswer {
    pub rcode: Rcode,
    /// Whether the `aa` flag is set. Every current view is a recursive resolver and Azure DNS
    /// never sets `aa` (azure-dns-details.md §4), so this is false; it is here for views that
    /// model an authoritative server.
    pub authoritative: bool,
    /// The CNAME chain followed, then the records of the asked type (empty for NODATA/NXDOMAIN).
    pub answers: Vec<DnsRecord>,
    /// The SOA of the zone that said NXDOMAIN or NODATA, with the negative-caching TTL.
    pub authority: Vec<DnsRecord>,
}

impl DnsAnswer {
    fn new(rcode: Rcode, answers: Vec<DnsRecord>, authority: Vec<DnsRecord>) -> Self {
        DnsAnswer { rcode, authoritative: false, answers, authority }
    }
}

/// A question's type. `Other` carries any type vaultlink stores no records of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QType {
    A,
    Aaaa,
    Cname,
    Mx,
    Ptr,
    Srv,
    Txt,
    Soa,
    Ns,
    Any,
    Other(u16),
}

impl QType {
    /// The type for a wire code (`Other` for codes without a variant).
    pub fn from_code(code: u16) -> Self {
        match code {
            1 => QType::A,
            2 => QType::Ns,
            5 => QType::Cname,
            6 => QType::Soa,
            12 => QType::Ptr,
            15 => QType::Mx,
            16 => QType::Txt,
            28 => QType::Aaaa,
            33 => QType::Srv,
            255 => QType::Any,
            other => QType::Other(other),
        }
    }

    /// The wire code of this type.
    pub fn code(self) -> u16 {
        match self {
            QType::A => 1,
            QType::Ns => 2,
            QType::Cname => 5,
            QType::Soa => 6,
            QType::Ptr => 12,
            QType::Mx => 15,
            QType::Txt => 16,
            QType::Aaaa => 28,
            QType::Srv => 33,
            QType::Any => 255,
            QType::Other(c) => c,
        }
    }
}

/// Azure DNS's address in every virtual network (azure-behaviour.md §1.3).
pub const AZURE_DNS: Ipv4Addr = Ipv4Addr::new(168, 63, 129, 16);
/// The public zone of vault host names.
pub const VAULT_ZONE: &str = "vault.azure.net";
/// The public zone of the aliases and regional names (azure-behaviour.md §1.2).
pub const VAULTCORE_ZONE: &str = "vaultcore.azure.net";
/// The private zone name Key Vault private endpoints use.
pub const PRIVATELINK_ZONE: &str = "privatelink.vaultcore.azure.net";
/// The other Azure hosts vaultlink plays, with the public addresses it gives them (from the
/// RFC 2544 range, like the vaults' ingress, so never a real host). Lab namespaces reach them here.
pub const SERVICE_ADDRESSES: &[(&str, Ipv4Addr)] = &[
    ("management.azure.com", Ipv4Addr::new(198, 19, 255, 1)),
    ("login.microsoftonline.com", Ipv4Addr::new(198, 19, 255, 2)),
    ("login.windows.net", Ipv4Addr::new(198, 19, 255, 2)),
];
/// Longest CNAME chain followed before SERVFAIL (vaultlink's choice; BIND also stops at 16).
pub const MAX_CHAIN: usize = 16;

/// TTLs of the public records. Only the first hop is observed (60 s, azure-dns-details.md §2.2);
/// the others are vaultlink's choice (UNVERIFIED in the reference).
pub mod ttl {
    /// `<v>.vault.azure.net CNAME ...` (observed: 60).
    pub const VAULT_CNAME: u32 = 60;
    /// `<v>.privatelink.vaultcore.azure.net CNAME data-prod-<rc>...` (60 as observed for Storage).
    pub const PRIVATELINK_CNAME: u32 = 60;
    /// `data-prod-<rc>.vaultcore.azure.net CNAME data-prod-<rc>-region...` (vaultlink's choice).
    pub const REGIONAL_CNAME: u32 = 300;
    /// `data-prod-<rc>-region.vaultcore.azure.net A ...` (vaultlink's choice).
    pub const REGIONAL_A: u32 = 300;
    /// SOA record set of the public zones (Azure DNS public zone default).
    pub const PUBLIC_SOA: u32 = 3600;
    /// NS records of the public zones (Azure DNS public zone default).
    pub const PUBLIC_NS: u32 = 172_800;
}

/// The short code of a region in Key Vault's regional host names (`regions::PHYSICAL`); the
/// region name itself for a region missing from the table.
pub fn region_code(region: &str) -> String {
    let region = region.to_ascii_lowercase();
    regions::physical(&region).map_or(region, |r| r.code.to_string())
}

/// The region a `data-prod-<code>` code names.
fn region_of_code(code: &str) -> Option<String> {
    regions::PHYSICAL.iter().find(|r| r.code == code).map(|r| r.name.to_string())
}

/// The shared public ingress address of a region's vaults: `198.18.<n>.10`.
///
/// Azure answers every vault of a region with the region's shared ingress (azure-behaviour.md
/// §1.1). vaultlink takes these from 198.18.0.0/15 (RFC 2544, benchmarking): never routed on the
/// internet, never a real Azure address, and not RFC 1918, so it can't collide with a VNet's
/// private addresses. A region missing from the table gets `198.19.<hash>.10`.
pub fn region_public_address(region: &str) -> Ipv4Addr {
    let region = region.to_ascii_lowercase();
    match regions::physical(&region) {
        Some(r) => Ipv4Addr::new(198, 18, r.octet, 10),
        None => {
            // FNV-1a: stable across builds and platforms.
            let h = region.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
            Ipv4Addr::new(198, 19, h.to_be_bytes()[3], 10)
        }
    }
}

/// The public address a vault's host name resolves to from the internet.
pub fn vault_public_address(vault: &Vault) -> Ipv4Addr {
    region_public_address(&vault.location)
}

/// The live vault a data-plane host name (`<name>.vault.azure.net`, any case, optional trailing
/// dot) belongs to.
pub fn vault_for_host<'s>(state: &'s State, host: &str) -> Option<&'s Vault> {
    let host = normalise(host);
    let label = under(&host, VAULT_ZONE).filter(|l| !l.is_empty() && !l.contains('.'))?;
    keyvault::vault_by_name(state, label).map(|v| &**v)
}

/// True when the vault has at least one Approved private endpoint connection: exactly the
/// condition for the public `privatelink` alias (azure-behaviour.md §1.1).
pub fn has_approved_connection(state: &State, vault: &Vault) -> bool {
    keyvault::connections(state, &vault.id).iter().any(|c| c.status == connections::status::APPROVED)
}

/// The SOA vaultlink gives its public zones. Azure public DNS zone defaults (azure-dns-details.md
/// §1.1, [S41]); the real SOA of `vault.azure.net` / `vaultcore.azure.net` is not in the
/// reference, so these values are vaultlink's choice.
pub fn public_soa(zone: &str) -> DnsRecord {
    DnsRecord {
        name: absolute(zone),
        ttl: ttl::PUBLIC_SOA,
        data: RecordData::Soa {
            mname: "ns1-01.azure-dns.com.".into(),
            rname: "azuredns-hostmaster.microsoft.com.".into(),
            serial: 1,
            refresh: 3600,
            retry: 300,
            expire: 2_419_200,
            minimum: 300,
        },
    }
}

/// Name servers of the public zones (Azure DNS's four-family pattern; vaultlink's choice).
const PUBLIC_NS: &[&str] =
    &["ns1-01.azure-dns.com.", "ns2-01.azure-dns.net.", "ns3-01.azure-dns.org.", "ns4-01.azure-dns.info."];

/// Answers one question as the view's resolver would.
///
/// Reads the state as it is now (and the clock, for soft-deleted vaults' retention): a changed
/// record is answered at once.
pub fn answer(state: &State, view: &View, qname: &str, qtype: QType) -> DnsAnswer {
    if let View::OnPremises { network_id } = view {
        return on_premises(state, network_id, qname, qtype);
    }
    let Some(scope) = Scope::of(state, view) else {
        return DnsAnswer::new(Rcode::Refused, vec![], vec![]);
    };
    resolve(state, &scope, &normalise(qname), QType::from_code(qtype.code()))
}

// ---------------------------------------------------------------- views

/// An on-premises DNS server: a conditional forwarder whose zone is the longest suffix of the
/// *queried* name sends the whole question to its target; an inbound endpoint of a DNS Private
/// Resolver answers as Azure DNS of its VNet. Without a matching forwarder the server resolves on
/// the internet and follows the CNAME chain there without consulting its forwarders again (as the
/// usual recursive servers do; this is why forwarding only `privatelink.vaultcore.azure.net` fails,
/// azure-behaviour.md §1.8). A forwarder to an address that answers nothing gives SERVFAIL.
fn on_premises(state: &State, network_id: &str, qname: &str, qtype: QType) -> DnsAnswer {
    let Some(net) = crate::network::onprem::onprem(state, network_id) else {
        return DnsAnswer::new(Rcode::Refused, vec![], vec![]);
    };
    let name = normalise(qname);
    let forwarder =
        net.forwarders.iter().filter(|(zone, _)| under(&name, zone).is_some()).max_by_key(|(zone, _)| zone.len());
    match forwarder {
        Some((_, target)) => match crate::network::onprem::resolver_vnet_at(state, target) {
            // The resolver's VNet must be reachable from the on-premises network.
            Some(vnet_id) if crate::network::peering::connected(state, &net.gateway_vnet_id, &vnet_id) => {
                answer(state, &View::VirtualNetwork { vnet_id }, qname, qtype)
            }
            _ => DnsAnswer::new(Rcode::ServFail, vec![], vec![]),
        },
        None => answer(state, &View::Internet, qname, qtype),
    }
}

/// The private zones a view's resolver consults before public DNS.
struct Scope<'s> {
    zones: Vec<LinkedZone<'s>>,
}

struct LinkedZone<'s> {
    zone: &'s PrivateDnsZone,
    /// The link's `resolutionPolicy` is `NxDomainRedirect`.
    redirect: bool,
}

impl<'s> Scope<'s> {
    /// The scope of a view; `None` when the view names no known network (REFUSED).
    fn of(state: &'s State, view: &View) -> Option<Self> {
        match view {
            View::Internet | View::OnPremises { .. } => Some(Scope { zones: vec![] }),
            View::VirtualNetwork { vnet_id } => {
                let vnet = match state.get(vnet_id) {
                    Some(Record::VirtualNetwork(v)) => v,
                    _ => return None,
                };
                if uses_custom_dns(vnet) {
                    // vaultlink models a custom DNS server as a plain recursive resolver on the
                    // internet: it sees public DNS only (azure-behaviour.md §1.3).
                    return Some(Scope { zones: vec![] });
                }
                Some(Scope { zones: linked_zones(state, vnet) })
            }
        }
    }

    /// The linked zone holding `name`: the longest zone name that is `name` or a suffix of it.
    fn zone_for(&self, name: &str) -> Option<&LinkedZone<'s>> {
        self.zones.iter().filter(|z| under(name, &z.zone.name).is_some()).max_by_key(|z| z.zone.name.len())
    }
}

/// A VNet's clients use a custom DNS server unless the first server listed is Azure DNS itself
/// (resolvers ask the first server first; listing 168.63.129.16 is the same as the default).
fn uses_custom_dns(vnet: &VirtualNetwork) -> bool {
    vnet.dns_servers.first().is_some_and(|s| s.parse::<Ipv4Addr>().ok() != Some(AZURE_DNS))
}

fn linked_zones<'s>(state: &'s State, vnet: &VirtualNetwork) -> Vec<LinkedZone<'s>> {
    privatedns::links_of_vnet(state, &vnet.id)
        .filter_map(|l| match state.get(&l.zone_id) {
            Some(Record::PrivateDnsZone(zone)) => {
                Some(LinkedZone { zone, redirect: l.resolution_policy.eq_ignore_ascii_case("NxDomainRedirect") })
            }
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- resolution

/// What a source knows about one name.
enum Node {
    /// No source vaultlink plays holds the name.
    Outside,
    /// The name does not exist; `soa` is the zone's negative-answer SOA.
    Missing { soa: DnsRecord },
    /// The name exists with these records (none for an empty non-terminal).
    Present { records: Vec<DnsRecord>, soa: DnsRecord },
}

fn resolve(state: &State, scope: &Scope<'_>, qname: &str, qtype: QType) -> DnsAnswer {
    let mut answers: Vec<DnsRecord> = Vec::new();
    let mut name = qname.to_string();
    for _ in 0..MAX_CHAIN {
        let node = match scope.zone_for(&name) {
            Some(linked) => match private_node(state, linked.zone, &name) {
                // NxDomainRedirect: only for privatelink zones and A/AAAA/CNAME questions, the
                // resolver retries the name publicly (azure-behaviour.md §1.4).
                Node::Missing { .. }
                    if linked.redirect
                        && linked.zone.name.starts_with("privatelink.")
                        && matches!(qtype, QType::A | QType::Aaaa | QType::Cname) =>
                {
                    public_node(state, &name)
                }
                node => node,
            },
            None => public_node(state, &name),
        };
        match node {
            Node::Outside => return DnsAnswer::new(Rcode::Refused, answers, vec![]),
            Node::Missing { soa } => return DnsAnswer::new(Rcode::NxDomain, answers, vec![soa]),
            Node::Present { records, soa } => {
                let alias = records.iter().find_map(|r| match &r.data {
                    RecordData::Cname(target) if !matches!(qtype, QType::Cname | QType::Any) => {
                        Some((r.clone(), normalise(target)))
                    }
                    _ => None,
                });
                if let Some((cname, target)) = alias {
                    answers.push(cname);
                    if target == qname || answers.iter().any(|a| a.name == absolute(&target)) {
                        return DnsAnswer::new(Rcode::ServFail, answers, vec![]);
                    }
                    name = target;
                    continue;
                }
                let matching: Vec<DnsRecord> = records.into_iter().filter(|r| matches(qtype, &r.data)).collect();
                if matching.is_empty() {
                    return DnsAnswer::new(Rcode::NoError, answers, vec![soa]);
                }
                answers.extend(matching);
                return DnsAnswer::new(Rcode::NoError, answers, vec![]);
            }
        }
    }
    DnsAnswer::new(Rcode::ServFail, answers, vec![])
}

fn matches(qtype: QType, data: &RecordData) -> bool {
    qtype == QType::Any || data.qtype() == qtype
}

// ---------------------------------------------------------------- public zones

fn public_node(state: &State, name: &str) -> Node {
    if let Some((host, addr)) = SERVICE_ADDRESSES.iter().find(|(h, _)| *h == name) {
        let soa = negative(public_soa(host));
        return Node::Present {
            records: vec![DnsRecord { name: absolute(host), ttl: 300, data: RecordData::A(*addr) }],
            soa,
        };
    }
    if let Some(rel) = under(name, VAULT_ZONE) {
        let soa = negative(public_soa(VAULT_ZONE));
        if rel.is_empty() {
            return Node::Present { records: apex_records(VAULT_ZONE), soa };
        }
        if rel.contains('.') {
            return Node::Missing { soa };
        }
        return match public_vault(state, rel) {
            Some((vault, live)) => {
                let target = if live && has_approved_connection(state, vault) {
                    format!("{}.{PRIVATELINK_ZONE}.", vault.name.to_ascii_lowercase())
                } else {
                    data_prod(&vault.location, false)
                };
                Node::Present { records: vec![cname(name, ttl::VAULT_CNAME, target)], soa }
            }
            None => Node::Missing { soa },
        };
    }
    if let Some(rel) = under(name, VAULTCORE_ZONE) {
        let soa = negative(public_soa(VAULTCORE_ZONE));
        if rel.is_empty() {
            return Node::Present { records: apex_records(VAULTCORE_ZONE), soa };
        }
        // Publicly, `privatelink.vaultcore.azure.net` is part of `vaultcore.azure.net`
        // (vaultlink's choice: whether Azure delegates it is not documented).
        if rel == "privatelink" {
            return Node::Present { records: vec![], soa };
        }
        if let Some(label) = rel.strip_suffix(".privatelink") {
            let alias = (!label.contains('.'))
                .then(|| keyvault::vault_by_name(state, label))
                .flatten()
                .filter(|v| has_approved_connection(state, v));
            return match alias {
                Some(v) => Node::Present {
                    records: vec![cname(name, ttl::PRIVATELINK_CNAME, data_prod(&v.location, false))],
                    soa,
                },
                None => Node::Missing { soa },
            };
        }
        if let Some(code) = rel.strip_prefix("data-prod-") {
            if let Some(region) = code.strip_suffix("-region").and_then(region_of_code) {
                let a = DnsRecord {
                    name: absolute(name),
                    ttl: ttl::REGIONAL_A,
                    data: RecordData::A(region_public_address(&region)),
                };
                return Node::Present { records: vec![a], soa };
            }
            if let Some(region) = region_of_code(code) {
                return Node::Present {
                    records: vec![cname(name, ttl::REGIONAL_CNAME, data_prod(&region, true))],
                    soa,
                };
            }
        }
        // `<vault>.vaultcore.azure.net` does not exist (azure-dns-details.md §2.1).
        return Node::Missing { soa };
    }
    Node::Outside
}

/// The vault whose public name is `label`: the live one, or a soft-deleted one whose public DNS
/// record is retained until its scheduled purge date (azure-behaviour.md §5.5). The flag says
/// whether it is live.
fn public_vault<'s>(state: &'s State, label: &str) -> Option<(&'s Vault, bool)> {
    if let Some(v) = keyvault::vault_by_name(state, label) {
        return Some((v, true));
    }
    let t = state.now();
    state.of_kind(model::RecordKind::DeletedVault).find_map(|r| match r {
        Record::DeletedVault(d) if d.vault.name.eq_ignore_ascii_case(label) && d.retained_at(t) => {
            Some((&d.vault, false))
        }
        _ => None,
    })
}

/// `data-prod-<rc>.vaultcore.azure.net.` (or its `-region` name).
fn data_prod(region: &str, regional: bool) -> String {
    let suffix = if regional { "-region" } else { "" };
    format!("data-prod-{}{suffix}.{VAULTCORE_ZONE}.", region_code(region))
}

fn apex_records(zone: &str) -> Vec<DnsRecord> {
    let mut out = vec![public_soa(zone)];
    out.extend(PUBLIC_NS.iter().map(|ns| DnsRecord {
        name: absolute(zone),
        ttl: ttl::PUBLIC_NS,
        data: RecordData::Ns(ns.to_string()),
    }));
    out
}

fn cname(owner: &str, ttl: u32, target: String) -> DnsRecord {
    DnsRecord { name: absolute(owner), ttl, data: RecordData::Cname(target) }
}

// ---------------------------------------------------------------- private zones

fn private_node(state: &State, zone: &PrivateDnsZone, name: &str) -> Node {
    let soa = negative(zone_soa(state, zone));
    let rel = match under(name, &zone.name) {
        Some("") | None => "@",
        Some(rel) => rel,
    };
    // Lookups by name, never a walk over the zone's record sets (issue 8: flat in the zone's size).
    let at = |n: &str| privatedns::record_sets_named(state, &zone.id, n);
    let exists = |n: &str| n == "@" || state.zone_has(&zone.id, n) || !at(n).is_empty();
    if exists(rel) {
        return Node::Present { records: at(rel).iter().flat_map(|s| set_records(s, name)).collect(), soa };
    }
    // Wildcards (RFC 4592): `*.<closest encloser>` answers for names that don't exist.
    let mut encloser = rel;
    let closest = loop {
        match encloser.split_once('.') {
            Some((_, parent)) if exists(parent) => break parent,
            Some((_, parent)) => encloser = parent,
            None => break "@",
        }
    };
    let wildcard = if closest == "@" { "*".to_string() } else { format!("*.{closest}") };
    let source = at(&wildcard);
    if !source.is_empty() {
        return Node::Present { records: source.iter().flat_map(|s| set_records(s, name)).collect(), soa };
    }
    Node::Missing { soa }
}

/// The zone's SOA from its `SOA/@` record set (Azure's defaults if it were ever missing).
fn zone_soa(state: &State, zone: &PrivateDnsZone) -> DnsRecord {
    let apex = absolute(&zone.name);
    match state.get(&format!("{}/SOA/@", zone.id)) {
        Some(Record::RecordSet(s)) => set_records(s, &apex).into_iter().next(),
        _ => None,
    }
    .unwrap_or_else(|| DnsRecord {
        name: apex,
        ttl: 3600,
        data: RecordData::Soa {
            mname: "azureprivatedns.net.".into(),
            rname: "azureprivatedns-host.microsoft.com.".into(),
            serial: 1,
            refresh: 3600,
            retry: 300,
            expire: 2_419_200,
            minimum: 10,
        },
    })
}

/// The SOA as it goes in AUTHORITY of a negative answer: TTL = min(SOA TTL, MINIMUM) (RFC 2308;
/// 10 s for private zones, azure-dns-details.md §3).
fn negative(mut soa: DnsRecord) -> DnsRecord {
    if let RecordData::Soa { minimum, .. } = soa.data {
        soa.ttl = soa.ttl.min(minimum);
    }
    soa
}

/// The records of a stored record set, owned by `owner`. Unparsable stored addresses are skipped.
fn set_records(set: &RecordSet, owner: &str) -> Vec<DnsRecord> {
    let d: &model::RecordData = &set.data;
    let rec = |data: RecordData| DnsRecord { name: absolute(owner), ttl: set.ttl, data };
    match set.record_type.to_ascii_uppercase().as_str() {
        "A" => d.a.iter().filter_map(|a| a.parse().ok()).map(|a| rec(RecordData::A(a))).collect(),
        "AAAA" => d.aaaa.iter().filter_map(|a| a.parse().ok()).map(|a| rec(RecordData::Aaaa(a))).collect(),
        "CNAME" => d.cname.iter().map(|c| rec(RecordData::Cname(absolute(c)))).collect(),
        "MX" => d.mx.iter().map(|(p, x)| rec(RecordData::Mx(*p, absolute(x)))).collect(),
        "PTR" => d.ptr.iter().map(|p| rec(RecordData::Ptr(absolute(p)))).collect(),
        "SRV" => d.srv.iter().map(|(p, w, port, t)| rec(RecordData::Srv(*p, *w, *port, absolute(t)))).collect(),
        "TXT" => d.txt.iter().map(|t| rec(RecordData::Txt(t.clone()))).collect(),
        "SOA" => d
            .soa
            .iter()
            .map(|s| {
                rec(RecordData::Soa {
                    mname: absolute(&s.host),
                    rname: mailbox(&s.email),
                    serial: s.serial_number,
                    refresh: s.refresh_time,
                    retry: s.retry_time,
                    expire: s.expire_time,
                    minimum: s.minimum_ttl,
                })
            })
            .collect(),
        _ => vec![],
    }
}

/// An SOA `email` as a DNS mailbox name: `a.b@c.d` -> `a\.b.c.d.`; Azure's own value is already
/// in that form (`azureprivatedns-host.microsoft.com`).
fn mailbox(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => absolute(&format!("{}.{domain}", local.replace('.', "\\."))),
        None => absolute(email),
    }
}

// ---------------------------------------------------------------- names

/// Lower-case, without the trailing dot (`""` is the root).
fn normalise(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// With exactly one trailing dot.
fn absolute(name: &str) -> String {
    let bare = name.strip_suffix('.').unwrap_or(name);
    format!("{}.", bare.to_ascii_lowercase())
}

/// The part of normalised `name` left of `zone` (`""` at the apex), if `name` is in `zone`.
fn under<'n>(name: &'n str, zone: &str) -> Option<&'n str> {
    if name.eq_ignore_ascii_case(zone) {
        return Some("");
    }
    let cut = name.len().checked_sub(zone.len() + 1)?;
    let (left, right) = (name.get(..cut)?, name.get(cut..)?);
    (right.starts_with('.') && right[1..].eq_ignore_ascii_case(zone) && !left.is_empty()).then_some(left)
}

#[cfg(test)]
mod tests;
