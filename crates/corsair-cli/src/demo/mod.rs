//! `corsair demo`: credentialed cross-origin calls in a real browser, and
//! what the server saw of each.
//!
//! One command starts three servers on `127.0.0.1`:
//!
//! | site | default origin | what it is |
//! |---|---|---|
//! | the API | `http://localhost:3000` | the seed API of [`corsair_seed`]: log in, who am I, `/items/{id}` ([`policy`] in front) |
//! | the page | `http://localhost:8080` | the page the policy trusts; open it |
//! | the attacker | `http://127.0.0.1:8081` | the same calls from an origin the policy does not list |
//!
//! The page runs a sequence of calls as soon as it loads, each shown on a
//! card: log in (`fetch` `POST` with a JSON body and `credentials:
//! "include"`), who am I (`XMLHttpRequest` with `withCredentials`, set by a
//! prefilter as jQuery's `$.ajaxPrefilter` would), then `PUT`, `GET`,
//! `PATCH` and `DELETE /items/1` by `fetch`. A card shows what the script
//! sent, the preflight the server saw (or none, for a simple request), the
//! request and the response headers as the server saw them (marking those a
//! script may read), and whether the browser handed the response to the
//! script. The attacker's page makes the same calls and shows them blocked.
//! Everything is plain HTML, CSS and JavaScript compiled into the binary:
//! no build step, no external resource (the pages' Content-Security-Policy
//! allows none).
//!
//! ## Choices
//! - **Origins.** The API and the page are both on `localhost`: different
//!   origins (ports differ) but the same site, as `api.example.com` and
//!   `app.example.com` are. The attacker is on `127.0.0.1`, another site.
//!   The servers bind `127.0.0.1` only: the demo is for the machine it runs
//!   on, and its origins depend on these names, so there is no `--bind`.
//! - **The session cookie** is the seed API's, `Path=/; HttpOnly;
//!   SameSite=Lax` ([`corsair_seed::SAME_SITE_COOKIE`]): first-party for
//!   the page, so Chromium, Firefox and WebKit all keep it and send it back
//!   over plain `http://localhost`, and never with the attacker's calls.
//!   `SameSite=None; Secure` would fail in WebKit, which keeps no `Secure`
//!   cookie from an `http://` URL. Both pages show, from the library's
//!   cookie model, what each engine does with it and with the cookie a
//!   cross-site API would need.
//! - **Ports.** `--api-port`, `--page-port`, `--attacker-port`; `0` picks a
//!   free port. The policy is built after binding, from the page's actual
//!   origin.
//! - **What the server saw.** The API records every exchange at the wire,
//!   outside the CORS layer, so preflights (which corsair answers and the
//!   application never sees) are recorded too, with all response headers,
//!   including those a script cannot read cross-origin. Each call carries
//!   its id in the query (`?call=page-RUN-N`): a query parameter, unlike a
//!   custom header, does not change whether a request is preflighted. The
//!   page reads the log from its own origin (`/exchanges?call=ID`), so
//!   reading it needs no CORS. The log is a ring buffer of
//!   [`exchanges::CAPACITY`] entries, cookie values are redacted before they
//!   are stored (the attacker's page can read its own calls' entries, and
//!   must not find the session there), and each page may read only its own
//!   calls.
//! - **`max_age = 600`.** A realistic value. Chromium keys its preflight
//!   cache by origin and URL, and every call's URL is unique (its call id),
//!   so every preflight stays visible on every run anyway; the page says
//!   so, since a real application would see fewer.
//! - **Machine-readable results** for tests: each card is an element with
//!   `data-call` (`login`, `me`, `put`, `get`, `patch`, `delete`),
//!   `data-id` (the call id) and `data-verdict` (`allowed` or `blocked`);
//!   `window.demoResults` holds one object per call; `<body data-done>` is
//!   set when the sequence has finished.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use corsair_cli::demo::{Demo, DemoArgs};
//!
//! let demo = Demo::start(&DemoArgs::ephemeral()).await?;
//! println!("open {}", demo.page_url());
//! // ... drive a browser ...
//! for exchange in demo.exchanges() {
//!     println!("{} {} -> {}", exchange.method, exchange.target, exchange.status);
//! }
//! demo.shutdown().await?;
//! # Ok(()) }
//! ```

mod cookies;
pub mod exchanges;
mod pages;

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use axum::{Router, middleware};
use corsair::{Config, Cors};
use corsair_seed::SeedApi;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use exchanges::Exchange;
use exchanges::ExchangeLog;
use pages::Role;

