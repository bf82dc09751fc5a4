//! Every rule above, on state built through the real core operations.

use serde_json::{Value, json};

use super::*;
use crate::engine::{Batch, Engine};
use crate::identity::Caller;
use crate::privatedns::Preconditions;
use crate::privatelink::{self, zonegroups};
use crate::{network, seed};

const SUB: &str = seed::SUBSCRIPTION_ID;
const RG: &str = "rg";
/// westeurope's shared public address.
const WEU: &str = "198.18.14.10";

struct World {
    engine: Engine,
    caller: Caller,
}

impl World {
    fn new() -> Self {
        World { engine: crate::testing::world_with_group(RG), caller: crate::testing::developer() }
    }

    fn write<R>(&self, f: impl FnOnce(&State, &mut Batch, &Caller) -> crate::Result<R>) -> R {
        self.engine.write(|s, b| f(s, b, &self.caller)).unwrap()
    }

    fn vault(&self, name: &str, location: &str) -> String {
        let spec = serde_json::from_value(json!({
            "location": location,
            "properties": {"tenantId": seed::TENANT_ID, "sku": {"family": "A", "name": "standard"}},
        }))
        .unwrap();
        self.write(|s, b, c| keyvault::put_vault(s, b, c, (SUB, RG, name), "2026-02-01", spec)).vault.id
    }

    /// A VNet `10.<n>.0.0/16` with subnet `pe` = `10.<n>.2.0/24`; returns (vnet id, subnet id).
    fn vnet(&self, name: &str, n: u8, dns_servers: &[&str]) -> (String, String) {
        let body = json!({
            "location": "westeurope",
            "properties": {
                "addressSpace": {"addressPrefixes": [format!("10.{n}.0.0/16")]},
                "dhcpOptions": {"dnsServers": dns_servers},
                "subnets": [{"name": "pe", "properties": {"addressPrefix": format!("10.{n}.2.0/24")}}],
            },
        });
        let v = self.write(|s, b, c| network::put_vnet(s, b, c, (SUB, RG, name), crate::testing::net(body)?)).0;
        let subnet = format!("{}/subnets/pe", v.id);
        (v.id, subnet)
    }

    /// A private endpoint to the vault; automatic (Approved) or manual (Pending). Returns its IP.
    fn endpoint(&self, name: &str, subnet_id: &str, vault_id: &str, manual: bool) -> String {
        let key = if manual { "manualPrivateLinkServiceConnections" } else { "privateLinkServiceConnections" };
        let body = json!({
            "location": "westeurope",
            "properties": {
                "subnet": {"id": subnet_id},
                key: [{"name": "conn", "properties": {"privateLinkServiceId": vault_id, "groupIds": ["vault"]}}],
            },
        });
        self.write(|s, b, c| privatelink::put_endpoint(s, b, c, (SUB, RG, name), crate::testing::net(body)?))
            .0
            .private_ip_address
    }

    /// Sets every connection of the vault to `status` (the owner's approve / reject).
    fn set_connections(&self, vault: &str, status: &str) {
        self.write(|s, b, c| {
            for conn in keyvault::connections(s, &keyvault::vault_id(SUB, RG, vault)) {
                let spec = serde_json::from_value(json!({
                    "properties": {"privateLinkServiceConnectionState": {"status": status, "description": "by test"}},
                }))
                .unwrap();
                connections::put(s, b, c, (SUB, RG, vault), &conn.name, spec)?;
            }
            Ok(())
        });
    }

    fn zone(&self, name: &str) -> String {
        self.write(|s, b, c| {
            privatedns::put_zone(
                s,
                b,
                c,
                (SUB, RG, name),
                crate::testing::net(json!({"location": "global"}))?,
                Preconditions::default(),
            )
        })
        .0
        .id
    }

    fn link(&self, zone: &str, name: &str, vnet_id: &str, policy: &str) {
        let body = json!({
            "location": "global",
            "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": false, "resolutionPolicy": policy},
        });
        self.write(|s, b, c| {
            privatedns::put_link(s, b, c, (SUB, RG, zone, name), crate::testing::net(body)?, Preconditions::default())
        });
    }

    fn set(&self, zone: &str, rtype: &str, name: &str, properties: Value) {
        let body = json!({"properties": properties});
        self.write(|s, b, c| {
            privatedns::put_record_set(
                s,
                b,
                c,
                (SUB, RG, zone, rtype, name),
                crate::testing::net(body)?,
                Preconditions::default(),
                false,
            )
        });
    }

    fn a(&self, zone: &str, name: &str, ttl: u32, ips: &[&str]) {
        let records: Vec<Value> = ips.iter().map(|ip| json!({"ipv4Address": ip})).collect();
        self.set(zone, "A", name, json!({"ttl": ttl, "aRecords": records}));
    }

    fn ask(&self, view: &View, qname: &str, qtype: QType) -> DnsAnswer {
        self.engine.read(|s| answer(s, view, qname, qtype))
    }
}

