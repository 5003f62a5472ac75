//! One request through the proxy: pick the route's policy, answer a
//! preflight on the spot, or forward the request and apply the policy to the
//! upstream's answer (or to the proxy's own `502`/`504`).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corsair::policy::{Actual, Decision, OriginRefusal, Refusal};
use http::header::{self, HeaderValue};
use http::uri::{PathAndQuery, Uri};
use http::{Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tracing::{debug, warn};

use super::body::{ProxyBody, RequestBody, stalled};
use super::file::{Forwarding, ProxyFile, Settings, Upstream};
use super::forward::{Downstream, add_forwarding, is_upgrade, strip_hop_by_hop};
use super::metrics::{Metrics, Outcome, UpstreamFailure};
use super::pool::{Failure, Pool};
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

/// What every connection shares: the configuration in force, the metrics.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The configuration in force; a reload swaps it.
    pub(crate) live: corsair::live::Live<Live>,
    /// The metrics.
    pub(crate) metrics: Metrics,
    /// The TLS certificate, when the proxy terminates TLS.
    pub(crate) certificates: Option<Arc<Certificates>>,
}

impl Shared {
    /// State for `settings`, served by `workers` worker threads.
    #[must_use]
    pub(crate) fn new(
        settings: &Settings,
        certificates: Option<Arc<Certificates>>,
        workers: usize,
    ) -> Self {
        Shared {
            live: corsair::live::Live::new(Live::from(settings)),
            metrics: Metrics::with_workers(workers),
            certificates,
        }
    }
}

/// What one worker thread's connections share: its upstream pool, its
/// shard of the metrics and its view of the configuration in force.
#[derive(Debug)]
pub(crate) struct Local {
    /// The worker thread's upstream connections.
    pub(crate) pool: Arc<Pool>,
    /// The worker's index, which is its shard of the metrics.
    pub(crate) index: usize,
    /// The configuration in force as this worker last saw it.
    current: Mutex<Current>,
}

/// A worker's view of the configuration in force.
///
/// Every request holds the configuration until its response is on its way.
/// Holding it by the `Arc` the reload swapped in would make every request
/// on every worker add to and take from one reference count, a cache line
/// the cores pull back and forth; here each worker holds that `Arc` once,
/// and its requests count on a wrapper of the worker's own, which the
/// reader derives again only when a reload replaced the configuration.
type Current = corsair::live::Reader<Live, Arc<Held>>;

/// A worker's hold on the configuration in force: its requests share it
/// by an `Arc` of the worker's own.
#[derive(Debug)]
struct Held(Arc<Live>);

impl std::ops::Deref for Held {
    type Target = Live;

    fn deref(&self) -> &Live {
        &self.0
    }
}

impl Local {
    /// The state of worker `index`, using `pool`.
    pub(crate) fn new(shared: &Shared, pool: Arc<Pool>, index: usize) -> Self {
        Local {
            pool,
            index,
            current: Mutex::new(shared.live.reader(|live| Arc::new(Held(Arc::clone(live))))),
        }
    }

    /// The configuration in force now.
    fn live(&self, shared: &Shared) -> Arc<Held> {
        // Only this worker's thread takes the lock, so it is never
        // contended; poisoned (a panic while it was held, which nothing
        // here can cause), the shared state answers.
        match self.current.lock() {
            Ok(mut current) => Arc::clone(current.load().1),
            Err(_) => Arc::new(Held(shared.live.load())),
        }
    }
}

/// One client connection's requests' context: what every connection
/// shares, what the worker thread serving it has, and who the client is.
#[derive(Debug)]
pub(crate) struct Peer {
    /// What every connection shares.
    pub(crate) shared: Arc<Shared>,
    /// What the worker thread's connections share.
    pub(crate) local: Arc<Local>,
    /// The client.
    pub(crate) client: Downstream,
}

