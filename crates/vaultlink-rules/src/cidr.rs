//! IPv4 CIDR arithmetic ([`Ipv4Cidr`]) and the Azure address rules built on it: NRP address-prefix
//! syntax, VNet address spaces, subnet prefixes, Key Vault firewall IP rules, and private-IP
//! allocation inside a subnet (reserved addresses, dynamic and static assignment).
//!
//! IPv4 only: Key Vault firewall rules are IPv4-only (\[KV-NS\]) and the emulated scenarios use IPv4
//! VNets.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::NameError;

/// NRP code for an address prefix that is not CIDR notation.
pub const INVALID_ADDRESS_PREFIX_FORMAT: &str = "InvalidAddressPrefixFormat";
/// NRP code for a CIDR whose host bits are set.
pub const INVALID_CIDR_NOTATION: &str = "InvalidCIDRNotation";
/// NRP code for a subnet that lies outside its VNet's address space.
pub const NETCFG_SUBNET_RANGE_OUTSIDE_VNET: &str = "NetcfgSubnetRangeOutsideVnet";
/// NRP code for a subnet overlapping another subnet of the same VNet.
pub const NETCFG_SUBNET_RANGES_OVERLAP: &str = "NetcfgSubnetRangesOverlap";
/// NRP's generic code for an invalid subnet ("Subnet '{s}' is not valid in virtual network '{v}'.").
pub const NETCFG_INVALID_SUBNET: &str = "NetcfgInvalidSubnet";
/// NRP code for an invalid virtual network definition.
pub const NETCFG_INVALID_VIRTUAL_NETWORK_SITE: &str = "NetcfgInvalidVirtualNetworkSite";
/// NRP code when no address of the subnet is free for a dynamic allocation.
pub const SUBNET_IS_FULL: &str = "SubnetIsFull";
/// NRP code for a static private IP outside the subnet.
pub const PRIVATE_IP_ADDRESS_NOT_IN_SUBNET: &str = "PrivateIPAddressNotInSubnet";
/// NRP code for a static private IP on one of the subnet's reserved addresses.
pub const PRIVATE_IP_ADDRESS_IN_RESERVED_RANGE: &str = "PrivateIPAddressInReservedRange";
/// NRP code for a static private IP already held by another IP configuration.
pub const PRIVATE_IP_ADDRESS_IS_ALLOCATED: &str = "PrivateIPAddressIsAllocated";

/// Addresses Azure reserves at the start of every subnet: network (.0), default gateway (.1) and
/// two for Azure DNS (.2, .3). \[VNET-FAQ\]
pub const RESERVED_AT_START: u32 = 4;
/// Addresses Azure reserves at the end of every subnet: the broadcast address. \[VNET-FAQ\]
pub const RESERVED_AT_END: u32 = 1;
/// Smallest IPv4 subnet Azure allows: /29. \[VNET-FAQ\]
pub const SUBNET_MAX_PREFIX_LEN: u8 = 29;
/// Largest IPv4 subnet Azure allows: /2. \[VNET-FAQ\]
pub const SUBNET_MIN_PREFIX_LEN: u8 = 2;

/// The RFC 1918 private ranges: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16.
pub const RFC1918_RANGES: [Ipv4Cidr; 3] = [
    Ipv4Cidr { addr: Ipv4Addr::new(10, 0, 0, 0), prefix: 8 },
    Ipv4Cidr { addr: Ipv4Addr::new(172, 16, 0, 0), prefix: 12 },
    Ipv4Cidr { addr: Ipv4Addr::new(192, 168, 0, 0), prefix: 16 },
];

/// An IPv4 prefix `a.b.c.d/n`, stored as written: the address may have host bits set (Azure
/// rejects those in VNet and subnet prefixes, see [`address_prefix`], but the value can still be
/// represented and displayed). Range arithmetic always uses the masked [`network`](Self::network).
///
/// Parses from and displays as `a.b.c.d/n`; serializes as that string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    addr: Ipv4Addr,
    prefix: u8,
}

/// A string that is not an IPv4 prefix `a.b.c.d/n` with `n` in 0..=32.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not an IPv4 prefix in CIDR notation (a.b.c.d/n, n from 0 to 32)")]
pub struct CidrParseError {
    input: String,
}

