//! The whole state saved to a file and loaded back, and reset to a fresh instance's: what a test
//! suite seeds, saves and resets between tests (issue 20, part 3).
//!
//! A snapshot is every record as the store keeps it (its schema version and its JSON; secret and
//! key values stay sealed under the root key) and the check value of the root key that sealed
//! them (`rootkey`). Loading one replaces the whole state in one engine batch: every record not
//! in the snapshot is deleted, every record of it is put, so a reader sees the old state or the
//! new one, never a mix. A snapshot of another root key or of a newer schema is refused before
//! anything is written. Memories derived from the state are keyed by its generation (DNS answers)
//! or dropped here (opened keys: `kv::keys::forget_all`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Engine;
use crate::model::{Record, SCHEMA_VERSION, Stored};

/// What the file says it is, so that another JSON file is refused with a clear message.
pub const FORMAT: &str = "vaultlink-snapshot";

/// A snapshot file's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Snapshot {
    /// Always `FORMAT`.
    pub format: String,
    /// The newest record schema version in the file (`model::SCHEMA_VERSION` when saved).
    pub schema_version: u32,
    /// The check value of the root key that sealed the values (`Sealer::check_value`).
    pub root_key_check: String,
    /// Every record by its (lower-cased) key, as stored: `{"v": .., "kind": .., ...}`.
    pub records: BTreeMap<String, serde_json::Value>,
}

/// Why a snapshot was refused (nothing was changed), or the write failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a vaultlink snapshot (its \"format\" is {0:?}, expected {FORMAT:?})")]
    NotASnapshot(String),
    #[error(
        "the snapshot has schema version {found} but this vaultlink reads up to {SCHEMA_VERSION}; load it with a newer vaultlink"
    )]
    NewerSchema { found: u32 },
    #[error(
        "the snapshot was sealed under another root key (check value {snapshot}; this data directory's is {here}): \
         its secrets and keys would not open here. Load it on the data directory it came from, or with that \
         directory's root.key (VAULTLINK_ROOT_KEY)"
    )]
    OtherRootKey { snapshot: String, here: String },
    #[error("the snapshot's record {key} is unreadable: {reason}")]
    BadRecord { key: String, reason: String },
    #[error(transparent)]
    Engine(#[from] crate::Error),
}

/// How many records a load or reset left, and how many it deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Replaced {
    pub records: usize,
    pub deleted: usize,
}

/// The whole state as a snapshot sealed by the root key whose check value is `root_key_check`.
pub fn save(engine: &Engine, root_key_check: &str) -> Result<Snapshot, SnapshotError> {
    let records = engine.read(|s| {
        s.all()
            .map(|(k, r)| {
                let stored = Stored { v: SCHEMA_VERSION, record: r.clone() };
                serde_json::to_value(stored).map(|v| (k.clone(), v))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
    });
    let records = records.map_err(|e| crate::Error::internal(e.to_string()))?;
    Ok(Snapshot {
        format: FORMAT.into(),
        schema_version: SCHEMA_VERSION,
        root_key_check: root_key_check.into(),
        records,
    })
}

/// Replaces the whole state with the snapshot's, in one batch; refused, changing nothing, when it
/// was sealed under another root key than `root_key_check`'s or has a newer schema.
pub fn load(engine: &Engine, root_key_check: &str, snapshot: &Snapshot) -> Result<Replaced, SnapshotError> {
    if snapshot.format != FORMAT {
        return Err(SnapshotError::NotASnapshot(snapshot.format.clone()));
    }
    if snapshot.schema_version > SCHEMA_VERSION {
        return Err(SnapshotError::NewerSchema { found: snapshot.schema_version });
    }
    if snapshot.root_key_check != root_key_check {
        return Err(SnapshotError::OtherRootKey {
            snapshot: snapshot.root_key_check.clone(),
            here: root_key_check.into(),
        });
    }
    let mut records = BTreeMap::new();
    for (key, value) in &snapshot.records {
        let bad = |reason: String| SnapshotError::BadRecord { key: key.clone(), reason };
        if *key != key.to_ascii_lowercase() {
            return Err(bad("its key is not lower-case".into()));
        }
        let stored: Stored = serde_json::from_value(value.clone()).map_err(|e| bad(e.to_string()))?;
        if stored.v > SCHEMA_VERSION {
            return Err(SnapshotError::NewerSchema { found: stored.v });
        }
        records.insert(key.clone(), stored.record);
    }
    replace(engine, records)
}

/// Puts the state back to a fresh instance's: the bootstrap seed (tenant, subscription, seeded
/// principals with their secrets, their role assignments), in one batch. The seeded principals
/// keep their ids, so their tokens keep working; the root key's check value stays.
pub fn reset(engine: &Engine) -> Result<Replaced, SnapshotError> {
    replace(engine, fresh()?.clone())
}

/// Deletes every record not in `records` and puts every one of it, in one batch.
fn replace(engine: &Engine, records: BTreeMap<String, Record>) -> Result<Replaced, SnapshotError> {
    let replaced = engine.write(|state, batch| -> Result<Replaced, SnapshotError> {
        let mut deleted = 0;
        for (key, _) in state.all() {
            if !records.contains_key(key) {
                batch.delete(key);
                deleted += 1;
            }
        }
        for (key, record) in &records {
            batch.put(key, record.clone());
        }
        Ok(Replaced { records: records.len(), deleted })
    })?;
    // A loaded key may reuse a version id with other material: nothing opened before is kept.
    crate::kv::keys::forget_all();
    Ok(replaced)
}

/// The records a fresh instance starts with, made once per process (seeding hashes the
/// developer's client secret with Argon2id, which a reset in milliseconds cannot repeat).
fn fresh() -> Result<&'static BTreeMap<String, Record>, SnapshotError> {
    static FRESH: std::sync::OnceLock<BTreeMap<String, Record>> = std::sync::OnceLock::new();
    if let Some(records) = FRESH.get() {
        return Ok(records);
    }
    let engine = Engine::open(Box::new(vaultlink_store::MemoryStore))?;
    crate::bootstrap::seed(&engine)?;
    let records = engine.read(|s| s.all().map(|(k, r)| (k.clone(), r.clone())).collect());
    Ok(FRESH.get_or_init(|| records))
}

#[cfg(test)]
mod tests;
