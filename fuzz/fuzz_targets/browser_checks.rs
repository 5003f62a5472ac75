//! The browser model: planning a script's request, then judging arbitrary
//! answers with `check_preflight`, `check_response`, `cors_check`,
//! `max_age` and `exposed_headers`, and caching the preflight result.
//!
//! Input:
//!
//! ```text
//! PUT https://api.example.com/items/1      <- the script's method and URL
//! 204 if https://app.example.com/          <- answer status, flags, page URL
//! content-type: application/json           <- the script's headers
//!                                          <- a blank line
//! access-control-allow-origin: ...         <- the server's answer headers
//! ```
//!
//! Flags (one word, `-` for none): `i` credentials include, `o` omit
//! (default same-origin), `f` force a preflight, `b` a body, `x` Firefox's
//! profile, `w` WebKit's, `s` the Fetch standard's rules, `n` an opaque
//! page, `X` XMLHttpRequest. The page URL defaults to `https://app.example.com/`.

#![no_main]

use std::time::Duration;

use corsair::browser::{
    self, Blocked, Client, CorsRequest, Credentials, DEFAULT_MAX_AGE, Page, PreflightCache, Profile,
};
use corsair::protocol::is_forbidden_response_header;
use http::StatusCode;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, HeaderMap, SET_COOKIE,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (request_line, rest) = corsair_fuzz::split_first_line(data);
    let (control, rest) = corsair_fuzz::split_first_line(rest);
    let (script_headers, answer) = corsair_fuzz::split_blank_line(rest);

    let request_line = String::from_utf8_lossy(request_line);
    let (method, url) = request_line
        .split_once(' ')
        .unwrap_or(("GET", &request_line));
    let control = String::from_utf8_lossy(control);
    let mut control = control.split(' ');
    let status = control
        .next()
        .and_then(|status| StatusCode::from_bytes(status.as_bytes()).ok())
        .unwrap_or(StatusCode::OK);
    let flags = control.next().unwrap_or("-");
    let page_url = control.next().unwrap_or("https://app.example.com/");

    let options = if flags.contains('x') {
        Profile::firefox()
    } else if flags.contains('w') {
        Profile::webkit()
    } else if flags.contains('s') {
        let mut fetch = Profile::chromium();
        fetch.safelist = corsair::protocol::Safelist::Fetch;
        fetch.wildcard_covers_authorization = false;
        fetch
    } else {
        Profile::chromium()
    };
    let client = if flags.contains('X') {
        Client::XmlHttpRequest
    } else {
        Client::Fetch
    };
    let page = if flags.contains('n') {
        Page::opaque()
    } else {
        match Page::new(page_url) {
            Ok(page) => page,
            Err(blocked) => {
                check_blocked(&blocked, page_url, "null", client);
                Page::opaque()
            }
        }
    };

    let mut request = CorsRequest::new(method, url);
    for line in script_headers.split(|&b| b == b'\n').take(32) {
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&line[..colon]).into_owned();
            request = request.header(name, &line[colon + 1..]);
        }
    }
    if flags.contains('i') {
        request = request.credentials(Credentials::Include);
    } else if flags.contains('o') {
        request = request.credentials(Credentials::Omit);
    }
    if flags.contains('f') {
        request = request.force_preflight();
    }
    if flags.contains('b') {
        request = request.body("x");
    }
    let answer = corsair_fuzz::header_map(answer, 64);
    let credentials = flags.contains('i');

    // The checks that need no plan.
    check_cors(&answer, page.origin(), credentials);
    check_cors(&answer, page.origin(), !credentials);
    let age = browser::max_age(&answer, &options);
    assert!(
        age <= options.max_age_cap.max(DEFAULT_MAX_AGE),
        "max age {age:?}"
    );
    check_exposed(&answer, credentials);

    let plan = match page.plan(&request, &options) {
        Ok(plan) => plan,
        Err(blocked) => {
            assert!(blocked.is_type_error(), "planning failed with {blocked:?}");
            check_blocked(&blocked, url, page.origin(), client);
            return;
        }
    };
    assert!(
        plan.http_method().is_ok(),
        "a planned method is not a method"
    );
    assert!(
        plan.unsafe_headers.windows(2).all(|pair| pair[0] < pair[1])
            && plan
                .unsafe_headers
                .iter()
                .all(|name| !name.bytes().any(|b| b.is_ascii_uppercase())),
        "unsafe headers not lowercase, sorted and unique: {:?}",
        plan.unsafe_headers
    );
    if let Some(preflight) = &plan.preflight {
        assert!(plan.cross_origin, "a preflight for a same-origin request");
        assert_eq!(preflight.method, plan.method);
        assert_eq!(preflight.headers, plan.unsafe_headers);
        assert!(preflight.http_headers().is_ok(), "unsendable preflight");
    }
    let url = plan.url.as_str();

    match browser::check_preflight(&plan, status, &answer, &options) {
        Ok(result) => {
            assert!(status.is_success());
            assert_eq!(
                browser::cors_check(&answer, &plan.origin, plan.includes_credentials()),
                Ok(())
            );
            assert!(result.allows_method(&plan.method));
            assert_eq!(
                result.first_disallowed_header(&plan.unsafe_headers, &options),
                None
            );
            assert!(result.max_age <= options.max_age_cap.max(DEFAULT_MAX_AGE));
            let mut cache = PreflightCache::default();
            let expect_cached = !result.max_age.is_zero() && url.len() < 1024;
            let max_age = result.max_age;
            cache.store(&plan, result, Duration::ZERO);
            assert_eq!(cache.covers(&plan, Duration::ZERO, &options), expect_cached);
            assert!(
                !cache.covers(&plan, max_age, &options),
                "an expired answer covers"
            );
            cache.forget(&plan);
            assert!(cache.is_empty());
        }
        Err(blocked) => {
            assert!(
                blocked.is_preflight(),
                "a preflight failed with {blocked:?}"
            );
            check_blocked(&blocked, url, &plan.origin, client);
        }
    }

    match browser::check_response(&plan, &answer) {
        Ok(visible) => {
            assert!(!visible.contains_key(SET_COOKIE) && !visible.contains_key("set-cookie2"));
            for (name, value) in &visible {
                assert!(
                    answer.get_all(name).iter().any(|sent| sent == value),
                    "{name} was made up"
                );
            }
        }
        Err(blocked) => {
            assert!(plan.cross_origin, "a same-origin response was blocked");
            assert!(matches!(blocked, Blocked::Cors(_)), "{blocked:?}");
            check_blocked(&blocked, url, &plan.origin, client);
        }
    }
});

