//! WebSocket origins through `corsair proxy`, in each real engine.
//!
//! Browsers apply no CORS to WebSockets: a page on any site may open one.
//! The proxy's `websocket_origins = "enforce"` (the default) refuses the
//! handshake of an origin the policy does not allow. Here a page on the
//! allowed origin connects through the proxy to a real WebSocket upstream
//! and gets its echo; a page on another origin cannot connect, and the
//! upstream never sees its handshake.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use corsair_cli::proxy::{Overrides, Proxy, ProxyFile};
use corsair_e2e::{Browser, Engine, per_engine, serve};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

per_engine!(only_the_allowed_origin_opens_a_websocket);

/// A WebSocket echo server on `127.0.0.1` that records the `Origin` of
/// every handshake it receives.
// tungstenite's handshake callback returns its own (large) error response.
#[allow(clippy::result_large_err)]
async fn upstream() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let callback = |request: &Request, response: Response| {
                    let origin = request
                        .headers()
                        .get("origin")
                        .map_or("(none)", |value| value.to_str().unwrap_or("(not text)"));
                    record.lock().unwrap().push(origin.to_owned());
                    Ok(response)
                };
                let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await
                else {
                    return;
                };
                while let Some(Ok(message)) = socket.next().await {
                    if message.is_text() && socket.send(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, seen)
}

/// Opens a WebSocket to `args[0]`, sends `hello`, and says what happened.
const OPEN: &str = r#"
return await new Promise((resolve) => {
  const socket = new WebSocket(args[0]);
  socket.onopen = () => socket.send("hello");
  socket.onmessage = (event) => { resolve({ opened: true, echo: event.data }); socket.close(); };
  socket.onerror = () => resolve({ opened: false });
  socket.onclose = () => resolve({ opened: false });
  setTimeout(() => resolve({ opened: false, timeout: true }), 10000);
});
"#;

async fn only_the_allowed_origin_opens_a_websocket(engine: Engine) {
    let (upstream_port, seen) = upstream().await;
    let page = || Router::new().route("/", get(|| async { Html("<!doctype html><p>page</p>") }));
    let allowed = serve(page()).await.unwrap();
    let other = serve(page()).await.unwrap();
    let allowed_origin = allowed.origin("localhost");
    let other_origin = other.origin("127.0.0.1");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:{upstream_port}\"\n\
             [cors]\nallow_origins = [\"{allowed_origin}\"]\nallow_credentials = true\n"
        ),
    )
    .unwrap();
    let settings = ProxyFile::load(&path, &Overrides::default()).unwrap();
    let proxy = Proxy::start(settings, None).await.unwrap();
    let url = format!("ws://localhost:{}/socket", proxy.addr().port());

    let browser = Browser::launch_engine(engine).await.unwrap();
    browser.open(&allowed_origin).await.unwrap();
    let answer = browser.run(OPEN, vec![json!(url)]).await.unwrap();
    assert_eq!(
        answer,
        json!({ "opened": true, "echo": "hello" }),
        "{engine:?} from {allowed_origin}"
    );

    browser.open(&other_origin).await.unwrap();
    let answer = browser.run(OPEN, vec![json!(url)]).await.unwrap();
    assert_eq!(
        answer["opened"],
        Value::Bool(false),
        "{engine:?} from {other_origin}: {answer}"
    );
    assert!(
        answer.get("timeout").is_none(),
        "{engine:?}: the refusal should be prompt: {answer}"
    );

    // The upstream saw the allowed handshake only.
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [allowed_origin.as_str()],
        "{engine:?}"
    );
    assert_eq!(
        proxy
            .metrics()
            .requests(corsair_cli::proxy::metrics::Outcome::WebSocketRefused),
        1,
        "{engine:?}"
    );
    browser.close().await.unwrap();
    proxy.shutdown().await;
}
