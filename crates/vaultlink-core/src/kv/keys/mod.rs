//! Key Vault keys: create (RSA, EC, and their `-HSM` variants on premium vaults), import, get,
//! update, list, versions, rotate, rotation policy, soft delete, recover, purge, backup, restore,
//! and the cryptographic operations (sign, verify, encrypt, decrypt, wrapKey, unwrapKey).
//!
//! Private keys are PKCS#8 DER sealed at rest, bound to (vault, name, version); they never leave
//! this module except inside a sealed backup blob. JWK output carries public parts only.
//!
//! Choices where Azure's behaviour is unknown (keep them here and in docs/behaviour.md):
//! - an `-HSM` key type on a standard vault: 400 `BadParameter` "Hardware key operation not
//!   allowed on standard vault"; `oct`: 400 `BadParameter`, inner `KeyTypeNotSupported`;
//! - a disabled key: 403, inner `KeyDisabled` (GET refused too, as for secrets); outside
//!   `nbf`/`exp`: 403, inner `KeyNotYetValid` / `KeyExpired`; an operation not in `key_ops`: 403
//!   "Operation {op} is not permitted on this key.", inner `KeyOperationForbidden` (Azure's text);
//! - a digest of the wrong length: Azure's "Invalid length of 'value' ..." (from real errors); an
//!   algorithm that does not fit the key: 400, inner `AlgorithmNotSupported`;
//! - default `key_ops`: the six RSA operations, or sign/verify for EC; `exportable` is false;
//! - only the public exponent 65537 can be generated (aws-lc-rs); others get 400;
//! - the default rotation policy is a Notify action 30 days before expiry; a `Rotate` action runs
//!   when the engine's clock reaches it (the due work), once however far the clock moved;
//! - backups are vaultlink's own sealed format, restorable in the same subscription only.

use aws_lc_rs::rsa;
use aws_lc_rs::signature::EcdsaKeyPair;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vaultlink_crypto::Sealer;

use super::objects::{self, AttributesSpec, Page, VaultObject, check_name, check_tags, find_version, live};
use crate::engine::{Batch, State};
use crate::error::{Error, Kind};
use crate::kv::Admitted;
use crate::model::{DeletedState, KeyObject, KeyVersion, Record, Tags, Vault};

mod alg;
pub mod arm;
mod crypto;
mod material;
mod render;
mod rotation;

pub use alg::{Curve, KEY_OPS, Op};
use alg::{Family, family};
pub use crypto::{OpResult, sign, transform, verify};
use material::{Material, seal_private};
pub(crate) use material::{forget_all, open_private};
pub use render::{jwk, render, render_item, render_result};
pub(crate) use rotation::rotate_due;
pub use rotation::{get_rotation_policy, set_rotation_policy};

/// RSA modulus sizes Key Vault creates.
pub const RSA_SIZES: &[u32] = &[2048, 3072, 4096];
/// The only public exponent aws-lc generates with.
pub const RSA_EXPONENT: u64 = 65537;

fn b64url() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Decodes base64url as clients send it (padding tolerated; standard alphabet tolerated too).
pub fn decode_b64url(field: &str, s: &str) -> Result<Vec<u8>, Error> {
    let t = s.trim_end_matches('=');
    b64url()
        .decode(t)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t))
        .map_err(|_| Error::bad_parameter(format!("The value of '{field}' is not valid base64url.")))
}

pub(crate) fn store_key(vault: &Vault, name: &str) -> String {
    objects::record_key::<KeyObject>(vault, name)
}

fn aad(vault: &Vault, name: &str, version: &str) -> Vec<u8> {
    aad_in(&vault.internal_id, name, version)
}

fn aad_in(vault_internal_id: &str, name: &str, version: &str) -> Vec<u8> {
    format!("vaultlink-key\0{vault_internal_id}\0{}\0{version}", name.to_ascii_lowercase()).into_bytes()
}

/// Whether each stored private key of `obj` opens with `sealer` (for the root key's check,
/// `crate::rootkey`): true for each that does.
pub(crate) fn opens(sealer: &Sealer, obj: &KeyObject) -> impl Iterator<Item = bool> {
    obj.versions.iter().map(move |v| {
        base64::engine::general_purpose::STANDARD
            .decode(&v.sealed_private)
            .ok()
            .is_some_and(|sealed| sealer.open(&sealed, &aad_in(&obj.vault_internal_id, &obj.name, &v.version)).is_ok())
    })
}

