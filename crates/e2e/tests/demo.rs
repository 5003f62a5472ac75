//! `corsair demo` in a real browser: the trusted page's calls (fetch with
//! `credentials: "include"`, XMLHttpRequest with `withCredentials`) are all
//! allowed and use the session cookie, with the preflights the server saw;
//! the attacker's page makes the same calls and every one is blocked,
//! without a single state change reaching the application.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use corsair_cli::demo::{Demo, DemoArgs, Exchange};
use corsair_e2e::{Browser, Engine, per_engine};
use corsair_seed::{INTERNAL_HEADER, INTERNAL_HEADER_VALUE};
use serde_json::{Value, json};

/// The calls each page makes, in order, and whether a browser preflights
/// them.
const CALLS: [(&str, &str, &str, bool); 6] = [
    ("login", "POST", "/login", true),
    ("me", "GET", "/me", false),
    ("put", "PUT", "/items/1", true),
    ("get", "GET", "/items/1", false),
    ("patch", "PATCH", "/items/1", true),
    ("delete", "DELETE", "/items/1", true),
];

/// How long a page may take to run its calls.
const SEQUENCE_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits until the page's sequence has finished (`<body data-done>`), then
/// returns `window.demoResults` and the cards' `[data-call, data-verdict]`.
async fn results_when_done(browser: &Browser) -> (Vec<Value>, Value) {
    let started = Instant::now();
    loop {
        let seen = browser
            .run(
                r#"
                if (document.body.dataset.done !== "true") return null;
                const cards = [...document.querySelectorAll("article.card")]
                  .map((card) => [card.dataset.call, card.dataset.verdict]);
                return { results: window.demoResults, cards };
                "#,
                vec![],
            )
            .await
            .unwrap();
        if !seen.is_null() {
            let results = seen["results"].as_array().unwrap().clone();
            return (results, seen["cards"].clone());
        }
        assert!(
            started.elapsed() < SEQUENCE_TIMEOUT,
            "the page did not finish its calls within {SEQUENCE_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The exchanges of one call, as the API recorded them.
fn exchanges_of(demo: &Demo, id: &str) -> Vec<Exchange> {
    demo.exchanges()
        .into_iter()
        .filter(|exchange| exchange.call.as_deref() == Some(id))
        .collect()
}

fn json_body(result: &Value) -> Value {
    serde_json::from_str(result["body"].as_str().unwrap())
        .unwrap_or_else(|error| panic!("{error}: {result}"))
}

/// Where cargo puts build output: `$CARGO_TARGET_DIR`, else the
/// workspace's `target`.
fn target_dir() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if PathBuf::from(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// Writes a screenshot of the current page to `name` in the target
/// directory, and checks that the file is a PNG with something in it.
async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.client().screenshot().await.unwrap();
    let path = target_dir().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &png).unwrap();
    let written = std::fs::read(&path).unwrap();
    assert!(
        written.len() > 1000,
        "{} is {} bytes",
        path.display(),
        written.len()
    );
    assert!(
        written.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
}

/// Checks the trusted page's six calls, on the page and on the wire.
fn assert_page_allowed(demo: &Demo, results: &[Value], cards: &Value) {
    let origins = demo.origins();
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, CALLS.map(|(name, ..)| name), "{results:#?}");
    let expected_cards: Vec<Value> = CALLS
        .iter()
        .map(|(name, ..)| json!([name, "allowed"]))
        .collect();
    assert_eq!(cards, &json!(expected_cards));

    // What the script got.
    let status = |index: usize| results[index]["status"].as_u64();
    for result in results {
        assert_eq!(result["verdict"], "allowed", "{result}");
    }
    assert_eq!(status(0), Some(200));
    assert_eq!(json_body(&results[0]), json!({"user": "ada"}));
    assert_eq!(results[1]["api"], "XMLHttpRequest");
    assert_eq!(status(1), Some(200), "the session cookie went with /me");
    assert_eq!(json_body(&results[1]), json!({"user": "ada"}));
    assert_eq!(status(2), Some(201));
    assert_eq!(
        json_body(&results[2]),
        json!({"id": 1, "name": "buy milk", "done": false, "by": "ada"})
    );
    assert_eq!(status(3), Some(200));
    assert_eq!(
        json_body(&results[3]),
        json!({"id": 1, "name": "buy milk", "done": false, "by": "ada"})
    );
    assert_eq!(status(4), Some(200));
    assert_eq!(
        json_body(&results[4]),
        json!({"id": 1, "name": "buy milk", "done": true, "by": "ada"})
    );
    assert_eq!(status(5), Some(200));
    assert_eq!(json_body(&results[5]), json!({"deleted": 1, "by": "ada"}));
    // The exposed header is readable, the other one is not, though the
    // server sent it (checked on the wire below).
    let readable = &results[3]["readable"];
    assert!(readable.get("x-request-id").is_some(), "{readable}");
    assert!(readable.get(INTERNAL_HEADER).is_none(), "{readable}");

    // What the server saw: a preflight before each call that needs one,
    // answered by corsair with the page's origin and credentials, without
    // cookies and without reaching the application; then the call, with
    // the session cookie once logged in.
    for (result, (name, method, path, preflighted)) in results.iter().zip(CALLS) {
        let id = result["id"].as_str().unwrap();
        assert!(id.starts_with("page-"), "{id}");
        let seen = exchanges_of(demo, id);
        assert_eq!(result["preflight"], json!(preflighted), "{name}: {seen:#?}");
        let (preflights, actuals): (Vec<_>, Vec<_>) =
            seen.iter().partition(|exchange| exchange.preflight);
        assert_eq!(
            preflights.len(),
            usize::from(preflighted),
            "{name}: {seen:#?}"
        );
        for preflight in &preflights {
            assert_eq!(preflight.status, 204, "{name}: {preflight:#?}");
            assert!(!preflight.reached_app);
            assert_eq!(
                preflight.request_header("access-control-request-method"),
                Some(method)
            );
            assert_eq!(preflight.request_header("cookie"), None, "{preflight:#?}");
            assert_eq!(
                preflight.response_header("access-control-allow-origin"),
                Some(origins.page.as_str())
            );
            assert_eq!(
                preflight.response_header("access-control-allow-credentials"),
                Some("true")
            );
        }
        let [actual] = actuals.as_slice() else {
            panic!("{name}: one request expected: {seen:#?}");
        };
        assert_eq!(actual.method, method);
        assert!(
            actual.target.starts_with(&format!("{path}?call=")),
            "{actual:#?}"
        );
        assert!(actual.reached_app);
        assert_eq!(
            actual.response_header(INTERNAL_HEADER),
            Some(INTERNAL_HEADER_VALUE)
        );
        assert_eq!(actual.request_header("origin"), Some(origins.page.as_str()));
        assert_eq!(
            actual.response_header("access-control-allow-origin"),
            Some(origins.page.as_str())
        );
        // The log redacts cookie values; that one was sent is what counts.
        let cookie = actual.request_header("cookie");
        if name == "login" {
            assert_eq!(cookie, None);
            assert_eq!(
                actual.response_header("set-cookie"),
                Some("session=…; Path=/; HttpOnly; SameSite=Lax")
            );
        } else {
            assert_eq!(cookie, Some("session=…"), "{name}: {actual:#?}");
        }
    }
    // The page got the same log from its own origin.
    let login_log = results[0]["exchanges"].as_array().unwrap();
    assert_eq!(login_log.len(), 2, "{login_log:#?}");
    assert_eq!(login_log[0]["method"], "OPTIONS");
    assert_eq!(login_log[1]["method"], "POST");
}

/// Checks the attacker page's six calls: all blocked; the preflighted ones
/// stopped at a refused preflight, the simple ones reached the server,
/// which answered without CORS headers.
fn assert_attacker_blocked(demo: &Demo, results: &[Value], cards: &Value) {
    let expected_cards: Vec<Value> = CALLS
        .iter()
        .map(|(name, ..)| json!([name, "blocked"]))
        .collect();
    assert_eq!(cards, &json!(expected_cards), "{results:#?}");
    for (result, (name, method, _path, preflighted)) in results.iter().zip(CALLS) {
        assert_eq!(result["name"], name);
        assert_eq!(result["verdict"], "blocked", "{result}");
        assert_eq!(result["status"], Value::Null, "{result}");
        assert_eq!(result["body"], Value::Null, "{result}");
        let id = result["id"].as_str().unwrap();
        assert!(id.starts_with("attacker-"), "{id}");
        let seen = exchanges_of(demo, id);
        let [exchange] = seen.as_slice() else {
            panic!("{name}: one exchange expected: {seen:#?}");
        };
        assert_eq!(
            exchange.request_header("origin"),
            Some(demo.origins().attacker.as_str())
        );
        for (header, _) in &exchange.response_headers {
            assert!(!header.starts_with("access-control-"), "{exchange:#?}");
        }
        if preflighted {
            assert!(exchange.preflight, "{name}: {exchange:#?}");
            assert_eq!(exchange.status, 403);
            assert!(!exchange.reached_app, "{name} reached the application");
        } else {
            // A simple request is sent and answered; the browser hides the
            // answer. The session cookie (`SameSite=Lax`) stays home: this
            // page is another site.
            assert!(!exchange.preflight);
            assert_eq!(exchange.method, method);
            assert!(exchange.reached_app);
            assert_eq!(exchange.request_header("cookie"), None, "{exchange:#?}");
        }
    }
    assert_eq!(results[1]["error"], "error event, status 0");
    assert!(
        results[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("TypeError"),
        "{}",
        results[0]
    );
    let status_of =
        |index: usize| exchanges_of(demo, results[index]["id"].as_str().unwrap())[0].status;
    // Without the session, the API does not know the user.
    assert_eq!(status_of(1), 401);
    assert_eq!(status_of(3), 401);
    // No state-changing request from the attacker reached the application.
    let changed: Vec<Exchange> = demo
        .exchanges()
        .into_iter()
        .filter(|exchange| {
            exchange
                .call
                .as_deref()
                .is_some_and(|call| call.starts_with("attacker-"))
                && exchange.reached_app
                && exchange.method != "GET"
        })
        .collect();
    assert!(changed.is_empty(), "{changed:#?}");
}

/// Issue 15, item 12: each of the attacker's cards says why its calls
/// carry no session cookie, as the browser shows it: the cookie is
/// `SameSite=Lax` and the page is another site; the simple calls that
/// reached the server say they went without it.
async fn assert_attacker_says_why_no_cookie_went(browser: &Browser) {
    let texts = browser
        .run(
            r#"return [...document.querySelectorAll("article.card")].map((card) => ({
                 call: card.dataset.call,
                 why: card.querySelector(".why").textContent,
                 text: card.textContent,
               }));"#,
            vec![],
        )
        .await
        .unwrap();
    let cards = texts.as_array().unwrap();
    assert_eq!(cards.len(), CALLS.len(), "{texts}");
    for card in cards {
        let why = card["why"].as_str().unwrap();
        assert!(
            why.contains("the session cookie, SameSite=Lax, stays home in every browser"),
            "{}: {why}",
            card["call"]
        );
    }
    for (card, (name, _, _, preflighted)) in cards.iter().zip(CALLS) {
        if !preflighted {
            let text = card["text"].as_str().unwrap();
            assert!(
                text.contains(
                    "without the session cookie: it is SameSite=Lax, and this page is another \
                     site than the API's"
                ),
                "{name}: {text}"
            );
        }
    }
}

