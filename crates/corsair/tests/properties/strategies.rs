//! Random policies, requests and responses, drawn from a small universe of
//! schemes, hosts and ports so that random requests often hit (and nearly
//! miss) what random policies allow.

use corsair::config::WebSocketOrigins;
use corsair::origin::OriginPattern;
use corsair::{Config, MAX_AGE_LIMIT};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

use super::reference::{default_port, parse_origin};

/// Hosts of origins and patterns: sites, look-alikes, loopback, addresses,
/// public suffixes.
pub(crate) const HOSTS: &[&str] = &[
    "example.com",
    "app.example.com",
    "a.b.example.com",
    "example.org",
    "localhost",
    "app.localhost",
    "127.0.0.1",
    "[::1]",
    "github.io",
    "user.github.io",
    "com",
    "co.uk",
    "example.co.uk",
    "evil.com",
    "example.com.evil.com",
    "evilexample.com",
    "a_b.example.com",
    "xn--bcher-kva.example",
];

/// Bases of `*.base` patterns (no addresses: those have no subdomains).
const BASES: &[&str] = &[
    "example.com",
    "b.example.com",
    "localhost",
    "github.io",
    "com",
    "co.uk",
    "example.co.uk",
    "evil.com",
];

/// Labels put in front of a host.
const PREFIXES: &[&str] = &["", "", "", "a.", "app.", "a.b.", "x-y.", "evil"];

const PORTS: &[Option<u16>] = &[
    None,
    None,
    None,
    Some(0),
    Some(80),
    Some(443),
    Some(3000),
    Some(8080),
    Some(8443),
    Some(65535),
];

fn scheme() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => Just("https"),
        4 => Just("http"),
        1 => Just("wss"),
        1 => Just("capacitor"),
    ]
}

/// `scheme://host[:port]` as a browser serialises it (the default port left
/// out). A prefix before an address makes a name that only looks like one.
pub(crate) fn origin_text(scheme: &str, host: &str, port: Option<u16>) -> String {
    match port {
        Some(port) if Some(port) != default_port(scheme) => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    }
}

/// A well-formed origin from the universe.
pub(crate) fn origin() -> impl Strategy<Value = String> {
    (scheme(), select(PREFIXES), select(HOSTS), select(PORTS)).prop_map(
        |(scheme, prefix, host, port)| {
            let prefix = if host.starts_with('[') { "" } else { prefix };
            origin_text(scheme, &format!("{prefix}{host}"), port)
        },
    )
}

/// One valid `allow_origins` entry (including `*`).
pub(crate) fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("*".to_owned()),
        5 => (scheme(), select(PREFIXES), select(HOSTS), select(PORTS)).prop_map(
            |(scheme, prefix, host, port)| {
                // `evil` glued to an address would make a name ending in a
                // number, which patterns refuse.
                let prefix = if host.starts_with('[') || host.starts_with('1') { "" } else { prefix };
                let prefix = if prefix == "evil" { "evil." } else { prefix };
                origin_text(scheme, &format!("{prefix}{host}"), port)
            }
        ),
        2 => (scheme(), select(HOSTS)).prop_map(|(scheme, host)| format!("{scheme}://{host}:*")),
        4 => (any::<bool>(), select(BASES), select(PORTS), any::<bool>()).prop_map(
            |(https, base, port, any_port)| {
                let scheme = if https { "https" } else { "http" };
                let wildcard = format!("*.{base}");
                if any_port {
                    format!("{scheme}://{wildcard}:*")
                } else {
                    origin_text(scheme, &wildcard, port)
                }
            }
        ),
    ]
}

const METHODS: &[&str] = &[
    "PUT", "PATCH", "patch", "DELETE", "delete", "GET", "POST", "OPTIONS", "X-CUSTOM", "*",
];
const ALLOW_HEADERS: &[&str] = &[
    "content-type",
    "x-api-key",
    "X-API-Key",
    "authorization",
    "x-trace",
    "accept",
    "x-requested-with",
    "*",
];
const EXPOSE_HEADERS: &[&str] = &["x-request-id", "content-length", "X-Total", "*"];

