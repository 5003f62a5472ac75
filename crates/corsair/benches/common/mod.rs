//! What the benches share: the policy, the requests of every scenario
//! (independent of the `http` version, since tower speaks `http` 1 and
//! actix-web 4 speaks `http` 0.2), and polling a ready future once.
//!
//! A request is a method and a list of `(name, value)` pairs whose values are
//! `bytes::Bytes`: static for the ordinary headers, and one shared buffer for
//! the 1 MiB adversarial values, so that cloning a request's header map in
//! the timed loop bumps reference counts instead of copying a mebibyte.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use corsair::Config;

pub(crate) const ALLOWED: &str = "https://app.example.com";
pub(crate) const REFUSED: &str = "https://evil.example";
pub(crate) const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
pub(crate) const ALLOW_HEADERS: [&str; 2] = ["accept", "content-type"];
pub(crate) const EXPOSE: &str = "x-request-id";
pub(crate) const MAX_AGE: u32 = 600;

/// The body every inner service answers with, and its type.
pub(crate) const BODY: &[u8] = b"{\"id\":1}";
pub(crate) const CONTENT_TYPE: &str = "application/json";

/// The seed article's policy over `origins`.
pub(crate) fn seed_config(origins: Vec<String>) -> Config {
    Config {
        allow_origins: origins,
        allow_credentials: true,
        allow_methods: METHODS.map(String::from).to_vec(),
        allow_headers: ALLOW_HEADERS.map(String::from).to_vec(),
        expose_headers: vec![EXPOSE.into()],
        max_age: Some(MAX_AGE.into()),
        ..Config::default()
    }
}

/// A request, before it is turned into one framework's type.
pub(crate) struct Spec {
    pub(crate) method: &'static str,
    pub(crate) headers: Vec<(&'static str, Bytes)>,
}

/// One of the four scenarios every library is measured on, and whether the
/// policy allows it (the response must carry `Access-Control-Allow-Origin`).
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) request: Spec,
    pub(crate) allowed: bool,
    pub(crate) preflight: bool,
}

fn spec(method: &'static str, headers: &[(&'static str, &'static str)]) -> Spec {
    Spec {
        method,
        headers: headers
            .iter()
            .map(|&(name, value)| (name, Bytes::from_static(value.as_bytes())))
            .collect(),
    }
}

pub(crate) fn get(origin: &'static str) -> Spec {
    spec("GET", &[("origin", origin), ("accept", "*/*")])
}

fn preflight(origin: &'static str) -> Spec {
    spec(
        "OPTIONS",
        &[
            ("origin", origin),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type"),
            ("accept", "*/*"),
        ],
    )
}

/// The scenarios, in the order of the groups. Their names are the criterion
/// group names (prefixed with `actix/` for the actix-web bench).
pub(crate) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "actual_allowed",
            request: get(ALLOWED),
            allowed: true,
            preflight: false,
        },
        Scenario {
            name: "preflight_allowed",
            request: preflight(ALLOWED),
            allowed: true,
            preflight: true,
        },
        Scenario {
            name: "preflight_refused",
            request: preflight(REFUSED),
            allowed: false,
            preflight: true,
        },
        Scenario {
            name: "actual_no_origin",
            request: spec("GET", &[("accept", "*/*")]),
            allowed: false,
            preflight: false,
        },
    ]
}

const MEBIBYTE: usize = 1 << 20;

/// One `Bytes` holding `unit` repeated up to 1 MiB. Every clone of it (and
/// of a `HeaderValue` made from it with `from_maybe_shared`) shares this
/// buffer; the first clone turns the vector into a shared buffer, which
/// happens while the requests are checked, before any timing.
fn mebibyte_of(unit: &str) -> Bytes {
    Bytes::from(unit.repeat(MEBIBYTE / unit.len()).into_bytes())
}

/// The hostile preflights of issue 7, each from the allowed origin asking
/// for the allowed method: a 1 MiB `Access-Control-Request-Headers` made of
/// one allowed name repeated, of commas, or of spaces, and 1,024 header
/// lines each naming one allowed header. A policy that bounds the list
/// refuses all four; the names are the criterion function-name prefixes.
pub(crate) fn adversarial() -> Vec<(&'static str, Spec)> {
    let with_list = |values: Vec<Bytes>| {
        let mut headers = vec![
            ("origin", Bytes::from_static(ALLOWED.as_bytes())),
            ("access-control-request-method", Bytes::from_static(b"PUT")),
        ];
        headers.extend(
            values
                .into_iter()
                .map(|value| ("access-control-request-headers", value)),
        );
        Spec {
            method: "OPTIONS",
            headers,
        }
    };
    // `content-type` joined by commas and without a trailing comma: a
    // well-formed list of an allowed name, so that the only reason to
    // refuse it is its size.
    let mut names = "content-type,".repeat(MEBIBYTE / 13);
    names.pop();
    vec![
        (
            "names_1mib",
            with_list(vec![Bytes::from(names.into_bytes())]),
        ),
        ("commas_1mib", with_list(vec![mebibyte_of(",")])),
        ("spaces_1mib", with_list(vec![mebibyte_of(" ")])),
        (
            "lines_1024",
            with_list(vec![Bytes::from_static(b"content-type"); 1024]),
        ),
    ]
}

/// Polls `future` once with a no-op waker. Every service and transform in
/// the benches answers with a future that is ready at once, so one poll is
/// enough and no runtime is involved.
pub(crate) fn now<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the benchmarked futures are ready at once"),
    }
}

/// What a layer answered, as the checks before timing see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) allow_origin: Option<Vec<u8>>,
}

impl Answer {
    /// `allowed`: `Access-Control-Allow-Origin` is the allowed origin;
    /// otherwise it is absent.
    pub(crate) fn assert(&self, status: u16, allowed: bool, what: &str) {
        assert_eq!(self.status, status, "{what}: status");
        let expected = allowed.then(|| ALLOWED.as_bytes().to_vec());
        assert_eq!(
            self.allow_origin, expected,
            "{what}: Access-Control-Allow-Origin"
        );
    }
}

/// Appends one line per answer to the file named by
/// `CORSAIR_BENCH_ANSWERS`, when it is set: what each library answered to
/// the adversarial inputs, for the report (`scripts/bench`). The benches
/// print nothing themselves.
pub(crate) fn record_answer(library: &str, case: &str, answer: &Answer) {
    use std::io::Write as _;
    let Some(path) = std::env::var_os("CORSAIR_BENCH_ANSWERS") else {
        return;
    };
    let line = format!(
        "{library}\t{case}\t{}\t{}\n",
        answer.status,
        if answer.allow_origin.is_some() {
            "acao"
        } else {
            "-"
        }
    );
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(error) = written {
        panic!("cannot write {}: {error}", path.to_string_lossy());
    }
}
