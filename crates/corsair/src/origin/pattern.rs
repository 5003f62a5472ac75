//! One entry of `allow_origins`: an exact origin or one of the few patterns
//! corsair supports, validated with errors that say how to fix them.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::host::{ends_in_number, is_label_byte, is_loopback, serialize_ipv6};
use super::request::{default_port, is_scheme, parse_port};

/// An allowed origin, as written in `allow_origins`.
///
/// | written                              | matches                                              |
/// |--------------------------------------|------------------------------------------------------|
/// | `https://app.example.com`            | that origin only                                     |
/// | `http://localhost:8080`, `http://[::1]:3000` | that origin only                              |
/// | `https://*.example.com`              | `https://a.example.com`, `https://a.b.example.com`; not `https://example.com` |
/// | `https://*.example.com:8443`         | the same subdomains on port 8443                     |
/// | `http://localhost:*`                 | `http://localhost` on any port, or none              |
/// | `*`                                  | any origin (only without credentials)                |
///
/// ```
/// use corsair::origin::{OriginPattern, OriginError};
///
/// assert!(matches!(OriginPattern::parse("https://*.example.com"), Ok(OriginPattern::Subdomains { .. })));
/// assert!(matches!(OriginPattern::parse("https://app.example.com/"), Err(OriginError::Path { .. })));
/// assert_eq!(
///     OriginPattern::parse("https://app.example.com:443").unwrap_err().to_string(),
///     "browsers omit the default port from origins; write https://app.example.com",
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OriginPattern {
    /// `*`: every origin.
    Any,
    /// One origin, compared byte for byte.
    Exact {
        /// The origin as browsers serialise it.
        origin: String,
        /// Its scheme.
        scheme: String,
        /// Its host (IPv6 in brackets).
        host: String,
    },
    /// `scheme://host:*`: one host on any port, or none.
    AnyPort {
        /// The scheme.
        scheme: String,
        /// The host (IPv6 in brackets).
        host: String,
    },
    /// `scheme://*.base[:port]`: every host with one or more labels before
    /// `base`, with `http` or `https`.
    Subdomains {
        /// `true` for `https`, `false` for `http`.
        https: bool,
        /// The domain under which any subdomain matches (not itself).
        base: String,
        /// The port the subdomains must use.
        port: PatternPort,
    },
}

/// The port part of a subdomain pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PatternPort {
    /// No port written: the scheme's default.
    Default,
    /// One port.
    Exact(u16),
    /// `:*`: any port, or none.
    Any,
}

