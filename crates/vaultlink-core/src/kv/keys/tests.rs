use proptest::prelude::*;
use serde_json::json;
use vaultlink_crypto::Sealer;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};

use super::*;
use crate::kv::Admitted;
use crate::testing::{admitted_vault as vault, world};

fn create_spec(v: Value) -> CreateSpec {
    serde_json::from_value(v).unwrap()
}

fn mk(e: &crate::Engine, sealer: &Sealer, v: &Admitted, name: &str, spec: Value) -> KeyView {
    e.write(|s, b| create(s, b, sealer, v, name, create_spec(spec.clone()))).unwrap()
}

fn sha(alg: &'static digest::Algorithm, msg: &[u8]) -> Vec<u8> {
    digest::digest(alg, msg).as_ref().to_vec()
}

const RSA_SIGS: &[(&str, &digest::Algorithm)] = &[
    ("RS256", &digest::SHA256),
    ("RS384", &digest::SHA384),
    ("RS512", &digest::SHA512),
    ("PS256", &digest::SHA256),
    ("PS384", &digest::SHA384),
    ("PS512", &digest::SHA512),
];
const ENCS: &[&str] = &["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"];

#[test]
fn create_get_versions_and_public_jwk_only() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let a = mk(&e, &sealer, &v, "k1", json!({"kty": "RSA", "key_size": 3072}));
    let b = mk(&e, &sealer, &v, "K1", json!({"kty": "RSA"}));
    assert_eq!(a.version.version.len(), 32);
    assert_eq!(a.version.key_size, Some(3072));
    assert_eq!(b.version.key_size, Some(2048));
    e.read(|s| {
        assert_eq!(get(s, &v, "k1", None).unwrap().version.version, b.version.version);
        assert_eq!(get(s, &v, "k1", Some(&a.version.version)).unwrap().version.key_size, Some(3072));
        assert_eq!(list_versions(s, &v, "k1", 25, None).unwrap().items.len(), 2);
        assert_eq!(list(s, &v, 25, None).unwrap().items.len(), 1);
        assert_eq!(get(s, &v, "missing", None).unwrap_err().code, "KeyNotFound");
    });
    let j = jwk("kv1.vault.azure.net", &b);
    assert_eq!(j["kid"], json!(format!("https://kv1.vault.azure.net/keys/k1/{}", b.version.version)));
    assert_eq!(j["kty"], "RSA");
    assert_eq!(j["e"], "AQAB");
    let n = decode_b64url("n", j["n"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256);
    assert!(!j["n"].as_str().unwrap().contains('='));
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(j.get(private).is_none(), "{private} must never be rendered");
    }
    assert_eq!(j["key_ops"], json!(["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]));
    for (crv, len) in [("P-256", 32), ("P-384", 48), ("P-521", 66), ("P-256K", 32)] {
        let k = mk(&e, &sealer, &v, &format!("ec{}", crv.replace('-', "")), json!({"kty": "EC", "crv": crv}));
        let j = jwk("h", &k);
        assert_eq!(j["crv"], crv);
        assert_eq!(decode_b64url("x", j["x"].as_str().unwrap()).unwrap().len(), len);
        assert_eq!(decode_b64url("y", j["y"].as_str().unwrap()).unwrap().len(), len);
        assert!(j.get("d").is_none());
        assert_eq!(j["key_ops"], json!(["sign", "verify"]));
    }
}

#[test]
fn bad_create_parameters_are_refused_and_hsm_needs_premium() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let mut b = Batch::default();
    let try_create = |b: &mut Batch, spec: Value| e.read(|s| create(s, b, &sealer, &v, "k", create_spec(spec)));
    assert_eq!(try_create(&mut b, json!({"kty": "RSA", "key_size": 1024})).unwrap_err().code, "BadParameter");
    assert_eq!(try_create(&mut b, json!({"kty": "RSA", "public_exponent": 3})).unwrap_err().code, "BadParameter");
    assert_eq!(try_create(&mut b, json!({"kty": "EC", "crv": "P-192"})).unwrap_err().code, "BadParameter");
    let oct = try_create(&mut b, json!({"kty": "oct"})).unwrap_err();
    assert_eq!(oct.inner.as_deref(), Some("KeyTypeNotSupported"));
    assert!(try_create(&mut b, json!({"kty": "RSA", "key_ops": ["fly"]})).is_err());
    let hsm = try_create(&mut b, json!({"kty": "RSA-HSM"})).unwrap_err();
    assert_eq!(hsm.message, "Hardware key operation not allowed on standard vault");
    assert!(e.read(|s| create(s, &mut b, &sealer, &v, "bad_name", create_spec(json!({"kty": "EC"})))).is_err());
    assert!(b.is_empty(), "refused operations write nothing");
    let p = vault(&e, "kv2", json!({"sku": {"family": "A", "name": "premium"}}));
    let k = mk(&e, &sealer, &p, "h", json!({"kty": "RSA-HSM", "key_size": 2048}));
    assert_eq!(k.version.kty, "RSA-HSM");
    let k = mk(&e, &sealer, &p, "he", json!({"kty": "EC-HSM", "crv": "P-384"}));
    assert_eq!(k.version.crv.as_deref(), Some("P-384"));
}

#[test]
fn private_key_is_sealed_at_rest_and_bound_to_its_place() {
    let e = world();
    let v1 = vault(&e, "kv1", json!({}));
    let v2 = vault(&e, "kv2", json!({}));
    let sealer = Sealer::ephemeral();
    let k = mk(&e, &sealer, &v1, "k", json!({"kty": "EC", "crv": "P-256"}));
    let record = e.read(|s| s.get(&store_key(&v1, "k")).cloned()).unwrap();
    let Record::Key(obj) = record.clone() else { panic!("not a key") };
    let der = open_private(&sealer, &v1, "k", &obj.versions[0]).unwrap();
    let text = serde_json::to_string(&record).unwrap();
    // Neither the DER nor the private scalar appears in the stored record (the public point does).
    let kp = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der).unwrap();
    let d = kp.private_key().as_be_bytes().unwrap();
    assert!(!text.contains(&b64().encode(&der)));
    assert!(!text.contains(&b64url().encode(d.as_ref())));
    assert!(!text.contains(&b64().encode(d.as_ref())));
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert!(!text.contains(&hex));
    assert!(text.contains(&obj.versions[0].public["x"]));
    // Moved to another vault, the record no longer opens.
    let mut moved = obj.clone();
    moved.vault_internal_id = v2.internal_id.clone();
    e.write(|_, b| -> crate::Result<()> {
        b.put(&store_key(&v2, "k"), Record::Key(moved));
        Ok(())
    })
    .unwrap();
    let d = sha(&digest::SHA256, b"m");
    let err = e.read(|s| sign(s, &sealer, &v2, "k", None, "ES256", &d)).unwrap_err();
    assert_eq!(err.kind, Kind::Internal);
    // A version moved under another version id does not open either.
    let mut swapped = obj.versions[0].clone();
    swapped.version = "0".repeat(32);
    assert!(open_private(&sealer, &v1, "k", &swapped).is_err());
    assert!(e.read(|s| sign(s, &sealer, &v1, "k", Some(&k.version.version), "ES256", &d)).is_ok());
}

