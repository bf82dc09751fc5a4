"""The container image (issue 20 part 1), built and run with Debian's podman, as root.

`scripts/image build` makes the static binary (`cargo install --locked --path crates/vaultlink`,
cached under $VAULTLINK_CACHE/image-target) and the image FROM scratch of ./Dockerfile. The
server container runs it as a user would (`podman run -v DIR:/data IMAGE`: every listener on
0.0.0.0, the data directory a volume); a client container, in a network namespace of its own on
podman's bridge, reaches it by a name (`--add-host vaultlink:IP`, as compose gives a service
name), fetches and trusts the CA in one line, and runs the seed's CLI tab with the real az
through `HTTPS_PROXY=http://vaultlink:8780`. Then the server container is replaced by a new one
on the same volume, and the state is still there. Last, both Testcontainers modules (Python and
Node) start the image through podman's Docker-compatible API and read back a secret.

The client container's root is this machine's own root filesystem under an overlay
(`--rootfs /:O`): that is where the venv's az and curl are, and no base image can be pulled.

Engine flags this machine needs, kept for any machine: `--runtime runc` (crun refuses hybrid
cgroup hierarchies, which this VM has) and `--ulimit` at or below the current limits (podman's
defaults raise them, which needs CAP_SYS_RESOURCE that this VM's root lacks).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import DEV_CLIENT_ID, DEV_CLIENT_SECRET, REPO_ROOT, SUBSCRIPTION_ID, TENANT_ID, az_command

PID = os.getpid()
IMAGE = f"localhost/vaultlink-e2e:{PID}"
RG, REGION, VAULT = "rg-image", "westeurope", f"kv-image-{PID % 100000}"
VNET, SUBNET, ZONE = "vnet-image", "snet-endpoints", "privatelink.vaultcore.azure.net"
PE, CONN = "pe-kv-image", "conn-kv-image"
VAULT_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"
TOOLS = ("podman", "runc", "curl", "file", "ldd")
TIMEOUT = 300


def _limits() -> list[str]:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    return ["--runtime", "runc", "--ulimit", f"nofile={nofile[0]}:{nofile[1]}", "--ulimit", "nproc=32768:32768"]


def podman(*args: str, check: bool = True, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"$ podman {' '.join(args)}\nrc={proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def image() -> Any:
    """The image, built from this checkout; removed at the end."""
    if os.geteuid() != 0:
        pytest.fail("test_image runs containers as root: run it as root (CI does)", pytrace=False)
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        pytest.fail(f"missing {' '.join(missing)}: run scripts/prerequisites (Debian packages podman, runc, curl, file)",
                    pytrace=False)
    started = time.monotonic()
    env = {**os.environ, "VAULTLINK_IMAGE_ENGINE": "podman"}
    proc = subprocess.run(["bash", str(REPO_ROOT / "scripts/image"), "build", IMAGE], capture_output=True,
                          text=True, timeout=3600, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"scripts/image build: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    print(f"scripts/image build: {time.monotonic() - started:.0f} s\n{proc.stderr}", file=sys.stderr)
    yield IMAGE
    podman("rmi", "-f", IMAGE, check=False)


class Server:
    """The server container: the image run as a user runs it, with `volume` as /data."""

    def __init__(self, volume: Path, name: str):
        self.volume, self.name, self.ip = volume, name, ""

    def start(self, image: str) -> None:
        podman("rm", "-f", self.name, check=False)
        podman("run", "-d", "--name", self.name, *_limits(), "-v", f"{self.volume}:/data",
               "-e", "VAULTLINK_ALLOWED_HOSTS=vaultlink", image)
        deadline = time.monotonic() + 30
        while "vaultlink ready" not in self.logs():
            assert podman("inspect", "-f", "{{.State.Running}}", self.name).stdout.strip() == "true", self.logs()
            assert time.monotonic() < deadline, f"no `vaultlink ready` in 30 s\n{self.logs()}"
            time.sleep(0.2)
        self.ip = podman("inspect", "-f", "{{.NetworkSettings.IPAddress}}", self.name).stdout.strip()
        assert self.ip, "the server container has no address on podman's bridge"

    def logs(self) -> str:
        p = podman("logs", self.name, check=False)
        return p.stdout + p.stderr

    def remove(self) -> None:
        podman("rm", "-f", "-t", "10", self.name, check=False)


class Client:
    """A client container on podman's bridge (a network namespace of its own), this machine's
    root filesystem under an overlay, the server named `vaultlink`, az's profile in `config`."""

    def __init__(self, server: Server, config: Path, name: str):
        self.name = name
        venv = Path(sys.executable).parent.parent
        podman("rm", "-f", name, check=False)
        # `--rootfs` makes the positional argument a directory in place of an image: options first.
        podman("run", "-d", "--name", name, *_limits(), "--add-host", f"vaultlink:{server.ip}",
               "-v", f"{config}:/az", "-v", f"{venv}:{venv}:ro", "--rootfs", "/:O", "sleep", "3600")

    def sh(self, script: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        flags = [x for k, v in (env or {}).items() for x in ("-e", f"{k}={v}")]
        proc = podman("exec", *flags, self.name, "bash", "-c", script, check=False)
        if check:
            assert proc.returncode == 0, f"in the client container: {script}\nrc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def az(self, *args: str) -> Any:
        env = {
            "HTTPS_PROXY": "http://vaultlink:8780",
            "REQUESTS_CA_BUNDLE": "/az/bundle.pem", "SSL_CERT_FILE": "/az/bundle.pem",
            "AZURE_CONFIG_DIR": "/az/config", "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
        }
        flags = [x for k, v in env.items() for x in ("-e", f"{k}={v}")]
        proc = podman("exec", *flags, self.name, *az_command(), *args, "-o", "json")
        return json.loads(proc.stdout) if proc.stdout.strip() else None



@pytest.fixture(scope="module")
def running(image: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("image")
    (tmp / "data").mkdir()
    (tmp / "az").mkdir()
    server = Server(tmp / "data", f"vl-e2e-{PID}-server")
    clients: list[str] = []

    def client() -> Client:
        # Named before it is made, so that one whose start failed half-way is removed too.
        clients.append(f"vl-e2e-{PID}-client{len(clients)}")
        return Client(server, tmp / "az", clients[-1])

    try:
        server.start(image)
        yield server, client
    finally:
        for name in clients:
            podman("rm", "-f", "-t", "0", name, check=False)
        server.remove()


def test_the_image_is_one_layer_from_scratch_with_its_contract(image: str) -> None:
    info = json.loads(podman("image", "inspect", image).stdout)[0]
    assert len(info["RootFS"]["Layers"]) == 1, info["RootFS"]  # FROM scratch: only our rootfs
    config = info["Config"]
    assert config["Entrypoint"] == ["/vaultlink", "serve"]
    assert set(config["ExposedPorts"]) == {"8780/tcp", "8743/tcp", "8781/tcp", "8753/tcp", "8753/udp"}
    assert "/data" in config["Volumes"]
    env = dict(e.split("=", 1) for e in config["Env"])
    for var, port in [("PROXY", 8780), ("HTTPS", 8743), ("IDENTITY", 8781), ("DNS", 8753)]:
        assert env[f"VAULTLINK_{var}_LISTEN"] == f"0.0.0.0:{port}"
    assert env["VAULTLINK_DATA_DIR"] == "/data"
    assert info["Healthcheck"]["Test"] == ["CMD", "/vaultlink", "health"]


@pytest.mark.incremental
class TestImage:
    def test_01_health_and_healthcheck(self, running: Any) -> None:
        server, client = running
        c = client()
        out = c.sh("curl -fsS http://vaultlink:8781/vaultlink/health").stdout
        assert json.loads(out)["status"] == "ready", out
        # The image's HEALTHCHECK: `vaultlink health` inside the scratch container.
        check = podman("healthcheck", "run", server.name, check=False)
        assert check.returncode == 0, (check.stdout, check.stderr, server.logs())

    def test_02_client_trusts_the_ca_in_one_line(self, running: Any) -> None:
        server, client = running
        from cryptography import x509

        c = client()
        c.sh("curl -fsS http://vaultlink:8781/vaultlink/ca.pem > /az/ca.pem && "
             "cat /az/ca.pem /etc/ssl/certs/ca-certificates.crt > /az/bundle.pem")
        pem = (server.volume.parent / "az" / "ca.pem").read_bytes()
        assert pem == (server.volume / "ca.pem").read_bytes()
        assert x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(
            x509.BasicConstraints).value.ca is True

    def test_03_seed_cli_tab_through_the_proxy(self, running: Any) -> None:
        _, client = running
        c = client()
        subs = c.az("login", "--service-principal", "-u", DEV_CLIENT_ID, "-p", DEV_CLIENT_SECRET,
                    "--tenant", TENANT_ID)
        assert [s["id"] for s in subs] == [SUBSCRIPTION_ID], subs
        c.az("provider", "register", "-n", "Microsoft.KeyVault")
        assert c.az("group", "create", "-n", RG, "-l", REGION)["properties"]["provisioningState"] == "Succeeded"
        vault = c.az("keyvault", "create", "-n", VAULT, "-g", RG, "-l", REGION)
        assert vault["properties"]["vaultUri"].rstrip("/") == f"https://{VAULT}.vault.azure.net"
        c.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "s1", "--value", "from-a-container")
        assert c.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")["value"] == "from-a-container"

    def test_04_private_endpoint_steps(self, running: Any) -> None:
        _, client = running
        c = client()
        c.az("network", "vnet", "create", "-g", RG, "-n", VNET, "--location", REGION)
        c.az("network", "vnet", "subnet", "create", "-g", RG, "--vnet-name", VNET, "--name", SUBNET,
             "--address-prefixes", "10.0.0.0/24")
        c.az("network", "private-dns", "zone", "create", "-g", RG, "--name", ZONE)
        c.az("network", "private-dns", "link", "vnet", "create", "-g", RG, "--virtual-network", VNET,
             "--zone-name", ZONE, "--name", "link-vnet", "--registration-enabled", "true")
        pe = c.az("network", "private-endpoint", "create", "-g", RG, "--vnet-name", VNET, "--subnet", SUBNET,
                  "--name", PE, "--private-connection-resource-id", VAULT_ID, "--group-ids", "vault",
                  "--connection-name", CONN, "--location", REGION)
        assert pe["privateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]["status"] == "Approved"
        conns = c.az("keyvault", "show", "-n", VAULT, "-g", RG)["properties"]["privateEndpointConnections"]
        assert [x["privateLinkServiceConnectionState"]["status"] for x in conns] == ["Approved"], conns

    def test_05_the_volume_outlives_the_container(self, running: Any, image: str) -> None:
        server, client = running
        server.remove()
        server.start(image)  # a new container (and address) on the same /data
        c = client()  # az's profile (and its tokens) kept in /az
        assert c.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")["value"] == "from-a-container"
        pe = c.az("network", "private-endpoint", "show", "-g", RG, "-n", PE)
        assert pe["privateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]["status"] == "Approved"

    def test_06_what_a_client_container_reaches_by_name_and_address(self, running: Any) -> None:
        """The managed identity endpoint answers the name the server allows
        (`VAULTLINK_ALLOWED_HOSTS=vaultlink`) and its address; the direct listener does not
        verify from another container, by name or address: the CA certifies only the Azure
        names, localhost and loopback (docs/container.md says to use the proxy)."""
        server, client = running
        c = client()
        imds = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net"
        for host in ("vaultlink", server.ip):
            out = c.sh(f"curl -fsS -H 'Metadata: true' 'http://{host}:8781{imds}'").stdout
            assert json.loads(out)["token_type"] == "Bearer", out
            direct = c.sh(f"curl -sS --cacert /az/ca.pem https://{host}:8743/metadata/endpoints", check=False)
            assert direct.returncode in (35, 60), (host, direct.returncode, direct.stdout, direct.stderr)


# ---------------------------------------------------------------------------------------------
# The Testcontainers modules (helpers/python, helpers/node) against this machine's engine, through
# podman's Docker-compatible API: what a user's test suite does with `docker` on a laptop or CI.

def _engine_conf(path: Path) -> Path:
    """containers.conf for the API service: the flags `_limits()` gives `podman run`, as the
    engine's defaults (the modules create containers through the API, not with those flags)."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    path.write_text('[containers]\n'
                    f'default_ulimits = ["nofile={nofile[0]}:{nofile[1]}", "nproc=32768:32768"]\n\n'
                    '[engine]\nruntime = "runc"\n')
    return path


@pytest.fixture(scope="module")
def docker_api(image: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`podman system service` on a socket of its own; yields the environment the Testcontainers
    libraries read: DOCKER_HOST, no Ryuk (its image cannot be pulled here) and the engine host
    taken from DOCKER_HOST (the sandbox looks like a container to the Python library, which would
    then ask for a gateway address podman's API does not give)."""
    tmp = tmp_path_factory.mktemp("docker-api")
    sock = tmp / "podman.sock"
    log = (tmp / "service.log").open("w")
    service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{sock}"],
                               env={**os.environ, "CONTAINERS_CONF": str(_engine_conf(tmp / "containers.conf"))},
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            ping = subprocess.run(["curl", "-fsS", "--unix-socket", str(sock), "http://d/_ping"],
                                  capture_output=True, text=True)
            if ping.returncode == 0 and ping.stdout.strip() == "OK":
                break
            assert service.poll() is None, f"podman system service exited\n{(tmp / 'service.log').read_text()}"
            assert time.monotonic() < deadline, f"no Docker API on {sock} in 30 s"
            time.sleep(0.2)
        yield {"DOCKER_HOST": f"unix://{sock}", "TESTCONTAINERS_RYUK_DISABLED": "true",
               "TESTCONTAINERS_CONNECTION_MODE": "docker_host"}
    finally:
        service.terminate()
        try:
            service.wait(timeout=20)
        except subprocess.TimeoutExpired:
            service.kill()
        log.close()


def _leftovers() -> list[str]:
    """Containers of our image still there (a module that does not stop what it started)."""
    out = podman("ps", "-a", "--filter", f"ancestor={IMAGE}", "--format", "{{.Names}}").stdout
    return [n for n in out.split() if not n.startswith(f"vl-e2e-{PID}-")]


def _run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    scrub = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
             "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "AZURE_CONFIG_DIR")
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL,
                          env={**{k: v for k, v in os.environ.items() if k not in scrub}, **env})
    assert proc.returncode == 0, f"$ {' '.join(argv)}\nrc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


PY_MODULE = """
import sys
from vaultlink_testing.container import VaultlinkContainer

with VaultlinkContainer(image=sys.argv[1]) as vl:
    client = vl.secret_client(sys.argv[2])          # creates the vault through ARM
    client.set_secret("tc", "from-testcontainers-python")
    print(client.get_secret("tc").value)
    print(vl.vaultlink_env["HTTPS_PROXY"])
"""

NODE_MODULE = """
import { VaultlinkContainer } from "vaultlink-testing/container";

const [image, vault] = process.argv.slice(2);
const vl = await new VaultlinkContainer(image).start();
try {
  const client = await vl.secretClient(vault);      // creates the vault through ARM
  await client.setSecret("tc", "from-testcontainers-node");
  console.log((await client.getSecret("tc")).value);
  console.log(vl.env.HTTPS_PROXY);
} finally {
  await vl.stop();
}
"""


def _proxy_port(line: str) -> int:
    assert line.startswith("http://") and line.count(":") == 2, line
    return int(line.rsplit(":", 1)[1])


def test_python_testcontainers_module(docker_api: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "tc.py"
    script.write_text(PY_MODULE)
    out = _run([sys.executable, str(script), IMAGE, f"kvtcpy{PID % 100000}"],
               {**docker_api, "PYTHONPATH": str(REPO_ROOT / "helpers" / "python" / "src")}).splitlines()
    assert out[0] == "from-testcontainers-python", out
    assert _proxy_port(out[1]) not in (0, 8780), out  # a published host port, not the container's
    assert _leftovers() == []


def test_node_testcontainers_module(docker_api: dict[str, str], tmp_path: Path) -> None:
    for tool in ("node", "npm"):
        assert shutil.which(tool), f"{tool} not on PATH (the machine's Node.js 20 and npm)"
    work = tmp_path / "node"  # helpers/node, copied so node_modules never lands in the source tree
    shutil.copytree(REPO_ROOT / "helpers" / "node", work, ignore=shutil.ignore_patterns("node_modules"))
    cache = Path(os.environ.get("VAULTLINK_CACHE", Path.home() / ".cache" / "vaultlink")) / "npm"
    _run(["npm", "ci", "--cache", str(cache), "--no-audit", "--no-fund"], {}, cwd=work)
    (work / "tc.mjs").write_text(NODE_MODULE)
    # tc.mjs imports the package by its name (Node resolves a package's own name through its
    # "exports"), as a user's test would import it.
    out = _run(["node", "tc.mjs", IMAGE, f"kvtcnode{PID % 100000}"], docker_api, cwd=work).splitlines()
    assert out[0] == "from-testcontainers-node", out
    assert _proxy_port(out[1]) not in (0, 8780), out
    assert _leftovers() == []
