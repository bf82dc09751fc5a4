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
        let rebuilt = super::State::from_records(s.records.clone());
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
