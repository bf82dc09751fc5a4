//! The store's tests: the SQLite store's durability and group commit, the memory store's
//! forgetting, both through the `Store` trait.

use super::*;

/// Appends and syncs one batch (what `Engine::write` does, without the state between).
trait Apply {
    fn apply(&self, ops: &[Op]) -> Result<(), StoreError>;
}

impl<S: Store + ?Sized> Apply for S {
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
        let store = SqliteStore::open(&path).unwrap();
        store
            .apply(&[
                Op::Put { key: "b".into(), value: b"2".to_vec() },
                Op::Put { key: "a".into(), value: b"1".to_vec() },
            ])
            .unwrap();
        store.apply(&[Op::Delete { key: "b".into() }, Op::Put { key: "c".into(), value: b"3".to_vec() }]).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let all = store.load_all().unwrap();
    assert_eq!(all, vec![("a".into(), b"1".to_vec()), ("c".into(), b"3".to_vec())]);
    // Streamed, the same records in the same order, each told how many there are.
    let mut each = Vec::new();
    store.load_each(&mut |n, key, value| each.push((n, key, value))).unwrap();
    assert_eq!(each, vec![(2, "a".into(), b"1".to_vec()), (2, "c".into(), b"3".to_vec())]);
}

/// One sync covers every batch appended before it; a batch already covered costs no sync.
#[test]
fn one_sync_covers_every_batch_appended_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStore::open(&path).unwrap();
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
    let keys: Vec<String> = SqliteStore::open(&path).unwrap().load_all().unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, vec!["k1", "k2", "k3", "k4"]);
}

/// Writers on many threads: every acknowledged batch is on disk after a reopen.
#[test]
fn concurrent_writers_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
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
    let all = SqliteStore::open(&path).unwrap().load_all().unwrap();
    assert_eq!(all.len(), 200);
    assert!(all.iter().all(|(k, v)| *k == format!("t{}/{:02}", v[0], v[1])));
}

#[test]
fn in_memory_store_keeps_nothing() {
    let store = MemoryStore;
    store.apply(&[Op::Put { key: "a".into(), value: vec![1] }]).unwrap();
    assert!(store.load_all().unwrap().is_empty());
    assert!(!store.is_durable());
}

/// Copies a live store's files as a crash would leave them (the log not yet checkpointed).
fn crash_copy(from: &std::path::Path, to: &std::path::Path) {
    for suffix in ["", "-wal", ".created"] {
        let name = format!("state.db{suffix}");
        std::fs::copy(from.join(&name), to.join(&name)).unwrap();
    }
}

fn put(key: &str) -> Vec<Op> {
    vec![Op::Put { key: key.into(), value: key.as_bytes().to_vec() }]
}

/// A missing or empty state file where one has been is refused, not started empty.
#[test]
fn a_missing_or_empty_state_file_where_one_was_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    SqliteStore::open(&path).unwrap().apply(&put("a")).unwrap();
    assert!(marker_path(&path).exists());

    std::fs::write(&path, b"").unwrap();
    let _ = std::fs::remove_file(dir.path().join("state.db-wal"));
    let err = SqliteStore::open(&path).err().expect("an empty state file is refused");
    assert!(matches!(err, StoreError::Missing { empty: true, .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("state.db is empty") && msg.contains("backup") && msg.contains("state.db.created"), "{msg}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "the refusal wrote nothing");

    std::fs::remove_file(&path).unwrap();
    let err = SqliteStore::open(&path).err().expect("a missing state file is refused");
    assert!(matches!(err, StoreError::Missing { empty: false, .. }), "{err}");
    assert!(!path.exists());

    // A fresh directory (no marker) starts, and so does a zero-length file a first start left.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::write(fresh.path().join("state.db"), b"").unwrap();
    SqliteStore::open(&fresh.path().join("state.db")).unwrap();
}

#[test]
fn meta_survives_reopen_beside_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.meta("k").unwrap(), None);
        store.set_meta("k", b"v1").unwrap();
        store.set_meta("k", b"v2").unwrap();
        store.apply(&put("a")).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.meta("k").unwrap().as_deref(), Some(&b"v2"[..]));
    assert_eq!(store.load_all().unwrap(), vec![("a".into(), b"a".to_vec())]);
    assert_eq!(MemoryStore.meta("k").unwrap(), None);
}

