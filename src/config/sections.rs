//! The configuration's sections with their defaults: storage, SMEV, engine, API, UI, metrics,
//! logs, webhooks, retention.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// sled database directory.
    pub path: PathBuf,
    /// sled page cache, bytes. 32 MiB by default: the engine works on recent records (the due
    /// queue, answers being matched, the UI's first pages), which fit; under the 10 000-request
    /// load benchmark 32 MiB ran as fast as 64 MiB and peaked 17 MiB lower (sled's real use is
    /// about twice its accounted size). Raise it for large searches over old records.
    pub cache_bytes: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: PathBuf::from("./data/gateway"),
            cache_bytes: 32 * 1024 * 1024,
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
    /// Largest `multipart/form-data` request of `POST /api/v1/requests` (files stream to disk;
    /// the `request` JSON part stays within `max_body_bytes`).
    pub max_upload_bytes: u64,
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
    /// The listener's TLS certificate chain (PEM); with `tls_key`, the listener speaks only
    /// HTTPS. Unset: plain HTTP (TLS terminated in front of the gateway, or loopback).
    pub tls_certificate: Option<PathBuf>,
    /// The key of `tls_certificate` (PEM, unencrypted; readable by the gateway only).
    pub tls_key: Option<PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 16 * 1024 * 1024,
            max_upload_bytes: 1024 * 1024 * 1024,
            max_xml_bytes: 1024 * 1024,
            page_size: 50,
            max_page_size: 500,
            max_connections: 4096,
            descriptor_reserve: 512,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 120_000,
            send_timeout_ms: 60_000,
            tls_certificate: None,
            tls_key: None,
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
    /// The user's СНИЛС: an ЭП-СП the user uploads must be made with a certificate issued to it.
    #[serde(default)]
    pub snils: Option<String>,
    /// SHA-256 thumbprints (hex) of certificates the user may sign ЭП-СП with, beside `snils`.
    #[serde(default)]
    pub certificates: Vec<String>,
}

impl UiUser {
    /// The configured СНИЛС, digits only.
    pub fn snils_digits(&self) -> Option<String> {
        self.snils
            .as_deref()
            .map(|s| s.chars().filter(char::is_ascii_digit).collect())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    pub enabled: bool,
    /// Time zone of displayed dates, as an offset ("+03:00" = Moscow).
    pub timezone: String,
    pub session_ttl_minutes: u64,
    /// Lifetime of a session opened with «Запомнить меня» (fixed, not extended by activity);
    /// 0 takes the checkbox away.
    pub remember_days: u64,
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
    /// CryptoPro's `cadesplugin_api.js`, served at `/ui/static/cadesplugin_api.js` and loaded on
    /// the ЭП-СП page so officials sign with their token through the CryptoPro browser plug-in
    /// (the file is CryptoPro's, downloaded by the operator; without it the page offers upload).
    pub cadesplugin_script: Option<PathBuf>,
    pub users: Vec<UiUser>,
}

impl UiConfig {
    /// The UI user `login`, if configured.
    pub fn user(&self, login: &str) -> Option<&UiUser> {
        self.users.iter().find(|u| u.login == login)
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            enabled: true,
            timezone: "+03:00".into(),
            session_ttl_minutes: 480,
            remember_days: 14,
            secure_cookie: false,
            login_attempts_per_minute: 10,
            login_attempts_per_minute_per_address: 30,
            lockout_after_failures: 10,
            lockout_minutes: 15,
            cadesplugin_script: None,
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
    /// CA certificates (PEM) trusted for `https://` webhook receivers beside the system's CA
    /// store, e.g. an agency's internal CA.
    pub ca_file: Option<PathBuf>,
}

impl Default for WebhookDefaults {
    fn default() -> Self {
        WebhookDefaults {
            max_attempts: 12,
            timeout_ms: 10_000,
            retry_base_ms: 1_000,
            retry_max_ms: 600_000,
            ca_file: None,
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

/// The production calendar legal deadlines count working days by.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    /// Calendar files in the xmlcalendar.ru format; each replaces the shipped year it describes
    /// (2026 and 2027 are shipped) or adds a year.
    pub files: Vec<PathBuf>,
}
