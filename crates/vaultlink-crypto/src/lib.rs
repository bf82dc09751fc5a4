//! vaultlink-crypto: the local CA, Entra-style token signing, encryption at rest and small crypto helpers.
//!
//! Everything here is synchronous and free of I/O except for the key files that
//! the `load_or_create` constructors read and write (atomically, see [`files`]).
//! aws-lc-rs is the only cryptographic backend. No type in this crate prints
//! secret material through `Debug` or `Display`.

pub mod files;

mod ca;
mod jwt;
mod seal;
mod secret;
mod shared;
pub mod x509;

pub use ca::{Ca, PERMITTED_DNS as CA_PERMITTED_DNS, permitted as ca_permits};
pub use jwt::{Claims, Signer, TokenError, TokenSigner};
pub use seal::{ROOT_KEY_ENV, ROOT_KEY_FILE, RootKeySource, Sealer};
pub use secret::{
    SECRET_M_COST_KIB, SECRET_P_COST, SECRET_T_COST, constant_time_eq, hash_secret, hmac_sha256, is_secret_hash,
    verify_secret,
};
pub use shared::{AdminKey, ServerIdentity};

use std::path::PathBuf;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Errors from this crate. Messages never contain key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// Reading or writing a file failed.
    #[error("I/O error on {}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A private key file can be read by group or others; refused, like ssh does.
    #[error(
        "permissions {mode:04o} for {} are too open: it must not be accessible by group or others (run `chmod 600 {}`)",
        path.display(),
        path.display()
    )]
    InsecurePermissions {
        /// The offending file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Stored key material could not be parsed or is inconsistent.
    #[error("invalid key material in {what}: {reason}")]
    InvalidKey {
        /// Which key (file name or environment variable).
        what: String,
        /// What is wrong with it (never the key itself).
        reason: String,
    },
    /// A certificate could not be created or parsed.
    #[error("certificate error: {0}")]
    Certificate(String),
    /// A name is neither a valid DNS name nor an IP address literal.
    #[error("invalid certificate name {0:?}: expected a DNS name or an IP address")]
    InvalidName(String),
    /// The TLS configuration could not be built.
    #[error("TLS configuration error: {0}")]
    Tls(String),
    /// Input was not valid base64.
    #[error("invalid base64")]
    Base64,
    /// Sealed data could not be opened: wrong key, wrong context (aad), truncated or corrupted.
    #[error("sealed data could not be opened (wrong key or context, truncated, or corrupted)")]
    Unseal,
    /// A passphrase key could not be derived (bad Argon2id parameters).
    #[error("cannot derive a key from the passphrase: {0}")]
    Passphrase(String),
    /// Sealed data carries a format version this build does not know.
    #[error("unsupported sealed data version {0}")]
    UnsupportedSealVersion(u8),
}

impl CryptoError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub(crate) fn invalid_key(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidKey { what: what.into(), reason: reason.into() }
    }
}

/// `n` random bytes from the system CSPRNG (aws-lc-rs `SystemRandom`).
///
/// # Panics
/// Only if the operating system's random source fails, which is not recoverable.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    fill_random(&mut out);
    out
}

/// `bytes` random bytes, as lowercase hex (so the string has `2 * bytes` characters).
pub fn random_hex(bytes: usize) -> String {
    hex(&random_bytes(bytes))
}

/// SHA-256 digest of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// PBKDF2-HMAC-SHA256 rounds for a stored password (OWASP's 2023 figure for this PRF).
const PASSWORD_ROUNDS: u32 = 600_000;

/// A password's stored form: `pbkdf2-sha256$rounds$salt$hash` (salt and hash base64url), so
/// that the rounds can rise later without breaking stored passwords.
pub fn hash_password(password: &str) -> String {
    let salt = random_bytes(16);
    let rounds = std::num::NonZeroU32::new(PASSWORD_ROUNDS).expect("nonzero");
    let mut out = [0u8; 32];
    aws_lc_rs::pbkdf2::derive(aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256, rounds, &salt, password.as_bytes(), &mut out);
    format!("pbkdf2-sha256${PASSWORD_ROUNDS}${}${}", b64url(&salt), b64url(&out))
}

/// Whether `password` matches a stored form made by [`hash_password`] (constant time).
pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2-sha256"), Some(rounds), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(rounds), Ok(salt), Ok(hash)) =
        (rounds.parse().ok().and_then(std::num::NonZeroU32::new), b64url_decode(salt), b64url_decode(hash))
    else {
        return false;
    };
    aws_lc_rs::pbkdf2::verify(aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256, rounds, &salt, password.as_bytes(), &hash).is_ok()
}

/// base64url without padding (RFC 4648 §5, as used by JOSE).
pub fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url; trailing `=` padding is accepted but not required.
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, CryptoError> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(s).map_err(|_| CryptoError::Base64)
}

pub(crate) fn fill_random(buf: &mut [u8]) {
    SystemRandom::new().fill(buf).expect("the system random number generator failed");
}

pub(crate) fn hex(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// PEM-encodes DER with the given label (64-character lines, LF endings).
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_hex_is_lowercase_and_sized() {
        let h = random_hex(16);
        assert_eq!(h.len(), 32);
        assert!(h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(random_hex(16), h);
        assert!(random_hex(0).is_empty());
        assert_eq!(random_bytes(7).len(), 7);
    }

    #[test]
    fn passwords_verify_only_themselves_and_are_salted() {
        let stored = hash_password("Pa55w.rd!");
        assert!(stored.starts_with("pbkdf2-sha256$600000$"));
        assert!(verify_password("Pa55w.rd!", &stored));
        assert!(!verify_password("pa55w.rd!", &stored));
        assert_ne!(hash_password("Pa55w.rd!"), stored, "each hash has its own salt");
        assert!(!verify_password("x", "plain"));
        assert!(!verify_password("x", "pbkdf2-sha256$0$AA$AA"));
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Ca>();
        assert_send_sync::<TokenSigner>();
        assert_send_sync::<Sealer>();
        assert_send_sync::<CryptoError>();
        assert_send_sync::<TokenError>();
    }

    #[test]
    fn sha256_known_answer() {
        assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn b64url_round_trip_and_padding() {
        let data = [0xfbu8, 0xff, 0xbf, 0x00, 0x01];
        let s = b64url(&data);
        assert_eq!(s, "-_-_AAE");
        assert_eq!(b64url_decode(&s).unwrap(), data);
        assert_eq!(b64url_decode("-_-_AAE=").unwrap(), data);
        assert!(matches!(b64url_decode("a+b/"), Err(CryptoError::Base64)));
        assert!(matches!(b64url_decode("*"), Err(CryptoError::Base64)));
    }

    #[test]
    fn pem_encode_wraps_lines() {
        let pem = pem_encode("TEST", &[7u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN TEST-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(*lines.last().unwrap(), "-----END TEST-----");
    }
}
