//! Entra ID style access token signing and verification (RS256 JWTs) and the matching JWKS.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Map, Value, json};

use crate::{CryptoError, b64url, b64url_decode, files};

const KEY_FILE: &str = "token-signing-key.pem";
/// Allowed clock skew, in seconds, for `exp` and `nbf`.
const SKEW_SECS: i64 = 300;

/// Why a token was rejected. The texts are short and never include token contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts, bad JSON, or a missing or non-numeric `exp`/`nbf`.
    #[error("malformed token")]
    Malformed,
    /// Wrong algorithm, unknown `kid`, or the signature does not verify.
    #[error("invalid token signature")]
    BadSignature,
    /// `exp` is in the past (beyond the allowed clock skew).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the allowed clock skew).
    #[error("token not yet valid")]
    NotYetValid,
}

/// Signs and verifies RS256 JWTs with an RSA-2048 key, like Entra ID's token service.
pub struct TokenSigner {
    key: KeyPair,
    /// PKCS#1 `RSAPublicKey` DER.
    public_key: Vec<u8>,
    kid: String,
    /// Tokens whose signature verified, with their claims. A client sends the same token on every
    /// request until it expires, and an RSA verification per request was the largest single cost
    /// of a secret read (BENCHMARKS.md). The time checks still run on every call.
    verified: Mutex<Verified>,
}

/// The memory of verified tokens, bounded by count and by bytes.
#[derive(Default)]
struct Verified {
    tokens: HashMap<Box<str>, Arc<Claims>>,
    /// The remembered tokens' length, twice (the claims decode to about as much again).
    bytes: usize,
}

/// A token's claims.
pub type Claims = Map<String, Value>;

/// How many verified tokens are remembered, and how many bytes they may take; past either the
/// memory starts afresh. A token longer than `VERIFIED_MAX_TOKEN` (Entra's are 1-3 KB; a huge
/// one can only come from a request that made its audience huge) is verified every time instead.
const VERIFIED_CAPACITY: usize = 4096;
const VERIFIED_MAX_BYTES: usize = 32 << 20;
const VERIFIED_MAX_TOKEN: usize = 16 << 10;

/// A token signer whose key may still be being generated. On a fresh data directory the RSA key
/// generation (30-150 ms here) was most of the first start-up; with [`TokenSigner::start`] it
/// runs on a thread while the server opens its listeners, and the first use waits for it.
pub struct Signer {
    ready: OnceLock<Result<TokenSigner, String>>,
    pending: Mutex<Option<JoinHandle<Result<TokenSigner, CryptoError>>>>,
}

