//! `corsair proxy` (placeholder until the proxy lands).

/// The proxy's options.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {}

/// Runs the proxy until SIGTERM or SIGINT.
///
/// # Errors
/// Always, until the proxy lands.
pub async fn run(_args: ProxyArgs) -> anyhow::Result<()> {
    anyhow::bail!("the proxy is not built yet")
}
