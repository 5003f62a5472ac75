//! What corsair refuses, every real browser blocks: a page on an origin
//! the policy does not list, a request header it does not allow, and the
//! `null` origin of a sandboxed frame. Each test runs in each engine, with
//! its stock settings; the attacker's test runs once more in Chromium
//! with third-party cookies allowed and a session cookie made for
//! cross-site use, so that the attacker's request carries the victim's
//! cookie and only CORS keeps the answer from it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use corsair_e2e::{Browser, BrowserOptions, Engine, LoggedSeed, Probe, Seen, Sites, per_engine};
use corsair_seed::{CROSS_SITE_COOKIE, SAME_SITE_COOKIE};
use serde_json::{Value, json};

per_engine!(
    a_disallowed_origin_is_blocked,
    a_disallowed_request_header_is_refused_at_the_preflight,
    the_null_origin_of_a_sandboxed_frame_is_blocked,
);

async fn setup(
    engine: Engine,
    options: &BrowserOptions,
    api: LoggedSeed,
) -> (LoggedSeed, Sites, Browser) {
    let sites = Sites::start(|origins| api.router(corsair_seed::policy(&origins.page, Some(600))))
        .await
        .unwrap();
    let browser = Browser::launch_with(engine, options).await.unwrap();
    (api, sites, browser)
}

fn probe(results: &Value, name: &str) -> Probe {
    serde_json::from_value(results[name].clone())
        .unwrap_or_else(|error| panic!("{name}: {error}: {results}"))
}

/// `fetch` rejected the call with a `TypeError`: the browser blocked it.
fn assert_blocked(probe: &Probe) {
    assert!(!probe.ok, "the script could read the response: {probe:?}");
    assert_eq!(probe.error.as_deref(), Some("TypeError"), "{probe:?}");
    assert_eq!(probe.status, None);
    assert_eq!(probe.body, None);
}

/// No CORS header on an answer: what a refusal looks like on the wire.
fn assert_no_cors_headers(seen: &Seen) {
    for (name, _) in &seen.response_headers {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "{} {} was answered with {name}",
            seen.method,
            seen.path
        );
    }
}

/// The attacker's page (`http://127.0.0.1:P3`, another site) calls the API
/// after the user logged in on the trusted page. The simple `GET` reaches
/// the API (corsair lets the application answer, without CORS headers) but
/// the script cannot read it; the preflighted `PUT` is refused at the
/// preflight and never reaches the API. The seed's session cookie is
/// `SameSite=Lax`: no engine sends it along a cross-site `fetch`, so the
/// API answers `401`.
async fn a_disallowed_origin_is_blocked(engine: Engine) {
    let options = BrowserOptions::default();
    attacker_is_blocked(engine, &options, SAME_SITE_COOKIE, false).await;
}

/// [`a_disallowed_origin_is_blocked`] at its worst: a session cookie made
/// for cross-site use (`SameSite=None; Secure`), in a Chromium that allows
/// third-party cookies as a desktop Chrome does by default. The
/// attacker's `GET` carries the victim's session cookie and the API
/// answers `200` with the victim's data, which CORS alone keeps from the
/// script.
#[tokio::test]
async fn a_disallowed_origin_is_blocked_even_with_the_victims_cookie() {
    let options = BrowserOptions::default().allow_third_party_cookies();
    attacker_is_blocked(Engine::Chromium, &options, CROSS_SITE_COOKIE, true).await;
}

/// Third-party cookies allowed, but the seed's `SameSite=Lax` session
/// cookie: it stays home.
#[tokio::test]
async fn a_lax_session_cookie_stays_home_even_with_third_party_cookies() {
    let options = BrowserOptions::default().allow_third_party_cookies();
    attacker_is_blocked(Engine::Chromium, &options, SAME_SITE_COOKIE, false).await;
}

async fn attacker_is_blocked(
    engine: Engine,
    options: &BrowserOptions,
    cookie: &'static str,
    cookie_sent: bool,
) {
    let (api, sites, browser) = setup(engine, options, LoggedSeed::new().with_cookie(cookie)).await;
    let origins = sites.origins().clone();

    browser.open(&origins.page).await.unwrap();
    let login = browser
        .probe(
            r#"return probeFetch(args[0], { method: "POST", credentials: "include",
                 headers: { "content-type": "application/json" }, body: JSON.stringify({ user: "ada" }) });"#,
            vec![json!(sites.api_url("/login"))],
        )
        .await
        .unwrap();
    assert_eq!(login.status, Some(200), "{login:?}");
    api.wire.clear();
    api.app.clear();

    browser.open(&origins.attacker).await.unwrap();
    let results = browser
        .run(
            r#"
            const [api] = args;
            const get = await probeFetch(api + "/me", { credentials: "include" });
            const put = await probeFetch(api + "/items/1", {
              method: "PUT", credentials: "include",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ name: "stolen", done: false }),
            });
            return { get, put };
            "#,
            vec![json!(origins.api)],
        )
        .await
        .unwrap();

    // The script saw nothing.
    assert_blocked(&probe(&results, "get"));
    assert_blocked(&probe(&results, "put"));

    // The server saw the GET (and answered it, without CORS headers) and
    // the PUT's preflight (refused with 403, without CORS headers), and
    // nothing else.
    let on_wire = api.wire.entries();
    assert_eq!(on_wire.len(), 2, "{}", api.wire.summary());
    let (get, preflight) = (&on_wire[0], &on_wire[1]);
    assert_eq!((get.method.as_str(), get.path.as_str()), ("GET", "/me"));
    assert_eq!(get.header("origin"), Some(origins.attacker.as_str()));
    assert_no_cors_headers(get);
    assert!(
        get.response_header("vary")
            .is_some_and(|vary| vary.eq_ignore_ascii_case("origin")),
        "{get:?}"
    );
    // When the session cookie went along, the API answered with the user's
    // data; only CORS keeps it from the attacker. Otherwise the API did not
    // know the user.
    let token = api.token_of("ada").unwrap();
    if cookie_sent {
        assert_eq!(get.cookie("session"), Some(token.as_str()), "{get:?}");
        assert_eq!(get.status.map(|s| s.as_u16()), Some(200));
    } else {
        assert_eq!(get.header("cookie"), None, "{get:?}");
        assert_eq!(get.status.map(|s| s.as_u16()), Some(401));
    }
    assert!(preflight.is_preflight(), "{preflight:?}");
    assert_eq!(preflight.path, "/items/1");
    assert_eq!(preflight.header("origin"), Some(origins.attacker.as_str()));
    assert_eq!(
        preflight.header("access-control-request-method"),
        Some("PUT")
    );
    assert_eq!(preflight.status.map(|s| s.as_u16()), Some(403));
    assert_no_cors_headers(preflight);

    // The application ran for the GET only: the PUT never reached it.
    let reached = api.app.entries();
    assert_eq!(reached.len(), 1, "{}", api.app.summary());
    assert_eq!(reached[0].method, "GET");
    browser.close().await.unwrap();
}

