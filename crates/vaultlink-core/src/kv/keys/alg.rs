//! Key types, curves and algorithms: what a key may do and which digest and padding each
//! algorithm name means.

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::signature::{self, RsaParameters};

use crate::error::Error;

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
pub(super) enum Family {
    Rsa,
    Ec,
}

pub(super) fn family(kty: &str) -> Result<(Family, bool), Error> {
    match kty {
        "RSA" => Ok((Family::Rsa, false)),
        "RSA-HSM" => Ok((Family::Rsa, true)),
        "EC" => Ok((Family::Ec, false)),
        "EC-HSM" => Ok((Family::Ec, true)),
        other => Err(Error::bad_parameter(format!("Invalid kty value: {other}")).with_inner("KeyTypeNotSupported")),
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
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "P-256" => Ok(Curve::P256),
            "P-384" => Ok(Curve::P384),
            "P-521" => Ok(Curve::P521),
            "P-256K" | "SECP256K1" => Ok(Curve::P256K),
            other => Err(Error::bad_parameter(format!("Invalid curve name: {other}"))),
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
    pub(super) fn signing(self) -> &'static signature::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
            Curve::P256K => &signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
        }
    }
    pub(super) fn verifying(self) -> &'static signature::EcdsaVerificationAlgorithm {
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
pub(super) enum SigAlg {
    Rsa {
        digest: &'static digest::Algorithm,
        sign: &'static dyn signature::RsaEncoding,
        verify: &'static RsaParameters,
    },
    Ec(Curve),
}

pub(super) fn sig_alg(alg: &str) -> Result<SigAlg, Error> {
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
            return Err(Error::bad_parameter(format!("Invalid algorithm: {other}")).with_inner("AlgorithmNotSupported"));
        }
    })
}

pub(super) fn digest_alg_of(curve: Curve) -> &'static digest::Algorithm {
    match curve {
        Curve::P256 | Curve::P256K => &digest::SHA256,
        Curve::P384 => &digest::SHA384,
        Curve::P521 => &digest::SHA512,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EncAlg {
    Rsa15,
    OaepSha1,
    OaepSha256,
}

pub(super) fn enc_alg(alg: &str) -> Result<EncAlg, Error> {
    match alg {
        "RSA1_5" => Ok(EncAlg::Rsa15),
        "RSA-OAEP" => Ok(EncAlg::OaepSha1),
        "RSA-OAEP-256" => Ok(EncAlg::OaepSha256),
        other => Err(Error::bad_parameter(format!("Invalid algorithm: {other}")).with_inner("AlgorithmNotSupported")),
    }
}

pub(super) fn wrong_alg_for_key(alg: &str, kty: &str) -> Error {
    Error::bad_parameter(format!("Algorithm {alg} is not supported for a key of type {kty}."))
        .with_inner("AlgorithmNotSupported")
}

pub(super) fn digest_of(alg_name: &str, algorithm: &'static digest::Algorithm, bytes: &[u8]) -> Result<Digest, Error> {
    Digest::import_less_safe(bytes, algorithm).map_err(|_| {
        Error::bad_parameter(format!(
            "Invalid length of 'value': {} bytes. {alg_name} requires {} bytes, encoded with base64url.",
            bytes.len(),
            algorithm.output_len()
        ))
    })
}
