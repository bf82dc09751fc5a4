//! The PostgreSQL store (`--store postgres://...`, issue 21): the records in one table, an
//! append-only log of every batch with its position beside them, and the named values in a third,
//! all in the database the URL names (the tables are made on first use). Several vaultlink
//! processes may share one database (replicas); each keeps the whole state in memory.
//!
//! **One writer at a time, across processes.** Before an operation is validated the engine takes
//! the store's lease (`lease`): a session-level advisory lock on the database, so one process at
//! a time writes. Taking it reads the batches other processes committed since this one last
//! looked, and the engine applies them first: every write is validated against the newest state,
//! and two replicas can never both accept conflicting writes. The lease is kept while this
//! process has writes in flight and given up (`release`) once they are committed and nobody is
//! validating; a process that has held it past `FAIR_SHARE` while others wait commits what it
//! queued and lets them in (PostgreSQL grants a freed lock to those already waiting).
//!
//! **Group commit** as in the SQLite store: `append` only queues the batch in memory (a crash of
//! the process before its `sync` loses it, which the contract allows: nobody was told it was
//! durable) and returns its position; `sync` commits every queued batch in **one** transaction, so
//! writers that arrive while a commit runs share the next one. A batch is durable when
//! PostgreSQL's `COMMIT` returned. Each batch is applied to `vaultlink_records` and written to
//! `vaultlink_log` under the log's next position (its primary key keeps positions unique, a second
//! guard behind the lease), and the commit notifies `vaultlink_log`, which the other processes
//! `LISTEN` on to follow (`catch_up`, `wait_for_others`).
//!
//! **Failure.** A commit that fails (the database unreachable) fails that write and every write
//! after it, fast, with `StoreError::Unavailable` (503 on every surface), while reads go on from
//! the engine's memory. `recover`, which `serve` calls every second, connects again and hands back
//! every record; the engine replaces its state with them, dropping what memory held of the
//! batches that were never committed (their writers were answered 503). Positions handed to the
//! engine are the store's own and only grow across recoveries, so a writer of a lost batch that
//! syncs late is still told it was lost. A connection found closed while this process holds no
//! lease (the server restarted while it was idle) is replaced without failing anything.
//!
//! **TLS.** With `sslmode=require` in the URL every connection is TLS, and the server's
//! certificate is verified (chain and name) against the system's roots and the CA the operator
//! gives (`serve --store-ca`); libpq's `require` would accept any certificate, which a store
//! holding every secret's ciphertext must not. Other modes connect as before, in the clear.
//!
//! **Pruning.** The log is there for the replicas that follow it, so it does not grow without
//! bound: every [`Retention::every`] positions the committing transaction deletes the batches
//! older than both the newest [`Retention::batches`] and [`Retention::age`]. A process that finds
//! the batches after its own position pruned (it was cut off from the database for longer than
//! that) cannot catch up batch by batch: its store counts as failed, its writes are refused, and
//! the next `recover` reloads every record, as after a failed commit.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use postgres::config::SslMode;
use postgres::fallible_iterator::FallibleIterator;
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

/// The advisory lock that is the lease ("vaultlnk" in ASCII).
const LEASE_KEY: i64 = 0x7661_756c_746c_6e6b;

/// How long a process keeps the lease while it has writes before it lets waiting ones in.
const FAIR_SHARE: Duration = Duration::from_millis(20);

/// The channel commits notify.
const CHANNEL: &str = "vaultlink_log";

/// How much of the log is kept (see the module's "Pruning").
#[derive(Debug, Clone, Copy)]
struct Retention {
    /// At least the newest this many batches.
    batches: i64,
    /// And every batch committed in the last this many seconds.
    age: f64,
    /// Pruned once per this many positions.
    every: i64,
}

impl Default for Retention {
    /// 100,000 batches and an hour: far more than a replica that follows by notification ever
    /// needs, and at most a few hundred MB of log on the database.
    fn default() -> Self {
        Self { batches: 100_000, age: 3600.0, every: 1024 }
    }
}

/// Runs `f`, which blocks on the postgres client, outside any async runtime the calling thread
/// drives: the client runs a runtime of its own per call, which cannot start inside another
/// (`serve` writes from its runtime's threads at start).
fn blocking<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        // A single-threaded runtime cannot step aside: the call runs on a thread of its own.
        Ok(_) => std::thread::scope(|s| s.spawn(f).join()).unwrap_or_else(|p| std::panic::resume_unwind(p)),
        Err(_) => f(),
    }
}

/// A client that is closed outside any async runtime when dropped (closing blocks too).
struct Session(Option<Client>);

impl std::ops::Deref for Session {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.0.as_ref().expect("a session holds its client until dropped")
    }
}

