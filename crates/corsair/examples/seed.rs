//! The scenario of "Cross-Origin Resource Sharing in Practice": a page on one
//! origin calls an API on another with cookies, by fetch and XMLHttpRequest.
//!
//! ```text
//! cargo run -p corsair --example seed
//! API_PORT=3001 SPA_PORT=8081 cargo run -p corsair --example seed
//! ```
//!
//! The API (`http://localhost:3000`) allows one origin with credentials, the
//! page's (`http://localhost:8080`): `POST /login` sets a session cookie,
//! `GET /me` names its owner, `/items/{id}` answers `GET`, `PUT`, `PATCH` and
//! `DELETE` once logged in. Refusals are logged by corsair (debug level,
//! target `corsair`). Stop with Ctrl-C.

use std::collections::HashMap;
use std::env;
use std::hash::{BuildHasher, RandomState};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use corsair::{Config, Cors};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

/// The API's memory: sessions by cookie token, and the items.
#[derive(Default)]
struct Store {
    sessions: Mutex<HashMap<String, String>>,
    items: Mutex<HashMap<u64, Item>>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Item {
    name: String,
    done: bool,
}

#[derive(Deserialize)]
struct ItemChanges {
    name: Option<String>,
    done: Option<bool>,
}

#[derive(Deserialize)]
struct Login {
    user: String,
}

#[derive(Serialize)]
struct Who<'a> {
    user: &'a str,
}

/// A JSON error answer.
fn problem(status: StatusCode, error: &'static str) -> Response {
    #[derive(Serialize)]
    struct Problem {
        error: &'static str,
    }
    (status, Json(Problem { error })).into_response()
}

/// Locks a map; a handler that panicked while holding it leaves data that
/// is still usable here, so the lock is taken anyway instead of panicking.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A session token that is hard enough to guess for a demo. A real service
/// wants a cryptographic random generator here.
fn new_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let high = RandomState::new().hash_one(n);
    let low = RandomState::new().hash_one((n, SystemTime::now()));
    format!("{high:016x}{low:016x}")
}

/// The user whose session cookie the request carries, if any.
fn current_user(store: &Store, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("session="))?;
    lock(&store.sessions).get(token).cloned()
}

async fn login(State(store): State<Arc<Store>>, Json(login): Json<Login>) -> Response {
    let user = login.user.trim();
    if user.is_empty() || user.len() > 64 {
        return problem(StatusCode::BAD_REQUEST, "user must be 1 to 64 bytes");
    }
    let token = new_token();
    lock(&store.sessions).insert(token.clone(), user.to_owned());
    // `Secure` with `SameSite=None` is what a cross-site cookie needs;
    // browsers accept `Secure` over plain http on localhost.
    let cookie = format!("session={token}; Path=/; HttpOnly; SameSite=None; Secure");
    ([(header::SET_COOKIE, cookie)], Json(Who { user })).into_response()
}

async fn me(State(store): State<Arc<Store>>, headers: HeaderMap) -> Response {
    match current_user(&store, &headers) {
        Some(user) => Json(Who { user: &user }).into_response(),
        None => problem(StatusCode::UNAUTHORIZED, "not logged in"),
    }
}

/// `GET`, `PUT`, `PATCH` and `DELETE /items/{id}`, for logged-in users.
async fn item(
    State(store): State<Arc<Store>>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<u64>,
    body: Bytes,
) -> Response {
    if current_user(&store, &headers).is_none() {
        return problem(StatusCode::UNAUTHORIZED, "log in first");
    }
    let not_found = || problem(StatusCode::NOT_FOUND, "no such item");
    let mut items = lock(&store.items);
    match method {
        Method::PUT => match Json::<Item>::from_bytes(&body) {
            Ok(Json(item)) => match items.insert(id, item.clone()) {
                Some(_) => Json(item).into_response(),
                None => (StatusCode::CREATED, Json(item)).into_response(),
            },
            Err(rejection) => rejection.into_response(),
        },
        Method::PATCH => match (Json::<ItemChanges>::from_bytes(&body), items.get_mut(&id)) {
            (Err(rejection), _) => rejection.into_response(),
            (Ok(_), None) => not_found(),
            (Ok(Json(changes)), Some(item)) => {
                if let Some(name) = changes.name {
                    item.name = name;
                }
                if let Some(done) = changes.done {
                    item.done = done;
                }
                Json(item.clone()).into_response()
            }
        },
        Method::DELETE => match items.remove(&id) {
            Some(_) => StatusCode::NO_CONTENT.into_response(),
            None => not_found(),
        },
        _ => match items.get(&id) {
            Some(item) => Json(item.clone()).into_response(),
            None => not_found(),
        },
    }
}

/// Numbers every API response; the policy exposes the header to scripts.
async fn add_request_id(mut response: Response) -> Response {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    response.headers_mut().insert(
        HeaderName::from_static("x-request-id"),
        HeaderValue::from(id),
    );
    response
}

/// `http://localhost:PORT` as browsers write it in `Origin` (no `:80`).
fn localhost(port: u16) -> String {
    match port {
        80 => "http://localhost".to_owned(),
        _ => format!("http://localhost:{port}"),
    }
}

fn port_from_env(name: &str, default: u16) -> Result<u16, String> {
    let value = match env::var(name) {
        Err(env::VarError::NotPresent) => return Ok(default),
        value => value.unwrap_or_default(),
    };
    match value.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!("{name}={value:?} is not a port number (1-65535)")),
    }
}

