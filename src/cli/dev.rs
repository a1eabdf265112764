//! `smev-gateway dev`: the README's first command. Starts the gateway with the example keys,
//! a data directory under `./data/dev` (or a temporary one with `--ephemeral`), the built-in
//! mock SMEV running the demo scenario, an API token and UI users printed at start-up, and a few
//! demo cases so the UI is not empty. Ctrl-C stops both cleanly.
//!
//! Everything it needs is compiled into the binary (keys, schemas, the configuration template),
//! so it works from any directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use smev_gateway::config::{Config, Role, TokenConfig, UiUser};
use smev_gateway::daemon;
use smev_gateway::domain::CaseInfo;
use smev_gateway::engine::intake::{self, NewRequest};

use super::CmdResult;
use mock_smev::{MockConfig, MockSmev};

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Keep nothing: use a temporary data directory removed at exit.
    #[arg(long)]
    ephemeral: bool,
    /// Data directory (default ./data/dev).
    #[arg(long, default_value = "data/dev")]
    data_dir: PathBuf,
    /// Listen address of the gateway (API and UI).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Listen address of the built-in mock SMEV.
    #[arg(long, default_value = "127.0.0.1:7500")]
    mock_listen: SocketAddr,
    /// A VS package folder to add as a data kind, answered by the mock from its response schema
    /// (`DIR:REQUEST:RESPONSE` names the roots when the package has several); repeatable.
    #[arg(long = "kind", value_name = "DIR")]
    kinds: Vec<super::dev_kinds::DevKind>,
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../../", $path)) as &[u8])),*]
    };
}

/// Files compiled into the binary and written into the data directory.
const ASSETS: &[(&str, &[u8])] = assets![
    "config/default.toml",
    "certs-example/ca.cert.pem",
    "certs-example/ov.key.pem",
    "certs-example/ov.cert.pem",
    "certs-example/sp.key.pem",
    "certs-example/sp.cert.pem",
    "schemas/kinds/fns-tax-debt-1.0.xsd",
    "schemas/kinds/zags-marriage-1.0.xsd",
];

#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct Credentials {
    token: String,
    operator: String,
    supervisor: String,
    admin: String,
}

fn random_secret(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    if openssl::rand::rand_bytes(&mut b).is_err() {
        // OpenSSL's generator failing is unheard of; the OS's (through uuid) then serves.
        let fallback = uuid::Uuid::new_v4();
        for (x, y) in b.iter_mut().zip(fallback.as_bytes().iter().cycle()) {
            *x = *y;
        }
    }
    hex::encode(b)
}

fn credentials(dir: &Path) -> Result<Credentials, String> {
    let path = dir.join("dev-credentials.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(c) = serde_json::from_str(&text) {
            return Ok(c);
        }
    }
    let c = Credentials {
        token: format!("dev-{}", random_secret(16)),
        operator: random_secret(6),
        supervisor: random_secret(6),
        admin: random_secret(6),
    };
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&c).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(c)
}

