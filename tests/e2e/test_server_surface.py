"""The server's own surface, without az: what `vaultlink env` exports, the proxy's refusal of
other hosts, the direct listener's cloud metadata, and the real azure-identity SDK getting
tokens through the proxy. Cheap checks that name the broken piece when az-level tests fail."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import (
    DEV_CLIENT_ID,
    DEV_CLIENT_SECRET,
    SUBSCRIPTION_ID,
    TENANT_ID,
    Vaultlink,
)


@pytest.fixture(scope="module")
def vl(vaultlink_module: Vaultlink) -> Vaultlink:
    return vaultlink_module


def run_python(vl: Vaultlink, code: str, env: dict[str, str] | None = None) -> Any:
    """Run `code` in a fresh interpreter with the vaultlink env; it prints one JSON value."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        env=env or vl.env, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_env_formats_agree_when_read_by_their_readers(vl: Vaultlink, tmp_path: Path) -> None:
    """`vaultlink env --format`: the shell exports as bash evaluates them, a `.env` file as bash
    sources it (`set -a`), and JSON, all the same variables; fish and PowerShell are not
    installed here (their quoting is unit-tested in cli.rs)."""
    def env(fmt: str) -> str:
        return vl.run_vaultlink("env", "--data-dir", str(vl.data_dir), "--format", fmt).stdout

    names = sorted(vl.exports)
    dump = "; ".join(f'printf "%s\\0" "${n}"' for n in names)

    def through_bash(script: str) -> dict[str, str]:
        out = subprocess.run(["bash", "-c", f"{script}\n{dump}"], capture_output=True, text=True, check=True,
                             env={"PATH": "/usr/bin:/bin"}).stdout
        return dict(zip(names, out.split("\0")[:-1]))

    sh = through_bash(env("sh"))
    dotenv_file = tmp_path / "vaultlink.env"
    dotenv_file.write_text(env("dotenv"))
    from_dotenv = through_bash(f"set -a; . {dotenv_file}; set +a")
    as_json = json.loads(env("json"))
    assert sh == vl.exports and from_dotenv == vl.exports and as_json == vl.exports, (sh, from_dotenv, as_json)
    assert all("=" in line and not line.startswith(("export", "#")) for line in env("dotenv").splitlines())
    fish, pwsh = env("fish"), env("powershell")
    for name, value in vl.exports.items():
        assert f"set -gx {name} '{value}'" in fish, fish
        assert f"$env:{name} = '{value}'" in pwsh, pwsh
    bad = vl.run_vaultlink("env", "--data-dir", str(vl.data_dir), "--format", "cmd", check=False)
    assert bad.returncode != 0 and "powershell" in bad.stderr, bad.stderr


def test_env_exports(vl: Vaultlink) -> None:
    e = vl.exports
    assert e["HTTPS_PROXY"].rstrip("/") == vl.proxy_url
    no_proxy = {h.strip() for h in e["NO_PROXY"].split(",")}
    assert {"localhost", "127.0.0.1"} <= no_proxy, e["NO_PROXY"]
    assert e["AZURE_TENANT_ID"] == TENANT_ID
    assert e["AZURE_CLIENT_ID"] == DEV_CLIENT_ID
    assert e["AZURE_CLIENT_SECRET"] == DEV_CLIENT_SECRET
    assert e["AZURE_SUBSCRIPTION_ID"] == SUBSCRIPTION_ID
    assert e.get("AZURE_CORE_COLLECT_TELEMETRY") == "false"
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"):
        assert name in e, f"{name} not exported"
        path = Path(e[name])
        assert path.is_absolute() and path.is_file(), f"{name}={path}"
        assert "BEGIN CERTIFICATE" in path.read_text(), f"{name} holds no certificate"
        assert vl.data_dir in path.parents, f"{name}={path} is not under the data dir"


def test_endpoints_json(vl: Vaultlink) -> None:
    doc = json.loads((vl.data_dir / "endpoints.json").read_text())
    assert doc["proxy"].startswith("http://127.0.0.1:")
    assert doc["https"].startswith("https://127.0.0.1:")
    assert doc["identity"].startswith("http://127.0.0.1:")


