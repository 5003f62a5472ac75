//! Configuration checking: every refusal of the design's "Configurations
//! refused at build time" list, as a typed problem with an actionable message
//! naming its field; every problem reported at once; the accepted edges; the
//! serde form of `Config`; and no panic on garbage.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use corsair::origin::OriginError;
use corsair::policy::{Actual, Decision, Preflight};
use corsair::{Config, ConfigProblem, Cors};
use http::header::{ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, HeaderValue, Method};

// ---------------------------------------------------------------- helpers --

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

/// A configuration allowing `origins`, without credentials.
fn open(origins: &[&str]) -> Config {
    Config {
        allow_origins: strings(origins),
        ..Config::default()
    }
}

/// A configuration allowing `origins`, with credentials.
fn credentialed(origins: &[&str]) -> Config {
    Config {
        allow_origins: strings(origins),
        allow_credentials: true,
        ..Config::default()
    }
}

/// The problems of a configuration that must be refused. Every message must
/// begin with the field it names (`allow_origins[1] = ...`,
/// `max_age = ...`, `allow_origins is empty`).
#[track_caller]
fn refused(config: Config) -> Vec<ConfigProblem> {
    let shown = format!("{config:?}");
    let error = match Cors::new(config) {
        Ok(_) => panic!("accepted, but must be refused: {shown}"),
        Err(error) => error,
    };
    assert!(!error.problems().is_empty(), "an error without problems");
    for problem in error.problems() {
        let message = problem.to_string();
        let field = problem.field();
        assert!(
            message.starts_with(&format!("{field} = "))
                || message.starts_with(&format!("{field} is ")),
            "message does not begin with its field {field:?}: {message}"
        );
    }
    error.problems().to_vec()
}

/// The one problem of a configuration that must be refused.
#[track_caller]
fn sole_problem(config: Config) -> ConfigProblem {
    let problems = refused(config);
    assert_eq!(
        problems.len(),
        1,
        "expected exactly one problem: {problems:#?}"
    );
    problems.into_iter().next().unwrap()
}

#[track_caller]
fn accepted(config: Config) -> Cors {
    let shown = format!("{config:?}");
    match Cors::new(config) {
        Ok(cors) => cors,
        Err(error) => panic!("refused, but must be accepted: {shown}\n{error}"),
    }
}

/// Asserts the problem's field and that its message holds every hint (what
/// to write, what flag to set, or what to remove).
#[track_caller]
fn assert_message(problem: &ConfigProblem, field: &str, hints: &[&str]) {
    assert_eq!(problem.field(), field, "{problem:?}");
    let message = problem.to_string();
    assert!(message.starts_with(field), "{message}");
    for hint in hints {
        assert!(message.contains(hint), "{message:?} lacks {hint:?}");
    }
}

/// Whether the policy of `cors` lets `origin` read an actual GET response.
fn allows(cors: &Cors, origin: &str) -> bool {
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
    match cors.policy().check(&Method::GET, &headers) {
        Decision::Actual(Actual::Allowed(allow)) => {
            assert_eq!(allow.value(), origin, "an allowed origin is echoed");
            true
        }
        Decision::Actual(Actual::Refused(_)) => false,
        other => panic!("a GET with Origin is an allowed or refused actual request: {other:?}"),
    }
}

// ------------------------------------------------------- origins refused --

#[test]
fn no_origins_is_refused() {
    let problem = sole_problem(Config::default());
    assert_eq!(problem, ConfigProblem::NoOrigins);
    assert_message(
        &problem,
        "allow_origins",
        &[
            "allow_origins is empty",
            "list the origins",
            "https://app.example.com",
        ],
    );
    // Other fields do not make up for the missing origins.
    let problem = sole_problem(Config {
        allow_credentials: true,
        allow_methods: strings(&["PUT"]),
        ..Config::default()
    });
    assert_eq!(problem, ConfigProblem::NoOrigins);
}

