//! Allocation counts: `Policy::check` never allocates, whatever the request
//! and the policy; `Policy::apply` and `Policy::preflight_response` allocate
//! only what the response `HeaderMap` itself needs.
//!
//! A counting global allocator wraps `System` and counts the allocations
//! (`alloc`, `alloc_zeroed`, `realloc`) made *by the current thread* in a
//! thread-local counter, so the test harness's other threads (and other
//! tests running in parallel) never disturb a measurement.
//!
//! Request headers are built before counting, the way hyper delivers them:
//! every value is a `bytes::Bytes` slice of one shared buffer
//! (`HeaderValue::from_maybe_shared(buffer.slice(a..b))`), so cloning a value
//! bumps a reference count and never allocates. (A value made with
//! `HeaderValue::from_str` would allocate on its first clone, when its
//! `Bytes` becomes shared; `from_static` values never allocate.)

// The counting allocator is the only unsafe code in the workspace: it
// forwards every call to `System` unchanged.
#![allow(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use corsair::Config;
use corsair::policy::{Actual, Decision, Policy, Preflight};
use http::header::{
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, CONTENT_TYPE, HeaderName,
    ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method};

// ------------------------------------------------------------ allocator --

struct Counting;

thread_local! {
    /// Allocations made by this thread. Const-initialised and without a
    /// destructor, so reading or bumping it never allocates.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn record_allocation() {
    // `try_with`: the thread-local may already be gone while a thread exits.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds the `GlobalAlloc` contract; counting touches no allocator state.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record_allocation();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record_allocation();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record_allocation();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the number of allocations this
/// thread made meanwhile.
fn counting<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = std::hint::black_box(f());
    let after = ALLOCATIONS.with(Cell::get);
    (result, after - before)
}

#[test]
fn the_counter_counts() {
    let (vector, count) = counting(|| vec![1u8; 10]);
    assert_eq!(count, 1);
    let (_, count) = counting(|| drop(vector));
    assert_eq!(count, 0);
    // A value from `from_str` allocates on its first clone (its `Bytes`
    // becomes shared), which is why requests here are built from a shared
    // buffer, as hyper does.
    let value = HeaderValue::from_str("https://app.example.com").unwrap();
    let (first, count) = counting(|| value.clone());
    assert!(count >= 1, "{count}");
    let (_, count) = counting(|| (first.clone(), value.clone()));
    assert_eq!(count, 0);
}

// ------------------------------------------------------------- requests --

/// Request headers whose values are slices of one shared buffer, as hyper
/// hands them out.
fn request_headers(pairs: &[(HeaderName, &[u8])]) -> HeaderMap {
    let mut buffer = Vec::new();
    let mut ranges = Vec::new();
    for (_, value) in pairs {
        let start = buffer.len();
        buffer.extend_from_slice(value);
        ranges.push(start..buffer.len());
    }
    let buffer = Bytes::from(buffer);
    let mut headers = HeaderMap::with_capacity(pairs.len());
    for ((name, _), range) in pairs.iter().zip(ranges) {
        let value = HeaderValue::from_maybe_shared(buffer.slice(range)).unwrap();
        headers.append(name.clone(), value);
    }
    headers
}

const ALLOWED_ORIGIN: &[u8] = b"https://app.example.com";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    NoOrigin,
    ActualAllowed,
    ActualRefused,
    PreflightAllowed,
    PreflightRefused,
    Forbidden,
    /// Never, without an origin source.
    Lookup,
}

fn verdict(decision: &Decision<'_>) -> Verdict {
    match decision {
        Decision::Actual(Actual::NoOrigin) => Verdict::NoOrigin,
        Decision::Actual(Actual::Allowed(_)) => Verdict::ActualAllowed,
        Decision::Actual(Actual::Refused(_)) => Verdict::ActualRefused,
        Decision::Preflight(Preflight::Allowed(_)) => Verdict::PreflightAllowed,
        Decision::Preflight(Preflight::Refused(_) | Preflight::Explained(..)) => {
            Verdict::PreflightRefused
        }
        Decision::Forbidden(_) => Verdict::Forbidden,
        Decision::Lookup(_) => Verdict::Lookup,
    }
}

