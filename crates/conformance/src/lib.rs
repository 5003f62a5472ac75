//! The conformance table shared by every runner: `cases.toml` beside this
//! crate's manifest,
//! its types and loading ([`table`]), and the comparison of what a runner
//! observed with what a case expects ([`compare`]).
//!
//! Nothing here knows an HTTP framework or a transport: a runner (tower,
//! actix-web, the proxy over real HTTP) builds an application from a
//! [`Case`], sends its request, and hands back an [`Outcome`]: the status,
//! every response header, the body and how often the application was called.
//! [`Report`] compares each outcome with its case and fails the test with every
//! difference of every failing case.

// A test-support crate: a table that does not load is a failed test.
#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

pub mod compare;
pub mod table;

pub use compare::{Outcome, Report};
pub use table::{APP_ERROR_BODY, AppBody, Case};