impl Signer {
    /// The signer, waiting for its key if it is still being generated; the error if that failed.
    pub fn wait(&self) -> Result<&TokenSigner, &str> {
        self.ready
            .get_or_init(|| {
                let handle = self.pending.lock().unwrap_or_else(|p| p.into_inner()).take();
                match handle.map(JoinHandle::join) {
                    Some(Ok(result)) => result.map_err(|e| e.to_string()),
                    Some(Err(_)) => Err("token key generation panicked".into()),
                    None => Err("token key generation was lost".into()),
                }
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

impl std::ops::Deref for Signer {
    type Target = TokenSigner;

    /// Panics if the key could not be made; `vaultlink serve` checks [`Signer::wait`] right after
    /// start-up and exits on that error, so a request never sees it.
    fn deref(&self) -> &TokenSigner {
        self.wait().expect("the token signing key could not be made")
    }
}

impl TokenSigner {
    /// Like [`TokenSigner::load_or_create`], but an absent key is generated on another thread.
    /// An existing key is loaded at once, so a bad key file still fails here.
    pub fn start(dir: &Path) -> Result<Signer, CryptoError> {
        files::ensure_dir(dir)?;
        if files::exists(&dir.join(KEY_FILE)) {
            let signer = Self::load_or_create(dir)?;
            return Ok(Signer { ready: OnceLock::from(Ok(signer)), pending: Mutex::new(None) });
        }
        let dir = dir.to_path_buf();
        let handle = std::thread::spawn(move || Self::load_or_create(&dir));
        Ok(Signer { ready: OnceLock::new(), pending: Mutex::new(Some(handle)) })
    }

    /// Loads `dir/token-signing-key.pem` (PKCS#8 PEM, must be mode 0600), or generates an
    /// RSA-2048 key and writes it there.
    pub fn load_or_create(dir: &Path) -> Result<Self, CryptoError> {
        files::ensure_dir(dir)?;
        let path = dir.join(KEY_FILE);
        if files::exists(&path) {
            let pem = files::read_private(&path)?;
            let what = || path.display().to_string();
            let der = PrivatePkcs8KeyDer::from_pem_slice(&pem)
                .map_err(|_| CryptoError::invalid_key(what(), "expected a PKCS#8 \"PRIVATE KEY\" PEM block"))?;
            let key = KeyPair::from_pkcs8(der.secret_pkcs8_der())
                .map_err(|e| CryptoError::invalid_key(what(), format!("not a usable RSA key: {e}")))?;
            return Self::from_key_pair(key);
        }
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| CryptoError::invalid_key(KEY_FILE, "RSA key generation failed"))?;
        let pkcs8 = key.as_der().map_err(|_| CryptoError::invalid_key(KEY_FILE, "PKCS#8 encoding failed"))?;
        let pem = crate::pem_encode("PRIVATE KEY", pkcs8.as_ref());
        files::write_private(&path, pem.as_bytes()).map_err(|e| CryptoError::io(&path, e))?;
        Self::from_key_pair(key)
    }

    /// The key id: base64url of the first 20 bytes of SHA-256 over the public key's
    /// SubjectPublicKeyInfo DER. Also used as `x5t`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `claims` as the JWT payload. Header: `{"typ":"JWT","alg":"RS256","kid":..,"x5t":..}`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.kid, "x5t": self.kid});
        let mut token = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), token.as_bytes(), &mut sig)
            .expect("RSA signing with a valid key cannot fail");
        token.push('.');
        token.push_str(&b64url(&sig));
        token
    }

    /// Verifies a token made by this signer and returns its claims.
    ///
    /// Checks `alg` == RS256, `kid`, the signature, `exp` (required; rejected once
    /// `exp <= now - 300`) and `nbf` (optional; rejected while `nbf > now + 300`).
    /// Audience and issuer are the caller's business.
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<Arc<Claims>, TokenError> {
        let cached = self.verified.lock().unwrap_or_else(|p| p.into_inner()).tokens.get(token).cloned();
        let claims = match cached {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.verify_signature(token)?);
                if token.len() <= VERIFIED_MAX_TOKEN {
                    let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
                    let size = 2 * token.len();
                    if verified.tokens.len() >= VERIFIED_CAPACITY || verified.bytes + size > VERIFIED_MAX_BYTES {
                        *verified = Verified::default();
                    }
                    verified.bytes += size;
                    verified.tokens.insert(token.into(), claims.clone());
                }
                claims
            }
        };
        check_times(&claims, now_unix)?;
        Ok(claims)
    }

    /// The signature, header and claim-shape checks of `verify` (everything but the clock).
    fn verify_signature(&self, token: &str) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header = decode_json_object(header_b64)?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(TokenError::BadSignature);
        }
        if header.get("kid").and_then(Value::as_str) != Some(self.kid.as_str()) {
            return Err(TokenError::BadSignature);
        }
        let sig = b64url_decode(sig_b64).map_err(|_| TokenError::Malformed)?;
        let signed_len = header_b64.len() + 1 + payload_b64.len();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public_key)
            .verify(&token.as_bytes()[..signed_len], &sig)
            .map_err(|_| TokenError::BadSignature)?;

        let claims = decode_json_object(payload_b64)?;
        claims.get("exp").and_then(numeric_date).ok_or(TokenError::Malformed)?;
        if claims.get("nbf").is_some_and(|nbf| numeric_date(nbf).is_none()) {
            return Err(TokenError::Malformed);
        }
        Ok(claims)
    }

    /// The JSON Web Key Set with this signer's public key, as served at Entra's `discovery/keys`.
    pub fn jwks(&self) -> Value {
        let (n, e) = rsa_public_components(&self.public_key).expect("aws-lc-rs produces a well-formed RSAPublicKey");
        json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "kid": self.kid,
                "x5t": self.kid,
                "n": b64url(n),
                "e": b64url(e),
                "alg": "RS256",
            }]
        })
    }

    fn from_key_pair(key: KeyPair) -> Result<Self, CryptoError> {
        let public_key = key.public_key().as_ref().to_vec();
        let spki =
            key.public_key().as_der().map_err(|_| CryptoError::invalid_key(KEY_FILE, "public key encoding failed"))?;
        let kid = b64url(&crate::sha256(spki.as_ref())[..20]);
        Ok(Self { key, public_key, kid, verified: Mutex::default() })
    }
}

