//! `corsair proxy` end to end, in-process: a real upstream (hyper on
//! 127.0.0.1, `tests/common`) behind a [`Proxy`] on an ephemeral port, and
//! real clients over TCP.
//!
//! The conformance table of the policy engine
//! (`crates/conformance/cases.toml`) runs through the proxy:
//! each policy of the table is a `[[routes]]` entry of one proxy file, the
//! upstream plays each case's application, and the shared comparison of
//! the `corsair-conformance` crate judges the answers.
//!
//! What needs the built binary (signals, the proxy's memory while 100 MB
//! pass) is in `tests/proxy_process.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

/// The policy engine's conformance table, its loader and comparison.
use corsair_conformance as conformance;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{
    APP, App, Body, BoxError, CREDENTIALED, Received, Upstream, client, empty, full, get, sample,
    send,
};
use corsair_cli::proxy::metrics::Outcome as Counted;
use corsair_cli::proxy::{Overrides, Proxy, ProxyFile, Source};
use futures_util::{SinkExt as _, StreamExt as _, stream};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// A proxy started from a file in a temporary directory, watched and
/// reloadable.
struct Running {
    proxy: Proxy,
    path: PathBuf,
    _dir: TempDir,
}

impl Running {
    /// Starts a proxy from `text`, written to `proxy.toml` in a new
    /// directory (so that `[tls]` paths can be relative to it).
    async fn start(text: &str) -> Running {
        Self::start_in(tempfile::tempdir().unwrap(), text).await
    }

    async fn start_in(dir: TempDir, text: &str) -> Running {
        let path = dir.path().join("proxy.toml");
        std::fs::write(&path, text).unwrap();
        let settings = ProxyFile::load(&path, &Overrides::default())
            .unwrap_or_else(|error| panic!("{error}\n{text}"));
        let source = Source {
            path: path.clone(),
            overrides: Overrides::default(),
        };
        let proxy = Proxy::start(settings, Some(source)).await.unwrap();
        Running {
            proxy,
            path,
            _dir: dir,
        }
    }

    /// `http://PROXY` + `path`.
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.proxy.addr())
    }

    /// The admin listener's `path`.
    async fn admin(&self, path: &str) -> Received {
        let addr = self.proxy.admin_addr().expect("an admin listener");
        get(&format!("http://{addr}{path}"), &[]).await
    }
}

/// A request through the proxy, with `headers`.
fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Body) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(body).unwrap()
}

/// Every `access-control-*` header of a response, sorted.
fn cors_headers(received: &Received) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = received
        .headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    headers
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// What an allowed origin gets on an actual response of [`CREDENTIALED`].
const ALLOWED: [(&str, &str); 3] = [
    ("access-control-allow-origin", APP),
    ("access-control-allow-credentials", "true"),
    ("access-control-expose-headers", "x-request-id"),
];

// ---------------------------------------------------------------------------
// The conformance table
// ---------------------------------------------------------------------------

/// One case's application, as the upstream plays it.
struct CaseApp {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<conformance::AppBody>,
    error: bool,
    calls: AtomicUsize,
}

/// The upstream's answer for case `?case=N`: the case's status, headers and
/// body (one piece, or a frame per chunk; none for `HEAD`). An `app_error`
/// is what a framework renders for a failing handler, the table's
/// definition: `500`, the application's headers, `text/plain` and
/// [`conformance::APP_ERROR_BODY`].
fn play(cases: &[CaseApp], request: &Request<hyper::body::Incoming>) -> Response<Body> {
    let index: usize = request
        .uri()
        .query()
        .and_then(|q| q.strip_prefix("case="))
        .and_then(|n| n.parse().ok())
        .expect("a ?case=N target");
    let app = &cases[index];
    app.calls.fetch_add(1, Ordering::SeqCst);
    let head = request.method() == Method::HEAD;
    let (status, body) = if app.error {
        let body = if head {
            empty()
        } else {
            full(conformance::APP_ERROR_BODY)
        };
        (StatusCode::INTERNAL_SERVER_ERROR, body)
    } else {
        let body = match &app.body {
            _ if head => empty(),
            None => empty(),
            Some(conformance::AppBody::Whole(text)) => full(text.clone()),
            Some(conformance::AppBody::Chunks(chunks)) => {
                let frames = chunks
                    .clone()
                    .into_iter()
                    .map(|chunk| Ok::<_, BoxError>(Frame::data(Bytes::from(chunk))));
                BodyExt::boxed(StreamBody::new(stream::iter(frames)))
            }
        };
        (app.status, body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    for (name, value) in &app.headers {
        response.headers_mut().append(name.clone(), value.clone());
    }
    if app.error {
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}

fn header_pairs(pairs: &[(String, String)]) -> Vec<(HeaderName, HeaderValue)> {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            )
        })
        .collect()
}

/// The table's policies as TOML text, by name, from the table's own file.
fn table_policies() -> Vec<(String, String)> {
    let text = conformance::table::CASES;
    let file: toml::Table = text.parse().unwrap();
    file["policies"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(name, config)| (name.clone(), toml::to_string(config).unwrap()))
        .collect()
}

