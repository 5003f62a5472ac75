//! The listeners: accepting client connections within the limits, TLS,
//! HTTP/1.1 and HTTP/2 on one port, and the graceful drain at shutdown.
//!
//! Connections are served by worker threads, one per core by default
//! (`[limits] workers`), each running a single-threaded tokio runtime with
//! its own upstream connection pool: a request, its upstream exchange and
//! both connections' tasks stay on one thread, so serving it wakes no other
//! thread (on a runtime whose threads share tasks, the client's and the
//! upstream's connection tasks land on different threads, and every request
//! pays for the wake-ups between them). One accept loop, on the runtime that
//! started the proxy, hands the connections to the workers in turn, so
//! they share the load evenly however few connections there are, and
//! `max_connections` is one count for the whole proxy.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corsair::LoadError;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use super::admin;
use super::file::{Limits, Settings};
use super::forward::Downstream;
use super::handler::{Local, Peer, Shared, handle};
use super::metrics::Metrics;
use super::pool::Pool;
use super::reload::{self, Seen, Source};
use super::tls::{self, TlsError};

/// Why the proxy could not start: one sentence.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind its address.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Which listener.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS files are unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A worker thread or its runtime could not be started.
    #[error("cannot start a worker thread: {0}")]
    Worker(std::io::Error),
}

/// A running proxy. Dropping it stops accepting connections at once;
/// [`Proxy::shutdown`] drains them first.
///
/// ```no_run
/// # async fn run() -> anyhow::Result<()> {
/// use corsair_cli::proxy::{Overrides, Proxy, ProxyFile};
/// let path = std::path::Path::new("proxy.toml");
/// let settings = ProxyFile::load(path, &Overrides::default())?;
/// let proxy = Proxy::start(settings, None).await?;
/// println!("listening on {}", proxy.addr());
/// proxy.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    source: Option<Source>,
    seen: Arc<Seen>,
    startup: Settings,
    stop: watch::Sender<bool>,
    accepting: JoinHandle<()>,
    /// Each worker's end: it has drained its connections.
    workers: Vec<oneshot::Receiver<()>>,
}

impl Proxy {
    /// Binds the listeners of `settings` and starts serving. With a
    /// `source` (the file and the command line's overrides), the file is
    /// watched and re-read when it changes.
    ///
    /// # Errors
    /// When a listener cannot bind or the TLS files are unusable.
    pub async fn start(settings: Settings, source: Option<Source>) -> Result<Proxy, StartError> {
        let certificates = settings
            .tls
            .as_ref()
            .map(|tls| tls::Certificates::new(tls).map(Arc::new))
            .transpose()?;
        let acceptor = certificates.clone().map(tls::acceptor).transpose()?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: settings.listen,
                    what: "proxy",
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: settings.listen,
            what: "proxy",
            source,
        })?;
        let admin_listener = match settings.admin {
            None => None,
            Some(admin) => {
                Some(
                    TcpListener::bind(admin)
                        .await
                        .map_err(|source| StartError::Bind {
                            addr: admin,
                            what: "admin",
                            source,
                        })?,
                )
            }
        };
        let admin_addr = admin_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok());

        let count = match settings.limits.workers {
            0 => std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            workers => workers,
        };
        let shared = Arc::new(Shared::new(&settings, certificates, count));
        let (stop, stopped) = watch::channel(false);
        if let Some(listener) = admin_listener {
            tokio::spawn(admin::serve(listener, Arc::clone(&shared), stopped.clone()));
        }
        // What the file holds now: the watch reloads when it changes.
        let seen = Arc::new(Mutex::new(
            source
                .as_ref()
                .and_then(|source| reload::read_seen(&source.path)),
        ));
        if let Some(source) = &source {
            tokio::spawn(reload::watch(
                Arc::clone(&shared),
                source.clone(),
                settings.clone(),
                Arc::clone(&seen),
                stopped.clone(),
            ));
        }
        let mut queues = Vec::with_capacity(count);
        let mut workers = Vec::with_capacity(count);
        for index in 0..count {
            // The idle upstream connections are shared out: the limit holds
            // for the proxy as a whole.
            let idle = settings.limits.max_idle_upstream_connections;
            let capacity = idle / count + usize::from(index < idle % count);
            let (queue, done) = spawn_worker(
                index,
                Worker {
                    acceptor: acceptor.clone(),
                    local: Arc::new(Local::new(&shared, Pool::new(capacity), index)),
                    shared: Arc::clone(&shared),
                    limits: settings.limits,
                    stopped: stopped.clone(),
                },
            )
            .await?;
            queues.push(queue);
            workers.push(done);
        }
        let accepting = tokio::spawn(accept(listener, queues, settings.limits, stopped));
        Ok(Proxy {
            addr,
            admin_addr,
            shared,
            source,
            seen,
            startup: settings,
            stop,
            accepting,
            workers,
        })
    }

    /// The address clients connect to.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin listener's address, if there is one.
    #[must_use]
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The metrics.
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The file the proxy was started from, if any.
    #[must_use]
    pub fn config_path(&self) -> Option<&PathBuf> {
        self.source.as_ref().map(|source| &source.path)
    }

    /// Re-reads the file now (what SIGHUP does). An invalid file changes
    /// nothing; its problems are logged and returned.
    ///
    /// # Errors
    /// The file's problems, when it has any. Without a file, nothing
    /// happens.
    pub fn reload(&self) -> Result<(), LoadError> {
        match &self.source {
            Some(source) => reload::reload(&self.shared, source, &self.startup, &self.seen),
            None => Ok(()),
        }
    }

    /// Stops accepting connections, lets in-flight requests finish within
    /// `limits.shutdown_grace`, then closes what remains.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.accepting.await {
            warn!(%error, "the accept loop ended abnormally");
        }
        for worker in self.workers {
            // An error means the worker's thread is gone already.
            let _ = worker.await;
        }
    }
}

