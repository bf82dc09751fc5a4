#!/usr/bin/env python3
"""Writes the HTTP targets' seed inputs (fuzz/seeds/{arm_request,dataplane_request}) from the
az CLI's recorded requests (tests/e2e/recordings/az-cli-requests.json, renamed into the fuzz
world: subscription, rg, kv1, vnet1) plus data-plane requests as the SDKs send them, and the
certificate and token seeds from crates/vaultlink-crypto/tests/fixtures. Run from anywhere:

    python3 fuzz/seeds/make.py
"""
import base64, json, pathlib, subprocess, urllib.parse

root = pathlib.Path(__file__).resolve().parents[2]
out = root / "fuzz" / "seeds"
SUB = "4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
TENANT = "8d3a7e52-6c1f-4b0e-9a57-2f4c8e1b6d90"


def rename(s):
    return (s.replace("00000000-0000-0000-0000-000000000001", SUB)
             .replace("72f988bf-86f1-41af-91ab-2d7cd011db47", TENANT)
             .replace("kvemu1", "kv1").replace("/resourceGroups/rg1", "/resourceGroups/rg")
             .replace("/resourcegroups/rg1", "/resourcegroups/rg").replace("-g rg1", "-g rg")
             .replace("snet1", "pe"))


def request(method, path, query, headers, body):
    target = path + ("?" + urllib.parse.urlencode(query) if query else "")
    head = [f"{method} {target}"] + [f"{k}: {v}" for k, v in headers.items()]
    if body is None:
        body = b""
    elif not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    return ("\n".join(head) + "\n\n").encode() + body


def write(target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


recorded = json.loads((root / "tests/e2e/recordings/az-cli-requests.json").read_text())
n = 0
for cmd in recorded:
    for r in cmd["requests"]:
        if r.get("host") != "management.azure.com":
            continue
        headers = {"Authorization": "Bearer $TOKEN", **r.get("headers", {})}
        if "body" in r:
            headers.setdefault("Content-Type", "application/json")
        body = r.get("body")
        write("arm_request", f"az-{n:02}", request(r["method"], rename(r["path"]), {k: rename(v) for k, v in r["query"].items()}, headers, json.loads(rename(json.dumps(body))) if body is not None else None))
        n += 1

V = {"Authorization": "Bearer $TOKEN", "Content-Type": "application/json"}

# Template deployments (issue 17): one that runs (the harness waits for it), one that links its
# template (refused: the fuzz world allows no links).
DEPLOYMENTS = f"/subscriptions/{SUB}/resourcegroups/rg/providers/Microsoft.Resources/deployments"
nsgs = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0", "parameters": {"n": {"type": "int", "defaultValue": 2}},
        "resources": [{"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-09-01",
                       "name": "[format('nsg{0}', copyIndex())]", "location": "[resourceGroup().location]",
                       "copy": {"name": "nsgs", "count": "[parameters('n')]"}}],
        "outputs": {"first": {"type": "string", "value": "[reference('nsg0').provisioningState]"}}}
write("arm_request", "deployment-put", request("PUT", DEPLOYMENTS + "/d1", {"api-version": "2024-03-01"}, V,
      {"properties": {"mode": "Incremental", "template": nsgs, "parameters": {"n": {"value": 1}},
                      "debugSetting": {"detailLevel": "requestContent, responseContent"}}}))
write("arm_request", "deployment-linked", request("PUT", DEPLOYMENTS + "/d2", {"api-version": "2024-03-01"}, V,
      {"properties": {"mode": "Incremental", "templateLink": {"uri": "http://127.0.0.1:9/t.json", "queryString": "sig=x"},
                      "parametersLink": {"uri": "http://127.0.0.1:9/p.json"}}}))
