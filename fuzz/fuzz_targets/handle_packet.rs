//! Arbitrary bytes into `vaultlink_dns::handle_packet`, the function the server runs for every
//! message. The first input byte picks the view and the transport; the rest is the message.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use vaultlink_core::dns::View;
use vaultlink_core::privatedns::Preconditions;
use vaultlink_core::{Engine, keyvault, network, privatedns, privatelink, seed};
use vaultlink_dns::{TCP_LIMIT, UDP_PAYLOAD, handle_packet};

const SUB: &str = seed::SUBSCRIPTION_ID;

/// A vault with an approved private endpoint, a VNet linked to its privatelink zone and to a
/// zone with large, aliased and wildcard records.
fn world() -> &'static (Engine, String) {
    static WORLD: OnceLock<(Engine, String)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let e = vaultlink_core::testing::world_with_group("rg");
        let c = vaultlink_core::testing::developer();
        let p = Preconditions::default();
        let spec = serde_json::from_value(json!({"location": "westeurope", "properties": {"tenantId": seed::TENANT_ID, "sku": {"name": "standard"}}})).unwrap();
        let vault = e.write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg", "kv1"), "2026-02-01", spec)).unwrap().vault;
        let body = json!({"location": "westeurope", "properties": {
            "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [{"name": "pe", "properties": {"addressPrefix": "10.1.2.0/24"}}]}});
        let vnet = e.write(|s, b| network::put_vnet(s, b, &c, (SUB, "rg", "vnet1"), vaultlink_core::testing::net(body)?)).unwrap().0;
        let pe = json!({"location": "westeurope", "properties": {"subnet": {"id": format!("{}/subnets/pe", vnet.id)},
            "privateLinkServiceConnections": [{"name": "c", "properties": {"privateLinkServiceId": vault.id, "groupIds": ["vault"]}}]}});
        e.write(|s, b| privatelink::put_endpoint(s, b, &c, (SUB, "rg", "pe1"), vaultlink_core::testing::net(pe)?)).unwrap();
        for zone in ["privatelink.vaultcore.azure.net", "fuzz.internal"] {
            e.write(|s, b| privatedns::put_zone(s, b, &c, (SUB, "rg", zone), vaultlink_core::testing::net(json!({}))?, p)).unwrap();
            let link = json!({"properties": {"virtualNetwork": {"id": vnet.id}, "resolutionPolicy": "NxDomainRedirect"}});
            e.write(|s, b| privatedns::put_link(s, b, &c, (SUB, "rg", zone, "l"), vaultlink_core::testing::net(link)?, p)).unwrap();
        }
        let sets = [
            ("privatelink.vaultcore.azure.net", "A", "kv1", json!({"ttl": 10, "aRecords": [{"ipv4Address": "10.1.2.4"}]})),
            ("fuzz.internal", "TXT", "big", json!({"txtRecords": (0..20).map(|i| json!({"value": [format!("{i}").repeat(300)]})).collect::<Vec<_>>()})),
            ("fuzz.internal", "CNAME", "alias", json!({"cnameRecord": {"cname": "kv1.vault.azure.net"}})),
            ("fuzz.internal", "CNAME", "loop", json!({"cnameRecord": {"cname": "loop.fuzz.internal"}})),
            ("fuzz.internal", "A", "*.wild", json!({"aRecords": [{"ipv4Address": "10.1.0.9"}]})),
            ("fuzz.internal", "MX", "@", json!({"mxRecords": [{"preference": 10, "exchange": "mail.fuzz.internal"}]})),
        ];
        for (zone, t, name, props) in sets {
            e.write(|s, b| privatedns::put_record_set(s, b, &c, (SUB, "rg", zone, t, name), vaultlink_core::testing::net(json!({"properties": props}))?, p, false)).unwrap();
        }
        (e, vnet.id)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let (engine, vnet_id) = world();
    let view = match pick % 3 {
        0 => Some(View::Internet),
        1 => Some(View::VirtualNetwork { vnet_id: vnet_id.clone() }),
        _ => None,
    };
    let max = if pick & 0x80 != 0 { TCP_LIMIT } else { usize::from(UDP_PAYLOAD) };
    let Some(out) = engine.read(|s| handle_packet(s, view.as_ref(), bytes, max)) else {
        assert!(bytes.len() < 12 || bytes[2] & 0x80 != 0, "silence only for runts and responses");
        return;
    };
    assert!(out.len() >= 12 && out.len() <= max);
    assert_eq!(out[..2], bytes[..2], "same id");
    assert!(out[2] & 0x80 != 0, "qr set");
    hickory_proto::op::Message::from_vec(&out).expect("a response hickory can read");
});
