//! The core's one error type: every refusal carries Azure's error code and message.
//!
//! Its `Kind` is the kind of refusal; each surface maps kinds to its status codes in one
//! exhaustive match (ARM: `vaultlink::arm::error`, the data plane: `vaultlink::dataplane::error`,
//! Graph: `vaultlink::graph::error`).

/// What kind of refusal an error is; each surface maps kinds to its status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The input is wrong (400).
    BadRequest,
    /// The caller is not authenticated (401).
    Unauthorized,
    /// The caller is not allowed (403).
    Forbidden,
    /// The target does not exist (404).
    NotFound,
    /// The target's state forbids the operation (409).
    Conflict,
    /// An `If-Match` / `If-None-Match` precondition failed (412).
    PreconditionFailed,
    /// Past a service limit (429).
    TooManyRequests,
    /// vaultlink itself failed (500); the detail is logged, never sent.
    Internal,
    /// The state database cannot take writes for now (503, with `Retry-After`); the detail is
    /// logged, never sent.
    Unavailable,
}

/// A refusal or failure from a core operation: Azure's error code and message, and for the Key
/// Vault data plane its inner code (`{"error":{"code","message","innererror":{"code"}}}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub kind: Kind,
    pub code: String,
    /// The message; for `Internal`, the detail for the log.
    pub message: String,
    pub inner: Option<String>,
}

impl Error {
    pub fn new(kind: Kind, code: &str, message: impl Into<String>) -> Self {
        Self { kind, code: code.into(), message: message.into(), inner: None }
    }
    pub fn with_inner(mut self, inner: &str) -> Self {
        self.inner = Some(inner.into());
        self
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, code, message)
    }
    /// Key Vault's 400 for a bad input: `BadParameter`.
    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, "BadParameter", message)
    }
    pub fn unauthorized(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthorized, code, message)
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, code, message)
    }
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, code, message)
    }
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, code, message)
    }
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::new(Kind::PreconditionFailed, "PreconditionFailed", message)
    }
    /// vaultlink's own failure, with the detail for the log.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(Kind::Internal, "InternalServerError", detail)
    }
    /// The state database is out of reach (503 `ServiceUnavailable`), with the detail for the log.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, "ServiceUnavailable", detail)
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
        &self.code
    }
}

impl From<vaultlink_rules::NameError> for Error {
    fn from(e: vaultlink_rules::NameError) -> Self {
        Error::bad_request(e.code, e.message)
    }
}

impl From<vaultlink_store::StoreError> for Error {
    fn from(e: vaultlink_store::StoreError) -> Self {
        match e {
            vaultlink_store::StoreError::Unavailable(_) => Error::unavailable(e.to_string()),
            e => Error::internal(e.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
