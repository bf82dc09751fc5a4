"""Public IP addresses and network security groups (issue 18) with the real az CLI: `az network
public-ip` and `az network nsg` (with `nsg rule`) create/show/list/delete, a NIC made with both
(`az network nic create --public-ip-address --network-security-group`), the back-references each
shows (`ipConfiguration`, `networkInterfaces`), and the refusals to delete either while the NIC
uses it, or to give one public IP to a second NIC; the network resources of `az vm create`'s
template deployed; and a NIC's public IP as the source address the vault firewall sees.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SUBSCRIPTION_ID, Vaultlink
from dp_fixtures import provision, proxy_with_identity
from topology import Network

LOCATION = "westeurope"
RG = "rg-pip"
RG_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}"
NET = f"{RG_ID}/providers/Microsoft.Network"
PUBLIC_RANGE = "192.0.2."  # docs/behaviour.md: every public IP comes from 192.0.2.0/24


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    logged_in.register_providers("Microsoft.KeyVault", "Microsoft.Network")
    logged_in.az("group", "create", "-n", RG, "-l", LOCATION)
    Network(logged_in, RG).vnet("vnet1", "10.0.0.0/16", subnet="snet1", subnet_prefix="10.0.0.0/24")
    return logged_in


def public_ip(vl: Vaultlink, name: str, *extra: str):
    """`az network public-ip create`; az's answer holds it under `publicIp`."""
    return vl.az("network", "public-ip", "create", "-g", RG, "-n", name, *extra)["publicIp"]


def test_public_ip_create_show_list_delete(vl: Vaultlink):
    made = public_ip(vl, "pip-web", "--sku", "Standard", "--allocation-method", "Static",
                     "--dns-name", "vl-web-1")
    assert made["sku"] == {"name": "Standard", "tier": "Regional"}
    assert made["publicIPAllocationMethod"] == "Static"
    assert made["publicIPAddressVersion"] == "IPv4"
    assert made["idleTimeoutInMinutes"] == 4
    assert made["ipAddress"].startswith(PUBLIC_RANGE)
    assert made["dnsSettings"] == {"domainNameLabel": "vl-web-1",
                                    "fqdn": f"vl-web-1.{LOCATION}.cloudapp.azure.com"}
    shown = vl.az("network", "public-ip", "show", "-g", RG, "-n", "pip-web")
    assert shown["id"] == f"{NET}/publicIPAddresses/pip-web"
    assert shown["ipAddress"] == made["ipAddress"]
    assert "ipConfiguration" not in shown
    other = public_ip(vl, "pip-other", "--sku", "Standard")
    assert other["ipAddress"].startswith(PUBLIC_RANGE) and other["ipAddress"] != made["ipAddress"]
    in_group = {p["name"] for p in vl.az("network", "public-ip", "list", "-g", RG)}
    assert {"pip-web", "pip-other"} <= in_group
    in_sub = {p["id"].lower() for p in vl.az("network", "public-ip", "list")}
    assert shown["id"].lower() in in_sub
    # Updating keeps the address.
    updated = vl.az("network", "public-ip", "update", "-g", RG, "-n", "pip-web", "--idle-timeout", "10")
    assert (updated["idleTimeoutInMinutes"], updated["ipAddress"]) == (10, made["ipAddress"])
    vl.az("network", "public-ip", "delete", "-g", RG, "-n", "pip-other", output=None)
    assert "pip-other" not in {p["name"] for p in vl.az("network", "public-ip", "list", "-g", RG)}
    gone = vl.az_fail("network", "public-ip", "show", "-g", RG, "-n", "pip-other")
    assert "ResourceNotFound" in gone.stderr


def test_public_ip_refusals(vl: Vaultlink):
    dup = vl.az_fail("network", "public-ip", "create", "-g", RG, "-n", "pip-dup", "--sku", "Standard",
                     "--dns-name", "vl-web-1")
    assert "DnsRecordInUse" in dup.stderr, dup.describe()
    dynamic = vl.az_fail("network", "public-ip", "create", "-g", RG, "-n", "pip-dyn", "--sku",
                         "Standard", "--allocation-method", "Dynamic")
    assert "StandardSkuPublicIPAddressesMustBeStatic" in dynamic.stderr, dynamic.describe()
    names = {p["name"] for p in vl.az("network", "public-ip", "list", "-g", RG)}
    assert not names & {"pip-dup", "pip-dyn"}


