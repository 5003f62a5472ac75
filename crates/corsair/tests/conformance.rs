#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The conformance table, `tests/conformance/cases.toml`, run through the
//! tower adapter.
//!
//! The table is adapter-neutral (its format is described at its top): the
//! actix-web adapter and the proxy run the same file with their own runners.
//! This runner builds each policy with [`Cors::new`] from the TOML table
//! (`Config` through serde), sends each case's request with
//! `tower::ServiceExt::oneshot` through `cors.layer(app)`, where `app` is a
//! `service_fn` that counts its calls and answers the case's `app_status`
//! with its `app_headers`, and compares:
//! - the status;
//! - whether the application was called;
//! - exactly the CORS-related response headers: every `access-control-*`
//!   header and `Vary` in the response (the lines of one name joined with
//!   `", "`, in order) must equal the expected map, and every header of the
//!   map must be present. A header absent from the map must be absent.
//!
//! Every failing case is reported by name, with all its differences, before
//! the test fails.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use corsair::{Config, Cors};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use serde::Deserialize;
use tower::{Layer, ServiceExt, service_fn};

/// The table, compiled into the test so that it always runs the same file.
const CASES: &str = include_str!("conformance/cases.toml");

/// The fewest cases the table may hold.
const MIN_CASES: usize = 150;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    policies: BTreeMap<String, Config>,
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    policy: String,
    method: String,
    #[serde(default)]
    headers: Vec<(String, Value)>,
    #[serde(default)]
    app_headers: Vec<(String, Value)>,
    #[serde(default = "default_app_status")]
    app_status: u16,
    expect: Expect,
}

fn default_app_status() -> u16 {
    200
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: u16,
    app_called: bool,
    #[serde(default)]
    headers: BTreeMap<String, Value>,
}

/// A header value: a string, or `{ prefix, repeat, times, suffix }` for
/// `prefix + repeat × times + suffix` (`prefix` and `suffix` optional).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Value {
    Text(String),
    Repeat(Repeat),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repeat {
    #[serde(default)]
    prefix: String,
    repeat: String,
    times: usize,
    #[serde(default)]
    suffix: String,
}

impl Value {
    fn expand(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Repeat(r) => format!("{}{}{}", r.prefix, r.repeat.repeat(r.times), r.suffix),
        }
    }
}

/// Whether a response header is one the table describes exactly.
fn is_cors_related(name: &str) -> bool {
    name.starts_with("access-control-") || name == "vary"
}

/// Shortens long values in failure messages.
fn show(value: &str) -> String {
    const MAX: usize = 120;
    if value.len() <= MAX {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(60).collect();
        format!("{head:?}... ({} bytes)", value.len())
    }
}

fn header_map(pairs: &[(String, Value)], what: &str) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let value = value.expand();
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("{what}: bad header name {name:?}: {e}"))?;
        let value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|e| format!("{what}: bad value for {name}: {}: {e}", show(&value)))?;
        map.append(header, value);
    }
    Ok(map)
}