/// Why an `allow_origins` entry is refused, with what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginError {
    /// The entry is empty.
    Empty,
    /// `null`.
    Null,
    /// A `file://` origin.
    File,
    /// Not of the form `scheme://host[:port]`.
    NotAnOrigin,
    /// Written with uppercase letters, which browsers never send.
    Uppercase {
        /// The entry in lowercase.
        lowercase: String,
    },
    /// A path, even `/`.
    Path {
        /// The entry without its path.
        origin: String,
    },
    /// A query string.
    Query {
        /// The entry without its query.
        origin: String,
    },
    /// A fragment.
    Fragment {
        /// The entry without its fragment.
        origin: String,
    },
    /// `user:password@` before the host.
    Userinfo {
        /// The entry without its userinfo.
        origin: String,
    },
    /// The scheme's default port, which browsers leave out.
    DefaultPort {
        /// The entry without its port.
        origin: String,
    },
    /// A port that is not a number from 0 to 65535 (or `*`).
    Port {
        /// The port as written.
        port: String,
    },
    /// A scheme that is not `[a-z][a-z0-9+.-]*`.
    Scheme {
        /// The scheme as written.
        scheme: String,
    },
    /// A host with characters browsers never send, or empty labels.
    Host {
        /// The host as written.
        host: String,
    },
    /// A host with non-ASCII characters.
    NonAsciiHost {
        /// The host as written.
        host: String,
    },
    /// An IP address not in the form browsers write it.
    NonCanonicalAddress {
        /// The address as browsers write it.
        canonical: String,
    },
    /// Something that looks like a regular expression.
    Regex,
    /// A `*` anywhere but a leading `*.` label or the port.
    MisplacedWildcard,
    /// A subdomain wildcard on a scheme other than `http` or `https`.
    WildcardScheme,
    /// A subdomain wildcard under an IP address.
    WildcardAddress,
}

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginError::Empty => write!(
                f,
                "an empty string is not an origin; write scheme://host[:port], e.g. https://app.example.com"
            ),
            OriginError::Null => write!(
                f,
                "`null` is the origin of sandboxed iframes, file: and data: pages and redirect chains; \
         any page can make its requests carry it, so corsair never allows it"
            ),
            OriginError::File => write!(
                f,
                "file: pages send `Origin: null`, which corsair never allows; serve the page over http(s)"
            ),
            OriginError::NotAnOrigin => write!(
                f,
                "not an origin; write scheme://host[:port], e.g. https://app.example.com"
            ),
            OriginError::Uppercase { lowercase } => {
                write!(f, "browsers send origins in lowercase; write {lowercase}")
            }
            OriginError::Path { origin } => write!(
                f,
                "an origin has no path, not even a trailing slash; write {origin}"
            ),
            OriginError::Query { origin } => {
                write!(f, "an origin has no query string; write {origin}")
            }
            OriginError::Fragment { origin } => {
                write!(f, "an origin has no fragment; write {origin}")
            }
            OriginError::Userinfo { origin } => {
                write!(f, "an origin has no user name or password; write {origin}")
            }
            OriginError::DefaultPort { origin } => write!(
                f,
                "browsers omit the default port from origins; write {origin}"
            ),
            OriginError::Port { port } => write!(
                f,
                "the port `{port}` is not a number from 0 to 65535 without leading zeros, or `*`"
            ),
            OriginError::Scheme { scheme } => write!(f, "`{scheme}` is not a URL scheme"),
            OriginError::Host { host } => write!(
                f,
                "`{host}` is not a host as browsers send it: lowercase labels of letters, digits, `-` and `_` \
         separated by single dots, a dotted IPv4 address, or an IPv6 address in brackets"
            ),
            OriginError::NonAsciiHost { host } => write!(
                f,
                "browsers send internationalised host names in their ASCII form; write `{host}` as punycode (xn--...)"
            ),
            OriginError::NonCanonicalAddress { canonical } => {
                write!(f, "browsers write this address as {canonical}")
            }
            OriginError::Regex => write!(
                f,
                "this looks like a regular expression; corsair takes exact origins and the patterns \
         https://*.example.com and http://localhost:*, which cannot match more than you meant"
            ),
            OriginError::MisplacedWildcard => write!(
                f,
                "`*` may only stand for leading labels (https://*.example.com), for the port \
         (http://localhost:*), or alone for every origin"
            ),
            OriginError::WildcardScheme => write!(
                f,
                "subdomain wildcards are supported for http and https origins only"
            ),
            OriginError::WildcardAddress => write!(
                f,
                "an IP address has no subdomains; list the addresses you mean"
            ),
        }
    }
}

impl std::error::Error for OriginError {}

impl OriginError {
    /// The entry as it should be written, where the error names one.
    fn suggestion(&self) -> Option<&str> {
        match self {
            OriginError::Uppercase { lowercase: fixed }
            | OriginError::Path { origin: fixed }
            | OriginError::Query { origin: fixed }
            | OriginError::Fragment { origin: fixed }
            | OriginError::Userinfo { origin: fixed }
            | OriginError::DefaultPort { origin: fixed } => Some(fixed),
            _ => None,
        }
    }

    /// Replaces the entry as it should be written.
    fn suggest(&mut self, spelling: String) {
        if let OriginError::Uppercase { lowercase: fixed }
        | OriginError::Path { origin: fixed }
        | OriginError::Query { origin: fixed }
        | OriginError::Fragment { origin: fixed }
        | OriginError::Userinfo { origin: fixed }
        | OriginError::DefaultPort { origin: fixed } = self
        {
            *fixed = spelling;
        }
    }
}