/// A configuration `Policy::new` accepts: random entries, then repaired
/// where credentials forbid them (`*` origins and expose lists) and with the
/// `dangerously_*` switches turned on where an entry needs them.
pub(crate) fn valid_config() -> impl Strategy<Value = Config> {
    (
        vec(pattern(), 1..5),
        any::<bool>(),
        vec(select(METHODS), 0..4),
        vec(select(ALLOW_HEADERS), 0..4),
        vec(select(EXPOSE_HEADERS), 0..3),
        option::of(0..=MAX_AGE_LIMIT),
        any::<bool>(),
        any::<bool>(),
        (
            select(&[None, Some(200), Some(204)][..]),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                origins,
                credentials,
                methods,
                headers,
                expose,
                max_age,
                insecure,
                suffix,
                (preflight_status, timing_allow_origin, cross_origin_protection, pass),
            )| {
                let mut config = Config {
                    allow_origins: origins,
                    allow_origins_file: None,
                    allow_credentials: credentials,
                    allow_methods: methods.into_iter().map(String::from).collect(),
                    allow_headers: headers.into_iter().map(String::from).collect(),
                    expose_headers: expose.into_iter().map(String::from).collect(),
                    max_age,
                    dangerously_allow_insecure_origins: insecure,
                    dangerously_allow_public_suffix_wildcards: suffix,
                    preflight_status,
                    timing_allow_origin,
                    cross_origin_protection,
                    websocket_origins: if pass {
                        WebSocketOrigins::Pass
                    } else {
                        WebSocketOrigins::Enforce
                    },
                    mode: corsair::config::Mode::Enforce,
                    origin_source: None,
                };
                if credentials {
                    config.allow_origins.retain(|origin| origin != "*");
                    if config.allow_origins.is_empty() {
                        config.allow_origins.push("https://app.example.com".into());
                    }
                    config.expose_headers.retain(|name| name != "*");
                    for entry in &config.allow_origins {
                        let pattern = OriginPattern::parse(entry)
                            .unwrap_or_else(|error| panic!("{entry}: {error}"));
                        config.dangerously_allow_insecure_origins |= !pattern.is_secure();
                        config.dangerously_allow_public_suffix_wildcards |=
                            pattern.public_suffix_base().is_some();
                    }
                }
                config
            },
        )
}

/// Bytes a header value may hold (no control characters but tab).
fn value_byte() -> impl Strategy<Value = u8> {
    prop_oneof![8 => 0x20u8..=0x7e, 1 => Just(b'\t'), 1 => 0x80u8..=0xff]
}

/// An `Origin` value: mostly well-formed, else what browsers never send.
pub(crate) fn origin_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        12 => origin().prop_map(String::into_bytes),
        1 => Just(b"null".to_vec()),
        4 => (origin(), 0..8usize, any::<prop::sample::Index>()).prop_map(|(origin, mutation, at)| {
            mutate(&origin, mutation, at).into_bytes()
        }),
        1 => vec(value_byte(), 0..40),
        1 => Just(format!("https://{}.example.com", "a".repeat(600)).into_bytes()),
    ]
}

/// What a careless client or proxy does to an origin.
fn mutate(origin: &str, mutation: usize, at: prop::sample::Index) -> String {
    match mutation {
        0 => {
            // One letter uppercase.
            let letters: Vec<usize> = origin
                .char_indices()
                .filter(|(_, c)| c.is_ascii_lowercase())
                .map(|(i, _)| i)
                .collect();
            let mut bytes = origin.as_bytes().to_vec();
            if !letters.is_empty() {
                let i = *at.get(&letters);
                bytes[i] = bytes[i].to_ascii_uppercase();
            }
            String::from_utf8(bytes).unwrap()
        }
        1 => format!("{origin}/"),
        2 => {
            // The default port written out, or one more digit on the port.
            let parsed = parse_origin(origin.as_bytes());
            match parsed.as_ref().map(|o| (default_port(&o.scheme), o.port)) {
                Some((Some(port), None)) => format!("{origin}:{port}"),
                _ => format!("{origin}0"),
            }
        }
        3 => format!("{origin}."),
        4 => format!(" {origin}"),
        5 => format!("{origin}, https://evil.com"),
        6 => format!("{origin}:"),
        _ => origin.to_ascii_uppercase(),
    }
}

