//! The seed scenario in each real engine: a page on `http://localhost:P1`
//! logs in to an API on `http://localhost:P2` and uses its session cookie,
//! through `fetch` and through `XMLHttpRequest`; and the response headers a
//! script can read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use corsair_e2e::{Browser, Engine, LoggedSeed, Probe, Sites, per_engine};
use corsair_seed::INTERNAL_HEADER_VALUE;
use serde_json::{Value, json};

per_engine!(
    fetch_with_credentials_logs_in_and_uses_the_session,
    xhr_with_credentials_logs_in_and_uses_the_session,
    exposed_header_is_readable_and_others_are_not,
);

/// Starts the page, the API (seed policy, preflights cached `max_age`
/// seconds) and the attacker page, and a browser on the page.
async fn setup(engine: Engine, max_age: u64) -> (LoggedSeed, Sites, Browser) {
    let api = LoggedSeed::new();
    let sites =
        Sites::start(|origins| api.router(corsair_seed::policy(&origins.page, Some(max_age))))
            .await
            .unwrap();
    let browser = Browser::launch_engine(engine).await.unwrap();
    browser.open(&sites.origins().page).await.unwrap();
    (api, sites, browser)
}

fn probe(results: &Value, name: &str) -> Probe {
    serde_json::from_value(results[name].clone())
        .unwrap_or_else(|error| panic!("{name}: {error}: {results}"))
}