impl OriginPattern {
    /// Parses one entry of `allow_origins`.
    ///
    /// # Errors
    /// An [`OriginError`] naming the problem and the form to write instead.
    ///
    /// The form suggested is the one that parses: an entry with several
    /// problems (`https://App.example.com:443/`) is named by its first,
    /// with the spelling that fixes them all (`https://app.example.com`).
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        let mut error = match Self::parse_once(text) {
            Ok(pattern) => return Ok(pattern),
            Err(error) => error,
        };
        // Each fix removes one problem; an origin has only so many.
        let mut suggested = error.suggestion().map(str::to_owned);
        for _ in 0..8 {
            let Some(candidate) = suggested.take() else {
                break;
            };
            match Self::parse_once(&candidate) {
                Ok(_) => {
                    error.suggest(candidate);
                    break;
                }
                Err(next) => suggested = next.suggestion().map(str::to_owned),
            }
        }
        Err(error)
    }

    fn parse_once(text: &str) -> Result<Self, OriginError> {
        match text {
            "" => return Err(OriginError::Empty),
            "*" => return Ok(OriginPattern::Any),
            _ if text.eq_ignore_ascii_case("null") => return Err(OriginError::Null),
            _ => {}
        }
        if looks_like_regex(text) {
            return Err(OriginError::Regex);
        }
        let (scheme, rest) = text.split_once("://").ok_or(OriginError::NotAnOrigin)?;
        if scheme.eq_ignore_ascii_case("file") {
            return Err(OriginError::File);
        }
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(OriginError::Uppercase {
                lowercase: text.to_ascii_lowercase(),
            });
        }
        if !is_scheme(scheme) {
            return Err(OriginError::Scheme {
                scheme: scheme.to_owned(),
            });
        }

        // Whatever follows the authority, say what the origin is without it.
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at_checked(authority_end).unwrap_or((rest, ""));
        let origin = || format!("{scheme}://{authority}");
        match tail.bytes().next() {
            Some(b'/') => return Err(OriginError::Path { origin: origin() }),
            Some(b'?') => return Err(OriginError::Query { origin: origin() }),
            Some(b'#') => return Err(OriginError::Fragment { origin: origin() }),
            _ => {}
        }
        if let Some((_, after)) = authority.rsplit_once('@') {
            return Err(OriginError::Userinfo {
                origin: format!("{scheme}://{after}"),
            });
        }
        if authority.is_empty() || authority.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(OriginError::NotAnOrigin);
        }
        if authority.starts_with("*.[") {
            return Err(OriginError::WildcardAddress);
        }

        let (host, port) = split_host_port(authority)?;
        let port = match port {
            None => PatternPort::Default,
            Some("*") => PatternPort::Any,
            Some(text) => {
                let number = parse_port(text).ok_or_else(|| OriginError::Port {
                    port: text.to_owned(),
                })?;
                if Some(number) == default_port(scheme) {
                    return Err(OriginError::DefaultPort {
                        origin: format!("{scheme}://{host}"),
                    });
                }
                PatternPort::Exact(number)
            }
        };

        if let Some(base) = host.strip_prefix("*.") {
            let https = match scheme {
                "https" => true,
                "http" => false,
                _ => return Err(OriginError::WildcardScheme),
            };
            if base.starts_with('[') || ends_in_number(base) {
                return Err(OriginError::WildcardAddress);
            }
            check_host(base)?;
            return Ok(OriginPattern::Subdomains {
                https,
                base: base.to_owned(),
                port,
            });
        }
        check_host(host)?;
        match port {
            PatternPort::Any => Ok(OriginPattern::AnyPort {
                scheme: scheme.to_owned(),
                host: host.to_owned(),
            }),
            PatternPort::Default => Ok(OriginPattern::Exact {
                origin: format!("{scheme}://{host}"),
                scheme: scheme.to_owned(),
                host: host.to_owned(),
            }),
            PatternPort::Exact(number) => Ok(OriginPattern::Exact {
                origin: format!("{scheme}://{host}:{number}"),
                scheme: scheme.to_owned(),
                host: host.to_owned(),
            }),
        }
    }

    /// Whether the pattern can only match origins that a network attacker
    /// cannot impersonate: every scheme but `http`, and `http` on loopback
    /// hosts (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`).
    #[must_use]
    pub fn is_secure(&self) -> bool {
        match self {
            OriginPattern::Any => false,
            OriginPattern::Exact { scheme, host, .. } | OriginPattern::AnyPort { scheme, host } => {
                scheme != "http" || is_loopback(host)
            }
            OriginPattern::Subdomains { https, base, .. } => *https || is_loopback(base),
        }
    }

    /// The scheme the pattern matches, `None` for `*`.
    ///
    /// ```
    /// use corsair::origin::OriginPattern;
    /// assert_eq!(OriginPattern::parse("https://*.example.com")?.scheme(), Some("https"));
    /// assert_eq!(OriginPattern::parse("*")?.scheme(), None);
    /// # Ok::<(), corsair::origin::OriginError>(())
    /// ```
    #[must_use]
    pub fn scheme(&self) -> Option<&str> {
        match self {
            OriginPattern::Any => None,
            OriginPattern::Exact { scheme, .. } | OriginPattern::AnyPort { scheme, .. } => {
                Some(scheme)
            }
            OriginPattern::Subdomains { https: true, .. } => Some("https"),
            OriginPattern::Subdomains { https: false, .. } => Some("http"),
        }
    }

    /// Whether the pattern names loopback hosts only (`localhost`,
    /// `*.localhost`, `127.0.0.0/8`, `[::1]`): a development origin, which
    /// any program on the visitor's machine can serve.
    ///
    /// ```
    /// use corsair::origin::OriginPattern;
    /// assert!(OriginPattern::parse("http://localhost:*")?.is_loopback());
    /// assert!(OriginPattern::parse("http://[::1]:3000")?.is_loopback());
    /// assert!(!OriginPattern::parse("https://app.example.com")?.is_loopback());
    /// # Ok::<(), corsair::origin::OriginError>(())
    /// ```
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        match self {
            OriginPattern::Any => false,
            OriginPattern::Exact { host, .. } | OriginPattern::AnyPort { host, .. } => {
                is_loopback(host)
            }
            OriginPattern::Subdomains { base, .. } => is_loopback(base),
        }
    }

    /// For a subdomain pattern whose base is itself a public suffix (`com`,
    /// `co.uk`, `github.io`, or an unknown top-level domain), that suffix:
    /// such a pattern trusts every site registered under it. `*.localhost`
    /// is loopback and never a public suffix.
    #[must_use]
    pub fn public_suffix_base(&self) -> Option<&str> {
        let OriginPattern::Subdomains { base, .. } = self else {
            return None;
        };
        if is_loopback(base) {
            return None;
        }
        let suffix = psl::suffix(base.as_bytes())?;
        (suffix.as_bytes() == base.as_bytes()).then_some(base.as_str())
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginPattern::Any => f.write_str("*"),
            OriginPattern::Exact { origin, .. } => f.write_str(origin),
            OriginPattern::AnyPort { scheme, host } => write!(f, "{scheme}://{host}:*"),
            OriginPattern::Subdomains { https, base, port } => {
                let scheme = if *https { "https" } else { "http" };
                write!(f, "{scheme}://*.{base}")?;
                match port {
                    PatternPort::Default => Ok(()),
                    PatternPort::Exact(number) => write!(f, ":{number}"),
                    PatternPort::Any => f.write_str(":*"),
                }
            }
        }
    }
}

