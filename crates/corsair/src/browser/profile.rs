//! Engine profiles: everything in which Chromium, Firefox and WebKit differ
//! in a way that changes a verdict, held in one value per engine.
//!
//! Each rule here is what the engine does out of the box, as the project's
//! end-to-end suite (`crates/e2e`) sees it: Debian's Chromium 156, Firefox
//! ESR 153 and WebKitGTK 2.50, launched through WebDriver with fresh
//! profiles, and where the suite cannot see it (the cache caps, the order
//! of checks that only changes a console message), the engines' sources.
//! Where a user setting changes the outcome (Chrome's third-party cookie
//! setting), the profile holds the setting and the model says what it
//! changes.
//!
//! WebKit here is WebKitGTK, whose cookies are libsoup's: no `Secure`
//! cookie over `http://` even on `localhost`, `Domain=localhost` refused.
//! Safari's network stack is Apple's, and may differ there.

use std::time::Duration;

use super::check::DEFAULT_MAX_AGE;
use super::engine::Engine;
use crate::protocol::{CHROMIUM_MAX_AGE, FIREFOX_MAX_AGE, Safelist, WEBKIT_MAX_AGE};

/// A cookie's `SameSite` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SameSite {
    /// Sent with same-site requests only, and never set by a cross-site
    /// response.
    Strict,
    /// As `Strict` for the requests a script makes (the difference is in
    /// top-level navigations, which a script's `fetch` is not).
    Lax,
    /// Sent with cross-site requests too, where third-party cookies are
    /// allowed.
    None,
}

impl SameSite {
    /// The attribute's value as written in `Set-Cookie`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// What an engine does with third-party cookies: those of a request whose
/// site differs from the site of the page (the top-level document).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThirdPartyCookies {
    /// Set and sent like any other cookie (desktop Chrome's default).
    Allowed,
    /// Kept in a jar of the page's site (Firefox's Total Cookie
    /// Protection): sent back only to requests made from pages of that
    /// site, never to the cookie's own site as a first party.
    Partitioned,
    /// Neither set nor sent, but for cookies with the `Partitioned`
    /// attribute where the engine honours it (Safari, headless Chromium,
    /// Chrome in Incognito or with the setting on).
    Blocked,
}

/// How an engine preflights the request a redirect leads to, where it
/// needs one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RedirectPreflight {
    /// As Fetch says (Chromium): the request as the redirect left it, with
    /// its origin (`null` once tainted) and the headers it still carries,
    /// gets a preflight if it needs one.
    Fetch,
    /// Firefox: a request that needed a preflight is preflighted again at
    /// each new URL, even when the redirect stripped what made it need one
    /// (`Authorization`), and every preflight carries the page's origin,
    /// never `null`, while the request itself says `null` once tainted.
    PageOrigin,
    /// WebKit: the preflight names the headers the request carried before
    /// the redirect, `Authorization` included when the redirect crossed
    /// origins; the request itself then goes without it.
    NamesStrippedHeaders,
}

/// How an engine stores and sends cookies: the rules that decide whether a
/// credentialed cross-origin call carries the session cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieRules {
    /// The `SameSite` of a cookie set without the attribute: `Lax` in
    /// Chromium, `None` in Firefox and WebKit.
    pub default_same_site: SameSite,
    /// Whether a cookie that says `SameSite=None` is refused without
    /// `Secure` (Chromium and Firefox refuse it; a cookie that leaves
    /// `SameSite` out is not affected).
    pub none_requires_secure: bool,
    /// Whether `http://localhost` and loopback addresses, which are secure
    /// contexts, may set and receive `Secure` cookies (Chromium and Firefox
    /// allow it; WebKit keeps no `Secure` cookie from any `http://` URL).
    pub secure_over_http_loopback: bool,
    /// What happens to third-party cookies.
    pub third_party: ThirdPartyCookies,
    /// Whether the `Partitioned` attribute (CHIPS) is honoured: the cookie
    /// is kept in the jar of the page's site, and so survives where
    /// third-party cookies are blocked. It needs `Secure`.
    pub partitioned: bool,
    /// Whether a `Domain` attribute without a dot is refused
    /// (`Domain=localhost`: WebKitGTK's libsoup refuses it).
    pub domain_needs_dot: bool,
    /// Whether a name under a top-level label the public-suffix list does
    /// not hold (`app.corsair.test`) takes the list's implicit rule, so
    /// that `corsair.test` is its site (Chromium, Firefox), or has no
    /// registrable domain, each host a site of its own (WebKitGTK's
    /// libsoup with libpsl).
    pub unlisted_suffix_rule: bool,
}

