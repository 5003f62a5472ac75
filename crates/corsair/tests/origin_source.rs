//! Dynamic origin sources through the tower layer: asked only about the
//! origins the lists do not name, after the policy's own rules; answers
//! kept within bounds; one lookup for a burst; a slow source times out
//! without stalling other requests; a failing one refuses; a flood of new
//! origins cannot queue work; cross-origin protection waits for the answer
//! before the application runs.

#![cfg(feature = "origin-source")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corsair::config::{Config, OriginSourceConfig};
use corsair::origin::source::{self, Lookup, OriginSource, SourceError};
use corsair::{Cors, CorsBuilder};
use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, VARY};
use http::{Request, Response, StatusCode};
use tower::{Layer, Service, ServiceExt, service_fn};

const LISTED: &str = "https://app.example.com";
const TENANT: &str = "https://shop.tenant.example";
const STRANGER: &str = "https://evil.example";

/// A source that counts its lookups, answers after `delay` (or never, for
/// `None`), allowing the origins under `.tenant.example` and failing for
/// those under `.broken.example`.
#[derive(Clone)]
struct Tenants {
    asked: Arc<AtomicUsize>,
    delay: Option<Duration>,
}

impl Tenants {
    fn new(delay: Option<Duration>) -> Self {
        Tenants {
            asked: Arc::default(),
            delay,
        }
    }

    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

impl OriginSource for Tenants {
    fn lookup(&self, origin: &str) -> Lookup {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let origin = origin.to_owned();
        let delay = self.delay;
        Lookup::Pending(Box::pin(async move {
            match delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => std::future::pending::<()>().await,
            }
            if origin.ends_with(".broken.example") {
                return Err(SourceError::new("the tenants database is down"));
            }
            Ok(origin.ends_with(".tenant.example"))
        }))
    }
}

fn settings() -> OriginSourceConfig {
    OriginSourceConfig {
        timeout: Duration::from_millis(500),
        ..OriginSourceConfig::default()
    }
}

fn builder(settings: OriginSourceConfig) -> CorsBuilder {
    CorsBuilder::from(Config {
        allow_origins: vec![LISTED.into()],
        allow_credentials: true,
        allow_methods: vec!["PUT".into()],
        origin_source: Some(settings),
        ..Config::default()
    })
}

/// The application: counts its calls.
fn app(
    calls: &Arc<AtomicUsize>,
) -> impl Service<Request<()>, Response = Response<String>, Error = Infallible, Future: Send> + Clone
{
    let calls = Arc::clone(calls);
    service_fn(move |_: Request<()>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new("ok".to_owned())) }
    })
}

fn get(origin: &str) -> Request<()> {
    Request::get("/items")
        .header("origin", origin)
        .body(())
        .unwrap()
}

fn preflight(origin: &str) -> Request<()> {
    Request::options("/items")
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .body(())
        .unwrap()
}

/// A form `POST` from another site, which cross-origin protection refuses
/// unless the origin is allowed.
fn cross_site_post(origin: &str) -> Request<()> {
    Request::post("https://api.example.com/items")
        .header("origin", origin)
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(())
        .unwrap()
}

fn allow_origin(response: &Response<String>) -> Option<&str> {
    response
        .headers()
        .get(ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|value| value.to_str().unwrap())
}

async fn send(cors: &Cors, calls: &Arc<AtomicUsize>, request: Request<()>) -> Response<String> {
    cors.clone()
        .layer(app(calls))
        .oneshot(request)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_source_answers_for_the_origins_the_list_does_not_name() {
    let tenants = Tenants::new(Some(Duration::ZERO));
    let cors = builder(settings())
        .origin_source(tenants.clone())
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));

    // Listed: the source is not asked.
    let response = send(&cors, &calls, get(LISTED)).await;
    assert_eq!(allow_origin(&response), Some(LISTED));
    assert_eq!(tenants.asked(), 0);

    // A tenant: asked once, then kept.
    let response = send(&cors, &calls, get(TENANT)).await;
    assert_eq!(allow_origin(&response), Some(TENANT));
    assert_eq!(response.headers()[VARY], "Origin");
    let response = send(&cors, &calls, preflight(TENANT)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(allow_origin(&response), Some(TENANT));
    assert_eq!(tenants.asked(), 1);

    // A stranger: asked once, refused, kept refused; the application still
    // serves the actual request (CORS only hides the answer).
    let response = send(&cors, &calls, get(STRANGER)).await;
    assert_eq!(allow_origin(&response), None);
    assert_eq!(response.headers()[VARY], "Origin");
    let response = send(&cors, &calls, preflight(STRANGER)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(tenants.asked(), 2);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "the three GETs reached the app"
    );

    let stats = cors.policy().origin_source_stats().unwrap();
    assert_eq!((stats.lookups, stats.kept, stats.running), (2, 2, 0));
}

