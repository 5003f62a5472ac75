//! The proxy's file: what it says ([`ProxyFile`]), and how it is read,
//! checked and compiled into [`Settings`] ([`ProxyFile::read`], through
//! the library's one reader, `corsair::config::Document`). Every problem is
//! collected, so that one run of `corsair proxy` (or a reload) reports all
//! of them.
//!
//! ```toml
//! listen = "127.0.0.1:8080"            # default 127.0.0.1:8080
//! upstream = "http://127.0.0.1:3000"   # required (here or --upstream)
//!
//! [cors]                               # corsair::Config, the default policy
//! allow_origins = ["https://app.example.com"]
//! allow_credentials = true
//!
//! [[routes]]                           # optional: the most specific host
//! path_prefix = "/public/"             # wins, then the longest prefix
//! [routes.cors]
//! allow_origins = ["*"]
//!
//! [[routes]]
//! host = "admin.example.com"           # or "*.example.com"; any port
//! [routes.cors]
//! allow_origins = ["https://console.example.com"]
//!
//! [tls]                                # optional: terminate TLS here
//! cert = "cert.pem"                    # relative to this file
//! key = "key.pem"
//!
//! [limits]                             # all optional, defaults shown
//! max_header_bytes = 65536
//! max_connections = 10000
//! header_read_timeout = "65s"
//! upstream_timeout = "30s"
//! max_idle_upstream_connections = 128
//! workers = 0                          # threads; 0: one per core
//! shutdown_grace = "30s"
//!
//! [forwarding]                         # all optional, defaults shown
//! forwarded = true                     # RFC 7239 `Forwarded`
//! x_forwarded = true                   # X-Forwarded-For, -Proto, -Host
//! preserve_host = true                 # pass the client's Host upstream
//!
//! [admin]                              # optional
//! listen = "127.0.0.1:9090"            # /healthz, /metrics, /config
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use corsair::config::{Diagnostic, Document};
use corsair::policy::Policy;
use corsair::{Config, Format, LoadError};
use http::uri::{Authority, Scheme, Uri};
use serde::{Deserialize, Serialize};

use super::routes::{HostPattern, Route, RouteTable};

/// The address the proxy listens on when neither the file nor `--listen`
/// names one.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The proxy's file, as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyFile {
    /// Where clients connect.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "address::optional"
    )]
    pub listen: Option<SocketAddr>,
    /// The service behind the proxy, `http://host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The default policy.
    pub cors: Config,
    /// Policies for path prefixes; the longest matching prefix wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteFile>,
    /// TLS termination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFile>,
    /// Limits on what clients may send and how long things may take.
    #[serde(default)]
    pub limits: Limits,
    /// Headers that tell the upstream who the client is.
    #[serde(default)]
    pub forwarding: Forwarding,
    /// The admin listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminFile>,
}

/// One `[[routes]]` entry: a `host`, a `path_prefix` or both.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// The host this policy governs: a name (`api.example.com`) or a
    /// wildcard (`*.example.com`), on any port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The start of the paths this policy governs, beginning with `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// The policy.
    pub cors: Config,
}

