//! The compiled origin matcher.
//!
//! Three structures, each consulted at most once per request:
//! - a set of exact origins, probed with the raw `Origin` value before it
//!   is even parsed: every entry is a validated origin, so a byte-equal
//!   value is one too. Up to 16 are compared in turn, length first, each
//!   kept with a header value a response can carry; more are hashed. The
//!   origins sit end to end in one buffer and the table holds their places
//!   (8 bytes a slot), so a million origins take two allocations rather
//!   than a million, and about 49 bytes each, 29 of them the origin's own
//!   (`cargo bench -p corsair --bench origins_file`);
//! - a hash set of `scheme://host` for `scheme://host:*` patterns, probed with
//!   the origin minus its port;
//! - a tree of domain labels, read right to left, for `*.base` patterns: the
//!   walk takes one step per label of the request's host and stops at the
//!   first node that allows the scheme and port.
//!
//! Past 16 exact origins, the cost of a lookup depends on the length of the
//! origin, never on the number of configured origins: no list is scanned
//! and no regex is run. (Up to 16, a scan that compares lengths first costs
//! less than hashing.)

use std::hash::BuildHasher as _;

use bytes::Bytes;
use hashbrown::HashTable;
use http::HeaderValue;

use crate::hash::WordHash;

type HashMap<K, V> = hashbrown::HashMap<K, V, WordHash>;
type HashSet<K> = hashbrown::HashSet<K, WordHash>;

use super::pattern::{OriginPattern, PatternPort};
use super::request::TupleOrigin;

/// The allowed origins of a policy, compiled. `*` is not represented here:
/// a policy for any origin never consults a matcher.
#[derive(Clone, Debug, Default)]
pub(crate) struct OriginMatcher {
    exact: ExactSet,
    any_port: HashSet<Box<[u8]>>,
    subdomains: LabelNode,
}

/// A node of the label tree: the domain spelled by the path from the root.
#[derive(Clone, Debug, Default)]
struct LabelNode {
    children: HashMap<Box<[u8]>, LabelNode>,
    /// Which schemes and ports the subdomains of this domain may use.
    allowed: Option<Box<SchemePorts>>,
}

/// Scheme and port combinations allowed for the subdomains of one domain.
#[derive(Clone, Debug, Default)]
struct SchemePorts {
    /// Any port, indexed by `https as usize`.
    any_port: [bool; 2],
    /// `(https, port)`, with `None` for the default port.
    ports: HashSet<(bool, Option<u16>)>,
}

impl OriginMatcher {
    /// Adds one pattern (`Any` is ignored: see the type's documentation).
    pub(crate) fn insert(&mut self, pattern: &OriginPattern) {
        match pattern {
            OriginPattern::Any => {}
            OriginPattern::Exact { origin, .. } => self.exact.insert(origin.as_bytes()),
            OriginPattern::AnyPort { scheme, host } => {
                self.any_port
                    .insert(format!("{scheme}://{host}").into_bytes().into());
            }
            OriginPattern::Subdomains { https, base, port } => {
                let mut node = &mut self.subdomains;
                for label in base.rsplit('.') {
                    node = node.children.entry(label.as_bytes().into()).or_default();
                }
                let allowed = node.allowed.get_or_insert_with(Default::default);
                match port {
                    PatternPort::Any => {
                        if let Some(flag) = allowed.any_port.get_mut(usize::from(*https)) {
                            *flag = true;
                        }
                    }
                    PatternPort::Default => {
                        allowed.ports.insert((*https, None));
                    }
                    PatternPort::Exact(number) => {
                        allowed.ports.insert((*https, Some(*number)));
                    }
                }
            }
        }
    }

    /// Gives back what the buffers grew beyond their contents, once every
    /// pattern is in: a third of a large list's bytes.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.exact.shrink_to_fit();
    }

    /// Whether the raw `Origin` value is one of the exact origins, and if
    /// the list is short, the policy's own header value for it. A match
    /// needs no parsing: the entry it equals was validated.
    #[inline]
    pub(crate) fn find_exact(&self, value: &[u8]) -> ExactHit<'_> {
        self.exact.find(value)
    }

    /// The header values of a short list of exact origins (none for a long
    /// one), for adapters that convert them once to their own type.
    #[cfg(feature = "actix")]
    pub(crate) fn listed_values(&self) -> &[HeaderValue] {
        if self.exact.hashed_only {
            &[]
        } else {
            &self.exact.listed
        }
    }

    /// Whether a (well-formed) request origin is allowed.
    #[cfg(test)]
    pub(crate) fn matches(&self, origin: &TupleOrigin<'_>) -> bool {
        !matches!(self.find_exact(origin.as_str().as_bytes()), ExactHit::Miss)
            || self.matches_pattern(origin)
    }

    /// Whether a (well-formed) request origin matches a `scheme://host:*` or
    /// `*.base` pattern.
    pub(crate) fn matches_pattern(&self, origin: &TupleOrigin<'_>) -> bool {
        if !self.any_port.is_empty() && self.any_port.contains(origin.without_port_bytes()) {
            return true;
        }
        if self.subdomains.children.is_empty() {
            return false;
        }
        let https = match origin.scheme_bytes() {
            b"https" => true,
            b"http" => false,
            _ => return false,
        };
        self.subdomains
            .matches_subdomain(origin.host_bytes(), https, origin.port())
    }
}

