//! The compiled policy: the request check and the headers it writes.
//!
//! [`Policy::check`] reads a request's method and headers and returns a
//! [`Decision`] without allocating; [`Policy::preflight_response`] and
//! [`Policy::apply`] turn a decision into response headers from values
//! rendered once, when the policy was built. Adapters only translate their
//! framework's types and call these; every CORS rule is here.

use std::borrow::Cow;
use std::fmt;

use hashbrown::HashSet;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, HeaderMap, HeaderValue, ORIGIN,
    VARY,
};
use http::{Method, Response, StatusCode};

use crate::config::{Allowed, Config};
use crate::error::ConfigError;
use crate::header_set::HeaderNameSet;
use crate::origin::{MalformedOrigin, OriginMatcher, RequestOrigin};
use crate::protocol::{
    CORS_RESPONSE_HEADERS, ListError, ListLimits, TokenList, is_forbidden_method,
    is_safelisted_method, is_token,
};

/// `Vary` of an actual response whose CORS headers depend on the origin.
const VARY_ORIGIN: HeaderValue = HeaderValue::from_static("Origin");
const VARY_PREFLIGHT: HeaderValue = HeaderValue::from_static(
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
);
const VARY_PREFLIGHT_ANY_ORIGIN: HeaderValue =
    HeaderValue::from_static("Access-Control-Request-Method, Access-Control-Request-Headers");
const TRUE: HeaderValue = HeaderValue::from_static("true");
/// Stands in a preflight template for a value taken from the request.
const PLACEHOLDER: HeaderValue = HeaderValue::from_static("*");
const ANY: HeaderValue = HeaderValue::from_static("*");

/// A validated, compiled CORS policy. Build one with [`Policy::new`], or let
/// [`Cors`](crate::Cors) hold one and swap it at runtime.
///
/// ```
/// use corsair::{Config, Decision, Policy, Preflight};
/// use http::{HeaderMap, HeaderValue, Method, StatusCode};
///
/// let policy = Policy::new(Config {
///     allow_origins: vec!["https://app.example.com".into()],
///     allow_credentials: true,
///     allow_methods: vec!["PUT".into()],
///     allow_headers: vec!["content-type".into()],
///     ..Config::default()
/// })?;
///
/// let mut request = HeaderMap::new();
/// request.insert("origin", HeaderValue::from_static("https://app.example.com"));
/// request.insert("access-control-request-method", HeaderValue::from_static("PUT"));
/// request.insert("access-control-request-headers", HeaderValue::from_static("content-type"));
///
/// let Decision::Preflight(preflight) = policy.check(&Method::OPTIONS, &request) else {
///     unreachable!("OPTIONS with Origin and Access-Control-Request-Method is a preflight")
/// };
/// assert!(matches!(preflight, Preflight::Allowed(_)));
/// let response = policy.preflight_response::<()>(&preflight);
/// assert_eq!(response.status(), StatusCode::NO_CONTENT);
/// assert_eq!(response.headers()["access-control-allow-origin"], "https://app.example.com");
/// assert_eq!(response.headers()["access-control-allow-credentials"], "true");
/// # Ok::<(), corsair::ConfigError>(())
/// ```
pub struct Policy {
    config: Config,
    /// `None` when any origin is allowed.
    origins: Option<OriginMatcher>,
    credentials: bool,
    /// `None` when any method is allowed.
    methods: Option<HashSet<Box<str>>>,
    /// `None` when any header is allowed.
    headers: Option<HeaderNameSet>,
    /// Whether `Access-Control-Allow-Methods` echoes the request.
    echo_method: bool,
    /// Whether `Access-Control-Allow-Headers` echoes the request.
    echo_headers: bool,
    expose_headers: Option<HeaderValue>,
    /// The headers of an allowed preflight answer, built once. The entries
    /// that depend on the request (the origin, echoed lists) hold
    /// placeholders, replaced in place so that a clone never grows.
    preflight_allowed: HeaderMap,
    /// The headers of a refused preflight answer: `Vary` alone.
    preflight_refused: HeaderMap,
}

/// How a preflight answer's list header is produced.
#[derive(Debug)]
enum Answer {
    /// Not sent.
    Omit,
    /// A value rendered when the policy was built.
    Fixed(HeaderValue),
    /// The request's own (validated) value, echoed: `*` with credentials is
    /// literal to browsers, so "anything" is said by repeating the request.
    Echo,
}

