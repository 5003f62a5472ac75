//! Which policy governs a request: among the `[[routes]]` whose `host` and
//! `path_prefix` match it, the one with the most specific host (a name,
//! then the longest `*.` suffix, then none), then the longest prefix; else
//! the default `[cors]` policy.
//!
//! Hosts compare as browsers send them in `Host` (and HTTP/2 in
//! `:authority`): case-insensitively, without a final dot, and whatever the
//! port, which a browser writes only when it is not the scheme's default
//! and which is the proxy's own, since it listens on one.

use std::fmt;
use std::sync::Arc;

use corsair::policy::Policy;
use serde::Serialize;

/// A route's `host`: a name (`api.example.com`), or `*.` and a suffix
/// (`*.example.com`, which matches `a.example.com` and `a.b.example.com`
/// but not `example.com`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern {
    /// Lowercase; for a wildcard, the suffix with its leading dot
    /// (`.example.com`).
    name: String,
    wildcard: bool,
}

impl HostPattern {
    /// Parses a route's `host`.
    ///
    /// # Errors
    /// Why `text` is not a host name or a `*.` wildcard, as a sentence.
    pub fn parse(text: &str) -> Result<Self, String> {
        let lower = text.to_ascii_lowercase();
        let (wildcard, name) = match lower.strip_prefix("*.") {
            Some(suffix) => (true, suffix),
            None => (false, lower.as_str()),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() {
            return Err(format!("{text:?} names no host"));
        }
        if name.contains('*') {
            return Err(format!(
                "{text:?}: a wildcard is a whole first label, as in \"*.example.com\""
            ));
        }
        if name.contains("://") {
            return Err(format!(
                "{text:?} is a URL: write the host alone, as in \"api.example.com\""
            ));
        }
        let literal_v6 = name.starts_with('[') && name.ends_with(']');
        if !literal_v6 && name.contains(':') {
            return Err(format!(
                "{text:?} has a port: a route matches its host on any port (the proxy listens \
                 on one, and browsers leave the default out); write the host alone"
            ));
        }
        let allowed = |byte: u8| {
            byte.is_ascii_alphanumeric()
                || byte == b'-'
                || byte == b'.'
                || (literal_v6 && matches!(byte, b'[' | b']' | b':'))
        };
        if let Some(bad) = name.bytes().find(|&byte| !allowed(byte)) {
            return Err(format!(
                "{text:?} is not a host name: {:?} is not allowed in one",
                char::from(bad)
            ));
        }
        if !literal_v6 && name.split('.').any(str::is_empty) {
            return Err(format!("{text:?} has an empty label"));
        }
        Ok(HostPattern {
            name: if wildcard {
                format!(".{name}")
            } else {
                name.to_owned()
            },
            wildcard,
        })
    }

    /// Whether `host` (a request's host, without its port) matches.
    fn matches(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        if self.wildcard {
            host.len() > self.name.len()
                && host
                    .get(host.len() - self.name.len()..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(&self.name))
        } else {
            host.eq_ignore_ascii_case(&self.name)
        }
    }

    /// How specific the pattern is: a name above every wildcard, and a
    /// longer wildcard suffix above a shorter one.
    fn specificity(&self) -> (bool, usize) {
        (!self.wildcard, self.name.len())
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            write!(f, "*{}", self.name)
        } else {
            f.write_str(&self.name)
        }
    }
}

/// The host part of a `Host` value or of an authority: without the port
/// (and the brackets of an IPv6 literal kept).
#[must_use]
pub fn host_without_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _port)| host)
}

/// One `[[routes]]` entry, compiled.
#[derive(Clone, Debug)]
pub struct Route {
    /// The host it governs, any when `None`.
    pub host: Option<HostPattern>,
    /// The start of the paths it governs, any when `None`.
    pub path_prefix: Option<String>,
    /// Its place in the file (`routes[index]`).
    pub index: usize,
    /// Its policy.
    pub policy: Arc<Policy>,
}

