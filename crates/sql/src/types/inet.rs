//! `inet` and `cidr`: text input and output as PostgreSQL's network_in/out, and the address
//! arithmetic behind the network functions and operators.

use std::net::Ipv6Addr;
use std::str::FromStr;

use oxibase_common::{Inet, Result, errinput};

/// Parses an `inet` (`cidr` with `cidr`) literal: `1.2.3.4`, `1.2.3.0/24`, `::1`,
/// `2001:db8::/32`; a cidr may abbreviate IPv4 (`10.1` is 10.1.0.0/16) and must have no bits
/// set right of its mask.
pub fn parse(input: &str, cidr: bool) -> Result<Inet> {
    let type_name = if cidr { "cidr" } else { "inet" };
    let syntax = || {
        errinput!(
            INVALID_TEXT_REPRESENTATION,
            "invalid input syntax for type {type_name}: \"{input}\""
        )
    };
    let (address, bits) = match input.split_once('/') {
        Some((a, b)) => {
            if b.is_empty() || !b.bytes().all(|c| c.is_ascii_digit()) || b.len() > 3 {
                return Err(syntax());
            }
            (a, Some(b.parse::<u8>().map_err(|_| syntax())?))
        }
        None => (input, None),
    };
    let mut value = if address.contains(':') {
        let addr = Ipv6Addr::from_str(address).map_err(|_| syntax())?;
        let bits = bits.unwrap_or(128);
        if bits > 128 {
            return Err(syntax());
        }
        Inet { v6: true, bits, addr: addr.octets(), cidr }
    } else {
        let (octets, count) = ipv4_octets(address, cidr).ok_or_else(syntax)?;
        let bits = match bits {
            Some(b) if b > 32 => return Err(syntax()),
            Some(b) => b,
            None if cidr => classful_bits(octets[0], count),
            None => 32,
        };
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&octets);
        Inet { v6: false, bits, addr, cidr }
    };
    if cidr && value.masked(value.bits) != value.addr {
        return Err(errinput!(INVALID_TEXT_REPRESENTATION, "invalid cidr value: \"{input}\"")
            .with_detail("Value has bits set to right of mask."));
    }
    value.cidr = cidr;
    Ok(value)
}

/// An IPv4 address's octets and how many were written: all four for inet; one to four for a
/// cidr (the rest are zero).
fn ipv4_octets(text: &str, abbreviated: bool) -> Option<([u8; 4], usize)> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 || (parts.len() < 4 && !abbreviated) {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        octets[i] = part.parse().ok()?;
    }
    Some((octets, parts.len()))
}

/// The netmask an abbreviated IPv4 cidr without one gets from its class, widened to the
/// octets written (PostgreSQL's inet_cidr_pton_ipv4).
fn classful_bits(first: u8, octets: usize) -> u8 {
    let class = match first {
        240.. => 32,
        224.. => 8,
        192.. => 24,
        128.. => 16,
        _ => 8,
    };
    let bits = class.max(octets as u8 * 8);
    if bits == 8 && first == 224 { 4 } else { bits }
}

/// The output form: the address, then `/bits` for a cidr or for an inet whose mask is not
/// the whole address.
pub fn format(value: &Inet) -> String {
    if value.cidr || value.bits != value.max_bits() {
        format!("{}/{}", address(value), value.bits)
    } else {
        address(value)
    }
}

/// The address and its mask always (`text(inet)`, the cast to text: network_show).
pub fn show(value: &Inet) -> String {
    format!("{}/{}", address(value), value.bits)
}

/// The network's last address (host bits all set), same mask, as an inet (`broadcast()`).
pub fn broadcast(value: &Inet) -> Inet {
    let n = to_number(value) | to_number(&mask(value, true));
    Inet { cidr: false, ..from_number(value, n).unwrap_or(*value) }
}

