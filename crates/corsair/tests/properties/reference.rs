//! The obviously-correct side of the properties: a linear-scan origin
//! matcher and a preflight judge written straight from the documentation
//! (`OriginPattern`'s table, `RequestOrigin`'s grammar, the crate docs'
//! rules 6 and 7, `Config`'s field table), sharing no code with the engine.

use corsair::Config;
use corsair::config::WebSocketOrigins;

/// The port part of an allowed origin or pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Port {
    /// No port written: the origin has none.
    Default,
    /// `:n`.
    Exact(u16),
    /// `:*`: any port, or none.
    Any,
}

/// The host part of an allowed origin or pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    /// This host only.
    Exact(String),
    /// `*.base`: one or more labels before `base`, not `base` itself.
    Subdomains(String),
}

/// One `allow_origins` entry other than `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    scheme: String,
    host: Host,
    port: Port,
}

impl Pattern {
    /// Reads an entry that `Policy::new` accepted: `scheme://host[:port]`,
    /// the host possibly `*.base`, the port possibly `*`.
    fn parse(text: &str) -> Option<Pattern> {
        let (scheme, rest) = text.split_once("://")?;
        let (host, port) = if rest.starts_with('[') {
            let close = rest.find(']')?;
            let (host, after) = rest.split_at(close + 1);
            if after.is_empty() {
                (host, None)
            } else {
                (host, Some(after.strip_prefix(':')?))
            }
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        let port = match port {
            None => Port::Default,
            Some("*") => Port::Any,
            Some(number) => Port::Exact(number.parse().ok()?),
        };
        let host = match host.strip_prefix("*.") {
            Some(base) => Host::Subdomains(base.to_owned()),
            None => Host::Exact(host.to_owned()),
        };
        Some(Pattern {
            scheme: scheme.to_owned(),
            host,
            port,
        })
    }

    fn matches(&self, origin: &Origin) -> bool {
        let host = match &self.host {
            Host::Exact(host) => *host == origin.host,
            Host::Subdomains(base) => origin
                .host
                .strip_suffix(base.as_str())
                .and_then(|labels| labels.strip_suffix('.'))
                .is_some_and(|labels| !labels.is_empty()),
        };
        let port = match self.port {
            Port::Default => origin.port.is_none(),
            Port::Exact(number) => origin.port == Some(number),
            Port::Any => true,
        };
        self.scheme == origin.scheme && host && port
    }
}

/// A well-formed request origin, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) scheme: String,
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
}

/// The port browsers leave out of origins of `scheme`.
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Parses an `Origin` value as `RequestOrigin`'s documentation describes
/// what browsers send: `scheme "://" host [":" port]`, lowercase, no default
/// port, at most 512 bytes. `null` and everything else is `None`.
pub(crate) fn parse_origin(value: &[u8]) -> Option<Origin> {
    if value.len() > 512 {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?;
    let (scheme, rest) = text.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c));
    if !scheme_ok {
        return None;
    }
    let (host, port) = if rest.starts_with('[') {
        let close = rest.find(']')?;
        let (host, after) = rest.split_at(close + 1);
        let inner = host.get(1..host.len() - 1)?;
        let inner_ok = !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || ":.".contains(c));
        if !inner_ok {
            return None;
        }
        (host, after)
    } else {
        let end = rest.find(':').unwrap_or(rest.len());
        let (host, after) = rest.split_at(end);
        // Non-empty labels of [a-z0-9-_], with at most a trailing dot.
        let labels: Vec<&str> = host.strip_suffix('.').unwrap_or(host).split('.').collect();
        let host_ok = labels.iter().all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_".contains(c))
        });
        if !host_ok {
            return None;
        }
        (host, after)
    };
    let port = match port {
        "" => None,
        _ => {
            let digits = port.strip_prefix(':')?;
            let canonical = (1..=5).contains(&digits.len())
                && digits.chars().all(|c| c.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'));
            if !canonical {
                return None;
            }
            let number: u16 = digits.parse().ok()?;
            if Some(number) == default_port(scheme) {
                return None;
            }
            Some(number)
        }
    };
    Some(Origin {
        scheme: scheme.to_owned(),
        host: host.to_owned(),
        port,
    })
}

/// The allowed origins of a configuration, scanned one by one.
#[derive(Clone, Debug)]
pub(crate) struct Matcher {
    /// `*` is among the entries.
    pub(crate) any: bool,
    patterns: Vec<Pattern>,
}

impl Matcher {
    /// The matcher of a configuration `Policy::new` accepted.
    pub(crate) fn new(allow_origins: &[String]) -> Matcher {
        Matcher {
            any: allow_origins.iter().any(|entry| entry == "*"),
            patterns: allow_origins
                .iter()
                .filter(|entry| *entry != "*")
                .map(|entry| {
                    Pattern::parse(entry)
                        .unwrap_or_else(|| panic!("reference cannot read pattern {entry}"))
                })
                .collect(),
        }
    }

    /// Whether an `Origin` value is allowed: `*` allows anything; otherwise
    /// a well-formed origin matching some entry (`null` never does).
    pub(crate) fn allows(&self, value: &[u8]) -> bool {
        self.any
            || parse_origin(value)
                .is_some_and(|origin| self.patterns.iter().any(|p| p.matches(&origin)))
    }
}

/// RFC 9110 `tchar`.
pub(crate) fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// Fetch's normalisation: the six methods in any case become uppercase.
fn normalize(method: &str) -> String {
    let upper = method.to_ascii_uppercase();
    if ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].contains(&upper.as_str()) {
        upper
    } else {
        method.to_owned()
    }
}

