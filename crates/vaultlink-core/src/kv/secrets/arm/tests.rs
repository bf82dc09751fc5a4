//! Resource Manager's view of secrets: a PUT adds a version the data plane serves, and no answer
//! carries the value.

use serde_json::json;
use vaultlink_crypto::Sealer;

use super::*;
use crate::kv::secrets;
use crate::seed::SUBSCRIPTION_ID as SUB;
use crate::testing::{developer, vault, world};
use crate::{Engine, rbac};

const KEY: VaultKey<'static> = (SUB, "rg1", "kv1");

fn caller(e: &Engine) -> Admitted {
    e.read(|s| rbac::admit(s, developer(), None)).unwrap()
}

fn body<T: serde::de::DeserializeOwned>(v: Value) -> impl FnOnce() -> crate::Result<T> {
    move || crate::wire::parse_for(crate::wire::Provider::KeyVault, v)
}

fn put_value(e: &Engine, sealer: &Sealer, name: &str, v: Value) -> crate::Result<(bool, SecretResource)> {
    let c = caller(e);
    e.write(|s, b| put(s, b, sealer, &c, KEY, name, body(v)))
}

#[test]
fn a_put_adds_a_version_the_data_plane_serves_and_no_answer_holds_the_value() {
    let e = world();
    let dp = crate::kv::Admitted::assume(vault(&e, "kv1", json!({})));
    let sealer = Sealer::ephemeral();
    let first = json!({"tags": {"env": "dev"}, "properties": {"value": "s3cret-one", "contentType": "text/plain", "attributes": {"enabled": true, "exp": 2_000_000_000}}});
    let (created, r) = put_value(&e, &sealer, "Db-Password", first).unwrap();
    assert!(created);
    let (created, r2) = put_value(&e, &sealer, "db-password", json!({"properties": {"value": "s3cret-two"}})).unwrap();
    assert!(!created);
    assert_ne!(r.version(), r2.version());
    e.read(|s| {
        let got = secrets::get(s, &sealer, &dp, "db-password", None).unwrap();
        assert_eq!(got.value.as_deref(), Some("s3cret-two"));
        assert_eq!(got.version.version, r2.version());
        let older = secrets::get(s, &sealer, &dp, "db-password", Some(r.version())).unwrap();
        assert_eq!((older.value.as_deref(), older.version.exp), (Some("s3cret-one"), Some(2_000_000_000)));
        assert_eq!(older.version.tags.get("env").map(String::as_str), Some("dev"));
    });
    let shown = render(&r);
    assert_eq!(shown["type"], "Microsoft.KeyVault/vaults/secrets");
    assert_eq!(shown["name"], "Db-Password");
    assert_eq!(shown["location"], "westeurope");
    assert_eq!(
        shown["id"],
        format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1/secrets/Db-Password")
    );
    assert_eq!(shown["properties"]["contentType"], "text/plain");
    assert_eq!(shown["properties"]["attributes"]["exp"], 2_000_000_000);
    assert_eq!(shown["properties"]["secretUri"], "https://kv1.vault.azure.net/secrets/Db-Password");
    assert_eq!(
        shown["properties"]["secretUriWithVersion"],
        format!("https://kv1.vault.azure.net/secrets/Db-Password/{}", r.version())
    );
    let c = caller(&e);
    let listed = e.read(|s| list(s, &c, KEY)).unwrap();
    let got = e.read(|s| get(s, &c, KEY, "DB-PASSWORD")).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(got.version(), r2.version());
    for answer in [render(&r), render(&r2), render(&got), render(&listed[0])] {
        let text = answer.to_string();
        assert!(!text.contains("s3cret") && answer["properties"].get("value").is_none(), "{text}");
    }
}

#[test]
fn a_patch_changes_metadata_in_place_or_adds_a_version_with_a_value() {
    let e = world();
    vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let (_, r) =
        put_value(&e, &sealer, "api", json!({"properties": {"value": "v1", "contentType": "text/plain"}})).unwrap();
    let c = caller(&e);
    let patch_with = |v: Value| e.write(|s, b| patch(s, b, &sealer, &c, KEY, "api", body(v)));
    let (created, p) =
        patch_with(json!({"tags": {"a": "b"}, "properties": {"attributes": {"enabled": false}}})).unwrap();
    assert!(!created);
    assert_eq!(p.version(), r.version());
    let shown = render(&p);
    assert_eq!(
        (shown["properties"]["attributes"]["enabled"].clone(), shown["tags"]["a"].clone()),
        (json!(false), json!("b"))
    );
    // A disabled secret's metadata is still readable through ARM.
    assert_eq!(e.read(|s| get(s, &c, KEY, "api")).unwrap().version(), r.version());
    let (created, p2) = patch_with(json!({"properties": {"value": "v2"}})).unwrap();
    assert!(created);
    assert_ne!(p2.version(), r.version());
    let shown = render(&p2);
    assert_eq!(shown["properties"]["contentType"], "text/plain");
    assert_eq!(shown["properties"]["attributes"]["enabled"], false);
    assert_eq!(shown["tags"]["a"], "b");
    let missing = e.write(|s, b| patch(s, b, &sealer, &c, KEY, "nope", body(json!({})))).unwrap_err();
    assert_eq!(missing.code, "ResourceNotFound");
}

