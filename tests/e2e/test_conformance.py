"""What the clients' own test suites expect (issue 15), each with the real client that showed it:

- a management SDK newer than vaultlink (azure-mgmt-keyvault 14.1.0 sends api-version
  2026-05-15) creates, reads, lists and deletes a vault; a well-formed version newer than any
  vaultlink knows is served as the newest known, on Resource Manager and on the data plane, while
  malformed and too-old versions are still refused (`az rest`);
- listing the versions of a name that does not exist is an empty list (the Python secrets, keys
  and certificates SDKs page through it without a 404);
- Azure's region list: display names, paired regions, the EUAP regions the CLI's own tests use
  (`az account list-locations`, `az group create -l centraluseuap`);
- `az provider unregister` passes through `Unregistering` to `Unregistered`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from conftest import SUBSCRIPTION_ID, Vaultlink
from dp_fixtures import provision, vault_url
from sdk import NEWEST, run_scenario, scenario, sdk_overlay, sdk_pin

RG = "rg-conformance"
VAULT = "kv-conformance"
MGMT_KEYVAULT = sdk_pin("azure-mgmt-keyvault", "14.1.0")  # the newest release sends api-version 2026-05-15
CERTS_SDK = sdk_pin("azure-keyvault-certificates", "4.12.0")


@pytest.fixture(scope="module")
def vl(vaultlink_module: Vaultlink) -> Vaultlink:
    vaultlink_module.login_sp()
    provision(vaultlink_module, RG, VAULT)
    return vaultlink_module


def rest(vl: Vaultlink, method: str, url: str, *extra: str) -> Any:
    return vl.az("rest", "--method", method, "--url", url, *extra, check=False)


MGMT_SCRIPT = scenario(
    r'''
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.keyvault.models import (Sku, VaultCreateOrUpdateParameters,
                                            VaultProperties)

    sub, rg, name = sys.argv[2], sys.argv[3], sys.argv[4]
    client = KeyVaultManagementClient(credential(), sub)
    params = VaultCreateOrUpdateParameters(
        location="westeurope",
        properties=VaultProperties(tenant_id=os.environ["AZURE_TENANT_ID"],
                                   sku=Sku(family="A", name="standard"),
                                   enable_rbac_authorization=True))
    created = client.vaults.begin_create_or_update(rg, name, params).result()
    got = client.vaults.get(rg, name)
    listed = [v.name for v in client.vaults.list_by_resource_group(rg)]
    client.vaults.delete(rg, name)
    gone = expect_error(lambda: client.vaults.get(rg, name))
    print(json.dumps({
        "api_version": client._config.api_version,
        "created": created.name, "uri": got.properties.vault_uri,
        "rbac": got.properties.enable_rbac_authorization, "listed": listed, "gone": gone,
    }))
    '''
)


def test_newest_management_sdk_creates_and_deletes_a_vault(vl: Vaultlink, tmp_path: Path) -> None:
    overlay = sdk_overlay("azure-mgmt-keyvault", MGMT_KEYVAULT)
    o = run_scenario(vl, tmp_path, "mgmt.py", MGMT_SCRIPT, VAULT, SUBSCRIPTION_ID, RG,
                     "kv-mgmt-newest", overlay=overlay)
    # A newer release (the newest-clients stage) may send a newer version still.
    assert o["api_version"] == "2026-05-15" or (NEWEST and o["api_version"] > "2026-05-15"), o
    assert o["created"] == "kv-mgmt-newest", o
    assert o["uri"] == "https://kv-mgmt-newest.vault.azure.net/", o
    assert o["rbac"] is True, o
    assert "kv-mgmt-newest" in o["listed"], o
    assert o["gone"]["status"] == 404 and o["gone"]["code"] == "ResourceNotFound", o


def test_newer_api_versions_are_served_as_the_newest_known(vl: Vaultlink) -> None:
    vault = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"
    known = rest(vl, "get", f"{vault}?api-version=2026-02-01")
    newer = rest(vl, "get", f"{vault}?api-version=2099-01-01")
    assert known.rc == 0 and newer.rc == 0, newer.describe()
    assert newer.json["id"] == known.json["id"] and newer.json["properties"]["vaultUri"] == known.json["properties"]["vaultUri"]
    group = rest(vl, "get", f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RG}?api-version=2031-06-01-preview")
    assert group.rc == 0 and group.json["name"] == RG, group.describe()
    for bad, code in [("2014-01-01", "NoRegisteredProviderFound"), ("2026-13-01", "InvalidApiVersionParameter"),
                      ("latest", "InvalidApiVersionParameter")]:
        r = rest(vl, "get", f"{vault}?api-version={bad}")
        assert r.rc != 0 and code in r.stderr, r.describe()

    vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "s1", "--value", "v1")
    url = f"{vault_url(VAULT).rstrip('/')}/secrets/s1"
    dp = ("--resource", "https://vault.azure.net")
    served = rest(vl, "get", f"{url}?api-version=2099-01-01", *dp)
    assert served.rc == 0 and served.json["value"] == "v1", served.describe()
    for refused in ["7.7", "2025-01-01", "abc"]:
        r = rest(vl, "get", f"{url}?api-version={refused}", *dp)
        assert r.rc != 0 and "BadParameter" in r.stderr and f"({refused}) is not recognized" in r.stderr, r.describe()


VERSIONS_SCRIPT = scenario(
    r'''
    from azure.keyvault.certificates import CertificateClient
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.secrets import SecretClient

    url = sys.argv[1]
    out = {}
    for kind, client, lister in [
        ("secrets", SecretClient(url, credential()), "list_properties_of_secret_versions"),
        ("keys", KeyClient(url, credential()), "list_properties_of_key_versions"),
        ("certificates", CertificateClient(url, credential()), "list_properties_of_certificate_versions"),
    ]:
        try:
            out[kind] = [p.version for p in getattr(client, lister)("never-created")]
        except HttpResponseError as e:
            out[kind] = err(e)
    print(json.dumps(out))
    '''
)


def test_versions_of_a_missing_name_are_an_empty_list(vl: Vaultlink, tmp_path: Path) -> None:
    overlay = sdk_overlay("azure-keyvault-certificates", CERTS_SDK)
    o = run_scenario(vl, tmp_path, "versions.py", VERSIONS_SCRIPT, VAULT, overlay=overlay)
    assert o == {"secrets": [], "keys": [], "certificates": []}, o


def test_regions_have_display_names_pairs_and_euap(vl: Vaultlink) -> None:
    regions = {r["name"]: r for r in vl.az("account", "list-locations")}
    weu = regions["westeurope"]
    assert weu["displayName"] == "West Europe" and weu["regionalDisplayName"] == "(Europe) West Europe", weu
    assert [p["name"] for p in weu["metadata"]["pairedRegion"]] == ["northeurope"], weu
    for euap, pair in [("centraluseuap", "eastus2euap"), ("eastus2euap", "centraluseuap")]:
        assert [p["name"] for p in regions[euap]["metadata"]["pairedRegion"]] == [pair], regions[euap]
    assert regions["unitedstates"]["metadata"]["regionType"] == "Logical"
    group = vl.az("group", "create", "-n", "rg-euap", "-l", "centraluseuap")
    assert group["location"] == "centraluseuap", group
    v = vl.az("keyvault", "create", "-n", "kv-euap-conformance", "-g", "rg-euap", "-l", "eastus2euap")
    assert v["location"] == "eastus2euap", v
    refused = vl.az_fail("group", "create", "-n", "rg-logical", "-l", "unitedstates")
    assert "LocationNotAvailableForResourceGroup" in refused.stderr, refused.describe()


def test_provider_unregister_passes_through_unregistering(vl: Vaultlink) -> None:
    ns = "Microsoft.KeyVault"
    vl.az("provider", "unregister", "-n", ns, output=None)
    assert vl.az("provider", "show", "-n", ns)["registrationState"] == "Unregistering"
    refused = vl.az_fail("keyvault", "create", "-n", "kv-unregistered", "-g", RG, "-l", "westeurope")
    assert "MissingSubscriptionRegistration" in refused.stderr, refused.describe()
    deadline = time.monotonic() + 30
    while vl.az("provider", "show", "-n", ns)["registrationState"] != "Unregistered":
        assert time.monotonic() < deadline, "still not Unregistered after 30 s"
        time.sleep(1)
    vl.register_providers(ns, wait=True)
    assert vl.az("provider", "show", "-n", ns)["registrationState"] == "Registered"
