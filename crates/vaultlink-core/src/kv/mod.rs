//! The Key Vault data plane: its shared rules here (api-versions, its error shape, authorization
//! of an operation by RBAC or access policies, throttling), and one module per object kind over
//! the lifecycle they share (`objects`).

pub mod certificates;
pub mod keys;
pub mod objects;
pub mod secrets;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::firewall::caller_string;
use crate::identity::Caller;
use crate::model::Vault;
use crate::{State, rbac};

/// The data-plane api-versions vaultlink serves (the SDKs' 7.x line through 2026-04-01).
pub const API_VERSIONS: &[&str] = &[
    "2016-10-01",
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    "7.5",
    "7.6-preview.1",
    "7.6-preview.2",
    "7.6",
    "2025-06-01-preview",
    "2025-07-01",
    "2026-01-01-preview",
    "2026-03-01-preview",
    "2026-04-01",
];

/// How a refusal maps to HTTP, decided by the surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    TooManyRequests,
    Internal,
}

/// A data-plane error: `{"error":{"code","message","innererror":{"code"}}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct KvError {
    pub kind: Kind,
    pub code: String,
    pub message: String,
    pub inner: Option<String>,
}

impl KvError {
    pub fn new(kind: Kind, code: &str, message: impl Into<String>) -> Self {
        Self { kind, code: code.into(), message: message.into(), inner: None }
    }
    pub fn with_inner(mut self, inner: &str) -> Self {
        self.inner = Some(inner.into());
        self
    }
    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, "BadParameter", message)
    }
}

impl From<crate::Error> for KvError {
    fn from(e: crate::Error) -> Self {
        use crate::Error as E;
        match e {
            E::BadRequest { code, message } => KvError::new(Kind::BadRequest, &code, message),
            E::NotFound { code, message } => KvError::new(Kind::NotFound, &code, message),
            E::Conflict { code, message } | E::PreconditionFailed { code, message } => {
                KvError::new(Kind::Conflict, &code, message)
            }
            E::Forbidden { code, message } => KvError::new(Kind::Forbidden, &code, message),
            E::Unauthorized { code, message } => KvError::new(Kind::Unauthorized, &code, message),
            E::Internal(m) => KvError::new(Kind::Internal, "InternalServerError", m),
        }
    }
}

/// Checks the `api-version` query parameter (mandatory; "there is no default").
pub fn check_api_version(v: Option<&str>) -> Result<(), KvError> {
    match v {
        None | Some("") => Err(KvError::bad_parameter(
            "The request is missing the api-version query parameter. There is no default api-version; specify one, e.g. api-version=2026-04-01.",
        )),
        Some(v) if API_VERSIONS.contains(&v) => Ok(()),
        Some(v) => Err(KvError::bad_parameter(format!(
            "The specified version ({v}) is not recognized. Consider using the latest supported version (2026-04-01)."
        ))),
    }
}

/// What an operation needs: its RBAC data action and its access-policy permission.
#[derive(Debug, Clone, Copy)]
pub struct Permission {
    pub data_action: &'static str,
    /// (`secrets` | `keys` | `certificates`, permission)
    pub policy: (&'static str, &'static str),
}

/// Authorizes `caller` for `perm` on the vault (object-scoped when `object` names one), as the
/// vault's permission model says. Azure's 403 otherwise.
pub fn authorize(
    state: &State,
    vault: &Vault,
    caller: &Caller,
    perm: Permission,
    object: Option<&str>,
) -> Result<(), KvError> {
    if vault.enable_rbac_authorization {
        let resource = match object {
            Some(o) => format!("{}/{}/{}", vault.id, perm.policy.0, o).to_ascii_lowercase(),
            None => vault.id.to_ascii_lowercase(),
        };
        if rbac::has_data_action(state, &caller.object_id, &resource, perm.data_action) {
            return Ok(());
        }
        return Err(KvError::new(
            Kind::Forbidden,
            "Forbidden",
            format!(
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: {}\r\nAction: '{}'\r\nResource: '{resource}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: {};location={}\r\n",
                caller_string(caller),
                perm.data_action,
                vault.name,
                vault.location
            ),
        )
        .with_inner("ForbiddenByRbac"));
    }
    let (kind, wanted) = perm.policy;
    let allowed = vault.access_policies.iter().any(|p| {
        p.tenant_id.eq_ignore_ascii_case(&caller.tenant_id)
            && p.object_id.eq_ignore_ascii_case(&caller.object_id)
            && p.application_id.as_deref().is_none_or(|a| a.eq_ignore_ascii_case(&caller.app_id))
            && match kind {
                "keys" => &p.keys,
                "secrets" => &p.secrets,
                "certificates" => &p.certificates,
                _ => &p.storage,
            }
            .iter()
            .any(|x| x.eq_ignore_ascii_case(wanted) || x.eq_ignore_ascii_case("all"))
    });
    if allowed {
        return Ok(());
    }
    Err(KvError::new(
        Kind::Forbidden,
        "Forbidden",
        format!(
            "The user, group or application '{}' does not have {kind} {wanted} permission on key vault '{};location={}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
            caller_string(caller),
            vault.name,
            vault.location
        ),
    )
    .with_inner("AccessDenied"))
}

/// The subscription a vault belongs to (backups are bound to it).
pub fn subscription_of(vault: &Vault) -> String {
    vault.id.split('/').nth(2).unwrap_or_default().to_string()
}

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
    pub fn admit(&self, vault_id: &str, class: TxClass) -> Result<(), KvError> {
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
            return Err(KvError::new(
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

    #[test]
    fn api_version_is_mandatory_and_known() {
        assert!(check_api_version(Some("7.4")).is_ok());
        assert!(check_api_version(Some("2026-04-01")).is_ok());
        assert_eq!(check_api_version(None).unwrap_err().code, "BadParameter");
        assert!(check_api_version(Some("9.9")).is_err());
    }
}
