//! The engine: live state in memory, every change written to the store before it is applied.
//!
//! Operations read the current `State` and describe their changes in a `Batch`; the engine
//! writes the batch to the store (durably) and only then applies it in memory. An operation that
//! fails leaves both untouched: no partial writes.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use vaultlink_store::{Op, Store};

use crate::error::{Error, Result};
use crate::model::{Record, SCHEMA_VERSION, Stored};

/// The whole emulated world, keyed by lower-cased id.
#[derive(Debug, Default, Clone)]
pub struct State {
    records: BTreeMap<String, Record>,
}

impl State {
    /// The record with this id (any casing).
    pub fn get(&self, id: &str) -> Option<&Record> {
        self.records.get(&id.to_ascii_lowercase())
    }

    /// Records strictly below `id` in the hierarchy (keys starting with `id/`), in key order.
    pub fn descendants<'a>(&'a self, id: &str) -> impl Iterator<Item = (&'a String, &'a Record)> + 'a {
        let prefix = format!("{}/", id.to_ascii_lowercase());
        let start = prefix.clone();
        self.records
            .range::<String, _>((Bound::Included(start), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(&prefix))
    }

    /// Every record, in key order.
    pub fn all(&self) -> impl Iterator<Item = (&String, &Record)> {
        self.records.iter()
    }

    /// Number of records (for start-up logs and tests).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn apply(&mut self, changes: Vec<(String, Option<Record>)>) {
        for (key, record) in changes {
            match record {
                Some(r) => {
                    self.records.insert(key, r);
                }
                None => {
                    self.records.remove(&key);
                }
            }
        }
    }
}

/// Changes an operation wants to make; applied all together or not at all.
#[derive(Debug, Default)]
pub struct Batch {
    changes: Vec<(String, Option<Record>)>,
}

impl Batch {
    /// Insert or replace the record under `id`.
    pub fn put(&mut self, id: &str, record: Record) {
        self.changes.push((id.to_ascii_lowercase(), Some(record)));
    }

    /// Remove the record under `id`.
    pub fn delete(&mut self, id: &str) {
        self.changes.push((id.to_ascii_lowercase(), None));
    }

    /// Remove `id` and everything below it.
    pub fn delete_tree(&mut self, state: &State, id: &str) {
        let below: Vec<String> = state.descendants(id).map(|(k, _)| k.clone()).collect();
        for k in below {
            self.changes.push((k, None));
        }
        self.delete(id);
    }

    /// The latest pending value for `id` in this batch, if the batch touched it.
    pub fn pending(&self, id: &str) -> Option<Option<&Record>> {
        let key = id.to_ascii_lowercase();
        self.changes.iter().rev().find(|(k, _)| *k == key).map(|(_, r)| r.as_ref())
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Records this batch puts (latest first is not guaranteed; later puts win when applied).
    pub fn puts(&self) -> impl Iterator<Item = (&String, &Record)> {
        self.changes.iter().filter_map(|(k, r)| r.as_ref().map(|r| (k, r)))
    }
}

/// Live state plus its durable store.
///
/// Writers are serialised by `writer`; each validates against the state, makes its batch durable
/// *without* holding the state lock, and only then takes the state lock to apply it. Readers are
/// therefore never blocked by a disk sync, and no writer can see a state that changes under it.
pub struct Engine {
    state: RwLock<State>,
    writer: std::sync::Mutex<()>,
    store: Store,
}

impl Engine {
    /// Loads every record from the store, then seeds what a fresh instance needs.
    pub fn open(store: Store) -> Result<Self> {
        let mut records = BTreeMap::new();
        for (key, bytes) in store.load_all()? {
            let stored: Stored =
                serde_json::from_slice(&bytes).map_err(|e| Error::Internal(format!("unreadable record {key}: {e}")))?;
            if stored.v > SCHEMA_VERSION {
                return Err(Error::Internal(format!(
                    "record {key} has schema version {} but this vaultlink reads up to {SCHEMA_VERSION}; upgrade vaultlink",
                    stored.v
                )));
            }
            records.insert(key, stored.record);
        }
        let engine = Self { state: RwLock::new(State { records }), writer: std::sync::Mutex::new(()), store };
        engine.write(|state, batch| -> Result<()> {
            crate::identity::seed(state, batch);
            crate::resources::seed(state, batch);
            crate::rbac::seed(state, batch);
            Ok(())
        })?;
        Ok(engine)
    }

    /// Runs `f` against a consistent snapshot of the state.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        f(&state)
    }

    /// Runs an operation: `f` validates and fills a batch; the batch is made durable, then applied.
    /// The operation's error type is its layer's (ARM's `Error`, the data plane's `KvError`).
    pub fn write<R, E: From<Error>>(&self, f: impl FnOnce(&State, &mut Batch) -> Result<R, E>) -> Result<R, E> {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = Batch::default();
        let out = {
            let state = self.state.read().unwrap_or_else(|p| p.into_inner());
            f(&state, &mut batch)?
        };
        if batch.is_empty() {
            return Ok(out);
        }
        let mut ops = Vec::with_capacity(batch.changes.len());
        for (key, record) in &batch.changes {
            ops.push(match record {
                Some(r) => Op::Put {
                    key: key.clone(),
                    value: serde_json::to_vec(&Stored { v: SCHEMA_VERSION, record: r.clone() })
                        .map_err(|e| Error::Internal(e.to_string()))?,
                },
                None => Op::Delete { key: key.clone() },
            });
        }
        self.store.apply(&ops).map_err(Error::from)?;
        self.state.write().unwrap_or_else(|p| p.into_inner()).apply(batch.changes);
        Ok(out)
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 UTC with fractional seconds, as ARM writes times (`2026-11-28T16:00:00.0000000Z`).
pub fn rfc3339(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.0000000Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A new random GUID, lower-case.
pub fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A new weak etag as Microsoft.Network writes them: `W/"guid"`.
pub fn weak_etag() -> String {
    format!("W/\"{}\"", guid())
}
