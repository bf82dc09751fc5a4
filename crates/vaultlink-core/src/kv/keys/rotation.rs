//! A key's rotation policy: stored as set, with Azure's default when none was.

use serde_json::{Value, json};

use vaultlink_crypto::Sealer;

use super::store_key;
use crate::engine::{Batch, State};
use crate::error::Error;
use crate::kv::Admitted;
use crate::kv::objects::live;
use crate::model::{KeyObject, Record, Vault};

/// The policy Azure reports for a key that never had one set.
fn default_policy() -> Value {
    json!({
        "lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}],
        "attributes": {},
    })
}

fn render_policy(host: &str, name: &str, p: &Value) -> Value {
    let mut out = p.clone();
    out["id"] = json!(format!("https://{host}/keys/{name}/rotationpolicy"));
    out
}

/// `GET /keys/{name}/rotationpolicy`.
pub fn get_rotation_policy(state: &State, host: &str, vault: &Admitted, name: &str) -> Result<Value, Error> {
    let obj = live::<KeyObject>(state, vault, name)?;
    Ok(render_policy(host, &obj.name, obj.rotation_policy.as_ref().unwrap_or(&default_policy())))
}

/// `PUT /keys/{name}/rotationpolicy`: stores `lifetimeActions` and `attributes.expiryTime`, whose
/// durations must be ISO 8601 ones; a `Rotate` action is run by [`rotate_due`].
pub fn set_rotation_policy(
    state: &State,
    batch: &mut Batch,
    host: &str,
    vault: &Admitted,
    name: &str,
    body: Value,
) -> Result<Value, Error> {
    set_in(state, batch, host, vault, name, body)
}

/// [`set_rotation_policy`] in a vault whose gate the caller passed.
fn set_in(
    state: &State,
    batch: &mut Batch,
    host: &str,
    vault: &Vault,
    name: &str,
    body: Value,
) -> Result<Value, Error> {
    let mut obj = live::<KeyObject>(state, vault, name)?.clone();
    let policy = checked_policy(body, obj.rotation_policy.as_ref(), state.now())?;
    obj.rotation_policy = Some(policy.clone());
    batch.put(&store_key(vault, name), Record::Key(obj.clone()));
    Ok(render_policy(host, &obj.name, &policy))
}

/// The policy `body` sets, as stored: its `lifetimeActions` and `attributes.expiryTime` checked
/// (durations must be ISO 8601 ones), `created` kept from the `previous` policy.
pub(super) fn checked_policy(body: Value, previous: Option<&Value>, now: i64) -> Result<Value, Error> {
    let actions = body.get("lifetimeActions").cloned().unwrap_or_else(|| json!([]));
    let Some(list) = actions.as_array() else {
        return Err(Error::bad_parameter("'lifetimeActions' must be an array."));
    };
    for a in list {
        let ty = a.pointer("/action/type").and_then(Value::as_str).unwrap_or_default();
        if !ty.eq_ignore_ascii_case("rotate") && !ty.eq_ignore_ascii_case("notify") {
            return Err(Error::bad_parameter(format!("Invalid lifetime action type: '{ty}'.")));
        }
        for field in ["timeAfterCreate", "timeBeforeExpiry"] {
            check_duration(a.get("trigger").and_then(|t| t.get(field)), field)?;
        }
    }
    check_duration(body.pointer("/attributes/expiryTime"), "expiryTime")?;
    let mut attrs = json!({"created": now, "updated": now});
    if let Some(prev) = previous.and_then(|p| p.pointer("/attributes/created")) {
        attrs["created"] = prev.clone();
    }
    if let Some(e) = body.pointer("/attributes/expiryTime") {
        attrs["expiryTime"] = e.clone();
    }
    Ok(json!({"lifetimeActions": actions, "attributes": attrs}))
}

/// A present duration field must be an ISO 8601 duration (`P90D`, `P3M`, `PT48H`, `P1Y10D`).
fn check_duration(v: Option<&Value>, field: &str) -> Result<(), Error> {
    match v {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(d)) if Duration::parse(d).is_some() => Ok(()),
        Some(other) => Err(Error::bad_parameter(format!(
            "'{field}' must be an ISO 8601 duration such as P90D, P3M or PT48H; got {other}."
        ))),
    }
}

/// An ISO 8601 duration as rotation policies give them: years and months (by the calendar),
/// and a number of seconds (weeks, days, hours, minutes, seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Duration {
    months: i64,
    seconds: i64,
}

