//! The `Origin` request header, parsed strictly and without allocating.

use std::fmt;

use super::host::{is_ipv6_text, is_label_byte};

/// The longest `Origin` value corsair reads. A host name has at most 253
/// bytes; anything much longer is not from a browser.
const MAX_ORIGIN_LEN: usize = 512;

/// The value of an `Origin` request header.
///
/// Parsing accepts exactly what browsers send: `null`, or
/// `scheme "://" host [":" port]` in lowercase, with no default port, no
/// trailing slash, no path, no userinfo, and a single origin. Everything else
/// (uppercase, `https://a.com:443`, `https://a.com/`, two origins separated by
/// a comma or space, control characters...) is a [`MalformedOrigin`].
///
/// ```
/// use corsair::origin::RequestOrigin;
///
/// let origin = RequestOrigin::parse(b"https://app.example.com:8443").unwrap();
/// let RequestOrigin::Tuple(tuple) = origin else { unreachable!() };
/// assert_eq!(tuple.scheme(), "https");
/// assert_eq!(tuple.host(), "app.example.com");
/// assert_eq!(tuple.port(), Some(8443));
///
/// assert_eq!(RequestOrigin::parse(b"null"), Ok(RequestOrigin::Null));
/// assert!(RequestOrigin::parse(b"https://app.example.com/").is_err());
/// assert!(RequestOrigin::parse(b"https://App.example.com").is_err());
/// assert!(RequestOrigin::parse(b"https://a.example https://b.example").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestOrigin<'a> {
    /// `null`: an opaque origin (sandboxed iframe, `file:` or `data:` page,
    /// cross-origin redirect chain). Never allowed by an origin list.
    Null,
    /// A scheme, host and port.
    Tuple(TupleOrigin<'a>),
}

/// A serialised tuple origin: scheme, host and optional port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TupleOrigin<'a> {
    serialized: &'a str,
    scheme_len: usize,
    host_end: usize,
    port: Option<u16>,
}

impl<'a> TupleOrigin<'a> {
    /// The whole origin, exactly as received.
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        self.serialized
    }

    /// The scheme, such as `https`.
    #[must_use]
    pub fn scheme(&self) -> &'a str {
        self.serialized.get(..self.scheme_len).unwrap_or_default()
    }

    /// The host: a lowercase name, a dotted IPv4 address, or an IPv6 address
    /// in brackets.
    #[must_use]
    pub fn host(&self) -> &'a str {
        self.serialized
            .get(self.scheme_len + 3..self.host_end)
            .unwrap_or_default()
    }

    /// The port, when one is written (never the scheme's default port).
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// `scheme://host`: the origin without its port.
    #[must_use]
    pub fn without_port(&self) -> &'a str {
        self.serialized.get(..self.host_end).unwrap_or_default()
    }
}

impl fmt::Display for TupleOrigin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.serialized)
    }
}

/// Why an `Origin` value is not one a browser would send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedOrigin {
    /// The value is empty.
    #[error("the Origin header is empty")]
    Empty,
    /// The value is longer than any origin a browser sends.
    #[error("the Origin header is longer than {MAX_ORIGIN_LEN} bytes")]
    TooLong,
    /// The request carries more than one `Origin` header.
    #[error("the request has more than one Origin header")]
    Repeated,
    /// The scheme is missing, not lowercase, or not followed by `://`.
    #[error("the Origin header has no valid lowercase scheme followed by ://")]
    Scheme,
    /// The host has a byte a browser never sends in a host (uppercase, space,
    /// comma, slash, control character, non-ASCII...), or is empty.
    #[error("the Origin header's host is not a lowercase host name or IP address")]
    Host,
    /// The port is empty, not decimal, has a leading zero or is above 65535.
    #[error("the Origin header's port is not a number from 0 to 65535 without leading zeros")]
    Port,
    /// The default port of the scheme is written, which browsers never do.
    #[error("the Origin header writes the scheme's default port, which browsers omit")]
    DefaultPort,
}

impl<'a> RequestOrigin<'a> {
    /// Parses an `Origin` header value.
    ///
    /// # Errors
    /// A [`MalformedOrigin`] saying which part is not as a browser writes it.
    pub fn parse(value: &'a [u8]) -> Result<Self, MalformedOrigin> {
        if value.is_empty() {
            return Err(MalformedOrigin::Empty);
        }
        if value.len() > MAX_ORIGIN_LEN {
            return Err(MalformedOrigin::TooLong);
        }
        if value == b"null" {
            return Ok(RequestOrigin::Null);
        }
        let serialized = match std::str::from_utf8(value) {
            Ok(text) if text.is_ascii() => text,
            _ => return Err(MalformedOrigin::Host),
        };

        let (scheme, rest) = serialized
            .split_once("://")
            .ok_or(MalformedOrigin::Scheme)?;
        if !is_scheme(scheme) {
            return Err(MalformedOrigin::Scheme);
        }

        let (host, port_text) = split_host_port(rest)?;
        if !is_host(host) {
            return Err(MalformedOrigin::Host);
        }
        let port = match port_text {
            None => None,
            Some(text) => Some(parse_port(text).ok_or(MalformedOrigin::Port)?),
        };
        if port.is_some() && port == default_port(scheme) {
            return Err(MalformedOrigin::DefaultPort);
        }

        Ok(RequestOrigin::Tuple(TupleOrigin {
            serialized,
            scheme_len: scheme.len(),
            host_end: scheme.len() + 3 + host.len(),
            port,
        }))
    }
}

