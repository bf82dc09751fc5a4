"""Private Link for real (issue 4): the seed's "Validate that the private link connection works" and
its troubleshooting guide, with unmodified nslookup, dig and az inside lab namespaces (root), and
the portable path (proxy identity + per-VNet DNS) outside them.

Lab tests need root and iproute2; they fail loudly when either is missing, never skip.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import SUBSCRIPTION_ID, Vaultlink
from portal_browser import browser, fill_vm_form, run_command, shots, sign_in, ssh_public_key  # noqa: F401 (fixtures)
from topology import VAULT_ZONE, Network

RG = "rg-pl"
VAULT = "kvlab1"
HOST = f"{VAULT}.vault.azure.net"
ZONE = VAULT_ZONE
VAULT_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"


def _require_lab_prerequisites() -> None:
    if os.geteuid() != 0:
        pytest.fail("lab mode tests need root (network namespaces); run them as root", pytrace=False)
    for tool in ("ip", "nslookup", "dig"):
        if shutil.which(tool) is None:
            pytest.fail(f"lab mode tests need `{tool}` (apt-get install iproute2 dnsutils)", pytrace=False)


# A lab namespace of "another instance": `zzzz` is no hash, so no vaultlink owns it.
DECOY_NS = "vl-zzzz-decoy"


def lab_namespaces(vl: Vaultlink | None = None) -> set[str]:
    """Every lab namespace on this machine, or only those of one instance (`vl-<hash of its data
    directory>-`, as the lab names them), so that lab runs side by side do not count each other's."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    prefix = "vl-"
    if vl is not None:
        prefix += hashlib.sha256(str(Path(vl.data_dir).resolve()).encode()).hexdigest()[:4] + "-"
    return {line.split()[0] for line in out.splitlines() if line.startswith(prefix)}


def exec_at(vl: Vaultlink, nic: str, *command: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(vl.binary), "exec", "--data-dir", str(vl.data_dir), "--nic", nic, "--", *command],
        capture_output=True, text=True, env=vl.env, timeout=timeout, stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"vaultlink exec --nic {nic} -- {' '.join(command)}\nrc={proc.returncode}\n"
                             f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")
    return proc


def az_inside(vl: Vaultlink, nic: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    from conftest import az_command
    return exec_at(vl, nic, *az_command(), *args, "-o", "json", check=check)


def query(server: tuple[str, int], name: str, rtype: str = "A") -> dns.message.Message:
    q = dns.message.make_query(name, rtype)
    return dns.query.udp(q, server[0], port=server[1], timeout=5)


def answer_chain(msg: dns.message.Message) -> list[tuple[str, str]]:
    out = []
    for rrset in msg.answer:
        for rr in rrset:
            out.append((rrset.name.to_text(), rr.to_text()))
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    _require_lab_prerequisites()
    vl = Vaultlink(tmp_path_factory.mktemp("private_link"), extra_args=("--lab",))
    before = lab_namespaces(vl)
    vl.start()
    try:
        vl.login_sp()
        vl.register_providers()
        vl.az("group", "create", "-n", RG, "-l", "westeurope")
        vl.az("keyvault", "create", "-n", VAULT, "-g", RG, "-l", "westeurope")
        vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "s1", "--value", "from-the-lab")
        vl.az("keyvault", "update", "-n", VAULT, "-g", RG, "--default-action", "deny")
        net = Network(vl, RG)
        net.private_link(VAULT_ID, vnet="vnet1", address_prefix="10.0.0.0/16", subnet="snet1",
                         subnet_prefix="10.0.0.0/24", zone=ZONE, link="link1", endpoint="pe1",
                         connection="conn1", location="westeurope")
        pe_ip = net.endpoint_ip("pe1")
        net.record(ZONE, VAULT, pe_ip)
        client = net.nic("client1", "vnet1", "snet1")
        vl.pe_ip = pe_ip  # type: ignore[attr-defined]
        vl.client_ip = client["NewNIC"]["ipConfigurations"][0]["privateIPAddress"]  # type: ignore[attr-defined]
        yield vl
    finally:
        vl.close()
        leftover = lab_namespaces(vl) - before
        assert not leftover, f"lab namespaces left behind after shutdown: {leftover}"


