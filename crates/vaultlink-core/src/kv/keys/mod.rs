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
//! - the default rotation policy is a Notify action 30 days before expiry; nothing rotates by itself;
//! - backups are vaultlink's own sealed format, restorable in the same subscription only.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    self, KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey, PrivateDecryptingKey,
};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaParameters, UnparsedPublicKey};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vaultlink_crypto::Sealer;

use super::objects::{self, AttributesSpec, Page, VaultObject, check_name, check_tags, find_version, live};
use crate::engine::{Batch, State, now};
use crate::kv::{Kind, KvError};
use crate::model::{DeletedState, KeyObject, KeyVersion, Record, Tags, Vault};

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
pub fn decode_b64url(field: &str, s: &str) -> Result<Vec<u8>, KvError> {
    let t = s.trim_end_matches('=');
    b64url()
        .decode(t)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t))
        .map_err(|_| KvError::bad_parameter(format!("The value of '{field}' is not valid base64url.")))
}

pub(crate) fn store_key(vault: &Vault, name: &str) -> String {
    objects::record_key::<KeyObject>(vault, name)
}

fn aad(vault: &Vault, name: &str, version: &str) -> Vec<u8> {
    format!("vaultlink-key\0{}\0{}\0{}", vault.internal_id, name.to_ascii_lowercase(), version).into_bytes()
}

fn internal(m: impl Into<String>) -> KvError {
    KvError::new(Kind::Internal, "InternalServerError", m)
}

// ---------------------------------------------------------------------------------------------
// Key types, curves, algorithms

/// The operations a key can allow (`key_ops`), as Azure spells them.
pub const KEY_OPS: &[&str] = &["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"];

/// A cryptographic operation on a key version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Encrypt,
    Decrypt,
    Sign,
    Verify,
    WrapKey,
    UnwrapKey,
}

impl Op {
    /// The `key_ops` entry that permits it.
    pub fn key_op(self) -> &'static str {
        match self {
            Op::Encrypt => "encrypt",
            Op::Decrypt => "decrypt",
            Op::Sign => "sign",
            Op::Verify => "verify",
            Op::WrapKey => "wrapKey",
            Op::UnwrapKey => "unwrapKey",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Rsa,
    Ec,
}

fn family(kty: &str) -> Result<(Family, bool), KvError> {
    match kty {
        "RSA" => Ok((Family::Rsa, false)),
        "RSA-HSM" => Ok((Family::Rsa, true)),
        "EC" => Ok((Family::Ec, false)),
        "EC-HSM" => Ok((Family::Ec, true)),
        other => Err(KvError::bad_parameter(format!("Invalid kty value: {other}")).with_inner("KeyTypeNotSupported")),
    }
}

/// An elliptic curve Key Vault supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
    P256K,
}

impl Curve {
    pub fn parse(s: &str) -> Result<Self, KvError> {
        match s {
            "P-256" => Ok(Curve::P256),
            "P-384" => Ok(Curve::P384),
            "P-521" => Ok(Curve::P521),
            "P-256K" | "SECP256K1" => Ok(Curve::P256K),
            other => Err(KvError::bad_parameter(format!("Invalid curve name: {other}"))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
            Curve::P256K => "P-256K",
        }
    }
    /// Bytes per coordinate.
    pub fn coord_len(self) -> usize {
        match self {
            Curve::P256 | Curve::P256K => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
    /// The one signature algorithm the curve signs with.
    pub fn alg(self) -> &'static str {
        match self {
            Curve::P256 => "ES256",
            Curve::P384 => "ES384",
            Curve::P521 => "ES512",
            Curve::P256K => "ES256K",
        }
    }
    fn signing(self) -> &'static signature::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
            Curve::P256K => &signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
        }
    }
    fn verifying(self) -> &'static signature::EcdsaVerificationAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
            Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
            Curve::P256K => &signature::ECDSA_P256K1_SHA256_FIXED,
        }
    }
}

/// Signature algorithms: (name, digest, RSA padding or the EC curve it requires).
#[derive(Debug, Clone, Copy)]
enum SigAlg {
    Rsa {
        digest: &'static digest::Algorithm,
        sign: &'static dyn signature::RsaEncoding,
        verify: &'static RsaParameters,
    },
    Ec(Curve),
}

