//! The Key Vault certificates routes table (`/certificates`; `/deletedcertificates` through
//! `dataplane_deleted.rs`): authorize, then one core call. Authentication, the network decision
//! and throttling happen before, in `dataplane::serve`.

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use vaultlink_core::kv::certificates as certs;
use vaultlink_core::kv::objects::{self, Page};
use vaultlink_core::kv::{self, KvError, Permission};
use vaultlink_core::model::Vault;
use vaultlink_core::{Batch, Caller, State};

use crate::dataplane::{BackupBlob, body, ok, page};
use crate::dataplane_deleted::Deleted;
use crate::http::{App, Req, Resp};

const fn perm(data_action: &'static str, policy: &'static str) -> Permission {
    Permission { data_action, policy: ("certificates", policy) }
}

// keyvault-rbac.md §2c.
const GET: Permission = perm("Microsoft.KeyVault/vaults/certificates/read", "get");
const LIST: Permission = perm("Microsoft.KeyVault/vaults/certificates/read", "list");
const CREATE: Permission = perm("Microsoft.KeyVault/vaults/certificates/create/action", "create");
const IMPORT: Permission = perm("Microsoft.KeyVault/vaults/certificates/import/action", "import");
const UPDATE: Permission = perm("Microsoft.KeyVault/vaults/certificates/update/action", "update");
const DELETE: Permission = perm("Microsoft.KeyVault/vaults/certificates/delete", "delete");
const BACKUP: Permission = perm("Microsoft.KeyVault/vaults/certificates/backup/action", "backup");
const RESTORE: Permission = perm("Microsoft.KeyVault/vaults/certificates/restore/action", "restore");
const RECOVER: Permission = perm("Microsoft.KeyVault/vaults/certificates/recover/action", "recover");
const PURGE: Permission = perm("Microsoft.KeyVault/vaults/certificates/purge/action", "purge");
const CONTACTS: Permission = perm("Microsoft.KeyVault/vaults/certificatecontacts/write", "managecontacts");
const GET_ISSUER: Permission = perm("Microsoft.KeyVault/vaults/certificatecas/read", "getissuers");
const LIST_ISSUERS: Permission = perm("Microsoft.KeyVault/vaults/certificatecas/read", "listissuers");
const SET_ISSUER: Permission = perm("Microsoft.KeyVault/vaults/certificatecas/write", "setissuers");
const DELETE_ISSUER: Permission = perm("Microsoft.KeyVault/vaults/certificatecas/delete", "deleteissuers");
/// The access-policy permission that covers every issuer operation (RBAC: the same data action).
const fn manage(p: Permission) -> Permission {
    Permission { data_action: p.data_action, policy: ("certificates", "manageissuers") }
}

/// The deleted certificates' routes (`dataplane_deleted.rs`).
pub(crate) struct DeletedCertificates;

impl Deleted for DeletedCertificates {
    type View = certs::CertView;
    const PATH: &'static str = "deletedcertificates";
    const SLASH_LISTS: bool = true;
    const LIST: Permission = LIST;
    const GET: Permission = GET;
    const PURGE: Permission = PURGE;
    const RECOVER: Permission = RECOVER;

    fn list(s: &State, vault: &Vault, size: usize, skip: Option<&str>) -> Result<Page<Self::View>, KvError> {
        certs::list_deleted(s, vault, size, skip)
    }
    fn get(s: &State, vault: &Vault, name: &str) -> Result<Self::View, KvError> {
        certs::get_deleted(s, vault, name)
    }
    fn purge(s: &State, b: &mut Batch, vault: &Vault, name: &str) -> Result<(), KvError> {
        certs::purge(s, b, vault, name)
    }
    fn recover(s: &State, b: &mut Batch, vault: &Vault, name: &str) -> Result<Self::View, KvError> {
        certs::recover(s, b, vault, name)
    }
    fn render_item(host: &str, v: &Self::View) -> impl serde::Serialize {
        certs::render_item(host, v, false)
    }
    fn render(host: &str, v: &Self::View) -> impl serde::Serialize {
        certs::render(host, v)
    }
}

