//! Scenario tests of the control-plane rules, driven through the core operations as ARM calls them.

use serde_json::json;

use crate::error::Kind;
use crate::privatelink::{self, connections, zonegroups};
use crate::testing::{developer, vault, world};
use crate::{Engine, keyvault, network, privatedns, registry, resources, seed};

const SUB: &str = seed::SUBSCRIPTION_ID;

fn vnet(e: &Engine, name: &str, prefix: &str) {
    let c = developer();
    e.write(|s, b| {
        network::put_vnet(
            s,
            b,
            &c,
            (SUB, "rg1", name),
            crate::testing::net(
                json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": [prefix]}}}),
            )?,
        )
    })
    .unwrap();
}

fn subnet(e: &Engine, vnet: &str, name: &str, prefix: &str) -> crate::Result<crate::model::Subnet> {
    let c = developer();
    e.write(|s, b| {
        network::put_subnet(
            s,
            b,
            &c,
            (SUB, "rg1", vnet, name),
            crate::testing::net(json!({"properties": {"addressPrefix": prefix}}))?,
        )
    })
    .map(|x| x.0)
}

fn endpoint(e: &Engine, name: &str, vault_id: &str, manual: bool) -> crate::Result<crate::model::PrivateEndpoint> {
    let c = developer();
    let key = if manual { "manualPrivateLinkServiceConnections" } else { "privateLinkServiceConnections" };
    let body = json!({"location": "westeurope", "properties": {
        "subnet": {"id": format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/snet1")},
        key: [{"name": format!("{name}-conn"), "properties": {"groupIds": ["vault"], "privateLinkServiceId": vault_id}}],
    }});
    e.write(|s, b| privatelink::put_endpoint(s, b, &c, (SUB, "rg1", name), crate::testing::net(body)?)).map(|x| x.0)
}

#[test]
fn subnets_must_fit_the_space_and_not_overlap() {
    let e = world();
    vnet(&e, "vnet1", "10.0.0.0/16");
    subnet(&e, "vnet1", "a", "10.0.0.0/24").unwrap();
    assert_eq!(subnet(&e, "vnet1", "b", "10.0.0.128/25").unwrap_err().code(), "NetcfgSubnetRangesOverlap");
    assert_eq!(subnet(&e, "vnet1", "c", "10.1.0.0/24").unwrap_err().code(), "NetcfgSubnetRangeOutsideVnet");
    assert!(subnet(&e, "vnet1", "d", "not-a-cidr").is_err());
    // Nothing was written by the refusals.
    assert_eq!(
        e.read(|s| network::subnets_of(
            s,
            &format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1")
        )
        .len()),
        1
    );
}

#[test]
fn endpoints_get_addresses_from_dot_four_and_connections_follow_the_state_machine() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    vnet(&e, "vnet1", "10.0.0.0/16");
    subnet(&e, "vnet1", "snet1", "10.0.0.0/24").unwrap();
    let auto = endpoint(&e, "pe1", &v.id, false).unwrap();
    let manual = endpoint(&e, "pe2", &v.id, true).unwrap();
    assert_eq!(auto.private_ip_address, "10.0.0.4");
    assert_eq!(manual.private_ip_address, "10.0.0.5");
    let c = developer();
    let state_of = |pe: &str| {
        e.read(|s| {
            let p = privatelink::endpoint(
                s,
                &format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/privateEndpoints/{pe}"),
            )
            .unwrap();
            privatelink::endpoint_connection_state(s, &p.connections[0]).0
        })
    };
    assert_eq!(state_of("pe1"), "Approved");
    assert_eq!(state_of("pe2"), "Pending");
    let pecs = e.read(|s| keyvault::connections(s, &v.id));
    let pending = pecs.iter().find(|p| p.private_endpoint_id.ends_with("/pe2")).unwrap().name.clone();
    let approve = |status: &str| {
        let spec = crate::wire::parse(
            json!({"properties": {"privateLinkServiceConnectionState": {"status": status, "description": "x"}}}),
        )
        .unwrap();
        e.write(|s, b| connections::put(s, b, &c, (SUB, "rg1", "kv1"), &pending, spec))
    };
    approve("Rejected").unwrap();
    assert_eq!(state_of("pe2"), "Rejected");
    assert!(approve("Approved").is_err());
    e.write(|s, b| connections::delete(s, b, &c, (SUB, "rg1", "kv1"), &pending)).unwrap();
    assert_eq!(state_of("pe2"), "Disconnected");
    // The endpoint NIC is read-only and the subnet is in use.
    assert_eq!(
        e.write(|s, b| network::delete_subnet(s, b, &c, (SUB, "rg1", "vnet1", "snet1"))).unwrap_err().code(),
        "InUseSubnetCannotBeDeleted"
    );
}

