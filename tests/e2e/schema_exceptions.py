"""The ONE list of accepted deviations from Azure's OpenAPI specs (test_schema.py).

Each entry names the spec operation (its operationId), where in the answer the mismatch is
(a JSON pointer pattern: `*` is one segment, `**` any number of segments; `status` for a finding
about the status code of a generated request rather than about a body) and a regular expression
its message must match (`re.search`), and says why it is accepted:

- "Azure too: ..."         Azure itself answers this way (a recording or Azure's documented
                           behaviour says so): the spec is wrong, vaultlink copies Azure;
- "spec: ..."              a fault of the spec file itself (it contradicts itself or its own
                           service), independent of what vaultlink does;
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
        return (self.operation == operation and pointer_matches(self.pointer, pointer)
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

EXCEPTIONS: list[Exception_] = [
]