/// Every case of the table through the proxy, over real HTTP/1.1.
///
/// Each policy of the table is a `[[routes]]` entry for `/p/NAME/`; the
/// policy `creds` is also the file's default `[cors]`, and its cases go to
/// `/resource`, which no route matches. The origin source of the
/// policies that have one is a tenants service on loopback, as the table's
/// in-process source answers. Nothing is skipped: an
/// `app_error` case's application is the upstream answering what a
/// framework renders for a failing handler (the table defines that
/// rendering), and the comparison skips frame checks for runners that see
/// no frames, which a client over TCP does not. The proxy adds `Forwarded`
/// and `X-Forwarded-*` to requests and hyper adds `date` to responses; the
/// comparison looks only at what the table specifies (status, whether the
/// upstream was called, `access-control-*` and `vary` exactly, the body).
#[tokio::test]
async fn the_conformance_table_runs_through_the_proxy() {
    const DEFAULT: &str = "creds";
    let table = conformance::table::load();
    let cases: Arc<Vec<CaseApp>> = Arc::new(
        table
            .cases
            .iter()
            .map(|case| CaseApp {
                status: StatusCode::from_u16(case.app_status()).unwrap(),
                headers: header_pairs(&case.app_headers()),
                body: case.app_body.clone(),
                error: case.app_error,
                calls: AtomicUsize::new(0),
            })
            .collect(),
    );
    let app: App = {
        let cases = Arc::clone(&cases);
        Arc::new(move |request, _| {
            let response = play(&cases, &request);
            Box::pin(async move { response })
        })
    };
    let upstream = Upstream::with_app(app).await;
    // The table's origin source, served over HTTP where its policies say.
    let (tenants, _) = tenants_service().await;

    let policies: Vec<(String, String)> = table_policies()
        .into_iter()
        .map(|(name, policy)| {
            (
                name,
                policy.replace("http://tenants.invalid/{origin}", &tenants),
            )
        })
        .collect();
    let default = &policies.iter().find(|(name, _)| name == DEFAULT).unwrap().1;
    let mut routes = String::new();
    for (name, policy) in &policies {
        // A policy's own tables (`[origin_source]`) belong to its route.
        let policy = policy.replace("\n[origin_source]", "\n[routes.cors.origin_source]");
        routes.push_str(&format!(
            "[[routes]]\npath_prefix = \"/p/{name}/\"\n[routes.cors]\n{policy}\n"
        ));
    }
    let text = format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"{}\"\n[cors]\n{default}\n\
         [limits]\nmax_header_bytes = 1048576\nupstream_timeout = \"5s\"\n\n{routes}",
        upstream.url()
    );
    let running = Running::start(&text).await;

    let client = client();
    let mut report = conformance::Report::new("proxy");
    let mut ran = 0;
    for (index, case) in table.cases.iter().enumerate() {
        let path = if case.policy == DEFAULT {
            format!("/resource?case={index}")
        } else {
            format!("/p/{}/resource?case={index}", case.policy)
        };
        let mut builder = Request::builder()
            .method(Method::from_bytes(case.method.as_bytes()).unwrap())
            .uri(running.url(&path));
        for (name, value) in case.headers() {
            builder = builder.header(name, HeaderValue::from_bytes(value.as_bytes()).unwrap());
        }
        let outcome = match client.request(builder.body(empty()).unwrap()).await {
            Err(error) => Err(format!("request failed: {error}")),
            Ok(response) => {
                let (parts, body) = response.into_parts();
                match body.collect().await {
                    Err(error) => Err(format!("body failed: {error}")),
                    Ok(body) => Ok(conformance::Outcome {
                        status: parts.status.as_u16(),
                        headers: parts
                            .headers
                            .iter()
                            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                            .collect(),
                        body: body.to_bytes().to_vec(),
                        frames: None,
                        app_calls: cases[index].calls.load(Ordering::SeqCst),
                    }),
                }
            }
        };
        report.record(case, outcome);
        ran += 1;
    }
    assert!(ran >= 480, "only {ran} cases ran");
    report.finish();
    running.proxy.shutdown().await;
}

