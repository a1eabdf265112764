//! The create → preview → send flow, with escaping of what users typed.

use super::*;

#[tokio::test]
async fn create_preview_send_and_escape() {
    let env = start().await;
    let (sid, csrf) = login(&env, "operator").await;
    let page = send(
        &env,
        Method::GET,
        "/ui/requests/new?kind=fns-tax-debt",
        &sid,
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Подготовить запрос к отправке"));
    assert!(page.body.contains("for=\"f_inn\""));
    let client_id = page.hidden("client_id");
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("system", "is-main"),
        ("kind", "fns-tax-debt"),
        ("client_id", client_id.as_str()),
        ("case_reference", "2026/77"),
        ("case_applicant", "<script>alert(1)</script> ООО «Ромашка»"),
        ("f_request_id", "REQ-1"),
        ("f_inn", "77070838"),
        ("f_on_date", "26.11.2026"),
    ];
    // Server-side validation, in Russian, with the values kept.
    let r = send(&env, Method::POST, "/ui/requests/new", &sid, form(&fields)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .body
        .contains("Поле «ИНН организации» должно состоять из 10 цифр."));
    assert!(r.body.contains("value=\"77070838\""));
    assert!(!r.body.contains("<script>alert(1)"));
    fields[7] = ("f_inn", "7707083893");
    // Without the CSRF token: 403.
    let no_csrf: Vec<(&str, &str)> = fields
        .iter()
        .copied()
        .filter(|(k, _)| *k != "csrf")
        .collect();
    let r = send(&env, Method::POST, "/ui/requests/new", &sid, form(&no_csrf)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Preview: the XML is valid and shown, escaped.
    let r = send(&env, Method::POST, "/ui/requests/new", &sid, form(&fields)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Сохранить и отправить запрос"));
    assert!(
        r.body.contains("&lt;td:INN&gt;7707083893&lt;/td:INN&gt;"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("<script>alert(1)"));
    // Send, with a scan chosen on the preview (the send form is multipart).
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = fields
        .iter()
        .map(|(k, v)| (*k, None, v.as_bytes()))
        .collect();
    parts.push(("files", Some("Заявление.pdf"), b"%PDF-1.4 scan"));
    let send_it = || {
        send(
            &env,
            Method::POST,
            "/ui/requests/send",
            &sid,
            multipart(&parts),
        )
    };
    let r = send_it().await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let card_path = r.location().to_string();
    assert!(card_path.ends_with("?done=created"), "{card_path}");
    // A double submit returns the same request (idempotent client id).
    let again = send_it().await;
    assert_eq!(again.location(), card_path);
    let card = send(&env, Method::GET, &card_path, &sid, None).await;
    assert_eq!(card.status, StatusCode::OK);
    assert!(card.body.contains("В очереди на отправку"));
    assert!(card.body.contains("ИНН организации"));
    assert!(card.body.contains("2026/77"));
    assert!(card.body.contains("Вложения запроса"));
    assert!(card.body.contains("Заявление.pdf"));
    assert!(!card.body.contains("<script>alert(1)"));
    assert!(card.body.contains("&lt;script&gt;alert(1)"));
    let id = card_path
        .trim_start_matches("/ui/requests/")
        .trim_end_matches("?done=created")
        .to_string();
    // The case list and the case card (number with a slash).
    let cases = send(&env, Method::GET, "/ui/cases?q=2026%2F77", &sid, None).await;
    assert!(cases.body.contains("/ui/cases/is-main/2026%2F77"));
    let case = send(&env, Method::GET, "/ui/cases/is-main/2026%2F77", &sid, None).await;
    assert_eq!(case.status, StatusCode::OK);
    assert!(case.body.contains("Межведомственные запросы"));
    assert!(case.body.contains(&format!("data-request-id=\"{id}\"")));
    // The live status endpoint and panel.
    let st = send(
        &env,
        Method::GET,
        &format!("/ui/status?ids={id},unknown"),
        &sid,
        None,
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&st.body).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["status"], "queued");
    assert_eq!(v["items"][0]["label"], "В очереди на отправку");
    let panel = send(
        &env,
        Method::GET,
        &format!("/ui/requests/{id}/panel"),
        &sid,
        None,
    )
    .await;
    assert_eq!(panel.status, StatusCode::OK);
    assert!(!panel.body.contains("<html"));
    // An operator may not retry (a supervisor's decision).
    let r = send(
        &env,
        Method::POST,
        &format!("/ui/requests/{id}/retry"),
        &sid,
        form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("только руководитель"));
    // A supervisor's retry is refused for a queued request, in Russian.
    let (sup, sup_csrf) = login(&env, "supervisor").await;
    let r = send(
        &env,
        Method::POST,
        &format!("/ui/requests/{id}/retry"),
        &sup,
        form(&[("csrf", &sup_csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Повторить отправку можно только"));
    // Cancel works.
    let r = send(
        &env,
        Method::POST,
        &format!("/ui/requests/{id}/cancel"),
        &sid,
        form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let card = send(&env, Method::GET, r.location(), &sid, None).await;
    assert!(card.body.contains("Отменён"));
    let history = env.ctx.store.get_request(&id).unwrap().history;
    assert!(history.iter().any(|t| t.actor == "user:operator"));

    // A user of another information system sees none of it.
    let (other, _) = login(&env, "outsider").await;
    let list = send(&env, Method::GET, "/ui/requests", &other, None).await;
    assert!(list.body.contains("Запросов нет."), "{}", list.body);
    let cases = send(&env, Method::GET, "/ui/cases", &other, None).await;
    assert!(cases.body.contains("Заявок не найдено."));
    let card = send(
        &env,
        Method::GET,
        &format!("/ui/requests/{id}"),
        &other,
        None,
    )
    .await;
    assert_eq!(card.status, StatusCode::NOT_FOUND);
    let case = send(
        &env,
        Method::GET,
        "/ui/cases/is-main/2026%2F77",
        &other,
        None,
    )
    .await;
    assert_eq!(case.status, StatusCode::NOT_FOUND);
    let st = send(
        &env,
        Method::GET,
        &format!("/ui/status?ids={id}"),
        &other,
        None,
    )
    .await;
    assert_eq!(st.body, r#"{"items":[]}"#);
    let new = send(&env, Method::GET, "/ui/requests/new", &other, None).await;
    assert_eq!(new.status, StatusCode::FORBIDDEN);
}

pub(super) fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Option<(&'static str, Vec<u8>)> {
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(b"--XBOUNDARYX\r\n");
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XBOUNDARYX--\r\n");
    Some(("multipart/form-data; boundary=XBOUNDARYX", body))
}
