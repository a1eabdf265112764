//! The HTTP side: an axum router served by our own accept loop (so that a fault can drop a
//! connection without answering), the SOAP endpoint (`POST /ws`, `POST /smev/…`) that accepts
//! `text/xml` and MTOM bodies and answers like Apache CXF (`text/xml; charset=UTF-8`, SOAP faults
//! with HTTP 500, MTOM when attachments are delivered), the admin API, and the embedding API:
//! [`MockSmev::start`] → [`MockHandle`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use smev_protocol::smev::build;
use smev_protocol::smev::mtom;
use smev_protocol::smev::parse;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::admin;
use super::config::MockConfig;
use super::faults::{FaultAction, Operation};
use super::simulator::{Outcome, Simulator};

/// Lets a request handler drop its connection (the "connection reset" fault).
#[derive(Clone, Debug)]
pub struct ConnectionControl(Arc<Notify>);

impl ConnectionControl {
    /// Drops the connection without answering.
    pub fn reset(&self) {
        self.0.notify_one();
    }
}

/// Entry point for embedding.
#[derive(Debug)]
pub struct MockSmev;

/// A running mock-smev.
#[derive(Debug)]
pub struct MockHandle {
    addr: SocketAddr,
    /// The file storage's FTP address, when one runs.
    ftp_addr: Option<SocketAddr>,
    simulator: Arc<Simulator>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl MockSmev {
    /// Loads `config`, binds `addr` (port 0: any free port) and serves until
    /// [`MockHandle::shutdown`]. Fails on configuration errors or when the address is taken.
    pub async fn start(config: MockConfig, addr: SocketAddr) -> anyhow::Result<MockHandle> {
        let simulator = Arc::new(Simulator::new(config)?);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        let addr = listener.local_addr()?;
        let app = router(simulator.clone());
        let (tx, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut ftp_addr = None;
        if let (Some(storage), Some(listen)) = (
            simulator.file_storage().cloned(),
            simulator.config().file_storage.listen.clone(),
        ) {
            let ftp = TcpListener::bind(&listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen for FTP on {listen}: {e}"))?;
            let bound = ftp.local_addr()?;
            tracing::info!("mock-smev file storage listening on ftp://{bound}/");
            ftp_addr = Some(bound);
            tasks.push(tokio::spawn(storage.serve(ftp, rx.clone())));
        }
        tasks.push(tokio::spawn(accept_loop(listener, app, rx.clone())));
        tasks.push(tokio::spawn(consumer_ticker(simulator.clone(), rx)));
        tracing::info!("mock-smev listening on http://{addr}/ws (admin: http://{addr}/admin/)");
        Ok(MockHandle {
            addr,
            ftp_addr,
            simulator,
            shutdown: tx,
            tasks,
        })
    }

    /// The router alone (SOAP + admin), for mounting into another axum server. Without the
    /// accept loop of [`MockSmev::start`] the `reset` fault answers HTTP 500 instead of dropping
    /// the connection, and simulated consumers need [`Simulator::tick_consumers`] to be called.
    pub fn router(simulator: Arc<Simulator>) -> Router {
        router(simulator)
    }
}

impl MockHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The file storage's FTP address (`host:port`), when `[file_storage] listen` is set.
    pub fn ftp_addr(&self) -> Option<SocketAddr> {
        self.ftp_addr
    }

    /// The SOAP endpoint, e.g. `http://127.0.0.1:7500/ws`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/ws", self.addr)
    }

    /// The admin API base, e.g. `http://127.0.0.1:7500/admin`.
    pub fn admin_url(&self) -> String {
        format!("http://{}/admin", self.addr)
    }

    /// The simulator, for in-process inspection and control (what the admin API calls).
    pub fn simulator(&self) -> &Arc<Simulator> {
        &self.simulator
    }

    /// Stops accepting, drops open connections and stops simulated consumers.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        for t in self.tasks {
            if tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .is_err()
            {
                tracing::warn!("a mock SMEV task did not stop within 5 s");
            }
        }
    }
}

fn router(sim: Arc<Simulator>) -> Router {
    let limit = sim.config().smev.body_limit_bytes;
    Router::new()
        .route("/ws", post(soap))
        .route("/ws/", post(soap))
        .route("/smev", post(soap))
        .route("/smev/{*rest}", post(soap))
        .route("/", get(index))
        .nest("/admin", admin::router())
        .layer(DefaultBodyLimit::max(limit))
        .with_state(sim)
}

async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
        "mock-smev: SMEV 3 (message-exchange 1.3) simulator. SOAP endpoint: POST /ws (or /smev/...). Admin API: /admin/health, /admin/messages, /admin/stats, /admin/faults, /admin/requests, /admin/reset.\n",
    )
}

