//! The PostgreSQL store (`--store postgres://...`, issue 21, part 1): the records in one table, an
//! append-only log of every batch with its sequence number beside them, and the named values in
//! a third, all in the database the URL names (created on first use).
//!
//! Group commit as in the SQLite store: `append` only queues the batch in memory (a crash of the
//! process before its `sync` loses it, which the contract allows: nobody was told it was durable)
//! and returns its position; `sync` commits every queued batch in **one** transaction, so writers
//! that arrive while a commit runs share the next one. A batch is durable when PostgreSQL's
//! `COMMIT` returned. Each batch is applied to `vaultlink_records` and written to `vaultlink_log`
//! under the log's next position, which the log's primary key keeps unique, so two processes
//! writing one database cannot both commit the same position.
//!
//! A commit that fails (the database unreachable, or another writer took the position) fails
//! that write and every write after it, fast, with `StoreError::Unavailable` (503 on every
//! surface), while reads go on from the engine's memory. `recover`, which the engine calls every
//! second while the store has failed, connects again and reads the log's last position; the
//! engine then reloads its state from the database, dropping what memory held of the batches
//! that were never committed (their writers were answered 503). Positions handed to the engine
//! are the store's own and only grow across recoveries, so a writer of a lost batch that syncs
//! late is still told it was lost. Following other writers' batches (replicas) is not built yet.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use crate::{Op, Records, Seq, Store, StoreError};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS vaultlink_records (key text COLLATE \"C\" PRIMARY KEY, value bytea NOT NULL);
    CREATE TABLE IF NOT EXISTS vaultlink_log (
        seq bigint PRIMARY KEY,
        ops bytea NOT NULL,
        committed_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS vaultlink_meta (name text PRIMARY KEY, value bytea NOT NULL);
";

/// How long connecting may take before the database counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The state in a PostgreSQL database.
pub struct PostgresStore {
    /// Where the database is (kept to connect again after a failure; never shown, since it may
    /// hold a password).
    config: Config,
    /// The one connection commits run on (one commit at a time; appends do not wait for it), and
    /// the log's last position in the database.
    conn: Mutex<(Client, i64)>,
    /// Batches appended and not yet committed, oldest first, under the store's own positions.
    queued: Mutex<Vec<(Seq, Vec<Op>)>>,
    /// The last position handed out.
    appended: AtomicU64,
    /// Every position up to this one is committed (or was lost, see `lost`).
    committed: AtomicU64,
    /// The positions of batches a failed commit lost, as inclusive ranges.
    lost: Mutex<Vec<(Seq, Seq)>>,
    failed: AtomicBool,
    syncs: AtomicU64,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("committed", &self.committed.load(Ordering::Relaxed)).finish()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db` or `host=... dbname=...`) and creates the
    /// tables if they are not there.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        // The parser's message does not repeat the URL.
        let mut config: Config = url.parse().map_err(|e| StoreError::Postgres(format!("the store URL: {e}")))?;
        config.connect_timeout(CONNECT_TIMEOUT).keepalives(true).keepalives_idle(Duration::from_secs(30));
        let conn = connect(&config)?;
        Ok(Self {
            config,
            conn: Mutex::new(conn),
            queued: Mutex::new(Vec::new()),
            appended: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            lost: Mutex::new(Vec::new()),
            failed: AtomicBool::new(false),
            syncs: AtomicU64::new(0),
        })
    }

    /// Commits `batches` in one transaction on `conn`, each under the log's next position. A
    /// connection found broken before anything was committed on it (the server restarted while
    /// vaultlink was idle) is replaced once, and the commit made on the new one.
    fn commit_on(conn: &mut (Client, i64), config: &Config, batches: &[(Seq, Vec<Op>)]) -> Result<(), StoreError> {
        if conn.0.is_closed() {
            *conn = connect(config)?;
        }
        match Self::commit(&mut conn.0, conn.1, batches) {
            Ok(last) => conn.1 = last,
            Err(Failure::Begin(_)) if conn.0.is_closed() => {
                *conn = connect(config)?;
                conn.1 = Self::commit(&mut conn.0, conn.1, batches).map_err(Failure::into_store)?;
            }
            Err(e) => return Err(e.into_store()),
        }
        Ok(())
    }

    /// One transaction writing `batches` after the log's position `last`; returns the last
    /// position written.
    fn commit(client: &mut Client, mut last: i64, batches: &[(Seq, Vec<Op>)]) -> Result<i64, Failure> {
        let mut tx = client.transaction().map_err(Failure::Begin)?;
        Self::write(&mut tx, &mut last, batches).map_err(Failure::Commit)?;
        tx.commit().map_err(Failure::Commit)?;
        Ok(last)
    }

    fn write(
        tx: &mut postgres::Transaction<'_>,
        last: &mut i64,
        batches: &[(Seq, Vec<Op>)],
    ) -> Result<(), postgres::Error> {
        let put = tx.prepare(
            "INSERT INTO vaultlink_records (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?;
        let delete = tx.prepare("DELETE FROM vaultlink_records WHERE key = $1")?;
        let log = tx.prepare("INSERT INTO vaultlink_log (seq, ops) VALUES ($1, $2)")?;
        for (_, ops) in batches {
            for op in ops {
                match op {
                    Op::Put { key, value } => tx.execute(&put, &[key, value])?,
                    Op::Delete { key } => tx.execute(&delete, &[key])?,
                };
            }
            *last += 1;
            tx.execute(&log, &[&*last, &encode(ops)])?;
        }
        Ok(())
    }

    fn refused() -> StoreError {
        StoreError::Unavailable(
            "an earlier commit did not reach the database; writes are refused until it answers again".into(),
        )
    }
}

/// Why a commit failed: before the transaction began (nothing was sent), or in it.
enum Failure {
    Begin(postgres::Error),
    Commit(postgres::Error),
}

impl Failure {
    fn into_store(self) -> StoreError {
        match self {
            Self::Begin(e) | Self::Commit(e) => unavailable(e),
        }
    }
}

/// A connection with the tables made, and the log's last position.
fn connect(config: &Config) -> Result<(Client, i64), StoreError> {
    let mut client = config.connect(NoTls).map_err(unavailable)?;
    client.batch_execute(SCHEMA).map_err(pg)?;
    let last: i64 = client.query_one("SELECT coalesce(max(seq), 0) FROM vaultlink_log", &[]).map_err(pg)?.get(0);
    Ok((client, last))
}

/// Every record, in key order.
fn records(client: &mut Client) -> Result<Records, StoreError> {
    let rows = client.query("SELECT key, value FROM vaultlink_records ORDER BY key", &[]).map_err(unavailable)?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn unavailable(e: postgres::Error) -> StoreError {
    StoreError::Unavailable(describe(&e))
}

fn pg(e: postgres::Error) -> StoreError {
    StoreError::Postgres(describe(&e))
}

/// The error and its causes (the client's own message alone says only "error connecting to
/// server"); neither holds the URL.
fn describe(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A batch as the log keeps it: per op a tag byte (`P` put, `D` delete), the key's length (u32,
/// big-endian) and bytes, and for a put the value's length and bytes.
fn encode(ops: &[Op]) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(&u32::try_from(b.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(b);
    }
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Put { key, value } => {
                out.push(b'P');
                field(&mut out, key.as_bytes());
                field(&mut out, value);
            }
            Op::Delete { key } => {
                out.push(b'D');
                field(&mut out, key.as_bytes());
            }
        }
    }
    out
}

impl Store for PostgresStore {
    fn load_all(&self) -> Result<Records, StoreError> {
        records(&mut self.conn.lock().map_err(|_| StoreError::Poisoned)?.0)
    }

    fn append(&self, ops: &[Op]) -> Result<Seq, StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(Self::refused());
        }
        let mut queued = self.queued.lock().map_err(|_| StoreError::Poisoned)?;
        if ops.is_empty() {
            return Ok(self.appended.load(Ordering::Acquire));
        }
        let seq = self.appended.fetch_add(1, Ordering::AcqRel) + 1;
        queued.push((seq, ops.to_vec()));
        Ok(seq)
    }

    fn sync(&self, seq: Seq) -> Result<(), StoreError> {
        let was_lost = || self.lost.lock().is_ok_and(|l| l.iter().any(|&(lo, hi)| (lo..=hi).contains(&seq)));
        if self.committed.load(Ordering::Acquire) >= seq && !was_lost() {
            return Ok(());
        }
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        if was_lost() {
            return Err(Self::refused());
        }
        // Whoever held the connection before may have committed this batch already.
        if self.committed.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        if self.failed.load(Ordering::Acquire) {
            return Err(Self::refused());
        }
        let batches = std::mem::take(&mut *self.queued.lock().map_err(|_| StoreError::Poisoned)?);
        let Some(&(last, _)) = batches.last() else { return Ok(()) };
        if let Err(e) = Self::commit_on(&mut conn, &self.config, &batches) {
            self.failed.store(true, Ordering::Release);
            let from = self.committed.load(Ordering::Acquire) + 1;
            self.lost.lock().map_err(|_| StoreError::Poisoned)?.push((from, Seq::MAX));
            return Err(e);
        }
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.committed.store(last, Ordering::Release);
        Ok(())
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let row =
            conn.0.query_opt("SELECT value FROM vaultlink_meta WHERE name = $1", &[&name]).map_err(unavailable)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn set_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        conn.0
            .execute(
                "INSERT INTO vaultlink_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[&name, &value],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    fn recover(&self) -> Result<Option<Records>, StoreError> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(None);
        }
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let (mut client, logged) = connect(&self.config)?;
        let records = records(&mut client)?;
        *conn = (client, logged);
        // Every position handed out so far that was not committed is lost: close the open range.
        let appended = self.appended.load(Ordering::Acquire);
        let mut lost = self.lost.lock().map_err(|_| StoreError::Poisoned)?;
        if let Some(open) = lost.last_mut().filter(|r| r.1 == Seq::MAX) {
            open.1 = appended;
        }
        self.queued.lock().map_err(|_| StoreError::Poisoned)?.clear();
        self.committed.store(appended, Ordering::Release);
        self.failed.store(false, Ordering::Release);
        Ok(Some(records))
    }
}

#[cfg(test)]
mod tests;
