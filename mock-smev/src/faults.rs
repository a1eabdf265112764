//! Fault injection: rules that make mock-smev fail on purpose, by rate and by schedule, per
//! operation — HTTP 500/503 without SOAP, slow answers, dropped connections, any SMEV fault of the
//! faults schema, a corrupted ЭП-СМЭВ on a delivered message, duplicate delivery, and SMEV's
//! asynchronous rejection. Also builds SMEV faults with the detail fields their schema requires.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use smev_protocol::smev::{SmevFault, SmevFaultKind};

/// The SMEV operations mock-smev serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Operation {
    SendRequest,
    SendResponse,
    GetRequest,
    GetResponse,
    Ack,
    GetStatus,
    /// Unparseable or unknown body.
    Unknown,
}

impl Operation {
    pub const ALL: &'static [Operation] = &[
        Operation::SendRequest,
        Operation::SendResponse,
        Operation::GetRequest,
        Operation::GetResponse,
        Operation::Ack,
        Operation::GetStatus,
    ];

    /// From the local name of the body element (`SendRequestRequest` …).
    pub fn from_body_element(local: &str) -> Self {
        match local {
            "SendRequestRequest" => Operation::SendRequest,
            "SendResponseRequest" => Operation::SendResponse,
            "GetRequestRequest" => Operation::GetRequest,
            "GetResponseRequest" => Operation::GetResponse,
            "AckRequest" => Operation::Ack,
            "GetStatusRequest" => Operation::GetStatus,
            _ => Operation::Unknown,
        }
    }

    /// From an operation name (`SendRequest` …), case-insensitive.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|o| o.as_str().eq_ignore_ascii_case(name.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::SendRequest => "SendRequest",
            Operation::SendResponse => "SendResponse",
            Operation::GetRequest => "GetRequest",
            Operation::GetResponse => "GetResponse",
            Operation::Ack => "Ack",
            Operation::GetStatus => "GetStatus",
            Operation::Unknown => "Unknown",
        }
    }

    pub fn is_send(self) -> bool {
        matches!(self, Operation::SendRequest | Operation::SendResponse)
    }

    pub fn is_get(self) -> bool {
        matches!(self, Operation::GetRequest | Operation::GetResponse)
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fault rule, as written in TOML (`[[faults]]`) or posted to `POST /admin/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSpec {
    /// `http_500`, `http_503`, `slow`, `reset`, `corrupt_signature`, `duplicate_delivery`,
    /// `async_rejection`, `no_answer`, or the name of a SMEV fault (`SMEVFailure`, `DestinationOverflow`, …).
    pub fault: String,
    /// Operations it applies to (`SendRequest`, `GetResponse`, …); empty: every operation the
    /// fault makes sense for.
    pub operations: Vec<String>,
    /// Probability per matching call, 0.0–1.0 (default 1.0).
    pub rate: Option<f64>,
    /// Fire at most this many times (then the rule is exhausted).
    pub count: Option<u64>,
    /// Active from this moment (RFC 3339, quoted in TOML).
    pub from: Option<DateTime<FixedOffset>>,
    /// Active until this moment.
    pub until: Option<DateTime<FixedOffset>>,
    /// Active from this many milliseconds after the rule is installed.
    pub after_ms: Option<u64>,
    /// Active for this many milliseconds (from `after_ms`, or from installation).
    pub for_ms: Option<u64>,
    /// `slow`: how long to hold the answer (default 120000 ms).
    pub delay_ms: Option<u64>,
    /// SMEV faults: `SmevFault/Code` (default a mock code).
    pub code: Option<String>,
    /// SMEV faults and `async_rejection`: the text (default the fault's Russian description).
    pub description: Option<String>,
    /// `SignatureVerificationFault`: the sub-code (default `SignatureIsInvalid`).
    pub sub_code: Option<String>,
    /// `async_rejection`: also put the status into the sender's status queue (GetStatus).
    pub status_queue: bool,
    /// `no_answer`: SendingTimestamp this many days in the past (default 0), so that a
    /// consumer's deadline can be tested without waiting for it.
    pub backdate_days: Option<u32>,
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// HTTP status without a SOAP body.
    Http(u16),
    /// Process the call, then hold the answer for this long.
    Slow(std::time::Duration),
    /// Drop the connection without answering.
    Reset,
    /// Answer with this SMEV fault instead of processing.
    Smev(Box<SmevFault>),
    /// Flip a byte of the ЭП-СМЭВ SignatureValue of a signed answer.
    CorruptSignature,
    /// Deliver the message once more after this delivery.
    DuplicateDelivery,
    /// Accept with `requestIsQueued`, then reject asynchronously.
    AsyncRejection {
        description: String,
        status_queue: bool,
    },
    /// Accept a SendRequest stamped `backdate_days` in the past; the provider never answers
    /// (the request was lost on the provider's side, or sent long ago).
    NoAnswer { backdate_days: u32 },
}

/// When a rule is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before processing (transport failures, SMEV faults, slow answers).
    Call,
    /// When a message is delivered by GetRequest/GetResponse (or an answer is signed).
    Delivery,
    /// When a Send* is accepted.
    Accept,
}

impl FaultAction {
    fn phase(&self) -> Phase {
        match self {
            FaultAction::Http(_)
            | FaultAction::Slow(_)
            | FaultAction::Reset
            | FaultAction::Smev(_) => Phase::Call,
            FaultAction::CorruptSignature | FaultAction::DuplicateDelivery => Phase::Delivery,
            FaultAction::AsyncRejection { .. } | FaultAction::NoAnswer { .. } => Phase::Accept,
        }
    }

    /// Stable name for logs and stats.
    pub fn name(&self) -> String {
        match self {
            FaultAction::Http(s) => format!("http_{s}"),
            FaultAction::Slow(_) => "slow".into(),
            FaultAction::Reset => "reset".into(),
            FaultAction::Smev(f) => f.code_name(),
            FaultAction::CorruptSignature => "corrupt_signature".into(),
            FaultAction::DuplicateDelivery => "duplicate_delivery".into(),
            FaultAction::AsyncRejection { .. } => "async_rejection".into(),
            FaultAction::NoAnswer { .. } => "no_answer".into(),
        }
    }

    fn default_operations(&self) -> Vec<Operation> {
        match self {
            FaultAction::CorruptSignature | FaultAction::DuplicateDelivery => {
                vec![Operation::GetRequest, Operation::GetResponse]
            }
            FaultAction::AsyncRejection { .. } => {
                vec![Operation::SendRequest, Operation::SendResponse]
            }
            FaultAction::NoAnswer { .. } => vec![Operation::SendRequest],
            _ => Operation::ALL.to_vec(),
        }
    }
}

/// A rule that cannot be installed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultSpecError {
    #[error("unknown fault {0:?}: use http_500, http_503, slow, reset, corrupt_signature, duplicate_delivery, async_rejection, no_answer or a SMEV fault name ({1})")]
    UnknownFault(String, String),
    #[error("unknown operation {0:?} (SendRequest, SendResponse, GetRequest, GetResponse, Ack, GetStatus)")]
    UnknownOperation(String),
    #[error("rate must be between 0 and 1, got {0}")]
    BadRate(f64),
    #[error("{0} does not apply to {1}")]
    NotApplicable(String, Operation),
}

/// Default `SmevFault/Code` of a fault mock-smev raises.
pub fn mock_code(kind: SmevFaultKind) -> String {
    format!("mock-smev:TSMEV3:TR:SYNC:{kind}")
}

/// A SMEV fault of `kind` with every detail field its schema type requires, so that the SOAP
/// fault validates against the faults schema.
pub fn smev_fault(
    kind: SmevFaultKind,
    description: Option<&str>,
    code: Option<&str>,
    sub_code: Option<&str>,
) -> SmevFault {
    let text = description.unwrap_or(kind.description_ru()).to_string();
    let mut f = SmevFault::new(kind, text.clone());
    if kind.is_void() {
        f.code = None;
        f.description = None;
        return f;
    }
    f.code = Some(code.map(str::to_string).unwrap_or_else(|| mock_code(kind)));
    f.details = match kind {
        SmevFaultKind::SignatureVerificationFault => {
            f.sub_code = Some(sub_code.unwrap_or("SignatureIsInvalid").to_string());
            Vec::new()
        }
        SmevFaultKind::InvalidContent => vec![("ValidationError".into(), text)],
        SmevFaultKind::QuoteLimitExceeded => vec![
            ("RemainedTotalQuoteSize".into(), "0".into()),
            ("RealTotalAttachmentSize".into(), "1048576".into()),
        ],
        SmevFaultKind::AttachmentSizeLimitExceeded => vec![
            ("PermittedTotalAttachmentSize".into(), "5242880".into()),
            ("RealTotalAttachmentSize".into(), "10485760".into()),
        ],
        SmevFaultKind::DestinationOverflow => vec![
            ("MessageBrokerAddress".into(), "mock-smev".into()),
            ("DestinationName".into(), "incoming-queue".into()),
        ],
        SmevFaultKind::BusinessDataTypeIsNotSupported => vec![
            ("RootElementLocalName".into(), "Unknown".into()),
            (
                "RootElementNamespaceURI".into(),
                "urn://mock-smev/unknown".into(),
            ),
        ],
        _ => Vec::new(),
    };
    f
}

/// Parses the `fault` name of a spec into an action.
pub fn action_of(spec: &FaultSpec) -> Result<FaultAction, FaultSpecError> {
    let name = spec.fault.trim();
    Ok(match name.to_ascii_lowercase().as_str() {
        "http_500" | "http500" | "500" => FaultAction::Http(500),
        "http_503" | "http503" | "503" => FaultAction::Http(503),
        "slow" => FaultAction::Slow(std::time::Duration::from_millis(
            spec.delay_ms.unwrap_or(120_000),
        )),
        "reset" | "connection_reset" => FaultAction::Reset,
        "corrupt_signature" => FaultAction::CorruptSignature,
        "duplicate_delivery" => FaultAction::DuplicateDelivery,
        "async_rejection" => FaultAction::AsyncRejection {
            description: spec.description.clone().unwrap_or_else(|| {
                "Бизнес-данные сообщения не соответствуют схеме, зарегистрированной в СМЭВ.".into()
            }),
            status_queue: spec.status_queue,
        },
        "no_answer" => FaultAction::NoAnswer {
            backdate_days: spec.backdate_days.unwrap_or(0).min(3660),
        },
        _ => {
            let kind = SmevFaultKind::ALL
                .iter()
                .copied()
                .find(|k| k.element_name().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    FaultSpecError::UnknownFault(
                        name.to_string(),
                        SmevFaultKind::ALL
                            .iter()
                            .map(|k| k.element_name())
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                })?;
            FaultAction::Smev(Box::new(smev_fault(
                kind,
                spec.description.as_deref(),
                spec.code.as_deref(),
                spec.sub_code.as_deref(),
            )))
        }
    })
}

/// An installed rule.
#[derive(Debug, Clone)]
struct Rule {
    id: u64,
    spec: FaultSpec,
    action: FaultAction,
    operations: Vec<Operation>,
    installed: DateTime<Utc>,
    fired: u64,
}

impl Rule {
    fn active(&self, now: DateTime<Utc>) -> bool {
        if self.spec.count.is_some_and(|c| self.fired >= c) {
            return false;
        }
        if self.spec.from.is_some_and(|t| now < t) || self.spec.until.is_some_and(|t| now > t) {
            return false;
        }
        // Absurd offsets (admin input) must not overflow: never start / never end.
        let ms = |v: u64| chrono::Duration::try_milliseconds(i64::try_from(v).unwrap_or(i64::MAX));
        let Some(start) =
            ms(self.spec.after_ms.unwrap_or(0)).and_then(|d| self.installed.checked_add_signed(d))
        else {
            return false;
        };
        if now < start {
            return false;
        }
        if let Some(end) = self
            .spec
            .for_ms
            .and_then(ms)
            .and_then(|d| start.checked_add_signed(d))
        {
            if now > end {
                return false;
            }
        }
        true
    }
}

/// A rule as listed by `GET /admin/faults`.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub id: u64,
    pub fault: String,
    pub operations: Vec<Operation>,
    pub fired: u64,
    pub active: bool,
    pub spec: FaultSpec,
}

/// The installed rules and the random source for rates.
#[derive(Debug)]
pub struct Injector {
    rules: Vec<Rule>,
    next_id: u64,
    rng: u64,
}

impl Injector {
    pub fn new(seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| {
            let mut b = [0u8; 8];
            if openssl::rand::rand_bytes(&mut b).is_err() {
                return Utc::now().timestamp_nanos_opt().unwrap_or(1) as u64;
            }
            u64::from_le_bytes(b)
        });
        Injector {
            rules: Vec::new(),
            next_id: 1,
            rng: seed | 1,
        }
    }

    fn roll(&mut self) -> f64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random number in `lo..=hi` (for scenario delays).
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo;
        lo + ((self.roll() * (span as f64 + 1.0)) as u64).min(span)
    }

    /// Installs a rule; returns its id.
    pub fn add(&mut self, spec: FaultSpec) -> Result<u64, FaultSpecError> {
        let action = action_of(&spec)?;
        if let Some(r) = spec.rate {
            if !(0.0..=1.0).contains(&r) {
                return Err(FaultSpecError::BadRate(r));
            }
        }
        let applicable = action.default_operations();
        let operations = if spec.operations.is_empty() {
            applicable
        } else {
            let mut ops = Vec::new();
            for o in &spec.operations {
                let op = Operation::parse(o)
                    .ok_or_else(|| FaultSpecError::UnknownOperation(o.clone()))?;
                let fits = match action.phase() {
                    Phase::Call => true,
                    // A corrupted signature also makes sense on Send* answers.
                    Phase::Delivery => {
                        op.is_get() || (action == FaultAction::CorruptSignature && op.is_send())
                    }
                    Phase::Accept => match action {
                        FaultAction::NoAnswer { .. } => op == Operation::SendRequest,
                        _ => op.is_send(),
                    },
                };
                if !fits {
                    return Err(FaultSpecError::NotApplicable(action.name(), op));
                }
                ops.push(op);
            }
            ops
        };
        let id = self.next_id;
        self.next_id += 1;
        self.rules.push(Rule {
            id,
            spec,
            action,
            operations,
            installed: Utc::now(),
            fired: 0,
        });
        Ok(id)
    }

    /// Removes one rule; whether it existed.
    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id != id);
        self.rules.len() != before
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn list(&self) -> Vec<RuleView> {
        let now = Utc::now();
        self.rules
            .iter()
            .map(|r| RuleView {
                id: r.id,
                fault: r.action.name(),
                operations: r.operations.clone(),
                fired: r.fired,
                active: r.active(now),
                spec: r.spec.clone(),
            })
            .collect()
    }

    /// The first active rule of `phase` for `op` that passes its rate (and `filter`), counted as
    /// fired.
    pub fn pick(
        &mut self,
        op: Operation,
        phase: Phase,
        filter: impl Fn(&FaultAction) -> bool,
    ) -> Option<FaultAction> {
        let now = Utc::now();
        for i in 0..self.rules.len() {
            let candidate = {
                let r = &self.rules[i];
                r.action.phase() == phase
                    && filter(&r.action)
                    && r.operations.contains(&op)
                    && r.active(now)
            };
            if !candidate {
                continue;
            }
            let rate = self.rules[i].spec.rate.unwrap_or(1.0);
            if rate < 1.0 && self.roll() >= rate {
                continue;
            }
            let r = &mut self.rules[i];
            r.fired += 1;
            return Some(r.action.clone());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(fault: &str) -> FaultSpec {
        FaultSpec {
            fault: fault.into(),
            ..Default::default()
        }
    }

    #[test]
    fn count_and_operations() {
        let mut inj = Injector::new(Some(7));
        inj.add(FaultSpec {
            operations: vec!["SendRequest".into()],
            count: Some(2),
            ..spec("http_503")
        })
        .unwrap();
        let any = |_: &FaultAction| true;
        assert_eq!(inj.pick(Operation::GetResponse, Phase::Call, any), None);
        assert_eq!(
            inj.pick(Operation::SendRequest, Phase::Call, any),
            Some(FaultAction::Http(503))
        );
        assert!(inj.pick(Operation::SendRequest, Phase::Call, any).is_some());
        assert_eq!(inj.pick(Operation::SendRequest, Phase::Call, any), None);
        assert!(!inj.list()[0].active);
    }

    #[test]
    fn rates_and_windows() {
        let mut inj = Injector::new(Some(42));
        inj.add(FaultSpec {
            rate: Some(0.3),
            ..spec("SMEVFailure")
        })
        .unwrap();
        let fired = (0..1000)
            .filter(|_| inj.pick(Operation::Ack, Phase::Call, |_| true).is_some())
            .count();
        assert!((200..400).contains(&fired), "{fired}");
        let mut later = Injector::new(Some(1));
        later
            .add(FaultSpec {
                after_ms: Some(60_000),
                ..spec("reset")
            })
            .unwrap();
        assert_eq!(later.pick(Operation::Ack, Phase::Call, |_| true), None);
        assert!(later
            .add(FaultSpec {
                rate: Some(2.0),
                ..spec("reset")
            })
            .is_err());
        assert!(later.add(spec("nonsense")).is_err());
        assert!(later
            .add(FaultSpec {
                operations: vec!["Ack".into()],
                ..spec("duplicate_delivery")
            })
            .is_err());
    }

    #[test]
    fn no_answer_fits_send_request_only() {
        let mut inj = Injector::new(Some(1));
        assert!(inj
            .add(FaultSpec {
                operations: vec!["SendResponse".into()],
                ..spec("no_answer")
            })
            .is_err());
        inj.add(FaultSpec {
            backdate_days: Some(40),
            ..spec("no_answer")
        })
        .unwrap();
        assert_eq!(
            inj.pick(Operation::SendResponse, Phase::Accept, |_| true),
            None
        );
        assert_eq!(
            inj.pick(Operation::SendRequest, Phase::Accept, |_| true),
            Some(FaultAction::NoAnswer { backdate_days: 40 })
        );
    }

    #[test]
    fn every_smev_fault_has_its_details() {
        for kind in SmevFaultKind::ALL {
            let f = smev_fault(*kind, None, None, None);
            assert_eq!(f.kind, Some(*kind));
            assert!(!f.fault_string.is_empty());
            assert_eq!(f.code.is_none(), kind.is_void());
        }
        let a = action_of(&spec("destinationoverflow")).unwrap();
        assert_eq!(a.name(), "DestinationOverflow");
    }
}
