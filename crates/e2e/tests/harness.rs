//! The harness itself, in each engine: names, scripts and clean-up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use corsair_e2e::{Browser, Engine, blank_page, per_engine, serve};
use serde_json::json;

per_engine!(
    localhost_and_127_0_0_1_reach_the_same_server,
    where_localhost_goes,
    script_results_and_errors,
    dropping_a_browser_removes_its_profile_and_processes,
);

/// A server bound on `127.0.0.1` is reached as `localhost` and as
/// `127.0.0.1`; both are secure contexts, and different sites.
async fn localhost_and_127_0_0_1_reach_the_same_server(engine: Engine) {
    let server = serve(blank_page()).await.unwrap();
    let started = Instant::now();
    let browser = Browser::launch_engine(engine).await.unwrap();
    println!(
        "{} {} launched in {:.1?}",
        engine.product(),
        browser.version(),
        started.elapsed()
    );
    assert_eq!(browser.engine(), engine);
    assert!(!browser.version().is_empty());
    for host in ["localhost", "127.0.0.1"] {
        let origin = server.origin(host);
        browser.open(&format!("{origin}/some/page")).await.unwrap();
        let seen = browser
            .run(
                "return { origin: location.origin, secure: isSecureContext, args };",
                vec![json!(1), json!("two")],
            )
            .await
            .unwrap();
        assert_eq!(
            seen,
            json!({ "origin": origin, "secure": true, "args": [1, "two"] })
        );
    }
    browser.close().await.unwrap();
}

/// Which server `localhost` reaches when one listens on `127.0.0.1:P` and
/// another on `[::1]:P`: the test servers listen on `127.0.0.1` only, so
/// the harness makes Chromium (`--host-resolver-rules`) and Firefox
/// (`network.dns.disableIPv6`) use it. MiniBrowser cannot be told: GLib
/// resolves `localhost` to `::1` then `127.0.0.1` whatever `/etc/hosts`
/// says, so WebKit reaches `[::1]:P` when something listens there, and
/// `127.0.0.1:P` after a refused connection otherwise (which is what the
/// tests rely on). Without IPv6 on the machine, every engine reaches
/// `127.0.0.1`.
async fn where_localhost_goes(engine: Engine) {
    let v4 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = v4.local_addr().unwrap().port();
    let v6 = tokio::net::TcpListener::bind(format!("[::1]:{port}")).await;
    let answer = |text: &'static str| {
        axum::Router::new().fallback(move || async move {
            axum::response::Html(format!("<!doctype html><body>{text}</body>"))
        })
    };
    let v4_task = tokio::spawn(async move { axum::serve(v4, answer("127.0.0.1")).await });
    let v6_task = match v6 {
        Ok(v6) => Some(tokio::spawn(
            async move { axum::serve(v6, answer("::1")).await },
        )),
        Err(error) => {
            println!("no IPv6 loopback here ({error}): every engine must reach 127.0.0.1");
            None
        }
    };
    let browser = Browser::launch_engine(engine).await.unwrap();
    browser
        .open(&format!("http://localhost:{port}/"))
        .await
        .unwrap();
    let reached = browser
        .run(
            "const fetched = await (await fetch('/again')).text();
             return [document.body.textContent, fetched.includes('::1') ? '::1' : '127.0.0.1'];",
            vec![],
        )
        .await
        .unwrap();
    browser.close().await.unwrap();
    let expected = match (engine, v6_task.is_some()) {
        (Engine::WebKit, true) => "::1",
        _ => "127.0.0.1",
    };
    assert_eq!(reached, json!([expected, expected]), "{engine}");
    v4_task.abort();
    if let Some(task) = v6_task {
        task.abort();
    }
}

/// A script that throws is an error that says what it threw; `undefined`
/// is `null`.
async fn script_results_and_errors(engine: Engine) {
    let server = serve(blank_page()).await.unwrap();
    let browser = Browser::launch_engine(engine).await.unwrap();
    browser.open(&server.origin("localhost")).await.unwrap();
    assert_eq!(browser.run("return;", vec![]).await.unwrap(), json!(null));
    assert_eq!(
        browser
            .run(
                "await new Promise((r) => setTimeout(r, 10)); return 42;",
                vec![]
            )
            .await
            .unwrap(),
        json!(42)
    );
    let error = browser
        .run("throw new RangeError('out of bounds');", vec![])
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("RangeError: out of bounds"), "{error}");
    browser.close().await.unwrap();
}

/// A browser dropped without `close` (a test that panicked) still goes
/// away with its profile, and leaves no process of its group behind
/// (WebKit's Xvfb included).
async fn dropping_a_browser_removes_its_profile_and_processes(engine: Engine) {
    let browser = Browser::launch_engine(engine).await.unwrap();
    let profile = browser.profile_dir().to_owned();
    let display = browser.driver().display();
    assert_eq!(display.is_some(), engine == Engine::WebKit);
    let group = group_of_driver(&browser);
    assert!(
        !processes_in_group(group).is_empty(),
        "no process in group {group}"
    );
    assert!(profile.exists());
    drop(browser);
    assert!(!profile.exists(), "{} is left behind", profile.display());
    let left = processes_in_group(group);
    assert!(left.is_empty(), "left running: {left:?}");
    if let Some(display) = display {
        let lock = format!("/tmp/.X{display}-lock");
        assert!(
            !std::path::Path::new(&lock).exists(),
            "{lock} is left behind"
        );
    }
}

/// The process group of the browser's WebDriver server (its first
/// process leads it).
fn group_of_driver(browser: &Browser) -> i32 {
    let port = browser.driver().port();
    // The server listens on its port: find the process group through
    // /proc, as the process whose command line names the port.
    let groups: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline
                .contains(&port.to_string())
                .then(|| group_of(pid))
                .flatten()
        })
        .collect();
    assert!(!groups.is_empty(), "no process mentions port {port}");
    groups[0]
}

/// The process group of `pid`, from `/proc/PID/stat` (field 5).
fn group_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may contain spaces.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(2)?.parse().ok()
}

/// The live (not zombie) processes of process group `group`, as
/// `pid name`.
fn processes_in_group(group: i32) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| group_of(pid) == Some(group))
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let state = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .next()?
                .to_owned();
            (state != "Z").then(|| format!("{pid} {}", stat.split(')').next().unwrap_or("")))
        })
        .collect()
}