/// Every sealed private key of `obj` sealed again, `from` to `to` (`snapshot::reseal`).
pub(crate) fn reseal(obj: &mut KeyObject, from: &Sealer, to: &Sealer) -> Result<(), Error> {
    for v in &mut obj.versions {
        objects::reseal_b64(&mut v.sealed_private, &aad_in(&obj.vault_internal_id, &obj.name, &v.version), from, to)?;
    }
    Ok(())
}

fn internal(m: impl Into<String>) -> Error {
    Error::new(Kind::Internal, "InternalServerError", m)
}

// ---------------------------------------------------------------------------------------------
// Stored objects

/// A key version as the surfaces render it.
#[derive(Debug, Clone)]
pub struct KeyView {
    pub name: String,
    pub version: KeyVersion,
    pub recovery_level: &'static str,
    pub recoverable_days: u32,
    pub deleted: Option<DeletedState>,
    pub managed: bool,
}

fn view(vault: &Vault, obj: &KeyObject, v: &KeyVersion) -> KeyView {
    KeyView {
        name: obj.name.clone(),
        version: v.clone(),
        recovery_level: objects::recovery_level(vault),
        recoverable_days: vault.soft_delete_retention_in_days,
        deleted: obj.deleted.clone(),
        managed: obj.managed,
    }
}

fn check_key_ops(ops: &[String]) -> Result<(), Error> {
    for op in ops {
        if !KEY_OPS.contains(&op.as_str()) {
            return Err(Error::bad_parameter(format!("Invalid key operation: {op}")));
        }
    }
    Ok(())
}

