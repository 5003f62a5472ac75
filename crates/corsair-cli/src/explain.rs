//! `corsair explain`: what a browser would do with one request against the
//! policy in a file, offline: the preflight it sends (or why none), what the
//! policy answers, and the verdict with the reason and the fix.

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::ExitCode;

use corsair::browser::{Incoming, Outgoing, Transport};
use corsair::policy::{Decision, OriginRefusal, Policy, Refusal};
use http::{HeaderMap, Method, StatusCode};

use crate::cli::OutputFormat;
use crate::policy_file::PolicyFile;
use crate::proxy::routes::RouteTable;
use crate::transcript::{self, RequestArgs};

/// The options of `corsair explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A proxy file or a bare policy (TOML, JSON or YAML).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// The URL the script calls: absolute `http(s)://...`, or a path
    /// (`/items/1`) on the default address, which is the proxy's own for a
    /// proxy file (the path picks the route), else
    /// `https://api.example.com/`. Without it, `/` on that address.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The request.
    #[command(flatten)]
    pub request: RequestArgs,
    /// `human` or `json`.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,
}

/// A server made of policies alone: preflights get the policy's answer,
/// actual requests an empty `200` with the policy's headers applied.
#[derive(Debug)]
pub struct PolicyServer {
    routes: RouteTable,
    proxy_file: bool,
}

impl PolicyServer {
    /// A server answering with the policies of `file`.
    #[must_use]
    pub fn new(file: &PolicyFile) -> Self {
        PolicyServer {
            routes: file.routes(),
            proxy_file: matches!(file, PolicyFile::Proxy(_)),
        }
    }

    async fn answer(
        policy: &Policy,
        section: &str,
        method: &Method,
        headers: &HeaderMap,
    ) -> Incoming {
        // An origin the lists do not name goes to the origin source, as in
        // the proxy.
        let decision = match policy.check(method, headers) {
            Decision::Lookup(lookup) => {
                let resolved = lookup.resolve().await;
                policy.check_request_resolved(method.as_str(), headers, &resolved)
            }
            decision => decision,
        };
        let refusal = decision
            .refusal()
            .map(|refusal| explain_refusal(&refusal, section, headers));
        let response = match decision {
            Decision::Preflight(preflight) => Incoming::new(
                policy.preflight_status(&preflight),
                policy.preflight_headers(&preflight),
            ),
            Decision::Forbidden(refusal) => Incoming::new(
                StatusCode::FORBIDDEN,
                policy.forbidden_response::<()>(&refusal).headers().clone(),
            ),
            Decision::Actual(actual) => {
                let mut headers = HeaderMap::new();
                policy.apply(&actual, &mut headers);
                Incoming::new(StatusCode::OK, headers)
            }
            // Decided again with the source's answer: never looked up twice.
            Decision::Lookup(_) => Incoming::new(StatusCode::FORBIDDEN, HeaderMap::new()),
        };
        match refusal {
            Some(refusal) => response.with_refusal(refusal),
            None => response,
        }
    }
}

impl Transport for PolicyServer {
    type Error = Infallible;

    async fn exchange(&mut self, request: &Outgoing) -> Result<Incoming, Infallible> {
        let (route, policy) = self
            .routes
            .route_for(request.url.host_str(), request.url.path());
        let section = match route {
            Some(route) => route.describe(),
            None if self.proxy_file => "[cors]".to_owned(),
            None => "the policy".to_owned(),
        };
        // Planned requests carry valid methods; anything else is answered
        // as the policy would answer an unknown method.
        let method = Method::from_bytes(request.method.as_bytes()).unwrap_or(Method::GET);
        Ok(Self::answer(policy, &section, &method, &request.headers_with_host()).await)
    }
}

/// Why the policy refused, and the change to the file that would allow the
/// request.
fn explain_refusal(refusal: &Refusal<'_>, section: &str, headers: &HeaderMap) -> String {
    let origin = headers
        .get(http::header::ORIGIN)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    match refusal {
        Refusal::Origin(OriginRefusal::NotAllowed) => format!(
            "the origin {origin} is not allowed by {section}: add \"{origin}\" to its allow_origins \
             if that page may read the answers"
        ),
        Refusal::Origin(OriginRefusal::Null) => format!(
            "{section} never allows the origin `null` (sandboxed iframes, file: pages, some \
             redirects): any site can send it; serve the page from a real origin"
        ),
        Refusal::MethodNotAllowed(method) => format!(
            "the method {method} is not allowed by {section}: add \"{method}\" to its allow_methods"
        ),
        Refusal::HeaderNotAllowed(name) => format!(
            "the header {name} is not allowed by {section}: add \"{name}\" to its allow_headers"
        ),
        Refusal::CrossOriginRequest { .. } => format!(
            "cross_origin_protection in {section} refuses an unsafe-method request from another \
             site or origin that the policy does not allow (the cross-site form POST that CORS \
             alone lets through): add \"{origin}\" to its allow_origins if that page may send it"
        ),
        Refusal::WebSocketOrigin(_) => format!(
            "websocket_origins = \"enforce\" in {section} refuses a WebSocket handshake from an \
             origin that is neither allowed nor the request's own: add \"{origin}\" to its \
             allow_origins if that page may open one"
        ),
        other => format!("{section} refuses: {other}"),
    }
}

/// Runs `corsair explain`: exit 0 when the browser allows the request, 1
/// when it blocks it.
///
/// # Errors
/// When the file is invalid or the arguments do not describe a request.
pub async fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let file = PolicyFile::load(&args.config)?;
    // The address a request goes to by default: the proxy's own, or a
    // stand-in API for a bare policy. A `--url` path is a path on it.
    let base = match &file {
        PolicyFile::Proxy(settings) => format!(
            "{}://{}/",
            if settings.tls.is_some() {
                "https"
            } else {
                "http"
            },
            settings.listen
        ),
        PolicyFile::Policy(_) => "https://api.example.com/".to_owned(),
    };
    let base = url::Url::parse(&base).map_err(|error| anyhow::anyhow!("{base}: {error}"))?;
    let url = args.url.as_deref().unwrap_or("/");
    let mut server = PolicyServer::new(&file);
    let transcripts = args.request.play(url, Some(&base), &mut server).await?;
    // A route in report-only mode answers nothing yet: say so, since what
    // the transcript shows is the answer it will give once enforced.
    if let Ok(target) = base.join(url) {
        let (route, policy) = server.routes.route_for(target.host_str(), target.path());
        if policy.report_only() {
            let section = match route {
                Some(route) => route.describe(),
                None if server.proxy_file => "[cors]".to_owned(),
                None => "the policy".to_owned(),
            };
            eprintln!(
                "note: {section} is in report-only mode: the application's own CORS answers are \
                 served, and what follows is what the policy will answer once mode = \"enforce\""
            );
        }
    }
    transcript::report(&transcripts, args.format, "The policy")
}
