"""The portal tab of the seed, walked in headless Chromium (Debian's /usr/bin/chromium driven by
Playwright), every step checked through ARM with the real az CLI.

One server for the module (state accumulates in the order of the tests, like a person's session).
A screenshot of every page goes to tests/e2e/.artifacts/portal/<test>/ (git-ignored; the path is
printed). A missing chromium or playwright FAILS these tests: they are the portal's only proof.
"""

from __future__ import annotations

import http.server
import threading
from urllib.parse import quote
from pathlib import Path

import pytest

from conftest import DEV_CLIENT_ID, DEV_CLIENT_SECRET, SUBSCRIPTION_ID, Vaultlink
from portal_browser import (browser, fill_vm_form, new_page, option_values, portal_url, run_command, shots,  # noqa: F401 (fixtures)
                            sign_in, ssh_public_key)

RG = "portal-rg"
REGION = "westeurope"
VNET = "vnet-weu"
SUBNET = "snet-pe"
OTHER_VNET = "vnet-neu"  # in northeurope: must not be offered for a westeurope endpoint
EXISTING = "kvexisting1"
NEW_VAULT = "kvportal1"
ZONE = "privatelink.vaultcore.azure.net"
KV_API = "2023-07-01"


def pec_field(c: dict, name: str):
    """A vault-side connection's property as az prints it (flattened by az's models)."""
    return c[name] if name in c else c["properties"][name]