/// Whether an entry uses regular-expression syntax that has no place in an
/// origin (the brackets of an IPv6 host excepted).
fn looks_like_regex(text: &str) -> bool {
    // `.*` followed by more name is a regex; `app.*.example.com` and
    // `example.*` are misplaced globs, reported as such.
    let regex_star = text
        .match_indices(".*")
        .any(|(i, _)| !matches!(text.as_bytes().get(i + 2), None | Some(b'.' | b':')));
    text.contains(['\\', '^', '$', '(', ')', '|', '{', '}'])
        || regex_star
        || text.contains(".+")
        || text.contains("?:")
        || text.contains("[a-")
        || text.contains("[0-")
        || text.contains("[^")
}

fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), OriginError> {
    let host_error = || OriginError::Host {
        host: authority.to_owned(),
    };
    if authority.starts_with('[') {
        let close = authority.find(']').ok_or_else(host_error)?;
        let (host, after) = authority
            .split_at_checked(close + 1)
            .ok_or_else(host_error)?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(host_error()),
        };
    }
    Ok(match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// Checks that `host` is written exactly as browsers serialise it.
fn check_host(host: &str) -> Result<(), OriginError> {
    let host_error = || OriginError::Host {
        host: host.to_owned(),
    };
    if !host.is_ascii() {
        return Err(OriginError::NonAsciiHost {
            host: host.to_owned(),
        });
    }
    if host.contains('*') {
        return Err(OriginError::MisplacedWildcard);
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let address: Ipv6Addr = inner.parse().map_err(|_| host_error())?;
        let canonical = serialize_ipv6(address);
        return if canonical == host {
            Ok(())
        } else {
            Err(OriginError::NonCanonicalAddress { canonical })
        };
    }
    let labels_ok = host.len() <= 253
        && host
            .split('.')
            .all(|label| (1..=63).contains(&label.len()) && label.bytes().all(is_label_byte));
    if !labels_ok {
        return Err(host_error());
    }
    if ends_in_number(host) {
        let address: Ipv4Addr = host.parse().map_err(|_| host_error())?;
        let canonical = address.to_string();
        if canonical != host {
            return Err(OriginError::NonCanonicalAddress { canonical });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggestion_fixes_every_problem_at_once() {
        let error = OriginPattern::parse("https://App.example.com:443/").unwrap_err();
        assert_eq!(
            error,
            OriginError::Uppercase {
                lowercase: "https://app.example.com".to_owned()
            }
        );
        let error = OriginPattern::parse("https://user@app.example.com:443/a?b#c").unwrap_err();
        assert!(
            error.to_string().ends_with("write https://app.example.com"),
            "{error}"
        );
    }

    fn parse(text: &str) -> Result<OriginPattern, OriginError> {
        OriginPattern::parse(text)
    }

    #[test]
    fn accepted_forms_print_back_as_written() {
        for text in [
            "*",
            "https://app.example.com",
            "http://localhost:8080",
            "http://127.0.0.1:8080",
            "http://[::1]:3000",
            "https://*.example.com",
            "https://*.example.com:8443",
            "http://*.localhost:*",
            "http://localhost:*",
            "capacitor://localhost",
            "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
            "https://xn--bcher-kva.example",
            "http://a_b.example.com",
        ] {
            assert_eq!(parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn refused_forms_say_what_to_write() {
        let cases: &[(&str, OriginError)] = &[
            ("", OriginError::Empty),
            ("null", OriginError::Null),
            ("NULL", OriginError::Null),
            ("file://", OriginError::File),
            ("file:///home/me/index.html", OriginError::File),
            ("app.example.com", OriginError::NotAnOrigin),
            ("https://", OriginError::NotAnOrigin),
            ("https:// app.example.com", OriginError::NotAnOrigin),
            (
                "https://App.Example.com",
                OriginError::Uppercase {
                    lowercase: "https://app.example.com".into(),
                },
            ),
            (
                "https://app.example.com/",
                OriginError::Path {
                    origin: "https://app.example.com".into(),
                },
            ),
            (
                "https://app.example.com/api",
                OriginError::Path {
                    origin: "https://app.example.com".into(),
                },
            ),
            (
                "https://app.example.com?x=1",
                OriginError::Query {
                    origin: "https://app.example.com".into(),
                },
            ),
            (
                "https://app.example.com#top",
                OriginError::Fragment {
                    origin: "https://app.example.com".into(),
                },
            ),
            (
                "https://me:pw@app.example.com",
                OriginError::Userinfo {
                    origin: "https://app.example.com".into(),
                },
            ),
            (
                "https://app.example.com:443",
                OriginError::DefaultPort {
                    origin: "https://app.example.com".into(),
                },
            ),
            (
                "http://app.example.com:80",
                OriginError::DefaultPort {
                    origin: "http://app.example.com".into(),
                },
            ),
            (
                "https://app.example.com:70000",
                OriginError::Port {
                    port: "70000".into(),
                },
            ),
            (
                "https://app.example.com:",
                OriginError::Port { port: "".into() },
            ),
            (
                "https://app.example.com:08",
                OriginError::Port { port: "08".into() },
            ),
            (
                "ht_tp://app.example.com",
                OriginError::Scheme {
                    scheme: "ht_tp".into(),
                },
            ),
            (
                "https://app..example.com",
                OriginError::Host {
                    host: "app..example.com".into(),
                },
            ),
            (
                "https://app.example.com.",
                OriginError::Host {
                    host: "app.example.com.".into(),
                },
            ),
            (
                "https://b\u{fc}cher.example",
                OriginError::NonAsciiHost {
                    host: "b\u{fc}cher.example".into(),
                },
            ),
            (
                "http://[0:0:0:0:0:0:0:1]",
                OriginError::NonCanonicalAddress {
                    canonical: "[::1]".into(),
                },
            ),
            (
                "http://127.000.0.1",
                OriginError::Host {
                    host: "127.000.0.1".into(),
                },
            ),
            (
                "http://0x7f.0.0.1",
                OriginError::Host {
                    host: "0x7f.0.0.1".into(),
                },
            ),
            ("https://.*\\.example\\.com", OriginError::Regex),
            ("^https://app\\.example\\.com$", OriginError::Regex),
            ("https://(app|admin).example.com", OriginError::Regex),
            ("https://*example.com", OriginError::MisplacedWildcard),
            ("https://app.*.example.com", OriginError::MisplacedWildcard),
            ("https://example.*", OriginError::MisplacedWildcard),
            ("https://*", OriginError::MisplacedWildcard),
            ("ftp://*.example.com", OriginError::WildcardScheme),
            ("http://*.0.0.1", OriginError::WildcardAddress),
            ("http://*.[::1]", OriginError::WildcardAddress),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).as_ref(), Err(expected), "{text}");
            // Every message is a sentence a user can act on.
            assert!(!expected.to_string().is_empty());
        }
    }

    #[test]
    fn security_classification() {
        let secure = |text: &str| parse(text).unwrap().is_secure();
        assert!(secure("https://app.example.com"));
        assert!(secure("http://localhost:3000"));
        assert!(secure("http://127.0.0.2"));
        assert!(secure("http://[::1]:8080"));
        assert!(secure("http://*.localhost"));
        assert!(secure("capacitor://localhost"));
        assert!(!secure("http://app.example.com"));
        assert!(!secure("http://*.example.com"));
        assert!(!secure("http://192.168.1.10:8080"));
        assert!(!secure("*"));
    }

    #[test]
    fn public_suffix_bases() {
        let suffix = |text: &str| parse(text).unwrap().public_suffix_base().map(str::to_owned);
        assert_eq!(suffix("https://*.com").as_deref(), Some("com"));
        assert_eq!(suffix("https://*.co.uk").as_deref(), Some("co.uk"));
        assert_eq!(suffix("https://*.github.io").as_deref(), Some("github.io"));
        assert_eq!(suffix("https://*.internal").as_deref(), Some("internal"));
        assert_eq!(suffix("https://*.example.com"), None);
        assert_eq!(suffix("https://*.example.co.uk"), None);
        assert_eq!(suffix("http://*.localhost"), None);
        assert_eq!(suffix("https://app.example.com"), None);
    }
}
