//! mock-smev's configuration (TOML): SMEV's own settings (keys, trust list, checks, timeouts),
//! participants, data kinds with their simulated providers and answer rules, simulated consumers,
//! and fault rules. Every key has a default; an empty file is a working configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::faults::FaultSpec;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MockConfig {
    pub smev: SmevSettings,
    /// Key and certificate that simulated providers sign their answers with (ЭП-ОВ, moved into
    /// `SenderInformationSystemSignature` on delivery) and simulated consumers their requests.
    pub simulator: KeyPair,
    /// Explicit certificate → participant mappings (default: mnemonic = the certificate's OU,
    /// else its CN).
    pub participants: Vec<ParticipantConfig>,
    /// Registered data kinds (default: the two example kinds, answered at once).
    pub kinds: Vec<KindConfig>,
    /// Simulated consumers that send requests to a participant (the gateway's provider role).
    pub consumers: Vec<ConsumerConfig>,
    /// Fault rules active from the start.
    pub faults: Vec<FaultSpec>,
    /// The simulated file storage (FTP) for attachments above the inline limit.
    pub file_storage: FileStorageSettings,
    /// Directory relative paths are resolved against (the configuration file's directory).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// The simulated file storage: an FTP server on `listen` (none when absent), its files under
/// `dir` (a temporary directory when absent). Participants log in with their mnemonic and
/// `upload_password`; receivers get one-time accounts in `FSAttachmentsList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileStorageSettings {
    pub listen: Option<String>,
    pub dir: Option<PathBuf>,
    pub upload_password: String,
    /// Largest file accepted or served.
    pub max_file_bytes: u64,
    /// Most FTP control connections at once.
    pub max_connections: usize,
}

impl Default for FileStorageSettings {
    fn default() -> Self {
        FileStorageSettings {
            listen: None,
            dir: None,
            upload_password: "smev-ftp".into(),
            max_file_bytes: 1024 * 1024 * 1024,
            max_connections: 64,
        }
    }
}

/// A file an answer carries through the file storage: `file` (a path or `builtin:…`), or
/// `generated_bytes` of reproducible pseudo-random content (large files for tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageFileConfig {
    /// `FileName` in the header and the storage.
    pub name: String,
    pub mime_type: String,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub generated_bytes: Option<u64>,
    /// The provider signs the file: a detached PKCS#7 (its ЭП-ОВ) in `SignaturePKCS7`.
    #[serde(default)]
    pub signed: bool,
}

/// How attachments of delivered messages travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentTransfer {
    /// MTOM: `multipart/related` with `xop:Include` (as SMEV's Apache CXF answers).
    Xop,
    /// Base64 inside `AttachmentContent/Content`.
    Inline,
}

/// SMEV's own settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmevSettings {
    /// SMEV's mnemonic in its own messages (async statuses).
    pub mnemonic: String,
    pub name: String,
    /// ЭП-СМЭВ key and certificate (PEM).
    pub key: String,
    pub cert: String,
    /// Trusted CA certificates (PEM) for ЭП-ОВ and ЭП-СП.
    pub trust: Vec<String>,
    /// Validate every incoming envelope against `envelope_schema`.
    pub validate_envelope: bool,
    pub envelope_schema: String,
    /// MessageIDs whose timestamp is older than this are refused with `StaleMessageId`.
    pub stale_after_secs: u64,
    /// A delivered message that is not acknowledged within this time is delivered again.
    pub redelivery_timeout_ms: u64,
    /// Largest total of inline attachments of one message (`AttachmentSizeLimitExceeded`).
    pub max_attachment_bytes: u64,
    pub attachment_transfer: AttachmentTransfer,
    /// Refuse certificates not listed in `[[participants]]` with `SenderIsNotRegistered`.
    pub strict_participants: bool,
    /// Seed of the random source (fault rates, random delays); random when absent.
    pub seed: Option<u64>,
    /// How many received messages the admin log keeps.
    pub message_log_limit: usize,
    /// Largest HTTP body accepted.
    pub body_limit_bytes: usize,
}

