//! `smev-gateway run --config FILE`: the production daemon.

use std::path::Path;
use std::process::ExitCode;

use smev_gateway::config::Config;
use smev_gateway::daemon;

use super::CmdResult;

pub fn run(config: &Path) -> CmdResult {
    let cfg = Config::load(config).map_err(|e| e.to_string())?;
    daemon::init_logging(&cfg.log);
    daemon::limit_malloc_arenas();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let running = daemon::start(cfg, smev_gateway::ui::router).await?;
        println!("smev-gateway listening on http://{}", running.addr);
        daemon::shutdown_signal().await;
        running.shutdown().await;
        Ok::<_, String>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
