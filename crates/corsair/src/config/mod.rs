//! `Config`: the declarative policy, its validation, and where it is read
//! from (files in TOML, JSON or YAML, and environment variables).

mod diagnostic;
mod document;
#[cfg(feature = "serde")]
pub mod duration;
mod load;
pub mod origins_file;

pub use diagnostic::{Diagnostic, Location, Severity};
#[cfg(feature = "serde")]
pub use document::Partial;
pub use document::{Document, MAX_DOCUMENT_BYTES};
pub use load::{Format, LoadError};
pub use origins_file::{MAX_ORIGINS_FILE_BYTES, MAX_REPORTED_LINES};

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{ConfigError, ConfigProblem};
use crate::origin::{OriginMatcher, OriginPattern};
use crate::protocol::{
    is_forbidden_method, is_forbidden_request_header, is_forbidden_response_header, is_token,
    normalize_method,
};
use origins_file::FileStamp;

/// The longest `max_age` accepted, in seconds: a day, Firefox's cap. Chromium
/// caps at [`protocol::CHROMIUM_MAX_AGE`](crate::protocol::CHROMIUM_MAX_AGE) and WebKit at
/// [`protocol::WEBKIT_MAX_AGE`](crate::protocol::WEBKIT_MAX_AGE); a longer value has no effect anywhere.
pub const MAX_AGE_LIMIT: u64 = crate::protocol::FIREFOX_MAX_AGE.as_secs();

/// A CORS policy as written by a person: plain data, checked and compiled by
/// [`Cors::new`](crate::Cors::new).
///
/// Field names mirror the response headers they produce. With the `serde`
/// feature, `Config` reads from and writes to any serde format; unknown
/// fields are an error, so a misspelt `allow_credential` cannot silently
/// leave credentials off.
///
/// | field | meaning | default |
/// |---|---|---|
/// | `allow_origins` | exact origins, `https://*.example.com`, `http://localhost:*`, or `*` (see [`OriginPattern`]) | none: required (unless `allow_origins_file` is set) |
/// | `allow_origins_file` | a file of more allowed origins, one per line (see [`origins_file`]) | none |
/// | `allow_credentials` | cookies and HTTP authentication may be sent; the exact origin is echoed | `false` |
/// | `allow_methods` | methods allowed beyond `GET`, `HEAD` and `POST` (always allowed), or `*` | none |
/// | `allow_headers` | request headers scripts may send (case-insensitive), or `*` | none |
/// | `expose_headers` | response headers scripts may read, or `*` (not with credentials) | none |
/// | `max_age` | seconds a browser may cache a preflight answer, at most 86400 | unset (browsers use 5 s) |
/// | `dangerously_allow_insecure_origins` | allow `http://` non-loopback origins with credentials | `false` |
/// | `dangerously_allow_public_suffix_wildcards` | allow `https://*.com`-like patterns with credentials | `false` |
/// | `preflight_status` | the status of an allowed preflight: `204` or `200` | `204` |
/// | `timing_allow_origin` | send `Timing-Allow-Origin: <origin>` to allowed origins | `false` |
/// | `cross_origin_protection` | refuse cross-site unsafe-method requests from origins not allowed (CSRF) | `false` |
/// | `mode` | `"enforce"`: the policy answers; `"report-only"`: the application's own CORS answers pass untouched, and where they differ from the policy's is logged (see [`Mode`]; feature `browser`) | `"enforce"` |
/// | `websocket_origins` | `"enforce"`: refuse WebSocket handshakes from origins neither allowed nor the request's own; `"pass"`: let them through (see [`WebSocketOrigins`]) | `"enforce"` |
/// | `origin_source` | how the origins the lists do not name are asked of a dynamic source (see [`OriginSourceConfig`]) | none |
///
/// Methods are compared case-sensitively after Fetch's normalisation:
/// `delete` is read as `DELETE` (browsers send nothing else), but `patch` is
/// not `PATCH`: write the method exactly as your scripts send it.
///
/// ```
/// use corsair::{Config, Cors};
///
/// let cors = Cors::new(Config {
///     allow_origins: vec!["https://app.example.com".into()],
///     allow_credentials: true,
///     allow_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"].map(String::from).to_vec(),
///     allow_headers: vec!["accept".into(), "content-type".into()],
///     max_age: Some(600),
///     ..Config::default()
/// })?;
/// # Ok::<(), corsair::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct Config {
    /// Origins allowed to read responses: see [`OriginPattern`].
    pub allow_origins: Vec<String>,
    /// A file of more allowed origins, one per line (see
    /// [`origins_file`]), read when the policy is compiled. Relative to
    /// the working directory here; in a configuration file, relative to
    /// that file's directory.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub allow_origins_file: Option<PathBuf>,
    /// Whether requests may carry cookies and HTTP authentication.
    pub allow_credentials: bool,
    /// Methods allowed in preflights beyond `GET`, `HEAD` and `POST`, or `*`.
    pub allow_methods: Vec<String>,
    /// Request header names allowed in preflights, or `*`.
    pub allow_headers: Vec<String>,
    /// Response header names scripts may read, or `*`.
    pub expose_headers: Vec<String>,
    /// Seconds a browser may cache a successful preflight (at most 86400).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub max_age: Option<u64>,
    /// Allow `http://` origins other than loopback together with credentials.
    /// Anyone on the network path can then act as your users.
    pub dangerously_allow_insecure_origins: bool,
    /// Allow wildcards directly under a public suffix (`https://*.github.io`)
    /// together with credentials. Anyone who can register a site there can
    /// then act as your users.
    pub dangerously_allow_public_suffix_wildcards: bool,
    /// The status of an allowed preflight's answer: `204` (when unset) or
    /// `200`, for old clients that take a `204` for a failure.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub preflight_status: Option<u16>,
    /// Refuse, with `403` and before the application runs, the unsafe-method
    /// requests (not `GET`, `HEAD` or `OPTIONS`) that a browser sends from
    /// another site or origin the policy does not allow: the cross-site
    /// form `POST` that CORS alone lets through (CSRF). Requests without
    /// `Sec-Fetch-Site` and `Origin` (non-browser clients) pass.
    pub cross_origin_protection: bool,
    /// Whether the policy answers (the default), or only reports where the
    /// application's own CORS answers differ from its own: see [`Mode`].
    pub mode: Mode,
    /// What happens to a WebSocket handshake (or any HTTP/2 `CONNECT`)
    /// from an origin the policy does not allow: refused with `403` before
    /// the application runs (the default), or passed. Browsers apply no
    /// CORS to WebSockets: without this, any page can open one to the API
    /// with the user's cookies.
    pub websocket_origins: WebSocketOrigins,
    /// Send `Timing-Allow-Origin` with the allowed origin on actual
    /// responses, so that the page's Resource Timing sees this API's
    /// timings (without it, a cross-origin entry has zeros).
    pub timing_allow_origin: bool,
    /// How origins that `allow_origins` and `allow_origins_file` do not
    /// name are asked of a dynamic source (a database of tenants), and how
    /// long its answers are kept. Setting it says that the policy has a
    /// source, so `allow_origins` may then be empty.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub origin_source: Option<OriginSourceConfig>,
}