fn vnet_view(id: &str) -> View {
    View::VirtualNetwork { vnet_id: id.to_string() }
}

fn lines(records: &[DnsRecord]) -> Vec<String> {
    records.iter().map(ToString::to_string).collect()
}

fn public_chain(vault: &str, alias: bool) -> Vec<String> {
    let mut out = vec![];
    if alias {
        out.push(format!("{vault}.vault.azure.net. 60 IN CNAME {vault}.privatelink.vaultcore.azure.net."));
        out.push(format!("{vault}.privatelink.vaultcore.azure.net. 60 IN CNAME data-prod-weu.vaultcore.azure.net."));
    } else {
        out.push(format!("{vault}.vault.azure.net. 60 IN CNAME data-prod-weu.vaultcore.azure.net."));
    }
    out.push("data-prod-weu.vaultcore.azure.net. 300 IN CNAME data-prod-weu-region.vaultcore.azure.net.".into());
    out.push(format!("data-prod-weu-region.vaultcore.azure.net. 300 IN A {WEU}"));
    out
}

const PRIVATE_SOA_NEG: &str = "privatelink.vaultcore.azure.net. 10 IN SOA azureprivatedns.net. azureprivatedns-host.microsoft.com. 1 3600 300 2419200 10";

/// A vault with an automatic (Approved) endpoint in `vnet1`, the zone linked to `vnet1`.
fn seeded() -> (World, String, String) {
    let w = World::new();
    let vault = w.vault("kv1", "westeurope");
    let (vnet, subnet) = w.vnet("vnet1", 1, &[]);
    let ip = w.endpoint("pe1", &subnet, &vault, false);
    w.zone(PRIVATELINK_ZONE);
    w.link(PRIVATELINK_ZONE, "link1", &vnet, "Default");
    (w, vnet, ip)
}

// ------------------------------------------------------------ internet view

#[test]
fn internet_chain_without_private_endpoint() {
    let w = World::new();
    w.vault("kv1", "westeurope");
    let a = w.ask(&View::Internet, "KV1.Vault.Azure.Net.", QType::A);
    assert_eq!(a.rcode, Rcode::NoError);
    assert!(!a.authoritative);
    assert_eq!(lines(&a.answers), public_chain("kv1", false));
    assert!(a.authority.is_empty());
}

#[test]
fn internet_chain_with_approved_endpoint_has_the_privatelink_alias() {
    let (w, _, _) = seeded();
    let a = w.ask(&View::Internet, "kv1.vault.azure.net", QType::A);
    assert_eq!(a.rcode, Rcode::NoError);
    assert_eq!(lines(&a.answers), public_chain("kv1", true));
}

#[test]
fn pending_connection_has_no_alias_until_approved_and_loses_it_when_rejected() {
    let w = World::new();
    let vault = w.vault("kv1", "westeurope");
    let (vnet, subnet) = w.vnet("vnet1", 1, &[]);
    let ip = w.endpoint("pe1", &subnet, &vault, true);
    w.zone(PRIVATELINK_ZONE);
    w.link(PRIVATELINK_ZONE, "link1", &vnet, "Default");
    w.a(PRIVATELINK_ZONE, "kv1", 10, &[&ip]);
    // Pending: no alias, so even the linked VNet gets the public chain (seed: "not approved").
    assert_eq!(lines(&w.ask(&View::Internet, "kv1.vault.azure.net", QType::A).answers), public_chain("kv1", false));
    assert_eq!(lines(&w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::A).answers), public_chain("kv1", false));
    w.set_connections("kv1", "Approved");
    assert_eq!(lines(&w.ask(&View::Internet, "kv1.vault.azure.net", QType::A).answers), public_chain("kv1", true));
    assert_eq!(
        lines(&w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::A).answers),
        vec![
            "kv1.vault.azure.net. 60 IN CNAME kv1.privatelink.vaultcore.azure.net.".to_string(),
            format!("kv1.privatelink.vaultcore.azure.net. 10 IN A {ip}"),
        ]
    );
    w.set_connections("kv1", "Rejected");
    assert_eq!(lines(&w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::A).answers), public_chain("kv1", false));
}