/// Every syntactic refusal of an `allow_origins` entry: the typed error, and
/// a message that says what to write or why the entry cannot be allowed.
#[test]
fn origin_syntax_is_refused_with_the_typed_error_and_a_fix() {
    let write_app = "write https://app.example.com";
    let cases: Vec<(&str, OriginError, &str)> = vec![
        ("", OriginError::Empty, "e.g. https://app.example.com"),
        ("null", OriginError::Null, "never allows it"),
        ("NULL", OriginError::Null, "never allows it"),
        ("file://", OriginError::File, "serve the page over http(s)"),
        (
            "file:///home/me/index.html",
            OriginError::File,
            "serve the page over http(s)",
        ),
        (
            "https://app.example.com/",
            OriginError::Path {
                origin: "https://app.example.com".into(),
            },
            write_app,
        ),
        (
            "https://app.example.com/api/v1",
            OriginError::Path {
                origin: "https://app.example.com".into(),
            },
            write_app,
        ),
        (
            "https://app.example.com?x=1",
            OriginError::Query {
                origin: "https://app.example.com".into(),
            },
            write_app,
        ),
        (
            "https://app.example.com#top",
            OriginError::Fragment {
                origin: "https://app.example.com".into(),
            },
            write_app,
        ),
        (
            "https://user:secret@app.example.com",
            OriginError::Userinfo {
                origin: "https://app.example.com".into(),
            },
            write_app,
        ),
        (
            "https://user@app.example.com",
            OriginError::Userinfo {
                origin: "https://app.example.com".into(),
            },
            write_app,
        ),
        (
            "https://App.Example.com",
            OriginError::Uppercase {
                lowercase: "https://app.example.com".into(),
            },
            write_app,
        ),
        (
            "HTTPS://APP.EXAMPLE.COM",
            OriginError::Uppercase {
                lowercase: "https://app.example.com".into(),
            },
            write_app,
        ),
        (
            "https://app.example.com:443",
            OriginError::DefaultPort {
                origin: "https://app.example.com".into(),
            },
            write_app,
        ),
        (
            "http://app.example.com:80",
            OriginError::DefaultPort {
                origin: "http://app.example.com".into(),
            },
            "write http://app.example.com",
        ),
        (
            "http://localhost:80",
            OriginError::DefaultPort {
                origin: "http://localhost".into(),
            },
            "write http://localhost",
        ),
        (
            "https://*.example.com:443",
            OriginError::DefaultPort {
                origin: "https://*.example.com".into(),
            },
            "write https://*.example.com",
        ),
        (
            "https://app.example.com:65536",
            OriginError::Port {
                port: "65536".into(),
            },
            "from 0 to 65535",
        ),
        (
            "https://app.example.com:99999",
            OriginError::Port {
                port: "99999".into(),
            },
            "from 0 to 65535",
        ),
        (
            "https://app.example.com:-1",
            OriginError::Port { port: "-1".into() },
            "from 0 to 65535",
        ),
        (
            "https://app.example.com:0443",
            OriginError::Port {
                port: "0443".into(),
            },
            "without leading zeros",
        ),
        (
            "https://*example.com",
            OriginError::MisplacedWildcard,
            "https://*.example.com",
        ),
        (
            "https://app.*.example.com",
            OriginError::MisplacedWildcard,
            "https://*.example.com",
        ),
        (
            "https://example.*",
            OriginError::MisplacedWildcard,
            "https://*.example.com",
        ),
        (
            "https://*",
            OriginError::MisplacedWildcard,
            "https://*.example.com",
        ),
        (
            r"^https://.*\.example\.com$",
            OriginError::Regex,
            "regular expression",
        ),
        (
            r"https://.*\.example\.com",
            OriginError::Regex,
            "regular expression",
        ),
        (
            "https://(app|admin).example.com",
            OriginError::Regex,
            "regular expression",
        ),
        (
            "https://[a-z]+.example.com",
            OriginError::Regex,
            "regular expression",
        ),
        (
            "app.example.com",
            OriginError::NotAnOrigin,
            "write scheme://host[:port]",
        ),
        (
            "https://",
            OriginError::NotAnOrigin,
            "write scheme://host[:port]",
        ),
        (
            "ftp://*.example.com",
            OriginError::WildcardScheme,
            "http and https origins only",
        ),
        (
            "http://*.0.0.1",
            OriginError::WildcardAddress,
            "list the addresses you mean",
        ),
        (
            "https://b\u{fc}cher.example",
            OriginError::NonAsciiHost {
                host: "b\u{fc}cher.example".into(),
            },
            "punycode",
        ),
        (
            "http://[0:0:0:0:0:0:0:1]:3000",
            OriginError::NonCanonicalAddress {
                canonical: "[::1]".into(),
            },
            "browsers write this address as [::1]",
        ),
    ];
    for (entry, error, hint) in cases {
        // Between two valid entries, so that the index is checked too.
        let problem = sole_problem(open(&[
            "https://ok.example.com",
            entry,
            "https://also-ok.example.com",
        ]));
        let expected = ConfigProblem::Origin {
            index: 1,
            value: entry.to_owned(),
            error: error.clone(),
        };
        assert_eq!(problem, expected, "{entry:?}");
        let prefix = format!("allow_origins[1] = {entry:?}: ");
        assert_message(&problem, "allow_origins[1]", &[&prefix, hint]);
        assert!(
            problem.to_string().ends_with(&error.to_string()),
            "{problem}"
        );
        // The same entry is refused with credentials as well, for the same
        // reason (syntax first: nothing else is said about a non-origin).
        let problem = sole_problem(credentialed(&[entry]));
        assert_eq!(
            problem,
            ConfigProblem::Origin {
                index: 0,
                value: entry.to_owned(),
                error,
            },
            "{entry:?} with credentials"
        );
    }
}

#[test]
fn any_origin_with_credentials_is_refused() {
    let problem = sole_problem(credentialed(&["*"]));
    assert_eq!(
        problem,
        ConfigProblem::AnyOriginWithCredentials { index: 0 }
    );
    assert_message(
        &problem,
        "allow_origins[0]",
        &["allow_credentials = true", "list the origins you trust"],
    );

    let problem = sole_problem(credentialed(&["https://app.example.com", "*"]));
    assert_eq!(
        problem,
        ConfigProblem::AnyOriginWithCredentials { index: 1 }
    );
    assert_eq!(problem.field(), "allow_origins[1]");

    // The flags do not make `*` acceptable with credentials.
    let problem = sole_problem(Config {
        dangerously_allow_insecure_origins: true,
        dangerously_allow_public_suffix_wildcards: true,
        ..credentialed(&["*"])
    });
    assert_eq!(
        problem,
        ConfigProblem::AnyOriginWithCredentials { index: 0 }
    );

    // Without credentials, `*` is fine, and answers `*`.
    let cors = accepted(open(&["*"]));
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, HeaderValue::from_static("https://anyone.example"));
    let decision = cors.policy().check(&Method::GET, &headers);
    let Decision::Actual(Actual::Allowed(allow)) = decision else {
        panic!("`*` allows any origin: {decision:?}");
    };
    assert_eq!(allow.value(), "*");
}

