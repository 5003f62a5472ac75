#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `corsair::browser::Browser` against corsair's own tower layer in front
//! of an axum API: the seed article's credentialed flow, end to end, with
//! the browser's cookie jar, preflight cache and virtual clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use corsair::Cors;
use corsair::browser::{
    Blocked, Browser, CorsFailure, CorsRequest, Credentials, Engine, Page, Profile, ScriptResponse,
    ThirdPartyCookies,
};
use corsair_seed::{CROSS_SITE_COOKIE, SAME_SITE_COOKIE, SeedApi};
use serde_json::{Value, json};

const APP: &str = "https://app.example.com";
const API: &str = "https://api.example.com";

/// The seed API (`corsair_seed`) behind the seed policy, with a counter of
/// the requests that reached the application.
fn api(max_age: Option<u64>) -> (Router, Arc<AtomicUsize>) {
    api_for(APP, max_age)
}

/// The same API, allowing the page at `page` instead.
fn api_for(page: &str, max_age: Option<u64>) -> (Router, Arc<AtomicUsize>) {
    api_with_cookie(page, max_age, SAME_SITE_COOKIE)
}

/// The same API, whose session cookie has `attributes`.
fn api_with_cookie(
    page: &str,
    max_age: Option<u64>,
    attributes: &'static str,
) -> (Router, Arc<AtomicUsize>) {
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let cors = Cors::new(corsair_seed::policy(page, max_age)).unwrap();
    let router = SeedApi::new()
        .with_cookie(attributes)
        .routes()
        .layer(axum::middleware::map_request(
            move |request: axum::extract::Request| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { request }
            },
        ))
        .layer(cors);
    (router, reached)
}

/// `POST /login` as ada. The body is JSON but labelled `text/plain`, a
/// CORS-safelisted type, so the request stays simple (no preflight); the
/// seed API reads the body whatever its type.
fn login() -> CorsRequest {
    login_at(API)
}

/// `POST /login` as ada to the API at `api`.
fn login_at(api: &str) -> CorsRequest {
    CorsRequest::new("POST", format!("{api}/login"))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(r#"{"user": "ada"}"#)
        .credentials(Credentials::Include)
}

/// The body of `response` as JSON.
fn body(response: &ScriptResponse) -> Value {
    serde_json::from_str(&response.text()).unwrap()
}

fn json(method: &str, path: &str) -> CorsRequest {
    CorsRequest::new(method, format!("{API}{path}"))
        .header("content-type", "application/json")
        .body("{}")
        .credentials(Credentials::Include)
}

#[tokio::test]
async fn the_seed_flow_logs_in_and_sends_the_cookie_back() {
    for engine in Engine::ALL {
        seed_flow(engine).await;
    }
}

async fn seed_flow(engine: Engine) {
    let (mut api, reached) = api(Some(600));
    let mut browser = Browser::new(APP).unwrap().with_engine(engine);

    let welcome = browser.fetch(&mut api, login()).await.unwrap();
    assert_eq!(welcome.status, StatusCode::OK);
    assert_eq!(body(&welcome), json!({"user": "ada"}));
    assert_eq!(
        welcome.header("set-cookie"),
        None,
        "scripts never read Set-Cookie"
    );
    assert_eq!(
        browser.preflights_sent(),
        0,
        "a POST with a text/plain body is a simple request"
    );

    let me = browser
        .fetch(
            &mut api,
            CorsRequest::get(format!("{API}/me")).credentials(Credentials::Include),
        )
        .await
        .unwrap();
    assert_eq!(me.status, StatusCode::OK, "the cookie went back");
    assert_eq!(body(&me), json!({"user": "ada"}));
    assert_eq!(me.header("x-request-id"), Some("2"), "exposed");
    assert_eq!(me.header("x-internal"), None, "not exposed");

    for (method, status, expected) in [
        ("PUT", StatusCode::CREATED, json!({"id": 1, "by": "ada"})),
        ("PATCH", StatusCode::OK, json!({"id": 1, "by": "ada"})),
        ("DELETE", StatusCode::OK, json!({"deleted": 1, "by": "ada"})),
    ] {
        let response = browser
            .fetch(&mut api, json(method, "/items/1"))
            .await
            .unwrap();
        assert_eq!(response.status, status, "{method}");
        assert_eq!(body(&response), expected, "{method}");
    }
    assert_eq!(
        browser.preflights_sent(),
        1,
        "the first answer lists every method and header, so it covers the other two"
    );
    assert_eq!(
        reached.load(Ordering::SeqCst),
        5,
        "preflights never reach the application"
    );
}

#[tokio::test]
async fn without_credentials_the_cookie_stays_home() {
    let (mut api, _) = api(None);
    let mut browser = Browser::new(APP).unwrap();
    browser.fetch(&mut api, login()).await.unwrap();
    let me = browser
        .fetch(&mut api, CorsRequest::get(format!("{API}/me")))
        .await
        .unwrap();
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "same-origin credentials mode sends no cookie cross-origin"
    );
}