fn sig_alg(alg: &str) -> Result<SigAlg, KvError> {
    use signature as s;
    Ok(match alg {
        "RS256" => {
            SigAlg::Rsa { digest: &digest::SHA256, sign: &s::RSA_PKCS1_SHA256, verify: &s::RSA_PKCS1_2048_8192_SHA256 }
        }
        "RS384" => {
            SigAlg::Rsa { digest: &digest::SHA384, sign: &s::RSA_PKCS1_SHA384, verify: &s::RSA_PKCS1_2048_8192_SHA384 }
        }
        "RS512" => {
            SigAlg::Rsa { digest: &digest::SHA512, sign: &s::RSA_PKCS1_SHA512, verify: &s::RSA_PKCS1_2048_8192_SHA512 }
        }
        "PS256" => {
            SigAlg::Rsa { digest: &digest::SHA256, sign: &s::RSA_PSS_SHA256, verify: &s::RSA_PSS_2048_8192_SHA256 }
        }
        "PS384" => {
            SigAlg::Rsa { digest: &digest::SHA384, sign: &s::RSA_PSS_SHA384, verify: &s::RSA_PSS_2048_8192_SHA384 }
        }
        "PS512" => {
            SigAlg::Rsa { digest: &digest::SHA512, sign: &s::RSA_PSS_SHA512, verify: &s::RSA_PSS_2048_8192_SHA512 }
        }
        "ES256" => SigAlg::Ec(Curve::P256),
        "ES384" => SigAlg::Ec(Curve::P384),
        "ES512" => SigAlg::Ec(Curve::P521),
        "ES256K" => SigAlg::Ec(Curve::P256K),
        other => {
            return Err(
                KvError::bad_parameter(format!("Invalid algorithm: {other}")).with_inner("AlgorithmNotSupported")
            );
        }
    })
}

