//! Ground truth: which request headers each engine sends without a
//! preflight, Chromium's client hints in particular (Fetch safelists only
//! `Accept`, `Accept-Language`, `Content-Language`, `Content-Type` and
//! `Range`; Chromium adds `DPR`, `Save-Data`, `Viewport-Width` and the
//! other client hints it once sent itself).
//!
//! Each header goes alone, on a `GET` to a path of its own on an API that
//! answers every preflight with `Access-Control-Allow-Origin: *` and
//! `Access-Control-Allow-Headers: *`, and every `GET` with
//! `Access-Control-Allow-Origin: *`. The API's log shows whether a
//! preflight went first, the `Access-Control-Request-Headers` it listed,
//! and what the actual request carried. The table is printed; the
//! assertions pin what each engine does, and hold corsair's browser model
//! (`Page::plan` with the engine's stock profile) to the same answer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::IntoResponse as _;
use axum::routing::any;
use corsair::browser::{CorsRequest, Page};
use corsair_e2e::{Browser, Engine, RequestLog, Sites, markdown_table, per_engine};
use serde_json::json;

/// The headers tried, one request each, with the value the script sets.
const HEADERS: &[(&str, &str)] = &[
    ("save-data", "on"),
    ("dpr", "2"),
    ("viewport-width", "1280"),
    ("device-memory", "8"),
    ("downlink", "10"),
    ("rtt", "50"),
    ("ect", "4g"),
    ("width", "100"),
    ("intervention", "x"),
    // Controls: safelisted everywhere, and never safelisted.
    ("accept-language", "fr"),
    ("x-custom", "1"),
    // Forbidden in Fetch once, then allowed (and not safelisted).
    ("user-agent", "corsair-test"),
];

/// The headers each engine sends without a preflight, of [`HEADERS`].
fn safelisted(engine: Engine) -> &'static [&'static str] {
    match engine {
        Engine::Chromium => &[
            "save-data",
            "dpr",
            "viewport-width",
            "device-memory",
            "downlink",
            "rtt",
            "ect",
            "width",
            "intervention",
            "accept-language",
            // Chromium drops a script's `User-Agent` (it sends its own), so
            // nothing is left to preflight; Firefox and WebKit preflight it
            // and send the script's.
            "user-agent",
        ],
        Engine::Firefox | Engine::WebKit => &["accept-language"],
    }
}

fn api(log: &RequestLog) -> Router {
    Router::new()
        .route(
            "/h/{name}",
            any(|method: Method| async move {
                let mut response = if method == Method::OPTIONS {
                    let mut response = StatusCode::NO_CONTENT.into_response();
                    response.headers_mut().insert(
                        "access-control-allow-headers",
                        HeaderValue::from_static("*"),
                    );
                    response
                } else {
                    "ok".into_response()
                };
                response
                    .headers_mut()
                    .insert("access-control-allow-origin", HeaderValue::from_static("*"));
                response
            }),
        )
        .layer(log.clone())
}

per_engine!(client_hints);

async fn client_hints(engine: Engine) {
    let log = RequestLog::new();
    let sites = Sites::start(|_| Ok(api(&log))).await.unwrap();
    let browser = Browser::launch_engine(engine).await.unwrap();
    browser.open(&sites.origins().page).await.unwrap();
    let page = Page::new(&sites.origins().page).unwrap();
    let profile = engine.profile();
    let mut rows = Vec::new();
    let mut preflighted_none = Vec::new();
    for (name, value) in HEADERS {
        let path = format!("/h/{name}");
        let probe = browser
            .probe(
                r#"const [url, name, value] = args;
                   return probeFetch(url, { headers: { [name]: value } });"#,
                vec![json!(sites.api_url(&path)), json!(name), json!(value)],
            )
            .await
            .unwrap();
        assert!(probe.ok, "{engine} {name}: {probe:?}");
        let seen = log.filter(|seen| seen.path == path);
        let preflight = seen.iter().find(|seen| seen.is_preflight());
        let actual = seen
            .iter()
            .find(|seen| seen.method == Method::GET)
            .unwrap_or_else(|| panic!("{engine} {name}: no GET in {seen:?}"));
        let sent = actual.header(name).unwrap_or("(not sent)").to_owned();
        if *name == "user-agent" {
            assert_eq!(
                sent == *value,
                engine != Engine::Chromium,
                "{engine}: {sent}"
            );
        } else {
            assert_eq!(sent, *value, "{engine} {name}");
        }
        rows.push(vec![
            format!("{name}: {value}"),
            preflight.map_or_else(
                || "no".to_owned(),
                |preflight| {
                    format!(
                        "yes, Access-Control-Request-Headers: {}",
                        preflight
                            .header("access-control-request-headers")
                            .unwrap_or("(none)")
                    )
                },
            ),
            sent,
        ]);
        if preflight.is_none() {
            preflighted_none.push(*name);
        }
        if let Some(preflight) = preflight {
            assert_eq!(
                preflight.header("access-control-request-headers"),
                Some(*name),
                "{engine}"
            );
        }
        // The model plans the same request as this engine did: the same
        // preflight (or none) listing the same header.
        let plan = page
            .plan(
                &CorsRequest::get(sites.api_url(&path)).header(*name, value.as_bytes().to_vec()),
                &profile,
            )
            .unwrap();
        assert_eq!(
            plan.preflight
                .as_ref()
                .and_then(|preflight| preflight.access_control_request_headers()),
            preflight.and_then(|preflight| preflight
                .header("access-control-request-headers")
                .map(str::to_owned)),
            "{engine} {name}: the model's plan differs from the engine's wire"
        );
    }
    let version = browser.version().to_owned();
    browser.close().await.unwrap();
    println!(
        "\n{} {version}: request headers set by a script, one GET each\n\n{}",
        engine.product(),
        markdown_table(&["header", "preflighted", "what the GET carried"], &rows)
    );
    assert_eq!(preflighted_none, safelisted(engine), "{}", engine.product());
}