/// What a request is about, which decides its expected verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refuses {
    Nothing,
    /// Refused unless the policy allows any origin.
    Origin,
    /// Refused by every policy (the method is not listed).
    Method,
    /// Refused unless the policy allows any header.
    Header,
    /// Refused by every policy (the list is beyond its limits).
    Always,
}

struct Case {
    name: &'static str,
    method: Method,
    headers: HeaderMap,
    refuses: Refuses,
}

fn cases() -> Vec<Case> {
    let huge_list: Vec<u8> = b"a,".repeat(512 * 1024); // 1 MiB
    let long_origin = [b"https://".as_slice(), &[b'a'; 600]].concat();
    let preflight = |origin: &[u8], method: &[u8], headers: &[u8]| {
        request_headers(&[
            (ORIGIN, origin),
            (ACCESS_CONTROL_REQUEST_METHOD, method),
            (ACCESS_CONTROL_REQUEST_HEADERS, headers),
        ])
    };
    let actual =
        |origin: &[u8]| request_headers(&[(ORIGIN, origin), (CONTENT_TYPE, b"text/plain")]);
    let case = |name, method, headers, refuses| Case {
        name,
        method,
        headers,
        refuses,
    };
    vec![
        case(
            "actual allowed",
            Method::GET,
            actual(ALLOWED_ORIGIN),
            Refuses::Nothing,
        ),
        case(
            "actual POST allowed",
            Method::POST,
            actual(ALLOWED_ORIGIN),
            Refuses::Nothing,
        ),
        case(
            "actual OPTIONS without request method",
            Method::OPTIONS,
            actual(ALLOWED_ORIGIN),
            Refuses::Nothing,
        ),
        case(
            "actual not allowed",
            Method::GET,
            actual(b"https://evil.example.net"),
            Refuses::Origin,
        ),
        case(
            "actual malformed (uppercase)",
            Method::GET,
            actual(b"https://App.example.com"),
            Refuses::Origin,
        ),
        case(
            "actual malformed (trailing slash)",
            Method::GET,
            actual(b"https://app.example.com/"),
            Refuses::Origin,
        ),
        case(
            "actual malformed (too long)",
            Method::GET,
            actual(&long_origin),
            Refuses::Origin,
        ),
        case("actual null", Method::GET, actual(b"null"), Refuses::Origin),
        case(
            "actual repeated origin",
            Method::GET,
            request_headers(&[(ORIGIN, ALLOWED_ORIGIN), (ORIGIN, ALLOWED_ORIGIN)]),
            Refuses::Origin,
        ),
        case(
            "no origin",
            Method::GET,
            request_headers(&[(CONTENT_TYPE, b"text/plain")]),
            Refuses::Nothing,
        ),
        case(
            "preflight allowed",
            Method::OPTIONS,
            preflight(ALLOWED_ORIGIN, b"PUT", b"content-type,x-api-key"),
            Refuses::Nothing,
        ),
        case(
            "preflight allowed (safelisted method, mixed case names)",
            Method::OPTIONS,
            preflight(ALLOWED_ORIGIN, b"POST", b"Content-Type, X-API-Key"),
            Refuses::Nothing,
        ),
        case(
            "preflight refused for origin",
            Method::OPTIONS,
            preflight(b"https://evil.example.net", b"PUT", b"content-type"),
            Refuses::Origin,
        ),
        case(
            "preflight refused for null origin",
            Method::OPTIONS,
            preflight(b"null", b"PUT", b"content-type"),
            Refuses::Origin,
        ),
        case(
            "preflight refused for method",
            Method::OPTIONS,
            preflight(ALLOWED_ORIGIN, b"DELETE", b"content-type"),
            Refuses::Method,
        ),
        case(
            "preflight refused for forbidden method",
            Method::OPTIONS,
            preflight(ALLOWED_ORIGIN, b"TRACE", b""),
            Refuses::Method,
        ),
        case(
            "preflight refused for header",
            Method::OPTIONS,
            preflight(ALLOWED_ORIGIN, b"PUT", b"content-type,x-not-allowed"),
            Refuses::Header,
        ),
        case(
            "preflight refused for 1 MiB of request headers",
            Method::OPTIONS,
            preflight(ALLOWED_ORIGIN, b"PUT", &huge_list),
            Refuses::Always,
        ),
        case(
            "preflight refused for a list of 4000 commas",
            Method::OPTIONS,
            preflight(ALLOWED_ORIGIN, b"PUT", &[b','; 4000]),
            Refuses::Always,
        ),
    ]
}

