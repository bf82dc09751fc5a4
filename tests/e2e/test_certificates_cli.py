"""The real `az keyvault certificate ...` (az 2.91) through the proxy: create with
`get-default-policy` output, show, list, list-versions, set-attributes, download (PEM, DER),
the backing secret downloaded as a PFX, import (PFX made by OpenSSL with and without a password,
PEM), the pending operation with an `Unknown` issuer and `pending merge` of a certificate signed
by an OpenSSL CA, contacts, issuers, delete, show-deleted, list-deleted, recover, purge, backup,
restore; and authorization: Key Vault Secrets User cannot read certificates, Certificates Officer
can. OpenSSL is the independent judge of every file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import SUBSCRIPTION_ID, TENANT_ID, Vaultlink
from dp_fixtures import VERSION_RE, add_principal, provision, vault_url

RG = "rg-certs-cli"
VAULT = "kv-certs-cli"
BASE = vault_url(VAULT)
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
CERTS_OFFICER = "a4417e6f-fecd-4de8-b567-7b0420556985"
ISS = f"https://sts.windows.net/{TENANT_ID}/"


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    provision(logged_in, RG, VAULT)
    return logged_in


def cert(vl: Vaultlink, *args: str, **kw: Any) -> Any:
    return vl.az("keyvault", "certificate", *args, "--vault-name", VAULT, **kw)


def openssl(*args: str, cwd: Path, input: str | None = None) -> str:
    exe = shutil.which("openssl")
    if not exe:
        pytest.fail("the openssl CLI is missing: run scripts/prerequisites (Debian package openssl)")
    p = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60, input=input)
    assert p.returncode == 0, f"openssl {' '.join(args)}: {p.stderr}"
    return p.stdout


def test_create_with_default_policy_show_list_download(vl: Vaultlink, tmp_path: Path) -> None:
    policy = vl.az("keyvault", "certificate", "get-default-policy")
    assert policy["issuerParameters"]["name"] == "Self", policy
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    op = cert(vl, "create", "-n", "cli-default", "-p", f"@{tmp_path / 'policy.json'}",
              "--tags", "team=e2e")
    assert op["status"] == "completed" and op["issuerParameters"]["name"] == "Self", op
    assert op["target"] == f"{BASE}/certificates/cli-default", op
    shown = cert(vl, "show", "-n", "cli-default")
    version = shown["id"].rsplit("/", 1)[1]
    assert VERSION_RE.match(version) and shown["id"] == f"{BASE}/certificates/cli-default/{version}"
    assert shown["kid"] == f"{BASE}/keys/cli-default/{version}", shown
    assert shown["sid"] == f"{BASE}/secrets/cli-default/{version}", shown
    assert shown["tags"] == {"team": "e2e"} and shown["attributes"]["enabled"] is True, shown
    pol = shown["policy"]
    assert pol["x509CertificateProperties"]["subject"] == "CN=CLIGetDefaultPolicy", pol
    assert pol["keyProperties"] == {"curve": None, "exportable": True, "keySize": 2048,
                                    "keyType": "RSA", "reuseKey": True}, pol["keyProperties"]
    assert pol["lifetimeActions"][0]["trigger"]["daysBeforeExpiry"] == 90, pol
    assert sorted(pol["x509CertificateProperties"]["keyUsage"]) == sorted(
        ["cRLSign", "dataEncipherment", "digitalSignature", "keyEncipherment", "keyAgreement",
         "keyCertSign"]), pol

    # reuse_key: a second version keeps the key.
    cert(vl, "create", "-n", "cli-default", "-p", f"@{tmp_path / 'policy.json'}")
    versions = cert(vl, "list-versions", "-n", "cli-default")
    assert len(versions) == 2, versions
    keys = vl.az("keyvault", "key", "list-versions", "--vault-name", VAULT, "-n", "cli-default")
    ns = {vl.az("keyvault", "key", "show", "--id", k["kid"])["key"]["n"] for k in keys}
    assert len(keys) == 2 and len(ns) == 1, (keys, ns)
    assert [c["name"] for c in cert(vl, "list")] == ["cli-default"]

    # Download PEM and DER: OpenSSL reads the same certificate.
    cert(vl, "download", "-n", "cli-default", "-f", str(tmp_path / "c.pem"))
    cert(vl, "download", "-n", "cli-default", "-f", str(tmp_path / "c.der"), "-e", "DER")
    pem_fp = openssl("x509", "-in", "c.pem", "-noout", "-fingerprint", "-sha256", "-subject", cwd=tmp_path)
    der_fp = openssl("x509", "-in", "c.der", "-inform", "DER", "-noout", "-fingerprint", "-sha256",
                     "-subject", cwd=tmp_path)
    assert pem_fp == der_fp and "subject=CN = CLIGetDefaultPolicy" in pem_fp, (pem_fp, der_fp)
    text = openssl("x509", "-in", "c.pem", "-noout", "-text", cwd=tmp_path)
    assert "Public-Key: (2048 bit)" in text and "Certificate Sign, CRL Sign" in text, text
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in text, text

    # The backing secret is the PFX with the private key; its key is the certificate's.
    vl.az("keyvault", "secret", "download", "--vault-name", VAULT, "-n", "cli-default",
          "--encoding", "base64", "-f", str(tmp_path / "c.pfx"))
    dump = openssl("pkcs12", "-in", "c.pfx", "-nodes", "-passin", "pass:", cwd=tmp_path)
    assert "-----BEGIN PRIVATE KEY-----" in dump, dump
    (tmp_path / "dump.pem").write_text(dump)
    k_mod = openssl("rsa", "-in", "dump.pem", "-noout", "-modulus", cwd=tmp_path)
    c_mod = openssl("x509", "-in", "c.pem", "-noout", "-modulus", cwd=tmp_path)
    assert k_mod == c_mod, (k_mod, c_mod)

    # set-attributes: disabled, tags; the managed secret cannot be deleted directly.
    upd = cert(vl, "set-attributes", "-n", "cli-default", "--enabled", "false", "--tags", "x=y")
    assert upd["attributes"]["enabled"] is False and upd["tags"] == {"x": "y"}, upd
    r = vl.az_fail("keyvault", "secret", "delete", "--vault-name", VAULT, "-n", "cli-default")
    assert "lifetime is managed by Key Vault" in r.stderr and "SecretManagedByKeyVault" in r.stderr, r.stderr


def test_bad_policy_is_refused(vl: Vaultlink, tmp_path: Path) -> None:
    policy = vl.az("keyvault", "certificate", "get-default-policy")
    policy["keyProperties"]["keySize"] = 1024
    (tmp_path / "bad.json").write_text(json.dumps(policy))
    r = vl.az_fail("keyvault", "certificate", "create", "--vault-name", VAULT, "-n", "cli-bad",
                   "-p", f"@{tmp_path / 'bad.json'}")
    assert "(BadParameter) Invalid key size: 1024" in r.stderr, r.stderr
    r = vl.az_fail("keyvault", "certificate", "pending", "show", "--vault-name", VAULT, "-n", "cli-bad")
    assert "PendingCertificateNotFound" in r.stderr or "not found" in r.stderr.lower(), r.stderr


def test_import_pfx_with_and_without_password_and_pem(vl: Vaultlink, tmp_path: Path) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem",
            "-subj", "/CN=cli-import.example", "-days", "30",
            "-addext", "subjectAltName=DNS:cli-import.example", cwd=tmp_path)
    openssl("pkcs12", "-export", "-in", "c.pem", "-inkey", "k.pem", "-out", "pw.pfx",
            "-passout", "pass:s3cret", cwd=tmp_path)
    openssl("pkcs12", "-export", "-in", "c.pem", "-inkey", "k.pem", "-out", "nopw.pfx",
            "-passout", "pass:", cwd=tmp_path)
    (tmp_path / "both.pem").write_text((tmp_path / "k.pem").read_text() + (tmp_path / "c.pem").read_text())
    fp = openssl("x509", "-in", "c.pem", "-noout", "-fingerprint", "-sha256", cwd=tmp_path)

    a = cert(vl, "import", "-n", "imp-pw", "-f", str(tmp_path / "pw.pfx"), "--password", "s3cret")
    b = cert(vl, "import", "-n", "imp-nopw", "-f", str(tmp_path / "nopw.pfx"))
    c = cert(vl, "import", "-n", "imp-pem", "-f", str(tmp_path / "both.pem"))
    for imported in (a, b, c):
        assert imported["policy"]["x509CertificateProperties"]["subject"] == "CN=cli-import.example"
        assert imported["policy"]["issuerParameters"]["name"] == "Unknown", imported["policy"]
    assert c["policy"]["secretProperties"]["contentType"] == "application/x-pem-file", c["policy"]
    assert a["policy"]["secretProperties"]["contentType"] == "application/x-pkcs12", a["policy"]
    for name in ("imp-pw", "imp-nopw", "imp-pem"):
        cert(vl, "download", "-n", name, "-f", str(tmp_path / f"{name}.crt"))
        got = openssl("x509", "-in", f"{name}.crt", "-noout", "-fingerprint", "-sha256", cwd=tmp_path)
        assert got == fp, (name, got, fp)
    r = vl.az_fail("keyvault", "certificate", "import", "--vault-name", VAULT, "-n", "imp-bad",
                   "-f", str(tmp_path / "pw.pfx"), "--password", "wrong")
    assert "BadParameter" in r.stderr, r.stderr


def test_unknown_issuer_pending_merge_contacts_issuers(vl: Vaultlink, tmp_path: Path) -> None:
    policy = vl.az("keyvault", "certificate", "get-default-policy")
    policy["issuerParameters"]["name"] = "Unknown"
    policy["x509CertificateProperties"]["subject"] = "CN=cli-external.example"
    (tmp_path / "unknown.json").write_text(json.dumps(policy))
    op = cert(vl, "create", "-n", "cli-ext", "-p", f"@{tmp_path / 'unknown.json'}")
    assert op["status"] == "inProgress" and op["csr"], op
    shown = cert(vl, "pending", "show", "-n", "cli-ext")
    assert shown["csr"] == op["csr"] and shown["status"] == "inProgress", shown
    csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + shown["csr"] + "\n-----END CERTIFICATE REQUEST-----\n"
    (tmp_path / "req.csr").write_text(csr_pem)
    assert "subject=CN = cli-external.example" in openssl("req", "-in", "req.csr", "-noout", "-subject",
                                                          "-verify", cwd=tmp_path)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=CLI Test CA", "-days", "30", cwd=tmp_path)
    openssl("x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "signed.pem", "-days", "20", cwd=tmp_path)
    # A certificate for another key is refused.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "o.key", "-out", "other.pem",
            "-subj", "/CN=cli-external.example", "-days", "5", cwd=tmp_path)
    r = vl.az_fail("keyvault", "certificate", "pending", "merge", "--vault-name", VAULT, "-n", "cli-ext",
                   "-f", str(tmp_path / "other.pem"))
    assert "Public key from x509 certificate and key of this instance doesn't match" in r.stderr, r.stderr
    (tmp_path / "chain.pem").write_text((tmp_path / "signed.pem").read_text() + (tmp_path / "ca.pem").read_text())
    merged = cert(vl, "pending", "merge", "-n", "cli-ext", "-f", str(tmp_path / "chain.pem"))
    assert merged["id"].startswith(f"{BASE}/certificates/cli-ext/"), merged
    assert cert(vl, "pending", "show", "-n", "cli-ext")["status"] == "completed"
    cert(vl, "download", "-n", "cli-ext", "-f", str(tmp_path / "merged.pem"))
    assert openssl("x509", "-in", "merged.pem", "-noout", "-fingerprint", cwd=tmp_path) == \
        openssl("x509", "-in", "signed.pem", "-noout", "-fingerprint", cwd=tmp_path)
    openssl("verify", "-CAfile", "ca.pem", "merged.pem", cwd=tmp_path)
    deleted = cert(vl, "pending", "delete", "-n", "cli-ext")
    assert deleted["status"] == "completed", deleted

    # Contacts.
    cert(vl, "contact", "add", "--email", "sec@contoso.example", "--name", "Sec", "--phone", "555")
    cert(vl, "contact", "add", "--email", "ops@contoso.example")
    emails = sorted(c["emailAddress"] for c in cert(vl, "contact", "list")["contactList"])
    assert emails == ["ops@contoso.example", "sec@contoso.example"], emails
    cert(vl, "contact", "delete", "--email", "ops@contoso.example")
    assert [c["emailAddress"] for c in cert(vl, "contact", "list")["contactList"]] == ["sec@contoso.example"]

    # Issuers (the password is never returned).
    created = cert(vl, "issuer", "create", "--issuer-name", "cli-ca", "--provider-name", "Test",
                   "--account-id", "acct", "--password", "hunter2", "--organization-id", "org1")
    assert created["provider"] == "Test" and "hunter2" not in json.dumps(created), created
    assert cert(vl, "issuer", "show", "--issuer-name", "cli-ca")["credentials"]["accountId"] == "acct"
    cert(vl, "issuer", "update", "--issuer-name", "cli-ca", "--provider-name", "Other")
    assert [i["provider"] for i in cert(vl, "issuer", "list")] == ["Other"]
    cert(vl, "issuer", "admin", "add", "--issuer-name", "cli-ca", "--email", "admin@contoso.example")
    admins = cert(vl, "issuer", "admin", "list", "--issuer-name", "cli-ca")
    assert [a["emailAddress"] for a in admins] == ["admin@contoso.example"], admins
    cert(vl, "issuer", "delete", "--issuer-name", "cli-ca")
    assert cert(vl, "issuer", "list") == []


def test_delete_recover_purge_backup_restore(vl: Vaultlink, tmp_path: Path) -> None:
    policy = vl.az("keyvault", "certificate", "get-default-policy")
    (tmp_path / "p.json").write_text(json.dumps(policy))
    cert(vl, "create", "-n", "cli-life", "-p", f"@{tmp_path / 'p.json'}")
    original = cert(vl, "show", "-n", "cli-life")
    cert(vl, "backup", "-n", "cli-life", "-f", str(tmp_path / "cli-life.bak"))
    d = cert(vl, "delete", "-n", "cli-life")
    assert d["recoveryId"] == f"{BASE}/deletedcertificates/cli-life", d
    assert cert(vl, "show-deleted", "-n", "cli-life")["recoveryId"] == d["recoveryId"]
    assert "cli-life" in [x["name"] for x in cert(vl, "list-deleted")]
    vl.az_fail("keyvault", "key", "show", "--vault-name", VAULT, "-n", "cli-life")
    vl.az_fail("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "cli-life")
    rec = cert(vl, "recover", "-n", "cli-life")
    assert rec["id"] == original["id"], rec
    assert vl.az("keyvault", "key", "show", "--vault-name", VAULT, "-n", "cli-life")["key"]["kid"] == original["kid"]
    cert(vl, "delete", "-n", "cli-life")
    cert(vl, "purge", "-n", "cli-life")
    vl.az_fail("keyvault", "certificate", "show-deleted", "--vault-name", VAULT, "-n", "cli-life")
    restored = cert(vl, "restore", "-f", str(tmp_path / "cli-life.bak"))
    assert restored["id"] == original["id"] and restored["cer"] == original["cer"], restored
    assert vl.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "cli-life")["managed"] is True
    r = vl.az_fail("keyvault", "certificate", "restore", "--vault-name", VAULT, "-f",
                   str(tmp_path / "cli-life.bak"))
    assert "Conflict" in r.stderr, r.stderr


def test_secrets_user_cannot_read_certificates_officer_can(vl: Vaultlink, tmp_path: Path) -> None:
    policy = vl.az("keyvault", "certificate", "get-default-policy")
    (tmp_path / "p.json").write_text(json.dumps(policy))
    cert(vl, "create", "-n", "cli-authz", "-p", f"@{tmp_path / 'p.json'}")
    code = vl.stop()
    assert code == 0, f"vaultlink exited with {code} on SIGTERM"
    info = add_principal(vl, "e2e-certs-app")
    vl.start()
    env = dict(vl.env)
    env["AZURE_CONFIG_DIR"] = str(tmp_path / "app-az")
    r = vl.az("login", "--service-principal", "-u", info["appId"], "-p", info["secret"],
              "--tenant", TENANT_ID, "--allow-no-subscriptions", env=env, check=False)
    assert r.rc == 0, r.describe()
    vault_id = (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}"
                f"/providers/Microsoft.KeyVault/vaults/{VAULT}")

    def assign(role: str) -> None:
        vl.az("role", "assignment", "create", "--assignee-object-id", info["objectId"],
              "--assignee-principal-type", "ServicePrincipal", "--role", role, "--scope", vault_id)

    assign(SECRETS_USER)
    show = ["keyvault", "certificate", "show", "--vault-name", VAULT, "-n", "cli-authz"]
    r = vl.az(*show, env=env, check=False)
    assert r.rc != 0, r.describe()
    err = r.stderr
    assert "(Forbidden) Caller is not authorized to perform action on resource." in err, err
    assert '"code": "ForbiddenByRbac"' in err, err
    assert f"Caller: appid={info['appId']};oid={info['objectId']};iss={ISS}" in err, err
    assert "Action: 'Microsoft.KeyVault/vaults/certificates/read'" in err, err
    resource = (f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RG}/providers/"
                f"microsoft.keyvault/vaults/{VAULT}/certificates/cli-authz")
    assert f"Resource: '{resource}'" in err, err
    assert f"Vault: {VAULT};location=westeurope" in err, err
    # (The Secrets User may read the certificate's secret: Azure's documented way to the PFX.)
    assert vl.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "cli-authz", env=env)["managed"] is True
    assign(CERTS_OFFICER)
    shown = vl.az(*show, env=env)
    assert shown["name"] == "cli-authz", shown
    created = vl.az("keyvault", "certificate", "create", "--vault-name", VAULT, "-n", "by-officer",
                    "-p", f"@{tmp_path / 'p.json'}", env=env)
    assert created["status"] == "completed", created


def test_access_policy_vault_enforces_certificate_permissions(vl: Vaultlink, tmp_path: Path) -> None:
    """On an access-policy vault the developer's certificate permissions decide (Azure's 403
    naming `certificates <permission>`); `manageissuers` covers the issuer operations."""
    from dp_fixtures import jwt_claims

    ap = "kv-certs-cli-ap"
    provision(vl, RG, ap, "--enable-rbac-authorization", "false", "--no-self-perms")
    token = vl.az("account", "get-access-token", "--resource", "https://vault.azure.net")["accessToken"]
    dev_oid = jwt_claims(token)["oid"]

    def grant(*perms: str) -> None:
        vl.az("keyvault", "set-policy", "-n", ap, "-g", RG, "--object-id", dev_oid,
              "--certificate-permissions", *perms)

    policy = vl.az("keyvault", "certificate", "get-default-policy")
    (tmp_path / "p.json").write_text(json.dumps(policy))
    create = ["keyvault", "certificate", "create", "--vault-name", ap, "-n", "ap-cert",
              "-p", f"@{tmp_path / 'p.json'}"]
    grant("get", "list")
    r = vl.az_fail(*create)
    assert "does not have certificates create permission" in r.stderr and "AccessDenied" in r.stderr, r.stderr
    grant("get", "list", "create")
    assert vl.az(*create)["status"] == "completed"
    assert vl.az("keyvault", "certificate", "show", "--vault-name", ap, "-n", "ap-cert")["name"] == "ap-cert"
    r = vl.az_fail("keyvault", "certificate", "delete", "--vault-name", ap, "-n", "ap-cert")
    assert "does not have certificates delete permission" in r.stderr, r.stderr
    r = vl.az_fail("keyvault", "certificate", "issuer", "list", "--vault-name", ap)
    assert "does not have certificates listissuers permission" in r.stderr, r.stderr
    r = vl.az_fail("keyvault", "certificate", "contact", "list", "--vault-name", ap)
    assert "does not have certificates managecontacts permission" in r.stderr, r.stderr
    grant("get", "list", "create", "manageissuers")
    assert vl.az("keyvault", "certificate", "issuer", "list", "--vault-name", ap) == []
