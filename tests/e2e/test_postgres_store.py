"""The state in PostgreSQL (issue 21, part 1 and item 6): `serve --store postgres://...` keeps
every record in the database, not the data directory; a restart reads it back; while the database
is away every write answers 503 `ServiceUnavailable` with `Retry-After` (ARM and the data plane
alike) and reads go on; once it is back vaultlink takes writes again by itself, within seconds,
and the writes it refused are not there. Driven by az, raw HTTPS through the proxy and psql."""

from __future__ import annotations

import time

import pytest

from conftest import SUBSCRIPTION_ID, Vaultlink
from dp_fixtures import ARM_SCOPE, VAULT_SCOPE, Dp, error_of, provision
from postgres_server import PostgresServer

RG = "rg-pg-store"
VAULT = "kv-pg-store"
VALUE = "pg-stored-value-5c1e"
ARM = "https://management.azure.com"
GROUP = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups"



def arm_put_group(dp: Dp, token: str, name: str) -> int:
    r = dp.request("PUT", f"{ARM}{GROUP}/{name}", token=token, api_version="2024-11-01",
                   json={"location": "westeurope"})
    return r.status_code


def test_state_lives_in_the_database_and_writes_wait_for_it(tmp_path, pg: PostgresServer) -> None:
    vl = Vaultlink(tmp_path, extra_args=("--store", pg.url))
    vl.start()
    try:
        vl.login_sp()
        provision(vl, RG, VAULT)
        vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "kept", "--value", VALUE)

        assert not (vl.data_dir / "state.db").exists(), "the state is in the database, not the file"
        keys = pg.sql("SELECT key FROM vaultlink_records").splitlines()
        assert any(k.endswith(f"/vaults/{VAULT}") for k in keys), keys[:20]
        stored = pg.sql("SELECT count(*) FROM vaultlink_records "
                        f"WHERE position(convert_to('{VALUE}', 'UTF8') in value) > 0")
        assert stored == "0", "secret values are sealed in the database too"
        assert int(pg.sql("SELECT count(*) FROM vaultlink_log")) > 0

        vl.restart()
        shown = vl.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "kept")
        assert shown["value"] == VALUE

        dp = Dp(vl)
        vault_token, arm_token = dp.token(VAULT_SCOPE), dp.token(ARM_SCOPE)
        pg.stop()
        # A secret write: the data plane's 503, nothing kept.
        r = dp.kv("PUT", VAULT, "/secrets/refused", token=vault_token, json={"value": "x"})
        assert r.status_code == 503, r.text
        assert error_of(r)["code"] == "ServiceUnavailable", r.text
        assert "Retry" in error_of(r)["message"]
        assert int(r.headers["Retry-After"]) >= 1
        # Resource Manager's 503 in its own envelope.
        r = dp.request("PUT", f"{ARM}{GROUP}/rg-pg-refused", token=arm_token,
                       api_version="2024-11-01", json={"location": "westeurope"})
        assert r.status_code == 503, r.text
        assert error_of(r)["code"] == "ServiceUnavailable"
        # Reads go on from memory.
        r = dp.kv("GET", VAULT, "/secrets/kept", token=vault_token)
        assert r.status_code == 200 and r.json()["value"] == VALUE, r.text
        r = dp.request("GET", f"{ARM}{GROUP}/{RG}", token=arm_token, api_version="2024-11-01")
        assert r.status_code == 200, r.text

        pg.start()
        deadline = time.monotonic() + 20
        while (status := arm_put_group(dp, arm_token, "rg-pg-after")) == 503:
            assert time.monotonic() < deadline, "writes still refused 20 s after the database came back"
            time.sleep(0.5)
        assert status in (200, 201)
        r = dp.kv("PUT", VAULT, "/secrets/after", token=vault_token, json={"value": "y"})
        assert r.status_code == 200, r.text
        r = dp.kv("GET", VAULT, "/secrets/refused", token=vault_token)
        assert r.status_code == 404, "a write answered 503 is not there"

        vl.restart()
        names = {g["name"] for g in vl.az("group", "list")}
        assert {RG, "rg-pg-after"} <= names and "rg-pg-refused" not in names, names
        shown = vl.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "after")
        assert shown["value"] == "y"
    finally:
        vl.close()


def test_an_unreachable_database_at_start_is_a_clear_error(tmp_path, pg: PostgresServer,
                                                           monkeypatch) -> None:
    """Given in VAULTLINK_STORE (not on the command line, where `ps` shows it), the URL's password
    appears in no message."""
    pg.stop()
    monkeypatch.setenv("VAULTLINK_STORE", pg.url.replace("vaultlink@", "vaultlink:hunter2@"))
    vl = Vaultlink(tmp_path)
    with pytest.raises(Exception, match="exit code 1"):
        vl.start()
    log = vl.log_path.read_text()
    assert "opening the PostgreSQL store" in log and "Connection refused" in log, log[-2000:]
    assert "hunter2" not in log + vl.stdout_path.read_text(), "the URL's password is never shown"
    assert not (vl.data_dir / "state.db").exists()


def test_tls_to_the_database_checks_its_certificate(tmp_path) -> None:
    """`sslmode=require` in the URL: every connection is TLS and the server's certificate is
    checked; `--store-ca` names the CA that signed it. A server that takes no TCP connection in
    the clear proves the sessions were TLS, and so does its own `pg_stat_ssl`."""
    server = PostgresServer()
    ca = server.tls_only()
    server.start()
    try:
        url = server.url + "?sslmode=require"
        untrusted = Vaultlink(tmp_path / "untrusted", extra_args=("--store", url))
        with pytest.raises(Exception, match="exit code 1"):
            untrusted.start()
        log = untrusted.log_path.read_text()
        assert "opening the PostgreSQL store" in log and "certificate" in log.lower(), log[-2000:]

        vl = Vaultlink(tmp_path / "trusted", extra_args=("--store", url, "--store-ca", str(ca)))
        vl.start()
        try:
            vl.login_sp()
            vl.az("group", "create", "-n", "rg-pg-tls", "-l", "westeurope")
            kept = server.sql("SELECT count(*) FROM vaultlink_records WHERE key LIKE '%/resourcegroups/rg-pg-tls'")
            assert kept == "1", kept
            encrypted = server.sql(
                "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                "WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()")
            assert encrypted.split("|")[0] != "0" and encrypted.endswith("|t"), encrypted
        finally:
            vl.close()
    finally:
        server.close()