// ---------------------------------------------------------------------------
// Policies, routes and headers
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_longest_prefix_wins_and_cors_is_the_default() {
    let upstream = Upstream::start().await;
    let routes = r#"
[[routes]]
path_prefix = "/api/"
[routes.cors]
allow_origins = ["https://api.example.com"]

[[routes]]
path_prefix = "/api/public/"
[routes.cors]
allow_origins = ["*"]
"#;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, routes)).await;
    let origin_for = |path: &'static str, origin: &'static str| {
        let url = running.url(path);
        async move {
            get(&url, &[("origin", origin)])
                .await
                .header("access-control-allow-origin")
                .map(str::to_owned)
        }
    };
    assert_eq!(
        origin_for("/api/public/x", "https://elsewhere.example").await,
        Some("*".to_owned())
    );
    assert_eq!(
        origin_for("/api/private", "https://api.example.com").await,
        Some("https://api.example.com".to_owned())
    );
    assert_eq!(origin_for("/api/private", APP).await, None);
    // `/api` is not under `/api/`: the default policy.
    assert_eq!(origin_for("/api", APP).await, Some(APP.to_owned()));
    assert_eq!(origin_for("/", "https://api.example.com").await, None);
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn routes_match_the_most_specific_host_then_the_longest_prefix() {
    let upstream = Upstream::start().await;
    let routes = r#"
[[routes]]
path_prefix = "/v1/"
[routes.cors]
allow_origins = ["https://v1.example"]

[[routes]]
host = "*.tenants.example.com"
path_prefix = "/v1/"
[routes.cors]
allow_origins = ["https://tenant.example"]

[[routes]]
host = "api.example.com"
[routes.cors]
allow_origins = ["https://api-app.example"]
"#;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, routes)).await;
    let url = |path: &str| running.url(path);
    let client = client();
    // Over HTTP/1.1, with the Host a browser would send.
    let allowed = async |host: &str, path: &str, origin: &str| {
        let received = send(
            &client,
            request(
                "GET",
                &url(path),
                &[("host", host), ("origin", origin)],
                empty(),
            ),
        )
        .await;
        received.header("access-control-allow-origin") == Some(origin)
    };
    let cases = [
        (
            "API.Example.com:8080",
            "/x",
            "https://api-app.example",
            true,
        ),
        // The host route governs all of api.example.com, /v1/ included.
        ("api.example.com", "/v1/x", "https://api-app.example", true),
        ("api.example.com", "/v1/x", "https://v1.example", false),
        (
            "shop.tenants.example.com",
            "/v1/x",
            "https://tenant.example",
            true,
        ),
        (
            "shop.tenants.example.com",
            "/v2/x",
            "https://tenant.example",
            false,
        ),
        ("shop.tenants.example.com", "/v2/x", APP, true),
        ("tenants.example.com", "/v1/x", "https://v1.example", true),
        ("other.example", "/v1/x", "https://v1.example", true),
        ("other.example", "/x", APP, true),
        (
            "api.example.com.evil.example",
            "/x",
            "https://api-app.example",
            false,
        ),
    ];
    for (host, path, origin, expected) in cases {
        assert_eq!(
            allowed(host, path, origin).await,
            expected,
            "{host}{path} from {origin}"
        );
    }

    // Over HTTP/2, the host is the :authority.
    let addr = running.proxy.addr();
    let resolver =
        tower::service_fn(
            move |_name| async move { Ok::<_, std::io::Error>(std::iter::once(addr)) },
        );
    let http2: Client<_, Body> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(hyper_util::client::legacy::connect::HttpConnector::new_with_resolver(resolver));
    let response = http2
        .request(request(
            "GET",
            &format!("http://api.example.com:{}/x", addr.port()),
            &[("origin", "https://api-app.example")],
            empty(),
        ))
        .await
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "https://api-app.example"
    );

    // /config shows the table in the order routes are tried.
    let config = running.admin("/config").await.json();
    let table: Vec<(String, String, String)> = config["route_table"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let field = |name: &str| row[name].as_str().unwrap().to_owned();
            (field("entry"), field("host"), field("path_prefix"))
        })
        .collect();
    let expected = [
        ("routes[2]", "api.example.com", "/"),
        ("routes[1]", "*.tenants.example.com", "/v1/"),
        ("routes[0]", "*", "/v1/"),
        ("cors", "*", "/"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(table, expected);
    assert_eq!(config["routes"][2]["host"], "api.example.com");
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn report_only_passes_the_upstreams_answers_and_counts_the_differences() {
    // An upstream that answers CORS itself, badly: any origin reflected,
    // no Vary, and every preflight allowed for PATCH.
    let app: common::App = Arc::new(|request, _state| {
        Box::pin(async move {
            let mut response = Response::new(full("upstream"));
            if let Some(origin) = request.headers().get("origin") {
                let headers = response.headers_mut();
                headers.insert("access-control-allow-origin", origin.clone());
                headers.insert(
                    "access-control-allow-credentials",
                    HeaderValue::from_static("true"),
                );
                headers.insert(
                    "access-control-allow-methods",
                    HeaderValue::from_static("PATCH"),
                );
            }
            response
        })
    });
    let upstream = Upstream::with_app(app).await;
    let cors = format!("{CREDENTIALED}\nmode = \"report-only\"");
    let running = Running::start(&common::proxy_file(&upstream.url(), &cors, "")).await;
    let client = client();

    // A foreign origin: the upstream's reflection reaches the client.
    let received = send(
        &client,
        request(
            "GET",
            &running.url("/items"),
            &[("origin", "https://evil.example")],
            empty(),
        ),
    )
    .await;
    assert_eq!(received.text(), "upstream");
    assert_eq!(
        received.header("access-control-allow-origin"),
        Some("https://evil.example")
    );
    assert_eq!(received.header("vary"), None);

    // A preflight the policy refuses (PATCH) reaches the upstream, which
    // allows it.
    let received = send(
        &client,
        request(
            "OPTIONS",
            &running.url("/items"),
            &[("origin", APP), ("access-control-request-method", "PATCH")],
            empty(),
        ),
    )
    .await;
    assert_eq!(received.status, StatusCode::OK);
    assert_eq!(received.text(), "upstream");
    assert_eq!(upstream.state.requests.load(Ordering::SeqCst), 2);

    let metrics = running.admin("/metrics").await;
    let metrics = metrics.text();
    for (kind, count) in [
        ("grants_refused_origin", 1.0),
        // Both answers name one origin without Vary.
        ("missing_vary_origin", 2.0),
        ("allows_refused_preflight", 1.0),
        ("refuses_allowed_origin", 0.0),
        ("wildcard_with_credentials", 0.0),
    ] {
        let series = format!("corsair_report_differences_total{{kind=\"{kind}\"}}");
        assert_eq!(sample(metrics, &series), count, "{series}");
    }
    assert_eq!(
        sample(metrics, "corsair_requests_total{outcome=\"reported\"}"),
        2.0
    );
    let config = running.admin("/config").await.json();
    assert_eq!(config["cors"]["mode"], "report-only");
    assert_eq!(config["route_table"][0]["mode"], "report-only");
    running.proxy.shutdown().await;

    // The proxy's own answer when the upstream is down is not the
    // upstream's: nothing to compare, nothing counted but the request.
    let down = format!("http://127.0.0.1:{}", common::free_port());
    let running = Running::start(&common::proxy_file(&down, &cors, "")).await;
    let received = get(&running.url("/items"), &[("origin", APP)]).await;
    assert_eq!(received.status, StatusCode::BAD_GATEWAY);
    let metrics = running.admin("/metrics").await;
    for kind in corsair::browser::Difference::ALL {
        let series = format!(
            "corsair_report_differences_total{{kind=\"{}\"}}",
            kind.label()
        );
        assert_eq!(sample(metrics.text(), &series), 0.0, "{series}");
    }
    assert_eq!(
        sample(
            metrics.text(),
            "corsair_requests_total{outcome=\"reported\"}"
        ),
        1.0
    );
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn preflights_are_answered_by_the_proxy_alone() {
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, "")).await;
    let client = client();
    let allowed = send(
        &client,
        request(
            "OPTIONS",
            &running.url("/anything"),
            &[
                ("origin", APP),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "x-api-key"),
            ],
            empty(),
        ),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        cors_headers(&allowed),
        pairs(&[
            ("access-control-allow-origin", APP),
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-methods", "PUT, DELETE"),
            ("access-control-allow-headers", "content-type, x-api-key"),
            ("access-control-max-age", "600"),
        ])
    );
    let refused = send(
        &client,
        request(
            "OPTIONS",
            &running.url("/anything"),
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "PUT"),
            ],
            empty(),
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(cors_headers(&refused).is_empty(), "{refused:?}");
    assert_eq!(upstream.state.requests.load(Ordering::SeqCst), 0);
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn the_upstreams_cors_headers_give_way_to_the_policy() {
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, "")).await;
    let url = running.url("/cors");

    let allowed = get(&url, &[("origin", APP)]).await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(cors_headers(&allowed), pairs(&ALLOWED));
    assert_eq!(allowed.header("x-upstream"), Some("yes"));
    assert_eq!(allowed.header("vary"), Some("Origin"));

    for headers in [&[("origin", "https://evil.example")][..], &[]] {
        let answer = get(&url, headers).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(cors_headers(&answer).is_empty(), "{headers:?}: {answer:?}");
        assert_eq!(answer.header("x-upstream"), Some("yes"));
        assert_eq!(answer.text(), "cors");
    }
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn hop_by_hop_headers_go_and_forwarding_headers_come() {
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, "")).await;
    let proxy = running.proxy.addr().to_string();

    let seen = get(
        &running.url("/headers?x=1"),
        &[
            ("origin", APP),
            ("connection", "x-secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic Zm9vOmJhcg=="),
            ("x-forwarded-for", "203.0.113.7"),
            ("x-kept", "yes"),
        ],
    )
    .await;
    assert_eq!(seen.status, StatusCode::OK);
    let json = seen.json();
    assert_eq!(json["target"], "/headers?x=1");
    assert_eq!(json["version"], "HTTP/1.1");
    let headers: Vec<(String, String)> = serde_json::from_value(json["headers"].clone()).unwrap();
    let value = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    for gone in ["x-secret", "keep-alive", "proxy-authorization"] {
        assert!(value(gone).is_empty(), "{gone} reached the upstream");
    }
    assert!(
        !value("connection").iter().any(|v| v.contains("x-secret")),
        "{headers:?}"
    );
    assert_eq!(value("x-kept"), ["yes"]);
    assert_eq!(value("origin"), [APP]);
    assert_eq!(value("host"), [proxy.as_str()]);
    assert_eq!(value("x-forwarded-for"), ["203.0.113.7, 127.0.0.1"]);
    assert_eq!(value("x-forwarded-proto"), ["http"]);
    assert_eq!(value("x-forwarded-host"), [proxy.as_str()]);
    assert_eq!(
        value("forwarded"),
        [format!("for=127.0.0.1;proto=http;host=\"{proxy}\"").as_str()]
    );

    let back = get(&running.url("/hop"), &[]).await;
    assert_eq!(back.status, StatusCode::OK);
    for gone in ["x-private", "keep-alive", "proxy-connection"] {
        assert!(
            back.headers.get(gone).is_none(),
            "{gone} reached the client"
        );
    }
    assert!(
        back.headers
            .get_all("connection")
            .iter()
            .all(|v| !v.to_str().unwrap().contains("x-private")),
        "{back:?}"
    );
    assert_eq!(back.header("x-kept"), Some("yes"));
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn forwarding_headers_are_configurable() {
    let upstream = Upstream::start().await;
    let more = "[forwarding]\nforwarded = false\nx_forwarded = false\npreserve_host = false\n";
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, more)).await;
    let seen = get(&running.url("/headers"), &[("origin", APP)])
        .await
        .json();
    let headers: Vec<(String, String)> = serde_json::from_value(seen["headers"].clone()).unwrap();
    let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    for absent in [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
    ] {
        assert!(!names.contains(&absent), "{absent} in {headers:?}");
    }
    let host: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n == "host")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(host, [upstream.addr.to_string().as_str()]);
    running.proxy.shutdown().await;
}

