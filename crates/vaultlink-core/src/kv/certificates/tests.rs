//! Unit tests of certificates: policy validation, generation matching the policy, the backing key
//! and secret, CSR and merge, import, lifecycle, backup.

use serde_json::json;
use vaultlink_crypto::Sealer;

use super::*;
use crate::kv::Admitted;
use crate::testing::{admitted_vault as vault, world};

const HOST: &str = "kv1.vault.azure.net";

fn policy(extra: Value) -> Value {
    let mut p = json!({
        "key_props": {"exportable": true, "kty": "RSA", "key_size": 2048, "reuse_key": false},
        "secret_props": {"contentType": "application/x-pkcs12"},
        "x509_props": {
            "subject": "CN=app.contoso.com",
            "sans": {"dns_names": ["app.contoso.com", "api.contoso.com"], "emails": ["ops@contoso.com"], "upns": ["svc@contoso.com"]},
            "validity_months": 6,
            "key_usage": ["digitalSignature", "keyEncipherment"],
            "ekus": ["1.3.6.1.5.5.7.3.1"]
        },
        "issuer": {"name": "Self"},
    });
    policy::tests_merge(&mut p, &extra);
    p
}

fn create_spec(p: Value) -> CreateSpec {
    serde_json::from_value(json!({"policy": p, "tags": {"env": "test"}})).unwrap()
}

fn secret_bundle(e: &crate::Engine, sealer: &Sealer, v: &Admitted, name: &str) -> secrets::SecretView {
    e.read(|s| secrets::get(s, sealer, v, name, None)).unwrap()
}

#[test]
fn self_signed_create_matches_the_policy_and_has_key_and_secret_of_the_same_version() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    for (extra, pem) in [
        (json!({}), false),
        (
            json!({"key_props": {"kty": "EC", "crv": "P-384", "key_size": null}, "secret_props": {"contentType": "application/x-pem-file"}}),
            true,
        ),
    ] {
        let op = e.write(|s, b| create(s, b, &sealer, &v, "c1", create_spec(policy(extra.clone())))).unwrap();
        assert_eq!(op.op.status, "inProgress");
        assert_eq!(e.read(|s| get_pending(s, &v, "c1")).unwrap().op.status, "completed");
        let c = e.read(|s| get(s, &v, "c1", None)).unwrap();
        assert_eq!(c.version.version, op.op.version);
        let cer = b64().decode(&c.version.chain[0]).unwrap();
        let info = x509::parse(&cer).unwrap();
        assert_eq!(info.subject, "CN=app.contoso.com");
        assert_eq!(info.issuer, "CN=app.contoso.com");
        assert_eq!(info.dns_names, vec!["app.contoso.com", "api.contoso.com"]);
        assert_eq!(info.emails, vec!["ops@contoso.com"]);
        assert_eq!(info.upns, vec!["svc@contoso.com"]);
        assert_eq!(info.ekus, vec!["1.3.6.1.5.5.7.3.1"]);
        let months = (info.not_after - info.not_before) / 86_400;
        assert!((180..=185).contains(&months), "{months} days");
        // The backing key: same version, managed, same public key as the certificate.
        let k = e.read(|s| keys::get(s, &v, "c1", Some(&c.version.version))).unwrap();
        assert!(k.managed);
        let jwk = keys::jwk(HOST, &k);
        if pem {
            assert_eq!(jwk["crv"], "P-384");
            assert_eq!(info.ec_curve.as_deref(), Some("P-384"));
        } else {
            assert_eq!(info.rsa_bits, Some(2048));
            let n = keys::decode_b64url("n", jwk["n"].as_str().unwrap()).unwrap();
            // PKCS#1 RSAPublicKey holds the modulus.
            assert!(info.public_key.windows(n.len()).any(|w| w == n.as_slice()));
        }
        // The backing secret: same version, managed, the bundle with the private key.
        let sec = secret_bundle(&e, &sealer, &v, "c1");
        assert!(sec.managed);
        assert_eq!(sec.version.version, c.version.version);
        let value = sec.value.unwrap();
        let bundle = if pem {
            assert_eq!(sec.version.content_type.as_deref(), Some("application/x-pem-file"));
            x509::from_pem(&value, "").unwrap()
        } else {
            x509::from_pkcs12(&b64().decode(&value).unwrap(), "").unwrap()
        };
        assert_eq!(bundle.chain, vec![cer.clone()]);
        assert_eq!(x509::public_key_of(bundle.key.as_ref().unwrap()).unwrap(), info.public_key);
        let r = render(HOST, &c);
        assert_eq!(r["kid"], json!(format!("https://{HOST}/keys/c1/{}", c.version.version)));
        assert_eq!(r["sid"], json!(format!("https://{HOST}/secrets/c1/{}", c.version.version)));
        assert_eq!(r["x5t"], json!(x509::b64url(&info.sha1)));
        assert_eq!(r["policy"]["id"], json!(format!("https://{HOST}/certificates/c1/policy")));
    }
    e.read(|s| {
        assert_eq!(list_versions(s, &v, "c1", 25, None).unwrap().items.len(), 2);
        assert_eq!(list(s, &v, 25, None, false).unwrap().items.len(), 1);
    });
}

