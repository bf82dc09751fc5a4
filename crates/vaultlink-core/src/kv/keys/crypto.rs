//! The cryptographic operations on a key version: sign, verify, encrypt, decrypt, wrapKey,
//! unwrapKey, each checked against the version's `key_ops`, `enabled`, `nbf` and `exp`.

use aws_lc_rs::rsa::{
    self, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey, PrivateDecryptingKey,
};
use aws_lc_rs::signature::UnparsedPublicKey;
use vaultlink_crypto::Sealer;

use super::alg::{EncAlg, Family, Op, SigAlg, digest_alg_of, digest_of, enc_alg, family, sig_alg, wrong_alg_for_key};
use super::material::{Material, open_private, opened};
use super::{decode_b64url, disabled, internal};
use crate::engine::State;
use crate::error::{Error, Kind};
use crate::kv::Admitted;
use crate::kv::objects::{find_version, live};
use crate::model::{KeyObject, KeyVersion, Vault};

/// Checks that `v` may perform `op` at time `t`: `key_ops`, `enabled`, `nbf`, `exp`.
fn permit(v: &KeyVersion, op: Op, t: i64) -> Result<(), Error> {
    let name = op.key_op();
    if !v.enabled {
        return Err(disabled(name));
    }
    if v.nbf.is_some_and(|n| t < n) {
        return Err(Error::new(
            Kind::Forbidden,
            "Forbidden",
            format!("Operation {name} is not allowed on a key that is not yet valid."),
        )
        .with_inner("KeyNotYetValid"));
    }
    if v.exp.is_some_and(|e| t >= e) {
        return Err(Error::new(
            Kind::Forbidden,
            "Forbidden",
            format!("Operation {name} is not allowed on an expired key."),
        )
        .with_inner("KeyExpired"));
    }
    if !v.key_ops.iter().any(|o| o == name) {
        return Err(Error::new(
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
) -> Result<(&'a KeyObject, &'a KeyVersion), Error> {
    let obj = live::<KeyObject>(state, vault, name)?;
    let v = find_version(obj, name, version)?;
    permit(v, op, state.now())?;
    Ok((obj, v))
}

/// `POST /keys/{name}/{version}/{encrypt|decrypt|wrapkey|unwrapkey}`.
#[allow(clippy::too_many_arguments)]
pub fn transform(
    state: &State,
    sealer: &Sealer,
    vault: &Admitted,
    name: &str,
    version: Option<&str>,
    op: Op,
    alg: &str,
    input: &[u8],
) -> Result<OpResult, Error> {
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

fn too_long(len: usize, max: usize, alg: EncAlg) -> Error {
    let n = match alg {
        EncAlg::Rsa15 => "RSA1_5",
        EncAlg::OaepSha1 => "RSA-OAEP",
        EncAlg::OaepSha256 => "RSA-OAEP-256",
    };
    Error::bad_parameter(format!(
        "Invalid length of 'value': {len} bytes. {n} with this key accepts at most {max} bytes."
    ))
}

fn rsa_encrypt(key: &PrivateDecryptingKey, a: EncAlg, input: &[u8]) -> Result<Vec<u8>, Error> {
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

fn rsa_decrypt(key: PrivateDecryptingKey, a: EncAlg, input: &[u8]) -> Result<Vec<u8>, Error> {
    let size = key.key_size_bytes();
    if input.len() != size {
        return Err(Error::bad_parameter(format!(
            "Invalid length of 'value': {} bytes. The ciphertext for this key must be {size} bytes.",
            input.len()
        )));
    }
    let bad = |_| Error::bad_parameter("The ciphertext could not be decrypted with this key and algorithm.");
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
    vault: &Admitted,
    name: &str,
    version: Option<&str>,
    alg: &str,
    digest_bytes: &[u8],
) -> Result<OpResult, Error> {
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
    vault: &Admitted,
    name: &str,
    version: Option<&str>,
    alg: &str,
    digest_bytes: &[u8],
    sig: &[u8],
) -> Result<(OpResult, bool), Error> {
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
