"""The test-framework helpers (issue 20 part 2), each run with its own tests against the built
binary: helpers/python (pytest, this venv's python), helpers/node (`npm ci` + `node --test`),
and docs/examples/github-actions.yml, whose job's `run:` steps run here as one bash script."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
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


# ---------------------------------------------------------------------------------------------
WORKFLOW = REPO_ROOT / "docs" / "examples" / "github-actions.yml"
LISTENERS = ("VAULTLINK_PROXY_LISTEN", "VAULTLINK_HTTPS_LISTEN", "VAULTLINK_IDENTITY_LISTEN",
             "VAULTLINK_DNS_LISTEN")


def workflow_script(doc: dict, bindir: Path) -> tuple[str, list[str]]:
    """The job's `run:` steps as one bash script, each step in a bash of its own
    (`bash --noprofile --norc -eo pipefail`, the runner's default shell) with $GITHUB_ENV and
    $GITHUB_PATH applied between steps; a failed step skips the rest but those with
    `if: always()`. The step `id: install-vaultlink` becomes "put the built binary on PATH"."""
    (job,) = doc["jobs"].values()
    lines = ["#!/usr/bin/env bash", "set -u", 'status=0',
             'apply() {',
             '  while IFS= read -r line; do [ -n "$line" ] && export "$line"; done < "$GITHUB_ENV"',
             '  while IFS= read -r dir; do [ -n "$dir" ] && PATH="$dir:$PATH"; done < "$GITHUB_PATH"',
             '  : > "$GITHUB_PATH"',
             '}']
    for name, value in job.get("env", {}).items():
        value = "127.0.0.1:0" if name in LISTENERS else str(value)  # free ports here
        lines.append(f"export {name}={shlex.quote(value)}")
    ran = []
    for step in job["steps"]:
        if "run" not in step:
            continue  # `uses:` steps (checkout) have nothing to do here
        body = step["run"]
        if step.get("id") == "install-vaultlink":
            body = f'echo {shlex.quote(str(bindir))} >> "$GITHUB_PATH"\n'
        ran.append(step.get("id") or step.get("name", "?"))
        guard = "true" if step.get("if") == "always()" else '[ "$status" -eq 0 ]'
        lines += [f"if {guard}; then",
                  f"  echo {shlex.quote('::step ' + ran[-1])}",
                  "  bash --noprofile --norc -eo pipefail <<'VAULTLINK_STEP'",
                  body.rstrip("\n"),
                  "VAULTLINK_STEP",
                  '  rc=$?; [ "$rc" -eq 0 ] || { echo "::step failed with $rc"; status=$rc; }',
                  "  apply",
                  "fi"]
    lines.append('exit "$status"')
    return "\n".join(lines) + "\n", ran


def exited(pid: int, timeout: float = 15.0) -> bool:
    """Whether `pid` ends (or is a zombie: nohup's orphan is reaped by whoever adopts it) within
    `timeout` of a SIGTERM sent just before."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if re.search(r"^State:\s+Z", state, re.M):
            return True
        time.sleep(0.1)
    return False


def test_github_actions_example(tmp_path: Path) -> None:
    import yaml  # pinned in requirements.txt

    doc = yaml.safe_load(WORKFLOW.read_text())
    (job,) = doc["jobs"].values()
    assert set(LISTENERS) <= job["env"].keys(), "the listeners' addresses come from the job's env"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "vaultlink").symlink_to(binary())
    script, ran = workflow_script(doc, bindir)
    assert ran[:3] == ["install-vaultlink", "start-vaultlink", "seed-cli"], ran
    assert ran[-1] == "stop-vaultlink", ran
    (tmp_path / "workflow.sh").write_text(script)  # to read after a failure
    runner = tmp_path / "runner"
    runner.mkdir()
    (runner / "env").touch()
    (runner / "path").touch()
    env = clean_env(
        GITHUB_ENV=str(runner / "env"), GITHUB_PATH=str(runner / "path"),
        RUNNER_TEMP=str(runner), AZURE_CONFIG_DIR=str(tmp_path / "azure"),
        AZURE_CORE_COLLECT_TELEMETRY="false", AZURE_CORE_SURVEY_MESSAGE="false",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # the venv's az
    )
    pid_file = runner / "vaultlink.pid"
    try:
        proc = subprocess.run(["bash", str(tmp_path / "workflow.sh")], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=900)
    finally:
        still = False
        if pid_file.exists():  # the workflow's own stop step should have done it
            pid = int(pid_file.read_text())
            still = not exited(pid)
            if still:
                os.kill(pid, 15)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-8000:]
    assert "::step failed" not in out, out[-8000:]
    for marker in ("secret app-config read back", "pe-kv-manual approved",
                   "internet access denied by the vault firewall"):
        assert marker in proc.stdout, out[-8000:]
    assert not still, "the workflow's stop step stops vaultlink"
    assert (runner / "vaultlink" / "endpoints.json").exists(), "served from $RUNNER_TEMP/vaultlink"
