//! What corsair's tower layer adds to a request, next to tower-http's
//! `CorsLayer` configured for the same policy, measured in the same run.
//! The actix-web adapter against actix-cors is `benches/actix.rs`;
//! `scripts/bench` runs both and computes the ratios.
//!
//! ```text
//! cargo bench -p corsair --bench overhead
//! cargo bench -p corsair --bench overhead -- --quick            # a rough look
//! cargo bench -p corsair --bench overhead -- preflight_allowed  # one group
//! cargo bench -p corsair --bench overhead -- '^adversarial/'    # hostile inputs
//! cargo bench -p corsair --bench overhead -- origins_scale      # flat cost
//! ```
//!
//! Criterion ids (`group/function`), kept stable because `scripts/bench`
//! reads their medians from `target/criterion/<group>/<function>/new/`:
//! - `actual_allowed`, `preflight_allowed`, `preflight_refused`,
//!   `actual_no_origin`, each with the functions `bare`, `corsair`,
//!   `tower_http`, `tower_http_list`;
//! - `origins_scale` with `3_origins/exact`, `3_origins/miss`,
//!   `3_origins_1_pattern/pattern`, `11000_origins/exact`,
//!   `11000_origins/pattern`, `11000_origins/miss`, and the same three
//!   for `1000000_origins` (a `/` in a function name is a `_` in its
//!   directory);
//! - `adversarial` with `<case>/bare`, `<case>/corsair` and
//!   `<case>/tower_http_list`, the cases being `names_1mib`, `commas_1mib`,
//!   `spaces_1mib` and `lines_1024`.
//!
//! The policy is the seed article's: one credentialed origin,
//! `https://app.example.com`, methods `GET POST PUT PATCH DELETE`, request
//! headers `accept, content-type`, `x-request-id` exposed, `max_age` 600.
//!
//! Each scenario is a group of functions over one trivial inner service
//! whose future is ready at once, answering `200` with a small JSON body and
//! `content-type: application/json` (so its response map is allocated, as a
//! real service's is):
//! - `bare`: the inner service alone, the cost of the harness itself;
//! - `floor`: no layer, but the very headers corsair answers with written
//!   by hand, the cheapest way known, from static values and without
//!   looking at the request, so `corsair − floor` is what deciding costs;
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
//! for a pattern hit), with 10,000 exact origins plus 1,000
//! `https://*.tenantN.example.com` patterns, and with 999,000 exact
//! origins plus the same 1,000 patterns, each time for an exact hit, a
//! pattern hit and a miss, to show that matching does not grow with the
//! size of the list (the report compares each kind small vs large).
//!
//! The `adversarial` group sends the hostile preflights of issue 7 (see
//! `common::adversarial`): corsair must refuse each (403, no
//! `Access-Control-Allow-Origin`, asserted before timing) and the time it
//! takes, minus `bare`, is what an attacker can make it spend. The 1 MiB
//! values are shared buffers, so building a request does not copy them; the
//! 1,024 lines would cost each clone 1,024 entries, more than the refusal
//! itself, so this group builds its requests outside the timing
//! (`iter_batched`) and times only the call and dropping the request. tower-http does not read `Access-Control-Request-Headers` when
//! its allowed headers are a list, so it is timed as a reference only, and
//! what it answers is recorded (not asserted) for the report.
//!
//! Timings on a machine busy with other work are only indicative; compare
//! functions within one run rather than across runs.

// Harness sanity checks panic on purpose: a bench that measures the wrong
// answer is worse than no bench.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use common::{ALLOWED, Answer, BODY, EXPOSE, MAX_AGE, METHODS, REFUSED, Spec, now};
use corsair::{Config, Cors};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    CONTENT_TYPE, HeaderName, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::Full;
use tower::{Layer, Service, service_fn};
use tower_http::cors::{AllowOrigin, CorsLayer};

type Body = Full<Bytes>;

/// The application: answers at once with a JSON body and its
/// `content-type`, as any JSON API does. Its response therefore arrives with
/// an allocated header map, as in a real service; with an empty map, the
/// first header a layer adds would pay that allocation instead.
fn app(_request: Request<()>) -> Ready<Result<Response<Body>, Infallible>> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(common::CONTENT_TYPE));
    ready(Ok(response))
}

fn corsair_layer(origins: Vec<String>) -> Cors {
    let config: Config = common::seed_config(origins);
    match Cors::new(config) {
        Ok(cors) => cors,
        Err(error) => unreachable!("the benchmark policy is valid: {error}"),
    }
}

/// The same policy, written for tower-http, with its origin rule.
fn tower_http_layer(origin: AllowOrigin) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(origin)
        .allow_credentials(true)
        .allow_methods(METHODS.map(|method| Method::from_bytes(method.as_bytes()).unwrap()))
        .allow_headers(common::ALLOW_HEADERS.map(HeaderName::from_static))
        .expose_headers([HeaderName::from_static(EXPOSE)])
        .max_age(Duration::from_secs(MAX_AGE.into()))
}

