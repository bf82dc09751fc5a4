"""What the clients' own test suites expect (issue 15), each with the real client that showed it:

- a management SDK newer than vaultlink (azure-mgmt-keyvault 14.1.0 sends api-version
  2026-05-15) creates, reads, lists and deletes a vault; a well-formed version newer than any
  vaultlink knows is served as the newest known, on Resource Manager and on the data plane, while
  malformed and too-old versions are still refused (`az rest`);
- listing the versions of a name that does not exist is an empty list (the Python secrets, keys
  and certificates SDKs page through it without a 404);
- Azure's region list: display names, paired regions, the EUAP regions the CLI's own tests use
  (`az account list-locations`, `az group create -l centraluseuap`);
- `az provider unregister` passes through `Unregistering` to `Unregistered`;
- certificates as the Python certificates SDK's own tests use them: the pending message of
  issuer Unknown, merge of the x5c the SDK's merge test sends, preserveCertOrder, alternative
  names without a subject (IP addresses and URIs among them), platformManaged, PEM import with
  an encrypted private key (PBES2 and the PKCS#12 PBE OpenSSL writes), an issuer's account id
  cleared;
- private DNS with `az network private-dns`: no `tags` when none were given, Azure's error for a
  missing parent zone.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import SUBSCRIPTION_ID, Vaultlink
from dp_fixtures import provision, vault_url
from sdk import NEWEST, run_scenario, scenario, sdk_overlay, sdk_pin

RG = "rg-conformance"
VAULT = "kv-conformance"
MGMT_KEYVAULT = sdk_pin("azure-mgmt-keyvault", "14.1.0")  # the newest release sends api-version 2026-05-15
CERTS_SDK = sdk_pin("azure-keyvault-certificates", "4.12.0")


@pytest.fixture(scope="module")
def vl(vaultlink_module: Vaultlink) -> Vaultlink:
    vaultlink_module.login_sp()
    provision(vaultlink_module, RG, VAULT)
    return vaultlink_module


def rest(vl: Vaultlink, method: str, url: str, *extra: str) -> Any:
    return vl.az("rest", "--method", method, "--url", url, *extra, check=False)


MGMT_SCRIPT = scenario(
    r'''
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.keyvault.models import (Sku, VaultCreateOrUpdateParameters,
                                            VaultProperties)

    sub, rg, name = sys.argv[2], sys.argv[3], sys.argv[4]
    client = KeyVaultManagementClient(credential(), sub)
    params = VaultCreateOrUpdateParameters(
        location="westeurope",
        properties=VaultProperties(tenant_id=os.environ["AZURE_TENANT_ID"],
                                   sku=Sku(family="A", name="standard"),
                                   enable_rbac_authorization=True))
    created = client.vaults.begin_create_or_update(rg, name, params).result()
    got = client.vaults.get(rg, name)
    listed = [v.name for v in client.vaults.list_by_resource_group(rg)]
    client.vaults.delete(rg, name)
    gone = expect_error(lambda: client.vaults.get(rg, name))
    print(json.dumps({
        "api_version": client._config.api_version,
        "created": created.name, "uri": got.properties.vault_uri,
        "rbac": got.properties.enable_rbac_authorization, "listed": listed, "gone": gone,
    }))
    '''
)


def test_newest_management_sdk_creates_and_deletes_a_vault(vl: Vaultlink, tmp_path: Path) -> None:
    overlay = sdk_overlay("azure-mgmt-keyvault", MGMT_KEYVAULT)
    o = run_scenario(vl, tmp_path, "mgmt.py", MGMT_SCRIPT, VAULT, SUBSCRIPTION_ID, RG,
                     "kv-mgmt-newest", overlay=overlay)
    # A newer release (the newest-clients stage) may send a newer version still.
    assert o["api_version"] == "2026-05-15" or (NEWEST and o["api_version"] > "2026-05-15"), o
    assert o["created"] == "kv-mgmt-newest", o
    assert o["uri"] == "https://kv-mgmt-newest.vault.azure.net/", o
    assert o["rbac"] is True, o
    assert "kv-mgmt-newest" in o["listed"], o
    assert o["gone"]["status"] == 404 and o["gone"]["code"] == "ResourceNotFound", o


def test_newer_api_versions_are_served_as_the_newest_known(vl: Vaultlink) -> None:
    vault = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"
    known = rest(vl, "get", f"{vault}?api-version=2026-02-01")
    newer = rest(vl, "get", f"{vault}?api-version=2099-01-01")
    assert known.rc == 0 and newer.rc == 0, newer.describe()
    assert newer.json["id"] == known.json["id"] and newer.json["properties"]["vaultUri"] == known.json["properties"]["vaultUri"]
    group = rest(vl, "get", f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RG}?api-version=2031-06-01-preview")
    assert group.rc == 0 and group.json["name"] == RG, group.describe()
    for bad, code in [("2014-01-01", "NoRegisteredProviderFound"), ("2026-13-01", "InvalidApiVersionParameter"),
                      ("latest", "InvalidApiVersionParameter")]:
        r = rest(vl, "get", f"{vault}?api-version={bad}")
        assert r.rc != 0 and code in r.stderr, r.describe()

    vl.az("keyvault", "secret", "set", "--vault-name", VAULT, "-n", "s1", "--value", "v1")
    url = f"{vault_url(VAULT).rstrip('/')}/secrets/s1"
    dp = ("--resource", "https://vault.azure.net")
    served = rest(vl, "get", f"{url}?api-version=2099-01-01", *dp)
    assert served.rc == 0 and served.json["value"] == "v1", served.describe()
    for refused in ["7.7", "2025-01-01", "abc"]:
        r = rest(vl, "get", f"{url}?api-version={refused}", *dp)
        assert r.rc != 0 and "BadParameter" in r.stderr and f"({refused}) is not recognized" in r.stderr, r.describe()


VERSIONS_SCRIPT = scenario(
    r'''
    from azure.keyvault.certificates import CertificateClient
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.secrets import SecretClient

    url = sys.argv[1]
    out = {}
    for kind, client, lister in [
        ("secrets", SecretClient(url, credential()), "list_properties_of_secret_versions"),
        ("keys", KeyClient(url, credential()), "list_properties_of_key_versions"),
        ("certificates", CertificateClient(url, credential()), "list_properties_of_certificate_versions"),
    ]:
        try:
            out[kind] = [p.version for p in getattr(client, lister)("never-created")]
        except HttpResponseError as e:
            out[kind] = err(e)
    print(json.dumps(out))
    '''
)


def test_versions_of_a_missing_name_are_an_empty_list(vl: Vaultlink, tmp_path: Path) -> None:
    overlay = sdk_overlay("azure-keyvault-certificates", CERTS_SDK)
    o = run_scenario(vl, tmp_path, "versions.py", VERSIONS_SCRIPT, VAULT, overlay=overlay)
    assert o == {"secrets": [], "keys": [], "certificates": []}, o


def test_regions_have_display_names_pairs_and_euap(vl: Vaultlink) -> None:
    regions = {r["name"]: r for r in vl.az("account", "list-locations")}
    weu = regions["westeurope"]
    assert weu["displayName"] == "West Europe" and weu["regionalDisplayName"] == "(Europe) West Europe", weu
    assert [p["name"] for p in weu["metadata"]["pairedRegion"]] == ["northeurope"], weu
    for euap, pair in [("centraluseuap", "eastus2euap"), ("eastus2euap", "centraluseuap")]:
        assert [p["name"] for p in regions[euap]["metadata"]["pairedRegion"]] == [pair], regions[euap]
    assert regions["unitedstates"]["metadata"]["regionType"] == "Logical"
    group = vl.az("group", "create", "-n", "rg-euap", "-l", "centraluseuap")
    assert group["location"] == "centraluseuap", group
    v = vl.az("keyvault", "create", "-n", "kv-euap-conformance", "-g", "rg-euap", "-l", "eastus2euap")
    assert v["location"] == "eastus2euap", v
    refused = vl.az_fail("group", "create", "-n", "rg-logical", "-l", "unitedstates")
    assert "LocationNotAvailableForResourceGroup" in refused.stderr, refused.describe()


def test_provider_unregister_passes_through_unregistering(vl: Vaultlink) -> None:
    ns = "Microsoft.KeyVault"
    vl.az("provider", "unregister", "-n", ns, output=None)
    assert vl.az("provider", "show", "-n", ns)["registrationState"] == "Unregistering"
    refused = vl.az_fail("keyvault", "create", "-n", "kv-unregistered", "-g", RG, "-l", "westeurope")
    assert "MissingSubscriptionRegistration" in refused.stderr, refused.describe()
    deadline = time.monotonic() + 30
    while vl.az("provider", "show", "-n", ns)["registrationState"] != "Unregistered":
        assert time.monotonic() < deadline, "still not Unregistered after 30 s"
        time.sleep(1)
    vl.register_providers(ns, wait=True)
    assert vl.az("provider", "show", "-n", ns)["registrationState"] == "Registered"


CERTS_SCRIPT = scenario(
    r'''
    import datetime
    from azure.keyvault.certificates import (
        CertificateClient, CertificatePolicy, CertificateContentType, PlatformManaged)
    from azure.keyvault.secrets import SecretClient
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cc = CertificateClient(sys.argv[1], credential())
    sc = SecretClient(sys.argv[1], credential())
    out = {}
    der = lambda c: c.public_bytes(serialization.Encoding.DER)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Conformance CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))

    def pending(name, **kw):
        policy = CertificatePolicy(issuer_name="Unknown", subject=f"CN={name}",
                                   certificate_transparency=False, **kw.pop("policy", {}))
        cc.begin_create_certificate(name, policy, **kw)
        op = cc.get_certificate_operation(name)
        csr = x509.load_der_x509_csr(op.csr)
        leaf = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca_name)
                .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
                .sign(ca_key, hashes.SHA256()))
        return op, leaf

    # Issuer Unknown: the operation waits for a merge; the merge as the SDK's own test sends it
    # (the PEM body's base64 text, as bytes, which the SDK base64-encodes once more).
    op, leaf = pending("merge-b64-text")
    out["pending_details"] = [op.status, op.status_details]
    text = leaf.public_bytes(serialization.Encoding.PEM).decode()
    body = "".join(l for l in text.splitlines() if not l.startswith("-----"))
    merged = cc.merge_certificate("merge-b64-text", [body.encode()])
    out["merged_is_leaf"] = bytes(merged.cer) == der(leaf)
    out["merged_op"] = cc.get_certificate_operation("merge-b64-text").status

    # preserveCertOrder: a chain given CA first keeps that order only when asked to.
    pem_policy = {"content_type": CertificateContentType.pem}
    for name, preserve in [("chain-default", None), ("chain-preserved", True)]:
        kw = {"policy": pem_policy}
        if preserve is not None:
            kw["preserve_order"] = preserve
        op, leaf = pending(name, **kw)
        merged = cc.merge_certificate(name, [der(ca), der(leaf)])
        secret = sc.get_secret(name).value
        order = [der(c) for c in x509.load_pem_x509_certificates(secret.encode())]
        out[name] = {"op_preserve": op.preserve_order, "preserve": merged.properties.preserve_order,
                     "cer_is_leaf": bytes(merged.cer) == der(leaf),
                     "leaf_first": order == [der(leaf), der(ca)],
                     "ca_first": order == [der(ca), der(leaf)]}

    # Alternative names without a subject, IP addresses and URIs among them.
    sans = CertificatePolicy(issuer_name="Self", san_dns_names=["only.contoso.test"],
                             san_ip_addresses=["10.20.30.40", "2001:db8::7"],
                             san_uris=["spiffe://contoso.test/app"])
    c = cc.begin_create_certificate("sans-only", sans).result()
    cert = x509.load_der_x509_certificate(bytes(c.cer))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    out["sans_only"] = {
        "subject": cert.subject.rfc4514_string(), "critical": san.critical,
        "dns": san.value.get_values_for_type(x509.DNSName),
        "ips": [str(i) for i in san.value.get_values_for_type(x509.IPAddress)],
        "uris": san.value.get_values_for_type(x509.UniformResourceIdentifier),
        "policy_ips": c.policy.san_ip_addresses, "policy_uris": c.policy.san_uris}

    # A platform-managed policy is kept.
    pm = CertificatePolicy(issuer_name="Self", subject="CN=pm",
                           platform_managed=PlatformManaged(certificate_usage="ServerAuth"))
    c = cc.begin_create_certificate("platform-managed", pm).result()
    out["platform_managed"] = cc.get_certificate_policy("platform-managed").platform_managed.certificate_usage

    # PEM with an encrypted private key (files written by the test: PBES2 and PKCS#12 PBE).
    out["encrypted_pem"] = {}
    for name in ("pem-pbes2", "pem-pbe-3des"):
        data = open(f"{name}.pem", "rb").read()
        wrong = expect_error(lambda: cc.import_certificate(name, data, password="wrong", policy=CertificatePolicy(
            content_type=CertificateContentType.pem)))
        c = cc.import_certificate(name, data, password="import-pw",
                                  policy=CertificatePolicy(content_type=CertificateContentType.pem))
        out["encrypted_pem"][name] = {"wrong": wrong, "subject": c.policy.subject,
                                      "secret_has_key": "PRIVATE KEY" in sc.get_secret(name).value}

    # An issuer update with an empty account id clears it.
    cc.create_issuer("conformance-issuer", "Test", account_id="acct", password="pw")
    cc.update_issuer("conformance-issuer", account_id="", password="pw2")
    out["issuer_account_id"] = cc.get_issuer("conformance-issuer").account_id
    print(json.dumps(out))
    '''
)


def encrypted_pem(tmp_path: Path, name: str, openssl_args: list[str]) -> None:
    """A certificate with its key encrypted by OpenSSL's `pkcs8 -topk8` (what users hold)."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.fail("the openssl CLI is missing: run scripts/prerequisites (Debian package openssl)")
    key, cert, enc = (tmp_path / f"{name}.{x}" for x in ("key", "crt", "enc"))
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-subj", f"/CN={name}", "-days", "30"], check=True,
                   capture_output=True)
    subprocess.run([openssl, "pkcs8", "-topk8", "-in", str(key), "-out", str(enc), *openssl_args,
                    "-passout", "pass:import-pw"], check=True, capture_output=True)
    assert enc.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    (tmp_path / f"{name}.pem").write_text(enc.read_text() + cert.read_text())


