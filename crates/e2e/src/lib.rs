//! # corsair-e2e: corsair in real browsers
//!
//! A harness for end-to-end tests of corsair's tower layer in the three
//! browser engines Debian ships, driven through WebDriver (fantoccini):
//! headless Chromium (chromedriver), headless Firefox ESR (geckodriver),
//! and WebKitGTK's MiniBrowser (WebKitWebDriver) on an Xvfb display of its
//! own. The tests in `tests/` use it; so can any suite that needs to know
//! what a real browser does with corsair's answers.
//!
//! ## The pieces
//! - [`Engine`] (`corsair::browser::Engine`) says which engine.
//!   [`Browser::launch_engine`] starts one with a fresh profile and its own
//!   WebDriver server ([`Driver`], on a free port); [`Browser::launch`] is
//!   Chromium. One per test. [`Browser::open`] loads a page;
//!   [`Browser::run`] runs JavaScript in it (the body of an `async`
//!   function, through *Execute Async Script*) and returns what it
//!   returned as a [`serde_json::Value`]; [`Browser::probe`] deserializes
//!   the [`Probe`] that the [`PRELUDE`] helpers `probeFetch`, `probeXhr` and
//!   `probeInSandbox` produce.
//! - [`BrowserOptions`]: each engine's stock settings by default;
//!   [`BrowserOptions::allow_third_party_cookies`] to allow them,
//!   [`BrowserOptions::map_host`] to resolve more names to `127.0.0.1`.
//! - [`per_engine!`] turns `async fn check(engine: Engine)` into one test
//!   per engine (`check::chromium`, `check::firefox`, `check::webkit`).
//! - [`serve`], [`Listener`], [`Server`]: axum routers on `127.0.0.1`,
//!   ports chosen by the system, stopped on drop.
//! - [`Sites`]: the layout of a credentialed test (a page on
//!   `http://localhost:P1`, an API on `http://localhost:P2`, an attacker
//!   page on `http://127.0.0.1:P3`; see [`Origins`]).
//! - [`RequestLog`]: a tower layer recording what a server saw; put one on
//!   each side of corsair to see both what the browser sent and what
//!   reached the application.
//! - [`LoggedSeed`]: the API under test, [`corsair_seed`]'s seed API
//!   (login, session cookie, items), behind corsair with both logs; the
//!   tests give it the seed policy, [`corsair_seed::policy`].
//! - [`RouterTransport`]: the browser model's requests
//!   (`corsair::browser::Browser::play`) carried to an axum router in
//!   memory, with the `Host` and `Content-Length` an HTTP client would
//!   add, so that the model and a real engine can be played against the
//!   same router and their wires compared.
//! - [`Browser::console`] (with [`BrowserOptions::capture_console`]) and
//!   [`MiniBrowserConsole`]: what each engine's developer console printed
//!   ([`ConsoleLine`]), for the tests that hold the model's console lines
//!   to the engines' own.
//! - [`markdown_table`], for the tables the tests print.
//!
//! Nothing skips: an engine that is not installed fails its tests, with a
//! message that says how to install it ([`require`], [`install_hint`]);
//! `scripts/test` installs all three.
//!
//! ## Example
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> anyhow::Result<()> {
//! use corsair_e2e::{Browser, Engine, LoggedSeed, Sites};
//! use serde_json::json;
//!
//! let api = LoggedSeed::new();
//! let sites = Sites::start(|origins| api.router(corsair_seed::policy(&origins.page, Some(600)))).await?;
//! let browser = Browser::launch_engine(Engine::Firefox).await?;
//! browser.open(&sites.origins().page).await?;
//! let me = browser
//!     .probe(
//!         r#"return probeFetch(args[0], { credentials: "include" }, ["x-request-id"]);"#,
//!         vec![json!(sites.api_url("/me"))],
//!     )
//!     .await?;
//! assert_eq!(me.status, Some(401)); // not logged in, but readable: the origin is allowed
//! assert_eq!(api.wire.entries().len(), 1);
//! browser.close().await?;
//! # Ok(()) }
//! ```
//!
//! ## How each engine is launched
//! - Chromium: `/usr/bin/chromium` with [`CHROMIUM_ARGS`] (headless, no
//!   sandbox, quiet on the network), a new `--user-data-dir`, and
//!   `--host-resolver-rules` mapping `localhost` to `127.0.0.1` (Chromium
//!   resolves `localhost` to `[::1]` first, where no test server listens).
//! - Firefox: `/usr/bin/firefox-esr -headless` with a new `-profile` and
//!   [`FIREFOX_PREFS`] (IPv4 only, for the same reason), through
//!   `geckodriver` (from `cargo install`, found on `PATH` or in
//!   `~/.cargo/bin`).
//! - WebKit: `WebKitWebDriver` and `MiniBrowser --automation` on an Xvfb
//!   started with `-displayfd` (it picks a free display itself, so
//!   parallel tests never collide), all in one process group that dropping
//!   the [`Driver`] ends. MiniBrowser's session is ephemeral. GLib resolves
//!   `localhost` to `::1` first and nothing can change that: with nothing
//!   listening on `[::1]:P` the connection is refused at once and
//!   `127.0.0.1:P` is used.
//!
//! ## Things the real engines do that matter here
//! - `localhost:P1` and `localhost:P2` are the same site; `127.0.0.1` is
//!   another site. All of them are secure contexts in all three engines.
//! - Cookies, stock settings (pinned by `tests/cookies.rs`): Chromium and
//!   Firefox store and send `Secure` cookies over plain `http` on loopback
//!   hosts; WebKit (libsoup) stores no `Secure` cookie over `http` at all,
//!   loopback included, but keeps `SameSite=None` without `Secure`. Across
//!   sites (`localhost` calling `127.0.0.1`), headless Chromium under
//!   chromedriver blocks third-party cookies but partitioned (CHIPS) ones,
//!   Firefox keeps them in a partition of the top-level site, WebKit
//!   accepts none. [`BrowserOptions::allow_third_party_cookies`] changes
//!   that, as a desktop Chrome's default does.
//! - Every engine caches preflight answers, keyed by origin, URL and
//!   credentials mode, for `Access-Control-Max-Age` seconds (5 when the
//!   header is absent; `0` or a negative value caches nothing); loading
//!   another page does not clear the cache, a new [`Browser`] does. One
//!   entry covers every method and header the answer allowed: after a
//!   preflighted `PUT`, a `PATCH` to the same URL goes without a
//!   preflight.
//! - Only Chromium safelists its client hints (`DPR`, `Save-Data`,
//!   `Viewport-Width`...): Firefox and WebKit preflight them.

mod browser;
mod console;
mod driver;
mod model;
mod proxy;
mod record;
mod seed;
mod server;
mod table;

pub use browser::{Browser, BrowserOptions, CHROMIUM_ARGS, FIREFOX_PREFS, PRELUDE, Probe};
pub use console::{ConsoleLine, MiniBrowserConsole};
pub use corsair::browser::Engine;
pub use driver::{
    CHROMEDRIVER, CHROMIUM, Driver, FIREFOX, GECKODRIVER, Installation, MINIBROWSER,
    WEBKIT_WEBDRIVER, XVFB, find_geckodriver, find_minibrowser, install_hint, require,
};
pub use model::RouterTransport;
pub use record::{Recorded, RequestLog, Seen};
pub use seed::LoggedSeed;
pub use server::{Listener, Origins, Server, Sites, blank_page, serve};
pub use table::markdown_table;

/// Defines one `#[tokio::test]` per engine for each named check: with
/// `async fn name(engine: Engine)` in scope, `per_engine!(name);` makes the
/// tests `name::chromium`, `name::firefox` and `name::webkit`, which call
/// `name(Engine::Chromium)` and so on, and run in parallel like any
/// tests.
///
/// ```no_run
/// use corsair_e2e::{Browser, Engine, per_engine};
///
/// async fn launches(engine: Engine) {
///     let browser = Browser::launch_engine(engine).await.unwrap();
///     assert_eq!(browser.engine(), engine);
///     browser.close().await.unwrap();
/// }
/// per_engine!(launches);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! per_engine {
    ($($check:ident),+ $(,)?) => {$(
        mod $check {
            #[::tokio::test]
            async fn chromium() {
                super::$check($crate::Engine::Chromium).await;
            }
            #[::tokio::test]
            async fn firefox() {
                super::$check($crate::Engine::Firefox).await;
            }
            #[::tokio::test]
            async fn webkit() {
                super::$check($crate::Engine::WebKit).await;
            }
        }
    )+};
}
