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
///
/// It holds the bytes it was parsed from, all ASCII; the `&str` accessors
/// make their text when asked, so that a parse that only needs the bytes
/// (matching a pattern) never validates UTF-8.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TupleOrigin<'a> {
    serialized: &'a [u8],
    scheme_len: usize,
    host_end: usize,
    port: Option<u16>,
}

impl<'a> TupleOrigin<'a> {
    /// The whole origin, exactly as received.
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        text(self.serialized)
    }

    /// The scheme, such as `https`.
    #[must_use]
    pub fn scheme(&self) -> &'a str {
        text(self.scheme_bytes())
    }

    /// The host: a lowercase name, a dotted IPv4 address, or an IPv6 address
    /// in brackets.
    #[must_use]
    pub fn host(&self) -> &'a str {
        text(self.host_bytes())
    }

    /// The port, when one is written (never the scheme's default port).
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Whether no network attacker can impersonate this origin: any scheme
    /// but `http`, and `http` on a loopback host (`localhost`, `127.0.0.1`,
    /// `[::1]`...), as for [`OriginPattern::is_secure`](super::OriginPattern::is_secure).
    ///
    /// ```
    /// use corsair::origin::RequestOrigin;
    ///
    /// let secure = |origin: &str| match RequestOrigin::parse(origin.as_bytes()) {
    ///     Ok(RequestOrigin::Tuple(tuple)) => tuple.is_secure(),
    ///     _ => unreachable!(),
    /// };
    /// assert!(secure("https://app.example.com"));
    /// assert!(secure("http://localhost:5173"));
    /// assert!(!secure("http://app.example.com"));
    /// ```
    #[must_use]
    pub fn is_secure(&self) -> bool {
        self.scheme_bytes() != b"http" || super::host::is_loopback(self.host())
    }

    /// `scheme://host`: the origin without its port.
    #[must_use]
    pub fn without_port(&self) -> &'a str {
        text(self.without_port_bytes())
    }

    pub(crate) fn scheme_bytes(&self) -> &'a [u8] {
        self.serialized.get(..self.scheme_len).unwrap_or_default()
    }

    pub(crate) fn host_bytes(&self) -> &'a [u8] {
        self.serialized
            .get(self.scheme_len + 3..self.host_end)
            .unwrap_or_default()
    }

    pub(crate) fn without_port_bytes(&self) -> &'a [u8] {
        self.serialized.get(..self.host_end).unwrap_or_default()
    }
}

/// The text of bytes that parsing accepted, which are all ASCII: the
/// conversion cannot fail (and would give `""` if it did).
fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl fmt::Display for TupleOrigin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TupleOrigin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TupleOrigin")
            .field("serialized", &self.as_str())
            .field("scheme_len", &self.scheme_len)
            .field("host_end", &self.host_end)
            .field("port", &self.port)
            .finish()
    }
}

/// Why an `Origin` value is not one a browser would send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedOrigin {
    /// The value is empty.
    Empty,
    /// The value is longer than any origin a browser sends.
    TooLong,
    /// The request carries more than one `Origin` header.
    Repeated,
    /// The scheme is missing, not lowercase, or not followed by `://`.
    Scheme,
    /// The host has a byte a browser never sends in a host (uppercase, space,
    /// comma, slash, control character, non-ASCII...), or is empty.
    Host,
    /// The port is empty, not decimal, has a leading zero or is above 65535.
    Port,
    /// The default port of the scheme is written, which browsers never do.
    DefaultPort,
}

impl fmt::Display for MalformedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MalformedOrigin::Empty => write!(f, "the Origin header is empty"),
            MalformedOrigin::TooLong => {
                write!(f, "the Origin header is longer than {MAX_ORIGIN_LEN} bytes")
            }
            MalformedOrigin::Repeated => write!(f, "the request has more than one Origin header"),
            MalformedOrigin::Scheme => write!(
                f,
                "the Origin header has no valid lowercase scheme followed by ://"
            ),
            MalformedOrigin::Host => write!(
                f,
                "the Origin header's host is not a lowercase host name or IP address"
            ),
            MalformedOrigin::Port => write!(
                f,
                "the Origin header's port is not a number from 0 to 65535 without leading zeros"
            ),
            MalformedOrigin::DefaultPort => write!(
                f,
                "the Origin header writes the scheme's default port, which browsers omit"
            ),
        }
    }
}

impl std::error::Error for MalformedOrigin {}

impl<'a> RequestOrigin<'a> {
    /// Parses an `Origin` header value in one pass over its bytes.
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

