//! Resource Manager's view of keys: a PUT creates a key the data plane serves, an existing key
//! is answered as it is, and no answer carries key material.

use serde_json::json;
use vaultlink_crypto::Sealer;

use super::*;
use crate::kv::keys;
use crate::seed::SUBSCRIPTION_ID as SUB;
use crate::testing::{developer, vault, world};
use crate::{Engine, rbac};

const KEY: VaultKey<'static> = (SUB, "rg1", "kv1");

fn caller(e: &Engine) -> Admitted {
    e.read(|s| rbac::admit(s, developer(), None)).unwrap()
}

fn body(v: Value) -> impl FnOnce() -> crate::Result<PutSpec> {
    move || crate::wire::parse_for(crate::wire::Provider::KeyVault, v)
}

fn put_key(e: &Engine, sealer: &Sealer, name: &str, v: Value) -> crate::Result<KeyResource> {
    let c = caller(e);
    e.write(|s, b| put(s, b, sealer, &c, KEY, name, body(v)))
}

#[test]
fn a_put_creates_a_key_the_data_plane_serves_and_a_second_put_writes_nothing() {
    let e = world();
    let dp = crate::kv::Admitted::assume(vault(&e, "kv1", json!({})));
    let sealer = Sealer::ephemeral();
    let spec = json!({"tags": {"env": "dev"}, "properties": {"kty": "RSA", "keySize": 3072, "keyOps": ["sign", "verify"], "attributes": {"exp": 2_000_000_000}}});
    let r = put_key(&e, &sealer, "Cmk", spec).unwrap();
    let got = e.read(|s| keys::get(s, &dp, "cmk", None)).unwrap();
    assert_eq!(got.version.version, r.version());
    assert_eq!((got.version.kty.as_str(), got.version.key_size), ("RSA", Some(3072)));
    assert_eq!(got.version.key_ops, ["sign", "verify"]);
    assert_eq!(got.version.exp, Some(2_000_000_000));
    // The key works: the data plane signs with it.
    e.read(|s| keys::sign(s, &sealer, &dp, "cmk", None, "RS256", &[7u8; 32])).unwrap();

    let shown = render(&r);
    assert_eq!(shown["type"], "Microsoft.KeyVault/vaults/keys");
    assert_eq!(shown["name"], "Cmk");
    assert_eq!(shown["location"], "westeurope");
    assert_eq!(shown["tags"]["env"], "dev");
    assert_eq!(
        shown["id"],
        format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1/keys/Cmk")
    );
    let p = &shown["properties"];
    assert_eq!((p["kty"].clone(), p["keySize"].clone()), (json!("RSA"), json!(3072)));
    assert_eq!(p["keyUri"], "https://kv1.vault.azure.net:443/keys/Cmk");
    assert_eq!(p["keyUriWithVersion"], format!("https://kv1.vault.azure.net:443/keys/Cmk/{}", r.version()));
    assert_eq!(p["attributes"]["exp"], 2_000_000_000);
    assert_eq!(p["attributes"]["recoveryLevel"], "Recoverable+Purgeable");

    // Keys_CreateIfNotExist: the existing key comes back and nothing is written.
    let before = e.read(|s| s.generation());
    let again = put_key(&e, &sealer, "cmk", json!({"properties": {"kty": "EC"}})).unwrap();
    assert_eq!(again.version(), r.version());
    assert_eq!(render(&again)["properties"]["kty"], "RSA");
    assert_eq!(e.read(|s| s.generation()), before);

    let c = caller(&e);
    e.write(|s, b| keys::rotate(s, b, &sealer, &dp, "cmk")).unwrap();
    let versions = e.read(|s| list_versions(s, &c, KEY, "cmk")).unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].version(), r.version());
    let item = render_version_item(&versions[1]);
    assert_eq!(item["type"], "Microsoft.KeyVault/vaults/keys/versions");
    assert_eq!(item["name"], versions[1].version());
    assert!(item["id"].as_str().unwrap().ends_with(&format!("/keys/Cmk/versions/{}", versions[1].version())));
    let one = e.read(|s| get_version(s, &c, KEY, "cmk", &r.version().to_ascii_uppercase())).unwrap();
    assert_eq!(render_version(&one)["properties"]["keySize"], 3072);
    assert_eq!(e.read(|s| get(s, &c, KEY, "CMK")).unwrap().version(), versions[1].version());
    let missing = e.read(|s| get_version(s, &c, KEY, "cmk", "0123456789abcdef0123456789abcdef")).unwrap_err();
    assert_eq!(missing.code, "ResourceNotFound");
    let listed = e.read(|s| list(s, &c, KEY)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(render_item(&listed[0])["properties"]["keyUri"], "https://kv1.vault.azure.net:443/keys/Cmk");
    for answer in [render(&r), render(&again), render_item(&listed[0]), render_version(&one), item] {
        let text = answer.to_string();
        for private in ["\"d\"", "\"p\"", "\"q\"", "sealed", "\"n\""] {
            assert!(!text.contains(private), "{private} in {text}");
        }
    }
}