/// The address alone, as `host()` returns it.
pub fn address(value: &Inet) -> String {
    if !value.v6 {
        let a = &value.addr;
        return format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
    }
    // PostgreSQL's inet_net_ntop_ipv6: the longest run of two or more zero words becomes
    // `::` (the first such run on a tie), and an address whose first six words are zero, or
    // five zero words then ffff, ends in dotted IPv4.
    let words: Vec<u16> = value.addr.chunks(2).map(|w| u16::from_be_bytes([w[0], w[1]])).collect();
    let (mut best, mut current): ((usize, usize), Option<(usize, usize)>) = ((0, 0), None);
    for (i, w) in words.iter().enumerate() {
        if *w == 0 {
            let run = current.map_or((i, 1), |(start, len)| (start, len + 1));
            current = Some(run);
            if run.1 > best.1 {
                best = run;
            }
        } else {
            current = None;
        }
    }
    let (base, len) = if best.1 >= 2 { best } else { (usize::MAX, 0) };
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if i == base {
            out.push(':');
            if i + len == 8 {
                out.push(':');
            }
            i += len;
            continue;
        }
        if i > 0 {
            out.push(':');
        }
        if i == 6 && base == 0 && (len == 6 || (len == 5 && words[5] == 0xffff)) {
            let a = &value.addr;
            out.push_str(&format!("{}.{}.{}.{}", a[12], a[13], a[14], a[15]));
            break;
        }
        out.push_str(&format!("{:x}", words[i]));
        i += 1;
    }
    out
}

/// `abbrev()`: a cidr prints only the octets its mask covers (`10.1/16`); an inet prints as
/// it outputs.
pub fn abbrev(value: &Inet) -> String {
    if !value.cidr {
        return format(value);
    }
    if value.v6 {
        return abbrev_v6(value);
    }
    let whole = (value.bits / 8) as usize;
    let mut parts: Vec<String> = value.addr[..whole].iter().map(u8::to_string).collect();
    if !value.bits.is_multiple_of(8) {
        parts.push(value.addr[whole].to_string());
    }
    if parts.is_empty() {
        parts.push("0".into());
    }
    format!("{}/{}", parts.join("."), value.bits)
}

/// An IPv6 cidr abbreviated as PostgreSQL's inet_cidr_ntop_ipv6 writes it: only the words
/// the mask reaches (at least two), the longest zero run as `::`, and dotted IPv4 for an
/// IPv4-mapped or -compatible prefix. Its zero-run search keeps counting across a non-zero
/// word when the run it had did not beat the best one; kept, so the text is PostgreSQL's.
fn abbrev_v6(value: &Inet) -> String {
    if value.bits == 0 {
        return "::/0".into();
    }
    let s = value.masked(value.bits);
    let words = match usize::from(value.bits).div_ceil(16) {
        1 => 2,
        n => n,
    };
    let word = |p: usize| u16::from_be_bytes([s[2 * p], s[2 * p + 1]]);
    let (mut zero_s, mut zero_l, mut tmp_s, mut tmp_l) = (0, 0, 0, 0);
    for p in 0..words {
        if word(p) == 0 {
            if tmp_l == 0 {
                tmp_s = p;
            }
            tmp_l += 1;
        } else if tmp_l != 0 && zero_l < tmp_l {
            (zero_s, zero_l, tmp_l) = (tmp_s, tmp_l, 0);
        }
    }
    if tmp_l != 0 && zero_l < tmp_l {
        (zero_s, zero_l) = (tmp_s, tmp_l);
    }
    let ipv4 = zero_l != words
        && zero_s == 0
        && (zero_l == 6
            || (zero_l == 5 && word(5) == 0xffff)
            || (zero_l == 7 && s[14] != 0 && s[15] != 1));
    let mut out = String::new();
    for p in 0..words {
        if zero_l != 0 && (zero_s..zero_s + zero_l).contains(&p) {
            if p == zero_s {
                out.push(':');
            }
            if p == words - 1 {
                out.push(':');
            }
            continue;
        }
        if ipv4 && p > 5 {
            out.push(if p == 6 { ':' } else { '.' });
            out.push_str(&s[2 * p].to_string());
            if p != 7 || value.bits > 120 {
                out.push('.');
                out.push_str(&s[2 * p + 1].to_string());
            }
        } else {
            if !out.is_empty() {
                out.push(':');
            }
            out.push_str(&format!("{:x}", word(p)));
        }
    }
    format!("{out}/{}", value.bits)
}

/// The address as a number (IPv4 in the low 32 bits).
pub fn to_number(value: &Inet) -> u128 {
    value.bytes().iter().fold(0u128, |n, b| (n << 8) | u128::from(*b))
}

/// An address of the same family, mask and type from a number; None when it does not fit.
pub fn from_number(like: &Inet, n: u128) -> Option<Inet> {
    if !like.v6 && n > u128::from(u32::MAX) {
        return None;
    }
    let mut addr = [0u8; 16];
    let len = like.byte_len();
    for (i, b) in addr[..len].iter_mut().enumerate() {
        *b = (n >> (8 * (len - 1 - i))) as u8;
    }
    Some(Inet { addr, ..*like })
}

