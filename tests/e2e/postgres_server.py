"""A PostgreSQL server of a test's own: Debian's `postgresql` package's `initdb` and `pg_ctl` in a
temporary directory, on a free port, as the `postgres` user when the tests run as root (the
server refuses to run as root). Without the server binaries the tests fail, saying what to
install: they never pass without a server."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: install Debian's "
                    "postgresql package (scripts/prerequisites does)", pytrace=False)
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """initdb'd on construction; `start`, `stop` (fast: connections end) and `close`."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        # Under /tmp itself: the `postgres` user cannot enter pytest's root-owned 0700 tmp dirs.
        self.dir = Path(tempfile.mkdtemp(prefix="vaultlink-pg-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres")
        self.port = _free_port()
        self.data = self.dir / "data"
        self._run("initdb", "-D", str(self.data), "-U", "vaultlink", "--auth=trust", "-E", "UTF8",
                  "--no-sync")

    @property
    def url(self) -> str:
        return f"postgres://vaultlink@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> str:
        cmd = [str(self.bin / tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.dir)
        assert p.returncode == 0, f"{tool} {args} failed: {p.stdout}{p.stderr}"
        return p.stdout.strip()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w",
                  "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def sql(self, query: str) -> str:
        """`psql`'s unaligned, tuples-only output of `query`."""
        return self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "vaultlink",
                         "-d", "postgres", "-XAtc", query)

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
            except AssertionError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
