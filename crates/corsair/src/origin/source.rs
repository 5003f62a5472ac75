//! Dynamic origin sources: origins that live in a database, asked about
//! when a request comes from an origin the policy's lists do not name.
//!
//! A multi-tenant API allows its tenants' custom domains: millions of
//! them, changing every minute. An [`OriginSource`] answers whether one
//! origin is allowed, at once ([`Lookup::Ready`]) or later
//! ([`Lookup::Pending`]). The policy consults it only for well-formed
//! origins that `allow_origins` and `allow_origins_file` do not allow, and
//! only after its own rules: `null` and malformed origins never reach it,
//! and with credentials an `http://` origin other than loopback is refused
//! without asking, unless `dangerously_allow_insecure_origins` is set.
//!
//! A pending answer is
//! - **single-flight**: a burst of requests from one new origin makes one
//!   lookup, which they all wait for;
//! - **bounded in time**: a lookup that takes longer than
//!   [`timeout`](crate::config::OriginSourceConfig::timeout) refuses the
//!   origin, is logged (warn level, target `corsair`), and is remembered
//!   for [`FAILURE_TTL`] like a failure;
//! - **run beside the requests**: on a task of its own (tokio), so that
//!   a request waits only for its own origin's answer, and a client that
//!   goes away does not cancel it;
//! - **bounded in number**: at most
//!   [`max_lookups`](crate::config::OriginSourceConfig::max_lookups) run
//!   at once; a request from yet another new origin is refused at once (a
//!   flood of invented origins cannot queue work);
//! - **kept**: allowed origins for `ttl`, refused ones for `refusal_ttl`,
//!   in a table of at most `capacity` origins (the older half is dropped
//!   when the newer half fills).
//!
//! A ready answer is not kept: it is the source's own (an in-memory set, a
//! rule), asked every time.
//!
//! Every answer depends on the origin, and the policy already sends `Vary:
//! Origin` for that reason: caches stay right.
//!
//! A policy without a source runs none of this: the branch that asks is on
//! the path of a refused origin only.
//!
//! ```
//! use std::collections::HashSet;
//! use std::sync::{Arc, RwLock};
//! use corsair::Cors;
//! use corsair::origin::source;
//!
//! let tenants: Arc<RwLock<HashSet<String>>> = Arc::default();
//! tenants.write().unwrap().insert("https://shop.tenant.example".to_owned());
//!
//! // A source in memory, updated by the application: answered at once.
//! let known = Arc::clone(&tenants);
//! let cors = Cors::builder()
//!     .allow_origin("https://app.example.com")
//!     .allow_credentials(true)
//!     .origin_source(source::from_fn(move |origin| {
//!         known.read().is_ok_and(|tenants| tenants.contains(origin))
//!     }))
//!     .build()?;
//!
//! // A source in a database: answered later, kept, asked once at a time.
//! let cors = Cors::builder()
//!     .allow_origin("https://app.example.com")
//!     .allow_credentials(true)
//!     .origin_source(source::from_async_fn(|origin: String| async move {
//!         // e.g. `SELECT 1 FROM tenant_domains WHERE origin = $1`
//!         Ok::<_, std::io::Error>(origin.ends_with(".tenant.example"))
//!     }))
//!     .build()?;
//! # Ok::<(), corsair::ConfigError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::{FAILURE_TTL, OriginSourceConfig};

/// A future an [`OriginSource`] answers with.
pub type BoxLookup = Pin<Box<dyn Future<Output = Result<bool, SourceError>> + Send + 'static>>;

/// Where origins the policy's lists do not name are looked up: see the
/// [module documentation](self). Implement it, or make one from a closure
/// with [`from_fn`] or [`from_async_fn`].
pub trait OriginSource: Send + Sync + 'static {
    /// Whether `origin` (a well-formed origin, exactly as the browser sent
    /// it, such as `https://shop.tenant.example`) is allowed.
    ///
    /// Called when the answer is not known: return [`Lookup::Pending`]
    /// with a future that does the work (it is run once, on a task of its
    /// own, whatever the number of requests waiting), or
    /// [`Lookup::Ready`] when the answer is at hand.
    fn lookup(&self, origin: &str) -> Lookup;
}

