//! smev-protocol: the SMEV 3 protocol layers that both the gateway and mock-smev stand on.
//!
//! Layers, each depending only on the ones listed before it:
//! - [`cpu`]: the bounded pool that CPU-heavy work on peer bytes runs on;
//! - [`xml`]: parsing, exclusive c14n, the SMEV transform;
//! - [`xsd`]: the XML Schema of a data kind as a tree of fields (VS package import, forms,
//!   generated answers);
//! - [`dsig`]: GOST XMLDSig sign/verify and the signature doctor;
//! - [`smev`]: message-exchange 1.3 (messages, envelopes, faults, MTOM, schemas, transport).
//!
//! What only SMEV itself sends or receives (its answers, the parsing of calls made to it) sits
//! behind the `smev-side` feature, which mock-smev enables.

#![deny(clippy::let_underscore_must_use)]

pub mod cpu;
pub mod dsig;
pub mod smev;
pub mod xml;
pub mod xsd;
