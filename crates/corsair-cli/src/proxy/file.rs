//! The proxy's file: what it says ([`ProxyFile`]), how it is read
//! ([`ProxyFile::parse`]) and how it is checked and compiled into
//! [`Settings`] ([`ProxyFile::compile`]). Every problem is collected, so that
//! one run of `corsair proxy` (or a reload) reports all of them.
//!
//! ```toml
//! listen = "127.0.0.1:8080"            # default 127.0.0.1:8080
//! upstream = "http://127.0.0.1:3000"   # required (here or --upstream)
//!
//! [cors]                               # corsair::Config, the default policy
//! allow_origins = ["https://app.example.com"]
//! allow_credentials = true
//!
//! [[routes]]                           # optional; the longest prefix wins
//! path_prefix = "/public/"
//! [routes.cors]
//! allow_origins = ["*"]
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

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use corsair::Config;
use corsair::policy::Policy;
use http::uri::{Authority, Scheme, Uri};
use serde::{Deserialize, Serialize};

use super::routes::RouteTable;

/// The address the proxy listens on when neither the file nor `--listen`
/// names one.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The proxy's file, as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyFile {
    /// Where clients connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// One `[[routes]]` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// The start of the paths this policy governs, beginning with `/`.
    pub path_prefix: String,
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
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// How long the upstream has to answer with a response's headers before
    /// the client gets `504`, counted from the last piece of the request's
    /// body it took (an upload streams for as long as it takes while the
    /// upstream reads it). The response's body then streams for as long as
    /// it takes.
    #[serde(with = "humantime_serde")]
    pub upstream_timeout: Duration,
    /// The most idle keep-alive connections kept open to the upstream;
    /// beyond it, a connection closes once its response is done. A burst of
    /// a thousand requests leaves at most this many behind.
    pub max_idle_upstream_connections: usize,
    /// How long in-flight requests may take to finish after SIGTERM or
    /// SIGINT before their connections are closed.
    #[serde(with = "humantime_serde")]
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

/// A file that cannot be read or does not describe a proxy: every problem,
/// each a line naming the file, and where known the line, column and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// One line per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{}: {one}", self.path.display()),
            problems => {
                write!(f, "{}: {} problems:", self.path.display(), problems.len())?;
                for problem in problems {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for FileError {}

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
}

impl ProxyFile {
    /// Reads and compiles the file at `path`, with `overrides` applied.
    ///
    /// # Errors
    /// A [`FileError`] listing every problem.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Settings, FileError> {
        let text = std::fs::read_to_string(path).map_err(|error| FileError {
            path: path.to_owned(),
            problems: vec![format!("cannot read: {error}")],
        })?;
        Self::parse(&text, path)?.compile(path, overrides)
    }

    /// Parses the TOML text of the file at `path` (the path only names it
    /// in errors).
    ///
    /// # Errors
    /// A [`FileError`] with the line, column and field of the problem.
    pub fn parse(text: &str, path: &Path) -> Result<ProxyFile, FileError> {
        let error = |problem: String| FileError {
            path: path.to_owned(),
            problems: vec![problem],
        };
        let located = |error: &toml::de::Error| {
            let place = error
                .span()
                .map(|span| line_and_column(text, span.start))
                .map_or_else(String::new, |(line, column)| format!("{line}:{column}: "));
            (place, error.message().trim_end().to_owned())
        };
        let deserializer = toml::Deserializer::parse(text).map_err(|e| {
            let (place, message) = located(&e);
            error(format!("{place}{message}"))
        })?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let (place, message) = located(e.inner());
            let field = e.path().to_string();
            if field.is_empty() || field == "." {
                error(format!("{place}{message}"))
            } else {
                error(format!("{place}{field}: {message}"))
            }
        })
    }

    /// Checks the file and compiles its policies. `path` names the file in
    /// errors and anchors the TLS file names.
    ///
    /// # Errors
    /// A [`FileError`] listing every problem.
    pub fn compile(self, path: &Path, overrides: &Overrides) -> Result<Settings, FileError> {
        match self.checked(path, overrides) {
            (Some(settings), _) => Ok(settings),
            (None, problems) => Err(FileError {
                path: path.to_owned(),
                problems: problems.iter().map(Problem::to_string).collect(),
            }),
        }
    }

    /// Checks the file: the settings when it is valid, and every problem
    /// with the field it concerns (what `corsair check` points at).
    #[must_use]
    pub fn checked(
        mut self,
        path: &Path,
        overrides: &Overrides,
    ) -> (Option<Settings>, Vec<Problem>) {
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
                problems.push(Problem::new(
                    "upstream",
                    "missing: name the service to proxy, e.g. \
                     upstream = \"http://127.0.0.1:3000\" (or pass --upstream)",
                ));
                None
            }
            Some(url) => match Upstream::parse(url) {
                Ok(upstream) => Some(upstream),
                Err(problem) => {
                    problems.push(Problem::new("upstream", problem));
                    None
                }
            },
        };

        let default = compile_policy("cors", &self.cors, &mut problems);
        let mut routes = Vec::with_capacity(self.routes.len());
        for (index, route) in self.routes.iter().enumerate() {
            let field = format!("routes[{index}]");
            if !route.path_prefix.starts_with('/') {
                problems.push(Problem::new(
                    format!("{field}.path_prefix"),
                    format!("{:?} must start with \"/\"", route.path_prefix),
                ));
            }
            if let Some(earlier) = self
                .routes
                .iter()
                .take(index)
                .position(|other| other.path_prefix == route.path_prefix)
            {
                problems.push(Problem::new(
                    format!("{field}.path_prefix"),
                    format!(
                        "{:?} is already the prefix of routes[{earlier}]",
                        route.path_prefix
                    ),
                ));
            }
            if let Some(policy) =
                compile_policy(&format!("{field}.cors"), &route.cors, &mut problems)
            {
                routes.push((route.path_prefix.clone(), policy));
            }
        }

        let limits = self.limits;
        if limits.max_header_bytes < 8 * 1024 {
            problems.push(Problem::new(
                "limits.max_header_bytes",
                format!(
                    "{} is below the 8192 bytes HTTP/1.1 parsing needs",
                    limits.max_header_bytes
                ),
            ));
        }
        if limits.max_connections == 0 {
            problems.push(Problem::new(
                "limits.max_connections",
                "0 would accept no client",
            ));
        }
        for (name, value) in [
            ("header_read_timeout", limits.header_read_timeout),
            ("upstream_timeout", limits.upstream_timeout),
        ] {
            if value.is_zero() {
                problems.push(Problem::new(
                    format!("limits.{name}"),
                    "must be longer than 0s",
                ));
            }
        }

        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let tls = self.tls.as_ref().map(|tls| TlsFile {
            cert: base.join(&tls.cert),
            key: base.join(&tls.key),
        });

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
                }),
                problems,
            ),
            _ => (None, problems),
        }
    }
}