impl Default for SmevSettings {
    fn default() -> Self {
        SmevSettings {
            mnemonic: "TSMEV3".into(),
            name: "СМЭВ 3 (имитация mock-smev)".into(),
            key: "builtin:certs/smev.key.pem".into(),
            cert: "builtin:certs/smev.cert.pem".into(),
            trust: vec!["builtin:certs/ca.cert.pem".into()],
            validate_envelope: true,
            envelope_schema: "builtin:schemas/smev-message-exchange-1.3/smev-envelope-1.3.xsd"
                .into(),
            stale_after_secs: 24 * 3600,
            redelivery_timeout_ms: 15 * 60 * 1000,
            max_attachment_bytes: 5 * 1024 * 1024,
            attachment_transfer: AttachmentTransfer::Xop,
            strict_participants: false,
            seed: None,
            message_log_limit: 10_000,
            body_limit_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A key (PEM PKCS#8) and its certificate (PEM).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPair {
    pub key: String,
    pub cert: String,
}

impl Default for KeyPair {
    fn default() -> Self {
        KeyPair {
            key: "builtin:certs/provider.key.pem".into(),
            cert: "builtin:certs/provider.cert.pem".into(),
        }
    }
}

/// Maps certificates to a participant. A certificate matches when every given criterion does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParticipantConfig {
    pub mnemonic: String,
    pub name: Option<String>,
    /// The exact certificate (PEM file or `builtin:`).
    pub certificate: Option<String>,
    /// SHA-1 thumbprint (hex, any case, separators ignored).
    pub thumbprint: Option<String>,
    pub subject_ou: Option<String>,
    pub subject_cn: Option<String>,
}

/// A data kind: its request and response roots, schema, and who provides it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindConfig {
    /// Short name used by admin calls and consumers.
    pub name: String,
    pub namespace: String,
    /// Local name of the request root.
    pub request: String,
    /// Local name of the response root.
    pub response: String,
    /// XSD of the business documents (request and response roots).
    #[serde(default)]
    pub schema: Option<String>,
    /// Validate business content against `schema` (`InvalidContent` on violation).
    #[serde(default = "yes")]
    pub validate: bool,
    /// The provider's mnemonic.
    pub provider: String,
    #[serde(default)]
    pub provider_name: Option<String>,
    /// `true`: mock-smev answers with `rules`; `false`: requests go to the GetRequest queue of
    /// participant `provider`, whose SendResponse is routed back.
    #[serde(default = "yes")]
    pub simulated: bool,
    /// Request template used by `POST /admin/requests` and consumers when they give no content.
    #[serde(default)]
    pub sample_request: Option<String>,
    /// Answer rules of the simulated provider, first match wins.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

fn yes() -> bool {
    true
}

/// A value or a list of accepted values in `when`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn matches(&self, value: &str) -> bool {
        match self {
            OneOrMany::One(v) => v == value,
            OneOrMany::Many(vs) => vs.iter().any(|v| v == value),
        }
    }
}

/// What a simulated provider answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// A business answer from `template`/`template_file`, with `attachments`.
    #[default]
    Answer,
    /// `RequestRejected` with `reject_code`.
    Reject,
    /// Never answer (statuses, if any, are still sent).
    Ignore,
}

/// One answer rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleConfig {
    /// Element local name → required text (or list of alternatives) in the request; empty:
    /// matches every request.
    pub when: BTreeMap<String, OneOrMany>,
    pub reply: Reply,
    /// Delay of the final answer (uniform in `delay_ms..=delay_max_ms` when that is given).
    pub delay_ms: u64,
    pub delay_max_ms: Option<u64>,
    /// Answer template (minijinja) inline…
    pub template: Option<String>,
    /// …or from a file / `builtin:templates/…`.
    pub template_file: Option<String>,
    pub attachments: Vec<AttachmentConfig>,
    /// Files sent through the file storage (`RefAttachmentHeader` + `FSAttachmentsList`).
    pub storage_files: Vec<StorageFileConfig>,
    /// `ACCESS_DENIED`, `NO_DATA`, `UNKNOWN_REQUEST_DESCRIPTION` or `FAILURE`.
    pub reject_code: Option<String>,
    /// Template too.
    pub reject_description: Option<String>,
    /// `RequestStatus` messages sent before the final answer.
    pub statuses: Vec<StatusConfig>,
}

/// A `RequestStatus` message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusConfig {
    pub code: i32,
    pub description: String,
    pub after_ms: u64,
    pub parameters: BTreeMap<String, String>,
}

/// An MTOM attachment from a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentConfig {
    /// File path or `builtin:samples/sample.pdf` (also `.xlsx`, `.png`).
    pub file: String,
    pub mime_type: String,
    /// `AttachmentContent/Id` (an NCName); default derived from the file name.
    #[serde(default)]
    pub content_id: Option<String>,
}

/// A simulated consumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerConfig {
    pub mnemonic: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Kind name.
    pub kind: String,
    /// Mnemonic of the participant whose GetRequest queue receives the requests.
    pub to: String,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub template_file: Option<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentConfig>,
    #[serde(default = "sixty")]
    pub every_secs: u64,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub test_message: bool,
}