/// The API's port unless `--api-port` says otherwise.
pub const DEFAULT_API_PORT: u16 = 3000;
/// The page's port unless `--page-port` says otherwise.
pub const DEFAULT_PAGE_PORT: u16 = 8080;
/// The attacker page's port unless `--attacker-port` says otherwise.
pub const DEFAULT_ATTACKER_PORT: u16 = 8081;

/// How long [`Demo::shutdown`] waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The demo's options: where its three servers listen.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct DemoArgs {
    /// The API's port, on 127.0.0.1 (origin `http://localhost:PORT`); 0 picks a free port.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_API_PORT)]
    pub api_port: u16,
    /// The trusted page's port, on 127.0.0.1 (origin `http://localhost:PORT`); 0 picks a free port.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_PAGE_PORT)]
    pub page_port: u16,
    /// The attacker page's port, on 127.0.0.1 (origin `http://127.0.0.1:PORT`); 0 picks a free port.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_ATTACKER_PORT)]
    pub attacker_port: u16,
}

impl Default for DemoArgs {
    /// The default ports: 3000, 8080 and 8081.
    fn default() -> Self {
        Self {
            api_port: DEFAULT_API_PORT,
            page_port: DEFAULT_PAGE_PORT,
            attacker_port: DEFAULT_ATTACKER_PORT,
        }
    }
}

impl DemoArgs {
    /// Every port `0`: each server gets a free port (for tests).
    pub fn ephemeral() -> Self {
        Self {
            api_port: 0,
            page_port: 0,
            attacker_port: 0,
        }
    }
}

/// The origins of the demo's three sites, as browsers write them in
/// `Origin` (no trailing slash, no `:80`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origins {
    /// The API: `http://localhost:PORT`.
    pub api: String,
    /// The trusted page: `http://localhost:PORT`.
    pub page: String,
    /// The attacker's page: `http://127.0.0.1:PORT`.
    pub attacker: String,
}

/// The demo's CORS policy for a page on `page_origin`: the seed policy
/// ([`corsair_seed::policy`]) with preflights cacheable for 600 seconds.
/// That origin and no other, with credentials; methods `GET`, `POST`,
/// `PUT`, `PATCH`, `DELETE`; request headers `accept` and `content-type`
/// (what the page sends); `x-request-id` exposed.
///
/// ```
/// let config = corsair_cli::demo::policy("http://localhost:8080");
/// assert_eq!(config.allow_origins, ["http://localhost:8080"]);
/// assert!(config.allow_credentials);
/// assert_eq!(config.max_age, Some(600));
/// assert!(corsair::Cors::new(config).is_ok());
/// ```
pub fn policy(page_origin: &str) -> Config {
    corsair_seed::policy(page_origin, Some(600))
}

/// The API's router: a new seed API, the marker of responses made by the
/// application, `cors`, and outside everything the exchange log (so that
/// preflights, which corsair answers, are logged too).
fn api_router(api: &SeedApi, cors: Cors, log: ExchangeLog) -> Router {
    api.routes()
        .layer(middleware::map_response(exchanges::mark_reached_app))
        .layer(cors)
        .layer(middleware::from_fn_with_state(log, exchanges::record))
}

/// The policy as the `[cors]` table of a `corsair proxy` file, for the page.
fn policy_toml(config: &Config) -> String {
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
        format!("[{}]", quoted.join(", "))
    };
    let mut text = format!(
        "[cors]\nallow_origins = {}\nallow_credentials = {}\nallow_methods = {}\n\
         allow_headers = {}\nexpose_headers = {}\n",
        list(&config.allow_origins),
        config.allow_credentials,
        list(&config.allow_methods),
        list(&config.allow_headers),
        list(&config.expose_headers),
    );
    if let Some(max_age) = config.max_age {
        text.push_str(&format!("max_age = {max_age}\n"));
    }
    if config.cross_origin_protection {
        text.push_str("cross_origin_protection = true\n");
    }
    text
}

/// A running demo: the API, the page and the attacker's page, each served
/// in a task of the current tokio runtime. Dropping it stops the servers
/// abruptly; [`Demo::shutdown`] stops them gracefully.
#[derive(Debug)]
pub struct Demo {
    origins: Origins,
    log: ExchangeLog,
    stop: watch::Sender<bool>,
    servers: JoinSet<anyhow::Result<()>>,
}