impl std::ops::DerefMut for Session {
    fn deref_mut(&mut self) -> &mut Client {
        self.0.as_mut().expect("a session holds its client until dropped")
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            blocking(move || drop(client));
        }
    }
}

/// The connection commits run on, and what this process knows of the log.
struct Conn {
    client: Session,
    /// The log's last position this process has seen (applied or written).
    logged: i64,
    /// Since when this process holds the lease, if it does.
    leased_at: Option<Instant>,
}

/// Where the database is and how to reach it (kept to connect again after a failure; never
/// shown, since the URL may hold a password).
struct Target {
    config: Config,
    /// TLS, when the URL says `sslmode=require`.
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl Target {
    fn new(config: Config, ca_pem: Option<&[u8]>) -> Result<Self, StoreError> {
        if config.get_ssl_mode() != SslMode::Require {
            return Ok(Self { config, tls: None });
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(pem) = ca_pem {
            use rustls::pki_types::pem::PemObject;
            let mut added = 0;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| StoreError::Postgres(format!("the store's CA file: {e}")))?;
                roots.add(cert).map_err(|e| StoreError::Postgres(format!("the store's CA file: {e}")))?;
                added += 1;
            }
            if added == 0 {
                return Err(StoreError::Postgres("the store's CA file holds no PEM certificate".into()));
            }
        }
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Postgres(format!("TLS to the database: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self { config, tls: Some(tokio_postgres_rustls::MakeRustlsConnect::new(tls)) })
    }

    fn client(&self) -> Result<Client, postgres::Error> {
        match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        }
    }
}

/// The state in a PostgreSQL database.
pub struct PostgresStore {
    target: Target,
    /// One commit at a time; appends do not wait for it.
    conn: Mutex<Conn>,
    /// A second connection that `LISTEN`s for other processes' commits (made on first use).
    listener: Mutex<Option<Session>>,
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
    retention: Retention,
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
        Self::open_trusting(url, None)
    }

    /// [`PostgresStore::open`], trusting the certificates in `ca_pem` (PEM) beside the system's
    /// for a TLS connection (`sslmode=require`).
    pub fn open_trusting(url: &str, ca_pem: Option<&[u8]>) -> Result<Self, StoreError> {
        // The parser's message does not repeat the URL.
        let mut config: Config = url.parse().map_err(|e| StoreError::Postgres(format!("the store URL: {e}")))?;
        config.connect_timeout(CONNECT_TIMEOUT).keepalives(true).keepalives_idle(Duration::from_secs(30));
        let target = Target::new(config, ca_pem)?;
        let conn = blocking(|| connect(&target))?;
        Ok(Self {
            target,
            conn: Mutex::new(conn),
            listener: Mutex::new(None),
            queued: Mutex::new(Vec::new()),
            appended: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            lost: Mutex::new(Vec::new()),
            failed: AtomicBool::new(false),
            syncs: AtomicU64::new(0),
            retention: Retention::default(),
        })
    }

    /// This store keeping `retention` of the log (the tests' small one).
    #[cfg(test)]
    fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Conn>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Marks the store failed: every position not yet committed is lost, and writes are refused
    /// until `recover`.
    fn fail(&self, e: StoreError) -> StoreError {
        if !self.failed.swap(true, Ordering::AcqRel) {
            let from = self.committed.load(Ordering::Acquire) + 1;
            if let Ok(mut lost) = self.lost.lock() {
                lost.push((from, Seq::MAX));
            }
        }
        e
    }

    /// Takes the lease on `conn` and reads what other processes committed meanwhile. A connection
    /// found closed is replaced once: without the lease this process had nothing in flight.
    fn acquire(&self, conn: &mut Conn) -> Result<Vec<Vec<Op>>, StoreError> {
        if let Err(e) = conn.client.execute("SELECT pg_advisory_lock($1)", &[&LEASE_KEY]) {
            if !conn.client.is_closed() {
                return Err(self.fail(unavailable(e)));
            }
            *conn = connect(&self.target).map_err(|e| self.fail(e))?.resumed(conn.logged);
            conn.client.execute("SELECT pg_advisory_lock($1)", &[&LEASE_KEY]).map_err(|e| self.fail(unavailable(e)))?;
        }
        conn.leased_at = Some(Instant::now());
        self.read_log(conn).map_err(|e| self.fail(e))
    }

