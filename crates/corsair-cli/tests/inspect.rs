//! `corsair check`, `explain` and `probe`, through the binary: exit codes,
//! the places and fixes they print, their JSON, and a snapshot of an
//! explanation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use assert_cmd::Command;
use axum::Router;
use axum::routing::get;
use corsair::{Config, Cors};
use serde_json::Value;
use tempfile::TempDir;

const PROXY_FILE: &str = r#"upstream = "http://127.0.0.1:3000"

[cors]
allow_origins = ["https://app.example.com"]
allow_credentials = true
allow_methods = ["GET", "PUT", "DELETE"]
allow_headers = ["content-type"]
expose_headers = ["x-request-id"]
max_age = 600
cross_origin_protection = true

[[routes]]
path_prefix = "/public/"
[routes.cors]
allow_origins = ["*"]
"#;

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn corsair() -> Command {
    Command::cargo_bin("corsair").unwrap()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(command: &mut Command) -> Run {
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn check_accepts_a_sound_file_and_points_at_every_error() {
    let dir = TempDir::new().unwrap();
    let good = write(&dir, "proxy.toml", PROXY_FILE);
    let result = run(corsair().arg("check").arg(&good));
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    assert!(
        result.stdout.contains("valid proxy file, 0 warnings"),
        "{}",
        result.stdout
    );

    let bad = write(
        &dir,
        "bad.toml",
        &PROXY_FILE
            .replace(
                "\"https://app.example.com\"]",
                "\"https://app.example.com/\", \"*\"]",
            )
            .replace("max_age = 600", "max_age = 86400"),
    );
    let result = run(corsair().arg("check").arg(&bad));
    assert_eq!(result.code, 1, "{}", result.stdout);
    assert!(
        result.stdout.contains("bad.toml:4:18]"),
        "{}",
        result.stdout
    );
    assert!(
        result.stdout.contains("bad.toml:4:46]"),
        "{}",
        result.stdout
    );
    assert!(
        result
            .stdout
            .contains("invalid proxy file: 2 errors, 1 warning"),
        "{}",
        result.stdout
    );
    assert!(!result.stderr.contains("panicked"), "{}", result.stderr);

    let result = run(corsair().args(["check", "--format", "json"]).arg(&bad));
    assert_eq!(result.code, 1);
    let report: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["kind"], "proxy");
    let diagnostics = report["diagnostics"].as_array().unwrap();
    let summary: Vec<(String, String, u64)> = diagnostics
        .iter()
        .map(|d| {
            (
                d["level"].as_str().unwrap().to_owned(),
                d["field"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("error".to_owned(), "cors.allow_origins[0]".to_owned(), 4),
            ("error".to_owned(), "cors.allow_origins[1]".to_owned(), 4),
            ("warning".to_owned(), "cors.max_age".to_owned(), 9),
        ]
    );
}

#[test]
fn check_reads_bare_policies_and_can_deny_warnings() {
    let dir = TempDir::new().unwrap();
    let policy = write(
        &dir,
        "cors.json",
        r#"{"allow_origins": ["https://*.example.com"], "allow_credentials": true,
            "cross_origin_protection": true}"#,
    );
    let result = run(corsair().arg("check").arg(&policy));
    assert_eq!(result.code, 0, "{}", result.stdout);
    assert!(
        result.stdout.contains("[wildcard-subdomains]"),
        "{}",
        result.stdout
    );
    assert!(
        result.stdout.contains("valid policy, 1 warning"),
        "{}",
        result.stdout
    );
    let result = run(corsair().args(["check", "--deny-warnings"]).arg(&policy));
    assert_eq!(result.code, 1);
    assert!(
        result
            .stdout
            .contains("invalid policy: warnings denied, 1 warning"),
        "{}",
        result.stdout
    );

    // A file that cannot be read is an error (2), not an invalid file (1).
    let result = run(corsair().arg("check").arg(dir.path().join("missing.toml")));
    assert_eq!(result.code, 2);
    assert!(
        result.stderr.starts_with("corsair: cannot read "),
        "{}",
        result.stderr
    );
}

#[test]
fn explain_shows_the_preflight_the_answer_and_the_fix() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "proxy.toml", PROXY_FILE);
    let explain = |extra: &[&str]| {
        run(corsair()
            .arg("explain")
            .arg("--config")
            .arg(&file)
            .args(["--url", "https://api.example.com/items/1"])
            .args(extra))
    };

    let allowed = explain(&[
        "--origin",
        "https://app.example.com",
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/json",
        "--credentials",
    ]);
    assert_eq!(allowed.code, 0, "{}", allowed.stdout);
    insta::assert_snapshot!("explain_allowed_put", allowed.stdout);

    let blocked = explain(&[
        "--origin",
        "https://app.example.com",
        "-X",
        "PATCH",
        "--credentials",
    ]);
    assert_eq!(blocked.code, 1, "{}", blocked.stdout);
    assert!(
        blocked
            .stdout
            .contains("Verdict: BLOCKED in Chromium, Firefox and WebKit."),
        "{}",
        blocked.stdout
    );
    assert!(
        blocked.stdout.contains(
            "why: the method PATCH is not allowed by [cors]: add \"PATCH\" to its allow_methods"
        ),
        "{}",
        blocked.stdout
    );

    // One engine: the transcript's object, with the engine's name.
    let json = explain(&[
        "--origin",
        "https://evil.example",
        "--credentials",
        "--browser",
        "chromium",
        "--format",
        "json",
    ]);
    assert_eq!(json.code, 1);
    let transcript: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(transcript["browser"], "chromium");
    assert_eq!(transcript["allowed"], false);
    assert_eq!(transcript["preflight"], Value::Null);
    assert_eq!(transcript["cookies"], serde_json::json!([]));
    assert!(
        transcript["console"]
            .as_str()
            .unwrap()
            .contains("has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header"),
        "{transcript}"
    );
    // Every engine (the default): one object per engine under "verdicts".
    let json = explain(&[
        "--origin",
        "https://evil.example",
        "--credentials",
        "--format",
        "json",
    ]);
    assert_eq!(json.code, 1);
    let all: Value = serde_json::from_str(&json.stdout).unwrap();
    for engine in ["chromium", "firefox", "webkit"] {
        assert_eq!(all["verdicts"][engine]["browser"], engine, "{all}");
        assert_eq!(all["verdicts"][engine]["allowed"], false, "{all}");
    }
    assert!(
        all["verdicts"]["webkit"]["console"]
            .as_str()
            .unwrap()
            .starts_with(
                "Origin https://evil.example is not allowed by Access-Control-Allow-Origin."
            ),
        "{all}"
    );

    // The route's policy answers under its prefix.
    let public = run(corsair()
        .arg("explain")
        .arg("--config")
        .arg(&file)
        .args(["--url", "https://api.example.com/public/logo.png"])
        .args(["--origin", "https://anyone.example"]));
    assert_eq!(public.code, 0, "{}", public.stdout);
    assert!(
        public.stdout.contains("< access-control-allow-origin: *"),
        "{}",
        public.stdout
    );

    // Issue 15: a path is a path on the proxy's own address, never on the
    // page's origin (which made it same-origin and ALLOWED).
    let path = run(corsair()
        .arg("explain")
        .arg("--config")
        .arg(&file)
        .args(["--url", "/items/1"])
        .args(["--origin", "https://evil.example", "--credentials"]));
    assert_eq!(path.code, 1, "{}", path.stdout);
    assert!(
        !path.stdout.contains("https://evil.example/items")
            && path.stdout.contains("/items/1 with fetch")
            && path
                .stdout
                .contains("Verdict: BLOCKED in Chromium, Firefox and WebKit."),
        "{}",
        path.stdout
    );
}

