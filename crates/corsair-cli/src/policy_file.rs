//! The files the commands read, read in one place: a proxy file (TOML, with
//! `[cors]`) or a bare policy (the fields of `corsair::Config` at the top
//! level, in TOML, JSON or YAML). `proxy`, `check` and `explain` all come
//! through here, so that they agree on what a file is and on what is wrong
//! with it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use corsair::config::{Diagnostic, Document};
use corsair::policy::Policy;
use corsair::{Format, LoadError};
use serde::Serialize;
use serde::de::IgnoredAny;

use crate::lint;
use crate::proxy::routes::RouteTable;
use crate::proxy::{Overrides, ProxyFile, Settings};

/// Reads the file at `path`: in the format its extension names, and as
/// TOML (the proxy's format) when it names none (`/etc/corsair/proxy`).
///
/// # Errors
/// When the file cannot be read, is not text, or is larger than
/// [`corsair::config::MAX_DOCUMENT_BYTES`].
pub fn read(path: &Path) -> Result<Document, LoadError> {
    Document::read_as(path, format_of(path))
}

/// The format of the file at `path`: the one its extension names, else
/// TOML.
#[must_use]
pub fn format_of(path: &Path) -> Format {
    Format::from_path(path).unwrap_or(Format::Toml)
}

/// What a file describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// A proxy file.
    Proxy,
    /// A bare policy.
    Policy,
}

impl FileKind {
    /// What a document describes: a proxy file when it has a top-level
    /// `cors` table or `upstream` key, else a bare policy. Text that does
    /// not parse is a proxy file when it names `[cors]` or `upstream`, so
    /// that its syntax error is reported as the proxy's.
    #[must_use]
    pub fn of(document: &Document) -> FileKind {
        // One read of the top-level keys.
        let proxy = match document.parse::<BTreeMap<String, IgnoredAny>>() {
            Ok(keys) => keys.contains_key("cors") || keys.contains_key("upstream"),
            Err(error) if error.diagnostics().iter().any(|d| d.code == "syntax") => {
                document.text().contains("[cors]") || document.text().contains("upstream")
            }
            // A document that is not a table is no proxy file.
            Err(_) => false,
        };
        if proxy {
            FileKind::Proxy
        } else {
            FileKind::Policy
        }
    }
}

/// A file that describes CORS policies.
#[derive(Debug)]
pub enum PolicyFile {
    /// A proxy file: its policies route by path.
    Proxy(Box<Settings>),
    /// A bare policy.
    Policy(Arc<Policy>),
}

impl PolicyFile {
    /// Reads and compiles the file at `path`.
    ///
    /// # Errors
    /// Every problem of the file, each located.
    pub fn load(path: &Path) -> Result<PolicyFile, LoadError> {
        let document = read(path)?;
        match PolicyFile::check(&document)? {
            (_, Some(file), _) => Ok(file),
            (_, None, diagnostics) => Err(document.invalid(diagnostics)),
        }
    }

    /// Reads a document as far as it goes: what it describes, the compiled
    /// file when it has no error, and every error and warning, located.
    ///
    /// # Errors
    /// When the document's format is not compiled in.
    pub fn check(
        document: &Document,
    ) -> Result<(FileKind, Option<PolicyFile>, Vec<Diagnostic>), LoadError> {
        let kind = FileKind::of(document);
        Ok(match kind {
            FileKind::Proxy => {
                let (settings, diagnostics) = ProxyFile::read(document, &Overrides::default())?;
                let file = settings.map(|settings| PolicyFile::Proxy(Box::new(settings)));
                (kind, file, diagnostics)
            }
            FileKind::Policy => {
                let (policy, mut partial) = document.compile_policy()?;
                if let Some(config) = partial.value() {
                    let production = lint::looks_like_production([config]);
                    let warnings = lint::policy_warnings("", config, production);
                    partial.add(warnings);
                }
                let (_, diagnostics) = partial.into_parts();
                let file = policy.map(|policy| PolicyFile::Policy(Arc::new(policy)));
                (kind, file, diagnostics)
            }
        })
    }

    /// The policies by path.
    #[must_use]
    pub fn routes(&self) -> RouteTable {
        match self {
            PolicyFile::Proxy(settings) => settings.routes.clone(),
            PolicyFile::Policy(policy) => RouteTable::single(Arc::clone(policy)),
        }
    }
}
