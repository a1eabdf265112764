//! mock-smev