#[test]
fn explain_refuses_what_is_not_a_request() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "proxy.toml", PROXY_FILE);
    for (args, message) in [
        (
            vec!["--origin", "app.example.com"],
            "--origin \"app.example.com\": not an origin; write scheme://host[:port]",
        ),
        // Issue 15: never resolved against the page's origin, never
        // guessed.
        (
            vec![
                "--origin",
                "https://app.example.com",
                "--url",
                "api.example.com/items",
            ],
            "\"api.example.com/items\" has no scheme: write http://api.example.com/items or \
             https://api.example.com/items, or a path starting with /",
        ),
        (
            vec!["--origin", "https://app.example.com", "-H", "no colon"],
            "must be written 'Name: value'",
        ),
    ] {
        let result = run(corsair()
            .arg("explain")
            .arg("--config")
            .arg(&file)
            .args(&args));
        // A usage error exits 2: 1 means "blocked".
        assert_eq!(result.code, 2, "{args:?}");
        assert!(result.stderr.contains(message), "{}", result.stderr);

        // Under --format json the error is also a JSON object on stdout.
        let result = run(corsair()
            .arg("explain")
            .arg("--config")
            .arg(&file)
            .args(&args)
            .args(["--format", "json"]));
        assert_eq!(result.code, 2, "{args:?}");
        let error: Value = serde_json::from_str(&result.stdout).unwrap();
        assert!(
            error["error"].as_str().unwrap().contains(message),
            "{}",
            result.stdout
        );
    }
}

