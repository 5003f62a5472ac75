#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Property tests: random valid policies against random requests.
//!
//! 1. The engine's output is safe: `Access-Control-Allow-Origin` only for
//!    what the configuration allows (judged by the linear-scan reference of
//!    `properties/reference.rs`), never `*` with credentials, no CR, LF or
//!    NUL in any value, the application's CORS headers never leak, and
//!    `Vary: Origin` wherever the answer depends on the origin. The
//!    decision itself matches the reference (origin, method, headers).
//! 2. The engine and the browser model agree: a request planned by
//!    `corsair::browser::Page::plan`, sent through the policy (preflight
//!    and actual response), is allowed by `check_preflight` and
//!    `check_response` exactly when the engine allowed it.
//! 3. The compiled origin matcher agrees with the linear scan on origins
//!    derived from the patterns themselves (near misses included).
//! 4. `Config` survives TOML and JSON, and `Policy::new` never panics.
//!
//! Strategies are in `properties/strategies.rs`. Each case costs
//! microseconds, so the properties run 512 to 4096 cases (see each
//! `proptest_config`): the file takes a few seconds in a debug build.

#[path = "properties/reference.rs"]
mod reference;
#[path = "properties/strategies.rs"]
mod strategies;

use corsair::browser::{CorsRequest, Page, check_preflight, check_response};
use corsair::policy::{Actual, Decision, Policy, Preflight};
use corsair::{Config, MAX_AGE_LIMIT};
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, HeaderName,
    HeaderValue, ORIGIN, VARY,
};
use http::{HeaderMap, Method, StatusCode};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

use reference::{Matcher, forbidden, headers_allowed, method_allowed, varies_on_origin};
use strategies::{
    ServerRequest, app_headers, near_origin, origin_value, page, pattern, script, server_request,
    valid_config,
};

/// The API every planned request goes to; no page of the universe has its
/// origin.
const API: &str = "https://api.example.com/items/1";

fn policy(config: &Config) -> Result<Policy, TestCaseError> {
    Policy::new(config.clone())
        .map_err(|error| TestCaseError::fail(format!("a valid configuration was refused: {error}")))
}

fn lines<'a>(headers: &'a HeaderMap, name: &http::header::HeaderName) -> Vec<&'a [u8]> {
    headers
        .get_all(name)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect()
}