def vault_id(name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{name}"


# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    """The prerequisites the seed asks for (a resource group, a VNet with a subnet, a vault),
    made with az as a person would before opening the portal."""
    vl = logged_in
    vl.register_providers()
    vl.az("group", "create", "-n", RG, "-l", REGION)
    vl.az("network", "vnet", "create", "-g", RG, "-n", VNET, "--location", REGION,
          "--address-prefixes", "10.1.0.0/16", "--subnet-name", SUBNET, "--subnet-prefixes", "10.1.0.0/24")
    vl.az("network", "vnet", "create", "-g", RG, "-n", OTHER_VNET, "--location", "northeurope",
          "--address-prefixes", "10.2.0.0/16", "--subnet-name", "snet-other", "--subnet-prefixes", "10.2.0.0/24")
    vl.az("keyvault", "create", "-n", EXISTING, "-g", RG, "-l", REGION)
    return vl


def open_vault_connections(page, vl: Vaultlink, name: str) -> None:
    """The seed's path: search "key vaults", pick the vault, Networking, Private endpoint connections."""
    page.fill("#global-search", "key vaults")
    page.press("#global-search", "Enter")
    page.click(f"#vaults tr[data-vault='{name}'] a")
    page.click("#vault-networking")
    page.click("#tab-connections")
    page.wait_for_selector("#connections")


# ---------------------------------------------------------------------------------------------
def test_create_vault_with_public_access_off_and_a_private_endpoint(vl, browser, shots):
    ctx, page = sign_in(browser, vl, shots)
    shots(page, "key-vaults")
    page.click("#create-vault")
    page.select_option("#vault-rg", RG)
    page.fill("#vault-name", NEW_VAULT)
    page.select_option("#vault-region", REGION)
    shots(page, "create-vault-basics")
    page.click("#next")
    page.uncheck("#public-access")
    page.click("#add-private-endpoint")
    page.select_option("#blade-pe-location", "northeurope")
    assert [o for o in option_values(page, "#blade-pe-vnet")] == [f"{OTHER_VNET} ({RG})"]
    page.select_option("#blade-pe-location", REGION)
    # Only the VNets of the endpoint's region are offered, as the seed says.
    assert option_values(page, "#blade-pe-vnet") == [f"{VNET} ({RG})"]
    page.fill("#blade-pe-name", "pe-new-vault")
    assert page.input_value("#blade-pe-dns") == "yes"  # "leave integrate with private DNS zone unchanged"
    shots(page, "create-private-endpoint-blade")
    page.click("#blade-pe-ok")
    page.wait_for_selector("#draft-endpoints tr[data-endpoint='pe-new-vault']")
    shots(page, "create-vault-networking")
    # "You can now delete and edit this private endpoint": Edit reopens the blade, filled in.
    page.click("#draft-endpoints tr[data-endpoint='pe-new-vault'] button.edit")
    assert page.input_value("#blade-pe-name") == "pe-new-vault"
    assert page.input_value("#blade-pe-location") == REGION
    page.click("#blade-pe-ok")
    assert page.locator("#draft-endpoints tbody tr").count() == 1
    page.click("#review-create")
    shots(page, "create-vault-review")
    page.click("#create")
    page.wait_for_selector("#go-to-resource")
    shots(page, "deployment-complete")

    v = vl.az("keyvault", "show", "-n", NEW_VAULT, "-g", RG)
    assert v["properties"]["publicNetworkAccess"] == "Disabled"
    (pec,) = v["properties"]["privateEndpointConnections"]
    assert pec_field(pec, "privateLinkServiceConnectionState")["status"] == "Approved"
    pe = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", "pe-new-vault")
    assert pe["privateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]["status"] == "Approved"
    assert pe["subnet"]["id"].lower().endswith(f"/virtualnetworks/{VNET}/subnets/{SUBNET}".lower())
    nic = vl.az("network", "nic", "show", "--ids", pe["networkInterfaces"][0]["id"])
    ip = nic["ipConfigurations"][0]["privateIPAddress"]
    record = vl.az("network", "private-dns", "record-set", "a", "show", "-g", RG, "-z", ZONE, "-n", NEW_VAULT)
    assert [a["ipv4Address"] for a in record["aRecords"]] == [ip]
    links = vl.az("network", "private-dns", "link", "vnet", "list", "-g", RG, "-z", ZONE)
    assert [l["virtualNetwork"]["id"].lower().rsplit("/", 1)[1] for l in links] == [VNET.lower()]

    # The troubleshooting guide's checks, on the pages it names.
    page.click("#go-to-resource")
    page.wait_for_selector("#vault-essentials")
    shots(page, "vault-overview")
    page.click("#vault-networking")
    page.wait_for_selector("#pna-disabled:checked")
    shots(page, "vault-networking-firewalls")
    page.click("#tab-connections")
    row = page.locator("#connections tr[data-endpoint='pe-new-vault']")
    assert row.locator(".status").inner_text() == "Approved"
    assert row.locator(".provisioning").inner_text() == "Succeeded"
    shots(page, "vault-private-endpoint-connections")
    row.locator("a").click()
    page.wait_for_selector("#endpoint-essentials")
    assert page.inner_text("#endpoint-ip") == ip
    shots(page, "private-endpoint")
    page.click("#endpoint-essentials a[href^='#/nic/']")
    page.wait_for_selector("#nic-ip")
    assert page.inner_text("#nic-ip") == ip
    shots(page, "network-interface")
    page.click("#nav a[data-nav=zones]")
    page.click(f"#zones tr[data-zone='{ZONE}'] a")
    assert ip in page.locator(f"#records tr[data-record='{NEW_VAULT}']").inner_text()
    shots(page, "private-dns-zone-records")
    page.click("#tab-links")
    page.wait_for_selector("#links tr[data-link]")
    shots(page, "private-dns-zone-links")
    page.click("#nav a[data-nav=topology]")
    page.wait_for_selector("#topology-svg")
    assert page.locator("#topology-svg path.edge-Approved").count() == 1
    assert page.locator("#topology-svg path.edge-link").count() == 1
    # Nothing is drawn past the picture's right edge, text included; regions by their names.
    overflow = page.evaluate("""() => { const svg = document.getElementById('topology-svg'); const w = svg.viewBox.baseVal.width;
        return [...svg.querySelectorAll('text, rect')].filter((e) => { const b = e.getBBox(); return b.x + b.width > w; }).map((e) => e.textContent); }""")
    assert overflow == [], overflow
    # ... and the picture is shown whole at this width: its box does not cut the vault column.
    shown, box = page.evaluate("() => { const b = document.getElementById('topology-box'); return [b.scrollWidth, b.clientWidth]; }")
    assert shown <= box, f"the topology is cut: {shown} px in a {box} px box"
    assert "West Europe · public network access Disabled" in page.text_content("#topology-svg")
    shots(page, "topology")
    ctx.close()


def private_vault_to_review(page, vault: str, endpoint: str, endpoint_rg: str | None = None) -> None:
    """On the vault form (its group chosen): the name, public access off, one private endpoint in
    REGION (in `endpoint_rg` when given), then Review + create."""
    page.fill("#vault-name", vault)
    page.select_option("#vault-region", REGION)
    page.click("#next")
    page.uncheck("#public-access")
    page.click("#add-private-endpoint")
    if endpoint_rg:
        page.select_option("#blade-pe-rg", endpoint_rg)
    page.select_option("#blade-pe-location", REGION)
    page.fill("#blade-pe-name", endpoint)
    page.click("#blade-pe-ok")
    page.click("#review-create")


def test_validation_finds_what_create_would_be_refused_and_nothing_is_made(vl, browser, shots):
    """The endpoint's name breaks Azure's naming rule: Review + create's validation tries the
    deployment on a copy of the state and says ARM's words, with Create off; nothing is made."""
    before = vl.az("network", "private-dns", "link", "vnet", "list", "-g", RG, "-z", ZONE)
    ctx, page = sign_in(browser, vl)
    page.click("#create-vault")
    page.select_option("#vault-rg", RG)
    private_vault_to_review(page, "kvrollback1", "-bad-name-")
    failed = page.wait_for_selector("#validation .error").inner_text()
    shots(page, "validation-failed-endpoint-name")
    assert "Private endpoint -bad-name-: Resource name -bad-name- is invalid." in failed, failed
    assert page.is_disabled("#create")
    assert vl.az_fail("keyvault", "show", "-n", "kvrollback1", "-g", RG).rc != 0
    assert vl.az("network", "private-dns", "link", "vnet", "list", "-g", RG, "-z", ZONE) == before
    assert "-bad-name-" not in [e["name"] for e in vl.az("network", "private-endpoint", "list", "-g", RG)]
    ctx.close()


def test_a_create_refused_after_validation_leaves_nothing_half_made_and_shows_azures_words(vl, browser, shots):
    """Validation passes; before Create, someone else (az) takes the endpoint's name. Create makes
    the new resource group and the vault, is refused at the endpoint, and deletes both again."""
    before = vl.az("network", "private-dns", "link", "vnet", "list", "-g", RG, "-z", ZONE)
    ctx, page = sign_in(browser, vl)
    page.click("#create-vault")
    page.click("#vault-rg-create-new")
    page.fill("#vault-rg-new-name", "portal-rg-doomed")
    page.press("#vault-rg-new-name", "Enter")
    private_vault_to_review(page, "kvrollback1", "pe-rollback1", endpoint_rg=RG)
    assert page.wait_for_selector("#validation .ok").inner_text() == "Validation passed"
    vl.az("network", "private-endpoint", "create", "-g", RG, "-n", "pe-rollback1", "--vnet-name", VNET, "--subnet", SUBNET,
          "--private-connection-resource-id", vault_id(EXISTING), "--group-id", "vault", "--connection-name", "taken")
    page.click("#create")
    err = page.wait_for_selector("#deploy-result .error")
    text = err.inner_text()
    shots(page, "deployment-failed")
    assert "Rolled back" in text and "kvrollback1" in text and "portal-rg-doomed" in text, text
    assert "(Code: ResourceAlreadyExists)" in text and "pe-rollback1" in text, text

    assert vl.az("group", "exists", "-n", "portal-rg-doomed") is False
    assert vl.az_fail("keyvault", "show", "-n", "kvrollback1", "-g", "portal-rg-doomed").rc != 0
    deleted = vl.az("keyvault", "list-deleted", "--resource-type", "vault") or []
    assert "kvrollback1" not in [d["name"] for d in deleted]
    assert vl.az("network", "private-dns", "link", "vnet", "list", "-g", RG, "-z", ZONE) == before
    vl.az("network", "private-endpoint", "delete", "-g", RG, "-n", "pe-rollback1")
    ctx.close()


def test_add_a_private_endpoint_to_an_existing_vault_through_the_steps(vl, browser, shots):
    ctx, page = sign_in(browser, vl)
    open_vault_connections(page, vl, EXISTING)
    shots(page, "vault-connections-empty")
    # Firewalls and virtual networks: selected networks with one IP rule.
    page.click("#tab-firewalls")
    page.check("#pna-selected")
    page.fill("#ip-rules", "203.0.113.0/24")
    page.click("#apply-firewall")
    page.wait_for_selector("#firewall-result .ok")
    shots(page, "firewalls-selected-networks")
    v = vl.az("keyvault", "show", "-n", EXISTING, "-g", RG)["properties"]
    assert v["publicNetworkAccess"] == "Enabled"
    assert v["networkAcls"]["defaultAction"] == "Deny"
    assert [r["value"] for r in v["networkAcls"]["ipRules"]] == ["203.0.113.0/24"]
    page.click("#tab-connections")
    page.click("#pec-create")
    # Basics
    page.select_option("#pe-rg", RG)
    page.fill("#pe-name", "myPrivateEndpoint")
    assert page.input_value("#pe-nic") == "myPrivateEndpoint-nic"
    page.select_option("#pe-region", REGION)
    shots(page, "basics")
    page.click("#next")
    # Resource: type, the vault, and the sub-resource filled in
    assert page.is_checked("#method-directory")
    page.select_option("#pe-resource-type", "Microsoft.KeyVault/vaults")
    page.select_option("#pe-resource", vault_id(EXISTING))
    assert page.input_value("#pe-subresource") == "vault"
    shots(page, "resource")
    page.click("#next")
    # Virtual Network
    assert option_values(page, "#pe-vnet") == [f"{VNET} ({RG})"]
    page.select_option("#pe-subnet", label=f"{SUBNET} (10.1.0.0/24)")
    shots(page, "virtual-network")
    page.click("#next")
    # DNS, defaults
    assert page.input_value("#pe-dns") == "yes"
    shots(page, "dns")
    page.click("#next")
    # Tags
    page.click("#add-tag")
    page.fill(".tag-name", "purpose")
    page.fill(".tag-value", "seed-portal-tab")
    shots(page, "tags")
    page.click("#next")
    shots(page, "review-create")
    page.click("#create")
    page.wait_for_selector("#go-to-resource")
    shots(page, "deployment-complete")
    page.click("#go-to-resource")
    page.wait_for_selector("#endpoint-essentials")
    shots(page, "private-endpoint")

    pe = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", "myPrivateEndpoint")
    conn = pe["privateLinkServiceConnections"][0]
    assert conn["privateLinkServiceId"].lower() == vault_id(EXISTING).lower()
    assert conn["groupIds"] == ["vault"]
    assert conn["privateLinkServiceConnectionState"]["status"] == "Approved"
    assert pe["tags"] == {"purpose": "seed-portal-tab"}
    assert pe["networkInterfaces"][0]["id"].endswith("/networkInterfaces/myPrivateEndpoint-nic")
    nic = vl.az("network", "nic", "show", "--ids", pe["networkInterfaces"][0]["id"])
    ip = nic["ipConfigurations"][0]["privateIPAddress"]
    assert page.inner_text("#endpoint-ip") == ip
    record = vl.az("network", "private-dns", "record-set", "a", "show", "-g", RG, "-z", ZONE, "-n", EXISTING)
    assert [a["ipv4Address"] for a in record["aRecords"]] == [ip]
    ctx.close()


def test_approve_one_connection_and_reject_another(vl, browser, shots):
    ctx, page = sign_in(browser, vl)
    # One manual request made in the page (by resource ID), one with az.
    page.click("#nav a[data-nav=endpoints]")
    page.click("#create-endpoint")
    page.select_option("#pe-rg", RG)
    page.fill("#pe-name", "pe-manual-a")
    page.select_option("#pe-region", REGION)
    page.click("#next")
    page.check("#method-resourceid")
    page.fill("#pe-resource-id", vault_id(EXISTING))
    page.fill("#pe-request-message", "Team A asks for access")
    shots(page, "manual-request-resource")
    page.click("#next")
    page.click("#next")
    page.select_option("#pe-dns", "no")
    page.click("#next")
    page.click("#next")
    page.click("#create")
    page.wait_for_selector("#go-to-resource")
    vl.az("network", "private-endpoint", "create", "-g", RG, "--vnet-name", VNET, "--subnet", SUBNET,
          "--name", "pe-manual-b", "--private-connection-resource-id", vault_id(EXISTING),
          "--group-ids", "vault", "--connection-name", "pe-manual-b", "--location", REGION,
          "--manual-request")

    # Creating it again is refused with the reason beside the name and on Review, and changes nothing.
    page.click("#nav a[data-nav=endpoints]")
    page.click("#create-endpoint")
    page.select_option("#pe-rg", RG)
    page.fill("#pe-name", "pe-manual-a")
    assert "already exists" in page.wait_for_selector("#pe-name-message .error").inner_text()
    page.select_option("#pe-region", REGION)
    page.click("#tab-review")
    failed = page.wait_for_selector("#validation .error").inner_text()
    assert "Private endpoint pe-manual-a: A resource named 'pe-manual-a' already exists here" in failed, failed
    assert page.is_disabled("#create")
    shots(page, "create-again-refused")
    # Nothing was made from the filled-in form: leaving it asks first.
    page.click("#nav a[data-nav=vaults]")
    page.click("#leave-page")
    page.wait_for_selector("#vaults")

    open_vault_connections(page, vl, EXISTING)
    rows = {e: page.locator(f"#connections tr[data-endpoint='{e}']") for e in ("pe-manual-a", "pe-manual-b")}
    for r in rows.values():
        assert r.locator(".status").inner_text() == "Pending"
    assert "Team A asks for access" in rows["pe-manual-a"].locator(".description").inner_text()
    shots(page, "connections-pending")

    # Nothing selected: Approve, Reject and Remove are disabled, as in the Azure portal.
    assert all(page.is_disabled(f"#pec-{verb}") for verb in ("approve", "reject", "remove"))
    rows["pe-manual-a"].locator("input.pec").check()
    assert page.is_enabled("#pec-approve")
    page.click("#pec-approve")
    page.fill("#pec-description", "Approved for team A")
    shots(page, "approve-dialog")
    page.click("#pec-yes")
    page.wait_for_selector("#connection-result .ok")
    rows["pe-manual-b"].locator("input.pec").check()
    page.click("#pec-reject")
    page.fill("#pec-description", "Not this one")
    page.click("#pec-yes")
    page.wait_for_selector("#connection-result .ok")
    assert rows["pe-manual-a"].locator(".status").inner_text() == "Approved"
    assert rows["pe-manual-b"].locator(".status").inner_text() == "Rejected"
    shots(page, "connections-approved-and-rejected")

    a = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", "pe-manual-a")
    b = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", "pe-manual-b")
    sa = a["manualPrivateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]
    sb = b["manualPrivateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]
    assert (sa["status"], sa["description"]) == ("Approved", "Approved for team A")
    assert (sb["status"], sb["description"]) == ("Rejected", "Not this one")
    vault = vl.az("keyvault", "show", "-n", EXISTING, "-g", RG)
    states = {pec_field(c, "privateEndpoint")["id"].rsplit("/", 1)[1]:
              pec_field(c, "privateLinkServiceConnectionState")["status"]
              for c in vault["properties"]["privateEndpointConnections"]}
    assert {k: states.get(k) for k in ("pe-manual-a", "pe-manual-b")} == {"pe-manual-a": "Approved",
                                                                        "pe-manual-b": "Rejected"}

    # Approving a rejected connection is refused; the page shows ARM's words.
    rows["pe-manual-b"].locator("input.pec").check()
    page.click("#pec-approve")
    page.click("#pec-yes")
    err = page.wait_for_selector("#connection-result .error")
    assert "Approving rejected private endpoint connections is not supported." in err.inner_text()
    shots(page, "approve-rejected-refused")

    page.click("#nav a[data-nav=topology]")
    page.wait_for_selector("#topology-svg")
    assert page.locator("#topology-svg path.edge-Rejected").count() == 1
    shots(page, "topology")

    # Remove: the owner drops the rejected connection; the endpoint side says Disconnected.
    open_vault_connections(page, vl, EXISTING)
    page.locator("#connections tr[data-endpoint='pe-manual-b'] input.pec").check()
    page.click("#pec-remove")
    page.click("#pec-yes")
    page.wait_for_selector("#connection-result .ok")
    assert page.locator("#connections tr[data-endpoint='pe-manual-b']").count() == 0
    shots(page, "connection-removed")
    b = vl.az("network", "private-endpoint", "show", "-g", RG, "-n", "pe-manual-b")
    assert b["manualPrivateLinkServiceConnections"][0]["privateLinkServiceConnectionState"]["status"] == "Disconnected"

    # The doctor, for a caller in the VNet that has no endpoint and no zone link, and the vault
    # whose public access is off: not reachable, with the fix command.
    vl.az("network", "nic", "create", "-g", RG, "-n", "client-neu", "-l", "northeurope", "--vnet-name", OTHER_VNET,
          "--subnet", "snet-other")
    page.goto(portal_url(vl) + "#/doctor")
    page.select_option("#doctor-vault", NEW_VAULT)
    page.select_option("#doctor-from", label=f"NIC client-neu ({OTHER_VNET}/snet-other)")
    page.click("#diagnose")
    assert page.wait_for_selector("#doctor-reachable").inner_text() == "No"
    fixes = page.locator("#doctor-result .finding pre.fix").all_inner_texts()
    assert fixes and all(f.startswith(("az ", "vaultlink ")) for f in fixes), fixes
    shots(page, "doctor")
    ctx.close()


def test_troubleshooting_guide_fixes_on_the_private_dns_zone_page(vl, browser, shots):
    """The guide's last checks: link the caller's VNet to the zone, and create the A record."""
    ctx, page = sign_in(browser, vl)
    page.fill("#global-search", "private dns zones")
    page.press("#global-search", "Enter")
    page.click(f"#zones tr[data-zone='{ZONE}'] a")
    page.click("#tab-links")
    page.wait_for_selector("#links tr[data-link]")
    page.fill("#link-name", "neu-link")
    page.select_option("#link-vnet", label=f"{OTHER_VNET} ({RG})")
    page.click("#add-link")
    page.wait_for_selector("#links tr[data-link='neu-link']")
    shots(page, "virtual-network-links")
    links = vl.az("network", "private-dns", "link", "vnet", "show", "-g", RG, "-z", ZONE, "-n", "neu-link")
    assert links["virtualNetwork"]["id"].lower().endswith(f"/virtualnetworks/{OTHER_VNET}".lower())
    page.click("#tab-records")
    page.fill("#record-name", "fabrikam")
    page.fill("#record-ip", "10.1.0.99")
    page.click("#add-record")
    page.wait_for_selector("#records tr[data-record='fabrikam']")
    shots(page, "record-sets")
    r = vl.az("network", "private-dns", "record-set", "a", "show", "-g", RG, "-z", ZONE, "-n", "fabrikam")
    assert (r["ttl"], [a["ipv4Address"] for a in r["aRecords"]]) == (600, ["10.1.0.99"])
    # A refused change shows ARM's words and changes nothing.
    page.fill("#record-name", "bad")
    page.fill("#record-ip", "not-an-address")
    page.click("#add-record")
    assert "(Code: " in page.wait_for_selector("#zone-result .error").inner_text()
    shots(page, "record-refused")
    assert vl.az("network", "private-dns", "record-set", "a", "show", "-g", RG, "-z", ZONE, "-n", "bad",
                 check=False).rc != 0
    ctx.close()


def test_the_guides_fixes_can_be_undone_and_a_suffixed_name_is_warned_of(vl, browser, shots):
    """The A record made above is edited ("fix the A record") and deleted, the link deleted, each
    after an in-page confirmation; a record name carrying the zone's suffix is warned of."""
    ctx, page = sign_in(browser, vl)
    zone_id = vl.az("network", "private-dns", "zone", "show", "-g", RG, "-n", ZONE)["id"]
    page.goto(portal_url(vl) + f"#/zone/{quote(zone_id, safe='')}")
    row = page.wait_for_selector("#records tr[data-record='fabrikam']")
    page.fill("#record-name", f"kv.{ZONE}")
    warning = page.wait_for_selector("#record-name-warning .finding").inner_text()
    assert "relative to the zone" in warning and f"kv.{ZONE}.{ZONE}" in warning, warning
    page.fill("#record-name", "kv")
    page.wait_for_selector("#record-name-warning .finding", state="detached")
    row.query_selector("button.edit-record").click()
    assert page.input_value("#record-name") == "fabrikam"
    page.fill("#record-ip", "10.1.0.98, 10.1.0.97")
    page.click("#add-record")
    page.wait_for_selector("#records tr[data-record='fabrikam'] >> text=10.1.0.98, 10.1.0.97")
    r = vl.az("network", "private-dns", "record-set", "a", "show", "-g", RG, "-z", ZONE, "-n", "fabrikam")
    assert sorted(a["ipv4Address"] for a in r["aRecords"]) == ["10.1.0.97", "10.1.0.98"], r
    shots(page, "record-edited")
    # Delete asks in the page first; Cancel leaves it.
    page.click("#records tr[data-record='fabrikam'] button.delete-record")
    page.click("#cancel-delete")
    assert vl.az("network", "private-dns", "record-set", "a", "show", "-g", RG, "-z", ZONE, "-n", "fabrikam")
    page.click("#records tr[data-record='fabrikam'] button.delete-record")
    assert "Delete the record set fabrikam?" in page.inner_text("#delete-confirm")
    page.click("#confirm-delete")
    page.wait_for_selector("#records tr[data-record='fabrikam']", state="detached")
    assert vl.az("network", "private-dns", "record-set", "a", "show", "-g", RG, "-z", ZONE, "-n", "fabrikam",
                 check=False).rc != 0
    page.click("#tab-links")
    page.click("#links tr[data-link='neu-link'] button.delete-link")
    assert "stop seeing this zone" in page.inner_text("#delete-confirm")
    page.click("#confirm-delete")
    page.wait_for_selector("#links tr[data-link='neu-link']", state="detached")
    shots(page, "link-deleted")
    links = vl.az("network", "private-dns", "link", "vnet", "list", "-g", RG, "-z", ZONE)
    assert "neu-link" not in [l["name"] for l in links], links

    # The vault's Diagnose tab runs the doctor in place; a finding links to the page that
    # fixes it, beside its az line.
    vault_id = vl.az("keyvault", "show", "-n", NEW_VAULT)["id"]
    page.goto(portal_url(vl) + f"#/vault/{quote(vault_id, safe='')}")
    page.click("#vault-diagnose")
    page.select_option("#doctor-from", label=f"NIC client-neu ({OTHER_VNET}/snet-other)")
    page.click("#diagnose")
    assert page.wait_for_selector("#doctor-reachable").inner_text() == "No"
    page.wait_for_selector("#doctor-result .finding")
    checks = page.locator("#doctor-result .finding").evaluate_all("els => els.map(e => e.dataset.check)")
    # Public access is off and the caller's VNet has no endpoint: the vault refuses it, and the
    # fix's page is the vault's firewall.
    assert "connection-refused" in checks, checks
    finding = page.locator("#doctor-result .finding[data-check='connection-refused']")
    assert finding.locator("pre.fix").inner_text().startswith("az keyvault update")
    shots(page, "vault-diagnose")
    finding.locator("a.fix-page").click()
    page.wait_for_selector("#tab-firewalls.active")
    assert page.is_checked("#pna-disabled")
    ctx.close()


def test_a_signed_out_browser_changes_nothing(vl, browser, shots):
    before = sorted(v["name"] for v in vl.az("keyvault", "list"))
    ctx, page = new_page(browser)
    page.goto(portal_url(vl))
    page.wait_for_selector("#signin-form")
    # A wrong secret is refused with Entra's words.
    page.fill("#client-id", DEV_CLIENT_ID)
    page.fill("#client-secret", "not-the-secret")
    page.click("#signin")
    assert "AADSTS7000215" in page.wait_for_selector("#signin-result .error").inner_text()
    shots(page, "wrong-secret")
    body = {"location": REGION, "properties": {"tenantId": "8d3a7e52-6c1f-4b0e-9a57-2f4c8e1b6d90",
                                                "sku": {"family": "A", "name": "standard"}}}
    path = f"{vault_id('kvsignedout1')}?api-version={KV_API}"
    results = page.evaluate(
        """async ([path, body]) => {
            const out = {};
            const send = async (url, init) => { const r = await fetch(url, init); return [r.status, await r.text()]; };
            const json = { 'Content-Type': 'application/json' };
            out.portal = await send('/portal/api/arm' + path, { method: 'PUT', headers: json, body: JSON.stringify(body) });
            out.deploy = await send('/portal/api/deploy', { method: 'POST', headers: json,
                body: JSON.stringify({ steps: [{ path, body }] }) });
            out.arm = await send(path, { method: 'PUT', headers: json, body: JSON.stringify(body) });
            out.read = await send('/portal/api/arm/subscriptions?api-version=2022-09-01', {});
            return out;
        }""",
        [path, body],
    )
    assert results["portal"][0] == 401 and "NotSignedIn" in results["portal"][1], results
    assert results["deploy"][0] == 401, results
    assert results["arm"][0] == 401 and "AuthenticationFailed" in results["arm"][1], results
    assert results["read"][0] == 401, results
    shots(page, "signed-out")
    ctx.close()
    assert sorted(v["name"] for v in vl.az("keyvault", "list")) == before


class _Forger(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args):
        pass


def forger_server(tmp_path: Path, tls: bool) -> http.server.ThreadingHTTPServer:
    """The attacker's web server on 127.0.0.1, plain or HTTPS (a throwaway self-signed cert)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Forger)
    if tls:
        import ssl
        import subprocess
        key, cert = tmp_path / "evil.key", tmp_path / "evil.crt"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("attacker, expected", [
    # Another site (other host name, plain http): the SameSite=Strict cookie is not sent at all.
    ("http://localhost", "NotSignedIn"),
    # Same site, other origin (another HTTPS service on 127.0.0.1): the cookie IS sent, so the
    # Origin check (and the missing CSRF header) must refuse it.
    ("https://127.0.0.1", "CrossOriginRequestRefused"),
])
def test_a_forged_cross_site_form_is_refused(vl, browser, shots, tmp_path, attacker, expected):
    """A signed-in browser visits another page that auto-submits forms at the portal and at ARM.
    All are refused and az sees no change."""
    ctx, page = sign_in(browser, vl)
    before_vaults = sorted(v["name"] for v in vl.az("keyvault", "list"))
    before_kv = vl.az("provider", "show", "-n", "Microsoft.KeyVault")["registrationState"]
    assert before_kv == "Registered"
    base = vl.https_url.rstrip("/")
    vault_body = ('{"location":"westeurope","properties":{"tenantId":"8d3a7e52-6c1f-4b0e-9a57-2f4c8e1b6d90",'
                  '"sku":{"family":"A","name":"standard"}}}')
    deploy = ('{"steps":[{"path":"' + vault_id("kvforged1") + f'?api-version={KV_API}","body":' + vault_body
              + '}],"pad":"')
    unregister = f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.KeyVault/unregister?api-version=2022-09-01"
    forms = {
        # A text/plain body that parses as JSON: the classic forged-JSON trick.
        "deploy": (f"""<form method=POST enctype=text/plain action="{base}/portal/api/deploy">
                   <input type=hidden name='{deploy}' value='"}}'></form>""", expected),
        "unregister": (f"""<form method=POST action="{base}/portal/api/arm{unregister}"></form>""", expected),
        "arm": (f"""<form method=POST action="{base}{unregister}"></form>""", "AuthenticationFailed"),
        "signout": (f"""<form method=POST action="{base}/portal/api/signout"></form>""", expected),
    }
    server = forger_server(tmp_path, attacker.startswith("https"))
    evil = f"{attacker}:{server.server_address[1]}/"
    try:
        for name, (form, code) in forms.items():
            _Forger.page = f"<html><body>{form}<script>document.forms[0].submit()</script></body></html>".encode()
            with page.expect_response(lambda r: r.url.startswith(base) and r.request.method == "POST") as info:
                page.goto(evil)
            resp = info.value
            assert resp.status in (401, 403), (name, resp.status, resp.text())
            assert f'"{code}"' in resp.text(), (name, resp.text())
            page.wait_for_load_state()
            shots(page, f"forged-{name}")
        # A cross-site fetch with credentials gets no answer it can read and changes nothing either.
        page.goto(evil)
        page.evaluate("""async (url) => { try { await fetch(url, { method: 'POST', mode: 'no-cors',
            credentials: 'include', body: 'x' }); } catch (e) {} }""", f"{base}/portal/api/signout")
    finally:
        server.shutdown()
    assert sorted(v["name"] for v in vl.az("keyvault", "list")) == before_vaults
    assert vl.az("provider", "show", "-n", "Microsoft.KeyVault")["registrationState"] == before_kv
    # The forms did not sign the browser out either: the session still works from the portal.
    page.goto(portal_url(vl))
    page.wait_for_selector("#vaults")
    shots(page, "still-signed-in")
    ctx.close()


# ---------------------------------------------------------------------------------------------
# Virtual machines (issue 18): the seed's VM made in the portal, checked with az.

def next_free_address(vl: Vaultlink) -> str:
    """The address ARM gives the next NIC in the seed's subnet: the lowest free one from .4."""
    used = {c["privateIPAddress"] for n in vl.az("network", "nic", "list", "-g", RG) for c in n["ipConfigurations"]
            if c["subnet"]["id"].endswith(f"/virtualNetworks/{VNET}/subnets/{SUBNET}")}
    return next(a for a in (f"10.1.0.{i}" for i in range(4, 255)) if a not in used)


def test_vm_create_in_the_seeds_subnet_power_run_command_without_lab_and_delete(vl, browser, shots, tmp_path):
    key = ssh_public_key(tmp_path)
    expected_ip = next_free_address(vl)
    ctx, page = sign_in(browser, vl)
    page.click("#nav a[data-nav='vms']")
    page.click("#create-vm")
    # Networking as the Azure portal shows it: only the region's VNets, that VNet's subnets.
    page.select_option("#vm-rg", RG)
    page.select_option("#vm-region", REGION)
    page.fill("#vm-name", "vmportal1")
    page.click("#tab-networking")
    assert option_values(page, "#vm-vnet") == [f"{VNET} ({RG})"]
    assert option_values(page, "#vm-subnet") == [f"{SUBNET} (10.1.0.0/24)"]
    assert option_values(page, "#vm-public-ip") == ["None", "(new) vmportal1-ip"]
    assert page.is_checked("#vm-lb-no") and page.locator("input[name='vm-lb']").count() == 1
    page.click("#nav a[data-nav='vms']")
    page.click("#leave-page")  # the half-filled form is left on purpose
    fill_vm_form(page, rg=RG, name="vmportal1", region=REGION, vnet=f"{VNET} ({RG})", subnet=f"{SUBNET} (10.1.0.0/24)",
                 ssh_key=key, shots=shots)
    review = page.inner_text("#review")
    assert "vmportal1" in review and "Standard_B2s" in review and "(new) vmportal1-nic" in review, review
    shots(page, "vm-review")
    page.click("#create")
    page.wait_for_selector("#deploy-result .ok", timeout=60_000)
    page.click("#go-to-resource")
    page.wait_for_selector("#vm-essentials")
    shots(page, "vm-overview")
    assert page.inner_text("#vm-status") == "VM running"
    assert page.inner_text("#vm-private-ip") == expected_ip
    assert page.inner_text("#vm-public-ip") == "None"
    assert page.inner_text("#vm-subnet") == f"{VNET}/{SUBNET}"
    assert page.inner_text("#vm-nic") == "vmportal1-nic"
    assert "0001-com-ubuntu-server-jammy" in page.inner_text("#vm-image")

    vm = vl.az("vm", "show", "-g", RG, "-n", "vmportal1")
    assert vm["hardwareProfile"]["vmSize"] == "Standard_B2s"
    assert vm["storageProfile"]["imageReference"]["sku"] == "22_04-lts-gen2"
    assert vm["osProfile"]["adminUsername"] == "azureuser"
    assert vm["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"] is True
    assert vm["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"][0]["keyData"].strip() == key
    [nic_ref] = vm["networkProfile"]["networkInterfaces"]
    assert nic_ref["deleteOption"] == "Delete"
    nic = vl.az("network", "nic", "show", "--ids", nic_ref["id"])
    [ipc] = nic["ipConfigurations"]
    assert ipc["subnet"]["id"].endswith(f"/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/{VNET}/subnets/{SUBNET}")
    assert ipc["privateIPAddress"] == expected_ip
    assert ipc["privateIPAllocationMethod"] == "Dynamic"
    assert ipc.get("publicIPAddress") is None
    assert nic.get("networkSecurityGroup") is None
    assert nic["virtualMachine"]["id"] == vm["id"]
    assert not [p for p in vl.az("network", "public-ip", "list", "-g", RG) if p["name"].startswith("vmportal1")]
    assert not [g for g in vl.az("network", "nsg", "list", "-g", RG) if g["name"].startswith("vmportal1")]

    # Run command without --lab: ARM's refusal, as it words it.
    err = run_command(page, f"nslookup {EXISTING}.vault.azure.net")
    text = err.inner_text()
    shots(page, "vm-run-command-refused")
    assert "error" in (err.get_attribute("class") or ""), text
    assert "OperationNotAllowed" in text and "--lab" in text, text
    assert page.is_hidden("#run-output")

    # Stop (the Azure portal's Stop deallocates), Start; the list shows the power state and address.
    page.click("#tab-overview")
    page.click("#vm-stop")
    page.wait_for_selector("#vm-status:text-is('VM deallocated')")  # the page's CSP allows no eval
    assert vl.az("vm", "get-instance-view", "-g", RG, "-n", "vmportal1", "--query",
                 "instanceView.statuses[?starts_with(code, 'PowerState/')].code | [0]") == "PowerState/deallocated"
    err = run_command(page, "true")
    assert "OperationNotAllowed" in err.inner_text() and "deallocated" in err.inner_text()
    page.click("#tab-overview")
    page.click("#vm-start")
    page.wait_for_selector("#vm-status:text-is('VM running')")
    page.click("#nav a[data-nav='vms']")
    row = page.wait_for_selector("#vms tr[data-vm='vmportal1']")
    cells = row.eval_on_selector_all("td", "tds => tds.map(t => t.textContent)")
    assert cells == ["vmportal1", RG, "West Europe", "Standard_B2s", "VM running", expected_ip], cells
    shots(page, "vm-list")

    # Delete asks in the page (no window.confirm); Cancel keeps the VM, Delete removes it and its NIC.
    page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError(f"a browser dialog opened: {d.message}")))
    page.click("#vms tr[data-vm='vmportal1'] a")
    page.click("#vm-delete")
    assert "vmportal1" in page.inner_text("#delete-confirm")
    page.click("#cancel-delete")
    assert page.inner_text("#delete-confirm") == ""
    assert vl.az("vm", "show", "-g", RG, "-n", "vmportal1")["name"] == "vmportal1"
    page.click("#vm-delete")
    shots(page, "vm-delete-confirm")
    page.click("#confirm-delete")
    page.wait_for_selector("#vms")
    assert "vmportal1" not in [v["name"] for v in vl.az("vm", "list", "-g", RG)]
    assert "vmportal1-nic" not in [n["name"] for n in vl.az("network", "nic", "list", "-g", RG)]
    ctx.close()


def test_vm_create_with_bad_input_shows_azures_error_and_leaves_nothing(vl, browser, shots, tmp_path):
    key = ssh_public_key(tmp_path)
    ctx, page = sign_in(browser, vl)
    before = {kind: [r["name"] for r in vl.az("network", kind, "list", "-g", RG)] for kind in ("nic", "public-ip", "nsg")}
    fill_vm_form(page, rg=RG, name="bad name!", region=REGION, vnet=f"{VNET} ({RG})", subnet=f"{SUBNET} (10.1.0.0/24)",
                 ssh_key=key)
    text = page.wait_for_selector("#validation .error").inner_text()
    shots(page, "vm-bad-name")
    assert "Basics: Virtual machine name 'bad name!' is invalid." in text, text
    assert page.is_disabled("#create")

    # A name ARM's network accepts but Compute refuses for Windows (over 15 characters): found by
    # trying the public IP, NSG, NIC and VM on a copy of the state; none of them is made.
    page.click("#nav a[data-nav='vms']")
    page.click("#leave-page")  # the refused form is left: nothing of it was made
    fill_vm_form(page, rg=RG, name="winportal-toolong", region=REGION, vnet=f"{VNET} ({RG})",
                 subnet=f"{SUBNET} (10.1.0.0/24)", image="win2022", password="Vaultlink-Portal-1!",
                 public_ip="new", nsg="basic")
    assert page.locator("#vm-auth-ssh").count() == 0  # Windows: password only
    text = page.wait_for_selector("#validation .error", timeout=60_000).inner_text()
    shots(page, "vm-windows-name-refused")
    assert "Virtual machine winportal-toolong: Windows computer name cannot be more than 15 characters" in text, text
    assert page.is_disabled("#create")

    after = {kind: [r["name"] for r in vl.az("network", kind, "list", "-g", RG)] for kind in ("nic", "public-ip", "nsg")}
    assert after == before
    names = [v["name"] for v in vl.az("vm", "list", "-g", RG)]
    assert "bad name!" not in names and "winportal-toolong" not in names
    ctx.close()



def test_delete_an_endpoint_asks_in_the_page_and_takes_its_nic(vl, browser, shots):
    """Deleting a private endpoint asks in the page like every other confirmation (no browser
    dialog): Cancel keeps it, Delete removes it, its NIC and the vault's connection."""
    vault_id = vl.az("keyvault", "show", "-n", EXISTING, "-g", RG, "--query", "id")
    pe = vl.az("network", "private-endpoint", "create", "-g", RG, "-n", "pe-portal-del", "--vnet-name", VNET,
               "--subnet", SUBNET, "--private-connection-resource-id", vault_id, "--group-id", "vault",
               "--connection-name", "conn-portal-del")
    nic_id = pe["networkInterfaces"][0]["id"]
    ctx, page = sign_in(browser, vl)
    page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError(f"a browser dialog opened: {d.message}")))
    page.goto(portal_url(vl) + "#/endpoint/" + quote(pe["id"], safe=""))
    page.click("#delete-endpoint")
    question = page.inner_text("#delete-confirm")
    assert "pe-portal-del" in question and page.get_attribute("#delete-confirm > div", "role") == "alertdialog", question
    page.click("#cancel-delete")
    assert page.inner_text("#delete-confirm") == ""
    assert vl.az("network", "private-endpoint", "show", "-g", RG, "-n", "pe-portal-del")["name"] == "pe-portal-del"
    page.click("#delete-endpoint")
    shots(page, "endpoint-delete-confirm")
    page.click("#confirm-delete")
    page.wait_for_selector("#endpoints")
    assert vl.az("network", "private-endpoint", "show", "-g", RG, "-n", "pe-portal-del", check=False).rc != 0
    assert vl.az("network", "nic", "show", "--ids", nic_id, check=False).rc != 0
    connections = vl.az("network", "private-endpoint-connection", "list", "--id", vault_id)
    assert not [c for c in connections if "pe-portal-del" in c["properties"]["privateEndpoint"]["id"]], connections
    ctx.close()


