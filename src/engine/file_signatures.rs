//! PKCS#7 signatures of the files we send: for a kind with `sign_attachments`, each file gets
//! a detached CMS SignedData made with the system's ЭП-ОВ key when the message is accepted
//! (GOST R 34.10-2012 through OpenSSL), stored as a blob beside the file and carried in its
//! `AttachmentHeader` or `RefAttachmentHeader` as `SignaturePKCS7`.

use std::sync::Arc;

use crate::domain::AttachmentRef;
use crate::dsig::Signer;

use super::intake::{IntakeError, NewAttachment};
use super::Context;

/// Signs each of `files` (in the order of `refs`) and records the signature's blob key.
pub(crate) async fn sign(
    ctx: &Context,
    signer: &Arc<dyn Signer>,
    files: &[NewAttachment],
    refs: &mut [AttachmentRef],
) -> Result<(), IntakeError> {
    for (file, r) in files.iter().zip(refs.iter_mut()) {
        let signature = crate::cpu::offload(|| match &file.staged {
            // A large file is streamed from the file area through OpenSSL's digest.
            Some(s) => signer.pkcs7_detached_file(&s.path),
            None => signer.pkcs7_detached(&file.bytes),
        })
        .await
        .map_err(|e| IntakeError::Signing(format!("PKCS#7 of {}: {e}", file.name)))?;
        r.signature_pkcs7 = Some(ctx.store.put_blob(&signature)?);
    }
    Ok(())
}

/// The signature of `a` to put into its header, when it has one.
pub(crate) fn signature_of(ctx: &Context, a: &AttachmentRef) -> Result<Option<Vec<u8>>, String> {
    a.signature_pkcs7
        .as_deref()
        .map(|k| {
            ctx.store
                .blob(k)
                .map_err(|e| format!("PKCS#7 of {}: {e}", a.name))
        })
        .transpose()
}

#[cfg(test)]
#[path = "file_signatures_tests.rs"]
mod tests;
