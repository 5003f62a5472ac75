//! Deliberately misconfigured CORS servers for the `corsair audit` tests,
//! each on 127.0.0.1:0.
//!
//! Most are plain hyper 1 handlers over [`Rules`]: [`Rules::SOUND`] is a
//! correct credentialed policy for [`TRUSTED`], and each misconfiguration
//! class is that policy with one field changed, so that the class is the
//! only thing an audit can find. The others are written by hand where hyper
//! cannot misbehave ([`crlf`]: a raw TCP server that writes CR/LF from the
//! request into its answer), or with a library: tower-http's permissive
//! modes ([`tower_http`]), corsair's own tower layer ([`corsair_layer`]) and
//! corsair's proxy ([`corsair_proxy`]).

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use corsair::Format;
use corsair::config::Document;
use corsair_cli::proxy::{Overrides, Proxy, ProxyFile};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The origin every test trusts (`--trusted-origin`).
pub(crate) const TRUSTED: &str = "https://app.example.com";

/// The path the audits target.
pub(crate) const PATH: &str = "/api/data";

/// The body of every readable answer: what an attacker wants.
const SECRET: &str = r#"{"account":"alice","balance":1234}"#;

/// A server running on 127.0.0.1; stopped when dropped.
pub(crate) struct Server {
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
    proxy: Option<(Proxy, Box<Server>)>,
}

impl Server {
    /// `http://127.0.0.1:PORT/api/data`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    /// The port, to normalize in snapshots.
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
        // The proxy's own listener stops when its handle is dropped with the
        // runtime; its upstream (boxed) stops with it.
    }
}

/// An ephemeral listener on 127.0.0.1.
async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Serves a tower service (tower-http's or corsair's layer over [`app`])
/// over HTTP/1.1.
pub(crate) async fn serve_tower<S>(service: S) -> Server
where
    S: tower::Service<Request<Incoming>, Response = Response<Full<Bytes>>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let (listener, addr) = listener().await;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server {
        addr,
        task: Some(task),
        proxy: None,
    }
}

/// Serves a plain handler of the request's head.
pub(crate) async fn serve(
    handler: impl Fn(&Parts) -> Response<Full<Bytes>> + Clone + Send + Sync + 'static,
) -> Server {
    serve_tower(tower::service_fn(move |request: Request<Incoming>| {
        let handler = handler.clone();
        async move {
            let (parts, _body) = request.into_parts();
            Ok::<_, Infallible>(handler(&parts))
        }
    }))
    .await
}

/// The application without any CORS: what the libraries wrap.
pub(crate) async fn app(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(SECRET.as_bytes())));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

// ---------------------------------------------------------------------------
// Origins
// ---------------------------------------------------------------------------

/// An origin's scheme, host and port (`None` when absent), split by hand as
/// naive servers do; `None` for `null` and anything without `://`.
pub(crate) fn split(origin: &str) -> Option<(&str, &str, Option<&str>)> {
    let (scheme, rest) = origin.split_once("://")?;
    Some(match rest.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            (scheme, host, Some(port))
        }
        _ => (scheme, rest, None),
    })
}

/// The correct check: exactly the trusted origin.
pub(crate) fn exact(origin: &str) -> bool {
    origin == TRUSTED
}

/// Any origin at all.
pub(crate) fn anything(_origin: &str) -> bool {
    true
}

/// The trusted origin, and `null` (for "local development").
pub(crate) fn trusted_or_null(origin: &str) -> bool {
    exact(origin) || origin == "null"
}

/// `origin.starts_with("https://app.example.com")`.
/// A prefix check "fixed" against `app.example.com.attacker.net` by
/// refusing a dot or a colon right after the trusted origin, which still
/// lets `app.example.com_.attacker.net` through (hosts some browsers send).
pub(crate) fn prefix_without_dot(origin: &str) -> bool {
    origin
        .strip_prefix(TRUSTED)
        .is_some_and(|rest| rest.is_empty() || !rest.starts_with(['.', ':']))
}

