//! The whole state saved to a file and loaded back, and reset to a fresh instance's: what a test
//! suite seeds, saves and resets between tests (issue 20, part 3).
//!
//! A snapshot is every record as the store keeps it (its schema version and its JSON; secret and
//! key values stay sealed under the root key) and the check value of the root key that sealed
//! them (`rootkey`). Loading one replaces the whole state in one engine batch: every record not
//! in the snapshot is deleted, every record of it is put, so a reader sees the old state or the
//! new one, never a mix. A snapshot of another root key or of a newer schema is refused before
//! anything is written. Saved with a passphrase (`seal_with_passphrase`), every sealed field is
//! sealed again under a key derived from it (Argon2id), so the snapshot loads into a data
//! directory with another root key (`open_with_passphrase` seals it under that one). Memories derived from the state are keyed by its generation (DNS answers)
//! or dropped here (opened keys: `kv::keys::forget_all`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use vaultlink_crypto::Sealer;

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
    /// Present when the values are sealed under a passphrase rather than the root key: how the
    /// passphrase's key is derived (`root_key_check` is then that key's check value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<PassphraseKey>,
}

/// How a snapshot's passphrase becomes its key: Argon2id with this salt and cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PassphraseKey {
    /// Always `argon2id`.
    pub kdf: String,
    /// Base64url of 16 random bytes.
    pub salt: String,
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// The cost of a passphrase key (OWASP's first Argon2id setting: 46 MiB, one pass, one lane;
/// well under a second here, once per save or load).
const PASSPHRASE_COST: (u32, u32, u32) = (47_104, 1, 1);

/// The shortest passphrase a snapshot takes.
pub const PASSPHRASE_MIN: usize = 12;

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
    #[error(
        "the snapshot is sealed under a passphrase: load it with --passphrase-file (a file holding the passphrase it was saved with)"
    )]
    NeedsPassphrase,
    #[error("the passphrase does not open this snapshot (it was saved with another one)")]
    WrongPassphrase,
    #[error("the snapshot is not sealed under a passphrase: load it without --passphrase-file")]
    NoPassphrase,
    #[error("a snapshot passphrase must be at least {PASSPHRASE_MIN} characters")]
    ShortPassphrase,
    #[error("the snapshot's passphrase key is not usable: {0}")]
    BadPassphraseKey(String),
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
                let stored = crate::model::StoredRef { v: SCHEMA_VERSION, record: r };
                serde_json::to_value(stored).map(|v| (k.to_string(), v))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
    });
    let records = records.map_err(|e| crate::Error::internal(e.to_string()))?;
    Ok(Snapshot {
        format: FORMAT.into(),
        schema_version: SCHEMA_VERSION,
        root_key_check: root_key_check.into(),
        records,
        passphrase: None,
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
    if snapshot.passphrase.is_some() {
        return Err(SnapshotError::NeedsPassphrase);
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

/// `snapshot` (sealed under `root`) with every sealed value sealed again under a key derived
/// from `passphrase`, so that it loads into a data directory with another root key.
pub fn seal_with_passphrase(snapshot: &mut Snapshot, root: &Sealer, passphrase: &[u8]) -> Result<(), SnapshotError> {
    if snapshot.passphrase.is_some() {
        return Err(SnapshotError::BadPassphraseKey("the snapshot is sealed under a passphrase already".into()));
    }
    if passphrase.len() < PASSPHRASE_MIN {
        return Err(SnapshotError::ShortPassphrase);
    }
    let (memory_kib, iterations, parallelism) = PASSPHRASE_COST;
    let kdf = PassphraseKey {
        kdf: "argon2id".into(),
        salt: vaultlink_crypto::b64url(&vaultlink_crypto::random_bytes(16)),
        memory_kib,
        iterations,
        parallelism,
    };
    let key = passphrase_sealer(&kdf, passphrase)?;
    reseal_all(snapshot, root, &key)?;
    snapshot.root_key_check = key.check_value().to_string();
    snapshot.passphrase = Some(kdf);
    Ok(())
}

/// A passphrase-sealed `snapshot` opened with `passphrase` and sealed again under `root`: a
/// snapshot [`load`] takes on `root`'s data directory.
pub fn open_with_passphrase(snapshot: &mut Snapshot, root: &Sealer, passphrase: &[u8]) -> Result<(), SnapshotError> {
    let Some(kdf) = snapshot.passphrase.clone() else { return Err(SnapshotError::NoPassphrase) };
    let key = passphrase_sealer(&kdf, passphrase)?;
    if key.check_value() != snapshot.root_key_check {
        return Err(SnapshotError::WrongPassphrase);
    }
    reseal_all(snapshot, &key, root)?;
    snapshot.root_key_check = root.check_value().to_string();
    snapshot.passphrase = None;
    Ok(())
}

fn passphrase_sealer(kdf: &PassphraseKey, passphrase: &[u8]) -> Result<Sealer, SnapshotError> {
    let bad = |m: String| SnapshotError::BadPassphraseKey(m);
    if kdf.kdf != "argon2id" {
        return Err(bad(format!("unknown key derivation {:?} (expected \"argon2id\")", kdf.kdf)));
    }
    // A file names its own cost; a bound keeps a hostile one from taking the machine's memory.
    if kdf.memory_kib > 1 << 20 || kdf.iterations > 64 || kdf.parallelism > 16 {
        return Err(bad("its Argon2id cost is beyond 1 GiB, 64 passes or 16 lanes".into()));
    }
    let salt = vaultlink_crypto::b64url_decode(&kdf.salt).map_err(|_| bad("its salt is not base64url".into()))?;
    Sealer::from_passphrase(passphrase, &salt, kdf.memory_kib, kdf.iterations, kdf.parallelism)
        .map_err(|e| bad(e.to_string()))
}

/// Every sealed field of every record of `snapshot`, opened with `from` and sealed with `to`;
/// all or nothing (the snapshot is changed only when every field opened).
fn reseal_all(snapshot: &mut Snapshot, from: &Sealer, to: &Sealer) -> Result<(), SnapshotError> {
    let mut out = BTreeMap::new();
    for (key, value) in &snapshot.records {
        let bad = |reason: String| SnapshotError::BadRecord { key: key.clone(), reason };
        let mut stored: Stored = serde_json::from_value(value.clone()).map_err(|e| bad(e.to_string()))?;
        let sealed = match &mut stored.record {
            Record::Secret(o) => crate::kv::secrets::reseal(o, from, to),
            Record::Key(o) => crate::kv::keys::reseal(o, from, to),
            Record::Certificate(o) => crate::kv::certificates::reseal(o, from, to),
            Record::CertificateIssuer(i) => crate::kv::certificates::reseal_issuer(i, from, to),
            Record::Deployment(d) => crate::deployments::reseal(d, from, to),
            _ => Ok(()),
        };
        sealed.map_err(|e| bad(e.message))?;
        out.insert(key.clone(), serde_json::to_value(stored).map_err(|e| bad(e.to_string()))?);
    }
    snapshot.records = out;
    Ok(())
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
    let records = engine.read(|s| s.all().map(|(k, r)| (k.to_string(), r.clone())).collect());
    Ok(FRESH.get_or_init(|| records))
}

#[cfg(test)]
mod tests;