/// Whether a policy answers requests, or only reports: `mode = "enforce"`
/// (the default) or `"report-only"`.
///
/// In report-only mode the adapters (and the proxy) change nothing: every
/// request reaches the application, preflights and requests the policy
/// would refuse included, and its response keeps its own CORS headers. For
/// each request they compute the policy's answer and compare what a browser
/// would do with each (`corsair::browser::report`): every difference is
/// logged (`warn`, target `corsair::report`) with the request and both
/// answers. This is how to put
/// corsair in front of an application that answers CORS itself: read the
/// differences, fix the policy until the only ones left are the
/// application's mistakes, then enforce.
///
/// Report-only mode needs the `browser` feature, which models what a
/// browser does with an answer; without it, `Policy::new` refuses it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum Mode {
    /// The policy answers preflights and sets the CORS headers.
    #[default]
    Enforce,
    /// The application answers; the policy's differences are reported.
    ReportOnly,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 2] = [Mode::Enforce, Mode::ReportOnly];

    /// How it is written in files and in `CORS_MODE`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::ReportOnly => "report-only",
        }
    }
}

/// What a policy does with a WebSocket handshake from an origin it does not
/// allow: `websocket_origins = "enforce"` (the default) or `"pass"`.
///
/// Browsers send `Origin` with a WebSocket handshake, but apply no CORS to
/// it: a page on any site can open a WebSocket to an API, with the user's
/// cookies, and read what comes back (cross-site WebSocket hijacking). The
/// only defence is the server checking `Origin`, which `Enforce` does with
/// the policy's own origins. A handshake is a `GET` whose `Upgrade` names
/// `websocket`, or an HTTP/2 `CONNECT` (RFC 8441; a page cannot send one
/// otherwise). It passes when its origin is allowed, when it is the
/// request's own (its host and port are the request's `Host`, as for a page
/// served by the application itself), and when it has no `Origin` (a
/// client that is not a browser).
///
/// ```
/// use corsair::config::WebSocketOrigins;
/// use corsair::policy::{Decision, Policy};
/// use corsair::Config;
/// use http::{HeaderMap, HeaderValue, Method};
///
/// let policy = Policy::new(Config {
///     allow_origins: vec!["https://app.example.com".into()],
///     ..Config::default()
/// })?;
/// assert_eq!(policy.config().websocket_origins, WebSocketOrigins::Enforce);
/// let handshake = |origin: &'static str| {
///     let mut headers = HeaderMap::new();
///     headers.insert("host", HeaderValue::from_static("api.example.com"));
///     headers.insert("upgrade", HeaderValue::from_static("websocket"));
///     headers.insert("origin", HeaderValue::from_static(origin));
///     headers
/// };
/// let evil = handshake("https://evil.example");
/// assert!(matches!(policy.check(&Method::GET, &evil), Decision::Forbidden(_)));
/// let app = handshake("https://app.example.com");
/// assert!(matches!(policy.check(&Method::GET, &app), Decision::Actual(_)));
/// # Ok::<(), corsair::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum WebSocketOrigins {
    /// Refuse, with `403`, a handshake from an origin that is neither
    /// allowed nor the request's own.
    #[default]
    Enforce,
    /// Let every handshake through to the application, which then checks
    /// `Origin` itself.
    Pass,
}