impl Demo {
    /// Binds the three ports on `127.0.0.1`, builds the policy for the
    /// page's origin, and starts serving.
    ///
    /// # Errors
    /// When a port cannot be bound (taken, or privileged): the error names
    /// the server, the address and the option that changes it.
    pub async fn start(args: &DemoArgs) -> anyhow::Result<Self> {
        let api = listen("the API", args.api_port, "--api-port").await?;
        let page = listen("the page", args.page_port, "--page-port").await?;
        let attacker = listen("the attacker's page", args.attacker_port, "--attacker-port").await?;
        let origins = Origins {
            api: origin("localhost", port_of(&api)?),
            page: origin("localhost", port_of(&page)?),
            attacker: origin("127.0.0.1", port_of(&attacker)?),
        };
        let config = policy(&origins.page);
        let shown = policy_toml(&config);
        let cors =
            Cors::new(config).map_err(|error| anyhow!("the demo's policy is invalid: {error}"))?;
        let log = ExchangeLog::default();
        let seed = SeedApi::new();
        let cookies = cookies::section(&origins, seed.cookie());

        let (stop, stopped) = watch::channel(false);
        let mut servers = JoinSet::new();
        let routers = [
            ("the API", api, api_router(&seed, cors, log.clone())),
            (
                "the page",
                page,
                pages::router(Role::Page, &origins, &shown, &cookies, log.clone()),
            ),
            (
                "the attacker's page",
                attacker,
                pages::router(Role::Attacker, &origins, &shown, &cookies, log.clone()),
            ),
        ];
        for (name, listener, router) in routers {
            servers.spawn(serve(name, listener, router, stopped.clone()));
        }
        Ok(Self {
            origins,
            log,
            stop,
            servers,
        })
    }

    /// The origins of the three sites.
    pub fn origins(&self) -> &Origins {
        &self.origins
    }

    /// The page to open: `http://localhost:PORT/`.
    pub fn page_url(&self) -> String {
        format!("{}/", self.origins.page)
    }

    /// The attacker's page: `http://127.0.0.1:PORT/`.
    pub fn attacker_url(&self) -> String {
        format!("{}/", self.origins.attacker)
    }

    /// The API's root: `http://localhost:PORT/`.
    pub fn api_url(&self) -> String {
        format!("{}/", self.origins.api)
    }

    /// What the API saw so far, oldest first: the last
    /// [`exchanges::CAPACITY`] exchanges, preflights included.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.all()
    }

    /// Stops accepting connections, lets open ones finish for a few
    /// seconds, then stops the servers.
    ///
    /// # Errors
    /// When a server had failed.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        // No receiver left means every server has already ended.
        let _ignored = self.stop.send(true);
        let servers = &mut self.servers;
        let all = async {
            let mut first_error = None;
            while let Some(joined) = servers.join_next().await {
                let result = joined
                    .map_err(anyhow::Error::from)
                    .and_then(|result| result);
                if let Err(error) = result {
                    first_error.get_or_insert(error);
                }
            }
            first_error.map_or(Ok(()), Err)
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, all).await {
            Ok(result) => result,
            // Connections still open (a browser keeps some alive): the
            // servers are aborted when `self.servers` is dropped.
            Err(_elapsed) => Ok(()),
        }
    }

    /// Waits until a server stops on its own, which they only do on
    /// failure, and returns why.
    async fn failure(&mut self) -> anyhow::Error {
        match self.servers.join_next().await {
            Some(Ok(Err(error))) => error,
            Some(Ok(Ok(()))) => anyhow!("a server stopped unexpectedly"),
            Some(Err(error)) => anyhow!("a server task failed: {error}"),
            None => anyhow!("no server is running"),
        }
    }
}

/// Binds `127.0.0.1:port` for `what`.
async fn listen(what: &str, port: u16, option: &str) -> anyhow::Result<TcpListener> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(address).await.with_context(|| {
        format!(
            "cannot listen on {address} for {what}; choose another port with {option} \
             (0 picks a free one)"
        )
    })
}

fn port_of(listener: &TcpListener) -> anyhow::Result<u16> {
    Ok(listener
        .local_addr()
        .context("cannot read the address of a bound socket")?
        .port())
}

/// `http://HOST:PORT` as browsers write it in `Origin`: no `:80`.
fn origin(host: &str, port: u16) -> String {
    match port {
        80 => format!("http://{host}"),
        _ => format!("http://{host}:{port}"),
    }
}

/// Serves `router` until `stopped` turns true (or its sender is dropped).
async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    mut stopped: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let stop = async move {
        let _ignored = stopped.wait_for(|stop| *stop).await;
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
        .with_context(|| format!("{name} stopped serving"))
}