/// What the exact origins say of a request's `Origin`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ExactHit<'p> {
    /// Not one of them.
    Miss,
    /// One of a long list.
    Hit,
    /// One of a short list: the header value the policy built for it, which
    /// a response can carry instead of a copy of the request's (a copy that
    /// allocates when the request's value is not shared: see
    /// [`AllowOrigin::Listed`](crate::policy::AllowOrigin::Listed)).
    Listed(&'p HeaderValue),
}

/// The most exact origins compared one by one, each with a header value of
/// its own; longer lists are hashed, and echo the request's value.
const LISTED_MAX: usize = 16;

/// A set of byte strings kept end to end in one buffer, the table holding
/// each one's start and end in it; while it is short, also a list of them
/// as header values.
#[derive(Clone, Default)]
struct ExactSet {
    /// Every entry, while there are at most [`LISTED_MAX`]: compared length
    /// first, a short list costs less to scan than to hash.
    listed: Vec<HeaderValue>,
    /// More than [`LISTED_MAX`] entries, or one that is no header value
    /// (none in practice): `listed` is not used.
    hashed_only: bool,
    table: HashTable<(u32, u32)>,
    bytes: Vec<u8>,
    /// Entries past the 4 GiB a `u32` can place: none in practice (an
    /// origins file holds at most 512 MiB), kept so that no size of list
    /// can make an insertion fail.
    beyond: HashSet<Box<[u8]>>,
    hasher: WordHash,
}

impl ExactSet {
    fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.listed.shrink_to_fit();
    }

    fn entry(&self, (start, end): (u32, u32)) -> &[u8] {
        self.bytes
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    fn insert(&mut self, value: &[u8]) {
        if self.contains(value) {
            return;
        }
        self.list(value);
        let start = self.bytes.len();
        let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(start + value.len()))
        else {
            self.beyond.insert(value.into());
            return;
        };
        self.bytes.extend_from_slice(value);
        let hash = self.hasher.hash_one(value);
        let (table, bytes, hasher) = (&mut self.table, &self.bytes, &self.hasher);
        table.insert_unique(hash, (start, end), |&(start, end)| {
            hasher.hash_one(bytes.get(start as usize..end as usize).unwrap_or_default())
        });
    }

    /// Keeps `value`'s header value while the list is short. Its bytes are
    /// owned by a shared buffer, so every clone is a reference count.
    fn list(&mut self, value: &[u8]) {
        if self.hashed_only {
            return;
        }
        let header = HeaderValue::from_maybe_shared(Bytes::from_owner(value.to_vec()));
        match header {
            Ok(header) if self.listed.len() < LISTED_MAX => self.listed.push(header),
            _ => {
                self.hashed_only = true;
                self.listed = Vec::new();
            }
        }
    }

    #[inline]
    fn find(&self, value: &[u8]) -> ExactHit<'_> {
        if !self.hashed_only {
            return self
                .listed
                .iter()
                .find(|listed| listed.len() == value.len() && listed.as_bytes() == value)
                .map_or(ExactHit::Miss, ExactHit::Listed);
        }
        if self.contains(value) {
            ExactHit::Hit
        } else {
            ExactHit::Miss
        }
    }

    fn contains(&self, value: &[u8]) -> bool {
        let hash = self.hasher.hash_one(value);
        self.table
            .find(hash, |&place| self.entry(place) == value)
            .is_some()
            || (!self.beyond.is_empty() && self.beyond.contains(value))
    }
}

impl std::fmt::Debug for ExactSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(
                self.table
                    .iter()
                    .map(|&place| String::from_utf8_lossy(self.entry(place))),
            )
            .entries(
                self.beyond
                    .iter()
                    .map(|value| String::from_utf8_lossy(value)),
            )
            .finish()
    }
}

impl LabelNode {
    /// Walks `host` label by label from the right. A node with `allowed`
    /// rules matches when at least one label of `host` remains to its left.
    fn matches_subdomain(&self, host: &[u8], https: bool, port: Option<u16>) -> bool {
        let mut node = self;
        let mut rest = host;
        loop {
            let (left, label) = match rest.iter().rposition(|&byte| byte == b'.') {
                Some(dot) => (rest.get(..dot), rest.get(dot + 1..).unwrap_or_default()),
                None => (None, rest),
            };
            let Some(child) = node.children.get(label) else {
                return false;
            };
            let Some(left) = left else {
                // The whole host is the base domain itself: not a subdomain.
                return false;
            };
            if child
                .allowed
                .as_deref()
                .is_some_and(|allowed| allowed.allows(https, port))
            {
                return true;
            }
            node = child;
            rest = left;
        }
    }
}