/// A URL scheme as browsers serialise it: `[a-z][a-z0-9+.-]*`.
pub(crate) fn is_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'+' | b'.' | b'-'))
}

/// The port that browsers leave out of origins of this scheme.
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Splits `host[:port]`, keeping the brackets of an IPv6 host.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), MalformedOrigin> {
    if authority.starts_with('[') {
        let close = authority.find(']').ok_or(MalformedOrigin::Host)?;
        let (host, after) = authority
            .split_at_checked(close + 1)
            .ok_or(MalformedOrigin::Host)?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(MalformedOrigin::Host),
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// A host as browsers serialise it: an IPv6 address in brackets, or
/// dot-separated labels of lowercase letters, digits, `-` and `_`, with at
/// most a trailing dot (a distinct, fully qualified host).
fn is_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return is_ipv6_text(inner.as_bytes());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name
            .split('.')
            .all(|label| !label.is_empty() && label.bytes().all(is_label_byte))
}

/// A port as browsers serialise it: decimal, no leading zero, at most 65535.
pub(crate) fn parse_port(text: &str) -> Option<u16> {
    let well_formed = !text.is_empty()
        && text.len() <= 5
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if well_formed { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(value: &str) -> TupleOrigin<'_> {
        match RequestOrigin::parse(value.as_bytes()) {
            Ok(RequestOrigin::Tuple(t)) => t,
            other => panic!("{value}: {other:?}"),
        }
    }

    #[test]
    fn browser_forms_parse() {
        let t = tuple("https://app.example.com");
        assert_eq!(
            (t.scheme(), t.host(), t.port()),
            ("https", "app.example.com", None)
        );
        assert_eq!(t.without_port(), "https://app.example.com");

        let t = tuple("http://localhost:3000");
        assert_eq!(
            (t.scheme(), t.host(), t.port()),
            ("http", "localhost", Some(3000))
        );
        assert_eq!(t.without_port(), "http://localhost");

        let t = tuple("http://[::1]:8080");
        assert_eq!((t.host(), t.port()), ("[::1]", Some(8080)));

        let t = tuple("https://xn--bcher-kva.example");
        assert_eq!(t.host(), "xn--bcher-kva.example");

        assert_eq!(tuple("capacitor://localhost").scheme(), "capacitor");
        assert_eq!(tuple("https://example.com.").host(), "example.com.");
        assert_eq!(tuple("http://a_b.example:0").port(), Some(0));
    }

    #[test]
    fn what_browsers_never_send_is_malformed() {
        use MalformedOrigin::*;
        let cases: &[(&[u8], MalformedOrigin)] = &[
            (b"", Empty),
            (b"Null", Scheme),
            (b"https//app.example.com", Scheme),
            (b"HTTPS://app.example.com", Scheme),
            (b"://app.example.com", Scheme),
            (b"https://", Host),
            (b"https://App.example.com", Host),
            (b"https://app.example.com/", Host),
            (b"https://app.example.com/path", Host),
            (b"https://user@app.example.com", Host),
            (b"https://app.example.com https://evil.com", Host),
            (b"https://app.example.com,https://evil.com", Host),
            (b"https://app..example.com", Host),
            (b"https://.example.com", Host),
            (b"https://app.example.com\t", Host),
            (b"https://app.example.com%0d%0a", Host),
            ("https://b\u{fc}cher.example".as_bytes(), Host),
            (b"https://[::1", Host),
            (b"https://[::1]x", Host),
            (b"https://[::g]", Host),
            (b"https://app.example.com:", Port),
            (b"https://app.example.com:08443", Port),
            (b"https://app.example.com:65536", Port),
            (b"https://app.example.com:-1", Port),
            (b"https://app.example.com:443", DefaultPort),
            (b"http://app.example.com:80", DefaultPort),
        ];
        for (value, expected) in cases {
            assert_eq!(
                RequestOrigin::parse(value),
                Err(*expected),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        assert_eq!(RequestOrigin::parse(&[b'a'; 600]), Err(TooLong));
    }
}
