//! The whole server-side check on arbitrary method and header bytes.
//!
//! Input (see `corsair_fuzz`): the method on the first line, request header
//! lines, a blank line, the application's response header lines. The
//! request is run through every policy of the conformance table, each also
//! in debug mode, with `corsair_fuzz::run_request`'s assertions: no CR/LF in
//! any produced value, never `*` with credentials, one exact origin echoed,
//! no CORS header on refusals, `Vary: Origin` where needed, and the browser
//! model accepting every allowed answer. A policy with `[origin_source]` is
//! given an origin source that answers at once (origins under
//! `.tenant.example`), so that what a source allows passes the same checks.

#![no_main]

use std::sync::{Arc, LazyLock};

use corsair::origin::source;
use corsair::policy::Policy;
use libfuzzer_sys::fuzz_target;

static POLICIES: LazyLock<Vec<Policy>> = LazyLock::new(|| {
    corsair_fuzz::conformance_policies()
        .into_iter()
        .flat_map(|(name, config)| {
            let sourced = config.origin_source.is_some();
            let mut policy = Policy::new(config)
                .unwrap_or_else(|error| panic!("conformance policy {name}: {error}"));
            if sourced {
                policy = policy.with_origin_source(Arc::new(source::from_fn(|origin| {
                    origin.ends_with(".tenant.example")
                })));
            }
            [policy.clone(), policy.with_debug(true)]
        })
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let (method, rest) = corsair_fuzz::split_first_line(data);
    let (request, app) = corsair_fuzz::split_blank_line(rest);
    let method = String::from_utf8_lossy(method);
    let request = corsair_fuzz::header_map(request, 64);
    let app = corsair_fuzz::header_map(app, 64);
    for policy in POLICIES.iter() {
        corsair_fuzz::run_request(policy, &method, &request, &app);
    }
});
