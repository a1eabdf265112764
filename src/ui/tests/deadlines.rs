//! Deadlines and failures as the clerk and the руководитель see them, on records put straight
//! into the store: «срок истекает» beside an open request due by the next working day, an
//! expired request kept in the overdue count, list and filter, and a refusal for missing data
//! not offered for resending.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::domain::{
    AnswerKind, AnswerRecord, CaseInfo, PersonalSigning, RequestRecord, RequestState,
};
use crate::smev::model::{Rejection, RejectionReasonCode};

pub(super) fn record(case: &str, state: RequestState, deadline: DateTime<Utc>) -> RequestRecord {
    let now = Utc::now();
    RequestRecord {
        id: crate::store::new_id(),
        system: "is-main".into(),
        kind: "fns-tax-debt".into(),
        client_id: None,
        case: Some(CaseInfo {
            reference: case.into(),
            ..Default::default()
        }),
        state,
        created_at: now - Duration::days(10),
        updated_at: now,
        business_xml: crate::store::blob_key(b"<a/>").unwrap(),
        test_message: false,
        attachments: Vec::new(),
        personal: PersonalSigning::default(),
        message_id: Some(uuid::Uuid::new_v4().to_string()),
        replaced_message_ids: Vec::new(),
        signed_envelope: None,
        attempts: 1,
        next_due: None,
        last_error: None,
        sent_at: Some(now - Duration::days(10)),
        smev_status: None,
        deadline: Some(deadline),
        answer: None,
        statuses: Vec::new(),
        history: Vec::new(),
        created_by: "user:operator".into(),
        search_digits: Vec::new(),
        assignee: None,
    }
}

pub(super) fn put(env: &Env, r: &RequestRecord) {
    env.ctx.store.create_request(r, b"<a/>", &[]).unwrap();
}

#[tokio::test]
async fn an_open_request_due_by_the_next_working_day_says_so() {
    let env = start().await;
    let ui = Ui::new(env.ctx.clone());
    let soon = ui.end_of_next_working_day(Utc::now()) - Duration::hours(1);
    put(&env, &record("DUE-SOON-1", RequestState::Sent, soon));
    let later = Utc::now() + Duration::days(30);
    put(&env, &record("LATER-1", RequestState::Sent, later));
    let (sid, _) = login(&env, "operator").await;
    let list = send(
        &env,
        Method::GET,
        "/ui/requests?status=due_soon",
        &sid,
        None,
    )
    .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("DUE-SOON-1"), "{}", list.body);
    assert!(!list.body.contains("LATER-1"), "{}", list.body);
    assert!(
        list.body.contains("data-due-soon>срок истекает"),
        "{}",
        list.body
    );
}

#[tokio::test]
async fn an_expired_request_stays_overdue_for_the_supervisor() {
    let env = start().await;
    let past = Utc::now() - Duration::days(3);
    put(&env, &record("EXPIRED-1", RequestState::Expired, past));
    put(&env, &record("ANSWERED-1", RequestState::Answered, past));
    let (sid, _) = login(&env, "supervisor").await;
    let page = send(&env, Method::GET, "/ui/monitoring", &sid, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let tile = "data-tile=\"overdue\"><span class=\"tile-num\">1</span>";
    assert!(page.body.contains(tile), "{}", page.body);
    assert!(page.body.contains("EXPIRED-1"), "{}", page.body);
    let list = send(&env, Method::GET, "/ui/requests?status=overdue", &sid, None).await;
    assert!(list.body.contains("EXPIRED-1"), "{}", list.body);
    assert!(!list.body.contains("ANSWERED-1"), "{}", list.body);
}

#[tokio::test]
async fn a_refusal_for_missing_data_is_not_offered_for_resending() {
    let env = start().await;
    let past = Utc::now() - Duration::days(3);
    let refused = |code| {
        let mut r = record("REFUSED-1", RequestState::Rejected, past);
        r.answer = Some(AnswerRecord {
            kind: AnswerKind::Rejected,
            message_id: uuid::Uuid::new_v4().to_string(),
            received_at: Utc::now(),
            business_xml: None,
            rejections: vec![Rejection {
                code,
                description: "нет сведений".into(),
            }],
            smev_fault: None,
            attachments: Vec::new(),
            envelope: crate::store::blob_key(b"<a/>").unwrap(),
            sender: None,
            signatures: Vec::new(),
        });
        r
    };
    let (sid, _) = login(&env, "supervisor").await;
    for (code, offered) in [
        (RejectionReasonCode::NoData, false),
        (RejectionReasonCode::Failure, true),
    ] {
        let r = refused(code);
        put(&env, &r);
        let card = send(
            &env,
            Method::GET,
            &format!("/ui/requests/{}", r.id),
            &sid,
            None,
        )
        .await;
        assert_eq!(card.status, StatusCode::OK, "{}", card.body);
        assert_eq!(
            card.body.contains("Повторить отправку"),
            offered,
            "{code:?}"
        );
        assert!(card.body.contains("Что делать:"), "{code:?}: {}", card.body);
    }
}
