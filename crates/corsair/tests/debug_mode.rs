#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Debug mode (`Cors::set_debug`), through both adapters: a refused preflight
//! says why in a `corsair-refusal` header (and, with actix-web, which owns
//! the body, in a `text/plain` body when it is a `403`); one refused for its
//! method or a header, from an allowed origin, is answered like an allowed
//! one listing only what the policy allows, so that the browser's console
//! names the method or header at fault; every decision is logged. Without
//! debug mode, nothing is added and only refusals are logged.

use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use corsair::{Config, Cors};
use http::{Request, Response};
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt, service_fn};

const APP: &str = "https://app.example.com";
const APP_BODY: &str = "the application's body";

/// A credentialed policy for one origin, allowing `PATCH` (not `PUT`) and
/// `content-type` (not `x-api-key`).
fn cors(debug: bool) -> Cors {
    let cors = Cors::new(Config {
        allow_origins: vec![APP.into()],
        allow_credentials: true,
        allow_methods: vec!["PATCH".into()],
        allow_headers: vec!["content-type".into()],
        ..Config::default()
    })
    .unwrap();
    cors.set_debug(debug);
    cors
}

/// A request, for either adapter.
struct Req {
    method: &'static str,
    headers: Vec<(&'static str, &'static str)>,
}

fn preflight(headers: &[(&'static str, &'static str)]) -> Req {
    Req {
        method: "OPTIONS",
        headers: headers.to_vec(),
    }
}

/// Refused preflights, the reason each must give, and whether debug mode
/// answers it for the console (the origin is allowed; the method or a
/// header is not).
fn refused_preflights() -> Vec<(Req, &'static str, bool)> {
    vec![
        (
            preflight(&[("origin", APP), ("access-control-request-method", "PUT")]),
            "method `PUT` not allowed",
            true,
        ),
        (
            preflight(&[
                ("origin", APP),
                ("access-control-request-method", "PATCH"),
                ("access-control-request-headers", "content-type, x-api-key"),
            ]),
            "header `x-api-key` not allowed",
            true,
        ),
        (
            preflight(&[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "PATCH"),
            ]),
            "origin not allowed",
            false,
        ),
        (
            preflight(&[
                ("origin", "null"),
                ("access-control-request-method", "PATCH"),
            ]),
            "origin `null` is never allowed",
            false,
        ),
        (
            preflight(&[
                ("origin", "https://APP.example.com"),
                ("access-control-request-method", "PATCH"),
            ]),
            "malformed origin: the Origin header's host is not a lowercase host name or IP address",
            false,
        ),
    ]
}

/// An allowed preflight, and actual requests allowed, refused and without
/// `Origin`: none of their answers may carry a reason.
fn unrefused_requests() -> Vec<Req> {
    vec![
        preflight(&[
            ("origin", APP),
            ("access-control-request-method", "PATCH"),
            ("access-control-request-headers", "content-type"),
        ]),
        Req {
            method: "GET",
            headers: vec![("origin", APP)],
        },
        Req {
            method: "POST",
            headers: vec![("origin", "https://evil.example")],
        },
        Req {
            method: "GET",
            headers: vec![],
        },
    ]
}

/// What an adapter answered.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// `(name, value)`, names lowercase.
    headers: Vec<(String, String)>,
    body: String,
    app_calls: usize,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        let value = values.next().map(|(_, value)| value.as_str());
        assert!(values.next().is_none(), "{name} is repeated: {self:?}");
        value
    }

    fn has_cors_headers(&self) -> bool {
        self.headers
            .iter()
            .any(|(name, _)| name.starts_with("access-control-"))
    }
}

async fn tower_send(cors: &Cors, req: &Req) -> Answer {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = {
        let calls = Arc::clone(&calls);
        service_fn(move |_: Request<()>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Response::new(String::from(APP_BODY))) }
        })
    };
    let mut request = Request::builder().method(req.method).uri("/items/1");
    for (name, value) in &req.headers {
        request = request.header(*name, *value);
    }
    let response = cors
        .layer(app)
        .oneshot(request.body(()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect(),
        body: String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap(),
        app_calls: calls.load(Ordering::SeqCst),
    }
}

#[cfg(feature = "actix")]
async fn actix_send(cors: &Cors, req: &Req) -> Answer {
    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use actix_web::{App, HttpResponse, http::Method, web};

    let calls = Arc::new(AtomicUsize::new(0));
    let app = {
        let calls = Arc::clone(&calls);
        init_service(
            App::new()
                .wrap(cors.clone())
                .default_service(web::to(move || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async { HttpResponse::Ok().body(APP_BODY) }
                })),
        )
        .await
    };
    let mut request = TestRequest::default()
        .method(Method::from_bytes(req.method.as_bytes()).unwrap())
        .uri("/items/1");
    for (name, value) in &req.headers {
        request = request.append_header((*name, *value));
    }
    let response = call_service(&app, request.to_request()).await;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    let body = String::from_utf8(read_body(response).await.to_vec()).unwrap();
    Answer {
        status,
        headers,
        body,
        app_calls: calls.load(Ordering::SeqCst),
    }
}

