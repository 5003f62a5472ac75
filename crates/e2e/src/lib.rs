//! # corsair-e2e: corsair in a real browser
//!
//! A harness for end-to-end tests of corsair's tower layer in headless
//! Chromium, driven through WebDriver (chromedriver and fantoccini). The
//! tests in `tests/` use it; so can any suite that needs to know what a real
//! browser does with corsair's answers.
//!
//! ## The pieces
//! - [`Browser`]: a headless Chromium with a fresh profile and its own
//!   chromedriver ([`Driver`], on a free port). One per test. [`Browser::open`]
//!   loads a page; [`Browser::run`] runs JavaScript in it (the body of an
//!   `async` function, through *Execute Async Script*) and returns what it
//!   returned as a [`serde_json::Value`]; [`Browser::probe`] deserializes
//!   the [`Probe`] that the [`PRELUDE`] helpers `probeFetch`, `probeXhr` and
//!   `probeInSandbox` produce. [`BrowserOptions::map_host`] maps host
//!   names (`--host-resolver-rules`).
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
//!
//! Nothing skips: without `/usr/bin/chromium` and `/usr/bin/chromedriver`,
//! [`Browser::launch`] fails and says how to install them
//! (`scripts/test` does it).
//!
//! ## Example
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> anyhow::Result<()> {
//! use corsair_e2e::{Browser, LoggedSeed, Sites};
//! use serde_json::json;
//!
//! let api = LoggedSeed::new();
//! let sites = Sites::start(|origins| api.router(corsair_seed::policy(&origins.page, Some(600)))).await?;
//! let browser = Browser::launch().await?;
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
//! ## Things a real browser does that matter here
//! - `localhost:P1` and `localhost:P2` are the same site, so the API's
//!   `SameSite=None; Secure` cookie is stored and sent over plain `http`
//!   (`localhost` is a secure context); `127.0.0.1` is another site.
//! - Chromium caches preflight answers in its network service, keyed by
//!   origin and URL, for `Access-Control-Max-Age` seconds (5 when the
//!   header is absent; `0` caches nothing); loading another page does not
//!   clear the cache, a new [`Browser`] does. One entry covers every method
//!   and header the answer allowed: after a preflighted `PUT`, a `PATCH` to
//!   the same URL goes without a preflight.
//! - Third-party cookies: headless Chromium under chromedriver blocks them
//!   unless told otherwise; [`BrowserOptions`] allows them by default, as a
//!   desktop Chrome does, so that a cross-site page's credentialed request
//!   carries the user's cookie and only CORS keeps the answer from it.

mod browser;
mod driver;
mod record;
mod seed;
mod server;

pub use browser::{Browser, BrowserOptions, CHROMIUM_ARGS, PRELUDE, Probe};
pub use driver::{CHROMEDRIVER, CHROMIUM, Driver, require_chromium};
pub use record::{Recorded, RequestLog, Seen};
pub use seed::LoggedSeed;
pub use server::{Listener, Origins, Server, Sites, blank_page, serve};
