//! The proxy's counters and latency histogram, served by the admin listener
//! in the Prometheus (OpenMetrics) text format.
//!
//! | metric | labels | meaning |
//! |---|---|---|
//! | `corsair_requests_total` | `outcome`: `preflight_allowed`, `preflight_refused`, `actual_allowed`, `actual_refused`, `no_origin`, `cross_origin_refused`, `websocket_refused`, `reported` | requests by CORS verdict (`reported`: on a report-only route) |
//! | `corsair_report_differences_total` | `kind`: the labels of `corsair::browser::Difference` | report-only routes: where the upstream's answer differs from the policy's |
//! | `corsair_upstream_errors_total` | `kind`: `connect`, `timeout`, `protocol` | requests the upstream did not answer (`502`, `504`) |
//! | `corsair_request_duration_seconds` | | time to the response's headers (preflights and proxied requests) |
//! | `corsair_reloads_total` | `result`: `applied`, `rejected` | configuration reloads |
//! | `corsair_open_connections` | | client connections open now |
//! | `corsair_origin_source_lookups_total` | `route`, `result`: `allowed`, `refused`, `failed`, `timed_out` | lookups of the route's origin source, by answer |
//! | `corsair_origin_source_overloaded_total` | `route` | requests refused because `max_lookups` lookups were running |
//! | `corsair_origin_source_kept` | `route` | answers the route's source cache holds now |
//! | `corsair_origin_source_running` | `route` | lookups running now |
//!
//! The origin source's series exist only for routes whose policy has a
//! source (`route` is the policy's entry in the file, `cors` or
//! `routes[2]`, as `/config`'s `route_table` names it). They are read from the policies in force when `/metrics`
//! is read, and start again at zero when a reload compiles new policies.
//!
//! Each series is created once, so recording a request is a few atomic
//! additions, with no lock and no allocation. The per-request series (the
//! outcomes and the latency histogram) are kept in one shard per worker
//! thread, each on cache lines of its own, and summed when `/metrics` is
//! read: were they shared, every request would pull the same lines (and the
//! histogram's lock) from the other core.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::sync::Mutex;

use corsair::browser::Difference;
use corsair::origin::source::SourceStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
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
    /// A request that cross-origin protection refused with `403`, not
    /// proxied.
    CrossOriginRefused,
    /// A WebSocket handshake from an origin the policy does not allow,
    /// refused with `403`, not proxied.
    WebSocketRefused,
    /// A request on a route in report-only mode: proxied as it came, the
    /// upstream's answer passed unchanged.
    Reported,
}

