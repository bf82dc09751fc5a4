//! Key material: private keys generated, parsed from PKCS#8, sealed at rest, and the memory of
//! keys already opened.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{self, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use vaultlink_crypto::Sealer;

use super::alg::{Curve, Family, family};
use super::{aad, b64, b64url, internal};
use crate::error::Error;
use crate::model::{KeyVersion, Vault};

/// A private key, opened from its PKCS#8 DER.
pub(super) enum Material {
    Rsa(rsa::KeyPair),
    Ec(EcdsaKeyPair, Curve),
}

impl Material {
    pub(super) fn generate_rsa(bits: u32) -> Result<Self, Error> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            other => {
                return Err(Error::bad_parameter(format!(
                    "Invalid key size: {other}. RSA keys must be 2048, 3072 or 4096 bits."
                )));
            }
        };
        Ok(Material::Rsa(rsa::KeyPair::generate(size).map_err(|_| internal("RSA key generation failed"))?))
    }

    pub(super) fn generate_ec(curve: Curve) -> Result<Self, Error> {
        Ok(Material::Ec(
            EcdsaKeyPair::generate(curve.signing()).map_err(|_| internal("EC key generation failed"))?,
            curve,
        ))
    }

    pub(super) fn pkcs8(&self) -> Result<Vec<u8>, Error> {
        match self {
            Material::Rsa(k) => Ok(k.as_der().map_err(|_| internal("RSA key export failed"))?.as_ref().to_vec()),
            Material::Ec(k, _) => Ok(k.to_pkcs8v1().map_err(|_| internal("EC key export failed"))?.as_ref().to_vec()),
        }
    }

    pub(super) fn open(v: &KeyVersion, der: &[u8]) -> Result<Self, Error> {
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
    pub(super) fn public(&self) -> (Option<u32>, Option<String>, BTreeMap<String, String>) {
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

pub(super) fn seal_private(sealer: &Sealer, vault: &Vault, name: &str, version: &str, der: &[u8]) -> String {
    b64().encode(sealer.seal(der, &aad(vault, name, version)))
}

pub(crate) fn open_private(sealer: &Sealer, vault: &Vault, name: &str, v: &KeyVersion) -> Result<Vec<u8>, Error> {
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
/// started afresh when full; never written anywhere. A purged key's entries are dropped
/// (`forget`), so its material does not outlive it in memory.
static OPENED: std::sync::LazyLock<Mutex<HashMap<String, Arc<Material>>>> = std::sync::LazyLock::new(Default::default);
const OPENED_CAPACITY: usize = 1024;

pub(super) fn opened(sealer: &Sealer, vault: &Vault, name: &str, v: &KeyVersion) -> Result<Arc<Material>, Error> {
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

/// Drops the opened material of key `name` of a vault (every version): called when the key is
/// purged. A purged vault's entries are never reached again (its internal id is never reused)
/// and go when the memory starts afresh.
pub(crate) fn forget(vault_internal_id: &str, name: &str) {
    let prefix = format!("{vault_internal_id}/{}/", name.to_ascii_lowercase());
    OPENED.lock().unwrap_or_else(|p| p.into_inner()).retain(|id, _| !id.starts_with(&prefix));
}

/// Drops every opened key: called when the whole state is replaced (a snapshot loaded, a reset),
/// after which a vault's internal id and a version id may name other material.
pub(crate) fn forget_all() {
    OPENED.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

/// How many opened versions of key `name` of a vault the cache holds (for tests).
#[cfg(test)]
pub(super) fn cached(vault_internal_id: &str, name: &str) -> usize {
    let prefix = format!("{vault_internal_id}/{}/", name.to_ascii_lowercase());
    OPENED.lock().unwrap_or_else(|p| p.into_inner()).keys().filter(|id| id.starts_with(&prefix)).count()
}
