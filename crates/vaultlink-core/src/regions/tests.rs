//! The region table: names, codes and addresses are unique, and every pair is mutual and known.

use std::collections::BTreeSet;

use super::*;

#[test]
fn names_codes_and_octets_are_unique_and_pairs_are_known() {
    let mut names = BTreeSet::new();
    let mut codes = BTreeSet::new();
    let mut octets = BTreeSet::new();
    for r in PHYSICAL {
        assert!(names.insert(r.name), "{}: duplicate", r.name);
        assert!(codes.insert(r.code), "{}: duplicate code", r.name);
        assert!(octets.insert(r.octet), "{}: duplicate octet", r.name);
        assert!(r.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{}", r.name);
        for p in r.paired {
            // Azure's one-way pairs: the partner region is paired with another.
            let one_way = [
                ("westus3", "eastus"),
                ("brazilsouth", "southcentralus"),
                ("westindia", "southindia"),
                ("brazilsoutheast", "brazilsouth"),
            ];
            let mutual = physical(p).is_some_and(|q| q.paired.contains(&r.name));
            assert!(mutual || one_way.contains(&(r.name, *p)), "{} -> {p}", r.name);
        }
    }
    for (name, _) in LOGICAL {
        assert!(physical(name).is_none() && names.insert(name), "{name}: logical and physical");
    }
    assert!(physical("centraluseuap").is_some() && physical("eastus2euap").is_some());
}

#[test]
fn the_list_renders_display_names_and_pairs() {
    let all = render_all("s1");
    let weu = all.iter().find(|r| r["name"] == "westeurope").unwrap();
    assert_eq!(weu["displayName"], "West Europe");
    assert_eq!(weu["regionalDisplayName"], "(Europe) West Europe");
    assert_eq!(weu["metadata"]["pairedRegion"][0]["name"], "northeurope");
    assert_eq!(weu["metadata"]["pairedRegion"][0]["id"], "/subscriptions/s1/locations/northeurope");
    let euap = all.iter().find(|r| r["name"] == "centraluseuap").unwrap();
    assert_eq!(euap["metadata"]["pairedRegion"][0]["name"], "eastus2euap");
    let us = all.iter().find(|r| r["name"] == "unitedstates").unwrap();
    assert_eq!(us["metadata"]["regionType"], "Logical");
    assert_eq!(all.len(), PHYSICAL.len() + LOGICAL.len());
}
