//! The `corsair` command as a library: the CORS proxy ([`proxy`]), the
//! one-command demo ([`demo`]), the printing of a request the library's
//! browser played ([`transcript`], for [`explain`] and [`probe`]), and the command line that selects
//! them ([`cli`]). The binary in `main.rs` is a thin shell over this crate, so
//! tests start the proxy and the demo in-process on ephemeral ports.

pub mod audit;
pub mod check;
pub mod cli;
pub mod demo;
pub mod explain;
pub mod lint;
pub mod logging;
pub mod policy_file;
pub mod probe;
pub mod proxy;
pub mod target;
pub mod transcript;
