//! The upstream of `scripts/bench-proxy`: an HTTP/1.1 server that answers
//! every request, whatever its method or path, with `200`, a JSON content
//! type and a 13-byte body. It does as little as possible so that a
//! benchmark of a proxy in front of it measures the proxy.
//!
//! It also sends `Access-Control-Allow-Origin: *`, as a service with its own
//! sloppy CORS might: a proxy that applies a policy must replace it, and the
//! benchmark checks that it does.
//!
//! ```text
//! cargo build --release -p corsair-cli --example bench_upstream
//! target/release/examples/bench_upstream 3000    # listens on 127.0.0.1:3000
//! ```
//!
//! Request bodies are not read (the benchmark sends none); keep-alive is
//! on, as it is for a real service behind a proxy.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The body of every answer: 13 bytes.
const BODY: &[u8] = b"{\"ok\": true}\n";

/// The answer to any request.
async fn answer(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port.parse()?,
        None => 3000,
    };
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    eprintln!(
        "bench_upstream listening on http://{}",
        listener.local_addr()?
    );
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: wait, do not spin.
                eprintln!("bench_upstream: cannot accept: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            // A client that goes away mid-request is no concern of a
            // benchmark's upstream.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