fn digest_alg_of(curve: Curve) -> &'static digest::Algorithm {
    match curve {
        Curve::P256 | Curve::P256K => &digest::SHA256,
        Curve::P384 => &digest::SHA384,
        Curve::P521 => &digest::SHA512,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EncAlg {
    Rsa15,
    OaepSha1,
    OaepSha256,
}

fn enc_alg(alg: &str) -> Result<EncAlg, KvError> {
    match alg {
        "RSA1_5" => Ok(EncAlg::Rsa15),
        "RSA-OAEP" => Ok(EncAlg::OaepSha1),
        "RSA-OAEP-256" => Ok(EncAlg::OaepSha256),
        other => Err(KvError::bad_parameter(format!("Invalid algorithm: {other}")).with_inner("AlgorithmNotSupported")),
    }
}

fn wrong_alg_for_key(alg: &str, kty: &str) -> KvError {
    KvError::bad_parameter(format!("Algorithm {alg} is not supported for a key of type {kty}."))
        .with_inner("AlgorithmNotSupported")
}

fn digest_of(alg_name: &str, algorithm: &'static digest::Algorithm, bytes: &[u8]) -> Result<Digest, KvError> {
    Digest::import_less_safe(bytes, algorithm).map_err(|_| {
        KvError::bad_parameter(format!(
            "Invalid length of 'value': {} bytes. {alg_name} requires {} bytes, encoded with base64url.",
            bytes.len(),
            algorithm.output_len()
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Key material

/// A private key, opened from its PKCS#8 DER.
enum Material {
    Rsa(rsa::KeyPair),
    Ec(EcdsaKeyPair, Curve),
}

impl Material {
    fn generate_rsa(bits: u32) -> Result<Self, KvError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            other => {
                return Err(KvError::bad_parameter(format!(
                    "Invalid key size: {other}. RSA keys must be 2048, 3072 or 4096 bits."
                )));
            }
        };
        Ok(Material::Rsa(rsa::KeyPair::generate(size).map_err(|_| internal("RSA key generation failed"))?))
    }

    fn generate_ec(curve: Curve) -> Result<Self, KvError> {
        Ok(Material::Ec(
            EcdsaKeyPair::generate(curve.signing()).map_err(|_| internal("EC key generation failed"))?,
            curve,
        ))
    }

    fn pkcs8(&self) -> Result<Vec<u8>, KvError> {
        match self {
            Material::Rsa(k) => Ok(k.as_der().map_err(|_| internal("RSA key export failed"))?.as_ref().to_vec()),
            Material::Ec(k, _) => Ok(k.to_pkcs8v1().map_err(|_| internal("EC key export failed"))?.as_ref().to_vec()),
        }
    }

    fn open(v: &KeyVersion, der: &[u8]) -> Result<Self, KvError> {
        match family(&v.kty)?.0 {
            Family::Rsa => {
                Ok(Material::Rsa(rsa::KeyPair::from_pkcs8(der).map_err(|_| internal("stored RSA key is invalid"))?))
            }
            Family::Ec => {
                let curve = Curve::parse(v.crv.as_deref().unwrap_or_default())?;
                Ok(Material::Ec(
                    EcdsaKeyPair::from_pkcs8(curve.signing(), der).map_err(|_| internal("stored EC key is invalid"))?,
                    curve,
                ))
            }
        }
    }

    /// (key_size, crv, public parts) as stored.
    fn public(&self) -> (Option<u32>, Option<String>, BTreeMap<String, String>) {
        let mut out = BTreeMap::new();
        match self {
            Material::Rsa(k) => {
                let p = k.public_key();
                out.insert("n".into(), b64url().encode(p.modulus().big_endian_without_leading_zero()));
                out.insert("e".into(), b64url().encode(p.exponent().big_endian_without_leading_zero()));
                (Some(k.public_modulus_len() as u32 * 8), None, out)
            }
            Material::Ec(k, curve) => {
                let point = k.public_key().as_ref();
                let n = curve.coord_len();
                out.insert("x".into(), b64url().encode(&point[1..1 + n]));
                out.insert("y".into(), b64url().encode(&point[1 + n..1 + 2 * n]));
                (None, Some(curve.name().to_string()), out)
            }
        }
    }
}

fn seal_private(sealer: &Sealer, vault: &Vault, name: &str, version: &str, der: &[u8]) -> String {
    b64().encode(sealer.seal(der, &aad(vault, name, version)))
}

pub(crate) fn open_private(sealer: &Sealer, vault: &Vault, name: &str, v: &KeyVersion) -> Result<Vec<u8>, KvError> {
    let sealed = b64().decode(&v.sealed_private).map_err(|_| internal("stored key is not base64"))?;
    sealer
        .open(&sealed, &aad(vault, name, &v.version))
        .map_err(|_| internal(format!("key {name}/{} failed to decrypt (altered or moved on disk)", v.version)))
}

/// Private keys already decrypted and parsed, by vault, key name and version: decrypting and
/// parsing PKCS#8 on every signature cost more than the RSA signature itself (BENCHMARKS.md).
/// A key version's material never changes (a restore re-seals the same DER; version ids are
/// random), so an entry can never be stale; authorization and `key_ops`/`nbf`/`exp`/`enabled`
/// are checked against the state on every call before this is reached. Process-wide, bounded, and
/// started afresh when full; never written anywhere.
static OPENED: std::sync::LazyLock<Mutex<HashMap<String, Arc<Material>>>> = std::sync::LazyLock::new(Default::default);
const OPENED_CAPACITY: usize = 1024;

fn opened(sealer: &Sealer, vault: &Vault, name: &str, v: &KeyVersion) -> Result<Arc<Material>, KvError> {
    let id = format!("{}/{}/{}", vault.internal_id, name.to_ascii_lowercase(), v.version);
    if let Some(m) = OPENED.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
        return Ok(m.clone());
    }
    let material = Arc::new(Material::open(v, &open_private(sealer, vault, name, v)?)?);
    let mut cache = OPENED.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= OPENED_CAPACITY {
        cache.clear();
    }
    cache.insert(id, material.clone());
    Ok(material)
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

fn check_key_ops(ops: &[String]) -> Result<(), KvError> {
    for op in ops {
        if !KEY_OPS.contains(&op.as_str()) {
            return Err(KvError::bad_parameter(format!("Invalid key operation: {op}")));
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

fn hsm_allowed(vault: &Vault, hsm: bool) -> Result<(), KvError> {
    if hsm && !vault.sku_name.eq_ignore_ascii_case("premium") {
        return Err(KvError::bad_parameter("Hardware key operation not allowed on standard vault"));
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
) -> Result<KeyView, KvError> {
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
    let t = now();
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
    obj.versions.push(v.clone());
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
) -> Result<(), KvError> {
    let material = match rsa::KeyPair::from_pkcs8(der) {
        Ok(k) => Material::Rsa(k),
        Err(_) => [Curve::P256, Curve::P384, Curve::P521, Curve::P256K]
            .into_iter()
            .find_map(|c| EcdsaKeyPair::from_pkcs8(c.signing(), der).ok().map(|k| Material::Ec(k, c)))
            .ok_or_else(|| KvError::bad_parameter("The certificate's private key is not a supported RSA or EC key."))?,
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
    let t = now();
    let (key_size, crv, public) = material.public();
    obj.versions.push(KeyVersion {
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
    });
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
    vault: &Vault,
    name: &str,
    spec: CreateSpec,
) -> Result<KeyView, KvError> {
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
                return Err(KvError::bad_parameter("The 'crv' parameter is not valid for RSA keys."));
            }
            if let Some(e) = spec.public_exponent.filter(|e| *e != RSA_EXPONENT) {
                return Err(KvError::bad_parameter(format!(
                    "Invalid public exponent: {e}. vaultlink creates RSA keys with public exponent {RSA_EXPONENT} only."
                )));
            }
            Material::generate_rsa(spec.key_size.unwrap_or(2048))?
        }
        Family::Ec => {
            if spec.key_size.is_some_and(|s| !matches!(s, 256 | 384 | 521)) {
                return Err(KvError::bad_parameter("The 'key_size' parameter is not valid for EC keys."));
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
    vault: &Vault,
    name: &str,
    spec: ImportSpec,
) -> Result<KeyView, KvError> {
    check_name(name)?;
    check_tags(spec.tags.as_ref())?;
    let jwk = spec.key;
    let (fam, hsm_kty) = family(&jwk.kty)?;
    let hsm = hsm_kty || spec.hsm.unwrap_or(false);
    hsm_allowed(vault, hsm)?;
    if let Some(ops) = &jwk.key_ops {
        check_key_ops(ops)?;
    }
    let field = |f: &str, v: &Option<String>| -> Result<Vec<u8>, KvError> {
        match v {
            Some(s) => decode_b64url(f, s),
            None => Err(KvError::bad_parameter(format!(
                "The JSON Web Key is missing the '{f}' parameter; import needs the private key."
            ))),
        }
    };
    let invalid = || KvError::bad_parameter("The JSON Web Key is not a valid key: its parameters are inconsistent.");
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
                return Err(KvError::bad_parameter(format!(
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
    vault: &Vault,
    name: &str,
) -> Result<KeyView, KvError> {
    let obj = live::<KeyObject>(state, vault, name)?;
    objects::refuse_managed(obj, "rotate")?;
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
        AttributesSpec { enabled: Some(true), nbf: None, exp: None },
        cur.tags.clone(),
    )
}

fn disabled(op: &str) -> KvError {
    KvError::new(Kind::Forbidden, "Forbidden", format!("Operation {op} is not allowed on a disabled key."))
        .with_inner("KeyDisabled")
}

/// `GET /keys/{name}/{version?}`. A disabled version cannot be read.
pub fn get(state: &State, vault: &Vault, name: &str, version: Option<&str>) -> Result<KeyView, KvError> {
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
    vault: &Vault,
    name: &str,
    version: Option<&str>,
    spec: UpdateSpec,
) -> Result<KeyView, KvError> {
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
    v.updated = now();
    let v = v.clone();
    let out = view(vault, &obj, &v);
    batch.put(&store_key(vault, name), Record::Key(obj));
    Ok(out)
}

/// `GET /keys`: the current version of every live key.
pub fn list(state: &State, vault: &Vault, size: usize, skip: Option<&str>) -> Result<Page<KeyView>, KvError> {
    objects::list::<KeyObject>(state, vault, size, skip)
}

/// `GET /keys/{name}/versions`.
pub fn list_versions(
    state: &State,
    vault: &Vault,
    name: &str,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<KeyView>, KvError> {
    objects::list_versions::<KeyObject>(state, vault, name, size, skip)
}

/// `DELETE /keys/{name}`: every version moves to the deleted state (or is gone without soft delete).
pub fn delete(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<KeyView, KvError> {
    objects::delete::<KeyObject>(state, batch, vault, name)
}

/// `GET /deletedkeys/{name}`.
pub fn get_deleted(state: &State, vault: &Vault, name: &str) -> Result<KeyView, KvError> {
    objects::get_deleted::<KeyObject>(state, vault, name)
}

/// `GET /deletedkeys`.
pub fn list_deleted(state: &State, vault: &Vault, size: usize, skip: Option<&str>) -> Result<Page<KeyView>, KvError> {
    objects::list_deleted::<KeyObject>(state, vault, size, skip)
}

/// `POST /deletedkeys/{name}/recover`.
pub fn recover(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<KeyView, KvError> {
    objects::recover::<KeyObject>(state, batch, vault, name)
}

/// `DELETE /deletedkeys/{name}`: gone for good, unless purge protection holds it.
pub fn purge(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<(), KvError> {
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
pub fn backup(state: &State, sealer: &Sealer, vault: &Vault, name: &str) -> Result<String, KvError> {
    objects::backup::<KeyObject>(state, sealer, vault, name)
}

/// `POST /keys/restore`.
pub fn restore(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    blob: &str,
) -> Result<KeyView, KvError> {
    objects::restore::<KeyObject>(state, batch, sealer, vault, blob)
}

impl VaultObject for KeyObject {
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

    fn backup_content(_state: &State, sealer: &Sealer, vault: &Vault, obj: &Self) -> Result<Backup, KvError> {
        let mut versions = Vec::with_capacity(obj.versions.len());
        for v in &obj.versions {
            versions.push(BackupVersion {
                pkcs8: b64().encode(open_private(sealer, vault, &obj.name, v)?),
                meta: v.clone(),
            });
        }
        Ok(Backup {
            v: 1,
            subscription: crate::kv::subscription_of(vault),
            name: obj.name.clone(),
            rotation_policy: obj.rotation_policy.clone(),
            versions,
        })
    }
    fn backup_name(b: &Backup) -> &str {
        &b.name
    }
    fn restored(
        _state: &State,
        _batch: &mut Batch,
        sealer: &Sealer,
        vault: &Vault,
        b: Backup,
    ) -> Result<Self, KvError> {
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

// ---------------------------------------------------------------------------------------------
// Rotation policy

/// The policy Azure reports for a key that never had one set.
fn default_policy() -> Value {
    json!({
        "lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}],
        "attributes": {},
    })
}

fn render_policy(host: &str, name: &str, p: &Value) -> Value {
    let mut out = p.clone();
    out["id"] = json!(format!("https://{host}/keys/{name}/rotationpolicy"));
    out
}

/// `GET /keys/{name}/rotationpolicy`.
pub fn get_rotation_policy(state: &State, host: &str, vault: &Vault, name: &str) -> Result<Value, KvError> {
    let obj = live::<KeyObject>(state, vault, name)?;
    Ok(render_policy(host, &obj.name, obj.rotation_policy.as_ref().unwrap_or(&default_policy())))
}

/// `PUT /keys/{name}/rotationpolicy`: stores `lifetimeActions` and `attributes.expiryTime`; nothing
/// rotates automatically in vaultlink.
pub fn set_rotation_policy(
    state: &State,
    batch: &mut Batch,
    host: &str,
    vault: &Vault,
    name: &str,
    body: Value,
) -> Result<Value, KvError> {
    let mut obj = live::<KeyObject>(state, vault, name)?.clone();
    let actions = body.get("lifetimeActions").cloned().unwrap_or_else(|| json!([]));
    let Some(list) = actions.as_array() else {
        return Err(KvError::bad_parameter("'lifetimeActions' must be an array."));
    };
    for a in list {
        let ty = a.pointer("/action/type").and_then(Value::as_str).unwrap_or_default();
        if !ty.eq_ignore_ascii_case("rotate") && !ty.eq_ignore_ascii_case("notify") {
            return Err(KvError::bad_parameter(format!("Invalid lifetime action type: '{ty}'.")));
        }
    }
    let t = now();
    let mut attrs = json!({"created": t, "updated": t});
    if let Some(prev) = obj.rotation_policy.as_ref().and_then(|p| p.pointer("/attributes/created")) {
        attrs["created"] = prev.clone();
    }
    if let Some(e) = body.pointer("/attributes/expiryTime") {
        attrs["expiryTime"] = e.clone();
    }
    let policy = json!({"lifetimeActions": actions, "attributes": attrs});
    obj.rotation_policy = Some(policy.clone());
    batch.put(&store_key(vault, name), Record::Key(obj.clone()));
    Ok(render_policy(host, &obj.name, &policy))
}

// ---------------------------------------------------------------------------------------------
// Cryptographic operations

/// Checks that `v` may perform `op` now: `key_ops`, `enabled`, `nbf`, `exp`.
fn permit(v: &KeyVersion, op: Op) -> Result<(), KvError> {
    let name = op.key_op();
    if !v.enabled {
        return Err(disabled(name));
    }
    let t = now();
    if v.nbf.is_some_and(|n| t < n) {
        return Err(KvError::new(
            Kind::Forbidden,
            "Forbidden",
            format!("Operation {name} is not allowed on a key that is not yet valid."),
        )
        .with_inner("KeyNotYetValid"));
    }
    if v.exp.is_some_and(|e| t >= e) {
        return Err(KvError::new(
            Kind::Forbidden,
            "Forbidden",
            format!("Operation {name} is not allowed on an expired key."),
        )
        .with_inner("KeyExpired"));
    }
    if !v.key_ops.iter().any(|o| o == name) {
        return Err(KvError::new(
            Kind::Forbidden,
            "Forbidden",
            format!("Operation {name} is not permitted on this key."),
        )
        .with_inner("KeyOperationForbidden"));
    }
    Ok(())
}

/// The result of an operation: the exact key version used, and the bytes (or validity).
#[derive(Debug, Clone)]
pub struct OpResult {
    pub name: String,
    pub version: String,
    pub value: Vec<u8>,
}

/// The live key version `op` is to use, if it may.
fn resolve<'a>(
    state: &'a State,
    vault: &Vault,
    name: &str,
    version: Option<&str>,
    op: Op,
) -> Result<(&'a KeyObject, &'a KeyVersion), KvError> {
    let obj = live::<KeyObject>(state, vault, name)?;
    let v = find_version(obj, name, version)?;
    permit(v, op)?;
    Ok((obj, v))
}

/// `POST /keys/{name}/{version}/{encrypt|decrypt|wrapkey|unwrapkey}`.
#[allow(clippy::too_many_arguments)]
pub fn transform(
    state: &State,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    version: Option<&str>,
    op: Op,
    alg: &str,
    input: &[u8],
) -> Result<OpResult, KvError> {
    let a = enc_alg(alg)?;
    let (obj, v) = resolve(state, vault, name, version, op)?;
    if family(&v.kty)?.0 != Family::Rsa {
        return Err(wrong_alg_for_key(alg, &v.kty));
    }
    let der = open_private(sealer, vault, &obj.name, v)?;
    let key = PrivateDecryptingKey::from_pkcs8(&der).map_err(|_| internal("stored RSA key is invalid"))?;
    let value = match op {
        Op::Encrypt | Op::WrapKey => rsa_encrypt(&key, a, input)?,
        Op::Decrypt | Op::UnwrapKey => rsa_decrypt(key, a, input)?,
        _ => return Err(internal("transform called for a signature operation")),
    };
    Ok(OpResult { name: obj.name.clone(), version: v.version.clone(), value })
}

fn too_long(len: usize, max: usize, alg: EncAlg) -> KvError {
    let n = match alg {
        EncAlg::Rsa15 => "RSA1_5",
        EncAlg::OaepSha1 => "RSA-OAEP",
        EncAlg::OaepSha256 => "RSA-OAEP-256",
    };
    KvError::bad_parameter(format!(
        "Invalid length of 'value': {len} bytes. {n} with this key accepts at most {max} bytes."
    ))
}

fn rsa_encrypt(key: &PrivateDecryptingKey, a: EncAlg, input: &[u8]) -> Result<Vec<u8>, KvError> {
    let public = key.public_key();
    let fail = |_| internal("RSA encryption failed");
    match a {
        EncAlg::Rsa15 => {
            let k = Pkcs1PublicEncryptingKey::new(public).map_err(fail)?;
            if input.len() > k.max_plaintext_size() {
                return Err(too_long(input.len(), k.max_plaintext_size(), a));
            }
            let mut out = vec![0u8; k.ciphertext_size()];
            Ok(k.encrypt(input, &mut out).map_err(fail)?.to_vec())
        }
        EncAlg::OaepSha1 | EncAlg::OaepSha256 => {
            let alg = if a == EncAlg::OaepSha1 { &OAEP_SHA1_MGF1SHA1 } else { &OAEP_SHA256_MGF1SHA256 };
            let k = OaepPublicEncryptingKey::new(public).map_err(fail)?;
            if input.len() > k.max_plaintext_size(alg) {
                return Err(too_long(input.len(), k.max_plaintext_size(alg), a));
            }
            let mut out = vec![0u8; k.ciphertext_size()];
            Ok(k.encrypt(alg, input, &mut out, None).map_err(fail)?.to_vec())
        }
    }
}

fn rsa_decrypt(key: PrivateDecryptingKey, a: EncAlg, input: &[u8]) -> Result<Vec<u8>, KvError> {
    let size = key.key_size_bytes();
    if input.len() != size {
        return Err(KvError::bad_parameter(format!(
            "Invalid length of 'value': {} bytes. The ciphertext for this key must be {size} bytes.",
            input.len()
        )));
    }
    let bad = |_| KvError::bad_parameter("The ciphertext could not be decrypted with this key and algorithm.");
    match a {
        EncAlg::Rsa15 => {
            let k = Pkcs1PrivateDecryptingKey::new(key).map_err(|_| internal("RSA key unusable"))?;
            let mut out = vec![0u8; k.min_output_size()];
            Ok(k.decrypt(input, &mut out).map_err(bad)?.to_vec())
        }
        EncAlg::OaepSha1 | EncAlg::OaepSha256 => {
            let alg = if a == EncAlg::OaepSha1 { &OAEP_SHA1_MGF1SHA1 } else { &OAEP_SHA256_MGF1SHA256 };
            let k = OaepPrivateDecryptingKey::new(key).map_err(|_| internal("RSA key unusable"))?;
            let mut out = vec![0u8; k.min_output_size()];
            Ok(k.decrypt(alg, input, &mut out, None).map_err(bad)?.to_vec())
        }
    }
}

/// `POST /keys/{name}/{version}/sign`: signs a digest (RSA: PKCS#1 v1.5 or PSS; EC: raw r||s).
pub fn sign(
    state: &State,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    version: Option<&str>,
    alg: &str,
    digest_bytes: &[u8],
) -> Result<OpResult, KvError> {
    let sa = sig_alg(alg)?;
    let (obj, v) = resolve(state, vault, name, version, Op::Sign)?;
    let material = opened(sealer, vault, &obj.name, v)?;
    let fail = |_| internal("signing failed");
    let value = match (sa, &*material) {
        (SigAlg::Rsa { digest, sign, .. }, Material::Rsa(k)) => {
            let d = digest_of(alg, digest, digest_bytes)?;
            let mut out = vec![0u8; k.public_modulus_len()];
            k.sign_digest(sign, &d, &mut out).map_err(fail)?;
            out
        }
        (SigAlg::Ec(want), Material::Ec(k, curve)) if want == *curve => {
            let d = digest_of(alg, digest_alg_of(*curve), digest_bytes)?;
            k.sign_digest(&d).map_err(fail)?.as_ref().to_vec()
        }
        _ => {
            return Err(wrong_alg_for_key(
                alg,
                &format!("{}{}", v.kty, v.crv.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()),
            ));
        }
    };
    Ok(OpResult { name: obj.name.clone(), version: v.version.clone(), value })
}

/// `POST /keys/{name}/{version}/verify`: whether `sig` is a valid signature of the digest.
#[allow(clippy::too_many_arguments)]
pub fn verify(
    state: &State,
    vault: &Vault,
    name: &str,
    version: Option<&str>,
    alg: &str,
    digest_bytes: &[u8],
    sig: &[u8],
) -> Result<(OpResult, bool), KvError> {
    let sa = sig_alg(alg)?;
    let (obj, v) = resolve(state, vault, name, version, Op::Verify)?;
    let part = |k: &str| v.public.get(k).map(|s| decode_b64url(k, s)).transpose().map(Option::unwrap_or_default);
    let valid = match (sa, family(&v.kty)?.0) {
        (SigAlg::Rsa { digest, verify, .. }, Family::Rsa) => {
            let d = digest_of(alg, digest, digest_bytes)?;
            let comps = rsa::PublicKeyComponents { n: part("n")?, e: part("e")? };
            let parsed =
                comps.to_parsed_public_key(verify).map_err(|_| internal("stored RSA public key is invalid"))?;
            parsed.verify_digest_sig(&d, sig).is_ok()
        }
        (SigAlg::Ec(want), Family::Ec) if v.crv.as_deref() == Some(want.name()) => {
            let d = digest_of(alg, digest_alg_of(want), digest_bytes)?;
            let mut point = vec![4u8];
            point.extend(part("x")?);
            point.extend(part("y")?);
            UnparsedPublicKey::new(want.verifying(), &point).verify_digest(&d, sig).is_ok()
        }
        _ => return Err(wrong_alg_for_key(alg, &v.kty)),
    };
    Ok((OpResult { name: obj.name.clone(), version: v.version.clone(), value: vec![] }, valid))
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn kid(host: &str, name: &str, version: &str) -> String {
    format!("https://{host}/keys/{name}/{version}")
}

fn attributes(k: &KeyView) -> Value {
    let v = &k.version;
    let mut attrs = json!({
        "enabled": v.enabled,
        "created": v.created,
        "updated": v.updated,
        "recoveryLevel": k.recovery_level,
        "recoverableDays": k.recoverable_days,
        "exportable": false,
    });
    if let Some(n) = v.nbf {
        attrs["nbf"] = json!(n);
    }
    if let Some(e) = v.exp {
        attrs["exp"] = json!(e);
    }
    attrs
}

/// The public JSON Web Key of a version (never any private part).
pub fn jwk(host: &str, k: &KeyView) -> Value {
    let v = &k.version;
    let mut out = json!({"kid": kid(host, &k.name, &v.version), "kty": v.kty, "key_ops": v.key_ops});
    for part in ["n", "e", "x", "y"] {
        if let Some(p) = v.public.get(part) {
            out[part] = json!(p);
        }
    }
    if let Some(c) = &v.crv {
        out["crv"] = json!(c);
    }
    out
}

fn add_deleted(host: &str, k: &KeyView, out: &mut Value) {
    if let Some(d) = &k.deleted {
        out["recoveryId"] = json!(format!("https://{host}/deletedkeys/{}", k.name));
        out["deletedDate"] = json!(d.deleted_date);
        out["scheduledPurgeDate"] = json!(d.scheduled_purge_date);
    }
}

/// A `KeyBundle` (or `DeletedKeyBundle` when the key is deleted).
pub fn render(host: &str, k: &KeyView) -> Value {
    let mut out = json!({"key": jwk(host, k), "attributes": attributes(k)});
    if !k.version.tags.is_empty() {
        out["tags"] = json!(k.version.tags);
    }
    if k.managed {
        out["managed"] = json!(true);
    }
    add_deleted(host, k, &mut out);
    out
}

/// A `KeyItem` of a list (`kid` without version for `GET /keys`, with it for versions).
pub fn render_item(host: &str, k: &KeyView, with_version: bool) -> Value {
    let kid =
        if with_version { kid(host, &k.name, &k.version.version) } else { format!("https://{host}/keys/{}", k.name) };
    let mut out = json!({"kid": kid, "attributes": attributes(k)});
    if !k.version.tags.is_empty() {
        out["tags"] = json!(k.version.tags);
    }
    if k.managed {
        out["managed"] = json!(true);
    }
    add_deleted(host, k, &mut out);
    out
}

/// A `KeyOperationResult`.
pub fn render_result(host: &str, r: &OpResult) -> Value {
    json!({"kid": kid(host, &r.name, &r.version), "value": b64url().encode(&r.value)})
}

#[cfg(test)]
mod tests;