#[test]
fn unknown_vault_is_nxdomain_with_the_public_soa() {
    let w = World::new();
    let a = w.ask(&View::Internet, "nosuchvault.vault.azure.net", QType::A);
    assert_eq!(a.rcode, Rcode::NxDomain);
    assert!(a.answers.is_empty());
    assert_eq!(
        lines(&a.authority),
        vec![
            "vault.azure.net. 300 IN SOA ns1-01.azure-dns.com. azuredns-hostmaster.microsoft.com. 1 3600 300 2419200 300"
        ]
    );
    // Deeper names too.
    assert_eq!(w.ask(&View::Internet, "a.b.vault.azure.net", QType::A).rcode, Rcode::NxDomain);
}

#[test]
fn soft_deleted_vault_keeps_its_public_name_during_retention_only() {
    let w = World::new();
    w.vault("kv1", "westeurope");
    w.write(|s, b, c| keyvault::delete_vault(s, b, c, (SUB, RG, "kv1")));
    assert!(w.engine.read(|s| vault_for_host(s, "kv1.vault.azure.net").is_none()));
    let a = w.ask(&View::Internet, "kv1.vault.azure.net", QType::A);
    assert_eq!(lines(&a.answers), public_chain("kv1", false));
    // Past its scheduled purge date the record is gone.
    w.write(|s, b, _| {
        let id = keyvault::deleted_vault_id(SUB, "westeurope", "kv1");
        let Some(Record::DeletedVault(d)) = s.get(&id) else { panic!("no deleted vault") };
        let mut d = d.clone();
        d.scheduled_purge_date = crate::engine::now() - 1;
        b.put(&id, Record::DeletedVault(d));
        Ok(())
    });
    assert_eq!(w.ask(&View::Internet, "kv1.vault.azure.net", QType::A).rcode, Rcode::NxDomain);
}

#[test]
fn purged_vault_is_nxdomain() {
    let w = World::new();
    w.vault("kv1", "westeurope");
    w.write(|s, b, c| keyvault::delete_vault(s, b, c, (SUB, RG, "kv1")));
    w.write(|s, b, c| keyvault::purge_deleted_vault(s, b, c, SUB, "westeurope", "kv1"));
    assert_eq!(w.ask(&View::Internet, "kv1.vault.azure.net", QType::A).rcode, Rcode::NxDomain);
}

#[test]
fn regional_names_answer_on_their_own() {
    let w = World::new();
    let a = w.ask(&View::Internet, "data-prod-eus.vaultcore.azure.net", QType::A);
    assert_eq!(
        lines(&a.answers),
        vec![
            "data-prod-eus.vaultcore.azure.net. 300 IN CNAME data-prod-eus-region.vaultcore.azure.net.",
            "data-prod-eus-region.vaultcore.azure.net. 300 IN A 198.18.1.10",
        ]
    );
    let a = w.ask(&View::Internet, "data-prod-weu-region.vaultcore.azure.net", QType::A);
    assert_eq!(lines(&a.answers), vec![format!("data-prod-weu-region.vaultcore.azure.net. 300 IN A {WEU}")]);
    assert_eq!(w.ask(&View::Internet, "data-prod-nowhere.vaultcore.azure.net", QType::A).rcode, Rcode::NxDomain);
    // A region with a code is not also reachable by its full name.
    assert_eq!(w.ask(&View::Internet, "data-prod-eastus.vaultcore.azure.net", QType::A).rcode, Rcode::NxDomain);
}

#[test]
fn vault_name_under_vaultcore_is_nxdomain() {
    let w = World::new();
    w.vault("kv1", "westeurope");
    let a = w.ask(&View::Internet, "kv1.vaultcore.azure.net", QType::A);
    assert_eq!(a.rcode, Rcode::NxDomain);
    assert_eq!(a.authority[0].name, "vaultcore.azure.net.");
}

#[test]
fn privatelink_names_resolve_publicly_only_as_the_alias_continuation() {
    let (w, _, _) = seeded();
    w.vault("kv2", "westeurope");
    let a = w.ask(&View::Internet, "kv1.privatelink.vaultcore.azure.net", QType::A);
    assert_eq!(lines(&a.answers), public_chain("kv1", true)[1..].to_vec());
    // No approved connection: no alias.
    assert_eq!(w.ask(&View::Internet, "kv2.privatelink.vaultcore.azure.net", QType::A).rcode, Rcode::NxDomain);
    // The zone name itself is an empty non-terminal publicly.
    let a = w.ask(&View::Internet, "privatelink.vaultcore.azure.net", QType::A);
    assert_eq!((a.rcode, a.answers.len(), a.authority[0].name.as_str()), (Rcode::NoError, 0, "vaultcore.azure.net."));
}

