//! The compiled policy: the request check and the headers it writes.
//!
//! [`Policy::check`] (or [`Policy::check_request`] for any framework's
//! header map) reads a request's method and headers and returns a
//! [`Decision`] without allocating; [`Policy::preflight_response`],
//! [`Policy::write_preflight_headers`] and [`Policy::apply`] turn a
//! decision into response headers from values rendered once, when the
//! policy was built. Adapters only translate their framework's types and
//! call these; every CORS rule is here.

mod decision;
pub(crate) mod interned;
mod lookup;
pub(crate) mod name_set;
mod write;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::header::{HeaderMap, HeaderValue, VARY};
use http::{Method, StatusCode};

use decision::ANY;
pub use decision::{
    Actual, AllowOrigin, Decision, OriginRefusal, Preflight, PreflightGrant, Refusal,
};
pub use lookup::{OriginLookup, Resolved, Resolving};
pub use write::DEBUG_HEADER;
use write::{ListAnswer, PreflightTemplate, VARY_PREFLIGHT, VARY_PREFLIGHT_ANY_ORIGIN};

use crate::adapter::{RequestHeader, RequestHeaders};
use crate::config::origins_file::FileStamp;
use crate::config::{Allowed, Config};
use crate::error::ConfigError;
use crate::origin::{ExactHit, MalformedOrigin, OriginMatcher, RequestOrigin};
use crate::policy::name_set::{Case, NameSet};
use crate::protocol::{ListLimits, TokenList, is_forbidden_method, is_safelisted_method, is_token};

/// Whether a request is a CORS preflight: `OPTIONS` with both `Origin` and
/// `Access-Control-Request-Method`. Any other request, `OPTIONS` included,
/// is an actual request for the application to serve. [`Policy::check`]
/// decides the same way (a test holds them together); this is for code
/// that only needs to know, such as a request log.
///
/// ```
/// use corsair::policy::is_preflight;
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("origin", HeaderValue::from_static("https://app.example.com"));
/// assert!(!is_preflight("OPTIONS", &headers)); // a plain OPTIONS request
/// headers.insert("access-control-request-method", HeaderValue::from_static("PUT"));
/// assert!(is_preflight("OPTIONS", &headers));
/// assert!(!is_preflight("GET", &headers));
/// ```
#[must_use]
pub fn is_preflight<H: RequestHeaders>(method: &str, headers: &H) -> bool {
    method == "OPTIONS"
        && headers.values_of(RequestHeader::Origin).next().is_some()
        && headers
            .values_of(RequestHeader::RequestMethod)
            .next()
            .is_some()
}

/// A validated, compiled CORS policy. Build one with [`Policy::new`], or let
/// [`Cors`](crate::Cors) hold one and swap it at runtime.
///
/// ```
/// use corsair::Config;
/// use corsair::policy::{Decision, Policy, Preflight};
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
#[derive(Clone)]
pub struct Policy {
    config: Config,
    /// `None` when any origin is allowed. Shared, so that a clone (to turn
    /// debug mode on, say) costs the same for a million origins as for one.
    origins: Option<Arc<OriginMatcher>>,
    /// The origins file as it was read.
    origins_file: Option<FileStamp>,
    credentials: bool,
    /// `None` when any method is allowed.
    methods: Option<NameSet>,
    /// `None` when any header is allowed.
    headers: Option<NameSet>,
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
    /// Debug mode: every decision is logged, and refusals say why.
    debug: bool,
    /// The status of an allowed preflight's answer.
    allowed_status: StatusCode,
    /// Whether allowed actual responses get `Timing-Allow-Origin`.
    timing_allow_origin: bool,
    /// Whether cross-origin protection refuses unsafe requests from other
    /// sites and origins.
    protection: bool,
    /// Whether WebSocket handshakes from origins not allowed are refused.
    websockets: bool,
    /// Whether the policy only reports (`mode = "report-only"`).
    report_only: bool,
    /// The dynamic source of origins, with its answers.
    #[cfg(feature = "origin-source")]
    source: Option<Arc<crate::origin::source::SourceCache>>,
}

impl Policy {
    /// Checks `config` and compiles it.
    ///
    /// # Errors
    /// A [`ConfigError`] listing every problem of the configuration.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        let checked = config.check()?;
        let credentials = config.allow_credentials;

