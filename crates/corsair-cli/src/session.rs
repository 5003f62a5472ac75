//! One script request, played the way a browser plays it, against any
//! server: the plan (is it cross-origin, does it need a preflight), the
//! preflight exchange and its check, the actual exchange and its check.
//! `corsair explain` plays it against a policy in memory, `corsair probe`
//! against a live server; both print the same [`Transcript`].

use std::fmt::Write as _;

use corsair::browser::{
    Blocked, Client, CorsRequest, Credentials, Options, Page, Plan, check_preflight, check_response,
};
use http::StatusCode;
use http::header::{HeaderMap, HeaderValue, ORIGIN};
use serde::Serialize;
use url::Url;

/// A request as it leaves the browser.
#[derive(Clone, Debug, Serialize)]
pub struct Outgoing {
    /// The method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// The headers the browser sends that matter to CORS (the script's,
    /// `Origin`, and a preflight's `Access-Control-Request-*`).
    #[serde(serialize_with = "serialize_headers")]
    pub headers: HeaderMap,
}

/// A response's status and headers.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    /// The status.
    #[serde(serialize_with = "serialize_status")]
    pub status: StatusCode,
    /// The headers.
    #[serde(serialize_with = "serialize_headers")]
    pub headers: HeaderMap,
    /// Why the server refused, when it can say (a policy in memory can).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// One request and its answer.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    /// What the browser sent.
    pub request: Outgoing,
    /// What came back.
    pub answer: Answer,
}

/// Where a request stopped or what the script gets.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// The script reads the response.
    Allowed {
        /// Whether the request was same-origin (no CORS at all).
        same_origin: bool,
        /// The response headers the script may read.
        readable: HeaderMap,
    },
    /// The browser refuses: before sending anything, at the preflight, or
    /// on the actual response.
    Blocked(Blocked),
}

/// A request played through: every exchange and the verdict.
#[derive(Clone, Debug)]
pub struct Transcript {
    /// The page's origin.
    pub origin: String,
    /// The script's request.
    pub method: String,
    /// The URL called.
    pub url: String,
    /// Which API the script used.
    pub client: Client,
    /// The plan, when the request could be made at all.
    pub plan: Option<Plan>,
    /// The preflight, when one was sent.
    pub preflight: Option<Exchange>,
    /// The actual request, when it was sent.
    pub actual: Option<Exchange>,
    /// The outcome.
    pub verdict: Verdict,
}

/// A server to play against.
pub trait Server {
    /// Why an exchange could not happen (no connection, for instance).
    type Error;

    /// Sends one request and returns the answer's status and headers.
    fn exchange(
        &mut self,
        request: &Outgoing,
    ) -> impl std::future::Future<Output = Result<Answer, Self::Error>> + Send;
}

