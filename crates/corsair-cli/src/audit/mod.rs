//! `corsair audit`: finds misconfigured CORS on a live API.
//!
//! It sends the API the origins a careless check lets through (any origin,
//! `null`, look-alikes of the trusted origins and of the API's own domain,
//! `http://` downgrades, other ports, third-party hosting domains, special
//! characters, CR/LF) and a few preflights, then judges the answers rather
//! than mere reflection: credentials, `Vary`, malformed values, preflights
//! that allow anything, private-network grants, ineffective settings. Each
//! [`Finding`] has a stable [`Kind`] id, a [`Severity`], the exchange as
//! evidence, why it matters and the fix.
//!
//! The scan is bounded: one request per origin, a few preflights, a rate
//! cap and a timeout per request; it follows no links and no redirects.

pub mod findings;
pub mod origins;
pub mod report;
pub mod scan;

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

pub use findings::{Evidence, Finding, Kind, Severity};
pub use scan::{AuditError, AuditOptions, Report, scan, scan_with_progress};

/// The report formats of `corsair audit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    /// For people, with a progress bar on a terminal.
    #[default]
    Human,
    /// One JSON object with a `findings` array.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

/// The options of `corsair audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The URL to scan (only this URL: no link is followed).
    pub url: String,
    /// An origin the API is meant to trust; repeat for more. Look-alikes of
    /// each are tried.
    #[arg(long = "trusted-origin", value_name = "ORIGIN")]
    pub trusted_origins: Vec<String>,
    /// `human`, `json` or `sarif`.
    #[arg(long, value_enum, default_value_t = AuditFormat::Human)]
    pub format: AuditFormat,
    /// The most requests per second.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// How long each request may take.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub timeout: Duration,
}

/// Runs `corsair audit`: exit 0 when no finding is above `info`, 1 when
/// one is, 2 when the scan could not run.
///
/// # Errors
/// When the options are wrong, the scan cannot run or the report cannot be
/// written (the command then exits 2).
pub async fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        anyhow::bail!("--rate must be a positive number of requests per second");
    }
    let options = AuditOptions {
        trusted: args.trusted_origins,
        timeout: args.timeout,
        rate: args.rate,
        ..AuditOptions::default()
    };
    let bar = if args.format == AuditFormat::Human && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} requests {msg}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let result = scan_with_progress(&args.url, &options, |done, planned| {
        bar.set_length(planned as u64);
        bar.set_position(done as u64);
    })
    .await;
    bar.finish_and_clear();
    let report = match result {
        Ok(report) => report,
        Err(error) => anyhow::bail!("audit of {} could not run: {error}", args.url),
    };
    match args.format {
        AuditFormat::Human => print!("{}", report::human(&report)),
        AuditFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report::json(&report)).context("cannot render JSON")?
        ),
        AuditFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&report::sarif(&report)).context("cannot render SARIF")?
        ),
    }
    Ok(
        if report.worst().is_some_and(|worst| worst > Severity::Info) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}
