//! Ground truth: how each engine follows redirects of CORS requests
//! (Fetch's HTTP-redirect fetch), which the model does not do yet.
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
//! number), so that no preflight cache entry serves another. The table is printed; the
//! assertions pin what each engine does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse as _, Response};
use corsair_e2e::{
    Browser, Engine, Listener, RequestLog, Seen, Server, markdown_table, per_engine,
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
        Self {
            page: page_origin,
            a: a_origin,
            b: b_origin,
            log,
            _servers: servers,
        }
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
    /// segment of the path only).
    fn describe(&self, seen: &Seen) -> String {
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
        if let Some(cookie) = seen.header("cookie") {
            write!(line, " Cookie={cookie}").unwrap();
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
// The test
// ---------------------------------------------------------------------------

per_engine!(redirects);

async fn redirects(engine: Engine) {
    let servers = Servers::start().await;
    let browser = Browser::launch_engine(engine).await.unwrap();
    // The cookie `c=1` on `localhost`, first-party.
    browser
        .open(&format!("{}/cookie", servers.page))
        .await
        .unwrap();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for scenario in scenarios(&servers) {
        browser.open(&servers.page).await.unwrap();
        servers.log.clear();
        let result = browser
            .run(SCRIPT, vec![json!(scenario.url), scenario.init.clone()])
            .await
            .unwrap();
        let wire: Vec<String> = servers
            .log
            .filter(|seen| seen.path != "/favicon.ico")
            .iter()
            .map(|seen| servers.describe(seen))
            .collect();
        let outcome = if result["ok"] == json!(true) {
            let url = result["url"].as_str().unwrap_or_default();
            let origin = url.split('/').take(3).collect::<Vec<_>>().join("/");
            let (origin, userinfo) = match origin.split_once('@') {
                Some((_, host)) => (format!("http://{host}"), " (response.url keeps user:pw@)"),
                None => (origin, ""),
            };
            format!(
                "{} {} from {}{userinfo} ({})",
                result["status"],
                result["type"].as_str().unwrap_or_default(),
                servers.label(&origin),
                result["body"].as_str().unwrap_or_default()
            )
        } else {
            result["error"].as_str().unwrap_or_default().to_owned()
        };
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
        rows.push(vec![scenario.name.to_owned(), outcome, wire_text]);
    }
    let version = browser.version().to_owned();
    browser.close().await.unwrap();
    println!(
        "\n{} {version}: redirects (page = {}, A = {}, B = {})\n\n{}",
        engine.product(),
        servers.page,
        servers.a,
        servers.b,
        markdown_table(
            &[
                "scenario",
                "what the script got",
                "what reached the servers"
            ],
            &rows
        )
    );
    assert!(
        failures.is_empty(),
        "{} does otherwise in {} scenarios:\n{}",
        engine.product(),
        failures.len(),
        failures.join("\n")
    );
}
