"""Resource Manager lists are paged (issue 16, item 3): at most 100 items a page (vaultlink's
choice, docs/behaviour.md), `$top` within that, and a `nextLink` back to the same list with a
`$skiptoken`, which real clients follow. A module of its own: its 130 resource groups would
page the lists other modules read raw.

Raw HTTPS through the proxy with an ARM token for the page shapes, then the real `az`, whose
SDK pager follows `nextLink`, for the whole list.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from conftest import SUBSCRIPTION_ID, Vaultlink
from dp_fixtures import ARM_SCOPE, Dp

ARM = "https://management.azure.com"
API = "2024-11-01"
GROUPS = [f"rg-page-{i:03}" for i in range(130)]
LIST = f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups"


@pytest.fixture(scope="module")
def arm(logged_in: Vaultlink) -> tuple[Dp, dict[str, str]]:
    dp = Dp(logged_in)
    headers = {"Authorization": f"Bearer {dp.token(ARM_SCOPE)}"}
    for name in GROUPS:
        r = dp.session.put(f"{ARM}{LIST}/{name}", params={"api-version": API}, headers=headers,
                           json={"location": "westeurope"}, timeout=30)
        assert r.status_code == 201, r.text
    return dp, headers


def pages(dp: Dp, headers: dict[str, str], first: str) -> list[dict[str, Any]]:
    """Every page from `first`, following `nextLink` until there is none."""
    out, url = [], first
    while url:
        r = dp.session.get(url, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        out.append(r.json())
        url = r.json().get("nextLink")
        assert len(out) < 100, "nextLink never ended"
    return out


def names(pages_: list[dict[str, Any]]) -> list[str]:
    return [g["name"] for p in pages_ for g in p["value"]]


def test_pages_of_100_with_next_links(arm: tuple[Dp, dict[str, str]]) -> None:
    dp, headers = arm
    got = pages(dp, headers, f"{ARM}{LIST}?api-version={API}")
    assert [len(p["value"]) for p in got[:-1]] == [100] * (len(got) - 1), [len(p["value"]) for p in got]
    assert "nextLink" not in got[-1]
    link = urllib.parse.urlsplit(got[0]["nextLink"])
    assert (link.scheme, link.netloc, link.path) == ("https", "management.azure.com", LIST), link
    query = urllib.parse.parse_qs(link.query)
    assert query["api-version"] == [API] and query["$skiptoken"] == ["100"], query
    listed = names(got)
    assert len(listed) == len(set(listed)), "an item on two pages"
    assert set(GROUPS) <= set(listed), sorted(set(GROUPS) - set(listed))


def test_top_sets_the_page_size(arm: tuple[Dp, dict[str, str]]) -> None:
    dp, headers = arm
    whole = names(pages(dp, headers, f"{ARM}{LIST}?api-version={API}"))
    got = pages(dp, headers, f"{ARM}{LIST}?api-version={API}&$top=7")
    assert all(len(p["value"]) == 7 for p in got[:-1]) and 1 <= len(got[-1]["value"]) <= 7
    assert names(got) == whole
    # `$top` above the page size is the page size.
    big = pages(dp, headers, f"{ARM}{LIST}?api-version={API}&$top=5000")
    assert len(big[0]["value"]) == 100 and names(big) == whole


def test_invalid_skiptoken(arm: tuple[Dp, dict[str, str]]) -> None:
    dp, headers = arm
    r = dp.session.get(f"{ARM}{LIST}", params={"api-version": API, "$skiptoken": "x"},
                       headers=headers, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "InvalidSkipToken", r.text


def test_az_follows_the_next_links(logged_in: Vaultlink, arm: tuple[Dp, dict[str, str]]) -> None:
    listed = [g["name"] for g in logged_in.az("group", "list")]
    assert len(listed) == len(set(listed))
    assert set(GROUPS) <= set(listed), sorted(set(GROUPS) - set(listed))
