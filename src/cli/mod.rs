//! Command-line interface (clap). Each subcommand lives in its own module; every failure ends
//! as one clear `error:` line and a non-zero exit code.

mod signature;
mod xml;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// SMEV 3 gateway for agency information systems.
#[derive(Debug, Parser)]
#[command(name = "smev-gateway", version, about)]
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
}

/// What a subcommand returns: `Ok(code)` or an error to print as one line.
pub type CmdResult = Result<ExitCode, String>;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Xml(c) => xml::run(c),
        Command::Sign(a) => signature::sign(a),
        Command::Verify(a) => signature::verify(a),
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
