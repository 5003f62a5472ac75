//! Report-only mode's comparison: what a browser would do with the
//! application's own CORS answer, against what it would do with the
//! policy's, for one request as the server saw it.
//!
//! The server does not see the request's credentials mode. A request that
//! carries `Cookie` or `Authorization` was made with credentials; any other
//! is judged in the mode the policy is written for: with credentials when
//! it allows them (a page of such an API sends them), without otherwise.

use std::fmt;

use http::header::{
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION, COOKIE, ORIGIN,
    VARY,
};
use http::{HeaderMap, StatusCode};

use super::check::{
    DEFAULT_MAX_AGE, PreflightResult, allow_origin, allows_credentials, cors_check, header_list,
};
use super::engine::Engine;
use crate::policy::{Decision, Policy};

/// A way in which the application's CORS answer differs from the policy's,
/// in what a browser would do, or in what a cache would.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Difference {
    /// The application lets a page on this origin read the answer; the
    /// policy would not.
    GrantsRefusedOrigin,
    /// The policy would let a page on this origin read the answer; the
    /// application does not.
    RefusesAllowedOrigin,
    /// The application's answer to a preflight lets the browser send the
    /// request; the policy's would not.
    AllowsRefusedPreflight,
    /// The policy's answer to a preflight would let the browser send the
    /// request; the application's does not.
    RefusesAllowedPreflight,
    /// The application echoes the request's origin in
    /// `Access-Control-Allow-Origin` without `Vary: Origin`: a shared cache
    /// may serve that answer to another origin.
    MissingVaryOrigin,
    /// The application sends `Access-Control-Allow-Origin: *` with
    /// `Access-Control-Allow-Credentials: true`, which every browser
    /// refuses for a credentialed request.
    WildcardWithCredentials,
    /// The policy would answer `403` before the application runs (its
    /// cross-origin protection, or a WebSocket handshake from an origin it
    /// does not allow); the application answered with another status.
    ServedForbidden,
}

impl Difference {
    /// Every kind, in declaration order.
    pub const ALL: [Difference; 7] = [
        Difference::GrantsRefusedOrigin,
        Difference::RefusesAllowedOrigin,
        Difference::AllowsRefusedPreflight,
        Difference::RefusesAllowedPreflight,
        Difference::MissingVaryOrigin,
        Difference::WildcardWithCredentials,
        Difference::ServedForbidden,
    ];

    /// Its name in logs and metrics (`kind`).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Difference::GrantsRefusedOrigin => "grants_refused_origin",
            Difference::RefusesAllowedOrigin => "refuses_allowed_origin",
            Difference::AllowsRefusedPreflight => "allows_refused_preflight",
            Difference::RefusesAllowedPreflight => "refuses_allowed_preflight",
            Difference::MissingVaryOrigin => "missing_vary_origin",
            Difference::WildcardWithCredentials => "wildcard_with_credentials",
            Difference::ServedForbidden => "served_forbidden",
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Difference::GrantsRefusedOrigin => {
                "the application lets this origin read the answer; the policy would not"
            }
            Difference::RefusesAllowedOrigin => {
                "the policy would let this origin read the answer; the application does not"
            }
            Difference::AllowsRefusedPreflight => {
                "the application's preflight answer lets the request go; the policy's would not"
            }
            Difference::RefusesAllowedPreflight => {
                "the policy's preflight answer would let the request go; the application's does not"
            }
            Difference::MissingVaryOrigin => {
                "the application echoes the origin without Vary: Origin, so a cache may serve the \
                 answer to another origin"
            }
            Difference::WildcardWithCredentials => {
                "the application sends Access-Control-Allow-Origin: * with credentials, which \
                 browsers refuse"
            }
            Difference::ServedForbidden => {
                "the policy would answer 403 before the application runs; the application answered \
                 otherwise"
            }
        })
    }
}

/// The differences of one request, and the policy's answer they come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The differences, in the order of [`Difference::ALL`].
    pub differences: Vec<Difference>,
    /// Whether the request was judged with credentials.
    pub credentials: bool,
    /// The policy's answer: its status and CORS headers.
    pub policy: (StatusCode, HeaderMap),
}

