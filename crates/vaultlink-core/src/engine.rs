//! The engine: live state in memory, every change written to the store before it is applied.
//!
//! Operations read the current `State` and describe their changes in a `Batch`; the engine
//! writes the batch to the store (durably) and only then applies it in memory. An operation that
//! fails leaves both untouched: no partial writes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::RwLock;

use vaultlink_store::{Op, Seq, Store};

use crate::error::{Error, Result};
use crate::model::{Record, RecordKind, SCHEMA_VERSION, Stored};

/// The whole emulated world, keyed by lower-cased id, with the indexes that keep every lookup on a
/// request path independent of how much state there is (issue 8's scale curves).
#[derive(Debug, Default, Clone)]
pub struct State {
    /// Records by key: a point lookup costs one hash, however many records there are.
    records: HashMap<Key, Record>,
    /// Every key, in order: for walking a subtree (`descendants`) or everything (`all`).
    order: BTreeSet<Key>,
    /// Keys of every record of a kind, in key order.
    by_kind: HashMap<RecordKind, BTreeSet<Key>>,
    /// Lower-cased name of every live vault -> the vault (vault names are global). The record's
    /// own `Arc`, so that finding a vault by name on every data-plane request touches one map.
    vault_names: HashMap<String, std::sync::Arc<crate::model::Vault>>,
    /// Per private DNS zone (lower-cased id): the names of its stored record sets with their
    /// labels reversed (`b.a` for `a.b`) and how many sets each has, so "is there anything at or
    /// below this name" is one range query (`State::zone_has`).
    zone_names: HashMap<String, BTreeMap<String, usize>>,
    /// Lower-cased virtual network id -> keys of the private DNS zone links that point at it, so
    /// a VNet's view finds its zones without walking every link in the state.
    links_by_vnet: HashMap<String, BTreeSet<Key>>,
    /// Counts applied batches: equal generations mean equal states (for caches of derived
    /// answers, such as DNS responses).
    generation: u64,
    /// The engine's clock, which operations read (`State::now`) instead of the system's.
    clock: std::sync::Arc<Clock>,
}

/// A record's key as the state holds it: one allocation shared by the map and every index that
/// names the record (a key is about as large as a small record; BENCHMARKS.md, memory).
type Key = std::sync::Arc<str>;

/// The engine's clock: the system's time plus an offset that tests move forward (`vaultlink
/// clock`), so retention, expiry and token lifetimes are testable without sleeping. Every time
/// the emulated services keep or compare (records, tokens, certificates' validity) is read from
/// it; only the TLS leaves of the listeners stay on the system's time, which clients check.
#[derive(Debug, Default)]
pub struct Clock {
    offset: std::sync::atomic::AtomicI64,
}

impl Clock {
    /// Seconds since the Unix epoch, as this engine sees them.
    pub fn now(&self) -> i64 {
        now() + self.offset()
    }

    /// How far the engine's time is ahead of the system's, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Moves the clock forward (or back, for a negative `seconds`).
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sets the engine's time to `unix` (seconds since the epoch); the clock goes on from there.
    pub fn set(&self, unix: i64) {
        self.offset.store(unix - now(), std::sync::atomic::Ordering::Relaxed);
    }
}

