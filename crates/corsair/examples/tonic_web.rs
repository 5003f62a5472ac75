//! gRPC-web from a browser: a tonic server whose services a page on another
//! origin calls with a gRPC-web client, behind corsair's tower layer.
//!
//! ```text
//! cargo run -p corsair --example tonic_web
//! PORT=50052 APP_ORIGIN=https://app.example.com cargo run -p corsair --example tonic_web
//! ```
//!
//! The server (`http://127.0.0.1:50051`) serves the standard gRPC health
//! service (`grpc.health.v1.Health`, from `tonic-health`, so no `.proto` file
//! or `protoc` is needed) over HTTP/1.1 and HTTP/2. `GrpcWebLayer` translates
//! gRPC-web to gRPC; corsair sits in front of it, answers the preflight that
//! every gRPC-web call makes (its `content-type` is not one a form could
//! send), and lets the page read `grpc-status` and `grpc-message`.
//! Stop with Ctrl-C.

use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use corsair::{Config, Cors};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_web::GrpcWebLayer;

/// `PORT`, or 50051.
fn port() -> Result<u16, String> {
    let Ok(value) = std::env::var("PORT") else {
        return Ok(50051);
    };
    match value.parse() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!("PORT={value:?} is not a port number (1-65535)")),
    }
}

/// An error and its causes: tonic's own `Display` says only "transport error".
fn explain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

async fn run() -> Result<(), String> {
    let port = port()?;
    let origin = std::env::var("APP_ORIGIN").unwrap_or_else(|_| "http://localhost:8080".into());

    let cors = Cors::new(Config {
        allow_origins: vec![origin.clone()],
        // gRPC-web calls are all POST (always allowed; listed for the
        // reader); the headers are those grpc-web and Connect clients send.
        allow_methods: vec!["POST".into()],
        allow_headers: ["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout"]
            .map(String::from)
            .to_vec(),
        expose_headers: ["grpc-status", "grpc-message", "grpc-status-details-bin"]
            .map(String::from)
            .to_vec(),
        max_age: Some(600),
        ..Config::default()
    })
    .map_err(|error| format!("invalid CORS policy:\n{error}"))?;

    let (_reporter, health) = tonic_health::server::health_reporter();

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(address)
        .await
        .map_err(|error| format!("cannot listen on {address}: {error} (set PORT)"))?;

    let url = format!("http://{address}");
    let check = format!("{url}/grpc.health.v1.Health/Check");
    println!(
        "gRPC and gRPC-web on {url}  (CORS for {origin} only)

Try with curl:
  # the preflight of a gRPC-web call: 204 with the CORS headers
  curl -i -X OPTIONS -H 'Origin: {origin}' -H 'Access-Control-Request-Method: POST' \\
    -H 'Access-Control-Request-Headers: content-type,x-grpc-web,x-user-agent' {check}
  # the call itself (an empty HealthCheckRequest): 200, the status is in the trailer frame
  printf '\\x00\\x00\\x00\\x00\\x00' | curl -i --output - -H 'Origin: {origin}' \\
    -H 'content-type: application/grpc-web+proto' -H 'x-grpc-web: 1' --data-binary @- {check}
  # an unknown service: grpc-status 5 as a header, readable by the page (exposed)
  printf '\\x00\\x00\\x00\\x00\\x06\\x0a\\x04nope' | curl -i --output - -H 'Origin: {origin}' \\
    -H 'content-type: application/grpc-web+proto' -H 'x-grpc-web: 1' --data-binary @- {check}
"
    );

    Server::builder()
        .accept_http1(true) // browsers speak gRPC-web over HTTP/1.1 without TLS
        .layer(cors) // outermost: preflights never reach the gRPC-web translation
        .layer(GrpcWebLayer::new())
        .add_service(health)
        .serve_with_incoming(TcpIncoming::from(listener))
        .await
        .map_err(|error| format!("server stopped: {}", explain(&error)))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tonic_web: {error}");
            ExitCode::FAILURE
        }
    }
}