/// Answers one client request. Never fails: problems become responses.
pub(crate) async fn handle(
    peer: Arc<Peer>,
    mut request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let start = Instant::now();
    let shared = &peer.shared;
    let live = peer.local.live(shared);
    let policy = live
        .routes
        .policy_for(request_host(&request), request.uri().path());
    if policy.reads_host(request.method() == http::Method::CONNECT) {
        let uri = request.uri().clone();
        corsair::adapter::complete_host(&uri, request.headers_mut());
    }
    if policy.report_only() {
        return Ok(report_only(&peer, &live, policy, request, start).await);
    }
    // An origin the lists do not name, with an origin source: the answer
    // first when the upstream must not see the request without it, else
    // beside the upstream's.
    let mut beside = None;
    let decision = match policy.check(request.method(), request.headers()) {
        Decision::Lookup(lookup) if lookup.before_application() => {
            let resolved = lookup.resolve().await;
            policy.check_request_resolved(request.method().as_str(), request.headers(), &resolved)
        }
        Decision::Lookup(lookup) => {
            beside = Some((lookup.origin().clone(), lookup.resolve()));
            Decision::Actual(Actual::NoOrigin)
        }
        decision => decision,
    };
    let actual = match decision {
        Decision::Preflight(preflight) => {
            let outcome = if preflight.is_allowed() {
                Outcome::PreflightAllowed
            } else {
                Outcome::PreflightRefused
            };
            let response = policy.preflight_response::<ProxyBody>(&preflight);
            shared
                .metrics
                .worker_request(peer.local.index, outcome, start.elapsed());
            return Ok(response);
        }
        Decision::Forbidden(refusal) => {
            let response = policy.forbidden_response::<ProxyBody>(&refusal);
            let outcome = match refusal {
                Refusal::WebSocketOrigin(_) => Outcome::WebSocketRefused,
                _ => Outcome::CrossOriginRefused,
            };
            shared
                .metrics
                .worker_request(peer.local.index, outcome, start.elapsed());
            return Ok(response);
        }
        Decision::Actual(actual) => actual.into_owned(),
        // Decided again with the source's answer, a request is never
        // looked up twice; refused, should it be.
        Decision::Lookup(_) => Actual::Refused(OriginRefusal::NotAllowed),
    };
    let version = request.version();
    let (mut response, actual) = match beside {
        None => (forward(&peer, &live, request).await, actual),
        Some((origin, resolving)) => {
            let (response, resolved) = tokio::join!(forward(&peer, &live, request), resolving);
            (response, policy.resolved_actual(&resolved, origin))
        }
    };
    let outcome = match actual {
        Actual::NoOrigin => Outcome::NoOrigin,
        Actual::Allowed(_) => Outcome::ActualAllowed,
        Actual::Refused(_) => Outcome::ActualRefused,
    };
    to_client(&mut response, version);
    policy.apply(&actual, response.headers_mut());
    shared
        .metrics
        .worker_request(peer.local.index, outcome, start.elapsed());
    Ok(response)
}

/// A request on a route in report-only mode: proxied as it came, its
/// response passed with the upstream's own CORS headers, and every way in
/// which that answer differs from the policy's logged and counted.
async fn report_only(
    peer: &Arc<Peer>,
    live: &Live,
    policy: &corsair::policy::Policy,
    request: Request<Incoming>,
    start: Instant,
) -> Response<ProxyBody> {
    let shared = &peer.shared;
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let headers = request.headers().clone();
    let version = request.version();
    let mut response = forward(peer, live, request).await;
    to_client(&mut response, version);
    // The proxy's own answers (502, 504...) are not the upstream's.
    if response.extensions().get::<ProxyAnswer>().is_none() {
        let report = corsair::browser::report_and_log(
            policy,
            method.as_str(),
            &path,
            &headers,
            response.status(),
            response.headers(),
        );
        for difference in &report.differences {
            shared.metrics.difference(*difference);
        }
    }
    shared
        .metrics
        .worker_request(peer.local.index, Outcome::Reported, start.elapsed());
    response
}

