//! `corsair demo` (placeholder until the demo lands).

/// The demo's options.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

/// Runs the demo until Ctrl-C.
///
/// # Errors
/// Always, until the demo lands.
pub async fn run(_args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("the demo is not built yet")
}
