//! What the policy decides for a request: the [`Decision`] and its parts.

use std::borrow::Cow;
use std::fmt;

use http::header::{HeaderMap, HeaderValue};

use super::lookup::OriginLookup;
use crate::adapter::{RequestHeaders, ResponseValue};
use crate::origin::MalformedOrigin;
use crate::protocol::ListError;

/// `*`, for `Access-Control-Allow-Origin`.
pub(crate) static ANY: HeaderValue = HeaderValue::from_static("*");

/// What a request is, and what the policy decided for it. `H` is the
/// framework's request header map (`http::HeaderMap` by default).
#[derive(Clone, Debug)]
pub enum Decision<'r, H: RequestHeaders = HeaderMap> {
    /// A preflight: answer it with
    /// [`Policy::preflight_response`](crate::policy::Policy::preflight_response) (or
    /// [`write_preflight_headers`](crate::policy::Policy::write_preflight_headers))
    /// and do not call the application.
    Preflight(Preflight<'r, H>),
    /// An actual request: call the application, then
    /// [`Policy::apply`](crate::policy::Policy::apply) to its response.
    Actual(Actual<'r, H::Value>),
    /// A request that cross-origin protection refuses (an unsafe method
    /// from another site or origin the policy does not allow): answer
    /// `403 Forbidden` with
    /// [`Policy::forbidden_response`](crate::policy::Policy::forbidden_response)
    /// (or [`write_forbidden_headers`](crate::policy::Policy::write_forbidden_headers))
    /// and do not call the application. Only policies with
    /// `cross_origin_protection = true` decide it.
    Forbidden(Refusal<'r>),
    /// A request from an origin the policy's lists do not name, whose
    /// verdict waits for the policy's origin source: await
    /// [`OriginLookup::resolve`], then decide again with
    /// [`Policy::check_request_resolved`](crate::policy::Policy::check_request_resolved).
    /// Only policies with an origin source decide it.
    Lookup(OriginLookup<'r, H::Value>),
}

impl<'r, H: RequestHeaders> Decision<'r, H> {
    /// Why the request was refused, if it was.
    #[must_use]
    pub fn refusal(&self) -> Option<Refusal<'r>> {
        match self {
            Decision::Preflight(Preflight::Refused(refusal) | Preflight::Explained(_, refusal)) => {
                Some(*refusal)
            }
            Decision::Actual(Actual::Refused(refusal)) => Some(Refusal::Origin(*refusal)),
            Decision::Forbidden(refusal) => Some(*refusal),
            Decision::Preflight(Preflight::Allowed(_))
            | Decision::Actual(Actual::Allowed(_) | Actual::NoOrigin)
            | Decision::Lookup(_) => None,
        }
    }
}

/// The verdict on a preflight.
#[derive(Clone, Debug)]
pub enum Preflight<'r, H: RequestHeaders = HeaderMap> {
    /// Allowed: answer `204` (or the configured `preflight_status`) with
    /// the CORS headers.
    Allowed(PreflightGrant<'r, H>),
    /// Refused: answer `403` without CORS headers.
    Refused(Refusal<'r>),
    /// Refused, in [debug mode](crate::Cors::set_debug), for its method or
    /// one of its headers, from an origin the policy allows: answered like
    /// an allowed preflight that lists only what the policy allows (and no
    /// `Access-Control-Max-Age`), so that the browser's console names the
    /// method or the header at fault rather than a missing
    /// `Access-Control-Allow-Origin`. The browser still refuses the request.
    Explained(PreflightGrant<'r, H>, Refusal<'r>),
}

impl<H: RequestHeaders> Preflight<'_, H> {
    /// Whether the preflight is allowed. The status of its answer is the
    /// policy's to say: [`Policy::preflight_status`](crate::policy::Policy::preflight_status).
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Preflight::Allowed(_))
    }
}

/// What an allowed preflight asked for, as the answer needs it.
#[derive(Debug)]
pub struct PreflightGrant<'r, H: RequestHeaders = HeaderMap> {
    pub(crate) origin: AllowOrigin<'r, H::Value>,
    pub(crate) method: &'r H::Value,
    /// The preflight's headers, for echoing `Access-Control-Request-Headers`.
    pub(crate) request: &'r H,
}

impl<H: RequestHeaders> Clone for PreflightGrant<'_, H> {
    fn clone(&self) -> Self {
        PreflightGrant {
            origin: self.origin.clone(),
            method: self.method,
            request: self.request,
        }
    }
}

impl<'r, H: RequestHeaders> PreflightGrant<'r, H> {
    /// The origin the answer allows.
    #[must_use]
    pub fn origin(&self) -> &AllowOrigin<'r, H::Value> {
        &self.origin
    }

    /// The requested method, as sent in `Access-Control-Request-Method`.
    #[must_use]
    pub fn method(&self) -> &'r H::Value {
        self.method
    }
}

/// The verdict on an actual request. The application runs in every case.
/// `V` is the framework's header value type.
#[derive(Clone, Debug)]
pub enum Actual<'r, V: Clone = HeaderValue> {
    /// No `Origin` header (a same-origin GET, a non-browser client): no CORS
    /// headers, but `Vary: Origin` where the answer depends on the origin.
    NoOrigin,
    /// The origin may read the response.
    Allowed(AllowOrigin<'r, V>),
    /// The origin may not read the response: no CORS headers are added.
    Refused(OriginRefusal),
}

