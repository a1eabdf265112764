//! `smev-gateway dev --kind DIR`: a VS package added to dev mode as a data kind — imported as
//! `kinds import` does (main schema found, roots proposed or named), enabled for the dev
//! system, and registered with the built-in mock SMEV, whose simulated provider answers it with
//! answers generated from the response schema. One command from a VS package to a first answer.

use std::path::PathBuf;

use smev_gateway::config::{Config, ElementName, KindConfig, PersonalSignatureMode};
use smev_gateway::xsd::Package;

/// A package to add: `DIR`, or `DIR:REQUEST:RESPONSE` naming the roots.
#[derive(Debug, Clone)]
pub struct DevKind {
    dir: PathBuf,
    request: Option<String>,
    response: Option<String>,
}

impl std::str::FromStr for DevKind {
    type Err = String;

    fn from_str(s: &str) -> Result<DevKind, String> {
        let mut parts = s.splitn(3, ':');
        let dir = PathBuf::from(parts.next().unwrap_or_default());
        let request = parts.next().filter(|p| !p.is_empty()).map(str::to_string);
        let response = parts.next().filter(|p| !p.is_empty()).map(str::to_string);
        Ok(DevKind {
            dir,
            request,
            response,
        })
    }
}

/// The gateway's and the mock's entries for one package.
pub struct Imported {
    pub gateway: KindConfig,
    pub mock: mock_smev::config::KindConfig,
}

/// Imports `k` under the `n`-th provider mnemonic of dev mode.
pub fn import(k: &DevKind, n: usize) -> Result<Imported, String> {
    let dir = k
        .dir
        .canonicalize()
        .map_err(|e| format!("--kind {}: {e}", k.dir.display()))?;
    let what = |e: smev_gateway::xsd::XsdError| format!("--kind {}: {e}", dir.display());
    let package = Package::open(&dir, None).map_err(what)?;
    let request = package.request_root(k.request.as_deref()).map_err(what)?;
    let response = package.response_root(k.response.as_deref()).map_err(what)?;
    let tree = package.describe(&request).map_err(what)?;
    let namespace = request.ns.clone().unwrap_or_default();
    if response.ns.as_deref().unwrap_or_default() != namespace {
        return Err(format!(
            "--kind {}: request and response roots in different namespaces are not simulated by the mock",
            dir.display()
        ));
    }
    let id = super::kinds::kind_id(&dir);
    let name = tree
        .documentation
        .clone()
        .unwrap_or_else(|| request.local.clone());
    let schema = dir.join(&package.main);
    let gateway = KindConfig {
        id: id.clone(),
        name: name.clone(),
        request: ElementName {
            namespace: namespace.clone(),
            root: request.local.clone(),
        },
        response: ElementName {
            namespace: namespace.clone(),
            root: response.local.clone(),
        },
        schema: schema.clone(),
        package: Some(dir.clone()),
        personal_signature: PersonalSignatureMode::None,
        deadline_working_days: 5,
        require_attachment_signature: false,
        sign_attachments: false,
        personal_sign_attachments: false,
        fields: Vec::new(),
        template: String::new(),
        labels: Default::default(),
    };
    let mock = mock_smev::config::KindConfig {
        name: id,
        namespace,
        request: request.local.clone(),
        response: response.local.clone(),
        schema: Some(schema.display().to_string()),
        validate: true,
        provider: format!("VS{:02}", n + 1),
        provider_name: Some(format!("{name} (имитация)")),
        simulated: true,
        sample_request: None,
        rules: Vec::new(),
    };
    Ok(Imported { gateway, mock })
}

/// Adds the imported kinds to the dev configuration, enabled for its first system.
pub fn add_to_config(cfg: &mut Config, kinds: &[Imported]) {
    for k in kinds {
        if let Some(s) = cfg.systems.first_mut() {
            s.kinds.push(k.gateway.id.clone());
        }
        cfg.kinds.push(k.gateway.clone());
    }
}

/// Where a package's files are, for the start-up banner.
pub fn describe(kinds: &[Imported]) -> Vec<String> {
    kinds
        .iter()
        .map(|k| {
            format!(
                "{} — {} ({})",
                k.gateway.id,
                k.gateway.name,
                k.gateway.schema.display()
            )
        })
        .collect()
}
