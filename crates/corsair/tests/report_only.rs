//! Report-only mode: `browser::report` finds each kind of difference
//! between an application's own CORS answers and the policy's, and finds
//! none where a browser would do the same with both; the tower layer and
//! the actix-web middleware pass requests and responses through unchanged.
#![cfg(all(feature = "browser", feature = "tower", feature = "actix"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use corsair::browser::{Difference, report};
use corsair::config::Mode;
use corsair::policy::Policy;
use corsair::{Config, Cors};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use tower::{ServiceExt as _, service_fn};

const APP: &str = "https://app.example.com";

fn policy(mode: Mode) -> Policy {
    Policy::new(Config {
        allow_origins: vec![APP.into()],
        allow_credentials: true,
        allow_methods: vec!["PUT".into()],
        allow_headers: vec!["content-type".into()],
        cross_origin_protection: true,
        mode,
        ..Config::default()
    })
    .unwrap()
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                http::HeaderName::from_static(name),
                HeaderValue::from_static(value),
            )
        })
        .collect()
}

#[test]
fn each_kind_of_difference_is_found() {
    let policy = policy(Mode::ReportOnly);
    let cases: [(&str, HeaderMap, StatusCode, HeaderMap, &[Difference]); 13] = [
        // The policy's own answer: nothing to report.
        (
            "GET",
            headers(&[("origin", APP)]),
            StatusCode::OK,
            headers(&[
                ("access-control-allow-origin", APP),
                ("access-control-allow-credentials", "true"),
                ("vary", "Origin"),
            ]),
            &[],
        ),
        // Reflecting any origin.
        (
            "GET",
            headers(&[("origin", "https://evil.example")]),
            StatusCode::OK,
            headers(&[
                ("access-control-allow-origin", "https://evil.example"),
                ("access-control-allow-credentials", "true"),
                ("vary", "origin"),
            ]),
            &[Difference::GrantsRefusedOrigin],
        ),
        // No CORS at all for an origin the policy allows.
        (
            "GET",
            headers(&[("origin", APP)]),
            StatusCode::OK,
            HeaderMap::new(),
            &[Difference::RefusesAllowedOrigin],
        ),
        // `*` with credentials: blocked for a credentialed page.
        (
            "GET",
            headers(&[("origin", APP), ("cookie", "session=1")]),
            StatusCode::OK,
            headers(&[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-credentials", "true"),
            ]),
            &[
                Difference::RefusesAllowedOrigin,
                Difference::WildcardWithCredentials,
            ],
        ),
        // The right origin without Vary.
        (
            "GET",
            headers(&[("origin", APP)]),
            StatusCode::OK,
            headers(&[
                ("access-control-allow-origin", APP),
                ("access-control-allow-credentials", "true"),
            ]),
            &[Difference::MissingVaryOrigin],
        ),
        // A preflight for a method the policy does not allow, allowed by
        // the application.
        (
            "OPTIONS",
            headers(&[("origin", APP), ("access-control-request-method", "DELETE")]),
            StatusCode::NO_CONTENT,
            headers(&[
                ("access-control-allow-origin", APP),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "DELETE"),
                ("vary", "Origin"),
            ]),
            &[Difference::AllowsRefusedPreflight],
        ),
        // A preflight the policy allows, with a header the application
        // does not.
        (
            "OPTIONS",
            headers(&[
                ("origin", APP),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "content-type"),
            ]),
            StatusCode::OK,
            headers(&[
                ("access-control-allow-origin", APP),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "PUT"),
                ("vary", "Origin"),
            ]),
            &[Difference::RefusesAllowedPreflight],
        ),
        // A cross-site POST the policy's cross-origin protection refuses.
        (
            "POST",
            headers(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ]),
            StatusCode::OK,
            HeaderMap::new(),
            &[Difference::ServedForbidden],
        ),
        // The application answers 403 itself: no difference.
        (
            "POST",
            headers(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ]),
            StatusCode::FORBIDDEN,
            HeaderMap::new(),
            &[],
        ),
        // No CORS check applies to a WebSocket handshake, nor to a page of
        // the request's own origin.
        (
            "GET",
            headers(&[("origin", APP), ("upgrade", "websocket")]),
            StatusCode::SWITCHING_PROTOCOLS,
            HeaderMap::new(),
            &[],
        ),
        (
            "POST",
            headers(&[("origin", APP), ("sec-fetch-site", "same-origin")]),
            StatusCode::OK,
            HeaderMap::new(),
            &[],
        ),
        // But a handshake the policy would refuse is reported.
        (
            "GET",
            headers(&[("origin", "https://evil.example"), ("upgrade", "websocket")]),
            StatusCode::SWITCHING_PROTOCOLS,
            HeaderMap::new(),
            &[Difference::ServedForbidden],
        ),
        // One fixed origin for every request varies with nothing: no Vary
        // needed, but this origin cannot read the answer.
        (
            "GET",
            headers(&[("origin", APP)]),
            StatusCode::OK,
            headers(&[
                ("access-control-allow-origin", "https://other.example"),
                ("access-control-allow-credentials", "true"),
            ]),
            &[Difference::RefusesAllowedOrigin],
        ),
    ];
    for (method, request, status, answer, expected) in cases {
        let found = report(&policy, method, &request, status, &answer);
        assert_eq!(
            found.differences, expected,
            "{method} {request:?} -> {answer:?}"
        );
    }
}