def test_nsg_create_show_list_rules_delete(vl: Vaultlink):
    made = vl.az("network", "nsg", "create", "-g", RG, "-n", "nsg-a")["NewNSG"]
    assert made["id"] == f"{NET}/networkSecurityGroups/nsg-a"
    defaults = [r["name"] for r in made["defaultSecurityRules"]]
    assert defaults == ["AllowVnetInBound", "AllowAzureLoadBalancerInBound", "DenyAllInBound",
                        "AllowVnetOutBound", "AllowInternetOutBound", "DenyAllOutBound"]
    rule = vl.az("network", "nsg", "rule", "create", "-g", RG, "--nsg-name", "nsg-a", "-n", "ssh",
                 "--priority", "1000", "--direction", "Inbound", "--access", "Allow",
                 "--protocol", "Tcp", "--destination-port-ranges", "22")
    assert (rule["priority"], rule["access"], rule["protocol"]) == (1000, "Allow", "Tcp")
    assert rule["destinationPortRange"] == "22"
    shown = vl.az("network", "nsg", "show", "-g", RG, "-n", "nsg-a")
    assert [r["name"] for r in shown["securityRules"]] == ["ssh"]
    listed = vl.az("network", "nsg", "rule", "list", "-g", RG, "--nsg-name", "nsg-a")
    assert [r["name"] for r in listed] == ["ssh"]
    conflict = vl.az_fail("network", "nsg", "rule", "create", "-g", RG, "--nsg-name", "nsg-a",
                          "-n", "ssh2", "--priority", "1000", "--direction", "Inbound",
                          "--destination-port-ranges", "2222")
    assert "SecurityRuleConflict" in conflict.stderr, conflict.describe()
    bad = vl.az_fail("network", "nsg", "rule", "create", "-g", RG, "--nsg-name", "nsg-a",
                     "-n", "far", "--priority", "5000", "--destination-port-ranges", "80")
    assert "SecurityRuleInvalidPriority" in bad.stderr, bad.describe()
    vl.az("network", "nsg", "rule", "delete", "-g", RG, "--nsg-name", "nsg-a", "-n", "ssh", output=None)
    assert vl.az("network", "nsg", "show", "-g", RG, "-n", "nsg-a")["securityRules"] == []
    assert "nsg-a" in {g["name"] for g in vl.az("network", "nsg", "list", "-g", RG)}
    assert made["id"].lower() in {g["id"].lower() for g in vl.az("network", "nsg", "list")}
    vl.az("network", "nsg", "delete", "-g", RG, "-n", "nsg-a", output=None)
    assert "nsg-a" not in {g["name"] for g in vl.az("network", "nsg", "list", "-g", RG)}


def test_a_nic_with_a_public_ip_and_an_nsg(vl: Vaultlink):
    pip = public_ip(vl, "pip-nic", "--sku", "Standard", "--allocation-method", "Static")
    vl.az("network", "nsg", "create", "-g", RG, "-n", "nsg-nic")
    nic = vl.az("network", "nic", "create", "-g", RG, "-n", "nic-pub", "--vnet-name", "vnet1",
                "--subnet", "snet1", "--public-ip-address", "pip-nic",
                "--network-security-group", "nsg-nic")["NewNIC"]
    ipconfig = nic["ipConfigurations"][0]
    assert ipconfig["publicIPAddress"]["id"] == pip["id"]
    assert nic["networkSecurityGroup"]["id"] == f"{NET}/networkSecurityGroups/nsg-nic"
    shown_pip = vl.az("network", "public-ip", "show", "-g", RG, "-n", "pip-nic")
    assert shown_pip["ipConfiguration"]["id"] == ipconfig["id"]
    shown_nsg = vl.az("network", "nsg", "show", "-g", RG, "-n", "nsg-nic")
    assert [n["id"] for n in shown_nsg["networkInterfaces"]] == [nic["id"]]

    # In use: neither can be deleted, and the public IP is not given to a second NIC.
    refused = vl.az_fail("network", "public-ip", "delete", "-g", RG, "-n", "pip-nic")
    assert "PublicIPAddressCannotBeDeleted" in refused.stderr, refused.describe()
    assert ipconfig["id"] in refused.stderr
    refused = vl.az_fail("network", "nsg", "delete", "-g", RG, "-n", "nsg-nic")
    assert "InUseNetworkSecurityGroupCannotBeDeleted" in refused.stderr, refused.describe()
    taken = vl.az_fail("network", "nic", "create", "-g", RG, "-n", "nic-second", "--vnet-name",
                       "vnet1", "--subnet", "snet1", "--public-ip-address", "pip-nic")
    assert "PublicIPAddressInUse" in taken.stderr, taken.describe()
    missing = vl.az_fail("network", "nic", "create", "-g", RG, "-n", "nic-missing", "--vnet-name",
                         "vnet1", "--subnet", "snet1", "--network-security-group",
                         f"{NET}/networkSecurityGroups/nope")
    assert "InvalidResourceReference" in missing.stderr, missing.describe()

    # The NIC goes: both are free again, with nothing left pointing at it.
    vl.az("network", "nic", "delete", "-g", RG, "-n", "nic-pub", output=None)
    assert "ipConfiguration" not in vl.az("network", "public-ip", "show", "-g", RG, "-n", "pip-nic")
    assert "networkInterfaces" not in vl.az("network", "nsg", "show", "-g", RG, "-n", "nsg-nic")
    vl.az("network", "public-ip", "delete", "-g", RG, "-n", "pip-nic", output=None)
    vl.az("network", "nsg", "delete", "-g", RG, "-n", "nsg-nic", output=None)