/// An API behind corsair's tower layer, for `probe`; its `/moved`
/// redirects to a second server that sends no CORS header.
async fn api() -> std::net::SocketAddr {
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere = format!("http://{}/elsewhere", plain.local_addr().unwrap());
    let bare = Router::new().route("/elsewhere", get(|| async { "no CORS here" }));
    tokio::spawn(async move { axum::serve(plain, bare).await });
    let cors = Cors::new(Config {
        allow_origins: vec!["https://app.example.com".into()],
        allow_credentials: true,
        allow_methods: vec!["PUT".into()],
        allow_headers: vec!["content-type".into()],
        ..Config::default()
    })
    .unwrap();
    let app = Router::new()
        .route(
            "/items/1",
            get(|| async { "item" }).put(|| async { "saved" }),
        )
        // A redirect with the CORS headers, to a resource without them.
        .route(
            "/moved",
            get(move || async move { axum::response::Redirect::temporary(&elsewhere) }),
        )
        .layer(cors);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_exit_codes_follow_the_browser_verdict() {
    let addr = api().await;
    let url = format!("http://{addr}/items/1");
    let probe = move |args: Vec<String>| {
        tokio::task::spawn_blocking(move || run(corsair().arg("probe").args(args)))
    };

    let allowed = probe(vec![
        url.clone(),
        "--origin".into(),
        "https://app.example.com".into(),
        "-X".into(),
        "PUT".into(),
        "-H".into(),
        "content-type: application/json".into(),
        "--credentials".into(),
    ])
    .await
    .unwrap();
    assert_eq!(allowed.code, 0, "{}", allowed.stdout);
    assert!(
        allowed.stdout.contains("> OPTIONS /items/1"),
        "{}",
        allowed.stdout
    );
    assert!(
        allowed.stdout.contains("< 204 No Content"),
        "{}",
        allowed.stdout
    );
    assert!(
        allowed
            .stdout
            .contains("Verdict: ALLOWED in Chromium, Firefox and WebKit."),
        "{}",
        allowed.stdout
    );

    let blocked = probe(vec![
        url.clone(),
        "--origin".into(),
        "https://evil.example".into(),
        "--credentials".into(),
    ])
    .await
    .unwrap();
    assert_eq!(blocked.code, 1, "{}", blocked.stdout);
    assert!(
        blocked.stdout.contains("No preflight"),
        "{}",
        blocked.stdout
    );
    assert!(
        blocked
            .stdout
            .contains("Verdict: BLOCKED in Chromium, Firefox and WebKit."),
        "{}",
        blocked.stdout
    );

    // Issue 15 and 16: the 307 passes the CORS check, and the browser
    // follows it to a server that sends no CORS header, with `Origin: null`
    // (a hop between two origins that are not the page's): blocked there,
    // as in every engine.
    let redirected = probe(vec![
        format!("http://{addr}/moved"),
        "--origin".into(),
        "https://app.example.com".into(),
    ])
    .await
    .unwrap();
    assert_eq!(redirected.code, 1, "{}", redirected.stdout);
    let out = &redirected.stdout;
    assert!(
        out.contains("The browser follows the redirect to http://127.0.0.1:")
            && out.contains("> origin: null")
            && out.contains("< 307 Temporary Redirect")
            && out.contains("Verdict: BLOCKED in Chromium, Firefox and WebKit.")
            && out.contains(&format!("(redirected from 'http://{addr}/moved')"))
            && !out.contains("ALLOWED"),
        "{out}"
    );

    // Nothing listens on port 9 of loopback (the discard port): exit 2.
    let unreachable = probe(vec![
        "http://127.0.0.1:9/".into(),
        "--origin".into(),
        "https://app.example.com".into(),
    ])
    .await
    .unwrap();
    assert_eq!(unreachable.code, 2, "{}", unreachable.stderr);
    assert!(
        unreachable.stderr.starts_with("corsair: could not probe: "),
        "{}",
        unreachable.stderr
    );
}

/// Issue 15: explain's answer has no application behind it, so an exposed
/// header it does not carry is named as readable when the real response
/// has it, not hidden behind "only the safelisted ones".
#[test]
fn explain_names_exposed_headers() {
    let dir = TempDir::new().unwrap();
    let policy = write(
        &dir,
        "cors.toml",
        "allow_origins = [\"https://app.example.com\"]\nexpose_headers = [\"x-request-id\"]\n",
    );
    let result = run(corsair()
        .args([
            "explain",
            "--origin",
            "https://app.example.com",
            "--url",
            "https://api.example.com/a",
            "--config",
        ])
        .arg(&policy));
    assert_eq!(result.code, 0, "{}", result.stdout);
    assert!(
        result
            .stdout
            .contains("when the response has them (Access-Control-Expose-Headers): x-request-id"),
        "{}",
        result.stdout
    );
}

#[test]
fn explain_says_when_a_route_only_reports() {
    let dir = TempDir::new().unwrap();
    let file = write(
        &dir,
        "proxy.toml",
        "upstream = \"http://127.0.0.1:3000\"\n[cors]\nallow_origins = [\"https://app.example.com\"]\n\
         [[routes]]\nhost = \"legacy.example.com\"\n[routes.cors]\n\
         allow_origins = [\"https://app.example.com\"]\nmode = \"report-only\"\n",
    );
    let explain = |url: &str| {
        run(corsair()
            .args([
                "explain",
                "--origin",
                "https://app.example.com",
                "--url",
                url,
                "--config",
            ])
            .arg(&file))
    };
    let legacy = explain("http://legacy.example.com/items");
    assert_eq!(legacy.code, 0, "{}", legacy.stdout);
    assert!(
        legacy.stderr.contains(
            "note: the [[routes]] entry with host = \"legacy.example.com\" is in report-only mode"
        ),
        "{}",
        legacy.stderr
    );
    let enforced = explain("http://api.example.com/items");
    assert_eq!(enforced.code, 0, "{}", enforced.stdout);
    assert!(
        !enforced.stderr.contains("report-only"),
        "{}",
        enforced.stderr
    );
}

/// Issue 15: a file larger than a document may be is refused before it is
/// read whole (`/dev/zero` never ends).
#[test]
fn check_refuses_an_endless_file() {
    let result = run(corsair().args(["check", "/dev/zero"]));
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("cannot read /dev/zero: the file is larger than 64 MiB"),
        "{}",
        result.stderr
    );
}

