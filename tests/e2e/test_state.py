"""State you can save, load and reset (issue 20, part 3): `vaultlink snapshot save|load` and
`vaultlink reset`, with the real az judging the state before and after.

A state built with az (a vault, secrets, a VNet, a private endpoint with its zone group) is
saved, reset (az sees no resource group; the seeded login still works) and loaded back: az
shows the same groups, vaults, secret values and endpoint, and a second save equals the first.
All of it against a running server over the control socket, then once offline on the stopped
instance's data directory. A snapshot from another data directory (another root key) is refused
with the message and changes nothing, unless it was saved under a passphrase, which moves it to
a data directory with another root key.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import Vaultlink
from dp_fixtures import provision
from topology import VAULT_ZONE, Network

RG = "rg-state"
VAULT = "kv-state-e2e"
SECRETS = {"alpha": "first-value", "beta": "second value with spaces"}


def vaultlink_json(vl: Vaultlink, *args: str) -> dict[str, Any]:
    out = vl.run_vaultlink(*args, "--data-dir", str(vl.data_dir)).stdout
    return json.loads(out)


def state_as_az_sees_it(vl: Vaultlink) -> dict[str, Any]:
    """What the comparisons compare: groups, vaults, secret values and the endpoint."""
    groups = sorted(g["name"] for g in vl.az("group", "list"))
    vaults = sorted(v["name"] for v in vl.az("keyvault", "list"))
    seen: dict[str, Any] = {"groups": groups, "vaults": vaults}
    if VAULT in vaults:
        seen["secrets"] = {n: vl.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", n)["value"]
                           for n in SECRETS}
        pe = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", "pe-state")
        seen["endpoint"] = {
            "id": pe["id"],
            "status": pe["privateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]["status"],
            "nic": pe["networkInterfaces"][0]["id"],
        }
    return seen


def build(vl: Vaultlink) -> dict[str, Any]:
    vault = provision(vl, RG, VAULT)
    for name, value in SECRETS.items():
        vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", name, "--value", value)
    net = Network(vl, RG)
    net.private_link(vault["id"], vnet="vnet-state", address_prefix="10.40.0.0/16", subnet="snet",
                     subnet_prefix="10.40.0.0/24", link="link-state", endpoint="pe-state",
                     connection="c-state")
    net.zone_group("pe-state", VAULT_ZONE)
    return state_as_az_sees_it(vl)


def snapshot_file(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def assert_fresh(vl: Vaultlink) -> None:
    """A fresh instance as az sees it: no groups, no vaults; the seeded login still works (the
    test's az profile keeps its token, and a new sign-in succeeds)."""
    assert vl.az("group", "list") == []
    assert vl.az("keyvault", "list") == []
    vl.login_sp()
    assert vl.az("account", "show")["id"]


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    return logged_in


def test_save_reset_load_over_the_control_socket(vl: Vaultlink, tmp_path: Path) -> None:
    before = build(vl)
    assert before["secrets"] == SECRETS and before["endpoint"]["status"] == "Approved", before
    first = tmp_path / "first.json"
    saved = vaultlink_json(vl, "snapshot", "save", str(first))
    assert saved["records"] > 10, saved
    assert (first.stat().st_mode & 0o777) == 0o600, oct(first.stat().st_mode)
    text = first.read_text()
    for value in SECRETS.values():
        assert value not in text, "a snapshot keeps values sealed"

    reset = vaultlink_json(vl, "reset")
    assert reset["deleted"] > 10, reset
    assert_fresh(vl)

    loaded = vaultlink_json(vl, "snapshot", "load", str(first))
    assert loaded["records"] == saved["records"], loaded
    assert state_as_az_sees_it(vl) == before
    second = tmp_path / "second.json"
    vaultlink_json(vl, "snapshot", "save", str(second))
    assert snapshot_file(second) == snapshot_file(first)


def test_reset_takes_milliseconds(vl: Vaultlink) -> None:
    """A suite can reset between tests: a small state's reset, timed by the server and end to end
    (the command's own start included)."""
    vaultlink_json(vl, "reset")  # the first reset of a process builds the fresh records once
    vl.az("group", "create", "-n", "rg-reset-timing", "-l", "westeurope")
    started = time.monotonic()
    reset = vaultlink_json(vl, "reset")
    wall = (time.monotonic() - started) * 1000
    print(f"reset: server {reset['millis']:.1f} ms, command {wall:.1f} ms")
    assert reset["millis"] < 100, reset
    assert vl.az("group", "list") == []


def test_a_snapshot_of_another_root_key_is_refused_and_changes_nothing(vl: Vaultlink, tmp_path: Path) -> None:
    vl.az("group", "create", "-n", "rg-stays", "-l", "westeurope")
    other = Vaultlink(tmp_path / "other")
    try:
        other.start()
        foreign = tmp_path / "foreign.json"
        other.run_vaultlink("snapshot", "save", "--data-dir", str(other.data_dir), str(foreign))
    finally:
        other.close()
    before = tmp_path / "before.json"
    vaultlink_json(vl, "snapshot", "save", str(before))
    res = vl.run_vaultlink("snapshot", "load", "--data-dir", str(vl.data_dir), str(foreign), check=False)
    assert res.returncode != 0
    assert "sealed under another root key" in res.stderr, res.stderr
    assert "rg-stays" in [g["name"] for g in vl.az("group", "list")]
    after = tmp_path / "after.json"
    vaultlink_json(vl, "snapshot", "save", str(after))
    assert snapshot_file(after) == snapshot_file(before)

    not_a_snapshot = tmp_path / "nothing.json"
    not_a_snapshot.write_text('{"hello": 1}')
    res = vl.run_vaultlink("snapshot", "load", "--data-dir", str(vl.data_dir), str(not_a_snapshot), check=False)
    assert res.returncode != 0 and "not a vaultlink snapshot" in res.stderr, res.stderr


def test_a_passphrase_snapshot_loads_on_another_data_directory(vl: Vaultlink, tmp_path: Path) -> None:
    """`save --passphrase-file` seals every value again under the passphrase, so the snapshot
    loads into a data directory with another root key, where az reads the same secret values;
    without the passphrase, or with another one, it is refused and nothing changes."""
    vaultlink_json(vl, "reset")
    vault = provision(vl, RG, VAULT)
    for name, value in SECRETS.items():
        vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", name, "--value", value)
    key = vl.az("keyvault", "key", "create", "--vault-name", VAULT, "-n", "moved-key", "--kty", "RSA")
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("a long passphrase for moving snapshots\n")
    wrong = tmp_path / "wrong"
    wrong.write_text("another passphrase entirely\n")
    short = tmp_path / "short"
    short.write_text("too short\n")
    snap = tmp_path / "portable.json"
    res = vl.run_vaultlink("snapshot", "save", "--data-dir", str(vl.data_dir), str(snap),
                           "--passphrase-file", str(short), check=False)
    assert res.returncode != 0 and "at least 12 characters" in res.stderr, res.stderr
    saved = vaultlink_json(vl, "snapshot", "save", str(snap), "--passphrase-file", str(passphrase))
    assert saved["sealedBy"] == "passphrase", saved
    content = snapshot_file(snap)
    assert content["passphrase"]["kdf"] == "argon2id", content["passphrase"]
    for value in SECRETS.values():
        assert value not in snap.read_text()

    other = Vaultlink(tmp_path / "other")
    try:
        other.start()
        other.login_sp()
        def load(*extra: str) -> Any:
            return other.run_vaultlink("snapshot", "load", "--data-dir", str(other.data_dir), str(snap), *extra,
                                       check=False)
        for extra, message in (((), "sealed under a passphrase"),
                               (("--passphrase-file", str(wrong)), "does not open this snapshot")):
            res = load(*extra)
            assert res.returncode != 0 and message in res.stderr, res.stderr
        assert other.az("keyvault", "list") == []
        res = load("--passphrase-file", str(passphrase))
        assert res.returncode == 0, res.stderr
        other.login_sp()
        assert other.az("keyvault", "show", "-n", VAULT)["id"] == vault["id"]
        for name, value in SECRETS.items():
            assert other.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", name)["value"] == value
        enc = other.az("keyvault", "key", "encrypt", "--vault-name", VAULT, "-n", "moved-key", "--algorithm",
                       "RSA-OAEP-256", "--value", "bW92ZWQ=", "--data-type", "base64")
        dec = vl.az("keyvault", "key", "decrypt", "--id", key["key"]["kid"], "--algorithm", "RSA-OAEP-256",
                    "--value", enc["result"], "--data-type", "base64")
        assert dec["result"] == "bW92ZWQ=", dec
    finally:
        other.close()


def test_save_reset_load_offline_on_a_stopped_instance(vl: Vaultlink, tmp_path: Path) -> None:
    vaultlink_json(vl, "reset")
    before = build(vl)
    vl.stop()
    snap = tmp_path / "offline.json"
    assert vaultlink_json(vl, "snapshot", "save", str(snap))["records"] > 10
    assert vaultlink_json(vl, "reset")["deleted"] > 10
    vl.start()
    assert_fresh(vl)
    vl.stop()
    vaultlink_json(vl, "snapshot", "load", str(snap))
    vl.start()
    vl.login_sp()
    assert state_as_az_sees_it(vl) == before


def test_export_restores_with_az_into_another_vault(vl: Vaultlink, tmp_path: Path) -> None:
    """`vaultlink export` writes what `az keyvault secret backup --file` writes: az restores each
    file into another vault of the subscription once the originals are purged."""
    vaultlink_json(vl, "reset")
    provision(vl, "rg-export", "kv-export-src")
    vl.az("keyvault", "create", "-n", "kv-export-dst", "-g", "rg-export", "-l", "westeurope")
    for name, value in SECRETS.items():
        vl.az("keyvault", "secret", "set", "--vault-name", "kv-export-src", "-n", name, "--value", value)
    vl.az("keyvault", "secret", "set", "--vault-name", "kv-export-src", "-n", "alpha", "--value", "newest")
    out = tmp_path / "export"
    exported = vaultlink_json(vl, "export", "--vault", "kv-export-src", "--out", str(out))
    assert sorted(Path(p).name for p in exported["secrets"]) == ["alpha.blob", "beta.blob"], exported
    assert all((Path(p).stat().st_mode & 0o777) == 0o600 for p in exported["secrets"])
    # az's own backup file of the same secret has the same form: restorable bytes.
    az_file = tmp_path / "az-beta.blob"
    vl.az("keyvault", "secret", "backup", "--vault-name", "kv-export-src", "-n", "beta", "--file", str(az_file),
          output=None)
    assert az_file.stat().st_size > 0 and not az_file.read_bytes().startswith(b"{")
    for name in SECRETS:
        vl.az("keyvault", "secret", "delete", "--vault-name", "kv-export-src", "-n", name)
        vl.az("keyvault", "secret", "purge", "--vault-name", "kv-export-src", "-n", name, output=None)
    for name in SECRETS:
        restored = vl.az("keyvault", "secret", "restore", "--vault-name", "kv-export-dst",
                         "--file", str(out / f"{name}.blob"))
        assert restored["name"] == name, restored
    expected = dict(SECRETS, alpha="newest")
    for name, value in expected.items():
        shown = vl.az("keyvault", "secret", "show", "--vault-name", "kv-export-dst", "-n", name)
        assert shown["value"] == value, shown
    versions = vl.az("keyvault", "secret", "list-versions", "--vault-name", "kv-export-dst", "-n", "alpha")
    assert len(versions) == 2, versions
    missing = vl.run_vaultlink("export", "--data-dir", str(vl.data_dir), "--vault", "kv-nope", "--out",
                               str(tmp_path / "none"), check=False)
    assert missing.returncode != 0 and "no vault named kv-nope" in missing.stderr, missing.stderr