impl WebSocketOrigins {
    /// Every choice.
    pub const ALL: [WebSocketOrigins; 2] = [WebSocketOrigins::Enforce, WebSocketOrigins::Pass];

    /// How it is written in files and in `CORS_WEBSOCKET_ORIGINS`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            WebSocketOrigins::Enforce => "enforce",
            WebSocketOrigins::Pass => "pass",
        }
    }
}

/// How a policy asks a dynamic source about origins its lists do not name,
/// and keeps the answers: the `[origin_source]` table.
///
/// The source itself is code, attached with
/// [`CorsBuilder::origin_source`](crate::CorsBuilder::origin_source) (feature
/// `origin-source`); the `corsair` proxy builds one from `url`. Every answer
/// is kept (allowed ones for `ttl`, refusals for `refusal_ttl`, failures and
/// timeouts for [`FAILURE_TTL`]) in a table of at most `capacity` origins;
/// at most `max_lookups` lookups run at once, and a request from yet
/// another new origin is refused at once rather than queued.
///
/// ```toml
/// [origin_source]
/// url = "http://tenants.internal:8080/cors/{origin}"   # the proxy's source
/// ttl = "5m"
/// refusal_ttl = "1m"
/// timeout = "2s"
/// capacity = 100000
/// max_lookups = 64
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct OriginSourceConfig {
    /// For the `corsair` proxy: an HTTP endpoint asked `GET` with the
    /// origin in place of `{origin}` (percent-encoded), which answers `2xx`
    /// for an allowed origin and `404` or `403` for a refused one. A
    /// library ignores it (it attaches its source in code).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub url: Option<String>,
    /// How long an allowed origin is kept before it is asked again.
    #[cfg_attr(feature = "serde", serde(with = "duration"))]
    pub ttl: Duration,
    /// How long a refused origin is kept before it is asked again.
    #[cfg_attr(feature = "serde", serde(with = "duration"))]
    pub refusal_ttl: Duration,
    /// How long the source has to answer; an origin it has not answered
    /// by then is refused.
    #[cfg_attr(feature = "serde", serde(with = "duration"))]
    pub timeout: Duration,
    /// How many answers are kept at most.
    pub capacity: usize,
    /// How many lookups may run at once.
    pub max_lookups: usize,
}

/// How long a lookup that failed or timed out is remembered as a refusal:
/// long enough that a struggling source is not asked again by every
/// request, short enough that an origin it could not answer is asked again
/// soon.
pub const FAILURE_TTL: Duration = Duration::from_secs(5);