#[tokio::test]
async fn preflight_answers_are_cached_for_max_age_on_the_virtual_clock() {
    let (mut api, _) = api(Some(60));
    let mut browser = Browser::new(APP).unwrap();
    for _ in 0..3 {
        browser
            .fetch(&mut api, json("PUT", "/items/1"))
            .await
            .unwrap();
    }
    assert_eq!(browser.preflights_sent(), 1);
    browser.advance(Duration::from_secs(59));
    browser
        .fetch(&mut api, json("PUT", "/items/1"))
        .await
        .unwrap();
    assert_eq!(browser.preflights_sent(), 1);
    browser.advance(Duration::from_secs(1));
    browser
        .fetch(&mut api, json("PUT", "/items/1"))
        .await
        .unwrap();
    assert_eq!(browser.preflights_sent(), 2, "expired after max_age");
}

/// Issue 16: each engine caps `Access-Control-Max-Age: 86400` at its own
/// limit (Chromium 7200 s, Firefox 86400 s, WebKit 600 s), on the model's
/// clock: a second preflight goes out when the cap has passed, not before.
#[tokio::test]
async fn each_engine_caps_the_preflight_cache_at_its_own_limit() {
    for (engine, cap) in [
        (Engine::Chromium, 7200),
        (Engine::Firefox, 86_400),
        (Engine::WebKit, 600),
    ] {
        let (mut api, _) = api(Some(86_400));
        let mut browser = Browser::new(APP).unwrap().with_engine(engine);
        browser
            .fetch(&mut api, json("PUT", "/items/1"))
            .await
            .unwrap();
        browser.advance(Duration::from_secs(cap - 1));
        browser
            .fetch(&mut api, json("PUT", "/items/1"))
            .await
            .unwrap();
        assert_eq!(
            browser.preflights_sent(),
            1,
            "{engine}: cached until {cap} s"
        );
        browser.advance(Duration::from_secs(1));
        browser
            .fetch(&mut api, json("PUT", "/items/1"))
            .await
            .unwrap();
        assert_eq!(browser.preflights_sent(), 2, "{engine}: expired at {cap} s");
    }
}

#[tokio::test]
async fn other_origins_and_opaque_pages_are_blocked_with_chromiums_words() {
    let (mut api, reached) = api(Some(600));

    let mut evil = Browser::new("https://evil.example").unwrap();
    let error = evil
        .fetch(&mut api, json("PUT", "/items/1"))
        .await
        .unwrap_err();
    assert_eq!(
        error.blocked(),
        Some(&Blocked::Preflight(CorsFailure::MissingAllowOrigin))
    );
    let message = error.to_string();
    assert!(
        message.starts_with(
            "Access to fetch at 'https://api.example.com/items/1' from origin 'https://evil.example' \
             has been blocked by CORS policy: Response to preflight request doesn't pass access control \
             check: No 'Access-Control-Allow-Origin' header is present on the requested resource."
        ),
        "{message}"
    );
    assert!(message.contains("fix: "), "{message}");
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the PUT never reached the application"
    );

    let error = evil
        .fetch(&mut api, CorsRequest::get(format!("{API}/items/1")))
        .await
        .unwrap_err();
    assert_eq!(
        error.blocked(),
        Some(&Blocked::Cors(CorsFailure::MissingAllowOrigin))
    );
    assert_eq!(
        reached.load(Ordering::SeqCst),
        1,
        "a simple GET is sent; only its answer is hidden"
    );

    let mut sandboxed = Browser::on(Page::opaque());
    let error = sandboxed
        .fetch(&mut api, CorsRequest::get(format!("{API}/items/1")))
        .await
        .unwrap_err();
    assert_eq!(
        error.blocked(),
        Some(&Blocked::Cors(CorsFailure::MissingAllowOrigin))
    );
}

#[tokio::test]
async fn a_header_the_policy_does_not_allow_is_blocked_at_the_preflight() {
    let (mut api, reached) = api(Some(600));
    let mut browser = Browser::new(APP).unwrap();
    let error = browser
        .fetch(&mut api, json("PUT", "/items/1").header("x-api-key", "k"))
        .await
        .unwrap_err();
    // corsair refuses the whole preflight (403, no CORS headers).
    assert_eq!(
        error.blocked(),
        Some(&Blocked::Preflight(CorsFailure::MissingAllowOrigin))
    );
    assert_eq!(reached.load(Ordering::SeqCst), 0);
    assert!(
        browser.preflight_cache().is_empty(),
        "a failed preflight leaves nothing cached"
    );
}

