//! What corsair's tower layer adds to a request, next to tower-http's
//! `CorsLayer` configured for the same policy, measured in the same run.
//!
//! ```text
//! cargo bench -p corsair --bench overhead
//! cargo bench -p corsair --bench overhead -- --quick            # a rough look
//! cargo bench -p corsair --bench overhead -- preflight_allowed  # one group
//! ```
//!
//! The policy is the seed article's: one credentialed origin,
//! `https://app.example.com`, methods `GET POST PUT PATCH DELETE`, request
//! headers `accept, content-type`, `x-request-id` exposed, `max_age` 600.
//!
//! Each scenario is a group of functions over one trivial inner service
//! whose future is ready at once:
//! - `bare`: the inner service alone, the cost of the harness itself;
//! - `corsair`: the inner service behind `corsair::Cors`;
//! - `tower_http`: the inner service behind `tower_http::cors::CorsLayer`
//!   with `AllowOrigin::exact`, which sends its one origin to every request
//!   and leaves the comparison to the browser;
//! - `tower_http_list`: the same with `AllowOrigin::list`, which, like
//!   corsair, echoes the request's origin only when it is allowed.
//!
//! The overhead of a layer is its time minus `bare`. Every function pays the
//! same harness: the request is rebuilt from prepared parts (cloning one
//! `HeaderMap`), `poll_ready` and `call` are invoked directly and the future
//! is polled once with a no-op waker, no runtime involved.
//!
//! The `origins_scale` group runs corsair alone on an allowed actual request,
//! with 3 exact origins (plus one `https://*.tenant777.example.com` pattern
//! for a pattern hit) and with 10,000 exact origins plus 1,000
//! `https://*.tenantN.example.com` patterns (an exact hit, a pattern hit and
//! a miss), to show that matching does not grow with the size of the list.
//!
//! Timings on a machine busy with other work are only indicative; compare
//! functions within one run rather than across runs.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use corsair::{Config, Cors};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use http::header::{
    ACCEPT, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, CONTENT_TYPE, HeaderName, ORIGIN,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri};
use http_body_util::Full;
use tower::{Layer, Service, service_fn};
use tower_http::cors::{AllowOrigin, CorsLayer};

type Body = Full<Bytes>;

const ALLOWED: &str = "https://app.example.com";
const REFUSED: &str = "https://evil.example";
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The application: answers at once, without allocating.
fn app(_request: Request<()>) -> Ready<Result<Response<Body>, Infallible>> {
    ready(Ok(Response::new(Full::new(Bytes::from_static(
        b"{\"id\":1}",
    )))))
}

fn seed_config(origins: Vec<String>) -> Config {
    Config {
        allow_origins: origins,
        allow_credentials: true,
        allow_methods: METHODS.map(String::from).to_vec(),
        allow_headers: vec!["accept".into(), "content-type".into()],
        expose_headers: vec!["x-request-id".into()],
        max_age: Some(600),
        ..Config::default()
    }
}

fn corsair_layer(origins: Vec<String>) -> Cors {
    match Cors::new(seed_config(origins)) {
        Ok(cors) => cors,
        Err(error) => unreachable!("the benchmark policy is valid: {error}"),
    }
}

/// The same policy, written for tower-http, with its origin rule.
fn tower_http_layer(origin: AllowOrigin) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(origin)
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([ACCEPT, CONTENT_TYPE])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600))
}

