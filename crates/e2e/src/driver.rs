//! The WebDriver server of each engine, with the browser it drives: found
//! on this machine, started on a free port, killed on drop.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use corsair::browser::Engine;
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use tempfile::TempDir;

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where Debian's `firefox-esr` package puts Firefox.
pub const FIREFOX: &str = "/usr/bin/firefox-esr";
/// The name of Mozilla's WebDriver server, which Debian does not package:
/// `cargo install --locked geckodriver` puts it in `~/.cargo/bin`. Looked
/// for on `PATH`, then in `$CARGO_HOME/bin`, then in `~/.cargo/bin` (see
/// [`find_geckodriver`]).
pub const GECKODRIVER: &str = "geckodriver";
/// Where Debian's `webkit2gtk-driver` package puts WebKitGTK's WebDriver
/// server.
pub const WEBKIT_WEBDRIVER: &str = "/usr/bin/WebKitWebDriver";
/// Where Debian's `libwebkit2gtk-4.1-0` package (a dependency of
/// `webkit2gtk-driver`) puts WebKitGTK's test browser on amd64. Another
/// architecture's path is found with `dpkg -L libwebkit2gtk-4.1-0` (see
/// [`find_minibrowser`]).
pub const MINIBROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
/// Where Debian's `xvfb` package puts the virtual X server that MiniBrowser,
/// which has no headless mode, draws on.
pub const XVFB: &str = "/usr/bin/Xvfb";

/// How long a WebDriver server may take to answer `/status` after it
/// starts, and Xvfb to choose its display.
const STARTUP: Duration = Duration::from_secs(30);

/// How long the processes get to exit after `SIGTERM` before `SIGKILL`
/// (Xvfb removes its lock file on `SIGTERM`).
const GRACE: Duration = Duration::from_secs(2);

/// What an engine needs on this machine, found by [`require`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installation {
    /// The engine.
    pub engine: Engine,
    /// The browser: [`CHROMIUM`], [`FIREFOX`], or [`MINIBROWSER`] (or
    /// wherever `dpkg` says MiniBrowser is).
    pub browser: PathBuf,
    /// Its WebDriver server: [`CHROMEDRIVER`], `geckodriver` (see
    /// [`find_geckodriver`]), or [`WEBKIT_WEBDRIVER`].
    pub driver: PathBuf,
    /// The virtual X server WebKit draws on ([`XVFB`]); `None` for the
    /// engines with a headless mode.
    pub display_server: Option<PathBuf>,
}

/// Finds what `engine` needs (the browser, its WebDriver server, and Xvfb
/// for WebKit), or fails saying what is missing and how to install it.
/// The end-to-end tests never skip: a machine without an engine fails its
/// tests. `scripts/test` installs all three.
///
/// # Errors
/// When something is missing; the message names it and gives the command
/// that installs it.
pub fn require(engine: Engine) -> Result<Installation> {
    let mut missing = Vec::new();
    let mut found = |path: Option<PathBuf>, what: &str| {
        if path.is_none() {
            missing.push(what.to_owned());
        }
        path.unwrap_or_default()
    };
    let installation = match engine {
        Engine::Chromium => Installation {
            engine,
            browser: found(executable(Path::new(CHROMIUM)), CHROMIUM),
            driver: found(executable(Path::new(CHROMEDRIVER)), CHROMEDRIVER),
            display_server: None,
        },
        Engine::Firefox => Installation {
            engine,
            browser: found(executable(Path::new(FIREFOX)), FIREFOX),
            driver: found(
                find_geckodriver(),
                "geckodriver (on PATH, in $CARGO_HOME/bin or in ~/.cargo/bin)",
            ),
            display_server: None,
        },
        Engine::WebKit => Installation {
            engine,
            browser: found(
                find_minibrowser(),
                &format!(
                    "MiniBrowser ({MINIBROWSER}, or where `dpkg -L libwebkit2gtk-4.1-0` says)"
                ),
            ),
            driver: found(executable(Path::new(WEBKIT_WEBDRIVER)), WEBKIT_WEBDRIVER),
            display_server: Some(found(executable(Path::new(XVFB)), XVFB)),
        },
    };
    if missing.is_empty() {
        return Ok(installation);
    }
    bail!(
        "the end-to-end tests of {} need {}, and {} missing; run scripts/test (it installs \
         them), or `{}`",
        engine.product(),
        match engine {
            Engine::Chromium => "headless Chromium and chromedriver",
            Engine::Firefox => "Firefox ESR and geckodriver",
            Engine::WebKit => "WebKitGTK's MiniBrowser, WebKitWebDriver and Xvfb",
        },
        match missing.as_slice() {
            [one] => format!("{one} is"),
            _ => format!("{} are", missing.join(" and ")),
        },
        install_hint(engine)
    )
}