def test_certificates_as_the_sdks_own_tests_use_them(vl: Vaultlink, tmp_path: Path) -> None:
    encrypted_pem(tmp_path, "pem-pbes2", ["-v2", "aes-256-cbc"])
    encrypted_pem(tmp_path, "pem-pbe-3des", ["-v1", "PBE-SHA1-3DES"])
    overlay = sdk_overlay("azure-keyvault-certificates", CERTS_SDK)
    o = run_scenario(vl, tmp_path, "certs.py", CERTS_SCRIPT, VAULT, overlay=overlay)
    assert o["pending_details"] == [
        "inProgress", "Pending certificate created. Please Perform Merge to complete the request."], o
    assert o["merged_is_leaf"] is True and o["merged_op"] == "completed", o
    assert o["chain-default"] == {"op_preserve": None, "preserve": None, "cer_is_leaf": True,
                                  "leaf_first": True, "ca_first": False}, o
    assert o["chain-preserved"] == {"op_preserve": True, "preserve": True, "cer_is_leaf": True,
                                    "leaf_first": False, "ca_first": True}, o
    assert o["sans_only"] == {
        "subject": "", "critical": True, "dns": ["only.contoso.test"],
        "ips": ["10.20.30.40", "2001:db8::7"], "uris": ["spiffe://contoso.test/app"],
        "policy_ips": ["10.20.30.40", "2001:db8::7"], "policy_uris": ["spiffe://contoso.test/app"]}, o
    assert o["platform_managed"] == "ServerAuth", o
    for name in ("pem-pbes2", "pem-pbe-3des"):
        got = o["encrypted_pem"][name]
        assert got["wrong"] != "no error" and got["wrong"]["status"] == 400, got
        assert got["subject"] == f"CN={name}" and got["secret_has_key"] is True, got
    assert o["issuer_account_id"] is None, o


