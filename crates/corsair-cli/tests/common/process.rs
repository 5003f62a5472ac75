//! The proxy binary as a child process: started on a file, its JSON log
//! collected, signalled, and its file descriptors and memory read from
//! `/proc`.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};
use tempfile::TempDir;

/// The proxy binary, running, with its stderr (JSON log lines) collected.
pub(crate) struct Process {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) admin: Option<SocketAddr>,
    log: Arc<Mutex<Vec<String>>>,
    pub(crate) path: PathBuf,
    _dir: TempDir,
}

impl Process {
    /// Starts `corsair proxy` on `text` and waits for its startup line.
    pub(crate) fn start(text: &str) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proxy.toml");
        std::fs::write(&path, text).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_corsair"))
            .args(["--log-format", "json", "--log-level", "info", "proxy", "-c"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (listening, startup) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn({
            let log = Arc::clone(&log);
            move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line)
                        && let Some(listen) = json["listen"].as_str()
                    {
                        // `admin` is logged as the address, or `none`.
                        let admin = json["admin"].as_str().and_then(|admin| admin.parse().ok());
                        let _ = listening.send((listen.parse::<SocketAddr>().unwrap(), admin));
                    }
                    log.lock().unwrap().push(line);
                }
            }
        });
        let Ok((addr, admin)) = startup.recv_timeout(Duration::from_secs(10)) else {
            let _ = child.kill();
            panic!(
                "no startup line with `listen` within 10s:\n{}",
                log.lock().unwrap().join("\n")
            );
        };
        Process {
            child,
            addr,
            admin,
            log,
            path,
            _dir: dir,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn signal(&self, signal: Signal) {
        kill_process(Pid::from_child(&self.child), signal).unwrap();
    }

    /// The log lines so far.
    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line after the first `skip` contains `text`, and
    /// returns its index.
    pub(crate) async fn wait_for_log(&self, skip: usize, text: &str) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(index) = self
                .log()
                .iter()
                .enumerate()
                .skip(skip)
                .find_map(|(index, line)| line.contains(text).then_some(index))
            {
                return index;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {text:?} after line {skip}:\n{}",
                self.log().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the process to end, at most `limit`.
    pub(crate) async fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the proxy did not exit within {limit:?}:\n{}",
                self.log().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process's open file descriptors.
    pub(crate) fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .count()
    }

    /// The resident memory of the process now, in kB (`VmRSS`).
    pub(crate) fn memory_kb(&self) -> u64 {
        self.status_kb("VmRSS:")
    }

    fn status_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().strip_suffix("kB"))
            .map(|kb| kb.trim().parse().unwrap())
            .unwrap_or_else(|| panic!("{field} in /proc/PID/status"))
    }

    /// The peak resident memory of the process, in kB (`VmHWM`).
    pub(crate) fn peak_memory_kb(&self) -> u64 {
        self.status_kb("VmHWM:")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces the file at once (write, then rename).
pub(crate) fn replace_file(path: &Path, text: &str) {
    let next = path.with_extension("toml.next");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}
