//! The model's console lines (`corsair::browser::Blocked::console`, what
//! `Browser::fetch` puts in `BlockedRequest::console`) against what each
//! real engine's developer console prints, line for line, for a set of
//! blocked requests: one test per engine (`console_lines::chromium`,
//! `console_lines::firefox`, `console_lines::webkit`).
//!
//! A page on `http://localhost:P1` calls an API on `http://localhost:P2`
//! whose server is written with plain axum handlers (no corsair), each
//! path failing in its own way; `/hop` redirects to `http://localhost:P3`,
//! which answers without CORS headers. The model plays the same request
//! from the same page through the same `Router`, as a tower service.
//!
//! How each console is read (see `corsair_e2e::Browser::console` and
//! `corsair_e2e::MiniBrowserConsole`):
//! - Chromium: chromedriver's browser log (`goog:loggingPrefs`). The
//!   `network`-source line that follows every failed load (`Failed to
//!   load resource: net::ERR_FAILED`, which DevTools shows as `GET URL
//!   net::ERR_FAILED`) is not part of the CORS explanation the model
//!   writes, and is left out of the comparison.
//! - Firefox: the console service of the page's content process, read
//!   from the browser's chrome context (geckodriver
//!   `--allow-system-access`): every message of the page's window.
//! - WebKit: MiniBrowser by itself (under WebDriver its session is
//!   ephemeral, and WebKit never prints an ephemeral page's console),
//!   with `--enable-write-console-messages-to-stdout=true`, on a page that
//!   runs the same requests on its own between `console.log` markers;
//!   every message but the markers.
//!
//! Where the model's words are not yet the engine's, the real text is
//! listed in [`KNOWN_WORDING_GAPS`]: the test pins it, and fails when a
//! listed gap goes away (the model was fixed: remove the entry) or an
//! unlisted one appears. The table of every case (real and model) is
//! printed every time: run with `--nocapture` to see it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, Response, StatusCode};
use axum::response::Html;
use axum::routing::get;
use corsair::browser::{Browser as Model, Client, CorsRequest, Credentials, Engine, FetchError};
use corsair_e2e::{
    Browser, BrowserOptions, ConsoleLine, Listener, MiniBrowserConsole, blank_page, markdown_table,
    per_engine,
};
use serde_json::{Value, json};

per_engine!(console_lines);

// ---------------------------------------------------------------------------
// The API: one way to fail per path
// ---------------------------------------------------------------------------

/// An origin the page is not on.
const ELSEWHERE: &str = "https://app.example.com";

/// The API's answer to `request`; `other` is the origin of the server
/// without CORS headers that `/hop` redirects to. A path may start with
/// `/xhr`, for the `XMLHttpRequest` variants: the same answer on a URL of
/// their own. Every answer but `/plain`'s is the same on both servers.
fn answer(request: &Request, other: &str) -> Response<Body> {
    let origin = request
        .headers()
        .get("origin")
        .and_then(|origin| origin.to_str().ok())
        .unwrap_or("null")
        .to_owned();
    let preflight = request.method() == Method::OPTIONS;
    let path = request.uri().path();
    let path = path.strip_prefix("/xhr").unwrap_or(path);
    let preflighted = matches!(
        path,
        "/preflight-403" | "/preflight-404" | "/acam-missing" | "/acah-missing" | "/acam-invalid"
    );
    let (status, headers): (u16, Vec<(&str, String)>) = match (path, preflight) {
        // The simple requests: no preflight expected, any is refused.
        (_, true) if !preflighted => (403, vec![]),
        ("/no-acao", _) => (200, vec![]),
        ("/acao-mismatch", _) => (200, vec![("access-control-allow-origin", ELSEWHERE.into())]),
        ("/two-acao", _) => (
            200,
            vec![
                ("access-control-allow-origin", origin.clone()),
                ("access-control-allow-origin", ELSEWHERE.into()),
            ],
        ),
        ("/wildcard", _) => (
            200,
            vec![
                ("access-control-allow-origin", "*".into()),
                ("access-control-allow-credentials", "true".into()),
            ],
        ),
        ("/no-acac", _) => (200, vec![("access-control-allow-origin", origin.clone())]),
        ("/redirect-no-acao", _) => (302, vec![("location", "/landing".into())]),
        ("/landing", _) => (200, vec![("access-control-allow-origin", origin.clone())]),
        ("/hop", _) => (
            302,
            vec![
                ("location", format!("{other}/plain")),
                ("access-control-allow-origin", origin.clone()),
            ],
        ),
        ("/plain", _) => (200, vec![]),
        // Preflighted requests: the preflight fails, the actual request
        // would pass.
        ("/preflight-403", true) => (403, vec![]),
        ("/preflight-404", true) => (
            404,
            vec![
                ("access-control-allow-origin", origin.clone()),
                ("access-control-allow-methods", "PUT".into()),
            ],
        ),
        ("/acam-missing", true) => (
            204,
            vec![
                ("access-control-allow-origin", origin.clone()),
                ("access-control-allow-methods", "GET, POST".into()),
            ],
        ),
        ("/acah-missing", true) => (
            204,
            vec![
                ("access-control-allow-origin", origin.clone()),
                ("access-control-allow-headers", "content-type".into()),
            ],
        ),
        ("/acam-invalid", true) => (
            204,
            vec![
                ("access-control-allow-origin", origin.clone()),
                ("access-control-allow-methods", "PUT, (DELETE)".into()),
            ],
        ),
        (_, false) if preflighted => (200, vec![("access-control-allow-origin", origin.clone())]),
        _ => (404, vec![]),
    };
    let mut response = Response::new(Body::from(if preflight { "" } else { "hello" }));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        response
            .headers_mut()
            .append(name, HeaderValue::from_str(&value).unwrap());
    }
    response
}

