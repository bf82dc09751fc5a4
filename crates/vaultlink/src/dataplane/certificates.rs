//! The certificates routes (`/certificates`; `/deletedcertificates` through `deleted.rs`):
//! (method, path) -> operation, and each operation's core call and rendering.

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use vaultlink_core::kv::certificates as certs;
use vaultlink_core::kv::objects::Page;
use vaultlink_core::kv::{Admitted, CertificateOp, DeletedOp, Operation};
use vaultlink_core::{Batch, Error, State};

use super::deleted::Deleted;
use super::{BackupBlob, Route, Run, ok, page};
use crate::http::Resp;

/// The certificates routes table.
pub(super) fn route<'p>(method: &Method, segs: &[&'p str], l: &[&str]) -> Option<Route<'p>> {
    use {CertificateOp as C, Method as M};
    let on = |op| Some(Route::on(Operation::Certificate(op), segs, 1));
    let vault_wide = |op| Some(Route::collection(Operation::Certificate(op)));
    // An issuer is named by the segment after `issuers`; its operations are vault-wide.
    let issuer = |op| Some(Route::on(Operation::Certificate(op), segs, 2));
    match (method, l) {
        (&M::GET, ["certificates"] | ["certificates", ""]) => vault_wide(C::List),
        (&M::POST, ["certificates", "restore"]) => vault_wide(C::Restore),
        (&M::GET, ["certificates", "contacts"]) => vault_wide(C::GetContacts),
        (&M::PUT, ["certificates", "contacts"]) => vault_wide(C::SetContacts),
        (&M::DELETE, ["certificates", "contacts"]) => vault_wide(C::DeleteContacts),
        (&M::GET, ["certificates", "issuers"]) => vault_wide(C::ListIssuers),
        (&M::GET, ["certificates", "issuers", _]) => issuer(C::GetIssuer),
        (&M::PUT | &M::PATCH, ["certificates", "issuers", _]) => issuer(C::SetIssuer),
        (&M::DELETE, ["certificates", "issuers", _]) => issuer(C::DeleteIssuer),
        (&M::GET, ["certificates", _, "versions"]) => on(C::ListVersions),
        (&M::GET, ["certificates", _, "policy"]) => on(C::GetPolicy),
        (&M::PATCH, ["certificates", _, "policy"]) => on(C::UpdatePolicy),
        (&M::POST, ["certificates", _, "create"]) => on(C::Create),
        (&M::POST, ["certificates", _, "import"]) => on(C::Import),
        (&M::POST, ["certificates", _, "backup"]) => on(C::Backup),
        (&M::GET, ["certificates", _, "pending"]) => on(C::GetPending),
        (&M::PATCH, ["certificates", _, "pending"]) => on(C::UpdatePending),
        (&M::DELETE, ["certificates", _, "pending"]) => on(C::DeletePending),
        (&M::POST, ["certificates", _, "pending", "merge"]) => on(C::Merge),
        (&M::GET, ["certificates", _] | ["certificates", _, _]) => on(C::Get),
        (&M::PATCH, ["certificates", _] | ["certificates", _, _]) => on(C::Update),
        (&M::DELETE, ["certificates", _]) => on(C::Delete),
        _ => None,
    }
}

