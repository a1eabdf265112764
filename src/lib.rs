//! smev-gateway: a durable gateway between agency information systems and SMEV 3.
//!
//! Layers, each depending only on the ones above it:
//! `xml` (parsing, exclusive c14n, the SMEV transform) → `dsig` (GOST XMLDSig sign/verify).

pub mod dsig;
pub mod smev;
pub mod xml;
