"""`vaultlink doctor` (issue 5): each failure of the seed's troubleshooting guide, made with the real
az CLI; doctor must name that cause alone with its evidence; the fix command it prints, run through
the real az, must make the caller's secret read work and doctor report healthy.

The caller is a machine at a client NIC, placed with `vaultlink exec --nic` (portable mode: the proxy
with the NIC's identity), so these tests need no root.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable

import pytest

from conftest import SUBSCRIPTION_ID, Vaultlink, az_command
from topology import VAULT_ZONE, Network

RG = "rg-doc"
VAULT = "kvdoc1"
ZONE = VAULT_ZONE
VAULT_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"


def doctor(vl: Vaultlink, *args: str) -> tuple[int, dict]:
    proc = vl.run_vaultlink("doctor", "--data-dir", str(vl.data_dir), *args, "--output", "json", check=False)
    assert proc.stdout.strip(), f"doctor printed nothing: rc={proc.returncode} stderr={proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


def read_from_client(vl: Vaultlink, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(vl.binary), "exec", "--data-dir", str(vl.data_dir), "--nic", "client1", "--",
         *az_command(), "keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1", "-o", "json"],
        capture_output=True, text=True, env=vl.env, timeout=120, stdin=subprocess.DEVNULL,
    )
    if check:
        assert proc.returncode == 0, f"secret read from client1 failed:\n{proc.stderr}"
        assert json.loads(proc.stdout)["value"] == "doctor-secret"
    return proc


def run_fix(vl: Vaultlink, fix: str) -> None:
    """Runs the fix command doctor printed (az commands joined by `&&`, comments after `#`)."""
    fix = fix.split("  #", 1)[0]
    for part in fix.split("&&"):
        argv = shlex.split(part.strip())
        assert argv[0] == "az", f"doctor's fix is not an az command: {part}"
        vl.az(*argv[1:])


@pytest.fixture(scope="module")
def doc(vaultlink_module: Vaultlink) -> Vaultlink:
    vl = vaultlink_module
    vl.login_sp()
    vl.register_providers()
    vl.az("group", "create", "-n", RG, "-l", "westeurope")
    vl.az("keyvault", "create", "-n", VAULT, "-g", RG, "-l", "westeurope")
    vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "s1", "--value", "doctor-secret")
    vl.az("keyvault", "update", "-n", VAULT, "-g", RG, "--default-action", "deny")
    net = Network(vl, RG)
    net.private_link(VAULT_ID, vnet="vnet1", address_prefix="10.0.0.0/16", subnet="snet1",
                     subnet_prefix="10.0.0.0/24", zone=ZONE, link="link1", endpoint="pe1",
                     connection="c1")
    net.record(ZONE, VAULT, "10.0.0.4")
    net.nic("client1", "vnet1", "snet1")
    return vl


def assert_healthy(vl: Vaultlink) -> None:
    rc, report = doctor(vl, VAULT, "--from", "client1")
    assert rc == 0 and report["findings"] == [], report
    assert report["path"] == "private-endpoint" and report["address"].startswith("10.0.0."), report
    read_from_client(vl)


def diagnose_and_fix(vl: Vaultlink, break_it: Callable[[], None], expected: str) -> dict:
    assert_healthy(vl)
    break_it()
    failed = read_from_client(vl, check=False)
    assert failed.returncode != 0, "the broken configuration still let the client read"
    rc, report = doctor(vl, VAULT, "--from", "client1")
    assert rc != 0, report
    assert [f["check"] for f in report["findings"]] == [expected], report
    finding = report["findings"][0]
    assert finding["fix"], finding
    run_fix(vl, finding["fix"])
    assert_healthy(vl)
    return report


def test_healthy_and_internet_views(doc: Vaultlink) -> None:
    assert_healthy(doc)
    rc, report = doctor(doc, VAULT, "--from-internet")
    assert rc != 0 and [f["check"] for f in report["findings"]] == ["firewall-denies"], report
    assert any("Client address: 203.0.113.10" in e for e in report["findings"][0]["evidence"]), report


def test_a_record_missing(doc: Vaultlink) -> None:
    report = diagnose_and_fix(doc, lambda: doc.az("network", "private-dns", "record-set", "a", "delete", "-g", RG,
                                                  "-z", ZONE, "-n", VAULT, "--yes"), "a-record-missing")
    assert any("NxDomain" in line for line in report["dns"]), report["dns"]


def test_a_record_with_the_wrong_address(doc: Vaultlink) -> None:
    diagnose_and_fix(doc, lambda: doc.az("network", "private-dns", "record-set", "a", "update", "-g", RG, "-z", ZONE,
                                         "-n", VAULT, "--set", "aRecords[0].ipv4Address=10.0.0.99"),
                     "a-record-wrong-address")


def test_zone_not_linked(doc: Vaultlink) -> None:
    report = diagnose_and_fix(doc, lambda: doc.az("network", "private-dns", "link", "vnet", "delete", "-g", RG,
                                                  "-z", ZONE, "-n", "link1", "--yes"), "zone-not-linked")
    assert report["path"] == "public", report


def test_connection_not_approved(doc: Vaultlink) -> None:
    def break_it() -> None:
        net = Network(doc, RG)
        net.endpoint("vnet1", "snet1", "pe2", VAULT_ID, "c2", manual=True)
        doc.az("network", "private-endpoint", "delete", "-g", RG, "-n", "pe1")
        ip = net.endpoint_ip("pe2")
        doc.az("network", "private-dns", "record-set", "a", "update", "-g", RG, "-z", ZONE, "-n", VAULT,
               "--set", f"aRecords[0].ipv4Address={ip}")
        doc.pe2_ip = ip  # type: ignore[attr-defined]

    assert_healthy(doc)
    break_it()
    assert read_from_client(doc, check=False).returncode != 0
    rc, report = doctor(doc, VAULT, "--from", "client1")
    assert rc != 0 and [f["check"] for f in report["findings"]] == ["connection-not-approved"], report
    run_fix(doc, report["findings"][0]["fix"])
    rc, report = doctor(doc, VAULT, "--from", "client1")
    assert rc == 0 and report["address"] == doc.pe2_ip, report  # type: ignore[attr-defined]
    read_from_client(doc)


def test_principal_without_a_role(doc: Vaultlink) -> None:
    out = doc.run_vaultlink("principal", "add", "--data-dir", str(doc.data_dir), "--name", "doctor-app").stdout
    app = json.loads(out)
    rc, report = doctor(doc, VAULT, "--from", "client1", "--principal", app["appId"])
    assert rc != 0 and [f["check"] for f in report["findings"]] == ["principal-not-authorized"], report
    run_fix(doc, report["findings"][0]["fix"])
    rc, report = doctor(doc, VAULT, "--from", "client1", "--principal", app["appId"])
    assert rc == 0, report


def test_principal_steps_say_what_it_may_do_and_what_grants_the_rest(doc: Vaultlink) -> None:
    """`--principal`: the seed's steps on the vault, decided by Resource Manager's and the data
    plane's own checks, each refused one with the role assignment that grants it."""
    out = doc.run_vaultlink("principal", "add", "--data-dir", str(doc.data_dir), "--name", "doctor-steps").stdout
    app = json.loads(out)
    _, report = doctor(doc, VAULT, "--from", "client1", "--principal", app["appId"])
    steps = {s["step"]: s for s in report["principal_steps"]}
    assert not any(s["allowed"] for s in steps.values()), report
    approve = steps["approve or reject private endpoint connections"]
    assert approve["action"] == "Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action"
    assert "--role \"Key Vault Contributor\"" in approve["fix"], approve
    run_fix(doc, approve["fix"])
    _, report = doctor(doc, VAULT, "--from", "client1", "--principal", app["appId"])
    allowed = {s["step"]: s["allowed"] for s in report["principal_steps"]}
    assert allowed == {
        "manage the vault (firewall, public access)": True,
        "create an automatically approved private endpoint to the vault": True,
        "approve or reject private endpoint connections": True,
        "assign roles on the vault": False,
        "read secrets": False,
    }, report
    text = doc.run_vaultlink("doctor", "--data-dir", str(doc.data_dir), VAULT, "--from", "client1",
                             "--principal", app["appId"], check=False).stdout
    assert "[yes] approve or reject private endpoint connections" in text, text
    assert "[no ] read secrets" in text, text


