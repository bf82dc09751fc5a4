"""Azure's own OpenAPI specs (tests/e2e/openapi/, copied unchanged; see its SOURCES.md) as a
response checker: which operation a concrete request is, and whether a JSON body matches that
operation's response schema.

    specs = Specs.load()                       # every spec file under tests/e2e/openapi/
    op = specs.match("GET", "/secrets/s1/", host="dataplane")
    errors = op.validate(200, body)            # [(json pointer, message), ...]; [] = conforms

Matching. Every operation of every spec file (`paths` and `x-ms-paths`) is indexed by (method,
path template). A template segment is a literal (matched case-insensitively, as Azure does), a
`{param}` (one segment) or, for a parameter marked `x-ms-skip-url-encoding` (`{scope}`,
`{roleAssignmentId}`, ...), one or more segments. Of the templates that match, the one with the
most literal segments wins (`.../privateDnsZones/{zone}/virtualNetworkLinks` over
`.../{recordType}`, `/keys/{name}/versions` over `/keys/{name}/{version}`). Templates made of one
catch-all parameter only (`/{roleAssignmentId}`) are used only for Microsoft.Authorization paths.
`host` says which plane: "arm" (management.azure.com) or "dataplane" (`{vaultBaseUrl}`). A data-
plane path that names an object without a version (`/secrets/s1`, `/secrets/s1/`, what the SDKs
send) is the `{version}` operation with an empty version, as the service treats it.

Validation. The response schema for the status code (or `default` when the code is not listed
and is >= 400; a 2xx code the spec does not list is itself a mismatch) is checked with
jsonschema's Draft4Validator, after translating swagger 2.0 into JSON Schema draft 4:
- `$ref`s (local and to other files) are resolved through a `referencing` registry holding every
  file; two upstream path faults are repaired, both described in SOURCES.md: Key Vault's
  2026-02-01 file refers to common-types with one `../` too few, and the network files refer to
  siblings that live in the other 2025-05-01 folder (`Network/stable` vs `stable`), and
  Authorization's `./common-types.json` lives in the old-layout folder. Refs to the
  network files that were not collected (publicIpAddress.json, ...) become an open schema (`{}`,
  listed in `Specs.stubbed`): vaultlink's answers never hold those types.
- `x-nullable: true` / `nullable: true` admit null;
- `x-ms-enum` with `modelAsString: true` is an extensible enum: any string;
- formats: date-time (RFC 3339), int32 / int64 ranges, uuid; other formats are not checked;
- integer is not number: 1.0 is not an integer (draft 4, as Python's json parses it);
- additional properties are allowed unless a schema says `additionalProperties: false`
  (Azure's specs are open); readOnly properties are of course allowed in responses.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import uuid
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import referencing
import referencing.jsonschema
from referencing import Registry, Resource

SPEC_ROOT = Path(__file__).resolve().parent / "openapi"

# Folders whose files refer to siblings (`./x.json`) that were collected in another folder
# (SOURCES.md: the network files sit in two 2025-05-01 folders, "copy them into one folder";
# Authorization's `./common-types.json` exists only at the old-layout path).
_NET_NEW = "specification/network/resource-manager/Microsoft.Network/Network/stable/2025-05-01"
_NET_OLD = "specification/network/resource-manager/Microsoft.Network/stable/2025-05-01"
_AUTH_NEW = ("specification/authorization/resource-manager/Microsoft.Authorization/Authorization/"
             "stable/2022-04-01")
_AUTH_OLD = "specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01"
_SIBLING_FOLDERS = {_NET_NEW: (_NET_OLD,), _NET_OLD: (_NET_NEW,), _AUTH_NEW: (_AUTH_OLD,)}

Error = tuple[str, str]  # (json pointer, message)


def pointer(path: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


# ---------------------------------------------------------------------------------------------
# swagger 2.0 -> JSON Schema draft 4
_SCHEMA_MAPS = ("properties", "definitions", "patternProperties")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE = ("items", "additionalProperties", "not")


def _translate(node: Any, fix_ref) -> Any:
    """A swagger schema (or a whole document) as draft 4. Walks the document generically: every
    dict is treated as possibly a schema (non-schema dicts, such as `paths`, carry none of the
    keywords rewritten here except `$ref`, whose rewriting is harmless there)."""
    if isinstance(node, list):
        return [_translate(x, fix_ref) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = fix_ref(value)
        elif key in ("x-ms-examples", "example", "examples"):
            continue
        else:
            out[key] = _translate(value, fix_ref)
    if isinstance(out.get("$ref"), str) and out["$ref"] == "":
        out.pop("$ref")  # a stubbed ref: the open schema
    enum_ext = out.get("x-ms-enum")
    if isinstance(enum_ext, dict) and enum_ext.get("modelAsString") is True and "enum" in out:
        out.pop("enum")  # extensible enum: any string is a valid value
    if out.get("type") == "file":
        out.pop("type")
    nullable = out.pop("x-nullable", None) is True or out.get("nullable") is True
    out.pop("nullable", None)
    if nullable:
        if "$ref" in out:
            ref = {"$ref": out.pop("$ref")}
            out = {**out, "anyOf": [{"type": "null"}, ref]}
        else:
            if isinstance(out.get("type"), str):
                out["type"] = [out["type"], "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
            if "type" not in out and ("allOf" in out or "properties" in out):
                body = {k: v for k, v in out.items() if k in ("allOf", "properties", "required",
                                                             "additionalProperties")}
                rest = {k: v for k, v in out.items() if k not in body}
                out = {**rest, "anyOf": [{"type": "null"}, body]}
    return out


_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def _format_checker() -> jsonschema.FormatChecker:
    fc = jsonschema.FormatChecker(formats=())

    @fc.checks("date-time", raises=ValueError)
    def _dt(v: object) -> bool:
        if not isinstance(v, str):
            return True
        if not _DATE_TIME.match(v):
            raise ValueError("not an RFC 3339 date-time")
        datetime.datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00")
                                        .replace(" ", "T").replace("t", "T"))
        return True

    @fc.checks("int32")
    def _i32(v: object) -> bool:
        return not isinstance(v, int) or -(2**31) <= v < 2**31

    @fc.checks("int64")
    def _i64(v: object) -> bool:
        return not isinstance(v, int) or -(2**63) <= v < 2**63

    @fc.checks("uuid", raises=ValueError)
    def _uuid(v: object) -> bool:
        if isinstance(v, str):
            uuid.UUID(v)
        return True

    return fc


# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Operation:
    spec: "Specs"
    file: str  # relative to SPEC_ROOT
    operation_id: str
    method: str
    template: str
    host: str  # "arm" | "dataplane"
    responses: dict[str, Any]  # status (or "default") -> response object (translated)
    parameters: list[dict[str, Any]]
    api_version: str
    regex: re.Pattern[str] = dataclasses.field(repr=False, default=None)  # type: ignore[assignment]
    pageable: bool = False  # x-ms-pageable: a list
    literals: int = 0
    catch_all: bool = False
    # The template's path parameters in order: (name, spans several segments).
    path_params: list[tuple[str, bool]] = dataclasses.field(default_factory=list)

    @property
    def key(self) -> str:
        return self.operation_id

    def response_for(self, status: int) -> tuple[str | None, dict[str, Any] | None]:
        """(which response of the spec applies, its schema or None); (None, None) if none does."""
        code = str(status)
        if code in self.responses:
            return code, self.responses[code].get("schema")
        if status >= 400 and "default" in self.responses:
            return "default", self.responses["default"].get("schema")
        return None, None

    def body_schema(self) -> dict[str, Any] | None:
        for p in self.parameters:
            if p.get("in") == "body":
                return p.get("schema")
        return None

    def validate(self, status: int, body: Any, *, empty: bool = False) -> list[Error]:
        """Errors of the answer (status, parsed JSON body) against this operation's responses.
        empty=True: the answer had no body at all."""
        which, schema = self.response_for(status)
        if which is None:
            listed = ", ".join(sorted(self.responses))
            return [("", f"status {status} is not a response of {self.operation_id} ({listed})")]
        if schema is None:
            return []  # the spec describes no body (vaultlink may still send one; clients ignore it)
        if empty:
            return [("", f"empty body; the spec's {which} response has a schema")]
        return self.spec.validate_schema(self.file, schema, body)


class Specs:
    def __init__(self, root: Path = SPEC_ROOT):
        self.root = root
        self.stubbed: set[str] = set()
        self.docs: dict[str, dict[str, Any]] = {}  # rel path -> translated document
        raw: dict[str, Any] = {}
        for path in sorted((root / "specification").rglob("*.json")):
            raw[path.relative_to(root).as_posix()] = json.loads(path.read_text())
        self._raw = raw
        for rel, doc in raw.items():
            self.docs[rel] = _translate(doc, lambda ref, rel=rel: self._fix_ref(rel, ref))
        self.registry: Registry = Registry().with_resources(
            (self.uri(rel), Resource(contents=doc, specification=referencing.jsonschema.DRAFT4))
            for rel, doc in self.docs.items()
        )
        self.format_checker = _format_checker()
        self.operations: list[Operation] = []
        for rel, doc in self.docs.items():
            self._index(rel, doc)

    @classmethod
    def load(cls) -> "Specs":
        return cls()

    @staticmethod
    def uri(rel: str) -> str:
        return f"urn:openapi:{rel}"

    # -- refs -------------------------------------------------------------------------------
    def _resolve_file(self, rel: str, target: str) -> str | None:
        base = Path(rel).parent
        cand = (base / target)
        parts: list[str] = []
        for p in cand.as_posix().split("/"):
            if p == "..":
                if parts:
                    parts.pop()
            elif p not in ("", "."):
                parts.append(p)
        norm = "/".join(parts)
        if norm in self._raw:
            return norm
        # Key Vault 2026-02-01 (SOURCES.md): five `../` where six are meant.
        if target.startswith("../../../../../common-types/"):
            fixed = self._resolve_file(rel, "../" + target)
            if fixed:
                return fixed
        # Siblings collected in another folder.
        if target.startswith("./"):
            for other in _SIBLING_FOLDERS.get(base.as_posix(), ()):
                alt = f"{other}/{target[2:]}"
                if alt in self._raw:
                    return alt
        return None

    def _fix_ref(self, rel: str, ref: str) -> str:
        file_part, _, frag = ref.partition("#")
        if not file_part:
            return f"{self.uri(rel)}#{frag}"
        target = self._resolve_file(rel, file_part)
        if target is None:
            self.stubbed.add(f"{rel}: {file_part}")
            return ""
        return f"{self.uri(target)}#{frag}"

    # -- index ------------------------------------------------------------------------------
    def _param(self, p: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in p:
            return self.resolve(p["$ref"])
        return p

    def resolve(self, ref: str) -> Any:
        return self.registry.resolver().lookup(ref).contents

    def _index(self, rel: str, doc: dict[str, Any]) -> None:
        if "paths" not in doc and "x-ms-paths" not in doc:
            return
        host = "dataplane" if "x-ms-parameterized-host" in doc else "arm"
        api = doc.get("info", {}).get("version", "")
        for section in ("paths", "x-ms-paths"):
            for template, item in (doc.get(section) or {}).items():
                template = template.split("?", 1)[0]
                common = [self._param(p) for p in item.get("parameters", [])]
                for method, op in item.items():
                    if method == "parameters":
                        continue
                    params = common + [self._param(p) for p in op.get("parameters", [])]
                    o = Operation(self, rel, op["operationId"], method.upper(), template, host,
                                  op.get("responses", {}), params, api,
                                  pageable="x-ms-pageable" in op)
                    self._compile(o)
                    self.operations.append(o)

    def _compile(self, o: Operation) -> None:
        multi = {p["name"] for p in o.parameters
                 if p.get("in") == "path" and p.get("x-ms-skip-url-encoding")}
        out = []
        literals = 0
        segs = o.template.strip("/").split("/")
        for i, seg in enumerate(segs):
            m = re.fullmatch(r"\{([^}]+)\}", seg)
            last = i == len(segs) - 1
            group = f"(?P<p{len(o.path_params)}>"
            if m and m.group(1) in multi:
                o.path_params.append((m.group(1), True))
                out.append(group + r"[^/]+(?:/[^/]+)*)")
            elif m:
                o.path_params.append((m.group(1), False))
                # A data-plane object's version may be empty (`/secrets/s1/`).
                out.append(group + (r"[^/]*)" if last and o.host == "dataplane" else r"[^/]+)"))
            else:
                literals += 1
                out.append(re.escape(seg))
        o.regex = re.compile("^/" + "/".join(out) + "$", re.IGNORECASE)
        o.literals = literals
        o.catch_all = literals == 0

    # -- matching ---------------------------------------------------------------------------
    def match(self, method: str, path: str, host: str) -> Operation | None:
        method = method.upper()
        path = "/" + path.strip("/") if path.strip("/") else "/"
        candidates = [path]
        if host == "dataplane":
            candidates.append(path + "/")  # `/secrets/s1` = `/secrets/s1/` (no version)
        for cand in candidates:
            found = [o for o in self.operations
                     if o.host == host and o.method == method and o.regex.match(cand)]
            if any(not o.catch_all for o in found):
                found = [o for o in found if not o.catch_all]
            elif found and "/providers/microsoft.authorization/" not in cand.lower():
                found = []
            if found:
                return max(found, key=lambda o: o.literals)
        return None

    def object_view(self, schema: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
        """(properties, required) of an object schema, through `$ref` and `allOf`."""
        props: dict[str, Any] = {}
        required: list[str] = []

        def walk(s: Any, depth: int) -> None:
            if not isinstance(s, dict) or depth > 20:
                return
            if isinstance(s.get("$ref"), str):
                walk(self.resolve(s["$ref"]), depth + 1)
            for part in s.get("allOf", []):
                walk(part, depth + 1)
            props.update(s.get("properties", {}))
            required.extend(r for r in s.get("required", []) if r not in required)

        walk(schema, 0)
        return props, required

    def type_of(self, schema: Any) -> str | None:
        """The declared JSON type of a schema, through `$ref` and `allOf`."""
        for _ in range(20):
            if not isinstance(schema, dict):
                return None
            t = schema.get("type")
            if isinstance(t, list):
                t = next((x for x in t if x != "null"), None)
            if isinstance(t, str):
                return t
            if isinstance(schema.get("$ref"), str):
                schema = self.resolve(schema["$ref"])
            elif schema.get("allOf"):
                schema = schema["allOf"][0]
            elif "properties" in schema:
                return "object"
            else:
                return None
        return None

    def by_id(self, operation_id: str, file_hint: str = "") -> Operation:
        found = [o for o in self.operations if o.operation_id == operation_id
                 and file_hint in o.file]
        assert len(found) == 1, f"{operation_id}: {len(found)} operations"
        return found[0]

    # -- validation -------------------------------------------------------------------------
    def validator(self, rel: str, schema: dict[str, Any]) -> jsonschema.Draft4Validator:
        # A response schema as written in its document: its local refs are already absolute.
        return jsonschema.Draft4Validator(schema, registry=self.registry,
                                          format_checker=self.format_checker)

    def validate_schema(self, rel: str, schema: dict[str, Any], body: Any) -> list[Error]:
        v = self.validator(rel, schema)
        errors: list[Error] = []
        for e in sorted(v.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
            errors.extend(_flatten(e))
        # One message per (pointer, message).
        return sorted(set(errors))


def _flatten(e: jsonschema.ValidationError) -> list[Error]:
    """anyOf/oneOf errors name their branches' errors: for a nullable wrapper (null | X) the
    interesting errors are X's."""
    if e.validator in ("anyOf", "oneOf") and e.context:
        non_null = [c for c in e.context if c.validator != "type" or c.validator_value != "null"]
        if non_null:
            out: list[Error] = []
            for c in non_null:
                out.extend(_flatten(c))
            return out
    return [(pointer(e.absolute_path), e.message)]

