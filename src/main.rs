//! The `smev-gateway` command: the daemon and the tools around it.

#![deny(clippy::let_underscore_must_use)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
