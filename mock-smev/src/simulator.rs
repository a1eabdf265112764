//! The simulated SMEV itself, independent of HTTP: takes the XML of an incoming call, applies the
//! strict checks, routes messages between participants' queues, runs simulated providers and
//! consumers, signs what it delivers with ЭП-СМЭВ, and records every call for the admin API.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use smev_protocol::smev::build::{self, AttachmentMode, Delivery, Outgoing};
use smev_protocol::smev::client::{now, sign_envelope};
use smev_protocol::smev::model::*;
use smev_protocol::smev::mtom::MimePart;
use smev_protocol::smev::parse::{self, Envelope, IncomingCall};
use smev_protocol::smev::schema::Schema;
use smev_protocol::smev::{MessageId, SmevError, SmevFault, SmevFaultKind};

use super::checks::{self, Fault, Verification};
use super::config::{AttachmentTransfer, MockConfig};
use super::faults::{FaultAction, FaultSpec, FaultSpecError, Injector, Operation, Phase, RuleView};
use super::identity::{Identities, Participant};
use super::queue::{Depth, Entry, Filter, Payload, Queue};
use super::resources;
use super::scenario::{self, Consumer, Kind, Values};

/// What to answer over HTTP.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// HTTP 200 with a SOAP envelope (MTOM when `parts` is not empty).
    Soap { xml: Vec<u8>, parts: Vec<MimePart> },
    /// HTTP 500 with a SOAP fault.
    Fault(Box<SmevFault>),
}

/// One received call, as the admin API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub seq: u64,
    pub received_at: DateTime<FixedOffset>,
    pub operation: Operation,
    /// `http` or `simulated` (a simulated consumer or `POST /admin/requests`).
    pub source: &'static str,
    /// Mnemonic of the caller (from its ЭП-ОВ certificate).
    pub caller: Option<String>,
    /// Send*: the MessageID; Ack: the acknowledged id.
    pub message_id: Option<String>,
    /// Business root `{namespace}local` (Send*) or the selector's kind (Get*).
    pub kind: Option<String>,
    /// `accepted`, `delivered`, `empty`, `acknowledged`, `fault` or `injected`.
    pub outcome: String,
    /// The SMEV fault answered (`Kind.SubCode: text`).
    pub fault: Option<String>,
    /// The fault injection that hit this call.
    pub injected: Option<String>,
    /// Get*: the MessageId delivered.
    pub delivered_message_id: Option<String>,
    pub http_status: u16,
    pub verification: Verification,
}

impl LogEntry {
    fn new(op: Operation) -> Self {
        LogEntry {
            seq: 0,
            received_at: now(),
            operation: op,
            source: "http",
            caller: None,
            message_id: None,
            kind: None,
            outcome: String::new(),
            fault: None,
            injected: None,
            delivered_message_id: None,
            http_status: 200,
            verification: Verification::default(),
        }
    }
}

/// Per-MessageID counters (duplicate detection in tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Send* calls carrying this MessageID (accepted or not).
    pub sends: u64,
    /// Accepted Send* calls (at most 1: later ones get MessageIsAlreadySent).
    pub accepted: u64,
    /// Send* calls answered with a fault (checks or injection).
    pub faults: u64,
    /// Times a message with this id was delivered by GetRequest/GetResponse.
    pub deliveries: u64,
    /// Successful Acks of this id.
    pub acks: u64,
}

/// `GET /admin/messages/count`.
#[derive(Debug, Clone, Serialize)]
pub struct CountView {
    pub message_id: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// Log entries mentioning this id.
    pub log_entries: usize,
}

/// Queue depths of one participant.
#[derive(Debug, Clone, Serialize)]
pub struct MailboxStats {
    pub requests: Depth,
    pub responses: Depth,
    pub statuses: usize,
}

/// `GET /admin/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub uptime_ms: u64,
    pub queues: BTreeMap<String, MailboxStats>,
    /// Operation → outcome (`accepted`, `fault:InvalidContent`, `injected:http_503`…) → count.
    pub operations: BTreeMap<String, BTreeMap<String, u64>>,
    pub accepted_message_ids: usize,
    pub inbox: usize,
    pub fault_rules: usize,
    pub log_entries: usize,
}

/// What a simulated consumer received (a participant's SendResponse to its request).
#[derive(Debug, Clone, Serialize)]
pub struct InboxEntry {
    pub received_at: DateTime<FixedOffset>,
    pub consumer: String,
    pub provider: String,
    pub message_id: String,
    pub original_message_id: String,
    /// `answer`, `rejection`, `status` or `async_status`.
    pub content_type: String,
    /// Business XML, rejection text or status text.
    pub content: String,
    pub attachments: Vec<String>,
}

/// `POST /admin/requests`: a request from a simulated consumer to a participant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InjectRequest {
    /// Kind name (`fns-tax-debt`, `zags-marriage`, …).
    pub kind: String,
    /// Recipient mnemonic (default: the kind's provider when not simulated).
    pub to: Option<String>,
    /// Sender mnemonic (default `CONSUMER`).
    pub from: Option<String>,
    pub from_name: Option<String>,
    /// Business XML (default: the kind's `sample_request` template).
    pub content: Option<String>,
    pub attachments: Vec<super::config::AttachmentConfig>,
    pub node_id: Option<String>,
    pub test_message: bool,
}

/// `POST /admin/requests` answer.
#[derive(Debug, Clone, Serialize)]
pub struct Injected {
    pub message_id: String,
    pub reply_to: String,
    pub to: String,
    pub from: String,
    pub kind: String,
}

/// A simulated consumer's state.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumerView {
    pub mnemonic: String,
    pub kind: String,
    pub to: String,
    pub enabled: bool,
    pub every_secs: u64,
    pub sent: u64,
}

/// Admin-level errors (HTTP 400/404).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Fault(#[from] FaultSpecError),
}

#[derive(Debug, Default)]
struct Mailbox {
    requests: Queue,
    responses: Queue,
    statuses: VecDeque<AsyncProcessingStatus>,
}

/// Where answers to a request go.
#[derive(Debug, Clone)]
struct Route {
    consumer: Participant,
    consumer_simulated: bool,
    node_id: Option<String>,
    provider: String,
    request_message_id: String,
    reference_message_id: Option<String>,
    kind: usize,
}

#[derive(Debug)]
struct ConsumerState {
    enabled: bool,
    every: Duration,
    next_due: Instant,
    sent: u64,
}

struct State {
    boxes: BTreeMap<String, Mailbox>,
    names: BTreeMap<String, String>,
    sent: HashSet<String>,
    counts: HashMap<String, Counts>,
    routes: HashMap<String, Route>,
    log: VecDeque<LogEntry>,
    next_seq: u64,
    next_sid: u64,
    stats: BTreeMap<String, BTreeMap<String, u64>>,
    injector: Injector,
    inbox: Vec<InboxEntry>,
    consumers: Vec<ConsumerState>,
}

/// The simulated SMEV.
pub struct Simulator {
    config: MockConfig,
    ids: Identities,
    envelope_schema: Option<Schema>,
    kinds: Vec<Kind>,
    consumers: Vec<Consumer>,
    redelivery: Duration,
    stale_after: chrono::Duration,
    started: Instant,
    state: Mutex<State>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("kinds", &self.kinds.len())
            .finish_non_exhaustive()
    }
}

