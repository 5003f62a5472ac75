//! Dynamic origin sources through the actix-web middleware: a preflight
//! and a cross-site form `POST` wait for the source's answer before the app
//! may run; a `GET` runs beside it and gets its headers after.

#![cfg(all(feature = "origin-source", feature = "actix"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpResponse, web};
use corsair::config::{Config, OriginSourceConfig};
use corsair::origin::source;
use corsair::{Cors, CorsBuilder};

const TENANT: &str = "https://shop.tenant.example";
const STRANGER: &str = "https://evil.example";

fn cors(asked: &Arc<AtomicUsize>) -> Cors {
    let asked = Arc::clone(asked);
    CorsBuilder::from(Config {
        allow_origins: vec!["https://app.example.com".into()],
        allow_credentials: true,
        allow_methods: vec!["PUT".into()],
        cross_origin_protection: true,
        origin_source: Some(OriginSourceConfig::default()),
        ..Config::default()
    })
    .origin_source(source::from_async_fn(move |origin: String| {
        asked.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            Ok::<_, std::io::Error>(origin.ends_with(".tenant.example"))
        }
    }))
    .build()
    .unwrap()
}

/// The `Access-Control-Allow-Origin` of a response.
fn allow_origin<B>(response: &actix_web::dev::ServiceResponse<B>) -> Option<String> {
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|value| value.to_str().unwrap().to_owned())
}

#[actix_web::test]
async fn the_middleware_waits_for_the_source_where_it_must() {
    let asked = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let app = init_service(
        App::new()
            .wrap(cors(&asked))
            .default_service(web::to(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { HttpResponse::Ok().body("ok") }
            })),
    )
    .await;

    let preflight = TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/items")
        .insert_header(("origin", TENANT))
        .insert_header(("access-control-request-method", "PUT"))
        .to_request();
    let response = call_service(&app, preflight).await;
    assert_eq!(response.status(), 204);
    assert_eq!(allow_origin(&response).as_deref(), Some(TENANT));

    let post = |origin: &str| {
        TestRequest::post()
            .uri("/items")
            .insert_header(("origin", origin))
            .insert_header(("sec-fetch-site", "cross-site"))
            .insert_header(("content-type", "text/plain"))
            .to_request()
    };
    let response = call_service(&app, post(STRANGER)).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the app ran for a stranger"
    );
    let response = call_service(&app, post(TENANT)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(allow_origin(&response).as_deref(), Some(TENANT));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A GET from a new origin: the app runs, the headers follow the answer.
    let get = |origin: &str| {
        TestRequest::get()
            .uri("/items")
            .insert_header(("origin", origin))
            .to_request()
    };
    let response = call_service(&app, get("https://other.tenant.example")).await;
    assert_eq!(
        allow_origin(&response).as_deref(),
        Some("https://other.tenant.example")
    );
    let response = call_service(&app, get("https://other.example")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(allow_origin(&response), None);
    assert_eq!(response.headers().get("vary").unwrap(), "Origin");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // Four origins asked about, the tenant once.
    assert_eq!(asked.load(Ordering::SeqCst), 4);
}
