//! A decision that waits for a dynamic origin source
//! ([`Decision::Lookup`](super::Decision::Lookup)): what an adapter awaits,
//! and the answer it checks the request again with.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::HeaderValue;

#[cfg(feature = "origin-source")]
use std::sync::{Arc, Mutex};

#[cfg(feature = "origin-source")]
use crate::origin::source::{BoxLookup, SourceCache};

/// A request from an origin the policy's lists do not name, whose verdict
/// waits for the policy's [origin source](crate::origin::source). Only a
/// policy with a source decides it (feature `origin-source`).
///
/// An adapter awaits [`OriginLookup::resolve`], then checks the request
/// again with the answer
/// ([`Policy::check_request_resolved`](super::Policy::check_request_resolved)),
/// which then decides as for any other request. When
/// [`OriginLookup::before_application`] is `false` (an actual request that
/// cross-origin protection would not refuse), the application may run in
/// the meantime: its response then takes the headers of
/// [`Policy::resolved_actual`](super::Policy::resolved_actual).
pub struct OriginLookup<'r, V = HeaderValue> {
    pub(crate) origin: &'r V,
    /// The bytes of `origin`.
    pub(crate) bytes: &'r [u8],
    pub(crate) before_application: bool,
    #[cfg(feature = "origin-source")]
    pub(crate) cache: Arc<SourceCache>,
    /// The source's future, when this request asked it: taken by the
    /// first clone resolved.
    #[cfg(feature = "origin-source")]
    pub(crate) pending: Option<Arc<Mutex<Option<BoxLookup>>>>,
    /// Without the feature, no lookup is ever made.
    #[cfg(not(feature = "origin-source"))]
    pub(crate) never: std::convert::Infallible,
}

impl<'r, V> OriginLookup<'r, V> {
    /// The request's `Origin`, as sent.
    #[must_use]
    pub fn origin(&self) -> &'r V {
        self.origin
    }

    /// Whether the verdict is needed before the application may run: a
    /// preflight (answered without the application), or an unsafe-method
    /// request that cross-origin protection refuses unless the origin is
    /// allowed.
    #[must_use]
    pub fn before_application(&self) -> bool {
        self.before_application
    }
}

impl<V> OriginLookup<'_, V> {
    /// The answer to come: the one kept, the lookup of another request
    /// from the same origin, or this request's own, run on a task of its
    /// own with the source's timeout. It owns what it needs, so it can
    /// outlive the request's headers.
    #[must_use]
    pub fn resolve(self) -> Resolving {
        #[cfg(feature = "origin-source")]
        {
            let origin: Box<[u8]> = self.bytes.into();
            let cache = self.cache;
            let pending = self
                .pending
                .and_then(|pending| pending.lock().ok().and_then(|mut pending| pending.take()));
            Resolving(Box::pin(async move {
                let allowed = cache.resolve(origin.clone(), pending).await;
                Resolved { origin, allowed }
            }))
        }
        #[cfg(not(feature = "origin-source"))]
        match self.never {}
    }
}

impl<V> Clone for OriginLookup<'_, V> {
    fn clone(&self) -> Self {
        OriginLookup {
            origin: self.origin,
            bytes: self.bytes,
            before_application: self.before_application,
            #[cfg(feature = "origin-source")]
            cache: Arc::clone(&self.cache),
            #[cfg(feature = "origin-source")]
            pending: self.pending.clone(),
            #[cfg(not(feature = "origin-source"))]
            never: self.never,
        }
    }
}

impl<V> fmt::Debug for OriginLookup<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OriginLookup")
            .field("before_application", &self.before_application)
            .finish_non_exhaustive()
    }
}

/// The future of [`OriginLookup::resolve`].
pub struct Resolving(Pin<Box<dyn Future<Output = Resolved> + Send>>);

impl Future for Resolving {
    type Output = Resolved;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Resolved> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for Resolving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolving(..)")
    }
}

/// The source's answer about one origin, for
/// [`Policy::check_request_resolved`](super::Policy::check_request_resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    origin: Box<[u8]>,
    allowed: bool,
}

impl Resolved {
    /// The origin asked about.
    #[must_use]
    pub fn origin(&self) -> &[u8] {
        &self.origin
    }

    /// Whether the source allowed it (in time).
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }
}
