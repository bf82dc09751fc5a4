//! vaultlink's core: the emulated Azure world and every rule about it.
//!
//! Architecture invariant: this crate knows nothing of HTTP, DNS wire formats or sockets. Surfaces
//! parse requests into the input shapes defined here, call one operation, and render the result
//! with the `render_*` functions here.

pub mod apiversion;
pub mod armops;
pub mod authz;
pub mod bootstrap;
pub mod compute;
pub mod deployments;
pub mod dns;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod firewall;
pub mod identity;
pub mod keyvault;
pub mod kv;
pub mod model;
pub mod netctx;
pub mod network;
pub mod privatedns;
pub mod privatelink;
pub mod quota;
pub mod ratelog;
pub mod rbac;
pub mod regions;
pub mod registry;
pub mod resources;
pub mod rootkey;
pub mod seed;
pub mod snapshot;
pub mod template;
pub mod wire;

#[cfg(test)]
mod scenarios;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;

pub use engine::{Batch, Engine, State};
pub use error::{Error, Result};
pub use identity::Caller;
