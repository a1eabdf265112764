//! Configuration: one TOML file (documented key by key in `config/default.toml`), every key
//! overridable by environment variables `SMEV_GATEWAY__SECTION__KEY` (the `config` crate), and
//! unknown keys refused so that a typo never silently falls back to a default.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod file_storage;
mod sections;
mod systems;

pub use file_storage::*;
pub use sections::*;
pub use systems::*;

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
    pub calendar: CalendarConfig,
    #[serde(default)]
    pub file_storage: FileStorageConfig,
    #[serde(default)]
    pub systems: Vec<SystemConfig>,
    #[serde(default)]
    pub kinds: Vec<KindConfig>,
}

/// Whether `s` is a SHA-256 digest in hex (64 hex digits).
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
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

    /// The example configuration the repository ships (`config/default.toml`), for tests.
    #[cfg(test)]
    pub(crate) fn example() -> Config {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("config/default.toml")).unwrap();
        Config::from_toml(&text, &root.join("config")).unwrap()
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
        if let Some(p) = &mut self.file_storage.dir {
            fix(p);
        }
        if let Some(p) = &mut self.ui.cadesplugin_script {
            fix(p);
        }
        if let Some(p) = &mut self.webhooks.ca_file {
            fix(p);
        }
        for p in [&mut self.api.tls_certificate, &mut self.api.tls_key]
            .into_iter()
            .flatten()
        {
            fix(p);
        }
        for f in &mut self.calendar.files {
            fix(f);
        }
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
            if let Some(p) = &mut k.package {
                fix(p);
            }
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
            if k.personal_sign_attachments {
                if k.personal_signature == PersonalSignatureMode::None {
                    errors.push(format!(
                        "kinds.{}: personal_sign_attachments needs personal_signature = \"two_phase\" or \"configured\"",
                        k.id
                    ));
                }
                if k.sign_attachments {
                    errors.push(format!(
                        "kinds.{}: a file carries one SignaturePKCS7: set sign_attachments (ЭП-ОВ) or personal_sign_attachments (ЭП-СП), not both",
                        k.id
                    ));
                }
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
                if !is_sha256_hex(&t.sha256) {
                    errors.push(format!(
                        "systems.{}: token {:?} needs a 64-hex-digit sha256",
                        s.id, t.name
                    ));
                }
            }
            if let Some(w) = &s.webhook {
                if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                    errors.push(format!(
                        "systems.{}: webhook url must be http:// or https://",
                        s.id
                    ));
                }
            }
        }
        if let Some(t) = &self.metrics.token_sha256 {
            if !is_sha256_hex(t) {
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
            if u.snils_digits().is_some_and(|d| d.len() != 11) {
                errors.push(format!("ui.users.{}: snils needs 11 digits", u.login));
            }
            for t in &u.certificates {
                if !is_sha256_hex(t) {
                    errors.push(format!(
                        "ui.users.{}: certificate thumbprint {t:?} needs 64 hex digits (SHA-256)",
                        u.login
                    ));
                }
            }
        }
        if self.api.tls_certificate.is_some() != self.api.tls_key.is_some() {
            errors.push(
                "api.tls_certificate and api.tls_key go together: set both or neither".into(),
            );
        }
        if self.ui.remember_days > 90 {
            errors.push(format!(
                "ui.remember_days: {} is more than 90 days",
                self.ui.remember_days
            ));
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
