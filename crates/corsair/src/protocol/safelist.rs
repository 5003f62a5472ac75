//! CORS-safelisted request-headers: the headers a script may send
//! cross-origin without a preflight, and the names that force one.
//!
//! The rules are Fetch's (§Headers, "CORS-safelisted request-header" and
//! "CORS-unsafe request-header names"); [`Safelist::Chromium`] adds the
//! headers Chromium also lets through (`IsCorsSafelistedHeader` in
//! `services/network/public/cpp/cors/cors.cc`).
//!
//! ```
//! use corsair::protocol::{Safelist, cors_unsafe_request_header_names};
//!
//! let headers: [(&str, &[u8]); 3] = [
//!     ("Content-Type", b"application/json"),
//!     ("Accept", b"*/*"),
//!     ("X-Api-Key", b"secret"),
//! ];
//! assert_eq!(
//!     cors_unsafe_request_header_names(headers, Safelist::Fetch),
//!     ["content-type", "x-api-key"],
//! );
//! ```

use std::cmp::Ordering;

use super::mime::MimeType;

/// A safelisted value is at most this many bytes long.
const MAX_VALUE_LENGTH: usize = 128;

/// Safelisted values totalling more than this many bytes are all unsafe.
const MAX_SAFELISTED_TOTAL: usize = 1024;

/// Which browser's request-header safelist applies.
///
/// ```
/// use corsair::protocol::{Safelist, is_cors_safelisted_request_header};
///
/// assert_eq!(Safelist::default(), Safelist::Chromium);
/// assert!(is_cors_safelisted_request_header("DPR", b"2.0", Safelist::Chromium));
/// assert!(!is_cors_safelisted_request_header("DPR", b"2.0", Safelist::Fetch));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Safelist {
    /// The Fetch standard's rules only: `Accept`, `Accept-Language`,
    /// `Content-Language`, `Content-Type` and `Range`, each with its value
    /// rule. This is what Firefox and Safari implement.
    Fetch,
    /// Fetch plus Chromium's extra safelisted headers (the default):
    /// - `Intervention`, any value;
    /// - `Save-Data`: `on` (ASCII case-insensitive, as Chromium compares it);
    /// - `Device-Memory`, `DPR`, `Downlink`: `1*DIGIT ["." 1*DIGIT]`;
    /// - `Width`, `Viewport-Width`, `RTT`: `1*DIGIT`;
    /// - `ECT`: exactly `slow-2g`, `2g`, `3g` or `4g`.
    ///
    /// Chromium also refuses a `Range` position of 2<sup>63</sup> − 1 or
    /// more, which it cannot represent; Fetch has no such limit.
    ///
    /// Chromium's list also holds `Sec-CH-*` client hints. They are left out
    /// here: scripts cannot set them (every `sec-` name is a forbidden
    /// request-header), and the user agent adds them after the preflight
    /// decision is made.
    #[default]
    Chromium,
}

/// Whether `byte` is a CORS-unsafe request-header byte: a control byte other
/// than HT (`0x00..=0x08`, `0x0A..=0x1F`), DEL (`0x7F`), or one of
/// `"` `(` `)` `:` `<` `>` `?` `@` `[` `\` `]` `{` `}`.
///
/// ```
/// use corsair::protocol::is_cors_unsafe_request_header_byte;
/// assert!(is_cors_unsafe_request_header_byte(b'"'));
/// assert!(is_cors_unsafe_request_header_byte(b'\n'));
/// assert!(!is_cors_unsafe_request_header_byte(b'\t'));
/// assert!(!is_cors_unsafe_request_header_byte(b';'));
/// assert!(!is_cors_unsafe_request_header_byte(0xE9));
/// ```
#[must_use]
pub const fn is_cors_unsafe_request_header_byte(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t')
        || matches!(
            byte,
            b'"' | b'('
                | b')'
                | b':'
                | b'<'
                | b'>'
                | b'?'
                | b'@'
                | b'['
                | b'\\'
                | b']'
                | b'{'
                | b'}'
                | 0x7F
        )
}