#[test]
fn soft_delete_recover_and_purge() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    mk(&e, &sealer, &v, "k", json!({"kty": "EC"}));
    let d = e.write(|s, b| delete(s, b, &v, "k")).unwrap();
    assert!(d.deleted.is_some());
    let r = render("h", &d);
    assert_eq!(r["recoveryId"], "https://h/deletedkeys/k");
    let err = e.write(|s, b| create(s, b, &sealer, &v, "k", create_spec(json!({"kty": "EC"})))).unwrap_err();
    assert_eq!(err.inner.as_deref(), Some("ObjectIsDeletedButRecoverable"));
    assert_eq!(e.read(|s| get(s, &v, "k", None)).unwrap_err().code, "KeyNotFound");
    assert_eq!(e.read(|s| list_deleted(s, &v, 25, None)).unwrap().items.len(), 1);
    assert_eq!(e.read(|s| list(s, &v, 25, None)).unwrap().items.len(), 0);
    e.write(|s, b| recover(s, b, &v, "k")).unwrap();
    assert!(e.read(|s| get(s, &v, "k", None)).is_ok());
    e.write(|s, b| delete(s, b, &v, "k")).unwrap();
    e.write(|s, b| purge(s, b, &v, "k")).unwrap();
    assert!(e.read(|s| get_deleted(s, &v, "k")).is_err());
    // The name is free again.
    mk(&e, &sealer, &v, "k", json!({"kty": "EC"}));
    // Purge protection refuses purge.
    let pp = vault(&e, "kv2", json!({"enablePurgeProtection": true}));
    mk(&e, &sealer, &pp, "k", json!({"kty": "EC"}));
    e.write(|s, b| delete(s, b, &pp, "k")).unwrap();
    let mut b = Batch::default();
    assert_eq!(e.read(|s| purge(s, &mut b, &pp, "k")).unwrap_err().kind, Kind::Forbidden);
}

