//! The backend-agnostic suite: what every implementation of [`Storage`] must do, written
//! against the trait only. [`BACKENDS`] lists the implementations it runs on — today sled; a
//! PostgreSQL backend adds itself there and must pass every case unchanged.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, Utc};

use super::{Created, DueKind, Outbox, SledStore, Storage, StoreError, WebhookPayloads};
use crate::domain::*;

/// Payloads that name the record only (the real ones are the API's, above the store).
struct IdsOnly;

impl WebhookPayloads for IdsOnly {
    fn status_changed(&self, r: &RequestRecord) -> serde_json::Value {
        serde_json::json!({"request_id": r.id, "status": r.state.as_str()})
    }
    fn answered(&self, r: &RequestRecord) -> serde_json::Value {
        serde_json::json!({"request_id": r.id, "answered": true})
    }
    fn incoming_received(&self, r: &IncomingRecord) -> serde_json::Value {
        serde_json::json!({"incoming_id": r.id})
    }
}

/// A fresh, empty backend (and whatever keeps it alive, such as a temporary directory).
type Fresh = fn() -> (Arc<dyn Storage>, Box<dyn std::any::Any>);

fn sled_backend() -> (Arc<dyn Storage>, Box<dyn std::any::Any>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SledStore::open(dir.path(), 8 << 20).expect("open sled");
    (store, Box::new(dir))
}

const BACKENDS: &[(&str, Fresh)] = &[("sled", sled_backend)];

/// Runs `case` on every backend.
fn on_every_backend(case: impl Fn(&dyn Storage)) {
    for (name, fresh) in BACKENDS {
        let (store, _keep) = fresh();
        store.set_outbox(Outbox {
            systems: HashSet::from(["is-hooked".to_string()]),
            payloads: Arc::new(IdsOnly),
        });
        eprintln!("backend {name}");
        case(&*store);
    }
}

pub(crate) fn request(system: &str, client_id: Option<&str>) -> RequestRecord {
    let now = Utc::now();
    RequestRecord {
        id: super::new_id(),
        system: system.into(),
        kind: "k".into(),
        client_id: client_id.map(str::to_string),
        case: Some(CaseInfo {
            reference: "CASE-1".into(),
            ..Default::default()
        }),
        state: RequestState::Queued,
        created_at: now,
        updated_at: now,
        business_xml: super::blob_key(b"<a/>").expect("digest"),
        test_message: false,
        attachments: Vec::new(),
        personal: PersonalSigning::default(),
        message_id: None,
        replaced_message_ids: Vec::new(),
        signed_envelope: None,
        attempts: 0,
        next_due: Some(now - Duration::seconds(1)),
        last_error: None,
        sent_at: None,
        smev_status: None,
        deadline: None,
        answer: None,
        statuses: Vec::new(),
        history: Vec::new(),
        created_by: "system:is/t".into(),
        search_digits: Vec::new(),
        assignee: None,
    }
}

fn create(store: &dyn Storage, r: &RequestRecord) -> RequestRecord {
    match store.create_request(r, b"<a/>", &[]).expect("create") {
        Created::New(r) => r,
        Created::Existing(_) => panic!("a new client id counts as used"),
    }
}

fn claim(store: &dyn Storage, id: &str, message_id: &str) -> Result<RequestRecord, StoreError> {
    store.apply_request(
        id,
        &Actor::Engine,
        &RequestEvent::Claimed {
            lease_until: Utc::now() + Duration::seconds(60),
            fresh_message_id: message_id.into(),
        },
    )
}

#[test]
fn a_client_id_is_used_once_per_system() {
    on_every_backend(|store| {
        let first = create(store, &request("is", Some("c-1")));
        let again = request("is", Some("c-1"));
        match store.create_request(&again, b"<a/>", &[]).unwrap() {
            Created::Existing(r) => assert_eq!(r.id, first.id),
            Created::New(_) => panic!("the client id was used before"),
        }
        create(store, &request("is-other", Some("c-1")));
    });
}