pub(crate) fn prefix(origin: &str) -> bool {
    origin.starts_with(TRUSTED)
}

/// `host.ends_with("example.com")`, with no dot required before it; the
/// scheme and port are checked exactly.
pub(crate) fn suffix(origin: &str) -> bool {
    matches!(split(origin), Some(("https", host, None)) if host.ends_with("example.com"))
}

/// The regular expression `^https://app.example.com$` with its dots left
/// unescaped: a `.` in the pattern matches any one character.
pub(crate) fn unescaped_dot(origin: &str) -> bool {
    let pattern = TRUSTED.as_bytes();
    let origin = origin.as_bytes();
    pattern.len() == origin.len()
        && pattern
            .iter()
            .zip(origin)
            .all(|(p, o)| *p == b'.' || p == o)
}

/// `https://` and `example.com` or any subdomain of it, without a port.
pub(crate) fn any_subdomain(origin: &str) -> bool {
    matches!(split(origin), Some(("https", host, None))
        if host == "example.com" || host.ends_with(".example.com"))
}

/// The trusted origin, and its `http://` twin.
pub(crate) fn either_scheme(origin: &str) -> bool {
    exact(origin) || origin == "http://app.example.com"
}

/// The trusted origin, and any GitHub Pages site ("our docs are there").
pub(crate) fn github_pages(origin: &str) -> bool {
    exact(origin)
        || matches!(split(origin), Some(("https", host, None))
            if host.ends_with(".github.io"))
}

/// The trusted host over `https://`, whatever the port.
pub(crate) fn any_port(origin: &str) -> bool {
    matches!(split(origin), Some(("https", "app.example.com", _)))
}

/// A check on the host alone that accepts any host starting with
/// `localhost` ("allow local development").
pub(crate) fn localhost_prefix(origin: &str) -> bool {
    matches!(split(origin), Some((_, host, _)) if host.starts_with("localhost"))
}

// ---------------------------------------------------------------------------
// Rules: a sound policy and one-field deviations from it
// ---------------------------------------------------------------------------

