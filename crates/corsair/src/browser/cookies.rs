//! The cookie jar of the test [`Browser`](super::Browser): enough of
//! Chromium's rules to say whether a credentialed cross-origin call carries
//! the session cookie.

use std::time::Duration;

use cookie::{Cookie, Expiration, SameSite};
use url::{Host, Url};

use super::request::Options;
use crate::origin::is_loopback_host;

/// One stored cookie.
#[derive(Clone, Debug)]
struct Stored {
    name: String,
    value: String,
    /// The host, or the `Domain` attribute without a leading dot.
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    same_site: SameSite,
    /// When it expires on the browser's clock; `None` for a session cookie.
    expires: Option<Duration>,
}

/// Why a `Set-Cookie` was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// It does not parse.
    Malformed,
    /// `Secure` from a URL that is not a secure context.
    SecureFromInsecure,
    /// `SameSite=None` without `Secure`.
    NoneWithoutSecure,
    /// Set by a cross-site response without `SameSite=None`, or while
    /// third-party cookies are blocked.
    CrossSite,
    /// A `Domain` the URL's host is not within.
    Domain,
}

/// A cookie jar keyed by domain and path.
#[derive(Clone, Debug, Default)]
pub(crate) struct CookieJar {
    cookies: Vec<Stored>,
}

/// Whether a URL is a secure context for cookies: `https`, or a loopback
/// host (Chromium sets and sends `Secure` cookies over http there).
fn trustworthy(url: &Url) -> bool {
    url.scheme() == "https" || url.host_str().is_some_and(is_loopback_host)
}

/// The schemeful site of a URL: its scheme and registrable domain (the host
/// itself for IP addresses and hosts without one, such as `localhost`).
pub(crate) fn site(url: &Url) -> (String, String) {
    let registrable = match url.host() {
        Some(Host::Domain(domain)) => psl::domain_str(domain).unwrap_or(domain).to_owned(),
        Some(host) => host.to_string(),
        None => String::new(),
    };
    (url.scheme().to_owned(), registrable)
}

fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|prefix| prefix.ends_with('.'))
}

fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// The default path of a cookie set by `url`: its path up to the last `/`.
fn default_path(url: &Url) -> String {
    match url.path().rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(last) => url.path().get(..last).unwrap_or("/").to_owned(),
    }
}

