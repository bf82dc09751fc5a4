//! Tests of the network rules: public IP addresses, network security groups, and what a NIC
//! references.

use serde_json::{Value, json};

use super::*;
use crate::testing::{developer, net, world};
use crate::{Engine, seed};

const SUB: &str = seed::SUBSCRIPTION_ID;

fn id(type_path: &str, name: &str) -> String {
    network_id(SUB, "rg1", type_path, name)
}

fn pip(e: &Engine, name: &str, body: Value) -> Result<(PublicIpAddress, bool)> {
    let c = developer();
    e.write(|s, b| put_public_ip(s, b, &c, (SUB, "rg1", name), net(body)?))
}

fn nsg_put(e: &Engine, name: &str, body: Value) -> Result<(NetworkSecurityGroup, bool)> {
    let c = developer();
    e.write(|s, b| put_nsg(s, b, &c, (SUB, "rg1", name), net(body)?))
}

/// vnet1 (10.0.0.0/16) with snet1 (10.0.0.0/24), both westeurope.
fn with_subnet() -> Engine {
    let e = world();
    let c = developer();
    e.write(|s, b| {
        put_vnet(
            s,
            b,
            &c,
            (SUB, "rg1", "vnet1"),
            net(json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [{"name": "snet1", "properties": {"addressPrefix": "10.0.0.0/24"}}]}}))?,
        )
    })
    .unwrap();
    e
}

fn nic_put(e: &Engine, name: &str, pip: Option<&str>, nsg: Option<&str>) -> Result<NetworkInterface> {
    let c = developer();
    let mut ipc = json!({"subnet": {"id": format!("{}/subnets/snet1", id("virtualNetworks", "vnet1"))}});
    if let Some(p) = pip {
        ipc["publicIPAddress"] = json!({"id": id("publicIPAddresses", p)});
    }
    let mut props = json!({"ipConfigurations": [{"name": "ipconfig1", "properties": ipc}]});
    if let Some(g) = nsg {
        props["networkSecurityGroup"] = json!({"id": id("networkSecurityGroups", g)});
    }
    e.write(|s, b| put_nic(s, b, &c, (SUB, "rg1", name), net(json!({"location": "westeurope", "properties": props}))?))
        .map(|x| x.0)
}

fn read<T>(e: &Engine, f: impl FnOnce(&State) -> T) -> T {
    e.read(f)
}

// ---------------------------------------------------------------- public IP addresses

#[test]
fn public_ips_get_distinct_addresses_from_the_one_range_and_keep_them() {
    let e = world();
    let (a, new) = pip(&e, "a", json!({"location": "westeurope"})).unwrap();
    assert!(new);
    let (b, _) = pip(&e, "b", json!({"location": "westeurope", "sku": {"name": "Standard"}})).unwrap();
    assert_eq!((a.ip_address.as_str(), b.ip_address.as_str()), ("192.0.2.1", "192.0.2.2"));
    // Defaults: Standard, hence Static; 4 minutes.
    assert_eq!((a.sku.as_str(), a.allocation_method.as_str(), a.idle_timeout_in_minutes), ("Standard", "Static", 4));
    // An update keeps the address; a deleted address is given out again.
    let (a2, new) =
        pip(&e, "a", json!({"location": "westeurope", "properties": {"idleTimeoutInMinutes": 10}})).unwrap();
    assert_eq!((a2.ip_address.as_str(), new, a2.idle_timeout_in_minutes), ("192.0.2.1", false, 10));
    let c = developer();
    assert!(e.write(|s, b| delete_public_ip(s, b, &c, (SUB, "rg1", "a"))).unwrap());
    assert!(!e.write(|s, b| delete_public_ip(s, b, &c, (SUB, "rg1", "a"))).unwrap());
    let (d, _) = pip(&e, "d", json!({"location": "westeurope"})).unwrap();
    assert_eq!(d.ip_address, "192.0.2.1");
}

