//! What corsair's actix-web adapter adds to a request, next to actix-cors
//! configured for the same policy, measured in the same run: the actix-web
//! twin of `benches/overhead.rs` (same policy, same scenarios, same
//! hostile inputs). `scripts/bench` runs both and computes the ratios.
//!
//! ```text
//! cargo bench -p corsair --bench actix
//! cargo bench -p corsair --bench actix -- --quick                    # a rough look
//! cargo bench -p corsair --bench actix -- actix/preflight_allowed    # one group
//! cargo bench -p corsair --bench actix -- actix/adversarial          # hostile inputs
//! ```
//!
//! The adapter needs corsair's `actix` feature; the crate lists itself as a
//! dev-dependency with that feature, so a plain `cargo bench` builds this
//! bench too.
//!
//! Criterion ids (`group/function`), kept stable because `scripts/bench`
//! reads their medians from `target/criterion/<group>/<function>/new/` (a
//! `/` in a group or function name is a `_` in its directory):
//! - `actix/actual_allowed`, `actix/preflight_allowed`,
//!   `actix/preflight_refused`, `actix/actual_no_origin`, each with the
//!   functions `bare`, `corsair` and `actix_cors`;
//! - `actix/adversarial` with `<case>/bare`, `<case>/corsair` and
//!   `<case>/actix_cors`, the cases being `names_1mib`, `commas_1mib`,
//!   `spaces_1mib` and `lines_1024`.
//!
//! The functions:
//! - `bare`: the inner service alone (`dev::fn_service` answering `200 OK`
//!   with an 8-byte body, its future ready at once), the cost of the
//!   harness itself;
//! - `corsair`: the inner service behind `corsair::Cors` (a `Transform`);
//! - `actix_cors`: the inner service behind `actix_cors::Cors`.
//!
//! The middleware is measured directly, without an `App`: each layer is made
//! once with `Transform::new_transform`; the requests are `ServiceRequest`s
//! built with `test::TestRequest` (its headers set to a clone of a prepared
//! `HeaderMap`) outside the timing, in batches (`iter_batched`), because
//! building one costs more than most layers do; each timed iteration calls
//! the service, polls its future once with a no-op waker and drops the
//! request it consumed. Every function pays that same harness, so the
//! overhead of a layer is its time minus `bare`. actix-web services are not
//! `Send`; nothing here needs them to be.
//!
//! Before timing, each layer's answer is asserted: corsair answers a
//! preflight itself (204 allowed, 403 refused) and passes an actual request
//! on (200); actix-cors answers an allowed preflight with 200 and a refused
//! one with 400; `Access-Control-Allow-Origin` is the allowed origin exactly
//! when the policy allows the request. On the hostile inputs corsair must
//! refuse (403, no `Access-Control-Allow-Origin`); what actix-cors answers
//! is recorded for the report, not asserted.

// Harness sanity checks panic on purpose: a bench that measures the wrong
// answer is worse than no bench.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::future::{Ready, ready};
use std::hint::black_box;
use std::task::{Context, Poll, Waker};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, fn_service};
use actix_web::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use actix_web::{Error, HttpResponse};
use bytes::Bytes;
use common::{ALLOW_HEADERS, ALLOWED, Answer, BODY, EXPOSE, MAX_AGE, METHODS, Scenario, Spec, now};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};

/// The application: answers `200 OK` at once with a small JSON body and its
/// `content-type`, as the tower benches' application does.
fn app(request: ServiceRequest) -> Ready<Result<ServiceResponse<Bytes>, Error>> {
    let mut response = HttpResponse::with_body(StatusCode::OK, Bytes::from_static(BODY));
    response.headers_mut().insert(
        actix_web::http::header::CONTENT_TYPE,
        actix_web::http::header::HeaderValue::from_static(common::CONTENT_TYPE),
    );
    ready(Ok(request.into_response(response)))
}

fn corsair_cors() -> corsair::Cors {
    match corsair::Cors::new(common::seed_config(vec![ALLOWED.into()])) {
        Ok(cors) => cors,
        Err(error) => unreachable!("the benchmark policy is valid: {error}"),
    }
}

/// The same policy, written for actix-cors.
fn actix_cors() -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allowed_origin(ALLOWED)
        .supports_credentials()
        .allowed_methods(METHODS)
        .allowed_headers(ALLOW_HEADERS)
        .expose_headers([EXPOSE])
        .max_age(usize::try_from(MAX_AGE).unwrap())
}

/// The middleware made by `new_transform`; both transforms answer at once.
fn made<M, E: std::fmt::Debug>(made: Result<M, E>) -> M {
    match made {
        Ok(service) => service,
        Err(error) => panic!("the transform refused the policy: {error:?}"),
    }
}