/// Runs the demo: starts it, prints the URLs to open, and serves until
/// Ctrl-C.
///
/// # Errors
/// When the demo cannot start (a port is taken), stdout cannot be written,
/// or a server fails.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let mut demo = Demo::start(&args).await?;
    let Origins {
        api,
        page,
        attacker,
    } = demo.origins().clone();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "corsair demo\n\
         \x20 API       {api}    a credentialed CORS policy: only {page} may read its answers, with cookies\n\
         \x20 page      {page}/   the trusted page\n\
         \x20 attacker  {attacker}/   the same calls from a site the policy does not trust\n\
         \n\
         Open {page}/ in a browser. Stop with Ctrl-C."
    )
    .and_then(|()| out.flush())
    .context("cannot write to stdout")?;
    drop(out);
    tracing::info!(%api, %page, %attacker, "demo started");

    tokio::select! {
        signal = tokio::signal::ctrl_c() => signal.context("cannot wait for Ctrl-C")?,
        error = demo.failure() => return Err(error),
    }
    tracing::info!("stopping the demo");
    demo.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    fn preflight(origin: &str, method: &str) -> Request<Body> {
        Request::options("/items/1?call=page-t-1")
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn the_policy_allows_the_page_origin_only() {
        let page = "http://localhost:8080";
        let log = ExchangeLog::default();
        let router = api_router(
            &SeedApi::new(),
            Cors::new(policy(page)).unwrap(),
            log.clone(),
        );
        for method in ["PUT", "PATCH", "DELETE", "POST"] {
            let answer = router
                .clone()
                .oneshot(preflight(page, method))
                .await
                .unwrap();
            assert_eq!(answer.status(), StatusCode::NO_CONTENT, "{method}");
            assert_eq!(answer.headers()["access-control-allow-origin"], page);
            assert_eq!(answer.headers()["access-control-allow-credentials"], "true");
        }
        for other in [
            "http://127.0.0.1:8081",
            "http://localhost:8081",
            "null",
            "https://localhost:8080",
        ] {
            let answer = router
                .clone()
                .oneshot(preflight(other, "PUT"))
                .await
                .unwrap();
            assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{other}");
            assert!(
                answer
                    .headers()
                    .get("access-control-allow-origin")
                    .is_none()
            );
        }
        // Every preflight was logged, none reached the application.
        let seen = log.all();
        assert_eq!(seen.len(), 8);
        assert!(
            seen.iter()
                .all(|exchange| exchange.preflight && !exchange.reached_app)
        );
        assert_eq!(seen[0].call.as_deref(), Some("page-t-1"));
        // The library's browser model judges each answer for the page.
        let failures: Vec<_> = seen.iter().map(|e| e.cors_failure.is_some()).collect();
        assert_eq!(
            failures,
            [false, false, false, false, true, true, true, true]
        );
    }

    #[tokio::test]
    async fn the_log_marks_what_reached_the_application() {
        let page = "http://localhost:8080";
        let log = ExchangeLog::default();
        let router = api_router(
            &SeedApi::new(),
            Cors::new(policy(page)).unwrap(),
            log.clone(),
        );
        let me = Request::get("/me?call=attacker-t-2")
            .header("origin", "http://127.0.0.1:8081")
            .header("cookie", "session=secret")
            .body(Body::empty())
            .unwrap();
        let answer = router.oneshot(me).await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        let seen = log.all();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].reached_app && !seen[0].preflight);
        assert_eq!(seen[0].request_header("cookie"), Some("session=…"));
        assert_eq!(seen[0].response_header("access-control-allow-origin"), None);
        assert_eq!(
            seen[0].cors_failure.as_deref(),
            Some("No 'Access-Control-Allow-Origin' header is present on the requested resource.")
        );
        assert_eq!(
            seen[0].response_header(corsair_seed::INTERNAL_HEADER),
            Some(corsair_seed::INTERNAL_HEADER_VALUE)
        );
    }

    #[test]
    fn origins_omit_the_default_port() {
        assert_eq!(origin("localhost", 80), "http://localhost");
        assert_eq!(origin("127.0.0.1", 8081), "http://127.0.0.1:8081");
    }

    #[test]
    fn the_policy_is_shown_as_a_proxy_file_would_write_it() {
        let text = policy_toml(&policy("http://localhost:8080"));
        assert!(
            text.contains("allow_origins = [\"http://localhost:8080\"]"),
            "{text}"
        );
        assert!(text.contains("max_age = 600"), "{text}");
    }
}
