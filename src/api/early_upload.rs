//! A large posted file starts its way into SMEV's file storage while it is still arriving: the
//! chunks the spill writes to disk are also offered to an FTP upload into a UUID directory chosen
//! now and kept with the request, so the upload overlaps the intake instead of following it.
//!
//! It is best-effort: when the FTP side is a little slower than the intake, the intake waits for
//! it (the file has to reach the storage before the request can be sent anyway, and uploading the
//! rest later costs more than keeping pace), but only so much — a storage much slower than the
//! client (a remote SMEV over a thin link) must not stretch the POST towards
//! `api.request_timeout_ms`. When it stalls for [`LAG_WAIT`], has held the intake back for more
//! than [`LAG_WAIT`] plus a third of the upload's time, lags by more than [`MAX_QUEUED_BYTES`] or
//! fails, it is abandoned, leaving whatever prefix arrived in the directory; the
//! sender later finds that with `SIZE` and resumes with `REST`, or skips the upload when the
//! whole file is there — the same path as after a crash. The intake waits (briefly) for the
//! upload to end before the request is accepted; one that does not end in time is stopped and its
//! directory given up, so the sender never writes a file this may still be writing.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

use crate::engine::storage_files::FileStorageAccess;
use crate::smev::file_storage as ftp;
use crate::smev::MessageId;

/// Bytes the upload may lag behind the intake before it is abandoned.
const MAX_QUEUED_BYTES: usize = 8 * 1024 * 1024;
/// Chunks queued at most (the spill hands on pieces of at most 256 KiB, so the intake waits
/// here well before the byte bound is reached).
const QUEUE_CHUNKS: usize = 16;
/// How long the intake waits for room in the queue before it abandons the upload: a storage
/// that takes no data for this long has stalled, and the request should not wait for it.
const LAG_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// How long the intake waits, once the file has arrived, for the upload to write what it was
/// offered; past it the upload is stopped and its directory given up (the sender uses a new one,
/// so it never meets a server still writing the old).
const FINISH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// An FTP upload fed with a posted file's chunks as they arrive.
pub(super) struct EarlyUpload {
    uuid: String,
    chunks: Option<mpsc::Sender<Bytes>>,
    /// Bytes offered and not yet taken by the upload.
    queued: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
    started: std::time::Instant,
    /// How long the intake has waited for room in the queue.
    waited: std::time::Duration,
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
        let queued = Arc::new(AtomicUsize::new(0));
        let taken = queued.clone();
        let task = tokio::spawn(async move {
            let mut source = ChunkReader {
                queue,
                current: Bytes::new(),
                queued: taken,
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
            queued,
            task,
            started: std::time::Instant::now(),
            waited: std::time::Duration::ZERO,
        })
    }

    /// Offers the next chunk, waiting for room while the upload keeps (roughly) pace; the
    /// rest is abandoned when it does not (see the module's doc), lags by more than
    /// [`MAX_QUEUED_BYTES`] or has finished.
    pub(super) async fn offer(&mut self, chunk: &Bytes) {
        let Some(tx) = &self.chunks else {
            return;
        };
        let behind = self.queued.fetch_add(chunk.len(), Ordering::AcqRel) + chunk.len();
        let kept = behind <= MAX_QUEUED_BYTES
            && match tx.try_send(chunk.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
                Err(mpsc::error::TrySendError::Full(chunk)) => {
                    let since = std::time::Instant::now();
                    let sent = tx.send_timeout(chunk, LAG_WAIT).await.is_ok();
                    self.waited += since.elapsed();
                    sent && self.waited <= LAG_WAIT + self.started.elapsed() / 3
                }
            };
        if !kept {
            tracing::debug!(uuid = %self.uuid, waited_ms = self.waited.as_millis() as u64, "early upload fell behind; left to the sender");
            self.chunks = None;
        }
    }

    /// Ends the upload (what was offered is written) and returns the directory it used; None
    /// when it did not end within [`FINISH_WAIT`] (stopped, its directory given up).
    pub(super) async fn finish(mut self) -> Option<String> {
        self.chunks = None;
        match tokio::time::timeout(FINISH_WAIT, &mut self.task).await {
            Ok(Ok(())) => Some(self.uuid),
            Ok(Err(e)) => {
                tracing::warn!(uuid = %self.uuid, error = %e, "early upload task failed");
                None
            }
            Err(_) => {
                self.task.abort();
                tracing::info!(uuid = %self.uuid, "early upload too slow to finish; the sender uploads to a new directory");
                None
            }
        }
    }
}

/// The offered chunks as a byte stream; it ends when the queue is closed.
struct ChunkReader {
    queue: mpsc::Receiver<Bytes>,
    current: Bytes,
    queued: Arc<AtomicUsize>,
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
        self.queued.fetch_sub(n, Ordering::AcqRel);
        Poll::Ready(Ok(()))
    }
}
