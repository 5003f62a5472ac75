//! The audit's reports: for people (each finding with its evidence, then a
//! summary table), JSON (`findings` array) and SARIF 2.1.0 for CI systems.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::findings::{Kind, Severity};
use super::scan::Report;

/// The report for people. Deterministic: the same answers give the same
/// text.
#[must_use]
pub fn human(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "corsair audit of {}", report.url);
    if !report.trusted.is_empty() {
        let _ = writeln!(out, "trusted origins: {}", report.trusted.join(", "));
    }
    let _ = write!(out, "{} requests sent", report.requests);
    if report.failed_requests > 0 {
        let _ = write!(out, ", {} failed", report.failed_requests);
    }
    out.push('\n');
    if report.trusted.is_empty() {
        let _ = writeln!(
            out,
            "no --trusted-origin: the look-alikes of your own origins (https://app.example.com.evil.com, \
             https://evilapp.example.com, http:// and other ports) were not tried; name the origins \
             that call this API with --trusted-origin to add them"
        );
    }
    if report.status >= 400 {
        let _ = writeln!(
            out,
            "{} answered {} without Origin: audit a URL the API serves, whose answers are its real ones",
            report.url, report.status
        );
    }
    for finding in &report.findings {
        out.push('\n');
        let _ = writeln!(
            out,
            "[{}] {}: {}",
            finding.severity.as_str().to_uppercase(),
            finding.kind.id(),
            finding.kind.title()
        );
        if let Some(origin) = &finding.origin {
            let _ = writeln!(out, "  origin: {origin}");
        }
        for line in &finding.evidence.request {
            let _ = writeln!(out, "  > {line}");
        }
        for line in &finding.evidence.response {
            let _ = writeln!(out, "  < {line}");
        }
        let _ = writeln!(out, "  why: {}", finding.why);
        let _ = writeln!(out, "  fix: {}", finding.fix);
    }
    out.push('\n');
    if report.findings.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            if report.status >= 400 {
                "No finding, from error answers only."
            } else {
                "No finding: the CORS answers look sound."
            }
        );
        return out;
    }
    let _ = writeln!(out, "{:<10} {:<34} origin", "severity", "finding");
    for finding in &report.findings {
        let _ = writeln!(
            out,
            "{:<10} {:<34} {}",
            finding.severity.as_str(),
            finding.kind.id(),
            finding.origin.as_deref().unwrap_or("-")
        );
    }
    let above_info = report
        .findings
        .iter()
        .filter(|finding| finding.severity > Severity::Info)
        .count();
    let _ = writeln!(
        out,
        "\n{} finding{}, {above_info} above info.",
        report.findings.len(),
        if report.findings.len() == 1 { "" } else { "s" }
    );
    out
}

/// The report as JSON: `url`, `trusted`, `requests`, `failed_requests`,
/// `status` (of the first request, a `GET` without `Origin`) and
/// `findings`, each with `kind`, `severity`, `origin`, `evidence`
/// (`request` and `response` lines), `why` and `fix`.
#[must_use]
pub fn json(report: &Report) -> Value {
    serde_json::to_value(report).unwrap_or_else(|error| json!({ "error": error.to_string() }))
}

/// The SARIF level of a severity.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The report as a SARIF 2.1.0 log: one rule per kind, one result per
/// finding, located at the URL scanned.
#[must_use]
pub fn sarif(report: &Report) -> Value {
    let rules: Vec<Value> = Kind::ALL
        .iter()
        .map(|kind| {
            json!({
                "id": kind.id(),
                "name": kind.id(),
                "shortDescription": { "text": kind.title() },
                "fullDescription": { "text": kind.description() },
                "help": { "text": kind.fix() },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            let rule_index = Kind::ALL.iter().position(|kind| *kind == finding.kind);
            json!({
                "ruleId": finding.kind.id(),
                "ruleIndex": rule_index,
                "level": level(finding.severity),
                "message": {
                    "text": format!("{}: {}. Fix: {}", finding.kind.title(), finding.why, finding.fix)
                },
                "locations": [{
                    "physicalLocation": { "artifactLocation": { "uri": report.url } }
                }],
                "properties": {
                    "severity": finding.severity.as_str(),
                    "origin": finding.origin,
                    "evidence": finding.evidence,
                },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "corsair audit",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/corsair-rs/corsair",
                    "rules": rules,
                }
            },
            "results": results,
        }]
    })
}
