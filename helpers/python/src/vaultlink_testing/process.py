"""`Vaultlink`: the vaultlink binary as a child process, on free ports, in a fresh data directory.

    with Vaultlink() as vl:                      # or vl = start(); ...; vl.stop()
        client = vl.secret_client("kv-test")     # creates the vault, then a SecretClient
        client.set_secret("s1", "v1")

The process is started as `vaultlink serve --data-dir DIR --proxy-listen 127.0.0.1:0 ...` (every
listener on port 0), its actual addresses are read from the lines it prints before
`vaultlink ready` and checked against DIR/endpoints.json, and the environment comes from
`vaultlink env --format json`. Leaving the `with` block (also through an exception) stops the
process (SIGTERM, then SIGKILL after `stop_timeout`), restores os.environ if `apply_env()` changed
it, and removes the temporary directory (a `data_dir` you passed is yours and is kept).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Sequence

from ._clients import Clients, VaultlinkError

# Variables of the caller's environment that must not steer the server itself.
_SCRUB = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
          "NO_PROXY", "no_proxy")
_LISTENERS = ("proxy", "https", "identity", "dns")


def find_binary(binary: str | os.PathLike[str] | None = None) -> Path:
    """The binary to run: `binary`, else $VAULTLINK_BIN, else `vaultlink` on PATH."""
    explicit = binary or os.environ.get("VAULTLINK_BIN")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise VaultlinkError(f"vaultlink binary not found at {path}")
        return path
    found = shutil.which("vaultlink")
    if not found:
        raise VaultlinkError(
            "no vaultlink binary: pass binary=..., set VAULTLINK_BIN, or put vaultlink on PATH "
            "(cargo install --locked --path crates/vaultlink)")
    return Path(found)


class Vaultlink(Clients):
    """One `vaultlink serve` process. `.env`, `.credential()`, `.secret_client(name)`,
    `.create_vault(name)`, `.arm(...)` and `.apply_env()` once started."""

    def __init__(self, binary: str | os.PathLike[str] | None = None,
                 data_dir: str | os.PathLike[str] | None = None, *,
                 args: Sequence[str] = (), ready_timeout: float = 30.0,
                 stop_timeout: float = 15.0):
        self.binary = find_binary(binary)
        self._own_dir: Path | None = None
        self._given_data_dir = Path(data_dir) if data_dir is not None else None
        self.args = tuple(args)
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.urls: dict[str, str] = {}
        self.dns_address: tuple[str, int] | None = None
        self.env: dict[str, str] = {}
        self.data_dir: Path | None = None
        self.workdir: Path | None = None
        self._saved_environ: dict[str, str | None] | None = None
        self._finalizer: weakref.finalize | None = None

    # -- addresses ------------------------------------------------------------------------------
    @property
    def vaultlink_env(self) -> dict[str, str]:
        if not self.env:
            raise VaultlinkError("not started")
        return self.env

    @property
    def https_url(self) -> str:
        return self.urls["https"]

    @property
    def identity_url(self) -> str:
        return self.urls["identity"]

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None, "not started"
        return self.workdir / "vaultlink.log"

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except (OSError, AssertionError):
            return ""
        return "\n".join(text[-lines:])

    # -- life -----------------------------------------------------------------------------------
    def __enter__(self) -> "Vaultlink":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> "Vaultlink":
        if self.proc is not None and self.proc.poll() is None:
            raise VaultlinkError("already running")
        self._own_dir = Path(tempfile.mkdtemp(prefix="vaultlink-testing-"))
        self.workdir = self._own_dir
        self.data_dir = self._given_data_dir or self._own_dir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._finalizer = weakref.finalize(self, _cleanup, None, self._own_dir)
        try:
            self._spawn()
            self._read_ready()
            self._check_endpoints()
            self.env = self._read_env()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self) -> None:
        listen = [arg for name in _LISTENERS for arg in (f"--{name}-listen", "127.0.0.1:0")]
        cmd = [str(self.binary), "serve", "--data-dir", str(self.data_dir), *listen, *self.args]
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log, text=True, bufsize=1, env=env,
                                         cwd=self.workdir)
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _cleanup, self.proc, self._own_dir)

    def _read_ready(self) -> None:
        lines: queue.Queue[str | None] = queue.Queue()
        proc = self.proc
        assert proc is not None and proc.stdout is not None

        def pump() -> None:
            for line in proc.stdout:  # type: ignore[union-attr]
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, name="vaultlink-stdout", daemon=True).start()
        deadline = time.monotonic() + self.ready_timeout
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise VaultlinkError(self._why(
                    f"no `vaultlink ready` within {self.ready_timeout:.0f} s")) from None
            if line is None:
                proc.wait(timeout=5)
                raise VaultlinkError(self._why(
                    f"vaultlink exited with code {proc.returncode} before `vaultlink ready`"))
            text = line.strip()
            if text == "vaultlink ready":
                break
            url = re.match(r"^(proxy|https|identity)\s+(\S+)$", text)
            if url:
                self.urls[url.group(1)] = url.group(2).rstrip("/")
            dns = re.match(r"^dns\s+(\S+):(\d+)$", text)
            if dns:
                self.dns_address = (dns.group(1), int(dns.group(2)))
        missing = {"proxy", "https", "identity"} - self.urls.keys()
        if missing:
            raise VaultlinkError(self._why(f"no address printed for {sorted(missing)}"))

    def _check_endpoints(self) -> None:
        path = self.data_dir / "endpoints.json"  # type: ignore[operator]
        doc = json.loads(path.read_text())
        written = {k: str(doc.get(k, "")).rstrip("/") for k in ("proxy", "https", "identity")}
        if written != self.urls:
            raise VaultlinkError(f"{path} says {written}, the server printed {self.urls}")

    def _read_env(self) -> dict[str, str]:
        out = subprocess.run(
            [str(self.binary), "env", "--format", "json", "--data-dir", str(self.data_dir)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise VaultlinkError(f"`vaultlink env` failed ({out.returncode}): {out.stderr.strip()}")
        env = json.loads(out.stdout)
        if env.get("HTTPS_PROXY") != self.urls["proxy"]:
            raise VaultlinkError(f"`vaultlink env` names proxy {env.get('HTTPS_PROXY')}, "
                                 f"the server printed {self.urls['proxy']}")
        return env

    def _why(self, what: str) -> str:
        return f"vaultlink failed to start: {what}\n--- its log ---\n{self.log_tail()}"

    def stop(self) -> int | None:
        """Stop the process (SIGTERM, SIGKILL after stop_timeout), restore os.environ and
        remove the temporary directory. Returns the exit code (None if it never ran)."""
        self.restore_env()
        code = None
        proc = self.proc
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            code = proc.returncode
        if self._finalizer is not None:
            self._finalizer()  # removes the temp dir (the process has ended)
            self._finalizer = None
        self._own_dir = None
        return code

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- os.environ -----------------------------------------------------------------------------
    def apply_env(self) -> dict[str, str]:
        """Put `vaultlink env`'s variables in os.environ (for code that builds its own clients
        from the environment, e.g. DefaultAzureCredential); stop() puts back what was there."""
        if not self.env:
            raise VaultlinkError("not started")
        if self._saved_environ is None:
            self._saved_environ = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        return self.env

    def restore_env(self) -> None:
        saved, self._saved_environ = self._saved_environ, None
        for key, value in (saved or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _cleanup(proc: subprocess.Popen[str] | None, own_dir: Path | None) -> None:
    """Also run at interpreter exit for an instance nobody stopped."""
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    if own_dir is not None:
        shutil.rmtree(own_dir, ignore_errors=True)


def start(binary: str | os.PathLike[str] | None = None,
          data_dir: str | os.PathLike[str] | None = None, **kwargs: Any) -> Vaultlink:
    """A started Vaultlink; call .stop() (or use `with Vaultlink(...)`)."""
    return Vaultlink(binary, data_dir, **kwargs).start()
