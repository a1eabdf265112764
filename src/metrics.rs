//! Prometheus metrics (text exposition at `/metrics`). Counters and histograms are updated where
//! work happens; gauges that describe stored state (requests by status, queue depths, ages,
//! deadlines, database size, free disk) are computed from the store at scrape time, so they are
//! exact after a restart.

use std::sync::Arc;

use chrono::Utc;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::domain::{DeadLetterState, RequestState, WebhookState};
use crate::store::{DueKind, Storage};

/// Every metric of the gateway.
pub struct Metrics {
    registry: Registry,
    pub transitions: IntCounterVec,
    pub smev_calls: IntCounterVec,
    pub smev_faults: IntCounterVec,
    pub retries: IntCounterVec,
    pub accept_to_sent: HistogramVec,
    pub sent_to_answered: HistogramVec,
    pub webhook_deliveries: IntCounterVec,
    pub signatures: IntCounterVec,
    pub received_messages: IntCounterVec,
    pub file_storage_downloads: IntCounterVec,
    pub file_storage_uploads: IntCounterVec,
    pub certificate_expiry: GaugeVec,
    pub last_smev_answer: Gauge,
    pub ui_logins: IntCounterVec,
    pub ui_login_lockouts: prometheus::IntCounter,
    requests: IntGaugeVec,
    queue_depth: IntGaugeVec,
    oldest_queued: Gauge,
    oldest_unanswered: Gauge,
    past_deadline: IntGauge,
    dead_letters: IntGauge,
    webhook_dead: IntGauge,
    db_size: IntGauge,
    storage_failures: IntGauge,
    disk_free: IntGauge,
    build_info: IntGaugeVec,
    gost_operations: IntGaugeVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("unique metric");
    c
}

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(g.clone())).expect("unique metric");
    g
}

fn gauge(r: &Registry, name: &str, help: &str) -> Gauge {
    let g = Gauge::new(name, help).expect("valid metric");
    r.register(Box::new(g.clone())).expect("unique metric");
    g
}

fn int_gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    r.register(Box::new(g.clone())).expect("unique metric");
    g
}

fn histogram(r: &Registry, name: &str, help: &str, buckets: Vec<f64>) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), &["kind"])
        .expect("valid metric");
    r.register(Box::new(h.clone())).expect("unique metric");
    h
}

