use serde_json::json;
use vaultlink_crypto::Sealer;

use super::*;
use crate::kv::secrets;
use crate::testing::{admitted_vault, world};

fn keys(e: &Engine) -> Vec<String> {
    e.read(|s| s.all().map(|(k, _)| k.to_string()).collect())
}

fn put_secret(e: &Engine, sealer: &Sealer, vault: &str, name: &str, value: &str) {
    let v = crate::kv::Admitted::assume(e.read(|s| (**s.vault_named(vault).unwrap()).clone()));
    e.write(|s, b| secrets::set(s, b, sealer, &v, name, serde_json::from_value(json!({"value": value})).unwrap()))
        .unwrap();
}

fn fresh_keys() -> Vec<String> {
    let e = Engine::open(Box::new(vaultlink_store::MemoryStore)).unwrap();
    crate::bootstrap::seed(&e).unwrap();
    keys(&e)
}

/// save -> change -> load gives back the saved records exactly, values still sealed.
#[test]
fn a_loaded_snapshot_is_the_saved_state_exactly() {
    let sealer = Sealer::from_key([7; 32]);
    let e = world();
    admitted_vault(&e, "kv1", json!({}));
    put_secret(&e, &sealer, "kv1", "s1", "plain-value-1");
    let saved = save(&e, sealer.check_value()).unwrap();
    assert!(!serde_json::to_string(&saved).unwrap().contains("plain-value-1"), "values stay sealed");

    admitted_vault(&e, "kv2", json!({}));
    put_secret(&e, &sealer, "kv1", "s2", "other");
    let before = e.read(|s| s.generation());
    let replaced = load(&e, sealer.check_value(), &saved).unwrap();
    assert!(replaced.deleted >= 2, "kv2 and s2 are deleted: {replaced:?}");
    assert!(e.read(|s| s.generation()) > before, "a load is a new generation (DNS answers are not reused)");
    assert_eq!(keys(&e), saved.records.keys().cloned().collect::<Vec<_>>());
    assert!(e.read(|s| s.vault_named("kv2").is_none()), "indexes follow the load");
    let again = save(&e, sealer.check_value()).unwrap();
    assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::to_value(&saved).unwrap());
    let v = crate::kv::Admitted::assume(e.read(|s| (**s.vault_named("kv1").unwrap()).clone()));
    let got = e.read(|s| secrets::get(s, &sealer, &v, "s1", None)).unwrap();
    assert_eq!(got.value.as_deref(), Some("plain-value-1"));
}

/// Another root key, a newer schema, another format or one bad record: refused, nothing changed.
#[test]
fn a_refused_snapshot_changes_nothing() {
    let sealer = Sealer::from_key([7; 32]);
    let e = world();
    admitted_vault(&e, "kv1", json!({}));
    let saved = save(&e, sealer.check_value()).unwrap();
    admitted_vault(&e, "kv2", json!({}));
    let before = keys(&e);
    let generation = e.read(|s| s.generation());

    let other = Sealer::from_key([8; 32]);
    let err = load(&e, other.check_value(), &saved).unwrap_err();
    assert!(matches!(err, SnapshotError::OtherRootKey { .. }), "{err}");
    assert!(err.to_string().contains("another root key"), "{err}");

    let mut newer = saved.clone();
    newer.schema_version = SCHEMA_VERSION + 1;
    assert!(matches!(load(&e, sealer.check_value(), &newer), Err(SnapshotError::NewerSchema { .. })));

    let mut newer_record = saved.clone();
    newer_record.records.values_mut().next().unwrap()["v"] = json!(SCHEMA_VERSION + 1);
    assert!(matches!(load(&e, sealer.check_value(), &newer_record), Err(SnapshotError::NewerSchema { .. })));

    let mut bad = saved.clone();
    bad.records.insert("/zzz".into(), json!({"v": 1, "kind": "noSuchKind"}));
    let err = load(&e, sealer.check_value(), &bad).unwrap_err();
    assert!(err.to_string().contains("/zzz"), "the message names the record: {err}");

    let mut not = saved.clone();
    not.format = "something-else".into();
    assert!(matches!(load(&e, sealer.check_value(), &not), Err(SnapshotError::NotASnapshot(_))));

    assert_eq!(keys(&e), before);
    assert_eq!(e.read(|s| s.generation()), generation, "nothing was written");
}

