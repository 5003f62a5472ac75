//! How each engine follows redirects of CORS requests (Fetch's
//! HTTP-redirect fetch), and whether the model and `corsair probe` follow
//! them as it does.
//!
//! Three servers, all running the same router: the page's origin
//! `http://localhost:P0` ("page"), a cross-origin server on the same site
//! `http://localhost:P1` ("A"), and one on another site
//! `http://127.0.0.1:P2` ("B"). Every request is recorded in one log, with
//! what matters for CORS: method, `Origin`, `Cookie`, `Authorization`, the
//! `Access-Control-Request-*` headers, and the body's length. A cookie
//! `c=1` (no attributes) is set on `localhost` first, so it shows where
//! credentials went.
//!
//! - `/N/r?s=STATUS&to=URL&acao=MODE` answers `STATUS` with
//!   `Location: URL`;
//! - `/N/final?acao=MODE` answers `200` with a body;
//! - `/N/loop?n=K` answers `302` to `loop?n=K+1`, forever;
//! - `OPTIONS` anywhere answers a permissive preflight (the `Origin`
//!   echoed, `null` included, with credentials, `GET, POST, PUT` and
//!   `authorization, x-custom, content-type`).
//!
//! `acao` says which `Access-Control-Allow-Origin` the answer carries:
//! `echo` (the request's `Origin`, the default), `star`, `page` (the
//! page's origin, whatever the request's `Origin` was), `null`, or `none`;
//! `acac=1` adds `Access-Control-Allow-Credentials: true`.
//!
//! Each scenario runs in a fresh page load, its paths under `/N/` (its
//! number), so that no preflight cache entry serves another. The
//! assertions pin what each engine does ([`EXPECTED`]). Each scenario is
//! then played twice more, with the same request from the same page:
//!
//! - through the model, `corsair::browser::Browser` with the engine's
//!   profile (one per test, like the real browser, its jar given the same
//!   `c=1` by the same `/cookie` URL), carried by a [`RouterTransport`] to
//!   the same router with a log of its own: one router answers all three
//!   origins, telling them apart by `Host`, as the real servers' log does;
//! - through `corsair probe --browser ENGINE`'s engine
//!   (`corsair::browser::play_in_each` for the engine, over HTTP with
//!   `corsair_cli::probe::HttpServer`), against the live servers.
//!
//! What the script got and what reached the servers must agree with the
//! engine's, field by field; the disagreements known are listed in
//! [`KNOWN_GAPS`], any other fails, and so does a listed one that went
//! away. The table and the disagreements, in the form of `KNOWN_GAPS`
//! entries, are printed every time: run with `--nocapture` to see them on
//! success.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse as _, Response};
use corsair::browser::{
    Browser as Model, CorsRequest, Credentials, Page, Transcript, Verdict, play_in_each,
};
use corsair_cli::probe::HttpServer;
use corsair_e2e::{
    Browser, Engine, Listener, RequestLog, RouterTransport, Seen, Server, markdown_table,
    per_engine,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// The servers
// ---------------------------------------------------------------------------

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| decode(value))
    })
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Adds the CORS headers that `acao` and `acac` ask for.
fn cors(response: &mut Response, query: &str, origin: Option<&HeaderValue>, page: &str) {
    let mode = query_param(query, "acao").unwrap_or_else(|| "echo".to_owned());
    let value = match mode.as_str() {
        "echo" => origin.cloned(),
        "star" => Some(HeaderValue::from_static("*")),
        "page" => Some(HeaderValue::from_str(page).unwrap()),
        "null" => Some(HeaderValue::from_static("null")),
        "none" => None,
        other => panic!("unknown acao mode {other}"),
    };
    let headers = response.headers_mut();
    if let Some(value) = value {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    if query_param(query, "acac").as_deref() == Some("1") {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

async fn handle(request: Request, page: String) -> Response {
    let (parts, body) = request.into_parts();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let origin = parts.headers.get(header::ORIGIN);
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
    if parts.method == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        if let Some(origin) = origin {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, x-custom, content-type"),
        );
        return response;
    }
    // The last segment: paths are `/ID/r`, `/ID/final` (see `redirect`).
    match parts.uri.path().rsplit('/').next().unwrap_or_default() {
        "" => Html("<!doctype html><title>redirects</title><body></body>").into_response(),
        "cookie" => {
            let mut response = Html("<!doctype html><title>cookie</title>").into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, HeaderValue::from_static("c=1; Path=/"));
            response
        }
        "r" => {
            let status = query_param(&query, "s").unwrap_or_else(|| "302".to_owned());
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::from_bytes(status.as_bytes()).unwrap();
            let to = query_param(&query, "to").unwrap();
            response
                .headers_mut()
                .insert(header::LOCATION, HeaderValue::from_str(&to).unwrap());
            cors(&mut response, &query, origin, &page);
            response
        }
        "loop" => {
            let n: u32 = query_param(&query, "n")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::FOUND;
            response.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_str(&format!("loop?n={}", n + 1)).unwrap(),
            );
            cors(&mut response, &query, origin, &page);
            response
        }
        "final" => {
            let mut response = format!("final: {} bytes", body.len()).into_response();
            cors(&mut response, &query, origin, &page);
            response
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn router(log: &RequestLog, page: &str) -> Router {
    let page = page.to_owned();
    Router::new()
        .fallback(move |request: Request| handle(request, page.clone()))
        .layer(log.clone())
}

/// The three servers, and their origins.
struct Servers {
    page: String,
    a: String,
    b: String,
    log: RequestLog,
    /// The same router for the model, with a log of its own.
    model_router: Router,
    model_log: RequestLog,
    _servers: [Server; 3],
}

impl Servers {
    async fn start() -> Self {
        let log = RequestLog::new();
        let (page, a, b) = (
            Listener::bind().await.unwrap(),
            Listener::bind().await.unwrap(),
            Listener::bind().await.unwrap(),
        );
        let page_origin = format!("http://localhost:{}", page.port());
        let a_origin = format!("http://localhost:{}", a.port());
        let b_origin = format!("http://127.0.0.1:{}", b.port());
        let servers = [
            page.serve(router(&log, &page_origin)),
            a.serve(router(&log, &page_origin)),
            b.serve(router(&log, &page_origin)),
        ];
        let model_log = RequestLog::new();
        Self {
            model_router: router(&model_log, &page_origin),
            model_log,
            page: page_origin,
            a: a_origin,
            b: b_origin,
            log,
            _servers: servers,
        }
    }

    /// What reached the servers through `log`, in order (without the
    /// browsers' `/favicon.ico`).
    fn wire(&self, log: &RequestLog, cookie: bool) -> Vec<String> {
        log.filter(|seen| seen.path != "/favicon.ico")
            .iter()
            .map(|seen| self.describe(seen, cookie))
            .collect()
    }

    /// `page`, `A` or `B` for an origin (or a `Host` header).
    fn label(&self, origin_or_host: &str) -> String {
        for (label, origin) in [("page", &self.page), ("A", &self.a), ("B", &self.b)] {
            if origin_or_host == origin.as_str()
                || origin.strip_prefix("http://") == Some(origin_or_host)
            {
                return label.to_owned();
            }
        }
        origin_or_host.to_owned()
    }

    /// One line per request: `A GET r Origin=page Cookie=c=1
    /// Authorization=Bearer t ACRM=PUT ACRH=x-custom body=4` (the last
    /// segment of the path only); `Cookie` is left out unless `cookie`.
    fn describe(&self, seen: &Seen, cookie: bool) -> String {
        let mut line = format!(
            "{} {} {}",
            self.label(seen.header("host").unwrap_or("?")),
            seen.method,
            seen.path
                .split('?')
                .next()
                .and_then(|path| path.rsplit('/').next())
                .unwrap_or_default()
        );
        match seen.header("origin") {
            Some(origin) => write!(line, " Origin={}", self.label(origin)).unwrap(),
            None => line.push_str(" no-Origin"),
        }
        if let Some(value) = seen.header("cookie").filter(|_| cookie) {
            write!(line, " Cookie={value}").unwrap();
        }
        if let Some(authorization) = seen.header("authorization") {
            write!(line, " Authorization={authorization}").unwrap();
        }
        if let Some(method) = seen.header("access-control-request-method") {
            write!(line, " ACRM={method}").unwrap();
        }
        if let Some(headers) = seen.header("access-control-request-headers") {
            write!(line, " ACRH={headers}").unwrap();
        }
        if let Some(length) = seen.header("content-length").filter(|l| *l != "0") {
            write!(line, " body={length}").unwrap();
        }
        line
    }
}

// ---------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------

/// A URL on `origin` that redirects with `status` to `to`; `acao` is the
/// redirect's CORS answer (see the module's documentation).
/// The path starts with `/{id}`, which becomes the scenario's number, so
/// that no preflight cache entry serves two scenarios.
fn redirect(origin: &str, status: u16, to: &str, acao: &str) -> String {
    format!("{origin}/{{id}}/r?s={status}&acao={acao}&to={}", encode(to))
}

fn fin(origin: &str, acao: &str) -> String {
    format!("{origin}/{{id}}/final?acao={acao}")
}

/// What the script does: `fetch(url, init)`.
struct Scenario {
    name: &'static str,
    url: String,
    init: Value,
}

fn scenarios(s: &Servers) -> Vec<Scenario> {
    let (page, a, b) = (s.page.as_str(), s.a.as_str(), s.b.as_str());
    let include = json!({ "credentials": "include" });
    let plain = json!({});
    let count = std::cell::Cell::new(0);
    let sc = |name, url: String, init: &Value| {
        let id = count.get();
        count.set(id + 1);
        Scenario {
            name,
            url: url
                .replace("{id}", &id.to_string())
                .replace(&encode("{id}"), &id.to_string()),
            init: init.clone(),
        }
    };
    let post = |status: u16| {
        (
            redirect(a, status, &fin(a, "echo"), "echo"),
            json!({ "method": "POST", "body": "data", "headers": { "content-type": "text/plain" } }),
        )
    };
    let mut list = vec![
        // Same-origin, then cross-origin.
        sc(
            "page → A, ACAO echo",
            redirect(page, 302, &fin(a, "echo"), "echo"),
            &plain,
        ),
        sc(
            "page → A, ACAO *",
            redirect(page, 302, &fin(a, "star"), "echo"),
            &plain,
        ),
        sc(
            "page → A, credentials, ACAO echo + ACAC",
            redirect(page, 302, &format!("{}&acac=1", fin(a, "echo")), "echo"),
            &include,
        ),
        // Cross-origin, then back to the page's origin.
        sc(
            "A → page, ACAO echo",
            redirect(a, 302, &fin(page, "echo"), "echo"),
            &plain,
        ),
        sc(
            "A → page, no ACAO at the page",
            redirect(a, 302, &fin(page, "none"), "echo"),
            &plain,
        ),
        sc(
            "A → page, ACAO page at the page",
            redirect(a, 302, &fin(page, "page"), "echo"),
            &plain,
        ),
        // Cross-origin, then the same origin again.
        sc(
            "A → A, ACAO echo",
            redirect(a, 302, &fin(a, "echo"), "echo"),
            &plain,
        ),
        sc(
            "A → A, credentials, ACAO echo + ACAC",
            redirect(a, 302, &format!("{}&acac=1", fin(a, "echo")), "echo&acac=1"),
            &include,
        ),
        sc(
            "A → page, credentials, ACAO echo + ACAC",
            redirect(
                a,
                302,
                &format!("{}&acac=1", fin(page, "echo")),
                "echo&acac=1",
            ),
            &include,
        ),
        // Cross-origin to another cross-origin server.
        sc(
            "A → B, ACAO * at B",
            redirect(a, 302, &fin(b, "star"), "echo"),
            &plain,
        ),
        sc(
            "A → B, ACAO page at B",
            redirect(a, 302, &fin(b, "page"), "echo"),
            &plain,
        ),
        sc(
            "A → B, ACAO null at B",
            redirect(a, 302, &fin(b, "null"), "echo"),
            &plain,
        ),
        sc(
            "A → B, credentials, ACAO * + ACAC at B",
            redirect(a, 302, &format!("{}&acac=1", fin(b, "star")), "echo&acac=1"),
            &include,
        ),
        sc(
            "A → B, credentials, ACAO page + ACAC at B",
            redirect(a, 302, &format!("{}&acac=1", fin(b, "page")), "echo&acac=1"),
            &include,
        ),
        sc(
            "A → B, credentials, ACAO null + ACAC at B",
            redirect(a, 302, &format!("{}&acac=1", fin(b, "null")), "echo&acac=1"),
            &include,
        ),
        // The redirect itself without CORS headers.
        sc(
            "A's 302 without ACAO → A",
            redirect(a, 302, &fin(a, "echo"), "none"),
            &plain,
        ),
        sc(
            "page's 302 without ACAO → A",
            redirect(page, 302, &fin(a, "echo"), "none"),
            &plain,
        ),
        // A preflighted PUT, redirected with 307.
        sc(
            "PUT x-custom, A 307 → A",
            redirect(a, 307, &fin(a, "echo"), "echo"),
            &json!({ "method": "PUT", "headers": { "x-custom": "1" }, "body": "data" }),
        ),
        sc(
            "PUT x-custom, A 307 → B",
            redirect(a, 307, &fin(b, "star"), "echo"),
            &json!({ "method": "PUT", "headers": { "x-custom": "1" }, "body": "data" }),
        ),
        sc(
            "PUT x-custom, A 303 → A",
            redirect(a, 303, &fin(a, "echo"), "echo"),
            &json!({ "method": "PUT", "headers": { "x-custom": "1" }, "body": "data" }),
        ),
        // Authorization across a redirect.
        sc(
            "Authorization, A 307 → A",
            redirect(a, 307, &fin(a, "echo"), "echo"),
            &json!({ "headers": { "authorization": "Bearer t" } }),
        ),
        sc(
            "Authorization, A 307 → B",
            redirect(a, 307, &fin(b, "star"), "echo"),
            &json!({ "headers": { "authorization": "Bearer t" } }),
        ),
        // Userinfo in the Location.
        sc(
            "A → A with userinfo",
            redirect(
                a,
                302,
                &fin(&a.replace("http://", "http://user:pw@"), "echo"),
                "echo",
            ),
            &plain,
        ),
        sc(
            "page → page with userinfo",
            redirect(
                page,
                302,
                &fin(&page.replace("http://", "http://user:pw@"), "echo"),
                "echo",
            ),
            &plain,
        ),
        // The script's redirect mode.
        sc(
            "A 302 → A, redirect: manual",
            redirect(a, 302, &fin(a, "echo"), "echo"),
            &json!({ "redirect": "manual" }),
        ),
        sc(
            "A 302 → A, redirect: error",
            redirect(a, 302, &fin(a, "echo"), "echo"),
            &json!({ "redirect": "error" }),
        ),
        // A loop.
        sc(
            "A redirects forever",
            format!("{a}/{{id}}/loop?n=0"),
            &plain,
        ),
    ];
    for status in [301, 302, 303, 307, 308] {
        let (url, init) = post(status);
        let name = match status {
            301 => "POST, A 301 → A",
            302 => "POST, A 302 → A",
            303 => "POST, A 303 → A",
            307 => "POST, A 307 → A",
            _ => "POST, A 308 → A",
        };
        list.push(sc(name, url, &init));
    }
    list
}

/// What each engine does, per scenario: the engines, what the script got,
/// and what reached the servers (see [`Servers::describe`]). Where the
/// engines differ, a scenario has one entry per behaviour.
const EXPECTED: &[(&str, &[Engine], &str, &[&str])] = &[
    (
        "page → A, ACAO echo",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 0 bytes)",
        &["page GET r no-Origin Cookie=c=1", "A GET final Origin=page"],
    ),
    (
        "page → A, ACAO *",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 0 bytes)",
        &["page GET r no-Origin Cookie=c=1", "A GET final Origin=page"],
    ),
    (
        "page → A, credentials, ACAO echo + ACAC",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 0 bytes)",
        &[
            "page GET r no-Origin Cookie=c=1",
            "A GET final Origin=page Cookie=c=1",
        ],
    ),
    (
        "A → page, ACAO echo",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from page (final: 0 bytes)",
        &["A GET r Origin=page", "page GET final Origin=null"],
    ),
    (
        "A → page, no ACAO at the page",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "TypeError",
        &["A GET r Origin=page", "page GET final Origin=null"],
    ),
    (
        "A → page, ACAO page at the page",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "TypeError",
        &["A GET r Origin=page", "page GET final Origin=null"],
    ),
    (
        "A → A, ACAO echo",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 0 bytes)",
        &["A GET r Origin=page", "A GET final Origin=page"],
    ),
    (
        "A → A, credentials, ACAO echo + ACAC",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 0 bytes)",
        &[
            "A GET r Origin=page Cookie=c=1",
            "A GET final Origin=page Cookie=c=1",
        ],
    ),
    (
        "A → page, credentials, ACAO echo + ACAC",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from page (final: 0 bytes)",
        &[
            "A GET r Origin=page Cookie=c=1",
            "page GET final Origin=null Cookie=c=1",
        ],
    ),
    (
        "A → B, ACAO * at B",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from B (final: 0 bytes)",
        &["A GET r Origin=page", "B GET final Origin=null"],
    ),
    (
        "A → B, ACAO page at B",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "TypeError",
        &["A GET r Origin=page", "B GET final Origin=null"],
    ),
    (
        "A → B, ACAO null at B",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from B (final: 0 bytes)",
        &["A GET r Origin=page", "B GET final Origin=null"],
    ),
    (
        "A → B, credentials, ACAO * + ACAC at B",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "TypeError",
        &["A GET r Origin=page Cookie=c=1", "B GET final Origin=null"],
    ),
    (
        "A → B, credentials, ACAO page + ACAC at B",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "TypeError",
        &["A GET r Origin=page Cookie=c=1", "B GET final Origin=null"],
    ),
    (
        "A → B, credentials, ACAO null + ACAC at B",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from B (final: 0 bytes)",
        &["A GET r Origin=page Cookie=c=1", "B GET final Origin=null"],
    ),
    (
        "A's 302 without ACAO → A",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "TypeError",
        &["A GET r Origin=page"],
    ),
    (
        "page's 302 without ACAO → A",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 0 bytes)",
        &["page GET r no-Origin Cookie=c=1", "A GET final Origin=page"],
    ),
    (
        "PUT x-custom, A 307 → A",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 4 bytes)",
        &[
            "A OPTIONS r Origin=page ACRM=PUT ACRH=x-custom",
            "A PUT r Origin=page body=4",
            "A OPTIONS final Origin=page ACRM=PUT ACRH=x-custom",
            "A PUT final Origin=page body=4",
        ],
    ),
    // The preflight at the new URL: `Origin: null` in Chromium and WebKit,
    // the page's origin in Firefox (whose PUT then says `null`).
    (
        "PUT x-custom, A 307 → B",
        &[Engine::Chromium, Engine::WebKit],
        "200 cors from B (final: 4 bytes)",
        &[
            "A OPTIONS r Origin=page ACRM=PUT ACRH=x-custom",
            "A PUT r Origin=page body=4",
            "B OPTIONS final Origin=null ACRM=PUT ACRH=x-custom",
            "B PUT final Origin=null body=4",
        ],
    ),
    (
        "PUT x-custom, A 307 → B",
        &[Engine::Firefox],
        "200 cors from B (final: 4 bytes)",
        &[
            "A OPTIONS r Origin=page ACRM=PUT ACRH=x-custom",
            "A PUT r Origin=page body=4",
            "B OPTIONS final Origin=page ACRM=PUT ACRH=x-custom",
            "B PUT final Origin=null body=4",
        ],
    ),
    (
        "PUT x-custom, A 303 → A",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 0 bytes)",
        &[
            "A OPTIONS r Origin=page ACRM=PUT ACRH=x-custom",
            "A PUT r Origin=page body=4",
            "A OPTIONS final Origin=page ACRM=GET ACRH=x-custom",
            "A GET final Origin=page",
        ],
    ),
    (
        "Authorization, A 307 → A",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 0 bytes)",
        &[
            "A OPTIONS r Origin=page ACRM=GET ACRH=authorization",
            "A GET r Origin=page Authorization=Bearer t",
            "A OPTIONS final Origin=page ACRM=GET ACRH=authorization",
            "A GET final Origin=page Authorization=Bearer t",
        ],
    ),
    // `Authorization` is dropped across origins by all three; the preflight
    // at B differs: none in Chromium (the request is simple by then), one
    // without `Access-Control-Request-Headers` and with the page's origin in
    // Firefox, one that still lists `authorization` in WebKit.
    (
        "Authorization, A 307 → B",
        &[Engine::Chromium],
        "200 cors from B (final: 0 bytes)",
        &[
            "A OPTIONS r Origin=page ACRM=GET ACRH=authorization",
            "A GET r Origin=page Authorization=Bearer t",
            "B GET final Origin=null",
        ],
    ),
    (
        "Authorization, A 307 → B",
        &[Engine::Firefox],
        "200 cors from B (final: 0 bytes)",
        &[
            "A OPTIONS r Origin=page ACRM=GET ACRH=authorization",
            "A GET r Origin=page Authorization=Bearer t",
            "B OPTIONS final Origin=page ACRM=GET",
            "B GET final Origin=null",
        ],
    ),
    (
        "Authorization, A 307 → B",
        &[Engine::WebKit],
        "200 cors from B (final: 0 bytes)",
        &[
            "A OPTIONS r Origin=page ACRM=GET ACRH=authorization",
            "A GET r Origin=page Authorization=Bearer t",
            "B OPTIONS final Origin=null ACRM=GET ACRH=authorization",
            "B GET final Origin=null",
        ],
    ),
    (
        "A → A with userinfo",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "TypeError",
        &["A GET r Origin=page"],
    ),
    // A same-origin redirect to a URL with credentials: Chromium refuses it,
    // Firefox and WebKit follow it.
    (
        "page → page with userinfo",
        &[Engine::Chromium],
        "TypeError",
        &["page GET r no-Origin Cookie=c=1"],
    ),
    (
        "page → page with userinfo",
        &[Engine::Firefox, Engine::WebKit],
        "200 basic from page (response.url keeps user:pw@) (final: 0 bytes)",
        &[
            "page GET r no-Origin Cookie=c=1",
            "page GET final no-Origin Cookie=c=1",
        ],
    ),
    (
        "A 302 → A, redirect: manual",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "0 opaqueredirect from A ()",
        &["A GET r Origin=page"],
    ),
    (
        "A 302 → A, redirect: error",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "TypeError",
        &["A GET r Origin=page"],
    ),
    (
        "A redirects forever",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "TypeError",
        &["21 requests: A GET loop Origin=page … A GET loop Origin=page"],
    ),
    (
        "POST, A 301 → A",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 0 bytes)",
        &["A POST r Origin=page body=4", "A GET final Origin=page"],
    ),
    (
        "POST, A 302 → A",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 0 bytes)",
        &["A POST r Origin=page body=4", "A GET final Origin=page"],
    ),
    (
        "POST, A 303 → A",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 0 bytes)",
        &["A POST r Origin=page body=4", "A GET final Origin=page"],
    ),
    (
        "POST, A 307 → A",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 4 bytes)",
        &[
            "A POST r Origin=page body=4",
            "A POST final Origin=page body=4",
        ],
    ),
    (
        "POST, A 308 → A",
        &[Engine::Chromium, Engine::Firefox, Engine::WebKit],
        "200 cors from A (final: 4 bytes)",
        &[
            "A POST r Origin=page body=4",
            "A POST final Origin=page body=4",
        ],
    ),
];

