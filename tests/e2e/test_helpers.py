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


# ---------------------------------------------------------------------------------------------
def test_node_helper(tmp_path: Path) -> None:
    """helpers/node: `npm ci` (packages cached under $VAULTLINK_CACHE/npm) and `node --test`,
    in a runner started without NODE_EXTRA_CA_CERTS (the clients get the CA from the helper)."""
    for tool in ("node", "npm"):
        assert shutil.which(tool), f"{tool} not on PATH (the machine's Node.js 20 and npm)"
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"helpers/node needs Node 20+, not {version}"
    node = HELPERS / "node"
    work = tmp_path / "node"  # a copy, so node_modules never lands in the source tree
    shutil.copytree(node, work, ignore=shutil.ignore_patterns("node_modules"))
    ci = subprocess.run(["npm", "ci", "--cache", str(CACHE / "npm"), "--no-audit", "--no-fund"],
                        cwd=work, capture_output=True, text=True, timeout=600, env=clean_env())
    assert ci.returncode == 0, (ci.stdout + ci.stderr)[-4000:]
    proc = subprocess.run(["node", "--test", "test/"], cwd=work, capture_output=True, text=True,
                          timeout=600, env=clean_env(VAULTLINK_BIN=str(binary())))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    passed = re.search(r"^# pass (\d+)$", out, re.M)
    failed = re.search(r"^# fail (\d+)$", out, re.M)
    skipped = re.search(r"^# skipped (\d+)$", out, re.M)
    assert passed and failed and skipped, out[-2000:]
    assert int(passed.group(1)) >= 9 and failed.group(1) == "0" and skipped.group(1) == "0", out[-2000:]
