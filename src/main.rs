//! The `smev-gateway` command: the daemon and the tools around it.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