/// Runs one certificates operation.
pub(super) fn run(r: &Run<'_>, op: CertificateOp) -> Result<Resp, Error> {
    use CertificateOp as C;
    let (host, name, version) = (r.host(), r.route.name, r.route.version);
    let sealer = &r.app.sealer;
    let render = |c: &certs::CertView| ok(&certs::render(host, c));
    Ok(match op {
        C::List => {
            let pending = r.req.query("includePending").is_some_and(|p| p.eq_ignore_ascii_case("true"));
            let p = r.read(|s, a| certs::list(s, a, r.size()?, r.skip(), pending))?;
            page(r.req, "/certificates", &p, |x| certs::render_item(host, x, false))
        }
        C::Restore => render(&r.write(|s, b, a| {
            let blob: BackupBlob = r.body()?;
            certs::restore(s, b, sealer, a, &blob.value)
        })?),
        C::GetContacts => ok(&certs::render_contacts(host, &r.read(certs::get_contacts)?)),
        C::SetContacts => {
            ok(&certs::render_contacts(host, &r.write(|s, b, a| certs::set_contacts(s, b, a, r.body()?))?))
        }
        C::DeleteContacts => ok(&certs::render_contacts(host, &r.write(certs::delete_contacts)?)),
        C::ListIssuers => {
            let p = r.read(|s, a| certs::list_issuers(s, a, r.size()?, r.skip()))?;
            page(r.req, "/certificates/issuers", &p, |i| certs::render_issuer_item(host, i))
        }
        C::GetIssuer => ok(&certs::render_issuer(host, &r.read(|s, a| certs::get_issuer(s, a, name))?)),
        C::SetIssuer => {
            let patch = r.req.method == Method::PATCH;
            let i = r.write(|s, b, a| certs::set_issuer(s, b, sealer, a, name, r.body()?, patch))?;
            ok(&certs::render_issuer(host, &i))
        }
        C::DeleteIssuer => ok(&certs::render_issuer(host, &r.write(|s, b, a| certs::delete_issuer(s, b, a, name))?)),
        C::ListVersions => {
            let p = r.read(|s, a| certs::list_versions(s, a, name, r.size()?, r.skip()))?;
            page(r.req, &format!("/certificates/{name}/versions"), &p, |x| certs::render_item(host, x, true))
        }
        C::GetPolicy => ok(&certs::render_policy(host, name, &r.read(|s, a| certs::get_policy(s, a, name))?)),
        C::UpdatePolicy => {
            let p = r.write(|s, b, a| certs::update_policy(s, b, a, name, &r.body::<Value>()?))?;
            ok(&certs::render_policy(host, name, &p))
        }
        C::Create => {
            let op = r.write(|s, b, a| certs::create(s, b, sealer, a, name, r.body()?))?;
            crate::http::json(StatusCode::ACCEPTED, &certs::render_operation(host, &op))
        }
        C::Import => render(&r.write(|s, b, a| certs::import(s, b, sealer, a, name, r.body()?))?),
        C::Backup => ok(&json!({"value": r.read(|s, a| certs::backup(s, sealer, a, name))?})),
        C::GetPending => ok(&certs::render_operation(host, &r.read(|s, a| certs::get_pending(s, a, name))?)),
        C::UpdatePending => {
            #[derive(serde::Deserialize)]
            struct Cancel {
                cancellation_requested: bool,
            }
            let op = r.write(|s, b, a| {
                let c: Cancel = r.body()?;
                certs::cancel_pending(s, b, a, name, c.cancellation_requested)
            })?;
            ok(&certs::render_operation(host, &op))
        }
        C::DeletePending => {
            ok(&certs::render_operation(host, &r.write(|s, b, a| certs::delete_pending(s, b, a, name))?))
        }
        C::Merge => {
            let c = r.write(|s, b, a| certs::merge(s, b, sealer, a, name, r.body()?))?;
            crate::http::json(StatusCode::CREATED, &certs::render(host, &c))
        }
        C::Get => render(&r.read(|s, a| certs::get(s, a, name, version))?),
        C::Update => render(&r.write(|s, b, a| certs::update(s, b, a, name, version, r.body()?))?),
        C::Delete => render(&r.write(|s, b, a| certs::delete(s, b, a, name))?),
        C::Deleted(_) => unreachable!("deleted certificates are routed to deleted.rs"),
    })
}

/// The deleted certificates' routes (`deleted.rs`).
pub(super) struct DeletedCertificates;

impl Deleted for DeletedCertificates {
    type View = certs::CertView;
    const PATH: &'static str = "deletedcertificates";
    const SLASH_LISTS: bool = true;

    fn op(op: DeletedOp) -> Operation {
        Operation::Certificate(CertificateOp::Deleted(op))
    }
    fn list(s: &State, vault: &Admitted, size: usize, skip: Option<&str>) -> Result<Page<Self::View>, Error> {
        certs::list_deleted(s, vault, size, skip)
    }
    fn get(s: &State, vault: &Admitted, name: &str) -> Result<Self::View, Error> {
        certs::get_deleted(s, vault, name)
    }
    fn purge(s: &State, b: &mut Batch, vault: &Admitted, name: &str) -> Result<(), Error> {
        certs::purge(s, b, vault, name)
    }
    fn recover(s: &State, b: &mut Batch, vault: &Admitted, name: &str) -> Result<Self::View, Error> {
        certs::recover(s, b, vault, name)
    }
    fn render_item(host: &str, v: &Self::View) -> impl serde::Serialize {
        certs::render_item(host, v, false)
    }
    fn render(host: &str, v: &Self::View) -> impl serde::Serialize {
        certs::render(host, v)
    }
}
