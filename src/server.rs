//! The HTTP listener of the API, the UI, health and metrics, with the limits a server facing
//! hostile clients needs (axum's own `serve` has none of them): a cap on concurrent connections
//! that keeps file descriptors in reserve for sled and the SMEV client, a header-read timeout
//! (which also closes idle keep-alive connections), a whole-request timeout that bounds slow
//! bodies, a send timeout for clients that stop reading, and graceful shutdown that lets in-flight requests finish.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service as _;

use crate::config::ApiConfig;

/// The limits in force (derived from `[api]` and the process's descriptor limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    /// Longest a write to the client may stay blocked (a client that stops reading).
    pub send_timeout: Duration,
}

impl Limits {
    /// The configured limits, with the connection cap lowered to what the descriptor limit
    /// allows after the reserve.
    pub fn from_config(api: &ApiConfig) -> Limits {
        let descriptors = raise_descriptor_limit();
        let allowed = descriptors
            .saturating_sub(api.descriptor_reserve as u64)
            .max(16) as usize;
        Limits {
            max_connections: api.max_connections.clamp(1, allowed),
            header_read_timeout: Duration::from_millis(api.header_read_timeout_ms.max(100)),
            request_timeout: Duration::from_millis(api.request_timeout_ms.max(100)),
            send_timeout: Duration::from_millis(api.send_timeout_ms.max(100)),
        }
    }
}

/// Raises the soft limit of open files to the hard limit (Debian's default soft limit of 1024
/// is far below what a server needs) and returns the soft limit now in force.
fn raise_descriptor_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
        lim.rlim_cur
    }
}

/// Serves `app` on `listener` (over TLS with `tls`) until `stop` resolves, then gives
/// in-flight requests `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Arc<openssl::ssl::SslAcceptor>>,
    stop: impl std::future::Future<Output = ()>,
    grace: Duration,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        // Wait for a free slot first: past the cap, new connections wait in the kernel's
        // backlog instead of taking descriptors the engine needs.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE/ENFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let app = app.clone();
        let timeout = limits.request_timeout;
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let mut app = app.clone();
            async move {
                match tokio::time::timeout(timeout, app.call(req)).await {
                    Ok(r) => r,
                    Err(_) => Ok::<_, Infallible>(request_timed_out(timeout)),
                }
            }
        });
        let io = WriteDeadline {
            inner: stream,
            timeout: limits.send_timeout,
            stalled: None,
        };
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(true);
        let Some(acceptor) = tls.clone() else {
            let conn = graceful.watch(builder.serve_connection(TokioIo::new(io), service));
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(peer = %peer, error = %e, "HTTP connection ended with an error");
                }
                drop(permit);
            });
            continue;
        };
        let watcher = graceful.watcher();
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            // The handshake is bounded like the headers: a client that opens a connection and
            // stays silent must not hold its slot.
            let accepted = tokio::time::timeout(
                handshake_timeout,
                crate::tls::TlsStream::accept(&acceptor, io),
            )
            .await;
            match accepted {
                Ok(Ok(stream)) => {
                    let conn =
                        watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
                    if let Err(e) = conn.await {
                        tracing::debug!(peer = %peer, error = %e, "HTTPS connection ended with an error");
                    }
                }
                Ok(Err(e)) => tracing::debug!(peer = %peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out"),
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the grace period; closing them");
    }
}

/// A socket whose writes fail once they have been blocked for `timeout`: a client that stops
/// reading (a full TCP window) would otherwise hold its connection slot forever.
struct WriteDeadline<S> {
    inner: S,
    timeout: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> WriteDeadline<S> {
    /// Called when a write is pending: arms the deadline, or fails once it has passed.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<T>> {
        let timeout = self.timeout;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => this.pending(cx),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(r) => {
                this.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => this.pending(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn request_timed_out(timeout: Duration) -> axum::response::Response {
    crate::api::error::ApiError::new(
        "request_timeout",
        format!(
            "the request was not completed within {} s",
            timeout.as_secs()
        ),
    )
    .into_response()
}
