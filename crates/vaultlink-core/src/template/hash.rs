//! The two deterministic name makers of the template language, bit for bit as ARM computes them:
//! `uniqueString` (a 64-bit Murmur-style hash of the arguments joined with `-`, 13 characters of
//! lower-case base32) and `guid` (an RFC 4122 version 5 UUID of the arguments joined with `-`, in
//! ARM's own namespace). Both hash the UTF-8 bytes; both are case-sensitive.
//!
//! The hash is the variant ARM's expression engine uses (two 32-bit lanes, MurmurHash3's x86
//! constants, its own lane mixing and final avalanche); the known outputs in the tests were read
//! from real deployments.

use aws_lc_rs::digest;

/// ARM's namespace for `guid()`.
const ARM_NAMESPACE: [u8; 16] =
    [0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd, 0x98, 0xc7, 0xe7, 0x1b, 0xbd, 0x58, 0x88, 0x30];

const C1: u32 = 0x239b_961b;
const C2: u32 = 0xab0e_9789;
const M1: u32 = 0x85eb_ca6b;
const M2: u32 = 0xc2b2_ae35;
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// `uniqueString(a, b, ...)` of the arguments, already joined with `-`.
pub(crate) fn unique_string(joined: &str) -> String {
    let mut h = murmur64(joined.as_bytes());
    let mut out = String::with_capacity(13);
    for _ in 0..13 {
        out.push(BASE32[(h >> 59) as usize] as char);
        h <<= 5;
    }
    out
}

/// `guid(a, b, ...)` of the arguments, already joined with `-`: the lower-case canonical form.
pub fn guid(joined: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&ARM_NAMESPACE);
    ctx.update(joined.as_bytes());
    let hash = ctx.finish();
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

/// `deployment().properties.templateHash`: a decimal 64-bit hash of the template as sent.
pub fn template_hash(template: &serde_json::Value) -> String {
    murmur64(template.to_string().as_bytes()).to_string()
}

fn lane(bytes: &[u8]) -> u32 {
    bytes.iter().rev().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
}

fn mix1(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

fn mix2(k: u32) -> u32 {
    k.wrapping_mul(C2).rotate_left(17).wrapping_mul(C1)
}

fn avalanche(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(M1);
    h ^= h >> 13;
    h = h.wrapping_mul(M2);
    h ^ (h >> 16)
}

fn murmur64(data: &[u8]) -> u64 {
    let (mut h1, mut h2) = (0u32, 0u32);
    let mut blocks = data.chunks_exact(8);
    for block in blocks.by_ref() {
        h1 = (h1 ^ mix1(lane(&block[..4]))).rotate_left(19).wrapping_add(h2).wrapping_mul(5).wrapping_add(0x561c_cd1b);
        h2 = (h2 ^ mix2(lane(&block[4..]))).rotate_left(13).wrapping_add(h1).wrapping_mul(5).wrapping_add(0x0bca_a747);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        h1 ^= mix1(lane(&tail[..tail.len().min(4)]));
        if tail.len() > 4 {
            h2 ^= mix2(lane(&tail[4..]));
        }
    }
    let len = data.len() as u32;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = avalanche(h1);
    h2 = avalanche(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (u64::from(h2) << 32) | u64::from(h1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outputs of real ARM deployments, as published beside the inputs.
    #[test]
    fn unique_string_matches_arm() {
        for (input, expected) in [
            ("aaa", "zavj67f3en4hc"),
            ("bbb", "w5eragfxe33cy"),
            ("zzz", "cryksdzzzawae"),
            ("xxx-yyy-zzz", "lghi7k5js7itq"),
            ("tyeth", "zcztcwvu6iyg6"),
            ("hello-world", "a7wkljktk6wne"),
            ("test", "rbgf3xv4ufgzg"),
            ("abc", "cgtzqvhu4i23s"),
            ("foo-bar-baz", "xzi4ioaxtmth4"),
            ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg", "bmg7c6xu4tw46"),
        ] {
            assert_eq!(unique_string(input), expected, "{input}");
        }
        assert_eq!(murmur64(b"hello-world"), 571_013_382_255_652_050);
    }

    #[test]
    fn guid_is_a_version_5_uuid_in_arm_namespace() {
        let g = guid("a-b");
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "5");
        assert!(matches!(&g[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(g, guid("a-b"));
        // RFC 4122's name-based algorithm (Python's `uuid.uuid5` over ARM's namespace agrees).
        assert_eq!(g, "2d796349-8c7e-55ec-9624-54ece82ed031");
        assert_ne!(g, guid("a-B"));
    }
}
