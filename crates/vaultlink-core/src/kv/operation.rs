//! Every Key Vault data-plane operation as a value: what it needs (its RBAC data action and its
//! access-policy permission), which of Key Vault's throttling budgets it spends, and whether it
//! only reads. The surface turns a request into one of these; `admit` checks it; nothing else
//! decides these three facts.

use super::throttle::TxClass;

/// What an operation needs: its RBAC data action and its access-policy permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub data_action: &'static str,
    /// (`secrets` | `keys` | `certificates`, permission)
    pub policy: (&'static str, &'static str),
}

/// The operations on deleted objects, the same for every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedOp {
    List,
    Get,
    Recover,
    Purge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretOp {
    List,
    ListVersions,
    Get,
    Set,
    Update,
    Delete,
    Backup,
    Restore,
    Deleted(DeletedOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOp {
    List,
    ListVersions,
    Get,
    Create,
    Import,
    Rotate,
    Update,
    Delete,
    Backup,
    Restore,
    GetRotationPolicy,
    SetRotationPolicy,
    Sign,
    Verify,
    Encrypt,
    Decrypt,
    WrapKey,
    UnwrapKey,
    Deleted(DeletedOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateOp {
    List,
    ListVersions,
    Get,
    Create,
    Import,
    Update,
    Delete,
    Backup,
    Restore,
    GetPolicy,
    UpdatePolicy,
    GetPending,
    /// `PATCH .../pending` (a cancellation request).
    UpdatePending,
    DeletePending,
    Merge,
    GetContacts,
    SetContacts,
    DeleteContacts,
    ListIssuers,
    GetIssuer,
    /// `PUT` or `PATCH` of an issuer.
    SetIssuer,
    DeleteIssuer,
    Deleted(DeletedOp),
}

/// One data-plane operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Secret(SecretOp),
    Key(KeyOp),
    Certificate(CertificateOp),
}

const fn secret(data_action: &'static str, policy: &'static str) -> Permission {
    Permission { data_action, policy: ("secrets", policy) }
}
const fn key(data_action: &'static str, policy: &'static str) -> Permission {
    Permission { data_action, policy: ("keys", policy) }
}
const fn certificate(data_action: &'static str, policy: &'static str) -> Permission {
    Permission { data_action, policy: ("certificates", policy) }
}

impl Operation {
    /// What the caller needs (keyvault-rbac.md §2c).
    pub fn permission(self) -> Permission {
        use {CertificateOp as C, DeletedOp as D, KeyOp as K, SecretOp as S};
        match self {
            Operation::Secret(op) => match op {
                S::Get => secret("Microsoft.KeyVault/vaults/secrets/getSecret/action", "get"),
                S::List | S::ListVersions | S::Deleted(D::List) => {
                    secret("Microsoft.KeyVault/vaults/secrets/readMetadata/action", "list")
                }
                S::Deleted(D::Get) => secret("Microsoft.KeyVault/vaults/secrets/readMetadata/action", "get"),
                S::Set => secret("Microsoft.KeyVault/vaults/secrets/setSecret/action", "set"),
                S::Update => secret("Microsoft.KeyVault/vaults/secrets/update/action", "set"),
                S::Delete => secret("Microsoft.KeyVault/vaults/secrets/delete", "delete"),
                S::Backup => secret("Microsoft.KeyVault/vaults/secrets/backup/action", "backup"),
                S::Restore => secret("Microsoft.KeyVault/vaults/secrets/restore/action", "restore"),
                S::Deleted(D::Recover) => secret("Microsoft.KeyVault/vaults/secrets/recover/action", "recover"),
                S::Deleted(D::Purge) => secret("Microsoft.KeyVault/vaults/secrets/purge/action", "purge"),
            },
            Operation::Key(op) => match op {
                K::Get | K::Deleted(D::Get) => key("Microsoft.KeyVault/vaults/keys/read", "get"),
                K::List | K::ListVersions | K::Deleted(D::List) => key("Microsoft.KeyVault/vaults/keys/read", "list"),
                K::Create => key("Microsoft.KeyVault/vaults/keys/create/action", "create"),
                K::Import => key("Microsoft.KeyVault/vaults/keys/import/action", "import"),
                K::Rotate => key("Microsoft.KeyVault/vaults/keys/rotate/action", "rotate"),
                K::Update => key("Microsoft.KeyVault/vaults/keys/update/action", "update"),
                K::Delete => key("Microsoft.KeyVault/vaults/keys/delete", "delete"),
                K::Backup => key("Microsoft.KeyVault/vaults/keys/backup/action", "backup"),
                K::Restore => key("Microsoft.KeyVault/vaults/keys/restore/action", "restore"),
                K::Deleted(D::Recover) => key("Microsoft.KeyVault/vaults/keys/recover/action", "recover"),
                K::Deleted(D::Purge) => key("Microsoft.KeyVault/vaults/keys/purge/action", "purge"),
                K::Encrypt => key("Microsoft.KeyVault/vaults/keys/encrypt/action", "encrypt"),
                K::Decrypt => key("Microsoft.KeyVault/vaults/keys/decrypt/action", "decrypt"),
                K::Sign => key("Microsoft.KeyVault/vaults/keys/sign/action", "sign"),
                K::Verify => key("Microsoft.KeyVault/vaults/keys/verify/action", "verify"),
                K::WrapKey => key("Microsoft.KeyVault/vaults/keys/wrap/action", "wrapKey"),
                K::UnwrapKey => key("Microsoft.KeyVault/vaults/keys/unwrap/action", "unwrapKey"),
                K::GetRotationPolicy => key("Microsoft.KeyVault/vaults/keyrotationpolicies/read", "getrotationpolicy"),
                K::SetRotationPolicy => key("Microsoft.KeyVault/vaults/keyrotationpolicies/write", "setrotationpolicy"),
            },
            Operation::Certificate(op) => match op {
                C::Get | C::GetPolicy | C::GetPending | C::Deleted(D::Get) => {
                    certificate("Microsoft.KeyVault/vaults/certificates/read", "get")
                }
                C::List | C::ListVersions | C::Deleted(D::List) => {
                    certificate("Microsoft.KeyVault/vaults/certificates/read", "list")
                }
                C::Create | C::Merge => certificate("Microsoft.KeyVault/vaults/certificates/create/action", "create"),
                C::Import => certificate("Microsoft.KeyVault/vaults/certificates/import/action", "import"),
                C::Update | C::UpdatePolicy | C::UpdatePending | C::DeletePending => {
                    certificate("Microsoft.KeyVault/vaults/certificates/update/action", "update")
                }
                C::Delete => certificate("Microsoft.KeyVault/vaults/certificates/delete", "delete"),
                C::Backup => certificate("Microsoft.KeyVault/vaults/certificates/backup/action", "backup"),
                C::Restore => certificate("Microsoft.KeyVault/vaults/certificates/restore/action", "restore"),
                C::Deleted(D::Recover) => {
                    certificate("Microsoft.KeyVault/vaults/certificates/recover/action", "recover")
                }
                C::Deleted(D::Purge) => certificate("Microsoft.KeyVault/vaults/certificates/purge/action", "purge"),
                C::GetContacts | C::SetContacts | C::DeleteContacts => {
                    certificate("Microsoft.KeyVault/vaults/certificatecontacts/write", "managecontacts")
                }
                C::GetIssuer => certificate("Microsoft.KeyVault/vaults/certificatecas/read", "getissuers"),
                C::ListIssuers => certificate("Microsoft.KeyVault/vaults/certificatecas/read", "listissuers"),
                C::SetIssuer => certificate("Microsoft.KeyVault/vaults/certificatecas/write", "setissuers"),
                C::DeleteIssuer => certificate("Microsoft.KeyVault/vaults/certificatecas/delete", "deleteissuers"),
            },
        }
    }

    /// A second permission that also allows the operation: `manageissuers` covers every issuer
    /// operation under access policies (under RBAC it names the same data action). A refusal names
    /// the first.
    pub fn alternative(self) -> Option<Permission> {
        use CertificateOp as C;
        match self {
            Operation::Certificate(C::GetIssuer | C::ListIssuers | C::SetIssuer | C::DeleteIssuer) => {
                Some(certificate(self.permission().data_action, "manageissuers"))
            }
            _ => None,
        }
    }

    /// The budget it spends (azure-behaviour.md §5.4): CREATE secret and CREATE/IMPORT key, and
    /// IMPORT certificate, share the create budget.
    pub fn class(self) -> TxClass {
        match self {
            Operation::Secret(SecretOp::Set)
            | Operation::Key(KeyOp::Create | KeyOp::Import)
            | Operation::Certificate(CertificateOp::Import) => TxClass::Create,
            _ => TxClass::Other,
        }
    }

    /// Whether it only reads the state: every read, and a key's cryptographic operations, which
    /// use a stored key and store nothing.
    pub fn only_reads(self) -> bool {
        use {CertificateOp as C, DeletedOp as D, KeyOp as K, SecretOp as S};
        match self {
            Operation::Secret(op) => {
                matches!(op, S::List | S::ListVersions | S::Get | S::Backup | S::Deleted(D::List | D::Get))
            }
            Operation::Key(op) => matches!(
                op,
                K::List
                    | K::ListVersions
                    | K::Get
                    | K::Backup
                    | K::GetRotationPolicy
                    | K::Sign
                    | K::Verify
                    | K::Encrypt
                    | K::Decrypt
                    | K::WrapKey
                    | K::UnwrapKey
                    | K::Deleted(D::List | D::Get)
            ),
            Operation::Certificate(op) => matches!(
                op,
                C::List
                    | C::ListVersions
                    | C::Get
                    | C::Backup
                    | C::GetPolicy
                    | C::GetPending
                    | C::GetContacts
                    | C::ListIssuers
                    | C::GetIssuer
                    | C::Deleted(D::List | D::Get)
            ),
        }
    }

    /// Whether it is quick however it is asked: every read, and every operation on a secret
    /// (a key's or certificate's writes may generate key material, which takes long).
    pub fn quick(self) -> bool {
        matches!(self, Operation::Secret(_)) || self.only_reads()
    }

    /// Whether it is authorized on the object it names (RBAC assignments at the object's scope
    /// count) rather than on the vault: everything but lists, restores, contacts and issuers.
    pub fn object_scoped(self) -> bool {
        use {CertificateOp as C, DeletedOp as D, KeyOp as K, SecretOp as S};
        !matches!(
            self,
            Operation::Secret(S::List | S::Restore | S::Deleted(D::List))
                | Operation::Key(K::List | K::Restore | K::Deleted(D::List))
                | Operation::Certificate(
                    C::List
                        | C::Restore
                        | C::Deleted(D::List)
                        | C::GetContacts
                        | C::SetContacts
                        | C::DeleteContacts
                        | C::ListIssuers
                        | C::GetIssuer
                        | C::SetIssuer
                        | C::DeleteIssuer
                )
        )
    }
}
