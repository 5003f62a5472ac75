//! The one vocabulary for "this file is wrong": a [`Diagnostic`] says how
//! serious, which rule (`code`), which field, where, and what to write
//! instead. Files, the proxy's reload and `corsair check` all speak it.

use std::fmt;
use std::ops::Range;

/// How serious a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// The file cannot be used.
    Error,
    /// The file works, but a choice deserves a second look.
    Warning,
}

impl Severity {
    /// `error` or `warning`, as tools print it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Where in a document: line and column (both from 1, the column counted
/// in characters) and the bytes of the value or key concerned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Location {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in characters.
    pub column: usize,
    /// The bytes concerned (empty when only the place is known).
    pub span: Range<usize>,
}

impl Location {
    /// The location of the bytes `span` of `text`.
    #[must_use]
    pub fn of_span(text: &str, span: Range<usize>) -> Location {
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Location { line, column, span }
    }

    /// The location at `line` and `column` (from 1; a column of 0, which
    /// some parsers report at the start of a line, is read as 1).
    #[must_use]
    pub fn at(text: &str, line: usize, column: usize) -> Location {
        let line_start = text
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum::<usize>();
        let rest = text.get(line_start..).unwrap_or_default();
        let offset = line_start
            + rest
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(rest.len(), |(at, _)| at);
        Location {
            line,
            column: column.max(1),
            span: offset..offset,
        }
    }
}

/// One error or warning about a document.
///
/// `code` names the rule, for tools and for `--format json`:
///
/// | code | severity | meaning |
/// |---|---|---|
/// | `syntax` | error | the text is not TOML, JSON or YAML |
/// | `unknown-field` | error | a field no version of corsair reads (with the closest name) |
/// | `missing-field` | error | a required field is absent |
/// | `type` | error | a value of the wrong type or out of range |
/// | `invalid` | error | a value that reads but is refused (an unsafe policy, a bad URL) |
/// | others | warning | a legal but questionable choice (`corsair check` lists them) |
///
/// ```
/// use corsair::config::{Diagnostic, Severity};
///
/// let error = corsair::Config::from_toml("allow_origins = []\nallow_credential = true\n")
///     .unwrap_err();
/// let [diagnostic] = error.diagnostics() else { panic!("{error}") };
/// assert_eq!(diagnostic.severity, Severity::Error);
/// assert_eq!(diagnostic.code, "unknown-field");
/// assert_eq!(diagnostic.field.as_deref(), Some("allow_credential"));
/// assert_eq!(diagnostic.location.as_ref().map(|at| at.line), Some(2));
/// assert!(diagnostic.message.contains("did you mean `allow_credentials`?"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The rule: see the table above.
    pub code: &'static str,
    /// The field, as a path such as `routes[0].cors.allow_origins[2]`, or
    /// `None` for the document as a whole.
    pub field: Option<String>,
    /// Where, when known: always for TOML; for JSON and YAML, for syntax
    /// errors and the first error of a field.
    pub location: Option<Location>,
    /// What is wrong, and what to write instead.
    pub message: String,
}

impl Diagnostic {
    /// An error about `field` (a path; empty for the whole document), not
    /// yet located: [`Document::place`](super::Document::place) finds it.
    #[must_use]
    pub fn error(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Error, code, field.into(), message.into())
    }

    /// A warning about `field`, not yet located.
    #[must_use]
    pub fn warning(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic::new(Severity::Warning, code, field.into(), message.into())
    }

    fn new(severity: Severity, code: &'static str, field: String, message: String) -> Self {
        Diagnostic {
            severity,
            code,
            field: (!field.is_empty()).then_some(field),
            location: None,
            message,
        }
    }

    /// This diagnostic about a field inside `prefix` (`routes[0].cors`).
    #[must_use]
    pub fn within(mut self, prefix: &str) -> Self {
        if !prefix.is_empty() {
            self.field = Some(match self.field.take() {
                Some(field) if field.starts_with('[') => format!("{prefix}{field}"),
                Some(field) => format!("{prefix}.{field}"),
                None => prefix.to_owned(),
            });
        }
        self
    }

    /// Whether this is an error.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `line:column: field: message`, each part when known.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{}:{}: ", location.line, location.column)?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The word of `candidates` closest to `word`, when it is close enough to
/// be the one meant (at most a third of its letters differ, and at most 3).
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(candidate, word), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, counted in characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous
                .get(j)
                .map_or(usize::MAX, |d| d.saturating_add(usize::from(ca != *cb)));
            let deletion = previous.get(j + 1).map_or(usize::MAX, |d| d + 1);
            let insertion = current.last().map_or(usize::MAX, |d| d + 1);
            current.push(substitution.min(deletion).min(insertion));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters_from_one() {
        let text = "a = 1\nbé = \"x\"\n";
        let at = Location::of_span(text, 12..15);
        assert_eq!((at.line, at.column), (2, 6));
        let back = Location::at(text, 2, 6);
        assert_eq!(back.span, 12..12);
        assert_eq!(Location::at(text, 1, 0).span, 0..0);
        assert_eq!(Location::at(text, 9, 9).span.start, text.len());
    }

    #[test]
    fn suggestions_are_close_words_only() {
        let fields = ["allow_origins", "allow_credentials", "allow_headers"];
        assert_eq!(
            closest("allow_credential", fields),
            Some("allow_credentials")
        );
        assert_eq!(closest("alow_headers", fields), Some("allow_headers"));
        assert_eq!(closest("upstream", fields), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn fields_nest_under_a_prefix() {
        let d = Diagnostic::error("invalid", "allow_origins[0]", "no").within("routes[1].cors");
        assert_eq!(d.field.as_deref(), Some("routes[1].cors.allow_origins[0]"));
        assert_eq!(d.to_string(), "routes[1].cors.allow_origins[0]: no");
        let d = Diagnostic::error("invalid", "", "no").within("cors");
        assert_eq!(d.field.as_deref(), Some("cors"));
    }
}
