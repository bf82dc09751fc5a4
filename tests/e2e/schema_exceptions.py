"""The ONE list of accepted deviations from Azure's OpenAPI specs (test_schema.py).

Each entry names the spec operation (a regular expression its operationId must match whole),
where in the answer the mismatch is
(a JSON pointer pattern: `*` is one segment, `**` any number of segments; `status` for a finding
about the status code of a generated request rather than about a body) and a regular expression
its message must match (`re.search`), and says why it is accepted:

- "Azure too: ..."         Azure itself answers this way (a recording or Azure's documented
                           behaviour says so): the spec is wrong, vaultlink copies Azure;
- "spec: ..."              a fault of the spec file itself (it contradicts itself or its own
                           service), independent of what vaultlink does;
- "unrecorded: ..."        no recording or document says what Azure answers; vaultlink's
                           choice is kept until one does;
- "vaultlink bug: ..."     vaultlink deviates and should not: to be fixed in the Rust code, then
                           the entry removed.

An entry that no validated answer uses fails the test (test_schema.py::test_every_exception_is_used),
so the list cannot rot: when a fix lands, its entry must go.
"""

from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass(frozen=True)
class Exception_:
    operation: str
    pointer: str
    message: str
    reason: str

    def matches(self, operation: str, pointer: str, message: str) -> bool:
        return (re.fullmatch(self.operation, operation) is not None
                and pointer_matches(self.pointer, pointer)
                and re.search(self.message, message) is not None)


def pointer_matches(pattern: str, pointer: str) -> bool:
    pat = [p for p in pattern.split("/")][1:] if pattern.startswith("/") else (
        [] if pattern == "" else [pattern])
    got = pointer.split("/")[1:] if pointer.startswith("/") else ([] if pointer == "" else [pointer])

    def walk(i: int, j: int) -> bool:
        if i == len(pat):
            return j == len(got)
        if pat[i] == "**":
            return any(walk(i + 1, k) for k in range(j, len(got) + 1))
        if j == len(got):
            return False
        return (pat[i] == "*" or pat[i] == got[j]) and walk(i + 1, j + 1)

    return walk(0, 0)


E = Exception_

_KV_LISTS = ("Get(Secrets|SecretVersions|DeletedSecrets|Keys|KeyVersions|DeletedKeys|Certificates|"
             "CertificateVersions|DeletedCertificates|CertificateIssuers)")
_ROLE_ASSIGNMENTS = ("RoleAssignments_(Create|Get|Delete|ListForSubscription|ListForResourceGroup|"
                     "ListForResource)")
_RA_RECORDING = ("Azure/azure-cli role/tests/latest/recordings/test_role_assignment_no_graph.yaml "
                 "(shared/reference/keyvault-rbac.md section 5a)")

EXCEPTIONS: list[Exception_] = [
    # -- Key Vault data plane
    E(_KV_LISTS, "/nextLink", r"^None is not of type 'string'$",
      "Azure too: the last page of a Key Vault list carries \"nextLink\": null (Azure/azure-sdk-for-js "
      "sdk/keyvault/keyvault-keys/recordings/node/keys_client__list_keys_in_various_ways/"
      "recording_can_get_the_versions_of_a_key.js: GET /keys/{name}/versions answered "
      "{\"value\":[...],\"nextLink\":null}; the certificates recordings likewise); the spec types "
      "nextLink as a non-nullable string"),
    # -- Authorization
    *(E(_ROLE_ASSIGNMENTS, f"/**/properties/{p}", r"^None is not of type 'string'$",
        f"Azure too: a role assignment's unset {p} is null in Azure's answers ({_RA_RECORDING}: "
        '"condition":null,"conditionVersion":null,...,"delegatedManagedIdentityResourceId":null,'
        '"description":null); the spec types it as a non-nullable string')
      for p in ("condition", "conditionVersion", "delegatedManagedIdentityResourceId", "description")),
    *(E("RoleDefinitions_(List|Get)", f"/**/properties/{p}", r"^None is not of type 'string'$",
        f"Azure too: built-in role definitions have \"{p}\": null in Azure's answers (captured "
        "GET .../roleDefinitions/{id} bodies, e.g. Owner: \"createdOn\":\"2015-02-02T21:55:09."
        "8806423Z\",\"updatedOn\":\"2020-08-14T20:13:58.4137852Z\",\"createdBy\":null,"
        "\"updatedBy\":null); the spec types it as a non-nullable string")
      for p in ("createdBy", "updatedBy")),
    E("RoleAssignments_ListForResource", "status",
      r"generated request \(resourceName that does not exist\) answered 200",
      "unrecorded: listing the role assignments of a resource that does not exist answers 200 "
      "(the assignments inherited from the subscription and group); vaultlink checks only the "
      "subscription and resource group of a role-assignment scope (arm/authorization.rs) and no "
      "recording shows Azure's answer for a missing resource"),
]
