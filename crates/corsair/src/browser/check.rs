//! The browser's checks of what a server answered: the CORS check (Fetch
//! §CORS check), the preflight answer (§CORS-preflight fetch), its max age,
//! and the headers a script may read (§Main fetch, CORS filtered response).

use std::time::Duration;

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    AsHeaderName, LOCATION,
};
use http::{HeaderMap, StatusCode};
use url::Url;

use super::engine::Engine;
use super::error::{Blocked, CorsFailure};
use super::plan::Plan;
use super::profile::Profile;
use crate::protocol::{
    ListLimits, TokenList, is_forbidden_response_header, is_safelisted_method,
    is_safelisted_response_header,
};

/// How long a preflight answer is cached when `Access-Control-Max-Age` is
/// missing or unreadable.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5);

/// The values of every line of `name`, joined with `", "` as Fetch's "get"
/// does; `None` when there is no such header. Bytes that are not UTF-8 are
/// replaced, which only ever makes a comparison fail.
fn combined<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Option<String> {
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    let values: Vec<String> = lines
        .map(|line| String::from_utf8_lossy(line.as_bytes()).into_owned())
        .collect();
    Some(values.join(", "))
}

/// A header's value as Fetch "gets" it: every line of `name`, joined with
/// `", "`; `None` when there is none. Bytes that are not UTF-8 are
/// replaced, which only ever makes a comparison fail.
///
/// ```
/// use corsair::browser::header_value;
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.append("vary", HeaderValue::from_static("Origin"));
/// headers.append("vary", HeaderValue::from_static("Cookie"));
/// assert_eq!(header_value(&headers, "vary").as_deref(), Some("Origin, Cookie"));
/// assert_eq!(header_value(&headers, "age"), None);
/// ```
#[must_use]
pub fn header_value<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Option<String> {
    combined(headers, name)
}

/// `Access-Control-Allow-Origin` as the CORS check reads it: every line,
/// joined with `", "` (so two lines never equal one origin); `None` when
/// absent.
///
/// ```
/// use corsair::browser::allow_origin;
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.append("access-control-allow-origin", HeaderValue::from_static("https://a.example"));
/// assert_eq!(allow_origin(&headers).as_deref(), Some("https://a.example"));
/// headers.append("access-control-allow-origin", HeaderValue::from_static("https://b.example"));
/// assert_eq!(allow_origin(&headers).as_deref(), Some("https://a.example, https://b.example"));
/// ```
#[must_use]
pub fn allow_origin(headers: &HeaderMap) -> Option<String> {
    combined(headers, &ACCESS_CONTROL_ALLOW_ORIGIN)
}

/// Whether `Access-Control-Allow-Credentials` is exactly `true`, the only
/// value with which a credentialed response passes the CORS check.
///
/// ```
/// use corsair::browser::allows_credentials;
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("access-control-allow-credentials", HeaderValue::from_static("TRUE"));
/// assert!(!allows_credentials(&headers));
/// headers.insert("access-control-allow-credentials", HeaderValue::from_static("true"));
/// assert!(allows_credentials(&headers));
/// ```
#[must_use]
pub fn allows_credentials(headers: &HeaderMap) -> bool {
    combined(headers, &ACCESS_CONTROL_ALLOW_CREDENTIALS).as_deref() == Some("true")
}

/// The elements of the comma-separated header `name` (`Vary`,
/// `Access-Control-Allow-Methods`...) across all its lines, parsed as the
/// browser parses them; `None` when a line does not parse, which a browser
/// treats as a failed check. An absent header is an empty list.
///
/// ```
/// use corsair::browser::header_list;
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.append("vary", HeaderValue::from_static("Accept-Encoding"));
/// headers.append("vary", HeaderValue::from_static("Origin ,Cookie"));
/// assert_eq!(header_list(&headers, "vary").unwrap(), ["Accept-Encoding", "Origin", "Cookie"]);
/// headers.insert("access-control-allow-methods", HeaderValue::from_static("GET POST"));
/// assert_eq!(header_list(&headers, "access-control-allow-methods"), None);
/// ```
#[must_use]
pub fn header_list<K: AsHeaderName + Copy>(headers: &HeaderMap, name: K) -> Option<Vec<String>> {
    token_list(headers, name).ok()
}