/// What a layer must do without deciding anything: the answer corsair
/// gives to this kind of request, written with static values (no reference
/// counts) and no check of the request at all. It shows how much of
/// corsair's overhead is the decision and how much is writing the headers
/// into an `http::HeaderMap`.
///
/// Each answer is written the cheapest way known: a preflight answer is a
/// clone of a map built beforehand with the request's origin put in place
/// (a clone costs less than six insertions into a new map), and an actual
/// response gets its headers inserted into the application's map.
struct Floor {
    /// `(preflight, allowed)`.
    kind: (bool, bool),
    preflight_allowed: HeaderMap,
    preflight_refused: HeaderMap,
}

impl Floor {
    fn new(kind: (bool, bool)) -> Self {
        const VARY_PREFLIGHT: &str =
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
        let mut preflight_allowed = HeaderMap::with_capacity(8);
        for (name, value) in [
            (VARY, VARY_PREFLIGHT),
            (ACCESS_CONTROL_ALLOW_ORIGIN, ALLOWED),
            (ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"),
            (
                ACCESS_CONTROL_ALLOW_METHODS,
                "GET, POST, PUT, PATCH, DELETE",
            ),
            (ACCESS_CONTROL_ALLOW_HEADERS, "accept, content-type"),
            (ACCESS_CONTROL_MAX_AGE, "600"),
        ] {
            preflight_allowed.insert(name, HeaderValue::from_static(value));
        }
        let mut preflight_refused = HeaderMap::with_capacity(1);
        preflight_refused.insert(VARY, HeaderValue::from_static(VARY_PREFLIGHT));
        Floor {
            kind,
            preflight_allowed,
            preflight_refused,
        }
    }

    fn answer(&self, request: Request<()>) -> Ready<Result<Response<Body>, Infallible>> {
        let origin = request.headers().get(ORIGIN).cloned();
        let (preflight, allowed) = self.kind;
        if preflight {
            let mut response = Response::new(Full::new(Bytes::new()));
            if allowed {
                *response.status_mut() = StatusCode::NO_CONTENT;
                let mut headers = self.preflight_allowed.clone();
                if let (Some(origin), Some((_, value))) = (
                    origin,
                    headers
                        .iter_mut()
                        .find(|(name, _)| *name == ACCESS_CONTROL_ALLOW_ORIGIN),
                ) {
                    *value = origin;
                }
                *response.headers_mut() = headers;
            } else {
                *response.status_mut() = StatusCode::FORBIDDEN;
                *response.headers_mut() = self.preflight_refused.clone();
            }
            return ready(Ok(response));
        }
        let mut response = match app(request).into_inner() {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let headers = response.headers_mut();
        if let (true, Some(origin)) = (allowed, origin) {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            headers.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSE),
            );
        }
        headers.append(VARY, HeaderValue::from_static("Origin"));
        ready(Ok(response))
    }
}