const SCRIPT: &str = r#"
const [url, init] = args;
try {
  const response = await fetch(url, init);
  return { ok: true, status: response.status, redirected: response.redirected,
           url: response.url, type: response.type, body: await response.text() };
} catch (error) {
  return { ok: false, error: error.name, message: error.message };
}
"#;

// ---------------------------------------------------------------------------
// The model and the probe
// ---------------------------------------------------------------------------

/// What the script got: a response (`fetch` resolved) or an error.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Response {
        status: u64,
        /// `response.type`.
        kind: String,
        /// `page`, `A` or `B`: the origin of `response.url`.
        from: String,
        /// Whether `response.url` has user info.
        userinfo: bool,
        /// The body read; `None` where it is not known (`corsair probe`
        /// reads no body).
        body: Option<String>,
    },
    /// The error's name (`TypeError`), or what the model does not cover.
    Error(String),
}

impl Outcome {
    /// The outcome as `corsair probe` can know it: the body left out.
    fn without_body(&self) -> Self {
        match self {
            Outcome::Response {
                status,
                kind,
                from,
                userinfo,
                ..
            } => Outcome::Response {
                status: *status,
                kind: kind.clone(),
                from: from.clone(),
                userinfo: *userinfo,
                body: None,
            },
            Outcome::Error(error) => Outcome::Error(error.clone()),
        }
    }
}