/// The smallest read buffer hyper's HTTP/1.1 server accepts (it asserts on
/// less); the configuration refuses less, and this keeps a `Limits` built
/// by hand from reaching the assertion.
const MIN_HTTP1_BUFFER: usize = 8192;

/// The HTTP/2 connection preface: a client that knows the proxy speaks
/// HTTP/2 without TLS (h2c, "prior knowledge") starts with it.
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The connection builders: HTTP/1.1 (with upgrades) and HTTP/2, within the
/// limits.
///
/// hyper's own builders rather than hyper-util's `auto` one, which serves
/// both: that one reads the first bytes through a rewinding wrapper that
/// stays on every read of the connection's life, and its connection future
/// holds either protocol's state, so every idle connection carries the
/// larger. Here the protocol is chosen once, by ALPN or by a peek at the
/// first bytes, and the connection is the chosen protocol's alone.
struct Builders {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
}

impl Builders {
    fn new(limits: &Limits) -> Self {
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            // The limit itself: the read buffer's bound below is only
            // approximate (a read may fill more than it, and a message that
            // arrives whole is parsed without looking at it).
            .max_header_size(limits.max_header_bytes)
            .max_buf_size(limits.max_header_bytes.max(MIN_HTTP1_BUFFER));
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
        Builders { http1, http2 }
    }
}

/// A connection the accept loop hands to a worker: the socket, the
/// client's address, and the connection's place under `max_connections`.
type Accepted = (std::net::TcpStream, SocketAddr, OwnedSemaphorePermit);

/// What a worker thread serves connections with.
struct Worker {
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    local: Arc<Local>,
    limits: Limits,
    stopped: watch::Receiver<bool>,
}

/// Starts worker thread `index`: its queue of connections to serve, and
/// what tells when it has drained them after the stop.
async fn spawn_worker(
    index: usize,
    worker: Worker,
) -> Result<(mpsc::UnboundedSender<Accepted>, oneshot::Receiver<()>), StartError> {
    let (queue, accepted) = mpsc::unbounded_channel();
    let (started, starting) = oneshot::channel();
    let (finished, done) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("corsair-worker-{index}"))
        .spawn(move || {
            // Built on its own thread: a runtime may not be dropped inside
            // another's context, which it would be, were it built by the
            // caller and the thread failed to start.
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = started.send(Err(error));
                    return;
                }
            };
            let _ = started.send(Ok(()));
            runtime.block_on(work(accepted, worker));
            // Whatever the drain left (upstream connections, upgraded
            // tunnels) ends with the runtime, before the proxy reports
            // itself stopped.
            drop(runtime);
            let _ = finished.send(());
        })
        .map_err(StartError::Worker)?;
    match starting.await {
        Ok(Ok(())) => Ok((queue, done)),
        Ok(Err(error)) => Err(StartError::Worker(error)),
        Err(_) => Err(StartError::Worker(std::io::Error::other(
            "the worker thread ended at once",
        ))),
    }
}

