"""The SDK prelude: what the Azure SDK modules (test_secrets_sdk, test_keys_sdk,
test_certificates_sdk) and the key/certificate judges share.

In the test process:
  unb64u(s), as_int(s)     base64url (unpadded, as in a JWK) to bytes / to a big-endian integer
  sdk_pin(pkg, ver)         the version an overlay uses: `ver`, or with VAULTLINK_E2E_NEWEST=1 (the
                            newest-clients stage of scripts/test) the newest the registry serves
  sdk_overlay(pkg, ver)     a newer SDK pip-installed with --target beside the venv (cached in
                            ${VAULTLINK_CACHE:-~/.cache/vaultlink}), to put first on PYTHONPATH
  scenario(body)            a scenario script: SCENARIO_PRELUDE followed by `body` (dedented)
  run_scenario(...)         runs a scenario in a subprocess of this python with only the
                            `vaultlink env` variables (and an empty az profile), as a user's
                            program would run after `eval "$(vaultlink env)"`; returns the JSON
                            document it printed last

In the scenario (SCENARIO_PRELUDE): base64, json, os, sys, HttpResponseError,
ClientSecretCredential, and
  credential()   ClientSecretCredential from AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET
  err(e)         an HttpResponseError as an observation: status, code, message, exception type,
                 the inner error code
  expect_error(f) "no error", or err() of what f() raised
  sv(x)          an SDK enum's value (or x)
  b64u(b), unb64u(s)  bytes to and from base64url without padding
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conftest import Vaultlink
from dp_fixtures import vault_url


def unb64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def as_int(s: str) -> int:
    return int.from_bytes(unb64u(s), "big")


NEWEST = os.environ.get("VAULTLINK_E2E_NEWEST") == "1"


def sdk_pin(package: str, pinned: str) -> str:
    """`pinned`, or in the newest-clients stage the newest stable version on the registry."""
    if not NEWEST:
        return pinned
    proc = subprocess.run([sys.executable, "-m", "pip", "index", "versions", package,
                           "--disable-pip-version-check"], capture_output=True, text=True, timeout=120)
    first = proc.stdout.splitlines()[0] if proc.returncode == 0 and proc.stdout else ""
    if not (first.startswith(f"{package} (") and first.endswith(")")):
        raise RuntimeError(f"cannot find the newest {package}: {proc.stdout[-300:]} {proc.stderr[-300:]}")
    return first[len(package) + 2:-1]


def sdk_overlay(package: str, version: str) -> Path:
    """`package==version` in a --target dir beside the venv (cached); its dependencies come
    from the venv. Fails when it cannot be installed."""
    cache = Path(os.environ.get("VAULTLINK_CACHE", Path.home() / ".cache" / "vaultlink"))
    target = cache / f"sdk-{package}-{version}"
    marker = target / ".complete"
    cache.mkdir(parents=True, exist_ok=True)
    # Parallel e2e workers may want the same overlay: one installs it, the others wait.
    with open(cache / f"sdk-{package}-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
                 "--no-input", "-q", "--no-deps", "--upgrade", "--target", str(target),
                 f"{package}=={version}"],
                capture_output=True, text=True, timeout=300,
            )
            if proc.returncode != 0:
                pytest.fail(f"cannot install {package} {version}: {proc.stderr[-500:]}")
            marker.touch()
    return target


SCENARIO_PRELUDE = textwrap.dedent(
    r'''
    import base64, json, os, sys
    from azure.core.exceptions import HttpResponseError
    from azure.identity import ClientSecretCredential


    def credential():
        return ClientSecretCredential(os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"],
                                      os.environ["AZURE_CLIENT_SECRET"])


    def inner(e):
        try:
            body = json.loads(e.response.text())
        except Exception:
            return None
        return ((body.get("error") or {}).get("innererror") or {}).get("code")


    def err(e):
        return {"status": e.status_code, "code": getattr(e.error, "code", None),
                "message": getattr(e.error, "message", None), "type": type(e).__name__,
                "inner": inner(e)}


    def expect_error(f):
        try:
            f()
            return "no error"
        except HttpResponseError as e:
            return err(e)


    def sv(x):
        return getattr(x, "value", x)


    def b64u(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


    def unb64u(s):
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    # ---- the scenario
    '''
)


def scenario(body: str) -> str:
    return SCENARIO_PRELUDE + textwrap.dedent(body)


def run_scenario(vl: Vaultlink, tmp_path: Path, name: str, script: str, vault: str, *args: str,
                 overlay: Path | None = None) -> dict[str, Any]:
    """Writes `script` to tmp_path/name and runs it with argv [vault URL, *args] in tmp_path."""
    path = tmp_path / name
    path.write_text(script)
    # Only what a user's shell would have after `eval "$(vaultlink env)"`.
    env = {k: v for k, v in vl.env.items() if k != "AZURE_CONFIG_DIR"}
    env["AZURE_CONFIG_DIR"] = str(tmp_path / "no-az-profile")  # DefaultAzureCredential: no az
    if overlay is not None:
        env["PYTHONPATH"] = str(overlay)
    proc = subprocess.run(
        [sys.executable, str(path), vault_url(vault), *args],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )
    assert proc.returncode == 0, (
        f"SDK scenario failed (rc={proc.returncode})\n--- stdout ---\n{proc.stdout}\n"
        f"--- stderr ---\n{proc.stderr[-8000:]}"
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])
