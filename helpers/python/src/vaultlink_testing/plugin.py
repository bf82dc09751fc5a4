"""pytest plugin (entry point `pytest11`: loaded when the package is installed, or with
`-p vaultlink_testing.plugin`).

Fixtures
  vaultlink                  session scope: one started `Vaultlink` for the whole run (binary
                             from --vaultlink-bin, $VAULTLINK_BIN or `vaultlink` on PATH), stopped
                             and its temp dir removed at the end, also after failures
  vaultlink_credential       the seeded developer's ClientSecretCredential (through the proxy)
  vaultlink_secret_client    a factory: vaultlink_secret_client("kv-name") creates the vault
                             (once per name) and returns a SecretClient for it
  vaultlink_env              function scope: os.environ set as `eval "$(vaultlink env)"` would,
                             put back after the test
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from .process import Vaultlink


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vaultlink")
    group.addoption("--vaultlink-bin", default=None,
                    help="the vaultlink binary (default: $VAULTLINK_BIN, then PATH)")


@pytest.fixture(scope="session")
def vaultlink(pytestconfig: pytest.Config) -> Iterator[Vaultlink]:
    with Vaultlink(binary=pytestconfig.getoption("--vaultlink-bin")) as vl:
        yield vl


@pytest.fixture(scope="session")
def vaultlink_credential(vaultlink: Vaultlink) -> Any:
    return vaultlink.credential()


@pytest.fixture(scope="session")
def vaultlink_secret_client(vaultlink: Vaultlink, vaultlink_credential: Any
                            ) -> Callable[..., Any]:
    created: set[str] = set()

    def make(vault_name: str, **kwargs: Any) -> Any:
        client = vaultlink.secret_client(vault_name, create=vault_name not in created,
                                         credential=vaultlink_credential, **kwargs)
        created.add(vault_name)
        return client

    return make


@pytest.fixture
def vaultlink_env(vaultlink: Vaultlink) -> Iterator[dict[str, str]]:
    env = vaultlink.apply_env()
    try:
        yield env
    finally:
        vaultlink.restore_env()
