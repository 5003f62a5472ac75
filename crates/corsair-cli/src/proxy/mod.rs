//! `corsair proxy`: a CORS policy in front of any HTTP service.
//!
//! The proxy answers preflights itself, forwards every other request to the
//! upstream with its body streamed, removes whatever CORS headers the
//! upstream set and applies the policy of the request's route to the
//! answer: one source of truth. When the upstream is down (`502`) or slow
//! (`504`), the error carries the CORS headers an allowed origin needs, so
//! that the page's script can read the error instead of a blocked request.
//!
//! The file's format is in [`file`](mod@file); [`Proxy`] runs one in-process.

mod admin;
mod body;
pub mod file;
mod forward;
mod handler;
pub mod metrics;
pub mod origin_source;
mod pool;
pub mod reload;
pub mod routes;
mod server;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};
use tracing::info;

pub use body::ProxyBody;
pub use file::{Overrides, ProxyFile, Settings};
pub use reload::Source;
pub use server::{Proxy, StartError};
pub use tls::TlsError;

/// The proxy's options.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    /// The proxy's file (TOML): `upstream`, `[cors]`, `[[routes]]`, `[tls]`,
    /// `[limits]`, `[forwarding]`, `[admin]`.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Listen here instead of the file's `listen`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Proxy to this service instead of the file's `upstream`.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
}

/// Runs the proxy until SIGTERM or SIGINT, reloading on SIGHUP and when the
/// file changes.
///
/// # Errors
/// When the file is invalid, a listener cannot bind, or signals cannot be
/// handled: one message, before anything is served.
pub async fn run(args: ProxyArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen: args.listen,
        upstream: args.upstream,
    };
    let settings = ProxyFile::load(&args.config, &overrides)?;
    reload::log_warnings(&args.config, &settings);
    let upstream = settings.upstream.url.clone();
    let tls = settings.tls.is_some();
    let source = Source {
        path: args.config,
        overrides,
    };
    let mut hangup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let proxy = Proxy::start(settings, Some(source)).await?;
    let scheme = if tls { "https" } else { "http" };
    info!(
        listen = %proxy.addr(),
        admin = %proxy
            .admin_addr()
            .map_or_else(|| "none".to_owned(), |admin| admin.to_string()),
        %upstream,
        "corsair proxy listening on {scheme}://{}",
        proxy.addr()
    );
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                info!("SIGHUP: reloading the configuration");
                // The file is read here: on a multi-threaded runtime (the
                // command's), off the event loop's turn.
                let flavor = tokio::runtime::Handle::current().runtime_flavor();
                let _ = if flavor == tokio::runtime::RuntimeFlavor::MultiThread {
                    tokio::task::block_in_place(|| proxy.reload())
                } else {
                    proxy.reload()
                };
            }
            _ = terminate.recv() => {
                info!("SIGTERM: shutting down");
                break;
            }
            _ = interrupt.recv() => {
                info!("SIGINT: shutting down");
                break;
            }
        }
    }
    proxy.shutdown().await;
    Ok(())
}