// ---------------------------------------------------------------------------
// Upstream failures
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_upstream_that_is_down_is_a_502_with_cors_headers() {
    let down = format!("http://127.0.0.1:{}", common::free_port());
    let running = Running::start(&common::proxy_file(&down, CREDENTIALED, "")).await;
    let url = running.url("/anything");

    let allowed = get(&url, &[("origin", APP)]).await;
    assert_eq!(allowed.status, StatusCode::BAD_GATEWAY);
    assert_eq!(cors_headers(&allowed), pairs(&ALLOWED));
    assert_eq!(allowed.header("vary"), Some("Origin"));
    assert!(
        allowed.text().starts_with("corsair: "),
        "{}",
        allowed.text()
    );

    let refused = get(&url, &[("origin", "https://evil.example")]).await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY);
    assert!(cors_headers(&refused).is_empty(), "{refused:?}");

    let metrics = running.admin("/metrics").await;
    assert_eq!(
        sample(
            metrics.text(),
            "corsair_upstream_errors_total{kind=\"connect\"}"
        ),
        2.0
    );
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn an_upstream_that_does_not_speak_http_is_a_502() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let garbage = tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = [0; 1024];
            let _ = stream.read(&mut buffer).await;
            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
        }
    });
    let running = Running::start(&common::proxy_file(
        &format!("http://{addr}"),
        CREDENTIALED,
        "",
    ))
    .await;
    let answer = get(&running.url("/"), &[("origin", APP)]).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    assert_eq!(cors_headers(&answer), pairs(&ALLOWED));
    let metrics = running.admin("/metrics").await;
    assert_eq!(
        sample(
            metrics.text(),
            "corsair_upstream_errors_total{kind=\"protocol\"}"
        ),
        1.0
    );
    garbage.abort();
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn a_slow_upstream_is_a_504_with_cors_headers() {
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, "")).await;
    let start = Instant::now();
    let answer = get(&running.url("/slow?ms=3000"), &[("origin", APP)]).await;
    let took = start.elapsed();
    assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(cors_headers(&answer), pairs(&ALLOWED));
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(2500),
        "upstream_timeout is 300ms, the 504 came after {took:?}"
    );
    // Within the timeout, a slow answer is an answer.
    let answer = get(&running.url("/slow?ms=10"), &[("origin", APP)]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "slow done");

    let metrics = running.admin("/metrics").await;
    assert_eq!(
        sample(
            metrics.text(),
            "corsair_upstream_errors_total{kind=\"timeout\"}"
        ),
        1.0
    );
    running.proxy.shutdown().await;
}

/// The upstream timeout counts from the last piece of the request body the
/// upstream took: an upload longer than the timeout is not a slow upstream.
#[tokio::test]
async fn a_long_upload_is_not_a_slow_upstream() {
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, "")).await;
    // Six chunks 100 ms apart: twice the 300 ms timeout in all.
    let chunk = common::Pattern::chunk();
    let frames = stream::iter(0..6).then(move |i| {
        let chunk = chunk.clone();
        async move {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok::<_, BoxError>(Frame::data(chunk))
        }
    });
    let start = Instant::now();
    let counted = send(
        &client(),
        request(
            "POST",
            &running.url("/count"),
            &[("origin", APP)],
            BodyExt::boxed(StreamBody::new(frames)),
        ),
    )
    .await;
    assert!(start.elapsed() > Duration::from_millis(450));
    assert_eq!(counted.status, StatusCode::OK, "{}", counted.text());
    assert_eq!(counted.json()["bytes"], common::Pattern::len(6));
    assert_eq!(cors_headers(&counted), pairs(&ALLOWED));

    // A body sent at once does not extend the time a slow upstream gets.
    let start = Instant::now();
    let answer = send(
        &client(),
        request(
            "POST",
            &running.url("/slow?ms=3000"),
            &[("origin", APP)],
            full("small"),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(start.elapsed() < Duration::from_millis(2500));
    running.proxy.shutdown().await;
}

// ---------------------------------------------------------------------------
// Streaming, pooling, protocols
// ---------------------------------------------------------------------------

/// The upstream's first chunk reaches the client while the upstream holds
/// back the rest, and the client's first chunk comes back through `/echo`
/// while the client holds back the rest: neither body is buffered whole.
#[tokio::test]
async fn bodies_stream_both_ways_without_buffering() {
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, "")).await;
    let client = client();
    let wait = Duration::from_secs(5);

    let response = client
        .request(request("GET", &running.url("/gated"), &[], empty()))
        .await
        .unwrap();
    let mut body = response.into_body();
    let first = tokio::time::timeout(wait, body.frame())
        .await
        .expect("the first chunk did not come while the upstream held back the rest")
        .unwrap()
        .unwrap();
    assert_eq!(first.into_data().unwrap(), "first;");
    upstream.state.release.notify_one();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, "rest");

    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(1);
    let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let data = receiver.recv().await?;
        Some((Ok::<_, BoxError>(Frame::data(data)), receiver))
    });
    let response = client
        .request(request(
            "POST",
            &running.url("/echo"),
            &[("origin", APP)],
            BodyExt::boxed(StreamBody::new(frames)),
        ))
        .await;
    // The upstream answers /echo at once, so the head may come before the
    // client sent anything; send the first chunk either way.
    let response = match response {
        Ok(response) => response,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], APP);
    let mut body = response.into_body();
    sender.send(Bytes::from_static(b"ping;")).await.unwrap();
    let echoed = tokio::time::timeout(wait, body.frame())
        .await
        .expect("the first chunk did not come back while the client held back the rest")
        .unwrap()
        .unwrap();
    assert_eq!(echoed.into_data().unwrap(), "ping;");
    sender.send(Bytes::from_static(b"pong")).await.unwrap();
    drop(sender);
    assert_eq!(body.collect().await.unwrap().to_bytes(), "pong");
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn a_large_body_passes_both_ways_intact() {
    // 10 MB in-process; the 100 MB runs against the binary, where the
    // proxy's memory can be read (tests/proxy_process.rs).
    const CHUNKS: usize = 160;
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, "")).await;
    let client = client();

    let response = client
        .request(request(
            "GET",
            &running.url(&format!("/stream?chunks={CHUNKS}")),
            &[],
            empty(),
        ))
        .await
        .unwrap();
    let mut body = response.into_body();
    let mut check = common::PatternCheck::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            check.feed(&data);
        }
    }
    assert_eq!(check.bytes, common::Pattern::len(CHUNKS));
    assert!(check.ok(), "broken at {:?}", check.broken_at);

    let counted = send(
        &client,
        request(
            "POST",
            &running.url("/count"),
            &[],
            common::Pattern::body(CHUNKS),
        ),
    )
    .await
    .json();
    assert_eq!(counted["bytes"], common::Pattern::len(CHUNKS));
    assert_eq!(counted["pattern"], true);
    running.proxy.shutdown().await;
}

