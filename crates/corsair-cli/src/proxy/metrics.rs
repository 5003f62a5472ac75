//! The proxy's counters and latency histogram, served by the admin listener
//! in the Prometheus (OpenMetrics) text format.
//!
//! | metric | labels | meaning |
//! |---|---|---|
//! | `corsair_requests_total` | `outcome`: `preflight_allowed`, `preflight_refused`, `actual_allowed`, `actual_refused`, `no_origin` | requests by CORS verdict |
//! | `corsair_upstream_errors_total` | `kind`: `connect`, `timeout`, `protocol` | requests the upstream did not answer (`502`, `504`) |
//! | `corsair_request_duration_seconds` | | time to the response's headers (preflights and proxied requests) |
//! | `corsair_reloads_total` | `result`: `applied`, `rejected` | configuration reloads |
//! | `corsair_open_connections` | | client connections open now |
//!
//! Each series is created once, so recording a request is a few atomic
//! additions, with no lock and no allocation.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// How the proxy answered a request, as far as CORS goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A preflight the policy allowed.
    PreflightAllowed,
    /// A preflight the policy refused.
    PreflightRefused,
    /// A request with an allowed `Origin`, proxied.
    ActualAllowed,
    /// A request with an `Origin` the policy does not allow, proxied
    /// without CORS headers.
    ActualRefused,
    /// A request without `Origin` (same-origin or not from a browser).
    NoOrigin,
}

impl Outcome {
    /// Every outcome, in declaration order (so `outcome as usize` indexes it).
    const ALL: [Outcome; 5] = [
        Outcome::PreflightAllowed,
        Outcome::PreflightRefused,
        Outcome::ActualAllowed,
        Outcome::ActualRefused,
        Outcome::NoOrigin,
    ];

    /// The `outcome` label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Outcome::PreflightAllowed => "preflight_allowed",
            Outcome::PreflightRefused => "preflight_refused",
            Outcome::ActualAllowed => "actual_allowed",
            Outcome::ActualRefused => "actual_refused",
            Outcome::NoOrigin => "no_origin",
        }
    }
}

/// Why the upstream did not answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// Could not connect, or the connection was refused or reset (`502`).
    Connect,
    /// No response headers within `upstream_timeout` (`504`).
    Timeout,
    /// The upstream answered something that is not HTTP (`502`).
    Protocol,
}

impl UpstreamFailure {
    /// Every failure, in declaration order.
    const ALL: [UpstreamFailure; 3] = [
        UpstreamFailure::Connect,
        UpstreamFailure::Timeout,
        UpstreamFailure::Protocol,
    ];

    /// The `kind` label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            UpstreamFailure::Connect => "connect",
            UpstreamFailure::Timeout => "timeout",
            UpstreamFailure::Protocol => "protocol",
        }
    }
}

/// The proxy's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    outcomes: [Counter; 5],
    upstream_failures: [Counter; 3],
    reloads_applied: Counter,
    reloads_rejected: Counter,
    duration: Histogram,
    connections: Gauge,
}

type Labels = [(&'static str, &'static str); 1];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every series, at zero.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::default();

        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "corsair_requests",
            "Requests by CORS outcome",
            requests.clone(),
        );
        let outcomes =
            Outcome::ALL.map(|o| requests.get_or_create(&[("outcome", o.label())]).clone());

        let failures = Family::<Labels, Counter>::default();
        registry.register(
            "corsair_upstream_errors",
            "Requests the upstream did not answer, by kind",
            failures.clone(),
        );
        let upstream_failures =
            UpstreamFailure::ALL.map(|f| failures.get_or_create(&[("kind", f.label())]).clone());

        let reloads = Family::<Labels, Counter>::default();
        registry.register(
            "corsair_reloads",
            "Configuration reloads by result",
            reloads.clone(),
        );
        let reloads_applied = reloads.get_or_create(&[("result", "applied")]).clone();
        let reloads_rejected = reloads.get_or_create(&[("result", "rejected")]).clone();

        // 100 µs to about 52 s.
        let duration = Histogram::new(exponential_buckets(0.000_1, 2.0, 20));
        registry.register(
            "corsair_request_duration_seconds",
            "Time from a request to its response's headers",
            duration.clone(),
        );

        let connections = Gauge::default();
        registry.register(
            "corsair_open_connections",
            "Client connections open now",
            connections.clone(),
        );

        Metrics {
            registry,
            outcomes,
            upstream_failures,
            reloads_applied,
            reloads_rejected,
            duration,
            connections,
        }
    }

    /// Counts a request and the time to its response's headers.
    pub fn request(&self, outcome: Outcome, elapsed: Duration) {
        if let Some(counter) = self.outcomes.get(outcome as usize) {
            counter.inc();
        }
        self.duration.observe(elapsed.as_secs_f64());
    }

    /// Counts a request the upstream did not answer.
    pub fn upstream_failure(&self, failure: UpstreamFailure) {
        if let Some(counter) = self.upstream_failures.get(failure as usize) {
            counter.inc();
        }
    }

    /// Counts a reload.
    pub fn reload(&self, applied: bool) {
        if applied {
            self.reloads_applied.inc();
        } else {
            self.reloads_rejected.inc();
        }
    }

    /// Counts a client connection opening.
    pub fn connection_opened(&self) {
        self.connections.inc();
    }

    /// Counts a client connection closing.
    pub fn connection_closed(&self) {
        self.connections.dec();
    }

    /// The requests counted with `outcome` so far.
    #[must_use]
    pub fn requests(&self, outcome: Outcome) -> u64 {
        self.outcomes.get(outcome as usize).map_or(0, Counter::get)
    }

    /// Every metric in the OpenMetrics text format.
    #[must_use]
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(4096);
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text() {
        let metrics = Metrics::new();
        metrics.request(Outcome::PreflightAllowed, Duration::from_millis(1));
        metrics.request(Outcome::PreflightAllowed, Duration::from_millis(2));
        metrics.request(Outcome::NoOrigin, Duration::from_millis(3));
        metrics.upstream_failure(UpstreamFailure::Timeout);
        metrics.reload(false);
        let text = metrics.render();
        assert!(
            text.contains("corsair_requests_total{outcome=\"preflight_allowed\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("corsair_requests_total{outcome=\"no_origin\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("corsair_requests_total{outcome=\"actual_refused\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("corsair_upstream_errors_total{kind=\"timeout\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("corsair_reloads_total{result=\"rejected\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("corsair_request_duration_seconds_count 3"),
            "{text}"
        );
        assert_eq!(metrics.requests(Outcome::PreflightAllowed), 2);
    }
}