/// Runs one case; `Err` holds every difference found.
async fn run(case: &Case, policies: &BTreeMap<String, Cors>) -> Result<(), Vec<String>> {
    let cors = policies
        .get(&case.policy)
        .ok_or_else(|| vec![format!("unknown policy `{}`", case.policy)])?;
    let method = Method::from_bytes(case.method.as_bytes())
        .map_err(|e| vec![format!("bad method {:?}: {e}", case.method)])?;
    let app_status = StatusCode::from_u16(case.app_status)
        .map_err(|e| vec![format!("bad app_status {}: {e}", case.app_status)])?;
    let request_headers = header_map(&case.headers, "headers").map_err(|e| vec![e])?;
    let app_headers = header_map(&case.app_headers, "app_headers").map_err(|e| vec![e])?;
    let mut expected = BTreeMap::new();
    for (name, value) in &case.expect.headers {
        let name = name.to_ascii_lowercase();
        if !is_cors_related(&name) {
            return Err(vec![format!(
                "expect.headers names `{name}`, which is not access-control-* or vary"
            )]);
        }
        expected.insert(name, value.expand());
    }

    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = http::Uri::from_static("/resource");
    *request.headers_mut() = request_headers;

    let calls = Arc::new(AtomicUsize::new(0));
    let app = {
        let calls = Arc::clone(&calls);
        service_fn(move |_request: Request<()>| {
            calls.fetch_add(1, Ordering::SeqCst);
            let mut response = Response::new(());
            *response.status_mut() = app_status;
            *response.headers_mut() = app_headers.clone();
            async move { Ok::<_, Infallible>(response) }
        })
    };
    let response = match cors.layer(app).oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };

    let mut problems = Vec::new();
    if response.status().as_u16() != case.expect.status {
        problems.push(format!(
            "status: expected {}, got {}",
            case.expect.status,
            response.status().as_u16()
        ));
    }
    let called = calls.load(Ordering::SeqCst);
    match (case.expect.app_called, called) {
        (true, 1) | (false, 0) => {}
        (expected, got) => problems.push(format!(
            "app called {got} time(s), expected {}",
            if expected { "once" } else { "never" }
        )),
    }

    let mut actual = BTreeMap::new();
    for name in response.headers().keys() {
        if is_cors_related(name.as_str()) {
            let joined = response
                .headers()
                .get_all(name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(", ");
            actual.insert(name.as_str().to_owned(), joined);
        }
    }
    let names: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    for name in names {
        match (expected.get(name), actual.get(name)) {
            (Some(want), Some(got)) if want == got => {}
            (Some(want), Some(got)) => problems.push(format!(
                "{name}: expected {}, got {}",
                show(want),
                show(got)
            )),
            (Some(want), None) => problems.push(format!("{name}: expected {}, absent", show(want))),
            (None, Some(got)) => problems.push(format!("{name}: unexpected {}", show(got))),
            (None, None) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[tokio::test]
async fn conformance_table() {
    let table: Table = toml::from_str(CASES).expect("tests/conformance/cases.toml does not parse");

    assert!(
        table.case.len() >= MIN_CASES,
        "the table has {} cases, fewer than {MIN_CASES}",
        table.case.len()
    );
    let mut seen = HashSet::new();
    let duplicates: Vec<&str> = table
        .case
        .iter()
        .map(|case| case.name.as_str())
        .filter(|name| !seen.insert(*name))
        .collect();
    assert!(
        duplicates.is_empty(),
        "case names must be unique: {duplicates:?}"
    );
    let used: HashSet<&str> = table.case.iter().map(|case| case.policy.as_str()).collect();
    let unused: Vec<&String> = table
        .policies
        .keys()
        .filter(|name| !used.contains(name.as_str()))
        .collect();
    assert!(unused.is_empty(), "policies used by no case: {unused:?}");

    let mut policies = BTreeMap::new();
    for (name, config) in table.policies {
        let cors = Cors::new(config).unwrap_or_else(|error| panic!("policy `{name}`: {error}"));
        policies.insert(name, cors);
    }

    let mut failures = Vec::new();
    let mut categories: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &table.case {
        let category = case
            .name
            .split_once('/')
            .map_or("", |(category, _)| category);
        *categories.entry(category).or_default() += 1;
        if let Err(problems) = run(case, &policies).await {
            failures.push((case.name.as_str(), problems));
        }
    }

    println!("{} cases:", table.case.len());
    for (category, count) in &categories {
        println!("  {category:<16} {count}");
    }
    if !failures.is_empty() {
        let mut report = format!(
            "{} of {} conformance cases fail:\n",
            failures.len(),
            table.case.len()
        );
        for (name, problems) in &failures {
            let _ = writeln!(report, "- {name}");
            for problem in problems {
                let _ = writeln!(report, "    {problem}");
            }
        }
        panic!("{report}");
    }
}
