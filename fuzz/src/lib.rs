//! Helpers shared by the fuzz targets: the text form of requests and
//! responses that the targets read (and that `seed.py` writes), the
//! conformance table's policies, and checks every produced header map must
//! pass.
//!
//! Inputs are plain text so that the seed corpus, built from the conformance
//! table, reads like the requests it came from:
//!
//! ```text
//! OPTIONS                                  <- first line: the method
//! origin: https://app.example.com          <- request headers, one per line
//! access-control-request-method: PUT
//!                                          <- a blank line
//! vary: accept-encoding                    <- the application's headers
//! ```
//!
//! A header line is split at its first `:`; one space after it is dropped,
//! the rest of the value is kept byte for byte (so the fuzzer can still put
//! whitespace at either end). Lines whose name or value `http` refuses are
//! skipped, as a server would never see them.

use corsair::origin::RequestOrigin;
use corsair::policy::{Actual, AllowOrigin, DEBUG_HEADER, Decision, Policy, Preflight, Refusal};
use corsair::protocol::CORS_RESPONSE_HEADERS;
use corsair::{Config, browser};
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, HeaderMap, HeaderName, HeaderValue,
    ORIGIN, VARY,
};
use http::{Method, StatusCode};

/// The conformance table, read once per process for its policies.
const CASES: &str = include_str!("../../crates/conformance/cases.toml");

/// Splits `data` at its first blank line: `(head, body)`; `body` is empty
/// when there is no blank line.
#[must_use]
pub fn split_blank_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.windows(2).position(|pair| pair == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[]),
    }
}

/// Splits `data` at its first `\n`: `(first line, rest)`.
#[must_use]
pub fn split_first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// One `name: value` line, or `None` when it has no `:` or `http` refuses
/// the name or the value.
#[must_use]
pub fn header_line(line: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = HeaderName::from_bytes(&line[..colon]).ok()?;
    let value = &line[colon + 1..];
    let value = value.strip_prefix(b" ").unwrap_or(value);
    let value = HeaderValue::from_bytes(value).ok()?;
    Some((name, value))
}

/// A header map from `name: value` lines, in order (a repeated name makes
/// several lines of one header), skipping lines `http` refuses. At most
/// `max` lines are read.
#[must_use]
pub fn header_map(text: &[u8], max: usize) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in text
        .split(|&b| b == b'\n')
        .take(max)
        .filter_map(header_line)
    {
        headers.append(name, value);
    }
    headers
}

/// The policies of the conformance table, by name, in the table's order.
///
/// # Panics
/// When the table does not parse or a policy is not a `Config`: the table
/// is checked by the conformance tests, so this is a broken checkout.
#[must_use]
pub fn conformance_policies() -> Vec<(String, Config)> {
    let table: toml::Table = CASES.parse().expect("cases.toml parses");
    let policies = table
        .get("policies")
        .and_then(toml::Value::as_table)
        .expect("cases.toml has a [policies] table");
    policies
        .iter()
        .map(|(name, value)| {
            let config: Config = value
                .clone()
                .try_into()
                .unwrap_or_else(|error| panic!("policy {name}: {error}"));
            (name.clone(), config)
        })
        .collect()
}

/// Asserts that no value of `headers` can split or end a header line: no
/// CR, LF or NUL (`HeaderValue` promises it; this checks nothing reached a
/// response around it).
pub fn assert_clean_values(headers: &HeaderMap, context: &str) {
    for (name, value) in headers {
        assert!(
            !value
                .as_bytes()
                .iter()
                .any(|b| matches!(b, b'\r' | b'\n' | 0)),
            "{context}: {name} has a CR, LF or NUL: {value:?}"
        );
    }
}

/// Every value of `name`, joined with `", "` as a browser reads it; `None`
/// when absent.
#[must_use]
pub fn combined(headers: &HeaderMap, name: &HeaderName) -> Option<Vec<u8>> {
    let mut lines = headers.get_all(name).iter();
    let first = lines.next()?;
    let mut out = first.as_bytes().to_vec();
    for line in lines {
        out.extend_from_slice(b", ");
        out.extend_from_slice(line.as_bytes());
    }
    Some(out)
}

/// What [`run_request`] saw the policy decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The request was a preflight.
    pub preflight: bool,
    /// The policy allowed it.
    pub allowed: bool,
}

