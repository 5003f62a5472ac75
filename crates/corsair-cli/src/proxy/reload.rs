//! Reloading the file: when it, or an origins file its policies name
//! (`allow_origins_file`), changes on disk (checked every second), and on
//! SIGHUP. A valid file applies to the next request, on connections
//! already open too; an invalid one changes nothing and every problem is
//! logged.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info, warn};

use corsair::LoadError;
use corsair::config::Document;
use corsair::config::origins_file::FileStamp;

use super::file::{Limits, Overrides, ProxyFile, Settings};
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

/// What the file held when last read, by a reload or the watch, and how
/// the origins files it names looked then: the watch reloads only when one
/// of them differs, so that a SIGHUP after an edit is one reload, not a
/// second one at the watch's next tick, and a file with an error is
/// logged once, not at every tick.
pub(crate) type Seen = Mutex<Option<Snapshot>>;

/// The file's bytes and the stamps of the origins files it names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Snapshot {
    bytes: Vec<u8>,
    /// Each origins file, with its stamp (`None` while it is missing).
    origins_files: Vec<(PathBuf, Option<FileStamp>)>,
}

impl Snapshot {
    /// `bytes` of the proxy file, with the stamps, now, of the origins files
    /// `document` (when it reads) names. Stamps are taken before the files
    /// are read, so that a change made while they are read is seen at the
    /// next tick.
    fn of(bytes: Vec<u8>, document: Option<&Document>) -> Snapshot {
        let origins_files = document
            .and_then(|document| {
                let mut file = document
                    .parse_partial::<ProxyFile>()
                    .ok()?
                    .value()
                    .cloned()?;
                file.resolve_paths(document);
                Some(
                    file.origins_files()
                        .map(|path| (path.to_owned(), FileStamp::now(path)))
                        .collect(),
                )
            })
            .unwrap_or_default();
        Snapshot {
            bytes,
            origins_files,
        }
    }

    /// Whether an origins file is missing, for a moment, one hopes.
    fn missing_file(&self) -> bool {
        self.origins_files.iter().any(|(_, stamp)| stamp.is_none())
    }
}

/// Reads the file as it is now, for [`Seen`] (as much of it as a
/// document may hold, and one byte more), with its origins files' stamps.
pub(crate) fn read_seen(path: &Path) -> Option<Snapshot> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(corsair::config::MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    let document = std::str::from_utf8(&bytes)
        .ok()
        .map(|text| Document::new(text, crate::policy_file::format_of(path)).named(path));
    Some(Snapshot::of(bytes, document.as_ref()))
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
) -> Result<(), LoadError> {
    reload_if(shared, source, startup, seen, false)
}

/// [`reload`], or nothing when `only_if_changed` and the file holds what was
/// last read (the watch's bytes may be older than a SIGHUP's reload), or is
/// gone for a moment (being replaced). The file is read once.
fn reload_if(
    shared: &Shared,
    source: &Source,
    startup: &Settings,
    seen: &Seen,
    only_if_changed: bool,
) -> Result<(), LoadError> {
    let document = crate::policy_file::read(&source.path);
    let snapshot = match &document {
        Ok(document) => Some(Snapshot::of(
            document.text().as_bytes().to_vec(),
            Some(document),
        )),
        Err(LoadError::Io { source, .. })
            if only_if_changed && source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(());
        }
        // Not text, or too large: what is there, so that the error is
        // logged once, not at every tick.
        Err(_) => read_seen(&source.path),
    };
    if only_if_changed {
        // An origins file gone for a moment (being replaced) is looked at
        // again at the next tick, as the proxy file is.
        if snapshot.as_ref().is_some_and(Snapshot::missing_file) {
            return Ok(());
        }
        if seen.lock().is_ok_and(|seen| *seen == snapshot) {
            return Ok(());
        }
    }
    if let Ok(mut seen) = seen.lock() {
        *seen = snapshot;
    }
    let loaded =
        document.and_then(|document| ProxyFile::from_document(&document, &source.overrides));
    match loaded {
        Err(error) => {
            let file = source.path.display();
            match error.diagnostics() {
                [] => error!(file = %file, "{error}"),
                diagnostics => {
                    for diagnostic in diagnostics {
                        error!(file = %file, "{diagnostic}");
                    }
                }
            }
            error!(
                file = %file,
                problems = error.diagnostics().len().max(1),
                "configuration not reloaded: the running configuration stays in force"
            );
            shared.metrics.reload(false);
            Err(error)
        }
        Ok(settings) => {
            log_warnings(&source.path, &settings);
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
            // Every field but upstream_timeout needs a restart; written out
            // so that a new field cannot be forgotten here.
            let Limits {
                max_header_bytes,
                max_connections,
                header_read_timeout,
                upstream_timeout: _,
                max_idle_upstream_connections,
                shutdown_grace,
                workers,
            } = startup.limits;
            let now = &settings.limits;
            for (field, changed) in [
                (
                    "limits.max_header_bytes",
                    now.max_header_bytes != max_header_bytes,
                ),
                (
                    "limits.max_connections",
                    now.max_connections != max_connections,
                ),
                (
                    "limits.header_read_timeout",
                    now.header_read_timeout != header_read_timeout,
                ),
                (
                    "limits.max_idle_upstream_connections",
                    now.max_idle_upstream_connections != max_idle_upstream_connections,
                ),
                (
                    "limits.shutdown_grace",
                    now.shutdown_grace != shutdown_grace,
                ),
                ("limits.workers", now.workers != workers),
            ] {
                if changed {
                    needs_restart.push(field);
                }
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

/// Watches the file until `stopped` changes, reloading when its bytes, or
/// the origins files it names, change.
pub(crate) async fn watch(
    shared: Arc<Shared>,
    source: Source,
    startup: Settings,
    seen: Arc<Seen>,
    mut stopped: watch::Receiver<bool>,
) {
    let (source, startup) = (Arc::new(source), Arc::new(startup));
    let mut ticks = tokio::time::interval(WATCH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = ticks.tick() => {}
        }
        // Read off the event loop; a file that is gone for a moment (being
        // replaced) is looked at again at the next tick.
        let (shared, source, startup, seen) = (
            Arc::clone(&shared),
            Arc::clone(&source),
            Arc::clone(&startup),
            Arc::clone(&seen),
        );
        let _ =
            tokio::task::spawn_blocking(move || reload_if(&shared, &source, &startup, &seen, true))
                .await;
    }
}

/// Logs the warnings of a file put in force.
pub(crate) fn log_warnings(path: &Path, settings: &Settings) {
    for warning in &settings.warnings {
        warn!(file = %path.display(), code = warning.code, "{warning}");
    }
}