def _connect(proxy_url: str, target: str) -> tuple[str, float]:
    host, port = proxy_url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0].decode(errors="replace"), time.monotonic() - started


def test_proxy_refuses_other_hosts_fast(vl: Vaultlink) -> None:
    status, seconds = _connect(vl.proxy_url, "example.com:443")
    assert status.startswith("HTTP/1.") and " 200" not in status, status
    assert seconds < 3, f"refusal took {seconds:.1f} s"


@pytest.mark.parametrize("host", ["management.azure.com:443", "login.microsoftonline.com:443"])
def test_proxy_accepts_azure_hosts(vl: Vaultlink, host: str) -> None:
    status, _ = _connect(vl.proxy_url, host)
    assert status.split()[1:2] == ["200"], status


def test_proxy_refuses_a_vault_name_that_does_not_resolve(vl: Vaultlink) -> None:
    # No vault has this name, so public DNS has no record for it: the client cannot connect.
    status, seconds = _connect(vl.proxy_url, "kv-no-such-vault.vault.azure.net:443")
    assert status.split()[1:2] == ["502"], status
    assert seconds < 3, f"refusal took {seconds:.1f} s"


def test_arm_without_token_is_401(vl: Vaultlink) -> None:
    out = run_python(vl, """
        import json, requests
        r = requests.get("https://management.azure.com/subscriptions?api-version=2022-12-01",
                         timeout=30)
        print(json.dumps({"status": r.status_code, "body": r.text,
                          "www": r.headers.get("WWW-Authenticate")}))
    """)
    assert out["status"] == 401, out
    assert json.loads(out["body"])["error"]["code"], out


def test_the_admin_api_is_not_served_without_shared_mode(vl: Vaultlink) -> None:
    """Only `serve --shared` has an admin API; here the machine's owner uses the control socket,
    so even the admin key's file (there is none) could not open it."""
    r = requests.get(f"{vl.https_url}/vaultlink/admin/tenants", verify=vl.env["REQUESTS_CA_BUNDLE"],
                     headers={"Authorization": "Bearer " + "k" * 43}, timeout=30)
    assert r.status_code == 404 and "--shared" in r.json()["error"]["message"], r.text
    assert not (vl.data_dir / "admin.key").exists()


def test_token_endpoint_refuses_resources_it_does_not_serve(vl: Vaultlink) -> None:
    """Entra's AADSTS500011 for a resource not in the tenant, on both token endpoint versions."""
    out = run_python(vl, f"""
        import json, requests
        base = "https://login.microsoftonline.com/{TENANT_ID}/oauth2"
        creds = {{"grant_type": "client_credentials", "client_id": "{DEV_CLIENT_ID}",
                  "client_secret": "{DEV_CLIENT_SECRET}"}}
        v2 = requests.post(base + "/v2.0/token", data={{**creds, "scope": "https://evil.example/.default"}},
                           timeout=30)
        v1 = requests.post(base + "/token", data={{**creds, "resource": "https://evil.example/"}}, timeout=30)
        print(json.dumps([[r.status_code, r.json()] for r in (v2, v1)]))
    """)
    for status, body in out:
        assert status == 400, out
        assert body["error"] == "invalid_resource", out
        assert body["error_description"].startswith(
            "AADSTS500011: The resource principal named https://evil.example"), out
        assert f"was not found in the tenant named {TENANT_ID}." in body["error_description"], out