cert_pem = (root / "crates/vaultlink-crypto/tests/fixtures/cert.pem").read_text()
key_pem = (root / "crates/vaultlink-crypto/tests/fixtures/key.pem").read_text()
cert_der = base64.b64decode("".join(l for l in cert_pem.splitlines() if not l.startswith("-----")))
pfx = subprocess.run(
    ["openssl", "pkcs12", "-export", "-inkey", "crates/vaultlink-crypto/tests/fixtures/key.pem",
     "-in", "crates/vaultlink-crypto/tests/fixtures/cert.pem", "-passout", "pass:fixture-pw"],
    cwd=root, check=True, capture_output=True).stdout
dataplane = {
    "secret-set": ("PUT", "/secrets/s2", {"api-version": "7.5"}, V, {"value": "v", "contentType": "text/plain", "attributes": {"enabled": True, "exp": 1900000000}, "tags": {"t": "1"}}),
    "secret-get": ("GET", "/secrets/s1/", {"api-version": "7.5"}, V, None),
    "secret-list": ("GET", "/secrets", {"api-version": "7.5", "maxresults": "1"}, V, None),
    "secret-versions": ("GET", "/secrets/s1/versions", {"api-version": "7.4", "maxresults": "25"}, V, None),
    "secret-update": ("PATCH", "/secrets/s1/", {"api-version": "7.5"}, V, {"attributes": {"enabled": False}, "tags": {}}),
    "secret-backup": ("POST", "/secrets/s1/backup", {"api-version": "7.5"}, V, None),
    "secret-restore": ("POST", "/secrets/restore", {"api-version": "7.5"}, V, {"value": "AAAA"}),
    "secret-delete": ("DELETE", "/secrets/s1", {"api-version": "7.5"}, V, None),
    "deleted-list": ("GET", "/deletedsecrets", {"api-version": "7.5", "maxresults": "2"}, V, None),
    "deleted-recover": ("POST", "/deletedsecrets/gone/recover", {"api-version": "7.5"}, V, None),
    "deleted-purge": ("DELETE", "/deletedsecrets/gone", {"api-version": "7.5"}, V, None),
    "key-create": ("POST", "/keys/k2/create", {"api-version": "7.5"}, V, {"kty": "EC", "crv": "P-384", "key_ops": ["sign", "verify"]}),
    "key-import": ("PUT", "/keys/k3", {"api-version": "7.5"}, V, {"key": {"kty": "oct", "k": "AAAAAAAAAAAAAAAAAAAAAA"}}),
    "key-get": ("GET", "/keys/k1", {"api-version": "7.5"}, V, None),
    "key-sign": ("POST", "/keys/e1//sign", {"api-version": "7.5"}, V, {"alg": "ES256", "value": "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"}),
    "key-encrypt": ("POST", "/keys/k1/encrypt", {"api-version": "7.5"}, V, {"alg": "RSA-OAEP-256", "value": "aGVsbG8"}),
    "key-wrap": ("POST", "/keys/k1/wrapkey", {"api-version": "7.5"}, V, {"alg": "RSA1_5", "value": "aGVsbG8"}),
    "key-rotate": ("POST", "/keys/k1/rotate", {"api-version": "7.5"}, V, None),
    "key-policy": ("PUT", "/keys/k1/rotationpolicy", {"api-version": "7.5"}, V, {"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}], "attributes": {"expiryTime": "P1Y"}}),
    "key-random": ("POST", "/rng", {"api-version": "7.5"}, V, {"count": 16}),
    "cert-create": ("POST", "/certificates/c2/create", {"api-version": "7.5"}, V, {"policy": {"issuer": {"name": "Self"}, "x509_props": {"subject": "CN=a, O=b", "validity_months": 12, "key_usage": ["digitalSignature"], "ekus": ["1.3.6.1.5.5.7.3.1"]}, "key_props": {"kty": "RSA", "key_size": 2048, "exportable": True}, "secret_props": {"contentType": "application/x-pem-file"}}}),
    "cert-import-pem": ("POST", "/certificates/c3/import", {"api-version": "7.5"}, V, {"value": key_pem + cert_pem, "policy": {"secret_props": {"contentType": "application/x-pem-file"}}}),
    "cert-import-pfx": ("POST", "/certificates/c4/import", {"api-version": "7.5"}, V, {"value": base64.b64encode(pfx).decode(), "pwd": "fixture-pw"}),
    "cert-merge": ("POST", "/certificates/p1/pending/merge", {"api-version": "7.5"}, V, {"x5c": [base64.b64encode(cert_der).decode()]}),
    "cert-pending": ("GET", "/certificates/p1/pending", {"api-version": "7.5"}, V, None),
    "cert-get": ("GET", "/certificates/c1", {"api-version": "7.5"}, V, None),
    "cert-policy": ("PATCH", "/certificates/c1/policy", {"api-version": "7.5"}, V, {"x509_props": {"subject": "CN=x", "sans": {"dns_names": ["a.example"], "emails": ["a@b"], "upns": ["u@v"]}}}),
    "cert-issuer": ("PUT", "/certificates/issuers/i1", {"api-version": "7.5"}, V, {"provider": "Test"}),
    "cert-contacts": ("PUT", "/certificates/contacts", {"api-version": "7.5"}, V, {"contacts": [{"email": "a@b.c"}]}),
    "cert-list": ("GET", "/certificates", {"api-version": "7.5", "maxresults": "3", "includePending": "true"}, V, None),
    "private": ("GET", "/secrets/s1", {"api-version": "7.6"}, {**V, "x-fuzz-via": "endpoint"}, None),
    "no-token": ("GET", "/secrets/s1", {"api-version": "7.5"}, {}, None),
    "health": ("GET", "/healthstatus", {}, {}, None),
}
for name, (m, p, q, h, b) in dataplane.items():
    write("dataplane_request", name, request(m, p, q, h, b))
# An extended key usage DER cannot encode (first arc 5) reached yasna's assertion before policies
# checked OIDs by X.660's rules (the crash a 600 s run found).
write("dataplane_request", "cert-create-bad-eku", request("POST", "/certificates/a2/create", {"api-version": "7.5"}, V, {"policy": {"issuer": {"name": "Self"}, "x509_props": {"subject": "CN=a", "ekus": ["5.3.6.1.5.5.7.3.1"]}}}))

write("certificates", "der", b"\x00" + cert_der)
write("certificates", "pem", b"\x01" + (key_pem + cert_pem).encode())
for f in ["key-pbes2.pem", "key-pbe-sha1-3des.pem"]:
    write("certificates", f"pem-{f}", b"\x01" + ((root / "crates/vaultlink-crypto/tests/fixtures" / f).read_text() + cert_pem).encode())
    enc = base64.b64decode("".join(l for l in (root / "crates/vaultlink-crypto/tests/fixtures" / f).read_text().splitlines() if not l.startswith("-----")))
    write("certificates", f"pkcs8-{f}", b"\x03" + enc)
write("certificates", "pkcs12", b"\x02" + pfx)

write("jwt_verify", "token", b"\x00eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJleHAiOjJ9.c2ln")
write("jwt_verify", "claims", b"\x01" + json.dumps({"aud": "https://vault.azure.net", "exp": 1900000000, "nbf": 1700000000.5, "tid": TENANT}).encode())
# A float that serde_json read one ULP off before `float_roundtrip` (the crash fuzz-smoke found).
write("jwt_verify", "float-claims", b'\x01{"aud": "https://v ult.a~ure.net", "exp": 1056153114000.000500, "tid": "8d"}')


def dns_query(name, qtype, edns=False):
    import struct
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\x00" + struct.pack(">HH", qtype, 1)
    head = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 1 if edns else 0)
    opt = b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 0) if edns else b""
    return head + q + opt


for pick, name, qtype, edns in [(0, "kv1.vault.azure.net", 1, False), (1, "kv1.vault.azure.net", 1, True),
                                 (1, "big.fuzz.internal", 16, True), (0x81, "alias.fuzz.internal", 1, False),
                                 (1, "a.wild.fuzz.internal", 28, False), (2, "loop.fuzz.internal", 5, True),
                                 (1, "fuzz.internal", 15, False)]:
    write("handle_packet", f"{name}-{qtype}-{pick}", bytes([pick]) + dns_query(name, qtype, edns))
