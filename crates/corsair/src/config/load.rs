//! Reading a [`Config`] from a file or from the environment, with errors
//! that name the field and, where the format can, the line and column.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Config;
use super::diagnostic::{Diagnostic, closest};
use super::document::Document;

/// A configuration file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// TOML (feature `toml`).
    Toml,
    /// JSON (feature `json`).
    Json,
    /// YAML (feature `yaml`).
    Yaml,
}

impl Format {
    /// The format a file's extension names: `.toml`, `.json`, `.yaml` or
    /// `.yml`.
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }

    pub(crate) fn feature(self) -> &'static str {
        match self {
            Format::Toml => "toml",
            Format::Json => "json",
            Format::Yaml => "yaml",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Toml => "TOML",
            Format::Json => "JSON",
            Format::Yaml => "YAML",
        })
    }
}

/// Why a configuration could not be read. (A configuration that reads but
/// is unsafe is a [`ConfigError`](crate::ConfigError), from
/// [`Cors::new`](crate::Cors::new).)
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_DOCUMENT_BYTES`](super::MAX_DOCUMENT_BYTES).
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The file's extension names no known format.
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The format's feature is not enabled.
    FormatNotEnabled {
        /// The format.
        format: Format,
        /// The feature to enable.
        feature: &'static str,
    },
    /// The document does not describe what was asked for: every problem,
    /// each with its field and, where known, its line and column.
    Invalid {
        /// The format.
        format: Format,
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// Every problem, errors first (warnings, when any, after them).
        diagnostics: Vec<Diagnostic>,
    },
    /// An environment variable is unknown or its value unreadable.
    Env {
        /// The variable.
        variable: String,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The cause is the `source()`, which reporters print after.
            LoadError::Io { path, .. } => write!(f, "cannot read {}", path.display()),
            LoadError::UnknownFormat { path } => write!(
                f,
                "{}: name the file .toml, .json, .yaml or .yml so that its format is known",
                path.display()
            ),
            LoadError::FormatNotEnabled { format, feature } => {
                write!(
                    f,
                    "{format} configuration needs corsair's `{feature}` feature"
                )
            }
            LoadError::TooLarge { path, limit } => write!(
                f,
                "cannot read {}: the file is larger than {} MiB",
                path.display(),
                limit / (1024 * 1024)
            ),
            LoadError::Invalid {
                format,
                path,
                diagnostics,
            } => {
                let name = path
                    .as_ref()
                    .map_or_else(|| format!("<{format}>"), |path| path.display().to_string());
                let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
                match errors.as_slice() {
                    [one] if one.location.is_some() => write!(f, "{name}:{one}"),
                    [one] => write!(f, "{name}: {one}"),
                    errors => {
                        write!(f, "{name}: {} problems:", errors.len())?;
                        for error in errors {
                            write!(f, "\n  - {error}")?;
                        }
                        Ok(())
                    }
                }
            }
            LoadError::Env { variable, message } => {
                write!(f, "environment variable {variable}: {message}")
            }
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl LoadError {
    /// The problems of a document that reads but is wrong; empty for the
    /// other errors.
    #[must_use]
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            LoadError::Invalid { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }
}

impl Config {
    /// Reads a configuration from `path`, in the format its extension names.
    /// Unknown fields are errors, and every one is reported.
    ///
    /// ```no_run
    /// # #[cfg(feature = "toml")] {
    /// let config = corsair::Config::from_file("cors.toml")?;
    /// let cors = corsair::Cors::new(config)?;
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`Document::policy`](super::Document::policy) also checks the policy, with its problems
    /// located in the file.
    ///
    /// # Errors
    /// [`LoadError::Io`], [`LoadError::TooLarge`], [`LoadError::UnknownFormat`],
    /// [`LoadError::FormatNotEnabled`] or [`LoadError::Invalid`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, LoadError> {
        Document::read(path)?.config()
    }

    /// Reads a configuration from a document in `format`.
    ///
    /// # Errors
    /// [`LoadError::FormatNotEnabled`] or [`LoadError::Invalid`].
    pub fn from_str_as(text: &str, format: Format) -> Result<Config, LoadError> {
        Document::new(text, format).config()
    }

    /// Reads a configuration from a TOML document. Unknown fields are
    /// errors; every one is reported, with its line and column.
    ///
    /// ```
    /// let error = corsair::Config::from_toml("allow_origins = [\"https://app.example.com\"]\nallow_credential = true\n")
    ///     .unwrap_err();
    /// assert_eq!(error.diagnostics()[0].location.as_ref().map(|at| at.line), Some(2));
    /// assert!(error.to_string().contains("unknown field `allow_credential`; did you mean `allow_credentials`?"));
    /// ```
    ///
    /// # Errors
    /// [`LoadError::Invalid`].
    #[cfg(feature = "toml")]
    pub fn from_toml(text: &str) -> Result<Config, LoadError> {
        Config::from_str_as(text, Format::Toml)
    }

    /// Reads a configuration from a JSON document. Unknown fields are
    /// errors; every one is reported.
    ///
    /// # Errors
    /// [`LoadError::Invalid`].
    #[cfg(feature = "json")]
    pub fn from_json(text: &str) -> Result<Config, LoadError> {
        Config::from_str_as(text, Format::Json)
    }

    /// Reads a configuration from a YAML document. Unknown fields are
    /// errors; every one is reported.
    ///
    /// # Errors
    /// [`LoadError::Invalid`].
    #[cfg(feature = "yaml")]
    pub fn from_yaml(text: &str) -> Result<Config, LoadError> {
        Config::from_str_as(text, Format::Yaml)
    }

    /// Reads a configuration from environment variables named `CORS_` and
    /// the field's name in uppercase, for twelve-factor deployments:
    ///
    /// ```text
    /// CORS_ALLOW_ORIGINS=https://app.example.com,https://*.example.com
    /// CORS_ALLOW_CREDENTIALS=true
    /// CORS_ALLOW_METHODS=GET,POST,PUT,PATCH,DELETE
    /// CORS_ALLOW_HEADERS=accept,content-type
    /// CORS_EXPOSE_HEADERS=x-request-id
    /// CORS_MAX_AGE=600
    /// CORS_DANGEROUSLY_ALLOW_INSECURE_ORIGINS=false
    /// CORS_DANGEROUSLY_ALLOW_PUBLIC_SUFFIX_WILDCARDS=false
    /// CORS_ALLOW_ORIGINS_FILE=/etc/corsair/tenants.txt
    /// CORS_PREFLIGHT_STATUS=204
    /// CORS_CROSS_ORIGIN_PROTECTION=true
    /// CORS_TIMING_ALLOW_ORIGIN=false
    /// CORS_WEBSOCKET_ORIGINS=enforce
    /// CORS_MODE=enforce
    /// ```
    ///
    /// Lists are comma-separated; booleans are `true` or `false`. A variable
    /// that starts with `CORS_` but names no field is an error, so that a
    /// misspelt `CORS_ALLOW_CREDENTIAL` cannot silently leave credentials
    /// off.
    ///
    /// # Errors
    /// [`LoadError::Env`] naming the variable.
    pub fn from_env() -> Result<Config, LoadError> {
        Config::from_env_vars("CORS_", std::env::vars_os())
    }

    /// [`Config::from_env`] over any set of variables and any prefix.
    ///
    /// ```
    /// use corsair::Config;
    ///
    /// let config = Config::from_env_vars("API_CORS_", [
    ///     ("API_CORS_ALLOW_ORIGINS", "https://app.example.com, https://admin.example.com"),
    ///     ("API_CORS_ALLOW_CREDENTIALS", "true"),
    ///     ("PATH", "/usr/bin"),
    /// ])?;
    /// assert_eq!(config.allow_origins, ["https://app.example.com", "https://admin.example.com"]);
    /// assert!(config.allow_credentials);
    ///
    /// let typo = Config::from_env_vars("API_CORS_", [("API_CORS_ALLOW_CREDENTIAL", "true")]);
    /// assert!(typo.unwrap_err().to_string().contains("API_CORS_ALLOW_CREDENTIALS"));
    /// # Ok::<(), corsair::LoadError>(())
    /// ```
    ///
    /// # Errors
    /// [`LoadError::Env`] naming the variable.
    pub fn from_env_vars<K, V>(
        prefix: &str,
        variables: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Config, LoadError>
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        let mut config = Config::default();
        for (key, value) in variables {
            let Some(key) = key.as_ref().to_str() else {
                continue;
            };
            let Some(field) = key.strip_prefix(prefix) else {
                continue;
            };
            let error = |message: String| LoadError::Env {
                variable: key.to_owned(),
                message,
            };
            let value = value
                .as_ref()
                .to_str()
                .ok_or_else(|| error("the value is not UTF-8".to_owned()))?;
            match field {
                "ALLOW_ORIGINS" => config.allow_origins = list(value),
                "ALLOW_CREDENTIALS" => config.allow_credentials = boolean(value).map_err(error)?,
                "ALLOW_METHODS" => config.allow_methods = list(value),
                "ALLOW_HEADERS" => config.allow_headers = list(value),
                "EXPOSE_HEADERS" => config.expose_headers = list(value),
                "MAX_AGE" => {
                    config.max_age = Some(
                        value
                            .trim()
                            .parse()
                            .map_err(|_| error(format!("{value:?} is not a number of seconds")))?,
                    );
                }
                "DANGEROUSLY_ALLOW_INSECURE_ORIGINS" => {
                    config.dangerously_allow_insecure_origins = boolean(value).map_err(error)?;
                }
                "DANGEROUSLY_ALLOW_PUBLIC_SUFFIX_WILDCARDS" => {
                    config.dangerously_allow_public_suffix_wildcards =
                        boolean(value).map_err(error)?;
                }
                "ALLOW_ORIGINS_FILE" => {
                    config.allow_origins_file = Some(value.trim().into());
                }
                "PREFLIGHT_STATUS" => {
                    config.preflight_status = Some(value.trim().parse().map_err(|_| {
                        error(format!("{value:?} is not a status: write 204 or 200"))
                    })?);
                }
                "CROSS_ORIGIN_PROTECTION" => {
                    config.cross_origin_protection = boolean(value).map_err(error)?;
                }
                "TIMING_ALLOW_ORIGIN" => {
                    config.timing_allow_origin = boolean(value).map_err(error)?;
                }
                "MODE" => {
                    config.mode =
                        choice(value, &super::Mode::ALL, super::Mode::as_str).map_err(error)?;
                }
                "WEBSOCKET_ORIGINS" => {
                    config.websocket_origins = choice(
                        value,
                        &super::WebSocketOrigins::ALL,
                        super::WebSocketOrigins::as_str,
                    )
                    .map_err(error)?;
                }
                _ => return Err(error(unknown_variable(prefix, field))),
            }
        }
        Ok(config)
    }
}

