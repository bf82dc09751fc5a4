"""The e2e topology builder: VNets, subnets, private DNS zones and their VNet links, private
endpoints (with a zone group or an A record) and client NICs, made with the real az through
`Vaultlink.az` (or any object with the same `az`, e.g. an `App` with its own az profile).

Every method sends one az command, always with the same arguments in the same order, so a test
that uses the builder sends what it sent when it typed the steps out. Where a test's set-up is
itself what is tested (the seed's CLI lines in test_seed_cli.py, an endpoint creation whose
refusal is the point), the test keeps its explicit az lines.

    net = Network(vl, "rg-pl")
    net.private_link(VAULT_ID, vnet="vnet1", address_prefix="10.0.0.0/16", subnet="snet1",
                     subnet_prefix="10.0.0.0/24", link="link1", endpoint="pe1", connection="c1")
    net.record(VAULT_ZONE, "kvlab1", net.endpoint_ip("pe1"))
    client = net.nic("client1", "vnet1", "snet1")
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

VAULT_ZONE = "privatelink.vaultcore.azure.net"  # the private DNS zone of Key Vault endpoints


class Az(Protocol):
    def az(self, *args: str, **kwargs: Any) -> Any: ...


@dataclasses.dataclass
class PrivateLink:
    """What `Network.private_link` made: the names the tests go on with, and the endpoint."""
    rg: str
    vnet: str
    subnet: str
    zone: str
    link: str
    endpoint_name: str
    endpoint: Any  # az's answer to `network private-endpoint create`


class Network:
    """Builds network resources in one resource group with `owner.az`."""

    def __init__(self, owner: Az, rg: str):
        self.owner = owner
        self.rg = rg

    def az(self, *args: str, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        return self.owner.az(*args, **kwargs)

    # -- virtual networks ---------------------------------------------------------------------
    def vnet(self, name: str, address_prefix: str | None = None, *, location: str | None = None,
             subnet: str | None = None, subnet_prefix: str | None = None) -> Any:
        """`az network vnet create`; with `subnet`, its first subnet in the same call."""
        args = ["network", "vnet", "create", "-g", self.rg, "-n", name]
        if location is not None:
            args += ["--location", location]
        if address_prefix is not None:
            args += ["--address-prefixes", address_prefix]
        if subnet is not None:
            args += ["--subnet-name", subnet, "--subnet-prefixes", str(subnet_prefix)]
        return self.az(*args)

    def subnet(self, vnet: str, name: str, address_prefix: str) -> Any:
        return self.az("network", "vnet", "subnet", "create", "-g", self.rg, "--vnet-name", vnet,
                       "--name", name, "--address-prefixes", address_prefix)

    def vnet_with_subnet(self, vnet: str, address_prefix: str | None, subnet: str,
                         subnet_prefix: str, *, location: str | None = None) -> Any:
        """A VNet, then a subnet in it (two az calls); returns the subnet."""
        self.vnet(vnet, address_prefix, location=location)
        return self.subnet(vnet, subnet, subnet_prefix)

    def nic(self, name: str, vnet: str, subnet: str) -> Any:
        """A client NIC (`az network nic create`); az's answer holds it under `NewNIC`."""
        return self.az("network", "nic", "create", "-g", self.rg, "-n", name, "--vnet-name", vnet,
                       "--subnet", subnet)

    # -- private DNS --------------------------------------------------------------------------
    def zone(self, zone: str = VAULT_ZONE) -> Any:
        return self.az("network", "private-dns", "zone", "create", "-g", self.rg, "-n", zone)

    def link(self, vnet: str, name: str, zone: str = VAULT_ZONE) -> Any:
        """A VNet link without auto-registration."""
        return self.az("network", "private-dns", "link", "vnet", "create", "-g", self.rg,
                       "--virtual-network", vnet, "--zone-name", zone, "--name", name,
                       "--registration-enabled", "false")

    def record(self, zone: str, name: str, address: str) -> Any:
        """`az network private-dns record-set a add-record`."""
        return self.az("network", "private-dns", "record-set", "a", "add-record", "-g", self.rg,
                       "-z", zone, "-n", name, "-a", address)

    # -- private endpoints --------------------------------------------------------------------
    def endpoint(self, vnet: str, subnet: str, name: str, target_id: str, connection: str, *,
                 location: str | None = None, manual: bool = False) -> Any:
        """A private endpoint to `target_id` (group `vault`); `manual` sends --manual-request
        (the connection lands Pending), else the connection is approved automatically."""
        args = ["network", "private-endpoint", "create", "-g", self.rg, "--vnet-name", vnet,
                "--subnet", subnet, "--name", name, "--private-connection-resource-id", target_id,
                "--group-ids", "vault", "--connection-name", connection]
        if location is not None:
            args += ["--location", location]
        if manual:
            args.append("--manual-request")
        return self.az(*args)

    def zone_group(self, endpoint: str, zone: str = VAULT_ZONE, name: str = "default",
                   zone_config: str = "kv") -> Any:
        return self.az("network", "private-endpoint", "dns-zone-group", "create", "-g", self.rg,
                       "--endpoint-name", endpoint, "--name", name, "--private-dns-zone", zone,
                       "--zone-name", zone_config)

    def endpoint_ip(self, endpoint: str) -> str:
        """The private address of the endpoint's NIC (`private-endpoint show`, `nic show`)."""
        nic_id = self.az("network", "private-endpoint", "show", "-g", self.rg,
                         "-n", endpoint)["networkInterfaces"][0]["id"]
        return self.az("network", "nic", "show", "--ids", nic_id)["ipConfigurations"][0][
            "privateIPAddress"]

    # -- the whole of it ----------------------------------------------------------------------
    def private_link(self, target_id: str, *, vnet: str, address_prefix: str, subnet: str,
                     subnet_prefix: str, link: str, endpoint: str, connection: str,
                     zone: str = VAULT_ZONE, location: str | None = None,
                     manual: bool = False) -> PrivateLink:
        """The seed's private link, in this order: VNet, subnet, private DNS zone, its link to
        the VNet, the private endpoint to `target_id` (`location` goes to the VNet and the
        endpoint). The zone's A record or zone group is the caller's next step."""
        self.vnet_with_subnet(vnet, address_prefix, subnet, subnet_prefix, location=location)
        self.zone(zone)
        self.link(vnet, link, zone)
        pe = self.endpoint(vnet, subnet, endpoint, target_id, connection, location=location,
                           manual=manual)
        return PrivateLink(self.rg, vnet, subnet, zone, link, endpoint, pe)