impl Duration {
    /// Parses `P[nY][nM][nW][nD][T[nH][nM][nS]]` with whole numbers and at least one part.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix('P')?;
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) if !t.is_empty() => (d, Some(t)),
            Some(_) => return None,
            None => (rest, None),
        };
        let mut d = Self { months: 0, seconds: 0 };
        let mut parts = 0;
        let mut each = |text: &str, units: &[(char, i64, bool)]| -> Option<()> {
            let mut digits = String::new();
            let mut next = 0;
            for c in text.chars() {
                if c.is_ascii_digit() {
                    digits.push(c);
                    continue;
                }
                // Units in their order, each at most once.
                let at = units[next..].iter().position(|(u, _, _)| *u == c)? + next;
                let n: i64 = digits.parse().ok().filter(|n| *n <= 100_000)?;
                let (_, size, calendar) = units[at];
                if calendar {
                    d.months += n * size;
                } else {
                    d.seconds += n * size;
                }
                digits.clear();
                next = at + 1;
                parts += 1;
            }
            digits.is_empty().then_some(())
        };
        each(date, &[('Y', 12, true), ('M', 1, true), ('W', 7 * 86_400, false), ('D', 86_400, false)])?;
        if let Some(t) = time {
            each(t, &[('H', 3_600, false), ('M', 60, false), ('S', 1, false)])?;
        }
        (parts > 0).then_some(d)
    }

    /// `t` moved forward (or back, `sign` -1) by this duration; None past the time range.
    pub(crate) fn shift(self, t: i64, sign: i64) -> Option<i64> {
        let start = time::OffsetDateTime::from_unix_timestamp(t).ok()?;
        let months = sign * self.months;
        let total = i64::from(start.year()) * 12 + i64::from(u8::from(start.month())) - 1 + months;
        let (year, month) = (i32::try_from(total.div_euclid(12)).ok()?, u8::try_from(total.rem_euclid(12) + 1).ok()?);
        let month = time::Month::try_from(month).ok()?;
        let day = start.day().min(month.length(year));
        let moved =
            start.replace_day(1).ok()?.replace_year(year).ok()?.replace_month(month).ok()?.replace_day(day).ok()?;
        moved.unix_timestamp().checked_add(sign * self.seconds)
    }
}

/// When the key's current version is due to rotate by its policy's `Rotate` actions, if ever.
fn rotation_due(obj: &KeyObject) -> Option<i64> {
    let cur = obj.versions.last()?;
    let actions = obj.rotation_policy.as_ref()?.get("lifetimeActions")?.as_array()?;
    actions
        .iter()
        .filter(|a| a.pointer("/action/type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("rotate")))
        .filter_map(|a| {
            let trigger = a.get("trigger")?;
            let duration = |field: &str| trigger.get(field).and_then(Value::as_str).and_then(Duration::parse);
            match (duration("timeAfterCreate"), duration("timeBeforeExpiry")) {
                (Some(d), _) => d.shift(cur.created, 1),
                (None, Some(d)) => d.shift(cur.exp?, -1),
                (None, None) => None,
            }
        })
        .min()
}

/// The expiry a version made now gets from the key's rotation policy (`attributes.expiryTime`).
pub(super) fn expiry_by_policy(obj: &KeyObject, now: i64) -> Option<i64> {
    let d = obj.rotation_policy.as_ref()?.pointer("/attributes/expiryTime")?.as_str()?;
    Duration::parse(d)?.shift(now, 1)
}

/// Rotates every key of `vault` whose rotation policy's `Rotate` action is due, as Key Vault
/// does by itself (once per key, however far the clock moved); returns how many. A key that
/// cannot rotate (it backs a certificate, is deleted) is left alone.
pub(crate) fn rotate_due(state: &State, batch: &mut Batch, sealer: &Sealer, vault: &Vault) -> usize {
    let t = state.now();
    let due: Vec<String> = state
        .descendants(&format!("{}/keys", vault.objects_root()))
        .filter_map(|(_, r)| match r {
            Record::Key(k) if k.deleted.is_none() && !k.managed && rotation_due(k).is_some_and(|due| due <= t) => {
                Some(k.name.clone())
            }
            _ => None,
        })
        .collect();
    due.iter().filter(|name| super::rotate_in(state, batch, sealer, vault, name).is_ok()).count()
}

#[cfg(test)]
mod duration_tests {
    use super::Duration;

    #[test]
    fn iso_durations_parse_and_shift_by_the_calendar() {
        let jan31 = 1_801_353_600; // 2027-01-31T00:00:00Z
        assert_eq!(Duration::parse("P90D").unwrap().shift(0, 1), Some(90 * 86_400));
        assert_eq!(Duration::parse("PT48H").unwrap().shift(0, 1), Some(48 * 3_600));
        assert_eq!(Duration::parse("P1Y10D").unwrap().shift(0, 1), Some(375 * 86_400));
        // A month after January 31 is the last day of February.
        assert_eq!(Duration::parse("P1M").unwrap().shift(jan31, 1), Some(jan31 + 28 * 86_400));
        assert_eq!(Duration::parse("P1M").unwrap().shift(jan31, -1), Some(jan31 - 31 * 86_400));
        for bad in ["", "P", "90D", "PT", "P1.5D", "P1D1Y", "P1DD", "P-1D", "P1H", "PT1D", "P1Dx"] {
            assert_eq!(Duration::parse(bad), None, "{bad}");
        }
    }
}
