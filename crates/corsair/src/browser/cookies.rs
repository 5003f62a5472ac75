//! The cookie jar of the test [`Browser`](super::Browser), and what each
//! engine does with a cookie a response sets: enough of the engines' rules
//! to say whether a credentialed cross-origin call carries the session
//! cookie, and why not.

use std::fmt;
use std::time::Duration;

use cookie::{Cookie, Expiration};
use url::{Host, Url};

use super::engine::Engine;
use super::plan::Page;
use super::profile::{CookieRules, Profile, SameSite, ThirdPartyCookies};
use crate::origin::is_loopback_host;

/// A schemeful site: a scheme and a registrable domain (the host itself
/// for IP addresses and hosts without one, such as `localhost`). Ports do
/// not count.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Site {
    scheme: String,
    domain: String,
}

impl Site {
    /// The site of `url` under `rules`: its registrable domain by the
    /// public-suffix list, or the host itself where there is none (an IP
    /// address, `localhost`, and for WebKit a name under a suffix the list
    /// does not hold, such as `.test`).
    pub(crate) fn of(url: &Url, rules: &CookieRules) -> Self {
        let domain = match url.host() {
            Some(Host::Domain(domain)) => {
                let listed = psl::suffix(domain.as_bytes()).is_some_and(|suffix| suffix.is_known());
                if rules.unlisted_suffix_rule || listed {
                    psl::domain_str(domain).unwrap_or(domain).to_owned()
                } else {
                    domain.to_owned()
                }
            }
            Some(host) => host.to_string(),
            None => String::new(),
        };
        Site {
            scheme: url.scheme().to_owned(),
            domain,
        }
    }

    /// The site of a page: cross-site to every URL when its origin is
    /// opaque.
    pub(crate) fn of_page(page: &Page, rules: &CookieRules) -> Self {
        match Url::parse(page.origin()) {
            Ok(origin) => Site::of(&origin, rules),
            Err(_) => Site {
                scheme: String::new(),
                domain: String::new(),
            },
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scheme.is_empty() {
            f.write_str("(an opaque origin)")
        } else {
            write!(f, "{}://{}", self.scheme, self.domain)
        }
    }
}

/// Where a request stands for cookies: the page's site (the top-level
/// document, which keys partitioned cookies) and whether the request's URL
/// is on another site.
#[derive(Clone, Debug)]
pub(crate) struct Context<'a> {
    pub(crate) page_site: &'a Site,
    pub(crate) url: &'a Url,
    pub(crate) rules: &'a CookieRules,
}

impl Context<'_> {
    fn cross_site(&self) -> bool {
        self.url_site() != *self.page_site
    }

    fn url_site(&self) -> Site {
        Site::of(self.url, self.rules)
    }
}

/// Why an engine refused to store a cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieRefusal {
    /// The `Set-Cookie` line does not parse.
    Malformed,
    /// `Secure` from a URL the engine does not trust with `Secure` cookies.
    SecureFromInsecure,
    /// `SameSite=None` without `Secure`.
    NoneWithoutSecure,
    /// `Partitioned` without `Secure`.
    PartitionedWithoutSecure,
    /// A `Lax` or `Strict` cookie (written, or by the engine's default) set
    /// by a response to a cross-site request.
    SameSiteFromCrossSite {
        /// The cookie's effective `SameSite`.
        same_site: SameSite,
        /// Whether the cookie left `SameSite` out and got the engine's
        /// default.
        defaulted: bool,
    },
    /// A cross-site response, and the engine blocks third-party cookies.
    ThirdPartyBlocked,
    /// A `Domain` that the URL's host is not within, or a public suffix.
    Domain {
        /// The attribute's value.
        domain: String,
    },
}

/// What became of one cookie a response set.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieFate {
    /// Stored.
    Stored {
        /// Kept in the jar of the page's site rather than the cookie's own
        /// (third-party cookies in Firefox, the `Partitioned` attribute).
        partitioned: bool,
        /// Whether the same credentialed request, made again from the same
        /// page, carries it.
        sent_back: bool,
    },
    /// Refused.
    Refused(CookieRefusal),
    /// The cookie expired an existing one (`Max-Age=0`, a past `Expires`):
    /// a logout.
    Deleted,
}

