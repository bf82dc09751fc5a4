"""The test-framework helpers (issue 20 part 2), each run with its own tests against the built
binary: helpers/python (pytest, this venv's python), helpers/node (`npm ci` + `node --test`),
and docs/examples/github-actions.yml, whose job's `run:` steps run here as one bash script."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, vaultlink_binary

HELPERS = REPO_ROOT / "helpers"
CACHE = Path(os.environ.get("VAULTLINK_CACHE", Path.home() / ".cache" / "vaultlink"))
# Variables of the caller's shell that would steer the helpers' clients or the workflow elsewhere.
_SCRUB = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
          "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "PYTEST_ADDOPTS",
          "AZURE_CONFIG_DIR")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in _SCRUB and not k.startswith(("AZURE_CLIENT", "AZURE_TENANT",
                                                    "AZURE_SUBSCRIPTION"))}
    env.update(extra)
    return env


def binary() -> Path:
    path = vaultlink_binary()
    if not path.exists():
        pytest.fail(f"vaultlink binary not found at {path} (set VAULTLINK_BIN)", pytrace=False)
    return path.resolve()


def counts(summary: str) -> dict[str, int]:
    """pytest's or node's closing counts: {"passed": 3, "failed": 0, ...}."""
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed)",
                                                   summary)}


# ---------------------------------------------------------------------------------------------
def test_python_helper(tmp_path: Path) -> None:
    """helpers/python/tests with this venv's python (testcontainers and azure-* are in it), the
    package from its source tree."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs",
         str(HELPERS / "python" / "tests")],
        cwd=HELPERS / "python", capture_output=True, text=True, timeout=600,
        env=clean_env(VAULTLINK_BIN=str(binary()), PYTHONPATH=str(HELPERS / "python" / "src"),
                      TMPDIR=str(tmp_path)),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    last = out.strip().splitlines()[-1]
    got = counts(last)
    assert got.get("passed", 0) >= 15 and set(got) == {"passed"}, last
