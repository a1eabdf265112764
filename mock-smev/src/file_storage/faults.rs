//! Faults of the simulated file storage, set through `POST /admin/file-storage/faults`: refused
//! logins, a download broken in the middle, a slow link (either way), and served bytes that differ
//! from the ones hashed in the signed header (a tampered file). Each counted fault fires that many
//! times. Bytes served and received are counted, so tests can tell a resumed transfer from a
//! repeated one.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, ReadBuf};

/// What `POST /admin/file-storage/faults` sets (every field replaces the current value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FtpFaultSpec {
    /// The next N logins are refused.
    pub refuse_logins: u32,
    /// The next `breaks` downloads stop after this many bytes of the data connection.
    pub break_after_bytes: Option<u64>,
    pub breaks: u32,
    /// Downloads are served at most this fast (None: full speed).
    pub bytes_per_second: Option<u64>,
    /// The next N downloads serve the file with its first byte changed.
    pub tamper: u32,
    /// Uploads are taken at most this fast (None: full speed).
    pub upload_bytes_per_second: Option<u64>,
}

/// The armed faults, and how many bytes downloads were served and uploads received in all.
#[derive(Debug, Default)]
pub struct FtpFaults {
    served_bytes: AtomicU64,
    received_bytes: AtomicU64,
    upload_bytes_per_second: AtomicU64,
    refuse_logins: AtomicU32,
    breaks: Mutex<Option<(u64, u32)>>,
    bytes_per_second: AtomicU64,
    tamper: AtomicU32,
}

fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

impl FtpFaults {
    /// Arms `spec` (replacing what was armed).
    pub fn set(&self, spec: &FtpFaultSpec) {
        self.refuse_logins
            .store(spec.refuse_logins, Ordering::Release);
        *self.breaks.lock().unwrap_or_else(|e| e.into_inner()) = spec
            .break_after_bytes
            .filter(|_| spec.breaks > 0)
            .map(|b| (b, spec.breaks));
        self.bytes_per_second
            .store(spec.bytes_per_second.unwrap_or(0), Ordering::Release);
        self.tamper.store(spec.tamper, Ordering::Release);
        self.upload_bytes_per_second
            .store(spec.upload_bytes_per_second.unwrap_or(0), Ordering::Release);
    }

    /// What is armed now.
    pub fn get(&self) -> FtpFaultSpec {
        let breaks = *self.breaks.lock().unwrap_or_else(|e| e.into_inner());
        let rate = self.bytes_per_second.load(Ordering::Acquire);
        let upload_rate = self.upload_bytes_per_second.load(Ordering::Acquire);
        FtpFaultSpec {
            refuse_logins: self.refuse_logins.load(Ordering::Acquire),
            break_after_bytes: breaks.map(|(b, _)| b),
            breaks: breaks.map_or(0, |(_, n)| n),
            bytes_per_second: (rate > 0).then_some(rate),
            tamper: self.tamper.load(Ordering::Acquire),
            upload_bytes_per_second: (upload_rate > 0).then_some(upload_rate),
        }
    }

    /// Bytes served to downloads since the start (a resumed download adds only the rest).
    pub fn served_bytes(&self) -> u64 {
        self.served_bytes.load(Ordering::Acquire)
    }

    /// Bytes received from uploads since the start (a resumed upload adds only the rest).
    pub fn received_bytes(&self) -> u64 {
        self.received_bytes.load(Ordering::Acquire)
    }

    /// Whether this login is refused (and one refusal used up).
    pub fn take_refused_login(&self) -> bool {
        take_one(&self.refuse_logins)
    }

    /// The faults of one upload that starts now: only a slow link.
    fn for_upload(&self) -> TransferFaults {
        let rate = self.upload_bytes_per_second.load(Ordering::Acquire);
        TransferFaults {
            bytes_per_second: (rate > 0).then_some(rate),
            upload: true,
            ..TransferFaults::default()
        }
    }

    /// The faults of one download that starts now.
    fn for_download(&self) -> TransferFaults {
        let break_after = {
            let mut b = self.breaks.lock().unwrap_or_else(|e| e.into_inner());
            match *b {
                Some((bytes, n)) => {
                    *b = (n > 1).then_some((bytes, n - 1));
                    Some(bytes)
                }
                None => None,
            }
        };
        let rate = self.bytes_per_second.load(Ordering::Acquire);
        TransferFaults {
            break_after,
            bytes_per_second: (rate > 0).then_some(rate),
            tamper: take_one(&self.tamper),
            upload: false,
        }
    }
}

/// The faults one transfer carries.
#[derive(Debug, Clone, Copy, Default)]
struct TransferFaults {
    break_after: Option<u64>,
    bytes_per_second: Option<u64>,
    tamper: bool,
    /// Counted as received (an upload) rather than served.
    upload: bool,
}

/// A file being served (or an upload's data connection being read), counted, with its
/// transfer's faults applied.
pub(super) struct FaultyReader {
    inner: Box<dyn AsyncRead + Send + Sync + Unpin>,
    faults: TransferFaults,
    counter: std::sync::Arc<FtpFaults>,
    /// Bytes this transfer has moved so far.
    moved: u64,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl FaultyReader {
    /// A download of a file `inner` reads.
    pub(super) fn download(
        inner: Box<dyn AsyncRead + Send + Sync + Unpin>,
        counter: std::sync::Arc<FtpFaults>,
    ) -> Self {
        let faults = counter.for_download();
        Self::with(inner, faults, counter)
    }

    /// An upload whose data connection `inner` reads.
    pub(super) fn upload(
        inner: Box<dyn AsyncRead + Send + Sync + Unpin>,
        counter: std::sync::Arc<FtpFaults>,
    ) -> Self {
        let faults = counter.for_upload();
        Self::with(inner, faults, counter)
    }

    fn with(
        inner: Box<dyn AsyncRead + Send + Sync + Unpin>,
        faults: TransferFaults,
        counter: std::sync::Arc<FtpFaults>,
    ) -> Self {
        FaultyReader {
            inner,
            faults,
            counter,
            moved: 0,
            pause: None,
        }
    }
}

impl AsyncRead for FaultyReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if let Some(p) = this.pause.as_mut() {
            if p.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.pause = None;
        }
        if let Some(limit) = this.faults.break_after {
            if this.moved >= limit {
                return Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "transfer broken (injected fault)",
                )));
            }
        }
        let mut room = buf.remaining() as u64;
        if let Some(limit) = this.faults.break_after {
            room = room.min(limit - this.moved);
        }
        if let Some(rate) = this.faults.bytes_per_second {
            // Chunks of a tenth of a second's worth.
            room = room.min((rate / 10).max(1));
        }
        let room = usize::try_from(room).unwrap_or(usize::MAX);
        let mut limited = ReadBuf::new(buf.initialize_unfilled_to(room));
        match Pin::new(&mut this.inner).poll_read(cx, &mut limited) {
            Poll::Ready(Ok(())) => {
                let n = limited.filled().len();
                if this.faults.tamper && this.moved == 0 && n > 0 {
                    limited.filled_mut()[0] ^= 0x01;
                }
                buf.advance(n);
                this.moved += n as u64;
                let total = if this.faults.upload {
                    &this.counter.received_bytes
                } else {
                    &this.counter.served_bytes
                };
                total.fetch_add(n as u64, Ordering::AcqRel);
                if let (Some(rate), true) = (this.faults.bytes_per_second, n > 0) {
                    let wait = Duration::from_secs_f64(n as f64 / rate as f64);
                    this.pause = Some(Box::pin(tokio::time::sleep(wait)));
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}
