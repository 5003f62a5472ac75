//! Which cookies each engine, as this harness launches it, stores from a
//! credentialed cross-origin `fetch` and sends back, and whether the model
//! keeps them as the engine does.
//!
//! A page on `http://PAGE_HOST:P1` calls, with `credentials: "include"`,
//! an API on `http://API_HOST:P2` whose `/set` answers with the cookies of
//! [`COOKIES`], then its `/echo`; the API answers both with
//! `Access-Control-Allow-Origin: <the page's origin>` and
//! `Access-Control-Allow-Credentials: true`, and records the `Cookie`
//! header each request carried. Then the browser opens `/echo` as a
//! top-level page: what it sends there was stored as a first-party
//! cookie of the API's host. Each layout gets a fresh browser.
//!
//! Layouts: the same site (`localhost` → `localhost`, another port),
//! another site (`localhost` → `127.0.0.1`), the same site on `127.0.0.1`,
//! and the same site on names that are not loopback (`app.example.com` →
//! `api.example.com`, `app.corsair.test` → `api.corsair.test`), which are
//! not secure contexts. Each engine runs with its stock settings, and the
//! cross-site layout also with third-party cookies allowed
//! ([`BrowserOptions::allow_third_party_cookies`]). The assertions pin what
//! each engine does ([`expected`]).
//!
//! Each layout is then played through the model: a fresh
//! `corsair::browser::Browser` on the same page URL with the engine's
//! profile ([`model_profile`]), making the same two calls to the same URLs,
//! carried by a [`RouterTransport`] to the same API router with a log of
//! its own. What the model's `/echo` request carried, and what the
//! `CookieReport`s of `/set` say comes back (`sent_back()`), must both be
//! the engine's "fetch" column. The top-level visit is not modelled and is
//! not compared. The disagreements known are listed in [`KNOWN_GAPS`]; any
//! other fails, and so does a listed one that went away. The table, the
//! model's reasons where it disagrees, and the disagreements in the form
//! of `KNOWN_GAPS` entries are printed: run with `--nocapture`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use corsair::browser::{
    Browser as Model, CookieReport, CorsRequest, Credentials, Profile, ThirdPartyCookies,
};
use corsair_e2e::{
    Browser, BrowserOptions, Engine, RequestLog, RouterTransport, Server, blank_page,
    markdown_table, per_engine, serve,
};
use serde_json::json;

/// The cookies `/set` sets: a name, and the attributes after `NAME=1`
/// (`Path=/` is added to each). `{host}` is the API's host.
const COOKIES: &[(&str, &str)] = &[
    ("none_insecure", "SameSite=None"),
    ("none_secure", "SameSite=None; Secure"),
    ("lax", "SameSite=Lax"),
    ("strict", "SameSite=Strict"),
    ("plain", ""),
    ("partitioned", "SameSite=None; Secure; Partitioned"),
    ("secure", "Secure"),
    ("domain", "Domain={host}"),
];

fn set_cookie_lines(host: &str) -> Vec<String> {
    COOKIES
        .iter()
        .map(|(name, attributes)| {
            let attributes = attributes.replace("{host}", host);
            if attributes.is_empty() {
                format!("{name}=1; Path=/")
            } else {
                format!("{name}=1; {attributes}; Path=/")
            }
        })
        .collect()
}

