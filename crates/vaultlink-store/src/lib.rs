//! Durable state: an ordered map from string keys to opaque bytes, written in atomic batches.
//!
//! The store knows nothing of Azure. The core serialises its records (with a schema version) and
//! hands the store whole batches: a batch is on disk (fsynced, WAL) before `apply` returns, or it is
//! not there at all. This is the only crate that touches the state file.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, params};

/// One change in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Insert or replace the value under `key`.
    Put { key: String, value: Vec<u8> },
    /// Remove `key` (no error if absent).
    Delete { key: String },
}

/// Errors from the durable layer. They are internal: surfaces log them and answer 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("state database lock poisoned")]
    Poisoned,
}

/// The durable store. `None` inside means in-memory: batches are accepted and forgotten
/// (the core keeps the live state in memory anyway).
pub struct Store {
    conn: Option<Mutex<Connection>>,
}

impl Store {
    /// Opens (or creates) the state database at `path`, in WAL mode with full fsync on commit.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;",
        )?;
        Ok(Self { conn: Some(Mutex::new(conn)) })
    }

    /// A store that keeps nothing: for `--in-memory` runs and tests.
    pub fn in_memory() -> Self {
        Self { conn: None }
    }

    /// True when writes reach a file.
    pub fn is_durable(&self) -> bool {
        self.conn.is_some()
    }

    /// Every record, in key order.
    pub fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let Some(conn) = &self.conn else { return Ok(Vec::new()) };
        let conn = conn.lock().map_err(|_| StoreError::Poisoned)?;
        let mut stmt = conn.prepare("SELECT key, value FROM records ORDER BY key")?;
        let rows = stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?)))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(StoreError::from)
    }

    /// Applies a batch atomically and durably: when this returns `Ok`, every op is on disk.
    pub fn apply(&self, ops: &[Op]) -> Result<(), StoreError> {
        let Some(conn) = &self.conn else { return Ok(()) };
        if ops.is_empty() {
            return Ok(());
        }
        let mut conn = conn.lock().map_err(|_| StoreError::Poisoned)?;
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare_cached("INSERT OR REPLACE INTO records (key, value) VALUES (?1, ?2)")?;
            let mut del = tx.prepare_cached("DELETE FROM records WHERE key = ?1")?;
            for op in ops {
                match op {
                    Op::Put { key, value } => {
                        put.execute(params![key, value])?;
                    }
                    Op::Delete { key } => {
                        del.execute(params![key])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_survive_reopen_and_deletes_apply() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let store = Store::open(&path).unwrap();
            store
                .apply(&[
                    Op::Put { key: "b".into(), value: b"2".to_vec() },
                    Op::Put { key: "a".into(), value: b"1".to_vec() },
                ])
                .unwrap();
            store.apply(&[Op::Delete { key: "b".into() }, Op::Put { key: "c".into(), value: b"3".to_vec() }]).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let all = store.load_all().unwrap();
        assert_eq!(all, vec![("a".into(), b"1".to_vec()), ("c".into(), b"3".to_vec())]);
    }

    #[test]
    fn in_memory_store_keeps_nothing() {
        let store = Store::in_memory();
        store.apply(&[Op::Put { key: "a".into(), value: vec![1] }]).unwrap();
        assert!(store.load_all().unwrap().is_empty());
        assert!(!store.is_durable());
    }
}
