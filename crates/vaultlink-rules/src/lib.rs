//! vaultlink-rules: Azure's pure rules (resource-name validation, IPv4 CIDR arithmetic, subnet
//! address rules and private-IP allocation) as small functions, plus the shared [`NameError`].
//!
//! Nothing here does I/O or keeps state: callers pass in what they know (existing subnets, used
//! addresses, resource ids) and get back either a value or the exact `{code, message}` pair Azure
//! answers with. Where a message is Azure's verbatim text the doc comment says so and cites where it
//! was observed; where Azure's wording is unknown the source carries the comment
//! `// message: vaultlink's wording (Azure's unknown)`.
//!
//! Bracketed source tags such as \[NAMES\], \[KV-NS\] or \[VNET-FAQ\] are the tags of
//! `shared/reference/azure-behaviour.md` §0 (Microsoft Learn pages, REST specs, SDKs); other
//! citations name the public GitHub issue or log where Azure's response was observed.

pub mod cidr;
pub mod names;

pub use cidr::{
    CidrParseError, INVALID_ADDRESS_PREFIX_FORMAT, INVALID_CIDR_NOTATION, Ipv4Cidr, NETCFG_INVALID_SUBNET,
    NETCFG_INVALID_VIRTUAL_NETWORK_SITE, NETCFG_SUBNET_RANGE_OUTSIDE_VNET, NETCFG_SUBNET_RANGES_OVERLAP,
    PRIVATE_IP_ADDRESS_IN_RESERVED_RANGE, PRIVATE_IP_ADDRESS_IS_ALLOCATED, PRIVATE_IP_ADDRESS_NOT_IN_SUBNET,
    RESERVED_AT_END, RESERVED_AT_START, RFC1918_RANGES, SUBNET_IS_FULL, SUBNET_MAX_PREFIX_LEN, SUBNET_MIN_PREFIX_LEN,
    address_prefix, is_reserved_address, is_rfc1918, keyvault_ip_rule, keyvault_ip_rule_at, next_free_address,
    overlapping_subnet, private_ip_allocated, static_address_ok, subnet_is_full, subnet_prefix_ok, usable_count,
    usable_range, vnet_address_space_ok,
};
pub use names::{
    BAD_PARAMETER, BAD_REQUEST, INVALID_RESOURCE_GROUP, INVALID_RESOURCE_NAME, VAULT_NAME_NOT_VALID, is_guid,
    network_resource_name, object_name, private_dns_zone_name, record_set_name, resource_group_name, vault_name,
};

/// A violated Azure rule: the `code` and `message` Azure returns in its error envelope
/// (`{"error":{"code":..,"message":..}}` for ARM, the same shape on the Key Vault data plane).
///
/// Every rule in this crate is answered by Azure with HTTP 400 Bad Request; the caller picks the
/// status and envelope. `Display` renders `(code) message`, the way the Azure CLI prints it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("({code}) {message}")]
pub struct NameError {
    /// Azure's error code, e.g. `VaultNameNotValid`.
    pub code: &'static str,
    /// The human-readable message.
    pub message: String,
}

impl NameError {
    /// Builds an error from a code and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::NameError;

    #[test]
    fn display_is_cli_style() {
        let e = NameError::new("BadRequest", "nope");
        assert_eq!(e.to_string(), "(BadRequest) nope");
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert_eq!(boxed.to_string(), "(BadRequest) nope");
    }
}
