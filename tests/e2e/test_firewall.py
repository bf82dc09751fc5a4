"""The vault firewall on the public path (azure-behaviour.md §2), with the real az and curl.

The proxy's default caller is on the internet at 203.0.113.10 (`vaultlink serve
--public-address` default); a proxy URL whose user name is an IPv4 address is a caller at that
address. Management (ARM) calls are never subject to the firewall.
"""

from __future__ import annotations

import subprocess

import pytest

from conftest import SUBSCRIPTION_ID, TENANT_ID, Vaultlink
from dp_fixtures import DEV_CLIENT_ID, Dp, jwt_claims, provision, proxy_with_identity

RG = "rg-firewall"
VAULT = "kv-firewall"
DEFAULT_ADDR = "203.0.113.10"
OTHER_ADDR = "198.51.100.7"
ISS = f"https://sts.windows.net/{TENANT_ID}/"


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    provision(logged_in, RG, VAULT)
    logged_in.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "guarded",
                 "--value", "behind-the-firewall")
    return logged_in


@pytest.fixture(scope="module")
def dev_oid(vl: Vaultlink) -> str:
    return jwt_claims(Dp(vl).token())["oid"]


def show(vl: Vaultlink, proxy: str | None = None):
    env = None
    if proxy is not None:
        env = dict(vl.env)
        env["HTTPS_PROXY"] = proxy
    return vl.az("keyvault", "secret", "show", "--vault-name", VAULT, "-n", "guarded",
                 check=False, env=env)


def update(vl: Vaultlink, *args: str):
    return vl.az("keyvault", "update", "-n", VAULT, "-g", RG, *args)


def assert_firewall_denied(r, addr: str, dev_oid: str) -> None:
    assert r.rc != 0, "expected 403 ForbiddenByFirewall, got success\n" + r.describe()
    err = r.stderr
    assert "(Forbidden) Client address is not authorized and caller is not a trusted service." \
        in err, err
    assert f"Client address: {addr}\n" in err, err
    assert f"Caller: appid={DEV_CLIENT_ID};oid={dev_oid};iss={ISS}\n" in err, err
    assert f"Vault: {VAULT};location=westeurope" in err, err
    assert '"code": "ForbiddenByFirewall"' in err, err
    assert "behind-the-firewall" not in r.stdout + err