/// Runs one request through `policy` the way an adapter does (check, then
/// the preflight answer or `apply` to the application's headers `app`) and
/// asserts every rule the produced headers must follow:
///
/// - a preflight is exactly `OPTIONS` with `Origin` and
///   `Access-Control-Request-Method`;
/// - both ways of writing a preflight answer give the same headers;
/// - no value holds CR, LF or NUL;
/// - an allowed answer has one `Access-Control-Allow-Origin`: `*` only for
///   an any-origin policy without credentials, otherwise the request's only
///   `Origin`, byte for byte, and never `null`; with credentials,
///   `Access-Control-Allow-Credentials: true` and no `*` exposed;
/// - a refused preflight carries `Vary` alone (and the debug header in
///   debug mode); a refused or origin-less actual response carries no CORS
///   header, the application's included;
/// - origin-list policies always vary on `Origin`; the application's other
///   headers are untouched;
/// - the browser model accepts every allowed answer.
pub fn run_request(policy: &Policy, method: &str, request: &HeaderMap, app: &HeaderMap) -> Outcome {
    let config = policy.config();
    let any_origin = config.allow_origins.iter().any(|entry| entry == "*");
    let credentials = config.allow_credentials;
    let insecure_allowed = config.dangerously_allow_insecure_origins;
    let origins: Vec<&HeaderValue> = request.get_all(ORIGIN).iter().collect();
    let expect_preflight = method == "OPTIONS"
        && !origins.is_empty()
        && request.contains_key(ACCESS_CONTROL_REQUEST_METHOD);

    let decision = policy.check_request(method, request);
    if let Ok(parsed) = Method::from_bytes(method.as_bytes()) {
        let again = policy.check(&parsed, request);
        assert_eq!(
            kind(&again),
            kind(&decision),
            "check and check_request disagree"
        );
        assert_eq!(again.refusal(), decision.refusal());
    }
    if let Some(refusal) = decision.refusal() {
        assert!(!refusal.to_string().is_empty());
    }

    match decision {
        Decision::Preflight(preflight) => {
            assert!(expect_preflight, "{method} was judged a preflight");
            let headers = policy.preflight_headers(&preflight);
            let mut written = HeaderMap::new();
            policy.write_preflight_headers(&preflight, &mut written);
            assert_eq!(written, headers, "the two preflight writers disagree");
            let response = policy.preflight_response::<()>(&preflight);
            assert_eq!(response.status(), policy.preflight_status(&preflight));
            assert_eq!(response.headers(), &headers);
            assert_clean_values(&headers, "preflight answer");
            let vary = if any_origin {
                "Access-Control-Request-Method, Access-Control-Request-Headers"
            } else {
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
            };
            assert_eq!(combined(&headers, &VARY).as_deref(), Some(vary.as_bytes()));
            match preflight {
                Preflight::Allowed(_) => {
                    let status = if config.preflight_status == Some(200) {
                        StatusCode::OK
                    } else {
                        StatusCode::NO_CONTENT
                    };
                    assert_eq!(response.status(), status);
                    assert_allowed(
                        &headers,
                        &origins,
                        any_origin,
                        credentials,
                        insecure_allowed,
                    );
                    let max_age = config.max_age.map(|seconds| seconds.to_string());
                    assert_eq!(
                        combined(&headers, &ACCESS_CONTROL_MAX_AGE),
                        max_age.map(String::into_bytes)
                    );
                    Outcome {
                        preflight: true,
                        allowed: true,
                    }
                }
                Preflight::Explained(_, refusal) => {
                    // Debug mode only: shaped as an allowed answer, never
                    // cacheable, and saying why.
                    assert!(policy.debug(), "an explained refusal outside debug mode");
                    assert!(
                        matches!(
                            refusal,
                            Refusal::MethodNotAllowed(_) | Refusal::HeaderNotAllowed(_)
                        ),
                        "{refusal:?} explained"
                    );
                    assert_allowed(
                        &headers,
                        &origins,
                        any_origin,
                        credentials,
                        insecure_allowed,
                    );
                    assert!(!headers.contains_key(ACCESS_CONTROL_MAX_AGE));
                    assert!(headers.contains_key(&DEBUG_HEADER));
                    Outcome {
                        preflight: true,
                        allowed: false,
                    }
                }
                Preflight::Refused(_) => {
                    assert_eq!(response.status(), StatusCode::FORBIDDEN);
                    for name in headers.keys() {
                        assert!(
                            name == VARY || (policy.debug() && name == DEBUG_HEADER),
                            "a refused preflight answer carries {name}"
                        );
                    }
                    Outcome {
                        preflight: true,
                        allowed: false,
                    }
                }
            }
        }
        Decision::Lookup(lookup) => {
            panic!("a policy without an origin source looked an origin up: {lookup:?}")
        }
        Decision::Forbidden(refusal) => {
            if let Refusal::WebSocketOrigin(_) = refusal {
                assert_eq!(
                    config.websocket_origins,
                    corsair::config::WebSocketOrigins::Enforce,
                    "a WebSocket handshake refused with websocket_origins = \"pass\""
                );
                assert!(
                    matches!(method, "GET" | "CONNECT"),
                    "{method} refused as a WebSocket handshake"
                );
                assert!(!origins.is_empty(), "a handshake without Origin refused");
            } else {
                assert!(
                    config.cross_origin_protection,
                    "a request forbidden by a policy without cross-origin protection"
                );
                assert!(
                    !matches!(method, "GET" | "HEAD" | "OPTIONS"),
                    "{method} forbidden: safe methods always pass"
                );
            }
            let response = policy.forbidden_response::<()>(&refusal);
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            for name in response.headers().keys() {
                assert!(
                    policy.debug() && name == DEBUG_HEADER,
                    "a forbidden answer carries {name}"
                );
            }
            Outcome {
                preflight: false,
                allowed: false,
            }
        }
        Decision::Actual(actual) => {
            assert!(
                !expect_preflight,
                "a preflight was judged an actual request"
            );
            if origins.is_empty() {
                assert!(
                    matches!(
                        (&actual, any_origin),
                        (Actual::NoOrigin, false) | (Actual::Allowed(AllowOrigin::Any), true)
                    ),
                    "no Origin: {actual:?}"
                );
            }
            let mut response = app.clone();
            policy.apply(&actual, &mut response);
            assert_clean_values(&response, "actual response");
            let allowed = matches!(actual, Actual::Allowed(_));
            if allowed {
                assert_allowed(
                    &response,
                    &origins,
                    any_origin,
                    credentials,
                    insecure_allowed,
                );
            } else {
                for name in &CORS_RESPONSE_HEADERS {
                    assert!(
                        !response.contains_key(name),
                        "{name} on a response to a refused or non-CORS request"
                    );
                }
            }
            if any_origin {
                assert_eq!(
                    combined(&response, &VARY),
                    combined(app, &VARY),
                    "an any-origin policy changed Vary"
                );
            } else {
                let varies = response.get_all(VARY).iter().any(|line| {
                    line.as_bytes().split(|&b| b == b',').any(|element| {
                        let element = element.trim_ascii();
                        element == b"*" || element.eq_ignore_ascii_case(b"origin")
                    })
                });
                assert!(varies, "an origin-list response does not vary on Origin");
            }
            for (name, value) in app {
                if name == VARY || CORS_RESPONSE_HEADERS.contains(name) {
                    continue;
                }
                assert!(
                    response.get_all(name).iter().any(|kept| kept == value),
                    "the application's {name} was lost"
                );
            }
            let _ = actual.into_owned();
            Outcome {
                preflight: false,
                allowed,
            }
        }
    }
}