// ------------------------------------------------------------- policies --

struct Subject {
    name: &'static str,
    policy: Policy,
    any_origin: bool,
    any_header: bool,
}

fn subject(name: &'static str, config: Config) -> Subject {
    let any_origin = config.allow_origins == ["*"];
    let any_header = config.allow_headers == ["*"];
    Subject {
        name,
        policy: Policy::new(config).unwrap(),
        any_origin,
        any_header,
    }
}

fn base(origins: Vec<String>, credentials: bool) -> Config {
    Config {
        allow_origins: origins,
        allow_credentials: credentials,
        allow_methods: vec!["PUT".into()],
        allow_headers: vec!["content-type".into(), "x-api-key".into()],
        expose_headers: vec!["x-request-id".into(), "x-trace-id".into()],
        max_age: Some(600),
        ..Config::default()
    }
}

fn subjects() -> Vec<Subject> {
    let mut many: Vec<String> = (0..10_000)
        .map(|i| format!("https://app{i}.example.com"))
        .collect();
    many[5_000] = "https://app.example.com".into();
    vec![
        subject("exact", base(vec!["https://app.example.com".into()], true)),
        subject(
            "wildcard subdomains",
            base(
                vec!["https://*.example.com".into(), "http://localhost:*".into()],
                true,
            ),
        ),
        subject("any origin", base(vec!["*".into()], false)),
        subject("10,000 origins", base(many, true)),
        subject(
            "allow_headers * with credentials",
            Config {
                allow_headers: vec!["*".into()],
                ..base(vec!["https://app.example.com".into()], true)
            },
        ),
    ]
}

fn expected(subject: &Subject, case: &Case) -> Verdict {
    let preflight =
        case.method == Method::OPTIONS && case.headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let refused = match case.refuses {
        Refuses::Nothing => false,
        Refuses::Origin => !subject.any_origin,
        Refuses::Method | Refuses::Always => true,
        Refuses::Header => !subject.any_header,
    };
    match (preflight, refused) {
        (true, true) => Verdict::PreflightRefused,
        (true, false) => Verdict::PreflightAllowed,
        (false, true) => Verdict::ActualRefused,
        (false, false) if !case.headers.contains_key(ORIGIN) && !subject.any_origin => {
            Verdict::NoOrigin
        }
        (false, false) => Verdict::ActualAllowed,
    }
}

// ---------------------------------------------------------------- tests --

#[test]
fn check_never_allocates() {
    let subjects = subjects();
    let cases = cases();
    for subject in &subjects {
        for case in &cases {
            // Measured on the very first call (no warm-up), then again.
            for round in 0..2 {
                let (decision, count) =
                    counting(|| subject.policy.check(&case.method, &case.headers));
                assert_eq!(
                    verdict(&decision),
                    expected(subject, case),
                    "{} / {}",
                    subject.name,
                    case.name
                );
                assert_eq!(
                    count, 0,
                    "Policy::check allocated {count} times: {} / {} (round {round})",
                    subject.name, case.name
                );
            }
        }
    }
}

