//! Tests of `doctor`.

use serde_json::json;

use super::*;
use crate::testing::{developer, vault, world};
use crate::{Engine, seed};

const SUB: &str = seed::SUBSCRIPTION_ID;

/// A healthy private-link setup: vault (firewall Deny), vnet1/snet1, approved endpoint pe1,
/// the zone linked to vnet1 with the vault's A record, and a client NIC.
fn healthy() -> Engine {
    let e = world();
    let v = vault(&e, "kv1", json!({"networkAcls": {"defaultAction": "Deny"}}));
    let c = developer();
    e.write(|s, b| -> crate::Result<()> {
        network::put_vnet(
            s,
            b,
            &c,
            (SUB, "rg1", "vnet1"),
            crate::testing::net(
                json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}),
            )?,
        )?;
        Ok(())
    })
    .unwrap();
    e.write(|s, b| {
        network::put_subnet(
            s,
            b,
            &c,
            (SUB, "rg1", "vnet1", "snet1"),
            crate::testing::net(json!({"properties": {"addressPrefix": "10.0.0.0/24"}}))?,
        )
    })
    .unwrap();
    let subnet = format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/snet1"
    );
    e.write(|s, b| {
        privatelink::put_endpoint(s, b, &c, (SUB, "rg1", "pe1"), crate::testing::net(json!({"location": "westeurope", "properties": {"subnet": {"id": subnet}, "privateLinkServiceConnections": [{"name": "c1", "properties": {"groupIds": ["vault"], "privateLinkServiceId": v.id}}]}}))?)
    })
    .unwrap();
    e.write(|s, b| {
        privatedns::put_zone(
            s,
            b,
            &c,
            (SUB, "rg1", VAULT_ZONE),
            crate::testing::net(json!({"location": "global"}))?,
            Default::default(),
        )
    })
    .unwrap();
    let vnet = format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1");
    e.write(|s, b| {
        privatedns::put_link(
            s,
            b,
            &c,
            (SUB, "rg1", VAULT_ZONE, "link1"),
            crate::testing::net(json!({"properties": {"virtualNetwork": {"id": vnet}}}))?,
            Default::default(),
        )
    })
    .unwrap();
    e.write(|s, b| {
        privatedns::put_record_set(
            s,
            b,
            &c,
            (SUB, "rg1", VAULT_ZONE, "A", "kv1"),
            crate::testing::net(json!({"properties": {"ttl": 10, "aRecords": [{"ipv4Address": "10.0.0.4"}]}}))?,
            Default::default(),
            false,
        )
    })
    .unwrap();
    e.write(|s, b| network::put_nic(s, b, &c, (SUB, "rg1", "client1"), crate::testing::net(json!({"location": "westeurope", "properties": {"ipConfigurations": [{"name": "ip1", "properties": {"subnet": {"id": subnet}}}]}}))?)).unwrap();
    e
}

fn from_client(e: &Engine) -> Report {
    e.read(|s| {
        let o = netctx::locate(s, Some("client1"), "203.0.113.10".parse().unwrap()).unwrap();
        diagnose(s, "kv1", &o, None).unwrap()
    })
}

fn checks(r: &Report) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.check).collect()
}

#[test]
fn a_healthy_setup_reaches_the_vault_through_the_endpoint() {
    let e = healthy();
    let r = from_client(&e);
    assert!(r.healthy(), "{r:#?}");
    assert_eq!((r.path.as_str(), r.address.as_deref()), ("private-endpoint", Some("10.0.0.4")));
    // From the internet the firewall refuses, and says which rule.
    let r = e.read(|s| {
        diagnose(s, "kv1", &Origin::Internet { public_address: "203.0.113.10".parse().unwrap() }, None).unwrap()
    });
    assert_eq!(checks(&r), vec!["firewall-denies"]);
    assert!(r.findings[0].fix.as_deref().unwrap().contains("network-rule add"));
}