#[test]
fn an_applied_event_writes_history_audit_and_due_index_together() {
    on_every_backend(|store| {
        let r = create(store, &request("is", None));
        assert_eq!(
            store.due(DueKind::Request, Utc::now(), 10).unwrap(),
            vec![r.id.clone()]
        );
        let claimed = claim(store, &r.id, "m-1").unwrap();
        assert_eq!(claimed.state, RequestState::Sending);
        let stored = store.get_request(&r.id).unwrap();
        assert_eq!(stored, claimed);
        let last = stored.history.last().expect("a history entry");
        assert_eq!(
            (last.from, last.to),
            (Some(RequestState::Queued), RequestState::Sending)
        );
        assert_eq!(last.reason, Reason::Sending);
        let audit = store.audit_of(&r.id).unwrap();
        assert_eq!(audit.last().map(|a| a.action.as_str()), Some("transition"));
        // The lease moved the due entry into the future.
        assert!(store
            .due(DueKind::Request, Utc::now(), 10)
            .unwrap()
            .is_empty());
        let later = Utc::now() + Duration::seconds(120);
        assert_eq!(
            store.due(DueKind::Request, later, 10).unwrap(),
            vec![r.id.clone()]
        );
        assert_eq!(
            store.owner_of_message_id("m-1").unwrap(),
            Some(Owner::Request(r.id.clone()))
        );
    });
}

#[test]
fn a_refused_event_changes_nothing() {
    on_every_backend(|store| {
        let r = create(store, &request("is", None));
        let before = store.get_request(&r.id).unwrap();
        let audit_before = store.audit_of(&r.id).unwrap().len();
        let refused = store.apply_request(&r.id, &Actor::Engine, &RequestEvent::Expire);
        assert!(
            matches!(refused, Err(StoreError::Lifecycle(_))),
            "{refused:?}"
        );
        assert_eq!(store.get_request(&r.id).unwrap(), before);
        assert_eq!(store.audit_of(&r.id).unwrap().len(), audit_before);
        assert_eq!(
            store.due(DueKind::Request, Utc::now(), 10).unwrap(),
            vec![r.id.clone()]
        );
    });
}

#[test]
fn an_event_for_a_missing_record_is_not_found() {
    on_every_backend(|store| {
        let r = store.apply_request("nope", &Actor::Engine, &RequestEvent::Cancel);
        assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    });
}

#[test]
fn a_received_answer_is_marked_with_its_request() {
    on_every_backend(|store| {
        let r = create(store, &request("is", None));
        claim(store, &r.id, "m-1").unwrap();
        let status = RequestEvent::ProviderStatus {
            status: StatusUpdate {
                at: Utc::now(),
                message_id: "ans-1".into(),
                code: 3,
                description: "в работе".into(),
            },
            evidence: store.put_blob(b"<env/>").unwrap(),
        };
        store
            .apply_request_received(&r.id, &Actor::Smev, &status, "ans-1")
            .unwrap();
        assert_eq!(
            store.received_as("ans-1").unwrap(),
            Some(Owner::Request(r.id.clone()))
        );
        assert_eq!(store.received_as("ans-2").unwrap(), None);
        assert_eq!(store.get_request(&r.id).unwrap().statuses.len(), 1);
    });
}

#[test]
fn status_changes_of_systems_with_a_webhook_reach_the_outbox() {
    on_every_backend(|store| {
        let hooked = create(store, &request("is-hooked", None));
        create(store, &request("is", None));
        let pending = store.webhooks_in_state(&[], WebhookState::Pending).unwrap();
        assert_eq!(pending.len(), 1, "only the system with a webhook");
        assert_eq!(pending[0].payload["request_id"], hooked.id.as_str());
        let id = pending[0].id.clone();
        assert!(store
            .due(DueKind::Webhook, Utc::now() + Duration::seconds(1), 10)
            .unwrap()
            .contains(&id));
        let delivered = store.apply_webhook(&id, &Delivery::Delivered).unwrap();
        assert_eq!(delivered.map(|e| e.state), Some(WebhookState::Delivered));
        assert!(store
            .due(DueKind::Webhook, Utc::now() + Duration::seconds(1), 10)
            .unwrap()
            .is_empty());
        // An attempt's outcome no longer applies after delivery; a redelivery does.
        assert_eq!(
            store.apply_webhook(&id, &Delivery::NoWebhook).unwrap(),
            None
        );
        let again = Delivery::Redeliver { due: Utc::now() };
        assert!(store.apply_webhook(&id, &again).unwrap().is_some());
    });
}