impl Outcome {
    /// Every outcome, in declaration order (so `outcome as usize` indexes it).
    const ALL: [Outcome; 8] = [
        Outcome::PreflightAllowed,
        Outcome::PreflightRefused,
        Outcome::ActualAllowed,
        Outcome::ActualRefused,
        Outcome::NoOrigin,
        Outcome::CrossOriginRefused,
        Outcome::WebSocketRefused,
        Outcome::Reported,
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
            Outcome::CrossOriginRefused => "cross_origin_refused",
            Outcome::WebSocketRefused => "websocket_refused",
            Outcome::Reported => "reported",
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

/// The latency histogram's finite buckets: 100 µs doubling up to about
/// 52 s (`le` = 100 µs × 2^i).
const BUCKETS: usize = 20;

/// The first bucket's upper bound, in nanoseconds.
const FIRST_BUCKET_NANOS: u64 = 100_000;

/// One worker's share of the per-request series, alone on its cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    /// Requests by outcome, indexed by `Outcome as usize`.
    outcomes: [AtomicU64; Outcome::ALL.len()],
    /// Observations per bucket (not cumulative); the last one is `+Inf`.
    buckets: [AtomicU64; BUCKETS + 1],
    /// The observations' sum, in nanoseconds.
    sum_nanos: AtomicU64,
}

impl Shard {
    fn record(&self, outcome: Outcome, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        if let Some(counter) = self.outcomes.get(outcome as usize) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(bucket) = self.buckets.get(bucket(nanos)) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// The bucket of an observation of `nanos`: the first whose bound is at
/// least `nanos`, or `+Inf`. With `q = (nanos - 1) / 100 µs`, an
/// observation in (100 µs × 2^(i-1), 100 µs × 2^i] has `q` in
/// [2^(i-1), 2^i), so `i` is the bit length of `q`.
fn bucket(nanos: u64) -> usize {
    let q = nanos.saturating_sub(1) / FIRST_BUCKET_NANOS;
    let bits = (u64::BITS - q.leading_zeros()) as usize;
    bits.min(BUCKETS)
}

/// The shards, one per worker thread.
#[derive(Debug)]
struct Shards(Box<[Shard]>);

impl Shards {
    fn outcome(&self, outcome: Outcome) -> u64 {
        self.0
            .iter()
            .filter_map(|shard| shard.outcomes.get(outcome as usize))
            .map(|counter| counter.load(Ordering::Relaxed))
            .sum()
    }
}

/// `corsair_requests_total`, summed over the shards: a counter family with
/// an `outcome` label.
#[derive(Debug)]
struct Outcomes(Arc<Shards>);

impl EncodeMetric for Outcomes {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for outcome in Outcome::ALL {
            let labels: Labels = [("outcome", outcome.label())];
            encoder
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(&self.0.outcome(outcome), None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// A counter family whose label values are known up front, encoded in
/// their order (a `Family` encodes in its hash map's order, which changes
/// from one process to the next).
#[derive(Clone, Debug)]
struct Labelled {
    label: &'static str,
    series: Arc<[(&'static str, Counter)]>,
}

impl Labelled {
    fn new(label: &'static str, values: impl IntoIterator<Item = &'static str>) -> Self {
        Labelled {
            label,
            series: values
                .into_iter()
                .map(|value| (value, Counter::default()))
                .collect(),
        }
    }

    /// The counter of the `index`-th value.
    fn get(&self, index: usize) -> Option<&Counter> {
        self.series.get(index).map(|(_, counter)| counter)
    }
}

impl EncodeMetric for Labelled {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (value, counter) in self.series.iter() {
            let labels: Labels = [(self.label, value)];
            encoder
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(&counter.get(), None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// `corsair_request_duration_seconds`, summed over the shards.
#[derive(Debug)]
struct Durations(Arc<Shards>);

impl EncodeMetric for Durations {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let mut buckets: Vec<(f64, u64)> = (0..=BUCKETS)
            .map(|i| {
                let bound = match i32::try_from(i) {
                    Ok(i) if i < BUCKETS as i32 => 0.000_1 * 2_f64.powi(i),
                    // How the encoder spells `+Inf`.
                    _ => f64::MAX,
                };
                (bound, 0)
            })
            .collect();
        let mut sum_nanos = 0_u64;
        for shard in &self.0.0 {
            for ((_, count), bucket) in buckets.iter_mut().zip(&shard.buckets) {
                *count += bucket.load(Ordering::Relaxed);
            }
            sum_nanos = sum_nanos.saturating_add(shard.sum_nanos.load(Ordering::Relaxed));
        }
        let count = buckets.iter().map(|(_, count)| count).sum();
        #[allow(clippy::cast_precision_loss)]
        let sum = sum_nanos as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// The origin sources' series: what their policies reported when
/// `/metrics` was last read.
#[derive(Debug, Default)]
struct Sources(Mutex<Vec<(String, SourceStats)>>);

impl Collector for Sources {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Ok(sources) = self.0.lock() else {
            return Ok(());
        };
        if sources.is_empty() {
            return Ok(());
        }
        let mut lookups = encoder.encode_descriptor(
            "corsair_origin_source_lookups",
            "Lookups of an origin source, by route and answer",
            None,
            MetricType::Counter,
        )?;
        for (route, stats) in sources.iter() {
            for (result, count) in [
                ("allowed", stats.allowed),
                ("refused", stats.refused),
                ("failed", stats.failed),
                ("timed_out", stats.timed_out),
            ] {
                let labels = [("route", route.as_str()), ("result", result)];
                lookups
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&count, None)?;
            }
        }
        let mut overloaded = encoder.encode_descriptor(
            "corsair_origin_source_overloaded",
            "Requests refused because max_lookups lookups were running",
            None,
            MetricType::Counter,
        )?;
        for (route, stats) in sources.iter() {
            overloaded
                .encode_family(&[("route", route.as_str())])?
                .encode_counter::<NoLabelSet, _, u64>(&stats.overloaded, None)?;
        }
        for (name, help, value) in [
            (
                "corsair_origin_source_kept",
                "Answers an origin source's cache holds now",
                (|stats: &SourceStats| stats.kept) as fn(&SourceStats) -> usize,
            ),
            (
                "corsair_origin_source_running",
                "Lookups of an origin source running now",
                |stats: &SourceStats| stats.running,
            ),
        ] {
            let mut gauge = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (route, stats) in sources.iter() {
                gauge
                    .encode_family(&[("route", route.as_str())])?
                    .encode_gauge(&value(stats))?;
            }
        }
        Ok(())
    }
}

/// The proxy's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    sources: Arc<Sources>,
    shards: Arc<Shards>,
    /// By `UpstreamFailure as usize`.
    upstream_failures: Labelled,
    /// In the order of `Difference::ALL`.
    report_differences: Labelled,
    /// `applied`, then `rejected`.
    reloads: Labelled,
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
        Self::with_workers(1)
    }

    /// Every series, at zero, with a shard of the per-request series for
    /// each of `workers` worker threads (at least one).
    #[must_use]
    pub(crate) fn with_workers(workers: usize) -> Self {
        let shards = Arc::new(Shards(
            (0..workers.max(1)).map(|_| Shard::default()).collect(),
        ));
        let mut registry = Registry::default();

        registry.register(
            "corsair_requests",
            "Requests by CORS outcome",
            Outcomes(Arc::clone(&shards)),
        );

        let upstream_failures =
            Labelled::new("kind", UpstreamFailure::ALL.map(UpstreamFailure::label));
        registry.register(
            "corsair_upstream_errors",
            "Requests the upstream did not answer, by kind",
            upstream_failures.clone(),
        );

        let report_differences = Labelled::new("kind", Difference::ALL.map(Difference::label));
        registry.register(
            "corsair_report_differences",
            "Report-only routes: where the upstream's CORS answer differs from the policy's, by kind",
            report_differences.clone(),
        );

        let reloads = Labelled::new("result", ["applied", "rejected"]);
        registry.register(
            "corsair_reloads",
            "Configuration reloads by result",
            reloads.clone(),
        );

        registry.register(
            "corsair_request_duration_seconds",
            "Time from a request to its response's headers",
            Durations(Arc::clone(&shards)),
        );

        let connections = Gauge::default();
        registry.register(
            "corsair_open_connections",
            "Client connections open now",
            connections.clone(),
        );

        let sources = Arc::new(Sources::default());
        registry.register_collector(Box::new(Arc::clone(&sources)));

        Metrics {
            registry,
            sources,
            shards,
            upstream_failures,
            report_differences,
            reloads,
            connections,
        }
    }

    /// Counts a request and the time to its response's headers.
    pub fn request(&self, outcome: Outcome, elapsed: Duration) {
        self.worker_request(0, outcome, elapsed);
    }

    /// Counts a request served by worker thread `worker`, in its own shard.
    pub(crate) fn worker_request(&self, worker: usize, outcome: Outcome, elapsed: Duration) {
        let shards = &self.shards.0;
        if let Some(shard) = shards.get(worker).or_else(|| shards.first()) {
            shard.record(outcome, elapsed);
        }
    }

    /// Counts a request the upstream did not answer.
    pub fn upstream_failure(&self, failure: UpstreamFailure) {
        if let Some(counter) = self.upstream_failures.get(failure as usize) {
            counter.inc();
        }
    }

    /// Counts a difference found on a report-only route.
    pub fn difference(&self, kind: Difference) {
        if let Some(counter) = Difference::ALL
            .iter()
            .position(|known| *known == kind)
            .and_then(|index| self.report_differences.get(index))
        {
            counter.inc();
        }
    }

    /// The differences of `kind` counted so far.
    #[must_use]
    pub fn differences(&self, kind: Difference) -> u64 {
        Difference::ALL
            .iter()
            .position(|known| *known == kind)
            .and_then(|index| self.report_differences.get(index))
            .map_or(0, Counter::get)
    }

    /// Counts a reload.
    pub fn reload(&self, applied: bool) {
        if let Some(counter) = self.reloads.get(usize::from(!applied)) {
            counter.inc();
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
        self.shards.outcome(outcome)
    }

    /// Every metric in the OpenMetrics text format, with the origin
    /// sources' series for `sources` (a route's label, what its source
    /// reported).
    #[must_use]
    pub fn render_with_sources(&self, sources: Vec<(String, SourceStats)>) -> String {
        if let Ok(mut snapshot) = self.sources.0.lock() {
            *snapshot = sources;
        }
        self.render()
    }

    /// Every metric in the OpenMetrics text format, with the origin
    /// sources' series last given to [`Metrics::render_with_sources`].
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
        metrics.request(Outcome::CrossOriginRefused, Duration::from_millis(1));
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
        // Every outcome has its counter: this one once had none, and its
        // requests were dropped.
        assert!(
            text.contains("corsair_requests_total{outcome=\"cross_origin_refused\"} 1"),
            "{text}"
        );
        for outcome in Outcome::ALL {
            let before = metrics.requests(outcome);
            metrics.request(outcome, Duration::ZERO);
            assert_eq!(metrics.requests(outcome), before + 1, "{outcome:?}");
        }
        assert!(
            text.contains("corsair_upstream_errors_total{kind=\"timeout\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("corsair_reloads_total{result=\"rejected\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("corsair_request_duration_seconds_count 4"),
            "{text}"
        );
        assert_eq!(metrics.requests(Outcome::PreflightAllowed), 3);
    }

    #[test]
    fn origin_sources_have_series_only_when_there_are_sources() {
        let metrics = Metrics::new();
        assert!(!metrics.render().contains("origin_source"));
        let mut stats = SourceStats::default();
        (stats.kept, stats.running, stats.lookups) = (7, 1, 9);
        (stats.allowed, stats.refused, stats.failed, stats.timed_out) = (5, 2, 1, 1);
        stats.overloaded = 4;
        let text = metrics.render_with_sources(vec![("/api/".to_owned(), stats)]);
        for line in [
            "# TYPE corsair_origin_source_lookups counter",
            "corsair_origin_source_lookups_total{route=\"/api/\",result=\"allowed\"} 5",
            "corsair_origin_source_lookups_total{route=\"/api/\",result=\"refused\"} 2",
            "corsair_origin_source_lookups_total{route=\"/api/\",result=\"failed\"} 1",
            "corsair_origin_source_lookups_total{route=\"/api/\",result=\"timed_out\"} 1",
            "corsair_origin_source_overloaded_total{route=\"/api/\"} 4",
            "# TYPE corsair_origin_source_kept gauge",
            "corsair_origin_source_kept{route=\"/api/\"} 7",
            "corsair_origin_source_running{route=\"/api/\"} 1",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        // A reload that removed the source removes its series.
        assert!(
            !metrics
                .render_with_sources(Vec::new())
                .contains("origin_source")
        );
    }

    #[test]
    fn the_shards_add_up_and_the_buckets_are_prometheus_clients() {
        let metrics = Metrics::with_workers(2);
        metrics.worker_request(0, Outcome::ActualAllowed, Duration::from_micros(100));
        metrics.worker_request(1, Outcome::ActualAllowed, Duration::from_micros(150));
        metrics.worker_request(7, Outcome::NoOrigin, Duration::from_secs(60));
        assert_eq!(metrics.requests(Outcome::ActualAllowed), 2);
        let text = metrics.render();
        for line in [
            "corsair_requests_total{outcome=\"actual_allowed\"} 2",
            "corsair_requests_total{outcome=\"no_origin\"} 1",
            "corsair_request_duration_seconds_count 3",
            "corsair_request_duration_seconds_bucket{le=\"0.0001\"} 1",
            "corsair_request_duration_seconds_bucket{le=\"0.0002\"} 2",
            "corsair_request_duration_seconds_bucket{le=\"52.4288\"} 2",
            "corsair_request_duration_seconds_bucket{le=\"+Inf\"} 3",
            "# TYPE corsair_requests counter",
            "# TYPE corsair_request_duration_seconds histogram",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        // The bounds: at most 100 µs × 2^i falls in bucket i.
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(100_000), 0);
        assert_eq!(bucket(100_001), 1);
        assert_eq!(bucket(200_000), 1);
        assert_eq!(bucket(200_001), 2);
        assert_eq!(bucket(100_000 << 19), 19);
        assert_eq!(bucket((100_000 << 19) + 1), 20);
        assert_eq!(bucket(u64::MAX), 20);
    }
}