/// The certificates routes table: (method, path) -> authorize, then one core call.
pub(crate) fn cert_routes(
    app: &App,
    req: &Req,
    vault: &Vault,
    caller: &Caller,
    segs: &[&str],
    l: &[&str],
) -> Result<Resp, KvError> {
    use Method as M;
    let e = &app.engine;
    let auth = |perm: Permission, object: Option<&str>| e.read(|s| kv::authorize(s, vault, caller, perm, object));
    // Issuer operations: their own permission, or `manageissuers`; a refusal names the former.
    let auth_issuer =
        |perm: Permission| auth(perm, None).or_else(|refused| auth(manage(perm), None).map_err(|_| refused));
    let host = req.host.as_str();
    let size = || objects::page_size(req.query("maxresults"));
    let skip = req.query("$skiptoken");
    let name = |i: usize| segs[i];
    let version = || segs.get(2).copied();
    let sealer = &app.sealer;
    Ok(match (&req.method, l) {
        (&M::GET, ["certificates"] | ["certificates", ""]) => {
            auth(LIST, None)?;
            let pending = req.query("includePending").is_some_and(|p| p.eq_ignore_ascii_case("true"));
            page(req, "/certificates", &e.read(|s| certs::list(s, vault, size()?, skip, pending))?, |x| {
                certs::render_item(&req.host, x, false)
            })
        }
        (&M::POST, ["certificates", "restore"]) => {
            auth(RESTORE, None)?;
            let blob: BackupBlob = body(req)?;
            ok(&certs::render(host, &e.write(|s, b| certs::restore(s, b, sealer, vault, &blob.value))?))
        }
        (&M::GET, ["certificates", "contacts"]) => {
            auth(CONTACTS, None)?;
            ok(&certs::render_contacts(host, &e.read(|s| certs::get_contacts(s, vault))?))
        }
        (&M::PUT, ["certificates", "contacts"]) => {
            auth(CONTACTS, None)?;
            let spec: certs::ContactsSpec = body(req)?;
            ok(&certs::render_contacts(host, &e.write(|s, b| certs::set_contacts(s, b, vault, spec))?))
        }
        (&M::DELETE, ["certificates", "contacts"]) => {
            auth(CONTACTS, None)?;
            ok(&certs::render_contacts(host, &e.write(|s, b| certs::delete_contacts(s, b, vault))?))
        }
        (&M::GET, ["certificates", "issuers"]) => {
            auth_issuer(LIST_ISSUERS)?;
            let p = e.read(|s| certs::list_issuers(s, vault, size()?, skip))?;
            page(req, "/certificates/issuers", &p, |i| certs::render_issuer_item(host, i))
        }
        (&M::GET, ["certificates", "issuers", _]) => {
            auth_issuer(GET_ISSUER)?;
            ok(&certs::render_issuer(host, &e.read(|s| certs::get_issuer(s, vault, name(2)))?))
        }
        (&M::PUT | &M::PATCH, ["certificates", "issuers", _]) => {
            auth_issuer(SET_ISSUER)?;
            let spec: certs::IssuerSpec = body(req)?;
            let patch = req.method == M::PATCH;
            ok(&certs::render_issuer(
                host,
                &e.write(|s, b| certs::set_issuer(s, b, sealer, vault, name(2), spec, patch))?,
            ))
        }
        (&M::DELETE, ["certificates", "issuers", _]) => {
            auth_issuer(DELETE_ISSUER)?;
            ok(&certs::render_issuer(host, &e.write(|s, b| certs::delete_issuer(s, b, vault, name(2)))?))
        }
        (&M::GET, ["certificates", _, "versions"]) => {
            auth(LIST, Some(name(1)))?;
            let path = format!("/certificates/{}/versions", name(1));
            page(req, &path, &e.read(|s| certs::list_versions(s, vault, name(1), size()?, skip))?, |x| {
                certs::render_item(&req.host, x, true)
            })
        }
        (&M::GET, ["certificates", _, "policy"]) => {
            auth(GET, Some(name(1)))?;
            ok(&certs::render_policy(host, name(1), &e.read(|s| certs::get_policy(s, vault, name(1)))?))
        }
        (&M::PATCH, ["certificates", _, "policy"]) => {
            auth(UPDATE, Some(name(1)))?;
            let patch: Value = body(req)?;
            let p = e.write(|s, b| certs::update_policy(s, b, vault, name(1), &patch))?;
            ok(&certs::render_policy(host, name(1), &p))
        }
        (&M::POST, ["certificates", _, "create"]) => {
            auth(CREATE, Some(name(1)))?;
            let spec: certs::CreateSpec = body(req)?;
            let op = e.write(|s, b| certs::create(s, b, sealer, vault, name(1), spec))?;
            crate::http::json(StatusCode::ACCEPTED, &certs::render_operation(host, &op))
        }
        (&M::POST, ["certificates", _, "import"]) => {
            auth(IMPORT, Some(name(1)))?;
            let spec: certs::ImportSpec = body(req)?;
            ok(&certs::render(host, &e.write(|s, b| certs::import(s, b, sealer, vault, name(1), spec))?))
        }
        (&M::POST, ["certificates", _, "backup"]) => {
            auth(BACKUP, Some(name(1)))?;
            ok(&json!({"value": e.read(|s| certs::backup(s, sealer, vault, name(1)))?}))
        }
        (&M::GET, ["certificates", _, "pending"]) => {
            auth(GET, Some(name(1)))?;
            ok(&certs::render_operation(host, &e.read(|s| certs::get_pending(s, vault, name(1)))?))
        }
        (&M::PATCH, ["certificates", _, "pending"]) => {
            auth(UPDATE, Some(name(1)))?;
            #[derive(serde::Deserialize)]
            struct Cancel {
                cancellation_requested: bool,
            }
            let c: Cancel = body(req)?;
            let op = e.write(|s, b| certs::cancel_pending(s, b, vault, name(1), c.cancellation_requested))?;
            ok(&certs::render_operation(host, &op))
        }
        (&M::DELETE, ["certificates", _, "pending"]) => {
            auth(UPDATE, Some(name(1)))?;
            ok(&certs::render_operation(host, &e.write(|s, b| certs::delete_pending(s, b, vault, name(1)))?))
        }
        (&M::POST, ["certificates", _, "pending", "merge"]) => {
            auth(CREATE, Some(name(1)))?;
            let spec: certs::MergeSpec = body(req)?;
            let c = e.write(|s, b| certs::merge(s, b, sealer, vault, name(1), spec))?;
            crate::http::json(StatusCode::CREATED, &certs::render(host, &c))
        }
        (&M::GET, ["certificates", _] | ["certificates", _, _]) => {
            auth(GET, Some(name(1)))?;
            ok(&certs::render(host, &e.read(|s| certs::get(s, vault, name(1), version()))?))
        }
        (&M::PATCH, ["certificates", _] | ["certificates", _, _]) => {
            auth(UPDATE, Some(name(1)))?;
            let spec: certs::UpdateSpec = body(req)?;
            ok(&certs::render(host, &e.write(|s, b| certs::update(s, b, vault, name(1), version(), spec))?))
        }
        (&M::DELETE, ["certificates", _]) => {
            auth(DELETE, Some(name(1)))?;
            ok(&certs::render(host, &e.write(|s, b| certs::delete(s, b, vault, name(1)))?))
        }
        _ => {
            return Err(KvError::bad_parameter(format!("vaultlink does not serve {} {}.", req.method, req.path)));
        }
    })
}
