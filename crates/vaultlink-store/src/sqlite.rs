//! `SqliteStore`: the state file, a SQLite database in WAL mode with group commit.
//!
//! 1. `append` commits the batch to SQLite's write-ahead log (WAL) without a sync. From then on a
//!    crash of the process cannot lose it (the bytes are in the operating system's page cache) or
//!    tear it (a WAL transaction is all or nothing); a crash of the machine still can.
//! 2. `sync` returns once the batch is on disk, by syncing the log file itself (`fdatasync` of
//!    `state.db-wal`), one writer at a time; each sync covers every batch appended before it.
//!
//! SQLite has no group commit of its own; with `synchronous=NORMAL` in WAL mode it never syncs on
//! commit and still syncs the log before every checkpoint.
//!
//! Opening guards against two silent losses. A missing or empty state file where one has been
//! (`state.db.created` beside it says so, written the first time the file is made) is refused
//! rather than started empty. And the log is read before SQLite recovers it (`wal.rs`), so what
//! recovery drops is known (`SqliteStore::recovery`) rather than silent.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rusqlite::{Connection, params};

use crate::wal::{self, WalLoss};
use crate::{Op, Seq, Store, StoreError};

/// The marker written beside the state file once it exists: `state.db` -> `state.db.created`.
pub fn marker_path(path: &Path) -> PathBuf {
    let mut marker = path.as_os_str().to_owned();
    marker.push(".created");
    marker.into()
}

/// The durable store: one SQLite database file.
pub struct SqliteStore {
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
    /// What SQLite's recovery of the log dropped when the file was opened.
    recovery: Option<WalLoss>,
}

impl SqliteStore {
    /// Opens (or creates) the state database at `path`, in WAL mode. Commits do not sync;
    /// `sync` does (see the module docs).
    ///
    /// Refused (`StoreError::Missing`) when the file is missing or empty but its marker
    /// (`marker_path`) says it has existed: starting empty there would hide the loss.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let marker = marker_path(path);
        let size = std::fs::metadata(path).map(|m| m.len()).ok();
        if size.is_none_or(|n| n == 0) && marker.exists() {
            return Err(StoreError::Missing { path: path.to_owned(), marker, empty: size.is_some() });
        }
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        // Before SQLite opens the file and recovers the log (dropping what fails its checksums).
        let recovery = wal::inspect(&wal);
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL mode: commits write the log without a sync; checkpoints still sync the
        // log before copying it into the database. `sync` adds the per-batch durability.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;",
        )?;
        if !marker.exists() {
            // The tables are in the log; make them durable before the marker claims the file.
            if wal.exists() {
                std::fs::File::open(&wal).and_then(|f| f.sync_data()).map_err(StoreError::Sync)?;
            }
            let text = "vaultlink's state database state.db lives here. While this file exists, vaultlink refuses \
                        to start with state.db missing or empty (restore it from a backup; to start afresh, use a \
                        new data directory).\n";
            std::fs::write(&marker, text).map_err(|source| StoreError::Marker { path: marker.clone(), source })?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
            wal,
            appended: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            syncing: Mutex::new(()),
            syncs: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            recovery,
        })
    }

    /// What SQLite's recovery dropped from the write-ahead log when this store was opened
    /// (`None`: nothing). Read from the log before SQLite opened it; see `wal.rs`.
    pub fn recovery(&self) -> Option<&WalLoss> {
        self.recovery.as_ref()
    }
}

impl Store for SqliteStore {
    fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let mut stmt = conn.prepare("SELECT key, value FROM records ORDER BY key")?;
        let rows = stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?)))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(StoreError::from)
    }

    fn load_each(&self, each: &mut dyn FnMut(usize, String, Vec<u8>)) -> Result<(), StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let n: i64 = conn.query_row("SELECT count(*) FROM records", [], |row| row.get(0))?;
        let n = usize::try_from(n).unwrap_or(0);
        let mut stmt = conn.prepare("SELECT key, value FROM records ORDER BY key")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            each(n, row.get(0)?, row.get(1)?);
        }
        Ok(())
    }

    /// Commits a batch atomically to the write-ahead log, not yet synced. An empty batch writes
    /// nothing and returns the position of the last batch appended.
    fn append(&self, ops: &[Op]) -> Result<Seq, StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(StoreError::Failed);
        }
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        if ops.is_empty() {
            return Ok(self.appended.load(Ordering::Acquire));
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
        Ok(self.appended.fetch_add(1, Ordering::AcqRel) + 1)
    }

    /// Returns once every batch up to `seq` is on disk. One sync covers every batch appended
    /// before it began, so concurrent writers share it.
    fn sync(&self, seq: Seq) -> Result<(), StoreError> {
        if self.synced.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        let _syncing = self.syncing.lock().map_err(|_| StoreError::Poisoned)?;
        if self.failed.load(Ordering::Acquire) {
            return Err(StoreError::Failed);
        }
        if self.synced.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        // Everything appended so far is in the log file's pages; this sync makes it all durable.
        let covered = self.appended.load(Ordering::Acquire);
        let result = std::fs::File::open(&self.wal).and_then(|wal| wal.sync_data());
        if let Err(e) = result {
            self.failed.store(true, Ordering::Release);
            return Err(StoreError::Sync(e));
        }
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.synced.store(covered, Ordering::Release);
        Ok(())
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let mut stmt = conn.prepare_cached("SELECT value FROM meta WHERE name = ?1")?;
        let mut rows = stmt.query(params![name])?;
        Ok(match rows.next()? {
            Some(row) => Some(row.get(0)?),
            None => None,
        })
    }

    fn set_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(StoreError::Failed);
        }
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)", params![name, value])?;
        std::fs::File::open(&self.wal).and_then(|wal| wal.sync_data()).map_err(StoreError::Sync)?;
        Ok(())
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
}
