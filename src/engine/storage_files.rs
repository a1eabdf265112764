//! Files of a received message that are in SMEV's file storage: each named in the signed
//! `RefAttachmentHeaderList` (uuid, name, GOST hash, MIME type) and reachable through the
//! one-time account of `FSAttachmentsList`, which closes at the Ack — so every file is
//! downloaded, streamed to the file area with its hash computed as the bytes arrive, checked
//! against the signed header (and its PKCS#7 signature when there is one) **before** the
//! message is stored and acknowledged. A broken transfer resumes where it stopped at the next
//! delivery; a file that differs from its header is refused.

use std::time::Duration;

use openssl::hash::Hasher;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::config::FileStorageConfig;
use crate::config::SystemConfig;
use chrono::Utc;

use crate::domain::{AttachmentRef, Source};
use crate::dsig::DigestAlgorithm;
use crate::smev::attachments::{self, Integrity};
use crate::smev::file_storage::{self as ftp, FtpEndpoint};
use crate::smev::model::{FsAttachment, RefAttachmentHeader};

use super::acknowledge::unprocessable;
use super::Context;

/// Where a system's file storage is and its upload account.
#[derive(Debug, Clone)]
pub struct FileStorageAccess {
    pub endpoint: FtpEndpoint,
    pub user: String,
    pub password: String,
}

impl FileStorageAccess {
    /// The access of `system` (its own table over `[file_storage]`), None without an address.
    pub fn of(system: &SystemConfig, defaults: &FileStorageConfig) -> Option<FileStorageAccess> {
        let own = system.file_storage.clone().unwrap_or_default();
        let address = own.address.or_else(|| defaults.address.clone())?;
        Some(FileStorageAccess {
            endpoint: FtpEndpoint {
                address,
                step_timeout: Duration::from_millis(defaults.step_timeout_ms),
            },
            user: own
                .user
                .or_else(|| defaults.user.clone())
                .unwrap_or_else(|| system.mnemonic.clone()),
            password: own.password.unwrap_or_else(|| defaults.password.clone()),
        })
    }
}

/// What became of a message's file-storage files.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// Every file is in the file area, checked.
    Files(Vec<AttachmentRef>),
    /// Not now (the storage is unreachable, a transfer broke): SMEV redelivers the message.
    Retry(String),
    /// The files cannot be accepted as they are (undeclared, a hash or signature mismatch).
    Refused(String),
}

/// The checked files of received message `message_id`, or None when it is not to be stored
/// now: its downloads failed (SMEV redelivers it and they resume; past
/// `file_storage.give_up_after_minutes` it becomes a dead letter that is not acknowledged, so a
/// person decides), or its files were refused (a dead letter, acknowledged as not accepted).
pub(crate) async fn received_files(
    ctx: &Context,
    system: &str,
    source: Source,
    message_id: &str,
    headers: &[RefAttachmentHeader],
    access: &[FsAttachment],
    envelope: &[u8],
) -> Option<Vec<AttachmentRef>> {
    if headers.is_empty() && access.is_empty() {
        return Some(Vec::new());
    }
    match fetch(ctx, system, message_id, headers, access).await {
        Fetched::Files(files) => {
            ctx.metrics
                .file_storage_downloads
                .with_label_values(&["ok"])
                .inc_by(files.len() as u64);
            if let Err(e) = ctx.store.clear_download_failure(message_id) {
                tracing::warn!(message_id, error = %e, "cannot forget the earlier download failures");
            }
            Some(files)
        }
        Fetched::Refused(reason) => {
            ctx.metrics
                .file_storage_downloads
                .with_label_values(&["refused"])
                .inc();
            let reason = format!("file storage: {reason}");
            unprocessable(ctx, system, source, envelope, &reason, Some(false), true).await;
            None
        }
        Fetched::Retry(reason) => {
            ctx.metrics
                .file_storage_downloads
                .with_label_values(&["failed"])
                .inc();
            let now = Utc::now();
            let first = match ctx.store.first_download_failure(message_id, now) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(message_id, error = %e, "store unavailable; not acknowledging");
                    return None;
                }
            };
            let limit = chrono::Duration::minutes(
                i64::try_from(ctx.config.file_storage.give_up_after_minutes).unwrap_or(i64::MAX),
            );
            if now - first >= limit {
                let reason = format!(
                    "file storage download keeps failing since {}: {reason}",
                    first.to_rfc3339()
                );
                unprocessable(ctx, system, source, envelope, &reason, None, true).await;
            } else {
                tracing::warn!(message_id, reason, "file storage download failed; not acknowledging: SMEV redelivers the message and the download resumes");
            }
            None
        }
    }
}