/// What goes into the headers of an allowed preflight answer.
struct PreflightTemplate<'a> {
    vary: HeaderValue,
    credentials: bool,
    allow_methods: &'a Answer,
    allow_headers: &'a Answer,
    max_age: Option<HeaderValue>,
}

impl PreflightTemplate<'_> {
    /// The header map every allowed preflight answer starts from, with a
    /// placeholder wherever the request's own value goes.
    fn build(self) -> HeaderMap {
        // `HeaderMap::insert` grows a full map before it looks for the name
        // to replace, so leave room: a clone keeps its index table's size,
        // and filling in the placeholders then never reallocates.
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(VARY, self.vary);
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, PLACEHOLDER);
        if self.credentials {
            headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
        }
        for (name, answer) in [
            (ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods),
            (ACCESS_CONTROL_ALLOW_HEADERS, self.allow_headers),
        ] {
            match answer {
                Answer::Omit => {}
                Answer::Fixed(value) => {
                    headers.insert(name, value.clone());
                }
                Answer::Echo => {
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
    /// Checks `config` and compiles it.
    ///
    /// # Errors
    /// A [`ConfigError`] listing every problem of the configuration.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        let checked = config.check()?;
        let credentials = config.allow_credentials;

        let origins = checked.origins.map(|patterns| {
            let mut matcher = OriginMatcher::default();
            for pattern in &patterns {
                matcher.insert(pattern);
            }
            matcher
        });
        let (methods, allow_methods) = match checked.methods {
            Allowed::Any => (
                None,
                if credentials {
                    Answer::Echo
                } else {
                    Answer::Fixed(ANY)
                },
            ),
            Allowed::Listed(names) => {
                let answer = render(&names).map_or(Answer::Omit, Answer::Fixed);
                (
                    Some(names.into_iter().map(String::into_boxed_str).collect()),
                    answer,
                )
            }
        };
        let (headers, allow_headers) = match checked.headers {
            // Fetch never lets `*` cover `Authorization`, so name it.
            Allowed::Any if !credentials => (
                None,
                Answer::Fixed(HeaderValue::from_static("*, authorization")),
            ),
            Allowed::Any => (None, Answer::Echo),
            Allowed::Listed(names) => {
                let answer = render(&names).map_or(Answer::Omit, Answer::Fixed);
                let mut set = HeaderNameSet::default();
                for name in &names {
                    set.insert(name);
                }
                (Some(set), answer)
            }
        };
        let expose_headers = match checked.expose {
            Allowed::Any => Some(ANY),
            Allowed::Listed(names) => render(&names),
        };
        let max_age = config
            .max_age
            .map(|seconds| shared(HeaderValue::from(seconds)));
        let vary = if origins.is_some() {
            VARY_PREFLIGHT
        } else {
            VARY_PREFLIGHT_ANY_ORIGIN
        };
        let mut preflight_refused = HeaderMap::with_capacity(1);
        preflight_refused.insert(VARY, vary.clone());
        let preflight_allowed = PreflightTemplate {
            vary,
            credentials,
            allow_methods: &allow_methods,
            allow_headers: &allow_headers,
            max_age,
        }
        .build();

        Ok(Policy {
            origins,
            credentials,
            methods,
            headers,
            echo_method: matches!(allow_methods, Answer::Echo),
            echo_headers: matches!(allow_headers, Answer::Echo),
            expose_headers,
            preflight_allowed,
            preflight_refused,
            config,
        })
    }

    /// The configuration this policy was compiled from.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Decides what a request is and whether it is allowed. Pure: no I/O, no
    /// heap allocation. Refusals are logged as `tracing` events at debug
    /// level (target `corsair`) with the reason.
    ///
    /// A request is a preflight when it is `OPTIONS` with both `Origin` and
    /// `Access-Control-Request-Method`; any other request, `OPTIONS`
    /// included, is an actual request, which the application must serve.
    pub fn check<'r>(&self, method: &Method, headers: &'r HeaderMap) -> Decision<'r> {
        let mut origins = headers.get_all(ORIGIN).iter();
        let Some(origin) = origins.next() else {
            return Decision::Actual(match self.origins {
                None => Actual::Allowed(AllowOrigin::Any),
                Some(_) => Actual::NoOrigin,
            });
        };
        let judged = self.judge_origin(origin, origins.next().is_some());

        if method == Method::OPTIONS {
            let mut requested = headers.get_all(ACCESS_CONTROL_REQUEST_METHOD).iter();
            if let Some(requested_method) = requested.next() {
                let repeated = requested.next().is_some();
                let preflight = match judged {
                    Ok(allowed) => {
                        self.check_preflight(allowed, requested_method, repeated, headers)
                    }
                    Err(refusal) => Preflight::Refused(Refusal::Origin(refusal)),
                };
                if let Preflight::Refused(refusal) = &preflight {
                    log_refusal(method, origin, true, refusal);
                }
                return Decision::Preflight(preflight);
            }
        }
        Decision::Actual(match judged {
            Ok(allowed) => Actual::Allowed(allowed),
            Err(refusal) => {
                log_refusal(method, origin, false, &Refusal::Origin(refusal));
                Actual::Refused(refusal)
            }
        })
    }

    fn judge_origin<'r>(
        &self,
        value: &'r HeaderValue,
        repeated: bool,
    ) -> Result<AllowOrigin<'r>, OriginRefusal> {
        let Some(matcher) = &self.origins else {
            // The answer is the same for every origin, so none is examined.
            return Ok(AllowOrigin::Any);
        };
        if repeated {
            return Err(OriginRefusal::Malformed(MalformedOrigin::Repeated));
        }
        if matcher.contains_exact(value.as_bytes()) {
            return Ok(AllowOrigin::Origin(Cow::Borrowed(value)));
        }
        match RequestOrigin::parse(value.as_bytes()) {
            Err(malformed) => Err(OriginRefusal::Malformed(malformed)),
            Ok(RequestOrigin::Null) => Err(OriginRefusal::Null),
            Ok(RequestOrigin::Tuple(tuple)) if matcher.matches_pattern(&tuple) => {
                Ok(AllowOrigin::Origin(Cow::Borrowed(value)))
            }
            Ok(RequestOrigin::Tuple(_)) => Err(OriginRefusal::NotAllowed),
        }
    }

    fn check_preflight<'r>(
        &self,
        origin: AllowOrigin<'r>,
        requested_method: &'r HeaderValue,
        repeated: bool,
        headers: &'r HeaderMap,
    ) -> Preflight<'r> {
        let method = match self.check_requested_method(requested_method, repeated) {
            Ok(method) => method,
            Err(refusal) => return Preflight::Refused(refusal),
        };
        if let Err(refusal) = self.check_requested_headers(headers) {
            return Preflight::Refused(refusal);
        }
        Preflight::Allowed(PreflightGrant {
            origin,
            method,
            request: headers,
        })
    }

    fn check_requested_method<'r>(
        &self,
        value: &'r HeaderValue,
        repeated: bool,
    ) -> Result<&'r HeaderValue, Refusal<'r>> {
        if repeated {
            return Err(Refusal::MalformedMethod);
        }
        let Some(name) = value.to_str().ok().filter(|name| is_token(name.as_bytes())) else {
            return Err(Refusal::MalformedMethod);
        };
        // Compared byte for byte: browsers send the normalised method.
        let allowed = is_safelisted_method(name)
            || (!is_forbidden_method(name)
                && self
                    .methods
                    .as_ref()
                    .is_none_or(|methods| methods.contains(name)));
        if allowed {
            Ok(value)
        } else {
            Err(Refusal::MethodNotAllowed(name))
        }
    }

    fn check_requested_headers<'r>(&self, headers: &'r HeaderMap) -> Result<(), Refusal<'r>> {
        let mut list = TokenList::new(ListLimits::REQUEST_HEADERS);
        for line in headers.get_all(ACCESS_CONTROL_REQUEST_HEADERS) {
            let elements = list
                .line(line.as_bytes())
                .map_err(Refusal::RequestHeaders)?;
            for element in elements {
                let name = element.map_err(Refusal::RequestHeaders)?;
                if let Some(allowed) = &self.headers
                    && !allowed.contains(name)
                {
                    return Err(Refusal::HeaderNotAllowed(name));
                }
            }
        }
        Ok(())
    }

    /// The response to a preflight: `204 No Content` with the CORS headers
    /// when allowed, `403 Forbidden` without any when refused, and an empty
    /// body either way. The application is never called for a preflight.
    #[must_use]
    pub fn preflight_response<B: Default>(&self, preflight: &Preflight<'_>) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = preflight.status();
        *response.headers_mut() = self.preflight_headers(preflight);
        response
    }

    /// The headers of a preflight answer: the CORS headers when allowed, and
    /// `Vary` in either case. They are a clone of a map built with the
    /// policy, with the request's origin (and echoed lists) filled in.
    #[must_use]
    pub fn preflight_headers(&self, preflight: &Preflight<'_>) -> HeaderMap {
        match preflight {
            Preflight::Refused(_) => self.preflight_refused.clone(),
            Preflight::Allowed(grant) => {
                let mut headers = self.preflight_allowed.clone();
                self.fill_in(grant, &mut headers);
                headers
            }
        }
    }

    /// Writes the headers of a preflight answer into `headers`, replacing
    /// any of the same names: the same headers as [`Policy::preflight_headers`].
    pub fn write_preflight_headers(&self, preflight: &Preflight<'_>, headers: &mut HeaderMap) {
        let template = match preflight {
            Preflight::Allowed(_) => &self.preflight_allowed,
            Preflight::Refused(_) => &self.preflight_refused,
        };
        for (name, value) in template {
            headers.insert(name.clone(), value.clone());
        }
        if let Preflight::Allowed(grant) = preflight {
            self.fill_in(grant, headers);
        }
    }

    /// Replaces the placeholders of an allowed answer with what the request
    /// asked for.
    fn fill_in(&self, grant: &PreflightGrant<'_>, headers: &mut HeaderMap) {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, grant.origin.value());
        if self.echo_method {
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, grant.method.clone());
        }
        if self.echo_headers {
            let lines = grant.request.get_all(ACCESS_CONTROL_REQUEST_HEADERS);
            let mut lines = lines.iter().filter(|line| !line.is_empty());
            match lines.next() {
                None => {
                    headers.remove(ACCESS_CONTROL_ALLOW_HEADERS);
                }
                Some(first) => {
                    headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, first.clone());
                    for line in lines {
                        headers.append(ACCESS_CONTROL_ALLOW_HEADERS, line.clone());
                    }
                }
            }
        }
    }

    /// Applies the policy to the response of an actual request: removes any
    /// CORS header the application set, adds the policy's when the origin is
    /// allowed, and merges `Vary: Origin` into the application's `Vary`
    /// whenever the answer depends on the origin.
    pub fn apply(&self, actual: &Actual<'_>, headers: &mut HeaderMap) {
        // One pass over the names finds whether there is anything to remove,
        // which is cheaper than six lookups when there is not (the usual case).
        if headers
            .keys()
            .any(|name| name.as_str().starts_with("access-control-"))
        {
            for name in &CORS_RESPONSE_HEADERS {
                headers.remove(name);
            }
        }
        if let Actual::Allowed(origin) = actual {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.value());
            if self.credentials {
                headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
            }
            if let Some(value) = &self.expose_headers {
                headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, value.clone());
            }
        }
        if self.origins.is_some() {
            merge_vary_origin(headers);
        }
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Joins names with `", "` into a header value, or `None` for no names.
fn render(names: &[String]) -> Option<HeaderValue> {
    if names.is_empty() {
        return None;
    }
    // Validated tokens joined by ", " are always a valid header value.
    HeaderValue::from_str(&names.join(", ")).ok().map(shared)
}

