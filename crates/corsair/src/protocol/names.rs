//! Header names that Fetch forbids or safelists, and the CORS response headers.

use super::method::is_forbidden_method;
use super::mime::collect_http_quoted_string;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, HeaderName,
};

/// The response headers through which a server speaks CORS. corsair owns them:
/// any of these set by an application or an upstream is replaced by the policy's.
pub const CORS_RESPONSE_HEADERS: [HeaderName; 6] = [
    ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE,
];

/// `Access-Control-Allow-Private-Network`, with which a preflight answer
/// grants a public page access to a private-network server (Private Network
/// Access); the `http` crate has no constant for it.
pub static ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-allow-private-network");

/// `Timing-Allow-Origin`, with which a response lets the origins it names
/// see its Resource Timing details (the `http` crate has no constant for
/// it).
pub static TIMING_ALLOW_ORIGIN: HeaderName = HeaderName::from_static("timing-allow-origin");

/// `Sec-Fetch-Site`, with which a browser says how the request's initiator
/// relates to its target: `same-origin`, `same-site`, `cross-site` or
/// `none` (a user's own navigation).
pub static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Whether `name` belongs to the CORS protocol: `Access-Control-*`, in a
/// request or a response.
///
/// ```
/// use corsair::protocol::is_cors_header;
/// assert!(is_cors_header("Access-Control-Allow-Origin"));
/// assert!(is_cors_header("access-control-request-private-network"));
/// assert!(!is_cors_header("origin"));
/// ```
#[must_use]
pub fn is_cors_header(name: &str) -> bool {
    name.get(..15)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("access-control-"))
}

