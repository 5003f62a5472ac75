//! What the API saw at the wire: every request and the response it got,
//! recorded outside the CORS layer so that preflights are included.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

/// How many exchanges the log keeps; older ones are dropped first.
pub const CAPACITY: usize = 200;

/// The query parameter that ties a request to the call that made it.
pub(crate) const CALL_PARAMETER: &str = "call";

/// The longest call id accepted; longer values are not ids.
const MAX_CALL_ID: usize = 64;

/// One request the API received and the response it sent, as they were on
/// the wire (cookie values redacted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// Numbers the exchanges of one demo in the order their responses were
    /// ready: 1, 2, ...
    pub seq: u64,
    /// The `call` query parameter of the request: the page's id for the
    /// call that caused it (`page-RUN-N`, `attacker-RUN-N`), if any.
    pub call: Option<String>,
    /// The request method (`OPTIONS` for a preflight).
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// Whether the request is a CORS preflight: `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`.
    pub preflight: bool,
    /// The request headers in the order received, names in lowercase.
    pub request_headers: Vec<(String, String)>,
    /// The response status.
    pub status: u16,
    /// The response headers, names in lowercase.
    pub response_headers: Vec<(String, String)>,
    /// Whether the request reached the application behind the CORS layer
    /// (a preflight never does: corsair answers it).
    pub reached_app: bool,
    /// Why a browser's CORS check of this response fails for a credentialed
    /// call from the request's `Origin`, as the browser says it
    /// (`corsair::browser::cors_check`); `None` when it passes or the
    /// request had no `Origin`. The page shows it: it judges nothing itself.
    pub cors_failure: Option<String>,
}

impl Exchange {
    /// The first value of request header `name` (lowercase).
    pub fn request_header(&self, name: &str) -> Option<&str> {
        find(&self.request_headers, name)
    }

    /// The first value of response header `name` (lowercase).
    pub fn response_header(&self, name: &str) -> Option<&str> {
        find(&self.response_headers, name)
    }
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(candidate, _)| candidate == name)
        .map(|(_, value)| value.as_str())
}

/// A bounded, shared log of [`Exchange`]s: the newest [`CAPACITY`] are
/// kept. Clones share the same log.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExchangeLog {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Mutex<VecDeque<Exchange>>,
    next_seq: AtomicU64,
}

/// Put in the extensions of every response the application made, so that
/// the log can tell them from corsair's preflight answers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReachedApp;

impl ExchangeLog {
    /// Appends an exchange, numbering it and dropping the oldest when full.
    pub(crate) fn push(&self, mut exchange: Exchange) {
        exchange.seq = self.inner.next_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut entries = self.lock();
        while entries.len() >= CAPACITY {
            entries.pop_front();
        }
        entries.push_back(exchange);
    }

    /// Every exchange kept, oldest first.
    pub(crate) fn all(&self) -> Vec<Exchange> {
        self.lock().iter().cloned().collect()
    }

    /// The exchanges of one call, oldest first.
    pub(crate) fn of_call(&self, call: &str) -> Vec<Exchange> {
        self.lock()
            .iter()
            .filter(|exchange| exchange.call.as_deref() == Some(call))
            .cloned()
            .collect()
    }

    /// The lock; a thread that panicked holding it left a usable log.
    fn lock(&self) -> MutexGuard<'_, VecDeque<Exchange>> {
        self.inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// axum middleware (with the log as state) that records each exchange once
/// the response head is ready, before it is sent: a page that fetches the
/// log after its call finished finds the call in it.
pub(crate) async fn record(
    State(log): State<ExchangeLog>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), ToString::to_string);
    let call = call_id(request.uri().query());
    let preflight = corsair::policy::is_preflight(method.as_str(), request.headers());
    let request_headers = pairs(request.headers());
    let origin = request
        .headers()
        .get(http::header::ORIGIN)
        .and_then(|origin| origin.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let cors_failure = origin.and_then(|origin| {
        corsair::browser::cors_check(response.headers(), &origin, true)
            .err()
            .map(|failure| failure.to_string())
    });
    log.push(Exchange {
        seq: 0,
        call,
        method: method.to_string(),
        target,
        preflight,
        request_headers,
        status: response.status().as_u16(),
        response_headers: pairs(response.headers()),
        reached_app: response.extensions().get::<ReachedApp>().is_some(),
        cors_failure,
    });
    response
}