/// The commands that install what `engine` needs on Debian, as root.
pub fn install_hint(engine: Engine) -> &'static str {
    match engine {
        Engine::Chromium => "apt-get update && apt-get install -y chromium chromium-driver",
        Engine::Firefox => {
            "apt-get update && apt-get install -y firefox-esr && cargo install --locked geckodriver"
        }
        Engine::WebKit => "apt-get update && apt-get install -y webkit2gtk-driver xvfb",
    }
}

/// `geckodriver` on `PATH`, else in `$CARGO_HOME/bin`, else in
/// `~/.cargo/bin` (where `cargo install` puts it).
pub fn find_geckodriver() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME").map(|home| PathBuf::from(home).join("bin"));
    let home = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo").join("bin"));
    on_path
        .into_iter()
        .chain(cargo_home)
        .chain(home)
        .find_map(|dir| executable(&dir.join(GECKODRIVER)))
}

/// [`MINIBROWSER`] if it exists, else the `MiniBrowser` that
/// `dpkg -L libwebkit2gtk-4.1-0` lists (the path has the architecture in
/// it).
pub fn find_minibrowser() -> Option<PathBuf> {
    executable(Path::new(MINIBROWSER)).or_else(|| {
        let listing = Command::new("dpkg")
            .args(["-L", "libwebkit2gtk-4.1-0"])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        String::from_utf8_lossy(&listing.stdout)
            .lines()
            .filter(|line| line.ends_with("/MiniBrowser"))
            .find_map(|line| executable(Path::new(line)))
    })
}

/// `path`, if it is an executable file.
fn executable(path: &Path) -> Option<PathBuf> {
    let metadata = std::fs::metadata(path).ok()?;
    (metadata.is_file() && metadata.permissions().mode() & 0o111 != 0).then(|| path.to_owned())
}

/// A running WebDriver server for one engine, listening on `127.0.0.1` on
/// a port of its own: chromedriver, geckodriver, or WebKitWebDriver on an
/// Xvfb display of its own.
///
/// Everything it starts runs in one process group: the server, Xvfb, and
/// the browsers the server launches (they inherit the group). Dropping the
/// `Driver` sends the group `SIGTERM`, then `SIGKILL` to whatever is left,
/// so that a test that panics leaves no browser (and no X server) behind.
/// Its temporary directory, which holds its log and the browser's profile
/// ([`Driver::profile_dir`]), is removed after that.
#[derive(Debug)]
pub struct Driver {
    engine: Engine,
    installation: Installation,
    /// The processes started here; the first leads the process group.
    children: Vec<Child>,
    port: u16,
    /// Xvfb's display number, for WebKit.
    display: Option<u32>,
    /// The pipe Xvfb wrote its display number to, kept open so that Xvfb
    /// never writes to a closed pipe.
    _display_pipe: Option<ChildStdout>,
    log: PathBuf,
    profile: PathBuf,
    /// Holds the log and the profile; removed on drop, after the
    /// processes are gone.
    dir: TempDir,
    /// Whether geckodriver lets scripts run in Firefox's chrome context
    /// (`--allow-system-access`; see [`Driver::start_privileged`]).
    privileged: bool,
}

