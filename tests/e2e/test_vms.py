"""Virtual machines (issue 18) with the real az CLI, outside lab mode: `az vm create` as the seed's
"Validate" section types it (it sends a template deployment: the NIC in the subnet, the VM),
show/list/list-ip-addresses, the power actions, the catalogue (images, sizes), deletion with the
NIC's delete option, and Compute's refusals. Run Command itself runs scripts only in lab mode
(test_private_link.py); here its refusal without lab mode is checked.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import SUBSCRIPTION_ID, Vaultlink
from dp_fixtures import proxy_with_identity

RG = "rg-vm"
VNET = "vnet-vm"
SUBNET = "snet-vm"
RG_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}"
UBUNTU_URN = "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest"


@pytest.fixture(scope="module")
def vms(logged_in: Vaultlink, tmp_path_factory: pytest.TempPathFactory) -> Vaultlink:
    vl = logged_in
    vl.az("group", "create", "-n", RG, "-l", "westeurope")
    vl.az("network", "vnet", "create", "-g", RG, "-n", VNET, "--address-prefixes", "10.20.0.0/16",
          "--subnet-name", SUBNET, "--subnet-prefixes", "10.20.0.0/24")
    key = tmp_path_factory.mktemp("ssh") / "id_rsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(key)], check=True)
    vl.ssh_public_key = str(key) + ".pub"  # type: ignore[attr-defined]
    return vl


def create_vm(vl: Vaultlink, name: str, *extra: str) -> dict:
    return vl.az("vm", "create", "-g", RG, "-n", name, "--image", "Ubuntu2204", "--vnet-name", VNET,
                 "--subnet", SUBNET, "--public-ip-address", "", "--nsg", "", "--admin-username", "azureuser",
                 "--ssh-key-values", vl.ssh_public_key, *extra)  # type: ignore[attr-defined]


def test_vm_create_as_the_seed_types_it_puts_a_vm_in_the_subnet(vms: Vaultlink, tmp_path: Path) -> None:
    # The seed's own line, --generate-ssh-keys included (az writes the key pair under $HOME).
    env = dict(vms.env, HOME=str(tmp_path))
    out = vms.az("vm", "create", "-g", RG, "-n", "vm1", "--image", "Ubuntu2204", "--vnet-name", VNET,
                 "--subnet", SUBNET, "--public-ip-address", "", "--nsg", "", "--admin-username", "azureuser",
                 "--generate-ssh-keys", env=env)
    assert out["powerState"] == "VM running"
    assert out["privateIpAddress"] == "10.20.0.4"  # Azure's first usable address of the subnet
    assert out["publicIpAddress"] == ""
    assert out["id"] == f"{RG_ID}/providers/Microsoft.Compute/virtualMachines/vm1"
    assert (tmp_path / ".ssh" / "id_rsa.pub").exists()

    vm = vms.az("vm", "show", "-g", RG, "-n", "vm1")
    assert vm["provisioningState"] == "Succeeded"
    assert vm["storageProfile"]["imageReference"]["offer"] == "0001-com-ubuntu-server-jammy"
    assert vm["storageProfile"]["osDisk"]["osType"] == "Linux"
    assert vm["osProfile"]["adminUsername"] == "azureuser"
    assert vm["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"] is True
    key = (tmp_path / ".ssh" / "id_rsa.pub").read_text().strip()
    assert vm["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"][0]["keyData"].strip() == key
    [nic_ref] = vm["networkProfile"]["networkInterfaces"]
    nic = vms.az("network", "nic", "show", "--ids", nic_ref["id"])
    ipc = nic["ipConfigurations"][0]
    assert ipc["subnet"]["id"].endswith(f"/virtualNetworks/{VNET}/subnets/{SUBNET}")
    assert ipc["privateIPAddress"] == "10.20.0.4"
    assert nic["virtualMachine"]["id"] == vm["id"]

    # The deployment az sent is recorded like any other.
    deployments = vms.az("deployment", "group", "list", "-g", RG)
    assert any(d["name"].startswith("vm_deploy_") and d["properties"]["provisioningState"] == "Succeeded"
               for d in deployments)


def test_show_list_and_ip_addresses(vms: Vaultlink) -> None:
    create_vm(vms, "vm-list")
    shown = vms.az("vm", "show", "-g", RG, "-n", "vm-list", "-d")
    assert shown["powerState"] == "VM running"
    assert shown["privateIps"].startswith("10.20.0.")
    names = {v["name"] for v in vms.az("vm", "list", "-g", RG)}
    assert "vm-list" in names
    assert "vm-list" in {v["name"] for v in vms.az("vm", "list")}
    ips = vms.az("vm", "list-ip-addresses", "-g", RG, "-n", "vm-list")
    [entry] = ips
    assert entry["virtualMachine"]["name"] == "vm-list"
    assert entry["virtualMachine"]["network"]["privateIpAddresses"] == [shown["privateIps"]]
    generic = vms.az("resource", "list", "-g", RG, "--resource-type", "Microsoft.Compute/virtualMachines")
    assert "vm-list" in {r["name"] for r in generic}


def test_default_public_ip_and_nsg_and_what_the_vault_firewall_sees(vms: Vaultlink) -> None:
    """`az vm create` with neither --public-ip-address nor --nsg makes both, as in Azure: a
    Standard static address from vaultlink's public range and an NSG allowing SSH. A VM with a
    public IP and no Key Vault service endpoint reaches a vault's firewall as that address."""
    vms.az("vm", "create", "-g", RG, "-n", "vm-pub", "--image", "Ubuntu2204", "--vnet-name", VNET,
           "--subnet", SUBNET, "--admin-username", "azureuser",
           "--ssh-key-values", vms.ssh_public_key)  # type: ignore[attr-defined]
    shown = vms.az("vm", "show", "-g", RG, "-n", "vm-pub", "-d")
    assert shown["publicIps"].startswith("192.0.2."), shown["publicIps"]
    nic = vms.az("network", "nic", "show", "--ids", shown["networkProfile"]["networkInterfaces"][0]["id"])
    pip_id = nic["ipConfigurations"][0]["publicIPAddress"]["id"]
    pip = vms.az("network", "public-ip", "show", "--ids", pip_id)
    assert pip["ipAddress"] == shown["publicIps"]
    assert pip["sku"]["name"] == "Standard" and pip["publicIPAllocationMethod"] == "Static"
    assert pip["ipConfiguration"]["id"].lower().startswith(nic["id"].lower())
    nsg = vms.az("network", "nsg", "show", "--ids", nic["networkSecurityGroup"]["id"])
    [ssh] = [r for r in nsg["securityRules"] if r["destinationPortRange"] == "22"]
    assert (ssh["access"], ssh["direction"], ssh["protocol"]) == ("Allow", "Inbound", "Tcp")
    [entry] = vms.az("vm", "list-ip-addresses", "-g", RG, "-n", "vm-pub")
    assert entry["virtualMachine"]["network"]["publicIpAddresses"][0]["ipAddress"] == shown["publicIps"]

    vault = "kv-vm-pub"
    vms.register_providers("Microsoft.KeyVault", wait=True)
    vms.az("keyvault", "create", "-n", vault, "-g", RG, "-l", "westeurope")
    vms.az("keyvault", "secret", "set", "--vault-name", vault, "-n", "s", "--value", "seen-as-the-pip")
    vms.az("keyvault", "update", "-n", vault, "-g", RG, "--default-action", "Deny")
    vms.az("keyvault", "network-rule", "add", "-n", vault, "-g", RG, "--ip-address", shown["publicIps"])
    create_vm(vms, "vm-nopub")

    def show_as(vm: str):
        env = dict(vms.env, HTTPS_PROXY=proxy_with_identity(vms, vm))
        return vms.az("keyvault", "secret", "show", "--vault-name", vault, "-n", "s", check=False, env=env)

    allowed = show_as("vm-pub")
    assert allowed.rc == 0 and allowed.json["value"] == "seen-as-the-pip", allowed.describe()
    denied = show_as("vm-nopub")
    assert denied.rc != 0 and '"code": "ForbiddenByFirewall"' in denied.stderr, denied.describe()

    # az sets no delete option on what it made: deleting the VM leaves the NIC, address and NSG.
    vms.az("vm", "delete", "-g", RG, "-n", "vm-pub", "--yes", output=None)
    assert vms.az("network", "public-ip", "show", "--ids", pip_id)["ipAddress"] == shown["publicIps"]
    vms.az("network", "nic", "show", "--ids", nic["id"])
    vms.az("network", "nsg", "show", "--ids", nsg["id"])


