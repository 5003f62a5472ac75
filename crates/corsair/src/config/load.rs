//! Reading a [`Config`] from a file or from the environment, with errors
//! that name the field and, where the format can, the line and column.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Config;

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

    fn feature(self) -> &'static str {
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

/// A document that does not describe a [`Config`]: where, which field, and
/// what is wrong. Its `Display` reads like a compiler diagnostic:
/// `cors.toml:3:21: allow_credentials: invalid type: string "yes", expected a boolean`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyntaxError {
    /// The format.
    pub format: Format,
    /// The file, when read from one.
    pub path: Option<PathBuf>,
    /// The field, as a path such as `allow_origins[2]`, when the error is
    /// about one.
    pub field: Option<String>,
    /// The line (from 1), when the format reports it.
    pub line: Option<usize>,
    /// The column (from 1), when the format reports it.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}", path.display())?,
            None => write!(f, "<{}>", self.format)?,
        }
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for SyntaxError {}

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
    /// The document does not describe a configuration.
    Syntax(SyntaxError),
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
            LoadError::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
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
            LoadError::Syntax(error) => error.fmt(f),
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

impl From<SyntaxError> for LoadError {
    fn from(error: SyntaxError) -> Self {
        LoadError::Syntax(error)
    }
}

impl Config {
    /// Reads a configuration from `path`, in the format its extension names.
    ///
    /// ```no_run
    /// # #[cfg(feature = "toml")] {
    /// let config = corsair::Config::from_file("cors.toml")?;
    /// let cors = corsair::Cors::new(config)?;
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`LoadError::Io`], [`LoadError::UnknownFormat`],
    /// [`LoadError::FormatNotEnabled`] or [`LoadError::Syntax`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, LoadError> {
        let path = path.as_ref();
        let format = Format::from_path(path).ok_or_else(|| LoadError::UnknownFormat {
            path: path.to_owned(),
        })?;
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_owned(),
            source,
        })?;
        Config::from_str_as(&text, format).map_err(|error| match error {
            LoadError::Syntax(mut syntax) => {
                syntax.path = Some(path.to_owned());
                LoadError::Syntax(syntax)
            }
            other => other,
        })
    }

    /// Reads a configuration from a document in `format`.
    ///
    /// # Errors
    /// [`LoadError::FormatNotEnabled`] or [`LoadError::Syntax`].
    #[cfg_attr(
        not(any(feature = "toml", feature = "json", feature = "yaml")),
        allow(unused_variables)
    )]
    pub fn from_str_as(text: &str, format: Format) -> Result<Config, LoadError> {
        match format {
            #[cfg(feature = "toml")]
            Format::Toml => Config::from_toml(text).map_err(LoadError::from),
            #[cfg(feature = "json")]
            Format::Json => Config::from_json(text).map_err(LoadError::from),
            #[cfg(feature = "yaml")]
            Format::Yaml => Config::from_yaml(text).map_err(LoadError::from),
            #[allow(unreachable_patterns)]
            format => Err(LoadError::FormatNotEnabled {
                format,
                feature: format.feature(),
            }),
        }
    }

    /// Reads a configuration from a TOML document. Unknown fields are errors.
    ///
    /// ```
    /// let error = corsair::Config::from_toml("allow_origins = [\"https://app.example.com\"]\nallow_credential = true\n")
    ///     .unwrap_err();
    /// assert_eq!(error.line, Some(2));
    /// assert!(error.to_string().contains("unknown field `allow_credential`"));
    /// ```
    ///
    /// # Errors
    /// A [`SyntaxError`] with the field, line and column.
    #[cfg(feature = "toml")]
    pub fn from_toml(text: &str) -> Result<Config, SyntaxError> {
        let located = |error: &toml::de::Error| {
            let (line, column) = error
                .span()
                .map_or((None, None), |span| line_and_column(text, span.start));
            (line, column, error.message().to_owned())
        };
        let deserializer = toml::Deserializer::parse(text).map_err(|error| {
            let (line, column, message) = located(&error);
            SyntaxError {
                format: Format::Toml,
                path: None,
                field: None,
                line,
                column,
                message,
            }
        })?;
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let field = field_of(error.path());
            let (line, column, message) = located(error.inner());
            SyntaxError {
                format: Format::Toml,
                path: None,
                field,
                line,
                column,
                message,
            }
        })
    }

    /// Reads a configuration from a JSON document. Unknown fields are errors.
    ///
    /// # Errors
    /// A [`SyntaxError`] with the field, line and column.
    #[cfg(feature = "json")]
    pub fn from_json(text: &str) -> Result<Config, SyntaxError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let config: Config =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
                let field = field_of(error.path());
                let inner = error.into_inner();
                json_error(field, &inner)
            })?;
        deserializer
            .end()
            .map_err(|error| json_error(None, &error))?;
        Ok(config)
    }

    /// Reads a configuration from a YAML document. Unknown fields are errors.
    ///
    /// # Errors
    /// A [`SyntaxError`] with the field, line and column.
    #[cfg(feature = "yaml")]
    pub fn from_yaml(text: &str) -> Result<Config, SyntaxError> {
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let field = field_of(error.path());
            let inner = error.into_inner();
            let location = inner.location();
            SyntaxError {
                format: Format::Yaml,
                path: None,
                field,
                line: location.as_ref().map(|location| location.line()),
                column: location.as_ref().map(|location| location.column()),
                message: strip_location(&inner.to_string()),
            }
        })
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
                _ => return Err(error(unknown_variable(prefix, field))),
            }
        }
        Ok(config)
    }
}