def test_the_network_part_of_az_vm_creates_template(vl: Vaultlink):
    """`az vm create` deploys a template whose NSG is at api-version 2015-06-15 and whose public
    IP and NIC are at az's network profile's (2022-01-01 here), the NIC naming both
    (`templates/vm-network.json` holds those three resources as az writes them)."""
    template = str(Path(__file__).resolve().parent / "templates" / "vm-network.json")
    dep = vl.az("deployment", "group", "create", "-g", RG, "-n", "vm1-net", "--template-file", template)
    assert dep["properties"]["provisioningState"] == "Succeeded"
    address = dep["properties"]["outputs"]["publicAddress"]["value"]
    assert address.startswith(PUBLIC_RANGE)
    nic = vl.az("network", "nic", "show", "-g", RG, "-n", "vm1VMNic")
    assert nic["ipConfigurations"][0]["publicIPAddress"]["id"] == f"{NET}/publicIPAddresses/vm1PublicIP"
    assert nic["networkSecurityGroup"]["id"] == f"{NET}/networkSecurityGroups/vm1NSG"
    pip = vl.az("network", "public-ip", "show", "-g", RG, "-n", "vm1PublicIP")
    assert (pip["ipAddress"], pip["ipConfiguration"]["id"]) == (address, nic["ipConfigurations"][0]["id"])
    nsg = vl.az("network", "nsg", "show", "-g", RG, "-n", "vm1NSG")
    assert [r["name"] for r in nsg["securityRules"]] == ["default-allow-ssh"]
    assert [n["id"] for n in nsg["networkInterfaces"]] == [nic["id"]]


def test_a_nics_public_ip_is_what_the_vault_firewall_sees(vl: Vaultlink):
    """Through the proxy as a NIC (its name as the proxy's user name): with a public IP and no
    Key Vault service endpoint on its subnet, the vault sees that address, so an `ipRules` entry
    for it lets the NIC in; a NIC without one comes from its VNet's default outbound address."""
    vault = "kv-pip-fw"
    provision(vl, RG, vault)
    vl.az("keyvault", "secret", "set", "--vault-name", vault, "-n", "s", "--value", "through-the-pip")
    pip = public_ip(vl, "pip-fw", "--sku", "Standard")
    vl.az("network", "nic", "create", "-g", RG, "-n", "nic-fw", "--vnet-name", "vnet1",
          "--subnet", "snet1", "--public-ip-address", "pip-fw")
    vl.az("network", "nic", "create", "-g", RG, "-n", "nic-nopip", "--vnet-name", "vnet1",
          "--subnet", "snet1")
    vl.az("keyvault", "update", "-n", vault, "-g", RG, "--default-action", "Deny")
    vl.az("keyvault", "network-rule", "add", "-n", vault, "-g", RG, "--ip-address", pip["ipAddress"])

    def show_as(nic: str):
        env = dict(vl.env)
        env["HTTPS_PROXY"] = proxy_with_identity(vl, nic)
        return vl.az("keyvault", "secret", "show", "--vault-name", vault, "-n", "s", check=False,
                     env=env)

    allowed = show_as("nic-fw")
    assert allowed.rc == 0 and allowed.json["value"] == "through-the-pip", allowed.describe()
    denied = show_as("nic-nopip")
    assert denied.rc != 0 and '"code": "ForbiddenByFirewall"' in denied.stderr, denied.describe()
    assert "Client address: 198.51.100." in denied.stderr, denied.describe()
