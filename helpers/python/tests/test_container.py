"""VaultlinkContainer without a container engine: construction, the environment it derives from
mapped ports, and its readiness check and CA fetch against a stand-in for the image's plain
HTTP listener. Starting a real container is NOT tested here (no engine on this machine)."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Iterator

import pytest
from testcontainers.core.wait_strategies import HttpWaitStrategy

from vaultlink_testing import DEV_CLIENT_ID, SUBSCRIPTION_ID, TENANT_ID, VaultlinkError
from vaultlink_testing.container import VaultlinkContainer, client_env

# An explicit API version: docker-py then does not ask a daemon for one at construction.
NO_DAEMON = {"docker_client_kw": {"version": "1.44"}}
FAKE_CA = b"-----BEGIN CERTIFICATE-----\nMIIBstand-in\n-----END CERTIFICATE-----\n"


def test_construction_follows_the_image_contract() -> None:
    c = VaultlinkContainer(**NO_DAEMON)
    assert c.image.endswith("vaultlink:latest")
    assert set(c.ports) == {"8780", "8743", "8781", "8753/tcp", "8753/udp"}
    assert all(host is None for host in c.ports.values()), "published on free host ports"
    assert c.volumes == {}
    strategy = c._wait_strategy
    assert isinstance(strategy, HttpWaitStrategy)
    assert (strategy._port, strategy._path, strategy._status_codes) == (
        8781, "/vaultlink/health", {200})
    assert not strategy._tls
    with pytest.raises(VaultlinkError, match="not started"):
        c.vaultlink_env


def test_image_and_data_dir_are_configurable(tmp_path: Path) -> None:
    c = VaultlinkContainer("registry.example/vaultlink:0.1.0", data_dir=tmp_path,
                           startup_timeout=5, **NO_DAEMON)
    assert c.image.endswith("registry.example/vaultlink:0.1.0")
    assert c.volumes == {str(tmp_path): {"bind": "/data", "mode": "rw"}}
    assert c._wait_strategy._startup_timeout == 5


def test_client_env_from_mapped_ports() -> None:
    env = client_env("10.0.0.7", {8780: 32770, 8743: 32771, 8781: 32772}, "/tmp/x/ca-bundle.pem")
    assert env == {
        "HTTPS_PROXY": "http://10.0.0.7:32770",
        "NO_PROXY": "localhost,127.0.0.1,10.0.0.7",
        "REQUESTS_CA_BUNDLE": "/tmp/x/ca-bundle.pem",
        "SSL_CERT_FILE": "/tmp/x/ca-bundle.pem",
        "NODE_EXTRA_CA_CERTS": "/tmp/x/ca-bundle.pem",
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "AZURE_TENANT_ID": TENANT_ID,
        "AZURE_CLIENT_ID": DEV_CLIENT_ID,
        "AZURE_CLIENT_SECRET": "vaultlink-dev-secret",
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION_ID,
    }
    assert client_env("localhost", {8780: 1, 8743: 2, 8781: 3}, "b")["NO_PROXY"] == \
        "localhost,127.0.0.1"


class StandIn(http.server.BaseHTTPRequestHandler):
    """The image's identity listener as the contract describes it: /vaultlink/health 503 until
    `ready` is set, then 200; /vaultlink/ca.pem the CA."""

    ready = threading.Event()
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        if self.path == "/vaultlink/health":
            status, body = (200, b"ok") if self.ready.is_set() else (503, b"starting")
        elif self.path == "/vaultlink/ca.pem":
            status, body = 200, FAKE_CA
        else:
            status, body = 404, b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[int]:
    StandIn.ready.clear()
    StandIn.seen.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def mapped_to(c: VaultlinkContainer, port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every container port 'mapped' to the stand-in (what Docker's port lookup would say)."""
    monkeypatch.setattr(c, "get_container_host_ip", lambda: "127.0.0.1")
    monkeypatch.setattr(c, "get_exposed_port", lambda p: {8780: 41000, 8743: 41001}.get(p, port))


def test_waits_for_health_then_builds_env(stand_in: int, monkeypatch: pytest.MonkeyPatch) -> None:
    c = VaultlinkContainer(**NO_DAEMON)
    mapped_to(c, stand_in, monkeypatch)
    c._wait_strategy.with_poll_interval(0.05)
    threading.Timer(0.3, StandIn.ready.set).start()
    c._wait_strategy.wait_until_ready(c)  # what DockerContainer.start() runs after `start`
    assert StandIn.ready.is_set()
    assert StandIn.seen.count("/vaultlink/health") >= 2, "it polled while the answer was 503"
    env = c.connect()
    assert StandIn.seen[-1] == "/vaultlink/ca.pem"
    assert env["HTTPS_PROXY"] == "http://127.0.0.1:41000"
    assert c.proxy_url == env["HTTPS_PROXY"] and c.vaultlink_env is env
    assert c.https_url == "https://127.0.0.1:41001"
    assert c.identity_url == f"http://127.0.0.1:{stand_in}"
    bundle = Path(env["REQUESTS_CA_BUNDLE"])
    assert bundle.read_bytes().startswith(FAKE_CA), "the image's CA first in the bundle"
    assert c.client_options() == {"proxies": {"https": "http://127.0.0.1:41000"},
                                  "connection_verify": str(bundle)}
    assert type(c.credential()).__name__ == "ClientSecretCredential"
    c.stop()  # no container was created: only the fetched CA to remove
    assert not bundle.exists(), "stop() removes the fetched CA"


def test_unhealthy_times_out(stand_in: int, monkeypatch: pytest.MonkeyPatch) -> None:
    c = VaultlinkContainer(startup_timeout=1, **NO_DAEMON)
    mapped_to(c, stand_in, monkeypatch)
    c._wait_strategy.with_poll_interval(0.05)
    with pytest.raises(TimeoutError, match="/vaultlink/health"):
        c._wait_strategy.wait_until_ready(c)


def test_a_ca_that_is_not_pem_is_refused(stand_in: int, monkeypatch: pytest.MonkeyPatch) -> None:
    c = VaultlinkContainer(**NO_DAEMON)
    mapped_to(c, stand_in, monkeypatch)
    monkeypatch.setattr(VaultlinkContainer, "_fetch", staticmethod(lambda url: b"<html>"))
    with pytest.raises(VaultlinkError, match="PEM"):
        c.connect()