/// A value built at runtime holds a `Bytes` that allocates on its first
/// clone, when it becomes shared; clone it once here, while the policy is
/// built, so that no request ever pays that allocation.
fn shared(value: HeaderValue) -> HeaderValue {
    drop(value.clone());
    value
}

/// Adds `Origin` to `Vary` unless the application's `Vary` already names it
/// or is `*`. The application's values are kept as they are.
fn merge_vary_origin(headers: &mut HeaderMap) {
    let covered = headers.get_all(VARY).iter().any(|line| {
        line.as_bytes().split(|&b| b == b',').any(|element| {
            let element = element.trim_ascii();
            element == b"*" || element.eq_ignore_ascii_case(b"origin")
        })
    });
    if !covered {
        headers.append(VARY, VARY_ORIGIN);
    }
}

fn log_refusal(method: &Method, origin: &HeaderValue, preflight: bool, refusal: &Refusal<'_>) {
    tracing::debug!(
        target: "corsair",
        preflight,
        %method,
        ?origin,
        reason = %refusal,
        "CORS request refused",
    );
}

/// What a request is, and what the policy decided for it.
#[derive(Clone, Debug)]
pub enum Decision<'r> {
    /// A preflight: answer it with [`Policy::preflight_response`] and do not
    /// call the application.
    Preflight(Preflight<'r>),
    /// An actual request: call the application, then [`Policy::apply`] to
    /// its response.
    Actual(Actual<'r>),
}

impl<'r> Decision<'r> {
    /// Why the request was refused, if it was.
    #[must_use]
    pub fn refusal(&self) -> Option<Refusal<'r>> {
        match self {
            Decision::Preflight(Preflight::Refused(refusal)) => Some(*refusal),
            Decision::Actual(Actual::Refused(refusal)) => Some(Refusal::Origin(*refusal)),
            Decision::Preflight(Preflight::Allowed(_))
            | Decision::Actual(Actual::Allowed(_) | Actual::NoOrigin) => None,
        }
    }
}

