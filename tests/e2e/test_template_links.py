"""Linked templates (issue 17): `az deployment group create|what-if --template-uri`, nested
deployments linked by `relativePath` and by `uri(deployment().properties.templateLink.uri, ...)`,
parameter files by `parametersLink`, and `debugSetting` on the operations, with the real az CLI
and the azure-mgmt-resource SDK.

The templates are served by a plain HTTP server in this process on a port-0 listener, below
`/allowed/` (the prefix vaultlink is started with, `--allowed-template-link`) and `/outside/`
(never fetched by vaultlink). The server logs each request with its User-Agent, so the tests tell
vaultlink's downloads (`vaultlink/...`) from az's own (az downloads a `--template-uri` itself to
read its parameters).

What is asserted is what Azure answers: `InvalidContentLink` ("Unable to download deployment
content from ...") for a link vaultlink may not or cannot download, a failed nested link inside
`DeploymentFailed`, `properties.templateLink` on the record, `request`/`response` content on the
operations when `debugSetting` asks for it. vaultlink's choices (docs/behaviour.md): the allow-list
itself, no redirects, and a secure parameter's value never kept in the request content.
"""

from __future__ import annotations

import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import SUBSCRIPTION_ID, Vaultlink
from sdk import run_scenario, scenario

LOCATION = "westeurope"
RG = "rg-links"
RG_FAIL = "rg-links-fail"
SUB = f"/subscriptions/{SUBSCRIPTION_ID}"
SECRET_VALUE = "l1nked-b00tstrap-value"  # a securestring: never kept, never echoed

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
PARAMS_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"


def template(body: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", **body}


VNET_T = template({
    "parameters": {"vnetName": {"type": "string"}},
    "resources": [{
        "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01",
        "name": "[parameters('vnetName')]", "location": "[resourceGroup().location]",
        "properties": {"addressSpace": {"addressPrefixes": ["10.60.0.0/16"]},
                       "subnets": [{"name": "default", "properties": {"addressPrefix": "10.60.1.0/24"}}]},
    }],
    "outputs": {"vnetId": {"type": "string",
                           "value": "[resourceId('Microsoft.Network/virtualNetworks', parameters('vnetName'))]"}},
})

VAULT_T = template({
    "parameters": {"vaultName": {"type": "string"}},
    "resources": [{
        "type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01",
        "name": "[parameters('vaultName')]", "location": "[resourceGroup().location]",
        "properties": {"tenantId": "[subscription().tenantId]", "sku": {"family": "A", "name": "standard"},
                       "enableRbacAuthorization": True},
    }],
})

# The main template: a VNet through a link relative to its own, a vault through a link built from
# `deployment().properties.templateLink.uri` with its parameters from a linked parameters file,
# and a secret from a securestring in the main template itself.
MAIN_T = template({
    "parameters": {
        "vnetName": {"type": "string"},
        "vaultName": {"type": "string"},
        "bootstrap": {"type": "securestring"},
    },
    "resources": [
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "net",
         "properties": {"mode": "Incremental",
                        "templateLink": {"relativePath": "nested/vnet.json", "contentVersion": "1.0.0.0"},
                        "parameters": {"vnetName": {"value": "[parameters('vnetName')]"}}}},
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "vault",
         "properties": {"mode": "Incremental",
                        "templateLink": {"uri": "[uri(deployment().properties.templateLink.uri, 'nested/vault.json')]"},
                        "parametersLink": {"uri": "[uri(deployment().properties.templateLink.uri, 'nested/vault.parameters.json')]"}}},
        {"type": "Microsoft.KeyVault/vaults/secrets", "apiVersion": "2023-07-01",
         "name": "[format('{0}/bootstrap', parameters('vaultName'))]",
         "dependsOn": ["[resourceId('Microsoft.Resources/deployments', 'vault')]"],
         "properties": {"value": "[parameters('bootstrap')]"}},
    ],
    "outputs": {
        "link": {"type": "string", "value": "[deployment().properties.templateLink.uri]"},
        "vnetId": {"type": "string", "value": "[reference('net').outputs.vnetId.value]"},
    },
})

