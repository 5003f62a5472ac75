//! `corsair proxy` under faults and load, as a process: malformed and
//! oversized requests, thousands of `Origin` headers, slowloris clients, an
//! upstream that dies mid-body, and a thousand concurrent connections with
//! reloads every second. Nothing may crash; every answer is either correct
//! or a clean `4xx`/`5xx`; afterwards the process's file descriptors and
//! open-connection gauge are back to their baseline and its memory near it.
//!
//! The load runs for `CORSAIR_SOAK_SECONDS` (default 10) in
//! `CORSAIR_SOAK_ROUNDS` rounds (default 2); the 30 s soak is
//! `CORSAIR_SOAK_SECONDS=30 cargo test -p corsair-cli --test proxy_faults`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::process::{Process, replace_file};
use common::{APP, CREDENTIALED, Upstream, full, get, sample};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use rustix::process::{Resource, Rlimit, Signal, getrlimit, setrlimit};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Raises this process's open-file limit (inherited by the proxy) so that
/// a thousand connections on each side fit.
fn raise_file_limit() {
    let limit = getrlimit(Resource::Nofile);
    let wanted = limit.maximum.unwrap_or(65_536).min(65_536);
    if limit.current.unwrap_or(0) < wanted {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(wanted),
                maximum: limit.maximum,
            },
        )
        .unwrap();
    }
}

/// Sends `bytes` on a fresh connection and reads what comes back until the
/// proxy closes it (or 5 s pass): the status code of the first response,
/// if there was a well-formed one.
async fn raw(proxy: &Process, bytes: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    // The proxy may close the connection before taking everything.
    let _ = stream.write_all(bytes).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next()?;
    let code = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    code.parse().ok()
}

