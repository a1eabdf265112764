//! Command-line interface (clap). Each subcommand lives in its own module; every failure ends
//! as one clear `error:` line and a non-zero exit code.

mod admin;
mod dev;
mod dev_kinds;
mod envelope;
mod kinds;
mod serve;
mod signature;
mod xml;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// SMEV 3 gateway for agency information systems.
#[derive(Debug, Parser)]
#[command(name = "smev-gateway", version = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("SMEV_GATEWAY_GIT_HASH"), ")"), about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// XML tools: exclusive canonicalization and the SMEV transform.
    #[command(subcommand)]
    Xml(xml::XmlCommand),
    /// Sign the element with the given Id (GOST XMLDSig, SMEV profile); writes the signed
    /// document to stdout.
    Sign(signature::SignArgs),
    /// Check every signature of a document and explain failures; exit code 0 only if all verify.
    Verify(signature::VerifyArgs),
    /// Try it: the gateway with example keys, the built-in mock SMEV, demo cases, UI on
    /// localhost. Prints the API token and the UI users. Test keys only — never in production.
    Dev(dev::DevArgs),
    /// Run the built-in mock SMEV alone (same as the mock-smev binary).
    MockSmev {
        #[arg(long, default_value = "127.0.0.1:7500")]
        listen: std::net::SocketAddr,
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
    /// Run the gateway daemon with a configuration file.
    Run {
        #[arg(long)]
        config: std::path::PathBuf,
    },
    /// Validate a configuration: keys, certificates, schemas, reachability of SMEV.
    CheckConfig {
        file: std::path::PathBuf,
        /// Skip the network reachability checks.
        #[arg(long)]
        offline: bool,
    },
    /// Certificate tools.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Print the argon2 hash of a UI password (argument or stdin) for the configuration.
    HashPassword { password: Option<String> },
    /// Print the SHA-256 of an API token (argument or stdin) for the configuration.
    HashToken { token: Option<String> },
    /// Build signed SMEV envelopes by hand.
    #[command(subcommand)]
    Envelope(envelope::EnvelopeCommand),
    /// Data kinds: import a VS package, show what the gateway reads from a kind's schema.
    #[command(subcommand)]
    Kinds(kinds::KindsCommand),
}

#[derive(Debug, Subcommand)]
enum CertCommand {
    /// Subject, ОГРН/ИНН/СНИЛС, validity and algorithm of a certificate (PEM or DER).
    Info { file: std::path::PathBuf },
}

/// What a subcommand returns: `Ok(code)` or an error to print as one line.
pub type CmdResult = Result<ExitCode, String>;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Xml(c) => xml::run(c),
        Command::Sign(a) => signature::sign(a),
        Command::Verify(a) => signature::verify(a),
        Command::Run { config } => serve::run(&config),
        Command::Dev(a) => dev::run(a),
        Command::MockSmev { listen, config } => dev::mock(listen, config),
        Command::CheckConfig { file, offline } => admin::check_config(&file, offline),
        Command::Cert(CertCommand::Info { file }) => admin::cert_info(&file),
        Command::HashPassword { password } => admin::hash_password(password),
        Command::HashToken { token } => admin::hash_token(token),
        Command::Envelope(c) => envelope::run(c),
        Command::Kinds(c) => kinds::run(c),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Reads a file for a command, with the path in the error.
pub fn read_input(path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Writes bytes to stdout.
pub fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|_| out.flush())
        .map_err(|e| format!("cannot write output: {e}"))
}
