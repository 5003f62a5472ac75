//! Turning a decision into response headers, from values rendered once
//! when the policy was built.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, HeaderMap,
    HeaderName, HeaderValue, VARY,
};
use http::{Response, StatusCode};

use super::Policy;
use super::decision::{Actual, Preflight, PreflightGrant, Refusal};
use crate::adapter::{RequestHeader, RequestHeaders, ResponseHeaders, ResponseValue};
use crate::protocol::TIMING_ALLOW_ORIGIN;

/// `Vary` of an actual response whose CORS headers depend on the origin.
static VARY_ORIGIN: HeaderValue = HeaderValue::from_static("Origin");
pub(super) const VARY_PREFLIGHT: HeaderValue = HeaderValue::from_static(
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
);
pub(super) const VARY_PREFLIGHT_ANY_ORIGIN: HeaderValue =
    HeaderValue::from_static("Access-Control-Request-Method, Access-Control-Request-Headers");
pub(super) static TRUE: HeaderValue = HeaderValue::from_static("true");
/// Stands in a preflight template for a value taken from the request.
const PLACEHOLDER: HeaderValue = HeaderValue::from_static("*");

/// In debug mode, the reason a preflight was refused.
pub static DEBUG_HEADER: HeaderName = HeaderName::from_static("corsair-refusal");

/// How a preflight answer's list header is produced.
#[derive(Debug)]
pub(super) enum ListAnswer {
    /// Not sent.
    Omit,
    /// A value rendered when the policy was built.
    Fixed(HeaderValue),
    /// The request's own (validated) value, echoed: `*` with credentials is
    /// literal to browsers, so "anything" is said by repeating the request.
    Echo,
}

/// What goes into the headers of an allowed preflight answer.
pub(super) struct PreflightTemplate<'a> {
    pub(super) vary: HeaderValue,
    pub(super) credentials: bool,
    pub(super) allow_methods: &'a ListAnswer,
    pub(super) allow_headers: &'a ListAnswer,
    pub(super) max_age: Option<HeaderValue>,
}

impl PreflightTemplate<'_> {
    /// The header map every allowed preflight answer starts from, with a
    /// placeholder wherever the request's own value goes.
    pub(super) fn build(self) -> HeaderMap {
        // `HeaderMap::insert` grows a full map before it looks for the name
        // to replace, so leave room: a clone keeps its index table's size,
        // and filling in the placeholders then never reallocates.
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(VARY, self.vary);
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, PLACEHOLDER);
        if self.credentials {
            headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE.clone());
        }
        for (name, answer) in [
            (ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods),
            (ACCESS_CONTROL_ALLOW_HEADERS, self.allow_headers),
        ] {
            match answer {
                ListAnswer::Omit => {}
                ListAnswer::Fixed(value) => {
                    headers.insert(name, value.clone());
                }
                ListAnswer::Echo => {
                    headers.insert(name, PLACEHOLDER);
                }
            }
        }
        if let Some(value) = self.max_age {
            headers.insert(ACCESS_CONTROL_MAX_AGE, value);
        }
        headers
    }
}

impl Policy {
    /// Every value this policy writes from what it rendered when it was
    /// built (as opposed to values echoed from the request), for adapters
    /// that convert them once to their framework's own header type: those
    /// of actual responses first, the most frequent answers, then those of
    /// preflight answers.
    #[cfg(feature = "actix")]
    pub(crate) fn rendered_values(&self) -> impl Iterator<Item = &HeaderValue> {
        [&VARY_ORIGIN, &TRUE, &super::ANY]
            .into_iter()
            .chain(&self.expose_headers)
            .chain(
                self.origins
                    .iter()
                    .flat_map(|origins| origins.listed_values()),
            )
            .chain(self.preflight_allowed.values())
            .chain(self.preflight_refused.values())
    }

    /// The response to a preflight: `204 No Content` with the CORS headers
    /// when allowed, `403 Forbidden` without any when refused, and an empty
    /// body either way. The application is never called for a preflight.
    /// (In [debug mode](crate::Cors::set_debug), a refused answer also says
    /// why in a `corsair-refusal` header, and a preflight refused for its
    /// method or a header is answered so that the browser's console names
    /// it: see [`Preflight::Explained`].)
    #[must_use]
    pub fn preflight_response<B: Default>(&self, preflight: &Preflight<'_>) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = self.preflight_status(preflight);
        *response.headers_mut() = self.preflight_headers(preflight);
        response
    }

