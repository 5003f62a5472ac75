//! `corsair check FILE`: validates a proxy file or a bare policy. Every
//! error with its field, line and column, rendered like a compiler
//! diagnostic, and warnings for legal but questionable choices. Exit 0 when
//! the file is valid (warnings allowed, unless `--deny-warnings`), 1 when
//! it is not.
//!
//! Line and column are known for TOML files, the proxy's format; for JSON
//! and YAML policies, syntax errors carry them and other problems name the
//! field only.

pub mod lint;
pub mod locate;

use std::fmt;
use std::io::IsTerminal as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use corsair::policy::Policy;
use corsair::{Config, Format, LoadError};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::policy_file::is_proxy_file;
use crate::proxy::{Overrides, ProxyFile};

/// The options of `corsair check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A proxy file (TOML with `[cors]`) or a bare policy (TOML, JSON or
    /// YAML).
    pub file: PathBuf,
    /// `human` or `json`.
    #[arg(long, value_enum, default_value_t = crate::cli::OutputFormat::Human)]
    pub format: crate::cli::OutputFormat,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The file cannot be used.
    Error,
    /// The file works, but a choice deserves a second look.
    Warning,
}

/// One error or warning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// A stable id for warnings (`wildcard-subdomains`); `syntax` or
    /// `invalid` for errors.
    pub code: &'static str,
    /// The field, as a path (`routes[0].cors.allow_origins[1]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The line (from 1), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The column (from 1), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What is wrong, and what to write instead.
    pub message: String,
    /// The bytes of the file the diagnostic points at.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

/// What kind of file was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// A proxy file.
    Proxy,
    /// A bare policy.
    Policy,
}

/// The result of checking a file.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The file.
    pub file: PathBuf,
    /// Proxy file or bare policy.
    pub kind: FileKind,
    /// Whether the file can be used (no error).
    pub valid: bool,
    /// Every error and warning, in the order of the file's fields.
    pub diagnostics: Vec<Diagnostic>,
    #[serde(skip)]
    text: String,
}

impl CheckReport {
    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Error)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.level == Level::Warning)
    }
}

/// Checks the file at `path`.
///
/// # Errors
/// When the file cannot be read at all.
pub fn check_file(path: &Path) -> anyhow::Result<CheckReport> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(check_text(path, text))
}

/// Checks `text`, the contents of the file at `path` (whose extension
/// names the format).
#[must_use]
pub fn check_text(path: &Path, text: String) -> CheckReport {
    let format = Format::from_path(path).unwrap_or(Format::Toml);
    let kind = if format == Format::Toml && is_proxy_file(&text) {
        FileKind::Proxy
    } else {
        FileKind::Policy
    };
    let mut diagnostics = Vec::new();
    match (kind, format) {
        (FileKind::Proxy, _) => match parse_toml::<ProxyFile>(&text) {
            Err(syntax) => diagnostics.push(*syntax),
            Ok(file) => {
                let warnings = lint::proxy_warnings(&file);
                let (_, problems) = file.checked(path, &Overrides::default());
                for problem in problems {
                    diagnostics.push(error_at(&text, Some(problem.field), problem.message));
                }
                diagnostics.extend(warnings.into_iter().map(|w| warning_at(&text, w)));
            }
        },
        (FileKind::Policy, Format::Toml) => match parse_toml::<Config>(&text) {
            Err(syntax) => diagnostics.push(*syntax),
            Ok(config) => check_policy(&text, config, &mut diagnostics),
        },
        (FileKind::Policy, format) => match Config::from_str_as(&text, format) {
            Err(error) => diagnostics.push(load_error(error)),
            Ok(config) => check_policy(&text, config, &mut diagnostics),
        },
    }
    // Errors first, then warnings, each in the file's order.
    diagnostics.sort_by_key(|d| (d.level == Level::Warning, d.span.as_ref().map(|s| s.start)));
    CheckReport {
        file: path.to_owned(),
        kind,
        valid: !diagnostics.iter().any(|d| d.level == Level::Error),
        diagnostics,
        text,
    }
}

