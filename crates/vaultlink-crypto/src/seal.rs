//! Encryption at rest (AES-256-GCM under a root key) for secret values and key material.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;

use crate::{CryptoError, files};

/// Environment variable that supplies the root key (standard base64 of 32 bytes).
pub const ROOT_KEY_ENV: &str = "VAULTLINK_ROOT_KEY";
/// The root key's file in the data directory (base64 text, mode 0600).
pub const ROOT_KEY_FILE: &str = "root.key";
/// What the key check value is computed over (HMAC-SHA256 under the root key).
const KEY_CHECK_LABEL: &[u8] = b"vaultlink key check v1";
const VERSION: u8 = 0x01;
const TAG_LEN: usize = 16;

/// Seals and opens blobs with AES-256-GCM under a 32-byte root key.
///
/// Sealed format: `0x01` (version) || 12-byte random nonce || ciphertext || 16-byte tag.
/// The `aad` passed to [`Sealer::seal`] must be passed again to [`Sealer::open`]; use it to
/// bind a blob to its context (for example the vault, object name and version).
pub struct Sealer {
    key: RandomizedNonceKey,
    /// The key check value: names the root key without revealing it (see [`Sealer::check_value`]).
    check: String,
}

/// Where a root key came from, for messages that tell the operator which key to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootKeySource {
    /// The `VAULTLINK_ROOT_KEY` environment variable.
    Env,
    /// The data directory's `root.key`, which existed.
    File(PathBuf),
    /// The data directory's `root.key`, created just now with a random key.
    Created(PathBuf),
}