fn write_assets(dir: &Path) -> Result<(), String> {
    for (rel, bytes) in ASSETS {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

/// The mock's FTP address as text ("" when it runs none).
fn cfg_ftp(mock: &mock_smev::MockHandle) -> String {
    mock.ftp_addr().map(|a| a.to_string()).unwrap_or_default()
}

fn dev_config(dir: &Path, creds: &Credentials, listen: &str, mock: &str) -> Result<Config, String> {
    let assets = dir.join("assets");
    let text =
        std::fs::read_to_string(assets.join("config/default.toml")).map_err(|e| e.to_string())?;
    let mut cfg = Config::from_toml(&text, &assets.join("config")).map_err(|e| e.to_string())?;
    cfg.storage.path = dir.join("db");
    cfg.retention.archive_dir = dir.join("archive");
    cfg.smev.endpoint = format!("http://{mock}/ws");
    cfg.smev.trust = Some(assets.join("certs-example/ca.cert.pem"));
    cfg.smev.test_messages = true;
    cfg.api.listen = listen.to_string();
    cfg.engine.poll_max_interval_ms = 2000;
    cfg.engine.retry_max_ms = 15_000;
    cfg.engine.expiry_check_interval_ms = 5_000;
    let hash = |p: &str| smev_gateway::ui::auth::hash_password(p);
    cfg.ui.users = vec![
        UiUser {
            login: "operator".into(),
            name: "Оператор Иванова А. С.".into(),
            password_hash: hash(&creds.operator)?,
            role: Role::Operator,
            systems: vec!["is-main".into()],
            // The example official's certificate (certs-example/sp.cert.pem) carries this СНИЛС.
            snils: Some("112-233-445 95".into()),
            certificates: Vec::new(),
        },
        UiUser {
            login: "supervisor".into(),
            name: "Руководитель Петров В. Н.".into(),
            password_hash: hash(&creds.supervisor)?,
            role: Role::Supervisor,
            systems: Vec::new(),
            snils: None,
            certificates: Vec::new(),
        },
        UiUser {
            login: "admin".into(),
            name: "Администратор Сидоров К. Л.".into(),
            password_hash: hash(&creds.admin)?,
            role: Role::Admin,
            systems: Vec::new(),
            snils: None,
            certificates: Vec::new(),
        },
    ];
    for s in &mut cfg.systems {
        s.tokens = vec![TokenConfig {
            name: "dev".into(),
            sha256: smev_gateway::api::auth::token_hash(&creds.token),
        }];
    }
    Ok(cfg)
}

async fn demo_cases(ctx: &smev_gateway::engine::Context) {
    let Ok((existing, _)) = ctx.store.list_requests(&Default::default(), None, 1) else {
        return;
    };
    if !existing.is_empty() {
        return;
    }
    let demo = [
        (
            "ЗАЯВ-2026-000101",
            "Предоставление субсидии малому бизнесу",
            "ООО «Ромашка»",
            "7701000121",
            "ДЕМО-1",
            "7701000121",
        ),
        (
            "ЗАЯВ-2026-000102",
            "Лицензирование розничной продажи",
            "АО «Василёк»",
            "7702000117",
            "ДЕМО-2",
            "7702000117",
        ),
        (
            "ЗАЯВ-2026-000103",
            "Предоставление субсидии малому бизнесу",
            "ООО «Нет данных»",
            "0100000004",
            "ДЕМО-3",
            "0100000004",
        ),
    ];
    for (case, service, applicant, inn, request_no, request_inn) in demo {
        let xml = format!(
            r#"<td:TaxDebtRequest xmlns:td="urn://smev-gateway/example/fns-tax-debt/1.0"><td:RequestID>{request_no}</td:RequestID><td:Taxpayer><td:Organization><td:INN>{request_inn}</td:INN></td:Organization></td:Taxpayer><td:OnDate>2026-11-01</td:OnDate></td:TaxDebtRequest>"#
        );
        let r = intake::submit(
            ctx,
            NewRequest {
                system: "is-main".into(),
                kind: "fns-tax-debt".into(),
                business_xml: xml,
                client_id: Some(format!("demo-{request_no}")),
                case: Some(CaseInfo {
                    reference: case.into(),
                    service: Some(service.into()),
                    applicant: Some(applicant.into()),
                    inn: Some(inn.into()),
                    snils: None,
                    metadata: serde_json::Value::Null,
                }),
                attachments: Vec::new(),
                test_message: Some(true),
                actor: smev_gateway::domain::Actor::System("is-main/demo".into()),
            },
        )
        .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "demo case not created");
        }
    }
}