impl<V: Clone> Actual<'_, V> {
    /// The same verdict, owning the origin it echoes, so that it can outlive
    /// the request (for instance, across the call to the application).
    #[must_use]
    pub fn into_owned(self) -> Actual<'static, V> {
        match self {
            Actual::NoOrigin => Actual::NoOrigin,
            Actual::Allowed(origin) => Actual::Allowed(origin.into_owned()),
            Actual::Refused(refusal) => Actual::Refused(refusal),
        }
    }
}

/// The value of `Access-Control-Allow-Origin` for an allowed request.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AllowOrigin<'r, V: Clone = HeaderValue> {
    /// `*`: any origin, without credentials.
    Any,
    /// One of a short list of exact origins (at most 16): the value the
    /// policy built for it, equal byte for byte to the request's. Sending it
    /// shares the policy's buffer. A copy of the request's value costs a
    /// reference count when hyper parsed it (HTTP/1 and HTTP/2 values are
    /// slices of shared buffers), but an allocation when it was built by
    /// hand (`Request::builder().header(..)`, `HeaderValue::from_str`), as
    /// in tests and in-process calls.
    Listed(HeaderValue),
    /// The request's own origin, echoed byte for byte.
    Origin(Cow<'r, V>),
}

impl<V: Clone> AllowOrigin<'_, V> {
    /// The value to send, for a [`ResponseHeaders`](crate::adapter::ResponseHeaders)
    /// map.
    #[must_use]
    pub fn response_value(&self) -> ResponseValue<'_, V> {
        match self {
            AllowOrigin::Any => ResponseValue::Rendered(&ANY),
            AllowOrigin::Listed(origin) => ResponseValue::Rendered(origin),
            AllowOrigin::Origin(origin) => ResponseValue::Echo(origin.as_ref()),
        }
    }

    /// The same value, owning the origin.
    #[must_use]
    pub fn into_owned(self) -> AllowOrigin<'static, V> {
        match self {
            AllowOrigin::Any => AllowOrigin::Any,
            AllowOrigin::Listed(origin) => AllowOrigin::Listed(origin),
            AllowOrigin::Origin(origin) => AllowOrigin::Origin(Cow::Owned(origin.into_owned())),
        }
    }
}

impl AllowOrigin<'_, HeaderValue> {
    /// The header value to send.
    #[must_use]
    pub fn value(&self) -> HeaderValue {
        match self {
            AllowOrigin::Any => ANY.clone(),
            AllowOrigin::Listed(origin) => origin.clone(),
            AllowOrigin::Origin(origin) => origin.as_ref().clone(),
        }
    }
}

/// Why a request's origin was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginRefusal {
    /// Not an origin as browsers send it, or sent twice.
    Malformed(MalformedOrigin),
    /// `null`, which no origin list allows.
    Null,
    /// Well-formed, but not allowed by the policy.
    NotAllowed,
}

impl fmt::Display for OriginRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginRefusal::Malformed(malformed) => write!(f, "malformed origin: {malformed}"),
            OriginRefusal::Null => f.write_str("origin `null` is never allowed"),
            OriginRefusal::NotAllowed => f.write_str("origin not allowed"),
        }
    }
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal<'r> {
    /// The origin is malformed, `null` or not allowed.
    Origin(OriginRefusal),
    /// `Access-Control-Request-Method` is repeated or not a method name.
    MalformedMethod,
    /// The requested method is not allowed.
    MethodNotAllowed(&'r str),
    /// `Access-Control-Request-Headers` is malformed or beyond its limits.
    RequestHeaders(ListError),
    /// A requested header is not allowed.
    HeaderNotAllowed(&'r str),
    /// Cross-origin protection: an unsafe-method request from another site
    /// (`Sec-Fetch-Site`, when the browser sent it) or from an origin that
    /// is neither allowed nor the request's own (when it did not).
    CrossOriginRequest {
        /// `Sec-Fetch-Site` as sent, or `None` when the browser sent none.
        fetch_site: Option<&'r str>,
    },
    /// A WebSocket handshake (or HTTP/2 `CONNECT`) from an origin that is
    /// neither allowed nor the request's own, with `websocket_origins =
    /// "enforce"` (see [`WebSocketOrigins`](crate::config::WebSocketOrigins)).
    WebSocketOrigin(OriginRefusal),
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Origin(origin) => origin.fmt(f),
            Refusal::MalformedMethod => {
                f.write_str("Access-Control-Request-Method is repeated or not a method name")
            }
            Refusal::MethodNotAllowed(method) => write!(f, "method `{method}` not allowed"),
            Refusal::RequestHeaders(error) => {
                write!(f, "Access-Control-Request-Headers refused: {error}")
            }
            Refusal::HeaderNotAllowed(name) => write!(f, "header `{name}` not allowed"),
            Refusal::CrossOriginRequest {
                fetch_site: Some(site),
            } => write!(
                f,
                "cross-origin request refused: an unsafe method from `Sec-Fetch-Site: {site}`, \
                 and the origin is not allowed"
            ),
            Refusal::CrossOriginRequest { fetch_site: None } => f.write_str(
                "cross-origin request refused: an unsafe method from an origin that is neither \
                 allowed nor the request's own",
            ),
            Refusal::WebSocketOrigin(origin) => write!(
                f,
                "WebSocket handshake refused: {origin}, and it is not the request's own"
            ),
        }
    }
}
