//! Differential test of `corsair::browser` against each real engine:
//! Chromium, Firefox and WebKit, one test each (`NAME::chromium`,
//! `NAME::firefox`, `NAME::webkit`), which run in parallel.
//!
//! Each scenario is a small server written with plain axum handlers and
//! tower middleware (not corsair, so that it can be wrong in every way a
//! hand-written CORS implementation is) and one request a page script
//! makes. Every scenario runs three times:
//!
//! - in the real engine (stock settings), from a page on
//!   `http://localhost:P1`, against the API on `http://localhost:P2`;
//! - through the model, `corsair::browser::Browser` as [`model`] builds it
//!   for the engine, on the same page URL, sending the same request to the
//!   same URL through the same `Router` used as a tower service;
//! - through `corsair probe --browser ENGINE`'s engine
//!   (`corsair::browser::play_in_each` for that engine, over HTTP with
//!   `corsair_cli::probe::HttpServer`), against the live server, whose
//!   verdict (allowed or blocked) must be the engine's.
//!
//! The verdicts must agree: allowed or blocked; when allowed, the status,
//! the body and, for a fixed list of response headers ([`READ`]), what the
//! script reads. What reached the server must agree too: the engine's wire
//! (a [`RequestLog`]) must show a preflight exactly when the model sent
//! one and the actual request exactly when the model's verdict implies it
//! was sent (not for a `TypeError` or a preflight failure), and must equal
//! the model's own wire. The model does not follow every engine yet: the
//! disagreements it is known to have are listed, per engine and scenario,
//! in [`KNOWN_GAPS`], and any other disagreement fails (so does a listed
//! one that went away). Each scenario also says what each engine is
//! expected to do (the same in all three, unless it says otherwise for
//! one), so that a broken harness cannot make everything agree trivially.
//!
//! All scenarios share one browser and one API server; each has its own
//! path, `/s/NN/r`, so that no preflight-cache entry carries over. The
//! table (scenario, the engine's verdict, the model's verdict with its
//! `Blocked` reason, the wire in both, agreement) is printed every time,
//! with the disagreements in the form of `KNOWN_GAPS` entries: run with
//! `--nocapture` to see them on success.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use axum::middleware::{self, Next};
use axum::response::IntoResponse as _;
use axum::routing::{any, put};
use corsair::browser::{
    Blocked, Browser as Model, Client, CorsRequest, Credentials, Engine, FetchError, Page,
    ScriptResponse, play_in_each,
};
use corsair_cli::probe::HttpServer;
use corsair_e2e::{Browser, Probe, RequestLog, Sites, per_engine};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

/// A response header: `{origin}` in the value stands for the page's
/// origin, `{ORIGIN}` for it in uppercase.
type H = (&'static str, &'static str);

const ACAO_ORIGIN: H = ("access-control-allow-origin", "{origin}");
const ACAO_STAR: H = ("access-control-allow-origin", "*");
const ACAC: H = ("access-control-allow-credentials", "true");
const ACAM_PUT: H = ("access-control-allow-methods", "PUT");

/// What every actual (non-preflight) response carries besides the
/// scenario's own headers; [`READ`] asks the script to read these.
const PAYLOAD: &[H] = &[
    ("content-type", "text/plain; charset=utf-8"),
    ("content-language", "en"),
    ("cache-control", "no-store"),
    ("x-request-id", "req-42"),
    ("x-custom", "custom-value"),
    ("set-cookie", "sid=1; Path=/"),
];

/// The response headers whose readability is compared.
const READ: &[&str] = &[
    "content-type",
    "content-language",
    "cache-control",
    "x-request-id",
    "x-custom",
    "set-cookie",
];

/// A status and header lines (each entry is one line, in order).
#[derive(Clone, Copy, Debug)]
struct Reply {
    status: u16,
    headers: &'static [H],
}

const fn reply(status: u16, headers: &'static [H]) -> Reply {
    Reply { status, headers }
}

const fn ok(headers: &'static [H]) -> Reply {
    reply(200, headers)
}

const fn no_content(headers: &'static [H]) -> Reply {
    reply(204, headers)
}

