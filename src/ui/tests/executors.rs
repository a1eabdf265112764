//! Executors: the руководитель assigns a case, every request of it follows, the executor finds
//! them under «Только мои», monitoring counts them by executor, and an operator cannot assign.

use chrono::{Duration, Utc};

use super::deadlines::{put, record};
use super::*;
use crate::domain::RequestState;

/// Posts the executor form at `path` (a case's or an incoming request's).
async fn post_assign(env: &Env, path: &str, sid: &str, csrf: &str, assignee: &str) -> Resp {
    send(
        env,
        Method::POST,
        path,
        sid,
        form(&[("csrf", csrf), ("assignee", assignee)]),
    )
    .await
}

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
    let r = post_assign(&env, path, &op_sid, &op_csrf, "operator").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let (sid, csrf) = login(&env, "supervisor").await;
    // Somebody who does not work with the system cannot be the executor.
    let r = post_assign(&env, path, &sid, &csrf, "outsider").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = post_assign(&env, path, &sid, &csrf, "operator").await;
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

#[tokio::test]
async fn an_incoming_request_assigned_by_the_supervisor_is_the_executors() {
    let env = start().await;
    let request =
        r#"<zm:MarriageRecordRequest xmlns:zm="urn://smev-gateway/example/zags-marriage/1.0"/>"#;
    let mine_id = super::schema_forms::incoming(&env, "zags-marriage", request);
    let other_id = super::schema_forms::incoming(&env, "zags-marriage", request);
    let path = format!("/ui/incoming/{mine_id}/assign");
    let (op_sid, op_csrf) = login(&env, "operator").await;
    let r = post_assign(&env, &path, &op_sid, &op_csrf, "operator").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let (sid, csrf) = login(&env, "supervisor").await;
    let r = post_assign(&env, &path, &sid, &csrf, "outsider").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(env.ctx.store.get_incoming(&mine_id).unwrap().assignee, None);
    let r = post_assign(&env, &path, &sid, &csrf, "operator").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let rec = env.ctx.store.get_incoming(&mine_id).unwrap();
    assert_eq!(rec.assignee.as_deref(), Some("operator"));
    assert!(env
        .ctx
        .store
        .audit_of(&mine_id)
        .unwrap()
        .iter()
        .any(|e| e.action == "assigned"));
    let card = send(
        &env,
        Method::GET,
        &format!("/ui/incoming/{mine_id}"),
        &sid,
        None,
    )
    .await;
    assert!(
        card.body
            .contains("<dd data-assignee>Тест operator &lt;b&gt;</dd>"),
        "{}",
        card.body
    );
    // «Только мои» for the operator lists the assigned request only.
    let mine = send(&env, Method::GET, "/ui/incoming?mine=1", &op_sid, None).await;
    assert!(mine.body.contains(&mine_id), "{}", mine.body);
    assert!(!mine.body.contains(&other_id), "{}", mine.body);
    let all = send(&env, Method::GET, "/ui/incoming", &op_sid, None).await;
    assert!(all.body.contains(&other_id), "{}", all.body);
}

#[tokio::test]
async fn monitoring_counts_incoming_requests_by_executor_and_by_kind() {
    let env = start().await;
    let request =
        r#"<zm:MarriageRecordRequest xmlns:zm="urn://smev-gateway/example/zags-marriage/1.0"/>"#;
    let assigned = super::schema_forms::incoming(&env, "zags-marriage", request);
    super::schema_forms::incoming(&env, "zags-marriage", request);
    env.ctx
        .store
        .apply_incoming(
            &assigned,
            &crate::domain::Actor::Smev,
            &crate::domain::IncomingEvent::Assigned {
                assignee: Some("operator".into()),
            },
        )
        .unwrap();
    let (sid, _) = login(&env, "supervisor").await;
    let page = send(&env, Method::GET, "/ui/monitoring", &sid, None).await;
    // One row per executor: its cells after the name are open, overdue, due soon, answered,
    // problems, incoming open, incoming overdue.
    let row_of = |table: &str, name: &str| -> Vec<String> {
        let t = page
            .body
            .split(&format!("data-table=\"{table}\""))
            .nth(1)
            .and_then(|t| t.split("</table>").next())
            .unwrap_or_default();
        let row = t
            .split("<tr>")
            .find(|r| r.contains(name))
            .unwrap_or_default();
        row.split("<td")
            .skip(1)
            .map(|c| {
                let c = &c[c.find('>').map_or(0, |i| i + 1)..];
                c[..c.find('<').unwrap_or(c.len())].to_string()
            })
            .collect()
    };
    assert_eq!(
        row_of("by-executor", "Тест operator &lt;b&gt;")[5..],
        ["1", "0"],
        "{}",
        page.body
    );
    assert_eq!(row_of("by-executor", "Не назначен")[5..], ["1", "0"]);
    let kind = env
        .ctx
        .kinds
        .get("zags-marriage")
        .unwrap()
        .config
        .name
        .clone();
    assert_eq!(row_of("by-kind", &kind)[5..], ["2", "0"], "{}", page.body);
}
