//! hyper 1 without a framework: a `service_fn` handler behind corsair's
//! tower layer, served over HTTP/1.1 with hyper-util's glue.
//!
//! ```text
//! cargo run -p corsair --example hyper
//! PORT=3001 APP_ORIGIN=https://app.example.com cargo run -p corsair --example hyper
//! ```
//!
//! The API (`http://127.0.0.1:3000`) allows one origin with credentials
//! (`http://localhost:8080` unless `APP_ORIGIN` says otherwise) and answers
//! every path with a small JSON document. Stop with Ctrl-C.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use bytes::Bytes;
use corsair::{Config, Cors};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceBuilder;

/// The whole application: `GET /hello` greets, anything else is a 404.
/// Both answers get the CORS headers, so the page can read the 404 too.
async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match request.uri().path() {
        "/hello" => (StatusCode::OK, r#"{"hello":"world"}"#),
        _ => (StatusCode::NOT_FOUND, r#"{"error":"no such path"}"#),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
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

    let cors = Cors::new(Config {
        allow_origins: vec![origin.clone()],
        allow_credentials: true,
        allow_methods: ["GET", "POST", "PUT", "DELETE"].map(String::from).to_vec(),
        allow_headers: vec!["content-type".into()],
        max_age: Some(600),
        ..Config::default()
    })
    .map_err(|error| format!("invalid CORS policy:\n{error}"))?;
    // `Full<Bytes>` implements `Default` (the empty body of a preflight
    // answer), which is all corsair asks of a response body.
    let service = ServiceBuilder::new().layer(cors).service_fn(handle);

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(address)
        .await
        .map_err(|error| format!("cannot listen on {address}: {error} (set PORT)"))?;
    let url = format!("http://{address}");
    println!(
        "API {url}  (credentialed CORS for {origin} only)

Try with curl:
  # a preflight for a JSON PUT: 204 with the CORS headers
  curl -i -X OPTIONS -H 'Origin: {origin}' -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: content-type' {url}/hello
  # the same preflight from another origin: 403, no CORS headers
  curl -i -X OPTIONS -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: PUT' {url}/hello
  # a GET, and a 404 that the page can read too
  curl -i -H 'Origin: {origin}' {url}/hello
  curl -i -H 'Origin: {origin}' {url}/nowhere
"
    );

    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: report, wait, go on.
            Err(error) => {
                eprintln!("hyper: accept failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(error) = connection {
                eprintln!("hyper: connection from {peer}: {error}");
            }
        });
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hyper: {error}");
            ExitCode::FAILURE
        }
    }
}