pub fn run(a: DevArgs) -> CmdResult {
    let temp = if a.ephemeral {
        Some(tempfile::tempdir().map_err(|e| e.to_string())?)
    } else {
        None
    };
    let dir = match &temp {
        Some(t) => t.path().to_path_buf(),
        None => a.data_dir.clone(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = dir.canonicalize().map_err(|e| e.to_string())?;
    write_assets(&dir.join("assets"))?;
    let creds = credentials(&dir)?;
    smev_gateway::daemon::init_logging(&smev_gateway::config::LogConfig::default());
    smev_gateway::daemon::limit_malloc_arenas();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let imported = a
        .kinds
        .iter()
        .enumerate()
        .map(|(n, k)| super::dev_kinds::import(k, n))
        .collect::<Result<Vec<_>, String>>()?;
    rt.block_on(async move {
        let mut mock_cfg = MockConfig::demo();
        mock_cfg.base_dir = dir.join("assets");
        // The mock's file storage (FTP) on any free loopback port, its files in the data dir.
        mock_cfg.file_storage.listen = Some("127.0.0.1:0".into());
        mock_cfg.file_storage.dir = Some(dir.join("mock-ftp"));
        mock_cfg
            .kinds
            .extend(imported.iter().map(|k| k.mock.clone()));
        let mock = MockSmev::start(mock_cfg, a.mock_listen)
            .await
            .map_err(|e| format!("mock SMEV: {e:#}"))?;
        let mut cfg = dev_config(&dir, &creds, &a.listen, &mock.addr().to_string())?;
        cfg.file_storage.address = mock.ftp_addr().map(|a| a.to_string());
        cfg.file_storage.password = mock
            .simulator()
            .config()
            .file_storage
            .upload_password
            .clone();
        super::dev_kinds::add_to_config(&mut cfg, &imported);
        let running = match daemon::start(cfg, smev_gateway::ui::router).await {
            Ok(r) => r,
            Err(e) => {
                mock.shutdown().await;
                return Err(e);
            }
        };
        demo_cases(&running.ctx).await;
        let url = format!("http://{}", running.addr);
        println!(
            "smev-gateway dev mode (ТОЛЬКО ДЛЯ РАЗРАБОТКИ И ТЕСТОВ — example keys, mock SMEV)"
        );
        println!(
            "  UI:        {url}/ui/   users: operator / {}, supervisor / {}, admin / {}",
            creds.operator, creds.supervisor, creds.admin
        );
        println!(
            "  API:       {url}/api/v1/requests   token: {}",
            creds.token
        );
        println!(
            "             curl -H 'Authorization: Bearer {}' {url}/api/v1/requests",
            creds.token
        );
        println!("  OpenAPI:   {url}/api/openapi.json   metrics: {url}/metrics");
        for line in super::dev_kinds::describe(&imported) {
            println!("  kind:      {line}");
        }
        println!(
            "  mock SMEV: http://{}/ws   admin: http://{}/admin/   file storage: ftp://{}/",
            mock.addr(),
            mock.addr(),
            cfg_ftp(&mock)
        );
        println!(
            "  data:      {}{}",
            dir.display(),
            if a.ephemeral {
                " (removed at exit)"
            } else {
                ""
            }
        );
        println!("smev-gateway listening on {url}");
        let ready = serde_json::json!({
            "url": url,
            "ui": format!("{url}/ui/"),
            "mock_url": format!("http://{}", mock.addr()),
            "mock_ftp": cfg_ftp(&mock),
            "token": creds.token,
            "system": "is-main",
            "data_dir": dir,
            "users": [
                {"login": "operator", "password": creds.operator, "role": "operator"},
                {"login": "supervisor", "password": creds.supervisor, "role": "supervisor"},
                {"login": "admin", "password": creds.admin, "role": "admin"},
            ],
        });
        println!("DEV-READY {ready}");
        daemon::shutdown_signal().await;
        running.shutdown().await;
        mock.shutdown().await;
        Ok::<_, String>(())
    })?;
    drop(temp);
    Ok(ExitCode::SUCCESS)
}

/// `smev-gateway mock-smev`: the built-in mock SMEV alone (the same code as the `mock-smev`
/// binary), for integration tests and local integration.
pub fn mock(listen: SocketAddr, config: Option<PathBuf>) -> CmdResult {
    smev_gateway::daemon::init_logging(&smev_gateway::config::LogConfig::default());
    let cfg = match &config {
        Some(p) => MockConfig::from_file(p).map_err(|e| format!("{e:#}"))?,
        None => MockConfig::demo(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let handle = MockSmev::start(cfg, listen)
            .await
            .map_err(|e| format!("{e:#}"))?;
        println!("mock-smev listening on {}", handle.addr());
        if let Some(ftp) = handle.ftp_addr() {
            println!("mock-smev file storage on {ftp}");
        }
        daemon::shutdown_signal().await;
        handle.shutdown().await;
        Ok::<_, String>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