/// The verdict on a preflight.
#[derive(Clone, Debug)]
pub enum Preflight<'r> {
    /// Allowed: answer `204` with the CORS headers.
    Allowed(PreflightGrant<'r>),
    /// Refused: answer `403` without CORS headers.
    Refused(Refusal<'r>),
}

impl Preflight<'_> {
    /// `204 No Content` when allowed, `403 Forbidden` when refused.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Preflight::Allowed(_) => StatusCode::NO_CONTENT,
            Preflight::Refused(_) => StatusCode::FORBIDDEN,
        }
    }
}

/// What an allowed preflight asked for, as the answer needs it.
#[derive(Clone, Debug)]
pub struct PreflightGrant<'r> {
    origin: AllowOrigin<'r>,
    method: &'r HeaderValue,
    /// The preflight's headers, for echoing `Access-Control-Request-Headers`.
    request: &'r HeaderMap,
}

impl<'r> PreflightGrant<'r> {
    /// The origin the answer allows.
    #[must_use]
    pub fn origin(&self) -> &AllowOrigin<'r> {
        &self.origin
    }

    /// The requested method, as sent in `Access-Control-Request-Method`.
    #[must_use]
    pub fn method(&self) -> &'r HeaderValue {
        self.method
    }
}

/// The verdict on an actual request. The application runs in every case.
#[derive(Clone, Debug)]
pub enum Actual<'r> {
    /// No `Origin` header (a same-origin GET, a non-browser client): no CORS
    /// headers, but `Vary: Origin` where the answer depends on the origin.
    NoOrigin,
    /// The origin may read the response.
    Allowed(AllowOrigin<'r>),
    /// The origin may not read the response: no CORS headers are added.
    Refused(OriginRefusal),
}

