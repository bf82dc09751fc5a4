//! Which root key sealed the state: its check value (`Sealer::check_value`, never the key) is
//! recorded in the store the first time a key is used, and every later start compares it, so a
//! start with another key, or with none, is refused rather than answering 500 for every existing
//! secret while sealing new ones under the new key (issue 16, item 1).
//!
//! A state from before check values has none: it is given one if the values it holds open with
//! the key it is started with, and refused if any does not (counting them, since such a state may
//! already mix two keys). The messages (which file or variable to fix, how to restore) are the
//! binary's: it knows where the key came from.

use vaultlink_crypto::Sealer;

use crate::Engine;
use crate::error::Result;
use crate::model::{Record, RecordKind};

/// The name of the check value in the store's metadata (`Store::meta`).
pub const KEY_CHECK: &str = "root-key-check";

/// What the state says about the root key it needs, before any key is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needs {
    /// The check value of the key that sealed it.
    Recorded(String),
    /// No check value, but sealed values: the key that sealed them (a state from before check values).
    Unrecorded,
    /// Nothing sealed and no check value: any key will do, a new one too.
    Any,
}

/// The outcome of comparing a root key with the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The state records this key's check value.
    Matches,
    /// The state had no check value and nothing sealed: this key's is now recorded.
    Recorded,
    /// The state had no check value; all its `opened` sealed values open with this key, whose
    /// check value is now recorded.
    Adopted { opened: usize },
    /// The state records another key's check value.
    Mismatch { recorded: String, current: String },
    /// The state had no check value and `failed` of its `total` sealed values do not open with
    /// this key (nothing is recorded).
    DoesNotOpen { failed: usize, total: usize },
}

impl Verdict {
    /// True when the state may be served with this key.
    pub fn accepted(&self) -> bool {
        matches!(self, Self::Matches | Self::Recorded | Self::Adopted { .. })
    }
}

/// What root key the state needs (read before a key is loaded, so that none is made for a state
/// that needs an existing one).
pub fn needs(engine: &Engine) -> Result<Needs> {
    if let Some(recorded) = engine.meta(KEY_CHECK)? {
        return Ok(Needs::Recorded(String::from_utf8_lossy(&recorded).into_owned()));
    }
    let sealed = engine.read(|s| {
        s.of_kind(RecordKind::Secret).chain(s.of_kind(RecordKind::Key)).any(|r| match r {
            Record::Secret(o) => !o.versions.is_empty(),
            Record::Key(o) => !o.versions.is_empty(),
            _ => false,
        })
    });
    Ok(if sealed { Needs::Unrecorded } else { Needs::Any })
}

/// Compares `sealer`'s key with the state, recording its check value when the state has none
/// and nothing in it says another key sealed it.
pub fn verify(engine: &Engine, sealer: &Sealer) -> Result<Verdict> {
    let current = sealer.check_value().to_string();
    if let Some(recorded) = engine.meta(KEY_CHECK)? {
        let recorded = String::from_utf8_lossy(&recorded).into_owned();
        return Ok(if recorded == current { Verdict::Matches } else { Verdict::Mismatch { recorded, current } });
    }
    // One AES-GCM open per stored value, once per state (the check value is recorded after).
    let (opened, total) = engine.read(|s| {
        let mut results = Vec::new();
        for r in s.of_kind(RecordKind::Secret).chain(s.of_kind(RecordKind::Key)) {
            match r {
                Record::Secret(o) => results.extend(crate::kv::secrets::opens(sealer, o)),
                Record::Key(o) => results.extend(crate::kv::keys::opens(sealer, o)),
                _ => {}
            }
        }
        (results.iter().filter(|ok| **ok).count(), results.len())
    });
    if opened < total {
        return Ok(Verdict::DoesNotOpen { failed: total - opened, total });
    }
    engine.set_meta(KEY_CHECK, current.as_bytes())?;
    Ok(if total == 0 { Verdict::Recorded } else { Verdict::Adopted { opened } })
}

#[cfg(test)]
mod tests;
