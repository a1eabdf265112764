//! The daemon: builds the [`Context`], starts the engine and the HTTP server (API, UI,
//! health, metrics), and shuts down gracefully on SIGTERM/SIGINT — stop accepting HTTP
//! requests, let in-flight work finish within the grace period, flush, return.

use crate::read::webhook_payloads::ApiPayloads;
use crate::store::Outbox;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::engine::{Context, Engine};

/// A running gateway.
pub struct Running {
    pub ctx: Arc<Context>,
    pub addr: SocketAddr,
    engine: Engine,
    server: tokio::task::JoinHandle<()>,
    stop_http: tokio::sync::oneshot::Sender<()>,
}

/// The full HTTP router: API, health, metrics and (when enabled) the UI.
pub fn router(ctx: Arc<Context>, ui: Option<Router>) -> Router {
    let mut r = crate::api::router(ctx);
    if let Some(ui) = ui {
        r = r.merge(ui);
    }
    r
}

/// Starts everything; `ui` is the UI router to mount (built by the caller so that the library
/// does not force it on embedders).
pub async fn start(
    config: Config,
    ui: impl FnOnce(Arc<Context>) -> Option<Router>,
) -> Result<Running, String> {
    let listen = config.api.listen.clone();
    let ctx = Context::build(config).map_err(|e| e.to_string())?;
    ctx.store.set_outbox(Outbox {
        systems: ctx
            .config
            .systems
            .iter()
            .filter(|s| s.webhook.is_some())
            .map(|s| s.id.clone())
            .collect(),
        payloads: Arc::new(ApiPayloads),
    });
    let engine = Engine::start(ctx.clone()).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = router(ctx.clone(), ui(ctx.clone()));
    let (stop_http, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = crate::server::Limits::from_config(&ctx.config.api);
    let tls = match (&ctx.config.api.tls_certificate, &ctx.config.api.tls_key) {
        (Some(cert), Some(key)) => Some(std::sync::Arc::new(
            crate::tls::acceptor(cert, key).map_err(|e| format!("api.tls_certificate: {e}"))?,
        )),
        _ => None,
    };
    let grace = std::time::Duration::from_millis(ctx.config.engine.shutdown_grace_ms);
    let server = tokio::spawn(async move {
        let stop = async {
            // A dropped sender (the daemon gone) means stop as well.
            if stopped.await.is_err() {
                tracing::debug!("stop signal sender dropped");
            }
        };
        crate::server::serve(listener, app, limits, tls, stop, grace).await;
    });
    tracing::info!(%addr, max_connections = limits.max_connections, "smev-gateway listening");
    Ok(Running {
        ctx,
        addr,
        engine,
        server,
        stop_http,
    })
}

impl Running {
    /// Graceful shutdown.
    pub async fn shutdown(self) {
        tracing::info!("shutting down: no new HTTP requests, finishing in-flight work");
        if self.stop_http.send(()).is_err() {
            tracing::debug!("the HTTP server had already stopped");
        }
        self.engine.shutdown().await;
        match tokio::time::timeout(std::time::Duration::from_secs(5), self.server).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "the HTTP server task failed"),
            Err(_) => tracing::warn!("the HTTP server did not stop within 5 s"),
        }
        tracing::info!("stopped");
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        if let Err(e) = ctrl_c.await {
                            tracing::error!(error = %e, "cannot wait for Ctrl-C");
                        }
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    }
}

/// Caps glibc's malloc arenas at two per core (its default is eight). The CPU pool moves work
/// off the async workers with `block_in_place`, so over a day the process runs on many threads
/// in turn, and each thread that allocates may get an arena of its own whose freed pages stay
/// mapped: under the 10 000-request load benchmark that held the peak RSS about 35 MiB above
/// what the same run needs with few arenas. Two per core keeps allocation contention low (the
/// CPU work runs on at most one thread per core at a time). Call before the runtime starts.
pub fn limit_malloc_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = i32::try_from(2 * cores).unwrap_or(i32::MAX);
    // SAFETY: mallopt only changes a tuning parameter of the allocator; called before the
    // process starts its threads.
    let changed = unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) };
    if changed != 1 {
        tracing::debug!(arenas, "malloc arena limit not applied");
    }
}

/// Initializes logging from the configuration (text or JSON, tracing filter).
pub fn init_logging(cfg: &crate::config::LogConfig) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("SMEV_GATEWAY_LOG").unwrap_or_else(|_| EnvFilter::new(&cfg.level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let installed = if cfg.format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = installed {
        // Tests and embedders may have installed one already.
        eprintln!("logging: {e}");
    }
}