def test_client_nic_gets_the_next_address(lab: Vaultlink) -> None:
    assert lab.pe_ip == "10.0.0.4"  # type: ignore[attr-defined]
    assert lab.client_ip == "10.0.0.5"  # type: ignore[attr-defined]


def test_nslookup_inside_shows_the_privatelink_alias_and_the_private_address(lab: Vaultlink) -> None:
    out = exec_at(lab, "client1", "nslookup", HOST).stdout
    assert f"{VAULT}.privatelink.vaultcore.azure.net" in out, out
    assert re.search(r"Address:\s*10\.0\.0\.4\b", out), out
    assert "168.63.129.16" in out, out  # the server nslookup used is Azure DNS


def test_the_internet_sees_the_public_chain(lab: Vaultlink) -> None:
    assert lab.dns_addr is not None
    msg = query(lab.dns_addr, HOST)
    chain = answer_chain(msg)
    names = [n for n, _ in chain]
    assert names[0] == f"{HOST}."
    assert f"{VAULT}.privatelink.vaultcore.azure.net." in names, chain
    assert any("data-prod-" in data for _, data in chain), chain
    a = [data for _, data in chain if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", data)]
    assert a and not a[-1].startswith("10."), chain


def test_inside_reads_through_the_endpoint_while_the_internet_is_refused(lab: Vaultlink) -> None:
    inside = az_inside(lab, "client1", "keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
    assert '"value": "from-the-lab"' in inside.stdout
    outside = lab.az_fail("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
    assert "ForbiddenByFirewall" in outside.stderr, outside.describe()


def az_for_nobody() -> str:
    """The az of this venv as a command line `nobody` can run (a script on a VM runs as nobody):
    the venv's own interpreter when nobody may execute it, else the system's Python of the same
    version with the venv's packages (pyenv keeps interpreters under /root, closed to others)."""
    import sys
    import sysconfig
    from conftest import az_command
    def runs(cmd: list[str]) -> bool:
        probe = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "env", "HOME=/tmp", *cmd, "version", "-o", "none"]
        return subprocess.run(probe, capture_output=True, timeout=120, cwd="/tmp").returncode == 0
    if runs(az_command()):
        return shlex.join(az_command())
    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    cmd = ["env", f"PYTHONPATH={sysconfig.get_paths()['purelib']}", system, "-m", "azure.cli"]
    if not (Path(system).exists() and runs(cmd)):
        pytest.fail(f"no az that user nobody can run: the venv's interpreter is closed to it and {system} "
                    "is missing (apt-get install python3 of the venv's version)", pytrace=False)
    return shlex.join(cmd)


def run_on_vm(lab: Vaultlink, vm: str, script: str) -> dict:
    """`az vm run-command invoke ... RunShellScript`: the one status Azure returns."""
    out = lab.az("vm", "run-command", "invoke", "-g", RG, "-n", vm, "--command-id", "RunShellScript",
                 "--scripts", script)
    [status] = out["value"]
    return status


def create_vm(lab: Vaultlink, name: str, vnet: str, subnet: str, home: Path) -> dict:
    """The seed's `az vm create` (no public IP, no NSG), with az's generated keys under `home`."""
    return lab.az("vm", "create", "-g", RG, "-n", name, "--image", "Ubuntu2204", "--vnet-name", vnet,
                  "--subnet", subnet, "--public-ip-address", "", "--nsg", "", "--admin-username", "azureuser",
                  "--generate-ssh-keys", env=dict(lab.env, HOME=str(home)))


def test_seed_validate_section_with_az_vm_create_and_run_command(lab: Vaultlink, tmp_path: Path) -> None:
    """The seed's "Validate": a VM in the endpoint's subnet, `nslookup` run on it answers the
    private address with the privatelink alias; the VM reads the secret through the endpoint with
    `az` run on it, while the firewall refuses the internet."""
    vm = create_vm(lab, "vmlab1", "vnet1", "snet1", tmp_path)
    assert vm["privateIpAddress"].startswith("10.0.0.") and vm["powerState"] == "VM running"
    status = run_on_vm(lab, "vmlab1", f"nslookup {HOST}")
    assert status["code"] == "ProvisioningState/succeeded", status
    message = status["message"]
    assert message.startswith("Enable succeeded: \n[stdout]\n"), message
    assert f"{VAULT}.privatelink.vaultcore.azure.net" in message, message
    assert re.search(r"Address:\s*10\.0\.0\.4\b", message), message
    assert "168.63.129.16" in message, message  # Azure DNS, as on a VM in Azure

    # `vaultlink exec --vm` is the same machine.
    out = subprocess.run([str(lab.binary), "exec", "--data-dir", str(lab.data_dir), "--vm", "vmlab1", "--", "dig", "+short", HOST],
                         capture_output=True, text=True, env=lab.env, timeout=60, check=True).stdout.split()
    assert out[-1] == lab.pe_ip, out  # type: ignore[attr-defined]

    from conftest import DEV_CLIENT_ID, DEV_CLIENT_SECRET, TENANT_ID
    az = az_for_nobody()
    read = run_on_vm(lab, "vmlab1", (
        f"{az} login --service-principal -u {DEV_CLIENT_ID} --password={shlex.quote(DEV_CLIENT_SECRET)} --tenant {TENANT_ID} -o none"
        f" && {az} keyvault secret show --vault-name {VAULT} -n s1 --query value -o tsv"))
    assert read["code"] == "ProvisioningState/succeeded", read
    assert "[stdout]\nfrom-the-lab\n" in read["message"], read
    outside = lab.az_fail("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
    assert "ForbiddenByFirewall" in outside.stderr, outside.describe()


def test_run_command_reports_streams_exit_status_and_runs_unprivileged(lab: Vaultlink, tmp_path: Path) -> None:
    if lab.az("vm", "list", "-g", RG, "--query", "[?name=='vmlab1'] | length(@)") == 0:
        create_vm(lab, "vmlab1", "vnet1", "snet1", tmp_path)
    status = run_on_vm(lab, "vmlab1", "echo out; echo err >&2; id -u; cat /proc/self/status | grep -c CapEff; exit 3")
    assert status["code"] == "ProvisioningState/failed" and status["level"] == "Error", status
    message = status["message"]
    assert message.startswith("Enable failed: failed to execute command: command terminated with exit status=3\n"), message
    assert "[stdout]\nout\n65534\n" in message, message  # as nobody: no key of vaultlink's is readable
    assert message.endswith("[stderr]\nerr\n"), message


def test_managed_run_command_create_show_list_delete(lab: Vaultlink, tmp_path: Path) -> None:
    """`az vm run-command create` (the managed form): stored under the VM, run at once inside its
    namespace; `show --instance-view` gives the execution state, exit code and both streams; a
    failed script is Failed with its exit code; protected parameters reach the script and are
    never shown; `delete` removes it."""
    if lab.az("vm", "list", "-g", RG, "--query", "[?name=='vmlab1'] | length(@)") == 0:
        create_vm(lab, "vmlab1", "vnet1", "snet1", tmp_path)
    made = lab.az("vm", "run-command", "create", "-g", RG, "--vm-name", "vmlab1", "--name", "look",
                  "--script", f"nslookup {HOST}; echo token=$TOKEN; echo done >&2",
                  "--protected-parameters", "TOKEN=not-for-eyes")
    assert made["provisioningState"] == "Succeeded", made
    assert "protectedParameters" not in made or not made["protectedParameters"], made
    shown = lab.az("vm", "run-command", "show", "-g", RG, "--vm-name", "vmlab1", "--name", "look", "--instance-view")
    view = shown["instanceView"]
    assert (view["executionState"], view["exitCode"]) == ("Succeeded", 0), view
    assert f"{VAULT}.privatelink.vaultcore.azure.net" in view["output"], view
    assert re.search(r"Address:\s*10\.0\.0\.4\b", view["output"]), view
    assert "token=not-for-eyes" in view["output"] and view["error"] == "done\n", view
    assert view["startTime"] and view["endTime"], view
    assert "not-for-eyes" not in json.dumps({k: v for k, v in shown.items() if k != "instanceView"}), shown

    lab.az("vm", "run-command", "create", "-g", RG, "--vm-name", "vmlab1", "--name", "fails",
           "--script", "echo partial; exit 7")
    view = lab.az("vm", "run-command", "show", "-g", RG, "--vm-name", "vmlab1", "--name", "fails",
                  "--instance-view")["instanceView"]
    assert (view["executionState"], view["exitCode"], view["output"]) == ("Failed", 7, "partial\n"), view

    names = {c["name"] for c in lab.az("vm", "run-command", "list", "-g", RG, "--vm-name", "vmlab1")}
    assert {"look", "fails"} <= names, names
    lab.az("vm", "run-command", "delete", "-g", RG, "--vm-name", "vmlab1", "--name", "fails", "--yes", output=None)
    gone = lab.az("vm", "run-command", "show", "-g", RG, "--vm-name", "vmlab1", "--name", "fails", check=False)
    assert gone.rc != 0 and "ResourceNotFound" in gone.stderr, gone.describe()


def test_vm_in_a_vnet_without_the_zone_link_resolves_to_the_public_address(lab: Vaultlink, tmp_path: Path) -> None:
    Network(lab, RG).vnet("vnet-nolink", "10.60.0.0/16", subnet="snet-nolink", subnet_prefix="10.60.0.0/24")
    create_vm(lab, "vmlab-out", "vnet-nolink", "snet-nolink", tmp_path)
    message = run_on_vm(lab, "vmlab-out", f"nslookup {HOST}")["message"]
    addresses = re.findall(r"Address:\s*(\d+\.\d+\.\d+\.\d+)", message.split("[stderr]")[0])
    public = [a for a in addresses if a != "168.63.129.16"]
    assert public and not public[-1].startswith("10."), message
    internet = [rr.to_text() for rrset in query(lab.dns_addr, HOST).answer  # type: ignore[arg-type]
                for rr in rrset if rrset.rdtype == dns.rdatatype.A]
    assert public[-1] == internet[-1], (message, internet)


def test_curl_inside_reaches_healthstatus_through_the_private_address(lab: Vaultlink) -> None:
    out = exec_at(lab, "client1", "curl", "-sS", "-i", f"https://{HOST}/healthstatus").stdout
    assert " 200" in out.splitlines()[0], out
    assert "addr=10.0.0.5" in out, out


def test_public_access_disabled_refuses_the_internet_only(lab: Vaultlink) -> None:
    lab.az("keyvault", "update", "-n", VAULT, "-g", RG, "--public-network-access", "Disabled")
    try:
        outside = lab.az_fail("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
        assert "ForbiddenByConnection" in outside.stderr, outside.describe()
        inside = az_inside(lab, "client1", "keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
        assert '"value": "from-the-lab"' in inside.stdout
    finally:
        lab.az("keyvault", "update", "-n", VAULT, "-g", RG, "--public-network-access", "Enabled")


def test_missing_a_record_gives_nxdomain_inside(lab: Vaultlink) -> None:
    lab.az("network", "private-dns", "record-set", "a", "delete", "-g", RG, "-z", ZONE, "-n", VAULT, "--yes")
    try:
        out = exec_at(lab, "client1", "nslookup", HOST, check=False)
        assert "NXDOMAIN" in out.stdout + out.stderr, out.stdout + out.stderr
        dig = exec_at(lab, "client1", "dig", HOST).stdout
        assert "status: NXDOMAIN" in dig and f"{VAULT}.privatelink.vaultcore.azure.net" in dig, dig
        assert "azureprivatedns.net" in dig, dig  # the zone's SOA in AUTHORITY
    finally:
        Network(lab, RG).record(ZONE, VAULT, lab.pe_ip)  # type: ignore[attr-defined]


def test_wrong_a_record_sends_the_client_nowhere(lab: Vaultlink) -> None:
    lab.az("network", "private-dns", "record-set", "a", "update", "-g", RG, "-z", ZONE, "-n", VAULT,
           "--set", "aRecords[0].ipv4Address=10.0.0.99")
    try:
        out = exec_at(lab, "client1", "nslookup", HOST).stdout
        assert "10.0.0.99" in out, out
        curl = exec_at(lab, "client1", "curl", "-sS", "--max-time", "5", f"https://{HOST}/healthstatus", check=False)
        assert curl.returncode != 0, curl.stdout
    finally:
        lab.az("network", "private-dns", "record-set", "a", "update", "-g", RG, "-z", ZONE, "-n", VAULT,
               "--set", f"aRecords[0].ipv4Address={lab.pe_ip}")  # type: ignore[attr-defined]


def test_unlinked_zone_resolves_to_the_public_address(lab: Vaultlink) -> None:
    lab.az("network", "private-dns", "link", "vnet", "delete", "-g", RG, "-z", ZONE, "-n", "link1", "--yes")
    try:
        out = exec_at(lab, "client1", "dig", "+short", HOST).stdout.split()
        assert out and not out[-1].startswith("10."), out
        inside = az_inside(lab, "client1", "keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1", check=False)
        assert inside.returncode != 0 and "ForbiddenByFirewall" in inside.stderr, inside.stderr
    finally:
        Network(lab, RG).link("vnet1", "link1", ZONE)


def test_pending_endpoint_carries_no_traffic_until_approved(lab: Vaultlink) -> None:
    net = Network(lab, RG)
    net.endpoint("vnet1", "snet1", "pe2", VAULT_ID, "conn2", location="westeurope", manual=True)
    pe2_ip = net.endpoint_ip("pe2")
    lab.az("network", "private-dns", "record-set", "a", "update", "-g", RG, "-z", ZONE, "-n", VAULT,
           "--set", f"aRecords[0].ipv4Address={pe2_ip}")
    try:
        pending = az_inside(lab, "client1", "keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1", check=False)
        assert pending.returncode != 0, pending.stdout
        conns = lab.az("keyvault", "show", "-n", VAULT, "-g", RG)["properties"]["privateEndpointConnections"]
        name = next(c["id"].rsplit("/", 1)[1] for c in conns if c["id"].rsplit("/", 1)[1].startswith("pe2."))
        lab.az("keyvault", "private-endpoint-connection", "approve", "--description", "ok", "-g", RG,
               "--vault-name", VAULT, "-n", name)
        ok = az_inside(lab, "client1", "keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
        assert '"value": "from-the-lab"' in ok.stdout
    finally:
        lab.az("network", "private-dns", "record-set", "a", "update", "-g", RG, "-z", ZONE, "-n", VAULT,
               "--set", f"aRecords[0].ipv4Address={lab.pe_ip}")  # type: ignore[attr-defined]


def test_portable_exec_uses_the_nics_view_and_path(tmp_path: Path) -> None:
    vl = Vaultlink(tmp_path)
    vl.start()
    try:
        vl.login_sp()
        vl.register_providers()
        vl.az("group", "create", "-n", RG, "-l", "westeurope")
        vl.az("keyvault", "create", "-n", "kvport1", "-g", RG, "-l", "westeurope")
        vl.az("keyvault", "secret", "set", "--vault-name", "kvport1", "-n", "s1", "--value", "portable")
        vl.az("keyvault", "update", "-n", "kvport1", "-g", RG, "--default-action", "deny")
        vault_id = VAULT_ID.replace(VAULT, "kvport1")
        net = Network(vl, RG)
        net.private_link(vault_id, vnet="vnet1", address_prefix="10.1.0.0/16", subnet="snet1",
                         subnet_prefix="10.1.0.0/24", zone=ZONE, link="link1", endpoint="pe1",
                         connection="c1")
        net.zone_group("pe1", ZONE)
        net.nic("client1", "vnet1", "snet1")
        script = ('python3 -c "import os,dns.resolver as r;res=r.Resolver(configure=False);'
                  'res.nameservers=[os.environ[\'VAULTLINK_DNS_SERVER\']];res.port=int(os.environ[\'VAULTLINK_DNS_PORT\']);'
                  'print(res.resolve(\'kvport1.vault.azure.net\',\'A\')[0])"')
        from conftest import az_command
        py = str(Path(az_command()[0]).parent / "python") if Path(az_command()[0]).name == "az" else "python3"
        out = exec_at(vl, "client1", "sh", "-c", script.replace("python3", py)).stdout.strip()
        assert out == "10.1.0.4", out
        inside = exec_at(vl, "client1", *az_command(), "keyvault", "secret", "show", "--vault-name", "kvport1",
                         "-n", "s1", "-o", "json").stdout
        assert '"value": "portable"' in inside
        outside = vl.az_fail("keyvault", "secret", "show", "--vault-name", "kvport1", "-n", "s1")
        assert "ForbiddenByFirewall" in outside.stderr
    finally:
        vl.close()


def test_on_premises_resolution_needs_forwarders_for_the_public_zones(lab: Vaultlink) -> None:
    """The seed's on-premises bullets: forwarders for vault.azure.net and vaultcore.azure.net to a DNS
    Private Resolver inbound endpoint work; forwarding the privatelink zone, or nothing, does not."""
    vnet_id = lab.az("network", "vnet", "show", "-g", RG, "-n", "vnet1")["id"]
    Network(lab, RG).subnet("vnet1", "snet-dns", "10.0.1.0/28")
    base = f"https://management.azure.com/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.Network/dnsResolvers/res1"
    lab.az("rest", "--method", "put", "--url", f"{base}?api-version=2022-07-01", "--body",
           f'{{"location": "westeurope", "properties": {{"virtualNetwork": {{"id": "{vnet_id}"}}}}}}')
    inbound = lab.az("rest", "--method", "put", "--url", f"{base}/inboundEndpoints/in1?api-version=2022-07-01", "--body",
                     f'{{"location": "westeurope", "properties": {{"ipConfigurations": [{{"subnet": {{"id": "{vnet_id}/subnets/snet-dns"}}}}]}}}}')
    ip = inbound["properties"]["ipConfigurations"][0]["privateIpAddress"]
    assert ip == "10.0.1.4", inbound

    def onprem(*forwards: str) -> None:
        args = ["onprem", "add", "--data-dir", str(lab.data_dir), "corp", "--vnet", "vnet1",
                "--address-space", "192.168.10.0/24"]
        for f in forwards:
            args += ["--forward", f]
        lab.run_vaultlink(*args)

    onprem(f"vault.azure.net={ip}", f"vaultcore.azure.net={ip}")
    out = exec_at(lab, "corp", "nslookup", HOST).stdout
    assert "192.168.10.53" in out and re.search(r"Address:\s*10\.0\.0\.4\b", out), out
    inside = az_inside(lab, "corp", "keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
    assert '"value": "from-the-lab"' in inside.stdout

    onprem(f"privatelink.vaultcore.azure.net={ip}")
    out = exec_at(lab, "corp", "dig", "+short", HOST).stdout.split()
    assert out and not out[-1].startswith("10."), out
    report = json.loads(lab.run_vaultlink("doctor", "--data-dir", str(lab.data_dir), VAULT, "--from", "corp",
                                          "--output", "json", check=False).stdout)
    assert [f["check"] for f in report["findings"]] == ["onprem-forwards-privatelink-zone"], report

    onprem()
    report = json.loads(lab.run_vaultlink("doctor", "--data-dir", str(lab.data_dir), VAULT, "--from", "corp",
                                          "--output", "json", check=False).stdout)
    assert [f["check"] for f in report["findings"]] == ["onprem-forwarders-missing"], report
    assert f"--forward vault.azure.net={ip}" in report["findings"][0]["fix"], report
    # The fix doctor prints, run as printed, makes the on-premises read work.
    fix = shlex.split(report["findings"][0]["fix"])
    assert fix[:3] == ["vaultlink", "onprem", "add"], fix
    lab.run_vaultlink(*fix[1:3], "--data-dir", str(lab.data_dir), *fix[3:])
    inside = az_inside(lab, "corp", "keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
    assert '"value": "from-the-lab"' in inside.stdout


def test_namespaces_left_by_a_crash_are_removed_at_the_next_start(tmp_path: Path) -> None:
    _require_lab_prerequisites()
    vl = Vaultlink(tmp_path, extra_args=("--lab",))
    vl.start()
    try:
        vl.login_sp()
        vl.az("group", "create", "-n", RG, "-l", "westeurope")
        net = Network(vl, RG)
        net.vnet_with_subnet("vnetc", "10.9.0.0/16", "s", "10.9.0.0/24")
        net.nic("crashnic", "vnetc", "s")
        before = lab_namespaces(vl)
        exec_at(vl, "crashnic", "true")
        made = lab_namespaces(vl) - before
        assert made, "exec made no namespace"
        vl.kill9()
        assert lab_namespaces() & made, "the namespace should survive a kill -9 (nobody cleaned up)"
        # Another instance's namespace (a name no data directory hashes to) must survive the restart.
        subprocess.run(["ip", "netns", "add", DECOY_NS], check=True)
        vl.start()
        assert not (lab_namespaces() & made), "the restart did not remove the stale namespace"
        assert DECOY_NS in lab_namespaces(), "the restart removed another instance's namespace"
    finally:
        vl.close()
        subprocess.run(["ip", "netns", "delete", DECOY_NS], capture_output=True)


def test_misnamed_zone_is_never_consulted(lab: Vaultlink) -> None:
    wrong = "privatelink.vault.azure.net"
    net = Network(lab, RG)
    net.zone(wrong)
    net.link("vnet1", "wrong-link", wrong)
    net.record(wrong, VAULT, lab.pe_ip)  # type: ignore[attr-defined]
    lab.az("network", "private-dns", "link", "vnet", "delete", "-g", RG, "-z", ZONE, "-n", "link1", "--yes")
    try:
        out = exec_at(lab, "client1", "dig", "+short", HOST).stdout.split()
        assert out and not out[-1].startswith("10."), out
    finally:
        Network(lab, RG).link("vnet1", "link1", ZONE)
        lab.az("network", "private-dns", "link", "vnet", "delete", "-g", RG, "-z", wrong, "-n", "wrong-link", "--yes")
    out = exec_at(lab, "client1", "dig", "+short", HOST).stdout.split()
    assert out[-1] == lab.pe_ip, out  # type: ignore[attr-defined]


def test_second_vnet_linked_to_the_zone_needs_the_record_and_a_peering(lab: Vaultlink) -> None:
    net = Network(lab, RG)
    net.vnet_with_subnet("vnet2", "10.2.0.0/16", "snet1", "10.2.0.0/24", location="westeurope")
    net.nic("client2", "vnet2", "snet1")
    net.link("vnet2", "link2", ZONE)
    # The record is there, but vnet2 cannot reach vnet1's endpoint without a peering.
    out = exec_at(lab, "client2", "dig", "+short", HOST).stdout.split()
    assert out[-1] == lab.pe_ip, out  # type: ignore[attr-defined]
    curl = exec_at(lab, "client2", "curl", "-sS", "--max-time", "5", f"https://{HOST}/healthstatus", check=False)
    assert curl.returncode != 0, curl.stdout
    # Peer both ways: the endpoint is reachable and the read works.
    lab.az("network", "vnet", "peering", "create", "-g", RG, "-n", "v2-to-v1", "--vnet-name", "vnet2",
           "--remote-vnet", "vnet1", "--allow-vnet-access")
    lab.az("network", "vnet", "peering", "create", "-g", RG, "-n", "v1-to-v2", "--vnet-name", "vnet1",
           "--remote-vnet", "vnet2", "--allow-vnet-access")
    inside = az_inside(lab, "client2", "keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
    assert '"value": "from-the-lab"' in inside.stdout
    # The record missing: NXDOMAIN in the second linked VNet too.
    lab.az("network", "private-dns", "record-set", "a", "delete", "-g", RG, "-z", ZONE, "-n", VAULT, "--yes")
    try:
        dig = exec_at(lab, "client2", "dig", HOST).stdout
        assert "status: NXDOMAIN" in dig, dig
    finally:
        Network(lab, RG).record(ZONE, VAULT, lab.pe_ip)  # type: ignore[attr-defined]


def test_doctor_matrix_agrees_with_real_clients_in_hub_and_spoke(lab: Vaultlink) -> None:
    """Hub (vnet1, the endpoint) and spoke (vnet2, peered, linked), an on-premises network through
    the hub's resolver, the internet; two vaults. What the matrix says, dig and az see."""
    ip = lab.az("rest", "--method", "get", "--url",
                f"https://management.azure.com/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/"
                "Microsoft.Network/dnsResolvers/res1/inboundEndpoints/in1?api-version=2022-07-01",
                )["properties"]["ipConfigurations"][0]["privateIpAddress"]
    lab.run_vaultlink("onprem", "add", "--data-dir", str(lab.data_dir), "corp", "--vnet", "vnet1", "--address-space",
                      "192.168.10.0/24", "--forward", f"vault.azure.net={ip}", "--forward", f"vaultcore.azure.net={ip}")
    lab.az("keyvault", "create", "-n", "kvlab2", "-g", RG, "-l", "westeurope")
    lab.az("keyvault", "secret", "set", "--vault-name", "kvlab2", "-n", "s1", "--value", "public-one")
    rows = json.loads(lab.run_vaultlink("doctor", "--data-dir", str(lab.data_dir), "--matrix", "--output", "json").stdout)
    callers = {"client1": "client1", "client2": "client2", "corp": "corp", "internet": None}
    checked = 0
    for key, nic in callers.items():
        for vault in (VAULT, "kvlab2"):
            row = next(r for r in rows if r["vault"] == vault and key in r["caller"])
            host = f"{vault}.vault.azure.net"
            if nic is None:
                msg = query(lab.dns_addr, host)  # type: ignore[arg-type]
                seen = [rr.to_text() for rrset in msg.answer for rr in rrset if rrset.rdtype == dns.rdatatype.A]
                read = lab.az("keyvault", "secret", "show", "--vault-name", vault, "-n", "s1", check=False)
                ok = read.rc == 0
            else:
                seen = exec_at(lab, nic, "dig", "+short", host).stdout.split()
                ok = az_inside(lab, nic, "keyvault", "secret", "show", "--vault-name", vault, "-n", "s1",
                               check=False).returncode == 0
            assert seen and seen[-1] == row["address"], (key, vault, seen, row)
            assert ok == row["allowed"], (key, vault, ok, row)
            checked += 1
    assert checked == 8
    by = {(r["vault"], next(k for k in callers if k in r["caller"])): r for r in rows if any(k in r["caller"] for k in callers)}
    assert by[(VAULT, "client1")]["path"] == "private-endpoint" and by[(VAULT, "client2")]["path"] == "private-endpoint"
    assert by[(VAULT, "corp")]["path"] == "private-endpoint" and not by[(VAULT, "internet")]["allowed"]
    assert all(by[("kvlab2", k)]["path"] == "public" and by[("kvlab2", k)]["allowed"] for k in callers)


def test_portal_vm_in_the_endpoints_subnet_runs_nslookup_and_sees_the_private_address(lab: Vaultlink, browser, shots, tmp_path: Path) -> None:
    """The seed's "Validate" done in the portal: a VM made with the portal's form in the endpoint's
    subnet with a new public IP (the seed's Networking tab), `nslookup` run on it with the portal's
    Run command (polled to its end); deleting the VM takes its NIC and public IP with it."""
    ctx, page = sign_in(browser, lab)
    try:
        fill_vm_form(page, rg=RG, name="vmportallab", region="westeurope", vnet=f"vnet1 ({RG})",
                     subnet="snet1 (10.0.0.0/24)", ssh_key=ssh_public_key(tmp_path), public_ip="new", shots=shots)
        page.click("#create")
        page.wait_for_selector("#deploy-result .ok", timeout=60_000)
        page.click("#go-to-resource")
        page.wait_for_selector("#vm-essentials")
        assert page.inner_text("#vm-status") == "VM running"
        ip = page.inner_text("#vm-private-ip")
        assert ip.startswith("10.0.0.") and ip != lab.pe_ip, ip  # type: ignore[attr-defined]
        assert page.inner_text("#vm-public-ip").startswith("192.0.2."), page.inner_text("#vm-public-ip")
        box = run_command(page, f"nslookup {HOST}")
        out = page.inner_text("#run-output")
        shots(page, "vm-run-command-nslookup")
        assert "ok" in (box.get_attribute("class") or ""), box.inner_text()
        assert out.startswith("Enable succeeded: \n[stdout]\n"), out
        assert f"{VAULT}.privatelink.vaultcore.azure.net" in out, out
        assert re.search(rf"Address:\s*{re.escape(lab.pe_ip)}\b", out), out  # type: ignore[attr-defined]
        assert "168.63.129.16" in out, out

        # A failing script: Azure's failed status, its exit status and streams shown.
        box = run_command(page, "echo to-stderr >&2; exit 3")
        out = page.inner_text("#run-output")
        assert "error" in (box.get_attribute("class") or ""), box.inner_text()
        assert "exit status=3" in out and "[stderr]\nto-stderr" in out, out

        lab.az("vm", "delete", "-g", RG, "-n", "vmportallab", "--yes", output=None)
        left = [r["name"] for kind in ("nic", "public-ip") for r in lab.az("network", kind, "list", "-g", RG)]
        assert not [n for n in left if n.startswith("vmportallab")], left
    finally:
        ctx.close()
        lab.az("vm", "delete", "-g", RG, "-n", "vmportallab", "--yes", check=False)