impl std::fmt::Display for Outcome {
    /// `200 cors from A (final: 0 bytes)`, or `TypeError`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Response {
                status,
                kind,
                from,
                userinfo,
                body,
            } => {
                write!(f, "{status} {kind} from {from}")?;
                if *userinfo {
                    f.write_str(" (response.url keeps user:pw@)")?;
                }
                match body {
                    Some(body) => write!(f, " ({body})"),
                    None => Ok(()),
                }
            }
            Outcome::Error(error) => f.write_str(error),
        }
    }
}

impl Servers {
    /// What the script got in the real engine, from [`SCRIPT`]'s result.
    fn real_outcome(&self, result: &Value) -> Outcome {
        if result["ok"] != json!(true) {
            return Outcome::Error(result["error"].as_str().unwrap_or_default().to_owned());
        }
        let url = result["url"].as_str().unwrap_or_default();
        let origin = url.split('/').take(3).collect::<Vec<_>>().join("/");
        let (origin, userinfo) = match origin.split_once('@') {
            Some((_, host)) => (format!("http://{host}"), true),
            None => (origin, false),
        };
        Outcome::Response {
            status: result["status"].as_u64().unwrap_or_default(),
            kind: result["type"].as_str().unwrap_or_default().to_owned(),
            from: self.label(&origin),
            userinfo,
            body: Some(result["body"].as_str().unwrap_or_default().to_owned()),
        }
    }

