//! The proxy's response body: the upstream's, streamed frame by frame, or a
//! short one the proxy writes itself (an error page, an empty preflight).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;

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
        Upstream { #[pin] body: Incoming },
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
            inner: Inner::Upstream { body },
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
            InnerProjection::Upstream { body } => body.poll_frame(cx),
            InnerProjection::Local { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Upstream { body } => body.is_end_stream(),
            Inner::Local { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Upstream { body } => body.size_hint(),
            Inner::Local { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
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
        progress: Arc<Mutex<Instant>>,
    }
}

impl RequestBody {
    /// `body`, and the instant of its last frame (now, to begin with).
    pub(crate) fn new(body: Incoming) -> (Self, Arc<Mutex<Instant>>) {
        let progress = Arc::new(Mutex::new(Instant::now()));
        let body = RequestBody {
            body,
            progress: Arc::clone(&progress),
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
            && let Ok(mut last) = this.progress.lock()
        {
            *last = Instant::now();
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
pub(crate) async fn stalled(progress: Arc<Mutex<Instant>>, timeout: Duration) {
    loop {
        let Ok(last) = progress.lock().map(|last| *last) else {
            return tokio::time::sleep(timeout).await;
        };
        let deadline = last + timeout;
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline.into()).await;
    }
}
