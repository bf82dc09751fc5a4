use super::*;
use proptest::prelude::*;
use serde::Deserialize;
use serde::de::IntoDeserializer;
use serde::de::value::{Error as DeError, StrDeserializer};

fn c(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn parse_and_display() {
    for s in ["10.0.0.0/16", "0.0.0.0/0", "255.255.255.255/32", "10.0.0.5/24", "192.168.1.0/24"] {
        assert_eq!(c(s).to_string(), s);
    }
    for s in [
        "",
        "10.0.0.0",
        "10.0.0.0/",
        "10.0.0.0/33",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0.0/08",
        "10.0.0.0/100",
        "010.0.0.0/8",
        "10.0.0/8",
        "10.0.0.0.0/8",
        "256.0.0.0/8",
        " 10.0.0.0/8",
        "10.0.0.0/8 ",
        "10.0.0.0/16/1",
        "::1/128",
        "vnet-001",
    ] {
        let e = s.parse::<Ipv4Cidr>().unwrap_err();
        assert_eq!(e.input(), s);
    }
    assert!(Ipv4Cidr::new(ip("1.2.3.4"), 33).is_err());
    assert_eq!(Ipv4Cidr::host(ip("1.2.3.4")).to_string(), "1.2.3.4/32");
}

#[test]
fn arithmetic() {
    let n = c("10.1.2.3/16");
    assert_eq!(n.addr(), ip("10.1.2.3"));
    assert_eq!(n.prefix_len(), 16);
    assert_eq!(n.network(), ip("10.1.0.0"));
    assert_eq!(n.broadcast(), ip("10.1.255.255"));
    assert_eq!(n.netmask(), ip("255.255.0.0"));
    assert_eq!(n.size(), 65536);
    assert!(n.has_host_bits());
    assert_eq!(n.trunc(), c("10.1.0.0/16"));
    assert!(!c("10.1.0.0/16").has_host_bits());
    let all = c("0.0.0.0/0");
    assert_eq!(all.size(), 1 << 32);
    assert_eq!(all.broadcast(), ip("255.255.255.255"));
    assert_eq!(all.netmask(), ip("0.0.0.0"));
    assert_eq!(c("1.2.3.4/32").size(), 1);
}

#[test]
fn containment_and_overlap() {
    let vnet = c("10.0.0.0/16");
    assert!(vnet.contains(&c("10.0.1.0/24")));
    assert!(vnet.contains(&vnet));
    assert!(!vnet.contains(&c("10.1.0.0/24")));
    assert!(!c("10.0.1.0/24").contains(&vnet));
    assert!(vnet.contains_addr(ip("10.0.255.255")));
    assert!(!vnet.contains_addr(ip("10.1.0.0")));
    assert!(c("10.0.0.0/26").overlaps(&c("10.0.0.32/27")));
    assert!(!c("10.0.0.0/27").overlaps(&c("10.0.0.32/27")));
    assert!(c("0.0.0.0/0").overlaps(&c("1.2.3.4/32")));
}

#[test]
fn rfc1918() {
    for s in
        ["10.0.0.0/8", "10.1.2.3/32", "172.16.0.0/12", "172.31.255.255/32", "192.168.1.0/24", "8.0.0.0/6", "0.0.0.0/0"]
    {
        assert!(is_rfc1918(&c(s)), "{s}");
    }
    for s in ["11.0.0.0/8", "172.15.255.255/32", "172.32.0.0/16", "192.169.0.0/16", "124.56.78.91/32"] {
        assert!(!is_rfc1918(&c(s)), "{s}");
    }
}

#[test]
fn nrp_address_prefix() {
    let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v";
    assert_eq!(address_prefix("10.0.0.0/16", id), Ok(c("10.0.0.0/16")));
    let e = address_prefix("10.0.0.0/160", id).unwrap_err();
    assert_eq!(e.code, "InvalidAddressPrefixFormat");
    assert_eq!(
        e.message,
        format!(
            "Address prefix 10.0.0.0/160 of resource {id} is not formatted correctly. It \
             should follow CIDR notation, for example 10.0.0.0/24."
        )
    );
    let e = address_prefix("10.216.52.0/21", id).unwrap_err();
    assert_eq!(e.code, "InvalidCIDRNotation");
    assert_eq!(
        e.message,
        format!(
            "The address prefix 10.216.52.0/21 in resource {id} has an invalid CIDR \
             notation. For the given prefix length, the address prefix should be \
             10.216.48.0/21."
        )
    );
}

#[test]
fn keyvault_rules_normalise() {
    assert_eq!(keyvault_ip_rule("124.56.78.91").unwrap().to_string(), "124.56.78.91/32");
    assert_eq!(keyvault_ip_rule("124.56.78.91/32").unwrap().to_string(), "124.56.78.91/32");
    assert_eq!(keyvault_ip_rule("2.3.4.0/24").unwrap().to_string(), "2.3.4.0/24");
    assert_eq!(keyvault_ip_rule("1.2.3.4/24").unwrap().to_string(), "1.2.3.4/24");
}

#[test]
fn keyvault_rules_reject_private() {
    let e = keyvault_ip_rule("10.0.0.0/8").unwrap_err();
    assert_eq!(e.code, "BadRequest");
    assert_eq!(
        e.message,
        "Invalid value found at properties.networkAcls.ipRules[0].value: 10.0.0.0/8 belongs \
         to forbidden range 10.0.0.0\u{2013}10.255.255.255 (private IP addresses)"
    );
    let e = keyvault_ip_rule_at(3, "172.20.10.5").unwrap_err();
    assert_eq!(
        e.message,
        "Invalid value found at properties.networkAcls.ipRules[3].value: 172.20.10.5/32 \
         belongs to forbidden range 172.16.0.0\u{2013}172.31.255.255 (private IP addresses)"
    );
    let e = keyvault_ip_rule("192.168.1.0/24").unwrap_err();
    assert!(e.message.contains("192.168.0.0\u{2013}192.168.255.255"));
    assert!(keyvault_ip_rule("0.0.0.0/0").is_err());
}

#[test]
fn keyvault_rules_reject_garbage_and_ipv6() {
    for s in ["2001:db8::1", "2001:db8::/32", "::1"] {
        let e = keyvault_ip_rule(s).unwrap_err();
        assert_eq!(e.code, "BadRequest");
        assert!(e.message.contains(s), "{}", e.message);
        assert!(e.message.contains("Only IPv4 addresses are supported at this time"));
    }
    for s in ["", "garbage", "1.2.3", "1.2.3.4/33", "1.2.3.4/", "300.1.1.1", " 1.2.3.4"] {
        let e = keyvault_ip_rule(s).unwrap_err();
        assert_eq!(e.code, "BadRequest");
        assert!(e.message.contains(&format!(": {s} is not a valid IPv4")), "{}", e.message);
    }
}

fn subnets(list: &[(&str, &str)]) -> Vec<(String, Ipv4Cidr)> {
    list.iter().map(|(n, p)| (n.to_string(), c(p))).collect()
}

#[test]
fn subnet_rules() {
    let space = [c("10.0.0.0/16"), c("10.2.0.0/24")];
    let existing = subnets(&[("default", "10.0.0.0/24"), ("pe", "10.0.1.0/27")]);
    let ok = |p: &str, name: &str| subnet_prefix_ok(&space, &existing, c(p), name, "vnet1");
    assert_eq!(ok("10.0.2.0/24", "app"), Ok(()));
    assert_eq!(ok("10.2.0.0/29", "tiny"), Ok(()));
    assert_eq!(ok("10.0.1.32/27", "next"), Ok(()));
    // Updating a subnet in place does not clash with its own old prefix.
    assert_eq!(ok("10.0.0.0/23", "default").unwrap_err().code, "NetcfgSubnetRangesOverlap");
    assert_eq!(ok("10.0.0.0/25", "DEFAULT"), Ok(()));

    let e = ok("10.1.0.0/24", "out").unwrap_err();
    assert_eq!(e.code, "NetcfgSubnetRangeOutsideVnet");
    assert_eq!(
        e.message,
        "Subnet 'out' is not valid because its IP address range is outside the IP address \
         range of virtual network 'vnet1'."
    );
    // Larger than any address-space prefix, or only partly inside one: outside.
    assert_eq!(ok("10.0.0.0/15", "wide").unwrap_err().code, "NetcfgSubnetRangeOutsideVnet");
    assert_eq!(ok("10.2.0.0/23", "half").unwrap_err().code, "NetcfgSubnetRangeOutsideVnet");

    let e = ok("10.0.0.128/25", "clash").unwrap_err();
    assert_eq!(e.code, "NetcfgSubnetRangesOverlap");
    assert_eq!(
        e.message,
        "Subnet 'clash' is not valid because its IP address range overlaps with that of an \
         existing subnet in virtual network 'vnet1'."
    );
    assert_eq!(overlapping_subnet(&existing, "clash", &c("10.0.1.16/28")), Some("pe"));
    assert_eq!(overlapping_subnet(&existing, "pe", &c("10.0.1.16/28")), None);

    for p in ["10.0.2.0/30", "10.0.2.0/31", "10.0.2.0/32"] {
        let e = ok(p, "small").unwrap_err();
        assert_eq!(e.code, "NetcfgInvalidSubnet");
        assert_eq!(e.message, "Subnet 'small' is not valid in virtual network 'vnet1'.");
    }
    let huge = subnet_prefix_ok(&[c("0.0.0.0/0")], &[], c("0.0.0.0/1"), "h", "v");
    assert_eq!(huge.unwrap_err().code, "NetcfgInvalidSubnet");
    assert_eq!(subnet_prefix_ok(&[c("0.0.0.0/0")], &[], c("64.0.0.0/2"), "h", "v"), Ok(()));
}

#[test]
fn vnet_address_spaces() {
    let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/hub";
    assert_eq!(vnet_address_space_ok(id, &[c("10.0.0.0/16"), c("10.1.0.0/16")]), Ok(()));
    let e = vnet_address_space_ok(id, &[]).unwrap_err();
    assert_eq!(e.code, "NetcfgInvalidVirtualNetworkSite");
    assert!(e.message.contains("'hub'"));
    let e = vnet_address_space_ok(id, &[c("10.0.0.0/16"), c("10.0.1.0/24")]).unwrap_err();
    assert_eq!(e.code, "NetcfgInvalidVirtualNetworkSite");
    assert!(e.message.contains("10.0.0.0/16 and 10.0.1.0/24"));
    let e = vnet_address_space_ok(id, &[c("10.0.0.0/16"), c("10.0.0.0/16")]).unwrap_err();
    assert_eq!(e.code, "NetcfgInvalidVirtualNetworkSite");
    let e = vnet_address_space_ok(id, &[c("10.0.0.1/16")]).unwrap_err();
    assert_eq!(e.code, "InvalidCIDRNotation");
    assert!(e.message.contains(id));
    assert!(e.message.ends_with("should be 10.0.0.0/16."));
}

#[test]
fn reserved_and_usable() {
    let s = c("10.0.0.0/24");
    assert_eq!(usable_range(&s), (ip("10.0.0.4"), ip("10.0.0.254")));
    assert_eq!(usable_count(&s), 251);
    assert_eq!(usable_count(&c("10.0.0.0/29")), 3);
    assert_eq!(usable_count(&c("10.0.0.0/30")), 0);
    assert_eq!(usable_count(&c("10.0.0.0/32")), 0);
    assert_eq!(usable_count(&c("255.255.255.252/30")), 0);
    assert_eq!(usable_count(&c("0.0.0.0/32")), 0);
    assert_eq!(usable_count(&c("0.0.0.0/0")), (1u64 << 32) - 5);
    for r in ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.255"] {
        assert!(is_reserved_address(&s, ip(r)), "{r}");
    }
    for r in ["10.0.0.4", "10.0.0.254", "10.0.1.0"] {
        assert!(!is_reserved_address(&s, ip(r)), "{r}");
    }
}

