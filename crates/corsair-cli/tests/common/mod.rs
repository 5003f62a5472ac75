//! What the proxy tests share: an upstream service (hyper on 127.0.0.1:0)
//! with the routes the tests need, a client, proxy files, and a body
//! pattern that can be generated and checked at any length without holding
//! it in memory.
//!
//! The upstream's routes:
//!
//! | path | answer |
//! |---|---|
//! | `/headers` | `200`, JSON: the method, target and headers it received |
//! | `/echo` | `200`, the request body streamed back |
//! | `/count` | `200`, JSON: how many bytes the request body had and whether they were [`Pattern`] |
//! | `/stream?chunks=N` | `200`, `N` chunks of [`Pattern`], streamed |
//! | `/gated` | `200`, a first chunk, then the rest once [`State::release`] is notified |
//! | `/slow?ms=N` | `200` after `N` ms; [`State::slow_arrived`] is notified when it arrives |
//! | `/cors` | `200` with the upstream's own CORS headers, which the proxy must strip |
//! | `/hop` | `200` with hop-by-hop headers, which the proxy must strip |
//! | `/ws` | a WebSocket echo |
//! | anything else | `200`, `upstream <path>` |

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub(crate) mod process;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _, stream};
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// Any error, for bodies.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of every request and response the tests make.
pub(crate) type Body = BoxBody<Bytes, BoxError>;

/// An empty body.
pub(crate) fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// A body of `data`, in one piece.
pub(crate) fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

// ---------------------------------------------------------------------------
// The pattern
// ---------------------------------------------------------------------------

/// The body pattern: byte `i` of a stream is `i % 251`. A prime period makes
/// a dropped, repeated or reordered piece show (unless its length is a
/// multiple of 251 and it is the same bytes, which the byte count catches).
pub(crate) struct Pattern;

impl Pattern {
    /// The period.
    const PERIOD: usize = 251;
    /// The bytes of one chunk: 256 periods, about 63 KiB.
    pub(crate) const CHUNK: usize = Self::PERIOD * 256;
    /// The chunks in about 100 MB.
    pub(crate) const CHUNKS_100_MB: usize = 100 * 1024 * 1024 / Self::CHUNK + 1;

    /// One chunk; every chunk of the stream is the same bytes, since a
    /// chunk is a whole number of periods.
    pub(crate) fn chunk() -> Bytes {
        let bytes: Vec<u8> = (0..Self::CHUNK + Self::PERIOD)
            .map(|i| u8::try_from(i % Self::PERIOD).unwrap())
            .collect();
        Bytes::from(bytes).slice(..Self::CHUNK)
    }

    /// A body of `chunks` chunks, streamed one by one.
    pub(crate) fn body(chunks: usize) -> Body {
        let chunk = Self::chunk();
        let frames = stream::iter(0..chunks).map(move |_| Ok(Frame::data(chunk.clone())));
        BodyExt::boxed(StreamBody::new(frames))
    }

    /// The length of a body of `chunks` chunks.
    pub(crate) fn len(chunks: usize) -> u64 {
        (chunks * Self::CHUNK) as u64
    }
}

/// Checks that bytes, fed in pieces of any size, follow [`Pattern`].
#[derive(Debug, Default)]
pub(crate) struct PatternCheck {
    /// Bytes seen.
    pub(crate) bytes: u64,
    /// The offset of the first byte that broke the pattern.
    pub(crate) broken_at: Option<u64>,
    reference: Vec<u8>,
}

impl PatternCheck {
    pub(crate) fn new() -> Self {
        let reference = (0..Pattern::PERIOD * 1024)
            .map(|i| u8::try_from(i % Pattern::PERIOD).unwrap())
            .collect();
        PatternCheck {
            bytes: 0,
            broken_at: None,
            reference,
        }
    }