fn check_policy(text: &str, config: Config, diagnostics: &mut Vec<Diagnostic>) {
    let production = lint::looks_like_production([&config]);
    let warnings = lint::policy_warnings("", &config, production);
    if let Err(error) = Policy::new(config) {
        for problem in error.problems() {
            diagnostics.push(error_at(text, Some(problem.field()), problem.to_string()));
        }
    }
    diagnostics.extend(warnings.into_iter().map(|w| warning_at(text, w)));
}

fn error_at(text: &str, field: Option<String>, message: String) -> Diagnostic {
    let span = field.as_deref().and_then(|f| locate::span_of(text, f));
    let (line, column) = span
        .as_ref()
        .map(|s| locate::line_and_column(text, s.start))
        .map_or((None, None), |(l, c)| (Some(l), Some(c)));
    Diagnostic {
        level: Level::Error,
        code: "invalid",
        field,
        line,
        column,
        message,
        span,
    }
}

fn warning_at(text: &str, warning: lint::Warning) -> Diagnostic {
    let mut diagnostic = error_at(text, Some(warning.field), warning.message);
    diagnostic.level = Level::Warning;
    diagnostic.code = warning.code;
    diagnostic
}

/// Deserializes TOML, turning the first error into a diagnostic with its
/// place and field.
fn parse_toml<T: DeserializeOwned>(text: &str) -> Result<T, Box<Diagnostic>> {
    let syntax = |error: &toml::de::Error, field: Option<String>| {
        let span = error.span();
        let (line, column) = span
            .as_ref()
            .map(|s| locate::line_and_column(text, s.start))
            .map_or((None, None), |(l, c)| (Some(l), Some(c)));
        Box::new(Diagnostic {
            level: Level::Error,
            code: "syntax",
            field,
            line,
            column,
            message: error.message().trim_end().to_owned(),
            span,
        })
    };
    let deserializer = toml::Deserializer::parse(text).map_err(|error| syntax(&error, None))?;
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let field = error.path().to_string();
        let field = (!field.is_empty() && field != ".").then_some(field);
        syntax(error.inner(), field)
    })
}

fn load_error(error: LoadError) -> Diagnostic {
    match error {
        LoadError::Syntax(syntax) => Diagnostic {
            level: Level::Error,
            code: "syntax",
            field: syntax.field.clone(),
            line: syntax.line,
            column: syntax.column,
            message: syntax.message.clone(),
            span: None,
        },
        other => Diagnostic {
            level: Level::Error,
            code: "syntax",
            field: None,
            line: None,
            column: None,
            message: other.to_string(),
            span: None,
        },
    }
}

/// A diagnostic as miette renders it.
#[derive(Debug)]
struct MietteDiagnostic<'a> {
    diagnostic: &'a Diagnostic,
    source: &'a NamedSource<String>,
}

impl fmt::Display for MietteDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.diagnostic.level == Level::Warning {
            write!(f, "[{}] ", self.diagnostic.code)?;
        }
        match &self.diagnostic.field {
            Some(field) => write!(f, "{field}: {}", self.diagnostic.message),
            None => f.write_str(&self.diagnostic.message),
        }
    }
}

impl std::error::Error for MietteDiagnostic<'_> {}

impl miette::Diagnostic for MietteDiagnostic<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.level {
            Level::Error => miette::Severity::Error,
            Level::Warning => miette::Severity::Warning,
        })
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.diagnostic.span.as_ref().map(|_| self.source as _)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diagnostic.span.clone()?;
        let label = match self.diagnostic.level {
            Level::Error => "here",
            Level::Warning => "this",
        };
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(label.to_owned()),
            span,
        ))))
    }
}

