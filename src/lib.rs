//! smev-gateway: a durable gateway between agency information systems and SMEV 3.
//!
//! Layers, each depending only on the ones listed before it:
//! - [`xml`], [`xsd`], [`dsig`], [`smev`]: the protocol layers, from the `smev-protocol` crate
//!   (XML and its canonical forms, the field trees of data kinds' schemas, GOST XMLDSig,
//!   message-exchange 1.3 and its transport), re-exported so the gateway and its tests name
//!   them as before;
//! - [`config`], [`calendar`], `tls`: configuration, dates, TLS on OpenSSL (webhooks' client,
//!   the optional TLS listener);
//! - [`domain`]: the records, their typed states and events, and the lifecycles that apply them;
//! - [`store`]: durable records on sled (one transaction per applied event);
//! - [`metrics`]: Prometheus metrics;
//! - [`engine`]: the workers (send, poll, Ack, respond, webhooks, expiry, retention);
//! - [`read`]: read models shared by the API and the UI (views, labels, downloads, webhook JSON);
//! - [`api`]: the HTTP JSON API, health, metrics endpoint;
//! - [`ui`]: the bundled web UI for staff.

// A discarded `Result` hides a failed write in a system whose promise is durability.
#![deny(clippy::let_underscore_must_use)]

pub mod api;
pub(crate) mod calendar;
pub mod config;
pub(crate) use smev_protocol::cpu;
pub mod daemon;
pub mod domain;
pub use smev_protocol::dsig;
pub mod engine;
pub mod metrics;
pub(crate) mod read;
pub(crate) mod server;
pub(crate) mod tls;
pub use smev_protocol::smev;
pub mod store;
pub mod ui;

/// The openssl CLI as an independent CMS implementation, shared with the integration tests.
#[cfg(test)]
#[path = "../tests/common/openssl_cli.rs"]
#[allow(dead_code)]
pub(crate) mod openssl_cli;
pub use smev_protocol::xml;
pub use smev_protocol::xsd;