    /// What the script gets by the model's (or the probe's) transcript;
    /// `body` says whether the transcript holds the body read.
    fn model_outcome(&self, transcript: &Transcript, body: bool) -> Outcome {
        match &transcript.verdict {
            Verdict::Allowed { same_origin, .. } => {
                let hop = transcript.last_hop().expect("an allowed request was sent");
                let response = &hop.actual.as_ref().expect("and answered").response;
                Outcome::Response {
                    status: u64::from(response.status.as_u16()),
                    kind: if *same_origin { "basic" } else { "cors" }.to_owned(),
                    from: self.label(&hop.plan.url.origin().ascii_serialization()),
                    userinfo: !hop.plan.url.username().is_empty(),
                    body: body.then(|| String::from_utf8_lossy(&response.body).into_owned()),
                }
            }
            Verdict::Blocked(_) => Outcome::Error("TypeError".to_owned()),
            Verdict::Unsupported(what) => Outcome::Error(format!("not modelled: {what}")),
            other => Outcome::Error(format!("{other:?}")),
        }
    }
}

/// The script's request for the model: `fetch(url, init)`. `None` for a
/// `redirect` mode other than `follow`: the model always follows (a
/// `CorsRequest` has no redirect mode), so the `redirect: "manual"` and
/// `redirect: "error"` scenarios are left out of the comparison with the
/// model and the probe.
fn to_model(url: &str, init: &Value) -> Option<CorsRequest> {
    if init.get("redirect").is_some() {
        return None;
    }
    let method = init["method"].as_str().unwrap_or("GET");
    let mut request =
        CorsRequest::new(method, url).credentials(match init["credentials"].as_str() {
            Some("include") => Credentials::Include,
            Some("omit") => Credentials::Omit,
            _ => Credentials::SameOrigin,
        });
    if let Some(headers) = init["headers"].as_object() {
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str().unwrap().as_bytes().to_vec());
        }
    }
    if let Some(body) = init["body"].as_str() {
        request = request.body(body.to_owned());
    }
    Some(request)
}

