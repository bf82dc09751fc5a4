"""The ways a user points the real az 2.91 at vaultlink (contract §2): proxy (the other
modules), direct custom cloud, managed identity; and what a wrong secret gets."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

from conftest import (
    DEV_CLIENT_ID,
    DEV_OBJECT_ID,
    MANAGED_IDENTITY_CLIENT_ID,
    MANAGED_IDENTITY_OBJECT_ID,
    SUBSCRIPTION_ID,
    TENANT_ID,
    Vaultlink,
)
from dp_fixtures import Dp, add_principal, jwt_claims


def direct_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """A plain HTTP GET that ignores every proxy variable."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_direct_custom_cloud(vaultlink: Vaultlink) -> None:
    """(a) `az cloud register --endpoint-resource-manager https://localhost:PORT`: ARM and Entra
    are served by the https listener itself. HTTPS_PROXY is removed altogether so that nothing
    can silently go through the proxy."""
    vl = vaultlink
    vl.set_env(HTTPS_PROXY=None)
    vl.register_direct_cloud("Vaultlink")
    cloud = vl.az("cloud", "show", "-n", "Vaultlink")
    assert cloud["isActive"] is True
    assert cloud["endpoints"]["resourceManager"].rstrip("/") == f"https://localhost:{vl.https_port}"
    assert cloud["suffixes"]["keyvaultDns"].lstrip(".") == "vault.azure.net"

    subs = vl.login_sp()
    assert [s["id"] for s in subs] == [SUBSCRIPTION_ID], subs
    assert subs[0]["cloudName"] == "Vaultlink"
    assert subs[0]["tenantId"] == TENANT_ID

    vl.register_providers()
    rg = vl.az("group", "create", "-n", "rg-direct", "-l", "westeurope")
    assert rg["properties"]["provisioningState"] == "Succeeded"
    vault = vl.az("keyvault", "create", "-n", "kv-direct-01", "-g", "rg-direct",
                  "-l", "westeurope")
    assert vault["properties"]["provisioningState"] == "Succeeded"
    # The vault's data-plane name does not change with the cloud: vault.azure.net suffix.
    assert vault["properties"]["vaultUri"].rstrip("/") == "https://kv-direct-01.vault.azure.net"
    shown = vl.az("keyvault", "show", "-n", "kv-direct-01", "-g", "rg-direct")
    assert shown["id"] == vault["id"]
    assert [g["name"] for g in vl.az("group", "list")] == ["rg-direct"]
    # Microsoft Graph on the same origin (the cloud's microsoftGraphResourceId): az names principals.
    assert vl.az("ad", "sp", "show", "--id", DEV_CLIENT_ID)["id"] == DEV_OBJECT_ID


def test_direct_metadata_endpoints_trailing_slash(vaultlink: Vaultlink) -> None:
    """`az cloud register` with a trailing "/" asks for `//metadata/endpoints` (contract §2b)."""
    vl = vaultlink
    vl.set_env(HTTPS_PROXY=None, AZURE_CORE_INSTANCE_DISCOVERY="false")
    vl.az("cloud", "register", "-n", "VaultlinkSlash", "--endpoint-resource-manager",
          f"https://localhost:{vl.https_port}/")
    cloud = vl.az("cloud", "show", "-n", "VaultlinkSlash")
    assert cloud["endpoints"]["activeDirectory"]


