//! What each engine's developer console printed for the page: read through
//! WebDriver for Chromium and Firefox ([`Browser::console`]), and from
//! MiniBrowser's standard error for WebKit ([`MiniBrowserConsole`]).
//!
//! - Chromium: the session asks for `goog:loggingPrefs`
//!   `{"browser": "ALL"}`, and chromedriver's legacy log endpoint,
//!   `POST /session/{id}/se/log` with `{"type": "browser"}`, returns (and
//!   forgets) what the console received since the last call.
//! - Firefox: CORS errors are not console API calls: Firefox's
//!   `devtools.console.stdout.content` does not print them, and they stay
//!   in the console service of the page's content process. geckodriver
//!   started with `--allow-system-access` lets a script run in the
//!   browser's chrome context (`POST /session/{id}/moz/context`), which
//!   loads a frame script into the page's process; the frame script reads
//!   that process's console service (`Services.console`), keeps the
//!   messages of the page's window, and clears it.
//! - WebKit: `--enable-write-console-messages-to-stdout=true` (a
//!   `WebKitSettings` property MiniBrowser takes on its command line)
//!   makes WebKit write each console message on its standard error, as
//!   `[URL:LINE:COLUMN: ]CONSOLE SOURCE LEVEL TEXT`, but never for a page
//!   of an ephemeral session, which every MiniBrowser under WebDriver
//!   (`--automation`) is. [`MiniBrowserConsole`] therefore runs MiniBrowser
//!   by itself on a page that makes its requests on its own.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use corsair::browser::Engine;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::driver::Driver;

/// One message of an engine's console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleLine {
    /// Where the engine says the message comes from: Chromium's `source`
    /// (`javascript` for CORS errors, `network` for the failed load that
    /// follows them, `console-api`), Firefox's category
    /// (`CORSMissingAllowOrigin2`, `CORSDidNotSucceed2`...), WebKit's
    /// source (`SECURITY`, `JS`, `NETWORK`...; empty for `console.log`).
    pub source: String,
    /// Its level: `error`, `warning`, `info`, `log` or `debug`.
    pub level: String,
    /// The text, as the console shows it.
    pub text: String,
}

impl ConsoleLine {
    /// Whether it is a `console.log` (or another console API call) of the
    /// page's own script rather than a message of the engine.
    pub fn is_console_api(&self) -> bool {
        matches!(self.source.as_str(), "console-api" | "")
    }
}

/// A WebDriver command at `/session/{id}/{path}`, with a JSON body.
#[derive(Debug)]
struct SessionCommand {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for SessionCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// The frame script that reads the page's console in Firefox: it sends
/// back the page window's messages and empties the console service of
/// the page's process.
const FIREFOX_FRAME_SCRIPT: &str = r#"
const windowId = content.windowGlobalChild.innerWindowId;
const lines = Services.console.getMessageArray()
  .filter((message) => message instanceof Ci.nsIScriptError && message.innerWindowID === windowId)
  .map((message) => ({
    source: message.category,
    level: message.flags & Ci.nsIScriptError.warningFlag ? "warning"
      : message.flags & Ci.nsIScriptError.infoFlag ? "info" : "error",
    text: message.errorMessage,
  }));
Services.console.reset();
sendAsyncMessage("corsair-e2e:console", lines);
"#;

/// Runs in Firefox's chrome context: loads [`FIREFOX_FRAME_SCRIPT`] into
/// the selected tab and returns what it sent back.
const FIREFOX_CHROME_SCRIPT: &str = r#"
const [frameScript, done] = arguments;
const messageManager = window.gBrowser.selectedBrowser.messageManager;
const listener = (message) => {
  messageManager.removeMessageListener("corsair-e2e:console", listener);
  done(message.data);
};
messageManager.addMessageListener("corsair-e2e:console", listener);
messageManager.loadFrameScript(
  "data:application/javascript;charset=utf-8," + encodeURIComponent(frameScript), false);
"#;

impl Browser {
    /// The messages the page's console received since the last call
    /// (Firefox: since the page loaded, or the last call), oldest first.
    /// The browser must have been launched with
    /// [`crate::BrowserOptions::capture_console`].
    ///
    /// Messages are delivered a little after the request that caused them
    /// settles; see [`Browser::console_settled`].
    ///
    /// # Errors
    /// For WebKit (see [`MiniBrowserConsole`]), and when the WebDriver
    /// server refuses the commands (Firefox without
    /// `capture_console`).
    pub async fn console(&self) -> Result<Vec<ConsoleLine>> {
        match self.engine() {
            Engine::Chromium => self.chromium_console().await,
            Engine::Firefox => self.firefox_console().await,
            Engine::WebKit => bail!(
                "WebKit writes no console of a page under WebDriver anywhere WebDriver can \
                 read; use MiniBrowserConsole"
            ),
        }
    }