/// How the model or the probe can disagree with the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    /// The model's outcome (a response with its status, type, origin and
    /// body, or a `TypeError`) is not the engine's.
    Outcome,
    /// What reached the servers through the model is not what reached them
    /// from the engine, request by request.
    Wire,
    /// `corsair probe`'s outcome (as [`Gap::Outcome`], without the body,
    /// which it does not read) is not the engine's.
    ProbeOutcome,
    /// What reached the servers from `corsair probe` is not what reached
    /// them from the engine, `Cookie` left out: the probe's browser is a
    /// fresh one, without the page's cookie `c=1`.
    ProbeWire,
}

/// The scenarios where the model (the engine's profile) or
/// `corsair probe --browser ENGINE` is known not to do what the engine
/// does, and how: the engines, the scenario, the gaps. Any other
/// disagreement fails the test, and so does a listed one that went away
/// (remove it from here then). An entry reads
/// `(&[Engine::Firefox], "PUT x-custom, A 307 → B", &[Gap::Wire])`, with a
/// comment saying why; the test prints its disagreements in that form.
///
/// None today: the engines' profiles follow all three on every scenario
/// compared, and since `corsair probe` sends request bodies its wire is the
/// engine's too (the eight `POST` and `PUT` scenarios were `ProbeWire` gaps
/// before).
const KNOWN_GAPS: &[(&[Engine], &str, &[Gap])] = &[];

