//! The `mock-smev` command: runs the SMEV 3 simulator standalone until Ctrl-C.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use mock_smev::{MockConfig, MockSmev};

/// mock-smev — a local SMEV 3 (message-exchange 1.3) simulator: strict ЭП-ОВ/ЭП-СП and schema
/// checks, queues with Ack and redelivery, simulated providers and consumers, fault injection.
///
/// SOAP endpoint: POST http://ADDR/ws (also /smev/...); admin API (JSON): http://ADDR/admin/.
/// Without --config it runs the demo scenario (mock-smev/scenarios/demo.toml, compiled in).
///
/// Examples:
///   mock-smev                                            # demo scenario on 127.0.0.1:7500
///   mock-smev --config mock-smev/scenarios/flaky.toml    # SMEV that fails now and then
///   mock-smev --listen 127.0.0.1:0 --config my.toml      # any free port (printed on stdout)
///
/// Logs go to stderr (level: MOCK_SMEV_LOG, e.g. MOCK_SMEV_LOG=debug). See mock-smev/README.md.
#[derive(Debug, Parser)]
#[command(name = "mock-smev", version, verbatim_doc_comment)]
struct Args {
    /// Address to listen on (port 0: any free port). The bound address is printed on stdout as
    /// the first line: `mock-smev listening on HOST:PORT`.
    #[arg(long, default_value = mock_smev::DEFAULT_LISTEN, env = "MOCK_SMEV_LISTEN")]
    listen: SocketAddr,
    /// Scenario / configuration file (TOML); see mock-smev/config/example.toml.
    #[arg(long, env = "MOCK_SMEV_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MOCK_SMEV_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = match &args.config {
        Some(path) => MockConfig::from_file(path)?,
        None => MockConfig::demo(),
    };
    let handle = MockSmev::start(config, args.listen).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "mock-smev listening on {}", handle.addr())?;
        if let Some(ftp) = handle.ftp_addr() {
            writeln!(out, "mock-smev file storage on {ftp}")?;
        }
        out.flush()?;
    }
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
