//! Every (state, event) pair of the incoming request's lifecycle, as one table.

use chrono::{Duration, Utc};

use super::*;
use crate::smev::model::RejectionReasonCode;

const STATES: [IncomingState; 4] = [
    IncomingState::Received,
    IncomingState::Responding,
    IncomingState::Responded,
    IncomingState::Failed,
];

/// `.` no change, `!` refused, else the state it leads to.
fn target(letter: char) -> Option<Option<IncomingState>> {
    Some(Some(match letter {
        '.' => return Some(None),
        '!' => return None,
        'G' => IncomingState::Responding,
        'D' => IncomingState::Responded,
        'F' => IncomingState::Failed,
        other => panic!("no state for {other}"),
    }))
}

fn record(state: IncomingState) -> IncomingRecord {
    let now = Utc::now();
    IncomingRecord {
        id: "i".into(),
        system: "is".into(),
        kind: None,
        root_element: "{urn:x}Q".into(),
        state,
        received_at: now,
        updated_at: now,
        message_id: "m".into(),
        reply_to: "r".into(),
        business_xml: "b".into(),
        envelope: "e".into(),
        attachments: Vec::new(),
        sender: None,
        sending_timestamp: None,
        answer_deadline: None,
        test_message: false,
        signatures: Vec::new(),
        response: None,
        response_message_id: Some("resp-1".into()),
        signed_response: Some("s".into()),
        attempts: 1,
        next_due: Some(now - Duration::seconds(1)),
        last_error: None,
        history: Vec::new(),
        assignee: None,
    }
}

fn events() -> Vec<(&'static str, IncomingEvent)> {
    let now = Utc::now();
    let error = ErrorInfo::permanent("InvalidContent", "bad", now);
    let verdict = |rejected| IncomingEvent::SmevVerdict {
        category: Some("requestIsRejectedBySmev".into()),
        rejected,
        evidence: "env".into(),
    };
    vec![
        (
            "G!!G",
            IncomingEvent::AnswerPosted {
                response: OutgoingResponse::Reject {
                    code: RejectionReasonCode::NoData,
                    description: "нет данных".into(),
                },
                due: now,
            },
        ),
        (
            "!.!!",
            IncomingEvent::Claimed {
                lease_until: now + Duration::seconds(60),
                fresh_message_id: "resp-2".into(),
            },
        ),
        (
            "....",
            IncomingEvent::Prepared {
                envelope: "s2".into(),
            },
        ),
        (
            "!F!!",
            IncomingEvent::BuildFailed {
                error: error.clone(),
            },
        ),
        ("!D!!", IncomingEvent::Accepted),
        (
            "!.!!",
            IncomingEvent::RetryAt {
                at: now,
                error: error.clone(),
            },
        ),
        (
            "!D!!",
            IncomingEvent::AlreadySent {
                error: error.clone(),
            },
        ),
        (
            "!.!!",
            IncomingEvent::NewMessageId {
                due: now,
                error: error.clone(),
            },
        ),
        ("!F!!", IncomingEvent::Refused { error }),
        // SMEV may reject a response it first accepted.
        ("!FF.", verdict(true)),
        ("....", verdict(false)),
        ("!.!!", IncomingEvent::Recovered { due: now }),
        // An executor is assigned in any state, without changing it.
        (
            "....",
            IncomingEvent::Assigned {
                assignee: Some("ivanova".into()),
            },
        ),
    ]
}

#[test]
fn every_state_and_event() {
    for (row, event) in events() {
        for (state, letter) in STATES.iter().zip(row.chars()) {
            let mut r = record(*state);
            let before = r.clone();
            match (target(letter), r.apply(&event, Utc::now())) {
                (None, Err(_)) => assert_eq!(r, before, "{state:?} {event:?}: refused but changed"),
                (Some(None), Ok(None)) => assert_eq!(r.state, *state),
                (Some(Some(to)), Ok(Some((from, got)))) => {
                    assert_eq!((from, got), (*state, to), "{event:?}");
                    assert!(incoming_allowed(*state, to));
                }
                (want, got) => panic!("{state:?} + {event:?}: expected {want:?}, got {got:?}"),
            }
        }
    }
}

#[test]
fn a_new_answer_after_a_failure_clears_the_old_response_message_id() {
    let mut r = record(IncomingState::Failed);
    let posted = IncomingEvent::AnswerPosted {
        response: OutgoingResponse::Reject {
            code: RejectionReasonCode::Failure,
            description: "ошибка".into(),
        },
        due: Utc::now(),
    };
    r.apply(&posted, Utc::now()).unwrap();
    assert_eq!(r.response_message_id, None);
    assert_eq!(r.signed_response, None);
}
