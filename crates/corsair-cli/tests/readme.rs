//! The README's command examples are the binary's real output: every block
//! marked `<!-- generated: NAME -->` is run, and must equal what the built
//! `corsair` prints.
//!
//! A block holds one or more commands, each a `$ ` line (with `\`
//! continuations) followed by its output, stdout and stderr interleaved as a
//! terminal shows them. The commands run in `tests/readme/<dir>/`, where the
//! files they name are, so that each command line is exactly what a user
//! types. `NAME` picks what the block needs around it ([`scenario`]): a
//! `corsair demo` to probe, a server to audit, a proxy whose admin listener
//! to query. Their ports are chosen at run time and shown as the README's
//! (`localhost:3000`, `127.0.0.1:9090`...) in both directions: in the
//! command line before it runs, and in the output after.
//!
//! What legitimately varies is normalised before comparing: the `date:`
//! header, session tokens, log timestamps, the request-duration histogram's sum and bucket
//! counts, and the order of labelled series that the metrics library keeps
//! in a hash map. A README line `...` (indented or not) stands for any
//! number of lines.
//!
//! `CORSAIR_BLESS=1 cargo test -p corsair-cli --test readme` (or insta's
//! `INSTA_UPDATE=always`) rewrites the blocks that differ with the real
//! output, keeping their `...` lines, and the README's own text of every
//! line that still matches (its `date:`, say). Blocks that are not command
//! output (files, code, units) are not marked and are left alone; a block
//! whose first line is a `$ ` command must be marked.
//!
//! `curl -s URL` is a plain `GET` made by the test, and `| jq 'PATHS'` a
//! selection of comma-separated `.a.b` paths printed as jq prints them, so
//! that the test needs neither tool.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod audit_servers;
mod common;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use audit_servers::{List, Rules};
use common::process::Process;
use common::{Upstream, send};
use corsair_cli::demo::{Demo, DemoArgs};
use http::Request;
use rustix::process::{Pid, Signal, kill_process};
use tokio::runtime::Runtime;

/// The command that rewrites the README's examples.
const BLESS: &str = "CORSAIR_BLESS=1 cargo test -p corsair-cli --test readme";

/// The README's comment before a generated block.
const MARKER: &str = "<!-- generated: ";

// ---------------------------------------------------------------------------
// The README's blocks
// ---------------------------------------------------------------------------

/// A generated block of the README.
#[derive(Debug)]
struct Block {
    /// The name in its marker.
    name: String,
    /// The line of its opening fence, counted from 1.
    line: usize,
    /// Its lines, fences excluded.
    lines: Vec<String>,
}

/// The README's path.
fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")
}

/// The generated blocks of `text`, each with the range of its body's lines.
/// Panics on a command block without a marker, or a marker not followed by
/// a fence.
fn blocks(text: &str) -> Vec<(Block, std::ops::Range<usize>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if !line.starts_with("```") {
            index += 1;
            continue;
        }
        let end = (index + 1..lines.len())
            .find(|&i| lines[i].starts_with("```"))
            .unwrap_or_else(|| panic!("README.md:{}: a fence that is never closed", index + 1));
        let marker = index
            .checked_sub(1)
            .and_then(|i| lines[i].strip_prefix(MARKER))
            .and_then(|rest| rest.strip_suffix(" -->"));
        let body = index + 1..end;
        match marker {
            Some(name) => found.push((
                Block {
                    name: name.to_owned(),
                    line: index + 1,
                    lines: lines[body.clone()]
                        .iter()
                        .map(|l| (*l).to_owned())
                        .collect(),
                },
                body,
            )),
            None => assert!(
                !lines
                    .get(index + 1)
                    .is_some_and(|first| first.starts_with("$ ")),
                "README.md:{}: a command example without `{MARKER}NAME -->` before it; \
                 add one (see tests/readme.rs) so that its output is generated",
                index + 1
            ),
        }
        index = end + 1;
    }
    for (number, line) in lines.iter().enumerate() {
        if line.starts_with(MARKER) {
            assert!(
                lines.get(number + 1).is_some_and(|l| l.starts_with("```")),
                "README.md:{}: a marker not followed by a fenced block",
                number + 1
            );
        }
    }
    found
}