/// `cors_check` passes only for the exact origin (or `*` without
/// credentials), and with credentials only with `...-Credentials: true`.
fn check_cors(answer: &HeaderMap, origin: &str, credentials: bool) {
    match browser::cors_check(answer, origin, credentials) {
        Ok(()) => {
            let allow_origin = corsair_fuzz::combined(answer, &ACCESS_CONTROL_ALLOW_ORIGIN)
                .expect("passed without Access-Control-Allow-Origin");
            if credentials {
                assert_eq!(allow_origin, origin.as_bytes());
                assert_eq!(
                    corsair_fuzz::combined(answer, &ACCESS_CONTROL_ALLOW_CREDENTIALS).as_deref(),
                    Some(&b"true"[..])
                );
            } else {
                assert!(allow_origin == b"*" || allow_origin == origin.as_bytes());
            }
        }
        Err(failure) => {
            assert!(!failure.to_string().is_empty());
            assert!(!failure.fix().is_empty());
        }
    }
}

/// A script reads only headers that were sent, never `Set-Cookie`.
fn check_exposed(answer: &HeaderMap, credentials: bool) {
    let visible = browser::exposed_headers(answer, credentials);
    for (name, value) in &visible {
        assert!(
            !is_forbidden_response_header(name.as_str()),
            "{name} exposed"
        );
        assert!(
            answer.get_all(name).iter().any(|sent| sent == value),
            "{name} was made up"
        );
    }
}

/// Every reason renders, with a fix and a console line.
fn check_blocked(blocked: &Blocked, url: &str, origin: &str, client: Client) {
    assert!(!blocked.reason().is_empty());
    assert!(!blocked.fix().is_empty());
    assert!(!blocked.to_string().is_empty());
    let message = blocked.console_message(url, origin, client);
    assert!(!message.is_empty());
}
