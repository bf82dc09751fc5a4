"""Keys through Resource Manager (`Microsoft.KeyVault/vaults/keys`, how ARM templates and Bicep
create customer-managed keys) with the real management SDK,
`azure.mgmt.keyvault.KeyVaultManagementClient` (`keys.create_if_not_exist / get / list /
list_versions / get_version`), run as a user's program after `eval "$(vaultlink env)"`, and with
`az deployment group create`:

- a PUT creates the first version of a key the data plane serves (`az keyvault key show`, and it
  encrypts); a second PUT is Azure's "create if not exist": 200 with the same version, nothing
  written, whatever the body asks;
- versions made by the data plane (`az keyvault key rotate`) are listed and read through ARM;
- no ARM answer carries key material (the modulus the data plane shows is not in any raw body);
- refusals in ARM's envelope, none writing anything; the vault firewall does not apply;
- the control-plane roles decide (Reader is refused `Microsoft.KeyVault/vaults/keys/write`);
- a template creates a key and its output `reference(...).keyUriWithVersion` is the data
  plane's key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import SUBSCRIPTION_ID, Vaultlink
from dp_fixtures import add_principal, provision
from sdk import run_scenario, scenario, unb64u

RG = "rg-arm-keys"
VAULT = "kv-arm-keys"
LOCKED = "kv-arm-keys-fw"


@pytest.fixture(scope="module")
def vl(vaultlink_module: Vaultlink) -> Vaultlink:
    vaultlink_module.login_sp()
    provision(vaultlink_module, RG, VAULT)
    provision(vaultlink_module, RG, LOCKED, "--default-action", "Deny")
    return vaultlink_module


SCRIPT = scenario(
    r'''
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.keyvault.models import KeyAttributes, KeyCreateParameters, KeyProperties

    # argv: the vault's URL (unused), the mode, where, and a principal's id and secret (else the
    # environment's).
    mode, sub, rg, vault, locked = sys.argv[2:7]
    cred = credential() if len(sys.argv) < 9 else ClientSecretCredential(
        os.environ["AZURE_TENANT_ID"], sys.argv[7], sys.argv[8])
    client = KeyVaultManagementClient(cred, sub)
    raw = []  # every ARM answer as sent: (status, body)

    def call(f, *args):
        box = {}
        def hook(response):
            box["status"] = response.http_response.status_code
            raw.append(response.http_response.text())
            box["body"] = json.loads(raw[-1])
        f(*args, raw_response_hook=hook)
        return {"status": box["status"], "body": box["body"]}

    def create(name, props, tags=None, where=vault):
        return call(client.keys.create_if_not_exist, rg, where, name,
                    KeyCreateParameters(tags=tags, properties=props))

    out = {"api_version": client._config.api_version}
    if mode == "roles":
        out["put"] = expect_error(lambda: client.keys.create_if_not_exist(
            rg, vault, "by-role", KeyCreateParameters(properties=KeyProperties(kty="RSA"))))
        out["get"] = expect_error(lambda: client.keys.get(rg, vault, "cmk"))
        out["list"] = expect_error(lambda: list(client.keys.list(rg, vault)))
        print(json.dumps(out))
        sys.exit(0)

    if mode == "create":
        attrs = KeyAttributes(enabled=True, expires=2000000000)
        out["created"] = create("cmk", KeyProperties(kty="RSA", key_size=3072, key_ops=["encrypt", "decrypt"],
                                                     attributes=attrs), {"source": "arm"})
        out["again"] = create("cmk", KeyProperties(kty="EC", curve_name="P-256"))
        out["ec"] = create("ec-cmk", KeyProperties(kty="EC", curve_name="P-384"))
        plain = KeyProperties(kty="RSA")
        out["bad_name"] = expect_error(lambda: create("bad_name", plain))
        out["no_vault"] = expect_error(lambda: create("k", plain, where="kv-arm-nowhere"))
        out["bad_size"] = expect_error(lambda: create("bad-size", KeyProperties(kty="RSA", key_size=1000)))
        out["bad_kty"] = expect_error(lambda: create("bad-kty", KeyProperties(kty="oct")))
        out["exportable"] = expect_error(lambda: create("exportable", KeyProperties(
            kty="RSA", attributes=KeyAttributes(exportable=True))))
        out["deleted"] = expect_error(lambda: create("soft-deleted", plain))
        out["get_missing"] = expect_error(lambda: client.keys.get(rg, vault, "never-made"))
        out["locked"] = create("behind-fw", plain, where=locked)
    else:
        out["got"] = call(client.keys.get, rg, vault, "CMK")
        out["listed"] = [k.name for k in client.keys.list(rg, vault)]
        out["versions"] = [v.name for v in client.keys.list_versions(rg, vault, "cmk")]
        out["version"] = call(client.keys.get_version, rg, vault, "cmk", out["versions"][0])
        out["version_missing"] = expect_error(
            lambda: client.keys.get_version(rg, vault, "cmk", "0123456789abcdef0123456789abcdef"))
    out["raw"] = raw
    print(json.dumps(out))
    '''
)


def keys_in(vl: Vaultlink, vault: str) -> list[str]:
    return sorted(k["name"] for k in vl.az("keyvault", "key", "list", "--vault-name", vault))


def version_of(uri: str) -> str:
    return uri.rsplit("/", 1)[1]


@pytest.mark.incremental
class TestKeysThroughResourceManager:
    seen: dict[str, Any] = {}

    def test_01_create_if_not_exist(self, vl: Vaultlink, tmp_path: Path) -> None:
        vl.az("keyvault", "key", "create", "--vault-name", VAULT, "-n", "soft-deleted", "--kty", "RSA")
        vl.az("keyvault", "key", "delete", "--vault-name", VAULT, "-n", "soft-deleted")
        o = run_scenario(vl, tmp_path, "arm_keys.py", SCRIPT, VAULT, "create", SUBSCRIPTION_ID, RG, VAULT, LOCKED)
        self.seen.update(o)
        vault_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"
        c, again = o["created"], o["again"]
        assert c["status"] == 200 and again["status"] == 200, o
        b = c["body"]
        assert (b["id"], b["name"], b["type"]) == (f"{vault_id}/keys/cmk", "cmk", "Microsoft.KeyVault/vaults/keys"), b
        assert (b["location"], b["tags"]) == ("westeurope", {"source": "arm"}), b
        p = b["properties"]
        assert (p["kty"], p["keySize"], p["keyOps"]) == ("RSA", 3072, ["encrypt", "decrypt"]), p
        assert p["attributes"]["exp"] == 2000000000 and p["attributes"]["enabled"] is True, p
        assert p["attributes"]["recoveryLevel"] == "Recoverable+Purgeable", p
        assert p["keyUri"] == f"https://{VAULT}.vault.azure.net:443/keys/cmk", p
        assert p["keyUriWithVersion"].startswith(p["keyUri"] + "/"), p
        # The second PUT asked for an EC key; the RSA key came back, the same version.
        assert again["body"]["properties"]["kty"] == "RSA", again
        assert again["body"]["properties"]["keyUriWithVersion"] == p["keyUriWithVersion"], again
        ec = o["ec"]["body"]["properties"]
        assert (ec["kty"], ec["curveName"], ec["keyOps"]) == ("EC", "P-384", ["sign", "verify"]), ec
        assert "keySize" not in ec, ec

    def test_02_the_data_plane_serves_the_same_key(self, vl: Vaultlink) -> None:
        p = self.seen["created"]["body"]["properties"]
        shown = vl.az("keyvault", "key", "show", "--vault-name", VAULT, "-n", "cmk")
        assert version_of(shown["key"]["kid"]) == version_of(p["keyUriWithVersion"]), shown
        assert shown["key"]["kty"] == "RSA" and len(unb64u(shown["key"]["n"])) * 8 == 3072, shown
        assert shown["key"]["keyOps"] == ["encrypt", "decrypt"] and shown["tags"] == {"source": "arm"}, shown
        enc = vl.az("keyvault", "key", "encrypt", "--vault-name", VAULT, "-n", "cmk", "--algorithm", "RSA-OAEP-256",
                    "--value", "aGVsbG8=", "--data-type", "base64")
        dec = vl.az("keyvault", "key", "decrypt", "--vault-name", VAULT, "-n", "cmk", "--algorithm", "RSA-OAEP-256",
                    "--value", enc["result"], "--data-type", "base64")
        assert dec["result"] == "aGVsbG8=", dec
        self.seen["modulus"] = shown["key"]["n"]
        # No ARM answer carries the key's public or private numbers.
        for body in self.seen["raw"]:
            assert self.seen["modulus"] not in body, body
            props = json.loads(body).get("properties", {})
            assert not {"n", "e", "d", "p", "q", "key"} & set(props), body

    def test_03_refusals_write_nothing(self, vl: Vaultlink) -> None:
        o = self.seen
        assert o["bad_name"]["status"] == 400 and o["bad_name"]["code"] == "BadParameter", o["bad_name"]
        assert o["no_vault"]["status"] == 404 and o["no_vault"]["code"] == "ResourceNotFound", o["no_vault"]
        assert o["bad_size"]["status"] == 400 and o["bad_kty"]["status"] == 400, o
        assert o["exportable"]["status"] == 400 and "exportable" in o["exportable"]["message"], o["exportable"]
        assert o["deleted"]["status"] == 409 and o["deleted"]["code"] == "Conflict", o["deleted"]
        assert o["get_missing"]["status"] == 404 and o["get_missing"]["code"] == "ResourceNotFound", o
        assert keys_in(vl, VAULT) == ["cmk", "ec-cmk"], keys_in(vl, VAULT)
        # The firewall does not apply to the control plane; the data plane still refuses.
        assert o["locked"]["status"] == 200, o["locked"]
        r = vl.az("keyvault", "key", "show", "--vault-name", LOCKED, "-n", "behind-fw", check=False)
        assert r.rc != 0 and "ForbiddenByFirewall" in r.stderr, r.describe()

    def test_04_versions_the_data_plane_made(self, vl: Vaultlink, tmp_path: Path) -> None:
        rotated = vl.az("keyvault", "key", "rotate", "--vault-name", VAULT, "-n", "cmk")
        o = run_scenario(vl, tmp_path, "arm_keys_read.py", SCRIPT, VAULT, "read", SUBSCRIPTION_ID, RG, VAULT, LOCKED)
        first = version_of(self.seen["created"]["body"]["properties"]["keyUriWithVersion"])
        assert o["versions"] == [first, version_of(rotated["key"]["kid"])], o["versions"]
        got = o["got"]["body"]["properties"]
        assert version_of(got["keyUriWithVersion"]) == version_of(rotated["key"]["kid"]), got
        assert o["listed"] == ["cmk", "ec-cmk"], o["listed"]
        v = o["version"]["body"]
        assert (v["name"], v["type"]) == (first, "Microsoft.KeyVault/vaults/keys/versions"), v
        assert v["id"].endswith(f"/keys/cmk/versions/{first}") and v["properties"]["keySize"] == 3072, v
        assert o["version_missing"]["status"] == 404, o["version_missing"]
        for body in o["raw"]:
            assert self.seen["modulus"] not in body, body


def test_control_plane_roles_decide(vl: Vaultlink, tmp_path: Path) -> None:
    vl.az("keyvault", "key", "create", "--vault-name", VAULT, "-n", "cmk", "--kty", "RSA")
    rg_scope = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}"
    seen = {}
    for role in ("Key Vault Contributor", "Reader"):
        who = add_principal(vl, f"arm-keys-{role.lower().replace(' ', '-')}")
        vl.grant(who["objectId"], role, rg_scope)
        seen[role] = run_scenario(vl, tmp_path, f"roles-{len(seen)}.py", SCRIPT, VAULT, "roles", SUBSCRIPTION_ID,
                                  RG, VAULT, LOCKED, who["appId"], who["secret"])
    contrib, reader = seen["Key Vault Contributor"], seen["Reader"]
    assert contrib["put"] == "no error" and contrib["get"] == "no error" and contrib["list"] == "no error", contrib
    assert reader["get"] == "no error" and reader["list"] == "no error", reader
    assert reader["put"]["status"] == 403 and reader["put"]["code"] == "AuthorizationFailed", reader
    assert "Microsoft.KeyVault/vaults/keys/write" in reader["put"]["message"], reader
    assert "by-role" in keys_in(vl, VAULT)


TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"vaultName": {"type": "string"}},
    "resources": [{
        "type": "Microsoft.KeyVault/vaults/keys",
        "apiVersion": "2023-07-01",
        "name": "[format('{0}/{1}', parameters('vaultName'), 'tpl-cmk')]",
        "properties": {"kty": "RSA", "keySize": 2048,
                       "rotationPolicy": {"attributes": {"expiryTime": "P1Y"},
                                          "lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"},
                                                               "action": {"type": "rotate"}}]}},
    }],
    "outputs": {"keyUri": {"type": "string", "value": "[reference(resourceId('Microsoft.KeyVault/vaults/keys', "
                                                      "parameters('vaultName'), 'tpl-cmk'), '2023-07-01')"
                                                      ".keyUriWithVersion]"}},
}


def test_a_template_creates_a_key(vl: Vaultlink, tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(TEMPLATE))
    out = vl.az("deployment", "group", "create", "-g", RG, "-n", "cmk", "--template-file", str(path),
                "--parameters", f"vaultName={VAULT}")
    props = out["properties"]
    assert props["provisioningState"] == "Succeeded", props
    uri = props["outputs"]["keyUri"]["value"]
    shown = vl.az("keyvault", "key", "show", "--vault-name", VAULT, "-n", "tpl-cmk")
    assert uri == f"https://{VAULT}.vault.azure.net:443/keys/tpl-cmk/{version_of(shown['key']['kid'])}", (uri, shown)
    policy = vl.az("keyvault", "key", "rotation-policy", "show", "--vault-name", VAULT, "-n", "tpl-cmk")
    assert policy["expiresIn"] == "P1Y", policy
    assert [a["action"].lower() for a in policy["lifetimeActions"]] == ["rotate"], policy
    # Deployed again, the key stays as it is (create if not exist): one version.
    vl.az("deployment", "group", "create", "-g", RG, "-n", "cmk-again", "--template-file", str(path),
          "--parameters", f"vaultName={VAULT}")
    versions = vl.az("keyvault", "key", "list-versions", "--vault-name", VAULT, "-n", "tpl-cmk")
    assert len(versions) == 1, versions
