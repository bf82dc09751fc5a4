"""`az keyvault list` and `list-deleted` without `--resource-type`: az asks for vaults *and*
Managed HSMs. vaultlink emulates no Managed HSMs; both lists must still work, with the vaults in
them (az 2.91 failed with InvalidResourceType on `deletedManagedHSMs` before)."""

from __future__ import annotations

from conftest import Vaultlink


def test_list_and_list_deleted_without_resource_type(logged_in: Vaultlink) -> None:
    vl = logged_in
    vl.az("group", "create", "-n", "rg-lists", "-l", "westeurope")
    vl.az("provider", "register", "--namespace", "Microsoft.KeyVault", "--wait")
    vl.az("keyvault", "create", "-n", "kv-lists-live", "-g", "rg-lists", "-l", "westeurope")
    vl.az("keyvault", "create", "-n", "kv-lists-gone", "-g", "rg-lists", "-l", "westeurope")
    vl.az("keyvault", "delete", "-n", "kv-lists-gone", "-g", "rg-lists")

    listed = {v["name"] for v in vl.az("keyvault", "list")}
    assert "kv-lists-live" in listed and "kv-lists-gone" not in listed
    in_group = {v["name"] for v in vl.az("keyvault", "list", "-g", "rg-lists")}
    assert in_group == {"kv-lists-live"}
    deleted = {v["name"] for v in vl.az("keyvault", "list-deleted")}
    assert "kv-lists-gone" in deleted and "kv-lists-live" not in deleted
    assert vl.az("keyvault", "list-deleted", "--resource-type", "hsm") == []
    assert vl.az("keyvault", "list", "--resource-type", "hsm") == []
    assert vl.az("keyvault", "list", "--resource-type", "hsm", "-g", "rg-lists") == []
