//! The chromedriver process: started on a free port, killed on drop.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use tempfile::TempDir;

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long chromedriver may take to answer `/status` after it starts.
const STARTUP: Duration = Duration::from_secs(20);

/// Fails, saying how to install them, unless both the browser and the driver
/// are installed. The end-to-end tests never skip: a machine without
/// Chromium fails them.
///
/// # Errors
/// When [`CHROMIUM`] or [`CHROMEDRIVER`] does not exist.
pub fn require_chromium() -> Result<()> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    bail!(
        "the end-to-end tests need headless Chromium and chromedriver, and {} missing; \
         run scripts/test (it installs them), or \
         `apt-get update && apt-get install -y chromium chromium-driver`",
        match missing.as_slice() {
            [one] => format!("{one} is"),
            _ => format!("{} are", missing.join(" and ")),
        }
    )
}

/// A running chromedriver, listening on `127.0.0.1` on a port of its own.
///
/// It runs in a process group of its own, which the browsers it launches
/// join: dropping the `Driver` kills the whole group, so that a test that
/// panics leaves no browser behind.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
    /// Holds the log file; removed on drop, after the processes are gone.
    _dir: TempDir,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until its `/status`
    /// says it is ready.
    ///
    /// # Errors
    /// When Chromium or chromedriver is not installed (see
    /// [`require_chromium`]), or chromedriver does not start; the error then
    /// holds the end of chromedriver's log.
    pub async fn start() -> Result<Self> {
        require_chromium()?;
        let mut last_error = None;
        // A port found free may be taken before chromedriver binds it: then
        // chromedriver exits and another port is tried.
        for _attempt in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("corsair-e2e-driver-")
                .tempdir()
                .context("cannot create a temporary directory for chromedriver's log")?;
            let log = dir.path().join("chromedriver.log");
            let port = free_port()?;
            let child = spawn(port, &log)?;
            let mut driver = Self {
                child,
                port,
                log,
                _dir: dir,
            };
            match driver.wait_until_ready().await {
                Ok(()) => return Ok(driver),
                // Dropping `driver` kills what was started.
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("chromedriver did not start")))
    }

    /// The port chromedriver listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The WebDriver endpoint, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last lines chromedriver logged, for error messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// Ends a WebDriver session without async machinery, so that it can run
    /// in `Drop`: chromedriver then closes the browser of that session.
    /// Errors are ignored: the process group is killed afterwards anyway.
    pub(crate) fn delete_session_blocking(&self, session: &str) {
        let request = format!(
            "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        let _ignored = http_blocking(self.port, &request, Duration::from_secs(10));
    }

    /// Polls `/status` until chromedriver says it is ready, it exits, or
    /// [`STARTUP`] passes.
    async fn wait_until_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "chromedriver exited with {status} before answering on port {}; its log ends with:\n{}",
                    self.port,
                    log_tail(&self.log)
                );
            }
            if status_ready(self.port).await {
                return Ok(());
            }
            if started.elapsed() > STARTUP {
                bail!(
                    "chromedriver did not answer on port {} within {STARTUP:?}; its log ends with:\n{}",
                    self.port,
                    log_tail(&self.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills chromedriver and every process of its group (the browsers it
    /// launched), then reaps chromedriver.
    fn kill(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(pid_of(&self.child)) {
            let _ignored = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ignored = self.child.kill();
        let _ignored = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

fn pid_of(child: &Child) -> i32 {
    i32::try_from(child.id()).unwrap_or(0)
}

/// A port that nothing listens on right now.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .context("cannot find a free port for chromedriver")?;
    Ok(listener.local_addr()?.port())
}

fn spawn(port: u16, log: &Path) -> Result<Child> {
    let log_file = File::create(log).context("cannot create chromedriver's log file")?;
    Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg("--log-level=INFO")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        // Its own process group, which the browsers join: see `Driver::kill`.
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {CHROMEDRIVER}"))
}

/// Whether chromedriver answers `GET /status` with `"ready": true`.
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
            let start = lines.len().saturating_sub(20);
            lines.get(start..).unwrap_or_default().join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}