#[test]
fn any_expose_header_with_credentials_is_refused() {
    let problem = sole_problem(Config {
        expose_headers: strings(&["x-request-id", "*"]),
        ..credentialed(&["https://app.example.com"])
    });
    assert_eq!(
        problem,
        ConfigProblem::AnyExposeWithCredentials { index: 1 }
    );
    assert_message(
        &problem,
        "expose_headers[1]",
        &[
            "allow_credentials = true",
            "list the headers scripts may read",
        ],
    );
    // Without credentials, `*` is a fine `expose_headers`.
    accepted(Config {
        expose_headers: strings(&["*"]),
        ..open(&["https://app.example.com"])
    });
}

#[test]
fn insecure_origins_with_credentials_need_their_flag() {
    for entry in [
        "http://app.example.com",
        "http://*.example.com",
        "http://192.168.1.10:8080",
        "http://app.example.com:*",
        "http://10.0.0.1",
    ] {
        let problem = sole_problem(credentialed(&["https://app.example.com", entry]));
        assert_eq!(
            problem,
            ConfigProblem::InsecureOriginWithCredentials {
                index: 1,
                value: entry.to_owned(),
            },
            "{entry}"
        );
        assert_message(
            &problem,
            "allow_origins[1]",
            &[
                &format!("allow_origins[1] = {entry:?}"),
                "use https",
                "dangerously_allow_insecure_origins = true",
            ],
        );

        // Accepted once the flag is set...
        accepted(Config {
            dangerously_allow_insecure_origins: true,
            ..credentialed(&["https://app.example.com", entry])
        });
        // ...and without credentials.
        accepted(open(&["https://app.example.com", entry]));
        // The other flag is not the one that allows it.
        let problem = sole_problem(Config {
            dangerously_allow_public_suffix_wildcards: true,
            ..credentialed(&[entry])
        });
        assert!(
            matches!(
                problem,
                ConfigProblem::InsecureOriginWithCredentials { index: 0, .. }
            ),
            "{problem:?}"
        );
    }

    // With the flag, the origin is really allowed, credentials included.
    let cors = accepted(Config {
        dangerously_allow_insecure_origins: true,
        ..credentialed(&["http://app.example.com", "http://*.example.org"])
    });
    assert!(allows(&cors, "http://app.example.com"));
    assert!(allows(&cors, "http://www.example.org"));
    assert!(!allows(&cors, "https://app.example.com"));
}

#[test]
fn public_suffix_wildcards_with_credentials_need_their_flag() {
    for (entry, suffix) in [
        ("https://*.com", "com"),
        ("https://*.co.uk", "co.uk"),
        ("https://*.github.io", "github.io"),
        ("https://*.com:8443", "com"),
    ] {
        let problem = sole_problem(credentialed(&["https://app.example.com", entry]));
        assert_eq!(
            problem,
            ConfigProblem::PublicSuffixWildcardWithCredentials {
                index: 1,
                value: entry.to_owned(),
                suffix: suffix.to_owned(),
            },
            "{entry}"
        );
        assert_message(
            &problem,
            "allow_origins[1]",
            &[
                &format!("`{suffix}` is a public suffix"),
                &format!("https://*.yourname.{suffix}"),
                "dangerously_allow_public_suffix_wildcards = true",
            ],
        );

        accepted(Config {
            dangerously_allow_public_suffix_wildcards: true,
            ..credentialed(&[entry])
        });
        accepted(open(&[entry]));
        // The insecure-origins flag is not the one that allows it.
        let problem = sole_problem(Config {
            dangerously_allow_insecure_origins: true,
            ..credentialed(&[entry])
        });
        assert!(
            matches!(
                problem,
                ConfigProblem::PublicSuffixWildcardWithCredentials { index: 0, .. }
            ),
            "{problem:?}"
        );
    }

    // With its flag the wildcard really matches.
    let cors = accepted(Config {
        dangerously_allow_public_suffix_wildcards: true,
        ..credentialed(&["https://*.github.io"])
    });
    assert!(allows(&cors, "https://someone.github.io"));
    assert!(!allows(&cors, "https://github.io"));

    // `http://*.com` is both insecure and a public-suffix wildcard: two
    // problems for one entry, each lifted by its own flag only.
    let problems = refused(credentialed(&["http://*.com"]));
    assert_eq!(
        problems,
        vec![
            ConfigProblem::InsecureOriginWithCredentials {
                index: 0,
                value: "http://*.com".into(),
            },
            ConfigProblem::PublicSuffixWildcardWithCredentials {
                index: 0,
                value: "http://*.com".into(),
                suffix: "com".into(),
            },
        ]
    );
    accepted(Config {
        dangerously_allow_insecure_origins: true,
        dangerously_allow_public_suffix_wildcards: true,
        ..credentialed(&["http://*.com"])
    });
}