#[test]
fn each_broken_piece_is_named_alone_with_its_fix() {
    let c = developer();
    // A record missing.
    let e = healthy();
    e.write(|s, b| privatedns::delete_record_set(s, b, &c, (SUB, "rg1", VAULT_ZONE, "A", "kv1"), Default::default()))
        .unwrap();
    let r = from_client(&e);
    assert_eq!(checks(&r), vec!["a-record-missing"], "{r:#?}");
    assert!(r.dns.iter().any(|l| l.contains("NxDomain")), "{:?}", r.dns);
    assert!(r.findings[0].fix.as_deref().unwrap().contains("--ipv4-address 10.0.0.4"));
    // Wrong address.
    let e = healthy();
    e.write(|s, b| {
        privatedns::put_record_set(
            s,
            b,
            &c,
            (SUB, "rg1", VAULT_ZONE, "A", "kv1"),
            crate::testing::net(json!({"properties": {"aRecords": [{"ipv4Address": "10.0.0.99"}]}}))?,
            Default::default(),
            false,
        )
    })
    .unwrap();
    assert_eq!(checks(&from_client(&e)), vec!["a-record-wrong-address"]);
    // Zone not linked.
    let e = healthy();
    e.write(|s, b| privatedns::delete_link(s, b, &c, (SUB, "rg1", VAULT_ZONE, "link1"), Default::default())).unwrap();
    let r = from_client(&e);
    assert_eq!(checks(&r), vec!["zone-not-linked"]);
    assert_eq!(r.path, "public");
    // Custom DNS on the VNet.
    let e = healthy();
    e.write(|s, b| network::put_vnet(s, b, &c, (SUB, "rg1", "vnet1"), crate::testing::net(json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "dhcpOptions": {"dnsServers": ["10.0.0.200"]}}}))?)).unwrap();
    assert_eq!(checks(&from_client(&e)), vec!["custom-dns-bypasses-zones"]);
}

#[test]
fn a_pending_connection_is_named_with_the_approve_command() {
    let e = healthy();
    let c = developer();
    let v = e.read(|s| keyvault::vault_by_name(s, "kv1").cloned()).unwrap();
    let name = e.read(|s| keyvault::connections(s, &v.id))[0].name.clone();
    // Put the connection back to a state that carries no traffic: reject it.
    let spec = crate::wire::parse(json!({"properties": {"privateLinkServiceConnectionState": {"status": "Rejected"}}}))
        .unwrap();
    e.write(|s, b| connections::put(s, b, &c, (SUB, "rg1", "kv1"), &name, spec)).unwrap();
    let r = from_client(&e);
    assert!(!r.reachable);
    assert_eq!(checks(&r), vec!["connection-rejected"], "{r:#?}");
}

#[test]
fn the_matrix_covers_every_caller_and_vault() {
    let e = healthy();
    let rows = e.read(|s| matrix(s, "203.0.113.10".parse().unwrap()));
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r.caller.contains("client1") && r.allowed && r.path == "private-endpoint"));
    assert!(rows.iter().any(|r| r.caller.contains("internet") && !r.allowed));
}

