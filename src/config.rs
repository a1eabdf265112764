//! Configuration: one TOML file (documented key by key in `config/default.toml`), every key
//! overridable by environment variables `SMEV_GATEWAY__SECTION__KEY` (the `config` crate), and
//! unknown keys refused so that a typo never silently falls back to a default.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub smev: SmevConfig,
    #[serde(default)]
    pub engine: EngineConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub ui: UiConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub webhooks: WebhookDefaults,
    #[serde(default)]
    pub retention: RetentionConfig,
    #[serde(default)]
    pub systems: Vec<SystemConfig>,
    #[serde(default)]
    pub kinds: Vec<KindConfig>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// sled database directory.
    pub path: PathBuf,
    /// sled page cache, bytes.
    pub cache_bytes: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: PathBuf::from("./data/gateway"),
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentTransfer {
    /// MTOM/XOP multipart (what SMEV expects).
    Mtom,
    /// Base64 inside the XML.
    Inline,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmevConfig {
    /// SMEV 3 endpoint (message-exchange 1.3).
    pub endpoint: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    /// Largest total size of attachments sent inline (MTOM) with one message.
    pub inline_attachment_limit_bytes: usize,
    pub attachment_transfer: AttachmentTransfer,
    /// Largest SMEV answer accepted.
    pub max_answer_bytes: usize,
    /// PEM file of CAs whose certificates SMEV's signatures (ЭП-СМЭВ) must chain to; empty =
    /// check the cryptography only.
    pub trust: Option<PathBuf>,
    /// Run without `trust`: SMEV's signatures are then checked for their cryptography only, so
    /// anyone able to answer on SMEV's address can forge answers. Only for isolated test stands;
    /// logged as a warning at every start.
    pub insecure_skip_smev_chain: bool,
    /// Verify ЭП-СМЭВ on everything received (messages whose signature fails are Acked with
    /// accepted=false and kept as dead letters).
    pub verify_answers: bool,
    /// Send requests as test messages (`TestMessage`).
    pub test_messages: bool,
}

impl Default for SmevConfig {
    fn default() -> Self {
        SmevConfig {
            endpoint: "http://127.0.0.1:7500/ws".into(),
            connect_timeout_ms: 5_000,
            request_timeout_ms: 60_000,
            inline_attachment_limit_bytes: crate::smev::mtom::DEFAULT_INLINE_LIMIT,
            attachment_transfer: AttachmentTransfer::Mtom,
            max_answer_bytes: 64 * 1024 * 1024,
            trust: None,
            insecure_skip_smev_chain: false,
            verify_answers: true,
            test_messages: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Requests signed and sent at the same time.
    pub send_concurrency: usize,
    /// Poll interval right after activity.
    pub poll_min_interval_ms: u64,
    /// Ceiling of the poll interval on empty queues.
    pub poll_max_interval_ms: u64,
    /// Messages taken from one queue in one polling round before pausing.
    pub poll_batch: usize,
    /// First retry delay of a temporary failure; doubles up to `retry_max_ms`, with jitter.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// Delay after `QuoteLimitExceeded`.
    pub quota_retry_ms: u64,
    /// Time given to in-flight work on shutdown.
    pub shutdown_grace_ms: u64,
    /// How often expiry (EOL / deadline) is checked.
    pub expiry_check_interval_ms: u64,
    /// Poll the status queue (GetStatus).
    pub poll_status: bool,
    /// Concurrent GetResponse pollers per system (SMEV lets several messages be outstanding).
    pub poll_concurrency: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            send_concurrency: 4,
            poll_min_interval_ms: 200,
            poll_max_interval_ms: 10_000,
            poll_batch: 50,
            retry_base_ms: 1_000,
            retry_max_ms: 300_000,
            quota_retry_ms: 600_000,
            shutdown_grace_ms: 10_000,
            expiry_check_interval_ms: 60_000,
            poll_status: true,
            poll_concurrency: 4,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Listen address of the API, the UI and /metrics.
    pub listen: String,
    /// Largest request body accepted by the API.
    pub max_body_bytes: usize,
    /// Largest business XML accepted.
    pub max_xml_bytes: usize,
    /// Default and largest page size of list endpoints.
    pub page_size: usize,
    pub max_page_size: usize,
    /// Most HTTP connections open at once (lowered to the descriptor limit less
    /// `descriptor_reserve`); past it new connections wait in the kernel's backlog.
    pub max_connections: usize,
    /// File descriptors kept free for sled, the SMEV client and webhooks.
    pub descriptor_reserve: usize,
    /// Time a client has to send a request's headers; also closes idle keep-alive connections.
    pub header_read_timeout_ms: u64,
    /// Time for a whole request (body read and handling); past it: 408 `request_timeout`.
    pub request_timeout_ms: u64,
    /// Longest a write to a client may stay blocked (it stopped reading); then the connection
    /// is closed.
    pub send_timeout_ms: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 16 * 1024 * 1024,
            max_xml_bytes: 1024 * 1024,
            page_size: 50,
            max_page_size: 500,
            max_connections: 4096,
            descriptor_reserve: 512,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 120_000,
            send_timeout_ms: 60_000,
        }
    }
}

/// A UI role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// «оператор»: create, send, view.
    Operator,
    /// «руководитель»: view all, retry, monitoring.
    Supervisor,
    /// «администратор»: settings view, dead letters.
    Admin,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UiUser {
    pub login: String,
    /// Display name.
    pub name: String,
    /// argon2 PHC string (`smev-gateway hash-password` prints one).
    pub password_hash: String,
    pub role: Role,
    /// Information systems whose requests the user sees and creates (empty = all).
    #[serde(default)]
    pub systems: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    pub enabled: bool,
    /// Time zone of displayed dates, as an offset ("+03:00" = Moscow).
    pub timezone: String,
    pub session_ttl_minutes: u64,
    /// Set the Secure flag on the session cookie (needs HTTPS in front of the gateway).
    pub secure_cookie: bool,
    /// Login attempts per login name per minute (a burst of as many, then one every
    /// 60/N seconds); past it: 429 without checking the password.
    pub login_attempts_per_minute: u32,
    /// Login attempts per client address per minute, whatever the login name.
    pub login_attempts_per_minute_per_address: u32,
    /// Consecutive failures that lock a login (audited, `smev_gateway_ui_login_lockouts_total`).
    pub lockout_after_failures: u32,
    /// How long a locked login stays locked.
    pub lockout_minutes: u64,
    pub users: Vec<UiUser>,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            enabled: true,
            timezone: "+03:00".into(),
            session_ttl_minutes: 480,
            secure_cookie: false,
            login_attempts_per_minute: 10,
            login_attempts_per_minute_per_address: 30,
            lockout_after_failures: 10,
            lockout_minutes: 15,
            users: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Readiness fails when SMEV has not answered for this long (while there is work).
    pub smev_silence_minutes: u64,
    /// How often the gauges of stored state and the readiness checks are recomputed in the
    /// background (a scrape or a readiness probe only reads the last result).
    pub refresh_interval_ms: u64,
    /// SHA-256 (hex) of a bearer token `/metrics` requires, and with which `/health/ready`
    /// shows its checks; unset: `/metrics` is open (keep it on a loopback or internal address).
    pub token_sha256: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            smev_silence_minutes: 10,
            refresh_interval_ms: 5_000,
            token_sha256: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// "text" or "json".
    pub format: String,
    /// tracing filter, e.g. "info" or "smev_gateway=debug".
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookDefaults {
    /// Attempts before an event goes to the webhook dead-letter list.
    pub max_attempts: u32,
    pub timeout_ms: u64,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
}

impl Default for WebhookDefaults {
    fn default() -> Self {
        WebhookDefaults {
            max_attempts: 12,
            timeout_ms: 10_000,
            retry_base_ms: 1_000,
            retry_max_ms: 600_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    pub enabled: bool,
    /// Closed requests (answered, rejected, failed, expired, cancelled) older than this are
    /// archived and purged.
    pub closed_after_days: u64,
    /// Where archive files (JSON lines with the raw XML) go.
    pub archive_dir: PathBuf,
    pub interval_minutes: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            enabled: true,
            closed_after_days: 365,
            archive_dir: PathBuf::from("./data/archive"),
            interval_minutes: 60,
        }
    }
}

/// A key (ЭП-ОВ of a system or a configured ЭП-СП).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// PEM (PKCS#8) or PKCS#12 (.p12/.pfx).
    pub key: PathBuf,
    /// PEM certificate (not needed for PKCS#12).
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// Password of the key; better given by environment
    /// (SMEV_GATEWAY__SYSTEMS__0__SIGNING__PASSWORD is not supported for arrays — use
    /// `password_env`).
    #[serde(default)]
    pub password: Option<String>,
    /// Name of an environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
}

impl KeyConfig {
    /// The password, from `password_env` or `password`.
    pub fn password(&self) -> Option<String> {
        self.password_env
            .as_ref()
            .and_then(|v| std::env::var(v).ok())
            .or_else(|| self.password.clone())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who uses the token (for logs and audit).
    pub name: String,
    /// SHA-256 of the token, hex (`smev-gateway hash-token TOKEN`).
    pub sha256: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// HMAC-SHA256 secret.
    pub secret: String,
}

/// An agency information system (the official adapter's "mnemonic").
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    pub id: String,
    pub name: String,
    /// Mnemonic registered in SMEV.
    #[serde(default)]
    pub mnemonic: String,
    /// ЭП-ОВ key of the system.
    pub signing: KeyConfig,
    /// Optional configured ЭП-СП key (kinds with `personal_signature = "configured"`).
    #[serde(default)]
    pub personal_signing: Option<KeyConfig>,
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    #[serde(default)]
    pub webhook: Option<WebhookConfig>,
    /// Kinds this system requests (consumer role).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Kinds this system answers (provider role).
    #[serde(default)]
    pub provider_kinds: Vec<String>,
    /// SMEV NodeID for a separate answer queue.
    #[serde(default)]
    pub node_id: Option<String>,
    /// SMEV endpoint override for this system.
    #[serde(default)]
    pub endpoint: Option<String>,
}

/// How ЭП-СП is made for a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonalSignatureMode {
    /// No ЭП-СП.
    None,
    /// The official signs through the API/UI (two-phase).
    TwoPhase,
    /// The gateway signs with the system's configured `personal_signing` key.
    Configured,
}

