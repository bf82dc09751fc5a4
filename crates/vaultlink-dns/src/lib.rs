//! vaultlink's DNS surface: Azure DNS over UDP and TCP, one view per asker.
//!
//! The answers come from `vaultlink_core::dns` (the rules); this crate is the wire format
//! ([`handle_packet`], pure) and the listeners ([`serve`]).
//!
//! Architecture invariant: no DNS decision is made here beyond the wire protocol's own rules;
//! which records a name has, for whom, is `vaultlink_core::dns::answer`'s business.
//!
//! hickory-proto does the message encoding. hickory-server's `Server` is not used: it parses
//! messages and answers malformed ones itself, and its response handlers take typed messages, not
//! bytes, so the pure `handle_packet` (the fuzzed function) could not be what it serves.

mod packet;
mod server;

pub use packet::{TCP_LIMIT, UDP_PAYLOAD, handle_packet};
pub use server::{MAX_TCP_CONNECTIONS, TCP_IDLE, UDP_READERS, ViewFn, serve};