/// Plays `request` from `page` against `server`.
///
/// # Errors
/// When the server cannot be reached.
pub async fn play<S: Server>(
    page: &Page,
    request: &CorsRequest,
    client: Client,
    options: &Options,
    server: &mut S,
) -> Result<Transcript, S::Error> {
    let mut transcript = Transcript {
        origin: page.origin().to_owned(),
        method: request.method().to_owned(),
        url: request.url().to_owned(),
        client,
        plan: None,
        preflight: None,
        actual: None,
        verdict: Verdict::Blocked(Blocked::InvalidUrl {
            url: request.url().to_owned(),
        }),
    };
    let plan = match page.plan(request, options) {
        Ok(plan) => plan,
        Err(blocked) => {
            transcript.verdict = Verdict::Blocked(blocked);
            return Ok(transcript);
        }
    };
    transcript.url = plan.url.to_string();

    if let Some(preflight) = &plan.preflight {
        let outgoing = Outgoing {
            method: "OPTIONS".to_owned(),
            url: preflight.url.to_string(),
            headers: preflight.http_headers().unwrap_or_default(),
        };
        let answer = server.exchange(&outgoing).await?;
        let checked = check_preflight(&plan, answer.status, &answer.headers, options);
        transcript.preflight = Some(Exchange {
            request: outgoing,
            answer,
        });
        if let Err(blocked) = checked {
            transcript.verdict = Verdict::Blocked(blocked);
            transcript.plan = Some(plan);
            return Ok(transcript);
        }
    }

    let mut headers = plan.headers.clone();
    // Browsers send `Origin` on cross-origin requests and on same-origin
    // ones other than GET and HEAD.
    if (plan.cross_origin || !matches!(plan.method.as_str(), "GET" | "HEAD"))
        && let Ok(origin) = HeaderValue::from_str(&plan.origin)
    {
        headers.insert(ORIGIN, origin);
    }
    let outgoing = Outgoing {
        method: plan.method.clone(),
        url: plan.url.to_string(),
        headers,
    };
    let answer = server.exchange(&outgoing).await?;
    transcript.verdict = match check_response(&plan, &answer.headers) {
        Ok(readable) => Verdict::Allowed {
            same_origin: !plan.cross_origin,
            readable,
        },
        Err(blocked) => Verdict::Blocked(blocked),
    };
    transcript.actual = Some(Exchange {
        request: outgoing,
        answer,
    });
    transcript.plan = Some(plan);
    Ok(transcript)
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
    /// The page, the request and the client these arguments describe, for
    /// a request to `url`.
    ///
    /// # Errors
    /// A sentence when the origin or a header does not read.
    pub fn request(&self, url: &str) -> Result<(Page, CorsRequest, Client), String> {
        let page = if self.origin == "null" {
            Page::opaque()
        } else {
            let origin = Url::parse(&self.origin)
                .map_err(|error| format!("--origin {:?} is not an origin: {error}", self.origin))?;
            if !matches!(origin.scheme(), "http" | "https")
                || origin.host_str().is_none()
                || origin.path() != "/"
                || origin.query().is_some()
            {
                return Err(format!(
                    "--origin {:?} is not an origin: write scheme://host[:port], like https://app.example.com",
                    self.origin
                ));
            }
            Page::new(&origin.origin().ascii_serialization())
                .map_err(|blocked| format!("--origin {:?}: {blocked}", self.origin))?
        };
        let mut request = CorsRequest::new(self.method.clone(), url.to_owned());
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
        Ok((page, request.client(client), client))
    }
}

impl Transcript {
    /// Whether the script gets the response.
    #[must_use]
    pub fn allowed(&self) -> bool {
        matches!(self.verdict, Verdict::Allowed { .. })
    }

