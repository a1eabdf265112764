//! SOAP 1.1 over HTTP on hyper (hyper-util's pooled client): connect and request timeouts,
//! keep-alive, the right SOAPAction and Content-Type, MTOM bodies, a bounded answer size, and
//! every HTTP-level failure (refused, timeout, 5xx without a SOAP fault, non-SOAP body)
//! classified as a temporary failure.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;

use super::build::Outgoing;
use super::mtom;
use super::SmevError;

/// An answer as read.
enum Read {
    /// Status, Content-Type, body, whether the body was framed (length or chunked).
    Whole(u16, String, Bytes, bool),
    /// Over the limit: the first bytes only.
    TooLarge(Vec<u8>),
}

/// Most bytes of an unprocessable answer kept with its dead letter.
pub const MAX_POISON_BYTES: usize = 1024 * 1024;

/// Transport settings.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// SMEV endpoint, e.g. `http://smev3-n0.test.gosuslugi.ru:5000/ws`.
    pub endpoint: String,
    pub connect_timeout: Duration,
    /// Time for the whole exchange (send, SMEV's processing, the answer).
    pub request_timeout: Duration,
    /// Largest answer accepted.
    pub max_answer_bytes: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            endpoint: "http://127.0.0.1:7500/ws".into(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            max_answer_bytes: 64 * 1024 * 1024,
        }
    }
}

/// An HTTP-level failure; always temporary for the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransportError {
    #[error("invalid SMEV endpoint {0}")]
    InvalidEndpoint(String),
    #[error("cannot connect to SMEV: {0}")]
    Connect(String),
    #[error("SMEV did not answer within {0:?}")]
    Timeout(Duration),
    #[error("SMEV answered HTTP {status} without a SOAP message: {excerpt}")]
    Http { status: u16, excerpt: String },
    #[error("SMEV's answer exceeds {0} bytes")]
    TooLarge(usize),
    #[error("I/O error talking to SMEV: {0}")]
    Io(String),
}

/// A SOAP client for one endpoint.
#[derive(Clone)]
pub struct SoapClient {
    client: Client<HttpConnector, Full<Bytes>>,
    endpoint: Uri,
    config: TransportConfig,
}

impl std::fmt::Debug for SoapClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoapClient")
            .field("endpoint", &self.config.endpoint)
            .finish()
    }
}

impl SoapClient {
    /// A client for `config.endpoint`.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        let endpoint: Uri = config
            .endpoint
            .parse()
            .map_err(|_| TransportError::InvalidEndpoint(config.endpoint.clone()))?;
        if endpoint.scheme_str() != Some("http") {
            return Err(TransportError::InvalidEndpoint(format!(
                "{} (only http:// is supported; SMEV 3 is reached through the agency's protected network)",
                config.endpoint
            )));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.connect_timeout));
        connector.set_nodelay(true);
        connector.set_keepalive(Some(Duration::from_secs(60)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(16)
            .build(connector);
        Ok(SoapClient {
            client,
            endpoint,
            config,
        })
    }

    /// The configured endpoint.
    pub fn endpoint(&self) -> &str {
        &self.config.endpoint
    }

    /// Posts `out` and returns the SOAP envelope of the answer (XOP includes resolved). A SOAP
    /// fault is returned as an envelope too; the parser turns it into a typed fault.
    pub async fn call(&self, out: &Outgoing) -> Result<Vec<u8>, SmevError> {
        let (content_type, body) = if out.parts.is_empty() {
            ("text/xml; charset=UTF-8".to_string(), out.xml.clone())
        } else {
            let boundary = format!("uuid:{}", uuid::Uuid::new_v4());
            mtom::build(&out.xml, &out.parts, &boundary)
        };
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.endpoint.clone())
            .header(CONTENT_TYPE, content_type)
            .header("SOAPAction", format!("\"{}\"", out.action))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| SmevError::Transport(TransportError::Io(e.to_string())))?;
        let timeout = self.config.request_timeout;
        let limit = self.config.max_answer_bytes;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                use std::error::Error as _;
                let mut msg = e.to_string();
                let mut src = e.source();
                while let Some(s) = src {
                    msg = format!("{msg}: {s}");
                    src = s.source();
                }
                if e.is_connect() {
                    TransportError::Connect(msg)
                } else {
                    TransportError::Io(msg)
                }
            })?;
            let status = response.status().as_u16();
            let ctype = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            // A body without Content-Length or chunked framing ends when the connection does:
            // only such a body can arrive cut short without hyper noticing.
            let delimited = response
                .headers()
                .contains_key(hyper::header::CONTENT_LENGTH)
                || response
                    .headers()
                    .get(hyper::header::TRANSFER_ENCODING)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
            // Read frame by frame: past the limit, keep the head and stop reading, so an
            // endless answer costs at most `limit` bytes of memory.
            let mut body = response.into_body();
            let mut buf: Vec<u8> = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| TransportError::Io(e.to_string()))?;
                if let Some(data) = frame.data_ref() {
                    if buf.len() + data.len() > limit {
                        buf.truncate(MAX_POISON_BYTES);
                        return Ok(Read::TooLarge(buf));
                    }
                    buf.extend_from_slice(data);
                }
            }
            Ok::<_, TransportError>(Read::Whole(status, ctype, Bytes::from(buf), delimited))
        };
        let (status, ctype, body, delimited) = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(Read::Whole(s, c, b, d))) => (s, c, b, d),
            Ok(Ok(Read::TooLarge(head))) => {
                return Err(SmevError::Poison {
                    reason: TransportError::TooLarge(limit).to_string(),
                    raw: head,
                })
            }
            Ok(Err(e)) => return Err(SmevError::Transport(e)),
            Err(_) => return Err(SmevError::Transport(TransportError::Timeout(timeout))),
        };
        // MIME parsing and XOP resolution are CPU work on peer bytes: off the async runtime.
        let xml = crate::cpu::offload(|| mtom::xml_of_body(&ctype, &body)).await;
        let answered = matches!(status, 200..=299 | 500);
        match xml {
            Ok(xml) if answered && looks_like_soap(&xml) => Ok(xml),
            // A whole multipart answer that cannot be taken apart is not a transport hiccup: it
            // would come back on every poll. It goes up as a poison message.
            Err(e)
                if answered
                    && ctype.to_ascii_lowercase().starts_with("multipart/")
                    && (delimited || !matches!(e, SmevError::MtomTruncated(_))) =>
            {
                Err(SmevError::Poison {
                    reason: e.to_string(),
                    raw: body[..body.len().min(MAX_POISON_BYTES)].to_vec(),
                })
            }
            _ => Err(SmevError::Transport(TransportError::Http {
                status,
                excerpt: log_excerpt(&body),
            })),
        }
    }
}

/// Peer bytes as they may appear in a log line or an error: at most 200 characters, control,
/// format (bidi) and other non-printable characters escaped, so a peer cannot forge log lines.
pub fn log_excerpt(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(800)];
    let mut out = super::peer_text(&String::from_utf8_lossy(head), 200);
    if bytes.len() > head.len() && !out.ends_with('…') {
        out.push('…');
    }
    out
}

fn looks_like_soap(xml: &[u8]) -> bool {
    let head = &xml[..xml.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    text.contains("Envelope") && text.contains("schemas.xmlsoap.org/soap/envelope")
        || text.contains("www.w3.org/2003/05/soap-envelope")
}