#[test]
fn the_policy_agrees_with_itself() {
    // Whatever the request, the policy's own answer reports nothing.
    let policy = policy(Mode::ReportOnly);
    let requests = [
        ("GET", headers(&[("origin", APP)])),
        ("GET", headers(&[("origin", "https://evil.example")])),
        ("GET", HeaderMap::new()),
        (
            "OPTIONS",
            headers(&[
                ("origin", APP),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "content-type"),
            ]),
        ),
        (
            "OPTIONS",
            headers(&[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "PUT"),
            ]),
        ),
        // Refused by cross-origin protection, and a WebSocket handshake
        // from an origin not allowed: the policy's 403.
        (
            "POST",
            headers(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ]),
        ),
        (
            "GET",
            headers(&[("origin", "https://evil.example"), ("upgrade", "websocket")]),
        ),
    ];
    for (method, request) in requests {
        let ours = report(&policy, method, &request, StatusCode::OK, &HeaderMap::new()).policy;
        let again = report(&policy, method, &request, ours.0, &ours.1);
        assert!(
            again.differences.is_empty(),
            "{method} {request:?}: {again:?}"
        );
    }
}

/// An application that answers CORS itself: any origin reflected, every
/// preflight answered `200` with `DELETE`.
fn reflecting(
    calls: Arc<AtomicUsize>,
) -> impl tower::Service<
    Request<()>,
    Response = Response<String>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    service_fn(move |request: Request<()>| {
        calls.fetch_add(1, Ordering::SeqCst);
        let origin = request.headers().get("origin").cloned();
        async move {
            let mut response = Response::new("app".to_owned());
            if let Some(origin) = origin {
                response
                    .headers_mut()
                    .insert("access-control-allow-origin", origin);
                response.headers_mut().insert(
                    "access-control-allow-methods",
                    HeaderValue::from_static("DELETE"),
                );
            }
            Ok::<_, Infallible>(response)
        }
    })
}

#[tokio::test]
async fn the_tower_layer_changes_nothing_in_report_only_mode() {
    let calls = Arc::new(AtomicUsize::new(0));
    let cors = Cors::from(policy(Mode::ReportOnly));
    let service = tower::ServiceBuilder::new()
        .layer(cors)
        .service(reflecting(Arc::clone(&calls)));
    for (method, origin) in [
        ("GET", "https://evil.example"),
        ("OPTIONS", "https://evil.example"),
        ("POST", "https://evil.example"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri("/items")
            .header("origin", origin)
            .header("access-control-request-method", "DELETE")
            .header("sec-fetch-site", "cross-site")
            .body(())
            .unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{method}");
        assert_eq!(response.body(), "app", "{method}");
        assert_eq!(
            response
                .headers()
                .get("access-control-allow-origin")
                .unwrap(),
            origin,
            "{method}: the application's own header passes"
        );
        assert!(response.headers().get("vary").is_none(), "{method}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "every request reached the app"
    );
}

#[actix_web::test]
async fn the_actix_middleware_changes_nothing_in_report_only_mode() {
    use actix_web::{App, HttpRequest, HttpResponse, test, web};
    let cors = Cors::from(policy(Mode::ReportOnly));
    let app = test::init_service(App::new().wrap(cors).default_service(web::to(
        |request: HttpRequest| async move {
            let mut response = HttpResponse::Ok();
            if let Some(origin) = request.headers().get("origin") {
                response.insert_header(("access-control-allow-origin", origin.clone()));
            }
            response.body("app")
        },
    )))
    .await;
    for method in [
        actix_web::http::Method::GET,
        actix_web::http::Method::OPTIONS,
    ] {
        let request = test::TestRequest::default()
            .method(method.clone())
            .uri("/items")
            .insert_header(("origin", "https://evil.example"))
            .insert_header(("access-control-request-method", "DELETE"))
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(
            response.status(),
            actix_web::http::StatusCode::OK,
            "{method}"
        );
        assert_eq!(
            response
                .headers()
                .get("access-control-allow-origin")
                .unwrap(),
            "https://evil.example",
            "{method}"
        );
        assert_eq!(test::read_body(response).await, "app", "{method}");
    }
}