/// A mask of `bits` one bits (`netmask`), or its complement (`hostmask`), as an address of
/// the value's family.
pub fn mask(value: &Inet, host: bool) -> Inet {
    let all = if value.v6 { u128::MAX } else { u128::from(u32::MAX) };
    let width = u32::from(value.max_bits());
    let ones = u32::from(value.bits);
    let net = if ones == 0 { 0 } else { (all >> (width - ones)) << (width - ones) } & all;
    let n = if host { !net & all } else { net };
    let mut out = from_number(value, n).unwrap_or(*value);
    out.bits = value.max_bits();
    out.cidr = false;
    out
}

/// True when `inner` lies within `outer`'s network (`<<=`), strictly (`<<`) with `strict`.
pub fn contained(inner: &Inet, outer: &Inet, strict: bool) -> bool {
    inner.v6 == outer.v6
        && (if strict { inner.bits > outer.bits } else { inner.bits >= outer.bits })
        && inner.masked(outer.bits) == outer.masked(outer.bits)
}

/// True when either network contains the other (`&&`).
pub fn overlap(a: &Inet, b: &Inet) -> bool {
    let bits = a.bits.min(b.bits);
    a.v6 == b.v6 && a.masked(bits) == b.masked(bits)
}

/// The length of the longest common prefix of two addresses of one family.
pub fn common_prefix(a: &Inet, b: &Inet) -> u8 {
    let x = to_number(a) ^ to_number(b);
    let width = u32::from(a.max_bits());
    let leading = if a.v6 { x.leading_zeros() } else { (x as u32).leading_zeros() };
    leading.min(width) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(text: &str, cidr: bool) -> String {
        format(&parse(text, cidr).unwrap())
    }

    #[test]
    fn text_round_trips_as_postgres_prints_it() {
        assert_eq!(out("10.1.2.3/16", false), "10.1.2.3/16");
        assert_eq!(out("10.1.2.3/32", false), "10.1.2.3");
        assert_eq!(out("10.1", true), "10.1.0.0/16");
        assert_eq!(out("10", true), "10.0.0.0/8");
        assert_eq!(out("192.168.1.5", true), "192.168.1.5/32");
        assert_eq!(out("224", true), "224.0.0.0/4");
        assert_eq!(out("::1", false), "::1");
        assert_eq!(out("::", false), "::");
        assert_eq!(out("::ffff:1.2.3.4", false), "::ffff:1.2.3.4");
        assert_eq!(out("::1.2.3.4", false), "::1.2.3.4");
        assert_eq!(out("2001:DB8:0:0:1::1/64", false), "2001:db8::1:0:0:1/64");
        assert_eq!(out("2001:db8::/32", true), "2001:db8::/32");
        assert_eq!(out("1:0:0:2:0:0:0:3", false), "1:0:0:2::3");
        assert_eq!(out("1:0:2:0:3:0:4:0", false), "1:0:2:0:3:0:4:0");
        for bad in ["x", "10.1", "1.2.3.4/33", "1.2.3.256", "1.2.3.4/", "::1/129", "1.2.3.4.5"] {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
        let err = parse("10.1.2.3/16", true).unwrap_err();
        assert_eq!(err.detail(), Some("Value has bits set to right of mask."));
    }

    #[test]
    fn masks_containment_and_abbreviation() {
        let v = parse("10.1.2.3/16", false).unwrap();
        assert_eq!(format(&mask(&v, false)), "255.255.0.0");
        assert_eq!(format(&mask(&v, true)), "0.0.255.255");
        let net = parse("10.1.0.0/16", true).unwrap();
        assert!(contained(&v, &parse("10.0.0.0/8", true).unwrap(), true));
        assert!(contained(&net, &net, false) && !contained(&net, &net, true));
        assert!(overlap(&parse("10.0.0.0/8", false).unwrap(), &net));
        assert_eq!(abbrev(&net), "10.1/16");
        assert_eq!(abbrev(&parse("0.0.0.0/0", true).unwrap()), "0/0");
        assert_eq!(common_prefix(&net, &parse("10.2.0.0/16", true).unwrap()), 14);
        let v6 = |t: &str| abbrev(&parse(t, true).unwrap());
        assert_eq!(v6("2001:db8::/32"), "2001:db8/32");
        assert_eq!(v6("::ffff:10.0.0.0/120"), "::ffff:10.0.0/120");
        assert_eq!(v6("::1/128"), "::1/128");
        assert_eq!(v6("::/0"), "::/0");
    }
}
