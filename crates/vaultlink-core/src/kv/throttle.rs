//! Key Vault's service limits: per-vault request budgets in 10-second windows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, Kind};

/// Transaction classes of Key Vault's service limits (azure-behaviour.md §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxClass {
    /// CREATE secret, IMPORT key/certificate: 300 per 10 s per vault.
    Create,
    /// Everything else: 4,000 per 10 s per vault.
    Other,
}

/// Per-vault request counting in 10-second windows; refused requests are not counted.
pub struct Throttle {
    enabled: bool,
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32, u32)>>,
}

impl Throttle {
    pub const CREATE_LIMIT: u32 = 300;
    pub const OTHER_LIMIT: u32 = 4000;

    pub fn new(enabled: bool) -> Self {
        Self { enabled, window: Duration::from_secs(10), counts: Mutex::new(HashMap::new()) }
    }

    /// Counts one request, or refuses it with Azure's 429.
    pub fn admit(&self, vault_id: &str, class: TxClass) -> Result<(), Error> {
        if !self.enabled {
            return Ok(());
        }
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let entry = counts.entry(vault_id.to_ascii_lowercase()).or_insert((now, 0, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0, 0);
        }
        let (count, limit) = match class {
            TxClass::Create => (&mut entry.1, Self::CREATE_LIMIT),
            TxClass::Other => (&mut entry.2, Self::OTHER_LIMIT),
        };
        if *count >= limit {
            return Err(Error::new(
                Kind::TooManyRequests,
                "Throttled",
                "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
            ));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_refuses_past_the_window_limit_and_counts_nothing_when_off() {
        let t = Throttle::new(true);
        for _ in 0..Throttle::CREATE_LIMIT {
            t.admit("v", TxClass::Create).unwrap();
        }
        let e = t.admit("v", TxClass::Create).unwrap_err();
        assert_eq!((e.kind, e.code.as_str()), (Kind::TooManyRequests, "Throttled"));
        // Other classes and other vaults have their own budgets.
        t.admit("v", TxClass::Other).unwrap();
        t.admit("w", TxClass::Create).unwrap();
        let off = Throttle::new(false);
        for _ in 0..(Throttle::CREATE_LIMIT + 10) {
            off.admit("v", TxClass::Create).unwrap();
        }
    }
}
