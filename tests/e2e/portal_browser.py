"""The portal's browser for the e2e tests: headless Chromium (Debian's /usr/bin/chromium driven by
Playwright), numbered screenshots, and signing in. Shared by test_portal.py and the lab tests of
test_private_link.py (import the fixtures `browser` and `shots` into a test module to use them).

A screenshot of every page goes to tests/e2e/.artifacts/portal/<test>/ (git-ignored). A missing
chromium or playwright FAILS the tests that use them: they are the portal's only proof.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import DEV_CLIENT_ID, DEV_CLIENT_SECRET, REPO_ROOT, Vaultlink

CHROMIUM = os.environ.get("VAULTLINK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "tests" / "e2e" / ".artifacts" / "portal"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/prerequisites does it)",
                    pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright Python package is missing from the e2e venv (tests/e2e/requirements.txt)",
                    pytrace=False)
    # Playwright gives every launch a fresh, empty --user-data-dir of its own.
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Shots:
    """Numbered full-page screenshots of one test."""

    def __init__(self, name: str):
        self.dir = ARTIFACTS / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.n = 0
        print(f"\nportal screenshots: {self.dir}")

    def __call__(self, page, what: str) -> None:
        self.n += 1
        page.screenshot(path=str(self.dir / f"{self.n:02d}-{what}.png"), full_page=True)


@pytest.fixture
def shots(request) -> Shots:
    return Shots(re.sub(r"[^\w.-]+", "_", request.node.name).strip("_"))


def portal_url(vl: Vaultlink) -> str:
    return vl.https_url.rstrip("/") + "/portal/"


def new_page(browser, width: int = 1400, height: int = 900, bypass_csp: bool = False):
    ctx = browser.new_context(ignore_https_errors=True, bypass_csp=bypass_csp, viewport={"width": width, "height": height})
    ctx.set_default_timeout(15_000)
    return ctx, ctx.new_page()


def sign_in(browser, vl: Vaultlink, shots: Shots | None = None, **page_options):
    ctx, page = new_page(browser, **page_options)
    page.goto(portal_url(vl))
    page.fill("#client-id", DEV_CLIENT_ID)
    page.fill("#client-secret", DEV_CLIENT_SECRET)
    if shots:
        shots(page, "sign-in")
    page.click("#signin")
    page.wait_for_selector("#vaults")
    return ctx, page


# Below this width the page has its narrow layout (app.css): the menu behind a button.
NARROW_LAYOUT = 760


def fits_the_screen(page) -> None:
    """On a narrow screen nothing scrolls sideways: the page is no wider than the window."""
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if inner < NARROW_LAYOUT:
        assert scroll <= inner, f"{page.url}: the page is {scroll} px wide on a {inner} px screen"


def go_to(page, nav: str) -> None:
    """The left menu's page `nav` (the page being left checked with fits_the_screen), opening the
    menu first where it is collapsed."""
    fits_the_screen(page)
    if page.is_visible("#menu-toggle"):
        page.click("#menu-toggle")
    page.click(f"#nav a[data-nav='{nav}']")


def option_values(page, sel: str) -> list[str]:
    return page.eval_on_selector_all(f"{sel} option", "os => os.map(o => o.textContent)")


def ssh_public_key(tmp_path: Path) -> str:
    """A throwaway key pair in tmp_path (never under $HOME); its public half."""
    import subprocess
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return (tmp_path / "id_ed25519.pub").read_text().strip()


def fill_vm_form(page, *, rg: str, name: str, region: str, vnet: str, subnet: str, ssh_key: str = "",
                 password: str = "", image: str = "ubuntu2204", size: str = "Standard_B2s",
                 public_ip: str = "none", nsg: str = "none", shots=None) -> None:
    """"Virtual machines", "+ Create", Basics and Networking filled in, on the Review + create tab."""
    go_to(page, "vms")
    page.wait_for_selector("#vms")
    page.click("#create-vm")
    page.select_option("#vm-rg", rg)
    page.select_option("#vm-region", region)
    page.select_option("#vm-image", image)
    page.fill("#vm-name", name)
    # The sizes are ARM's answer for the region.
    page.wait_for_selector(f"#vm-size option[value='{size}']", state="attached")
    page.select_option("#vm-size", size)
    page.fill("#vm-user", "azureuser")
    if ssh_key:
        page.check("#vm-auth-ssh")
        page.fill("#vm-ssh-key", ssh_key)
    else:
        page.check("#vm-auth-password")
        page.fill("#vm-password", password)
    if shots:
        shots(page, "vm-basics")
    page.click("#next")
    page.select_option("#vm-vnet", label=vnet)
    page.select_option("#vm-subnet", label=subnet)
    page.select_option("#vm-public-ip", public_ip)
    page.check(f"#vm-nsg-{nsg}")
    if shots:
        shots(page, "vm-networking")
    page.click("#next")
    page.wait_for_selector("#review")


def run_command(page, script: str, timeout_ms: float = 120_000):
    """The VM page's Run command tab: the script run, then the result box (ok or error) once it ends."""
    page.click("#tab-run")
    page.fill("#run-script", script)
    page.click("#run")
    return page.wait_for_selector("#run-result .ok, #run-result .error", timeout=timeout_ms)