impl CidrParseError {
    /// The rejected input.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl Ipv4Cidr {
    /// `addr/prefix`; fails when `prefix > 32`. Host bits in `addr` are kept.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self, CidrParseError> {
        if prefix > 32 {
            return Err(CidrParseError { input: format!("{addr}/{prefix}") });
        }
        Ok(Self { addr, prefix })
    }

    /// The single-address prefix `addr/32`.
    pub const fn host(addr: Ipv4Addr) -> Self {
        Self { addr, prefix: 32 }
    }

    /// The address as written (host bits included).
    pub const fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length `n`.
    pub const fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// The netmask, e.g. 255.255.255.0 for /24.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(mask(self.prefix))
    }

    /// The first address of the range (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.first())
    }

    /// The last address of the range (host bits set).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.last())
    }

    /// Number of addresses in the range: 2^(32-n).
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// True when the written address has bits set beyond the prefix (e.g. `10.0.0.5/24`).
    pub fn has_host_bits(&self) -> bool {
        u32::from(self.addr) != self.first()
    }

    /// The same prefix with host bits cleared (`10.0.0.5/24` → `10.0.0.0/24`).
    pub fn trunc(&self) -> Self {
        Self { addr: self.network(), prefix: self.prefix }
    }

    /// True when `addr` lies in the range.
    pub fn contains_addr(&self, addr: Ipv4Addr) -> bool {
        let a = u32::from(addr);
        self.first() <= a && a <= self.last()
    }

    /// True when every address of `other` lies in `self`.
    pub fn contains(&self, other: &Ipv4Cidr) -> bool {
        self.first() <= other.first() && other.last() <= self.last()
    }

    /// True when the two ranges share at least one address (symmetric).
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    fn first(&self) -> u32 {
        u32::from(self.addr) & mask(self.prefix)
    }

    fn last(&self) -> u32 {
        self.first() | !mask(self.prefix)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrParseError;

    /// Parses `a.b.c.d/n`: dotted-quad without leading zeros, `n` decimal 0..=32 without leading
    /// zeros or sign, no whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CidrParseError { input: s.to_owned() };
        let (a, p) = s.split_once('/').ok_or_else(err)?;
        let addr = Ipv4Addr::from_str(a).map_err(|_| err())?;
        let digits_ok = !p.is_empty()
            && p.len() <= 2
            && p.bytes().all(|c| c.is_ascii_digit())
            && !(p.len() > 1 && p.starts_with('0'));
        if !digits_ok {
            return Err(err());
        }
        let prefix: u8 = p.parse().map_err(|_| err())?;
        Self::new(addr, prefix).map_err(|_| err())
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl serde::Serialize for Ipv4Cidr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Ipv4Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(CidrVisitor)
    }
}

/// True when the prefix shares any address with an RFC 1918 private range (10.0.0.0/8,
/// 172.16.0.0/12, 192.168.0.0/16).
pub fn is_rfc1918(cidr: &Ipv4Cidr) -> bool {
    RFC1918_RANGES.iter().any(|r| r.overlaps(cidr))
}

/// Parses an address prefix sent to the network resource provider (a VNet `addressSpace` entry or
/// a subnet `addressPrefix`), for the resource `resource_id`.
///
/// Errors, both with Azure's verbatim messages:
/// - not CIDR notation → `InvalidAddressPrefixFormat`: "Address prefix {p} of resource {id} is not
///   formatted correctly. It should follow CIDR notation, for example 10.0.0.0/24." (terraform
///   provider acceptance logs; the `target` Azure sets is the resource id)
/// - host bits set → `InvalidCIDRNotation`: "The address prefix {p} in resource {id} has an invalid
///   CIDR notation. For the given prefix length, the address prefix should be {network/n}."
///   (terraform-provider-azurerm logs; Azure Networking support wiki message table)
pub fn address_prefix(s: &str, resource_id: &str) -> Result<Ipv4Cidr, NameError> {
    let cidr = Ipv4Cidr::from_str(s).map_err(|_| {
        NameError::new(
            INVALID_ADDRESS_PREFIX_FORMAT,
            format!(
                "Address prefix {s} of resource {resource_id} is not formatted correctly. It \
                 should follow CIDR notation, for example 10.0.0.0/24."
            ),
        )
    })?;
    check_cidr_notation(&cidr, resource_id)?;
    Ok(cidr)
}

/// Normalises one Key Vault firewall rule (`properties.networkAcls.ipRules[].value`) as if it were
/// entry 0 of the list; see [`keyvault_ip_rule_at`].
pub fn keyvault_ip_rule(s: &str) -> Result<Ipv4Cidr, NameError> {
    keyvault_ip_rule_at(0, s)
}