#[tokio::test]
async fn the_policys_rules_come_before_the_source() {
    let tenants = Tenants::new(Some(Duration::ZERO));
    let cors = builder(settings())
        .origin_source(tenants.clone())
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    for origin in [
        "null",
        "https://Shop.tenant.example",
        "https://shop.tenant.example/",
        // With credentials, a plain-http origin a network attacker can
        // impersonate.
        "http://shop.tenant.example",
    ] {
        let response = send(&cors, &calls, preflight(origin)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
    }
    assert_eq!(tenants.asked(), 0, "the source was asked");

    // The dangerously_ flag lets plain http through to the source.
    let cors = CorsBuilder::from(Config {
        dangerously_allow_insecure_origins: true,
        ..builder(settings()).into_config()
    })
    .origin_source(tenants.clone())
    .build()
    .unwrap();
    let response = send(&cors, &calls, preflight("http://shop.tenant.example")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(tenants.asked(), 1);
}

#[tokio::test]
async fn a_burst_from_one_new_origin_makes_one_lookup() {
    let tenants = Tenants::new(Some(Duration::from_millis(50)));
    let cors = builder(settings())
        .origin_source(tenants.clone())
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let requests = (0..100).map(|n| {
        let (cors, calls) = (cors.clone(), Arc::clone(&calls));
        tokio::spawn(async move {
            let request = if n % 2 == 0 {
                get(TENANT)
            } else {
                preflight(TENANT)
            };
            send(&cors, &calls, request).await
        })
    });
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(allow_origin(&response.unwrap()), Some(TENANT));
    }
    assert_eq!(tenants.asked(), 1);
}

#[tokio::test]
async fn a_slow_source_times_out_refuses_and_stalls_no_one_else() {
    let tenants = Tenants::new(None);
    let cors = builder(OriginSourceConfig {
        timeout: Duration::from_millis(200),
        ..settings()
    })
    .origin_source(tenants.clone())
    .build()
    .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));

    let slow = tokio::spawn({
        let (cors, calls) = (cors.clone(), Arc::clone(&calls));
        async move { send(&cors, &calls, preflight(TENANT)).await }
    });
    // While the source hangs, a listed origin and a known answer go by.
    tokio::task::yield_now().await;
    let listed = send(&cors, &calls, preflight(LISTED)).await;
    assert_eq!(listed.status(), StatusCode::NO_CONTENT);
    assert!(!slow.is_finished(), "the slow lookup ended early");

    let slow = slow.await.unwrap();
    assert_eq!(slow.status(), StatusCode::FORBIDDEN);
    let stats = cors.policy().origin_source_stats().unwrap();
    assert_eq!((stats.timed_out, stats.running), (1, 0));
    // Kept as a failure for a while: not asked again at once.
    let again = send(&cors, &calls, preflight(TENANT)).await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert_eq!(tenants.asked(), 1);
}

#[tokio::test]
async fn a_failing_source_refuses_and_is_not_asked_again_at_once() {
    let tenants = Tenants::new(Some(Duration::ZERO));
    let cors = builder(settings())
        .origin_source(tenants.clone())
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let response = send(&cors, &calls, get("https://shop.broken.example")).await;
        assert_eq!(allow_origin(&response), None);
    }
    assert_eq!(tenants.asked(), 1);
    assert_eq!(cors.policy().origin_source_stats().unwrap().failed, 1);
}