/// Logs in from `page` to the seed API at `api_origin` (whose cookie has
/// `attributes`), then asks `/me`: the status says whether the session
/// cookie went back.
async fn me_after_login(
    browser: &mut Browser,
    page: &str,
    api_origin: &str,
    attributes: &'static str,
) -> StatusCode {
    let (mut api, _) = api_with_cookie(page, None, attributes);
    let welcome = browser.fetch(&mut api, login_at(api_origin)).await.unwrap();
    assert_eq!(welcome.status, StatusCode::OK, "{:?}", browser.profile());
    browser
        .fetch(
            &mut api,
            CorsRequest::get(format!("{api_origin}/me")).credentials(Credentials::Include),
        )
        .await
        .unwrap()
        .status
}

/// Issue 16: the demo's layout, a page on `http://localhost:8080` and its
/// API on `http://localhost:3000` (the same site). A `SameSite=None; Secure`
/// session cookie works in Chromium and Firefox and never in WebKit, which
/// keeps no `Secure` cookie from an `http://` URL; the seed's default,
/// `SameSite=Lax`, works in all three.
#[tokio::test]
async fn a_login_over_http_localhost_works_in_each_engine_only_without_secure() {
    const PAGE: &str = "http://localhost:8080";
    const LOCAL_API: &str = "http://localhost:3000";
    for (engine, secure_cookie) in [
        (Engine::Chromium, StatusCode::OK),
        (Engine::Firefox, StatusCode::OK),
        (Engine::WebKit, StatusCode::UNAUTHORIZED),
    ] {
        let mut browser = Browser::new(PAGE).unwrap().with_engine(engine);
        let status = me_after_login(&mut browser, PAGE, LOCAL_API, CROSS_SITE_COOKIE).await;
        assert_eq!(status, secure_cookie, "{engine} with SameSite=None; Secure");
        let mut browser = Browser::new(PAGE).unwrap().with_engine(engine);
        let status = me_after_login(&mut browser, PAGE, LOCAL_API, SAME_SITE_COOKIE).await;
        assert_eq!(status, StatusCode::OK, "{engine} with SameSite=Lax");
    }
}

/// The page is on another site than the API: the session cookie is a
/// third-party cookie. Chromium as its stock headless profile blocks it
/// and as desktop Chrome sends it; Firefox keeps it in a jar of the page's
/// site, so it goes back from that page only; WebKit blocks it. A `Lax`
/// cookie never crosses sites.
#[tokio::test]
async fn cross_site_cookies_meet_each_engines_third_party_rules() {
    const OTHER_SITE: &str = "https://app.other-site.example";
    let desktop_chrome = Profile::chromium().with_third_party_cookies(ThirdPartyCookies::Allowed);
    for (profile, expected) in [
        (Profile::chromium(), StatusCode::UNAUTHORIZED),
        (desktop_chrome, StatusCode::OK),
        (Profile::firefox(), StatusCode::OK),
        (Profile::webkit(), StatusCode::UNAUTHORIZED),
    ] {
        let mut browser = Browser::new(OTHER_SITE).unwrap().with_profile(profile);
        let status = me_after_login(&mut browser, OTHER_SITE, API, CROSS_SITE_COOKIE).await;
        assert_eq!(status, expected, "{profile:?}");
        let mut browser = Browser::new(OTHER_SITE).unwrap().with_profile(profile);
        let status = me_after_login(&mut browser, OTHER_SITE, API, SAME_SITE_COOKIE).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "Lax, {profile:?}");
    }
}

/// Firefox's partition is the page's site: logged in from one site, the
/// user is a stranger to the same API called from another, while desktop
/// Chrome's one jar serves both.
#[tokio::test]
async fn a_firefox_partition_stays_with_its_site() {
    const FIRST: &str = "https://app.first.example";
    const SECOND: &str = "https://app.second.example";
    let mut config = corsair_seed::policy(FIRST, None);
    config.allow_origins.push(SECOND.to_owned());
    let desktop_chrome = Profile::chromium().with_third_party_cookies(ThirdPartyCookies::Allowed);
    for (profile, from_second) in [
        (Profile::firefox(), StatusCode::UNAUTHORIZED),
        (desktop_chrome, StatusCode::OK),
    ] {
        let mut api = SeedApi::new()
            .with_cookie(CROSS_SITE_COOKIE)
            .routes()
            .layer(Cors::new(config.clone()).unwrap());
        let mut browser = Browser::new(FIRST).unwrap().with_profile(profile);
        browser.fetch(&mut api, login()).await.unwrap();
        let me = CorsRequest::get(format!("{API}/me")).credentials(Credentials::Include);
        let first = browser.fetch(&mut api, me.clone()).await.unwrap();
        assert_eq!(first.status, StatusCode::OK, "{profile:?}");
        browser.navigate(SECOND).unwrap();
        let second = browser.fetch(&mut api, me).await.unwrap();
        assert_eq!(second.status, from_second, "{profile:?}");
    }
}