/// Normalises entry `index` of a vault's `properties.networkAcls.ipRules[].value`.
///
/// Rule (\[KV-NS\], \[SDK-KV\] IPRule): an IPv4 address or IPv4 CIDR range; a single address is
/// returned as `/32` (Azure echoes `124.56.78.91` back as `124.56.78.91/32`); a range is kept as
/// written (vaultlink does not clear host bits: Azure's behaviour there is unknown). IPv6 is not
/// supported, and ranges touching RFC 1918 private space are forbidden.
///
/// Errors, code `BadRequest` (HTTP 400):
/// - private range → Azure's verbatim message (Azure/azure-powershell#11471 and field logs):
///   "Invalid value found at properties.networkAcls.ipRules[{i}].value: {cidr} belongs to
///   forbidden range 10.0.0.0–10.255.255.255 (private IP addresses)" (en dash between the bounds;
///   the value is printed in its normalised form, e.g. `172.20.10.5/32`);
/// - IPv6 or malformed → vaultlink's wording, same prefix, naming the value.
pub fn keyvault_ip_rule_at(index: usize, s: &str) -> Result<Ipv4Cidr, NameError> {
    let at = format!("Invalid value found at properties.networkAcls.ipRules[{index}].value");
    if s.contains(':') {
        return Err(NameError::new(
            crate::names::BAD_REQUEST,
            // message: vaultlink's wording (Azure's unknown)
            format!(
                "{at}: {s} is an IPv6 address or range. Only IPv4 addresses are supported at this \
                 time."
            ),
        ));
    }
    let parsed =
        if s.contains('/') { Ipv4Cidr::from_str(s).ok() } else { Ipv4Addr::from_str(s).ok().map(Ipv4Cidr::host) };
    let Some(cidr) = parsed else {
        return Err(NameError::new(
            crate::names::BAD_REQUEST,
            // message: vaultlink's wording (Azure's unknown)
            format!(
                "{at}: {s} is not a valid IPv4 address or CIDR range (for example 124.56.78.91 or \
                 124.56.78.0/24)."
            ),
        ));
    };
    if let Some(range) = RFC1918_RANGES.iter().find(|r| r.overlaps(&cidr)) {
        return Err(NameError::new(
            crate::names::BAD_REQUEST,
            format!(
                "{at}: {cidr} belongs to forbidden range {}\u{2013}{} (private IP addresses)",
                range.network(),
                range.broadcast()
            ),
        ));
    }
    Ok(cidr)
}

/// Checks a subnet prefix `new` for subnet `subnet_name` in VNet `vnet_name`, whose address space
/// is `space` and whose other subnets are `existing` (name, prefix). An `existing` entry with the
/// subnet's own name (compared case-insensitively, as Azure names are) is ignored, so the same
/// check serves create and update. Host bits are not checked here; parse with [`address_prefix`].
///
/// Checks, in order:
/// 1. prefix length /2 to /29 (\[VNET-FAQ\]) → `NetcfgInvalidSubnet` with NRP's generic verbatim
///    message "Subnet '{s}' is not valid in virtual network '{v}'." (Azure/azure-cli#28097); that
///    Azure uses this code for the size rule is vaultlink's assumption;
/// 2. inside one of the VNet's prefixes → `NetcfgSubnetRangeOutsideVnet`, verbatim: "Subnet '{s}'
///    is not valid because its IP address range is outside the IP address range of virtual network
///    '{v}'." (MicrosoftDocs/azure-docs#123869, az CLI output);
/// 3. no overlap with another subnet → `NetcfgSubnetRangesOverlap`, verbatim: "Subnet '{s}' is not
///    valid because its IP address range overlaps with that of an existing subnet in virtual
///    network '{v}'." (Azure does not name the other subnet; see [`overlapping_subnet`]).
pub fn subnet_prefix_ok(
    space: &[Ipv4Cidr],
    existing: &[(String, Ipv4Cidr)],
    new: Ipv4Cidr,
    subnet_name: &str,
    vnet_name: &str,
) -> Result<(), NameError> {
    if !(SUBNET_MIN_PREFIX_LEN..=SUBNET_MAX_PREFIX_LEN).contains(&new.prefix_len()) {
        return Err(NameError::new(
            NETCFG_INVALID_SUBNET,
            format!("Subnet '{subnet_name}' is not valid in virtual network '{vnet_name}'."),
        ));
    }
    if !space.iter().any(|p| p.contains(&new)) {
        return Err(NameError::new(
            NETCFG_SUBNET_RANGE_OUTSIDE_VNET,
            format!(
                "Subnet '{subnet_name}' is not valid because its IP address range is outside the \
                 IP address range of virtual network '{vnet_name}'."
            ),
        ));
    }
    if overlapping_subnet(existing, subnet_name, &new).is_some() {
        return Err(NameError::new(
            NETCFG_SUBNET_RANGES_OVERLAP,
            format!(
                "Subnet '{subnet_name}' is not valid because its IP address range overlaps with \
                 that of an existing subnet in virtual network '{vnet_name}'."
            ),
        ));
    }
    Ok(())
}