#[test]
fn names_outside_azure_are_refused() {
    let (w, vnet, _) = seeded();
    for view in [View::Internet, vnet_view(&vnet)] {
        for name in ["example.com", "azure.net", "net", ".", "", "www.microsoft.com", "azure.com"] {
            let a = w.ask(&view, name, QType::A);
            assert_eq!((a.rcode, a.answers.len()), (Rcode::Refused, 0), "{name}");
        }
    }
}

#[test]
fn service_hosts_answer_their_addresses_in_every_view() {
    let (w, vnet, _) = seeded();
    for view in [View::Internet, vnet_view(&vnet)] {
        for (host, addr) in SERVICE_ADDRESSES {
            let a = w.ask(&view, &host.to_uppercase(), QType::A);
            assert_eq!(a.rcode, Rcode::NoError);
            assert_eq!(lines(&a.answers), vec![format!("{host}. 300 IN A {addr}")]);
            assert_eq!(addr.octets()[..2], [198, 19]);
            let a = w.ask(&view, host, QType::Aaaa);
            assert_eq!((a.rcode, a.answers.len(), a.authority.len()), (Rcode::NoError, 0, 1));
        }
    }
}

#[test]
fn public_zone_apexes_answer_soa_and_ns() {
    let w = World::new();
    for zone in [VAULT_ZONE, VAULTCORE_ZONE] {
        let a = w.ask(&View::Internet, zone, QType::Soa);
        assert_eq!(lines(&a.answers), vec![public_soa(zone).to_string()]);
        assert!(public_soa(zone).to_string().contains(" 3600 IN SOA "));
        let a = w.ask(&View::Internet, zone, QType::Ns);
        assert_eq!(a.answers.len(), 4);
        assert!(a.answers.iter().all(|r| matches!(r.data, RecordData::Ns(_)) && r.ttl == ttl::PUBLIC_NS));
        let a = w.ask(&View::Internet, zone, QType::A);
        assert_eq!((a.rcode, a.answers.len(), a.authority.len()), (Rcode::NoError, 0, 1));
    }
}

#[test]
fn nodata_follows_the_chain_and_ends_with_the_soa() {
    let w = World::new();
    w.vault("kv1", "westeurope");
    let a = w.ask(&View::Internet, "kv1.vault.azure.net", QType::Aaaa);
    assert_eq!(a.rcode, Rcode::NoError);
    assert_eq!(lines(&a.answers), public_chain("kv1", false)[..2].to_vec());
    assert_eq!(a.authority[0].name, "vaultcore.azure.net.");
    assert_eq!(a.authority[0].ttl, 300);
    // An unknown type behaves the same (NOERROR/NODATA).
    let a = w.ask(&View::Internet, "kv1.vault.azure.net", QType::Other(65_000));
    assert_eq!((a.rcode, a.answers.len(), a.authority.len()), (Rcode::NoError, 2, 1));
    // CNAME and ANY questions are not followed.
    let a = w.ask(&View::Internet, "kv1.vault.azure.net", QType::Cname);
    assert_eq!(lines(&a.answers), public_chain("kv1", false)[..1].to_vec());
    let a = w.ask(&View::Internet, "kv1.vault.azure.net", QType::Any);
    assert_eq!(lines(&a.answers), public_chain("kv1", false)[..1].to_vec());
}

// ------------------------------------------------------------ virtual network view

#[test]
fn linked_zone_with_the_record_answers_the_private_address() {
    let (w, vnet, ip) = seeded();
    w.a(PRIVATELINK_ZONE, "kv1", 3600, &[&ip]);
    let a = w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::A);
    assert_eq!(a.rcode, Rcode::NoError);
    assert!(!a.authoritative);
    assert_eq!(
        lines(&a.answers),
        vec![
            "kv1.vault.azure.net. 60 IN CNAME kv1.privatelink.vaultcore.azure.net.".to_string(),
            format!("kv1.privatelink.vaultcore.azure.net. 3600 IN A {ip}"),
        ]
    );
    // The VNet id is matched whatever its casing.
    let a = w.ask(&vnet_view(&vnet.to_uppercase()), "kv1.vault.azure.net", QType::A);
    assert_eq!(a.answers.len(), 2);
}

