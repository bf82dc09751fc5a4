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
