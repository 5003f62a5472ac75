//! `corsair check FILE`: validates a proxy file or a bare policy. Every
//! error with its field, line and column, rendered like a compiler
//! diagnostic, and warnings for legal but questionable choices. Exit 0 when
//! the file is valid (warnings allowed, unless `--deny-warnings`), 1 when
//! it is not.
//!
//! Line and column are known for TOML files, the proxy's format; for JSON
//! and YAML policies, syntax errors carry them and other problems name the
//! field only.

use std::fmt;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use corsair::config::{Diagnostic, Document, Severity};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;

use crate::policy_file::{self, FileKind, PolicyFile};

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

/// The result of checking a file.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The file.
    pub file: PathBuf,
    /// Proxy file or bare policy.
    pub kind: FileKind,
    /// Whether the file can be used (no error).
    pub valid: bool,
    /// Whether the check passes: valid, and without warnings when they are
    /// denied (`--deny-warnings`).
    pub passed: bool,
    /// Every error, then every warning, each in the order of the file.
    #[serde(serialize_with = "diagnostics_json")]
    pub diagnostics: Vec<Diagnostic>,
    #[serde(skip)]
    text: String,
}

impl CheckReport {
    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    /// This report with its warnings denied: it fails when it has any.
    #[must_use]
    pub fn deny_warnings(mut self) -> Self {
        self.passed = self.valid && self.warnings().next().is_none();
        self
    }
}

/// Each diagnostic as `{level, code, field, line, column, message}`, every
/// key always present (`null` when unknown).
fn diagnostics_json<S: serde::Serializer>(
    diagnostics: &[Diagnostic],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Json<'a> {
        level: &'static str,
        code: &'static str,
        field: Option<&'a str>,
        line: Option<usize>,
        column: Option<usize>,
        message: &'a str,
    }
    serializer.collect_seq(diagnostics.iter().map(|d| Json {
        level: d.severity.as_str(),
        code: d.code,
        field: d.field.as_deref(),
        line: d.location.as_ref().map(|at| at.line),
        column: d.location.as_ref().map(|at| at.column),
        message: &d.message,
    }))
}

/// Checks the file at `path`.
///
/// # Errors
/// When the file cannot be read at all.
pub fn check_file(path: &Path) -> anyhow::Result<CheckReport> {
    Ok(check_document(policy_file::read(path)?))
}

/// Checks `text`, the contents of the file at `path` (whose extension
/// names the format).
#[must_use]
pub fn check_text(path: &Path, text: String) -> CheckReport {
    check_document(Document::new(text, policy_file::format_of(path)).named(path))
}

fn check_document(document: Document) -> CheckReport {
    let (kind, mut diagnostics) = match PolicyFile::check(&document) {
        Ok((kind, _, diagnostics)) => (kind, diagnostics),
        Err(error) => (
            FileKind::of(&document),
            vec![Diagnostic::error("syntax", "", error.to_string())],
        ),
    };
    // Errors first, then warnings, each (stably) in the file's order.
    diagnostics.sort_by_key(|d| !d.is_error());
    let valid = !diagnostics.iter().any(Diagnostic::is_error);
    CheckReport {
        file: document.path().map(Path::to_owned).unwrap_or_default(),
        kind,
        valid,
        passed: valid,
        diagnostics,
        text: document.text().to_owned(),
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
        if !self.diagnostic.is_error() {
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
        Some(match self.diagnostic.severity {
            Severity::Warning => miette::Severity::Warning,
            _ => miette::Severity::Error,
        })
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.diagnostic.location.as_ref().map(|_| self.source as _)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diagnostic.location.as_ref()?.span.clone();
        let label = if self.diagnostic.is_error() {
            "here"
        } else {
            "this"
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
    // Lines break at spaces only: a value such as "/v2/" or a URL is never
    // cut in two, even when it is longer than a line.
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_break_words(false)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace);
    let mut out = String::new();
    for diagnostic in &report.diagnostics {
        let rendered = MietteDiagnostic {
            diagnostic,
            source: &source,
        };
        // miette names the file, line and column above the excerpt; a
        // diagnostic without a place gets the file written out.
        if diagnostic.location.is_none() {
            out.push_str(&format!("{}:\n", report.file.display()));
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
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let file = report.file.display();
    out.push_str(&if errors > 0 {
        format!(
            "{file}: invalid {kind}: {}, {}\n",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    } else if !report.passed {
        format!(
            "{file}: invalid {kind}: warnings denied, {}\n",
            plural(warnings, "warning")
        )
    } else {
        format!("{file}: valid {kind}, {}\n", plural(warnings, "warning"))
    });
    out
}

/// Runs `corsair check`: exit 0 when the check passes, 1 when the file is
/// invalid (or has warnings, with `--deny-warnings`).
///
/// # Errors
/// When the file cannot be read.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let mut report = check_file(&args.file)?;
    if args.deny_warnings {
        report = report.deny_warnings();
    }
    match args.format {
        crate::cli::OutputFormat::Human => {
            print!("{}", human(&report, std::io::stdout().is_terminal()));
        }
        crate::cli::OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).context("cannot render JSON")?
        ),
    }
    Ok(if !report.passed {
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
            .map(|d| {
                let at = d.location.as_ref().unwrap();
                (d.field.clone().unwrap(), Some(at.line), Some(at.column))
            })
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
        assert_eq!(
            (error.code, error.location.as_ref().map(|at| at.line)),
            ("unknown-field", Some(2))
        );
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
        assert_eq!(error.location.as_ref().map(|at| at.line), Some(1));
    }

    #[test]
    fn wrapped_lines_never_cut_a_value() {
        // The warning's sentence is longer than a line; where it wraps, it
        // wraps at a space, never inside "/v2/" (issue 15) or a long value.
        for prefix in ["/v2", "/a", "/api/v2/customers", PREFIX] {
            let report = check(
                "proxy.toml",
                &format!(
                    "upstream = \"http://127.0.0.1:3000\"\n[cors]\nallow_origins = [\"https://app.example.com\"]\n\
                     [[routes]]\npath_prefix = \"{prefix}\"\n[routes.cors]\nallow_origins = [\"https://app.example.com\"]\n"
                ),
            );
            let text = human(&report, false);
            assert!(text.contains(&format!("\"{prefix}/\"")), "{text}");
        }
    }

    const PREFIX: &str = "/v2/segment0/segment1/segment2/segment3/segment4/segment5/segment6/segment7/segment8/segment9";

    #[test]
    fn warnings_do_not_invalidate() {
        let report = check(
            "policy.toml",
            "allow_origins = [\"https://*.example.com\"]\nallow_credentials = true\nmax_age = 86400\n",
        );
        assert!(report.valid, "{:?}", report.diagnostics);
        let codes: Vec<_> = report
            .warnings()
            .map(|d| (d.code, d.location.as_ref().map(|at| at.line)))
            .collect();
        assert_eq!(
            codes,
            [
                ("wildcard-subdomains", Some(1)),
                ("credentials-without-cross-origin-protection", Some(2)),
                ("max-age-above-chromium-cap", Some(3)),
            ]
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["valid"], true);
        assert_eq!(json["diagnostics"][0]["code"], "wildcard-subdomains");
    }
}