#[test]
fn zone_group_record_answers_with_ttl_10() {
    let (w, vnet, ip) = seeded();
    let zone_id = privatedns::zone_id(SUB, RG, PRIVATELINK_ZONE);
    let body = json!({"properties": {"privateDnsZoneConfigs": [{"name": "cfg", "properties": {"privateDnsZoneId": zone_id}}]}});
    w.write(|s, b, c| zonegroups::put(s, b, c, (SUB, RG, "pe1", "default"), crate::testing::net(body)?));
    let a = w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::A);
    assert_eq!(lines(&a.answers)[1], format!("kv1.privatelink.vaultcore.azure.net. 10 IN A {ip}"));
    // Deleting the endpoint removes its record and its connection: the alias goes, so public.
    w.write(|s, b, c| privatelink::delete_endpoint(s, b, c, (SUB, RG, "pe1")));
    assert_eq!(lines(&w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::A).answers), public_chain("kv1", false));
}

#[test]
fn zone_not_linked_gives_the_public_address() {
    let w = World::new();
    let vault = w.vault("kv1", "westeurope");
    let (vnet, subnet) = w.vnet("vnet1", 1, &[]);
    let ip = w.endpoint("pe1", &subnet, &vault, false);
    w.zone(PRIVATELINK_ZONE);
    w.a(PRIVATELINK_ZONE, "kv1", 10, &[&ip]);
    let a = w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::A);
    assert_eq!(lines(&a.answers), public_chain("kv1", true));
}

#[test]
fn missing_record_in_a_linked_zone_is_nxdomain_from_every_linked_vnet() {
    let (w, vnet1, ip) = seeded();
    let (vnet2, _) = w.vnet("vnet2", 2, &[]);
    let (vnet3, _) = w.vnet("vnet3", 3, &[]);
    w.link(PRIVATELINK_ZONE, "link2", &vnet2, "Default");
    for vnet in [&vnet1, &vnet2] {
        let a = w.ask(&vnet_view(vnet), "kv1.vault.azure.net", QType::A);
        assert_eq!(a.rcode, Rcode::NxDomain);
        assert_eq!(lines(&a.answers), vec!["kv1.vault.azure.net. 60 IN CNAME kv1.privatelink.vaultcore.azure.net."]);
        assert_eq!(lines(&a.authority), vec![PRIVATE_SOA_NEG]);
    }
    // A VNet without the link still sees the public chain.
    assert_eq!(lines(&w.ask(&vnet_view(&vnet3), "kv1.vault.azure.net", QType::A).answers), public_chain("kv1", true));
    // The record appears: answered at once, in both linked VNets.
    w.a(PRIVATELINK_ZONE, "kv1", 10, &[&ip]);
    for vnet in [&vnet1, &vnet2] {
        let a = w.ask(&vnet_view(vnet), "kv1.vault.azure.net", QType::A);
        assert_eq!(lines(&a.answers)[1], format!("kv1.privatelink.vaultcore.azure.net. 10 IN A {ip}"));
    }
    // And removed again.
    w.write(|s, b, c| {
        privatedns::delete_record_set(s, b, c, (SUB, RG, PRIVATELINK_ZONE, "A", "kv1"), Preconditions::default())
    });
    assert_eq!(w.ask(&vnet_view(&vnet1), "kv1.vault.azure.net", QType::A).rcode, Rcode::NxDomain);
}

#[test]
fn wrong_a_record_is_what_the_vnet_gets() {
    let (w, vnet, ip) = seeded();
    assert_ne!(ip, "10.1.2.99");
    w.a(PRIVATELINK_ZONE, "kv1", 10, &["10.1.2.99"]);
    let a = w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::A);
    assert_eq!(lines(&a.answers)[1], "kv1.privatelink.vaultcore.azure.net. 10 IN A 10.1.2.99");
}

#[test]
fn nx_domain_redirect_falls_back_to_the_public_chain() {
    let (w, vnet, _) = seeded();
    w.link(PRIVATELINK_ZONE, "link1", &vnet, "NxDomainRedirect");
    let a = w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::A);
    assert_eq!(a.rcode, Rcode::NoError);
    assert_eq!(lines(&a.answers), public_chain("kv1", true));
    // Only for A, AAAA and CNAME questions.
    assert_eq!(w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::Txt).rcode, Rcode::NxDomain);
    let a = w.ask(&vnet_view(&vnet), "kv1.privatelink.vaultcore.azure.net", QType::Cname);
    assert_eq!(lines(&a.answers), public_chain("kv1", true)[1..2].to_vec());
    // A record in the zone still wins.
    w.a(PRIVATELINK_ZONE, "kv1", 10, &["10.1.2.50"]);
    assert_eq!(
        lines(&w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::A).answers)[1],
        "kv1.privatelink.vaultcore.azure.net. 10 IN A 10.1.2.50"
    );
}

