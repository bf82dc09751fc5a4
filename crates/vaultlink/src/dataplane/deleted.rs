//! The deleted-object routes of every kind (`/deletedsecrets`, `/deletedkeys`,
//! `/deletedcertificates`): list, get, purge, recover. Each kind's file says what differs (its
//! operations, its core calls, its rendering) in a `Deleted` impl beside its own table.

use hyper::{Method, StatusCode};
use vaultlink_core::kv::objects::Page;
use vaultlink_core::kv::{Admitted, DeletedOp, Operation};
use vaultlink_core::{Batch, Error, State};

use super::{Route, Run, ok, page};
use crate::http::{Resp, empty};

/// A kind of vault object as its deleted-object routes see it.
pub(super) trait Deleted {
    type View;
    /// The collection: `deletedsecrets`, `deletedkeys`, `deletedcertificates`.
    const PATH: &'static str;
    /// Whether `GET /{PATH}/` lists (keys, certificates). For secrets it reads the deleted secret
    /// named "" (refused as an invalid name), as it always has.
    const SLASH_LISTS: bool;

    /// The kind's operation for `op`.
    fn op(op: DeletedOp) -> Operation;
    fn list(s: &State, vault: &Admitted, size: usize, skip: Option<&str>) -> Result<Page<Self::View>, Error>;
    fn get(s: &State, vault: &Admitted, name: &str) -> Result<Self::View, Error>;
    fn purge(s: &State, b: &mut Batch, vault: &Admitted, name: &str) -> Result<(), Error>;
    fn recover(s: &State, b: &mut Batch, vault: &Admitted, name: &str) -> Result<Self::View, Error>;
    /// A list item.
    fn render_item(host: &str, v: &Self::View) -> impl serde::Serialize;
    /// A deleted bundle.
    fn render(host: &str, v: &Self::View) -> impl serde::Serialize;
}

/// The deleted-object routes table of kind `K`.
pub(super) fn route<'p, K: Deleted>(method: &Method, segs: &[&'p str], l: &[&str]) -> Option<Route<'p>> {
    use {DeletedOp as D, Method as M};
    let on = |op| Some(Route::on(K::op(op), segs, 1));
    match (method, l) {
        (&M::GET, [_] | [_, ""]) if l.len() == 1 || K::SLASH_LISTS => Some(Route::collection(K::op(D::List))),
        (&M::GET, [_, _]) => on(D::Get),
        (&M::DELETE, [_, _]) => on(D::Purge),
        (&M::POST, [_, _, "recover"]) => on(D::Recover),
        _ => None,
    }
}

/// Runs one deleted-object operation of kind `K`.
pub(super) fn run<K: Deleted>(r: &Run<'_>, op: DeletedOp) -> Result<Resp, Error> {
    let (host, name) = (r.host(), r.route.name);
    Ok(match op {
        DeletedOp::List => {
            let p = r.read(|s, a| K::list(s, a, r.size()?, r.skip()))?;
            page(r.req, &format!("/{}", K::PATH), &p, |x| K::render_item(host, x))
        }
        DeletedOp::Get => ok(&K::render(host, &r.read(|s, a| K::get(s, a, name))?)),
        DeletedOp::Purge => {
            r.write(|s, b, a| K::purge(s, b, a, name))?;
            empty(StatusCode::NO_CONTENT)
        }
        DeletedOp::Recover => ok(&K::render(host, &r.write(|s, b, a| K::recover(s, b, a, name))?)),
    })
}