#[test]
fn a_purged_keys_opened_material_leaves_the_cache() {
    let e = world();
    let v = vault(&e, "kv-cache", json!({}));
    let sealer = Sealer::ephemeral();
    mk(&e, &sealer, &v, "k", json!({"kty": "EC"}));
    let d = sha(&digest::SHA256, b"m");
    e.read(|s| sign(s, &sealer, &v, "k", None, "ES256", &d)).unwrap();
    assert_eq!(material::cached(&v.internal_id, "k"), 1, "signing opens the key once and keeps it");
    e.write(|s, b| delete(s, b, &v, "k")).unwrap();
    assert_eq!(material::cached(&v.internal_id, "k"), 1, "a deleted key can still be recovered");
    e.write(|s, b| purge(s, b, &v, "k")).unwrap();
    assert_eq!(material::cached(&v.internal_id, "k"), 0, "a purged key's material is dropped");
}

#[test]
fn backup_restore_round_trip_keeps_the_key_material() {
    let e = world();
    let v1 = vault(&e, "kv1", json!({}));
    let v2 = vault(&e, "kv2", json!({}));
    let sealer = Sealer::ephemeral();
    mk(&e, &sealer, &v1, "k", json!({"kty": "RSA"}));
    let k2 = e.write(|s, b| rotate(s, b, &sealer, &v1, "k")).unwrap();
    let d = sha(&digest::SHA256, b"hello");
    let sig = e.read(|s| sign(s, &sealer, &v1, "k", None, "RS256", &d)).unwrap();
    let blob = e.read(|s| backup(s, &sealer, &v1, "k")).unwrap();
    assert!(!blob.contains('=') && !blob.contains('+') && !blob.contains('/'));
    let restored = e.write(|s, b| restore(s, b, &sealer, &v2, &blob)).unwrap();
    assert_eq!(restored.version.version, k2.version.version);
    assert_eq!(e.read(|s| list_versions(s, &v2, "k", 25, None)).unwrap().items.len(), 2);
    // The restored key verifies what the original signed, and signs identically (RS256 is deterministic).
    let (_, ok) = e.read(|s| verify(s, &v2, "k", None, "RS256", &d, &sig.value)).unwrap();
    assert!(ok);
    assert_eq!(e.read(|s| sign(s, &sealer, &v2, "k", None, "RS256", &d)).unwrap().value, sig.value);
    let mut b = Batch::default();
    assert_eq!(e.read(|s| restore(s, &mut b, &sealer, &v2, &blob)).unwrap_err().kind, Kind::Conflict);
    let v3 = vault(&e, "kv3", json!({}));
    let mut tampered = blob.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(e.read(|s| restore(s, &mut b, &sealer, &v3, &tampered)).unwrap_err().code, "BadParameter");
    let mut foreign = Vault::clone(&v3);
    foreign.id = foreign.id.replace(crate::seed::SUBSCRIPTION_ID, "11111111-1111-1111-1111-111111111111");
    let foreign = Admitted::assume(foreign);
    assert_eq!(e.read(|s| restore(s, &mut b, &sealer, &foreign, &blob)).unwrap_err().code, "BadParameter");
}