def test_matrix_agrees_with_real_clients(doc: Vaultlink) -> None:
    rc, rows = doctor(doc, "--matrix")
    assert rc == 0
    by_caller = {r["caller"].split(" ")[0] + ("-nic" if "NIC" in r["caller"] else ""): r for r in rows if r["vault"] == VAULT}
    inside = next(r for r in rows if "client1" in r["caller"] and r["vault"] == VAULT)
    internet = next(r for r in rows if "internet" in r["caller"] and r["vault"] == VAULT)
    assert inside["allowed"] and inside["path"] == "private-endpoint", rows
    assert not internet["allowed"] and internet["path"] == "public", rows
    assert by_caller
    read_from_client(doc)  # what the matrix says for the NIC, a real client sees
    outside = doc.az_fail("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")
    assert "ForbiddenByFirewall" in outside.stderr


def test_doctor_over_http_needs_a_token_and_agrees_with_the_cli(doc: Vaultlink) -> None:
    url = f"https://management.azure.com/vaultlink/doctor?vault={VAULT}&from=client1"
    report = doc.az("rest", "--method", "get", "--url", url)
    assert report["path"] == "private-endpoint" and report["reachable"] is True, report
    rc, cli = doctor(doc, VAULT, "--from", "client1")
    assert (rc, cli["path"], cli["address"]) == (0, report["path"], report["address"])
    from dp_fixtures import ARM_SCOPE, Dp  # raw HTTPS through the proxy
    r = Dp(doc).request("GET", url, api_version=None)
    assert r.status_code == 401, r.text
    # A principal without read on the vault learns nothing about it.
    app = json.loads(doc.run_vaultlink("principal", "add", "--data-dir", str(doc.data_dir),
                                       "--name", "doctor-http-app").stdout)
    dp = Dp(doc)
    token = dp.token(ARM_SCOPE, app["appId"], app["secret"])
    r = dp.request("GET", url, api_version=None, token=token)
    assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed", r.text
    assert "'Microsoft.KeyVault/vaults/read'" in r.json()["error"]["message"], r.text
    r = dp.request("GET", "https://management.azure.com/vaultlink/doctor?matrix=true", api_version=None,
                   token=token)
    assert r.status_code == 200 and r.json()["value"] == [], r.text