/// Accepts connections until told to stop, handing them to the workers in
/// turn.
async fn accept(
    listener: TcpListener,
    workers: Vec<mpsc::UnboundedSender<Accepted>>,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut next = 0_usize;
    'accepting: loop {
        // At the connection limit, wait for a connection to close before
        // accepting: new clients queue in the kernel's backlog meanwhile.
        let permit = tokio::select! {
            biased;
            _ = stopped.changed() => break 'accepting,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break 'accepting,
            },
        };
        let (stream, addr) = loop {
            tokio::select! {
                biased;
                _ = stopped.changed() => break 'accepting,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => break accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: back off
                        // rather than spin.
                        warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        };
        // Out of this runtime's reactor, into the worker's.
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(error) => {
                debug!(%addr, %error, "cannot hand a connection to a worker");
                continue;
            }
        };
        let Some(worker) = workers.get(next % workers.len().max(1)) else {
            break 'accepting;
        };
        next = next.wrapping_add(1);
        // A worker gone (its thread ended) drops the connection, which
        // closes it.
        let _ = worker.send((stream, addr, permit));
    }
    drop(listener);
}

/// A worker thread's loop: serves the connections it is handed until told
/// to stop, then drains them.
async fn work(mut accepted: mpsc::UnboundedReceiver<Accepted>, worker: Worker) {
    let Worker {
        acceptor,
        shared,
        local,
        limits,
        mut stopped,
    } = worker;
    let builders = Arc::new(Builders::new(&limits));
    let ticking = Arc::clone(&local.pool);
    tokio::spawn(async move { ticking.ticks.run().await });
    let mut connections = JoinSet::new();
    loop {
        // Finished connections are reaped as they end, so that their tasks
        // do not linger until the next connection.
        tokio::select! {
            biased;
            _ = stopped.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            next = accepted.recv() => match next {
                Some((stream, addr, permit)) => {
                    connections.spawn(connection(
                        stream,
                        addr,
                        acceptor.clone(),
                        Arc::clone(&shared),
                        Arc::clone(&local),
                        Arc::clone(&builders),
                        stopped.clone(),
                        permit,
                        limits.header_read_timeout,
                    ));
                }
                None => break,
            },
        }
    }
    // Connections handed over but not yet taken: closed unserved, as the
    // listener's backlog is.
    drop(accepted);
    while connections.try_join_next().is_some() {}
    let open = connections.len();
    let worker = local.index;
    info!(
        worker,
        open,
        grace = ?limits.shutdown_grace,
        "no longer accepting connections; draining"
    );
    // Each connection saw the stop too: it finishes the request in flight
    // (HTTP/1.1) or the open streams (HTTP/2), then closes.
    let drained = async { while connections.join_next().await.is_some() {} };
    tokio::select! {
        () = drained => info!(worker, "every connection finished"),
        () = tokio::time::sleep(limits.shutdown_grace) => {
            warn!(
                worker,
                open = connections.len(),
                "grace period over: closing the connections still open"
            );
        }
    }
    connections.shutdown().await;
}

/// Counts an open connection for as long as it lives.
struct Open(Arc<Shared>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.metrics.connection_closed();
    }
}