#[test]
fn public_ip_properties_follow_azures_rules() {
    let e = world();
    let code = |body: Value| pip(&e, "x", body).unwrap_err().code().to_string();
    assert_eq!(
        code(
            json!({"location": "westeurope", "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Dynamic"}})
        ),
        "StandardSkuPublicIPAddressesMustBeStatic"
    );
    assert_eq!(
        code(json!({"location": "westeurope", "properties": {"idleTimeoutInMinutes": 31}})),
        "PublicIPIdleTimeoutIsOutOfRange"
    );
    assert_eq!(
        code(json!({"location": "westeurope", "properties": {"idleTimeoutInMinutes": 3}})),
        "PublicIPIdleTimeoutIsOutOfRange"
    );
    assert_eq!(
        code(json!({"location": "westeurope", "properties": {"dnsSettings": {"domainNameLabel": "Upper"}}})),
        "InvalidDomainNameLabel"
    );
    assert_eq!(
        code(json!({"location": "westeurope", "properties": {"publicIPAddressVersion": "IPv6"}})),
        "InvalidRequestFormat"
    );
    assert_eq!(code(json!({"location": "westeurope", "sku": {"name": "Premium"}})), "InvalidRequestFormat");
    // Basic may be Dynamic, and defaults to it.
    let (basic, _) = pip(&e, "basic", json!({"location": "westeurope", "sku": {"name": "Basic"}})).unwrap();
    assert_eq!(basic.allocation_method, "Dynamic");
    // A Dynamic address is not shown until something uses it.
    let shown = read(&e, |s| render_public_ip(s, &basic));
    assert!(shown["properties"].get("ipAddress").is_none(), "{shown}");
    // Nothing was written by the refusals.
    assert!(read(&e, |s| public_ip(s, &id("publicIPAddresses", "x"))).is_none());
}

#[test]
fn a_dns_label_gives_the_regional_fqdn_and_is_unique_per_region() {
    let e = world();
    let (p, _) = pip(
        &e,
        "web",
        json!({"location": "westeurope", "properties": {"dnsSettings": {"domainNameLabel": "myapp-1"}}}),
    )
    .unwrap();
    let shown = read(&e, |s| render_public_ip(s, &p));
    assert_eq!(shown["properties"]["dnsSettings"]["fqdn"], "myapp-1.westeurope.cloudapp.azure.com");
    assert_eq!(shown["sku"], json!({"name": "Standard", "tier": "Regional"}));
    assert_eq!(shown["properties"]["ipAddress"], p.ip_address);
    let again = json!({"location": "westeurope", "properties": {"dnsSettings": {"domainNameLabel": "myapp-1"}}});
    assert_eq!(pip(&e, "other", again).unwrap_err().code(), "DnsRecordInUse");
    // The same label in another region is another name.
    pip(&e, "other", json!({"location": "northeurope", "properties": {"dnsSettings": {"domainNameLabel": "myapp-1"}}}))
        .unwrap();
    // Its own label again is no clash; a new region for an existing address is refused.
    pip(&e, "web", json!({"location": "westeurope", "properties": {"dnsSettings": {"domainNameLabel": "myapp-1"}}}))
        .unwrap();
    assert_eq!(pip(&e, "web", json!({"location": "northeurope"})).unwrap_err().code(), "InvalidResourceLocation");
}

// ---------------------------------------------------------------- network security groups

fn rule(name: &str, priority: i64, direction: &str) -> Value {
    json!({"name": name, "properties": {"protocol": "Tcp", "access": "Allow", "direction": direction, "priority": priority,
        "sourcePortRange": "*", "destinationPortRange": "22", "sourceAddressPrefix": "*", "destinationAddressPrefix": "*"}})
}