/// How a scenario's server is written.
#[derive(Clone, Copy, Debug)]
enum Server {
    /// One handler for every method: `OPTIONS` gets the first reply, any
    /// other method the second (plus [`PAYLOAD`] and a body).
    Answers(Reply, Reply),
    /// A tower middleware refuses every `OPTIONS` with a bare 403; the
    /// handler answers everything else with the reply (plus [`PAYLOAD`]).
    /// A preflight therefore shows as a block.
    RefusesPreflights(Reply),
    /// The handler is routed for `PUT` only, and a `map_response`
    /// middleware adds these headers to every response, axum's `405` to the
    /// preflight included.
    CorsMiddlewarePutOnly(&'static [H]),
}

fn resolve(value: &str, origin: &str) -> String {
    value
        .replace("{origin}", origin)
        .replace("{ORIGIN}", &origin.to_uppercase())
}

fn add_headers(headers: &mut HeaderMap, lines: &[H], origin: &str) {
    for (name, value) in lines {
        headers.append(
            HeaderName::from_static(name),
            HeaderValue::from_bytes(resolve(value, origin).as_bytes()).unwrap(),
        );
    }
}

fn respond(reply: Reply, origin: &str, actual: Option<&str>) -> Response<Body> {
    let body = actual.map_or_else(String::new, |body| body.to_owned());
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    add_headers(response.headers_mut(), reply.headers, origin);
    if actual.is_some() {
        add_headers(response.headers_mut(), PAYLOAD, origin);
    }
    response
}

async fn refuse_options(request: Request, next: Next) -> Response<Body> {
    if request.method() == Method::OPTIONS {
        return StatusCode::FORBIDDEN.into_response();
    }
    next.run(request).await
}

impl Server {
    /// The scenario's router; its request URL is `/r`.
    fn router(self, origin: &str, body: String) -> Router {
        let origin = origin.to_owned();
        match self {
            Server::Answers(preflight, actual) => Router::new().route(
                "/r",
                any(move |method: Method| {
                    let response = if method == Method::OPTIONS {
                        respond(preflight, &origin, None)
                    } else {
                        respond(actual, &origin, Some(&body))
                    };
                    async move { response }
                }),
            ),
            Server::RefusesPreflights(actual) => Router::new()
                .route(
                    "/r",
                    any(move || {
                        let response = respond(actual, &origin, Some(&body));
                        async move { response }
                    }),
                )
                .layer(middleware::from_fn(refuse_options)),
            Server::CorsMiddlewarePutOnly(lines) => {
                let handler_origin = origin.clone();
                Router::new()
                    .route(
                        "/r",
                        put(move || {
                            let response = respond(ok(&[]), &handler_origin, Some(&body));
                            async move { response }
                        }),
                    )
                    .layer(middleware::map_response(
                        move |mut response: Response<Body>| {
                            add_headers(response.headers_mut(), lines, &origin);
                            async move { response }
                        },
                    ))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Fetch,
    Xhr,
}

/// What the page's script sends.
#[derive(Clone, Debug)]
struct Req {
    api: Api,
    method: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Option<&'static str>,
    credentials: Credentials,
}

fn fetch(method: &'static str) -> Req {
    Req {
        api: Api::Fetch,
        method,
        headers: Vec::new(),
        body: None,
        credentials: Credentials::SameOrigin,
    }
}

/// `XMLHttpRequest`, `withCredentials = false` unless [`Req::include`].
fn xhr(method: &'static str) -> Req {
    Req {
        api: Api::Xhr,
        ..fetch(method)
    }
}

impl Req {
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn body(mut self, body: &'static str) -> Self {
        self.body = Some(body);
        self
    }

    /// `credentials: "include"` (`withCredentials = true` for XHR).
    fn include(mut self) -> Self {
        self.credentials = Credentials::Include;
        self
    }

    fn omit(mut self) -> Self {
        assert_eq!(self.api, Api::Fetch, "XHR has no omit mode");
        self.credentials = Credentials::Omit;
        self
    }

    /// The argument of [`SCRIPT`].
    fn to_json(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), json!(value)))
            .collect();
        json!({
            "api": match self.api { Api::Fetch => "fetch", Api::Xhr => "xhr" },
            "method": self.method,
            "headers": headers,
            "body": self.body,
            "credentials": self.credentials.as_str(),
        })
    }

    fn to_model(&self, url: &str) -> CorsRequest {
        let mut request = CorsRequest::new(self.method, url)
            .credentials(self.credentials)
            .client(match self.api {
                Api::Fetch => Client::Fetch,
                Api::Xhr => Client::XmlHttpRequest,
            });
        for (name, value) in &self.headers {
            request = request.header(*name, value.as_bytes().to_vec());
        }
        if let Some(body) = self.body {
            request = request.body(body);
        }
        request
    }

    fn describe(&self) -> String {
        let mut text = format!(
            "{} {}",
            match self.api {
                Api::Fetch => "fetch",
                Api::Xhr => "xhr",
            },
            self.method
        );
        for (name, value) in &self.headers {
            let shown = if value.len() > 24 {
                format!("{}…({} bytes)", &value[..12], value.len())
            } else {
                value.clone()
            };
            write!(text, " [{name}: {shown}]").unwrap();
        }
        if self.credentials != Credentials::SameOrigin {
            write!(text, " credentials={}", self.credentials.as_str()).unwrap();
        }
        text
    }
}

/// Runs one request in the page and resolves to a `Probe`.
const SCRIPT: &str = r#"
const [url, req, read] = args;
if (req.api === "xhr") {
  return probeXhr(req.method, url, {
    headers: req.headers, body: req.body, withCredentials: req.credentials === "include",
  }, read);
}
const init = { method: req.method, headers: req.headers, credentials: req.credentials };
if (req.body !== null) init.body = req.body;
return probeFetch(url, init, read);
"#;

// ---------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Allowed,
    Blocked,
}
use Expect::{Allowed, Blocked as Refused};

struct Scenario {
    name: &'static str,
    server: Server,
    request: Req,
    /// What the scenario is meant to show, in every engine but those of
    /// `differs`; checked against the real engine too, so that a harness
    /// fault cannot make every scenario agree trivially.
    expect: Expect,
    /// The engines that legitimately do otherwise, and what they do.
    differs: Vec<(Engine, Expect)>,
}

fn s(name: &'static str, server: Server, request: Req, expect: Expect) -> Scenario {
    Scenario {
        name,
        server,
        request,
        expect,
        differs: Vec::new(),
    }
}

impl Scenario {
    /// `engine` does `expect` instead.
    fn but(mut self, engine: Engine, expect: Expect) -> Self {
        self.differs.push((engine, expect));
        self
    }

    /// What `engine` is expected to do.
    fn expect_in(&self, engine: Engine) -> Expect {
        self.differs
            .iter()
            .find(|(differing, _)| *differing == engine)
            .map_or(self.expect, |(_, expect)| *expect)
    }
}

