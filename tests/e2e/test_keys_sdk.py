"""The real Python `azure-keyvault-keys` (KeyClient, CryptographyClient) through the proxy, and
the independent `cryptography` library as the judge of every signature and ciphertext (issue 6).

As in test_secrets_sdk.py, the scenario runs in a subprocess with only the `vaultlink env`
variables. The SDK is azure-keyvault-keys NEWEST_SDK (installed beside the venv); the venv's own
copy is the one az pins.

The SDK's CryptographyClient does public-key operations (encrypt, verify, wrap) *locally* when it
can read the key; the scenario uses one such client (local encrypt/wrap -> vaultlink
decrypt/unwrap) and one that it marks as unable to read the key (`_keys_get_forbidden`, the state
the SDK enters after a 403 on GET), so that every operation goes to vaultlink.

Signatures are verified here, in the test process, with `cryptography` against the public JWK
that vaultlink returned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from conftest import Vaultlink
from dp_fixtures import VERSION_RE, provision, vault_url
from sdk import as_int, run_scenario, scenario, sdk_overlay, sdk_pin, unb64u

RG = "rg-keys-sdk"
VAULT = "kv-keys-sdk"
NEWEST_SDK = sdk_pin("azure-keyvault-keys", "4.11.3")  # newest stable azure-keyvault-keys on PyPI (az pins 4.12.0b2 in the venv)

SCRIPT = scenario(
    r'''
    import hashlib
    from azure.core.exceptions import ResourceNotFoundError
    from azure.keyvault.keys import KeyClient, KeyCurveName, KeyRotationPolicy, KeyRotationLifetimeAction, KeyRotationPolicyAction
    from azure.keyvault.keys import JsonWebKey
    from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, KeyWrapAlgorithm, SignatureAlgorithm
    import azure.keyvault.keys
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    vault_url, p = sys.argv[1], sys.argv[2]
    cred = credential()
    kc = KeyClient(vault_url=vault_url, credential=cred)
    out = {"sdk_version": azure.keyvault.keys.__version__}

    def remote(key_id):
        c = CryptographyClient(key_id, cred)
        c._keys_get_forbidden = True  # as after a 403 on GET: every operation goes to the vault
        return c

    def jwk_of(k):
        j = {"kid": k.key.kid, "kty": sv(k.key.kty), "key_ops": [sv(x) for x in k.key.key_ops or []]}
        for part in ("n", "e", "x", "y", "d", "p", "q", "dp", "dq", "qi", "k"):
            v = getattr(k.key, part, None)
            if v is not None:
                j[part] = b64u(v)
        if k.key.crv:
            j["crv"] = sv(k.key.crv)
        return j

    HASH = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}

    def digest_for(alg, msg):
        return HASH[alg[2:5]](msg).digest()

    msg = b"vaultlink signs this message"
    # ---- create: RSA sizes, EC curves
    keys = {}
    for name, make in [
        ("rsa2048", lambda n: kc.create_rsa_key(n, size=2048, tags={"t": "1"})),
        ("rsa3072", lambda n: kc.create_rsa_key(n, size=3072)),
        ("rsa4096", lambda n: kc.create_rsa_key(n, size=4096, public_exponent=65537)),
        ("p256", lambda n: kc.create_ec_key(n, curve=KeyCurveName.p_256)),
        ("p384", lambda n: kc.create_ec_key(n, curve=KeyCurveName.p_384)),
        ("p521", lambda n: kc.create_ec_key(n, curve=KeyCurveName.p_521)),
        ("p256k", lambda n: kc.create_ec_key(n, curve=KeyCurveName.p_256_k)),
    ]:
        k = make(p + name)
        keys[name] = k
        out.setdefault("created", {})[name] = {"id": k.id, "name": k.name, "version": k.properties.version,
                                               "key_type": sv(k.key_type), "jwk": jwk_of(k),
                                               "tags": k.properties.tags,
                                               "enabled": k.properties.enabled,
                                               "recovery_level": k.properties.recovery_level}
    try:
        kc.create_rsa_key(p + "hsm", hardware_protected=True)
        out["hsm_on_standard"] = "no error"
    except HttpResponseError as e:
        out["hsm_on_standard"] = err(e)
    g = kc.get_key(p + "rsa2048")
    out["get"] = {"id": g.id, "jwk": jwk_of(g)}

    # ---- sign in vaultlink (remote), verified later with `cryptography` against the JWK
    sigs = []
    plan = [("rsa2048", a) for a in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")]
    plan += [("rsa3072", "PS256"), ("rsa4096", "RS512"), ("p256", "ES256"), ("p384", "ES384"),
             ("p521", "ES512"), ("p256k", "ES256K")]
    for name, alg in plan:
        c = remote(keys[name].id)
        d = digest_for(alg, msg)
        r = c.sign(SignatureAlgorithm(alg), d)
        v = c.verify(SignatureAlgorithm(alg), d, r.signature)
        bad = bytearray(r.signature)
        bad[len(bad) // 2] ^= 1
        vb = c.verify(SignatureAlgorithm(alg), d, bytes(bad))
        sigs.append({"key": name, "alg": alg, "digest": b64u(d), "signature": b64u(r.signature),
                     "kid": r.key_id, "remote_verify": v.is_valid, "remote_verify_tampered": vb.is_valid})
    out["signatures"] = sigs

    # ---- encrypt locally with `cryptography` from the JWK, decrypt in vaultlink
    pub = rsa.RSAPublicNumbers(int.from_bytes(keys["rsa2048"].key.e, "big"),
                               int.from_bytes(keys["rsa2048"].key.n, "big")).public_key()
    pads = {
        "RSA1_5": padding.PKCS1v15(),
        "RSA-OAEP": padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
        "RSA-OAEP-256": padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    }
    dec = {}
    rc = remote(keys["rsa2048"].id)
    for alg, pad in pads.items():
        pt = os.urandom(32)
        ct = pub.encrypt(pt, pad)
        r = rc.decrypt(EncryptionAlgorithm(alg), ct)
        u = rc.unwrap_key(KeyWrapAlgorithm(alg), pub.encrypt(pt, pad))
        dec[alg] = {"decrypt_ok": r.plaintext == pt, "unwrap_ok": u.key == pt, "kid": r.key_id}
        # Vaultlink's own encrypt/wrap, back through vaultlink.
        e2 = rc.encrypt(EncryptionAlgorithm(alg), pt)
        w2 = rc.wrap_key(KeyWrapAlgorithm(alg), pt)
        dec[alg]["remote_round_trip"] = (rc.decrypt(EncryptionAlgorithm(alg), e2.ciphertext).plaintext == pt
                                         and rc.unwrap_key(KeyWrapAlgorithm(alg), w2.encrypted_key).key == pt)
        bad = bytearray(ct)
        bad[7] ^= 0x20
        try:
            r = rc.decrypt(EncryptionAlgorithm(alg), bytes(bad))
            dec[alg]["tampered"] = "decrypted to the plaintext" if r.plaintext == pt else "other bytes"
        except HttpResponseError as e:
            dec[alg]["tampered"] = err(e)
    # The SDK's default client: local wrap with the downloaded JWK, remote unwrap.
    lc = CryptographyClient(keys["rsa2048"], cred)
    w = lc.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, b"k" * 32)
    dec["sdk_local_wrap_remote_unwrap"] = lc.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, w.encrypted_key).key == b"k" * 32
    out["decrypt"] = dec

    # ---- import a key made by `cryptography`, with its private parts
    priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nums = priv.private_numbers()
    def ib(i, length=None):
        length = length or (i.bit_length() + 7) // 8
        return i.to_bytes(length, "big")
    jwk = JsonWebKey(kty="RSA", key_ops=["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
                     n=ib(nums.public_numbers.n), e=ib(nums.public_numbers.e), d=ib(nums.d), p=ib(nums.p),
                     q=ib(nums.q), dp=ib(nums.dmp1), dq=ib(nums.dmq1), qi=ib(nums.iqmp))
    imp = kc.import_key(p + "imported", jwk)
    out["imported"] = {"id": imp.id, "jwk": jwk_of(imp),
                       "n_matches": imp.key.n.lstrip(b"\0") == ib(nums.public_numbers.n)}
    ic = remote(imp.id)
    pt = b"imported key secret"
    ct = ic.encrypt(EncryptionAlgorithm.rsa_oaep_256, pt).ciphertext
    out["imported"]["local_decrypt_ok"] = priv.decrypt(ct, pads["RSA-OAEP-256"]) == pt
    s = ic.sign(SignatureAlgorithm.ps384, hashlib.sha384(msg).digest()).signature
    try:
        priv.public_key().verify(s, msg, padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48), hashes.SHA384())
        out["imported"]["local_verify_ok"] = True
    except Exception as e:
        out["imported"]["local_verify_ok"] = repr(e)
    eck = ec.generate_private_key(ec.SECP384R1())
    en = eck.private_numbers()
    ejwk = JsonWebKey(kty="EC", crv="P-384", key_ops=["sign", "verify"], x=ib(en.public_numbers.x, 48),
                      y=ib(en.public_numbers.y, 48), d=ib(en.private_value, 48))
    eimp = kc.import_key(p + "imported-ec", ejwk)
    out["imported_ec"] = {"jwk": jwk_of(eimp)}
    es = remote(eimp.id).sign(SignatureAlgorithm.es384, hashlib.sha384(msg).digest()).signature
    out["imported_ec"]["signature"] = b64u(es)

    # ---- key_ops, disabled key, wrong digest length, wrong algorithm
    so = kc.create_rsa_key(p + "signonly", key_operations=["sign", "verify"])
    try:
        remote(so.id).decrypt(EncryptionAlgorithm.rsa_oaep, b"\0" * 256)
        out["op_forbidden"] = "no error"
    except HttpResponseError as e:
        out["op_forbidden"] = err(e)
    try:
        remote(so.id).sign(SignatureAlgorithm.rs256, b"short")
        out["short_digest"] = "no error"
    except HttpResponseError as e:
        out["short_digest"] = err(e)
    try:
        remote(so.id).sign(SignatureAlgorithm.es256, b"\0" * 32)
        out["wrong_alg"] = "no error"
    except HttpResponseError as e:
        out["wrong_alg"] = err(e)
    upd = kc.update_key_properties(p + "signonly", enabled=False, tags={"u": "2"},
                                   key_operations=["sign"])
    out["updated"] = {"enabled": upd.properties.enabled, "tags": upd.properties.tags, "ops": [sv(x) for x in upd.key_operations]}
    try:
        remote(so.id).sign(SignatureAlgorithm.rs256, b"\0" * 32)
        out["disabled_sign"] = "no error"
    except HttpResponseError as e:
        out["disabled_sign"] = err(e)

    # ---- rotate, versions, rotation policy
    rot = kc.rotate_key(p + "rsa3072")
    out["rotated"] = {"version": rot.properties.version, "size": rot.key.n and len(rot.key.n.lstrip(b"\0")) * 8,
                      "versions": sorted(v.version for v in kc.list_properties_of_key_versions(p + "rsa3072"))}
    pol = kc.update_key_rotation_policy(p + "rsa3072", KeyRotationPolicy(
        expires_in="P1Y", lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P90D")]))
    got = kc.get_key_rotation_policy(p + "rsa3072")
    out["policy"] = {"expires_in": got.expires_in, "id": got.id,
                     "actions": [[sv(a.action), a.time_after_create] for a in got.lifetime_actions],
                     "set_expires_in": pol.expires_in}

    # ---- list (paged)
    out["listed"] = sorted(k.name for k in kc.list_properties_of_keys() if k.name.startswith(p))
    out["page_sizes_max3"] = [len(list(pg)) for pg in kc.list_properties_of_keys(max_page_size=3).by_page()]

    # ---- delete, deleted get/list, recover, purge
    dk = kc.begin_delete_key(p + "p384").result()
    out["deleted"] = {"name": dk.name, "recovery_id": dk.recovery_id, "purge": bool(dk.scheduled_purge_date),
                      "jwk": jwk_of(dk)}
    out["get_deleted"] = kc.get_deleted_key(p + "p384").recovery_id
    out["list_deleted"] = sorted(k.name for k in kc.list_deleted_keys())
    try:
        kc.create_ec_key(p + "p384", curve="P-384")
        out["reuse_deleted"] = "no error"
    except HttpResponseError as e:
        out["reuse_deleted"] = err(e)
    rk = kc.begin_recover_deleted_key(p + "p384").result()
    out["recovered"] = {"name": rk.name, "same_version": rk.properties.version == keys["p384"].properties.version}
    kc.begin_delete_key(p + "p521").wait()
    kc.purge_deleted_key(p + "p521")
    try:
        kc.get_deleted_key(p + "p521")
        out["after_purge"] = "still there"
    except ResourceNotFoundError as e:
        out["after_purge"] = err(e)
    try:
        kc.get_key(p + "missing")
        out["missing"] = "no error"
    except ResourceNotFoundError as e:
        out["missing"] = err(e)

    # ---- backup / restore: the restored key signs what the original JWK verifies
    blob = kc.backup_key(p + "p256")
    out["backup_len"] = len(blob)
    kc.begin_delete_key(p + "p256").wait()
    kc.purge_deleted_key(p + "p256")
    rs = kc.restore_key_backup(blob)
    out["restored"] = {"id": rs.id, "jwk": jwk_of(rs)}
    d = hashlib.sha256(msg).digest()
    out["restored"]["signature"] = b64u(remote(rs.id).sign(SignatureAlgorithm.es256, d).signature)
    try:
        kc.restore_key_backup(blob)
        out["restore_existing"] = "no error"
    except HttpResponseError as e:
        out["restore_existing"] = err(e)
    print(json.dumps(out))
    '''
)


@pytest.fixture(scope="module")
def vl(logged_in: Vaultlink) -> Vaultlink:
    provision(logged_in, RG, VAULT)
    return logged_in


@pytest.fixture(scope="session")
def keys_sdk_overlay() -> Path:
    """azure-keyvault-keys NEWEST_SDK in a --target dir beside the venv (cached), first on
    PYTHONPATH for the scenario; its dependencies come from the venv."""
    return sdk_overlay("azure-keyvault-keys", NEWEST_SDK)


HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1(),
          "P-256K": ec.SECP256K1()}


def verify_locally(jwk: dict[str, Any], alg: str, digest: bytes, sig: bytes) -> None:
    """Raises unless `sig` is a valid `alg` signature of `digest` under the public JWK."""
    h = HASHES[alg[2:5]]
    pre = utils.Prehashed(h)
    if alg.startswith(("RS", "PS")):
        key = rsa.RSAPublicNumbers(as_int(jwk["e"]), as_int(jwk["n"])).public_key()
        pad = (padding.PKCS1v15() if alg.startswith("RS")
               else padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size))
        key.verify(sig, digest, pad, pre)
    else:
        key = ec.EllipticCurvePublicNumbers(as_int(jwk["x"]), as_int(jwk["y"]),
                                            CURVES[jwk["crv"]]).public_key()
        half = len(sig) // 2
        der = utils.encode_dss_signature(int.from_bytes(sig[:half], "big"),
                                         int.from_bytes(sig[half:], "big"))
        key.verify(der, digest, ec.ECDSA(pre))


@pytest.mark.parametrize("sdk,prefix", [("newest", "sdk-"), ("venv", "b2-")])
def test_sdk_every_key_operation(vl: Vaultlink, tmp_path: Path, keys_sdk_overlay: Path,
                                 sdk: str, prefix: str) -> None:
    """NEWEST_SDK (4.11.3) and the venv's azure-keyvault-keys (4.12.0b2, api 2026-01-01-preview)."""
    o = run_scenario(vl, tmp_path, "keys_scenario.py", SCRIPT, VAULT, prefix,
                     overlay=keys_sdk_overlay if sdk == "newest" else None)
    if sdk == "newest":
        assert o["sdk_version"] == NEWEST_SDK, o["sdk_version"]
    base = vault_url(VAULT)

    # Created keys: ids, JWK shape, no private parts.
    sizes = {"rsa2048": 2048, "rsa3072": 3072, "rsa4096": 4096}
    crvs = {"p256": "P-256", "p384": "P-384", "p521": "P-521", "p256k": "P-256K"}
    for name, c in o["created"].items():
        assert VERSION_RE.match(c["version"]), c
        assert c["id"] == f"{base}/keys/{prefix}{name}/{c['version']}", c
        assert c["jwk"]["kid"] == c["id"], c
        assert c["enabled"] is True and c["recovery_level"] == "Recoverable+Purgeable", c
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(c["jwk"]), c["jwk"]
        if name in sizes:
            assert c["key_type"] == "RSA" and len(unb64u(c["jwk"]["n"])) * 8 == sizes[name], c
            assert c["jwk"]["e"] == "AQAB", c
            assert c["jwk"]["key_ops"] == ["encrypt", "decrypt", "sign", "verify", "wrapKey",
                                           "unwrapKey"], c
        else:
            assert c["key_type"] == "EC" and c["jwk"]["crv"] == crvs[name], c
    assert o["created"]["rsa2048"]["tags"] == {"t": "1"}
    h = o["hsm_on_standard"]
    assert h != "no error" and h["status"] == 400, h
    assert h["message"] == "Hardware key operation not allowed on standard vault", h
    assert o["get"]["jwk"] == o["created"]["rsa2048"]["jwk"], o["get"]

    # Every vaultlink signature verifies with `cryptography` against the JWK; tampering fails.
    assert len(o["signatures"]) == 12
    for s in o["signatures"]:
        jwk = o["created"][s["key"]]["jwk"]
        assert s["kid"] == jwk["kid"], s
        sig, digest = unb64u(s["signature"]), unb64u(s["digest"])
        verify_locally(jwk, s["alg"], digest, sig)
        bad = bytearray(sig)
        bad[3] ^= 0x04
        with pytest.raises(Exception):
            verify_locally(jwk, s["alg"], digest, bytes(bad))
        assert s["remote_verify"] is True and s["remote_verify_tampered"] is False, s

    # Ciphertexts made with `cryptography` decrypt/unwrap in vaultlink.
    for alg in ("RSA1_5", "RSA-OAEP", "RSA-OAEP-256"):
        r = o["decrypt"][alg]
        assert r["decrypt_ok"] and r["unwrap_ok"] and r["remote_round_trip"], (alg, r)
        assert r["kid"] == o["created"]["rsa2048"]["id"], r
        if alg != "RSA1_5":
            assert isinstance(r["tampered"], dict) and r["tampered"]["status"] == 400, (alg, r)
        else:
            assert r["tampered"] != "decrypted to the plaintext", r
    assert o["decrypt"]["sdk_local_wrap_remote_unwrap"] is True

    # Imported keys: vaultlink's ciphertext decrypts with the local private key and the reverse.
    imp = o["imported"]
    assert imp["n_matches"] and imp["local_decrypt_ok"] is True and imp["local_verify_ok"] is True
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(imp["jwk"]), imp["jwk"]
    ie = o["imported_ec"]
    verify_locally(ie["jwk"], "ES384", __import__("hashlib").sha384(
        b"vaultlink signs this message").digest(), unb64u(ie["signature"]))
    assert "d" not in ie["jwk"]

    f = o["op_forbidden"]
    assert f != "no error" and (f["status"], f["code"], f["inner"]) == (403, "Forbidden",
                                                                         "KeyOperationForbidden"), f
    assert f["message"] == "Operation decrypt is not permitted on this key.", f
    sd = o["short_digest"]
    assert sd != "no error" and (sd["status"], sd["code"]) == (400, "BadParameter"), sd
    assert sd["message"] == ("Invalid length of 'value': 5 bytes. RS256 requires 32 bytes, "
                             "encoded with base64url."), sd
    wa = o["wrong_alg"]
    assert wa != "no error" and (wa["status"], wa["code"]) == (400, "BadParameter"), wa
    assert o["updated"] == {"enabled": False, "tags": {"u": "2"}, "ops": ["sign"]}, o["updated"]
    ds = o["disabled_sign"]
    assert ds != "no error" and (ds["status"], ds["inner"]) == (403, "KeyDisabled"), ds

    rot = o["rotated"]
    assert rot["size"] == 3072 and rot["version"] in rot["versions"], rot
    assert len(rot["versions"]) == 2, rot
    pol = o["policy"]
    assert pol["expires_in"] == "P1Y" and pol["set_expires_in"] == "P1Y", pol
    assert pol["actions"] == [["Rotate", "P90D"]], pol
    assert pol["id"] == f"{base}/keys/{prefix}rsa3072/rotationpolicy", pol

    expected = sorted(f"{prefix}{n}" for n in ["rsa2048", "rsa3072", "rsa4096", "p256", "p384",
                                               "p521", "p256k", "imported", "imported-ec",
                                               "signonly"])
    assert o["listed"] == expected, o["listed"]
    assert all(n <= 3 for n in o["page_sizes_max3"]) and len(o["page_sizes_max3"]) >= 4, o

    d = o["deleted"]
    assert d["name"] == f"{prefix}p384" and d["purge"], d
    assert d["recovery_id"] == f"{base}/deletedkeys/{prefix}p384", d
    assert o["get_deleted"] == d["recovery_id"]
    assert f"{prefix}p384" in o["list_deleted"]
    ru = o["reuse_deleted"]
    assert ru != "no error" and (ru["status"], ru["inner"]) == (409, "ObjectIsDeletedButRecoverable")
    assert o["recovered"] == {"name": f"{prefix}p384", "same_version": True}, o["recovered"]
    assert o["after_purge"] != "still there" and o["after_purge"]["status"] == 404
    assert (o["missing"]["status"], o["missing"]["code"]) == (404, "KeyNotFound"), o["missing"]

    r = o["restored"]
    assert r["jwk"]["x"] == o["created"]["p256"]["jwk"]["x"], r
    assert r["id"] == o["created"]["p256"]["id"], r
    verify_locally(o["created"]["p256"]["jwk"], "ES256", __import__("hashlib").sha256(
        b"vaultlink signs this message").digest(), unb64u(r["signature"]))
    assert o["restore_existing"] != "no error" and o["restore_existing"]["status"] == 409