fn default_ops(f: Family) -> Vec<String> {
    let ops: &[&str] = match f {
        Family::Rsa => &["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
        Family::Ec => &["sign", "verify"],
    };
    ops.iter().map(|s| s.to_string()).collect()
}

fn hsm_allowed(vault: &Vault, hsm: bool) -> Result<(), Error> {
    if hsm && !vault.sku_name.eq_ignore_ascii_case("premium") {
        return Err(Error::bad_parameter("Hardware key operation not allowed on standard vault"));
    }
    Ok(())
}

/// Appends a new version holding `material` (creating the key object if needed).
#[allow(clippy::too_many_arguments)]
fn add_version(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    kty: &str,
    material: &Material,
    key_ops: Vec<String>,
    attrs: AttributesSpec,
    tags: Tags,
) -> Result<KeyView, Error> {
    let mut obj = match objects::writable::<KeyObject>(state, vault, name, "create")? {
        Some(o) => o.clone(),
        None => KeyObject {
            vault_internal_id: vault.internal_id.clone(),
            name: name.to_string(),
            versions: vec![],
            deleted: None,
            rotation_policy: None,
            managed: false,
        },
    };
    let t = state.now();
    let version = vaultlink_crypto::random_hex(16);
    let (key_size, crv, public) = material.public();
    let v = KeyVersion {
        version: version.clone(),
        kty: kty.to_string(),
        key_size,
        crv,
        public,
        sealed_private: seal_private(sealer, vault, &obj.name, &version, &material.pkcs8()?),
        key_ops,
        tags,
        enabled: attrs.enabled.unwrap_or(true),
        nbf: attrs.nbf,
        exp: attrs.exp,
        created: t,
        updated: t,
    };
    crate::model::push_exact(&mut obj.versions, v.clone());
    let out = view(vault, &obj, &v);
    batch.put(&store_key(vault, name), Record::Key(obj));
    Ok(out)
}

/// Adds version `version` holding the PKCS#8 key `der` to the key backing certificate `name`,
/// creating it (`managed`) if needed. A plain key of that name is a conflict.
#[allow(clippy::too_many_arguments)]
pub(crate) fn put_managed(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    version: &str,
    hsm: bool,
    der: &[u8],
    attrs: AttributesSpec,
    tags: Tags,
) -> Result<(), Error> {
    let material = match rsa::KeyPair::from_pkcs8(der) {
        Ok(k) => Material::Rsa(k),
        Err(_) => [Curve::P256, Curve::P384, Curve::P521, Curve::P256K]
            .into_iter()
            .find_map(|c| EcdsaKeyPair::from_pkcs8(c.signing(), der).ok().map(|k| Material::Ec(k, c)))
            .ok_or_else(|| Error::bad_parameter("The certificate's private key is not a supported RSA or EC key."))?,
    };
    let fam = if matches!(material, Material::Rsa(_)) { Family::Rsa } else { Family::Ec };
    let kty = match (fam, hsm) {
        (Family::Rsa, false) => "RSA",
        (Family::Rsa, true) => "RSA-HSM",
        (Family::Ec, false) => "EC",
        (Family::Ec, true) => "EC-HSM",
    };
    let mut obj = objects::managed_or_new(state, batch, vault, name, || KeyObject {
        vault_internal_id: vault.internal_id.clone(),
        name: name.to_string(),
        versions: vec![],
        deleted: None,
        rotation_policy: None,
        managed: true,
    })?;
    let t = state.now();
    let (key_size, crv, public) = material.public();
    crate::model::push_exact(
        &mut obj.versions,
        KeyVersion {
            version: version.to_string(),
            kty: kty.to_string(),
            key_size,
            crv,
            public,
            sealed_private: seal_private(sealer, vault, &obj.name, version, &material.pkcs8()?),
            key_ops: default_ops(fam),
            tags,
            enabled: attrs.enabled.unwrap_or(true),
            nbf: attrs.nbf,
            exp: attrs.exp,
            created: t,
            updated: t,
        },
    );
    batch.put(&store_key(vault, name), Record::Key(obj));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Operations

/// `POST /keys/{name}/create` body.
#[derive(Debug, Deserialize)]
pub struct CreateSpec {
    pub kty: String,
    pub key_size: Option<u32>,
    pub public_exponent: Option<u64>,
    pub key_ops: Option<Vec<String>>,
    pub attributes: Option<AttributesSpec>,
    pub tags: Option<Tags>,
    pub crv: Option<String>,
}

/// `POST /keys/{name}/create`: a new version (creating the key if needed).
pub fn create(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Admitted,
    name: &str,
    spec: CreateSpec,
) -> Result<KeyView, Error> {
    create_in(state, batch, sealer, vault, name, spec)
}

/// [`create`] in a vault whose gate the caller passed (the data plane's, or Resource Manager's
/// for `vaults/keys`).
fn create_in(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    spec: CreateSpec,
) -> Result<KeyView, Error> {
    check_name(name)?;
    check_tags(spec.tags.as_ref())?;
    let (fam, hsm) = family(&spec.kty)?;
    hsm_allowed(vault, hsm)?;
    if let Some(ops) = &spec.key_ops {
        check_key_ops(ops)?;
    }
    let material = match fam {
        Family::Rsa => {
            if spec.crv.is_some() {
                return Err(Error::bad_parameter("The 'crv' parameter is not valid for RSA keys."));
            }
            if let Some(e) = spec.public_exponent.filter(|e| *e != RSA_EXPONENT) {
                return Err(Error::bad_parameter(format!(
                    "Invalid public exponent: {e}. vaultlink creates RSA keys with public exponent {RSA_EXPONENT} only."
                )));
            }
            Material::generate_rsa(spec.key_size.unwrap_or(2048))?
        }
        Family::Ec => {
            if spec.key_size.is_some_and(|s| !matches!(s, 256 | 384 | 521)) {
                return Err(Error::bad_parameter("The 'key_size' parameter is not valid for EC keys."));
            }
            let curve = match (&spec.crv, spec.key_size) {
                (Some(c), _) => Curve::parse(c)?,
                (None, Some(384)) => Curve::P384,
                (None, Some(521)) => Curve::P521,
                (None, _) => Curve::P256,
            };
            Material::generate_ec(curve)?
        }
    };
    let ops = spec.key_ops.unwrap_or_else(|| default_ops(fam));
    add_version(
        state,
        batch,
        sealer,
        vault,
        name,
        &spec.kty,
        &material,
        ops,
        spec.attributes.unwrap_or_default(),
        spec.tags.unwrap_or_default(),
    )
}

/// A JSON Web Key as clients send it (import).
#[derive(Debug, Default, Deserialize)]
pub struct JwkSpec {
    pub kty: String,
    pub key_ops: Option<Vec<String>>,
    pub n: Option<String>,
    pub e: Option<String>,
    pub d: Option<String>,
    pub dp: Option<String>,
    pub dq: Option<String>,
    pub qi: Option<String>,
    pub p: Option<String>,
    pub q: Option<String>,
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
}

/// `PUT /keys/{name}` body.
#[derive(Debug, Deserialize)]
pub struct ImportSpec {
    #[serde(rename = "Hsm")]
    pub hsm: Option<bool>,
    pub key: JwkSpec,
    pub attributes: Option<AttributesSpec>,
    pub tags: Option<Tags>,
}

fn strip_zeros(mut b: Vec<u8>) -> Vec<u8> {
    let lead = b.iter().take_while(|x| **x == 0).count().min(b.len().saturating_sub(1));
    b.drain(..lead);
    b
}

fn left_pad(b: Vec<u8>, len: usize) -> Vec<u8> {
    if b.len() >= len {
        return b;
    }
    let mut out = vec![0u8; len - b.len()];
    out.extend(b);
    out
}

/// `PUT /keys/{name}`: imports a JWK with its private parts as a new version.
pub fn import(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Admitted,
    name: &str,
    spec: ImportSpec,
) -> Result<KeyView, Error> {
    check_name(name)?;
    check_tags(spec.tags.as_ref())?;
    let jwk = spec.key;
    let (fam, hsm_kty) = family(&jwk.kty)?;
    let hsm = hsm_kty || spec.hsm.unwrap_or(false);
    hsm_allowed(vault, hsm)?;
    if let Some(ops) = &jwk.key_ops {
        check_key_ops(ops)?;
    }
    let field = |f: &str, v: &Option<String>| -> Result<Vec<u8>, Error> {
        match v {
            Some(s) => decode_b64url(f, s),
            None => Err(Error::bad_parameter(format!(
                "The JSON Web Key is missing the '{f}' parameter; import needs the private key."
            ))),
        }
    };
    let invalid = || Error::bad_parameter("The JSON Web Key is not a valid key: its parameters are inconsistent.");
    let material = match fam {
        Family::Rsa => {
            let comps = rsa::KeyPairComponents {
                public_key: rsa::PublicKeyComponents {
                    n: strip_zeros(field("n", &jwk.n)?),
                    e: strip_zeros(field("e", &jwk.e)?),
                },
                d: field("d", &jwk.d)?,
                p: field("p", &jwk.p)?,
                q: field("q", &jwk.q)?,
                dP: field("dp", &jwk.dp)?,
                dQ: field("dq", &jwk.dq)?,
                qInv: field("qi", &jwk.qi)?,
            };
            let k = rsa::KeyPair::from_components(&comps).map_err(|_| invalid())?;
            if !RSA_SIZES.contains(&(k.public_modulus_len() as u32 * 8)) {
                return Err(Error::bad_parameter(format!(
                    "Invalid key size: {}. RSA keys must be 2048, 3072 or 4096 bits.",
                    k.public_modulus_len() * 8
                )));
            }
            Material::Rsa(k)
        }
        Family::Ec => {
            let curve = Curve::parse(jwk.crv.as_deref().unwrap_or_default())?;
            let n = curve.coord_len();
            let mut point = vec![4u8];
            point.extend(left_pad(field("x", &jwk.x)?, n));
            point.extend(left_pad(field("y", &jwk.y)?, n));
            let d = left_pad(field("d", &jwk.d)?, n);
            let k =
                EcdsaKeyPair::from_private_key_and_public_key(curve.signing(), &d, &point).map_err(|_| invalid())?;
            Material::Ec(k, curve)
        }
    };
    let kty = match (fam, hsm) {
        (Family::Rsa, false) => "RSA",
        (Family::Rsa, true) => "RSA-HSM",
        (Family::Ec, false) => "EC",
        (Family::Ec, true) => "EC-HSM",
    };
    let ops = jwk.key_ops.unwrap_or_else(|| default_ops(fam));
    add_version(
        state,
        batch,
        sealer,
        vault,
        name,
        kty,
        &material,
        ops,
        spec.attributes.unwrap_or_default(),
        spec.tags.unwrap_or_default(),
    )
}

/// `POST /keys/{name}/rotate`: a new version of the same type, size or curve, key_ops and tags.
pub fn rotate(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Admitted,
    name: &str,
) -> Result<KeyView, Error> {
    rotate_in(state, batch, sealer, vault, name)
}

/// A new version of the key with new material, the current one's type, operations and tags, and
/// the expiry its rotation policy gives (`attributes.expiryTime`): `rotate`, or the policy's own
/// `Rotate` action (`rotation::rotate_due`).
fn rotate_in(state: &State, batch: &mut Batch, sealer: &Sealer, vault: &Vault, name: &str) -> Result<KeyView, Error> {
    let obj = live::<KeyObject>(state, vault, name)?;
    objects::refuse_managed(obj, "rotate")?;
    let exp = rotation::expiry_by_policy(obj, state.now());
    let cur = obj.versions.last().ok_or_else(|| objects::not_found::<KeyObject>(name))?.clone();
    let material = match family(&cur.kty)?.0 {
        Family::Rsa => Material::generate_rsa(cur.key_size.unwrap_or(2048))?,
        Family::Ec => Material::generate_ec(Curve::parse(cur.crv.as_deref().unwrap_or_default())?)?,
    };
    add_version(
        state,
        batch,
        sealer,
        vault,
        name,
        &cur.kty,
        &material,
        cur.key_ops.clone(),
        AttributesSpec { enabled: Some(true), nbf: None, exp },
        cur.tags.clone(),
    )
}

fn disabled(op: &str) -> Error {
    Error::new(Kind::Forbidden, "Forbidden", format!("Operation {op} is not allowed on a disabled key."))
        .with_inner("KeyDisabled")
}

/// `GET /keys/{name}/{version?}`. A disabled version cannot be read.
pub fn get(state: &State, vault: &Admitted, name: &str, version: Option<&str>) -> Result<KeyView, Error> {
    let obj = live::<KeyObject>(state, vault, name)?;
    let v = find_version(obj, name, version)?;
    if !v.enabled {
        return Err(disabled("get"));
    }
    Ok(view(vault, obj, v))
}

/// `PATCH /keys/{name}/{version?}` body.
#[derive(Debug, Default, Deserialize)]
pub struct UpdateSpec {
    pub key_ops: Option<Vec<String>>,
    pub attributes: Option<AttributesSpec>,
    pub tags: Option<Tags>,
}

/// `PATCH /keys/{name}/{version?}`: attributes, key_ops, tags.
pub fn update(
    state: &State,
    batch: &mut Batch,
    vault: &Admitted,
    name: &str,
    version: Option<&str>,
    spec: UpdateSpec,
) -> Result<KeyView, Error> {
    check_name(name)?;
    check_tags(spec.tags.as_ref())?;
    if let Some(ops) = &spec.key_ops {
        check_key_ops(ops)?;
    }
    let mut obj = live::<KeyObject>(state, vault, name)?.clone();
    objects::refuse_managed(&obj, "update")?;
    let wanted = find_version(&obj, name, version)?.version.clone();
    let v = obj.versions.iter_mut().find(|x| x.version == wanted).expect("found above");
    if let Some(ops) = spec.key_ops {
        v.key_ops = ops;
    }
    if let Some(t) = spec.tags {
        v.tags = t;
    }
    if let Some(a) = spec.attributes {
        v.enabled = a.enabled.unwrap_or(v.enabled);
        if a.nbf.is_some() {
            v.nbf = a.nbf;
        }
        if a.exp.is_some() {
            v.exp = a.exp;
        }
    }
    v.updated = state.now();
    let v = v.clone();
    let out = view(vault, &obj, &v);
    batch.put(&store_key(vault, name), Record::Key(obj));
    Ok(out)
}

/// `GET /keys`: the current version of every live key.
pub fn list(state: &State, vault: &Admitted, size: usize, skip: Option<&str>) -> Result<Page<KeyView>, Error> {
    objects::list::<KeyObject>(state, vault, size, skip)
}

/// `GET /keys/{name}/versions`.
pub fn list_versions(
    state: &State,
    vault: &Admitted,
    name: &str,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<KeyView>, Error> {
    objects::list_versions::<KeyObject>(state, vault, name, size, skip)
}

/// `DELETE /keys/{name}`: every version moves to the deleted state (or is gone without soft delete).
pub fn delete(state: &State, batch: &mut Batch, vault: &Admitted, name: &str) -> Result<KeyView, Error> {
    objects::delete::<KeyObject>(state, batch, vault, name)
}

/// `GET /deletedkeys/{name}`.
pub fn get_deleted(state: &State, vault: &Admitted, name: &str) -> Result<KeyView, Error> {
    objects::get_deleted::<KeyObject>(state, vault, name)
}

/// `GET /deletedkeys`.
pub fn list_deleted(state: &State, vault: &Admitted, size: usize, skip: Option<&str>) -> Result<Page<KeyView>, Error> {
    objects::list_deleted::<KeyObject>(state, vault, size, skip)
}

/// `POST /deletedkeys/{name}/recover`.
pub fn recover(state: &State, batch: &mut Batch, vault: &Admitted, name: &str) -> Result<KeyView, Error> {
    objects::recover::<KeyObject>(state, batch, vault, name)
}

/// `DELETE /deletedkeys/{name}`: gone for good, unless purge protection holds it.
pub fn purge(state: &State, batch: &mut Batch, vault: &Admitted, name: &str) -> Result<(), Error> {
    objects::purge::<KeyObject>(state, batch, vault, name)
}

// ---------------------------------------------------------------------------------------------
// Backup / restore

#[derive(Serialize, Deserialize)]
pub(crate) struct Backup {
    v: u32,
    subscription: String,
    name: String,
    rotation_policy: Option<Value>,
    versions: Vec<BackupVersion>,
}

#[derive(Serialize, Deserialize)]
struct BackupVersion {
    meta: KeyVersion,
    /// Base64 of the PKCS#8 DER (the whole blob is sealed).
    pkcs8: String,
}

/// `POST /keys/{name}/backup`: an opaque, encrypted blob restorable in the same subscription.
pub fn backup(state: &State, sealer: &Sealer, vault: &Admitted, name: &str) -> Result<String, Error> {
    objects::backup::<KeyObject>(state, sealer, vault, name)
}

/// `POST /keys/restore`.
pub fn restore(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Admitted,
    blob: &str,
) -> Result<KeyView, Error> {
    objects::restore::<KeyObject>(state, batch, sealer, vault, blob)
}

impl VaultObject for KeyObject {
    fn remove_companions(_batch: &mut Batch, vault: &Vault, name: &str) {
        material::forget(&vault.internal_id, name);
    }
    type Version = KeyVersion;
    type View = KeyView;
    type Backup = Backup;
    const COLLECTION: &'static str = "keys";
    const KIND: &'static str = "key";
    const TITLE: &'static str = "Key";

    fn of(record: &Record) -> Option<&Self> {
        match record {
            Record::Key(k) => Some(k),
            _ => None,
        }
    }
    fn from_record(record: Record) -> Option<Self> {
        match record {
            Record::Key(k) => Some(k),
            _ => None,
        }
    }
    fn into_record(self) -> Record {
        Record::Key(self)
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn versions(&self) -> &[KeyVersion] {
        &self.versions
    }
    fn version_id(v: &KeyVersion) -> &str {
        &v.version
    }
    fn deleted_state(&self) -> Option<&DeletedState> {
        self.deleted.as_ref()
    }
    fn set_deleted(&mut self, deleted: Option<DeletedState>) {
        self.deleted = deleted;
    }
    fn view(vault: &Vault, obj: &Self, v: &KeyVersion) -> KeyView {
        view(vault, obj, v)
    }
    fn managed(&self) -> bool {
        self.managed
    }

    fn backup_content(_state: &State, sealer: &Sealer, vault: &Vault, obj: &Self) -> Result<Backup, Error> {
        let mut versions = Vec::with_capacity(obj.versions.len());
        for v in &obj.versions {
            versions.push(BackupVersion {
                pkcs8: b64().encode(open_private(sealer, vault, &obj.name, v)?),
                meta: v.clone(),
            });
        }
        Ok(Backup {
            v: 1,
            subscription: vault.subscription(),
            name: obj.name.clone(),
            rotation_policy: obj.rotation_policy.clone(),
            versions,
        })
    }
    fn backup_name(b: &Backup) -> &str {
        &b.name
    }
    fn restored(_state: &State, _batch: &mut Batch, sealer: &Sealer, vault: &Vault, b: Backup) -> Result<Self, Error> {
        if b.versions.iter().any(|v| family(&v.meta.kty).is_ok_and(|(_, hsm)| hsm)) {
            hsm_allowed(vault, true)?;
        }
        let mut obj = KeyObject {
            vault_internal_id: vault.internal_id.clone(),
            name: b.name.clone(),
            versions: vec![],
            deleted: None,
            rotation_policy: b.rotation_policy,
            managed: false,
        };
        for bv in b.versions {
            let der = b64().decode(&bv.pkcs8).map_err(|_| objects::invalid_backup())?;
            let mut meta = bv.meta;
            meta.sealed_private = seal_private(sealer, vault, &b.name, &meta.version, &der);
            obj.versions.push(meta);
        }
        Ok(obj)
    }
}

#[cfg(test)]
mod tests;