#[tokio::test]
async fn a_flood_of_new_origins_is_bounded_in_lookups_and_memory() {
    let tenants = Tenants::new(Some(Duration::from_millis(100)));
    let cors = builder(OriginSourceConfig {
        max_lookups: 8,
        capacity: 64,
        ..settings()
    })
    .origin_source(tenants.clone())
    .build()
    .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let requests = (0..400).map(|n| {
        let (cors, calls) = (cors.clone(), Arc::clone(&calls));
        tokio::spawn(async move {
            send(
                &cors,
                &calls,
                preflight(&format!("https://n{n}.tenant.example")),
            )
            .await
        })
    });
    let mut allowed = 0;
    for response in futures_util::future::join_all(requests).await {
        let response = response.unwrap();
        allowed += usize::from(response.status() == StatusCode::NO_CONTENT);
        let stats = cors.policy().origin_source_stats().unwrap();
        assert!(stats.running <= 8, "{stats:?}");
        assert!(stats.kept <= 64, "{stats:?}");
    }
    let stats = cors.policy().origin_source_stats().unwrap();
    assert_eq!(tenants.asked() as u64, stats.lookups);
    assert!(stats.lookups <= 400 && stats.lookups >= 8, "{stats:?}");
    assert_eq!(stats.overloaded + stats.lookups, 400, "{stats:?}");
    assert_eq!(allowed as u64, stats.allowed, "{stats:?}");

    // Sequential new origins fill the table only up to its capacity.
    let cors = builder(OriginSourceConfig {
        capacity: 64,
        ..settings()
    })
    .origin_source(Tenants::new(Some(Duration::ZERO)))
    .build()
    .unwrap();
    for n in 0..200 {
        send(&cors, &calls, get(&format!("https://m{n}.tenant.example"))).await;
        assert!(cors.policy().origin_source_stats().unwrap().kept <= 64);
    }
}

#[tokio::test]
async fn cross_origin_protection_waits_for_the_source_before_the_application() {
    let tenants = Tenants::new(Some(Duration::from_millis(20)));
    let cors = CorsBuilder::from(Config {
        cross_origin_protection: true,
        ..builder(settings()).into_config()
    })
    .origin_source(tenants.clone())
    .build()
    .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));

    // A stranger's cross-site form POST never reaches the application.
    let response = send(&cors, &calls, cross_site_post(STRANGER)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // A tenant's does, once the source allowed it, with its CORS headers.
    let response = send(&cors, &calls, cross_site_post(TENANT)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(allow_origin(&response), Some(TENANT));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(tenants.asked(), 2);
}

#[tokio::test]
async fn a_ready_source_is_asked_every_time_and_nothing_is_kept() {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let cors = builder(settings())
        .origin_source(source::from_fn(move |origin| {
            counter.fetch_add(1, Ordering::SeqCst);
            origin.ends_with(".tenant.example")
        }))
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let response = send(&cors, &calls, get(TENANT)).await;
        assert_eq!(allow_origin(&response), Some(TENANT));
    }
    assert_eq!(asked.load(Ordering::SeqCst), 3);
    assert_eq!(cors.policy().origin_source_stats().unwrap().kept, 0);
}

#[tokio::test]
async fn an_async_fn_source_and_a_reconfiguration_that_keeps_it() {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let cors = builder(settings())
        .origin_source(source::from_async_fn(move |origin: String| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, std::io::Error>(origin == TENANT) }
        }))
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    assert_eq!(
        allow_origin(&send(&cors, &calls, get(TENANT)).await),
        Some(TENANT)
    );

    // The same settings: the source and what it answered stay.
    cors.reconfigure(Config {
        allow_methods: vec!["PUT".into(), "PATCH".into()],
        ..builder(settings()).into_config()
    })
    .unwrap();
    assert_eq!(
        allow_origin(&send(&cors, &calls, get(TENANT)).await),
        Some(TENANT)
    );
    assert_eq!(asked.load(Ordering::SeqCst), 1);

    // Other settings: the same source, asked afresh.
    cors.reconfigure(
        builder(OriginSourceConfig {
            ttl: Duration::from_secs(1),
            ..settings()
        })
        .into_config(),
    )
    .unwrap();
    assert_eq!(
        allow_origin(&send(&cors, &calls, get(TENANT)).await),
        Some(TENANT)
    );
    assert_eq!(asked.load(Ordering::SeqCst), 2);
}