/// Cross-origin protection decides without allocating either, when it
/// refuses and when it lets a request through.
#[test]
fn cross_origin_protection_never_allocates() {
    let policy = Policy::new(Config {
        cross_origin_protection: true,
        ..base(vec!["https://app.example.com".into()], true)
    })
    .unwrap();
    let post = |pairs: &[(&'static str, &'static str)]| {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    };
    for (headers, forbidden) in [
        (
            post(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ]),
            true,
        ),
        (
            post(&[
                ("origin", "https://evil.example"),
                ("host", "api.example.com"),
            ]),
            true,
        ),
        (
            post(&[
                ("origin", "https://api.example.com"),
                ("host", "api.example.com"),
            ]),
            false,
        ),
        (post(&[("sec-fetch-site", "same-origin")]), false),
        (post(&[]), false),
    ] {
        let (decision, count) = counting(|| policy.check(&Method::POST, &headers));
        assert_eq!(
            matches!(decision, Decision::Forbidden(_)),
            forbidden,
            "{headers:?}"
        );
        assert_eq!(count, 0, "{headers:?}");
    }
}

/// With a `tracing` subscriber that filters out the debug-level refusal
/// events (the usual production setting), refusals still do not allocate.
#[test]
fn check_never_allocates_under_an_info_level_subscriber() {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish();
    let subjects = subjects();
    let cases = cases();
    tracing::subscriber::with_default(subscriber, || {
        for subject in &subjects {
            for case in &cases {
                let (decision, count) =
                    counting(|| subject.policy.check(&case.method, &case.headers));
                assert_eq!(verdict(&decision), expected(subject, case));
                assert_eq!(count, 0, "{} / {}", subject.name, case.name);
            }
        }
    });
}

/// An owned verdict (what the tower adapter keeps across the call to the
/// application) costs no allocation either: the origin is a shared slice.
#[test]
fn owning_an_actual_verdict_does_not_allocate() {
    for subject in subjects() {
        for case in cases() {
            let Decision::Actual(actual) = subject.policy.check(&case.method, &case.headers) else {
                continue;
            };
            let (owned, count) = counting(|| actual.into_owned());
            assert_eq!(count, 0, "{} / {}", subject.name, case.name);
            drop(owned);
        }
    }
}

/// `apply` writes into the application's response `HeaderMap`. Observed
/// counts (allocations, not timings):
/// - 0 when the map has spare capacity and no `Vary` of its own: every value
///   written is static, pre-rendered and shared, or the request's own shared
///   slice, so only the map's storage could grow, and it has room.
/// - exactly 1 when the application set its own `Vary` and the answer
///   depends on the origin: `Vary: Origin` is appended as a second value of
///   the same header, which goes to the map's separate "extra values"
///   vector, empty (unallocated) until then. 0 for a policy open to any
///   origin, which sends no `Vary`.
#[test]
fn apply_allocates_only_for_the_header_map() {
    for subject in subjects() {
        for case in cases() {
            let Decision::Actual(actual) = subject.policy.check(&case.method, &case.headers) else {
                continue;
            };
            let mut response = HeaderMap::with_capacity(16);
            response.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            let ((), count) = counting(|| subject.policy.apply(&actual, &mut response));
            assert_eq!(count, 0, "{} / {}", subject.name, case.name);

            let mut response = HeaderMap::with_capacity(16);
            response.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response.insert(VARY, HeaderValue::from_static("accept-encoding"));
            let ((), count) = counting(|| subject.policy.apply(&actual, &mut response));
            // A policy for any origin sends no `Vary: Origin`: nothing to add.
            let expected = u64::from(!subject.any_origin);
            assert_eq!(count, expected, "{} / {}", subject.name, case.name);
            assert_eq!(
                response.get_all(VARY).iter().count(),
                1 + usize::from(!subject.any_origin)
            );
        }
    }
}