def test_managed_identity_login(vaultlink: Vaultlink) -> None:
    """(b) `az login --identity` against the identity listener (IMDS form, contract §2c)."""
    vl = vaultlink
    # A VM has no SP secret in its environment.
    vl.set_env(
        AZURE_CLIENT_ID=None, AZURE_CLIENT_SECRET=None,
        AZURE_POD_IDENTITY_AUTHORITY_HOST=vl.identity_url,
    )
    # A managed identity starts with no role, as in Azure: az finds no subscription, and with
    # tenant-level access its token changes nothing, not even its own roles.
    r = vl.az("login", "--identity", check=False)
    assert r.rc != 0 and "subscription" in r.stderr.lower(), r.describe()
    vl.az("login", "--identity", "--allow-no-subscriptions")
    token = vl.az("account", "get-access-token", "--resource",
                  "https://management.core.windows.net/")["accessToken"]
    arm = Dp(vl)
    sub = f"https://management.azure.com/subscriptions/{SUBSCRIPTION_ID}"
    r = arm.request("PUT", f"{sub}/resourcegroups/rg-mi", token=token, api_version="2022-09-01",
                    json={"location": "westeurope"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed", r.text
    owner = (f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/"
             "8e3af657-a8ff-443c-a75c-2fe8c4bcb635")
    r = arm.request("PUT", f"{sub}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                    token=token, api_version="2022-04-01",
                    json={"properties": {"roleDefinitionId": owner, "principalId": MANAGED_IDENTITY_OBJECT_ID}})
    assert r.status_code == 403, r.text
    assert "'Microsoft.Authorization/roleAssignments/write'" in r.json()["error"]["message"], r.text
    # Granted Contributor by the developer, it sees the subscription and can create a group.
    vl.grant(MANAGED_IDENTITY_OBJECT_ID, "Contributor")
    subs = vl.az("login", "--identity")
    ours = [s for s in subs if s["id"] == SUBSCRIPTION_ID]
    assert ours, subs
    assert ours[0]["tenantId"] == TENANT_ID
    assert ours[0]["user"]["type"] == "servicePrincipal"
    assert ours[0]["user"]["name"] in ("systemAssignedIdentity", "userAssignedIdentity")
    assert vl.az("group", "list") == []
    vl.az("group", "create", "-n", "rg-mi", "-l", "westeurope")
    assert [g["name"] for g in vl.az("group", "list")] == ["rg-mi"]


def test_managed_identity_token_shape(vaultlink: Vaultlink) -> None:
    """The IMDS answer itself: a JWT carrying the tenant (az decodes `tid`) and the managed
    identity's client id; and IMDS's refusal without the `Metadata: true` header."""
    vl = vaultlink
    url = (f"{vl.identity_url}/metadata/identity/oauth2/token?api-version=2018-02-01"
           "&resource=https://management.core.windows.net/")
    status, body = direct_get(url, {"Metadata": "true"})
    assert status == 200, body
    doc = json.loads(body)
    assert doc["access_token"] and int(doc["expires_in"]) > 0, doc
    claims = jwt_claims(doc["access_token"])
    assert claims["tid"] == TENANT_ID, claims
    assert MANAGED_IDENTITY_CLIENT_ID in (claims.get("appid"), claims.get("azp")), claims

    status, body = direct_get(url)  # no Metadata header
    assert status == 400, (status, body)


def test_wrong_secret_is_refused(vaultlink: Vaultlink) -> None:
    """(c) A wrong client secret: AAD's 401 invalid_client / AADSTS7000215 reaches the user."""
    vl = vaultlink
    res = vl.az_fail("login", "--service-principal", "-u", vl.exports["AZURE_CLIENT_ID"],
                     "-p", "not-the-secret", "--tenant", TENANT_ID)
    assert "invalid_client" in res.stderr or "AADSTS7000215" in res.stderr, res.describe()
    assert "Traceback" not in res.stderr, res.describe()
    # Nothing was stored: the profile has no account.
    assert vl.az("account", "list") == []


def _add_principal(vl: Vaultlink, name: str) -> dict[str, str]:
    app = add_principal(vl, name)
    assert app["appId"] != vl.exports["AZURE_CLIENT_ID"]
    return app


def _login_as(vl: Vaultlink, app: dict[str, str]) -> None:
    # A new app may hold no role anywhere and so (as on Azure) see no subscription:
    # --allow-no-subscriptions makes that a successful tenant-level login.
    vl.az("login", "--service-principal", "-u", app["appId"], f"--password={app['secret']}",
          "--tenant", TENANT_ID, "--allow-no-subscriptions")
    account = vl.az("account", "show")
    assert account["user"]["name"] == app["appId"], account
    assert account["tenantId"] == TENANT_ID, account


def test_added_principal_can_log_in(vaultlink: Vaultlink) -> None:
    """`vaultlink principal add` while the server runs; the new app logs in with az at once,
    and is still there after a restart."""
    vl = vaultlink
    app = _add_principal(vl, "e2e-app")
    _login_as(vl, app)
    vl.restart()
    vl.az("logout")
    _login_as(vl, app)


def test_principal_added_while_stopped_can_log_in(vaultlink: Vaultlink) -> None:
    vl = vaultlink
    vl.stop()
    app = _add_principal(vl, "e2e-app-offline")
    vl.start()
    _login_as(vl, app)