/// Waits until the proxy's open-connection gauge reads 0 (at most 10 s).
async fn connections_closed(proxy: &Process) {
    let admin = proxy.admin.expect("an admin listener");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = get(&format!("http://{admin}/metrics"), &[]).await;
        // The metrics request itself is on the admin listener, not counted.
        if sample(metrics.text(), "corsair_open_connections") == 0.0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "connections still open:\n{}",
            metrics.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the proxy's file descriptors are back to at most
/// `baseline` (the upstream pool may keep fewer) (at most 10 s).
async fn files_back_to(proxy: &Process, baseline: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open = proxy.open_files();
        if open <= baseline {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{open} file descriptors open, {baseline} before"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_slow_clients_get_clean_answers() {
    let upstream = Upstream::start().await;
    let proxy = Process::start(&common::proxy_file(&upstream.url(), CREDENTIALED, ""));
    // Warm up: the admin client, the upstream pool.
    let url = format!("http://{}/x", proxy.addr);
    assert_eq!(get(&url, &[("origin", APP)]).await.status, StatusCode::OK);
    connections_closed(&proxy).await;
    let baseline = proxy.open_files();

    // Malformed requests: a clean 400 (or a closed connection), never a
    // crash.
    let malformed: [&[u8]; 6] = [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"\x00\x01\x02\xff\xfe\r\n\r\n",
    ];
    for bytes in malformed {
        let status = raw(&proxy, bytes).await;
        assert!(
            status.is_none_or(|code| (400..500).contains(&code)),
            "{:?} got {status:?}",
            String::from_utf8_lossy(bytes)
        );
    }

    // 64 KiB of headers (the default limit): 431, or a closed connection.
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nOrigin: {APP}\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let status = raw(&proxy, big.as_bytes()).await;
    assert!(status.is_none_or(|code| code == 431), "{status:?}");

    // Thousands of Origin headers: refused cleanly (too many headers), and
    // a handful are a malformed origin: no CORS headers.
    let mut many = String::from("GET /x HTTP/1.1\r\nHost: x\r\n");
    for _ in 0..2000 {
        many.push_str("Origin: https://app.example.com\r\n");
    }
    many.push_str("\r\n");
    let status = raw(&proxy, many.as_bytes()).await;
    assert!(
        status.is_none_or(|code| (400..500).contains(&code)),
        "{status:?}"
    );
    let twice = get(&url, &[("origin", APP), ("origin", APP)]).await;
    assert_eq!(twice.status, StatusCode::OK);
    assert_eq!(twice.header("access-control-allow-origin"), None);

    // Slowloris: 200 connections that never finish their headers are cut
    // off by header_read_timeout (1 s in the test file) while a normal
    // client is still served.
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    assert_eq!(get(&url, &[("origin", APP)]).await.status, StatusCode::OK);
    for mut stream in slow {
        let mut rest = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "a slowloris connection was kept open");
    }

    assert!(proxy.child.id() > 0 && proxy_alive(&proxy));
    connections_closed(&proxy).await;
    files_back_to(&proxy, baseline).await;
}

fn proxy_alive(proxy: &Process) -> bool {
    std::path::Path::new(&format!("/proc/{}", proxy.child.id())).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_dies_mid_body_cuts_that_response_only() {
    // The upstream sends half a body, then fails the stream (its
    // connection is reset mid-body).
    let upstream = Upstream::with_app(Arc::new(|_request, _state| {
        Box::pin(async {
            // The head and a first piece go out; a moment later the
            // stream fails and hyper resets the connection.
            let chunks = futures_util::stream::unfold(0, |step| async move {
                match step {
                    0 => Some((
                        Ok::<_, common::BoxError>(Frame::data(Bytes::from_static(
                            b"half of the body ",
                        ))),
                        1,
                    )),
                    1 => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Some((Err(std::io::Error::other("the upstream died").into()), 2))
                    }
                    _ => None,
                }
            });
            let mut response = Response::new(http_body_util::StreamBody::new(chunks).boxed());
            response
                .headers_mut()
                .insert("content-length", http::HeaderValue::from_static("1000"));
            response
        })
    }))
    .await;
    let proxy = Process::start(&common::proxy_file(&upstream.url(), CREDENTIALED, ""));
    for _ in 0..20 {
        let stream = TcpStream::connect(proxy.addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::get("/stream")
            .header("host", "x")
            .header("origin", APP)
            .body(full(""))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        // The head arrived with the policy's headers; the body is cut.
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["access-control-allow-origin"], APP,);
        assert!(response.into_body().collect().await.is_err());
    }
    assert!(proxy_alive(&proxy));
    connections_closed(&proxy).await;
}

/// The idle upstream connections the load test's proxy may keep.
const IDLE: usize = 16;

/// The two policies the load test alternates between; both allow `APP`.
fn policy(generation: u64) -> String {
    CREDENTIALED.replace(
        "expose_headers = [\"x-request-id\"]",
        &format!("expose_headers = [\"x-generation-{}\"]", generation % 2),
    )
}

/// A thousand connections sending requests for `seconds`, while the file
/// is rewritten and SIGHUP sent every second (an invalid file every third
/// time, which must change nothing). Returns the requests served; panics on
/// a wrong answer, a failed connection or any error status.
async fn load(proxy: &Process, seconds: u64, file: &dyn Fn(u64) -> String) -> u64 {
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..1000 {
        let (stop, ok) = (stop.clone(), ok.clone());
        let addr = proxy.addr;
        clients.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            while !stop.load(Ordering::Relaxed) {
                let request = Request::get("/x")
                    .header("host", "x")
                    .header("origin", APP)
                    .body(full(""))
                    .unwrap();
                let response = sender
                    .send_request(request)
                    .await
                    .unwrap_or_else(|error| panic!("a connection failed: {error}"));
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                // Correct: the upstream's body, and one of the two
                // policies' headers, whole, whatever reload was under way.
                assert_eq!(status, StatusCode::OK);
                assert_eq!(&body[..], b"upstream /x");
                assert_eq!(headers["access-control-allow-origin"], APP);
                assert_eq!(headers["access-control-allow-credentials"], "true");
                let exposed = headers["access-control-expose-headers"].to_str().unwrap();
                assert!(
                    exposed == "x-generation-0" || exposed == "x-generation-1",
                    "{exposed}"
                );
                ok.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let started = Instant::now();
    let mut generation = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        generation += 1;
        if generation % 3 == 0 {
            replace_file(&proxy.path, "upstream = 3\n[cors]\n");
        } else {
            replace_file(&proxy.path, &file(generation));
        }
        proxy.signal(Signal::HUP);
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    // Leave a valid file behind for the next round.
    replace_file(&proxy.path, &file(0));
    proxy.signal(Signal::HUP);
    ok.load(Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_with_reloads_every_second() {
    raise_file_limit();
    let seconds: u64 = std::env::var("CORSAIR_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let upstream = Upstream::start().await;
    let file = |generation: u64| {
        common::proxy_file(&upstream.url(), &policy(generation), "")
            .replace("upstream_timeout = \"300ms\"", "upstream_timeout = \"10s\"")
            .replace(
                "header_read_timeout = \"1s\"",
                "header_read_timeout = \"10s\"",
            )
            .replace(
                "[limits]",
                &format!("[limits]\nmax_idle_upstream_connections = {IDLE}"),
            )
    };
    let proxy = Process::start(&file(0));
    let url = format!("http://{}/x", proxy.addr);
    assert_eq!(get(&url, &[("origin", APP)]).await.status, StatusCode::OK);
    connections_closed(&proxy).await;
    let baseline_files = proxy.open_files();
    let baseline_memory = proxy.memory_kb();

    // Rounds of a thousand connections (2 by default, sharing the time).
    // After each, every connection is closed, the descriptors are back (the
    // upstream pool keeps at most IDLE) and so is the memory: the proxy's
    // allocator (jemalloc, purging in the background) returns what the
    // burst used within a few seconds. The margin covers the idle upstream
    // connections' buffers and the allocator's own bookkeeping.
    let count: u64 = std::env::var("CORSAIR_SOAK_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2)
        .max(1);
    let each = seconds.div_ceil(count);
    let mut rounds = Vec::new();
    for _ in 0..count {
        let served = load(&proxy, each, &file).await;
        assert!(served > 1000, "only {served} requests served");
        assert!(proxy_alive(&proxy));
        connections_closed(&proxy).await;
        files_back_to(&proxy, baseline_files + IDLE).await;
        let settled = memory_settles(&proxy, baseline_memory + MEMORY_MARGIN_KB).await;
        rounds.push((served, settled));
    }
    eprintln!(
        "rounds (requests served, kB once settled): {rounds:?}; {baseline_memory} kB before, \
         peak {} kB",
        proxy.peak_memory_kb()
    );
    let first = rounds[0].1;
    for (round, (_, settled)) in rounds.iter().enumerate().skip(1) {
        assert!(
            *settled <= first + GROWTH_MARGIN_KB,
            "memory grew: {first} kB after round 1, {settled} kB after round {}",
            round + 1
        );
    }
}

/// How far above its idle size the proxy's memory may settle after a burst.
const MEMORY_MARGIN_KB: u64 = 16 * 1024;

/// How much more memory a later round may settle at than the first: a
/// leak of 100 bytes per request would exceed it within two rounds.
const GROWTH_MARGIN_KB: u64 = 4 * 1024;

/// Waits until the proxy's resident memory has stopped falling (no drop
/// for a second, at most 10 s), asserts that it is at most `limit` kB, and
/// returns it.
async fn memory_settles(proxy: &Process, limit: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lowest = proxy.memory_kb();
    let mut since = Instant::now();
    while Instant::now() < deadline && since.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = proxy.memory_kb();
        if now < lowest {
            lowest = now;
            since = Instant::now();
        }
    }
    assert!(
        lowest <= limit,
        "memory did not come back: {lowest} kB, {limit} kB allowed"
    );
    lowest
}