def test_custom_dns_servers_on_the_vnet(doc: Vaultlink) -> None:
    diagnose_and_fix(doc, lambda: doc.az("network", "vnet", "update", "-g", RG, "-n", "vnet1",
                                         "--dns-servers", "10.0.0.200"), "custom-dns-bypasses-zones")


def test_zone_missing(doc: Vaultlink) -> None:
    def break_it() -> None:
        for link in doc.az("network", "private-dns", "link", "vnet", "list", "-g", RG, "-z", ZONE):
            doc.az("network", "private-dns", "link", "vnet", "delete", "-g", RG, "-z", ZONE, "-n", link["name"], "--yes")
        doc.az("network", "private-dns", "zone", "delete", "-g", RG, "-n", ZONE, "--yes")

    report = diagnose_and_fix(doc, break_it, "zone-missing")
    assert report["path"] == "public", report


def test_firewall_rule_for_an_internet_caller(doc: Vaultlink) -> None:
    rc, report = doctor(doc, VAULT, "--from-internet")
    assert rc != 0 and [f["check"] for f in report["findings"]] == ["firewall-denies"], report
    run_fix(doc, report["findings"][0]["fix"])
    try:
        rc, report = doctor(doc, VAULT, "--from-internet")
        assert rc == 0 and report["path"] == "public", report
        assert doc.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "s1")["value"] == "doctor-secret"
    finally:
        doc.az("keyvault", "network-rule", "remove", "-g", RG, "--name", VAULT, "--ip-address", "203.0.113.10/32")


def test_peered_vnet_not_linked_to_the_zone(doc: Vaultlink) -> None:
    net = Network(doc, RG)
    net.vnet_with_subnet("spoke", "10.3.0.0/16", "s", "10.3.0.0/24")
    net.nic("client3", "spoke", "s")
    doc.az("network", "vnet", "peering", "create", "-g", RG, "-n", "spoke-hub", "--vnet-name", "spoke",
           "--remote-vnet", "vnet1", "--allow-vnet-access")
    doc.az("network", "vnet", "peering", "create", "-g", RG, "-n", "hub-spoke", "--vnet-name", "vnet1",
           "--remote-vnet", "spoke", "--allow-vnet-access")
    rc, report = doctor(doc, VAULT, "--from", "client3")
    assert rc != 0 and [f["check"] for f in report["findings"]] == ["zone-not-linked"], report
    assert "peering does not share zone links" in report["findings"][0]["problem"], report
    run_fix(doc, report["findings"][0]["fix"])
    rc, report = doctor(doc, VAULT, "--from", "client3")
    assert rc == 0 and report["path"] == "private-endpoint", report


def test_nxdomain_trap_in_a_vnet_linked_to_the_zone(doc: Vaultlink) -> None:
    """A second vault with an approved endpoint elsewhere but no record in the zone: a VNet linked
    to the zone gets NXDOMAIN for it. The printed fix (NxDomainRedirect on the link) makes the name
    resolve publicly, and the read works over the public path (that vault's firewall allows it)."""
    doc.az("keyvault", "create", "-n", "kvdoc2", "-g", RG, "-l", "westeurope")
    doc.az("keyvault", "secret", "set", "--vault-name", "kvdoc2", "-n", "s1", "--value", "second")
    net = Network(doc, RG)
    net.endpoint("vnet1", "snet1", "pe-doc2", VAULT_ID.replace(VAULT, "kvdoc2"), "c-doc2")
    net.vnet_with_subnet("island", "10.4.0.0/16", "s", "10.4.0.0/24")
    net.nic("client4", "island", "s")
    net.link("island", "link-island", ZONE)
    rc, report = doctor(doc, "kvdoc2", "--from", "client4")
    assert rc != 0 and [f["check"] for f in report["findings"]] == ["nxdomain-trap"], report
    run_fix(doc, report["findings"][0]["fix"])
    rc, report = doctor(doc, "kvdoc2", "--from", "client4")
    assert rc == 0 and report["path"] == "public", report
    proc = subprocess.run(
        [str(doc.binary), "exec", "--data-dir", str(doc.data_dir), "--nic", "client4", "--",
         *az_command(), "keyvault", "secret", "show", "--vault-name", "kvdoc2", "-n", "s1", "-o", "json"],
        capture_output=True, text=True, env=doc.env, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["value"] == "second", proc.stderr
