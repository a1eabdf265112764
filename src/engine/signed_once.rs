//! Build and sign once, whichever role sends (SendRequest as a consumer, SendResponse as a
//! provider): the first attempt under a MessageID builds the envelope, signs it on the CPU pool
//! (counted in the signature metrics) and stores the signed bytes; every later attempt under the
//! same MessageID sends exactly those bytes again. A retry therefore never signs anew, and what
//! SMEV received is what the store holds as evidence.

use crate::domain::AttachmentRef;
use crate::dsig::Signer;
use crate::smev::build::{AttachmentMode, Outgoing};
use crate::smev::client::sign_envelope;
use crate::smev::model::{AttachmentContent, AttachmentHeader};
use crate::smev::mtom::MimePart;

use super::Context;

/// A message ready to post.
pub(crate) struct Signed {
    pub outgoing: Outgoing,
    /// Blob key of the envelope when it was signed now (the role records it in its event);
    /// `None` when the stored envelope was sent again.
    pub new_envelope: Option<String>,
}

/// How attachments travel, from the configuration.
pub(crate) fn attachment_mode(ctx: &Context) -> AttachmentMode {
    match ctx.config.smev.attachment_transfer {
        crate::config::AttachmentTransfer::Mtom => AttachmentMode::Xop,
        crate::config::AttachmentTransfer::Inline => AttachmentMode::Inline,
    }
}

/// The Content-ID a stored attachment travels under.
fn content_id(a: &AttachmentRef) -> String {
    a.content_id.clone().unwrap_or_else(|| a.hash.clone())
}

/// The signed `AttachmentHeader` of each stored attachment sent inline (with its PKCS#7
/// signature, when it has one).
pub(crate) fn attachment_headers(
    ctx: &Context,
    attachments: &[AttachmentRef],
) -> Result<Vec<AttachmentHeader>, String> {
    attachments
        .iter()
        .filter(|a| a.storage_uuid.is_none())
        .map(|a| {
            Ok(AttachmentHeader {
                content_id: content_id(a),
                mime_type: a.mime_type.clone(),
                signature_pkcs7: super::file_signatures::signature_of(ctx, a)?,
            })
        })
        .collect()
}

/// The envelope of `action` to send: the stored one (`stored`, a blob key) or, when there is
/// none, the one `build` makes from the attachments' bytes, signed by `signer` over the element
/// `signed_id` and stored.
pub(crate) async fn sign_once(
    ctx: &Context,
    action: &'static str,
    stored: Option<&str>,
    attachments: &[AttachmentRef],
    signer: &dyn Signer,
    signed_id: &str,
    build: impl FnOnce(&[AttachmentContent], AttachmentMode) -> Outgoing,
) -> Result<Signed, String> {
    let mode = attachment_mode(ctx);
    let mut contents = Vec::with_capacity(attachments.len());
    // Files in the file storage travel there, named by RefAttachmentHeader instead.
    for a in attachments.iter().filter(|a| a.storage_uuid.is_none()) {
        let content = match ctx.files.path(&a.hash).filter(|_| a.in_file_area) {
            Some(path) => std::fs::read(path),
            None => ctx.store.blob(&a.hash).map_err(std::io::Error::other),
        }
        .map_err(|e| format!("attachment {}: {e}", a.name))?;
        contents.push(AttachmentContent {
            id: content_id(a),
            content,
        });
    }
    if let Some(key) = stored {
        let xml = ctx
            .store
            .blob(key)
            .map_err(|e| format!("signed envelope: {e}"))?;
        let parts = match mode {
            AttachmentMode::Xop => contents
                .into_iter()
                .map(|c| MimePart {
                    content_id: c.id,
                    content_type: "application/octet-stream".into(),
                    body: c.content,
                })
                .collect(),
            AttachmentMode::Inline => Vec::new(),
        };
        return Ok(Signed {
            outgoing: Outgoing { xml, parts, action },
            new_envelope: None,
        });
    }
    let signed =
        crate::cpu::offload(|| sign_envelope(build(&contents, mode), signer, signed_id)).await;
    let result = if signed.is_ok() { "ok" } else { "failed" };
    ctx.metrics
        .signatures
        .with_label_values(&["sign", result])
        .inc();
    let outgoing = signed.map_err(|e| e.to_string())?;
    let key = ctx
        .store
        .put_blob(&outgoing.xml)
        .map_err(|e| format!("cannot store the signed envelope: {e}"))?;
    Ok(Signed {
        outgoing,
        new_envelope: Some(key),
    })
}
