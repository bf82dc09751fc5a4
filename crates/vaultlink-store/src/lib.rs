//! Durable state: an ordered map from string keys to opaque bytes, written in atomic batches.
//!
//! The store knows nothing of Azure. The core serialises its records (with a schema version) and
//! hands the store whole batches, through the `Store` trait; the engine holds a `Box<dyn Store>`
//! and never names an implementation. A batch is written in two steps, so that many writers share
//! one disk sync (group commit):
//!
//! 1. `append` writes the batch where a crash of the process cannot lose or tear it, without
//!    waiting for the disk, and returns its position.
//! 2. `sync(position)` returns once the batch is on disk. Whoever syncs makes durable *every* batch
//!    appended before it started, so writers that arrive while a sync is running are all covered
//!    by the next one: with 16 writers the store syncs far fewer times than it appends.
//!
//! Three implementations: `SqliteStore` (the state file, the default; see `sqlite.rs`),
//! `PostgresStore` (a PostgreSQL database, `--store postgres://...`; see `postgres.rs`) and
//! `MemoryStore` (keeps nothing, for `--in-memory` runs and tests). This is the only crate that
//! touches the state file or the database.

mod memory;
mod postgres;
mod sqlite;
mod wal;

pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::{SqliteStore, marker_path};
pub use wal::{Stop as WalStop, WalLoss};

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
    #[error("state database (PostgreSQL): {0}")]
    Postgres(String),
    /// The database did not take a commit (unreachable, or another writer came first): writes
    /// are refused until `Store::recover` succeeds. Surfaces answer 503.
    #[error("state database (PostgreSQL) unavailable: {0}")]
    Unavailable(String),
    #[error("state database: syncing the write-ahead log failed: {0}")]
    Sync(std::io::Error),
    #[error("state database: an earlier disk sync failed, so the state on disk may be behind; restart vaultlink")]
    Failed,
    #[error("state database lock poisoned")]
    Poisoned,
    /// The state file is missing or empty where one has been (its marker is there).
    #[error(
        "{} is {}, but this data directory has held vaultlink's state ({} says so), so vaultlink will \
         not start with an empty state. Put back state.db from a backup; to start afresh instead, use a \
         new data directory (or remove {} as well)",
        path.display(),
        if *empty { "empty" } else { "missing" },
        marker.display(),
        marker.display()
    )]
    Missing { path: std::path::PathBuf, marker: std::path::PathBuf, empty: bool },
    #[error("writing {}: {source}", path.display())]
    Marker { path: std::path::PathBuf, source: std::io::Error },
}

/// Where an appended batch stands in the store's log: `Store::sync` waits for it.
pub type Seq = u64;

/// Every record a store holds, as `(key, value)` in key order.
pub type Records = Vec<(String, Vec<u8>)>;

/// Durable state behind the engine: an ordered key-value map written in atomic batches.
///
/// The contract every implementation keeps (the engine's group commit rests on it):
///
/// - **Batches are atomic and ordered.** `append` applies a batch whole or not at all, and batches
///   take effect in the order their `append` calls returned. After a crash, `load_all` sees a
///   prefix of the appended batches that includes at least every batch a `sync` returned for.
/// - **A position names a point in the log.** `append` returns the batch's position; positions
///   only grow, and a later batch never has a smaller one. A position means something only to the
///   store that returned it. Appending an empty batch writes nothing and returns the position of
///   the last batch appended (so syncing it waits for everything appended so far).
/// - **`sync(p)` covers every batch appended before `p`.** It returns once the batch at `p` and
///   every batch appended before it are durable. One call may cover many waiting writers' batches;
///   a position already covered returns without touching the disk.
/// - **A failed sync is final until recovered.** Once a sync fails, the state the engine holds in
///   memory may be ahead of the disk, so every later `append` fails, and so does every `sync` of a
///   position not already covered (`StoreError::Failed`, or `Unavailable` for a database), until
///   the state is reloaded from what the disk holds: by a restart (the state file; the policy
///   PostgreSQL adopted for failed fsyncs), or when `recover` succeeds (a database).
/// - **Calls may come from many threads at once** (`Send + Sync`); the engine appends under its
///   writer lock but syncs outside it.
///
/// A store that keeps nothing (`MemoryStore`) meets this trivially: nothing is ever durable, so
/// there is nothing to wait for, and `is_durable` says so.
pub trait Store: Send + Sync {
    /// Every record, in key order.
    fn load_all(&self) -> Result<Records, StoreError>;

    /// Every record, in key order, handed to `each` as it is read, with the number of records
    /// there are: a large state is then never held twice, raw and decoded, while it loads. The
    /// default reads them all first (`load_all`).
    fn load_each(&self, each: &mut dyn FnMut(usize, String, Vec<u8>)) -> Result<(), StoreError> {
        let all = self.load_all()?;
        let n = all.len();
        all.into_iter().for_each(|(key, value)| each(n, key, value));
        Ok(())
    }

    /// Writes a batch atomically, not yet synced, and returns its position: pass it to `sync`
    /// before telling anyone the batch is durable.
    fn append(&self, ops: &[Op]) -> Result<Seq, StoreError>;

    /// Returns once every batch up to position `seq` is on disk.
    fn sync(&self, seq: Seq) -> Result<(), StoreError>;

    /// A named value kept beside the records (not one of them: `load_all` does not return it),
    /// such as the root key's check value.
    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Sets a named value beside the records; durable when it returns.
    fn set_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError>;

    /// True when writes reach a disk (false for `MemoryStore`).
    fn is_durable(&self) -> bool;

    /// How many disk syncs the store has made (for tests, benchmarks and diagnostics).
    fn syncs(&self) -> u64;

    /// Sets a named value unless one is there already, and returns the value now stored: of
    /// several processes offering one at once, one wins and all get its value. (The default
    /// suits a store of one process.)
    fn offer_meta(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        match self.meta(name)? {
            Some(there) => Ok(there),
            None => self.set_meta(name, value).map(|()| value.to_vec()),
        }
    }

    /// A store shared by several processes (replicas on one database): called under the engine's
    /// writer lock before an operation is validated. Makes this process the database's only
    /// writer until `release` (other processes' writers wait), and returns the batches other
    /// processes committed that this one has not yet seen, oldest first: the engine applies them
    /// before it validates, so every write is checked against the newest state. A store of one
    /// process returns none.
    fn lease(&self) -> Result<Vec<Vec<Op>>, StoreError> {
        Ok(Vec::new())
    }

    /// Called under the engine's writer lock when no operation is between `lease` and `append`
    /// (after a write synced, after a refused one, and when following): gives the lease up if
    /// every appended batch is committed, so other processes can write.
    fn release(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The batches other processes committed that this one has not seen, oldest first (called
    /// under the engine's writer lock, to follow them between writes); none for a store of one
    /// process.
    fn catch_up(&self) -> Result<Vec<Vec<Op>>, StoreError> {
        Ok(Vec::new())
    }

    /// Waits up to `timeout` for another process to commit (a shared store's notification);
    /// others just sleep.
    fn wait_for_others(&self, timeout: std::time::Duration) {
        std::thread::sleep(timeout);
    }

    /// After a failed sync, makes the store writable again if it can (PostgreSQL: a new
    /// connection, the log's last position read again) and returns every record as `load_all`
    /// would, read in the same step: the engine must replace its state with them, since what it
    /// holds in memory may include batches that were never committed (their writers were told
    /// so). A store that has not failed, or whose failure is final (the state file), answers
    /// `None`.
    fn recover(&self) -> Result<Option<Records>, StoreError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