/// Everything in which one engine's handling of CORS and cookies differs
/// from another's. [`Profile::default`] is Chromium's; [`Engine::profile`]
/// gives each engine's.
///
/// ```
/// use corsair::browser::{Engine, Profile, ThirdPartyCookies};
/// use std::time::Duration;
///
/// assert_eq!(Engine::WebKit.profile().max_age_cap, Duration::from_secs(600));
/// assert_eq!(Profile::firefox().cookies.third_party, ThirdPartyCookies::Partitioned);
///
/// // A Chrome profile whose user allows third-party cookies, as desktop
/// // Chrome does by default.
/// let desktop = Profile::chromium().with_third_party_cookies(ThirdPartyCookies::Allowed);
/// assert_eq!(desktop.engine, Engine::Chromium);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Profile {
    /// The engine: it words the console messages.
    pub engine: Engine,
    /// Which request headers are safelisted: Chromium's extras (`DPR`,
    /// `Save-Data`...) or the Fetch standard's list alone (Firefox, WebKit).
    pub safelist: Safelist,
    /// The longest a preflight answer is cached, whatever
    /// `Access-Control-Max-Age` says: 7200 s in Chromium, 86400 s in
    /// Firefox, 600 s in WebKit.
    pub max_age_cap: Duration,
    /// Whether `Access-Control-Allow-Headers: *` also covers
    /// `Authorization`. Fetch says it never does; the three engines let it
    /// by default.
    pub wildcard_covers_authorization: bool,
    /// Whether a script's `User-Agent` header is dropped (Chromium keeps
    /// the header for itself; Fetch no longer forbids it).
    pub forbids_user_agent: bool,
    /// How long a preflight answer is cached when `Access-Control-Max-Age`
    /// is not an integer: 5 s in Chromium and WebKit; Firefox caches
    /// nothing.
    pub unreadable_max_age: Duration,
    /// Whether an empty header line is left out when the lines of one
    /// header are combined (Firefox): `Access-Control-Allow-Origin:` then
    /// `Access-Control-Allow-Origin: <origin>` reads as the origin alone,
    /// where Chromium and WebKit read `, <origin>` and refuse.
    pub skips_empty_header_lines: bool,
    /// Whether the script gets the body of a `205 Reset Content` (WebKit
    /// does; Fetch and the other engines give an empty one).
    pub reads_205_body: bool,
    /// How the request after a redirect is preflighted.
    pub redirect_preflight: RedirectPreflight,
    /// Whether a redirect to a URL holding a user name or password fails
    /// even on the page's own origin (Chromium), not only where CORS
    /// applies (Fetch, Firefox, WebKit).
    pub refuses_any_userinfo_redirect: bool,
    /// How cookies are stored and sent.
    pub cookies: CookieRules,
}

impl Profile {
    /// Chromium's behaviour, with third-party cookies blocked as headless
    /// Chromium, Incognito and Chrome with the setting on block them;
    /// [`Profile::with_third_party_cookies`] models a profile that allows
    /// them.
    #[must_use]
    pub const fn chromium() -> Self {
        Profile {
            engine: Engine::Chromium,
            safelist: Safelist::Chromium,
            max_age_cap: CHROMIUM_MAX_AGE,
            wildcard_covers_authorization: true,
            forbids_user_agent: true,
            unreadable_max_age: DEFAULT_MAX_AGE,
            skips_empty_header_lines: false,
            reads_205_body: false,
            redirect_preflight: RedirectPreflight::Fetch,
            refuses_any_userinfo_redirect: true,
            cookies: CookieRules {
                default_same_site: SameSite::Lax,
                none_requires_secure: true,
                secure_over_http_loopback: true,
                third_party: ThirdPartyCookies::Blocked,
                partitioned: true,
                domain_needs_dot: false,
                unlisted_suffix_rule: true,
            },
        }
    }

    /// Firefox's behaviour: the Fetch safelist, a one-day cap, and
    /// third-party cookies partitioned by the page's site.
    #[must_use]
    pub const fn firefox() -> Self {
        Profile {
            engine: Engine::Firefox,
            safelist: Safelist::Fetch,
            max_age_cap: FIREFOX_MAX_AGE,
            wildcard_covers_authorization: true,
            forbids_user_agent: false,
            unreadable_max_age: Duration::ZERO,
            skips_empty_header_lines: true,
            reads_205_body: false,
            redirect_preflight: RedirectPreflight::PageOrigin,
            refuses_any_userinfo_redirect: false,
            cookies: CookieRules {
                default_same_site: SameSite::None,
                none_requires_secure: true,
                secure_over_http_loopback: true,
                third_party: ThirdPartyCookies::Partitioned,
                partitioned: true,
                domain_needs_dot: false,
                unlisted_suffix_rule: true,
            },
        }
    }

    /// WebKit's behaviour (Safari): the Fetch safelist, a ten-minute cap,
    /// third-party cookies blocked, and no `Secure` cookie over `http://`.
    #[must_use]
    pub const fn webkit() -> Self {
        Profile {
            engine: Engine::WebKit,
            safelist: Safelist::Fetch,
            max_age_cap: WEBKIT_MAX_AGE,
            wildcard_covers_authorization: true,
            forbids_user_agent: false,
            unreadable_max_age: DEFAULT_MAX_AGE,
            skips_empty_header_lines: false,
            reads_205_body: true,
            redirect_preflight: RedirectPreflight::NamesStrippedHeaders,
            refuses_any_userinfo_redirect: false,
            cookies: CookieRules {
                default_same_site: SameSite::None,
                none_requires_secure: false,
                secure_over_http_loopback: false,
                third_party: ThirdPartyCookies::Blocked,
                partitioned: false,
                domain_needs_dot: true,
                unlisted_suffix_rule: false,
            },
        }
    }

    /// The same profile with another third-party cookie setting: the one
    /// setting users change that turns a verdict.
    #[must_use]
    pub const fn with_third_party_cookies(mut self, third_party: ThirdPartyCookies) -> Self {
        self.cookies.third_party = third_party;
        self
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile::chromium()
    }
}

impl Engine {
    /// The engine's stock [`Profile`].
    #[must_use]
    pub const fn profile(self) -> Profile {
        match self {
            Engine::Chromium => Profile::chromium(),
            Engine::Firefox => Profile::firefox(),
            Engine::WebKit => Profile::webkit(),
        }
    }
}
