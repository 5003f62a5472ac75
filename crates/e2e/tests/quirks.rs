//! Ground truth: smaller things the engines do differently, or alike where
//! one might expect otherwise: how long a preflight answer is cached
//! (`Access-Control-Max-Age`, over short real waits), what one cache entry
//! covers, how `Access-Control-Request-Headers` is written, when `Origin`
//! is sent, and what forces a preflight on `XMLHttpRequest`.
//!
//! The API answers every preflight permissively (the `Origin` echoed,
//! credentials allowed, `GET, POST, PUT, PATCH`, and the requested
//! headers), with the `Access-Control-Max-Age` of the `ma` query
//! parameter if any, and everything else with the `Origin` echoed. Its
//! log shows what the browser sent. Each engine prints its tables; the
//! assertions pin what each does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse as _, Response};
use corsair_e2e::{Browser, Engine, RequestLog, Server, markdown_table, per_engine, serve};
use serde_json::{Value, json};

fn api(log: &RequestLog) -> Router {
    Router::new()
        .fallback(|request: Request| async move { answer(&request) })
        .layer(log.clone())
}

fn answer(request: &Request) -> Response {
    if request.uri().path() == "/" {
        return Html("<!doctype html><title>quirks</title><body></body>").into_response();
    }
    let headers = request.headers();
    let mut response = if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let out = response.headers_mut();
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH"),
        );
        let param = |name: &str| {
            request
                .uri()
                .query()
                .unwrap_or_default()
                .split('&')
                .find_map(|pair| {
                    pair.strip_prefix(name)?
                        .strip_prefix('=')
                        .map(str::to_owned)
                })
        };
        if let Some(allowed) = param("acah") {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_str(&allowed).unwrap(),
            );
        } else if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        let max_age = param("ma");
        if let Some(max_age) = max_age {
            out.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_str(&max_age).unwrap(),
            );
        }
        response
    } else {
        "ok".into_response()
    };
    let out = response.headers_mut();
    if let Some(origin) = headers.get(header::ORIGIN) {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The page's server and the API's, both running [`api`] with one log:
/// the page is `http://localhost:P1/`, the API `http://localhost:P2`.
struct Sites {
    page: Server,
    api: Server,
}

impl Sites {
    fn page(&self) -> String {
        self.page.origin("localhost")
    }

    fn api(&self) -> String {
        self.api.origin("localhost")
    }
}

/// Starts both servers, a fresh browser, and opens the page.
async fn setup(engine: Engine) -> (RequestLog, Sites, Browser) {
    let log = RequestLog::new();
    let sites = Sites {
        page: serve(api(&log)).await.unwrap(),
        api: serve(api(&log)).await.unwrap(),
    };
    let browser = Browser::launch_engine(engine).await.unwrap();
    browser.open(&sites.page()).await.unwrap();
    (log, sites, browser)
}

fn preflights_to(log: &RequestLog, path: &str) -> usize {
    log.filter(|seen| seen.is_preflight() && seen.path == path)
        .len()
}

// ---------------------------------------------------------------------------
// Access-Control-Max-Age over real time
// ---------------------------------------------------------------------------

/// When, in seconds after the first, the same preflighted `PUT` is sent
/// again.
const ROUNDS: [f64; 5] = [0.0, 0.5, 2.0, 4.0, 6.5];

/// The `Access-Control-Max-Age` values tried (`None`: no header).
const MAX_AGES: [Option<&str>; 5] = [None, Some("0"), Some("1"), Some("3"), Some("-1")];

/// For each max-age, the rounds at which each engine sent a preflight.
fn expected_preflight_rounds(engine: Engine, max_age: Option<&str>) -> &'static [f64] {
    match (engine, max_age) {
        // Without the header, 5 s in all three; 0 and negative values
        // cache nothing.
        (_, None) => &[0.0, 6.5],
        (_, Some("0" | "-1")) => &[0.0, 0.5, 2.0, 4.0, 6.5],
        (_, Some("1")) => &[0.0, 2.0, 4.0, 6.5],
        (_, Some("3")) => &[0.0, 4.0],
        _ => panic!("no expectation for {engine} with {max_age:?}"),
    }
}

