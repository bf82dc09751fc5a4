//! The CIDR functions: `parseCidr`, `cidrSubnet`, `cidrHost`, IPv4 and IPv6, with the shapes ARM
//! documents (`parseCidr('10.144.0.0/20')` is `{network, netmask, broadcast, firstUsable,
//! lastUsable, cidr}`; an IPv6 range has no broadcast and its first usable address is the
//! network's; `cidrHost(n, 0)` is the first usable host).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{Value, json};

use super::{TemplateError, invalid};

/// A range: its first address as a 128-bit number, its prefix and whether it is IPv4.
#[derive(Clone, Copy)]
struct Range {
    network: u128,
    prefix: u32,
    v4: bool,
}

impl Range {
    fn bits(self) -> u32 {
        if self.v4 { 32 } else { 128 }
    }
    fn size_bits(self) -> u32 {
        self.bits() - self.prefix
    }
    fn last(self) -> u128 {
        self.network | low_mask(self.size_bits())
    }
    fn address(self, n: u128) -> String {
        if self.v4 { Ipv4Addr::from(n as u32).to_string() } else { Ipv6Addr::from(n).to_string() }
    }
    fn mask(self) -> u128 {
        low_mask(self.bits()) & !low_mask(self.size_bits())
    }
}

fn low_mask(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

fn parse(function: &str, s: &str) -> Result<Range, TemplateError> {
    let bad = || {
        invalid(format!(
            "The template language function '{function}' expects its parameter to be a valid IP address range in CIDR notation: '{s}' is not."
        ))
    };
    let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let prefix: u32 = prefix.parse().map_err(|_| bad())?;
    let (n, v4) = match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), true),
        IpAddr::V6(a) => (u128::from(a), false),
    };
    let r = Range { network: 0, prefix, v4 };
    if prefix > r.bits() {
        return Err(bad());
    }
    Ok(Range { network: n & r.mask(), ..r })
}

pub(super) fn parse_cidr(a: &[Value]) -> Result<Value, TemplateError> {
    let [Value::String(s)] = a else { return Err(super::arity("parseCidr", "1")) };
    let r = parse("parseCidr", s)?;
    if r.v4 {
        let (first, last) = if r.size_bits() >= 2 { (r.network + 1, r.last() - 1) } else { (r.network, r.last()) };
        Ok(json!({
            "network": r.address(r.network),
            "netmask": r.address(r.mask()),
            "broadcast": r.address(r.last()),
            "firstUsable": r.address(first),
            "lastUsable": r.address(last),
            "cidr": r.prefix,
        }))
    } else {
        Ok(json!({
            "network": r.address(r.network),
            "netmask": r.address(r.mask()),
            "firstUsable": r.address(r.network),
            "lastUsable": r.address(r.last()),
            "cidr": r.prefix,
        }))
    }
}

pub(super) fn cidr_subnet(a: &[Value]) -> Result<Value, TemplateError> {
    let [Value::String(s), new, index] = a else { return Err(super::arity("cidrSubnet", "3")) };
    let r = parse("cidrSubnet", s)?;
    let (new, index) = (new.as_i64().unwrap_or(-1), index.as_i64().unwrap_or(-1));
    if new < i64::from(r.prefix) || new > i64::from(r.bits()) {
        return Err(invalid(format!(
            "The template language function 'cidrSubnet' expects its new CIDR '{new}' to be between '{}' and '{}'.",
            r.prefix,
            r.bits()
        )));
    }
    let new = new as u32;
    let count_bits = new - r.prefix;
    if index < 0 || (count_bits < 64 && index as u128 >= 1u128 << count_bits) {
        return Err(invalid(format!(
            "The template language function 'cidrSubnet' subnet index '{index}' is out of range for '{s}' split into /{new} subnets."
        )));
    }
    let sub = r.network | ((index as u128) << (r.bits() - new));
    Ok(json!(format!("{}/{new}", r.address(sub))))
}

pub(super) fn cidr_host(a: &[Value]) -> Result<Value, TemplateError> {
    let [Value::String(s), index] = a else { return Err(super::arity("cidrHost", "2")) };
    let r = parse("cidrHost", s)?;
    let index = index.as_i64().unwrap_or(-1);
    // IPv4 keeps the network and broadcast addresses out; IPv6 only the network's.
    let reserved: u128 = if r.v4 && r.size_bits() >= 2 { 2 } else { 1 };
    let usable = low_mask(r.size_bits()).saturating_add(1).saturating_sub(reserved);
    if index < 0 || index as u128 >= usable {
        return Err(invalid(format!(
            "The template language function 'cidrHost' host index '{index}' is out of range for '{s}'."
        )));
    }
    Ok(json!(r.address(r.network + 1 + index as u128)))
}
