"""The engine's clock moved on a running instance (`vaultlink clock`) and set at start
(`serve --clock`), with the real az: tokens issued before a move expire as they would, soft-delete
retention ends (a deleted secret and a deleted vault purged, their names free again), a
certificate expires (its key then refuses to sign, as Key Vault refuses an expired key), and a
key's rotation policy and a certificate's AutoRenew action run when their time comes."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from conftest import Vaultlink
from dp_fixtures import Dp, provision

RG = "rg-clock"
VAULT = "kv-clock-01"
DOOMED_VAULT = "kv-clock-02"
DAY = 86_400


def clock(vl: Vaultlink, *args: str, check: bool = True) -> Any:
    p = vl.run_vaultlink("clock", *args, "--data-dir", str(vl.data_dir), check=check)
    return json.loads(p.stdout) if check else p


def engine_time(vl: Vaultlink) -> float:
    shown = clock(vl, "show")
    return datetime.fromisoformat(shown["now"].replace("0000000Z", "+00:00")).timestamp()


_profiles = iter(range(1000))


def relogin(vl: Vaultlink) -> None:
    """A fresh az profile and login: az (MSAL) keeps a token until *its* clock says it expired,
    so after a move it would go on sending the one vaultlink now refuses."""
    config = vl.workdir / f"azure-config-{next(_profiles)}"
    config.mkdir()
    vl.set_env(AZURE_CONFIG_DIR=str(config))
    vl.login_sp()


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    provision(logged_in, RG, VAULT, "--retention-days", "7")
    return logged_in


def test_show_and_refusals(vl: Vaultlink, tmp_path: Path) -> None:
    shown = clock(vl, "show")
    assert shown["offsetSeconds"] == 0, shown
    assert abs(engine_time(vl) - time.time()) < 5
    # A running clock only moves forward; nothing changes when it is refused.
    back = clock(vl, "set", "2020-01-01T00:00:00Z", check=False)
    assert back.returncode != 0 and "only moves forward" in back.stderr, back.stderr
    for bad in ("1y", "0d", "3x", "soon"):
        p = clock(vl, "advance", bad, check=False)
        assert p.returncode != 0 and "not a duration" in p.stderr, (bad, p.stderr)
    assert clock(vl, "show")["offsetSeconds"] == 0
    # Without a running instance there is no clock to move.
    lonely = vl.run_vaultlink("clock", "show", "--data-dir", str(tmp_path), check=False)
    assert lonely.returncode != 0 and "no `vaultlink serve` is running" in lonely.stderr


def test_tokens_issued_before_a_move_expire(vl: Vaultlink) -> None:
    vl.az("group", "show", "-n", RG)
    dp = Dp(vl)
    kv_token = dp.token()
    assert dp.kv("GET", VAULT, "/secrets", token=kv_token).status_code == 200

    moved = clock(vl, "advance", "2h")
    assert moved["offsetSeconds"] == 7200, moved
    # Resource Manager and Key Vault both refuse the tokens issued before the move.
    refused = vl.az_fail("group", "show", "-n", RG)
    assert "ExpiredAuthenticationToken" in refused.stderr, refused.describe()
    r = dp.kv("GET", VAULT, "/secrets", token=kv_token)
    assert r.status_code == 401 and "AKV10022" in r.text, r.text
    # A token issued now lives by the moved clock.
    assert dp.kv("GET", VAULT, "/secrets", token=dp.token()).status_code == 200
    relogin(vl)
    assert vl.az("group", "show", "-n", RG)["name"] == RG


def test_retention_purges_a_deleted_secret_and_a_deleted_vault(vl: Vaultlink) -> None:
    vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "s-old", "--value", "v1")
    vl.az("keyvault", "secret", "delete", "--vault-name", VAULT, "-n", "s-old")
    provision(vl, RG, DOOMED_VAULT, "--retention-days", "7")
    vl.az("keyvault", "delete", "-n", DOOMED_VAULT)

    def deleted_secrets() -> list[str]:
        return [s["name"] for s in vl.az("keyvault", "secret", "list-deleted", "--vault-name", VAULT)]

    def deleted_vaults() -> list[str]:
        return [v["name"] for v in vl.az("keyvault", "list-deleted")]

    clock(vl, "advance", "6d")
    relogin(vl)
    assert deleted_secrets() == ["s-old"]
    assert deleted_vaults() == [DOOMED_VAULT]
    taken = vl.az_fail("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "s-old", "--value", "v2")
    assert "deleted" in taken.stderr.lower(), taken.describe()

    clock(vl, "advance", "1d1m")
    relogin(vl)
    assert deleted_secrets() == []
    assert deleted_vaults() == []
    # The names are free again: a new secret with one version, a new vault of the old name.
    vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "s-old", "--value", "v2")
    versions = vl.az("keyvault", "secret", "list-versions", "--vault-name", VAULT, "-n", "s-old")
    assert len(versions) == 1, versions
    assert vl.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s-old")["value"] == "v2"
    recreated = vl.az("keyvault", "create", "-n", DOOMED_VAULT, "-g", RG, "-l", "westeurope")
    assert recreated["name"] == DOOMED_VAULT


def test_a_certificate_expires(vl: Vaultlink, tmp_path: Path) -> None:
    policy = vl.az("keyvault", "certificate", "get-default-policy")
    policy["x509CertificateProperties"]["validityInMonths"] = 1
    policy["lifetimeActions"] = [{"action": {"actionType": "EmailContacts"},
                                  "trigger": {"lifetimePercentage": 80}}]
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    before = engine_time(vl)
    vl.az("keyvault", "certificate", "create", "--vault-name", VAULT, "-n", "c-short",
          "-p", f"@{tmp_path / 'policy.json'}")
    shown = vl.az("keyvault", "certificate", "show", "--vault-name", VAULT, "-n", "c-short")
    # Dated by the engine's clock (a week ahead of the system's by now).
    not_before = datetime.fromisoformat(shown["attributes"]["notBefore"]).timestamp()
    expires = datetime.fromisoformat(shown["attributes"]["expires"]).timestamp()
    assert before - 5 <= not_before <= before + 60, (shown["attributes"], before)
    assert not_before > time.time() + 6 * DAY
    digest = base64.b64encode(hashlib.sha256(b"clock").digest()).decode()
    sign = ("keyvault", "key", "sign", "--vault-name", VAULT, "-n", "c-short", "-a", "RS256",
            "--digest", digest)
    assert vl.az(*sign)["signature"]

    clock(vl, "advance", "32d")
    relogin(vl)
    assert engine_time(vl) > expires
    again = vl.az("keyvault", "certificate", "show", "--vault-name", VAULT, "-n", "c-short")
    assert again["attributes"]["expires"] == shown["attributes"]["expires"]
    refused = vl.az_fail(*sign)
    assert "expired key" in refused.stderr, refused.describe()


def test_policies_rotate_a_key_and_renew_a_certificate_when_their_time_comes(
        vl: Vaultlink, tmp_path: Path) -> None:
    vl.az("keyvault", "key", "create", "--vault-name", VAULT, "-n", "k-rotating", "--kty", "EC")
    rotation = {"lifetimeActions": [{"trigger": {"timeAfterCreate": "P30D"}, "action": {"type": "Rotate"}}],
                "attributes": {"expiryTime": "P90D"}}
    (tmp_path / "rotation.json").write_text(json.dumps(rotation))
    vl.az("keyvault", "key", "rotation-policy", "update", "--vault-name", VAULT, "-n", "k-rotating",
          "--value", f"@{tmp_path / 'rotation.json'}")
    policy = vl.az("keyvault", "certificate", "get-default-policy")
    policy["x509CertificateProperties"]["validityInMonths"] = 1
    policy["lifetimeActions"] = [{"action": {"actionType": "AutoRenew"},
                                  "trigger": {"lifetimePercentage": 80}}]
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    vl.az("keyvault", "certificate", "create", "--vault-name", VAULT, "-n", "c-renewing",
          "-p", f"@{tmp_path / 'policy.json'}")

    def versions(kind: str, name: str) -> list[dict[str, Any]]:
        return vl.az("keyvault", kind, "list-versions", "--vault-name", VAULT, "-n", name)

    clock(vl, "advance", "20d")
    relogin(vl)
    assert len(versions("key", "k-rotating")) == 1
    assert len(versions("certificate", "c-renewing")) == 1

    clock(vl, "advance", "11d")
    relogin(vl)
    now = engine_time(vl)
    keys = versions("key", "k-rotating")
    assert len(keys) == 2, keys
    newest = vl.az("keyvault", "key", "show", "--vault-name", VAULT, "-n", "k-rotating")
    expires = datetime.fromisoformat(newest["attributes"]["expires"]).timestamp()
    assert abs(expires - (now + 90 * DAY)) < 120, (newest["attributes"], now)
    certs = versions("certificate", "c-renewing")
    assert len(certs) == 2, certs
    renewed = vl.az("keyvault", "certificate", "show", "--vault-name", VAULT, "-n", "c-renewing")
    not_before = datetime.fromisoformat(renewed["attributes"]["notBefore"]).timestamp()
    assert abs(not_before - now) < 120, (renewed["attributes"], now)


def test_serve_starts_the_clock_where_told(tmp_path: Path) -> None:
    vl = Vaultlink(tmp_path, extra_args=("--clock", "2031-06-01T12:00:00Z"))
    vl.start()
    try:
        t = engine_time(vl)
        assert abs(t - datetime(2031, 6, 1, 12, tzinfo=timezone.utc).timestamp()) < 60, t
        vl.login_sp()
        provision(vl, RG, "kv-clock-2031")
        vl.az("keyvault", "secret", "set", "--vault-name", "kv-clock-2031", "-n", "s", "--value", "x")
        s = vl.az("keyvault", "secret", "show", "--vault-name", "kv-clock-2031", "-n", "s")
        assert s["attributes"]["created"].startswith("2031-06-01"), s["attributes"]
    finally:
        vl.close()
