//! One headless Chromium, driven through WebDriver, and the scripts run in it.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::driver::{CHROMIUM, Driver};

/// The flags every browser gets: headless, runnable as root, and quiet on
/// the network (no background requests, no component updates, no QUIC).
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-proxy-server",
];

/// JavaScript defined in every script that [`Browser::run`] runs, and in the
/// sandboxed frames of `probeInSandbox`:
///
/// - `probeFetch(url, init = {}, read = [])` calls `fetch(url, init)` and
///   resolves to a [`Probe`]: `{ok: true, status, body, headers}`, where
///   `headers` maps each name of `read` to what `response.headers.get`
///   returned (a string or `null`), or `{ok: false, error, message}` with the
///   name and message of the error the call rejected with (`TypeError` when
///   CORS blocks it). It never rejects.
/// - `probeXhr(method, url, {headers, body, withCredentials} = {}, read = [])`
///   does the same with `XMLHttpRequest`; a blocked request resolves to
///   `{ok: false, error: "error", status: 0}` (the `error` event), and a
///   successful one also has `all_headers`, what
///   `getAllResponseHeaders()` returned.
/// - `probeInSandbox(body, args = [], sandbox = "allow-scripts")` runs
///   `body` (the body of an async function with `args` in scope, as in
///   [`Browser::run`]) in a new `<iframe sandbox=... srcdoc=...>`, whose
///   origin is opaque (`null`), and resolves to what it returned, which the
///   frame posts to its parent. The frame has these helpers too.
pub const PRELUDE: &str = r#"
async function probeFetch(url, init = {}, read = []) {
  try {
    const response = await fetch(url, init);
    const headers = {};
    for (const name of read) headers[name] = response.headers.get(name);
    return { ok: true, status: response.status, body: await response.text(), headers };
  } catch (error) {
    return { ok: false, error: error.name, message: error.message };
  }
}
function probeXhr(method, url, options = {}, read = []) {
  const { headers = {}, body = null, withCredentials = false } = options;
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.withCredentials = withCredentials;
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.onload = () => {
      const readable = {};
      for (const name of read) readable[name] = xhr.getResponseHeader(name);
      resolve({ ok: true, status: xhr.status, body: xhr.responseText, headers: readable,
                all_headers: xhr.getAllResponseHeaders() });
    };
    xhr.onerror = (event) => resolve({ ok: false, error: event.type, status: xhr.status });
    xhr.send(body);
  });
}
function probeInSandbox(body, args = [], sandbox = "allow-scripts") {
  const helpers = [probeFetch, probeXhr, probeInSandbox].map(String).join("\n");
  const channel = "probe-" + Math.random().toString(36).slice(2);
  const script = helpers +
    "\n(async (args) => {\n" + body + "\n})(" + JSON.stringify(args) + ").then(" +
    "(value) => parent.postMessage({ channel: " + JSON.stringify(channel) +
    ", ok: value === undefined ? null : value }, '*'), " +
    "(error) => parent.postMessage({ channel: " + JSON.stringify(channel) +
    ", thrown: String((error && error.stack) || error) }, '*'));";
  return new Promise((resolve, reject) => {
    const frame = document.createElement("iframe");
    frame.setAttribute("sandbox", sandbox);
    const listener = (event) => {
      if (!event.data || event.data.channel !== channel) return;
      window.removeEventListener("message", listener);
      frame.remove();
      if ("thrown" in event.data) reject(new Error("in the sandboxed frame: " + event.data.thrown));
      else resolve(event.data.ok);
    };
    window.addEventListener("message", listener);
    frame.srcdoc = "<!doctype html><script>" + script.replace(/<\/(script)/gi, "<\\/$1") +
      "</" + "script>";
    document.body.appendChild(frame);
  });
}
"#;

