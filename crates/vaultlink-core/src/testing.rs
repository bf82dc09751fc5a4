//! The one test world every crate's tests build on (the `testing` feature for crates other than
//! the core): a fresh in-memory engine, seeded, with the developer as caller, a resource group
//! and the Key Vault provider registered; vaults on request.

use serde_json::json;

use crate::identity::Caller;
use crate::model::Vault;
use crate::{Engine, keyvault, registry, resources, seed};

pub fn developer() -> Caller {
    Caller {
        tenant_id: seed::TENANT_ID.into(),
        object_id: seed::DEV_OBJECT_ID.into(),
        app_id: seed::DEV_CLIENT_ID.into(),
    }
}

/// An engine with resource group `rg1` (westeurope) and the KeyVault provider registered.
pub fn world() -> Engine {
    world_with_group("rg1")
}

/// An engine with resource group `rg` (westeurope) and the KeyVault provider registered.
pub fn world_with_group(rg: &str) -> Engine {
    world_on(Box::new(vaultlink_store::MemoryStore), rg)
}

/// The test world over a given (fresh) store, a `SqliteStore` for tests of what persists: resource
/// group `rg` and the KeyVault provider registered.
pub fn world_on(store: Box<dyn vaultlink_store::Store>, rg: &str) -> Engine {
    let e = Engine::open(store).unwrap();
    crate::bootstrap::seed(&e).unwrap();
    let c = developer();
    e.write(|s, b| -> crate::Result<()> {
        resources::put_resource_group(
            s,
            b,
            &c,
            seed::SUBSCRIPTION_ID,
            rg,
            crate::wire::parse(json!({"location": "westeurope"}))?,
        )?;
        registry::set_provider_registration(s, b, &c, seed::SUBSCRIPTION_ID, "Microsoft.KeyVault", true)?;
        Ok(())
    })
    .unwrap();
    e
}

/// A vault as a data-plane operation sees it once admitted (`kv::admit` has its own tests).
pub fn admitted_vault(e: &Engine, name: &str, extra: serde_json::Value) -> crate::kv::Admitted {
    crate::kv::Admitted::assume(vault(e, name, extra))
}

/// Creates a vault in `rg1` with the given extra properties.
pub fn vault(e: &Engine, name: &str, extra: serde_json::Value) -> Vault {
    let c = developer();
    let mut props = json!({"tenantId": seed::TENANT_ID, "sku": {"family": "A", "name": "standard"}});
    if let (Some(p), Some(x)) = (props.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            p.insert(k.clone(), v.clone());
        }
    }
    let spec = crate::wire::parse(json!({"location": "westeurope", "properties": props})).unwrap();
    e.write(|s, b| keyvault::put_vault(s, b, &c, (seed::SUBSCRIPTION_ID, "rg1", name), "2026-02-01", spec))
        .unwrap()
        .vault
}

/// A Microsoft.Network body parsed into its typed input, as the ARM surface parses it (with
/// Microsoft.Network's wording of a shape error).
pub fn net<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> crate::Result<T> {
    crate::wire::parse_for(crate::wire::Provider::Network, body)
}