/// Whether the header (`name`, `value`) is a CORS-safelisted request-header:
/// a header a script may add to a cross-origin request without causing a
/// preflight. The name compares ASCII case-insensitively; the value is at
/// most 128 bytes and obeys the rule of its name:
///
/// - `Accept`: no [CORS-unsafe byte](is_cors_unsafe_request_header_byte);
/// - `Accept-Language`, `Content-Language`: only `0-9 A-Z a-z`, space and
///   `* , - . ; =`;
/// - `Content-Type`: no CORS-unsafe byte, and [`MimeType::parse`] gives
///   `application/x-www-form-urlencoded`, `multipart/form-data` or
///   `text/plain`, with any parameters (a quoted one has a `"`, unsafe);
/// - `Range`: `bytes=N-` or `bytes=N-M` with N ≤ M, decimal digits and no
///   whitespace (`bytes=-N` is not safelisted);
/// - the extra names of [`Safelist::Chromium`], in that mode.
///
/// ```
/// use corsair::protocol::{Safelist, is_cors_safelisted_request_header};
///
/// let fetch = Safelist::Fetch;
/// assert!(is_cors_safelisted_request_header("content-type", b"text/plain;charset=utf-8", fetch));
/// assert!(!is_cors_safelisted_request_header("Content-Type", b"application/json", fetch));
/// assert!(is_cors_safelisted_request_header("Accept-Language", b"en-GB,en;q=0.8", fetch));
/// assert!(is_cors_safelisted_request_header("Range", b"bytes=0-499", fetch));
/// assert!(!is_cors_safelisted_request_header("Range", b"bytes=-500", fetch));
/// assert!(!is_cors_safelisted_request_header("Accept", &[b'a'; 129], fetch));
/// assert!(!is_cors_safelisted_request_header("X-Requested-With", b"XMLHttpRequest", fetch));
/// ```
#[must_use]
pub fn is_cors_safelisted_request_header(name: &str, value: &[u8], safelist: Safelist) -> bool {
    if value.len() > MAX_VALUE_LENGTH {
        return false;
    }
    let Some(header) = Header::from_name(name) else {
        return false;
    };
    match header {
        Header::Accept => !value.iter().any(|&b| is_cors_unsafe_request_header_byte(b)),
        Header::AcceptLanguage | Header::ContentLanguage => {
            value.iter().all(|&b| is_language_byte(b))
        }
        Header::ContentType => is_safelisted_content_type(value),
        Header::Range => is_safelisted_range(value, safelist),
        _ if safelist == Safelist::Fetch => false,
        Header::Intervention => true,
        Header::SaveData => value.eq_ignore_ascii_case(b"on"),
        Header::DeviceMemory | Header::Dpr | Header::Downlink => is_decimal(value),
        Header::Width | Header::ViewportWidth | Header::Rtt => is_digits(value),
        Header::Ect => matches!(value, b"slow-2g" | b"2g" | b"3g" | b"4g"),
    }
}

/// Fetch's "CORS-unsafe request-header names": the names of the headers
/// that are not safelisted, plus all safelisted names when the safelisted
/// values total more than 1024 bytes; lowercased, deduplicated, sorted
/// bytewise.
///
/// A browser preflights a request with a non-empty result (unless its
/// preflight cache covers every name), and sends this list, joined by
/// commas, as `Access-Control-Request-Headers`.
///
/// ```
/// use corsair::protocol::{Safelist, cors_unsafe_request_header_names};
///
/// let headers: [(&str, &[u8]); 4] = [
///     ("X-B", b"1"),
///     ("Content-Type", b"text/plain"),
///     ("x-a", b"2"),
///     ("X-B", b"3"),
/// ];
/// assert_eq!(cors_unsafe_request_header_names(headers, Safelist::Fetch), ["x-a", "x-b"]);
///
/// // Nine safelisted 128-byte values: 1152 bytes, so all of them are unsafe.
/// let long = [b'a'; 128];
/// let headers = vec![("Accept-Language", &long[..]); 9];
/// assert_eq!(cors_unsafe_request_header_names(headers, Safelist::Fetch), ["accept-language"]);
/// ```
#[must_use]
pub fn cors_unsafe_request_header_names<'a, I>(headers: I, safelist: Safelist) -> Vec<String>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    let mut unsafe_names = Vec::new();
    let mut potentially_unsafe_names = Vec::new();
    let mut safelisted_total: usize = 0;
    for (name, value) in headers {
        if is_cors_safelisted_request_header(name, value, safelist) {
            potentially_unsafe_names.push(name);
            safelisted_total = safelisted_total.saturating_add(value.len());
        } else {
            unsafe_names.push(name);
        }
    }
    if safelisted_total > MAX_SAFELISTED_TOTAL {
        unsafe_names.append(&mut potentially_unsafe_names);
    }
    let mut names: Vec<String> = unsafe_names
        .into_iter()
        .map(str::to_ascii_lowercase)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Fetch's no-cors-safelisted request-header (what a no-cors request keeps).
