"""The pytest plugin, used as a user would: a test file of theirs run by a pytest of its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import HELPER_ROOT

USER_TESTS = textwrap.dedent('''
    import json, os

    def test_set_and_read_a_secret(vaultlink_secret_client):
        client = vaultlink_secret_client("kv-plugin-test")
        client.set_secret("db-password", "correct horse")
        assert client.get_secret("db-password").value == "correct horse"

    def test_same_vault_again_and_the_server(vaultlink, vaultlink_secret_client):
        client = vaultlink_secret_client("kv-plugin-test")
        assert client.get_secret("db-password").value == "correct horse"
        with open(os.environ["RECORD"], "w") as f:
            json.dump({"pid": vaultlink.proc.pid, "workdir": str(vaultlink.workdir)}, f)

    def test_env_fixture(vaultlink, vaultlink_env):
        assert os.environ["HTTPS_PROXY"] == vaultlink.proxy_url == vaultlink_env["HTTPS_PROXY"]
''')


def run_user_pytest(tmp_path: Path, *args: str, pythonpath: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    env = {k: v for k, v in os.environ.items() if k not in ("HTTPS_PROXY", "PYTEST_ADDOPTS")}
    env.update(PYTHONPATH=pythonpath, RECORD=str(tmp_path / "record.json"))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_user.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def assert_passed_and_cleaned(tmp_path: Path, run: subprocess.CompletedProcess[str]) -> None:
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout, run.stdout
    record = json.loads((tmp_path / "record.json").read_text())
    assert not Path(record["workdir"]).exists(), "the session fixture removes its temp dir"
    assert not Path(f"/proc/{record['pid']}").exists(), "the session's vaultlink has exited"


def test_plugin_with_dash_p(binary: Path, tmp_path: Path) -> None:
    run = run_user_pytest(tmp_path, "-p", "vaultlink_testing.plugin", f"--vaultlink-bin={binary}",
                          pythonpath=str(HELPER_ROOT / "src"))
    assert_passed_and_cleaned(tmp_path, run)


def test_plugin_from_the_entry_point(binary: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed (pip, no dependencies, into a target dir; pip fetches setuptools to build it), pytest finds the plugin through
    the package's `pytest11` entry point: no -p needed."""
    source = tmp_path / "source"  # setuptools writes build/ and egg-info beside the sources
    shutil.copytree(HELPER_ROOT, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", "tests"))
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q",
         "--no-deps", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    assert list(target.glob("vaultlink_testing-*.dist-info")), list(target.iterdir())
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("VAULTLINK_BIN", str(binary))  # no --vaultlink-bin this time
    run = run_user_pytest(work, pythonpath=str(target))
    assert_passed_and_cleaned(work, run)
    # -p with the installed package is the same plugin, not a second one.
    again = run_user_pytest(work, "-p", "vaultlink_testing.plugin", pythonpath=str(target))
    assert_passed_and_cleaned(work, again)