#[test]
fn dynamic_allocation() {
    let s = c("10.0.0.0/24");
    let mut used = BTreeSet::new();
    assert_eq!(next_free_address(&s, &used), Some(ip("10.0.0.4")));
    for i in 4..=9 {
        used.insert(Ipv4Addr::new(10, 0, 0, i));
    }
    assert_eq!(next_free_address(&s, &used), Some(ip("10.0.0.10")));
    used.insert(ip("10.0.0.12"));
    used.insert(ip("10.0.0.1"));
    used.insert(ip("9.9.9.9"));
    assert_eq!(next_free_address(&s, &used), Some(ip("10.0.0.10")));

    let tiny = c("10.0.0.8/29");
    let mut used: BTreeSet<_> = [ip("10.0.0.12"), ip("10.0.0.13")].into();
    assert_eq!(next_free_address(&tiny, &used), Some(ip("10.0.0.14")));
    used.insert(ip("10.0.0.14"));
    assert_eq!(next_free_address(&tiny, &used), None);
    assert_eq!(next_free_address(&c("10.0.0.0/30"), &BTreeSet::new()), None);
    // Host bits in the subnet value do not shift the range.
    assert_eq!(next_free_address(&c("10.0.0.77/24"), &BTreeSet::new()), Some(ip("10.0.0.4")));
    let top = c("255.255.255.248/29");
    let used: BTreeSet<_> = [ip("255.255.255.252"), ip("255.255.255.253")].into();
    assert_eq!(next_free_address(&top, &used), Some(ip("255.255.255.254")));
}