/// What `Access-Control-Allow-Origin` holds for an origin the rules trust.
#[derive(Clone, Copy, Debug)]
pub(crate) enum AllowOrigin {
    /// The request's origin.
    Echo,
    /// `*`.
    Star,
    /// The request's origin and a second value, as two header lines.
    TwoLines(&'static str),
    /// The request's origin and a second value, in one comma list.
    CommaList(&'static str),
}

/// What a preflight's allow lists hold.
#[derive(Clone, Copy, Debug)]
pub(crate) enum List {
    /// A fixed list.
    Fixed(&'static str),
    /// What the preflight asked for.
    Mirror,
    /// `*`.
    Star,
}

/// A server's CORS behaviour.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    /// The origins whose GETs get CORS headers.
    pub(crate) trusts: fn(&str) -> bool,
    /// The origins whose preflights are allowed.
    pub(crate) preflight_trusts: fn(&str) -> bool,
    /// `Access-Control-Allow-Origin` for a trusted origin.
    pub(crate) allow_origin: AllowOrigin,
    /// `Access-Control-Allow-Credentials`, if sent.
    pub(crate) credentials: Option<&'static str>,
    /// Whether every answer carries `Vary: Origin`.
    pub(crate) vary: bool,
    /// `Access-Control-Allow-Methods` on allowed preflights.
    pub(crate) methods: List,
    /// `Access-Control-Allow-Headers` on allowed preflights.
    pub(crate) headers: List,
    /// `Access-Control-Max-Age` on allowed preflights.
    pub(crate) max_age: Option<u64>,
    /// `Access-Control-Allow-Private-Network: true` on every allowed
    /// preflight, asked or not.
    pub(crate) private_network: bool,
    /// A `Set-Cookie` on every allowed actual answer.
    pub(crate) set_cookie: Option<&'static str>,
}

impl Rules {
    /// A correct credentialed policy for [`TRUSTED`]: its GETs and
    /// preflights are allowed with fixed lists, a max age under every cap,
    /// and `Vary: Origin` on every answer; other origins get no CORS header
    /// and their preflights `403`.
    pub(crate) const SOUND: Rules = Rules {
        trusts: exact,
        preflight_trusts: exact,
        allow_origin: AllowOrigin::Echo,
        credentials: Some("true"),
        vary: true,
        methods: List::Fixed("GET, POST, PUT, DELETE"),
        headers: List::Fixed("content-type, authorization"),
        max_age: Some(600),
        private_network: false,
        set_cookie: None,
    };

    /// Both kinds of request trust the origins `trusts` accepts.
    pub(crate) const fn trusting(trusts: fn(&str) -> bool) -> Rules {
        Rules {
            trusts,
            preflight_trusts: trusts,
            ..Rules::SOUND
        }
    }

    /// The answer to a request's head.
    pub(crate) fn answer(&self, request: &Parts) -> Response<Full<Bytes>> {
        let origin = request
            .headers
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok());
        let asked = |name: header::HeaderName| {
            request
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
        };
        let preflight_method = asked(header::ACCESS_CONTROL_REQUEST_METHOD);
        let preflight = request.method == Method::OPTIONS && preflight_method.is_some();
        let trusted = origin.filter(|origin| {
            if preflight {
                (self.preflight_trusts)(origin)
            } else {
                (self.trusts)(origin)
            }
        });

        let mut response = Response::new(Full::new(if preflight {
            Bytes::new()
        } else {
            Bytes::from_static(SECRET.as_bytes())
        }));
        *response.status_mut() = match (preflight, trusted) {
            (false, _) => StatusCode::OK,
            (true, Some(_)) => StatusCode::NO_CONTENT,
            (true, None) => StatusCode::FORBIDDEN,
        };
        let headers = response.headers_mut();
        let value = |text: &str| HeaderValue::from_str(text).unwrap();
        if self.vary {
            headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        let Some(origin) = trusted else {
            return response;
        };
        match self.allow_origin {
            AllowOrigin::Echo => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value(origin));
            }
            AllowOrigin::Star => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value("*"));
            }
            AllowOrigin::TwoLines(other) => {
                headers.append(header::ACCESS_CONTROL_ALLOW_ORIGIN, value(origin));
                headers.append(header::ACCESS_CONTROL_ALLOW_ORIGIN, value(other));
            }
            AllowOrigin::CommaList(other) => {
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    value(&format!("{origin}, {other}")),
                );
            }
        }
        if let Some(credentials) = self.credentials {
            headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, value(credentials));
        }
        if !preflight {
            if let Some(cookie) = self.set_cookie {
                headers.insert(header::SET_COOKIE, value(cookie));
            }
            return response;
        }
        let list = |list: List, asked: Option<&str>| match list {
            List::Fixed(text) => Some(value(text)),
            List::Mirror => asked.map(value),
            List::Star => Some(value("*")),
        };
        if let Some(methods) = list(self.methods, preflight_method) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
        }
        if let Some(allowed) = list(self.headers, asked(header::ACCESS_CONTROL_REQUEST_HEADERS)) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed);
        }
        if let Some(max_age) = self.max_age {
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, value(&max_age.to_string()));
        }
        if self.private_network {
            headers.insert(
                "access-control-allow-private-network",
                HeaderValue::from_static("true"),
            );
        }
        response
    }

    /// Serves these rules with a plain hyper handler.
    pub(crate) async fn serve(self) -> Server {
        serve(move |request| self.answer(request)).await
    }
}

// ---------------------------------------------------------------------------
// Servers that hyper alone cannot be
// ---------------------------------------------------------------------------

/// A raw TCP server with the [`Rules::SOUND`] policy that also "logs" the
/// origin back in `X-Seen-Origin`, URL-decoded and written raw: CR/LF in
/// `Origin` (sent escaped) become header lines of the answer. hyper refuses
/// such header values, so the answer is written by hand.
pub(crate) async fn crlf() -> Server {
    let (listener, addr) = listener().await;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let _ = crlf_connection(stream).await;
            });
        }
    });
    Server {
        addr,
        task: Some(task),
        proxy: None,
    }
}

