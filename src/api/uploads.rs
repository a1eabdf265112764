//! Files posted as `multipart/form-data` parts: a part up to the inline (MTOM) limit is kept
//! in memory like a JSON attachment; a larger one streams to the file area's `partial/` as it
//! arrives, its GOST R 34.11-2012-256 key computed on the way, so a 1 GB file never sits in
//! memory, and (with a file storage) its upload starts as it arrives ([`EarlyUpload`]). Each file
//! is bounded by `file_storage.max_file_bytes`, the whole request by `api.max_upload_bytes`.

use axum::extract::multipart::Field;

use crate::dsig::DigestAlgorithm;
use crate::engine::intake::{NewAttachment, StagedFile};
use crate::engine::Context;

use super::early_upload::EarlyUpload;
use super::error::ApiError;

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            "payload_too_large",
            "the request exceeds api.max_upload_bytes",
        )
    } else {
        ApiError::new("invalid_parameter", format!("multipart: {}", e.body_text()))
    }
}

fn local(e: impl std::fmt::Display) -> ApiError {
    ApiError::new("storage_error", format!("cannot keep the posted file: {e}"))
}

/// Chunks queued between the connection and a spill's writer (hyper's frames are at most a few
/// hundred KiB, so this bounds the bytes in flight to a few MiB).
const SPILL_QUEUE_CHUNKS: usize = 16;

/// A file being streamed to disk: the connection's task forwards each chunk to a blocking
/// writer that hashes it and writes it, so the GOST hash (the slowest step) runs off the
/// runtime and beside the receiving instead of after it — and, with a file storage, to the
/// upload that starts as the file arrives.
struct Spill {
    path: std::path::PathBuf,
    chunks: tokio::sync::mpsc::Sender<bytes::Bytes>,
    writer: tokio::task::JoinHandle<Result<String, String>>,
    early: Option<EarlyUpload>,
}

impl Spill {
    fn start(path: std::path::PathBuf, early: Option<EarlyUpload>) -> Spill {
        let (chunks, mut queue) = tokio::sync::mpsc::channel::<bytes::Bytes>(SPILL_QUEUE_CHUNKS);
        let target = path.clone();
        let writer = tokio::task::spawn_blocking(move || -> Result<String, String> {
            use std::io::Write;
            let text = |x: &dyn std::fmt::Display| x.to_string();
            let mut hasher = DigestAlgorithm::Streebog256
                .hasher()
                .map_err(|x| text(&x))?;
            let file = std::fs::File::create(&target).map_err(|x| text(&x))?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            while let Some(chunk) = queue.blocking_recv() {
                hasher.update(&chunk).map_err(|x| text(&x))?;
                out.write_all(&chunk).map_err(|x| text(&x))?;
            }
            let file = out.into_inner().map_err(|x| text(&x.into_error()))?;
            file.sync_all().map_err(|x| text(&x))?;
            Ok(hex::encode(hasher.finish().map_err(|x| text(&x))?))
        });
        Spill {
            path,
            chunks,
            writer,
            early,
        }
    }

    /// Hands a chunk to the early upload and the writer; false when the writer has stopped
    /// (its error is what [`Spill::finish`] returns).
    async fn write(&mut self, chunk: bytes::Bytes) -> bool {
        if let Some(e) = &mut self.early {
            e.offer(&chunk);
        }
        self.chunks.send(chunk).await.is_ok()
    }

    /// Waits for the writer to sync the file, then for the early upload to end (the request is
    /// accepted only after it: the sender must not write the same file at the same time);
    /// returns the file's GOST key and the storage directory its upload began in.
    async fn finish(self) -> Result<(String, Option<String>), ApiError> {
        drop(self.chunks);
        let key = self.writer.await.map_err(local)?.map_err(local)?;
        let storage_uuid = match self.early {
            Some(e) => e.finish().await,
            None => None,
        };
        Ok((key, storage_uuid))
    }
}

/// Receives one file part of a request of `system`.
pub(super) async fn receive(
    ctx: &Context,
    system: &str,
    name: String,
    mime_type: String,
    mut field: Field<'_>,
) -> Result<NewAttachment, ApiError> {
    let spill_above = ctx.config.smev.inline_attachment_limit_bytes;
    let max = ctx.config.file_storage.max_file_bytes;
    let mut memory = Vec::new();
    let mut spill: Option<Spill> = None;
    let mut size = 0u64;
    while let Some(mut chunk) = field.chunk().await.map_err(multipart_error)? {
        size += chunk.len() as u64;
        if size > max {
            return Err(ApiError::new(
                "payload_too_large",
                format!("file {name:?} exceeds file_storage.max_file_bytes ({max} bytes)"),
            ));
        }
        if spill.is_none() {
            memory.extend_from_slice(&chunk);
            if memory.len() <= spill_above {
                continue;
            }
            // Above the inline limit: from now on the file streams to disk (and the storage).
            let path = ctx
                .files
                .partial(&format!("upload-{}", uuid::Uuid::new_v4()));
            let early = ctx
                .systems
                .get(system)
                .and_then(|sys| sys.file_storage.as_ref())
                .and_then(|access| EarlyUpload::start(access, &name));
            spill = Some(Spill::start(path, early));
            chunk = std::mem::take(&mut memory).into();
        }
        if let Some(s) = &mut spill {
            if !s.write(chunk).await {
                break;
            }
        }
    }
    let Some(s) = spill else {
        return Ok(NewAttachment::in_memory(name, mime_type, memory));
    };
    let path = s.path.clone();
    // After an early stop of the writer this is its error; otherwise the synced file's key.
    let (key, storage_uuid) = s.finish().await?;
    Ok(NewAttachment {
        name,
        mime_type,
        bytes: Vec::new(),
        staged: Some(StagedFile {
            path,
            key,
            size,
            storage_uuid,
        }),
    })
}