/// Marks a response as made by the application (see [`ReachedApp`]).
pub(crate) async fn mark_reached_app(mut response: Response) -> Response {
    response.extensions_mut().insert(ReachedApp);
    response
}

/// The `call` parameter of a query, when it is a plausible id: 1 to
/// [`MAX_CALL_ID`] ASCII letters, digits, `-` or `_` (so it needs no
/// decoding and is safe to show).
pub(crate) fn call_id(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == CALL_PARAMETER)
        .map(|(_, value)| value)
        .filter(|value| is_call_id(value))
        .map(str::to_owned)
}

/// Whether `value` is a well-formed call id.
pub(crate) fn is_call_id(value: &str) -> bool {
    (1..=MAX_CALL_ID).contains(&value.len())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// Header names and values as text, with cookie values redacted: the log
/// is shown on pages, the attacker's included, and must not hand out the
/// session.
fn pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let text = String::from_utf8_lossy(value.as_bytes());
            let shown = match name.as_str() {
                "cookie" => redact_cookies(&text),
                "set-cookie" => redact_set_cookie(&text),
                _ => text.into_owned(),
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// `a=1; session=xyz` becomes `a=…; session=…`.
fn redact_cookies(value: &str) -> String {
    value
        .split(';')
        .map(|pair| match pair.trim().split_once('=') {
            Some((name, _)) => format!("{name}=…"),
            None => pair.trim().to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `session=xyz; Path=/; Secure` becomes `session=…; Path=/; Secure`.
fn redact_set_cookie(value: &str) -> String {
    match value.split_once(';') {
        Some((pair, attributes)) => format!("{};{attributes}", redact_cookies(pair)),
        None => redact_cookies(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(call: &str) -> Exchange {
        Exchange {
            seq: 0,
            call: Some(call.to_owned()),
            method: "GET".to_owned(),
            target: format!("/me?call={call}"),
            preflight: false,
            request_headers: Vec::new(),
            status: 200,
            response_headers: Vec::new(),
            cors_failure: None,
            reached_app: true,
        }
    }

    #[test]
    fn the_log_keeps_the_newest_entries_up_to_its_capacity() {
        let log = ExchangeLog::default();
        for n in 0..CAPACITY + 50 {
            log.push(exchange(&format!("page-x-{n}")));
        }
        let all = log.all();
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all.first().map(|e| e.seq), Some(51));
        assert_eq!(all.last().map(|e| e.seq), Some(250));
        assert!(log.of_call("page-x-0").is_empty());
        assert_eq!(log.of_call("page-x-249").len(), 1);
    }

    #[test]
    fn call_ids_come_from_the_query_and_must_be_plain() {
        assert_eq!(
            call_id(Some("call=page-ab12-3")),
            Some("page-ab12-3".into())
        );
        assert_eq!(call_id(Some("x=1&call=a_b")), Some("a_b".into()));
        assert_eq!(call_id(Some("call=%3Cscript%3E")), None);
        assert_eq!(call_id(Some("call=")), None);
        assert_eq!(call_id(Some("recall=x")), None);
        assert_eq!(call_id(None), None);
        assert_eq!(call_id(Some(&format!("call={}", "a".repeat(65)))), None);
    }

    #[test]
    fn cookie_values_are_redacted() {
        assert_eq!(
            redact_cookies("session=abc; theme=dark"),
            "session=…; theme=…"
        );
        assert_eq!(
            redact_set_cookie("session=abc; Path=/; HttpOnly; SameSite=None; Secure"),
            "session=…; Path=/; HttpOnly; SameSite=None; Secure"
        );
    }
}