/// Serves one client connection, after the TLS handshake when there is one.
#[allow(clippy::too_many_arguments)]
async fn connection(
    stream: std::net::TcpStream,
    addr: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    local: Arc<Local>,
    builders: Arc<Builders>,
    stopped: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
    handshake_timeout: Duration,
) {
    shared.metrics.connection_opened();
    let _open = Open(Arc::clone(&shared));
    let stream = match TcpStream::from_std(stream) {
        Ok(stream) => stream,
        Err(error) => {
            debug!(%addr, %error, "cannot serve a connection");
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let peer = |proto| {
        Arc::new(Peer {
            shared,
            local,
            client: Downstream::new(addr, proto),
        })
    };
    match acceptor {
        None => {
            // The first bytes must come within the time the request's
            // headers have, so that a silent client does not hold the
            // connection longer than hyper would let it.
            match tokio::time::timeout(handshake_timeout, prior_knowledge(&stream)).await {
                Ok(Ok(http2)) => serve(stream, http2, peer("http"), &builders, stopped).await,
                Ok(Err(error)) => debug!(%addr, %error, "cannot read from a connection"),
                Err(_) => debug!(%addr, "no request on a connection in time"),
            }
        }
        // Boxed, like each protocol's connection in `serve`: the handshake's
        // state is large, and a connection's task holds the largest state
        // of its future for as long as it lives, idle or not.
        Some(acceptor) => {
            Box::pin(async move {
                match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        let http2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                        serve(stream, http2, peer("https"), &builders, stopped).await;
                    }
                    Ok(Err(error)) => debug!(%addr, %error, "TLS handshake failed"),
                    Err(_) => debug!(%addr, "TLS handshake timed out"),
                }
            })
            .await
        }
    }
}

/// Whether a plain-TCP client starts with the HTTP/2 preface. The bytes
/// are peeked, not read: the chosen protocol's parser reads them.
async fn prior_knowledge(stream: &TcpStream) -> std::io::Result<bool> {
    let mut first = [0_u8; PREFACE.len()];
    loop {
        let peeked = stream.peek(&mut first).await?;
        let seen = first.get(..peeked).unwrap_or_default();
        // Nothing (the client closed: HTTP/1.1 ends the connection
        // quietly) or anything but the preface's start is HTTP/1.1.
        if seen.is_empty() || !PREFACE.starts_with(seen) {
            return Ok(false);
        }
        if peeked == PREFACE.len() {
            return Ok(true);
        }
        // The start of the preface, the rest still on its way (a client
        // that split it): peeking again at once would find the same bytes,
        // so wait a little. Rare, and bounded by the caller's timeout.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Serves HTTP/2 or HTTP/1.1 (with upgrades) on `io` until the client is
/// done, or until the stop, which lets the requests in flight finish.
async fn serve<I>(
    io: I,
    http2: bool,
    peer: Arc<Peer>,
    builders: &Builders,
    mut stopped: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let addr = peer.client.addr;
    // What an idle connection holds is what its task and hyper allocated
    // for it, whether a request is in flight or not: the task the largest
    // state of its future, and hyper a box the size of the service's
    // future. So each protocol's connection is boxed apart (the task holds
    // a pointer, not HTTP/2's state while serving HTTP/1.1), and so is the
    // handler's future (3.6 KiB, allocated per request rather than held per
    // connection). With both, an idle HTTP/1.1 connection went from 25.6 to
    // 13.7 KiB (scripts/bench-proxy, BENCH_IDLE=3000); 8 KiB of what is
    // left are hyper's read and write buffers, one page touched in each.
    let service = service_fn(move |request| Box::pin(handle(Arc::clone(&peer), request)));
    let io = TokioIo::new(io);
    let ended = if http2 {
        let connection = builders.http2.serve_connection(io, service);
        Box::pin(until_stopped(connection, &mut stopped, |c| {
            c.graceful_shutdown()
        }))
        .await
    } else {
        let connection = builders.http1.serve_connection(io, service).with_upgrades();
        Box::pin(until_stopped(connection, &mut stopped, |c| {
            c.graceful_shutdown()
        }))
        .await
    };
    if let Err(error) = ended {
        debug!(%addr, error = %error, "connection ended with an error");
    }
}

/// Drives `connection` to its end; at the stop (or when the proxy is gone),
/// asks it to finish gracefully with `shutdown` first.
async fn until_stopped<C, E>(
    connection: C,
    stopped: &mut watch::Receiver<bool>,
    shutdown: impl FnOnce(Pin<&mut C>),
) -> Result<(), E>
where
    C: Future<Output = Result<(), E>>,
{
    let mut connection = pin!(connection);
    if !*stopped.borrow_and_update() {
        tokio::select! {
            biased;
            ended = connection.as_mut() => return ended,
            _ = stopped.changed() => {}
        }
    }
    shutdown(connection.as_mut());
    connection.await
}
