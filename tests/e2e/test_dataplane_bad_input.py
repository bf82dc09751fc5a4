"""Bad input to the secrets data plane: Azure's errors, and nothing written.

Raw HTTPS through the proxy with a bearer token from the token endpoint (client credentials,
scope https://vault.azure.net/.default), so each request is exactly the one under test.
After every refused request the vault's full content (all secrets, all versions with their
attributes, all deleted secrets) is compared with a snapshot taken before it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from conftest import Vaultlink
from dp_fixtures import ARM_SCOPE, CHALLENGE, Dp, error_of, provision

RG = "rg-bad-input"
VAULT = "kv-bad-input"


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    provision(logged_in, RG, VAULT)
    return logged_in


@pytest.fixture(scope="module")
def dp(vl: Vaultlink) -> Dp:
    return Dp(vl)


@pytest.fixture(scope="module")
def tok(dp: Dp) -> str:
    return dp.token()


@pytest.fixture(scope="module")
def seeded(dp: Dp, tok: str) -> dict[str, str]:
    """A secret with one known version, and one soft-deleted secret."""
    r = dp.kv("PUT", VAULT, "/secrets/existing", token=tok, json={"value": "original"})
    assert r.status_code == 200, r.text
    r2 = dp.kv("PUT", VAULT, "/secrets/deleted-one", token=tok, json={"value": "d"})
    assert r2.status_code == 200, r2.text
    r3 = dp.kv("DELETE", VAULT, "/secrets/deleted-one", token=tok)
    assert r3.status_code == 200, r3.text
    return {"id": r.json()["id"]}


class Unchanged:
    def __init__(self, dp: Dp, tok: str):
        self.dp, self.tok = dp, tok

    def __enter__(self) -> "Unchanged":
        self.before = self.dp.snapshot(VAULT, self.tok)
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            after = self.dp.snapshot(VAULT, self.tok)
            assert after == self.before, f"the vault changed:\nbefore={self.before}\nafter={after}"


def assert_error(r, status: int, code: str | None = None, inner: str | None = None
                 ) -> dict[str, Any]:
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    err = error_of(r)
    if code is not None:
        assert err["code"] == code, r.text
    if inner is not None:
        assert (err.get("innererror") or {}).get("code") == inner, r.text
    assert r.headers.get("content-type", "").startswith("application/json"), dict(r.headers)
    assert "x-ms-request-id" in r.headers and "x-ms-keyvault-network-info" in r.headers, (
        dict(r.headers))
    return err


# ---------------------------------------------------------------------------------------------
def test_malformed_json_body(dp: Dp, tok: str, seeded: dict[str, str]) -> None:
    for body in (b'{"value": "x"', b"not json at all", b'["value", "x"]', b'{"value": 42}',
                 b"{}"):
        with Unchanged(dp, tok):
            r = dp.kv("PUT", VAULT, "/secrets/existing", token=tok, data=body,
                      headers={"Content-Type": "application/json"})
            assert_error(r, 400, "BadParameter")
        with Unchanged(dp, tok):
            r = dp.kv("PUT", VAULT, "/secrets/brand-new", token=tok, data=body,
                      headers={"Content-Type": "application/json"})
            assert_error(r, 400, "BadParameter")
    with Unchanged(dp, tok):
        r = dp.kv("PATCH", VAULT, "/secrets/existing", token=tok, data=b'{"attributes":',
                  headers={"Content-Type": "application/json"})
        assert_error(r, 400, "BadParameter")


def test_value_over_25kb(dp: Dp, tok: str, seeded: dict[str, str]) -> None:
    with Unchanged(dp, tok):
        r = dp.kv("PUT", VAULT, "/secrets/existing", token=tok, json={"value": "x" * 30000})
        assert_error(r, 400, "BadParameter")
    with Unchanged(dp, tok):
        r = dp.kv("PUT", VAULT, "/secrets/too-big", token=tok, json={"value": "é" * 13000})
        assert_error(r, 400, "BadParameter")  # 26,000 octets in UTF-8
    # A value well under the limit is fine (this one is written, outside the check).
    r = dp.kv("PUT", VAULT, "/secrets/big-but-ok", token=tok, json={"value": "y" * 20000})
    assert r.status_code == 200, r.text
    assert dp.kv("GET", VAULT, "/secrets/big-but-ok", token=tok).json()["value"] == "y" * 20000


def test_other_limits(dp: Dp, tok: str, seeded: dict[str, str]) -> None:
    cases = [
        {"value": "x", "contentType": "c" * 256},                       # contentType > 255
        {"value": "x", "tags": {f"t{i}": "v" for i in range(16)}},      # > 15 tags
        {"value": "x", "tags": {"k" * 513: "v"}},                       # tag name > 512
        {"value": "x", "tags": {"k": "v" * 513}},                       # tag value > 512
    ]
    for body in cases:
        with Unchanged(dp, tok):
            r = dp.kv("PUT", VAULT, "/secrets/existing", token=tok, json=body)
            assert_error(r, 400, "BadParameter")


@pytest.mark.parametrize("field", ["exp", "nbf"])
def test_times_outside_years_1_to_9999(dp: Dp, tok: str, seeded: dict[str, str], field: str) -> None:
    """`exp`/`nbf` are Unix times Key Vault keeps as dates of years 0001-9999 (docs/behaviour.md):
    one second past either end is refused, the ends themselves are kept."""
    for t in (253402300800, -62135596801, 2**63 - 1):
        with Unchanged(dp, tok):
            r = dp.kv("PUT", VAULT, "/secrets/existing", token=tok,
                      json={"value": "changed", "attributes": {field: t}})
            err = assert_error(r, 400, "BadParameter")
            assert "out of range" in err["message"], err
            r = dp.kv("PATCH", VAULT, seeded["id"].split(".net", 1)[1], token=tok,
                      json={"attributes": {field: t}})
            assert_error(r, 400, "BadParameter")
    for t in (253402300799, 0):
        r = dp.kv("PUT", VAULT, f"/secrets/time-{field}-{t}", token=tok,
                  json={"value": "x", "attributes": {field: t}})
        assert r.status_code == 200, r.text
        assert r.json()["attributes"][field] == t, r.text


def test_long_api_version_is_shown_cut(dp: Dp, tok: str, seeded: dict[str, str]) -> None:
    with Unchanged(dp, tok):
        r = dp.kv("GET", VAULT, "/secrets/existing", token=tok, api_version="7." + "9" * 5000)
        err = assert_error(r, 400, "BadParameter")
        assert len(err["message"]) < 300 and "..." in err["message"], err


@pytest.mark.parametrize("name", ["bad_name", "has.dot", "sp%20ace", "x" * 128])
def test_invalid_secret_name(dp: Dp, tok: str, seeded: dict[str, str], name: str) -> None:
    with Unchanged(dp, tok):
        r = dp.kv("PUT", VAULT, f"/secrets/{name}", token=tok, json={"value": "x"})
        assert_error(r, 400, "BadParameter")


def test_unknown_version(dp: Dp, tok: str, seeded: dict[str, str]) -> None:
    with Unchanged(dp, tok):
        r = dp.kv("GET", VAULT, "/secrets/existing/" + "0" * 32, token=tok)
        err = assert_error(r, 404, "SecretNotFound")
        assert "existing" in err["message"], err
        r = dp.kv("PATCH", VAULT, "/secrets/existing/" + "f" * 32, token=tok,
                  json={"attributes": {"enabled": False}})
        assert_error(r, 404, "SecretNotFound")
        r = dp.kv("GET", VAULT, "/secrets/no-such-secret/versions", token=tok)
        assert r.status_code in (200, 404), r.text
        if r.status_code == 200:
            assert r.json()["value"] == [], r.text


def test_api_version_missing_or_unknown(dp: Dp, tok: str, seeded: dict[str, str]) -> None:
    # A dated version newer than any published is served as the newest (test_conformance.py);
    # an unpublished one inside the published range is refused.
    for api in (None, "9.9", "", "2025-01-01", "7.7"):
        params = {} if api is None else {"api-version": api}
        with Unchanged(dp, tok):
            r = dp.kv("GET", VAULT, "/secrets/existing", token=tok, params=params,
                      api_version=None)
            assert_error(r, 400)
            r = dp.kv("PUT", VAULT, "/secrets/existing", token=tok, params=params,
                      api_version=None, json={"value": "changed"})
            assert_error(r, 400)
    # Every version from 7.4 to 2026-04-01 is accepted.
    for api in ("7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"):
        r = dp.kv("GET", VAULT, "/secrets/existing", token=tok, api_version=api)
        assert r.status_code == 200, (api, r.status_code, r.text)
        assert r.json()["value"] == "original", r.text


def test_maxresults_out_of_range(dp: Dp, tok: str, seeded: dict[str, str]) -> None:
    for path in ("/secrets", "/secrets/existing/versions", "/deletedsecrets"):
        for bad in ("26", "0", "-1", "abc"):
            r = dp.kv("GET", VAULT, path, token=tok, params={"maxresults": bad})
            assert_error(r, 400, "BadParameter")
        r = dp.kv("GET", VAULT, path, token=tok, params={"maxresults": "25"})
        assert r.status_code == 200, (path, r.text)
        r = dp.kv("GET", VAULT, path, token=tok, params={"maxresults": "1"})
        assert r.status_code == 200 and len(r.json()["value"]) <= 1, (path, r.text)


def test_no_token_gets_the_challenge(dp: Dp, tok: str, seeded: dict[str, str]) -> None:
    with Unchanged(dp, tok):
        for method, path, kwargs in (
            ("GET", "/secrets/existing", {}),
            ("GET", "/secrets", {}),
            # The SDKs' bodyless first request: answered with the challenge, never processed.
            ("PUT", "/secrets/challenge-probe", {"data": b""}),
            ("PUT", "/secrets/existing", {"json": {"value": "should-not-land"}}),
            ("DELETE", "/secrets/existing", {}),
        ):
            r = dp.kv(method, VAULT, path, **kwargs)
            err = assert_error(r, 401, "Unauthorized")
            assert r.headers.get("WWW-Authenticate") == CHALLENGE, dict(r.headers)
            assert err["message"] == "AKV10000: Request is missing a Bearer or PoP token.", err


def test_bad_tokens_are_refused(dp: Dp, tok: str, seeded: dict[str, str]) -> None:
    arm_token = dp.token(scope=ARM_SCOPE)
    header, payload, sig = tok.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["oid"] = "00000000-0000-0000-0000-000000000000"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    flipped_sig = sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")
    with Unchanged(dp, tok):
        for bad in (arm_token,                                  # audience management, not vault
                    f"{header}.{forged_payload}.{sig}",         # payload altered
                    f"{header}.{payload}.{flipped_sig}",        # signature altered
                    "not-a-jwt"):
            for method, kwargs in (("GET", {}), ("PUT", {"json": {"value": "nope"}})):
                r = dp.kv(method, VAULT, "/secrets/existing", token=bad, **kwargs)
                err = assert_error(r, 401, "Unauthorized")
                assert r.headers.get("WWW-Authenticate") == CHALLENGE, dict(r.headers)
                assert "value" not in r.text or "nope" not in r.text
                assert err["message"], err


def test_good_request_still_works(dp: Dp, tok: str, seeded: dict[str, str]) -> None:
    r = dp.kv("GET", VAULT, "/secrets/existing", token=tok)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["value"] == "original" and body["id"] == seeded["id"], body
