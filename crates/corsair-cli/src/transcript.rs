//! A request as the command line describes it (`--origin`, `--method`,
//! `--header`, `--credentials`, `--xhr`, `--browser`), and the
//! [`Transcript`]s of the library's browser playing it in each engine,
//! printed for people or as JSON. The playing itself is
//! [`corsair::browser::play_in_each`]: `corsair explain` plays against a
//! policy in memory, `corsair probe` against a live server, and nothing
//! here decides what a browser does.

use std::fmt::Write as _;

use corsair::browser::{
    Client, CookieFate, CookieReport, CorsRequest, Credentials, Engine, Exchange, Hop, Page,
    Transcript, Transport, Verdict, play_in_each,
};
use http::header::HeaderMap;
use url::Url;

/// The engines `--browser` names: one, or `all`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Engines(pub Vec<Engine>);

impl Engines {
    /// Reads `chromium`, `firefox`, `webkit` or `all`.
    ///
    /// # Errors
    /// A sentence naming the four spellings.
    pub fn parse(name: &str) -> Result<Self, String> {
        if name.eq_ignore_ascii_case("all") {
            return Ok(Engines(Engine::ALL.to_vec()));
        }
        name.parse::<Engine>()
            .map(|engine| Engines(vec![engine]))
            .map_err(|error| format!("{error}, or all"))
    }
}

/// What the command line says of a request: `--origin`, `--method`,
/// `--header`, `--data`, `--credentials`, `--xhr`, `--browser`.
#[derive(Clone, Debug, clap::Args)]
pub struct RequestArgs {
    /// The origin of the page making the request, e.g.
    /// `https://app.example.com`, or `null`.
    #[arg(long, value_name = "ORIGIN")]
    pub origin: String,
    /// The method the script uses.
    #[arg(long, short = 'X', default_value = "GET", value_name = "METHOD")]
    pub method: String,
    /// A header the script sets, `Name: value`; repeat for more.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The request body, as the script sends it (a body on `GET` or `HEAD`
    /// is the `TypeError` a script gets).
    #[arg(long, short = 'd', value_name = "BODY")]
    pub data: Option<String>,
    /// The script sends cookies (`fetch(url, {credentials: "include"})`,
    /// `xhr.withCredentials = true`).
    #[arg(long)]
    pub credentials: bool,
    /// The script uses XMLHttpRequest rather than fetch (the wording of
    /// the console message differs).
    #[arg(long)]
    pub xhr: bool,
    /// Which browser engine's rules to play: `chromium`, `firefox`,
    /// `webkit`, or `all` of them (one verdict each).
    #[arg(long, value_name = "ENGINE", default_value = "all", value_parser = Engines::parse)]
    pub browser: Engines,
}

impl RequestArgs {
    /// The page and the request these arguments describe, for a request
    /// to `url` (see [`crate::target::url`] for what `base` allows).
    ///
    /// # Errors
    /// A sentence when the origin, the URL or a header does not read.
    pub fn request(&self, url: &str, base: Option<&Url>) -> Result<(Page, CorsRequest), String> {
        let page = if self.origin == "null" {
            Page::opaque()
        } else {
            let origin = crate::target::origin("--origin", &self.origin)?;
            Page::new(&origin)
                .map_err(|blocked| format!("--origin {:?}: {blocked}", self.origin))?
        };
        let url = crate::target::url(url, base)?;
        let mut request = CorsRequest::new(self.method.clone(), url.as_str());
        for header in &self.headers {
            let Some((name, value)) = header.split_once(':') else {
                return Err(format!("--header {header:?} must be written 'Name: value'"));
            };
            request = request.header(name.trim(), value.trim().as_bytes().to_vec());
        }
        if let Some(data) = &self.data {
            request = request.body(data.clone());
        }
        if self.credentials {
            request = request.credentials(Credentials::Include);
        }
        let client = if self.xhr {
            Client::XmlHttpRequest
        } else {
            Client::Fetch
        };
        Ok((page, request.client(client)))
    }

