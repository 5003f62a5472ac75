//! The Fetch vocabulary that the server's policy and the browser model share.
//!
//! Every rule of the Fetch standard that both sides need lives here exactly
//! once: what a token is, which methods and header names are forbidden or
//! safelisted, which request headers force a preflight (with Chromium's
//! extras, see [`Safelist`]), how a MIME type is parsed, how methods are
//! normalised, how a comma-separated header list is parsed within bounds, and
//! how long each engine caches a preflight.
//!
//! ```
//! use corsair::protocol::{is_forbidden_request_header, normalize_method};
//!
//! assert!(is_forbidden_request_header("Cookie"));
//! assert!(is_forbidden_request_header("sec-fetch-mode"));
//! assert_eq!(normalize_method("delete"), "DELETE");
//! assert_eq!(normalize_method("patch"), "patch"); // not normalised by Fetch
//! ```

mod list;
mod max_age;
mod method;
mod mime;
mod names;
mod safelist;
mod token;

pub use list::{ListError, ListLimits, TokenList};
pub use max_age::{CHROMIUM_MAX_AGE, FIREFOX_MAX_AGE, WEBKIT_MAX_AGE};
pub use method::{is_forbidden_method, is_safelisted_method, normalize_method};
pub use mime::MimeType;
pub use names::{
    ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK, CORS_RESPONSE_HEADERS, SEC_FETCH_SITE,
    TIMING_ALLOW_ORIGIN, is_cors_header, is_forbidden_request_header,
    is_forbidden_request_header_pair, is_forbidden_response_header, is_safelisted_response_header,
};
pub use safelist::{
    Safelist, cors_unsafe_request_header_names, is_cors_safelisted_request_header,
    is_cors_unsafe_request_header_byte, is_no_cors_safelisted_request_header,
};
pub use token::{is_tchar, is_token};
