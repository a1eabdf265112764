//! The simulated SMEV itself, independent of HTTP: takes the XML of an incoming call, applies the
//! strict checks, routes messages between participants' queues, runs simulated providers and
//! consumers, signs what it delivers with ЭП-СМЭВ, and records every call for the admin API.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use smev_protocol::smev::build::{self, AttachmentMode, Delivery, Outgoing};
use smev_protocol::smev::client::{now, sign_envelope};
use smev_protocol::smev::model::*;
use smev_protocol::smev::mtom::MimePart;
use smev_protocol::smev::parse::{self, Envelope, IncomingCall};
use smev_protocol::smev::schema::Schema;
use smev_protocol::smev::{MessageId, SmevError, SmevFaultKind};

use super::checks::{self, Fault, Verification};
use super::config::{AttachmentTransfer, MockConfig};
use super::faults::{FaultAction, FaultSpec, Injector, Operation, Phase, RuleView};
use super::file_storage::{FileStorage, StoredFile};
use super::identity::{Identities, Participant};
use super::queue::{Entry, Filter, Payload, Queue};
use super::resources;
use super::scenario::{self, Consumer, Kind, Values};

mod inject;
mod inspect;
mod request;
mod response;
mod storage;
use storage::rejection;
mod views;

pub use views::*;

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
    /// The simulated file storage, when `[file_storage] listen` is set.
    file_storage: Option<Arc<FileStorage>>,
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
        let file_storage = storage::open(&config, &mut kinds, ids.simulator.as_ref())?;
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
            file_storage,
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
