//! Tests of `engine`.

use crate::model::RecordKind;
use crate::{keyvault, testing};

/// An engine over the state file at `path`, seeded as `serve` seeds it.
fn open(path: &std::path::Path) -> super::Engine {
    let e = super::Engine::open(Box::new(vaultlink_store::SqliteStore::open(path).unwrap())).unwrap();
    crate::bootstrap::seed(&e).unwrap();
    e
}

/// Writers on many threads share disk syncs (group commit), and every write they were answered
/// for is in the state after a reopen.
#[test]
fn concurrent_durable_writes_all_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let group = |t: usize, i: usize| format!("rg-{t}-{i}");
    {
        let e = std::sync::Arc::new(open(&path));
        let before = e.store_syncs();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let e = e.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        e.write(|s, b| {
                            crate::resources::put_resource_group(
                                s,
                                b,
                                &testing::developer(),
                                crate::seed::SUBSCRIPTION_ID,
                                &group(t, i),
                                crate::wire::parse(serde_json::json!({"location": "westeurope"}))?,
                            )
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(e.store_syncs() - before <= 80, "at most one sync per write");
    }
    let e = open(&path);
    e.read(|s| {
        for t in 0..8 {
            for i in 0..10 {
                let id = crate::resources::resource_group_id(crate::seed::SUBSCRIPTION_ID, &group(t, i));
                assert!(s.get(&id).is_some(), "{id} lost");
            }
        }
    });
}

/// The indexes follow every put and delete: a deleted vault is no longer found by name, a
/// re-created one is, and the per-kind lists hold exactly the live records.
#[test]
fn indexes_follow_puts_and_deletes() {
    let e = testing::world();
    let v = testing::vault(&e, "IdxVault1", serde_json::json!({}));
    testing::vault(&e, "idxvault2", serde_json::json!({}));
    e.read(|s| {
        assert_eq!(keyvault::vault_by_name(s, "idxvault1").map(|x| x.id.clone()), Some(v.id.clone()));
        assert_eq!(s.of_kind(RecordKind::Vault).count(), 2);
        let scanned = s.all().filter(|(_, r)| r.kind() == RecordKind::Vault).count();
        assert_eq!(scanned, 2);
    });
    let c = testing::developer();
    e.write(|s, b| keyvault::delete_vault(s, b, &c, (crate::seed::SUBSCRIPTION_ID, "rg1", "IdxVault1"))).unwrap();
    e.read(|s| {
        assert!(keyvault::vault_by_name(s, "IDXVAULT1").is_none());
        assert!(keyvault::vault_by_name(s, "idxvault2").is_some());
        assert_eq!(s.of_kind(RecordKind::Vault).count(), 1);
        assert_eq!(s.of_kind(RecordKind::DeletedVault).count(), 1);
    });
    // A rebuilt state (as at start-up) has the same indexes as the one kept up to date.
    e.read(|s| {
        let rebuilt = super::State::from_records(s.records.iter().map(|(k, r)| (k.to_string(), r.clone())));
        assert_eq!(rebuilt.order, s.order);
        assert_eq!(rebuilt.by_kind, s.by_kind);
        assert_eq!(rebuilt.vault_names, s.vault_names);
        assert_eq!(rebuilt.zone_names, s.zone_names);
        assert_eq!(rebuilt.links_by_vnet, s.links_by_vnet);
        assert_eq!(s.order.len(), s.records.len());
    });
}

/// `write_then` renders from the state with the write's batch applied (a vault the batch puts is
/// there, with the generation moved on), and from the unchanged state when the batch is empty.
#[test]
fn write_then_renders_the_applied_batch() {
    let e = testing::world();
    let c = testing::developer();
    let spec = crate::wire::parse(serde_json::json!({"location": "westeurope"})).unwrap();
    let before = e.read(super::State::generation);
    let (id, seen, generation) = e
        .write_then(
            |s, b| {
                crate::resources::put_resource_group(s, b, &c, crate::seed::SUBSCRIPTION_ID, "rg-then", spec)
                    .map(|(g, _)| g.id)
            },
            |s, id| {
                let seen = s.get(&id).is_some();
                (id, seen, s.generation())
            },
        )
        .unwrap();
    assert!(seen, "{id} is in the state the render sees");
    assert_eq!(generation, before + 1);
    let (found, generation) =
        e.write_then(|_, _| Ok::<_, crate::Error>(id.clone()), |s, id| (s.get(&id).is_some(), s.generation())).unwrap();
    assert!(found);
    assert_eq!(generation, before + 1, "an empty batch renders from the same state");
}

fn put_group(e: &super::Engine, name: &str) -> crate::Result<()> {
    e.write(|s, b| {
        crate::resources::put_resource_group(
            s,
            b,
            &testing::developer(),
            crate::seed::SUBSCRIPTION_ID,
            name,
            crate::wire::parse(serde_json::json!({"location": "westeurope"}))?,
        )
        .map(|_| ())
    })
}

fn group_id(name: &str) -> String {
    format!("/subscriptions/{}/resourceGroups/{name}", crate::seed::SUBSCRIPTION_ID)
}

/// A trial's writes reach the engine only by `commit`, all at once, and only if nothing else
/// was written meanwhile; dropped, it leaves the engine as it was.
#[test]
fn a_trial_is_written_whole_by_commit_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let e = open(&path);
    put_group(&e, "doomed").unwrap();
    let before = e.read(|s| s.len());

    let trial = e.trial();
    put_group(&trial.engine, "rg-a").unwrap();
    put_group(&trial.engine, "rg-b").unwrap();
    trial
        .engine
        .write(|s, b| -> crate::Result<()> {
            b.delete_tree(s, &group_id("doomed"));
            Ok(())
        })
        .unwrap();
    assert!(trial.engine.read(|s| s.get(&group_id("rg-a")).is_some()));
    assert!(e.read(|s| s.get(&group_id("rg-a")).is_none()), "the engine does not see the trial");
    assert_eq!(e.commit(&trial).unwrap(), 3);
    for (name, present) in [("rg-a", true), ("rg-b", true), ("doomed", false)] {
        assert_eq!(e.read(|s| s.get(&group_id(name)).is_some()), present, "{name}");
    }
    drop(e);
    let e = open(&path);
    assert_eq!(e.read(|s| s.len()), before + 1, "the commit is durable");

    let dropped = e.trial();
    put_group(&dropped.engine, "rg-never").unwrap();
    drop(dropped);
    assert!(e.read(|s| s.get(&group_id("rg-never")).is_none()));

    let stale = e.trial();
    put_group(&stale.engine, "rg-stale").unwrap();
    put_group(&e, "rg-meanwhile").unwrap();
    let refused = e.commit(&stale).unwrap_err();
    assert_eq!(refused.code(), "StateChanged");
    assert!(e.read(|s| s.get(&group_id("rg-stale")).is_none()));
}