def test_arm_accepts_only_its_own_audiences_whatever_the_host(vl: Vaultlink) -> None:
    """A token for another resource (the Key Vault data plane here) sent to the direct listener is
    refused: Resource Manager's audiences do not come from the request. With that resource's name
    as Host it does not get that far: the direct listener does not answer to a name it does not
    serve (421, DNS rebinding)."""
    port = vl.https_port
    out = run_python(vl, f"""
        import json, requests
        tok = requests.post("https://login.microsoftonline.com/{TENANT_ID}/oauth2/token",
                            data={{"grant_type": "client_credentials", "client_id": "{DEV_CLIENT_ID}",
                                   "client_secret": "{DEV_CLIENT_SECRET}",
                                   "resource": "https://vault.azure.net/"}}, timeout=30).json()
        url = "https://localhost:{port}/subscriptions?api-version=2022-12-01"
        auth = {{"Authorization": "Bearer " + tok["access_token"]}}
        replay = requests.get(url, headers=auth, timeout=30)
        renamed = requests.get(url, headers={{**auth, "Host": "vault.azure.net"}}, timeout=30)
        arm = requests.post("https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token",
                            data={{"grant_type": "client_credentials", "client_id": "{DEV_CLIENT_ID}",
                                   "client_secret": "{DEV_CLIENT_SECRET}",
                                   "scope": "https://localhost:{port}//.default"}}, timeout=30).json()
        direct = requests.get(url, headers={{"Authorization": "Bearer " + arm["access_token"]}}, timeout=30)
        print(json.dumps({{"replay": [replay.status_code, replay.text], "direct": direct.status_code,
                          "renamed": [renamed.status_code, renamed.text]}}))
    """)
    assert out["replay"][0] == 401, out
    assert json.loads(out["replay"][1])["error"]["code"] == "InvalidAuthenticationTokenAudience", out
    assert out["renamed"][0] == 421, out
    assert json.loads(out["renamed"][1])["error"]["code"] == "MisdirectedRequest", out
    # The direct listener's own audience (what `az cloud register` makes az ask for) still works.
    assert out["direct"] == 200, out


def test_graph_needs_a_graph_token(vl: Vaultlink) -> None:
    """Microsoft Graph through the proxy: no token or an ARM token is 401; a Graph token lists the
    tenant's service principals, the developer among them."""
    out = run_python(vl, f"""
        import json, requests
        url = "https://graph.microsoft.com/v1.0/servicePrincipals?$filter=appId eq '{DEV_CLIENT_ID}'"
        def token(scope):
            return requests.post("https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token",
                                 data={{"grant_type": "client_credentials", "client_id": "{DEV_CLIENT_ID}",
                                        "client_secret": "{DEV_CLIENT_SECRET}", "scope": scope}},
                                 timeout=30).json()["access_token"]
        none = requests.get(url, timeout=30)
        arm = requests.get(url, headers={{"Authorization": "Bearer " + token("https://management.azure.com/.default")}}, timeout=30)
        graph = requests.get(url, headers={{"Authorization": "Bearer " + token("https://graph.microsoft.com/.default")}}, timeout=30)
        print(json.dumps({{"none": none.status_code, "arm": arm.status_code, "graph": [graph.status_code, graph.json()]}}))
    """)
    assert out["none"] == 401 and out["arm"] == 401, out
    status, body = out["graph"]
    assert status == 200 and [p["appId"] for p in body["value"]] == [DEV_CLIENT_ID], out


def test_direct_listener_metadata_endpoints(vl: Vaultlink) -> None:
    port = vl.https_port
    out = run_python(vl, f"""
        import json, requests
        r = requests.get("https://localhost:{port}/metadata/endpoints?api-version=2022-09-01",
                         timeout=30)
        print(json.dumps({{"status": r.status_code, "body": r.text}}))
    """)
    assert out["status"] == 200, out
    doc = json.loads(out["body"])
    assert doc["name"]
    # Either loopback spelling is fine: the listener's certificate covers both.
    ours = (f"https://localhost:{port}", f"https://127.0.0.1:{port}")
    assert doc["authentication"]["loginEndpoint"].startswith(ours), doc
    assert doc["authentication"]["audiences"], doc
    assert doc["resourceManager"].startswith(ours), doc
    assert doc["suffixes"]["keyVaultDns"].lstrip(".") == "vault.azure.net"


def test_browser_at_the_root_lands_on_the_portal(vl: Vaultlink) -> None:
    port = vl.https_port
    out = run_python(vl, f"""
        import json, requests
        base = "https://localhost:{port}/"
        page = requests.get(base, headers={{"Accept": "text/html,application/xhtml+xml"}},
                            allow_redirects=False, timeout=30)
        api = requests.get(base, headers={{"Accept": "application/json"}}, allow_redirects=False,
                           timeout=30)
        print(json.dumps({{"page": [page.status_code, page.headers.get("Location")],
                          "api": api.status_code}}))
    """)
    assert out["page"] == [302, "/portal/"], out
    assert out["api"] != 302, out