/// Sequential requests, each on a new client connection, through a proxy of
/// `workers` worker threads: the upstream connections they took.
async fn upstream_connections_for_sequential_requests(workers: usize) -> usize {
    let upstream = Upstream::start().await;
    let text = common::proxy_file(&upstream.url(), CREDENTIALED, "")
        .replace("[limits]", &format!("[limits]\nworkers = {workers}"));
    let running = Running::start(&text).await;
    for i in 0..20 {
        // A new client each time: a new client connection each time.
        let answer = get(&running.url(&format!("/n/{i}")), &[("origin", APP)]).await;
        assert_eq!(answer.status, StatusCode::OK);
    }
    assert_eq!(upstream.state.requests.load(Ordering::SeqCst), 20);
    running.proxy.shutdown().await;
    upstream.state.connections.load(Ordering::SeqCst)
}

#[tokio::test]
async fn upstream_connections_are_pooled() {
    assert_eq!(
        upstream_connections_for_sequential_requests(1).await,
        1,
        "sequential requests should reuse one pooled upstream connection"
    );
    // Each worker thread has its own pool, and client connections go to
    // the workers in turn: one upstream connection each, reused.
    assert_eq!(
        upstream_connections_for_sequential_requests(2).await,
        2,
        "each of two workers should reuse its one pooled upstream connection"
    );
}

#[tokio::test]
async fn http2_clients_are_served() {
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, "")).await;
    let client: Client<_, Body> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();

    let response = client
        .request(request(
            "GET",
            &running.url("/headers"),
            &[("origin", APP)],
            empty(),
        ))
        .await
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    let (parts, body) = response.into_parts();
    let received = Received {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    };
    assert_eq!(received.status, StatusCode::OK);
    assert_eq!(cors_headers(&received), pairs(&ALLOWED));
    let json = received.json();
    assert_eq!(json["version"], "HTTP/1.1", "the upstream speaks HTTP/1.1");
    let headers: Vec<(String, String)> = serde_json::from_value(json["headers"].clone()).unwrap();
    let proxy = running.proxy.addr().to_string();
    assert!(
        headers.contains(&("host".to_owned(), proxy.clone())),
        "the :authority becomes Host: {headers:?}"
    );

    let preflight = client
        .request(request(
            "OPTIONS",
            &running.url("/headers"),
            &[("origin", APP), ("access-control-request-method", "PUT")],
            empty(),
        ))
        .await
        .unwrap();
    assert_eq!(preflight.version(), http::Version::HTTP_2);
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-origin"], APP);

    let echoed = client
        .request(request("POST", &running.url("/echo"), &[], full("over h2")))
        .await
        .unwrap();
    assert_eq!(
        echoed.into_body().collect().await.unwrap().to_bytes(),
        "over h2"
    );
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn websockets_pass_through() {
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, "")).await;
    let mut handshake = format!("ws://{}/ws", running.proxy.addr())
        .into_client_request()
        .unwrap();
    handshake
        .headers_mut()
        .insert("origin", HeaderValue::from_static(APP));
    let (mut socket, response) = tokio_tungstenite::connect_async(handshake).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);

    for text in ["hello", "through the proxy"] {
        socket.send(Message::text(text)).await.unwrap();
        let echoed = socket.next().await.unwrap().unwrap();
        assert_eq!(echoed, Message::text(text));
    }
    let binary = vec![0_u8, 1, 2, 255];
    socket.send(Message::binary(binary.clone())).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::binary(binary)
    );
    socket.close(None).await.unwrap();
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn websocket_handshakes_from_origins_not_allowed_never_reach_the_upstream() {
    let upstream = Upstream::start().await;
    let routes = "[[routes]]\nhost = \"open.example\"\n[routes.cors]\n\
                  allow_origins = [\"https://app.example.com\"]\nwebsocket_origins = \"pass\"\n";
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, routes)).await;
    let handshake = |host: Option<&'static str>, origin: Option<&'static str>| {
        let mut request = format!("ws://{}/ws", running.proxy.addr())
            .into_client_request()
            .unwrap();
        if let Some(host) = host {
            request
                .headers_mut()
                .insert("host", HeaderValue::from_static(host));
        }
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_static(origin));
        }
        tokio_tungstenite::connect_async(request)
    };

    // Refused: 403, and the upstream never hears of it.
    for origin in ["https://evil.example", "null"] {
        let error = handshake(None, Some(origin)).await.unwrap_err();
        let tokio_tungstenite::tungstenite::Error::Http(response) = error else {
            panic!("{origin}: {error}");
        };
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{origin}"
        );
    }
    assert_eq!(upstream.state.requests.load(Ordering::SeqCst), 0);
    assert_eq!(upstream.state.connections.load(Ordering::SeqCst), 0);

    // Allowed, own, without Origin, and on a route that passes them: each
    // reaches the upstream, which echoes.
    let proxy = running.proxy.addr().to_string();
    let own: &'static str = Box::leak(format!("http://{proxy}").into_boxed_str());
    for (host, origin) in [
        (None, Some(APP)),
        (None, Some(own)),
        (None, None),
        (Some("open.example"), Some("https://evil.example")),
    ] {
        let (mut socket, response) = handshake(host, origin)
            .await
            .unwrap_or_else(|error| panic!("{host:?} from {origin:?}: {error}"));
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        socket.send(Message::text("ping")).await.unwrap();
        assert_eq!(socket.next().await.unwrap().unwrap(), Message::text("ping"));
        socket.close(None).await.unwrap();
    }
    assert_eq!(upstream.state.requests.load(Ordering::SeqCst), 4);

    let metrics = running.admin("/metrics").await;
    assert_eq!(
        sample(
            metrics.text(),
            "corsair_requests_total{outcome=\"websocket_refused\"}"
        ),
        2.0
    );
    assert_eq!(
        running.proxy.metrics().requests(Counted::WebSocketRefused),
        2
    );
    running.proxy.shutdown().await;
}

// ---------------------------------------------------------------------------
// Reload
// ---------------------------------------------------------------------------

/// One HTTP/1.1 connection, kept open across reloads.
async fn connection(addr: std::net::SocketAddr) -> hyper::client::conn::http1::SendRequest<Body> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