/// Fetch's CORS check of a response's headers, for a request from `origin`
/// (`null` for an opaque origin) with or without credentials mode `include`.
///
/// ```
/// use corsair::browser::{cors_check, CorsFailure};
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
/// assert_eq!(cors_check(&headers, "https://app.example.com", false), Ok(()));
/// assert_eq!(
///     cors_check(&headers, "https://app.example.com", true),
///     Err(CorsFailure::WildcardWithCredentials)
/// );
/// ```
///
/// # Errors
/// The [`CorsFailure`] Chromium reports.
pub fn cors_check(
    headers: &HeaderMap,
    origin: &str,
    include_credentials: bool,
) -> Result<(), CorsFailure> {
    let allow_origin = allow_origin(headers).ok_or(CorsFailure::MissingAllowOrigin)?;
    if !include_credentials && allow_origin == "*" {
        return Ok(());
    }
    if allow_origin != origin {
        return Err(if allow_origin == "*" {
            CorsFailure::WildcardWithCredentials
        } else if allow_origin.contains([',', ' ']) {
            CorsFailure::MultipleAllowOrigin {
                value: allow_origin,
            }
        } else if allow_origin != "null" && Url::parse(&allow_origin).is_err() {
            CorsFailure::InvalidAllowOrigin {
                value: allow_origin,
            }
        } else {
            CorsFailure::AllowOriginMismatch {
                value: allow_origin,
            }
        });
    }
    if !include_credentials {
        return Ok(());
    }
    if allows_credentials(headers) {
        Ok(())
    } else {
        Err(CorsFailure::CredentialsNotTrue {
            value: combined(headers, &ACCESS_CONTROL_ALLOW_CREDENTIALS).unwrap_or_default(),
        })
    }
}

/// The methods and header names a preflight answer allowed, and for how
/// long.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreflightResult {
    /// `Access-Control-Allow-Methods`, byte for byte.
    pub methods: Vec<String>,
    /// `Access-Control-Allow-Headers`, lowercase.
    pub headers: Vec<String>,
    /// How long the answer may be cached, after the browser's cap.
    pub max_age: Duration,
    /// Whether the preflight was for a request in credentials mode
    /// `include`; `*` is then literal.
    pub credentials: bool,
}

impl PreflightResult {
    /// Whether the answer allows `method` (already normalised): a
    /// safelisted method, a byte-exact entry, or `*` without credentials.
    #[must_use]
    pub fn allows_method(&self, method: &str) -> bool {
        is_safelisted_method(method)
            || self.methods.iter().any(|allowed| allowed == method)
            || (!self.credentials && self.methods.iter().any(|allowed| allowed == "*"))
    }

    /// The first of `names` (lowercase) the answer does not allow: each needs
    /// a case-insensitive entry, or `*` without credentials (which covers
    /// `Authorization` only where `profile` says so).
    #[must_use]
    pub fn first_disallowed_header<'a>(
        &self,
        names: &'a [String],
        profile: &Profile,
    ) -> Option<&'a str> {
        let wildcard = !self.credentials && self.headers.iter().any(|allowed| allowed == "*");
        names
            .iter()
            .find(|name| {
                let listed = self
                    .headers
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(name));
                let covered = wildcard
                    && (name.as_str() != "authorization" || profile.wildcard_covers_authorization);
                !listed && !covered
            })
            .map(String::as_str)
    }
}