fn qname_text(q: &QualifiedName) -> String {
    q.to_string()
}

fn standalone(env: &Envelope, n: smev_protocol::xml::NodeId) -> String {
    String::from_utf8_lossy(&env.doc.standalone(n)).to_string()
}

/// The signed sender pieces of a signed Send* envelope: standalone sender data and signature.
fn pieces(xml: &[u8]) -> Result<(String, Option<String>), SmevError> {
    let (_, env) = parse::incoming_call(xml)?;
    let data = parse::signed_element(&env)
        .ok_or_else(|| SmevError::UnexpectedAnswer("no signed element".into()))?;
    Ok((
        standalone(&env, data),
        parse::caller_signature(&env).map(|s| standalone(&env, s)),
    ))
}

fn failure(e: impl std::fmt::Display) -> Fault {
    checks::fault(
        SmevFaultKind::SMEVFailure,
        format!("Внутренняя ошибка СМЭВ (mock-smev): {e}"),
    )
}

/// Makes the ЭП-СМЭВ of a signed answer invalid by changing one character of its
/// SignatureValue (the fault "corrupted signature").
pub fn corrupt_smev_signature(xml: &mut [u8]) -> bool {
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    let Some(container) = find(xml, b"SMEVSignature>", 0) else {
        return false;
    };
    let Some(value) = find(xml, b"SignatureValue>", container) else {
        return false;
    };
    let pos = value + b"SignatureValue>".len();
    match xml.get_mut(pos) {
        Some(b) if b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/' => {
            *b = if *b == b'A' { b'B' } else { b'A' };
            true
        }
        _ => false,
    }
}

fn reply_to_token(sid: u64, message_id: &str, kind: &str, mnemonic: &str) -> String {
    let json = serde_json::json!({
        "sid": sid, "mid": message_id, "eol": 0, "slc": kind, "mnm": mnemonic,
    });
    base64::engine::general_purpose::STANDARD.encode(json.to_string())
}

