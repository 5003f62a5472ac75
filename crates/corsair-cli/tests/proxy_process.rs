//! `corsair proxy` as a process: the built binary behind signals (SIGTERM
//! and SIGINT drain, SIGHUP reloads) and the memory it needs while 100 MB
//! pass each way. The upstream runs in the test (`tests/common`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{APP, CREDENTIALED, Pattern, PatternCheck, Upstream, client, empty, get, send};
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use rustix::process::{Pid, Signal, kill_process};
use tempfile::TempDir;

/// The proxy binary, running, with its stderr (JSON log lines) collected.
struct Process {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    path: PathBuf,
    _dir: TempDir,
}

impl Process {
    /// Starts `corsair proxy` on `text` and waits for its startup line.
    fn start(text: &str) -> Process {
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
                        let _ = listening.send(listen.parse::<SocketAddr>().unwrap());
                    }
                    log.lock().unwrap().push(line);
                }
            }
        });
        let Ok(addr) = startup.recv_timeout(Duration::from_secs(10)) else {
            let _ = child.kill();
            panic!(
                "no startup line with `listen` within 10s:\n{}",
                log.lock().unwrap().join("\n")
            );
        };
        Process {
            child,
            addr,
            log,
            path,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn signal(&self, signal: Signal) {
        kill_process(Pid::from_child(&self.child), signal).unwrap();
    }

    /// The log lines so far.
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line after the first `skip` contains `text`, and
    /// returns its index.
    async fn wait_for_log(&self, skip: usize, text: &str) -> usize {
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
    async fn wait(&mut self, limit: Duration) -> ExitStatus {
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

    /// The peak resident memory of the process, in kB (`VmHWM`).
    fn peak_memory_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().strip_suffix("kB"))
            .map(|kb| kb.trim().parse().unwrap())
            .expect("VmHWM in /proc/PID/status")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces the file at once (write, then rename).
fn replace_file(path: &Path, text: &str) {
    let next = path.with_extension("toml.next");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}

async fn allow_origin(url: &str, origin: &str) -> Option<String> {
    get(url, &[("origin", origin)])
        .await
        .header("access-control-allow-origin")
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_then_exits() {
    let upstream = Upstream::start().await;
    let text = common::proxy_file(&upstream.url(), CREDENTIALED, "")
        .replace("upstream_timeout = \"300ms\"", "upstream_timeout = \"5s\"");
    let mut proxy = Process::start(&text);
    let url = proxy.url("/slow?ms=500");
    let in_flight = tokio::spawn(async move { get(&url, &[("origin", APP)]).await });
    upstream.state.slow_arrived.notified().await;

    proxy.signal(Signal::TERM);
    proxy.wait_for_log(0, "SIGTERM").await;
    // No new connections once it drains (polled: the listener closes a
    // moment after the signal).
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(proxy.addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting connections after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let answer = in_flight.await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "slow done");
    assert_eq!(answer.header("access-control-allow-origin"), Some(APP));

    let status = proxy.wait(Duration::from_secs(5)).await;
    assert!(status.success(), "{status:?}");
    let log = proxy.log().join("\n");
    assert!(log.contains("draining"), "{log}");
    assert!(log.contains("every connection finished"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_what_the_grace_period_did_not_finish() {
    let upstream = Upstream::start().await;
    let text = common::proxy_file(&upstream.url(), CREDENTIALED, "")
        .replace("shutdown_grace = \"2s\"", "shutdown_grace = \"300ms\"")
        .replace("upstream_timeout = \"300ms\"", "upstream_timeout = \"30s\"");
    let mut proxy = Process::start(&text);
    let url = proxy.url("/slow?ms=20000");
    let in_flight = tokio::spawn(async move {
        client()
            .request(Request::get(url).body(empty()).unwrap())
            .await
    });
    upstream.state.slow_arrived.notified().await;
    let start = Instant::now();
    proxy.signal(Signal::TERM);
    let status = proxy.wait(Duration::from_secs(5)).await;
    assert!(status.success(), "{status:?}");
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "exited before the grace period"
    );
    let outcome = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.is_err(), "{outcome:?}");
    assert!(
        proxy.log().join("\n").contains("grace period over"),
        "{:?}",
        proxy.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_shuts_down_too() {
    let upstream = Upstream::start().await;
    let mut proxy = Process::start(&common::proxy_file(&upstream.url(), CREDENTIALED, ""));
    assert_eq!(get(&proxy.url("/"), &[]).await.status, StatusCode::OK);
    proxy.signal(Signal::INT);
    let status = proxy.wait(Duration::from_secs(5)).await;
    assert!(status.success(), "{status:?}");
    assert!(proxy.log().join("\n").contains("SIGINT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_a_valid_file_and_keeps_the_policy_on_an_invalid_one() {
    const NEXT: &str = "https://next.example.com";
    let upstream = Upstream::start().await;
    let file = |cors: &str| common::proxy_file(&upstream.url(), cors, "");
    let proxy = Process::start(&file(&format!("allow_origins = [\"{APP}\"]")));
    let url = proxy.url("/x");
    assert_eq!(allow_origin(&url, APP).await.as_deref(), Some(APP));

    replace_file(&proxy.path, &file(&format!("allow_origins = [\"{NEXT}\"]")));
    let before = proxy.log().len();
    proxy.signal(Signal::HUP);
    let hup = proxy.wait_for_log(before, "SIGHUP").await;
    // The reload that SIGHUP asked for is logged after the signal (the
    // file watch could also have applied it, but it logs before).
    proxy.wait_for_log(hup, "configuration reloaded").await;
    assert_eq!(allow_origin(&url, NEXT).await.as_deref(), Some(NEXT));
    assert_eq!(allow_origin(&url, APP).await, None);

    // Invalid: two problems, each logged; the policy stays.
    replace_file(
        &proxy.path,
        &common::proxy_file(
            "ftp://upstream",
            "allow_origins = [\"https://example.com/path\"]",
            "",
        ),
    );
    let before = proxy.log().len();
    proxy.signal(Signal::HUP);
    let hup = proxy.wait_for_log(before, "SIGHUP").await;
    let rejected = proxy.wait_for_log(hup, "configuration not reloaded").await;
    let log = proxy.log();
    let problems: Vec<&String> = log[hup..rejected]
        .iter()
        .filter(|line| line.contains("\"level\":\"ERROR\""))
        .collect();
    assert!(
        problems.len() == 2
            && problems[0].contains("upstream: ")
            && problems[1].contains("cors.allow_origins[0]"),
        "{problems:#?}"
    );
    assert!(
        log[rejected].contains("\"problems\":2"),
        "{}",
        log[rejected]
    );
    assert_eq!(allow_origin(&url, NEXT).await.as_deref(), Some(NEXT));
}

/// 100 MB down (upstream to client) and 100 MB up (client to upstream)
/// through the proxy: every byte arrives in order, and the proxy's peak
/// resident memory stays far below a body's size. A count that does not
/// depend on timing: buffering either body would show as 100 MB more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_body_streams_each_way_in_bounded_memory() {
    const LIMIT_KB: u64 = 60 * 1024;
    let upstream = Upstream::start().await;
    let proxy = Process::start(&common::proxy_file(&upstream.url(), CREDENTIALED, ""));
    let client = client();
    let chunks = Pattern::CHUNKS_100_MB;

    let response = client
        .request(
            Request::get(proxy.url(&format!("/stream?chunks={chunks}")))
                .header("origin", APP)
                .body(empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], APP);
    let mut body = response.into_body();
    let mut check = PatternCheck::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            check.feed(&data);
        }
    }
    assert_eq!(check.bytes, Pattern::len(chunks));
    assert!(check.ok(), "the body broke at byte {:?}", check.broken_at);
    let after_download = proxy.peak_memory_kb();

    let counted = send(
        &client,
        Request::post(proxy.url("/count"))
            .header("origin", APP)
            .body(Pattern::body(chunks))
            .unwrap(),
    )
    .await;
    assert_eq!(counted.status, StatusCode::OK);
    let counted = counted.json();
    assert_eq!(counted["bytes"], Pattern::len(chunks));
    assert_eq!(counted["pattern"], true);

    let peak = proxy.peak_memory_kb();
    assert!(
        peak < LIMIT_KB,
        "the proxy's peak memory was {after_download} kB after 100 MB down and {peak} kB \
         after 100 MB up; limit {LIMIT_KB} kB"
    );
    println!("peak memory: {after_download} kB after the download, {peak} kB after the upload");
}
