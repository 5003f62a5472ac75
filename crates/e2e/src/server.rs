//! axum servers on `127.0.0.1`, and the three sites of a credentialed test.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{Context as _, Result};
use axum::Router;
use axum::response::Html;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A socket bound on `127.0.0.1` with a port chosen by the system, not yet
/// serving: its port is known before the router that will serve it is
/// built (a CORS policy needs the origins of the other sites).
#[derive(Debug)]
pub struct Listener {
    listener: TcpListener,
    port: u16,
}

impl Listener {
    /// Binds `127.0.0.1:0`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn bind() -> Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .context("cannot bind a port on 127.0.0.1")?;
        let port = listener.local_addr()?.port();
        Ok(Self { listener, port })
    }

    /// The port bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves `router` on this socket in a task of the current tokio
    /// runtime, until the returned [`Server`] is dropped.
    pub fn serve(self, router: Router) -> Server {
        let Self { listener, port } = self;
        let task = tokio::spawn(async move {
            // The server runs until the task is aborted; an I/O error on
            // the listening socket ends it, and the test then fails on its
            // own requests.
            let _ignored = axum::serve(listener, router).await;
        });
        Server { port, task }
    }
}

/// Serves `router` on `127.0.0.1` on a port chosen by the system.
///
/// # Errors
/// When no port can be bound.
pub async fn serve(router: Router) -> Result<Server> {
    Ok(Listener::bind().await?.serve(router))
}

/// A running server; dropping it stops it.
#[derive(Debug)]
pub struct Server {
    port: u16,
    task: JoinHandle<()>,
}

impl Server {
    /// Its port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its origin when addressed as `host` (`localhost`, `127.0.0.1` or a
    /// name mapped by [`crate::BrowserOptions::map_host`]):
    /// `http://HOST:PORT`.
    pub fn origin(&self, host: &str) -> String {
        format!("http://{host}:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An empty HTML page, served for every `GET`: a document to run scripts
/// in, on the origin of the server that serves it.
pub fn blank_page() -> Router {
    Router::new().fallback(|| async {
        Html("<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>corsair e2e</title><body></body></html>")
    })
}

/// The origins of the three [`Sites`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origins {
    /// `http://localhost:P1`: the page that the API trusts.
    pub page: String,
    /// `http://localhost:P2`: the API. Cross-origin to the page, but the
    /// same site (ports do not count for sites, and cookies ignore ports),
    /// so its `SameSite=None; Secure` cookies are first-party there, and
    /// `Secure` cookies work over plain `http` because `localhost` is a
    /// secure context.
    pub api: String,
    /// `http://127.0.0.1:P3`: a page the API does not trust, on another
    /// site (`localhost` and `127.0.0.1` are different sites).
    pub attacker: String,
}

/// Three servers laid out for credentialed tests (see
/// `shared/docs/cors-protocol.md` §10): a page, an API on another port of
/// the same site, and an attacker page on another site. The pages are
/// [`blank_page`]s; the API is the caller's router. Dropping `Sites` stops
/// all three.
#[derive(Debug)]
pub struct Sites {
    origins: Origins,
    _page: Server,
    _api: Server,
    _attacker: Server,
}

impl Sites {
    /// Binds the three ports, builds the API with `api` (which gets the
    /// origins, to write its policy), and serves all three.
    ///
    /// ```no_run
    /// # async fn example() -> anyhow::Result<()> {
    /// use corsair_e2e::{Browser, LoggedSeed, Sites};
    ///
    /// let api = LoggedSeed::new();
    /// let sites = Sites::start(|origins| api.router(corsair_seed::policy(&origins.page, Some(600)))).await?;
    /// let browser = Browser::launch().await?;
    /// browser.open(&sites.origins().page).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When a port cannot be bound, or `api` fails.
    pub async fn start<F>(api: F) -> Result<Self>
    where
        F: FnOnce(&Origins) -> Result<Router>,
    {
        let (page, api_listener, attacker) = (
            Listener::bind().await?,
            Listener::bind().await?,
            Listener::bind().await?,
        );
        let origins = Origins {
            page: format!("http://localhost:{}", page.port()),
            api: format!("http://localhost:{}", api_listener.port()),
            attacker: format!("http://127.0.0.1:{}", attacker.port()),
        };
        let router = api(&origins).context("cannot build the API")?;
        Ok(Self {
            origins,
            _page: page.serve(blank_page()),
            _api: api_listener.serve(router),
            _attacker: attacker.serve(blank_page()),
        })
    }

    /// The origins of the page, the API and the attacker page.
    pub fn origins(&self) -> &Origins {
        &self.origins
    }

    /// A URL on the API: its origin followed by `path` (which starts with
    /// `/`).
    pub fn api_url(&self, path: &str) -> String {
        format!("{}{path}", self.origins.api)
    }
}
