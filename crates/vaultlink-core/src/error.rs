//! The core's one error type: every refusal carries Azure's error code and message.
//!
//! The variant is the *kind* of refusal; each surface maps kinds to its status codes in one
//! exhaustive match (ARM: `vaultlink::arm::error`).

/// A refusal or failure from a core operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is wrong (400).
    #[error("{code}: {message}")]
    BadRequest { code: String, message: String },
    /// The target does not exist (404).
    #[error("{code}: {message}")]
    NotFound { code: String, message: String },
    /// The target's state forbids the operation (409).
    #[error("{code}: {message}")]
    Conflict { code: String, message: String },
    /// An `If-Match` / `If-None-Match` precondition failed (412).
    #[error("{code}: {message}")]
    PreconditionFailed { code: String, message: String },
    /// The caller is not allowed (403).
    #[error("{code}: {message}")]
    Forbidden { code: String, message: String },
    /// The caller is not authenticated (401).
    #[error("{code}: {message}")]
    Unauthorized { code: String, message: String },
    /// vaultlink itself failed (500); the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Error::BadRequest { code: code.into(), message: message.into() }
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Error::NotFound { code: code.into(), message: message.into() }
    }
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Error::Conflict { code: code.into(), message: message.into() }
    }
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Error::Forbidden { code: code.into(), message: message.into() }
    }
    pub fn precondition(message: impl Into<String>) -> Self {
        Error::PreconditionFailed { code: "PreconditionFailed".into(), message: message.into() }
    }
    /// ARM's 404 for a missing resource: `ResourceNotFound`, with ARM's message.
    pub fn resource_not_found(type_name: &str, name: &str, rg: &str) -> Self {
        Error::not_found(
            "ResourceNotFound",
            format!(
                "The Resource '{type_name}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }
    /// ARM's 404 for a missing resource group.
    pub fn resource_group_not_found(rg: &str) -> Self {
        Error::not_found("ResourceGroupNotFound", format!("Resource group '{rg}' could not be found."))
    }
    /// The Azure error code, for logs and tests.
    pub fn code(&self) -> &str {
        match self {
            Error::BadRequest { code, .. }
            | Error::NotFound { code, .. }
            | Error::Conflict { code, .. }
            | Error::PreconditionFailed { code, .. }
            | Error::Forbidden { code, .. }
            | Error::Unauthorized { code, .. } => code,
            Error::Internal(_) => "InternalServerError",
        }
    }
}

impl From<vaultlink_rules::NameError> for Error {
    fn from(e: vaultlink_rules::NameError) -> Self {
        Error::BadRequest { code: e.code.to_string(), message: e.message }
    }
}

impl From<vaultlink_store::StoreError> for Error {
    fn from(e: vaultlink_store::StoreError) -> Self {
        Error::Internal(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