    /// [`Browser::console`], called until it has returned at least one
    /// message and then nothing new for `quiet`, or until `limit` passed:
    /// everything a request that just settled made the console print.
    ///
    /// # Errors
    /// As [`Browser::console`].
    pub async fn console_settled(
        &self,
        quiet: Duration,
        limit: Duration,
    ) -> Result<Vec<ConsoleLine>> {
        let started = Instant::now();
        let mut lines = Vec::new();
        let mut last_new = Instant::now();
        loop {
            let new = self.console().await?;
            if !new.is_empty() {
                last_new = Instant::now();
            }
            lines.extend(new);
            if (!lines.is_empty() && last_new.elapsed() >= quiet) || started.elapsed() >= limit {
                return Ok(lines);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn chromium_console(&self) -> Result<Vec<ConsoleLine>> {
        let entries = self
            .client()
            .issue_cmd(SessionCommand {
                path: "se/log",
                body: json!({ "type": "browser" }),
            })
            .await
            .context(
                "chromedriver did not return the browser log (launch with \
                 BrowserOptions::capture_console)",
            )?;
        let entries = entries
            .as_array()
            .with_context(|| format!("chromedriver's browser log is not a list: {entries}"))?;
        Ok(entries.iter().map(chromium_line).collect())
    }

    async fn firefox_console(&self) -> Result<Vec<ConsoleLine>> {
        self.firefox_context("chrome").await?;
        let read = self
            .client()
            .execute_async(FIREFOX_CHROME_SCRIPT, vec![json!(FIREFOX_FRAME_SCRIPT)])
            .await
            .context("cannot read Firefox's console from its chrome context");
        // Back to the page, whatever happened.
        let back = self.firefox_context("content").await;
        let read = read?;
        back?;
        let lines = read
            .as_array()
            .with_context(|| format!("Firefox's console answered {read}"))?;
        lines
            .iter()
            .map(|line| {
                let field = |name: &str| {
                    line.get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| anyhow!("Firefox's console line {line} has no {name}"))
                };
                Ok(ConsoleLine {
                    source: field("source")?,
                    level: field("level")?,
                    text: field("text")?,
                })
            })
            .collect()
    }

    async fn firefox_context(&self, context: &str) -> Result<()> {
        self.client()
            .issue_cmd(SessionCommand {
                path: "moz/context",
                body: json!({ "context": context }),
            })
            .await
            .with_context(|| {
                format!(
                    "geckodriver refused Firefox's {context} context (launch with \
                     BrowserOptions::capture_console)"
                )
            })?;
        Ok(())
    }
}

/// One entry of chromedriver's browser log: `{"level": "SEVERE",
/// "message": "URL - TEXT", "source": "javascript", ...}`. The message
/// starts with the URL of the script or resource, then ` - ` (or, for a
/// console API call, ` LINE:COLUMN `), which the console shows apart.
fn chromium_line(entry: &Value) -> ConsoleLine {
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let message = field("message");
    let text = match message.split_once(' ') {
        Some((_url, rest)) if rest.starts_with("- ") => rest.get(2..).unwrap_or_default(),
        Some((_url, rest)) => match rest.split_once(' ') {
            Some((position, text))
                if position.contains(':')
                    && position.chars().all(|c| c.is_ascii_digit() || c == ':') =>
            {
                text
            }
            _ => message.as_str(),
        },
        None => message.as_str(),
    }
    .to_owned();
    let level = match field("level").as_str() {
        "SEVERE" => "error".to_owned(),
        "WARNING" => "warning".to_owned(),
        other => other.to_lowercase(),
    };
    ConsoleLine {
        source: field("source"),
        level,
        text,
    }
}

/// WebKitGTK's MiniBrowser started by itself (not under WebDriver, so
/// that its session is not ephemeral) on a page, with
/// `--enable-write-console-messages-to-stdout=true`, on an Xvfb display of
/// its own: the page's script makes its requests on its own, and every
/// console message is read from MiniBrowser's standard error. Dropping it
/// ends MiniBrowser and the X server and removes the profile.
#[derive(Debug)]
pub struct MiniBrowserConsole {
    /// The X server (and an idle WebKitWebDriver), whose process group
    /// MiniBrowser joins.
    driver: Driver,
    output: PathBuf,
}

impl MiniBrowserConsole {
    /// Starts MiniBrowser on `url`.
    ///
    /// # Errors
    /// When WebKit is not installed or does not start.
    pub async fn open(url: &str) -> Result<Self> {
        let mut driver = Driver::start(Engine::WebKit).await?;
        let output = driver
            .profile_dir()
            .parent()
            .unwrap_or_else(|| driver.profile_dir())
            .join("minibrowser.log");
        driver.spawn_minibrowser(
            &[
                "--enable-write-console-messages-to-stdout=true".to_owned(),
                url.to_owned(),
            ],
            &output,
        )?;
        Ok(Self { driver, output })
    }

    /// Every console message so far, oldest first.
    ///
    /// # Errors
    /// When MiniBrowser's output cannot be read.
    pub fn lines(&self) -> Result<Vec<ConsoleLine>> {
        let text = match std::fs::read(&self.output) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot read {}", self.output.display()));
            }
        };
        Ok(text.lines().filter_map(webkit_line).collect())
    }

