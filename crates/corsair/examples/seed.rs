//! The scenario of "Cross-Origin Resource Sharing in Practice": a page on one
//! origin calls an API on another with cookies, by fetch and XMLHttpRequest.
//!
//! ```text
//! cargo run -p corsair --example seed
//! API_PORT=3001 SPA_PORT=8081 cargo run -p corsair --example seed
//! ```
//!
//! The API (`http://localhost:3000`) is the seed API of `corsair-seed`
//! (`crates/seed`), which the demo and the browser tests serve too. Its policy
//! allows one origin with credentials, the page's (`http://localhost:8080`):
//! `POST /login` sets a session cookie, `GET /me` names its owner,
//! `/items/{id}` answers `GET`, `PUT`, `PATCH` and `DELETE` once logged in.
//! Every answer carries `x-request-id`, which the policy exposes, and
//! `x-internal`, which it does not: the page shows that a script reads the
//! first and gets `null` for the second. Refusals are logged by corsair
//! (debug level, target `corsair`). Stop with Ctrl-C.

use std::env;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use corsair::Cors;
use corsair_seed::SeedApi;
use tokio::net::TcpListener;

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

    // The seed API (crates/seed) and its policy: this page's origin only,
    // with credentials, preflights cached for 600 seconds.
    let cors = Cors::new(corsair_seed::policy(&spa_url, Some(600)))
        .map_err(|error| format!("invalid CORS policy:\n{error}"))?;
    let api = SeedApi::new().routes().layer(cors);
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
    // x-request-id is readable only because the policy exposes it;
    // x-internal is not exposed, so the browser hides it (null).
    const id = response.headers.get("x-request-id");
    const internal = response.headers.get("x-internal");
    log(`${method} ${path} -> ${response.status} (x-request-id ${id}, x-internal ${internal}) ${await response.text()}`);
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
  xhr.onload = () => log(`XHR GET /me -> ${xhr.status} (x-request-id ${xhr.getResponseHeader("x-request-id")}, x-internal ${xhr.getResponseHeader("x-internal")}) ${xhr.responseText}`);
  xhr.onerror = () => log("XHR GET /me -> blocked by the browser");
  xhr.send();
};
</script>
</html>
"#;