/// Readies the upstream's response for the client: the client's protocol,
/// whatever the upstream spoke (an HTTP/1.0 upstream must not turn a
/// keep-alive HTTP/1.1 connection into 1.0), and no hop-by-hop headers.
fn to_client(response: &mut Response<ProxyBody>, version: http::Version) {
    *response.version_mut() = version;
    let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
    strip_hop_by_hop(response.headers_mut(), switching);
}

/// The host a request was sent to: its `Host`, or the authority of its
/// URI (HTTP/2's `:authority`, an absolute-form request line).
fn request_host<B>(request: &Request<B>) -> Option<&str> {
    request
        .headers()
        .get(http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| request.uri().authority().map(http::uri::Authority::as_str))
}

/// Sends the request upstream and returns its response, or the proxy's own
/// `4xx`/`5xx` when that is not possible.
async fn forward(
    peer: &Arc<Peer>,
    live: &Live,
    mut request: Request<Incoming>,
) -> Response<ProxyBody> {
    let shared = &peer.shared;
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
    // For the log, should the upstream fail (a reference count each).
    let (method, target) = (parts.method.clone(), path.clone());
    // Origin form (`/path?query`), as HTTP/1.1 sends to a server.
    parts.uri = Uri::from(path);
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers, upgrade);
    add_forwarding(
        &mut parts.headers,
        live.forwarding,
        &peer.client,
        host.as_ref(),
    );
    let host = match (live.forwarding.preserve_host, host) {
        (true, Some(host)) => host,
        _ => match HeaderValue::from_str(live.upstream.authority.as_str()) {
            Ok(authority) => authority,
            Err(_) => return local(StatusCode::BAD_REQUEST, "corsair: bad request target\n"),
        },
    };
    parts.headers.insert(header::HOST, host);

    // The upstream has `upstream_timeout` from the last piece of the body
    // it took (from now, without a body) to answer with its headers,
    // connecting included.
    let (body, progress) = RequestBody::new(body);
    let sent = peer
        .local
        .pool
        .send(&live.upstream.authority, Request::from_parts(parts, body));
    // Biased: the answer is looked at first, and no random number is drawn
    // to pick the order at every poll.
    let answered = tokio::select! {
        biased;
        answered = sent => Ok(answered),
        () = stalled(progress, live.upstream_timeout, &peer.local.pool.ticks) => Err(()),
    };
    let (mut response, lease) = match answered {
        Ok(Ok(answered)) => answered,
        Ok(Err(error)) if client_body_failed(&error) => {
            debug!(error = %error_chain(&error), "the client's request body failed: 400");
            return local(
                StatusCode::BAD_REQUEST,
                "corsair: the request body could not be read\n",
            );
        }
        Ok(Err(error)) => {
            let failure = match error {
                Failure::Connect(_) => UpstreamFailure::Connect,
                Failure::Http(_) => UpstreamFailure::Protocol,
            };
            shared.metrics.upstream_failure(failure);
            warn!(
                upstream = %live.upstream.url,
                %method,
                path = %target,
                error = %error_chain(&error),
                "upstream failed: 502"
            );
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

    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client_upgrade) = client_upgrade {
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                let upgraded = tokio::try_join!(client_upgrade, upstream_upgrade);
                // The upstream connection is the tunnel now, never pooled.
                drop(lease);
                match upgraded {
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
        // Without an upgrade on the client's side the connection is of no
        // further use: it closes with the lease.
        return response.map(ProxyBody::from);
    }
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, ProxyBody::upstream(body, lease))
}

/// A response the proxy writes itself.
/// Marks a response the proxy made itself (its `4xx` and `5xx`), which
/// report-only mode does not compare with the policy: it is not the
/// upstream's answer.
#[derive(Clone, Copy, Debug)]
struct ProxyAnswer;

fn local(status: StatusCode, text: &'static str) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::text(text));
    response.extensions_mut().insert(ProxyAnswer);
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