/// [`fetch`] for a person's «reprocess» of a dead letter: the files, or why not now.
pub(crate) async fn fetch_now(
    ctx: &Context,
    system: &str,
    message_id: &str,
    headers: &[RefAttachmentHeader],
    access: &[FsAttachment],
) -> Result<Vec<AttachmentRef>, String> {
    match fetch(ctx, system, message_id, headers, access).await {
        Fetched::Files(f) => Ok(f),
        Fetched::Retry(reason) | Fetched::Refused(reason) => Err(format!("file storage: {reason}")),
    }
}

/// Downloads and checks the files `access` names against the signed `headers`.
pub(crate) async fn fetch(
    ctx: &Context,
    system: &str,
    message_id: &str,
    headers: &[RefAttachmentHeader],
    access: &[FsAttachment],
) -> Fetched {
    let limits = &ctx.config.file_storage;
    if access.len() > limits.max_files_per_message {
        return Fetched::Refused(format!(
            "{} files in the file storage, more than the limit of {}",
            access.len(),
            limits.max_files_per_message
        ));
    }
    if let Some(h) = headers
        .iter()
        .find(|h| !access.iter().any(|a| a.uuid == h.uuid))
    {
        return Fetched::Refused(format!(
            "file {} is declared in the signed RefAttachmentHeaderList but not in FSAttachmentsList",
            bounded(&h.uuid)
        ));
    }
    let Some(storage) = ctx
        .systems
        .get(system)
        .and_then(|s| s.file_storage.as_ref())
    else {
        return Fetched::Retry("no file storage is configured (file_storage.address)".into());
    };
    let mut files = Vec::new();
    for a in access {
        let Some(header) = headers.iter().find(|h| h.uuid == a.uuid) else {
            return Fetched::Refused(format!(
                "file {} is not declared in the signed RefAttachmentHeaderList",
                bounded(&a.uuid)
            ));
        };
        match fetch_one(ctx, &storage.endpoint, message_id, header, a).await {
            Ok(f) => files.push(f),
            Err(other) => return other,
        }
    }
    Fetched::Files(files)
}

fn bounded(s: &str) -> String {
    s.chars().take(100).collect()
}

/// The algorithm of a signed `Hash`: Streebog-512 for 64 bytes, else Streebog-256.
fn hash_algorithm(header: &RefAttachmentHeader) -> DigestAlgorithm {
    match header.hash.len() {
        64 => DigestAlgorithm::Streebog512,
        _ => DigestAlgorithm::Streebog256,
    }
}

/// A file being downloaded: written to disk and hashed as the bytes arrive (the header's
/// algorithm, and Streebog-256 for the file area's key).
struct HashingFile {
    file: tokio::fs::File,
    signed: Hasher,
    key: Option<Hasher>,
}

impl HashingFile {
    fn feed(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.signed.update(bytes).map_err(std::io::Error::other)?;
        if let Some(k) = &mut self.key {
            k.update(bytes).map_err(std::io::Error::other)?;
        }
        Ok(())
    }
}

impl AsyncWrite for HashingFile {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.file).poll_write(cx, buf) {
            std::task::Poll::Ready(Ok(n)) => {
                std::task::Poll::Ready(this.feed(&buf[..n]).map(|()| n))
            }
            other => other,
        }
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

/// Hashers fed with what a resumed download already holds on disk.
async fn hashers_over(
    path: std::path::PathBuf,
    algorithm: DigestAlgorithm,
) -> std::io::Result<(Hasher, Option<Hasher>)> {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut signed = algorithm.hasher().map_err(std::io::Error::other)?;
        let mut key = match algorithm {
            DigestAlgorithm::Streebog256 => None,
            _ => Some(
                DigestAlgorithm::Streebog256
                    .hasher()
                    .map_err(std::io::Error::other)?,
            ),
        };
        if let Ok(mut f) = std::fs::File::open(&path) {
            let mut buf = vec![0u8; 1024 * 1024];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                signed.update(&buf[..n]).map_err(std::io::Error::other)?;
                if let Some(k) = &mut key {
                    k.update(&buf[..n]).map_err(std::io::Error::other)?;
                }
            }
        }
        Ok((signed, key))
    })
    .await
    .map_err(std::io::Error::other)?
}