impl SchemePorts {
    fn allows(&self, https: bool, port: Option<u16>) -> bool {
        self.any_port
            .get(usize::from(https))
            .copied()
            .unwrap_or(false)
            || self.ports.contains(&(https, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::origin::RequestOrigin;

    fn matcher(patterns: &[&str]) -> OriginMatcher {
        let mut matcher = OriginMatcher::default();
        for pattern in patterns {
            matcher.insert(&OriginPattern::parse(pattern).unwrap());
        }
        matcher
    }

    /// A short list answers with the policy's own values, a long one by
    /// hashing; both find exactly the origins inserted, duplicates once.
    #[test]
    fn short_lists_are_listed_and_long_ones_hashed() {
        for count in [1, LISTED_MAX - 1, LISTED_MAX, LISTED_MAX + 1, 200] {
            let origins: Vec<String> = (0..count)
                .map(|n| format!("https://app{n}.example.com"))
                .collect();
            let mut patterns: Vec<&str> = origins.iter().map(String::as_str).collect();
            patterns.push(patterns[0]);
            let matcher = matcher(&patterns);
            for origin in &origins {
                match matcher.find_exact(origin.as_bytes()) {
                    ExactHit::Listed(value) => {
                        assert!(count <= LISTED_MAX, "{count}");
                        assert_eq!(value.as_bytes(), origin.as_bytes());
                    }
                    ExactHit::Hit => assert!(count > LISTED_MAX, "{count}"),
                    ExactHit::Miss => panic!("{origin} missed among {count}"),
                }
                let mut longer = origin.clone();
                longer.push('0');
                assert!(matches!(
                    matcher.find_exact(longer.as_bytes()),
                    ExactHit::Miss
                ));
                let same_length = origin.replace("app", "apq");
                assert!(matches!(
                    matcher.find_exact(same_length.as_bytes()),
                    ExactHit::Miss
                ));
            }
            let listed = if count <= LISTED_MAX { count } else { 0 };
            assert_eq!(matcher.exact.listed.len(), listed, "{count}");
        }
    }

    fn allows(matcher: &OriginMatcher, origin: &str) -> bool {
        match RequestOrigin::parse(origin.as_bytes()) {
            Ok(RequestOrigin::Tuple(tuple)) => matcher.matches(&tuple),
            _ => false,
        }
    }

    #[test]
    fn exact_origins_match_byte_for_byte() {
        let m = matcher(&[
            "https://app.example.com",
            "http://localhost:8080",
            "http://[::1]:3000",
        ]);
        assert!(allows(&m, "https://app.example.com"));
        assert!(allows(&m, "http://localhost:8080"));
        assert!(allows(&m, "http://[::1]:3000"));
        for origin in [
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://app.example.com.evil.com",
            "https://evilapp.example.com",
            "https://app.example.co",
            "https://app.example.com.",
            "http://localhost",
            "http://localhost:8081",
            "http://[::1]",
        ] {
            assert!(!allows(&m, origin), "{origin}");
        }
    }

    #[test]
    fn subdomain_patterns_need_at_least_one_label() {
        let m = matcher(&["https://*.example.com"]);
        assert!(allows(&m, "https://a.example.com"));
        assert!(allows(&m, "https://a.b.c.example.com"));
        for origin in [
            "https://example.com",
            "http://a.example.com",
            "https://a.example.com:8443",
            "https://evilexample.com",
            "https://a.example.com.evil.com",
            "https://example.com.evil.com",
            "https://a.example.comm",
            "https://a.xexample.com",
            "https://a.example.com.",
        ] {
            assert!(!allows(&m, origin), "{origin}");
        }
    }

    #[test]
    fn subdomain_ports_and_schemes_combine() {
        let m = matcher(&[
            "https://*.example.com:8443",
            "http://*.example.com:*",
            "https://*.a.example.com",
        ]);
        assert!(allows(&m, "https://x.example.com:8443"));
        assert!(!allows(&m, "https://x.example.com"));
        assert!(allows(&m, "http://x.example.com"));
        assert!(allows(&m, "http://x.example.com:1"));
        // A deeper pattern adds to, never hides, a shallower one.
        assert!(allows(&m, "https://x.a.example.com"));
        assert!(allows(&m, "https://x.a.example.com:8443"));
        assert!(!allows(&m, "https://a.example.com"));
    }

    #[test]
    fn any_port_patterns() {
        let m = matcher(&["http://localhost:*", "http://[::1]:*"]);
        assert!(allows(&m, "http://localhost"));
        assert!(allows(&m, "http://localhost:5173"));
        assert!(allows(&m, "http://[::1]:8080"));
        assert!(!allows(&m, "https://localhost:5173"));
        assert!(!allows(&m, "http://localhost.evil.com:5173"));
        assert!(!allows(&m, "http://app.localhost:5173"));
    }

    #[test]
    fn nothing_matches_an_empty_matcher_or_other_schemes() {
        let m = matcher(&[]);
        assert!(!allows(&m, "https://app.example.com"));
        let m = matcher(&["https://*.example.com"]);
        assert!(!allows(&m, "wss://a.example.com"));
    }
}
