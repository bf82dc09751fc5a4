"""The real Python `azure-keyvault-secrets` SecretClient through the proxy, unchanged.

Each scenario runs in a subprocess of the venv's python with only the environment that
`vaultlink env` prints (HTTPS_PROXY, REQUESTS_CA_BUNDLE, SSL_CERT_FILE, AZURE_TENANT_ID,
AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, ...), as a user's program would run after
`eval "$(vaultlink env)"`. No `verify_challenge_resource=False`: the SDK's own challenge
checks (https, host ends with the challenge resource's domain) must pass as they do on Azure.

The script prints one JSON document of observations; the assertions are here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import Vaultlink
from dp_fixtures import VERSION_RE, provision, vault_url, version_of
from sdk import run_scenario, scenario, sdk_overlay, sdk_pin

RG = "rg-secrets-sdk"
VAULT = "kv-secrets-sdk"

SCRIPT = scenario(
    r'''
    import time
    from azure.core.exceptions import ResourceNotFoundError, ResourceExistsError
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.secrets import SecretClient
    import azure.keyvault.secrets

    vault_url, kind, p = sys.argv[1], sys.argv[2], sys.argv[3]
    if kind == "client-secret":
        cred = credential()
    else:
        cred = DefaultAzureCredential()
    client = SecretClient(vault_url=vault_url, credential=cred)
    out = {"sdk_version": azure.keyvault.secrets.__version__}

    # set / get
    s1 = client.set_secret(p + "main", "value-one", content_type="text/plain", tags={"a": "1"})
    s2 = client.set_secret(p + "main", "value-two")
    out["set1"] = {"id": s1.id, "version": s1.properties.version, "value": s1.value,
                   "content_type": s1.properties.content_type, "tags": s1.properties.tags,
                   "enabled": s1.properties.enabled,
                   "recovery_level": s1.properties.recovery_level,
                   "created": s1.properties.created_on.isoformat(),
                   "vault_url": s1.properties.vault_url}
    out["set2"] = {"id": s2.id, "version": s2.properties.version, "value": s2.value}
    g = client.get_secret(p + "main")
    out["get_latest"] = {"id": g.id, "value": g.value}
    g1 = client.get_secret(p + "main", s1.properties.version)
    out["get_v1"] = {"id": g1.id, "value": g1.value, "content_type": g1.properties.content_type}
    try:
        client.get_secret(p + "missing")
        out["get_missing"] = "no error"
    except ResourceNotFoundError as e:
        out["get_missing"] = err(e)

    # update properties
    u = client.update_secret_properties(p + "main", s1.properties.version, enabled=False,
                                        content_type="application/x-upd", tags={"b": "2"})
    out["update"] = {"id": u.id, "enabled": u.enabled, "content_type": u.content_type,
                     "tags": u.tags}
    try:
        client.get_secret(p + "main", s1.properties.version)
        out["get_disabled"] = "no error"
    except HttpResponseError as e:
        out["get_disabled"] = err(e)

    # versions
    out["versions"] = sorted(v.version for v in
                             client.list_properties_of_secret_versions(p + "main"))

    # paging: 30 more secrets
    for i in range(30):
        client.set_secret(f"{p}page-{i:02d}", f"page-value-{i}")
    pages = list(client.list_properties_of_secrets().by_page())
    page_lists = [list(pg) for pg in pages]
    out["page_sizes"] = [len(pl) for pl in page_lists]
    out["listed_names"] = sorted(item.name for pl in page_lists for item in pl)
    small = [len(list(pg)) for pg in client.list_properties_of_secrets(max_page_size=7).by_page()]
    out["page_sizes_max7"] = small

    # delete (soft) with the poller, get/list deleted, recover with the poller, purge
    t0 = time.monotonic()
    ds = client.begin_delete_secret(p + "page-00").result()
    client.begin_delete_secret(p + "page-01").wait()
    out["delete_seconds"] = time.monotonic() - t0
    out["deleted"] = {"name": ds.name, "recovery_id": ds.recovery_id,
                      "deleted_date": ds.deleted_date.isoformat() if ds.deleted_date else None,
                      "scheduled_purge_date": ds.scheduled_purge_date.isoformat()
                      if ds.scheduled_purge_date else None,
                      "id": ds.id}
    gd = client.get_deleted_secret(p + "page-00")
    out["get_deleted"] = {"name": gd.name, "recovery_id": gd.recovery_id, "id": gd.id}
    out["list_deleted"] = sorted(d.name for d in client.list_deleted_secrets())
    try:
        client.set_secret(p + "page-00", "reuse")
        out["set_deleted_name"] = "no error"
    except HttpResponseError as e:
        out["set_deleted_name"] = err(e)
    r = client.begin_recover_deleted_secret(p + "page-00").result()
    out["recovered"] = {"name": r.name, "id": r.id}
    out["after_recover"] = client.get_secret(p + "page-00").value
    client.purge_deleted_secret(p + "page-01")
    try:
        client.get_deleted_secret(p + "page-01")
        out["after_purge"] = "still there"
    except ResourceNotFoundError as e:
        out["after_purge"] = err(e)
    out["list_deleted_after"] = sorted(d.name for d in client.list_deleted_secrets())

    # backup / restore
    blob = client.backup_secret(p + "page-02")
    out["backup_len"] = len(blob)
    out["backup_has_plaintext"] = b"page-value-2" in blob
    client.begin_delete_secret(p + "page-02").wait()
    client.purge_deleted_secret(p + "page-02")
    rs = client.restore_secret_backup(blob)
    out["restored"] = {"name": rs.name, "id": rs.id}
    out["after_restore"] = client.get_secret(p + "page-02").value
    try:
        client.restore_secret_backup(blob)
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


NEWEST_SDK = sdk_pin("azure-keyvault-secrets", "4.12.0")  # the version issue 3 names; az 2.91 pins 4.7.0 in the venv


@pytest.fixture(scope="session")
def newest_sdk_overlay() -> Path:
    """azure-keyvault-secrets NEWEST_SDK in a --target dir beside the venv (cached), put first
    on PYTHONPATH for the scenario subprocess; its dependencies (azure-core, isodate,
    typing-extensions) come from the venv. Fails when it cannot be installed (offline)."""
    return sdk_overlay("azure-keyvault-secrets", NEWEST_SDK)


def run_sdk(vl: Vaultlink, tmp_path: Path, kind: str, prefix: str,
            overlay: Path | None = None) -> dict[str, Any]:
    return run_scenario(vl, tmp_path, "sdk_scenario.py", SCRIPT, VAULT, kind, prefix,
                        overlay=overlay)


@pytest.mark.parametrize("kind,prefix", [("client-secret", "csc-"), ("default", "dac-")])
def test_sdk_every_secret_operation(vl: Vaultlink, tmp_path: Path, kind: str, prefix: str
                                    ) -> None:
    o = run_sdk(vl, tmp_path, kind, prefix)
    check_scenario(o, prefix)


@pytest.mark.parametrize("kind,prefix", [("client-secret", "new-csc-"), ("default", "new-dac-")])
def test_newest_sdk_every_secret_operation(vl: Vaultlink, tmp_path: Path, kind: str,
                                           prefix: str, newest_sdk_overlay: Path) -> None:
    """The same scenario with azure-keyvault-secrets 4.12 (api-version 2025-07-01 or later)."""
    o = run_sdk(vl, tmp_path, kind, prefix, overlay=newest_sdk_overlay)
    assert o["sdk_version"] == NEWEST_SDK, o["sdk_version"]
    check_scenario(o, prefix)


def check_scenario(o: dict[str, Any], prefix: str) -> None:
    base = vault_url(VAULT)

    s1 = o["set1"]
    assert s1["value"] == "value-one", s1
    assert VERSION_RE.match(s1["version"]), s1
    assert s1["id"] == f"{base}/secrets/{prefix}main/{s1['version']}", s1
    assert s1["vault_url"] == base, s1
    assert s1["content_type"] == "text/plain" and s1["tags"] == {"a": "1"}, s1
    assert s1["enabled"] is True and s1["recovery_level"] == "Recoverable+Purgeable", s1
    assert o["set2"]["version"] != s1["version"], o["set2"]
    assert o["get_latest"] == {"id": o["set2"]["id"], "value": "value-two"}, o["get_latest"]
    assert o["get_v1"] == {"id": s1["id"], "value": "value-one", "content_type": "text/plain"}
    assert o["get_missing"]["status"] == 404 and o["get_missing"]["code"] == "SecretNotFound", o

    assert o["update"] == {"id": s1["id"], "enabled": False, "content_type": "application/x-upd",
                           "tags": {"b": "2"}}, o["update"]
    gd = o["get_disabled"]
    assert gd != "no error", "a disabled version was readable"
    assert gd["status"] == 403 and gd["code"] == "Forbidden" and gd["inner"] == "SecretDisabled", gd

    assert o["versions"] == sorted([s1["version"], o["set2"]["version"]]), o["versions"]

    # Paging: more than 25 secrets, pages of at most 25, every name exactly once.
    sizes = o["page_sizes"]
    assert len(sizes) >= 2 and all(n <= 25 for n in sizes), sizes
    names = o["listed_names"]
    mine = [n for n in names if n.startswith(prefix)]
    assert mine == sorted([f"{prefix}main"] + [f"{prefix}page-{i:02d}" for i in range(30)]), mine
    assert len(names) == len(set(names)), "a secret was listed twice across pages"
    assert all(n <= 7 for n in o["page_sizes_max7"]), o["page_sizes_max7"]
    assert sum(o["page_sizes_max7"]) == len(names), (o["page_sizes_max7"], len(names))

    d = o["deleted"]
    assert d["name"] == f"{prefix}page-00", d
    assert d["recovery_id"] == f"{base}/deletedsecrets/{prefix}page-00", d
    assert d["deleted_date"] and d["scheduled_purge_date"], d
    assert o["get_deleted"]["recovery_id"] == d["recovery_id"], o["get_deleted"]
    assert {f"{prefix}page-00", f"{prefix}page-01"} <= set(o["list_deleted"]), o["list_deleted"]
    sd = o["set_deleted_name"]
    assert sd != "no error", "a soft-deleted name was reused"
    assert sd["status"] == 409 and sd["code"] == "Conflict", sd
    assert sd["inner"] == "ObjectIsDeletedButRecoverable", sd
    assert o["recovered"]["name"] == f"{prefix}page-00", o["recovered"]
    assert o["after_recover"] == "page-value-0"
    assert o["after_purge"] != "still there" and o["after_purge"]["status"] == 404, o
    assert not ({f"{prefix}page-00", f"{prefix}page-01"} & set(o["list_deleted_after"])), o

    assert o["backup_len"] > 32 and o["backup_has_plaintext"] is False, o
    assert o["restored"]["name"] == f"{prefix}page-02", o["restored"]
    assert version_of(o["restored"]["id"]), o["restored"]
    assert o["after_restore"] == "page-value-2"
    assert o["restore_existing"] != "no error", "restore over an existing secret succeeded"
    assert o["restore_existing"]["status"] == 409, o["restore_existing"]
