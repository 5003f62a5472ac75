//! The conformance table, `crates/conformance/cases.toml`, run through the
//! actix-web adapter: the very cases of the tower runner
//! (`tests/conformance.rs`), with the table, its loading and the comparison
//! shared in `tests/common`.
//!
//! Each case runs in `App::new().wrap(cors).default_service(app)` with
//! `actix_web::test::{init_service, try_call_service, TestRequest}`. The app
//! counts its calls and answers the case's `app_status`, `app_headers` and
//! `app_body` (`.body(..)`, or `.streaming(..)` with each chunk its own item;
//! no body for `HEAD`), or fails with an `actix_web::Error` (for
//! `app_error`): `ErrorInternalServerError`, or `InternalError::from_response`
//! when the error response carries the application's headers.
//!
//! The table runs twice, because actix-web delivers an application error to
//! a middleware in two ways:
//! - the app is a handler (`web::to`), the usual code: actix-web turns the
//!   handler's `Err` into an error response before the middleware sees it,
//!   so the middleware receives `Ok(response)`;
//! - the app is a service (`dev::fn_service`), like an inner middleware or
//!   a default service returning `Err`: the middleware receives the `Err`
//!   itself and must render it with the CORS headers.

#![cfg(feature = "actix")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::poll_fn;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, fn_service};
use actix_web::error::{ErrorInternalServerError, InternalError};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::test::{TestRequest, init_service, try_call_service};
use actix_web::{App, HttpRequest, HttpResponse, web};
use bytes::Bytes;
use corsair::{Config, Cors};
use corsair_conformance::{APP_ERROR_BODY, AppBody, Case, Outcome, Report};
use futures_util::stream;

/// How the application is plugged into the app.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// A handler, `default_service(web::to(..))`.
    Handler,
    /// A service, `default_service(fn_service(..))`.
    Service,
}

/// What the application does, built from a case.
struct Application {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<AppBody>,
    error: bool,
    calls: Arc<AtomicUsize>,
}

impl Application {
    fn new(case: &Case) -> Result<Self, String> {
        let status = StatusCode::from_u16(case.app_status())
            .map_err(|e| format!("bad app_status {}: {e}", case.app_status()))?;
        Ok(Application {
            status,
            headers: headers(&case.app_headers())?,
            body: case.app_body.clone(),
            error: case.app_error,
            calls: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The application's answer to `request`: a response, or an error.
    fn answer(&self, request: &HttpRequest) -> Result<HttpResponse, actix_web::Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let head = request.method() == Method::HEAD;
        if self.error {
            if self.headers.is_empty() && !head {
                return Err(ErrorInternalServerError(APP_ERROR_BODY));
            }
            // An error carrying the response the application built for it.
            let mut response = HttpResponse::InternalServerError();
            for pair in &self.headers {
                response.append_header(pair.clone());
            }
            response.insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ));
            let response = if head {
                response.finish()
            } else {
                response.body(APP_ERROR_BODY)
            };
            return Err(InternalError::from_response(APP_ERROR_BODY, response).into());
        }
        let mut response = HttpResponse::build(self.status);
        for pair in &self.headers {
            response.append_header(pair.clone());
        }
        Ok(match &self.body {
            None => response.finish(),
            Some(AppBody::Whole(_)) if head => response.finish(),
            Some(AppBody::Whole(text)) => response.body(text.clone()),
            Some(AppBody::Chunks(chunks)) => {
                let chunks = if head { Vec::new() } else { chunks.clone() };
                let items = chunks
                    .into_iter()
                    .map(|chunk| Ok::<_, std::convert::Infallible>(Bytes::from(chunk)));
                response.streaming(stream::iter(items))
            }
        })
    }
}

fn headers(pairs: &[(String, String)]) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    pairs
        .iter()
        .map(|(name, value)| {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("bad header name {name:?}: {e}"))?;
            let value = HeaderValue::from_bytes(value.as_bytes())
                .map_err(|e| format!("bad value for {name}: {e}"))?;
            Ok((header, value))
        })
        .collect()
}

