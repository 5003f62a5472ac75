//! One real browser (Chromium, Firefox or WebKit), driven through
//! WebDriver, and the scripts run in it.

use std::collections::BTreeMap;
use std::time::Duration;

use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use corsair::browser::Engine;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::driver::Driver;
use crate::proxy::start_proxy;
use crate::server::Server;

/// The flags every Chromium gets: headless, runnable as root, and quiet on
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

/// The preferences every Firefox gets, before [`BrowserOptions::prefs`]:
/// IPv4 only, so that `localhost` (and the mapped hosts) is never tried at
/// `[::1]`, where no test server listens.
pub const FIREFOX_PREFS: &[(&str, bool)] = &[("network.dns.disableIPv6", true)];

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
/// - `describeError(error)`: the error's name and message, then its stack
///   (V8 starts the stack with them; SpiderMonkey and JavaScriptCore do
///   not).
pub const PRELUDE: &str = r#"
function describeError(error) {
  const text = String(error);
  const stack = error && error.stack ? String(error.stack) : "";
  if (stack.startsWith(text)) return stack;
  return stack ? text + "\n" + stack : text;
}
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
  const helpers = [probeFetch, probeXhr, probeInSandbox, describeError].map(String).join("\n");
  const channel = "probe-" + Math.random().toString(36).slice(2);
  const script = helpers +
    "\n(async (args) => {\n" + body + "\n})(" + JSON.stringify(args) + ").then(" +
    "(value) => parent.postMessage({ channel: " + JSON.stringify(channel) +
    ", ok: value === undefined ? null : value }, '*'), " +
    "(error) => parent.postMessage({ channel: " + JSON.stringify(channel) +
    ", thrown: describeError(error) }, '*'));";
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

/// How to launch a [`Browser`]. The default is each engine as it ships
/// (its stock cookie policy included), launched as [`Browser::launch_with`]
/// describes.
#[derive(Clone, Debug)]
pub struct BrowserOptions {
    /// Host names that resolve to `127.0.0.1`, where [`crate::serve`]
    /// listens, besides `localhost` (always mapped). A name other than
    /// `localhost`, `*.localhost` or a loopback address makes an origin
    /// that is not a secure context: `Secure` cookies are then refused over
    /// `http`. Chromium maps them with `--host-resolver-rules`, Firefox
    /// with its `network.dns.localDomains` preference. MiniBrowser has
    /// nothing of the kind: a WebKit browser with mapped hosts gets a
    /// forward proxy of its own (`--proxy`, bypassed for `localhost` and
    /// loopback addresses), which sends requests for these names to
    /// `127.0.0.1` with their `Host` header unchanged; the servers see
    /// what they would see without it. Prefer names under a real public
    /// suffix (`app.example.com`): WebKit's cookie jar (libsoup) finds no
    /// registrable domain under `.test`, and treats `a.corsair.test` and
    /// `b.corsair.test` as different sites.
    pub mapped_hosts: Vec<String>,
    /// More command-line arguments for the browser: Chromium's flags after
    /// [`CHROMIUM_ARGS`], Firefox's after `-headless`, MiniBrowser's after
    /// `--automation`.
    pub extra_args: Vec<String>,
    /// Browser preferences: Chromium's `goog:chromeOptions.prefs`,
    /// Firefox's `moz:firefoxOptions.prefs` (after [`FIREFOX_PREFS`]).
    /// WebKit has none, and refuses to launch with any. Empty by default:
    /// stock settings.
    pub prefs: serde_json::Map<String, Value>,
    /// Whether third-party cookies are allowed, against the engine's stock
    /// policy. `false` (the default) leaves it as the engine ships:
    /// headless Chromium under chromedriver blocks third-party cookies,
    /// Firefox partitions them (Total Cookie Protection), WebKit accepts
    /// none from a third party. `true` sets Chromium's
    /// `profile.cookie_controls_mode` to `0` (a desktop Chrome's default),
    /// Firefox's `network.cookie.cookieBehavior` to `0`, and MiniBrowser's
    /// `--cookies-policy=always`.
    pub third_party_cookies: bool,
    /// Whether [`Browser::console`] may read the page's console:
    /// Chromium gets `goog:loggingPrefs` `{"browser": "ALL"}`, Firefox's
    /// geckodriver `--allow-system-access` ([`Driver::start_privileged`]).
    /// WebKit refuses it: WebKit writes no console of an automated
    /// (ephemeral) page anywhere WebDriver can read; see
    /// [`crate::MiniBrowserConsole`]. `false` by default.
    pub console: bool,
    /// How long a script run by [`Browser::run`] may take.
    pub script_timeout: Duration,
    /// How long [`Browser::open`] may wait for a page to load.
    pub page_load_timeout: Duration,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        Self {
            mapped_hosts: Vec::new(),
            extra_args: Vec::new(),
            prefs: serde_json::Map::new(),
            third_party_cookies: false,
            console: false,
            script_timeout: Duration::from_secs(15),
            page_load_timeout: Duration::from_secs(15),
        }
    }
}