#[test]
fn nx_domain_redirect_only_applies_to_privatelink_zones() {
    let w = World::new();
    let (vnet, _) = w.vnet("vnet1", 1, &[]);
    w.zone("vaultcore.azure.net");
    w.link("vaultcore.azure.net", "l", &vnet, "NxDomainRedirect");
    let a = w.ask(&vnet_view(&vnet), "data-prod-weu.vaultcore.azure.net", QType::A);
    assert_eq!(a.rcode, Rcode::NxDomain);
    assert_eq!(a.authority[0].ttl, 10);
}

#[test]
fn custom_dns_servers_bypass_linked_zones() {
    let w = World::new();
    let vault = w.vault("kv1", "westeurope");
    let (vnet, subnet) = w.vnet("vnet1", 1, &["10.1.0.4"]);
    let ip = w.endpoint("pe1", &subnet, &vault, false);
    w.zone(PRIVATELINK_ZONE);
    w.link(PRIVATELINK_ZONE, "link1", &vnet, "Default");
    w.a(PRIVATELINK_ZONE, "kv1", 10, &[&ip]);
    assert_eq!(lines(&w.ask(&vnet_view(&vnet), "kv1.vault.azure.net", QType::A).answers), public_chain("kv1", true));
    // Listing Azure DNS itself first is the same as the default.
    let (vnet2, _) = w.vnet("vnet2", 2, &["168.63.129.16", "10.2.0.4"]);
    w.link(PRIVATELINK_ZONE, "link2", &vnet2, "Default");
    assert_eq!(
        w.ask(&vnet_view(&vnet2), "kv1.vault.azure.net", QType::A).answers[1].data,
        RecordData::A(ip.parse().unwrap())
    );
}

#[test]
fn vault_without_approved_connection_is_unaffected_by_a_linked_zone() {
    let (w, vnet, _) = seeded();
    w.vault("kv2", "westeurope");
    w.a(PRIVATELINK_ZONE, "kv2", 10, &["10.1.2.77"]);
    assert_eq!(lines(&w.ask(&vnet_view(&vnet), "kv2.vault.azure.net", QType::A).answers), public_chain("kv2", false));
    // Asking the privatelink name directly reads the zone, as Azure DNS would.
    let a = w.ask(&vnet_view(&vnet), "kv2.privatelink.vaultcore.azure.net", QType::A);
    assert_eq!(lines(&a.answers), vec!["kv2.privatelink.vaultcore.azure.net. 10 IN A 10.1.2.77"]);
}

#[test]
fn unknown_vnet_is_refused() {
    let w = World::new();
    w.vault("kv1", "westeurope");
    let a = w.ask(
        &vnet_view("/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/none"),
        "kv1.vault.azure.net",
        QType::A,
    );
    assert_eq!(a.rcode, Rcode::Refused);
}

#[test]
fn private_zone_apex_answers_soa_and_has_no_ns() {
    let (w, vnet, _) = seeded();
    let view = vnet_view(&vnet);
    let a = w.ask(&view, PRIVATELINK_ZONE, QType::Soa);
    assert_eq!(
        lines(&a.answers),
        vec![
            "privatelink.vaultcore.azure.net. 3600 IN SOA azureprivatedns.net. azureprivatedns-host.microsoft.com. 1 3600 300 2419200 10"
        ]
    );
    let a = w.ask(&view, PRIVATELINK_ZONE, QType::Ns);
    assert_eq!((a.rcode, a.answers.len()), (Rcode::NoError, 0));
    assert_eq!(lines(&a.authority), vec![PRIVATE_SOA_NEG]);
    // The public parent is still public.
    assert_eq!(w.ask(&view, VAULTCORE_ZONE, QType::Ns).answers.len(), 4);
}