/// The name of the first subnet in `existing`, other than `subnet_name` itself
/// (case-insensitive), whose prefix overlaps `new`.
pub fn overlapping_subnet<'a>(
    existing: &'a [(String, Ipv4Cidr)],
    subnet_name: &str,
    new: &Ipv4Cidr,
) -> Option<&'a str> {
    existing
        .iter()
        .find(|(name, cidr)| !name.eq_ignore_ascii_case(subnet_name) && cidr.overlaps(new))
        .map(|(name, _)| name.as_str())
}

/// Checks a VNet's `addressSpace.addressPrefixes` for the VNet `vnet_id` (its resource id; the
/// last segment is used as its name).
///
/// Rules: at least one prefix; each without host bits (→ `InvalidCIDRNotation`, Azure's verbatim
/// message as in [`address_prefix`]); no two prefixes overlapping. The empty and overlap cases use
/// code `NetcfgInvalidVirtualNetworkSite` (a real NRP code; its use here is vaultlink's
/// assumption) with vaultlink's wording.
pub fn vnet_address_space_ok(vnet_id: &str, prefixes: &[Ipv4Cidr]) -> Result<(), NameError> {
    let vnet_name = vnet_id.rsplit('/').next().unwrap_or(vnet_id);
    if prefixes.is_empty() {
        return Err(NameError::new(
            NETCFG_INVALID_VIRTUAL_NETWORK_SITE,
            // message: vaultlink's wording (Azure's unknown)
            format!(
                "Virtual network '{vnet_name}' is not valid because its address space does not \
                 contain any address prefix."
            ),
        ));
    }
    for p in prefixes {
        check_cidr_notation(p, vnet_id)?;
    }
    for (i, a) in prefixes.iter().enumerate() {
        if let Some(b) = prefixes[i + 1..].iter().find(|b| a.overlaps(b)) {
            return Err(NameError::new(
                NETCFG_INVALID_VIRTUAL_NETWORK_SITE,
                // message: vaultlink's wording (Azure's unknown)
                format!(
                    "Virtual network '{vnet_name}' is not valid because its address prefixes {a} \
                     and {b} overlap."
                ),
            ));
        }
    }
    Ok(())
}

/// The assignable addresses of a subnet, first and last inclusive: network + 4 up to broadcast − 1
/// (Azure reserves .0, .1, .2, .3 and the last address; the first assignable is .4). \[VNET-FAQ\]
///
/// For /30, /31 and /32 (sizes Azure never creates for a subnet) the range is empty and
/// the returned first address is greater than the last.
pub fn usable_range(subnet: &Ipv4Cidr) -> (Ipv4Addr, Ipv4Addr) {
    let first = subnet.first().saturating_add(RESERVED_AT_START);
    let last = subnet.last().saturating_sub(RESERVED_AT_END);
    (Ipv4Addr::from(first), Ipv4Addr::from(last))
}

/// Number of assignable addresses in a subnet (size − 5; 3 for a /29, 251 for a /24; 0 when the
/// range is empty).
pub fn usable_count(subnet: &Ipv4Cidr) -> u64 {
    let (first, last) = usable_range(subnet);
    let (first, last) = (u32::from(first), u32::from(last));
    if first > last { 0 } else { u64::from(last - first) + 1 }
}

/// True when `addr` lies in `subnet` but is one of Azure's reserved addresses there.
pub fn is_reserved_address(subnet: &Ipv4Cidr, addr: Ipv4Addr) -> bool {
    subnet.contains_addr(addr) && !in_usable_range(subnet, addr)
}

/// Azure's dynamic private-IP allocation: the lowest assignable address of `subnet` that is not in
/// `used` ("next available unreserved address", e.g. .4–.9 used ⇒ .10; \[PRIVIP\]). `None` when the
/// subnet is full; the caller answers with [`subnet_is_full`]. Addresses in `used` outside the
/// subnet are ignored.
pub fn next_free_address(subnet: &Ipv4Cidr, used: &BTreeSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    let (first, last) = usable_range(subnet);
    if first > last {
        return None;
    }
    let mut candidate = u32::from(first);
    let last = u32::from(last);
    for u in used.range(first..=Ipv4Addr::from(last)) {
        let u = u32::from(*u);
        if u == candidate {
            if candidate == last {
                return None;
            }
            candidate += 1;
        } else {
            break;
        }
    }
    Some(Ipv4Addr::from(candidate))
}