impl BrowserOptions {
    /// Resolves `host` to `127.0.0.1` (see [`BrowserOptions::mapped_hosts`]).
    pub fn map_host(mut self, host: &str) -> Self {
        self.mapped_hosts.push(host.to_owned());
        self
    }

    /// Sets preference `name` (see [`BrowserOptions::prefs`]).
    pub fn pref(mut self, name: &str, value: Value) -> Self {
        self.prefs.insert(name.to_owned(), value);
        self
    }

    /// Allows third-party cookies (see
    /// [`BrowserOptions::third_party_cookies`]): what a desktop Chrome with
    /// default settings does, so that a cross-site page's credentialed
    /// request carries the user's cookie and only CORS keeps the answer
    /// from it.
    pub fn allow_third_party_cookies(mut self) -> Self {
        self.third_party_cookies = true;
        self
    }

    /// Lets [`Browser::console`] read the page's console (see
    /// [`BrowserOptions::console`]).
    pub fn capture_console(mut self) -> Self {
        self.console = true;
        self
    }

    /// The WebDriver capabilities that launch `engine` (the browser at
    /// `browser`) with these options, its profile in `profile`, and, for
    /// WebKit, the mapping proxy listening on `proxy`.
    ///
    /// # Errors
    /// When WebKit is asked for preferences (it has none), or for mapped
    /// hosts without a proxy.
    fn capabilities(
        &self,
        engine: Engine,
        browser: &Path,
        profile: &Path,
        proxy: Option<u16>,
    ) -> Result<serde_json::Map<String, Value>> {
        let mut capabilities = serde_json::Map::new();
        match engine {
            Engine::Chromium => {
                let mut args: Vec<String> =
                    CHROMIUM_ARGS.iter().map(|&arg| arg.to_owned()).collect();
                args.push(format!("--user-data-dir={}", profile.display()));
                let rules: Vec<String> = std::iter::once("localhost")
                    .chain(self.mapped_hosts.iter().map(String::as_str))
                    .map(|host| format!("MAP {host} 127.0.0.1"))
                    .collect();
                args.push(format!("--host-resolver-rules={}", rules.join(",")));
                args.extend(self.extra_args.iter().cloned());
                let mut prefs = self.prefs.clone();
                if self.third_party_cookies {
                    prefs.insert("profile.cookie_controls_mode".to_owned(), json!(0));
                }
                capabilities.insert("browserName".to_owned(), json!("chrome"));
                if self.console {
                    capabilities
                        .insert("goog:loggingPrefs".to_owned(), json!({ "browser": "ALL" }));
                }
                capabilities.insert(
                    "goog:chromeOptions".to_owned(),
                    json!({ "binary": browser, "args": args, "prefs": prefs }),
                );
            }
            Engine::Firefox => {
                let mut args = vec![
                    "-headless".to_owned(),
                    "-profile".to_owned(),
                    profile.display().to_string(),
                ];
                args.extend(self.extra_args.iter().cloned());
                let mut prefs: serde_json::Map<String, Value> = FIREFOX_PREFS
                    .iter()
                    .map(|&(name, value)| (name.to_owned(), json!(value)))
                    .collect();
                if !self.mapped_hosts.is_empty() {
                    prefs.insert(
                        "network.dns.localDomains".to_owned(),
                        json!(self.mapped_hosts.join(",")),
                    );
                }
                if self.third_party_cookies {
                    prefs.insert("network.cookie.cookieBehavior".to_owned(), json!(0));
                }
                prefs.extend(self.prefs.clone());
                capabilities.insert("browserName".to_owned(), json!("firefox"));
                capabilities.insert(
                    "moz:firefoxOptions".to_owned(),
                    json!({ "binary": browser, "args": args, "prefs": prefs }),
                );
            }
            Engine::WebKit => {
                if self.console {
                    bail!(
                        "WebKit writes no console of a page under WebDriver anywhere WebDriver \
                         can read (MiniBrowser's automation session is ephemeral); read it with \
                         MiniBrowserConsole"
                    );
                }
                if !self.prefs.is_empty() {
                    bail!(
                        "WebKit has no preferences to set ({:?})",
                        self.prefs.keys().collect::<Vec<_>>()
                    );
                }
                let mut args = vec!["--automation".to_owned()];
                if self.third_party_cookies {
                    args.push("--cookies-policy=always".to_owned());
                }
                match (self.mapped_hosts.is_empty(), proxy) {
                    (true, _) => {}
                    (false, Some(port)) => {
                        args.push(format!("--proxy=http://127.0.0.1:{port}"));
                        for host in ["localhost", "127.0.0.1", "::1"] {
                            args.push(format!("--ignore-host={host}"));
                        }
                    }
                    (false, None) => bail!("WebKit maps host names through a proxy, and has none"),
                }
                args.extend(self.extra_args.iter().cloned());
                capabilities.insert("browserName".to_owned(), json!("MiniBrowser"));
                capabilities.insert(
                    "webkitgtk:browserOptions".to_owned(),
                    json!({ "binary": browser, "args": args }),
                );
            }
        }
        Ok(capabilities)
    }
}