#[test]
fn key_ops_enabled_nbf_and_exp_are_enforced() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    mk(&e, &sealer, &v, "k", json!({"kty": "RSA", "key_ops": ["encrypt", "verify"]}));
    let ct = e.read(|s| transform(s, &sealer, &v, "k", None, Op::Encrypt, "RSA-OAEP", b"x")).unwrap();
    let err = e.read(|s| transform(s, &sealer, &v, "k", None, Op::Decrypt, "RSA-OAEP", &ct.value)).unwrap_err();
    assert_eq!((err.kind, err.code.as_str()), (Kind::Forbidden, "Forbidden"));
    assert_eq!(err.message, "Operation decrypt is not permitted on this key.");
    assert_eq!(err.inner.as_deref(), Some("KeyOperationForbidden"));
    let err = e.read(|s| transform(s, &sealer, &v, "k", None, Op::WrapKey, "RSA-OAEP", b"x")).unwrap_err();
    assert_eq!(err.message, "Operation wrapKey is not permitted on this key.");
    // Adding the op by PATCH makes it work.
    let spec: UpdateSpec = serde_json::from_value(json!({"key_ops": ["encrypt", "decrypt"]})).unwrap();
    e.write(|s, b| update(s, b, &v, "k", None, spec)).unwrap();
    let pt = e.read(|s| transform(s, &sealer, &v, "k", None, Op::Decrypt, "RSA-OAEP", &ct.value)).unwrap();
    assert_eq!(pt.value, b"x");
    // Disabled: crypto and get refused; PATCH re-enables.
    let off: UpdateSpec = serde_json::from_value(json!({"attributes": {"enabled": false}})).unwrap();
    e.write(|s, b| update(s, b, &v, "k", None, off)).unwrap();
    let err = e.read(|s| transform(s, &sealer, &v, "k", None, Op::Encrypt, "RSA-OAEP", b"x")).unwrap_err();
    assert_eq!((err.kind, err.inner.as_deref()), (Kind::Forbidden, Some("KeyDisabled")));
    assert_eq!(err.message, "Operation encrypt is not allowed on a disabled key.");
    assert_eq!(e.read(|s| get(s, &v, "k", None)).unwrap_err().inner.as_deref(), Some("KeyDisabled"));
    assert_eq!(e.read(|s| list(s, &v, 25, None)).unwrap().items.len(), 1);
    let on: UpdateSpec = serde_json::from_value(json!({"attributes": {"enabled": true}})).unwrap();
    e.write(|s, b| update(s, b, &v, "k", None, on)).unwrap();
    // Expired and not-yet-valid keys refuse crypto.
    let t = crate::engine::now();
    mk(&e, &sealer, &v, "old", json!({"kty": "EC", "attributes": {"exp": t - 10}}));
    mk(&e, &sealer, &v, "new", json!({"kty": "EC", "attributes": {"nbf": t + 3600}}));
    let d = sha(&digest::SHA256, b"m");
    let err = e.read(|s| sign(s, &sealer, &v, "old", None, "ES256", &d)).unwrap_err();
    assert_eq!((err.kind, err.inner.as_deref()), (Kind::Forbidden, Some("KeyExpired")));
    let err = e.read(|s| sign(s, &sealer, &v, "new", None, "ES256", &d)).unwrap_err();
    assert_eq!((err.kind, err.inner.as_deref()), (Kind::Forbidden, Some("KeyNotYetValid")));
}

#[test]
fn wrong_algorithm_and_wrong_digest_length_are_bad_parameters() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    mk(&e, &sealer, &v, "rsa", json!({"kty": "RSA"}));
    mk(&e, &sealer, &v, "ec", json!({"kty": "EC", "crv": "P-256", "key_ops": ["sign", "verify", "encrypt"]}));
    let d32 = sha(&digest::SHA256, b"m");
    let r = |f: &dyn Fn(&State) -> Result<OpResult, Error>| e.read(f).unwrap_err();
    let err = r(&|s| sign(s, &sealer, &v, "rsa", None, "RS256", &d32[..10]));
    assert_eq!(err.code, "BadParameter");
    assert_eq!(err.message, "Invalid length of 'value': 10 bytes. RS256 requires 32 bytes, encoded with base64url.");
    assert_eq!(r(&|s| sign(s, &sealer, &v, "rsa", None, "RS384", &d32)).code, "BadParameter");
    assert_eq!(r(&|s| sign(s, &sealer, &v, "ec", None, "ES256", &d32[..31])).code, "BadParameter");
    assert_eq!(r(&|s| sign(s, &sealer, &v, "rsa", None, "ES256", &d32)).code, "BadParameter");
    assert_eq!(r(&|s| sign(s, &sealer, &v, "ec", None, "RS256", &d32)).code, "BadParameter");
    // Curve and algorithm must match.
    assert_eq!(r(&|s| sign(s, &sealer, &v, "ec", None, "ES384", &sha(&digest::SHA384, b"m"))).code, "BadParameter");
    assert_eq!(r(&|s| sign(s, &sealer, &v, "ec", None, "HS256", &d32)).code, "BadParameter");
    assert_eq!(r(&|s| transform(s, &sealer, &v, "ec", None, Op::Encrypt, "RSA-OAEP", b"x")).code, "BadParameter");
    assert_eq!(r(&|s| transform(s, &sealer, &v, "rsa", None, Op::Encrypt, "A256GCM", b"x")).code, "BadParameter");
    assert_eq!(
        r(&|s| transform(s, &sealer, &v, "rsa", None, Op::Encrypt, "RSA-OAEP-256", &[0u8; 200])).code,
        "BadParameter"
    );
    assert_eq!(
        r(&|s| transform(s, &sealer, &v, "rsa", None, Op::Decrypt, "RSA-OAEP", &[0u8; 10])).code,
        "BadParameter"
    );
    let err = e.read(|s| verify(s, &v, "rsa", None, "PS512", &d32, &[0u8; 256])).unwrap_err();
    assert_eq!(err.code, "BadParameter");
}

