//! The simulator's side of the file storage: preparing the scenarios' answer files at start,
//! checking a sender's uploads when its message arrives (SMEV answers a mismatch with an
//! asynchronous rejection), offering files to a message's receiver, and closing that access
//! when the receiver acknowledges the message.

use super::*;
use smev_protocol::dsig::Signer;

/// The file storage of `config` (None without `[file_storage] listen`), with every rule's
/// `storage_files` prepared in it.
pub(super) fn open(
    config: &MockConfig,
    kinds: &mut [Kind],
    signer: &dyn Signer,
) -> anyhow::Result<Option<Arc<FileStorage>>> {
    let wanted = kinds
        .iter()
        .any(|k| k.rules.iter().any(|r| !r.config.storage_files.is_empty()));
    if config.file_storage.listen.is_none() {
        if wanted {
            anyhow::bail!(
                "a scenario answers with storage_files: set [file_storage] listen (the FTP address)"
            );
        }
        return Ok(None);
    }
    let storage = FileStorage::new(&config.file_storage)?;
    for k in kinds.iter_mut() {
        for r in &mut k.rules {
            for f in &r.config.storage_files {
                let prepared = storage
                    .prepare(f, &config.base_dir, signer)
                    .map_err(|e| anyhow::anyhow!("kind {}: {e}", k.config.name))?;
                r.storage_files.push(prepared);
            }
        }
    }
    Ok(Some(Arc::new(storage)))
}

impl Simulator {
    /// The file storage, when one is configured.
    pub fn file_storage(&self) -> Option<&Arc<FileStorage>> {
        self.file_storage.as_ref()
    }

    /// What is wrong with the uploads `headers` name (SMEV's asynchronous error text), if
    /// anything; the files' verified signatures go to `v`.
    pub(super) fn upload_problem(
        &self,
        sender: &str,
        headers: &[RefAttachmentHeader],
        v: &mut Verification,
    ) -> Option<String> {
        if headers.is_empty() {
            return None;
        }
        let Some(storage) = &self.file_storage else {
            return Some("Файловое хранилище СМЭВ недоступно (mock-smev запущен без него)".into());
        };
        for h in headers {
            match storage.check_upload(sender, h) {
                Ok(checked) if h.signature_pkcs7.is_some() => {
                    v.file_signatures.push(crate::checks::FileSignature {
                        file: format!("{}/{}", h.uuid, h.file_name.as_deref().unwrap_or("")),
                        signer: checked.signer,
                    })
                }
                Ok(_) => {}
                Err(problem) => return Some(problem),
            }
        }
        None
    }

    /// Offers the files `sender` uploaded for message `message_id` to its receiver.
    pub(super) fn forward_uploads(
        &self,
        message_id: &str,
        sender: &str,
        headers: &[RefAttachmentHeader],
    ) -> Vec<FsAttachment> {
        match (&self.file_storage, headers.is_empty()) {
            (Some(storage), false) => {
                storage
                    .forward(message_id, sender, headers)
                    .unwrap_or_else(|e| {
                        tracing::error!("cannot offer the uploaded files of {message_id}: {e}");
                        Vec::new()
                    })
            }
            _ => Vec::new(),
        }
    }

    /// Offers a simulated provider's answer files for message `message_id`: the headers go
    /// into its signed content, the access list into the delivery.
    pub(super) fn offer_answer_files(
        &self,
        message_id: &str,
        planned: &mut scenario::Planned,
    ) -> Vec<FsAttachment> {
        if planned.storage_files.is_empty() {
            return Vec::new();
        }
        let Some(storage) = &self.file_storage else {
            return Vec::new();
        };
        match storage.publish(message_id, &planned.storage_files) {
            Ok((headers, access)) => {
                if let ResponseContent::Primary {
                    ref_attachment_headers,
                    ..
                } = &mut planned.content
                {
                    ref_attachment_headers.extend(headers);
                }
                access
            }
            Err(e) => {
                tracing::error!("cannot offer the answer files of {message_id}: {e}");
                Vec::new()
            }
        }
    }

    /// The receiver acknowledged `message_id`: access to its files closes.
    pub(super) fn close_files(&self, message_id: &str) {
        if let Some(storage) = &self.file_storage {
            storage.close(message_id);
        }
    }
}

/// SMEV's asynchronous rejection of an accepted Send*, if it gets one: a failed upload check
/// (always also in the status queue), else an injected `async_rejection` fault; noted in `log`.
pub(super) fn rejection(
    upload_problem: Option<String>,
    fault: &Option<FaultAction>,
    log: &mut LogEntry,
) -> Option<(String, bool)> {
    match (upload_problem, fault) {
        (Some(problem), _) => {
            log.outcome = "file_storage_rejected".into();
            Some((problem, true))
        }
        (
            None,
            Some(FaultAction::AsyncRejection {
                description,
                status_queue,
            }),
        ) => {
            log.injected = Some("async_rejection".into());
            Some((description.clone(), *status_queue))
        }
        _ => None,
    }
}