/// The API: the hand-written failures of [`answer`], and under `/debug/`
/// corsair's own layer in debug mode for a policy that trusts `page` and
/// allows `PATCH` and `content-type` only, which answers a preflight refused
/// for its method or a header so that the console names it.
fn api_router(page: &str, other: &str) -> Router {
    let other = other.to_owned();
    let cors = corsair::Cors::new(corsair::Config {
        allow_origins: vec![page.to_owned()],
        allow_methods: vec!["PATCH".into()],
        allow_headers: vec!["content-type".into()],
        ..corsair::Config::default()
    })
    .unwrap();
    cors.set_debug(true);
    let debug = Router::new()
        .route("/debug/item", axum::routing::any(|| async { "debug" }))
        .layer(cors);
    Router::new()
        .merge(debug)
        .fallback(move |request: Request| {
            let response = answer(&request, &other);
            async move { response }
        })
}

// ---------------------------------------------------------------------------
// The requests
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct Scenario {
    name: &'static str,
    client: Client,
    method: &'static str,
    /// On the API.
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    /// `credentials: "include"`, or `withCredentials = true`.
    credentials: bool,
}

const fn fetch(name: &'static str, method: &'static str, path: &'static str) -> Scenario {
    Scenario {
        name,
        client: Client::Fetch,
        method,
        path,
        headers: &[],
        credentials: false,
    }
}

const fn xhr(name: &'static str, method: &'static str, path: &'static str) -> Scenario {
    Scenario {
        client: Client::XmlHttpRequest,
        ..fetch(name, method, path)
    }
}

impl Scenario {
    const fn include(mut self) -> Self {
        self.credentials = true;
        self
    }

    const fn headers(mut self, headers: &'static [(&'static str, &'static str)]) -> Self {
        self.headers = headers;
        self
    }

    fn url(&self, api: &str) -> String {
        format!("{api}{}", self.path)
    }

    /// The argument of [`RUN_SCENARIO`].
    fn to_json(self, api: &str) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), json!(value)))
            .collect();
        json!({
            "name": self.name,
            "client": match self.client { Client::Fetch => "fetch", _ => "xhr" },
            "method": self.method,
            "url": self.url(api),
            "headers": headers,
            "credentials": self.credentials,
        })
    }

    fn to_model(self, api: &str) -> CorsRequest {
        let mut request = CorsRequest::new(self.method, self.url(api))
            .client(self.client)
            .credentials(if self.credentials {
                Credentials::Include
            } else {
                Credentials::SameOrigin
            });
        for (name, value) in self.headers {
            request = request.header(*name, value.as_bytes().to_vec());
        }
        request
    }
}

