"""The seed document's "Azure CLI" tab, line by line, with the real az 2.91 through the proxy.

Seed: shared/seed/000_63bb0199179ef022.txt ("Integrate Key Vault with Azure Private Link").
The steps run in order against one server (module-scoped fixture); each is its own test so a
failure names the line of the seed that broke, and the steps after it are reported as xfail.

Deviations from the seed text, all forced by the real CLI and not by vaultlink:
- `az login` (interactive) becomes `az login --service-principal` as the seeded developer SP.
- `az network vnet create ... -location {REGION}`: a typo in the seed; argparse would read
  `-location` as `-l ocation`. We pass `--location`.
- `approve --approval-description` / `reject --rejection-description` do not exist in az 2.91.0
  (rc=2, "unrecognized arguments", no request sent); the only option is `--description`.
- `–name` (an en dash in the seed) is `--name`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from conftest import _make, MANAGED_IDENTITY_OBJECT_ID, SUBSCRIPTION_ID, SUBSCRIPTION_NAME, TENANT_ID, Vaultlink

RG = "rg-keyvault-privatelink"
REGION = "westeurope"
VAULT = "kv-privatelink-demo01"
VNET = "vnet-privatelink"
SUBNET = "snet-endpoints"
SUBNET_PREFIX = "10.0.0.0/24"
VNET_PREFIX = "10.0.0.0/16"  # az's default address space for `vnet create`
ZONE = "privatelink.vaultcore.azure.net"
LINK = "link-vnet-privatelink"
PE_AUTO, CONN_AUTO = "pe-kv-auto", "conn-kv-auto"
PE_MANUAL, CONN_MANUAL = "pe-kv-manual", "conn-kv-manual"
PE_REJECT, CONN_REJECT = "pe-kv-manual2", "conn-kv-manual2"

VAULT_ID = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}"
    f"/providers/Microsoft.KeyVault/vaults/{VAULT}"
)

# State carried from one step to the next.
S: dict[str, Any] = {}


@pytest.fixture(scope="module", params=["proxy", "direct", "identity"])
def vl(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A fresh server per login mode: the seed runs the same through the proxy as the developer
    service principal, against the direct listener registered as a custom cloud (`az cloud
    register`), and logged in with `az login --identity`."""
    v = _make(tmp_path_factory.mktemp(f"seed-{request.param}"))
    v.login_mode = request.param  # type: ignore[attr-defined]
    request.module._vaultlink = v
    yield v
    v.close()


# ---------------------------------------------------------------------------------------------
# Helpers reading the PE side and the vault side of a connection.
def flat(obj: dict[str, Any]) -> dict[str, Any]:
    """az prints most resources with `properties` flattened (AAZ client_flatten, msrest
    flattening) but not all; read a field wherever it is."""
    props = obj.get("properties")
    return {**obj, **props} if isinstance(props, dict) else obj


def pe_connection(pe: dict[str, Any]) -> dict[str, Any]:
    """The single connection of a PE, wherever it sits (auto or manual list).

    Whether an approved manual connection moves to privateLinkServiceConnections is an open
    question (azure-behaviour.md §6), so both lists are searched."""
    props = flat(pe)
    conns = (props.get("privateLinkServiceConnections") or []) + (
        props.get("manualPrivateLinkServiceConnections") or []
    )
    assert len(conns) == 1, f"expected exactly one connection on the PE, got {conns}"
    return conns[0]


def conn_state(conn: dict[str, Any]) -> dict[str, Any]:
    return flat(conn)["privateLinkServiceConnectionState"]


def pe_status(vl: Vaultlink, pe_name: str) -> str:
    pe = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", pe_name)
    return conn_state(pe_connection(pe))["status"]


def vault_connections(vl: Vaultlink) -> list[dict[str, Any]]:
    vault = vl.az("keyvault", "show", "-n", VAULT, "-g", RG)
    return vault["properties"].get("privateEndpointConnections") or []


