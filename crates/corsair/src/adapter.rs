//! The interface an adapter implements to bring corsair to a framework.
//!
//! An adapter holds no CORS rule. For each request it
//! 1. takes one snapshot of the policy ([`Cors::policy`](crate::Cors::policy)),
//! 2. calls [`Policy::check_request`](crate::policy::Policy::check_request)
//!    with the request's method and header map,
//! 3. for a [`Decision::Preflight`](crate::policy::Decision::Preflight),
//!    answers with [`Policy::preflight_status`](crate::policy::Policy::preflight_status) and
//!    [`Policy::write_preflight_headers`](crate::policy::Policy::write_preflight_headers),
//!    without calling the application,
//! 4. for a [`Decision::Forbidden`](crate::policy::Decision::Forbidden)
//!    (cross-origin protection), answers `403` with
//!    [`Policy::write_forbidden_headers`](crate::policy::Policy::write_forbidden_headers),
//!    without calling the application,
//! 5. for a [`Decision::Actual`](crate::policy::Decision::Actual), calls the
//!    application and passes its response headers through
//!    [`Policy::apply`](crate::policy::Policy::apply);
//! 6. for a [`Decision::Lookup`](crate::policy::Decision::Lookup) (a policy
//!    with an origin source, feature `origin-source`), awaits
//!    [`OriginLookup::resolve`](crate::policy::OriginLookup::resolve) and
//!    decides again with
//!    [`Policy::check_request_resolved`](crate::policy::Policy::check_request_resolved);
//!    when [`OriginLookup::before_application`](crate::policy::OriginLookup::before_application)
//!    is `false`, it may call the application meanwhile and give its
//!    response the headers of
//!    [`Policy::resolved_actual`](crate::policy::Policy::resolved_actual).
//!
//! What it implements is the two traits of this module for its framework's
//! header maps: [`RequestHeaders`] (how the policy reads the three request
//! headers a decision needs) and [`ResponseHeaders`] (how it writes the
//! answer). corsair implements them for `http::HeaderMap` (the [`tower`](crate::tower)
//! adapter and the `corsair` proxy use it) and for actix-web's map (the
//! [`actix`](crate::actix) adapter).
//!
//! A toy framework whose headers are a list of name and value pairs:
//!
//! ```
//! use corsair::adapter::{RequestHeader, RequestHeaders, ResponseHeaders, ResponseValue};
//! use corsair::policy::{Decision, Policy};
//! use corsair::Config;
//! use http::HeaderName;
//!
//! /// The toy's header map: (lowercase name, value) in order.
//! #[derive(Debug, Default)]
//! struct Pairs(Vec<(String, Vec<u8>)>);
//!
//! impl RequestHeaders for Pairs {
//!     type Value = Vec<u8>;
//!
//!     fn values_of(&self, header: RequestHeader) -> impl Iterator<Item = &Vec<u8>> {
//!         let name = header.name();
//!         self.0.iter().filter(move |(n, _)| n == name.as_str()).map(|(_, value)| value)
//!     }
//!
//!     fn bytes(value: &Vec<u8>) -> &[u8] {
//!         value
//!     }
//! }
//!
//! fn bytes<'a>(value: &'a ResponseValue<'_, Vec<u8>>) -> &'a [u8] {
//!     match value {
//!         ResponseValue::Rendered(value) => value.as_bytes(),
//!         ResponseValue::Echo(value) => value,
//!     }
//! }
//!
//! impl ResponseHeaders<Vec<u8>> for Pairs {
//!     fn has_access_control(&self) -> bool {
//!         self.0.iter().any(|(name, _)| name.starts_with("access-control-"))
//!     }
//!     fn remove(&mut self, name: &HeaderName) {
//!         self.0.retain(|(n, _)| n != name.as_str());
//!     }
//!     fn insert(&mut self, name: &HeaderName, value: ResponseValue<'_, Vec<u8>>) {
//!         self.remove(name);
//!         self.append(name, value);
//!     }
//!     fn append(&mut self, name: &HeaderName, value: ResponseValue<'_, Vec<u8>>) {
//!         self.0.push((name.as_str().to_owned(), bytes(&value).to_vec()));
//!     }
//!     fn any_value(&self, name: &HeaderName, mut test: impl FnMut(&[u8]) -> bool) -> bool {
//!         self.0.iter().any(|(n, value)| n == name.as_str() && test(value))
//!     }
//! }
//!
//! /// The whole adapter: the toy's request in, its response's status and
//! /// headers out (`app` stands for the application).
//! fn serve(policy: &Policy, method: &str, request: &Pairs, app: impl Fn() -> Pairs) -> (u16, Pairs) {
//!     match policy.check_request(method, request) {
//!         Decision::Preflight(preflight) => {
//!             let mut headers = Pairs::default();
//!             policy.write_preflight_headers(&preflight, &mut headers);
//!             (policy.preflight_status(&preflight).as_u16(), headers)
//!         }
//!         Decision::Forbidden(refusal) => {
//!             let mut headers = Pairs::default();
//!             policy.write_forbidden_headers(&refusal, &mut headers);
//!             (403, headers)
//!         }
//!         Decision::Actual(actual) => {
//!             let mut headers = app();
//!             policy.apply(&actual, &mut headers);
//!             (200, headers)
//!         }
//!         // Only a policy with an origin source decides it, and this toy,
//!         // which cannot wait, attaches none.
//!         Decision::Lookup(_) => (403, Pairs::default()),
//!     }
//! }
//!
//! let policy = Policy::new(Config {
//!     allow_origins: vec!["https://app.example.com".into()],
//!     allow_methods: vec!["PUT".into()],
//!     ..Config::default()
//! })?;
//! let preflight = Pairs(vec![
//!     ("origin".into(), b"https://app.example.com".to_vec()),
//!     ("access-control-request-method".into(), b"PUT".to_vec()),
//! ]);
//! let (status, headers) = serve(&policy, "OPTIONS", &preflight, || unreachable!("a preflight never reaches the app"));
//! assert_eq!(status, 204);
//! assert!(headers.0.contains(&("access-control-allow-origin".into(), b"https://app.example.com".to_vec())));
//!
//! let get = Pairs(vec![("origin".into(), b"https://evil.example".to_vec())]);
//! let (status, headers) = serve(&policy, "GET", &get, || Pairs(vec![("content-type".into(), b"text/plain".to_vec())]));
//! assert_eq!(status, 200); // the application still runs: CORS only hides the answer
//! assert!(!headers.has_access_control());
//! assert!(headers.0.contains(&("vary".into(), b"Origin".to_vec())));
//! # Ok::<(), corsair::ConfigError>(())
//! ```

