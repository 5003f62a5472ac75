//! The origins `corsair audit` sends, each tagged with the mistake it
//! would reveal if the server allowed it.

use url::Url;

use super::findings::Kind;

/// The attacker's domain in generated origins.
pub const ATTACKER: &str = "corsair-attacker.com";

/// The label of generated subdomains.
pub const SUBDOMAIN_LABEL: &str = "corsair-audit";

/// The header a vulnerable server ends up sending when it decodes CR/LF
/// from the `Origin` (see [`Class::Crlf`]).
pub const INJECTED_HEADER: &str = "x-corsair-injected";

/// Characters some browsers accept in hosts and that naive checks let
/// through after a trusted domain (`https://example.com_.attacker.com`).
pub const SPECIAL_CHARACTERS: [&str; 21] = [
    "_", "-", "{", "}", "^", "!", "~", "`", ";", "|", "&", "'", "(", ")", "*", ",", "$", "=", "+",
    "%60", "%0b",
];

/// Hosting domains where anyone can publish a page under a subdomain.
pub const THIRD_PARTY_DOMAINS: [&str; 10] = [
    "github.io",
    "gitlab.io",
    "netlify.app",
    "vercel.app",
    "herokuapp.com",
    "pages.dev",
    "web.app",
    "firebaseapp.com",
    "azurewebsites.net",
    "s3.amazonaws.com",
];

/// What an origin tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// An origin the user says is trusted: the baseline.
    Trusted,
    /// An origin nobody trusts.
    Arbitrary,
    /// `null`.
    Null,
    /// A trusted host followed by the attacker's domain.
    Prefix,
    /// The attacker's name glued before a trusted domain.
    Suffix,
    /// A trusted host with a dot replaced by a letter.
    UnescapedDot,
    /// A trusted domain, a special character, the attacker's domain.
    Special,
    /// A new subdomain of a trusted domain.
    Subdomain,
    /// A trusted origin over plain http.
    InsecureScheme,
    /// A page on a third-party hosting domain.
    ThirdParty,
    /// A trusted host on another port.
    OtherPort,
    /// CR/LF, percent-encoded, to catch servers that decode the origin.
    Crlf,
}

impl Class {
    /// The finding when the server allows an origin of this class, if any.
    #[must_use]
    pub fn kind(self) -> Option<Kind> {
        match self {
            Class::Trusted => None,
            Class::Arbitrary => Some(Kind::ReflectsAnyOrigin),
            Class::Null => Some(Kind::AllowsNullOrigin),
            Class::Prefix => Some(Kind::PrefixMatch),
            Class::Suffix => Some(Kind::SuffixMatch),
            Class::UnescapedDot => Some(Kind::UnescapedDot),
            Class::Special => Some(Kind::SpecialCharacterBypass),
            Class::Subdomain => Some(Kind::AnySubdomain),
            Class::InsecureScheme => Some(Kind::InsecureSchemeAllowed),
            Class::ThirdParty => Some(Kind::ThirdPartyHostAllowed),
            Class::OtherPort => Some(Kind::OtherPortAllowed),
            Class::Crlf => Some(Kind::ReflectsAnyOrigin),
        }
    }
}

/// An origin to send and what it tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The `Origin` header's value.
    pub origin: String,
    /// What it tests.
    pub class: Class,
}

/// A host to derive origins from, with the scheme and port to use.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Base {
    scheme: String,
    host: String,
}