/// Runs one case through `App::new().wrap(cors).default_service(app)`.
async fn run(case: &Case, cors: &Cors, mode: Mode) -> Result<Outcome, String> {
    let method = Method::from_bytes(case.method.as_bytes())
        .map_err(|e| format!("bad method {:?}: {e}", case.method))?;
    let mut request = TestRequest::default().method(method).uri("/resource");
    for pair in headers(&case.headers())? {
        request = request.append_header(pair);
    }
    let application = Rc::new(Application::new(case)?);
    let calls = Arc::clone(&application.calls);

    let response = match mode {
        Mode::Handler => {
            let app = init_service(App::new().wrap(cors.clone()).default_service(web::to(
                move |request: HttpRequest| {
                    let application = Rc::clone(&application);
                    async move { application.answer(&request) }
                },
            )))
            .await;
            try_call_service(&app, request.to_request()).await
        }
        Mode::Service => {
            let app = init_service(App::new().wrap(cors.clone()).default_service(fn_service(
                move |request: ServiceRequest| {
                    let application = Rc::clone(&application);
                    async move {
                        let response = application.answer(request.request())?;
                        Ok(request.into_response(response))
                    }
                },
            )))
            .await;
            try_call_service(&app, request.to_request()).await
        }
    };
    let calls = calls.load(Ordering::SeqCst);
    match response {
        Ok(response) => outcome(response.map_into_boxed_body(), calls).await,
        // What actix-web's dispatcher sends for an error: its response.
        Err(error) => outcome(error.error_response(), calls).await,
    }
}

/// Reads a response, body frame by frame.
async fn outcome(
    response: impl Into<HttpResponse<BoxBody>>,
    app_calls: usize,
) -> Result<Outcome, String> {
    let response: HttpResponse<BoxBody> = response.into();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let mut body = pin!(response.into_body());
    let mut frames = Vec::new();
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_next(cx)).await {
        let frame = frame.map_err(|error| format!("the body failed: {error}"))?;
        frames.push(frame.to_vec());
    }
    Ok(Outcome {
        status,
        headers,
        body: frames.concat(),
        frames: Some(frames),
        app_calls,
    })
}

async fn run_table(mode: Mode, runner: &'static str) {
    let table = corsair_conformance::table::load();
    let mut report = Report::new(runner);
    for case in &table.cases {
        report.record(case, run(case, table.cors(case), mode).await);
    }
    report.finish();
}

#[actix_web::test]
async fn conformance_table_handler() {
    run_table(Mode::Handler, "actix-web, handler").await;
}

#[actix_web::test]
async fn conformance_table_service() {
    run_table(Mode::Service, "actix-web, service").await;
}

/// An error from the app stays an error for the middleware outside, but the
/// response actix-web renders from it carries the CORS headers, and the
/// error is still there for outer middleware (`Logger`, error handlers).
#[actix_web::test]
async fn an_error_stays_an_error_and_renders_with_cors_headers() {
    let cors = Cors::new(Config {
        allow_origins: vec!["https://app.example.com".into()],
        ..Config::default()
    })
    .unwrap();
    let app = init_service(App::new().wrap(cors).default_service(fn_service(
        |_: ServiceRequest| async {
            Err::<ServiceResponse, _>(ErrorInternalServerError(APP_ERROR_BODY))
        },
    )))
    .await;
    let request = TestRequest::get()
        .uri("/")
        .insert_header(("origin", "https://app.example.com"))
        .to_request();
    let error = match app.call(request).await {
        Err(error) => error,
        Ok(response) => panic!("the error became a response: {}", response.status()),
    };
    assert_eq!(error.to_string(), APP_ERROR_BODY);
    let response = error.error_response();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "https://app.example.com"
    );
}