fn sign_verify(e: &crate::Engine, sealer: &Sealer, v: &Admitted, name: &str, alg: &str, d: &[u8]) {
    let sig = e.read(|s| sign(s, sealer, v, name, None, alg, d)).unwrap();
    let (_, ok) = e.read(|s| verify(s, v, name, None, alg, d, &sig.value)).unwrap();
    assert!(ok, "{alg} signature verifies");
    let mut bad = sig.value.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x01;
    assert!(!e.read(|s| verify(s, v, name, None, alg, d, &bad)).unwrap().1, "{alg} tampered signature refused");
    let mut other = d.to_vec();
    other[0] ^= 0x80;
    assert!(!e.read(|s| verify(s, v, name, None, alg, &other, &sig.value)).unwrap().1, "{alg} other digest refused");
}

fn enc_dec(e: &crate::Engine, sealer: &Sealer, v: &Admitted, name: &str, alg: &str, msg: &[u8], wrap: bool) {
    let (enc, dec) = if wrap { (Op::WrapKey, Op::UnwrapKey) } else { (Op::Encrypt, Op::Decrypt) };
    let ct = e.read(|s| transform(s, sealer, v, name, None, enc, alg, msg)).unwrap();
    let pt = e.read(|s| transform(s, sealer, v, name, None, dec, alg, &ct.value)).unwrap();
    assert_eq!(pt.value, msg, "{alg} round trip");
    let mut bad = ct.value.clone();
    bad[5] ^= 0x40;
    let refused = e.read(|s| transform(s, sealer, v, name, None, dec, alg, &bad));
    // RSA1_5 has no integrity: a tampered ciphertext is refused or yields other bytes, never the message.
    assert!(refused.as_ref().map_or(true, |r| r.value != msg), "{alg} tampered ciphertext refused");
    if alg != "RSA1_5" {
        assert_eq!(refused.unwrap_err().code, "BadParameter");
    }
}

#[test]
fn every_algorithm_round_trips_and_refuses_tampering() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    for bits in [2048, 3072, 4096] {
        let name = format!("rsa{bits}");
        mk(&e, &sealer, &v, &name, json!({"kty": "RSA", "key_size": bits}));
        for (alg, d) in RSA_SIGS {
            sign_verify(&e, &sealer, &v, &name, alg, &sha(d, b"message"));
        }
        for alg in ENCS {
            enc_dec(&e, &sealer, &v, &name, alg, b"a 32-byte content encryption key", false);
            enc_dec(&e, &sealer, &v, &name, alg, &[7u8; 16], true);
        }
    }
    for (crv, alg, d) in [
        ("P-256", "ES256", &digest::SHA256),
        ("P-384", "ES384", &digest::SHA384),
        ("P-521", "ES512", &digest::SHA512),
        ("P-256K", "ES256K", &digest::SHA256),
    ] {
        let name = format!("ec{}", crv.replace('-', ""));
        mk(&e, &sealer, &v, &name, json!({"kty": "EC", "crv": crv}));
        sign_verify(&e, &sealer, &v, &name, alg, &sha(d, b"message"));
        let sig = e.read(|s| sign(s, &sealer, &v, &name, None, alg, &sha(d, b"m"))).unwrap();
        assert_eq!(sig.value.len(), Curve::parse(crv).unwrap().coord_len() * 2, "raw r||s");
    }
}