/// `x-api-key` is not in `allow_headers`: the preflight is refused, and
/// neither the `GET` nor the `PUT` that asked for it is sent. The same calls
/// without the header go through, so the header is the reason.
async fn a_disallowed_request_header_is_refused_at_the_preflight(engine: Engine) {
    let (api, sites, browser) = setup(engine, &BrowserOptions::default(), LoggedSeed::new()).await;
    browser.open(&sites.origins().page).await.unwrap();
    let results = browser
        .run(
            r#"
            const [api] = args;
            const get = await probeFetch(api + "/me", {
              credentials: "include", headers: { "x-api-key": "k" },
            });
            const put = await probeFetch(api + "/items/1", {
              method: "PUT", credentials: "include",
              headers: { "content-type": "application/json", "x-api-key": "k" },
              body: "{}",
            });
            const control = await probeFetch(api + "/items/2", {
              method: "PUT", credentials: "include",
              headers: { "content-type": "application/json" },
              body: "{}",
            });
            return { get, put, control };
            "#,
            vec![json!(sites.origins().api)],
        )
        .await
        .unwrap();
    assert_blocked(&probe(&results, "get"));
    assert_blocked(&probe(&results, "put"));
    let control = probe(&results, "control");
    assert!(control.ok, "{control:?}");
    assert_eq!(control.status, Some(401), "not logged in, but readable");

    let on_wire = api.wire.entries();
    let lines: Vec<String> = on_wire
        .iter()
        .map(|seen| {
            format!(
                "{} {} {} {}",
                seen.method,
                seen.path,
                seen.header("access-control-request-headers").unwrap_or("-"),
                seen.status.map_or(0, |s| s.as_u16())
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            // The browser lists the non-safelisted names, sorted, without spaces.
            "OPTIONS /me x-api-key 403",
            "OPTIONS /items/1 content-type,x-api-key 403",
            "OPTIONS /items/2 content-type 204",
            "PUT /items/2 - 401",
        ]
    );
    for refused in &on_wire[..2] {
        assert!(refused.is_preflight());
        assert_no_cors_headers(refused);
    }
    // Only the control request reached the application.
    let reached = api.app.entries();
    assert_eq!(reached.len(), 1, "{}", api.app.summary());
    assert_eq!(reached[0].path, "/items/2");
    browser.close().await.unwrap();
}

/// A sandboxed frame without `allow-same-origin` has an opaque origin, and
/// its requests carry `Origin: null`, which corsair never allows: the
/// simple `GET` reaches the application but is not readable, the `PUT` is
/// refused at its preflight.
async fn the_null_origin_of_a_sandboxed_frame_is_blocked(engine: Engine) {
    let (api, sites, browser) = setup(engine, &BrowserOptions::default(), LoggedSeed::new()).await;
    browser.open(&sites.origins().page).await.unwrap();
    let results = browser
        .run(
            r#"
            return probeInSandbox(`
              const [api] = args;
              const get = await probeFetch(api + "/me", { credentials: "include" });
              const put = await probeFetch(api + "/items/1", {
                method: "PUT", credentials: "include",
                headers: { "content-type": "application/json" }, body: "{}",
              });
              return { origin: self.origin, get, put };
            `, args);
            "#,
            vec![json!(sites.origins().api)],
        )
        .await
        .unwrap();
    assert_eq!(results["origin"], json!("null"), "{results}");
    assert_blocked(&probe(&results, "get"));
    assert_blocked(&probe(&results, "put"));

    let on_wire = api.wire.entries();
    assert_eq!(on_wire.len(), 2, "{}", api.wire.summary());
    for seen in &on_wire {
        assert_eq!(seen.header("origin"), Some("null"), "{seen:?}");
        assert_no_cors_headers(seen);
    }
    let (get, preflight) = (&on_wire[0], &on_wire[1]);
    assert_eq!((get.method.as_str(), get.path.as_str()), ("GET", "/me"));
    assert!(preflight.is_preflight(), "{preflight:?}");
    assert_eq!(preflight.status.map(|s| s.as_u16()), Some(403));
    let reached = api.app.entries();
    assert_eq!(reached.len(), 1, "{}", api.app.summary());
    assert_eq!(reached[0].method, "GET");
    browser.close().await.unwrap();
}
