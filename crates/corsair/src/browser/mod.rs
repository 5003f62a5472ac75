//! The browser's side of CORS: what a browser sends for a script's request,
//! whether it lets the script read the answer, and what becomes of the
//! cookies that credentials mean.
//!
//! A model of the Fetch standard's rules as Chromium, Firefox and WebKit
//! apply them, with no browser and no network: users can test "will
//! Chrome, Firefox and Safari accept this, and will my cookies go along?"
//! in a unit test, and corsair's command-line tools explain why a browser
//! blocks a request with the same code. The end-to-end suite
//! (`crates/e2e`) holds every engine's model to the real engine.
//!
//! - [`Engine`] and its [`Profile`]: everything in which the engines
//!   differ (safelists, preflight cache caps, cookie rules, the order of
//!   their checks, their consoles' words).
//! - [`Page::plan`] classifies a request: cross-origin or not, the
//!   CORS-unsafe headers, whether a preflight is needed and exactly what it
//!   carries; [`Page::follow`] plans the request after a redirect.
//! - [`cors_check`], [`check_preflight`], [`check_response`], [`max_age`]
//!   and [`exposed_headers`] judge the server's answers.
//! - [`PreflightCache`] keeps preflight answers.
//! - [`report`] compares an application's own CORS answer with a policy's,
//!   in what a browser would do ([`Difference`]); [`report_and_log`] also
//!   logs it, as report-only mode does.
//! - [`Blocked`] says why a request fails and what to change;
//!   [`Blocked::console`] prints it in each engine's words.
//! - [`CookieReport`] says what an engine did with a cookie, and why.
//! - [`Browser::play`] is the browser's request loop, written once: plan,
//!   preflight (or the cache), the request with its cookies, redirects
//!   followed, each answer judged; a [`Transport`] carries the exchanges
//!   and a [`Transcript`] tells what happened. [`Browser::fetch`] plays
//!   through any tower `Service`: the test helper that proves your
//!   single-page app can call your API, in the engine of your choice
//!   ([`Browser::with_engine`]). [`play_in_each`] plays one request in
//!   several engines. `corsair probe` plays through an HTTP client and
//!   `corsair explain` through a policy in memory.
//!
//! ```
//! use corsair::browser::{CorsRequest, Engine, Page};
//!
//! let page = Page::new("https://app.example.com")?;
//! let request = CorsRequest::get("https://api.example.com/me").header("Save-Data", "on");
//! // A client hint: safelisted in Chromium, a preflight in Firefox and WebKit.
//! let chromium = page.plan(&request, &Engine::Chromium.profile())?;
//! let firefox = page.plan(&request, &Engine::Firefox.profile())?;
//! assert!(chromium.preflight.is_none() && firefox.preflight.is_some());
//! # Ok::<(), corsair::browser::Blocked>(())
//! ```

mod cache;
mod check;
mod console;
mod cookies;
mod engine;
mod error;
mod harness;
mod plan;
mod play;
mod profile;
mod report;
mod request;

pub use cache::PreflightCache;
pub use check::{
    DEFAULT_MAX_AGE, PreflightResult, allow_origin, allows_credentials, check_preflight,
    check_response, cors_check, exposed_headers, header_list, header_value, max_age,
};
pub use console::Console;
pub use cookies::{CookieFate, CookieRefusal, CookieReport};
pub use engine::{Engine, UnknownEngine};
pub use error::{Blocked, CorsFailure};
pub use harness::{BlockedRequest, Browser, FetchError, ScriptResponse};
pub use plan::{Page, Plan, PreflightRequest};
pub use play::{Exchange, Hop, Incoming, Outgoing, Transcript, Transport, Verdict, play_in_each};
pub use profile::{CookieRules, Profile, RedirectPreflight, SameSite, ThirdPartyCookies};
pub use report::{Difference, Report, report, report_and_log};
pub use request::{Client, CorsRequest, Credentials};
