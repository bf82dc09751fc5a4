"""A shared server for a team (issue 21, item 4): `vaultlink serve --shared` with a certificate
from the team's own CA, listening on every interface.

- Every HTTP listener speaks TLS: the proxy (`HTTPS_PROXY=https://...`: curl and az reach the
  emulated hosts through it, plain HTTP to it fails), the identity endpoint, and the direct
  listener, which shows the team's certificate under the server's own name and the local CA's
  leaves under the Azure names.
- The admin API (`/vaultlink/admin/`) answers only with the admin key; `vaultlink tenant add`,
  `subscription add`, `quota set|show`, `seed` and `reset --server` go through it.
- One tenant per team: team B's administrator sees nothing of team A's subscription or vault.
- Quotas per tenant: a vault and a secret past the quota are refused with QuotaExceeded (az),
  requests past the tenant's budget answer 429 until the window ends.
- Managed-identity tokens only with the identity's tenant's X-IDENTITY-HEADER (azure-identity's
  App Service flow), never to a caller without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import TENANT_ID, Vaultlink
from dp_fixtures import ARM_SCOPE, Dp, error_of, jwt_claims

SERVER_NAME = "vaultlink.test"
API = "api-version=2022-12-01"


def openssl(*args: str, cwd: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the team's test CA (Debian package openssl)")
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def team_ca(dir: Path) -> tuple[Path, Path, Path]:
    """A team CA and a server certificate it issued for 127.0.0.1 and SERVER_NAME."""
    dir.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=team test CA", cwd=dir)
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={SERVER_NAME}",
            cwd=dir)
    (dir / "ext").write_text(f"subjectAltName=IP:127.0.0.1,DNS:{SERVER_NAME}\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext", cwd=dir)
    os.chmod(dir / "server.key", 0o600)
    return dir / "ca.pem", dir / "server.pem", dir / "server.key"


class Shared:
    def __init__(self, vl: Vaultlink, team_ca: Path):
        self.vl = vl
        self.team_ca = team_ca
        self.key_file = vl.data_dir / "admin.key"
        # What a team's machine trusts: the team's CA (the listeners) and vaultlink's (the
        # emulated hosts inside the proxy's tunnels).
        self.bundle = vl.workdir / "team-bundle.pem"
        self.bundle.write_text(Path(vl.exports["REQUESTS_CA_BUNDLE"]).read_text() + team_ca.read_text())
        self.server = vl.https_url

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.vl.run_vaultlink(*args, "--server", self.server, "--admin-key-file", str(self.key_file),
                                     "--server-ca", str(self.team_ca), check=check)

    def cli_json(self, *args: str) -> dict:
        return json.loads(self.cli(*args).stdout)

    def curl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["curl", "-sS", "-m", "20", *args], capture_output=True, text=True)

    def profile(self, name: str) -> dict[str, str]:
        env = dict(self.vl.env)
        env.update({"AZURE_CONFIG_DIR": str(self.vl.workdir / f"azure-config-{name}"),
                    "REQUESTS_CA_BUNDLE": str(self.bundle), "SSL_CERT_FILE": str(self.bundle)})
        return env


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("shared_server")
    ca, cert, key = team_ca(tmp / "team-ca")
    vl = Vaultlink(tmp, extra_args=("--shared", "--tls-cert", str(cert), "--tls-key", str(key)))
    vl._listen.update({"proxy": "0.0.0.0:0", "https": "0.0.0.0:0", "identity": "0.0.0.0:0"})
    vl.start()
    yield Shared(vl, ca)
    vl.close()


def test_every_http_listener_speaks_tls_with_the_teams_certificate(shared: Shared) -> None:
    vl = shared.vl
    assert vl.proxy_url.startswith("https://") and vl.identity_url.startswith("https://"), vl.urls
    assert vl.exports["HTTPS_PROXY"] == vl.proxy_url
    arm = f"https://management.azure.com/subscriptions?{API}"
    # The proxy over TLS: the CONNECT reaches Resource Manager (401: no token sent).
    r = shared.curl("-o", "/dev/null", "-w", "%{http_code}", "--proxy", vl.proxy_url,
                    "--proxy-cacert", str(shared.team_ca), "--cacert", vl.exports["REQUESTS_CA_BUNDLE"], arm)
    assert r.stdout == "401", (r.stdout, r.stderr)
    # Plain HTTP to the proxy gets no CONNECT answered.
    plain = vl.proxy_url.replace("https://", "http://")
    r = shared.curl("-o", "/dev/null", "-w", "%{http_code}", "--proxy", plain,
                    "--cacert", vl.exports["REQUESTS_CA_BUNDLE"], arm)
    assert r.returncode != 0 and r.stdout in ("000", ""), (r.returncode, r.stdout, r.stderr)
    # The identity endpoint: TLS with the team's certificate; plain HTTP is no answer.
    r = shared.curl("--cacert", str(shared.team_ca), f"{vl.identity_url}/vaultlink/health")
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "ready", (r.stdout, r.stderr)
    r = shared.curl(vl.identity_url.replace("https://", "http://") + "/vaultlink/health")
    assert r.returncode != 0, r.stdout
    # The direct listener: the team's certificate under the server's name (its CA verifies it,
    # and the name is one the listener answers to), the local CA's leaf under an Azure name.
    port = vl.https_port
    r = shared.curl("--cacert", str(shared.team_ca), "--resolve", f"{SERVER_NAME}:{port}:127.0.0.1",
                    "-o", "/dev/null", "-w", "%{http_code}", f"https://{SERVER_NAME}:{port}/subscriptions?{API}")
    assert r.stdout == "401", (r.stdout, r.stderr)
    r = shared.curl("--cacert", str(vl.data_dir / "ca.pem"), "--resolve", f"management.azure.com:{port}:127.0.0.1",
                    "-o", "/dev/null", "-w", "%{http_code}", f"https://management.azure.com:{port}/subscriptions?{API}")
    assert r.stdout == "401", (r.stdout, r.stderr)
    # `vaultlink health` (a container's HEALTHCHECK) probes the identity listener over TLS.
    assert "ready" in vl.run_vaultlink("health", "--data-dir", str(vl.data_dir)).stdout


def test_the_admin_api_answers_only_with_the_admin_key(shared: Shared) -> None:
    url = f"{shared.server}/vaultlink/admin/tenants"
    s = requests.Session()
    s.trust_env = False
    s.verify = str(shared.team_ca)
    r = s.get(url, timeout=20)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer"), r.text
    assert error_of(r)["code"] == "Unauthorized"
    r = s.get(url, headers={"Authorization": "Bearer " + "x" * 43}, timeout=20)
    assert r.status_code == 401, r.text
    key = shared.key_file.read_text().strip()
    assert oct(shared.key_file.stat().st_mode & 0o777) == "0o600"
    r = s.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=20)
    assert r.status_code == 200, r.text
    assert [t["tenantId"] for t in r.json()] == [TENANT_ID], r.json()
    # A change with the wrong key changes nothing.
    r = s.post(f"{shared.server}/vaultlink/admin/reset", headers={"Authorization": "Bearer nope"}, timeout=20)
    assert r.status_code == 401
    # The key never appears in the server's log.
    assert key not in vl_log(shared.vl)
    # Without the key file the command says what it needs, and sends nothing.
    r = shared.vl.run_vaultlink("tenant", "add", "nokey", "--server", shared.server, check=False)
    assert r.returncode != 0 and "--admin-key-file" in r.stderr, r.stderr


def vl_log(vl: Vaultlink) -> str:
    return vl.log_path.read_text() + vl.stdout_path.read_text()


class Team:
    def __init__(self, shared: Shared, name: str):
        self.added = shared.cli_json("tenant", "add", name)
        self.tenant = self.added["tenantId"]
        self.sub = shared.cli_json("subscription", "add", f"sub-{name}", "--tenant", name)["subscriptionId"]
        self.env = shared.profile(name)
        self.vl = shared.vl
        admin = self.added["admin"]
        self.az("login", "--service-principal", "-u", admin["appId"], f"--password={admin['secret']}",
                "--tenant", self.tenant)
        self.az("account", "set", "--subscription", self.sub)

    def az(self, *args: str, check: bool = True):
        return self.vl.az(*args, check=check, env=self.env)


@pytest.fixture(scope="module")
def teams(shared: Shared) -> dict[str, Team]:
    return {name: Team(shared, name) for name in ("teama", "teamb")}


def test_each_team_has_a_tenant_of_its_own_and_sees_nothing_of_the_others(shared: Shared, teams) -> None:
    a, b = teams["teama"], teams["teamb"]
    assert a.added["identityHeader"] and a.added["identityHeader"] != b.added["identityHeader"]
    # az works through the TLS proxy with the team's bundle.
    assert [s["id"] for s in a.az("account", "list")] == [a.sub]
    a.az("provider", "register", "-n", "Microsoft.KeyVault")
    a.az("group", "create", "-n", "rg-a", "-l", "westeurope")
    vault = a.az("keyvault", "create", "-n", "kv-team-a", "-g", "rg-a", "-l", "westeurope")
    assert vault["properties"]["tenantId"] == a.tenant, vault
    a.az("role", "assignment", "create", "--assignee-object-id", a.added["admin"]["objectId"],
         "--assignee-principal-type", "ServicePrincipal", "--role", "Key Vault Secrets Officer",
         "--scope", vault["id"])
    assert a.az("keyvault", "secret", "set", "--vault-name", "kv-team-a", "-n", "s1", "--value", "team-a-only")["value"] == "team-a-only"
    assert [s["id"] for s in b.az("account", "list")] == [b.sub]
    assert b.az("keyvault", "list") == []
    r = b.az("resource", "show", "--ids", vault["id"], check=False)
    assert r.rc != 0 and "InvalidAuthenticationTokenTenant" in r.stderr, r.describe()
    r = b.az("keyvault", "secret", "show", "--vault-name", "kv-team-a", "-n", "s1", check=False)
    assert r.rc != 0 and "team-a-only" not in r.stdout, r.describe()


def test_a_tenants_quota_refuses_vaults_and_secrets_past_it(shared: Shared, teams) -> None:
    a = teams["teama"]
    shown = shared.cli_json("quota", "set", "teama", "--vaults", "1", "--secrets", "2")
    assert shown["quota"] == {"vaults": 1, "secrets": 2} and shown["usage"] == {"vaults": 1, "secrets": 1}, shown
    r = a.az("keyvault", "create", "-n", "kv-team-a2", "-g", "rg-a", "-l", "westeurope", check=False)
    assert r.rc != 0 and "QuotaExceeded" in r.stderr and "Current Limit: 1" in r.stderr, r.describe()
    a.az("keyvault", "secret", "set", "--vault-name", "kv-team-a", "-n", "s2", "--value", "v")
    # A new version of a secret the tenant holds is no new secret.
    a.az("keyvault", "secret", "set", "--vault-name", "kv-team-a", "-n", "s1", "--value", "v2")
    r = a.az("keyvault", "secret", "set", "--vault-name", "kv-team-a", "-n", "s3", "--value", "v", check=False)
    assert r.rc != 0 and "QuotaExceeded" in r.stderr, r.describe()
    assert a.az("keyvault", "secret", "list", "--vault-name", "kv-team-a", "--query", "[].name") == ["s1", "s2"]
    # Another team is not bound by it.
    teams["teamb"].az("group", "create", "-n", "rg-b", "-l", "westeurope")
    shown = shared.cli_json("quota", "show", "teama")
    assert shown["usage"] == {"vaults": 1, "secrets": 2}, shown


def test_requests_past_a_tenants_budget_answer_429_until_the_window_ends(shared: Shared, teams) -> None:
    b = teams["teamb"]
    admin = b.added["admin"]
    dp = Dp(shared.vl)
    dp.session.verify = str(shared.bundle)
    token = dp.token(ARM_SCOPE, client_id=admin["appId"], secret=admin["secret"], tenant=b.tenant)
    shared.cli_json("quota", "set", "teamb", "--requests-per-10s", "5")
    url = f"https://management.azure.com/subscriptions/{b.sub}/resourcegroups?{API}"
    started = time.monotonic()
    statuses = [dp.request("GET", url, token=token, api_version=None).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2, statuses
    r = dp.request("GET", url, token=token, api_version=None)
    assert r.status_code == 429 and error_of(r)["code"] == "Throttled", r.text
    # Team A's callers have their own budget (none).
    a = teams["teama"]
    assert a.az("group", "show", "-n", "rg-a")["name"] == "rg-a"
    time.sleep(max(0.0, 10.5 - (time.monotonic() - started)))
    assert dp.request("GET", url, token=token, api_version=None).status_code == 200
    shared.cli_json("quota", "set", "teamb")


IDENTITY_CLIENT = """
import os, sys
from azure.identity import ManagedIdentityCredential
try:
    token = ManagedIdentityCredential().get_token("https://vault.azure.net/.default").token
    print(token)
