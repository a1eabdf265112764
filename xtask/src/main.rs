//! `cargo xtask dev` and `cargo xtask test`: the README's two commands. Each first runs
//! `.ci/install-deps` (idempotent: it installs only the Debian packages that are missing, with
//! `sudo` when not root, and says so before it does), then replaces itself with the real command
//! — `cargo run --release -- dev …` or `cargo test --workspace …` — so that Ctrl-C, the exit
//! code and the output are the real command's own.
//!
//! It depends on nothing but the standard library, so it builds on a fresh machine with only
//! Rust installed, before any system library is there.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

const USAGE: &str =
    "usage: cargo xtask dev [ARGS…]    the gateway in dev mode (ARGS go to `smev-gateway dev`)
       cargo xtask test [ARGS…]   the whole test suite (ARGS go to `cargo test --workspace`)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let real: Vec<String> = match args.next().as_deref() {
        Some("dev") => ["run", "--release", "--", "dev"]
            .map(String::from)
            .into_iter()
            .chain(args)
            .collect(),
        Some("test") => ["test", "--workspace"]
            .map(String::from)
            .into_iter()
            .chain(args)
            .collect(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let root = repo();
    eprintln!("xtask: checking the system packages (.ci/install-deps) …");
    match Command::new(root.join(".ci/install-deps"))
        .current_dir(&root)
        .status()
    {
        Ok(s) if s.success() => {}
        Ok(s) => {
            eprintln!("xtask: .ci/install-deps failed ({s}); the packages it names are needed to build and test");
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("xtask: cannot run .ci/install-deps: {e}");
            return ExitCode::from(1);
        }
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(&real).current_dir(&root);
    eprintln!("xtask: cargo {}", real.join(" "));
    exec(cmd)
}

#[cfg(unix)]
fn exec(mut cmd: Command) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let e = cmd.exec();
    eprintln!("xtask: cannot start cargo: {e}");
    ExitCode::from(1)
}

#[cfg(not(unix))]
fn exec(mut cmd: Command) -> ExitCode {
    match cmd.status() {
        Ok(s) => ExitCode::from(s.code().unwrap_or(1) as u8),
        Err(e) => {
            eprintln!("xtask: cannot start cargo: {e}");
            ExitCode::from(1)
        }
    }
}