impl fmt::Display for RootKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env => write!(f, "{ROOT_KEY_ENV}"),
            Self::File(p) | Self::Created(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Sealer {
    /// Loads the root key: from `VAULTLINK_ROOT_KEY` if set (no file is written), else from
    /// `dir/root.key` (base64 text, must be mode 0600), creating it with a random key if missing.
    pub fn load_or_create(dir: &Path) -> Result<Self, CryptoError> {
        Self::load_or_create_with_env(dir, std::env::var_os(ROOT_KEY_ENV)).map(|(s, _)| s)
    }

    /// Loads the root key from `VAULTLINK_ROOT_KEY` or `dir/root.key`, creating nothing: `None`
    /// when neither is there (the caller decides whether a new key may be made, [`Sealer::create`]).
    pub fn load(dir: &Path) -> Result<Option<(Self, RootKeySource)>, CryptoError> {
        Self::load_with_env(dir, std::env::var_os(ROOT_KEY_ENV))
    }

    /// Writes a new random root key to `dir/root.key` (mode 0600) and returns its sealer.
    pub fn create(dir: &Path) -> Result<(Self, RootKeySource), CryptoError> {
        files::ensure_dir(dir)?;
        let path = dir.join(ROOT_KEY_FILE);
        let mut key = [0u8; 32];
        crate::fill_random(&mut key);
        let text = format!("{}\n", base64::engine::general_purpose::STANDARD.encode(key));
        files::write_private(&path, text.as_bytes()).map_err(|e| CryptoError::io(&path, e))?;
        Ok((Self::from_key(key), RootKeySource::Created(path)))
    }

    /// A sealer with the given root key.
    pub fn from_key(key: [u8; 32]) -> Self {
        let check = key_check_value(&key);
        let key = RandomizedNonceKey::new(&AES_256_GCM, &key).expect("AES-256-GCM accepts any 32-byte key");
        Self { key, check }
    }

    /// The key check value: the first 16 bytes of HMAC-SHA256(root key, "vaultlink key check v1"),
    /// in hex. The state records it so that a start with another key (or none) is refused; it
    /// names the key without revealing anything about it.
    pub fn check_value(&self) -> &str {
        &self.check
    }

    /// A sealer with a fresh random key (data sealed with it is lost when it is dropped).
    pub fn ephemeral() -> Self {
        let mut key = [0u8; 32];
        crate::fill_random(&mut key);
        Self::from_key(key)
    }

    /// Encrypts `plaintext`, authenticating `aad` along with it.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut in_out = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(aad), &mut in_out)
            .expect("AES-256-GCM sealing cannot fail for in-memory input");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(VERSION);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        out
    }

    /// `sealed` (made by this sealer with `aad`) sealed again by `to` with the same `aad`: how a
    /// snapshot moves between a root key and a passphrase. The plaintext lives only in between.
    pub fn reseal(&self, sealed: &[u8], aad: &[u8], to: &Sealer) -> Result<Vec<u8>, CryptoError> {
        let mut plain = self.open(sealed, aad)?;
        let out = to.seal(&plain, aad);
        plain.fill(0);
        Ok(out)
    }

    /// A sealer whose key is Argon2id of `passphrase` with `salt` and the given cost (memory in
    /// KiB, passes, lanes): a snapshot sealed under a passphrase rather than a root key.
    pub fn from_passphrase(
        passphrase: &[u8],
        salt: &[u8],
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<Self, CryptoError> {
        use argon2::{Algorithm, Argon2, Params, Version};
        let params = Params::new(memory_kib, iterations, parallelism, Some(32))
            .map_err(|e| CryptoError::Passphrase(e.to_string()))?;
        let mut key = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase, salt, &mut key)
            .map_err(|e| CryptoError::Passphrase(e.to_string()))?;
        let sealer = Self::from_key(key);
        key.fill(0);
        Ok(sealer)
    }

    /// Decrypts a blob made by [`Sealer::seal`] with the same key and `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (&version, rest) = sealed.split_first().ok_or(CryptoError::Unseal)?;
        if version != VERSION {
            return Err(CryptoError::UnsupportedSealVersion(version));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Unseal);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Unseal)?;
        let mut in_out = ciphertext.to_vec();
        let len = self.key.open_in_place(nonce, Aad::from(aad), &mut in_out).map_err(|_| CryptoError::Unseal)?.len();
        in_out.truncate(len);
        Ok(in_out)
    }

    fn load_or_create_with_env(dir: &Path, env: Option<OsString>) -> Result<(Self, RootKeySource), CryptoError> {
        match Self::load_with_env(dir, env)? {
            Some(loaded) => Ok(loaded),
            None => Self::create(dir),
        }
    }

    fn load_with_env(dir: &Path, env: Option<OsString>) -> Result<Option<(Self, RootKeySource)>, CryptoError> {
        if let Some(value) = env {
            let key = value
                .to_str()
                .and_then(decode_root_key)
                .ok_or_else(|| CryptoError::invalid_key(ROOT_KEY_ENV, "must be standard base64 of exactly 32 bytes"))?;
            return Ok(Some((Self::from_key(key), RootKeySource::Env)));
        }
        let path = dir.join(ROOT_KEY_FILE);
        if !files::exists(&path) {
            return Ok(None);
        }
        let text = files::read_private(&path)?;
        let key = std::str::from_utf8(&text).ok().and_then(decode_root_key).ok_or_else(|| {
            CryptoError::invalid_key(path.display().to_string(), "must contain standard base64 of exactly 32 bytes")
        })?;
        Ok(Some((Self::from_key(key), RootKeySource::File(path))))
    }
}

fn key_check_value(key: &[u8; 32]) -> String {
    let tag = aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key), KEY_CHECK_LABEL);
    tag.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer").field("algorithm", &"AES-256-GCM").field("key", &"<redacted>").finish()
    }
}

