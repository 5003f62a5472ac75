//! [`CorsBuilder`]: a policy written in code, with the `http` crate's types.
//!
//! The builder fills in a [`Config`], the plain data that files are read
//! into, and [`CorsBuilder::build`] compiles it exactly as
//! [`Cors::new`] does: the same checks, every problem at once. What it adds
//! is spelling: methods as [`http::Method`] or text, header names as
//! [`http::HeaderName`] or text, the preflight lifetime as a
//! [`Duration`].

use std::time::Duration;

use http::{HeaderName, Method};

use crate::config::Config;
use crate::cors::Cors;
use crate::error::ConfigError;

/// Builds a [`Cors`] step by step; start with [`Cors::builder`].
///
/// ```
/// use std::time::Duration;
/// use http::{Method, header};
/// use corsair::Cors;
///
/// let cors = Cors::builder()
///     .allow_origin("https://app.example.com")
///     .allow_origins(["https://admin.example.com", "https://*.example.org"])
///     .allow_credentials(true)
///     .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
///     .allow_headers([header::ACCEPT, header::CONTENT_TYPE])
///     .expose_headers(["x-request-id"])
///     .max_age(Duration::from_secs(600))
///     .build()?; // every problem at once, as Cors::new reports them
/// assert_eq!(cors.policy().config().allow_methods, ["GET", "POST", "PUT", "PATCH", "DELETE"]);
/// # Ok::<(), corsair::ConfigError>(())
/// ```
///
/// Each call adds to what earlier calls set; nothing is checked until
/// [`build`](CorsBuilder::build), so a builder can be filled from several
/// places and refused once with everything that is wrong:
///
/// ```
/// use corsair::Cors;
///
/// let error = Cors::builder()
///     .allow_origin("https://app.example.com/") // a path
///     .allow_methods(["CONNECT"])               // forbidden to scripts
///     .build()
///     .unwrap_err();
/// assert_eq!(error.problems().len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CorsBuilder {
    config: Config,
    #[cfg(feature = "origin-source")]
    source: Option<Source>,
}

/// The origin source attached to a builder: equal when it is the same one.
#[cfg(feature = "origin-source")]
#[derive(Clone)]
struct Source(std::sync::Arc<dyn crate::origin::source::OriginSource>);

#[cfg(feature = "origin-source")]
impl PartialEq for Source {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

#[cfg(feature = "origin-source")]
impl Eq for Source {}

#[cfg(feature = "origin-source")]
impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OriginSource")
    }
}

impl Cors {
    /// A builder for a policy written in code: see [`CorsBuilder`].
    pub fn builder() -> CorsBuilder {
        CorsBuilder::default()
    }
}

