//! The command line: `corsair <command> [options]`.

use clap::{Parser, Subcommand, ValueEnum};

/// Cross-Origin Resource Sharing done right: a CORS proxy for any service,
/// and a demo of credentialed cross-origin calls.
#[derive(Debug, Parser)]
#[command(name = "corsair", version, about, long_about = None)]
pub struct Cli {
    /// How log lines look: `pretty` for people, `json` for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty, help_heading = "Global options")]
    pub log_format: LogFormat,
    /// Which events to log, as a `tracing` filter (`info`,
    /// `corsair=debug,info`...). Defaults to `$RUST_LOG`, else `info`.
    #[arg(long, global = true, help_heading = "Global options")]
    pub log_level: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a demo: an API behind a credentialed CORS policy, a page on a
    /// second origin that calls it, and an attacker's page on a third.
    Demo(crate::demo::DemoArgs),
    /// Put a CORS policy in front of any HTTP service.
    Proxy(crate::proxy::ProxyArgs),
    /// Validate a proxy file or a policy: every error with its line and
    /// column, and warnings for questionable choices. Exit 0 valid, 1
    /// invalid.
    Check(crate::check::CheckArgs),
    /// Show what a browser would do with one request against the policy in
    /// a file, offline: exit 0 when it allows it, 1 when it blocks it.
    Explain(crate::explain::ExplainArgs),
    /// Play a browser against a live server: the preflight where Fetch
    /// requires one, then the request. Exit 0 allowed, 1 blocked, 2 could
    /// not connect.
    Probe(crate::probe::ProbeArgs),
    /// Scan a live API for misconfigured CORS. Exit 0 when no finding is
    /// above info, 1 when one is, 2 when the scan could not run.
    Audit(crate::audit::AuditArgs),
}

impl Command {
    /// Whether the command prints JSON (`--format json`, or SARIF for
    /// `audit`), so that an error is printed as a JSON object too.
    #[must_use]
    pub fn wants_json(&self) -> bool {
        match self {
            Command::Demo(_) | Command::Proxy(_) => false,
            Command::Check(args) => args.format == OutputFormat::Json,
            Command::Explain(args) => args.format == OutputFormat::Json,
            Command::Probe(args) => args.format == OutputFormat::Json,
            Command::Audit(args) => args.format != crate::audit::AuditFormat::Human,
        }
    }
}

/// How a command prints its result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people.
    #[default]
    Human,
    /// One JSON document on stdout, for scripts and CI.
    Json,
}

/// The format of log lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// An error as one line: its message, then each cause that the message
/// does not already say. Libraries often write their cause into their own
/// message and return it as `source()` too ("Address already in use (os
/// error 98): Address already in use (os error 98)"); this says it once.
#[must_use]
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "Address already in use");
        let error =
            anyhow::Error::new(io).context("cannot listen on 127.0.0.1:80: Address already in use");
        assert_eq!(
            error_line(&error),
            "cannot listen on 127.0.0.1:80: Address already in use"
        );
        let error = anyhow::anyhow!("refused").context("cannot connect");
        assert_eq!(error_line(&error), "cannot connect: refused");
    }
}
