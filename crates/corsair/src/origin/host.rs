//! Host names and addresses as browsers serialise them in origins.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether `byte` may appear in a label of a host name in an origin.
///
/// Browsers send hosts lowercased and IDNA-encoded, so a label is made of
/// lowercase letters, digits, `-` and `_` (which Chromium accepts in host
/// names). Anything else, however legal in some URL grammar, is never sent
/// by a browser for a real host and is refused.
pub(crate) const fn is_label_byte(byte: u8) -> bool {
    matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_')
}

/// Whether the text between the brackets of an IPv6 host uses only the
/// characters a serialised IPv6 address can hold.
pub(crate) fn is_ipv6_text(text: &[u8]) -> bool {
    !text.is_empty()
        && text
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b':' | b'.'))
}

/// Whether a host (as serialised in an origin: IPv6 in brackets) is loopback:
/// `localhost` and its subdomains, `127.0.0.0/8` and `[::1]`. Browsers treat
/// these as secure contexts, and no network attacker can impersonate them.
pub(crate) fn is_loopback(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a host name "ends in a number" (WHATWG URL): browsers then parse
/// it as an IPv4 address, so it can have no subdomains.
pub(crate) fn ends_in_number(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or(host);
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
        || last.starts_with("0x")
        || last.starts_with("0X")
}

/// An IPv6 address serialised as the URL standard does: lowercase hex, no
/// leading zeros, the first longest run of two or more zero pieces
/// compressed to `::`, and never a dotted IPv4 tail. (Rust's `Display`
/// differs for IPv4-mapped addresses, hence this function.)
pub(crate) fn serialize_ipv6(address: Ipv6Addr) -> String {
    use std::fmt::Write as _;

    let pieces = address.segments();
    // The first longest run of at least two zero pieces.
    let mut compress: Option<(usize, usize)> = None;
    let mut run_start = None;
    for (i, piece) in pieces.iter().chain(std::iter::once(&1)).enumerate() {
        match (*piece == 0 && i < pieces.len(), run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                let len = i - start;
                if len >= 2 && compress.is_none_or(|(_, best)| len > best) {
                    compress = Some((start, len));
                }
                run_start = None;
            }
            _ => {}
        }
    }

    let mut out = String::with_capacity(41);
    out.push('[');
    let mut i = 0;
    while let Some(piece) = pieces.get(i) {
        if let Some((start, len)) = compress
            && i == start
        {
            out.push_str(if i == 0 { "::" } else { ":" });
            i += len;
            continue;
        }
        let _ = write!(out, "{piece:x}");
        if i + 1 < pieces.len() {
            out.push(':');
        }
        i += 1;
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(text: &str) -> String {
        serialize_ipv6(text.parse().unwrap())
    }

    #[test]
    fn ipv6_serialisation_follows_the_url_standard() {
        assert_eq!(v6("::1"), "[::1]");
        assert_eq!(v6("::"), "[::]");
        assert_eq!(v6("2001:db8:0:0:0:0:0:1"), "[2001:db8::1]");
        assert_eq!(
            v6("2001:0DB8:0000:0001:0000:0000:0000:0001"),
            "[2001:db8:0:1::1]"
        );
        // First of two equally long runs.
        assert_eq!(v6("1:0:0:2:0:0:3:4"), "[1::2:0:0:3:4]");
        // A single zero piece is not compressed.
        assert_eq!(v6("1:0:2:3:4:5:6:7"), "[1:0:2:3:4:5:6:7]");
        // Trailing run.
        assert_eq!(v6("1:2:3:4:5:6:0:0"), "[1:2:3:4:5:6::]");
        // IPv4-mapped addresses are written in hex, unlike Rust's Display.
        assert_eq!(v6("::ffff:1.2.3.4"), "[::ffff:102:304]");
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "app.localhost",
            "127.0.0.1",
            "127.255.0.9",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "localhost.example.com",
            "128.0.0.1",
            "[::2]",
            "example.com",
            "localhostx",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn hosts_ending_in_a_number() {
        assert!(ends_in_number("127.0.0.1"));
        assert!(ends_in_number("example.0x7f"));
        assert!(!ends_in_number("example.com"));
        assert!(!ends_in_number("1.example.com"));
    }
}
