#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The conformance table, `crates/conformance/cases.toml`, run through the
//! tower adapter.
//!
//! The table, its loading and the comparison live in `corsair-conformance`, shared
//! with the actix-web runner (`tests/conformance_actix.rs`). This runner
//! sends each case's request with `tower::ServiceExt::oneshot` through
//! `cors.layer(app)`, where `app` is a `service_fn` that counts its calls and
//! answers the case's `app_status`, `app_headers` and `app_body` (a
//! `Full` body, or a `StreamBody` sending each chunk as its own frame; no
//! body for `HEAD`). For `app_error`, the service fails with an error that
//! carries the `app_headers`; between the service and the CORS layer it is
//! rendered as a `500` with the error's message as the body, which is what a
//! framework does with an error (axum's `HandleErrorLayer`, the error arm of
//! a hyper service), since a tower error has no response for CORS headers.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use corsair::{Config, Cors};
use corsair_conformance::{APP_ERROR_BODY, AppBody, Case, Outcome, Report};
use futures_util::stream;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use tower::{Layer, ServiceExt, service_fn};

type Body = BoxBody<Bytes, Infallible>;

/// An application error, with the headers the application set before it
/// failed.
#[derive(Debug)]
struct AppError {
    headers: HeaderMap,
    head: bool,
}

impl AppError {
    /// What a framework answers for the error: a `500` with its message.
    fn into_response(self) -> Response<Body> {
        let body = if self.head {
            Body::default()
        } else {
            Full::new(Bytes::from_static(APP_ERROR_BODY.as_bytes())).boxed()
        };
        let mut response = Response::new(body);
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        *response.headers_mut() = self.headers;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}

fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("bad header name {name:?}: {e}"))?;
        let value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|e| format!("bad value for {name}: {e}"))?;
        map.append(header, value);
    }
    Ok(map)
}

/// The application's body: nothing for `HEAD`, otherwise the case's body in
/// one piece or as a stream of frames.
fn app_body(body: Option<&AppBody>, head: bool) -> Body {
    match body {
        None => Body::default(),
        Some(AppBody::Whole(_)) if head => Body::default(),
        Some(AppBody::Whole(text)) => Full::new(Bytes::from(text.clone())).boxed(),
        Some(AppBody::Chunks(chunks)) => {
            let chunks = if head { Vec::new() } else { chunks.clone() };
            let frames = chunks
                .into_iter()
                .map(|chunk| Ok::<_, Infallible>(Frame::data(Bytes::from(chunk))));
            StreamBody::new(stream::iter(frames)).boxed()
        }
    }
}

/// Runs one case through `cors.layer(app)`.
async fn run(case: &Case, cors: &Cors) -> Result<Outcome, String> {
    let method = Method::from_bytes(case.method.as_bytes())
        .map_err(|e| format!("bad method {:?}: {e}", case.method))?;
    let app_status = StatusCode::from_u16(case.app_status())
        .map_err(|e| format!("bad app_status {}: {e}", case.app_status()))?;
    let app_headers = header_map(&case.app_headers())?;
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = http::Uri::from_static("/resource");
    *request.headers_mut() = header_map(&case.headers())?;

    let calls = Arc::new(AtomicUsize::new(0));
    let app = {
        let calls = Arc::clone(&calls);
        let body = case.app_body.clone();
        let error = case.app_error;
        service_fn(move |request: Request<()>| {
            calls.fetch_add(1, Ordering::SeqCst);
            let head = request.method() == Method::HEAD;
            let result = if error {
                Err(AppError {
                    headers: app_headers.clone(),
                    head,
                })
            } else {
                let mut response = Response::new(app_body(body.as_ref(), head));
                *response.status_mut() = app_status;
                *response.headers_mut() = app_headers.clone();
                Ok(response)
            };
            async move { result }
        })
    };
    // The framework's part: an error becomes its response.
    let app = service_fn(move |request: Request<()>| {
        let call = app.clone().oneshot(request);
        async move { Ok::<_, Infallible>(call.await.unwrap_or_else(AppError::into_response)) }
    });
    let response = match cors.layer(app).oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };

    let (parts, mut body) = response.into_parts();
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(never) => match never {},
        };
        if let Ok(data) = frame.into_data() {
            frames.push(data.to_vec());
        }
    }
    Ok(Outcome {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect(),
        body: frames.concat(),
        frames: Some(frames),
        app_calls: calls.load(Ordering::SeqCst),
    })
}

#[tokio::test]
async fn conformance_table() {
    let table = corsair_conformance::table::load();
    let mut report = Report::new("tower");
    for case in &table.cases {
        report.record(case, run(case, table.cors(case)).await);
    }
    report.finish();
}

/// Without a framework to render it, an application error goes through the
/// layer as it is: there is no response to put headers on.
#[tokio::test]
async fn an_error_passes_through_unchanged() {
    let cors = Cors::new(Config {
        allow_origins: vec!["https://app.example.com".into()],
        ..Config::default()
    })
    .unwrap();
    let app =
        service_fn(|_: Request<()>| async { Err::<Response<Body>, _>("the application failed") });
    let request = Request::get("/")
        .header("origin", "https://app.example.com")
        .body(())
        .unwrap();
    let error = cors.layer(app).oneshot(request).await.unwrap_err();
    assert_eq!(error, "the application failed");
}

/// Cross-origin protection over HTTP/2, where the request's host is in the
/// URI (`:authority`) and there is no `Host` header: an old browser's
/// same-origin `POST` (no `Sec-Fetch-Site`) passes, another origin's does
/// not, and the application sees the `Host` the layer completed.
#[tokio::test]
async fn protection_reads_the_authority_when_there_is_no_host() {
    let cors = Cors::new(Config {
        allow_origins: vec!["https://app.example.com".into()],
        allow_credentials: true,
        cross_origin_protection: true,
        ..Config::default()
    })
    .unwrap();
    let app = service_fn(|request: Request<()>| async move {
        let host = request.headers().get("host").cloned();
        let mut response = Response::new(app_body(None, false));
        if let Some(host) = host {
            response.headers_mut().insert("x-seen-host", host);
        }
        Ok::<_, Infallible>(response)
    });
    let service = cors.layer(app);
    let post = |origin: &'static str| {
        Request::post("https://api.example.com/items")
            .header("origin", origin)
            .body(())
            .unwrap()
    };
    let own = service
        .clone()
        .oneshot(post("https://api.example.com"))
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(own.headers()["x-seen-host"], "api.example.com");
    let other = service.oneshot(post("https://evil.example")).await.unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
}