/// One request per connection: read the head, answer, close.
async fn crlf_connection(mut stream: TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buffer = [0_u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let mut words = lines.next().unwrap_or_default().split(' ');
    let method = words.next().unwrap_or("GET");
    let target = words.next().unwrap_or("/");
    let mut request = Request::builder().method(method).uri(target);
    let mut origin = None;
    for line in lines.take_while(|line| !line.is_empty()) {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("origin") {
                origin = Some(value.to_owned());
            }
            request = request.header(name, value);
        }
    }
    let Ok(request) = request.body(()) else {
        return Ok(());
    };
    let (parts, ()) = request.into_parts();
    let response = Rules::SOUND.answer(&parts);

    let mut out = format!("HTTP/1.1 {}\r\n", response.status());
    for (name, value) in response.headers() {
        out.push_str(&format!(
            "{name}: {}\r\n",
            value.to_str().unwrap_or_default()
        ));
    }
    if let Some(origin) = origin {
        out.push_str(&format!("X-Seen-Origin: {}\r\n", percent_decode(&origin)));
    }
    let body = if response.status() == StatusCode::OK {
        SECRET
    } else {
        ""
    };
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}

/// `%XX` decoded, as a careless server does. Only a decoding that yields
/// header-safe bytes or CR/LF is kept (other control bytes would make the
/// answer unparsable, which is not what this server is about).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|byte| matches!(byte, b'\r' | b'\n' | 0x20..=0x7e));
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// tower-http's CORS layer over [`app`].
pub(crate) async fn tower_http(layer: tower_http::cors::CorsLayer) -> Server {
    let service = tower::ServiceBuilder::new().layer(layer).service_fn(app);
    serve_tower(service).await
}

/// corsair's tower layer over [`app`] with a sound credentialed policy for
/// [`TRUSTED`].
pub(crate) async fn corsair_layer() -> Server {
    let cors = corsair::Cors::new(sound_config()).unwrap();
    let service = tower::ServiceBuilder::new().layer(cors).service_fn(app);
    serve_tower(service).await
}

/// The sound credentialed policy, as corsair configuration.
pub(crate) fn sound_config() -> corsair::Config {
    corsair::Config {
        allow_origins: vec![TRUSTED.into()],
        allow_credentials: true,
        allow_methods: ["GET", "POST", "PUT", "DELETE"].map(String::from).to_vec(),
        allow_headers: vec!["content-type".into(), "authorization".into()],
        expose_headers: vec!["x-request-id".into()],
        max_age: Some(600),
        ..corsair::Config::default()
    }
}

/// corsair's proxy, with the same policy as [`corsair_layer`], in front of
/// an upstream with no CORS of its own.
pub(crate) async fn corsair_proxy() -> Server {
    let upstream =
        serve(|_request| Response::new(Full::new(Bytes::from_static(SECRET.as_bytes())))).await;
    let text = format!(
        r#"listen = "127.0.0.1:0"
upstream = "http://{}"

[cors]
allow_origins = ["{TRUSTED}"]
allow_credentials = true
allow_methods = ["GET", "POST", "PUT", "DELETE"]
allow_headers = ["content-type", "authorization"]
max_age = 600
"#,
        upstream.addr
    );
    let document = Document::new(text.as_str(), Format::Toml).named("audit-proxy.toml");
    let settings = ProxyFile::from_document(&document, &Overrides::default())
        .unwrap_or_else(|error| panic!("{error}\n{text}"));
    let proxy = Proxy::start(settings, None).await.unwrap();
    Server {
        addr: proxy.addr(),
        task: None,
        proxy: Some((proxy, Box::new(upstream))),
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
pub(crate) async fn closed_port() -> u16 {
    let (listener, addr) = listener().await;
    drop(listener);
    addr.port()
}