/// `exp` (required) and `nbf` (optional) against the clock, with the allowed skew.
fn check_times(claims: &Claims, now_unix: i64) -> Result<(), TokenError> {
    let exp = claims.get("exp").and_then(numeric_date).ok_or(TokenError::Malformed)?;
    if exp <= now_unix.saturating_sub(SKEW_SECS) {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = numeric_date(nbf).ok_or(TokenError::Malformed)?;
        if nbf > now_unix.saturating_add(SKEW_SECS) {
            return Err(TokenError::NotYetValid);
        }
    }
    Ok(())
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("alg", &"RS256")
            .field("kid", &self.kid)
            .field("key", &"<redacted>")
            .finish()
    }
}

fn decode_json_object(part: &str) -> Result<Map<String, Value>, TokenError> {
    let bytes = b64url_decode(part).map_err(|_| TokenError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(TokenError::Malformed),
    }
}

/// A JWT NumericDate (seconds; fractions are truncated).
fn numeric_date(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15).map(|f| f as i64))
}

/// Splits a PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`
/// into big-endian `n` and `e` without leading zero bytes.
fn rsa_public_components(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (seq, rest) = der_element(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (n, rest) = der_element(seq, 0x02)?;
    let (e, rest) = der_element(rest, 0x02)?;
    if !rest.is_empty() {
        return None;
    }
    Some((strip_leading_zeros(n), strip_leading_zeros(e)))
}

fn strip_leading_zeros(mut int: &[u8]) -> &[u8] {
    while let [0, tail @ ..] = int {
        if tail.is_empty() {
            break;
        }
        int = tail;
    }
    int
}

/// Reads one DER element with the expected tag; returns (contents, remaining input).
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::RsaPublicKeyComponents;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::OnceLock;

    const NOW: i64 = 1_800_000_000;

    /// RSA key generation is the slow part; share one signer between tests.
    fn shared() -> &'static (tempfile::TempDir, TokenSigner) {
        static SIGNER: OnceLock<(tempfile::TempDir, TokenSigner)> = OnceLock::new();
        SIGNER.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let signer = TokenSigner::load_or_create(dir.path()).unwrap();
            (dir, signer)
        })
    }

    fn claims(exp: i64) -> Value {
        json!({"aud": "https://vault.azure.net", "iss": "https://sts.windows.net/t/", "exp": exp, "nbf": NOW - 10, "oid": "abc"})
    }

    #[test]
    fn sign_verify_round_trip_and_header() {
        let (_, s) = shared();
        let token = s.sign(&claims(NOW + 3600));
        let got = s.verify(&token, NOW).unwrap();
        assert_eq!(got["oid"], "abc");
        let header = decode_json_object(token.split('.').next().unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], s.kid());
        assert_eq!(header["x5t"], s.kid());
        assert!(!token.contains('='));
        assert_eq!(s.kid().len(), 27); // 20 bytes in base64url
    }

    #[test]
    fn claims_with_fractional_numbers_verify_exactly_as_signed() {
        // Found by fuzz/jwt_verify: without serde_json's `float_roundtrip` a number such as
        // 1056153114000.0005 came back one unit in the last place off after sign -> verify.
        let (_, s) = shared();
        let text = r#"{"aud": "https://vault.azure.net", "exp": 1056153114000.000500, "nbf": 1700000000.1, "x": 0.30000000000000004}"#;
        let signed: Value = serde_json::from_str(text).unwrap();
        let got = s.verify(&s.sign(&signed), 1_700_000_001).unwrap();
        assert_eq!(Some(&*got), signed.as_object());
    }

    #[test]
    fn tampered_payload_is_bad_signature() {
        let (_, s) = shared();
        let token = s.sign(&claims(NOW + 3600));
        let parts: Vec<&str> = token.split('.').collect();
        let evil = b64url(claims(NOW + 999_999).to_string().as_bytes());
        let forged = format!("{}.{}.{}", parts[0], evil, parts[2]);
        assert_eq!(s.verify(&forged, NOW), Err(TokenError::BadSignature));
        let mut sig = b64url_decode(parts[2]).unwrap();
        sig[10] ^= 1;
        let forged = format!("{}.{}.{}", parts[0], parts[1], b64url(&sig));
        assert_eq!(s.verify(&forged, NOW), Err(TokenError::BadSignature));
    }

    /// Huge tokens are verified but not remembered, and the memory stays within its bytes.
    #[test]
    fn the_memory_of_verified_tokens_is_bounded_in_bytes() {
        let (_, s) = shared();
        let mut big = claims(NOW + 60);
        big["aud"] = Value::String("x".repeat(VERIFIED_MAX_TOKEN));
        let huge = s.sign(&big);
        assert!(s.verify(&huge, NOW).is_ok());
        assert!(!s.verified.lock().unwrap().tokens.contains_key(huge.as_str()), "a huge token is not remembered");
        // Tokens just under the size remembered: past the byte budget the memory starts afresh.
        let n = VERIFIED_MAX_BYTES / (2 * (11 << 10)) + 8;
        for i in 0..n {
            let mut c = claims(NOW + 60);
            c["aud"] = Value::String(format!("{i}{}", "y".repeat(8 << 10)));
            assert!(s.verify(&s.sign(&c), NOW).is_ok());
            assert!(s.verified.lock().unwrap().bytes <= VERIFIED_MAX_BYTES);
        }
        assert!(s.verified.lock().unwrap().tokens.len() < n, "the memory was started afresh");
    }

    /// The memory of verified tokens never outlives the clock, and a forgery of a remembered
    /// token is still a forgery.
    #[test]
    fn remembered_tokens_still_expire_and_forgeries_still_fail() {
        let (_, s) = shared();
        let token = s.sign(&claims(NOW + 60));
        assert!(s.verify(&token, NOW).is_ok());
        assert!(s.verify(&token, NOW).is_ok());
        assert_eq!(s.verify(&token, NOW + 60 + 300), Err(TokenError::Expired));
        let parts: Vec<&str> = token.split('.').collect();
        let mut sig = b64url_decode(parts[2]).unwrap();
        sig[0] ^= 1;
        let forged = format!("{}.{}.{}", parts[0], parts[1], b64url(&sig));
        assert_eq!(s.verify(&forged, NOW), Err(TokenError::BadSignature));
        assert!(s.verify(&token, NOW).is_ok());
    }

    /// A key generated on a thread is the one written, and the one a restart loads; a bad key
    /// file fails `start` itself.
    #[test]
    fn started_signer_generates_once_and_restart_loads_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = TokenSigner::start(dir.path()).unwrap();
        let token = first.sign(&claims(NOW + 3600));
        let again = TokenSigner::start(dir.path()).unwrap();
        assert_eq!(again.wait().unwrap().kid(), first.kid());
        assert!(again.verify(&token, NOW).is_ok());
        std::fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        assert!(TokenSigner::start(dir.path()).is_err());
    }

    #[test]
    fn time_checks() {
        let (_, s) = shared();
        assert_eq!(s.verify(&s.sign(&claims(NOW - 301)), NOW), Err(TokenError::Expired));
        assert_eq!(s.verify(&s.sign(&claims(NOW - 300)), NOW), Err(TokenError::Expired));
        assert!(s.verify(&s.sign(&claims(NOW - 299)), NOW).is_ok());
        let future = json!({"exp": NOW + 7200, "nbf": NOW + 301});
        assert_eq!(s.verify(&s.sign(&future), NOW), Err(TokenError::NotYetValid));
        let soon = json!({"exp": NOW + 7200, "nbf": NOW + 300});
        assert!(s.verify(&s.sign(&soon), NOW).is_ok());
        let no_exp = json!({"nbf": NOW});
        assert_eq!(s.verify(&s.sign(&no_exp), NOW), Err(TokenError::Malformed));
        let float_exp = json!({"exp": (NOW + 10) as f64 + 0.5});
        assert!(s.verify(&s.sign(&float_exp), NOW).is_ok());
    }

    #[test]
    fn other_signer_and_alg_none_are_rejected() {
        let (_, s) = shared();
        let dir = tempfile::tempdir().unwrap();
        let other = TokenSigner::load_or_create(dir.path()).unwrap();
        assert_ne!(other.kid(), s.kid());
        let token = other.sign(&claims(NOW + 3600));
        assert_eq!(s.verify(&token, NOW), Err(TokenError::BadSignature));

        let header = b64url(json!({"alg": "none", "kid": s.kid()}).to_string().as_bytes());
        let payload = b64url(claims(NOW + 3600).to_string().as_bytes());
        let unsigned = format!("{header}.{payload}.");
        assert_eq!(s.verify(&unsigned, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn malformed_tokens() {
        let (_, s) = shared();
        for bad in ["", "abc", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.e30"] {
            let got = s.verify(bad, NOW);
            assert!(matches!(got, Err(TokenError::Malformed | TokenError::BadSignature)), "{bad}: {got:?}");
        }
        assert_eq!(s.verify("abc", NOW), Err(TokenError::Malformed));
        assert_eq!(s.verify("!!.??.**", NOW), Err(TokenError::Malformed));
        assert_eq!(TokenError::Expired.to_string(), "token expired");
    }

    #[test]
    fn reload_verifies_earlier_tokens_and_key_file_is_private() {
        let (dir, s) = shared();
        let token = s.sign(&claims(NOW + 3600));
        let reloaded = TokenSigner::load_or_create(dir.path()).unwrap();
        assert_eq!(reloaded.kid(), s.kid());
        assert!(reloaded.verify(&token, NOW).is_ok());
        let path = dir.path().join(KEY_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    }

    #[test]
    fn open_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (src, _) = shared();
        let pem = std::fs::read(src.path().join(KEY_FILE)).unwrap();
        let path = dir.path().join(KEY_FILE);
        std::fs::write(&path, pem).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = TokenSigner::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, CryptoError::InsecurePermissions { .. }), "{err}");
    }

    #[test]
    fn jwks_components_verify_independently() {
        let (_, s) = shared();
        let jwks = s.jwks();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["kid"], s.kid());
        assert_eq!(key["x5t"], s.kid());
        let n = b64url_decode(key["n"].as_str().unwrap()).unwrap();
        let e = b64url_decode(key["e"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256);
        assert_ne!(n[0], 0);
        assert_eq!(e, [1, 0, 1]);

        let token = s.sign(&claims(NOW + 3600));
        let (signed, sig) = token.rsplit_once('.').unwrap();
        let sig = b64url_decode(sig).unwrap();
        let components = RsaPublicKeyComponents { n: &n, e: &e };
        components.verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &sig).unwrap();
        assert!(components.verify(&RSA_PKCS1_2048_8192_SHA256, b"other", &sig).is_err());
    }

    #[test]
    fn debug_redacts_key() {
        let (_, s) = shared();
        let dbg = format!("{s:?}");
        assert!(dbg.contains("redacted") && dbg.contains(s.kid()));
        assert!(dbg.len() < 200);
    }

    #[test]
    fn der_parser_rejects_garbage() {
        assert!(rsa_public_components(&[]).is_none());
        assert!(rsa_public_components(&[0x30, 0x03, 0x02, 0x01]).is_none());
        assert!(rsa_public_components(&[0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03]).is_some());
        assert_eq!(strip_leading_zeros(&[0, 0, 1]), [1]);
        assert_eq!(strip_leading_zeros(&[0]), [0]);
    }
}
