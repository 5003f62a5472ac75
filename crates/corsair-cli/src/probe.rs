//! `corsair probe`: the browser's side against a live server. corsair sends
//! the preflight a browser would send (when Fetch requires one), then the
//! actual request, follows its redirects as browsers do, checks each answer
//! as each engine does, and prints every exchange and the verdicts. Each
//! distinct request is sent once, whatever the number of engines.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use corsair::browser::{Incoming, Outgoing, Transport};
use http::{HeaderMap, Method};

use crate::cli::OutputFormat;
use crate::transcript::{self, RequestArgs};

/// The options of `corsair probe`.
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// The URL the script calls, absolute: `http://` or `https://`, never
    /// guessed.
    pub url: String,
    /// The request.
    #[command(flatten)]
    pub request: RequestArgs,
    /// How long each exchange may take.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub timeout: Duration,
    /// `human` or `json`.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,
}

/// A live server reached over HTTP(S), one exchange at a time: the client
/// follows no redirect itself, since the browser model decides whether and
/// how to follow each one (never for a preflight; with `Origin: null` after
/// a hop between foreign origins).
#[derive(Debug, Clone)]
pub struct HttpServer {
    client: reqwest::Client,
}

/// Why an exchange with a live server failed.
#[derive(Debug, thiserror::Error)]
#[error("{method} {url}: {message}")]
pub struct ExchangeError {
    /// The method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// What went wrong, with its causes.
    pub message: String,
}

impl HttpServer {
    /// A client with `timeout` per exchange.
    ///
    /// # Errors
    /// When the TLS stack cannot be set up.
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("corsair-probe/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(HttpServer { client })
    }

    /// Sends one request with `body` and reads the answer's status and
    /// headers (the body is discarded, up to 1 MiB, so that the connection
    /// can be reused).
    ///
    /// # Errors
    /// When the server cannot be reached or does not answer in time.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &HeaderMap,
        body: bytes::Bytes,
    ) -> Result<Incoming, ExchangeError> {
        let error = |message: String| ExchangeError {
            method: method.to_owned(),
            url: url.to_owned(),
            message,
        };
        let method_value = Method::from_bytes(method.as_bytes())
            .map_err(|_| error("not a method name".to_owned()))?;
        // Browsers that follow a redirect to `user:pw@host` do not turn the
        // user name into an Authorization header; the HTTP client would.
        let mut target =
            url::Url::parse(url).map_err(|parse| error(format!("not a URL: {parse}")))?;
        if !target.username().is_empty() || target.password().is_some() {
            let _ = target.set_username("");
            let _ = target.set_password(None);
        }
        let response = self
            .client
            .request(method_value, target)
            .headers(headers.clone())
            .body(body)
            .send()
            .await
            .map_err(|e| error(chain(&e)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut response = response;
        let mut read = 0usize;
        while read < 1 << 20 {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        Ok(Incoming::new(status, headers))
    }
}

impl Transport for HttpServer {
    type Error = ExchangeError;

    async fn exchange(&mut self, request: &Outgoing) -> Result<Incoming, ExchangeError> {
        self.send(
            &request.method,
            request.url.as_str(),
            &request.headers,
            request.body.clone(),
        )
        .await
    }
}

/// An error and its causes on one line.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Runs `corsair probe`: exit 0 when a browser would allow the request, 1
/// when it would block it, 2 when the server could not be reached.
///
/// # Errors
/// When the arguments do not describe a request.
pub async fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let mut server = HttpServer::new(args.timeout)?;
    let transcripts = args
        .request
        .play(&args.url, None, &mut server)
        .await
        .map_err(|error| error.context("could not probe"))?;
    transcript::report(&transcripts, args.format, "The server")
}
