//! Client secrets as stored and checked: Argon2id for every new secret, the hex SHA-256 of older
//! state files still accepted and rehashed at its first successful sign-in, a dummy check when
//! there is nothing to check against, and the memory of recently verified secrets that keeps
//! token requests fast (docs/behaviour.md, "Client secrets").
//!
//! The memory: an Argon2id check costs about 65 ms of one core and 19 MiB here, and `az` and the
//! SDKs sign in with client credentials again and again. After a secret has verified against a
//! stored hash, `HMAC-SHA256(k, stored hash || 0 || secret)` is remembered for
//! [`REMEMBER_SECS`], `k` being 32 random bytes made at start and kept in memory only. It is
//! keyed by the stored hash, so a removed, replaced or expired secret (whose hash is no longer a
//! candidate) is never accepted from it; a wrong secret never enters it, so each wrong guess
//! costs the full check. At most one check per core runs at once ([`Gate`]), so a flood of wrong
//! secrets takes a bounded amount of memory and queues instead.

use std::collections::HashMap;
use std::sync::{Condvar, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How long a verified secret is remembered.
pub(crate) const REMEMBER_SECS: u64 = 300;
/// How many verified secrets are remembered at most; the memory starts afresh when full.
const REMEMBERED_MAX: usize = 4096;

/// Where a candidate secret is stored: the record and, for an application's secret, its key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Slot {
    pub(super) record_key: String,
    pub(super) key_id: Option<String>,
}

/// A secret a sign-in may match, as stored.
#[derive(Clone)]
pub(super) enum Stored {
    /// `vaultlink_crypto::hash_secret`'s PHC string.
    Argon2id(String),
    /// Hex SHA-256, from a state file written before Argon2id.
    Sha256(String),
}

/// A candidate: where it lives and what is stored.
#[derive(Clone)]
pub(super) struct Candidate {
    pub(super) slot: Slot,
    pub(super) stored: Stored,
}

impl Candidate {
    /// The candidate stored in a record's pair of fields (Argon2id first), if any.
    pub(super) fn of(slot: Slot, argon2id: Option<&String>, sha256: Option<&String>) -> Option<Self> {
        let stored = match (argon2id, sha256) {
            (Some(h), _) => Stored::Argon2id(h.clone()),
            (None, Some(h)) => Stored::Sha256(h.clone()),
            (None, None) => return None,
        };
        Some(Self { slot, stored })
    }
}

/// A new secret's stored form.
pub(super) fn hash(secret: &str) -> String {
    let _turn = GATE.enter();
    vaultlink_crypto::hash_secret(secret)
}

/// The candidate `secret` matches, if any. Remembered verifications are looked up first; then each
/// Argon2id hash is checked in turn and each SHA-256 compared in constant time. A check that ran
/// no Argon2id (no candidates, or only SHA-256 ones) and failed checks a dummy hash, so a wrong
/// secret costs at least one Argon2id check whether or not the principal exists or has a secret.
pub(super) fn verify<'c>(candidates: &'c [Candidate], secret: &str) -> Option<&'c Candidate> {
    if let Some(c) = candidates.iter().find(|c| matches!(&c.stored, Stored::Argon2id(h) if REMEMBERED.knows(h, secret)))
    {
        return Some(c);
    }
    let digest = vaultlink_crypto::sha256(secret.as_bytes());
    let mut ran_argon2id = false;
    for c in candidates {
        let ok = match &c.stored {
            Stored::Argon2id(h) => {
                ran_argon2id = true;
                let ok = argon2id_check(secret, h);
                if ok {
                    REMEMBERED.remember(h, secret);
                }
                ok
            }
            Stored::Sha256(h) => decode_hex(h).is_some_and(|h| vaultlink_crypto::constant_time_eq(&h, &digest)),
        };
        if ok {
            return Some(c);
        }
    }
    if !ran_argon2id {
        dummy_check(secret);
    }
    None
}

/// One Argon2id check against a hash no secret matches, taking as long as a real one.
pub(super) fn dummy_check(secret: &str) {
    static DUMMY: LazyLock<String> = LazyLock::new(|| vaultlink_crypto::hash_secret(&vaultlink_crypto::random_hex(32)));
    let _ = argon2id_check(secret, &DUMMY);
}

/// One Argon2id verification, taking its turn at the gate.
fn argon2id_check(secret: &str, stored: &str) -> bool {
    #[cfg(test)]
    ARGON2ID_CHECKS.with(|n| n.set(n.get() + 1));
    let _turn = GATE.enter();
    vaultlink_crypto::verify_secret(secret, stored)
}

