//! `ConfigError`: every problem of a configuration, each one actionable.

use std::fmt;
use std::path::PathBuf;

use crate::config::MAX_AGE_LIMIT;
use crate::origin::OriginError;

/// A configuration that [`Cors::new`](crate::Cors::new) refused, with every
/// problem found (not only the first).
///
/// ```
/// use corsair::{Config, ConfigProblem, Cors};
///
/// let error = Cors::new(Config {
///     allow_origins: vec!["*".into(), "https://app.example.com/".into()],
///     allow_credentials: true,
///     max_age: Some(1_000_000),
///     ..Config::default()
/// })
/// .unwrap_err();
/// assert_eq!(error.problems().len(), 3);
/// assert!(matches!(error.problems()[0], ConfigProblem::AnyOriginWithCredentials { index: 0 }));
/// println!("{error}"); // one line per problem, each saying what to change
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<ConfigProblem>,
}

impl ConfigError {
    pub(crate) fn new(problems: Vec<ConfigProblem>) -> Self {
        ConfigError { problems }
    }

    /// Every problem, in the order of the fields and entries they concern.
    #[must_use]
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(
            f,
            "invalid CORS configuration ({count} problem{}):",
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// One problem of a configuration. Each message names the field (and entry),
/// says why it is refused and what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// `allow_origins` is empty.
    NoOrigins,
    /// An entry of `allow_origins` is not an origin or supported pattern.
    Origin {
        /// Position in `allow_origins`.
        index: usize,
        /// The entry.
        value: String,
        /// What is wrong with it.
        error: OriginError,
    },
    /// `*` in `allow_origins` with `allow_credentials = true`.
    AnyOriginWithCredentials {
        /// Position in `allow_origins`.
        index: usize,
    },
    /// An `http://` origin other than loopback with credentials.
    InsecureOriginWithCredentials {
        /// Position in `allow_origins`.
        index: usize,
        /// The entry.
        value: String,
    },
    /// A wildcard directly under a public suffix with credentials.
    PublicSuffixWildcardWithCredentials {
        /// Position in `allow_origins`.
        index: usize,
        /// The entry.
        value: String,
        /// The public suffix the wildcard sits under.
        suffix: String,
    },
    /// An entry of `allow_methods` is not a method name.
    MethodNotAToken {
        /// Position in `allow_methods`.
        index: usize,
        /// The entry.
        value: String,
    },
    /// `CONNECT`, `TRACE` or `TRACK` in `allow_methods`.
    ForbiddenMethod {
        /// Position in `allow_methods`.
        index: usize,
        /// The entry.
        value: String,
    },
    /// An entry of `allow_headers` is not a header name.
    AllowHeaderNotAToken {
        /// Position in `allow_headers`.
        index: usize,
        /// The entry.
        value: String,
    },
    /// A forbidden request-header name in `allow_headers`.
    ForbiddenAllowHeader {
        /// Position in `allow_headers`.
        index: usize,
        /// The entry.
        value: String,
    },
    /// An entry of `expose_headers` is not a header name.
    ExposeHeaderNotAToken {
        /// Position in `expose_headers`.
        index: usize,
        /// The entry.
        value: String,
    },
    /// `Set-Cookie` or `Set-Cookie2` in `expose_headers`.
    ExposedSetCookie {
        /// Position in `expose_headers`.
        index: usize,
        /// The entry.
        value: String,
    },
    /// `*` in `expose_headers` with `allow_credentials = true`.
    AnyExposeWithCredentials {
        /// Position in `expose_headers`.
        index: usize,
    },
    /// `max_age` above 86400 seconds.
    MaxAgeTooLarge {
        /// The value given.
        value: u64,
    },
    /// `preflight_status` other than 200 or 204.
    PreflightStatus {
        /// The value given.
        value: u16,
    },
    /// `mode = "report-only"` in a build without the `browser` feature,
    /// which compares the application's answers with the policy's.
    ReportOnlyWithoutBrowser,
    /// `allow_origins_file` cannot be read: it is missing, unreadable, a
    /// directory, or larger than
    /// [`MAX_ORIGINS_FILE_BYTES`](crate::config::MAX_ORIGINS_FILE_BYTES).
    OriginsFileUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A line of `allow_origins_file` is refused.
    OriginsFileLine {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// The entry, without spaces and comment.
        value: String,
        /// What is wrong with it.
        problem: OriginsFileProblem,
    },
    /// A setting of `[origin_source]` is out of range.
    OriginSource {
        /// The setting (`ttl`, `timeout`, `capacity`, `max_lookups`).
        field: &'static str,
        /// Why.
        message: String,
    },
    /// More lines of `allow_origins_file` are refused than are reported
    /// one by one ([`MAX_REPORTED_LINES`](crate::config::MAX_REPORTED_LINES)).
    OriginsFileMoreLines {
        /// The file.
        path: PathBuf,
        /// How many more.
        more: usize,
    },
}

/// What is wrong with one line of `allow_origins_file`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginsFileProblem {
    /// Not an origin or a supported pattern.
    Origin(OriginError),
    /// `*`, which an origins file may not hold.
    Any,
    /// An `http://` origin other than loopback, with credentials.
    InsecureWithCredentials,
    /// A wildcard directly under a public suffix, with credentials.
    PublicSuffixWildcardWithCredentials {
        /// The public suffix the wildcard sits under.
        suffix: String,
    },
    /// A line that is not UTF-8 text.
    NotText,
}