const SCENARIOS: &[Scenario] = &[
    fetch("no ACAO on a simple GET", "GET", "/no-acao"),
    fetch("ACAO mismatch", "GET", "/acao-mismatch"),
    fetch("two ACAO lines", "GET", "/two-acao"),
    fetch("ACAO * with credentials", "GET", "/wildcard").include(),
    fetch("ACAC missing with credentials", "GET", "/no-acac").include(),
    fetch(
        "preflight 403 without CORS headers",
        "PUT",
        "/preflight-403",
    ),
    fetch("preflight 404 with CORS headers", "PUT", "/preflight-404"),
    fetch(
        "preflight: method missing from ACAM",
        "PUT",
        "/acam-missing",
    ),
    fetch(
        "preflight: header missing from ACAH",
        "GET",
        "/acah-missing",
    )
    .headers(&[("x-custom", "1")]),
    fetch("preflight: unparseable ACAM", "PUT", "/acam-invalid"),
    fetch("302 without ACAO", "GET", "/redirect-no-acao"),
    fetch("redirect to a server without CORS headers", "GET", "/hop"),
    xhr("XHR: no ACAO", "GET", "/xhr/no-acao"),
    xhr("XHR: ACAO * withCredentials", "GET", "/xhr/wildcard").include(),
    xhr("XHR: preflight 403", "PUT", "/xhr/preflight-403"),
    fetch(
        "corsair debug mode: a method it refuses",
        "PUT",
        "/debug/item",
    ),
    fetch(
        "corsair debug mode: a header it refuses",
        "PATCH",
        "/debug/item",
    )
    .headers(&[("x-custom", "1")]),
];

/// `runScenario(scenario)`: makes the request [`Scenario::to_json`]
/// describes and resolves to `"blocked"`, or `"read STATUS"` when the
/// script could read the response.
const RUN_SCENARIO: &str = r#"
async function runScenario(s) {
  if (s.client === "xhr") {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open(s.method, s.url);
      xhr.withCredentials = s.credentials;
      for (const [name, value] of Object.entries(s.headers)) xhr.setRequestHeader(name, value);
      xhr.onload = () => resolve("read " + xhr.status);
      xhr.onerror = () => resolve("blocked");
      xhr.send();
    });
  }
  try {
    const response = await fetch(s.url, {
      method: s.method, headers: s.headers, credentials: s.credentials ? "include" : "same-origin",
    });
    return "read " + response.status;
  } catch (error) {
    return "blocked";
  }
}
"#;

/// What the page of [`MiniBrowserConsole`] prints around each request.
const BEGIN: &str = "corsair-console: begin ";
const END: &str = "corsair-console: end ";
const DONE: &str = "corsair-console: done";

/// The page MiniBrowser opens: it runs every scenario in turn between
/// markers, waiting a little after each for the console to settle.
fn self_running_page(api: &str) -> String {
    let scenarios: Vec<Value> = SCENARIOS.iter().map(|s| s.to_json(api)).collect();
    let scenarios = serde_json::to_string(&scenarios)
        .unwrap()
        .replace("</", "<\\/");
    format!(
        r#"<!doctype html><html lang="en"><meta charset="utf-8"><title>console</title><body><script>
{RUN_SCENARIO}
(async () => {{
  for (const s of {scenarios}) {{
    console.log("{BEGIN}" + s.name);
    const outcome = await runScenario(s);
    await new Promise((resolve) => setTimeout(resolve, 150));
    console.log("{END}" + s.name + ": " + outcome);
  }}
  console.log("{DONE}");
}})();
</script></body></html>"#
    )
}

// ---------------------------------------------------------------------------
// The words the model is known not to have yet
// ---------------------------------------------------------------------------

/// (scenario, engine, what the engine's console prints): the model prints
/// something else. In the text, `{page}`, `{api}` and `{other}` stand for
/// the origins of the page, the API and the server without CORS headers;
/// lines are separated by `\n`.
#[rustfmt::skip]
const KNOWN_WORDING_GAPS: &[(&str, Engine, &str)] = &[];

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

struct Origins {
    page: String,
    api: String,
    other: String,
}

impl Origins {
    fn expand(&self, text: &str) -> String {
        text.replace("{page}", &self.page)
            .replace("{api}", &self.api)
            .replace("{other}", &self.other)
    }

    /// `text` with the origins written as placeholders, for
    /// [`KNOWN_WORDING_GAPS`].
    fn abstracted(&self, text: &str) -> String {
        let mut origins = [
            (&self.page, "{page}"),
            (&self.api, "{api}"),
            (&self.other, "{other}"),
        ];
        origins.sort_by_key(|(origin, _)| std::cmp::Reverse(origin.len()));
        origins
            .iter()
            .fold(text.to_owned(), |text, (origin, name)| {
                text.replace(origin.as_str(), name)
            })
    }
}