impl Driver {
    /// Starts `engine`'s WebDriver server on a free port (for WebKit, on a
    /// new Xvfb display) and waits until its `/status` says it is ready.
    ///
    /// # Errors
    /// When the engine is not installed (see [`require`]), or its server
    /// does not start; the error then holds the end of its log.
    pub async fn start(engine: Engine) -> Result<Self> {
        Self::start_with(engine, false).await
    }

    /// [`Driver::start`], with Firefox's geckodriver started with
    /// `--allow-system-access`, which lets a session's scripts run in the
    /// browser's chrome context (`POST /session/{id}/moz/context`), where
    /// the console of the page can be read ([`crate::Browser::console`]).
    /// The other engines' servers start as with [`Driver::start`].
    ///
    /// # Errors
    /// As [`Driver::start`].
    pub async fn start_privileged(engine: Engine) -> Result<Self> {
        Self::start_with(engine, true).await
    }

    async fn start_with(engine: Engine, privileged: bool) -> Result<Self> {
        let installation = require(engine)?;
        let mut last_error = None;
        // A port found free may be taken before the server binds it: then
        // the server exits and another port is tried.
        for _attempt in 0..3 {
            match Self::try_start(&installation, privileged).await {
                Ok(driver) => return Ok(driver),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("{} did not start", driver_name(engine))))
    }

    async fn try_start(installation: &Installation, privileged: bool) -> Result<Self> {
        let engine = installation.engine;
        let dir = tempfile::Builder::new()
            .prefix(&format!("corsair-e2e-{}-", engine.name()))
            .tempdir()
            .context("cannot create a temporary directory for the WebDriver server")?;
        let log = dir.path().join("driver.log");
        let profile = dir.path().join("profile");
        std::fs::create_dir(&profile).context("cannot create the profile directory")?;
        let port = free_port()?;
        let mut driver = Self {
            engine,
            installation: installation.clone(),
            children: Vec::new(),
            port,
            display: None,
            _display_pipe: None,
            log,
            profile,
            dir,
            privileged,
        };
        // From here on, dropping `driver` on an error kills what was
        // started.
        if let Some(xvfb) = &installation.display_server {
            driver.start_xvfb(xvfb).await?;
        }
        let command = driver.server_command()?;
        driver.spawn(command)?;
        driver.wait_until_ready().await?;
        Ok(driver)
    }

    /// The engine this server drives.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Where the engine's browser, server and X server were found.
    pub fn installation(&self) -> &Installation {
        &self.installation
    }

    /// The port the WebDriver server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The WebDriver endpoint, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Xvfb's display number (WebKit only).
    pub fn display(&self) -> Option<u32> {
        self.display
    }

    /// An empty directory, removed with the driver, for the browser's
    /// profile: Chromium's `--user-data-dir`, Firefox's `-profile`, and
    /// WebKit's XDG base directories (MiniBrowser's own session is
    /// ephemeral anyway).
    pub fn profile_dir(&self) -> &Path {
        &self.profile
    }