use std::fmt;

use crate::protocol::{CORS_RESPONSE_HEADERS, SEC_FETCH_SITE};
use http::header::{
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, Entry, HOST, HeaderMap,
    HeaderName, HeaderValue, ORIGIN, UPGRADE,
};

/// The request headers a CORS decision reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestHeader {
    /// `Origin`.
    Origin,
    /// `Access-Control-Request-Method`.
    RequestMethod,
    /// `Access-Control-Request-Headers`.
    RequestHeaders,
    /// `Sec-Fetch-Site`, read by cross-origin protection.
    SecFetchSite,
    /// `Host`, read by cross-origin protection where a browser sends no
    /// `Sec-Fetch-Site`, and for WebSocket handshakes.
    Host,
    /// `Upgrade`, which names `websocket` in a WebSocket handshake.
    Upgrade,
}

impl RequestHeader {
    /// The header's name, lowercase.
    #[must_use]
    pub fn name(self) -> HeaderName {
        self.static_name().clone()
    }

    /// The header's name, borrowed: looking a header up by reference spares
    /// the lookup building and dropping a name of its own.
    fn static_name(self) -> &'static HeaderName {
        static NAMES: [HeaderName; 5] = [
            ORIGIN,
            ACCESS_CONTROL_REQUEST_METHOD,
            ACCESS_CONTROL_REQUEST_HEADERS,
            HOST,
            UPGRADE,
        ];
        let [origin, method, headers, host, upgrade] = &NAMES;
        match self {
            RequestHeader::Origin => origin,
            RequestHeader::RequestMethod => method,
            RequestHeader::RequestHeaders => headers,
            RequestHeader::SecFetchSite => &SEC_FETCH_SITE,
            RequestHeader::Host => host,
            RequestHeader::Upgrade => upgrade,
        }
    }
}

