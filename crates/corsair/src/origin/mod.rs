//! Origins: what a browser sends, what a configuration allows, and the
//! compiled matcher between them.
//!
//! - [`RequestOrigin`] parses an `Origin` header value strictly, in the exact
//!   form browsers serialise it, without allocating.
//! - [`OriginPattern`] parses one entry of `allow_origins`, with an
//!   [`OriginError`] that says how to fix a wrong one.
//! - The matcher (internal) answers "is this origin allowed?" in time that
//!   depends on the length of the origin, never on how many origins and
//!   patterns are configured.
//! - [`source`] (feature `origin-source`) asks a dynamic source (a
//!   database of tenants) about the origins the lists do not name.

mod host;
mod matcher;
mod pattern;
mod request;
#[cfg(feature = "origin-source")]
pub mod source;

#[cfg(feature = "browser")]
pub(crate) use host::is_loopback as is_loopback_host;
pub(crate) use matcher::{ExactHit, OriginMatcher};
pub use pattern::{OriginError, OriginPattern, PatternPort};
pub use request::{MalformedOrigin, RequestOrigin, TupleOrigin};
