//! # corsair: Cross-Origin Resource Sharing done right
//!
//! A CORS policy is written as a [`Config`], checked and compiled by
//! [`Cors::new`] (which refuses unsafe or meaningless configurations with a
//! [`ConfigError`] listing every problem), and applied to requests by the
//! [`Policy`] inside: preflights are answered without reaching the
//! application, actual responses get exactly the headers a browser needs.
//!
//! ```
//! use axum::{Router, routing::get};
//! use corsair::{Config, Cors};
//!
//! let cors = Cors::new(Config {
//!     allow_origins: vec!["https://app.example.com".into()],
//!     allow_credentials: true,
//!     allow_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"].map(String::from).to_vec(),
//!     allow_headers: vec!["accept".into(), "content-type".into()],
//!     ..Config::default()
//! })?;
//! let app: Router = Router::new().route("/me", get(|| async { "hello" })).layer(cors);
//! # Ok::<(), corsair::ConfigError>(())
//! ```
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
//! - `serde`: [`Config`] implements `Serialize` and `Deserialize`.
//! - `toml`, `json`, `yaml`: [`Config::from_file`] and friends read those
//!   formats, with errors that name the field, line and column.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
mod actix;
#[cfg(feature = "browser")]
pub mod browser;
mod config;
mod cors;
mod error;
mod hash;
mod header_set;
mod headers;
pub mod origin;
mod policy;
pub mod protocol;
#[cfg(feature = "tower")]
mod tower;

#[cfg(feature = "actix")]
pub use actix::{ActixResponseFuture, CorsMiddleware};
pub use config::{Config, Format, LoadError, MAX_AGE_LIMIT, SyntaxError};
pub use cors::Cors;
pub use error::{ConfigError, ConfigProblem};
pub use headers::{RequestHeader, RequestHeaders, ResponseHeaders, ResponseValue};
pub use policy::{
    Actual, AllowOrigin, DEBUG_HEADER, Decision, OriginRefusal, Policy, Preflight, PreflightGrant,
    Refusal,
};
#[cfg(feature = "tower")]
pub use tower::{CorsService, ResponseFuture};

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
