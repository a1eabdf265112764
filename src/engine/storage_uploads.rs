//! Files we send through SMEV's file storage: when a message's attachments exceed the inline
//! (MTOM) limit and the system has a file storage, every attachment of it gets a UUID v1
//! directory when the message is accepted (stored with the record, so every attempt uploads to
//! the same place), is uploaded before each send that needs it — skipped when the storage already
//! holds all of it, resumed with `REST` when it holds part — and is named in the signed
//! `RefAttachmentHeaderList` with its GOST R 34.11-2012 hash, the blob key the gateway already has.

use tokio::io::AsyncSeekExt;

use crate::domain::AttachmentRef;
use crate::smev::file_storage::{self as ftp, FileStorageError};
use crate::smev::model::RefAttachmentHeader;
use crate::smev::{mtom, MessageId, SmevError};

use super::intake::IntakeError;
use super::Context;

/// Decides how `attachments` of a message of `system` travel: inline up to the limit; above
/// it, through the file storage when the system has one (each file within
/// `file_storage.max_file_bytes`), else refused.
pub(crate) fn route(
    ctx: &Context,
    system: &str,
    attachments: &mut [AttachmentRef],
) -> Result<(), IntakeError> {
    let limit = ctx.config.smev.inline_attachment_limit_bytes;
    let inline = mtom::check_inline_limit(
        attachments
            .iter()
            .map(|a| usize::try_from(a.size).unwrap_or(usize::MAX)),
        limit,
    );
    let total = match inline {
        Ok(()) => {
            // Inline after all: a directory an early upload began is left unused.
            for a in attachments.iter_mut() {
                a.storage_uuid = None;
            }
            return Ok(());
        }
        Err(SmevError::AttachmentTooLarge { total, .. }) => total,
        Err(other) => return Err(IntakeError::Invalid(other.to_string())),
    };
    let has_storage = ctx
        .systems
        .get(system)
        .is_some_and(|s| s.file_storage.is_some());
    if !has_storage {
        return Err(IntakeError::TooLarge {
            what: "attachments (no file storage is configured for files above the inline limit)"
                .into(),
            size: total,
            limit,
        });
    }
    let max = ctx.config.file_storage.max_file_bytes;
    for a in attachments.iter_mut() {
        if a.size > max {
            return Err(IntakeError::TooLarge {
                what: format!("attachment {}", a.name),
                size: usize::try_from(a.size).unwrap_or(usize::MAX),
                limit: usize::try_from(max).unwrap_or(usize::MAX),
            });
        }
        // Kept when the file's upload began while it arrived (api::early_upload).
        a.storage_uuid
            .get_or_insert_with(|| MessageId::new().to_string());
    }
    Ok(())
}

/// Uploads the file-storage attachments of a message of `system` (what is already there in
/// full is not sent again) and returns their signed headers.
pub(crate) async fn upload_all(
    ctx: &Context,
    system: &str,
    attachments: &[AttachmentRef],
) -> Result<Vec<RefAttachmentHeader>, SmevError> {
    let mut headers = Vec::new();
    for a in attachments {
        let Some(uuid) = &a.storage_uuid else {
            continue;
        };
        let storage = ctx
            .systems
            .get(system)
            .and_then(|s| s.file_storage.as_ref())
            .ok_or(SmevError::FileStorage(FileStorageError::NotConfigured))?;
        let (endpoint, user, password) = (&storage.endpoint, &storage.user, &storage.password);
        let there = ftp::uploaded_size(endpoint, user, password, uuid, &a.name)
            .await
            .map_err(SmevError::FileStorage)?;
        let offset = match there {
            Some(n) if n == a.size => None,
            Some(n) if n < a.size => Some(n),
            _ => Some(0),
        };
        if let Some(offset) = offset {
            let local = |e: &dyn std::fmt::Display| {
                SmevError::FileStorage(FileStorageError::Local(format!(
                    "attachment {}: {e}",
                    a.name
                )))
            };
            let sent = if a.in_file_area {
                // A large file streams from disk.
                let path = ctx
                    .files
                    .path(&a.hash)
                    .ok_or_else(|| local(&"not in the file area"))?;
                let mut file = tokio::fs::File::open(&path).await.map_err(|e| local(&e))?;
                file.seek(std::io::SeekFrom::Start(offset))
                    .await
                    .map_err(|e| local(&e))?;
                ftp::upload(endpoint, user, password, uuid, &a.name, offset, &mut file).await
            } else {
                let bytes = ctx.store.blob(&a.hash).map_err(|e| local(&e))?;
                let start = usize::try_from(offset)
                    .unwrap_or(bytes.len())
                    .min(bytes.len());
                let mut rest = &bytes[start..];
                ftp::upload(endpoint, user, password, uuid, &a.name, offset, &mut rest).await
            };
            let result = if sent.is_ok() { "ok" } else { "failed" };
            ctx.metrics
                .file_storage_uploads
                .with_label_values(&[result])
                .inc();
            sent.map_err(SmevError::FileStorage)?;
            tracing::info!(file = %a.name, uuid, offset, size = a.size, "uploaded to the file storage");
        }
        headers.push(RefAttachmentHeader {
            uuid: uuid.clone(),
            file_name: Some(a.name.clone()),
            hash: hex::decode(&a.hash).map_err(|e| {
                SmevError::FileStorage(FileStorageError::Local(format!("blob key: {e}")))
            })?,
            mime_type: a.mime_type.clone(),
            signature_pkcs7: super::file_signatures::signature_of(ctx, a)
                .map_err(|e| SmevError::FileStorage(FileStorageError::Local(e)))?,
        });
    }
    Ok(headers)
}
