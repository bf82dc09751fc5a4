use serde_json::json;
use vaultlink_crypto::Sealer;

use super::*;
use crate::kv::Admitted;
use crate::kv::objects::page_size;
use crate::testing::{admitted_vault as vault, world};

fn spec(value: &str) -> SetSpec {
    serde_json::from_value(json!({"value": value})).unwrap()
}

#[test]
fn set_get_and_versions() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let a = e.write(|s, b| set(s, b, &sealer, &v, "db-password", spec("one"))).unwrap();
    let b2 = e.write(|s, b| set(s, b, &sealer, &v, "DB-Password", spec("two"))).unwrap();
    assert_eq!(a.version.version.len(), 32);
    assert_ne!(a.version.version, b2.version.version);
    e.read(|s| {
        assert_eq!(get(s, &sealer, &v, "db-password", None).unwrap().value.as_deref(), Some("two"));
        assert_eq!(get(s, &sealer, &v, "db-password", Some(&a.version.version)).unwrap().value.as_deref(), Some("one"));
        assert_eq!(list_versions(s, &v, "db-password", 25, None).unwrap().items.len(), 2);
        assert_eq!(get(s, &sealer, &v, "missing", None).unwrap_err().code, "SecretNotFound");
    });
}

#[test]
fn versions_of_a_name_with_no_live_secret_are_an_empty_list() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    e.write(|s, b| set(s, b, &sealer, &v, "gone", spec("one"))).unwrap();
    e.write(|s, b| delete(s, b, &v, "gone")).unwrap();
    e.read(|s| {
        assert!(list_versions(s, &v, "never-created", 25, None).unwrap().items.is_empty());
        assert!(list_versions(s, &v, "gone", 25, None).unwrap().items.is_empty());
        assert_eq!(list_versions(s, &v, "bad_name!", 25, None).err().map(|e| e.code), Some("BadParameter".into()));
    });
}

#[test]
fn stored_records_hold_no_plaintext_and_a_moved_record_fails_to_decrypt() {
    let e = world();
    let v1 = vault(&e, "kv1", json!({}));
    let v2 = vault(&e, "kv2", json!({}));
    let sealer = Sealer::ephemeral();
    e.write(|s, b| set(s, b, &sealer, &v1, "s", spec("very-secret-plaintext"))).unwrap();
    let record = e.read(|s| s.get(&key(&v1, "s")).cloned()).unwrap();
    let text = serde_json::to_string(&record).unwrap();
    assert!(!text.contains("very-secret-plaintext"));
    // The same record placed under another vault does not open there.
    let Record::Secret(mut obj) = record else { panic!("not a secret") };
    obj.vault_internal_id = v2.internal_id.clone();
    e.write(|_, b| -> crate::Result<()> {
        b.put(&key(&v2, "s"), Record::Secret(obj));
        Ok(())
    })
    .unwrap();
    let err = e.read(|s| get(s, &sealer, &v2, "s", None)).unwrap_err();
    assert_eq!(err.kind, Kind::Internal);
}

#[test]
fn soft_delete_blocks_the_name_until_recover_or_purge() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let w = |f: &dyn Fn(&State, &mut Batch) -> Result<SecretView, Error>| e.write(f);
    w(&|s, b| set(s, b, &sealer, &v, "s", spec("x"))).unwrap();
    let d = w(&|s, b| delete(s, b, &v, "s")).unwrap();
    assert!(d.deleted.is_some());
    let err = w(&|s, b| set(s, b, &sealer, &v, "s", spec("y"))).unwrap_err();
    assert_eq!(err.inner.as_deref(), Some("ObjectIsDeletedButRecoverable"));
    assert_eq!(e.read(|s| get(s, &sealer, &v, "s", None)).unwrap_err().code, "SecretNotFound");
    w(&|s, b| recover(s, b, &v, "s")).unwrap();
    assert_eq!(e.read(|s| get(s, &sealer, &v, "s", None)).unwrap().value.as_deref(), Some("x"));
    w(&|s, b| delete(s, b, &v, "s")).unwrap();
    e.write(|s, b| purge(s, b, &v, "s")).unwrap();
    assert!(e.read(|s| get_deleted(s, &v, "s")).is_err());
}

#[test]
fn purge_protection_refuses_purge() {
    let e = world();
    let v = vault(&e, "kv1", json!({"enablePurgeProtection": true}));
    let sealer = Sealer::ephemeral();
    e.write(|s, b| set(s, b, &sealer, &v, "s", spec("x")).map(|_| ())).unwrap();
    e.write(|s, b| delete(s, b, &v, "s").map(|_| ())).unwrap();
    let err = e.read(|s| {
        let mut b = Batch::default();
        purge(s, &mut b, &v, "s")
    });
    assert_eq!(err.unwrap_err().kind, Kind::Forbidden);
    assert_eq!(e.read(|s| get_deleted(s, &v, "s")).unwrap().recovery_level, "Recoverable");
}