#[test]
fn zone_groups_write_and_remove_the_a_record() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    vnet(&e, "vnet1", "10.0.0.0/16");
    subnet(&e, "vnet1", "snet1", "10.0.0.0/24").unwrap();
    endpoint(&e, "pe1", &v.id, false).unwrap();
    let c = developer();
    e.write(|s, b| {
        privatedns::put_zone(
            s,
            b,
            &c,
            (SUB, "rg1", "privatelink.vaultcore.azure.net"),
            crate::testing::net(json!({"location": "global"}))?,
            Default::default(),
        )
    })
    .unwrap();
    let zone_id = privatedns::zone_id(SUB, "rg1", "privatelink.vaultcore.azure.net");
    e.write(|s, b| zonegroups::put(s, b, &c, (SUB, "rg1", "pe1", "default"), crate::testing::net(json!({"properties": {"privateDnsZoneConfigs": [{"name": "kv", "properties": {"privateDnsZoneId": zone_id}}]}}))?))
        .unwrap();
    let a = e
        .read(|s| privatedns::get_record_set(s, &c, (SUB, "rg1", "privatelink.vaultcore.azure.net", "A", "kv1")))
        .unwrap();
    assert_eq!((a.data.a.clone(), a.ttl), (vec!["10.0.0.4".to_string()], 10));
    e.write(|s, b| privatelink::delete_endpoint(s, b, &c, (SUB, "rg1", "pe1"))).unwrap();
    assert!(
        e.read(|s| privatedns::get_record_set(s, &c, (SUB, "rg1", "privatelink.vaultcore.azure.net", "A", "kv1")))
            .is_err()
    );
    assert!(e.read(|s| keyvault::connections(s, &v.id)).is_empty());
}

#[test]
fn vault_names_are_global_and_soft_delete_holds_them() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let c = developer();
    let spec = || {
        crate::wire::parse(
            json!({"location": "westeurope", "properties": {"tenantId": seed::TENANT_ID, "sku": {"name": "standard"}}}),
        )
        .unwrap()
    };
    e.write(|s, b| {
        resources::put_resource_group(s, b, &c, SUB, "rg2", crate::wire::parse(json!({"location": "westeurope"}))?)
    })
    .unwrap();
    let err = e
        .write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg2", "KV1"), "2026-02-01", spec()))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.code(), "VaultAlreadyExists");
    assert_eq!(
        e.write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg2", "a--b"), "2026-02-01", spec()))
            .map(|_| ())
            .unwrap_err()
            .code(),
        "VaultNameNotValid"
    );
    e.write(|s, b| keyvault::delete_vault(s, b, &c, (SUB, "rg1", "kv1"))).unwrap();
    let err = e
        .write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg1", "kv1"), "2026-02-01", spec()))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.code(), "ConflictError");
    let recover =
        crate::wire::parse(json!({"location": "westeurope", "properties": {"createMode": "recover"}})).unwrap();
    let back = e.write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg1", "kv1"), "2026-02-01", recover)).unwrap().vault;
    assert_eq!(back.internal_id, v.internal_id, "recover brings the same vault (and its objects) back");
}

