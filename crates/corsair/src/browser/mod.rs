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
//! - [`Browser`] sends requests through any tower
//!   `Service` exactly as a browser would: the test helper that proves your
//!   single-page app can call your API.
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
mod cookies;
mod error;
mod harness;
mod plan;
mod request;

pub use cache::PreflightCache;
pub use check::{
    DEFAULT_MAX_AGE, PreflightResult, check_preflight, check_response, cors_check, exposed_headers,
    max_age,
};
pub use error::{Blocked, CorsFailure};
pub use harness::{BlockedRequest, Browser, FetchError, ScriptResponse};
pub use plan::{Page, Plan, PreflightRequest};
pub use request::{Client, CorsRequest, Credentials, Options};
