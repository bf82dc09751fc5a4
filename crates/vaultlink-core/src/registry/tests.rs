//! Provider registration: an unregistration passes through `Unregistering` to `Unregistered`,
//! and the provider's types list its published api-versions.

use super::*;
use crate::seed::SUBSCRIPTION_ID as SUB;
use crate::testing::{developer, world};

#[test]
fn namespaces_and_types_keep_azures_spelling_and_order() {
    assert_eq!(
        namespaces(),
        [
            "Microsoft.KeyVault",
            "Microsoft.Network",
            "Microsoft.Compute",
            "Microsoft.Authorization",
            "Microsoft.Resources"
        ]
    );
    assert_eq!(namespace("microsoft.keyvault"), Some("Microsoft.KeyVault"));
    let names: Vec<&str> = types_of("Microsoft.KeyVault").map(ResourceType::name).collect();
    assert_eq!(
        names,
        [
            "vaults",
            "vaults/secrets",
            "vaults/keys",
            "vaults/keys/versions",
            "deletedVaults",
            "locations",
            "operations",
            "checkNameAvailability"
        ]
    );
}

#[test]
fn unregistering_passes_through_unregistering_to_unregistered() {
    let e = world();
    let c = developer();
    let set = |register| e.write(|s, b| set_provider_registration(s, b, &c, SUB, "microsoft.keyvault", register));
    let state = || e.read(|s| provider(s, &c, SUB, "Microsoft.KeyVault")).unwrap()["registrationState"].clone();
    assert_eq!(state(), "Registered");
    assert_eq!(set(false).unwrap()["registrationState"], "Unregistering");
    assert_eq!(state(), "Unregistering");
    assert_eq!(
        e.read(|s| resources::require_provider(s, SUB, "Microsoft.KeyVault")).unwrap_err().code,
        "MissingSubscriptionRegistration"
    );
    e.clock().advance(UNREGISTERING_SECONDS);
    assert_eq!(state(), "Unregistered");
    // Unregistering again changes nothing; registering again clears the history.
    assert_eq!(set(false).unwrap()["registrationState"], "Unregistered");
    assert_eq!(set(true).unwrap()["registrationState"], "Registered");
    assert!(e.read(|s| resources::subscription(s, &c, SUB)).unwrap().unregistered_providers.is_empty());
    // A namespace vaultlink does not serve is no provider at all.
    assert_eq!(
        e.read(|s| provider(s, &c, SUB, "Microsoft.Storage")).map(|p| p["registrationState"].clone()).ok(),
        None
    );
}

#[test]
fn provider_types_list_the_published_api_versions_newest_first() {
    let e = world();
    let p = e.read(|s| provider(s, &developer(), SUB, "Microsoft.KeyVault")).unwrap();
    let vaults = p["resourceTypes"].as_array().unwrap().iter().find(|t| t["resourceType"] == "vaults").unwrap();
    assert_eq!(vaults["apiVersions"][0], "2026-05-15");
    assert!(vaults["apiVersions"].as_array().unwrap().iter().any(|v| v == "2026-02-01"));
    assert!(vaults["locations"].as_array().unwrap().iter().any(|l| l == "West Europe"));
}