/// A command of a block: its words (quotes removed, continuations joined).
fn commands(block: &Block) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut lines = block.lines.iter();
    while let Some(line) = lines.next() {
        let Some(first) = line.strip_prefix("$ ") else {
            continue;
        };
        let mut text = first.to_owned();
        while let Some(head) = text.strip_suffix('\\') {
            text = format!(
                "{head} {}",
                lines.next().expect("a continuation line").trim()
            );
        }
        commands.push(words(&text));
    }
    assert!(
        !commands.is_empty(),
        "README.md:{}: the block `{}` has no `$ ` command",
        block.line,
        block.name
    );
    commands
}

/// Splits a command line as a shell does: whitespace, single and double
/// quotes, and `|` as a word of its own.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '|' => {
                words.extend(word.take());
                words.push("|".to_owned());
            }
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                current.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => current.extend(chars.next()),
                        c => current.push(c),
                    }
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

// ---------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------

/// Where a block's commands run and what they reach.
struct Env<'a> {
    runtime: &'a Runtime,
    /// The working directory.
    dir: PathBuf,
    /// `(as the README writes it, as it is now)`: `localhost:3000` and
    /// `localhost:41234`.
    addresses: Vec<(String, String)>,
}

impl<'a> Env<'a> {
    fn new(runtime: &'a Runtime, dir: &str) -> Self {
        Env {
            runtime,
            dir: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/readme")
                .join(dir),
            addresses: Vec::new(),
        }
    }

    fn address(&mut self, readme: &str, actual: String) {
        self.addresses.push((readme.to_owned(), actual));
    }

    /// A README address as it is now.
    fn actual(&self, text: &str) -> String {
        self.addresses
            .iter()
            .fold(text.to_owned(), |text, (readme, actual)| {
                replace_address(&text, readme, actual)
            })
    }

    /// The addresses of the moment as the README writes them.
    fn as_readme(&self, text: &str) -> String {
        self.addresses
            .iter()
            .fold(text.to_owned(), |text, (readme, actual)| {
                replace_address(&text, actual, readme)
            })
    }

    /// Runs a pipeline of `corsair`, `curl` and `jq`, and returns what it
    /// printed, with the README's addresses.
    fn run(&self, words: &[String]) -> String {
        let mut input: Option<String> = None;
        for stage in words.split(|word| word == "|") {
            let args: Vec<String> = stage[1..].iter().map(|arg| self.actual(arg)).collect();
            input = Some(match stage[0].as_str() {
                "corsair" => corsair(&self.dir, &args, None),
                "curl" => self.curl(&args),
                "jq" => jq(&args, input.as_deref().expect("jq reads a pipe")),
                // A file the block's commands read, shown as it is.
                "cat" => args
                    .iter()
                    .map(|name| std::fs::read_to_string(self.dir.join(name)).unwrap())
                    .collect(),
                program => panic!("the README runs {program}, which tests/readme.rs cannot"),
            });
        }
        self.as_readme(&input.unwrap_or_default())
    }

    /// `curl -s URL`: the body of a `GET`.
    fn curl(&self, args: &[String]) -> String {
        let [silent, url] = args else {
            panic!("only `curl -s URL` is supported, not curl {args:?}");
        };
        assert_eq!(silent, "-s", "only `curl -s URL` is supported");
        let url = if url.contains("://") {
            url.clone()
        } else {
            format!("http://{url}")
        };
        self.runtime
            .block_on(common::get(&url, &[]))
            .text()
            .to_owned()
    }
}