// ----------------------------------------------------- other fields refused --

#[test]
fn methods_that_are_not_tokens_are_refused() {
    for value in [
        "GET POST",
        "",
        "PUT,DELETE",
        "P\u{dc}T",
        "(GET)",
        "GET\n",
        "\"PUT\"",
        " ",
    ] {
        let problem = sole_problem(Config {
            allow_methods: strings(&["PUT", value]),
            ..open(&["https://app.example.com"])
        });
        assert_eq!(
            problem,
            ConfigProblem::MethodNotAToken {
                index: 1,
                value: value.to_owned(),
            }
        );
        assert_message(
            &problem,
            "allow_methods[1]",
            &["is not a method name", "letters, digits"],
        );
    }
}

#[test]
fn forbidden_methods_are_refused_in_any_case() {
    for value in [
        "CONNECT", "connect", "Connect", "TRACE", "trace", "Trace", "TRACK", "track", "TrAcK",
    ] {
        let problem = sole_problem(Config {
            allow_methods: strings(&["PUT", "PATCH", value]),
            ..open(&["https://app.example.com"])
        });
        assert_eq!(
            problem,
            ConfigProblem::ForbiddenMethod {
                index: 2,
                value: value.to_owned(),
            }
        );
        assert_message(
            &problem,
            "allow_methods[2]",
            &["CONNECT, TRACE and TRACK", "remove it"],
        );
    }
    // Methods that merely look alike are fine.
    accepted(Config {
        allow_methods: strings(&["TRACES", "CONNECTX", "patch", "PATCH", "delete", "*"]),
        ..open(&["https://app.example.com"])
    });
}

#[test]
fn request_header_names_that_are_not_tokens_are_refused() {
    for value in [
        "x api",
        "",
        "x-\u{e9}",
        "content-type:",
        "x-a,x-b",
        "\t",
        "x-a\r\n",
    ] {
        let problem = sole_problem(Config {
            allow_headers: strings(&["content-type", value]),
            ..open(&["https://app.example.com"])
        });
        assert_eq!(
            problem,
            ConfigProblem::AllowHeaderNotAToken {
                index: 1,
                value: value.to_owned(),
            }
        );
        assert_message(
            &problem,
            "allow_headers[1]",
            &["is not a header name", "letters, digits"],
        );
    }
}

#[test]
fn forbidden_request_header_names_are_refused() {
    for value in [
        "cookie",
        "Cookie",
        "cookie2",
        "host",
        "Host",
        "origin",
        "proxy-authorization",
        "Proxy-Authorization",
        "proxy-anything",
        "sec-fetch-mode",
        "Sec-CH-UA",
        "sec-websocket-key",
        "Content-Length",
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "date",
        "dnt",
        "expect",
        "keep-alive",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    ] {
        let problem = sole_problem(Config {
            allow_headers: strings(&["content-type", value]),
            ..open(&["https://app.example.com"])
        });
        assert_eq!(
            problem,
            ConfigProblem::ForbiddenAllowHeader {
                index: 1,
                value: value.to_owned(),
            }
        );
        assert_message(
            &problem,
            "allow_headers[1]",
            &["forbidden request-header name", "remove it"],
        );
    }
    // Names that merely start alike, and names scripts may set, are fine.
    accepted(Config {
        allow_headers: strings(&[
            "authorization",
            "content-type",
            "X-Api-Key",
            "x-http-method-override",
            "proxy",
            "secret",
            "x-sec-token",
            "cookies-consent",
            "*",
        ]),
        ..credentialed(&["https://app.example.com"])
    });
}

#[test]
fn set_cookie_in_expose_headers_is_refused() {
    for value in [
        "set-cookie",
        "Set-Cookie",
        "SET-COOKIE",
        "set-cookie2",
        "Set-Cookie2",
    ] {
        let problem = sole_problem(Config {
            expose_headers: strings(&["x-request-id", value]),
            ..open(&["https://app.example.com"])
        });
        assert_eq!(
            problem,
            ConfigProblem::ExposedSetCookie {
                index: 1,
                value: value.to_owned(),
            }
        );
        assert_message(
            &problem,
            "expose_headers[1]",
            &["never let scripts read cookies", "remove it"],
        );
    }
    let problem = sole_problem(Config {
        expose_headers: strings(&["x request id"]),
        ..open(&["https://app.example.com"])
    });
    assert_eq!(
        problem,
        ConfigProblem::ExposeHeaderNotAToken {
            index: 0,
            value: "x request id".into(),
        }
    );
    assert_message(&problem, "expose_headers[0]", &["is not a header name"]);
}

/// Issue 17: an allowed preflight is answered 204 or 200, nothing else.
#[test]
fn preflight_status_is_204_or_200() {
    for value in [0, 201, 202, 299, 302, 403] {
        let problem = sole_problem(Config {
            preflight_status: Some(value),
            ..open(&["https://app.example.com"])
        });
        assert_eq!(problem, ConfigProblem::PreflightStatus { value });
        assert_message(
            &problem,
            "preflight_status",
            &[
                &format!("preflight_status = {value}:"),
                "204 (the default) or 200",
            ],
        );
    }
    for value in [None, Some(200), Some(204)] {
        accepted(Config {
            preflight_status: value,
            ..open(&["https://app.example.com"])
        });
    }
    let built = Cors::builder()
        .allow_origin("https://app.example.com")
        .preflight_status_ok()
        .timing_allow_origin(true)
        .cross_origin_protection(true)
        .into_config();
    assert_eq!(built.preflight_status, Some(200));
    assert!(built.timing_allow_origin && built.cross_origin_protection);
}