/// What follows an insecure origin's entry in a problem's message.
fn insecure_with_credentials(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(
        " with allow_credentials = true: anyone on the network path can inject script into a \
         plain-http page and act as your users; use https, or set \
         dangerously_allow_insecure_origins = true if you accept that risk",
    )
}

/// What follows a public-suffix wildcard's entry in a problem's message.
fn public_suffix_with_credentials(f: &mut fmt::Formatter<'_>, suffix: &str) -> fmt::Result {
    write!(
        f,
        " with allow_credentials = true: `{suffix}` is a public suffix, so anyone can register a \
         site under it and act as your users; list your own domains (e.g. \
         https://*.yourname.{suffix}), or set dangerously_allow_public_suffix_wildcards = true if \
         you accept that risk"
    )
}

impl fmt::Display for OriginsFileProblem {
    /// The message after the line's entry.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginsFileProblem::Origin(error) => write!(f, ": {error}"),
            OriginsFileProblem::Any => f.write_str(
                ": an origins file lists origins; to allow every origin, write \
                 allow_origins = [\"*\"] (never with credentials)",
            ),
            OriginsFileProblem::InsecureWithCredentials => insecure_with_credentials(f),
            OriginsFileProblem::PublicSuffixWildcardWithCredentials { suffix } => {
                public_suffix_with_credentials(f, suffix)
            }
            OriginsFileProblem::NotText => f.write_str(": the line is not UTF-8 text"),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigProblem::NoOrigins => write!(
                f,
                "allow_origins is empty: list the origins of the pages that may call this API, \
         e.g. [\"https://app.example.com\"]"
            ),
            ConfigProblem::Origin {
                index,
                value,
                error,
            } => write!(f, "allow_origins[{index}] = {value:?}: {error}"),
            ConfigProblem::AnyOriginWithCredentials { index } => write!(
                f,
                "allow_origins[{index}] = \"*\" with allow_credentials = true: browsers reject \
         `Access-Control-Allow-Origin: *` on credentialed requests, and allowing every origin \
         with credentials would let any website act as your users; list the origins you trust"
            ),
            ConfigProblem::InsecureOriginWithCredentials { index, value } => {
                write!(f, "allow_origins[{index}] = {value:?}")?;
                insecure_with_credentials(f)
            }
            ConfigProblem::PublicSuffixWildcardWithCredentials {
                index,
                value,
                suffix,
            } => {
                write!(f, "allow_origins[{index}] = {value:?}")?;
                public_suffix_with_credentials(f, suffix)
            }
            ConfigProblem::MethodNotAToken { index, value } => write!(
                f,
                "allow_methods[{index}] = {value:?} is not a method name (a token of letters, digits \
         and !#$%&'*+-.^_`|~)"
            ),
            ConfigProblem::ForbiddenMethod { index, value } => write!(
                f,
                "allow_methods[{index}] = {value:?}: browsers forbid scripts to send CONNECT, TRACE \
         and TRACK; remove it"
            ),
            ConfigProblem::AllowHeaderNotAToken { index, value } => write!(
                f,
                "allow_headers[{index}] = {value:?} is not a header name (a token of letters, digits \
         and !#$%&'*+-.^_`|~)"
            ),
            ConfigProblem::ForbiddenAllowHeader { index, value } => write!(
                f,
                "allow_headers[{index}] = {value:?}: browsers set this header themselves and never let \
         scripts send it (a forbidden request-header name); remove it"
            ),
            ConfigProblem::ExposeHeaderNotAToken { index, value } => write!(
                f,
                "expose_headers[{index}] = {value:?} is not a header name (a token of letters, digits \
         and !#$%&'*+-.^_`|~)"
            ),
            ConfigProblem::ExposedSetCookie { index, value } => write!(
                f,
                "expose_headers[{index}] = {value:?}: browsers never let scripts read cookies being set; remove it"
            ),
            ConfigProblem::AnyExposeWithCredentials { index } => write!(
                f,
                "expose_headers[{index}] = \"*\" with allow_credentials = true: on credentialed requests \
         browsers read `*` as a header literally named `*`; list the headers scripts may read"
            ),
            ConfigProblem::MaxAgeTooLarge { value } => write!(
                f,
                "max_age = {value}: no browser caches a preflight that long (Chromium stops at {} \
         seconds, Firefox at {MAX_AGE_LIMIT}); use at most {MAX_AGE_LIMIT}",
                crate::protocol::CHROMIUM_MAX_AGE.as_secs()
            ),
            ConfigProblem::PreflightStatus { value } => write!(
                f,
                "preflight_status = {value}: an allowed preflight is answered 204 (the default) or \
         200; browsers refuse any status outside 200-299, and other 2xx statuses mean \
         something else"
            ),
            ConfigProblem::ReportOnlyWithoutBrowser => f.write_str(
                "mode = \"report-only\" compares the application's CORS answers with the \
                 policy's as a browser would, which needs corsair's `browser` feature: enable it, \
                 or write mode = \"enforce\"",
            ),
            ConfigProblem::OriginsFileUnreadable { path, reason } => write!(
                f,
                "allow_origins_file = {:?} cannot be read: {reason}",
                path.display().to_string()
            ),
            ConfigProblem::OriginsFileLine {
                path,
                line,
                value,
                problem,
            } => write!(f, "{}:{line}: {value:?}{problem}", path.display()),
            ConfigProblem::OriginSource { field, message } => {
                write!(f, "origin_source.{field}: {message}")
            }
            ConfigProblem::OriginsFileMoreLines { path, more } => write!(
                f,
                "{}: {more} more line{} refused",
                path.display(),
                if *more == 1 { " is" } else { "s are" }
            ),
        }
    }
}