/// One `Set-Cookie` of a response, and what an engine did with it.
///
/// ```
/// use corsair::browser::{Browser, CorsRequest, Credentials, Engine, Incoming, Outgoing, Transport};
/// use http::{HeaderMap, HeaderValue, StatusCode};
///
/// /// An API on another port of `localhost` that logs the user in.
/// struct Login;
///
/// impl Transport for Login {
///     type Error = std::convert::Infallible;
///     async fn exchange(&mut self, _: &Outgoing) -> Result<Incoming, Self::Error> {
///         let mut headers = HeaderMap::new();
///         for (name, value) in [
///             ("access-control-allow-origin", "http://localhost:8080"),
///             ("access-control-allow-credentials", "true"),
///             ("set-cookie", "session=abc; Path=/; SameSite=None; Secure"),
///         ] {
///             headers.append(name, HeaderValue::from_static(value));
///         }
///         Ok(Incoming::new(StatusCode::OK, headers))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let login = CorsRequest::new("POST", "http://localhost:3000/login").credentials(Credentials::Include);
/// let mut chromium = Browser::new("http://localhost:8080")?;
/// let transcript = chromium.play(&mut Login, &login).await?;
/// assert!(transcript.cookies[0].stored());
///
/// let mut webkit = Browser::new("http://localhost:8080")?.with_engine(Engine::WebKit);
/// let transcript = webkit.play(&mut Login, &login).await?;
/// assert!(!transcript.cookies[0].stored());
/// assert_eq!(
///     transcript.cookies[0].why,
///     "WebKit keeps no Secure cookie from an http:// URL, not even from localhost: \
///      serve the API over https, or leave Secure out over http://localhost (a SameSite=Lax \
///      cookie needs none)"
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieReport {
    /// The cookie's name (empty when the line does not parse).
    pub name: String,
    /// The engine that judged it.
    pub engine: Engine,
    /// What the engine did with it.
    pub fate: CookieFate,
    /// Why, in a sentence, naming the engine and what to change where
    /// something could be.
    pub why: String,
}

impl CookieReport {
    /// What `profile`'s engine does with the cookie of `set_cookie`,
    /// received from `url` in answer to a credentialed request by a script
    /// on `page`, with an empty cookie jar.
    ///
    /// ```
    /// use corsair::browser::{CookieReport, Page, Profile};
    /// use url::Url;
    ///
    /// let page = Page::new("https://app.example.com")?;
    /// let api = Url::parse("https://api.example.com/login")?;
    /// let lax = "session=1; Secure; SameSite=Lax";
    /// assert!(CookieReport::judge(&Profile::webkit(), &page, &api, lax).sent_back());
    /// // The same API called from another site.
    /// let elsewhere = Page::new("https://app.other.example")?;
    /// let report = CookieReport::judge(&Profile::chromium(), &elsewhere, &api, lax);
    /// assert!(!report.stored());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn judge(profile: &Profile, page: &Page, url: &Url, set_cookie: &str) -> Self {
        let page_site = Site::of_page(page, &profile.cookies);
        let context = Context {
            page_site: &page_site,
            url,
            rules: &profile.cookies,
        };
        CookieJar::default().store(set_cookie, &context, Duration::ZERO, profile)
    }

    /// Whether the engine stored the cookie.
    #[must_use]
    pub fn stored(&self) -> bool {
        matches!(self.fate, CookieFate::Stored { .. })
    }

    /// Whether it is stored in the jar of the page's site.
    #[must_use]
    pub fn partitioned(&self) -> bool {
        matches!(
            self.fate,
            CookieFate::Stored {
                partitioned: true,
                ..
            }
        )
    }

    /// Whether the same credentialed request, made again from the same
    /// page, carries it.
    #[must_use]
    pub fn sent_back(&self) -> bool {
        matches!(
            self.fate,
            CookieFate::Stored {
                sent_back: true,
                ..
            }
        )
    }
}

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
    /// The site of the page whose jar holds it, for a partitioned cookie.
    partition: Option<Site>,
    /// When it expires on the browser's clock; `None` for a session cookie.
    expires: Option<Duration>,
}