/// Request methods; half are `OPTIONS`, where most of the rules are.
const REQUEST_METHODS: &[&str] = &[
    "GET", "GET", "HEAD", "POST", "PUT", "PATCH", "patch", "DELETE", "delete", "X-CUSTOM", "TRACE",
    "CONNECT", "OPTIONS", "OPTIONS", "OPTIONS", "OPTIONS", "OPTIONS", "OPTIONS", "OPTIONS",
    "OPTIONS", "OPTIONS", "OPTIONS",
];
const REQUESTED_METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "patch", "DELETE", "delete", "X-CUSTOM", "OPTIONS", "TRACE",
    "connect", "*", "", "P UT",
];
const REQUESTED_HEADERS: &[&str] = &[
    "content-type",
    "Content-Type",
    "x-api-key",
    "X-API-KEY",
    "authorization",
    "x-trace",
    "accept",
    "x-requested-with",
    "x-other",
    "*",
];
const SEPARATORS: &[&str] = &[",", ", ", " , ", ",,"];

/// `Access-Control-Request-Headers` lines.
#[derive(Clone, Debug)]
pub(crate) enum RequestedHeaders {
    /// Lines of names from the universe; the names as a list.
    Names(Vec<Vec<String>>, Vec<&'static str>),
    /// Arbitrary lines.
    Garbage(Vec<Vec<u8>>),
}

impl RequestedHeaders {
    fn lines(&self) -> Vec<Vec<u8>> {
        match self {
            RequestedHeaders::Names(lines, separators) => lines
                .iter()
                .zip(separators.iter().cycle())
                .map(|(names, separator)| names.join(separator).into_bytes())
                .collect(),
            RequestedHeaders::Garbage(lines) => lines.clone(),
        }
    }

    /// The requested names, when the lines are well-formed lists.
    pub(crate) fn names(&self) -> Option<Vec<String>> {
        match self {
            RequestedHeaders::Names(lines, _) => Some(lines.concat()),
            RequestedHeaders::Garbage(_) => None,
        }
    }
}

fn requested_headers(names: Vec<String>) -> impl Strategy<Value = RequestedHeaders> {
    // Browsers send lowercase names; other clients may not.
    let name = (select(names), 0..4u8).prop_map(|(name, case)| match case {
        0 => name.to_ascii_uppercase(),
        1 => name.to_ascii_lowercase(),
        _ => name,
    });
    prop_oneof![
        4 => Just(RequestedHeaders::Names(Vec::new(), vec![","])),
        8 => (vec(vec(name, 0..3), 1..3), vec(select(SEPARATORS), 1..3))
            .prop_map(|(lines, separators)| RequestedHeaders::Names(lines, separators)),
        1 => vec(vec(value_byte(), 0..20), 1..3).prop_map(RequestedHeaders::Garbage),
    ]
}

/// A request as the server sees it.
#[derive(Clone, Debug)]
pub(crate) struct ServerRequest {
    pub(crate) method: &'static str,
    pub(crate) origins: Vec<Vec<u8>>,
    pub(crate) requested_method: Vec<Vec<u8>>,
    pub(crate) requested_headers: RequestedHeaders,
    pub(crate) other: Vec<(&'static str, &'static str)>,
}

impl ServerRequest {
    pub(crate) fn http_method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).unwrap()
    }

    pub(crate) fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let mut add = |name: &str, value: &[u8]| {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        };
        for value in &self.origins {
            add("origin", value);
        }
        for value in &self.requested_method {
            add("access-control-request-method", value);
        }
        for line in self.requested_headers.lines() {
            add("access-control-request-headers", &line);
        }
        for (name, value) in &self.other {
            add(name, value.as_bytes());
        }
        headers
    }

    /// Whether the engine must read it as a preflight.
    pub(crate) fn is_preflight(&self) -> bool {
        self.method == "OPTIONS" && !self.origins.is_empty() && !self.requested_method.is_empty()
    }
}

/// `extra`, each six times, then `common`: a list to draw from that
/// favours what a configuration names.
fn favouring(extra: &[String], common: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = extra
        .iter()
        .flat_map(|e| std::iter::repeat_n(e.clone(), 6))
        .collect();
    all.extend(common.iter().map(|c| (*c).to_owned()));
    all
}