/// The `Access-Control-Allow-Origin` the proxy answers `origin` with, on
/// `sender`'s connection.
async fn allow_origin(
    sender: &mut hyper::client::conn::http1::SendRequest<Body>,
    origin: &str,
) -> Option<String> {
    sender.ready().await.expect("the connection was dropped");
    let response = sender
        .send_request(
            Request::get("/x")
                .header("host", "proxy")
                .header("origin", origin)
                .body(empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let value = response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    response.into_body().collect().await.unwrap();
    value
}

/// Replaces the file at `path` at once (write, then rename), as editors and
/// configuration tools do, so that the proxy's watch never reads half of it.
fn replace_file(path: &Path, text: &str) {
    let next = path.with_extension("toml.next");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}

fn origin_policy(origin: &str) -> String {
    format!("allow_origins = [\"{origin}\"]")
}

#[tokio::test]
async fn reload_applies_a_valid_file_and_keeps_the_policy_on_an_invalid_one() {
    const NEXT: &str = "https://next.example.com";
    const WATCHED: &str = "https://watched.example.com";
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(
        &upstream.url(),
        &origin_policy(APP),
        "",
    ))
    .await;
    let mut open = connection(running.proxy.addr()).await;
    assert_eq!(allow_origin(&mut open, APP).await.as_deref(), Some(APP));

    // Valid: in force for the next request, on the connection already open.
    let valid = common::proxy_file(&upstream.url(), &origin_policy(NEXT), "");
    replace_file(&running.path, &valid);
    running.proxy.reload().unwrap();
    assert_eq!(allow_origin(&mut open, NEXT).await.as_deref(), Some(NEXT));
    assert_eq!(allow_origin(&mut open, APP).await, None);
    let config = running.admin("/config").await.json();
    assert_eq!(config["cors"]["allow_origins"][0], NEXT);

    // Invalid, with three problems: every one reported, nothing changes.
    let invalid = common::proxy_file(
        "https://upstream.example",
        "allow_origins = [\"*\"]\nallow_credentials = true",
        "[[routes]]\npath_prefix = \"api/\"\n[routes.cors]\nallow_origins = [\"https://x.example\"]\n",
    );
    replace_file(&running.path, &invalid);
    let error = running.proxy.reload().unwrap_err();
    let fields: Vec<_> = error
        .diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.field.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        ["upstream", "cors.allow_origins[0]", "routes[0].path_prefix"],
        "{error}"
    );
    assert_eq!(allow_origin(&mut open, NEXT).await.as_deref(), Some(NEXT));
    let metrics = running.admin("/metrics").await;
    assert_eq!(
        sample(metrics.text(), "corsair_reloads_total{result=\"applied\"}"),
        1.0
    );
    assert_eq!(
        sample(metrics.text(), "corsair_reloads_total{result=\"rejected\"}"),
        1.0
    );

    // A syntax error is rejected too.
    replace_file(&running.path, "upstream = \n[cors\n");
    let error = running.proxy.reload().unwrap_err();
    assert!(
        error.diagnostics()[0].to_string().starts_with("2:6: "),
        "line and column: {error}"
    );
    assert_eq!(allow_origin(&mut open, NEXT).await.as_deref(), Some(NEXT));

    // The file watch: a change on disk is applied without a call.
    let watched = common::proxy_file(&upstream.url(), &origin_policy(WATCHED), "");
    replace_file(&running.path, &watched);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if allow_origin(&mut open, WATCHED).await.as_deref() == Some(WATCHED) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the changed file was not applied within 5s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(allow_origin(&mut open, NEXT).await, None);
    running.proxy.shutdown().await;
}

