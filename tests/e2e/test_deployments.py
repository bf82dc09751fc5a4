"""ARM template deployments (`Microsoft.Resources/deployments`, issue 17) with the real az CLI and
the azure-mgmt-resource SDK of the az venv, against one vaultlink per module.

The templates are in `templates/`:
- `seed.json` (+ `seed.parameters.json`): the seed topology in one deployment: an RBAC vault
  (public network access Disabled, ACL default Deny), a VNet with a subnet, a private endpoint to
  the vault (group `vault`) with a DNS zone group, the zone `privatelink.vaultcore.azure.net`
  (location `global`) linked to the VNet, and a Key Vault Secrets Officer role assignment on the
  vault for the developer; outputs from `reference()`. A `securestring` parameter that only
  shows in a tag as "yes"/"no".
- `copy.json` (+ `copy.parameters.json`): `count` private endpoints from a copy loop, an output
  array from an output copy.
- `nested-failure.json`: a VNet, then a nested deployment (inner scope) whose vault takes its
  location from the VNet through `reference()`, so only the run itself can meet the vault.
- `vnet.json`, `vault.json`: one resource each; `sub.json`: at subscription scope a resource
  group and a nested deployment into it.

What is asserted is what Azure answers (az always runs `validate`, the preflight, before
`create`; a resource the caller may not write is refused there, as InvalidTemplateDeployment
"Authorization failed for template resource ...").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import DEV_CLIENT_ID, DEV_OBJECT_ID, SUBSCRIPTION_ID, TENANT_ID, Vaultlink, az_command
from dp_fixtures import App, add_principal
from sdk import run_scenario, scenario
from topology import VAULT_ZONE, Network

TEMPLATES = Path(__file__).resolve().parent / "templates"
SEED = str(TEMPLATES / "seed.json")
SEED_PARAMS = "@" + str(TEMPLATES / "seed.parameters.json")
COPY = str(TEMPLATES / "copy.json")
COPY_PARAMS = "@" + str(TEMPLATES / "copy.parameters.json")
NESTED_FAILURE = str(TEMPLATES / "nested-failure.json")
VNET_T = str(TEMPLATES / "vnet.json")
VAULT_T = str(TEMPLATES / "vault.json")
SUB_T = str(TEMPLATES / "sub.json")

LOCATION = "westeurope"
SUB = f"/subscriptions/{SUBSCRIPTION_ID}"
RG = "rg-dep"
VAULT = "kv-dep-seed"  # seed.parameters.json
VNET = "vnet-dep"      # seed.parameters.json
SUBNET = "pe-subnet"   # seed.json's default
PE = f"{VAULT}-pe"     # seed.json's default endpoint name
ZONE = VAULT_ZONE
LINK = f"{VNET}-link"
RG_ID = f"{SUB}/resourceGroups/{RG}"
VAULT_ID = f"{RG_ID}/providers/Microsoft.KeyVault/vaults/{VAULT}"
VNET_ID = f"{RG_ID}/providers/Microsoft.Network/virtualNetworks/{VNET}"
PE_ID = f"{RG_ID}/providers/Microsoft.Network/privateEndpoints/{PE}"
ZONE_ID = f"{RG_ID}/providers/Microsoft.Network/privateDnsZones/{ZONE}"
LINK_ID = f"{ZONE_ID}/virtualNetworkLinks/{LINK}"
ZONE_GROUP_ID = f"{PE_ID}/privateDnsZoneGroups/default"
ROLE_PREFIX = f"{VAULT_ID}/providers/Microsoft.Authorization/roleAssignments/"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
BOOTSTRAP_TOKEN = "s3cr3t-b00tstrap-t0ken-e2e"  # the securestring: must never be echoed
SEED_NAMED_IDS = {VAULT_ID, VNET_ID, PE_ID, ZONE_ID, LINK_ID, ZONE_GROUP_ID}

BAD_VAULT = "a--b"  # consecutive hyphens: Key Vault refuses the name
RG_FAIL = "rg-dep-fail"
RG_COMPLETE = "rg-dep-complete"
RG_SUB = "rg-dep-sub"
RG_SDK = "rg-dep-sdk"
RG_RBAC = "rg-dep-rbac"


# ---------------------------------------------------------------------------------------------
# Helpers
def lower(ids: Any) -> set[str]:
    return {i.lower() for i in ids}


def codes(error: dict | None) -> list[str]:
    """Every `code` of an ARM error tree (the error itself, its details, theirs ...)."""
    out: list[str] = []

    def walk(e: Any) -> None:
        if isinstance(e, dict):
            if isinstance(e.get("code"), str):
                out.append(e["code"])
            for d in e.get("details") or []:
                walk(d)
            if isinstance(e.get("error"), dict):
                walk(e["error"])
    walk(error)
    return out


def messages(error: dict | None) -> str:
    """Every message of an ARM error tree, joined."""
    parts: list[str] = []

    def walk(e: Any) -> None:
        if isinstance(e, dict):
            if isinstance(e.get("message"), str):
                parts.append(e["message"])
            for d in e.get("details") or []:
                walk(d)
            if isinstance(e.get("error"), dict):
                walk(e["error"])
    walk(error)
    return "\n".join(parts)


def first_code(stderr: str) -> str:
    """The error code az printed first: `(Code) message` or `"code": "Code"`."""
    m = re.search(r"\((\w+)\)", stderr) or re.search(r'"code"\s*:\s*"(\w+)"', stderr)
    assert m, f"no error code in az's output:\n{stderr}"
    return m.group(1)


def flat_delta(delta: list[dict] | None, prefix: str = "") -> dict[str, dict]:
    """A what-if delta as {dotted path: change} (children's paths joined under their parent's)."""
    out: dict[str, dict] = {}
    for change in delta or []:
        path = f"{prefix}.{change['path']}" if prefix else change["path"]
        if change.get("children"):
            out.update(flat_delta(change["children"], path))
        else:
            out[path] = change
    return out


def changes_by_id(what_if: dict, named: set[str]) -> dict[str, dict]:
    """The what-if changes of the resources the template names ({id (lower): change}: `named`
    and the role assignment); every other resource of the group must be `Ignore` (Incremental
    mode leaves it alone)."""
    assert what_if.get("status") == "Succeeded", what_if
    named = lower(named)
    out: dict[str, dict] = {}
    for c in what_if["changes"]:
        rid = c["resourceId"].lower()
        if rid in named or role_assignment_ids([rid]):
            out[rid] = c
        else:
            assert c["changeType"] == "Ignore", c
    return out


def role_assignment_ids(ids: Any) -> list[str]:
    return [i for i in ids if i.lower().startswith(ROLE_PREFIX.lower())]


def operations(vl: Vaultlink, rg: str, name: str) -> tuple[dict[str, dict], list[dict]]:
    """`az deployment operation group list`: {target id (lower): operation properties}, and the
    operations without a target (ARM's EvaluateDeploymentOutput)."""
    ops = vl.az("deployment", "operation", "group", "list", "-g", rg, "-n", name)
    targeted: dict[str, dict] = {}
    other: list[dict] = []
    for op in ops:
        props = op["properties"]
        target = props.get("targetResource")
        if target and target.get("id"):
            key = target["id"].lower()
            assert key not in targeted, f"two operations for {key}: {ops}"
            targeted[key] = props
        else:
            other.append(props)
    return targeted, other


def exec_az(vl: Vaultlink, nic: str, *args: str) -> Any:
    """az run at a NIC of the VNet (`vaultlink exec --nic`, portable mode): the private path."""
    import subprocess
    proc = subprocess.run(
        [str(vl.binary), "exec", "--data-dir", str(vl.data_dir), "--nic", nic, "--",
         *az_command(), *args, "-o", "json"],
        capture_output=True, text=True, env=vl.env, timeout=180, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, (f"az {' '.join(args)} at {nic} failed (rc={proc.returncode})\n"
                                  f"{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def doctor(vl: Vaultlink, *args: str) -> tuple[int, dict]:
    proc = vl.run_vaultlink("doctor", "--data-dir", str(vl.data_dir), *args, "--output", "json",
                            check=False)
    assert proc.stdout.strip(), f"doctor printed nothing: rc={proc.returncode} {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


def seed_args(*extra: str) -> tuple[str, ...]:
    return ("--template-file", SEED, "--parameters", SEED_PARAMS, "--parameters",
            f"principalId={DEV_OBJECT_ID}", f"bootstrapToken={BOOTSTRAP_TOKEN}", *extra)


# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    vl = logged_in
    vl.register_providers("Microsoft.KeyVault", "Microsoft.Network", wait=True)
    for rg in (RG, RG_FAIL, RG_COMPLETE):
        vl.az("group", "create", "-n", rg, "-l", LOCATION)
    return vl


# ---------------------------------------------------------------------------------------------
@pytest.mark.incremental
class TestSeedTopology:
    """The seed's topology as one template: preflight, what-if, the deployment, each resource
    read back with its own az command, the private path working, the record's operations."""

    def test_01_developer_object_id(self, vl: Vaultlink) -> None:
        # The principal the role assignment names: the signed-in service principal.
        assert vl.az("account", "show")["user"]["name"] == DEV_CLIENT_ID
        assert vl.az("ad", "sp", "show", "--id", DEV_CLIENT_ID)["id"] == DEV_OBJECT_ID

    def test_02_validate_accepts_and_creates_nothing(self, vl: Vaultlink) -> None:
        out = vl.az("deployment", "group", "validate", "-g", RG, "-n", "seed", *seed_args())
        assert out["properties"]["provisioningState"] == "Succeeded", out
        assert not out.get("error") and not out["properties"].get("error"), out
        assert out["properties"]["parameters"]["vaultName"]["value"] == VAULT, out
        assert vl.az("resource", "list", "-g", RG) == []
        assert vl.az("deployment", "group", "list", "-g", RG) == []

    def test_03_validate_refuses_a_value_outside_allowed_values(self, vl: Vaultlink) -> None:
        r = vl.az_fail("deployment", "group", "validate", "-g", RG, "-n", "seed",
                       *seed_args("skuName=basic"))
        assert "InvalidTemplate" in r.stderr, r.describe()
        assert "skuName" in r.stderr and "basic" in r.stderr, r.describe()

    def test_04_what_if_before_shows_every_resource_as_create(self, vl: Vaultlink) -> None:
        wi = vl.az("deployment", "group", "what-if", "-g", RG, "-n", "seed", *seed_args(),
                   "--no-pretty-print")
        changes = changes_by_id(wi, SEED_NAMED_IDS)
        roles = role_assignment_ids(changes)
        assert len(roles) == 1, changes.keys()
        assert set(changes) == lower(SEED_NAMED_IDS) | set(roles), sorted(changes)
        assert {c["changeType"] for c in changes.values()} == {"Create"}, wi
        vault = changes[VAULT_ID.lower()]
        assert vault["before"] is None, vault
        after = vault["after"]
        assert after["properties"]["enableRbacAuthorization"] is True, after
        assert after["properties"]["publicNetworkAccess"] == "Disabled", after
        assert after["tags"] == {"env": "dev", "owner": "e2e", "bootstrapped": "yes"}, after
        assert vl.az("resource", "list", "-g", RG) == [], "what-if created something"

    def test_05_create(self, vl: Vaultlink) -> None:
        out = vl.az("deployment", "group", "create", "-g", RG, "-n", "seed", *seed_args())
        assert out["name"] == "seed", out
        assert out["id"].lower() == f"{RG_ID}/providers/Microsoft.Resources/deployments/seed".lower()
        props = out["properties"]
        assert props["provisioningState"] == "Succeeded", props
        assert props["mode"] == "Incremental", props
        outputs = props["outputs"]
        assert outputs["vaultUri"] == {"type": "String", "value": f"https://{VAULT}.vault.azure.net/"}
        assert outputs["vaultId"]["value"].lower() == VAULT_ID.lower(), outputs
        assert outputs["connectionStatus"]["value"] == "Approved", outputs
        assert outputs["zoneLinked"] == {"type": "Bool", "value": True}, outputs
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                            outputs["roleAssignmentName"]["value"]), outputs
        nic = vl.az("network", "nic", "show", "--ids", outputs["endpointNic"]["value"])
        assert nic["ipConfigurations"][0]["privateIPAddress"].startswith("10.40.1."), nic
        created = lower(r["id"] for r in props["outputResources"])
        assert lower(SEED_NAMED_IDS) <= created, created
        assert (ROLE_PREFIX + outputs["roleAssignmentName"]["value"]).lower() in created, created

    def test_06_vault(self, vl: Vaultlink) -> None:
        v = vl.az("keyvault", "show", "-n", VAULT, "-g", RG)
        p = v["properties"]
        assert v["location"] == LOCATION
        assert v["tags"] == {"env": "dev", "owner": "e2e", "bootstrapped": "yes"}, v["tags"]
        assert p["enableRbacAuthorization"] is True
        assert p["publicNetworkAccess"] == "Disabled"
        assert p["networkAcls"]["defaultAction"] == "Deny"
        assert p["networkAcls"]["bypass"] == "AzureServices"
        assert p["tenantId"] == TENANT_ID
        assert p["sku"]["name"] == "standard"
        conns = p.get("privateEndpointConnections") or []
        assert len(conns) == 1, conns
        assert conns[0]["privateEndpoint"]["id"].lower() == PE_ID.lower(), conns
        assert conns[0]["privateLinkServiceConnectionState"]["status"] == "Approved", conns

    def test_07_private_endpoint_and_its_zone_group(self, vl: Vaultlink) -> None:
        pe = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", PE)
        assert pe["provisioningState"] == "Succeeded", pe
        assert pe["subnet"]["id"].lower() == f"{VNET_ID}/subnets/{SUBNET}".lower()
        conns = pe["privateLinkServiceConnections"]
        assert len(conns) == 1 and not pe.get("manualPrivateLinkServiceConnections"), pe
        assert conns[0]["name"] == f"{PE}-conn"
        assert conns[0]["privateLinkServiceId"].lower() == VAULT_ID.lower()
        assert conns[0]["groupIds"] == ["vault"]
        assert conns[0]["privateLinkServiceConnectionState"]["status"] == "Approved"
        groups = vl.az("network", "private-endpoint", "dns-zone-group", "list", "-g", RG,
                       "--endpoint-name", PE)
        assert [g["name"] for g in groups] == ["default"], groups
        configs = groups[0]["privateDnsZoneConfigs"]
        assert [c["privateDnsZoneId"].lower() for c in configs] == [ZONE_ID.lower()], configs

    def test_08_private_dns_zone_link_and_a_record(self, vl: Vaultlink) -> None:
        zone = vl.az("network", "private-dns", "zone", "show", "-g", RG, "-n", ZONE)
        assert zone["location"] == "global", zone
        links = vl.az("network", "private-dns", "link", "vnet", "list", "-g", RG, "-z", ZONE)
        assert [l["name"] for l in links] == [LINK], links
        assert links[0]["virtualNetwork"]["id"].lower() == VNET_ID.lower(), links
        assert links[0]["registrationEnabled"] is False, links
        pe = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", PE)
        ip = vl.az("network", "nic", "show", "--ids", pe["networkInterfaces"][0]["id"])[
            "ipConfigurations"][0]["privateIPAddress"]
        sets = vl.az("network", "private-dns", "record-set", "a", "list", "-g", RG, "-z", ZONE)
        by_name = {s["name"]: s for s in sets}
        assert VAULT in by_name, sets
        assert [r["ipv4Address"] for r in by_name[VAULT]["aRecords"]] == [ip], by_name[VAULT]

    def test_09_role_assignment(self, vl: Vaultlink) -> None:
        name = vl.az("deployment", "group", "show", "-g", RG, "-n", "seed")[
            "properties"]["outputs"]["roleAssignmentName"]["value"]
        got = vl.az("role", "assignment", "list", "--scope", VAULT_ID)
        mine = [a for a in got if a["name"] == name]
        assert len(mine) == 1, got
        a = mine[0]
        assert a["principalId"] == DEV_OBJECT_ID, a
        assert a["roleDefinitionId"].lower().endswith(f"/roledefinitions/{SECRETS_OFFICER}"), a
        assert a["roleDefinitionName"] == "Key Vault Secrets Officer", a
        assert a["scope"].lower() == VAULT_ID.lower(), a

    def test_10_private_path_end_to_end(self, vl: Vaultlink) -> None:
        # A machine in the deployed subnet writes and reads a secret through the endpoint; the
        # internet is refused (public network access Disabled); doctor finds the path healthy.
        Network(vl, RG).nic("client1", VNET, SUBNET)
        exec_az(vl, "client1", "keyvault", "secret", "set", "--vault-name", VAULT, "-n", "s1",
                "--value", "through-the-deployed-endpoint")
        got = exec_az(vl, "client1", "keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
        assert got["value"] == "through-the-deployed-endpoint", got
        outside = vl.az_fail("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
        assert "ForbiddenByConnection" in outside.stderr, outside.describe()
        rc, report = doctor(vl, VAULT, "--from", "client1")
        assert rc == 0 and report["findings"] == [], report
        assert report["path"] == "private-endpoint", report
        assert report["address"].startswith("10.40.1."), report

    def test_11_securestring_never_echoed(self, vl: Vaultlink) -> None:
        r = vl.az("deployment", "group", "show", "-g", RG, "-n", "seed", check=False)
        assert r.rc == 0, r.describe()
        params = r.json["properties"]["parameters"]
        assert params["bootstrapToken"] == {"type": "SecureString"}, params
        assert params["vaultName"] == {"type": "String", "value": VAULT}, params
        assert params["principalId"] == {"type": "String", "value": DEV_OBJECT_ID}, params
        assert params["vaultTags"] == {"type": "Object", "value": {"env": "dev", "owner": "e2e"}}
        assert params["skuName"] == {"type": "String", "value": "standard"}, params  # default
        assert BOOTSTRAP_TOKEN not in r.stdout
        ops = vl.az("deployment", "operation", "group", "list", "-g", RG, "-n", "seed",
                    check=False)
        assert ops.rc == 0 and BOOTSTRAP_TOKEN not in ops.stdout, ops.describe()
        listed = vl.az("deployment", "group", "list", "-g", RG, check=False)
        assert listed.rc == 0 and BOOTSTRAP_TOKEN not in listed.stdout, listed.describe()

    def test_12_operations_one_per_resource(self, vl: Vaultlink) -> None:
        targeted, other = operations(vl, RG, "seed")
        roles = role_assignment_ids(targeted)
        assert len(roles) == 1, targeted.keys()
        assert set(targeted) == lower(SEED_NAMED_IDS) | set(roles), sorted(targeted)
        for rid, props in targeted.items():
            assert props["provisioningState"] == "Succeeded", (rid, props)
            assert props["provisioningOperation"] == "Create", (rid, props)
            assert props["statusCode"] == "OK" or props["statusCode"] == "Created", (rid, props)
        assert targeted[VAULT_ID.lower()]["targetResource"]["resourceType"] == "Microsoft.KeyVault/vaults"
        assert targeted[VAULT_ID.lower()]["targetResource"]["resourceName"] == VAULT
        assert [o.get("provisioningOperation") for o in other] in ([], ["EvaluateDeploymentOutput"]), other

    def test_12_dependencies_as_the_template_orders_them(self, vl: Vaultlink) -> None:
        deps = vl.az("deployment", "group", "show", "-g", RG, "-n", "seed")["properties"]["dependencies"]
        waits = {(d["resourceType"], d["resourceName"].split("/")[-1]):
                 sorted(x["resourceType"] for x in d["dependsOn"]) for d in deps}
        pe = next(v for (t, _), v in waits.items() if t == "Microsoft.Network/privateEndpoints")
        assert pe == ["Microsoft.KeyVault/vaults", "Microsoft.Network/virtualNetworks"], waits
        group = next(v for (t, _), v in waits.items() if t.endswith("/privateDnsZoneGroups"))
        assert group == ["Microsoft.Network/privateDnsZones", "Microsoft.Network/privateEndpoints"], waits
        roles = [v for (t, _), v in waits.items() if t == "Microsoft.Authorization/roleAssignments"]
        assert roles == [["Microsoft.KeyVault/vaults"]], waits
        for d in deps:
            for x in d["dependsOn"]:
                assert x["id"].startswith("/subscriptions/") and x["resourceName"], x
        # What waits for nothing is not listed.
        assert not [d for d in deps if d["resourceType"] == "Microsoft.KeyVault/vaults"], deps

    def test_13_what_if_after_a_tag_change(self, vl: Vaultlink) -> None:
        wi = vl.az("deployment", "group", "what-if", "-g", RG, "-n", "seed",
                   *seed_args('vaultTags={"env": "test", "owner": "e2e"}'), "--no-pretty-print")
        changes = changes_by_id(wi, SEED_NAMED_IDS)
        assert set(changes) == lower(SEED_NAMED_IDS) | set(role_assignment_ids(changes))
        vault = changes.pop(VAULT_ID.lower())
        assert vault["changeType"] == "Modify", vault
        delta = flat_delta(vault["delta"])
        assert set(delta) == {"tags.env"}, delta
        assert delta["tags.env"]["propertyChangeType"] == "Modify", delta
        assert (delta["tags.env"]["before"], delta["tags.env"]["after"]) == ("dev", "test"), delta
        assert vault["before"]["tags"]["env"] == "dev" and vault["after"]["tags"]["env"] == "test"
        assert {rid: c["changeType"] for rid, c in changes.items()} == {
            rid: "NoChange" for rid in changes}, changes
        assert vl.az("keyvault", "show", "-n", VAULT)["tags"]["env"] == "dev", "what-if changed it"

    def test_14_redeploy_the_change_in_place(self, vl: Vaultlink) -> None:
        nic_before = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", PE)[
            "networkInterfaces"][0]["id"]
        out = vl.az("deployment", "group", "create", "-g", RG, "-n", "seed",
                    *seed_args('vaultTags={"env": "test", "owner": "e2e"}'))
        assert out["properties"]["provisioningState"] == "Succeeded", out
        assert vl.az("keyvault", "show", "-n", VAULT)["tags"] == {
            "env": "test", "owner": "e2e", "bootstrapped": "yes"}
        pe = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", PE)
        assert pe["networkInterfaces"][0]["id"] == nic_before, "the endpoint was re-created"
        assert len(vl.az("role", "assignment", "list", "--scope", VAULT_ID,
                         "--role", "Key Vault Secrets Officer")) == 1
        # The same deployment name: one record, the newest run.
        names = [d["name"] for d in vl.az("deployment", "group", "list", "-g", RG)]
        assert names.count("seed") == 1, names
        wi = vl.az("deployment", "group", "what-if", "-g", RG, "-n", "seed",
                   *seed_args('vaultTags={"env": "test", "owner": "e2e"}'), "--no-pretty-print")
        assert {c["changeType"] for c in changes_by_id(wi, SEED_NAMED_IDS).values()} == {"NoChange"}, wi

    def test_15_export_returns_the_template(self, vl: Vaultlink) -> None:
        exported = vl.az("deployment", "group", "export", "-g", RG, "-n", "seed")
        assert exported == json.loads(Path(SEED).read_text()), exported

    def test_16_cancel_a_finished_deployment(self, vl: Vaultlink) -> None:
        r = vl.az_fail("deployment", "group", "cancel", "-g", RG, "-n", "seed")
        assert "DeploymentCannotBeCancelled" in r.stderr, r.describe()
        shown = vl.az("deployment", "group", "show", "-g", RG, "-n", "seed")
        assert shown["properties"]["provisioningState"] == "Succeeded", shown


# ---------------------------------------------------------------------------------------------
@pytest.mark.incremental
class TestCopyLoop:
    """Private endpoints from a copy loop; the parameter file's count overridden inline."""

    def test_01_create_three(self, vl: Vaultlink) -> None:
        out = vl.az("deployment", "group", "create", "-g", RG, "-n", "copy", "--template-file",
                    COPY, "--parameters", COPY_PARAMS, "--parameters", "count=3")
        props = out["properties"]
        assert props["provisioningState"] == "Succeeded", props
        assert props["parameters"]["count"] == {"type": "Int", "value": 3}, props["parameters"]
        assert props["parameters"]["prefix"] == {"type": "String", "value": "pe-copy"}
        assert props["outputs"]["names"] == {
            "type": "Array", "value": ["pe-copy-0", "pe-copy-1", "pe-copy-2"]}, props["outputs"]

    def test_02_every_endpoint_exists_approved(self, vl: Vaultlink) -> None:
        pes = vl.az("network", "private-endpoint", "list", "-g", RG)
        copies = sorted(p["name"] for p in pes if p["name"].startswith("pe-copy-"))
        assert copies == ["pe-copy-0", "pe-copy-1", "pe-copy-2"], [p["name"] for p in pes]
        for pe in pes:
            if pe["name"].startswith("pe-copy-"):
                i = pe["name"].rsplit("-", 1)[1]
                c = pe["privateLinkServiceConnections"]
                assert [x["name"] for x in c] == [f"conn-{i}"], pe
                assert c[0]["privateLinkServiceConnectionState"]["status"] == "Approved", pe
                assert pe["subnet"]["id"].lower().endswith("/virtualnetworks/vnet-copy/subnets/endpoints")
        conns = vl.az("keyvault", "show", "-n", VAULT)["properties"]["privateEndpointConnections"]
        assert len(conns) == 4, conns  # the seed's and three

    def test_03_operations_of_the_loop(self, vl: Vaultlink) -> None:
        targeted, _ = operations(vl, RG, "copy")
        names = sorted(p["targetResource"]["resourceName"] for p in targeted.values())
        assert names == ["pe-copy-0", "pe-copy-1", "pe-copy-2", "vnet-copy"], names
        assert {p["provisioningState"] for p in targeted.values()} == {"Succeeded"}

    def test_04_list_and_delete_the_record_keeps_the_resources(self, vl: Vaultlink) -> None:
        listed = {d["name"]: d["properties"]["provisioningState"]
                  for d in vl.az("deployment", "group", "list", "-g", RG)}
        assert listed == {"seed": "Succeeded", "copy": "Succeeded"}, listed
        vl.az("deployment", "group", "delete", "-g", RG, "-n", "copy")
        r = vl.az_fail("deployment", "group", "show", "-g", RG, "-n", "copy")
        assert "DeploymentNotFound" in r.stderr, r.describe()
        assert [d["name"] for d in vl.az("deployment", "group", "list", "-g", RG)] == ["seed"]
        pes = {p["name"] for p in vl.az("network", "private-endpoint", "list", "-g", RG)}
        assert {"pe-copy-0", "pe-copy-1", "pe-copy-2"} <= pes, pes
        r = vl.az_fail("deployment", "operation", "group", "list", "-g", RG, "-n", "copy")
        assert "DeploymentNotFound" in r.stderr, r.describe()


# ---------------------------------------------------------------------------------------------
@pytest.mark.incremental
class TestNestedFailure:
    """A vault name Key Vault refuses, inside a nested deployment: the deployment fails with
    DeploymentFailed around the vault's own error; what ran before it stays."""

    def test_01_direct_create_refuses_the_name(self, vl: Vaultlink) -> None:
        r = vl.az_fail("keyvault", "create", "-n", BAD_VAULT, "-g", RG_FAIL, "-l", LOCATION)
        code = first_code(r.stderr)
        assert code not in ("DeploymentFailed", "InternalServerError"), r.describe()
        TestNestedFailure.code = code  # type: ignore[attr-defined]

    def test_02_deployment_fails(self, vl: Vaultlink) -> None:
        r = vl.az_fail("deployment", "group", "create", "-g", RG_FAIL, "-n", "failing",
                       "--template-file", NESTED_FAILURE, "--parameters", f"badVaultName={BAD_VAULT}")
        assert "DeploymentFailed" in r.stderr, r.describe()
        assert self.code in r.stderr, r.describe()  # type: ignore[attr-defined]

    def test_03_show_failed_with_the_vault_error_inside(self, vl: Vaultlink) -> None:
        d = vl.az("deployment", "group", "show", "-g", RG_FAIL, "-n", "failing")
        props = d["properties"]
        assert props["provisioningState"] == "Failed", props
        error = props["error"]
        assert error["code"] == "DeploymentFailed", error
        found = codes(error)
        assert self.code in found[1:], found  # type: ignore[attr-defined]
        assert BAD_VAULT in messages(error), error

    def test_04_the_nested_deployment_failed_too(self, vl: Vaultlink) -> None:
        inner = vl.az("deployment", "group", "show", "-g", RG_FAIL, "-n", "inner-vault")
        assert inner["properties"]["provisioningState"] == "Failed", inner
        assert self.code in codes(inner["properties"]["error"]), inner  # type: ignore[attr-defined]
        listed = {d["name"]: d["properties"]["provisioningState"]
                  for d in vl.az("deployment", "group", "list", "-g", RG_FAIL)}
        assert listed == {"failing": "Failed", "inner-vault": "Failed"}, listed

    def test_05_what_ran_before_stays(self, vl: Vaultlink) -> None:
        vnet = vl.az("network", "vnet", "show", "-g", RG_FAIL, "-n", "vnet-before-failure")
        assert vnet["provisioningState"] == "Succeeded", vnet
        assert vl.az("keyvault", "list", "-g", RG_FAIL) == []
        targeted, _ = operations(vl, RG_FAIL, "failing")
        by_type = {p["targetResource"]["resourceType"]: p for p in targeted.values()}
        assert by_type["Microsoft.Network/virtualNetworks"]["provisioningState"] == "Succeeded"
        nested = by_type["Microsoft.Resources/deployments"]
        assert nested["provisioningState"] == "Failed", nested
        assert nested["targetResource"]["resourceName"] == "inner-vault", nested
        assert self.code in json.dumps(nested.get("statusMessage")), nested  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
def test_complete_mode_deletes_what_the_template_does_not_name(vl: Vaultlink) -> None:
    Network(vl, RG_COMPLETE).vnet("vnet-stray", "10.90.0.0/16")
    Network(vl, RG_COMPLETE).vnet("vnet-keep", "10.70.0.0/16")
    out = vl.az("deployment", "group", "create", "-g", RG_COMPLETE, "-n", "complete",
                "--mode", "Complete", "--template-file", VNET_T, "--parameters", "vnetName=vnet-keep")
    assert out["properties"]["provisioningState"] == "Succeeded", out
    assert out["properties"]["mode"] == "Complete", out
    vnets = [v["name"] for v in vl.az("network", "vnet", "list", "-g", RG_COMPLETE)]
    assert vnets == ["vnet-keep"], vnets
    keep = vl.az("network", "vnet", "show", "-g", RG_COMPLETE, "-n", "vnet-keep")
    assert [s["addressPrefix"] for s in keep["subnets"]] == ["10.70.0.0/24"], keep
    r = vl.az_fail("network", "vnet", "show", "-g", RG_COMPLETE, "-n", "vnet-stray")
    assert "ResourceNotFound" in r.stderr, r.describe()
    targeted, _ = operations(vl, RG_COMPLETE, "complete")
    created = [p["targetResource"]["resourceName"] for p in targeted.values()
               if p["provisioningOperation"] == "Create"]
    assert created == ["vnet-keep"], targeted
    # The group holds nothing else (`az resource list -g` sends `$filter=resourceGroup eq '...'`).
    names = [r["name"] for r in vl.az("resource", "list", "-g", RG_COMPLETE)]
    assert names == ["vnet-keep"], names


# ---------------------------------------------------------------------------------------------
def test_rollback_on_error_replays_the_last_successful_deployment(vl: Vaultlink) -> None:
    rg = "rg-dep-rollback"
    vl.az("group", "create", "-n", rg, "-l", LOCATION)
    good = vl.az("deployment", "group", "create", "-g", rg, "-n", "good", "--template-file", VNET_T,
                 "--parameters", "vnetName=vnet-rb")
    assert good["properties"]["provisioningState"] == "Succeeded", good
    # Take away what the good deployment made, so that only its replay can bring it back.
    vl.az("network", "vnet", "delete", "-g", rg, "-n", "vnet-rb")
    r = vl.az_fail("deployment", "group", "create", "-g", rg, "-n", "bad", "--template-file", VAULT_T,
                   "--parameters", "vaultName=a--b", "--rollback-on-error")
    assert "DeploymentFailed" in r.stderr and "VaultNameNotValid" in r.stderr, r.describe()
    bad = vl.az("deployment", "group", "show", "-g", rg, "-n", "bad")
    assert bad["properties"]["provisioningState"] == "Failed", bad
    on_error = bad["properties"]["onErrorDeployment"]
    assert on_error["type"] == "LastSuccessful", on_error
    assert on_error["deploymentName"] == "good", on_error
    assert on_error["provisioningState"] == "Succeeded", on_error
    assert vl.az("deployment", "group", "show", "-g", rg, "-n", "good")["properties"]["provisioningState"] == "Succeeded"
    vnet = vl.az("network", "vnet", "show", "-g", rg, "-n", "vnet-rb")
    assert vnet["addressSpace"]["addressPrefixes"] == ["10.70.0.0/16"], vnet


def test_subscription_scope_group_and_nested_deployment(vl: Vaultlink) -> None:
    out = vl.az("deployment", "sub", "create", "-l", LOCATION, "-n", "sub-dep",
                "--template-file", SUB_T, "--parameters", f"groupName={RG_SUB}")
    props = out["properties"]
    assert props["provisioningState"] == "Succeeded", props
    assert out["id"] == f"{SUB}/providers/Microsoft.Resources/deployments/sub-dep", out
    assert out["location"] == LOCATION, out
    vnet_id = f"{SUB}/resourceGroups/{RG_SUB}/providers/Microsoft.Network/virtualNetworks/vnet-from-sub"
    # subscriptionResourceId() of a resource group is ARM's provider form of its id.
    assert props["outputs"]["groupId"]["value"] == (
        f"{SUB}/providers/Microsoft.Resources/resourceGroups/{RG_SUB}"), props["outputs"]
    assert props["outputs"]["vnetId"]["value"].lower() == vnet_id.lower(), props["outputs"]
    group = vl.az("group", "show", "-n", RG_SUB)
    assert group["location"] == LOCATION and group["tags"] == {"madeBy": "sub-deployment"}, group
    vnet = vl.az("network", "vnet", "show", "-g", RG_SUB, "-n", "vnet-from-sub")
    assert vnet["location"] == LOCATION, vnet
    assert vnet["addressSpace"]["addressPrefixes"] == ["10.80.0.0/16"], vnet
    nested = vl.az("deployment", "group", "show", "-g", RG_SUB, "-n", "network-in-group")
    assert nested["properties"]["provisioningState"] == "Succeeded", nested
    assert nested["properties"]["outputs"]["vnetId"]["value"].lower() == vnet_id.lower()
    assert "sub-dep" in [d["name"] for d in vl.az("deployment", "sub", "list")]
    shown = vl.az("deployment", "sub", "show", "-n", "sub-dep")
    assert shown["properties"]["provisioningState"] == "Succeeded", shown
    # The subscription-level record's operations: the group, then the nested deployment.
    ops = vl.az("deployment", "operation", "sub", "list", "-n", "sub-dep")
    types = sorted(o["properties"]["targetResource"]["resourceType"] for o in ops
                   if o["properties"].get("targetResource"))
    assert types == ["Microsoft.Resources/deployments", "Microsoft.Resources/resourceGroups"], ops


# ---------------------------------------------------------------------------------------------
SDK_SCRIPT = scenario(
    """
    from azure.mgmt.resource import ResourceManagementClient

    _, _vault_url, template_path, params_path, sub, rg, vault, principal = sys.argv
    template = json.load(open(template_path))
    parameters = json.load(open(params_path))["parameters"]
    parameters["vaultName"] = {"value": vault}
    parameters["vnetName"] = {"value": "vnet-sdk"}
    parameters["principalId"] = {"value": principal}
    parameters["bootstrapToken"] = {"value": "sdk-secret-value"}
    client = ResourceManagementClient(credential(), sub)
    client.resource_groups.create_or_update(rg, {"location": "westeurope"})
    poller = client.deployments.begin_create_or_update(
        rg, "seed-sdk",
        {"properties": {"mode": "Incremental", "template": template, "parameters": parameters}})
    done = poller.result()
    got = client.deployments.get(rg, "seed-sdk")
    ops = list(client.deployment_operations.list(rg, "seed-sdk"))
    listed = [d.name for d in client.deployments.list_by_resource_group(rg)]
    exists = client.deployments.check_existence(rg, "seed-sdk")
    missing = expect_error(lambda: client.deployments.get(rg, "no-such-deployment"))
    print(json.dumps({
        "state": done.properties.provisioning_state,
        "outputs": done.properties.outputs,
        "parameters": got.properties.parameters,
        "ops": sorted(o.properties.target_resource.resource_type for o in ops
                      if o.properties.target_resource is not None),
        "opStates": sorted({o.properties.provisioning_state for o in ops}),
        "listed": listed,
        "exists": exists,
        "missing": missing,
    }))
    """
)


def test_sdk_begin_create_or_update(vl: Vaultlink, tmp_path: Path) -> None:
    vault = "kv-dep-sdk"
    o = run_scenario(vl, tmp_path, "deploy.py", SDK_SCRIPT, vault, SEED,
                     str(TEMPLATES / "seed.parameters.json"), SUBSCRIPTION_ID, RG_SDK, vault,
                     DEV_OBJECT_ID)
    assert o["state"] == "Succeeded", o
    assert o["outputs"]["vaultUri"]["value"] == f"https://{vault}.vault.azure.net/", o
    assert o["outputs"]["connectionStatus"]["value"] == "Approved", o
    assert o["parameters"]["bootstrapToken"] == {"type": "SecureString"}, o
    assert "sdk-secret-value" not in json.dumps(o), o
    assert o["ops"] == sorted([
        "Microsoft.Authorization/roleAssignments", "Microsoft.KeyVault/vaults",
        "Microsoft.Network/privateDnsZones", "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
        "Microsoft.Network/privateEndpoints", "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        "Microsoft.Network/virtualNetworks"]), o
    assert o["opStates"] == ["Succeeded"], o
    assert o["listed"] == ["seed-sdk"], o
    assert o["exists"] is True, o
    assert o["missing"]["status"] == 404 and o["missing"]["code"] == "DeploymentNotFound", o
    v = vl.az("keyvault", "show", "-n", vault, "-g", RG_SDK)
    assert v["properties"]["publicNetworkAccess"] == "Disabled", v
    pe = vl.az("network", "private-endpoint", "show", "-g", RG_SDK, "-n", f"{vault}-pe")
    assert pe["privateLinkServiceConnections"][0]["privateLinkServiceConnectionState"][
        "status"] == "Approved", pe


CANCEL_SCRIPT = scenario(
    """
    import time
    from azure.mgmt.resource import ResourceManagementClient

    _, _vault_url, template_path, sub, rg = sys.argv
    client = ResourceManagementClient(credential(), sub)
    client.resource_groups.create_or_update(rg, {"location": "westeurope"})
    # Start, and cancel as soon as the first resource is made (the run is serial, 800 long).
    client.deployments.begin_create_or_update(
        rg, "many", {"properties": {"mode": "Incremental", "template": json.load(open(template_path))}})
    seen = []
    for _ in range(400):
        d = client.deployments.get(rg, "many")
        seen.append(d.properties.provisioning_state)
        if d.properties.provisioning_state == "Running" and list(client.deployment_operations.list(rg, "many")):
            break
        time.sleep(0.01)
    client.deployments.cancel(rg, "many")
    for _ in range(600):
        d = client.deployments.get(rg, "many")
        if d.properties.provisioning_state not in ("Accepted", "Running"):
            break
        time.sleep(0.05)
    again = expect_error(lambda: client.deployments.cancel(rg, "many"))
    print(json.dumps({"seen": sorted(set(seen)), "state": d.properties.provisioning_state, "again": again}))
    """
)


def test_cancel_a_running_deployment_stops_it_between_resources(vl: Vaultlink, tmp_path: Path) -> None:
    """Cancel while a serial copy loop runs: the deployment ends Canceled, what it made stays, the
    rest is never attempted, and a second cancel is refused."""
    rg = "rg-dep-cancel"
    o = run_scenario(vl, tmp_path, "cancel.py", CANCEL_SCRIPT, "unused", str(TEMPLATES / "many-nsgs.json"),
                     SUBSCRIPTION_ID, rg)
    assert "Running" in o["seen"], o
    assert o["state"] == "Canceled", o
    assert o["again"]["status"] == 409 and o["again"]["code"] == "DeploymentCannotBeCancelled", o
    shown = vl.az("deployment", "group", "show", "-g", rg, "-n", "many")
    assert shown["properties"]["provisioningState"] == "Canceled", shown["properties"]
    made = [g["name"] for g in vl.az("network", "nsg", "list", "-g", rg)]
    assert 0 < len(made) < 800, len(made)
    ops = vl.az("deployment", "operation", "group", "list", "-g", rg, "-n", "many")
    assert len(ops) == len(made), (len(ops), len(made))
    assert {op["properties"]["provisioningState"] for op in ops} == {"Succeeded"}, ops[:3]
    # az's own cancel of a deployment that has ended: Azure's refusal.
    r = vl.az_fail("deployment", "group", "cancel", "-g", rg, "-n", "many")
    assert "DeploymentCannotBeCancelled" in r.stderr, r.describe()


# ---------------------------------------------------------------------------------------------
def _app(vl: Vaultlink, tmp_path_factory: pytest.TempPathFactory, name: str, role: str) -> App:
    info = add_principal(vl, name)
    app = App(vl, info, tmp_path_factory.mktemp(f"{name}-azure-config"))
    vl.grant(app.oid, role, f"{SUB}/resourceGroups/{RG_RBAC}")
    r = app.az("login", "--service-principal", "-u", app.app_id, f"--password={info['secret']}",
               "--tenant", info["tenant"])
    assert r.rc == 0, r.describe()
    r = app.az("account", "set", "--subscription", SUBSCRIPTION_ID)
    assert r.rc == 0, r.describe()
    return app


@pytest.fixture(scope="module")
def rbac_group(vl: Vaultlink) -> str:
    vl.az("group", "create", "-n", RG_RBAC, "-l", LOCATION)
    return RG_RBAC


@pytest.fixture(scope="module")
def reader(vl: Vaultlink, rbac_group: str, tmp_path_factory: pytest.TempPathFactory) -> App:
    return _app(vl, tmp_path_factory, "dep-reader", "Reader")


@pytest.fixture(scope="module")
def netcontrib(vl: Vaultlink, rbac_group: str, tmp_path_factory: pytest.TempPathFactory) -> App:
    return _app(vl, tmp_path_factory, "dep-netcontrib", "Network Contributor")


class TestWithoutRights:
    def test_reader_cannot_deploy_at_all(self, vl: Vaultlink, reader: App) -> None:
        r = reader.az("deployment", "group", "create", "-g", RG_RBAC, "-n", "by-reader",
                      "--template-file", VNET_T, "--parameters", "vnetName=vnet-reader")
        assert r.rc != 0, r.describe()
        assert "AuthorizationFailed" in r.stderr, r.describe()
        assert reader.oid in r.stderr, r.describe()
        assert re.search(r"Microsoft\.Resources/deployments/(validate/action|write)", r.stderr), r.describe()
        assert vl.az("deployment", "group", "list", "-g", RG_RBAC) == []
        assert vl.az("network", "vnet", "list", "-g", RG_RBAC) == []

    def test_network_contributor_preflight_refuses_a_vault(self, vl: Vaultlink, netcontrib: App) -> None:
        # The direct PUT of the same vault: refused with AuthorizationFailed.
        direct = netcontrib.az("keyvault", "create", "-n", "kv-dep-rbac", "-g", RG_RBAC,
                               "-l", LOCATION)
        assert direct.rc != 0 and "AuthorizationFailed" in direct.stderr, direct.describe()
        # In a template the preflight (az's validate) names the resource and the action.
        r = netcontrib.az("deployment", "group", "create", "-g", RG_RBAC, "-n", "vault-by-net",
                          "--template-file", VAULT_T, "--parameters", "vaultName=kv-dep-rbac")
        assert r.rc != 0, r.describe()
        assert "InvalidTemplateDeployment" in r.stderr, r.describe()
        assert ("Authorization failed for template resource 'kv-dep-rbac' of type "
                "'Microsoft.KeyVault/vaults'") in r.stderr, r.describe()
        assert "Microsoft.KeyVault/vaults/write" in r.stderr and netcontrib.oid in r.stderr
        assert "vault-by-net" not in [d["name"] for d in vl.az("deployment", "group", "list", "-g", RG_RBAC)]
        assert vl.az("keyvault", "list", "-g", RG_RBAC) == []

    def test_network_contributor_nested_vault_fails_the_deployment(self, vl: Vaultlink,
                                                                   netcontrib: App) -> None:
        # The vault behind a run-time reference(): only the run meets it; its authorization
        # failure comes back inside DeploymentFailed, and the VNet made before it stays.
        r = netcontrib.az("deployment", "group", "create", "-g", RG_RBAC, "-n", "nested-by-net",
                          "--template-file", NESTED_FAILURE, "--parameters",
                          "badVaultName=kv-dep-rbac", "vnetName=vnet-by-net")
        assert r.rc != 0, r.describe()
        assert "DeploymentFailed" in r.stderr, r.describe()
        d = vl.az("deployment", "group", "show", "-g", RG_RBAC, "-n", "nested-by-net")
        assert d["properties"]["provisioningState"] == "Failed", d
        error = d["properties"]["error"]
        assert error["code"] == "DeploymentFailed", error
        text = messages(error)
        assert "Microsoft.KeyVault/vaults/write" in text and netcontrib.oid in text, error
        assert "AuthorizationFailed" in codes(error) or "InvalidTemplateDeployment" in codes(error), error
        assert vl.az("network", "vnet", "show", "-g", RG_RBAC, "-n", "vnet-by-net")["name"] == "vnet-by-net"
        assert vl.az("keyvault", "list", "-g", RG_RBAC) == []


def test_what_if_and_delete_answer_through_a_location(vl: Vaultlink, reader: App) -> None:
    """As in Azure, a what-if and a delete answer 202 with a `Location` the clients poll (az and
    the SDK above did so); the answer there is the asker's alone."""
    import requests

    s = requests.Session()
    s.trust_env = False
    s.proxies = {"https": vl.env["HTTPS_PROXY"]}
    s.verify = vl.env["REQUESTS_CA_BUNDLE"]

    def bearer(app: App | None) -> dict[str, str]:
        got = (app.az("account", "get-access-token", check=True) if app
               else vl.az("account", "get-access-token"))
        return {"Authorization": f"Bearer {got['accessToken']}"}

    mine = bearer(None)
    deployment = f"https://management.azure.com{SUB}/resourceGroups/{RG_RBAC}/providers/Microsoft.Resources/deployments/by-location"
    api = {"api-version": "2024-03-01"}
    body = {"properties": {"mode": "Incremental", "template": json.loads(Path(VNET_T).read_text()),
                           "parameters": {"vnetName": {"value": "vnet-by-location"}}}}
    r = s.post(f"{deployment}/whatIf", params=api, json=body, headers=mine, timeout=60)
    assert r.status_code == 202 and not r.content, (r.status_code, r.text)
    location = r.headers["Location"]
    assert f"{SUB}/providers/Microsoft.Resources/locations/{LOCATION}/operationResults/" in location, location
    assert r.headers["Retry-After"] == "1"
    polled = s.get(location, headers=mine, timeout=60)
    assert polled.status_code == 200, polled.text
    result = polled.json()
    assert result["status"] == "Succeeded", result
    created = [c for c in result["properties"]["changes"] if c["changeType"] == "Create"]
    assert any(c["resourceId"].endswith("/virtualNetworks/vnet-by-location") for c in created), result
    # Another principal of the subscription does not read it.
    other = s.get(location, headers=bearer(reader), timeout=60)
    assert other.status_code == 404 and other.json()["error"]["code"] == "OperationResultNotFound", other.text

    vl.az("deployment", "group", "create", "-g", RG_RBAC, "-n", "by-location", "--template-file", VNET_T,
          "--parameters", "vnetName=vnet-by-location")
    r = s.delete(deployment, params=api, headers=mine, timeout=60)
    assert r.status_code == 202, (r.status_code, r.text)
    assert f"{SUB}/operationresults/" in r.headers["Location"], r.headers
    assert s.get(r.headers["Location"], headers=mine, timeout=60).status_code == 204
    assert "by-location" not in [d["name"] for d in vl.az("deployment", "group", "list", "-g", RG_RBAC)]
    # Deleting what is not there: 204 at once.
    assert s.delete(deployment, params=api, headers=mine, timeout=60).status_code == 204
