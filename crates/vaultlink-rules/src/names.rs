//! Azure name rules: key vaults, resource groups, Microsoft.Network resources, private DNS zones
//! and record sets, Key Vault objects (secrets, keys, certificates), and GUIDs.
//!
//! Sources: ARM naming rules (learn.microsoft.com `azure-resource-manager/management/resource-name-rules`),
//! the OpenAPI path parameters (`vaultName` `^[a-zA-Z0-9-]{3,24}$`, `resourceGroupName`
//! `^[-\w\._\(\)]+$` 1–90, data-plane `secret-name`/`key-name`/`certificate-name` `^[0-9a-zA-Z-]+$`),
//! and error bodies observed from the live services (cited per function).

use crate::NameError;

/// Key Vault resource provider code for a bad vault name. \[KV-CEC\]
pub const VAULT_NAME_NOT_VALID: &str = "VaultNameNotValid";
/// ARM code for a bad resource-group name (seen from `az group show -g '""'`, Azure/azure-cli#14481).
pub const INVALID_RESOURCE_GROUP: &str = "InvalidResourceGroup";
/// Network resource provider (NRP) code for a bad resource name.
pub const INVALID_RESOURCE_NAME: &str = "InvalidResourceName";
/// Generic 400 code; the private DNS RP uses it for bad zone names.
pub const BAD_REQUEST: &str = "BadRequest";
/// Key Vault data-plane code for a malformed request value, including object names.
pub const BAD_PARAMETER: &str = "BadParameter";

/// Validates a key vault name (`Microsoft.KeyVault/vaults`).
///
/// Rule (\[NAMES\], \[KV-OBJ\]): 3–24 characters, ASCII letters, digits and hyphens, starts with a
/// letter, ends with a letter or digit, no consecutive hyphens. The ARM path pattern is only
/// `^[a-zA-Z0-9-]{3,24}$`; the resource provider enforces the rest.
///
/// Error: `VaultNameNotValid` with Azure's verbatim message (observed in deployment errors, e.g.
/// OfficeDev/microsoft-teams-apps-newemployeeonboarding#28, Azure/AI-in-a-Box#104):
/// "The vault name '{n}' is invalid. A vault's name must be between 3-24 alphanumeric characters.
/// The name must begin with a letter, end with a letter or digit, and not contain consecutive
/// hyphens. Follow this link for more information: `https://go.microsoft.com/fwlink/?linkid=2147742`"
pub fn vault_name(s: &str) -> Result<(), NameError> {
    let b = s.as_bytes();
    let ok = (3..=24).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0].is_ascii_alphabetic()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !s.contains("--");
    if ok {
        return Ok(());
    }
    Err(NameError::new(
        VAULT_NAME_NOT_VALID,
        format!(
            "The vault name '{s}' is invalid. A vault's name must be between 3-24 alphanumeric \
             characters. The name must begin with a letter, end with a letter or digit, and not \
             contain consecutive hyphens. Follow this link for more information: \
             https://go.microsoft.com/fwlink/?linkid=2147742"
        ),
    ))
}

/// Validates a resource group name.
///
/// Rule (ARM `ResourceGroupNameParameter`: pattern `^[-\w\._\(\)]+$`, 1–90; \[NAMES\]): letters and
/// digits (Unicode ones included, as .NET `\w`/`Char.IsLetterOrDigit`), `_`, `-`, `.`, `(`, `)`;
/// 1–90 characters (counted in UTF-16 units, as .NET does); must not end with a period.
///
/// Error code `InvalidResourceGroup`. For bad characters the message is Azure's verbatim
/// (Azure/azure-cli#14481, microsoft/microsoft-foundry-for-vscode#53): "The provided resource
/// group name '{n}' has these invalid characters: '{chars}'. The name can only be a letter, digit,
/// '-', '.', '(', ')' or '_'." where `{chars}` lists every offending character in order. The
/// length and trailing-period messages are vaultlink's wording.
pub fn resource_group_name(s: &str) -> Result<(), NameError> {
    let invalid: String = s.chars().filter(|c| !resource_group_char(*c)).collect();
    if !invalid.is_empty() {
        return Err(NameError::new(
            INVALID_RESOURCE_GROUP,
            format!(
                "The provided resource group name '{s}' has these invalid characters: \
                 '{invalid}'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'."
            ),
        ));
    }
    let len = s.encode_utf16().count();
    if !(1..=90).contains(&len) {
        return Err(NameError::new(
            INVALID_RESOURCE_GROUP,
            // message: vaultlink's wording (Azure's unknown)
            format!(
                "The provided resource group name '{s}' is invalid. The name must be between 1 \
                 and 90 characters long."
            ),
        ));
    }
    if s.ends_with('.') {
        return Err(NameError::new(
            INVALID_RESOURCE_GROUP,
            // message: vaultlink's wording (Azure's unknown)
            format!(
                "The provided resource group name '{s}' is invalid. The name cannot end with a \
                 period."
            ),
        ));
    }
    Ok(())
}

