//! The browser's side of CORS: what a browser sends for a script's request,
//! and whether it lets the script read the answer.
//!
//! A faithful model of the Fetch standard's rules as Chromium applies them,
//! with no browser and no network: users can test "will Chrome accept
//! this?" in a unit test, and corsair's command-line tools explain why a
//! browser blocks a request with the same code.
//!
//! - [`Page::plan`] classifies a request: cross-origin or not, the
//!   CORS-unsafe headers, whether a preflight is needed and exactly what it
//!   carries.
//! - [`cors_check`], [`check_preflight`], [`check_response`], [`max_age`]
//!   and [`exposed_headers`] judge the server's answers.
//! - [`PreflightCache`] keeps preflight answers as Chromium does.
//! - [`Blocked`] says why a request fails, in the words of Chromium's
//!   console, and what to change.
//! - [`Browser::play`] is the browser's request loop, written once: plan,
//!   preflight (or the cache), the actual request with its cookies, each
//!   answer judged; a [`Transport`] carries the exchanges and a
//!   [`Transcript`] tells what happened. [`Browser::fetch`] plays through
//!   any tower `Service`: the test helper that proves your single-page app
//!   can call your API. `corsair probe` plays through an HTTP client and
//!   `corsair explain` through a policy in memory.
//!
//! ```
//! use corsair::browser::{CorsRequest, Options, Page};
//!
//! let page = Page::new("https://app.example.com")?;
//! let plan = page.plan(&CorsRequest::get("https://api.example.com/me"), &Options::default())?;
//! assert!(plan.cross_origin && plan.preflight.is_none()); // a simple request
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
pub use profile::{CookieRules, Profile, SameSite, ThirdPartyCookies};
pub use request::{Client, CorsRequest, Credentials};

/// The former name of [`Profile`].
pub type Options = Profile;