async fn max_age_over_time(engine: Engine, rows: &mut Vec<Vec<String>>) -> Vec<String> {
    let (log, sites, browser) = setup(engine).await;
    let urls: Vec<String> = MAX_AGES
        .iter()
        .enumerate()
        .map(|(i, max_age)| match max_age {
            Some(max_age) => format!("{}/ma/{i}?ma={max_age}", sites.api()),
            None => format!("{}/ma/{i}", sites.api()),
        })
        .collect();
    let paths: Vec<String> = urls
        .iter()
        .map(|url| url.trim_start_matches(&sites.api()).to_owned())
        .collect();
    let mut seen_rounds: Vec<Vec<f64>> = vec![Vec::new(); MAX_AGES.len()];
    let started = tokio::time::Instant::now();
    for round in ROUNDS {
        tokio::time::sleep_until(started + std::time::Duration::from_secs_f64(round)).await;
        let before: Vec<usize> = paths.iter().map(|path| preflights_to(&log, path)).collect();
        let results = browser
            .run(
                r#"return Promise.all(args[0].map((url) =>
                     probeFetch(url, { method: "PUT", body: "x" })));"#,
                vec![json!(urls)],
            )
            .await
            .unwrap();
        for (i, path) in paths.iter().enumerate() {
            assert_eq!(results[i]["ok"], json!(true), "{engine} {path}: {results}");
            if preflights_to(&log, path) > before[i] {
                seen_rounds[i].push(round);
            }
        }
    }
    browser.close().await.unwrap();
    let mut failures = Vec::new();
    for (i, max_age) in MAX_AGES.iter().enumerate() {
        let expected = expected_preflight_rounds(engine, *max_age);
        rows.push(vec![
            max_age.map_or_else(|| "(none)".to_owned(), str::to_owned),
            format!("{:?}", seen_rounds[i]),
        ]);
        if seen_rounds[i] != expected {
            failures.push(format!(
                "max-age {max_age:?}: preflights at {:?} s, expected {expected:?}",
                seen_rounds[i]
            ));
        }
    }
    failures
}

// ---------------------------------------------------------------------------
// One-off requests
// ---------------------------------------------------------------------------

/// A request the page makes, what reached the server, and what each engine
/// is expected to send.
struct Case {
    name: &'static str,
    /// The body of the script; `args[0]` is the API's origin, `args[1]` the
    /// page's, `args[2]` a path prefix of the case's own.
    script: &'static str,
    /// What reached the servers, in order, per engine.
    expect: fn(Engine) -> &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "Authorization, Access-Control-Allow-Headers: * (no credentials)",
        script: r#"return probeFetch(args[0] + args[2] + "/star?acah=*",
                     { headers: { authorization: "Bearer t", "x-custom": "1" } });"#,
        // `*` covers `Authorization` in all three (Fetch says it never
        // does): the GET is sent.
        expect: |_| {
            &[
                "OPTIONS star ACRM=GET ACRH=authorization,x-custom",
                "GET star Origin",
            ]
        },
    },
    Case {
        name: "Authorization, Access-Control-Allow-Headers: * (credentials)",
        script: r#"return probeFetch(args[0] + args[2] + "/star-creds?acah=*",
                     { headers: { authorization: "Bearer t" }, credentials: "include" });"#,
        // With credentials `*` is a literal name: refused at the preflight.
        expect: |_| &["OPTIONS star-creds ACRM=GET ACRH=authorization"],
    },
    Case {
        name: "Access-Control-Request-Headers: names, order, case",
        script: r#"return probeFetch(args[0] + args[2] + "/acrh", { method: "POST", body: "{}",
                     headers: { "X-B": "1", "x-a": "2", "Content-Type": "application/json",
                                "Accept": "text/plain", "X-Upper": "3" } });"#,
        // Lowercase, sorted, joined with `,` and no space, in all three.
        expect: |_| {
            &[
                "OPTIONS acrh ACRM=POST ACRH=content-type,x-a,x-b,x-upper",
                "POST acrh Origin",
            ]
        },
    },
    Case {
        name: "the preflight cache: PUT, then PATCH and GET with x-custom",
        script: r#"const url = args[0] + args[2] + "/cover?ma=600";
                   await probeFetch(url, { method: "PUT", headers: { "x-custom": "1" } });
                   await probeFetch(url, { method: "PATCH" });
                   return probeFetch(url, { headers: { "x-custom": "2" } });"#,
        expect: |_| {
            &[
                "OPTIONS cover ACRM=PUT ACRH=x-custom",
                "PUT cover Origin",
                "PATCH cover Origin",
                "GET cover Origin",
            ]
        },
    },
    Case {
        name: "the preflight cache and credentials: PUT, then PUT with credentials",
        script: r#"const url = args[0] + args[2] + "/creds?ma=600";
                   await probeFetch(url, { method: "PUT" });
                   await probeFetch(url, { method: "PUT", credentials: "include" });
                   return probeFetch(url, { method: "PUT" });"#,
        // The cache is keyed by the credentials mode too, in all three.
        expect: |_| {
            &[
                "OPTIONS creds ACRM=PUT",
                "PUT creds Origin",
                "OPTIONS creds ACRM=PUT",
                "PUT creds Origin",
                "PUT creds Origin",
            ]
        },
    },
    Case {
        name: "Origin: same-origin GET, POST, HEAD; cross-origin GET, HEAD; no-cors POST",
        script: r#"await fetch(args[1] + args[2] + "/so-get");
                   await fetch(args[1] + args[2] + "/so-post", { method: "POST", body: "x" });
                   await fetch(args[1] + args[2] + "/so-head", { method: "HEAD" });
                   await fetch(args[0] + args[2] + "/co-get");
                   await fetch(args[0] + args[2] + "/co-head", { method: "HEAD" });
                   await fetch(args[0] + args[2] + "/nc-post", { method: "POST", body: "x", mode: "no-cors" });
                   await fetch(args[0] + args[2] + "/nc-get", { mode: "no-cors" });
                   return null;"#,
        expect: |_| {
            &[
                "page GET so-get no-Origin",
                "page POST so-post Origin",
                "page HEAD so-head no-Origin",
                "GET co-get Origin",
                "HEAD co-head Origin",
                "POST nc-post Origin",
                "GET nc-get no-Origin",
            ]
        },
    },
    Case {
        name: "XHR: a simple POST with an upload progress listener",
        script: r#"return new Promise((resolve) => {
                     const xhr = new XMLHttpRequest();
                     xhr.open("POST", args[0] + args[2] + "/upload");
                     xhr.upload.onprogress = () => {};
                     xhr.onloadend = () => resolve(xhr.status);
                     xhr.send("data");
                   });"#,
        expect: |_| &["OPTIONS upload ACRM=POST", "POST upload Origin"],
    },
    Case {
        name: "XHR: a simple POST with a listener added after send()",
        script: r#"return new Promise((resolve) => {
                     const xhr = new XMLHttpRequest();
                     xhr.open("POST", args[0] + args[2] + "/late");
                     xhr.onloadend = () => resolve(xhr.status);
                     xhr.send("data");
                     xhr.upload.onprogress = () => {};
                   });"#,
        expect: |_| &["POST late Origin"],
    },
    Case {
        name: "fetch: a ReadableStream body (duplex: half)",
        script: r#"const body = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("x")); c.close(); } });
                   try {
                     return await probeFetch(args[0] + args[2] + "/stream",
                       { method: "POST", body, duplex: "half" });
                   } catch (error) { return String(error); }"#,
        expect: |engine| match engine {
            // Preflighted (a stream forces it), then refused before sending:
            // Chromium streams uploads over HTTP/2 only.
            Engine::Chromium => &["OPTIONS stream ACRM=POST"],
            // Sent whole, without a preflight.
            Engine::Firefox => &["POST stream Origin"],
            // `NotSupportedError`: nothing is sent.
            Engine::WebKit => &[],
        },
    },
];

