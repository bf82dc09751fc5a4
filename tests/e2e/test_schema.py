"""A schema check against Azure's own specs (issue 15): every answer vaultlink gives for an
operation of the Key Vault (data plane and Resource Manager), Network, Private DNS and
Authorization specs in tests/e2e/openapi/ is validated against that operation's response schema
(the status code's, or `default` for errors) by openapi_check.py.

The requests: raw HTTPS through vaultlink's proxy (the local CA, bearer tokens from the token
endpoint for the seeded developer), so each answer is exactly what a client reads. `World` sends
a bounded, fixed scenario that walks every operation vaultlink serves from those specs: vaults
(create, read, update, lists, access policies, name availability, private link resources,
private endpoint connections, deleted vaults, purge), virtual networks, subnets, peerings, NICs,
private endpoints and their DNS zone groups, private DNS zones, record sets and links, role
assignments and definitions, and the data plane (secrets, keys with every crypto operation and
the rotation policy, certificates with policy, issuers, contacts, the pending operation and
merge, deleted objects, backup and restore), plus denied and unauthenticated requests.

Generated requests: the first time an operation answers 2xx, `World` derives requests from the
spec's description of it and sends them at once (while the resource still exists):
- an operation with a body: the body we sent with one property the schema types (a required one
  first) given a value of another JSON type, and, if the schema requires properties, a body
  without them; both must be refused (4xx);
- without a body: the last path parameter named something that does not exist (a GET, POST or
  PATCH must answer 4xx; a DELETE any status the spec lists);
- with neither a body nor a name (the vault-wide data-plane lists): an api-version older than any
  published one (4xx).
Every answer, generated or not, is validated like the others. Mismatches fail
`test_every_answer_matches_azure_specs`, except those listed, with their reason, in
schema_exceptions.py; an entry nothing uses fails `test_every_exception_is_used`.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from conftest import DEV_OBJECT_ID, SUBSCRIPTION_ID, TENANT_ID, Vaultlink
from dp_fixtures import ARM_SCOPE, VAULT_SCOPE, Dp, add_principal, vault_url
from openapi_check import Error, Operation, Specs
from schema_exceptions import EXCEPTIONS, pointer_matches

ARM = "https://management.azure.com"
API_RESOURCES = "2024-11-01"  # resource groups and providers: outside the specs checked here
REGION = "westeurope"
SUB = SUBSCRIPTION_ID
RG = "rg-schema"
RG_PATH = f"/subscriptions/{SUB}/resourceGroups/{RG}"
KV = f"{RG_PATH}/providers/Microsoft.KeyVault"
NET = f"{RG_PATH}/providers/Microsoft.Network"
VAULT = "kv-schema"            # access policies: the developer may do everything on the data plane
RBAC_VAULT = "kv-schema-rbac"  # RBAC: the data plane's 403 for a principal with no data role
TMP_VAULT = "kv-schema-tmp"    # deleted and purged
VNET, VNET2 = "vnet-schema", "vnet-schema-peer"
ZONE = "privatelink.vaultcore.azure.net"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
MISSING = "schemamissing"
# The requests the real az sends for the seed's commands, as recorded (shared/reference/
# az-cli-requests.json, copied here): replayed in a resource group of their own.
RECORDED = Path(__file__).resolve().parent / "recordings" / "az-cli-requests.json"
REC_RG, REC_VAULT = "rg-schema-recorded", "kv-schema-recorded"
OLD_API = "1999-01-01"

# Operations answered 2xx at least once (each of them validated). Raise it when a route is added;
# a drop means a route went away or the scenario no longer reaches it.
COVERAGE_FLOOR = 144

NO = object()


@dataclasses.dataclass
class Exchange:
    label: str
    method: str
    host: str
    path: str
    status: int
    operation: str | None  # the spec operation, None when outside the specs
    response: str | None   # which of the operation's responses applied ("200", "default", ...)
    errors: list[Error]
    generated: bool


@dataclasses.dataclass
class Finding:
    operation: str
    pointer: str
    message: str
    where: str

    def __str__(self) -> str:
        return f"{self.operation} {self.pointer or '<root>'}: {self.message}  [{self.where}]"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_int(n: int) -> str:
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def wrong_value(json_type: str | None) -> Any:
    """A value of another JSON type than `json_type` (none that a lenient parser could coerce)."""
    return {"wrong": "type"} if json_type in ("string", "integer", "number", "boolean") else (
        "wrong-type")


class World:
    """Sends every request, validates every answer, derives the generated requests."""

    def __init__(self, vl: Vaultlink, specs: Specs):
        self.vl = vl
        self.specs = specs
        self.dp = Dp(vl)
        self.session = self.dp.session
        self.arm_token = self.dp.token(ARM_SCOPE)
        self.kv_token = self.dp.token(VAULT_SCOPE)
        self.exchanges: list[Exchange] = []
        self.findings: list[Finding] = []
        self.used: set[int] = set()
        self.probed: set[str] = set()
        self.recorded = 0

    # -- sending ----------------------------------------------------------------------------
    def arm(self, method: str, path: str, body: Any = NO, **kw: Any) -> requests.Response:
        kw.setdefault("token", self.arm_token)
        return self._send("arm", ARM, method, path, body, **kw)

    def kv(self, method: str, vault: str, path: str, body: Any = NO, **kw: Any) -> requests.Response:
        kw.setdefault("token", self.kv_token)
        return self._send("dataplane", vault_url(vault), method, path, body, **kw)

    def ok(self, r: requests.Response, *codes: int) -> Any:
        __tracebackhide__ = True
        want = codes or (200, 201)
        assert r.status_code in want, (
            f"{r.request.method} {r.request.url}: {r.status_code} (wanted {want}) {r.text[:1500]}")
        return r.json() if r.content else None

    def _send(self, host: str, base: str, method: str, path: str, body: Any, *,
              token: str | None, api: str | None | object = NO, params: dict[str, str] | None = None,
              probe: bool = True, generated: bool = False, label: str = "") -> requests.Response:
        op = self.specs.match(method, path, host)
        q = dict(params or {})
        if api is NO:
            api = op.api_version if op else API_RESOURCES
        if api is not None:
            q["api-version"] = api  # type: ignore[assignment]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not NO:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        r = self.session.request(method, base + path, params=q, data=data, headers=headers,
                                 timeout=60)
        self._record(host, method, path, r, op, generated, label)
        if (probe and op is not None and 200 <= r.status_code < 300
                and op.operation_id not in self.probed):
            self.probed.add(op.operation_id)
            self._derive(op, host, base, method, path, body, token, q)
        return r

    def _record(self, host: str, method: str, path: str, r: requests.Response,
                op: Operation | None, generated: bool, label: str) -> None:
        where = f"{'generated ' if generated else ''}{method} {host}:{path} -> {r.status_code}"
        if label:
            where += f" ({label})"
        if op is None:
            self.exchanges.append(Exchange(label, method, host, path, r.status_code, None, None,
                                           [], generated))
            return
        which, _ = op.response_for(r.status_code)
        if not r.content:
            errors = op.validate(r.status_code, None, empty=True)
        else:
            try:
                body = r.json()
            except ValueError:
                body = NO
            errors = ([("", "the body is not JSON")] if body is NO
                      else op.validate(r.status_code, body))
        self.exchanges.append(Exchange(label, method, host, path, r.status_code, op.operation_id,
                                       which, errors, generated))
        for ptr, msg in errors:
            self._finding(op.operation_id, ptr, msg, where)

    def _finding(self, operation: str, ptr: str, msg: str, where: str) -> None:
        msg = msg if len(msg) <= 300 else msg[:297] + "..."
        for i, e in enumerate(EXCEPTIONS):
            if e.matches(operation, ptr, msg):
                self.used.add(i)
                return
        self.findings.append(Finding(operation, ptr, msg, where))

    # -- generated requests -----------------------------------------------------------------
    def _derive(self, op: Operation, host: str, base: str, method: str, path: str, body: Any,
                token: str | None, q: dict[str, str]) -> None:
        params = {k: v for k, v in q.items() if k != "api-version"}
        api = q.get("api-version")

        def send(p: str, b: Any, what: str, *, api_: str | None = api, expect_4xx: bool = True) -> None:
            r = self._send(host, base, method, p, b, token=token, api=api_, params=params,
                           probe=False, generated=True, label=what)
            if expect_4xx and not 400 <= r.status_code < 500:
                self._finding(op.operation_id, "status",
                              f"generated request ({what}) answered {r.status_code}, not 4xx",
                              f"generated {method} {host}:{p}")

        schema = op.body_schema()
        if body is not NO and isinstance(body, dict) and schema is not None:
            props, required = self.specs.object_view(schema)
            typed = [k for k in body if self.specs.type_of(props.get(k)) is not None]
            key = next((k for k in required if k in body and k in typed), None) or (
                typed[0] if typed else next(iter(body), None))
            if key is not None:
                bad = dict(body)
                bad[key] = wrong_value(self.specs.type_of(props.get(key)))
                send(path, bad, f"wrong type for {key!r}")
            present = [k for k in required if k in body]
            if present:
                send(path, {k: v for k, v in body.items() if k not in required},
                     f"without required {present}")
            return
        m = op.regex.match(path) or op.regex.match(path.rstrip("/") + "/")
        assert m is not None, (op.operation_id, path)
        # A parameter that may span segments (x-ms-skip-url-encoding) is renamed only where
        # it held one segment (`{roleAssignmentName}`, not `{scope}`).
        spans = [(i, name) for i, (name, multi) in enumerate(op.path_params)
                 if m.group(f"p{i}") and not (multi and "/" in m.group(f"p{i}"))]
        if spans:
            i, name = spans[-1]
            missing = (str(uuid.uuid4()) if any(
                w in name.lower() for w in ("subscriptionid", "roleassignment", "roledefinition"))
                else MISSING)
            s, e = m.span(f"p{i}")
            target = m.string[:s] + missing + m.string[e:]
            # A DELETE of nothing may succeed (ARM: 204); the versions of a name that does not
            # exist are an empty list on the data plane (Azure's answer, issue 15 item 3).
            send(target, body, f"{name} that does not exist",
                 expect_4xx=method != "DELETE" and not (op.pageable and host == "dataplane"))
            return
        send(path, body, f"api-version {OLD_API}", api_=OLD_API)

    # -- reading ----------------------------------------------------------------------------
    def served(self) -> set[str]:
        return {x.operation for x in self.exchanges
                if x.operation and not x.generated and 200 <= x.status < 300}


# ---------------------------------------------------------------------------------------------
def access_policy(object_id: str) -> dict[str, Any]:
    return {
        "tenantId": TENANT_ID, "objectId": object_id,
        "permissions": {
            "keys": ["get", "list", "update", "create", "import", "delete", "recover", "backup",
                     "restore", "decrypt", "encrypt", "unwrapKey", "wrapKey", "verify", "sign",
                     "purge", "rotate", "getrotationpolicy", "setrotationpolicy"],
            "secrets": ["get", "list", "set", "delete", "recover", "backup", "restore", "purge"],
            "certificates": ["get", "list", "update", "create", "import", "delete", "recover",
                             "backup", "restore", "managecontacts", "manageissuers", "getissuers",
                             "listissuers", "setissuers", "deleteissuers", "purge"],
        },
    }


def vault_body(rbac: bool, policies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"location": REGION, "tags": {"purpose": "schema"}, "properties": {
        "tenantId": TENANT_ID, "sku": {"family": "A", "name": "standard"},
        "accessPolicies": policies or [], "enableRbacAuthorization": rbac}}


def wait_for(what: str, probe, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def run_resource_manager(w: World, stranger: dict[str, str]) -> None:
    ok = w.ok
    for ns in ("Microsoft.KeyVault", "Microsoft.Network"):
        ok(w.arm("POST", f"/subscriptions/{SUB}/providers/{ns}/register"))
        wait_for(f"{ns} registered", lambda ns=ns: ok(w.arm(
            "GET", f"/subscriptions/{SUB}/providers/{ns}"))["registrationState"] == "Registered")
    ok(w.arm("PUT", RG_PATH, {"location": REGION}))

    # -- vaults
    vault = f"{KV}/vaults/{VAULT}"
    ok(w.arm("PUT", vault, vault_body(False, [access_policy(DEV_OBJECT_ID)])))
    ok(w.arm("PUT", f"{KV}/vaults/{RBAC_VAULT}", vault_body(True)))
    ok(w.arm("PUT", f"{KV}/vaults/{TMP_VAULT}", vault_body(True)))
    ok(w.arm("GET", vault))
    ok(w.arm("PATCH", vault, {"tags": {"purpose": "schema", "patched": "yes"}}))
    ok(w.arm("GET", f"{KV}/vaults"))
    ok(w.arm("GET", f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults"))
    ok(w.arm("GET", f"/subscriptions/{SUB}/resources",
             params={"$filter": "resourceType eq 'Microsoft.KeyVault/vaults'"}))
    check = f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/checkNameAvailability"
    ok(w.arm("POST", check, {"name": VAULT, "type": "Microsoft.KeyVault/vaults"}))
    ok(w.arm("POST", check, {"name": "kv-schema-free-name", "type": "Microsoft.KeyVault/vaults"}))
    other = str(uuid.uuid4())
    ok(w.arm("PUT", f"{vault}/accessPolicies/add", {"properties": {"accessPolicies": [
        {"tenantId": TENANT_ID, "objectId": other, "permissions": {"secrets": ["get"]}}]}}))
    ok(w.arm("PUT", f"{vault}/accessPolicies/remove", {"properties": {"accessPolicies": [
        {"tenantId": TENANT_ID, "objectId": other, "permissions": {"secrets": ["get"]}}]}}))
    ok(w.arm("GET", f"{vault}/privateLinkResources"))
    # Secrets through Resource Manager (Secrets_*): metadata only, never the value.
    secret = f"{vault}/secrets/arm-schema"
    ok(w.arm("PUT", secret, {"tags": {"via": "arm"}, "properties": {
        "value": "schema-value", "contentType": "text/plain", "attributes": {"enabled": True}}}), 201)
    ok(w.arm("GET", secret))
    ok(w.arm("PATCH", secret, {"properties": {"contentType": "application/json"}}))
    ok(w.arm("GET", f"{vault}/secrets"))
    # Keys through Resource Manager (Keys_*): metadata and URIs, never key material.
    arm_key = f"{vault}/keys/arm-schema"
    made = ok(w.arm("PUT", arm_key, {"tags": {"via": "arm"}, "properties": {
        "kty": "RSA", "keySize": 2048, "keyOps": ["sign", "verify"], "attributes": {"enabled": True}}}))
    ok(w.arm("PUT", arm_key, {"properties": {"kty": "EC"}}))
    ok(w.arm("GET", arm_key))
    ok(w.arm("GET", f"{vault}/keys"))
    ok(w.arm("GET", f"{arm_key}/versions"))
    ok(w.arm("GET", f"{arm_key}/versions/{made['properties']['keyUriWithVersion'].rsplit('/', 1)[1]}"))
    ok(w.arm("GET", f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/managedHSMs"))
    ok(w.arm("GET", f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/deletedManagedHSMs"))
    ok(w.arm("GET", f"{KV}/managedHSMs"))
    # Denied: a principal with no role at all.
    denied = w.dp.token(ARM_SCOPE, client_id=stranger["appId"], secret=stranger["secret"])
    ok(w.arm("PUT", f"{KV}/vaults/kv-schema-denied", vault_body(True), token=denied,
             label="no role"), 403)
    ok(w.arm("GET", vault, token=denied, label="no role"), 403)

    # -- networks
    vnet = f"{NET}/virtualNetworks/{VNET}"
    ok(w.arm("PUT", vnet, {"location": REGION, "properties": {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "subnets": [{"name": "default", "properties": {"addressPrefix": "10.0.0.0/24"}},
                    {"name": "snet-nic", "properties": {"addressPrefix": "10.0.1.0/24"}}]}}))
    vnet2 = f"{NET}/virtualNetworks/{VNET2}"
    ok(w.arm("PUT", vnet2, {"location": REGION, "tags": {"k": "v"}, "properties": {
        "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}}}))
    ok(w.arm("GET", vnet))
    ok(w.arm("GET", f"{NET}/virtualNetworks"))
    ok(w.arm("GET", f"/subscriptions/{SUB}/providers/Microsoft.Network/virtualNetworks"))
    extra = f"{vnet}/subnets/snet-extra"
    ok(w.arm("PUT", extra, {"properties": {"addressPrefix": "10.0.2.0/24"}}))
    ok(w.arm("GET", extra))
    ok(w.arm("GET", f"{vnet}/subnets"))
    ok(w.arm("DELETE", extra), 200, 202, 204)
    peering = f"{vnet}/virtualNetworkPeerings/to-peer"
    ok(w.arm("PUT", peering, {"properties": {"remoteVirtualNetwork": {"id": vnet2},
                                             "allowVirtualNetworkAccess": True}}))
    ok(w.arm("GET", peering))
    ok(w.arm("GET", f"{vnet}/virtualNetworkPeerings"))
    ok(w.arm("DELETE", peering), 200, 202, 204)
    nic = f"{NET}/networkInterfaces/nic-schema"
    ok(w.arm("PUT", nic, {"location": REGION, "properties": {"ipConfigurations": [
        {"name": "ipconfig1", "properties": {"subnet": {"id": f"{vnet}/subnets/snet-nic"}}}]}}))
    ok(w.arm("GET", nic))
    ok(w.arm("GET", f"{NET}/networkInterfaces"))
    ok(w.arm("GET", f"/subscriptions/{SUB}/providers/Microsoft.Network/networkInterfaces"))

    # -- private DNS
    zone = f"{NET}/privateDnsZones/{ZONE}"
    ok(w.arm("PUT", zone, {"location": "global"}))
    ok(w.arm("GET", zone))
    ok(w.arm("PATCH", zone, {"tags": {"zone": "patched"}}))
    ok(w.arm("GET", f"{NET}/privateDnsZones"))
    ok(w.arm("GET", f"/subscriptions/{SUB}/providers/Microsoft.Network/privateDnsZones"))
    link = f"{zone}/virtualNetworkLinks/link-schema"
    ok(w.arm("PUT", link, {"location": "global", "properties": {
        "virtualNetwork": {"id": vnet}, "registrationEnabled": False}}))
    ok(w.arm("GET", link))
    ok(w.arm("PATCH", link, {"tags": {"link": "patched"}}))
    ok(w.arm("GET", f"{zone}/virtualNetworkLinks"))
    rec = f"{zone}/A/rec-schema"
    ok(w.arm("PUT", rec, {"properties": {"ttl": 3600, "aRecords": [{"ipv4Address": "10.0.0.99"}]}}))
    ok(w.arm("GET", rec))
    ok(w.arm("PATCH", rec, {"properties": {"metadata": {"m": "1"}}}))
    ok(w.arm("GET", f"{zone}/ALL"))
    ok(w.arm("GET", f"{zone}/A"))
    ok(w.arm("GET", f"{zone}/SOA/@"))

    # -- private endpoint to the vault (manual: the vault owner approves the connection)
    pe = f"{NET}/privateEndpoints/pe-schema"
    ok(w.arm("PUT", pe, {"location": REGION, "properties": {
        "subnet": {"id": f"{vnet}/subnets/default"},
        "manualPrivateLinkServiceConnections": [{"name": "conn", "properties": {
            "privateLinkServiceId": vault, "groupIds": ["vault"], "requestMessage": "please"}}]}}))
    ok(w.arm("GET", pe))
    ok(w.arm("GET", f"{NET}/privateEndpoints"))
    ok(w.arm("GET", f"/subscriptions/{SUB}/providers/Microsoft.Network/privateEndpoints"))
    conns = ok(w.arm("GET", f"{vault}/privateEndpointConnections"))["value"]
    assert len(conns) == 1, conns
    pec = f"{vault}/privateEndpointConnections/{conns[0]['name']}"
    ok(w.arm("GET", pec))
    ok(w.arm("PUT", pec, {"properties": {"privateLinkServiceConnectionState": {
        "status": "Approved", "description": "approved by test_schema"}}}))
    group = f"{pe}/privateDnsZoneGroups/default"
    ok(w.arm("PUT", group, {"properties": {"privateDnsZoneConfigs": [
        {"name": "vault", "properties": {"privateDnsZoneId": zone}}]}}))
    ok(w.arm("GET", group))
    ok(w.arm("GET", f"{pe}/privateDnsZoneGroups"))

    # -- authorization
    auth = f"/subscriptions/{SUB}/providers/Microsoft.Authorization"
    ok(w.arm("GET", f"{auth}/roleDefinitions"))
    ok(w.arm("GET", f"{auth}/roleDefinitions", params={"$filter": "roleName eq 'Reader'"}))
    ok(w.arm("GET", f"{auth}/roleDefinitions/{READER}"))
    custom = f"{auth}/roleDefinitions/{uuid.uuid4()}"
    ok(w.arm("PUT", custom, {"properties": {
        "roleName": "schema custom reader", "description": "made by test_schema",
        "type": "CustomRole", "assignableScopes": [f"/subscriptions/{SUB}"],
        "permissions": [{"actions": ["Microsoft.KeyVault/vaults/read"], "notActions": [],
                         "dataActions": [], "notDataActions": []}]}}))
    ok(w.arm("GET", custom))
    assignment = f"{RG_PATH}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    ok(w.arm("PUT", assignment, {"properties": {
        "roleDefinitionId": f"{auth}/roleDefinitions/{READER}",
        "principalId": stranger["objectId"], "principalType": "ServicePrincipal"}}))
    ok(w.arm("GET", assignment))
    ok(w.arm("GET", f"{auth}/roleAssignments"))
    ok(w.arm("GET", f"{auth}/roleAssignments", params={"$filter": "atScope()"}))
    ok(w.arm("GET", f"{RG_PATH}/providers/Microsoft.Authorization/roleAssignments"))
    ok(w.arm("GET", f"{vault}/providers/Microsoft.Authorization/roleAssignments"))
    ok(w.arm("GET", f"{vnet}/subnets/default/providers/Microsoft.Authorization/roleAssignments"))
    ok(w.arm("DELETE", assignment), 200, 204)
    ok(w.arm("DELETE", custom), 200, 204)


# Path parameters of the spec operations vaultlink does not serve, filled with what the scenario
# made (so a route that exists is reached past its parents' checks).
SWEEP_VALUES = {
    "subscriptionId": SUB, "resourceGroupName": RG, "vaultName": VAULT, "location": REGION,
    "virtualNetworkName": VNET, "subnetName": "default", "networkInterfaceName": "nic-schema",
    "privateEndpointName": "pe-schema", "privateZoneName": ZONE, "key-name": "key-ec",
    "resourceProviderNamespace": "Microsoft.KeyVault", "resourceType": "vaults",
    "resourceName": VAULT, "parentResourcePath": "", "scope": RG_PATH,
}


def run_unserved(w: World) -> None:
    """Last, one request to every spec operation no earlier request reached (those vaultlink does
    not serve: Managed HSMs, ARM keys, NIC IP configurations, ...), with a JSON object
    as body where the operation takes one. Whatever vaultlink answers is validated (its refusals
    against `default`)."""
    reached = {x.operation for x in w.exchanges if x.operation}
    for op in w.specs.operations:
        if op.operation_id in reached or op.catch_all:
            continue
        path = op.template
        for name, _ in op.path_params:
            path = path.replace("{" + name + "}", SWEEP_VALUES.get(name, MISSING))
        path = re.sub(r"/+", "/", path)
        body = {} if op.body_schema() is not None else NO
        send = w.arm if op.host == "arm" else (lambda m, p, b, **kw: w.kv(m, VAULT, p, b, **kw))
        send(op.method, path, body, probe=False, label=f"not served: {op.operation_id}")


def run_teardown(w: World) -> None:
    ok = w.ok
    vault = f"{KV}/vaults/{VAULT}"
    pe = f"{NET}/privateEndpoints/pe-schema"
    zone = f"{NET}/privateDnsZones/{ZONE}"
    ok(w.arm("DELETE", f"{pe}/privateDnsZoneGroups/default"), 200, 202, 204)
    conns = ok(w.arm("GET", f"{vault}/privateEndpointConnections"))["value"]
    ok(w.arm("DELETE", f"{vault}/privateEndpointConnections/{conns[0]['name']}"), 200, 202, 204)
    ok(w.arm("DELETE", pe), 200, 202, 204)
    ok(w.arm("DELETE", f"{NET}/networkInterfaces/nic-schema"), 200, 202, 204)
    ok(w.arm("DELETE", f"{zone}/A/rec-schema"), 200, 204)
    ok(w.arm("DELETE", f"{zone}/virtualNetworkLinks/link-schema"), 200, 202, 204)
    ok(w.arm("DELETE", zone), 200, 202, 204)
    ok(w.arm("DELETE", f"{NET}/virtualNetworks/{VNET2}"), 200, 202, 204)
    ok(w.arm("DELETE", f"{KV}/vaults/{TMP_VAULT}"), 200, 204)
    deleted = (f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/locations/{REGION}"
               f"/deletedVaults/{TMP_VAULT}")
    ok(w.arm("GET", f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/deletedVaults"))
    ok(w.arm("GET", deleted))
    ok(w.arm("POST", f"{deleted}/purge"), 200, 202)


def run_recorded(w: World) -> int:
    """Replays every Resource Manager and data-plane request of the recording, in order, with the
    recording's subscription, tenant, group and vault names mapped to this server's, and the
    names the recording's server made up (the connection `pe2.<uuid>`, the NIC `pe1.nic.<uuid>`)
    mapped to the ones vaultlink made. A request the recording's server answered 2xx must be
    answered 2xx; every answer is validated. Returns how many requests were replayed."""
    commands = json.loads(RECORDED.read_text())
    subst = {"00000000-0000-0000-0000-000000000001": SUB,
             "72f988bf-86f1-41af-91ab-2d7cd011db47": TENANT_ID,
             "kvemu1": REC_VAULT}
    made_up = re.compile(r"\b(pe\d+)\.(nic\.)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    rec_net = f"/subscriptions/{SUB}/resourceGroups/{REC_RG}/providers"

    def resolve(recorded: str) -> str:
        m = made_up.fullmatch(recorded)
        assert m, recorded
        if m.group(2):  # an endpoint's NIC
            pe = w.ok(w.arm("GET", f"{rec_net}/Microsoft.Network/privateEndpoints/{m.group(1)}",
                            probe=False))
            return pe["properties"]["networkInterfaces"][0]["id"].rsplit("/", 1)[1]
        conns = w.ok(w.arm("GET", f"{rec_net}/Microsoft.KeyVault/vaults/{REC_VAULT}"
                                  "/privateEndpointConnections", probe=False))["value"]
        names = [c["name"] for c in conns if c["name"].startswith(m.group(1) + ".")]
        assert len(names) == 1, (recorded, conns)
        return names[0]

    def mapped(text: str) -> str:
        for name in [x.group(0) for x in made_up.finditer(text)]:
            if name not in subst:
                subst[name] = resolve(name)
        for old, new in subst.items():
            text = text.replace(old, new)
        return re.sub(r"(?i)(/resourcegroups/)rg1\b", lambda m: m.group(1) + REC_RG, text)

    sent = 0
    for command in commands:
        for r in command["requests"]:
            host = r.get("host", "")
            if "method" not in r or not (host == "management.azure.com"
                                         or host.endswith(".vault.azure.net")):
                continue
            path = mapped(r["path"])
            body = json.loads(mapped(json.dumps(r["body"]))) if "body" in r else NO
            query = {k: mapped(v) for k, v in r.get("query", {}).items()}
            api = query.pop("api-version", None)
            label = f"recorded: {command['command'][:60]}"
            if host == "management.azure.com":
                resp = w.arm(r["method"], path, body, api=api, params=query, probe=False,
                             label=label)
            else:
                token = w.kv_token if r.get("authorization") else None
                resp = w.kv(r["method"], REC_VAULT, path, body, api=api, params=query,
                            token=token, probe=False, label=label)
            sent += 1
            # Resource Manager must do what the recording's server did. The data-plane requests
            # were sent from inside the VNet (the seed's client) to a vault whose firewall denies
            # the public path this test takes: their 403 ForbiddenByFirewall is validated too.
            recorded_status = r.get("status_the_recording_server_returned", 0)
            if host == "management.azure.com" and 200 <= recorded_status < 300:
                assert 200 <= resp.status_code < 300, (
                    f"{label}: {r['method']} {path}: {resp.status_code} {resp.text[:1500]}")
    return sent


# ---------------------------------------------------------------------------------------------
def self_signed_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imported.schema.example")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode()
            + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode())


def sign_csr(csr_b64: str) -> str:
    csr = x509.load_der_x509_csr(base64.b64decode(csr_b64))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Schema Test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca)
            .public_key(csr.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(ca_key, hashes.SHA256()))
    return base64.b64encode(leaf.public_bytes(serialization.Encoding.DER)).decode()


def version(obj_id: str) -> str:
    return obj_id.rstrip("/").rsplit("/", 1)[1]


def lifecycle(w: World, kind: str, name: str, backup_blob: str) -> None:
    """Delete, the deleted object (list, get), recover, delete again, purge, restore."""
    ok = w.ok
    deleted = {"secrets": "deletedsecrets", "keys": "deletedkeys",
               "certificates": "deletedcertificates"}[kind]
    ok(w.kv("DELETE", VAULT, f"/{kind}/{name}"))
    wait_for(f"deleted {name}", lambda: w.kv("GET", VAULT, f"/{deleted}/{name}",
                                                probe=False).status_code == 200)
    ok(w.kv("GET", VAULT, f"/{deleted}"))
    ok(w.kv("GET", VAULT, f"/{deleted}/{name}"))
    ok(w.kv("POST", VAULT, f"/{deleted}/{name}/recover"))
    wait_for(f"recovered {name}", lambda: w.kv("GET", VAULT, f"/{kind}/{name}",
                                                  probe=False).status_code == 200)
    ok(w.kv("DELETE", VAULT, f"/{kind}/{name}"))
    wait_for(f"deleted {name}", lambda: w.kv("GET", VAULT, f"/{deleted}/{name}",
                                                probe=False).status_code == 200)
    ok(w.kv("DELETE", VAULT, f"/{deleted}/{name}"), 204)
    wait_for(f"purged {name}", lambda: w.kv("GET", VAULT, f"/{deleted}/{name}",
                                               probe=False).status_code == 404)
    ok(w.kv("POST", VAULT, f"/{kind}/restore", {"value": backup_blob}))


def run_data_plane(w: World, stranger: dict[str, str]) -> None:
    ok = w.ok
    # -- secrets
    s1 = ok(w.kv("PUT", VAULT, "/secrets/sec-schema", {"value": "first", "contentType": "text/plain",
                                                        "tags": {"t": "1"}}))
    ok(w.kv("PUT", VAULT, "/secrets/sec-schema", {"value": "second"}))
    ok(w.kv("GET", VAULT, "/secrets/sec-schema/"))
    ok(w.kv("GET", VAULT, f"/secrets/sec-schema/{version(s1['id'])}"))
    ok(w.kv("PATCH", VAULT, f"/secrets/sec-schema/{version(s1['id'])}",
            {"contentType": "text/old", "attributes": {"enabled": True}}))
    ok(w.kv("GET", VAULT, "/secrets"))
    ok(w.kv("GET", VAULT, "/secrets", params={"maxresults": "1"}))
    ok(w.kv("GET", VAULT, "/secrets/sec-schema/versions"))
    blob = ok(w.kv("POST", VAULT, "/secrets/sec-schema/backup"))["value"]
    lifecycle(w, "secrets", "sec-schema", blob)

    # -- keys
    k = ok(w.kv("POST", VAULT, "/keys/key-schema/create", {"kty": "RSA", "key_size": 2048,
                                                           "tags": {"t": "1"}}))
    ok(w.kv("POST", VAULT, "/keys/key-ec/create", {"kty": "EC", "crv": "P-256"}))
    pk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    n = pk.private_numbers()
    ok(w.kv("PUT", VAULT, "/keys/key-imported", {"key": {
        "kty": "RSA", "key_ops": ["sign", "verify"], "n": b64u_int(n.public_numbers.n),
        "e": b64u_int(n.public_numbers.e), "d": b64u_int(n.d), "p": b64u_int(n.p),
        "q": b64u_int(n.q), "dp": b64u_int(n.dmp1), "dq": b64u_int(n.dmq1),
        "qi": b64u_int(n.iqmp)}}))
    kv_ = version(k["key"]["kid"])
    ok(w.kv("GET", VAULT, "/keys/key-schema/"))
    ok(w.kv("GET", VAULT, f"/keys/key-schema/{kv_}"))
    ok(w.kv("PATCH", VAULT, f"/keys/key-schema/{kv_}", {"tags": {"t": "2"}}))
    ok(w.kv("GET", VAULT, "/keys"))
    ok(w.kv("GET", VAULT, "/keys/key-schema/versions"))
    base = f"/keys/key-schema/{kv_}"
    enc = ok(w.kv("POST", VAULT, f"{base}/encrypt", {"alg": "RSA-OAEP", "value": b64u(b"hello")}))
    ok(w.kv("POST", VAULT, f"{base}/decrypt", {"alg": "RSA-OAEP", "value": enc["value"]}))
    digest = b64u(hashlib.sha256(b"message").digest())
    sig = ok(w.kv("POST", VAULT, f"{base}/sign", {"alg": "RS256", "value": digest}))
    ok(w.kv("POST", VAULT, f"{base}/verify", {"alg": "RS256", "digest": digest,
                                              "value": sig["value"]}))
    wrapped = ok(w.kv("POST", VAULT, f"{base}/wrapkey", {"alg": "RSA-OAEP",
                                                          "value": b64u(bytes(range(32)))}))
    ok(w.kv("POST", VAULT, f"{base}/unwrapkey", {"alg": "RSA-OAEP", "value": wrapped["value"]}))
    ok(w.kv("PUT", VAULT, "/keys/key-schema/rotationpolicy", {
        "lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Rotate"}}],
        "attributes": {"expiryTime": "P90D"}}))
    ok(w.kv("GET", VAULT, "/keys/key-schema/rotationpolicy"))
    ok(w.kv("POST", VAULT, "/keys/key-schema/rotate"))
    blob = ok(w.kv("POST", VAULT, "/keys/key-schema/backup"))["value"]
    lifecycle(w, "keys", "key-schema", blob)

    # -- certificates: contacts, issuers
    ok(w.kv("PUT", VAULT, "/certificates/contacts", {"contacts": [
        {"email": "ops@schema.example", "name": "Ops", "phone": "0100"}]}))
    ok(w.kv("GET", VAULT, "/certificates/contacts"))
    ok(w.kv("DELETE", VAULT, "/certificates/contacts"))
    issuer = "/certificates/issuers/iss-schema"
    ok(w.kv("PUT", VAULT, issuer, {"provider": "Test", "credentials": {"account_id": "acct"},
                                   "attributes": {"enabled": True}}))
    ok(w.kv("GET", VAULT, issuer))
    ok(w.kv("PATCH", VAULT, issuer, {"org_details": {"admin_details": [
        {"first_name": "A", "last_name": "B", "email": "a@schema.example"}]}}))
    ok(w.kv("GET", VAULT, "/certificates/issuers"))
    ok(w.kv("DELETE", VAULT, issuer))

    # -- a self-signed certificate
    policy = {"key_props": {"exportable": True, "kty": "RSA", "key_size": 2048, "reuse_key": False},
              "secret_props": {"contentType": "application/x-pkcs12"},
              "x509_props": {"subject": "CN=schema.example", "validity_months": 12},
              "issuer": {"name": "Self"}}
    ok(w.kv("POST", VAULT, "/certificates/cert-schema/create", {"policy": policy}), 202)
    wait_for("cert-schema issued", lambda: ok(w.kv(
        "GET", VAULT, "/certificates/cert-schema/pending"))["status"] == "completed")
    c = ok(w.kv("GET", VAULT, "/certificates/cert-schema/"))
    ok(w.kv("GET", VAULT, f"/certificates/cert-schema/{version(c['id'])}"))
    ok(w.kv("PATCH", VAULT, f"/certificates/cert-schema/{version(c['id'])}", {"tags": {"t": "1"}}))
    ok(w.kv("GET", VAULT, "/certificates"))
    ok(w.kv("GET", VAULT, "/certificates", params={"includePending": "true"}))
    ok(w.kv("GET", VAULT, "/certificates/cert-schema/versions"))
    ok(w.kv("GET", VAULT, "/certificates/cert-schema/policy"))
    ok(w.kv("PATCH", VAULT, "/certificates/cert-schema/policy",
            {"x509_props": {"subject": "CN=schema.example", "validity_months": 6}}))
    ok(w.kv("POST", VAULT, "/certificates/cert-imported/import",
            {"value": self_signed_pem(),
             "policy": {"secret_props": {"contentType": "application/x-pem-file"}}}))
    # -- the pending operation of an external issuer: merge one, cancel and delete another
    unknown = {"x509_props": {"subject": "CN=external.schema.example"},
               "issuer": {"name": "Unknown"}}
    ok(w.kv("POST", VAULT, "/certificates/cert-external/create", {"policy": unknown}), 202)
    pending = ok(w.kv("GET", VAULT, "/certificates/cert-external/pending"))
    ok(w.kv("POST", VAULT, "/certificates/cert-external/pending/merge",
            {"x5c": [sign_csr(pending["csr"])]}), 201)
    ok(w.kv("POST", VAULT, "/certificates/cert-cancel/create", {"policy": unknown}), 202)
    ok(w.kv("PATCH", VAULT, "/certificates/cert-cancel/pending", {"cancellation_requested": True}))
    ok(w.kv("DELETE", VAULT, "/certificates/cert-cancel/pending"))
    blob = ok(w.kv("POST", VAULT, "/certificates/cert-schema/backup"))["value"]
    lifecycle(w, "certificates", "cert-schema", blob)

    # -- refusals that are not derived from an operation's spec
    denied = w.dp.token(VAULT_SCOPE, client_id=stranger["appId"], secret=stranger["secret"])
    ok(w.kv("GET", RBAC_VAULT, "/secrets", token=denied, label="no data role"), 403)
    ok(w.kv("PUT", RBAC_VAULT, "/secrets/denied", {"value": "x"}, token=denied,
            label="no data role"), 403)
    ok(w.kv("GET", VAULT, "/secrets", token=denied, label="no access policy"), 403)
    ok(w.kv("GET", VAULT, "/secrets", token=None, label="no token"), 401)
    ok(w.kv("GET", VAULT, "/keys/key-ec/", api="7.7", label="unpublished api-version"), 400)


# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def specs() -> Specs:
    return Specs.load()


@pytest.fixture(scope="module")
def world(vaultlink_module: Vaultlink, specs: Specs) -> World:
    stranger = add_principal(vaultlink_module, "schema-no-role")
    w = World(vaultlink_module, specs)
    try:
        run_resource_manager(w, stranger)
        w.recorded = run_recorded(w)
        run_data_plane(w, stranger)
        run_teardown(w)
        run_unserved(w)
    finally:
        # What was sent and what the checker said (no bodies): for reading after a failure.
        (vaultlink_module.workdir / "schema-exchanges.json").write_text(json.dumps(
            [dataclasses.asdict(x) for x in w.exchanges], indent=1))
    return w


# -- the checker itself (no server): it must be able to fail -----------------------------------
def test_checker_matches_operations(specs: Specs) -> None:
    ids = [o.operation_id for o in specs.operations]
    assert len(ids) == len(set(ids)), "operationIds must be unique across the spec files"
    cases = {
        ("GET", "/secrets/s1", "dataplane"): "GetSecret",
        ("GET", "/secrets/s1/", "dataplane"): "GetSecret",
        ("GET", "/secrets/s1/versions", "dataplane"): "GetSecretVersions",
        ("DELETE", "/certificates/contacts", "dataplane"): "DeleteCertificateContacts",
        ("POST", "/keys/k/0123/sign", "dataplane"): "sign",
        ("GET", f"{NET}/privateDnsZones/z/virtualNetworkLinks", "arm"): "VirtualNetworkLinks_List",
        ("GET", f"{NET}/privateDnsZones/z/ALL", "arm"): "RecordSets_List",
        ("GET", f"{NET}/privateDnsZones/z/A", "arm"): "RecordSets_ListByType",
        ("GET", f"{RG_PATH}/providers/Microsoft.Authorization/roleAssignments", "arm"):
            "RoleAssignments_ListForResourceGroup",
        ("GET", f"{KV}/vaults/v/providers/Microsoft.Authorization/roleAssignments", "arm"):
            "RoleAssignments_ListForResource",
        ("DELETE", f"{RG_PATH}/providers/Microsoft.Authorization/roleAssignments/x", "arm"):
            "RoleAssignments_Delete",
        ("get", f"{KV.lower()}/vaults/v", "arm"): "Vaults_Get",
    }
    for (method, path, host), want in cases.items():
        got = specs.match(method, path, host)
        assert got is not None and got.operation_id == want, (method, path, got)
    for method, path, host in [("GET", f"/subscriptions/{SUB}", "arm"), ("GET", RG_PATH, "arm"),
                               ("GET", "/secrets/s1", "arm"), ("GET", "/nothing", "dataplane")]:
        assert specs.match(method, path, host) is None, (method, path)


def test_checker_finds_mismatches(specs: Specs) -> None:
    get_secret = specs.by_id("GetSecret")
    good = {"value": "v", "id": "https://x.vault.azure.net/secrets/s/0",
            "attributes": {"enabled": True, "created": 1700000000, "recoverableDays": 90,
                           "recoveryLevel": "Recoverable+Purgeable"}}
    assert get_secret.validate(200, good) == []
    assert get_secret.validate(200, {**good, "unknownExtra": 1}) == [], "specs are open"
    bad = {**good, "attributes": {**good["attributes"], "created": 1.5, "enabled": "yes",
                                  "recoveryLevel": "Sometimes"}}
    # recoveryLevel is an x-ms-enum with modelAsString: true, so "Sometimes" is a valid value.
    assert {p for p, _ in get_secret.validate(200, bad)} == {"/attributes/created",
                                                             "/attributes/enabled"}
    assert get_secret.validate(404, {"error": {"code": "SecretNotFound", "message": "m"}}) == []
    assert get_secret.validate(404, {"error": {"code": 7}}) == [("/error/code", "7 is not of type 'string'")]
    assert get_secret.validate(201, good)[0][1].startswith("status 201 is not a response")
    assert get_secret.validate(200, None, empty=True)[0][1].startswith("empty body")
    # x-nullable: KeyVaultError.error may be null; a required ARM property may not be missing.
    assert get_secret.validate(500, {"error": None}) == []
    vault = specs.by_id("Vaults_Get")
    v = {"id": "/x", "name": "v", "type": "Microsoft.KeyVault/vaults", "location": REGION,
         "properties": {"tenantId": TENANT_ID, "sku": {"family": "A", "name": "standard"}}}
    assert vault.validate(200, v) == []
    no_sku = vault.validate(200, {**v, "properties": {"tenantId": TENANT_ID}})
    assert [p for p, _ in no_sku] == ["/properties"], no_sku  # sku is required
    bad_uuid = vault.validate(200, {**v, "properties": {**v["properties"], "tenantId": "nope"}})
    assert bad_uuid and bad_uuid[0][0] == "/properties/tenantId", bad_uuid
    # modelAsString: true (provisioningState) takes any string; a sealed enum (sku.name) does not.
    assert vault.validate(200, {**v, "properties": {**v["properties"], "provisioningState": "Later"}}) == []
    sealed = vault.validate(200, {**v, "properties": {**v["properties"],
                                                       "sku": {"family": "A", "name": "gold"}}})
    assert [p for p, _ in sealed] == ["/properties/sku/name"], sealed
    # Cross-file refs (the network siblings, common-types) resolve: a subnet's ARM id is a string.
    subnet = specs.by_id("Subnets_Get")
    assert subnet.validate(200, {"id": 5})[0][0] == "/id"
    when = specs.by_id("RoleAssignments_Get")
    assert when.validate(200, {"properties": {"roleDefinitionId": "r", "principalId": "p",
                                              "createdOn": "yesterday"}})[0][0] == "/properties/createdOn"


def test_exception_patterns() -> None:
    assert pointer_matches("/value/*/id", "/value/3/id")
    assert not pointer_matches("/value/*/id", "/value/3/x/id")
    assert pointer_matches("/value/**/id", "/value/3/x/id")
    assert pointer_matches("", "") and not pointer_matches("", "/a")
    assert pointer_matches("status", "status")
    for e in EXCEPTIONS:
        assert e.reason.strip() and e.operation and e.message, e
        assert e.reason.startswith(("Azure too:", "spec:", "unrecorded:", "vaultlink bug:")), e


# -- vaultlink against the specs --------------------------------------------------------------
def test_every_answer_matches_azure_specs(world: World) -> None:
    assert not world.findings, (
        f"{len(world.findings)} answers differ from Azure's specs (fix vaultlink, or list the "
        "deviation with its reason in schema_exceptions.py):\n"
        + "\n".join(str(f) for f in world.findings))


def test_coverage(world: World, specs: Specs) -> None:
    served = world.served()
    validated = [x for x in world.exchanges if x.operation]
    print(f"\nschema check: {len(served)} spec operations served, {len(validated)} answers "
          f"validated ({sum(x.generated for x in validated)} of generated requests), "
          f"{len(world.exchanges) - len(validated)} requests outside the specs")
    assert len(served) >= COVERAGE_FLOOR, (
        f"only {len(served)} spec operations answered 2xx (floor {COVERAGE_FLOOR}): "
        f"{sorted(served)}")
    # Every operation answered 2xx also got generated requests, validated too.
    generated = {x.operation for x in world.exchanges if x.generated}
    assert served <= world.probed and served <= generated, sorted(served - generated)
    # Errors were validated against `default` on both planes, for each kind of refusal.
    for host in ("arm", "dataplane"):
        for status in (400, 403, 404):
            assert any(x.host == host and x.status == status and x.response == "default"
                       for x in validated), f"no {status} answer of {host} validated"
    assert any(x.host == "dataplane" and x.status == 401 for x in validated)


def test_every_exception_is_used(world: World) -> None:
    unused = [e for i, e in enumerate(EXCEPTIONS) if i not in world.used]
    assert not unused, "schema_exceptions.py entries no answer needs any more (remove them):\n" + (
        "\n".join(f"{e.operation} {e.pointer} /{e.message}/: {e.reason}" for e in unused))
