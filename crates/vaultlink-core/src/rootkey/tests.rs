use serde_json::json;
use vaultlink_crypto::Sealer;
use vaultlink_store::SqliteStore;

use super::*;
use crate::kv::{keys, secrets};
use crate::testing::{admitted_vault, world_on};

fn engine_at(dir: &std::path::Path) -> Engine {
    let store = SqliteStore::open(&dir.join("state.db")).unwrap();
    let e = Engine::open(Box::new(store)).unwrap();
    crate::bootstrap::seed(&e).unwrap();
    e
}

fn put_secret(e: &Engine, sealer: &Sealer, vault: &str, name: &str) {
    let v = crate::kv::Admitted::assume(e.read(|s| (**s.vault_named(vault).unwrap()).clone()));
    e.write(|s, b| secrets::set(s, b, sealer, &v, name, serde_json::from_value(json!({"value": "v"})).unwrap()))
        .unwrap();
}

#[test]
fn a_fresh_state_records_the_first_key_and_refuses_any_other() {
    let dir = tempfile::tempdir().unwrap();
    let a = Sealer::from_key([1; 32]);
    {
        let e = world_on(Box::new(SqliteStore::open(&dir.path().join("state.db")).unwrap()), "rg1");
        assert_eq!(needs(&e).unwrap(), Needs::Any);
        assert_eq!(verify(&e, &a).unwrap(), Verdict::Recorded);
        let v = admitted_vault(&e, "kv1", json!({}));
        e.write(|s, b| secrets::set(s, b, &a, &v, "s1", serde_json::from_value(json!({"value": "x"})).unwrap()))
            .unwrap();
    }
    let e = engine_at(dir.path());
    assert_eq!(needs(&e).unwrap(), Needs::Recorded(a.check_value().into()));
    assert_eq!(verify(&e, &a).unwrap(), Verdict::Matches);
    let b = Sealer::from_key([2; 32]);
    let verdict = verify(&e, &b).unwrap();
    assert_eq!(verdict, Verdict::Mismatch { recorded: a.check_value().into(), current: b.check_value().into() });
    assert!(!verdict.accepted());
    // A refused key records nothing: the right key still matches.
    assert_eq!(verify(&e, &a).unwrap(), Verdict::Matches);
}

/// A state from before check values: given one when its sealed values open with the key, and
/// refused (nothing recorded) when any does not, as a state that already mixes two keys.
#[test]
fn a_state_without_a_check_value_is_adopted_only_if_its_values_open() {
    let dir = tempfile::tempdir().unwrap();
    let a = Sealer::from_key([1; 32]);
    let b = Sealer::from_key([2; 32]);
    {
        let e = world_on(Box::new(SqliteStore::open(&dir.path().join("state.db")).unwrap()), "rg1");
        let v = admitted_vault(&e, "kv1", json!({}));
        e.write(|s, b| secrets::set(s, b, &a, &v, "s1", serde_json::from_value(json!({"value": "x"})).unwrap()))
            .unwrap();
        e.write(|s, b| keys::create(s, b, &a, &v, "k1", serde_json::from_value(json!({"kty": "EC"})).unwrap()))
            .unwrap();
    }
    let e = engine_at(dir.path());
    assert_eq!(needs(&e).unwrap(), Needs::Unrecorded);
    assert_eq!(verify(&e, &b).unwrap(), Verdict::DoesNotOpen { failed: 2, total: 2 });
    assert_eq!(e.meta(KEY_CHECK).unwrap(), None, "a refused key records nothing");
    assert_eq!(verify(&e, &a).unwrap(), Verdict::Adopted { opened: 2 });
    assert_eq!(needs(&e).unwrap(), Needs::Recorded(a.check_value().into()));

    // The mixed state the old behaviour could leave: one value under each key.
    let mixed = tempfile::tempdir().unwrap();
    {
        let e = world_on(Box::new(SqliteStore::open(&mixed.path().join("state.db")).unwrap()), "rg1");
        admitted_vault(&e, "kv2", json!({}));
        put_secret(&e, &a, "kv2", "old");
        put_secret(&e, &b, "kv2", "new");
    }
    let e = engine_at(mixed.path());
    assert_eq!(verify(&e, &a).unwrap(), Verdict::DoesNotOpen { failed: 1, total: 2 });
    assert_eq!(verify(&e, &b).unwrap(), Verdict::DoesNotOpen { failed: 1, total: 2 });
}

#[test]
fn an_in_memory_state_needs_no_particular_key() {
    let e = crate::testing::world();
    assert_eq!(verify(&e, &Sealer::ephemeral()).unwrap(), Verdict::Recorded);
    assert_eq!(needs(&e).unwrap(), Needs::Any, "the memory store keeps no check value");
}
