//! actix-web 4: a JSON API for a single-page app on another origin, with
//! cookies, behind corsair's actix middleware (`App::new().wrap(cors)`).
//!
//! ```text
//! cargo run -p corsair --features actix --example actix
//! PORT=3001 APP_ORIGIN=https://app.example.com cargo run -p corsair --features actix --example actix
//! ```
//!
//! The API (`http://127.0.0.1:3000`) allows one origin with credentials
//! (`http://localhost:8080` unless `APP_ORIGIN` says otherwise): `GET /me`
//! names the user, `PUT /items/{id}` echoes its JSON body, and `GET /report`
//! fails with a 500. corsair turns that error into its response with the CORS
//! headers, so the page's script can read the error instead of seeing an
//! opaque network failure. Stop with Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::dev::Service as _;
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpResponse, HttpServer, web};
use corsair::Cors;
use serde_json::{Value, json};

async fn me() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "user": "ada" }))
}

async fn put_item(id: web::Path<u64>, item: web::Json<Value>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "id": id.into_inner(), "item": item.into_inner() }))
}

/// Always fails: corsair still adds the CORS headers to the error's response.
async fn report() -> Result<HttpResponse, actix_web::Error> {
    let message = "the report service is down";
    let response = HttpResponse::InternalServerError().json(json!({ "error": message }));
    Err(InternalError::from_response(message, response).into())
}

/// `PORT`, or 3000.
fn port() -> Result<u16, String> {
    let Ok(value) = std::env::var("PORT") else {
        return Ok(3000);
    };
    match value.parse() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!("PORT={value:?} is not a port number (1-65535)")),
    }
}

async fn run() -> Result<(), String> {
    let port = port()?;
    let origin = std::env::var("APP_ORIGIN").unwrap_or_else(|_| "http://localhost:8080".into());

    // The seed policy (crates/seed), shared with the seed example, the demo
    // and the browser tests: one origin with credentials, preflights cached
    // for 600 seconds.
    let cors = Cors::new(corsair_seed::policy(&origin, Some(600)))
        .map_err(|error| format!("invalid CORS policy:\n{error}"))?;

    let server = HttpServer::new(move || {
        App::new()
            // Numbers every response that reaches the app; the policy exposes it.
            .wrap_fn(|request, app| {
                static NEXT: AtomicU64 = AtomicU64::new(1);
                let response = app.call(request);
                async move {
                    let mut response = response.await?;
                    let id = NEXT.fetch_add(1, Ordering::Relaxed);
                    response.headers_mut().insert(
                        HeaderName::from_static("x-request-id"),
                        HeaderValue::from(id),
                    );
                    Ok(response)
                }
            })
            // Wrapped last, so outermost: preflights never reach the app.
            .wrap(cors.clone())
            .route("/me", web::get().to(me))
            .route("/items/{id}", web::put().to(put_item))
            .route("/report", web::get().to(report))
    });
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let server = server
        .bind(address)
        .map_err(|error| format!("cannot listen on {address}: {error} (set PORT)"))?;

    let url = format!("http://{address}");
    let preflight =
        "-H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: content-type'";
    println!(
        "API {url}  (credentialed CORS for {origin} only)

Try with curl:
  # the preflight of a JSON PUT: 204 with the CORS headers
  curl -i -X OPTIONS -H 'Origin: {origin}' {preflight} {url}/items/1
  # the same preflight from another origin: 403, no CORS headers
  curl -i -X OPTIONS -H 'Origin: https://evil.example' {preflight} {url}/items/1
  # the PUT itself, then a 500 that still carries Access-Control-Allow-Origin
  curl -i -H 'Origin: {origin}' -X PUT -H 'content-type: application/json' -d '{{\"done\":true}}' {url}/items/1
  curl -i -H 'Origin: {origin}' {url}/report
"
    );
    server
        .run()
        .await
        .map_err(|error| format!("server stopped: {error}"))
}

#[actix_web::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("actix: {error}");
            ExitCode::FAILURE
        }
    }
}