/// A store whose database can be taken away: commits fail while it is `down`, and it recovers,
/// handing back what was committed, once it is up again.
#[derive(Clone, Default)]
struct Flaky(std::sync::Arc<Wire>);

#[derive(Default)]
struct Wire {
    down: std::sync::atomic::AtomicBool,
    failed: std::sync::atomic::AtomicBool,
    queued: std::sync::Mutex<Vec<vaultlink_store::Op>>,
    committed: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
}

impl vaultlink_store::Store for Flaky {
    fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, vaultlink_store::StoreError> {
        Ok(self.0.committed.lock().unwrap().clone().into_iter().collect())
    }
    fn append(&self, ops: &[vaultlink_store::Op]) -> Result<u64, vaultlink_store::StoreError> {
        if self.0.failed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(vaultlink_store::StoreError::Unavailable("refused".into()));
        }
        self.0.queued.lock().unwrap().extend_from_slice(ops);
        Ok(1)
    }
    fn sync(&self, _seq: u64) -> Result<(), vaultlink_store::StoreError> {
        let ops = std::mem::take(&mut *self.0.queued.lock().unwrap());
        if self.0.down.load(std::sync::atomic::Ordering::SeqCst) {
            self.0.failed.store(true, std::sync::atomic::Ordering::SeqCst);
            return Err(vaultlink_store::StoreError::Unavailable("down".into()));
        }
        let mut committed = self.0.committed.lock().unwrap();
        for op in ops {
            match op {
                vaultlink_store::Op::Put { key, value } => committed.insert(key, value),
                vaultlink_store::Op::Delete { key } => committed.remove(&key),
            };
        }
        Ok(())
    }
    fn meta(&self, _name: &str) -> Result<Option<Vec<u8>>, vaultlink_store::StoreError> {
        Ok(None)
    }
    fn set_meta(&self, _name: &str, _value: &[u8]) -> Result<(), vaultlink_store::StoreError> {
        Ok(())
    }
    fn is_durable(&self) -> bool {
        true
    }
    fn syncs(&self) -> u64 {
        0
    }
    fn recover(&self) -> Result<Option<vaultlink_store::Records>, vaultlink_store::StoreError> {
        if !self.0.failed.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(None);
        }
        if self.0.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(vaultlink_store::StoreError::Unavailable("still down".into()));
        }
        self.0.failed.store(false, std::sync::atomic::Ordering::SeqCst);
        self.load_all().map(Some)
    }
}

