//! The deleted-object routes of every kind (`/deletedsecrets`, `/deletedkeys`,
//! `/deletedcertificates`): list, get, purge, recover; authorize, then one core call. Each kind's
//! routes file says what differs (its permissions, its core calls, its rendering) in a `Deleted`
//! impl beside its own table. Authentication, the network decision and throttling happen before,
//! in `dataplane::serve`.

use hyper::{Method, StatusCode};
use vaultlink_core::kv::objects::{self, Page};
use vaultlink_core::kv::{self, KvError, Permission};
use vaultlink_core::model::Vault;
use vaultlink_core::{Batch, Caller, State};

use crate::dataplane::{ok, page};
use crate::http::{App, Req, Resp, empty};

/// A kind of vault object as its deleted-object routes see it.
pub(crate) trait Deleted {
    type View;
    /// The collection: `deletedsecrets`, `deletedkeys`, `deletedcertificates`.
    const PATH: &'static str;
    /// Whether `GET /{PATH}/` lists (keys, certificates). For secrets it reads the deleted secret
    /// named "" (refused as an invalid name), as it always has.
    const SLASH_LISTS: bool;
    const LIST: Permission;
    const GET: Permission;
    const PURGE: Permission;
    const RECOVER: Permission;

    fn list(s: &State, vault: &Vault, size: usize, skip: Option<&str>) -> Result<Page<Self::View>, KvError>;
    fn get(s: &State, vault: &Vault, name: &str) -> Result<Self::View, KvError>;
    fn purge(s: &State, b: &mut Batch, vault: &Vault, name: &str) -> Result<(), KvError>;
    fn recover(s: &State, b: &mut Batch, vault: &Vault, name: &str) -> Result<Self::View, KvError>;
    /// A list item.
    fn render_item(host: &str, v: &Self::View) -> impl serde::Serialize;
    /// A deleted bundle.
    fn render(host: &str, v: &Self::View) -> impl serde::Serialize;
}

/// The deleted-object routes table of kind `K`: (method, path) -> authorize, then one core call.
pub(crate) fn deleted_routes<K: Deleted>(
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
    let host = req.host.as_str();
    let size = || objects::page_size(req.query("maxresults"));
    let skip = req.query("$skiptoken");
    let name = |i: usize| segs[i];
    Ok(match (&req.method, l) {
        (&M::GET, [_] | [_, ""]) if l.len() == 1 || K::SLASH_LISTS => {
            auth(K::LIST, None)?;
            page(req, &format!("/{}", K::PATH), &e.read(|s| K::list(s, vault, size()?, skip))?, |x| {
                K::render_item(host, x)
            })
        }
        (&M::GET, [_, _]) => {
            auth(K::GET, Some(name(1)))?;
            ok(&K::render(host, &e.read(|s| K::get(s, vault, name(1)))?))
        }
        (&M::DELETE, [_, _]) => {
            auth(K::PURGE, Some(name(1)))?;
            e.write(|s, b| K::purge(s, b, vault, name(1)))?;
            empty(StatusCode::NO_CONTENT)
        }
        (&M::POST, [_, _, "recover"]) => {
            auth(K::RECOVER, Some(name(1)))?;
            ok(&K::render(host, &e.write(|s, b| K::recover(s, b, vault, name(1)))?))
        }
        _ => {
            return Err(KvError::bad_parameter(format!("vaultlink does not serve {} {}.", req.method, req.path)));
        }
    })
}
