//! Reloading the file: when it changes on disk (checked every second) and
//! on SIGHUP. A valid file applies to the next request, on connections
//! already open too; an invalid one changes nothing and every problem is
//! logged.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info, warn};

use super::file::{FileError, Overrides, ProxyFile, Settings};
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

/// Re-reads the file and, when it is valid, puts it in force. `startup` is
/// what the proxy started with: changes to what needs a restart (listeners,
/// TLS, limits other than `upstream_timeout`) are logged and not applied.
///
/// # Errors
/// The file's problems, which are also logged.
pub(crate) fn reload(
    shared: &Shared,
    source: &Source,
    startup: &Settings,
) -> Result<(), FileError> {
    match ProxyFile::load(&source.path, &source.overrides) {
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
            if settings.tls != startup.tls {
                needs_restart.push("tls");
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
            shared.live.store(Arc::new(Live::from(&settings)));
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
    mut stopped: watch::Receiver<bool>,
) {
    let mut seen = tokio::fs::read(&source.path).await.ok();
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
        if seen.as_ref() != Some(&bytes) {
            seen = Some(bytes);
            let _ = reload(&shared, &source, &startup);
        }
    }
}
