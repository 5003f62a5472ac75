//! Inputs the fuzz targets (fuzz/, see fuzz/README.md) stopped on, kept as
//! ordinary tests so that `cargo test` replays them without cargo-fuzz.
//!
//! Each test says what the fuzzer found and what the contract is. The first
//! runs found no crash in corsair: the inputs below stopped a target on an
//! assertion of the target that was stricter than corsair's contract, and
//! they pin that contract down.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use corsair::origin::{MalformedOrigin, OriginPattern, RequestOrigin};
use corsair::policy::{Actual, Decision, OriginRefusal, Policy};
use corsair::{Config, ConfigProblem};
use http::Method;
use http::header::{HeaderMap, HeaderValue, ORIGIN};

fn actual(policy: &Policy, origin: &str) -> Actual<'static> {
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
    match policy.check(&Method::GET, &headers) {
        Decision::Actual(actual) => actual.into_owned(),
        other => panic!("a GET is an actual request: {other:?}"),
    }
}

/// request_origin, `https://[::ffff:127..1]`: the `Origin` parser reads an
/// IPv6 host loosely (hex digits, `:` and `.` between brackets), so it
/// accepts text no browser sends, with an empty "label" inside the
/// brackets. That is safe because the matcher only ever compares such a
/// host byte for byte with an address the configuration validated in its
/// canonical form: no policy allows the loose spelling.
#[test]
fn loose_ipv6_text_in_an_origin_parses_but_matches_no_canonical_address() {
    for origin in [
        "https://[::ffff:127..1]",
        "https://[::ffff:127.0.0.1]",
        "https://[0:0:0:0:0:ffff:7f00:1]",
        "https://[:::::]",
    ] {
        let Ok(RequestOrigin::Tuple(tuple)) = RequestOrigin::parse(origin.as_bytes()) else {
            panic!("{origin} no longer parses; update this test and the fuzz target");
        };
        assert_eq!(tuple.as_str(), origin);
        assert!(
            OriginPattern::parse(origin).is_err(),
            "{origin} as an entry"
        );
    }

    let policy = Policy::new(Config {
        allow_origins: vec![
            "https://[::ffff:7f00:1]".into(),
            "http://[::ffff:7f00:1]:*".into(),
        ],
        ..Config::default()
    })
    .unwrap();
    assert!(matches!(
        actual(&policy, "https://[::ffff:7f00:1]"),
        Actual::Allowed(_)
    ));
    for origin in [
        "https://[::ffff:127..1]",
        "https://[::ffff:127.0.0.1]",
        "https://[0:0:0:0:0:ffff:7f00:1]",
        "http://[::ffff:127.0.0.1]:8080",
    ] {
        assert!(
            matches!(
                actual(&policy, origin),
                Actual::Refused(OriginRefusal::NotAllowed)
            ),
            "{origin}"
        );
    }
    assert!(matches!(
        actual(&policy, "https://[::ffff:7f00:1"),
        Actual::Refused(OriginRefusal::Malformed(MalformedOrigin::Host))
    ));
}

/// config_json, the empty document: serde_json reports the end of input at
/// the very start of a line as column 0, which the diagnostic's location
/// reads as column 1. An empty TOML document, by contrast, is an empty
/// configuration, which `Policy::new` refuses for having no origins.
#[test]
fn empty_documents_are_an_error_or_an_empty_configuration() {
    let place = |error: &corsair::LoadError| {
        let [diagnostic] = error.diagnostics() else {
            panic!("one diagnostic: {error}")
        };
        diagnostic.location.as_ref().map(|at| (at.line, at.column))
    };
    let error = Config::from_json("").unwrap_err();
    assert_eq!(place(&error), Some((1, 1)));
    assert!(error.to_string().contains("EOF"), "{error}");

    let error = Config::from_json("{\n").unwrap_err();
    assert_eq!(place(&error).map(|(line, _)| line), Some(2));

    let config = Config::from_toml("").unwrap();
    assert_eq!(config, Config::default());
    let refused = Policy::new(config).unwrap_err();
    assert_eq!(refused.problems(), [ConfigProblem::NoOrigins]);
}