/// The variant of a decision, for comparing two.
fn kind<H: corsair::adapter::RequestHeaders>(decision: &Decision<'_, H>) -> &'static str {
    match decision {
        Decision::Preflight(Preflight::Allowed(_)) => "preflight allowed",
        Decision::Preflight(Preflight::Refused(_)) => "preflight refused",
        Decision::Preflight(Preflight::Explained(..)) => "preflight refused, explained",
        Decision::Actual(Actual::Allowed(_)) => "actual allowed",
        Decision::Actual(Actual::Refused(_)) => "actual refused",
        Decision::Actual(Actual::NoOrigin) => "no origin",
        Decision::Forbidden(_) => "forbidden",
        Decision::Lookup(_) => "origin lookup",
    }
}

/// The rules of an answer that lets the origin read: see [`run_request`].
fn assert_allowed(
    headers: &HeaderMap,
    origins: &[&HeaderValue],
    any_origin: bool,
    credentials: bool,
    insecure_allowed: bool,
) {
    let allow_origin: Vec<&HeaderValue> = headers
        .get_all(ACCESS_CONTROL_ALLOW_ORIGIN)
        .iter()
        .collect();
    let [allow_origin] = allow_origin[..] else {
        panic!("{} Access-Control-Allow-Origin lines", allow_origin.len());
    };
    if any_origin {
        assert!(!credentials, "an any-origin policy with credentials");
        assert_eq!(allow_origin, "*");
    } else {
        assert_eq!(
            origins,
            [allow_origin],
            "the allowed origin is not the request's"
        );
        assert!(allow_origin != "*" && allow_origin != "null");
        if allow_origin.len() <= 512 {
            let Ok(RequestOrigin::Tuple(tuple)) = RequestOrigin::parse(allow_origin.as_bytes())
            else {
                panic!("allowed a malformed origin {allow_origin:?}")
            };
            // From a list or from an origin source alike.
            assert!(
                !credentials || insecure_allowed || tuple.is_secure(),
                "allowed {allow_origin:?}, which a network attacker can impersonate, with credentials"
            );
        }
    }
    if credentials {
        assert_eq!(
            combined(headers, &ACCESS_CONTROL_ALLOW_CREDENTIALS).as_deref(),
            Some(&b"true"[..])
        );
        for line in headers.get_all(ACCESS_CONTROL_EXPOSE_HEADERS) {
            assert!(
                !line
                    .as_bytes()
                    .split(|&b| b == b',')
                    .any(|e| e.trim_ascii() == b"*"),
                "`*` exposed with credentials"
            );
        }
    } else {
        assert!(!headers.contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS));
    }
    // A browser on that origin (any one, for `*`) accepts the answer.
    let page_origin = if any_origin {
        "https://page.example"
    } else {
        allow_origin.to_str().expect("an allowed origin is ASCII")
    };
    assert_eq!(
        browser::cors_check(headers, page_origin, credentials),
        Ok(()),
        "the browser model refuses an allowed answer"
    );
}