/// Names of every metric, for the README and the tests.
pub const METRIC_NAMES: &[&str] = &[
    "smev_gateway_requests",
    "smev_gateway_request_transitions_total",
    "smev_gateway_smev_calls_total",
    "smev_gateway_smev_faults_total",
    "smev_gateway_retries_total",
    "smev_gateway_queue_depth",
    "smev_gateway_oldest_queued_request_age_seconds",
    "smev_gateway_oldest_unanswered_request_age_seconds",
    "smev_gateway_requests_past_deadline",
    "smev_gateway_accept_to_sent_seconds",
    "smev_gateway_sent_to_answered_seconds",
    "smev_gateway_webhook_deliveries_total",
    "smev_gateway_webhook_dead_letters",
    "smev_gateway_dead_letters",
    "smev_gateway_signature_operations_total",
    "smev_gateway_received_messages_total",
    "smev_gateway_file_storage_downloads_total",
    "smev_gateway_file_storage_uploads_total",
    "smev_gateway_certificate_expiry_timestamp_seconds",
    "smev_gateway_last_smev_answer_timestamp_seconds",
    "smev_gateway_database_size_bytes",
    "smev_gateway_disk_free_bytes",
    "smev_gateway_build_info",
    "smev_gateway_ui_logins_total",
    "smev_gateway_ui_login_lockouts_total",
];

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let r = Registry::new();
        let latency = vec![
            0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0,
            86400.0, 432000.0,
        ];
        let m = Metrics {
            transitions: counter(&r, "smev_gateway_request_transitions_total", "Request state transitions.", &["from", "to"]),
            smev_calls: counter(&r, "smev_gateway_smev_calls_total", "Calls to SMEV by operation and result (ok, fault, transport).", &["operation", "result"]),
            smev_faults: counter(&r, "smev_gateway_smev_faults_total", "SMEV faults and transport failures by code.", &["code"]),
            retries: counter(&r, "smev_gateway_retries_total", "Retries scheduled, by the failure class.", &["class"]),
            accept_to_sent: histogram(&r, "smev_gateway_accept_to_sent_seconds", "Time from accepting a request to SMEV accepting it.", latency.clone()),
            sent_to_answered: histogram(&r, "smev_gateway_sent_to_answered_seconds", "Time from SMEV accepting a request to its final answer.", latency),
            webhook_deliveries: counter(&r, "smev_gateway_webhook_deliveries_total", "Webhook delivery attempts by result (delivered, failed, dead).", &["result"]),
            signatures: counter(&r, "smev_gateway_signature_operations_total", "Signature operations by operation (sign, verify) and result (ok, failed).", &["operation", "result"]),
            received_messages: counter(&r, "smev_gateway_received_messages_total", "Messages received from SMEV queues by queue and outcome (stored, duplicate, dead_letter).", &["queue", "outcome"]),
            file_storage_downloads: counter(&r, "smev_gateway_file_storage_downloads_total", "Files of received messages downloaded from SMEV's file storage, by result (ok, failed: retried, refused: differs from its signed header).", &["result"]),
            file_storage_uploads: counter(&r, "smev_gateway_file_storage_uploads_total", "Files uploaded to SMEV's file storage, by result (ok, failed: retried).", &["result"]),
            certificate_expiry: {
                let g = GaugeVec::new(Opts::new("smev_gateway_certificate_expiry_timestamp_seconds", "Expiry time (Unix seconds) of each configured certificate."), &["system", "role", "thumbprint"]).expect("valid metric");
                r.register(Box::new(g.clone())).expect("unique metric");
                g
            },
            last_smev_answer: gauge(&r, "smev_gateway_last_smev_answer_timestamp_seconds", "When SMEV last answered a call (Unix seconds)."),
            ui_logins: counter(&r, "smev_gateway_ui_logins_total", "UI login attempts by result (ok, failed, limited, locked).", &["result"]),
            ui_login_lockouts: {
                let c = prometheus::IntCounter::new("smev_gateway_ui_login_lockouts_total", "UI logins locked after repeated failures.").expect("valid metric");
                r.register(Box::new(c.clone())).expect("unique metric");
                c
            },
            requests: gauge_vec(&r, "smev_gateway_requests", "Requests by status.", &["status"]),
            queue_depth: gauge_vec(&r, "smev_gateway_queue_depth", "Scheduled work by queue (send, respond, webhook) and whether it is due now or delayed.", &["queue", "when"]),
            oldest_queued: gauge(&r, "smev_gateway_oldest_queued_request_age_seconds", "Age of the oldest request waiting to be sent."),
            oldest_unanswered: gauge(&r, "smev_gateway_oldest_unanswered_request_age_seconds", "Age (since SMEV accepted it) of the oldest request without an answer."),
            past_deadline: int_gauge(&r, "smev_gateway_requests_past_deadline", "Unanswered requests past their legal deadline."),
            dead_letters: int_gauge(&r, "smev_gateway_dead_letters", "Open dead letters (received messages that could not be processed)."),
            webhook_dead: int_gauge(&r, "smev_gateway_webhook_dead_letters", "Webhook events that exhausted their attempts."),
            db_size: int_gauge(&r, "smev_gateway_database_size_bytes", "Size of the sled database on disk."),
            storage_failures: int_gauge(&r, "smev_gateway_storage_failures_total", "Failed reads and writes of the database since start (each is logged with its operation)."),
            disk_free: int_gauge(&r, "smev_gateway_disk_free_bytes", "Free space on the database's file system."),
            build_info: gauge_vec(&r, "smev_gateway_build_info", "Build information (always 1).", &["version", "git"]),
            gost_operations: gauge_vec(&r, "smev_gateway_gost_operations", "GOST R 34.10 operations made through OpenSSL since start: sign (signature values computed), verify (signature values and certificate signatures checked).", &["operation"]),
            registry: r,
        };
        m.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), env!("SMEV_GATEWAY_GIT_HASH")])
            .set(1);
        Arc::new(m)
    }

    /// Records a state transition.
    pub fn transition(&self, from: RequestState, to: RequestState) {
        self.transitions
            .with_label_values(&[from.as_str(), to.as_str()])
            .inc();
    }

    /// Refreshes the gauges from the store and renders the text exposition.
    pub fn render(&self, store: &dyn Storage, database_dir: &std::path::Path) -> String {
        self.refresh(store, database_dir);
        self.encode()
    }

    /// The text exposition of the current values (no store access).
    pub fn encode(&self) -> String {
        let (signs, verifies) = crate::dsig::operations::totals();
        for (op, n) in [("sign", signs), ("verify", verifies)] {
            self.gost_operations
                .with_label_values(&[op])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Recomputes the gauges of stored state from the store's tallies and due indexes (no
    /// pass over the records), in the background (`engine::observer`), never per scrape.
    pub fn refresh(&self, store: &dyn Storage, database_dir: &std::path::Path) {
        let now = Utc::now();
        if let Ok(counts) = store.count_by_state() {
            for s in RequestState::ALL {
                self.requests
                    .with_label_values(&[s.as_str()])
                    .set(counts.get(s).copied().unwrap_or(0) as i64);
            }
        }
        for (kind, name) in [
            (DueKind::Request, "send"),
            (DueKind::Incoming, "respond"),
            (DueKind::Webhook, "webhook"),
        ] {
            let Ok((due, later)) = store.due_counts(kind, now) else {
                continue;
            };
            self.queue_depth
                .with_label_values(&[name, "due"])
                .set(due as i64);
            self.queue_depth
                .with_label_values(&[name, "delayed"])
                .set(later as i64);
        }
        // A failed read keeps the gauges' last values; the store noted the failure, which
        // `smev_gateway_storage_failures_total` and readiness show.
        self.storage_failures.set(store.failure_count() as i64);
        let Ok(watched) = store.watched_requests() else {
            return;
        };
        self.past_deadline.set(
            watched
                .iter()
                .filter(|r| crate::domain::overdue(r.state, r.deadline, now))
                .count() as i64,
        );
        let oldest_queued = watched
            .iter()
            .filter(|r| matches!(r.state, RequestState::Queued | RequestState::Sending))
            .map(|r| r.created_at)
            .min();
        let oldest_sent = watched
            .iter()
            .filter(|r| r.state == RequestState::Sent)
            .filter_map(|r| r.sent_at)
            .min();
        self.oldest_queued.set(
            oldest_queued
                .map(|t| (now - t).num_milliseconds() as f64 / 1000.0)
                .unwrap_or(0.0),
        );
        self.oldest_unanswered.set(
            oldest_sent
                .map(|t| (now - t).num_milliseconds() as f64 / 1000.0)
                .unwrap_or(0.0),
        );
        if let Ok(letters) = store.list_dead_letters(&[]) {
            let open = letters
                .iter()
                .filter(|d| d.state == DeadLetterState::Open)
                .count();
            self.dead_letters.set(open as i64);
        }
        if let Ok(dead) = store.webhooks_in_state(&[], WebhookState::Dead) {
            self.webhook_dead.set(dead.len() as i64);
        }
        if let Ok(size) = store.size_on_disk() {
            self.db_size.set(size as i64);
        }
        self.disk_free
            .set(free_disk_bytes(database_dir).unwrap_or(0) as i64);
    }
}

/// Free bytes on the file system holding `path`.
pub fn free_disk_bytes(path: &std::path::Path) -> Option<u64> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut s: libc_statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `s` a properly sized, writable statvfs buffer.
    let rc = unsafe { statvfs(c.as_ptr(), &mut s) };
    (rc == 0).then(|| s.f_bavail.saturating_mul(s.f_frsize))
}