/// Compares the application's answer (`status`, `headers`) to a request
/// (`method`, `request`) with the answer `policy` would give, in what a
/// browser would do with each.
///
/// Where no CORS check applies, nothing is compared but a `403` the policy
/// would have given: a WebSocket handshake (browsers check no CORS headers
/// on it), and a request from a page of the request's own origin (by
/// `Sec-Fetch-Site`, or `Origin` against `Host`). A policy with an origin
/// source reports nothing for an origin its lists do not name: report-only
/// mode does not ask the source.
///
/// ```
/// use corsair::browser::{Difference, report};
/// use corsair::policy::Policy;
/// use corsair::Config;
/// use http::{HeaderMap, HeaderValue, StatusCode};
///
/// let policy = Policy::new(Config {
///     allow_origins: vec!["https://app.example.com".into()],
///     allow_credentials: true,
///     ..Config::default()
/// })?;
/// let mut request = HeaderMap::new();
/// request.insert("origin", HeaderValue::from_static("https://evil.example"));
/// // The application reflects any origin, with credentials, and no Vary.
/// let mut answer = HeaderMap::new();
/// answer.insert("access-control-allow-origin", HeaderValue::from_static("https://evil.example"));
/// answer.insert("access-control-allow-credentials", HeaderValue::from_static("true"));
/// let report = report(&policy, "GET", &request, StatusCode::OK, &answer);
/// assert_eq!(
///     report.differences,
///     [Difference::GrantsRefusedOrigin, Difference::MissingVaryOrigin]
/// );
/// # Ok::<(), corsair::ConfigError>(())
/// ```
#[must_use]
pub fn report(
    policy: &Policy,
    method: &str,
    request: &HeaderMap,
    status: StatusCode,
    headers: &HeaderMap,
) -> Report {
    let credentials = request.contains_key(COOKIE)
        || request.contains_key(AUTHORIZATION)
        || policy.config().allow_credentials;
    let mut differences = Vec::new();
    // Through `check`, as the tower adapter and the proxy call it: one
    // caller more of the decision itself would have LLVM stop inlining it
    // there, which costs every request (callgrind counts it).
    let method = http::Method::from_bytes(method.as_bytes()).unwrap_or(http::Method::GET);
    let decision = policy.check(&method, request);
    let origin = request
        .get(ORIGIN)
        .and_then(|origin| origin.to_str().ok())
        .map(str::to_owned);
    let (ours_status, ours) = match &decision {
        Decision::Preflight(preflight) => (
            policy.preflight_status(preflight),
            policy.preflight_headers(preflight),
        ),
        Decision::Forbidden(refusal) => {
            let response = policy.forbidden_response::<()>(refusal);
            (response.status(), response.headers().clone())
        }
        Decision::Actual(actual) => {
            let mut ours = HeaderMap::new();
            policy.apply(actual, &mut ours);
            (status, ours)
        }
        Decision::Lookup(_) => {
            return Report {
                differences,
                credentials,
                policy: (status, HeaderMap::new()),
            };
        }
    };
    let cors_applies = origin.as_deref().is_some_and(|origin| {
        !crate::policy::is_websocket_handshake(method.as_str(), request)
            && !crate::policy::same_origin(origin.as_bytes(), request)
    });
    if let Decision::Forbidden(_) = &decision
        && status != StatusCode::FORBIDDEN
    {
        differences.push(Difference::ServedForbidden);
    }
    if let Some(origin) = origin.as_deref().filter(|_| cors_applies) {
        match &decision {
            Decision::Preflight(_) => {
                let theirs = preflight_passes(request, origin, status, headers, credentials);
                let ours = preflight_passes(request, origin, ours_status, &ours, credentials);
                if theirs && !ours {
                    differences.push(Difference::AllowsRefusedPreflight);
                } else if ours && !theirs {
                    differences.push(Difference::RefusesAllowedPreflight);
                }
            }
            Decision::Forbidden(_) => {}
            Decision::Actual(_) | Decision::Lookup(_) => {
                let theirs = cors_check(headers, origin, credentials).is_ok();
                let ours = cors_check(&ours, origin, credentials).is_ok();
                if theirs && !ours {
                    differences.push(Difference::GrantsRefusedOrigin);
                } else if ours && !theirs {
                    differences.push(Difference::RefusesAllowedOrigin);
                }
            }
        }
    }
    if let Some(allowed) = allow_origin(headers) {
        let varies = header_list(headers, &VARY).is_some_and(|vary| {
            vary.iter()
                .any(|name| name == "*" || name.eq_ignore_ascii_case("origin"))
        });
        // An answer that echoes the request's origin varies with it; one
        // that names the same origin for every request does not.
        if origin.as_deref() == Some(allowed.as_str()) && !varies {
            differences.push(Difference::MissingVaryOrigin);
        }
        if allowed == "*" && allows_credentials(headers) {
            differences.push(Difference::WildcardWithCredentials);
        }
    }
    Report {
        differences,
        credentials,
        policy: (ours_status, ours),
    }
}