/// The variables [`Config::from_env_vars`] reads, without their prefix.
const FIELDS: [&str; 14] = [
    "ALLOW_ORIGINS",
    "ALLOW_ORIGINS_FILE",
    "ALLOW_CREDENTIALS",
    "ALLOW_METHODS",
    "ALLOW_HEADERS",
    "EXPOSE_HEADERS",
    "MAX_AGE",
    "DANGEROUSLY_ALLOW_INSECURE_ORIGINS",
    "DANGEROUSLY_ALLOW_PUBLIC_SUFFIX_WILDCARDS",
    "PREFLIGHT_STATUS",
    "CROSS_ORIGIN_PROTECTION",
    "TIMING_ALLOW_ORIGIN",
    "WEBSOCKET_ORIGINS",
    "MODE",
];

/// The one of `choices` whose name (as `name` writes it, the same as in
/// files) is `value`.
fn choice<T: Copy>(value: &str, choices: &[T], name: fn(T) -> &'static str) -> Result<T, String> {
    choices
        .iter()
        .copied()
        .find(|choice| name(*choice) == value.trim())
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|choice| name(*choice)).collect();
            format!("{value:?} is not a choice: write {}", names.join(" or "))
        })
}

fn unknown_variable(prefix: &str, field: &str) -> String {
    match closest(field, FIELDS) {
        Some(known) => format!("no such setting; did you mean {prefix}{known}?"),
        None => format!(
            "no such setting; the settings are {}",
            FIELDS.map(|known| format!("{prefix}{known}")).join(", ")
        ),
    }
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|element| !element.is_empty())
        .map(str::to_owned)
        .collect()
}