/// One problem of a file: the field, as a path such as
/// `routes[0].cors.allow_origins[2]`, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field.
    pub field: String,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl Problem {
    /// A problem of `field`.
    #[must_use]
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Compiles one policy, adding its problems (prefixed with `field`) to
/// `problems`.
fn compile_policy(
    field: &str,
    config: &Config,
    problems: &mut Vec<Problem>,
) -> Option<Arc<Policy>> {
    match Policy::new(config.clone()) {
        Ok(policy) => Some(Arc::new(policy)),
        Err(error) => {
            for problem in error.problems() {
                problems.push(Problem::new(
                    format!("{field}.{}", problem.field()),
                    problem.to_string(),
                ));
            }
            None
        }
    }
}

/// The line and column (from 1) of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.chars().count(), |newline| {
            before.get(newline + 1..).map_or(0, |s| s.chars().count())
        })
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Result<Settings, FileError> {
        let path = Path::new("/etc/corsair/proxy.toml");
        ProxyFile::parse(text, path)?.compile(path, &Overrides::default())
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
            .problems
            .iter()
            .map(|problem| problem.split(": ").next().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "upstream",
                "cors.allow_origins[0]",
                "routes[0].path_prefix",
                "routes[0].cors.allow_origins[0]",
                "limits.max_connections"
            ],
            "{text}"
        );
        assert!(text.starts_with("/etc/corsair/proxy.toml: "), "{text}");
    }

    #[test]
    fn syntax_errors_carry_line_column_and_field() {
        let error = compile("upstream = \"http://127.0.0.1:3000\"\n[cors]\nallow_origin = []\n")
            .unwrap_err();
        assert_eq!(error.problems.len(), 1);
        assert!(error.problems[0].starts_with("3:1: "), "{error}");
        assert!(error.problems[0].contains("allow_origin"), "{error}");

        let error = compile("upstream = 3\n[cors]\nallow_origins = []\n").unwrap_err();
        assert!(error.problems[0].starts_with("1:12: upstream: "), "{error}");

        let error =
            compile("upstream = \"http://x\"\n[limits]\nupstream_timeout = \"soon\"\n[cors]\n")
                .unwrap_err();
        assert!(
            error.problems[0].contains("limits.upstream_timeout"),
            "{error}"
        );
    }

    #[test]
    fn the_command_line_overrides_the_file() {
        let path = Path::new("proxy.toml");
        let overrides = Overrides {
            listen: Some(SocketAddr::from(([0, 0, 0, 0], 9000))),
            upstream: Some("http://10.0.0.2:80".to_owned()),
        };
        let settings = ProxyFile::parse(MINIMAL, path)
            .unwrap()
            .compile(path, &overrides)
            .unwrap();
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
            "ftp://api",
            "http://",
            "not a url",
        ] {
            assert!(Upstream::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tls_files_are_relative_to_the_proxy_file() {
        let text = format!("{MINIMAL}\n[tls]\ncert = \"cert.pem\"\nkey = \"/abs/key.pem\"\n");
        let settings = compile(&text).unwrap();
        let tls = settings.tls.unwrap();
        assert_eq!(tls.cert, Path::new("/etc/corsair/cert.pem"));
        assert_eq!(tls.key, Path::new("/abs/key.pem"));
    }
}