def test_doctor_takes_a_vm_as_the_caller_and_its_matrix_names_vms(vms: Vaultlink) -> None:
    create_vm(vms, "vm-doc")
    vms.register_providers("Microsoft.KeyVault", wait=True)
    vms.az("keyvault", "create", "-n", "kv-vm-doc", "-g", RG, "-l", "westeurope")
    nic = vms.az("vm", "show", "-g", RG, "-n", "vm-doc")["networkProfile"]["networkInterfaces"][0]["id"]
    nic_name = nic.rsplit("/", 1)[1]

    def doctor(*args: str) -> tuple[int, object]:
        proc = vms.run_vaultlink("doctor", "--data-dir", str(vms.data_dir), *args, "--output", "json", check=False)
        assert proc.stdout.strip(), proc.stderr
        return proc.returncode, __import__("json").loads(proc.stdout)

    _, report = doctor("kv-vm-doc", "--from", "vm-doc")
    assert report["caller"].startswith(f"VM vm-doc (NIC {nic_name}, 10.20.0."), report["caller"]
    assert report["caller"].endswith(f"in {VNET}/{SUBNET}"), report["caller"]
    assert report["path"] == "public", report  # no endpoint in this VNet: the vault's public address
    _, rows = doctor("--matrix")
    [row] = [r for r in rows if r["vault"] == "kv-vm-doc" and r["caller"].startswith("VM vm-doc ")]
    assert row["caller"] == report["caller"] and row["allowed"] is True, row
    assert not [r for r in rows if r["caller"].startswith(f"NIC {nic_name} ")], rows