/// While the database is away a write fails with 503's kind and every later one is refused
/// without touching it; once it is back, `recover` drops what memory applied of the failed
/// write, and writes work again.
#[test]
fn a_write_the_store_lost_is_gone_after_recovery() {
    use std::sync::atomic::Ordering::SeqCst;
    use vaultlink_store::Store;
    let flaky = Flaky::default();
    let e = super::Engine::open(Box::new(flaky.clone())).unwrap();
    crate::bootstrap::seed(&e).unwrap();
    put_group(&e, "kept").unwrap();
    assert!(!e.recover().unwrap(), "nothing to recover from");

    flaky.0.down.store(true, SeqCst);
    let lost = put_group(&e, "lost").unwrap_err();
    assert_eq!((lost.kind, lost.code()), (crate::error::Kind::Unavailable, "ServiceUnavailable"));
    let refused = put_group(&e, "refused").unwrap_err();
    assert_eq!(refused.kind, crate::error::Kind::Unavailable);
    assert!(e.read(|s| s.get(&group_id("refused")).is_none()), "a refused write is not applied");
    assert!(e.recover().is_err(), "still down");
    let before = e.read(super::State::generation);

    flaky.0.down.store(false, SeqCst);
    assert!(e.recover().unwrap());
    assert!(e.read(|s| s.get(&group_id("kept")).is_some()));
    assert!(e.read(|s| s.get(&group_id("lost")).is_none()), "memory dropped the write that was never committed");
    assert!(e.read(super::State::generation) > before);
    put_group(&e, "after").unwrap();
    assert!(flaky.load_all().unwrap().iter().any(|(k, _)| k == &group_id("after").to_ascii_lowercase()));
}

/// A secret as the engine writes it is read by the direct path, and reads the same as by the
/// general one (the envelope in another order, which only the general path takes).
#[test]
fn a_stored_secret_reads_the_same_by_either_path() {
    use crate::model::{Record, SecretObject, SecretVersion, StoredRef};
    let version = SecretVersion {
        version: "abc".into(),
        sealed_value: "c2VhbGVk".into(),
        content_type: Some("text/plain".into()),
        tags: [("a".to_string(), "b".to_string())].into(),
        enabled: true,
        nbf: None,
        exp: Some(9),
        created: 1,
        updated: 2,
    };
    let secret = SecretObject {
        vault_internal_id: "vid".into(),
        name: "Name".into(),
        versions: vec![version.clone(), version],
        deleted: None,
        managed: true,
    };
    let record = Record::Secret(secret);
    let bytes = serde_json::to_vec(&StoredRef { v: crate::model::SCHEMA_VERSION, record: &record }).unwrap();
    assert!(bytes.starts_with(super::SECRET_V1), "{}", String::from_utf8_lossy(&bytes));
    let direct = super::decode_record("k", &bytes).unwrap();
    let mut reordered: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes).unwrap();
    let v = reordered.remove("v").unwrap();
    reordered.insert("v".into(), v);
    let reordered = serde_json::to_vec(&reordered).unwrap();
    assert!(!reordered.starts_with(super::SECRET_V1));
    let general = super::decode_record("k", &reordered).unwrap();
    let expected = serde_json::to_value(&record).unwrap();
    assert!(matches!(direct, Record::Secret(_)));
    assert_eq!(serde_json::to_value(&direct).unwrap(), expected);
    assert_eq!(serde_json::to_value(&general).unwrap(), expected);
}

/// Inside `deferring_sync` a write is applied and answered without a disk sync, and the position
/// it returns is what `settle` makes durable; another engine's writes inside it, and writes
/// outside it, sync as before; an engine that keeps nothing has nothing to settle.
#[test]
fn a_deferred_write_is_synced_by_settle() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(&dir.path().join("state.db"));
    let other = open(&dir.path().join("other.db"));
    let before = (e.store_syncs(), other.store_syncs());

    let (written, seq) = e.deferring_sync(|| put_group(&e, "deferred"));
    written.unwrap();
    assert_eq!(e.store_syncs(), before.0, "not synced inside the scope");
    assert!(e.read(|s| s.get(&group_id("deferred")).is_some()), "applied at once");
    e.settle(seq.expect("a position to settle")).unwrap();
    assert_eq!(e.store_syncs(), before.0 + 1);

    let (written, seq) = e.deferring_sync(|| put_group(&other, "elsewhere"));
    written.unwrap();
    assert_eq!((seq, other.store_syncs()), (None, before.1 + 1), "another engine's write syncs itself");
    put_group(&e, "outside").unwrap();
    assert_eq!(e.store_syncs(), before.0 + 2, "a write outside the scope syncs itself");

    let memory = super::Engine::open(Box::new(vaultlink_store::MemoryStore)).unwrap();
    let (written, seq) = memory.deferring_sync(|| crate::bootstrap::seed(&memory));
    written.unwrap();
    assert_eq!(seq, None, "nothing durable to wait for");
}