/// A request prepared once; `build` costs one `HeaderMap` clone.
struct Prepared {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl Prepared {
    fn new(method: Method, headers: &[(HeaderName, &'static str)]) -> Self {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(name.clone(), HeaderValue::from_static(value));
        }
        Prepared {
            method,
            uri: Uri::from_static("/items/1"),
            headers: map,
        }
    }

    fn build(&self) -> Request<()> {
        let mut request = Request::new(());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Sends one request through `service` and returns its response. Every
/// service here is always ready and answers with a ready future, so one poll
/// with a no-op waker is enough.
fn respond<S>(service: &mut S, request: Request<()>) -> Response<Body>
where
    S: Service<Request<()>, Response = Response<Body>, Error = Infallible>,
{
    let mut cx = Context::from_waker(Waker::noop());
    match service.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        Poll::Ready(Err(never)) => match never {},
        Poll::Pending => unreachable!("the benchmarked services are always ready"),
    }
    let future = pin!(service.call(request));
    match future.poll(&mut cx) {
        Poll::Ready(Ok(response)) => response,
        Poll::Ready(Err(never)) => match never {},
        Poll::Pending => unreachable!("the benchmarked futures are ready at once"),
    }
}

fn bench_service<S>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut service: S,
    request: &Prepared,
) where
    S: Service<Request<()>, Response = Response<Body>, Error = Infallible>,
{
    group.bench_function(name, |b| {
        b.iter(|| respond(&mut service, black_box(request.build())))
    });
}

fn allow_origin(response: &Response<Body>) -> Option<&HeaderValue> {
    response.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN)
}

/// One scenario: `bare`, `corsair`, `tower_http` and `tower_http_list` on
/// the same request, after checking what each layer answers.
fn scenario(c: &mut Criterion, group_name: &str, request: &Prepared, allowed: bool) {
    let bare = service_fn(app);
    let mut corsair = corsair_layer(vec![ALLOWED.into()]).layer(service_fn(app));
    let mut tower_http = tower_http_layer(AllowOrigin::exact(HeaderValue::from_static(ALLOWED)))
        .layer(service_fn(app));
    let mut tower_http_list =
        tower_http_layer(AllowOrigin::list([HeaderValue::from_static(ALLOWED)]))
            .layer(service_fn(app));

    // corsair and `AllowOrigin::list` echo the origin only when it matches;
    // `AllowOrigin::exact` sends its value to every request and leaves the
    // comparison to the browser.
    let expected = allowed.then(|| HeaderValue::from_static(ALLOWED));
    let always = Some(HeaderValue::from_static(ALLOWED));
    for (layer, response, expected) in [
        ("corsair", respond(&mut corsair, request.build()), &expected),
        (
            "tower_http",
            respond(&mut tower_http, request.build()),
            &always,
        ),
        (
            "tower_http_list",
            respond(&mut tower_http_list, request.build()),
            &expected,
        ),
    ] {
        assert_eq!(
            allow_origin(&response),
            expected.as_ref(),
            "{group_name}: {layer}"
        );
    }

    let mut group = c.benchmark_group(group_name);
    bench_service(&mut group, "bare", bare, request);
    bench_service(&mut group, "corsair", corsair, request);
    bench_service(&mut group, "tower_http", tower_http, request);
    bench_service(&mut group, "tower_http_list", tower_http_list, request);
    group.finish();
}

fn overhead(c: &mut Criterion) {
    let actual_allowed = Prepared::new(Method::GET, &[(ORIGIN, ALLOWED), (ACCEPT, "*/*")]);
    scenario(c, "actual_allowed", &actual_allowed, true);

    let preflight = |origin| {
        Prepared::new(
            Method::OPTIONS,
            &[
                (ORIGIN, origin),
                (ACCESS_CONTROL_REQUEST_METHOD, "PUT"),
                (ACCESS_CONTROL_REQUEST_HEADERS, "content-type"),
                (ACCEPT, "*/*"),
            ],
        )
    };
    scenario(c, "preflight_allowed", &preflight(ALLOWED), true);
    scenario(c, "preflight_refused", &preflight(REFUSED), false);

    let no_origin = Prepared::new(Method::GET, &[(ACCEPT, "*/*")]);
    scenario(c, "actual_no_origin", &no_origin, false);
}

fn origins_scale(c: &mut Criterion) {
    let small = vec![
        ALLOWED.to_owned(),
        "https://admin.example.com".to_owned(),
        "http://localhost:8080".to_owned(),
    ];
    let mut small_with_pattern = small.clone();
    small_with_pattern.push("https://*.tenant777.example.com".to_owned());
    let mut large: Vec<String> = (0..10_000)
        .map(|n| format!("https://site{n}.example.org"))
        .collect();
    large.extend((0..1_000).map(|n| format!("https://*.tenant{n}.example.com")));

    let get = |origin| Prepared::new(Method::GET, &[(ORIGIN, origin), (ACCEPT, "*/*")]);
    let cases = [
        ("3_origins/exact", small, get(ALLOWED), true),
        (
            "3_origins_1_pattern/pattern",
            small_with_pattern,
            get("https://x.tenant777.example.com"),
            true,
        ),
        (
            "11000_origins/exact",
            large.clone(),
            get("https://site7777.example.org"),
            true,
        ),
        (
            "11000_origins/pattern",
            large.clone(),
            get("https://x.tenant777.example.com"),
            true,
        ),
        ("11000_origins/miss", large, get(REFUSED), false),
    ];

    let mut group = c.benchmark_group("origins_scale");
    for (name, origins, request, allowed) in cases {
        let mut service = corsair_layer(origins).layer(service_fn(app));
        let response = respond(&mut service, request.build());
        assert_eq!(allow_origin(&response).is_some(), allowed, "{name}");
        bench_service(&mut group, name, service, &request);
    }
    group.finish();
}

criterion_group!(benches, overhead, origins_scale);
criterion_main!(benches);
