//! What the pages for руководитель and администратор show: the monitoring counts and rows,
//! a dead letter with its decision state in Russian, and the configuration without secrets.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Config, PersonalSignatureMode};
use crate::domain::{DeadLetter, DeadLetterState};
use crate::dsig::CertificateInfo;
use crate::read::views::DeadLetterView;

use super::history_line::HistoryLine;
use super::messages;
use super::render::url_encode;
use super::requests::{CertView, RequestRow};
use super::Ui;

/// `monitoring.html`.
#[derive(Debug, Serialize)]
pub(super) struct MonitoringPage {
    pub title: &'static str,
    pub nav: &'static str,
    pub counts: Vec<StateCount>,
    pub total: usize,
    /// The request waiting longest for its answer.
    pub oldest: Option<WaitingRow>,
    pub errors_today: usize,
    pub error_rows: Vec<FailedRow>,
    /// Unanswered past the deadline, expired ones included.
    pub overdue: usize,
    /// The overdue requests, the longest overdue first.
    pub overdue_rows: Vec<RequestRow>,
    /// Open, deadline today or on the next working day.
    pub due_soon: usize,
    pub by_kind: Vec<super::deadlines::DeadlineRow>,
    pub by_executor: Vec<super::deadlines::DeadlineRow>,
    pub dead_open: usize,
    pub incoming_waiting: usize,
    pub incoming_overdue: usize,
    pub incoming_due_soon: usize,
    pub last_smev_answer: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// How many requests are in a state, linked to the list filtered by it.
#[derive(Debug, Serialize)]
pub(super) struct StateCount {
    pub status: &'static str,
    pub label: &'static str,
    pub count: usize,
    pub href: String,
}

/// A request row with how long it has waited («2 ч 15 мин»).
#[derive(Debug, Serialize)]
pub(super) struct WaitingRow {
    #[serde(flatten)]
    pub row: RequestRow,
    pub waiting: String,
}

/// A request row with why it failed today, in Russian.
#[derive(Debug, Serialize)]
pub(super) struct FailedRow {
    #[serde(flatten)]
    pub row: RequestRow,
    pub reason: String,
}

/// `dead_letters.html`.
#[derive(Debug, Serialize)]
pub(super) struct DeadLettersPage {
    pub title: &'static str,
    pub nav: &'static str,
    pub rows: Vec<DeadLetterCard>,
}

/// `dead_letter.html`.
#[derive(Debug, Serialize)]
pub(super) struct DeadLetterPage {
    pub title: &'static str,
    pub nav: &'static str,
    pub d: DeadLetterCard,
    pub notice: Option<&'static str>,
}

/// A dead letter as its row and its card show it.
#[derive(Debug, Serialize)]
pub(super) struct DeadLetterCard {
    #[serde(flatten)]
    pub view: DeadLetterView,
    pub href: String,
    pub reason_ru: &'static str,
    pub queue_ru: &'static str,
    /// The reason cut to 160 characters for the list.
    pub reason_short: String,
    /// Whether it still waits for a decision.
    pub undecided: bool,
    pub state_label: &'static str,
    pub history: Vec<HistoryLine>,
}

impl DeadLetterCard {
    /// The dead letter, with its envelope when `with_xml`.
    pub(super) fn of(ui: &Ui, d: &DeadLetter, with_xml: bool) -> DeadLetterCard {
        DeadLetterCard {
            view: DeadLetterView::of(&ui.ctx, d, with_xml),
            href: format!("/ui/dead-letters/{}", url_encode(&d.id)),
            reason_ru: messages::dead_letter_reason_ru(&d.reason),
            queue_ru: messages::queue_ru(d.source.as_str()),
            reason_short: if d.reason.chars().count() > 160 {
                format!("{}…", d.reason.chars().take(160).collect::<String>())
            } else {
                d.reason.clone()
            },
            undecided: d.state == DeadLetterState::Open,
            state_label: match d.state {
                DeadLetterState::Open => "Требует решения",
                DeadLetterState::Closed => "Подтверждено и закрыто",
                DeadLetterState::Reprocessed => "Обработано повторно",
            },
            history: HistoryLine::all(&d.history),
        }
    }
}

/// `settings.html`: the configuration as staff may see it (no keys, hashes or tokens).
#[derive(Debug, Serialize)]
pub(super) struct SettingsPage {
    pub title: &'static str,
    pub nav: &'static str,
    pub general: GeneralSettings,
    pub systems: Vec<SystemSettings>,
    pub kinds: Vec<KindSettings>,
    pub users: Vec<UserSettings>,
}

/// The gateway-wide settings.
#[derive(Debug, Serialize)]
pub(super) struct GeneralSettings {
    pub smev_endpoint: String,
    pub test_messages: bool,
    pub verify_answers: bool,
    pub smev_trust: Option<String>,
    pub listen: String,
    pub timezone: String,
    pub session_ttl_minutes: u64,
    pub secure_cookie: bool,
    pub send_concurrency: usize,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub storage: String,
    pub storage_bytes: Option<u64>,
    /// Days after which closed requests are archived, when retention is on.
    pub retention_days: Option<u64>,
    /// Sessions open now.
    pub sessions: usize,
}

impl GeneralSettings {
    pub(super) fn of(ui: &Ui) -> GeneralSettings {
        let cfg = &ui.ctx.config;
        GeneralSettings {
            smev_endpoint: cfg.smev.endpoint.clone(),
            test_messages: cfg.smev.test_messages,
            verify_answers: cfg.smev.verify_answers,
            smev_trust: cfg.smev.trust.as_ref().map(|p| p.display().to_string()),
            listen: cfg.api.listen.clone(),
            timezone: cfg.ui.timezone.clone(),
            session_ttl_minutes: cfg.ui.session_ttl_minutes,
            secure_cookie: cfg.ui.secure_cookie,
            send_concurrency: cfg.engine.send_concurrency,
            retry_base_ms: cfg.engine.retry_base_ms,
            retry_max_ms: cfg.engine.retry_max_ms,
            storage: cfg.storage.path.display().to_string(),
            storage_bytes: ui.ctx.store.size_on_disk().ok(),
            retention_days: cfg
                .retention
                .enabled
                .then_some(cfg.retention.closed_after_days),
            sessions: ui.sessions.len(),
        }
    }
}

/// An information system: what it may ask and answer, where it goes, its certificates.
#[derive(Debug, Serialize)]
pub(super) struct SystemSettings {
    pub id: String,
    pub name: String,
    pub mnemonic: String,
    pub kinds: Vec<String>,
    pub provider_kinds: Vec<String>,
    pub endpoint: String,
    pub node_id: Option<String>,
    /// Names of its API tokens (never the tokens).
    pub tokens: Vec<String>,
    pub webhook: Option<String>,
    pub ov_cert: Option<CertView>,
    pub sp_cert: Option<CertView>,
}

impl SystemSettings {
    pub(super) fn all(ui: &Ui) -> Vec<SystemSettings> {
        let cfg = &ui.ctx.config;
        cfg.systems
            .iter()
            .map(|s| {
                let rt = ui.ctx.systems.get(&s.id);
                SystemSettings {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    mnemonic: s.mnemonic.clone(),
                    kinds: s.kinds.clone(),
                    provider_kinds: s.provider_kinds.clone(),
                    endpoint: s
                        .endpoint
                        .clone()
                        .unwrap_or_else(|| cfg.smev.endpoint.clone()),
                    node_id: s.node_id.clone(),
                    tokens: s.tokens.iter().map(|t| t.name.clone()).collect(),
                    webhook: s.webhook.as_ref().map(|w| w.url.clone()),
                    ov_cert: rt.map(|r| {
                        CertView::of(&CertificateInfo::of(r.client.signer().certificate()))
                    }),
                    sp_cert: rt
                        .and_then(|r| r.personal_signer.as_ref())
                        .map(|p| CertView::of(&CertificateInfo::of(p.certificate()))),
                }
            })
            .collect()
    }
}

/// A kind of data: its XML roots, its ЭП-СП mode, its deadline and its form fields.
#[derive(Debug, Serialize)]
pub(super) struct KindSettings {
    pub id: String,
    pub name: String,
    /// `{namespace}root` of the request.
    pub request: String,
    /// `{namespace}root` of the answer.
    pub response: String,
    pub signature: &'static str,
    pub deadline_working_days: u32,
    pub fields: Vec<KindFieldSettings>,
}

/// A field of a kind's form.
#[derive(Debug, Serialize)]
pub(super) struct KindFieldSettings {
    pub name: String,
    pub label: String,
    pub required: bool,
    pub format: String,
}

impl KindSettings {
    pub(super) fn all(cfg: &Config) -> Vec<KindSettings> {
        cfg.kinds
            .iter()
            .map(|k| KindSettings {
                id: k.id.clone(),
                name: k.name.clone(),
                request: format!("{{{}}}{}", k.request.namespace, k.request.root),
                response: format!("{{{}}}{}", k.response.namespace, k.response.root),
                signature: match k.personal_signature {
                    PersonalSignatureMode::None => "без ЭП-СП",
                    PersonalSignatureMode::TwoPhase => "ЭП-СП должностного лица (двухэтапно)",
                    PersonalSignatureMode::Configured => "ЭП-СП ключом системы",
                },
                deadline_working_days: k.deadline_working_days,
                fields: k
                    .fields
                    .iter()
                    .map(|f| KindFieldSettings {
                        name: f.name.clone(),
                        label: f.label.clone(),
                        required: f.required,
                        format: f.format.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// A member of staff: login, name, role and systems (never the password hash).
#[derive(Debug, Serialize)]
pub(super) struct UserSettings {
    pub login: String,
    pub name: String,
    pub role: &'static str,
    /// «все», or the systems' ids.
    pub systems: String,
}

impl UserSettings {
    pub(super) fn all(cfg: &Config) -> Vec<UserSettings> {
        cfg.ui
            .users
            .iter()
            .map(|u| UserSettings {
                login: u.login.clone(),
                name: u.name.clone(),
                role: super::access::role_label(u.role),
                systems: if u.systems.is_empty() {
                    "все".to_string()
                } else {
                    u.systems.join(", ")
                },
            })
            .collect()
    }
}