/// Fetch's forbidden request-header names, lowercase (the `proxy-` and `sec-`
/// prefixes are checked separately).
const FORBIDDEN_REQUEST_HEADERS: [&str; 21] = [
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

/// Whether a script is forbidden to set the request header `name` (compared
/// case-insensitively): the names Fetch lists, and any name starting with
/// `proxy-` or `sec-`. A browser never lists these in
/// `Access-Control-Request-Headers`, so allowing them is always a mistake.
///
/// (`X-HTTP-Method-Override` and its siblings are forbidden only for some
/// values, so they are not forbidden names.)
///
/// ```
/// use corsair::protocol::is_forbidden_request_header;
/// assert!(is_forbidden_request_header("Host"));
/// assert!(is_forbidden_request_header("Proxy-Authorization"));
/// assert!(is_forbidden_request_header("Sec-CH-UA"));
/// assert!(!is_forbidden_request_header("Authorization"));
/// assert!(!is_forbidden_request_header("X-HTTP-Method-Override"));
/// ```
#[must_use]
pub fn is_forbidden_request_header(name: &str) -> bool {
    starts_with_ignore_case(name, "proxy-")
        || starts_with_ignore_case(name, "sec-")
        || FORBIDDEN_REQUEST_HEADERS
            .iter()
            .any(|forbidden| name.eq_ignore_ascii_case(forbidden))
}

/// Whether the header (`name`, `value`) is a forbidden request-header
/// (Fetch): a forbidden name (see [`is_forbidden_request_header`]), or
/// `X-HTTP-Method`, `X-HTTP-Method-Override` or `X-Method-Override` whose
/// value, split on commas and trimmed of spaces and tabs, contains a
/// forbidden method (`CONNECT`, `TRACE`, `TRACK`, case-insensitively).
///
/// The split is Fetch's "get, decode, and split": a comma inside a quoted
/// string does not split, and the quotes stay part of the element, so
/// `"TRACE"` is not a forbidden method. Only Fetch's "HTTP tab or space" is
/// trimmed, not CR or LF (which a valid header value cannot hold anyway).
///
/// ```
/// use corsair::protocol::is_forbidden_request_header_pair;
/// assert!(is_forbidden_request_header_pair("Cookie", b"a=b"));
/// assert!(is_forbidden_request_header_pair("X-HTTP-Method-Override", b"trace"));
/// assert!(is_forbidden_request_header_pair("x-method-override", b"GET, Connect"));
/// assert!(!is_forbidden_request_header_pair("X-HTTP-Method-Override", b"PATCH"));
/// assert!(!is_forbidden_request_header_pair("X-HTTP-Method", b"\"TRACE\""));
/// assert!(!is_forbidden_request_header_pair("X-Custom", b"TRACE"));
/// ```
#[must_use]
pub fn is_forbidden_request_header_pair(name: &str, value: &[u8]) -> bool {
    if is_forbidden_request_header(name) {
        return true;
    }
    let overrides_method = [
        "x-http-method",
        "x-http-method-override",
        "x-method-override",
    ]
    .iter()
    .any(|header| name.eq_ignore_ascii_case(header));
    overrides_method
        && split_header_value(value)
            .into_iter()
            .any(|method| std::str::from_utf8(method).is_ok_and(is_forbidden_method))
}

/// Fetch's "get, decode, and split" of one header value: the elements
/// between commas that are outside quoted strings, each trimmed of spaces
/// and tabs. Quoted strings stay in the elements verbatim, quotes included.
fn split_header_value(value: &[u8]) -> Vec<&[u8]> {
    let mut elements = Vec::new();
    let mut start = 0;
    let mut position = 0;
    while let Some(&byte) = value.get(position) {
        match byte {
            b',' => {
                elements.push(trim_tab_or_space(
                    value.get(start..position).unwrap_or_default(),
                ));
                start = position + 1;
                position = start;
            }
            b'"' => {
                let rest = value.get(position..).unwrap_or_default();
                let (_, used) = collect_http_quoted_string(rest);
                position = position.saturating_add(used.max(1));
            }
            _ => position += 1,
        }
    }
    elements.push(trim_tab_or_space(value.get(start..).unwrap_or_default()));
    elements
}

/// `bytes` without Fetch's "HTTP tab or space" (HT, SP) at either end.
fn trim_tab_or_space(bytes: &[u8]) -> &[u8] {
    let is_tab_or_space = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes
        .iter()
        .position(|b| !is_tab_or_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_tab_or_space(b))
        .map_or(start, |last| last + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Whether `name` is a forbidden response-header name (`Set-Cookie`,
/// `Set-Cookie2`): browsers never expose them to scripts.
///
/// ```
/// use corsair::protocol::is_forbidden_response_header;
/// assert!(is_forbidden_response_header("set-cookie"));
/// assert!(!is_forbidden_response_header("x-request-id"));
/// ```
#[must_use]
pub fn is_forbidden_response_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("set-cookie") || name.eq_ignore_ascii_case("set-cookie2")
}

/// Whether `name` is a CORS-safelisted response-header name, which scripts
/// may always read: `Cache-Control`, `Content-Language`, `Content-Length`,
/// `Content-Type`, `Expires`, `Last-Modified`, `Pragma`.
///
/// ```
/// use corsair::protocol::is_safelisted_response_header;
/// assert!(is_safelisted_response_header("Content-Type"));
/// assert!(!is_safelisted_response_header("x-request-id"));
/// ```
#[must_use]
pub fn is_safelisted_response_header(name: &str) -> bool {
    [
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    ]
    .iter()
    .any(|safe| name.eq_ignore_ascii_case(safe))
}

fn starts_with_ignore_case(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_is_forbidden_in_any_case() {
        for name in FORBIDDEN_REQUEST_HEADERS {
            assert!(is_forbidden_request_header(name));
            assert!(is_forbidden_request_header(&name.to_ascii_uppercase()));
        }
    }

    #[test]
    fn forbidden_names_are_forbidden_whatever_the_value() {
        for name in FORBIDDEN_REQUEST_HEADERS {
            assert!(is_forbidden_request_header_pair(name, b""));
            assert!(is_forbidden_request_header_pair(
                &name.to_ascii_uppercase(),
                b"x"
            ));
        }
        assert!(is_forbidden_request_header_pair("Sec-Fetch-Site", b"none"));
        assert!(is_forbidden_request_header_pair(
            "Proxy-Authorization",
            b"Basic x"
        ));
        assert!(!is_forbidden_request_header_pair("Authorization", b"TRACE"));
        assert!(!is_forbidden_request_header_pair("X-Method", b"TRACE"));
    }

    #[test]
    fn method_override_headers_are_forbidden_with_a_forbidden_method() {
        let names = [
            "X-HTTP-Method",
            "x-http-method-override",
            "X-METHOD-OVERRIDE",
            "X-Http-Method-Override",
        ];
        for name in names {
            for value in [
                &b"TRACE"[..],
                b"trace",
                b"Track",
                b"CONNECT",
                b" TRACE ",
                b"\tTRACE\t",
                b"GET,TRACE",
                b"GET, TRACK",
                b"TRACE, GET",
                b",,connect,,",
                b"\"a,b\", TRACE",
                b"PUT,\"x\",TRACE",
            ] {
                assert!(
                    is_forbidden_request_header_pair(name, value),
                    "{name}: {value:?}"
                );
            }
            for value in [
                &b""[..],
                b"GET",
                b"PATCH, DELETE",
                b"TRACES",
                b"TRACE-X",
                b"TR ACE",
                b"\"TRACE\"",
                b"\"GET,TRACE\"",
                b"\"GET\",\"TRACE\"",
                b"x\"a,TRACE\"",
                b"\"unterminated, TRACE",
                b"\rTRACE",
                b"TRACE\n",
                b"TRAC\xc9",
            ] {
                assert!(
                    !is_forbidden_request_header_pair(name, value),
                    "{name}: {value:?}"
                );
            }
        }
    }

    #[test]
    fn header_values_split_like_fetch() {
        let split = |value: &[u8]| -> Vec<Vec<u8>> {
            split_header_value(value)
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect()
        };
        let owned = |parts: &[&str]| -> Vec<Vec<u8>> {
            parts.iter().map(|p| p.as_bytes().to_vec()).collect()
        };
        // The examples of Fetch's "get, decode, and split".
        assert_eq!(split(b"nosniff,"), owned(&["nosniff", ""]));
        assert_eq!(split(b""), owned(&[""]));
        assert_eq!(split(b"text/html;\", x/x"), owned(&["text/html;\", x/x"]));
        assert_eq!(
            split(b"x/x;test=\"hi\",y/y"),
            owned(&["x/x;test=\"hi\"", "y/y"])
        );
        assert_eq!(split(b"x / x,,,1"), owned(&["x / x", "", "", "1"]));
        assert_eq!(split(b"\"1,2\", 3"), owned(&["\"1,2\"", "3"]));
        // Escapes inside quotes do not end them.
        assert_eq!(split(b"\"a\\\",b\",c"), owned(&["\"a\\\",b\"", "c"]));
        // Only spaces and tabs are trimmed.
        assert_eq!(split(b" \ta\t , b\r"), owned(&["a", "b\r"]));
    }

    #[test]
    fn prefixes_need_the_dash() {
        assert!(is_forbidden_request_header("proxy-"));
        assert!(!is_forbidden_request_header("proxy"));
        assert!(!is_forbidden_request_header("secret"));
        assert!(!is_forbidden_request_header("x-sec-token"));
    }
}