def vault_connection_for(vl: Vaultlink, pe_name: str) -> dict[str, Any] | None:
    suffix = f"/privateendpoints/{pe_name}".lower()
    found = [
        c for c in vault_connections(vl)
        if (flat(c).get("privateEndpoint") or {}).get("id", "").lower().endswith(suffix)
    ]
    assert len(found) <= 1, f"more than one vault-side connection for {pe_name}: {found}"
    return found[0] if found else None


def connection_name(conn: dict[str, Any]) -> str:
    """The vault-side connection name: the last segment of its id (how the seed's user finds
    it, since `az keyvault private-endpoint-connection list` needs --hsm-name in az 2.91)."""
    return conn["id"].rstrip("/").rsplit("/", 1)[-1]


def create_pe(vl: Vaultlink, name: str, conn: str, *, manual: bool) -> dict[str, Any]:
    args = [
        "network", "private-endpoint", "create", "--resource-group", RG, "--vnet-name", VNET,
        "--subnet", SUBNET, "--name", name, "--private-connection-resource-id", VAULT_ID,
        "--group-ids", "vault", "--connection-name", conn, "--location", REGION,
    ]
    if manual:
        args.append("--manual-request")
    return vl.az(*args)


def nic_ip(vl: Vaultlink, pe_name: str) -> str:
    pe = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", pe_name)
    nics = pe["networkInterfaces"]
    assert len(nics) == 1 and nics[0]["id"], pe
    nic = vl.az("network", "nic", "show", "--ids", nics[0]["id"])
    return flat(nic["ipConfigurations"][0])["privateIPAddress"]


