//! `smev-gateway envelope send-request|get-response`: prints a signed SMEV envelope that an
//! integrator can post by hand (`curl -H 'SOAPAction: "urn:SendRequest"' --data-binary @-`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use smev_gateway::config::Config;
use smev_gateway::dsig::{OpenSslSigner, Signer};
use smev_gateway::smev::build::{self, AttachmentMode};
use smev_gateway::smev::client::{now, sign_envelope};
use smev_gateway::smev::model::{
    AttachmentContent, AttachmentHeader, MessageTypeSelector, QualifiedName,
    SenderProvidedRequestData,
};
use smev_gateway::smev::schema::Schema;
use smev_gateway::smev::MessageId;

use super::{read_input, write_stdout, CmdResult};

#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// Configuration file: the ЭП-ОВ key of the first system and the data kinds come from it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// ЭП-ОВ key (instead of the configuration).
    #[arg(long)]
    key: Option<PathBuf>,
    #[arg(long)]
    cert: Option<PathBuf>,
    #[arg(
        long = "pass",
        env = "SMEV_GATEWAY_KEY_PASSWORD",
        hide_env_values = true
    )]
    password: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum EnvelopeCommand {
    /// A signed SendRequest with the business XML of FILE (validated against the kind's XSD).
    SendRequest {
        /// Data kind id from the configuration, or an XSD file.
        #[arg(long)]
        kind: String,
        /// The business XML.
        #[arg(long)]
        content: PathBuf,
        /// Mark as a test message.
        #[arg(long)]
        test: bool,
        /// Files to attach (inline base64 in the printed envelope).
        #[arg(long = "attach")]
        attach: Vec<PathBuf>,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// A signed GetResponse, optionally filtered by a data kind's root element.
    GetResponse {
        #[arg(long)]
        namespace: Option<String>,
        #[arg(long)]
        root: Option<String>,
        #[command(flatten)]
        keys: KeyArgs,
    },
}

fn signer(k: &KeyArgs, cfg: Option<&Config>) -> Result<Arc<dyn Signer>, String> {
    if let Some(key) = &k.key {
        return Ok(Arc::new(
            OpenSslSigner::from_files(key, k.cert.as_deref(), k.password.as_deref())
                .map_err(|e| e.to_string())?,
        ));
    }
    let cfg = cfg.ok_or("give --key/--cert or --config")?;
    let s = cfg
        .systems
        .first()
        .ok_or("the configuration has no system")?;
    Ok(Arc::new(smev_gateway::engine::load_signer(&s.signing)?))
}

fn mime_of(p: &Path) -> &'static str {
    match p
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
        .as_str()
    {
        "pdf" => "application/pdf",
        "xml" => "application/xml",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xls" => "application/vnd.ms-excel",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "doc" => "application/msword",
        "rtf" => "application/rtf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

pub fn run(cmd: EnvelopeCommand) -> CmdResult {
    match cmd {
        EnvelopeCommand::SendRequest {
            kind,
            content,
            test,
            attach,
            keys,
        } => {
            let cfg = match &keys.config {
                Some(p) => Some(Config::load(p).map_err(|e| e.to_string())?),
                None => None,
            };
            let schema_path = match cfg.as_ref().and_then(|c| c.kind(&kind)) {
                Some(k) => k.schema.clone(),
                None if Path::new(&kind).is_file() => PathBuf::from(&kind),
                None => {
                    return Err(format!(
                        "unknown kind {kind:?}: give a kind id from --config or an XSD file"
                    ))
                }
            };
            let xml = String::from_utf8(read_input(&content)?)
                .map_err(|_| "the content is not UTF-8".to_string())?;
            let schema = Schema::load(&schema_path)?;
            schema
                .validate(xml.as_bytes())
                .map_err(|e| format!("{}: schema violation: {e}", content.display()))?;
            let (body, _) = build::business_content(&xml).map_err(|e| e.to_string())?;
            let mut contents = Vec::new();
            let mut headers = Vec::new();
            for (i, f) in attach.iter().enumerate() {
                let id = format!("attachment{}", i + 1);
                contents.push(AttachmentContent {
                    id: id.clone(),
                    content: read_input(f)?,
                });
                headers.push(AttachmentHeader {
                    content_id: id,
                    mime_type: mime_of(f).into(),
                    signature_pkcs7: None,
                });
            }
            let data = SenderProvidedRequestData {
                id: build::ID_CONSUMER.into(),
                message_id: MessageId::new().to_string(),
                reference_message_id: None,
                transaction_code: None,
                node_id: None,
                eol: None,
                content: body,
                personal_signature: None,
                attachment_headers: headers,
                ref_attachment_headers: Vec::new(),
                test_message: test,
            };
            let s = signer(&keys, cfg.as_ref())?;
            let out = sign_envelope(
                build::send_request(&data, &contents, AttachmentMode::Inline, false),
                s.as_ref(),
                build::ID_CONSUMER,
            )
            .map_err(|e| e.to_string())?;
            write_stdout(&out.xml)?;
        }
        EnvelopeCommand::GetResponse {
            namespace,
            root,
            keys,
        } => {
            let cfg = match &keys.config {
                Some(p) => Some(Config::load(p).map_err(|e| e.to_string())?),
                None => None,
            };
            let kind = match (namespace, root) {
                (Some(namespace), Some(local_name)) => Some(QualifiedName {
                    namespace,
                    local_name,
                }),
                (None, None) => None,
                _ => return Err("give both --namespace and --root, or neither".into()),
            };
            let sel = MessageTypeSelector {
                id: build::ID_CALLER.into(),
                kind,
                timestamp: now(),
                node_id: None,
            };
            let s = signer(&keys, cfg.as_ref())?;
            let out = sign_envelope(build::get_response(&sel), s.as_ref(), build::ID_CALLER)
                .map_err(|e| e.to_string())?;
            write_stdout(&out.xml)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