/// Whether a preflight's `Access-Control-Request-Method` values are allowed:
/// exactly one, a token, and `GET`/`HEAD`/`POST` (byte for byte), or not
/// forbidden and listed (after normalising the list) or `*`.
pub(crate) fn method_allowed(config: &Config, values: &[Vec<u8>]) -> bool {
    let [value] = values else {
        return false;
    };
    let Ok(method) = std::str::from_utf8(value) else {
        return false;
    };
    if !is_token(method) {
        return false;
    }
    if matches!(method, "GET" | "HEAD" | "POST") {
        return true;
    }
    let forbidden = ["CONNECT", "TRACE", "TRACK"]
        .iter()
        .any(|f| method.eq_ignore_ascii_case(f));
    !forbidden
        && config
            .allow_methods
            .iter()
            .any(|allowed| allowed == "*" || normalize(allowed) == method)
}

/// Whether every requested header name is allowed: listed in any case, or
/// `*` in the list.
pub(crate) fn headers_allowed(config: &Config, names: &[String]) -> bool {
    names.iter().all(|name| {
        config
            .allow_headers
            .iter()
            .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(name))
    })
}

/// Whether the policy refuses an actual request with `403` before the
/// application runs:
/// - with `websocket_origins = "enforce"`, a WebSocket handshake (`GET` with
///   `Upgrade` naming `websocket`, or `CONNECT`) from an origin neither
///   allowed nor the request's own (by one `Sec-Fetch-Site: same-origin`,
///   or `Origin` against `Host`);
/// - with cross-origin protection, an unsafe method whose origin the policy
///   does not allow, from another site by `Sec-Fetch-Site` (anything but
///   one `same-origin` or `none`), or without it from an `Origin` that is
///   not the request's own.
///
/// A request with neither `Origin` nor `Sec-Fetch-Site` passes.
pub(crate) fn forbidden(
    config: &Config,
    method: &str,
    origin_allowed: bool,
    origins: &[Vec<u8>],
    headers: &http::HeaderMap,
) -> bool {
    let lines = |name: &str| -> Vec<&[u8]> {
        headers
            .get_all(name)
            .iter()
            .map(http::HeaderValue::as_bytes)
            .collect()
    };
    // The origin's host and port are the request's one `Host`.
    let own = |origin: &[u8]| {
        let text = String::from_utf8_lossy(origin);
        let authority = text
            .split_once("://")
            .map(|(_, rest)| rest.to_ascii_lowercase());
        let hosts = lines("host");
        hosts.len() == 1
            && authority.as_deref()
                == Some(&*String::from_utf8_lossy(hosts[0]).to_ascii_lowercase())
    };
    if origin_allowed {
        return false;
    }
    let handshake = match method {
        "CONNECT" => true,
        "GET" => lines("upgrade").iter().any(|line| {
            String::from_utf8_lossy(line).split(',').any(|protocol| {
                let protocol = protocol.trim_matches([' ', '\t']);
                let name = protocol.split('/').next().unwrap_or_default();
                name.eq_ignore_ascii_case("websocket")
            })
        }),
        _ => false,
    };
    // The browser's word that the page is of the request's own origin.
    let sites = lines("sec-fetch-site");
    let fetch_same_origin = sites.len() == 1 && sites[0] == b"same-origin";
    if config.websocket_origins == WebSocketOrigins::Enforce
        && handshake
        && !fetch_same_origin
        && origins.first().is_some_and(|origin| !own(origin))
    {
        return true;
    }
    if !config.cross_origin_protection || matches!(method, "GET" | "HEAD" | "OPTIONS") {
        return false;
    }
    if !sites.is_empty() {
        return !(sites.len() == 1 && (sites[0] == b"same-origin" || sites[0] == b"none"));
    }
    origins.first().is_some_and(|origin| !own(origin))
}

/// Whether a `Vary` value names `Origin` (in any case) or is `*`.
pub(crate) fn varies_on_origin<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> bool {
    lines.into_iter().any(|line| {
        String::from_utf8_lossy(line).split(',').any(|element| {
            let element = element.trim_matches([' ', '\t']);
            element == "*" || element.eq_ignore_ascii_case("origin")
        })
    })
}

#[test]
fn the_reference_reads_the_documented_examples() {
    let allows = |patterns: &[&str], origin: &str| {
        let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
        Matcher::new(&patterns).allows(origin.as_bytes())
    };
    assert!(allows(
        &["https://*.example.com"],
        "https://a.b.example.com"
    ));
    assert!(!allows(&["https://*.example.com"], "https://example.com"));
    assert!(!allows(
        &["https://*.example.com"],
        "https://evilexample.com"
    ));
    assert!(!allows(
        &["https://*.example.com"],
        "https://a.example.com:8443"
    ));
    assert!(allows(
        &["https://*.example.com:*"],
        "https://a.example.com:8443"
    ));
    assert!(allows(&["http://localhost:*"], "http://localhost"));
    assert!(allows(&["http://[::1]:*"], "http://[::1]:3000"));
    assert!(!allows(&["http://localhost:*"], "http://localhost:80"));
    assert!(!allows(
        &["https://app.example.com"],
        "https://app.example.com."
    ));
    assert!(!allows(
        &["https://app.example.com"],
        "HTTPS://app.example.com"
    ));
    assert!(!allows(&["https://app.example.com"], "null"));
    assert!(allows(&["*"], "null"));
}