#[test]
fn nsg_rules_are_stored_as_given_with_azures_default_rules() {
    let e = world();
    let (g, new) = nsg_put(
        &e,
        "nsg1",
        json!({"location": "westeurope", "properties": {"securityRules": [rule("ssh", 1000, "Inbound"), rule("out", 1000, "Outbound")]}}),
    )
    .unwrap();
    assert!(new);
    let shown = read(&e, |s| render_nsg(s, &g));
    let rules = shown["properties"]["securityRules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["properties"]["destinationPortRange"], "22");
    assert_eq!(rules[0]["id"], format!("{}/securityRules/ssh", g.id));
    let defaults: Vec<&str> = shown["properties"]["defaultSecurityRules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        defaults,
        [
            "AllowVnetInBound",
            "AllowAzureLoadBalancerInBound",
            "DenyAllInBound",
            "AllowVnetOutBound",
            "AllowInternetOutBound",
            "DenyAllOutBound"
        ]
    );
    assert!(shown["properties"].get("networkInterfaces").is_none());
    // A body without securityRules keeps them; an empty list clears them.
    let (g, _) = nsg_put(&e, "nsg1", json!({"location": "westeurope", "tags": {"a": "b"}})).unwrap();
    assert_eq!(g.security_rules.len(), 2);
    let (g, _) = nsg_put(&e, "nsg1", json!({"location": "westeurope", "properties": {"securityRules": []}})).unwrap();
    assert!(g.security_rules.is_empty());
}

#[test]
fn nsg_rules_are_checked() {
    let e = world();
    let code = |rules: Vec<Value>| {
        nsg_put(&e, "bad", json!({"location": "westeurope", "properties": {"securityRules": rules}}))
            .unwrap_err()
            .code()
            .to_string()
    };
    assert_eq!(code(vec![rule("low", 99, "Inbound")]), "SecurityRuleInvalidPriority");
    assert_eq!(code(vec![rule("high", 4097, "Inbound")]), "SecurityRuleInvalidPriority");
    let mut no_priority = rule("np", 100, "Inbound");
    no_priority["properties"].as_object_mut().unwrap().remove("priority");
    assert_eq!(code(vec![no_priority]), "SecurityRuleInvalidPriority");
    assert_eq!(code(vec![rule("sideways", 100, "Sideways")]), "SecurityRuleInvalidDirection");
    let mut bad = rule("p", 100, "Inbound");
    bad["properties"]["protocol"] = json!("Gre");
    assert_eq!(code(vec![bad]), "SecurityRuleInvalidProtocol");
    let mut bad = rule("a", 100, "Inbound");
    bad["properties"]["access"] = json!("Maybe");
    assert_eq!(code(vec![bad]), "SecurityRuleInvalidAccess");
    let mut bad = rule("np", 100, "Inbound");
    bad["properties"].as_object_mut().unwrap().remove("sourceAddressPrefix");
    assert_eq!(code(vec![bad]), "SecurityRuleParameterMissing");
    assert_eq!(code(vec![rule("a", 200, "Inbound"), rule("b", 200, "Inbound")]), "SecurityRuleConflict");
    // The edges are allowed, and the same priority in the other direction is no conflict.
    nsg_put(
        &e,
        "good",
        json!({"location": "westeurope", "properties": {"securityRules": [rule("a", 100, "Inbound"), rule("b", 4096, "Inbound"), rule("c", 100, "Outbound")]}}),
    )
    .unwrap();
}

#[test]
fn a_rule_written_alone_joins_the_group_and_is_checked_against_the_others() {
    let e = world();
    nsg_put(
        &e,
        "nsg1",
        json!({"location": "westeurope", "properties": {"securityRules": [rule("ssh", 1000, "Inbound")]}}),
    )
    .unwrap();
    let c = developer();
    let put = |name: &str, priority: i64| {
        let body = rule(name, priority, "Inbound");
        e.write(|s, b| put_rule(s, b, &c, (SUB, "rg1", "nsg1", name), net(json!({"properties": body["properties"]}))?))
    };
    let (_, r, new) = put("web", 1010).unwrap();
    assert!(new);
    assert_eq!(r.priority, 1010);
    assert_eq!(put("web2", 1000).unwrap_err().code(), "SecurityRuleConflict");
    // Rewriting a rule with its own priority is no conflict.
    let (_, _, new) = put("ssh", 1000).unwrap();
    assert!(!new);
    let (g, r) = read(&e, |s| get_rule(s, &c, (SUB, "rg1", "nsg1", "web"))).unwrap();
    assert_eq!((g.security_rules.len(), r.name.as_str()), (2, "web"));
    assert!(e.write(|s, b| delete_rule(s, b, &c, (SUB, "rg1", "nsg1", "web"))).unwrap());
    assert!(!e.write(|s, b| delete_rule(s, b, &c, (SUB, "rg1", "nsg1", "web"))).unwrap());
    assert_eq!(read(&e, |s| get_rule(s, &c, (SUB, "rg1", "nsg1", "web"))).unwrap_err().code(), "ResourceNotFound");
}

// ---------------------------------------------------------------- NIC references

#[test]
fn a_nic_references_a_public_ip_and_an_nsg_which_show_it_back_until_it_goes() {
    let e = with_subnet();
    pip(&e, "pip1", json!({"location": "westeurope"})).unwrap();
    nsg_put(&e, "nsg1", json!({"location": "westeurope"})).unwrap();
    let n = nic_put(&e, "nic1", Some("pip1"), Some("nsg1")).unwrap();
    let shown = render_nic(&n);
    assert_eq!(shown["properties"]["networkSecurityGroup"]["id"], id("networkSecurityGroups", "nsg1"));
    assert_eq!(
        shown["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"]["id"],
        id("publicIPAddresses", "pip1")
    );
    let ipconfig = format!("{}/ipConfigurations/ipconfig1", n.id);
    let p = read(&e, |s| render_public_ip(s, &public_ip(s, &id("publicIPAddresses", "pip1")).unwrap()));
    assert_eq!(p["properties"]["ipConfiguration"]["id"], ipconfig);
    let g = read(&e, |s| render_nsg(s, &nsg(s, &id("networkSecurityGroups", "nsg1")).unwrap()));
    assert_eq!(g["properties"]["networkInterfaces"], json!([{"id": n.id}]));
    // In use: neither can be deleted.
    let c = developer();
    let err = e.write(|s, b| delete_public_ip(s, b, &c, (SUB, "rg1", "pip1"))).unwrap_err();
    assert_eq!(err.code(), "PublicIPAddressCannotBeDeleted");
    assert!(err.to_string().contains(&ipconfig), "{err}");
    let err = e.write(|s, b| delete_nsg(s, b, &c, (SUB, "rg1", "nsg1"))).unwrap_err();
    assert_eq!(err.code(), "InUseNetworkSecurityGroupCannotBeDeleted");
    // Rewriting the NIC with its own address is fine; another NIC may not take it.
    nic_put(&e, "nic1", Some("pip1"), Some("nsg1")).unwrap();
    assert_eq!(nic_put(&e, "nic2", Some("pip1"), None).unwrap_err().code(), "PublicIPAddressInUse");
    // Dropping the references (or the NIC) frees them: nothing to keep up to date.
    nic_put(&e, "nic1", None, Some("nsg1")).unwrap();
    let p = read(&e, |s| render_public_ip(s, &public_ip(s, &id("publicIPAddresses", "pip1")).unwrap()));
    assert!(p["properties"].get("ipConfiguration").is_none());
    e.write(|s, b| delete_nic(s, b, &c, (SUB, "rg1", "nic1"))).unwrap();
    assert!(e.write(|s, b| delete_nsg(s, b, &c, (SUB, "rg1", "nsg1"))).unwrap());
    assert!(e.write(|s, b| delete_public_ip(s, b, &c, (SUB, "rg1", "pip1"))).unwrap());
}

#[test]
fn a_nic_refuses_a_missing_or_foreign_public_ip_or_nsg() {
    let e = with_subnet();
    assert_eq!(nic_put(&e, "nic1", Some("nope"), None).unwrap_err().code(), "InvalidResourceReference");
    assert_eq!(nic_put(&e, "nic1", None, Some("nope")).unwrap_err().code(), "InvalidResourceReference");
    pip(&e, "far", json!({"location": "northeurope"})).unwrap();
    nsg_put(&e, "far", json!({"location": "northeurope"})).unwrap();
    assert_eq!(nic_put(&e, "nic1", Some("far"), None).unwrap_err().code(), "InvalidResourceReference");
    assert_eq!(nic_put(&e, "nic1", None, Some("far")).unwrap_err().code(), "InvalidResourceReference");
    assert!(read(&e, |s| nic(s, &id("networkInterfaces", "nic1"))).is_none());
}

#[test]
fn a_nic_stored_before_public_ips_and_nsgs_still_reads() {
    let old = json!({
        "id": id("networkInterfaces", "old"), "name": "old", "location": "westeurope", "tags": {},
        "subnetId": format!("{}/subnets/snet1", id("virtualNetworks", "vnet1")), "ipConfigurationName": "ipconfig1",
        "privateIpAddress": "10.0.0.4", "privateIpAllocationMethod": "Dynamic", "privateEndpointId": null,
        "privateLink": null, "resourceGuid": "g", "macAddress": "00-00-00-00-00-01", "etag": "W/\"1\"",
    });
    let n: NetworkInterface = serde_json::from_value(old).unwrap();
    assert_eq!((n.network_security_group_id, n.public_ip_address_id), (None, None));
}
