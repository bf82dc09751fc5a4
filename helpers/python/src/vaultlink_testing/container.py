"""A Testcontainers module for the vaultlink image (needs `pip install vaultlink-testing[container]`).

    from vaultlink_testing.container import VaultlinkContainer

    with VaultlinkContainer() as vl:             # image vaultlink:latest unless told otherwise
        client = vl.secret_client("kv-test")     # same clients as the process helper
        subprocess.run([...], env={**os.environ, **vl.vaultlink_env})

The image's contract: inside the container the proxy listens on 0.0.0.0:8780, the direct HTTPS
listener on 8743, the identity / plain HTTP listener on 8781 (which serves the CA at
`/vaultlink/ca.pem` and answers `/vaultlink/health` with 200 once ready) and DNS on 8753 (UDP
and TCP); the data directory is the volume `/data`. The container is started with those ports
published on free host ports, waited for with an HTTP wait strategy on `/vaultlink/health`, and
then the CA is fetched and the client environment built from the mapped ports
(`vaultlink_env`; `.env` stays Testcontainers' environment *of* the container).

Its own tests cover construction, the readiness check, the CA fetch and the environment against
a stand-in HTTP server; the e2e suite (`tests/e2e/test_image.py`) starts the real image with it
through podman's Docker-compatible API and reads back a secret.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, Mapping

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

from ._clients import Clients, VaultlinkError
from .seed import DEV_CLIENT_ID, DEV_CLIENT_SECRET, SUBSCRIPTION_ID, TENANT_ID

DEFAULT_IMAGE = "vaultlink:latest"
PROXY_PORT = 8780
HTTPS_PORT = 8743
IDENTITY_PORT = 8781
DNS_PORT = 8753
DATA_VOLUME = "/data"
HEALTH_PATH = "/vaultlink/health"
CA_PATH = "/vaultlink/ca.pem"


def client_env(host: str, ports: Mapping[int, int], ca_bundle: str) -> dict[str, str]:
    """The variables `vaultlink env` would print for a vaultlink reached at `host` with the
    container ports mapped as `ports` (container port -> host port)."""
    no_proxy = ["localhost", "127.0.0.1"] + ([host] if host not in ("localhost", "127.0.0.1")
                                             else [])
    return {
        "HTTPS_PROXY": f"http://{host}:{ports[PROXY_PORT]}",
        "NO_PROXY": ",".join(no_proxy),
        "REQUESTS_CA_BUNDLE": ca_bundle,
        "SSL_CERT_FILE": ca_bundle,
        "NODE_EXTRA_CA_CERTS": ca_bundle,
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "AZURE_TENANT_ID": TENANT_ID,
        "AZURE_CLIENT_ID": DEV_CLIENT_ID,
        "AZURE_CLIENT_SECRET": DEV_CLIENT_SECRET,
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION_ID,
    }


class VaultlinkContainer(Clients, DockerContainer):
    """vaultlink in a container; `.vaultlink_env`, `.credential()`, `.secret_client(name)`,
    `.create_vault(name)` once started, plus the mapped addresses (`proxy_url`, `https_url`,
    `identity_url`, `dns_address`)."""

    def __init__(self, image: str = DEFAULT_IMAGE, *, data_dir: str | os.PathLike[str] | None = None,
                 startup_timeout: float = 60.0, **kwargs: Any):
        super().__init__(image, **kwargs)
        self.with_exposed_ports(PROXY_PORT, HTTPS_PORT, IDENTITY_PORT, f"{DNS_PORT}/tcp",
                                f"{DNS_PORT}/udp")
        if data_dir is not None:
            self.with_volume_mapping(str(data_dir), DATA_VOLUME, "rw")
        self.waiting_for(HttpWaitStrategy(IDENTITY_PORT, HEALTH_PATH)
                         .with_startup_timeout(int(startup_timeout)))
        self._client_env: dict[str, str] = {}
        self._ca_dir: tempfile.TemporaryDirectory[str] | None = None

    # -- life -----------------------------------------------------------------------------------
    def start(self) -> "VaultlinkContainer":
        super().start()
        try:
            self.connect()
        except BaseException:
            self.stop()
            raise
        return self

    def connect(self) -> dict[str, str]:
        """After the wait strategy: fetch the CA and build `vaultlink_env` from the mapped
        ports (start() calls it)."""
        host = self.get_container_host_ip()
        ports = {p: int(self.get_exposed_port(p)) for p in (PROXY_PORT, HTTPS_PORT, IDENTITY_PORT)}
        ca = self._fetch(f"http://{host}:{ports[IDENTITY_PORT]}{CA_PATH}")
        if b"BEGIN CERTIFICATE" not in ca:
            raise VaultlinkError(f"{CA_PATH} did not return a PEM certificate")
        self._ca_dir = tempfile.TemporaryDirectory(prefix="vaultlink-container-ca-")
        bundle = Path(self._ca_dir.name) / "ca-bundle.pem"
        bundle.write_bytes(ca + b"\n" + _system_roots())
        self._host, self._ports = host, ports
        self._client_env = client_env(host, ports, str(bundle))
        return self._client_env

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        try:
            super().stop(force=force, delete_volume=delete_volume)
        finally:
            if self._ca_dir is not None:
                self._ca_dir.cleanup()
                self._ca_dir = None
            self._client_env = {}

    @staticmethod
    def _fetch(url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=10) as response:  # plain HTTP, the image's contract
            return response.read()

    # -- what the clients read ------------------------------------------------------------------
    @property
    def vaultlink_env(self) -> dict[str, str]:
        if not self._client_env:
            raise VaultlinkError("the container is not started")
        return self._client_env

    @property
    def https_url(self) -> str:
        return f"https://{self._host}:{self._ports[HTTPS_PORT]}"

    @property
    def identity_url(self) -> str:
        return f"http://{self._host}:{self._ports[IDENTITY_PORT]}"

    @property
    def dns_address(self) -> tuple[str, int]:
        return self.get_container_host_ip(), int(self.get_exposed_port(f"{DNS_PORT}/udp"))


def _system_roots() -> bytes:
    """The system's CA file, so the bundle trusts what it trusted before (as `vaultlink env`'s
    bundle does); empty when there is none."""
    cafile = ssl.get_default_verify_paths().cafile
    try:
        return Path(cafile).read_bytes() if cafile else b""
    except OSError:
        return b""
