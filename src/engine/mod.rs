//! The engine: the shared [`Context`] (configuration, store, keys, schemas, metrics) and the
//! workers that move requests through their lifecycle — sender, response/status poller,
//! provider poller and responder, webhook dispatcher, expiry and retention — as tokio tasks
//! with one shutdown signal. No in-memory state is needed to resume: on start, anything left
//! in `sending` is re-examined and everything due is scheduled from the store.

pub(crate) mod acknowledge;
mod claims;
mod file_signatures;
pub mod intake;
pub(crate) mod observer;
mod operator;
mod outbound;
mod personal_file_signatures;
mod personal_signature;
mod poll;
pub(crate) mod provider;
pub(crate) mod receiver;
pub(crate) mod retry;
pub(crate) mod sender;
mod signatures;
mod signed_once;
mod status;
pub(crate) mod storage_files;
mod storage_uploads;
pub mod upkeep;
pub mod webhooks;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{FixedOffset, Utc};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::calendar::WorkCalendar;
use crate::config::{Config, KindConfig, PersonalSignatureMode, SystemConfig};
use crate::dsig::certificate::thumbprint;
use crate::dsig::{CertificateInfo, OpenSslSigner, Signer, TrustStore};
use crate::metrics::Metrics;
use crate::smev::client::SmevClient;
use crate::smev::model::QualifiedName;
use crate::smev::schema::Schema;
use crate::smev::transport::{SoapClient, TransportConfig};
use crate::store::{SledStore, Storage};

/// A configured information system, ready to talk to SMEV.
pub struct SystemRuntime {
    pub config: SystemConfig,
    pub client: SmevClient,
    /// Key for kinds with configured ЭП-СП.
    pub personal_signer: Option<Arc<dyn Signer>>,
    /// The file storage (FTP) for attachments above the inline limit, when configured.
    pub file_storage: Option<storage_files::FileStorageAccess>,
}

/// A configured data kind with its compiled schema and, when the schema model can describe
/// it, the field trees of its request and response (forms, JSON fields, generated answers).
pub struct KindRuntime {
    pub config: KindConfig,
    pub schema: Arc<Schema>,
    pub fields: Option<Arc<KindFields>>,
}

/// The field trees of a kind's two roots.
#[derive(Debug, serde::Serialize)]
pub struct KindFields {
    pub request: crate::xsd::Field,
    pub response: crate::xsd::Field,
}

impl KindFields {
    /// Reads the kind's package; a schema the model cannot describe leaves the kind without
    /// field trees (libxml2 still validates its messages), with a warning that says why.
    fn load(k: &KindConfig) -> Option<KindFields> {
        let (dir, main) = k.package_and_schema();
        let described = crate::xsd::Package::open(&dir, Some(&main)).and_then(|p| {
            let tree = |n: &crate::config::ElementName| {
                p.describe(&crate::xsd::components::QName::new(
                    Some(&n.namespace),
                    &n.root,
                ))
            };
            Ok(KindFields {
                request: tree(&k.request)?,
                response: tree(&k.response)?,
            })
        });
        match described {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(kind = %k.id, error = %e, "no field tree for the kind: forms and JSON fields are unavailable for it");
                None
            }
        }
    }
}

impl KindRuntime {
    pub fn request_name(&self) -> QualifiedName {
        QualifiedName {
            namespace: self.config.request.namespace.clone(),
            local_name: self.config.request.root.clone(),
        }
    }