/// Issue 15: the global logging options stand apart from a command's own.
#[test]
fn help_sets_the_global_options_apart() {
    let result = run(corsair().args(["check", "--help"]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let (own, global) = result
        .stdout
        .split_once("Global options:")
        .unwrap_or_else(|| panic!("no global section:\n{}", result.stdout));
    assert!(own.contains("--deny-warnings"), "{}", result.stdout);
    assert!(global.contains("--log-format") && global.contains("--log-level"));
    assert!(!own.contains("--log-format"), "{}", result.stdout);
}

/// Issue 15: the spelling `check` suggests is valid itself: one round.
#[test]
fn check_suggests_the_final_spelling_in_one_step() {
    let dir = TempDir::new().unwrap();
    let policy = write(
        &dir,
        "cors.toml",
        "allow_origins = [\"https://App.example.com:443/\"]\n",
    );
    let result = run(corsair().args(["check", "--format", "json"]).arg(&policy));
    assert_eq!(result.code, 1, "{}", result.stdout);
    let report: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    let message = report["diagnostics"][0]["message"].as_str().unwrap();
    assert!(
        message.ends_with("write https://app.example.com"),
        "{message}"
    );
}

/// Issue 16: for a credentialed request, probe says what each engine does
/// with every cookie the response sets, and why; one engine's JSON lists
/// them as `{name, stored, partitioned, sent_back, why}`. The page on
/// `localhost` calls an API on `127.0.0.1`, another site, that sets a
/// `SameSite=None; Secure` cookie over `http://`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_says_what_each_engine_does_with_the_cookies() {
    const PAGE: &str = "http://localhost:8080";
    let cors = Cors::new(Config {
        allow_origins: vec![PAGE.into()],
        allow_credentials: true,
        ..Config::default()
    })
    .unwrap();
    let app = Router::new()
        .route(
            "/login",
            get(|| async {
                (
                    [(
                        http::header::SET_COOKIE,
                        "session=1; Path=/; SameSite=None; Secure",
                    )],
                    "welcome",
                )
            }),
        )
        .layer(cors);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/login", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let probe = move |extra: &'static [&'static str]| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            run(corsair()
                .args(["probe", &url, "--origin", PAGE, "--credentials"])
                .args(extra))
        })
    };

    let all = probe(&[]).await.unwrap();
    assert_eq!(
        all.code, 0,
        "the request is allowed everywhere: {}",
        all.stdout
    );
    for line in [
        "Cookies the responses set:",
        "   session:",
        "   - REFUSED by Chromium: Chromium blocks third-party cookies in this profile",
        "   - stored by Firefox: Firefox keeps third-party cookies in the jar of the page's site, \
         http://localhost (Total Cookie Protection)",
        "   - REFUSED by WebKit: WebKit keeps no Secure cookie from an http:// URL, not even from \
         localhost: serve the API over https\n",
        "Verdict: ALLOWED in Chromium, Firefox and WebKit.",
    ] {
        assert!(all.stdout.contains(line), "{line}\n---\n{}", all.stdout);
    }

    let webkit = probe(&["--browser", "webkit", "--format", "json"])
        .await
        .unwrap();
    assert_eq!(webkit.code, 0, "{}", webkit.stdout);
    let transcript: Value = serde_json::from_str(&webkit.stdout).unwrap();
    assert_eq!(transcript["browser"], "webkit");
    let cookie = &transcript["cookies"][0];
    assert_eq!(cookie["name"], "session");
    assert_eq!(cookie["stored"], false);
    assert_eq!(cookie["partitioned"], false);
    assert!(
        cookie["why"]
            .as_str()
            .unwrap()
            .starts_with("WebKit keeps no Secure cookie from an http:// URL"),
        "{transcript}"
    );
    let firefox = probe(&["--browser", "firefox", "--format", "json"])
        .await
        .unwrap();
    let transcript: Value = serde_json::from_str(&firefox.stdout).unwrap();
    assert_eq!(transcript["cookies"][0]["stored"], true, "{transcript}");
    assert_eq!(
        transcript["cookies"][0]["partitioned"], true,
        "{transcript}"
    );
    assert_eq!(transcript["cookies"][0]["sent_back"], true, "{transcript}");
}

/// `--browser` takes one engine or `all`, and refuses anything else with
/// the spellings it takes (a usage error: exit 2).
#[test]
fn browser_names_are_checked() {
    let result = run(corsair().args([
        "probe",
        "http://127.0.0.1:9/",
        "--origin",
        "https://app.example.com",
        "--browser",
        "safari",
    ]));
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert!(
        result.stderr.contains(
            "unknown browser engine \"safari\": write chromium, firefox or webkit, or all"
        ),
        "{}",
        result.stderr
    );
}
