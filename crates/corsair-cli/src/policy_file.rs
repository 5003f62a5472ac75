//! The files `check` and `explain` read: a proxy file (with `[cors]`) or a
//! bare policy (the fields of `corsair::Config` at the top level, in TOML,
//! JSON or YAML).

use std::path::Path;
use std::sync::Arc;

use corsair::Config;
use corsair::policy::Policy;

use crate::proxy::routes::RouteTable;
use crate::proxy::{FileError, Overrides, ProxyFile, Settings};

/// A file that describes CORS policies.
#[derive(Debug)]
pub enum PolicyFile {
    /// A proxy file: its policies route by path.
    Proxy(Box<Settings>),
    /// A bare policy.
    Policy(Arc<Policy>),
}

impl PolicyFile {
    /// Reads `path`: a proxy file when it is TOML with a `cors` table or an
    /// `upstream`, else a bare policy.
    ///
    /// # Errors
    /// Every problem of the file.
    pub fn load(path: &Path) -> Result<PolicyFile, FileError> {
        let text = std::fs::read_to_string(path).map_err(|error| FileError {
            path: path.to_owned(),
            problems: vec![format!("cannot read: {error}")],
        })?;
        let is_toml = path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_none_or(|extension| extension.eq_ignore_ascii_case("toml"));
        if is_toml && is_proxy_file(&text) {
            let settings = ProxyFile::parse(&text, path)?.compile(path, &Overrides::default())?;
            return Ok(PolicyFile::Proxy(Box::new(settings)));
        }
        let config = Config::from_file(path).map_err(|error| FileError {
            path: path.to_owned(),
            problems: vec![strip_path(&error.to_string(), path)],
        })?;
        Policy::new(config)
            .map(|policy| PolicyFile::Policy(Arc::new(policy)))
            .map_err(|error| FileError {
                path: path.to_owned(),
                problems: error
                    .problems()
                    .iter()
                    .map(|problem| format!("{}: {problem}", problem.field()))
                    .collect(),
            })
    }

    /// The policies by path.
    #[must_use]
    pub fn routes(&self) -> RouteTable {
        match self {
            PolicyFile::Proxy(settings) => settings.routes.clone(),
            PolicyFile::Policy(policy) => RouteTable::new(Arc::clone(policy), Vec::new()),
        }
    }
}

/// Whether a TOML text looks like a proxy file: a top-level `cors` table or
/// `upstream` key. Text that does not parse is treated as a proxy file when
/// it names `[cors]`, so that the proxy parser reports the syntax error.
#[must_use]
pub fn is_proxy_file(text: &str) -> bool {
    match text.parse::<toml::Table>() {
        Ok(table) => table.contains_key("cors") || table.contains_key("upstream"),
        Err(_) => text.contains("[cors]") || text.contains("upstream"),
    }
}

/// `Config::from_file`'s messages start with the path; `FileError` adds it.
fn strip_path(message: &str, path: &Path) -> String {
    let prefix = format!("{}:", path.display());
    message
        .strip_prefix(&prefix)
        .map_or_else(|| message.to_owned(), |rest| rest.trim_start().to_owned())
}