/// A qualified element name in config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ElementName {
    pub namespace: String,
    pub root: String,
}

/// A form field of a kind (the UI's «Создать запрос» form).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub required: bool,
    /// Regular-expression-free pattern check: "digits:10", "digits:10|12", "date", "snils" or "".
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub hint: String,
}

/// A data kind (вид сведений).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KindConfig {
    pub id: String,
    pub name: String,
    pub request: ElementName,
    pub response: ElementName,
    /// XSD of the kind (request and response roots).
    pub schema: PathBuf,
    #[serde(default = "default_personal")]
    pub personal_signature: PersonalSignatureMode,
    /// Legal answer deadline in working days from SMEV's SendingTimestamp.
    #[serde(default = "default_deadline")]
    pub deadline_working_days: u32,
    /// Every received attachment of this kind must carry a verifying `SignaturePKCS7`
    /// (otherwise an attachment listed in the signed header list is accepted as `declared`).
    #[serde(default)]
    pub require_attachment_signature: bool,
    #[serde(default)]
    pub fields: Vec<FieldConfig>,
    /// minijinja template of the request XML, filled from `fields` (values are XML-escaped).
    #[serde(default)]
    pub template: String,
}

fn default_personal() -> PersonalSignatureMode {
    PersonalSignatureMode::None
}

