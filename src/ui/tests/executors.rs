//! Executors: the руководитель assigns a case, every request of it follows, the executor finds
//! them under «Только мои», monitoring counts them by executor, and an operator cannot assign.

use chrono::{Duration, Utc};

use super::deadlines::{put, record};
use super::*;
use crate::domain::RequestState;

#[tokio::test]
async fn a_case_assigned_by_the_supervisor_is_the_executors() {
    let env = start().await;
    let later = Utc::now() + Duration::days(30);
    let a = record("EXEC-1", RequestState::Sent, later);
    let b = record("EXEC-1", RequestState::Answered, later);
    let other = record("EXEC-2", RequestState::Sent, later);
    for r in [&a, &b, &other] {
        put(&env, r);
    }
    let (op_sid, op_csrf) = login(&env, "operator").await;
    // An operator may not assign.
    let path = "/ui/cases/is-main/EXEC-1/assign";
    let r = send(
        &env,
        Method::POST,
        path,
        &op_sid,
        form(&[("csrf", &op_csrf), ("assignee", "operator")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let (sid, csrf) = login(&env, "supervisor").await;
    // Somebody who does not work with the system cannot be the executor.
    let r = send(
        &env,
        Method::POST,
        path,
        &sid,
        form(&[("csrf", &csrf), ("assignee", "outsider")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = send(
        &env,
        Method::POST,
        path,
        &sid,
        form(&[("csrf", &csrf), ("assignee", "operator")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for r in [&a, &b] {
        let rec = env.ctx.store.get_request(&r.id).unwrap();
        assert_eq!(rec.assignee.as_deref(), Some("operator"));
    }
    assert_eq!(env.ctx.store.get_request(&other.id).unwrap().assignee, None);
    // The assignment is in the audit log.
    assert!(env
        .ctx
        .store
        .audit_of(&a.id)
        .unwrap()
        .iter()
        .any(|e| e.action == "assigned"));
    let card = send(&env, Method::GET, "/ui/cases/is-main/EXEC-1", &sid, None).await;
    assert!(
        card.body.contains("Исполнитель: Тест operator &lt;b&gt;"),
        "{}",
        card.body
    );
    // «Только мои» for the operator: the assigned case's requests, not the other one.
    let mine = send(&env, Method::GET, "/ui/requests?mine=1", &op_sid, None).await;
    assert!(
        mine.body.contains(&a.id) && mine.body.contains(&b.id),
        "{}",
        mine.body
    );
    assert!(!mine.body.contains(&other.id));
    // Monitoring by executor.
    let page = send(&env, Method::GET, "/ui/monitoring", &sid, None).await;
    let table = page
        .body
        .split("data-table=\"by-executor\"")
        .nth(1)
        .unwrap();
    assert!(table.contains("Тест operator &lt;b&gt;") && table.contains("Не назначен"));
}
