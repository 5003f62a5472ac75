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

use std::time::{Duration, Instant};

use common::process::{Process, replace_file};
use common::{APP, CREDENTIALED, Pattern, PatternCheck, Upstream, client, empty, get, send};
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use rustix::process::Signal;

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
