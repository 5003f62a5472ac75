//! What `corsair audit` reports: a [`Finding`] of a stable [`Kind`], with
//! its [`Severity`], the evidence, why it matters and the fix.

use std::fmt;

use serde::Serialize;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a weakness (a public API answering `*`).
    Info,
    /// A mistake with little or no exploit (often: browsers ignore it).
    Low,
    /// Exploitable under conditions (a cache, a subdomain takeover, a
    /// network attacker).
    Medium,
    /// Exploitable by some sites on the web.
    High,
    /// Exploitable by any site on the web: read a logged-in user's data.
    Critical,
}

impl Severity {
    /// The lowercase name used in JSON and SARIF.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of finding. Their ids ([`Kind::id`]) are stable: CI
/// configurations may filter on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Any origin is echoed in `Access-Control-Allow-Origin`.
    ReflectsAnyOrigin,
    /// `null` is allowed (sandboxed iframes of any site send it).
    AllowsNullOrigin,
    /// An origin that starts with a trusted host is allowed
    /// (`https://example.com.evil.net`).
    PrefixMatch,
    /// An origin that ends with a trusted domain without a dot before it is
    /// allowed (`https://evilexample.com`).
    SuffixMatch,
    /// A dot in a trusted host matches any character (`apixexample.com`).
    UnescapedDot,
    /// A host with a special character after a trusted domain is allowed
    /// (`https://example.com_.evil.net`), which some browsers send.
    SpecialCharacterBypass,
    /// Any subdomain of the site is allowed.
    AnySubdomain,
    /// A trusted origin over plain `http://` is allowed.
    InsecureSchemeAllowed,
    /// A third-party hosting domain (`*.github.io`...) is allowed.
    ThirdPartyHostAllowed,
    /// A trusted host on another port is allowed.
    OtherPortAllowed,
    /// `*` with `Access-Control-Allow-Credentials: true`.
    WildcardWithCredentials,
    /// The answer depends on `Origin` but `Vary` does not say so.
    MissingVaryOrigin,
    /// More than one `Access-Control-Allow-Origin` value.
    MultipleAllowOrigin,
    /// `Access-Control-Allow-Credentials` present but not exactly `true`.
    CredentialsNotTrue,
    /// A preflight from an untrusted origin allows any method and header.
    PermissivePreflight,
    /// `Access-Control-Allow-Private-Network` sent to a preflight that did
    /// not ask for it.
    UnrequestedPrivateNetwork,
    /// `Access-Control-Max-Age` above what browsers honour.
    MaxAgeAboveCap,
    /// `Access-Control-Allow-Methods: *` with credentials (taken literally).
    WildcardMethodsWithCredentials,
    /// `Access-Control-Allow-Headers: *` with credentials (taken literally).
    WildcardHeadersWithCredentials,
    /// CR or LF in the `Origin` header ends up in the response headers.
    CrlfInjection,
    /// A cookie set on a credentialed answer to a trusted page is refused
    /// by some browser engine (`SameSite=None` without `Secure`, `Secure`
    /// over `http://`, a third-party cookie where they are blocked).
    CookieRefused,
    /// `Access-Control-Allow-Origin: *` without credentials: a public API.
    PublicApi,
}

impl Kind {
    /// Every kind, in the order reports list them.
    pub const ALL: [Kind; 22] = [
        Kind::ReflectsAnyOrigin,
        Kind::AllowsNullOrigin,
        Kind::PrefixMatch,
        Kind::SuffixMatch,
        Kind::UnescapedDot,
        Kind::SpecialCharacterBypass,
        Kind::AnySubdomain,
        Kind::InsecureSchemeAllowed,
        Kind::ThirdPartyHostAllowed,
        Kind::OtherPortAllowed,
        Kind::WildcardWithCredentials,
        Kind::MissingVaryOrigin,
        Kind::MultipleAllowOrigin,
        Kind::CredentialsNotTrue,
        Kind::PermissivePreflight,
        Kind::UnrequestedPrivateNetwork,
        Kind::MaxAgeAboveCap,
        Kind::WildcardMethodsWithCredentials,
        Kind::WildcardHeadersWithCredentials,
        Kind::CrlfInjection,
        Kind::CookieRefused,
        Kind::PublicApi,
    ];