/// A request to a server with `config`: origins, methods and header names
/// are often those it allows (or near misses of them).
pub(crate) fn server_request(config: &Config) -> impl Strategy<Value = ServerRequest> + use<> {
    let origin = || prop_oneof![3 => near_origin(&config.allow_origins), 1 => origin_value()];
    let method =
        select(favouring(&config.allow_methods, REQUESTED_METHODS)).prop_map(String::into_bytes);
    (
        select(REQUEST_METHODS),
        prop_oneof![
            1 => vec(origin(), 0..1),
            10 => vec(origin(), 1..2),
            1 => vec(origin(), 2..3),
        ],
        prop_oneof![
            1 => vec(method.clone(), 0..1),
            10 => vec(method.clone(), 1..2),
            1 => vec(method, 2..3),
        ],
        requested_headers(favouring(&config.allow_headers, REQUESTED_HEADERS)),
        vec(
            select(
                &[
                    ("content-type", "application/json"),
                    ("cookie", "session=1"),
                    ("accept", "*/*"),
                    ("host", "api.example.com"),
                    ("host", "app.example.com"),
                    ("sec-fetch-site", "cross-site"),
                    ("sec-fetch-site", "same-site"),
                    ("sec-fetch-site", "same-origin"),
                    ("sec-fetch-site", "none"),
                    ("upgrade", "websocket"),
                    ("upgrade", "WebSocket"),
                    ("upgrade", "h2c, websocket/13"),
                    ("upgrade", "h2c"),
                    ("upgrade", "websockets"),
                ][..],
            ),
            0..3,
        ),
    )
        .prop_map(
            |(method, origins, requested_method, requested_headers, other)| ServerRequest {
                method,
                origins,
                requested_method,
                requested_headers,
                other,
            },
        )
}

/// Headers an application may set on its response, CORS headers of its own
/// and `Vary` included.
pub(crate) fn app_headers() -> impl Strategy<Value = HeaderMap> {
    vec(
        select(
            &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-origin", "https://evil.com"),
                ("access-control-allow-credentials", "true"),
                ("access-control-expose-headers", "x-secret"),
                ("access-control-allow-methods", "DELETE"),
                ("access-control-max-age", "99999"),
                ("vary", "Accept-Encoding"),
                ("vary", "origin"),
                ("vary", "*"),
                ("vary", "Accept-Encoding, Origin"),
                ("vary", "Originally"),
                ("content-type", "text/plain"),
                ("x-request-id", "7"),
                ("set-cookie", "s=1"),
                ("timing-allow-origin", "*"),
                ("timing-allow-origin", "https://evil.com"),
            ][..],
        ),
        0..5,
    )
    .prop_map(|pairs| {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name, HeaderValue::from_static(value));
        }
        headers
    })
}

/// The page a script runs on: often an instance (or near miss) of an
/// allowed origin, else an `http(s)` origin of the universe, or an opaque
/// one (`Origin: null`).
pub(crate) fn page(config: &Config) -> impl Strategy<Value = Option<String>> + use<> {
    let web = (
        any::<bool>(),
        select(PREFIXES),
        select(HOSTS),
        select(PORTS),
    )
        .prop_map(|(https, prefix, host, port)| {
            let scheme = if https { "https" } else { "http" };
            // A page URL must parse: no labels glued to an address.
            let address = host.starts_with(['[', '1']);
            let prefix = if address { "" } else { prefix };
            origin_text(scheme, &format!("{prefix}{host}"), port)
        });
    let near = (near_origin(&config.allow_origins), web.clone()).prop_map(|(near, web)| {
        // Only what a page URL can be: an http(s) origin that parses.
        let near = String::from_utf8(near).unwrap_or_default();
        let usable = (near.starts_with("http://") || near.starts_with("https://"))
            && corsair::browser::Page::new(&format!("{near}/index.html")).is_ok();
        if usable { near } else { web }
    });
    prop_oneof![16 => near.prop_map(Some), 3 => web.prop_map(Some), 1 => Just(None)]
}

/// What a script asks `fetch` for.
#[derive(Clone, Debug)]
pub(crate) struct Script {
    pub(crate) method: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) credentials: corsair::browser::Credentials,
    pub(crate) force_preflight: bool,
    pub(crate) profile: corsair::browser::Profile,
}