/// A frame damaged in the middle of the log: SQLite rolls back it and everything after it,
/// silently; the store says how many committed transactions that was.
#[test]
fn a_damaged_log_is_reported_with_what_was_lost() {
    let live = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&live.path().join("state.db")).unwrap();
    for k in ["k1", "k2", "k3", "k4", "k5"] {
        store.apply(&put(k)).unwrap();
    }

    // An undamaged log after a crash: everything is kept, nothing reported.
    let intact = tempfile::tempdir().unwrap();
    crash_copy(live.path(), intact.path());
    let reopened = SqliteStore::open(&intact.path().join("state.db")).unwrap();
    assert_eq!(reopened.recovery(), None);
    assert_eq!(reopened.load_all().unwrap().len(), 5);

    // Damage the frame that commits k3: k3, k4 and k5 are rolled back.
    let damaged = tempfile::tempdir().unwrap();
    crash_copy(live.path(), damaged.path());
    let wal_path = damaged.path().join("state.db-wal");
    let mut bytes = std::fs::read(&wal_path).unwrap();
    let commits: Vec<usize> = wal::frames(&bytes).into_iter().filter(|f| f.1).map(|f| f.0).collect();
    let k3 = commits[commits.len() - 3];
    bytes[k3 + 24 + 100] ^= 0x40;
    std::fs::write(&wal_path, &bytes).unwrap();
    let reopened = SqliteStore::open(&damaged.path().join("state.db")).unwrap();
    let keys: Vec<String> = reopened.load_all().unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["k1", "k2"], "SQLite rolled back from the damaged frame");
    let loss = reopened.recovery().expect("the loss is reported").clone();
    assert!(matches!(loss.stop, WalStop::Checksum(_)), "{loss:?}");
    assert_eq!(loss.dropped_commits, 3, "{loss:?}");
    assert!(loss.loses_commits());
    let msg = loss.to_string();
    assert!(msg.contains("fails its checksum") && msg.contains("at least 3 committed transactions"), "{msg}");
    drop(reopened);
    // Once recovered (and checkpointed on close), the next start has nothing more to report.
    assert_eq!(SqliteStore::open(&damaged.path().join("state.db")).unwrap().recovery(), None);
}

/// A log cut inside a frame: the transaction it belonged to is rolled back, and reported.
#[test]
fn a_torn_log_is_reported() {
    let live = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&live.path().join("state.db")).unwrap();
    for k in ["k1", "k2"] {
        store.apply(&put(k)).unwrap();
    }
    let torn = tempfile::tempdir().unwrap();
    crash_copy(live.path(), torn.path());
    let wal_path = torn.path().join("state.db-wal");
    let bytes = std::fs::read(&wal_path).unwrap();
    std::fs::write(&wal_path, &bytes[..bytes.len() - 100]).unwrap();
    let reopened = SqliteStore::open(&torn.path().join("state.db")).unwrap();
    let keys: Vec<String> = reopened.load_all().unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["k1"]);
    let loss = reopened.recovery().expect("the torn frame is reported");
    assert!(matches!(loss.stop, WalStop::Torn(_)), "{loss:?}");
    assert!(loss.to_string().contains("ends inside frame"), "{loss}");
}

/// A log whose header is damaged is ignored whole by SQLite; reported as such.
#[test]
fn a_damaged_log_header_is_reported() {
    let live = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&live.path().join("state.db")).unwrap();
    store.apply(&put("k1")).unwrap();
    let damaged = tempfile::tempdir().unwrap();
    crash_copy(live.path(), damaged.path());
    let wal_path = damaged.path().join("state.db-wal");
    let mut bytes = std::fs::read(&wal_path).unwrap();
    bytes[17] ^= 0x01;
    std::fs::write(&wal_path, &bytes).unwrap();
    let reopened = SqliteStore::open(&damaged.path().join("state.db")).unwrap();
    assert!(reopened.load_all().unwrap().is_empty());
    let loss = reopened.recovery().expect("reported");
    assert_eq!(loss.stop, WalStop::Header);
    assert!(loss.loses_commits() && loss.dropped_commits >= 1, "{loss:?}");
}
