//! `Access-Control-Max-Age` in each real engine: Chromium, Firefox and
//! WebKit all cache a preflight answer for that many seconds (5 without
//! the header, none for 0), per origin and URL; loading another page does
//! not clear the cache. The API's wire log, outside corsair, counts the
//! preflights the browser actually sent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use corsair_e2e::{Browser, Engine, LoggedSeed, Sites, per_engine};
use serde_json::json;

per_engine!(
    a_preflight_is_cached_for_max_age,
    max_age_zero_preflights_every_request,
    without_max_age_the_browser_caches_for_five_seconds,
);

/// Starts the sites with the seed policy and `max_age`, a browser on the
/// page, and logs in; the logs are cleared after the login.
async fn setup(engine: Engine, max_age: Option<u64>) -> (LoggedSeed, Sites, Browser) {
    let api = LoggedSeed::new();
    let sites = Sites::start(|origins| api.router(corsair_seed::policy(&origins.page, max_age)))
        .await
        .unwrap();
    let browser = Browser::launch_engine(engine).await.unwrap();
    browser.open(&sites.origins().page).await.unwrap();
    let login = browser
        .probe(
            r#"return probeFetch(args[0], { method: "POST", credentials: "include",
                 headers: { "content-type": "application/json" }, body: JSON.stringify({ user: "ada" }) });"#,
            vec![json!(sites.api_url("/login"))],
        )
        .await
        .unwrap();
    assert_eq!(login.status, Some(200), "{login:?}");
    api.wire.clear();
    api.app.clear();
    (api, sites, browser)
}

/// A credentialed, preflighted request to `/items/1` with `method`; asserts
/// that the script read its answer.
async fn call(browser: &Browser, sites: &Sites, method: &str) {
    let probe = browser
        .probe(
            r#"const [url, method] = args;
               return probeFetch(url, { method, credentials: "include",
                 headers: { "content-type": "application/json" }, body: JSON.stringify({ name: method }) });"#,
            vec![json!(sites.api_url("/items/1")), json!(method)],
        )
        .await
        .unwrap();
    assert!(probe.ok, "{method}: {probe:?}");
    assert!(
        matches!(probe.status, Some(200 | 201)),
        "{method}: {probe:?}"
    );
}

/// The preflights on the wire, as `METHOD` (the one each asked for), and
/// the number of requests that reached the application.
fn seen(api: &LoggedSeed) -> (Vec<String>, usize) {
    let preflights = api
        .wire
        .preflights()
        .iter()
        .map(|seen| {
            assert_eq!(seen.status.map(|s| s.as_u16()), Some(204), "{seen:?}");
            seen.header("access-control-request-method")
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    (preflights, api.app.entries().len())
}

/// `max_age = 600`: one preflight serves the same request again, after a
/// new page load too, and serves other methods the answer allowed.
async fn a_preflight_is_cached_for_max_age(engine: Engine) {
    let (api, sites, browser) = setup(engine, Some(600)).await;
    call(&browser, &sites, "PUT").await;
    assert_eq!(
        api.wire.preflights()[0].response_header("access-control-max-age"),
        Some("600")
    );
    call(&browser, &sites, "PUT").await;
    browser.open(&sites.origins().page).await.unwrap();
    call(&browser, &sites, "PUT").await;
    call(&browser, &sites, "PATCH").await;
    assert_eq!(
        seen(&api),
        (vec!["PUT".to_owned()], 4),
        "{}",
        api.wire.summary()
    );
    browser.close().await.unwrap();
}

/// `max_age = 0`: nothing is cached, every request is preflighted.
async fn max_age_zero_preflights_every_request(engine: Engine) {
    let (api, sites, browser) = setup(engine, Some(0)).await;
    call(&browser, &sites, "PUT").await;
    assert_eq!(
        api.wire.preflights()[0].response_header("access-control-max-age"),
        Some("0")
    );
    call(&browser, &sites, "PUT").await;
    assert_eq!(
        seen(&api),
        (vec!["PUT".to_owned(), "PUT".to_owned()], 2),
        "{}",
        api.wire.summary()
    );
    browser.close().await.unwrap();
}

/// No `max_age`: corsair sends no `Access-Control-Max-Age`, and the engine
/// caches the answer for its default of 5 seconds: a request right after
/// the first is not preflighted, one 6 seconds later is.
async fn without_max_age_the_browser_caches_for_five_seconds(engine: Engine) {
    let (api, sites, browser) = setup(engine, None).await;
    call(&browser, &sites, "PUT").await;
    assert_eq!(
        api.wire.preflights()[0].response_header("access-control-max-age"),
        None
    );
    call(&browser, &sites, "PUT").await;
    assert_eq!(seen(&api), (vec!["PUT".to_owned()], 2));
    // Sleeping past the expiry can only make the outcome more certain.
    tokio::time::sleep(Duration::from_secs(6)).await;
    call(&browser, &sites, "PUT").await;
    assert_eq!(
        seen(&api),
        (vec!["PUT".to_owned(), "PUT".to_owned()], 3),
        "{}",
        api.wire.summary()
    );
    browser.close().await.unwrap();
}