/// A reset leaves exactly a fresh instance's records, with the seeded principals' ids.
#[test]
fn a_reset_is_a_fresh_instances_state() {
    let sealer = Sealer::from_key([7; 32]);
    let e = world();
    admitted_vault(&e, "kv1", json!({}));
    put_secret(&e, &sealer, "kv1", "s1", "v");
    assert_ne!(keys(&e), fresh_keys());
    let replaced = reset(&e).unwrap();
    assert_eq!(keys(&e), fresh_keys());
    assert_eq!(replaced.records, fresh_keys().len());
    assert!(e.read(|s| crate::identity::principal(s, crate::seed::DEV_CLIENT_ID)).is_some());
    assert!(e.read(|s| s.vault_named("kv1").is_none()));
    // A second reset deletes nothing.
    assert_eq!(reset(&e).unwrap().deleted, 0);
}

/// A load survives a reopen of the store: it went through the log like any batch.
#[test]
fn a_load_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let sealer = Sealer::from_key([7; 32]);
    let saved;
    {
        let e = crate::testing::world_on(Box::new(vaultlink_store::SqliteStore::open(&path).unwrap()), "rg1");
        admitted_vault(&e, "kv1", json!({}));
        saved = save(&e, sealer.check_value()).unwrap();
        reset(&e).unwrap();
        assert!(e.read(|s| s.vault_named("kv1").is_none()));
        load(&e, sealer.check_value(), &saved).unwrap();
    }
    let e = Engine::open(Box::new(vaultlink_store::SqliteStore::open(&path).unwrap())).unwrap();
    assert_eq!(keys(&e), saved.records.keys().cloned().collect::<Vec<_>>());
}

/// A snapshot saved under a passphrase loads into a data directory with another root key: its
/// secrets, keys and deployment parameters open there; the wrong passphrase, none, or a
/// passphrase for a root-key snapshot are refused and change nothing.
#[test]
fn a_passphrase_snapshot_moves_between_root_keys() {
    let here = Sealer::from_key([7; 32]);
    let there = Sealer::from_key([9; 32]);
    let e = world();
    admitted_vault(&e, "kv1", json!({}));
    put_secret(&e, &here, "kv1", "s1", "moved-value-1");
    let dp = crate::kv::Admitted::assume(e.read(|s| (**s.vault_named("kv1").unwrap()).clone()));
    let spec = serde_json::from_value(json!({"kty": "EC", "crv": "P-256"})).unwrap();
    e.write(|s, b| crate::kv::keys::create(s, b, &here, &dp, "k1", spec)).unwrap();
    let mut snap = save(&e, here.check_value()).unwrap();
    let plain = serde_json::to_string(&snap).unwrap();
    assert_eq!(
        seal_with_passphrase(&mut snap.clone(), &here, b"short").unwrap_err().to_string(),
        SnapshotError::ShortPassphrase.to_string()
    );
    seal_with_passphrase(&mut snap, &here, b"correct horse battery staple").unwrap();
    let sealed = serde_json::to_string(&snap).unwrap();
    assert_ne!(plain, sealed, "every sealed field changed");
    assert!(!sealed.contains("moved-value-1"));
    assert_eq!(snap.passphrase.as_ref().map(|p| p.kdf.as_str()), Some("argon2id"));
    assert_ne!(snap.root_key_check, here.check_value());

    // Another data directory: fresh state, another root key.
    let other = world();
    let before = keys(&other);
    assert!(matches!(load(&other, there.check_value(), &snap), Err(SnapshotError::NeedsPassphrase)));
    let wrong = open_with_passphrase(&mut snap.clone(), &there, b"not the passphrase at all");
    assert!(matches!(wrong, Err(SnapshotError::WrongPassphrase)));
    assert_eq!(keys(&other), before);
    let mut opened = snap.clone();
    open_with_passphrase(&mut opened, &there, b"correct horse battery staple").unwrap();
    assert!(opened.passphrase.is_none() && opened.root_key_check == there.check_value());
    assert!(matches!(
        open_with_passphrase(&mut opened.clone(), &there, b"correct horse battery staple"),
        Err(SnapshotError::NoPassphrase)
    ));
    load(&other, there.check_value(), &opened).unwrap();
    let v = crate::kv::Admitted::assume(other.read(|s| (**s.vault_named("kv1").unwrap()).clone()));
    let got = other.read(|s| secrets::get(s, &there, &v, "s1", None)).unwrap();
    assert_eq!(got.value.as_deref(), Some("moved-value-1"));
    crate::kv::keys::forget_all();
    other.read(|s| crate::kv::keys::sign(s, &there, &v, "k1", None, "ES256", &[1u8; 32])).unwrap();
    // Under the old root key nothing opens any more.
    assert!(other.read(|s| secrets::get(s, &here, &v, "s1", None)).is_err());
}