    pub fn response_name(&self) -> QualifiedName {
        QualifiedName {
            namespace: self.config.response.namespace.clone(),
            local_name: self.config.response.root.clone(),
        }
    }
}

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// Everything the workers, the API and the UI share.
pub struct Context {
    pub config: Arc<Config>,
    pub store: Arc<dyn Storage>,
    pub metrics: Arc<Metrics>,
    pub systems: BTreeMap<String, SystemRuntime>,
    pub kinds: BTreeMap<String, KindRuntime>,
    /// CAs SMEV's signatures must chain to (when configured).
    pub smev_trust: Option<TrustStore>,
    /// Working days for legal deadlines.
    pub calendar: WorkCalendar,
    /// The agency's time zone (`ui.timezone`): local dates of deadlines and working days.
    pub tz: FixedOffset,
    /// Received files too large for the database (file-storage downloads).
    pub files: Arc<crate::store::file_area::FileArea>,
    pub wake_sender: Notify,
    pub wake_poller: Notify,
    pub wake_responder: Notify,
    pub wake_webhooks: Notify,
    last_smev_answer_ms: AtomicI64,
    /// Readiness as last observed by [`observer`].
    pub readiness: std::sync::RwLock<observer::Readiness>,
    /// Received messages being processed right now.
    pub(crate) claims: claims::Claims,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// Deadlines reach into next year: a missing year counts only the statutory holidays, which an
/// operator should know before the first deadline lands there.
fn warn_of_missing_years(calendar: &WorkCalendar) {
    use chrono::Datelike;
    let this_year = Utc::now().year();
    let known: Vec<i32> = calendar.years().into_iter().map(|(y, _)| y).collect();
    for year in [this_year, this_year + 1] {
        if !known.contains(&year) {
            tracing::warn!(
                year,
                "no production calendar file for this year: deadlines count weekends and the statutory holidays only; add the year's file to calendar.files"
            );
        }
    }
}

/// Loads a key from config.
pub fn load_signer(k: &crate::config::KeyConfig) -> Result<OpenSslSigner, String> {
    OpenSslSigner::from_files(&k.key, k.cert.as_deref(), k.password().as_deref())
        .map_err(|e| format!("{}: {e}", k.key.display()))
}

impl Context {
    /// Opens the store, loads keys and schemas. Fails with a clear message on any problem.
    pub fn build(config: Config) -> Result<Arc<Context>, StartError> {
        crate::dsig::engine::ensure_gost_engine().map_err(|e| StartError(e.to_string()))?;
        let metrics = Metrics::new();
        let mut kinds = BTreeMap::new();
        for k in &config.kinds {
            let schema =
                Schema::load(&k.schema).map_err(|e| StartError(format!("kind {}: {e}", k.id)))?;
            kinds.insert(
                k.id.clone(),
                KindRuntime {
                    config: k.clone(),
                    schema: Arc::new(schema),
                    fields: KindFields::load(k).map(Arc::new),
                },
            );
        }
        for w in config.warnings() {
            tracing::warn!("{w}");
        }
        let mut systems = BTreeMap::new();
        let mut thumbprints: BTreeMap<String, String> = BTreeMap::new();
        for s in &config.systems {
            let signer = load_signer(&s.signing)
                .map_err(|e| StartError(format!("system {}: ЭП-ОВ key: {e}", s.id)))?;
            let info = CertificateInfo::of(signer.certificate());
            let print = thumbprint(signer.certificate());
            if let Some(other) = config.systems.iter().find(|o| {
                o.id != s.id
                    && thumbprints.get(&o.id) == Some(&print)
                    && !crate::config::distinct_nodes(o, s)
            }) {
                return Err(StartError(format!(
                    "systems {} and {} sign with the same certificate ({print}) without distinct node_id values: SMEV sees one participant with one queue, so each would take the other's answers",
                    other.id, s.id
                )));
            }
            thumbprints.insert(s.id.clone(), print.clone());
            // Thumbprints, never subjects: an ЭП-СП subject is a person's name and СНИЛС.
            metrics
                .certificate_expiry
                .with_label_values(&[&s.id, "ep_ov", &print])
                .set(info.not_after.timestamp() as f64);
            let personal_signer: Option<Arc<dyn Signer>> = match &s.personal_signing {
                Some(k) => {
                    let p = load_signer(k)
                        .map_err(|e| StartError(format!("system {}: ЭП-СП key: {e}", s.id)))?;
                    let info = CertificateInfo::of(p.certificate());
                    metrics
                        .certificate_expiry
                        .with_label_values(&[&s.id, "ep_sp", &thumbprint(p.certificate())])
                        .set(info.not_after.timestamp() as f64);
                    Some(Arc::new(p))
                }
                None => None,
            };
            for kid in &s.kinds {
                if kinds.get(kid).is_some_and(|k: &KindRuntime| {
                    k.config.personal_signature == PersonalSignatureMode::Configured
                }) && personal_signer.is_none()
                {
                    return Err(StartError(format!(
                        "system {}: kind {kid} needs a configured ЭП-СП key (personal_signing)",
                        s.id
                    )));
                }
            }
            let transport = TransportConfig {
                endpoint: s
                    .endpoint
                    .clone()
                    .unwrap_or_else(|| config.smev.endpoint.clone()),
                connect_timeout: Duration::from_millis(config.smev.connect_timeout_ms),
                request_timeout: Duration::from_millis(config.smev.request_timeout_ms),
                max_answer_bytes: config.smev.max_answer_bytes,
            };
            let soap = SoapClient::new(transport)
                .map_err(|e| StartError(format!("system {}: {e}", s.id)))?;
            let client = SmevClient::new(soap, Arc::new(signer), s.node_id.clone());
            systems.insert(
                s.id.clone(),
                SystemRuntime {
                    file_storage: storage_files::FileStorageAccess::of(s, &config.file_storage),
                    config: s.clone(),
                    client,
                    personal_signer,
                },
            );
        }
        let smev_trust = match &config.smev.trust {
            Some(p) => Some(
                TrustStore::from_pem_file(p).map_err(|e| StartError(format!("smev.trust: {e}")))?,
            ),
            None => None,
        };
        // The outbox (which systems get webhook events, and their JSON) is set by whoever wires
        // the gateway together (`daemon`): the payloads are the public API's shape.
        let store = SledStore::open(&config.storage.path, config.storage.cache_bytes)
            .map_err(|e| StartError(e.to_string()))?;
        if let Some(ca) = &config.webhooks.ca_file {
            crate::tls::HttpsConnector::new(Duration::from_secs(5), Some(ca))
                .map_err(|e| StartError(format!("webhooks.ca_file: {e}")))?;
        }
        let files_dir = config
            .file_storage
            .dir
            .clone()
            .unwrap_or_else(|| config.storage.path.join("files"));
        let files = crate::store::file_area::FileArea::open(&files_dir)
            .map_err(|e| StartError(format!("file_storage.dir {}: {e}", files_dir.display())))?;
        let calendar = WorkCalendar::load(&config.calendar.files)
            .map_err(|e| StartError(format!("calendar.files: {e}")))?;
        warn_of_missing_years(&calendar);
        let tz = crate::calendar::parse_offset(&config.ui.timezone)
            .unwrap_or_else(crate::calendar::moscow);
        let (shutdown, _) = watch::channel(false);
        Ok(Arc::new(Context {
            config: Arc::new(config),
            store,
            metrics,
            systems,
            kinds,
            smev_trust,
            calendar,
            tz,
            files: Arc::new(files),
            wake_sender: Notify::new(),
            wake_poller: Notify::new(),
            wake_responder: Notify::new(),
            wake_webhooks: Notify::new(),
            last_smev_answer_ms: AtomicI64::new(0),
            readiness: Default::default(),
            claims: Default::default(),
            shutdown,
        }))
    }