#[test]
fn max_age_above_a_day_is_refused() {
    for value in [86_401, 1_000_000, u64::MAX] {
        let problem = sole_problem(Config {
            max_age: Some(value),
            ..open(&["https://app.example.com"])
        });
        assert_eq!(problem, ConfigProblem::MaxAgeTooLarge { value });
        assert_message(
            &problem,
            "max_age",
            &[&format!("max_age = {value}:"), "use at most 86400"],
        );
    }
    assert_eq!(corsair::MAX_AGE_LIMIT, 86_400);

    // 86400 itself is accepted and sent as is.
    for value in [0, 600, 86_400] {
        let cors = accepted(Config {
            max_age: Some(value),
            ..credentialed(&["https://app.example.com"])
        });
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_static("https://app.example.com"));
        headers.insert(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("GET"),
        );
        let policy = cors.policy();
        let Decision::Preflight(preflight @ Preflight::Allowed(_)) =
            policy.check(&Method::OPTIONS, &headers)
        else {
            panic!("an allowed preflight");
        };
        let response = policy.preflight_response::<()>(&preflight);
        assert_eq!(
            response.headers()[ACCESS_CONTROL_MAX_AGE],
            value.to_string().as_str()
        );
    }
}

// ------------------------------------------------ every problem at once --

#[test]
fn every_problem_is_reported_at_once_in_field_order() {
    let error = Cors::new(Config {
        allow_origins: strings(&["https://ok.example.com", "https://app.example.com/"]),
        allow_methods: strings(&["PUT", "TRACE"]),
        allow_headers: strings(&["cookie"]),
        expose_headers: strings(&["x-request-id", "x-trace-id", "set-cookie"]),
        max_age: Some(90_000),
        ..Config::default()
    })
    .unwrap_err();
    let problems = error.problems();
    assert_eq!(
        problems,
        [
            ConfigProblem::Origin {
                index: 1,
                value: "https://app.example.com/".into(),
                error: OriginError::Path {
                    origin: "https://app.example.com".into(),
                },
            },
            ConfigProblem::ForbiddenMethod {
                index: 1,
                value: "TRACE".into(),
            },
            ConfigProblem::ForbiddenAllowHeader {
                index: 0,
                value: "cookie".into(),
            },
            ConfigProblem::ExposedSetCookie {
                index: 2,
                value: "set-cookie".into(),
            },
            ConfigProblem::MaxAgeTooLarge { value: 90_000 },
        ]
    );
    let fields: Vec<String> = problems.iter().map(ConfigProblem::field).collect();
    assert_eq!(
        fields,
        [
            "allow_origins[1]",
            "allow_methods[1]",
            "allow_headers[0]",
            "expose_headers[2]",
            "max_age"
        ]
    );

    // The error prints a count, then one line per problem, in order.
    let text = error.to_string();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("invalid CORS configuration (5 problems):")
    );
    for problem in problems {
        assert_eq!(lines.next(), Some(format!("  - {problem}").as_str()));
    }
    assert_eq!(lines.next(), None);
}

#[test]
fn several_problems_in_one_field_keep_their_entry_order() {
    let problems = refused(Config {
        allow_origins: strings(&[
            "null",
            "http://app.example.com",
            "https://ok.example.com",
            "*",
            "https://*.com",
            "https://App.example.com",
        ]),
        allow_credentials: true,
        allow_methods: strings(&["connect", "GET POST", "PUT"]),
        allow_headers: strings(&["x ok", "host", "sec-x"]),
        expose_headers: strings(&["*", "Set-Cookie"]),
        max_age: Some(86_401),
        ..Config::default()
    });
    let fields: Vec<String> = problems.iter().map(ConfigProblem::field).collect();
    assert_eq!(
        fields,
        [
            "allow_origins[0]",
            "allow_origins[1]",
            "allow_origins[3]",
            "allow_origins[4]",
            "allow_origins[5]",
            "allow_methods[0]",
            "allow_methods[1]",
            "allow_headers[0]",
            "allow_headers[1]",
            "allow_headers[2]",
            "expose_headers[0]",
            "expose_headers[1]",
            "max_age",
        ]
    );
    assert!(matches!(
        problems[0],
        ConfigProblem::Origin {
            error: OriginError::Null,
            ..
        }
    ));
    assert!(matches!(
        problems[1],
        ConfigProblem::InsecureOriginWithCredentials { index: 1, .. }
    ));
    assert!(matches!(
        problems[2],
        ConfigProblem::AnyOriginWithCredentials { index: 3 }
    ));
    assert!(matches!(
        problems[3],
        ConfigProblem::PublicSuffixWildcardWithCredentials { index: 4, .. }
    ));
    assert!(matches!(
        problems[4],
        ConfigProblem::Origin {
            index: 5,
            error: OriginError::Uppercase { .. },
            ..
        }
    ));
    assert!(matches!(problems[5], ConfigProblem::ForbiddenMethod { .. }));
    assert!(matches!(problems[6], ConfigProblem::MethodNotAToken { .. }));
    assert!(matches!(
        problems[7],
        ConfigProblem::AllowHeaderNotAToken { .. }
    ));
    assert!(matches!(
        problems[8],
        ConfigProblem::ForbiddenAllowHeader { .. }
    ));
    assert!(matches!(
        problems[9],
        ConfigProblem::ForbiddenAllowHeader { .. }
    ));
    assert!(matches!(
        problems[10],
        ConfigProblem::AnyExposeWithCredentials { index: 0 }
    ));
    assert!(matches!(
        problems[11],
        ConfigProblem::ExposedSetCookie { .. }
    ));
    assert!(matches!(
        problems[12],
        ConfigProblem::MaxAgeTooLarge { value: 86_401 }
    ));
}

