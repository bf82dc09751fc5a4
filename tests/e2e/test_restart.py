"""State survives a clean stop (SIGTERM, SIGINT) and a kill -9; tokens issued before a restart
stay valid (az keeps them in its MSAL cache and does not log in again)."""

from __future__ import annotations

import signal

from conftest import Vaultlink
from topology import Network

RG = "rg-restart"
REGION = "westeurope"


def assert_all_there(vl: Vaultlink, vaults: list[str], vnets: dict[str, list[str]]) -> None:
    rg = vl.az("group", "show", "-n", RG)
    assert rg["properties"]["provisioningState"] == "Succeeded"
    for name in vaults:
        vault = vl.az("keyvault", "show", "-n", name, "-g", RG)
        assert vault["properties"]["vaultUri"].rstrip("/") == f"https://{name}.vault.azure.net"
    listed = sorted(v["name"] for v in vl.az("keyvault", "list", "-g", RG))
    assert listed == sorted(vaults)
    for vnet, subnets in vnets.items():
        shown = vl.az("network", "vnet", "show", "-g", RG, "-n", vnet)
        assert sorted(s["name"] for s in shown.get("subnets") or []) == sorted(subnets)
        for subnet in subnets:
            sn = vl.az("network", "vnet", "subnet", "show", "-g", RG, "--vnet-name", vnet,
                       "-n", subnet)
            assert sn["provisioningState"] == "Succeeded"


def test_state_survives_sigterm_and_kill9(vaultlink: Vaultlink) -> None:
    vl = vaultlink
    vl.login_sp()
    vl.register_providers()
    vl.az("group", "create", "-n", RG, "-l", REGION)
    vl.az("keyvault", "create", "-n", "kv-restart-01", "-g", RG, "-l", REGION)
    vl.az("keyvault", "update", "-n", "kv-restart-01", "-g", RG, "--default-action", "deny")
    net = Network(vl, RG)
    net.vnet_with_subnet("vnet-a", None, "snet-a", "10.0.0.0/24", location=REGION)
    vaults = ["kv-restart-01"]
    vnets = {"vnet-a": ["snet-a"]}

    ca_before = open(vl.exports["REQUESTS_CA_BUNDLE"]).read()
    vl.restart()  # SIGTERM, asserts exit code 0
    assert open(vl.exports["REQUESTS_CA_BUNDLE"]).read() == ca_before, "the CA must persist"
    assert_all_there(vl, vaults, vnets)
    vault = vl.az("keyvault", "show", "-n", "kv-restart-01", "-g", RG)
    assert vault["properties"]["networkAcls"]["defaultAction"] == "Deny"

    # More, then kill -9 (no chance to flush anything on the way out).
    vl.az("keyvault", "create", "-n", "kv-restart-02", "-g", RG, "-l", REGION)
    net.subnet("vnet-a", "snet-b", "10.0.1.0/24")
    net.vnet("vnet-b", "10.1.0.0/16", location=REGION)
    vaults.append("kv-restart-02")
    vnets["vnet-a"].append("snet-b")
    vnets["vnet-b"] = []
    vl.restart(kill=True)
    assert_all_there(vl, vaults, vnets)

    # And a deletion survives too.
    vl.az("network", "vnet", "delete", "-g", RG, "-n", "vnet-b")
    vl.restart(kill=True)
    res = vl.az("network", "vnet", "show", "-g", RG, "-n", "vnet-b", check=False)
    assert res.rc != 0 and "ResourceNotFound" in res.stderr, res.describe()


def test_sigint_stops_cleanly(vaultlink: Vaultlink) -> None:
    vl = vaultlink
    vl.login_sp()
    vl.az("group", "create", "-n", RG, "-l", REGION)
    code = vl.stop(signal.SIGINT)
    assert code == 0, f"exit code {code} on SIGINT"
    vl.start()
    assert vl.az("group", "show", "-n", RG)["name"] == RG


def test_pec_state_survives_restart(vaultlink: Vaultlink) -> None:
    """Private endpoint connections, their states and the NIC address across a kill -9."""
    vl = vaultlink
    vl.login_sp()
    vl.register_providers()
    vl.az("group", "create", "-n", RG, "-l", REGION)
    vault = vl.az("keyvault", "create", "-n", "kv-restart-pe", "-g", RG, "-l", REGION)
    net = Network(vl, RG)
    net.vnet_with_subnet("vnet-pe", None, "snet-pe", "10.0.0.0/24", location=REGION)
    pe = net.endpoint("vnet-pe", "snet-pe", "pe-restart", vault["id"], "conn-restart",
                      location=REGION, manual=True)
    nic_before = vl.az("network", "nic", "show", "--ids", pe["networkInterfaces"][0]["id"])
    vl.restart(kill=True)
    pe_after = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", "pe-restart")
    state = pe_after["manualPrivateLinkServiceConnections"][0][
        "privateLinkServiceConnectionState"]
    assert state["status"] == "Pending"
    nic_after = vl.az("network", "nic", "show", "--ids", pe["networkInterfaces"][0]["id"])
    assert (nic_after["ipConfigurations"][0]["privateIPAddress"]
            == nic_before["ipConfigurations"][0]["privateIPAddress"])
    conns = vl.az("keyvault", "show", "-n", "kv-restart-pe", "-g", RG)[
        "properties"]["privateEndpointConnections"]
    assert len(conns) == 1
