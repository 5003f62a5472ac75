//! The connections to the upstream: HTTP/1.1 over TCP, one pool per worker
//! thread.
//!
//! A worker's requests, its pooled connections and the tasks driving those
//! connections all live on the worker's thread, so a request never waits
//! for another thread to wake up. A connection goes back to the pool when
//! the upstream's response body has been read to its end (not when the
//! response's headers arrive), so that a connection in the pool is one the
//! next request can use; the pool keeps at most its capacity of them and
//! lets the others close.

use std::io;
use std::sync::{Arc, Mutex};

use http::uri::Authority;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::debug;

use super::body::{RequestBody, Ticks};

/// A sender to the upstream, as the pool keeps it.
type Sender = SendRequest<RequestBody>;

/// One worker thread's idle upstream connections.
#[derive(Debug)]
pub(crate) struct Pool {
    idle: Mutex<Idle>,
    capacity: usize,
    /// The clock of the worker's upstream timeouts.
    pub(crate) ticks: Ticks,
}

#[derive(Debug, Default)]
struct Idle {
    /// The upstream the connections lead to: a reload that names another
    /// empties the pool.
    upstream: Option<Authority>,
    /// Where to connect: the upstream's authority with its port.
    address: String,
    /// Bumped whenever the upstream changes, so that a connection leased
    /// before does not come back.
    generation: u64,
    /// Most recently used last: the warmest connection is reused first, and
    /// the coldest are those the upstream closes when idle.
    senders: Vec<Sender>,
}

/// What the pool has for a request.
enum Taken {
    /// An open connection, and its generation.
    Idle(Sender, u64),
    /// None: the address to connect to, and the generation.
    Connect(String, u64),
}

/// Why the upstream was not asked.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No TCP connection could be made.
    Connect(io::Error),
    /// The connection failed, or the upstream did not answer in HTTP/1.1.
    Http(hyper::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect(error) => write!(f, "cannot connect: {error}"),
            Failure::Http(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Connect(error) => Some(error),
            Failure::Http(error) => Some(error),
        }
    }
}

/// A connection lent to one request: it goes back to its pool when the
/// response body has been read to its end, and closes if it is dropped
/// before (the exchange did not finish, so the connection is unusable).
#[derive(Debug)]
pub(crate) struct Lease {
    pool: Arc<Pool>,
    generation: u64,
    sender: Sender,
}

impl Lease {
    /// Gives the connection back to its pool.
    pub(crate) fn release(self) {
        self.pool.put(self.generation, self.sender);
    }
}

impl Pool {
    /// A pool keeping at most `capacity` idle connections.
    pub(crate) fn new(capacity: usize) -> Arc<Pool> {
        Arc::new(Pool {
            idle: Mutex::new(Idle::default()),
            capacity,
            ticks: Ticks::default(),
        })
    }

    /// An idle connection to `upstream` if one is open, else where to
    /// connect; with the generation to lease the connection under.
    fn take(&self, upstream: &Authority) -> Taken {
        let Ok(mut idle) = self.idle.lock() else {
            // A poisoned lock: nothing is pooled (generation 0 is never
            // current), every request connects.
            return Taken::Connect(address(upstream), 0);
        };
        // The text compared byte for byte: `Authority`'s own comparison
        // ignores case, byte by byte, and costs more than the rest of
        // taking a connection. A reload that changes only the case empties
        // the pool, which is harmless.
        if idle.upstream.as_ref().map(Authority::as_str) != Some(upstream.as_str()) {
            idle.senders.clear();
            idle.upstream = Some(upstream.clone());
            idle.address = address(upstream);
            idle.generation += 1;
        }
        while let Some(sender) = idle.senders.pop() {
            if !sender.is_closed() {
                return Taken::Idle(sender, idle.generation);
            }
        }
        Taken::Connect(idle.address.clone(), idle.generation)
    }

    /// Takes back a connection leased under `generation`, if it still leads
    /// to the upstream in force and there is room.
    fn put(&self, generation: u64, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.generation == generation
            && idle.senders.len() < self.capacity
        {
            idle.senders.push(sender);
        }
    }

    /// Sends `request` to `upstream` on an idle connection, or a new one.
    /// A pooled connection that turns out to be closed before the request
    /// went out (the upstream closed it while idle) is replaced by another,
    /// so a request is never lost to that race.
    ///
    /// # Errors
    /// When no connection can be made or the exchange fails.
    pub(crate) async fn send(
        self: &Arc<Self>,
        upstream: &Authority,
        mut request: Request<RequestBody>,
    ) -> Result<(Response<Incoming>, Lease), Failure> {
        // One future for taking (or making) the connection and the
        // exchange on it: the request and the response are moved through
        // one level of futures fewer than with a function per step, and
        // each level copies them.
        loop {
            let (mut sender, generation, pooled) = match self.take(upstream) {
                Taken::Idle(mut sender, generation) => {
                    // Back in the pool as soon as its last response ended:
                    // its task, on this thread, may not have noticed yet.
                    if !sender.is_ready() && sender.ready().await.is_err() {
                        continue;
                    }
                    (sender, generation, true)
                }
                Taken::Connect(address, generation) => {
                    (connect(&address).await?, generation, false)
                }
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let lease = Lease {
                        pool: Arc::clone(self),
                        generation,
                        sender,
                    };
                    return Ok((response, lease));
                }
                Err(mut error) => match error.take_message() {
                    Some(unsent) if pooled => {
                        debug!("a pooled upstream connection closed before the request went out");
                        request = unsent;
                    }
                    _ => return Err(Failure::Http(error.into_error())),
                },
            }
        }
    }
}

/// `host:port` for `authority`, port 80 when it names none.
fn address(authority: &Authority) -> String {
    format!(
        "{}:{}",
        authority.host(),
        authority.port_u16().unwrap_or(80)
    )
}

/// A new HTTP/1.1 connection to `address`, its task spawned on this
/// thread's runtime. No timeout of its own: the request's
/// `upstream_timeout` covers connecting.
async fn connect(address: &str) -> Result<Sender, Failure> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(Failure::Connect)?;
    // Small requests and answers go out at once rather than after Nagle's
    // delay.
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(Failure::Http)?;
    tokio::spawn(async move {
        // Upgrades: a WebSocket handshake's connection becomes the tunnel.
        if let Err(error) = connection.with_upgrades().await {
            debug!(%error, "upstream connection ended with an error");
        }
    });
    Ok(sender)
}