        let scheme_len = scheme_len(value).ok_or(MalformedOrigin::Scheme)?;
        let host_start = scheme_len + 3;
        let rest = value.get(host_start..).unwrap_or_default();
        let host_len = host_len(rest).ok_or(MalformedOrigin::Host)?;
        let port = match rest.get(host_len..).unwrap_or_default() {
            [] => None,
            [b':', digits @ ..] => Some(parse_port_bytes(digits).ok_or(MalformedOrigin::Port)?),
            _ => return Err(MalformedOrigin::Host),
        };
        let scheme = value.get(..scheme_len).unwrap_or_default();
        if port.is_some() && port == default_port_bytes(scheme) {
            return Err(MalformedOrigin::DefaultPort);
        }
        Ok(RequestOrigin::Tuple(TupleOrigin {
            serialized: value,
            scheme_len,
            host_end: host_start + host_len,
            port,
        }))
    }
}

/// The length of a lowercase scheme (`[a-z][a-z0-9+.-]*`) at the start of
/// `value`, when `://` follows it.
fn scheme_len(value: &[u8]) -> Option<usize> {
    if !value.first()?.is_ascii_lowercase() {
        return None;
    }
    let len = value.iter().position(|&b| !is_scheme_byte(b))?;
    (value.get(len..len + 3)? == b"://").then_some(len)
}

const fn is_scheme_byte(byte: u8) -> bool {
    matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'+' | b'.' | b'-')
}

/// The length of the host at the start of `rest`: an IPv6 address in
/// brackets, or dot-separated non-empty labels with at most a trailing dot
/// (a distinct, fully qualified host). It ends at a `:` or at the end; any
/// other byte makes the host malformed.
fn host_len(rest: &[u8]) -> Option<usize> {
    if rest.first() == Some(&b'[') {
        let close = rest.iter().position(|&b| b == b']')?;
        return is_ipv6_text(rest.get(1..close)?).then_some(close + 1);
    }
    let mut label_len = 0usize;
    let mut len = 0usize;
    for &byte in rest {
        match host_class(byte) {
            HostClass::Colon => break,
            HostClass::Dot if label_len == 0 => return None,
            HostClass::Dot => label_len = 0,
            HostClass::Label => label_len += 1,
            HostClass::Other => return None,
        }
        len += 1;
    }
    // `len == 0` is an empty host; a trailing dot leaves `label_len == 0`
    // after at least one label, which is fine.
    (len > 0).then_some(len)
}

/// What a byte is to a host name in an origin.
#[derive(Clone, Copy)]
enum HostClass {
    /// A byte of a label ([`is_label_byte`]).
    Label,
    /// `.`, between labels.
    Dot,
    /// `:`, before the port.
    Colon,
    /// Anything else: not in a host a browser sends.
    Other,
}

fn host_class(byte: u8) -> HostClass {
    #[allow(clippy::indexing_slicing, reason = "a u8 indexes 256 entries")]
    HOST_CLASS[usize::from(byte)]
}

/// [`HostClass`] as a table: one load per byte of the host, the longest
/// part of an origin, where the range tests cost several instructions.
#[allow(clippy::indexing_slicing, reason = "the loop stays below 256")]
static HOST_CLASS: [HostClass; 256] = {
    let mut table = [HostClass::Other; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = match byte as u8 {
            b'.' => HostClass::Dot,
            b':' => HostClass::Colon,
            other if is_label_byte(other) => HostClass::Label,
            _ => HostClass::Other,
        };
        byte += 1;
    }
    table
};

/// A URL scheme as browsers serialise it: `[a-z][a-z0-9+.-]*`.
pub(crate) fn is_scheme(scheme: &str) -> bool {
    let bytes = scheme.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_lowercase) && bytes.iter().all(|&b| is_scheme_byte(b))
}

/// The port that browsers leave out of origins of this scheme.
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    default_port_bytes(scheme.as_bytes())
}

fn default_port_bytes(scheme: &[u8]) -> Option<u16> {
    match scheme {
        b"http" | b"ws" => Some(80),
        b"https" | b"wss" => Some(443),
        _ => None,
    }
}

/// A port as browsers serialise it: decimal, no leading zero, at most 65535.
pub(crate) fn parse_port(text: &str) -> Option<u16> {
    parse_port_bytes(text.as_bytes())
}

fn parse_port_bytes(digits: &[u8]) -> Option<u16> {
    let well_formed = (1..=5).contains(&digits.len())
        && digits.iter().all(u8::is_ascii_digit)
        && (digits == b"0" || digits.first() != Some(&b'0'));
    if !well_formed {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'));
    u16::try_from(value).ok()
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
