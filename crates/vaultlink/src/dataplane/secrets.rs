//! The secrets routes (`/secrets`; `/deletedsecrets` through `deleted.rs`): (method, path) ->
//! operation, and each operation's core call and rendering.

use hyper::Method;
use serde_json::json;
use vaultlink_core::kv::{Admitted, DeletedOp, Operation, SecretOp, objects, secrets};
use vaultlink_core::{Batch, Error, State};

use super::deleted::Deleted;
use super::{BackupBlob, Route, Run, ok, page};
use crate::http::Resp;

/// The secrets routes table.
pub(super) fn route<'p>(method: &Method, segs: &[&'p str], l: &[&str]) -> Option<Route<'p>> {
    use {Method as M, SecretOp as S};
    let on = |op| Some(Route::on(Operation::Secret(op), segs, 1));
    match (method, l) {
        (&M::GET, ["secrets"] | ["secrets", ""]) => Some(Route::collection(Operation::Secret(S::List))),
        (&M::POST, ["secrets", "restore"]) => Some(Route::collection(Operation::Secret(S::Restore))),
        (&M::GET, ["secrets", _, "versions"]) => on(S::ListVersions),
        (&M::POST, ["secrets", _, "backup"]) => on(S::Backup),
        (&M::GET, ["secrets", _] | ["secrets", _, _]) => on(S::Get),
        (&M::PUT, ["secrets", _]) => on(S::Set),
        (&M::PATCH, ["secrets", _] | ["secrets", _, _]) => on(S::Update),
        (&M::DELETE, ["secrets", _]) => on(S::Delete),
        _ => None,
    }
}

/// Runs one secrets operation.
pub(super) fn run(r: &Run<'_>, op: SecretOp) -> Result<Resp, Error> {
    use SecretOp as S;
    let (host, name, version) = (r.host(), r.route.name, r.route.version);
    let sealer = &r.app.sealer;
    let render = |v: &secrets::SecretView| ok(&secrets::render(host, v, true));
    match op {
        S::List => {
            let p = r.read(|s, a| secrets::list(s, a, r.size()?, r.skip()))?;
            Ok(page(r.req, "/secrets", &p, |x| secrets::render(host, x, false)))
        }
        S::Restore => Ok(render(&r.write(|s, b, a| {
            let blob: BackupBlob = r.body()?;
            secrets::restore(s, b, sealer, a, &blob.value)
        })?)),
        S::ListVersions => {
            let p = r.read(|s, a| secrets::list_versions(s, a, name, r.size()?, r.skip()))?;
            Ok(page(r.req, &format!("/secrets/{name}/versions"), &p, |x| secrets::render(host, x, true)))
        }
        S::Backup => Ok(ok(&json!({"value": r.read(|s, a| secrets::backup(s, sealer, a, name))?}))),
        S::Get => Ok(render(&r.read(|s, a| secrets::get(s, sealer, a, name, version))?)),
        S::Set => Ok(render(&r.write(|s, b, a| secrets::set(s, b, sealer, a, name, r.body()?))?)),
        S::Update => Ok(render(&r.write(|s, b, a| secrets::update(s, b, a, name, version, r.body()?))?)),
        S::Delete => Ok(render(&r.write(|s, b, a| secrets::delete(s, b, a, name))?)),
        S::Deleted(_) => unreachable!("deleted secrets are routed to deleted.rs"),
    }
}

/// The deleted secrets' routes (`deleted.rs`).
pub(super) struct DeletedSecrets;

impl Deleted for DeletedSecrets {
    type View = secrets::SecretView;
    const PATH: &'static str = "deletedsecrets";
    const SLASH_LISTS: bool = false;

    fn op(op: DeletedOp) -> Operation {
        Operation::Secret(SecretOp::Deleted(op))
    }
    fn list(s: &State, vault: &Admitted, size: usize, skip: Option<&str>) -> Result<objects::Page<Self::View>, Error> {
        secrets::list_deleted(s, vault, size, skip)
    }
    fn get(s: &State, vault: &Admitted, name: &str) -> Result<Self::View, Error> {
        secrets::get_deleted(s, vault, name)
    }
    fn purge(s: &State, b: &mut Batch, vault: &Admitted, name: &str) -> Result<(), Error> {
        secrets::purge(s, b, vault, name)
    }
    fn recover(s: &State, b: &mut Batch, vault: &Admitted, name: &str) -> Result<Self::View, Error> {
        secrets::recover(s, b, vault, name)
    }
    fn render_item(host: &str, v: &Self::View) -> impl serde::Serialize {
        secrets::render(host, v, false)
    }
    fn render(host: &str, v: &Self::View) -> impl serde::Serialize {
        secrets::render(host, v, true)
    }
}
