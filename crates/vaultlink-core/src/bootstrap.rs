//! The one step that writes what a fresh instance starts with (the `seed` ids), which whoever
//! opens an engine calls right after `Engine::open`: `serve` and every test helper. It sits
//! above identity, resources and rbac, which know only the ids.

use crate::{Engine, Result};

/// Writes what a fresh instance needs, in one batch: the developer principal and the managed
/// identity, the subscription, and the developer's Owner and Key Vault Administrator assignments
/// on it. Each part writes only what the state lacks, so seeding a reopened data directory writes
/// nothing (it still waits, as any write does, for the sync of batches appended before it).
pub fn seed(engine: &Engine) -> Result<()> {
    engine.write(|state, batch| -> Result<()> {
        crate::identity::seed(state, batch);
        crate::resources::seed(state, batch);
        crate::rbac::seed(state, batch);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    /// A fresh store is seeded once; seeding it again, or seeding the reopened data directory,
    /// writes nothing.
    #[test]
    fn seeding_a_reopened_data_directory_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let open = || crate::Engine::open(Box::new(vaultlink_store::SqliteStore::open(&path).unwrap())).unwrap();
        let records = {
            let e = open();
            assert!(e.read(|s| s.is_empty()));
            super::seed(&e).unwrap();
            let records = e.read(|s| s.all().map(|(k, _)| k.to_string()).collect::<Vec<_>>());
            assert!(e.read(|s| s.get(&crate::resources::subscription_id(crate::seed::SUBSCRIPTION_ID)).is_some()));
            let syncs = e.store_syncs();
            super::seed(&e).unwrap();
            assert_eq!(e.store_syncs(), syncs, "a seeded state is not written again");
            records
        };
        let e = open();
        super::seed(&e).unwrap();
        assert_eq!(e.store_syncs(), 0, "a reopened data directory is not re-seeded");
        assert_eq!(e.read(|s| s.all().map(|(k, _)| k.to_string()).collect::<Vec<_>>()), records);
    }
}