impl Route {
    /// Whether it governs a request to `host` (without its port) for
    /// `path`.
    fn matches(&self, host: Option<&str>, path: &str) -> bool {
        let host_matches = match (&self.host, host) {
            (None, _) => true,
            (Some(pattern), Some(host)) => pattern.matches(host),
            (Some(_), None) => false,
        };
        host_matches
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|prefix| path.starts_with(prefix))
    }

    /// How it reads in logs, metrics and `/config`: its host followed by
    /// its prefix (`api.example.com/v1/`), or either alone.
    #[must_use]
    pub fn label(&self) -> String {
        let host = self.host.as_ref().map(ToString::to_string);
        format!(
            "{}{}",
            host.unwrap_or_default(),
            self.path_prefix.as_deref().unwrap_or_default()
        )
    }

    /// The `[[routes]]` entry, as `explain` names it.
    #[must_use]
    pub fn describe(&self) -> String {
        match (&self.host, &self.path_prefix) {
            (Some(host), Some(prefix)) => {
                format!("the [[routes]] entry with host = \"{host}\" and path_prefix = {prefix:?}")
            }
            (Some(host), None) => format!("the [[routes]] entry with host = \"{host}\""),
            (None, Some(prefix)) => format!("the [[routes]] entry with path_prefix = {prefix:?}"),
            (None, None) => format!("routes[{}]", self.index),
        }
    }
}

/// One row of the route table as `/config` shows it, in the order routes
/// are tried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteRow {
    /// `routes[index]`, or `cors` for the default policy.
    pub entry: String,
    /// The host matched, `*` for any.
    pub host: String,
    /// The prefix matched, `/` for any.
    pub path_prefix: String,
    /// `enforce` or `report-only`.
    pub mode: &'static str,
}

/// The compiled policies of a proxy file.
#[derive(Clone, Debug)]
pub struct RouteTable {
    default: Arc<Policy>,
    /// In the order they are tried: the most specific host first, then the
    /// longest prefix, so the first match wins.
    routes: Vec<Route>,
}

impl RouteTable {
    /// A table of `routes` over `default`.
    #[must_use]
    pub fn new(default: Arc<Policy>, mut routes: Vec<Route>) -> Self {
        routes.sort_by_key(|route| {
            std::cmp::Reverse((
                route.host.as_ref().map(HostPattern::specificity),
                route.path_prefix.as_ref().map_or(0, String::len),
            ))
        });
        RouteTable { default, routes }
    }

    /// A table of the default policy alone.
    #[must_use]
    pub fn single(default: Arc<Policy>) -> Self {
        RouteTable::new(default, Vec::new())
    }

    /// The policy for a request to `host` (a `Host` value or an authority;
    /// `None` when the request names none) for `path`. Prefixes match
    /// bytes, so `/api` matches `/api`, `/api/` and `/apiv2`; write `/api/`
    /// to mean the directory.
    #[must_use]
    pub fn policy_for(&self, host: Option<&str>, path: &str) -> &Arc<Policy> {
        self.route_for(host, path).1
    }

    /// The route that governs a request to `host` for `path` (`None` for
    /// the default policy), and its policy.
    #[must_use]
    pub fn route_for(&self, host: Option<&str>, path: &str) -> (Option<&Route>, &Arc<Policy>) {
        let host = host.map(host_without_port);
        self.routes
            .iter()
            .find(|route| route.matches(host, path))
            .map_or((None, &self.default), |route| (Some(route), &route.policy))
    }

    /// Every policy with its route (`None` for the default policy, which
    /// comes first).
    pub fn policies(&self) -> impl Iterator<Item = (Option<&Route>, &Arc<Policy>)> {
        std::iter::once((None, &self.default))
            .chain(self.routes.iter().map(|route| (Some(route), &route.policy)))
    }