#[test]
fn any_private_zone_answers_for_a_linked_vnet() {
    let w = World::new();
    let (vnet, _) = w.vnet("vnet1", 1, &[]);
    let (other, _) = w.vnet("vnet2", 2, &[]);
    let z = "contoso.internal";
    w.zone(z);
    w.zone("app.contoso.internal");
    w.link(z, "l", &vnet, "Default");
    w.link("app.contoso.internal", "l", &vnet, "Default");
    w.a(z, "db", 300, &["10.1.0.5", "10.1.0.6"]);
    w.set(z, "AAAA", "db", json!({"ttl": 300, "aaaaRecords": [{"ipv6Address": "fd00::5"}]}));
    w.set(z, "CNAME", "www", json!({"ttl": 60, "cnameRecord": {"cname": "db.contoso.internal"}}));
    w.set(z, "CNAME", "kv", json!({"ttl": 60, "cnameRecord": {"cname": "kv1.vault.azure.net"}}));
    w.set(z, "MX", "@", json!({"mxRecords": [{"preference": 10, "exchange": "mail.contoso.internal"}]}));
    w.set(z, "TXT", "@", json!({"txtRecords": [{"value": ["v=spf1 -all", "say \"hi\""]}]}));
    w.set(
        z,
        "SRV",
        "_sip._tcp",
        json!({"srvRecords": [{"priority": 1, "weight": 2, "port": 5060, "target": "sip.contoso.internal"}]}),
    );
    w.set(z, "PTR", "ptr", json!({"ptrRecords": [{"ptrdname": "db.contoso.internal"}]}));
    w.a(z, "*.wild", 30, &["10.1.0.9"]);
    w.a(z, "deep.ent", 30, &["10.1.0.10"]);
    w.a("app.contoso.internal", "@", 30, &["10.1.0.11"]);
    w.vault("kv1", "westeurope");
    let view = vnet_view(&vnet);
    let ask = |name: &str, t: QType| w.ask(&view, name, t);

    assert_eq!(
        lines(&ask("DB.contoso.internal", QType::A).answers),
        vec!["db.contoso.internal. 300 IN A 10.1.0.5", "db.contoso.internal. 300 IN A 10.1.0.6"]
    );
    assert_eq!(
        lines(&ask("db.contoso.internal", QType::Aaaa).answers),
        vec!["db.contoso.internal. 300 IN AAAA fd00::5"]
    );
    assert_eq!(ask("db.contoso.internal", QType::Any).answers.len(), 3);
    assert_eq!(
        lines(&ask("www.contoso.internal", QType::A).answers)[0],
        "www.contoso.internal. 60 IN CNAME db.contoso.internal."
    );
    assert_eq!(ask("www.contoso.internal", QType::A).answers.len(), 3);
    // A private CNAME into public DNS continues publicly.
    assert_eq!(lines(&ask("kv.contoso.internal", QType::A).answers)[1..], public_chain("kv1", false)[..]);
    assert_eq!(
        lines(&ask("contoso.internal", QType::Mx).answers),
        vec!["contoso.internal. 3600 IN MX 10 mail.contoso.internal."]
    );
    assert_eq!(
        lines(&ask("contoso.internal", QType::Txt).answers),
        vec![r#"contoso.internal. 3600 IN TXT "v=spf1 -all" "say \"hi\"""#]
    );
    assert_eq!(
        lines(&ask("_sip._tcp.contoso.internal", QType::Srv).answers),
        vec!["_sip._tcp.contoso.internal. 3600 IN SRV 1 2 5060 sip.contoso.internal."]
    );
    assert_eq!(
        lines(&ask("ptr.contoso.internal", QType::Ptr).answers),
        vec!["ptr.contoso.internal. 3600 IN PTR db.contoso.internal."]
    );
    // Wildcards synthesise; empty non-terminals are NODATA; missing names NXDOMAIN.
    assert_eq!(
        lines(&ask("x.wild.contoso.internal", QType::A).answers),
        vec!["x.wild.contoso.internal. 30 IN A 10.1.0.9"]
    );
    assert_eq!(
        lines(&ask("y.x.wild.contoso.internal", QType::A).answers),
        vec!["y.x.wild.contoso.internal. 30 IN A 10.1.0.9"]
    );
    let ent = ask("ent.contoso.internal", QType::A);
    assert_eq!(
        (ent.rcode, ent.answers.len(), ent.authority[0].name.as_str()),
        (Rcode::NoError, 0, "contoso.internal.")
    );
    let nx = ask("nope.contoso.internal", QType::A);
    assert_eq!((nx.rcode, nx.authority[0].ttl), (Rcode::NxDomain, 10));
    // NODATA for a type the name lacks.
    let nodata = ask("db.contoso.internal", QType::Txt);
    assert_eq!((nodata.rcode, nodata.answers.len(), nodata.authority.len()), (Rcode::NoError, 0, 1));
    // The longest linked zone wins.
    assert_eq!(lines(&ask("app.contoso.internal", QType::A).answers), vec!["app.contoso.internal. 30 IN A 10.1.0.11"]);
    assert_eq!(ask("x.app.contoso.internal", QType::A).authority[0].name, "app.contoso.internal.");
    // An unlinked VNet (and the internet) don't see the zone at all.
    assert_eq!(w.ask(&vnet_view(&other), "db.contoso.internal", QType::A).rcode, Rcode::Refused);
    assert_eq!(w.ask(&View::Internet, "db.contoso.internal", QType::A).rcode, Rcode::Refused);
}

#[test]
fn cname_loops_are_servfail() {
    let w = World::new();
    let (vnet, _) = w.vnet("vnet1", 1, &[]);
    w.zone("loop.internal");
    w.link("loop.internal", "l", &vnet, "Default");
    w.set("loop.internal", "CNAME", "a", json!({"cnameRecord": {"cname": "b.loop.internal"}}));
    w.set("loop.internal", "CNAME", "b", json!({"cnameRecord": {"cname": "a.loop.internal."}}));
    let a = w.ask(&vnet_view(&vnet), "a.loop.internal", QType::A);
    assert_eq!((a.rcode, a.answers.len()), (Rcode::ServFail, 2));
}

// ------------------------------------------------------------ addresses and helpers

#[test]
fn every_region_has_a_code_and_a_distinct_benchmarking_address() {
    let mut codes = std::collections::BTreeSet::new();
    let mut addrs = std::collections::BTreeSet::new();
    for r in regions::names() {
        assert!(codes.insert(region_code(r)), "{r}: duplicate code");
        let a = region_public_address(r);
        assert!(addrs.insert(a), "{r}: duplicate address");
        assert_eq!(a.octets()[..2], [198, 18]);
        assert!(!a.is_private());
    }
    assert_eq!(region_code("westeurope"), "weu");
    assert_eq!(region_code("EastUS2"), "eus2");
    assert_eq!(region_code("marsnorth"), "marsnorth");
    assert_eq!(region_public_address("marsnorth").octets()[..2], [198, 19]);
    assert_eq!(region_public_address("marsnorth"), region_public_address("marsnorth"));
}

#[test]
fn vaults_of_a_region_share_its_address() {
    let w = World::new();
    w.vault("kv1", "westeurope");
    w.vault("kv2", "westeurope");
    w.vault("kv3", "northeurope");
    w.engine.read(|s| {
        let addr = |h: &str| vault_public_address(vault_for_host(s, h).unwrap());
        assert_eq!(addr("kv1.vault.azure.net"), addr("KV2.vault.azure.net."));
        assert_ne!(addr("kv1.vault.azure.net"), addr("kv3.vault.azure.net"));
        assert_eq!(addr("kv1.vault.azure.net").to_string(), WEU);
        assert!(vault_for_host(s, "kv1.vaultcore.azure.net").is_none());
        assert!(vault_for_host(s, "x.kv1.vault.azure.net").is_none());
        assert!(vault_for_host(s, "vault.azure.net").is_none());
        assert!(vault_for_host(s, "nope.vault.azure.net").is_none());
    });
    let a = w.ask(&View::Internet, "kv3.vault.azure.net", QType::A);
    assert_eq!(a.answers[0].data, RecordData::Cname("data-prod-neu.vaultcore.azure.net.".into()));
}

#[test]
fn qtype_codes_round_trip() {
    for code in 0..=300u16 {
        assert_eq!(QType::from_code(code).code(), code);
    }
    assert_eq!(QType::from_code(28), QType::Aaaa);
    // `Other` with a known code is the known type.
    let w = World::new();
    w.vault("kv1", "westeurope");
    assert_eq!(w.ask(&View::Internet, "kv1.vault.azure.net", QType::Other(1)).answers.len(), 3);
}

#[test]
fn name_helpers() {
    assert_eq!(under("a.vault.azure.net", VAULT_ZONE), Some("a"));
    assert_eq!(under("vault.azure.net", VAULT_ZONE), Some(""));
    assert_eq!(under("avault.azure.net", VAULT_ZONE), None);
    assert_eq!(under(".vault.azure.net", VAULT_ZONE), None);
    assert_eq!(under("é.vault.azure.net", VAULT_ZONE), Some("é"));
    assert_eq!(mailbox("host.master@contoso.com"), "host\\.master.contoso.com.");
    assert_eq!(absolute("A.b."), "a.b.");
}
