//! The api-version policy: the tables are well-formed, and each rule refuses or serves as stated.

use super::*;

#[test]
fn tables_are_published_versions_oldest_first() {
    for (ns, _) in ARM {
        let list = arm_versions(ns);
        assert!(list.len() > 3, "{ns}");
        let keys: Vec<_> = list.iter().map(|v| dated(v).unwrap_or_else(|| panic!("{ns}: {v} malformed"))).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{ns}: not strictly oldest first");
    }
    assert_eq!(DATA_PLANE.iter().collect::<BTreeSet<_>>().len(), DATA_PLANE.len());
    assert_eq!(data_plane_latest(), "2026-04-01");
}

#[test]
fn arm_refuses_missing_malformed_and_too_old() {
    assert_eq!(arm("microsoft.keyvault", None).unwrap_err().code, "MissingApiVersionParameter");
    for bad in ["", "latest", "2026-13-01", "2026-02-32", "2026-2-01", "2026-02-01-rc", "2026-02-01x", "７０２６-01-01"]
    {
        let e = arm("microsoft.keyvault", Some(bad)).unwrap_err();
        assert_eq!(e.code, "InvalidApiVersionParameter", "{bad}");
        assert!(e.message.contains("'2026-05-15,2026-04-01,2026-04-01-preview,"), "{}", e.message);
    }
    let e = arm("microsoft.keyvault", Some("2014-12-01")).unwrap_err();
    assert_eq!(e.code, "NoRegisteredProviderFound");
    assert!(e.message.contains("The supported api-versions are '2015-06-01, 2016-10-01, "), "{}", e.message);
    assert!(arm("microsoft.network", Some("2015-06-14")).is_err());
    assert!(arm("microsoft.network", Some("2015-06-15")).is_ok());
}

#[test]
fn arm_serves_a_newer_version_as_the_newest_known() {
    assert_eq!(arm("microsoft.keyvault", Some("2026-06-01")).unwrap(), "2026-05-15");
    assert_eq!(arm("microsoft.keyvault", Some("2027-01-01-preview")).unwrap(), "2026-05-15");
    assert_eq!(arm("microsoft.network", Some("2030-12-31")).unwrap(), "2026-03-01");
    assert_eq!(arm("microsoft.resources", Some("2026-01-01")).unwrap(), "2025-04-01");
    // Published and in-range versions are served as asked.
    assert_eq!(arm("microsoft.keyvault", Some("2026-02-01")).unwrap(), "2026-02-01");
    assert_eq!(arm("microsoft.keyvault", Some("2026-05-15")).unwrap(), "2026-05-15");
    assert_eq!(arm("microsoft.keyvault", Some("2023-08-01-preview")).unwrap(), "2023-08-01-preview");
    assert_eq!(arm("microsoft.network", Some("2024-02-15")).unwrap(), "2024-02-15");
}

#[test]
fn data_plane_knows_its_versions_and_serves_newer_dated_ones_as_the_latest() {
    assert_eq!(data_plane(Some("7.4")).unwrap(), "7.4");
    assert_eq!(data_plane(Some("2026-04-01")).unwrap(), "2026-04-01");
    assert_eq!(data_plane(Some("7.6-preview.2")).unwrap(), "7.6-preview.2");
    assert_eq!(data_plane(Some("2026-09-01")).unwrap(), "2026-04-01");
    assert_eq!(data_plane(Some("2027-01-01-preview")).unwrap(), "2026-04-01");
    assert_eq!(data_plane(None).unwrap_err().code, "BadParameter");
    assert_eq!(data_plane(Some("")).unwrap_err().code, "BadParameter");
    for refused in ["9.9", "7.7", "2025-01-01", "2014-01-01", "latest", "2026-04-01-rc"] {
        let e = data_plane(Some(refused)).unwrap_err();
        assert_eq!(e.code, "BadParameter", "{refused}");
        assert!(e.message.contains(&format!("The specified version ({refused}) is not recognized.")), "{}", e.message);
    }
}

#[test]
fn a_long_version_is_refused_and_shown_cut() {
    let long = format!("2024-01-01{}", "x".repeat(10_000));
    let e = arm("microsoft.keyvault", Some(&long)).unwrap_err();
    assert_eq!(e.code(), "InvalidApiVersionParameter");
    assert!(
        e.message.len() < 2000 && e.message.contains(&format!("'{}...'", &long[..MAX_API_VERSION_SHOWN])),
        "{}",
        e.message
    );
    let e = data_plane(Some(&long)).unwrap_err();
    assert!(e.message.contains(&format!("({}...)", &long[..MAX_API_VERSION_SHOWN])), "{}", e.message);
    // A published version is shown whole.
    assert!(arm("microsoft.keyvault", Some("2024-01-0")).unwrap_err().message.contains("'2024-01-0'"));
}

/// `az vm create`'s template: its NSG at 2015-06-15, its public IP and NIC at the network
/// profile's version (2022-01-01 in older az, 2024-xx in newer), all served as asked.
#[test]
fn the_network_versions_az_vm_create_sends_are_served() {
    for v in ["2015-06-15", "2022-01-01", "2024-03-01", "2024-05-01", "2024-07-01"] {
        assert_eq!(arm("microsoft.network", Some(v)).unwrap(), v);
    }
}