const SCRIPT_HEADERS: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("content-type", "text/plain"),
    ("x-api-key", "k"),
    ("Authorization", "Bearer t"),
    ("accept", "application/json"),
    ("X-Trace", "1"),
    ("dpr", "2.0"),
    ("cookie", "a=b"),
    ("accept-language", "en"),
    ("x-requested-with", "XMLHttpRequest"),
];

/// A script on a page calling a server with `config`: methods and headers
/// often those it allows.
pub(crate) fn script(config: &Config) -> impl Strategy<Value = Script> + use<> {
    use corsair::browser::{Credentials, Profile};
    let methods = favouring(
        &config.allow_methods,
        &[
            "GET", "HEAD", "POST", "PUT", "PATCH", "patch", "DELETE", "delete", "OPTIONS",
            "X-CUSTOM",
        ],
    );
    let mut headers: Vec<(String, String)> = config
        .allow_headers
        .iter()
        .flat_map(|name| std::iter::repeat_n((name.clone(), "1".to_owned()), 4))
        .collect();
    headers.extend(
        SCRIPT_HEADERS
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    (
        select(methods),
        (vec(select(headers), 0..3), prop::bool::weighted(0.03)).prop_map(|(mut headers, many)| {
            // Past the bounds of `ListLimits::REQUEST_HEADERS` (64 names):
            // corsair refuses the preflight, so the browser must block.
            if many {
                headers.extend((0..65).map(|i| (format!("x-many-{i}"), "1".to_owned())));
            }
            headers
        }),
        select(
            &[
                Credentials::Omit,
                Credentials::SameOrigin,
                Credentials::Include,
            ][..],
        ),
        prop::bool::weighted(0.1),
        select(vec![
            Profile::chromium(),
            Profile::chromium(),
            Profile::firefox(),
            Profile::webkit(),
            fetch_standard(),
        ]),
    )
        .prop_map(
            |(method, headers, credentials, force_preflight, profile)| Script {
                method,
                headers,
                credentials,
                force_preflight,
                profile,
            },
        )
}

/// An origin made from one of `patterns` (`*` aside): its wildcards filled
/// in, then perhaps nudged just outside it. Without patterns, any origin.
pub(crate) fn near_origin(patterns: &[String]) -> BoxedStrategy<Vec<u8>> {
    let patterns: Vec<String> = patterns.iter().filter(|p| *p != "*").cloned().collect();
    if patterns.is_empty() {
        return origin_value().boxed();
    }
    (
        select(patterns),
        select(&["a.", "a.b.", "x-y.", "", "evil", "A."][..]),
        select(
            &[
                "", ":0", ":80", ":443", ":3000", ":8443", ":65535", ":65536",
            ][..],
        ),
        prop_oneof![7 => Just(0usize), 3 => 1..8usize],
    )
        .prop_map(|(pattern, prefix, port, nudge)| {
            let (scheme, rest) = pattern.split_once("://").unwrap_or(("https", &pattern));
            let mut host_port = rest.replacen("*.", prefix, 1);
            if let Some(without) = host_port.strip_suffix(":*") {
                host_port = format!("{without}{port}");
            }
            let split = if host_port.starts_with('[') {
                host_port
                    .find(']')
                    .map_or(host_port.len(), |close| close + 1)
            } else {
                host_port.find(':').unwrap_or(host_port.len())
            };
            let (host, port) = host_port.split_at(split);
            let other_scheme = if scheme == "https" { "http" } else { "https" };
            match nudge {
                0 => format!("{scheme}://{host}{port}"),
                1 => format!("{other_scheme}://{host}{port}"),
                2 => format!("{scheme}://{host}.evil.com{port}"),
                3 => format!("{scheme}://{host}{port}:8443"),
                4 => format!("{scheme}://x{host}{port}"),
                5 => format!("{scheme}://{host}.{port}"),
                6 => format!("{scheme}://a.{host}{port}"),
                _ => format!("{scheme}://{host}"),
            }
            .into_bytes()
        })
        .boxed()
}

/// The Fetch standard to the letter: its safelist, and `*` never covering
/// `Authorization`.
fn fetch_standard() -> corsair::browser::Profile {
    let mut profile = corsair::browser::Profile::chromium();
    profile.safelist = corsair::protocol::Safelist::Fetch;
    profile.wildcard_covers_authorization = false;
    profile
}