def test_power_actions_move_the_power_state(vms: Vaultlink) -> None:
    create_vm(vms, "vm-power")

    def power() -> str:
        return vms.az("vm", "get-instance-view", "-g", RG, "-n", "vm-power",
                      "--query", "instanceView.statuses[?starts_with(code, 'PowerState/')].code | [0]")

    assert power() == "PowerState/running"
    vms.az("vm", "stop", "-g", RG, "-n", "vm-power", output=None)
    assert power() == "PowerState/stopped"
    vms.az("vm", "deallocate", "-g", RG, "-n", "vm-power", output=None)
    assert power() == "PowerState/deallocated"
    # A command cannot run on a VM that is not running.
    refused = vms.az("vm", "run-command", "invoke", "-g", RG, "-n", "vm-power", "--command-id", "RunShellScript",
                     "--scripts", "true", check=False)
    assert refused.rc != 0 and "OperationNotAllowed" in refused.stderr
    vms.az("vm", "start", "-g", RG, "-n", "vm-power", output=None)
    assert power() == "PowerState/running"


def test_run_command_outside_lab_mode_is_refused_naming_lab(vms: Vaultlink) -> None:
    create_vm(vms, "vm-run")
    r = vms.az("vm", "run-command", "invoke", "-g", RG, "-n", "vm-run", "--command-id", "RunShellScript",
               "--scripts", "echo hi", check=False)
    assert r.rc != 0
    assert "OperationNotAllowed" in r.stderr and "--lab" in r.stderr
    unknown = vms.az("vm", "run-command", "invoke", "-g", RG, "-n", "vm-run", "--command-id", "RunPowerShellScript",
                     "--scripts", "Get-Date", check=False)
    assert unknown.rc != 0 and "not supported on a Linux virtual machine" in unknown.stderr