        let origins = checked.origins.map(|mut matcher| {
            matcher.shrink_to_fit();
            Arc::new(matcher)
        });
        let (methods, allow_methods) = match checked.methods {
            Allowed::Any => (
                None,
                if credentials {
                    ListAnswer::Echo
                } else {
                    ListAnswer::Fixed(ANY.clone())
                },
            ),
            Allowed::Listed(names) => {
                let answer = render(&names).map_or(ListAnswer::Omit, ListAnswer::Fixed);
                (
                    Some(NameSet::new(
                        Case::Sensitive,
                        names.iter().map(String::as_str),
                    )),
                    answer,
                )
            }
        };
        let (headers, allow_headers) = match checked.headers {
            // Fetch never lets `*` cover `Authorization`, so name it.
            Allowed::Any if !credentials => (
                None,
                ListAnswer::Fixed(HeaderValue::from_static("*, authorization")),
            ),
            Allowed::Any => (None, ListAnswer::Echo),
            Allowed::Listed(names) => {
                let answer = render(&names).map_or(ListAnswer::Omit, ListAnswer::Fixed);
                let set = NameSet::new(Case::Insensitive, names.iter().map(String::as_str));
                (Some(set), answer)
            }
        };
        let expose_headers = match checked.expose {
            Allowed::Any => Some(ANY.clone()),
            Allowed::Listed(names) => render(&names),
        };
        let max_age = config
            .max_age
            .and_then(|seconds| interned::value(seconds.to_string()));
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
            origins_file: checked.origins_file,
            credentials,
            methods,
            headers,
            echo_method: matches!(allow_methods, ListAnswer::Echo),
            echo_headers: matches!(allow_headers, ListAnswer::Echo),
            expose_headers,
            preflight_allowed,
            preflight_refused,
            debug: false,
            allowed_status: match config.preflight_status {
                Some(200) => StatusCode::OK,
                _ => StatusCode::NO_CONTENT,
            },
            timing_allow_origin: config.timing_allow_origin,
            protection: config.cross_origin_protection,
            websockets: config.websocket_origins == crate::config::WebSocketOrigins::Enforce,
            report_only: config.mode == crate::config::Mode::ReportOnly,
            #[cfg(feature = "origin-source")]
            source: None,
            config,
        })
    }

    /// The status of the answer to `preflight`: `204 No Content` (or `200
    /// OK` when the configuration says `preflight_status = 200`) when it is
    /// allowed, or refused in debug mode with an answer the console explains
    /// ([`Preflight::Explained`]), `403 Forbidden` when it is refused.
    ///
    /// ```
    /// use corsair::Config;
    /// use corsair::policy::{Decision, Policy};
    /// use http::{HeaderMap, HeaderValue, Method, StatusCode};
    ///
    /// let policy = Policy::new(Config {
    ///     allow_origins: vec!["https://app.example.com".into()],
    ///     allow_methods: vec!["PUT".into()],
    ///     preflight_status: Some(200),
    ///     ..Config::default()
    /// })?;
    /// let mut request = HeaderMap::new();
    /// request.insert("origin", HeaderValue::from_static("https://app.example.com"));
    /// request.insert("access-control-request-method", HeaderValue::from_static("PUT"));
    /// let Decision::Preflight(preflight) = policy.check(&Method::OPTIONS, &request) else {
    ///     unreachable!()
    /// };
    /// assert_eq!(policy.preflight_status(&preflight), StatusCode::OK);
    /// # Ok::<(), corsair::ConfigError>(())
    /// ```
    #[must_use]
    pub fn preflight_status<H: RequestHeaders>(&self, preflight: &Preflight<'_, H>) -> StatusCode {
        match preflight {
            Preflight::Allowed(_) | Preflight::Explained(..) => self.allowed_status,
            Preflight::Refused(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The same policy in debug mode or not: see
    /// [`Cors::set_debug`](crate::Cors::set_debug).
    #[must_use]
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// Whether debug mode is on.
    #[must_use]
    pub fn debug(&self) -> bool {
        self.debug
    }

    /// The same policy asking `source` about the origins its lists do not
    /// name, with the settings of the configuration's `[origin_source]`
    /// (the defaults when it has none): see [`crate::origin::source`].
    /// [`CorsBuilder::origin_source`](crate::CorsBuilder::origin_source)
    /// calls it; [`Cors::reconfigure`](crate::Cors::reconfigure) keeps the
    /// source, and what it answered when the settings stay the same.
    #[cfg(feature = "origin-source")]
    #[must_use]
    pub fn with_origin_source(
        mut self,
        source: Arc<dyn crate::origin::source::OriginSource>,
    ) -> Self {
        let settings = self.config.origin_source.clone().unwrap_or_default();
        self.source = Some(Arc::new(crate::origin::source::SourceCache::new(
            source, settings,
        )));
        self
    }

    /// This policy, compiled anew, with what `previous` had that no
    /// configuration holds: debug mode, and the origin source attached in
    /// code (with its answers, when the settings are the same).
    #[must_use]
    pub(crate) fn carry_over(self, previous: &Policy) -> Self {
        #[cfg_attr(not(feature = "origin-source"), allow(unused_mut))]
        let mut policy = self.with_debug(previous.debug);
        #[cfg(feature = "origin-source")]
        if let Some(cache) = &previous.source {
            let settings = policy.config.origin_source.clone().unwrap_or_default();
            policy.source = Some(cache.with_settings(&settings));
        }
        policy
    }

    /// What the origin source has answered so far, `None` without one.
    #[cfg(feature = "origin-source")]
    #[must_use]
    pub fn origin_source_stats(&self) -> Option<crate::origin::source::SourceStats> {
        self.source.as_ref().map(|cache| cache.stats())
    }

    /// Whether cross-origin protection is on (`cross_origin_protection =
    /// true`): then [`Policy::check`] may decide
    /// [`Decision::Forbidden`], and reads `Sec-Fetch-Site` and `Host` (see
    /// [`complete_host`](crate::adapter::complete_host)).
    #[must_use]
    pub fn cross_origin_protection(&self) -> bool {
        self.protection
    }

    /// Whether the policy only reports (`mode = "report-only"`): the
    /// adapters then pass every request and its response through
    /// unchanged, and log where the application's answer differs from the
    /// policy's (`corsair::browser::report`, feature `browser`).
    #[must_use]
    #[inline]
    pub fn report_only(&self) -> bool {
        self.report_only
    }

    /// Whether [`Policy::check`] may read `Host` for a request, `connect`
    /// saying whether its method is `CONNECT`: an adapter whose requests
    /// can lack `Host` (HTTP/2 keeps the host in `:authority`) completes it
    /// first ([`complete_host`](crate::adapter::complete_host)). True with
    /// cross-origin protection, and for an HTTP/2 `CONNECT` (a WebSocket
    /// handshake) when `websocket_origins = "enforce"`. (A flag rather than
    /// the method, so that each adapter compares its own method type, which
    /// costs less than comparing text on every request.)
    #[must_use]
    #[inline]
    pub fn reads_host(&self, connect: bool) -> bool {
        self.protection || (self.websockets && connect)
    }

    /// The configuration this policy was compiled from.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `allow_origins_file` changed on disk since this policy read
    /// it (its length, modification time or inode differ), so that
    /// compiling [`Policy::config`] again would read other origins. `false`
    /// without an origins file, and while the file is missing (an editor
    /// or a deployment replacing it).
    ///
    /// [`Cors::reload_origins_file`](crate::Cors::reload_origins_file) and
    /// the `corsair` proxy's watch ask this before reading the file again.
    #[must_use]
    pub fn origins_file_changed(&self) -> bool {
        let (Some(path), Some(read)) = (&self.config.allow_origins_file, &self.origins_file) else {
            return false;
        };
        FileStamp::now(path).is_some_and(|now| now != *read)
    }

    /// Decides what a request is and whether it is allowed. Pure: no I/O, and
    /// no heap allocation outside debug mode. Refusals are logged as
    /// `tracing` events at debug level (target `corsair`) with the reason;
    /// in [debug mode](crate::Cors::set_debug), every decision is, with
    /// what the request asked for.
    ///
    /// A request is a preflight when it is `OPTIONS` with both `Origin` and
    /// `Access-Control-Request-Method`; any other request, `OPTIONS`
    /// included, is an actual request, which the application must serve.
    pub fn check<'r>(&self, method: &Method, headers: &'r HeaderMap) -> Decision<'r> {
        self.check_request(method.as_str(), headers)
    }

    /// [`Policy::check`] for any framework's request header map: `method` is
    /// the request's method as sent, `headers` its headers.
    pub fn check_request<'r, H: RequestHeaders>(
        &self,
        method: &str,
        headers: &'r H,
    ) -> Decision<'r, H> {
        // A policy with a source runs a copy of the decision that asks it;
        // one without runs the very code it ran before sources existed.
        #[cfg(feature = "origin-source")]
        if self.source.is_some() {
            return self.decide_asking(method, headers, None);
        }
        self.decide::<false, H>(method, headers, None)
    }

    /// [`Policy::check_request`] once the origin source answered: after
    /// [`Decision::Lookup`], with what its
    /// [`resolve`](OriginLookup::resolve) gave. The answer stands for the
    /// request's origin (a lookup for another origin is ignored), so this
    /// never decides [`Decision::Lookup`] again for it.
    pub fn check_request_resolved<'r, H: RequestHeaders>(
        &self,
        method: &str,
        headers: &'r H,
        resolved: &Resolved,
    ) -> Decision<'r, H> {
        self.decide::<true, H>(method, headers, Some(resolved))
    }

    /// The verdict on an actual request whose application ran while the
    /// origin source was asked ([`OriginLookup::before_application`] was
    /// `false`): allowed or refused as `resolved` says, `origin` being the
    /// request's `Origin` value (from [`OriginLookup::origin`]).
    #[must_use]
    pub fn resolved_actual<V: Clone>(&self, resolved: &Resolved, origin: V) -> Actual<'static, V> {
        let actual = if resolved.is_allowed() {
            Actual::Allowed(AllowOrigin::Origin(Cow::Owned(origin)))
        } else {
            Actual::Refused(OriginRefusal::NotAllowed)
        };
        if let Actual::Refused(refusal) = &actual {
            log_refusal("", resolved.origin(), false, &Refusal::Origin(*refusal));
        }
        actual
    }

    /// [`Policy::decide`] for a policy with an origin source: a copy of its
    /// own, so that the copy without one is the code of a policy that never
    /// had a source.
    #[cfg(feature = "origin-source")]
    #[inline(never)]
    fn decide_asking<'r, H: RequestHeaders>(
        &self,
        method: &str,
        headers: &'r H,
        resolved: Option<&Resolved>,
    ) -> Decision<'r, H> {
        self.decide::<true, H>(method, headers, resolved)
    }

    /// The decision on a request; the origin source (if any) is asked
    /// about origins the lists refuse only when `ASK` is true.
    #[inline]
    fn decide<'r, const ASK: bool, H: RequestHeaders>(
        &self,
        method: &str,
        headers: &'r H,
        resolved: Option<&Resolved>,
    ) -> Decision<'r, H> {
        let mut origins = headers.values_of(RequestHeader::Origin);
        let Some(origin) = origins.next() else {
            let decision = match self.origins {
                None => Decision::Actual(Actual::Allowed(AllowOrigin::Any)),
                Some(_) if self.protection => match protect(method, None, headers) {
                    Some(refusal) => Decision::Forbidden(refusal),
                    None => Decision::Actual(Actual::NoOrigin),
                },
                Some(_) => Decision::Actual(Actual::NoOrigin),
            };
            if self.debug {
                log_decision(method, None, headers, &decision);
            } else if let Decision::Forbidden(refusal) = &decision {
                log_refusal(method, b"", false, refusal);
            }
            return decision;
        };
        #[cfg_attr(not(feature = "origin-source"), allow(unused_mut))]
        let mut judged = self.judge_origin::<H>(origin, origins.next().is_some());

        let preflight = if method == "OPTIONS" {
            let mut requested = headers.values_of(RequestHeader::RequestMethod);
            requested
                .next()
                .map(|requested_method| (requested_method, requested.next().is_some()))
        } else {
            None
        };
        #[cfg(feature = "origin-source")]
        if ASK && let (Err(OriginRefusal::NotAllowed), Some(source)) = (&judged, &self.source) {
            match self.consult_source(
                source,
                method,
                headers,
                origin,
                preflight.is_some(),
                resolved,
            ) {
                Consulted::Judged(verdict) => judged = verdict,
                Consulted::Lookup(lookup) => return lookup,
            }
        }
        #[cfg(not(feature = "origin-source"))]
        let _ = resolved;
        let decision = match (preflight, judged) {
            (Some((requested_method, repeated)), Ok(allowed)) => Decision::Preflight(
                self.check_preflight(allowed, requested_method, repeated, headers),
            ),
            (Some(_), Err(refusal)) => {
                Decision::Preflight(Preflight::Refused(Refusal::Origin(refusal)))
            }
            (None, Ok(allowed)) => Decision::Actual(Actual::Allowed(allowed)),
            (None, Err(refusal))
                if self.websockets
                    && is_websocket_handshake(method, headers)
                    && !same_origin(H::bytes(origin), headers) =>
            {
                Decision::Forbidden(Refusal::WebSocketOrigin(refusal))
            }
            (None, Err(refusal)) => match self.protection {
                true => match protect(method, Some(H::bytes(origin)), headers) {
                    Some(forbidden) => Decision::Forbidden(forbidden),
                    None => Decision::Actual(Actual::Refused(refusal)),
                },
                false => Decision::Actual(Actual::Refused(refusal)),
            },
        };
        if self.debug {
            log_decision(method, Some(H::bytes(origin)), headers, &decision);
        } else if let Some(refusal) = decision.refusal() {
            let preflight = matches!(decision, Decision::Preflight(_));
            log_refusal(method, H::bytes(origin), preflight, &refusal);
        }
        decision
    }

    /// The verdict on an origin the lists refused, from the origin source:
    /// known now (the answer kept, for most requests), or a
    /// [`Decision::Lookup`] to await.
    #[cfg(feature = "origin-source")]
    fn consult_source<'r, H: RequestHeaders>(
        &self,
        source: &Arc<crate::origin::source::SourceCache>,
        method: &str,
        headers: &'r H,
        origin: &'r H::Value,
        preflight: bool,
        resolved: Option<&Resolved>,
    ) -> Consulted<'r, H> {
        let pending = match self.ask_source(source, H::bytes(origin), resolved) {
            Asked::Allowed => {
                return Consulted::Judged(Ok(AllowOrigin::Origin(Cow::Borrowed(origin))));
            }
            Asked::Refused => return Consulted::Judged(Err(OriginRefusal::NotAllowed)),
            Asked::Unknown(pending) => pending,
        };
        let before_application = preflight
            || (self.protection && protect(method, Some(H::bytes(origin)), headers).is_some())
            || (self.websockets && is_websocket_handshake(method, headers));
        let decision = Decision::Lookup(OriginLookup {
            origin,
            bytes: H::bytes(origin),
            before_application,
            cache: Arc::clone(source),
            pending: pending.map(|pending| Arc::new(std::sync::Mutex::new(Some(pending)))),
        });
        if self.debug {
            log_decision(method, Some(H::bytes(origin)), headers, &decision);
        }
        Consulted::Lookup(decision)
    }

    /// What the origin source says of `origin`, which the lists refused:
    /// the answer of this request's lookup, the policy's own rules, the
    /// answer kept, or the source's (at once, or to come).
    #[cfg(feature = "origin-source")]
    fn ask_source(
        &self,
        source: &crate::origin::source::SourceCache,
        origin: &[u8],
        resolved: Option<&Resolved>,
    ) -> Asked {
        use crate::origin::source::{Known, Lookup};
        if let Some(resolved) = resolved
            && resolved.origin() == origin
        {
            return Asked::from(resolved.is_allowed());
        }
        // The configuration's rules hold for what the source allows: with
        // credentials, no origin a network attacker can impersonate.
        let Ok(RequestOrigin::Tuple(tuple)) = RequestOrigin::parse(origin) else {
            return Asked::Refused;
        };
        if self.credentials && !self.config.dangerously_allow_insecure_origins && !tuple.is_secure()
        {
            return Asked::Refused;
        }
        match source.known(origin) {
            Known::Answer(allowed) => Asked::from(allowed),
            Known::Running => Asked::Unknown(None),
            Known::Nothing => match source.source().lookup(tuple.as_str()) {
                Lookup::Ready(allowed) => Asked::from(allowed),
                Lookup::Pending(pending) => Asked::Unknown(Some(pending)),
            },
        }
    }

    // Inlined: one caller per instantiation, and as a call it costs a
    // dozen instructions of saved registers on every request with an
    // `Origin`.
    #[inline(always)]
    fn judge_origin<'r, H: RequestHeaders>(
        &self,
        value: &'r H::Value,
        repeated: bool,
    ) -> Result<AllowOrigin<'r, H::Value>, OriginRefusal> {
        let Some(matcher) = &self.origins else {
            // The answer is the same for every origin, so none is examined.
            return Ok(AllowOrigin::Any);
        };
        if repeated {
            return Err(OriginRefusal::Malformed(MalformedOrigin::Repeated));
        }
        let bytes = H::bytes(value);
        match matcher.find_exact(bytes) {
            ExactHit::Listed(listed) => return Ok(AllowOrigin::Listed(listed.clone())),
            ExactHit::Hit => return Ok(AllowOrigin::Origin(Cow::Borrowed(value))),
            ExactHit::Miss => {}
        }
        match RequestOrigin::parse(bytes) {
            Err(malformed) => Err(OriginRefusal::Malformed(malformed)),
            Ok(RequestOrigin::Null) => Err(OriginRefusal::Null),
            Ok(RequestOrigin::Tuple(tuple)) if matcher.matches_pattern(&tuple) => {
                Ok(AllowOrigin::Origin(Cow::Borrowed(value)))
            }
            Ok(RequestOrigin::Tuple(_)) => Err(OriginRefusal::NotAllowed),
        }
    }

    fn check_preflight<'r, H: RequestHeaders>(
        &self,
        origin: AllowOrigin<'r, H::Value>,
        requested_method: &'r H::Value,
        repeated: bool,
        headers: &'r H,
    ) -> Preflight<'r, H> {
        let refusal = match self.check_requested_method(H::bytes(requested_method), repeated) {
            Ok(()) => self.check_requested_headers(headers).err(),
            Err(refusal) => Some(refusal),
        };
        let grant = PreflightGrant {
            origin,
            method: requested_method,
            request: headers,
        };
        match refusal {
            None => Preflight::Allowed(grant),
            // In debug mode, an answer whose lists lack the method or the
            // header at fault makes the browser's console name it.
            Some(refusal @ (Refusal::MethodNotAllowed(_) | Refusal::HeaderNotAllowed(_)))
                if self.debug =>
            {
                Preflight::Explained(grant, refusal)
            }
            Some(refusal) => Preflight::Refused(refusal),
        }
    }

    fn check_requested_method<'r>(
        &self,
        value: &'r [u8],
        repeated: bool,
    ) -> Result<(), Refusal<'r>> {
        if repeated {
            return Err(Refusal::MalformedMethod);
        }
        // The usual case first: a listed method, compared byte for byte
        // (browsers send the normalised method). Listed methods are tokens
        // and never forbidden, so a hit needs no other check.
        if let Some(methods) = &self.methods
            && methods.contains(value)
        {
            return Ok(());
        }
        let Some(name) = std::str::from_utf8(value)
            .ok()
            .filter(|name| is_token(name.as_bytes()))
        else {
            return Err(Refusal::MalformedMethod);
        };
        let allowed =
            is_safelisted_method(name) || (self.methods.is_none() && !is_forbidden_method(name));
        if allowed {
            Ok(())
        } else {
            Err(Refusal::MethodNotAllowed(name))
        }
    }

    fn check_requested_headers<'r, H: RequestHeaders>(
        &self,
        headers: &'r H,
    ) -> Result<(), Refusal<'r>> {
        let mut lines = headers.values_of(RequestHeader::RequestHeaders);
        let Some(first) = lines.next() else {
            return Ok(());
        };
        let second = lines.next();
        // The usual preflight names one header on one line (a JSON body's
        // `content-type`, or `authorization`). An allowed name is a token,
        // so a line equal to one is a list of that one name: within the
        // limits when it is no longer than the list may be, the set settles
        // it without parsing the list.
        let limits = ListLimits::REQUEST_HEADERS;
        if second.is_none()
            && let Some(allowed) = &self.headers
            && H::bytes(first).len() <= limits.max_bytes
            && allowed.contains(H::bytes(first))
        {
            return Ok(());
        }
        let mut list = TokenList::new(limits);
        self.check_header_line::<H>(&mut list, first)?;
        // The lines after the second only when there was a second (an
        // iterator that ended is not asked again).
        if let Some(second) = second {
            self.check_header_line::<H>(&mut list, second)?;
            for line in lines {
                self.check_header_line::<H>(&mut list, line)?;
            }
        }
        Ok(())
    }

    /// One line of `Access-Control-Request-Headers`, parsed into `list`:
    /// every name must be allowed.
    fn check_header_line<'r, H: RequestHeaders>(
        &self,
        list: &mut TokenList,
        line: &'r H::Value,
    ) -> Result<(), Refusal<'r>> {
        let mut elements = list.line(H::bytes(line)).map_err(Refusal::RequestHeaders)?;
        while let Some(element) = elements.next_bytes() {
            let name = element.map_err(Refusal::RequestHeaders)?;
            if let Some(allowed) = &self.headers
                && !allowed.contains(name)
            {
                // A token is ASCII: the conversion cannot fail.
                let name = std::str::from_utf8(name).unwrap_or_default();
                return Err(Refusal::HeaderNotAllowed(name));
            }
        }
        Ok(())
    }
}