/// Checks a requested static private IP `addr` in `subnet`, where `used` holds the addresses
/// already assigned.
///
/// Errors, in order:
/// - outside the subnet → `PrivateIPAddressNotInSubnet`, verbatim: "Private static IP address {ip}
///   does not belong to the range of subnet prefix {prefix}." (az CLI/terraform/AKS field logs);
/// - reserved address → `PrivateIPAddressInReservedRange`, verbatim: "Private static IP address
///   {ip} falls within reserved IP range of subnet prefix {prefix}." (same sources);
/// - already used → `PrivateIPAddressIsAllocated` (the code Azure returns for a duplicate static
///   IP) with vaultlink's wording, since Azure's message names the IP configuration and the owner
///   (see [`private_ip_allocated`] when the caller knows them).
pub fn static_address_ok(subnet: &Ipv4Cidr, used: &BTreeSet<Ipv4Addr>, addr: Ipv4Addr) -> Result<(), NameError> {
    if !subnet.contains_addr(addr) {
        return Err(NameError::new(
            PRIVATE_IP_ADDRESS_NOT_IN_SUBNET,
            format!(
                "Private static IP address {addr} does not belong to the range of subnet prefix \
                 {subnet}."
            ),
        ));
    }
    if !in_usable_range(subnet, addr) {
        return Err(NameError::new(
            PRIVATE_IP_ADDRESS_IN_RESERVED_RANGE,
            format!(
                "Private static IP address {addr} falls within reserved IP range of subnet prefix \
                 {subnet}."
            ),
        ));
    }
    if used.contains(&addr) {
        return Err(NameError::new(
            PRIVATE_IP_ADDRESS_IS_ALLOCATED,
            // message: vaultlink's wording (Azure's unknown)
            format!(
                "Private static IP address {addr} is already allocated to another resource in \
                 subnet prefix {subnet}."
            ),
        ));
    }
    Ok(())
}

/// The `SubnetIsFull` error for a failed dynamic allocation of one address, verbatim (ARM
/// deployment error in MicrosoftDocs/azure-docs#88211; Azure/karpenter-provider-azure#734):
/// "Subnet {subnet} with address prefix {prefix} does not have enough capacity for 1 IP
/// addresses." Azure has been seen printing the subnet as its name and as its full resource id;
/// pass whichever the caller prefers.
pub fn subnet_is_full(subnet: &str, prefix: &Ipv4Cidr) -> NameError {
    NameError::new(
        SUBNET_IS_FULL,
        format!(
            "Subnet {subnet} with address prefix {prefix} does not have enough capacity for 1 IP \
             addresses."
        ),
    )
}

/// The `PrivateIPAddressIsAllocated` error with Azure's verbatim message (Azure/acs-engine#1867):
/// "IP configuration {ipConfigurationId} is using the private IP address {ip} which is already
/// allocated to resource {ownerId}."
pub fn private_ip_allocated(ip_configuration_id: &str, addr: Ipv4Addr, owner_id: &str) -> NameError {
    NameError::new(
        PRIVATE_IP_ADDRESS_IS_ALLOCATED,
        format!(
            "IP configuration {ip_configuration_id} is using the private IP address {addr} which \
             is already allocated to resource {owner_id}."
        ),
    )
}

/// `u32` netmask for a prefix length 0..=32.
fn mask(prefix: u8) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) }
}

/// True when `addr` is one of the subnet's assignable (non-reserved) addresses.
fn in_usable_range(subnet: &Ipv4Cidr, addr: Ipv4Addr) -> bool {
    let (first, last) = usable_range(subnet);
    first <= addr && addr <= last
}

/// `InvalidCIDRNotation` when `cidr` has host bits set.
fn check_cidr_notation(cidr: &Ipv4Cidr, resource_id: &str) -> Result<(), NameError> {
    if cidr.has_host_bits() {
        return Err(NameError::new(
            INVALID_CIDR_NOTATION,
            format!(
                "The address prefix {cidr} in resource {resource_id} has an invalid CIDR notation. \
                 For the given prefix length, the address prefix should be {}.",
                cidr.trunc()
            ),
        ));
    }
    Ok(())
}

/// Serde visitor reading an [`Ipv4Cidr`] from its string form.
struct CidrVisitor;

impl serde::de::Visitor<'_> for CidrVisitor {
    type Value = Ipv4Cidr;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an IPv4 prefix in CIDR notation, e.g. \"10.0.0.0/16\"")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Ipv4Cidr, E> {
        Ipv4Cidr::from_str(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests;
