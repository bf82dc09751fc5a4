//! Quotas per tenant, for a server many teams share (issue 21): how many vaults and secrets the
//! subscriptions of one tenant may hold, and how many requests its callers may make in a window.
//! Kept on the tenant's record; none is set unless the operator sets one (`vaultlink quota set`),
//! and what is set is checked by the operations that would pass it (a vault created, a secret
//! created), on the state they change. The request budget is counted in memory, per process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, State};
use crate::error::{Error, Kind, Result};
use crate::model::{Record, Vault};

/// The window the request budget is counted in (as Key Vault's own service limits are).
pub const REQUEST_WINDOW: Duration = Duration::from_secs(10);

/// What one tenant may hold and do; `None` is no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    /// Live vaults in the tenant's subscriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vaults: Option<u32>,
    /// Secrets (not versions; soft-deleted ones included, certificates' own excluded) in those
    /// vaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<u32>,
    /// Authenticated requests (Resource Manager and the Key Vault data plane) by the tenant's
    /// callers per [`REQUEST_WINDOW`], on each process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_10_seconds: Option<u32>,
}

impl Quota {
    pub fn is_unlimited(&self) -> bool {
        *self == Self::default()
    }
}

/// What a tenant holds now, against its quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub vaults: u32,
    pub secrets: u32,
}

/// The quota of the tenant `tid` (unlimited for one that does not exist).
pub fn of(state: &State, tid: &str) -> Quota {
    crate::identity::tenant(state, tid).map(|t| t.quota).unwrap_or_default()
}

/// The request budget of the tenant `tid`, read on every authenticated request (no copy).
pub fn request_limit(state: &State, tid: &str) -> Option<u32> {
    match state.get(&crate::identity::tenant_key(tid)) {
        Some(Record::Tenant(t)) => t.quota.requests_per_10_seconds,
        _ => None,
    }
}

/// Sets the quota of the tenant `tid` (an id or its domain); returns the tenant's id.
pub fn set(engine: &Engine, tenant: &str, quota: Quota) -> Result<String> {
    engine.write(|state, batch| {
        let mut record = crate::identity::tenant_named(state, tenant)
            .ok_or_else(|| Error::not_found("TenantNotFound", format!("No tenant '{tenant}' exists.")))?;
        let tid = record.tenant_id.clone();
        record.quota = quota;
        batch.put(&crate::identity::tenant_key(&tid), Record::Tenant(record));
        Ok(tid)
    })
}

/// What the tenant `tid` holds now.
pub fn usage(state: &State, tid: &str) -> Usage {
    let vaults: Vec<&Vault> = vaults_of(state, tid).collect();
    Usage { vaults: count(vaults.len()), secrets: vaults.iter().map(|v| secrets_in(state, v)).sum() }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn vaults_of<'a>(state: &'a State, tid: &'a str) -> impl Iterator<Item = &'a Vault> + 'a {
    crate::keyvault::all_vaults(state)
        .filter(move |v| crate::identity::tenant_of(state, &v.id).is_some_and(|t| t.eq_ignore_ascii_case(tid)))
}

fn secrets_in(state: &State, vault: &Vault) -> u32 {
    let secrets = state
        .descendants(&format!("{}/secrets", vault.objects_root()))
        .filter(|(_, r)| matches!(r, Record::Secret(s) if !s.managed))
        .count();
    count(secrets)
}

fn exceeded(what: &str, limit: u32, tid: &str) -> Error {
    Error::new(
        Kind::Conflict,
        "QuotaExceeded",
        format!(
            "Operation could not be completed as it results in exceeding the {what} quota of tenant '{tid}'. \
             Current Limit: {limit}. Ask the server's operator to raise it (vaultlink quota set)."
        ),
    )
}

/// Before a vault is created (or recovered) in subscription `sub`: refused when its tenant's
/// vaults are at their quota.
pub fn check_vault(state: &State, sub: &str) -> Result<()> {
    let Some(tid) = crate::identity::tenant_of(state, &format!("/subscriptions/{sub}")) else { return Ok(()) };
    let Some(limit) = of(state, &tid).vaults else { return Ok(()) };
    if count(vaults_of(state, &tid).count()) >= limit {
        return Err(exceeded("vaults", limit, &tid));
    }
    Ok(())
}

/// Before a secret is created in `vault`: refused when its tenant's secrets are at their quota.
pub fn check_secret(state: &State, vault: &Vault) -> Result<()> {
    let Some(tid) = crate::identity::tenant_of(state, &vault.id) else { return Ok(()) };
    let Some(limit) = of(state, &tid).secrets else { return Ok(()) };
    if usage(state, &tid).secrets >= limit {
        return Err(exceeded("secrets", limit, &tid));
    }
    Ok(())
}

/// The request budgets of tenants in fixed windows; a refused request is not counted.
#[derive(Default)]
pub struct Requests {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Requests {
    /// Counts one request by a caller of tenant `tid`, whose quota allows `limit` per window,
    /// or refuses it with a 429 (`Throttled`, as Key Vault's own limits answer).
    pub fn admit(&self, tid: &str, limit: Option<u32>, now: Instant) -> Result<()> {
        let Some(limit) = limit else { return Ok(()) };
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = windows.entry(tid.to_ascii_lowercase()).or_insert((now, 0));
        if now.duration_since(window.0) >= REQUEST_WINDOW {
            *window = (now, 0);
        }
        if window.1 >= limit {
            return Err(Error::new(
                Kind::TooManyRequests,
                "Throttled",
                format!(
                    "Request was not processed because too many requests were received. Reason: the request quota of tenant '{tid}' ({limit} per {} seconds) is reached.",
                    REQUEST_WINDOW.as_secs()
                ),
            ));
        }
        window.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_request_budget_refuses_past_its_limit_until_the_window_ends() {
        let r = Requests::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            r.admit("T", Some(3), t0).unwrap();
        }
        let e = r.admit("t", Some(3), t0 + Duration::from_secs(1)).unwrap_err();
        assert_eq!((e.kind, e.code.as_str()), (Kind::TooManyRequests, "Throttled"));
        assert!(e.message.contains("'t' (3 per 10 seconds)"), "{}", e.message);
        // Another tenant, and no limit, are not affected; the next window starts afresh.
        r.admit("u", Some(3), t0).unwrap();
        r.admit("t", None, t0).unwrap();
        r.admit("t", Some(3), t0 + REQUEST_WINDOW).unwrap();
    }
}