#[test]
fn bad_policies_are_refused_and_write_nothing() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    for (extra, needle) in [
        (json!({"key_props": {"key_size": 1024}}), "Invalid key size"),
        (json!({"key_props": {"kty": "oct"}}), "Invalid kty"),
        (json!({"key_props": {"kty": "EC", "crv": "P-256K", "key_size": null}}), "P-256K"),
        (json!({"key_props": {"kty": "RSA-HSM"}}), "Hardware key"),
        (json!({"secret_props": {"contentType": "text/plain"}}), "Invalid content type"),
        (json!({"x509_props": {"subject": "nonsense"}}), "not a valid X.500"),
        (json!({"x509_props": {"key_usage": ["bogus"]}}), "Invalid key usage"),
        (json!({"x509_props": {"ekus": ["not-an-oid"]}}), "Invalid extended key usage"),
        // Arcs X.660 does not allow (DER cannot encode them; the first reached a panic in the
        // DER writer before this check).
        (json!({"x509_props": {"ekus": ["5.3.6.1.5.5.7.3.1"]}}), "Invalid extended key usage"),
        (json!({"x509_props": {"ekus": ["1.40.3"]}}), "Invalid extended key usage"),
        (json!({"x509_props": {"ekus": ["1"]}}), "Invalid extended key usage"),
        (json!({"x509_props": {"ekus": ["1.+3.6"]}}), "Invalid extended key usage"),
        (json!({"x509_props": {"validity_months": 0}}), "validity_months"),
        (json!({"x509_props": {"subject": format!("CN={}", "a".repeat(1030))}}), "longer than 1024"),
        (
            json!({"x509_props": {"sans": {"dns_names": (0..101).map(|i| format!("h{i}.contoso.com")).collect::<Vec<_>>()}}}),
            "more than 100 subject alternative names",
        ),
        (json!({"x509_props": {"sans": {"uris": [format!("https://{}", "u".repeat(1100))]}}}), "longer than 1024"),
        (json!({"x509_props": {"sans": {"dns_names": [format!("{}.com", "d".repeat(260))]}}}), "longer than 253"),
        (json!({"issuer": {"name": "NoSuchIssuer"}}), "Issuer 'NoSuchIssuer' not found"),
        (
            json!({"lifetime_actions": [{"trigger": {"lifetime_percentage": 150}, "action": {"action_type": "AutoRenew"}}]}),
            "trigger",
        ),
        (
            json!({"lifetime_actions": [{"trigger": {"lifetime_percentage": 50}, "action": {"action_type": "Explode"}}]}),
            "lifetime action type",
        ),
    ] {
        let err = e.write(|s, b| create(s, b, &sealer, &v, "bad", create_spec(policy(extra.clone())))).unwrap_err();
        assert_eq!(err.code, "BadParameter", "{extra}");
        assert!(err.message.contains(needle), "{extra}: {}", err.message);
    }
    e.read(|s| {
        assert!(get_pending(s, &v, "bad").is_err());
        assert!(keys::get(s, &v, "bad", None).is_err());
        assert!(secrets::get(s, &sealer, &v, "bad", None).is_err());
    });
}