async fn accept_loop(listener: TcpListener, app: Router, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.changed() => break,
        };
        let (stream, _peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // E.g. too many open files: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(serve_connection(stream, app, shutdown));
    }
}

async fn serve_connection(stream: TcpStream, app: Router, mut shutdown: watch::Receiver<bool>) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set");
    }
    // A second handle on the socket so that a reset can set SO_LINGER=0 (RST instead of FIN)
    // after hyper's connection future is dropped.
    let twin = stream.into_std().and_then(|s| {
        let twin = s.try_clone()?;
        Ok((TcpStream::from_std(s)?, twin))
    });
    let (stream, twin) = match twin {
        Ok(x) => x,
        Err(e) => {
            tracing::warn!("cannot prepare a connection: {e}");
            return;
        }
    };
    let reset = Arc::new(Notify::new());
    let control = ConnectionControl(reset.clone());
    let service = TowerToHyperService::new(app.layer(axum::Extension(control)));
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        r = conn => {
            if let Err(e) = r {
                tracing::debug!("connection ended: {e}");
            }
        }
        _ = reset.notified() => {
            if let Ok(t) = TcpStream::from_std(twin) {
                #[allow(deprecated)] // SO_LINGER=0 only turns close() into an RST here.
                if let Err(e) = t.set_linger(Some(Duration::ZERO)) {
                    tracing::debug!(error = %e, "SO_LINGER not set; the reset is a plain close");
                }
            }
        }
        _ = shutdown.changed() => {}
    }
}

async fn consumer_ticker(sim: Arc<Simulator>, mut shutdown: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = interval.tick() => sim.tick_consumers(),
            _ = shutdown.changed() => break,
        }
    }
}

fn xml_response(status: StatusCode, xml: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=UTF-8"),
        )],
        xml,
    )
        .into_response()
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=UTF-8"),
        )],
        text,
    )
        .into_response()
}

fn respond(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Soap { xml, parts } if parts.is_empty() => xml_response(StatusCode::OK, xml),
        Outcome::Soap { xml, parts } => {
            let boundary = format!("uuid:{}", uuid::Uuid::new_v4());
            let (content_type, body) = mtom::build(&xml, &parts, &boundary);
            match HeaderValue::from_str(&content_type) {
                Ok(ct) => (StatusCode::OK, [(header::CONTENT_TYPE, ct)], body).into_response(),
                Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "bad MTOM content type"),
            }
        }
        Outcome::Fault(f) => xml_response(StatusCode::INTERNAL_SERVER_ERROR, build::fault(&f)),
    }
}

async fn soap(State(sim): State<Arc<Simulator>>, req: Request) -> Response {
    let control = req.extensions().get::<ConnectionControl>().cloned();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/xml")
        .to_string();
    let limit = sim.config().smev.body_limit_bytes;
    let body = match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!("cannot read the body: {e}");
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large or unreadable",
            );
        }
    };
    let xml = mtom::xml_of_body(&content_type, &body).map_err(|e| e.to_string());
    let op = xml
        .as_ref()
        .ok()
        .and_then(|x| parse::envelope(x).ok())
        .map(|e| Operation::from_body_element(e.operation()))
        .unwrap_or(Operation::Unknown);
    let mut slow = None;
    if let Some(action) = sim.call_fault(op) {
        let raw = xml.as_ref().ok().map(|x| x.as_slice());
        match &action {
            FaultAction::Http(code) => {
                sim.record_injected(op, raw, &action, *code);
                return if *code == 503 {
                    plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "<html><body><h1>503 Service Unavailable</h1></body></html>",
                    )
                } else {
                    plain(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "<html><body><h1>500 Internal Server Error</h1></body></html>",
                    )
                };
            }
            FaultAction::Reset => {
                sim.record_injected(op, raw, &action, 0);
                if let Some(c) = control {
                    c.reset();
                    // The connection task drops this future together with the connection.
                    std::future::pending::<()>().await;
                }
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "connection reset (not possible here)",
                );
            }
            FaultAction::Smev(f) => {
                sim.record_injected(op, raw, &action, 500);
                return xml_response(StatusCode::INTERNAL_SERVER_ERROR, build::fault(f));
            }
            FaultAction::Slow(d) => slow = Some(*d),
            _ => {}
        }
    }
    let injected = slow.map(|_| "slow".to_string());
    // Processing happens now; a slow answer only delays the reply (the effect is what a lost
    // answer looks like to the client: the message was accepted or delivered anyway).
    let sim2 = sim.clone();
    let outcome = tokio::task::spawn_blocking(move || sim2.process(xml, injected).1).await;
    let response = match outcome {
        Ok(o) => respond(o),
        Err(e) => {
            tracing::error!("processing failed: {e}");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    };
    if let Some(d) = slow {
        tokio::time::sleep(d).await;
    }
    response
}
