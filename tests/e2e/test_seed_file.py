"""`vaultlink seed FILE` (issue 20, part 3): a declarative file that builds the seed's whole
topology (a resource group, an RBAC vault with public access off, a VNet and its subnet, the
private DNS zone linked to it, a private endpoint with its zone group, a principal and its role
assignment on the vault, a secret), applied through Resource Manager on a running instance and
then checked with the real az. A file whose last entry is bad is refused whole, with the entry's
place and Azure's error, and leaves nothing behind; applying the good file again changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import Vaultlink
from topology import VAULT_ZONE

RG = "rg-seedfile"
VAULT = "kv-seedfile-e2e"
SUB = "${subscription}"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}"
VAULT_ID = f"{RG_ID}/providers/Microsoft.KeyVault/vaults/{VAULT}"
VNET_ID = f"{RG_ID}/providers/Microsoft.Network/virtualNetworks/vnet-seed"
ZONE_ID = f"{RG_ID}/providers/Microsoft.Network/privateDnsZones/{VAULT_ZONE}"
PE_ID = f"{RG_ID}/providers/Microsoft.Network/privateEndpoints/pe-seed"
ROLE = "Key Vault Secrets User"


def topology() -> dict[str, Any]:
    return {
        "principals": [{"name": "seed-reader"}],
        "providers": ["Microsoft.KeyVault"],
        "resources": [
            {"id": RG_ID, "location": "westeurope"},
            {"id": VAULT_ID, "location": "westeurope", "properties": {
                "tenantId": "${tenant}", "sku": {"family": "A", "name": "standard"},
                "enableRbacAuthorization": True, "publicNetworkAccess": "Disabled",
                "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"}}},
            {"id": VNET_ID, "location": "westeurope", "properties": {
                "addressSpace": {"addressPrefixes": ["10.50.0.0/16"]},
                "subnets": [{"name": "pe", "properties": {"addressPrefix": "10.50.1.0/24",
                                                          "privateEndpointNetworkPolicies": "Disabled"}}]}},
            {"id": ZONE_ID, "location": "global", "properties": {}},
            {"id": f"{ZONE_ID}/virtualNetworkLinks/link-seed", "location": "global",
             "properties": {"registrationEnabled": False, "virtualNetwork": {"id": VNET_ID}}},
            {"id": PE_ID, "location": "westeurope", "properties": {
                "subnet": {"id": f"{VNET_ID}/subnets/pe"},
                "privateLinkServiceConnections": [{"name": "pe-seed-conn", "properties": {
                    "privateLinkServiceId": VAULT_ID, "groupIds": ["vault"]}}]}},
            {"id": f"{PE_ID}/privateDnsZoneGroups/default", "properties": {
                "privateDnsZoneConfigs": [{"name": "vaultcore", "properties": {"privateDnsZoneId": ZONE_ID}}]}},
            {"id": f"{VAULT_ID}/providers/Microsoft.Authorization/roleAssignments/"
                   "${guid:" + VAULT + ",seed-reader}",
             "properties": {"roleDefinitionId": "${role:" + ROLE + "}",
                            "principalId": "${principal:seed-reader}", "principalType": "ServicePrincipal"}},
        ],
        "secrets": [{"vault": VAULT, "name": "db-password", "value": "from the seed file"}],
    }


def seed(vl: Vaultlink, path: Path, content: dict[str, Any], check: bool = True) -> Any:
    path.write_text(json.dumps(content))
    return vl.run_vaultlink("seed", str(path), "--data-dir", str(vl.data_dir), check=check)


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    return logged_in


def test_a_bad_entry_refuses_the_whole_file(vl: Vaultlink, tmp_path: Path) -> None:
    bad = topology()
    bad["resources"].append({"id": f"{VNET_ID}/subnets/outside", "properties": {"addressPrefix": "10.99.0.0/24"}})
    out = seed(vl, tmp_path / "bad.json", bad, check=False)
    assert out.returncode != 0, out.stdout
    assert f"resources[{len(bad['resources']) - 1}]" in out.stderr, out.stderr
    assert "400 NetcfgSubnetRangeOutsideVnet" in out.stderr, out.stderr
    # Nothing of it was written: no group, no vault, no principal.
    assert vl.az("group", "exists", "-n", RG) is False
    assert [p for p in json.loads(vl.run_vaultlink("principal", "list", "--data-dir", str(vl.data_dir)).stdout)
            if p["displayName"] == "seed-reader"] == []


def test_unknown_fields_and_references_are_refused(vl: Vaultlink, tmp_path: Path) -> None:
    out = seed(vl, tmp_path / "typo.json", {"resource": []}, check=False)
    assert out.returncode != 0 and "unknown field `resource`" in out.stderr, out.stderr
    out = seed(vl, tmp_path / "ref.json", {"resources": [{"id": "/subscriptions/${subscriptoin}/resourceGroups/x",
                                                          "location": "westeurope"}]}, check=False)
    assert out.returncode != 0 and "unknown reference '${subscriptoin}'" in out.stderr, out.stderr


def test_the_seed_topology_as_az_sees_it(vl: Vaultlink, tmp_path: Path) -> None:
    answer = json.loads(seed(vl, tmp_path / "seed.json", topology()).stdout)
    reader = answer["principals"][0]
    assert reader["name"] == "seed-reader" and reader["secret"], answer
    assert answer["records"] > 8, answer

    vault = vl.az("keyvault", "show", "-n", VAULT)
    assert vault["properties"]["publicNetworkAccess"] == "Disabled"
    assert vault["properties"]["networkAcls"]["defaultAction"] == "Deny"
    assert vault["properties"]["enableRbacAuthorization"] is True
    subnet = vl.az("network", "vnet", "subnet", "show", "-g", RG, "--vnet-name", "vnet-seed", "-n", "pe")
    assert subnet["addressPrefix"] == "10.50.1.0/24"
    pe = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", "pe-seed")
    assert pe["privateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]["status"] == "Approved"
    nic = vl.az("network", "nic", "show", "--ids", pe["networkInterfaces"][0]["id"])
    ip = nic["ipConfigurations"][0]["privateIPAddress"]
    assert ip.startswith("10.50.1."), ip
    link = vl.az("network", "private-dns", "link", "vnet", "show", "-g", RG, "-z", VAULT_ZONE, "-n", "link-seed")
    assert link["virtualNetwork"]["id"].lower().endswith("/virtualnetworks/vnet-seed")
    records = vl.az("network", "private-dns", "record-set", "a", "list", "-g", RG, "-z", VAULT_ZONE)
    assert [r["aRecords"][0]["ipv4Address"] for r in records if r["name"] == VAULT] == [ip], records
    roles = vl.az("role", "assignment", "list", "--scope", vault["id"])
    assert [(r["principalId"], r["roleDefinitionName"]) for r in roles] == [(reader["objectId"], ROLE)], roles
    # The secret is there (read through Resource Manager: the vault's data plane is private).
    secret = vl.az("rest", "--method", "get", "--url",
                   f"https://management.azure.com{vault['id']}/secrets/db-password?api-version=2023-07-01")
    assert secret["name"] == "db-password", secret
    # The new principal signs in, and its role lets it read the secret through the endpoint only.
    vl.login_sp(reader["appId"], reader["secret"])
    try:
        denied = vl.az_fail("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "db-password")
        assert "ForbiddenByConnection" in denied.stderr or "Public network access is disabled" in denied.stderr, \
            denied.stderr
    finally:
        vl.login_sp()

    # Applied again, the file changes nothing and shows no secret again.
    again = json.loads(seed(vl, tmp_path / "seed.json", topology()).stdout)
    assert again["principals"] == [{**{k: reader[k] for k in ("name", "appId", "objectId", "tenant")},
                                    "existing": True}], again
    assert vl.az("network", "private-endpoint", "show", "-g", RG, "-n", "pe-seed")["id"] == pe["id"]
    assert len(vl.az("role", "assignment", "list", "--scope", vault["id"])) == 1


OPEN_RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-seedfile-objects"


def vault_entry(name: str, public: str) -> dict[str, Any]:
    return {"id": f"{OPEN_RG_ID}/providers/Microsoft.KeyVault/vaults/{name}", "location": "westeurope",
            "properties": {"tenantId": "${tenant}", "sku": {"family": "A", "name": "standard"},
                           "enableRbacAuthorization": True, "publicNetworkAccess": public}}


def test_keys_and_certificates(vl: Vaultlink, tmp_path: Path) -> None:
    vault = "kv-seedfile-objects"
    content = {
        "providers": ["Microsoft.KeyVault"],
        "resources": [
            {"id": OPEN_RG_ID, "location": "westeurope"},
            vault_entry(vault, "Enabled"),
            {"id": f"{OPEN_RG_ID}/providers/Microsoft.KeyVault/vaults/{vault}/keys/cmk",
             "properties": {"kty": "EC", "curveName": "P-384"}},
        ],
        "certificates": [{"vault": vault, "name": "web", "tags": {"from": "seed"}}],
    }
    answer = json.loads(seed(vl, tmp_path / "objects.json", content).stdout)
    assert answer["certificates"] == [{"vault": vault, "name": "web"}], answer
    key = vl.az("keyvault", "key", "show", "--vault-name", vault, "-n", "cmk")
    assert (key["key"]["kty"], key["key"]["crv"]) == ("EC", "P-384"), key
    cert = vl.az("keyvault", "certificate", "show", "--vault-name", vault, "-n", "web")
    assert cert["policy"]["x509CertificateProperties"]["subject"] == "CN=web", cert
    assert cert["policy"]["issuerParameters"]["name"] == "Self" and cert["tags"] == {"from": "seed"}, cert
    # Applied again: the certificate is kept and the key not renewed.
    again = json.loads(seed(vl, tmp_path / "objects.json", content).stdout)
    assert again["certificates"] == [{"vault": vault, "name": "web", "existing": True}], again
    for kind in ("key", "certificate"):
        versions = vl.az("keyvault", kind, "list-versions", "--vault-name", vault, "-n",
                         "cmk" if kind == "key" else "web")
        assert len(versions) == 1, (kind, versions)

    # Certificates go through the data plane from this machine: a vault closed to it refuses
    # the certificate with the firewall's 403, and the whole file is refused.
    closed = {"resources": [vault_entry("kv-seedfile-closed", "Disabled")],
              "certificates": [{"vault": "kv-seedfile-closed", "name": "web"}]}
    out = seed(vl, tmp_path / "closed.json", closed, check=False)
    assert out.returncode != 0 and "certificates[0] (kv-seedfile-closed/web): 403" in out.stderr, out.stderr
    assert "ForbiddenByConnection" in out.stderr or "Public network access is disabled" in out.stderr, out.stderr
    assert vl.az("keyvault", "list", "-g", "rg-seedfile-objects", "--query", "[].name") == [vault]


def test_seed_needs_a_running_instance(tmp_path: Path, vl: Vaultlink) -> None:
    empty = tmp_path / "no-server"
    empty.mkdir()
    (tmp_path / "s.json").write_text("{}")
    out = vl.run_vaultlink("seed", str(tmp_path / "s.json"), "--data-dir", str(empty), check=False)
    assert out.returncode != 0 and "serve --seed" in out.stderr, out.stderr


def test_serve_applies_a_seed_file_at_start(tmp_path: Path) -> None:
    """`serve --seed FILE`: the instance is ready with the file's state; at the next start the
    same file changes nothing (the principal is not added twice)."""
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"principals": [{"name": "boot-app"}], "resources": [
        {"id": f"/subscriptions/{SUB}/resourceGroups/rg-boot", "location": "westeurope", "tags": {"from": "seed"}}]}))
    vl = Vaultlink(tmp_path / "work", extra_args=("--seed", str(path)))
    vl.start()
    try:
        vl.login_sp()
        assert vl.az("group", "show", "-n", "rg-boot")["tags"] == {"from": "seed"}
        vl.restart()
        names = [p["displayName"] for p in json.loads(
            vl.run_vaultlink("principal", "list", "--data-dir", str(vl.data_dir)).stdout)]
        assert names.count("boot-app") == 1, names
        assert vl.az("group", "show", "-n", "rg-boot")["name"] == "rg-boot"
    finally:
        vl.close()
