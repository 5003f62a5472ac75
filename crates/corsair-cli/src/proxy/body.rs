//! The proxy's response body: the upstream's, streamed frame by frame, or a
//! short one the proxy writes itself (an error page, an empty preflight).

use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::sync::Notify;

use super::pool::Lease;

pin_project! {
    /// A response body: the upstream's, passed through without buffering,
    /// or bytes the proxy wrote.
    #[derive(Debug)]
    pub struct ProxyBody {
        #[pin]
        inner: Inner,
    }
}

pin_project! {
    #[project = InnerProjection]
    #[derive(Debug)]
    enum Inner {
        Upstream { #[pin] body: Incoming, lease: Option<Lease> },
        Local { data: Option<Bytes> },
    }
}

impl ProxyBody {
    /// A body of `text`.
    #[must_use]
    pub fn text(text: impl Into<Bytes>) -> Self {
        let data: Bytes = text.into();
        ProxyBody {
            inner: Inner::Local {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }
}

impl Default for ProxyBody {
    fn default() -> Self {
        ProxyBody {
            inner: Inner::Local { data: None },
        }
    }
}

impl From<Incoming> for ProxyBody {
    fn from(body: Incoming) -> Self {
        ProxyBody {
            inner: Inner::Upstream { body, lease: None },
        }
    }
}

impl ProxyBody {
    /// The upstream's `body`, read on the connection of `lease`: the
    /// connection goes back to its pool once the body has ended (at once,
    /// for a body of nothing).
    pub(crate) fn upstream(body: Incoming, lease: Lease) -> Self {
        let lease = if body.is_end_stream() {
            lease.release();
            None
        } else {
            Some(lease)
        };
        ProxyBody {
            inner: Inner::Upstream { body, lease },
        }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.project().inner.project() {
            InnerProjection::Upstream { mut body, lease } => {
                let frame = body.as_mut().poll_frame(cx);
                // hyper asks no further once `is_end_stream` says the body
                // is complete (a `Content-Length` body's last piece), so the
                // end is noticed here rather than only at `None`.
                match &frame {
                    Poll::Ready(None) => release(lease),
                    Poll::Ready(Some(Ok(_))) if body.is_end_stream() => release(lease),
                    // A failed body leaves the connection unusable: it
                    // closes with the lease.
                    Poll::Ready(Some(Err(_))) => drop(lease.take()),
                    _ => {}
                }
                frame
            }
            InnerProjection::Local { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Upstream { body, .. } => body.is_end_stream(),
            Inner::Local { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Upstream { body, .. } => body.size_hint(),
            Inner::Local { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

/// Gives a finished exchange's connection back to its pool.
fn release(lease: &mut Option<Lease>) {
    if let Some(lease) = lease.take() {
        lease.release();
    }
}

/// When a request body last made progress: nanoseconds since the request
/// began, shared between the body (which writes it as the upstream takes
/// frames) and the timeout (which reads it).
#[derive(Debug)]
pub(crate) struct Progress {
    start: Instant,
    last: AtomicU64,
}

impl Progress {
    fn stamp(&self) {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last.store(nanos, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_nanos(self.last.load(Ordering::Relaxed))
    }
}

pin_project! {
    /// A request body on its way upstream, noting when the upstream last
    /// took a frame of it: the upstream timeout counts from then, so that a
    /// long upload is not mistaken for a slow upstream.
    #[derive(Debug)]
    pub(crate) struct RequestBody {
        #[pin]
        body: Incoming,
        progress: Option<Arc<Progress>>,
    }
}

impl RequestBody {
    /// `body`, and what tracks its progress (nothing for a body of none,
    /// the common case, which needs no bookkeeping).
    pub(crate) fn new(body: Incoming) -> (Self, Option<Arc<Progress>>) {
        let progress = (!body.is_end_stream()).then(|| {
            Arc::new(Progress {
                start: Instant::now(),
                last: AtomicU64::new(0),
            })
        });
        let body = RequestBody {
            body,
            progress: progress.clone(),
        };
        (body, progress)
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.project();
        let frame = this.body.poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &frame
            && let Some(progress) = this.progress
        {
            progress.stamp();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A worker thread's coarse clock for upstream timeouts: a tick every
/// [`Ticks::PERIOD`] while some request waits on the upstream, and none
/// otherwise.
///
/// A timer of tokio's per request would do, but registering one that is due
/// before every other timer of the runtime (the upstream timeout is shorter
/// than the keep-alive timeout of every connection) makes tokio wake its
/// own event loop through its eventfd: a `write` and an extra `epoll_wait`
/// per request. Waiting for a tick costs no system call.
#[derive(Debug, Default)]
pub(crate) struct Ticks {
    tick: Notify,
    start: Notify,
    waiting: AtomicUsize,
}

impl Ticks {
    /// How late a timeout may fire.
    pub(crate) const PERIOD: Duration = Duration::from_millis(50);

    /// Ticks for as long as the worker runs.
    pub(crate) async fn run(&self) {
        loop {
            if self.waiting.load(Ordering::Acquire) == 0 {
                // `notify_one` keeps a permit, so a request that started
                // waiting since the check is not missed.
                self.start.notified().await;
            }
            tokio::time::sleep(Self::PERIOD).await;
            self.tick.notify_waiters();
        }
    }
}

/// Counts a request waiting on the upstream for as long as it waits.
struct Waiting<'a>(&'a Ticks);

impl<'a> Waiting<'a> {
    fn new(ticks: &'a Ticks) -> Self {
        if ticks.waiting.fetch_add(1, Ordering::AcqRel) == 0 {
            ticks.start.notify_one();
        }
        Waiting(ticks)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Resolves once `timeout` has passed since the last frame of the request
/// body went upstream (since the request was sent, for a body of none),
/// within a tick of `ticks`.
pub(crate) async fn stalled(progress: Option<Arc<Progress>>, timeout: Duration, ticks: &Ticks) {
    let sent = Instant::now();
    let _waiting = Waiting::new(ticks);
    // The time is first looked at on the first tick, not at once: the
    // timeout (never zero, the configuration refuses it) cannot have
    // passed yet, and most exchanges end before any tick.
    let mut tick = pin!(ticks.tick.notified());
    loop {
        tick.as_mut().await;
        // Listening for the next tick before looking at the time: a tick
        // in between is not lost.
        tick.set(ticks.tick.notified());
        let last = progress.as_ref().map_or(sent, |progress| progress.last());
        if Instant::now() >= last + timeout {
            return;
        }
    }
}