/// Validates the name of a Microsoft.Network resource: virtual networks, subnets, network
/// interfaces, private endpoints, private DNS zone groups, virtual network links.
///
/// Rule (NRP, \[NAMES\]): 1–80 characters; ASCII letters, digits, `_`, `.`, `-`; begins with a letter
/// or digit; ends with a letter, digit or `_`. (The naming docs give 2–64 for `virtualNetworks`,
/// but NRP's own error text says "up to 80"; vaultlink follows NRP.)
///
/// Error: `InvalidResourceName` with Azure's verbatim message (rh-mobb/documentation#204):
/// "Resource name {n} is invalid. The name can be up to 80 characters long. It must begin with a
/// word character, and it must end with a word character or with '_'. The name may contain word
/// characters or '.', '-', '_'."
pub fn network_resource_name(s: &str) -> Result<(), NameError> {
    let b = s.as_bytes();
    let ok = (1..=80).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        && b[0].is_ascii_alphanumeric()
        && (b[b.len() - 1].is_ascii_alphanumeric() || b[b.len() - 1] == b'_');
    if ok {
        return Ok(());
    }
    Err(NameError::new(
        INVALID_RESOURCE_NAME,
        format!(
            "Resource name {s} is invalid. The name can be up to 80 characters long. It must \
             begin with a word character, and it must end with a word character or with '_'. \
             The name may contain word characters or '.', '-', '_'."
        ),
    ))
}

/// Validates a private DNS zone name (`Microsoft.Network/privateDnsZones`).
///
/// Rule (\[NAMES\]; \[DNS-PZ\] Restrictions): 2 to 34 labels separated by periods; each label 1–63
/// characters of ASCII letters, digits, `_` and `-`; at most 253 characters overall. Reserved
/// names (`azure.com`, `windows.net`, …) are not checked here.
///
/// Error code `BadRequest`. Too few labels gives Azure's verbatim message
/// (crossplane-contrib/provider-upjet-azure#19): "The zone name '{n}' does not have enough labels.
/// Zone names must have two or more labels." The other messages are vaultlink's wording.
pub fn private_dns_zone_name(s: &str) -> Result<(), NameError> {
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 {
        return Err(NameError::new(
            BAD_REQUEST,
            format!(
                "The zone name '{s}' does not have enough labels. Zone names must have two or \
                 more labels."
            ),
        ));
    }
    if labels.len() > 34 {
        return Err(NameError::new(
            BAD_REQUEST,
            // message: vaultlink's wording (Azure's unknown)
            format!("The zone name '{s}' has too many labels. Zone names must have 34 or fewer labels."),
        ));
    }
    if s.len() > 253 {
        return Err(NameError::new(
            BAD_REQUEST,
            // message: vaultlink's wording (Azure's unknown)
            format!("The zone name '{s}' is too long. Zone names must be at most 253 characters."),
        ));
    }
    if labels.iter().any(|l| !dns_label(l)) {
        return Err(NameError::new(
            BAD_REQUEST,
            // message: vaultlink's wording (Azure's unknown)
            format!(
                "The zone name '{s}' is invalid. Each label must be 1-63 characters long and \
                 contain only letters, digits, underscores and hyphens."
            ),
        ));
    }
    Ok(())
}

/// Validates a record set's relative name inside a private DNS zone (the `{relativeRecordSetName}`
/// path segment, e.g. `kvemu1`, `@`, `*.app`, `_sip._tcp`).
///
/// Rule (DNS label syntax as Azure DNS applies it): either `@` (the zone apex) or labels separated
/// by periods, each 1–63 characters of ASCII letters, digits, `_` and `-`; the first label may
/// instead be exactly `*` (wildcard); at most 253 characters overall.
///
/// Error code `BadRequest`; the message is vaultlink's wording (Azure's unknown).
pub fn record_set_name(s: &str) -> Result<(), NameError> {
    if s == "@" {
        return Ok(());
    }
    let ok =
        !s.is_empty() && s.len() <= 253 && s.split('.').enumerate().all(|(i, l)| dns_label(l) || (i == 0 && l == "*"));
    if ok {
        return Ok(());
    }
    Err(NameError::new(
        BAD_REQUEST,
        // message: vaultlink's wording (Azure's unknown)
        format!(
            "The record set name '{s}' is invalid. Use '@' for the zone apex, or labels of 1-63 \
             letters, digits, underscores or hyphens separated by periods; the first label may be \
             '*'."
        ),
    ))
}