/// What the script and the server must have seen after the seed flow,
/// whichever API the script used: `expected_wire` lists what the browser
/// sent (see `RequestLog::lines`), `max_age` the policy's.
fn assert_seed_flow(
    api: &LoggedSeed,
    sites: &Sites,
    results: &Value,
    expected_wire: &[&str],
    max_age: &str,
) {
    let origins = sites.origins();
    let (login, me, put, patch, delete) = (
        probe(results, "login"),
        probe(results, "me"),
        probe(results, "put"),
        probe(results, "patch"),
        probe(results, "delete"),
    );

    // What the script read.
    assert_eq!(login.status, Some(200), "{login:?}");
    assert_eq!(login.json().unwrap(), json!({"user": "ada"}));
    assert_eq!(me.status, Some(200), "{me:?}");
    assert_eq!(me.json().unwrap(), json!({"user": "ada"}));
    assert_eq!(put.status, Some(201), "{put:?}");
    assert_eq!(
        put.json().unwrap(),
        json!({"id": 1, "name": "buy milk", "done": false, "by": "ada"})
    );
    assert_eq!(patch.status, Some(200), "{patch:?}");
    assert_eq!(
        patch.json().unwrap(),
        json!({"id": 1, "name": "buy milk", "done": true, "by": "ada"})
    );
    assert_eq!(delete.status, Some(200), "{delete:?}");
    assert_eq!(delete.json().unwrap(), json!({"deleted": 1, "by": "ada"}));
    // The session cookie is HttpOnly: stored, sent, but never shown to
    // scripts (not even to the page, whose host it shares).
    assert_eq!(results["document_cookie"], json!(""));

    // What reached the application: every call, each from the page's
    // origin, each after the login with the session cookie.
    let token = api.token_of("ada").expect("the server logged ada in");
    let reached: Vec<(String, String)> = api
        .app
        .entries()
        .iter()
        .map(|seen| (seen.method.to_string(), seen.path.clone()))
        .collect();
    let expected = [
        ("POST", "/login"),
        ("GET", "/me"),
        ("PUT", "/items/1"),
        ("PATCH", "/items/1"),
        ("DELETE", "/items/1"),
    ]
    .map(|(method, path)| (method.to_owned(), path.to_owned()));
    assert_eq!(reached, expected, "{}", api.wire.summary());
    for (index, seen) in api.app.entries().iter().enumerate() {
        assert_eq!(seen.header("origin"), Some(origins.page.as_str()));
        let expected_cookie = (index > 0).then_some(token.as_str());
        assert_eq!(
            seen.cookie("session"),
            expected_cookie,
            "{} {}",
            seen.method,
            seen.path
        );
    }

    // On the wire: the preflights that the JSON bodies and the methods
    // caused, answered by corsair (204) without reaching the application,
    // and sent, as Fetch requires, without cookies.
    assert_eq!(api.wire.lines(), expected_wire, "{}", api.wire.summary());
    let preflights = api.wire.preflights();
    let login_preflight = &preflights[0];
    assert_eq!(
        login_preflight.header("access-control-request-headers"),
        Some("content-type"),
        "accept is safelisted, content-type: application/json is not"
    );
    for seen in &preflights {
        assert_eq!(seen.status.map(|s| s.as_u16()), Some(204), "{seen:?}");
        assert_eq!(seen.header("cookie"), None, "{seen:?}");
        assert_eq!(
            seen.response_header("access-control-allow-origin"),
            Some(origins.page.as_str())
        );
        assert_eq!(
            seen.response_header("access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(
            seen.response_header("access-control-max-age"),
            Some(max_age)
        );
    }
    let on_wire = api.wire.entries();
    assert_eq!(on_wire.len(), reached.len() + preflights.len());
    for seen in on_wire.iter().filter(|seen| !seen.is_preflight()) {
        assert_eq!(
            seen.response_header("access-control-allow-origin"),
            Some(origins.page.as_str()),
            "{seen:?}"
        );
        assert_eq!(
            seen.response_header("access-control-allow-credentials"),
            Some("true")
        );
    }
}

/// With `fetch`, and `max_age = 0`: no preflight answer is cached, so each
/// of `PUT`, `PATCH` and `DELETE` is preflighted on the wire.
async fn fetch_with_credentials_logs_in_and_uses_the_session(engine: Engine) {
    let (api, sites, browser) = setup(engine, 0).await;
    let results = browser
        .run(
            r#"
            const [api] = args;
            const headers = { "content-type": "application/json", accept: "application/json" };
            const call = (method, path, body) => probeFetch(api + path, {
              method, credentials: "include", headers,
              body: body === undefined ? undefined : JSON.stringify(body),
            });
            const login = await call("POST", "/login", { user: "ada" });
            const me = await probeFetch(api + "/me", { credentials: "include" });
            const put = await call("PUT", "/items/1", { name: "buy milk", done: false });
            const patch = await call("PATCH", "/items/1", { done: true });
            const del = await call("DELETE", "/items/1");
            return { login, me, put, patch, delete: del, document_cookie: document.cookie };
            "#,
            vec![json!(sites.origins().api)],
        )
        .await
        .unwrap();
    let expected_wire = [
        "OPTIONS /login for POST",
        "POST /login",
        "GET /me",
        "OPTIONS /items/1 for PUT",
        "PUT /items/1",
        "OPTIONS /items/1 for PATCH",
        "PATCH /items/1",
        "OPTIONS /items/1 for DELETE",
        "DELETE /items/1",
    ];
    assert_seed_flow(&api, &sites, &results, &expected_wire, "0");
    browser.close().await.unwrap();
}

/// With `XMLHttpRequest`, and `max_age = 600`: the preflight answer for
/// `/items/1` (which allows every method of the policy) is cached, so only
/// the `PUT` is preflighted.
async fn xhr_with_credentials_logs_in_and_uses_the_session(engine: Engine) {
    let (api, sites, browser) = setup(engine, 600).await;
    let results = browser
        .run(
            r#"
            const [api] = args;
            const headers = { "content-type": "application/json", accept: "application/json" };
            const call = (method, path, body) => probeXhr(method, api + path, {
              withCredentials: true, headers,
              body: body === undefined ? null : JSON.stringify(body),
            });
            const login = await call("POST", "/login", { user: "ada" });
            const me = await probeXhr("GET", api + "/me", { withCredentials: true });
            const put = await call("PUT", "/items/1", { name: "buy milk", done: false });
            const patch = await call("PATCH", "/items/1", { done: true });
            const del = await call("DELETE", "/items/1");
            return { login, me, put, patch, delete: del, document_cookie: document.cookie };
            "#,
            vec![json!(sites.origins().api)],
        )
        .await
        .unwrap();
    let expected_wire = [
        "OPTIONS /login for POST",
        "POST /login",
        "GET /me",
        "OPTIONS /items/1 for PUT",
        "PUT /items/1",
        "PATCH /items/1",
        "DELETE /items/1",
    ];
    assert_seed_flow(&api, &sites, &results, &expected_wire, "600");
    browser.close().await.unwrap();
}

/// `x-request-id` is exposed, `x-internal` is not: a script reads the first
/// and gets `null` for the second, with `fetch` and `XMLHttpRequest`.
async fn exposed_header_is_readable_and_others_are_not(engine: Engine) {
    let (api, sites, browser) = setup(engine, 600).await;
    let read = ["x-request-id", "x-internal", "content-type"];
    let results = browser
        .run(
            r#"
            const [url, read] = args;
            const viaFetch = await probeFetch(url, { credentials: "include" }, read);
            const viaXhr = await probeXhr("GET", url, { withCredentials: true }, read);
            return { viaFetch, viaXhr };
            "#,
            vec![json!(sites.api_url("/me")), json!(read)],
        )
        .await
        .unwrap();
    let (via_fetch, via_xhr) = (probe(&results, "viaFetch"), probe(&results, "viaXhr"));

    // The server sent both headers, and exposed one.
    let on_wire = api.wire.entries();
    assert_eq!(on_wire.len(), 2, "{}", api.wire.summary());
    for seen in &on_wire {
        assert_eq!(seen.method, "GET");
        assert_eq!(
            seen.response_header("x-internal"),
            Some(INTERNAL_HEADER_VALUE)
        );
        assert_eq!(
            seen.response_header("access-control-expose-headers"),
            Some("x-request-id")
        );
    }

    for (probe, seen) in [(&via_fetch, &on_wire[0]), (&via_xhr, &on_wire[1])] {
        // Not logged in: a 401, which the page may read all the same.
        assert_eq!(probe.status, Some(401), "{probe:?}");
        assert_eq!(
            probe.header("x-request-id"),
            seen.response_header("x-request-id"),
            "{probe:?}"
        );
        assert!(probe.header("x-request-id").is_some(), "{probe:?}");
        assert_eq!(probe.header("x-internal"), None, "{probe:?}");
        // A CORS-safelisted response header needs no exposing.
        assert_eq!(probe.header("content-type"), Some("application/json"));
    }
    let all = via_xhr.all_headers.as_deref().unwrap();
    assert!(all.contains("x-request-id: "), "{all}");
    assert!(!all.contains("x-internal"), "{all}");
    browser.close().await.unwrap();
}
