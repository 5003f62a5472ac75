//! Reconfiguration: a policy swapped while requests are being served is seen
//! whole by every request (never a mix of two policies), by every clone of
//! `Cors` and by services already built; a refused configuration leaves the
//! policy in force.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use corsair::{Config, ConfigProblem, Cors};
use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, VARY};
use http::{HeaderValue, Request, Response, StatusCode};
use tokio::sync::Barrier;
use tower::{Layer, Service, ServiceExt, service_fn};

const ORIGIN: &str = "https://app.example.com";

fn strings<const N: usize>(values: [&str; N]) -> Vec<String> {
    values.map(String::from).to_vec()
}

/// Policy A: a listed, credentialed policy.
fn config_a() -> Config {
    Config {
        allow_origins: strings([ORIGIN, "https://admin.example.com"]),
        allow_credentials: true,
        allow_methods: strings(["PUT", "PATCH"]),
        allow_headers: strings(["content-type", "x-a"]),
        expose_headers: strings(["x-a-id"]),
        max_age: Some(600),
        ..Config::default()
    }
}

/// Policy B: any origin, no credentials, and different lists. It allows the
/// same two requests as A, but every header of its answers differs.
fn config_b() -> Config {
    Config {
        allow_origins: strings(["*"]),
        allow_credentials: false,
        allow_methods: strings(["PUT", "DELETE"]),
        allow_headers: strings(["content-type", "x-b"]),
        expose_headers: strings(["x-b-id", "x-b-version"]),
        max_age: Some(60),
        ..Config::default()
    }
}

/// Refused: credentials with `*`, and a `max_age` above a day.
fn invalid_config() -> Config {
    Config {
        allow_origins: strings(["*"]),
        allow_credentials: true,
        max_age: Some(100_000),
        ..Config::default()
    }
}

/// A response reduced to what a client sees: status, every header (names
/// sorted, values in order) and body.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    status: StatusCode,
    headers: Vec<(String, Vec<String>)>,
    body: String,
}

