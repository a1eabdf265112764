//! Files posted as `multipart/form-data` parts: a part up to the inline (MTOM) limit is kept
//! in memory like a JSON attachment; a larger one streams to the file area's `partial/` as it
//! arrives, its GOST R 34.11-2012-256 key computed on the way, so a 1 GB file never sits in
//! memory. Each file is bounded by `file_storage.max_file_bytes`, the whole request by
//! `api.max_upload_bytes`.

use axum::extract::multipart::Field;
use tokio::io::AsyncWriteExt;

use crate::dsig::DigestAlgorithm;
use crate::engine::intake::{NewAttachment, StagedFile};
use crate::engine::Context;

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

/// A file being streamed to disk (buffered: multipart chunks are small).
struct Spill {
    path: std::path::PathBuf,
    file: tokio::io::BufWriter<tokio::fs::File>,
    hasher: openssl::hash::Hasher,
}

impl Spill {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), ApiError> {
        self.hasher.update(bytes).map_err(local)?;
        self.file.write_all(bytes).await.map_err(local)
    }
}

/// Receives one file part.
pub(super) async fn receive(
    ctx: &Context,
    name: String,
    mime_type: String,
    mut field: Field<'_>,
) -> Result<NewAttachment, ApiError> {
    let spill_above = ctx.config.smev.inline_attachment_limit_bytes;
    let max = ctx.config.file_storage.max_file_bytes;
    let mut memory = Vec::new();
    let mut spill: Option<Spill> = None;
    let mut size = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        size += chunk.len() as u64;
        if size > max {
            return Err(ApiError::new(
                "payload_too_large",
                format!("file {name:?} exceeds file_storage.max_file_bytes ({max} bytes)"),
            ));
        }
        match &mut spill {
            Some(s) => s.write(&chunk).await?,
            None => {
                memory.extend_from_slice(&chunk);
                if memory.len() > spill_above {
                    let path = ctx
                        .files
                        .partial(&format!("upload-{}", uuid::Uuid::new_v4()));
                    let file = tokio::io::BufWriter::with_capacity(
                        1 << 20,
                        tokio::fs::File::create(&path).await.map_err(local)?,
                    );
                    let hasher = DigestAlgorithm::Streebog256.hasher().map_err(local)?;
                    let mut s = Spill { path, file, hasher };
                    s.write(&memory).await?;
                    memory = Vec::new();
                    spill = Some(s);
                }
            }
        }
    }
    let Some(mut s) = spill else {
        return Ok(NewAttachment::in_memory(name, mime_type, memory));
    };
    s.file.flush().await.map_err(local)?;
    s.file.get_ref().sync_all().await.map_err(local)?;
    let key = hex::encode(s.hasher.finish().map_err(local)?);
    Ok(NewAttachment {
        name,
        mime_type,
        bytes: Vec::new(),
        staged: Some(StagedFile {
            path: s.path,
            key,
            size,
        }),
    })
}
