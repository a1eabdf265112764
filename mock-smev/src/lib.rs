//! mock-smev: a local SMEV 3 (message-exchange 1.3) that behaves like the real one — strict about
//! signatures and schemas, asynchronous, redelivering what is not acknowledged, and failing on
//! demand — so that the gateway is tested against the behaviour it meets in production.
//!
//! Start it with [`MockSmev::start`] (or the `mock-smev` binary); configure it with
//! [`MockConfig`] (TOML, see `mock-smev/README.md`); drive it through the admin API under
//! `/admin/` or in-process through [`MockHandle::simulator`].
//!
//! It stands on `smev-protocol` with its `smev-side` feature (SMEV's own answers and the parsing
//! of calls made to it); the gateway binary links this library for `dev` and `mock-smev`.

pub mod admin;
pub mod checks;
pub mod config;
pub mod faults;
pub mod file_storage;
pub mod identity;
pub mod queue;
pub mod resources;
pub mod scenario;
pub mod server;
pub mod simulator;

pub use config::MockConfig;
pub use faults::{FaultSpec, Operation};
pub use server::{MockHandle, MockSmev};
pub use simulator::{InjectRequest, Simulator};

/// The default listen address (the port of SMEV's test circuit).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7500";