impl State {
    /// The time operations use: the engine's clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    fn from_records(records: impl IntoIterator<Item = (String, Record)>) -> Self {
        let mut state = Self::default();
        let changes: Vec<_> = records.into_iter().map(|(k, r)| (k, Some(r))).collect();
        // Sized once: growing the map while loading leaves each outgrown table behind as a hole
        // in the heap that the process keeps (BENCHMARKS.md, memory per stored secret).
        state.records.reserve(changes.len());
        state.apply(changes);
        state.generation = 0;
        state
    }

    /// The record with this id (any casing).
    pub fn get(&self, id: &str) -> Option<&Record> {
        self.records.get(lowercase(id).as_ref())
    }

    /// Records strictly below `id` in the hierarchy (keys starting with `id/`), in key order.
    pub fn descendants<'a>(&'a self, id: &str) -> impl Iterator<Item = (&'a str, &'a Record)> + use<'a> {
        let prefix = format!("{}/", id.to_ascii_lowercase());
        let start: Key = prefix.as_str().into();
        self.order
            .range((Bound::Included(start), Bound::Unbounded))
            .take_while(move |k| k.starts_with(&prefix))
            .filter_map(|k| self.records.get(k).map(|r| (&**k, r)))
    }

    /// Every record, in key order.
    pub fn all(&self) -> impl Iterator<Item = (&str, &Record)> {
        self.order.iter().filter_map(|k| self.records.get(k).map(|r| (&**k, r)))
    }

    /// Every record of one kind, in key order (without visiting the others).
    pub fn of_kind(&self, kind: RecordKind) -> impl Iterator<Item = &Record> {
        self.by_kind.get(&kind).into_iter().flatten().filter_map(|k| self.records.get(k))
    }

    /// The live vault with this name (any casing).
    pub fn vault_named(&self, name: &str) -> Option<&std::sync::Arc<crate::model::Vault>> {
        self.vault_names.get(lowercase(name).as_ref())
    }

    /// Whether the private DNS zone `zone_id` has a stored record set named `name` (relative,
    /// `@` for the apex) or below it.
    pub fn zone_has(&self, zone_id: &str, name: &str) -> bool {
        let Some(names) = self.zone_names.get(&zone_id.to_ascii_lowercase()) else { return false };
        if name == "@" {
            return !names.is_empty();
        }
        let exact = reversed_labels(name);
        let below = format!("{exact}.");
        names.contains_key(&exact) || names.range(below.clone()..).next().is_some_and(|(k, _)| k.starts_with(&below))
    }

    /// Whether the private DNS zone `zone_id` has a stored record set named exactly `name`.
    pub fn zone_has_exactly(&self, zone_id: &str, name: &str) -> bool {
        self.zone_names
            .get(&zone_id.to_ascii_lowercase())
            .is_some_and(|names| names.contains_key(&reversed_labels(name)))
    }

    /// The private DNS zone links that point at the virtual network `vnet_id`, in key order.
    pub fn links_of_vnet<'a>(&'a self, vnet_id: &str) -> impl Iterator<Item = &'a Record> + 'a {
        self.links_by_vnet.get(lowercase(vnet_id).as_ref()).into_iter().flatten().filter_map(|k| self.records.get(k))
    }

    /// How many record sets are stored in the private DNS zone `zone_id`.
    pub fn zone_record_sets(&self, zone_id: &str) -> usize {
        self.zone_names.get(&zone_id.to_ascii_lowercase()).map_or(0, |names| names.values().sum())
    }

    /// Changes whenever the state changes (never goes back).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Number of records (for start-up logs and tests).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn index(&mut self, key: &Key, record: &Record) {
        self.by_kind.entry(record.kind()).or_default().insert(key.clone());
        match record {
            Record::Vault(v) => {
                self.vault_names.insert(v.name.to_ascii_lowercase(), v.clone());
            }
            Record::RecordSet(r) => {
                let names = self.zone_names.entry(r.zone_id.to_ascii_lowercase()).or_default();
                *names.entry(reversed_labels(&r.name)).or_default() += 1;
            }
            Record::VirtualNetworkLink(l) => {
                self.links_by_vnet.entry(l.virtual_network_id.to_ascii_lowercase()).or_default().insert(key.clone());
            }
            _ => {}
        }
    }

    fn unindex(&mut self, key: &str, record: &Record) {
        if let Some(keys) = self.by_kind.get_mut(&record.kind()) {
            keys.remove(key);
        }
        match record {
            Record::Vault(v) => {
                let name = v.name.to_ascii_lowercase();
                if self.vault_names.get(&name).is_some_and(|x| std::sync::Arc::ptr_eq(x, v)) {
                    self.vault_names.remove(&name);
                }
            }
            Record::RecordSet(r) => {
                let zone = r.zone_id.to_ascii_lowercase();
                if let Some(names) = self.zone_names.get_mut(&zone) {
                    let name = reversed_labels(&r.name);
                    if let Some(n) = names.get_mut(&name) {
                        *n -= 1;
                        if *n == 0 {
                            names.remove(&name);
                        }
                    }
                    if names.is_empty() {
                        self.zone_names.remove(&zone);
                    }
                }
            }
            Record::VirtualNetworkLink(l) => {
                let vnet = l.virtual_network_id.to_ascii_lowercase();
                if let Some(keys) = self.links_by_vnet.get_mut(&vnet) {
                    keys.remove(key);
                    if keys.is_empty() {
                        self.links_by_vnet.remove(&vnet);
                    }
                }
            }
            _ => {}
        }
    }

    fn apply(&mut self, changes: Vec<(String, Option<Record>)>) {
        self.generation += 1;
        for (key, record) in changes {
            if let Some(old) = self.records.remove(key.as_str()) {
                self.unindex(&key, &old);
            }
            match record {
                Some(r) => {
                    let key: Key = key.into();
                    self.index(&key, &r);
                    self.order.insert(key.clone());
                    self.records.insert(key, r);
                }
                None => {
                    self.order.remove(key.as_str());
                }
            }
        }
    }
}

