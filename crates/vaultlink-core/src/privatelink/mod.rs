//! Private Link: a private endpoint in a subnet (`endpoint.rs`), the connection it asks of the
//! vault with its approval state machine (`connections.rs`), and the private DNS zone groups that
//! write its address into zones (`zonegroups.rs`). Builds on `network` and `privatedns`; neither
//! imports this folder.

pub mod connections;
mod endpoint;
pub mod zonegroups;

pub use endpoint::*;