#[test]
fn the_matrix_names_a_client_nic_by_its_vm() {
    let e = healthy();
    let nic = format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/networkInterfaces/client1");
    let spec = json!({"location": "westeurope", "properties": {
        "hardwareProfile": {"vmSize": "Standard_B1s"},
        "storageProfile": {"imageReference": {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2", "version": "latest"}},
        "osProfile": {"computerName": "vm1", "adminUsername": "azureuser", "adminPassword": "Secret-Passw0rd!"},
        "networkProfile": {"networkInterfaces": [{"id": nic}]}}});
    e.write(|s, b| {
        crate::compute::put_vm(
            s,
            b,
            &developer(),
            (SUB, "rg1", "vm1"),
            crate::wire::parse_for(crate::wire::Provider::Arm, spec)?,
        )
    })
    .unwrap();
    let rows = e.read(|s| matrix(s, "203.0.113.10".parse().unwrap()));
    let vm = rows.iter().find(|r| r.caller.starts_with("VM vm1 (NIC client1, 10.0.0.")).expect("a row for vm1");
    assert!(vm.caller.ends_with("in vnet1/snet1"), "{}", vm.caller);
    assert!(vm.allowed && vm.path == "private-endpoint", "{vm:?}");
    assert!(!rows.iter().any(|r| r.caller.starts_with("NIC client1")), "{rows:?}");
}

#[test]
fn on_premises_needs_forwarders_for_both_public_zones_to_an_inbound_endpoint() {
    let e = healthy();
    let c = developer();
    let vnet = format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1");
    e.write(|s, b| {
        network::put_subnet(
            s,
            b,
            &c,
            (SUB, "rg1", "vnet1", "snet-dns"),
            crate::testing::net(json!({"properties": {"addressPrefix": "10.0.1.0/28"}}))?,
        )
    })
    .unwrap();
    e.write(|s, b| {
        onprem::put_resolver(
            s,
            b,
            &c,
            (SUB, "rg1", "res1"),
            crate::testing::net(json!({"location": "westeurope", "properties": {"virtualNetwork": {"id": vnet}}}))?,
        )
    })
    .unwrap();
    let inbound = e
        .write(|s, b| {
            onprem::put_inbound(s, b, &c, (SUB, "rg1", "res1", "in1"), crate::testing::net(json!({"location": "westeurope", "properties": {"ipConfigurations": [{"subnet": {"id": format!("{vnet}/subnets/snet-dns")}}]}}))?)
        })
        .unwrap()
        .0;
    assert_eq!(inbound.private_ip_address, "10.0.1.4");
    let corp = |fwd: &[(&str, &str)]| {
        let fwd: Vec<(String, String)> = fwd.iter().map(|(z, t)| (z.to_string(), t.to_string())).collect();
        e.write(|s, b| onprem::put_onprem(s, b, "corp", &vnet, "192.168.10.0/24", &fwd)).unwrap();
        e.read(|s| {
            let o = netctx::locate(s, Some("corp"), "203.0.113.10".parse().unwrap()).unwrap();
            diagnose(s, "kv1", &o, None).unwrap()
        })
    };
    let good = corp(&[("vault.azure.net", "10.0.1.4"), ("vaultcore.azure.net", "10.0.1.4")]);
    assert!(good.healthy(), "{good:#?}");
    assert_eq!(good.address.as_deref(), Some("10.0.0.4"));
    let privatelink = corp(&[("privatelink.vaultcore.azure.net", "10.0.1.4")]);
    assert_eq!(checks(&privatelink), vec!["onprem-forwards-privatelink-zone"], "{privatelink:#?}");
    assert_eq!(privatelink.path, "public");
    let none = corp(&[]);
    assert_eq!(checks(&none), vec!["onprem-forwarders-missing"]);
    assert!(none.findings[0].fix.as_deref().unwrap().contains("--forward vault.azure.net=10.0.1.4"));
}

#[test]
fn a_registration_link_auto_registers_client_nics_and_a_manual_record_wins() {
    let e = healthy();
    let c = developer();
    let vnet = format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1");
    e.write(|s, b| {
        privatedns::put_zone(
            s,
            b,
            &c,
            (SUB, "rg1", "corp.internal"),
            crate::testing::net(json!({"location": "global"}))?,
            Default::default(),
        )
    })
    .unwrap();
    e.write(|s, b| {
        privatedns::put_link(
            s,
            b,
            &c,
            (SUB, "rg1", "corp.internal", "reg"),
            crate::testing::net(json!({"properties": {"virtualNetwork": {"id": vnet}, "registrationEnabled": true}}))?,
            Default::default(),
        )
    })
    .unwrap();
    let sets = e.read(|s| privatedns::list_record_sets(s, &c, (SUB, "rg1", "corp.internal"), Some("A"))).unwrap();
    let client = sets.iter().find(|r| r.name == "client1").expect("client1 registered");
    assert!(client.auto_registered && client.data.a == vec!["10.0.0.5".to_string()]);
    assert!(!sets.iter().any(|r| r.name.starts_with("pe1")), "endpoint NICs are not registered");
    let a = e.read(|s| {
        dns::answer(s, &View::VirtualNetwork { vnet_id: vnet.clone() }, "client1.corp.internal", dns::QType::A)
    });
    assert!(matches!(a.answers.last().map(|r| &r.data), Some(RecordData::A(ip)) if ip.to_string() == "10.0.0.5"));
    e.write(|s, b| {
        privatedns::put_record_set(
            s,
            b,
            &c,
            (SUB, "rg1", "corp.internal", "A", "client1"),
            crate::testing::net(json!({"properties": {"aRecords": [{"ipv4Address": "10.9.9.9"}]}}))?,
            Default::default(),
            false,
        )
    })
    .unwrap();
    let sets = e.read(|s| privatedns::list_record_sets(s, &c, (SUB, "rg1", "corp.internal"), Some("A"))).unwrap();
    let client: Vec<_> = sets.iter().filter(|r| r.name == "client1").collect();
    assert_eq!(client.len(), 1);
    assert!(!client[0].auto_registered && client[0].data.a == vec!["10.9.9.9".to_string()]);
}

#[test]
fn two_endpoints_in_one_vnet_is_a_warning_that_does_not_fail_the_caller() {
    let e = healthy();
    let c = developer();
    let v = e.read(|s| keyvault::vault_by_name(s, "kv1").cloned()).unwrap();
    let subnet = format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/snet1"
    );
    e.write(|s, b| {
        privatelink::put_endpoint(s, b, &c, (SUB, "rg1", "pe2"), crate::testing::net(json!({"location": "westeurope", "properties": {"subnet": {"id": subnet}, "privateLinkServiceConnections": [{"name": "c2", "properties": {"groupIds": ["vault"], "privateLinkServiceId": v.id}}]}}))?)
    })
    .unwrap();
    let r = from_client(&e);
    assert_eq!(checks(&r), vec!["two-endpoints-one-vnet"]);
    assert_eq!(r.findings[0].severity, "warning");
    assert!(r.healthy(), "{r:#?}");
}