    /// Plays the request these arguments describe against `transport`, once
    /// per engine named by `--browser`.
    ///
    /// # Errors
    /// A sentence when the arguments do not describe a request, or the
    /// transport's error.
    pub async fn play<T: Transport>(
        &self,
        url: &str,
        base: Option<&Url>,
        transport: &mut T,
    ) -> anyhow::Result<Vec<Transcript>>
    where
        T::Error: std::fmt::Display,
    {
        let (page, request) = self.request(url, base).map_err(anyhow::Error::msg)?;
        play_in_each(&self.browser.0, &page, &request, transport)
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))
    }
}

/// The engines' names as people read them: "Chromium", "Chromium and
/// Firefox", "Chromium, Firefox and WebKit".
fn engine_list(engines: &[Engine]) -> String {
    let names: Vec<&str> = engines.iter().map(|engine| engine.product()).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The transcripts for people: each request and answer (once for the
/// engines that made the same ones), what became of the cookies, then one
/// verdict per engine, collapsed where they agree, with each engine's
/// console message and the fix. `server` names who answered.
#[must_use]
pub fn render(transcripts: &[Transcript], server: &str) -> String {
    let mut out = String::new();
    let Some(first) = transcripts.first() else {
        return out;
    };
    let credentials = first
        .plan()
        .is_some_and(|plan| plan.credentials_mode == Credentials::Include);
    let _ = writeln!(
        out,
        "A script on {} calls {} {} with {}{}.",
        first.origin,
        first.method,
        first.url,
        match first.client {
            Client::Fetch => "fetch",
            Client::XmlHttpRequest => "XMLHttpRequest",
        },
        if credentials {
            ", with credentials"
        } else {
            ""
        },
    );

    // The requests, once per group of engines that made the same ones.
    let wires = group(transcripts, |a, b| a.hops == b.hops);
    for (engines, transcript) in &wires {
        if wires.len() > 1 {
            let _ = writeln!(out, "\nIn {}:", engine_list(engines));
        }
        render_hops(&mut out, transcript, server);
    }

    render_cookies(&mut out, transcripts);

    out.push('\n');
    render_verdicts(&mut out, transcripts);
    out
}

/// Groups `transcripts` by `same`, keeping their order: each group's
/// engines and its first transcript.
fn group(
    transcripts: &[Transcript],
    same: impl Fn(&Transcript, &Transcript) -> bool,
) -> Vec<(Vec<Engine>, &Transcript)> {
    let mut groups: Vec<(Vec<Engine>, &Transcript)> = Vec::new();
    for transcript in transcripts {
        match groups.iter_mut().find(|(_, first)| same(first, transcript)) {
            Some((engines, _)) => engines.push(transcript.engine),
            None => groups.push((vec![transcript.engine], transcript)),
        }
    }
    groups
}

fn render_hops(out: &mut String, transcript: &Transcript, server: &str) {
    let mut step = 0;
    for (index, hop) in transcript.hops.iter().enumerate() {
        let plan = &hop.plan;
        out.push('\n');
        if index > 0 {
            let _ = writeln!(
                out,
                "The browser follows the redirect to {}{}.",
                plan.url,
                if plan.tainted_origin {
                    ", with `Origin: null`: the chain went from one origin to another that is not the page's"
                } else {
                    ""
                }
            );
        }
        if !plan.cross_origin {
            let _ = writeln!(out, "Same origin: no CORS check applies.");
        } else if plan.preflight.is_some() && hop.preflight_cached {
            step += 1;
            let _ = writeln!(
                out,
                "{step}. The preflight cache holds an answer that covers this request: no preflight is sent."
            );
        } else if plan.preflight.is_some() {
            step += 1;
            let _ = writeln!(out, "{step}. The browser sends a preflight first, because:");
            for reason in plan.preflight_reasons() {
                let _ = writeln!(out, "   - {reason}");
            }
        } else if index == 0 {
            let _ = writeln!(
                out,
                "No preflight: {} with only safelisted headers is a simple request.",
                plan.method
            );
        }
        if index == 0 {
            for name in &plan.dropped_headers {
                let _ = writeln!(
                    out,
                    "   (the browser drops the header {name}: scripts may not set it)"
                );
            }
        }
        if let Some(preflight) = &hop.preflight {
            out.push('\n');
            render_exchange(out, preflight, server);
        }
        if let Some(actual) = &hop.actual {
            out.push('\n');
            if hop.preflight.is_some() || hop.preflight_cached {
                step += 1;
                let _ = writeln!(out, "{step}. The actual request:");
            } else {
                let _ = writeln!(out, "The request:");
            }
            render_exchange(out, actual, server);
        }
    }
}

fn render_exchange(out: &mut String, exchange: &Exchange, server: &str) {
    let request = &exchange.request;
    let _ = writeln!(out, "   > {} {}", request.method, request.target());
    for (name, value) in &request.headers {
        let _ = writeln!(
            out,
            "   > {name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    let response = &exchange.response;
    let _ = writeln!(out, "   {server} answers:");
    let _ = writeln!(out, "   < {}", response.status);
    for (name, value) in &response.headers {
        let _ = writeln!(
            out,
            "   < {name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
}

/// What each engine did with each cookie, for credentialed requests: one
/// line for the engines that store it and send it back, one per engine
/// otherwise, each with its reason.
fn render_cookies(out: &mut String, transcripts: &[Transcript]) {
    let mut names: Vec<&str> = Vec::new();
    for transcript in transcripts {
        for cookie in &transcript.cookies {
            if !names.contains(&cookie.name.as_str()) {
                names.push(&cookie.name);
            }
        }
    }
    if names.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nCookies the responses set:");
    for name in names {
        let _ = writeln!(out, "   {name}:");
        let fates: Vec<&CookieReport> = transcripts
            .iter()
            .flat_map(|transcript| transcript.cookies.iter().filter(|c| c.name == name))
            .collect();
        let kept: Vec<Engine> = fates
            .iter()
            .filter(|cookie| {
                cookie.fate
                    == CookieFate::Stored {
                        partitioned: false,
                        sent_back: true,
                    }
            })
            .map(|cookie| cookie.engine)
            .collect();
        let mut kept = kept;
        kept.dedup();
        if !kept.is_empty() {
            let _ = writeln!(
                out,
                "   - stored and sent back with credentialed requests: {}",
                engine_list(&kept)
            );
        }
        for cookie in fates.iter().filter(|cookie| !kept.contains(&cookie.engine)) {
            let what = match &cookie.fate {
                CookieFate::Stored { .. } => "stored",
                CookieFate::Deleted => "deleted",
                CookieFate::Refused(_) => "REFUSED",
                _ => "unknown",
            };
            let _ = writeln!(
                out,
                "   - {what} by {}: {}",
                cookie.engine.product(),
                cookie.why
            );
        }
    }
}

/// The verdicts: allowed and blocked engines named, each blocking engine's
/// console message, and the fix.
fn render_verdicts(out: &mut String, transcripts: &[Transcript]) {
    let outcome = |transcript: &Transcript| match &transcript.verdict {
        Verdict::Allowed { .. } => "ALLOWED",
        Verdict::Blocked(_) => "BLOCKED",
        _ => "UNKNOWN",
    };
    // The summary line names each outcome once; the details below are
    // grouped further, so that engines blocking for different reasons, or
    // letting the script read different headers, each get their own.
    let outcomes = group(transcripts, |a, b| outcome(a) == outcome(b));
    let summary: Vec<String> = outcomes
        .iter()
        .map(|(engines, transcript)| format!("{} in {}", outcome(transcript), engine_list(engines)))
        .collect();
    let _ = writeln!(out, "Verdict: {}.", summary.join("; "));
    let details = |transcript: &Transcript| match &transcript.verdict {
        Verdict::Allowed { readable, .. } => {
            let names: Vec<&str> = readable.keys().map(http::HeaderName::as_str).collect();
            format!("allowed {}", names.join(","))
        }
        Verdict::Blocked(blocked) => format!(
            "blocked {}",
            transcript.refusal().map_or_else(
                || transcript.fix().unwrap_or_else(|| blocked.fix()),
                str::to_owned
            )
        ),
        other => format!("{other:?}"),
    };
    let groups = group(transcripts, |a, b| details(a) == details(b));
    for (engines, transcript) in &groups {
        match &transcript.verdict {
            Verdict::Allowed {
                same_origin,
                readable,
            } => {
                if *same_origin {
                    let _ = writeln!(
                        out,
                        "  {}: the script reads the response (same origin).",
                        engine_list(engines)
                    );
                    continue;
                }
                let names: Vec<&str> = readable.keys().map(http::HeaderName::as_str).collect();
                let _ = writeln!(
                    out,
                    "  {}: the script reads the response; headers it can read: {}",
                    engine_list(engines),
                    if names.is_empty() {
                        "only the safelisted ones".to_owned()
                    } else {
                        names.join(", ")
                    }
                );
                // Exposed names this response does not carry: readable
                // when the real response has them (explain's answer has no
                // application behind it).
                let exposed: Vec<String> = transcript
                    .last_hop()
                    .and_then(|hop| hop.actual.as_ref())
                    .and_then(|actual| {
                        corsair::browser::header_list(
                            &actual.response.headers,
                            &http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
                        )
                    })
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|name| name != "*" && !names.contains(&name.as_str()))
                    .collect();
                if !exposed.is_empty() {
                    let _ = writeln!(
                        out,
                        "  and, when the response has them (Access-Control-Expose-Headers): {}",
                        exposed.join(", ")
                    );
                }
            }
            Verdict::Blocked(_) => {
                for transcript in transcripts
                    .iter()
                    .filter(|transcript| engines.contains(&transcript.engine))
                {
                    let console = transcript.console_message().unwrap_or_default();
                    let label = format!("{} console: ", transcript.engine.product());
                    let indent = " ".repeat(label.len() + 2);
                    let console = console.replace('\n', &format!("\n{indent}"));
                    let _ = writeln!(out, "  {label}{console}");
                }
                match transcript.refusal() {
                    Some(refusal) => {
                        let _ = writeln!(out, "  why: {refusal}");
                    }
                    None => {
                        if let Some(fix) = transcript.fix() {
                            let _ = writeln!(out, "  fix: {fix}");
                        }
                    }
                }
            }
            Verdict::Unsupported(what) => {
                let _ = writeln!(out, "  corsair does not model {what}.");
            }
            _ => {
                let _ = writeln!(out, "  a verdict this version of corsair cannot print.");
            }
        }
    }
}

/// One transcript as JSON: `browser`, `origin`, `method`, `url`,
/// `preflight` and `actual` of the last request (`request` and `answer`, or
/// null), `hops` (every request, redirects included, each with `url`,
/// `preflight`, `preflight_cached` and `actual`), `allowed`, `verdict`
/// (`allowed`, `blocked` or `unsupported`), for a blocked request `reason`,
/// `console` and `fix`, and `cookies`: one `{name, fate, stored,
/// partitioned, sent_back, why}` per `Set-Cookie` of a credentialed
/// request (`fate`: `stored`, `refused` or `deleted`).
#[must_use]
pub fn to_json(transcript: &Transcript) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert("browser".into(), transcript.engine.name().into());
    object.insert("origin".into(), transcript.origin.clone().into());
    object.insert("method".into(), transcript.method.clone().into());
    object.insert("url".into(), transcript.url.clone().into());
    let last = transcript.last_hop();
    object.insert(
        "preflight".into(),
        last.and_then(|hop| hop.preflight.as_ref())
            .map(exchange_json)
            .into(),
    );
    object.insert(
        "actual".into(),
        last.and_then(|hop| hop.actual.as_ref())
            .map(exchange_json)
            .into(),
    );
    object.insert(
        "preflight_cached".into(),
        last.is_some_and(|hop| hop.preflight_cached).into(),
    );
    object.insert(
        "hops".into(),
        transcript.hops.iter().map(hop_json).collect(),
    );
    object.insert("allowed".into(), transcript.allowed().into());
    match &transcript.verdict {
        Verdict::Allowed { readable, .. } => {
            object.insert("verdict".into(), "allowed".into());
            let names: Vec<&str> = readable.keys().map(http::HeaderName::as_str).collect();
            object.insert("readable_headers".into(), names.into());
        }
        Verdict::Blocked(blocked) => {
            object.insert("verdict".into(), "blocked".into());
            object.insert("reason".into(), blocked.reason().into());
            object.insert(
                "console".into(),
                transcript.console_message().unwrap_or_default().into(),
            );
            object.insert(
                "fix".into(),
                transcript.fix().unwrap_or_else(|| blocked.fix()).into(),
            );
            if let Some(refusal) = transcript.refusal() {
                object.insert("refusal".into(), refusal.into());
            }
        }
        Verdict::Unsupported(what) => {
            object.insert("verdict".into(), "unsupported".into());
            object.insert("unsupported".into(), (*what).into());
        }
        // A verdict this version of the command does not know yet.
        _ => {
            object.insert("verdict".into(), "unknown".into());
        }
    }
    let cookies: Vec<serde_json::Value> = transcript
        .cookies
        .iter()
        .map(|cookie| {
            let fate = match cookie.fate {
                CookieFate::Stored { .. } => "stored",
                CookieFate::Refused(_) => "refused",
                CookieFate::Deleted => "deleted",
                _ => "unknown",
            };
            serde_json::json!({
                "name": cookie.name,
                "fate": fate,
                "stored": cookie.stored(),
                "partitioned": cookie.partitioned(),
                "sent_back": cookie.sent_back(),
                "why": cookie.why,
            })
        })
        .collect();
    object.insert("cookies".into(), cookies.into());
    serde_json::Value::Object(object)
}

/// The JSON document of a run: one transcript's object when one engine was
/// named, `{"verdicts": {"chromium": {...}, ...}}` for several.
#[must_use]
pub fn document(transcripts: &[Transcript]) -> serde_json::Value {
    match transcripts {
        [one] => to_json(one),
        many => {
            let verdicts: serde_json::Map<String, serde_json::Value> = many
                .iter()
                .map(|transcript| (transcript.engine.name().to_owned(), to_json(transcript)))
                .collect();
            serde_json::json!({ "verdicts": verdicts })
        }
    }
}

fn hop_json(hop: &Hop) -> serde_json::Value {
    serde_json::json!({
        "url": hop.plan.url.as_str(),
        "origin": hop.plan.origin,
        "preflight": hop.preflight.as_ref().map(exchange_json),
        "preflight_cached": hop.preflight_cached,
        "actual": hop.actual.as_ref().map(exchange_json),
    })
}

fn exchange_json(exchange: &Exchange) -> serde_json::Value {
    let mut answer = serde_json::json!({
        "status": exchange.response.status.as_u16(),
        "headers": headers_json(&exchange.response.headers),
    });
    if let (Some(refusal), Some(object)) = (&exchange.response.refusal, answer.as_object_mut()) {
        object.insert("refusal".into(), refusal.clone().into());
    }
    serde_json::json!({
        "request": {
            "method": exchange.request.method,
            "url": exchange.request.url.as_str(),
            "headers": headers_json(&exchange.request.headers),
        },
        "answer": answer,
    })
}

/// Headers as `[name, value]` pairs, in order.
fn headers_json(headers: &HeaderMap) -> serde_json::Value {
    headers
        .iter()
        .map(|(name, value)| {
            serde_json::json!([name.as_str(), String::from_utf8_lossy(value.as_bytes())])
        })
        .collect()
}

/// Prints `transcripts` in `format` (`server` names who answered, for
/// people) and returns the exit code: 0 when every engine lets the script
/// read the response, 1 when one does not.
///
/// # Errors
/// When the JSON cannot be rendered.
pub fn report(
    transcripts: &[Transcript],
    format: crate::cli::OutputFormat,
    server: &str,
) -> anyhow::Result<std::process::ExitCode> {
    match format {
        crate::cli::OutputFormat::Human => print!("{}", render(transcripts, server)),
        crate::cli::OutputFormat::Json => {
            let json = serde_json::to_string_pretty(&document(transcripts))
                .map_err(|error| anyhow::anyhow!("cannot render JSON: {error}"))?;
            println!("{json}");
        }
    }
    Ok(
        if !transcripts.is_empty() && transcripts.iter().all(Transcript::allowed) {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::from(1)
        },
    )
}
