//! [`RouterTransport`]: the model's requests carried to an axum `Router`
//! in memory, as they would reach it over HTTP.

use std::convert::Infallible;
use std::future::poll_fn;

use axum::Router;
use axum::body::{Body, to_bytes};
use corsair::browser::{Incoming, Outgoing, Transport};
use http::header::CONTENT_LENGTH;
use http::{HeaderValue, Method, Request};
use tower_service::Service;

/// A [`Transport`] for `corsair::browser::Browser::play` that hands each
/// request to an axum [`Router`] (the same router the real servers run,
/// typically with a [`crate::RequestLog`] of its own), whatever the URL's
/// host and port: a router that serves several origins tells them apart
/// by the `Host` header. Each request gets what an HTTP client would add
/// on the wire: `Host` (the URL's host and port, without any user info)
/// and, when it has a body, `Content-Length`. The response body is read
/// whole (up to 16 MiB).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use axum::{Router, routing::get};
/// use corsair::browser::{Browser, CorsRequest};
/// use corsair_e2e::{RequestLog, RouterTransport};
///
/// let log = RequestLog::new();
/// let router = Router::new()
///     .route("/", get(|| async { ([("access-control-allow-origin", "*")], "hi") }))
///     .layer(log.clone());
/// let mut model = Browser::new("http://localhost:1").unwrap();
/// let transcript = model
///     .play(&mut RouterTransport::new(router), &CorsRequest::get("http://127.0.0.1:2/"))
///     .await
///     .unwrap();
/// assert!(transcript.allowed());
/// assert_eq!(log.entries()[0].header("host"), Some("127.0.0.1:2"));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RouterTransport {
    router: Router,
}

impl RouterTransport {
    /// Carries requests to `router`.
    pub fn new(router: Router) -> Self {
        Self { router }
    }
}

impl Transport for RouterTransport {
    type Error = Infallible;

    async fn exchange(&mut self, outgoing: &Outgoing) -> Result<Incoming, Infallible> {
        let mut headers = outgoing.headers_with_host();
        if !outgoing.body.is_empty() {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(outgoing.body.len()));
        }
        let mut request = Request::new(Body::from(outgoing.body.clone()));
        // The model only sends methods it has validated as tokens.
        *request.method_mut() =
            Method::from_bytes(outgoing.method.as_bytes()).unwrap_or(Method::GET);
        if let Ok(uri) = outgoing.target().parse() {
            *request.uri_mut() = uri;
        }
        *request.headers_mut() = headers;
        poll_fn(|cx| Service::<Request<Body>>::poll_ready(&mut self.router, cx)).await?;
        let response = self.router.call(request).await?;
        let (parts, body) = response.into_parts();
        // An axum body read in memory fails only past the limit; a
        // response that large is no answer these tests expect.
        let body = to_bytes(body, 16 << 20).await.unwrap_or_default();
        Ok(Incoming::new(parts.status, parts.headers).with_body(body))
    }
}