/// What the engine printed for one scenario, and what the script saw.
struct Real {
    lines: Vec<ConsoleLine>,
    outcome: String,
}

/// The lines compared with the model's: the engine's own messages, without
/// Chromium's `network` line for the failed load.
fn compared(engine: Engine, lines: &[ConsoleLine]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| !line.is_console_api())
        .filter(|line| !(engine == Engine::Chromium && line.source == "network"))
        .map(|line| line.text.clone())
        .collect()
}

async fn console_lines(engine: Engine) {
    let started = Instant::now();
    let (page, api, other) = (
        Listener::bind().await.unwrap(),
        Listener::bind().await.unwrap(),
        Listener::bind().await.unwrap(),
    );
    let origins = Origins {
        page: format!("http://localhost:{}", page.port()),
        api: format!("http://localhost:{}", api.port()),
        other: format!("http://localhost:{}", other.port()),
    };
    let router = api_router(&origins.page, &origins.other);
    let self_running = self_running_page(&origins.api);
    let _page = page.serve(
        Router::new()
            .route(
                "/self-running",
                get(move || {
                    let page = self_running.clone();
                    async move { Html(page) }
                }),
            )
            .merge(blank_page()),
    );
    let _api = api.serve(router.clone());
    let _other = other.serve(router.clone());

    let (launched, version, reals) = match engine {
        Engine::WebKit => webkit_consoles(&origins).await,
        _ => webdriver_consoles(engine, &origins).await,
    };
    let captured = started.elapsed();

    assert_eq!(reals.len(), SCENARIOS.len(), "not every scenario ran");
    for (name, _, _) in KNOWN_WORDING_GAPS {
        assert!(
            SCENARIOS.iter().any(|scenario| scenario.name == *name),
            "KNOWN_WORDING_GAPS names no scenario: {name:?}"
        );
    }
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (scenario, real) in SCENARIOS.iter().zip(&reals) {
        let mut model = Model::new(&origins.page).unwrap().with_engine(engine);
        let model_text = match model
            .fetch(&mut router.clone(), scenario.to_model(&origins.api))
            .await
        {
            Err(FetchError::Blocked(blocked)) => blocked.console,
            Ok(response) => format!("(the model lets the script read {})", response.status),
            Err(other) => format!("(the model failed: {other})"),
        };
        let real_text = compared(engine, &real.lines).join("\n");
        let known = KNOWN_WORDING_GAPS
            .iter()
            .find(|(name, gap_engine, _)| *name == scenario.name && *gap_engine == engine)
            .map(|(_, _, text)| origins.expand(text));
        let agrees = real_text == model_text;
        // corsair's debug mode must make the console name the fault, not
        // report a missing Access-Control-Allow-Origin.
        if let Some(named) = match scenario.name {
            "corsair debug mode: a method it refuses" => Some("Access-Control-Allow-Methods"),
            "corsair debug mode: a header it refuses" => Some("x-custom"),
            _ => None,
        } && (!real_text.contains(named) || real_text.contains("Allow-Origin"))
        {
            failures.push(format!(
                "{}: {}'s console does not name {named}: {real_text}",
                scenario.name,
                engine.product()
            ));
        }
        if real.outcome != "blocked" {
            failures.push(format!(
                "{}: {} did not block the request (the script saw {:?})",
                scenario.name,
                engine.product(),
                real.outcome
            ));
        }
        let left_out: Vec<&ConsoleLine> = real
            .lines
            .iter()
            .filter(|line| !line.is_console_api() && line.source == "network")
            .collect();
        if engine == Engine::Chromium
            && left_out
                .iter()
                .any(|line| line.text != "Failed to load resource: net::ERR_FAILED")
        {
            failures.push(format!(
                "{}: Chromium printed network lines other than the failed load: {left_out:?}",
                scenario.name
            ));
        }
        if real_text.is_empty() {
            failures.push(format!(
                "{}: {}'s console printed nothing (all it got: {:?})",
                scenario.name,
                engine.product(),
                real.lines
            ));
        }
        match &known {
            None if !agrees => failures.push(format!(
                "{}: {}'s console and the model differ; if the model is wrong, list it:\n    \
                 ({:?}, Engine::{engine:?}, {:?}),\n  the model prints:\n    {:?}",
                scenario.name,
                engine.product(),
                scenario.name,
                origins.abstracted(&real_text),
                origins.abstracted(&model_text),
            )),
            Some(_) if agrees => failures.push(format!(
                "{}: the model now prints {}'s words: remove the entry from KNOWN_WORDING_GAPS",
                scenario.name,
                engine.product()
            )),
            Some(listed) if *listed != real_text => failures.push(format!(
                "{}: {}'s console no longer prints what KNOWN_WORDING_GAPS says:\n    {:?}\n  \
                 it prints:\n    {:?}",
                scenario.name,
                engine.product(),
                origins.abstracted(listed),
                origins.abstracted(&real_text),
            )),
            _ => {}
        }
        rows.push(vec![
            scenario.name.to_owned(),
            origins.abstracted(&real_text).replace('\n', " ⏎ "),
            if agrees {
                "(same)".to_owned()
            } else {
                origins.abstracted(&model_text).replace('\n', " ⏎ ")
            },
            match (agrees, known.is_some()) {
                (true, _) => "yes".to_owned(),
                (false, true) => "known gap".to_owned(),
                (false, false) => "NO".to_owned(),
            },
        ]);
    }
    let mut report = format!(
        "{} {} ({} scenarios; browser started in {:.1?}, consoles captured in {:.1?}, total \
         {:.1?})\n",
        engine.product(),
        version,
        SCENARIOS.len(),
        launched,
        captured.saturating_sub(launched),
        started.elapsed()
    );
    report.push_str(&markdown_table(
        &["scenario", "the engine's console", "the model", "agree"],
        &rows,
    ));
    println!("{report}");
    if !failures.is_empty() {
        let mut message = String::new();
        for failure in &failures {
            writeln!(message, "- {failure}").unwrap();
        }
        panic!(
            "{} failures in {}:\n{message}",
            failures.len(),
            engine.product()
        );
    }
}

