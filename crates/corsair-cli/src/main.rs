//! The `corsair` command. Everything lives in the `corsair_cli` library so
//! that tests can drive it in-process; this file only parses the command
//! line, sets up logging and turns errors into one line (and, under
//! `--format json`, a JSON object `{"error": ...}` on stdout) and exit
//! status 2.

use std::process::ExitCode;

use clap::Parser;
use corsair_cli::cli::{Cli, Command};
use corsair_cli::{audit, check, demo, explain, logging, probe, proxy};

/// jemalloc rather than the system allocator: the proxy allocates and frees
/// per-connection buffers on several threads, and glibc's arenas keep what a
/// burst of connections freed; jemalloc, with the background purging set in
/// `.cargo/config.toml`, gives it back to the system (see
/// `tests/proxy_faults.rs`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = logging::init(cli.log_format, cli.log_level.as_deref()) {
        eprintln!("corsair: {error:#}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("corsair: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let json = cli.command.wants_json();
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Proxy(args) => proxy::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Check(args) => check::run(&args),
            Command::Explain(args) => explain::run(args).await,
            Command::Probe(args) => probe::run(args).await,
            Command::Audit(args) => audit::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            // Exit status 2 for every usage, file or network error; 1 keeps
            // its meaning of a verdict (blocked, findings, invalid).
            let line = corsair_cli::cli::error_line(&error);
            eprintln!("corsair: {line}");
            if json {
                println!("{}", serde_json::json!({ "error": line }));
            }
            ExitCode::from(2)
        }
    }
}