def test_an_empty_subscription_says_so_and_nothing_the_page_asks_for_is_missing(browser, shots, tmp_path):
    """A fresh subscription: every list shows the Azure portal's "No resources to display" row,
    and no request the page makes (the favicon included) fails."""
    fresh = Vaultlink(tmp_path)
    fresh.start()
    try:
        ctx, page = new_page(browser)
        icons: list[int] = []
        page.on("response", lambda r: icons.append(r.status) if r.url.endswith("/portal/favicon.svg") else None)
        page.goto(portal_url(fresh))
        page.fill("#client-id", DEV_CLIENT_ID)
        page.fill("#client-secret", DEV_CLIENT_SECRET)
        page.click("#signin")
        page.wait_for_selector("#vaults")
        # Signed in, nothing may fail (before it, the page's session check answers 401 by design).
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        for route, table in [("vaults", "vaults"), ("endpoints", "endpoints"), ("zones", "zones"), ("vnets", "vnets"), ("vms", "vms")]:
            page.goto(portal_url(fresh) + f"#/{route}")
            page.wait_for_selector(f"#{table} tbody tr")
            rows = page.eval_on_selector_all(f"#{table} tbody tr", "rs => rs.map(r => r.textContent)")
            assert rows == ["No resources to display"], (route, rows)
        shots(page, "empty-vms")
        assert icons and set(icons) == {200}, icons
        assert failed == [], failed
        ctx.close()
    finally:
        fresh.close()


def test_sign_in_with_an_empty_field_says_so_and_sends_nothing(vl, browser, shots):
    ctx, page = new_page(browser)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/portal/api/signin") else None)
    page.goto(portal_url(vl))
    assert DEV_CLIENT_ID not in (page.get_attribute("#client-id", "placeholder") or "")
    page.click("#signin")
    assert page.inner_text("#client-id-missing") == "Enter the client ID or user name."
    assert page.inner_text("#client-secret-missing") == "Enter the client secret or password."
    assert page.evaluate("document.activeElement.id") == "client-id"
    page.fill("#client-id", DEV_CLIENT_ID)
    page.click("#signin")
    assert page.locator("#client-id-missing").count() == 0 and page.is_visible("#client-secret-missing")
    shots(page, "sign-in-empty-secret")
    assert sent == [], sent
    page.fill("#client-secret", DEV_CLIENT_SECRET)
    page.click("#signin")
    page.wait_for_selector("#vaults")
    assert len(sent) == 1, sent
    ctx.close()