#[test]
fn field_names_every_variant() {
    let origin_error = OriginError::Null;
    let cases = [
        (ConfigProblem::NoOrigins, "allow_origins"),
        (
            ConfigProblem::Origin {
                index: 3,
                value: "null".into(),
                error: origin_error,
            },
            "allow_origins[3]",
        ),
        (
            ConfigProblem::AnyOriginWithCredentials { index: 0 },
            "allow_origins[0]",
        ),
        (
            ConfigProblem::InsecureOriginWithCredentials {
                index: 7,
                value: "http://a.example".into(),
            },
            "allow_origins[7]",
        ),
        (
            ConfigProblem::PublicSuffixWildcardWithCredentials {
                index: 2,
                value: "https://*.com".into(),
                suffix: "com".into(),
            },
            "allow_origins[2]",
        ),
        (
            ConfigProblem::MethodNotAToken {
                index: 4,
                value: "A B".into(),
            },
            "allow_methods[4]",
        ),
        (
            ConfigProblem::ForbiddenMethod {
                index: 5,
                value: "TRACE".into(),
            },
            "allow_methods[5]",
        ),
        (
            ConfigProblem::AllowHeaderNotAToken {
                index: 6,
                value: "a b".into(),
            },
            "allow_headers[6]",
        ),
        (
            ConfigProblem::ForbiddenAllowHeader {
                index: 10,
                value: "cookie".into(),
            },
            "allow_headers[10]",
        ),
        (
            ConfigProblem::ExposeHeaderNotAToken {
                index: 1,
                value: "a b".into(),
            },
            "expose_headers[1]",
        ),
        (
            ConfigProblem::ExposedSetCookie {
                index: 0,
                value: "set-cookie".into(),
            },
            "expose_headers[0]",
        ),
        (
            ConfigProblem::AnyExposeWithCredentials { index: 9 },
            "expose_headers[9]",
        ),
        (ConfigProblem::MaxAgeTooLarge { value: 86_401 }, "max_age"),
    ];
    for (problem, field) in cases {
        assert_eq!(problem.field(), field, "{problem:?}");
        assert!(problem.to_string().starts_with(field), "{problem}");
    }
}

// ------------------------------------------------------ accepted edges --

#[test]
fn loopback_custom_scheme_and_registrable_wildcards_are_accepted_with_credentials() {
    let entries = [
        "http://localhost:3000",
        "http://localhost:*",
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://[::1]:3000",
        "http://*.localhost",
        "https://*.example.co.uk",
        "capacitor://localhost",
        "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
    ];
    // Each alone, so that no entry hides a refusal of another...
    for entry in entries {
        accepted(credentialed(&[entry]));
    }
    // ...and all together, with what they really allow.
    let cors = accepted(credentialed(&entries));
    for origin in [
        "http://localhost:3000",
        "http://localhost:5173",
        "http://localhost",
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://[::1]:3000",
        "http://app.localhost",
        "http://a.b.localhost",
        "https://shop.example.co.uk",
        "capacitor://localhost",
        "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
    ] {
        assert!(allows(&cors, origin), "{origin} must be allowed");
    }
    for origin in [
        "https://localhost:3000",
        "http://localhost.evil.com",
        "http://127.0.0.1:8081",
        "http://127.0.0.1",
        "http://127.1.2.3:80",
        "http://[::1]:3001",
        "http://localhost.",
        "https://example.co.uk",
        "https://shop.example.co.uk.evil.com",
        "capacitor://evil",
    ] {
        assert!(!allows(&cors, origin), "{origin} must be refused");
    }
}

#[test]
fn two_thousand_distinct_origins_are_accepted_and_matched() {
    let origins: Vec<String> = (0..2_000)
        .map(|i| format!("https://app{i}.example.com"))
        .collect();
    let cors = accepted(Config {
        allow_origins: origins.clone(),
        allow_credentials: true,
        ..Config::default()
    });
    assert_eq!(cors.policy().config().allow_origins.len(), 2_000);
    for origin in [&origins[0], &origins[999], &origins[1_999]] {
        assert!(allows(&cors, origin), "{origin}");
    }
    for origin in [
        "https://app2000.example.com",
        "https://app.example.com",
        "https://app1999.example.com:8443",
        "http://app0.example.com",
    ] {
        assert!(!allows(&cors, origin), "{origin}");
    }
}

