//! Every (state, event) pair of the outgoing request's lifecycle, as one table.

use chrono::{Duration, Utc};

use super::*;

const STATES: &[RequestState] = RequestState::ALL;

/// The state a letter of the table stands for: `.` no change, `!` refused.
fn target(letter: char) -> Option<Option<RequestState>> {
    Some(Some(match letter {
        '.' => return Some(None),
        '!' => return None,
        'D' => RequestState::Draft,
        'W' => RequestState::AwaitingPersonalSignature,
        'Q' => RequestState::Queued,
        'G' => RequestState::Sending,
        'S' => RequestState::Sent,
        'A' => RequestState::Answered,
        'R' => RequestState::Rejected,
        'F' => RequestState::Failed,
        'E' => RequestState::Expired,
        'C' => RequestState::Cancelled,
        other => panic!("no state for {other}"),
    }))
}

fn record(state: RequestState) -> RequestRecord {
    let now = Utc::now();
    RequestRecord {
        id: "r".into(),
        system: "is".into(),
        kind: "k".into(),
        client_id: None,
        case: None,
        state,
        created_at: now,
        updated_at: now,
        business_xml: "b".into(),
        test_message: false,
        attachments: Vec::new(),
        personal: PersonalSigning::default(),
        message_id: Some("m1".into()),
        replaced_message_ids: Vec::new(),
        signed_envelope: Some("e1".into()),
        attempts: 1,
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

fn answer(kind: AnswerKind) -> AnswerRecord {
    AnswerRecord {
        kind,
        message_id: "a1".into(),
        received_at: Utc::now(),
        business_xml: None,
        rejections: Vec::new(),
        smev_fault: None,
        attachments: Vec::new(),
        envelope: "env".into(),
        sender: None,
        signatures: Vec::new(),
    }
}

fn events() -> Vec<(&'static str, RequestEvent)> {
    let now = Utc::now();
    let error = ErrorInfo::permanent("InvalidContent", "bad", now);
    vec![
        (
            "!!G.!!!!!!",
            RequestEvent::Claimed {
                lease_until: now + Duration::seconds(60),
                fresh_message_id: "m2".into(),
            },
        ),
        (
            "..........",
            RequestEvent::Prepared {
                message_id: "m1".into(),
                envelope: "e2".into(),
            },
        ),
        (
            "!!!S!!!!!!",
            RequestEvent::Sent {
                sent_at: now,
                smev_status: None,
                deadline: now + Duration::days(5),
                evidence: None,
                already_sent: false,
            },
        ),
        (
            "!!!Q!!!!!!",
            RequestEvent::RetryAt {
                at: now,
                error: error.clone(),
            },
        ),
        (
            "!!!Q!!!!!!",
            RequestEvent::NewMessageId {
                due: now,
                error: error.clone(),
            },
        ),
        ("!!!F!!!!!!", RequestEvent::Failed { error }),
        (
            "!!AAA!!!A!",
            RequestEvent::Answer {
                answer: answer(AnswerKind::Data),
                evidence: "env".into(),
            },
        ),
        (
            "!!RRR!!!R!",
            RequestEvent::Answer {
                answer: answer(AnswerKind::Rejected),
                evidence: "env".into(),
            },
        ),
        (
            "..........",
            RequestEvent::ProviderStatus {
                status: StatusUpdate {
                    at: now,
                    message_id: "s1".into(),
                    code: 3,
                    description: "в работе".into(),
                },
                evidence: "env".into(),
            },
        ),
        (
            "..........",
            RequestEvent::SmevStatus {
                category: "messageIsDelivered".into(),
                rejection: None,
                evidence: "env".into(),
            },
        ),
        // The same rule as a rejection delivered by GetResponse.
        (
            "!!RRR!!!R!",
            RequestEvent::SmevStatus {
                category: "requestIsRejectedBySmev".into(),
                rejection: Some(answer(AnswerKind::SmevRejected)),
                evidence: "env".into(),
            },
        ),
        (
            "!Q!!!!!!!!",
            RequestEvent::PersonalSignature {
                signature_xml: "<ds:Signature/>".into(),
                signer: "CN=x".into(),
                evidence: "sig".into(),
                file_signatures: Vec::new(),
                due: now,
            },
        ),
        ("!!!!!!QQQ!", RequestEvent::OperatorRetry { due: now }),
        ("CCC!C!!!!!", RequestEvent::Cancel),
        ("!!!!E!!!!!", RequestEvent::Expire),
        ("!!!.!!!!!!", RequestEvent::Recovered { due: now }),
    ]
}

#[test]
fn every_state_and_event() {
    for (row, event) in events() {
        for (state, letter) in STATES.iter().zip(row.chars()) {
            let mut r = record(*state);
            let before = r.clone();
            let result = r.apply(&event, Utc::now());
            match (target(letter), result) {
                (None, Err(_)) => assert_eq!(r, before, "{state:?} {event:?}: refused but changed"),
                (Some(None), Ok(None)) => assert_eq!(r.state, *state),
                (Some(Some(to)), Ok(Some(change))) => {
                    assert_eq!((change.from, change.to), (*state, to), "{event:?}");
                    assert_eq!(r.state, to);
                    assert!(
                        allowed(*state, to),
                        "{state:?} → {to:?} is not in the table"
                    );
                }
                (want, got) => panic!("{state:?} + {event:?}: expected {want:?}, got {got:?}"),
            }
        }
    }
}

#[test]
fn a_claim_assigns_the_message_id_once() {
    let mut r = record(RequestState::Queued);
    r.message_id = None;
    let claim = |id: &str| RequestEvent::Claimed {
        lease_until: Utc::now() - Duration::seconds(1),
        fresh_message_id: id.into(),
    };
    r.apply(&claim("first"), Utc::now()).unwrap();
    assert_eq!(r.message_id.as_deref(), Some("first"));
    assert_eq!(r.signed_envelope, None);
    r.apply(&claim("second"), Utc::now()).unwrap();
    assert_eq!(
        r.message_id.as_deref(),
        Some("first"),
        "a resend keeps the MessageID"
    );
    assert_eq!(r.attempts, 3);
}

#[test]
fn a_claim_before_the_due_time_is_refused() {
    let mut r = record(RequestState::Queued);
    r.next_due = Some(Utc::now() + Duration::seconds(60));
    let e = RequestEvent::Claimed {
        lease_until: Utc::now(),
        fresh_message_id: "m".into(),
    };
    assert_eq!(r.apply(&e, Utc::now()), Err(LifecycleError::NotDue));
}

#[test]
fn a_new_message_id_keeps_the_old_one_and_drops_the_signed_envelope() {
    let mut r = record(RequestState::Failed);
    r.apply(&RequestEvent::OperatorRetry { due: Utc::now() }, Utc::now())
        .unwrap();
    assert_eq!(r.message_id, None);
    assert_eq!(r.replaced_message_ids, vec!["m1".to_string()]);
    assert_eq!(r.signed_envelope, None);
}

#[test]
fn a_verdict_for_a_request_mid_send_records_when_it_was_sent() {
    let mut r = record(RequestState::Sending);
    let now = Utc::now();
    r.apply(
        &RequestEvent::Answer {
            answer: answer(AnswerKind::Data),
            evidence: "env".into(),
        },
        now,
    )
    .unwrap();
    assert_eq!(r.sent_at, Some(now));
    assert_eq!(r.next_due, None);
}

#[test]
fn a_prepared_envelope_for_a_replaced_message_id_is_refused() {
    let mut r = record(RequestState::Sending);
    let e = RequestEvent::Prepared {
        message_id: "old".into(),
        envelope: "e".into(),
    };
    assert_eq!(
        r.apply(&e, Utc::now()),
        Err(LifecycleError::MessageIdChanged)
    );
}
