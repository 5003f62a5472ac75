//! `OriginPattern::parse` and the compiled matcher.
//!
//! Input: `allow_origins` entries, one per line (at most 8), a blank line,
//! then request origins, one per line. Every entry is parsed (and the whole
//! input too, as one entry); the valid ones make a policy, with and without
//! credentials, and each origin is checked against both. The policies'
//! answers must equal a plain reading of the patterns (the reference below,
//! a linear scan with string comparisons), and each pattern must accept the
//! origins it is documented to match.

#![no_main]

use corsair::Config;
use corsair::origin::{OriginPattern, PatternPort, RequestOrigin};
use corsair::policy::{Actual, Decision, Policy};
use http::Method;
use http::header::{HeaderMap, HeaderValue, ORIGIN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_entry(text);

    let (entries, origins) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut valid: Vec<(String, OriginPattern)> = Vec::new();
    for entry in entries.split('\n').take(8) {
        if let Some(pattern) = check_entry(entry) {
            valid.push((entry.to_owned(), pattern));
        }
    }
    if valid.is_empty() {
        return;
    }
    let patterns: Vec<OriginPattern> = valid.iter().map(|(_, p)| p.clone()).collect();
    let allow_origins: Vec<String> = valid.iter().map(|(entry, _)| entry.clone()).collect();

    let open = Policy::new(Config {
        allow_origins: allow_origins.clone(),
        ..Config::default()
    })
    .unwrap_or_else(|error| panic!("valid entries make a policy without credentials: {error}"));
    // With credentials, `*` is refused; every other valid entry is accepted
    // once both dangerous switches are on.
    let credentialed = (!patterns.contains(&OriginPattern::Any)).then(|| {
        Policy::new(Config {
            allow_origins: allow_origins.clone(),
            allow_credentials: true,
            dangerously_allow_insecure_origins: true,
            dangerously_allow_public_suffix_wildcards: true,
            ..Config::default()
        })
        .unwrap_or_else(|error| panic!("valid entries make a credentialed policy: {error}"))
    });

    // Origins each pattern must match, then the input's.
    let mut candidates: Vec<String> = patterns.iter().filter_map(matching_origin).collect();
    candidates.extend(origins.split('\n').take(32).map(str::to_owned));
    for candidate in &candidates {
        let Ok(value) = HeaderValue::from_str(candidate) else {
            continue;
        };
        let expected = reference_allows(&patterns, candidate.as_bytes());
        for policy in std::iter::once(&open).chain(credentialed.as_ref()) {
            let allowed = allowed(policy, &value);
            assert_eq!(
                allowed,
                expected,
                "{candidate:?} against {allow_origins:?} (credentials: {})",
                policy.config().allow_credentials
            );
        }
    }
});

/// Parses one entry and checks what must hold of a valid one.
fn check_entry(entry: &str) -> Option<OriginPattern> {
    let pattern = match OriginPattern::parse(entry) {
        Ok(pattern) => pattern,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return None;
        }
    };
    // What a pattern displays as parses back to it.
    let shown = pattern.to_string();
    assert_eq!(
        OriginPattern::parse(&shown).as_ref(),
        Ok(&pattern),
        "{entry:?} displays as {shown:?}"
    );
    let _ = (pattern.is_secure(), pattern.public_suffix_base());
    if let OriginPattern::Exact { origin, .. } = &pattern {
        // An exact entry is an origin as browsers send it (when not longer
        // than any origin a browser sends).
        assert_eq!(origin, entry, "an exact entry was rewritten");
        if origin.len() <= 512 {
            match RequestOrigin::parse(origin.as_bytes()) {
                Ok(RequestOrigin::Tuple(tuple)) => assert_eq!(tuple.as_str(), origin),
                other => panic!("exact entry {origin:?} is not a request origin: {other:?}"),
            }
        }
    }
    Some(pattern)
}

/// A subdomain of a `*.base` pattern, or the host of a `host:*` pattern on
/// some port: an origin the pattern is documented to match.
fn matching_origin(pattern: &OriginPattern) -> Option<String> {
    match pattern {
        OriginPattern::Subdomains { https, base, port } => {
            let scheme = if *https { "https" } else { "http" };
            let port = match port {
                PatternPort::Default => String::new(),
                PatternPort::Exact(number) => format!(":{number}"),
                PatternPort::Any => ":1".to_owned(),
            };
            Some(format!("{scheme}://x.{base}{port}"))
        }
        OriginPattern::AnyPort { scheme, host } => Some(format!("{scheme}://{host}:1")),
        OriginPattern::Exact { origin, .. } => Some(origin.clone()),
        _ => None,
    }
}

/// Whether a policy lets `origin` read a GET's response.
fn allowed(policy: &Policy, origin: &HeaderValue) -> bool {
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, origin.clone());
    match policy.check(&Method::GET, &headers) {
        Decision::Actual(Actual::Allowed(_)) => true,
        Decision::Actual(Actual::Refused(_)) => false,
        other => panic!("a GET with an Origin is an actual request: {other:?}"),
    }
}

/// The patterns read literally, one after the other.
fn reference_allows(patterns: &[OriginPattern], origin: &[u8]) -> bool {
    let tuple = match RequestOrigin::parse(origin) {
        Ok(RequestOrigin::Tuple(tuple)) => Some(tuple),
        _ => None,
    };
    patterns.iter().any(|pattern| match pattern {
        OriginPattern::Any => true,
        OriginPattern::Exact { origin: exact, .. } => exact.as_bytes() == origin,
        OriginPattern::AnyPort { scheme, host } => {
            tuple.is_some_and(|t| t.scheme() == scheme && t.host() == host)
        }
        OriginPattern::Subdomains { https, base, port } => tuple.is_some_and(|t| {
            let scheme = if *https { "https" } else { "http" };
            let subdomain = t
                .host()
                .strip_suffix(base.as_str())
                .and_then(|left| left.strip_suffix('.'))
                .is_some_and(|left| !left.is_empty());
            let port_ok = match port {
                PatternPort::Default => t.port().is_none(),
                PatternPort::Exact(number) => t.port() == Some(*number),
                PatternPort::Any => true,
            };
            t.scheme() == scheme && subdomain && port_ok
        }),
        _ => false,
    })
}
