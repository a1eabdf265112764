//! A large posted file starts its way into SMEV's file storage while it is still arriving: the
//! chunks the spill writes to disk are also offered to an FTP upload into a UUID directory chosen
//! now and kept with the request, so the upload overlaps the intake instead of following it.
//!
//! It is best-effort and never holds the intake back: when the FTP side falls behind (a full
//! queue) or fails, it is abandoned, leaving whatever prefix arrived in the directory; the
//! sender later finds that with `SIZE` and resumes with `REST`, or skips the upload when the
//! whole file is there — the same path as after a crash. The intake waits for the upload to end
//! before the request is accepted, so the sender never writes the file while this still does.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

use crate::engine::storage_files::FileStorageAccess;
use crate::smev::file_storage as ftp;
use crate::smev::MessageId;

/// Chunks the upload may lag behind the intake before it is abandoned (a few MiB).
const QUEUE_CHUNKS: usize = 64;

/// An FTP upload fed with a posted file's chunks as they arrive.
pub(super) struct EarlyUpload {
    uuid: String,
    chunks: Option<mpsc::Sender<Bytes>>,
    task: tokio::task::JoinHandle<()>,
}

impl EarlyUpload {
    /// Starts uploading `name` to a new UUID directory of `access`'s area; None when the name
    /// cannot be a storage path (the sender will refuse it the same way).
    pub(super) fn start(access: &FileStorageAccess, name: &str) -> Option<EarlyUpload> {
        let uuid = MessageId::new().to_string();
        ftp::storage_path(&uuid, name).ok()?;
        let (chunks, queue) = mpsc::channel(QUEUE_CHUNKS);
        let (endpoint, user, password) = (
            access.endpoint.clone(),
            access.user.clone(),
            access.password.clone(),
        );
        let (dir, file) = (uuid.clone(), name.to_string());
        let task = tokio::spawn(async move {
            let mut source = ChunkReader {
                queue,
                current: Bytes::new(),
            };
            match ftp::upload(&endpoint, &user, &password, &dir, &file, 0, &mut source).await {
                Ok(sent) => {
                    tracing::info!(uuid = %dir, sent, "uploaded to the file storage while the file arrived")
                }
                Err(e) => {
                    tracing::info!(uuid = %dir, error = %e, "early upload stopped; the sender resumes it")
                }
            }
        });
        Some(EarlyUpload {
            uuid,
            chunks: Some(chunks),
            task,
        })
    }

    /// Offers the next chunk; a full queue or a finished upload abandons the rest.
    pub(super) fn offer(&mut self, chunk: &Bytes) {
        if let Some(tx) = &self.chunks {
            if tx.try_send(chunk.clone()).is_err() {
                tracing::debug!(uuid = %self.uuid, "early upload fell behind; left to the sender");
                self.chunks = None;
            }
        }
    }

    /// Ends the upload (what was offered is written) and returns the directory it used.
    pub(super) async fn finish(mut self) -> String {
        self.chunks = None;
        if let Err(e) = self.task.await {
            tracing::warn!(uuid = %self.uuid, error = %e, "early upload task failed");
        }
        self.uuid
    }
}

/// The offered chunks as a byte stream; it ends when the queue is closed.
struct ChunkReader {
    queue: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl AsyncRead for ChunkReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.current.is_empty() {
            match self.queue.poll_recv(cx) {
                Poll::Ready(Some(chunk)) => self.current = chunk,
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = self.current.len().min(buf.remaining());
        buf.put_slice(&self.current[..n]);
        self.current.advance(n);
        Poll::Ready(Ok(()))
    }
}