/// The report for people: one compiler-style diagnostic per problem, then
/// a summary line. `color` turns on ANSI colours.
#[must_use]
pub fn human(report: &CheckReport, color: bool) -> String {
    let source = NamedSource::new(report.file.display().to_string(), report.text.clone());
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for diagnostic in &report.diagnostics {
        let rendered = MietteDiagnostic {
            diagnostic,
            source: &source,
        };
        // miette names the file, line and column above the excerpt; a
        // diagnostic without one gets the place written out.
        if diagnostic.span.is_none() {
            out.push_str(&match (diagnostic.line, diagnostic.column) {
                (Some(line), Some(column)) => {
                    format!("{}:{line}:{column}:\n", report.file.display())
                }
                _ => format!("{}:\n", report.file.display()),
            });
        }
        if handler.render_report(&mut out, &rendered).is_err() {
            out.push_str(&rendered.to_string());
            out.push('\n');
        }
        out.push('\n');
    }
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    let kind = match report.kind {
        FileKind::Proxy => "proxy file",
        FileKind::Policy => "policy",
    };
    out.push_str(&if errors == 0 {
        format!(
            "{}: valid {kind}, {warnings} warning{}\n",
            report.file.display(),
            if warnings == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "{}: invalid {kind}: {errors} error{}, {warnings} warning{}\n",
            report.file.display(),
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        )
    });
    out
}

/// Runs `corsair check`: exit 0 valid, 1 invalid (or warnings with
/// `--deny-warnings`).
///
/// # Errors
/// When the file cannot be read.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let report = check_file(&args.file)?;
    match args.format {
        crate::cli::OutputFormat::Human => {
            print!("{}", human(&report, std::io::stdout().is_terminal()));
        }
        crate::cli::OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).context("cannot render JSON")?
        ),
    }
    let failed = !report.valid || (args.deny_warnings && report.warnings().next().is_some());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, text: &str) -> CheckReport {
        check_text(Path::new(name), text.to_owned())
    }

    #[test]
    fn every_error_points_at_its_value() {
        let report = check(
            "proxy.toml",
            r#"upstream = "http://127.0.0.1:3000"
[cors]
allow_origins = ["https://app.example.com/", "*"]
allow_credentials = true
"#,
        );
        assert!(!report.valid);
        assert_eq!(report.kind, FileKind::Proxy);
        let places: Vec<_> = report
            .errors()
            .map(|d| (d.field.clone().unwrap(), d.line, d.column))
            .collect();
        assert_eq!(
            places,
            [
                ("cors.allow_origins[0]".to_owned(), Some(3), Some(18)),
                ("cors.allow_origins[1]".to_owned(), Some(3), Some(46)),
            ]
        );
        let text = human(&report, false);
        assert!(text.contains("[proxy.toml:3:18]"), "{text}");
        assert!(text.contains("invalid proxy file: 2 errors"), "{text}");
    }

    #[test]
    fn syntax_errors_and_unknown_fields() {
        let report = check(
            "policy.toml",
            "allow_origins = [\"https://a.example\"]\nallow_credential = true\n",
        );
        assert!(!report.valid);
        assert_eq!(report.kind, FileKind::Policy);
        let error = report.errors().next().unwrap();
        assert_eq!((error.code, error.line), ("syntax", Some(2)));
        assert!(
            error.message.contains("allow_credential"),
            "{}",
            error.message
        );

        let report = check(
            "policy.json",
            "{\"allow_origins\": [\"https://a.example\"], \"max_age\": \"x\"}",
        );
        let error = report.errors().next().unwrap();
        assert_eq!(error.field.as_deref(), Some("max_age"));
        assert_eq!(error.line, Some(1));
    }

    #[test]
    fn warnings_do_not_invalidate() {
        let report = check(
            "policy.toml",
            "allow_origins = [\"https://*.example.com\"]\nallow_credentials = true\nmax_age = 86400\n",
        );
        assert!(report.valid, "{:?}", report.diagnostics);
        let codes: Vec<_> = report.warnings().map(|d| (d.code, d.line)).collect();
        assert_eq!(
            codes,
            [
                ("wildcard-subdomains", Some(1)),
                ("max-age-above-chromium-cap", Some(3))
            ]
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["valid"], true);
        assert_eq!(json["diagnostics"][0]["code"], "wildcard-subdomains");
    }
}