    /// Notes that SMEV answered (health, metrics).
    pub fn smev_answered(&self) {
        let now = Utc::now();
        self.last_smev_answer_ms
            .store(now.timestamp_millis(), Ordering::Relaxed);
        self.metrics.last_smev_answer.set(now.timestamp() as f64);
    }

    /// When SMEV last answered.
    pub fn last_smev_answer(&self) -> Option<chrono::DateTime<Utc>> {
        let ms = self.last_smev_answer_ms.load(Ordering::Relaxed);
        (ms > 0)
            .then(|| chrono::DateTime::from_timestamp_millis(ms))
            .flatten()
    }

    /// A receiver that turns true on shutdown.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// The kind whose request or response root is `name`.
    pub fn kind_by_root(&self, namespace: &str, local: &str) -> Option<&KindRuntime> {
        self.kinds.values().find(|k| {
            (k.config.request.namespace == namespace && k.config.request.root == local)
                || (k.config.response.namespace == namespace && k.config.response.root == local)
        })
    }
}

/// Sleeps for `d` unless shutdown or `wake` comes first. Returns false on shutdown.
pub async fn pause(shutdown: &mut watch::Receiver<bool>, wake: &Notify, d: Duration) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = wake.notified() => true,
        _ = shutdown.changed() => !*shutdown.borrow(),
    }
}