#[test]
fn import_rsa_and_ec_keys_with_private_parts() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    // An EC key: generate locally, import its JWK, sign in the vault, verify locally.
    let local = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = local.public_key().as_ref().to_vec();
    let pkcs8 = local.to_pkcs8v1().unwrap();
    // The private scalar sits at the end of the SEC1 structure's OCTET STRING: find it via aws-lc.
    let d_bytes = local.private_key().as_be_bytes().unwrap();
    let spec: ImportSpec = serde_json::from_value(json!({"key": {
        "kty": "EC", "crv": "P-256",
        "x": b64url().encode(&point[1..33]), "y": b64url().encode(&point[33..65]),
        "d": b64url().encode(d_bytes.as_ref()),
    }}))
    .unwrap();
    let k = e.write(|s, b| import(s, b, &sealer, &v, "imp-ec", spec)).unwrap();
    assert_eq!(k.version.kty, "EC");
    let d = sha(&digest::SHA256, b"m");
    let sig = e.read(|s| sign(s, &sealer, &v, "imp-ec", None, "ES256", &d)).unwrap();
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point).verify(b"m", &sig.value).unwrap();
    drop(pkcs8);
    // Mismatched public and private parts are refused.
    let other = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let od = other.private_key().as_be_bytes().unwrap();
    let bad: ImportSpec = serde_json::from_value(json!({"key": {
        "kty": "EC", "crv": "P-256",
        "x": b64url().encode(&point[1..33]), "y": b64url().encode(&point[33..65]),
        "d": b64url().encode(od.as_ref()),
    }}))
    .unwrap();
    assert_eq!(e.write(|s, b| import(s, b, &sealer, &v, "bad", bad)).unwrap_err().code, "BadParameter");
    // A public-only JWK is refused.
    let public_only: ImportSpec = serde_json::from_value(json!({"key": {
        "kty": "EC", "crv": "P-256", "x": b64url().encode(&point[1..33]), "y": b64url().encode(&point[33..65]),
    }}))
    .unwrap();
    assert_eq!(e.write(|s, b| import(s, b, &sealer, &v, "pub", public_only)).unwrap_err().code, "BadParameter");
    // HSM import needs a premium vault.
    let hsm: ImportSpec = serde_json::from_value(json!({"Hsm": true, "key": {"kty": "EC", "crv": "P-256"}})).unwrap();
    assert!(e.write(|s, b| import(s, b, &sealer, &v, "h", hsm)).unwrap_err().message.contains("standard vault"));
}

#[test]
fn rotate_makes_a_new_version_of_the_same_shape_and_policy_round_trips() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let a = mk(&e, &sealer, &v, "k", json!({"kty": "RSA", "key_size": 3072, "key_ops": ["sign"], "tags": {"t": "1"}}));
    let b = e.write(|s, bt| rotate(s, bt, &sealer, &v, "k")).unwrap();
    assert_ne!(a.version.version, b.version.version);
    assert_eq!(b.version.key_size, Some(3072));
    assert_eq!(b.version.key_ops, vec!["sign".to_string()]);
    assert_ne!(a.version.public["n"], b.version.public["n"]);
    let p = e.read(|s| get_rotation_policy(s, "h", &v, "k")).unwrap();
    assert_eq!(p["id"], "https://h/keys/k/rotationpolicy");
    let body = json!({"lifetimeActions": [{"trigger": {"timeAfterCreate": "P90D"}, "action": {"type": "Rotate"}}], "attributes": {"expiryTime": "P1Y"}});
    let set = e.write(|s, bt| set_rotation_policy(s, bt, "h", &v, "k", body.clone())).unwrap();
    assert_eq!(set["attributes"]["expiryTime"], "P1Y");
    let got = e.read(|s| get_rotation_policy(s, "h", &v, "k")).unwrap();
    assert_eq!(got["lifetimeActions"], body["lifetimeActions"]);
}