def test_private_dns_as_the_cli_scenario_tests_see_it(vl: Vaultlink) -> None:
    """`az network private-dns`, as the CLI's own private DNS scenario tests check it: a zone,
    link or VNet created without tags has none (null, not {}), and a missing zone answers what
    their recordings show for each operation."""
    vl.az("network", "vnet", "create", "-g", RG, "-n", "vnet-pdns", "--address-prefix", "10.40.0.0/16")
    zone = vl.az("network", "private-dns", "zone", "create", "-g", RG, "-n", "conformance.test")
    link = vl.az("network", "private-dns", "link", "vnet", "create", "-g", RG, "-z", "conformance.test",
                 "-n", "link1", "-v", "vnet-pdns", "-e", "false")
    shown = [vl.az("network", "vnet", "show", "-g", RG, "-n", "vnet-pdns"),
             vl.az("network", "private-dns", "zone", "show", "-g", RG, "-n", "conformance.test"),
             vl.az("group", "show", "-n", RG)]
    for resource in [zone, link, *shown]:
        assert resource.get("tags") is None, resource
    tagged = vl.az("network", "private-dns", "zone", "update", "-g", RG, "-n", "conformance.test",
                   "--tags", "team=dns")
    assert tagged["tags"] == {"team": "dns"}, tagged

    # Reading a link of a zone that is not there: ResourceNotFound naming the link under it.
    missing = vl.az_fail("network", "private-dns", "link", "vnet", "show", "-g", RG, "-z", "missing.test",
                         "-n", "link1")
    assert "(ResourceNotFound)" in missing.stderr, missing.describe()
    assert "'Microsoft.Network/privateDnsZones/missing.test/virtualNetworkLinks/link1'" in missing.stderr, \
        missing.describe()
    # Writing into it: ParentResourceNotFound; deleting from it: nothing to do.
    write = vl.az_fail("network", "private-dns", "record-set", "a", "create", "-g", RG, "-z", "missing.test",
                       "-n", "www")
    assert "(ParentResourceNotFound)" in write.stderr, write.describe()
    assert "Failed to perform 'write' on resource(s) of type 'privateDnsZones/A'" in write.stderr, write.describe()
    vl.az("network", "private-dns", "link", "vnet", "delete", "-g", RG, "-z", "missing.test", "-n", "link1",
          "-y", output=None)
    assert vl.az("network", "private-dns", "zone", "list", "-g", RG)[0]["name"] == "conformance.test"