fn cors_names(headers: &HeaderMap) -> Vec<&str> {
    headers
        .keys()
        .map(http::header::HeaderName::as_str)
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

/// What must hold of any response the engine produced, preflight or actual.
fn common_safety(
    config: &Config,
    matcher: &Matcher,
    request: &ServerRequest,
    headers: &HeaderMap,
) -> Result<(), TestCaseError> {
    for (name, value) in headers {
        prop_assert!(
            !value
                .as_bytes()
                .iter()
                .any(|b| matches!(b, b'\r' | b'\n' | 0)),
            "{name} holds CR, LF or NUL: {value:?}"
        );
    }
    let allow_origin = lines(headers, &ACCESS_CONTROL_ALLOW_ORIGIN);
    prop_assert!(allow_origin.len() <= 1, "several ACAO: {allow_origin:?}");
    let credentials = lines(headers, &ACCESS_CONTROL_ALLOW_CREDENTIALS);
    match allow_origin.first() {
        None => prop_assert!(credentials.is_empty(), "ACAC without ACAO"),
        Some(&b"*") => {
            prop_assert!(matcher.any, "ACAO * for a policy without *");
            prop_assert!(!config.allow_credentials, "ACAO * with credentials");
            prop_assert!(credentials.is_empty(), "ACAO * with ACAC");
        }
        Some(value) => {
            prop_assert_eq!(request.origins.len(), 1, "echoed one of several origins");
            prop_assert_eq!(
                *value,
                request.origins[0].as_slice(),
                "ACAO is not the Origin"
            );
            prop_assert!(
                matcher.allows(value),
                "ACAO for an origin the configuration does not allow"
            );
            prop_assert!(!matcher.any, "a * policy echoed the origin");
        }
    }
    if !credentials.is_empty() {
        prop_assert!(
            config.allow_credentials,
            "ACAC from a policy without credentials"
        );
        prop_assert_eq!(credentials, vec![&b"true"[..]]);
    }
    Ok(())
}

fn check_engine_output(
    config: &Config,
    request: &ServerRequest,
    app: &HeaderMap,
) -> Result<(), TestCaseError> {
    let policy = policy(config)?;
    let matcher = Matcher::new(&config.allow_origins);
    let headers = request.headers();
    let origin_allowed =
        matcher.any || (request.origins.len() == 1 && matcher.allows(&request.origins[0]));

    match policy.check(&request.http_method(), &headers) {
        Decision::Preflight(preflight) => {
            prop_assert!(request.is_preflight(), "not a preflight: {preflight:?}");
            let allowed = matches!(preflight, Preflight::Allowed(_));
            if !origin_allowed || !method_allowed(config, &request.requested_method) {
                prop_assert!(!allowed, "preflight allowed against the reference");
            } else if let Some(names) = request.requested_headers.names() {
                prop_assert_eq!(
                    allowed,
                    headers_allowed(config, &names),
                    "preflight verdict for the headers {:?}",
                    names
                );
            }
            let response = policy.preflight_response::<()>(&preflight);
            let out = response.headers();
            common_safety(config, &matcher, request, out)?;
            let vary = lines(out, &VARY);
            prop_assert_eq!(
                varies_on_origin(vary.iter().copied()),
                !matcher.any,
                "preflight Vary: {:?}",
                vary
            );
            if allowed {
                let expected = if config.preflight_status == Some(200) {
                    StatusCode::OK
                } else {
                    StatusCode::NO_CONTENT
                };
                prop_assert_eq!(response.status(), expected);
                prop_assert!(
                    !out.contains_key("timing-allow-origin"),
                    "TAO on a preflight"
                );
                prop_assert!(out.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
                prop_assert_eq!(
                    out.contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS),
                    config.allow_credentials
                );
                let max_age = config.max_age.map(|age| age.to_string());
                prop_assert_eq!(
                    out.get(ACCESS_CONTROL_MAX_AGE).map(HeaderValue::as_bytes),
                    max_age.as_deref().map(str::as_bytes)
                );
                if config.allow_credentials {
                    // `*` is literal to browsers with credentials: only an
                    // echo of the request may say it.
                    for name in [&ACCESS_CONTROL_ALLOW_METHODS, &ACCESS_CONTROL_ALLOW_HEADERS] {
                        for line in lines(out, name) {
                            let echoed = lines(&headers, &name_requested(name)).contains(&line);
                            prop_assert!(line != b"*" || echoed, "{name}: * with credentials");
                        }
                    }
                }
            } else {
                prop_assert_eq!(response.status(), StatusCode::FORBIDDEN);
                prop_assert!(cors_names(out).is_empty(), "CORS headers on a refusal");
            }
        }
        Decision::Forbidden(refusal) => {
            prop_assert!(
                !request.is_preflight(),
                "a preflight refused as {refusal:?}"
            );
            prop_assert!(
                forbidden(
                    config,
                    request.method,
                    origin_allowed,
                    &request.origins,
                    &headers
                ),
                "cross-origin protection refused against the reference: {refusal}"
            );
            let response = policy.forbidden_response::<()>(&refusal);
            prop_assert_eq!(response.status(), StatusCode::FORBIDDEN);
            prop_assert!(cors_names(response.headers()).is_empty());
        }
        Decision::Lookup(lookup) => {
            return Err(TestCaseError::fail(format!(
                "a policy without an origin source looked an origin up: {lookup:?}"
            )));
        }
        Decision::Actual(actual) => {
            prop_assert!(!request.is_preflight(), "a preflight read as {actual:?}");
            prop_assert!(
                !forbidden(
                    config,
                    request.method,
                    origin_allowed,
                    &request.origins,
                    &headers
                ),
                "cross-origin protection let through what the reference refuses"
            );
            let allowed = matches!(actual, Actual::Allowed(_));
            prop_assert_eq!(
                allowed,
                origin_allowed && (matcher.any || !request.origins.is_empty()),
                "actual verdict"
            );
            prop_assert_eq!(
                matches!(actual, Actual::NoOrigin),
                request.origins.is_empty() && !matcher.any
            );
            let mut out = app.clone();
            policy.apply(&actual, &mut out);
            common_safety(config, &matcher, request, &out)?;
            if allowed {
                prop_assert!(out.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
                prop_assert_eq!(
                    out.contains_key(ACCESS_CONTROL_EXPOSE_HEADERS),
                    !config.expose_headers.is_empty()
                );
                for name in cors_names(&out) {
                    prop_assert!(
                        [
                            "access-control-allow-origin",
                            "access-control-allow-credentials",
                            "access-control-expose-headers"
                        ]
                        .contains(&name),
                        "{} on an actual response",
                        name
                    );
                }
            } else {
                prop_assert!(
                    cors_names(&out).is_empty(),
                    "CORS headers on a refused actual response: {:?}",
                    out
                );
            }
            // Vary: the application's lines stay, in order, and `Origin` is
            // merged in whenever the answer depends on the origin, which is
            // always unless the policy is `*`.
            let before = lines(app, &VARY);
            let after = lines(&out, &VARY);
            prop_assert!(
                after.starts_with(&before),
                "Vary lost: {before:?} -> {after:?}"
            );
            if matcher.any {
                prop_assert_eq!(&after, &before, "a * policy changed Vary");
            } else {
                prop_assert!(
                    varies_on_origin(after.iter().copied()),
                    "no Vary: Origin: {after:?}"
                );
                prop_assert!(
                    after.len() <= before.len() + 1,
                    "Vary: Origin merged twice: {after:?}"
                );
            }
            // Timing-Allow-Origin: the policy's (the allowed origin, or
            // `*`) when it sends one, else the application's untouched.
            let timing = lines(&out, &HeaderName::from_static("timing-allow-origin"));
            if !config.timing_allow_origin {
                prop_assert_eq!(
                    &timing,
                    &lines(app, &HeaderName::from_static("timing-allow-origin"))
                );
            } else if allowed {
                let acao = lines(&out, &ACCESS_CONTROL_ALLOW_ORIGIN);
                prop_assert_eq!(&timing, &acao, "Timing-Allow-Origin is the allowed origin");
            } else {
                prop_assert!(
                    timing.is_empty(),
                    "Timing-Allow-Origin for a refused origin"
                );
            }
            // Everything else the application said is untouched.
            for name in app.keys() {
                if name != VARY
                    && name.as_str() != "timing-allow-origin"
                    && !name.as_str().starts_with("access-control-")
                {
                    prop_assert_eq!(lines(app, name), lines(&out, name));
                }
            }
        }
    }
    Ok(())
}

/// The request header that an `Access-Control-Allow-*` answer may echo.
fn name_requested(name: &http::header::HeaderName) -> http::header::HeaderName {
    if *name == ACCESS_CONTROL_ALLOW_METHODS {
        http::header::ACCESS_CONTROL_REQUEST_METHOD
    } else {
        http::header::ACCESS_CONTROL_REQUEST_HEADERS
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Property 1.
    #[test]
    fn the_engine_only_says_what_the_configuration_allows(
        (config, request, app) in valid_config().prop_flat_map(|config| {
            (server_request(&config), app_headers(), Just(config))
        }).prop_map(|(request, app, config)| (config, request, app)),
    ) {
        check_engine_output(&config, &request, &app)?;
    }
}

/// Sends a planned request through the policy as a browser would, and
/// compares the engine's verdicts with the model's.
fn check_agreement(
    config: &Config,
    page_origin: Option<&str>,
    script: &strategies::Script,
    app: &HeaderMap,
) -> Result<(), TestCaseError> {
    let policy = policy(config)?;
    let page = match page_origin {
        Some(origin) => Page::new(&format!("{origin}/index.html")).unwrap(),
        None => Page::opaque(),
    };
    let mut request = CorsRequest::new(&script.method, API).credentials(script.credentials);
    for (name, value) in &script.headers {
        request = request.header(name, value.as_bytes());
    }
    if script.force_preflight {
        request = request.force_preflight();
    }
    let profile = script.profile;
    let plan = page.plan(&request, &profile).unwrap();
    prop_assert!(plan.cross_origin);

    // The engine cannot know the credentials mode: a request in mode
    // `include` to a policy without credentials gets the origin (or `*`) but
    // no `Access-Control-Allow-Credentials`, and the browser blocks it. That
    // is the documented contract (`Config::allow_credentials`: "cookies and
    // HTTP authentication may be sent"; Fetch's CORS check), not a
    // disagreement: the model must block, whatever the engine decided.
    let credentials_refused = plan.includes_credentials() && !config.allow_credentials;

    // The preflight, when the browser sends one.
    if let Some(preflight) = &plan.preflight {
        let headers = preflight.http_headers().unwrap();
        let Decision::Preflight(decision) = policy.check(&Method::OPTIONS, &headers) else {
            return Err(TestCaseError::fail(
                "a browser's preflight was not read as one",
            ));
        };
        let response = policy.preflight_response::<()>(&decision);
        let model = check_preflight(&plan, response.status(), response.headers(), &profile);
        let engine = matches!(decision, Preflight::Allowed(_));
        if credentials_refused {
            prop_assert!(
                model.is_err(),
                "credentials went through a policy without them"
            );
            return Ok(());
        }
        prop_assert_eq!(
            engine,
            model.is_ok(),
            "preflight: engine {:?}, model {:?}, answer {:?}",
            decision,
            model,
            response.headers()
        );
        if model.is_err() {
            // The browser stops here; the actual request is never sent.
            return Ok(());
        }
    }

    // The actual request: the script's headers and `Origin`.
    let mut headers = plan.headers.clone();
    headers.insert(ORIGIN, HeaderValue::from_str(&plan.origin).unwrap());
    let actual = match policy.check(&plan.http_method().unwrap(), &headers) {
        Decision::Actual(actual) => actual,
        // Cross-origin protection answers 403 without CORS headers: the
        // browser never reads it, and the origin was not allowed.
        Decision::Forbidden(refusal) => {
            let response = policy.forbidden_response::<()>(&refusal);
            prop_assert!(
                check_response(&plan, response.headers()).is_err() || !plan.cross_origin,
                "the browser reads an answer cross-origin protection refused"
            );
            return Ok(());
        }
        Decision::Preflight(_) => {
            return Err(TestCaseError::fail(
                "an actual request was read as a preflight",
            ));
        }
        Decision::Lookup(_) => {
            return Err(TestCaseError::fail(
                "a policy without an origin source looked an origin up",
            ));
        }
    };
    let mut response = app.clone();
    policy.apply(&actual, &mut response);
    let model = check_response(&plan, &response);
    if credentials_refused {
        prop_assert!(
            model.is_err(),
            "credentials went through a policy without them"
        );
        return Ok(());
    }
    prop_assert_eq!(
        matches!(actual, Actual::Allowed(_)),
        model.is_ok(),
        "actual: engine {:?}, model {:?}, response {:?}",
        actual,
        model.as_ref().map(|_| ()),
        response
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Property 2.
    #[test]
    fn the_engine_and_the_browser_model_agree(
        (config, page, script, app) in valid_config().prop_flat_map(|config| {
            (page(&config), script(&config), app_headers(), Just(config))
        }).prop_map(|(page, script, app, config)| (config, page, script, app)),
    ) {
        check_agreement(&config, page.as_deref(), &script, &app)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Property 3: the hash sets and label tree answer exactly what a scan
    /// of the entries, one by one, answers.
    #[test]
    fn the_origin_matcher_agrees_with_a_linear_scan(
        (patterns, origins) in vec(pattern(), 1..6)
            .prop_map(|mut patterns| {
                patterns.retain(|p| p != "*");
                if patterns.is_empty() {
                    patterns.push("https://*.example.com".to_owned());
                }
                patterns
            })
            .prop_flat_map(|patterns| {
                let origins = vec(prop_oneof![3 => near_origin(&patterns), 1 => origin_value()], 1..16);
                (Just(patterns), origins)
            }),
    ) {
        let config = Config { allow_origins: patterns, ..Config::default() };
        let policy = policy(&config)?;
        let matcher = Matcher::new(&config.allow_origins);
        for origin in &origins {
            let mut headers = HeaderMap::new();
            headers.insert(ORIGIN, HeaderValue::from_bytes(origin).unwrap());
            let allowed = matches!(
                policy.check(&Method::GET, &headers),
                Decision::Actual(Actual::Allowed(_))
            );
            prop_assert_eq!(
                allowed,
                matcher.allows(origin),
                "{} against {:?}",
                String::from_utf8_lossy(origin),
                config.allow_origins
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Property 3b: the same entries, written in `allow_origins_file` (with
    /// comments, blank lines and spaces) or in `allow_origins`, are
    /// refused alike (one problem per refused line for one per entry) or
    /// allow exactly the same origins.
    #[test]
    fn an_origins_file_and_allow_origins_agree(
        (patterns, origins, credentials) in vec(pattern(), 1..6)
            .prop_map(|mut patterns| {
                patterns.retain(|p| p != "*");
                if patterns.is_empty() {
                    patterns.push("https://*.example.com".to_owned());
                }
                patterns
            })
            .prop_flat_map(|patterns| {
                let origins = vec(prop_oneof![3 => near_origin(&patterns), 1 => origin_value()], 1..16);
                (Just(patterns), origins, any::<bool>())
            }),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("origins.txt");
        let mut text = String::from("# allowed origins\n\n");
        for (n, pattern) in patterns.iter().enumerate() {
            text.push_str(&match n % 3 {
                0 => format!("{pattern}\n"),
                1 => format!("  {pattern}\t# entry {n}\r\n"),
                _ => format!("{pattern}#\n\n"),
            });
        }
        std::fs::write(&path, text).unwrap();
        let listed = Policy::new(Config {
            allow_origins: patterns.clone(),
            allow_credentials: credentials,
            ..Config::default()
        });
        let from_file = Policy::new(Config {
            allow_origins_file: Some(path),
            allow_credentials: credentials,
            ..Config::default()
        });
        let (listed, from_file) = match (listed, from_file) {
            (Ok(listed), Ok(from_file)) => (listed, from_file),
            (Err(listed), Err(from_file)) => {
                prop_assert_eq!(listed.problems().len(), from_file.problems().len(), "{}\n{}", listed, from_file);
                return Ok(());
            }
            (listed, from_file) => {
                return Err(TestCaseError::fail(format!("{listed:?}\n{from_file:?}")));
            }
        };
        for origin in &origins {
            let mut headers = HeaderMap::new();
            headers.insert(ORIGIN, HeaderValue::from_bytes(origin).unwrap());
            let allowed = |policy: &Policy| matches!(
                policy.check(&Method::GET, &headers),
                Decision::Actual(Actual::Allowed(_))
            );
            prop_assert_eq!(
                allowed(&listed),
                allowed(&from_file),
                "{} against {:?}",
                String::from_utf8_lossy(origin),
                patterns
            );
        }
    }
}

/// Any configuration, valid or not: entries from the universe mixed with
/// arbitrary text.
fn any_config() -> impl Strategy<Value = Config> {
    let text = || {
        prop_oneof![
            3 => pattern(),
            2 => select(&[
                "PUT", "patch", "TRACE", "content-type", "cookie", "set-cookie", "*", "x y", "",
                "null", "https://App.example.com", "https://a.example.com/", "https://*.com",
                "http://*.0.0.1", "file://", "^https://.*$",
            ][..]).prop_map(String::from),
            1 => any::<String>(),
        ]
    };
    (
        vec(text(), 0..4),
        any::<bool>(),
        vec(text(), 0..3),
        vec(text(), 0..3),
        vec(text(), 0..3),
        prop_oneof![
            Just(None),
            (0..=MAX_AGE_LIMIT + 1).prop_map(Some),
            any::<u64>().prop_map(Some)
        ],
        any::<bool>(),
        any::<bool>(),
        (
            proptest::option::of(any::<u16>()),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                origins,
                credentials,
                methods,
                headers,
                expose,
                max_age,
                insecure,
                suffix,
                (preflight_status, timing_allow_origin, cross_origin_protection, pass),
            )| Config {
                allow_origins: origins,
                // Origins from a file are held to the same list in
                // allow_origins by their own property below.
                allow_origins_file: None,
                allow_credentials: credentials,
                allow_methods: methods,
                allow_headers: headers,
                expose_headers: expose,
                max_age,
                dangerously_allow_insecure_origins: insecure,
                dangerously_allow_public_suffix_wildcards: suffix,
                preflight_status,
                timing_allow_origin,
                cross_origin_protection,
                websocket_origins: if pass {
                    corsair::config::WebSocketOrigins::Pass
                } else {
                    corsair::config::WebSocketOrigins::Enforce
                },
                // Report-only mode is held to its own tests
                // (tests/report_only.rs).
                mode: corsair::config::Mode::Enforce,
                // Sources are held to the lists by tests/origin_source.rs.
                origin_source: None,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// `Policy::new` never panics: it compiles the configuration unchanged,
    /// or reports at least one problem, and always for the obvious ones.
    #[test]
    fn policy_new_compiles_or_reports_problems(config in any_config()) {
        match Policy::new(config.clone()) {
            Ok(policy) => {
                prop_assert_eq!(policy.config(), &config);
                prop_assert!(!config.allow_origins.is_empty());
                prop_assert!(config.max_age.is_none_or(|age| age <= MAX_AGE_LIMIT));
                prop_assert!(!(config.allow_credentials && config.allow_origins.iter().any(|o| o == "*")));
                // A compiled policy answers requests without panicking.
                let mut headers = HeaderMap::new();
                headers.insert(ORIGIN, HeaderValue::from_static("https://app.example.com"));
                headers.insert(
                    http::header::ACCESS_CONTROL_REQUEST_METHOD,
                    HeaderValue::from_static("PUT"),
                );
                if let Decision::Preflight(preflight) = policy.check(&Method::OPTIONS, &headers) {
                    let _ = policy.preflight_headers(&preflight);
                }
            }
            Err(error) => prop_assert!(!error.problems().is_empty()),
        }
    }
}

#[cfg(all(feature = "toml", feature = "json"))]
mod serialisation {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Property 4: `Config` serialises and parses back equal.
        #[test]
        fn config_round_trips_through_toml_and_json(
            config in any_config(),
        ) {
            for toml in [toml::to_string(&config).unwrap(), toml::to_string_pretty(&config).unwrap()] {
                let parsed = Config::from_toml(&toml)
                    .map_err(|error| TestCaseError::fail(format!("{error}\n{toml}")))?;
                prop_assert_eq!(&parsed, &config, "TOML:\n{}", toml);
            }

            let json = serde_json::to_string(&config).unwrap();
            let parsed = Config::from_json(&json)
                .map_err(|error| TestCaseError::fail(format!("{error}\n{json}")))?;
            prop_assert_eq!(&parsed, &config, "JSON:\n{}", json);
        }
    }
}