/// `preflight_response` builds a new `Response` whose `HeaderMap` reserves
/// room for the CORS headers: observed, exactly 2 allocations (the map's
/// index table and its entry vector), allowed or refused, for every policy.
/// Every value written is pre-rendered and shared, or a shared slice of the
/// request, so none of them allocates.
#[test]
fn preflight_response_allocates_only_the_header_map() {
    for subject in subjects() {
        for case in cases() {
            let Decision::Preflight(preflight) = subject.policy.check(&case.method, &case.headers)
            else {
                continue;
            };
            let (response, count) =
                counting(|| subject.policy.preflight_response::<()>(&preflight));
            assert_eq!(count, 2, "{} / {}", subject.name, case.name);
            assert_eq!(
                response.status(),
                subject.policy.preflight_status(&preflight)
            );

            // Written into a map that already has room: nothing at all.
            let mut headers = HeaderMap::with_capacity(16);
            let ((), count) = counting(|| {
                subject
                    .policy
                    .write_preflight_headers(&preflight, &mut headers);
            });
            assert_eq!(count, 0, "{} / {}", subject.name, case.name);
            assert_eq!(&headers, response.headers());
        }
    }
}

/// Hostile `Access-Control-Request-Headers`: a 1 MiB value made of one
/// allowed name repeated, of commas, or of spaces, and 1,024 header lines
/// of an allowed name. Each is refused (the list is bounded: 4096 bytes, 64
/// names, 128 bytes of whitespace) and refusing it allocates nothing, so
/// the cost cannot grow with what an attacker sends (asserted as allocation
/// counts, which do not depend on the machine).
#[test]
fn hostile_request_header_lists_are_refused_without_allocating() {
    let policy = Policy::new(Config {
        allow_origins: vec!["https://app.example.com".into()],
        allow_credentials: true,
        allow_methods: vec!["PUT".into()],
        allow_headers: vec!["content-type".into()],
        ..Config::default()
    })
    .unwrap();
    let mebibyte = 1 << 20;
    let repeated = "content-type,".repeat(mebibyte / 13);
    let commas = ",".repeat(mebibyte);
    let spaces = " ".repeat(mebibyte);
    let mut cases: Vec<(&str, HeaderMap)> = [
        ("one allowed name repeated", repeated.as_bytes()),
        ("commas", commas.as_bytes()),
        ("spaces", spaces.as_bytes()),
    ]
    .into_iter()
    .map(|(name, value)| {
        let headers = request_headers(&[
            (ORIGIN, ALLOWED_ORIGIN),
            (ACCESS_CONTROL_REQUEST_METHOD, b"PUT"),
            (ACCESS_CONTROL_REQUEST_HEADERS, value),
        ]);
        (name, headers)
    })
    .collect();
    let mut lines: Vec<(HeaderName, &[u8])> = vec![
        (ORIGIN, ALLOWED_ORIGIN),
        (ACCESS_CONTROL_REQUEST_METHOD, b"PUT"),
    ];
    lines.extend((0..1024).map(|_| (ACCESS_CONTROL_REQUEST_HEADERS, &b"content-type"[..])));
    cases.push(("1,024 header lines", request_headers(&lines)));

    for (name, headers) in &cases {
        let (decision, count) = counting(|| policy.check(&Method::OPTIONS, headers));
        assert_eq!(verdict(&decision), Verdict::PreflightRefused, "{name}");
        assert_eq!(count, 0, "{name}: {count} allocations");
    }
}

// ---------------------------------------------------------- whole layer --

/// Polls a future that is ready at once (every service here is).
fn ready_now<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => unreachable!("the services here answer at once"),
    }
}