fn decode_root_key(text: &str) -> Option<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim()).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_and_format() {
        let s = Sealer::ephemeral();
        let sealed = s.seal(b"hello", b"ctx");
        assert_eq!(sealed[0], 0x01);
        assert_eq!(sealed.len(), 1 + 12 + 5 + 16);
        assert_eq!(s.open(&sealed, b"ctx").unwrap(), b"hello");
        let empty = s.seal(b"", b"");
        assert_eq!(s.open(&empty, b"").unwrap(), b"");
    }

    #[test]
    fn every_single_byte_flip_fails() {
        let s = Sealer::from_key([9u8; 32]);
        let sealed = s.seal(b"top secret value", b"aad");
        for i in 0..sealed.len() {
            for bit in [0x01u8, 0x80] {
                let mut t = sealed.clone();
                t[i] ^= bit;
                assert!(s.open(&t, b"aad").is_err(), "flip at byte {i} opened");
            }
        }
    }

    #[test]
    fn wrong_aad_key_or_truncation_fails() {
        let s = Sealer::from_key([1u8; 32]);
        let sealed = s.seal(b"value", b"a");
        assert!(matches!(s.open(&sealed, b"b"), Err(CryptoError::Unseal)));
        let other = Sealer::from_key([2u8; 32]);
        assert!(other.open(&sealed, b"a").is_err());
        for n in 0..sealed.len() {
            assert!(s.open(&sealed[..n], b"a").is_err(), "truncated to {n}");
        }
        let mut extended = sealed.clone();
        extended.push(0);
        assert!(s.open(&extended, b"a").is_err());
        let mut v2 = sealed;
        v2[0] = 2;
        assert!(matches!(s.open(&v2, b"a"), Err(CryptoError::UnsupportedSealVersion(2))));
    }

    #[test]
    fn seals_are_randomized() {
        let s = Sealer::ephemeral();
        assert_ne!(s.seal(b"same", b""), s.seal(b"same", b""));
    }

    #[test]
    fn debug_redacts_key() {
        let dbg = format!("{:?}", Sealer::from_key([0xab; 32]));
        assert!(dbg.contains("redacted"));
        assert!(!dbg.to_lowercase().contains("abab"));
    }

    #[test]
    fn root_key_file_is_created_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Sealer::load_with_env(dir.path(), None).unwrap().is_none());
        let (a, source) = Sealer::load_or_create_with_env(dir.path(), None).unwrap();
        let path = dir.path().join("root.key");
        assert_eq!(source, RootKeySource::Created(path.clone()));
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let sealed = a.seal(b"persisted", b"x");
        let (b, source) = Sealer::load_with_env(dir.path(), None).unwrap().unwrap();
        assert_eq!(source, RootKeySource::File(path.clone()));
        assert_eq!(b.open(&sealed, b"x").unwrap(), b"persisted");
        assert_eq!(a.check_value(), b.check_value());

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Sealer::load_or_create_with_env(dir.path(), None).unwrap_err();
        assert!(matches!(err, CryptoError::InsecurePermissions { .. }), "{err}");
    }

    #[test]
    fn root_key_file_with_garbage_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        files::write_private(&dir.path().join("root.key"), b"c2hvcnQ=\n").unwrap();
        let err = Sealer::load_or_create_with_env(dir.path(), None).unwrap_err();
        assert!(matches!(err, CryptoError::InvalidKey { .. }), "{err}");
    }

    #[test]
    fn root_key_from_env_writes_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = [7u8; 32];
        let env = base64::engine::general_purpose::STANDARD.encode(key);
        let (a, source) = Sealer::load_or_create_with_env(dir.path(), Some(env.into())).unwrap();
        assert_eq!(source, RootKeySource::Env);
        assert!(!dir.path().join("root.key").exists());
        let sealed = a.seal(b"v", b"");
        assert_eq!(Sealer::from_key(key).open(&sealed, b"").unwrap(), b"v");

        for bad in ["", "not base64!", "c2hvcnQ=", "AAAA"] {
            let err = Sealer::load_or_create_with_env(dir.path(), Some(bad.into())).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(ROOT_KEY_ENV), "{msg}");
        }
    }

    #[test]
    fn key_check_value_names_the_key_without_revealing_it() {
        let key = [0x5a; 32];
        let a = Sealer::from_key(key);
        assert_eq!(a.check_value().len(), 32);
        assert_eq!(a.check_value(), Sealer::from_key(key).check_value());
        assert_ne!(a.check_value(), Sealer::from_key([0x5b; 32]).check_value());
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!hex.contains(a.check_value()) && !a.check_value().contains(&hex[..8]));
        // Fixed by the label: a change of algorithm or label would refuse every existing state.
        // (Python: hmac.new(bytes(32), b"vaultlink key check v1", hashlib.sha256).hexdigest()[:32])
        assert_eq!(Sealer::from_key([0; 32]).check_value(), "6d6443b3400d469232b511e046e7ef17");
    }

    proptest! {
        #[test]
        fn prop_round_trip(
            plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
            aad in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let s = Sealer::from_key([3u8; 32]);
            let sealed = s.seal(&plaintext, &aad);
            prop_assert_eq!(sealed.len(), plaintext.len() + 1 + 12 + 16);
            prop_assert_eq!(s.open(&sealed, &aad).unwrap(), plaintext);
        }
    }
}
