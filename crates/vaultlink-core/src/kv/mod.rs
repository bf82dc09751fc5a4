//! The Key Vault data plane: its shared rules here (its error shape, authorization
//! of an operation by RBAC or access policies, throttling), and one module per object kind over
//! the lifecycle they share (`objects`).

mod admit;
pub mod certificates;
pub mod keys;
pub mod objects;
mod operation;
pub mod secrets;
mod throttle;

pub use admit::{Admitted, Ask, admit, authorize, refuse_unserved, vault_not_found};
pub use operation::{CertificateOp, DeletedOp, KeyOp, Operation, Permission, SecretOp};
pub use throttle::{Throttle, TxClass};

/// What [`due_work`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DueWork {
    /// Soft-deleted vaults and objects purged once their retention ended.
    pub purged: usize,
    /// Keys rotated by their rotation policy's `Rotate` action.
    pub rotated: usize,
    /// Self-signed certificates renewed by their policy's `AutoRenew` action.
    pub renewed: usize,
}

/// What Key Vault does by itself as time passes, in one batch: purges what soft delete kept
/// past its retention (`keyvault::purge_due`), rotates keys whose rotation policy's `Rotate`
/// action is due, and renews self-signed certificates whose `AutoRenew` action is due. Run after
/// every move of the engine's clock and every minute (`crates/vaultlink/src/clock.rs`).
pub fn due_work(state: &crate::State, batch: &mut crate::engine::Batch, sealer: &vaultlink_crypto::Sealer) -> DueWork {
    let mut done = DueWork { purged: crate::keyvault::purge_due(state, batch), ..DueWork::default() };
    for record in state.of_kind(crate::model::RecordKind::Vault) {
        if let crate::model::Record::Vault(v) = record {
            done.rotated += keys::rotate_due(state, batch, sealer, v);
            done.renewed += certificates::renew_due(state, batch, sealer, v);
        }
    }
    done
}