/// The gaps listed for `engine` in `scenario`.
fn known_gaps(engine: Engine, scenario: &str) -> &'static [Gap] {
    KNOWN_GAPS
        .iter()
        .find(|(engines, name, _)| *name == scenario && engines.contains(&engine))
        .map_or(&[], |(_, _, gaps)| *gaps)
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

per_engine!(redirects);

async fn redirects(engine: Engine) {
    let started = Instant::now();
    let product = engine.product();
    let servers = Servers::start().await;
    for (_, name, _) in KNOWN_GAPS {
        assert!(
            scenarios(&servers)
                .iter()
                .any(|scenario| scenario.name == *name),
            "KNOWN_GAPS names {name:?}, which is no scenario"
        );
    }
    let browser = Browser::launch_engine(engine).await.unwrap();
    let launched = started.elapsed();
    // The cookie `c=1` on `localhost`, first-party: in the engine by a
    // top-level visit, in the model by the page's own request for it.
    browser
        .open(&format!("{}/cookie", servers.page))
        .await
        .unwrap();
    let mut model = Model::new(&servers.page).unwrap().with_engine(engine);
    let mut transport = RouterTransport::new(servers.model_router.clone());
    let seeded = model
        .play(
            &mut transport,
            &CorsRequest::get(format!("{}/cookie", servers.page)),
        )
        .await
        .unwrap();
    assert!(
        seeded.cookies.len() == 1 && seeded.cookies[0].stored(),
        "the model did not keep c=1: {:?}",
        seeded.cookies
    );
    let page = Page::new(&servers.page).unwrap();
    let mut prober = HttpServer::new(Duration::from_secs(10)).unwrap();

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut gaps_seen: Vec<(String, Vec<Gap>)> = Vec::new();
    let mut compared = 0;
    let mut model_time = Duration::ZERO;
    for scenario in scenarios(&servers) {
        browser.open(&servers.page).await.unwrap();
        servers.log.clear();
        let result = browser
            .run(SCRIPT, vec![json!(scenario.url), scenario.init.clone()])
            .await
            .unwrap();
        let wire = servers.wire(&servers.log, true);
        let real_wire_without_cookie = servers.wire(&servers.log, false);
        let real = servers.real_outcome(&result);
        let outcome = real.to_string();
        let hops = wire.len();
        let wire_text = if scenario.name == "A redirects forever" {
            format!("{hops} requests: {} … {}", wire[0], wire[hops - 1])
        } else {
            wire.join("<br>")
        };
        let expected = EXPECTED
            .iter()
            .find(|(name, engines, ..)| *name == scenario.name && engines.contains(&engine))
            .unwrap_or_else(|| panic!("no expectation for {engine} in {:?}", scenario.name));
        let wire_seen: Vec<&str> = if scenario.name == "A redirects forever" {
            vec![wire_text.as_str()]
        } else {
            wire.iter().map(String::as_str).collect()
        };
        if (outcome.as_str(), wire_seen.as_slice()) != (expected.2, expected.3) {
            failures.push(format!(
                "{}:\n    got      {outcome} / {wire_seen:?}\n    expected {} / {:?}",
                scenario.name, expected.2, expected.3
            ));
        }

        // The same request through the model, then through the probe
        // (after the engine's wire was read: their requests must not mix).
        let Some(request) = to_model(&scenario.url, &scenario.init) else {
            rows.push(vec![
                scenario.name.to_owned(),
                outcome,
                wire_text,
                "not modelled (redirect mode)".to_owned(),
            ]);
            continue;
        };
        compared += 1;
        let model_started = Instant::now();
        servers.model_log.clear();
        let transcript = model.play(&mut transport, &request).await.unwrap();
        let model_outcome = servers.model_outcome(&transcript, true);
        let model_wire = servers.wire(&servers.model_log, true);
        servers.log.clear();
        let probed = play_in_each(&[engine], &page, &request, &mut prober)
            .await
            .unwrap_or_else(|error| panic!("{}: the probe failed: {error}", scenario.name))
            .remove(0);
        let probe_outcome = servers.model_outcome(&probed, false);
        let probe_wire = servers.wire(&servers.log, false);
        model_time += model_started.elapsed();

        let mut gaps = Vec::new();
        let mut problems = Vec::new();
        if model_outcome != real {
            gaps.push(Gap::Outcome);
            problems.push(format!(
                "the script got:\n      {product}: {real}\n      model:    {model_outcome} ({:?})",
                transcript.verdict
            ));
        }
        if model_wire != wire {
            gaps.push(Gap::Wire);
            problems.push(format!(
                "what reached the servers:\n      {product}: {wire:?}\n      model:    {model_wire:?}"
            ));
        }
        if probe_outcome != real.without_body() {
            gaps.push(Gap::ProbeOutcome);
            problems.push(format!(
                "the script got:\n      {product}: {}\n      probe:    {probe_outcome} ({:?})",
                real.without_body(),
                probed.verdict
            ));
        }
        if probe_wire != real_wire_without_cookie {
            gaps.push(Gap::ProbeWire);
            problems.push(format!(
                "what reached the servers (Cookie left out):\n      {product}: \
                 {real_wire_without_cookie:?}\n      probe:    {probe_wire:?}"
            ));
        }
        let known = known_gaps(engine, scenario.name);
        if known != gaps.as_slice() {
            failures.push(format!(
                "{}: KNOWN_GAPS lists {known:?} for {product}, but the model and the probe \
                 disagree in {gaps:?}{}",
                scenario.name,
                if problems.is_empty() {
                    String::new()
                } else {
                    format!(":\n    {}", problems.join("\n    "))
                }
            ));
        }
        let agreement = if gaps.is_empty() {
            "agree".to_owned()
        } else {
            let mut text = format!("gaps {gaps:?}");
            if gaps.contains(&Gap::Outcome) {
                write!(text, "; model got {model_outcome}").unwrap();
            }
            if gaps.contains(&Gap::Wire) {
                write!(text, "; model sent {}", model_wire.join("<br>")).unwrap();
            }
            if gaps.contains(&Gap::ProbeOutcome) {
                write!(text, "; probe got {probe_outcome}").unwrap();
            }
            if gaps.contains(&Gap::ProbeWire) {
                write!(text, "; probe sent {}", probe_wire.join("<br>")).unwrap();
            }
            gaps_seen.push((scenario.name.to_owned(), gaps));
            text
        };
        rows.push(vec![
            scenario.name.to_owned(),
            outcome,
            wire_text,
            agreement,
        ]);
    }
    let version = browser.version().to_owned();
    browser.close().await.unwrap();
    println!(
        "\n{product} {version}: redirects (page = {}, A = {}, B = {})\n\n{}",
        servers.page,
        servers.a,
        servers.b,
        markdown_table(
            &[
                "scenario",
                "what the script got",
                "what reached the servers",
                "model and probe"
            ],
            &rows
        )
    );
    println!("disagreements of the model and the probe with {product} (for KNOWN_GAPS):");
    for (name, gaps) in &gaps_seen {
        let gaps: Vec<String> = gaps.iter().map(|gap| format!("Gap::{gap:?}")).collect();
        println!(
            "    (&[Engine::{engine:?}], {name:?}, &[{}]),",
            gaps.join(", ")
        );
    }
    println!(
        "{product} ready in {launched:.1?}; {} scenarios ({compared} compared with the model and \
         the probe) in {:.1?}, of which the model and the probe {model_time:.1?}",
        rows.len(),
        started.elapsed()
    );
    assert!(compared >= 30, "only {compared} scenarios compared");
    assert!(
        failures.is_empty(),
        "{product} does otherwise in {} scenarios:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