/// Chromium and Firefox: each request through WebDriver, then the console
/// read until it settles.
async fn webdriver_consoles(engine: Engine, origins: &Origins) -> (Duration, String, Vec<Real>) {
    let started = Instant::now();
    let browser = Browser::launch_with(engine, &BrowserOptions::default().capture_console())
        .await
        .unwrap();
    let launched = started.elapsed();
    browser.open(&origins.page).await.unwrap();
    // Whatever loading the page printed.
    browser.console().await.unwrap();
    let mut reals = Vec::new();
    for scenario in SCENARIOS {
        let outcome = browser
            .run(
                &format!("{RUN_SCENARIO}\nreturn runScenario(args[0]);"),
                vec![scenario.to_json(&origins.api)],
            )
            .await
            .unwrap();
        let lines = browser
            .console_settled(Duration::from_millis(150), Duration::from_secs(3))
            .await
            .unwrap();
        reals.push(Real {
            lines,
            outcome: outcome.as_str().unwrap_or_default().to_owned(),
        });
    }
    let version = browser.version().to_owned();
    browser.close().await.unwrap();
    (launched, version, reals)
}

/// WebKit: MiniBrowser runs every request itself; its console is split at
/// the markers.
async fn webkit_consoles(origins: &Origins) -> (Duration, String, Vec<Real>) {
    let started = Instant::now();
    let console = MiniBrowserConsole::open(&format!("{}/self-running", origins.page))
        .await
        .unwrap();
    let launched = started.elapsed();
    let lines = console
        .wait_for(DONE, Duration::from_secs(30))
        .await
        .unwrap();
    let mut reals = Vec::new();
    let mut current: Option<Real> = None;
    for line in lines {
        if line.is_console_api() {
            if line.text.starts_with(BEGIN) {
                current = Some(Real {
                    lines: Vec::new(),
                    outcome: String::new(),
                });
            } else if let Some(end) = line.text.strip_prefix(END) {
                let mut real = current.take().expect("an end marker without a beginning");
                real.outcome = end
                    .rsplit_once(": ")
                    .map(|(_, outcome)| outcome.to_owned())
                    .unwrap_or_default();
                reals.push(real);
            }
        } else if let Some(real) = current.as_mut() {
            real.lines.push(line);
        }
    }
    (launched, "(MiniBrowser)".to_owned(), reals)
}