/// The `[tls]` table: PEM files, relative to the proxy file's directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The `[limits]` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The most bytes of request line and headers a client may send
    /// (HTTP/1.1 buffer, HTTP/2 header list); larger requests get `431`
    /// or a closed connection.
    pub max_header_bytes: usize,
    /// The most client connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// How long a client has to send a request's headers (and, with TLS,
    /// finish the handshake): slow clients are cut off. It also bounds how
    /// long an idle keep-alive connection stays open, so the default (65 s)
    /// is above the idle timeout of the load balancers that usually sit in
    /// front (AWS ALB: 60 s), which would otherwise send requests on
    /// connections the proxy is closing.
    #[serde(with = "corsair::config::duration")]
    pub header_read_timeout: Duration,
    /// How long the upstream has to answer with a response's headers before
    /// the client gets `504`, counted from the last piece of the request's
    /// body it took (an upload streams for as long as it takes while the
    /// upstream reads it). The response's body then streams for as long as
    /// it takes.
    #[serde(with = "corsair::config::duration")]
    pub upstream_timeout: Duration,
    /// The most idle keep-alive connections kept open to the upstream;
    /// beyond it, a connection closes once its response is done. A burst of
    /// a thousand requests leaves at most this many behind.
    pub max_idle_upstream_connections: usize,
    /// How long in-flight requests may take to finish after SIGTERM or
    /// SIGINT before their connections are closed.
    #[serde(with = "corsair::config::duration")]
    pub shutdown_grace: Duration,
    /// How many threads serve connections, each with its own event loop
    /// and share of the idle upstream connections; 0 (the default) means
    /// one per core.
    pub workers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 64 * 1024,
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(65),
            upstream_timeout: Duration::from_secs(30),
            max_idle_upstream_connections: 128,
            shutdown_grace: Duration::from_secs(30),
            workers: 0,
        }
    }
}

/// Listening addresses: an IP address and a port, with an error that says
/// so when a host name is written.
mod address {
    use std::net::SocketAddr;

    use serde::{Deserialize as _, Deserializer};

    pub(super) fn required<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SocketAddr, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "{text:?} is not an IP address and port (host names are not accepted): write \
                 it like \"127.0.0.1:8080\", \"0.0.0.0:8080\" or \"[::1]:8080\""
            ))
        })
    }

    pub(super) fn optional<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SocketAddr>, D::Error> {
        required(deserializer).map(Some)
    }
}

/// The `[forwarding]` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Forwarding {
    /// Add an RFC 7239 `Forwarded` element (`for`, `proto`, `host`).
    pub forwarded: bool,
    /// Append the client to `X-Forwarded-For` and set `X-Forwarded-Proto`
    /// and `X-Forwarded-Host`.
    pub x_forwarded: bool,
    /// Pass the client's `Host` to the upstream (otherwise the upstream's
    /// own authority is sent).
    pub preserve_host: bool,
}

impl Default for Forwarding {
    fn default() -> Self {
        Forwarding {
            forwarded: true,
            x_forwarded: true,
            preserve_host: true,
        }
    }
}

/// The `[admin]` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminFile {
    /// Where `/healthz`, `/metrics` and `/config` are served. Keep it on
    /// loopback or a private network: `/config` shows the policy.
    #[serde(deserialize_with = "address::required")]
    pub listen: SocketAddr,
}

/// The service behind the proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    /// Its authority (`host:port`).
    pub authority: Authority,
    /// Its URL, as given.
    pub url: String,
}

impl Upstream {
    /// Reads an upstream URL: `http://host[:port]`, with no path, query or
    /// user information.
    ///
    /// # Errors
    /// A sentence saying what is wrong with the URL.
    pub fn parse(url: &str) -> Result<Upstream, String> {
        let uri: Uri = url
            .parse()
            .map_err(|error| format!("upstream {url:?} is not a URL: {error}"))?;
        match uri.scheme() {
            Some(scheme) if *scheme == Scheme::HTTP => {}
            Some(scheme) if *scheme == Scheme::HTTPS => {
                return Err(format!(
                    "upstream {url:?}: corsair proxies to plain http upstreams (a sidecar on the \
                     same host or network); terminate TLS in corsair with [tls] instead"
                ));
            }
            _ => {
                return Err(format!(
                    "upstream {url:?} must be an http:// URL, like \"http://127.0.0.1:3000\""
                ));
            }
        }
        let Some(authority) = uri.authority().cloned() else {
            return Err(format!("upstream {url:?} has no host"));
        };
        if authority.as_str().contains('@') {
            return Err(format!(
                "upstream {url:?} must not carry a user name or password"
            ));
        }
        if authority.host().is_empty() {
            return Err(format!("upstream {url:?} has no host"));
        }
        if authority.port_u16() == Some(0) {
            return Err(format!(
                "upstream {url:?}: port 0 is no service; name the port the upstream listens on"
            ));
        }
        if uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
            return Err(format!(
                "upstream {url:?} must have no path or query: requests keep their own path"
            ));
        }
        Ok(Upstream {
            authority,
            url: url.to_owned(),
        })
    }
}

