"""The helper's own tests run against the real vaultlink binary ($VAULTLINK_BIN or PATH); a
missing binary fails them (they never skip)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from vaultlink_testing import VaultlinkError, find_binary

HELPER_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def binary() -> Path:
    try:
        return find_binary()
    except VaultlinkError as e:
        pytest.fail(str(e), pytrace=False)


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