#[test]
fn purge_protection_is_irreversible_and_blocks_purge() {
    let e = world();
    vault(&e, "kv1", json!({"enablePurgeProtection": true}));
    let c = developer();
    let off = crate::wire::parse(json!({"location": "westeurope", "properties": {"tenantId": seed::TENANT_ID, "sku": {"name": "standard"}, "enablePurgeProtection": false}})).unwrap();
    assert!(matches!(
        e.write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg1", "kv1"), "2026-02-01", off)),
        Err(e) if e.kind == Kind::BadRequest
    ));
    e.write(|s, b| keyvault::delete_vault(s, b, &c, (SUB, "rg1", "kv1"))).unwrap();
    assert!(e.write(|s, b| keyvault::purge_deleted_vault(s, b, &c, SUB, "westeurope", "kv1")).is_err());
}

/// The engine's clock moves without sleeping: a purge-protected vault cannot be purged within
/// its retention (90 days by default) and is purged by itself once it has passed (a purge then
/// finds nothing to purge).
#[test]
fn a_protected_vault_is_purged_once_the_engines_clock_passes_its_retention() {
    let e = world();
    vault(&e, "kv1", json!({"enablePurgeProtection": true}));
    let c = developer();
    let purge = || e.write(|s, b| keyvault::purge_deleted_vault(s, b, &c, SUB, "westeurope", "kv1"));
    e.write(|s, b| keyvault::delete_vault(s, b, &c, (SUB, "rg1", "kv1"))).unwrap();
    assert_eq!(purge().unwrap_err().code, "ConflictError");
    e.clock().advance(89 * 24 * 3600);
    assert_eq!(purge().unwrap_err().code, "ConflictError");
    e.clock().advance(2 * 24 * 3600);
    assert!(e.read(|s| keyvault::deleted_vault(s, &c, SUB, "westeurope", "kv1")).is_err());
    assert_eq!(purge().unwrap_err().code, "ResourceNotFound");
}

/// Once the clock passes a retention, what soft delete kept is gone at once for every lookup
/// (the name free again), and `purge_due` removes the records; nothing within its retention is
/// touched.
#[test]
fn what_retention_ends_is_purged_by_itself() {
    use crate::kv::secrets;
    let e = world();
    let sealer = vaultlink_crypto::Sealer::ephemeral();
    let c = developer();
    let v = crate::testing::admitted_vault(&e, "kv1", json!({"softDeleteRetentionInDays": 7}));
    for name in ["gone", "kept"] {
        e.write(|s, b| secrets::set(s, b, &sealer, &v, name, serde_json::from_value(json!({"value": "x"})).unwrap()))
            .unwrap();
    }
    e.write(|s, b| secrets::delete(s, b, &v, "gone")).unwrap();
    vault(&e, "kv2", json!({"softDeleteRetentionInDays": 7, "enablePurgeProtection": true}));
    e.write(|s, b| keyvault::delete_vault(s, b, &c, (SUB, "rg1", "kv2"))).unwrap();
    let purge = || e.write(|s, b| Ok::<_, crate::Error>(keyvault::purge_due(s, b))).unwrap();
    let records = || e.read(|s| s.len());

    e.clock().advance(6 * 86_400);
    assert_eq!(purge(), 0);
    assert!(e.read(|s| secrets::get_deleted(s, &v, "gone")).is_ok());
    assert_eq!(e.read(|s| keyvault::deleted_vaults(s, &c, SUB)).unwrap().len(), 1);

    e.clock().advance(86_400);
    // Gone for every lookup before the sweep: the names are free again.
    assert!(e.read(|s| secrets::get_deleted(s, &v, "gone")).is_err());
    assert!(e.read(|s| keyvault::deleted_vaults(s, &c, SUB)).unwrap().is_empty());
    assert!(e.read(|s| keyvault::deleted_vault(s, &c, SUB, "westeurope", "kv2")).is_err());
    assert_eq!(e.read(|s| keyvault::check_name_availability(s, "kv2"))["nameAvailable"], true);
    let before = records();
    assert_eq!(purge(), 2);
    assert_eq!(records(), before - 2);
    assert_eq!(purge(), 0);
    // The live secret is untouched.
    assert!(e.read(|s| secrets::get(s, &sealer, &v, "kept", None)).is_ok());
}

