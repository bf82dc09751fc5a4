"""The directory with the real az: Microsoft Graph writes, users signing in with a password, and
a second tenant whose endpoint asks for a vault of the first (issue 14, parts 2 to 4).

- `az ad sp create-for-rbac --role Reader --scopes RG` makes an application, its secret, its
  service principal and the role assignment; az then logs in as it, and it can read but not write.
- `az ad user create`, a role assigned with `--assignee UPN`, `az login -u UPN -p PASSWORD` (the
  password flow, no `--tenant`: az lists the tenants and asks for a token in each),
  `az ad signed-in-user show`, and `az keyvault create --enable-rbac-authorization false` giving
  the user its access policy. A wrong password is Entra's AADSTS50126.
- `vaultlink tenant add` + `vaultlink subscription add`: tenant B's administrator, in its own az
  profile, sees only its subscription; its automatically approved endpoint to tenant A's vault is
  refused (LinkedAuthorizationFailed), its manual request lands Pending; approving it needs
  Microsoft.KeyVault registered on B's subscription; only tenant A's principal approves, and B
  sees the state on its endpoint. B's tokens are refused by A's subscription (401
  InvalidAuthenticationTokenTenant) and A's vault (401 AKV10032, challenge naming tenant A).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from conftest import SUBSCRIPTION_ID, TENANT_ID, Vaultlink
from dp_fixtures import ARM_SCOPE, VAULT_SCOPE, Dp, provision
from topology import Network

RG = "rg-dir"
VAULT = "kv-directory"
SUB = f"/subscriptions/{SUBSCRIPTION_ID}"
VAULT_ID = f"{SUB}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"
DOMAIN = "vaultlink.onmicrosoft.com"
PASSWORD = "Correct-h0rse-battery"


class Profile:
    """An az profile of its own (AZURE_CONFIG_DIR) on the same vaultlink."""

    def __init__(self, vl: Vaultlink, config_dir: Path):
        config_dir.mkdir(parents=True, exist_ok=True)
        self.vl = vl
        self.env = dict(vl.env)
        self.env["AZURE_CONFIG_DIR"] = str(config_dir)

    def az(self, *args: str, check: bool = True) -> object:
        return self.vl.az(*args, check=check, env=self.env)


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    provision(logged_in, RG, VAULT)
    logged_in.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "s1", "--value", "a-secret")
    return logged_in


def test_create_for_rbac_then_log_in_as_it(vl: Vaultlink, tmp_path: Path) -> None:
    scope = f"{SUB}/resourceGroups/{RG}"
    sp = vl.az("ad", "sp", "create-for-rbac", "-n", "ci-reader", "--role", "Reader", "--scopes", scope)
    assert sp["tenant"] == TENANT_ID and sp["displayName"] == "ci-reader", sp
    assert len(sp["password"]) == 40, sp
    app = vl.az("ad", "app", "show", "--id", sp["appId"])
    assert app["passwordCredentials"][0]["displayName"] == "rbac", app
    assert "secretText" not in app["passwordCredentials"][0] or not app["passwordCredentials"][0]["secretText"]
    shown = vl.az("ad", "sp", "show", "--id", sp["appId"])
    assigned = vl.az("role", "assignment", "list", "--assignee", sp["appId"], "--all")
    assert [(a["roleDefinitionName"], a["scope"], a["principalId"]) for a in assigned] == [
        ("Reader", scope, shown["id"])], assigned

    ci = Profile(vl, tmp_path / "azure-config-ci")
    ci.az("login", "--service-principal", "-u", sp["appId"], f"--password={sp['password']}", "--tenant", sp["tenant"])
    assert ci.az("group", "show", "-n", RG)["name"] == RG
    r = ci.az("group", "create", "-n", "rg-by-reader", "-l", "westeurope", check=False)
    assert r.rc != 0 and "AuthorizationFailed" in r.stderr, r.describe()
    assert f"The client '{sp['appId']}' with object id '{shown['id']}'" in r.stderr, r.describe()
    # Graph pages its lists: `$top` items, then `@odata.nextLink` until the list is whole.
    dp = Dp(vl)
    graph = dp.token("https://graph.microsoft.com/.default")
    whole = dp.request("GET", "https://graph.microsoft.com/v1.0/servicePrincipals", token=graph, api_version=None)
    assert whole.status_code == 200 and len(whole.json()["value"]) >= 3, whole.text
    seen, url = [], "https://graph.microsoft.com/v1.0/servicePrincipals?$top=1"
    while url:
        page = dp.request("GET", url, token=graph, api_version=None).json()
        assert len(page["value"]) == 1, page
        seen += [p["id"] for p in page["value"]]
        url = page.get("@odata.nextLink")
    assert seen == [p["id"] for p in whole.json()["value"]]
    # The new service principal may read the directory but not write it.
    own = dp.token("https://graph.microsoft.com/.default", sp["appId"], sp["password"])
    r = dp.request("POST", "https://graph.microsoft.com/v1.0/applications", token=own, api_version=None,
                   json={"displayName": "by-ci"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "Authorization_RequestDenied", r.text
    # A wrong secret is Entra's refusal, and the service principal is gone once deleted.
    bad = Profile(vl, tmp_path / "azure-config-bad")
    r = bad.az("login", "--service-principal", "-u", sp["appId"], "-p", "not-the-secret", "--tenant", TENANT_ID,
               check=False)
    assert r.rc != 0 and "AADSTS7000215" in r.stderr, r.describe()
    vl.az("ad", "app", "delete", "--id", sp["appId"], output=None)
    r = bad.az("login", "--service-principal", "-u", sp["appId"], f"--password={sp['password']}", "--tenant", TENANT_ID,
               check=False)
    assert r.rc != 0 and "AADSTS700016" in r.stderr, r.describe()


def test_a_user_signs_in_with_a_password_and_gets_its_access_policy(vl: Vaultlink, tmp_path: Path) -> None:
    upn = f"ann@{DOMAIN}"
    weak = vl.az("ad", "user", "create", "--display-name", "Ann", "--user-principal-name", upn,
                 "--password", "password", check=False)
    assert weak.rc != 0 and "password complexity" in weak.stderr, weak.describe()
    foreign = vl.az("ad", "user", "create", "--display-name", "Ann", "--user-principal-name", "ann@example.com",
                    "--password", PASSWORD, check=False)
    assert foreign.rc != 0 and "verified domain names" in foreign.stderr, foreign.describe()
    user = vl.az("ad", "user", "create", "--display-name", "Ann", "--user-principal-name", upn, "--password", PASSWORD)
    assert user["userPrincipalName"] == upn, user
    assert vl.az("ad", "user", "show", "--id", upn)["id"] == user["id"]
    assert [u["id"] for u in vl.az("ad", "user", "list", "--upn", upn)] == [user["id"]]
    # Contributor on the group, named by the user's sign-in name (az resolves it through Graph).
    vl.az("role", "assignment", "create", "--assignee", upn, "--role", "Contributor",
          "--scope", f"{SUB}/resourceGroups/{RG}")

    ann = Profile(vl, tmp_path / "azure-config-ann")
    r = ann.az("login", "-u", upn, "-p", "wrong-Passw0rd", check=False)
    assert r.rc != 0 and "AADSTS50126" in r.stderr, r.describe()
    subs = ann.az("login", "-u", upn, "-p", PASSWORD)
    assert [(s["id"], s["tenantId"], s["user"]["name"], s["user"]["type"]) for s in subs] == [
        (SUBSCRIPTION_ID, TENANT_ID, upn, "user")], subs
    me = ann.az("ad", "signed-in-user", "show")
    assert (me["id"], me["userPrincipalName"]) == (user["id"], upn), me
    # Outside its group the user is refused, named by its sign-in name as Azure names users.
    r = ann.az("group", "create", "-n", "rg-by-ann", "-l", "westeurope", check=False)
    assert r.rc != 0 and f"The client '{upn}' with object id '{user['id']}'" in r.stderr, r.describe()
    # An access-policy vault: az looks the user up (Graph /me) and gives it an access policy.
    v = ann.az("keyvault", "create", "-g", RG, "-n", "kv-ann-policies", "--enable-rbac-authorization", "false")
    policies = v["properties"]["accessPolicies"]
    assert [p["objectId"] for p in policies] == [user["id"]], policies
    assert policies[0]["permissions"]["secrets"] == ["all"], policies
    ann.az("keyvault", "secret", "set", "--vault-name", "kv-ann-policies", "-n", "mine", "--value", "v1")
    assert ann.az("keyvault", "secret", "show", "--vault-name", "kv-ann-policies", "-n", "mine")["value"] == "v1"
    # The RBAC vault of the developer stays closed: Contributor gives no data access.
    r = ann.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1", check=False)
    assert r.rc != 0 and "Forbidden" in r.stderr, r.describe()

    # The portal signs the user in with its password and acts as the user under the same checks.
    portal = requests.Session()
    portal.trust_env = False
    portal.verify = vl.env["REQUESTS_CA_BUNDLE"]
    origin = f"https://127.0.0.1:{vl.https_port}"
    signin = f"{origin}/portal/api/signin"
    r = portal.post(signin, json={"clientId": upn, "clientSecret": "wrong-Passw0rd"}, headers={"Origin": origin})
    assert r.status_code == 401 and "AADSTS50126" in r.json()["error"]["message"], r.text
    r = portal.post(signin, json={"clientId": upn, "clientSecret": PASSWORD}, headers={"Origin": origin})
    assert r.status_code == 200 and r.json()["principal"]["appId"] == upn, r.text
    arm = f"{origin}/portal/api/arm{SUB}/resourcegroups/rg-by-ann-portal?api-version=2022-09-01"
    r = portal.put(arm, json={"location": "westeurope"},
                   headers={"Origin": origin, "X-CSRF-Token": r.json()["csrfToken"]})
    assert r.status_code == 403 and f"The client '{upn}'" in r.json()["error"]["message"], r.text


def _run_json(vl: Vaultlink, *args: str) -> dict:
    return json.loads(vl.run_vaultlink(*args, "--data-dir", str(vl.data_dir)).stdout)


def _rest(vl: Vaultlink, token: str, method: str, url: str, body: dict | None = None) -> requests.Response:
    return Dp(vl).request(method, url, token=token, api_version=None, json=body)


def test_cross_tenant_private_endpoint_waits_for_the_vault_owner(vl: Vaultlink, tmp_path: Path) -> None:
    b = _run_json(vl, "tenant", "add", "fabrikam")
    assert b["defaultDomain"] == "fabrikam.onmicrosoft.com", b
    sub_b = _run_json(vl, "subscription", "add", "fabrikam-dev", "--tenant", "fabrikam.onmicrosoft.com")
    assert sub_b["tenantId"] == b["tenantId"], sub_b
    admin = b["admin"]
    tenants = {t["tenantId"] for t in json.loads(vl.run_vaultlink("tenant", "list", "--data-dir", str(vl.data_dir)).stdout)}
    assert tenants == {TENANT_ID, b["tenantId"]}

    fab = Profile(vl, tmp_path / "azure-config-fabrikam")
    subs = fab.az("login", "--service-principal", "-u", admin["appId"], f"--password={admin['secret']}", "--tenant", b["tenantId"])
    assert [(s["id"], s["tenantId"]) for s in subs] == [(sub_b["subscriptionId"], b["tenantId"])], subs
    # Tenant B's principal does not exist in tenant A.
    r = Profile(vl, tmp_path / "azure-config-wrong").az(
        "login", "--service-principal", "-u", admin["appId"], f"--password={admin['secret']}", "--tenant", TENANT_ID, check=False)
    assert r.rc != 0 and "AADSTS700016" in r.stderr, r.describe()

    net = f"/subscriptions/{sub_b['subscriptionId']}/resourceGroups/rg-fab"
    fab.az("group", "create", "-n", "rg-fab", "-l", "westeurope")
    Network(fab, "rg-fab").vnet("vnet-fab", "10.30.0.0/16", subnet="pe", subnet_prefix="10.30.0.0/24")
    # Automatic approval needs the approval action on tenant A's vault: refused.
    r = fab.az("network", "private-endpoint", "create", "-g", "rg-fab", "-n", "pe-auto", "--vnet-name", "vnet-fab",
               "--subnet", "pe", "--private-connection-resource-id", VAULT_ID, "--group-id", "vault",
               "--connection-name", "c1", check=False)
    assert r.rc != 0 and "LinkedAuthorizationFailed" in r.stderr, r.describe()
    assert "Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action" in r.stderr, r.describe()
    # The manual request lands Pending on the vault.
    pe = fab.az("network", "private-endpoint", "create", "-g", "rg-fab", "-n", "pe-manual", "--vnet-name",
                "vnet-fab", "--subnet", "pe", "--private-connection-resource-id", VAULT_ID, "--group-id", "vault",
                "--connection-name", "c1", "--manual-request", "true", "--request-message", "from fabrikam")
    state = pe["manualPrivateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]
    assert state["status"] == "Pending", pe
    conns = vl.az("keyvault", "show", "-n", VAULT)["properties"]["privateEndpointConnections"]
    pending = [c for c in conns
               if c["privateEndpoint"]["id"] == f"{net}/providers/Microsoft.Network/privateEndpoints/pe-manual"]
    assert [c["privateLinkServiceConnectionState"]["status"] for c in pending] == ["Pending"], conns
    name = pending[0]["id"].rsplit("/", 1)[1]

    # Tenant B cannot approve it: its token is not good for tenant A's subscription or vault.
    token_b = Dp(vl).token(ARM_SCOPE, admin["appId"], admin["secret"], tenant=b["tenantId"])
    conn = f"https://management.azure.com{VAULT_ID}/privateEndpointConnections/{name}?api-version=2023-07-01"
    r = _rest(vl, token_b, "PUT", conn, {"properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}})
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationTokenTenant", r.text
    assert f"It must match the tenant 'https://sts.windows.net/{TENANT_ID}/'" in r.json()["error"]["message"]
    dp_b = Dp(vl).token(VAULT_SCOPE, admin["appId"], admin["secret"], tenant=b["tenantId"])
    r = Dp(vl).kv("GET", VAULT, "/secrets/s1", token=dp_b)
    assert r.status_code == 401 and "AKV10032" in r.json()["error"]["message"], r.text
    assert f"login.microsoftonline.com/{TENANT_ID}" in r.headers["WWW-Authenticate"], r.headers

    # Tenant A's owner approves: first refused until Microsoft.KeyVault is registered on B's subscription.
    r = vl.az("keyvault", "private-endpoint-connection", "approve", "-g", RG, "--vault-name", VAULT, "-n", name,
              check=False)
    assert r.rc != 0 and "Microsoft.KeyVault provider must be registered on subscription containing private endpoint" in r.stderr, r.describe()
    fab.az("provider", "register", "-n", "Microsoft.KeyVault")
    vl.az("keyvault", "private-endpoint-connection", "approve", "-g", RG, "--vault-name", VAULT, "-n", name)
    seen = fab.az("network", "private-endpoint", "show", "-g", "rg-fab", "-n", "pe-manual")
    assert seen["manualPrivateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]["status"] == "Approved", seen
    # An auxiliary token from tenant A with the approval action lets B's automatic request through.
    token_a = Dp(vl).token(ARM_SCOPE)
    body = {"location": "westeurope", "properties": {
        "subnet": {"id": f"{net}/providers/Microsoft.Network/virtualNetworks/vnet-fab/subnets/pe"},
        "privateLinkServiceConnections": [{"name": "c2", "properties": {
            "privateLinkServiceId": VAULT_ID, "groupIds": ["vault"]}}]}}
    url = f"https://management.azure.com{net}/providers/Microsoft.Network/privateEndpoints/pe-aux?api-version=2024-05-01"
    r = Dp(vl).request("PUT", url, token=token_b, api_version=None, json=body,
                       headers={"x-ms-authorization-auxiliary": f"Bearer {token_a}"})
    assert r.status_code in (200, 201), r.text
    assert r.json()["properties"]["privateLinkServiceConnections"][0]["properties"][
        "privateLinkServiceConnectionState"]["status"] == "Approved", r.text


def test_a_multi_tenant_application_works_in_each_tenant_that_adds_it(vl: Vaultlink, tmp_path: Path) -> None:
    b = _run_json(vl, "tenant", "add", "northwind")
    sub_b = _run_json(vl, "subscription", "add", "northwind-dev", "--tenant", b["tenantId"])
    app = _run_json(vl, "principal", "add", "--name", "mt-app", "--multi-tenant")
    nw = Profile(vl, tmp_path / "azure-config-northwind")
    nw.az("login", "--service-principal", "-u", b["admin"]["appId"], f"--password={b['admin']['secret']}",
          "--tenant", b["tenantId"])
    # Before tenant B adds it, the application cannot sign in there.
    mt = Profile(vl, tmp_path / "azure-config-mt")
    r = mt.az("login", "--service-principal", "-u", app["appId"], f"--password={app['secret']}", "--tenant", b["tenantId"],
              "--allow-no-subscriptions", check=False)
    assert r.rc != 0 and "AADSTS700016" in r.stderr, r.describe()
    # B's administrator adds its service principal (admin consent) and gives it Reader on B's subscription.
    guest = nw.az("ad", "sp", "create", "--id", app["appId"])
    assert guest["appId"] == app["appId"] and guest["id"] != app["objectId"], guest
    assert guest["appOwnerOrganizationId"] == TENANT_ID, guest
    nw.az("role", "assignment", "create", "--assignee", app["appId"], "--role", "Reader",
          "--scope", f"/subscriptions/{sub_b['subscriptionId']}")
    # (A fresh profile: MSAL keeps the refusal above in its HTTP cache for a minute, as with Azure.)
    mt = Profile(vl, tmp_path / "azure-config-mt-consented")
    subs = mt.az("login", "--service-principal", "-u", app["appId"], f"--password={app['secret']}", "--tenant", b["tenantId"])
    assert [(s["id"], s["tenantId"]) for s in subs] == [(sub_b["subscriptionId"], b["tenantId"])], subs
    # One application, two directories: GET /tenants lists both, its home first-class.
    token = Dp(vl).token(ARM_SCOPE, app["appId"], app["secret"], tenant=b["tenantId"])
    tenants = _rest(vl, token, "GET", "https://management.azure.com/tenants?api-version=2022-12-01").json()["value"]
    assert sorted((t["tenantId"], t["tenantCategory"]) for t in tenants) == sorted(
        [(TENANT_ID, "ProjectedBy"), (b["tenantId"], "Home")]), tenants
    # In its home tenant it has no role: it signs in and sees no subscription.
    home = Profile(vl, tmp_path / "azure-config-mt-home")
    subs = home.az("login", "--service-principal", "-u", app["appId"], f"--password={app['secret']}", "--tenant", TENANT_ID,
                   "--allow-no-subscriptions")
    assert all(s["id"] != SUBSCRIPTION_ID for s in subs), subs