/// Compiles a configuration read from a file and, when it is valid, sends
/// it the requests it was written for: from each exact origin (the first
/// four), a GET, and a preflight for its first method with all its headers.
/// Each must be allowed (within the request-header limits), and pass
/// [`run_request`]'s checks.
pub fn exercise_config(config: &Config) {
    let policy = match Policy::new(config.clone()) {
        Ok(policy) => policy,
        Err(error) => {
            assert!(!error.problems().is_empty(), "a refusal without a problem");
            for problem in error.problems() {
                assert!(!problem.field().is_empty());
            }
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    assert_eq!(policy.config(), config);

    let method = match config.allow_methods.first().map(String::as_str) {
        None | Some("*") => "GET".to_owned(),
        Some(method) => corsair::protocol::normalize_method(method).to_owned(),
    };
    let names: Vec<String> = config
        .allow_headers
        .iter()
        .map(|name| name.to_ascii_lowercase())
        .collect();
    let request_headers = names.join(",");
    let within_limits = names.len() <= 64 && request_headers.len() <= 4096;

    let exact = config.allow_origins.iter().filter(|entry| {
        matches!(
            corsair::origin::OriginPattern::parse(entry),
            Ok(corsair::origin::OriginPattern::Exact { .. })
        )
    });
    let empty = HeaderMap::new();
    for origin in exact.take(4) {
        let Ok(origin) = HeaderValue::from_str(origin) else {
            panic!("exact origin {origin:?} is not a header value");
        };
        let mut request = HeaderMap::new();
        request.insert(ORIGIN, origin);
        let outcome = run_request(&policy, "GET", &request, &empty);
        assert!(outcome.allowed, "a GET from an allowed origin was refused");

        let Ok(method_value) = HeaderValue::from_str(&method) else {
            panic!("method {method:?} is not a header value");
        };
        request.insert(ACCESS_CONTROL_REQUEST_METHOD, method_value);
        if !request_headers.is_empty() {
            let value =
                HeaderValue::from_str(&request_headers).expect("joined tokens are a header value");
            request.insert(http::header::ACCESS_CONTROL_REQUEST_HEADERS, value);
        }
        let outcome = run_request(&policy, "OPTIONS", &request, &empty);
        assert!(outcome.preflight);
        assert_eq!(
            outcome.allowed, within_limits,
            "a preflight for {method} with {request_headers:?}"
        );
    }
}

/// Checks what a document that does not read reports: at least one
/// diagnostic, each with a message, and each place a line of the text, a
/// column counted from 1 and bytes inside the text, on character
/// boundaries.
pub fn check_load_error(text: &str, error: &corsair::LoadError) {
    let lines = text.matches('\n').count() + 1;
    assert!(!error.diagnostics().is_empty(), "{error}");
    for diagnostic in error.diagnostics() {
        assert!(!diagnostic.message.is_empty(), "{error}");
        if let Some(at) = &diagnostic.location {
            assert!(
                (1..=lines).contains(&at.line),
                "line {} of {lines}",
                at.line
            );
            assert!(at.column >= 1, "column {}", at.column);
            assert!(at.span.start <= at.span.end && at.span.end <= text.len());
            assert!(text.is_char_boundary(at.span.start) && text.is_char_boundary(at.span.end));
        }
    }
    assert!(!error.to_string().is_empty());
}