impl Default for OriginSourceConfig {
    fn default() -> Self {
        OriginSourceConfig {
            url: None,
            ttl: Duration::from_secs(300),
            refusal_ttl: Duration::from_secs(60),
            timeout: Duration::from_secs(2),
            capacity: 100_000,
            max_lookups: 64,
        }
    }
}

/// Which names or methods a list allows.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Allowed {
    /// `*`.
    Any,
    /// The names, normalised and without duplicates, in the order written.
    Listed(Vec<String>),
}

/// A configuration that passed every check, normalised for compilation.
#[derive(Debug)]
pub(crate) struct Checked {
    /// The origins of `allow_origins` and `allow_origins_file`, compiled;
    /// `None` for `*`.
    pub(crate) origins: Option<OriginMatcher>,
    /// The origins file as read.
    pub(crate) origins_file: Option<FileStamp>,
    pub(crate) methods: Allowed,
    pub(crate) headers: Allowed,
    pub(crate) expose: Allowed,
}

impl Config {
    /// Checks every rule and reports every problem found, in field order.
    pub(crate) fn check(&self) -> Result<Checked, ConfigError> {
        let mut problems = Vec::new();
        let origins = self.check_origins(&mut problems);
        let (origins, origins_file) = self.read_origins_file(origins, &mut problems);
        let methods = self.check_methods(&mut problems);
        let headers = self.check_allow_headers(&mut problems);
        let expose = self.check_expose_headers(&mut problems);
        if let Some(value) = self.max_age
            && value > MAX_AGE_LIMIT
        {
            problems.push(ConfigProblem::MaxAgeTooLarge { value });
        }
        if let Some(value) = self.preflight_status
            && !matches!(value, 200 | 204)
        {
            problems.push(ConfigProblem::PreflightStatus { value });
        }
        if let Some(source) = &self.origin_source {
            source.check(&mut problems);
        }
        if self.mode == Mode::ReportOnly && !cfg!(feature = "browser") {
            problems.push(ConfigProblem::ReportOnlyWithoutBrowser);
        }
        if problems.is_empty() {
            Ok(Checked {
                origins,
                origins_file,
                methods,
                headers,
                expose,
            })
        } else {
            Err(ConfigError::new(problems))
        }
    }

    fn check_origins(&self, problems: &mut Vec<ConfigProblem>) -> Option<OriginMatcher> {
        if self.allow_origins.is_empty()
            && self.allow_origins_file.is_none()
            && self.origin_source.is_none()
        {
            problems.push(ConfigProblem::NoOrigins);
        }
        let mut matcher = OriginMatcher::default();
        let mut any = false;
        for (index, value) in self.allow_origins.iter().enumerate() {
            let pattern = match OriginPattern::parse(value) {
                Ok(pattern) => pattern,
                Err(error) => {
                    problems.push(ConfigProblem::Origin {
                        index,
                        value: value.clone(),
                        error,
                    });
                    continue;
                }
            };
            if self.allow_credentials && pattern == OriginPattern::Any {
                problems.push(ConfigProblem::AnyOriginWithCredentials { index });
            }
            let rules = self.credential_rules(&pattern);
            if rules.insecure {
                problems.push(ConfigProblem::InsecureOriginWithCredentials {
                    index,
                    value: value.clone(),
                });
            }
            if let Some(suffix) = rules.public_suffix {
                problems.push(ConfigProblem::PublicSuffixWildcardWithCredentials {
                    index,
                    value: value.clone(),
                    suffix: suffix.to_owned(),
                });
            }
            any |= pattern == OriginPattern::Any;
            matcher.insert(&pattern);
        }
        (!any).then_some(matcher)
    }

    /// Adds the origins of `allow_origins_file`, when there is one, to
    /// those of `allow_origins` (`None` for `*`, to which a file adds
    /// nothing, though its problems are still reported).
    fn read_origins_file(
        &self,
        origins: Option<OriginMatcher>,
        problems: &mut Vec<ConfigProblem>,
    ) -> (Option<OriginMatcher>, Option<FileStamp>) {
        let Some(path) = &self.allow_origins_file else {
            return (origins, None);
        };
        let mut matcher = origins.unwrap_or_default();
        let stamp = origins_file::read_into(path, self, &mut matcher, problems);
        let any = self.allow_origins.iter().any(|origin| origin == "*");
        ((!any).then_some(matcher), stamp)
    }