/// `text` with every `from` that is not followed by a digit replaced by
/// `to`: `127.0.0.1:3000` is not a prefix of `127.0.0.1:30001`.
fn replace_address(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with(|c: char| c.is_ascii_digit()) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Runs the binary in `dir` with stdout and stderr in one file, as a
/// terminal interleaves them. With `until`, a command that serves until
/// stopped: once its output contains `until`, it is stopped with SIGINT (as
/// Ctrl-C would) and what it printed before is returned.
fn corsair(dir: &Path, args: &[String], until: Option<&str>) -> String {
    let output = tempfile::NamedTempFile::new().unwrap();
    // Both streams on one open file description, so that they share its
    // offset and neither overwrites the other.
    let stderr = output.as_file().try_clone().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_corsair"))
        .args(args)
        .current_dir(dir)
        // Logging as a user gets it by default.
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(stderr.try_clone().unwrap())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let read = || {
        let mut text = String::new();
        std::fs::File::open(output.path())
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return read();
        }
        if let Some(until) = until {
            let text = read();
            // The whole line, not only the start of its write.
            if text.contains(until) && text.ends_with('\n') {
                kill_process(Pid::from_child(&child), Signal::INT).unwrap();
                child.wait().unwrap();
                return text;
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("corsair {args:?} did not finish within 60 s:\n{}", read());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// jq with a filter of comma-separated paths (`.a.b, .c`), printed as jq
/// does (two-space indentation, one value after another).
fn jq(args: &[String], input: &str) -> String {
    let [filter] = args else {
        panic!("only `jq 'FILTER'` is supported, not jq {args:?}");
    };
    let json: serde_json::Value = serde_json::from_str(input).unwrap();
    filter
        .split(',')
        .map(|path| {
            let path = path.trim();
            let value = path
                .strip_prefix('.')
                .unwrap_or_else(|| panic!("jq path {path:?}: only `.a.b` paths are supported"))
                .split('.')
                .filter(|key| !key.is_empty())
                .fold(&json, |value, key| &value[key]);
            format!("{}\n", serde_json::to_string_pretty(value).unwrap())
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------

/// What a block printed: each command line as the README has it, followed
/// by its output. `name` says what the block needs around it.
fn scenario(block: &Block, runtime: &Runtime) -> Vec<String> {
    let commands = commands(block);
    let mut env;
    // Whatever serves the block's commands, until they have run.
    let mut _servers: Vec<Box<dyn Alive + '_>> = Vec::new();
    match block.name.as_str() {
        // Only the files the commands name: tests/readme/check/corsair.toml,
        // tests/readme/explain/corsair.toml, tests/readme/origins/cors.toml
        // and its tenants.txt, tests/readme/routes/proxy.toml,
        // tests/readme/report/proxy.toml, tests/readme/proxy/bad.toml.
        "check" | "explain" | "origins" | "routes" | "report" => {
            env = Env::new(runtime, &block.name);
        }
        "proxy-errors" => env = Env::new(runtime, "proxy"),
        // `corsair demo` serves until Ctrl-C, on ports chosen now.
        "demo" => return demo(block, &commands, runtime),
        // `corsair probe` against a running demo.
        "probe" => {
            env = Env::new(runtime, "");
            let demo = runtime
                .block_on(Demo::start(&DemoArgs::ephemeral()))
                .unwrap();
            let origins = demo.origins().clone();
            env.address("http://localhost:3000", origins.api);
            env.address("http://localhost:8080", origins.page);
            env.address("http://127.0.0.1:8081", origins.attacker);
            _servers.push(Box::new(DropInRuntime(Some(demo), runtime)));
        }
        // `corsair audit` against a server that copies any `Origin` into its
        // answer, with credentials, no `Vary` and a one-day max age, and
        // allows whatever a preflight asks for.
        "audit" => {
            env = Env::new(runtime, "");
            let server = runtime.block_on(
                Rules {
                    vary: false,
                    max_age: Some(86_400),
                    methods: List::Mirror,
                    headers: List::Mirror,
                    ..Rules::trusting(audit_servers::anything)
                }
                .serve(),
            );
            env.address("127.0.0.1:3998", format!("127.0.0.1:{}", server.port()));
            _servers.push(Box::new(server));
        }
        // The admin listener of a proxy on tests/readme/proxy/proxy.toml, in
        // front of the test upstream.
        "metrics" | "config" => {
            env = Env::new(runtime, "proxy");
            let upstream = runtime.block_on(Upstream::start());
            let text = std::fs::read_to_string(env.dir.join("proxy.toml"))
                .unwrap()
                .replace("127.0.0.1:8080", "127.0.0.1:0")
                .replace("127.0.0.1:9090", "127.0.0.1:0")
                .replace("http://127.0.0.1:3000", &upstream.url());
            let proxy = Process::start(&text);
            env.address("127.0.0.1:8080", proxy.addr.to_string());
            env.address("127.0.0.1:9090", proxy.admin.unwrap().to_string());
            env.address("127.0.0.1:3000", upstream.addr.to_string());
            if block.name == "metrics" {
                runtime.block_on(a_few_requests(&proxy.url(""), proxy.admin.unwrap()));
            }
            _servers.push(Box::new(proxy));
            _servers.push(Box::new(upstream));
        }
        name => panic!(
            "README.md:{}: no scenario `{name}` in tests/readme.rs",
            block.line
        ),
    }
    transcript(block, &commands, |words| env.run(words))
}

/// The block's command lines, each followed by what `run` printed for it.
fn transcript(
    block: &Block,
    commands: &[Vec<String>],
    mut run: impl FnMut(&[String]) -> String,
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut commands = commands.iter();
    let mut in_command = false;
    for line in &block.lines {
        if in_command && lines.last().is_some_and(|last| last.ends_with('\\')) {
            lines.push(line.clone());
            continue;
        }
        if in_command {
            in_command = false;
            let output = run(commands.next().unwrap());
            lines.extend(output.lines().map(str::to_owned));
        }
        // The README's output lines are replaced by what the command prints.
        if line.starts_with("$ ") {
            in_command = true;
            lines.push(line.clone());
        }
    }
    if in_command {
        let output = run(commands.next().unwrap());
        lines.extend(output.lines().map(str::to_owned));
    }
    lines
}

/// Anything kept alive while a block's commands run.
trait Alive {}
impl<T> Alive for T {}

/// Drops a demo inside the runtime its servers run on.
struct DropInRuntime<'a>(Option<Demo>, &'a Runtime);

impl Drop for DropInRuntime<'_> {
    fn drop(&mut self) {
        let _guard = self.1.enter();
        drop(self.0.take());
    }
}

/// `corsair demo`, started on free ports and stopped once it has said where
/// it serves (with its log line), as a user would press Ctrl-C.
fn demo(block: &Block, commands: &[Vec<String>], runtime: &Runtime) -> Vec<String> {
    let mut env = Env::new(runtime, "");
    transcript(block, commands, |words| {
        assert_eq!(
            words,
            ["corsair", "demo"],
            "the demo block runs `corsair demo`"
        );
        let args = [
            "demo",
            "--api-port",
            "0",
            "--page-port",
            "0",
            "--attacker-port",
            "0",
        ]
        .map(String::from);
        let output = corsair(&env.dir, &args, Some("demo started"));
        let origin = |label: &str| {
            output
                .lines()
                .find_map(|line| line.trim_start().strip_prefix(label))
                .and_then(|rest| rest.split_whitespace().next())
                .map(|url| url.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| panic!("no `{label}` line in\n{output}"))
        };
        env.address("http://localhost:3000", origin("API "));
        env.address("http://localhost:8080", origin("page "));
        env.address("http://127.0.0.1:8081", origin("attacker "));
        env.as_readme(&output)
    })
}

/// The requests before the metrics sample: one of each outcome, and three
/// allowed actual requests; then waits until the proxy has seen their
/// connections close.
async fn a_few_requests(proxy: &str, admin: std::net::SocketAddr) {
    const APP: &str = "https://app.example.com";
    const EVIL: &str = "https://evil.example";
    let client = common::client();
    let request = |method: &str, path: &str, headers: &[(&str, &str)]| {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{proxy}{path}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(common::empty()).unwrap()
    };
    let preflight = |origin| {
        [
            ("origin", origin),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type"),
        ]
    };
    for request in [
        request("GET", "/items/1", &[]),
        request("GET", "/me", &[("origin", APP)]),
        request("OPTIONS", "/items/1", &preflight(APP)),
        request("PUT", "/items/1", &[("origin", APP)]),
        request("GET", "/items/1", &[("origin", APP)]),
        request("GET", "/me", &[("origin", EVIL)]),
        request("OPTIONS", "/items/1", &preflight(EVIL)),
    ] {
        send(&client, request).await;
    }
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = common::get(&format!("http://{admin}/metrics"), &[]).await;
        if common::sample(metrics.text(), "corsair_open_connections") == 0.0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "connections still open:\n{}",
            metrics.text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------

/// A line, and the form it is compared in.
#[derive(Clone, Debug)]
struct Line {
    text: String,
    key: String,
    elision: bool,
}

/// `lines` as compared: trailing spaces dropped, what varies normalised.
fn normalise(lines: &[String]) -> Vec<Line> {
    lines
        .iter()
        .map(|text| {
            let text = text.trim_end().to_owned();
            Line {
                key: key(&text),
                elision: text.trim() == "...",
                text,
            }
        })
        .collect()
}

/// What a line is compared as: the parts that change from run to run
/// replaced by placeholders.
fn key(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    // An HTTP date, as a transcript shows it (`< date: ...`).
    if let Some(rest) = trimmed.strip_prefix("< ")
        && rest.to_ascii_lowercase().starts_with("date:")
    {
        return format!("{indent}< date: <date>");
    }
    // A log line's timestamp: `2026-11-27T00:11:56.123456Z  INFO ...`.
    if let Some((first, rest)) = trimmed.split_once(' ')
        && first.len() >= 20
        && first.as_bytes()[4] == b'-'
        && first.as_bytes()[10] == b'T'
        && first.ends_with('Z')
    {
        return format!("{indent}<time> {rest}");
    }
    // A session token the seed API made up (`session=` and 32 hex digits).
    if let Some(at) = line.find("session=")
        && let Some(token) = line.get(at + 8..at + 40)
        && token.bytes().all(|byte| byte.is_ascii_hexdigit())
    {
        return format!("{}session=<token>{}", &line[..at], &line[at + 40..]);
    }
    // How long requests took.
    if (trimmed.starts_with("corsair_request_duration_seconds_sum ")
        || (trimmed.starts_with("corsair_request_duration_seconds_bucket{")
            && !trimmed.contains("+Inf")))
        && let Some((series, _)) = trimmed.rsplit_once(' ')
    {
        return format!("{indent}{series} <n>");
    }
    line.to_owned()
}

/// Whether `expected` (with its elisions) matches `actual`.
fn matches(expected: &[Line], actual: &[Line]) -> bool {
    // can[i][j]: expected[i..] matches actual[j..].
    let (n, m) = (expected.len(), actual.len());
    let mut can = vec![vec![false; m + 1]; n + 1];
    can[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            can[i][j] = if expected[i].elision {
                can[i + 1][j] || (j < m && can[i][j + 1])
            } else {
                j < m && expected[i].key == actual[j].key && can[i + 1][j + 1]
            };
        }
    }
    can[0][0]
}

/// What an edit of a block costs, for [`bless`] to find the smallest. A
/// line an elision stands for costs a little, so that an elision takes the
/// lines the README had left out and no more: a changed line next to one
/// is shown changed rather than hidden in it.
const ELIDED: usize = 1;
/// A line replaced by another, added or removed.
const EDIT: usize = 10;

/// `cost[i][j]`: the cheapest way to make `expected[i..]` match
/// `actual[j..]`.
fn alignment(expected: &[Line], actual: &[Line]) -> Vec<Vec<usize>> {
    let (n, m) = (expected.len(), actual.len());
    let mut cost = vec![vec![0_usize; m + 1]; n + 1];
    for (j, last) in cost[n].iter_mut().enumerate() {
        *last = (m - j) * EDIT;
    }
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            let next = cost[i + 1][j];
            cost[i][j] = if j == m {
                next + if expected[i].elision { 0 } else { EDIT }
            } else if expected[i].elision {
                next.min(cost[i][j + 1] + ELIDED)
            } else {
                let same = expected[i].key == actual[j].key;
                let replaced = cost[i + 1][j + 1] + if same { 0 } else { EDIT };
                replaced.min(next + EDIT).min(cost[i][j + 1] + EDIT)
            };
        }
    }
    cost
}

/// The block as it should be: `actual`, with `expected`'s elisions kept
/// (each standing for the actual lines that fit there) and `expected`'s
/// own text for every line that still matches (its `date:`, say).
fn bless(expected: &[Line], actual: &[Line]) -> Vec<String> {
    let cost = alignment(expected, actual);
    let (n, m) = (expected.len(), actual.len());
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        let here = cost[i][j];
        if i == n {
            out.push(actual[j].text.clone());
            j += 1;
        } else if expected[i].elision {
            out.push(expected[i].text.clone());
            // The lines the elision stands for.
            while j < m && cost[i + 1][j] != cost[i][j] {
                j += 1;
            }
            i += 1;
        } else if j < m && expected[i].key == actual[j].key && cost[i + 1][j + 1] == here {
            out.push(expected[i].text.clone());
            (i, j) = (i + 1, j + 1);
        } else if j < m && cost[i + 1][j + 1] + EDIT == here {
            // A line changed.
            out.push(actual[j].text.clone());
            (i, j) = (i + 1, j + 1);
        } else if cost[i + 1][j] + EDIT == here {
            // A line the binary no longer prints.
            i += 1;
        } else {
            // A line the README does not have.
            out.push(actual[j].text.clone());
            j += 1;
        }
    }
    out
}

/// The longest common subsequence of `a` and `b`: pairs of indices.
fn common_lines(a: &[String], b: &[String]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let mut length = vec![vec![0_usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            length[i][j] = if a[i] == b[j] {
                length[i + 1][j + 1] + 1
            } else {
                length[i + 1][j].max(length[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            pairs.push((i, j));
            (i, j) = (i + 1, j + 1);
        } else if length[i + 1][j] >= length[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

/// A diff of `old` and `new`: ` ` lines in both, `-` only in `old`, `+`
/// only in `new`, with three lines of context around each change.
fn diff(old: &[String], new: &[String]) -> String {
    let mut tagged: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    for (a, b) in common_lines(old, new)
        .into_iter()
        .chain([(old.len(), new.len())])
    {
        tagged.extend(old[i..a].iter().map(|line| ('-', line.as_str())));
        tagged.extend(new[j..b].iter().map(|line| ('+', line.as_str())));
        if a < old.len() {
            tagged.push((' ', old[a].as_str()));
        }
        (i, j) = (a + 1, b + 1);
    }
    let changed: Vec<usize> = (0..tagged.len()).filter(|&k| tagged[k].0 != ' ').collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= 3);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (tag, line)) in tagged.iter().enumerate() {
        if near(k) {
            if skipped {
                out.push_str("@@\n");
            }
            out.push_str(&format!("{tag}{line}\n"));
            skipped = false;
        } else {
            skipped = true;
        }
    }
    out
}

fn blessing() -> bool {
    std::env::var("CORSAIR_BLESS").is_ok_and(|value| !value.is_empty() && value != "0")
        || std::env::var("INSTA_UPDATE").is_ok_and(|value| value == "always")
}

#[test]
fn the_readme_examples_are_what_the_binary_prints() {
    let path = readme_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let found = blocks(&text);
    assert!(
        found.len() >= 8,
        "README.md has only {} generated blocks: did the markers go?",
        found.len()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Every block at once: the audit alone takes seconds.
    let outputs: Vec<Vec<String>> = std::thread::scope(|scope| {
        let runtime = &runtime;
        let handles: Vec<_> = found
            .iter()
            .map(|(block, _)| scope.spawn(move || scenario(block, runtime)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut failures = Vec::new();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Replaced from the last block up, so that earlier ranges stay valid.
    for ((block, body), output) in found.iter().zip(&outputs).rev() {
        let expected = normalise(&block.lines);
        let actual = normalise(output);
        if matches(&expected, &actual) {
            continue;
        }
        let blessed = bless(&expected, &actual);
        assert!(
            matches(&normalise(&blessed), &actual),
            "tests/readme.rs: blessing the block `{}` would not match:\n{}",
            block.name,
            blessed.join("\n")
        );
        failures.push(format!(
            "README.md:{}: the example `{}` is not what the binary prints \
             (- README, + what {BLESS} would write):\n{}",
            block.line,
            block.name,
            diff(&block.lines, &blessed)
        ));
        lines.splice(body.clone(), blessed);
    }
    failures.reverse();

    if failures.is_empty() {
        return;
    }
    if blessing() {
        let mut new = lines.join("\n");
        if text.ends_with('\n') {
            new.push('\n');
        }
        std::fs::write(&path, new).unwrap();
        eprintln!(
            "README.md: rewrote {} example(s); read `git diff README.md`:\n\n{}",
            failures.len(),
            failures.join("\n")
        );
        return;
    }
    panic!(
        "{}\nIf the binary is right, run `{BLESS}` and read the diff of README.md.",
        failures.join("\n")
    );
}

/// The comparison itself, on small cases.
#[test]
fn elisions_match_any_number_of_lines_and_are_kept_by_blessing() {
    let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<_>>();
    let expected = normalise(&lines("$ x\na\n...\nd\n"));
    assert!(matches(&expected, &normalise(&lines("$ x\na\nd"))));
    assert!(matches(&expected, &normalise(&lines("$ x\na\nb\nc\nd"))));
    assert!(!matches(&expected, &normalise(&lines("$ x\na\nb\nc"))));
    assert!(!matches(&expected, &normalise(&lines("$ x\nA\nb\nd"))));

    // A changed line before the elision is rewritten; the elision still
    // hides what it hid.
    let actual = normalise(&lines("$ x\nA\nb\nc\nd"));
    assert_eq!(bless(&expected, &actual), lines("$ x\nA\n...\nd"));
    // A new last line is added after the elision's anchor.
    let actual = normalise(&lines("$ x\na\nb\nd\ne"));
    assert_eq!(bless(&expected, &actual), lines("$ x\na\n...\nd\ne"));

    // A blank line before the elision's end does not pull the elided lines
    // into the block.
    let expected = normalise(&lines("$ x\nA 1\nfix\n...\n\nsummary"));
    let actual = normalise(&lines("$ x\nA 2\nfix\n\nB\nfix\n\nsummary"));
    assert_eq!(
        bless(&expected, &actual),
        lines("$ x\nA 2\nfix\n...\n\nsummary")
    );

    // What varies: the README's own line is kept.
    let expected = normalise(&lines("< date: Fri, 27 Nov 2026 00:11:56 GMT\n< x: 1"));
    let actual = normalise(&lines("< date: Sat, 05 Dec 2026 21:57:54 GMT\n< x: 2"));
    assert!(!matches(&expected, &actual));
    assert_eq!(
        bless(&expected, &actual),
        lines("< date: Fri, 27 Nov 2026 00:11:56 GMT\n< x: 2")
    );

    // Series of a family in another order: the proxy encodes them in a
    // fixed order, so another order is a difference.
    let reloads = |order: [&str; 2]| {
        let series = order.map(|result| format!("corsair_reloads_total{{result=\"{result}\"}} 0"));
        normalise(&lines(&format!(
            "# TYPE corsair_reloads counter\n{}",
            series.join("\n")
        )))
    };
    assert!(!matches(
        &reloads(["applied", "rejected"]),
        &reloads(["rejected", "applied"])
    ));

    assert_eq!(
        replace_address(
            "http://127.0.0.1:3000/ 127.0.0.1:30001",
            "127.0.0.1:3000",
            "h:1"
        ),
        "http://h:1/ 127.0.0.1:30001"
    );
    assert_eq!(
        words(r#"corsair x -H 'A: b' --o "c d" | jq '.a, .b'"#),
        [
            "corsair", "x", "-H", "A: b", "--o", "c d", "|", "jq", ".a, .b"
        ]
    );
}
