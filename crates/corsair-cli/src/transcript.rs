//! A request as the command line describes it (`--origin`, `--method`,
//! `--header`, `--credentials`, `--xhr`), and the [`Transcript`] of the
//! library's browser playing it, printed for people or as JSON. The
//! playing itself is [`corsair::browser::Browser::play`]: `corsair
//! explain` plays against a policy in memory, `corsair probe` against a
//! live server, and nothing here decides what a browser does.

use std::fmt::Write as _;

use corsair::browser::{
    Browser, Client, CorsRequest, Credentials, Exchange, Options, Page, Transcript, Transport,
    Verdict,
};
use http::header::HeaderMap;
use url::Url;

/// Plays `request` from `page` once, with Chromium's settings, against
/// `transport`.
///
/// # Errors
/// When the transport cannot carry an exchange.
pub async fn play<T: Transport>(
    page: Page,
    request: &CorsRequest,
    transport: &mut T,
) -> Result<Transcript, T::Error> {
    let mut browser = Browser::on(page).with_options(Options::chromium());
    browser.play(transport, request).await
}

/// What the command line says of a request: `--origin`, `--method`,
/// `--header`, `--credentials`, `--xhr`.
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
    /// The script sends cookies (`fetch(url, {credentials: "include"})`,
    /// `xhr.withCredentials = true`).
    #[arg(long)]
    pub credentials: bool,
    /// The script uses XMLHttpRequest rather than fetch (the wording of
    /// the console message differs).
    #[arg(long)]
    pub xhr: bool,
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
}

/// The transcript for people: each exchange, then the verdict with the
/// console message and the fix. `server` names who answered.
#[must_use]
pub fn render(transcript: &Transcript, server: &str) -> String {
    let mut out = String::new();
    let credentials = transcript
        .plan
        .as_ref()
        .is_some_and(|plan| plan.credentials_mode == Credentials::Include);
    let _ = writeln!(
        out,
        "A script on {} calls {} {} with {}{}.",
        transcript.origin,
        transcript.method,
        transcript.url,
        match transcript.client {
            Client::Fetch => "fetch",
            Client::XmlHttpRequest => "XMLHttpRequest",
        },
        if credentials {
            ", with credentials"
        } else {
            ""
        },
    );
    if let Some(plan) = &transcript.plan {
        out.push('\n');
        if !plan.cross_origin {
            let _ = writeln!(out, "Same origin: no CORS check applies.");
        } else if plan.preflight.is_some() && transcript.preflight_cached {
            let _ = writeln!(
                out,
                "1. The preflight cache holds an answer that covers this request: no preflight is sent."
            );
        } else if plan.preflight.is_some() {
            let _ = writeln!(out, "1. The browser sends a preflight first, because:");
            for reason in plan.preflight_reasons() {
                let _ = writeln!(out, "   - {reason}");
            }
        } else {
            let _ = writeln!(
                out,
                "No preflight: {} with only safelisted headers is a simple request.",
                plan.method
            );
        }
        for name in &plan.dropped_headers {
            let _ = writeln!(
                out,
                "   (the browser drops the header {name}: scripts may not set it)"
            );
        }
    }
    if let Some(preflight) = &transcript.preflight {
        out.push('\n');
        render_exchange(&mut out, preflight, server);
    }
    if let Some(actual) = &transcript.actual {
        out.push('\n');
        if transcript.preflight.is_some() {
            let _ = writeln!(out, "2. The actual request:");
        } else {
            let _ = writeln!(out, "The request:");
        }
        render_exchange(&mut out, actual, server);
    }
    out.push('\n');
    match &transcript.verdict {
        Verdict::Allowed {
            same_origin,
            readable,
        } => {
            let _ = writeln!(
                out,
                "Verdict: ALLOWED. The script reads the response{}.",
                if *same_origin { " (same origin)" } else { "" }
            );
            let names: Vec<&str> = readable.keys().map(http::HeaderName::as_str).collect();
            if !*same_origin {
                let _ = writeln!(
                    out,
                    "  headers the script can read: {}",
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
                    .actual
                    .as_ref()
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
        }
        Verdict::Redirected { status, location } => {
            let _ = writeln!(
                out,
                "Verdict: REDIRECTED. The {status} passes the CORS check, so the browser follows it to {location}."
            );
            let _ = writeln!(
                out,
                "  This verdict covers the redirect only: the script gets what {location} answers, \
                     which must pass the CORS check in turn. Run again with that URL."
            );
        }
        Verdict::Unsupported(what) => {
            let _ = writeln!(out, "Verdict: UNKNOWN. corsair does not model {what}.");
        }
        Verdict::Blocked(blocked) => {
            let _ = writeln!(out, "Verdict: BLOCKED.");
            let _ = writeln!(
                out,
                "  console: {}",
                blocked.console_message(&transcript.url, &transcript.origin, transcript.client)
            );
            match transcript.refusal() {
                Some(refusal) => {
                    let _ = writeln!(out, "  why: {refusal}");
                }
                None => {
                    let fix = transcript.fix().unwrap_or_else(|| blocked.fix());
                    let _ = writeln!(out, "  fix: {fix}");
                }
            }
        }
        _ => {
            let _ = writeln!(out, "Verdict: UNKNOWN to this version of corsair.");
        }
    }
    out
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

/// The transcript as JSON: `origin`, `method`, `url`, `preflight` and
/// `actual` (`request` and `answer`, or null), `allowed`, `verdict`
/// (`allowed`, `blocked`, `redirected` or `unsupported`), for a blocked
/// request `reason`, `console` and `fix`, for a redirect `status` and
/// `location`.
#[must_use]
pub fn to_json(transcript: &Transcript) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert("origin".into(), transcript.origin.clone().into());
    object.insert("method".into(), transcript.method.clone().into());
    object.insert("url".into(), transcript.url.clone().into());
    object.insert(
        "preflight".into(),
        transcript.preflight.as_ref().map(exchange_json).into(),
    );
    object.insert(
        "actual".into(),
        transcript.actual.as_ref().map(exchange_json).into(),
    );
    object.insert(
        "preflight_cached".into(),
        transcript.preflight_cached.into(),
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
                blocked
                    .console_message(&transcript.url, &transcript.origin, transcript.client)
                    .into(),
            );
            object.insert(
                "fix".into(),
                transcript.fix().unwrap_or_else(|| blocked.fix()).into(),
            );
            if let Some(refusal) = transcript.refusal() {
                object.insert("refusal".into(), refusal.into());
            }
        }
        Verdict::Redirected { status, location } => {
            object.insert("verdict".into(), "redirected".into());
            object.insert("status".into(), status.as_u16().into());
            object.insert("location".into(), location.clone().into());
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
    serde_json::Value::Object(object)
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

/// Prints `transcript` in `format` (`server` names who answered, for
/// people) and returns the exit code: 0 when the script reads the
/// response, 1 when it does not (blocked, or a redirect, which the verdict
/// covers only up to the redirect).
///
/// # Errors
/// When the JSON cannot be rendered.
pub fn report(
    transcript: &Transcript,
    format: crate::cli::OutputFormat,
    server: &str,
) -> anyhow::Result<std::process::ExitCode> {
    match format {
        crate::cli::OutputFormat::Human => print!("{}", render(transcript, server)),
        crate::cli::OutputFormat::Json => {
            let json = serde_json::to_string_pretty(&to_json(transcript))
                .map_err(|error| anyhow::anyhow!("cannot render JSON: {error}"))?;
            println!("{json}");
        }
    }
    Ok(if transcript.allowed() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}