/// How long a scheduling loop sleeps before looking at the due index of `kind` again: until the
/// earliest entry is due, briefly when something is already due (it may be in flight), at most
/// a second so that new work is never missed.
pub fn until_due(
    ctx: &Context,
    kind: crate::store::DueKind,
    now: chrono::DateTime<Utc>,
) -> Duration {
    match ctx.store.next_due_time(kind) {
        Ok(Some(t)) if t > now => (t - now)
            .to_std()
            .unwrap_or(Duration::from_millis(50))
            .min(Duration::from_secs(1)),
        Ok(Some(_)) => Duration::from_millis(20),
        // A failed read was noted by the store (log, metric, health): look again in a second.
        Ok(None) | Err(_) => Duration::from_secs(1),
    }
}

/// The ids of `kind` due at `now`, up to `limit`. When the index cannot be read the store has
/// noted it (log, metric, health) and the worker finds nothing until the next look.
pub(crate) fn due_work(
    ctx: &Context,
    kind: crate::store::DueKind,
    now: chrono::DateTime<Utc>,
    limit: usize,
) -> Vec<String> {
    match ctx.store.due(kind, now, limit) {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(worker = kind.as_str(), error = %e, "due work cannot be read; trying again shortly");
            Vec::new()
        }
    }
}

/// The running workers.
pub struct Engine {
    ctx: Arc<Context>,
    tasks: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Recovers and starts every worker.
    pub fn start(ctx: Arc<Context>) -> Result<Engine, StartError> {
        upkeep::recover(&ctx).map_err(|e| StartError(format!("recovery: {e}")))?;
        observer::observe(&ctx);
        let mut tasks = vec![
            tokio::spawn(observer::run(ctx.clone())),
            tokio::spawn(sender::run(ctx.clone())),
            tokio::spawn(provider::run_responder(ctx.clone())),
            tokio::spawn(webhooks::run(ctx.clone())),
            tokio::spawn(upkeep::run(ctx.clone())),
        ];
        for system in ctx.systems.keys() {
            for _ in 0..ctx.config.engine.poll_concurrency.max(1) {
                tasks.push(tokio::spawn(receiver::run_responses(
                    ctx.clone(),
                    system.clone(),
                )));
            }
            if ctx.config.engine.poll_status {
                tasks.push(tokio::spawn(status::run_status(
                    ctx.clone(),
                    system.clone(),
                )));
            }
            if !ctx.systems[system].config.provider_kinds.is_empty() {
                tasks.push(tokio::spawn(provider::run_requests(
                    ctx.clone(),
                    system.clone(),
                )));
            }
        }
        Ok(Engine { ctx, tasks })
    }

    /// Stops taking work, gives in-flight work the grace period, flushes.
    pub async fn shutdown(self) {
        // Nobody listening means every worker already stopped.
        self.ctx.shutdown.send_replace(true);
        let grace = Duration::from_millis(self.ctx.config.engine.shutdown_grace_ms);
        let all = futures_join(self.tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("workers did not stop within the grace period; in-flight sends stay in 'sending' and are re-examined on the next start");
        }
        if let Err(e) = self.ctx.store.flush() {
            tracing::error!(error = %e, "final flush failed");
        }
    }
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        if let Err(e) = t.await {
            tracing::error!(error = %e, "a worker ended abnormally");
        }
    }
}