    /// The stable kebab-case id.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Kind::ReflectsAnyOrigin => "reflects-any-origin",
            Kind::AllowsNullOrigin => "allows-null-origin",
            Kind::PrefixMatch => "prefix-match",
            Kind::SuffixMatch => "suffix-match",
            Kind::UnescapedDot => "unescaped-dot",
            Kind::SpecialCharacterBypass => "special-character-bypass",
            Kind::AnySubdomain => "any-subdomain",
            Kind::InsecureSchemeAllowed => "insecure-scheme-allowed",
            Kind::ThirdPartyHostAllowed => "third-party-host-allowed",
            Kind::OtherPortAllowed => "other-port-allowed",
            Kind::WildcardWithCredentials => "wildcard-with-credentials",
            Kind::MissingVaryOrigin => "missing-vary-origin",
            Kind::MultipleAllowOrigin => "multiple-allow-origin",
            Kind::CredentialsNotTrue => "credentials-not-true",
            Kind::PermissivePreflight => "permissive-preflight",
            Kind::UnrequestedPrivateNetwork => "unrequested-private-network",
            Kind::MaxAgeAboveCap => "max-age-above-cap",
            Kind::WildcardMethodsWithCredentials => "wildcard-methods-with-credentials",
            Kind::WildcardHeadersWithCredentials => "wildcard-headers-with-credentials",
            Kind::CrlfInjection => "crlf-injection",
            Kind::CookieRefused => "cookie-refused",
            Kind::PublicApi => "public-api",
        }
    }

    /// A one-line title.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Kind::ReflectsAnyOrigin => "any origin is allowed",
            Kind::AllowsNullOrigin => "the origin null is allowed",
            Kind::PrefixMatch => "origins that merely start with a trusted host are allowed",
            Kind::SuffixMatch => "origins that merely end with a trusted domain are allowed",
            Kind::UnescapedDot => "a dot in a trusted host matches any character",
            Kind::SpecialCharacterBypass => {
                "a trusted domain followed by a special character is allowed"
            }
            Kind::AnySubdomain => "any subdomain is allowed",
            Kind::InsecureSchemeAllowed => "a trusted origin over plain http is allowed",
            Kind::ThirdPartyHostAllowed => "a third-party hosting domain is allowed",
            Kind::OtherPortAllowed => "a trusted host on another port is allowed",
            Kind::WildcardWithCredentials => "`*` is sent with credentials (browsers refuse it)",
            Kind::MissingVaryOrigin => "the answer depends on Origin but Vary does not name it",
            Kind::MultipleAllowOrigin => {
                "several Access-Control-Allow-Origin values (browsers refuse them)"
            }
            Kind::CredentialsNotTrue => {
                "Access-Control-Allow-Credentials is not exactly `true` (browsers refuse it)"
            }
            Kind::PermissivePreflight => "preflights allow any method and header",
            Kind::UnrequestedPrivateNetwork => {
                "Access-Control-Allow-Private-Network is sent without being asked"
            }
            Kind::MaxAgeAboveCap => "Access-Control-Max-Age is above what browsers honour",
            Kind::WildcardMethodsWithCredentials => {
                "Access-Control-Allow-Methods: * with credentials (taken literally)"
            }
            Kind::WildcardHeadersWithCredentials => {
                "Access-Control-Allow-Headers: * with credentials (taken literally)"
            }
            Kind::CrlfInjection => "CR/LF in Origin reaches the response headers",
            Kind::CookieRefused => {
                "a cookie of a credentialed answer is refused by some browser engine"
            }
            Kind::PublicApi => "a public API: any origin may read it, without credentials",
        }
    }

    /// A longer text for SARIF rules and `--explain`-style help.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Kind::ReflectsAnyOrigin => {
                "The server copies any Origin into Access-Control-Allow-Origin. With credentials, \
                 any web page a logged-in user visits can read their data from this API."
            }
            Kind::AllowsNullOrigin => {
                "Origin: null is sent by sandboxed iframes, data: and file: documents and some \
                 redirects; any site can produce it, so allowing it is allowing everyone."
            }
            Kind::PrefixMatch => {
                "The origin check tests that the origin starts with a trusted value, so an \
                 attacker registers a domain such as example.com.attacker.net."
            }
            Kind::SuffixMatch => {
                "The origin check tests that the host ends with the trusted domain without \
                 requiring a dot before it, so an attacker registers attackerexample.com."
            }
            Kind::UnescapedDot => {
                "A regular expression uses an unescaped '.', which matches any character, so a \
                 domain such as apixexample.com passes."
            }
            Kind::SpecialCharacterBypass => {
                "Some browsers send origins with characters such as '_' or '}' in the host; a \
                 check that only looks for the trusted domain at the start accepts them."
            }
            Kind::AnySubdomain => {
                "Every subdomain is trusted: one subdomain with an XSS or a dangling DNS record \
                 (subdomain takeover) can read this API as the user."
            }
            Kind::InsecureSchemeAllowed => {
                "A trusted origin is also allowed over http://. A network attacker (public \
                 Wi-Fi) injects a script into that plain-http origin and reads this API."
            }
            Kind::ThirdPartyHostAllowed => {
                "A hosting domain where anyone can publish a page (github.io, netlify.app...) is \
                 trusted, so anyone can host the attacking page there."
            }
            Kind::OtherPortAllowed => {
                "The check ignores the port, so another service on the trusted host (possibly \
                 less protected) is trusted too."
            }
            Kind::WildcardWithCredentials => {
                "Access-Control-Allow-Origin: * together with Access-Control-Allow-Credentials: \
                 true is refused by browsers for credentialed requests: the configuration does \
                 not do what it intends."
            }
            Kind::MissingVaryOrigin => {
                "The response names one origin in Access-Control-Allow-Origin but Vary does not \
                 include Origin: a shared cache can serve one origin's answer to another (cache \
                 poisoning, or legitimate pages broken)."
            }
            Kind::MultipleAllowOrigin => {
                "Access-Control-Allow-Origin must hold exactly one origin; browsers refuse a \
                 list, so legitimate pages are blocked."
            }
            Kind::CredentialsNotTrue => {
                "Access-Control-Allow-Credentials must be exactly 'true'; browsers refuse \
                 anything else for credentialed requests."
            }
            Kind::PermissivePreflight => {
                "A preflight from an untrusted origin is answered with every method and header \
                 it asks for, so the preflight protects nothing."
            }
            Kind::UnrequestedPrivateNetwork => {
                "Access-Control-Allow-Private-Network: true is sent to a preflight that did not \
                 send Access-Control-Request-Private-Network: the server grants public sites \
                 access to a private-network service without being asked."
            }
            Kind::MaxAgeAboveCap => {
                "Browsers cap Access-Control-Max-Age, each engine at its own value (the \
                 finding quotes them); a larger value has no further effect."
            }
            Kind::WildcardMethodsWithCredentials => {
                "With credentials, browsers read '*' in Access-Control-Allow-Methods as a method \
                 named '*': the intended methods are refused."
            }
            Kind::WildcardHeadersWithCredentials => {
                "With credentials, browsers read '*' in Access-Control-Allow-Headers as a header \
                 named '*': the intended headers are refused."
            }
            Kind::CrlfInjection => {
                "The server decodes or copies CR/LF from Origin into its response headers, so a \
                 request can add headers to the response (response splitting)."
            }
            Kind::CookieRefused => {
                "A credentialed call carries the user's session only if the browser stored its \
                 cookie. Chromium and Firefox refuse SameSite=None without Secure; WebKit keeps \
                 no Secure cookie over http://, even on localhost; engines that block \
                 third-party cookies refuse those of another site. The users of those engines \
                 are logged out of this API."
            }
            Kind::PublicApi => {
                "Access-Control-Allow-Origin: * without credentials lets any page read public \
                 data, which is sound for public data and never exposes cookies or logins."
            }
        }
    }

    /// The change that removes the finding.
    #[must_use]
    pub fn fix(self) -> &'static str {
        match self {
            Kind::ReflectsAnyOrigin
            | Kind::PrefixMatch
            | Kind::SuffixMatch
            | Kind::UnescapedDot
            | Kind::SpecialCharacterBypass => {
                "compare the parsed origin exactly against an allowlist of origins (corsair: \
                 allow_origins = [\"https://app.example.com\"]) instead of reflecting or \
                 pattern-matching the string"
            }
            Kind::AllowsNullOrigin => {
                "never allow `null`; serve the calling page from a real origin and allow that"
            }
            Kind::AnySubdomain => {
                "list the subdomains that need access; keep a wildcard only if every subdomain \
                 is under your control and free of user content"
            }
            Kind::InsecureSchemeAllowed => {
                "allow only https:// origins when credentials are allowed"
            }
            Kind::ThirdPartyHostAllowed => {
                "allow your exact page origin (https://you.github.io), never the hosting domain"
            }
            Kind::OtherPortAllowed => "compare the whole origin, port included",
            Kind::WildcardWithCredentials => {
                "echo the exact allowed origin with credentials, or drop \
                 Access-Control-Allow-Credentials for a public API"
            }
            Kind::MissingVaryOrigin => {
                "add `Vary: Origin` to every response whose CORS headers depend on the origin \
                 (corsair always does)"
            }
            Kind::MultipleAllowOrigin => {
                "send one Access-Control-Allow-Origin with the request's origin when it is allowed"
            }
            Kind::CredentialsNotTrue => {
                "send `Access-Control-Allow-Credentials: true` exactly, or not at all"
            }
            Kind::PermissivePreflight => {
                "answer preflights only for allowed origins, with the methods and headers the API \
                 accepts"
            }
            Kind::UnrequestedPrivateNetwork => {
                "send Access-Control-Allow-Private-Network only in answer to \
                 Access-Control-Request-Private-Network, for trusted origins"
            }
            Kind::MaxAgeAboveCap => {
                "lower the max age to Chromium's cap or less: beyond it the value has no effect \
                 in Chromium"
            }
            Kind::WildcardMethodsWithCredentials => {
                "list the methods (GET, POST, PUT...) instead of `*` when credentials are allowed"
            }
            Kind::WildcardHeadersWithCredentials => {
                "list the headers, or echo Access-Control-Request-Headers, instead of `*` when \
                 credentials are allowed"
            }
            Kind::CrlfInjection => {
                "never decode or copy raw request bytes into response headers; echo only \
                 origins that passed the allowlist"
            }
            Kind::CookieRefused => {
                "serve the API on the page's own site (api.example.com for app.example.com) with \
                 `SameSite=Lax` cookies, which every engine keeps and sends back over https and \
                 http://localhost alike; a cookie for another site needs `SameSite=None; Secure` \
                 over https and still works only where third-party cookies do"
            }
            Kind::PublicApi => "nothing to fix if the data is public",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// One request and its answer, as lines of HTTP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The request line and the headers that matter.
    pub request: Vec<String>,
    /// The status line and the CORS headers of the answer.
    pub response: Vec<String>,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was found.
    pub kind: Kind,
    /// How bad it is.
    pub severity: Severity,
    /// The origin sent, where one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The exchange that shows it.
    pub evidence: Evidence,
    /// Why it matters (exploitable, or merely ineffective), for this case.
    pub why: String,
    /// What to change.
    pub fix: String,
}