#[test]
fn duplicates_are_accepted_and_answered_once() {
    let cors = accepted(Config {
        allow_origins: strings(&[
            "https://app.example.com",
            "https://app.example.com",
            "https://*.example.org",
            "https://*.example.org",
        ]),
        allow_credentials: true,
        allow_methods: strings(&["PUT", "PUT", "delete", "DELETE"]),
        allow_headers: strings(&["x-api-key", "X-Api-Key", "x-api-key"]),
        expose_headers: strings(&["x-request-id", "X-Request-Id"]),
        ..Config::default()
    });
    assert!(allows(&cors, "https://app.example.com"));
    assert!(allows(&cors, "https://www.example.org"));

    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, HeaderValue::from_static("https://app.example.com"));
    headers.insert(
        ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("DELETE"),
    );
    headers.insert(
        "access-control-request-headers",
        HeaderValue::from_static("x-api-key"),
    );
    let policy = cors.policy();
    let Decision::Preflight(preflight @ Preflight::Allowed(_)) =
        policy.check(&Method::OPTIONS, &headers)
    else {
        panic!("an allowed preflight");
    };
    let response = policy.preflight_response::<()>(&preflight);
    assert_eq!(
        response.headers()["access-control-allow-methods"],
        "PUT, DELETE"
    );
    assert_eq!(
        response.headers()["access-control-allow-headers"],
        "x-api-key"
    );
}

// ------------------------------------------------------------- serde --

#[cfg(feature = "serde")]
mod serde_form {
    use std::time::Duration;

    use corsair::config::OriginSourceConfig;

    use super::*;

    const EVERY_FIELD: &str = r#"
allow_origins = ["https://app.example.com", "https://*.example.com", "http://localhost:*", "http://intranet.example"]
allow_credentials = true
allow_methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
allow_headers = ["accept", "content-type"]
expose_headers = ["x-request-id"]
max_age = 600
dangerously_allow_insecure_origins = true
dangerously_allow_public_suffix_wildcards = true
preflight_status = 200
timing_allow_origin = true
cross_origin_protection = true
websocket_origins = "pass"
mode = "report-only"

[origin_source]
url = "http://tenants.internal/cors/{origin}"
ttl = "10m"
refusal_ttl = "30s"
timeout = "500ms"
capacity = 1000
max_lookups = 8
"#;

    fn every_field() -> Config {
        Config {
            allow_origins: strings(&[
                "https://app.example.com",
                "https://*.example.com",
                "http://localhost:*",
                "http://intranet.example",
            ]),
            // A file must exist to compile: tests/origins_file.rs reads
            // one through TOML.
            allow_origins_file: None,
            allow_credentials: true,
            allow_methods: strings(&["GET", "POST", "PUT", "PATCH", "DELETE"]),
            allow_headers: strings(&["accept", "content-type"]),
            expose_headers: strings(&["x-request-id"]),
            max_age: Some(600),
            dangerously_allow_insecure_origins: true,
            dangerously_allow_public_suffix_wildcards: true,
            preflight_status: Some(200),
            timing_allow_origin: true,
            cross_origin_protection: true,
            websocket_origins: corsair::config::WebSocketOrigins::Pass,
            mode: corsair::config::Mode::ReportOnly,
            origin_source: Some(OriginSourceConfig {
                url: Some("http://tenants.internal/cors/{origin}".into()),
                ttl: Duration::from_secs(600),
                refusal_ttl: Duration::from_secs(30),
                timeout: Duration::from_millis(500),
                capacity: 1000,
                max_lookups: 8,
            }),
        }
    }

    #[test]
    fn toml_with_every_field_deserializes() {
        let config: Config = toml::from_str(EVERY_FIELD).unwrap();
        assert_eq!(config, every_field());
        accepted(config);

        // Missing fields take their defaults.
        let config: Config =
            toml::from_str(r#"allow_origins = ["https://app.example.com"]"#).unwrap();
        assert_eq!(config, open(&["https://app.example.com"]));
    }

    #[test]
    fn an_unknown_toml_field_is_an_error_naming_it() {
        let text = "allow_origins = [\"https://app.example.com\"]\nallow_credential = true\n";
        let error = toml::from_str::<Config>(text).unwrap_err().to_string();
        assert!(error.contains("allow_credential"), "{error}");
        assert!(error.contains("unknown field"), "{error}");
    }

    #[test]
    fn json_deserializes_and_refuses_unknown_fields() {
        let config: Config = serde_json::from_str(
            r#"{
                "allow_origins": ["https://app.example.com", "https://*.example.com", "http://localhost:*", "http://intranet.example"],
                "allow_credentials": true,
                "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE"],
                "allow_headers": ["accept", "content-type"],
                "expose_headers": ["x-request-id"],
                "max_age": 600,
                "dangerously_allow_insecure_origins": true,
                "dangerously_allow_public_suffix_wildcards": true,
                "preflight_status": 200,
                "timing_allow_origin": true,
                "cross_origin_protection": true,
                "websocket_origins": "pass",
                "mode": "report-only",
                "origin_source": {
                    "url": "http://tenants.internal/cors/{origin}",
                    "ttl": "10m",
                    "refusal_ttl": "30s",
                    "timeout": "500ms",
                    "capacity": 1000,
                    "max_lookups": 8
                }
            }"#,
        )
        .unwrap();
        assert_eq!(config, every_field());

        let error = serde_json::from_str::<Config>(
            r#"{"allow_origins": ["https://app.example.com"], "allow_credential": true}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("unknown field `allow_credential`"),
            "{error}"
        );