    /// The rules of credentials that `pattern` breaks, wherever it is
    /// written (`*` aside, which each place refuses in its own words).
    pub(crate) fn credential_rules<'p>(&self, pattern: &'p OriginPattern) -> CredentialRules<'p> {
        if !self.allow_credentials || *pattern == OriginPattern::Any {
            return CredentialRules::default();
        }
        CredentialRules {
            insecure: !pattern.is_secure() && !self.dangerously_allow_insecure_origins,
            public_suffix: pattern
                .public_suffix_base()
                .filter(|_| !self.dangerously_allow_public_suffix_wildcards),
        }
    }

    fn check_methods(&self, problems: &mut Vec<ConfigProblem>) -> Allowed {
        collect(
            &self.allow_methods,
            |index, value| {
                if !is_token(value.as_bytes()) {
                    Err(ConfigProblem::MethodNotAToken {
                        index,
                        value: value.to_owned(),
                    })
                } else if is_forbidden_method(value) {
                    Err(ConfigProblem::ForbiddenMethod {
                        index,
                        value: value.to_owned(),
                    })
                } else {
                    Ok(normalize_method(value).to_owned())
                }
            },
            problems,
        )
    }

    fn check_allow_headers(&self, problems: &mut Vec<ConfigProblem>) -> Allowed {
        collect(
            &self.allow_headers,
            |index, value| {
                if !is_token(value.as_bytes()) {
                    Err(ConfigProblem::AllowHeaderNotAToken {
                        index,
                        value: value.to_owned(),
                    })
                } else if is_forbidden_request_header(value) {
                    Err(ConfigProblem::ForbiddenAllowHeader {
                        index,
                        value: value.to_owned(),
                    })
                } else {
                    Ok(value.to_ascii_lowercase())
                }
            },
            problems,
        )
    }

    fn check_expose_headers(&self, problems: &mut Vec<ConfigProblem>) -> Allowed {
        let credentials = self.allow_credentials;
        collect(
            &self.expose_headers,
            |index, value| {
                if value == "*" && credentials {
                    Err(ConfigProblem::AnyExposeWithCredentials { index })
                } else if !is_token(value.as_bytes()) {
                    Err(ConfigProblem::ExposeHeaderNotAToken {
                        index,
                        value: value.to_owned(),
                    })
                } else if is_forbidden_response_header(value) {
                    Err(ConfigProblem::ExposedSetCookie {
                        index,
                        value: value.to_owned(),
                    })
                } else {
                    Ok(value.to_ascii_lowercase())
                }
            },
            problems,
        )
    }
}

impl OriginSourceConfig {
    fn check(&self, problems: &mut Vec<ConfigProblem>) {
        const REFUSES_ALL: &str = "0 would refuse every origin the source is asked about";
        for (field, zero, message) in [
            (
                "ttl",
                self.ttl.is_zero(),
                "0 would ask the source again for every request; keep answers at least a second",
            ),
            ("timeout", self.timeout.is_zero(), REFUSES_ALL),
            ("capacity", self.capacity == 0, REFUSES_ALL),
            ("max_lookups", self.max_lookups == 0, REFUSES_ALL),
        ] {
            if zero {
                problems.push(ConfigProblem::OriginSource {
                    field,
                    message: message.to_owned(),
                });
            }
        }
    }
}

/// The rules of credentials an allowed origin breaks.
#[derive(Debug, Default)]
pub(crate) struct CredentialRules<'p> {
    /// An `http://` origin other than loopback.
    pub(crate) insecure: bool,
    /// A wildcard directly under this public suffix.
    pub(crate) public_suffix: Option<&'p str>,
}

/// Checks each entry of a list with `check`, which returns the normalised
/// entry; `*` anywhere makes the list [`Allowed::Any`].
fn collect(
    values: &[String],
    mut check: impl FnMut(usize, &str) -> Result<String, ConfigProblem>,
    problems: &mut Vec<ConfigProblem>,
) -> Allowed {
    let mut names: Vec<String> = Vec::with_capacity(values.len());
    let mut seen = HashSet::with_capacity(values.len());
    let mut any = false;
    for (index, value) in values.iter().enumerate() {
        match check(index, value) {
            Ok(name) if name == "*" => any = true,
            Ok(name) => {
                if seen.insert(name.clone()) {
                    names.push(name);
                }
            }
            Err(problem) => problems.push(problem),
        }
    }
    if any {
        Allowed::Any
    } else {
        Allowed::Listed(names)
    }
}