/// Runs a future to completion on the current thread, as tower would be
/// driven (the subscriber of `with_default` is this thread's).
fn block_on_tokio<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[cfg(feature = "actix")]
fn block_on_actix<T>(future: impl Future<Output = T>) -> T {
    actix_web::rt::System::new().block_on(future)
}

// ---------------------------------------------------------------------------
// The refusal header and body.

fn assert_refusal_said(answer: &Answer, reason: &str, explained: bool, adapter: &str) {
    assert_eq!(answer.app_calls, 0, "{adapter}, {reason}: app called");
    assert_eq!(
        answer.header("corsair-refusal"),
        Some(reason),
        "{adapter}: {answer:?}"
    );
    if explained {
        // Shaped as an allowed answer whose lists lack what was asked: the
        // browser refuses and says which method or header, not "no
        // Access-Control-Allow-Origin".
        assert_eq!(answer.status, 204, "{adapter}, {reason}: {answer:?}");
        assert_eq!(answer.header("access-control-allow-origin"), Some(APP));
        assert_eq!(
            answer.header("access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(answer.header("access-control-allow-methods"), Some("PATCH"));
        assert_eq!(
            answer.header("access-control-allow-headers"),
            Some("content-type")
        );
        assert_eq!(answer.header("access-control-max-age"), None, "not cached");
    } else {
        assert_eq!(answer.status, 403, "{adapter}, {reason}: {answer:?}");
        assert!(
            !answer.has_cors_headers(),
            "{adapter}, {reason}: a refused preflight has no CORS header: {answer:?}"
        );
    }
}

fn assert_nothing_said(answer: &Answer, adapter: &str) {
    assert_eq!(
        answer.header("corsair-refusal"),
        None,
        "{adapter}: {answer:?}"
    );
    let expected_body = if answer.app_calls == 1 { APP_BODY } else { "" };
    assert_eq!(answer.body, expected_body, "{adapter}: {answer:?}");
}

#[tokio::test]
async fn tower_refused_preflight_says_why_in_a_header_only() {
    let cors = cors(true);
    for (req, reason, explained) in refused_preflights() {
        let answer = tower_send(&cors, &req).await;
        assert_refusal_said(&answer, reason, explained, "tower");
        // The body type is the application's: the layer cannot write into it.
        assert_eq!(answer.body, "", "tower, {reason}");
    }
}

#[tokio::test]
async fn tower_unrefused_answers_carry_no_reason_in_debug_mode() {
    let cors = cors(true);
    let requests = unrefused_requests();
    let mut statuses = Vec::new();
    for req in &requests {
        let answer = tower_send(&cors, req).await;
        assert_nothing_said(&answer, "tower");
        statuses.push(answer.status);
    }
    assert_eq!(statuses, [204, 200, 200, 200]);
}

#[tokio::test]
async fn tower_debug_off_adds_nothing() {
    let toggled = cors(true);
    toggled.clone().set_debug(false);
    for cors in [cors(false), toggled] {
        for (req, reason, _) in refused_preflights() {
            let answer = tower_send(&cors, &req).await;
            assert_eq!(answer.status, 403, "tower, {reason}");
            assert_nothing_said(&answer, "tower");
        }
        for req in &unrefused_requests() {
            assert_nothing_said(&tower_send(&cors, req).await, "tower");
        }
    }
}

#[cfg(feature = "actix")]
#[actix_web::test]
async fn actix_refused_preflight_says_why_in_a_header_and_the_body() {
    let cors = cors(true);
    for (req, reason, explained) in refused_preflights() {
        let answer = actix_send(&cors, &req).await;
        assert_refusal_said(&answer, reason, explained, "actix");
        if explained {
            assert_eq!(answer.body, "", "actix: a 204 has no body: {answer:?}");
        } else {
            assert_eq!(answer.body, reason, "actix: {answer:?}");
            assert_eq!(
                answer.header("content-type"),
                Some("text/plain; charset=utf-8"),
                "actix: {answer:?}"
            );
        }
    }
}

#[cfg(feature = "actix")]
#[actix_web::test]
async fn actix_unrefused_answers_carry_no_reason_in_debug_mode() {
    let cors = cors(true);
    let requests = unrefused_requests();
    let mut statuses = Vec::new();
    for req in &requests {
        let answer = actix_send(&cors, req).await;
        assert_nothing_said(&answer, "actix");
        statuses.push(answer.status);
    }
    assert_eq!(statuses, [204, 200, 200, 200]);
}

#[cfg(feature = "actix")]
#[actix_web::test]
async fn actix_debug_off_adds_nothing() {
    let toggled = cors(true);
    toggled.clone().set_debug(false);
    for cors in [cors(false), toggled] {
        for (req, reason, _) in refused_preflights() {
            let answer = actix_send(&cors, &req).await;
            assert_eq!(answer.status, 403, "actix, {reason}");
            assert_nothing_said(&answer, "actix");
            assert_eq!(answer.header("content-type"), None, "actix: {answer:?}");
        }
        for req in &unrefused_requests() {
            assert_nothing_said(&actix_send(&cors, req).await, "actix");
        }
    }
}

// ---------------------------------------------------------------------------
// Logs.

/// A log sink shared with the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a subscriber that records every event (`TRACE` and up)
/// of this thread, and returns the lines logged.
fn capture(f: impl FnOnce()) -> Vec<String> {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = captured.0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// One request of each decision, and what its debug-mode log line says.
struct Decision {
    req: Req,
    /// `origin=`, `method=`, `requested_method=`, `requested_headers=` and
    /// `outcome=` fields, in the order logged.
    fields: [&'static str; 5],
    /// The line logged without debug mode, for refusals.
    refusal: Option<&'static str>,
}

fn decisions() -> Vec<Decision> {
    vec![
        Decision {
            req: preflight(&[
                ("origin", APP),
                ("access-control-request-method", "PATCH"),
                ("access-control-request-headers", "content-type"),
            ]),
            fields: [
                "method=\"OPTIONS\"",
                "origin=https://app.example.com",
                "requested_method=PATCH",
                "requested_headers=content-type",
                "outcome=preflight allowed",
            ],
            refusal: None,
        },
        Decision {
            req: preflight(&[
                ("origin", APP),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "x-api-key"),
            ]),
            fields: [
                "method=\"OPTIONS\"",
                "origin=https://app.example.com",
                "requested_method=PUT",
                "requested_headers=x-api-key",
                "outcome=preflight refused: method `PUT` not allowed",
            ],
            refusal: Some(
                "preflight=true method=\"OPTIONS\" origin=https://app.example.com \
                 reason=method `PUT` not allowed",
            ),
        },
        Decision {
            req: Req {
                method: "POST",
                headers: vec![("origin", APP)],
            },
            fields: [
                "method=\"POST\"",
                "origin=https://app.example.com",
                "requested_method=",
                "requested_headers=",
                "outcome=actual request allowed",
            ],
            refusal: None,
        },
        Decision {
            req: Req {
                method: "GET",
                headers: vec![("origin", "https://evil.example")],
            },
            fields: [
                "method=\"GET\"",
                "origin=https://evil.example",
                "requested_method=",
                "requested_headers=",
                "outcome=actual request refused: origin not allowed",
            ],
            refusal: Some(
                "preflight=false method=\"GET\" origin=https://evil.example \
                 reason=origin not allowed",
            ),
        },
        Decision {
            req: Req {
                method: "GET",
                headers: vec![],
            },
            fields: [
                "method=\"GET\"",
                "origin=",
                "requested_method=",
                "requested_headers=",
                "outcome=no Origin: not a CORS request",
            ],
            refusal: None,
        },
    ]
}

fn assert_every_decision_logged(lines: &[String], adapter: &str) {
    let decisions = decisions();
    assert_eq!(
        lines.len(),
        decisions.len(),
        "{adapter}: one line per decision, got {lines:#?}"
    );
    for (line, decision) in lines.iter().zip(&decisions) {
        let expected = format!("DEBUG corsair: CORS decision {}", decision.fields.join(" "));
        assert_eq!(line.trim_start(), expected, "{adapter}");
    }
}

fn assert_only_refusals_logged(lines: &[String], adapter: &str) {
    let expected: Vec<String> = decisions()
        .iter()
        .filter_map(|decision| decision.refusal)
        .map(|fields| format!("DEBUG corsair: CORS request refused {fields}"))
        .collect();
    let lines: Vec<&str> = lines.iter().map(|line| line.trim_start()).collect();
    assert_eq!(lines, expected, "{adapter}");
}

#[test]
fn tower_debug_mode_logs_every_decision() {
    let cors = cors(true);
    let lines = capture(|| {
        block_on_tokio(async {
            for decision in decisions() {
                tower_send(&cors, &decision.req).await;
            }
        });
    });
    assert_every_decision_logged(&lines, "tower");
}

#[test]
fn tower_without_debug_mode_logs_refusals_only() {
    let cors = cors(false);
    let lines = capture(|| {
        block_on_tokio(async {
            for decision in decisions() {
                tower_send(&cors, &decision.req).await;
            }
        });
    });
    assert_only_refusals_logged(&lines, "tower");
}

#[cfg(feature = "actix")]
#[test]
fn actix_debug_mode_logs_every_decision() {
    let cors = cors(true);
    let lines = capture(|| {
        block_on_actix(async {
            for decision in decisions() {
                actix_send(&cors, &decision.req).await;
            }
        });
    });
    assert_every_decision_logged(&lines, "actix");
}

#[cfg(feature = "actix")]
#[test]
fn actix_without_debug_mode_logs_refusals_only() {
    let cors = cors(false);
    let lines = capture(|| {
        block_on_actix(async {
            for decision in decisions() {
                actix_send(&cors, &decision.req).await;
            }
        });
    });
    assert_only_refusals_logged(&lines, "actix");
}