/// Adds a `Host` header from the request's authority when there is none.
/// HTTP/2 carries the host in `:authority`, which hyper keeps in the URI,
/// not in `Host`; cross-origin protection compares a request's `Origin`
/// with its `Host` when the browser sends no `Sec-Fetch-Site`, so an
/// adapter whose policy has it
/// ([`Policy::cross_origin_protection`](crate::policy::Policy::cross_origin_protection))
/// calls this first. Nothing changes when `Host` is present or the URI has
/// no authority.
///
/// ```
/// use corsair::adapter::complete_host;
/// use http::{HeaderMap, Uri};
///
/// let mut headers = HeaderMap::new();
/// complete_host(&"https://api.example.com/items".parse::<Uri>()?, &mut headers);
/// assert_eq!(headers["host"], "api.example.com");
/// # Ok::<(), http::uri::InvalidUri>(())
/// ```
pub fn complete_host(uri: &http::Uri, headers: &mut HeaderMap) {
    if headers.contains_key(HOST) {
        return;
    }
    if let Some(value) = uri
        .authority()
        .and_then(|authority| HeaderValue::from_str(authority.as_str()).ok())
    {
        headers.insert(HOST, value);
    }
}

/// A request's header map, as the policy reads it.
///
/// Implemented for `http::HeaderMap` (and actix-web's map with the `actix`
/// feature); implement it to bring corsair to another framework (see the
/// [module documentation](self) for a whole adapter).
///
/// ```
/// use corsair::adapter::{RequestHeader, RequestHeaders};
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("origin", HeaderValue::from_static("https://app.example.com"));
/// let origins: Vec<&[u8]> = headers.values_of(RequestHeader::Origin).map(HeaderMap::bytes).collect();
/// assert_eq!(origins, [b"https://app.example.com"]);
/// ```
pub trait RequestHeaders {
    /// One header value; the policy clones it (cheaply, for a shared buffer)
    /// to echo it in the response.
    type Value: Clone + fmt::Debug;

    /// Every value of `header`, in the order received.
    fn values_of(&self, header: RequestHeader) -> impl Iterator<Item = &Self::Value>;

    /// The bytes of a value.
    fn bytes(value: &Self::Value) -> &[u8];
}