#[test]
fn origin_source_settings_are_checked() {
    let error = Cors::new(Config {
        origin_source: Some(OriginSourceConfig {
            ttl: Duration::ZERO,
            timeout: Duration::ZERO,
            capacity: 0,
            max_lookups: 0,
            ..OriginSourceConfig::default()
        }),
        ..Config::default()
    })
    .unwrap_err();
    let fields: Vec<String> = error.problems().iter().map(|p| p.field()).collect();
    assert_eq!(
        fields,
        [
            "origin_source.ttl",
            "origin_source.timeout",
            "origin_source.capacity",
            "origin_source.max_lookups"
        ]
    );
    // With a source, allow_origins may be empty.
    assert!(
        Cors::new(Config {
            origin_source: Some(OriginSourceConfig::default()),
            ..Config::default()
        })
        .is_ok()
    );
}

mod equivalence {
    //! The property: origins a source allows are answered exactly as the
    //! same origins listed in `allow_origins` (status, every CORS header,
    //! whether the application ran), for preflights, actual requests and
    //! cross-origin protection alike, with credentials or without.

    use proptest::prelude::*;
    use proptest::sample::{select, subsequence};

    use super::*;

    /// Origins a request may come from; the source (or the list) allows a
    /// subset of the secure ones.
    const UNIVERSE: [&str; 6] = [
        "https://a.tenant.example",
        "https://b.tenant.example",
        "https://c.example:8443",
        "http://localhost:3000",
        "http://plain.example",
        "null",
    ];

    #[derive(Clone, Debug)]
    struct Case {
        allowed: Vec<&'static str>,
        credentials: bool,
        protection: bool,
        method: &'static str,
        origin: Option<&'static str>,
        requested: Option<&'static str>,
        site: Option<&'static str>,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            subsequence(&UNIVERSE[..4], 0..=4),
            any::<bool>(),
            any::<bool>(),
            select(&["GET", "POST", "DELETE", "OPTIONS"][..]),
            proptest::option::weighted(0.9, select(&UNIVERSE[..])),
            proptest::option::of(select(&["PUT", "DELETE", "GET"][..])),
            proptest::option::of(select(&["cross-site", "same-site", "same-origin"][..])),
        )
            .prop_map(
                |(allowed, credentials, protection, method, origin, requested, site)| Case {
                    allowed,
                    credentials,
                    protection,
                    method,
                    origin,
                    requested,
                    site,
                },
            )
    }

    /// What a client sees of an answer: status, the CORS headers, and
    /// whether the application ran.
    type Seen = (u16, Vec<(String, String)>, usize);

    async fn seen(cors: &Cors, case: &Case) -> Seen {
        let mut request = Request::builder()
            .method(case.method)
            .uri("https://api.example.com/items");
        if let Some(origin) = case.origin {
            request = request.header("origin", origin);
        }
        if let Some(requested) = case.requested {
            request = request.header("access-control-request-method", requested);
        }
        if let Some(site) = case.site {
            request = request.header("sec-fetch-site", site);
        }
        let calls = Arc::new(AtomicUsize::new(0));
        let response = send(cors, &calls, request.body(()).unwrap()).await;
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("access-control-") || *name == VARY)
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        headers.sort();
        (
            response.status().as_u16(),
            headers,
            calls.load(Ordering::SeqCst),
        )
    }

    fn config(case: &Case, listed: &[&str]) -> Config {
        Config {
            allow_origins: std::iter::once("https://app.example.com")
                .chain(listed.iter().copied())
                .map(String::from)
                .collect(),
            allow_credentials: case.credentials,
            allow_methods: vec!["PUT".into()],
            cross_origin_protection: case.protection,
            ..Config::default()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_source_answers_as_the_list_would(case in case()) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            let listed = Cors::new(config(&case, &case.allowed)).unwrap();
            let allowed: Vec<String> = case.allowed.iter().map(|o| (*o).to_owned()).collect();
            let sourced = CorsBuilder::from(config(&case, &[]))
                .origin_source(source::from_async_fn(move |origin: String| {
                    let allowed = allowed.contains(&origin);
                    async move { Ok::<_, std::io::Error>(allowed) }
                }))
                .build()
                .unwrap();
            let (expected, got) = runtime.block_on(async {
                (seen(&listed, &case).await, seen(&sourced, &case).await)
            });
            prop_assert_eq!(got, expected, "{:?}", case);
        }
    }
}