def test_azure_identity_client_secret_credential(vl: Vaultlink) -> None:
    """The real azure-identity SDK (ClientSecretCredential) through the proxy."""
    out = run_python(vl, f"""
        import base64, json, os
        from azure.identity import ClientSecretCredential
        cred = ClientSecretCredential(os.environ["AZURE_TENANT_ID"],
                                      os.environ["AZURE_CLIENT_ID"],
                                      os.environ["AZURE_CLIENT_SECRET"])
        tok = cred.get_token("https://management.azure.com/.default")
        print(json.dumps({{"token": tok.token, "expires_on": tok.expires_on}}))
    """)
    assert out["token"] and out["expires_on"] > time.time(), out

    env = dict(vl.env, AZURE_CLIENT_SECRET="wrong")
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            import os
            from azure.identity import ClientSecretCredential
            ClientSecretCredential(os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"],
                                   os.environ["AZURE_CLIENT_SECRET"]
                                   ).get_token("https://management.azure.com/.default")
        """)], capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode != 0
    assert "AADSTS7000215" in proc.stderr or "invalid_client" in proc.stderr, proc.stderr


def test_azure_identity_managed_identity(vl: Vaultlink) -> None:
    env = {k: v for k, v in vl.env.items()
           if k not in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")}
    env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = vl.identity_url
    out = run_python(vl, """
        import json
        from azure.identity import ManagedIdentityCredential
        tok = ManagedIdentityCredential().get_token("https://management.azure.com/.default")
        print(json.dumps({"token": tok.token}))
    """, env=env)
    assert out["token"].count(".") == 2, out



def curl_at(vl: Vaultlink, host: str, url_port: int, path: str, *args: str,
            scheme: str = "https") -> tuple[int, str]:
    """curl with `host` resolving to 127.0.0.1 (what a DNS-rebinding page's name does), no proxy.
    (0, curl's error) when no HTTP answer came back."""
    curl = shutil.which("curl")
    if not curl:
        pytest.fail("curl is missing: run scripts/prerequisites (Debian package curl)")
    ca = vl.env["SSL_CERT_FILE"]
    proc = subprocess.run(
        [curl, "-sS", "--noproxy", "*", "--cacert", ca, "--resolve", f"{host}:{url_port}:127.0.0.1",
         "-o", "-", "-w", "\n%{http_code}", *args, f"{scheme}://{host}:{url_port}{path}"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        return 0, proc.stderr
    body, _, status = proc.stdout.rpartition("\n")
    return int(status), body


def test_local_listeners_refuse_a_rebound_host_name(vl: Vaultlink) -> None:
    """DNS rebinding: a page at evil.example whose name now resolves to 127.0.0.1 is, to its
    browser, the same origin as the listener. Over TLS the listener has no certificate for that
    name (the handshake fails); the Host check behind it refuses the name too (421), on the
    portal, the direct listener's token endpoint and the plain-HTTP identity endpoint."""
    port = vl.https_port
    signin = json.dumps({"clientId": DEV_CLIENT_ID, "clientSecret": DEV_CLIENT_SECRET})
    token = f"grant_type=client_credentials&client_id={DEV_CLIENT_ID}&client_secret={DEV_CLIENT_SECRET}" \
            "&scope=https://management.azure.com/.default"
    identity_port = int(vl.identity_url.rstrip("/").rsplit(":", 1)[1])
    imds = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net"
    status, err = curl_at(vl, "evil.example", port, "/portal/")
    assert status == 0 and "alert" in err, (status, err)
    # TLS to a served name, the rebound name in Host (what a page could send if it had a leaf).
    for host_header, expected in [(None, 200), ("127.0.0.1", 200), ("evil.example", 421)]:
        hdr = ["-H", f"Host: {host_header}:{port}"] if host_header else []
        origin = f"https://{host_header or 'localhost'}:{port}"
        status, body = curl_at(vl, "localhost", port, "/portal/api/signin", *hdr, "-H", f"Origin: {origin}",
                               "-H", "Content-Type: application/json", "-d", signin)
        assert status == expected, (host_header, status, body)
        status, body = curl_at(vl, "localhost", port, f"/{TENANT_ID}/oauth2/v2.0/token", *hdr, "-d", token)
        assert status == expected, (host_header, status, body)
        if expected == 200:
            assert json.loads(body)["access_token"], body
        else:
            assert json.loads(body)["error"]["code"] == "MisdirectedRequest", body
    for host, expected in [("localhost", 200), ("127.0.0.1", 200), ("evil.example", 421)]:
        status, body = curl_at(vl, host, identity_port, imds, "-H", "Metadata: true", scheme="http")
        assert status == expected, (host, status, body)


def test_identity_listener_serves_the_ca_and_health_to_any_host_name(vl: Vaultlink) -> None:
    """`/vaultlink/ca.pem` (what a client container fetches and trusts in one line) is the CA
    certificate of `DATA_DIR/ca.pem`, and `/vaultlink/health` answers 200 with its JSON; both
    need no token and answer whatever the Host (a compose service name), while the identity
    endpoint's token path still refuses such a name. `vaultlink health` (the image's
    HEALTHCHECK) exits 0 while the server runs."""
    from cryptography import x509

    port = int(vl.identity_url.rstrip("/").rsplit(":", 1)[1])
    for host in ("127.0.0.1", "vaultlink"):
        status, pem = curl_at(vl, host, port, "/vaultlink/ca.pem", scheme="http")
        assert status == 200, (host, status, pem)
        assert pem == (vl.data_dir / "ca.pem").read_text()
        cert = x509.load_pem_x509_certificate(pem.encode())
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
        status, body = curl_at(vl, host, port, "/vaultlink/health", scheme="http")
        assert status == 200, (host, status, body)
        assert json.loads(body)["status"] == "ready", body
    status, body = curl_at(vl, "vaultlink", port, "/metadata/identity/oauth2/token?resource=x",
                           "-H", "Metadata: true", scheme="http")
    assert status == 421, (status, body)
    status, body = curl_at(vl, "127.0.0.1", port, "/vaultlink/ca.pem", "-X", "POST", scheme="http")
    assert status == 405, (status, body)
    health = vl.run_vaultlink("health", "--data-dir", str(vl.data_dir))
    assert '"status":"ready"' in health.stdout, health.stdout


def test_the_local_ca_certifies_only_the_names_vaultlink_serves(vl: Vaultlink) -> None:
    """The CA `vaultlink env` asks clients to trust carries X.509 name constraints (the Azure names
    vaultlink plays, localhost, loopback addresses), and the listener mints no leaf for any other
    SNI: OpenSSL, which enforces name constraints, verifies the served names and gets no
    certificate for www.google.com."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.fail("the openssl CLI is missing: run scripts/prerequisites (Debian package openssl)")
    ca_pem = Path(vl.data_dir) / "ca.pem"
    text = subprocess.run([openssl, "x509", "-in", str(ca_pem), "-noout", "-text"], capture_output=True,
                          text=True, check=True).stdout
    assert "X509v3 Name Constraints: critical" in text, text
    for name in ("DNS:management.azure.com", "DNS:vault.azure.net", "DNS:localhost", "IP:127.0.0.0/255.0.0.0"):
        assert name in text, (name, text)

    def s_client(servername: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [openssl, "s_client", "-connect", f"127.0.0.1:{vl.https_port}", "-servername", servername,
             "-CAfile", str(ca_pem), "-verify_return_error", "-verify_hostname", servername, "-brief"],
            input="", capture_output=True, text=True, timeout=30)

    for served in ("management.azure.com", "kv-any.vault.azure.net", "localhost"):
        r = s_client(served)
        assert r.returncode == 0 and "Verification: OK" in r.stderr, (served, r.stderr)
    refused = s_client("www.google.com")
    assert refused.returncode != 0, refused.stderr
    assert "Verification: OK" not in refused.stderr, refused.stderr