/// Values from the command line that take precedence over the file's.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--upstream`.
    pub upstream: Option<String>,
}

/// A checked, compiled proxy file: what the proxy runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// The service behind the proxy.
    pub upstream: Upstream,
    /// The compiled policies.
    pub routes: RouteTable,
    /// TLS certificate and key, resolved against the file's directory.
    pub tls: Option<TlsFile>,
    /// Limits.
    pub limits: Limits,
    /// Forwarding headers.
    pub forwarding: Forwarding,
    /// The admin listener.
    pub admin: Option<SocketAddr>,
    /// The file as read, with the command line's overrides applied (what
    /// `/config` shows).
    pub file: ProxyFile,
    /// The file's warnings, located, which the proxy logs.
    pub warnings: Vec<Diagnostic>,
}

impl ProxyFile {
    /// Reads and compiles the file at `path`, with `overrides` applied.
    ///
    /// # Errors
    /// A [`LoadError`] with every problem, each located.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Settings, LoadError> {
        Self::from_document(&crate::policy_file::read(path)?, overrides)
    }

    /// Reads and compiles a proxy file's document, with `overrides`
    /// applied: every problem at once, the file's own (unknown fields,
    /// wrong types) and those of what reads (an unsafe policy, a bad
    /// upstream).
    ///
    /// # Errors
    /// A [`LoadError`] with every problem, each located.
    pub fn from_document(
        document: &Document,
        overrides: &Overrides,
    ) -> Result<Settings, LoadError> {
        // `read` gives settings only when no diagnostic is an error; the
        // warnings travel in them.
        match Self::read(document, overrides)? {
            (Some(settings), _) => Ok(settings),
            (None, diagnostics) => Err(document.invalid(diagnostics)),
        }
    }

    /// The origins files the policies name (`allow_origins_file`), as
    /// [`ProxyFile::resolve_paths`] left them.
    pub fn origins_files(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(&self.cors)
            .chain(self.routes.iter().map(|route| &route.cors))
            .filter_map(|cors| cors.allow_origins_file.as_deref())
    }

    /// Resolves the paths the policies name against the file's directory,
    /// as a bare policy's are (see `corsair::config::Document::resolve`).
    pub fn resolve_paths(&mut self, document: &Document) {
        document.resolve_paths(&mut self.cors);
        for route in &mut self.routes {
            document.resolve_paths(&mut route.cors);
        }
    }

    /// Reads a proxy file's document as far as it goes: the settings when
    /// it is valid, and every problem, located (what `corsair check`
    /// prints).
    ///
    /// # Errors
    /// A [`LoadError`] when the format cannot be read at all.
    pub fn read(
        document: &Document,
        overrides: &Overrides,
    ) -> Result<(Option<Settings>, Vec<Diagnostic>), LoadError> {
        if document.format() != Format::Toml {
            return Ok((
                None,
                vec![Diagnostic::error(
                    "invalid",
                    "",
                    format!(
                        "proxy files are TOML, and this is {}: write it as TOML (check and \
                         explain also read a bare policy, the fields of [cors] at the top level, \
                         in JSON or YAML)",
                        document.format()
                    ),
                )],
            ));
        }
        let mut partial = document.parse_partial::<ProxyFile>()?;
        let mut settings = None;
        if let Some(mut file) = partial.value().cloned() {
            file.resolve_paths(document);
            let warnings = crate::lint::proxy_warnings(&file);
            let (checked, problems) = file.checked(document, overrides);
            settings = checked;
            partial.add(problems);
            partial.add(warnings);
        }
        let (_, diagnostics) = partial.into_parts();
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Ok((None, diagnostics));
        }
        Ok((
            settings.map(|settings| Settings {
                warnings: diagnostics.clone(),
                ..settings
            }),
            diagnostics,
        ))
    }

    /// Checks the file: the settings when it is valid, and every problem
    /// with the field it concerns, not yet located. `document` anchors
    /// the TLS file names.
    #[must_use]
    fn checked(
        mut self,
        document: &Document,
        overrides: &Overrides,
    ) -> (Option<Settings>, Vec<Diagnostic>) {
        if let Some(listen) = overrides.listen {
            self.listen = Some(listen);
        }
        if let Some(upstream) = &overrides.upstream {
            self.upstream = Some(upstream.clone());
        }
        let mut problems = Vec::new();

        let listen = self
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let upstream = match &self.upstream {
            None => {
                problems.push(Diagnostic::error(
                    "invalid",
                    "upstream",
                    "missing: name the service to proxy, e.g. \
                     upstream = \"http://127.0.0.1:3000\" (or pass --upstream)",
                ));
                None
            }
            Some(url) => match Upstream::parse(url) {
                Ok(upstream) => Some(upstream),
                Err(problem) => {
                    problems.push(Diagnostic::error("invalid", "upstream", problem));
                    None
                }
            },
        };

        let default = compile_policy("cors", &self.cors, &mut problems);
        let mut routes = Vec::with_capacity(self.routes.len());
        // What each route matches, to find a second route for the same.
        let mut seen: Vec<(usize, RouteKey<'_>)> = Vec::new();
        for (index, route) in self.routes.iter().enumerate() {
            let field = format!("routes[{index}]");
            let host = route.host.as_deref().map(|host| {
                HostPattern::parse(host).map_err(|problem| {
                    problems.push(Diagnostic::error(
                        "invalid",
                        format!("{field}.host"),
                        problem,
                    ));
                })
            });
            if let Some(prefix) = &route.path_prefix
                && !prefix.starts_with('/')
            {
                problems.push(Diagnostic::error(
                    "invalid",
                    format!("{field}.path_prefix"),
                    format!("{prefix:?} must start with \"/\""),
                ));
            }
            if route.host.is_none() && route.path_prefix.is_none() {
                problems.push(Diagnostic::error(
                    "invalid",
                    field.clone(),
                    "a route names a host, a path_prefix or both (the policy for every other \
                     request is [cors])",
                ));
            }
            // `/` matches every path, as no prefix does.
            let key = (
                host.as_ref()
                    .and_then(|host| host.as_ref().ok())
                    .map(ToString::to_string),
                route.path_prefix.as_deref().filter(|prefix| *prefix != "/"),
            );
            // Only routes that match something can clash.
            let matches_something = !matches!(host, Some(Err(())))
                && (route.host.is_some() || route.path_prefix.is_some());
            if matches_something
                && let Some((earlier, _)) = seen.iter().find(|(_, other)| *other == key)
            {
                let (what, name) = match (&key.0, key.1) {
                    (Some(_), None) => ("host", "host"),
                    (None, _) => ("path_prefix", "path_prefix"),
                    (Some(_), Some(_)) => ("host and path_prefix", "path_prefix"),
                };
                problems.push(Diagnostic::error(
                    "invalid",
                    format!("{field}.{name}"),
                    format!(
                        "routes[{earlier}] has the same {what}: one of the two would never apply"
                    ),
                ));
            }
            if matches_something {
                seen.push((index, key));
            }
            let policy = compile_policy(&format!("{field}.cors"), &route.cors, &mut problems);
            if let (Some(policy), None | Some(Ok(_))) = (policy, &host) {
                routes.push(Route {
                    host: host.and_then(Result::ok),
                    path_prefix: route.path_prefix.clone(),
                    index,
                    policy,
                });
            }
        }

        let limits = self.limits;
        if limits.max_header_bytes < 8 * 1024 {
            problems.push(Diagnostic::error(
                "invalid",
                "limits.max_header_bytes",
                format!(
                    "{} is below the 8192 bytes HTTP/1.1 parsing needs",
                    limits.max_header_bytes
                ),
            ));
        }
        if limits.max_connections == 0 {
            problems.push(Diagnostic::error(
                "invalid",
                "limits.max_connections",
                "0 would accept no client",
            ));
        }
        for (name, value) in [
            ("header_read_timeout", limits.header_read_timeout),
            ("upstream_timeout", limits.upstream_timeout),
        ] {
            if value.is_zero() {
                problems.push(Diagnostic::error(
                    "invalid",
                    format!("limits.{name}"),
                    "must be longer than 0s",
                ));
            }
        }

        let tls = self.tls.as_ref().map(|tls| TlsFile {
            cert: document.resolve(&tls.cert),
            key: document.resolve(&tls.key),
        });
        // What the proxy would refuse when it starts: `check` refuses it
        // too, and a reload keeps the configuration in force.
        if let Some(Err(error)) = tls.as_ref().map(super::tls::verify) {
            problems.push(Diagnostic::error("invalid", error.field, error.message));
        }
        if let Some(admin) = &self.admin
            && same_port(admin.listen, listen)
        {
            problems.push(Diagnostic::error(
                "invalid",
                "admin.listen",
                format!("{listen} is also where clients connect (listen): give the admin listener its own port"),
            ));
        }

        match (upstream, default) {
            (Some(upstream), Some(default)) if problems.is_empty() => (
                Some(Settings {
                    listen,
                    upstream,
                    routes: RouteTable::new(default, routes),
                    tls,
                    limits,
                    forwarding: self.forwarding,
                    admin: self.admin.map(|admin| admin.listen),
                    file: self,
                    warnings: Vec::new(),
                }),
                problems,
            ),
            _ => (None, problems),
        }
    }
}