#[test]
fn static_allocation() {
    let s = c("10.30.20.0/27");
    let used: BTreeSet<_> = [ip("10.30.20.10")].into();
    assert_eq!(static_address_ok(&s, &used, ip("10.30.20.11")), Ok(()));
    let e = static_address_ok(&s, &used, ip("10.30.21.10")).unwrap_err();
    assert_eq!(e.code, "PrivateIPAddressNotInSubnet");
    assert_eq!(
        e.message,
        "Private static IP address 10.30.21.10 does not belong to the range of subnet prefix \
         10.30.20.0/27."
    );
    let e = static_address_ok(&s, &used, ip("10.30.20.1")).unwrap_err();
    assert_eq!(e.code, "PrivateIPAddressInReservedRange");
    assert_eq!(
        e.message,
        "Private static IP address 10.30.20.1 falls within reserved IP range of subnet \
         prefix 10.30.20.0/27."
    );
    assert_eq!(static_address_ok(&s, &used, ip("10.30.20.31")).unwrap_err().code, "PrivateIPAddressInReservedRange");
    let e = static_address_ok(&s, &used, ip("10.30.20.10")).unwrap_err();
    assert_eq!(e.code, "PrivateIPAddressIsAllocated");
    assert!(e.message.contains("10.30.20.10"));
}