/// The origins to send for a scan of `target` trusting `trusted`, without
/// duplicates, trusted ones first.
#[must_use]
pub fn candidates(target: &Url, trusted: &[Url]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut push = |origin: String, class: Class| {
        if !out.iter().any(|candidate| candidate.origin == origin) {
            out.push(Candidate { origin, class });
        }
    };
    let trusted_origins: Vec<String> = trusted
        .iter()
        .map(|url| url.origin().ascii_serialization())
        .collect();
    for origin in &trusted_origins {
        push(origin.clone(), Class::Trusted);
    }
    push(format!("https://{ATTACKER}"), Class::Arbitrary);
    push("null".to_owned(), Class::Null);

    // Hosts to build look-alikes of: each trusted host, its registrable
    // domain, and the target's host and registrable domain (names only).
    let mut bases: Vec<Base> = Vec::new();
    let mut add_base = |scheme: &str, host: &str| {
        let base = Base {
            scheme: scheme.to_owned(),
            host: host.to_owned(),
        };
        if !bases.contains(&base) {
            bases.push(base);
        }
    };
    for url in trusted.iter().chain(std::iter::once(target)) {
        let Some(host) = url.domain() else { continue };
        let scheme = if url.scheme() == "http" && trusted.contains(url) {
            "http"
        } else {
            "https"
        };
        add_base(scheme, host);
        if let Some(domain) = registrable_domain(host)
            && domain != host
        {
            add_base(scheme, domain);
        }
    }
    for base in bases.iter().take(4) {
        let Base { scheme, host } = base;
        push(format!("{scheme}://{host}.{ATTACKER}"), Class::Prefix);
        // Only a registrable domain glued to the attacker's name is a
        // domain the attacker can register: `corsairattackerapp.example.com`
        // is a subdomain of example.com (tested as such below).
        if registrable_domain(host).is_none_or(|domain| domain == host) {
            push(format!("{scheme}://corsairattacker{host}"), Class::Suffix);
        }
        // The dot before the registrable domain, replaced by a letter,
        // gives a domain the attacker can register (`appxexample.com` for
        // `app.example.com`); other dots give names no registry sells.
        if let Some(domain) = registrable_domain(host)
            && let Some(label) = host.strip_suffix(domain).and_then(|h| h.strip_suffix('.'))
            && !label.is_empty()
        {
            push(format!("{scheme}://{label}x{domain}"), Class::UnescapedDot);
        }
        for character in SPECIAL_CHARACTERS {
            push(
                format!("{scheme}://{host}{character}.{ATTACKER}"),
                Class::Special,
            );
        }
        push(
            format!("{scheme}://{SUBDOMAIN_LABEL}.{host}"),
            Class::Subdomain,
        );
    }
    for url in trusted {
        let Some(host) = url.host_str() else { continue };
        if url.scheme() == "https" {
            let port = url
                .port()
                .map(|port| format!(":{port}"))
                .unwrap_or_default();
            push(format!("http://{host}{port}"), Class::InsecureScheme);
        }
        let other_port = match url.port_or_known_default() {
            Some(8443) => 9443,
            _ => 8443,
        };
        push(
            format!("{}://{host}:{other_port}", url.scheme()),
            Class::OtherPort,
        );
    }
    for domain in THIRD_PARTY_DOMAINS {
        push(
            format!("https://{SUBDOMAIN_LABEL}.{domain}"),
            Class::ThirdParty,
        );
    }
    push(
        format!("https://{ATTACKER}%0d%0a{INJECTED_HEADER}:%20yes"),
        Class::Crlf,
    );
    // Never test a trusted origin as a look-alike: a user who trusts
    // `https://example.com` and `https://www.example.com` gets no
    // subdomain finding for the second.
    let trusted_set = trusted_origins;
    out.retain(|candidate| {
        candidate.class == Class::Trusted || !trusted_set.contains(&candidate.origin)
    });
    out
}

/// The registrable domain of `host` (`example.co.uk` for
/// `api.example.co.uk`), when the public suffix list knows one.
fn registrable_domain(host: &str) -> Option<&str> {
    let domain = psl::domain(host.as_bytes())?;
    std::str::from_utf8(domain.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(target: &str, trusted: &[&str]) -> Vec<Candidate> {
        let trusted: Vec<Url> = trusted.iter().map(|t| Url::parse(t).unwrap()).collect();
        candidates(&Url::parse(target).unwrap(), &trusted)
    }

    #[test]
    fn look_alikes_of_each_trusted_host_and_its_domain() {
        let list = origins("http://127.0.0.1:3000/api", &["https://app.example.com"]);
        let has = |origin: &str, class: Class| {
            list.iter().any(|c| c.origin == origin && c.class == class)
        };
        assert_eq!(list[0].class, Class::Trusted);
        assert!(has("https://corsair-attacker.com", Class::Arbitrary));
        assert!(has("null", Class::Null));
        assert!(has(
            "https://app.example.com.corsair-attacker.com",
            Class::Prefix
        ));
        assert!(has(
            "https://example.com.corsair-attacker.com",
            Class::Prefix
        ));
        assert!(has("https://corsairattackerexample.com", Class::Suffix));
        assert!(
            !list
                .iter()
                .any(|c| c.origin == "https://corsairattackerapp.example.com")
        );
        assert!(has("https://appxexample.com", Class::UnescapedDot));
        assert!(has(
            "https://app.example.com_.corsair-attacker.com",
            Class::Special
        ));
        assert!(has("https://corsair-audit.example.com", Class::Subdomain));
        assert!(has("http://app.example.com", Class::InsecureScheme));
        assert!(has("https://app.example.com:8443", Class::OtherPort));
        assert!(has("https://corsair-audit.github.io", Class::ThirdParty));
        // Nothing is derived from an IP address.
        assert!(!list.iter().any(|c| c.origin.contains("127.0.0.1")));
        let unique: std::collections::HashSet<_> = list.iter().map(|c| &c.origin).collect();
        assert_eq!(unique.len(), list.len());
        assert!(list.len() < 150, "{}", list.len());
    }

    #[test]
    fn a_trusted_origin_is_never_tested_as_a_look_alike() {
        let list = origins(
            "https://api.example.com/",
            &["https://example.com", "https://corsair-audit.example.com"],
        );
        let audit = list
            .iter()
            .find(|c| c.origin == "https://corsair-audit.example.com")
            .unwrap();
        assert_eq!(audit.class, Class::Trusted);
    }
}