def curl_health(vl: Vaultlink, proxy: str) -> tuple[int, dict[str, str]]:
    proc = subprocess.run(
        ["curl", "-sS", "-D", "-", "-o", "/dev/null", "--proxy", proxy,
         "--cacert", vl.env["REQUESTS_CA_BUNDLE"], f"https://{VAULT}.vault.azure.net/healthstatus"],
        capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    # The proxy's "HTTP/1.1 200 Connection established" block comes first; take the last block.
    blocks = proc.stdout.replace("\r\n", "\n").strip().split("\n\n")
    last = blocks[-1].split("\n")
    status = int(last[0].split()[1])
    headers = {}
    for line in last[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers


# ---------------------------------------------------------------------------------------------
def test_healthstatus_and_network_info_header(vl: Vaultlink) -> None:
    status, headers = curl_health(vl, vl.env["HTTPS_PROXY"])
    assert status == 200, headers
    info = headers.get("x-ms-keyvault-network-info", "")
    assert f"addr={DEFAULT_ADDR};" in info, headers
    assert "conn_type=Ipv4" in info and "act_addr_fam=InterNetwork" in info, headers

    # The proxy user name sets the caller's address, in the bare `IP@` form curl sends.
    host = vl.proxy_url.split("://", 1)[1]
    status, headers = curl_health(vl, f"http://{OTHER_ADDR}@{host}")
    assert status == 200, headers
    assert f"addr={OTHER_ADDR};" in headers.get("x-ms-keyvault-network-info", ""), headers


def test_network_info_header_on_every_response(vl: Vaultlink) -> None:
    dp = Dp(vl)
    tok = dp.token()
    for r in (dp.kv("GET", VAULT, "/secrets/guarded"),                     # 401 challenge
              dp.kv("GET", VAULT, "/secrets/guarded", token=tok),          # 200
              dp.kv("GET", VAULT, "/secrets/nope", token=tok)):            # 404
        assert f"addr={DEFAULT_ADDR};" in r.headers.get("x-ms-keyvault-network-info", ""), (
            r.status_code, dict(r.headers))


def test_default_action_deny_refuses_the_public_caller(vl: Vaultlink, dev_oid: str) -> None:
    assert show(vl).rc == 0, "precondition: readable with the firewall open"
    v = update(vl, "--default-action", "Deny")
    assert v["properties"]["networkAcls"]["defaultAction"] == "Deny", v
    assert_firewall_denied(show(vl), DEFAULT_ADDR, dev_oid)
    # Writes are refused too, and write nothing.
    r = vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "while-denied",
              "--value", "x", check=False)
    assert_firewall_denied(r, DEFAULT_ADDR, dev_oid)


def test_management_plane_ignores_the_firewall(vl: Vaultlink) -> None:
    # (Runs while defaultAction is Deny.)
    v = vl.az("keyvault", "show", "-n", VAULT, "-g", RG)
    assert v["properties"]["networkAcls"]["defaultAction"] == "Deny", v
    v = update(vl, "--enabled-for-deployment", "true")
    assert v["properties"]["enabledForDeployment"] is True, v
    assert v["properties"]["networkAcls"]["defaultAction"] == "Deny", v
    listed = vl.az("keyvault", "list", "-g", RG)
    assert VAULT in {x["name"] for x in listed}, listed


def test_ip_rule_lets_the_matching_caller_in(vl: Vaultlink, dev_oid: str) -> None:
    out = vl.az("keyvault", "network-rule", "add", "-n", VAULT, "-g", RG,
                "--ip-address", DEFAULT_ADDR)
    acls = out["properties"]["networkAcls"]
    assert {"value": f"{DEFAULT_ADDR}/32"} in acls["ipRules"], acls
    shown = vl.az("keyvault", "show", "-n", VAULT, "-g", RG)["properties"]["networkAcls"]
    assert [r["value"] for r in shown["ipRules"]] == [f"{DEFAULT_ADDR}/32"], shown
    assert shown["defaultAction"] == "Deny", shown
    listed = vl.az("keyvault", "network-rule", "list", "-n", VAULT, "-g", RG)
    assert [r["value"] for r in listed["ipRules"]] == [f"{DEFAULT_ADDR}/32"], listed

    r = show(vl)
    assert r.rc == 0, r.describe()
    assert r.json["value"] == "behind-the-firewall", r.json

    # Another public address is still outside the rule.
    r = show(vl, proxy_with_identity(vl, OTHER_ADDR))
    assert_firewall_denied(r, OTHER_ADDR, dev_oid)


def test_cidr_rule_covers_a_range(vl: Vaultlink, dev_oid: str) -> None:
    vl.az("keyvault", "network-rule", "add", "-n", VAULT, "-g", RG,
          "--ip-address", "198.51.100.0/24")
    r = show(vl, proxy_with_identity(vl, OTHER_ADDR))
    assert r.rc == 0, r.describe()
    assert_firewall_denied(show(vl, proxy_with_identity(vl, "192.0.2.55")), "192.0.2.55",
                           dev_oid)
    out = vl.az("keyvault", "network-rule", "remove", "-n", VAULT, "-g", RG,
                "--ip-address", "198.51.100.0/24")
    assert [x["value"] for x in out["properties"]["networkAcls"]["ipRules"]] == [
        f"{DEFAULT_ADDR}/32"], out
    assert_firewall_denied(show(vl, proxy_with_identity(vl, OTHER_ADDR)), OTHER_ADDR, dev_oid)


def test_private_range_ip_rule_is_refused_by_arm(vl: Vaultlink) -> None:
    before = vl.az("keyvault", "show", "-n", VAULT, "-g", RG)["properties"]["networkAcls"]
    for bad in ("10.0.0.1", "172.16.5.4", "192.168.1.0/24"):
        r = vl.az_fail("keyvault", "network-rule", "add", "-n", VAULT, "-g", RG,
                       "--ip-address", bad)
        assert "Traceback" not in r.stderr, r.describe()
        assert "(BadRequest)" in r.stderr or "(InvalidParameter)" in r.stderr, r.describe()
        assert bad.split("/")[0] in r.stderr, r.describe()
    after = vl.az("keyvault", "show", "-n", VAULT, "-g", RG)["properties"]["networkAcls"]
    assert after == before, (before, after)


def test_public_network_access_disabled_is_forbidden_by_connection(vl: Vaultlink,
                                                                   dev_oid: str) -> None:
    v = update(vl, "--public-network-access", "Disabled")
    assert v["properties"]["publicNetworkAccess"] == "Disabled", v
    try:
        # The IP rule that matches the caller no longer helps: PNA Disabled overrides it.
        r = show(vl)
        assert r.rc != 0, "expected ForbiddenByConnection, got success\n" + r.describe()
        err = r.stderr
        assert "(Forbidden) Public network access is disabled and request is not from a " \
               "trusted service nor via an approved private link." in err, err
        assert f"Caller: appid={DEV_CLIENT_ID};oid={dev_oid};iss={ISS}" in err, err
        assert f"Vault: {VAULT};location=westeurope" in err, err
        assert '"code": "ForbiddenByConnection"' in err, err
        assert "behind-the-firewall" not in r.stdout + err
        # Management still works.
        v = vl.az("keyvault", "show", "-n", VAULT, "-g", RG)
        assert v["properties"]["publicNetworkAccess"] == "Disabled", v
        # Health status stays reachable.
        status, _ = curl_health(vl, vl.env["HTTPS_PROXY"])
        assert status == 200
    finally:
        update(vl, "--public-network-access", "Enabled")
    assert show(vl).rc == 0


def test_default_action_allow_opens_the_vault_again(vl: Vaultlink) -> None:
    v = update(vl, "--default-action", "Allow")
    assert v["properties"]["networkAcls"]["defaultAction"] == "Allow", v
    r = show(vl, proxy_with_identity(vl, OTHER_ADDR))
    assert r.rc == 0, r.describe()
    assert r.json["value"] == "behind-the-firewall"


def test_update_without_resource_group_finds_the_vault(vl: Vaultlink) -> None:
    """`az keyvault update -n NAME` (no -g) looks the vault up with
    GET /subscriptions/{sub}/resources?$filter=resourceType eq 'Microsoft.KeyVault/vaults'
    and name eq 'NAME' (api-version 2015-11-01) before the PUT."""
    v = vl.az("keyvault", "update", "-n", VAULT, "--default-action", "Allow")
    assert v["id"].lower() == (f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RG}/providers/"
                               f"microsoft.keyvault/vaults/{VAULT}").lower(), v