#[test]
fn canned_errors() {
    let e = subnet_is_full("Subnet1", &c("10.0.0.0/24"));
    assert_eq!(e.code, "SubnetIsFull");
    assert_eq!(
        e.message,
        "Subnet Subnet1 with address prefix 10.0.0.0/24 does not have enough capacity for 1 \
         IP addresses."
    );
    let e = private_ip_allocated("/x/ipConfigurations/ipconfig1", ip("172.20.10.10"), "/y/nic-0");
    assert_eq!(e.code, "PrivateIPAddressIsAllocated");
    assert_eq!(
        e.message,
        "IP configuration /x/ipConfigurations/ipconfig1 is using the private IP address \
         172.20.10.10 which is already allocated to resource /y/nic-0."
    );
}

#[test]
fn serde_string_form() {
    let d: StrDeserializer<'_, DeError> = "10.0.0.0/16".into_deserializer();
    assert_eq!(Ipv4Cidr::deserialize(d), Ok(c("10.0.0.0/16")));
    let d: StrDeserializer<'_, DeError> = "10.0.0.0".into_deserializer();
    assert!(Ipv4Cidr::deserialize(d).is_err());
}

fn any_cidr() -> impl Strategy<Value = Ipv4Cidr> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, p)| Ipv4Cidr::new(Ipv4Addr::from(a), p).unwrap())
}

