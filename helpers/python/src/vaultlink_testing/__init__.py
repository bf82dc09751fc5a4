"""Start vaultlink from tests: `Vaultlink` / `start()` (the binary as a child process),
the pytest plugin (`vaultlink_testing.plugin`) and a Testcontainers module
(`vaultlink_testing.container`, needs the `container` extra)."""

from ._clients import VaultlinkError
from .process import Vaultlink, find_binary, start
from .seed import (DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_OBJECT_ID, MI_CLIENT_ID, SUBSCRIPTION_ID,
                   TENANT_ID)

__all__ = ["Vaultlink", "VaultlinkError", "find_binary", "start", "TENANT_ID", "SUBSCRIPTION_ID",
           "DEV_CLIENT_ID", "DEV_CLIENT_SECRET", "DEV_OBJECT_ID", "MI_CLIENT_ID"]