fn describe(seen: &corsair_e2e::Seen, sites: &Sites) -> String {
    let page = sites.page();
    let mut line = String::new();
    if seen.header("host") == page.strip_prefix("http://") {
        line.push_str("page ");
    }
    line.push_str(&format!(
        "{} {}",
        seen.method,
        seen.path
            .split('?')
            .next()
            .and_then(|path| path.rsplit('/').next())
            .unwrap_or_default()
    ));
    if seen.is_preflight() {
        line.push_str(&format!(
            " ACRM={}",
            seen.header("access-control-request-method")
                .unwrap_or_default()
        ));
        if let Some(headers) = seen.header("access-control-request-headers") {
            line.push_str(&format!(" ACRH={headers}"));
        }
    } else if seen.header("origin").is_some() {
        line.push_str(" Origin");
    } else {
        line.push_str(" no-Origin");
    }
    line
}

async fn cases(engine: Engine, rows: &mut Vec<Vec<String>>) -> Vec<String> {
    let (log, sites, browser) = setup(engine).await;
    let mut failures = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        log.clear();
        let prefix = format!("/c{i}");
        let result: Value = browser
            .run(
                case.script,
                vec![json!(sites.api()), json!(sites.page()), json!(prefix)],
            )
            .await
            .unwrap();
        let wire: Vec<String> = log
            .filter(|seen| seen.path.starts_with(&prefix))
            .iter()
            .map(|seen| describe(seen, &sites))
            .collect();
        let expected = (case.expect)(engine);
        if wire != expected {
            failures.push(format!(
                "{}: {wire:?}, expected {expected:?} (the script returned {result})",
                case.name
            ));
        }
        rows.push(vec![case.name.to_owned(), wire.join("<br>")]);
    }
    browser.close().await.unwrap();
    failures
}

per_engine!(quirks);

async fn quirks(engine: Engine) {
    let (mut max_age_rows, mut case_rows) = (Vec::new(), Vec::new());
    let (max_age_failures, case_failures) = tokio::join!(
        max_age_over_time(engine, &mut max_age_rows),
        cases(engine, &mut case_rows),
    );
    println!(
        "\n{}: a preflighted PUT sent at {ROUNDS:?} s; the rounds that were preflighted\n\n{}\n{}: what reached the server\n\n{}",
        engine.product(),
        markdown_table(
            &["Access-Control-Max-Age", "preflighted at (s)"],
            &max_age_rows
        ),
        engine.product(),
        markdown_table(&["case", "what reached the servers"], &case_rows),
    );
    let failures: Vec<String> = max_age_failures.into_iter().chain(case_failures).collect();
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        engine.product(),
        failures.join("\n")
    );
}
