//! The table's types, its loading, and the checks that keep it consistent
//! (unique names, every policy valid and used, fields that go together).

use std::collections::{BTreeMap, HashSet};

use corsair::origin::source;
use corsair::{Config, Cors, CorsBuilder};
use serde::Deserialize;

/// The table's text, compiled into every runner so that they all run the
/// same file.
pub const CASES: &str = include_str!("../cases.toml");

/// The fewest cases the table may hold.
const MIN_CASES: usize = 480;

/// The body of the 500 that an application error becomes (the error's
/// message, as actix-web renders an `InternalError` and as the tower runner
/// renders its error type).
pub const APP_ERROR_BODY: &str = "the application failed";

/// The table, loaded and checked, its policies compiled.
pub struct Table {
    /// The cases, in the order of the file.
    pub cases: Vec<Case>,
    /// The policies by name, compiled.
    pub policies: BTreeMap<String, Cors>,
}

impl Table {
    /// The policy a case runs under.
    pub fn cors(&self, case: &Case) -> &Cors {
        &self.policies[&case.policy]
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    policies: BTreeMap<String, Config>,
    case: Vec<Case>,
}

/// The table's origin source, for policies with `[origin_source]`: origins
/// under `.tenant.example` are allowed, those under `.broken.example` make
/// it fail, any other is refused. [`tenant_answer`] says the same for a
/// runner that serves it over HTTP.
pub fn tenants() -> impl source::OriginSource {
    source::from_async_fn(|origin: String| async move {
        tenant_answer(&origin).ok_or("the tenants database is down")
    })
}

/// The table source's answer about `origin`: `None` when it fails.
#[must_use]
pub fn tenant_answer(origin: &str) -> Option<bool> {
    if origin.ends_with(".broken.example") {
        None
    } else {
        Some(origin.ends_with(".tenant.example"))
    }
}

/// One request and the answer expected.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The case's name, unique in the table.
    pub name: String,
    /// The name of the policy it runs under.
    pub policy: String,
    /// The request method, as sent.
    pub method: String,
    #[serde(default)]
    headers: Vec<(String, Value)>,
    #[serde(default)]
    app_headers: Vec<(String, Value)>,
    app_status: Option<u16>,
    /// The application's body: whole, or streamed chunk by chunk.
    pub app_body: Option<AppBody>,
    /// The application fails instead of answering.
    #[serde(default)]
    pub app_error: bool,
    /// What the response must be.
    pub expect: Expect,
}

/// What the application answers with as its body.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum AppBody {
    /// One string, sent in one piece.
    Whole(String),
    /// Chunks streamed as separate frames, in order.
    Chunks(Vec<String>),
}

/// What the response must be.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The status.
    pub status: u16,
    /// Whether the application runs (once) or not at all.
    pub app_called: bool,
    #[serde(default)]
    headers: BTreeMap<String, Value>,
    /// The body, when the case says.
    pub body: Option<String>,
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

fn expand(pairs: &[(String, Value)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.clone(), value.expand()))
        .collect()
}

/// Whether a response header is one the table describes exactly.
pub fn is_cors_related(name: &str) -> bool {
    name.starts_with("access-control-") || name == "vary" || name == "timing-allow-origin"
}

impl Case {
    /// The request's headers, in order, values expanded.
    pub fn headers(&self) -> Vec<(String, String)> {
        expand(&self.headers)
    }

    /// The headers the application sets on its response (or on the response
    /// its error becomes), in order, values expanded.
    pub fn app_headers(&self) -> Vec<(String, String)> {
        expand(&self.app_headers)
    }

    /// The application's status when it answers (it is 500 when it fails).
    pub fn app_status(&self) -> u16 {
        self.app_status.unwrap_or(200)
    }

    /// The exact CORS-related headers expected, names lowercase.
    pub fn expected_headers(&self) -> BTreeMap<String, String> {
        self.expect
            .headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.expand()))
            .collect()
    }

    /// Whether the application sees a `HEAD` request, to which it answers
    /// with headers and no body.
    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    /// The part of the name before `/`.
    pub fn category(&self) -> &str {
        self.name
            .split_once('/')
            .map_or("", |(category, _)| category)
    }

    /// What is wrong with the case as written, whatever the adapter.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.app_error && (self.app_status.is_some() || self.app_body.is_some()) {
            problems.push(
                "app_error excludes app_status and app_body: a failing application \
                 answers nothing"
                    .to_owned(),
            );
        }
        if (self.app_error || matches!(self.app_body, Some(AppBody::Chunks(_))))
            && self.expect.body.is_none()
        {
            problems.push("app_error and streamed app_body cases must give expect.body".into());
        }
        if let Some(AppBody::Chunks(chunks)) = &self.app_body
            && (chunks.is_empty() || chunks.iter().any(String::is_empty))
        {
            // Frameworks drop empty chunks, so they would not mean the same
            // to every adapter.
            problems.push("a streamed app_body is a non-empty list of non-empty chunks".into());
        }
        if let Some(body) = &self.expect.body
            && !body.is_empty()
            && (self.is_head() || !self.expect.app_called)
        {
            problems.push(
                "expect.body must be empty for HEAD and for answers corsair gives alone".into(),
            );
        }
        for name in self.expect.headers.keys() {
            if !is_cors_related(&name.to_ascii_lowercase()) {
                problems.push(format!(
                    "expect.headers names `{name}`, which is not access-control-*, vary or timing-allow-origin"
                ));
            }
        }
        problems
    }
}

/// Loads `cases.toml`, checks it as a whole and case by case, and compiles
/// its policies. Panics with every problem found.
pub fn load() -> Table {
    let raw: RawTable =
        toml::from_str(CASES).expect("crates/conformance/cases.toml does not parse");
    let mut problems = Vec::new();
    if raw.case.len() < MIN_CASES {
        problems.push(format!(
            "the table has {} cases, fewer than {MIN_CASES}",
            raw.case.len()
        ));
    }
    let mut seen = HashSet::new();
    for case in &raw.case {
        if !seen.insert(case.name.as_str()) {
            problems.push(format!("case name `{}` is not unique", case.name));
        }
        if !raw.policies.contains_key(&case.policy) {
            problems.push(format!(
                "case `{}`: unknown policy `{}`",
                case.name, case.policy
            ));
        }
        for problem in case.problems() {
            problems.push(format!("case `{}`: {problem}", case.name));
        }
    }
    let used: HashSet<&str> = raw.case.iter().map(|case| case.policy.as_str()).collect();
    for name in raw.policies.keys() {
        if !used.contains(name.as_str()) {
            problems.push(format!("policy `{name}` is used by no case"));
        }
    }
    let mut policies = BTreeMap::new();
    for (name, config) in raw.policies {
        let builder = match config.origin_source {
            Some(_) => CorsBuilder::from(config).origin_source(tenants()),
            None => CorsBuilder::from(config),
        };
        match builder.build() {
            Ok(cors) => {
                policies.insert(name, cors);
            }
            Err(error) => problems.push(format!("policy `{name}`: {error}")),
        }
    }
    assert!(
        problems.is_empty(),
        "crates/conformance/cases.toml:\n  {}",
        problems.join("\n  ")
    );
    Table {
        cases: raw.case,
        policies,
    }
}
