//! Durable state: an ordered map from string keys to opaque bytes, written in atomic batches.
//!
//! The store knows nothing of Azure. The core serialises its records (with a schema version) and
//! hands the store whole batches. A batch is written in two steps, so that many writers share one
//! disk sync (group commit):
//!
//! 1. `append` commits the batch to SQLite's write-ahead log (WAL) without a sync. From then on a
//!    crash of the process cannot lose it (the bytes are in the operating system's page cache) or
//!    tear it (a WAL transaction is all or nothing); a crash of the machine still can.
//! 2. `sync` returns once the batch is on disk. Whoever syncs makes durable *every* batch appended
//!    before it started, so writers that arrive while a sync is running are all covered by the
//!    next one: with 16 writers the store syncs far fewer times than it commits.
//!
//! This is the only crate that touches the state file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
    #[error("state database: syncing the write-ahead log failed: {0}")]
    Sync(std::io::Error),
    #[error("state database: an earlier disk sync failed, so the state on disk may be behind; restart vaultlink")]
    Failed,
    #[error("state database lock poisoned")]
    Poisoned,
}

/// Where an appended batch stands in the log: `sync(seq)` waits for it.
pub type Seq = u64;

/// The durable store. `None` inside means in-memory: batches are accepted and forgotten
/// (the core keeps the live state in memory anyway).
pub struct Store {
    file: Option<File>,
}

struct File {
    conn: Mutex<Connection>,
    /// SQLite's write-ahead log, synced by path (SQLite keeps it for the connection's life).
    wal: PathBuf,
    /// The last batch appended, and the last one known to be on disk.
    appended: AtomicU64,
    synced: AtomicU64,
    /// Held by the one writer that syncs; the others wait here and usually find their batch
    /// covered when they get it.
    syncing: Mutex<()>,
    syncs: AtomicU64,
    /// Set when a sync failed: appended batches may then be in the live state but not on disk, so
    /// no further write is accepted (the policy PostgreSQL adopted for failed fsyncs).
    failed: AtomicBool,
}

impl Store {
    /// Opens (or creates) the state database at `path`, in WAL mode. Commits do not sync;
    /// `sync` does (see the module docs).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL mode: commits write the log without a sync; checkpoints still sync the
        // log before copying it into the database. `sync` adds the per-batch durability.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;",
        )?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        Ok(Self {
            file: Some(File {
                conn: Mutex::new(conn),
                wal: wal.into(),
                appended: AtomicU64::new(0),
                synced: AtomicU64::new(0),
                syncing: Mutex::new(()),
                syncs: AtomicU64::new(0),
                failed: AtomicBool::new(false),
            }),
        })
    }

    /// A store that keeps nothing: for `--in-memory` runs and tests.
    pub fn in_memory() -> Self {
        Self { file: None }
    }

    /// True when writes reach a file.
    pub fn is_durable(&self) -> bool {
        self.file.is_some()
    }

    /// Every record, in key order.
    pub fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let Some(f) = &self.file else { return Ok(Vec::new()) };
        let conn = f.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let mut stmt = conn.prepare("SELECT key, value FROM records ORDER BY key")?;
        let rows = stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?)))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(StoreError::from)
    }

    /// Commits a batch atomically to the write-ahead log, not yet synced: pass the returned
    /// position to `sync` before telling anyone the batch is durable. An empty batch writes
    /// nothing and returns the position of the last batch appended.
    pub fn append(&self, ops: &[Op]) -> Result<Seq, StoreError> {
        let Some(f) = &self.file else { return Ok(0) };
        if f.failed.load(Ordering::Acquire) {
            return Err(StoreError::Failed);
        }
        let mut conn = f.conn.lock().map_err(|_| StoreError::Poisoned)?;
        if ops.is_empty() {
            return Ok(f.appended.load(Ordering::Acquire));
        }
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
        // Under the connection lock, so positions follow the order of the log.
        Ok(f.appended.fetch_add(1, Ordering::AcqRel) + 1)
    }

    /// Returns once every batch up to `seq` is on disk. One sync covers every batch appended
    /// before it began, so concurrent writers share it.
    pub fn sync(&self, seq: Seq) -> Result<(), StoreError> {
        let Some(f) = &self.file else { return Ok(()) };
        if f.synced.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        let _syncing = f.syncing.lock().map_err(|_| StoreError::Poisoned)?;
        if f.failed.load(Ordering::Acquire) {
            return Err(StoreError::Failed);
        }
        if f.synced.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        // Everything appended so far is in the log file's pages; this sync makes it all durable.
        let covered = f.appended.load(Ordering::Acquire);
        let result = std::fs::File::open(&f.wal).and_then(|wal| wal.sync_data());
        if let Err(e) = result {
            f.failed.store(true, Ordering::Release);
            return Err(StoreError::Sync(e));
        }
        f.syncs.fetch_add(1, Ordering::Relaxed);
        f.synced.store(covered, Ordering::Release);
        Ok(())
    }

    /// How many disk syncs the store has made (for tests and diagnostics).
    pub fn syncs(&self) -> u64 {
        self.file.as_ref().map_or(0, |f| f.syncs.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Store {
        /// Appends and syncs one batch (what `Engine::write` does, without the state between).
        fn apply(&self, ops: &[Op]) -> Result<(), StoreError> {
            let seq = self.append(ops)?;
            self.sync(seq)
        }
    }

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

    /// One sync covers every batch appended before it; a batch already covered costs no sync.
    #[test]
    fn one_sync_covers_every_batch_appended_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = Store::open(&path).unwrap();
        let seqs: Vec<Seq> =
            (0..5).map(|i| store.append(&[Op::Put { key: format!("k{i}"), value: vec![i] }]).unwrap()).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
        assert_eq!(store.syncs(), 0);
        store.sync(seqs[4]).unwrap();
        assert_eq!(store.syncs(), 1);
        for s in &seqs {
            store.sync(*s).unwrap();
        }
        assert_eq!(store.syncs(), 1, "batches already on disk must not sync again");
        // An empty batch names the last batch appended, so waiting for it waits for everything.
        assert_eq!(store.append(&[]).unwrap(), 5);
        let seq = store.append(&[Op::Delete { key: "k0".into() }]).unwrap();
        store.sync(seq).unwrap();
        assert_eq!(store.syncs(), 2);
        drop(store);
        let keys: Vec<String> = Store::open(&path).unwrap().load_all().unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec!["k1", "k2", "k3", "k4"]);
    }

    /// Writers on many threads: every acknowledged batch is on disk after a reopen.
    #[test]
    fn concurrent_writers_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = std::sync::Arc::new(Store::open(&path).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        store.apply(&[Op::Put { key: format!("t{t}/{i:02}"), value: vec![t, i] }]).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(store.syncs() <= 200);
        drop(store);
        let all = Store::open(&path).unwrap().load_all().unwrap();
        assert_eq!(all.len(), 200);
        assert!(all.iter().all(|(k, v)| *k == format!("t{}/{:02}", v[0], v[1])));
    }

    #[test]
    fn in_memory_store_keeps_nothing() {
        let store = Store::in_memory();
        store.apply(&[Op::Put { key: "a".into(), value: vec![1] }]).unwrap();
        assert!(store.load_all().unwrap().is_empty());
        assert!(!store.is_durable());
    }
}