/// Allocations made by one request through `service`, from the call to the
/// dropped response (the request is built before counting).
fn allocations_of<S>(service: &mut S, request: http::Request<()>) -> u64
where
    S: tower::Service<
            http::Request<()>,
            Response = http::Response<String>,
            Error = std::convert::Infallible,
        >,
{
    let (response, count) = counting(|| {
        let ready = ready_now(std::future::poll_fn(|context| service.poll_ready(context)));
        assert!(ready.is_ok());
        ready_now(service.call(request)).unwrap()
    });
    assert!(response.status().as_u16() < 500);
    let ((), dropping) = counting(|| drop(response));
    count + dropping
}

/// Issue 19's allocation target, through the tower layer: every kind of
/// request costs at most two allocations more than the bare application,
/// whether the application's response comes with headers of its own or
/// with an empty map (where the layer's first header allocates the map's
/// storage: its two allocations).
///
/// Request values are built with `HeaderValue::from_str`, so they are *not*
/// shared, as in a request built by hand (tests, in-process calls): copying
/// one would allocate. An exact origin of a short list (at most 16) is sent
/// as the policy's own value, which never does. (An origin matched by a
/// pattern, or one of a longer list, echoes the request's value: one
/// allocation more here, none with the shared values hyper parses, HTTP/1
/// or HTTP/2, which `request_headers` imitates.)
#[test]
fn a_tower_request_allocates_at_most_two_more_than_the_bare_application() {
    use tower::Layer as _;

    let app = |with_headers: bool| {
        tower::service_fn(move |_request: http::Request<()>| async move {
            let mut response = http::Response::new(String::new());
            if with_headers {
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Ok::<_, std::convert::Infallible>(response)
        })
    };
    let request = |method: &str, pairs: &[(HeaderName, &str)]| {
        let mut request = http::Request::new(());
        *request.method_mut() = Method::from_bytes(method.as_bytes()).unwrap();
        for (name, value) in pairs {
            request
                .headers_mut()
                .append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        request
    };
    let allowed = "https://app.example.com";
    let kinds: Vec<(&str, http::Request<()>)> = vec![
        ("actual allowed", request("GET", &[(ORIGIN, allowed)])),
        (
            "actual refused",
            request("GET", &[(ORIGIN, "https://evil.example")]),
        ),
        ("no Origin", request("GET", &[])),
        (
            "preflight allowed",
            request(
                "OPTIONS",
                &[
                    (ORIGIN, allowed),
                    (ACCESS_CONTROL_REQUEST_METHOD, "PUT"),
                    (ACCESS_CONTROL_REQUEST_HEADERS, "content-type"),
                ],
            ),
        ),
        (
            "preflight refused",
            request(
                "OPTIONS",
                &[
                    (ORIGIN, "https://evil.example"),
                    (ACCESS_CONTROL_REQUEST_METHOD, "PUT"),
                ],
            ),
        ),
    ];
    let cors = corsair::Cors::new(base(
        vec![allowed.into(), "https://admin.example.com".into()],
        true,
    ))
    .unwrap();
    for with_headers in [false, true] {
        let mut bare = app(with_headers);
        let mut layered = cors.layer(app(with_headers));
        for (kind, request) in &kinds {
            let copy = || {
                let mut copy = http::Request::new(());
                *copy.method_mut() = request.method().clone();
                // A deep copy: values from `from_str` again, not clones of
                // the originals (a clone would share them).
                for (name, value) in request.headers() {
                    copy.headers_mut().append(
                        name.clone(),
                        HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                    );
                }
                copy
            };
            // Warm up: the first call of a service may set things up once.
            allocations_of(&mut layered, copy());
            let bare_count = allocations_of(&mut bare, copy());
            let layered_count = allocations_of(&mut layered, copy());
            // Read by scripts/bench-report.py (`--nocapture`).
            let headers = if with_headers { "yes" } else { "no" };
            println!(
                "allocations per request: {kind}, application headers {headers}: \
                 corsair {layered_count}, bare {bare_count}"
            );
            assert!(
                layered_count <= bare_count + 2,
                "{kind} (application headers: {with_headers}): {layered_count} allocations \
                 with corsair, {bare_count} without"
            );
        }
    }
}