#[test]
fn unknown_issuer_csr_then_merge_and_mismatched_key_refused() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let op = e
        .write(|s, b| create(s, b, &sealer, &v, "ext", create_spec(policy(json!({"issuer": {"name": "Unknown"}})))))
        .unwrap();
    assert_eq!(op.op.status, "inProgress");
    assert!(e.read(|s| get(s, &v, "ext", None)).is_err());
    // Listed only with includePending, without x5t.
    assert!(e.read(|s| list(s, &v, 25, None, false)).unwrap().items.is_empty());
    let listed = e.read(|s| list(s, &v, 25, None, true)).unwrap();
    assert_eq!(listed.items.len(), 1);
    let item = render_item(HOST, &listed.items[0], false);
    assert_eq!(item["id"], json!(format!("https://{HOST}/certificates/ext")));
    assert!(item.get("x5t").is_none());
    let csr = b64().decode(op.op.csr.as_ref().unwrap()).unwrap();
    let ca = x509::generate_key(x509::KeySpec::P256).unwrap();
    let (ca_cert, signed) = x509::sign_csr(&ca, "CN=Test CA", &csr).unwrap();
    // A certificate for another key is refused, and nothing changes.
    let other = x509::generate_key(x509::KeySpec::Rsa(2048)).unwrap();
    let other_csr =
        x509::csr(&other, &x509::CertSpec { subject: "CN=x".into(), validity_months: 1, ..Default::default() })
            .unwrap();
    let (_, wrong) = x509::sign_csr(&ca, "CN=Test CA", &other_csr).unwrap();
    let merge_spec =
        |c: &[u8]| MergeSpec { x5c: vec![b64().encode(c), b64().encode(&ca_cert)], attributes: None, tags: None };
    let err = e.write(|s, b| merge(s, b, &sealer, &v, "ext", merge_spec(&wrong))).unwrap_err();
    assert_eq!(err.message, "Public key from x509 certificate and key of this instance doesn't match");
    assert_eq!(e.read(|s| get_pending(s, &v, "ext")).unwrap().op.status, "inProgress");
    let c = e.write(|s, b| merge(s, b, &sealer, &v, "ext", merge_spec(&signed))).unwrap();
    assert_eq!(c.version.version, op.op.version);
    assert_eq!(c.version.chain.len(), 2);
    let info = x509::parse(&b64().decode(&c.version.chain[0]).unwrap()).unwrap();
    assert_eq!(info.issuer, "CN=Test CA");
    assert_eq!(e.read(|s| get_pending(s, &v, "ext")).unwrap().op.status, "completed");
    assert!(e.read(|s| keys::get(s, &v, "ext", None)).unwrap().managed);
    // A second merge has nothing to merge.
    assert_eq!(e.write(|s, b| merge(s, b, &sealer, &v, "ext", merge_spec(&signed))).unwrap_err().kind, Kind::Forbidden);
    // Cancel and delete of a pending operation.
    e.write(|s, b| create(s, b, &sealer, &v, "ext2", create_spec(policy(json!({"issuer": {"name": "Unknown"}})))))
        .unwrap();
    let cancelled = e.write(|s, b| cancel_pending(s, b, &v, "ext2", true)).unwrap();
    assert!(cancelled.op.cancellation_requested);
    assert_eq!(cancelled.op.status, "cancelled");
    e.write(|s, b| delete_pending(s, b, &v, "ext2")).unwrap();
    assert_eq!(e.read(|s| get_pending(s, &v, "ext2")).unwrap_err().code, "PendingCertificateNotFound");
}