impl CorsBuilder {
    /// Allows one origin or pattern: `https://app.example.com`,
    /// `https://*.example.com`, `http://localhost:*`, or `*` (see
    /// [`OriginPattern`](crate::origin::OriginPattern)).
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.config.allow_origins.push(origin.into());
        self
    }

    /// Allows each of `origins`, as [`allow_origin`](Self::allow_origin).
    pub fn allow_origins<I>(mut self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.config
            .allow_origins
            .extend(origins.into_iter().map(Into::into));
        self
    }

    /// Whether requests may carry cookies and HTTP authentication (the
    /// exact origin is then always echoed, never `*`).
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.config.allow_credentials = allow;
        self
    }

    /// Allows `method` in preflights (`GET`, `HEAD` and `POST` always are).
    /// Takes a [`Method`] or its name; `"*"` allows any.
    pub fn allow_method(mut self, method: impl IntoMethodName) -> Self {
        self.config.allow_methods.push(method.into_method_name());
        self
    }

    /// Allows each of `methods`, as [`allow_method`](Self::allow_method).
    pub fn allow_methods<I>(mut self, methods: I) -> Self
    where
        I: IntoIterator,
        I::Item: IntoMethodName,
    {
        self.config
            .allow_methods
            .extend(methods.into_iter().map(IntoMethodName::into_method_name));
        self
    }

    /// Allows scripts to send the request header `name` (compared without
    /// regard to case). Takes a [`HeaderName`] or a name; `"*"` allows any.
    pub fn allow_header(mut self, name: impl IntoHeaderName) -> Self {
        self.config.allow_headers.push(name.into_header_name());
        self
    }

    /// Allows each of `names`, as [`allow_header`](Self::allow_header).
    pub fn allow_headers<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: IntoHeaderName,
    {
        self.config
            .allow_headers
            .extend(names.into_iter().map(IntoHeaderName::into_header_name));
        self
    }

    /// Lets scripts read the response header `name`. Takes a [`HeaderName`]
    /// or a name; `"*"` exposes all (not with credentials).
    pub fn expose_header(mut self, name: impl IntoHeaderName) -> Self {
        self.config.expose_headers.push(name.into_header_name());
        self
    }

    /// Lets scripts read each of `names`, as
    /// [`expose_header`](Self::expose_header).
    pub fn expose_headers<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: IntoHeaderName,
    {
        self.config
            .expose_headers
            .extend(names.into_iter().map(IntoHeaderName::into_header_name));
        self
    }

    /// How long a browser may cache a successful preflight, in whole
    /// seconds (`Access-Control-Max-Age` has no finer unit, so a fraction
    /// of a second is dropped). At most 86400 seconds.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.config.max_age = Some(max_age.as_secs());
        self
    }

    /// Allows `http://` origins other than loopback together with
    /// credentials: see [`Config::dangerously_allow_insecure_origins`].
    pub fn dangerously_allow_insecure_origins(mut self, allow: bool) -> Self {
        self.config.dangerously_allow_insecure_origins = allow;
        self
    }

    /// Allows wildcards directly under a public suffix together with
    /// credentials: see
    /// [`Config::dangerously_allow_public_suffix_wildcards`].
    pub fn dangerously_allow_public_suffix_wildcards(mut self, allow: bool) -> Self {
        self.config.dangerously_allow_public_suffix_wildcards = allow;
        self
    }

    /// Answers allowed preflights with `200 OK` instead of `204 No
    /// Content`, for old clients that take a `204` for a failure: see
    /// [`Config::preflight_status`].
    pub fn preflight_status_ok(mut self) -> Self {
        self.config.preflight_status = Some(200);
        self
    }

    /// Sends `Timing-Allow-Origin` to allowed origins: see
    /// [`Config::timing_allow_origin`].
    pub fn timing_allow_origin(mut self, allow: bool) -> Self {
        self.config.timing_allow_origin = allow;
        self
    }

    /// Refuses cross-site unsafe-method requests from origins the policy
    /// does not allow (CSRF): see [`Config::cross_origin_protection`].
    pub fn cross_origin_protection(mut self, protect: bool) -> Self {
        self.config.cross_origin_protection = protect;
        self
    }

    /// What to do with WebSocket handshakes from origins the policy does
    /// not allow: see [`WebSocketOrigins`](crate::config::WebSocketOrigins)
    /// (refused by default).
    pub fn websocket_origins(mut self, origins: crate::config::WebSocketOrigins) -> Self {
        self.config.websocket_origins = origins;
        self
    }

    /// Asks `source` about the origins that the lists do not name (a
    /// database of tenants): see [`crate::origin::source`]. The cache and
    /// timeout follow [`Config::origin_source`] (set here to its defaults
    /// unless already set), and `allow_origins` may be left empty.
    ///
    /// ```
    /// use corsair::Cors;
    /// use corsair::origin::source;
    ///
    /// let cors = Cors::builder()
    ///     .allow_credentials(true)
    ///     .origin_source(source::from_fn(|origin| origin.ends_with(".tenant.example")))
    ///     .build()?;
    /// assert!(cors.policy().origin_source_stats().is_some());
    /// # Ok::<(), corsair::ConfigError>(())
    /// ```
    #[cfg(feature = "origin-source")]
    pub fn origin_source(mut self, source: impl crate::origin::source::OriginSource) -> Self {
        self.config
            .origin_source
            .get_or_insert_with(Default::default);
        self.source = Some(Source(std::sync::Arc::new(source)));
        self
    }

    /// The configuration written so far, as a file would hold it.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configuration written so far, unchecked.
    #[must_use]
    pub fn into_config(self) -> Config {
        self.config
    }

    /// Checks and compiles the policy, as [`Cors::new`] does.
    ///
    /// # Errors
    /// A [`ConfigError`] listing every problem.
    pub fn build(self) -> Result<Cors, ConfigError> {
        let policy = crate::policy::Policy::new(self.config)?;
        #[cfg(feature = "origin-source")]
        let policy = match self.source {
            Some(Source(source)) => policy.with_origin_source(source),
            None => policy,
        };
        Ok(Cors::from(policy))
    }
}