/// Through actix-web's router (`.route`), whose path matching needs the
/// request not to be shared: every kind of request is answered.
#[actix_web::test]
async fn routed_apps_answer_every_kind_of_request() {
    let cors = Cors::new(Config {
        allow_origins: vec!["https://app.example.com".into()],
        allow_credentials: true,
        allow_methods: vec!["PUT".into()],
        ..Config::default()
    })
    .unwrap();
    let app = init_service(
        App::new()
            .wrap(cors)
            .route("/me", web::get().to(|| async { "ada" }))
            .route("/items/{id}", web::put().to(|| async { "saved" }))
            .route(
                "/fails",
                web::get().to(|| async { Err::<String, _>(ErrorInternalServerError("down")) }),
            ),
    )
    .await;
    for (method, path, origin, status) in [
        (
            Method::GET,
            "/me",
            "https://app.example.com",
            StatusCode::OK,
        ),
        (
            Method::PUT,
            "/items/1",
            "https://app.example.com",
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/fails",
            "https://app.example.com",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            Method::GET,
            "/nowhere",
            "https://app.example.com",
            StatusCode::NOT_FOUND,
        ),
        (Method::GET, "/me", "https://evil.example", StatusCode::OK),
    ] {
        let request = TestRequest::default()
            .method(method.clone())
            .uri(path)
            .insert_header(("origin", origin))
            .to_request();
        let response = match app.call(request).await {
            Ok(response) => response.map_into_boxed_body().into(),
            Err(error) => error.error_response(),
        };
        assert_eq!(response.status(), status, "{method} {path}");
        let allowed = response.headers().get("access-control-allow-origin");
        if origin == "https://evil.example" {
            assert!(allowed.is_none());
        } else {
            assert_eq!(allowed.unwrap(), origin, "{method} {path}");
        }
    }
}

/// The middleware converts a policy's values once and keeps them: after
/// `reconfigure`, the very next request must be answered with the new
/// policy's values, preflight and actual alike, and never the old ones.
#[actix_web::test]
async fn a_reconfiguration_reaches_a_running_app() {
    let config = |origin: &str, method: &str, expose: &str| Config {
        allow_origins: vec![origin.into()],
        allow_credentials: true,
        allow_methods: vec![method.into()],
        allow_headers: vec!["x-before".into()],
        expose_headers: vec![expose.into()],
        max_age: Some(60),
        ..Config::default()
    };
    let cors = Cors::new(config("https://a.example", "PUT", "x-one")).unwrap();
    let app = init_service(
        App::new()
            .wrap(cors.clone())
            .default_service(web::to(|| async { "ok" })),
    )
    .await;
    let ask = |origin: &'static str, preflight: bool| {
        let request = TestRequest::default()
            .uri("/items/1")
            .insert_header(("origin", origin));
        if preflight {
            request
                .method(Method::OPTIONS)
                .insert_header(("access-control-request-method", "PATCH"))
                .to_request()
        } else {
            request.to_request()
        }
    };
    let header = |response: &ServiceResponse<_>, name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };

    let before = app.call(ask("https://a.example", false)).await.unwrap();
    assert_eq!(
        header(&before, "access-control-expose-headers").as_deref(),
        Some("x-one")
    );
    let refused = app.call(ask("https://a.example", true)).await.unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "PATCH is not allowed yet"
    );

    cors.reconfigure(config("https://b.example", "PATCH", "x-two"))
        .unwrap();
    let old = app.call(ask("https://a.example", false)).await.unwrap();
    assert_eq!(header(&old, "access-control-allow-origin"), None);
    let actual = app.call(ask("https://b.example", false)).await.unwrap();
    assert_eq!(
        header(&actual, "access-control-allow-origin").as_deref(),
        Some("https://b.example")
    );
    assert_eq!(
        header(&actual, "access-control-expose-headers").as_deref(),
        Some("x-two")
    );
    let preflight = app.call(ask("https://b.example", true)).await.unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&preflight, "access-control-allow-methods").as_deref(),
        Some("PATCH")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-headers").as_deref(),
        Some("x-before")
    );
    assert_eq!(
        header(&preflight, "access-control-max-age").as_deref(),
        Some("60")
    );
}