/// A value the policy writes into a response.
#[derive(Debug)]
pub enum ResponseValue<'a, V> {
    /// A value the policy rendered when it was built.
    Rendered(&'a HeaderValue),
    /// A value of the request, echoed (the origin, the requested method or
    /// headers).
    Echo(&'a V),
}

impl<V> Clone for ResponseValue<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for ResponseValue<'_, V> {}

/// A response's header map, as the policy writes it. `V` is the type of
/// the request's header values, which the policy may echo.
///
/// Implemented for `http::HeaderMap` (and actix-web's map with the `actix`
/// feature); implement it to bring corsair to another framework.
pub trait ResponseHeaders<V> {
    /// Whether any header whose name starts with `access-control-` is present.
    fn has_access_control(&self) -> bool;

    /// Removes every value of `name`.
    fn remove(&mut self, name: &HeaderName);

    /// Removes the CORS response headers (`Access-Control-Allow-*`,
    /// `-Expose-Headers`, `-Max-Age`) set by the application, which the
    /// policy replaces. By default, when [`has_access_control`] finds any,
    /// each of the six names is removed in turn; a map that can find which
    /// are present in one pass should override this.
    ///
    /// [`has_access_control`]: ResponseHeaders::has_access_control
    fn remove_cors_headers(&mut self) {
        if self.has_access_control() {
            for name in &CORS_RESPONSE_HEADERS {
                self.remove(name);
            }
        }
    }

    /// Sets `name` to `value`, replacing what was there.
    fn insert(&mut self, name: &HeaderName, value: ResponseValue<'_, V>);

    /// Adds one more value of `name`.
    fn append(&mut self, name: &HeaderName, value: ResponseValue<'_, V>);

    /// Whether some value of `name` satisfies `test`.
    fn any_value(&self, name: &HeaderName, test: impl FnMut(&[u8]) -> bool) -> bool;

    /// Adds one more value of `name` unless some value of `name` already
    /// satisfies `present`. A map that can find a name once for both (as
    /// `http::HeaderMap` does with its entry API) should override this.
    fn append_unless(
        &mut self,
        name: &HeaderName,
        value: ResponseValue<'_, V>,
        present: impl FnMut(&[u8]) -> bool,
    ) {
        if !self.any_value(name, present) {
            self.append(name, value);
        }
    }
}

impl RequestHeaders for HeaderMap {
    type Value = HeaderValue;

    fn values_of(&self, header: RequestHeader) -> impl Iterator<Item = &HeaderValue> {
        self.get_all(header.static_name()).iter()
    }

    fn bytes(value: &HeaderValue) -> &[u8] {
        value.as_bytes()
    }
}

fn owned(value: ResponseValue<'_, HeaderValue>) -> HeaderValue {
    match value {
        ResponseValue::Rendered(value) | ResponseValue::Echo(value) => value.clone(),
    }
}

impl ResponseHeaders<HeaderValue> for HeaderMap {
    fn has_access_control(&self) -> bool {
        self.keys()
            .any(|name| name.as_str().starts_with("access-control-"))
    }

    fn remove(&mut self, name: &HeaderName) {
        HeaderMap::remove(self, name);
    }

    fn remove_cors_headers(&mut self) {
        // One pass over the names (a prefix test each, as in
        // `has_access_control`), then a removal, which hashes, only for the
        // names present: an upstream that sets `Access-Control-Allow-Origin`
        // costs one removal rather than six.
        let cors = &CORS_RESPONSE_HEADERS;
        // Bit `i` set: `cors[i]` is present.
        let mut present = 0u8;
        for name in self.keys() {
            if name.as_str().starts_with("access-control-")
                && let Some(index) = cors.iter().position(|cors| cors == name)
            {
                present |= 1 << index;
            }
        }
        for (index, name) in cors.iter().enumerate() {
            if present & (1 << index) != 0 {
                HeaderMap::remove(self, name);
            }
        }
    }

    fn insert(&mut self, name: &HeaderName, value: ResponseValue<'_, HeaderValue>) {
        HeaderMap::insert(self, name.clone(), owned(value));
    }

    fn append(&mut self, name: &HeaderName, value: ResponseValue<'_, HeaderValue>) {
        HeaderMap::append(self, name.clone(), owned(value));
    }

    fn any_value(&self, name: &HeaderName, mut test: impl FnMut(&[u8]) -> bool) -> bool {
        self.get_all(name)
            .iter()
            .any(|value| test(value.as_bytes()))
    }

    fn append_unless(
        &mut self,
        name: &HeaderName,
        value: ResponseValue<'_, HeaderValue>,
        mut present: impl FnMut(&[u8]) -> bool,
    ) {
        match self.entry(name.clone()) {
            Entry::Vacant(vacant) => {
                vacant.insert(owned(value));
            }
            Entry::Occupied(mut occupied) => {
                if !occupied.iter().any(|line| present(line.as_bytes())) {
                    occupied.append(owned(value));
                }
            }
        }
    }
}
