//! A tower layer that records what a server saw: requests and the status
//! and headers of their responses.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use http::{HeaderMap, Method, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

/// One request as a [`RequestLog`] saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The request method.
    pub method: Method,
    /// The path and query.
    pub path: String,
    /// The request headers.
    pub headers: HeaderMap,
    /// The status of the response, once the layer's inner service answered.
    pub status: Option<StatusCode>,
    /// The headers of the response, once the layer's inner service
    /// answered.
    pub response_headers: HeaderMap,
}

impl Seen {
    /// The request header `name` as text (the first, if repeated).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The response header `name` as text (the first, if repeated).
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .get(name)
            .and_then(|value| value.to_str().ok())
    }

    /// The value of cookie `name` in the request's `Cookie` headers.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                (key == name).then_some(value)
            })
    }

    /// Whether this is a CORS preflight: `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`.
    pub fn is_preflight(&self) -> bool {
        self.method == Method::OPTIONS
            && self.headers.contains_key(http::header::ORIGIN)
            && self
                .headers
                .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
    }
}

/// A shared, append-only list of the requests that went through its layer.
///
/// `RequestLog` is a tower [`Layer`]: put one outside corsair's layer to
/// see everything the browser sent (preflights included) with corsair's
/// answers, and one inside to see what reached the application. Clones
/// share the same list.
///
/// ```
/// use axum::{Router, routing::get};
/// use corsair_e2e::RequestLog;
///
/// let wire = RequestLog::new();
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(wire.clone());
/// assert!(wire.entries().is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    entries: Arc<Mutex<Vec<Seen>>>,
}

impl RequestLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every request recorded so far, in arrival order.
    pub fn entries(&self) -> Vec<Seen> {
        self.lock().clone()
    }

    /// The requests recorded so far that `keep` selects.
    pub fn filter(&self, keep: impl Fn(&Seen) -> bool) -> Vec<Seen> {
        self.lock()
            .iter()
            .filter(|seen| keep(seen))
            .cloned()
            .collect()
    }

    /// The preflights recorded so far (see [`Seen::is_preflight`]).
    pub fn preflights(&self) -> Vec<Seen> {
        self.filter(Seen::is_preflight)
    }

    /// One line per request, to compare with an expected sequence:
    /// `METHOD /path`, or `OPTIONS /path for METHOD` for a preflight (with
    /// the method it asked for).
    pub fn lines(&self) -> Vec<String> {
        self.lock()
            .iter()
            .map(|seen| match seen.header("access-control-request-method") {
                Some(method) if seen.is_preflight() => {
                    format!("OPTIONS {} for {method}", seen.path)
                }
                _ => format!("{} {}", seen.method, seen.path),
            })
            .collect()
    }

    /// A one-line summary per request (`METHOD path -> status`), for
    /// assertion messages.
    pub fn summary(&self) -> String {
        self.lock()
            .iter()
            .map(|seen| {
                let status = seen
                    .status
                    .map_or_else(|| "(no answer yet)".to_owned(), |s| s.as_u16().to_string());
                format!("{} {} -> {status}", seen.method, seen.path)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Forgets everything recorded.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Seen>> {
        // Entries are only ever pushed or completed whole: a poisoned list
        // is still consistent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record<B>(&self, request: &Request<B>) -> usize {
        let mut entries = self.lock();
        entries.push(Seen {
            method: request.method().clone(),
            path: request
                .uri()
                .path_and_query()
                .map_or_else(|| request.uri().path().to_owned(), ToString::to_string),
            headers: request.headers().clone(),
            status: None,
            response_headers: HeaderMap::new(),
        });
        entries.len().saturating_sub(1)
    }

    fn complete<B>(&self, index: usize, response: &Response<B>) {
        if let Some(seen) = self.lock().get_mut(index) {
            seen.status = Some(response.status());
            seen.response_headers = response.headers().clone();
        }
    }
}

impl<S> Layer<S> for RequestLog {
    type Service = Recorded<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Recorded {
            inner,
            log: self.clone(),
        }
    }
}

/// A service whose requests are recorded in a [`RequestLog`]. Made by
/// layering the log.
#[derive(Clone, Debug)]
pub struct Recorded<S> {
    inner: S,
    log: RequestLog,
}

impl<S, B, R> Service<Request<B>> for Recorded<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let index = self.log.record(&request);
        let log = self.log.clone();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let result = answer.await;
            if let Ok(response) = &result {
                log.complete(index, response);
            }
            result
        })
    }
}