/// The elements of a token-list header (`Access-Control-Allow-Methods`,
/// `-Allow-Headers`, `-Expose-Headers`) as a browser reads it: every line,
/// split on commas, trimmed, empty elements skipped. `Err` with the combined
/// value when an element is not a token; an absent header is an empty list.
fn token_list<K: AsHeaderName + Copy>(headers: &HeaderMap, name: K) -> Result<Vec<String>, String> {
    let unbounded = ListLimits {
        max_bytes: usize::MAX,
        max_elements: usize::MAX,
        max_whitespace: usize::MAX,
    };
    let mut list = TokenList::new(unbounded);
    let mut elements = Vec::new();
    let failure = || combined(headers, name).unwrap_or_default();
    for line in headers.get_all(name) {
        for element in list.line(line.as_bytes()).map_err(|_| failure())? {
            elements.push(element.map_err(|_| failure())?.to_owned());
        }
    }
    Ok(elements)
}

/// Whether a response is a redirect the browser would follow: a redirect
/// status (301, 302, 303, 307 or 308) with a `Location` header. Any other
/// 3xx (300, 304, or a 302 without `Location`) is an ordinary response, as
/// in Fetch and in Chromium's network stack.
pub(crate) fn is_redirect(status: StatusCode, headers: &HeaderMap) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) && headers.contains_key(LOCATION)
}

/// Checks the answer to the preflight of `plan` as `profile`'s engine
/// does: no redirect, the CORS check with the request's credentials mode,
/// an ok status, parseable lists that allow the method and every
/// CORS-unsafe header.
///
/// Fetch never follows a preflight's redirect: any 3xx simply fails the ok
/// status check. The engines report the first failure in their own order,
/// which decides what their consoles say:
/// - Chromium reports a redirect ([`Blocked::PreflightRedirect`]) first, but
///   only for what its network stack would follow (see `is_redirect`); a
///   304, a 300 or a 302 without `Location` gets the CORS check, then "It
///   does not have HTTP ok status." (Chromium 156);
/// - Firefox runs the CORS check first, then refuses the redirect;
/// - WebKit checks the status first (a redirect is a status that is not
///   ok), then the CORS check.
///
/// # Errors
/// The [`Blocked`] reason, always one for which
/// [`Blocked::is_preflight`] is true.
pub fn check_preflight(
    plan: &Plan,
    status: StatusCode,
    headers: &HeaderMap,
    profile: &Profile,
) -> Result<PreflightResult, Blocked> {
    let credentials = plan.includes_credentials();
    let redirect = || {
        if is_redirect(status, headers) {
            Err(Blocked::PreflightRedirect { status })
        } else {
            Ok(())
        }
    };
    // The origin the preflight said, which is not always the request's
    // (Firefox's preflights after a redirect carry the page's).
    let origin = plan
        .preflight
        .as_ref()
        .map_or(plan.origin.as_str(), |preflight| preflight.origin.as_str());
    let cors = || cors_check(headers, origin, credentials).map_err(Blocked::Preflight);
    let ok_status = || {
        if status.is_success() {
            Ok(())
        } else {
            Err(Blocked::PreflightStatus { status })
        }
    };
    match profile.engine {
        Engine::Chromium => {
            redirect()?;
            cors()?;
            ok_status()?;
        }
        Engine::Firefox => {
            cors()?;
            redirect()?;
            ok_status()?;
        }
        Engine::WebKit => {
            redirect()?;
            ok_status()?;
            cors()?;
        }
    }
    let mut methods = token_list(headers, &ACCESS_CONTROL_ALLOW_METHODS)
        .map_err(|value| Blocked::InvalidAllowMethods { value })?;
    let allowed_headers = token_list(headers, &ACCESS_CONTROL_ALLOW_HEADERS)
        .map_err(|value| Blocked::InvalidAllowHeaders { value })?
        .into_iter()
        .map(|name| name.to_ascii_lowercase())
        .collect();
    if methods.is_empty()
        && !headers.contains_key(ACCESS_CONTROL_ALLOW_METHODS)
        && plan.forced_preflight
    {
        methods.push(plan.method.clone());
    }
    let result = PreflightResult {
        methods,
        headers: allowed_headers,
        max_age: max_age(headers, profile),
        credentials,
    };
    if !result.allows_method(&plan.method) {
        return Err(Blocked::MethodNotAllowed {
            method: plan.method.clone(),
        });
    }
    if let Some(name) = result.first_disallowed_header(&plan.unsafe_headers, profile) {
        return Err(Blocked::HeaderNotAllowed {
            name: name.to_owned(),
        });
    }
    Ok(result)
}