impl Seen {
    fn new(status: StatusCode, headers: &[(&str, &[&str])], body: &str) -> Self {
        let mut headers: Vec<(String, Vec<String>)> = headers
            .iter()
            .map(|(name, values)| {
                (
                    (*name).to_owned(),
                    values.iter().map(|value| (*value).to_owned()).collect(),
                )
            })
            .collect();
        headers.sort();
        Seen {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn of(response: Response<String>) -> Self {
        let (parts, body) = response.into_parts();
        let mut headers: Vec<(String, Vec<String>)> = parts
            .headers
            .keys()
            .map(|name| {
                let values = parts
                    .headers
                    .get_all(name)
                    .iter()
                    .map(|value| value.to_str().unwrap().to_owned())
                    .collect();
                (name.as_str().to_owned(), values)
            })
            .collect();
        headers.sort();
        Seen {
            status: parts.status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&[String]> {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, values)| values.as_slice())
    }
}

/// The four answers: the preflight and the actual request, under A and B.
struct Expected {
    preflight_a: Seen,
    preflight_b: Seen,
    actual_a: Seen,
    actual_b: Seen,
}

impl Expected {
    fn new() -> Self {
        let expected = Expected {
            preflight_a: Seen::new(
                StatusCode::NO_CONTENT,
                &[
                    (
                        "vary",
                        &["Origin, Access-Control-Request-Method, Access-Control-Request-Headers"],
                    ),
                    ("access-control-allow-origin", &[ORIGIN]),
                    ("access-control-allow-credentials", &["true"]),
                    ("access-control-allow-methods", &["PUT, PATCH"]),
                    ("access-control-allow-headers", &["content-type, x-a"]),
                    ("access-control-max-age", &["600"]),
                ],
                "",
            ),
            preflight_b: Seen::new(
                StatusCode::NO_CONTENT,
                &[
                    (
                        "vary",
                        &["Access-Control-Request-Method, Access-Control-Request-Headers"],
                    ),
                    ("access-control-allow-origin", &["*"]),
                    ("access-control-allow-methods", &["PUT, DELETE"]),
                    ("access-control-allow-headers", &["content-type, x-b"]),
                    ("access-control-max-age", &["60"]),
                ],
                "",
            ),
            actual_a: Seen::new(
                StatusCode::OK,
                &[
                    ("x-app", &["1"]),
                    ("vary", &["accept-encoding", "Origin"]),
                    ("access-control-allow-origin", &[ORIGIN]),
                    ("access-control-allow-credentials", &["true"]),
                    ("access-control-expose-headers", &["x-a-id"]),
                ],
                "app",
            ),
            actual_b: Seen::new(
                StatusCode::OK,
                &[
                    ("x-app", &["1"]),
                    ("vary", &["accept-encoding"]),
                    ("access-control-allow-origin", &["*"]),
                    ("access-control-expose-headers", &["x-b-id, x-b-version"]),
                ],
                "app",
            ),
        };
        // A and B differ in every CORS header they send, and in Vary.
        for name in [
            "vary",
            "access-control-allow-origin",
            "access-control-allow-credentials",
            "access-control-allow-methods",
            "access-control-allow-headers",
            "access-control-max-age",
        ] {
            assert_ne!(
                expected.preflight_a.header(name),
                expected.preflight_b.header(name),
                "{name}"
            );
        }
        for name in [
            "vary",
            "access-control-allow-origin",
            "access-control-allow-credentials",
            "access-control-expose-headers",
        ] {
            assert_ne!(
                expected.actual_a.header(name),
                expected.actual_b.header(name),
                "{name}"
            );
        }
        expected
    }
}

fn preflight_request() -> Request<()> {
    Request::options("/items/1")
        .header("origin", ORIGIN)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .body(())
        .unwrap()
}

fn actual_request() -> Request<()> {
    Request::get("/items/1")
        .header("origin", ORIGIN)
        .body(())
        .unwrap()
}

/// The application: counts its calls, sets its own `Vary`, and a stale CORS
/// header that the policy must replace.
fn app(
    calls: Arc<AtomicUsize>,
) -> impl Service<Request<()>, Response = Response<String>, Error = Infallible, Future: Send> + Clone
{
    service_fn(move |_request: Request<()>| {
        calls.fetch_add(1, Ordering::Relaxed);
        async move {
            let mut response = Response::new(String::from("app"));
            let headers = response.headers_mut();
            headers.insert("x-app", HeaderValue::from_static("1"));
            headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
            headers.insert(
                ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("https://stale.example"),
            );
            Ok::<_, Infallible>(response)
        }
    })
}

async fn send<S>(service: &S, request: Request<()>) -> Seen
where
    S: Service<Request<()>, Response = Response<String>, Error = Infallible> + Clone,
{
    Seen::of(service.clone().oneshot(request).await.unwrap())
}

#[tokio::test]
async fn both_policies_answer_as_expected() {
    let expected = Expected::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let cors = Cors::new(config_a()).unwrap();
    let service = cors.layer(app(calls.clone()));

    assert_eq!(
        send(&service, preflight_request()).await,
        expected.preflight_a
    );
    assert_eq!(send(&service, actual_request()).await, expected.actual_a);
    cors.reconfigure(config_b()).unwrap();
    assert_eq!(
        send(&service, preflight_request()).await,
        expected.preflight_b
    );
    assert_eq!(send(&service, actual_request()).await, expected.actual_b);
    // Preflights never reached the application.
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}

const WORKERS: usize = 8;
const SWAPS: usize = 4_000;

#[derive(Debug, Default)]
struct Tally {
    preflight_a: usize,
    preflight_b: usize,
    actual_a: usize,
    actual_b: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_see_one_whole_policy_or_the_other() {
    let expected = Arc::new(Expected::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let cors = Cors::new(config_a()).unwrap();
    let service = cors.layer(app(calls.clone()));
    let done = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(WORKERS + 1));

    let mut clients = Vec::new();
    for worker in 0..WORKERS {
        let service = service.clone();
        let expected = Arc::clone(&expected);
        let done = Arc::clone(&done);
        let answered = Arc::clone(&answered);
        let start = Arc::clone(&start);
        clients.push(tokio::spawn(async move {
            start.wait().await;
            let mut tally = Tally::default();
            let mut sent = 0usize;
            while !done.load(Ordering::Acquire) {
                let preflight = (sent + worker).is_multiple_of(2);
                let request = if preflight {
                    preflight_request()
                } else {
                    actual_request()
                };
                let seen = send(&service, request).await;
                let slot = if preflight {
                    if seen == expected.preflight_a {
                        &mut tally.preflight_a
                    } else if seen == expected.preflight_b {
                        &mut tally.preflight_b
                    } else {
                        panic!("a preflight answer that is neither A's nor B's: {seen:#?}");
                    }
                } else if seen == expected.actual_a {
                    &mut tally.actual_a
                } else if seen == expected.actual_b {
                    &mut tally.actual_b
                } else {
                    panic!("an actual response that is neither A's nor B's: {seen:#?}");
                };
                *slot += 1;
                sent += 1;
                answered.fetch_add(1, Ordering::Release);
                tokio::task::yield_now().await;
            }
            tally
        }));
    }

    let reconfigurer = {
        let cors = cors.clone();
        let answered = Arc::clone(&answered);
        let done = Arc::clone(&done);
        let start = Arc::clone(&start);
        tokio::spawn(async move {
            start.wait().await;
            let (a, b) = (config_a(), config_b());
            for swap in 0..SWAPS {
                let next = if swap.is_multiple_of(2) { &b } else { &a };
                cors.reconfigure(next.clone()).unwrap();
                if swap.is_multiple_of(50) {
                    // A refused configuration in the middle of the swaps
                    // changes nothing.
                    assert!(cors.reconfigure(invalid_config()).is_err());
                    assert_eq!(cors.policy().config(), next);
                }
                if swap.is_multiple_of(16) {
                    // Let requests through under this policy before the next
                    // swaps, so that both policies are really exercised.
                    let before = answered.load(Ordering::Acquire);
                    while answered.load(Ordering::Acquire) < before + WORKERS {
                        tokio::task::yield_now().await;
                    }
                } else {
                    tokio::task::yield_now().await;
                }
            }
            done.store(true, Ordering::Release);
        })
    };

    reconfigurer.await.unwrap();
    let mut total = Tally::default();
    for client in clients {
        let tally = client.await.unwrap();
        total.preflight_a += tally.preflight_a;
        total.preflight_b += tally.preflight_b;
        total.actual_a += tally.actual_a;
        total.actual_b += tally.actual_b;
    }
    eprintln!("responses seen: {total:?}");
    assert!(total.preflight_a > 0, "{total:?}");
    assert!(total.preflight_b > 0, "{total:?}");
    assert!(total.actual_a > 0, "{total:?}");
    assert!(total.actual_b > 0, "{total:?}");
    // Only actual requests reached the application.
    assert_eq!(
        calls.load(Ordering::Relaxed),
        total.actual_a + total.actual_b
    );
    // The last swap (odd) installed A.
    assert_eq!(cors.policy().config(), &config_a());
    assert_eq!(send(&service, actual_request()).await, expected.actual_a);
}

#[tokio::test]
async fn a_refused_configuration_leaves_the_policy_in_force() {
    let expected = Expected::new();
    let cors = Cors::new(config_a()).unwrap();
    let service = cors.layer(app(Arc::new(AtomicUsize::new(0))));

    for (config, preflight, actual) in [
        (config_a(), &expected.preflight_a, &expected.actual_a),
        (config_b(), &expected.preflight_b, &expected.actual_b),
    ] {
        cors.reconfigure(config.clone()).unwrap();

        let error = cors.reconfigure(invalid_config()).unwrap_err();
        assert_eq!(
            error.problems(),
            [
                ConfigProblem::AnyOriginWithCredentials { index: 0 },
                ConfigProblem::MaxAgeTooLarge { value: 100_000 },
            ]
        );
        assert!(cors.reconfigure(Config::default()).is_err());

        assert_eq!(cors.policy().config(), &config);
        assert_eq!(&send(&service, preflight_request()).await, preflight);
        assert_eq!(&send(&service, actual_request()).await, actual);
    }
}

#[tokio::test]
async fn every_clone_and_every_built_service_sees_a_reconfiguration() {
    let expected = Expected::new();
    let cors = Cors::new(config_a()).unwrap();
    let other = cors.clone();
    let service = cors.layer(app(Arc::new(AtomicUsize::new(0))));
    let service_of_other = other.layer(app(Arc::new(AtomicUsize::new(0))));
    // A Cors built separately from the same configuration is independent.
    let independent = Cors::new(config_a()).unwrap();
    let independent_service = independent.layer(app(Arc::new(AtomicUsize::new(0))));

    // Through the other clone...
    other.reconfigure(config_b()).unwrap();
    assert_eq!(cors.policy().config(), &config_b());
    assert_eq!(other.policy().config(), &config_b());
    assert_eq!(
        send(&service, preflight_request()).await,
        expected.preflight_b
    );
    assert_eq!(send(&service, actual_request()).await, expected.actual_b);
    assert_eq!(
        send(&service_of_other, actual_request()).await,
        expected.actual_b
    );

    // ...and back through the first.
    cors.reconfigure(config_a()).unwrap();
    assert_eq!(other.policy().config(), &config_a());
    assert_eq!(
        send(&service_of_other, preflight_request()).await,
        expected.preflight_a
    );
    assert_eq!(send(&service, actual_request()).await, expected.actual_a);

    // A clone of a built service shares the policy too.
    let cloned_service = service.clone();
    other.reconfigure(config_b()).unwrap();
    assert_eq!(
        send(&cloned_service, preflight_request()).await,
        expected.preflight_b
    );

    assert_eq!(independent.policy().config(), &config_a());
    assert_eq!(
        send(&independent_service, actual_request()).await,
        expected.actual_a
    );

    // A policy snapshot taken before a swap stays whole.
    let before = cors.policy();
    cors.reconfigure(config_a()).unwrap();
    assert_eq!(before.config(), &config_b());
    assert_eq!(cors.policy().config(), &config_a());
}

/// `set_debug` racing with `reconfigure` is never lost: a thread turns
/// debug mode on and off while another reconfigures in a loop; whatever
/// the interleaving, the flag in force at the end is the last one set.
#[test]
fn set_debug_is_never_lost_to_a_concurrent_reconfigure() {
    for round in 0..20 {
        let cors = Cors::new(config_a()).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let reconfigurer = {
            let cors = cors.clone();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    cors.reconfigure(config_a()).unwrap();
                }
            })
        };
        for n in 0..200 {
            cors.set_debug(n % 2 == 0);
        }
        let last = round % 2 == 0;
        cors.set_debug(last);
        stop.store(true, Ordering::Relaxed);
        reconfigurer.join().unwrap();
        assert_eq!(cors.policy().debug(), last, "round {round}");
    }
}