impl From<Config> for CorsBuilder {
    /// A builder that starts from `config` (read from a file, say) and adds
    /// to it.
    fn from(config: Config) -> Self {
        CorsBuilder {
            config,
            #[cfg(feature = "origin-source")]
            source: None,
        }
    }
}

/// A method the builder accepts: an [`http::Method`] (owned or borrowed)
/// or its name as text, which [`CorsBuilder::build`] checks.
pub trait IntoMethodName {
    /// The method's name.
    fn into_method_name(self) -> String;
}

impl IntoMethodName for Method {
    fn into_method_name(self) -> String {
        self.as_str().to_owned()
    }
}

impl IntoMethodName for &Method {
    fn into_method_name(self) -> String {
        self.as_str().to_owned()
    }
}

impl IntoMethodName for &str {
    fn into_method_name(self) -> String {
        self.to_owned()
    }
}

impl IntoMethodName for String {
    fn into_method_name(self) -> String {
        self
    }
}

/// A header name the builder accepts: an [`http::HeaderName`] (owned or
/// borrowed) or a name as text, which [`CorsBuilder::build`] checks.
pub trait IntoHeaderName {
    /// The header's name.
    fn into_header_name(self) -> String;
}

impl IntoHeaderName for HeaderName {
    fn into_header_name(self) -> String {
        self.as_str().to_owned()
    }
}

impl IntoHeaderName for &HeaderName {
    fn into_header_name(self) -> String {
        self.as_str().to_owned()
    }
}

impl IntoHeaderName for &str {
    fn into_header_name(self) -> String {
        self.to_owned()
    }
}

impl IntoHeaderName for String {
    fn into_header_name(self) -> String {
        self
    }
}

#[cfg(test)]
mod tests {
    use http::header;

    use super::*;

    /// The issue's example builds the same policy as the `Config` literal
    /// it stands for, field by field.
    #[test]
    fn the_builder_writes_the_config_literal() {
        let built = Cors::builder()
            .allow_origin("https://app.example.com")
            .allow_origins(["https://admin.example.com", "https://*.example.org"])
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([header::ACCEPT, header::CONTENT_TYPE])
            .expose_headers(["x-request-id"])
            .max_age(Duration::from_millis(600_900))
            .build()
            .unwrap();
        let literal = Config {
            allow_origins: vec![
                "https://app.example.com".into(),
                "https://admin.example.com".into(),
                "https://*.example.org".into(),
            ],
            allow_credentials: true,
            allow_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"]
                .map(String::from)
                .to_vec(),
            allow_headers: vec!["accept".into(), "content-type".into()],
            expose_headers: vec!["x-request-id".into()],
            max_age: Some(600),
            ..Config::default()
        };
        assert_eq!(built.policy().config(), &literal);
        assert_eq!(
            format!("{:?}", *built.policy()),
            format!("{:?}", *Cors::new(literal).unwrap().policy())
        );
    }

    #[test]
    fn methods_and_names_mix_types_and_extend_a_config() {
        let custom = Method::from_bytes(b"PURGE").unwrap();
        let builder = CorsBuilder::from(Config {
            allow_origins: vec!["https://app.example.com".into()],
            allow_methods: vec!["PUT".into()],
            ..Config::default()
        })
        .allow_method(&custom)
        .allow_method(String::from("PATCH"))
        .allow_header(&header::AUTHORIZATION)
        .allow_header("x-api-key")
        .expose_header(header::ETAG)
        .dangerously_allow_insecure_origins(true)
        .dangerously_allow_public_suffix_wildcards(true);
        let config = builder.config();
        assert_eq!(config.allow_methods, ["PUT", "PURGE", "PATCH"]);
        assert_eq!(config.allow_headers, ["authorization", "x-api-key"]);
        assert_eq!(config.expose_headers, ["etag"]);
        assert!(config.dangerously_allow_insecure_origins);
        assert!(config.dangerously_allow_public_suffix_wildcards);
        assert!(builder.build().is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_build() {
        let error = Cors::builder()
            .allow_origin("*")
            .allow_credentials(true)
            .allow_header("cookie")
            .max_age(Duration::from_secs(100_000))
            .build()
            .unwrap_err();
        assert_eq!(error.problems().len(), 3, "{error}");
    }
}