    /// Waits until a `console.log` prints `marker`, and returns every
    /// message up to it, itself included.
    ///
    /// # Errors
    /// When `limit` passes first; the error holds what MiniBrowser wrote.
    pub async fn wait_for(&self, marker: &str, limit: Duration) -> Result<Vec<ConsoleLine>> {
        let started = Instant::now();
        loop {
            let lines = self.lines()?;
            if let Some(end) = lines
                .iter()
                .position(|line| line.is_console_api() && line.text == marker)
            {
                return Ok(lines.into_iter().take(end.saturating_add(1)).collect());
            }
            if started.elapsed() >= limit {
                bail!(
                    "MiniBrowser's console did not print {marker:?} within {limit:?}; it \
                     wrote:\n{}\nthe driver's log ends with:\n{}",
                    std::fs::read_to_string(&self.output).unwrap_or_default(),
                    self.driver.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One line of WebKit's console on standard error:
/// `[URL:LINE:COLUMN: ]CONSOLE [SOURCE ]LEVEL TEXT`, where the source is
/// missing for console API calls. Other lines (GTK's warnings) are not
/// console messages.
fn webkit_line(line: &str) -> Option<ConsoleLine> {
    const LEVELS: [&str; 5] = ["LOG", "WARN", "ERROR", "DEBUG", "INFO"];
    let start = line.find("CONSOLE ")?;
    let before = line.get(..start)?;
    if !(before.is_empty() || before.ends_with(": ")) {
        return None;
    }
    let rest = line.get(start.saturating_add("CONSOLE ".len())..)?;
    let (first, after_first) = rest.split_once(' ').unwrap_or((rest, ""));
    let (source, level, text) = if LEVELS.contains(&first) {
        ("", first, after_first)
    } else {
        let (level, text) = after_first.split_once(' ').unwrap_or((after_first, ""));
        if !LEVELS.contains(&level) {
            return None;
        }
        (first, level, text)
    };
    let level = match level {
        "WARN" => "warning".to_owned(),
        other => other.to_lowercase(),
    };
    Some(ConsoleLine {
        source: source.to_owned(),
        level,
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webkit_lines_parse() {
        assert_eq!(
            webkit_line(
                "CONSOLE SECURITY ERROR Origin http://localhost:1 is not allowed by \
                 Access-Control-Allow-Origin. Status code: 200"
            ),
            Some(ConsoleLine {
                source: "SECURITY".into(),
                level: "error".into(),
                text: "Origin http://localhost:1 is not allowed by Access-Control-Allow-Origin. \
                       Status code: 200"
                    .into(),
            })
        );
        assert_eq!(
            webkit_line("http://localhost:1/c:1:20: CONSOLE LOG a marker"),
            Some(ConsoleLine {
                source: String::new(),
                level: "log".into(),
                text: "a marker".into(),
            })
        );
        assert_eq!(
            webkit_line("(MiniBrowser:1): Gtk-WARNING **: CONSOLE"),
            None
        );
    }

    #[test]
    fn chromium_lines_lose_their_url() {
        let line = chromium_line(&json!({
            "level": "SEVERE",
            "message": "http://localhost:1/ - Access to fetch at 'http://localhost:2/x' from origin 'http://localhost:1' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource.",
            "source": "javascript",
        }));
        assert_eq!(line.level, "error");
        assert!(line.text.starts_with("Access to fetch at"), "{line:?}");
        let log = chromium_line(&json!({
            "level": "INFO",
            "message": "http://localhost:1/ 12:7 \"marker\"",
            "source": "console-api",
        }));
        assert_eq!(log.text, "\"marker\"");
    }
}