/// What a script could read of a request made by `probeFetch` or
/// `probeXhr` (see [`PRELUDE`]); deserialize it from the value
/// [`Browser::run`] returns with `serde_json::from_value`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Probe {
    /// The script got a response (`false`: the browser blocked it, or the
    /// network failed).
    pub ok: bool,
    /// The response's status; `0` for a blocked `XMLHttpRequest`.
    #[serde(default)]
    pub status: Option<u16>,
    /// The response body as text.
    #[serde(default)]
    pub body: Option<String>,
    /// Each header name the probe was asked to read, and what the script
    /// read (`None`: `null`, the header was not exposed or not sent).
    #[serde(default)]
    pub headers: BTreeMap<String, Option<String>>,
    /// `getAllResponseHeaders()`, for `probeXhr` only.
    #[serde(default)]
    pub all_headers: Option<String>,
    /// The error's name (`TypeError` for `fetch`, `error` for
    /// `XMLHttpRequest`) when `ok` is `false`.
    #[serde(default)]
    pub error: Option<String>,
    /// The error's message, for `fetch`.
    #[serde(default)]
    pub message: Option<String>,
}

impl Probe {
    /// The body parsed as JSON.
    ///
    /// # Errors
    /// When there is no body or it is not JSON.
    pub fn json(&self) -> Result<Value> {
        let body = self.body.as_deref().context("the probe has no body")?;
        serde_json::from_str(body).with_context(|| format!("the body is not JSON: {body:?}"))
    }

    /// What the script read of header `name`, if the probe was asked to
    /// read it and it was not `null`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Option::as_deref)
    }
}

/// How to launch a [`Browser`].
#[derive(Clone, Debug)]
pub struct BrowserOptions {
    /// `--host-resolver-rules` entries, such as `MAP localhost 127.0.0.1`.
    /// The default maps `localhost` to `127.0.0.1`, where [`crate::serve`]
    /// listens, so that Chromium never tries `[::1]` first.
    pub host_rules: Vec<String>,
    /// More command-line flags for Chromium, after [`CHROMIUM_ARGS`].
    pub extra_args: Vec<String>,
    /// Chromium preferences (`goog:chromeOptions.prefs`). The default is
    /// `{"profile.cookie_controls_mode": 0}`: third-party cookies allowed,
    /// as in a desktop Chrome with default settings. Without it, headless
    /// Chromium 156 under chromedriver blocks them, so a cross-site
    /// credentialed request (`127.0.0.1` calling `localhost`) goes without
    /// cookies. Set the mode to `1` to test a browser that blocks them.
    pub prefs: serde_json::Map<String, Value>,
    /// How long a script run by [`Browser::run`] may take.
    pub script_timeout: Duration,
    /// How long [`Browser::open`] may wait for a page to load.
    pub page_load_timeout: Duration,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        Self {
            host_rules: vec!["MAP localhost 127.0.0.1".to_owned()],
            extra_args: Vec::new(),
            prefs: serde_json::Map::from_iter([(
                "profile.cookie_controls_mode".to_owned(),
                json!(0),
            )]),
            script_timeout: Duration::from_secs(15),
            page_load_timeout: Duration::from_secs(15),
        }
    }
}

impl BrowserOptions {
    /// Adds a rule that resolves `host` (a name, or a pattern such as
    /// `*.test`) to `ip`. A name other than `localhost`, `*.localhost` or a
    /// loopback address makes an origin that is not a secure context:
    /// `Secure` cookies are then refused over `http`.
    pub fn map_host(mut self, host: &str, ip: &str) -> Self {
        self.host_rules.push(format!("MAP {host} {ip}"));
        self
    }
}

/// A headless Chromium with a fresh profile, driven by its own
/// chromedriver. One per test: nothing (cookies, preflight cache) carries
/// over from one browser to another.
///
/// [`Browser::close`] ends it cleanly; dropping it (a test that panicked)
/// ends the session, kills chromedriver and the browser, and removes the
/// profile all the same.
#[derive(Debug)]
pub struct Browser {
    client: Client,
    session: String,
    closed: bool,
    // Dropped in this order: the session is ended in `drop`, then the
    // processes are killed, then the profile is removed.
    driver: Driver,
    profile: TempDir,
}

impl Browser {
    /// Launches a browser with the default [`BrowserOptions`].
    ///
    /// # Errors
    /// When Chromium or chromedriver is missing (the message says how to
    /// install them), or either fails to start.
    pub async fn launch() -> Result<Self> {
        Self::launch_with(&BrowserOptions::default()).await
    }