def test_managed_run_command_outside_lab_mode_is_refused_and_stores_nothing(vms: Vaultlink) -> None:
    create_vm(vms, "vm-rc")
    refused = vms.az("vm", "run-command", "create", "-g", RG, "--vm-name", "vm-rc", "--name", "rc1",
                     "--script", "hostname", check=False)
    assert refused.rc != 0 and "OperationNotAllowed" in refused.stderr and "--lab" in refused.stderr, refused.describe()
    assert vms.az("vm", "run-command", "list", "-g", RG, "--vm-name", "vm-rc") == []
    missing = vms.az("vm", "run-command", "show", "-g", RG, "--vm-name", "vm-rc", "--name", "rc1", check=False)
    assert missing.rc != 0 and "ResourceNotFound" in missing.stderr, missing.describe()


def test_catalogue_images_and_sizes(vms: Vaultlink) -> None:
    image = vms.az("vm", "image", "show", "--urn", UBUNTU_URN)
    assert image["hyperVGeneration"] == "V2"
    assert image["osDiskImage"]["operatingSystem"] == "Linux"
    versions = vms.az("vm", "image", "list", "--publisher", "Canonical", "--offer", "0001-com-ubuntu-server-jammy",
                      "--sku", "22_04-lts-gen2", "--all", "-l", "westeurope")
    assert [v["urn"] for v in versions] == [f"Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:{image['name']}"]
    aliases = {i["urnAlias"] for i in vms.az("vm", "image", "list")}
    assert {"Ubuntu2204", "Win2022Datacenter"} <= aliases
    sizes = {s["name"]: s for s in vms.az("vm", "list-sizes", "-l", "westeurope")}
    assert sizes["Standard_DS1_v2"]["numberOfCores"] == 1
    missing = vms.az("vm", "image", "show", "--urn", "Canonical:NoSuchOffer:1:latest", check=False)
    assert missing.rc != 0 and "ImageNotFound" in missing.stderr


def test_existing_nic_and_a_windows_image(vms: Vaultlink) -> None:
    vms.az("network", "nic", "create", "-g", RG, "-n", "nic-own", "--vnet-name", VNET, "--subnet", SUBNET)
    out = vms.az("vm", "create", "-g", RG, "-n", "vm-nic", "--image", "Ubuntu2204", "--nics", "nic-own",
                 "--admin-username", "azureuser", "--ssh-key-values", vms.ssh_public_key)  # type: ignore[attr-defined]
    nic = vms.az("network", "nic", "show", "-g", RG, "-n", "nic-own")
    assert out["privateIpAddress"] == nic["ipConfigurations"][0]["privateIPAddress"]
    assert nic["virtualMachine"]["id"].endswith("/virtualMachines/vm-nic")
    # The NIC belongs to vm-nic now: another VM cannot take it.
    taken = vms.az("vm", "create", "-g", RG, "-n", "vm-nic2", "--image", "Ubuntu2204", "--nics", "nic-own",
                   "--admin-username", "azureuser", "--ssh-key-values", vms.ssh_public_key,  # type: ignore[attr-defined]
                   check=False)
    assert taken.rc != 0 and "NicInUse" in taken.stderr

    win = vms.az("vm", "create", "-g", RG, "-n", "win1", "--image", "Win2022Datacenter", "--vnet-name", VNET,
                 "--subnet", SUBNET, "--public-ip-address", "", "--nsg", "", "--admin-username", "azureuser",
                 "--admin-password", "Str0ng!Passw0rd#2026")
    assert win["powerState"] == "VM running"
    shown = vms.az("vm", "show", "-g", RG, "-n", "win1")
    assert shown["storageProfile"]["osDisk"]["osType"] == "Windows"
    assert "adminPassword" not in shown["osProfile"]  # never returned, as in Azure