#[test]
fn an_incoming_request_is_stored_once() {
    on_every_backend(|store| {
        let now = Utc::now();
        let inc = IncomingRecord {
            id: super::new_id(),
            system: "is".into(),
            kind: None,
            root_element: "{urn:x}Q".into(),
            state: IncomingState::Received,
            received_at: now,
            updated_at: now,
            message_id: "req-1".into(),
            reply_to: "r".into(),
            business_xml: store.put_blob(b"<Q/>").unwrap(),
            envelope: store.put_blob(b"<env/>").unwrap(),
            attachments: Vec::new(),
            sender: None,
            sending_timestamp: None,
            answer_deadline: None,
            test_message: false,
            signatures: Vec::new(),
            response: None,
            response_message_id: None,
            signed_response: None,
            attempts: 0,
            next_due: None,
            last_error: None,
            history: Vec::new(),
            assignee: None,
        };
        store.add_incoming(&inc).unwrap();
        let mut twin = inc.clone();
        twin.id = super::new_id();
        assert!(matches!(
            store.add_incoming(&twin),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.received_as("req-1").unwrap(),
            Some(Owner::Incoming(inc.id.clone()))
        );
        let posted = IncomingEvent::AnswerPosted {
            response: OutgoingResponse::Reject {
                code: crate::smev::model::RejectionReasonCode::NoData,
                description: "нет данных".into(),
            },
            due: now,
        };
        let r = store
            .apply_incoming(&inc.id, &Actor::Engine, &posted)
            .unwrap();
        assert_eq!(r.state, IncomingState::Responding);
        assert_eq!(
            store.due(DueKind::Incoming, Utc::now(), 10).unwrap(),
            vec![inc.id.clone()]
        );
        assert!(matches!(
            store.apply_incoming(&inc.id, &Actor::Engine, &posted),
            Err(StoreError::Lifecycle(LifecycleError::AlreadyAnswered(_)))
        ));
    });
}

#[test]
fn a_dead_letter_is_decided_once() {
    on_every_backend(|store| {
        let d = DeadLetter::open(
            super::new_id(),
            "is",
            Source::GetResponse,
            Some("m".into()),
            "unparsable".into(),
            store.put_blob(b"<x").unwrap(),
            Utc::now(),
        );
        store.add_dead_letter(&d, "m").unwrap();
        assert_eq!(
            store.received_as("m").unwrap(),
            Some(Owner::DeadLetter(d.id.clone()))
        );
        let closed = store
            .apply_dead_letter(
                &d.id,
                &Actor::User("u".into()),
                &DeadLetterEvent::AckAndClose,
            )
            .unwrap();
        assert_eq!(closed.state, DeadLetterState::Closed);
        assert_eq!(closed.history.len(), 1);
        let again = store.apply_dead_letter(&d.id, &Actor::Engine, &DeadLetterEvent::Reprocessed);
        assert!(matches!(again, Err(StoreError::Lifecycle(_))), "{again:?}");
    });
}

#[test]
fn purging_removes_a_closed_request_with_its_indexes() {
    on_every_backend(|store| {
        let open = create(store, &request("is", Some("keep")));
        let r = create(store, &request("is", Some("purge")));
        claim(store, &r.id, "m-p").unwrap();
        let error = ErrorInfo::permanent("InvalidContent", "bad", Utc::now());
        store
            .apply_request(&r.id, &Actor::Engine, &RequestEvent::Failed { error })
            .unwrap();
        let future = Utc::now() + Duration::seconds(1);
        store.purge_request(&open.id, future).unwrap();
        store.purge_request(&r.id, future).unwrap();
        assert!(matches!(
            store.get_request(&r.id),
            Err(StoreError::NotFound)
        ));
        assert_eq!(store.owner_of_message_id("m-p").unwrap(), None);
        assert_eq!(
            store.case_request_ids("is", "CASE-1").unwrap(),
            vec![open.id.clone()]
        );
        // The client id is free again; an open request is never purged.
        create(store, &request("is", Some("purge")));
        assert!(store.get_request(&open.id).is_ok());
    });
}

#[test]
fn blobs_are_content_addressed() {
    on_every_backend(|store| {
        let a = store.put_blob("выписка".as_bytes()).unwrap();
        assert_eq!(store.put_blob("выписка".as_bytes()).unwrap(), a);
        assert_eq!(store.blob_text(&a).unwrap(), "выписка");
        assert!(matches!(store.blob("0000"), Err(StoreError::NotFound)));
        let binary = store.put_blob(&[0xff, 0xfe]).unwrap();
        assert!(matches!(
            store.blob_text(&binary),
            Err(StoreError::Codec(_))
        ));
    });
}

#[test]
fn durable_returns_once_written_data_is_flushed() {
    for (_, fresh) in BACKENDS {
        let (store, _keep) = fresh();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let r = request("is", None);
        create(&*store, &r);
        rt.block_on(store.durable()).expect("durable");
        assert_eq!(store.failure_count(), 0);
        assert!(store.check_writable().is_ok());
    }
}

#[test]
fn ui_passwords_and_sessions_are_kept() {
    on_every_backend(|store| {
        let now = Utc::now();
        assert_eq!(store.ui_password("ivanova").expect("read"), None);
        let audit = AuditEntry {
            at: now,
            actor: Actor::User("ivanova".into()),
            subject: Subject::UiUser,
            subject_id: "ivanova".into(),
            action: "password_changed".into(),
            from: None,
            to: None,
            reason: "test".into(),
            xml: None,
        };
        let p = StoredPassword {
            hash: "$argon2id$test".into(),
            changed_at: now,
        };
        store.set_ui_password("ivanova", &p, &audit).expect("set");
        assert_eq!(store.ui_password("ivanova").expect("read"), Some(p));
        assert_eq!(store.audit_of("ivanova").expect("audit").len(), 1);
        let s = StoredSession {
            login: "ivanova".into(),
            csrf: "c".repeat(64),
            created_at: now,
            expires_at: now + Duration::hours(8),
            remember: false,
        };
        store.put_ui_session("k1", &s).expect("put");
        store.put_ui_session("k2", &s).expect("put");
        store.remove_ui_session("k1").expect("remove");
        let kept = store.ui_sessions().expect("list");
        assert_eq!(kept, vec![("k2".to_string(), s)]);
    });
}

/// The requests by state as a scan of every record counts them.
fn scanned_counts(store: &dyn Storage) -> std::collections::BTreeMap<RequestState, u64> {
    let mut m = std::collections::BTreeMap::new();
    for r in store.requests_where(&|_| true).unwrap() {
        *m.entry(r.state).or_insert(0) += 1;
    }
    m
}

/// The unanswered requests' watched fields as a scan of every record finds them.
fn scanned_watched(store: &dyn Storage) -> Vec<super::WatchedRequest> {
    let all = store.requests_where(&|_| true).unwrap();
    sorted_watched(all.iter().filter_map(super::WatchedRequest::of).collect())
}

fn sorted_watched(mut w: Vec<super::WatchedRequest>) -> Vec<super::WatchedRequest> {
    w.sort_by(|a, b| a.id.cmp(&b.id));
    w
}

/// Counts without the states that have none.
fn nonzero(
    m: std::collections::BTreeMap<RequestState, u64>,
) -> std::collections::BTreeMap<RequestState, u64> {
    m.into_iter().filter(|(_, n)| *n > 0).collect()
}

#[test]
fn the_counts_by_state_follow_every_write_as_a_scan_counts_them() {
    on_every_backend(|store| {
        let a = create(store, &request("is", Some("a")));
        let b = create(store, &request("is", Some("b")));
        create(store, &request("is", None));
        // A client id used again creates nothing; a refused event changes nothing.
        assert!(store
            .create_request(&request("is", Some("a")), b"<a/>", &[])
            .is_ok());
        assert!(store
            .apply_request(&a.id, &Actor::Engine, &RequestEvent::Expire)
            .is_err());
        claim(store, &a.id, "m-a").unwrap();
        claim(store, &b.id, "m-b").unwrap();
        let error = ErrorInfo::permanent("InvalidContent", "bad", Utc::now());
        store
            .apply_request(&b.id, &Actor::Engine, &RequestEvent::Failed { error })
            .unwrap();
        assert_eq!(
            nonzero(store.count_by_state().unwrap()),
            scanned_counts(store)
        );
        store
            .purge_request(&b.id, Utc::now() + Duration::seconds(1))
            .unwrap();
        let counts = nonzero(store.count_by_state().unwrap());
        assert_eq!(counts, scanned_counts(store));
        assert_eq!(
            sorted_watched(store.watched_requests().unwrap()),
            scanned_watched(store)
        );
        assert_eq!(
            counts,
            [(RequestState::Queued, 1), (RequestState::Sending, 1)]
                .into_iter()
                .collect()
        );
    });
}

#[test]
fn the_counts_by_state_are_counted_again_when_the_database_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path(), 8 << 20).unwrap();
        let r = create(&*store, &request("is", None));
        create(&*store, &request("is", None));
        claim(&*store, &r.id, "m-1").unwrap();
        store.flush().unwrap();
    }
    let store = SledStore::open(dir.path(), 8 << 20).unwrap();
    assert_eq!(
        nonzero(store.count_by_state().unwrap()),
        [(RequestState::Queued, 1), (RequestState::Sending, 1)]
            .into_iter()
            .collect()
    );
}