impl Actual<'_> {
    /// The same verdict, owning the origin it echoes, so that it can outlive
    /// the request (for instance, across the call to the application).
    #[must_use]
    pub fn into_owned(self) -> Actual<'static> {
        match self {
            Actual::NoOrigin => Actual::NoOrigin,
            Actual::Allowed(origin) => Actual::Allowed(origin.into_owned()),
            Actual::Refused(refusal) => Actual::Refused(refusal),
        }
    }
}

/// The value of `Access-Control-Allow-Origin` for an allowed request.
#[derive(Clone, Debug)]
pub enum AllowOrigin<'r> {
    /// `*`: any origin, without credentials.
    Any,
    /// The request's own origin, echoed byte for byte.
    Origin(Cow<'r, HeaderValue>),
}

impl AllowOrigin<'_> {
    /// The header value to send.
    #[must_use]
    pub fn value(&self) -> HeaderValue {
        match self {
            AllowOrigin::Any => ANY,
            AllowOrigin::Origin(origin) => origin.as_ref().clone(),
        }
    }

    /// The same value, owning the origin.
    #[must_use]
    pub fn into_owned(self) -> AllowOrigin<'static> {
        match self {
            AllowOrigin::Any => AllowOrigin::Any,
            AllowOrigin::Origin(origin) => AllowOrigin::Origin(Cow::Owned(origin.into_owned())),
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
        }
    }
}
