//! The configuration of information systems (keys, tokens, webhooks) and data kinds.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
    /// This system's file storage address and account (over `[file_storage]`).
    #[serde(default)]
    pub file_storage: Option<super::SystemFileStorage>,
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
    /// The VS package folder the schema belongs to: its imports may reach any file inside it,
    /// nothing outside. Default: the schema's own folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PathBuf>,
    #[serde(default = "default_personal")]
    pub personal_signature: PersonalSignatureMode,
    /// Legal answer deadline in working days from SMEV's SendingTimestamp.
    #[serde(default = "default_deadline")]
    pub deadline_working_days: u32,
    /// Every received attachment of this kind must carry a verifying `SignaturePKCS7`
    /// (otherwise an attachment listed in the signed header list is accepted as `declared`).
    #[serde(default)]
    pub require_attachment_signature: bool,
    /// Every file we send of this kind carries a detached PKCS#7 signature made with the
    /// system's ЭП-ОВ key (`SignaturePKCS7` in its attachment header).
    #[serde(default)]
    pub sign_attachments: bool,
    /// Every file we send of this kind carries the ЭП-СП as its `SignaturePKCS7` instead: made
    /// with the system's `personal_signing` key (`personal_signature = "configured"`), or handed
    /// back by the official with the XML ЭП-СП, one detached CMS per file (`"two_phase"`).
    #[serde(default)]
    pub personal_sign_attachments: bool,
    #[serde(default)]
    pub fields: Vec<FieldConfig>,
    /// minijinja template of the request XML, filled from `fields` (values are XML-escaped).
    #[serde(default)]
    pub template: String,
    /// Labels by field path below the request or response root (`ЗапросЮЛ/ОГРН`,
    /// `СведЮЛ/@ИННЮЛ`), replacing the schema's documentation in the form made from the schema
    /// and in the tables of requests and answers.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
}

impl KindConfig {
    /// The package folder and the schema's path inside it.
    pub fn package_and_schema(&self) -> (PathBuf, PathBuf) {
        let dir = self
            .package
            .clone()
            .or_else(|| self.schema.parent().map(PathBuf::from))
            .unwrap_or_default();
        let main = self
            .schema
            .strip_prefix(&dir)
            .map(PathBuf::from)
            .unwrap_or_else(|_| self.schema.clone());
        (dir, main)
    }
}

fn default_personal() -> PersonalSignatureMode {
    PersonalSignatureMode::None
}

fn default_deadline() -> u32 {
    5
}