#[test]
fn import_pkcs12_with_password_and_pem_derives_the_policy() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let key = x509::generate_key(x509::KeySpec::P256).unwrap();
    let spec = x509::CertSpec {
        subject: "CN=imported".into(),
        dns_names: vec!["imported.example".into()],
        validity_months: 3,
        ..Default::default()
    };
    let der = x509::self_signed(&key, &spec).unwrap();
    let bundle = Bundle { key: Some(key.clone()), chain: vec![der.clone()] };
    let p12 = b64().encode(x509::to_pkcs12(&bundle, "pw").unwrap());
    let imp = |value: String, pwd: Option<&str>| ImportSpec {
        value,
        pwd: pwd.map(String::from),
        policy: None,
        attributes: None,
        tags: None,
        preserve_cert_order: None,
    };
    let wrong = e.write(|s, b| import(s, b, &sealer, &v, "i1", imp(p12.clone(), Some("nope")))).unwrap_err();
    assert_eq!(wrong.code, "BadParameter");
    let c = e.write(|s, b| import(s, b, &sealer, &v, "i1", imp(p12.clone(), Some("pw")))).unwrap();
    assert_eq!(c.version.chain, vec![b64().encode(&der)]);
    let p = Policy::from_value(&c.policy).unwrap();
    assert_eq!(p.x509_props.as_ref().unwrap().subject.as_deref(), Some("CN=imported"));
    assert_eq!(p.key_props.as_ref().unwrap().kty.as_deref(), Some("EC"));
    assert_eq!(p.key_props.as_ref().unwrap().crv.as_deref(), Some("P-256"));
    assert_eq!(p.issuer_name(), "Unknown");
    assert_eq!(p.content_type(), policy::PKCS12);
    // PEM: the secret keeps the PEM content type.
    let c2 = e.write(|s, b| import(s, b, &sealer, &v, "i2", imp(x509::to_pem(&bundle), None))).unwrap();
    assert_eq!(c2.content_type, policy::PEM);
    let sec = secret_bundle(&e, &sealer, &v, "i2");
    assert!(sec.value.unwrap().contains("-----BEGIN PRIVATE KEY-----"));
    // Base64 of PEM text (what the SDKs send for a .pem file) is PEM too.
    let c3 = e.write(|s, b| import(s, b, &sealer, &v, "i4", imp(b64().encode(x509::to_pem(&bundle)), None))).unwrap();
    assert_eq!(c3.content_type, policy::PEM);
    // Without the private key: refused.
    let no_key = x509::to_pem(&Bundle { key: None, chain: vec![der] });
    let err = e.write(|s, b| import(s, b, &sealer, &v, "i3", imp(no_key.clone(), None))).unwrap_err();
    assert!(err.message.contains("private key"), "{}", err.message);
}

#[test]
fn delete_recover_purge_move_key_and_secret_with_the_certificate_and_managed_objects_refuse_direct_changes() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    e.write(|s, b| create(s, b, &sealer, &v, "c", create_spec(policy(json!({}))))).unwrap();
    // Managed secret and key refuse direct changes (Azure: 403 SecretManagedByKeyVault).
    let err = e.write(|s, b| secrets::delete(s, b, &v, "c")).unwrap_err();
    assert_eq!((err.kind, err.inner.as_deref()), (Kind::Forbidden, Some("SecretManagedByKeyVault")));
    let set = serde_json::from_value(json!({"value": "x"})).unwrap();
    assert_eq!(e.write(|s, b| secrets::set(s, b, &sealer, &v, "c", set)).unwrap_err().kind, Kind::Forbidden);
    let err = e.write(|s, b| keys::delete(s, b, &v, "c")).unwrap_err();
    assert_eq!(err.inner.as_deref(), Some("KeyManagedByKeyVault"));
    // Delete moves all three; deleted lists of keys and secrets do not show managed ones.
    let d = e.write(|s, b| delete(s, b, &v, "c")).unwrap();
    assert!(d.deleted.is_some());
    e.read(|s| {
        assert!(get(s, &v, "c", None).is_err());
        assert!(keys::get(s, &v, "c", None).is_err());
        assert!(secrets::get(s, &sealer, &v, "c", None).is_err());
        assert!(keys::get_deleted(s, &v, "c").is_ok());
        assert_eq!(keys::list_deleted(s, &v, 25, None).unwrap().items.len(), 0);
        assert_eq!(secrets::list_deleted(s, &v, 25, None).unwrap().items.len(), 0);
        assert_eq!(list_deleted(s, &v, 25, None).unwrap().items.len(), 1);
    });
    assert_eq!(e.write(|s, b| keys::recover(s, b, &v, "c")).unwrap_err().kind, Kind::Forbidden);
    e.write(|s, b| recover(s, b, &v, "c")).unwrap();
    e.read(|s| {
        assert!(get(s, &v, "c", None).is_ok());
        assert!(keys::get(s, &v, "c", None).is_ok());
        assert!(secrets::get(s, &sealer, &v, "c", None).is_ok());
    });
    let blob = e.read(|s| backup(s, &sealer, &v, "c")).unwrap();
    e.write(|s, b| delete(s, b, &v, "c")).unwrap();
    e.write(|s, b| purge(s, b, &v, "c")).unwrap();
    e.read(|s| {
        assert!(get_deleted(s, &v, "c").is_err());
        assert!(keys::get_deleted(s, &v, "c").is_err());
        assert!(secrets::get_deleted(s, &v, "c").is_err());
    });
    let r = e.write(|s, b| restore(s, b, &sealer, &v, &blob)).unwrap();
    e.read(|s| {
        assert_eq!(get(s, &v, "c", None).unwrap().version.version, r.version.version);
        assert!(keys::get(s, &v, "c", None).unwrap().managed);
        assert!(secrets::get(s, &sealer, &v, "c", None).unwrap().managed);
    });
    assert_eq!(e.write(|s, b| restore(s, b, &sealer, &v, &blob)).unwrap_err().kind, Kind::Conflict);
}