#[repr(C)]
#[allow(non_camel_case_types)]
struct libc_statvfs {
    f_bsize: u64,
    f_frsize: u64,
    f_blocks: u64,
    f_bfree: u64,
    f_bavail: u64,
    f_files: u64,
    f_ffree: u64,
    f_favail: u64,
    f_fsid: u64,
    f_flag: u64,
    f_namemax: u64,
    spare: [i32; 6],
}

extern "C" {
    fn statvfs(path: *const std::ffi::c_char, buf: *mut libc_statvfs) -> std::ffi::c_int;
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::Metrics;
    use crate::domain::{RequestRecord, RequestState};
    use crate::store::{SledStore, Storage};

    fn request(state: RequestState, age_s: i64, overdue_by_s: Option<i64>) -> RequestRecord {
        let now = Utc::now();
        let mut r = crate::store::contract_tests::request("is", None);
        r.state = state;
        r.created_at = now - Duration::seconds(age_s);
        r.deadline = overdue_by_s.map(|s| now - Duration::seconds(s));
        r
    }

    fn gauge(text: &str, name: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    }

    #[test]
    fn the_deadline_gauges_count_only_unanswered_requests() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 8 << 20).unwrap();
        for r in [
            request(RequestState::Queued, 3600, Some(60)),
            request(RequestState::Queued, 10, None),
            request(RequestState::Failed, 7200, Some(60)),
        ] {
            store.create_request(&r, b"<a/>", &[]).unwrap();
        }
        let metrics = Metrics::new();
        metrics.refresh(&*store, dir.path());
        let text = metrics.encode();
        assert_eq!(gauge(&text, "smev_gateway_requests_past_deadline"), 1.0);
        let oldest = gauge(&text, "smev_gateway_oldest_queued_request_age_seconds");
        assert!((3600.0..7200.0).contains(&oldest), "{oldest}");
    }
}