async fn listen(port: u16, variable: &str) -> Result<TcpListener, String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let hint = format!("set {variable} to use another port");
    TcpListener::bind(address)
        .await
        .map_err(|error| format!("cannot listen on {address}: {error} ({hint})"))
}

async fn run() -> Result<(), String> {
    let api_port = port_from_env("API_PORT", 3000)?;
    let spa_port = port_from_env("SPA_PORT", 8080)?;
    let (api_url, spa_url) = (localhost(api_port), localhost(spa_port));

    let cors = Cors::new(Config {
        allow_origins: vec![spa_url.clone()],
        allow_credentials: true,
        allow_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"]
            .map(String::from)
            .to_vec(),
        allow_headers: vec!["accept".into(), "content-type".into()],
        expose_headers: vec!["x-request-id".into()],
        max_age: Some(600),
        ..Config::default()
    })
    .map_err(|error| format!("invalid CORS policy:\n{error}"))?;

    let api = Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/items/{id}", get(item).put(item).patch(item).delete(item))
        .layer(middleware::map_response(add_request_id))
        .layer(cors)
        .with_state(Arc::new(Store::default()));
    let page = PAGE.replace("__API__", &api_url);
    let spa = Router::new().route("/", get(|| async move { Html(page) }));

    let api_listener = listen(api_port, "API_PORT").await?;
    let spa_listener = listen(spa_port, "SPA_PORT").await?;

    let (evil, jar) = (
        "https://evil.example",
        env::temp_dir().join("seed-cookies.txt"),
    );
    let jar = jar.display();
    let preflight =
        "-H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: content-type'";
    println!(
        "API  {api_url}  (credentialed CORS for {spa_url} only)
page {spa_url}  <- open this in a browser

Or try with curl:
  # log in; curl keeps the session cookie in {jar}
  curl -i -c {jar} -H 'Origin: {spa_url}' -H 'content-type: application/json' -d '{{\"user\":\"ada\"}}' {api_url}/login
  # a credentialed GET: 200 with Access-Control-Allow-Origin and -Allow-Credentials
  curl -i -b {jar} -H 'Origin: {spa_url}' {api_url}/me
  # the preflight of a PUT with a JSON body: 204 with the CORS headers
  curl -i -X OPTIONS -H 'Origin: {spa_url}' {preflight} {api_url}/items/1
  # the same preflight from another origin: 403, no CORS headers
  curl -i -X OPTIONS -H 'Origin: {evil}' {preflight} {api_url}/items/1
  # the GET from another origin: served, but without CORS headers a browser hides it
  curl -i -b {jar} -H 'Origin: {evil}' {api_url}/me
"
    );

    let api = async { axum::serve(api_listener, api).await };
    let spa = async { axum::serve(spa_listener, spa).await };
    tokio::try_join!(api, spa).map_err(|error| format!("server stopped: {error}"))?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("seed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The single-page app. `__API__` is replaced by the API's URL.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>corsair seed: a page calling an API on another origin</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; }
  button { margin: 0 .4rem .4rem 0; }
  pre { background: #f4f4f4; padding: .6rem; white-space: pre-wrap; min-height: 8rem; }
</style>
<h1>A page on this origin, an API on <code>__API__</code></h1>
<p>Every call sends cookies: <code>credentials: "include"</code> for fetch,
<code>withCredentials = true</code> for XMLHttpRequest.</p>
<p>
  <input id="user" value="ada" aria-label="user name">
  <button id="login">Log in (fetch POST /login)</button>
  <button id="me">Who am I? (fetch GET /me)</button>
  <button id="put">PUT /items/1 (fetch)</button>
  <button id="xhr">Who am I? (XMLHttpRequest)</button>
</p>
<pre id="log"></pre>
<script>
const API = "__API__";
const log = (line) => { document.getElementById("log").textContent += line + "\n"; };

// fetch sends cookies cross-origin only with credentials: "include", and the
// browser hands the answer to the script only if the API allows this origin
// with Access-Control-Allow-Credentials: true.
async function call(method, path, body) {
  const init = { method, credentials: "include", headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json"; // makes the browser send a preflight
    init.body = JSON.stringify(body);
  }
  try {
    const response = await fetch(API + path, init);
    // x-request-id is readable only because the policy exposes it.
    const id = response.headers.get("x-request-id");
    log(`${method} ${path} -> ${response.status} (x-request-id ${id}) ${await response.text()}`);
  } catch (error) {
    log(`${method} ${path} -> blocked by the browser: ${error}`);
  }
}

document.getElementById("login").onclick = () =>
  call("POST", "/login", { user: document.getElementById("user").value });
document.getElementById("me").onclick = () => call("GET", "/me");
document.getElementById("put").onclick = () =>
  call("PUT", "/items/1", { name: "buy milk", done: false });

// The XMLHttpRequest way. With jQuery 1.5.1+ the same flag is set per call:
//   $.ajax({ url: API + "/me", xhrFields: { withCredentials: true } });
// or once for every call with a prefilter:
//   $.ajaxPrefilter(function (settings) {
//     settings.xhrFields = { withCredentials: true };
//   });
document.getElementById("xhr").onclick = () => {
  const xhr = new XMLHttpRequest();
  xhr.open("GET", API + "/me");
  xhr.withCredentials = true;
  xhr.onload = () => log(`XHR GET /me -> ${xhr.status} (x-request-id ${xhr.getResponseHeader("x-request-id")}) ${xhr.responseText}`);
  xhr.onerror = () => log("XHR GET /me -> blocked by the browser");
  xhr.send();
};
</script>
</html>
"#;
