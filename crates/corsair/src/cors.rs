//! `Cors`: the shared, reconfigurable handle on a compiled policy.

use std::fmt;
use std::sync::Arc;

use crate::config::Config;
use crate::error::ConfigError;
use crate::live::Live;
use crate::policy::Policy;

/// A CORS policy shared by every clone: cheap to clone, safe to share across
/// threads, and swappable at runtime with [`Cors::reconfigure`].
///
/// With the `tower` feature, `Cors` is a [`tower_layer::Layer`]; wrap an
/// axum `Router`, a hyper service or a tonic server with it.
///
/// ```
/// use corsair::{Config, Cors};
///
/// let cors = Cors::new(Config {
///     allow_origins: vec!["https://app.example.com".into()],
///     allow_credentials: true,
///     ..Config::default()
/// })?;
/// let clone = cors.clone();
///
/// cors.reconfigure(Config {
///     allow_origins: vec!["https://app.example.com".into(), "https://admin.example.com".into()],
///     allow_credentials: true,
///     ..Config::default()
/// })?;
/// assert_eq!(clone.policy().config().allow_origins.len(), 2); // every clone sees it
///
/// // An invalid configuration is refused and the policy in force stays.
/// assert!(cors.reconfigure(Config::default()).is_err());
/// assert_eq!(clone.policy().config().allow_origins.len(), 2);
/// # Ok::<(), corsair::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Cors {
    policy: Live<Policy>,
}

/// The policy as a service holds it: see [`Cors::cache`].
#[cfg(any(feature = "tower", feature = "actix"))]
pub(crate) type PolicyCache<D = ()> = crate::live::Reader<Policy, D>;