///
/// That is a name among `Accept`, `Accept-Language`, `Content-Language` and
/// `Content-Type` (ASCII case-insensitive) whose pair is CORS-safelisted by
/// Fetch's rules. Everything else, `Range` included, is dropped from a
/// `no-cors` request.
///
/// ```
/// use corsair::protocol::is_no_cors_safelisted_request_header;
/// assert!(is_no_cors_safelisted_request_header("Accept", b"image/*"));
/// assert!(is_no_cors_safelisted_request_header("content-type", b"text/plain"));
/// assert!(!is_no_cors_safelisted_request_header("Content-Type", b"application/json"));
/// assert!(!is_no_cors_safelisted_request_header("Range", b"bytes=0-"));
/// assert!(!is_no_cors_safelisted_request_header("Save-Data", b"on"));
/// ```
#[must_use]
pub fn is_no_cors_safelisted_request_header(name: &str, value: &[u8]) -> bool {
    matches!(
        Header::from_name(name),
        Some(
            Header::Accept | Header::AcceptLanguage | Header::ContentLanguage | Header::ContentType
        )
    ) && is_cors_safelisted_request_header(name, value, Safelist::Fetch)
}

/// The request headers with a safelist rule, in either mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Header {
    Accept,
    AcceptLanguage,
    ContentLanguage,
    ContentType,
    Range,
    Intervention,
    SaveData,
    DeviceMemory,
    Dpr,
    Downlink,
    Width,
    ViewportWidth,
    Rtt,
    Ect,
}

impl Header {
    const NAMES: [(&'static str, Header); 14] = [
        ("accept", Header::Accept),
        ("accept-language", Header::AcceptLanguage),
        ("content-language", Header::ContentLanguage),
        ("content-type", Header::ContentType),
        ("range", Header::Range),
        ("intervention", Header::Intervention),
        ("save-data", Header::SaveData),
        ("device-memory", Header::DeviceMemory),
        ("dpr", Header::Dpr),
        ("downlink", Header::Downlink),
        ("width", Header::Width),
        ("viewport-width", Header::ViewportWidth),
        ("rtt", Header::Rtt),
        ("ect", Header::Ect),
    ];

    fn from_name(name: &str) -> Option<Header> {
        Self::NAMES
            .iter()
            .find(|(known, _)| name.eq_ignore_ascii_case(known))
            .map(|&(_, header)| header)
    }
}

/// `Accept-Language` and `Content-Language` bytes: `0-9 A-Z a-z`, space and
/// `* , - . ; =`.
const fn is_language_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b' ' | b'*' | b',' | b'-' | b'.' | b';' | b'=')
}

fn is_safelisted_content_type(value: &[u8]) -> bool {
    if value.iter().any(|&b| is_cors_unsafe_request_header_byte(b)) {
        return false;
    }
    MimeType::parse(value).is_some_and(|mime| {
        matches!(
            (mime.type_(), mime.subtype()),
            ("application", "x-www-form-urlencoded")
                | ("multipart", "form-data")
                | ("text", "plain")
        )
    })
}

/// A safelisted `Range`: Fetch's "parse a single range header value" (with
/// no whitespace allowed) succeeds and has a first position; Chromium also
/// needs both positions below 2^63 − 1.
fn is_safelisted_range(value: &[u8], safelist: Safelist) -> bool {
    let Some((first, last)) = parse_single_range(value) else {
        return false;
    };
    if first.is_empty() {
        return false;
    }
    match safelist {
        Safelist::Fetch => true,
        Safelist::Chromium => below_i64_max(first) && below_i64_max(last),
    }
}