VAULT_NAME = "kv-links-1"  # nested/vault.parameters.json
FILES: dict[str, Any] = {
    "allowed/main.json": MAIN_T,
    "allowed/main.parameters.json": {"$schema": PARAMS_SCHEMA, "contentVersion": "1.0.0.0",
                                     "parameters": {"vnetName": {"value": "vnet-links"},
                                                    "vaultName": {"value": VAULT_NAME}}},
    # The SDK's: every parameter, the securestring's value too.
    "allowed/sdk.parameters.json": {"$schema": PARAMS_SCHEMA, "contentVersion": "1.0.0.0",
                                    "parameters": {"vnetName": {"value": "vnet-links"},
                                                   "vaultName": {"value": VAULT_NAME},
                                                   "bootstrap": {"value": SECRET_VALUE}}},
    "allowed/nested/vnet.json": VNET_T,
    "allowed/nested/vault.json": VAULT_T,
    "allowed/nested/vault.parameters.json": {"$schema": PARAMS_SCHEMA, "contentVersion": "1.0.0.0",
                                             "parameters": {"vaultName": {"value": VAULT_NAME}}},
    # A nested link to nothing: the run fails there.
    "allowed/broken.json": template({"resources": [
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "gone",
         "properties": {"mode": "Incremental", "templateLink": {"relativePath": "nested/missing.json"}}}]}),
    # A valid template vaultlink may not fetch.
    "outside/vnet.json": VNET_T,
}


class Templates:
    """The HTTP server and what it was asked: (path with query, User-Agent)."""

    def __init__(self, root: Path) -> None:
        self.requests: list[tuple[str, str]] = []
        templates = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                templates.requests.append((self.path, self.headers.get("User-Agent", "")))
                super().do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def by_vaultlink(self) -> list[str]:
        return [path for path, agent in self.requests if agent.startswith("vaultlink/")]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("templates")
    for name, content in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(json.dumps(content, indent=2))
    t = Templates(root)
    yield t
    t.server.shutdown()


@pytest.fixture(scope="module")
def vl(served: Templates, tmp_path_factory: pytest.TempPathFactory):
    v = Vaultlink(tmp_path_factory.mktemp("links"),
                  extra_args=("--allowed-template-link", f"{served.base}/allowed/"))
    v.start()
    v.login_sp()
    v.register_providers("Microsoft.KeyVault", "Microsoft.Network", wait=True)
    for rg in (RG, RG_FAIL):
        v.az("group", "create", "-n", rg, "-l", LOCATION)
    yield v
    v.close()