/// `a.b.c` -> `c.b.a`, lower-cased.
fn reversed_labels(name: &str) -> String {
    name.to_ascii_lowercase().rsplit('.').collect::<Vec<_>>().join(".")
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
        let below: Vec<String> = state.descendants(id).map(|(k, _)| k.to_string()).collect();
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

    /// The record under `id` as this batch would leave it: its pending value, else the state's.
    pub fn latest(&self, state: &State, id: &str) -> Option<Record> {
        match self.pending(id) {
            Some(r) => r.cloned(),
            None => state.get(id).cloned(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Records this batch puts (latest first is not guaranteed; later puts win when applied).
    pub fn puts(&self) -> impl Iterator<Item = (&String, &Record)> {
        self.changes.iter().filter_map(|(k, r)| r.as_ref().map(|r| (k, r)))
    }
}

/// Operations tried on a copy of the state ([`Engine::trial`]): run them against `engine` (a
/// whole group, each seeing the ones before), then write them all at once with
/// [`Engine::commit`], or drop the trial and nothing was written. `vaultlink seed` applies a file
/// this way, so a bad file changes nothing.
pub struct Trial {
    pub engine: std::sync::Arc<Engine>,
    /// The state's generation when the trial began.
    base: u64,
    touched: std::sync::Arc<std::sync::Mutex<BTreeSet<String>>>,
}

/// A trial's store: keeps the keys each batch touched, nothing else.
struct Touched(std::sync::Arc<std::sync::Mutex<BTreeSet<String>>>);

impl Store for Touched {
    fn load_all(&self) -> std::result::Result<Vec<(String, Vec<u8>)>, vaultlink_store::StoreError> {
        Ok(Vec::new())
    }
    fn append(&self, ops: &[Op]) -> std::result::Result<Seq, vaultlink_store::StoreError> {
        let mut touched = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for op in ops {
            let (Op::Put { key, .. } | Op::Delete { key }) = op;
            touched.insert(key.clone());
        }
        Ok(0)
    }
    fn sync(&self, _: Seq) -> std::result::Result<(), vaultlink_store::StoreError> {
        Ok(())
    }
    fn meta(&self, _: &str) -> std::result::Result<Option<Vec<u8>>, vaultlink_store::StoreError> {
        Ok(None)
    }
    fn set_meta(&self, _: &str, _: &[u8]) -> std::result::Result<(), vaultlink_store::StoreError> {
        Ok(())
    }
    fn is_durable(&self) -> bool {
        false
    }
    fn syncs(&self) -> u64 {
        0
    }
}

/// The writes of a `deferring_sync` call on this thread: whose engine, and the position its
/// caller must settle.
#[derive(Clone, Copy)]
struct Deferred {
    engine: usize,
    seq: Option<Seq>,
}

thread_local! {
    static DEFERRED: std::cell::Cell<Option<Deferred>> = const { std::cell::Cell::new(None) };
}

/// Live state plus its durable store.
///
/// Writers are serialised by `writer`: each validates against the state, appends its batch to the
/// store's log (from then on a crash of the process cannot lose it), applies it to the state, and
/// lets the next writer in. Only then does it wait for the disk sync, which it shares with every
/// writer that appended meanwhile (group commit); it answers once the sync is done. Readers are
/// never blocked by a disk sync. A reader can see a write up to one disk sync before the writer is
/// answered; only a crash of the machine inside that window loses such a write (ARCHITECTURE.md).
pub struct Engine {
    state: RwLock<State>,
    writer: std::sync::Mutex<()>,
    store: Box<dyn Store>,
}

impl Engine {
    /// Loads every record from the store. A fresh store holds nothing: `bootstrap::seed` adds what
    /// every instance starts with, and whoever opens an engine calls it next.
    pub fn open(store: Box<dyn Store>) -> Result<Self> {
        let mut records = Vec::new();
        let mut unreadable = None;
        store.load_each(&mut |n, key, bytes| match decode_record(&key, &bytes) {
            Ok(record) => {
                if records.is_empty() {
                    records.reserve_exact(n);
                }
                records.push((key, record));
            }
            Err(e) => {
                unreadable.get_or_insert(e);
            }
        })?;
        if let Some(e) = unreadable {
            return Err(e);
        }
        let state = State::from_records(records);
        Ok(Self { state: RwLock::new(state), writer: std::sync::Mutex::new(()), store })
    }

    /// After the store failed a sync (a database out of reach), makes it writable again if it can
    /// (`Store::recover`) and then replaces the state with what the store holds, dropping the
    /// batches memory applied that were never committed (their writers were answered with the
    /// failure). Says whether it recovered. The new state's generation is past every earlier
    /// one, so caches and trials begun before are not taken for current.
    pub fn recover(&self) -> Result<bool> {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(loaded) = self.store.recover()? else { return Ok(false) };
        let mut fresh = State::from_records(decode(loaded)?);
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        fresh.clock = state.clock.clone();
        fresh.generation = state.generation + 1;
        *state = fresh;
        Ok(true)
    }

    /// The engine's clock (what `State::now` reads).
    pub fn clock(&self) -> std::sync::Arc<Clock> {
        self.read(|s| s.clock.clone())
    }

    /// Runs `f` against a consistent snapshot of the state.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        f(&state)
    }

    /// Runs an operation: `f` validates and fills a batch; the batch is written to the store's log
    /// and applied, and the call returns once it is on disk. The operation's error type is the
    /// core's `Error` or one the store's failures convert into.
    pub fn write<R, E: From<Error>>(&self, f: impl FnOnce(&State, &mut Batch) -> Result<R, E>) -> Result<R, E> {
        self.write_then(f, |_, out| out)
    }

    /// Runs an operation as `write` does, then `render`s its answer from the state with its batch
    /// applied (the same state when the batch is empty), still under the writer lock, so no other
    /// write comes between the change and what its answer shows. The answer is returned once the
    /// batch is on disk, as `write`'s.
    pub fn write_then<R, T, E: From<Error>>(
        &self,
        f: impl FnOnce(&State, &mut Batch) -> Result<R, E>,
        render: impl FnOnce(&State, R) -> T,
    ) -> Result<T, E> {
        let (answer, seq) = {
            let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            // A shared store: this process writes alone from here, on the newest state.
            self.apply_others(self.store.lease().map_err(Error::from)?)?;
            let mut batch = Batch::default();
            let out = {
                let state = self.state.read().unwrap_or_else(|p| p.into_inner());
                f(&state, &mut batch)
            };
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    self.release_lease();
                    return Err(e);
                }
            };
            let seq = if batch.is_empty() {
                // Nothing to write, but the answer may rest on another writer's batch that is
                // applied and not yet on disk: it waits for that batch's sync like a write.
                self.store.append(&[]).map_err(Error::from)?
            } else {
                let mut ops = Vec::with_capacity(batch.changes.len());
                for (key, record) in &batch.changes {
                    ops.push(match record {
                        Some(r) => Op::Put {
                            key: key.clone(),
                            value: serde_json::to_vec(&crate::model::StoredRef { v: SCHEMA_VERSION, record: r })
                                .map_err(|e| Error::internal(e.to_string()))?,
                        },
                        None => Op::Delete { key: key.clone() },
                    });
                }
                let seq = self.store.append(&ops).map_err(Error::from)?;
                self.state.write().unwrap_or_else(|p| p.into_inner()).apply(batch.changes);
                seq
            };
            let answer = render(&self.state.read().unwrap_or_else(|p| p.into_inner()), out);
            (answer, seq)
        };
        if !self.defer_sync(seq) {
            self.settle(seq)?;
        }
        Ok(answer)
    }

    /// Returns once every batch up to `seq` is on disk: what a write waits for before it is
    /// answered (inside `write_then`, or after `deferring_sync`).
    pub fn settle(&self, seq: Seq) -> Result<()> {
        self.store.sync(seq).map_err(Error::from)?;
        // Nobody validating now (the writer lock is free): the lease can go if all is committed.
        // Otherwise the writer holding the lock gives it up after its own sync.
        if let Ok(_writer) = self.writer.try_lock() {
            self.release_lease();
        }
        Ok(())
    }

    /// Runs `f` (on this thread) with its writes answered before their disk sync: each write
    /// returns once its batch is appended and applied, and the call returns, beside `f`'s
    /// answer, the position to `settle` before anyone is told of it (`None`: nothing to wait
    /// for). So a caller can wait for the disk without holding a thread (`http.rs`). Writes to
    /// other engines, and writes outside `f`, wait as usual.
    pub fn deferring_sync<R>(&self, f: impl FnOnce() -> R) -> (R, Option<Seq>) {
        let outer = DEFERRED.replace(Some(Deferred { engine: self.id(), seq: None }));
        let out = f();
        let inner = DEFERRED.replace(outer);
        (out, inner.and_then(|d| d.seq))
    }

    /// Whether the write at `seq` is answered before its sync (`deferring_sync`): then it is
    /// recorded for the caller to settle, and the writer does not wait.
    fn defer_sync(&self, seq: Seq) -> bool {
        if !self.store.is_durable() {
            return false;
        }
        DEFERRED.with(|d| match d.get() {
            Some(Deferred { engine, seq: had }) if engine == self.id() => {
                d.set(Some(Deferred { engine, seq: had.max(Some(seq)) }));
                true
            }
            _ => false,
        })
    }

    fn id(&self) -> usize {
        std::ptr::from_ref(self).addr()
    }

    /// Applies batches other processes committed to a shared store (`Store::lease`,
    /// `Store::catch_up`); the caller holds the writer lock.
    fn apply_others(&self, batches: Vec<Vec<Op>>) -> Result<()> {
        if batches.is_empty() {
            return Ok(());
        }
        let mut changes = Vec::new();
        for ops in batches {
            for op in ops {
                changes.push(match op {
                    Op::Put { key, value } => {
                        let record = decode_record(&key, &value)?;
                        (key, Some(record))
                    }
                    Op::Delete { key } => (key, None),
                });
            }
        }
        self.state.write().unwrap_or_else(|p| p.into_inner()).apply(changes);
        Ok(())
    }

    /// Gives a shared store's lease up if nothing is in flight; the caller holds the writer lock.
    fn release_lease(&self) {
        if let Err(e) = self.store.release() {
            tracing::warn!(error = %e, "giving up the state database's write lease failed");
        }
    }

    /// Applies what other processes committed to a shared store since this one last looked, and
    /// gives the lease up if this process is idle; returns how many batches it applied. Nothing
    /// for a store of one process.
    pub fn follow(&self) -> Result<usize> {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let batches = self.store.catch_up()?;
        let n = batches.len();
        self.apply_others(batches)?;
        self.release_lease();
        Ok(n)
    }

    /// Waits up to `timeout` for another process to commit to a shared store (sleeps for others).
    pub fn wait_for_others(&self, timeout: std::time::Duration) {
        self.store.wait_for_others(timeout);
    }

    /// A copy of the state to try a group of operations on before any of it is written
    /// ([`Trial`]): its writes go to a store that keeps nothing but which keys they touched. The
    /// copy shares this engine's clock.
    pub fn trial(&self) -> Trial {
        let state = self.read(State::clone);
        let base = state.generation;
        let touched = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
        let store = Touched(touched.clone());
        let engine = Engine { state: RwLock::new(state), writer: std::sync::Mutex::new(()), store: Box::new(store) };
        let engine = std::sync::Arc::new(engine);
        Trial { engine, base, touched }
    }

    /// Writes what `trial` changed, in one batch: every record it touched as the trial left it.
    /// Refused with `StateChanged` (nothing written) when another write came in after the trial
    /// began, since the trial's operations were checked against the state before it. Returns how
    /// many records were put or deleted.
    pub fn commit(&self, trial: &Trial) -> Result<usize> {
        let keys = std::mem::take(&mut *trial.touched.lock().unwrap_or_else(|p| p.into_inner()));
        self.write(|state, batch| {
            if state.generation != trial.base {
                return Err(Error::conflict(
                    "StateChanged",
                    "The state changed while the operations were tried; try them again.",
                ));
            }
            trial.engine.read(|tried| {
                for key in &keys {
                    match tried.get(key) {
                        Some(r) => batch.put(key, r.clone()),
                        None => batch.delete(key),
                    }
                }
            });
            Ok(keys.len())
        })
    }

    /// A named value the store keeps beside the records (`Store::meta`), such as the root key's
    /// check value (`crate::rootkey`).
    pub fn meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.store.meta(name)?)
    }

    /// Sets a named value beside the records unless one is there, and returns the one stored
    /// (`Store::offer_meta`: of several replicas offering at once, one wins).
    pub fn offer_meta(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        Ok(self.store.offer_meta(name, value)?)
    }

    /// Sets a named value beside the records; durable when it returns.
    pub fn set_meta(&self, name: &str, value: &[u8]) -> Result<()> {
        Ok(self.store.set_meta(name, value)?)
    }

    /// How many disk syncs the store has made.
    pub fn store_syncs(&self) -> u64 {
        self.store.syncs()
    }
}

