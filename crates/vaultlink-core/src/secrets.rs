//! Key Vault data-plane objects that belong to a vault, keyed by the vault's internal id.

use crate::engine::{Batch, State};

/// The key prefix under which a vault's data-plane objects live.
pub fn objects_root(vault_internal_id: &str) -> String {
    format!("/vaultdata/{vault_internal_id}")
}

/// Removes every object of a vault (on purge, or delete without soft delete).
pub(crate) fn purge_vault_objects(state: &State, batch: &mut Batch, vault_internal_id: &str) {
    batch.delete_tree(state, &objects_root(vault_internal_id));
}
