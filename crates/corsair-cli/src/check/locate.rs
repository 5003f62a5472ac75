//! Where a field is in a TOML document: a path such as
//! `routes[1].cors.allow_origins[0]` to a byte range, so that diagnostics
//! point at the value.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// A step of a field path.
#[derive(Debug, PartialEq, Eq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `cors.allow_origins[2]` into `cors`, `allow_origins`, `2`.
fn steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(bracket) => (
                part.get(..bracket).unwrap_or(""),
                part.get(bracket..).unwrap_or(""),
            ),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        while let Some(open) = rest.strip_prefix('[') {
            let Some(close) = open.find(']') else { break };
            if let Ok(index) = open.get(..close).unwrap_or("").parse() {
                out.push(Step::Index(index));
            }
            rest = open.get(close + 1..).unwrap_or("");
        }
    }
    out
}

/// The byte range of the value at `path` in `text`, or of the nearest
/// enclosing value that exists (a missing field points at its table).
#[must_use]
pub fn span_of(text: &str, path: &str) -> Option<Range<usize>> {
    let document = DeTable::parse(text).ok()?;
    let mut span = None;
    let mut table: Option<&DeTable<'_>> = Some(document.get_ref());
    let mut array: Option<&[toml::Spanned<DeValue<'_>>]> = None;
    for step in steps(path) {
        let value = match step {
            Step::Key(key) => table.and_then(|table| {
                table
                    .iter()
                    .find(|(name, _)| name.get_ref().as_ref() == key)
                    .map(|(_, value)| value)
            }),
            Step::Index(index) => array.and_then(|items| items.get(index)),
        };
        let Some(value) = value else { break };
        span = Some(value.span());
        table = None;
        array = None;
        match value.get_ref() {
            DeValue::Table(inner) => table = Some(inner),
            DeValue::Array(items) => array = Some(items),
            _ => {}
        }
    }
    span
}

/// The line and column (from 1) of byte `offset` in `text`.
#[must_use]
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"upstream = "http://127.0.0.1:3000"

[cors]
allow_origins = ["https://app.example.com", "https://*.example.com"]
max_age = 86400

[[routes]]
path_prefix = "/public/"
[routes.cors]
allow_origins = ["*"]
"#;

    fn located(path: &str) -> (usize, usize, &'static str) {
        let span = span_of(FILE, path).unwrap();
        let (line, column) = line_and_column(FILE, span.start);
        (line, column, FILE.get(span).unwrap())
    }

    #[test]
    fn paths_point_at_values() {
        assert_eq!(
            located("cors.allow_origins[1]"),
            (4, 45, "\"https://*.example.com\"")
        );
        assert_eq!(located("cors.max_age"), (5, 11, "86400"));
        assert_eq!(
            located("routes[0].cors.allow_origins[0]"),
            (10, 18, "\"*\"")
        );
        assert_eq!(located("upstream").0, 1);
    }

    #[test]
    fn a_missing_field_points_at_its_table() {
        let span = span_of(FILE, "cors.allow_credentials").unwrap();
        assert_eq!(line_and_column(FILE, span.start).0, 3);
        assert_eq!(span_of("not toml [", "cors"), None);
    }
}