/// `/set` and `/echo`: both answer the page's origin with credentials
/// allowed, and a JSON body with the `Cookie` header received.
fn api(log: &RequestLog) -> Router {
    let answer = |headers: &HeaderMap, set: bool| -> Response {
        let cookie: Vec<&str> = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        let mut response = axum::Json(json!({ "cookie": cookie.join("; ") })).into_response();
        let out = response.headers_mut();
        if let Some(origin) = headers.get(header::ORIGIN) {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if set {
            let host = headers
                .get(header::HOST)
                .and_then(|host| host.to_str().ok())
                .and_then(|host| host.rsplit_once(':'))
                .map_or("", |(host, _port)| host);
            for line in set_cookie_lines(host) {
                out.append(header::SET_COOKIE, HeaderValue::from_str(&line).unwrap());
            }
        }
        response
    };
    Router::new()
        .route(
            "/set",
            get(move |headers: HeaderMap| async move { answer(&headers, true) }),
        )
        .route(
            "/echo",
            get(move |headers: HeaderMap| async move { answer(&headers, false) }),
        )
        .layer(log.clone())
}

/// A layout: where the page and the API are.
#[derive(Clone, Copy, Debug)]
struct Layout {
    name: &'static str,
    page_host: &'static str,
    api_host: &'static str,
    third_party_cookies: bool,
}

const LAYOUTS: &[Layout] = &[
    Layout {
        name: "same-site localhost",
        page_host: "localhost",
        api_host: "localhost",
        third_party_cookies: false,
    },
    Layout {
        name: "cross-site localhost → 127.0.0.1",
        page_host: "localhost",
        api_host: "127.0.0.1",
        third_party_cookies: false,
    },
    Layout {
        name: "cross-site, third-party cookies allowed",
        page_host: "localhost",
        api_host: "127.0.0.1",
        third_party_cookies: true,
    },
    Layout {
        name: "same-site 127.0.0.1",
        page_host: "127.0.0.1",
        api_host: "127.0.0.1",
        third_party_cookies: false,
    },
    Layout {
        name: "same-site, not loopback (example.com)",
        page_host: "app.example.com",
        api_host: "api.example.com",
        third_party_cookies: false,
    },
    Layout {
        name: "same-site, not loopback (corsair.test)",
        page_host: "app.corsair.test",
        api_host: "api.corsair.test",
        third_party_cookies: false,
    },
];

/// What each engine sends back, per layout: the cookie names `/echo` got
/// from the page's `fetch`, then those it got as a top-level page.
fn expected(engine: Engine, layout: &str) -> (&'static str, &'static str) {
    const ALL_BUT_INSECURE_NONE: &str = "domain lax none_secure partitioned plain secure strict";
    match (engine, layout) {
        // Chromium and Firefox: everything but `SameSite=None` without
        // `Secure`, `Secure` ones included (loopback is a secure context).
        (Engine::Chromium | Engine::Firefox, "same-site localhost" | "same-site 127.0.0.1") => {
            (ALL_BUT_INSECURE_NONE, ALL_BUT_INSECURE_NONE)
        }
        // WebKit: no `Secure` cookie over `http`, even from loopback; and
        // `SameSite=None` without `Secure` is kept. `Domain=localhost` is
        // refused, `Domain=127.0.0.1` kept.
        (Engine::WebKit, "same-site localhost") => (
            "lax none_insecure plain strict",
            "lax none_insecure plain strict",
        ),
        (Engine::WebKit, "same-site 127.0.0.1") => (
            "domain lax none_insecure plain strict",
            "domain lax none_insecure plain strict",
        ),
        // Stock headless Chromium blocks third-party cookies but the
        // partitioned (CHIPS) one, kept in the page's partition.
        (Engine::Chromium, "cross-site localhost → 127.0.0.1") => ("partitioned", ""),
        (Engine::Chromium, "cross-site, third-party cookies allowed") => {
            ("none_secure partitioned", "none_secure")
        }
        // Firefox partitions every third-party cookie (Total Cookie
        // Protection), and treats no `SameSite` as `None`: what a
        // cross-site request may carry comes back, in that partition only.
        (Engine::Firefox, "cross-site localhost → 127.0.0.1") => {
            ("domain none_secure partitioned plain secure", "")
        }
        (Engine::Firefox, "cross-site, third-party cookies allowed") => (
            "domain none_secure partitioned plain secure",
            "domain none_secure plain secure",
        ),
        // WebKit accepts no cookie from a third party...
        (Engine::WebKit, "cross-site localhost → 127.0.0.1") => ("", ""),
        // ...unless told to (`--cookies-policy=always`): it then stores them
        // all but the `Secure` ones, and sends the `Lax` and `Strict` ones to
        // the top-level page only.
        (Engine::WebKit, "cross-site, third-party cookies allowed") => (
            "domain none_insecure plain",
            "domain lax none_insecure plain strict",
        ),
        // Names that are not loopback make no secure context: no `Secure`
        // cookie, and `SameSite=None` needs `Secure`.
        (
            Engine::Chromium | Engine::Firefox,
            "same-site, not loopback (example.com)" | "same-site, not loopback (corsair.test)",
        ) => ("domain lax plain strict", "domain lax plain strict"),
        (Engine::WebKit, "same-site, not loopback (example.com)") => (
            "domain lax none_insecure plain strict",
            "domain lax none_insecure plain strict",
        ),
        // WebKit finds no registrable domain under `.test` (not in the
        // public suffix list) and treats `app.corsair.test` and
        // `api.corsair.test` as different sites: third-party cookies.
        (Engine::WebKit, "same-site, not loopback (corsair.test)") => ("", ""),
        _ => panic!("no expectation for {engine} in {layout:?}"),
    }
}

/// What one layout showed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    /// Cookie names `/echo` received from the page's `fetch`.
    sent: BTreeSet<String>,
    /// Cookie names `/echo` received as a top-level page.
    first_party: BTreeSet<String>,
    /// `document.cookie` on the page, after the calls.
    document_cookie: String,
    /// The page's `isSecureContext`.
    secure_context: bool,
}