    /// Checks the next bytes of the stream.
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        // Compared with memcmp, a window of the reference at a time, so
        // that 100 MB take no time even in a debug build.
        let window = self.reference.len() - Pattern::PERIOD;
        while !data.is_empty() {
            let start = usize::try_from(self.bytes % Pattern::PERIOD as u64).unwrap();
            let n = data.len().min(window);
            if self.broken_at.is_none() && data[..n] != self.reference[start..start + n] {
                let offset = data[..n]
                    .iter()
                    .zip(&self.reference[start..])
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                self.broken_at = Some(self.bytes + offset as u64);
            }
            self.bytes += n as u64;
            data = &data[n..];
        }
    }

    /// Whether every byte so far followed the pattern.
    pub(crate) fn ok(&self) -> bool {
        self.broken_at.is_none()
    }
}

// ---------------------------------------------------------------------------
// The upstream
// ---------------------------------------------------------------------------

/// What the upstream saw, and what tests use to pace it.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// TCP connections accepted.
    pub(crate) connections: AtomicUsize,
    /// Requests received.
    pub(crate) requests: AtomicUsize,
    /// Notified (one permit per request) when a `/slow` request arrives.
    pub(crate) slow_arrived: Notify,
    /// `/gated` sends its remainder once this is notified.
    pub(crate) release: Notify,
    /// Notified when `/gated` has sent its first chunk.
    pub(crate) first_chunk_sent: Notify,
}

/// A boxed response future.
pub(crate) type Answer = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;
/// How an upstream answers a request.
pub(crate) type App = Arc<dyn Fn(Request<Incoming>, Arc<State>) -> Answer + Send + Sync>;

/// A running upstream; stops when dropped.
pub(crate) struct Upstream {
    pub(crate) addr: SocketAddr,
    pub(crate) state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    /// The upstream with the routes of this module's table.
    pub(crate) async fn start() -> Upstream {
        Self::with_app(Arc::new(|request, state| Box::pin(routes(request, state)))).await
    }

    /// An upstream that answers with `app`.
    pub(crate) async fn with_app(app: App) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let task = tokio::spawn({
            let state = Arc::clone(&state);
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    state.connections.fetch_add(1, Ordering::SeqCst);
                    let state = Arc::clone(&state);
                    let app = Arc::clone(&app);
                    tokio::spawn(async move {
                        let service = service_fn(move |request| {
                            state.requests.fetch_add(1, Ordering::SeqCst);
                            let answer = app(request, Arc::clone(&state));
                            async move { Ok::<_, Infallible>(answer.await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .with_upgrades()
                            .await;
                    });
                }
            }
        });
        Upstream { addr, state, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A query parameter's value.
fn query<'a>(request: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    request.uri().query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value)
    })
}

/// The default upstream's routes (see the module's table).
async fn routes(request: Request<Incoming>, state: Arc<State>) -> Response<Body> {
    match request.uri().path() {
        "/headers" => {
            let headers: Vec<(String, String)> = request
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let json = serde_json::json!({
                "method": request.method().as_str(),
                "target": request.uri().to_string(),
                "version": format!("{:?}", request.version()),
                "headers": headers,
            });
            let mut response = Response::new(full(json.to_string()));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        "/echo" => Response::new(request.into_body().map_err(BoxError::from).boxed()),
        "/count" => {
            let mut body = request.into_body();
            let mut check = PatternCheck::new();
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Some(data) = frame.data_ref() {
                            check.feed(data);
                        }
                    }
                    Err(error) => {
                        let mut response = Response::new(full(format!("body failed: {error}")));
                        *response.status_mut() = StatusCode::BAD_REQUEST;
                        return response;
                    }
                }
            }
            let json = serde_json::json!({ "bytes": check.bytes, "pattern": check.ok() });
            Response::new(full(json.to_string()))
        }
        "/stream" => {
            let chunks = query(&request, "chunks")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            let mut response = Response::new(Pattern::body(chunks));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            response
        }
        "/gated" => {
            let first = stream::once(async move {
                Ok::<_, BoxError>(Frame::data(Bytes::from_static(b"first;")))
            });
            let rest = stream::once(async move {
                state.first_chunk_sent.notify_one();
                state.release.notified().await;
                Ok::<_, BoxError>(Frame::data(Bytes::from_static(b"rest")))
            });
            Response::new(BodyExt::boxed(StreamBody::new(first.chain(rest))))
        }
        "/slow" => {
            let ms = query(&request, "ms")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1000);
            state.slow_arrived.notify_one();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Response::new(full("slow done"))
        }
        "/cors" => {
            let mut response = Response::new(full("cors"));
            let headers = response.headers_mut();
            for (name, value) in [
                ("access-control-allow-origin", "*"),
                ("access-control-allow-credentials", "true"),
                ("access-control-expose-headers", "x-secret"),
                ("access-control-allow-methods", "DELETE"),
                ("access-control-allow-headers", "x-anything"),
                ("access-control-max-age", "86400"),
                ("x-upstream", "yes"),
            ] {
                headers.append(name, HeaderValue::from_static(value));
            }
            response
        }
        "/hop" => {
            let mut response = Response::new(full("hop"));
            let headers = response.headers_mut();
            for (name, value) in [
                ("connection", "x-private"),
                ("x-private", "1"),
                ("keep-alive", "timeout=5"),
                ("proxy-connection", "keep-alive"),
                ("x-kept", "yes"),
            ] {
                headers.append(name, HeaderValue::from_static(value));
            }
            response
        }
        "/ws" => websocket(request),
        path => Response::new(full(format!("upstream {path}"))),
    }
}

