//! One request through the proxy: pick the route's policy, answer a
//! preflight on the spot, or forward the request and apply the policy to the
//! upstream's answer (or to the proxy's own `502`/`504`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use corsair::{Actual, Decision};
use http::header::{self, HeaderValue};
use http::uri::{PathAndQuery, Scheme, Uri};
use http::{Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tracing::{debug, warn};

use super::body::{ProxyBody, RequestBody, stalled};
use super::file::{Forwarding, ProxyFile, Settings, Upstream};
use super::forward::{add_forwarding, is_upgrade, strip_hop_by_hop};
use super::metrics::{Metrics, Outcome, UpstreamFailure};
use super::routes::RouteTable;
use super::tls::Certificates;

/// What a reload may change: the policies, the upstream, forwarding and the
/// upstream timeout.
#[derive(Debug)]
pub(crate) struct Live {
    /// The policies.
    pub(crate) routes: RouteTable,
    /// The service behind the proxy.
    pub(crate) upstream: Upstream,
    /// Forwarding headers.
    pub(crate) forwarding: Forwarding,
    /// How long the upstream has to send its response's headers.
    pub(crate) upstream_timeout: Duration,
    /// The file in force, for `/config`.
    pub(crate) file: ProxyFile,
}

impl From<&Settings> for Live {
    fn from(settings: &Settings) -> Self {
        Live {
            routes: settings.routes.clone(),
            upstream: settings.upstream.clone(),
            forwarding: settings.forwarding,
            upstream_timeout: settings.limits.upstream_timeout,
            file: settings.file.clone(),
        }
    }
}

/// What every connection shares: the configuration in force, the pooled
/// upstream client, the metrics.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The configuration in force; a reload swaps it.
    pub(crate) live: ArcSwap<Live>,
    /// The metrics.
    pub(crate) metrics: Metrics,
    /// The TLS certificate, when the proxy terminates TLS.
    pub(crate) certificates: Option<Arc<Certificates>>,
    client: Client<HttpConnector, RequestBody>,
}

impl Shared {
    /// State for `settings`, with a fresh connection pool.
    #[must_use]
    pub(crate) fn new(settings: &Settings, certificates: Option<Arc<Certificates>>) -> Self {
        // No connect timeout of its own: `upstream_timeout` runs from the
        // moment the request is sent, connecting included, and a reload
        // changes it.
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(settings.limits.max_idle_upstream_connections)
            .build(connector);
        Shared {
            live: ArcSwap::from_pointee(Live::from(settings)),
            metrics: Metrics::new(),
            certificates,
            client,
        }
    }
}

/// The connection a request came on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peer {
    /// The client's address.
    pub(crate) addr: SocketAddr,
    /// `https` when the proxy terminated TLS, else `http`.
    pub(crate) proto: &'static str,
}

/// Answers one client request. Never fails: problems become responses.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    peer: Peer,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let start = Instant::now();
    let live = shared.live.load_full();
    let policy = Arc::clone(live.routes.policy_for(request.uri().path()));
    let decision = policy.check(request.method(), request.headers());
    let actual = match decision {
        Decision::Preflight(preflight) => {
            let outcome = if preflight.status().is_success() {
                Outcome::PreflightAllowed
            } else {
                Outcome::PreflightRefused
            };
            let response = policy.preflight_response::<ProxyBody>(&preflight);
            shared.metrics.request(outcome, start.elapsed());
            return Ok(response);
        }
        Decision::Actual(actual) => actual.into_owned(),
    };
    let outcome = match actual {
        Actual::NoOrigin => Outcome::NoOrigin,
        Actual::Allowed(_) => Outcome::ActualAllowed,
        Actual::Refused(_) => Outcome::ActualRefused,
    };
    let version = request.version();
    let mut response = forward(&shared, &live, peer, request).await;
    // The client's protocol, whatever the upstream spoke (an HTTP/1.0
    // upstream must not turn a keep-alive HTTP/1.1 connection into 1.0).
    *response.version_mut() = version;
    let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
    strip_hop_by_hop(response.headers_mut(), switching);
    policy.apply(&actual, response.headers_mut());
    shared.metrics.request(outcome, start.elapsed());
    Ok(response)
}

