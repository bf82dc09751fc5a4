//! The Key Vault data plane: its shared rules here (api-versions, its error shape, authorization
//! of an operation by RBAC or access policies, throttling), and one module per object kind over
//! the lifecycle they share (`objects`).

mod admit;
pub mod certificates;
pub mod keys;
pub mod objects;
mod operation;
pub mod secrets;
mod throttle;

pub use admit::{Admitted, Ask, admit, authorize, refuse_unserved, vault_not_found};
pub use operation::{CertificateOp, DeletedOp, KeyOp, Operation, Permission, SecretOp};
pub use throttle::{Throttle, TxClass};

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

/// Checks the `api-version` query parameter (mandatory; "there is no default").
pub fn check_api_version(v: Option<&str>) -> Result<(), crate::Error> {
    match v {
        None | Some("") => Err(crate::Error::bad_parameter(
            "The request is missing the api-version query parameter. There is no default api-version; specify one, e.g. api-version=2026-04-01.",
        )),
        Some(v) if API_VERSIONS.contains(&v) => Ok(()),
        Some(v) => Err(crate::Error::bad_parameter(format!(
            "The specified version ({v}) is not recognized. Consider using the latest supported version (2026-04-01)."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_is_mandatory_and_known() {
        assert!(check_api_version(Some("7.4")).is_ok());
        assert!(check_api_version(Some("2026-04-01")).is_ok());
        assert_eq!(check_api_version(None).unwrap_err().code, "BadParameter");
        assert!(check_api_version(Some("9.9")).is_err());
    }
}