    /// The headers of a preflight answer: the CORS headers when allowed, and
    /// `Vary` in either case. They are a clone of a map built with the
    /// policy, with the request's origin (and echoed lists) filled in.
    #[must_use]
    pub fn preflight_headers(&self, preflight: &Preflight<'_>) -> HeaderMap {
        match preflight {
            Preflight::Refused(_) => {
                let mut headers = self.preflight_refused.clone();
                self.write_debug_reason(preflight, &mut headers);
                headers
            }
            Preflight::Explained(grant, refusal) => {
                let mut headers = self.allowed_headers(grant);
                headers.remove(ACCESS_CONTROL_MAX_AGE);
                if self.echoes_refused_method(refusal) {
                    headers.remove(ACCESS_CONTROL_ALLOW_METHODS);
                }
                self.write_debug_reason(preflight, &mut headers);
                headers
            }
            Preflight::Allowed(grant) => self.allowed_headers(grant),
        }
    }

    /// The headers of an allowed preflight's answer: the template, with the
    /// origin (and echoed lists) filled in.
    fn allowed_headers(&self, grant: &PreflightGrant<'_>) -> HeaderMap {
        let mut headers = self.preflight_allowed.clone();
        // The clone holds placeholders for the origin and an echoed
        // method: overwrite them where they are, in one walk over six
        // entries, rather than hash their names to find them.
        let mut placeholders = 1 + usize::from(self.echo_method);
        for (name, value) in &mut headers {
            if *name == ACCESS_CONTROL_ALLOW_ORIGIN {
                *value = grant.origin.value();
            } else if self.echo_method && *name == ACCESS_CONTROL_ALLOW_METHODS {
                value.clone_from(grant.method);
            } else {
                continue;
            }
            placeholders -= 1;
            if placeholders == 0 {
                break;
            }
        }
        if self.echo_headers {
            Self::echo_request_headers(grant, &mut headers);
        }
        headers
    }

