//! Stored client secrets: Argon2id in the PHC string format (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`),
//! and the constant-time helpers the identity check needs (byte comparison, a keyed hash).
//!
//! The parameters are OWASP's first Argon2id choice (Password Storage Cheat Sheet: 19 MiB, two
//! passes, one lane), which is also the argon2 crate's default. They are written into every
//! stored string, so raising them later leaves existing hashes readable: [`verify_secret`] takes
//! the parameters from the string, within the bounds below.

use std::sync::Mutex;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Memory per hash, in KiB (19 MiB).
pub const SECRET_M_COST_KIB: u32 = 19 * 1024;
/// Passes over that memory.
pub const SECRET_T_COST: u32 = 2;
/// Lanes (one: a verification uses one core).
pub const SECRET_P_COST: u32 = 1;

/// The most memory (KiB) and passes a stored string may ask for: a string from a damaged or
/// hostile state file cannot make one check take gigabytes or minutes.
const MAX_M_COST_KIB: u32 = 256 * 1024;
const MAX_T_COST: u32 = 16;

/// Argon2's working memory, kept between checks: allocating 19 MiB for each check and freeing it
/// left glibc holding it in one arena per thread (its mmap threshold rises to the size of the
/// freed block), over 1 GiB under a flood of wrong secrets. At most [`POOL_MAX`] buffers of the
/// default size are kept; a caller bounds how many checks run at once (the core's gate).
static POOL: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
const POOL_MAX: usize = 8;

fn default_params() -> Params {
    Params::new(SECRET_M_COST_KIB, SECRET_T_COST, SECRET_P_COST, Some(32)).expect("valid Argon2 parameters")
}

/// Runs `f` over `count` blocks of working memory, from the pool when it has a buffer.
fn with_blocks<R>(count: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let pooled = POOL.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let mut blocks = pooled.unwrap_or_default();
    if blocks.len() != count {
        blocks = vec![Block::default(); count];
    }
    let out = f(&mut blocks);
    if count == default_params().block_count() {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < POOL_MAX {
            pool.push(blocks);
        }
    }
    out
}

/// The stored form of a client secret: Argon2id with a fresh 16-byte salt, as a PHC string.
pub fn hash_secret(secret: &str) -> String {
    let salt = crate::random_bytes(16);
    let params = default_params();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; 32];
    with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(secret.as_bytes(), &salt, &mut out, blocks)
    })
    .expect("Argon2 hashing with valid parameters");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("Argon2 parameters as a PHC string"),
        salt: Some(Salt::new(&salt).expect("a 16-byte salt")),
        hash: Some(Output::new(&out).expect("a 32-byte hash")),
    }
    .to_string()
}

/// Whether `secret` matches `stored`, a PHC string made by [`hash_secret`] (the parameters are
/// the string's). The hash is compared in constant time; a malformed string, another algorithm
/// or parameters above the bounds are `false`.
pub fn verify_secret(secret: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    if parsed.algorithm.as_str() != "argon2id" {
        return false;
    }
    let Ok(version) = parsed.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST_KIB || params.t_cost() > MAX_T_COST {
        return false;
    }
    let argon2 = Argon2::new(Algorithm::Argon2id, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let computed = with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(secret.as_bytes(), salt, &mut out, blocks)
    });
    computed.is_ok() && constant_time_eq(&out, expected.as_bytes())
}

/// Whether a string is in [`hash_secret`]'s form (so a stored value can be told from the hex
/// SHA-256 that came before it).
pub fn is_secret_hash(stored: &str) -> bool {
    stored.starts_with("$argon2id$")
}

/// Whether two byte strings are equal, in time that depends only on their lengths (OpenSSL's
/// `CRYPTO_memcmp` through aws-lc-rs).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let tag = aws_lc_rs::hmac::sign(&key, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_to_salted_argon2id_and_verify_only_themselves() {
        let stored = hash_secret("abc8Q~secret");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(is_secret_hash(&stored));
        assert!(verify_secret("abc8Q~secret", &stored));
        assert!(!verify_secret("abc8Q~secreT", &stored));
        assert!(!verify_secret("", &stored));
        assert_ne!(hash_secret("abc8Q~secret"), stored, "each hash has its own salt");
    }

    #[test]
    fn the_strings_are_standard_phc_that_the_argon2_crate_reads_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_secret("interop");
        assert!(Argon2::default().verify_password(b"interop", &PasswordHash::new(&ours).unwrap()).is_ok());
        let theirs = Argon2::default().hash_password_with_salt(b"interop", &[7u8; 16]).unwrap().to_string();
        assert!(verify_secret("interop", &theirs) && !verify_secret("interoP", &theirs));
    }

    #[test]
    fn malformed_foreign_or_too_costly_strings_never_verify() {
        assert!(!verify_secret("x", ""));
        assert!(!verify_secret("x", "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"));
        assert!(!is_secret_hash("2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"));
        let stored = hash_secret("x");
        let argon2i = stored.replacen("$argon2id$", "$argon2i$", 1);
        assert!(!verify_secret("x", &argon2i), "only argon2id");
        let costly = stored.replacen("m=19456", "m=4194304", 1);
        assert!(!verify_secret("x", &costly), "4 GiB is refused before any work");
    }

    #[test]
    fn constant_time_eq_and_hmac() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        // RFC 4231 test case 2.
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(crate::hex(&tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