/// Sends the request upstream and returns its response, or the proxy's own
/// `4xx`/`5xx` when that is not possible.
async fn forward(
    shared: &Shared,
    live: &Live,
    peer: Peer,
    mut request: Request<Incoming>,
) -> Response<ProxyBody> {
    if request.method() == Method::CONNECT {
        return local(
            StatusCode::METHOD_NOT_ALLOWED,
            "corsair: CONNECT is not proxied: this is a reverse proxy\n",
        );
    }
    let upgrade = is_upgrade(request.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));

    let (mut parts, body) = request.into_parts();
    // The authority the client asked for: `Host` in HTTP/1.1, `:authority`
    // in HTTP/2.
    let host = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|authority| HeaderValue::from_str(authority.as_str()).ok())
    });
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let uri = match Uri::builder()
        .scheme(Scheme::HTTP)
        .authority(live.upstream.authority.clone())
        .path_and_query(path)
        .build()
    {
        Ok(uri) => uri,
        Err(_) => return local(StatusCode::BAD_REQUEST, "corsair: bad request target\n"),
    };
    parts.uri = uri;
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers, upgrade);
    add_forwarding(
        &mut parts.headers,
        live.forwarding,
        peer.addr,
        peer.proto,
        host.as_ref(),
    );
    match (live.forwarding.preserve_host, host) {
        (true, Some(host)) => {
            parts.headers.insert(header::HOST, host);
        }
        _ => {
            // The client sets `Host` from the upstream's authority.
            parts.headers.remove(header::HOST);
        }
    }

    // The upstream has `upstream_timeout` from the last piece of the body
    // it took (from now, without a body) to answer with its headers.
    let (body, progress) = RequestBody::new(body);
    let sent = shared.client.request(Request::from_parts(parts, body));
    let answered = tokio::select! {
        answered = sent => Ok(answered),
        () = stalled(progress, live.upstream_timeout) => Err(()),
    };
    let mut response = match answered {
        Ok(Ok(response)) => response,
        Ok(Err(error)) if client_body_failed(&error) => {
            debug!(error = %error_chain(&error), "the client's request body failed: 400");
            return local(
                StatusCode::BAD_REQUEST,
                "corsair: the request body could not be read\n",
            );
        }
        Ok(Err(error)) => {
            let failure = if error.is_connect() {
                UpstreamFailure::Connect
            } else {
                UpstreamFailure::Protocol
            };
            shared.metrics.upstream_failure(failure);
            warn!(upstream = %live.upstream.url, error = %error_chain(&error), "upstream failed: 502");
            return local(
                StatusCode::BAD_GATEWAY,
                "corsair: the upstream service could not be reached or did not answer with HTTP\n",
            );
        }
        Err(_) => {
            shared.metrics.upstream_failure(UpstreamFailure::Timeout);
            warn!(
                upstream = %live.upstream.url,
                timeout = ?live.upstream_timeout,
                "upstream sent no response headers in time: 504"
            );
            return local(
                StatusCode::GATEWAY_TIMEOUT,
                "corsair: the upstream service did not answer in time\n",
            );
        }
    };

    if response.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(client_upgrade) = client_upgrade
    {
        let upstream_upgrade = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            match tokio::try_join!(client_upgrade, upstream_upgrade) {
                Ok((client, upstream)) => {
                    let mut client = TokioIo::new(client);
                    let mut upstream = TokioIo::new(upstream);
                    if let Err(error) =
                        tokio::io::copy_bidirectional(&mut client, &mut upstream).await
                    {
                        debug!(%error, "upgraded connection ended");
                    }
                }
                Err(error) => debug!(%error, "protocol switch failed"),
            }
        });
    }
    response.map(ProxyBody::from)
}

/// A response the proxy writes itself.
fn local(status: StatusCode, text: &'static str) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Whether sending to the upstream failed because the client's own body
/// did (malformed chunked encoding, a connection cut mid-upload): the
/// client's fault, not the upstream's. hyper reports a body that errors
/// while it is being sent as a "user" error.
fn client_body_failed(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_user)
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// An error and its sources, on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