/// What a route matches: its host pattern (normalised) and its prefix.
type RouteKey<'a> = (Option<String>, Option<&'a str>);

/// Whether two listeners would ask for the same port: the same port (not
/// 0, which picks a free one each time) on the same address, or on any
/// address when one is unspecified (`0.0.0.0`, `[::]`).
fn same_port(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && a.port() != 0
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// Compiles one policy, adding its problems (prefixed with `field`) to
/// `problems`. A policy whose `[origin_source]` names a `url` asks it about
/// the origins its lists do not name.
fn compile_policy(
    field: &str,
    config: &Config,
    problems: &mut Vec<Diagnostic>,
) -> Option<Arc<Policy>> {
    let source = match config
        .origin_source
        .as_ref()
        .and_then(|source| source.url.as_deref())
        .map(super::origin_source::HttpSource::new)
    {
        Some(Err(problem)) => {
            problems.push(Diagnostic::error("invalid", "origin_source.url", problem).within(field));
            None
        }
        Some(Ok(source)) => Some(source),
        None => None,
    };
    match Policy::new(config.clone()) {
        Ok(policy) => Some(Arc::new(match source {
            Some(source) => policy.with_origin_source(source),
            None => policy,
        })),
        Err(error) => {
            problems.extend(error.diagnostics(field));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Result<Settings, LoadError> {
        let document = Document::new(text, Format::Toml).named("/etc/corsair/proxy.toml");
        ProxyFile::from_document(&document, &Overrides::default())
    }

    /// Each problem as `line:column: field: message`.
    fn problems(error: &LoadError) -> Vec<String> {
        error
            .diagnostics()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    const MINIMAL: &str = r#"
upstream = "http://127.0.0.1:3000"
[cors]
allow_origins = ["https://app.example.com"]
"#;

    #[test]
    fn a_minimal_file_takes_the_defaults() {
        let settings = compile(MINIMAL).unwrap();
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(settings.upstream.authority.as_str(), "127.0.0.1:3000");
        assert_eq!(settings.limits, Limits::default());
        assert_eq!(settings.forwarding, Forwarding::default());
        assert!(settings.tls.is_none() && settings.admin.is_none());
    }

    /// A duration that does not read says what to write, and names an
    /// unknown unit, never the parser's byte offsets.
    #[test]
    fn durations_that_do_not_read_say_how_to_write_them() {
        for (value, said) in [
            (
                "ten seconds",
                "\"ten seconds\" is not a duration: write it like \"10s\"",
            ),
            (
                "10 fortnights",
                "\"10 fortnights\" is not a duration (\"fortnights\" is not a unit: use ms, s, m, h \
                 or d): write it like \"10s\"",
            ),
        ] {
            let text = format!("{MINIMAL}[limits]\nheader_read_timeout = {value:?}\n");
            let error = compile(&text).unwrap_err();
            let problems = problems(&error).join("\n");
            assert!(problems.contains(said), "{problems}");
            assert!(!problems.contains(" at 0"), "{problems}");
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let error = compile(
            r#"
upstream = "https://api.internal"
[cors]
allow_origins = ["*"]
allow_credentials = true
[[routes]]
path_prefix = "public/"
[routes.cors]
allow_origins = ["https://example.com.evil.com/"]
[limits]
max_connections = 0
"#,
        )
        .unwrap_err();
        let text = error.to_string();
        let fields: Vec<&str> = error
            .diagnostics()
            .iter()
            .map(|problem| problem.field.as_deref().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "upstream",
                "cors.allow_origins[0]",
                "cors.allow_credentials",
                "routes[0].path_prefix",
                "routes[0].cors.allow_origins[0]",
                "limits.max_connections"
            ],
            "{text}"
        );
        assert!(text.starts_with("/etc/corsair/proxy.toml: "), "{text}");
    }

    #[test]
    fn routes_by_host_are_checked_at_their_line() {
        let error = compile(
            r#"upstream = "http://127.0.0.1:3000"
[cors]
allow_origins = ["https://app.example.com"]
[[routes]]
host = "api.example.com:8080"
[routes.cors]
allow_origins = ["https://a.example"]
[[routes]]
[routes.cors]
allow_origins = ["https://b.example"]
[[routes]]
host = "API.example.com."
path_prefix = "/v1/"
[routes.cors]
allow_origins = ["https://c.example"]
[[routes]]
host = "api.example.com"
path_prefix = "/v1/"
[routes.cors]
allow_origins = ["https://d.example"]
"#,
        )
        .unwrap_err();
        let problems = problems(&error);
        assert_eq!(problems.len(), 3, "{error}");
        assert!(
            problems[0].starts_with("5:8: routes[0].host: \"api.example.com:8080\" has a port"),
            "{error}"
        );
        assert!(
            problems[1].contains("routes[1]: a route names a host, a path_prefix or both"),
            "{error}"
        );
        assert!(
            problems[2].starts_with(
                "18:15: routes[3].path_prefix: routes[2] has the same host and path_prefix"
            ),
            "{error}"
        );
    }

    #[test]
    fn syntax_errors_carry_line_column_and_field() {
        let error = compile("upstream = \"http://127.0.0.1:3000\"\n[cors]\nallow_origin = []\n")
            .unwrap_err();
        assert_eq!(
            problems(&error),
            ["3:1: cors.allow_origin: unknown field `allow_origin`; did you mean `allow_origins`?"],
            "{error}"
        );

        let error = compile("upstream = 3\n[cors]\nallow_origins = []\n").unwrap_err();
        // The wrong type, and the empty policy behind it: both at once.
        assert_eq!(
            problems(&error)
                .iter()
                .map(|p| p.split(": ").take(2).collect::<Vec<_>>().join(": "))
                .collect::<Vec<_>>(),
            ["1:12: upstream", "3:17: cors.allow_origins"],
            "{error}"
        );

        let error =
            compile("upstream = \"http://x\"\n[limits]\nupstream_timeout = \"soon\"\n[cors]\n")
                .unwrap_err();
        assert!(
            problems(&error)[0].contains("limits.upstream_timeout"),
            "{error}"
        );
    }

    #[test]
    fn addresses_and_durations_say_how_to_write_them() {
        let error = compile(&format!(
            "listen = \"localhost:8080\"\n{MINIMAL}[limits]\nheader_read_timeout = \"ten seconds\"\n\
             [admin]\nlisten = \"admin:9090\"\n"
        ))
        .unwrap_err();
        let problems = problems(&error);
        assert_eq!(problems.len(), 3, "{error}");
        assert!(problems[0].starts_with("1:10: listen: "), "{error}");
        assert!(
            problems[0].contains("host names are not accepted"),
            "{error}"
        );
        assert!(problems[1].contains("write it like \"10s\""), "{error}");
        assert!(problems[2].contains("admin.listen"), "{error}");
    }

    #[test]
    fn what_the_proxy_refuses_at_start_is_refused_here() {
        let clash = compile(&format!(
            "listen = \"0.0.0.0:8080\"\n{MINIMAL}[admin]\nlisten = \"127.0.0.1:8080\"\n"
        ))
        .unwrap_err();
        assert!(problems(&clash)[0].contains("admin.listen: "), "{clash}");
        assert!(
            compile(&format!(
                "listen = \"127.0.0.1:0\"\n{MINIMAL}[admin]\nlisten = \"127.0.0.1:0\"\n"
            ))
            .is_ok(),
            "two free ports do not clash"
        );
        let missing = compile(&format!(
            "{MINIMAL}[tls]\ncert = \"nope.pem\"\nkey = \"nope.key\"\n"
        ))
        .unwrap_err();
        assert!(
            problems(&missing)[0].contains("tls.cert: cannot read /etc/corsair/nope.pem"),
            "{missing}"
        );
    }

    #[test]
    fn the_command_line_overrides_the_file() {
        let path = Path::new("proxy.toml");
        let overrides = Overrides {
            listen: Some(SocketAddr::from(([0, 0, 0, 0], 9000))),
            upstream: Some("http://10.0.0.2:80".to_owned()),
        };
        let document = Document::new(MINIMAL, Format::Toml).named(path);
        let settings = ProxyFile::from_document(&document, &overrides).unwrap();
        assert_eq!(settings.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(settings.upstream.authority.as_str(), "10.0.0.2:80");
        assert_eq!(
            settings.file.upstream.as_deref(),
            Some("http://10.0.0.2:80")
        );
    }

    #[test]
    fn upstream_urls_are_checked() {
        assert!(Upstream::parse("http://127.0.0.1:3000").is_ok());
        assert!(Upstream::parse("http://api:80/").is_ok());
        for bad in [
            "127.0.0.1:3000",
            "https://api",
            "http://api/v1",
            "http://user:pw@api",
            "http://127.0.0.1:0",
            "ftp://api",
            "http://",
            "not a url",
        ] {
            assert!(Upstream::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tls_files_are_relative_to_the_proxy_file() {
        // The files are read, relative to the proxy file (tests/proxy.rs
        // serves real ones); these are not there.
        let text = format!("{MINIMAL}\n[tls]\ncert = \"cert.pem\"\nkey = \"/abs/key.pem\"\n");
        let error = compile(&text).unwrap_err();
        assert!(
            problems(&error)[0].contains("tls.cert: cannot read /etc/corsair/cert.pem"),
            "{error}"
        );
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("cert.pem");
        std::fs::write(&not_pem, "not a certificate\n").unwrap();
        let text = format!(
            "{MINIMAL}\n[tls]\ncert = {:?}\nkey = \"/abs/key.pem\"\n",
            not_pem.display().to_string()
        );
        let error = compile(&text).unwrap_err();
        assert!(
            problems(&error)[0].contains("no PEM certificate"),
            "{error}"
        );
    }
}