    /// The batches committed after what `conn` has seen, oldest first; `conn` has seen them
    /// after. Batches pruned before this process saw them, or one it cannot read, fail the store
    /// (see "Pruning"); a failed query does not (the caller decides).
    fn read_log(&self, conn: &mut Conn) -> Result<Vec<Vec<Op>>, StoreError> {
        let rows = conn
            .client
            .query("SELECT seq, ops FROM vaultlink_log WHERE seq > $1 ORDER BY seq", &[&conn.logged])
            .map_err(unavailable)?;
        let mut batches = Vec::with_capacity(rows.len());
        for row in rows {
            let (seq, ops): (i64, Vec<u8>) = (row.get(0), row.get(1));
            if seq != conn.logged + 1 {
                return Err(self.fail(StoreError::Unavailable(format!(
                    "the log's batches {}..{} were pruned before this process read them; it reloads the state",
                    conn.logged + 1,
                    seq - 1
                ))));
            }
            let batch =
                decode(&ops).ok_or_else(|| StoreError::Postgres(format!("the log's batch {seq} is unreadable")));
            batches.push(batch.map_err(|e| self.fail(e))?);
            conn.logged = seq;
        }
        Ok(batches)
    }

    /// Gives the lease up on `conn`.
    fn unlock(&self, conn: &mut Conn) -> Result<(), StoreError> {
        conn.leased_at = None;
        conn.client.execute("SELECT pg_advisory_unlock($1)", &[&LEASE_KEY]).map_err(|e| self.fail(unavailable(e)))?;
        Ok(())
    }

    /// One transaction writing `batches` after the log's position `last` (and pruning the log
    /// when it passes a multiple of `keep.every`); returns the last position written.
    fn commit(
        client: &mut Client,
        mut last: i64,
        batches: &[(Seq, Vec<Op>)],
        keep: Retention,
    ) -> Result<i64, postgres::Error> {
        let first = last;
        let mut tx = client.transaction()?;
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
            last += 1;
            tx.execute(&log, &[&last, &encode(ops)])?;
        }
        if last / keep.every.max(1) > first / keep.every.max(1) {
            tx.execute(
                "DELETE FROM vaultlink_log WHERE seq <= $1 AND committed_at < now() - $2::float8 * interval '1 second'",
                &[&(last - keep.batches), &keep.age],
            )?;
        }
        tx.batch_execute(&format!("NOTIFY {CHANNEL}"))?;
        tx.commit()?;
        Ok(last)
    }

    fn refused() -> StoreError {
        StoreError::Unavailable(
            "an earlier commit did not reach the database; writes are refused until it answers again".into(),
        )
    }
}

impl Conn {
    /// A new connection that goes on from what an older one had seen of the log.
    fn resumed(mut self, logged: i64) -> Self {
        self.logged = logged;
        self
    }
}

/// A connection with the tables made, knowing the log's last position.
fn connect(target: &Target) -> Result<Conn, StoreError> {
    let mut client = Session(Some(target.client().map_err(unavailable)?));
    client.batch_execute(SCHEMA).map_err(pg)?;
    let logged: i64 = client.query_one("SELECT coalesce(max(seq), 0) FROM vaultlink_log", &[]).map_err(pg)?.get(0);
    Ok(Conn { client, logged, leased_at: None })
}

/// Every record, in key order, and the log's position they stand at (one snapshot), which
/// becomes what `conn` has seen.
fn snapshot(conn: &mut Conn) -> Result<Records, StoreError> {
    let mut tx = conn
        .client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(unavailable)?;
    let rows = tx.query("SELECT key, value FROM vaultlink_records ORDER BY key", &[]).map_err(unavailable)?;
    let logged: i64 = tx.query_one("SELECT coalesce(max(seq), 0) FROM vaultlink_log", &[]).map_err(unavailable)?.get(0);
    tx.commit().map_err(unavailable)?;
    conn.logged = logged;
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

/// `encode`'s batch back; `None` if the bytes are not one.
fn decode(mut bytes: &[u8]) -> Option<Vec<Op>> {
    fn field<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if rest.len() < len {
            return None;
        }
        let (field, rest) = rest.split_at(len);
        *bytes = rest;
        Some(field)
    }
    let mut ops = Vec::new();
    while let Some((&tag, rest)) = bytes.split_first() {
        bytes = rest;
        let key = String::from_utf8(field(&mut bytes)?.to_vec()).ok()?;
        ops.push(match tag {
            b'P' => Op::Put { key, value: field(&mut bytes)?.to_vec() },
            b'D' => Op::Delete { key },
            _ => return None,
        });
    }
    Some(ops)
}

impl Store for PostgresStore {
    fn load_all(&self) -> Result<Records, StoreError> {
        blocking(|| snapshot(&mut *self.lock()?))
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
        blocking(|| self.sync_now(seq))
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        blocking(|| self.meta_now(name))
    }

