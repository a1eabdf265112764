//! TLS on OpenSSL (the TLS stack the gateway already links for GOST): an async stream over
//! `openssl::ssl::SslStream`; a connector for hyper's client (webhooks) that speaks TLS to
//! `https://` URLs and plain HTTP to `http://` ones, always verifying the chain and the host name
//! (or IP address) against the system's CA store plus `webhooks.ca_file`; and the acceptor of
//! the optional TLS listener (`api.tls_certificate`, `api.tls_key`).
//!
//! OpenSSL's stream is blocking-style: it calls `Read`/`Write` on the transport. [`Bridge`]
//! gives it the tokio socket through the current task's waker — a transport that would block
//! says `WouldBlock` after registering the waker, OpenSSL reports `WANT_READ`/`WANT_WRITE`, and
//! the stream answers `Pending`; the task is woken when the socket is ready. All safe code.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use openssl::ssl::{ErrorCode, SslConnector, SslMethod, SslStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tower::Service;

/// The tokio transport as OpenSSL's blocking `Read`/`Write`, for the task that polls.
#[derive(Debug)]
pub(crate) struct Bridge<S> {
    inner: S,
    waker: Option<Waker>,
}

impl<S: AsyncRead + Unpin> io::Read for Bridge<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(waker) = self.waker.as_ref() else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let mut cx = Context::from_waker(waker);
        let mut rb = ReadBuf::new(buf);
        match Pin::new(&mut self.inner).poll_read(&mut cx, &mut rb) {
            Poll::Ready(Ok(())) => Ok(rb.filled().len()),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl<S: AsyncWrite + Unpin> io::Write for Bridge<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(waker) = self.waker.as_ref() else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let mut cx = Context::from_waker(waker);
        match Pin::new(&mut self.inner).poll_write(&mut cx, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let Some(waker) = self.waker.as_ref() else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let mut cx = Context::from_waker(waker);
        match Pin::new(&mut self.inner).poll_flush(&mut cx) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// A TLS connection over a tokio transport.
#[derive(Debug)]
pub(crate) struct TlsStream<S> {
    ssl: SslStream<Bridge<S>>,
}

/// Whether an OpenSSL error only means "the transport is not ready".
fn would_block(e: &openssl::ssl::Error) -> bool {
    matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE)
}

fn io_error(e: openssl::ssl::Error) -> io::Error {
    match e.into_io_error() {
        Ok(io) => io,
        Err(e) => io::Error::other(e.to_string()),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream<S> {
    /// Runs `f` on the OpenSSL stream with the task's waker lent to the transport.
    fn with_waker<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut SslStream<Bridge<S>>) -> R,
    ) -> R {
        self.ssl.get_mut().waker = Some(cx.waker().clone());
        let r = f(&mut self.ssl);
        self.ssl.get_mut().waker = None;
        r
    }

    /// The handshake, driven until it completes or fails.
    async fn handshake(
        mut self,
        step: fn(&mut SslStream<Bridge<S>>) -> Result<(), openssl::ssl::Error>,
    ) -> io::Result<Self> {
        std::future::poll_fn(|cx| match self.with_waker(cx, step) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(e) if would_block(&e) => Poll::Pending,
            Err(e) => Poll::Ready(Err(io_error(e))),
        })
        .await?;
        Ok(self)
    }

    /// A client connection to `host` (a name or an IP address, verified against the
    /// certificate).
    pub(crate) async fn connect(
        connector: &SslConnector,
        host: &str,
        stream: S,
    ) -> io::Result<Self> {
        let ssl = connector
            .configure()
            .and_then(|c| c.into_ssl(host))
            .map_err(io::Error::other)?;
        Self::over(ssl, stream)?.handshake(SslStream::connect).await
    }

    /// The stream of `ssl` over `stream`, before its handshake.
    fn over(ssl: openssl::ssl::Ssl, stream: S) -> io::Result<Self> {
        let bridge = Bridge {
            inner: stream,
            waker: None,
        };
        let ssl = SslStream::new(ssl, bridge).map_err(io::Error::other)?;
        Ok(TlsStream { ssl })
    }

    /// A server connection (the TLS listener).
    pub(crate) async fn accept(
        acceptor: &openssl::ssl::SslAcceptor,
        stream: S,
    ) -> io::Result<Self> {
        let ssl = openssl::ssl::Ssl::new(acceptor.context()).map_err(io::Error::other)?;
        Self::over(ssl, stream)?.handshake(SslStream::accept).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.with_waker(cx, |s| {
            let unfilled = buf.initialize_unfilled();
            match s.ssl_read(unfilled) {
                Ok(n) => {
                    buf.advance(n);
                    Poll::Ready(Ok(()))
                }
                // The peer closed the TLS session: end of stream.
                Err(e) if e.code() == ErrorCode::ZERO_RETURN => Poll::Ready(Ok(())),
                Err(e) if would_block(&e) => Poll::Pending,
                Err(e) => Poll::Ready(Err(io_error(e))),
            }
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.with_waker(cx, |s| match s.ssl_write(buf) {
            Ok(n) => Poll::Ready(Ok(n)),
            Err(e) if would_block(&e) => Poll::Pending,
            Err(e) => Poll::Ready(Err(io_error(e))),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.with_waker(cx, |s| match io::Write::flush(s) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        })
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let closed = this.with_waker(cx, |s| match s.shutdown() {
            Ok(_) => Poll::Ready(Ok(())),
            // The peer may already be gone; the socket is shut down below anyway.
            Err(e) if e.code() == ErrorCode::ZERO_RETURN || e.code() == ErrorCode::SYSCALL => {
                Poll::Ready(Ok(()))
            }
            Err(e) if would_block(&e) => Poll::Pending,
            Err(e) => Poll::Ready(Err(io_error(e))),
        });
        match closed {
            Poll::Ready(Ok(())) => Pin::new(&mut this.ssl.get_mut().inner).poll_shutdown(cx),
            other => other,
        }
    }
}

/// The acceptor of the TLS listener: the certificate chain and the key, PEM; Mozilla's
/// "intermediate" settings (TLS 1.2 and 1.3).
pub(crate) fn acceptor(
    certificate: &std::path::Path,
    key: &std::path::Path,
) -> Result<openssl::ssl::SslAcceptor, String> {
    use openssl::ssl::{SslAcceptor, SslFiletype};
    let mut b =
        SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(|e| e.to_string())?;
    b.set_certificate_chain_file(certificate)
        .map_err(|e| format!("{}: {e}", certificate.display()))?;
    b.set_private_key_file(key, SslFiletype::PEM).map_err(|e| {
        format!(
            "{}: not a usable key for this certificate: {e}",
            key.display()
        )
    })?;
    b.check_private_key()
        .map_err(|e| format!("the key does not match the certificate: {e}"))?;
    Ok(b.build())
}

/// A connection of the webhook client: plain for `http://`, TLS for `https://`.
pub(crate) enum MaybeTls {
    Plain(TokioIo<TcpStream>),
    Tls(TokioIo<TlsStream<TcpStream>>),
}

impl hyper::rt::Read for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => hyper::rt::Read::poll_read(Pin::new(s), cx, buf),
            MaybeTls::Tls(s) => hyper::rt::Read::poll_read(Pin::new(s), cx, buf),
        }
    }
}