/// Fetch's "parse a single range header value" with allowWhitespace false:
/// `bytes=` (case-sensitive), optional digits, `-`, optional digits, and
/// nothing else. Returns the two digit strings (empty when omitted); fails
/// when both are omitted or the first position exceeds the last.
fn parse_single_range(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = value.strip_prefix(b"bytes=")?;
    let digits = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    let (first, rest) = rest.split_at_checked(digits)?;
    let last = rest.strip_prefix(b"-")?;
    if !last.iter().all(u8::is_ascii_digit) || (first.is_empty() && last.is_empty()) {
        return None;
    }
    if !first.is_empty() && !last.is_empty() && compare_decimal(first, last) == Ordering::Greater {
        return None;
    }
    Some((first, last))
}

/// Compares two strings of ASCII digits as numbers of any size.
fn compare_decimal(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (strip_leading_zeros(a), strip_leading_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn strip_leading_zeros(digits: &[u8]) -> &[u8] {
    let start = digits
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(digits.len());
    digits.get(start..).unwrap_or_default()
}

/// Whether a string of ASCII digits (empty for an omitted position) is below
/// `i64::MAX`. Chromium saturates larger positions to `i64::MAX` and then
/// refuses that value.
fn below_i64_max(digits: &[u8]) -> bool {
    compare_decimal(digits, I64_MAX_DIGITS) == Ordering::Less
}

/// `i64::MAX` in decimal.
const I64_MAX_DIGITS: &[u8] = b"9223372036854775807";

/// `1*DIGIT`.
fn is_digits(value: &[u8]) -> bool {
    !value.is_empty() && value.iter().all(u8::is_ascii_digit)
}

/// `1*DIGIT ["." 1*DIGIT]`.
fn is_decimal(value: &[u8]) -> bool {
    match value.iter().position(|&b| b == b'.') {
        None => is_digits(value),
        Some(dot) => match value.split_at_checked(dot) {
            Some((whole, dot_and_fraction)) => {
                is_digits(whole) && is_digits(dot_and_fraction.get(1..).unwrap_or_default())
            }
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODES: [Safelist; 2] = [Safelist::Fetch, Safelist::Chromium];

    fn safe(name: &str, value: &[u8]) -> bool {
        let fetch = is_cors_safelisted_request_header(name, value, Safelist::Fetch);
        let chromium = is_cors_safelisted_request_header(name, value, Safelist::Chromium);
        assert_eq!(fetch, chromium, "{name}: {value:?} differs between modes");
        fetch
    }

    fn chromium_only(name: &str, value: &[u8]) -> bool {
        assert!(
            !is_cors_safelisted_request_header(name, value, Safelist::Fetch),
            "{name}: {value:?} is safelisted by Fetch"
        );
        is_cors_safelisted_request_header(name, value, Safelist::Chromium)
    }

    fn unsafe_names(headers: &[(&str, &[u8])], safelist: Safelist) -> Vec<String> {
        cors_unsafe_request_header_names(headers.iter().copied(), safelist)
    }

    /// `value` padded with `filler` to exactly `length` bytes.
    fn padded(value: &str, filler: u8, length: usize) -> Vec<u8> {
        let mut out = value.as_bytes().to_vec();
        out.resize(length, filler);
        out
    }

    #[test]
    fn unsafe_bytes_are_exactly_fetchs() {
        let listed = b"\"():<>?@[\\]{}\x7f";
        for byte in 0..=255u8 {
            let expected = (byte < 0x20 && byte != 0x09) || listed.contains(&byte);
            assert_eq!(
                is_cors_unsafe_request_header_byte(byte),
                expected,
                "byte {byte:#04x}"
            );
        }
    }

    #[test]
    fn accept_refuses_each_unsafe_byte() {
        for byte in 0..=255u8 {
            let value = [b'a', byte, b'b'];
            assert_eq!(
                safe("Accept", &value),
                !is_cors_unsafe_request_header_byte(byte),
                "byte {byte:#04x}"
            );
        }
        assert!(safe("accept", b"*/*"));
        assert!(safe(
            "ACCEPT",
            b"text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
        ));
        assert!(safe("Accept", b""));
        assert!(safe("Accept", b"\t"));
        assert!(!safe("Accept", b"application/json\n"));
    }

    #[test]
    fn languages_allow_only_their_bytes() {
        let allowed = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz *,-.;=";
        for name in ["Accept-Language", "content-language", "CONTENT-LANGUAGE"] {
            for byte in 0..=255u8 {
                assert_eq!(
                    safe(name, &[byte]),
                    allowed.contains(&byte),
                    "{name}: byte {byte:#04x}"
                );
            }
            assert!(safe(name, b"en-US,en;q=0.9,fr;q=0.8"));
            assert!(safe(name, b"*"));
            assert!(safe(name, b""));
            assert!(!safe(name, b"en_US"));
            assert!(!safe(name, b"de\tDE"));
            assert!(!safe(name, b"\"en\""));
        }
    }

    #[test]
    fn content_types() {
        for value in [
            "text/plain",
            "text/plain;charset=utf-8",
            "text/plain; charset=utf-8",
            "TEXT/PLAIN",
            "Text/Plain;Charset=UTF-8",
            " text/plain ",
            "\ttext/plain\t",
            "text/plain;",
            "text/plain;charset",
            "text/plain;charset=utf-8;charset=latin1",
            "text/plain;x=\u{e9}",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded;charset=UTF-8",
            "multipart/form-data",
            "multipart/form-data; boundary=something",
            "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
        ] {
            assert!(safe("Content-Type", value.as_bytes()), "{value:?}");
        }
        for value in [
            "",
            "application/json",
            "text/html",
            "text/plain2",
            "text/*",
            "*/*",
            "text",
            "text/",
            "/plain",
            "text /plain",
            "text/plain,application/json",
            "application/json,text/plain",
            "text/plain, text/plain",
            "multipart/form-data; boundary=\"x\"",
            "text/plain; charset=\"utf-8\"",
            "text/plain;charset=utf-8\n",
            "\ntext/plain",
            "text/plain\r",
            "text/plain;a=(b)",
            "text/plain;a=b:c",
            "text/plain;a=b@c",
            "text/plain;a=<b>",
            "text/plain;a=?",
            "text/plain;a=[b]",
            "text/plain;a=\\b",
            "text/plain;a={b}",
            "text/plain\x7f",
            "text/plain\x0c",
            "application/csp-report",
        ] {
            assert!(!safe("Content-Type", value.as_bytes()), "{value:?}");
        }
        assert!(safe("content-type", b"text/plain"));
        assert!(safe("CONTENT-TYPE", b"text/plain"));
    }

    #[test]
    fn ranges() {
        for value in [
            "bytes=0-",
            "bytes=0-0",
            "bytes=5-10",
            "bytes=10-10",
            "bytes=009-10",
            "bytes=0-00",
            "bytes=00-0",
            "bytes=123456789-",
            "bytes=9223372036854775806-9223372036854775806",
        ] {
            assert!(safe("Range", value.as_bytes()), "{value:?}");
        }
        for value in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=-5",
            "bytes=-0",
            "bytes=10-5",
            "bytes=0010-9",
            "bytes=100000000000000000000-99999999999999999999",
            "Bytes=0-",
            "BYTES=0-",
            "bytes =0-",
            "bytes= 0-",
            "bytes=0 -",
            "bytes=0- 1",
            "bytes=0-1 ",
            " bytes=0-1",
            "bytes=\t0-1",
            "bytes=0-1,",
            "bytes=0-1,2-3",
            "bytes=0--1",
            "bytes=a-",
            "bytes=0-a",
            "bytes=+1-",
            "bytes=1.5-",
            "bytes=\u{661}-",
            "items=0-",
            "bytes:0-",
        ] {
            assert!(!safe("Range", value.as_bytes()), "{value:?}");
        }
        assert!(safe("RANGE", b"bytes=0-1"));
    }

    #[test]
    fn huge_range_positions_differ_only_in_chromium() {
        let fetch = |v: &[u8]| is_cors_safelisted_request_header("Range", v, Safelist::Fetch);
        let chromium = |v: &[u8]| is_cors_safelisted_request_header("Range", v, Safelist::Chromium);
        for value in [
            &b"bytes=9223372036854775807-"[..],
            b"bytes=0-9223372036854775807",
            b"bytes=99999999999999999999-",
            b"bytes=1-99999999999999999999999999999999",
        ] {
            assert!(fetch(value), "{value:?}");
            assert!(!chromium(value), "{value:?}");
        }
        let padded_one = b"bytes=0000000000000000000000000000001-2";
        assert!(fetch(padded_one) && chromium(padded_one));
        let below = b"bytes=9223372036854775806-";
        assert!(fetch(below) && chromium(below));
    }

    #[test]
    fn the_128_byte_limit_applies_to_every_name() {
        let cases: [(&str, Vec<u8>, Vec<u8>); 5] = [
            ("Accept", padded("", b'a', 128), padded("", b'a', 129)),
            (
                "Accept-Language",
                padded("", b'a', 128),
                padded("", b'a', 129),
            ),
            (
                "Content-Language",
                padded("", b' ', 128),
                padded("", b' ', 129),
            ),
            (
                "Content-Type",
                padded("text/plain;a=", b'b', 128),
                padded("text/plain;a=", b'b', 129),
            ),
            (
                "Range",
                padded("bytes=0-", b'0', 128),
                padded("bytes=0-", b'0', 129),
            ),
        ];
        for (name, at_limit, over) in &cases {
            assert_eq!((at_limit.len(), over.len()), (128, 129));
            assert!(safe(name, at_limit), "{name} at 128 bytes");
            assert!(!safe(name, over), "{name} at 129 bytes");
        }
        let chromium: [(&str, Vec<u8>, Vec<u8>); 5] = [
            ("Intervention", padded("", b'x', 128), padded("", b'x', 129)),
            ("DPR", padded("1.", b'5', 128), padded("1.", b'5', 129)),
            (
                "Device-Memory",
                padded("", b'8', 128),
                padded("", b'8', 129),
            ),
            ("Width", padded("", b'1', 128), padded("", b'1', 129)),
            ("RTT", padded("", b'0', 128), padded("", b'0', 129)),
        ];
        for (name, at_limit, over) in &chromium {
            assert!(chromium_only(name, at_limit), "{name} at 128 bytes");
            assert!(!chromium_only(name, over), "{name} at 129 bytes");
        }
    }

    #[test]
    fn other_names_are_never_safelisted() {
        for name in [
            "",
            "X-Requested-With",
            "Authorization",
            "Cache-Control",
            "Content-Length",
            "Accept-Encoding",
            "Accept-Charset",
            "Origin",
            "User-Agent",
            "Lang",
            "Sec-CH-UA",
            "Sec-CH-Viewport-Width",
            "Sec-CH-DPR",
            " accept",
            "accept ",
            "accept-",
            "acceptlanguage",
            "content_type",
            "Ranges",
            "\u{130}ntervention",
        ] {
            for mode in MODES {
                assert!(
                    !is_cors_safelisted_request_header(name, b"1", mode),
                    "{name:?} {mode:?}"
                );
                assert!(
                    !is_cors_safelisted_request_header(name, b"", mode),
                    "{name:?} {mode:?}"
                );
            }
        }
    }

    #[test]
    fn chromium_extras() {
        assert!(chromium_only("Intervention", b""));
        assert!(chromium_only(
            "intervention",
            b"<https://www.chromestatus.com/feature/1>; level=\"warning\""
        ));

        assert!(chromium_only("Save-Data", b"on"));
        assert!(chromium_only("save-data", b"ON"));
        assert!(chromium_only("SAVE-DATA", b"On"));
        for value in ["off", "", "on ", " on", "1", "true", "onn"] {
            assert!(!chromium_only("Save-Data", value.as_bytes()), "{value:?}");
        }

        for name in ["Device-Memory", "DPR", "dpr", "Downlink"] {
            for value in ["0", "2", "2.0", "0.5", "10.25", "007.700"] {
                assert!(chromium_only(name, value.as_bytes()), "{name}: {value:?}");
            }
            for value in [
                "", ".5", "5.", "1.2.3", "1,5", "-1", "+1", "1e3", " 1", "1 ", "١", "0x1",
            ] {
                assert!(!chromium_only(name, value.as_bytes()), "{name}: {value:?}");
            }
        }

        for name in ["Width", "Viewport-Width", "viewport-width", "RTT", "rtt"] {
            for value in ["0", "1", "1920", "00050"] {
                assert!(chromium_only(name, value.as_bytes()), "{name}: {value:?}");
            }
            for value in ["", "1.0", "-1", "+1", " 1", "1px", "0x10"] {
                assert!(!chromium_only(name, value.as_bytes()), "{name}: {value:?}");
            }
        }

        for value in ["slow-2g", "2g", "3g", "4g"] {
            assert!(chromium_only("ECT", value.as_bytes()), "{value:?}");
            assert!(chromium_only("ect", value.as_bytes()), "{value:?}");
        }
        for value in [
            "", "4G", "Slow-2G", "5g", "offline", "unknown", "4g ", "wifi",
        ] {
            assert!(!chromium_only("ECT", value.as_bytes()), "{value:?}");
        }
    }

    #[test]
    fn fetch_names_are_the_same_in_both_modes() {
        // `safe` asserts both modes agree.
        assert!(safe("Accept", b"*/*"));
        assert!(safe("Accept-Language", b"en"));
        assert!(safe("Content-Language", b"en"));
        assert!(safe("Content-Type", b"text/plain"));
        assert!(safe("Range", b"bytes=0-1"));
        assert!(!safe("Content-Type", b"application/json"));
    }

    #[test]
    fn unsafe_names_are_lowercased_deduplicated_and_sorted() {
        let headers: [(&str, &[u8]); 7] = [
            ("X-Zeta", b"1"),
            ("x-alpha", b"1"),
            ("X-ALPHA", b"2"),
            ("Content-Type", b"application/json"),
            ("Accept", b"*/*"),
            ("content-type", b"text/plain"),
            ("X-_", b"1"),
        ];
        // Bytewise: `_` (0x5F) sorts before lowercase letters.
        assert_eq!(
            unsafe_names(&headers, Safelist::Fetch),
            ["content-type", "x-_", "x-alpha", "x-zeta"]
        );
        assert_eq!(unsafe_names(&[], Safelist::Fetch), Vec::<String>::new());
        let only_safe: [(&str, &[u8]); 2] = [("Accept", b"*/*"), ("Range", b"bytes=0-")];
        assert!(unsafe_names(&only_safe, Safelist::Fetch).is_empty());
        let mixed_case: [(&str, &[u8]); 3] = [("B", b"!"), ("a", b"!"), ("C", b"!")];
        assert_eq!(unsafe_names(&mixed_case, Safelist::Fetch), ["a", "b", "c"]);
    }

    #[test]
    fn unsafe_names_depend_on_the_mode() {
        let headers: [(&str, &[u8]); 3] =
            [("DPR", b"2.0"), ("Save-Data", b"on"), ("Accept", b"*/*")];
        assert_eq!(
            unsafe_names(&headers, Safelist::Fetch),
            ["dpr", "save-data"]
        );
        assert!(unsafe_names(&headers, Safelist::Chromium).is_empty());
        let off: [(&str, &[u8]); 1] = [("Save-Data", b"off")];
        assert_eq!(unsafe_names(&off, Safelist::Chromium), ["save-data"]);
    }

    #[test]
    fn safelisted_values_over_1024_bytes_become_unsafe() {
        let full = padded("", b'a', 128);
        let v127 = padded("", b'a', 127);
        let v126 = padded("", b'a', 126);
        let mut headers: Vec<(&str, &[u8])> = vec![("Accept", &full[..]); 7]; // 896 bytes
        headers.push(("Content-Language", &v126)); // 1022
        headers.push(("Accept-Language", b"en")); // 1024
        headers.push(("X-Custom", b"1"));
        for mode in MODES {
            assert_eq!(
                unsafe_names(&headers, mode),
                ["x-custom"],
                "exactly 1024 bytes"
            );
        }

        if let Some(entry) = headers.get_mut(7) {
            *entry = ("Content-Language", &v127); // 1025
        }
        for mode in MODES {
            assert_eq!(
                unsafe_names(&headers, mode),
                ["accept", "accept-language", "content-language", "x-custom"],
                "1025 bytes"
            );
        }

        // Four 128-byte values are far below the total.
        let four = vec![("Accept-Language", &full[..]); 4];
        assert!(unsafe_names(&four, Safelist::Fetch).is_empty());
        // Eight are exactly 1024; one more byte anywhere tips them over.
        let mut eight = vec![("Accept-Language", &full[..]); 8];
        assert!(unsafe_names(&eight, Safelist::Fetch).is_empty());
        eight.push(("Range", b"bytes=0-"));
        assert_eq!(
            unsafe_names(&eight, Safelist::Fetch),
            ["accept-language", "range"]
        );
    }

    #[test]
    fn unsafe_values_do_not_count_toward_the_total() {
        let huge = vec![b'a'; 4096];
        let headers: [(&str, &[u8]); 3] = [
            ("Accept", &huge), // over 128 bytes: unsafe itself, not counted
            ("X-Big", &huge),
            ("Content-Language", b"en"),
        ];
        assert_eq!(unsafe_names(&headers, Safelist::Fetch), ["accept", "x-big"]);
    }

    #[test]
    fn chromium_extras_count_toward_the_total() {
        let full = padded("", b'1', 128);
        let mut headers: Vec<(&str, &[u8])> = vec![("Width", &full[..]); 8];
        assert!(unsafe_names(&headers, Safelist::Chromium).is_empty());
        headers.push(("Save-Data", b"on"));
        assert_eq!(
            unsafe_names(&headers, Safelist::Chromium),
            ["save-data", "width"]
        );
    }

    #[test]
    fn no_cors_keeps_only_four_names_with_fetch_values() {
        assert!(is_no_cors_safelisted_request_header("Accept", b"*/*"));
        assert!(is_no_cors_safelisted_request_header(
            "ACCEPT-LANGUAGE",
            b"en"
        ));
        assert!(is_no_cors_safelisted_request_header(
            "Content-Language",
            b"de-DE"
        ));
        assert!(is_no_cors_safelisted_request_header(
            "Content-Type",
            b"multipart/form-data; boundary=x"
        ));
        assert!(!is_no_cors_safelisted_request_header(
            "Content-Type",
            b"application/json"
        ));
        assert!(!is_no_cors_safelisted_request_header("Accept", b"a\"b"));
        assert!(!is_no_cors_safelisted_request_header(
            "Accept",
            &[b'a'; 129]
        ));
        for (name, value) in [
            ("Range", &b"bytes=0-"[..]),
            ("Save-Data", b"on"),
            ("DPR", b"2"),
            ("Intervention", b"x"),
            ("X-Custom", b"1"),
        ] {
            assert!(!is_no_cors_safelisted_request_header(name, value), "{name}");
        }
    }

    #[test]
    fn decimal_and_digit_grammars() {
        assert!(is_digits(b"0") && is_digits(b"0123456789"));
        assert!(!is_digits(b"") && !is_digits(b"1a"));
        assert!(is_decimal(b"1") && is_decimal(b"1.0") && is_decimal(b"12.34"));
        assert!(!is_decimal(b"") && !is_decimal(b".") && !is_decimal(b"1.") && !is_decimal(b".1"));
        assert!(!is_decimal(b"1..2") && !is_decimal(b"1.2."));
    }

    #[test]
    fn decimal_comparison_handles_any_length() {
        assert_eq!(compare_decimal(b"0", b"000"), Ordering::Equal);
        assert_eq!(compare_decimal(b"", b"0"), Ordering::Equal);
        assert_eq!(compare_decimal(b"9", b"10"), Ordering::Less);
        assert_eq!(compare_decimal(b"0010", b"9"), Ordering::Greater);
        assert_eq!(
            compare_decimal(
                b"123456789012345678901234567890",
                b"123456789012345678901234567891"
            ),
            Ordering::Less
        );
        assert_eq!(I64_MAX_DIGITS, i64::MAX.to_string().as_bytes());
        assert!(below_i64_max(b"") && below_i64_max(b"9223372036854775806"));
        assert!(!below_i64_max(b"9223372036854775807") && !below_i64_max(b"10000000000000000000"));
    }
}
