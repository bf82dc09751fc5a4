"""Data-plane authorization with the real az: RBAC vaults and access-policy vaults.

A second app (`vaultlink principal add`) logs in with `az login --service-principal` in its
own AZURE_CONFIG_DIR. The developer (Owner + Key Vault Administrator on the subscription)
writes secrets and grants access; the app's reads and writes are refused or allowed exactly
as keyvault-rbac.md §2c/§3 say:
- RBAC vault: no role -> 403 Forbidden/ForbiddenByRbac; Key Vault Secrets User at vault
  scope -> get and list succeed, set -> 403 ForbiddenByRbac (setSecret action); the assignment
  deleted -> 403 again.
- Access-policy vault (--enable-rbac-authorization false): no policy -> 403 AccessDenied;
  `az keyvault set-policy --secret-permissions get list` -> get and list succeed, set -> 403
  AccessDenied naming `secrets set`; a Key Vault Secrets Officer role assignment does not
  help on such a vault (roles are ignored there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import SUBSCRIPTION_ID, TENANT_ID, AzResult, Vaultlink
from dp_fixtures import App, add_principal, jwt_claims, provision

RG = "rg-authz"
RBAC_VAULT = "kv-authz-rbac"
AP_VAULT = "kv-authz-policies"
SECRETS_USER_ID = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER_ID = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
ISS = f"https://sts.windows.net/{TENANT_ID}/"


def vault_id(name: str) -> str:
    return (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}"
            f"/providers/Microsoft.KeyVault/vaults/{name}")


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    provision(logged_in, RG, RBAC_VAULT)
    # An access-policy vault. --no-self-perms: the developer's own policy is set below with
    # set-policy (test_arm_rbac.py covers the create that adds it through Microsoft Graph).
    v = provision(logged_in, RG, AP_VAULT, "--enable-rbac-authorization", "false",
                  "--no-self-perms")
    assert v["properties"]["enableRbacAuthorization"] is False, v
    # The developer needs a policy of its own on the access-policy vault to write into it.
    token = logged_in.az("account", "get-access-token", "--resource",
                         "https://vault.azure.net")["accessToken"]
    dev_oid = jwt_claims(token)["oid"]
    logged_in.az("keyvault", "set-policy", "-n", AP_VAULT, "-g", RG, "--object-id", dev_oid,
                 "--secret-permissions", "all")
    for vault in (RBAC_VAULT, AP_VAULT):
        logged_in.az("keyvault", "secret", "set", "--vault-name", vault, "-n", "shared",
                     "--value", f"readable-in-{vault}")
    return logged_in


@pytest.fixture(scope="module")
def app(vl: Vaultlink, tmp_path_factory: pytest.TempPathFactory) -> App:
    # `vaultlink principal add` while the server runs is not seen by the running server
    # (test_login_modes.py::test_added_principal_can_log_in covers that); add it while the
    # server is stopped, as the brief allows, so the authorization matrix can be tested.
    code = vl.stop()
    assert code == 0, f"vaultlink exited with {code} on SIGTERM"
    info = add_principal(vl, "e2e-authz-app")
    vl.start()
    a = App(vl, info, tmp_path_factory.mktemp("app-azure-config"))
    r = a.az("login", "--service-principal", "-u", a.app_id, f"--password={info['secret']}",
             "--tenant", TENANT_ID, "--allow-no-subscriptions")
    assert r.rc == 0, r.describe()
    return a


def assert_forbidden_by_rbac(r: AzResult, app: App, action: str, vault: str, name: str) -> None:
    assert r.rc != 0, "expected 403 ForbiddenByRbac, the command succeeded\n" + r.describe()
    err = r.stderr
    assert "Traceback" not in err, r.describe()
    assert "(Forbidden) Caller is not authorized to perform action on resource." in err, err
    assert '"code": "ForbiddenByRbac"' in err, err
    assert f"Caller: appid={app.app_id};oid={app.oid};iss={ISS}" in err, err
    assert f"Action: '{action}'" in err, err
    resource = (f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RG.lower()}/providers/"
                f"microsoft.keyvault/vaults/{vault.lower()}/secrets/{name.lower()}")
    assert f"Resource: '{resource}'" in err, err
    assert f"Vault: {vault};location=westeurope" in err, err


def assert_access_denied(r: AzResult, app: App, permission: str, vault: str) -> None:
    assert r.rc != 0, "expected 403 AccessDenied, the command succeeded\n" + r.describe()
    err = r.stderr
    assert "Traceback" not in err, r.describe()
    msg = (f"The user, group or application 'appid={app.app_id};oid={app.oid};iss={ISS}' "
           f"does not have secrets {permission} permission on key vault "
           f"'{vault};location=westeurope'.")
    assert msg in err, err
    assert "Code: Forbidden" in err, err
    assert '"code": "AccessDenied"' in err, err


# ---------------------------------------------------------------------------------------------
class TestRbacVault:
    def test_no_role_is_forbidden(self, vl: Vaultlink, app: App) -> None:
        r = app.show(RBAC_VAULT, "shared")
        assert_forbidden_by_rbac(r, app, "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                                 RBAC_VAULT, "shared")
        assert "readable-in-" not in r.stdout + r.stderr
        r = app.set(RBAC_VAULT, "from-app", "x")
        assert_forbidden_by_rbac(r, app, "Microsoft.KeyVault/vaults/secrets/setSecret/action",
                                 RBAC_VAULT, "from-app")

    def test_secrets_user_reads_but_cannot_write(self, vl: Vaultlink, app: App) -> None:
        ra = vl.az("role", "assignment", "create", "--assignee-object-id", app.oid,
                   "--assignee-principal-type", "ServicePrincipal",
                   "--role", "Key Vault Secrets User", "--scope", vault_id(RBAC_VAULT))
        assert ra["principalId"] == app.oid, ra
        assert ra["roleDefinitionId"].endswith(f"/roleDefinitions/{SECRETS_USER_ID}"), ra
        assert ra["scope"] == vault_id(RBAC_VAULT), ra
        try:
            r = app.show(RBAC_VAULT, "shared")
            assert r.rc == 0, r.describe()
            assert r.json["value"] == f"readable-in-{RBAC_VAULT}", r.json
            r = app.list(RBAC_VAULT)
            assert r.rc == 0, r.describe()
            assert "shared" in {i["name"] for i in r.json}, r.json
            r = app.set(RBAC_VAULT, "from-app", "x")
            assert_forbidden_by_rbac(r, app,
                                     "Microsoft.KeyVault/vaults/secrets/setSecret/action",
                                     RBAC_VAULT, "from-app")
            r = app.az("keyvault", "secret", "delete", "--vault-name", RBAC_VAULT, "-n", "shared")
            assert_forbidden_by_rbac(r, app, "Microsoft.KeyVault/vaults/secrets/delete",
                                     RBAC_VAULT, "shared")
            # Nothing was written by the refused calls.
            assert vl.az("keyvault", "secret", "show", "--vault-name", RBAC_VAULT,
                         "-n", "shared")["value"] == f"readable-in-{RBAC_VAULT}"
            vl.az_fail("keyvault", "secret", "show", "--vault-name", RBAC_VAULT, "-n", "from-app")
        finally:
            vl.az("role", "assignment", "delete", "--ids", ra["id"], output=None)
        # The assignment is gone: refused again.
        r = app.show(RBAC_VAULT, "shared")
        assert_forbidden_by_rbac(r, app, "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                                 RBAC_VAULT, "shared")

    def test_secrets_officer_at_resource_group_scope_writes(self, vl: Vaultlink, app: App
                                                            ) -> None:
        rg_scope = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}"
        ra = vl.az("role", "assignment", "create", "--assignee-object-id", app.oid,
                   "--assignee-principal-type", "ServicePrincipal",
                   "--role", "Key Vault Secrets Officer", "--scope", rg_scope)
        assert ra["roleDefinitionId"].endswith(f"/roleDefinitions/{SECRETS_OFFICER_ID}"), ra
        try:
            r = app.set(RBAC_VAULT, "from-app", "written-by-app")
            assert r.rc == 0, r.describe()
            assert vl.az("keyvault", "secret", "show", "--vault-name", RBAC_VAULT,
                         "-n", "from-app")["value"] == "written-by-app"
        finally:
            vl.az("role", "assignment", "delete", "--ids", ra["id"], output=None)


class TestAccessPolicyVault:
    def test_no_policy_is_access_denied(self, vl: Vaultlink, app: App) -> None:
        r = app.show(AP_VAULT, "shared")
        assert_access_denied(r, app, "get", AP_VAULT)
        assert "readable-in-" not in r.stdout + r.stderr
        assert_access_denied(app.list(AP_VAULT), app, "list", AP_VAULT)

    def test_rbac_roles_are_ignored_on_a_policy_vault(self, vl: Vaultlink, app: App) -> None:
        ra = vl.az("role", "assignment", "create", "--assignee-object-id", app.oid,
                   "--assignee-principal-type", "ServicePrincipal",
                   "--role", "Key Vault Secrets Officer", "--scope", vault_id(AP_VAULT))
        try:
            assert_access_denied(app.show(AP_VAULT, "shared"), app, "get", AP_VAULT)
        finally:
            vl.az("role", "assignment", "delete", "--ids", ra["id"], output=None)

    def test_get_list_policy_reads_but_cannot_write(self, vl: Vaultlink, app: App) -> None:
        v = vl.az("keyvault", "set-policy", "-n", AP_VAULT, "-g", RG, "--object-id", app.oid,
                  "--secret-permissions", "get", "list")
        entries = [p for p in v["properties"]["accessPolicies"] if p["objectId"] == app.oid]
        assert len(entries) == 1, v["properties"]["accessPolicies"]
        assert sorted(p.lower() for p in entries[0]["permissions"]["secrets"]) == ["get", "list"]
        assert entries[0]["tenantId"] == TENANT_ID, entries

        r = app.show(AP_VAULT, "shared")
        assert r.rc == 0, r.describe()
        assert r.json["value"] == f"readable-in-{AP_VAULT}", r.json
        r = app.list(AP_VAULT)
        assert r.rc == 0, r.describe()
        assert "shared" in {i["name"] for i in r.json}, r.json

        r = app.set(AP_VAULT, "from-app", "x")
        assert_access_denied(r, app, "set", AP_VAULT)
        r = app.az("keyvault", "secret", "delete", "--vault-name", AP_VAULT, "-n", "shared")
        assert_access_denied(r, app, "delete", AP_VAULT)
        vl.az_fail("keyvault", "secret", "show", "--vault-name", AP_VAULT, "-n", "from-app")

        # Removing the policy takes the access away again.
        vl.az("keyvault", "delete-policy", "-n", AP_VAULT, "-g", RG, "--object-id", app.oid)
        assert_access_denied(app.show(AP_VAULT, "shared"), app, "get", AP_VAULT)