async fn fetch_one(
    ctx: &Context,
    endpoint: &FtpEndpoint,
    message_id: &str,
    header: &RefAttachmentHeader,
    access: &FsAttachment,
) -> Result<AttachmentRef, Fetched> {
    let retry = |what: &str, e: &dyn std::fmt::Display| {
        Fetched::Retry(format!("file {}: {what}: {e}", bounded(&access.file_name)))
    };
    let partial = ctx.files.partial(&format!("{message_id}-{}", access.uuid));
    let offset = tokio::fs::metadata(&partial)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let algorithm = hash_algorithm(header);
    let (signed, key) = hashers_over(partial.clone(), algorithm)
        .await
        .map_err(|e| retry("cannot read the partial download", &e))?;
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&partial)
        .await
        .map_err(|e| retry("cannot write the file area", &e))?;
    let mut sink = HashingFile { file, signed, key };
    let limit = ctx.config.file_storage.max_file_bytes;
    match ftp::download(endpoint, access, offset, limit, &mut sink).await {
        Ok(_) => {}
        Err(e) if e.is_permanent() => {
            remove(&partial).await;
            return Err(Fetched::Refused(format!(
                "file {}: {e}",
                bounded(&access.file_name)
            )));
        }
        Err(e) => {
            // What arrived stays in `partial/`: the next delivery resumes after it.
            if let Err(f) = sink.flush().await {
                tracing::warn!(path = %partial.display(), error = %f, "cannot flush a partial download; it restarts from what reached the disk");
            }
            return Err(Fetched::Retry(e.to_string()));
        }
    }
    sink.file
        .sync_all()
        .await
        .map_err(|e| retry("cannot sync the download", &e))?;
    let got = sink
        .signed
        .finish()
        .map_err(|e| retry("hash", &e))?
        .to_vec();
    if got != header.hash {
        remove(&partial).await;
        // A resumed transfer may have joined the wrong pieces: one more try from the start.
        return Err(if offset > 0 {
            Fetched::Retry(format!(
                "file {}: the resumed download does not match its signed hash; downloading it again",
                bounded(&access.file_name)
            ))
        } else {
            Fetched::Refused(format!(
                "file {}: its GOST R 34.11-2012 hash differs from the signed RefAttachmentHeader (the file was changed)",
                bounded(&access.file_name)
            ))
        });
    }
    let key = match sink.key {
        Some(mut k) => hex::encode(k.finish().map_err(|e| retry("hash", &e))?),
        None => hex::encode(&got),
    };
    let size = tokio::fs::metadata(&partial)
        .await
        .map(|m| m.len())
        .map_err(|e| retry("cannot read the download", &e))?;
    let (integrity, signer) = match &header.signature_pkcs7 {
        Some(sig) => (
            Integrity::Verified,
            check_pkcs7(sig, &partial, &access.file_name).await?,
        ),
        None => (Integrity::Hashed, None),
    };
    let files = ctx.files.clone();
    let (p, k) = (partial.clone(), key.clone());
    tokio::task::spawn_blocking(move || files.commit(&p, &k))
        .await
        .map_err(|e| retry("cannot keep the file", &e))?
        .map_err(|e| retry("cannot keep the file", &e))?;
    Ok(AttachmentRef {
        name: header
            .file_name
            .clone()
            .unwrap_or_else(|| access.file_name.clone()),
        mime_type: attachments::safe_mime(&header.mime_type),
        size,
        hash: key,
        content_id: None,
        integrity: Some(integrity),
        in_file_area: true,
        storage_uuid: None,
        signature_pkcs7: None,
        signer,
    })
}

/// Why `files` cannot be accepted when their data kind requires signed files (`require`): the
/// first file-storage file without a verified PKCS#7 signature.
pub(crate) fn unsigned_refusal(files: &[AttachmentRef], require: bool) -> Option<String> {
    files
        .iter()
        .find(|f| require && f.integrity != Some(Integrity::Verified))
        .map(|f| {
            format!(
                "file {} from the file storage has no verified PKCS#7 signature, which the data kind requires",
                bounded(&f.name)
            )
        })
}

/// Verifies a file's detached PKCS#7 signature, streaming the downloaded file through OpenSSL
/// off the runtime (one more pass over the file; memory stays flat); returns its signer.
async fn check_pkcs7(
    signature: &[u8],
    path: &std::path::Path,
    name: &str,
) -> Result<Option<String>, Fetched> {
    let (sig, path) = (signature.to_vec(), path.to_path_buf());
    let checked = tokio::task::spawn_blocking(move || -> Result<Option<String>, String> {
        crate::dsig::pkcs7::verify_detached_file(&sig, &path).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| Fetched::Retry(e.to_string()))?;
    checked.map_err(|e| {
        Fetched::Refused(format!(
            "file {}: its PKCS#7 signature does not verify: {e}",
            bounded(name)
        ))
    })
}

async fn remove(path: &std::path::Path) {
    if let Err(e) = tokio::fs::remove_file(path).await {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove a partial download");
        }
    }
}
