"""What bounds a connection (issue 16, item 2): idle and slow connections are closed, a
listener past its connection cap closes new connections instead of running out of file
descriptors, and the process raises its open-files limit. The server runs with a small cap and
a short request-head timeout (`--max-connections`, `--request-head-timeout`) so that the limits
show in seconds; the defaults are in ingress/limits.rs."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import Vaultlink

CAP = 16
HEAD_TIMEOUT = 2
TLS_HANDSHAKE_TIMEOUT = 10  # limits::TLS_HANDSHAKE_TIMEOUT


@pytest.fixture
def vl(request: pytest.FixtureRequest, tmp_path: Path):
    v = Vaultlink(tmp_path, extra_args=("--max-connections", str(CAP),
                                        "--request-head-timeout", str(HEAD_TIMEOUT)))
    v.start()
    request.node._vaultlink = v
    yield v
    v.close()


def addr(url: str) -> tuple[str, int]:
    host, port = url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
    return host, int(port)


def closed_after(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closed `sock` (it sends nothing); fails after `limit`."""
    sock.settimeout(limit)
    start = time.monotonic()
    try:
        data = sock.recv(1)
    except TimeoutError:
        pytest.fail(f"still open after {limit} s")
    except ConnectionResetError:
        data = b""
    assert data == b"", data
    return time.monotonic() - start


def token(vl: Vaultlink) -> int:
    host, port = addr(vl.identity_url)
    req = urllib.request.Request(
        f"http://{host}:{port}/metadata/identity/oauth2/token?api-version=2018-02-01"
        "&resource=https://vault.azure.net", headers={"Metadata": "true"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=10) as r:
        assert json.loads(r.read())["access_token"]
        return r.status


def test_idle_connections_are_closed(vl: Vaultlink) -> None:
    # Plain HTTP (the identity endpoint): no request head within the timeout.
    idle = socket.create_connection(addr(vl.identity_url))
    took = closed_after(idle, HEAD_TIMEOUT + 8)
    assert took >= HEAD_TIMEOUT - 0.5, took
    # A request head sent too slowly is cut off the same way.
    slow = socket.create_connection(addr(vl.identity_url))
    slow.sendall(b"GET /metadata/identity/oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    closed_after(slow, HEAD_TIMEOUT + 8)
    # TLS (the direct listener): a connection that never starts its handshake.
    silent = socket.create_connection(addr(vl.https_url))
    took = closed_after(silent, TLS_HANDSHAKE_TIMEOUT + 10)
    assert took >= min(HEAD_TIMEOUT, TLS_HANDSHAKE_TIMEOUT) - 0.5, took
    assert token(vl) == 200


def test_a_listener_past_its_cap_closes_new_connections(vl: Vaultlink) -> None:
    held = [socket.create_connection(addr(vl.identity_url)) for _ in range(CAP)]
    time.sleep(0.3)
    extra = socket.create_connection(addr(vl.identity_url))
    assert closed_after(extra, 3) < 2, "past the cap a connection is closed at once"
    # Other listeners have their own cap: the direct listener still answers.
    https = socket.create_connection(addr(vl.https_url))
    https.settimeout(0.5)
    with pytest.raises(TimeoutError):
        https.recv(1)
    https.close()
    # The idle ones time out, and there is room again.
    for s in held:
        closed_after(s, HEAD_TIMEOUT + 8)
    assert token(vl) == 200
    log = re.sub(r"\x1b\[[0-9;]*m", "", vl.log_path.read_text())
    assert "connection cap reached" in log and "max_connections=16" in log, log[-2000:]


def test_the_open_files_limit_is_raised_to_the_hard_limit(tmp_path: Path) -> None:
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard <= 512:
        pytest.fail(f"this machine's hard open-files limit ({hard}) leaves nothing to raise")
    # Started with a low soft limit (inherited), the server raises its own to the hard one.
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        v = Vaultlink(tmp_path)
        v.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        assert v.proc is not None
        limits = Path(f"/proc/{v.proc.pid}/limits").read_text()
        line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
        assert line.split()[3:5] == [str(hard), str(hard)], line
    finally:
        v.close()
