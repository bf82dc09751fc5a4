"""The README's quick start, run as written (issue 15, item 8): its start command (`cargo run
--release -- serve`, with its default data directory and default ports) and the block "In another
shell:" line by line in bash, then the secret it stored is read back.

The one substitution: `cargo run --release --` becomes the binary under test (scripts/test builds
the debug binary; compiling a release build here would only cost time). HOME is a fresh
directory, so the default data directory (~/.local/share/vaultlink) and az's profile start empty
as on a new machine. The default ports (8780, 8743, 8781, ...) must be free: this test says so
loudly if they are not.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO_ROOT, az_command, vaultlink_binary

CARGO = "cargo run --release --"


def readme_blocks() -> tuple[str, list[str]]:
    """(the start command, the quick start's lines) as the README has them."""
    text = (REPO_ROOT / "README.md").read_text()
    start = next(line.strip() for line in text.splitlines() if line.strip().startswith(f"{CARGO} serve"))
    after = text.split("In another shell:\n", 1)[1].lstrip("\n")
    lines = []
    for line in after.splitlines():
        if not line.startswith("    "):
            break
        lines.append(line.strip())
    assert lines and lines[0].startswith("eval"), lines
    return start, lines


def strip_comment(line: str) -> str:
    return re.sub(r"\s+#.*$", "", line)


def test_readme_quick_start_runs_as_written(tmp_path: Path) -> None:
    start, lines = readme_blocks()
    binary = shlex.quote(str(vaultlink_binary()))
    for port in (8780, 8743, 8781):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} (the README's default) is in use"

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AZURE_", "VAULTLINK_", "XDG_")) and k not in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    env["HOME"] = str(home)
    env["PATH"] = f"{Path(az_command()[0]).parent}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

    serve = strip_comment(start).replace(CARGO, binary)
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(["bash", "-c", f"exec {serve}"], stdout=subprocess.PIPE, stderr=log, text=True,
                            env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        seen = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.strip() == "vaultlink ready":
                break
        assert seen and seen[-1].strip() == "vaultlink ready", "".join(seen) + (tmp_path / "serve.log").read_text()

        script = "set -euo pipefail\n" + "\n".join(strip_comment(l).replace(CARGO, binary) for l in lines)
        script += "\naz keyvault secret show --vault-name myvault -n s1 --query value -o tsv\n"
        run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                             timeout=600, stdin=subprocess.DEVNULL)
        assert run.returncode == 0, f"README quick start failed:\n{script}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr[-4000:]}"
        assert run.stdout.strip().splitlines()[-1] == "v1", run.stdout
        assert (home / ".local" / "share" / "vaultlink").is_dir(), "the default data directory was not used"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
