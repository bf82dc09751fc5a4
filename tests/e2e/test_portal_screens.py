"""Every portal page on a wide and a phone-sized screen (issue 19 items 4 and 5): at 390 px nothing
scrolls sideways, the menu collapses behind a button, Sign out stays on screen, side panels take
the width; on both, the accessibility engine axe-core (npm, run in the page) finds no serious or
critical violation; the pages can be walked with the keyboard alone; a half-filled create form is
not left without asking; a stopped server is said in a banner with Retry, and a restart says the
session ended.

The state is one seed file (a vault behind a private endpoint with its zone, link and zone group,
a NIC in the subnet) and a VM on that NIC from az, so every page has something to show.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import DEV_CLIENT_ID, DEV_CLIENT_SECRET, REPO_ROOT, SUBSCRIPTION_ID, Vaultlink
from portal_browser import browser, new_page, portal_url, shots, sign_in  # noqa: F401 (fixtures)

RG = "screens-rg"
RG_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}"
VAULT_ID = f"{RG_ID}/providers/Microsoft.KeyVault/vaults/kvscreens1"
VNET_ID = f"{RG_ID}/providers/Microsoft.Network/virtualNetworks/vnet-screens"
ZONE_ID = f"{RG_ID}/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"
PE_ID = f"{RG_ID}/providers/Microsoft.Network/privateEndpoints/pe-screens"
NIC_ID = f"{RG_ID}/providers/Microsoft.Network/networkInterfaces/vmscreens-nic"
VM_ID = f"{RG_ID}/providers/Microsoft.Compute/virtualMachines/vmscreens"
AXE_DIR = REPO_ROOT / "tests" / "e2e" / "axe"
NARROW = 390


def seed_file() -> dict:
    subnet = f"{VNET_ID}/subnets/pe"
    return {
        "providers": ["Microsoft.KeyVault", "Microsoft.Network", "Microsoft.Compute"],
        "resources": [
            {"id": RG_ID, "location": "westeurope"},
            {"id": VAULT_ID, "location": "westeurope", "properties": {
                "tenantId": "${tenant}", "sku": {"family": "A", "name": "standard"},
                "enableRbacAuthorization": True, "publicNetworkAccess": "Disabled"}},
            {"id": VNET_ID, "location": "westeurope", "properties": {
                "addressSpace": {"addressPrefixes": ["10.60.0.0/16"]},
                "subnets": [{"name": "pe", "properties": {"addressPrefix": "10.60.1.0/24"}}]}},
            {"id": ZONE_ID, "location": "global", "properties": {}},
            {"id": f"{ZONE_ID}/virtualNetworkLinks/vnet-screens-link", "location": "global",
             "properties": {"registrationEnabled": False, "virtualNetwork": {"id": VNET_ID}}},
            {"id": PE_ID, "location": "westeurope", "properties": {
                "subnet": {"id": subnet},
                "privateLinkServiceConnections": [{"name": "pe-screens", "properties": {
                    "privateLinkServiceId": VAULT_ID, "groupIds": ["vault"]}}]}},
            {"id": f"{PE_ID}/privateDnsZoneGroups/default", "properties": {
                "privateDnsZoneConfigs": [{"name": "vaultcore", "properties": {"privateDnsZoneId": ZONE_ID}}]}},
            {"id": NIC_ID, "location": "westeurope", "properties": {"ipConfigurations": [
                {"name": "ipconfig1", "properties": {"subnet": {"id": subnet}}}]}},
        ],
    }


# Every page: its hash and an element that says it has drawn.
PAGES = [
    ("groups", "#/groups", "#groups"),
    ("group-create", "#/groups/create", "#group-name"),
    ("group", f"#/group/{quote(RG_ID, safe='')}", "#group-resources tr[data-resource]"),
    ("vaults", "#/vaults", "#vaults tr[data-vault]"),
    ("vault-create", "#/vaults/create", "#vault-name"),
    ("vault", f"#/vault/{quote(VAULT_ID, safe='')}", "#vault-essentials"),
    ("vault-firewalls", f"#/vault/{quote(VAULT_ID, safe='')}/networking", "#pna-disabled"),
    ("vault-connections", f"#/vault/{quote(VAULT_ID, safe='')}/networking/connections", "#connections tr[data-endpoint]"),
    ("vault-diagnose", f"#/vault/{quote(VAULT_ID, safe='')}/diagnose", "#diagnose"),
    ("endpoints", "#/endpoints", "#endpoints tr[data-endpoint]"),
    ("endpoint-create", "#/endpoints/create", "#pe-name"),
    ("endpoint", f"#/endpoint/{quote(PE_ID, safe='')}", "#endpoint-essentials"),
    ("zones", "#/zones", "#zones tr[data-zone]"),
    ("zone-records", f"#/zone/{quote(ZONE_ID, safe='')}", "#records tr[data-record]"),
    ("zone-links", f"#/zone/{quote(ZONE_ID, safe='')}/links", "#links tr[data-link]"),
    ("vnets", "#/vnets", "#vnets tr[data-vnet]"),
    ("vnet-create", "#/vnets/create", "#vnet-name"),
    ("vnet", f"#/vnet/{quote(VNET_ID, safe='')}", "#subnets tr[data-subnet]"),
    ("vms", "#/vms", "#vms tr[data-vm]"),
    ("vm-create", "#/vms/create", "#vm-name"),
    ("vm", f"#/vm/{quote(VM_ID, safe='')}", "#vm-essentials"),
    ("nic", f"#/nic/{quote(NIC_ID, safe='')}", "#nic-ip"),
    ("topology", "#/topology", "#topology-svg"),
    ("doctor", "#/doctor", "#diagnose"),
]


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core as package-lock.json pins it, installed with `npm ci` into the cache (never the repo)."""
    for tool in ("node", "npm"):
        assert shutil.which(tool), f"{tool} not on PATH (the machine's Node.js and npm: scripts/prerequisites)"
    cache = Path(os.environ.get("VAULTLINK_CACHE", Path.home() / ".cache" / "vaultlink"))
    lock = (AXE_DIR / "package-lock.json").read_text()
    work = cache / f"axe-{hashlib.sha256(lock.encode()).hexdigest()[:12]}"
    script = work / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        work.mkdir(parents=True, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(AXE_DIR / f, work / f)
        subprocess.run(["npm", "ci", "--cache", str(cache / "npm"), "--no-audit", "--no-fund"], cwd=work,
                       check=True, capture_output=True, text=True, timeout=300)
    return script.read_text()


@pytest.fixture(scope="module")
def vl(tmp_path_factory) -> Vaultlink:
    tmp = tmp_path_factory.mktemp("portal-screens")
    vl = Vaultlink(tmp)
    vl.start()
    try:
        (tmp / "seed.json").write_text(json.dumps(seed_file()))
        vl.run_vaultlink("seed", str(tmp / "seed.json"), "--data-dir", str(vl.data_dir))
        # A seed file holds no VMs: the VM on the seeded NIC comes from az (a template deployment).
        vl.login_sp()
        vl.az("vm", "create", "-g", RG, "-n", "vmscreens", "--image", "Ubuntu2204", "--nics", "vmscreens-nic",
              "--size", "Standard_B1s", "--admin-username", "azureuser", "--admin-password", "Screens-Passw0rd!")
        yield vl
    finally:
        vl.close()


def signed_in_page(browser, vl: Vaultlink, width: int):
    # bypass_csp: the page's CSP admits only its own scripts, and axe is injected by the test.
    return sign_in(browser, vl, width=width, height=844 if width == NARROW else 900, bypass_csp=True)


def axe_violations(page, axe_source: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    found = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ['violations'] });
        return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => `${v.impact} ${v.id}: ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')}`);
    }""")
    return found


def open_page(page, vl: Vaultlink, hash_: str, ready: str) -> None:
    page.goto(portal_url(vl) + hash_)
    page.wait_for_selector(ready, state="attached")


def no_sideways_scroll(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("width", [1400, NARROW])
def test_every_page_passes_axe_and_fits_the_screen(vl, browser, shots, axe_source, width):
    ctx, page = signed_in_page(browser, vl, width)
    problems: list[str] = []
    for name, hash_, ready in PAGES:
        open_page(page, vl, hash_, ready)
        shots(page, f"{name}-{width}")
        problems += [f"{name}: {v}" for v in axe_violations(page, axe_source)]
        if width == NARROW:
            scroll, inner = no_sideways_scroll(page)
            if scroll > inner:
                problems.append(f"{name}: the page is {scroll} px wide on a {inner} px screen")
            box = page.locator("#signout").bounding_box()
            if not box or box["x"] + box["width"] > inner:
                problems.append(f"{name}: Sign out is off-screen ({box})")
    # The side panels, open.
    open_page(page, vl, "#/vnets/create", "#vnet-name")
    page.click("#next")
    page.click("#add-subnet")
    page.wait_for_selector("#subnet-blade")
    problems += [f"subnet-blade: {v}" for v in axe_violations(page, axe_source)]
    if width == NARROW:
        box = page.locator("#subnet-blade").bounding_box()
        assert box and box["x"] == 0 and box["width"] == NARROW, box
    shots(page, f"subnet-blade-{width}")
    page.keyboard.press("Escape")
    # The signed-out page.
    page.click("#signout")
    page.wait_for_selector("#signin-form")
    problems += [f"sign-in: {v}" for v in axe_violations(page, axe_source)]
    if width == NARROW:
        scroll, inner = no_sideways_scroll(page)
        if scroll > inner:
            problems.append(f"sign-in: the page is {scroll} px wide on a {inner} px screen")
    assert problems == [], "\n".join(problems)
    ctx.close()


def test_the_menu_collapses_on_a_phone_and_opens_over_the_page(vl, browser, shots):
    ctx, page = signed_in_page(browser, vl, NARROW)
    assert page.is_hidden("#nav") and page.is_visible("#menu-toggle")
    assert page.get_attribute("#menu-toggle", "aria-expanded") == "false"
    page.click("#menu-toggle")
    assert page.is_visible("#nav") and page.get_attribute("#menu-toggle", "aria-expanded") == "true"
    shots(page, "menu-open")
    page.click("#nav a[data-nav='vnets']")
    page.wait_for_selector("#vnets")
    assert page.is_hidden("#nav"), "picking a page closes the menu"
    ctx.close()
    # On a wide screen the menu is always there and the button is not.
    ctx, page = signed_in_page(browser, vl, 1400)
    assert page.is_visible("#nav") and page.is_hidden("#menu-toggle")
    ctx.close()


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Tab (only Tab) until the focus is on `selector`; fails if the keyboard cannot get there."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab (focus is on "
                         f"{page.evaluate('document.activeElement.outerHTML.slice(0, 120)')})")


def tab_and_enter(page, selector: str, then: str | None = None) -> None:
    """Tab to `selector`, press Enter, and wait for `then` when given."""
    tab_to(page, selector)
    page.keyboard.press("Enter")
    if then:
        page.wait_for_selector(then)


def test_the_keyboard_alone_signs_in_creates_a_group_and_adds_and_deletes_a_subnet(vl, browser, shots):
    ctx, page = new_page(browser)
    page.goto(portal_url(vl))
    page.wait_for_selector("#signin-form")
    tab_to(page, "#client-id")
    page.keyboard.type(DEV_CLIENT_ID)
    tab_to(page, "#client-secret")
    page.keyboard.type(DEV_CLIENT_SECRET)
    page.keyboard.press("Enter")
    page.wait_for_selector("#vaults")
    # A resource group: menu, + Create, name, Review + create, Create.
    tab_and_enter(page, "#nav a[data-nav='groups']", "#groups")
    tab_and_enter(page, "#create-group", "#group-name")
    tab_to(page, "#group-name")
    page.keyboard.type("kbd-rg")
    tab_and_enter(page, "#next")
    tab_and_enter(page, "#create", "#go-to-resource")
    assert vl.az("group", "show", "-n", "kbd-rg")["name"] == "kbd-rg"
    # A subnet added in the side panel and deleted after the in-page question.
    tab_and_enter(page, "#nav a[data-nav='vnets']", "#vnets")
    tab_and_enter(page, "#vnets tr[data-vnet='vnet-screens'] a", "#subnets")
    tab_and_enter(page, "#add-subnet")
    assert page.evaluate("document.activeElement.id") == "subnet-name"  # the panel took the focus
    page.keyboard.type("kbd")
    page.keyboard.press("Tab")
    page.keyboard.type("10.60.7.0/24")
    tab_and_enter(page, "#subnet-ok", "#subnets tr[data-subnet='kbd']")
    assert vl.az("network", "vnet", "subnet", "show", "--ids", f"{VNET_ID}/subnets/kbd")["addressPrefix"] == "10.60.7.0/24"
    tab_and_enter(page, ".delete-subnet[aria-label='Delete kbd']")
    tab_to(page, "#confirm-delete")
    shots(page, "keyboard-delete-subnet")
    page.keyboard.press("Enter")
    page.wait_for_selector("#subnets tr[data-subnet='kbd']", state="detached")
    assert "kbd" not in [s["name"] for s in vl.az("network", "vnet", "subnet", "list", "-g", RG, "--vnet-name", "vnet-screens")]
    ctx.close()


def test_leaving_a_half_filled_create_form_asks_first(vl, browser, shots):
    ctx, page = signed_in_page(browser, vl, 1400)
    page.click("#nav a[data-nav='vnets']")
    page.click("#create-vnet")
    page.fill("#vnet-name", "half-made")
    page.click("#nav a[data-nav='zones']")
    page.wait_for_selector("#leave-confirm")
    shots(page, "leave-confirm")
    assert page.url.endswith("#/vnets/create") and page.input_value("#vnet-name") == "half-made"
    page.click("#stay-on-page")
    assert page.locator("#leave-confirm").count() == 0 and page.input_value("#vnet-name") == "half-made"
    page.click("#nav a[data-nav='zones']")
    page.click("#leave-page")
    page.wait_for_selector("#zones")
    # A form nothing was typed into is left without a question.
    page.click("#nav a[data-nav='vnets']")
    page.click("#create-vnet")
    page.wait_for_selector("#vnet-name")
    page.click("#nav a[data-nav='zones']")
    page.wait_for_selector("#zones")
    ctx.close()


def test_search_suggests_services_and_resources_as_you_type(vl, browser, shots, axe_source):
    ctx, page = signed_in_page(browser, vl, 1400)
    page.fill("#global-search", "screens")
    page.wait_for_selector("#search-results li[role='option']")
    names = page.locator("#search-results .search-name").all_inner_texts()
    kinds = dict(zip(names, page.locator("#search-results .search-kind").all_inner_texts()))
    assert {"kvscreens1", "vnet-screens", "pe-screens", "vmscreens", "vmscreens-nic", RG} <= set(names), names
    assert (kinds["kvscreens1"], kinds[RG], kinds["vmscreens"]) == ("Key vault", "Resource group", "Virtual machine"), kinds
    assert page.get_attribute("#global-search", "aria-expanded") == "true"
    assert axe_violations(page, axe_source) == []
    shots(page, "search-suggestions")
    # Services by their words; nothing found says so.
    page.fill("#global-search", "virtual net")
    page.wait_for_selector("#search-results .search-name:text-is('Virtual networks')")
    assert page.locator("#search-results .search-name").first.inner_text() == "Virtual networks"
    page.fill("#global-search", "zzz-nothing-here")
    assert page.wait_for_selector("#search-none").inner_text() == "No results"
    page.keyboard.press("Enter")
    assert page.url.endswith("#/vaults"), "Enter on no result goes nowhere"
    # The keyboard: Down chooses, Enter opens, and the box is cleared.
    page.fill("#global-search", "vnet-screens")
    page.wait_for_selector("#search-results .search-name:text-is('vnet-screens')")
    # An exact name comes before the service its words also find.
    assert page.locator("#search-results .search-name").all_inner_texts()[:2] == ["vnet-screens", "Virtual networks"]
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#global-search", "aria-activedescendant") == "search-option-0"
    page.keyboard.press("Enter")
    page.wait_for_selector("#vnet-essentials")
    assert page.input_value("#global-search") == "" and page.is_hidden("#search-results")
    # A click on a suggestion; Escape closes the list.
    page.fill("#global-search", "kvscreens")
    page.click("#search-results li:has-text('kvscreens1')")
    page.wait_for_selector("#vault-essentials")
    page.fill("#global-search", "pe-")
    page.wait_for_selector("#search-results li[role='option']")
    page.keyboard.press("Escape")
    assert page.is_hidden("#search-results")
    ctx.close()


# Last in the module: it stops and restarts the server.
def test_a_stopped_server_shows_a_banner_with_retry_and_a_restart_says_the_session_ended(vl, browser, shots):
    ctx, page = signed_in_page(browser, vl, 1400)
    page.click("#nav a[data-nav='vnets']")
    page.wait_for_selector("#vnets")
    vl.stop()
    page.click("#nav a[data-nav='zones']")
    banner = page.wait_for_selector("#banner:not([hidden])")
    assert "cannot be reached" in banner.inner_text(), banner.inner_text()
    assert page.is_visible("#page-unreachable")
    assert page.is_visible("#nav") and page.is_visible("#signout"), "the menu and the top bar stay"
    shots(page, "server-unreachable")
    page.click("#banner-retry")
    page.wait_for_selector("#banner:not([hidden])")  # still down: still said
    vl.start()
    page.click("#banner-retry")
    # Sessions live in vaultlink's memory: the restart ended this one, and the page says so.
    page.wait_for_selector("#signin-form")
    assert "Your session ended" in page.inner_text("#signin-result")
    assert page.is_hidden("#banner")
    shots(page, "session-ended")
    page.reload()
    page.wait_for_selector("#signin-form")
    assert "Your session ended" in page.inner_text("#signin-result"), "a reload of the tab says it too"
    page.fill("#client-id", DEV_CLIENT_ID)
    page.fill("#client-secret", DEV_CLIENT_SECRET)
    page.click("#signin")
    page.wait_for_selector("#zones")  # signed in again, on the page the tab was showing
    ctx.close()