fn default_deadline() -> u32 {
    5
}

/// A configuration problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads `path` (TOML) with environment overrides; relative paths in the file are
    /// resolved against the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::from_toml(&text, &base)
    }

    /// Parses TOML text with environment overrides; `base` resolves relative paths.
    pub fn from_toml(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let built = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix("SMEV_GATEWAY")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()
            .map_err(|e| ConfigError(format!("configuration: {e}")))?;
        let mut cfg: Config = built
            .try_deserialize()
            .map_err(|e| ConfigError(format!("configuration: {e}")))?;
        cfg.resolve_paths(base);
        cfg.validate()?;
        Ok(cfg)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() && !p.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.storage.path);
        fix(&mut self.retention.archive_dir);
        if let Some(t) = &mut self.smev.trust {
            fix(t);
        }
        for s in &mut self.systems {
            for k in std::iter::once(&mut s.signing).chain(s.personal_signing.as_mut()) {
                fix(&mut k.key);
                if let Some(c) = &mut k.cert {
                    fix(c);
                }
            }
        }
        for k in &mut self.kinds {
            fix(&mut k.schema);
        }
    }

    /// Structural checks that need no files: unique ids, references between sections.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        let mut kind_ids = HashSet::new();
        for k in &self.kinds {
            if !kind_ids.insert(k.id.as_str()) {
                errors.push(format!("kinds: duplicate id {:?}", k.id));
            }
            if k.request.namespace.is_empty() || k.request.root.is_empty() {
                errors.push(format!(
                    "kinds.{}: request namespace and root are required",
                    k.id
                ));
            }
        }
        let mut system_ids = HashSet::new();
        for s in &self.systems {
            if !system_ids.insert(s.id.as_str()) {
                errors.push(format!("systems: duplicate id {:?}", s.id));
            }
            for k in s.kinds.iter().chain(&s.provider_kinds) {
                if !kind_ids.contains(k.as_str()) {
                    errors.push(format!("systems.{}: unknown kind {k:?}", s.id));
                }
            }
            for t in &s.tokens {
                if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    errors.push(format!(
                        "systems.{}: token {:?} needs a 64-hex-digit sha256",
                        s.id, t.name
                    ));
                }
            }
            if let Some(w) = &s.webhook {
                if !w.url.starts_with("http://") {
                    errors.push(format!(
                        "systems.{}: webhook url must be http:// (https is not supported yet: put a local TLS proxy in front of the receiver)",
                        s.id
                    ));
                }
            }
        }
        if let Some(t) = &self.metrics.token_sha256 {
            if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                errors.push("metrics.token_sha256 needs a 64-hex-digit sha256 (smev-gateway hash-token TOKEN)".into());
            }
        }
        if self.smev.trust.is_none() && !self.smev.insecure_skip_smev_chain {
            errors.push(
                "smev.trust: a PEM file of the CAs SMEV's certificate chains to is required (without it any self-signed key could forge SMEV's answers); set smev.insecure_skip_smev_chain = true only on an isolated test stand".into(),
            );
        }
        if !self.smev.verify_answers && !self.smev.insecure_skip_smev_chain {
            errors.push(
                "smev.verify_answers = false accepts unsigned and forged answers; it needs smev.insecure_skip_smev_chain = true too".into(),
            );
        }
        errors.extend(shared_participants(&self.systems));
        for u in &self.ui.users {
            for s in &u.systems {
                if !system_ids.contains(s.as_str()) {
                    errors.push(format!("ui.users.{}: unknown system {s:?}", u.login));
                }
            }
        }
        if crate::calendar::parse_offset(&self.ui.timezone).is_none() {
            errors.push(format!(
                "ui.timezone: {:?} is not an offset like \"+03:00\"",
                self.ui.timezone
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            errors.push(format!(
                "log.format: {:?} must be \"text\" or \"json\"",
                self.log.format
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(errors.join("; ")))
        }
    }

    /// Warnings about a configuration that is valid but unsafe (logged at every start).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.smev.insecure_skip_smev_chain {
            out.push("INSECURE: smev.insecure_skip_smev_chain = true — SMEV's certificate chain is not checked; forged answers signed by any key are accepted".to_string());
        }
        out
    }

    /// The kind with `id`.
    pub fn kind(&self, id: &str) -> Option<&KindConfig> {
        self.kinds.iter().find(|k| k.id == id)
    }

    /// The system with `id`.
    pub fn system(&self, id: &str) -> Option<&SystemConfig> {
        self.systems.iter().find(|s| s.id == id)
    }
}

/// Systems that SMEV would see as one participant: in SMEV a participant is its signing
/// certificate (and mnemonic), and it has one answer queue per NodeID. Two such systems would
/// take — and acknowledge — each other's answers, so they need distinct `node_id`s.
pub fn shared_participants(systems: &[SystemConfig]) -> Vec<String> {
    let mut errors = Vec::new();
    for (i, a) in systems.iter().enumerate() {
        for b in &systems[i + 1..] {
            let same_key = a.signing.key == b.signing.key && a.signing.cert == b.signing.cert;
            let same_mnemonic = !a.mnemonic.is_empty() && a.mnemonic == b.mnemonic;
            if (same_key || same_mnemonic) && !distinct_nodes(a, b) {
                errors.push(format!(
                    "systems {} and {} share {} without distinct node_id values: SMEV sees one participant with one queue, so each would take the other's answers",
                    a.id,
                    b.id,
                    if same_key { "a signing key" } else { "a mnemonic" }
                ));
            }
        }
    }
    errors
}

/// Both systems have a `node_id` and they differ.
pub fn distinct_nodes(a: &SystemConfig, b: &SystemConfig) -> bool {
    matches!((&a.node_id, &b.node_id), (Some(x), Some(y)) if x != y)
}