/// Whether every engine sends the request after this answer to its
/// preflight: an ok status, the CORS check, and the requested method and
/// headers allowed (which headers `*` covers differs between engines).
fn preflight_passes(
    request: &HeaderMap,
    origin: &str,
    status: StatusCode,
    headers: &HeaderMap,
    credentials: bool,
) -> bool {
    if !status.is_success() || cors_check(headers, origin, credentials).is_err() {
        return false;
    }
    let (Some(methods), Some(allowed)) = (
        header_list(headers, &http::header::ACCESS_CONTROL_ALLOW_METHODS),
        header_list(headers, &http::header::ACCESS_CONTROL_ALLOW_HEADERS),
    ) else {
        return false;
    };
    let result = PreflightResult {
        methods,
        headers: allowed
            .iter()
            .map(|name| name.to_ascii_lowercase())
            .collect(),
        max_age: DEFAULT_MAX_AGE,
        credentials,
    };
    let method = request
        .get(ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|method| method.to_str().ok())
        .unwrap_or_default();
    let requested: Vec<String> = header_list(request, &ACCESS_CONTROL_REQUEST_HEADERS)
        .unwrap_or_default()
        .iter()
        .map(|name| name.to_ascii_lowercase())
        .collect();
    result.allows_method(method)
        && Engine::ALL.iter().all(|engine| {
            result
                .first_disallowed_header(&requested, &engine.profile())
                .is_none()
        })
}

/// [`report`], with each difference logged as a `warn` event (target
/// `corsair::report`) with the request (`method`, `path`, its `Origin` and
/// what a preflight asked for) and both answers' status and CORS headers:
/// what report-only mode does for every request, in each adapter.
#[must_use]
pub fn report_and_log(
    policy: &Policy,
    method: &str,
    path: &str,
    request: &HeaderMap,
    status: StatusCode,
    headers: &HeaderMap,
) -> Report {
    let found = report(policy, method, request, status, headers);
    found.log(method, path, request, status, headers);
    found
}

impl Report {
    fn log(
        &self,
        method: &str,
        target: &str,
        request: &HeaderMap,
        status: StatusCode,
        headers: &HeaderMap,
    ) {
        if self.differences.is_empty() {
            return;
        }
        let origin = cors_lines(request, |name| {
            name == "origin" || name.starts_with("access-control-request-")
        });
        let application = format!(
            "{} {}",
            status.as_u16(),
            cors_lines(headers, is_cors_response_header)
        );
        let policy = format!(
            "{} {}",
            self.policy.0.as_u16(),
            cors_lines(&self.policy.1, is_cors_response_header)
        );
        for difference in &self.differences {
            tracing::warn!(
                target: "corsair::report",
                kind = difference.label(),
                method,
                path = target,
                request = %origin,
                credentials = self.credentials,
                application = %application,
                policy = %policy,
                "report-only: {difference}"
            );
        }
    }
}

/// Whether a response header is one a CORS comparison shows.
fn is_cors_response_header(name: &str) -> bool {
    name.starts_with("access-control-") || name == "vary"
}

/// The headers `keep` names, as `name: value; name: value`, or `(none)`.
fn cors_lines(headers: &HeaderMap, keep: impl Fn(&str) -> bool) -> String {
    let lines: Vec<String> = headers
        .iter()
        .filter(|(name, _)| keep(name.as_str()))
        .map(|(name, value)| format!("{name}: {}", String::from_utf8_lossy(value.as_bytes())))
        .collect();
    if lines.is_empty() {
        "(none)".to_owned()
    } else {
        lines.join("; ")
    }
}