/// A cookie jar keyed by domain, path and partition.
#[derive(Clone, Debug, Default)]
pub(crate) struct CookieJar {
    cookies: Vec<Stored>,
}

/// Whether `url` may set and receive `Secure` cookies under `rules`.
fn secure_url(url: &Url, rules: &CookieRules) -> bool {
    url.scheme() == "https"
        || (rules.secure_over_http_loopback && url.host_str().is_some_and(is_loopback_host))
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

/// What the engine decided for a cookie that parsed: stored (partitioned
/// or not), or refused.
fn admit(
    cookie: &Cookie<'_>,
    context: &Context<'_>,
    rules: &CookieRules,
) -> Result<(SameSite, bool), CookieRefusal> {
    let secure = cookie.secure().unwrap_or(false);
    if secure && !secure_url(context.url, rules) {
        return Err(CookieRefusal::SecureFromInsecure);
    }
    let written = cookie.same_site().map(|same_site| match same_site {
        cookie::SameSite::Strict => SameSite::Strict,
        cookie::SameSite::Lax => SameSite::Lax,
        cookie::SameSite::None => SameSite::None,
    });
    let same_site = written.unwrap_or(rules.default_same_site);
    if written == Some(SameSite::None) && !secure && rules.none_requires_secure {
        return Err(CookieRefusal::NoneWithoutSecure);
    }
    let wants_partition = rules.partitioned && cookie.partitioned().unwrap_or(false);
    if wants_partition && !secure {
        return Err(CookieRefusal::PartitionedWithoutSecure);
    }
    if !context.cross_site() {
        return Ok((same_site, wants_partition));
    }
    if same_site != SameSite::None {
        return Err(CookieRefusal::SameSiteFromCrossSite {
            same_site,
            defaulted: written.is_none(),
        });
    }
    match rules.third_party {
        ThirdPartyCookies::Allowed => Ok((same_site, wants_partition)),
        ThirdPartyCookies::Partitioned => Ok((same_site, true)),
        ThirdPartyCookies::Blocked if wants_partition => Ok((same_site, true)),
        ThirdPartyCookies::Blocked => Err(CookieRefusal::ThirdPartyBlocked),
    }
}

impl CookieJar {
    /// Stores the cookie of one `Set-Cookie` line received for a request in
    /// `context`, at `now` on the browser's clock, as `profile`'s engine
    /// would, and reports what became of it.
    pub(crate) fn store(
        &mut self,
        line: &str,
        context: &Context<'_>,
        now: Duration,
        profile: &Profile,
    ) -> CookieReport {
        let report = |name: &str, fate: CookieFate| {
            let why = why(&fate, name, context, profile);
            CookieReport {
                name: name.to_owned(),
                engine: profile.engine,
                fate,
                why,
            }
        };
        let Ok(cookie) = Cookie::parse(line) else {
            let name = line.split_once('=').map_or("", |(name, _)| name.trim());
            return report(name, CookieFate::Refused(CookieRefusal::Malformed));
        };
        let rules = &profile.cookies;
        let (same_site, partitioned) = match admit(&cookie, context, rules) {
            Ok(admitted) => admitted,
            Err(refusal) => return report(cookie.name(), CookieFate::Refused(refusal)),
        };
        let url = context.url;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let (domain, host_only) = match cookie.domain() {
            Some(attribute) => {
                let domain = attribute.trim_start_matches('.').to_ascii_lowercase();
                let public_suffix = psl::suffix_str(&domain) == Some(domain.as_str())
                    && domain != host
                    && !is_loopback_host(&domain);
                let dotless = rules.domain_needs_dot && !domain.contains('.');
                if !domain_matches(&host, &domain) || public_suffix || dotless {
                    return report(
                        cookie.name(),
                        CookieFate::Refused(CookieRefusal::Domain {
                            domain: attribute.to_owned(),
                        }),
                    );
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
        let partition = partitioned.then(|| context.page_site.clone());
        self.cookies.retain(|stored| {
            !(stored.name == cookie.name()
                && stored.domain == domain
                && stored.path == path
                && stored.partition == partition)
        });
        if expires.is_some_and(|expires| expires <= now) {
            return report(cookie.name(), CookieFate::Deleted);
        }
        let stored = Stored {
            name: cookie.name().to_owned(),
            value: cookie.value().to_owned(),
            domain,
            host_only,
            path,
            secure: cookie.secure().unwrap_or(false),
            same_site,
            partition,
            expires,
        };
        let sent_back = sends(&stored, context, now);
        self.cookies.push(stored);
        report(
            cookie.name(),
            CookieFate::Stored {
                partitioned,
                sent_back,
            },
        )
    }

    /// The `Cookie` header for a credentialed request in `context`, if any
    /// cookie goes with it.
    pub(crate) fn header(&self, context: &Context<'_>, now: Duration) -> Option<String> {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|stored| sends(stored, context, now))
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

/// Whether `stored` goes with a credentialed request in `context`.
fn sends(stored: &Stored, context: &Context<'_>, now: Duration) -> bool {
    let url = context.url;
    let rules = context.rules;
    let host = url.host_str().unwrap_or_default();
    let domain = if stored.host_only {
        host.eq_ignore_ascii_case(&stored.domain)
    } else {
        domain_matches(&host.to_ascii_lowercase(), &stored.domain)
    };
    let in_partition = match &stored.partition {
        Some(site) => site == context.page_site,
        None => true,
    };
    let third_party_ok = !context.cross_site()
        || (stored.same_site == SameSite::None
            && match rules.third_party {
                ThirdPartyCookies::Allowed => true,
                ThirdPartyCookies::Partitioned | ThirdPartyCookies::Blocked => {
                    stored.partition.is_some()
                }
            });
    domain
        && in_partition
        && third_party_ok
        && path_matches(url.path(), &stored.path)
        && (!stored.secure || secure_url(url, rules))
        && stored.expires.is_none_or(|expires| expires > now)
}

/// The sentence that says why `fate` befell the cookie `name`.
fn why(fate: &CookieFate, name: &str, context: &Context<'_>, profile: &Profile) -> String {
    let engine = profile.engine.product();
    let url = context.url;
    let api_site = context.url_site();
    let page_site = context.page_site;
    match fate {
        CookieFate::Stored {
            partitioned: false,
            sent_back: true,
        } => {
            format!("{engine} stores it and sends it back with credentialed requests to {api_site}")
        }
        CookieFate::Stored {
            partitioned: true,
            sent_back,
        } => {
            let how = if context.cross_site()
                && profile.cookies.third_party == ThirdPartyCookies::Partitioned
            {
                format!(
                    "{engine} keeps third-party cookies in the jar of the page's site, {page_site} (Total Cookie Protection)"
                )
            } else {
                format!(
                    "{engine} keeps a Partitioned cookie in the jar of the page's site, {page_site}"
                )
            };
            if *sent_back {
                format!("{how}: it goes back to {api_site} only from pages of {page_site}")
            } else {
                format!("{how}, but this request's URL does not match its Domain, Path or Secure")
            }
        }
        CookieFate::Stored {
            partitioned: false,
            sent_back: false,
        } => format!(
            "{engine} stores it, but not for this URL: its Domain, Path or Secure keep it off {url}"
        ),
        CookieFate::Deleted => {
            format!("{engine} deletes any cookie {name} it had (the cookie has expired)")
        }
        CookieFate::Refused(refusal) => refused(refusal, context, profile),
    }
}

fn refused(refusal: &CookieRefusal, context: &Context<'_>, profile: &Profile) -> String {
    let engine = profile.engine.product();
    let url = context.url;
    let api_site = context.url_site();
    let page_site = context.page_site;
    let host = url.host_str().unwrap_or_default();
    match refusal {
        CookieRefusal::Malformed => {
            format!("{engine} ignores a Set-Cookie line that does not parse as name=value")
        }
        CookieRefusal::SecureFromInsecure if url.scheme() == "http" && is_loopback_host(host) => {
            let or = if context.cross_site() {
                ""
            } else {
                ", or leave Secure out over http://localhost (a SameSite=Lax cookie needs none)"
            };
            format!(
                "{engine} keeps no Secure cookie from an http:// URL, not even from localhost: \
                 serve the API over https{or}"
            )
        }
        CookieRefusal::SecureFromInsecure => format!(
            "{engine} keeps no Secure cookie from {}://{host}, which is not a secure context: serve the API over https",
            url.scheme()
        ),
        CookieRefusal::NoneWithoutSecure => format!(
            "{engine} refuses SameSite=None without Secure: add Secure (over https, or http://localhost \
             in Chromium and Firefox)"
        ),
        CookieRefusal::PartitionedWithoutSecure => {
            format!("{engine} refuses a Partitioned cookie without Secure: add Secure")
        }
        CookieRefusal::SameSiteFromCrossSite {
            same_site,
            defaulted,
        } => {
            let which = if *defaulted {
                format!(
                    "a cookie without SameSite is SameSite={} in {engine}",
                    same_site.as_str()
                )
            } else {
                format!("a SameSite={} cookie", same_site.as_str())
            };
            format!(
                "{which}, which a cross-site response cannot set: {api_site} is another site than the \
                 page's, {page_site}; a cross-site API needs SameSite=None; Secure"
            )
        }
        CookieRefusal::ThirdPartyBlocked => match profile.engine {
            Engine::Chromium => format!(
                "{engine} blocks third-party cookies in this profile ({api_site} is another site than the \
                 page's, {page_site}), as headless Chromium, Incognito and Chrome with the setting on do; \
                 a Chrome profile that allows them, desktop Chrome's default, stores it. A Partitioned \
                 cookie is kept either way"
            ),
            _ => format!(
                "{engine} blocks third-party cookies: {api_site} is another site than the page's, \
                 {page_site}. Serve the API on the page's site (api.example.com for app.example.com)"
            ),
        },
        CookieRefusal::Domain { domain }
            if profile.cookies.domain_needs_dot
                && !domain.trim_start_matches('.').contains('.')
                && domain_matches(host, domain.trim_start_matches('.')) =>
        {
            format!("{engine} refuses Domain={domain}, a domain without a dot: leave Domain out")
        }
        CookieRefusal::Domain { domain } => format!(
            "{engine} refuses Domain={domain}: {host} is not within it, or it is a public suffix"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    /// The site of `text` as Chromium and Firefox see it.
    fn site(text: &str) -> Site {
        Site::of(&url(text), &Profile::chromium().cookies)
    }

    const SESSION: &str = "session=abc; Path=/; HttpOnly; SameSite=None; Secure";

    /// The six cookies of the engines' differential (`crates/e2e`), each
    /// with the fate it meets in each engine, same-site and cross-site.
    const MATRIX: [&str; 6] = [
        "none_insecure=1; Path=/; SameSite=None",
        "none_secure=1; Path=/; SameSite=None; Secure",
        "lax=1; Path=/; SameSite=Lax",
        "strict=1; Path=/; SameSite=Strict",
        "plain=1; Path=/",
        "partitioned=1; Path=/; SameSite=None; Secure; Partitioned",
    ];

    /// The names each engine sends back after the API at `api` set the six
    /// cookies for a page on `http://localhost:8080`.
    fn sent_back(profile: &Profile, api: &str) -> String {
        let page_site = site("http://localhost:8080/");
        let api = url(api);
        let context = Context {
            page_site: &page_site,
            url: &api,
            rules: &profile.cookies,
        };
        let mut jar = CookieJar::default();
        for line in MATRIX {
            jar.store(line, &context, Duration::ZERO, profile);
        }
        let header = jar.header(&context, Duration::ZERO).unwrap_or_default();
        header
            .split("; ")
            .filter_map(|pair| pair.split_once('=').map(|(name, _)| name))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_cookie_matrix_of_the_three_engines() {
        let same_site = "http://localhost:3000/login";
        let cross_site = "http://127.0.0.1:3000/login";
        let everything_but_none_insecure = "none_secure lax strict plain partitioned";
        assert_eq!(
            sent_back(&Profile::chromium(), same_site),
            everything_but_none_insecure
        );
        assert_eq!(
            sent_back(&Profile::firefox(), same_site),
            everything_but_none_insecure
        );
        assert_eq!(
            sent_back(&Profile::webkit(), same_site),
            "none_insecure lax strict plain"
        );
        assert_eq!(sent_back(&Profile::chromium(), cross_site), "partitioned");
        assert_eq!(
            sent_back(&Profile::firefox(), cross_site),
            "none_secure plain partitioned"
        );
        assert_eq!(sent_back(&Profile::webkit(), cross_site), "");
        assert_eq!(
            sent_back(
                &Profile::chromium().with_third_party_cookies(ThirdPartyCookies::Allowed),
                cross_site
            ),
            "none_secure partitioned"
        );
    }

    /// WebKit's libsoup refuses a `Domain` without a dot; the others take
    /// `Domain=localhost` from localhost.
    #[test]
    fn domain_localhost_is_refused_by_webkit_only() {
        let page = site("http://localhost:8080/");
        let api = url("http://localhost:3000/set");
        for (profile, stored) in [
            (Profile::chromium(), true),
            (Profile::firefox(), true),
            (Profile::webkit(), false),
        ] {
            let context = Context {
                page_site: &page,
                url: &api,
                rules: &profile.cookies,
            };
            let report = CookieJar::default().store(
                "domain=1; Domain=localhost; Path=/",
                &context,
                Duration::ZERO,
                &profile,
            );
            assert_eq!(report.stored(), stored, "{:?}", profile.engine);
        }
        let webkit = Profile::webkit();
        let context = Context {
            page_site: &page,
            url: &api,
            rules: &webkit.cookies,
        };
        let report = CookieJar::default().store(
            "domain=1; Domain=localhost; Path=/",
            &context,
            Duration::ZERO,
            &webkit,
        );
        assert!(report.why.contains("without a dot"), "{}", report.why);
    }

    #[test]
    fn sites_ignore_ports_and_keep_schemes() {
        assert_eq!(
            site("http://localhost:3000"),
            site("http://localhost:8080/")
        );
        assert_eq!(
            site("https://app.example.com"),
            site("https://api.example.com")
        );
        assert_ne!(
            site("http://app.example.com"),
            site("https://api.example.com")
        );
        assert_ne!(site("https://a.github.io"), site("https://b.github.io"));
        assert_ne!(site("http://localhost:1"), site("http://127.0.0.1:1"));
        // A suffix the public-suffix list does not hold: one site for
        // Chromium and Firefox, a site per host for WebKit's libsoup.
        assert_eq!(
            site("http://app.corsair.test"),
            site("http://api.corsair.test")
        );
        let webkit = |text: &str| Site::of(&url(text), &Profile::webkit().cookies);
        assert_ne!(
            webkit("http://app.corsair.test"),
            webkit("http://api.corsair.test")
        );
        assert_eq!(
            webkit("https://app.example.com"),
            webkit("https://api.example.com")
        );
    }

    #[test]
    fn refusals_say_why() {
        let profile = Profile::chromium();
        let page_site = site("https://app.example.com");
        let mut jar = CookieJar::default();
        let mut fate = |line: &str, api: &str| {
            let api = url(api);
            let context = Context {
                page_site: &page_site,
                url: &api,
                rules: &profile.cookies,
            };
            jar.store(line, &context, Duration::ZERO, &profile).fate
        };
        let refused = CookieFate::Refused;
        assert_eq!(
            fate("s=1; Secure", "http://api.example.com/"),
            refused(CookieRefusal::SecureFromInsecure)
        );
        assert_eq!(
            fate("s=1; SameSite=None", "https://api.example.com/"),
            refused(CookieRefusal::NoneWithoutSecure)
        );
        assert_eq!(
            fate("s=1; Secure", "https://api.other.example/"),
            refused(CookieRefusal::SameSiteFromCrossSite {
                same_site: SameSite::Lax,
                defaulted: true
            })
        );
        assert_eq!(
            fate("s=1; Secure; SameSite=None", "https://api.other.example/"),
            refused(CookieRefusal::ThirdPartyBlocked)
        );
        assert_eq!(
            fate("s=1; Domain=other.com", "https://api.example.com/"),
            refused(CookieRefusal::Domain {
                domain: "other.com".to_owned()
            })
        );
        assert_eq!(
            fate("s=1; Domain=com", "https://api.example.com/"),
            refused(CookieRefusal::Domain {
                domain: "com".to_owned()
            })
        );
        assert_eq!(
            fate("=", "https://api.example.com/"),
            refused(CookieRefusal::Malformed)
        );
        assert_eq!(
            fate("s=1; Domain=example.com", "https://api.example.com/"),
            CookieFate::Stored {
                partitioned: false,
                sent_back: true
            }
        );
        assert_eq!(
            fate(
                "s=; Domain=example.com; Max-Age=0",
                "https://api.example.com/"
            ),
            CookieFate::Deleted
        );
        assert_eq!(jar.len(), 0);
    }

    #[test]
    fn lax_cookies_stay_home_and_paths_and_max_age_apply() {
        let profile = Profile::chromium().with_third_party_cookies(ThirdPartyCookies::Allowed);
        let rules = profile.cookies;
        let home = site("https://app.example.com");
        let away = site("https://elsewhere.example");
        let mut jar = CookieJar::default();
        let api = url("https://api.example.com/v1/login");
        let at_home = Context {
            page_site: &home,
            url: &api,
            rules: &rules,
        };
        jar.store("lax=1; Secure", &at_home, Duration::ZERO, &profile);
        let report = jar.store(
            "scoped=1; Path=/v1; Secure; SameSite=None; Max-Age=10",
            &at_home,
            Duration::ZERO,
            &profile,
        );
        assert!(report.sent_back(), "{report:?}");
        let me = url("https://api.example.com/v1/me");
        let header = |page_site: &Site, target: &Url, now: u64| {
            let context = Context {
                page_site,
                url: target,
                rules: &rules,
            };
            jar.header(&context, Duration::from_secs(now))
        };
        assert_eq!(header(&home, &me, 0).as_deref(), Some("lax=1; scoped=1"));
        assert_eq!(header(&home, &url("https://api.example.com/v2"), 0), None);
        assert_eq!(header(&home, &me, 10).as_deref(), Some("lax=1"));
        assert_eq!(
            header(&away, &me, 0).as_deref(),
            Some("scoped=1"),
            "cross-site requests carry SameSite=None cookies only"
        );
        assert_eq!(header(&home, &url("http://api.example.com/v1/me"), 0), None);
    }

    #[test]
    fn partitioned_cookies_go_back_only_from_their_partition() {
        let profile = Profile::firefox();
        let page = site("http://localhost:8080");
        let other_page = site("https://elsewhere.example");
        let api = url("http://127.0.0.1:3000/login");
        let mut jar = CookieJar::default();
        let context = Context {
            page_site: &page,
            url: &api,
            rules: &profile.cookies,
        };
        let report = jar.store(SESSION, &context, Duration::ZERO, &profile);
        assert!(report.partitioned() && report.sent_back(), "{report:?}");
        assert!(
            report.why.contains("Total Cookie Protection"),
            "{}",
            report.why
        );
        let elsewhere = Context {
            page_site: &other_page,
            url: &api,
            rules: &profile.cookies,
        };
        assert_eq!(jar.header(&elsewhere, Duration::ZERO), None);
        // Not even the API's own site, as a first party, sees it.
        let api_site = Site::of(&api, &profile.cookies);
        let first_party = Context {
            page_site: &api_site,
            url: &api,
            rules: &profile.cookies,
        };
        assert_eq!(jar.header(&first_party, Duration::ZERO), None);
    }
}