#[cfg(test)]
thread_local! {
    /// Argon2id verifications run on this thread (tests count them instead of timing them).
    static ARGON2ID_CHECKS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many Argon2id verifications this thread has run.
#[cfg(test)]
pub(crate) fn argon2id_checks() -> u64 {
    ARGON2ID_CHECKS.with(std::cell::Cell::get)
}

/// Remembers that `secret` matches the stored hash `stored` (after a rehash, whose new hash
/// matches by construction).
pub(super) fn remember(stored: &str, secret: &str) {
    REMEMBERED.remember(stored, secret);
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The memory of verified secrets: keyed hashes only, never a secret or a stored hash.
struct Remembered {
    key: [u8; 32],
    seen: Mutex<HashMap<[u8; 32], Instant>>,
}

static REMEMBERED: LazyLock<Remembered> = LazyLock::new(|| {
    let mut key = [0u8; 32];
    key.copy_from_slice(&vaultlink_crypto::random_bytes(32));
    Remembered { key, seen: Mutex::new(HashMap::new()) }
});

impl Remembered {
    fn tag(&self, stored: &str, secret: &str) -> [u8; 32] {
        let mut data = Vec::with_capacity(stored.len() + 1 + secret.len());
        data.extend_from_slice(stored.as_bytes());
        data.push(0);
        data.extend_from_slice(secret.as_bytes());
        vaultlink_crypto::hmac_sha256(&self.key, &data)
    }

    fn knows(&self, stored: &str, secret: &str) -> bool {
        let tag = self.tag(stored, secret);
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&tag).is_some_and(|until| Instant::now() < *until)
    }

    fn remember(&self, stored: &str, secret: &str) {
        let tag = self.tag(stored, secret);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= REMEMBERED_MAX {
            seen.clear();
        }
        seen.insert(tag, Instant::now() + Duration::from_secs(REMEMBER_SECS));
    }
}

/// How many Argon2id computations may run at once: the cores, at least two. Each takes 19 MiB
/// while it runs, so this bounds their memory (the blocking pool that runs token requests has
/// hundreds of threads).
fn concurrent_checks() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// A counting semaphore over the Argon2id computations.
struct Gate {
    running: Mutex<usize>,
    freed: Condvar,
}

/// Releases a turn of the [`Gate`] when dropped.
struct Turn<'g>(&'g Gate);

static GATE: Gate = Gate { running: Mutex::new(0), freed: Condvar::new() };

impl Gate {
    fn enter(&self) -> Turn<'_> {
        let max = concurrent_checks();
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        while *running >= max {
            running = self.freed.wait(running).unwrap_or_else(|p| p.into_inner());
        }
        *running += 1;
        Turn(self)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut running = self.0.running.lock().unwrap_or_else(|p| p.into_inner());
        *running -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot() -> Slot {
        Slot { record_key: "/tenants/t/principals/a".into(), key_id: None }
    }

    #[test]
    fn argon2id_and_legacy_sha256_candidates_match_only_their_secret() {
        let argon = Candidate::of(slot(), Some(&vaultlink_crypto::hash_secret("right")), None).unwrap();
        let legacy_hex: String = vaultlink_crypto::sha256(b"old").iter().map(|b| format!("{b:02x}")).collect();
        let legacy = Candidate::of(slot(), None, Some(&legacy_hex)).unwrap();
        let both = [argon, legacy];
        assert!(matches!(verify(&both, "right").map(|c| &c.stored), Some(Stored::Argon2id(_))));
        assert!(matches!(verify(&both, "old").map(|c| &c.stored), Some(Stored::Sha256(_))));
        assert!(verify(&both, "wrong").is_none());
        assert!(verify(&both, "").is_none());
        assert!(verify(&[], "anything").is_none());
        // A damaged legacy value never matches (and never panics).
        let odd = Candidate::of(slot(), None, Some(&"abc".to_string())).unwrap();
        assert!(verify(&[odd], "abc").is_none());
    }

    #[test]
    fn a_remembered_verification_is_keyed_by_the_stored_hash() {
        let first = vaultlink_crypto::hash_secret("s3cret");
        assert!(!REMEMBERED.knows(&first, "s3cret"));
        let c = Candidate::of(slot(), Some(&first), None).unwrap();
        assert!(verify(std::slice::from_ref(&c), "s3cret").is_some());
        assert!(REMEMBERED.knows(&first, "s3cret"), "remembered after a success");
        assert!(!REMEMBERED.knows(&first, "s3creT"));
        // The same secret under another stored hash (a replaced secret) is not remembered.
        let second = vaultlink_crypto::hash_secret("s3cret");
        assert!(!REMEMBERED.knows(&second, "s3cret"));
        // A wrong secret is never remembered.
        assert!(verify(std::slice::from_ref(&c), "nope").is_none());
        assert!(!REMEMBERED.knows(&first, "nope"));
    }

    #[test]
    fn the_gate_admits_at_most_its_count_at_once() {
        let max = concurrent_checks();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let now = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..max * 3)
            .map(|_| {
                let (peak, now) = (peak.clone(), now.clone());
                std::thread::spawn(move || {
                    let _turn = GATE.enter();
                    let n = now.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    peak.fetch_max(n, std::sync::atomic::Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // Other tests' checks may hold turns too, so the peak seen here is at most the count.
        assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= max);
    }
}
