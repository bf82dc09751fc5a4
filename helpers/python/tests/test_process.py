"""The context manager: start on free ports, clients that need no os.environ, cleanup."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import jwt_claims
from vaultlink_testing import DEV_OBJECT_ID, TENANT_ID, Vaultlink, VaultlinkError, start

ENV_KEYS = {"HTTPS_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS",
            "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_SUBSCRIPTION_ID"}


def test_starts_on_free_ports_and_cleans_up(binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A caller whose own environment points elsewhere: a dead proxy and a CA file that does not
    # exist. The clients must not read either.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    with Vaultlink(binary) as vl:
        assert vl.running
        assert ENV_KEYS <= vl.env.keys(), vl.env
        assert vl.env["HTTPS_PROXY"] == vl.proxy_url
        assert vl.proxy_url.startswith("http://127.0.0.1:")
        assert not vl.proxy_url.endswith((":8780", ":0"))
        assert Path(vl.ca_bundle).is_file()
        assert vl.data_dir is not None and (vl.data_dir / "state.db").exists()
        token = vl.credential().get_token("https://management.azure.com/.default").token
        claims = jwt_claims(token)
        assert claims["oid"] == DEV_OBJECT_ID and claims["tid"] == TENANT_ID, claims
        workdir, proc = vl.workdir, vl.proc
        assert workdir is not None and workdir.is_dir()
    assert proc.poll() == 0, "a SIGTERM stop exits 0"
    assert not workdir.exists()
    assert os.environ["HTTPS_PROXY"] == "http://127.0.0.1:9", "os.environ was not touched"


def test_secret_client_creates_the_vault(binary: Path) -> None:
    with Vaultlink(binary) as vl:
        client = vl.secret_client("kv-helper-py1")
        client.set_secret("greeting", "hello from vaultlink-testing")
        assert client.get_secret("greeting").value == "hello from vaultlink-testing"
        vault = vl.arm("GET", f"/subscriptions/{vl.subscription_id}/resourceGroups/vaultlink-testing"
                       "/providers/Microsoft.KeyVault/vaults/kv-helper-py1", api_version="2023-07-01")
        assert vault["properties"]["vaultUri"].rstrip("/") == "https://kv-helper-py1.vault.azure.net"
        # A second client for the same vault does not create it again (a PUT on a live vault
        # is an update, so `create=True` would pass too; this is the plugin's path).
        again = vl.secret_client("kv-helper-py1", create=False)
        assert again.get_secret("greeting").value == "hello from vaultlink-testing"
        with pytest.raises(VaultlinkError, match="VaultNameNotValid|400"):
            vl.create_vault("9bad--name")


def test_cleans_up_after_an_exception(binary: Path) -> None:
    seen = {}
    with pytest.raises(RuntimeError, match="the test failed"):
        with Vaultlink(binary) as vl:
            seen.update(proc=vl.proc, workdir=vl.workdir)
            raise RuntimeError("the test failed")
    assert seen["proc"].poll() is not None, "the process must be gone"
    assert not seen["workdir"].exists(), "the temp dir must be gone"


def test_start_stop_and_a_given_data_dir_is_kept(binary: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    vl = start(binary, data)
    try:
        vl.create_vault("kv-helper-kept")
    finally:
        code = vl.stop()
    assert code == 0
    assert (data / "state.db").exists(), "a data_dir the caller gave is the caller's"
    with Vaultlink(binary, data) as again:  # same state on restart
        vault = again.arm("GET", f"/subscriptions/{again.subscription_id}/resourceGroups/"
                          "vaultlink-testing/providers/Microsoft.KeyVault/vaults/kv-helper-kept",
                          api_version="2023-07-01")
        assert vault["name"] == "kv-helper-kept"


def test_apply_env_is_restored(binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", "caller-value")
    monkeypatch.delenv("NODE_EXTRA_CA_CERTS", raising=False)
    with Vaultlink(binary) as vl:
        vl.apply_env()
        assert os.environ["AZURE_CLIENT_ID"] == vl.client_id
        assert os.environ["HTTPS_PROXY"] == vl.proxy_url
        # What a program reading the environment sees: DefaultAzureCredential's env path.
        from azure.identity import EnvironmentCredential
        token = EnvironmentCredential().get_token("https://vault.azure.net/.default").token
        assert jwt_claims(token)["oid"] == DEV_OBJECT_ID
    assert os.environ["AZURE_CLIENT_ID"] == "caller-value"
    assert "NODE_EXTRA_CA_CERTS" not in os.environ


def test_a_failed_start_says_why_and_leaves_nothing(binary: Path) -> None:
    vl = Vaultlink(binary, args=("--no-such-flag",))
    with pytest.raises(VaultlinkError) as failed:
        vl.start()
    assert "before `vaultlink ready`" in str(failed.value)
    assert "--no-such-flag" in str(failed.value), "the log tail names the problem"
    assert vl.proc is not None and vl.proc.poll() not in (None, 0)
    assert vl.workdir is not None and not vl.workdir.exists()


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VaultlinkError, match="not found"):
        Vaultlink(tmp_path / "nope")
    env = {k: v for k, v in os.environ.items() if k != "VAULTLINK_BIN"}
    env["PATH"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c",
                          "from vaultlink_testing import Vaultlink\n"
                          "try:\n    Vaultlink()\nexcept Exception as e:\n    print(e)"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert "no vaultlink binary" in out.stdout, out