impl Cors {
    /// Checks and compiles `config`.
    ///
    /// # Errors
    /// A [`ConfigError`] listing every problem of the configuration.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        Ok(Cors::from(Policy::new(config)?))
    }

    /// Reads, checks and compiles the policy in the file at `path` (TOML,
    /// JSON or YAML by its extension), with every problem at once: unknown
    /// fields, wrong types and unsafe values, each at its line and column
    /// where the format knows them.
    ///
    /// ```no_run
    /// # #[cfg(feature = "toml")] {
    /// let cors = corsair::Cors::from_file("cors.toml")?;
    /// # }
    /// # Ok::<(), corsair::LoadError>(())
    /// ```
    ///
    /// # Errors
    /// A [`LoadError`](crate::LoadError): the file cannot be read, or
    /// [`LoadError::Invalid`](crate::LoadError::Invalid) with every problem.
    #[cfg(feature = "serde")]
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, crate::LoadError> {
        Ok(Cors::from(crate::config::Document::read(path)?.policy()?))
    }

    /// Replaces the policy of this `Cors` and all its clones. Requests
    /// already being checked finish under the policy they started with; the
    /// next ones see the new one. No request ever sees a mix of the two.
    ///
    /// # Errors
    /// A [`ConfigError`] listing every problem; the policy in force is kept.
    ///
    /// Debug mode carries over, and so does an origin source attached in
    /// code (with what it answered, when `[origin_source]` is unchanged): a
    /// [`Cors::set_debug`] that races with the
    /// reconfiguration is never lost, because the new policy replaces the
    /// old one only if no other change came in between (a compare and
    /// swap, retried with the same compiled policy).
    pub fn reconfigure(&self, config: Config) -> Result<(), ConfigError> {
        let mut policy = Policy::new(config)?;
        loop {
            let current = self.policy.load();
            let new = Arc::new(policy.carry_over(&current));
            if self.policy.replace(&current, Arc::clone(&new)) {
                return Ok(());
            }
            // Another change came first: try again on top of it. The clone
            // given to the failed swap is gone, so this unwraps.
            policy = Arc::try_unwrap(new).unwrap_or_else(|shared| Policy::clone(&shared));
        }
    }

    /// Reads `allow_origins_file` again when it changed on disk since the
    /// policy in force read it ([`Policy::origins_file_changed`]), and puts
    /// the policy with the new list in force; whether it did. Every other
    /// setting stays as it is.
    ///
    /// ```
    /// use corsair::{Config, Cors};
    ///
    /// let dir = std::env::temp_dir().join(format!("corsair-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let file = dir.join("tenants.txt");
    /// std::fs::write(&file, "https://a.example\n")?;
    /// let cors = Cors::new(Config { allow_origins_file: Some(file.clone()), ..Config::default() })?;
    /// assert!(!cors.reload_origins_file()?); // unchanged: nothing read
    ///
    /// std::fs::write(&file, "https://a.example\nhttps://b.example # new tenant\n")?;
    /// assert!(cors.reload_origins_file()?);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// A [`ConfigError`] naming each refused line; the policy in force is
    /// kept.
    pub fn reload_origins_file(&self) -> Result<bool, ConfigError> {
        let current = self.policy.load();
        if !current.origins_file_changed() {
            return Ok(false);
        }
        let new = Policy::new(current.config().clone())?.carry_over(&current);
        // Only over the policy the file was compared with: a policy put in
        // force meanwhile (a reconfiguration) is newer than this one, and
        // the next call compares its own file.
        Ok(self.policy.replace(&current, Arc::new(new)))
    }

    /// Calls [`Cors::reload_origins_file`] every `interval` on a thread of
    /// its own, until the returned [`OriginsFileWatch`] is dropped. A file
    /// with a refused line changes nothing: each problem is logged (at
    /// error level, target `corsair`) and the list in force stays until
    /// the file is fixed. A reload is logged at info level.
    ///
    /// The file is looked at, not read, on each tick (one `stat`), so a
    /// short interval costs little; a second is what the `corsair` proxy
    /// uses.
    ///
    /// ```
    /// use std::time::Duration;
    /// use corsair::{Config, Cors};
    ///
    /// # let dir = std::env::temp_dir().join(format!("corsair-doc-watch-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let file = dir.join("tenants.txt");
    /// # std::fs::write(&file, "https://a.example\n")?;
    /// let cors = Cors::new(Config { allow_origins_file: Some(file), ..Config::default() })?;
    /// let watch = cors.watch_origins_file(Duration::from_secs(1));
    /// // ... serve requests; the list follows the file ...
    /// drop(watch); // stops the thread
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use = "the watch stops when dropped"]
    pub fn watch_origins_file(&self, interval: std::time::Duration) -> OriginsFileWatch {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let cors = self.clone();
        let thread = std::thread::Builder::new()
            .name("corsair-origins-file".to_owned())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(interval)
                {
                    match cors.reload_origins_file() {
                        Ok(false) => {}
                        Ok(true) => tracing::info!(
                            target: "corsair",
                            file = ?cors.policy().config().allow_origins_file,
                            "allowed origins reloaded"
                        ),
                        Err(error) => {
                            for problem in error.problems() {
                                tracing::error!(target: "corsair", "{problem}");
                            }
                            tracing::error!(
                                target: "corsair",
                                problems = error.problems().len(),
                                "origins file not reloaded: the list in force stays"
                            );
                        }
                    }
                }
            })
            .ok();
        OriginsFileWatch {
            stop: Some(stop),
            thread,
        }
    }

    /// Turns debug mode on or off for this `Cors` and all its clones. In
    /// debug mode every decision is logged through `tracing` (debug level,
    /// target `corsair`) with the origin, the method, the requested method
    /// and headers, and the outcome; and a refused preflight says why, in a
    /// `corsair-refusal` header and, where the adapter owns the body
    /// (actix), in a short plain-text body.
    ///
    /// Off by default. Do not leave it on in production: it tells anyone
    /// probing the API exactly what the policy accepts, and logs every
    /// request.
    ///
    /// ```
    /// use corsair::{Config, Cors};
    ///
    /// let cors = Cors::new(Config { allow_origins: vec!["https://app.example.com".into()], ..Config::default() })?;
    /// cors.set_debug(true);
    /// assert!(cors.policy().debug());
    /// # Ok::<(), corsair::ConfigError>(())
    /// ```
    pub fn set_debug(&self, debug: bool) {
        self.policy
            .update(|policy| Policy::clone(policy).with_debug(debug));
    }

    /// The policy in force now. Use one snapshot for both the check of a
    /// request and the headers of its response.
    #[must_use]
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.load()
    }

    /// A reader that keeps the last policy it saw, with what `derive`
    /// makes of it, and on each load only compares pointers with the
    /// shared one: for a service that loads the policy on every request.
    #[cfg(any(feature = "tower", feature = "actix"))]
    pub(crate) fn reader<D>(&self, derive: fn(&Arc<Policy>) -> D) -> PolicyCache<D> {
        self.policy.reader(derive)
    }
}

/// The thread of [`Cors::watch_origins_file`]: dropping this stops it
/// (and waits for a reload under way to end).
#[derive(Debug)]
pub struct OriginsFileWatch {
    stop: Option<std::sync::mpsc::Sender<()>>,
    /// `None` when the system could not start a thread: then nothing is
    /// watched, which [`OriginsFileWatch::is_running`] tells.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OriginsFileWatch {
    /// Whether the thread runs (the system could start it).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }
}

impl Drop for OriginsFileWatch {
    fn drop(&mut self) {
        // Closing the channel wakes the thread at once.
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl From<Policy> for Cors {
    fn from(policy: Policy) -> Self {
        Cors {
            policy: Live::new(policy),
        }
    }
}

impl fmt::Debug for Cors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cors").field(&*self.policy.load()).finish()
    }
}