    /// The last lines the WebDriver server (and Xvfb) logged, for error
    /// messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// Ends a WebDriver session without async machinery, so that it can run
    /// in `Drop`: the server then closes the browser of that session.
    /// Errors are ignored: the process group is killed afterwards anyway.
    pub(crate) fn delete_session_blocking(&self, session: &str) {
        let request = format!(
            "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        let _ignored = http_blocking(self.port, &request, Duration::from_secs(10));
    }

    /// Starts Xvfb on a display it chooses itself (`-displayfd`, which
    /// no other Xvfb can take at the same time, unlike `xvfb-run -a`'s
    /// guess), as the leader of the process group, and reads the display
    /// number it chose.
    async fn start_xvfb(&mut self, xvfb: &Path) -> Result<()> {
        let log_file = File::create(&self.log).context("cannot create the driver's log file")?;
        let mut child = Command::new(xvfb)
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x1024x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {}", xvfb.display()))?;
        let stdout = child.stdout.take();
        self.children.push(child);
        let mut stdout = stdout.context("Xvfb's standard output is not a pipe")?;
        // Xvfb writes the display number and a newline once it accepts
        // connections. The read blocks: if Xvfb hangs, the timeout drops
        // the driver, which kills Xvfb, which ends the read.
        let read = tokio::task::spawn_blocking(move || {
            let mut line = Vec::new();
            let mut byte = [0_u8; 1];
            while line.len() < 16 {
                match stdout.read(&mut byte) {
                    Ok(1) if byte == [b'\n'] => break,
                    Ok(1) => line.extend_from_slice(&byte),
                    _ => break,
                }
            }
            (String::from_utf8_lossy(&line).into_owned(), stdout)
        });
        let (line, stdout) = tokio::time::timeout(STARTUP, read)
            .await
            .map_err(|_elapsed| {
                anyhow!(
                    "Xvfb chose no display within {STARTUP:?}; its log ends with:\n{}",
                    self.log_tail()
                )
            })?
            .context("the thread reading Xvfb's display panicked")?;
        self._display_pipe = Some(stdout);
        let display = line.trim().parse::<u32>().map_err(|_error| {
            anyhow!(
                "Xvfb did not start (it said {line:?} instead of a display number); its log \
                 ends with:\n{}",
                self.log_tail()
            )
        })?;
        self.display = Some(display);
        Ok(())
    }

    /// The WebDriver server's command line, environment and log.
    fn server_command(&self) -> Result<Command> {
        let installation = &self.installation;
        let port = self.port;
        let mut command = Command::new(&installation.driver);
        match self.engine {
            Engine::Chromium => {
                command
                    .arg(format!("--port={port}"))
                    .arg("--log-level=INFO");
            }
            Engine::Firefox => {
                command
                    .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
                    .arg("--profile-root")
                    .arg(self.dir.path())
                    .args(["--log", "info"]);
                if self.privileged {
                    command.arg("--allow-system-access");
                }
            }
            Engine::WebKit => {
                command.arg(format!("--port={port}"));
                self.webkit_environment(&mut command)?;
            }
        }
        Ok(command)
    }

    /// What WebKit's processes need: the Xvfb display, and XDG base
    /// directories in the profile.
    fn webkit_environment(&self, command: &mut Command) -> Result<()> {
        let display = self.display.context("WebKit's X server has no display")?;
        command
            .env("DISPLAY", format!(":{display}"))
            // MiniBrowser writes nothing under the user's home.
            .env("XDG_CONFIG_HOME", self.profile.join("config"))
            .env("XDG_CACHE_HOME", self.profile.join("cache"))
            .env("XDG_DATA_HOME", self.profile.join("data"))
            // Quiet: no accessibility bus, no GTK portals.
            .env("NO_AT_BRIDGE", "1")
            .env("GTK_USE_PORTAL", "0");
        Ok(())
    }

    /// Starts WebKit's MiniBrowser by itself, outside WebDriver, with
    /// `args`, on this driver's Xvfb display, with its XDG directories in
    /// [`Driver::profile_dir`] and its standard error (where WebKit writes
    /// console messages when asked to) appended to `stderr`. It runs in
    /// the driver's process group: dropping the driver ends it.
    ///
    /// A MiniBrowser under WebDriver (`--automation`) runs an ephemeral
    /// session, and WebKit never writes an ephemeral page's console to
    /// the terminal; one started here is not ephemeral.
    ///
    /// # Errors
    /// When the engine is not WebKit, or MiniBrowser does not start.
    pub fn spawn_minibrowser(&mut self, args: &[String], stderr: &Path) -> Result<()> {
        if self.engine != Engine::WebKit {
            bail!(
                "MiniBrowser is WebKit's; this driver is {}'s",
                self.engine.product()
            );
        }
        let mut command = Command::new(&self.installation.browser);
        command.args(args);
        self.webkit_environment(&mut command)?;
        let output = File::options()
            .create(true)
            .append(true)
            .open(stderr)
            .with_context(|| format!("cannot open {}", stderr.display()))?;
        let group = self.children.first().map_or(0, pid_of);
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(output)
            .process_group(group)
            .spawn()
            .with_context(|| format!("cannot start {}", self.installation.browser.display()))?;
        self.children.push(child);
        Ok(())
    }

    /// Spawns the server in the driver's process group (a new one unless
    /// Xvfb leads it already), with its output in the log.
    fn spawn(&mut self, mut command: Command) -> Result<()> {
        let log_file = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .context("cannot open the driver's log file")?;
        let group = self.children.first().map_or(0, pid_of);
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .process_group(group)
            .spawn()
            .with_context(|| format!("cannot start {}", self.installation.driver.display()))?;
        self.children.push(child);
        Ok(())
    }

    /// Polls `/status` until the server says it is ready, a process exits,
    /// or [`STARTUP`] passes.
    async fn wait_until_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        let name = driver_name(self.engine);
        loop {
            for child in &mut self.children {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "{name} (or its X server) exited with {status} before answering on port \
                         {}; the log ends with:\n{}",
                        self.port,
                        log_tail(&self.log)
                    );
                }
            }
            if status_ready(self.port).await {
                return Ok(());
            }
            if started.elapsed() > STARTUP {
                bail!(
                    "{name} did not answer on port {} within {STARTUP:?}; its log ends with:\n{}",
                    self.port,
                    log_tail(&self.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends the process group `SIGTERM`, waits up to [`GRACE`] for the
    /// processes started here to exit, sends `SIGKILL` to whatever is
    /// left of the group, then reaps them. The group leader is not reaped
    /// before the `SIGKILL`, so its id cannot have been reused by then.
    fn kill(&mut self) {
        let Some(group) = self
            .children
            .first()
            .and_then(|leader| Pid::from_raw(pid_of(leader)))
        else {
            return;
        };
        if rustix::process::kill_process_group(group, Signal::TERM).is_ok() {
            let started = Instant::now();
            while started.elapsed() < GRACE && !self.children.iter().all(has_exited) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ignored = rustix::process::kill_process_group(group, Signal::KILL);
        for child in &mut self.children {
            let _ignored = child.kill();
            let _ignored = child.wait();
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The WebDriver server's name, for messages.
fn driver_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Chromium => "chromedriver",
        Engine::Firefox => "geckodriver",
        Engine::WebKit => "WebKitWebDriver",
    }
}

fn pid_of(child: &Child) -> i32 {
    i32::try_from(child.id()).unwrap_or(0)
}

/// Whether `child` has exited, without reaping it (`WNOWAIT`).
fn has_exited(child: &Child) -> bool {
    let Some(pid) = Pid::from_raw(pid_of(child)) else {
        return true;
    };
    match rustix::process::waitid(
        WaitId::Pid(pid),
        WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
    ) {
        Ok(status) => status.is_some(),
        // Already reaped (or not our child): nothing to wait for.
        Err(_) => true,
    }
}

/// A port that nothing listens on right now.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .context("cannot find a free port for the WebDriver server")?;
    Ok(listener.local_addr()?.port())
}

/// Whether the server answers `GET /status` with `"ready": true`.
async fn status_ready(port: u16) -> bool {
    let request =
        format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    let answer =
        tokio::task::spawn_blocking(move || http_blocking(port, &request, Duration::from_secs(2)))
            .await;
    match answer {
        Ok(Ok(answer)) => {
            answer.starts_with("HTTP/1.1 200")
                && answer
                    .replace(char::is_whitespace, "")
                    .contains("\"ready\":true")
        }
        _ => false,
    }
}

/// Sends one request with blocking I/O and returns the raw answer, read up
/// to the end of its body (chromedriver keeps connections open whatever
/// the request says, so the end of the stream cannot be awaited).
fn http_blocking(port: u16, request: &str, timeout: Duration) -> std::io::Result<String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = stream.read(&mut buffer)?;
        answer.extend_from_slice(buffer.get(..read).unwrap_or_default());
        if read == 0 || is_complete(&answer) {
            return Ok(String::from_utf8_lossy(&answer).into_owned());
        }
    }
}

/// Whether `answer` holds a whole HTTP response: its head, and as many
/// body bytes as its `Content-Length` says (none without one).
fn is_complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    body.len() >= length
}

/// The last lines of a log file, for error messages.
fn log_tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(30);
            lines.get(start..).unwrap_or_default().join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}