#[test]
fn paging_walks_every_key_once() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    for i in 0..12 {
        mk(&e, &sealer, &v, &format!("k{i:02}"), json!({"kty": "EC"}));
    }
    let mut seen = Vec::new();
    let mut skip: Option<String> = None;
    loop {
        let page = e.read(|s| list(s, &v, 5, skip.as_deref())).unwrap();
        seen.extend(page.items.iter().map(|i| i.name.clone()));
        match page.next {
            Some(n) => skip = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    seen.dedup();
    assert_eq!(seen.len(), 12);
}

fn prop_world() -> (crate::Engine, Admitted, Sealer) {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    mk(&e, &sealer, &v, "rsa", json!({"kty": "RSA", "key_size": 2048}));
    mk(&e, &sealer, &v, "ec", json!({"kty": "EC", "crv": "P-256"}));
    (e, v, sealer)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn rsa_2048_and_p256_round_trip_random_messages(msg in proptest::collection::vec(any::<u8>(), 0..190), flip in 0usize..64) {
        thread_local! {
            static W: (crate::Engine, Admitted, Sealer) = prop_world();
        }
        W.with(|(e, v, sealer)| {
            for (alg, d) in RSA_SIGS.iter().take(6) {
                let dg = sha(d, &msg);
                let sig = e.read(|s| sign(s, sealer, v, "rsa", None, alg, &dg)).unwrap();
                prop_assert!(e.read(|s| verify(s, v, "rsa", None, alg, &dg, &sig.value)).unwrap().1);
                let mut bad = sig.value.clone();
                let i = flip % bad.len();
                bad[i] ^= 0x01;
                prop_assert!(!e.read(|s| verify(s, v, "rsa", None, alg, &dg, &bad)).unwrap().1);
            }
            let dg = sha(&digest::SHA256, &msg);
            let sig = e.read(|s| sign(s, sealer, v, "ec", None, "ES256", &dg)).unwrap();
            prop_assert!(e.read(|s| verify(s, v, "ec", None, "ES256", &dg, &sig.value)).unwrap().1);
            let mut bad = sig.value.clone();
            bad[flip % 64] ^= 0x01;
            prop_assert!(!e.read(|s| verify(s, v, "ec", None, "ES256", &dg, &bad)).unwrap().1);
            for alg in ENCS {
                let max = match *alg { "RSA1_5" => 245, "RSA-OAEP" => 214, _ => 190 };
                let m = &msg[..msg.len().min(max)];
                let ct = e.read(|s| transform(s, sealer, v, "rsa", None, Op::Encrypt, alg, m)).unwrap();
                let pt = e.read(|s| transform(s, sealer, v, "rsa", None, Op::Decrypt, alg, &ct.value)).unwrap();
                prop_assert_eq!(&pt.value[..], m);
                if *alg != "RSA1_5" {
                    let mut bad = ct.value.clone();
                    let i = flip % bad.len();
                    bad[i] ^= 0x01;
                    prop_assert!(e.read(|s| transform(s, sealer, v, "rsa", None, Op::Decrypt, alg, &bad)).is_err());
                }
            }
            Ok(())
        })?;
    }
}

/// A `Rotate` action runs when the engine's clock reaches it (the due work), once however far the
/// clock moved; the new version expires as the policy's `expiryTime` says, as does one made by
/// `rotate`; a bad duration is refused and stores nothing.
#[test]
fn a_rotation_policy_rotates_the_key_when_its_time_comes() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    mk(&e, &sealer, &v, "k", json!({"kty": "EC"}));
    mk(&e, &sealer, &v, "untouched", json!({"kty": "EC"}));
    let bad = json!({"lifetimeActions": [{"trigger": {"timeAfterCreate": "30 days"}, "action": {"type": "Rotate"}}]});
    assert!(e.write(|s, bt| set_rotation_policy(s, bt, "h", &v, "k", bad.clone())).is_err());
    let body = json!({"lifetimeActions": [{"trigger": {"timeAfterCreate": "P30D"}, "action": {"type": "Rotate"}}], "attributes": {"expiryTime": "P90D"}});
    e.write(|s, bt| set_rotation_policy(s, bt, "h", &v, "k", body.clone())).unwrap();
    let due = || e.write(|s, b| Ok::<_, Error>(crate::kv::due_work(s, b, &sealer))).unwrap();
    let versions = |name: &str| e.read(|s| list_versions(s, &v, name, 25, None)).unwrap().items.len();

    e.clock().advance(29 * 86_400);
    assert_eq!(due().rotated, 0);
    e.clock().advance(400 * 86_400);
    assert_eq!(due().rotated, 1);
    assert_eq!(due().rotated, 0, "the new version is not due for another 30 days");
    assert_eq!((versions("k"), versions("untouched")), (2, 1));
    let t = e.clock().now();
    let cur = e.read(|s| get(s, &v, "k", None)).unwrap();
    assert_eq!(cur.version.exp, Some(t + 90 * 86_400));
    let by_hand = e.write(|s, bt| rotate(s, bt, &sealer, &v, "k")).unwrap();
    assert_eq!(by_hand.version.exp, Some(t + 90 * 86_400));
}