/// Issue 16, item 6: the page names the cookie attributes it chose and,
/// row by row, what each engine does with them and with a cross-site
/// API's cookie. The row of the engine running the page says the chosen
/// cookie goes back, which the calls above prove.
async fn assert_cookie_section(browser: &Browser, engine: Engine) {
    let rows = browser
        .run(
            r#"const section = document.getElementById("cookies");
               if (!section) return null;
               return {
                 text: section.textContent,
                 rows: [...section.querySelectorAll("tr")].slice(1)
                   .map((row) => [...row.cells].map((cell) => cell.textContent)),
               };"#,
            vec![],
        )
        .await
        .unwrap();
    assert!(!rows.is_null(), "no cookie section in {engine}");
    let text = rows["text"].as_str().unwrap();
    assert!(
        text.contains("Set-Cookie: session=…; Path=/; HttpOnly; SameSite=Lax"),
        "{text}"
    );
    let rows = rows["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    let row = rows
        .iter()
        .find(|row| row[0].as_str().unwrap().starts_with(engine.product()))
        .unwrap_or_else(|| panic!("no row for {engine}: {rows:?}"));
    assert!(
        row[1].as_str().unwrap().starts_with("sent back: "),
        "{engine}: {row:?}"
    );
    let cross_site = row[2].as_str().unwrap();
    let expected = match engine {
        Engine::Chromium => "lost: Chromium blocks third-party cookies",
        Engine::Firefox => "sent back: Firefox keeps third-party cookies in the jar",
        Engine::WebKit => "lost: WebKit keeps no Secure cookie from an http:// URL",
    };
    assert!(cross_site.starts_with(expected), "{engine}: {cross_site}");
}

per_engine!(the_demo_page_is_allowed_and_the_attacker_is_blocked);

async fn the_demo_page_is_allowed_and_the_attacker_is_blocked(engine: Engine) {
    let demo = Demo::start(&DemoArgs::ephemeral()).await.unwrap();
    let origins = demo.origins().clone();
    assert!(origins.page.starts_with("http://localhost:"), "{origins:?}");
    assert!(origins.api.starts_with("http://localhost:"), "{origins:?}");
    assert!(
        origins.attacker.starts_with("http://127.0.0.1:"),
        "{origins:?}"
    );
    assert_eq!(demo.page_url(), format!("{}/", origins.page));

    let browser = Browser::launch_engine(engine).await.unwrap();
    browser.client().set_window_size(1280, 1800).await.unwrap();

    browser.open(&demo.page_url()).await.unwrap();
    let (page_results, page_cards) = results_when_done(&browser).await;
    assert_page_allowed(&demo, &page_results, &page_cards);
    assert_cookie_section(&browser, engine).await;

    screenshot(&browser, &format!("demo-{engine}-page.png")).await;

    // The attacker's page, in the same browser, after the login above.
    browser.open(&demo.attacker_url()).await.unwrap();
    let (attacker_results, attacker_cards) = results_when_done(&browser).await;
    assert_attacker_blocked(&demo, &attacker_results, &attacker_cards);
    assert_attacker_says_why_no_cookie_went(&browser).await;
    assert_cookie_section(&browser, engine).await;
    screenshot(&browser, &format!("demo-{engine}-attacker.png")).await;

    // The attacker's origin serves the log of its own calls only.
    let page_call = page_results[0]["id"].as_str().unwrap();
    let leaked = browser
        .run(
            "return (await fetch('/exchanges?call=' + args[0])).json();",
            vec![json!(page_call)],
        )
        .await
        .unwrap();
    assert_eq!(leaked, json!([]));

    browser.close().await.unwrap();
    demo.shutdown().await.unwrap();
}
