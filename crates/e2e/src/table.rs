//! Markdown tables, for the reports the tests print.

use std::fmt::Write as _;

/// A Markdown table with columns padded to their widest cell: one line of
/// headings, a rule, and one line per row (a row shorter than the
/// headings gets empty cells). `|` in a cell is escaped.
///
/// ```
/// let table = corsair_e2e::markdown_table(
///     &["engine", "sent"],
///     &[vec!["Chromium".to_owned(), "lax, strict".to_owned()]],
/// );
/// assert_eq!(
///     table,
///     "| engine   | sent        |\n| -------- | ----------- |\n| Chromium | lax, strict |\n"
/// );
/// ```
pub fn markdown_table(headings: &[&str], rows: &[Vec<String>]) -> String {
    let escape = |cell: &str| cell.replace('|', "\\|");
    let head: Vec<String> = headings.iter().map(|heading| escape(heading)).collect();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            (0..head.len())
                .map(|i| row.get(i).map(|cell| escape(cell)).unwrap_or_default())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = head.iter().map(|cell| cell.chars().count()).collect();
    for row in &body {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (cell, width) in cells.iter().zip(&widths) {
            let pad = width.saturating_sub(cell.chars().count());
            let _infallible = write!(text, "| {cell}{} ", " ".repeat(pad));
        }
        text.push_str("|\n");
        text
    };
    let mut text = line(&head);
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    text.push_str(&line(&rule));
    for row in &body {
        text.push_str(&line(row));
    }
    text
}
