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
        self.settings = ""
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

    def tls_only(self) -> Path:
        """From the next `start`: TLS with a certificate for 127.0.0.1 from a new CA of its own, and
        no connection over TCP in the clear (`hostssl` only). Returns the CA's PEM file."""
        ca, ca_key = self.dir / "ca.pem", self.dir / "ca.key"
        cert, key, csr, ext = (self.dir / n for n in ("server.crt", "server.key", "server.csr", "server.ext"))
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

        openssl("req", "-x509", *ec, "-subj", "/CN=vaultlink e2e database CA", "-days", "2",
                "-keyout", str(ca_key), "-out", str(ca))
        openssl("req", *ec, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr))
        ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
        openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
                "-days", "2", "-extfile", str(ext), "-out", str(cert))
        hba = self.dir / "pg_hba.conf"
        hba.write_text("local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
        for f in (cert, key, hba):
            f.chmod(0o600)
            if self.as_root:
                shutil.chown(f, "postgres")
        self.settings = f" -c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key} -c hba_file={hba}"
        return ca

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1{self.settings}"
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