/// What [`Policy::consult_source`] found: a verdict, or a lookup to await.
#[cfg(feature = "origin-source")]
enum Consulted<'r, H: RequestHeaders> {
    Judged(Result<AllowOrigin<'r, H::Value>, OriginRefusal>),
    Lookup(Decision<'r, H>),
}

/// What the origin source says of an origin.
#[cfg(feature = "origin-source")]
enum Asked {
    Allowed,
    Refused,
    /// Not known yet: the source's future when this request asked it.
    Unknown(Option<crate::origin::source::BoxLookup>),
}

#[cfg(feature = "origin-source")]
impl From<bool> for Asked {
    fn from(allowed: bool) -> Self {
        if allowed {
            Asked::Allowed
        } else {
            Asked::Refused
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

/// Cross-origin protection's verdict on an actual request whose origin the
/// policy does not allow (or that has none): `None` lets it through,
/// `Some` refuses it.
///
/// Safe methods (`GET`, `HEAD`, `OPTIONS`) pass. A browser that sends
/// `Sec-Fetch-Site` is believed: `same-origin` and `none` (the user's own
/// navigation) pass, anything else is refused. Without it (a browser older
/// than 2023, or not a browser), an `Origin` whose host and port are the
/// request's `Host` passes, any other `Origin` is refused, and a request
/// with neither header (curl, a server) passes: cross-site requests come
/// from browsers, which send one or the other. The scheme is not compared,
/// since a server behind a proxy cannot know its own.
fn protect<'r, H: RequestHeaders>(
    method: &str,
    origin: Option<&[u8]>,
    headers: &'r H,
) -> Option<Refusal<'r>> {
    if matches!(method, "GET" | "HEAD" | "OPTIONS") {
        return None;
    }
    let mut sites = headers.values_of(RequestHeader::SecFetchSite);
    if let Some(site) = sites.next() {
        let site = H::bytes(site);
        if sites.next().is_none() && matches!(site, b"same-origin" | b"none") {
            return None;
        }
        return Some(Refusal::CrossOriginRequest {
            fetch_site: Some(std::str::from_utf8(site).unwrap_or("(not text)")),
        });
    }
    let origin = origin?;
    (!own_origin(origin, headers)).then_some(Refusal::CrossOriginRequest { fetch_site: None })
}

/// Whether a request comes from a page of the request's own origin: the
/// browser says so (one `Sec-Fetch-Site: same-origin`, which holds behind
/// a proxy that rewrites `Host`), or its `Origin` is the request's own
/// ([`own_origin`]).
pub(crate) fn same_origin<H: RequestHeaders>(origin: &[u8], headers: &H) -> bool {
    let mut sites = headers.values_of(RequestHeader::SecFetchSite);
    if let (Some(site), None) = (sites.next(), sites.next())
        && H::bytes(site) == b"same-origin"
    {
        return true;
    }
    own_origin(origin, headers)
}

/// Whether `origin` is the request's own: its host and port are the
/// request's one `Host` (as a page served by the application itself
/// sends it).
fn own_origin<H: RequestHeaders>(origin: &[u8], headers: &H) -> bool {
    let mut hosts = headers.values_of(RequestHeader::Host);
    match (hosts.next(), hosts.next()) {
        (Some(host), None) => origin
            .windows(3)
            .position(|window| window == b"://")
            .and_then(|at| origin.get(at + 3..))
            .is_some_and(|authority| authority.eq_ignore_ascii_case(H::bytes(host))),
        _ => false,
    }
}

/// Whether a request opens a WebSocket: a `GET` whose `Upgrade` names
/// `websocket` (in any case, among other protocols), or an HTTP/2
/// `CONNECT` (RFC 8441's extended `CONNECT`, which a page cannot send
/// otherwise: Fetch forbids the method).
pub(crate) fn is_websocket_handshake<H: RequestHeaders>(method: &str, headers: &H) -> bool {
    match method {
        "CONNECT" => true,
        "GET" => headers.values_of(RequestHeader::Upgrade).any(|value| {
            H::bytes(value).split(|&byte| byte == b',').any(|protocol| {
                protocol
                    .trim_ascii()
                    .split(|&byte| byte == b'/')
                    .next()
                    .is_some_and(|name| name.eq_ignore_ascii_case(b"websocket"))
            })
        }),
        _ => false,
    }
}

/// Joins names with `", "` into a header value, or `None` for no names.
fn render(names: &[String]) -> Option<HeaderValue> {
    if names.is_empty() {
        return None;
    }
    // Validated tokens joined by ", " are always a valid header value.
    interned::value(names.join(", "))
}

/// Debug mode: every decision, with what the request asked for.
fn log_decision<H: RequestHeaders>(
    method: &str,
    origin: Option<&[u8]>,
    headers: &H,
    decision: &Decision<'_, H>,
) {
    let outcome = match decision {
        Decision::Preflight(Preflight::Allowed(_)) => "preflight allowed".to_owned(),
        Decision::Actual(Actual::Allowed(_)) => "actual request allowed".to_owned(),
        Decision::Actual(Actual::NoOrigin) => "no Origin: not a CORS request".to_owned(),
        // The event is the same whether or not debug mode answers it for
        // the console.
        Decision::Preflight(Preflight::Refused(refusal) | Preflight::Explained(_, refusal)) => {
            format!("preflight refused: {refusal}")
        }
        Decision::Actual(Actual::Refused(refusal)) => format!("actual request refused: {refusal}"),
        Decision::Forbidden(refusal) => format!("request forbidden: {refusal}"),
        Decision::Lookup(_) => "origin not in the lists: asking the origin source".to_owned(),
    };
    let requested = |header| {
        headers
            .values_of(header)
            .map(|value| String::from_utf8_lossy(H::bytes(value)).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    tracing::debug!(
        target: "corsair",
        method,
        origin = %origin.unwrap_or_default().escape_ascii(),
        requested_method = %requested(RequestHeader::RequestMethod),
        requested_headers = %requested(RequestHeader::RequestHeaders),
        outcome = %outcome,
        "CORS decision",
    );
}

fn log_refusal(method: &str, origin: &[u8], preflight: bool, refusal: &Refusal<'_>) {
    tracing::debug!(
        target: "corsair",
        preflight,
        method,
        origin = %origin.escape_ascii(),
        reason = %refusal,
        "CORS request refused",
    );
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    /// A requested header list of one allowed name is decided without
    /// parsing it, and to the same verdict as the parser: an allowed name
    /// on one line passes in any case; with spaces, on two lines, or longer
    /// than a list may be (4,096 bytes), it goes through the parser, which
    /// refuses what it always refused.
    #[test]
    fn one_allowed_name_on_one_line_gets_the_parsers_verdict() {
        let long = format!("x-{}", "a".repeat(4100));
        let policy = Policy::new(Config {
            allow_origins: vec!["https://app.example.com".into()],
            allow_methods: vec!["PUT".into()],
            allow_headers: vec!["content-type".into(), long.clone()],
            ..Config::default()
        })
        .unwrap();
        let preflight = |lines: &[&str]| {
            let mut headers = HeaderMap::new();
            headers.insert(
                "origin",
                HeaderValue::from_static("https://app.example.com"),
            );
            headers.insert(
                "access-control-request-method",
                HeaderValue::from_static("PUT"),
            );
            for line in lines {
                headers.append(
                    "access-control-request-headers",
                    HeaderValue::from_str(line).unwrap(),
                );
            }
            match policy.check(&Method::OPTIONS, &headers) {
                Decision::Preflight(Preflight::Allowed(_)) => Ok(()),
                Decision::Preflight(Preflight::Refused(refusal)) => Err(refusal.to_string()),
                other => panic!("not a preflight verdict: {other:?}"),
            }
        };
        assert_eq!(preflight(&["content-type"]), Ok(()));
        assert_eq!(preflight(&["Content-Type"]), Ok(()));
        assert_eq!(preflight(&[" content-type "]), Ok(()));
        assert_eq!(preflight(&["content-type", "content-type"]), Ok(()));
        assert!(preflight(&["content-typ"]).is_err());
        assert!(preflight(&["x-api-key"]).is_err());
        // An allowed name longer than a requested list may be: refused as
        // too long, whichever path would read it.
        let too_long = preflight(&[long.as_str()]).unwrap_err();
        assert!(too_long.contains("4096"), "{too_long}");
    }

    /// `is_preflight` and `Policy::check` never disagree on what a
    /// preflight is, for allowed, refused and malformed origins alike.
    #[test]
    fn is_preflight_agrees_with_the_check() {
        let policies = [
            Config {
                allow_origins: vec!["*".into()],
                ..Config::default()
            },
            Config {
                allow_origins: vec!["https://app.example.com".into()],
                allow_credentials: true,
                ..Config::default()
            },
        ]
        .map(|config| Policy::new(config).unwrap());
        let origins = [
            None,
            Some("https://app.example.com"),
            Some("https://evil.example"),
            Some("not an origin"),
        ];
        let requested = [None, Some("PUT"), Some("")];
        let mut preflights = 0;
        for policy in &policies {
            for method in [Method::OPTIONS, Method::GET, Method::POST] {
                for origin in origins {
                    for requested_method in requested {
                        let mut headers = HeaderMap::new();
                        if let Some(origin) = origin {
                            headers.insert("origin", HeaderValue::from_static(origin));
                        }
                        if let Some(value) = requested_method {
                            headers.insert(
                                "access-control-request-method",
                                HeaderValue::from_static(value),
                            );
                        }
                        let decided =
                            matches!(policy.check(&method, &headers), Decision::Preflight(_));
                        assert_eq!(
                            is_preflight(method.as_str(), &headers),
                            decided,
                            "{method} {origin:?} {requested_method:?}"
                        );
                        preflights += usize::from(decided);
                    }
                }
            }
        }
        // OPTIONS with each of the three origins and each of the two
        // requested methods, for each policy.
        assert_eq!(preflights, 2 * 3 * 2);
    }
}
