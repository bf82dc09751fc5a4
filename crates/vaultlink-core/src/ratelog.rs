//! Log lines that an outsider cannot multiply: a refusal is logged at most [`BURST`] times per
//! [`WINDOW_SECS`] at each place that logs it; the next line that is written says how many were
//! not (`suppressed`). A caller sending refused requests as fast as it can therefore costs the
//! log a few lines per window, not one per request.
//!
//! `info_limited!(fields..., "message")` is `tracing::info!` with a limit of its own per call
//! site.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

/// Lines per window at one place.
pub const BURST: u32 = 20;
/// The window, in seconds.
pub const WINDOW_SECS: i64 = 10;

/// One place's budget of log lines.
#[derive(Debug)]
pub struct RateLimited {
    burst: u32,
    window: AtomicI64,
    used: AtomicU32,
    suppressed: AtomicU64,
}

impl RateLimited {
    pub const fn new(burst: u32) -> Self {
        Self { burst, window: AtomicI64::new(i64::MIN), used: AtomicU32::new(0), suppressed: AtomicU64::new(0) }
    }

    /// `Some(lines held back since the last one written)` when a line may be written now.
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(crate::engine::now())
    }

    fn allow_at(&self, now: i64) -> Option<u64> {
        let window = now.div_euclid(WINDOW_SECS);
        let seen = self.window.load(Ordering::Relaxed);
        if seen != window && self.window.compare_exchange(seen, window, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.used.store(0, Ordering::Relaxed);
        }
        if self.used.fetch_add(1, Ordering::Relaxed) < self.burst {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// `tracing::info!` at most [`BURST`] times per [`WINDOW_SECS`] at this call site, with a
/// `suppressed` field counting the lines it did not write.
#[macro_export]
macro_rules! info_limited {
    ($($arg:tt)+) => {{
        static LIMIT: $crate::ratelog::RateLimited = $crate::ratelog::RateLimited::new($crate::ratelog::BURST);
        if let Some(suppressed) = LIMIT.allow() {
            tracing::info!(suppressed, $($arg)+);
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_per_window_then_a_count_of_what_was_held_back() {
        let r = RateLimited::new(3);
        let t = 1_000_000;
        assert_eq!((0..3).map(|_| r.allow_at(t)).collect::<Vec<_>>(), vec![Some(0); 3]);
        assert_eq!((0..1000).filter_map(|_| r.allow_at(t + 1)).count(), 0, "the rest of the window is quiet");
        assert_eq!(r.allow_at(t + WINDOW_SECS), Some(1000), "the next window's first line counts them");
        assert_eq!(r.allow_at(t + WINDOW_SECS), Some(0));
    }
}