    /// Launches a browser: starts chromedriver, then a WebDriver session of
    /// Chromium with [`CHROMIUM_ARGS`], a new temporary `--user-data-dir`
    /// and the options' host rules and flags.
    ///
    /// # Errors
    /// As [`Browser::launch`].
    pub async fn launch_with(options: &BrowserOptions) -> Result<Self> {
        let driver = Driver::start().await?;
        let profile = tempfile::Builder::new()
            .prefix("corsair-e2e-profile-")
            .tempdir()
            .context("cannot create a temporary profile directory")?;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|&arg| arg.to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        if !options.host_rules.is_empty() {
            args.push(format!(
                "--host-resolver-rules={}",
                options.host_rules.join(",")
            ));
        }
        args.extend(options.extra_args.iter().cloned());

        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": CHROMIUM, "args": args, "prefs": options.prefs }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .map_err(|error| {
                anyhow!(
                    "chromedriver could not start Chromium: {error}\nchromedriver's log ends with:\n{}",
                    driver.log_tail()
                )
            })?;
        let session = client
            .session_id()
            .await?
            .context("chromedriver gave no session id")?;
        let browser = Self {
            client,
            session,
            closed: false,
            driver,
            profile,
        };
        browser
            .client
            .update_timeouts(TimeoutConfiguration::new(
                Some(options.script_timeout),
                Some(options.page_load_timeout),
                None,
            ))
            .await
            .context("cannot set the WebDriver timeouts")?;
        Ok(browser)
    }

    /// The fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The browser's profile directory (`--user-data-dir`).
    pub fn profile_dir(&self) -> &std::path::Path {
        self.profile.path()
    }

    /// Opens `url` in the current tab and waits until it has loaded.
    ///
    /// # Errors
    /// When the page does not load.
    pub async fn open(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("cannot open {url}"))
    }

    /// Runs `body` in the current page as the body of an `async` function,
    /// with `args` in scope as the array `args` and the [`PRELUDE`]
    /// helpers defined, and returns what it returned (`undefined` is
    /// `null`), through WebDriver's *Execute Async Script*.
    ///
    /// ```no_run
    /// # async fn example(browser: &corsair_e2e::Browser) -> anyhow::Result<()> {
    /// let seen = browser
    ///     .run(
    ///         r#"return probeFetch(args[0], { credentials: "include" }, ["x-request-id"]);"#,
    ///         vec![serde_json::json!("http://localhost:3000/me")],
    ///     )
    ///     .await?;
    /// let probe: corsair_e2e::Probe = serde_json::from_value(seen)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When the script throws or its promise rejects (the error holds the
    /// JavaScript error's stack), or it takes longer than the script
    /// timeout.
    pub async fn run(&self, body: &str, args: Vec<Value>) -> Result<Value> {
        let script = format!(
            "{PRELUDE}
const __done = arguments[arguments.length - 1];
const __args = Array.prototype.slice.call(arguments, 0, -1);
(async (args) => {{
{body}
}})(__args).then(
  (value) => __done({{ ok: value === undefined ? null : value }}),
  (error) => __done({{ thrown: String((error && error.stack) || error) }}));"
        );
        let answer = self
            .client
            .execute_async(&script, args)
            .await
            .context("WebDriver could not run the script")?;
        match answer {
            Value::Object(mut fields) => {
                if let Some(value) = fields.remove("ok") {
                    Ok(value)
                } else if let Some(thrown) = fields.remove("thrown") {
                    Err(anyhow!(
                        "the script threw: {}",
                        thrown.as_str().unwrap_or_default()
                    ))
                } else {
                    Err(anyhow!("the script's wrapper answered {fields:?}"))
                }
            }
            other => Err(anyhow!("the script's wrapper answered {other}")),
        }
    }

    /// [`Browser::run`], with the result deserialized as a [`Probe`].
    ///
    /// # Errors
    /// As [`Browser::run`], and when the result is not a probe.
    pub async fn probe(&self, body: &str, args: Vec<Value>) -> Result<Probe> {
        let value = self.run(body, args).await?;
        serde_json::from_value(value.clone())
            .with_context(|| format!("the script returned {value}, which is not a probe"))
    }

    /// Ends the WebDriver session (chromedriver closes the browser), then
    /// stops chromedriver and removes the profile.
    ///
    /// # Errors
    /// When chromedriver does not end the session; everything is still
    /// stopped and removed.
    pub async fn close(mut self) -> Result<()> {
        let result = self.client.clone().close().await;
        self.closed = true;
        result.context("cannot end the WebDriver session")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed {
            self.driver.delete_session_blocking(&self.session);
        }
    }
}