#[test]
fn issuers_contacts_and_policy_update() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let spec: IssuerSpec =
        serde_json::from_value(json!({"provider": "Test", "credentials": {"account_id": "acct", "pwd": "secret"}}))
            .unwrap();
    let i = e.write(|s, b| set_issuer(s, b, &sealer, &v, "myca", spec, false)).unwrap();
    let r = render_issuer(HOST, &i);
    assert_eq!(r["credentials"], json!({"account_id": "acct"}));
    assert!(!r.to_string().contains("secret"));
    // A policy may now name it: the operation stays pending with a CSR.
    let op = e
        .write(|s, b| create(s, b, &sealer, &v, "n", create_spec(policy(json!({"issuer": {"name": "myca"}})))))
        .unwrap();
    assert_eq!(op.op.status, "inProgress");
    assert_eq!(e.read(|s| list_issuers(s, &v, 25, None)).unwrap().items.len(), 1);
    e.write(|s, b| delete_issuer(s, b, &v, "myca")).unwrap();
    assert_eq!(e.read(|s| get_issuer(s, &v, "myca")).unwrap_err().code, "CertificateIssuerNotFound");
    assert_eq!(e.read(|s| get_contacts(s, &v)).unwrap_err().code, "ContactsNotFound");
    let cs = ContactsSpec { contacts: Some(vec![json!({"email": "a@b.c", "name": "A"})]) };
    e.write(|s, b| set_contacts(s, b, &v, cs)).unwrap();
    assert_eq!(e.read(|s| get_contacts(s, &v)).unwrap().len(), 1);
    let bad_contacts = ContactsSpec { contacts: Some(vec![json!({"name": "no email"})]) };
    assert!(e.write(|s, b| set_contacts(s, b, &v, bad_contacts)).is_err());
    e.write(|s, b| delete_contacts(s, b, &v)).unwrap();
    // Policy update merges the given fields and validates.
    e.write(|s, b| create(s, b, &sealer, &v, "p", create_spec(policy(json!({}))))).unwrap();
    let p = e.write(|s, b| update_policy(s, b, &v, "p", &json!({"x509_props": {"validity_months": 24}}))).unwrap();
    assert_eq!(p["x509_props"]["validity_months"], 24);
    assert_eq!(p["x509_props"]["subject"], "CN=app.contoso.com");
    let err = e.write(|s, b| update_policy(s, b, &v, "p", &json!({"secret_props": {"contentType": "x"}}))).unwrap_err();
    assert_eq!(err.code, "BadParameter");
    assert_eq!(e.read(|s| get_policy(s, &v, "p")).unwrap()["x509_props"]["validity_months"], 24);
}

