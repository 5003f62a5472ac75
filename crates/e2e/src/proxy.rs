//! A forward HTTP proxy that resolves a few host names to `127.0.0.1`: how
//! a WebKit browser, which has no host resolver rules, reaches the test
//! servers under names that are not loopback.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::Result;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, StatusCode, Uri, header};
use axum::response::{IntoResponse as _, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::server::{Server, serve};

/// Headers that concern one hop only, and are not forwarded.
const HOP_BY_HOP: [HeaderName; 5] = [
    header::CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHORIZATION,
    header::TE,
];

/// Serves, on `127.0.0.1`, a proxy for plain `http` that forwards a
/// request for `http://HOST:PORT/...` to `127.0.0.1:PORT` when `HOST` is
/// one of `hosts`, with the browser's `Host` header unchanged, and answers
/// anything else with `502`.
pub(crate) async fn start_proxy(hosts: &[String]) -> Result<Server> {
    let hosts: Arc<BTreeSet<String>> =
        Arc::new(hosts.iter().map(|host| host.to_ascii_lowercase()).collect());
    let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new()).build_http();
    let router = Router::new().fallback(move |request: Request| {
        let hosts = Arc::clone(&hosts);
        let client = client.clone();
        async move { forward(&hosts, &client, request).await }
    });
    serve(router).await
}

async fn forward(
    hosts: &BTreeSet<String>,
    client: &Client<HttpConnector, Body>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let Some(authority) = parts.uri.authority().cloned() else {
        return refuse(format!("not a proxy request: {}", parts.uri));
    };
    if parts.uri.scheme_str() != Some("http")
        || !hosts.contains(&authority.host().to_ascii_lowercase())
    {
        return refuse(format!("{} is not a mapped host", parts.uri));
    }
    let port = authority.port_u16().unwrap_or(80);
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    let Ok(uri) = format!("http://127.0.0.1:{port}{path}").parse::<Uri>() else {
        return refuse(format!("cannot forward {}", parts.uri));
    };
    parts.uri = uri;
    for name in &HOP_BY_HOP {
        parts.headers.remove(name);
    }
    if !parts.headers.contains_key(header::HOST)
        && let Ok(value) = authority.as_str().parse()
    {
        parts.headers.insert(header::HOST, value);
    }
    match client.request(Request::from_parts(parts, body)).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            for name in &HOP_BY_HOP {
                parts.headers.remove(name);
            }
            Response::from_parts(parts, Body::new(body))
        }
        Err(error) => refuse(format!("cannot reach 127.0.0.1:{port}: {error}")),
    }
}

fn refuse(message: String) -> Response {
    (StatusCode::BAD_GATEWAY, message).into_response()
}