def codes(e: Any) -> list[str]:
    out: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            if isinstance(x.get("code"), str):
                out.append(x["code"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(e)
    return out


# ---------------------------------------------------------------------------------------------
@pytest.mark.incremental
class TestTemplateUri:
    def test_01_create_by_uri(self, vl: Vaultlink, served: Templates) -> None:
        main = f"{served.base}/allowed/main.json"
        out = vl.az("deployment", "group", "create", "-g", RG, "-n", "linked", "--template-uri", main,
                    "--parameters", f"{served.base}/allowed/main.parameters.json",
                    "--parameters", f"bootstrap={SECRET_VALUE}")
        props = out["properties"]
        assert props["provisioningState"] == "Succeeded", props
        assert props["templateLink"]["uri"] == main, props
        assert props["outputs"]["link"]["value"] == main, props["outputs"]
        vnet_id = props["outputs"]["vnetId"]["value"]
        assert vnet_id.lower() == f"{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/vnet-links".lower()
        assert SECRET_VALUE not in json.dumps(out)
        # vaultlink downloaded the main template, both nested ones and the parameters file.
        fetched = served.by_vaultlink()
        for path in ("/allowed/main.json", "/allowed/nested/vnet.json", "/allowed/nested/vault.json",
                     "/allowed/nested/vault.parameters.json"):
            assert path in fetched, fetched

    def test_02_what_the_links_made(self, vl: Vaultlink, served: Templates) -> None:
        vnet = vl.az("network", "vnet", "show", "-g", RG, "-n", "vnet-links")
        assert vnet["addressSpace"]["addressPrefixes"] == ["10.60.0.0/16"], vnet
        vault = vl.az("keyvault", "show", "-g", RG, "-n", VAULT_NAME)
        assert vault["properties"]["enableRbacAuthorization"] is True, vault
        secret = vl.az("resource", "show", "--ids",
                       f"{vault['id']}/secrets/bootstrap", "--api-version", "2023-07-01")
        assert secret["name"] == "bootstrap", secret
        assert SECRET_VALUE not in json.dumps(secret)
        # The nested records name the links they were deployed from, relative paths resolved.
        net = vl.az("deployment", "group", "show", "-g", RG, "-n", "net")
        assert net["properties"]["templateLink"]["uri"] == f"{served.base}/allowed/nested/vnet.json", net
        assert net["properties"]["templateLink"]["relativePath"] == "nested/vnet.json", net
        nested_vault = vl.az("deployment", "group", "show", "-g", RG, "-n", "vault")
        assert nested_vault["properties"]["parametersLink"]["uri"] == \
            f"{served.base}/allowed/nested/vault.parameters.json", nested_vault
        assert nested_vault["properties"]["parameters"]["vaultName"]["value"] == VAULT_NAME

    def test_03_what_if_by_uri_reads_the_nested_links(self, vl: Vaultlink, served: Templates) -> None:
        wi = vl.az("deployment", "group", "what-if", "-g", RG, "-n", "linked",
                   "--template-uri", f"{served.base}/allowed/main.json",
                   "--parameters", f"{served.base}/allowed/main.parameters.json",
                   "--parameters", f"bootstrap={SECRET_VALUE}", "--no-pretty-print")
        changes = {c["resourceId"].lower(): c["changeType"] for c in wi["changes"]}
        vnet = f"{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/vnet-links".lower()
        vault = f"{SUB}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT_NAME}".lower()
        assert changes.get(vnet) in ("NoChange", "Modify"), changes
        assert changes.get(vault) in ("NoChange", "Modify"), changes
        assert "Unsupported" not in changes.values(), changes

    def test_04_a_link_outside_the_allowed_prefix_is_refused(self, vl: Vaultlink, served: Templates) -> None:
        before = len(served.requests)
        r = vl.az_fail("deployment", "group", "create", "-g", RG, "-n", "outside",
                       "--template-uri", f"{served.base}/outside/vnet.json", "--parameters", "vnetName=vnet-out")
        assert "InvalidContentLink" in r.stderr, r.describe()
        assert "Unable to download deployment content from" in r.stderr, r.describe()
        assert "--allowed-template-link" in r.stderr, r.describe()
        # az fetched it to read its parameters; vaultlink never did, and nothing was recorded.
        asked = served.requests[before:]
        assert any(p == "/outside/vnet.json" for p, _ in asked), asked
        assert not [p for p, a in asked if a.startswith("vaultlink/")], asked
        assert "outside" not in [d["name"] for d in vl.az("deployment", "group", "list", "-g", RG)]
        assert vl.az("network", "vnet", "list", "-g", RG, "--query", "[?name=='vnet-out']") == []

    def test_05_a_nested_link_to_nothing_fails_the_deployment(self, vl: Vaultlink, served: Templates) -> None:
        r = vl.az_fail("deployment", "group", "create", "-g", RG_FAIL, "-n", "broken",
                       "--template-uri", f"{served.base}/allowed/broken.json")
        assert "DeploymentFailed" in r.stderr, r.describe()
        shown = vl.az("deployment", "group", "show", "-g", RG_FAIL, "-n", "broken")
        assert shown["properties"]["provisioningState"] == "Failed", shown
        error = shown["properties"]["error"]
        assert error["code"] == "DeploymentFailed", error
        assert "InvalidContentLink" in codes(error), error
        assert f"{served.base}/allowed/nested/missing.json" in json.dumps(error), error
        assert "/allowed/nested/missing.json" in served.by_vaultlink()


# ---------------------------------------------------------------------------------------------
SDK_SCRIPT = scenario(
    """
    from azure.mgmt.resource import ResourceManagementClient

    _, _vault_url, base, sub, rg = sys.argv
    client = ResourceManagementClient(credential(), sub)
    props = {
        "mode": "Incremental",
        "templateLink": {"uri": base + "/allowed/main.json", "queryString": "sv=2024&sig=t0ken"},
        "parametersLink": {"uri": base + "/allowed/sdk.parameters.json?sig=t0ken", "contentVersion": "1.0.0.0"},
        "debugSetting": {"detailLevel": "requestContent, responseContent"},
    }
    # A parameters link and parameters at once: refused before anything runs.
    both = expect_error(lambda: client.deployments.begin_create_or_update(
        rg, "both", {"properties": {**props, "parameters": {"vnetName": {"value": "x"}}}}).result())
    done = client.deployments.begin_create_or_update(rg, "sdk-linked", {"properties": props}).result()
    got = client.deployments.get(rg, "sdk-linked")
    ops = [o.as_dict() for o in client.deployment_operations.list(rg, "sdk-linked")]
    print(json.dumps({
        "both": both,
        "state": done.properties.provisioning_state,
        "templateLink": got.properties.template_link.as_dict(),
        "debug": got.properties.debug_setting.detail_level,
        "ops": ops,
        "got": got.as_dict(),
    }, default=str))
    """
)


def test_sdk_links_with_a_query_string_and_debug_content(vl: Vaultlink, served: Templates,
                                                         tmp_path: Path) -> None:
    before = len(served.requests)
    o = run_scenario(vl, tmp_path, "links.py", SDK_SCRIPT, "unused", served.base, SUBSCRIPTION_ID, RG)
    assert o["both"]["status"] == 400 and o["both"]["code"] == "InvalidRequestContent", o["both"]
    assert "both" not in [d["name"] for d in vl.az("deployment", "group", "list", "-g", RG)]
    assert o["state"] == "Succeeded", o
    assert o["got"]["properties"]["parameters"]["bootstrap"] == {"type": "SecureString"}, o["got"]
    assert o["templateLink"]["uri"] == f"{served.base}/allowed/main.json", o["templateLink"]
    assert "sig=t0ken" not in json.dumps(o["got"]), "the query string (a SAS token) is never shown"
    assert o["debug"] == "requestContent, responseContent", o
    # The query string went with every download, nested relative links included.
    fetched = [p for p, a in served.requests[before:] if a.startswith("vaultlink/")]
    assert "/allowed/main.json?sv=2024&sig=t0ken" in fetched, fetched
    assert "/allowed/nested/vnet.json?sv=2024&sig=t0ken" in fetched, fetched
    assert "/allowed/sdk.parameters.json?sig=t0ken" in fetched, fetched
    # The secret's operation carries its request and answer, the secure value left out.
    by_type = {op["properties"]["target_resource"]["resource_type"]: op["properties"] for op in o["ops"]
               if op["properties"].get("target_resource")}
    secret_op = by_type["Microsoft.KeyVault/vaults/secrets"]
    assert secret_op["request"]["content"]["properties"]["value"] == "[secure value]", secret_op
    assert secret_op["response"]["content"]["name"] == "bootstrap", secret_op
    assert SECRET_VALUE not in json.dumps(o), "a secure value was kept or echoed"
