//! Reloading the file: when it changes on disk (checked every second) and
//! on SIGHUP. A valid file applies to the next request, on connections
//! already open too; an invalid one changes nothing and every problem is
//! logged.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info, warn};

use super::file::{FileError, Limits, Overrides, ProxyFile, Settings};
use super::handler::{Live, Shared};

/// How often the file is looked at.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Where the configuration comes from: the file, and the command line's
/// overrides, which keep precedence on every reload.
#[derive(Clone, Debug)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// The command line's overrides.
    pub overrides: Overrides,
}

/// The bytes of the file last read, by a reload or the watch: the watch
/// reloads only when the file differs from them, so that a SIGHUP after an
/// edit is one reload, not a second one at the watch's next tick.
pub(crate) type Seen = Mutex<Option<Vec<u8>>>;

/// Reads the file as it is now, for [`Seen`].
pub(crate) fn read_seen(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// Re-reads the file and, when it is valid, puts it in force, with the TLS
/// certificate read again. `startup` is what the proxy started with:
/// changes to what needs a restart (listeners, TLS turned on or off, limits
/// other than `upstream_timeout`) are logged and not applied.
///
/// # Errors
/// The file's problems, which are also logged.
pub(crate) fn reload(
    shared: &Shared,
    source: &Source,
    startup: &Settings,
    seen: &Seen,
) -> Result<(), FileError> {
    reload_if(shared, source, startup, seen, false)
}

/// [`reload`], or nothing when `only_if_changed` and the file holds what was
/// last read (the watch's bytes may be older than a SIGHUP's reload).
fn reload_if(
    shared: &Shared,
    source: &Source,
    startup: &Settings,
    seen: &Seen,
    only_if_changed: bool,
) -> Result<(), FileError> {
    let loaded = match std::fs::read(&source.path) {
        Ok(bytes) => {
            if only_if_changed && seen.lock().is_ok_and(|seen| seen.as_ref() == Some(&bytes)) {
                return Ok(());
            }
            let loaded = match std::str::from_utf8(&bytes) {
                Ok(text) => ProxyFile::parse(text, &source.path)
                    .and_then(|file| file.compile(&source.path, &source.overrides)),
                // The same message as any other unreadable file.
                Err(_) => ProxyFile::load(&source.path, &source.overrides),
            };
            if let Ok(mut seen) = seen.lock() {
                *seen = Some(bytes);
            }
            loaded
        }
        Err(_) => ProxyFile::load(&source.path, &source.overrides),
    };
    match loaded {
        Err(problems) => {
            for problem in &problems.problems {
                error!(file = %source.path.display(), "{problem}");
            }
            error!(
                file = %source.path.display(),
                problems = problems.problems.len(),
                "configuration not reloaded: the running configuration stays in force"
            );
            shared.metrics.reload(false);
            Err(problems)
        }
        Ok(settings) => {
            let mut needs_restart = Vec::new();
            if settings.listen != startup.listen {
                needs_restart.push("listen");
            }
            match (&shared.certificates, &settings.tls) {
                (Some(certificates), Some(tls)) => match certificates.reload(tls) {
                    Ok(true) => info!(file = %source.path.display(), "TLS certificate reloaded"),
                    Ok(false) => {}
                    Err(problem) => error!(
                        file = %source.path.display(),
                        "{problem}; the current TLS certificate stays in force"
                    ),
                },
                (None, None) => {}
                // Turning TLS on or off changes the listener.
                _ => needs_restart.push("tls"),
            }
            if settings.admin != startup.admin {
                needs_restart.push("admin");
            }
            let mut limits = settings.limits;
            limits.upstream_timeout = startup.limits.upstream_timeout;
            if limits != startup.limits {
                needs_restart.push("limits (but upstream_timeout)");
            }
            if !needs_restart.is_empty() {
                warn!(
                    file = %source.path.display(),
                    fields = %needs_restart.join(", "),
                    "these changes take effect at the next restart"
                );
            }
            let mut live = Live::from(&settings);
            // `/config` shows what is in force: the startup values of what
            // needs a restart.
            live.file.listen = startup.file.listen;
            live.file.admin = startup.file.admin;
            live.file.limits = Limits {
                upstream_timeout: settings.limits.upstream_timeout,
                ..startup.file.limits
            };
            if live.file.tls.is_some() != startup.file.tls.is_some() {
                live.file.tls.clone_from(&startup.file.tls);
            }
            shared.live.store(Arc::new(live));
            shared.metrics.reload(true);
            info!(file = %source.path.display(), "configuration reloaded");
            Ok(())
        }
    }
}

/// Watches the file until `stopped` changes, reloading when its bytes
/// change.
pub(crate) async fn watch(
    shared: Arc<Shared>,
    source: Source,
    startup: Settings,
    seen: Arc<Seen>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(WATCH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = ticks.tick() => {}
        }
        // A file that cannot be read now (being replaced) is looked at
        // again at the next tick.
        let Ok(bytes) = tokio::fs::read(&source.path).await else {
            continue;
        };
        let changed = seen.lock().is_ok_and(|seen| seen.as_ref() != Some(&bytes));
        if changed {
            let _ = reload_if(&shared, &source, &startup, &seen, true);
        }
    }
}