#[test]
fn reuse_key_keeps_the_key_while_the_key_type_fits() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let public = |version: &str| {
        let c = e.read(|s| get(s, &v, "r", Some(version))).unwrap();
        x509::parse(&b64().decode(&c.version.chain[0]).unwrap()).unwrap().public_key
    };
    let reuse = json!({"key_props": {"reuse_key": true}});
    let a = e.write(|s, b| create(s, b, &sealer, &v, "r", create_spec(policy(reuse.clone())))).unwrap();
    let b2 = e.write(|s, b| create(s, b, &sealer, &v, "r", create_spec(policy(reuse.clone())))).unwrap();
    assert_ne!(a.op.version, b2.op.version);
    assert_eq!(public(&a.op.version), public(&b2.op.version));
    let bigger = json!({"key_props": {"reuse_key": true, "key_size": 3072}});
    let c = e.write(|s, b| create(s, b, &sealer, &v, "r", create_spec(policy(bigger)))).unwrap();
    assert_ne!(public(&c.op.version), public(&b2.op.version));
    let fresh = e.write(|s, b| create(s, b, &sealer, &v, "r", create_spec(policy(json!({}))))).unwrap();
    assert_ne!(public(&fresh.op.version), public(&a.op.version));
}

#[test]
fn pending_details_name_the_merge_for_unknown_and_the_provider_for_named_issuers() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let unknown = e
        .write(|s, b| create(s, b, &sealer, &v, "u", create_spec(policy(json!({"issuer": {"name": "Unknown"}})))))
        .unwrap();
    assert_eq!(
        unknown.op.status_details.as_deref(),
        Some("Pending certificate created. Please Perform Merge to complete the request.")
    );
    assert_eq!(e.read(|s| get_pending(s, &v, "u")).unwrap().op.status_details, unknown.op.status_details);
    let issuer: IssuerSpec = serde_json::from_value(json!({"provider": "Test"})).unwrap();
    e.write(|s, b| set_issuer(s, b, &sealer, &v, "myca", issuer, false)).unwrap();
    let named = e
        .write(|s, b| create(s, b, &sealer, &v, "n", create_spec(policy(json!({"issuer": {"name": "myca"}})))))
        .unwrap();
    assert!(named.op.status_details.unwrap().contains("Certificate request is in progress"));
}

/// A pending `Unknown` certificate and a CA-signed certificate for its CSR: (CA cert, leaf), DER.
fn pending_and_signed(
    e: &crate::Engine,
    sealer: &Sealer,
    v: &Admitted,
    name: &str,
    extra: Value,
) -> (Vec<u8>, Vec<u8>) {
    let mut spec = create_spec(policy(json!({"issuer": {"name": "Unknown"}})));
    spec.preserve_cert_order = extra.get("preserveCertOrder").and_then(Value::as_bool);
    let op = e.write(|s, b| create(s, b, sealer, v, name, spec)).unwrap();
    let csr = b64().decode(op.op.csr.as_ref().unwrap()).unwrap();
    let ca = x509::generate_key(x509::KeySpec::P256).unwrap();
    x509::sign_csr(&ca, "CN=Test CA", &csr).unwrap()
}

