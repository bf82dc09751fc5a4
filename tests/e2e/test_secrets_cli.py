"""The real `az keyvault secret ...` (az 2.91, data plane api-version 7.4) through the proxy.

Every command of the secrets group, each asserted on what az prints (stdout JSON or the
error lines az renders from Azure's error body: `(Code) message`, `Code: ...`,
`Inner error: {"code": ...}`), on one RBAC vault whose creator (the seeded developer) holds
Key Vault Administrator on the subscription. See azure-behaviour.md §5.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import Vaultlink
from dp_fixtures import VERSION_RE, provision, vault_url, version_of

RG = "rg-secrets-cli"
VAULT = "kv-secrets-cli"
BASE = vault_url(VAULT)
NOT_FOUND_MSG = (
    "A secret with (name/id) {name} was not found in this key vault. If you recently deleted "
    "this secret you may be able to recover it using the correct recovery command. For help "
    "resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
)


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    provision(logged_in, RG, VAULT)
    return logged_in


def sec(vl: Vaultlink, *args: str, **kw: Any) -> Any:
    return vl.az("keyvault", "secret", *args, "--vault-name", VAULT, **kw)


def sec_fail(vl: Vaultlink, *args: str) -> str:
    res = vl.az_fail("keyvault", "secret", *args, "--vault-name", VAULT)
    assert "Traceback" not in res.stderr, res.describe()
    return res.stderr


def ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def assert_bundle(b: dict[str, Any], name: str, value: str | None) -> str:
    """A SecretBundle as az prints it; returns the version."""
    assert b["name"] == name, b
    assert b["id"].startswith(f"{BASE}/secrets/{name}/"), b
    version = version_of(b["id"])
    assert VERSION_RE.match(version), f"version is not 32 hex chars: {version!r}"
    assert b["value"] == value, b
    a = b["attributes"]
    assert a["enabled"] is True, a
    assert a["recoveryLevel"] == "Recoverable+Purgeable", a  # soft delete on, no purge protection
    assert a["recoverableDays"] == 90, a
    assert a["created"] and a["updated"], a
    assert ts(a["updated"]) >= ts(a["created"]), a
    now = dt.datetime.now(dt.timezone.utc)
    assert abs((now - ts(a["created"])).total_seconds()) < 120, a
    return version


# ---------------------------------------------------------------------------------------------
def test_set_show_new_version(vl: Vaultlink) -> None:
    b1 = sec(vl, "set", "-n", "app-password", "--value", "first-Value!")
    v1 = assert_bundle(b1, "app-password", "first-Value!")
    assert b1["contentType"] is None, b1

    b2 = sec(vl, "set", "-n", "app-password", "--value", "second value",
             "--content-type", "text/plain", "--tags", "env=dev", "team=core")
    v2 = assert_bundle(b2, "app-password", "second value")
    assert v2 != v1, "a second set must create a new version"
    assert b2["contentType"] == "text/plain", b2
    assert b2["tags"].get("env") == "dev" and b2["tags"].get("team") == "core", b2

    latest = sec(vl, "show", "-n", "app-password")
    assert latest["id"] == b2["id"], latest
    assert latest["value"] == "second value", latest
    assert latest["contentType"] == "text/plain", latest
    assert latest["tags"] == b2["tags"], latest

    old = sec(vl, "show", "-n", "app-password", "--version", v1)
    assert old["id"] == b1["id"], old
    assert old["value"] == "first-Value!", old
    assert old["contentType"] is None, old

    by_id = vl.az("keyvault", "secret", "show", "--id", b1["id"])
    assert by_id["value"] == "first-Value!", by_id


def test_missing_secret_is_secret_not_found(vl: Vaultlink) -> None:
    err = sec_fail(vl, "show", "-n", "does-not-exist")
    assert "(SecretNotFound)" in err, err
    assert "Code: SecretNotFound" in err, err
    assert NOT_FOUND_MSG.format(name="does-not-exist") in err, err

    sec(vl, "set", "-n", "has-one-version", "--value", "x")
    err = sec_fail(vl, "show", "-n", "has-one-version", "--version", "0" * 32)
    assert "SecretNotFound" in err, err


def test_list_and_list_versions(vl: Vaultlink) -> None:
    ids = []
    for i in range(3):
        ids.append(sec(vl, "set", "-n", "listed", "--value", f"v{i}")["id"])
    sec(vl, "set", "-n", "listed-other", "--value", "o")

    listing = sec(vl, "list")
    by_name = {item["name"]: item for item in listing}
    assert {"listed", "listed-other"} <= set(by_name), listing
    item = by_name["listed"]
    # A list item is SecretItem: id without version, no value.
    assert item["id"] == f"{BASE}/secrets/listed", item
    assert "value" not in item, item
    assert item["attributes"]["enabled"] is True, item

    versions = sec(vl, "list-versions", "-n", "listed")
    assert sorted(v["id"] for v in versions) == sorted(ids), versions
    for v in versions:
        assert "value" not in v, v
        assert v["name"] == "listed", v

    assert sec(vl, "list-versions", "-n", "listed-other") and len(
        sec(vl, "list-versions", "-n", "listed-other")) == 1


def test_set_attributes_disable_then_show_is_forbidden(vl: Vaultlink) -> None:
    b = sec(vl, "set", "-n", "toggled", "--value", "on-and-off")
    out = sec(vl, "set-attributes", "-n", "toggled", "--enabled", "false",
              "--content-type", "application/x-test", "--tags", "k=v")
    assert out["id"] == b["id"], out
    assert out["attributes"]["enabled"] is False, out
    assert out["contentType"] == "application/x-test", out
    assert out["tags"] == {"k": "v"}, out
    assert ts(out["attributes"]["updated"]) >= ts(b["attributes"]["updated"]), out
    assert out["attributes"]["created"] == b["attributes"]["created"], out

    err = sec_fail(vl, "show", "-n", "toggled")
    assert "(Forbidden) Operation get is not allowed on a disabled secret." in err, err
    assert "Code: Forbidden" in err, err
    assert '"code": "SecretDisabled"' in err, err
    assert "on-and-off" not in err, err

    # Metadata is still listed, marked disabled.
    listed = {i["name"]: i for i in sec(vl, "list")}
    assert listed["toggled"]["attributes"]["enabled"] is False, listed["toggled"]

    expires = "2099-01-02T03:04:05Z"
    out = sec(vl, "set-attributes", "-n", "toggled", "--enabled", "true", "--expires", expires)
    assert out["attributes"]["enabled"] is True, out
    assert ts(out["attributes"]["expires"]) == ts("2099-01-02T03:04:05+00:00"), out
    shown = sec(vl, "show", "-n", "toggled")
    assert shown["value"] == "on-and-off", shown
    assert shown["contentType"] == "application/x-test", shown


def test_delete_show_deleted_list_deleted_recover(vl: Vaultlink) -> None:
    b = sec(vl, "set", "-n", "to-recover", "--value", "keep me")
    deleted = sec(vl, "delete", "-n", "to-recover")
    assert deleted["id"] == b["id"], deleted
    assert deleted["recoveryId"] == f"{BASE}/deletedsecrets/to-recover", deleted
    deleted_at = ts(deleted["deletedDate"])
    purge_at = ts(deleted["scheduledPurgeDate"])
    assert abs((purge_at - deleted_at) - dt.timedelta(days=90)) < dt.timedelta(minutes=1), deleted
    assert deleted["value"] is None, deleted

    err = sec_fail(vl, "show", "-n", "to-recover")
    assert "SecretNotFound" in err, err
    assert "to-recover" not in {i["name"] for i in sec(vl, "list")}

    shown = sec(vl, "show-deleted", "-n", "to-recover")
    assert shown["recoveryId"] == deleted["recoveryId"], shown
    assert shown["id"] == b["id"], shown
    assert shown["value"] is None, shown
    assert shown["deletedDate"] == deleted["deletedDate"], shown

    listed = {i["name"]: i for i in sec(vl, "list-deleted")}
    assert "to-recover" in listed, listed
    assert listed["to-recover"]["recoveryId"] == deleted["recoveryId"], listed
    assert listed["to-recover"]["id"] == f"{BASE}/secrets/to-recover", listed

    # A soft-deleted name cannot be reused.
    err = sec_fail(vl, "set", "-n", "to-recover", "--value", "other")
    assert "(Conflict) Secret to-recover is currently in a deleted but recoverable state, and " \
           "its name cannot be reused; in this state, the secret can only be recovered or " \
           "purged." in err, err
    assert '"code": "ObjectIsDeletedButRecoverable"' in err, err

    recovered = sec(vl, "recover", "-n", "to-recover")
    assert recovered["id"] == b["id"], recovered
    assert sec(vl, "show", "-n", "to-recover")["value"] == "keep me"
    assert "to-recover" not in {i["name"] for i in sec(vl, "list-deleted")}
    err = sec_fail(vl, "show-deleted", "-n", "to-recover")
    assert "SecretNotFound" in err, err


def test_purge(vl: Vaultlink) -> None:
    sec(vl, "set", "-n", "to-purge", "--value", "gone soon")
    sec(vl, "set", "-n", "to-purge", "--value", "gone soon 2")
    sec(vl, "delete", "-n", "to-purge")
    assert sec(vl, "purge", "-n", "to-purge") is None  # 204, az prints nothing
    err = sec_fail(vl, "show-deleted", "-n", "to-purge")
    assert "SecretNotFound" in err, err
    assert "to-purge" not in {i["name"] for i in sec(vl, "list-deleted")}
    err = sec_fail(vl, "show", "-n", "to-purge")
    assert "SecretNotFound" in err, err
    # The name is free again, with a history of one version.
    b = sec(vl, "set", "-n", "to-purge", "--value", "reborn")
    assert b["value"] == "reborn", b
    assert len(sec(vl, "list-versions", "-n", "to-purge")) == 1
    # Purging a secret that is not deleted is refused.
    err = sec_fail(vl, "purge", "-n", "to-purge")
    assert "SecretNotFound" in err, err


def test_backup_restore(vl: Vaultlink, tmp_path: Path) -> None:
    b1 = sec(vl, "set", "-n", "backed-up", "--value", "plain-backup-value-1")
    b2 = sec(vl, "set", "-n", "backed-up", "--value", "plain-backup-value-2",
             "--content-type", "text/x-backup")
    blob = tmp_path / "backed-up.bin"
    assert sec(vl, "backup", "-n", "backed-up", "--file", str(blob)) is None
    data = blob.read_bytes()
    assert len(data) > 32, data
    # Backups are opaque and encrypted: no value, no name in the clear.
    assert b"plain-backup-value" not in data
    assert b"backed-up" not in data

    # Restore into the same vault is refused while the name exists.
    sec_fail(vl, "restore", "--file", str(blob))

    sec(vl, "delete", "-n", "backed-up")
    sec(vl, "purge", "-n", "backed-up")
    sec_fail(vl, "show", "-n", "backed-up")

    restored = sec(vl, "restore", "--file", str(blob))
    assert restored["name"] == "backed-up", restored
    assert restored["id"] == b2["id"], restored
    assert restored["contentType"] == "text/x-backup", restored
    versions = sec(vl, "list-versions", "-n", "backed-up")
    assert sorted(v["id"] for v in versions) == sorted([b1["id"], b2["id"]]), versions
    assert sec(vl, "show", "-n", "backed-up")["value"] == "plain-backup-value-2"
    assert sec(vl, "show", "-n", "backed-up", "--version",
               version_of(b1["id"]))["value"] == "plain-backup-value-1"

    # Into another vault of the same subscription: allowed, with the versions' ids rebased.
    other = "kv-secrets-cli-2"
    vl.az("keyvault", "create", "-n", other, "-g", RG, "-l", "westeurope")
    r2 = vl.az("keyvault", "secret", "restore", "--vault-name", other, "--file", str(blob))
    assert r2["id"] == b2["id"].replace(f"//{VAULT}.", f"//{other}."), r2
    assert vl.az("keyvault", "secret", "show", "--vault-name", other,
                 "-n", "backed-up")["value"] == "plain-backup-value-2"

    # A tampered blob is refused and restores nothing.
    sec(vl, "delete", "-n", "backed-up")
    sec(vl, "purge", "-n", "backed-up")
    tampered = bytearray(data)
    tampered[len(tampered) // 2] ^= 0x01
    bad = tmp_path / "tampered.bin"
    bad.write_bytes(bytes(tampered))
    err = sec_fail(vl, "restore", "--file", str(bad))
    assert re.search(r"\((BadParameter|BadRequest)\)", err), err
    assert "backed-up" not in {i["name"] for i in sec(vl, "list")}
    sec_fail(vl, "show", "-n", "backed-up")
