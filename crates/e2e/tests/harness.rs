//! The harness itself: names, scripts and clean-up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use corsair_e2e::{Browser, blank_page, serve};
use serde_json::json;

/// A server bound on `127.0.0.1` is reached as `localhost` and as
/// `127.0.0.1`; both are secure contexts, and different sites.
#[tokio::test]
async fn localhost_and_127_0_0_1_reach_the_same_server() {
    let server = serve(blank_page()).await.unwrap();
    let browser = Browser::launch().await.unwrap();
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

/// A script that throws is an error that says what it threw; `undefined`
/// is `null`.
#[tokio::test]
async fn script_results_and_errors() {
    let server = serve(blank_page()).await.unwrap();
    let browser = Browser::launch().await.unwrap();
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
/// away with its profile.
#[tokio::test]
async fn dropping_a_browser_removes_its_profile() {
    let browser = Browser::launch().await.unwrap();
    let profile = browser.profile_dir().to_owned();
    assert!(profile.exists());
    drop(browser);
    assert!(!profile.exists(), "{} is left behind", profile.display());
}