except Exception as e:
    print("REFUSED", type(e).__name__, e)
"""


def test_managed_identity_tokens_need_the_tenants_identity_header(shared: Shared) -> None:
    vl = shared.vl
    tenants = requests.get(f"{shared.server}/vaultlink/admin/tenants", verify=str(shared.team_ca), timeout=20,
                           headers={"Authorization": f"Bearer {shared.key_file.read_text().strip()}"}).json()
    header = next(t["identityHeader"] for t in tenants if t["tenantId"] == TENANT_ID)
    other = next(t["identityHeader"] for t in tenants if t["tenantId"] != TENANT_ID)

    def credential(identity_header: str) -> str:
        env = dict(vl.env)
        env.update({"IDENTITY_ENDPOINT": f"{vl.identity_url}/msi/token", "IDENTITY_HEADER": identity_header,
                    "REQUESTS_CA_BUNDLE": str(shared.bundle), "SSL_CERT_FILE": str(shared.bundle)})
        r = subprocess.run([sys.executable, "-c", IDENTITY_CLIENT], capture_output=True, text=True, env=env,
                           timeout=60)
        return r.stdout.strip() + r.stderr

    token = credential(header)
    assert not token.startswith("REFUSED"), token
    claims = jwt_claims(token)
    assert claims["tid"] == TENANT_ID and claims["aud"].rstrip("/") == "https://vault.azure.net", claims
    refused = credential(other)
    assert refused.startswith("REFUSED"), refused
    # IMDS's form (no header) is refused too, whether or not the identity exists.
    s = requests.Session()
    s.trust_env = False
    s.verify = str(shared.team_ca)
    for client in ("", "&client_id=00000000-0000-0000-0000-000000000000"):
        r = s.get(f"{vl.identity_url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net{client}",
                  headers={"Metadata": "true"}, timeout=20)
        assert r.status_code == 401 and "access_token" not in r.text, r.text


def test_seed_and_reset_go_through_the_admin_api(shared: Shared, teams, tmp_path: Path) -> None:
    seed = tmp_path / "team.json"
    seed.write_text(json.dumps({"tenants": [{"name": "teamc"}]}))
    made = json.loads(shared.cli("seed", str(seed)).stdout)
    assert made["records"] > 0, made
    r = shared.cli("seed", str(tmp_path / "missing.json"), check=False)
    assert r.returncode != 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = shared.cli("seed", str(bad), check=False)
    assert r.returncode != 0 and "answered 400" in r.stderr, r.stderr
    assert shared.cli_json("quota", "show", "teamc")["usage"] == {"vaults": 0, "secrets": 0}
    reset = shared.cli_json("reset")
    assert reset["deleted"] > 0, reset
    r = shared.cli("quota", "show", "teama", check=False)
    assert r.returncode != 0 and "no tenant 'teama'" in r.stderr, r.stderr