#[test]
fn rbac_default_follows_the_api_version_and_ip_rules_are_normalised() {
    let e = world();
    let c = developer();
    let spec = |extra: serde_json::Value| {
        let mut p = json!({"tenantId": seed::TENANT_ID, "sku": {"name": "standard"}});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        crate::wire::parse(json!({"location": "westeurope", "properties": p})).unwrap()
    };
    let old = e
        .write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg1", "old1"), "2023-07-01", spec(json!({}))))
        .unwrap()
        .vault;
    let new = e
        .write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg1", "new1"), "2026-02-01", spec(json!({}))))
        .unwrap()
        .vault;
    assert!(!old.enable_rbac_authorization && new.enable_rbac_authorization);
    let acl = e
        .write(|s, b| {
            keyvault::put_vault(
                s,
                b,
                &c,
                (SUB, "rg1", "new1"),
                "2026-02-01",
                spec(json!({"networkAcls": {"defaultAction": "Deny", "ipRules": [{"value": "124.56.78.91"}]}})),
            )
        })
        .unwrap()
        .vault;
    assert_eq!(acl.network_acls.ip_rules, vec!["124.56.78.91/32"]);
    assert!(
        e.write(|s, b| keyvault::put_vault(
            s,
            b,
            &c,
            (SUB, "rg1", "new1"),
            "2026-02-01",
            spec(json!({"networkAcls": {"ipRules": [{"value": "10.1.2.3"}]}}))
        ))
        .is_err()
    );
    assert!(
        e.write(|s, b| keyvault::put_vault(
            s,
            b,
            &c,
            (SUB, "rg1", "new1"),
            "2026-02-01",
            spec(json!({"networkAcls": {"ipRules": [{"value": "::1"}]}}))
        ))
        .is_err()
    );
    // The refused updates left the vault as it was.
    let now = e.read(|s| keyvault::vault(s, &c, SUB, "rg1", "new1")).unwrap();
    assert_eq!(now.network_acls.ip_rules, vec!["124.56.78.91/32"]);
}

#[test]
fn deleting_a_resource_group_takes_everything_and_soft_deletes_vaults() {
    let e = world();
    vault(&e, "kv1", json!({}));
    vnet(&e, "vnet1", "10.0.0.0/16");
    let c = developer();
    e.write(|s, b| registry::delete_resource_group(s, b, &c, SUB, "rg1")).unwrap();
    assert!(e.read(|s| keyvault::vault_by_name(s, "kv1").is_none()));
    assert_eq!(e.read(|s| keyvault::deleted_vaults(s, &c, SUB)).unwrap().len(), 1);
    assert!(e.read(|s| {
        network::vnet(
            s,
            &format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1"),
        )
        .is_none()
    }));
}

