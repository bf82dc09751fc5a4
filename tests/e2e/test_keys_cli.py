"""The real `az keyvault key ...` (az 2.91, which carries azure-keyvault-keys 4.12.0b2) through
the proxy: create, show, list, list-versions, set-attributes, import, download, sign/verify,
encrypt/decrypt, rotate, delete, show-deleted, list-deleted, recover, purge, backup, restore.
Outputs are checked against the independent `cryptography` library where bytes are involved.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from conftest import AzError, Vaultlink
from dp_fixtures import VERSION_RE, provision, vault_url
from sdk import as_int
from sdk import unb64u as b64u

RG = "rg-keys-cli"
VAULT = "kv-keys-cli"
BASE = vault_url(VAULT)


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    provision(logged_in, RG, VAULT)
    return logged_in


def key(vl: Vaultlink, *args: str, **kw: Any) -> Any:
    return vl.az("keyvault", "key", *args, "--vault-name", VAULT, **kw)


def test_create_show_list_versions_and_attributes(vl: Vaultlink) -> None:
    k = key(vl, "create", "-n", "cli-rsa", "--kty", "RSA", "--size", "3072", "--tags", "a=1")
    version = k["key"]["kid"].rsplit("/", 1)[1]
    assert VERSION_RE.match(version), k
    assert k["key"]["kid"] == f"{BASE}/keys/cli-rsa/{version}", k
    assert k["key"]["kty"] == "RSA" and len(b64u(k["key"]["n"])) == 384, k["key"]
    assert k["key"]["d"] is None and k["key"]["p"] is None, k["key"]
    assert k["tags"] == {"a": "1"} and k["attributes"]["enabled"] is True, k
    e = key(vl, "create", "-n", "cli-ec", "--kty", "EC", "--curve", "P-256K")
    assert e["key"]["crv"] == "P-256K" and len(b64u(e["key"]["x"])) == 32, e["key"]

    shown = key(vl, "show", "-n", "cli-rsa")
    assert shown["key"]["kid"] == k["key"]["kid"] and shown["key"]["n"] == k["key"]["n"], shown
    key(vl, "create", "-n", "cli-rsa", "--kty", "RSA")
    versions = key(vl, "list-versions", "-n", "cli-rsa")
    assert len(versions) == 2 and all(v["kid"].startswith(f"{BASE}/keys/cli-rsa/") for v in versions)
    names = sorted(i["name"] for i in key(vl, "list"))
    assert {"cli-rsa", "cli-ec"} <= set(names), names

    upd = key(vl, "set-attributes", "-n", "cli-rsa", "--ops", "sign", "verify", "--tags", "b=2")
    assert upd["key"]["keyOps"] == ["sign", "verify"] and upd["tags"] == {"b": "2"}, upd

    missing = key(vl, "show", "-n", "cli-nope", check=False)
    assert missing.rc != 0 and "KeyNotFound" in missing.stderr, missing.stderr


def test_sign_verify_encrypt_decrypt_against_cryptography(vl: Vaultlink, tmp_path: Path) -> None:
    k = key(vl, "create", "-n", "cli-ops", "--kty", "RSA", "--size", "2048")
    digest = hashlib.sha256(b"hello from az").digest()
    s = key(vl, "sign", "-n", "cli-ops", "-a", "PS256", "--digest",
            base64.b64encode(digest).decode())
    sig = base64.b64decode(s["signature"])
    pub = rsa.RSAPublicNumbers(as_int(k["key"]["e"]), as_int(k["key"]["n"])).public_key()
    pub.verify(sig, digest, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
               utils.Prehashed(hashes.SHA256()))
    v = key(vl, "verify", "-n", "cli-ops", "-a", "PS256", "--digest",
            base64.b64encode(digest).decode(), "--signature", s["signature"])
    assert v["isValid"] is True, v

    pt = b"plaintext made by the test"
    ct = pub.encrypt(pt, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                      algorithm=hashes.SHA256(), label=None))
    d = key(vl, "decrypt", "-n", "cli-ops", "-a", "RSA-OAEP-256", "--value",
            base64.b64encode(ct).decode(), "--data-type", "base64")
    assert base64.b64decode(d["result"]) == pt, d

    ek = key(vl, "create", "-n", "cli-ec384", "--kty", "EC", "--curve", "P-384")
    d384 = hashlib.sha384(b"ec").digest()
    es = key(vl, "sign", "-n", "cli-ec384", "-a", "ES384", "--digest",
             base64.b64encode(d384).decode())
    raw = base64.b64decode(es["signature"])
    assert len(raw) == 96
    epub = ec.EllipticCurvePublicNumbers(as_int(ek["key"]["x"]), as_int(ek["key"]["y"]),
                                         ec.SECP384R1()).public_key()
    epub.verify(utils.encode_dss_signature(int.from_bytes(raw[:48], "big"),
                                           int.from_bytes(raw[48:], "big")),
                d384, ec.ECDSA(utils.Prehashed(hashes.SHA384())))

    pem = tmp_path / "pub.pem"
    vl.az("keyvault", "key", "download", "-n", "cli-ops", "--vault-name", VAULT, "-f", str(pem),
          "-e", "PEM", output=None)
    loaded = serialization.load_pem_public_key(pem.read_bytes())
    assert loaded.public_numbers() == pub.public_numbers()


def test_import_pem(vl: Vaultlink, tmp_path: Path) -> None:
    priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "imp.pem"
    pem.write_bytes(priv.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    k = key(vl, "import", "-n", "cli-imported", "--pem-file", str(pem))
    assert as_int(k["key"]["n"]) == priv.public_key().public_numbers().n, k
    assert k["key"]["d"] is None, k
    digest = hashlib.sha512(b"imported").digest()
    s = key(vl, "sign", "-n", "cli-imported", "-a", "RS512", "--digest",
            base64.b64encode(digest).decode())
    priv.public_key().verify(base64.b64decode(s["signature"]), digest, padding.PKCS1v15(),
                             utils.Prehashed(hashes.SHA512()))


def test_rotate_delete_recover_purge_backup_restore(vl: Vaultlink, tmp_path: Path) -> None:
    k = key(vl, "create", "-n", "cli-life", "--kty", "EC", "--curve", "P-256")
    r = key(vl, "rotate", "-n", "cli-life")
    assert r["key"]["kid"] != k["key"]["kid"] and r["key"]["crv"] == "P-256", r

    blob = tmp_path / "cli-life.backup"
    vl.az("keyvault", "key", "backup", "-n", "cli-life", "--vault-name", VAULT, "-f", str(blob),
          output=None)
    assert blob.stat().st_size > 64

    d = key(vl, "delete", "-n", "cli-life")
    assert d["recoveryId"] == f"{BASE}/deletedkeys/cli-life", d
    assert key(vl, "show-deleted", "-n", "cli-life")["recoveryId"] == d["recoveryId"]
    assert "cli-life" in {i["name"] for i in key(vl, "list-deleted")}
    again = key(vl, "create", "-n", "cli-life", "--kty", "EC", check=False)
    assert again.rc != 0 and "ObjectIsDeletedButRecoverable" in again.stderr, again.stderr
    rec = key(vl, "recover", "-n", "cli-life")
    assert rec["key"]["kid"] == r["key"]["kid"], rec
    assert key(vl, "show", "-n", "cli-life")["key"]["x"] == r["key"]["x"]

    key(vl, "delete", "-n", "cli-life")
    key(vl, "purge", "-n", "cli-life", output=None)
    gone = key(vl, "show-deleted", "-n", "cli-life", check=False)
    assert gone.rc != 0, gone.stdout

    restored = vl.az("keyvault", "key", "restore", "--vault-name", VAULT, "-f", str(blob))
    assert restored["key"]["kid"] == r["key"]["kid"] and restored["key"]["x"] == r["key"]["x"]
    assert len(key(vl, "list-versions", "-n", "cli-life")) == 2
    with pytest.raises(AzError):
        vl.az("keyvault", "key", "restore", "--vault-name", VAULT, "-f", str(blob))


def test_access_policy_vault_enforces_key_permissions(vl: Vaultlink) -> None:
    """On an access-policy vault the developer's key permissions decide: `create get` lets it
    create and read a key but not sign with it (Azure's 403 naming `keys sign`)."""
    from dp_fixtures import jwt_claims

    ap = "kv-keys-cli-ap"
    provision(vl, RG, ap, "--enable-rbac-authorization", "false", "--no-self-perms")
    token = vl.az("account", "get-access-token", "--resource",
                  "https://vault.azure.net")["accessToken"]
    dev_oid = jwt_claims(token)["oid"]
    vl.az("keyvault", "set-policy", "-n", ap, "-g", RG, "--object-id", dev_oid,
          "--key-permissions", "create", "get")
    k = vl.az("keyvault", "key", "create", "--vault-name", ap, "-n", "ap-key", "--kty", "RSA")
    assert k["key"]["kty"] == "RSA"
    assert vl.az("keyvault", "key", "show", "--vault-name", ap, "-n", "ap-key")["key"]["n"]
    r = vl.az("keyvault", "key", "sign", "--vault-name", ap, "-n", "ap-key", "-a", "RS256",
              "--digest", base64.b64encode(b"\0" * 32).decode(), check=False)
    assert r.rc != 0 and "does not have keys sign permission" in r.stderr, r.stderr
    assert "AccessDenied" in r.stderr, r.stderr
    listed = vl.az("keyvault", "key", "list", "--vault-name", ap, check=False)
    assert listed.rc != 0 and "keys list permission" in listed.stderr, listed.stderr