/// A real browser with a fresh profile, driven by its own WebDriver server
/// ([`Driver`]): headless Chromium, headless Firefox ESR, or WebKitGTK's
/// MiniBrowser on an Xvfb display of its own. One per test: nothing
/// (cookies, preflight cache) carries over from one browser to another.
///
/// [`Browser::close`] ends it cleanly; dropping it (a test that panicked)
/// ends the session, kills the WebDriver server and the browser, and
/// removes the profile all the same.
#[derive(Debug)]
pub struct Browser {
    client: Client,
    session: String,
    closed: bool,
    engine: Engine,
    version: String,
    // Dropped after the session is ended in `drop`: kills the processes,
    // then removes the profile.
    driver: Driver,
    /// WebKit's host-mapping proxy, if it has mapped hosts.
    _proxy: Option<Server>,
}

impl Browser {
    /// Launches headless Chromium with the default [`BrowserOptions`].
    ///
    /// # Errors
    /// As [`Browser::launch_with`].
    pub async fn launch() -> Result<Self> {
        Self::launch_engine(Engine::Chromium).await
    }

    /// Launches `engine` with the default [`BrowserOptions`].
    ///
    /// # Errors
    /// As [`Browser::launch_with`].
    pub async fn launch_engine(engine: Engine) -> Result<Self> {
        Self::launch_with(engine, &BrowserOptions::default()).await
    }

    /// Launches `engine`: starts its WebDriver server ([`Driver::start`]),
    /// then a session of the browser with the options:
    ///
    /// - Chromium: [`CHROMIUM_ARGS`], a new `--user-data-dir`, and
    ///   `--host-resolver-rules` mapping `localhost` (and the mapped hosts)
    ///   to `127.0.0.1`, so that it never tries `[::1]` first;
    /// - Firefox: `-headless`, a new `-profile`, and [`FIREFOX_PREFS`];
    /// - WebKit: MiniBrowser `--automation`, on its driver's Xvfb display
    ///   (and `--proxy`, for mapped hosts).
    ///
    /// # Errors
    /// When the engine is not installed (the message says how to install
    /// it), its server or the browser fails to start, or the options ask
    /// for something the engine cannot do.
    pub async fn launch_with(engine: Engine, options: &BrowserOptions) -> Result<Self> {
        let driver = if options.console {
            Driver::start_privileged(engine).await?
        } else {
            Driver::start(engine).await?
        };
        let proxy = if engine == Engine::WebKit && !options.mapped_hosts.is_empty() {
            Some(start_proxy(&options.mapped_hosts).await?)
        } else {
            None
        };
        let capabilities = options.capabilities(
            engine,
            &driver.installation().browser,
            driver.profile_dir(),
            proxy.as_ref().map(Server::port),
        )?;
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .map_err(|error| {
                anyhow!(
                    "the WebDriver server could not start {}: {error}\nits log ends with:\n{}",
                    engine.product(),
                    driver.log_tail()
                )
            })?;
        let session = client
            .session_id()
            .await?
            .context("the WebDriver server gave no session id")?;
        let version = client
            .capabilities()
            .and_then(|capabilities| capabilities.get("browserVersion"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let browser = Self {
            client,
            session,
            closed: false,
            engine,
            version,
            driver,
            _proxy: proxy,
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

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The browser's version, as its WebDriver server reported it
    /// (`browserVersion`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The WebDriver server, for its log and processes.
    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    /// The fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The browser's profile directory (see [`Driver::profile_dir`]).
    pub fn profile_dir(&self) -> &Path {
        self.driver.profile_dir()
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
  (error) => __done({{ thrown: describeError(error) }}));"
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

    /// Ends the WebDriver session (the server closes the browser), then
    /// stops the server and removes the profile.
    ///
    /// # Errors
    /// When the server does not end the session; everything is still
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
