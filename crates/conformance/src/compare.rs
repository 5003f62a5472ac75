//! What a runner observed, and its comparison with what a case expects.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::table::{AppBody, Case, is_cors_related};

/// What a runner observed for one case.
#[derive(Debug)]
pub struct Outcome {
    /// The status.
    pub status: u16,
    /// Every response header as `(name, value)`, names lowercase; the lines
    /// of one name in the order they were sent.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The whole body.
    pub body: Vec<u8>,
    /// The body frame by frame, when the runner sees frames (an in-process
    /// runner does; a runner over a real connection may not).
    pub frames: Option<Vec<Vec<u8>>>,
    /// How many times the application was called.
    pub app_calls: usize,
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

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every difference between `outcome` and what `case` expects:
/// - the status;
/// - whether the application was called (once, or never);
/// - exactly the CORS-related headers: every `access-control-*` header and
///   `Vary` (the lines of one name joined with `", "`, in order) must equal
///   the expected map, and every header of the map must be present;
/// - the body: `expect.body` when given; otherwise empty when the
///   application was not to be called (corsair answered alone) or the method
///   is `HEAD`, and not compared in other cases;
/// - when the runner sees frames and the application streamed its body, the
///   frames as the application sent them: no adapter may buffer or re-cut a
///   stream.
pub fn compare(case: &Case, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    if outcome.status != case.expect.status {
        problems.push(format!(
            "status: expected {}, got {}",
            case.expect.status, outcome.status
        ));
    }
    match (case.expect.app_called, outcome.app_calls) {
        (true, 1) | (false, 0) => {}
        (expected, got) => problems.push(format!(
            "app called {got} time(s), expected {}",
            if expected { "once" } else { "never" }
        )),
    }

    let expected = case.expected_headers();
    let mut lines: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, value) in &outcome.headers {
        if is_cors_related(name) {
            lines.entry(name).or_default().push(lossy(value));
        }
    }
    let actual: BTreeMap<&str, String> = lines
        .into_iter()
        .map(|(name, values)| (name, values.join(", ")))
        .collect();
    let names: BTreeSet<&str> = expected
        .keys()
        .map(String::as_str)
        .chain(actual.keys().copied())
        .collect();
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

    let expected_body = match &case.expect.body {
        Some(body) => Some(body.as_str()),
        None if case.is_head() || !case.expect.app_called => Some(""),
        None => None,
    };
    if let Some(want) = expected_body
        && want.as_bytes() != outcome.body.as_slice()
    {
        problems.push(format!(
            "body: expected {}, got {}",
            show(want),
            show(&lossy(&outcome.body))
        ));
    }
    if let (Some(frames), Some(AppBody::Chunks(chunks))) = (&outcome.frames, &case.app_body)
        && outcome.app_calls == 1
        && !case.is_head()
    {
        let got: Vec<String> = frames
            .iter()
            .filter(|frame| !frame.is_empty())
            .map(|frame| lossy(frame))
            .collect();
        if &got != chunks {
            problems.push(format!(
                "frames: the application streamed {chunks:?}, the response carried {got:?}"
            ));
        }
    }
    problems
}

/// The results of one runner over the table.
pub struct Report {
    runner: &'static str,
    total: usize,
    categories: BTreeMap<String, usize>,
    failures: Vec<(String, Vec<String>)>,
}

impl Report {
    /// An empty report for the runner named `runner`.
    pub fn new(runner: &'static str) -> Self {
        Report {
            runner,
            total: 0,
            categories: BTreeMap::new(),
            failures: Vec::new(),
        }
    }

    /// Records what the runner observed for `case`, or why it could not run
    /// it.
    pub fn record(&mut self, case: &Case, outcome: Result<Outcome, String>) {
        self.total += 1;
        *self
            .categories
            .entry(case.category().to_owned())
            .or_default() += 1;
        let problems = match outcome {
            Ok(outcome) => compare(case, &outcome),
            Err(error) => vec![format!("could not run: {error}")],
        };
        if !problems.is_empty() {
            self.failures.push((case.name.clone(), problems));
        }
    }

    /// Prints the count of cases by category, and fails with every problem
    /// of every failing case.
    pub fn finish(self) {
        println!("{}: {} cases:", self.runner, self.total);
        for (category, count) in &self.categories {
            println!("  {category:<16} {count}");
        }
        assert!(self.total > 0, "{}: no case ran", self.runner);
        if !self.failures.is_empty() {
            let mut report = format!(
                "{}: {} of {} conformance cases fail:\n",
                self.runner,
                self.failures.len(),
                self.total
            );
            for (name, problems) in &self.failures {
                let _ = writeln!(report, "- {name}");
                for problem in problems {
                    let _ = writeln!(report, "    {problem}");
                }
            }
            panic!("{report}");
        }
    }
}