# ---------------------------------------------------------------------------------------------
@pytest.mark.incremental
class TestSeedCliTab:
    # ## Establish a private link connection to Key Vault using CLI (Initial Setup)
    def test_01_login(self, vl: Vaultlink) -> None:
        # Seed: `az login`. Non-interactively: the seeded developer service principal.
        env = vl.exports
        mode = getattr(vl, "login_mode", "proxy")
        if mode == "direct":
            # ARM and Entra on the direct listener; vault hosts would still use the proxy.
            vl.register_direct_cloud("Vaultlink")
        if mode == "identity":
            # The managed identity starts with no role (as in Azure); the seed's prerequisite is
            # "Owner or contributor permissions": the developer grants it Owner first.
            vl.grant(MANAGED_IDENTITY_OBJECT_ID, "Owner")
            vl.set_env(AZURE_CLIENT_ID=None, AZURE_CLIENT_SECRET=None,
                       AZURE_POD_IDENTITY_AUTHORITY_HOST=vl.identity_url)
            subs = vl.az("login", "--identity")
        else:
            subs = vl.az(
                "login", "--service-principal", "-u", env["AZURE_CLIENT_ID"],
                "-p", env["AZURE_CLIENT_SECRET"], "--tenant", env["AZURE_TENANT_ID"],
            )
        assert env["AZURE_TENANT_ID"] == TENANT_ID
        assert env["AZURE_SUBSCRIPTION_ID"] == SUBSCRIPTION_ID
        ours = [s for s in subs if s["id"] == SUBSCRIPTION_ID]
        assert ours, subs
        assert ours[0]["name"] == SUBSCRIPTION_NAME
        assert ours[0]["tenantId"] == TENANT_ID
        assert ours[0]["state"] == "Enabled"
        assert ours[0]["user"]["type"] == "servicePrincipal"

    def test_02_account_set(self, vl: Vaultlink) -> None:
        assert vl.az("account", "set", "--subscription", SUBSCRIPTION_ID) is None
        account = vl.az("account", "show")
        assert account["id"] == SUBSCRIPTION_ID
        assert account["name"] == SUBSCRIPTION_NAME
        assert account["isDefault"] is True

    def test_03_group_create(self, vl: Vaultlink) -> None:
        rg = vl.az("group", "create", "-n", RG, "-l", REGION)
        assert rg["name"] == RG
        assert rg["location"] == REGION
        assert rg["id"].lower() == f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RG}".lower()
        assert rg["properties"]["provisioningState"] == "Succeeded"
        shown = vl.az("group", "show", "-n", RG)
        assert shown["name"] == RG

    def test_04_provider_register(self, vl: Vaultlink) -> None:
        vl.az("provider", "register", "-n", "Microsoft.KeyVault")
        provider = vl.az("provider", "show", "-n", "Microsoft.KeyVault")
        assert provider["namespace"].lower() == "microsoft.keyvault"
        assert provider["registrationState"] in ("Registered", "Registering"), provider

    def test_05_keyvault_create(self, vl: Vaultlink) -> None:
        vault = vl.az("keyvault", "create", "-n", VAULT, "-g", RG, "-l", REGION)
        assert vault["name"] == VAULT
        assert vault["id"].lower() == VAULT_ID.lower()
        assert vault["type"] == "Microsoft.KeyVault/vaults"
        assert vault["location"] == REGION
        props = vault["properties"]
        assert props["vaultUri"].rstrip("/") == f"https://{VAULT}.vault.azure.net"
        assert props["tenantId"] == TENANT_ID
        assert props["sku"]["name"].lower() == "standard"
        assert props["provisioningState"] == "Succeeded"
        assert props["enableRbacAuthorization"] is True
        assert props["networkAcls"]["defaultAction"] == "Allow"
        assert not props.get("privateEndpointConnections")

    def test_06_keyvault_update_default_action_deny(self, vl: Vaultlink) -> None:
        vault = vl.az("keyvault", "update", "-n", VAULT, "-g", RG, "--default-action", "deny")
        assert vault["properties"]["networkAcls"]["defaultAction"] == "Deny"
        shown = vl.az("keyvault", "show", "-n", VAULT, "-g", RG)
        assert shown["properties"]["networkAcls"]["defaultAction"] == "Deny"
        # The full-PUT update must not lose what create set.
        assert shown["properties"]["vaultUri"].rstrip("/") == f"https://{VAULT}.vault.azure.net"
        assert shown["properties"]["enableRbacAuthorization"] is True

    def test_07_vnet_create(self, vl: Vaultlink) -> None:
        # Seed says `-location {REGION}` (typo); see the module docstring.
        out = vl.az("network", "vnet", "create", "-g", RG, "-n", VNET, "--location", REGION)
        vnet = out["newVNet"]
        assert vnet["name"] == VNET
        assert vnet["location"] == REGION
        assert vnet["addressSpace"]["addressPrefixes"] == [VNET_PREFIX]
        assert vnet["provisioningState"] == "Succeeded"
        assert not vnet.get("subnets")

    def test_08_subnet_create(self, vl: Vaultlink) -> None:
        subnet = vl.az(
            "network", "vnet", "subnet", "create", "-g", RG, "--vnet-name", VNET,
            "--name", SUBNET, "--address-prefixes", SUBNET_PREFIX,
        )
        assert subnet["name"] == SUBNET
        assert subnet["addressPrefix"] == SUBNET_PREFIX
        assert subnet["provisioningState"] == "Succeeded"
        vnet = vl.az("network", "vnet", "show", "-g", RG, "-n", VNET)
        assert [s["name"] for s in vnet["subnets"]] == [SUBNET]

    def test_09_subnet_update_disable_pe_policies(self, vl: Vaultlink) -> None:
        # az 2.91 already defaults to Disabled on create; switch the policy on first so the
        # seed's line is seen to change something.
        enabled = vl.az(
            "network", "vnet", "subnet", "update", "--name", SUBNET, "--resource-group", RG,
            "--vnet-name", VNET, "--private-endpoint-network-policies", "Enabled",
        )
        assert enabled["privateEndpointNetworkPolicies"] == "Enabled"
        # The seed's line (deprecated flag: az prints a WARNING on stderr, rc 0).
        subnet = vl.az(
            "network", "vnet", "subnet", "update", "--name", SUBNET, "--resource-group", RG,
            "--vnet-name", VNET, "--disable-private-endpoint-network-policies", "true",
        )
        assert subnet["privateEndpointNetworkPolicies"] == "Disabled"
        assert subnet["addressPrefix"] == SUBNET_PREFIX
        shown = vl.az("network", "vnet", "subnet", "show", "-g", RG, "--vnet-name", VNET,
                      "-n", SUBNET)
        assert shown["privateEndpointNetworkPolicies"] == "Disabled"

    def test_10_private_dns_zone_create(self, vl: Vaultlink) -> None:
        zone = vl.az("network", "private-dns", "zone", "create", "--resource-group", RG,
                     "--name", ZONE)
        assert zone["name"] == ZONE
        assert zone["location"] == "global"
        assert zone["provisioningState"] == "Succeeded"

    def test_11_private_dns_link_vnet_create(self, vl: Vaultlink) -> None:
        link = vl.az(
            "network", "private-dns", "link", "vnet", "create", "--resource-group", RG,
            "--virtual-network", VNET, "--zone-name", ZONE, "--name", LINK,
            "--registration-enabled", "true",
        )
        assert link["name"] == LINK
        assert link["registrationEnabled"] is True
        assert link["virtualNetwork"]["id"].lower().endswith(f"/virtualnetworks/{VNET}".lower())
        assert link["provisioningState"] == "Succeeded"
        assert link["virtualNetworkLinkState"] == "Completed"

    # ### Create a Private Endpoint (Automatically Approve)
    def test_12_private_endpoint_create_auto(self, vl: Vaultlink) -> None:
        pe = create_pe(vl, PE_AUTO, CONN_AUTO, manual=False)
        assert pe["name"] == PE_AUTO
        assert pe["provisioningState"] == "Succeeded"
        assert pe["subnet"]["id"].lower().endswith(
            f"/virtualnetworks/{VNET}/subnets/{SUBNET}".lower())
        conns = pe["privateLinkServiceConnections"]
        assert len(conns) == 1 and not pe.get("manualPrivateLinkServiceConnections")
        assert conns[0]["name"] == CONN_AUTO
        assert conns[0]["privateLinkServiceId"].lower() == VAULT_ID.lower()
        assert conns[0]["groupIds"] == ["vault"]
        assert conns[0]["privateLinkServiceConnectionState"]["status"] == "Approved"
        assert len(pe["networkInterfaces"]) == 1 and pe["networkInterfaces"][0]["id"]

    # ### Create a Private Endpoint (Manually Request Approval)
    def test_13_private_endpoint_create_manual(self, vl: Vaultlink) -> None:
        pe = create_pe(vl, PE_MANUAL, CONN_MANUAL, manual=True)
        assert not pe.get("privateLinkServiceConnections")
        conns = pe["manualPrivateLinkServiceConnections"]
        assert len(conns) == 1
        assert conns[0]["name"] == CONN_MANUAL
        assert conns[0]["privateLinkServiceConnectionState"]["status"] == "Pending"

    # ### Manage Private Link Connections
    def test_14_private_endpoint_show(self, vl: Vaultlink) -> None:
        pe = vl.az("network", "private-endpoint", "show", "--resource-group", RG,
                   "--name", PE_MANUAL)
        assert pe["manualPrivateLinkServiceConnections"][0][
            "privateLinkServiceConnectionState"]["status"] == "Pending"
        pe = vl.az("network", "private-endpoint", "show", "--resource-group", RG,
                   "--name", PE_AUTO)
        assert pe["privateLinkServiceConnections"][0][
            "privateLinkServiceConnectionState"]["status"] == "Approved"

    def test_15_vault_side_connections(self, vl: Vaultlink) -> None:
        # The vault-side connection names come from `az keyvault show`.
        conns = vault_connections(vl)
        assert len(conns) == 2, conns
        auto = vault_connection_for(vl, PE_AUTO)
        manual = vault_connection_for(vl, PE_MANUAL)
        assert auto and manual, conns
        assert conn_state(auto)["status"] == "Approved"
        assert conn_state(manual)["status"] == "Pending"
        for c in (auto, manual):
            assert "/providers/microsoft.keyvault/vaults/" in c["id"].lower()
            assert "/privateendpointconnections/" in c["id"].lower()
        S["auto_conn"] = connection_name(auto)
        S["manual_conn"] = connection_name(manual)
        assert S["auto_conn"] != S["manual_conn"]

    def test_16_approve(self, vl: Vaultlink) -> None:
        # The seed writes `--approval-description`; az 2.91.0 rejects it ("unrecognized
        # arguments", rc 2, no request sent). `--description` is the only spelling.
        bad = vl.az_fail(
            "keyvault", "private-endpoint-connection", "approve", "--approval-description",
            "Approved by e2e", "--resource-group", RG, "--vault-name", VAULT,
            "--name", S["manual_conn"],
        )
        assert bad.rc == 2 and "unrecognized arguments" in bad.stderr, bad.describe()
        out = flat(vl.az(
            "keyvault", "private-endpoint-connection", "approve", "--description",
            "Approved by e2e", "--resource-group", RG, "--vault-name", VAULT,
            "--name", S["manual_conn"],
        ))
        assert out["privateLinkServiceConnectionState"]["status"] == "Approved"
        assert out["privateLinkServiceConnectionState"]["description"] == "Approved by e2e"
        assert out["provisioningState"] == "Succeeded"
        assert out["privateEndpoint"]["id"].lower().endswith(
            f"/privateendpoints/{PE_MANUAL}".lower()), "approve must not drop the PE link"
        # Both sides agree.
        assert conn_state(vault_connection_for(vl, PE_MANUAL))["status"] == "Approved"
        assert pe_status(vl, PE_MANUAL) == "Approved"

    def test_17_reject(self, vl: Vaultlink) -> None:
        create_pe(vl, PE_REJECT, CONN_REJECT, manual=True)
        assert pe_status(vl, PE_REJECT) == "Pending"
        conn = vault_connection_for(vl, PE_REJECT)
        assert conn and conn_state(conn)["status"] == "Pending"
        S["reject_conn"] = connection_name(conn)
        # The seed writes `--rejection-description`: not an option in az 2.91.0 either.
        out = flat(vl.az(
            "keyvault", "private-endpoint-connection", "reject", "--description",
            "Rejected by e2e", "--resource-group", RG, "--vault-name", VAULT,
            "--name", S["reject_conn"],
        ))
        assert out["privateLinkServiceConnectionState"]["status"] == "Rejected"
        assert conn_state(vault_connection_for(vl, PE_REJECT))["status"] == "Rejected"
        assert pe_status(vl, PE_REJECT) == "Rejected"

    def test_18_approve_rejected_fails(self, vl: Vaultlink) -> None:
        # "Connections previously denied can't be approved" (azure-behaviour.md §3.3).
        res = vl.az_fail(
            "keyvault", "private-endpoint-connection", "approve", "--description", "again",
            "--resource-group", RG, "--vault-name", VAULT, "--name", S["reject_conn"],
        )
        assert "Traceback" not in res.stderr, res.describe()
        assert conn_state(vault_connection_for(vl, PE_REJECT))["status"] == "Rejected"
        assert pe_status(vl, PE_REJECT) == "Rejected"

    def test_19_delete(self, vl: Vaultlink) -> None:
        vl.az(
            "keyvault", "private-endpoint-connection", "delete", "--resource-group", RG,
            "--vault-name", VAULT, "--name", S["manual_conn"],
        )
        assert vault_connection_for(vl, PE_MANUAL) is None
        res = vl.az(
            "keyvault", "private-endpoint-connection", "show", "--resource-group", RG,
            "--vault-name", VAULT, "--name", S["manual_conn"], check=False,
        )
        assert res.rc != 0, res.describe()
        # The PE stays, informative only: Disconnected.
        assert pe_status(vl, PE_MANUAL) == "Disconnected"
        # The others are untouched.
        assert pe_status(vl, PE_AUTO) == "Approved"
        assert pe_status(vl, PE_REJECT) == "Rejected"

    # ### Add Private DNS Records
    def test_20_private_endpoint_nic_ip(self, vl: Vaultlink) -> None:
        ip = nic_ip(vl, PE_AUTO)
        addr = ipaddress.ip_address(ip)
        net = ipaddress.ip_network(SUBNET_PREFIX)
        assert addr in net, f"{ip} not in {net}"
        # .0-.3 and the broadcast address are reserved by Azure.
        assert int(addr) - int(net.network_address) >= 4, ip
        assert addr != net.broadcast_address
        S["ip"] = ip
        # Every PE gets its own address.
        ips = {ip, nic_ip(vl, PE_MANUAL), nic_ip(vl, PE_REJECT)}
        assert len(ips) == 3, ips
        assert all(ipaddress.ip_address(i) in net for i in ips), ips

    def test_21_nic_details(self, vl: Vaultlink) -> None:
        pe = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", PE_AUTO)
        nic = vl.az("network", "nic", "show", "--ids", pe["networkInterfaces"][0]["id"])
        assert nic["id"].lower() == pe["networkInterfaces"][0]["id"].lower()
        ipconf = flat(nic["ipConfigurations"][0])
        assert ipconf["subnet"]["id"].lower() == pe["subnet"]["id"].lower()

    def test_22_private_dns_zone_list(self, vl: Vaultlink) -> None:
        zones = vl.az("network", "private-dns", "zone", "list", "-g", RG)
        assert [z["name"] for z in zones] == [ZONE]

    def test_23_record_set_a_add_record(self, vl: Vaultlink) -> None:
        rs = flat(vl.az("network", "private-dns", "record-set", "a", "add-record", "-g", RG,
                        "-z", ZONE, "-n", VAULT, "-a", S["ip"]))
        assert rs["name"] == VAULT
        assert [r["ipv4Address"] for r in rs["aRecords"]] == [S["ip"]]
        assert rs["fqdn"] == f"{VAULT}.{ZONE}."
        assert rs["isAutoRegistered"] is False

    def test_24_record_set_list(self, vl: Vaultlink) -> None:
        sets = vl.az("network", "private-dns", "record-set", "list", "-g", RG, "-z", ZONE)
        by_type = {(r["type"].rsplit("/", 1)[-1], r["name"]): flat(r) for r in sets}
        assert ("SOA", "@") in by_type, sets
        a = by_type.get(("A", VAULT))
        assert a is not None, sets
        assert [r["ipv4Address"] for r in a["aRecords"]] == [S["ip"]]