/// An [`OriginSource`]'s answer.
pub enum Lookup {
    /// The answer, at once: not kept, since asking again costs as little.
    Ready(bool),
    /// The answer to come: run once with a timeout, and kept.
    Pending(BoxLookup),
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lookup::Ready(allowed) => f.debug_tuple("Ready").field(allowed).finish(),
            Lookup::Pending(_) => f.write_str("Pending(..)"),
        }
    }
}

/// Why a source could not answer: logged, and the origin refused.
#[derive(Debug)]
pub struct SourceError(Box<dyn std::error::Error + Send + Sync>);

impl SourceError {
    /// An error with `cause`.
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        SourceError(cause.into())
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// A source that answers at once with `allowed(origin)`: an in-memory set
/// the application keeps up to date, a rule. It is asked every time, so it
/// must be quick; it must not block.
pub fn from_fn<F>(allowed: F) -> impl OriginSource
where
    F: Fn(&str) -> bool + Send + Sync + 'static,
{
    struct FnSource<F>(F);
    impl<F: Fn(&str) -> bool + Send + Sync + 'static> OriginSource for FnSource<F> {
        fn lookup(&self, origin: &str) -> Lookup {
            Lookup::Ready((self.0)(origin))
        }
    }
    FnSource(allowed)
}

/// A source that answers later: `lookup(origin)` is a future (a database
/// query, an HTTP call) run once per origin at a time, with the timeout,
/// and its answer kept. An error refuses the origin and is logged.
pub fn from_async_fn<F, Fut, E>(lookup: F) -> impl OriginSource
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<bool, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    struct AsyncFnSource<F>(F);
    impl<F, Fut, E> OriginSource for AsyncFnSource<F>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<bool, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        fn lookup(&self, origin: &str) -> Lookup {
            let future = (self.0)(origin.to_owned());
            Lookup::Pending(Box::pin(
                async move { future.await.map_err(SourceError::new) },
            ))
        }
    }
    AsyncFnSource(lookup)
}

/// What a source's answers have come to, for metrics: see
/// [`Policy::origin_source_stats`](crate::policy::Policy::origin_source_stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceStats {
    /// Answers kept now.
    pub kept: usize,
    /// Lookups running now.
    pub running: usize,
    /// Lookups started.
    pub lookups: u64,
    /// Lookups that allowed their origin.
    pub allowed: u64,
    /// Lookups that refused their origin.
    pub refused: u64,
    /// Lookups that failed (an error, or no runtime to run them).
    pub failed: u64,
    /// Lookups that timed out.
    pub timed_out: u64,
    /// Requests refused because `max_lookups` were running.
    pub overloaded: u64,
}

/// The source with its answers: shared by every policy compiled with it,
/// so a reconfiguration keeps what was learnt.
pub(crate) struct SourceCache {
    source: Arc<dyn OriginSource>,
    settings: OriginSourceConfig,
    table: Mutex<Table>,
    /// When an overload was last logged, in milliseconds since `born`.
    last_overload_log: AtomicU64,
    born: Instant,
}

/// The kept answers, in two halves: new ones go to `current`; when it
/// holds half the capacity, it becomes `previous`, and the old `previous`
/// is dropped. A hit in `previous` moves to `current`.
#[derive(Default)]
struct Table {
    current: HashMap<Box<[u8]>, Entry>,
    previous: HashMap<Box<[u8]>, Entry>,
    running: usize,
    stats: SourceStats,
}

enum Entry {
    Known { allowed: bool, until: Instant },
    Running(watch::Receiver<Option<bool>>),
}

/// What the table knows of an origin.
pub(crate) enum Known {
    /// The answer, still fresh.
    Answer(bool),
    /// A lookup is running.
    Running,
    /// Nothing: the source must be asked.
    Nothing,
}