#[test]
fn merge_takes_x5c_as_the_sdks_send_it_and_preserve_cert_order_keeps_the_given_order() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let merge_of = |x5c: Vec<String>| MergeSpec { x5c, attributes: None, tags: None };
    // base64 of the base64 text (the Python SDK's own merge test), and base64 of PEM text.
    let (_, leaf) = pending_and_signed(&e, &sealer, &v, "b64text", json!({}));
    let c =
        e.write(|s, b| merge(s, b, &sealer, &v, "b64text", merge_of(vec![b64().encode(b64().encode(&leaf))]))).unwrap();
    assert_eq!(c.version.cer(), Some(&b64().encode(&leaf)));
    let (_, leaf2) = pending_and_signed(&e, &sealer, &v, "pem", json!({}));
    let pem = x509::to_pem(&Bundle { key: None, chain: vec![leaf2.clone()] });
    let c = e.write(|s, b| merge(s, b, &sealer, &v, "pem", merge_of(vec![b64().encode(&pem)]))).unwrap();
    assert_eq!(c.version.cer(), Some(&b64().encode(&leaf2)));
    pending_and_signed(&e, &sealer, &v, "garbage", json!({}));
    let err =
        e.write(|s, b| merge(s, b, &sealer, &v, "garbage", merge_of(vec![b64().encode(b"not a cert")]))).unwrap_err();
    assert_eq!(err.code, "BadParameter");
    assert_eq!(e.read(|s| get_pending(s, &v, "garbage")).unwrap().op.status, "inProgress");
    // CA first: by default the leaf moves to index 0; with preserveCertOrder the order stays.
    let chain_of = |name: &str| {
        let sec = secret_bundle(&e, &sealer, &v, name);
        x509::from_pkcs12(&b64().decode(sec.value.unwrap()).unwrap(), "").unwrap().chain
    };
    for (name, preserve) in [("ordered", false), ("preserved", true)] {
        let (ca, leaf) = pending_and_signed(&e, &sealer, &v, name, json!({"preserveCertOrder": preserve}));
        let c = e
            .write(|s, b| merge(s, b, &sealer, &v, name, merge_of(vec![b64().encode(&ca), b64().encode(&leaf)])))
            .unwrap();
        assert_eq!(c.version.cer(), Some(&b64().encode(&leaf)), "cer is the leaf either way");
        let expected = if preserve { vec![ca.clone(), leaf.clone()] } else { vec![leaf.clone(), ca.clone()] };
        assert_eq!(chain_of(name), expected, "{name}");
        let r = render(HOST, &c);
        assert_eq!(r["preserveCertOrder"], json!(preserve));
        assert_eq!(r["cer"], json!(b64().encode(&leaf)));
    }
}

#[test]
fn alternative_names_without_subject_ip_and_uri_names_and_platform_managed() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let sans_only = json!({"x509_props": {"subject": null, "sans": {"dns_names": ["only.contoso.com"], "emails": null,
        "upns": null, "ipAddresses": ["10.1.2.3"], "uris": ["spiffe://contoso/app"]}},
        "platformManaged": {"certificateUsage": "tls", "metadata": {"k": 1}}});
    e.write(|s, b| create(s, b, &sealer, &v, "s", create_spec(policy(sans_only)))).unwrap();
    let c = e.read(|s| get(s, &v, "s", None)).unwrap();
    let info = x509::parse(&b64().decode(c.version.cer().unwrap()).unwrap()).unwrap();
    assert_eq!(info.subject, "");
    assert_eq!(
        (info.dns_names, info.ip_addresses, info.uris),
        (vec!["only.contoso.com".to_string()], vec!["10.1.2.3".to_string()], vec!["spiffe://contoso/app".to_string()])
    );
    let p = e.read(|s| get_policy(s, &v, "s")).unwrap();
    assert_eq!(p["x509_props"]["sans"]["ipAddresses"], json!(["10.1.2.3"]));
    assert_eq!(p["x509_props"]["sans"]["uris"], json!(["spiffe://contoso/app"]));
    assert_eq!(p["platformManaged"], json!({"certificateUsage": "tls", "metadata": {"k": 1}}));
    for (extra, needle) in [
        (json!({"x509_props": {"subject": null, "sans": null}}), "subject or subject alternative names"),
        (json!({"x509_props": {"sans": {"ipAddresses": ["300.1.1.1"]}}}), "Invalid IP address"),
        (json!({"x509_props": {"sans": {"uris": ["no-scheme"]}}}), "Invalid URI"),
        (json!({"platformManaged": {"metadata": {}}}), "certificateUsage"),
    ] {
        let err = e.write(|s, b| create(s, b, &sealer, &v, "bad", create_spec(policy(extra.clone())))).unwrap_err();
        assert!(err.message.contains(needle), "{extra}: {}", err.message);
    }
}