impl CookieJar {
    /// Stores the cookie of one `Set-Cookie` line received from `url`, in a
    /// request that is cross-site or not, at `now` on the browser's clock.
    pub(crate) fn store(
        &mut self,
        line: &str,
        url: &Url,
        cross_site: bool,
        now: Duration,
        options: &Options,
    ) -> Result<(), Refused> {
        let cookie = Cookie::parse(line).map_err(|_| Refused::Malformed)?;
        let secure = cookie.secure().unwrap_or(false);
        if secure && !trustworthy(url) {
            return Err(Refused::SecureFromInsecure);
        }
        // Chromium treats a cookie without SameSite as Lax.
        let same_site = cookie.same_site().unwrap_or(SameSite::Lax);
        if same_site == SameSite::None && !secure {
            return Err(Refused::NoneWithoutSecure);
        }
        if cross_site && (same_site != SameSite::None || !options.third_party_cookies) {
            return Err(Refused::CrossSite);
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        let (domain, host_only) = match cookie.domain() {
            Some(domain) => {
                let domain = domain.trim_start_matches('.').to_ascii_lowercase();
                if !domain_matches(&host, &domain) {
                    return Err(Refused::Domain);
                }
                (domain, false)
            }
            None => (host, true),
        };
        let path = cookie
            .path()
            .filter(|path| path.starts_with('/'))
            .map_or_else(|| default_path(url), str::to_owned);

        let expires = match (cookie.max_age(), cookie.expires()) {
            (Some(max_age), _) => {
                let seconds = u64::try_from(max_age.whole_seconds()).unwrap_or(0);
                Some(now.saturating_add(Duration::from_secs(seconds)))
            }
            // A date in the past deletes the cookie; a future date is kept
            // for the session, since the browser's clock is not a calendar.
            (None, Some(Expiration::DateTime(date)))
                if date <= cookie::time::OffsetDateTime::now_utc() =>
            {
                Some(Duration::ZERO)
            }
            _ => None,
        };

        self.cookies.retain(|stored| {
            !(stored.name == cookie.name() && stored.domain == domain && stored.path == path)
        });
        if expires.is_none_or(|expires| expires > now) {
            self.cookies.push(Stored {
                name: cookie.name().to_owned(),
                value: cookie.value().to_owned(),
                domain,
                host_only,
                path,
                secure,
                same_site,
                expires,
            });
        }
        Ok(())
    }

    /// The `Cookie` header for a credentialed request to `url`, if any
    /// cookie goes with it.
    pub(crate) fn header(
        &self,
        url: &Url,
        cross_site: bool,
        now: Duration,
        options: &Options,
    ) -> Option<String> {
        let host = url.host_str().unwrap_or_default();
        let secure = trustworthy(url);
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|stored| {
                let domain = if stored.host_only {
                    host == stored.domain
                } else {
                    domain_matches(host, &stored.domain)
                };
                domain
                    && path_matches(url.path(), &stored.path)
                    && (!stored.secure || secure)
                    && stored.expires.is_none_or(|expires| expires > now)
                    && (!cross_site
                        || (stored.same_site == SameSite::None && options.third_party_cookies))
            })
            .map(|stored| format!("{}={}", stored.name, stored.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// How many cookies are stored, expired ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.cookies.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    const SESSION: &str = "session=abc; Path=/; HttpOnly; SameSite=None; Secure";

    #[test]
    fn localhost_ports_are_one_site_and_secure_cookies_work_over_http() {
        let options = Options::default();
        let api = url("http://localhost:3000/login");
        assert_eq!(site(&api), site(&url("http://localhost:8080/")));
        let mut jar = CookieJar::default();
        jar.store(SESSION, &api, false, Duration::ZERO, &options)
            .unwrap();
        assert_eq!(
            jar.header(
                &url("http://localhost:3000/me"),
                false,
                Duration::ZERO,
                &options
            )
            .as_deref(),
            Some("session=abc")
        );
    }

    #[test]
    fn subdomains_of_one_registrable_domain_are_one_site() {
        assert_eq!(
            site(&url("https://app.example.com")),
            site(&url("https://api.example.com"))
        );
        assert_ne!(
            site(&url("http://app.example.com")),
            site(&url("https://api.example.com"))
        );
        assert_ne!(
            site(&url("https://a.github.io")),
            site(&url("https://b.github.io"))
        );
        assert_ne!(
            site(&url("http://localhost:1")),
            site(&url("http://127.0.0.1:1"))
        );
    }

    #[test]
    fn chromium_refusals() {
        let options = Options::default();
        let mut jar = CookieJar::default();
        let http = url("http://api.example.com/");
        let https = url("https://api.example.com/");
        assert_eq!(
            jar.store("s=1; Secure", &http, false, Duration::ZERO, &options),
            Err(Refused::SecureFromInsecure)
        );
        assert_eq!(
            jar.store(
                "s=1; SameSite=None",
                &https,
                false,
                Duration::ZERO,
                &options
            ),
            Err(Refused::NoneWithoutSecure)
        );
        assert_eq!(
            jar.store("s=1; Secure", &https, true, Duration::ZERO, &options),
            Err(Refused::CrossSite)
        );
        assert_eq!(
            jar.store(
                "s=1; Secure; SameSite=None",
                &https,
                true,
                Duration::ZERO,
                &options
            ),
            Err(Refused::CrossSite),
            "third-party cookies are blocked by default"
        );
        let allowed = Options {
            third_party_cookies: true,
            ..Options::default()
        };
        assert_eq!(
            jar.store(
                "s=1; Secure; SameSite=None",
                &https,
                true,
                Duration::ZERO,
                &allowed
            ),
            Ok(())
        );
        assert_eq!(
            jar.store(
                "s=1; Domain=other.com",
                &https,
                false,
                Duration::ZERO,
                &options
            ),
            Err(Refused::Domain)
        );
        assert_eq!(
            jar.store("=", &https, false, Duration::ZERO, &options),
            Err(Refused::Malformed)
        );
        assert_eq!(jar.len(), 1);
    }

    #[test]
    fn lax_cookies_stay_home_and_paths_and_max_age_apply() {
        let options = Options::default();
        let mut jar = CookieJar::default();
        let api = url("https://api.example.com/v1/login");
        jar.store("lax=1; Secure", &api, false, Duration::ZERO, &options)
            .unwrap();
        jar.store(
            "scoped=1; Path=/v1; Secure; SameSite=None; Max-Age=10",
            &api,
            false,
            Duration::ZERO,
            &options,
        )
        .unwrap();
        let me = url("https://api.example.com/v1/me");
        assert_eq!(
            jar.header(&me, false, Duration::ZERO, &options).as_deref(),
            Some("lax=1; scoped=1")
        );
        assert_eq!(
            jar.header(
                &url("https://api.example.com/v2"),
                false,
                Duration::ZERO,
                &options
            )
            .as_deref(),
            None
        );
        assert_eq!(
            jar.header(&me, false, Duration::from_secs(10), &options)
                .as_deref(),
            Some("lax=1")
        );
        let third_party = Options {
            third_party_cookies: true,
            ..Options::default()
        };
        assert_eq!(
            jar.header(&me, true, Duration::ZERO, &third_party)
                .as_deref(),
            Some("scoped=1"),
            "cross-site requests carry SameSite=None cookies only"
        );
        jar.store(
            "scoped=; Path=/v1; Max-Age=0",
            &api,
            false,
            Duration::ZERO,
            &options,
        )
        .unwrap();
        assert_eq!(
            jar.header(&me, false, Duration::ZERO, &options).as_deref(),
            Some("lax=1")
        );
    }
}