    /// Writes the headers of a preflight answer into any framework's map,
    /// replacing headers of the same names: the same headers as
    /// [`Policy::preflight_headers`].
    pub fn write_preflight_headers<H, R>(&self, preflight: &Preflight<'_, H>, headers: &mut R)
    where
        H: RequestHeaders,
        R: ResponseHeaders<H::Value>,
    {
        let template = match preflight {
            Preflight::Allowed(_) | Preflight::Explained(..) => &self.preflight_allowed,
            Preflight::Refused(_) => &self.preflight_refused,
        };
        for (name, value) in template {
            headers.insert(name, ResponseValue::Rendered(value));
        }
        match preflight {
            Preflight::Allowed(grant) => self.fill_in(grant, headers),
            Preflight::Explained(grant, refusal) => {
                self.fill_in(grant, headers);
                headers.remove(&ACCESS_CONTROL_MAX_AGE);
                if self.echoes_refused_method(refusal) {
                    headers.remove(&ACCESS_CONTROL_ALLOW_METHODS);
                }
                self.write_debug_reason(preflight, headers);
            }
            Preflight::Refused(_) => self.write_debug_reason(preflight, headers),
        }
    }

    /// In debug mode, why a preflight was refused (`None` otherwise). The
    /// adapters that own their body type also send it as the body.
    #[must_use]
    pub fn debug_reason<H: RequestHeaders>(&self, preflight: &Preflight<'_, H>) -> Option<String> {
        match preflight {
            Preflight::Refused(refusal) | Preflight::Explained(_, refusal) if self.debug => {
                Some(refusal.to_string())
            }
            _ => None,
        }
    }

    fn write_debug_reason<H, R>(&self, preflight: &Preflight<'_, H>, headers: &mut R)
    where
        H: RequestHeaders,
        R: ResponseHeaders<H::Value>,
    {
        if let Some(value) = self
            .debug_reason(preflight)
            .and_then(|reason| HeaderValue::try_from(reason).ok())
        {
            headers.insert(&DEBUG_HEADER, ResponseValue::Rendered(&value));
        }
    }

    /// The response to a request that cross-origin protection refuses
    /// ([`Decision::Forbidden`](crate::policy::Decision::Forbidden)): `403
    /// Forbidden`, an empty body, no CORS headers (the origin is not
    /// allowed), and in debug mode the reason in `corsair-refusal`. The
    /// application is never called.
    #[must_use]
    pub fn forbidden_response<B: Default>(&self, refusal: &Refusal<'_>) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = StatusCode::FORBIDDEN;
        self.write_forbidden_headers(refusal, response.headers_mut());
        response
    }

    /// Writes the headers of the answer to a forbidden request into any
    /// framework's map: the same as [`Policy::forbidden_response`]'s.
    pub fn write_forbidden_headers<V, R>(&self, refusal: &Refusal<'_>, headers: &mut R)
    where
        R: ResponseHeaders<V>,
    {
        if self.debug
            && let Ok(value) = HeaderValue::try_from(refusal.to_string())
        {
            headers.insert(&DEBUG_HEADER, ResponseValue::Rendered(&value));
        }
    }

    /// Whether an explained refusal's answer would echo the very method it
    /// refuses (a method list that echoes the request, refusing `TRACE`):
    /// its `Access-Control-Allow-Methods` must go instead.
    fn echoes_refused_method(&self, refusal: &Refusal<'_>) -> bool {
        self.echo_method && matches!(refusal, Refusal::MethodNotAllowed(_))
    }

    /// Replaces the placeholders of an allowed answer with what the request
    /// asked for.
    fn fill_in<H, R>(&self, grant: &PreflightGrant<'_, H>, headers: &mut R)
    where
        H: RequestHeaders,
        R: ResponseHeaders<H::Value>,
    {
        headers.insert(&ACCESS_CONTROL_ALLOW_ORIGIN, grant.origin.response_value());
        if self.echo_method {
            headers.insert(
                &ACCESS_CONTROL_ALLOW_METHODS,
                ResponseValue::Echo(grant.method),
            );
        }
        if self.echo_headers {
            Self::echo_request_headers(grant, headers);
        }
    }

    /// Echoes `Access-Control-Request-Headers` in `Access-Control-Allow-Headers`
    /// (any header allowed, with credentials), line for line; without one,
    /// the placeholder goes.
    fn echo_request_headers<H, R>(grant: &PreflightGrant<'_, H>, headers: &mut R)
    where
        H: RequestHeaders,
        R: ResponseHeaders<H::Value>,
    {
        let mut lines = grant
            .request
            .values_of(RequestHeader::RequestHeaders)
            .filter(|line| !H::bytes(line).is_empty());
        match lines.next() {
            None => headers.remove(&ACCESS_CONTROL_ALLOW_HEADERS),
            Some(first) => {
                headers.insert(&ACCESS_CONTROL_ALLOW_HEADERS, ResponseValue::Echo(first));
                for line in lines {
                    headers.append(&ACCESS_CONTROL_ALLOW_HEADERS, ResponseValue::Echo(line));
                }
            }
        }
    }

    /// Applies the policy to the response of an actual request: removes any
    /// CORS header the application set, adds the policy's when the origin is
    /// allowed (with `Timing-Allow-Origin` where the policy sends it), and
    /// merges `Vary: Origin` into the application's `Vary` whenever the
    /// answer depends on the origin.
    pub fn apply<V, R>(&self, actual: &Actual<'_, V>, headers: &mut R)
    where
        V: Clone,
        R: ResponseHeaders<V>,
    {
        headers.remove_cors_headers();
        if self.timing_allow_origin {
            // The policy owns the header: the application's goes.
            match actual {
                Actual::Allowed(origin) => {
                    headers.insert(&TIMING_ALLOW_ORIGIN, origin.response_value());
                }
                Actual::NoOrigin | Actual::Refused(_) => headers.remove(&TIMING_ALLOW_ORIGIN),
            }
        }
        if let Actual::Allowed(origin) = actual {
            headers.insert(&ACCESS_CONTROL_ALLOW_ORIGIN, origin.response_value());
            if self.credentials {
                headers.insert(
                    &ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    ResponseValue::Rendered(&TRUE),
                );
            }
            if let Some(value) = &self.expose_headers {
                headers.insert(
                    &ACCESS_CONTROL_EXPOSE_HEADERS,
                    ResponseValue::Rendered(value),
                );
            }
        }
        if self.origins.is_some() {
            headers.append_unless(&VARY, ResponseValue::Rendered(&VARY_ORIGIN), names_origin);
        }
    }
}

/// Whether a `Vary` line already names `Origin`, or is `*`.
fn names_origin(line: &[u8]) -> bool {
    line.split(|&b| b == b',').any(|element| {
        let element = element.trim_ascii();
        element == b"*" || element.eq_ignore_ascii_case(b"origin")
    })
}