#[rustfmt::skip]
fn scenarios() -> Vec<Scenario> {
    use Server::{Answers, CorsMiddlewarePutOnly, RefusesPreflights};
    let accept_129 = format!("text/{}", "a".repeat(124));
    assert_eq!(accept_129.len(), 129);
    let accept_128 = format!("text/{}", "a".repeat(123));
    assert_eq!(accept_128.len(), 128);
    // Eight safelisted headers whose values add up to exactly 1024 bytes.
    let total_1024 = fetch("GET")
        .header("accept", accept_128.clone())
        .header("accept-language", "a".repeat(128))
        .header("content-language", "b".repeat(128))
        .header("width", "1".repeat(128))
        .header("viewport-width", "2".repeat(128))
        .header("rtt", "3".repeat(128))
        .header("device-memory", "4".repeat(128))
        .header("downlink", "5".repeat(128));
    assert_eq!(total_1024.headers.iter().map(|(_, v)| v.len()).sum::<usize>(), 1024);
    let put_allowed = no_content(&[ACAO_ORIGIN, ACAM_PUT]);
    vec![
        // --- The CORS check on simple requests (every OPTIONS is refused) ---
        s("ACAO * without credentials", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET"), Allowed),
        s("ACAO * with credentials", RefusesPreflights(ok(&[ACAO_STAR, ACAC])), fetch("GET").include(), Refused),
        s("ACAO * + ACAC, credentials omit", RefusesPreflights(ok(&[ACAO_STAR, ACAC])), fetch("GET").omit(), Allowed),
        s("exact origin without credentials", RefusesPreflights(ok(&[ACAO_ORIGIN])), fetch("GET"), Allowed),
        s("exact origin, credentials, no ACAC", RefusesPreflights(ok(&[ACAO_ORIGIN])), fetch("GET").include(), Refused),
        s("exact origin, credentials, ACAC true", RefusesPreflights(ok(&[ACAO_ORIGIN, ACAC])), fetch("GET").include(), Allowed),
        s("ACAC `True`", RefusesPreflights(ok(&[ACAO_ORIGIN, ("access-control-allow-credentials", "True")])), fetch("GET").include(), Refused),
        s("ACAC `true` on two lines", RefusesPreflights(ok(&[ACAO_ORIGIN, ACAC, ACAC])), fetch("GET").include(), Refused),
        s("ACAC `true, true` on one line", RefusesPreflights(ok(&[ACAO_ORIGIN, ("access-control-allow-credentials", "true, true")])), fetch("GET").include(), Refused),
        s("ACAC `true ` (trailing space)", RefusesPreflights(ok(&[ACAO_ORIGIN, ("access-control-allow-credentials", "true ")])), fetch("GET").include(), Allowed),
        s("two origins on one ACAO line", RefusesPreflights(ok(&[("access-control-allow-origin", "{origin}, http://other.example")])), fetch("GET"), Refused),
        s("ACAO on two lines (same origin)", RefusesPreflights(ok(&[ACAO_ORIGIN, ACAO_ORIGIN])), fetch("GET"), Refused),
        s("ACAO `*` and the origin on two lines", RefusesPreflights(ok(&[ACAO_STAR, ACAO_ORIGIN])), fetch("GET"), Refused),
        s("ACAO with a trailing slash", RefusesPreflights(ok(&[("access-control-allow-origin", "{origin}/")])), fetch("GET"), Refused),
        s("ACAO uppercase", RefusesPreflights(ok(&[("access-control-allow-origin", "{ORIGIN}")])), fetch("GET"), Refused),
        s("ACAO `null` from a normal page", RefusesPreflights(ok(&[("access-control-allow-origin", "null")])), fetch("GET"), Refused),
        s("ACAO without the port", RefusesPreflights(ok(&[("access-control-allow-origin", "http://localhost")])), fetch("GET"), Refused),
        s("ACAO with surrounding spaces", RefusesPreflights(ok(&[("access-control-allow-origin", "  {origin}  ")])), fetch("GET"), Allowed),
        s("empty ACAO", RefusesPreflights(ok(&[("access-control-allow-origin", "")])), fetch("GET"), Refused),
        s("HEAD with ACAO", RefusesPreflights(ok(&[ACAO_STAR])), fetch("HEAD"), Allowed),
        s("ACAO `*` with a trailing space", RefusesPreflights(ok(&[("access-control-allow-origin", "* ")])), fetch("GET"), Allowed),
        s("ACAO `\"*\"` (quoted)", RefusesPreflights(ok(&[("access-control-allow-origin", "\"*\"")])), fetch("GET"), Refused),
        s("an empty ACAO line and the origin", RefusesPreflights(ok(&[("access-control-allow-origin", ""), ACAO_ORIGIN])), fetch("GET"), Refused).but(Engine::Firefox, Allowed),
        s("no ACAO at all", RefusesPreflights(ok(&[])), fetch("GET"), Refused),
        s("403 with ACAO is readable", RefusesPreflights(reply(403, &[ACAO_ORIGIN])), fetch("GET"), Allowed),
        s("500 with ACAO is readable", RefusesPreflights(reply(500, &[ACAO_STAR])), fetch("GET"), Allowed),
        s("204 with ACAO: no body", RefusesPreflights(no_content(&[ACAO_STAR])), fetch("GET"), Allowed),
        s("205 with ACAO", RefusesPreflights(reply(205, &[ACAO_STAR])), fetch("GET"), Allowed),
        s("302 without Location, with ACAO", RefusesPreflights(reply(302, &[ACAO_STAR])), fetch("GET"), Allowed),
        s("300 with Location and ACAO is readable", RefusesPreflights(reply(300, &[("location", "/elsewhere"), ACAO_STAR])), fetch("GET"), Allowed),
        s("XHR without credentials, ACAO * + ACAC", RefusesPreflights(ok(&[ACAO_STAR, ACAC])), xhr("GET"), Allowed),
        s("XHR withCredentials, exact origin + ACAC", RefusesPreflights(ok(&[ACAO_ORIGIN, ACAC])), xhr("GET").include(), Allowed),
        s("XHR withCredentials, ACAO *", RefusesPreflights(ok(&[ACAO_STAR, ACAC])), xhr("GET").include(), Refused),
        s("XHR without credentials, no ACAO", RefusesPreflights(ok(&[])), xhr("POST").body("x"), Refused),
        // --- Preflight: methods ---
        s("PUT, ACAM missing", Answers(no_content(&[ACAO_ORIGIN]), ok(&[ACAO_ORIGIN])), fetch("PUT").body("{}"), Refused),
        s("PUT, ACAM PUT", Answers(put_allowed, ok(&[ACAO_ORIGIN])), fetch("PUT").body("{}"), Allowed),
        s("PUT, ACAM * without credentials", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "*")]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Allowed),
        s("PUT, ACAM * with credentials", Answers(no_content(&[ACAO_ORIGIN, ACAC, ("access-control-allow-methods", "*")]), ok(&[ACAO_ORIGIN, ACAC])), fetch("PUT").include(), Refused),
        s("PUT, ACAM `*, PUT` with credentials", Answers(no_content(&[ACAO_ORIGIN, ACAC, ("access-control-allow-methods", "*, PUT")]), ok(&[ACAO_ORIGIN, ACAC])), fetch("PUT").include(), Allowed),
        s("script PATCH, ACAM `patch`", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "patch")]), ok(&[ACAO_ORIGIN])), fetch("PATCH"), Refused),
        s("script `patch`, ACAM PATCH", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "PATCH")]), ok(&[ACAO_ORIGIN])), fetch("patch"), Refused),
        s("script `patch`, ACAM `patch`", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "patch")]), ok(&[ACAO_ORIGIN])), fetch("patch"), Allowed),
        s("script `delete`, ACAM DELETE", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "DELETE")]), ok(&[ACAO_ORIGIN])), fetch("delete"), Allowed),
        s("script `Put`, ACAM PUT", Answers(put_allowed, ok(&[ACAO_ORIGIN])), fetch("Put"), Allowed),
        s("script PUT, ACAM `put`", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "put")]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("PROPFIND, ACAM PROPFIND", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "PROPFIND")]), ok(&[ACAO_ORIGIN])), fetch("PROPFIND"), Allowed),
        s("POST with x-custom, no ACAM", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-headers", "x-custom")]), ok(&[ACAO_ORIGIN])), fetch("POST").header("x-custom", "1").body("x"), Allowed),
        s("HEAD with x-custom, ACAH x-custom", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-headers", "x-custom")]), ok(&[ACAO_ORIGIN])), fetch("HEAD").header("x-custom", "1"), Allowed),
        s("forbidden method CONNECT", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "*")]), ok(&[ACAO_ORIGIN])), fetch("CONNECT"), Refused),
        s("GET with a body", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").body("x"), Refused),
        s("PUT, ACAM `GET,<tab>PUT`", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "GET,\tPUT")]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Allowed),
        s("PUT, ACAM `GET POST` (not a list)", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "GET POST")]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("PUT, ACAM `PUT, GET POST`", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "PUT, GET POST")]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("PUT, ACAM `, PUT,,` (empty elements)", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", " , PUT,,")]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Allowed),
        s("PUT, ACAM on two lines", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "GET"), ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Allowed),
        s("XHR PUT with x-custom", Answers(no_content(&[ACAO_ORIGIN, ACAM_PUT, ("access-control-allow-headers", "x-custom")]), ok(&[ACAO_ORIGIN])), xhr("PUT").header("x-custom", "1").body("{}"), Allowed),
        // --- Preflight: headers ---
        s("x-custom, ACAH * without credentials", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-headers", "*")]), ok(&[ACAO_ORIGIN])), fetch("GET").header("x-custom", "1"), Allowed),
        s("x-custom, ACAH * with credentials", Answers(no_content(&[ACAO_ORIGIN, ACAC, ("access-control-allow-headers", "*")]), ok(&[ACAO_ORIGIN, ACAC])), fetch("GET").header("x-custom", "1").include(), Refused),
        s("Authorization, ACAH *", Answers(no_content(&[ACAO_STAR, ("access-control-allow-headers", "*")]), ok(&[ACAO_STAR])), fetch("GET").header("authorization", "Bearer t"), Allowed),
        s("Authorization listed, with credentials", Answers(no_content(&[ACAO_ORIGIN, ACAC, ("access-control-allow-headers", "Authorization")]), ok(&[ACAO_ORIGIN, ACAC])), fetch("GET").header("authorization", "Bearer t").include(), Allowed),
        s("Authorization, ACAH * with credentials", Answers(no_content(&[ACAO_ORIGIN, ACAC, ("access-control-allow-headers", "*")]), ok(&[ACAO_ORIGIN, ACAC])), fetch("GET").header("authorization", "Bearer t").include(), Refused),
        s("x-custom, preflight ACAO * with credentials", Answers(no_content(&[ACAO_STAR, ACAC, ("access-control-allow-headers", "x-custom")]), ok(&[ACAO_ORIGIN, ACAC])), fetch("GET").header("x-custom", "1").include(), Refused),
        s("ACAH `x-custom;` (not a token)", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-headers", "x-custom;")]), ok(&[ACAO_ORIGIN])), fetch("GET").header("x-custom", "1"), Refused),
        s("ACAH with a non-ASCII name", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-headers", "x-custom, x-\u{e9}")]), ok(&[ACAO_ORIGIN])), fetch("GET").header("x-custom", "1"), Refused),
        s("ACAH lacks a requested header", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-headers", "x-other")]), ok(&[ACAO_ORIGIN])), fetch("GET").header("x-custom", "1"), Refused),
        s("ACAH lists one of two headers", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-headers", "x-custom")]), ok(&[ACAO_ORIGIN])), fetch("GET").header("x-custom", "1").header("x-other", "2"), Refused),
        s("ACAH `x y` (not a list)", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-headers", "x-custom, x y")]), ok(&[ACAO_ORIGIN])), fetch("GET").header("x-custom", "1"), Refused),
        s("ACAH `,x-custom,` (empty elements)", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-headers", ",x-custom,")]), ok(&[ACAO_ORIGIN])), fetch("GET").header("x-custom", "1"), Allowed),
        s("ACAH `X-CUSTOM` (case-insensitive)", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-headers", "X-CUSTOM")]), ok(&[ACAO_ORIGIN])), fetch("GET").header("x-custom", "1"), Allowed),
        s("ACAH on two lines", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-headers", "x-custom"), ("access-control-allow-headers", "x-other")]), ok(&[ACAO_ORIGIN])), fetch("GET").header("x-custom", "1").header("x-other", "2"), Allowed),
        // --- Preflight: status and CORS check ---
        s("preflight 301", Answers(reply(301, &[("location", "/elsewhere"), ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight 302", Answers(reply(302, &[("location", "/elsewhere"), ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight 401 with CORS headers", Answers(reply(401, &[ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight 404 with CORS headers", Answers(reply(404, &[ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight 500 with CORS headers", Answers(reply(500, &[ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight 203", Answers(reply(203, &[ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Allowed),
        s("preflight 299", Answers(reply(299, &[ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Allowed),
        s("preflight 303", Answers(reply(303, &[("location", "/elsewhere"), ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight 302 without Location", Answers(reply(302, &[ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight 300 with Location", Answers(reply(300, &[("location", "/elsewhere"), ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight 304", Answers(reply(304, &[ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight 307", Answers(reply(307, &[("location", "/elsewhere"), ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight 308", Answers(reply(308, &[("location", "/elsewhere"), ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight 200", Answers(ok(&[ACAO_ORIGIN, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Allowed),
        s("preflight 204", Answers(put_allowed, ok(&[ACAO_ORIGIN])), fetch("PUT"), Allowed),
        s("preflight without ACAO", Answers(no_content(&[ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
        s("preflight without ACAC, credentials", Answers(put_allowed, ok(&[ACAO_ORIGIN, ACAC])), fetch("PUT").include(), Refused),
        s("preflight OK, actual without ACAO", Answers(put_allowed, ok(&[])), fetch("PUT"), Refused),
        s("preflight OK, actual without ACAC", Answers(no_content(&[ACAO_ORIGIN, ACAC, ACAM_PUT]), ok(&[ACAO_ORIGIN])), fetch("PUT").include(), Refused),
        s("CORS middleware, PUT-only route (405)", CorsMiddlewarePutOnly(&[ACAO_ORIGIN, ACAM_PUT]), fetch("PUT"), Refused),
        // --- Access-Control-Expose-Headers ---
        s("Expose * without credentials", Answers(put_allowed, ok(&[ACAO_ORIGIN, ("access-control-expose-headers", "*")])), fetch("GET"), Allowed),
        s("Expose * with credentials", Answers(put_allowed, ok(&[ACAO_ORIGIN, ACAC, ("access-control-expose-headers", "*")])), fetch("GET").include(), Allowed),
        s("Expose x-request-id", Answers(put_allowed, ok(&[ACAO_ORIGIN, ("access-control-expose-headers", "X-Request-Id")])), fetch("GET"), Allowed),
        s("Expose set-cookie (never readable)", Answers(put_allowed, ok(&[ACAO_ORIGIN, ACAC, ("access-control-expose-headers", "set-cookie, x-custom")])), fetch("GET").include(), Allowed),
        s("Expose `x-request-id, x y` (not a list)", Answers(put_allowed, ok(&[ACAO_ORIGIN, ("access-control-expose-headers", "x-request-id, x y")])), fetch("GET"), Allowed),
        s("exposed value with surrounding spaces", Answers(put_allowed, ok(&[ACAO_ORIGIN, ("access-control-expose-headers", "x-custom"), ("x-custom", "  spaced  ")])), fetch("GET"), Allowed),
        s("Expose * and x-request-id, credentials", Answers(put_allowed, ok(&[ACAO_ORIGIN, ACAC, ("access-control-expose-headers", "*, x-request-id")])), fetch("GET").include(), Allowed),
        s("Expose *, credentials omit", Answers(put_allowed, ok(&[ACAO_STAR, ("access-control-expose-headers", "*")])), fetch("GET").omit(), Allowed),
        s("Expose on two lines", Answers(put_allowed, ok(&[ACAO_ORIGIN, ("access-control-expose-headers", "x-request-id"), ("access-control-expose-headers", "x-custom")])), fetch("GET"), Allowed),
        s("XHR, Expose x-custom after a preflight", Answers(put_allowed, ok(&[ACAO_ORIGIN, ("access-control-expose-headers", "x-custom")])), xhr("PUT").body("{}"), Allowed),
        // --- Safelisted request headers (every OPTIONS is refused with 403) ---
        s("Content-Type text/plain: no preflight", RefusesPreflights(ok(&[ACAO_STAR])), fetch("POST").header("content-type", "text/plain").body("x"), Allowed),
        s("Accept-Language: no preflight", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("accept-language", "fr-CH, en;q=0.5"), Allowed),
        s("Range bytes=0-10: no preflight", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("range", "bytes=0-10"), Allowed),
        s("DPR 2.0 (Chromium's safelist)", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("dpr", "2.0"), Allowed).but(Engine::Firefox, Refused).but(Engine::WebKit, Refused),
        s("Origin set by the script is dropped", RefusesPreflights(ok(&[ACAO_ORIGIN])), fetch("GET").header("origin", "http://evil.example"), Allowed),
        s("Content-Type multipart/form-data, no boundary", RefusesPreflights(ok(&[ACAO_STAR])), fetch("POST").header("content-type", "multipart/form-data").body("x"), Allowed),
        s("Content-Type `TEXT/Plain`", RefusesPreflights(ok(&[ACAO_STAR])), fetch("POST").header("content-type", "TEXT/Plain").body("x"), Allowed),
        s("Content-Type `text/plain ;charset=utf-8`", RefusesPreflights(ok(&[ACAO_STAR])), fetch("POST").header("content-type", "text/plain ;charset=utf-8").body("x"), Allowed),
        s("Content-Type with a parameter without `=`", RefusesPreflights(ok(&[ACAO_STAR])), fetch("POST").header("content-type", "text/plain;odd").body("x"), Allowed),
        s("Accept-Language `*`, Content-Language en-US", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("accept-language", "*").header("content-language", "en-US"), Allowed),
        s("Range bytes=0-", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("range", "bytes=0-"), Allowed),
        s("Range bytes=0-(2^63 - 2)", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("range", "bytes=0-9223372036854775806"), Allowed),
        s("Accept of 128 bytes", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("accept", accept_128.clone()), Allowed),
        s("Chromium client hints (Device-Memory, Width...)", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("device-memory", "0.5").header("width", "100").header("viewport-width", "1024").header("rtt", "50").header("downlink", "1.5").header("ect", "4g").header("save-data", "on"), Allowed).but(Engine::Firefox, Refused).but(Engine::WebKit, Refused),
        s("safelisted values total 1024 bytes", RefusesPreflights(ok(&[ACAO_STAR])), total_1024.clone(), Allowed).but(Engine::Firefox, Refused).but(Engine::WebKit, Refused),
        s("forbidden headers are dropped", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("sec-custom", "1").header("proxy-custom", "1").header("referer", "http://evil.example/").header("accept-charset", "x").header("x-http-method-override", "TRACE").header("dnt", "1"), Allowed),
        s("User-Agent set by the script", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("user-agent", "custom"), Allowed).but(Engine::Firefox, Refused).but(Engine::WebKit, Refused),
        s("Content-Type application/json preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("POST").header("content-type", "application/json").body("{}"), Refused),
        s("quoted multipart boundary preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("POST").header("content-type", "multipart/form-data; boundary=\"b\"").body("x"), Refused),
        s("Content-Type application/csp-report preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("POST").header("content-type", "application/csp-report").body("{}"), Refused),
        s("Accept of 129 bytes preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("accept", accept_129), Refused),
        s("Range bytes=-5 preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("range", "bytes=-5"), Refused),
        s("Accept-Language `en_US` preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("accept-language", "en_US"), Refused),
        s("Content-Type text/html preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("POST").header("content-type", "text/html").body("x"), Refused),
        s("Content-Type `text/plain, application/json`", RefusesPreflights(ok(&[ACAO_STAR])), fetch("POST").header("content-type", "text/plain, application/json").body("x"), Refused),
        s("Content-Type with a quoted charset", RefusesPreflights(ok(&[ACAO_STAR])), fetch("POST").header("content-type", "text/plain;charset=\"utf-8\"").body("x"), Refused),
        s("Accept with `@` preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("accept", "text/plain@x"), Refused),
        s("Range bytes=10-5 preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("range", "bytes=10-5"), Refused),
        s("Range with two ranges preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("range", "bytes=0-1,3-4"), Refused),
        s("Range `bytes = 0-10` preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("range", "bytes = 0-10"), Refused),
        s("Range bytes=0-(2^63 - 1) preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("range", "bytes=0-9223372036854775807"), Refused).but(Engine::Firefox, Allowed).but(Engine::WebKit, Allowed),
        s("Width 100.5 preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("width", "100.5"), Refused),
        s("ECT 5g preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("ect", "5g"), Refused),
        s("Save-Data off preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("save-data", "off"), Refused),
        s("safelisted values total 1025 bytes preflight", RefusesPreflights(ok(&[ACAO_STAR])), total_1024.header("dpr", "1"), Refused),
        s("X-HTTP-Method-Override PUT preflights", RefusesPreflights(ok(&[ACAO_STAR])), fetch("GET").header("x-http-method-override", "PUT"), Refused),
        s("x-custom on XHR GET preflights", RefusesPreflights(ok(&[ACAO_STAR])), xhr("GET").header("x-custom", "1"), Refused),
        // --- Access-Control-Max-Age does not change verdicts ---
        s("Max-Age 600", Answers(no_content(&[ACAO_ORIGIN, ACAM_PUT, ("access-control-max-age", "600")]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Allowed),
        s("Max-Age -1", Answers(no_content(&[ACAO_ORIGIN, ACAM_PUT, ("access-control-max-age", "-1")]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Allowed),
        s("Max-Age 600 on a refused method", Answers(no_content(&[ACAO_ORIGIN, ("access-control-allow-methods", "POST"), ("access-control-max-age", "600")]), ok(&[ACAO_ORIGIN])), fetch("PUT"), Refused),
    ]
}

// ---------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    Allowed {
        status: u16,
        body: String,
        /// Each name of [`READ`] and what the script read.
        headers: BTreeMap<String, Option<String>>,
    },
    Blocked,
    /// Neither: a harness or model failure (always a disagreement).
    Error(String),
}

impl Verdict {
    fn short(&self) -> String {
        match self {
            Verdict::Allowed { status, .. } => format!("allowed {status}"),
            Verdict::Blocked => "blocked".to_owned(),
            Verdict::Error(error) => format!("ERROR {error}"),
        }
    }

    /// The names of [`READ`] the script could read, the three safelisted
    /// ones abbreviated `safelisted` when all three were.
    fn readable(&self) -> String {
        const SAFELISTED: [&str; 3] = ["cache-control", "content-language", "content-type"];
        let Verdict::Allowed { headers, .. } = self else {
            return String::new();
        };
        let mut names: Vec<&str> = headers
            .iter()
            .filter(|(_, value)| value.is_some())
            .map(|(name, _)| name.as_str())
            .collect();
        if SAFELISTED.iter().all(|name| names.contains(name)) {
            names.retain(|name| !SAFELISTED.contains(name));
            names.insert(0, "safelisted");
        }
        names.join(",")
    }
}

fn real_verdict(probe: &Probe, api: Api) -> Verdict {
    if probe.ok {
        return Verdict::Allowed {
            status: probe.status.unwrap_or_default(),
            body: probe.body.clone().unwrap_or_default(),
            headers: READ
                .iter()
                .map(|name| {
                    let value = probe.headers.get(*name).cloned().flatten();
                    ((*name).to_owned(), value)
                })
                .collect(),
        };
    }
    // What a CORS failure looks like to a script: a `TypeError` from
    // `fetch`, an `error` event with status 0 from XHR.
    let blocked = match api {
        Api::Fetch => probe.error.as_deref() == Some("TypeError"),
        Api::Xhr => probe.error.as_deref() == Some("error") && probe.status == Some(0),
    };
    if blocked {
        Verdict::Blocked
    } else {
        Verdict::Error(format!("{probe:?}"))
    }
}

fn model_verdict<E: std::fmt::Display>(
    result: &Result<ScriptResponse, FetchError<E>>,
) -> (Verdict, Option<Blocked>) {
    match result {
        Ok(response) => {
            let headers = READ
                .iter()
                .map(|name| {
                    let values: Vec<&str> = response
                        .headers
                        .get_all(*name)
                        .iter()
                        .map(|value| value.to_str().unwrap())
                        .collect();
                    let value = (!values.is_empty()).then(|| values.join(", "));
                    ((*name).to_owned(), value)
                })
                .collect();
            (
                Verdict::Allowed {
                    status: response.status.as_u16(),
                    body: response.text(),
                    headers,
                },
                None,
            )
        }
        Err(FetchError::Blocked(blocked)) => (Verdict::Blocked, Some(blocked.reason.clone())),
        Err(other) => (Verdict::Error(other.to_string()), None),
    }
}

/// What reached the server: `P` a preflight, `A` the actual request.
fn wire_summary(lines: &[String]) -> String {
    let preflights = lines.iter().filter(|l| l.starts_with("OPTIONS ")).count();
    let actual = lines.len() - preflights;
    let mut parts = Vec::new();
    parts.extend(std::iter::repeat_n("P", preflights));
    parts.extend(std::iter::repeat_n("A", actual));
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join("+")
    }
}

struct Row {
    name: String,
    real: String,
    model: String,
    wire: String,
    agree: String,
}

fn table(engine: Engine, rows: &[Row]) -> String {
    let headings = [
        "#".to_owned(),
        "scenario".to_owned(),
        engine.product().to_owned(),
        "model (reason)".to_owned(),
        "wire".to_owned(),
        "agree".to_owned(),
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            [
                format!("{i:02}"),
                row.name.clone(),
                row.real.clone(),
                row.model.clone(),
                row.wire.clone(),
                row.agree.clone(),
            ]
        })
        .collect();
    let mut widths = headings.clone().map(|h| h.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (cell, width) in cells.iter().zip(widths) {
            let pad = width - cell.chars().count();
            write!(text, "| {cell}{} ", " ".repeat(pad)).unwrap();
        }
        text.push_str("|\n");
        text
    };
    let mut text = line(&headings);
    text.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for row in &cells {
        text.push_str(&line(row));
    }
    text
}

// ---------------------------------------------------------------------------
// Where the model does not follow an engine yet
// ---------------------------------------------------------------------------

/// How a scenario can disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    /// `corsair probe` says allowed where the engine blocks, or the reverse.
    Probe,
    /// The verdicts (allowed with status, body and readable headers, or
    /// blocked) differ.
    Verdict,
    /// What reached the server in the engine does not match what the
    /// model's verdict implies (a preflight, the actual request).
    ImpliedWire,
    /// What reached the server differs, request by request.
    Wire,
}

/// The model (`corsair::browser::Browser` with the engine's profile) and
/// `corsair probe --browser ENGINE` do not follow every engine yet: each
/// entry is a scenario where they are known to
/// disagree with a real engine, and how. The test fails when a scenario
/// disagrees in any other way, and also when a listed one agrees (remove it
/// from here then).
const KNOWN_GAPS: &[(Engine, &str, &[Gap])] = &[];

/// The browser model for `engine`, on `page`.
fn model(engine: Engine, page: &str) -> Model {
    Model::new(page).unwrap().with_engine(engine)
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

per_engine!(the_engine_and_the_model_agree);

async fn the_engine_and_the_model_agree(engine: Engine) {
    let started = Instant::now();
    let scenarios = scenarios();
    assert!(scenarios.len() >= 40, "{} scenarios", scenarios.len());
    for (known, name, _) in KNOWN_GAPS {
        assert!(
            scenarios.iter().any(|scenario| scenario.name == *name),
            "KNOWN_GAPS names {name:?} ({known}), which is no scenario"
        );
    }

    // One API server for every scenario, each under /s/NN; the model gets
    // the same router, with a log of its own.
    let real_wire = RequestLog::new();
    let model_wire = RequestLog::new();
    let mut api = None;
    let (sites, browser) = tokio::join!(
        Sites::start(|origins| {
            let mut router = Router::new();
            for (i, scenario) in scenarios.iter().enumerate() {
                let body = format!("body of scenario {i:02}");
                router = router.nest(
                    &format!("/s/{i:02}"),
                    scenario.server.router(&origins.page, body),
                );
            }
            api = Some(router.clone());
            Ok(router.layer(real_wire.clone()))
        }),
        Browser::launch_engine(engine),
    );
    let (sites, browser) = (sites.unwrap(), browser.unwrap());
    let mut model_api = api.unwrap().layer(model_wire.clone());
    let page = sites.origins().page.clone();
    browser.open(&page).await.unwrap();
    let mut prober = HttpServer::new(std::time::Duration::from_secs(10)).unwrap();
    let launched = started.elapsed();
    let product = engine.product();

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut gaps_seen: Vec<(String, Vec<Gap>)> = Vec::new();
    for (i, scenario) in scenarios.iter().enumerate() {
        let prefix = format!("/s/{i:02}/");
        let url = sites.api_url(&format!("{prefix}r"));

        let probe = browser
            .probe(
                SCRIPT,
                vec![json!(url), scenario.request.to_json(), json!(READ)],
            )
            .await
            .unwrap_or_else(|error| panic!("{}: the script failed: {error:#}", scenario.name));
        let real_says = real_verdict(&probe, scenario.request.api);

        let mut model = model(engine, &page);
        let result = model
            .fetch(&mut model_api, scenario.request.to_model(&url))
            .await;
        let (model_says, reason) = model_verdict(&result);

        let on_wire = |log: &RequestLog| -> Vec<String> {
            log.lines()
                .into_iter()
                .filter(|line| line.contains(&prefix))
                .collect()
        };
        let real_lines = on_wire(&real_wire);
        let model_lines = on_wire(&model_wire);

        // `corsair probe` plays the same request over the network, after
        // the engine's wire was read (its requests must not mix with them).
        let client = match scenario.request.api {
            Api::Fetch => Client::Fetch,
            Api::Xhr => Client::XmlHttpRequest,
        };
        // `corsair probe --browser ENGINE` plays it so.
        let probed = play_in_each(
            &[engine],
            &Page::new(&page).unwrap(),
            &scenario.request.to_model(&url).client(client),
            &mut prober,
        )
        .await
        .unwrap_or_else(|error| panic!("{}: the probe failed: {error}", scenario.name))
        .remove(0);
        // What the model's verdict implies reached the server: a preflight
        // when it sent one, and the actual request unless it was refused
        // before sending or at the preflight.
        let implied_preflight = model.preflights_sent() > 0;
        let implied_actual = match &reason {
            None => matches!(model_says, Verdict::Allowed { .. }),
            Some(blocked) => !blocked.is_preflight() && !blocked.is_type_error(),
        };

        let mut gaps = Vec::new();
        let mut problems = Vec::new();
        let real_allowed = matches!(real_says, Verdict::Allowed { .. });
        if probed.allowed() != real_allowed {
            gaps.push(Gap::Probe);
            problems.push(format!(
                "corsair probe says {} where {product} says {real_says:?}",
                if probed.allowed() {
                    "allowed"
                } else {
                    "blocked"
                }
            ));
        }
        if real_says != model_says {
            gaps.push(Gap::Verdict);
            problems.push(format!(
                "verdicts differ:\n      {product}: {real_says:?}\n      model:    {model_says:?}"
            ));
        }
        let real_preflight = real_lines.iter().any(|l| l.starts_with("OPTIONS "));
        let real_actual = real_lines.iter().any(|l| !l.starts_with("OPTIONS "));
        if (real_preflight, real_actual) != (implied_preflight, implied_actual) {
            gaps.push(Gap::ImpliedWire);
            problems.push(format!(
                "{product}'s wire {real_lines:?} does not match the model's verdict \
                 (preflight sent: {implied_preflight}, actual request sent: {implied_actual})"
            ));
        }
        if real_lines != model_lines {
            gaps.push(Gap::Wire);
            problems.push(format!(
                "wire differs:\n      {product}: {real_lines:?}\n      model:    {model_lines:?}"
            ));
        }
        let known: Option<&[Gap]> = KNOWN_GAPS
            .iter()
            .find(|(known, name, _)| *known == engine && *name == scenario.name)
            .map(|(_, _, gaps)| *gaps);
        let expected = match scenario.expect_in(engine) {
            Expect::Allowed => matches!(real_says, Verdict::Allowed { .. }),
            Expect::Blocked => real_says == Verdict::Blocked,
        };
        let mut failed = Vec::new();
        if !expected {
            failed.push(format!(
                "{product} did not do what the scenario expects ({:?})",
                scenario.expect_in(engine)
            ));
        }
        match known {
            Some(known) if known == gaps.as_slice() => {}
            Some(known) => failed.push(format!(
                "KNOWN_GAPS lists {known:?} for {product}, but it disagrees in {gaps:?}{}",
                if problems.is_empty() {
                    String::new()
                } else {
                    format!(":\n    {}", problems.join("\n    "))
                }
            )),
            None => failed.extend(problems.iter().cloned()),
        }
        if !gaps.is_empty() {
            gaps_seen.push((scenario.name.to_owned(), gaps.clone()));
        }

        let readable = |verdict: &Verdict| match verdict {
            Verdict::Allowed { .. } => format!(" [{}]", verdict.readable()),
            _ => String::new(),
        };
        let model_text = match &reason {
            Some(blocked) => format!(
                "blocked: {}",
                format!("{blocked:?}").replace(&page, "{origin}")
            ),
            None => format!("{}{}", model_says.short(), readable(&model_says)),
        };
        if !failed.is_empty() {
            failures.push(format!(
                "{i:02} {} ({}):\n    {}",
                scenario.name,
                scenario.request.describe(),
                failed.join("\n    ")
            ));
        }
        rows.push(Row {
            name: scenario.name.to_owned(),
            real: format!("{}{}", real_says.short(), readable(&real_says)),
            model: model_text,
            wire: format!(
                "{}/{}",
                wire_summary(&real_lines),
                wire_summary(&model_lines)
            ),
            agree: match (failed.is_empty(), gaps.is_empty()) {
                (false, _) => "FAIL".to_owned(),
                (true, true) => "yes".to_owned(),
                (true, false) => format!("known gap {gaps:?}"),
            },
        });
    }
    let version = browser.version().to_owned();
    browser.close().await.unwrap();

    println!(
        "\n{product} {version}: {} scenarios (wire: what reached the server in {product} / through \
         the model; P = preflight, A = actual request)\n",
        scenarios.len()
    );
    println!("{}", table(engine, &rows));
    println!("disagreements with the model in {product} (for KNOWN_GAPS):");
    for (name, gaps) in &gaps_seen {
        let gaps: Vec<String> = gaps.iter().map(|gap| format!("Gap::{gap:?}")).collect();
        println!(
            "    (Engine::{engine:?}, {name:?}, &[{}]),",
            gaps.join(", ")
        );
    }
    println!(
        "{product} ready in {:.1?}; all scenarios in {:.1?}",
        launched,
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} scenarios fail in {product}:\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n")
    );
}
