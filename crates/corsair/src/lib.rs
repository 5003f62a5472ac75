//! # corsair: Cross-Origin Resource Sharing done right
//!
//! A CORS policy is written in code with [`Cors::builder`], or as a
//! [`Config`] (the plain data that files are read into), checked and
//! compiled by [`Cors::new`], which refuses unsafe or meaningless
//! configurations with a [`ConfigError`] listing every problem. The compiled
//! [`Policy`](policy::Policy) inside answers preflights without reaching the
//! application and gives actual responses exactly the headers a browser
//! needs.
//!
//! ```
//! use axum::{Router, routing::get};
//! use corsair::Cors;
//! use http::{Method, header};
//!
//! let cors = Cors::builder()
//!     .allow_origin("https://app.example.com")
//!     .allow_credentials(true)
//!     .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
//!     .allow_headers([header::ACCEPT, header::CONTENT_TYPE])
//!     .build()?;
//! let app: Router = Router::new().route("/me", get(|| async { "hello" })).layer(cors);
//! # Ok::<(), corsair::ConfigError>(())
//! ```
//!
//! ## Where things are
//! - The crate root: what an application writes ([`Cors`], [`CorsBuilder`],
//!   [`Config`], their errors, and reading files).
//! - [`config`]: the files a policy is read from: the one reader
//!   ([`config::Document`]) and its vocabulary of problems
//!   ([`config::Diagnostic`]), which the proxy and `corsair check` share.
//! - [`live`]: a value replaced while it is read (the policy of a
//!   [`Cors`]) and each reader's cache of it, which the adapters use.
//! - [`tower`] and [`actix`]: the framework adapters, each a thin
//!   translation of its framework's types.
//! - [`adapter`]: the interface an adapter implements for another
//!   framework; [`policy`]: the compiled policy and the decisions it
//!   makes, which an adapter calls.
//! - [`origin`] and [`protocol`]: origins and patterns, and the Fetch
//!   vocabulary (tokens, header lists, forbidden and safelisted names) that
//!   the server's side and the browser's side share.
//! - [`browser`] (feature `browser`): the browser's side, to test in a unit
//!   test what a browser will do with your API.
//!
//! ## What corsair does for every request
//! 1. A preflight is `OPTIONS` with both `Origin` and
//!    `Access-Control-Request-Method`; anything else, `OPTIONS` included, is
//!    an actual request. Preflights are answered `204` (allowed) or `403`
//!    (refused, no CORS headers) and never reach the application.
//! 2. An allowed actual request gets `Access-Control-Allow-Origin` (the exact
//!    origin, or `*` for a policy open to any origin without credentials),
//!    `Access-Control-Allow-Credentials: true` for credentialed policies, and
//!    `Access-Control-Expose-Headers`.
//! 3. A disallowed or malformed origin still reaches the application (a
//!    same-origin `POST` carries `Origin` too); no CORS header is added.
//! 4. `Vary: Origin` is merged into every response whose headers depend on
//!    the origin, requests without `Origin` included.
//! 5. CORS headers set by the application are replaced by the policy's.
//! 6. Origins compare byte for byte with what browsers send; `null` never
//!    matches an origin list.
//! 7. Methods compare case-sensitively (`patch` is not `PATCH`); `GET`,
//!    `HEAD` and `POST` are always acceptable.
//! 8. `Access-Control-Request-Headers` is parsed in one bounded pass (see
//!    [`protocol::ListLimits::REQUEST_HEADERS`]) and refused beyond it.
//! 9. `allow_headers = ["*"]` answers `*, authorization` without
//!    credentials and echoes the validated request list with them, since
//!    browsers read `*` literally on credentialed requests. `allow_methods =
//!    ["*"]` works the same way.
//!
//! A policy open to any origin (`allow_origins = ["*"]`, necessarily without
//! credentials) sends the same headers to every request, with or without
//! `Origin`, and no `Vary: Origin`, as the Fetch standard advises for caches.
//!
//! ## Features
//! - `tower` (default): [`Cors`] is a `tower_layer::Layer`.
//! - `actix`: [`Cors`] is an actix-web 4 `Transform`.
//! - `browser`: the browser model, [`browser`]. It brings `url`, `cookie`
//!   and `http-body-util`, which a server never needs, so it is opt-in: with
//!   default features corsair builds 15 crates, itself included.
//! - `serde`: [`Config`] implements `Serialize` and `Deserialize`.
//! - `toml`, `json`, `yaml`: [`Config::from_file`] and friends read those
//!   formats, with errors that name the field, line and column.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
pub mod actix;
pub mod adapter;
#[cfg(feature = "browser")]
pub mod browser;
pub mod builder;
pub mod config;
mod cors;
mod error;
mod hash;
pub mod live;
pub mod origin;
pub mod policy;
pub mod protocol;
#[cfg(feature = "tower")]
pub mod tower;

pub use builder::CorsBuilder;
pub use config::{Config, Format, LoadError, MAX_AGE_LIMIT};
pub use cors::{Cors, OriginsFileWatch};
pub use error::{ConfigError, ConfigProblem, OriginsFileProblem};

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