impl std::error::Error for ConfigProblem {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigProblem::Origin { error, .. }
            | ConfigProblem::OriginsFileLine {
                problem: OriginsFileProblem::Origin(error),
                ..
            } => Some(error),
            _ => None,
        }
    }
}

impl ConfigProblem {
    /// The field the problem is about, with the entry's index for lists
    /// (`allow_origins[2]`), as a tool would point at it.
    #[must_use]
    pub fn field(&self) -> String {
        let (name, index) = match self {
            ConfigProblem::NoOrigins => ("allow_origins", None),
            ConfigProblem::Origin { index, .. }
            | ConfigProblem::AnyOriginWithCredentials { index }
            | ConfigProblem::InsecureOriginWithCredentials { index, .. }
            | ConfigProblem::PublicSuffixWildcardWithCredentials { index, .. } => {
                ("allow_origins", Some(index))
            }
            ConfigProblem::MethodNotAToken { index, .. }
            | ConfigProblem::ForbiddenMethod { index, .. } => ("allow_methods", Some(index)),
            ConfigProblem::AllowHeaderNotAToken { index, .. }
            | ConfigProblem::ForbiddenAllowHeader { index, .. } => ("allow_headers", Some(index)),
            ConfigProblem::ExposeHeaderNotAToken { index, .. }
            | ConfigProblem::ExposedSetCookie { index, .. }
            | ConfigProblem::AnyExposeWithCredentials { index } => ("expose_headers", Some(index)),
            ConfigProblem::MaxAgeTooLarge { .. } => ("max_age", None),
            ConfigProblem::PreflightStatus { .. } => ("preflight_status", None),
            ConfigProblem::ReportOnlyWithoutBrowser => ("mode", None),
            ConfigProblem::OriginsFileUnreadable { .. }
            | ConfigProblem::OriginsFileLine { .. }
            | ConfigProblem::OriginsFileMoreLines { .. } => ("allow_origins_file", None),
            ConfigProblem::OriginSource { field, .. } => {
                return format!("origin_source.{field}");
            }
        };
        match index {
            Some(index) => format!("{name}[{index}]"),
            None => name.to_owned(),
        }
    }
}

impl ConfigError {
    /// Every problem as a [`Diagnostic`](crate::config::Diagnostic) (code
    /// `invalid`) about a field inside `prefix` (empty for a policy at the
    /// top of its document), for a tool to locate and print.
    #[must_use]
    pub fn diagnostics(&self, prefix: &str) -> Vec<crate::config::Diagnostic> {
        self.problems
            .iter()
            .map(|problem| {
                crate::config::Diagnostic::error("invalid", problem.field(), problem.to_string())
                    .within(prefix)
            })
            .collect()
    }
}
