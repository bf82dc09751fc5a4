"""Secrets through Resource Manager (`Microsoft.KeyVault/vaults/secrets`, how ARM templates
create them) with the real management SDK, `azure.mgmt.keyvault.KeyVaultManagementClient`
(`secrets.create_or_update / get / list / update`), run as a user's program after
`eval "$(vaultlink env)"`:

- a PUT makes a version of the data plane's secret: `az keyvault secret show` returns the value;
  a second PUT is 200 and a new version; a PATCH changes metadata in place, or with a value adds
  a version;
- no ARM answer carries the value (the raw bodies are checked, not only the SDK's models);
- ARM's refusals: a name the data plane refuses, a vault that does not exist, a soft-deleted
  secret of the same name (409), a body without a value; none of them writes anything;
- the vault's firewall does not apply (a vault whose default action is Deny takes the PUT while
  its data plane refuses the same caller);
- the control-plane roles decide: Key Vault Contributor writes, Reader reads metadata only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import SUBSCRIPTION_ID, Vaultlink
from dp_fixtures import add_principal, provision
from sdk import run_scenario, scenario

RG = "rg-arm-secrets"
VAULT = "kv-arm-secrets"
LOCKED = "kv-arm-secrets-fw"
VALUE = "arm-only-s3cret-value"
VALUE2 = "arm-only-s3cret-second"
VALUE3 = "arm-only-s3cret-third"


@pytest.fixture(scope="module")
def vl(vaultlink_module: Vaultlink) -> Vaultlink:
    vaultlink_module.login_sp()
    provision(vaultlink_module, RG, VAULT)
    provision(vaultlink_module, RG, LOCKED, "--default-action", "Deny")
    return vaultlink_module


SCRIPT = scenario(
    r'''
    import datetime
    from azure.identity import ClientSecretCredential
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.keyvault.models import (SecretAttributes, SecretCreateOrUpdateParameters,
                                            SecretPatchParameters, SecretPatchProperties,
                                            SecretProperties)

    # argv: the vault's URL (unused), the mode, then where and what; a principal's id and secret
    # (else the environment's).
    mode, sub, rg, vault, locked = sys.argv[2:7]
    values = sys.argv[7].split(",")
    cred = credential() if len(sys.argv) < 10 else ClientSecretCredential(
        os.environ["AZURE_TENANT_ID"], sys.argv[8], sys.argv[9])
    client = KeyVaultManagementClient(cred, sub)
    raw = []  # every ARM answer's body as sent, to look for the value in

    def keep(response):
        raw.append(response.http_response.text())

    def shown(s):
        a = s.properties.attributes
        return {"id": s.id, "name": s.name, "type": s.type, "location": s.location, "tags": s.tags,
                "value": s.properties.value, "content_type": s.properties.content_type,
                "enabled": a.enabled, "exp": a.expires and int(a.expires.timestamp()),
                "created": a.created is not None, "updated": a.updated is not None,
                "uri": s.properties.secret_uri, "uri_version": s.properties.secret_uri_with_version}

    def status(f):
        box = {}
        def hook(response):
            box["status"] = response.http_response.status_code
            keep(response)
        return shown(f(raw_response_hook=hook)), box["status"]

    out = {"api_version": client._config.api_version}
    if mode == "roles":
        out["put"] = expect_error(lambda: client.secrets.create_or_update(
            rg, vault, "by-role", SecretCreateOrUpdateParameters(properties=SecretProperties(value=values[0]))))
        out["get"] = expect_error(lambda: client.secrets.get(rg, vault, "by-role"))
        out["list"] = expect_error(lambda: list(client.secrets.list(rg, vault)))
        out["raw"] = raw
        print(json.dumps(out))
        sys.exit(0)

    expires = datetime.datetime.fromtimestamp(2000000000, datetime.timezone.utc)
    attrs = SecretAttributes(enabled=True, expires=expires)
    params = SecretCreateOrUpdateParameters(
        tags={"source": "arm"},
        properties=SecretProperties(value=values[0], content_type="text/plain", attributes=attrs))
    out["created"], out["created_status"] = status(lambda **kw: client.secrets.create_or_update(rg, vault, "arm-secret", params, **kw))
    again = SecretCreateOrUpdateParameters(properties=SecretProperties(value=values[1]))
    out["again"], out["again_status"] = status(lambda **kw: client.secrets.create_or_update(rg, vault, "arm-secret", again, **kw))
    out["got"], _ = status(lambda **kw: client.secrets.get(rg, vault, "ARM-SECRET", **kw))
    out["listed"] = [shown(s) for s in client.secrets.list(rg, vault, raw_response_hook=keep)]
    meta = SecretPatchParameters(tags={"patched": "yes"}, properties=SecretPatchProperties(
        content_type="application/json", attributes=SecretAttributes(enabled=True)))
    out["patched"], out["patched_status"] = status(lambda **kw: client.secrets.update(rg, vault, "arm-secret", meta, **kw))
    with_value = SecretPatchParameters(properties=SecretPatchProperties(value=values[2]))
    out["patched_value"], out["patched_value_status"] = status(lambda **kw: client.secrets.update(rg, vault, "arm-secret", with_value, **kw))

    # Refusals.
    plain = SecretCreateOrUpdateParameters(properties=SecretProperties(value="x"))
    out["bad_name"] = expect_error(lambda: client.secrets.create_or_update(rg, vault, "bad_name", plain))
    out["long_name"] = expect_error(lambda: client.secrets.create_or_update(rg, vault, "a" * 128, plain))
    out["no_vault"] = expect_error(lambda: client.secrets.create_or_update(rg, "kv-arm-nowhere", "s", plain))
    out["no_value"] = expect_error(lambda: client.secrets.create_or_update(
        rg, vault, "no-value", SecretCreateOrUpdateParameters(properties=SecretProperties(content_type="x"))))
    out["get_missing"] = expect_error(lambda: client.secrets.get(rg, vault, "never-made"))
    out["patch_missing"] = expect_error(lambda: client.secrets.update(rg, vault, "never-made", meta))
    out["deleted"] = expect_error(lambda: client.secrets.create_or_update(rg, vault, "soft-deleted", plain))
    out["deleted_get"] = expect_error(lambda: client.secrets.get(rg, vault, "soft-deleted"))

    # The firewall does not apply to the control plane.
    out["locked"], out["locked_status"] = status(lambda **kw: client.secrets.create_or_update(rg, locked, "behind-fw", plain, **kw))
    out["raw"] = raw
    print(json.dumps(out))
    '''
)


def names(vl: Vaultlink, vault: str) -> list[str]:
    return sorted(s["name"] for s in vl.az("keyvault", "secret", "list", "--vault-name", vault))


def test_secrets_through_resource_manager(vl: Vaultlink, tmp_path: Path) -> None:
    # A soft-deleted secret holds its name.
    vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "soft-deleted", "--value", "old")
    vl.az("keyvault", "secret", "delete", "--vault-name", VAULT, "-n", "soft-deleted")
    o: dict[str, Any] = run_scenario(vl, tmp_path, "arm_secrets.py", SCRIPT, VAULT, "scenario", SUBSCRIPTION_ID,
                                     RG, VAULT, LOCKED, ",".join([VALUE, VALUE2, VALUE3]))
    vault_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"
    c = o["created"]
    assert o["created_status"] == 201 and o["again_status"] == 200, o
    assert c["id"] == f"{vault_id}/secrets/arm-secret", c
    assert (c["name"], c["type"], c["location"]) == ("arm-secret", "Microsoft.KeyVault/vaults/secrets", "westeurope"), c
    assert (c["tags"], c["content_type"], c["enabled"], c["exp"]) == ({"source": "arm"}, "text/plain", True, 2000000000), c
    assert c["created"] and c["updated"], c
    assert c["uri"] == f"https://{VAULT}.vault.azure.net/secrets/arm-secret", c
    assert c["uri_version"].startswith(c["uri"] + "/") and c["uri_version"] != o["again"]["uri_version"], o
    assert o["got"]["uri_version"] == o["again"]["uri_version"], o
    assert [s["name"] for s in o["listed"]] == ["arm-secret"], o["listed"]
    p = o["patched"]
    assert o["patched_status"] == 200 and p["uri_version"] == o["again"]["uri_version"], o
    assert (p["tags"], p["content_type"]) == ({"patched": "yes"}, "application/json"), p
    pv = o["patched_value"]
    assert o["patched_value_status"] == 201 and pv["uri_version"] != p["uri_version"], o
    assert (pv["tags"], pv["content_type"]) == ({"patched": "yes"}, "application/json"), pv

    # The value never comes back from Resource Manager, in any answer.
    for r in o["raw"]:
        assert VALUE not in r and VALUE2 not in r and VALUE3 not in r, r
        assert '"value"' not in json.dumps(json.loads(r).get("properties", {})), r
    for s in [c, o["again"], o["got"], p, pv, *o["listed"]]:
        assert s["value"] is None, s

    # The data plane serves the same secret: its current value, and each earlier version's.
    shown = vl.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "arm-secret")
    assert shown["value"] == VALUE3 and shown["id"] == pv["uri_version"], shown
    assert shown["contentType"] == "application/json" and shown["tags"] == {"patched": "yes"}, shown
    first = vl.az("keyvault", "secret", "show", "--id", c["uri_version"])
    assert first["value"] == VALUE and first["tags"] == {"source": "arm"}, first
    assert vl.az("keyvault", "secret", "show", "--id", o["again"]["uri_version"])["value"] == VALUE2

    # Refusals, in ARM's envelope; none wrote anything.
    assert o["bad_name"]["status"] == 400 and o["bad_name"]["code"] == "BadParameter", o["bad_name"]
    assert "invalid name: bad_name" in o["bad_name"]["message"], o["bad_name"]
    assert o["long_name"]["status"] == 400, o["long_name"]
    assert o["no_vault"]["status"] == 404 and o["no_vault"]["code"] == "ResourceNotFound", o["no_vault"]
    assert o["no_value"]["status"] == 400 and o["no_value"]["code"] == "BadRequest", o["no_value"]
    for k in ("get_missing", "patch_missing", "deleted_get"):
        assert o[k]["status"] == 404 and o[k]["code"] == "ResourceNotFound", (k, o[k])
    assert o["deleted"]["status"] == 409 and o["deleted"]["code"] == "Conflict", o["deleted"]
    assert "deleted but recoverable" in o["deleted"]["message"], o["deleted"]
    assert names(vl, VAULT) == ["arm-secret"], names(vl, VAULT)
    deleted = vl.az("keyvault", "secret", "show-deleted", "--vault-name", VAULT, "-n", "soft-deleted")
    assert deleted["name"] == "soft-deleted", deleted

    # The locked vault took the PUT; its data plane still refuses the same caller.
    assert o["locked_status"] == 201, o
    r = vl.az("keyvault", "secret", "show", "--vault-name", LOCKED, "-n", "behind-fw", check=False)
    assert r.rc != 0 and "ForbiddenByFirewall" in r.stderr, r.describe()


def test_control_plane_roles_decide(vl: Vaultlink, tmp_path: Path) -> None:
    rg_scope = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}"
    seen = {}
    for role in ("Key Vault Contributor", "Reader"):
        who = add_principal(vl, f"arm-secrets-{role.lower().replace(' ', '-')}")
        vl.grant(who["objectId"], role, rg_scope)
        seen[role] = run_scenario(vl, tmp_path, f"roles-{len(seen)}.py", SCRIPT, VAULT, "roles", SUBSCRIPTION_ID,
                                  RG, VAULT, LOCKED, f"{VALUE}-by-role", who["appId"], who["secret"])
    contrib, reader = seen["Key Vault Contributor"], seen["Reader"]
    assert contrib["put"] == "no error" and contrib["get"] == "no error" and contrib["list"] == "no error", contrib
    assert reader["get"] == "no error" and reader["list"] == "no error", reader
    assert reader["put"]["status"] == 403 and reader["put"]["code"] == "AuthorizationFailed", reader
    assert "Microsoft.KeyVault/vaults/secrets/write" in reader["put"]["message"], reader
    for r in contrib["raw"] + reader["raw"]:
        assert VALUE not in r, r
    # The Contributor's secret is the data plane's (read here as the developer).
    shown = vl.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "by-role")
    assert shown["value"] == f"{VALUE}-by-role", shown
