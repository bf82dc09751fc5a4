//! Authorization vocabulary: access-policy permission names as Azure accepts them.

use crate::error::{Error, Result};

/// Permissions an access policy may grant, per object kind (Key Vault management API enums).
pub const KEY_PERMISSIONS: &[&str] = &[
    "all",
    "encrypt",
    "decrypt",
    "wrapKey",
    "unwrapKey",
    "sign",
    "verify",
    "get",
    "list",
    "create",
    "update",
    "import",
    "delete",
    "backup",
    "restore",
    "recover",
    "purge",
    "release",
    "rotate",
    "getrotationpolicy",
    "setrotationpolicy",
];
pub const SECRET_PERMISSIONS: &[&str] =
    &["all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"];
pub const CERTIFICATE_PERMISSIONS: &[&str] = &[
    "all",
    "get",
    "list",
    "delete",
    "create",
    "import",
    "update",
    "managecontacts",
    "getissuers",
    "listissuers",
    "setissuers",
    "deleteissuers",
    "manageissuers",
    "recover",
    "purge",
    "backup",
    "restore",
];
pub const STORAGE_PERMISSIONS: &[&str] = &[
    "all",
    "get",
    "list",
    "delete",
    "set",
    "update",
    "regeneratekey",
    "recover",
    "purge",
    "backup",
    "restore",
    "setsas",
    "listsas",
    "getsas",
    "deletesas",
];

/// Checks and canonicalises a permission list (case-insensitive, Azure's spelling, no duplicates).
pub fn normalise_permissions(kind: &str, given: Vec<String>) -> Result<Vec<String>> {
    let allowed = match kind {
        "keys" => KEY_PERMISSIONS,
        "secrets" => SECRET_PERMISSIONS,
        "certificates" => CERTIFICATE_PERMISSIONS,
        _ => STORAGE_PERMISSIONS,
    };
    let mut out: Vec<String> = Vec::new();
    for p in given {
        let Some(canon) = allowed.iter().find(|a| a.eq_ignore_ascii_case(&p)) else {
            return Err(Error::bad_request(
                "BadRequest",
                format!("The permission '{p}' is not valid for {kind}. Valid values: {}.", allowed.join(", ")),
            ));
        };
        if !out.iter().any(|o| o == canon) {
            out.push(canon.to_string());
        }
    }
    Ok(out)
}
