"""A principal with no access cannot flood the log or use up the vault's budget (issue 16,
item 6): its refused requests are logged a few times per window with a count of the rest, and
they do not count against Key Vault's per-vault limits, so the vault's owner is not throttled.
(Azure: requests that fail with 429 do not count toward the limits; whether refused ones do is
not documented: vaultlink counts only what it would serve, docs/behaviour.md.)"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import Vaultlink
from dp_fixtures import Dp, add_principal, provision

RG = "rg-floods"
VAULT = "kv-floods"
CREATE_LIMIT = 300  # Key Vault: secret writes per vault per 10 s (kv/throttle.rs)
BURST = 20  # ratelog::BURST: lines per place per 10 s


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    provision(logged_in, RG, VAULT, "--enable-rbac-authorization", "false")
    return logged_in


def plain_log(vl: Vaultlink) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", vl.log_path.read_text())


def test_refused_requests_neither_flood_the_log_nor_throttle_the_owner(vl: Vaultlink) -> None:
    dp = Dp(vl)
    outsider = add_principal(vl, "flooder")
    bad = dp.token(client_id=outsider["appId"], secret=outsider["secret"])
    owner = dp.token()
    before = plain_log(vl).count("data-plane request refused")
    start = time.monotonic()

    def refused_write(i: int) -> int:
        return dp.kv("PUT", VAULT, f"/secrets/flood{i % 7}", token=bad, json={"value": "x"}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(refused_write, range(CREATE_LIMIT + 50)))
    elapsed = time.monotonic() - start
    assert set(statuses) == {403}, sorted(set(statuses))
    # The owner writes within the same window: none of the refusals counted.
    r = dp.kv("PUT", VAULT, "/secrets/owner-still-writes", token=owner, json={"value": "v"})
    assert r.status_code == 200, (elapsed, r.status_code, r.text)
    refused_lines = plain_log(vl).count("data-plane request refused") - before
    windows = int(elapsed // 10) + 2
    assert 1 <= refused_lines <= BURST * windows, (refused_lines, elapsed)
    # A refusal in a later window writes a line that counts the ones held back before it; the
    # lines written and their counts together account for every refusal.
    time.sleep(10.5)
    assert dp.kv("GET", VAULT, "/secrets/flood0", token=bad).status_code == 403
    lines = [line for line in plain_log(vl).splitlines() if "data-plane request refused" in line][before:]
    suppressed = [int(m.group(1)) for line in lines if (m := re.search(r"suppressed=(\d+)", line))]
    assert len(suppressed) == len(lines), lines[:3]
    assert len(lines) + sum(suppressed) >= CREATE_LIMIT + 50 + 1, (len(lines), suppressed)
    assert len(lines) <= BURST * (windows + 1), len(lines)