/// A request prepared once; `build` makes a `ServiceRequest` with
/// `TestRequest` and one `HeaderMap` clone.
struct Prepared {
    method: Method,
    headers: HeaderMap,
}

impl Prepared {
    fn new(spec: &Spec) -> Self {
        let mut headers = HeaderMap::new();
        for (name, value) in &spec.headers {
            // `from_maybe_shared` keeps the `Bytes`, so a 1 MiB value is
            // shared by every clone of the map instead of copied.
            let value = HeaderValue::from_maybe_shared(value.clone()).unwrap();
            headers.append(HeaderName::from_static(name), value);
        }
        Prepared {
            method: Method::from_bytes(spec.method.as_bytes()).unwrap(),
            headers,
        }
    }

    fn build(&self) -> ServiceRequest {
        let mut request = TestRequest::default()
            .method(self.method.clone())
            .uri("/items/1")
            .to_srv_request();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Sends one request through `service`: ready at once, answered at once.
#[inline(never)]
fn respond<S, B>(service: &S, request: ServiceRequest) -> ServiceResponse<B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    let mut cx = Context::from_waker(Waker::noop());
    match service.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        Poll::Ready(Err(error)) => panic!("a benchmarked service failed: {error}"),
        Poll::Pending => unreachable!("the benchmarked services are always ready"),
    }
    match now(service.call(request)) {
        Ok(response) => response,
        Err(error) => panic!("a benchmarked service failed: {error}"),
    }
}

fn answer<B>(response: &ServiceResponse<B>) -> Answer {
    Answer {
        status: response.status().as_u16(),
        allow_origin: response
            .headers()
            .get(ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|value| value.as_bytes().to_vec()),
    }
}

fn bench_service<S, B>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    service: &S,
    request: &Prepared,
) where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    // The requests are built outside the timing: `TestRequest` costs more
    // than most layers, and its noise would drown their difference with
    // `bare`.
    group.bench_function(name, |b| {
        b.iter_batched(
            || request.build(),
            |built| respond(service, black_box(built)),
            BatchSize::LargeInput,
        )
    });
}

/// One scenario: `bare`, `corsair` and `actix_cors` on the same request,
/// after checking what each answers.
fn scenario(c: &mut Criterion, scenario: &Scenario) {
    let group_name = format!("actix/{}", scenario.name);
    let request = Prepared::new(&scenario.request);
    let bare = fn_service(app);
    let corsair = made(now(corsair_cors().new_transform(fn_service(app))));
    let actix_cors = made(now(actix_cors().new_transform(fn_service(app))));

    let (corsair_status, actix_cors_status) = match (scenario.preflight, scenario.allowed) {
        (true, true) => (204, 200),
        (true, false) => (403, 400),
        (false, _) => (200, 200),
    };
    answer(&respond(&bare, request.build())).assert(200, false, &format!("{group_name}: bare"));
    answer(&respond(&corsair, request.build())).assert(
        corsair_status,
        scenario.allowed,
        &format!("{group_name}: corsair"),
    );
    answer(&respond(&actix_cors, request.build())).assert(
        actix_cors_status,
        scenario.allowed,
        &format!("{group_name}: actix_cors"),
    );

    let mut group = c.benchmark_group(group_name);
    bench_service(&mut group, "bare", &bare, &request);
    bench_service(&mut group, "corsair", &corsair, &request);
    bench_service(&mut group, "actix_cors", &actix_cors, &request);
    group.finish();
}

fn overhead(c: &mut Criterion) {
    for one in common::scenarios() {
        scenario(c, &one);
    }
}

/// The hostile preflights: corsair must refuse each; actix-cors is timed on
/// the same input as a reference, whatever it answers.
fn adversarial(c: &mut Criterion) {
    let mut group = c.benchmark_group("actix/adversarial");
    for (case, spec) in common::adversarial() {
        let request = Prepared::new(&spec);
        let bare = fn_service(app);
        let corsair = made(now(corsair_cors().new_transform(fn_service(app))));
        let actix_cors = made(now(actix_cors().new_transform(fn_service(app))));

        let refused = answer(&respond(&corsair, request.build()));
        refused.assert(403, false, &format!("actix/adversarial {case}: corsair"));
        common::record_answer("actix_corsair", case, &refused);
        let reference = answer(&respond(&actix_cors, request.build()));
        common::record_answer("actix_cors", case, &reference);

        bench_service(&mut group, &format!("{case}/bare"), &bare, &request);
        bench_service(&mut group, &format!("{case}/corsair"), &corsair, &request);
        bench_service(
            &mut group,
            &format!("{case}/actix_cors"),
            &actix_cors,
            &request,
        );
    }
    group.finish();
}

criterion_group!(benches, overhead, adversarial);
criterion_main!(benches);