    fn set_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        blocking(|| self.set_meta_now(name, value))
    }

    fn offer_meta(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        blocking(|| self.offer_meta_now(name, value))
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    fn lease(&self) -> Result<Vec<Vec<Op>>, StoreError> {
        blocking(|| self.lease_now())
    }

    fn release(&self) -> Result<(), StoreError> {
        blocking(|| self.release_now())
    }

    fn catch_up(&self) -> Result<Vec<Vec<Op>>, StoreError> {
        blocking(|| self.catch_up_now())
    }

    fn wait_for_others(&self, timeout: Duration) {
        blocking(|| self.wait_for_others_now(timeout))
    }

    fn recover(&self) -> Result<Option<Records>, StoreError> {
        blocking(|| self.recover_now())
    }
}

/// What the trait's methods do, run outside any async runtime (`blocking`).
impl PostgresStore {
    fn sync_now(&self, seq: Seq) -> Result<(), StoreError> {
        let was_lost = || self.lost.lock().is_ok_and(|l| l.iter().any(|&(lo, hi)| (lo..=hi).contains(&seq)));
        if self.committed.load(Ordering::Acquire) >= seq && !was_lost() {
            return Ok(());
        }
        let mut conn = self.lock()?;
        if was_lost() || self.failed.load(Ordering::Acquire) {
            return Err(Self::refused());
        }
        // Whoever held the connection before may have committed this batch already.
        if self.committed.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        let batches = std::mem::take(&mut *self.queued.lock().map_err(|_| StoreError::Poisoned)?);
        let Some(&(last, _)) = batches.last() else { return Ok(()) };
        let logged = conn.logged;
        conn.logged =
            Self::commit(&mut conn.client, logged, &batches, self.retention).map_err(|e| self.fail(unavailable(e)))?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.committed.store(last, Ordering::Release);
        Ok(())
    }

    fn meta_now(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.lock()?;
        let row =
            conn.client.query_opt("SELECT value FROM vaultlink_meta WHERE name = $1", &[&name]).map_err(unavailable)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn offer_meta_now(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.lock()?
            .client
            .execute(
                "INSERT INTO vaultlink_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &value],
            )
            .map_err(unavailable)?;
        // Ours, or the one another process offered first; meta rows are never deleted.
        self.meta_now(name)?.ok_or_else(|| StoreError::Postgres(format!("{name} vanished after it was offered")))
    }

    fn set_meta_now(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        conn.client
            .execute(
                "INSERT INTO vaultlink_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[&name, &value],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    fn lease_now(&self) -> Result<Vec<Vec<Op>>, StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(Self::refused());
        }
        {
            let mut conn = self.lock()?;
            match conn.leased_at {
                None => return self.acquire(&mut conn),
                Some(at) if at.elapsed() < FAIR_SHARE => return Ok(Vec::new()),
                Some(_) => {}
            }
        }
        // Held past its fair share: commit what is queued, then queue up behind whoever waits.
        self.sync_now(self.appended.load(Ordering::Acquire))?;
        let mut conn = self.lock()?;
        if conn.leased_at.is_some() {
            self.unlock(&mut conn)?;
        }
        self.acquire(&mut conn)
    }

    fn release_now(&self) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let idle = self.queued.lock().map_err(|_| StoreError::Poisoned)?.is_empty();
        if conn.leased_at.is_some() && idle && !self.failed.load(Ordering::Acquire) {
            self.unlock(&mut conn)?;
        }
        Ok(())
    }

    fn catch_up_now(&self) -> Result<Vec<Vec<Op>>, StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Ok(Vec::new());
        }
        let mut conn = self.lock()?;
        if conn.leased_at.is_some() {
            // Nobody else can have written.
            return Ok(Vec::new());
        }
        match self.read_log(&mut conn) {
            Err(_) if conn.client.is_closed() && !self.failed.load(Ordering::Acquire) => {
                let logged = conn.logged;
                *conn = connect(&self.target)?.resumed(logged);
                self.read_log(&mut conn)
            }
            other => other,
        }
    }

    fn wait_for_others_now(&self, timeout: Duration) {
        let Ok(mut listener) = self.listener.lock() else { return std::thread::sleep(timeout) };
        if listener.is_none() {
            let listening =
                self.target.client().and_then(|mut c| c.batch_execute(&format!("LISTEN {CHANNEL}")).map(|()| c));
            match listening {
                Ok(client) => *listener = Some(Session(Some(client))),
                Err(_) => return std::thread::sleep(timeout),
            }
        }
        let Some(client) = listener.as_mut() else { return };
        let broken = {
            let mut notifications = client.notifications();
            let woke = notifications.timeout_iter(timeout).next();
            // Several commits may have notified: one catch-up covers them all.
            woke.is_err() || notifications.iter().count().is_err()
        };
        if broken {
            *listener = None;
        }
    }

    fn recover_now(&self) -> Result<Option<Records>, StoreError> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(None);
        }
        let mut conn = self.lock()?;
        let mut fresh = connect(&self.target)?;
        let records = snapshot(&mut fresh)?;
        // The old session (and any lease it held) ends with it.
        *conn = fresh;
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