        // A wrong type is an error too, not a silent default.
        assert!(serde_json::from_str::<Config>(r#"{"allow_credentials": "yes"}"#).is_err());
        assert!(serde_json::from_str::<Config>(r#"{"max_age": -1}"#).is_err());
    }

    #[test]
    fn config_round_trips_through_toml_and_json() {
        for config in [
            every_field(),
            open(&["*"]),
            Config::default(),
            Config {
                max_age: Some(86_400),
                ..credentialed(&["https://app.example.com"])
            },
        ] {
            let text = toml::to_string(&config).unwrap();
            let back: Config = toml::from_str(&text).unwrap();
            assert_eq!(back, config, "{text}");
            assert_eq!(text.contains("max_age"), config.max_age.is_some(), "{text}");

            let json = serde_json::to_string(&config).unwrap();
            let back: Config = serde_json::from_str(&json).unwrap();
            assert_eq!(back, config, "{json}");
        }
        // The policy keeps its configuration, which serializes the same way.
        let cors = accepted(every_field());
        assert_eq!(
            toml::to_string(cors.policy().config()).unwrap(),
            toml::to_string(&every_field()).unwrap()
        );
    }
}

// ------------------------------------------------------------ garbage --

/// `Cors::new` answers `Ok` or `Err` for anything, and never panics. Every
/// hostile string is tried in every list field, alone and all together.
#[test]
fn building_never_panics_on_garbage() {
    let long_a = "a".repeat(100_000);
    let long_origin = format!("https://{}", "a.".repeat(50_000));
    let long_commas = ",".repeat(100_000);
    let long_token = "x".repeat(100_000);
    let long_wild = format!("https://{}example.com", "*.".repeat(50_000));
    let hostile: Vec<&str> = vec![
        "",
        " ",
        "\t\r\n",
        "\u{0}",
        "\u{0}https://app.example.com",
        "https://app.example.com\u{0}",
        &long_a,
        &long_origin,
        &long_commas,
        &long_token,
        &long_wild,
        "\u{65e5}\u{672c}\u{8a9e}",
        "https://\u{65e5}\u{672c}.example",
        "https://app.example.com:\u{663}",
        "\u{1f980}://\u{1f980}",
        "*.*",
        ":::",
        "://",
        "https://:",
        "https://:443",
        "https://@",
        "https://[",
        "https://]",
        "https://[::1",
        "https://[]",
        "https://[::1]]",
        "https://[::1]:",
        "https://[fe80::1%25eth0]",
        "http://*.",
        "http://*.*",
        "https://*.[::1]",
        "https://*.0x7f",
        "*://*",
        "https://a:b:c",
        "https://a.com:+80",
        "https://%41.com",
        "null ",
        "NuLl",
        "file:",
        "FILE://x",
        "\\",
        "$^",
        ".*",
        "*.",
        "**",
        "https://**.example.com",
    ];
    let fields: [fn(&mut Config) -> &mut Vec<String>; 4] = [
        |c| &mut c.allow_origins,
        |c| &mut c.allow_methods,
        |c| &mut c.allow_headers,
        |c| &mut c.expose_headers,
    ];
    let names = [
        "allow_origins",
        "allow_methods",
        "allow_headers",
        "expose_headers",
    ];

    for credentials in [false, true] {
        for (field, name) in fields.iter().zip(names) {
            for value in &hostile {
                let mut config = Config {
                    allow_credentials: credentials,
                    ..open(&["https://app.example.com"])
                };
                field(&mut config).push((*value).to_owned());
                match Cors::new(config) {
                    Ok(cors) => {
                        // Nothing hostile is ever a valid origin.
                        assert_ne!(name, "allow_origins", "accepted origin {value:?}");
                        // A policy built from it still serves without panicking.
                        assert!(allows(&cors, "https://app.example.com"));
                    }
                    Err(error) => {
                        for problem in error.problems() {
                            assert!(problem.field().starts_with(name), "{problem:?}");
                        }
                        assert!(error.to_string().contains(name));
                    }
                }
            }
        }

        // All of them in every field at once.
        let all = strings(&hostile);
        let error = Cors::new(Config {
            allow_origins: all.clone(),
            allow_origins_file: None,
            allow_credentials: credentials,
            allow_methods: all.clone(),
            allow_headers: all.clone(),
            expose_headers: all,
            max_age: Some(u64::MAX),
            dangerously_allow_insecure_origins: credentials,
            dangerously_allow_public_suffix_wildcards: credentials,
            preflight_status: Some(u16::MAX),
            timing_allow_origin: credentials,
            cross_origin_protection: credentials,
            websocket_origins: corsair::config::WebSocketOrigins::Enforce,
            mode: corsair::config::Mode::Enforce,
            origin_source: None,
        })
        .unwrap_err();
        let origin_problems = error
            .problems()
            .iter()
            .filter(|problem| problem.field().starts_with("allow_origins"))
            .count();
        assert_eq!(origin_problems, hostile.len(), "{error}");
        assert!(
            error
                .problems()
                .contains(&ConfigProblem::MaxAgeTooLarge { value: u64::MAX })
        );
        assert!(matches!(
            error.problems().last(),
            Some(ConfigProblem::PreflightStatus { value: u16::MAX })
        ));
        assert!(!error.to_string().is_empty());
    }
}
