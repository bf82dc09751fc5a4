"""Control-plane authorization with the real az: Resource Manager checks each operation's Azure
action against the caller's role assignments (issue 14, part 1).

The developer (Owner + Key Vault Administrator on the subscription) builds a vault in `rg-kv`
and a VNet in `rg-net`, then three more apps (`vaultlink principal add`), each in its own az
profile, try the seed's steps:
- no role at all: every ARM write is refused with 403 AuthorizationFailed naming the client,
  its object id, the action and the scope; it cannot grant itself a role; nothing changes.
- Network Contributor on `rg-net`: its automatically approved private endpoint to the vault is
  refused with LinkedAuthorizationFailed (no approval action on the vault); the manual request
  lands Pending; it cannot approve it.
- Key Vault Contributor on `rg-kv`: manages the vault, cannot assign roles, cannot read the
  secrets of the RBAC vault; lists show it only what its role covers.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from conftest import DEV_OBJECT_ID, SUBSCRIPTION_ID, AzResult, Vaultlink
from dp_fixtures import ARM_SCOPE, App, Dp, add_principal, provision
from topology import Network

RG_KV = "rg-kv"
RG_NET = "rg-net"
VAULT = "kv-arm-rbac"
VNET = "vnet-arm"
SUBNET = "pe-subnet"
SUB = f"/subscriptions/{SUBSCRIPTION_ID}"
VAULT_ID = f"{SUB}/resourceGroups/{RG_KV}/providers/Microsoft.KeyVault/vaults/{VAULT}"
NETWORK_CONTRIBUTOR = "Network Contributor"
KEY_VAULT_CONTRIBUTOR = "Key Vault Contributor"
OWNER_ROLE_ID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def rest(app: App, method: str, path: str, body: dict | None = None) -> requests.Response:
    """Raw HTTPS to Resource Manager as `app`, with a token from the token endpoint (az itself
    refuses `--subscription` for a subscription its login did not list)."""
    dp = Dp(app.vl)
    token = dp.token(ARM_SCOPE, app.app_id, app.info["secret"])
    return dp.request(method, f"https://management.azure.com{path}", token=token, api_version=None,
                      json=body)


def assert_refused(r: requests.Response, app: App, action: str, scope: str) -> None:
    assert r.status_code == 403, (r.status_code, r.text)
    assert r.json() == {"error": {"code": "AuthorizationFailed", "message": (
        f"The client '{app.app_id}' with object id '{app.oid}' does not have authorization to "
        f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access "
        "was recently granted, please refresh your credentials.")}}, r.text


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    vl = logged_in
    provision(vl, RG_KV, VAULT)
    vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "s1", "--value", "top-secret")
    vl.az("group", "create", "-n", RG_NET, "-l", "westeurope")
    Network(vl, RG_NET).vnet(VNET, "10.20.0.0/16", subnet=SUBNET, subnet_prefix="10.20.0.0/24")
    vl.az("network", "vnet", "subnet", "update", "-g", RG_NET, "--vnet-name", VNET, "-n", SUBNET,
          "--private-endpoint-network-policies", "Disabled")
    return vl


def _app(vl: Vaultlink, tmp_path_factory: pytest.TempPathFactory, name: str,
         role: str | None, scope: str | None) -> App:
    info = add_principal(vl, name)
    app = App(vl, info, tmp_path_factory.mktemp(f"{name}-azure-config"))
    if role:
        vl.grant(app.oid, role, scope)
    r = app.az("login", "--service-principal", "-u", app.app_id, f"--password={info['secret']}",
               "--tenant", info["tenant"], "--allow-no-subscriptions")
    assert r.rc == 0, r.describe()
    return app


@pytest.fixture(scope="module")
def nobody(vl: Vaultlink, tmp_path_factory: pytest.TempPathFactory) -> App:
    return _app(vl, tmp_path_factory, "arm-nobody", None, None)


@pytest.fixture(scope="module")
def netcontrib(vl: Vaultlink, tmp_path_factory: pytest.TempPathFactory) -> App:
    return _app(vl, tmp_path_factory, "arm-netcontrib", NETWORK_CONTRIBUTOR,
                f"{SUB}/resourceGroups/{RG_NET}")


@pytest.fixture(scope="module")
def kvcontrib(vl: Vaultlink, tmp_path_factory: pytest.TempPathFactory) -> App:
    return _app(vl, tmp_path_factory, "arm-kvcontrib", KEY_VAULT_CONTRIBUTOR,
                f"{SUB}/resourceGroups/{RG_KV}")


# ---------------------------------------------------------------------------------------------
class TestNoRole:
    def test_sees_no_subscription(self, nobody: App) -> None:
        accounts = json.loads(nobody.az("account", "list", "-o", "json").stdout)
        assert [a for a in accounts if a["id"] == SUBSCRIPTION_ID] == [], accounts

    def test_every_write_is_refused(self, vl: Vaultlink, nobody: App) -> None:
        rg = f"{SUB}/resourcegroups/rg-intruder"
        r = rest(nobody, "put", f"{rg}?api-version=2022-09-01", {"location": "westeurope"})
        assert_refused(r, nobody, "Microsoft.Resources/subscriptions/resourcegroups/write", rg)
        r = rest(nobody, "post", f"{SUB}/providers/Microsoft.KeyVault/unregister?api-version=2022-09-01")
        assert_refused(r, nobody, "Microsoft.KeyVault/unregister/action", SUB)
        r = rest(nobody, "delete", f"{VAULT_ID}?api-version=2023-07-01")
        assert_refused(r, nobody, "Microsoft.KeyVault/vaults/delete", VAULT_ID)
        zone = f"{SUB}/resourceGroups/{RG_NET}/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"
        r = rest(nobody, "put", f"{zone}?api-version=2024-06-01", {"location": "global"})
        assert_refused(r, nobody, "Microsoft.Network/privateDnsZones/write", zone)
        r = rest(nobody, "get", f"{SUB}/resourcegroups?api-version=2022-09-01")
        assert_refused(r, nobody, "Microsoft.Resources/subscriptions/resourcegroups/read", SUB)
        # Nothing changed.
        assert vl.az("group", "exists", "-n", "rg-intruder") is False
        assert vl.az("keyvault", "show", "-n", VAULT)["name"] == VAULT
        assert vl.az("network", "private-dns", "zone", "list", "-g", RG_NET) == []
        providers = vl.az("provider", "show", "-n", "Microsoft.KeyVault")
        assert providers["registrationState"] == "Registered", providers

    def test_cannot_grant_itself_a_role(self, vl: Vaultlink, nobody: App) -> None:
        name = str(uuid.uuid4())
        url = f"{SUB}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01"
        body = {"properties": {
            "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER_ROLE_ID}",
            "principalId": nobody.oid, "principalType": "ServicePrincipal"}}
        r = rest(nobody, "put", url, body)
        assert_refused(r, nobody, "Microsoft.Authorization/roleAssignments/write",
                                    f"{SUB}/providers/Microsoft.Authorization/roleAssignments/{name}")
        assigned = [a for a in vl.az("role", "assignment", "list", "--all", "--fill-principal-name", "false")
                    if a["principalId"] == nobody.oid]
        assert assigned == [], assigned
        # And the secret stays unread.
        r = nobody.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
        assert r.rc != 0 and "top-secret" not in r.stdout, r.describe()


# ---------------------------------------------------------------------------------------------
class TestNetworkContributor:
    def _endpoint(self, app: App, name: str, *extra: str) -> AzResult:
        return app.az("network", "private-endpoint", "create", "-g", RG_NET, "-n", name,
                      "--vnet-name", VNET, "--subnet", SUBNET,
                      "--private-connection-resource-id", VAULT_ID, "--group-id", "vault",
                      "--connection-name", f"{name}-conn", "-l", "westeurope", *extra)

    def test_auto_approved_endpoint_needs_the_approval_action_on_the_vault(
            self, vl: Vaultlink, netcontrib: App) -> None:
        r = self._endpoint(netcontrib, "pe-auto")
        assert r.rc != 0, r.describe()
        assert "LinkedAuthorizationFailed" in r.stderr, r.describe()
        assert ("does not have permission to perform action(s) "
                "'Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action' on the "
                f"linked scope(s) '{VAULT_ID}'") in r.stderr, r.describe()
        assert vl.az("network", "private-endpoint", "list", "-g", RG_NET) == []

    def test_manual_request_lands_pending_and_it_cannot_approve_it(
            self, vl: Vaultlink, netcontrib: App) -> None:
        r = self._endpoint(netcontrib, "pe-manual", "--manual-request")
        assert r.rc == 0, r.describe()
        conns = vl.az("network", "private-endpoint-connection", "list", "--id", VAULT_ID)
        assert [c["properties"]["privateLinkServiceConnectionState"]["status"] for c in conns] == ["Pending"]
        r = netcontrib.az("network", "private-endpoint-connection", "approve", "--id", conns[0]["id"],
                          "--description", "self-approved")
        assert r.rc != 0 and "AuthorizationFailed" in r.stderr, r.describe()
        conns = vl.az("network", "private-endpoint-connection", "list", "--id", VAULT_ID)
        assert conns[0]["properties"]["privateLinkServiceConnectionState"]["status"] == "Pending"
        # The vault's owner approves it.
        vl.az("network", "private-endpoint-connection", "approve", "--id", conns[0]["id"],
              "--description", "approved by the owner")
        conns = vl.az("network", "private-endpoint-connection", "list", "--id", VAULT_ID)
        assert conns[0]["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved"

    def test_lists_show_only_what_its_role_covers(self, netcontrib: App) -> None:
        groups = json.loads(netcontrib.az("group", "list", "-o", "json").stdout)
        assert [g["name"] for g in groups] == [RG_NET], groups


# ---------------------------------------------------------------------------------------------
class TestKeyVaultContributor:
    def test_manages_the_vault(self, vl: Vaultlink, kvcontrib: App) -> None:
        r = kvcontrib.az("keyvault", "update", "-n", VAULT, "-g", RG_KV, "--default-action", "Deny")
        assert r.rc == 0, r.describe()
        assert vl.az("keyvault", "show", "-n", VAULT)["properties"]["networkAcls"]["defaultAction"] == "Deny"
        vl.az("keyvault", "update", "-n", VAULT, "-g", RG_KV, "--default-action", "Allow")

    def test_cannot_assign_roles_nor_read_secrets(self, vl: Vaultlink, kvcontrib: App) -> None:
        r = kvcontrib.az("role", "assignment", "create", "--assignee-object-id", kvcontrib.oid,
                         "--assignee-principal-type", "ServicePrincipal",
                         "--role", "Key Vault Secrets User", "--scope", VAULT_ID)
        assert r.rc != 0 and "AuthorizationFailed" in r.stderr, r.describe()
        assert "Microsoft.Authorization/roleAssignments/write" in r.stderr, r.describe()
        r = kvcontrib.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
        assert r.rc != 0 and "ForbiddenByRbac" in r.stderr, r.describe()
        assert "top-secret" not in r.stdout

    def test_lists_show_only_what_its_role_covers(self, kvcontrib: App) -> None:
        groups = json.loads(kvcontrib.az("group", "list", "-o", "json").stdout)
        assert [g["name"] for g in groups] == [RG_KV], groups
        vaults = json.loads(kvcontrib.az("keyvault", "list", "-o", "json").stdout)
        assert [v["name"] for v in vaults] == [VAULT], vaults


# ---------------------------------------------------------------------------------------------
RG_DNS = "rg-dns"
DNS_ROLE = "vaultlink DNS Operator"


@pytest.fixture(scope="module")
def dnsop(vl: Vaultlink, tmp_path_factory: pytest.TempPathFactory) -> App:
    """A custom role (`az role definition create`) assigned on `rg-dns`."""
    vl.az("group", "create", "-n", RG_DNS, "-l", "westeurope")
    definition = {
        "Name": DNS_ROLE,
        "Description": "Manages private DNS zones, nothing else.",
        "Actions": ["Microsoft.Network/privateDnsZones/*",
                    "Microsoft.Resources/subscriptions/resourceGroups/read"],
        "NotActions": ["Microsoft.Network/privateDnsZones/delete"],
        "AssignableScopes": [f"{SUB}/resourceGroups/{RG_DNS}"],
    }
    created = vl.az("role", "definition", "create", "--role-definition", json.dumps(definition))
    assert created["roleName"] == DNS_ROLE and created["roleType"] == "CustomRole", created
    return _app(vl, tmp_path_factory, "arm-dnsop", DNS_ROLE, f"{SUB}/resourceGroups/{RG_DNS}")


class TestCustomRole:
    def test_grants_what_it_lists(self, vl: Vaultlink, dnsop: App) -> None:
        zone = "privatelink.vaultcore.azure.net"
        r = dnsop.az("network", "private-dns", "zone", "create", "-g", RG_DNS, "-n", zone)
        assert r.rc == 0, r.describe()
        r = dnsop.az("network", "vnet", "create", "-g", RG_DNS, "-n", "vnet-not-allowed",
                     "--address-prefixes", "10.30.0.0/16")
        assert r.rc != 0 and "AuthorizationFailed" in r.stderr, r.describe()
        assert "Microsoft.Network/virtualNetworks/write" in r.stderr, r.describe()
        # Its notActions subtract: it may not delete the zone it made.
        r = dnsop.az("network", "private-dns", "zone", "delete", "-g", RG_DNS, "-n", zone, "--yes")
        assert r.rc != 0 and "AuthorizationFailed" in r.stderr, r.describe()
        assert [z["name"] for z in vl.az("network", "private-dns", "zone", "list", "-g", RG_DNS)] == [zone]

    def test_listed_and_not_deleted_while_assigned(self, vl: Vaultlink, dnsop: App) -> None:
        roles = vl.az("role", "definition", "list", "--custom-role-only", "true",
                      "--scope", f"{SUB}/resourceGroups/{RG_DNS}")
        assert [r["roleName"] for r in roles] == [DNS_ROLE], roles
        assert roles[0]["permissions"][0]["notActions"] == ["Microsoft.Network/privateDnsZones/delete"]
        r = vl.az("role", "definition", "delete", "--name", DNS_ROLE,
                  "--scope", f"{SUB}/resourceGroups/{RG_DNS}", check=False)
        assert r.rc != 0 and "RoleDefinitionHasAssignments" in r.stderr, r.describe()

    def test_an_update_takes_effect_for_its_holders(self, vl: Vaultlink, dnsop: App) -> None:
        zone = "privatelink.vaultcore.azure.net"
        updated = vl.az("role", "definition", "update", "--role-definition", json.dumps({
            "Name": DNS_ROLE,
            "Description": "Manages private DNS zones, deletes included.",
            "Actions": ["Microsoft.Network/privateDnsZones/*",
                        "Microsoft.Resources/subscriptions/resourceGroups/read"],
            "NotActions": [],
            "AssignableScopes": [f"{SUB}/resourceGroups/{RG_DNS}"],
        }))
        assert updated["description"] == "Manages private DNS zones, deletes included.", updated
        assert updated["permissions"][0]["notActions"] == [], updated
        r = dnsop.az("network", "private-dns", "zone", "delete", "-g", RG_DNS, "-n", zone, "--yes")
        assert r.rc == 0, r.describe()
        assert vl.az("network", "private-dns", "zone", "list", "-g", RG_DNS) == []


# ---------------------------------------------------------------------------------------------
class TestGraphLookups:
    """What az asks Microsoft Graph before everyday commands: the caller's object id, principals
    by app id, names for role assignments."""

    def test_access_policy_vault_gets_the_callers_policy(self, vl: Vaultlink) -> None:
        v = vl.az("keyvault", "create", "-n", "kv-arm-graph", "-g", RG_KV, "-l", "westeurope",
                  "--enable-rbac-authorization", "false")
        policies = v["properties"]["accessPolicies"]
        assert [p["objectId"] for p in policies] == [DEV_OBJECT_ID], policies
        vl.az("keyvault", "secret", "set", "--vault-name", "kv-arm-graph", "-n", "s", "--value", "v")

    def test_assignee_by_app_id_and_names_in_lists(self, vl: Vaultlink, kvcontrib: App) -> None:
        scope = f"{SUB}/resourceGroups/{RG_KV}"
        ra = vl.az("role", "assignment", "create", "--assignee", kvcontrib.app_id, "--role", "Reader",
                   "--scope", scope)
        assert ra["principalId"] == kvcontrib.oid, ra
        listed = vl.az("role", "assignment", "list", "--scope", scope)
        mine = [a for a in listed if a["principalId"] == kvcontrib.oid]
        assert {a["roleDefinitionName"] for a in mine} == {"Reader", KEY_VAULT_CONTRIBUTOR}, listed
        assert all(a["principalName"] for a in mine), mine