#[test]
fn disabled_secret_cannot_be_read_and_limits_hold() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let s1: SetSpec = serde_json::from_value(json!({"value": "x", "attributes": {"enabled": false}})).unwrap();
    e.write(|s, b| set(s, b, &sealer, &v, "s", s1).map(|_| ())).unwrap();
    let err = e.read(|s| get(s, &sealer, &v, "s", None)).unwrap_err();
    assert_eq!((err.kind, err.inner.as_deref()), (Kind::Forbidden, Some("SecretDisabled")));
    let mut b = Batch::default();
    let big = "a".repeat(MAX_VALUE_BYTES + 1);
    assert_eq!(e.read(|s| set(s, &mut b, &sealer, &v, "big", spec(&big))).unwrap_err().code, "BadParameter");
    assert!(e.read(|s| set(s, &mut b, &sealer, &v, "bad_name", spec("x"))).is_err());
    let tags: serde_json::Map<String, serde_json::Value> = (0..16).map(|i| (format!("t{i}"), json!("v"))).collect();
    let many: SetSpec = serde_json::from_value(json!({"value": "x", "tags": tags})).unwrap();
    assert!(e.read(|s| set(s, &mut b, &sealer, &v, "t", many)).is_err());
    assert!(b.is_empty(), "refused operations write nothing");
}

#[test]
fn paging_walks_every_secret_once() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    for i in 0..30 {
        e.write(|s, b| set(s, b, &sealer, &v, &format!("s{i:02}"), spec("x")).map(|_| ())).unwrap();
    }
    let mut seen = Vec::new();
    let mut skip: Option<String> = None;
    loop {
        let page = e.read(|s| list(s, &v, 7, skip.as_deref())).unwrap();
        seen.extend(page.items.iter().map(|i| i.name.clone()));
        match page.next {
            Some(n) => skip = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 30);
    seen.dedup();
    assert_eq!(seen.len(), 30);
    assert!(page_size(Some("26")).is_err());
    assert!(page_size(Some("0")).is_err());
}

#[test]
fn backups_restore_in_the_same_subscription_only_and_refuse_tampering() {
    let e = world();
    let v1 = vault(&e, "kv1", json!({}));
    let v2 = vault(&e, "kv2", json!({}));
    let sealer = Sealer::ephemeral();
    e.write(|s, b| set(s, b, &sealer, &v1, "s", spec("x")).map(|_| ())).unwrap();
    let blob = e.read(|s| backup(s, &sealer, &v1, "s")).unwrap();
    let restored = e.write(|s, b| restore(s, b, &sealer, &v2, &blob)).unwrap();
    assert_eq!(restored.name, "s");
    assert_eq!(e.read(|s| get(s, &sealer, &v2, "s", None)).unwrap().value.as_deref(), Some("x"));
    // Restoring again conflicts; a tampered blob and a foreign subscription's blob are refused.
    let mut b = Batch::default();
    assert_eq!(e.read(|s| restore(s, &mut b, &sealer, &v2, &blob)).unwrap_err().kind, Kind::Conflict);
    let mut tampered = blob.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let v3 = vault(&e, "kv3", json!({}));
    assert_eq!(e.read(|s| restore(s, &mut b, &sealer, &v3, &tampered)).unwrap_err().code, "BadParameter");
    let mut foreign = Vault::clone(&v3);
    foreign.id = foreign.id.replace(crate::seed::SUBSCRIPTION_ID, "11111111-1111-1111-1111-111111111111");
    let foreign = Admitted::assume(foreign);
    assert_eq!(e.read(|s| restore(s, &mut b, &sealer, &foreign, &blob)).unwrap_err().code, "BadParameter");
}

/// The wire shapes: a bundle has the value and, for a certificate's secret, the key's id; a list
/// item (SecretItem) has neither; absent attributes are left out, not null.
#[test]
fn rendered_bundles_and_items_carry_azures_fields() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let mut secret = e.write(|s, b| set(s, b, &sealer, &v, "s1", spec("hush"))).unwrap();
    let host = "kv1.vault.azure.net";
    let ver = secret.version.version.clone();
    let bundle = serde_json::to_value(render(host, &secret, true)).unwrap();
    assert_eq!(bundle["id"], format!("https://{host}/secrets/s1/{ver}"));
    assert_eq!(bundle["value"], "hush");
    assert_eq!(bundle["attributes"]["enabled"], true);
    assert_eq!(bundle["attributes"]["recoveryLevel"], "Recoverable+Purgeable");
    for absent in ["kid", "managed", "tags", "contentType", "recoveryId"] {
        assert!(bundle.get(absent).is_none(), "{absent} in {bundle}");
    }
    assert!(bundle["attributes"].get("exp").is_none(), "{bundle}");
    secret.managed = true;
    let bundle = serde_json::to_value(render(host, &secret, true)).unwrap();
    assert_eq!(bundle["kid"], format!("https://{host}/keys/s1/{ver}"));
    assert_eq!(bundle["managed"], true);
    secret.value = None;
    let item = serde_json::to_value(render(host, &secret, false)).unwrap();
    assert_eq!(item["id"], format!("https://{host}/secrets/s1"));
    assert_eq!(item["managed"], true);
    assert!(item.get("kid").is_none() && item.get("value").is_none(), "{item}");
}
