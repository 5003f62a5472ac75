//! Header names that Fetch forbids or safelists, and the CORS response headers.

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
    fn prefixes_need_the_dash() {
        assert!(is_forbidden_request_header("proxy-"));
        assert!(!is_forbidden_request_header("proxy"));
        assert!(!is_forbidden_request_header("secret"));
        assert!(!is_forbidden_request_header("x-sec-token"));
    }
}