def test_delete_follows_the_nic_delete_option(vms: Vaultlink) -> None:
    create_vm(vms, "vm-keep")
    create_vm(vms, "vm-gone", "--nic-delete-option", "Delete")
    keep_nic = vms.az("vm", "show", "-g", RG, "-n", "vm-keep")["networkProfile"]["networkInterfaces"][0]["id"]
    gone = vms.az("vm", "show", "-g", RG, "-n", "vm-gone")["networkProfile"]["networkInterfaces"][0]
    assert gone["deleteOption"] == "Delete"
    vms.az("vm", "delete", "-g", RG, "-n", "vm-keep", "--yes", output=None)
    vms.az("vm", "delete", "-g", RG, "-n", "vm-gone", "--yes", output=None)
    assert vms.az("vm", "show", "-g", RG, "-n", "vm-keep", check=False).rc != 0
    kept = vms.az("network", "nic", "show", "--ids", keep_nic)
    assert "virtualMachine" not in kept or kept["virtualMachine"] is None  # detached, kept
    assert vms.az("network", "nic", "show", "--ids", gone["id"], check=False).rc != 0


def test_compute_refusals_in_azures_words(vms: Vaultlink) -> None:
    nic_id = vms.az("network", "nic", "create", "-g", RG, "-n", "nic-bad", "--vnet-name", VNET,
                    "--subnet", SUBNET)["NewNIC"]["id"]
    url = f"{RG_ID}/providers/Microsoft.Compute/virtualMachines/vm-bad?api-version=2024-11-01"

    def put(body: dict) -> str:
        r = vms.az("rest", "--method", "put", "--url", url, "--body", __import__("json").dumps(body), check=False)
        assert r.rc != 0, r.stdout
        return r.stderr

    base = {
        "location": "westeurope",
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_DS1_v2"},
            "storageProfile": {"imageReference": {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy",
                                                   "sku": "22_04-lts-gen2", "version": "latest"}},
            "osProfile": {"computerName": "vm-bad", "adminUsername": "azureuser", "adminPassword": "Str0ng!Passw0rd#2026"},
            "networkProfile": {"networkInterfaces": [{"id": nic_id}]},
        },
    }
    import copy
    bad_image = copy.deepcopy(base)
    bad_image["properties"]["storageProfile"]["imageReference"]["offer"] = "NoSuchOffer"
    assert "PlatformImageNotFound" in put(bad_image)
    bad_user = copy.deepcopy(base)
    bad_user["properties"]["osProfile"]["adminUsername"] = "admin"
    assert "The Admin Username specified is not allowed." in put(bad_user)
    bad_size = copy.deepcopy(base)
    bad_size["properties"]["hardwareProfile"]["vmSize"] = "Standard_Imaginary_v9"
    assert "InvalidParameter" in put(bad_size)
    no_nic = copy.deepcopy(base)
    no_nic["properties"]["networkProfile"]["networkInterfaces"] = [{"id": f"{RG_ID}/providers/Microsoft.Network/networkInterfaces/none"}]
    assert "InvalidResourceReference" in put(no_nic)
    # Nothing of the refused VM was kept.
    assert vms.az("vm", "show", "-g", RG, "-n", "vm-bad", check=False).rc != 0
    # An image cannot change under an existing VM.
    vms.az("rest", "--method", "put", "--url", url, "--body", __import__("json").dumps(base))
    other = copy.deepcopy(base)
    other["properties"]["storageProfile"]["imageReference"] = {"publisher": "Debian", "offer": "debian-11",
                                                               "sku": "11-backports-gen2", "version": "latest"}
    assert "PropertyChangeNotAllowed" in put(other)