/// A VNet finds its zone links through the state's per-VNet index: it follows link PUTs, link
/// deletes and a VNet's deletion (which clears the links pointing at it), and a second
/// registration link for the same VNet is refused as before.
#[test]
fn links_are_found_by_their_virtual_network() {
    let e = world();
    let c = developer();
    vnet(&e, "vnet1", "10.0.0.0/16");
    vnet(&e, "vnet2", "10.1.0.0/16");
    let vnet_id =
        |n: &str| format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/{n}");
    for zone in ["a.example", "b.example", "c.example"] {
        e.write(|s, b| {
            privatedns::put_zone(
                s,
                b,
                &c,
                (SUB, "rg1", zone),
                crate::testing::net(json!({"location": "global"}))?,
                Default::default(),
            )
        })
        .unwrap();
    }
    let link = |zone: &str, name: &str, vnet: &str, registration: bool| {
        e.write(|s, b| {
            privatedns::put_link(
                s,
                b,
                &c,
                (SUB, "rg1", zone, name),
                crate::testing::net(json!({"location": "global", "properties": {"virtualNetwork": {"id": vnet_id(vnet)}, "registrationEnabled": registration}}))?,
                Default::default(),
            )
        })
    };
    link("a.example", "l1", "vnet1", true).unwrap();
    link("b.example", "l2", "vnet1", false).unwrap();
    link("a.example", "l3", "vnet2", false).unwrap();
    let names = |vnet: &str| -> Vec<String> {
        e.read(|s| privatedns::links_of_vnet(s, &vnet_id(vnet).to_uppercase()).map(|l| l.name.clone()).collect())
    };
    assert_eq!(names("vnet1"), ["l1", "l2"]);
    assert_eq!(names("vnet2"), ["l3"]);
    let refused = link("c.example", "l4", "vnet1", true).unwrap_err();
    assert!(refused.to_string().contains("only one private DNS zone with auto-registration"), "{refused}");
    e.write(|s, b| privatedns::delete_link(s, b, &c, (SUB, "rg1", "a.example", "l1"), Default::default())).unwrap();
    assert_eq!(names("vnet1"), ["l2"]);
    link("c.example", "l4", "vnet1", true).unwrap();
    assert_eq!(names("vnet1"), ["l2", "l4"]);
    e.write(|s, b| network::delete_vnet(s, b, &c, (SUB, "rg1", "vnet1"))).unwrap();
    assert!(names("vnet1").is_empty());
    assert_eq!(names("vnet2"), ["l3"]);
    assert_eq!(e.read(|s| privatedns::links_of(s, &privatedns::zone_id(SUB, "rg1", "b.example"))).len(), 0);
}

#[test]
fn a_resource_group_patch_changes_its_tags_only_and_refuses_null_tags() {
    let e = world();
    let c = developer();
    let patch = |body: serde_json::Value| {
        e.write(|s, b| resources::patch_resource_group(s, b, &c, SUB, "rg1", crate::wire::parse(body)?))
    };
    assert_eq!(patch(json!({"tags": {"team": "a"}})).unwrap().tags.get("team").map(String::as_str), Some("a"));
    // No tags in the body: the tags stay.
    assert_eq!(patch(json!({})).unwrap().tags.len(), 1);
    let refused = patch(json!({"tags": null})).unwrap_err();
    assert_eq!(refused.code(), "InvalidRequestContent");
    assert_eq!(patch(json!({"tags": {"n": 1}})).unwrap_err().code(), "InvalidRequestContent");
    let missing =
        e.write(|s, b| resources::patch_resource_group(s, b, &c, SUB, "nope", crate::wire::parse(json!({}))?));
    assert_eq!(missing.unwrap_err().code(), "ResourceGroupNotFound");
    assert_eq!(e.read(|s| resources::resource_group(s, &c, SUB, "rg1")).unwrap().tags.len(), 1);
}