impl Table {
    /// The entry of `origin`, `None` when there is none or its answer has
    /// expired. One found in the older half moves to the newer.
    fn entry_in(&mut self, origin: &[u8], now: Instant, half: usize) -> Option<&Entry> {
        if !self.current.contains_key(origin)
            && let Some((key, entry)) = self.previous.remove_entry(origin)
        {
            self.insert_in(key, entry, half);
        }
        match self.current.get(origin) {
            Some(Entry::Known { until, .. }) if *until <= now => None,
            entry => entry,
        }
    }

    /// Keeps `entry` for `origin`, the newer half becoming the older when
    /// it holds `half` entries (and the older dropped).
    fn insert_in(&mut self, origin: Box<[u8]>, entry: Entry, half: usize) {
        if self.current.len() >= half && !self.current.contains_key(&origin) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(origin, entry);
    }
}

impl SourceCache {
    pub(crate) fn new(source: Arc<dyn OriginSource>, settings: OriginSourceConfig) -> Self {
        SourceCache {
            source,
            settings,
            table: Mutex::default(),
            last_overload_log: AtomicU64::new(0),
            born: Instant::now(),
        }
    }

    /// The same source and answers under other settings (a
    /// reconfiguration): the answers are kept when the settings are the
    /// same.
    pub(crate) fn with_settings(self: &Arc<Self>, settings: &OriginSourceConfig) -> Arc<Self> {
        if self.settings == *settings {
            Arc::clone(self)
        } else {
            Arc::new(SourceCache::new(Arc::clone(&self.source), settings.clone()))
        }
    }

    pub(crate) fn source(&self) -> &dyn OriginSource {
        &*self.source
    }

    pub(crate) fn stats(&self) -> SourceStats {
        self.table.lock().map_or_else(
            |_| SourceStats::default(),
            |table| SourceStats {
                kept: table.current.len() + table.previous.len(),
                running: table.running,
                ..table.stats
            },
        )
    }

    fn half(&self) -> usize {
        (self.settings.capacity / 2).max(1)
    }

    /// What is known of `origin` now.
    pub(crate) fn known(&self, origin: &[u8]) -> Known {
        let Ok(mut table) = self.table.lock() else {
            return Known::Answer(false);
        };
        let half = self.half();
        let running = table.running;
        match table.entry_in(origin, Instant::now(), half) {
            Some(Entry::Known { allowed, .. }) => Known::Answer(*allowed),
            Some(Entry::Running(_)) => Known::Running,
            // The source is not even asked for a future when no lookup
            // could run it.
            None if running >= self.settings.max_lookups => {
                table.stats.overloaded += 1;
                drop(table);
                self.log_overload(origin);
                Known::Answer(false)
            }
            None => Known::Nothing,
        }
    }

    /// Waits for the answer about `origin`: the one kept, the lookup
    /// running, or `pending` (the source's future, when the request asked
    /// it), run now.
    pub(crate) async fn resolve(
        self: Arc<Self>,
        origin: Box<[u8]>,
        pending: Option<BoxLookup>,
    ) -> bool {
        let mut receiver = match self.begin(&origin, pending) {
            Begun::Answer(allowed) => return allowed,
            Begun::Wait(receiver) => receiver,
        };
        match receiver.wait_for(Option::is_some).await {
            Ok(answer) => answer.unwrap_or(false),
            // The lookup's task ended without answering (its runtime is
            // shutting down): refused.
            Err(_) => false,
        }
    }

