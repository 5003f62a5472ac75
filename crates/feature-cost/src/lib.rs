//! Nothing but a home for a second build of corsair's tower overhead bench
//! (`benches/overhead.rs` of the `corsair` crate), with the library's
//! default features only, or with `origin-source` on:
//!
//! ```text
//! cargo bench -p corsair-feature-cost --bench overhead
//! cargo bench -p corsair-feature-cost --bench overhead --features origin-source
//! ```
//!
//! `scripts/bench-instructions` counts the instructions of both builds: a
//! feature that a policy does not use must cost its requests nothing.