fn names(cookie: Option<&str>) -> BTreeSet<String> {
    cookie
        .unwrap_or_default()
        .split(';')
        .filter_map(|pair| pair.split_once('=').map(|(name, _)| name.trim().to_owned()))
        .filter(|name| !name.is_empty())
        .collect()
}

async fn run_layout(
    engine: Engine,
    layout: Layout,
    page: &Server,
    api: &Server,
    log: &RequestLog,
) -> Seen {
    let mut options = BrowserOptions::default();
    for host in [layout.page_host, layout.api_host] {
        let loopback = host == "localhost" || host == "127.0.0.1";
        if !loopback && !options.mapped_hosts.iter().any(|mapped| mapped == host) {
            options = options.map_host(host);
        }
    }
    if layout.third_party_cookies {
        options = options.allow_third_party_cookies();
    }
    let browser = Browser::launch_with(engine, &options).await.unwrap();
    let page_origin = page.origin(layout.page_host);
    let api_origin = api.origin(layout.api_host);
    browser.open(&page_origin).await.unwrap();
    log.clear();
    let result = browser
        .run(
            r#"
            const [api] = args;
            const set = await probeFetch(api + "/set", { credentials: "include" });
            const echo = await probeFetch(api + "/echo", { credentials: "include" });
            return { set, echo, document_cookie: document.cookie, secure: isSecureContext };
            "#,
            vec![json!(api_origin)],
        )
        .await
        .unwrap();
    assert_eq!(
        result["set"]["ok"],
        json!(true),
        "{engine} {layout:?}: {result}"
    );
    assert_eq!(
        result["echo"]["ok"],
        json!(true),
        "{engine} {layout:?}: {result}"
    );
    browser.open(&format!("{api_origin}/echo")).await.unwrap();
    // Browsers also ask for /favicon.ico, at times of their choosing.
    let entries = log.filter(|seen| seen.path != "/favicon.ico");
    let paths: Vec<&str> = entries.iter().map(|seen| seen.path.as_str()).collect();
    assert_eq!(paths, ["/set", "/echo", "/echo"], "{engine} {layout:?}");
    assert_eq!(entries[0].header("cookie"), None, "{engine} {layout:?}");
    browser.close().await.unwrap();
    Seen {
        sent: names(entries[1].header("cookie")),
        first_party: names(entries[2].header("cookie")),
        document_cookie: result["document_cookie"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        secure_context: result["secure"] == json!(true),
    }
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

/// The model's profile for `engine` in `layout`: the engine's stock
/// profile, with third-party cookies allowed where the layout allows them.
///
/// For Chromium that is exactly what the profile API says: desktop
/// Chrome's setting (`profile.cookie_controls_mode: 0`). For Firefox
/// (`network.cookie.cookieBehavior: 0`) and WebKit
/// (`--cookies-policy=always`) the same switch on their profiles is not
/// calibrated on the engines' other quirks, and only the "fetch" column is
/// compared anyway; what is left out there is visible in the top-level
/// column only: that Firefox then keeps the cookies unpartitioned, and that
/// WebKit stores the `Lax` and `Strict` cookies of the cross-site response
/// (sending them to the top-level page only), where the model refuses them
/// (`SameSiteFromCrossSite`).
fn model_profile(engine: Engine, layout: Layout) -> Profile {
    let profile = engine.profile();
    if layout.third_party_cookies {
        profile.with_third_party_cookies(ThirdPartyCookies::Allowed)
    } else {
        profile
    }
}

/// What the model did in one layout.
struct ModelSeen {
    /// Cookie names the model's `/echo` request carried.
    sent: BTreeSet<String>,
    /// Cookie names whose [`CookieReport`] from `/set` says `sent_back()`.
    reported: BTreeSet<String>,
    /// The reports of `/set`, one per `Set-Cookie` line.
    reports: Vec<CookieReport>,
}

/// Plays the layout's two calls through the model.
async fn model_layout(
    engine: Engine,
    layout: Layout,
    page: &Server,
    api_server: &Server,
) -> ModelSeen {
    let log = RequestLog::new();
    let mut transport = RouterTransport::new(api(&log));
    let page_origin = page.origin(layout.page_host);
    let api_origin = api_server.origin(layout.api_host);
    let mut model = Model::new(&page_origin)
        .unwrap()
        .with_profile(model_profile(engine, layout));
    let call = |path: &str| {
        CorsRequest::get(format!("{api_origin}{path}")).credentials(Credentials::Include)
    };
    let set = model.play(&mut transport, &call("/set")).await.unwrap();
    let echo = model.play(&mut transport, &call("/echo")).await.unwrap();
    assert!(
        set.allowed(),
        "{engine} {layout:?}: the model blocks /set: {:?}",
        set.verdict
    );
    assert!(
        echo.allowed(),
        "{engine} {layout:?}: the model blocks /echo: {:?}",
        echo.verdict
    );
    let entries = log.entries();
    let paths: Vec<&str> = entries.iter().map(|seen| seen.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/set", "/echo"],
        "{engine} {layout:?}: the model's wire"
    );
    assert_eq!(entries[0].header("cookie"), None, "{engine} {layout:?}");
    assert_eq!(
        set.cookies.len(),
        COOKIES.len(),
        "{engine} {layout:?}: one report per Set-Cookie line: {:?}",
        set.cookies
    );
    ModelSeen {
        sent: names(entries[1].header("cookie")),
        reported: set
            .cookies
            .iter()
            .filter(|report| report.sent_back())
            .map(|report| report.name.clone())
            .collect(),
        reports: set.cookies,
    }
}

/// How the model can disagree with the engine's "fetch" column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    /// The `Cookie` header of the model's second call names other cookies.
    Sent,
    /// The cookies whose `CookieReport::sent_back()` is true are others.
    Reported,
}

/// The layouts where the model (the profile of [`model_profile`]) is known
/// not to send back what the engine sends back with its second `fetch`,
/// and how. Any other disagreement fails the test, and so does a listed
/// one that went away (remove it from here then).
const KNOWN_GAPS: &[(Engine, &str, &[Gap])] = &[];

fn known_gaps(engine: Engine, layout: &str) -> &'static [Gap] {
    KNOWN_GAPS
        .iter()
        .find(|(known, name, _)| *known == engine && *name == layout)
        .map_or(&[], |(_, _, gaps)| *gaps)
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

per_engine!(cookie_matrix);

async fn cookie_matrix(engine: Engine) {
    let started = Instant::now();
    let product = engine.product();
    for (known, name, _) in KNOWN_GAPS {
        assert!(
            LAYOUTS.iter().any(|layout| layout.name == *name),
            "KNOWN_GAPS names {name:?} ({known}), which is no layout"
        );
    }
    let log = RequestLog::new();
    let page = serve(blank_page()).await.unwrap();
    let api_server = serve(api(&log)).await.unwrap();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut gaps_seen: Vec<(&str, Vec<Gap>)> = Vec::new();
    let mut model_time = Duration::ZERO;
    let list = |set: &BTreeSet<String>| {
        if set.is_empty() {
            "(none)".to_owned()
        } else {
            set.iter().cloned().collect::<Vec<_>>().join(" ")
        }
    };
    for layout in LAYOUTS {
        let seen = run_layout(engine, *layout, &page, &api_server, &log).await;
        let (sent, first_party) = expected(engine, layout.name);
        let set = |names: &str| -> BTreeSet<String> {
            names.split_whitespace().map(str::to_owned).collect()
        };
        if seen.sent != set(sent) || seen.first_party != set(first_party) {
            failures.push(format!(
                "{}: sent {:?} and {:?} as a top-level page; expected {sent:?} and {first_party:?}",
                layout.name, seen.sent, seen.first_party
            ));
        }
        assert_eq!(
            seen.secure_context,
            !layout.page_host.contains(".test") && !layout.page_host.contains(".example"),
            "{engine} {layout:?}"
        );

        // The same two calls through the model.
        let model_started = Instant::now();
        let model = model_layout(engine, *layout, &page, &api_server).await;
        model_time += model_started.elapsed();
        let mut gaps = Vec::new();
        if model.sent != seen.sent {
            gaps.push(Gap::Sent);
        }
        if model.reported != seen.sent {
            gaps.push(Gap::Reported);
        }
        // Why the model did what it did with each cookie it disagrees on.
        let whys: Vec<String> = model
            .reports
            .iter()
            .filter(|report| {
                let name = &report.name;
                seen.sent.contains(name) != model.sent.contains(name)
                    || seen.sent.contains(name) != model.reported.contains(name)
            })
            .map(|report| format!("{}: {:?}: {}", report.name, report.fate, report.why))
            .collect();
        let known = known_gaps(engine, layout.name);
        if known != gaps.as_slice() {
            failures.push(format!(
                "{}: KNOWN_GAPS lists {known:?} for {product}, but the model disagrees in \
                 {gaps:?}:\n    {product} sends back {}\n    the model's second call carried {}\n    \
                 the model's reports say {}\n    {}",
                layout.name,
                list(&seen.sent),
                list(&model.sent),
                list(&model.reported),
                whys.join("\n    ")
            ));
        }
        if !gaps.is_empty() {
            println!(
                "{product}, {}: the model sends back {} (reports: {}) where {product} sends back {}:\n    {}",
                layout.name,
                list(&model.sent),
                list(&model.reported),
                list(&seen.sent),
                whys.join("\n    ")
            );
            gaps_seen.push((layout.name, gaps.clone()));
        }
        rows.push(vec![
            layout.name.to_owned(),
            list(&seen.sent),
            list(&seen.first_party),
            if seen.document_cookie.is_empty() {
                "(empty)".to_owned()
            } else {
                seen.document_cookie.clone()
            },
            seen.secure_context.to_string(),
            if gaps.is_empty() {
                "agrees".to_owned()
            } else {
                format!("{} {gaps:?}", list(&model.sent))
            },
        ]);
    }
    println!(
        "\n{product} cookie matrix (Set-Cookie lines: {:?})\n\n{}",
        set_cookie_lines("{api host}"),
        markdown_table(
            &[
                "layout",
                "sent back to the API by fetch",
                "sent to the API as a top-level page",
                "document.cookie on the page",
                "page is a secure context",
                "the model's fetch",
            ],
            &rows
        )
    );
    println!("disagreements of the model with {product} (for KNOWN_GAPS):");
    for (name, gaps) in &gaps_seen {
        let gaps: Vec<String> = gaps.iter().map(|gap| format!("Gap::{gap:?}")).collect();
        println!(
            "    (Engine::{engine:?}, {name:?}, &[{}]),",
            gaps.join(", ")
        );
    }
    println!(
        "{product}: {} layouts in {:.1?}, of which the model {model_time:.1?}",
        LAYOUTS.len(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{product}:\n{}", failures.join("\n"));
}
