//! The Key Vault keys routes table (`/keys`; `/deletedkeys` through `dataplane_deleted.rs`):
//! authorize, then one core call. Authentication, the network decision and throttling happen
//! before, in `dataplane::serve`.

use hyper::Method;
use serde_json::{Value, json};
use vaultlink_core::kv::keys::{self, Op};
use vaultlink_core::kv::objects::{self, Page};
use vaultlink_core::kv::{self, KvError, Permission};
use vaultlink_core::model::Vault;
use vaultlink_core::{Batch, Caller, State};

use crate::dataplane::{BackupBlob, body, ok, page};
use crate::dataplane_deleted::Deleted;
use crate::http::{App, Req, Resp};

const fn perm(data_action: &'static str, policy: &'static str) -> Permission {
    Permission { data_action, policy: ("keys", policy) }
}

// keyvault-rbac.md §2c.
const READ: Permission = perm("Microsoft.KeyVault/vaults/keys/read", "get");
const LIST: Permission = perm("Microsoft.KeyVault/vaults/keys/read", "list");
const CREATE: Permission = perm("Microsoft.KeyVault/vaults/keys/create/action", "create");
const IMPORT: Permission = perm("Microsoft.KeyVault/vaults/keys/import/action", "import");
const ROTATE: Permission = perm("Microsoft.KeyVault/vaults/keys/rotate/action", "rotate");
const UPDATE: Permission = perm("Microsoft.KeyVault/vaults/keys/update/action", "update");
const DELETE: Permission = perm("Microsoft.KeyVault/vaults/keys/delete", "delete");
const BACKUP: Permission = perm("Microsoft.KeyVault/vaults/keys/backup/action", "backup");
const RESTORE: Permission = perm("Microsoft.KeyVault/vaults/keys/restore/action", "restore");
const RECOVER: Permission = perm("Microsoft.KeyVault/vaults/keys/recover/action", "recover");
const PURGE: Permission = perm("Microsoft.KeyVault/vaults/keys/purge/action", "purge");
const ENCRYPT: Permission = perm("Microsoft.KeyVault/vaults/keys/encrypt/action", "encrypt");
const DECRYPT: Permission = perm("Microsoft.KeyVault/vaults/keys/decrypt/action", "decrypt");
const SIGN: Permission = perm("Microsoft.KeyVault/vaults/keys/sign/action", "sign");
const VERIFY: Permission = perm("Microsoft.KeyVault/vaults/keys/verify/action", "verify");
const WRAP: Permission = perm("Microsoft.KeyVault/vaults/keys/wrap/action", "wrapKey");
const UNWRAP: Permission = perm("Microsoft.KeyVault/vaults/keys/unwrap/action", "unwrapKey");
const GET_POLICY: Permission = perm("Microsoft.KeyVault/vaults/keyrotationpolicies/read", "getrotationpolicy");
const SET_POLICY: Permission = perm("Microsoft.KeyVault/vaults/keyrotationpolicies/write", "setrotationpolicy");

/// The last path segment of a key's cryptographic operations, which use a stored key and store
/// nothing (so `http.rs` answers them on the connection's thread).
pub(crate) fn is_crypto_operation(last_segment: &str) -> bool {
    ["sign", "verify", "encrypt", "decrypt", "wrapkey", "unwrapkey"]
        .iter()
        .any(|op| last_segment.eq_ignore_ascii_case(op))
}

/// The deleted keys' routes (`dataplane_deleted.rs`).
pub(crate) struct DeletedKeys;

impl Deleted for DeletedKeys {
    type View = keys::KeyView;
    const PATH: &'static str = "deletedkeys";
    const SLASH_LISTS: bool = true;
    const LIST: Permission = LIST;
    const GET: Permission = READ;
    const PURGE: Permission = PURGE;
    const RECOVER: Permission = RECOVER;