impl hyper::rt::Write for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => hyper::rt::Write::poll_write(Pin::new(s), cx, buf),
            MaybeTls::Tls(s) => hyper::rt::Write::poll_write(Pin::new(s), cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => hyper::rt::Write::poll_flush(Pin::new(s), cx),
            MaybeTls::Tls(s) => hyper::rt::Write::poll_flush(Pin::new(s), cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => hyper::rt::Write::poll_shutdown(Pin::new(s), cx),
            MaybeTls::Tls(s) => hyper::rt::Write::poll_shutdown(Pin::new(s), cx),
        }
    }
}

impl Connection for MaybeTls {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// Connects plain or TLS by the URL's scheme.
#[derive(Clone)]
pub(crate) struct HttpsConnector {
    http: HttpConnector,
    tls: SslConnector,
}

impl HttpsConnector {
    /// A connector that trusts the system's CAs and `extra_ca` (PEM, one or more).
    pub(crate) fn new(
        connect_timeout: std::time::Duration,
        extra_ca: Option<&std::path::Path>,
    ) -> Result<HttpsConnector, String> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(connect_timeout));
        http.enforce_http(false);
        let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
        if let Some(path) = extra_ca {
            let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let certs = openssl::x509::X509::stack_from_pem(&pem)
                .map_err(|e| format!("{}: not PEM certificates: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("{}: no certificate", path.display()));
            }
            for c in certs {
                b.cert_store_mut()
                    .add_cert(c)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        Ok(HttpsConnector {
            http,
            tls: b.build(),
        })
    }
}

impl Service<hyper::Uri> for HttpsConnector {
    type Response = MaybeTls;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<MaybeTls, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: hyper::Uri) -> Self::Future {
        let https = uri.scheme_str() == Some("https");
        // An IPv6 literal comes bracketed in the URI; the certificate check wants it bare.
        let host = uri
            .host()
            .unwrap_or("")
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let connecting = self.http.call(uri);
        let tls = self.tls.clone();
        Box::pin(async move {
            let tcp = connecting.await?;
            if !https {
                return Ok(MaybeTls::Plain(tcp));
            }
            let stream = TlsStream::connect(&tls, &host, tcp.into_inner()).await?;
            Ok(MaybeTls::Tls(TokioIo::new(stream)))
        })
    }
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