#[test]
fn import_pem_with_an_encrypted_key_and_its_password() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let cert = include_str!("../../../../vaultlink-crypto/tests/fixtures/cert.pem");
    let imp = |value: String, pwd: &str| -> ImportSpec {
        serde_json::from_value(json!({"value": value, "pwd": pwd})).unwrap()
    };
    for (name, key) in [
        ("pbes2", include_str!("../../../../vaultlink-crypto/tests/fixtures/key-pbes2.pem")),
        ("pbe", include_str!("../../../../vaultlink-crypto/tests/fixtures/key-pbe-sha1-3des.pem")),
    ] {
        let text = b64().encode(format!("{cert}{key}"));
        let err = e.write(|s, b| import(s, b, &sealer, &v, name, imp(text.clone(), "wrong"))).unwrap_err();
        assert_eq!(err.code, "BadParameter");
        let c = e.write(|s, b| import(s, b, &sealer, &v, name, imp(text, "fixture-pw"))).unwrap();
        assert_eq!(c.content_type, policy::PEM);
        let sec = secret_bundle(&e, &sealer, &v, name).value.unwrap();
        assert!(sec.contains("-----BEGIN PRIVATE KEY-----"), "stored as Key Vault stores PEM: PKCS#8");
    }
}

#[test]
fn issuer_update_with_an_empty_account_id_clears_it() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let spec: IssuerSpec =
        serde_json::from_value(json!({"provider": "Test", "credentials": {"account_id": "acct"}})).unwrap();
    e.write(|s, b| set_issuer(s, b, &sealer, &v, "ca", spec, false)).unwrap();
    let clear: IssuerSpec = serde_json::from_value(json!({"credentials": {"account_id": ""}})).unwrap();
    let i = e.write(|s, b| set_issuer(s, b, &sealer, &v, "ca", clear, true)).unwrap();
    assert_eq!(i.account_id, None);
    assert!(render_issuer(HOST, &i).get("credentials").is_none());
}

/// A certificate is dated by the engine's clock, not the system's: made after the clock moved,
/// its validity (and its backing key's `nbf`/`exp`) starts at the engine's time.
#[test]
fn certificates_are_dated_by_the_engines_clock() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    e.clock().advance(400 * 86_400);
    let t = e.clock().now();
    e.write(|s, b| create(s, b, &sealer, &v, "c1", create_spec(policy(json!({}))))).unwrap();
    let c = e.read(|s| get(s, &v, "c1", None)).unwrap();
    let info = x509::parse(&b64().decode(&c.version.chain[0]).unwrap()).unwrap();
    assert!((t - 1..=t + 1).contains(&info.not_before), "notBefore {} for engine time {t}", info.not_before);
    let k = e.read(|s| keys::get(s, &v, "c1", None)).unwrap();
    assert_eq!(k.version.nbf, Some(info.not_before));
    assert_eq!(k.version.exp, Some(info.not_after));
}

/// A self-signed certificate whose policy says `AutoRenew` gets a new version when the engine's
/// clock reaches the trigger (80% of its validity here), once, dated from then; one whose
/// policy only emails contacts is left alone.
#[test]
fn auto_renew_makes_a_new_version_when_its_time_comes() {
    let e = world();
    let v = vault(&e, "kv1", json!({}));
    let sealer = Sealer::ephemeral();
    let short = |action: &str| {
        policy(json!({
            "x509_props": {"validity_months": 1},
            "lifetime_actions": [{"trigger": {"lifetime_percentage": 80}, "action": {"action_type": action}}],
        }))
    };
    e.write(|s, b| create(s, b, &sealer, &v, "renews", create_spec(short("AutoRenew")))).unwrap();
    e.write(|s, b| create(s, b, &sealer, &v, "emails", create_spec(short("EmailContacts")))).unwrap();
    let due = || e.write(|s, b| Ok::<_, Error>(crate::kv::due_work(s, b, &sealer))).unwrap();
    let versions = |name: &str| e.read(|s| list_versions(s, &v, name, 25, None)).unwrap().items.len();

    e.clock().advance(20 * 86_400);
    assert_eq!(due().renewed, 0);
    e.clock().advance(5 * 86_400);
    assert_eq!(due().renewed, 1);
    assert_eq!(due().renewed, 0);
    assert_eq!((versions("renews"), versions("emails")), (2, 1));
    let cur = e.read(|s| get(s, &v, "renews", None)).unwrap();
    let info = x509::parse(&b64().decode(&cur.version.chain[0]).unwrap()).unwrap();
    let t = e.clock().now();
    assert!((t - 1..=t + 1).contains(&info.not_before));
    assert_eq!(cur.version.tags.get("env").map(String::as_str), Some("test"));
}
