//! The admin listener: `/healthz`, `/metrics` (OpenMetrics text) and
//! `/config` (the file in force, as JSON). HTTP/1.1, `GET` and `HEAD` only.

use std::convert::Infallible;
use std::sync::Arc;

use corsair::origin::source::SourceStats;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, warn};

use super::body::ProxyBody;
use super::file::ProxyFile;
use super::handler::{Live, Shared};
use super::routes::RouteRow;

/// Serves the admin endpoints until `stopped` changes.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    warn!(%error, "admin: cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = answer(&shared, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                debug!(%error, "admin connection ended with an error");
            }
        });
    }
}

/// The answer to one admin request.
fn answer(shared: &Shared, request: &Request<Incoming>) -> Response<ProxyBody> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "GET or HEAD\n".to_owned(),
        );
    }
    match request.uri().path() {
        "/healthz" => text(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ok\n".to_owned(),
        ),
        "/metrics" => text(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            shared.metrics.render_with_sources(origin_sources(shared)),
        ),
        "/config" => match serde_json::to_string_pretty(&ConfigView::of(&shared.live.load())) {
            Ok(json) => text(StatusCode::OK, "application/json", json + "\n"),
            Err(error) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                format!("cannot render the configuration: {error}\n"),
            ),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "try /healthz, /metrics or /config\n".to_owned(),
        ),
    }
}

/// What `/config` shows: the file in force, and its routes in the order
/// they are tried.
#[derive(Serialize)]
struct ConfigView<'a> {
    #[serde(flatten)]
    file: &'a ProxyFile,
    route_table: Vec<RouteRow>,
}

impl<'a> ConfigView<'a> {
    fn of(live: &'a Live) -> Self {
        ConfigView {
            file: &live.file,
            route_table: live.routes.rows(),
        }
    }
}

/// What the origin source of each route that has one reported, by its
/// entry in the file (`cors`, `routes[2]`), as `/config`'s `route_table`
/// names it: a host or a prefix could be the word `default`.
fn origin_sources(shared: &Shared) -> Vec<(String, SourceStats)> {
    let live = shared.live.load();
    live.routes
        .policies()
        .filter_map(|(route, policy)| {
            let stats = policy.origin_source_stats()?;
            let entry = route.map_or_else(
                || "cors".to_owned(),
                |route| format!("routes[{}]", route.index),
            );
            Some((entry, stats))
        })
        .collect()
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::text(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
