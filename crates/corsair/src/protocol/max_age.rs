//! How long each engine keeps a preflight answer, whatever
//! `Access-Control-Max-Age` says. Fetch sets no limit; the engines do, and
//! the policy's checks, the browser model and the tools all read them here.

use std::time::Duration;

/// Chromium's cap on a preflight cache entry: two hours
/// (`kMaxTimeout` in Chromium's `services/network/public/cpp/cors/preflight_result.cc`).
///
/// ```
/// assert_eq!(corsair::protocol::CHROMIUM_MAX_AGE.as_secs(), 7200);
/// ```
pub const CHROMIUM_MAX_AGE: Duration = Duration::from_secs(7200);

/// Firefox's cap on a preflight cache entry: 24 hours
/// (`network.cors_preflight.max_age`'s ceiling in Gecko's preflight cache).
///
/// ```
/// assert_eq!(corsair::protocol::FIREFOX_MAX_AGE.as_secs(), 86_400);
/// ```
pub const FIREFOX_MAX_AGE: Duration = Duration::from_secs(86_400);

/// WebKit's cap on a preflight cache entry: ten minutes
/// (`maxPreflightCacheTimeout` in WebKit's `CrossOriginPreflightResultCache.cpp`).
///
/// ```
/// assert_eq!(corsair::protocol::WEBKIT_MAX_AGE.as_secs(), 600);
/// ```
pub const WEBKIT_MAX_AGE: Duration = Duration::from_secs(600);
