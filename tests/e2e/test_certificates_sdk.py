"""The real Python `azure-keyvault-certificates` (CertificateClient) through the proxy, with the
keys and secrets SDKs for the backing key and secret, and OpenSSL and `cryptography` as the
independent judges of what vaultlink generates (issue 6, certificates).

As in test_keys_sdk.py, the scenario runs in a subprocess with only the `vaultlink env`
variables. The certificates SDK is NEWEST_SDK, installed beside the venv (az pins 4.7.0 there);
the keys and secrets SDKs are the venv's.

Files the scenario writes into its working directory (the downloaded PKCS#12 and PEM secrets,
the certificates) are opened here with `openssl` and `cryptography`.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import Vaultlink
from dp_fixtures import VERSION_RE, provision, vault_url
from sdk import run_scenario, scenario, sdk_overlay, sdk_pin
from sdk import unb64u as b64u

RG = "rg-certs-sdk"
VAULT = "kv-certs-sdk"
NEWEST_SDK = sdk_pin("azure-keyvault-certificates", "4.12.0")  # newest stable azure-keyvault-certificates (az 2.91 pins 4.7.0 in the venv)
UPN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")

SCRIPT = scenario(
    r'''
    import datetime, hashlib
    from azure.core.exceptions import ResourceNotFoundError
    import azure.keyvault.certificates
    from azure.keyvault.certificates import (
        CertificateClient, CertificatePolicy, CertificateContentType, KeyType, KeyCurveName,
        KeyUsageType, LifetimeAction, CertificatePolicyAction, CertificateContact,
        AdministratorContact, WellKnownIssuerNames)
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm
    from azure.keyvault.secrets import SecretClient
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    vault_url = sys.argv[1]
    cred = credential()
    cc = CertificateClient(vault_url=vault_url, credential=cred)
    kc = KeyClient(vault_url=vault_url, credential=cred)
    sc = SecretClient(vault_url=vault_url, credential=cred)
    out = {"sdk_version": azure.keyvault.certificates.__version__}

    # 1. Self-signed RSA, PKCS#12, every policy field.
    policy = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.self, subject="CN=app.contoso.com, O=Contoso",
        san_dns_names=["app.contoso.com", "api.contoso.com"], san_emails=["ops@contoso.com"],
        san_user_principal_names=["svc@contoso.com"], validity_in_months=6,
        key_type=KeyType.rsa, key_size=3072, reuse_key=False, exportable=True,
        content_type=CertificateContentType.pkcs12,
        key_usage=[KeyUsageType.digital_signature, KeyUsageType.key_encipherment],
        enhanced_key_usage=["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
        lifetime_actions=[LifetimeAction(action=CertificatePolicyAction.auto_renew, days_before_expiry=30)])
    poller = cc.begin_create_certificate("rsa-cert", policy=policy, tags={"env": "e2e"})
    cert = poller.result()
    out["rsa"] = {"id": cert.id, "name": cert.name, "version": cert.properties.version,
                  "key_id": cert.key_id, "secret_id": cert.secret_id, "tags": cert.properties.tags,
                  "x5t": b64u(cert.properties.x509_thumbprint), "enabled": cert.properties.enabled,
                  "policy_subject": cert.policy.subject, "policy_key_size": cert.policy.key_size,
                  "policy_content_type": sv(cert.policy.content_type),
                  "policy_actions": [[sv(a.action), a.days_before_expiry, a.lifetime_percentage] for a in cert.policy.lifetime_actions],
                  "expires_on": cert.properties.expires_on.timestamp(),
                  "not_before": cert.properties.not_before.timestamp()}
    open("rsa.cer", "wb").write(cert.cer)
    op = cc.get_certificate_operation("rsa-cert")
    out["rsa_op"] = {"status": op.status, "issuer": op.issuer_name, "id": op.id, "target": op.target}
    secret = sc.get_secret("rsa-cert")
    out["rsa_secret"] = {"id": secret.id, "content_type": secret.properties.content_type,
                         "managed": secret.properties.managed, "key_id": secret.properties.key_id}
    open("rsa.pfx", "wb").write(base64.b64decode(secret.value))
    key = kc.get_key("rsa-cert")
    out["rsa_key"] = {"id": key.id, "managed": key.properties.managed, "n": b64u(key.key.n),
                      "e": b64u(key.key.e), "kty": sv(key.key_type)}
    digest = hashlib.sha256(b"signed by the certificate's key").digest()
    sig = CryptographyClient(key.id, cred).sign(SignatureAlgorithm.rs256, digest)
    out["rsa_sig"] = {"kid": sig.key_id, "sig": b64u(sig.signature), "digest": b64u(digest)}
    out["managed_secret_delete"] = expect_error(lambda: sc.begin_delete_secret("rsa-cert").result())
    out["managed_secret_set"] = expect_error(lambda: sc.set_secret("rsa-cert", "x"))
    out["managed_key_delete"] = expect_error(lambda: kc.begin_delete_key("rsa-cert").result())

    # 2. EC P-384, PEM, not reusing the key; a second version.
    ec_policy = CertificatePolicy(
        issuer_name="Self", subject="CN=ec.contoso.com", key_type=KeyType.ec,
        key_curve_name=KeyCurveName.p_384, content_type=CertificateContentType.pem,
        validity_in_months=12, exportable=True)
    e1 = cc.begin_create_certificate("ec-cert", policy=ec_policy).result()
    e2 = cc.begin_create_certificate("ec-cert", policy=ec_policy).result()
    out["ec"] = {"v1": e1.properties.version, "v2": e2.properties.version,
                 "curve": sv(e2.policy.key_curve_name), "content_type": sv(e2.policy.content_type)}
    out["ec_get_v1"] = cc.get_certificate_version("ec-cert", e1.properties.version).properties.version
    out["ec_versions"] = sorted(p.version for p in cc.list_properties_of_certificate_versions("ec-cert"))
    pem_secret = sc.get_secret("ec-cert")
    out["ec_secret_content_type"] = pem_secret.properties.content_type
    open("ec.pem", "w").write(pem_secret.value)
    eckey = kc.get_key("ec-cert")
    out["ec_key"] = {"crv": sv(eckey.key.crv), "x": b64u(eckey.key.x), "y": b64u(eckey.key.y),
                     "version": eckey.properties.version}
    d384 = hashlib.sha384(b"ec message").digest()
    s384 = CryptographyClient(eckey.id, cred).sign(SignatureAlgorithm.es384, d384)
    out["ec_sig"] = {"sig": b64u(s384.signature), "digest": b64u(d384)}

    # 3. Non-exportable: the secret holds the certificate without the private key.
    # (The SDK leaves key_props out when exportable=False is its only key field: key_type too.)
    ne = CertificatePolicy(issuer_name="Self", subject="CN=noexport", exportable=False,
                           key_type=KeyType.rsa, content_type=CertificateContentType.pem)
    cc.begin_create_certificate("noexport", policy=ne).result()
    out["noexport_secret"] = sc.get_secret("noexport").value

    # 4. get, list, policy, update.
    out["list"] = sorted(p.name for p in cc.list_properties_of_certificates())
    pol = cc.get_certificate_policy("rsa-cert")
    out["policy"] = {"subject": pol.subject, "dns": pol.san_dns_names, "emails": pol.san_emails,
                     "upns": pol.san_user_principal_names, "months": pol.validity_in_months,
                     "key_usage": sorted(sv(k) for k in pol.key_usage), "ekus": pol.enhanced_key_usage,
                     "exportable": pol.exportable, "reuse": pol.reuse_key, "issuer": pol.issuer_name}
    # The fields sent replace the stored ones; the others stay.
    upd = cc.update_certificate_policy("rsa-cert", CertificatePolicy(issuer_name="Self", validity_in_months=24))
    out["policy_updated_months"] = upd.validity_in_months
    out["policy_updated_kept"] = [upd.subject, upd.key_size, upd.san_dns_names]
    out["policy_reread_months"] = cc.get_certificate_policy("rsa-cert").validity_in_months
    props = cc.update_certificate_properties("rsa-cert", enabled=False, tags={"env": "changed"})
    out["updated"] = {"enabled": props.properties.enabled, "tags": props.properties.tags}
    out["secret_after_disable"] = expect_error(lambda: sc.get_secret("rsa-cert"))
    cc.update_certificate_properties("rsa-cert", enabled=True)
    out["bad_policy"] = expect_error(lambda: cc.begin_create_certificate(
        "bad", policy=CertificatePolicy(issuer_name="Self", subject="CN=bad", key_type=KeyType.rsa, key_size=1024)))
    out["bad_policy_left_nothing"] = expect_error(lambda: cc.get_certificate_operation("bad"))
    out["unknown_issuer"] = expect_error(lambda: cc.begin_create_certificate(
        "bad2", policy=CertificatePolicy(issuer_name="NoSuchIssuer", subject="CN=bad2")))

    # 5. Import: PFX with and without password, PEM (made here with `cryptography`).
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imported.example")])
    crt = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
           .serial_number(x509.random_serial_number()).not_valid_before(now)
           .not_valid_after(now + datetime.timedelta(days=90))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName("imported.example")]), critical=False)
           .sign(k, hashes.SHA256()))
    pfx_pw = pkcs12.serialize_key_and_certificates(b"imp", k, crt, None,
                                                   serialization.BestAvailableEncryption(b"pa55"))
    pfx_nopw = pkcs12.serialize_key_and_certificates(b"imp", k, crt, None, serialization.NoEncryption())
    pem = (k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()) + crt.public_bytes(serialization.Encoding.PEM))
    i1 = cc.import_certificate("imp-pw", pfx_pw, password="pa55", tags={"src": "pfx"})
    i2 = cc.import_certificate("imp-nopw", pfx_nopw)
    i3 = cc.import_certificate("imp-pem", pem, policy=CertificatePolicy(content_type=CertificateContentType.pem))
    der = crt.public_bytes(serialization.Encoding.DER)
    out["imported"] = {"pw_cer_same": i1.cer == der, "nopw_cer_same": i2.cer == der, "pem_cer_same": i3.cer == der,
                       "pw_subject": i1.policy.subject, "pw_dns": i1.policy.san_dns_names,
                       "pem_content_type": sv(i3.policy.content_type), "tags": i1.properties.tags,
                       "pem_secret_has_key": "PRIVATE KEY" in sc.get_secret("imp-pem").value}
    out["import_wrong_password"] = expect_error(lambda: cc.import_certificate("imp-bad", pfx_pw, password="nope"))

    # 6. Unknown issuer: CSR, merge a certificate signed elsewhere; a mismatched one is refused.
    up = CertificatePolicy(issuer_name=WellKnownIssuerNames.unknown, subject="CN=external.contoso.com",
                           san_dns_names=["external.contoso.com"])
    pending = cc.begin_create_certificate("external", policy=up).result()
    out["pending"] = {"status": pending.status, "issuer": pending.issuer_name, "has_csr": bool(pending.csr)}
    out["pending_get_cert"] = expect_error(lambda: cc.get_certificate("external"))
    out["pending_listed"] = [[p.name, p.x509_thumbprint] for p in cc.list_properties_of_certificates(include_pending=True)
                             if p.name == "external"]
    out["pending_not_listed"] = [p.name for p in cc.list_properties_of_certificates() if p.name == "external"]
    csr = x509.load_der_x509_csr(pending.csr)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "E2E Test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    def issue(pub, subject):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(pub)
                .serial_number(x509.random_serial_number()).not_valid_before(now)
                .not_valid_after(now + datetime.timedelta(days=200)).sign(ca_key, hashes.SHA256()))
    leaf = issue(csr.public_key(), csr.subject)
    wrong = issue(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(), csr.subject)
    d = serialization.Encoding.DER
    out["merge_wrong"] = expect_error(lambda: cc.merge_certificate("external", [wrong.public_bytes(d), ca.public_bytes(d)]))
    merged = cc.merge_certificate("external", [leaf.public_bytes(d), ca.public_bytes(d)])
    out["merged"] = {"cer_same": merged.cer == leaf.public_bytes(d), "version": merged.properties.version,
                     "op_status": cc.get_certificate_operation("external").status,
                     "key_managed": kc.get_key("external").properties.managed}
    chain = pkcs12.load_key_and_certificates(base64.b64decode(sc.get_secret("external").value), None)
    out["merged_secret"] = {"key_matches": chain[0].public_key().public_numbers() == csr.public_key().public_numbers(),
                            "leaf_same": chain[1].public_bytes(d) == leaf.public_bytes(d),
                            "extra": [c.subject.rfc4514_string() for c in chain[2]]}
    cc.begin_create_certificate("cancelme", policy=up).result()
    c = cc.cancel_certificate_operation("cancelme", raw_response_hook=lambda r: out.__setitem__("cancel_raw", r.http_response.text()))
    out["cancelled"] = {"requested": c.cancellation_requested, "status": c.status}
    dl = cc.delete_certificate_operation("cancelme")
    out["deleted_op"] = dl.status
    out["deleted_op_gone"] = expect_error(lambda: cc.get_certificate_operation("cancelme"))

    # 7. Issuers and contacts.
    iss = cc.create_issuer("myca", "Test", account_id="acct", password="pw", organization_id="org1",
                           admin_contacts=[AdministratorContact(first_name="A", last_name="B", email="a@b.example", phone="1")])
    out["issuer"] = {"id": iss.id, "provider": iss.provider, "account_id": iss.account_id, "password": iss.password,
                     "org": iss.organization_id, "admins": [a.email for a in iss.admin_contacts]}
    out["issuer_get"] = cc.get_issuer("myca").provider
    out["issuer_update"] = cc.update_issuer("myca", provider="Other").provider
    out["issuers"] = [i.name for i in cc.list_properties_of_issuers()]
    out["issuer_deleted"] = cc.delete_issuer("myca").name
    out["issuer_gone"] = expect_error(lambda: cc.get_issuer("myca"))
    out["contacts_none"] = expect_error(lambda: cc.get_contacts())
    cc.set_contacts([CertificateContact(email="sec@contoso.example", name="Sec", phone="555")])
    out["contacts"] = [[x.email, x.name, x.phone] for x in cc.get_contacts()]
    out["contacts_deleted"] = [x.email for x in cc.delete_contacts()]

    # 8. Delete (key and secret go too), recover, purge, backup, restore.
    dc = cc.begin_delete_certificate("ec-cert").result()
    out["deleted"] = {"recovery_id": dc.recovery_id, "name": dc.name,
                      "in_list": [x.name for x in cc.list_deleted_certificates()],
                      "key_gone": expect_error(lambda: kc.get_key("ec-cert")),
                      "secret_gone": expect_error(lambda: sc.get_secret("ec-cert")),
                      "deleted_key": kc.get_deleted_key("ec-cert").name,
                      "get_deleted": cc.get_deleted_certificate("ec-cert").id}
    rec = cc.begin_recover_deleted_certificate("ec-cert").result()
    out["recovered"] = {"version": rec.properties.version, "key": kc.get_key("ec-cert").properties.version,
                        "secret": sc.get_secret("ec-cert").properties.version}
    blob = cc.backup_certificate("imp-nopw")
    cc.begin_delete_certificate("imp-nopw").result()
    cc.purge_deleted_certificate("imp-nopw")
    out["purged"] = {"cert": expect_error(lambda: cc.get_deleted_certificate("imp-nopw")),
                     "key": expect_error(lambda: kc.get_deleted_key("imp-nopw"))}
    restored = cc.restore_certificate_backup(blob)
    out["restored"] = {"name": restored.name, "cer_same": restored.cer == der,
                       "secret_ok": pkcs12.load_key_and_certificates(
                           base64.b64decode(sc.get_secret("imp-nopw").value), None)[1].public_bytes(d) == der}
    out["restore_again"] = expect_error(lambda: cc.restore_certificate_backup(blob))
    print(json.dumps(out))
    '''
)


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    provision(logged_in, RG, VAULT)
    return logged_in


@pytest.fixture(scope="session")
def certs_sdk_overlay() -> Path:
    """azure-keyvault-certificates NEWEST_SDK in a --target dir beside the venv (cached)."""
    return sdk_overlay("azure-keyvault-certificates", NEWEST_SDK)


def openssl() -> str:
    path = shutil.which("openssl")
    if not path:
        pytest.fail("the openssl CLI is missing: run scripts/prerequisites (Debian package openssl)")
    return path


def test_sdk_every_certificate_operation(vl: Vaultlink, tmp_path: Path,
                                          certs_sdk_overlay: Path) -> None:
    o = run_scenario(vl, tmp_path, "certs_scenario.py", SCRIPT, VAULT, overlay=certs_sdk_overlay)
    assert o["sdk_version"] == NEWEST_SDK, o["sdk_version"]
    base = vault_url(VAULT)

    # The self-signed certificate, its key and its secret share name and version.
    r = o["rsa"]
    v = r["version"]
    assert VERSION_RE.match(v), r
    assert r["id"] == f"{base}/certificates/rsa-cert/{v}", r
    assert r["key_id"] == f"{base}/keys/rsa-cert/{v}", r
    assert r["secret_id"] == f"{base}/secrets/rsa-cert/{v}", r
    assert r["tags"] == {"env": "e2e"} and r["enabled"] is True, r
    assert r["policy_subject"] == "CN=app.contoso.com, O=Contoso" and r["policy_key_size"] == 3072, r
    assert r["policy_actions"] == [["AutoRenew", 30, None]], r
    assert o["rsa_op"] == {"status": "completed", "issuer": "Self",
                           "id": f"{base}/certificates/rsa-cert/pending",
                           "target": f"{base}/certificates/rsa-cert"}, o["rsa_op"]
    assert o["rsa_secret"] == {"id": f"{base}/secrets/rsa-cert/{v}",
                               "content_type": "application/x-pkcs12", "managed": True,
                               "key_id": f"{base}/keys/rsa-cert/{v}"}, o["rsa_secret"]
    assert o["rsa_key"]["id"] == f"{base}/keys/rsa-cert/{v}" and o["rsa_key"]["managed"] is True

    # The certificate, read by `cryptography`, is what the policy asked for.
    cert = x509.load_der_x509_certificate((tmp_path / "rsa.cer").read_bytes())
    assert cert.subject.rfc4514_string() == "O=Contoso,CN=app.contoso.com", cert.subject
    assert cert.issuer == cert.subject
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["app.contoso.com", "api.contoso.com"]
    assert san.get_values_for_type(x509.RFC822Name) == ["ops@contoso.com"]
    upns = [n.value for n in san.get_values_for_type(x509.OtherName) if n.type_id == UPN_OID]
    assert upns and b"svc@contoso.com" in upns[0], upns
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
    assert 180 <= days <= 185, days
    assert abs(cert.not_valid_after_utc.timestamp() - r["expires_on"]) < 2, r
    pub = cert.public_key()
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == 3072
    # ... and its public key is the backing key's JWK.
    assert pub.public_numbers().n == int.from_bytes(b64u(o["rsa_key"]["n"]), "big")
    assert pub.public_numbers().e == int.from_bytes(b64u(o["rsa_key"]["e"]), "big")
    # The backing key signed; the certificate's public key verifies (and refuses a tampered one).
    sig, digest = b64u(o["rsa_sig"]["sig"]), b64u(o["rsa_sig"]["digest"])
    from cryptography.hazmat.primitives.asymmetric import utils
    pub.verify(sig, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    bad = bytearray(sig)
    bad[7] ^= 1
    with pytest.raises(Exception):
        pub.verify(bytes(bad), digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    assert r["x5t"] == base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).rstrip(b"=").decode()

    # The PKCS#12 secret opens with OpenSSL (empty password) and with `cryptography`.
    pfx = tmp_path / "rsa.pfx"
    ossl = subprocess.run([openssl(), "pkcs12", "-in", str(pfx), "-nodes", "-passin", "pass:"],
                          capture_output=True, text=True, timeout=60)
    assert ossl.returncode == 0, ossl.stderr
    assert "-----BEGIN PRIVATE KEY-----" in ossl.stdout and "-----BEGIN CERTIFICATE-----" in ossl.stdout
    assert "subject=CN = app.contoso.com, O = Contoso" in ossl.stdout, ossl.stdout
    key, leaf, extra = pkcs12.load_key_and_certificates(pfx.read_bytes(), None)
    assert leaf is not None and leaf.public_bytes(serialization.Encoding.DER) == \
        (tmp_path / "rsa.cer").read_bytes()
    assert key is not None and key.public_key().public_numbers() == pub.public_numbers()
    assert extra == []

    # Managed key and secret refuse direct changes (Azure: 403, SecretManagedByKeyVault).
    for k in ("managed_secret_delete", "managed_secret_set"):
        e = o[k]
        assert e != "no error" and (e["status"], e["inner"]) == (403, "SecretManagedByKeyVault"), e
        assert "lifetime is managed by Key Vault" in e["message"], e
    e = o["managed_key_delete"]
    assert e != "no error" and (e["status"], e["inner"]) == (403, "KeyManagedByKeyVault"), e

    # EC P-384 with PEM: two versions, the PEM secret, ES384 by the backing key.
    ecd = o["ec"]
    assert ecd["v1"] != ecd["v2"] and ecd["curve"] == "P-384", ecd
    assert ecd["content_type"] == "application/x-pem-file"
    assert o["ec_get_v1"] == ecd["v1"] and o["ec_versions"] == sorted([ecd["v1"], ecd["v2"]])
    assert o["ec_secret_content_type"] == "application/x-pem-file"
    pem_text = (tmp_path / "ec.pem").read_bytes()
    ec_key = serialization.load_pem_private_key(pem_text, None)
    ec_cert = x509.load_pem_x509_certificate(pem_text)
    assert isinstance(ec_key, ec.EllipticCurvePrivateKey) and ec_key.curve.name == "secp384r1"
    assert ec_cert.public_key().public_numbers() == ec_key.public_key().public_numbers()
    nums = ec_cert.public_key().public_numbers()
    assert nums.x == int.from_bytes(b64u(o["ec_key"]["x"]), "big")
    assert nums.y == int.from_bytes(b64u(o["ec_key"]["y"]), "big")
    assert o["ec_key"]["version"] == ecd["v2"]
    raw = b64u(o["ec_sig"]["sig"])
    der_sig = utils.encode_dss_signature(int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
    ec_cert.public_key().verify(der_sig, b64u(o["ec_sig"]["digest"]),
                                ec.ECDSA(utils.Prehashed(hashes.SHA384())))
    ossl = subprocess.run([openssl(), "x509", "-noout", "-subject"], input=pem_text.decode(),
                          capture_output=True, text=True, timeout=60)
    assert ossl.returncode == 0 and "CN = ec.contoso.com" in ossl.stdout, ossl

    assert "PRIVATE KEY" not in o["noexport_secret"] and "BEGIN CERTIFICATE" in o["noexport_secret"]

    assert o["list"] == sorted(["rsa-cert", "ec-cert", "noexport"]), o["list"]
    p = o["policy"]
    assert p == {"subject": "CN=app.contoso.com, O=Contoso",
                 "dns": ["app.contoso.com", "api.contoso.com"], "emails": ["ops@contoso.com"],
                 "upns": ["svc@contoso.com"], "months": 6,
                 "key_usage": ["digitalSignature", "keyEncipherment"],
                 "ekus": ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], "exportable": True,
                 "reuse": False, "issuer": "Self"}, p
    assert o["policy_updated_months"] == 24 and o["policy_reread_months"] == 24
    assert o["policy_updated_kept"] == ["CN=app.contoso.com, O=Contoso", 3072,
                                        ["app.contoso.com", "api.contoso.com"]], o["policy_updated_kept"]
    assert o["updated"] == {"enabled": False, "tags": {"env": "changed"}}, o["updated"]
    sd = o["secret_after_disable"]
    assert sd != "no error" and (sd["status"], sd["inner"]) == (403, "SecretDisabled"), sd
    bp = o["bad_policy"]
    assert bp != "no error" and (bp["status"], bp["code"]) == (400, "BadParameter"), bp
    assert "Invalid key size: 1024" in bp["message"], bp
    nl = o["bad_policy_left_nothing"]
    assert nl != "no error" and nl["status"] == 404, nl
    ui = o["unknown_issuer"]
    assert ui != "no error" and ui["status"] == 400 and "NoSuchIssuer" in ui["message"], ui

    imp = o["imported"]
    assert imp["pw_cer_same"] and imp["nopw_cer_same"] and imp["pem_cer_same"], imp
    assert imp["pw_subject"] == "CN=imported.example" and imp["pw_dns"] == ["imported.example"]
    assert imp["pem_content_type"] == "application/x-pem-file" and imp["pem_secret_has_key"]
    assert imp["tags"] == {"src": "pfx"}
    wp = o["import_wrong_password"]
    assert wp != "no error" and (wp["status"], wp["code"]) == (400, "BadParameter"), wp

    assert o["pending"] == {"status": "inProgress", "issuer": "Unknown", "has_csr": True}
    assert o["pending_listed"] == [["external", None]] and o["pending_not_listed"] == [], o
    pg = o["pending_get_cert"]
    assert pg != "no error" and pg["status"] == 404, pg
    mw = o["merge_wrong"]
    assert mw != "no error" and mw["status"] == 400, mw
    assert mw["message"] == "Public key from x509 certificate and key of this instance doesn't match"
    m = o["merged"]
    assert m["cer_same"] and m["op_status"] == "completed" and m["key_managed"] is True, m
    assert o["merged_secret"] == {"key_matches": True, "leaf_same": True, "extra": ["CN=E2E Test CA"]}
    assert o["cancelled"] == {"requested": True, "status": "cancelled"}, (o["cancelled"], o.get("cancel_raw"))
    assert o["deleted_op"] == "cancelled"
    gone = o["deleted_op_gone"]
    assert gone != "no error" and gone["status"] == 404, gone

    i = o["issuer"]
    assert i == {"id": f"{base}/certificates/issuers/myca", "provider": "Test", "account_id": "acct",
                 "password": None, "org": "org1", "admins": ["a@b.example"]}, i
    assert o["issuer_get"] == "Test" and o["issuer_update"] == "Other"
    assert o["issuers"] == ["myca"] and o["issuer_deleted"] == "myca"
    assert o["issuer_gone"] != "no error" and o["issuer_gone"]["status"] == 404
    assert o["contacts_none"] != "no error" and o["contacts_none"]["status"] == 404
    assert o["contacts"] == [["sec@contoso.example", "Sec", "555"]]
    assert o["contacts_deleted"] == ["sec@contoso.example"]

    d = o["deleted"]
    assert d["recovery_id"] == f"{base}/deletedcertificates/ec-cert" and d["name"] == "ec-cert", d
    assert d["in_list"] == ["ec-cert"], d
    assert d["key_gone"]["status"] == 404 and d["secret_gone"]["status"] == 404, d
    assert d["deleted_key"] == "ec-cert" and d["get_deleted"].startswith(f"{base}/certificates/ec-cert/")
    assert o["recovered"] == {"version": ecd["v2"], "key": ecd["v2"], "secret": ecd["v2"]}, o["recovered"]
    assert o["purged"]["cert"]["status"] == 404 and o["purged"]["key"]["status"] == 404, o["purged"]
    assert o["restored"] == {"name": "imp-nopw", "cer_same": True, "secret_ok": True}, o["restored"]
    ra = o["restore_again"]
    assert ra != "no error" and ra["status"] == 409, ra


def test_wire_shapes_and_bad_input_write_nothing(vl: Vaultlink) -> None:
    """Raw HTTPS: the wire shapes of the OpenAPI spec (2026-04-01 and 7.4), and refused requests
    that leave certificates, keys and secrets exactly as they were."""
    from dp_fixtures import Dp, error_of

    dp = Dp(vl)
    tok = dp.token()
    base = vault_url(VAULT)
    pol = {"key_props": {"kty": "EC", "crv": "P-256"}, "x509_props": {"subject": "CN=wire"},
           "issuer": {"name": "Self"}}
    r = dp.kv("POST", VAULT, "/certificates/wire/create", token=tok, api_version="2026-04-01",
              json={"policy": pol})
    assert r.status_code == 202, r.text
    op = r.json()
    assert set(op) == {"id", "issuer", "csr", "cancellation_requested", "status", "status_details",
                       "request_id"}, op
    assert op["id"] == f"{base}/certificates/wire/pending" and op["status"] == "inProgress", op
    r = dp.kv("GET", VAULT, "/certificates/wire/pending", token=tok)
    assert r.json()["status"] == "completed" and r.json()["target"] == f"{base}/certificates/wire"
    b = dp.kv("GET", VAULT, "/certificates/wire", token=tok).json()
    assert set(b) == {"id", "kid", "sid", "x5t", "cer", "contentType", "attributes", "policy"}, b
    assert set(b["attributes"]) == {"enabled", "nbf", "exp", "created", "updated", "recoveryLevel",
                                    "recoverableDays"}, b["attributes"]
    p = b["policy"]
    assert set(p) == {"id", "key_props", "secret_props", "x509_props", "lifetime_actions", "issuer",
                      "attributes"}, p
    assert p["key_props"] == {"exportable": True, "kty": "EC", "key_size": 256, "reuse_key": False,
                              "crv": "P-256"}, p
    assert p["secret_props"] == {"contentType": "application/x-pkcs12"}, p
    assert p["lifetime_actions"] == [{"trigger": {"lifetime_percentage": 80},
                                      "action": {"action_type": "AutoRenew"}}], p
    item = [i for i in dp.kv("GET", VAULT, "/certificates", token=tok).json()["value"]
            if i["id"] == f"{base}/certificates/wire"]
    assert len(item) == 1 and set(item[0]) == {"id", "x5t", "attributes"}, item
    assert "recoveryLevel" not in item[0]["attributes"], item
    sec = dp.kv("GET", VAULT, "/secrets/wire", token=tok).json()
    assert sec["managed"] is True and sec["kid"] == b["kid"], sec
    key = dp.kv("GET", VAULT, "/keys/wire", token=tok).json()
    assert key["managed"] is True and key["key"]["kid"] == b["kid"], key

    def everything() -> str:
        out = {}
        for path in ("/certificates", "/keys", "/secrets", "/deletedcertificates",
                     "/certificates/wire/versions", "/certificates/issuers"):
            out[path] = dp.all_pages(VAULT, path, tok)
        out["policy"] = dp.kv("GET", VAULT, "/certificates/wire/policy", token=tok).json()
        return json.dumps(out, sort_keys=True)

    before = everything()
    cases = [
        ("POST", "/certificates/new/create", None, 400, "BadParameter"),
        ("POST", "/certificates/new/create", {"policy": {**pol, "key_props": {"kty": "RSA", "key_size": 1000}}},
         400, "BadParameter"),
        ("POST", "/certificates/new/create", {"policy": {**pol, "x509_props": {"subject": "CN=x", "key_usage": ["x"]}}},
         400, "BadParameter"),
        ("POST", "/certificates/wire/create", {"policy": {**pol, "secret_props": {"contentType": "text/plain"}}},
         400, "BadParameter"),
        ("POST", "/certificates/bad_name!/create", {"policy": pol}, 400, None),
        ("POST", "/certificates/new/import", {"value": "bm90IGEgY2VydA=="}, 400, "BadParameter"),
        ("POST", "/certificates/wire/pending/merge", {"x5c": [b["cer"]]}, 403, "Forbidden"),
        ("POST", "/certificates/nosuch/pending/merge", {"x5c": [b["cer"]]}, 404, "PendingCertificateNotFound"),
        ("PATCH", "/certificates/wire/policy", {"x509_props": {"validity_months": 0}}, 400, "BadParameter"),
        ("PATCH", "/certificates/wire", {"tags": {f"t{i}": "v" for i in range(16)}}, 400, "BadParameter"),
        ("PUT", "/secrets/wire", {"value": "x"}, 403, "Forbidden"),
        ("DELETE", "/keys/wire", None, 403, "Forbidden"),
        ("POST", "/keys/wire/backup", None, 403, "Forbidden"),
        ("PUT", "/certificates/issuers/x", {"credentials": {}}, 400, "BadParameter"),
        ("POST", "/certificates/restore", {"value": "AAAA"}, 400, "BadParameter"),
        ("DELETE", "/deletedcertificates/wire", None, 404, "CertificateNotFound"),
    ]
    for method, path, body, status, code in cases:
        r = dp.kv(method, VAULT, path, token=tok, json=body) if body is not None else \
            dp.kv(method, VAULT, path, token=tok)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        if code:
            assert error_of(r)["code"] == code, (method, path, r.text)
    nf = dp.kv("GET", VAULT, "/certificates/nosuch", token=tok)
    assert nf.status_code == 404 and error_of(nf)["message"].startswith(
        "A certificate with (name/id) nosuch was not found in this key vault."), nf.text
    assert everything() == before