fn sixty() -> u64 {
    60
}

/// The two example kinds of `schemas/kinds/`, answered at once from the built-in templates.
pub fn example_kinds() -> Vec<KindConfig> {
    vec![
        KindConfig {
            name: "fns-tax-debt".into(),
            namespace: "urn://smev-gateway/example/fns-tax-debt/1.0".into(),
            request: "TaxDebtRequest".into(),
            response: "TaxDebtResponse".into(),
            schema: Some("builtin:schemas/kinds/fns-tax-debt-1.0.xsd".into()),
            validate: true,
            provider: "FNS01".into(),
            provider_name: Some("ФНС России (имитация)".into()),
            simulated: true,
            sample_request: Some("builtin:templates/fns-tax-debt-request.xml".into()),
            rules: vec![RuleConfig {
                template_file: Some("builtin:templates/fns-tax-debt-response.xml".into()),
                ..Default::default()
            }],
        },
        KindConfig {
            name: "zags-marriage".into(),
            namespace: "urn://smev-gateway/example/zags-marriage/1.0".into(),
            request: "MarriageRecordRequest".into(),
            response: "MarriageRecordResponse".into(),
            schema: Some("builtin:schemas/kinds/zags-marriage-1.0.xsd".into()),
            validate: true,
            provider: "ZAGS01".into(),
            provider_name: Some("ЕГР ЗАГС (имитация)".into()),
            simulated: true,
            sample_request: Some("builtin:templates/zags-marriage-request.xml".into()),
            rules: vec![RuleConfig {
                template_file: Some("builtin:templates/zags-marriage-response.xml".into()),
                ..Default::default()
            }],
        },
    ]
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            smev: SmevSettings::default(),
            simulator: KeyPair::default(),
            participants: Vec::new(),
            kinds: example_kinds(),
            consumers: Vec::new(),
            faults: Vec::new(),
            file_storage: FileStorageSettings::default(),
            base_dir: PathBuf::from("."),
        }
    }
}

/// The demo scenario (`scenarios/demo.toml`, compiled in).
pub const DEMO_TOML: &str = include_str!("../scenarios/demo.toml");

impl MockConfig {
    /// Parses TOML; relative paths are resolved against the current directory.
    pub fn from_toml_str(s: &str) -> anyhow::Result<Self> {
        let mut c: MockConfig = toml::from_str(s).context("invalid mock-smev configuration")?;
        c.base_dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Ok(c)
    }

    /// Reads a TOML file; relative paths are resolved against its directory.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut c: MockConfig = toml::from_str(&text)
            .with_context(|| format!("invalid mock-smev configuration {}", path.display()))?;
        c.base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(c)
    }

    /// The demo scenario for the gateway's `dev` mode: both example kinds answered after 1–3 s
    /// (the tax-debt answer with a PDF, after a `RequestStatus`), NO_DATA for INN `0000000000`
    /// (and the schema-valid `0100000000`), and a simulated consumer (`MFC01`, off by default)
    /// that sends a marriage-record request to `SYSTEM1` every 30 s.
    pub fn demo() -> Self {
        match Self::from_toml_str(DEMO_TOML) {
            Ok(c) => c,
            Err(e) => {
                // Cannot happen: a unit test parses the compiled-in file.
                tracing::error!("built-in demo scenario does not parse: {e:#}");
                Self::default()
            }
        }
    }

    /// The kind named `name`.
    pub fn kind(&self, name: &str) -> Option<&KindConfig> {
        self.kinds.iter().find(|k| k.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default_and_demo_parses() {
        let c = MockConfig::from_toml_str("").unwrap();
        assert_eq!(c.kinds, example_kinds());
        let d = MockConfig::demo();
        assert_eq!(d.kinds.len(), 2);
        assert_eq!(d.consumers.len(), 1);
        assert!(!d.consumers[0].enabled);
        assert!(MockConfig::from_toml_str("[smev]\nnonsense = 1").is_err());
    }

    #[test]
    fn shipped_examples_load() {
        // Also compiled into the gateway binary, where these files do not exist: skipped there.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        for f in [
            "config/example.toml",
            "scenarios/demo.toml",
            "scenarios/flaky.toml",
        ] {
            let path = dir.join(f);
            if path.exists() {
                let c = MockConfig::from_file(&path).unwrap_or_else(|e| panic!("{f}: {e:#}"));
                super::super::simulator::Simulator::new(c).unwrap_or_else(|e| panic!("{f}: {e:#}"));
            }
        }
        super::super::simulator::Simulator::new(MockConfig::demo()).unwrap();
    }
}