#[test]
fn an_ec_key_with_a_rotation_policy() {
    let e = world();
    let dp = crate::kv::Admitted::assume(vault(&e, "kv1", json!({})));
    let sealer = Sealer::ephemeral();
    let policy = json!({"attributes": {"expiryTime": "P1Y"}, "lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "rotate"}}]});
    let r = put_key(
        &e,
        &sealer,
        "ec1",
        json!({"properties": {"kty": "EC", "curveName": "P-384", "rotationPolicy": policy}}),
    )
    .unwrap();
    let p = render(&r)["properties"].clone();
    assert_eq!((p["kty"].clone(), p["curveName"].clone(), p.get("keySize")), (json!("EC"), json!("P-384"), None));
    assert_eq!(p["keyOps"], json!(["sign", "verify"]));
    assert_eq!(p["rotationPolicy"]["attributes"]["expiryTime"], "P1Y");
    let stored = e.read(|s| keys::get_rotation_policy(s, "kv1.vault.azure.net", &dp, "ec1")).unwrap();
    assert_eq!(stored["lifetimeActions"][0]["action"]["type"], "rotate");
    assert_eq!(stored["attributes"]["expiryTime"], "P1Y");
    let c = caller(&e);
    assert_eq!(
        render(&e.read(|s| get(s, &c, KEY, "ec1")).unwrap())["properties"]["rotationPolicy"],
        p["rotationPolicy"]
    );
}

#[test]
fn refusals_write_nothing() {
    let e = world();
    let dp = crate::kv::Admitted::assume(vault(&e, "kv1", json!({})));
    let sealer = Sealer::ephemeral();
    let before = e.read(|s| s.generation());
    let code = |r: crate::Result<KeyResource>| r.unwrap_err().code;
    let rsa = json!({"properties": {"kty": "RSA"}});
    assert_eq!(code(put_key(&e, &sealer, "bad_name", rsa.clone())), "BadParameter");
    assert_eq!(code(put_key(&e, &sealer, "ok", json!({"properties": {}}))), "BadRequest");
    assert_eq!(code(put_key(&e, &sealer, "ok", json!({}))), "BadRequest");
    assert_eq!(code(put_key(&e, &sealer, "ok", json!({"properties": {"kty": "oct"}}))), "BadParameter");
    assert_eq!(code(put_key(&e, &sealer, "ok", json!({"properties": {"kty": "RSA-HSM"}}))), "BadParameter");
    assert_eq!(
        code(put_key(&e, &sealer, "ok", json!({"properties": {"kty": "RSA", "keySize": 1000}}))),
        "BadParameter"
    );
    assert_eq!(
        code(put_key(&e, &sealer, "ok", json!({"properties": {"kty": "EC", "curveName": "P-1"}}))),
        "BadParameter"
    );
    assert_eq!(
        code(put_key(&e, &sealer, "ok", json!({"properties": {"kty": "RSA", "keyOps": ["fly"]}}))),
        "BadParameter"
    );
    let exportable = json!({"properties": {"kty": "RSA", "attributes": {"exportable": true}}});
    assert_eq!(code(put_key(&e, &sealer, "ok", exportable)), "BadRequest");
    let release = json!({"properties": {"kty": "RSA", "release_policy": {"data": "e30"}}});
    assert_eq!(code(put_key(&e, &sealer, "ok", release)), "BadRequest");
    let bad_policy = json!({"properties": {"kty": "RSA", "rotationPolicy": {"attributes": {"expiryTime": "a year"}}}});
    assert_eq!(code(put_key(&e, &sealer, "ok", bad_policy)), "BadParameter");
    let c = caller(&e);
    let other = (SUB, "rg1", "kv-missing");
    assert_eq!(code(e.write(|s, b| put(s, b, &sealer, &c, other, "ok", body(json!([]))))), "ResourceNotFound");
    assert_eq!(e.read(|s| s.generation()), before);
    assert_eq!(e.read(|s| get(s, &c, KEY, "ok")).unwrap_err().code, "ResourceNotFound");
    // A soft-deleted key holds its name: the data plane's conflict, and nothing changes.
    put_key(&e, &sealer, "gone", rsa.clone()).unwrap();
    e.write(|s, b| keys::delete(s, b, &dp, "gone")).unwrap();
    let before = e.read(|s| s.generation());
    let err = put_key(&e, &sealer, "gone", rsa).unwrap_err();
    assert_eq!((err.kind, err.code.as_str()), (crate::error::Kind::Conflict, "Conflict"));
    assert_eq!(e.read(|s| s.generation()), before);
    assert_eq!(e.read(|s| get(s, &c, KEY, "gone")).unwrap_err().code, "ResourceNotFound");
    assert!(e.read(|s| list(s, &c, KEY)).unwrap().is_empty());
}