/// Answers a WebSocket handshake and echoes every message.
fn websocket(mut request: Request<Incoming>) -> Response<Body> {
    let Some(key) = request.headers().get("sec-websocket-key") else {
        let mut response = Response::new(full("not a websocket handshake"));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return response;
    };
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut socket = tokio_tungstenite::WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            None,
        )
        .await;
        while let Some(Ok(message)) = socket.next().await {
            if message.is_close() {
                break;
            }
            if (message.is_text() || message.is_binary()) && socket.send(message).await.is_err() {
                break;
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header("sec-websocket-accept", accept)
        .body(empty())
        .unwrap()
}

// ---------------------------------------------------------------------------
// Clients and proxy files
// ---------------------------------------------------------------------------

/// A pooled HTTP/1.1 client.
pub(crate) fn client() -> Client<HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// A received response, its body read whole.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) status: StatusCode,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
}

impl Received {
    /// A header's value, as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The body as text.
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Sends `request` with `client` and reads the whole response.
pub(crate) async fn send(client: &Client<HttpConnector, Body>, request: Request<Body>) -> Received {
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Received {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// `GET url` with `headers`.
pub(crate) async fn get(url: &str, headers: &[(&str, &str)]) -> Received {
    let mut request = Request::get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(&client(), request.body(empty()).unwrap()).await
}

/// Polls `addr` with `GET /healthz` until it answers `200` (at most 10 s).
pub(crate) async fn wait_healthy(addr: SocketAddr) {
    let client = client();
    for _ in 0..200 {
        let request = Request::get(format!("http://{addr}/healthz"))
            .body(empty())
            .unwrap();
        if let Ok(response) = client.request(request).await
            && response.status() == StatusCode::OK
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{addr}/healthz never answered 200");
}

/// The value of a sample in Prometheus text, e.g.
/// `corsair_requests_total{outcome="no_origin"}`.
pub(crate) fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
}

/// A free port on 127.0.0.1 (bound, then released).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The trusted origin of the test policies.
pub(crate) const APP: &str = "https://app.example.com";

/// A proxy file for `upstream` with the test limits (short timeouts) and an
/// admin listener on an ephemeral port. `cors` is the body of `[cors]`;
/// `more` is appended (more tables).
pub(crate) fn proxy_file(upstream: &str, cors: &str, more: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
upstream = "{upstream}"

[cors]
{cors}

[limits]
upstream_timeout = "300ms"
shutdown_grace = "2s"
header_read_timeout = "1s"

[admin]
listen = "127.0.0.1:0"

{more}
"#
    )
}

/// The reference policy: `APP` with credentials.
pub(crate) const CREDENTIALED: &str = r#"allow_origins = ["https://app.example.com"]
allow_credentials = true
allow_methods = ["PUT", "DELETE"]
allow_headers = ["content-type", "x-api-key"]
expose_headers = ["x-request-id"]
max_age = 600"#;
