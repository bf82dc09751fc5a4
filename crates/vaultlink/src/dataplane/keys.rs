//! The keys routes (`/keys`; `/deletedkeys` through `deleted.rs`): (method, path) -> operation,
//! and each operation's core call and rendering.

use hyper::Method;
use serde_json::{Value, json};
use vaultlink_core::kv::keys::{self, Op};
use vaultlink_core::kv::objects::Page;
use vaultlink_core::kv::{Admitted, DeletedOp, KeyOp, Operation};
use vaultlink_core::{Batch, Error, State};

use super::deleted::Deleted;
use super::{BackupBlob, Route, Run, ok, page};
use crate::http::Resp;

/// The keys routes table.
pub(super) fn route<'p>(method: &Method, segs: &[&'p str], l: &[&str]) -> Option<Route<'p>> {
    use {KeyOp as K, Method as M};
    let on = |op| Some(Route::on(Operation::Key(op), segs, 1));
    match (method, l) {
        (&M::GET, ["keys"] | ["keys", ""]) => Some(Route::collection(Operation::Key(K::List))),
        (&M::POST, ["keys", "restore"]) => Some(Route::collection(Operation::Key(K::Restore))),
        (&M::GET, ["keys", _, "versions"]) => on(K::ListVersions),
        (&M::GET, ["keys", _, "rotationpolicy"]) => on(K::GetRotationPolicy),
        (&M::PUT, ["keys", _, "rotationpolicy"]) => on(K::SetRotationPolicy),
        (&M::POST, ["keys", _, "create"]) => on(K::Create),
        (&M::POST, ["keys", _, "rotate"]) => on(K::Rotate),
        (&M::POST, ["keys", _, "backup"]) => on(K::Backup),
        (&M::POST, ["keys", _, _, "sign"]) => on(K::Sign),
        (&M::POST, ["keys", _, _, "verify"]) => on(K::Verify),
        (&M::POST, ["keys", _, _, "encrypt"]) => on(K::Encrypt),
        (&M::POST, ["keys", _, _, "decrypt"]) => on(K::Decrypt),
        (&M::POST, ["keys", _, _, "wrapkey"]) => on(K::WrapKey),
        (&M::POST, ["keys", _, _, "unwrapkey"]) => on(K::UnwrapKey),
        (&M::GET, ["keys", _] | ["keys", _, _]) => on(K::Get),
        (&M::PUT, ["keys", _]) => on(K::Import),
        (&M::PATCH, ["keys", _] | ["keys", _, _]) => on(K::Update),
        (&M::DELETE, ["keys", _]) => on(K::Delete),
        _ => None,
    }
}

#[derive(serde::Deserialize)]
struct OpBody {
    alg: String,
    value: String,
}

#[derive(serde::Deserialize)]
struct VerifyBody {
    alg: String,
    digest: String,
    value: String,
}

/// Runs one keys operation.
pub(super) fn run(r: &Run<'_>, op: KeyOp) -> Result<Resp, Error> {
    use KeyOp as K;
    let (host, name, version) = (r.host(), r.route.name, r.route.version);
    let sealer = &r.app.sealer;
    let render = |v: &keys::KeyView| ok(&keys::render(host, v));
    let transform = |op: Op| {
        r.read(|s, a| {
            let b: OpBody = r.body()?;
            let input = keys::decode_b64url("value", &b.value)?;
            keys::transform(s, sealer, a, name, version, op, &b.alg, &input)
        })
    };
    Ok(match op {
        K::List => {
            let p = r.read(|s, a| keys::list(s, a, r.size()?, r.skip()))?;
            page(r.req, "/keys", &p, |x| keys::render_item(host, x, false))
        }
        K::Restore => render(&r.write(|s, b, a| {
            let blob: BackupBlob = r.body()?;
            keys::restore(s, b, sealer, a, &blob.value)
        })?),
        K::ListVersions => {
            let p = r.read(|s, a| keys::list_versions(s, a, name, r.size()?, r.skip()))?;
            page(r.req, &format!("/keys/{name}/versions"), &p, |x| keys::render_item(host, x, true))
        }
        K::GetRotationPolicy => ok(&r.read(|s, a| keys::get_rotation_policy(s, host, a, name))?),
        K::SetRotationPolicy => {
            ok(&r.write(|s, b, a| keys::set_rotation_policy(s, b, host, a, name, r.body::<Value>()?))?)
        }
        K::Create => render(&r.write(|s, b, a| keys::create(s, b, sealer, a, name, r.body()?))?),
        K::Rotate => render(&r.write(|s, b, a| keys::rotate(s, b, sealer, a, name))?),
        K::Backup => ok(&json!({"value": r.read(|s, a| keys::backup(s, sealer, a, name))?})),
        K::Sign => ok(&keys::render_result(
            host,
            &r.read(|s, a| {
                let b: OpBody = r.body()?;
                let digest = keys::decode_b64url("value", &b.value)?;
                keys::sign(s, sealer, a, name, version, &b.alg, &digest)
            })?,
        )),
        K::Verify => {
            let (_, valid) = r.read(|s, a| {
                let b: VerifyBody = r.body()?;
                let digest = keys::decode_b64url("digest", &b.digest)?;
                let sig = keys::decode_b64url("value", &b.value)?;
                keys::verify(s, a, name, version, &b.alg, &digest, &sig)
            })?;
            ok(&json!({"value": valid}))
        }
        K::Encrypt => ok(&keys::render_result(host, &transform(Op::Encrypt)?)),
        K::Decrypt => ok(&keys::render_result(host, &transform(Op::Decrypt)?)),
        K::WrapKey => ok(&keys::render_result(host, &transform(Op::WrapKey)?)),
        K::UnwrapKey => ok(&keys::render_result(host, &transform(Op::UnwrapKey)?)),
        K::Get => render(&r.read(|s, a| keys::get(s, a, name, version))?),
        K::Import => render(&r.write(|s, b, a| keys::import(s, b, sealer, a, name, r.body()?))?),
        K::Update => render(&r.write(|s, b, a| keys::update(s, b, a, name, version, r.body()?))?),
        K::Delete => render(&r.write(|s, b, a| keys::delete(s, b, a, name))?),
        K::Deleted(_) => unreachable!("deleted keys are routed to deleted.rs"),
    })
}

/// The deleted keys' routes (`deleted.rs`).
pub(super) struct DeletedKeys;

impl Deleted for DeletedKeys {
    type View = keys::KeyView;
    const PATH: &'static str = "deletedkeys";
    const SLASH_LISTS: bool = true;

    fn op(op: DeletedOp) -> Operation {
        Operation::Key(KeyOp::Deleted(op))
    }
    fn list(s: &State, vault: &Admitted, size: usize, skip: Option<&str>) -> Result<Page<Self::View>, Error> {
        keys::list_deleted(s, vault, size, skip)
    }
    fn get(s: &State, vault: &Admitted, name: &str) -> Result<Self::View, Error> {
        keys::get_deleted(s, vault, name)
    }
    fn purge(s: &State, b: &mut Batch, vault: &Admitted, name: &str) -> Result<(), Error> {
        keys::purge(s, b, vault, name)
    }
    fn recover(s: &State, b: &mut Batch, vault: &Admitted, name: &str) -> Result<Self::View, Error> {
        keys::recover(s, b, vault, name)
    }
    fn render_item(host: &str, v: &Self::View) -> impl serde::Serialize {
        keys::render_item(host, v, false)
    }
    fn render(host: &str, v: &Self::View) -> impl serde::Serialize {
        keys::render(host, v)
    }
}