/// How long a preflight answer may be cached, as `profile`'s engine reads
/// `Access-Control-Max-Age`: a missing value gives 5 s, an unreadable one
/// (not an integer, two headers) the profile's
/// [`unreadable_max_age`](Profile::unreadable_max_age) (5 s, or nothing in
/// Firefox), a negative one 0, and anything above the cap the cap.
///
/// ```
/// use corsair::browser::{max_age, Profile};
/// use http::{HeaderMap, HeaderValue};
/// use std::time::Duration;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("access-control-max-age", HeaderValue::from_static("86400"));
/// assert_eq!(max_age(&headers, &Profile::chromium()), Duration::from_secs(7200));
/// assert_eq!(max_age(&headers, &Profile::firefox()), Duration::from_secs(86400));
/// ```
#[must_use]
pub fn max_age(headers: &HeaderMap, profile: &Profile) -> Duration {
    let Some(value) = combined(headers, &ACCESS_CONTROL_MAX_AGE) else {
        return DEFAULT_MAX_AGE;
    };
    match value.parse::<i64>() {
        Err(_) => profile.unreadable_max_age,
        Ok(seconds) => {
            Duration::from_secs(u64::try_from(seconds).unwrap_or(0)).min(profile.max_age_cap)
        }
    }
}

/// The headers of a cross-origin response that a script may read: the
/// CORS-safelisted response headers, those named in
/// `Access-Control-Expose-Headers` (every one for `*` without credentials),
/// never `Set-Cookie`. An unparseable expose list exposes only the
/// safelisted ones.
///
/// ```
/// use corsair::browser::exposed_headers;
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("content-type", HeaderValue::from_static("application/json"));
/// headers.insert("x-request-id", HeaderValue::from_static("7"));
/// headers.insert("x-internal", HeaderValue::from_static("secret"));
/// headers.insert("access-control-expose-headers", HeaderValue::from_static("X-Request-Id"));
/// let visible = exposed_headers(&headers, true);
/// assert!(visible.contains_key("content-type") && visible.contains_key("x-request-id"));
/// assert!(!visible.contains_key("x-internal"));
/// ```
#[must_use]
pub fn exposed_headers(headers: &HeaderMap, include_credentials: bool) -> HeaderMap {
    let exposed = token_list(headers, &ACCESS_CONTROL_EXPOSE_HEADERS).unwrap_or_default();
    let everything = !include_credentials && exposed.iter().any(|name| name == "*");
    let mut visible = HeaderMap::new();
    for (name, value) in headers {
        let readable = !is_forbidden_response_header(name.as_str())
            && (everything
                || is_safelisted_response_header(name.as_str())
                || exposed
                    .iter()
                    .any(|exposed| exposed.eq_ignore_ascii_case(name.as_str())));
        if readable {
            visible.append(name.clone(), value.clone());
        }
    }
    visible
}

