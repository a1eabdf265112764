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

/// Pieces queued between the connection and each of a spill's blocking tasks: with
/// [`SPILL_PIECE_BYTES`], at most 4 MiB in flight per task (the same pieces, shared).
const SPILL_QUEUE_CHUNKS: usize = 16;

/// The size of the pieces a spill hands on — small chunks gathered, large ones (the in-memory
/// prefix, big frames) cut without a copy, so each queue's bound in pieces bounds its bytes. A client that
/// writes 8 KiB at a time (HTTP chunked encoding as many libraries send it) otherwise costs
/// two channel hand-overs and a thread wake-up per 8 KiB, which starved the hasher.
const SPILL_PIECE_BYTES: usize = 256 << 10;

/// A blocking task fed chunk by chunk; its result once the chunks end.
struct Stage<T> {
    chunks: tokio::sync::mpsc::Sender<bytes::Bytes>,
    task: tokio::task::JoinHandle<Result<T, String>>,
}

impl<T: Send + 'static> Stage<T> {
    fn start(
        work: impl FnOnce(&mut tokio::sync::mpsc::Receiver<bytes::Bytes>) -> Result<T, String>
            + Send
            + 'static,
    ) -> Stage<T> {
        let (chunks, mut queue) = tokio::sync::mpsc::channel(SPILL_QUEUE_CHUNKS);
        let task = tokio::task::spawn_blocking(move || work(&mut queue));
        Stage { chunks, task }
    }

    /// Ends the input and waits for the result.
    async fn finish(self) -> Result<T, ApiError> {
        drop(self.chunks);
        self.task.await.map_err(local)?.map_err(local)
    }
}

/// A file being streamed to disk: the connection's task forwards each chunk to a blocking
/// hasher and a blocking writer, so the GOST hash (the slowest step, the floor of a transfer)
/// has a core of its own beside the receiving and the disk writes instead of after them —
/// and, with a file storage, to the upload that starts as the file arrives.
struct Spill {
    path: std::path::PathBuf,
    hasher: Stage<String>,
    writer: Stage<()>,
    early: Option<EarlyUpload>,
    /// Received bytes not yet handed on (less than [`SPILL_PIECE_BYTES`]).
    pending: bytes::BytesMut,
}

impl Spill {
    fn start(path: std::path::PathBuf, early: Option<EarlyUpload>) -> Spill {
        let hasher = Stage::start(|queue| {
            let mut hasher = DigestAlgorithm::Streebog256
                .hasher()
                .map_err(|x| x.to_string())?;
            while let Some(chunk) = queue.blocking_recv() {
                hasher.update(&chunk).map_err(|x| x.to_string())?;
            }
            Ok(hex::encode(hasher.finish().map_err(|x| x.to_string())?))
        });
        let target = path.clone();
        let writer = Stage::start(move |queue| {
            use std::io::Write;
            let file = std::fs::File::create(&target).map_err(|x| x.to_string())?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            while let Some(chunk) = queue.blocking_recv() {
                out.write_all(&chunk).map_err(|x| x.to_string())?;
            }
            let file = out.into_inner().map_err(|x| x.into_error().to_string())?;
            file.sync_all().map_err(|x| x.to_string())
        });
        Spill {
            path,
            hasher,
            writer,
            early,
            pending: bytes::BytesMut::new(),
        }
    }

    /// Takes a received chunk, handing on whole pieces; false when the hasher or the writer
    /// has stopped (its error is what [`Spill::finish`] returns).
    async fn write(&mut self, mut chunk: bytes::Bytes) -> bool {
        use bytes::Buf;
        while !chunk.is_empty() {
            if self.pending.is_empty() && chunk.len() >= SPILL_PIECE_BYTES {
                // Whole pieces of a large chunk go on without a copy.
                let piece = chunk.split_to(SPILL_PIECE_BYTES);
                if !self.hand_on(piece).await {
                    return false;
                }
                continue;
            }
            if self.pending.capacity() < SPILL_PIECE_BYTES {
                // Exactly one piece's room, so no piece is reallocated while it fills.
                self.pending.reserve(SPILL_PIECE_BYTES - self.pending.len());
            }
            let n = (SPILL_PIECE_BYTES - self.pending.len()).min(chunk.len());
            self.pending.extend_from_slice(&chunk[..n]);
            chunk.advance(n);
            if self.pending.len() == SPILL_PIECE_BYTES {
                let piece = std::mem::take(&mut self.pending).freeze();
                if !self.hand_on(piece).await {
                    return false;
                }
            }
        }
        true
    }

    /// Hands a piece to the early upload, the hasher and the writer.
    async fn hand_on(&mut self, piece: bytes::Bytes) -> bool {
        if let Some(e) = &mut self.early {
            e.offer(&piece).await;
        }
        self.hasher.chunks.send(piece.clone()).await.is_ok()
            && self.writer.chunks.send(piece).await.is_ok()
    }

    /// Waits for the file's hash and for the writer to sync the file, then for the early
    /// upload to end (the request is accepted only after it: the sender must not write the
    /// same file at the same time); returns the file's GOST key and the storage directory its
    /// upload began in.
    async fn finish(mut self) -> Result<(String, Option<String>), ApiError> {
        if !self.pending.is_empty() {
            let rest = self.pending.split().freeze();
            // When this fails, the stage that stopped reports why below.
            self.hand_on(rest).await;
        }
        let Spill {
            hasher,
            writer,
            early,
            ..
        } = self;
        let key = hasher.finish().await;
        writer.finish().await?;
        let key = key?;
        let storage_uuid = match early {
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

#[cfg(test)]
mod tests {
    use super::{Spill, SPILL_PIECE_BYTES};

    const P: usize = SPILL_PIECE_BYTES;

    /// Chunk sizes that meet every path: small ones gathered, a chunk that fills a piece
    /// exactly, one that straddles a boundary, large ones cut, an in-memory prefix of many
    /// pieces, and a tail shorter than a piece.
    const CASES: &[&[usize]] = &[
        &[1],
        &[P],
        &[8192; 100],
        &[P - 1, 2, P + 3],
        &[5 * P + 17, 1, P, 3 * P - 1],
        &[10, 3 * P, 8192, 8192, P / 2, 7],
    ];

    #[tokio::test]
    async fn a_spilled_file_is_the_bytes_received_and_its_key_their_gost_hash() {
        for sizes in CASES {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("spill");
            let mut spill = Spill::start(path.clone(), None);
            let mut sent = Vec::new();
            for (n, size) in sizes.iter().enumerate() {
                let chunk: Vec<u8> = (0..*size).map(|i| (i * 31 + n * 7) as u8).collect();
                sent.extend_from_slice(&chunk);
                assert!(spill.write(chunk.into()).await, "{sizes:?}");
            }
            let (key, storage) = spill.finish().await.unwrap();
            assert_eq!(storage, None);
            assert!(std::fs::read(&path).unwrap() == sent, "{sizes:?}");
            assert_eq!(
                key,
                hex::encode(crate::openssl_cli::streebog_256(&sent)),
                "{sizes:?}"
            );
        }
    }
}