#[test]
fn subnets_peerings_and_endpoints_per_vnet_stop_at_azures_limits() {
    let e = world();
    let c = developer();
    let vnet_id = format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1");
    // 3,000 subnets in one body are taken; a 3,001st, in the body or on its own, is not.
    let subnets = |n: usize| -> Vec<serde_json::Value> {
        (0..n).map(|i| json!({"name": format!("s{i}"), "properties": {"addressPrefix": format!("10.{}.{}.{}/28", i / 4096, i / 16 % 256, i % 16 * 16)}})).collect()
    };
    let body = |n: usize| json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/8"]}, "subnets": subnets(n)}});
    let put = |b: serde_json::Value| {
        e.write(|s, batch| network::put_vnet(s, batch, &c, (SUB, "rg1", "vnet1"), crate::testing::net(b)?))
    };
    assert_eq!(put(body(network::MAX_SUBNETS + 1)).unwrap_err().code(), "SubnetCountLimitReached");
    assert!(e.read(|s| network::vnet(s, &vnet_id)).is_none());
    put(body(network::MAX_SUBNETS)).unwrap();
    assert_eq!(subnet(&e, "vnet1", "one-more", "10.200.0.0/24").unwrap_err().code(), "SubnetCountLimitReached");
    subnet(&e, "vnet1", "s0", "10.0.0.0/28").unwrap(); // an existing one may still change
    assert_eq!(e.read(|s| network::subnets_of(s, &vnet_id).len()), network::MAX_SUBNETS);

    // Peerings: 500, then no more.
    for i in 0..=network::MAX_PEERINGS {
        let name = format!("remote{i}");
        let b = json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": [format!("172.{}.{}.0/24", 16 + i / 256, i % 256)]}}});
        e.write(|s, batch| network::put_vnet(s, batch, &c, (SUB, "rg1", &name), crate::testing::net(b)?)).unwrap();
        let peering = json!({"properties": {"remoteVirtualNetwork": {"id": format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/{name}")}}});
        let r = e.write(|s, batch| {
            network::peering::put(s, batch, &c, (SUB, "rg1", "vnet1", &format!("p{i}")), crate::testing::net(peering)?)
        });
        if i < network::MAX_PEERINGS {
            r.unwrap();
        } else {
            assert_eq!(r.unwrap_err().code(), "PeeringCountLimitReached");
        }
    }
}

#[test]
fn private_endpoints_per_vnet_stop_at_1000() {
    let e = world();
    vnet(&e, "vnet1", "10.0.0.0/16");
    subnet(&e, "vnet1", "snet1", "10.0.0.0/21").unwrap();
    let per_vault = connections::MAX_ENDPOINTS_PER_VAULT;
    let vaults: Vec<String> = (0..privatelink::MAX_ENDPOINTS_PER_VNET / per_vault + 1)
        .map(|i| vault(&e, &format!("kv-many-{i}"), json!({})).id)
        .collect();
    for i in 0..privatelink::MAX_ENDPOINTS_PER_VNET {
        endpoint(&e, &format!("pe{i}"), &vaults[i / per_vault], false).unwrap();
    }
    let last = vaults.last().unwrap();
    assert_eq!(endpoint(&e, "pe-one-more", last, false).unwrap_err().code(), "PrivateEndpointCountLimitReached");
    assert!(
        e.read(|s| privatelink::endpoint(
            s,
            &format!(
                "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/privateEndpoints/pe-one-more"
            )
        ))
        .is_none()
    );
}

/// A NIC with a public IP address and no Key Vault service endpoint on its subnet reaches a
/// vault's public ingress as that address (so the vault's `ipRules` can name it); without one, as
/// its VNet's default outbound address; with the service endpoint, as its subnet.
#[test]
fn a_nics_public_ip_is_its_source_address_at_the_vaults_firewall() {
    use crate::netctx::{self, Origin, Route};
    let e = world();
    let c = developer();
    vnet(&e, "vnet1", "10.0.0.0/16");
    subnet(&e, "vnet1", "snet1", "10.0.0.0/24").unwrap();
    let (pip, _) = e
        .write(|s, b| {
            network::put_public_ip(
                s,
                b,
                &c,
                (SUB, "rg1", "pip1"),
                crate::testing::net(json!({"location": "westeurope"}))?,
            )
        })
        .unwrap();
    let v = vault(&e, "kv1", json!({"networkAcls": {"defaultAction": "Deny", "ipRules": [{"value": pip.ip_address}]}}));
    let net_id = |t: &str, n: &str| network::network_id(SUB, "rg1", t, n);
    let nic = |name: &str, with_pip: bool| {
        let mut ipc = json!({"subnet": {"id": format!("{}/subnets/snet1", net_id("virtualNetworks", "vnet1"))}});
        if with_pip {
            ipc["publicIPAddress"] = json!({"id": net_id("publicIPAddresses", "pip1")});
        }
        let body = json!({"location": "westeurope", "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": ipc}]}});
        e.write(|s, b| network::put_nic(s, b, &c, (SUB, "rg1", name), crate::testing::net(body)?)).unwrap().0
    };
    let with = nic("withpip", true);
    let without = nic("nopip", false);
    let reach = |n: &crate::model::NetworkInterface| {
        e.read(|s| match netctx::route(s, &Origin::Nic { nic_id: n.id.clone() }, "kv1.vault.azure.net") {
            Route::Reaches(ctx) => (ctx.client_address, crate::firewall::decide(s, &v, &ctx, &c).is_ok()),
            other => panic!("{other:?}"),
        })
    };
    assert_eq!(reach(&with), (pip.ip_address.parse().unwrap(), true));
    let outbound =
        e.read(|s| netctx::outbound_address(&network::vnet(s, &net_id("virtualNetworks", "vnet1")).unwrap()));
    assert_eq!(reach(&without), (outbound, false));
    // With the service endpoint the subnet is the source, public IP or not.
    e.write(|s, b| {
        network::put_subnet(
            s,
            b,
            &c,
            (SUB, "rg1", "vnet1", "snet1"),
            crate::testing::net(json!({"properties": {"addressPrefix": "10.0.0.0/24", "serviceEndpoints": [{"service": "Microsoft.KeyVault"}]}}))?,
        )
    })
    .unwrap();
    assert_eq!(reach(&with).0, with.private_ip_address.parse::<std::net::Ipv4Addr>().unwrap());
}

/// A tenant's quota refuses the vault and the secret past it, with nothing written, counts
/// soft-deleted secrets (they hold their name) and not a new version of one it holds, and leaves
/// other tenants alone; the usage it reports is what the tenant holds.
#[test]
fn a_tenants_quota_refuses_the_vault_and_the_secret_past_it() {
    use crate::kv::secrets;
    use crate::quota::{self, Quota};
    let e = world();
    let sealer = vaultlink_crypto::Sealer::ephemeral();
    let v = crate::testing::admitted_vault(&e, "kv1", json!({}));
    let set = |name: &str| {
        e.write(|s, b| secrets::set(s, b, &sealer, &v, name, serde_json::from_value(json!({"value": "x"})).unwrap()))
    };
    set("a").unwrap();
    quota::set(&e, seed::TENANT_DOMAIN, Quota { vaults: Some(1), secrets: Some(2), requests_per_10_seconds: None })
        .unwrap();
    let c = developer();
    let spec = || -> keyvault::VaultSpec {
        crate::wire::parse(json!({"location": "westeurope", "properties": {"tenantId": seed::TENANT_ID, "sku": {"family": "A", "name": "standard"}}}))
            .unwrap()
    };
    let refused = e
        .write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg1", "kv2"), "2026-02-01", spec()))
        .map(|_| ())
        .unwrap_err();
    assert_eq!((refused.kind, refused.code.as_str()), (Kind::Conflict, "QuotaExceeded"));
    assert!(
        refused.message.contains("vaults quota") && refused.message.contains("Current Limit: 1"),
        "{}",
        refused.message
    );
    // Changing the vault it has is not a new vault.
    e.write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg1", "kv1"), "2026-02-01", spec())).unwrap();
    set("b").unwrap();
    e.write(|s, b| secrets::delete(s, b, &v, "b")).unwrap();
    let before = e.read(|s| s.len());
    let e3 = set("c").unwrap_err();
    assert_eq!(e3.code, "QuotaExceeded");
    assert!(e3.message.contains("secrets quota"), "{}", e3.message);
    assert_eq!(e.read(|s| s.len()), before);
    set("a").unwrap();
    assert_eq!(e.read(|s| quota::usage(s, seed::TENANT_ID)), quota::Usage { vaults: 1, secrets: 2 });
    quota::set(&e, seed::TENANT_ID, Quota::default()).unwrap();
    set("c").unwrap();
    e.write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg1", "kv2"), "2026-02-01", spec())).unwrap();
    assert_eq!(quota::set(&e, "nosuchtenant.onmicrosoft.com", Quota::default()).unwrap_err().code, "TenantNotFound");
}
