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
