"""Azure SDK clients pointed at a running vaultlink, without touching os.environ.

Everything here reads one `vaultlink env` dictionary (HTTPS_PROXY, the CA bundle, the seeded
developer's ids) and passes the proxy and the CA to each client explicitly: azure-core takes
`proxies=` (its ProxyPolicy) and `connection_verify=` (the requests transport) per client, and
azure-identity hands both to the pipeline of its token requests. An explicit `proxies` wins over
the caller's own HTTPS_PROXY / NO_PROXY and an explicit `connection_verify` over
REQUESTS_CA_BUNDLE, so a test process configured for another network still reaches vaultlink.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

ARM_URL = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
RESOURCES_API = "2021-04-01"
KEYVAULT_API = "2023-07-01"
DEFAULT_RESOURCE_GROUP = "vaultlink-testing"
DEFAULT_LOCATION = "westeurope"


class VaultlinkError(RuntimeError):
    """vaultlink did not start, or a request to it failed."""


class Clients:
    """The SDK side shared by the process helper and the container module: subclasses give
    `vaultlink_env`, the variables `vaultlink env` prints (a container's own `.env` is
    Testcontainers' environment of the container, hence the longer name)."""

    @property
    def vaultlink_env(self) -> dict[str, str]:
        raise NotImplementedError

    # -- what the environment says ------------------------------------------------------------
    @property
    def proxy_url(self) -> str:
        return self.vaultlink_env["HTTPS_PROXY"]

    @property
    def ca_bundle(self) -> str:
        """The CA bundle to trust (vaultlink's CA plus the system roots)."""
        return self.vaultlink_env["REQUESTS_CA_BUNDLE"]

    @property
    def tenant_id(self) -> str:
        return self.vaultlink_env["AZURE_TENANT_ID"]

    @property
    def client_id(self) -> str:
        return self.vaultlink_env["AZURE_CLIENT_ID"]

    @property
    def client_secret(self) -> str:
        return self.vaultlink_env["AZURE_CLIENT_SECRET"]

    @property
    def subscription_id(self) -> str:
        return self.vaultlink_env["AZURE_SUBSCRIPTION_ID"]

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any azure-core based client (and azure-identity credential):
        the proxy and the CA bundle."""
        return {"proxies": {"https": self.proxy_url}, "connection_verify": self.ca_bundle}

    # -- clients ------------------------------------------------------------------------------
    def credential(self, **kwargs: Any):
        """A ClientSecretCredential for the seeded developer (Owner and Key Vault Administrator
        of the seeded subscription); its token requests go to login.microsoftonline.com
        through vaultlink's proxy."""
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(self.tenant_id, self.client_id, self.client_secret,
                                      **{**self.client_options(), **kwargs})

    def secret_client(self, vault_name: str, *, create: bool = True, credential: Any = None,
                      resource_group: str = DEFAULT_RESOURCE_GROUP,
                      location: str = DEFAULT_LOCATION, **kwargs: Any):
        """An azure-keyvault-secrets SecretClient for `vault_name`, creating the vault first
        (through Resource Manager, `create=True`) unless it exists."""
        from azure.keyvault.secrets import SecretClient

        if create:
            self.create_vault(vault_name, resource_group=resource_group, location=location)
        return SecretClient(self.vault_url(vault_name), credential or self.credential(),
                            **{**self.client_options(), **kwargs})

    @staticmethod
    def vault_url(vault_name: str) -> str:
        return f"https://{vault_name}.vault.azure.net"

    # -- Resource Manager ---------------------------------------------------------------------
    def arm(self, method: str, path: str, body: Any = None, *, api_version: str,
            ok: tuple[int, ...] = (200, 201, 202, 204)) -> Any:
        """One Resource Manager request as the seeded developer; the parsed JSON answer (or
        None). A status outside `ok` raises VaultlinkError with ARM's error code and message."""
        from azure.core.rest import HttpRequest

        sep = "&" if "?" in path else "?"
        request = HttpRequest(method, f"{ARM_URL}{path}{sep}api-version={api_version}",
                              json=body)
        response = self._arm_pipeline().send_request(request)
        if response.status_code not in ok:
            try:
                error = response.json().get("error", {})
                what = f"{error.get('code')}: {error.get('message')}"
            except ValueError:
                what = response.text()[:300]
            raise VaultlinkError(f"{method} {path}: {response.status_code} {what}")
        return response.json() if response.content else None

    def _arm_pipeline(self):
        pipeline = getattr(self, "_arm_client", None)
        if pipeline is None:
            from azure.core import PipelineClient
            from azure.core.pipeline.policies import (
                BearerTokenCredentialPolicy, ProxyPolicy, RetryPolicy)
            from azure.core.pipeline.transport import RequestsTransport

            options = self.client_options()
            pipeline = PipelineClient(
                ARM_URL,
                policies=[ProxyPolicy(proxies=options["proxies"]), RetryPolicy(),
                          BearerTokenCredentialPolicy(self.credential(), ARM_SCOPE)],
                transport=RequestsTransport(connection_verify=options["connection_verify"]),
            )
            self._arm_client = pipeline
        return pipeline

    def register_provider(self, namespace: str = "Microsoft.KeyVault",
                          timeout: float = 30.0) -> None:
        """Register a resource provider on the seeded subscription and wait until it says
        Registered (a new subscription, in Azure as in vaultlink, has not registered
        Microsoft.KeyVault: a vault PUT is refused with MissingSubscriptionRegistration)."""
        base = f"/subscriptions/{self.subscription_id}/providers/{namespace}"
        self.arm("POST", f"{base}/register", api_version=RESOURCES_API)
        deadline = time.monotonic() + timeout
        while True:
            state = self.arm("GET", base, api_version=RESOURCES_API)["registrationState"]
            if state == "Registered":
                return
            if time.monotonic() > deadline:
                raise VaultlinkError(f"{namespace} still {state} after {timeout:.0f} s")
            time.sleep(0.1)

    def create_resource_group(self, name: str = DEFAULT_RESOURCE_GROUP,
                              location: str = DEFAULT_LOCATION) -> Mapping[str, Any]:
        return self.arm("PUT", f"/subscriptions/{self.subscription_id}/resourcegroups/{name}",
                        {"location": location}, api_version=RESOURCES_API)

    def create_vault(self, name: str, *, resource_group: str = DEFAULT_RESOURCE_GROUP,
                     location: str = DEFAULT_LOCATION, rbac: bool = True,
                     timeout: float = 30.0) -> Mapping[str, Any]:
        """Register Microsoft.KeyVault, create the resource group and the vault (RBAC
        authorization by default: the developer's Key Vault Administrator role on the
        subscription gives it the data plane); returns the vault as ARM shows it."""
        self.register_provider("Microsoft.KeyVault")
        self.create_resource_group(resource_group, location)
        path = (f"/subscriptions/{self.subscription_id}/resourceGroups/{resource_group}"
                f"/providers/Microsoft.KeyVault/vaults/{name}")
        body = {"location": location, "properties": {
            "tenantId": self.tenant_id, "sku": {"family": "A", "name": "standard"},
            "accessPolicies": [], "enableRbacAuthorization": rbac}}
        vault = self.arm("PUT", path, body, api_version=KEYVAULT_API)
        deadline = time.monotonic() + timeout
        while (vault or {}).get("properties", {}).get("provisioningState") != "Succeeded":
            if time.monotonic() > deadline:
                raise VaultlinkError(f"vault {name} not provisioned after {timeout:.0f} s")
            time.sleep(0.1)
            vault = self.arm("GET", path, api_version=KEYVAULT_API)
        return vault