    fn begin(self: &Arc<Self>, origin: &[u8], pending: Option<BoxLookup>) -> Begun {
        let Ok(mut table) = self.table.lock() else {
            return Begun::Answer(false);
        };
        let half = self.half();
        match table.entry_in(origin, Instant::now(), half) {
            Some(Entry::Known { allowed, .. }) => return Begun::Answer(*allowed),
            Some(Entry::Running(receiver)) => return Begun::Wait(receiver.clone()),
            None => {}
        }
        if table.running >= self.settings.max_lookups {
            table.stats.overloaded += 1;
            drop(table);
            self.log_overload(origin);
            return Begun::Answer(false);
        }
        // The request that found nothing asked the source; one that found
        // a lookup running (since ended, and its answer expired) asks now.
        let text = String::from_utf8_lossy(origin);
        let future = match pending {
            Some(future) => future,
            None => match self.source.lookup(&text) {
                Lookup::Ready(allowed) => return Begun::Answer(allowed),
                Lookup::Pending(future) => future,
            },
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            table.stats.failed += 1;
            tracing::error!(
                target: "corsair",
                origin = %text,
                "origin source: no tokio runtime to run the lookup on; origin refused"
            );
            return Begun::Answer(false);
        };
        let (sender, receiver) = watch::channel(None);
        table.insert_in(origin.into(), Entry::Running(receiver.clone()), half);
        table.running += 1;
        table.stats.lookups += 1;
        drop(table);
        let cache = Arc::clone(self);
        let origin: Box<[u8]> = origin.into();
        runtime.spawn(async move {
            let answer = tokio::time::timeout(cache.settings.timeout, future).await;
            let (outcome, ttl) = cache.settle(&origin, answer);
            let allowed = outcome == Outcome::Allowed;
            cache.finish(origin, outcome, ttl);
            let _ = sender.send(Some(allowed));
        });
        Begun::Wait(receiver)
    }

    /// The answer of a lookup, and how long to keep it; failures logged.
    fn settle(
        &self,
        origin: &[u8],
        answer: Result<Result<bool, SourceError>, tokio::time::error::Elapsed>,
    ) -> (Outcome, Duration) {
        let origin = String::from_utf8_lossy(origin);
        match answer {
            Ok(Ok(true)) => (Outcome::Allowed, self.settings.ttl),
            Ok(Ok(false)) => (Outcome::Refused, self.settings.refusal_ttl),
            Ok(Err(error)) => {
                tracing::warn!(
                    target: "corsair",
                    origin = %origin,
                    error = %error,
                    "origin source failed; origin refused for {}s",
                    FAILURE_TTL.as_secs()
                );
                (Outcome::Failed, FAILURE_TTL)
            }
            Err(_) => {
                tracing::warn!(
                    target: "corsair",
                    origin = %origin,
                    timeout_ms = self.settings.timeout.as_millis(),
                    "origin source timed out; origin refused for {}s",
                    FAILURE_TTL.as_secs()
                );
                (Outcome::TimedOut, FAILURE_TTL)
            }
        }
    }

    fn finish(&self, origin: Box<[u8]>, outcome: Outcome, ttl: Duration) {
        let Ok(mut table) = self.table.lock() else {
            return;
        };
        table.running = table.running.saturating_sub(1);
        let stats = &mut table.stats;
        *match outcome {
            Outcome::Allowed => &mut stats.allowed,
            Outcome::Refused => &mut stats.refused,
            Outcome::Failed => &mut stats.failed,
            Outcome::TimedOut => &mut stats.timed_out,
        } += 1;
        let allowed = outcome == Outcome::Allowed;
        let half = self.half();
        table.insert_in(
            origin,
            Entry::Known {
                allowed,
                until: Instant::now() + ttl,
            },
            half,
        );
    }

    /// Logs an overload at most once a second: a flood of new origins
    /// must not flood the log too.
    fn log_overload(&self, origin: &[u8]) {
        let now = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_overload_log.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 1000
            && self
                .last_overload_log
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                target: "corsair",
                origin = %String::from_utf8_lossy(origin),
                max_lookups = self.settings.max_lookups,
                "origin source: max_lookups lookups running; new origins are refused until one ends"
            );
        }
    }
}

/// How a lookup ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Refused,
    Failed,
    TimedOut,
}

enum Begun {
    Answer(bool),
    Wait(watch::Receiver<Option<bool>>),
}

impl fmt::Debug for SourceCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceCache")
            .field("settings", &self.settings)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}