    /// The transcript for people: each exchange, then the verdict with
    /// the console message and the fix.
    #[must_use]
    pub fn render(&self, server: &str) -> String {
        let mut out = String::new();
        let credentials = self
            .plan
            .as_ref()
            .is_some_and(|plan| plan.credentials_mode == Credentials::Include);
        let _ = writeln!(
            out,
            "A script on {} calls {} {} with {}{}.",
            self.origin,
            self.method,
            self.url,
            match self.client {
                Client::Fetch => "fetch",
                Client::XmlHttpRequest => "XMLHttpRequest",
            },
            if credentials {
                ", with credentials"
            } else {
                ""
            },
        );
        if let Some(plan) = &self.plan {
            out.push('\n');
            if !plan.cross_origin {
                let _ = writeln!(out, "Same origin: no CORS check applies.");
            } else if plan.preflight.is_some() {
                let _ = writeln!(out, "1. The browser sends a preflight first, because:");
                for reason in preflight_reasons(plan) {
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
        if let Some(preflight) = &self.preflight {
            out.push('\n');
            render_exchange(&mut out, preflight, server);
        }
        if let Some(actual) = &self.actual {
            out.push('\n');
            if self.preflight.is_some() {
                let _ = writeln!(out, "2. The actual request:");
            } else {
                let _ = writeln!(out, "The request:");
            }
            render_exchange(&mut out, actual, server);
        }
        out.push('\n');
        match &self.verdict {
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
                }
            }
            Verdict::Blocked(blocked) => {
                let _ = writeln!(out, "Verdict: BLOCKED.");
                let _ = writeln!(
                    out,
                    "  console: {}",
                    blocked.console_message(&self.url, &self.origin, self.client)
                );
                let refusal = [&self.actual, &self.preflight]
                    .into_iter()
                    .flatten()
                    .find_map(|exchange| exchange.answer.refusal.as_deref());
                match refusal {
                    Some(refusal) => {
                        let _ = writeln!(out, "  why: {refusal}");
                    }
                    None => {
                        let _ = writeln!(out, "  fix: {}", blocked.fix());
                    }
                }
            }
        }
        out
    }
}

/// Why a plan needs a preflight, one line per reason.
fn preflight_reasons(plan: &Plan) -> Vec<String> {
    let mut reasons = Vec::new();
    if plan.forced_preflight {
        reasons.push("the request uploads with progress listeners".to_owned());
    }
    if !matches!(plan.method.as_str(), "GET" | "HEAD" | "POST") {
        reasons.push(format!(
            "{} is not a simple method (GET, HEAD, POST)",
            plan.method
        ));
    }
    for name in &plan.unsafe_headers {
        let value = plan
            .headers
            .get(name.as_str())
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        reasons.push(format!("the header {name}: {value} is not CORS-safelisted"));
    }
    reasons
}

fn render_exchange(out: &mut String, exchange: &Exchange, server: &str) {
    let request = &exchange.request;
    let target = Url::parse(&request.url)
        .map(|url| match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        })
        .unwrap_or_else(|_| request.url.clone());
    let _ = writeln!(out, "   > {} {target}", request.method);
    for (name, value) in &request.headers {
        let _ = writeln!(
            out,
            "   > {name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    let answer = &exchange.answer;
    let _ = writeln!(out, "   {server} answers:");
    let _ = writeln!(out, "   < {}", answer.status);
    for (name, value) in &answer.headers {
        let _ = writeln!(
            out,
            "   < {name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
}

/// The transcript as JSON: `origin`, `method`, `url`, `preflight` and
/// `actual` (`request` and `answer`, or null), `allowed`, and for a blocked
/// request `reason`, `console` and `fix`.
#[must_use]
pub fn to_json(transcript: &Transcript) -> serde_json::Value {
    let mut value = serde_json::json!({
        "origin": transcript.origin,
        "method": transcript.method,
        "url": transcript.url,
        "preflight": transcript.preflight,
        "actual": transcript.actual,
        "allowed": transcript.allowed(),
    });
    if let (Verdict::Blocked(blocked), Some(object)) = (&transcript.verdict, value.as_object_mut())
    {
        object.insert("reason".into(), blocked.reason().into());
        object.insert(
            "console".into(),
            blocked
                .console_message(&transcript.url, &transcript.origin, transcript.client)
                .into(),
        );
        object.insert("fix".into(), blocked.fix().into());
        let refusal = [&transcript.actual, &transcript.preflight]
            .into_iter()
            .flatten()
            .find_map(|exchange| exchange.answer.refusal.clone());
        if let Some(refusal) = refusal {
            object.insert("refusal".into(), refusal.into());
        }
    }
    if let (Verdict::Allowed { readable, .. }, Some(object)) =
        (&transcript.verdict, value.as_object_mut())
    {
        let names: Vec<&str> = readable.keys().map(http::HeaderName::as_str).collect();
        object.insert("readable_headers".into(), names.into());
    }
    value
}

fn serialize_headers<S: serde::Serializer>(headers: &HeaderMap, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(headers.len()))?;
    for (name, value) in headers {
        seq.serialize_element(&[name.as_str(), &String::from_utf8_lossy(value.as_bytes())])?;
    }
    seq.end()
}

fn serialize_status<S: serde::Serializer>(status: &StatusCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.as_u16())
}

/// Prints `transcript` in `format` (`server` names who answered, for
/// people) and returns the exit code: 0 when the browser allows the
/// request, 1 when it blocks it.
///
/// # Errors
/// When the JSON cannot be rendered.
pub fn report(
    transcript: &Transcript,
    format: crate::cli::OutputFormat,
    server: &str,
) -> anyhow::Result<std::process::ExitCode> {
    match format {
        crate::cli::OutputFormat::Human => print!("{}", transcript.render(server)),
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
