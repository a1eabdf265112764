//! The bundled web UI for agency staff (in Russian), served under `/ui/`.

pub mod auth;

use std::sync::Arc;

use axum::Router;

use crate::engine::Context;

/// The UI router (mounted at `/ui`), or `None` when the UI is disabled.
pub fn router(ctx: Arc<Context>) -> Option<Router> {
    if !ctx.config.ui.enabled {
        return None;
    }
    None
}