impl Simulator {
    /// Loads keys, schemas and scenarios; fails on any configuration error.
    pub fn new(config: MockConfig) -> anyhow::Result<Self> {
        let ids = Identities::load(&config)?;
        let envelope_schema = if config.smev.validate_envelope {
            let path = resources::schema_path(&config.smev.envelope_schema, &config.base_dir)?;
            Some(Schema::load(&path).map_err(|e| anyhow::anyhow!("envelope schema: {e}"))?)
        } else {
            None
        };
        let mut kinds = Vec::new();
        for k in &config.kinds {
            if kinds.iter().any(|x: &Kind| {
                x.config.name == k.name
                    || x.request_root.namespace == k.namespace
                        && x.request_root.local_name == k.request
            }) {
                anyhow::bail!("kind {} is defined twice", k.name);
            }
            kinds.push(Kind::compile(k, &config.base_dir)?);
        }
        let mut consumers = Vec::new();
        for c in &config.consumers {
            consumers.push(Consumer::compile(c, &config, &kinds)?);
        }
        let mut injector = Injector::new(config.smev.seed);
        for f in &config.faults {
            injector
                .add(f.clone())
                .map_err(|e| anyhow::anyhow!("fault rule {:?}: {e}", f.fault))?;
        }
        let state = State {
            boxes: BTreeMap::new(),
            names: BTreeMap::new(),
            sent: HashSet::new(),
            counts: HashMap::new(),
            routes: HashMap::new(),
            log: VecDeque::new(),
            next_seq: 1,
            next_sid: 1,
            stats: BTreeMap::new(),
            injector,
            inbox: Vec::new(),
            consumers: consumers_state(&consumers),
        };
        Ok(Simulator {
            redelivery: Duration::from_millis(config.smev.redelivery_timeout_ms),
            stale_after: i64::try_from(config.smev.stale_after_secs)
                .ok()
                .and_then(chrono::Duration::try_seconds)
                .unwrap_or(chrono::Duration::MAX),
            config,
            ids,
            envelope_schema,
            kinds,
            consumers,
            started: Instant::now(),
            state: Mutex::new(state),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &MockConfig {
        &self.config
    }

    fn mode(&self) -> AttachmentMode {
        match self.config.smev.attachment_transfer {
            AttachmentTransfer::Xop => AttachmentMode::Xop,
            AttachmentTransfer::Inline => AttachmentMode::Inline,
        }
    }

    fn smev_sign(&self, xml: Vec<u8>) -> Result<Vec<u8>, Fault> {
        sign_envelope(
            Outgoing {
                xml,
                parts: Vec::new(),
                action: "",
            },
            self.ids.smev.as_ref(),
            build::ID_SMEV,
        )
        .map(|o| o.xml)
        .map_err(failure)
    }

    fn smev_participant(&self) -> Participant {
        Participant {
            mnemonic: self.config.smev.mnemonic.clone(),
            name: self.config.smev.name.clone(),
        }
    }

    fn model_participant(p: &Participant) -> smev_protocol::smev::model::Participant {
        smev_protocol::smev::model::Participant {
            mnemonic: Some(p.mnemonic.clone()),
            human_readable_name: Some(p.name.clone()),
        }
    }

    fn participant_named(&self, st: &State, mnemonic: &str) -> Participant {
        let name = self
            .ids
            .configured_name(mnemonic)
            .or_else(|| st.names.get(mnemonic).cloned())
            .or_else(|| {
                self.kinds
                    .iter()
                    .find(|k| k.config.provider == mnemonic)
                    .map(Kind::provider_name)
            })
            .or_else(|| {
                self.consumers
                    .iter()
                    .find(|c| c.config.mnemonic == mnemonic)
                    .and_then(|c| c.config.name.clone())
            })
            .unwrap_or_else(|| mnemonic.to_string());
        Participant {
            mnemonic: mnemonic.to_string(),
            name,
        }
    }

    // ---------------------------------------------------------------------------------------
    // Fault injection hooks for the HTTP layer.

    /// A call-phase fault for `op`, if one fires.
    pub fn call_fault(&self, op: Operation) -> Option<FaultAction> {
        self.state().injector.pick(op, Phase::Call, |_| true)
    }

    /// Records a call answered by an injected fault without processing.
    pub fn record_injected(
        &self,
        op: Operation,
        xml: Option<&[u8]>,
        action: &FaultAction,
        http_status: u16,
    ) {
        let mut log = LogEntry::new(op);
        if let Some(Ok((call, env))) = xml.map(parse::incoming_call) {
            log.message_id = match call {
                IncomingCall::SendRequest { data, .. } => Some(data.message_id),
                IncomingCall::SendResponse { data, .. } => Some(data.message_id),
                IncomingCall::Ack { message_id, .. } => Some(message_id),
                _ => None,
            };
            log.caller = parse::caller_signature(&env)
                .map(|s| {
                    smev_protocol::dsig::verify::verify_signature(&env.doc, s, &Default::default())
                })
                .and_then(|r| r.certificate)
                .and_then(|c| self.ids.participant(&c))
                .map(|p| p.mnemonic);
        }
        log.outcome = "injected".into();
        log.injected = Some(action.name());
        log.http_status = http_status;
        if let FaultAction::Smev(f) = action {
            log.fault = Some(f.to_string());
        }
        self.record(log);
    }

    // ---------------------------------------------------------------------------------------
    // Incoming calls.

    /// Processes one call. `xml` is the SOAP envelope (MTOM resolved) or why the body could not
    /// be read; `injected` names a fault injection already applied (e.g. a slow answer).
    pub fn process(
        &self,
        xml: Result<Vec<u8>, String>,
        injected: Option<String>,
    ) -> (Operation, Outcome) {
        let op = match &xml {
            Ok(x) => parse::envelope(x)
                .map(|e| Operation::from_body_element(e.operation()))
                .unwrap_or(Operation::Unknown),
            Err(_) => Operation::Unknown,
        };
        let mut log = LogEntry::new(op);
        log.injected = injected;
        let outcome = match self.dispatch(op, xml, &mut log) {
            Ok(o) => o,
            Err(f) => {
                log.outcome = "fault".into();
                log.fault = Some(f.to_string());
                log.http_status = 500;
                Outcome::Fault(f)
            }
        };
        self.record(log);
        (op, outcome)
    }

    fn record(&self, mut log: LogEntry) {
        let mut st = self.state();
        log.seq = st.next_seq;
        st.next_seq += 1;
        let key = match (&log.outcome[..], &log.injected, &log.fault) {
            ("injected", Some(i), _) => format!("injected:{i}"),
            ("fault", _, Some(f)) => format!("fault:{}", f.split(':').next().unwrap_or(f)),
            (o, _, _) => o.to_string(),
        };
        *st.stats
            .entry(log.operation.to_string())
            .or_default()
            .entry(key)
            .or_default() += 1;
        if log.operation.is_send() {
            if let Some(id) = &log.message_id {
                let c = st.counts.entry(id.clone()).or_default();
                c.sends += 1;
                match &log.outcome[..] {
                    "accepted" => c.accepted += 1,
                    "fault" | "injected" => c.faults += 1,
                    _ => {}
                }
            }
        }
        let limit = self.config.smev.message_log_limit.max(1);
        while st.log.len() >= limit {
            st.log.pop_front();
        }
        st.log.push_back(log);
    }

    fn dispatch(
        &self,
        op: Operation,
        xml: Result<Vec<u8>, String>,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let xml = xml.map_err(|e| {
            if e.contains("xop:Include") {
                checks::fault(
                    SmevFaultKind::AttachmentContentMiscoordination,
                    format!("Вложения MTOM не соответствуют ссылкам xop:Include: {e}"),
                )
            } else {
                checks::invalid_content("SMEV-400:Нарушен формат сообщения (MIME)", &[e])
            }
        })?;
        let (call, env) = parse::incoming_call(&xml).map_err(|e| match e {
            SmevError::Mtom(m) => checks::fault(
                SmevFaultKind::AttachmentContentMiscoordination,
                format!("Заголовки вложений не соответствуют их содержимому: {m}"),
            ),
            SmevError::Xml(x) => checks::invalid_content(
                "SMEV-400:Нарушен формат бизнес-конверта: сообщение не является корректным XML",
                &[x.to_string()],
            ),
            SmevError::UnexpectedAnswer(m) => {
                checks::invalid_content("SMEV-400:Нарушен формат бизнес-конверта", &[m])
            }
            other => checks::invalid_content(
                "SMEV-400:Нарушен формат бизнес-конверта",
                &[other.to_string()],
            ),
        })?;
        let v = &mut log.verification;
        let message_id = match &call {
            IncomingCall::SendRequest { data, .. } => Some(data.message_id.clone()),
            IncomingCall::SendResponse { data, .. } => Some(data.message_id.clone()),
            IncomingCall::Ack { message_id, .. } => Some(message_id.clone()),
            _ => None,
        };
        log.message_id = message_id.clone();
        let mid = if op.is_send() {
            Some(checks::message_id_format(
                message_id.as_deref().unwrap_or(""),
                v,
            )?)
        } else {
            None
        };
        // A missing ЭП-ОВ is reported as such, not as the schema violation an empty
        // CallerInformationSystemSignature also is.
        checks::signature_present(&env, v)?;
        if let Some(schema) = &self.envelope_schema {
            checks::envelope(schema, &xml, v)?;
        }
        let cert = checks::caller_signature(&env, &self.ids.trust, v)?;
        let caller = self.ids.participant(&cert).ok_or_else(|| {
            checks::fault(
                SmevFaultKind::SenderIsNotRegistered,
                format!(
                    "Информационная система с сертификатом {} не зарегистрирована в СМЭВ",
                    cert.subject
                ),
            )
        })?;
        log.caller = Some(caller.mnemonic.clone());
        self.state()
            .names
            .entry(caller.mnemonic.clone())
            .or_insert_with(|| caller.name.clone());
        match (call, mid) {
            (IncomingCall::SendRequest { data, attachments }, Some(mid)) => {
                self.send_request(&env, data, attachments, &caller, mid, log)
            }
            (IncomingCall::SendResponse { data, attachments }, Some(mid)) => {
                self.send_response(&env, data, attachments, &caller, mid, log)
            }
            (IncomingCall::GetRequest(s), _) => {
                self.deliver(Operation::GetRequest, &caller, &s, log)
            }
            (IncomingCall::GetResponse(s), _) => {
                self.deliver(Operation::GetResponse, &caller, &s, log)
            }
            (IncomingCall::Ack { message_id, .. }, _) => self.ack(&caller, &message_id, log),
            (IncomingCall::GetStatus, _) => self.get_status(&caller, log),
            _ => Err(failure("unexpected call")),
        }
    }

    /// Checks shared by SendRequest and SendResponse after the caller is known.
    fn send_checks(
        &self,
        env: &Envelope,
        mid: &MessageId,
        headers: &[AttachmentHeader],
        attachments: &[AttachmentContent],
        v: &mut Verification,
    ) -> Result<(), Fault> {
        if let Some(data) = parse::signed_element(env) {
            checks::personal_signature(env, data, &self.ids.trust, v)?;
        }
        checks::staleness(mid, self.stale_after, v)?;
        if self.state().sent.contains(&mid.to_string()) {
            return Err(checks::fault(
                SmevFaultKind::MessageIsAlreadySent,
                format!("Сообщение с идентификатором {mid} уже было отправлено"),
            ));
        }
        let declared: BTreeSet<&str> = headers.iter().map(|h| h.content_id.as_str()).collect();
        let present: BTreeSet<&str> = attachments.iter().map(|a| a.id.as_str()).collect();
        if declared != present {
            return Err(checks::fault(
                SmevFaultKind::AttachmentContentMiscoordination,
                format!(
                    "Заголовки вложений не соответствуют их содержимому: заголовки {declared:?}, содержимое {present:?}"
                ),
            ));
        }
        let total: u64 = attachments.iter().map(|a| a.content.len() as u64).sum();
        if total > self.config.smev.max_attachment_bytes {
            let mut f = checks::fault(
                SmevFaultKind::AttachmentSizeLimitExceeded,
                format!(
                    "Превышен допустимый размер вложений: {total} байт при допустимых {}",
                    self.config.smev.max_attachment_bytes
                ),
            );
            f.details = vec![
                (
                    "PermittedTotalAttachmentSize".into(),
                    self.config.smev.max_attachment_bytes.to_string(),
                ),
                ("RealTotalAttachmentSize".into(), total.to_string()),
            ];
            return Err(f);
        }
        Ok(())
    }

    fn business_root(content: &str) -> Result<QualifiedName, Fault> {
        build::business_content(content)
            .map(|(_, q)| q)
            .map_err(|e| {
                checks::invalid_content("SMEV-400:Нарушен формат бизнес-данных", &[e.to_string()])
            })
    }

    fn not_supported(q: &QualifiedName, why: &str) -> Fault {
        let mut f = checks::fault(
            SmevFaultKind::BusinessDataTypeIsNotSupported,
            format!("Вид сведений {q} {why}"),
        );
        f.details = vec![
            ("RootElementLocalName".into(), q.local_name.clone()),
            ("RootElementNamespaceURI".into(), q.namespace.clone()),
        ];
        f
    }

    fn send_request(
        &self,
        env: &Envelope,
        data: SenderProvidedRequestData,
        attachments: Vec<AttachmentContent>,
        caller: &Participant,
        mid: MessageId,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let v = &mut log.verification;
        self.send_checks(env, &mid, &data.attachment_headers, &attachments, v)?;
        if let Some(eol) = data.eol {
            if eol < now() {
                return Err(checks::fault(
                    SmevFaultKind::EndOfLifeReached,
                    format!("Истёк срок жизни сообщения (EOL {eol})"),
                ));
            }
        }
        let root = Self::business_root(&data.content)?;
        log.kind = Some(qname_text(&root));
        let kind_index = match self.kinds.iter().position(|k| k.request_root == root) {
            Some(i) => i,
            None if self.kinds.iter().any(|k| k.response_root == root) => {
                return Err(Self::not_supported(
                    &root,
                    "является ответом и не может быть отправлен методом SendRequest",
                ))
            }
            None => return Err(Self::not_supported(&root, "не зарегистрирован в СМЭВ")),
        };
        let kind = &self.kinds[kind_index];
        if kind.config.validate {
            if let Some(schema) = &kind.schema {
                checks::business(
                    schema,
                    &data.content,
                    &data.message_id,
                    &mut log.verification,
                )?;
            }
        }
        let data_node =
            parse::signed_element(env).ok_or_else(|| failure("no SenderProvidedRequestData"))?;
        let sender_data = standalone(env, data_node);
        let sender_signature = parse::caller_signature(env).map(|s| standalone(env, s));
        let id = data.message_id.clone();
        let provider = self.participant_named(&self.state(), &kind.config.provider);
        let reply_to;
        {
            let mut st = self.state();
            // Re-check under the lock: two concurrent sends of one id.
            if !st.sent.insert(id.clone()) {
                return Err(checks::fault(
                    SmevFaultKind::MessageIsAlreadySent,
                    format!("Сообщение с идентификатором {id} уже было отправлено"),
                ));
            }
            let sid = st.next_sid;
            st.next_sid += 1;
            reply_to = reply_to_token(sid, &id, &kind.config.name, &caller.mnemonic);
            st.routes.insert(
                reply_to.clone(),
                Route {
                    consumer: caller.clone(),
                    consumer_simulated: false,
                    node_id: data.node_id.clone(),
                    provider: provider.mnemonic.clone(),
                    request_message_id: id.clone(),
                    reference_message_id: data.reference_message_id.clone(),
                    kind: kind_index,
                },
            );
        }
        let async_fault = self
            .state()
            .injector
            .pick(Operation::SendRequest, Phase::Accept, |_| true);
        if let Some(FaultAction::AsyncRejection {
            description,
            status_queue,
        }) = &async_fault
        {
            log.injected = Some("async_rejection".into());
            self.async_rejection(
                caller,
                data.node_id.clone(),
                &id,
                &reply_to,
                InteractionStatus::RequestIsRejectedBySmev,
                description,
                *status_queue,
                Some(kind_index),
            )?;
        } else if kind.config.simulated {
            self.simulate_provider(kind_index, &data, caller, &reply_to);
        } else {
            let mut e = Entry::new(
                id.clone(),
                Payload {
                    sender_data,
                    sender_signature,
                    metadata: MessageMetadata {
                        id: None,
                        message_id: Some(id.clone()),
                        message_type: Some("REQUEST".into()),
                        sender: Some(Self::model_participant(caller)),
                        sending_timestamp: Some(now()),
                        recipient: Some(Self::model_participant(&provider)),
                        delivery_timestamp: None,
                        status: None,
                    },
                    original_message_id: None,
                    reference_message_id: None,
                    reply_to: Some(reply_to.clone()),
                    attachments,
                },
                now(),
            );
            e.request_kind = Some(kind.request_root.clone());
            e.response_kind = Some(kind.response_root.clone());
            self.state()
                .boxes
                .entry(provider.mnemonic.clone())
                .or_default()
                .requests
                .push(e);
        }
        log.outcome = "accepted".into();
        let meta = MessageMetadata {
            id: Some(build::ID_SMEV.into()),
            message_id: Some(id),
            message_type: Some("REQUEST".into()),
            sender: Some(Self::model_participant(caller)),
            sending_timestamp: Some(now()),
            recipient: Some(Self::model_participant(&provider)),
            delivery_timestamp: None,
            status: Some(InteractionStatus::RequestIsQueued),
        };
        self.signed_answer(
            Operation::SendRequest,
            build::send_answer("SendRequestResponse", &meta),
            Vec::new(),
            log,
        )
    }

    /// Signs an answer with ЭП-СМЭВ, corrupting the signature when a rule says so.
    fn signed_answer(
        &self,
        op: Operation,
        xml: Vec<u8>,
        parts: Vec<MimePart>,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let mut xml = self.smev_sign(xml)?;
        if self
            .state()
            .injector
            .pick(op, Phase::Delivery, |a| *a == FaultAction::CorruptSignature)
            .is_some()
            && corrupt_smev_signature(&mut xml)
        {
            log.injected = Some(match log.injected.take() {
                Some(i) => format!("{i}+corrupt_signature"),
                None => "corrupt_signature".into(),
            });
        }
        Ok(Outcome::Soap { xml, parts })
    }

    /// Builds a message a simulated sender signed: the sender data and its signature.
    fn signed_response_pieces(
        &self,
        d: &SenderProvidedResponseData,
        by_smev: bool,
    ) -> Result<(String, Option<String>), SmevError> {
        let out = build::send_response(d, &[], AttachmentMode::Inline, false);
        let signer = if by_smev {
            &self.ids.smev
        } else {
            &self.ids.simulator
        };
        let signed = sign_envelope(out, signer.as_ref(), &d.id)?;
        pieces(&signed.xml)
    }

    fn simulate_provider(
        &self,
        kind_index: usize,
        data: &SenderProvidedRequestData,
        consumer: &Participant,
        reply_to: &str,
    ) {
        let kind = &self.kinds[kind_index];
        let values = scenario::values(&data.content);
        let today = now().format("%Y-%m-%d").to_string();
        let extra = [
            ("message_id", data.message_id.clone()),
            ("sender", consumer.mnemonic.clone()),
            ("now", now().to_rfc3339()),
            ("today", today),
            ("new_uuid", uuid::Uuid::new_v4().to_string()),
        ];
        let planned = match kind.rule_for(&values) {
            Some(rule) => {
                let delay = self.state().injector.between(
                    rule.config.delay_ms,
                    rule.config.delay_max_ms.unwrap_or(rule.config.delay_ms),
                );
                scenario::plan(rule, &values, &extra, Duration::from_millis(delay))
            }
            None => vec![scenario::Planned {
                after: Duration::ZERO,
                content: ResponseContent::Rejected(vec![Rejection {
                    code: RejectionReasonCode::Failure,
                    description: "mock-smev: no scenario rule matches the request".into(),
                }]),
                attachments: Vec::new(),
            }],
        };
        let provider = Participant {
            mnemonic: kind.config.provider.clone(),
            name: kind.provider_name(),
        };
        for p in planned {
            let d = SenderProvidedResponseData {
                id: build::ID_PROVIDER.into(),
                message_id: MessageId::new().to_string(),
                to: reply_to.to_string(),
                content: p.content,
            };
            let (sender_data, sender_signature) = match self.signed_response_pieces(&d, false) {
                Ok(x) => x,
                Err(e) => {
                    tracing::error!(
                        "simulated provider {}: cannot sign its answer: {e}",
                        provider.mnemonic
                    );
                    continue;
                }
            };
            let visible = Instant::now()
                .checked_add(p.after)
                .unwrap_or_else(Instant::now);
            let sending = i64::try_from(p.after.as_millis())
                .ok()
                .and_then(chrono::Duration::try_milliseconds)
                .and_then(|d| now().checked_add_signed(d))
                .unwrap_or_else(now);
            let mut e = Entry::new(
                d.message_id.clone(),
                Payload {
                    sender_data,
                    sender_signature,
                    metadata: MessageMetadata {
                        id: None,
                        message_id: Some(d.message_id.clone()),
                        message_type: Some("RESPONSE".into()),
                        sender: Some(Self::model_participant(&provider)),
                        sending_timestamp: Some(sending),
                        recipient: Some(Self::model_participant(consumer)),
                        delivery_timestamp: None,
                        status: None,
                    },
                    original_message_id: Some(data.message_id.clone()),
                    reference_message_id: Some(
                        data.reference_message_id
                            .clone()
                            .unwrap_or_else(|| data.message_id.clone()),
                    ),
                    reply_to: None,
                    attachments: p.attachments,
                },
                sending,
            );
            e.request_kind = Some(kind.request_root.clone());
            e.response_kind = Some(kind.response_root.clone());
            e.node_id = data.node_id.clone();
            e.visible_at = visible;
            self.state()
                .boxes
                .entry(consumer.mnemonic.clone())
                .or_default()
                .responses
                .push(e);
        }
    }

    /// SMEV's asynchronous rejection of an accepted message, into the sender's response queue
    /// (and status queue).
    #[allow(clippy::too_many_arguments)]
    fn async_rejection(
        &self,
        sender: &Participant,
        node_id: Option<String>,
        original: &str,
        reply_to: &str,
        category: InteractionStatus,
        description: &str,
        status_queue: bool,
        kind: Option<usize>,
    ) -> Result<(), Fault> {
        let text = format!("{description} MessageId = {original}");
        let mut fault = checks::fault(SmevFaultKind::InvalidContent, format!("SMEV-403:{text}"));
        fault.code = Some("mock-smev:TSMEV3_ASYNC_CORE1:TR:ASYNC:PP:BSV:3".into());
        fault.details = vec![(
            "ValidationError".into(),
            "cvc-complex-type.2.4.b: содержимое бизнес-данных не соответствует схеме (имитация)"
                .into(),
        )];
        let status = AsyncProcessingStatus {
            original_message_id: original.to_string(),
            category,
            details: Some(text),
            fault: Some(*fault),
        };
        let d = SenderProvidedResponseData {
            id: build::ID_ASYNC_SMEV.into(),
            message_id: MessageId::new().to_string(),
            to: reply_to.to_string(),
            content: ResponseContent::AsyncProcessingStatus(status.clone()),
        };
        let (sender_data, sender_signature) =
            self.signed_response_pieces(&d, true).map_err(failure)?;
        let smev = self.smev_participant();
        let mut e = Entry::new(
            d.message_id.clone(),
            Payload {
                sender_data,
                sender_signature,
                metadata: MessageMetadata {
                    id: None,
                    message_id: Some(d.message_id.clone()),
                    message_type: Some("RESPONSE".into()),
                    sender: Some(Self::model_participant(&smev)),
                    sending_timestamp: Some(now()),
                    recipient: Some(Self::model_participant(sender)),
                    delivery_timestamp: None,
                    status: None,
                },
                original_message_id: Some(original.to_string()),
                reference_message_id: Some(original.to_string()),
                reply_to: None,
                attachments: Vec::new(),
            },
            now(),
        );
        if let Some(k) = kind {
            e.request_kind = Some(self.kinds[k].request_root.clone());
            e.response_kind = Some(self.kinds[k].response_root.clone());
        }
        e.node_id = node_id;
        let mut st = self.state();
        let mb = st.boxes.entry(sender.mnemonic.clone()).or_default();
        mb.responses.push(e);
        if status_queue {
            mb.statuses.push_back(status);
        }
        Ok(())
    }

    fn send_response(
        &self,
        env: &Envelope,
        data: SenderProvidedResponseData,
        attachments: Vec<AttachmentContent>,
        caller: &Participant,
        mid: MessageId,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let headers: Vec<AttachmentHeader> = match &data.content {
            ResponseContent::Primary {
                attachment_headers, ..
            } => attachment_headers.clone(),
            _ => Vec::new(),
        };
        self.send_checks(env, &mid, &headers, &attachments, &mut log.verification)?;
        let route = self.state().routes.get(data.to.trim()).cloned().ok_or_else(|| {
            checks::fault(
                SmevFaultKind::RecipientIsNotFound,
                "Получатель не найден: значение To не соответствует ни одному запросу (скопируйте ReplyTo полученного запроса)",
            )
        })?;
        if route.provider != caller.mnemonic {
            return Err(checks::fault(
                SmevFaultKind::AccessDenied,
                format!(
                    "Доступ запрещён: запрос {} адресован {}, а ответ отправляет {}",
                    route.request_message_id, route.provider, caller.mnemonic
                ),
            ));
        }
        let kind = &self.kinds[route.kind];
        log.kind = Some(qname_text(&kind.response_root));
        let (content_type, content_text) = match &data.content {
            ResponseContent::Primary { content, .. } => {
                let root = Self::business_root(content)?;
                log.kind = Some(qname_text(&root));
                if root != kind.response_root {
                    if self.kinds.iter().any(|k| k.request_root == root) {
                        return Err(checks::fault(
                            SmevFaultKind::IncorrectResponseContentType,
                            format!("Ответ содержит данные вида запроса {root}"),
                        ));
                    }
                    return Err(Self::not_supported(
                        &root,
                        "не является ответом на этот запрос",
                    ));
                }
                if kind.config.validate {
                    if let Some(schema) = &kind.schema {
                        checks::business(schema, content, &data.message_id, &mut log.verification)?;
                    }
                }
                ("answer", content.clone())
            }
            ResponseContent::Rejected(r) => (
                "rejection",
                r.iter()
                    .map(|x| format!("{}: {}", x.code.as_str(), x.description))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            ResponseContent::Status(s) => ("status", format!("{}: {}", s.code, s.description)),
            ResponseContent::AsyncProcessingStatus(_) => {
                return Err(checks::invalid_content(
                    "SMEV-400:AsyncProcessingStatus формирует только СМЭВ",
                    &["AsyncProcessingStatus is reserved to SMEV".to_string()],
                ))
            }
        };
        let id = data.message_id.clone();
        if !self.state().sent.insert(id.clone()) {
            return Err(checks::fault(
                SmevFaultKind::MessageIsAlreadySent,
                format!("Сообщение с идентификатором {id} уже было отправлено"),
            ));
        }
        let async_fault =
            self.state()
                .injector
                .pick(Operation::SendResponse, Phase::Accept, |_| true);
        if let Some(FaultAction::AsyncRejection {
            description,
            status_queue,
        }) = &async_fault
        {
            log.injected = Some("async_rejection".into());
            self.async_rejection(
                caller,
                None,
                &id,
                &data.to,
                InteractionStatus::ResponseIsRejectedBySmev,
                description,
                *status_queue,
                Some(route.kind),
            )?;
        } else if route.consumer_simulated {
            self.state().inbox.push(InboxEntry {
                received_at: now(),
                consumer: route.consumer.mnemonic.clone(),
                provider: caller.mnemonic.clone(),
                message_id: id.clone(),
                original_message_id: route.request_message_id.clone(),
                content_type: content_type.into(),
                content: content_text,
                attachments: attachments.iter().map(|a| a.id.clone()).collect(),
            });
        } else {
            let data_node = parse::signed_element(env)
                .ok_or_else(|| failure("no SenderProvidedResponseData"))?;
            let mut e = Entry::new(
                id.clone(),
                Payload {
                    sender_data: standalone(env, data_node),
                    sender_signature: parse::caller_signature(env).map(|s| standalone(env, s)),
                    metadata: MessageMetadata {
                        id: None,
                        message_id: Some(id.clone()),
                        message_type: Some("RESPONSE".into()),
                        sender: Some(Self::model_participant(caller)),
                        sending_timestamp: Some(now()),
                        recipient: Some(Self::model_participant(&route.consumer)),
                        delivery_timestamp: None,
                        status: None,
                    },
                    original_message_id: Some(route.request_message_id.clone()),
                    reference_message_id: Some(
                        route
                            .reference_message_id
                            .clone()
                            .unwrap_or_else(|| route.request_message_id.clone()),
                    ),
                    reply_to: None,
                    attachments,
                },
                now(),
            );
            e.request_kind = Some(kind.request_root.clone());
            e.response_kind = Some(kind.response_root.clone());
            e.node_id = route.node_id.clone();
            self.state()
                .boxes
                .entry(route.consumer.mnemonic.clone())
                .or_default()
                .responses
                .push(e);
        }
        log.outcome = "accepted".into();
        let meta = MessageMetadata {
            id: Some(build::ID_SMEV.into()),
            message_id: Some(id),
            message_type: Some("RESPONSE".into()),
            sender: Some(Self::model_participant(caller)),
            sending_timestamp: Some(now()),
            recipient: Some(Self::model_participant(&route.consumer)),
            delivery_timestamp: None,
            status: Some(InteractionStatus::ResponseIsQueued),
        };
        self.signed_answer(
            Operation::SendResponse,
            build::send_answer("SendResponseResponse", &meta),
            Vec::new(),
            log,
        )
    }

    fn deliver(
        &self,
        op: Operation,
        caller: &Participant,
        s: &MessageTypeSelector,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let (answer_el, is_request) = if op == Operation::GetRequest {
            ("GetRequestResponse", true)
        } else {
            ("GetResponseResponse", false)
        };
        if let Some(k) = &s.kind {
            log.kind = Some(qname_text(k));
            let known = self
                .kinds
                .iter()
                .any(|x| x.request_root == *k || (!is_request && x.response_root == *k));
            if !known {
                return Err(checks::fault(
                    SmevFaultKind::UnknownMessageType,
                    format!("Неизвестный тип сообщения в MessageTypeSelector: {k}"),
                ));
            }
        }
        let filter = Filter {
            kind: s.kind.clone(),
            either_root: !is_request,
            node_id: if is_request {
                None
            } else {
                Some(s.node_id.clone())
            },
        };
        let taken = {
            let mut st = self.state();
            let mb = st.boxes.entry(caller.mnemonic.clone()).or_default();
            let q = if is_request {
                &mut mb.requests
            } else {
                &mut mb.responses
            };
            let taken = q.take(&filter, self.redelivery);
            if let Some(e) = &taken {
                if st
                    .injector
                    .pick(op, Phase::Delivery, |a| {
                        *a == FaultAction::DuplicateDelivery
                    })
                    .is_some()
                {
                    let mb = st.boxes.entry(caller.mnemonic.clone()).or_default();
                    let q = if is_request {
                        &mut mb.requests
                    } else {
                        &mut mb.responses
                    };
                    q.duplicate(&e.message_id);
                    log.injected = Some("duplicate_delivery".into());
                }
                st.counts
                    .entry(e.message_id.clone())
                    .or_default()
                    .deliveries += 1;
            }
            taken
        };
        let Some(e) = taken else {
            log.outcome = "empty".into();
            return Ok(Outcome::Soap {
                xml: build::empty_answer(answer_el),
                parts: Vec::new(),
            });
        };
        log.outcome = "delivered".into();
        log.delivered_message_id = Some(e.message_id.clone());
        let mut metadata = e.payload.metadata.clone();
        metadata.delivery_timestamp = Some(now());
        metadata.status = Some(InteractionStatus::MessageIsDelivered);
        let p = &e.payload;
        let delivery = Delivery {
            sender_data: &p.sender_data,
            sender_signature: p.sender_signature.as_deref(),
            metadata,
            original_message_id: p.original_message_id.as_deref(),
            reference_message_id: p.reference_message_id.as_deref(),
            reply_to: p.reply_to.as_deref(),
            attachments: &p.attachments,
        };
        let (xml, parts) = if is_request {
            build::get_request_answer(&delivery, self.mode())
        } else {
            build::get_response_answer(&delivery, self.mode())
        };
        self.signed_answer(op, xml, parts, log)
    }

    fn ack(
        &self,
        caller: &Participant,
        message_id: &str,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let id = message_id.trim();
        let found = {
            let mut st = self.state();
            let mb = st.boxes.entry(caller.mnemonic.clone()).or_default();
            let found = mb.requests.ack(id) | mb.responses.ack(id);
            if found {
                st.counts.entry(id.to_string()).or_default().acks += 1;
            }
            found
        };
        if !found {
            return Err(checks::fault(
                SmevFaultKind::TargetMessageIsNotFound,
                format!("Неподтверждённое сообщение с идентификатором {id} не найдено"),
            ));
        }
        log.outcome = "acknowledged".into();
        Ok(Outcome::Soap {
            xml: build::empty_answer("AckResponse"),
            parts: Vec::new(),
        })
    }

    fn get_status(&self, caller: &Participant, log: &mut LogEntry) -> Result<Outcome, Fault> {
        let status = self
            .state()
            .boxes
            .entry(caller.mnemonic.clone())
            .or_default()
            .statuses
            .pop_front();
        match status {
            None => {
                log.outcome = "empty".into();
                Ok(Outcome::Soap {
                    xml: build::empty_answer("GetStatusResponse"),
                    parts: Vec::new(),
                })
            }
            Some(s) => {
                log.outcome = "delivered".into();
                log.delivered_message_id = Some(s.original_message_id.clone());
                self.signed_answer(
                    Operation::GetStatus,
                    build::get_status_answer(&s),
                    Vec::new(),
                    log,
                )
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Simulated consumers and admin operations.

    /// Puts a request of a simulated consumer into a participant's GetRequest queue.
    pub fn inject_request(&self, req: InjectRequest) -> Result<Injected, AdminError> {
        let kind_index = self
            .kinds
            .iter()
            .position(|k| k.config.name == req.kind)
            .ok_or_else(|| AdminError::NotFound(format!("unknown kind {:?}", req.kind)))?;
        let kind = &self.kinds[kind_index];
        let to = match &req.to {
            Some(t) => t.clone(),
            None if !kind.config.simulated => kind.config.provider.clone(),
            None => {
                return Err(AdminError::BadRequest(format!(
                    "kind {} is answered by a simulated provider: give \"to\" (the participant that should receive the request)",
                    kind.config.name
                )))
            }
        };
        let from = Participant {
            mnemonic: req.from.clone().unwrap_or_else(|| "CONSUMER".into()),
            name: req
                .from_name
                .clone()
                .unwrap_or_else(|| "Имитация потребителя (mock-smev)".into()),
        };
        let today = now().format("%Y-%m-%d").to_string();
        let extra = [
            ("now", now().to_rfc3339()),
            ("today", today),
            ("new_uuid", uuid::Uuid::new_v4().to_string()),
            ("sender", from.mnemonic.clone()),
        ];
        let content = match &req.content {
            Some(c) => c.clone(),
            None => {
                let t = kind.sample_request.as_deref().ok_or_else(|| {
                    AdminError::BadRequest(format!(
                        "kind {} has no sample_request: give \"content\"",
                        kind.config.name
                    ))
                })?;
                scenario::render(t, &Values::default(), &extra).map_err(AdminError::BadRequest)?
            }
        };
        let (content, root) =
            build::business_content(&content).map_err(|e| AdminError::BadRequest(e.to_string()))?;
        if root != kind.request_root {
            return Err(AdminError::BadRequest(format!(
                "content root {root} is not the request root {} of kind {}",
                kind.request_root, kind.config.name
            )));
        }
        if kind.config.validate {
            if let Some(schema) = &kind.schema {
                schema.validate(content.as_bytes()).map_err(|e| {
                    AdminError::BadRequest(format!("content violates the kind's schema: {e}"))
                })?;
            }
        }
        let files = {
            let list = req.attachments.clone();
            let mut out = Vec::new();
            for (i, a) in list.iter().enumerate() {
                let bytes = resources::read(&a.file, &self.config.base_dir)
                    .map_err(|e| AdminError::BadRequest(e.to_string()))?;
                let id = a.content_id.clone().unwrap_or_else(|| {
                    scenario::content_id_from(
                        a.file
                            .rsplit(['/', '\\', ':'])
                            .next()
                            .unwrap_or("attachment"),
                    )
                });
                let id = if out
                    .iter()
                    .any(|(h, _): &(AttachmentHeader, AttachmentContent)| h.content_id == id)
                {
                    format!("{id}-{i}")
                } else {
                    id
                };
                out.push((
                    AttachmentHeader {
                        content_id: id.clone(),
                        mime_type: a.mime_type.clone(),
                        signature_pkcs7: None,
                    },
                    AttachmentContent { id, content: bytes },
                ));
            }
            out
        };
        self.inject(
            kind_index,
            &from,
            &to,
            content,
            files,
            req.node_id.clone(),
            req.test_message,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn inject(
        &self,
        kind_index: usize,
        from: &Participant,
        to: &str,
        content: String,
        files: Vec<(AttachmentHeader, AttachmentContent)>,
        node_id: Option<String>,
        test_message: bool,
    ) -> Result<Injected, AdminError> {
        let kind = &self.kinds[kind_index];
        let message_id = MessageId::new().to_string();
        let d = SenderProvidedRequestData {
            id: build::ID_CONSUMER.into(),
            message_id: message_id.clone(),
            reference_message_id: None,
            transaction_code: None,
            node_id,
            eol: None,
            content,
            personal_signature: None,
            attachment_headers: files.iter().map(|(h, _)| h.clone()).collect(),
            ref_attachment_headers: Vec::new(),
            test_message,
        };
        let out = build::send_request(&d, &[], AttachmentMode::Inline, false);
        let signed = sign_envelope(out, self.ids.simulator.as_ref(), build::ID_CONSUMER)
            .map_err(|e| AdminError::BadRequest(format!("cannot sign: {e}")))?;
        let (sender_data, sender_signature) =
            pieces(&signed.xml).map_err(|e| AdminError::BadRequest(e.to_string()))?;
        let mut st = self.state();
        let recipient = self.participant_named(&st, to);
        let sid = st.next_sid;
        st.next_sid += 1;
        let reply_to = reply_to_token(sid, &message_id, &kind.config.name, &from.mnemonic);
        st.routes.insert(
            reply_to.clone(),
            Route {
                consumer: from.clone(),
                consumer_simulated: true,
                node_id: None,
                provider: to.to_string(),
                request_message_id: message_id.clone(),
                reference_message_id: None,
                kind: kind_index,
            },
        );
        st.sent.insert(message_id.clone());
        let mut e = Entry::new(
            message_id.clone(),
            Payload {
                sender_data,
                sender_signature,
                metadata: MessageMetadata {
                    id: None,
                    message_id: Some(message_id.clone()),
                    message_type: Some("REQUEST".into()),
                    sender: Some(Self::model_participant(from)),
                    sending_timestamp: Some(now()),
                    recipient: Some(Self::model_participant(&recipient)),
                    delivery_timestamp: None,
                    status: None,
                },
                original_message_id: None,
                reference_message_id: None,
                reply_to: Some(reply_to.clone()),
                attachments: files.into_iter().map(|(_, c)| c).collect(),
            },
            now(),
        );
        e.request_kind = Some(kind.request_root.clone());
        e.response_kind = Some(kind.response_root.clone());
        st.boxes.entry(to.to_string()).or_default().requests.push(e);
        drop(st);
        let mut log = LogEntry::new(Operation::SendRequest);
        log.source = "simulated";
        log.caller = Some(from.mnemonic.clone());
        log.message_id = Some(message_id.clone());
        log.kind = Some(qname_text(&kind.request_root));
        log.outcome = "accepted".into();
        self.record(log);
        Ok(Injected {
            message_id,
            reply_to,
            to: to.to_string(),
            from: from.mnemonic.clone(),
            kind: kind.config.name.clone(),
        })
    }

    /// Sends the requests of enabled simulated consumers that are due.
    pub fn tick_consumers(&self) {
        let due: Vec<usize> = {
            let mut st = self.state();
            let now_i = Instant::now();
            let mut due = Vec::new();
            for (i, c) in st.consumers.iter_mut().enumerate() {
                if c.enabled && c.next_due <= now_i {
                    match now_i.checked_add(c.every) {
                        Some(t) => c.next_due = t,
                        None => c.enabled = false,
                    }
                    c.sent += 1;
                    due.push(i);
                }
            }
            due
        };
        for i in due {
            let c = &self.consumers[i];
            let Some(kind_index) = self
                .kinds
                .iter()
                .position(|k| k.config.name == c.config.kind)
            else {
                continue;
            };
            let today = now().format("%Y-%m-%d").to_string();
            let extra = [
                ("now", now().to_rfc3339()),
                ("today", today),
                ("new_uuid", uuid::Uuid::new_v4().to_string()),
                ("sender", c.config.mnemonic.clone()),
            ];
            let result = scenario::render(&c.template, &Values::default(), &extra)
                .and_then(|xml| {
                    build::business_content(&xml)
                        .map(|(x, _)| x)
                        .map_err(|e| e.to_string())
                })
                .map_err(AdminError::BadRequest)
                .and_then(|content| {
                    let from = Participant {
                        mnemonic: c.config.mnemonic.clone(),
                        name: c
                            .config
                            .name
                            .clone()
                            .unwrap_or_else(|| c.config.mnemonic.clone()),
                    };
                    let files = c
                        .attachments
                        .iter()
                        .map(|a| (a.header.clone(), a.content.clone()))
                        .collect();
                    self.inject(
                        kind_index,
                        &from,
                        &c.config.to,
                        content,
                        files,
                        None,
                        c.config.test_message,
                    )
                });
            match result {
                Ok(i) => tracing::info!(
                    "consumer {} sent request {} to {}",
                    c.config.mnemonic,
                    i.message_id,
                    i.to
                ),
                Err(e) => tracing::warn!("consumer {}: {e}", c.config.mnemonic),
            }
        }
    }

    /// Switches a simulated consumer on or off and/or changes its period.
    pub fn set_consumer(
        &self,
        mnemonic: &str,
        enabled: Option<bool>,
        every_secs: Option<u64>,
    ) -> Result<ConsumerView, AdminError> {
        let i = self
            .consumers
            .iter()
            .position(|c| c.config.mnemonic == mnemonic)
            .ok_or_else(|| AdminError::NotFound(format!("unknown consumer {mnemonic:?}")))?;
        {
            let mut st = self.state();
            let c = &mut st.consumers[i];
            if let Some(s) = every_secs {
                c.every = Duration::from_secs(s.clamp(1, MAX_PERIOD_SECS));
            }
            if let Some(e) = enabled {
                if e && !c.enabled {
                    c.next_due = Instant::now();
                }
                c.enabled = e;
            }
        }
        self.consumers_view()
            .into_iter()
            .nth(i)
            .ok_or_else(|| AdminError::NotFound(mnemonic.to_string()))
    }

    pub fn consumers_view(&self) -> Vec<ConsumerView> {
        let st = self.state();
        self.consumers
            .iter()
            .zip(st.consumers.iter())
            .map(|(c, s)| ConsumerView {
                mnemonic: c.config.mnemonic.clone(),
                kind: c.config.kind.clone(),
                to: c.config.to.clone(),
                enabled: s.enabled,
                every_secs: s.every.as_secs(),
                sent: s.sent,
            })
            .collect()
    }

    /// Received calls, oldest first, filtered.
    pub fn messages(&self, f: &LogFilter) -> Vec<LogEntry> {
        let st = self.state();
        let mut out: Vec<LogEntry> = st
            .log
            .iter()
            .filter(|e| f.since_seq.is_none_or(|s| e.seq > s))
            .filter(|e| {
                f.operation
                    .as_deref()
                    .is_none_or(|o| e.operation.as_str().eq_ignore_ascii_case(o))
            })
            .filter(|e| {
                f.message_id.as_deref().is_none_or(|m| {
                    e.message_id.as_deref() == Some(m)
                        || e.delivered_message_id.as_deref() == Some(m)
                })
            })
            .filter(|e| {
                f.caller
                    .as_deref()
                    .is_none_or(|c| e.caller.as_deref() == Some(c))
            })
            .filter(|e| f.outcome.as_deref().is_none_or(|o| e.outcome == o))
            .cloned()
            .collect();
        if let Some(limit) = f.limit {
            let skip = out.len().saturating_sub(limit);
            out.drain(..skip);
        }
        out
    }

    /// Counters of one MessageID.
    pub fn count(&self, message_id: &str) -> CountView {
        let st = self.state();
        CountView {
            message_id: message_id.to_string(),
            counts: st.counts.get(message_id).copied().unwrap_or_default(),
            log_entries: st
                .log
                .iter()
                .filter(|e| {
                    e.message_id.as_deref() == Some(message_id)
                        || e.delivered_message_id.as_deref() == Some(message_id)
                })
                .count(),
        }
    }

    pub fn stats(&self) -> Stats {
        let st = self.state();
        Stats {
            uptime_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            queues: st
                .boxes
                .iter()
                .map(|(k, mb)| {
                    (
                        k.clone(),
                        MailboxStats {
                            requests: mb.requests.depth(self.redelivery),
                            responses: mb.responses.depth(self.redelivery),
                            statuses: mb.statuses.len(),
                        },
                    )
                })
                .collect(),
            operations: st.stats.clone(),
            accepted_message_ids: st.sent.len(),
            inbox: st.inbox.len(),
            fault_rules: st.injector.list().len(),
            log_entries: st.log.len(),
        }
    }

    pub fn inbox(&self) -> Vec<InboxEntry> {
        self.state().inbox.clone()
    }

    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64, AdminError> {
        Ok(self.state().injector.add(spec)?)
    }

    pub fn remove_fault(&self, id: u64) -> bool {
        self.state().injector.remove(id)
    }

    pub fn clear_faults(&self) {
        self.state().injector.clear();
    }

    pub fn faults(&self) -> Vec<RuleView> {
        self.state().injector.list()
    }

    /// Back to the initial state: empty queues, logs and counters, the configured fault rules
    /// and consumer settings.
    pub fn reset(&self) {
        let mut injector = Injector::new(self.config.smev.seed);
        for f in &self.config.faults {
            // Validated at start, so a refusal here cannot happen.
            if let Err(e) = injector.add(f.clone()) {
                tracing::error!(error = %e, "fault rule refused on reset");
            }
        }
        let mut st = self.state();
        st.boxes.clear();
        st.names.clear();
        st.sent.clear();
        st.counts.clear();
        st.routes.clear();
        st.log.clear();
        st.stats.clear();
        st.inbox.clear();
        st.injector = injector;
        st.consumers = consumers_state(&self.consumers);
    }
}

/// Longest period of a simulated consumer (ten years).
const MAX_PERIOD_SECS: u64 = 10 * 365 * 24 * 3600;

fn consumers_state(consumers: &[Consumer]) -> Vec<ConsumerState> {
    consumers
        .iter()
        .map(|c| ConsumerState {
            enabled: c.config.enabled,
            every: Duration::from_secs(c.config.every_secs.clamp(1, MAX_PERIOD_SECS)),
            next_due: Instant::now(),
            sent: 0,
        })
        .collect()
}

/// Filters of `GET /admin/messages`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LogFilter {
    pub operation: Option<String>,
    pub message_id: Option<String>,
    pub caller: Option<String>,
    pub outcome: Option<String>,
    /// Only entries after this sequence number.
    pub since_seq: Option<u64>,
    /// The last N matching entries.
    pub limit: Option<usize>,
}