# ---------------------------------------------------------------------------------------------
# Errors on the way (same server, after the scenario).
class TestSeedCliErrors:
    def test_keyvault_create_existing_name_fails(self, vl: Vaultlink) -> None:
        if "ip" not in S:
            pytest.fail("needs the scenario's vault")
        res = vl.az_fail("keyvault", "create", "-n", VAULT, "-g", RG, "-l", REGION)
        assert "already exists" in res.stderr, res.describe()

    def test_keyvault_create_bad_name_fails(self, vl: Vaultlink) -> None:
        if "ip" not in S:
            vl.login_sp()
            vl.az("group", "create", "-n", RG, "-l", REGION)
        # Starts with a digit and has consecutive hyphens; fits the ARM path regex.
        res = vl.az_fail("keyvault", "create", "-n", "9bad--vault", "-g", RG, "-l", REGION)
        assert "VaultNameNotValid" in res.stderr, res.describe()

    def test_subnet_outside_vnet_space_fails(self, vl: Vaultlink) -> None:
        if "ip" not in S:
            pytest.fail("needs the scenario's vnet")
        res = vl.az_fail(
            "network", "vnet", "subnet", "create", "-g", RG, "--vnet-name", VNET,
            "--name", "snet-outside", "--address-prefixes", "10.1.0.0/24",
        )
        assert "Traceback" not in res.stderr, res.describe()
        vnet = vl.az("network", "vnet", "show", "-g", RG, "-n", VNET)
        assert "snet-outside" not in [s["name"] for s in vnet.get("subnets") or []]