fn boolean(value: &str) -> Result<bool, String> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(format!("{value:?} is not true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_for_misspelt_variables() {
        assert_eq!(
            unknown_variable("CORS_", "ALLOW_ORIGIN"),
            "no such setting; did you mean CORS_ALLOW_ORIGINS?"
        );
        assert!(
            unknown_variable("CORS_", "XYZZY")
                .starts_with("no such setting; the settings are CORS_ALLOW_ORIGINS")
        );
    }

    #[test]
    fn environment_values() {
        let config = Config::from_env_vars(
            "CORS_",
            [
                (
                    "CORS_ALLOW_ORIGINS",
                    " https://a.example , ,https://b.example",
                ),
                ("CORS_ALLOW_CREDENTIALS", "TRUE"),
                ("CORS_MAX_AGE", "600"),
                ("CORS_DANGEROUSLY_ALLOW_INSECURE_ORIGINS", "false"),
                ("HOME", "/root"),
            ],
        )
        .unwrap();
        assert_eq!(
            config.allow_origins,
            ["https://a.example", "https://b.example"]
        );
        assert!(config.allow_credentials);
        assert_eq!(config.max_age, Some(600));
        for (variable, value) in [
            ("CORS_ALLOW_CREDENTIALS", "yes"),
            ("CORS_MAX_AGE", "-1"),
            ("CORS_MAX_AGE", "ten"),
        ] {
            let error = Config::from_env_vars("CORS_", [(variable, value)]).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("environment variable {variable}: ")),
                "{error}"
            );
        }
    }

    /// The one diagnostic of an error, with its line and column.
    #[cfg(any(feature = "toml", feature = "json", feature = "yaml"))]
    fn only(error: &LoadError) -> (&Diagnostic, Option<(usize, usize)>) {
        let [diagnostic] = error.diagnostics() else {
            panic!("one diagnostic expected: {error}");
        };
        let place = diagnostic.location.as_ref().map(|at| (at.line, at.column));
        (diagnostic, place)
    }

    #[cfg(feature = "toml")]
    #[test]
    fn toml_errors_name_the_field_line_and_column() {
        let text = "allow_origins = [\"https://a.example\"]\nallow_credentials = \"yes\"\n";
        let error = Config::from_toml(text).unwrap_err();
        let (diagnostic, place) = only(&error);
        assert_eq!(diagnostic.field.as_deref(), Some("allow_credentials"));
        assert_eq!(place, Some((2, 21)));
        assert_eq!(
            error.to_string(),
            "<TOML>:2:21: allow_credentials: invalid type: string \"yes\", expected a boolean"
        );
        let error =
            Config::from_toml("allow_origins = []\n\nallow_credential = true\n").unwrap_err();
        let (diagnostic, place) = only(&error);
        assert_eq!(place, Some((3, 1)));
        assert_eq!(
            diagnostic.message,
            "unknown field `allow_credential`; did you mean `allow_credentials`?"
        );
        let error = Config::from_toml("allow_origins = [\"a\", 3]\n").unwrap_err();
        assert_eq!(only(&error).0.field.as_deref(), Some("allow_origins[1]"));
        let error = Config::from_toml("allow_origins = [\n").unwrap_err();
        let (diagnostic, place) = only(&error);
        assert_eq!(
            (diagnostic.code, diagnostic.field.as_deref()),
            ("syntax", None)
        );
        assert!(place.is_some());
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_errors_name_the_field_line_and_column() {
        let error = Config::from_json(
            "{\n  \"allow_origins\": [\"https://a.example\"],\n  \"max_age\": -1\n}",
        )
        .unwrap_err();
        let (diagnostic, place) = only(&error);
        assert_eq!(diagnostic.field.as_deref(), Some("max_age"));
        assert_eq!(place.map(|(line, _)| line), Some(3));
        assert!(
            diagnostic.message.contains("invalid value: integer `-1`"),
            "{}",
            diagnostic.message
        );
        let error = Config::from_json("{\"allow_origin\": []}").unwrap_err();
        assert!(
            error.to_string().contains("unknown field `allow_origin`"),
            "{error}"
        );
        assert!(Config::from_json("{} {}").is_err(), "trailing characters");
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn yaml_errors_name_the_field_line_and_column() {
        let text = "allow_origins:\n  - https://a.example\nallow_credentials: maybe\n";
        let error = Config::from_yaml(text).unwrap_err();
        let (diagnostic, place) = only(&error);
        assert_eq!(diagnostic.field.as_deref(), Some("allow_credentials"));
        assert_eq!(place.map(|(line, _)| line), Some(3));
        let config =
            Config::from_yaml("allow_origins: [\"https://a.example\"]\nmax_age: 600\n").unwrap();
        assert_eq!(config.max_age, Some(600));
    }

    #[test]
    fn formats_follow_extensions() {
        assert_eq!(
            Format::from_path(Path::new("cors.toml")),
            Some(Format::Toml)
        );
        assert_eq!(
            Format::from_path(Path::new("cors.JSON")),
            Some(Format::Json)
        );
        assert_eq!(Format::from_path(Path::new("a/b.yml")), Some(Format::Yaml));
        assert_eq!(Format::from_path(Path::new("cors.ini")), None);
        assert!(matches!(
            Config::from_file("/nonexistent/cors.ini"),
            Err(LoadError::UnknownFormat { .. })
        ));
        assert!(matches!(
            Config::from_file("/nonexistent/cors.toml"),
            Err(LoadError::Io { .. })
        ));
    }
}