    /// The table in the order routes are tried, the default last.
    #[must_use]
    pub fn rows(&self) -> Vec<RouteRow> {
        self.routes
            .iter()
            .map(|route| RouteRow {
                entry: format!("routes[{}]", route.index),
                host: route
                    .host
                    .as_ref()
                    .map_or_else(|| "*".to_owned(), ToString::to_string),
                path_prefix: route.path_prefix.clone().unwrap_or_else(|| "/".to_owned()),
                mode: route.policy.config().mode.as_str(),
            })
            .chain(std::iter::once(RouteRow {
                entry: "cors".to_owned(),
                host: "*".to_owned(),
                path_prefix: "/".to_owned(),
                mode: self.default.config().mode.as_str(),
            }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corsair::Config;

    fn policy(origin: &str) -> Arc<Policy> {
        Arc::new(
            Policy::new(Config {
                allow_origins: vec![origin.to_owned()],
                ..Config::default()
            })
            .unwrap(),
        )
    }

    fn route(index: usize, host: Option<&str>, prefix: Option<&str>, origin: &str) -> Route {
        Route {
            host: host.map(|host| HostPattern::parse(host).unwrap()),
            path_prefix: prefix.map(str::to_owned),
            index,
            policy: policy(origin),
        }
    }

    fn origin(table: &RouteTable, host: Option<&str>, path: &str) -> String {
        table.policy_for(host, path).config().allow_origins[0].clone()
    }

    #[test]
    fn the_longest_prefix_wins_whatever_the_order() {
        let table = RouteTable::new(
            policy("https://default.example"),
            vec![
                route(0, None, Some("/api/"), "https://api.example"),
                route(1, None, Some("/api/public/"), "https://public.example"),
            ],
        );
        assert_eq!(
            origin(&table, None, "/api/public/x"),
            "https://public.example"
        );
        assert_eq!(origin(&table, None, "/api/private"), "https://api.example");
        assert_eq!(origin(&table, None, "/api"), "https://default.example");
        assert_eq!(origin(&table, None, "/"), "https://default.example");
    }

    #[test]
    fn the_most_specific_host_wins_then_the_longest_prefix() {
        let table = RouteTable::new(
            policy("https://default.example"),
            vec![
                route(0, None, Some("/admin/very/long/"), "https://prefix.example"),
                route(1, Some("*.example.com"), None, "https://wild.example"),
                route(2, Some("*.eu.example.com"), None, "https://eu.example"),
                route(3, Some("api.example.com"), None, "https://api.example"),
                route(
                    4,
                    Some("api.example.com"),
                    Some("/v2/"),
                    "https://v2.example",
                ),
            ],
        );
        let cases = [
            (Some("api.example.com"), "/v1/x", "https://api.example"),
            (Some("api.example.com"), "/v2/x", "https://v2.example"),
            // A host route outranks any prefix without a host.
            (
                Some("api.example.com"),
                "/admin/very/long/x",
                "https://api.example",
            ),
            (Some("shop.example.com"), "/", "https://wild.example"),
            (Some("shop.eu.example.com"), "/", "https://eu.example"),
            (Some("a.b.example.com"), "/", "https://wild.example"),
            // `*.example.com` is not `example.com`.
            (Some("example.com"), "/", "https://default.example"),
            (
                Some("example.com"),
                "/admin/very/long/",
                "https://prefix.example",
            ),
            (None, "/", "https://default.example"),
        ];
        for (host, path, expected) in cases {
            assert_eq!(origin(&table, host, path), expected, "{host:?} {path}");
        }
        let rows = table.rows();
        let order: Vec<&str> = rows.iter().map(|row| row.entry.as_str()).collect();
        assert_eq!(
            order,
            [
                "routes[4]",
                "routes[3]",
                "routes[2]",
                "routes[1]",
                "routes[0]",
                "cors"
            ]
        );
    }

    #[test]
    fn hosts_compare_as_browsers_send_them() {
        let table = RouteTable::new(
            policy("https://default.example"),
            vec![route(
                0,
                Some("API.Example.com"),
                None,
                "https://api.example",
            )],
        );
        for host in [
            "api.example.com",
            "API.EXAMPLE.COM",
            "api.example.com:443",
            "api.example.com:8443",
            "api.example.com.",
        ] {
            assert_eq!(
                origin(&table, Some(host), "/"),
                "https://api.example",
                "{host}"
            );
        }
        for host in [
            "api.example.com.evil",
            "evil-api.example.com",
            "example.com",
        ] {
            assert_eq!(
                origin(&table, Some(host), "/"),
                "https://default.example",
                "{host}"
            );
        }
        assert_eq!(host_without_port("[::1]:8080"), "[::1]");
        assert_eq!(host_without_port("[::1]"), "[::1]");
        assert_eq!(host_without_port("a.example:80"), "a.example");
    }

    #[test]
    fn host_patterns_say_what_is_wrong() {
        for (text, fault) in [
            ("", "names no host"),
            ("*.", "names no host"),
            ("api.*.example.com", "whole first label"),
            ("*example.com", "whole first label"),
            ("api.example.com:8080", "has a port"),
            ("api example.com", "' ' is not allowed"),
            ("https://api.example.com", "is a URL"),
            ("api..example.com", "empty label"),
        ] {
            let error = HostPattern::parse(text).unwrap_err();
            assert!(error.contains(fault), "{text:?}: {error}");
        }
        assert_eq!(
            HostPattern::parse("*.Example.COM").unwrap().to_string(),
            "*.example.com"
        );
        assert!(HostPattern::parse("[::1]").is_ok());
    }
}
