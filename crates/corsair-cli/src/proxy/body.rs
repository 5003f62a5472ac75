//! The proxy's response body: the upstream's, streamed frame by frame, or a
//! short one the proxy writes itself (an error page, an empty preflight).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;

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

/// Resolves once `timeout` has passed since the last frame of the request
/// body went upstream (since the request was sent, for a body of none).
pub(crate) async fn stalled(progress: Option<Arc<Progress>>, timeout: Duration) {
    let Some(progress) = progress else {
        return tokio::time::sleep(timeout).await;
    };
    loop {
        let deadline = progress.last() + timeout;
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline.into()).await;
    }
}