/// The stored records, checked against the schema versions this build reads.
fn decode(loaded: vaultlink_store::Records) -> Result<Vec<(String, Record)>> {
    loaded.into_iter().map(|(key, bytes)| decode_record(&key, &bytes).map(|record| (key, record))).collect()
}

/// How `StoredRef` begins a secret of schema version 1, the commonest record by far.
const SECRET_V1: &[u8] = b"{\"v\":1,\"kind\":\"secret\",";

/// One stored record, checked against the schema versions this build reads.
fn decode_record(key: &str, bytes: &[u8]) -> Result<Record> {
    let unreadable = |e: serde_json::Error| Error::internal(format!("unreadable record {key}: {e}"));
    if bytes.starts_with(SECRET_V1) {
        // Read straight into the secret (it ignores the envelope's two fields): the general path
        // buffers every record whole, twice, for the flattened, tagged enum, which was a fifth of
        // start-up with 100,000 secrets (BENCHMARKS.md, memory per stored secret).
        return serde_json::from_slice(bytes).map(Record::Secret).map_err(unreadable);
    }
    let stored: Stored = serde_json::from_slice(bytes).map_err(unreadable)?;
    if stored.v > SCHEMA_VERSION {
        return Err(Error::internal(format!(
            "record {key} has schema version {} but this vaultlink reads up to {SCHEMA_VERSION}; upgrade vaultlink",
            stored.v
        )));
    }
    Ok(stored.record)
}

/// `s` in ASCII lower case, copied only when it has an upper-case letter (keys, names and path
/// segments on request paths usually arrive lower-cased already).
pub fn lowercase(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) { s.to_ascii_lowercase().into() } else { s.into() }
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

#[cfg(test)]
mod tests;
