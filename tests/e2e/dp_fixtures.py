"""Helpers and fixtures for the Key Vault data-plane e2e modules (issue 3).

Imported by test_secrets_cli.py, test_secrets_sdk.py, test_authz.py, test_firewall.py,
test_durability.py and test_dataplane_bad_input.py. conftest.py (owned elsewhere) provides the
server fixtures; this file only adds what the data-plane tests need on top of them:

- `Dp`: raw HTTPS to https://{vault}.vault.azure.net through vaultlink's proxy with the local CA,
  exactly as any client would (no vaultlink internals): `requests` with explicit proxies.
- `token(...)`: an Entra token from the token endpoint (client credentials, v2.0) through the proxy.
- `provision(...)`: providers registered, a resource group and a vault, with the real az.
- `add_principal(...)`: `vaultlink principal add` (a second app with no role).
- `App`: such an app with an az profile of its own.
- `jwt_claims(...)`: the payload of a JWT (no verification), e.g. to read the developer's oid.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import DEV_CLIENT_ID, DEV_CLIENT_SECRET, TENANT_ID, AzResult, Vaultlink, _make

VAULT_SCOPE = "https://vault.azure.net/.default"
ARM_SCOPE = "https://management.core.windows.net//.default"
DP_API = "7.4"  # what az 2.91 sends (az-cli-contract.md §6)
REGION = "westeurope"
VERSION_RE = re.compile(r"^[0-9a-f]{32}$")
CHALLENGE = (
    f'Bearer authorization="https://login.microsoftonline.com/{TENANT_ID}", '
    'resource="https://vault.azure.net"'
)


def vault_url(vault: str) -> str:
    return f"https://{vault}.vault.azure.net"


def proxy_with_identity(vl: Vaultlink, identity: str) -> str:
    """The proxy URL with a caller identity (a public IPv4 address) as its user name.

    Written `http://IP:@host:port` (empty password) rather than `http://IP@host:port`:
    Python requests (hence az and the SDKs) drop a user name that has no password at all
    (requests.utils.get_auth_from_url -> ('', '')), so the bare form never reaches the proxy
    from Python clients. curl sends both forms as `Basic base64("IP:")`."""
    scheme, rest = vl.proxy_url.split("://", 1)
    return f"{scheme}://{identity}:@{rest}"


# ---------------------------------------------------------------------------------------------
class Dp:
    """Raw HTTPS through the vaultlink proxy (the public path, caller = proxy identity)."""

    def __init__(self, vl: Vaultlink, proxy: str | None = None):
        self.vl = vl
        self.session = requests.Session()
        self.session.trust_env = False
        proxy = proxy or vl.env["HTTPS_PROXY"]
        self.session.proxies = {"https": proxy, "http": proxy}
        self.session.verify = vl.env["REQUESTS_CA_BUNDLE"]

    def request(self, method: str, url: str, *, token: str | None = None,
                params: dict[str, Any] | None = None, api_version: str | None = DP_API,
                headers: dict[str, str] | None = None, timeout: float = 30,
                **kwargs: Any) -> requests.Response:
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        q = dict(params or {})
        if api_version is not None and "api-version" not in q:
            q["api-version"] = api_version
        return self.session.request(method, url, params=q, headers=hdrs, timeout=timeout,
                                    **kwargs)

    def kv(self, method: str, vault: str, path: str, **kwargs: Any) -> requests.Response:
        return self.request(method, vault_url(vault) + path, **kwargs)

    def token(self, scope: str = VAULT_SCOPE, client_id: str = DEV_CLIENT_ID,
              secret: str = DEV_CLIENT_SECRET, tenant: str = TENANT_ID) -> str:
        r = self.session.post(
            f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": client_id,
                  "client_secret": secret, "scope": scope},
            timeout=30,
        )
        assert r.status_code == 200, f"token endpoint: {r.status_code} {r.text}"
        body = r.json()
        assert body.get("token_type", "").lower() == "bearer", body
        return body["access_token"]

    # -- reading everything a vault holds (to prove nothing changed) -------------------------
    def all_pages(self, vault: str, path: str, token: str,
                  params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        r = self.kv("GET", vault, path, token=token, params=params)
        pages = 0
        while True:
            assert r.status_code == 200, f"GET {r.url}: {r.status_code} {r.text}"
            body = r.json()
            items.extend(body.get("value") or [])
            pages += 1
            assert pages < 1000, "nextLink loop"
            link = body.get("nextLink")
            if not link:
                return items
            r = self.request("GET", link, token=token, api_version=None)

    def snapshot(self, vault: str, token: str) -> dict[str, Any]:
        """Every secret with every version (ids, attributes, tags) and every deleted secret."""
        secrets = self.all_pages(vault, "/secrets", token)
        out: dict[str, Any] = {}
        for s in secrets:
            name = s["id"].rstrip("/").rsplit("/", 1)[1]
            versions = self.all_pages(vault, f"/secrets/{name}/versions", token)
            out[name] = sorted(
                (json.dumps(v, sort_keys=True) for v in versions)
            )
        deleted = self.all_pages(vault, "/deletedsecrets", token)
        return {"secrets": out,
                "deleted": sorted(json.dumps(d, sort_keys=True) for d in deleted)}


def error_of(r: requests.Response) -> dict[str, Any]:
    """The `error` object of an Azure error body (fails with the raw body if it is not one)."""
    try:
        body = r.json()
    except ValueError:
        raise AssertionError(f"{r.status_code} body is not JSON: {r.text!r}") from None
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), (
        f"not an Azure error body: {r.status_code} {r.text}"
    )
    err = body["error"]
    assert isinstance(err.get("code"), str) and err["code"], r.text
    assert isinstance(err.get("message"), str) and err["message"], r.text
    return err


def jwt_claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    assert len(parts) == 3, f"not a JWT: {token[:40]}..."
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def version_of(secret_id: str) -> str:
    path = urllib.parse.urlparse(secret_id).path.strip("/").split("/")
    assert len(path) == 3 and path[0] == "secrets", secret_id
    return path[2]


# ---------------------------------------------------------------------------------------------
def provision(vl: Vaultlink, rg: str, vault: str, *extra: str,
              location: str = REGION) -> dict[str, Any]:
    """Register providers (idempotent), create `rg` if needed and the vault; returns the vault."""
    vl.register_providers("Microsoft.KeyVault", "Microsoft.Network", wait=True)
    vl.az("group", "create", "-n", rg, "-l", location)
    v = vl.az("keyvault", "create", "-n", vault, "-g", rg, "-l", location, *extra)
    assert v["name"] == vault, v
    return v


def add_principal(vl: Vaultlink, name: str) -> dict[str, str]:
    out = vl.run_vaultlink("principal", "add", "--data-dir", str(vl.data_dir),
                           "--name", name).stdout
    app = json.loads(out)
    assert app["tenant"] == TENANT_ID, app
    for k in ("appId", "objectId", "secret"):
        assert app.get(k), app
    return app


@pytest.fixture
def vaultlink_no_throttle(request: pytest.FixtureRequest, tmp_path, monkeypatch):
    """A fresh server (function scope) started with VAULTLINK_NO_THROTTLE=true in its env
    (the documented switch of `vaultlink serve --no-throttle`), kept across restarts."""
    monkeypatch.setenv("VAULTLINK_NO_THROTTLE", "true")
    vl = _make(tmp_path)
    request.node._vaultlink = vl
    yield vl
    vl.close()


class App:
    """A second principal with its own az profile."""

    def __init__(self, vl: Vaultlink, info: dict[str, str], config_dir: Path):
        self.vl = vl
        self.info = info
        self.oid = info["objectId"]
        self.app_id = info["appId"]
        config_dir.mkdir(parents=True, exist_ok=True)
        self.env = dict(vl.env)
        self.env["AZURE_CONFIG_DIR"] = str(config_dir)

    def az(self, *args: str, check: bool = False) -> Any:
        return self.vl.az(*args, check=check, env=self.env)

    def show(self, vault: str, name: str) -> AzResult:
        return self.az("keyvault", "secret", "show", "--vault-name", vault, "-n", name)

    def list(self, vault: str) -> AzResult:
        return self.az("keyvault", "secret", "list", "--vault-name", vault)

    def set(self, vault: str, name: str, value: str) -> AzResult:
        return self.az("keyvault", "secret", "set", "--vault-name", vault, "-n", name,
                       "--value", value)