    fn list(s: &State, vault: &Vault, size: usize, skip: Option<&str>) -> Result<Page<Self::View>, KvError> {
        keys::list_deleted(s, vault, size, skip)
    }
    fn get(s: &State, vault: &Vault, name: &str) -> Result<Self::View, KvError> {
        keys::get_deleted(s, vault, name)
    }
    fn purge(s: &State, b: &mut Batch, vault: &Vault, name: &str) -> Result<(), KvError> {
        keys::purge(s, b, vault, name)
    }
    fn recover(s: &State, b: &mut Batch, vault: &Vault, name: &str) -> Result<Self::View, KvError> {
        keys::recover(s, b, vault, name)
    }
    fn render_item(host: &str, v: &Self::View) -> impl serde::Serialize {
        keys::render_item(host, v, false)
    }
    fn render(host: &str, v: &Self::View) -> impl serde::Serialize {
        keys::render(host, v)
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

/// The keys routes table: (method, path) -> authorize, then one core call.
pub(crate) fn key_routes(
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
    let version = || segs.get(2).copied();
    Ok(match (&req.method, l) {
        (&M::GET, ["keys"] | ["keys", ""]) => {
            auth(LIST, None)?;
            page(req, "/keys", &e.read(|s| keys::list(s, vault, size()?, skip))?, |x| {
                keys::render_item(&req.host, x, false)
            })
        }
        (&M::POST, ["keys", "restore"]) => {
            auth(RESTORE, None)?;
            let blob: BackupBlob = body(req)?;
            ok(&keys::render(host, &e.write(|s, b| keys::restore(s, b, &app.sealer, vault, &blob.value))?))
        }
        (&M::GET, ["keys", _, "versions"]) => {
            auth(LIST, Some(name(1)))?;
            page(
                req,
                &format!("/keys/{}/versions", name(1)),
                &e.read(|s| keys::list_versions(s, vault, name(1), size()?, skip))?,
                |x| keys::render_item(&req.host, x, true),
            )
        }
        (&M::GET, ["keys", _, "rotationpolicy"]) => {
            auth(GET_POLICY, Some(name(1)))?;
            ok(&e.read(|s| keys::get_rotation_policy(s, host, vault, name(1)))?)
        }
        (&M::PUT, ["keys", _, "rotationpolicy"]) => {
            auth(SET_POLICY, Some(name(1)))?;
            let spec: Value = body(req)?;
            ok(&e.write(|s, b| keys::set_rotation_policy(s, b, host, vault, name(1), spec.clone()))?)
        }
        (&M::POST, ["keys", _, "create"]) => {
            auth(CREATE, Some(name(1)))?;
            let spec: keys::CreateSpec = body(req)?;
            ok(&keys::render(host, &e.write(|s, b| keys::create(s, b, &app.sealer, vault, name(1), spec))?))
        }
        (&M::POST, ["keys", _, "rotate"]) => {
            auth(ROTATE, Some(name(1)))?;
            ok(&keys::render(host, &e.write(|s, b| keys::rotate(s, b, &app.sealer, vault, name(1)))?))
        }
        (&M::POST, ["keys", _, "backup"]) => {
            auth(BACKUP, Some(name(1)))?;
            ok(&json!({"value": e.read(|s| keys::backup(s, &app.sealer, vault, name(1)))?}))
        }
        (&M::POST, ["keys", _, _, "sign"]) => {
            auth(SIGN, Some(name(1)))?;
            let b: OpBody = body(req)?;
            let digest = keys::decode_b64url("value", &b.value)?;
            let r = e.read(|s| keys::sign(s, &app.sealer, vault, name(1), version(), &b.alg, &digest))?;
            ok(&keys::render_result(host, &r))
        }
        (&M::POST, ["keys", _, _, "verify"]) => {
            auth(VERIFY, Some(name(1)))?;
            let b: VerifyBody = body(req)?;
            let digest = keys::decode_b64url("digest", &b.digest)?;
            let sig = keys::decode_b64url("value", &b.value)?;
            let (_, valid) = e.read(|s| keys::verify(s, vault, name(1), version(), &b.alg, &digest, &sig))?;
            ok(&json!({"value": valid}))
        }
        (&M::POST, ["keys", _, _, op @ ("encrypt" | "decrypt" | "wrapkey" | "unwrapkey")]) => {
            let (perm, op) = match *op {
                "encrypt" => (ENCRYPT, Op::Encrypt),
                "decrypt" => (DECRYPT, Op::Decrypt),
                "wrapkey" => (WRAP, Op::WrapKey),
                _ => (UNWRAP, Op::UnwrapKey),
            };
            auth(perm, Some(name(1)))?;
            let b: OpBody = body(req)?;
            let input = keys::decode_b64url("value", &b.value)?;
            let r = e.read(|s| keys::transform(s, &app.sealer, vault, name(1), version(), op, &b.alg, &input))?;
            ok(&keys::render_result(host, &r))
        }
        (&M::GET, ["keys", _] | ["keys", _, _]) => {
            auth(READ, Some(name(1)))?;
            ok(&keys::render(host, &e.read(|s| keys::get(s, vault, name(1), version()))?))
        }
        (&M::PUT, ["keys", _]) => {
            auth(IMPORT, Some(name(1)))?;
            let spec: keys::ImportSpec = body(req)?;
            ok(&keys::render(host, &e.write(|s, b| keys::import(s, b, &app.sealer, vault, name(1), spec))?))
        }
        (&M::PATCH, ["keys", _] | ["keys", _, _]) => {
            auth(UPDATE, Some(name(1)))?;
            let spec: keys::UpdateSpec = body(req)?;
            ok(&keys::render(host, &e.write(|s, b| keys::update(s, b, vault, name(1), version(), spec))?))
        }
        (&M::DELETE, ["keys", _]) => {
            auth(DELETE, Some(name(1)))?;
            ok(&keys::render(host, &e.write(|s, b| keys::delete(s, b, vault, name(1)))?))
        }
        _ => {
            return Err(KvError::bad_parameter(format!("vaultlink does not serve {} {}.", req.method, req.path)));
        }
    })
}