/// Prefixes inside 10.0.0.0/23 with at most 512 addresses, for brute-force comparison.
fn small_cidr() -> impl Strategy<Value = Ipv4Cidr> {
    (0u32..512, 23u8..=32).prop_map(|(off, p)| Ipv4Cidr::new(Ipv4Addr::from(0x0a00_0000 + off), p).unwrap())
}

fn addr_set(cidr: &Ipv4Cidr) -> BTreeSet<u32> {
    (u32::from(cidr.network())..=u32::from(cidr.broadcast())).collect()
}

proptest! {
    #[test]
    fn parse_display_round_trip(cidr in any_cidr()) {
        let text = cidr.to_string();
        prop_assert_eq!(text.parse::<Ipv4Cidr>(), Ok(cidr));
    }

    #[test]
    fn overlap_is_symmetric(a in any_cidr(), b in any_cidr()) {
        prop_assert_eq!(a.overlaps(&b), b.overlaps(&a));
        prop_assert!(a.overlaps(&a));
        if a.contains(&b) {
            prop_assert!(a.overlaps(&b));
        }
    }

    #[test]
    fn contains_and_overlaps_match_brute_force(a in small_cidr(), b in small_cidr(), probe in 0x0a00_0000u32..0x0a00_0200) {
        let (sa, sb) = (addr_set(&a), addr_set(&b));
        prop_assert_eq!(a.contains(&b), sb.is_subset(&sa));
        prop_assert_eq!(a.overlaps(&b), !sa.is_disjoint(&sb));
        prop_assert_eq!(a.contains_addr(Ipv4Addr::from(probe)), sa.contains(&probe));
        prop_assert_eq!(a.size(), sa.len() as u64);
    }

    #[test]
    fn next_free_is_free_usable_and_lowest(
        base in any::<u32>(),
        prefix in 22u8..=30,
        picks in proptest::collection::vec(0u32..1100, 0..300),
    ) {
        let subnet = Ipv4Cidr::new(Ipv4Addr::from(base), prefix).unwrap();
        let start = u32::from(subnet.network());
        // Mostly inside the subnet, some beyond it (ignored by the allocator).
        let used: BTreeSet<Ipv4Addr> =
            picks.iter().map(|o| Ipv4Addr::from(start.wrapping_add(*o))).collect();
        let (first, last) = usable_range(&subnet);
        match next_free_address(&subnet, &used) {
            Some(a) => {
                prop_assert!(subnet.contains_addr(a));
                prop_assert!(!is_reserved_address(&subnet, a));
                prop_assert!(!used.contains(&a));
                prop_assert!(first <= a && a <= last);
                for lower in u32::from(first)..u32::from(a) {
                    prop_assert!(used.contains(&Ipv4Addr::from(lower)));
                }
                prop_assert_eq!(static_address_ok(&subnet, &used, a), Ok(()));
            }
            None => {
                if first <= last {
                    for x in u32::from(first)..=u32::from(last) {
                        prop_assert!(used.contains(&Ipv4Addr::from(x)));
                    }
                }
            }
        }
    }

    #[test]
    fn keyvault_rule_accepts_public_ipv4(a in any::<u32>()) {
        let addr = Ipv4Addr::from(a);
        let r = keyvault_ip_rule(&addr.to_string());
        if is_rfc1918(&Ipv4Cidr::host(addr)) {
            prop_assert_eq!(r.unwrap_err().code, "BadRequest");
        } else {
            prop_assert_eq!(r.unwrap().to_string(), format!("{addr}/32"));
        }
    }
}