/// Waits up to 5 s, asking on `open`, until `origin` is allowed (`true`)
/// or refused (`false`).
async fn until_allowed(
    open: &mut hyper::client::conn::http1::SendRequest<Body>,
    origin: &str,
    allowed: bool,
) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while allow_origin(open, origin).await.is_some() != allowed {
        assert!(
            Instant::now() < deadline,
            "{origin} not {} within 5s",
            if allowed { "allowed" } else { "refused" }
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_watch_follows_an_origins_file_and_keeps_the_list_on_a_bad_line() {
    const TENANT: &str = "https://shop.tenant-b.example";
    const LATER: &str = "https://later.tenant-c.example";
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Relative to the proxy file's directory, wherever the proxy runs.
    let tenants = dir.path().join("tenants.txt");
    std::fs::write(&tenants, format!("# tenants\n{TENANT}\n")).unwrap();
    let running = Running::start_in(
        dir,
        &common::proxy_file(
            &upstream.url(),
            &format!(
                "{}\nallow_origins_file = \"tenants.txt\"",
                origin_policy(APP)
            ),
            "",
        ),
    )
    .await;
    let mut open = connection(running.proxy.addr()).await;
    assert_eq!(allow_origin(&mut open, APP).await.as_deref(), Some(APP));
    assert_eq!(
        allow_origin(&mut open, TENANT).await.as_deref(),
        Some(TENANT)
    );
    assert_eq!(allow_origin(&mut open, LATER).await, None);

    // The proxy file is unchanged: the watch sees the origins file
    // (replaced at once, as deployments do).
    replace_file(&tenants, &format!("{TENANT}\n{LATER}  # signed up today\n"));
    until_allowed(&mut open, LATER, true).await;

    // A bad line: nothing changes, and a reload says which line.
    replace_file(&tenants, &format!("{LATER}\nhttps://bad.example/\n"));
    let error = running.proxy.reload().unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("tenants.txt:2: \"https://bad.example/\": an origin has no path"),
        "{message}"
    );
    assert_eq!(
        allow_origin(&mut open, TENANT).await.as_deref(),
        Some(TENANT)
    );

    // Fixed: the watch applies it, TENANT's line being gone.
    replace_file(&tenants, &format!("{LATER}\n"));
    until_allowed(&mut open, TENANT, false).await;
    assert_eq!(allow_origin(&mut open, LATER).await.as_deref(), Some(LATER));
    running.proxy.shutdown().await;
}

/// A tenants service for `[cors.origin_source] url`: `GET /cors/{origin}`
/// answers as the conformance table's source does
/// (`conformance::table::tenant_answer`): `204` for origins under
/// `.tenant.example`, `500` for those under `.broken.example`, `404` for
/// others. It counts what it is asked.
async fn tenants_service() -> (String, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let app = axum::Router::new().route(
        "/cors/{origin}",
        axum::routing::get(
            move |axum::extract::Path(origin): axum::extract::Path<String>| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    match conformance::table::tenant_answer(&origin) {
                        None => StatusCode::INTERNAL_SERVER_ERROR,
                        Some(true) => StatusCode::NO_CONTENT,
                        Some(false) => StatusCode::NOT_FOUND,
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cors/{{origin}}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, asked)
}

#[tokio::test]
async fn an_origin_source_url_answers_for_origins_the_list_does_not_name() {
    const TENANT: &str = "https://shop.tenant.example";
    let upstream = Upstream::start().await;
    let (url, asked) = tenants_service().await;
    let running = Running::start(&common::proxy_file(
        &upstream.url(),
        CREDENTIALED,
        &format!("[cors.origin_source]\nurl = \"{url}\"\nttl = \"1m\"\n"),
    ))
    .await;
    let client = client();
    let preflight = |origin: &str| {
        request(
            "OPTIONS",
            &running.url("/items"),
            &[("origin", origin), ("access-control-request-method", "PUT")],
            empty(),
        )
    };

    let received = send(&client, preflight(TENANT)).await;
    assert_eq!(received.status, StatusCode::NO_CONTENT);
    assert_eq!(received.header("access-control-allow-origin"), Some(TENANT));
    // Kept: the second preflight is answered without asking.
    let received = send(&client, preflight(TENANT)).await;
    assert_eq!(received.status, StatusCode::NO_CONTENT);
    assert_eq!(asked.load(Ordering::SeqCst), 1);

    // Refused by the service, or by its failure; the upstream still serves
    // the GET, without CORS headers.
    for origin in ["https://evil.example", "https://shop.broken.example"] {
        let received = send(
            &client,
            request(
                "GET",
                &running.url("/items"),
                &[("origin", origin)],
                empty(),
            ),
        )
        .await;
        assert_eq!(received.status, StatusCode::OK, "{origin}");
        assert_eq!(
            received.header("access-control-allow-origin"),
            None,
            "{origin}"
        );
        assert_eq!(received.header("vary"), Some("Origin"), "{origin}");
    }
    assert_eq!(asked.load(Ordering::SeqCst), 3);
    // The listed origin is never asked about.
    let received = send(&client, preflight(APP)).await;
    assert_eq!(received.status, StatusCode::NO_CONTENT);
    assert_eq!(asked.load(Ordering::SeqCst), 3);

    // What the source did is in /metrics, for the route that has it.
    let metrics = running.admin("/metrics").await;
    let metrics = metrics.text();
    for (series, expected) in [
        ("allowed", 1.0),
        ("refused", 1.0),
        ("failed", 1.0),
        ("timed_out", 0.0),
    ] {
        let series =
            format!("corsair_origin_source_lookups_total{{route=\"cors\",result=\"{series}\"}}");
        assert_eq!(sample(metrics, &series), expected, "{series}");
    }
    // Three answers kept: the two the service gave, and the failure (a
    // refusal for a few seconds, so that a failing service is not asked
    // by every request).
    assert_eq!(
        sample(metrics, "corsair_origin_source_kept{route=\"cors\"}"),
        3.0
    );
    assert_eq!(
        sample(metrics, "corsair_origin_source_running{route=\"cors\"}"),
        0.0
    );
    assert_eq!(
        sample(
            metrics,
            "corsair_origin_source_overloaded_total{route=\"cors\"}"
        ),
        0.0
    );
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn an_origin_source_url_that_is_not_one_is_a_problem_of_the_file() {
    let text = common::proxy_file(
        "http://127.0.0.1:3000",
        CREDENTIALED,
        "[cors.origin_source]\nurl = \"http://tenants.internal/cors\"\n",
    );
    let document = corsair::config::Document::new(text, corsair::Format::Toml);
    let error = ProxyFile::from_document(&document, &Overrides::default()).unwrap_err();
    let errors: Vec<_> = error
        .diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .collect();
    let [diagnostic] = errors[..] else {
        panic!("{error}")
    };
    assert_eq!(diagnostic.field.as_deref(), Some("cors.origin_source.url"));
    assert!(
        diagnostic.message.contains("must hold {origin} once"),
        "{diagnostic}"
    );
    assert!(diagnostic.location.is_some(), "{diagnostic}");
}

// ---------------------------------------------------------------------------
// Shutdown and limits
// ---------------------------------------------------------------------------

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_accepts_no_more() {
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, "")).await;
    let addr = running.proxy.addr();
    let mut open = connection(addr).await;
    let in_flight = tokio::spawn(async move {
        open.ready().await.unwrap();
        let response = open
            .send_request(
                Request::get("/slow?ms=250")
                    .header("host", "proxy")
                    .header("origin", APP)
                    .body(empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body)
    });
    upstream.state.slow_arrived.notified().await;
    let start = Instant::now();
    running.proxy.shutdown().await;
    let took = start.elapsed();
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "slow done");
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the proxy still accepts connections after shutdown"
    );
}

#[tokio::test]
async fn shutdown_closes_what_the_grace_period_did_not_finish() {
    let upstream = Upstream::start().await;
    let text = common::proxy_file(&upstream.url(), CREDENTIALED, "")
        .replace("shutdown_grace = \"2s\"", "shutdown_grace = \"200ms\"")
        .replace("upstream_timeout = \"300ms\"", "upstream_timeout = \"30s\"");
    let running = Running::start(&text).await;
    let url = running.url("/slow?ms=20000");
    let in_flight =
        tokio::spawn(async move { client().request(request("GET", &url, &[], empty())).await });
    upstream.state.slow_arrived.notified().await;
    let start = Instant::now();
    running.proxy.shutdown().await;
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(3),
        "shutdown took {took:?} with a 200ms grace period"
    );
    let outcome = tokio::time::timeout(Duration::from_secs(3), in_flight)
        .await
        .expect("the request outlived the shutdown")
        .unwrap();
    assert!(outcome.is_err(), "{outcome:?}");
}

fn with_limits(upstream: &str, limits: &str) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"{upstream}\"\n[cors]\n{CREDENTIALED}\n\
         [limits]\n{limits}\n[admin]\nlisten = \"127.0.0.1:0\"\n"
    )
}