/// Checks the actual response of `plan` and returns the headers a script
/// may read: all but `Set-Cookie` for a same-origin request, the exposed
/// ones after a successful CORS check for a cross-origin one.
///
/// # Errors
/// [`Blocked::Cors`] when the CORS check fails.
pub fn check_response(plan: &Plan, headers: &HeaderMap) -> Result<HeaderMap, Blocked> {
    if !plan.cross_origin {
        let mut visible = headers.clone();
        visible.remove(http::header::SET_COOKIE);
        visible.remove("set-cookie2");
        return Ok(visible);
    }
    let credentials = plan.includes_credentials();
    cors_check(headers, &plan.origin, credentials).map_err(Blocked::Cors)?;
    Ok(exposed_headers(headers, credentials))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::browser::{CorsRequest, Credentials, Page};

    const ORIGIN: &str = "https://app.example.com";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn plan(request: CorsRequest) -> Plan {
        Page::new(ORIGIN)
            .unwrap()
            .plan(&request, &Profile::default())
            .unwrap()
    }

    #[test]
    fn cors_check_follows_fetch() {
        let check = |pairs: &[(&'static str, &'static str)], include| {
            cors_check(&headers(pairs), ORIGIN, include)
        };
        let acao = "access-control-allow-origin";
        let acac = "access-control-allow-credentials";
        assert_eq!(check(&[], false), Err(CorsFailure::MissingAllowOrigin));
        assert_eq!(check(&[(acao, "*")], false), Ok(()));
        assert_eq!(
            check(&[(acao, "*"), (acac, "true")], true),
            Err(CorsFailure::WildcardWithCredentials)
        );
        assert_eq!(check(&[(acao, ORIGIN)], false), Ok(()));
        assert_eq!(check(&[(acao, ORIGIN), (acac, "true")], true), Ok(()));
        assert_eq!(
            check(&[(acao, ORIGIN), (acac, "True")], true),
            Err(CorsFailure::CredentialsNotTrue {
                value: "True".into()
            })
        );
        assert_eq!(
            check(&[(acao, ORIGIN), (acac, "true"), (acac, "true")], true),
            Err(CorsFailure::CredentialsNotTrue {
                value: "true, true".into()
            })
        );
        assert_eq!(
            check(&[(acao, ORIGIN)], true),
            Err(CorsFailure::CredentialsNotTrue {
                value: String::new()
            })
        );
        assert_eq!(
            check(&[(acao, ORIGIN), (acao, ORIGIN)], false),
            Err(CorsFailure::MultipleAllowOrigin {
                value: format!("{ORIGIN}, {ORIGIN}")
            })
        );
        assert_eq!(
            check(&[(acao, "https://app.example.com/")], false),
            Err(CorsFailure::AllowOriginMismatch {
                value: "https://app.example.com/".into()
            })
        );
        assert_eq!(
            check(&[(acao, "HTTPS://APP.EXAMPLE.COM")], false),
            Err(CorsFailure::AllowOriginMismatch {
                value: "HTTPS://APP.EXAMPLE.COM".into()
            })
        );
        assert_eq!(
            check(&[(acao, "app.example.com")], false),
            Err(CorsFailure::InvalidAllowOrigin {
                value: "app.example.com".into()
            })
        );
        assert_eq!(
            cors_check(&headers(&[(acao, "null")]), "null", false),
            Ok(()),
            "ACAO null matches an opaque origin"
        );
    }

    #[test]
    fn preflight_needs_an_ok_status_and_no_redirect() {
        let plan = plan(CorsRequest::new("PUT", "https://api.example.com/"));
        let ok = headers(&[
            ("access-control-allow-origin", ORIGIN),
            ("access-control-allow-methods", "PUT"),
        ]);
        let profile = Profile::default();
        assert!(check_preflight(&plan, StatusCode::OK, &ok, &profile).is_ok());
        assert!(check_preflight(&plan, StatusCode::NO_CONTENT, &ok, &profile).is_ok());
        assert_eq!(
            check_preflight(&plan, StatusCode::NOT_FOUND, &ok, &profile),
            Err(Blocked::PreflightStatus {
                status: StatusCode::NOT_FOUND
            })
        );
        let mut redirect = ok.clone();
        redirect.insert("location", HeaderValue::from_static("/elsewhere"));
        assert_eq!(
            check_preflight(&plan, StatusCode::FOUND, &redirect, &profile),
            Err(Blocked::PreflightRedirect {
                status: StatusCode::FOUND
            })
        );
        // Chromium reports a redirect before the CORS check.
        assert_eq!(
            check_preflight(
                &plan,
                StatusCode::SEE_OTHER,
                &headers(&[("location", "/elsewhere")]),
                &profile
            ),
            Err(Blocked::PreflightRedirect {
                status: StatusCode::SEE_OTHER
            })
        );
        // What Chromium's network stack would not follow is a status that
        // is not ok: "It does not have HTTP ok status." (Chromium 156).
        for status in [StatusCode::FOUND, StatusCode::NOT_MODIFIED] {
            assert_eq!(
                check_preflight(&plan, status, &ok, &profile),
                Err(Blocked::PreflightStatus { status })
            );
        }
        assert_eq!(
            check_preflight(&plan, StatusCode::MULTIPLE_CHOICES, &redirect, &profile),
            Err(Blocked::PreflightStatus {
                status: StatusCode::MULTIPLE_CHOICES
            })
        );
        assert_eq!(
            check_preflight(&plan, StatusCode::NO_CONTENT, &headers(&[]), &profile),
            Err(Blocked::Preflight(CorsFailure::MissingAllowOrigin))
        );
    }

    #[test]
    fn preflight_uses_the_actual_requests_credentials() {
        let plan = plan(
            CorsRequest::new("PUT", "https://api.example.com/").credentials(Credentials::Include),
        );
        let answer = headers(&[
            ("access-control-allow-origin", ORIGIN),
            ("access-control-allow-methods", "PUT"),
        ]);
        assert_eq!(
            check_preflight(&plan, StatusCode::NO_CONTENT, &answer, &Profile::default()),
            Err(Blocked::Preflight(CorsFailure::CredentialsNotTrue {
                value: String::new()
            }))
        );
    }

    #[test]
    fn methods_compare_byte_for_byte_and_star_only_without_credentials() {
        let profile = Profile::default();
        let answer = |methods: &'static str| {
            headers(&[
                ("access-control-allow-origin", ORIGIN),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", methods),
            ])
        };
        let patch = plan(CorsRequest::new("PATCH", "https://api.example.com/"));
        assert!(check_preflight(&patch, StatusCode::OK, &answer("GET, PATCH"), &profile).is_ok());
        assert_eq!(
            check_preflight(&patch, StatusCode::OK, &answer("patch"), &profile),
            Err(Blocked::MethodNotAllowed {
                method: "PATCH".into()
            })
        );
        let lower = plan(CorsRequest::new("patch", "https://api.example.com/"));
        assert!(check_preflight(&lower, StatusCode::OK, &answer("patch"), &profile).is_ok());
        assert!(check_preflight(&patch, StatusCode::OK, &answer("*"), &profile).is_ok());
        let credentialed = plan(
            CorsRequest::new("PATCH", "https://api.example.com/").credentials(Credentials::Include),
        );
        assert_eq!(
            check_preflight(&credentialed, StatusCode::OK, &answer("*"), &profile),
            Err(Blocked::MethodNotAllowed {
                method: "PATCH".into()
            })
        );
        // A safelisted method needs no listing, even when headers caused the preflight.
        let get = plan(CorsRequest::get("https://api.example.com/").header("x-a", "1"));
        let answer = headers(&[
            ("access-control-allow-origin", ORIGIN),
            ("access-control-allow-headers", "x-a"),
        ]);
        assert!(check_preflight(&get, StatusCode::OK, &answer, &profile).is_ok());
    }

    #[test]
    fn headers_compare_without_case_and_star_covers_authorization_in_chromium_only_mode() {
        let answer = |list: &'static str| {
            headers(&[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-headers", list),
            ])
        };
        let request = plan(
            CorsRequest::get("https://api.example.com/")
                .header("X-Api-Key", "k")
                .header("Authorization", "Bearer t"),
        );
        let chromium = Profile::chromium();
        let mut strict = Profile::chromium();
        strict.wildcard_covers_authorization = false;
        assert!(
            check_preflight(
                &request,
                StatusCode::OK,
                &answer("Authorization, X-API-KEY"),
                &chromium
            )
            .is_ok()
        );
        assert_eq!(
            check_preflight(&request, StatusCode::OK, &answer("x-api-key"), &chromium),
            Err(Blocked::HeaderNotAllowed {
                name: "authorization".into()
            })
        );
        assert!(check_preflight(&request, StatusCode::OK, &answer("*"), &chromium).is_ok());
        assert_eq!(
            check_preflight(&request, StatusCode::OK, &answer("*"), &strict),
            Err(Blocked::HeaderNotAllowed {
                name: "authorization".into()
            })
        );
        assert!(
            check_preflight(
                &request,
                StatusCode::OK,
                &answer("*, authorization"),
                &strict
            )
            .is_ok()
        );
    }

    #[test]
    fn list_parse_failures_block() {
        let request = plan(CorsRequest::new("PUT", "https://api.example.com/"));
        let profile = Profile::default();
        let with = |name: &'static str, value: &'static str| {
            headers(&[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", "PUT"),
                (name, value),
            ])
        };
        assert!(matches!(
            check_preflight(
                &request,
                StatusCode::OK,
                &with("access-control-allow-methods", "GET POST"),
                &profile
            ),
            Err(Blocked::InvalidAllowMethods { .. })
        ));
        assert!(matches!(
            check_preflight(
                &request,
                StatusCode::OK,
                &with("access-control-allow-headers", "x/y"),
                &profile
            ),
            Err(Blocked::InvalidAllowHeaders { .. })
        ));
        // Empty elements are skipped, not failures.
        assert!(
            check_preflight(
                &request,
                StatusCode::OK,
                &with("access-control-allow-headers", ",,x-a,"),
                &profile
            )
            .is_ok()
        );
    }

    #[test]
    fn max_age_as_chromium_reads_it() {
        let profile = Profile::chromium();
        let age =
            |value: &'static str| max_age(&headers(&[("access-control-max-age", value)]), &profile);
        assert_eq!(max_age(&headers(&[]), &profile), DEFAULT_MAX_AGE);
        // Not an integer: 5 s, but Firefox caches nothing.
        let unreadable = headers(&[("access-control-max-age", "ten")]);
        assert_eq!(max_age(&unreadable, &profile), DEFAULT_MAX_AGE);
        assert_eq!(max_age(&unreadable, &Profile::webkit()), DEFAULT_MAX_AGE);
        assert_eq!(max_age(&unreadable, &Profile::firefox()), Duration::ZERO);
        assert_eq!(age("600"), Duration::from_secs(600));
        assert_eq!(age("0"), Duration::ZERO);
        assert_eq!(age("-1"), Duration::ZERO);
        assert_eq!(age("5.5"), DEFAULT_MAX_AGE);
        assert_eq!(age("ten"), DEFAULT_MAX_AGE);
        assert_eq!(age("999999999999999999999"), DEFAULT_MAX_AGE);
        assert_eq!(age("100000"), Duration::from_secs(7200));
        let two = headers(&[
            ("access-control-max-age", "10"),
            ("access-control-max-age", "20"),
        ]);
        assert_eq!(max_age(&two, &profile), DEFAULT_MAX_AGE);
    }

    #[test]
    fn exposed_headers_follow_the_credentials_mode() {
        let response = headers(&[
            ("content-type", "text/plain"),
            ("x-a", "1"),
            ("set-cookie", "s=1"),
            ("access-control-expose-headers", "*"),
        ]);
        let all = exposed_headers(&response, false);
        assert!(all.contains_key("x-a") && all.contains_key("content-type"));
        assert!(!all.contains_key("set-cookie"), "never exposed");
        let literal = exposed_headers(&response, true);
        assert!(
            !literal.contains_key("x-a"),
            "* is literal with credentials"
        );
        assert!(literal.contains_key("content-type"));
        let broken = headers(&[("x-a", "1"), ("access-control-expose-headers", "x-a, x b")]);
        assert!(
            !exposed_headers(&broken, false).contains_key("x-a"),
            "a parse failure exposes nothing extra"
        );
    }

    #[test]
    fn same_origin_responses_hide_only_set_cookie() {
        let plan = plan(CorsRequest::get("/me"));
        let visible =
            check_response(&plan, &headers(&[("x-a", "1"), ("set-cookie", "s=1")])).unwrap();
        assert!(visible.contains_key("x-a"));
        assert!(!visible.contains_key("set-cookie"));
    }
}