/// Validates a Key Vault object name (secret, key or certificate) on the data plane.
///
/// Rule (\[KV-OBJ\], \[NAMES\]; data-plane path pattern `^[0-9a-zA-Z-]+$`; ARM `keyName`
/// `^[a-zA-Z0-9-]{1,127}$`): 1–127 characters of ASCII letters, digits and hyphens.
///
/// Error: `BadParameter` with Azure's verbatim message (Azure/azure-sdk-for-rust test
/// recordings; field reports): "The request URI contains an invalid name: {n}".
pub fn object_name(s: &str) -> Result<(), NameError> {
    let ok = (1..=127).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-');
    if ok {
        return Ok(());
    }
    Err(NameError::new(BAD_PARAMETER, format!("The request URI contains an invalid name: {s}")))
}

/// True when `s` is a GUID in the hyphenated 8-4-4-4-12 hexadecimal form (either case), as used
/// for subscription ids, tenant ids and object ids. Braced or unhyphenated forms are rejected.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// One character allowed in a resource group name: .NET `\w` (letters, digits, `_`) plus `-.()`.
fn resource_group_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')')
}

/// One DNS label as Azure DNS accepts it: 1–63 ASCII letters, digits, `_` or `-`.
fn dns_label(l: &str) -> bool {
    (1..=63).contains(&l.len()) && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vault_names_valid() {
        for n in [
            "abc",
            "kvemu1",
            "my-vault",
            "A1-b2-C3",
            "kv-0123456789abcdefghijk",
            "Z99",
            "a-1",
            "abcdefghijklmnopqrstuvwx",
        ] {
            assert_eq!(vault_name(n), Ok(()), "{n}");
        }
    }

    #[test]
    fn vault_names_invalid() {
        for n in [
            "",
            "a",
            "ab",
            "1abc",
            "-abc",
            "abc-",
            "ab--c",
            "abcdefghijklmnopqrstuvwxy",
            "my_vault",
            "my.vault",
            "my vault",
            "kvé12",
            "gpt-kv-",
            "5lxi-aiagentskv",
        ] {
            let e = vault_name(n).unwrap_err();
            assert_eq!(e.code, "VaultNameNotValid");
            assert!(e.message.starts_with(&format!("The vault name '{n}' is invalid.")));
        }
    }

    #[test]
    fn vault_name_message_is_azures() {
        let e = vault_name("gpt-kv-").unwrap_err();
        assert_eq!(
            e.message,
            "The vault name 'gpt-kv-' is invalid. A vault's name must be between 3-24 \
             alphanumeric characters. The name must begin with a letter, end with a letter or \
             digit, and not contain consecutive hyphens. Follow this link for more information: \
             https://go.microsoft.com/fwlink/?linkid=2147742"
        );
    }

    #[test]
    fn resource_group_names() {
        let long90 = "a".repeat(90);
        for n in ["rg", "z", "my-rg", "My_RG.(prod)", "rg.1", "grupo-ñandú", "日本", "(x)", "-", long90.as_str()] {
            assert_eq!(resource_group_name(n), Ok(()), "{n}");
        }
        let long91 = "a".repeat(91);
        for n in ["", "rg.", "a b", "rg/x", "rg#", long91.as_str(), "x*y"] {
            let e = resource_group_name(n).unwrap_err();
            assert_eq!(e.code, "InvalidResourceGroup", "{n}");
        }
    }

    #[test]
    fn resource_group_invalid_characters_message() {
        let e = resource_group_name("Create new resource group").unwrap_err();
        assert_eq!(
            e.message,
            "The provided resource group name 'Create new resource group' has these invalid \
             characters: '   '. The name can only be a letter, digit, '-', '.', '(', ')' or '_'."
        );
    }

    #[test]
    fn network_names() {
        let long80 = format!("a{}", "b".repeat(79));
        for n in ["a", "vnet1", "snet-pe", "pe.kv_1", "name_", "A-b.c_d", "9", "testPe.nic.abcd1234", long80.as_str()] {
            assert_eq!(network_resource_name(n), Ok(()), "{n}");
        }
        let long81 = "a".repeat(81);
        for n in ["", "_a", ".a", "-a", "a-", "a.", "Allow Egress", "a/b", "né", long81.as_str()] {
            let e = network_resource_name(n).unwrap_err();
            assert_eq!(e.code, "InvalidResourceName", "{n}");
        }
        assert_eq!(
            network_resource_name("Allow Egress").unwrap_err().message,
            "Resource name Allow Egress is invalid. The name can be up to 80 characters long. It \
             must begin with a word character, and it must end with a word character or with \
             '_'. The name may contain word characters or '.', '-', '_'."
        );
    }

    #[test]
    fn zone_names() {
        for n in [
            "privatelink.vaultcore.azure.net",
            "contoso.com",
            "a.b",
            "_x.internal",
            "my-zone.local",
            "privatelink.blob.core.windows.net",
        ] {
            assert_eq!(private_dns_zone_name(n), Ok(()), "{n}");
        }
        let too_many = vec!["a"; 35].join(".");
        let label64 = format!("{}.com", "a".repeat(64));
        let too_long = vec!["abcdefghi"; 26].join(".");
        for n in [
            "",
            "contoso",
            "contoso.",
            ".contoso.com",
            "a..b",
            "a b.com",
            "a*.com",
            too_many.as_str(),
            label64.as_str(),
            too_long.as_str(),
        ] {
            assert_eq!(private_dns_zone_name(n).unwrap_err().code, "BadRequest", "{n}");
        }
        assert_eq!(
            private_dns_zone_name("platform-ref-azure").unwrap_err().message,
            "The zone name 'platform-ref-azure' does not have enough labels. Zone names must \
             have two or more labels."
        );
        assert_eq!(private_dns_zone_name(&vec!["a"; 34].join(".")), Ok(()));
    }

    #[test]
    fn record_set_names() {
        for n in ["@", "kvemu1", "www", "*", "*.app", "_sip._tcp", "a.b.c", "my-host_1"] {
            assert_eq!(record_set_name(n), Ok(()), "{n}");
        }
        let label64 = "a".repeat(64);
        for n in ["", "@.a", "a.@", "a.*", "**", "a..b", ".a", "a.", "a b", "a/b", label64.as_str()] {
            assert_eq!(record_set_name(n).unwrap_err().code, "BadRequest", "{n}");
        }
    }

    #[test]
    fn object_names() {
        let long127 = "a".repeat(127);
        for n in ["s1", "my-secret", "A", "0", "-", long127.as_str()] {
            assert_eq!(object_name(n), Ok(()), "{n}");
        }
        let long128 = "a".repeat(128);
        for n in ["", "secret_name", "a.b", "a b", "é", "a/b", long128.as_str()] {
            assert_eq!(object_name(n).unwrap_err().code, "BadParameter", "{n}");
        }
        assert_eq!(
            object_name("secret_name").unwrap_err().message,
            "The request URI contains an invalid name: secret_name"
        );
    }

    #[test]
    fn guids() {
        assert!(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(is_guid("00000000-0000-0000-0000-000000000000"));
        assert!(is_guid("ABCDEF01-2345-6789-ABCD-EF0123456789"));
        for s in [
            "",
            "72f988bf86f141af91ab2d7cd011db47",
            "{72f988bf-86f1-41af-91ab-2d7cd011db47}",
            "72f988bf-86f1-41af-91ab-2d7cd011db4",
            "72f988bf-86f1-41af-91ab-2d7cd011db477",
            "72f988bg-86f1-41af-91ab-2d7cd011db47",
            "72f988bf-86f1-41af-91ab_2d7cd011db47",
            "72f988b-f86f1-41af-91ab-2d7cd011db47",
        ] {
            assert!(!is_guid(s), "{s}");
        }
    }

    fn valid_vault_name() -> impl Strategy<Value = String> {
        "[a-zA-Z](-?[a-zA-Z0-9]){2,23}".prop_filter("at most 24 characters", |s| s.len() <= 24)
    }

    proptest! {
        #[test]
        fn generated_vault_names_pass(n in valid_vault_name()) {
            prop_assert_eq!(vault_name(&n), Ok(()));
        }

        #[test]
        fn vault_name_with_foreign_char_fails(
            head in "[a-zA-Z0-9-]{0,12}",
            bad in any::<char>().prop_filter("outside [A-Za-z0-9-]", |c| !(c.is_ascii_alphanumeric() || *c == '-')),
            tail in "[a-zA-Z0-9-]{0,12}",
        ) {
            let n = format!("{head}{bad}{tail}");
            prop_assert_eq!(vault_name(&n).unwrap_err().code, "VaultNameNotValid");
        }

        #[test]
        fn object_name_with_foreign_char_fails(
            head in "[a-zA-Z0-9-]{0,60}",
            bad in any::<char>().prop_filter("outside [A-Za-z0-9-]", |c| !(c.is_ascii_alphanumeric() || *c == '-')),
            tail in "[a-zA-Z0-9-]{0,60}",
        ) {
            let n = format!("{head}{bad}{tail}");
            prop_assert!(object_name(&n).is_err());
        }

        #[test]
        fn generated_guids_pass(a in any::<u128>(), upper in any::<bool>()) {
            let h = format!("{a:032x}");
            let g = format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]);
            let g = if upper { g.to_uppercase() } else { g };
            prop_assert!(is_guid(&g));
        }
    }
}