#[test]
fn refusals_write_nothing() {
    let e = world();
    let dp = crate::kv::Admitted::assume(vault(&e, "kv1", json!({})));
    let sealer = Sealer::ephemeral();
    let before = e.read(|s| s.generation());
    let code = |r: crate::Result<(bool, SecretResource)>| r.unwrap_err().code;
    assert_eq!(code(put_value(&e, &sealer, "bad_name", json!({"properties": {"value": "x"}}))), "BadParameter");
    assert_eq!(code(put_value(&e, &sealer, &"a".repeat(128), json!({"properties": {"value": "x"}}))), "BadParameter");
    assert_eq!(code(put_value(&e, &sealer, "ok", json!({"properties": {}}))), "BadRequest");
    assert_eq!(code(put_value(&e, &sealer, "ok", json!({"properties": {"value": 5}}))), "BadRequest");
    assert_eq!(code(put_value(&e, &sealer, "ok", json!({}))), "BadRequest");
    let c = caller(&e);
    let other = (SUB, "rg1", "kv-missing");
    let missing = e.write(|s, b| put(s, b, &sealer, &c, other, "ok", body(json!({"properties": {"value": "x"}}))));
    assert_eq!(code(missing), "ResourceNotFound");
    // The vault is looked up before the body is read.
    let missing = e.write(|s, b| put(s, b, &sealer, &c, other, "ok", body(json!([]))));
    assert_eq!(code(missing), "ResourceNotFound");
    assert_eq!(e.read(|s| s.generation()), before);
    // A soft-deleted secret holds its name: the data plane's conflict, and nothing changes.
    put_value(&e, &sealer, "gone", json!({"properties": {"value": "x"}})).unwrap();
    e.write(|s, b| secrets::delete(s, b, &dp, "gone")).unwrap();
    let before = e.read(|s| s.generation());
    let err = put_value(&e, &sealer, "gone", json!({"properties": {"value": "y"}})).unwrap_err();
    assert_eq!((err.kind, err.code.as_str()), (crate::error::Kind::Conflict, "Conflict"));
    assert_eq!(e.read(|s| s.generation()), before);
    assert_eq!(e.read(|s| get(s, &c, KEY, "gone")).unwrap_err().code, "ResourceNotFound");
    assert!(e.read(|s| list(s, &c, KEY)).unwrap().is_empty());
    assert_eq!(e.read(|s| get(s, &c, KEY, "bad_name")).unwrap_err().code, "BadParameter");
}

#[test]
fn a_secret_that_backs_a_certificate_is_shown_but_not_written() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let version = SecretVersion {
        version: "0123456789abcdef0123456789abcdef".into(),
        sealed_value: String::new(),
        content_type: Some("application/x-pkcs12".into()),
        tags: Tags::new(),
        enabled: true,
        nbf: None,
        exp: None,
        created: 1,
        updated: 1,
    };
    e.write(|s, b| secrets::put_managed(s, b, &sealer, &v, "web-cert", version, "pfx")).unwrap();
    let c = caller(&e);
    let shown = render(&e.read(|s| get(s, &c, KEY, "web-cert")).unwrap());
    assert_eq!(shown["properties"]["contentType"], "application/x-pkcs12");
    let before = e.read(|s| s.generation());
    for r in [
        put_value(&e, &sealer, "web-cert", json!({"properties": {"value": "x"}})),
        e.write(|s, b| patch(s, b, &sealer, &c, KEY, "web-cert", body(json!({"tags": {"a": "b"}})))),
    ] {
        let err = r.unwrap_err();
        assert_eq!((err.kind, err.code.as_str()), (crate::error::Kind::Forbidden, "Forbidden"), "{err}");
    }
    assert_eq!(e.read(|s| s.generation()), before);
}