/// The variables [`Config::from_env_vars`] reads, without their prefix.
const FIELDS: [&str; 8] = [
    "ALLOW_ORIGINS",
    "ALLOW_CREDENTIALS",
    "ALLOW_METHODS",
    "ALLOW_HEADERS",
    "EXPOSE_HEADERS",
    "MAX_AGE",
    "DANGEROUSLY_ALLOW_INSECURE_ORIGINS",
    "DANGEROUSLY_ALLOW_PUBLIC_SUFFIX_WILDCARDS",
];

fn unknown_variable(prefix: &str, field: &str) -> String {
    let closest = FIELDS
        .iter()
        .min_by_key(|known| edit_distance(known, field))
        .filter(|known| edit_distance(known, field) <= 3);
    match closest {
        Some(known) => format!("no such setting; did you mean {prefix}{known}?"),
        None => format!(
            "no such setting; the settings are {}",
            FIELDS.map(|known| format!("{prefix}{known}")).join(", ")
        ),
    }
}

/// Levenshtein distance, for suggesting a misspelt variable's name.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous
                .get(j)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(usize::from(ca != *cb));
            let deletion = previous
                .get(j + 1)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let insertion = current
                .last()
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            current.push(substitution.min(deletion).min(insertion));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
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

/// The field a serde path names, or `None` for the document itself.
#[cfg(any(feature = "toml", feature = "json", feature = "yaml"))]
fn field_of(path: &serde_path_to_error::Path) -> Option<String> {
    let path = path.to_string();
    (path != ".").then_some(path)
}

/// The 1-based line and column of a byte offset.
#[cfg(feature = "toml")]
fn line_and_column(text: &str, offset: usize) -> (Option<usize>, Option<usize>) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.chars().count(), |newline| {
            before
                .get(newline + 1..)
                .unwrap_or_default()
                .chars()
                .count()
        })
        + 1;
    (Some(line), Some(column))
}

#[cfg(feature = "json")]
fn json_error(field: Option<String>, error: &serde_json::Error) -> SyntaxError {
    let located = error.line() > 0;
    SyntaxError {
        format: Format::Json,
        path: None,
        field,
        line: located.then_some(error.line()),
        column: located.then_some(error.column()),
        message: strip_location(&error.to_string()),
    }
}

/// serde_json and YAML end their messages with " at line L column C", which
/// [`SyntaxError`] already carries.
#[cfg(any(feature = "json", feature = "yaml"))]
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message.get(..at).unwrap_or(message).to_owned(),
        None => message.to_owned(),
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
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
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

    #[cfg(feature = "toml")]
    #[test]
    fn toml_errors_name_the_field_line_and_column() {
        let text = "allow_origins = [\"https://a.example\"]\nallow_credentials = \"yes\"\n";
        let error = Config::from_toml(text).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("allow_credentials"));
        assert_eq!((error.line, error.column), (Some(2), Some(21)));
        assert_eq!(
            error.to_string(),
            "<TOML>:2:21: allow_credentials: invalid type: string \"yes\", expected a boolean"
        );
        let error =
            Config::from_toml("allow_origins = []\n\nallow_credential = true\n").unwrap_err();
        assert_eq!((error.line, error.column), (Some(3), Some(1)));
        assert!(
            error
                .message
                .starts_with("unknown field `allow_credential`, expected one of"),
            "{error}"
        );
        let error = Config::from_toml("allow_origins = [\"a\", 3]\n").unwrap_err();
        assert_eq!(error.field.as_deref(), Some("allow_origins[1]"));
        let error = Config::from_toml("allow_origins = [\n").unwrap_err();
        assert_eq!(error.field, None);
        assert!(error.line.is_some());
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_errors_name_the_field_line_and_column() {
        let error = Config::from_json(
            "{\n  \"allow_origins\": [\"https://a.example\"],\n  \"max_age\": -1\n}",
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("max_age"));
        assert_eq!(error.line, Some(3));
        assert!(
            error.message.contains("invalid value: integer `-1`"),
            "{}",
            error.message
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
        assert_eq!(error.field.as_deref(), Some("allow_credentials"));
        assert_eq!(error.line, Some(3));
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
