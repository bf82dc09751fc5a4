//! Moving the engine's clock (`vaultlink clock`, `serve --clock`) and the work Key Vault does by
//! itself when time passes (`due_work`): purging what soft delete kept past its retention,
//! rotating keys and renewing certificates as their policies say.
//!
//! The clock is the engine's (`vaultlink_core::engine::Clock`): the system's time plus an offset
//! kept in memory by the running instance. A running clock only moves forward; a restart starts
//! at the system's time again unless `serve --clock` says otherwise (docs/behaviour.md, "The
//! clock").

use serde_json::{Value, json};
use vaultlink_core::engine::rfc3339;

use crate::http::App;

/// How often a running instance does its due work (as Azure's purge does, in the background).
pub(crate) const DUE_WORK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// A request to a running instance's clock (the control socket's `clock <json>`).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub(crate) enum ClockOp {
    Show,
    Advance { seconds: i64 },
    Set { unix: i64 },
}

/// Where `serve --clock` starts the engine's clock: a time, or an offset from the system's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClockStart {
    At(i64),
    Ahead(i64),
}

/// The latest time the clock may show: 9999-12-31T23:59:59Z, the end of the range Key Vault's
/// times take.
const LATEST: i64 = *vaultlink_core::kv::objects::UNIX_TIME_RANGE.end();

/// Parses a duration: whole numbers with units `w`, `d`, `h`, `m`, `s`, in any combination
/// (`91d`, `1d12h`, `90m`); at least one second, at most the clock's range.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("'{text}' is not a duration: give a number and a unit (w, d, h, m, s), e.g. 91d or 1d12h");
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n.checked_mul(unit).and_then(|s| total.checked_add(s)).filter(|t| *t <= LATEST).ok_or_else(bad)?;
    }
    if !digits.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(total)
}

/// Parses an RFC 3339 time (`2027-03-01T00:00:00Z`) to Unix seconds, within the clock's range.
pub(crate) fn parse_time(text: &str) -> Result<i64, String> {
    let t = time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("'{text}' is not an RFC 3339 time, e.g. 2027-03-01T00:00:00Z"))?;
    let unix = t.unix_timestamp();
    if !(0..=LATEST).contains(&unix) {
        return Err(format!("'{text}' is outside the clock's range (1970 to 9999)"));
    }
    Ok(unix)
}

/// Parses `serve --clock`: an RFC 3339 time, or `+DURATION` ahead of the system's time.
pub(crate) fn parse_start(text: &str) -> Result<ClockStart, String> {
    match text.trim().strip_prefix('+') {
        Some(d) => parse_duration(d).map(ClockStart::Ahead),
        None => parse_time(text).map(ClockStart::At),
    }
}

/// Sets the engine's clock as `serve --clock` asks, before anything is served.
pub(crate) fn start(engine: &vaultlink_core::Engine, at: ClockStart) {
    let clock = engine.clock();
    match at {
        ClockStart::At(unix) => clock.set(unix),
        ClockStart::Ahead(seconds) => clock.advance(seconds),
    }
}

/// Runs a [`ClockOp`] on the running instance; moving the clock runs the due work at once, so
/// what the move purges is gone when the command returns. The answer is what `vaultlink clock`
/// prints.
pub(crate) fn run(app: &App, op: ClockOp) -> anyhow::Result<Value> {
    let now = app.now();
    let target = match op {
        ClockOp::Show => None,
        ClockOp::Advance { seconds } => Some(now.checked_add(seconds).unwrap_or(i64::MAX)),
        ClockOp::Set { unix } => Some(unix),
    };
    if let Some(target) = target {
        if target < now {
            anyhow::bail!(
                "the clock only moves forward: {} is before the engine's time {}",
                rfc3339(target),
                rfc3339(now)
            );
        }
        if target > LATEST {
            anyhow::bail!("{} is past the clock's range (9999-12-31T23:59:59Z)", rfc3339(LATEST));
        }
        app.clock.advance(target - now);
        tracing::info!(now = %rfc3339(app.now()), offset_seconds = app.clock.offset(), "the engine's clock moved");
        due_work(app)?;
    }
    Ok(json!({"now": rfc3339(app.now()), "offsetSeconds": app.clock.offset()}))
}

/// What Key Vault does by itself as time passes (`kv::due_work`): purges what soft delete kept
/// past its retention, rotates keys and renews certificates whose policies say so.
///
/// The walk over every vault's objects runs first on a read snapshot, where it holds up no
/// writer; only when it finds something due does it run again as a write (against the newest
/// state, so what it does is validated as any write is). Most ticks find nothing.
pub(crate) fn due_work(app: &App) -> anyhow::Result<()> {
    use vaultlink_core::kv::{DueWork, due_work};
    let anything_due = app.engine.read(|s| {
        let mut dry = vaultlink_core::Batch::default();
        due_work(s, &mut dry, &app.sealer) != DueWork::default()
    });
    if !anything_due {
        return Ok(());
    }
    let done = app.engine.write(|s, b| Ok::<_, vaultlink_core::Error>(due_work(s, b, &app.sealer)))?;
    if done != DueWork::default() {
        tracing::info!(purged = done.purged, rotated = done.rotated, renewed = done.renewed, "Key Vault's due work");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_combine_units_and_refuse_anything_else() {
        assert_eq!(parse_duration("91d"), Ok(91 * 86_400));
        assert_eq!(parse_duration("1d12h"), Ok(36 * 3_600));
        assert_eq!(parse_duration("2w3m4s"), Ok(14 * 86_400 + 184));
        for bad in ["", "0d", "91", "d", "1y", "-1d", "1.5d", "99999999999999999999d", "999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad} was taken");
        }
    }

    #[test]
    fn serve_takes_a_time_or_an_offset() {
        assert_eq!(parse_start("2027-03-01T00:00:00Z"), Ok(ClockStart::At(1_803_859_200)));
        assert_eq!(parse_start("+91d"), Ok(ClockStart::Ahead(91 * 86_400)));
        assert!(parse_start("2027-03-01").is_err());
        assert!(parse_start("+").is_err());
        assert!(parse_time("1969-12-31T23:59:59Z").is_err());
    }
}