#[tokio::test]
async fn oversized_headers_are_refused() {
    let upstream = Upstream::start().await;
    let running = Running::start(&with_limits(&upstream.url(), "max_header_bytes = 16384")).await;
    let big = "a".repeat(20_000);
    let mut stream = TcpStream::connect(running.proxy.addr()).await.unwrap();
    stream
        .write_all(format!("GET / HTTP/1.1\r\nhost: proxy\r\nx-big: {big}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "a 20 kB header with max_header_bytes = 16384: {answer:?}"
    );
    assert_eq!(upstream.state.requests.load(Ordering::SeqCst), 0);

    // Below the limit, fine.
    let small = "a".repeat(4_000);
    let answer = get(&running.url("/"), &[("x-big", &small)]).await;
    assert_eq!(answer.status, StatusCode::OK);
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn clients_slow_to_send_headers_are_cut_off() {
    let upstream = Upstream::start().await;
    let running = Running::start(&with_limits(
        &upstream.url(),
        "header_read_timeout = \"300ms\"",
    ))
    .await;
    let mut stream = TcpStream::connect(running.proxy.addr()).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: pr")
        .await
        .unwrap();
    let start = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection stayed open");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(250), "closed after {took:?}");
    assert_eq!(upstream.state.requests.load(Ordering::SeqCst), 0);
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_one_to_close() {
    let upstream = Upstream::start().await;
    let running = Running::start(&with_limits(&upstream.url(), "max_connections = 1")).await;
    let addr = running.proxy.addr();
    let mut first = connection(addr).await;
    assert_eq!(allow_origin(&mut first, APP).await.as_deref(), Some(APP));

    let mut second = TcpStream::connect(addr).await.unwrap();
    second
        .write_all(b"GET /second HTTP/1.1\r\nhost: proxy\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let early =
        tokio::time::timeout(Duration::from_millis(300), second.read_to_end(&mut answer)).await;
    assert!(
        early.is_err() && answer.is_empty(),
        "a second connection was served beyond max_connections = 1: {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(running.proxy.metrics().requests(Counted::ActualAllowed), 1);

    drop(first);
    tokio::time::timeout(Duration::from_secs(5), second.read_to_end(&mut answer))
        .await
        .expect("the second connection was not served after the first closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("upstream /second"), "{answer}");
    running.proxy.shutdown().await;
}

// ---------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_admin_listener_serves_health_config_and_metrics_that_count_every_request() {
    let upstream = Upstream::start().await;
    let running = Running::start(&common::proxy_file(&upstream.url(), CREDENTIALED, "")).await;
    let health = running.admin("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.text(), "ok\n");
    let config = running.admin("/config").await.json();
    assert_eq!(config["cors"]["allow_origins"][0], APP);
    assert_eq!(config["cors"]["allow_credentials"], true);
    assert_eq!(config["upstream"], upstream.url());
    assert_eq!(running.admin("/nope").await.status, StatusCode::NOT_FOUND);

    let client = client();
    let url = running.url("/counted");
    let preflight = |origin: &'static str, method: &'static str| {
        request(
            "OPTIONS",
            &url,
            &[
                ("origin", origin),
                ("access-control-request-method", method),
            ],
            empty(),
        )
    };
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.push((preflight(APP, "PUT"), StatusCode::NO_CONTENT));
    }
    sent.push((preflight(APP, "PATCH"), StatusCode::FORBIDDEN));
    sent.push((
        preflight("https://evil.example", "PUT"),
        StatusCode::FORBIDDEN,
    ));
    for _ in 0..4 {
        sent.push((
            request("GET", &url, &[("origin", APP)], empty()),
            StatusCode::OK,
        ));
    }
    sent.push((
        request("POST", &url, &[("origin", "https://evil.example")], empty()),
        StatusCode::OK,
    ));
    for _ in 0..5 {
        sent.push((request("GET", &url, &[], empty()), StatusCode::OK));
    }
    let total = sent.len();
    for (request, status) in sent {
        assert_eq!(send(&client, request).await.status, status);
    }

    let metrics = running.admin("/metrics").await;
    assert_eq!(
        metrics.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let text = metrics.text();
    for (outcome, count) in [
        ("preflight_allowed", 3.0),
        ("preflight_refused", 2.0),
        ("actual_allowed", 4.0),
        ("actual_refused", 1.0),
        ("no_origin", 5.0),
    ] {
        assert_eq!(
            sample(
                text,
                &format!("corsair_requests_total{{outcome=\"{outcome}\"}}")
            ),
            count,
            "{outcome}"
        );
    }
    assert_eq!(
        sample(text, "corsair_request_duration_seconds_count"),
        total as f64
    );
    for kind in ["connect", "timeout", "protocol"] {
        assert_eq!(
            sample(
                text,
                &format!("corsair_upstream_errors_total{{kind=\"{kind}\"}}")
            ),
            0.0
        );
    }
    assert_eq!(running.proxy.metrics().requests(Counted::NoOrigin), 5);
    assert_eq!(upstream.state.requests.load(Ordering::SeqCst), 10);
    running.proxy.shutdown().await;
}

// ---------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------

/// A TLS connection to `addr` trusting `cert`, offering `alpn`.
async fn tls_connect(
    addr: std::net::SocketAddr,
    cert: &rcgen::Certificate,
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, stream).await.unwrap()
}

fn write_cert(dir: &Path) -> rcgen::Certificate {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    certified.cert
}

#[tokio::test]
async fn tls_is_terminated_with_http2_and_http11() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path());
    let text = common::proxy_file(
        &upstream.url(),
        CREDENTIALED,
        "[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n",
    );
    let running = Running::start_in(dir, &text).await;
    let addr = running.proxy.addr();

    let stream = tls_connect(addr, &cert, b"h2").await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut h2, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let response = h2
        .send_request(
            Request::get("https://localhost/headers")
                .header("origin", APP)
                .body(empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], APP);
    let json: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let headers: Vec<(String, String)> = serde_json::from_value(json["headers"].clone()).unwrap();
    assert!(
        headers.contains(&("x-forwarded-proto".to_owned(), "https".to_owned())),
        "{headers:?}"
    );
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "forwarded" && v.contains("proto=https")),
        "{headers:?}"
    );

    let stream = tls_connect(addr, &cert, b"http/1.1").await;
    let (mut h1, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let response = h1
        .send_request(
            Request::get("/over-tls")
                .header("host", "localhost")
                .body(empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "upstream /over-tls"
    );

    // Plain HTTP to the TLS port gets no answer.
    let plain = tokio::time::timeout(
        Duration::from_secs(5),
        client().request(request("GET", &running.url("/"), &[], empty())),
    )
    .await
    .expect("plain HTTP to a TLS port hung");
    assert!(plain.is_err(), "{plain:?}");
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn a_renewed_certificate_is_served_after_a_reload() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let first = write_cert(dir.path());
    let text = common::proxy_file(
        &upstream.url(),
        CREDENTIALED,
        "[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n",
    );
    let running = Running::start_in(dir, &text).await;
    let addr = running.proxy.addr();
    let served = |stream: &tokio_rustls::client::TlsStream<TcpStream>| {
        stream.get_ref().1.peer_certificates().unwrap()[0].clone()
    };
    assert_eq!(
        served(&tls_connect(addr, &first, b"http/1.1").await),
        *first.der()
    );

    // Renewed in place, under the same names: served from the next
    // handshake on.
    let dir = running.path.parent().unwrap().to_owned();
    let second = write_cert(&dir);
    running.proxy.reload().unwrap();
    assert_eq!(
        served(&tls_connect(addr, &second, b"http/1.1").await),
        *second.der()
    );

    // A broken renewal is an invalid file, as it would be at start (and
    // for `corsair check`): the certificate in force stays.
    std::fs::write(dir.join("key.pem"), "not a key").unwrap();
    let error = running.proxy.reload().unwrap_err();
    let first_error = error
        .diagnostics()
        .iter()
        .find(|diagnostic| diagnostic.is_error())
        .unwrap();
    assert_eq!(first_error.field.as_deref(), Some("tls.key"), "{error}");
    assert_eq!(
        served(&tls_connect(addr, &second, b"http/1.1").await),
        *second.der()
    );
    running.proxy.shutdown().await;
}

#[tokio::test]
async fn config_shows_what_is_in_force_after_a_reload_that_needs_a_restart() {
    let upstream = Upstream::start().await;
    let text = common::proxy_file(&upstream.url(), CREDENTIALED, "");
    let running = Running::start(&text).await;
    let changed = text
        .replace("[limits]", "[limits]\nmax_connections = 7")
        .replace("max_age = 600", "max_age = 60");
    std::fs::write(&running.path, &changed).unwrap();
    running.proxy.reload().unwrap();
    let config = running.admin("/config").await.json();
    // The policy changed; the connection limit waits for a restart.
    assert_eq!(config["cors"]["max_age"], 60);
    assert_eq!(config["limits"]["max_connections"], 10_000);
    running.proxy.shutdown().await;
}