/// A request prepared once; `build` costs one `HeaderMap` clone.
struct Prepared {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl Prepared {
    fn new(spec: &Spec) -> Self {
        let mut map = HeaderMap::new();
        for (name, value) in &spec.headers {
            // `from_maybe_shared` keeps the `Bytes`, so a 1 MiB value is
            // shared by every clone of the map instead of copied.
            let value = HeaderValue::from_maybe_shared(value.clone()).unwrap();
            map.append(HeaderName::from_static(name), value);
        }
        Prepared {
            method: Method::from_bytes(spec.method.as_bytes()).unwrap(),
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
    match now(service.call(request)) {
        Ok(response) => response,
        Err(never) => match never {},
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
    group.bench_function(name, |b| b.iter(|| serve(&mut service, request)));
}

/// One request from start to end: built, answered and dropped. Never
/// inlined, so that `scripts/bench-instructions` can count the instructions
/// of exactly this under callgrind.
#[inline(never)]
fn serve<S>(service: &mut S, request: &Prepared)
where
    S: Service<Request<()>, Response = Response<Body>, Error = Infallible>,
{
    let response = respond(service, black_box(request.build()));
    black_box(&response);
}

/// Like `bench_service`, but the requests are built outside the timing (in
/// batches, dropped responses too), for the hostile inputs: cloning a map of
/// 1,024 header lines costs more than refusing it, and would drown the
/// difference between `bare` and a layer in the clone's noise.
fn bench_service_batched<S>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut service: S,
    request: &Prepared,
) where
    S: Service<Request<()>, Response = Response<Body>, Error = Infallible>,
{
    group.bench_function(name, |b| {
        b.iter_batched(
            || request.build(),
            |built| respond(&mut service, black_box(built)),
            BatchSize::LargeInput,
        )
    });
}

fn answer(response: &Response<Body>) -> Answer {
    Answer {
        status: response.status().as_u16(),
        allow_origin: response
            .headers()
            .get(ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|value| value.as_bytes().to_vec()),
    }
}

fn allow_origin(response: &Response<Body>) -> Option<&HeaderValue> {
    response.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN)
}

/// One scenario: `bare`, `corsair`, `tower_http` and `tower_http_list` on
/// the same request, after checking what each layer answers.
fn scenario(c: &mut Criterion, scenario: &common::Scenario) {
    let group_name = scenario.name;
    let scenario_kind = (scenario.preflight, scenario.allowed);
    let request = &Prepared::new(&scenario.request);
    let bare = service_fn(app);
    let mut corsair = corsair_layer(vec![ALLOWED.into()]).layer(service_fn(app));
    let mut tower_http = tower_http_layer(AllowOrigin::exact(HeaderValue::from_static(ALLOWED)))
        .layer(service_fn(app));
    let mut tower_http_list =
        tower_http_layer(AllowOrigin::list([HeaderValue::from_static(ALLOWED)]))
            .layer(service_fn(app));

    // corsair answers a preflight itself (204 allowed, 403 refused) and
    // passes an actual request to the app (200).
    let corsair_status = match (scenario.preflight, scenario.allowed) {
        (true, true) => 204,
        (true, false) => 403,
        (false, _) => 200,
    };
    answer(&respond(&mut corsair, request.build())).assert(
        corsair_status,
        scenario.allowed,
        &format!("{group_name}: corsair"),
    );
    // `AllowOrigin::list` echoes the origin only when it matches;
    // `AllowOrigin::exact` sends its value to every request and leaves the
    // comparison to the browser. Both answer preflights with 200.
    let expected = scenario.allowed.then(|| HeaderValue::from_static(ALLOWED));
    let always = Some(HeaderValue::from_static(ALLOWED));
    for (layer, response, expected) in [
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
        assert_eq!(response.status(), 200, "{group_name}: {layer}");
        assert_eq!(
            allow_origin(&response),
            expected.as_ref(),
            "{group_name}: {layer}"
        );
    }

    let mut group = c.benchmark_group(group_name);
    bench_service(&mut group, "bare", bare, request);
    let floor = Floor::new(scenario_kind);
    let mut floor = service_fn(move |request| floor.answer(request));
    answer(&respond(&mut floor, request.build())).assert(
        corsair_status,
        scenario.allowed,
        &format!("{group_name}: floor"),
    );
    bench_service(&mut group, "floor", floor, request);
    bench_service(&mut group, "corsair", corsair, request);
    bench_service(&mut group, "tower_http", tower_http, request);
    bench_service(&mut group, "tower_http_list", tower_http_list, request);
    group.finish();
}

fn overhead(c: &mut Criterion) {
    for one in common::scenarios() {
        scenario(c, &one);
    }
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

    let get = |origin| Prepared::new(&common::get(origin));
    let cases = [
        ("3_origins/exact", small.clone(), get(ALLOWED), true),
        ("3_origins/miss", small, get(REFUSED), false),
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

    // A million: 999,000 exact origins and 1,000 patterns, built only when
    // one of its functions runs (a second of work, and much longer under
    // callgrind), and shared by the three.
    let million = std::cell::OnceCell::new();
    let build = || {
        let mut origins: Vec<String> = (0..999_000)
            .map(|n| format!("https://site{n}.example.org"))
            .collect();
        origins.extend((0..1_000).map(|n| format!("https://*.tenant{n}.example.com")));
        corsair_layer(origins).layer(service_fn(app))
    };
    for (name, request, allowed) in [
        (
            "1000000_origins/exact",
            get("https://site777777.example.org"),
            true,
        ),
        (
            "1000000_origins/pattern",
            get("https://x.tenant777.example.com"),
            true,
        ),
        ("1000000_origins/miss", get(REFUSED), false),
    ] {
        group.bench_function(name, |b| {
            let mut service = million.get_or_init(build).clone();
            let response = respond(&mut service, request.build());
            assert_eq!(allow_origin(&response).is_some(), allowed, "{name}");
            b.iter(|| serve(&mut service, &request));
        });
    }
    group.finish();
}

/// The hostile preflights: corsair must refuse each; tower-http is timed on
/// the same input as a reference, whatever it answers.
fn adversarial(c: &mut Criterion) {
    let mut group = c.benchmark_group("adversarial");
    for (case, spec) in common::adversarial() {
        let request = Prepared::new(&spec);
        let bare = service_fn(app);
        let mut corsair = corsair_layer(vec![ALLOWED.into()]).layer(service_fn(app));
        let mut tower_http_list =
            tower_http_layer(AllowOrigin::list([HeaderValue::from_static(ALLOWED)]))
                .layer(service_fn(app));

        let refused = answer(&respond(&mut corsair, request.build()));
        refused.assert(403, false, &format!("adversarial {case}: corsair"));
        common::record_answer("corsair", case, &refused);
        let reference = answer(&respond(&mut tower_http_list, request.build()));
        common::record_answer("tower_http_list", case, &reference);

        bench_service_batched(&mut group, &format!("{case}/bare"), bare, &request);
        bench_service_batched(&mut group, &format!("{case}/corsair"), corsair, &request);
        bench_service_batched(
            &mut group,
            &format!("{case}/tower_http_list"),
            tower_http_list,
            &request,
        );
    }
    group.finish();
}

criterion_group!(benches, overhead, origins_scale, adversarial);
criterion_main!(benches);
