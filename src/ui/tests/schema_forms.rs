//! The form made from a kind's schema, on the example tax-debt kind with its hand-written
//! fields and template removed: fields named by their paths with the schema's Russian labels,
//! the choice of taxpayer as radio buttons, errors beside the field they concern, and the XML
//! built by the schema shown in the preview (and accepted by the kind's XSD on the way).

use super::*;

async fn schema_env() -> Env {
    start_with(|cfg| {
        for k in cfg.kinds.iter_mut().filter(|k| k.id == "fns-tax-debt") {
            k.fields.clear();
            k.template.clear();
            k.labels
                .insert("OnDate".into(), "Дата, на которую нужны сведения".into());
        }
    })
    .await
}

#[tokio::test]
async fn the_form_follows_the_schema() {
    let env = schema_env().await;
    let (sid, _) = login(&env, "operator").await;
    let page = send(
        &env,
        Method::GET,
        "/ui/requests/new?kind=fns-tax-debt",
        &sid,
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for needle in [
        "name=\"x:RequestID\"",
        "Идентификатор запроса (ИдЗапрос), присваивается запрашивающей стороной.",
        "type=\"radio\" name=\"c:Taxpayer#0\" value=\"0\" checked",
        "name=\"x:Taxpayer/Organization/INN\"",
        "name=\"x:Taxpayer/Person/INN\"",
        "name=\"x:OnDate\" type=\"date\"",
        // A label from the configuration replaces the schema's documentation.
        "<label for=\"x:OnDate\">Дата, на которую нужны сведения",
    ] {
        assert!(page.body.contains(needle), "{needle} in\n{}", page.body);
    }
}

#[tokio::test]
async fn errors_land_beside_their_fields_and_a_good_form_previews_the_built_xml() {
    let env = schema_env().await;
    let (sid, csrf) = login(&env, "operator").await;
    let page = send(
        &env,
        Method::GET,
        "/ui/requests/new?kind=fns-tax-debt",
        &sid,
        None,
    )
    .await;
    let client_id = page.hidden("client_id");
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("system", "is-main"),
        ("kind", "fns-tax-debt"),
        ("client_id", client_id.as_str()),
        ("case_reference", "2026/78"),
        ("x:RequestID", "REQ-2026-000778"),
        ("c:Taxpayer#0", "0"),
        ("x:Taxpayer/Organization/INN", "7707329153"),
        ("x:OnDate", "2026-12-01"),
    ];
    let r = send(&env, Method::POST, "/ui/requests/new", &sid, form(&fields)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let marker = "id=\"x:Taxpayer/Organization/INN-error\">неверное контрольное число ИНН</p>";
    assert!(r.body.contains(marker), "{}", r.body);
    assert!(r.body.contains("value=\"7707329153\""));
    fields[7] = ("x:Taxpayer/Organization/INN", "7707329152");
    let r = send(&env, Method::POST, "/ui/requests/new", &sid, form(&fields)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("&lt;ns1:INN&gt;7707329152&lt;/ns1:INN&gt;"),
        "{}",
        r.body
    );
    // The person's alternative, chosen but empty, is the one that must be filled.
    fields[6] = ("c:Taxpayer#0", "1");
    let r = send(&env, Method::POST, "/ui/requests/new", &sid, form(&fields)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body
            .contains("id=\"x:Taxpayer/Person/INN-error\">значение не указано</p>"),
        "{}",
        r.body
    );
}

/// An incoming request of `kind` in the store, as the provider poller leaves it.
pub(super) fn incoming(env: &Env, kind: &str, request_xml: &str) -> String {
    use crate::domain::{IncomingRecord, IncomingState};
    let now = chrono::Utc::now();
    let store = &env.ctx.store;
    let rec = IncomingRecord {
        id: crate::store::new_id(),
        system: "is-main".into(),
        kind: Some(kind.into()),
        root_element: "{urn://smev-gateway/example/zags-marriage/1.0}MarriageRecordRequest".into(),
        state: IncomingState::Received,
        received_at: now,
        updated_at: now,
        message_id: crate::smev::MessageId::new().to_string(),
        reply_to: "reply-to-token".into(),
        business_xml: store.put_blob(request_xml.as_bytes()).unwrap(),
        envelope: store.put_blob(b"<env/>").unwrap(),
        attachments: Vec::new(),
        sender: None,
        sending_timestamp: None,
        answer_deadline: None,
        test_message: true,
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
    store.add_incoming(&rec).unwrap();
    rec.id
}

#[tokio::test]
async fn an_incoming_request_is_answered_through_the_form_made_from_the_response_schema() {
    let env = start_with(|cfg| {
        for k in cfg.kinds.iter_mut().filter(|k| k.id == "zags-marriage") {
            k.fields.clear();
            k.template.clear();
        }
    })
    .await;
    let request =
        r#"<zm:MarriageRecordRequest xmlns:zm="urn://smev-gateway/example/zags-marriage/1.0"/>"#;
    let id = incoming(&env, "zags-marriage", request);
    let (sid, csrf) = login(&env, "operator").await;
    let path = format!("/ui/incoming/{id}");
    let page = send(&env, Method::GET, &path, &sid, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("name=\"x:MarriageRecord[1]/RecordNumber\""),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("type=\"radio\" name=\"c:#0\" value=\"1\""),
        "{}",
        page.body
    );
    // The first alternative chosen and left empty: its fields are named.
    let respond = format!("{path}/respond");
    let r = send(
        &env,
        Method::POST,
        &respond,
        &sid,
        super::flows::multipart(&[("csrf", None, csrf.as_bytes()), ("c:#0", None, b"0")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body
            .contains("id=\"x:MarriageRecord[1]/RecordNumber-error\">значение не указано</p>"),
        "{}",
        r.body
    );
    // «Запись не найдена» with an explanation: built by the schema, accepted by the XSD.
    let parts = [
        ("csrf", None, csrf.as_bytes()),
        ("c:#0", None, "1".as_bytes()),
        (
            "x:NotFound/Description",
            None,
            "Запись не найдена в архиве".as_bytes(),
        ),
    ];
    let r = send(
        &env,
        Method::POST,
        &respond,
        &sid,
        super::flows::multipart(&parts),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().ends_with("?done=answered"), "{}", r.location());
    let stored = env.ctx.store.get_incoming(&id).unwrap();
    let Some(crate::domain::OutgoingResponse::Data { business_xml, .. }) = stored.response else {
        panic!("{:?}", stored.response)
    };
    let xml = env.ctx.store.blob_text(&business_xml).unwrap();
    assert!(xml.contains("<ns1:NotFound><ns1:Description>Запись не найдена в архиве</ns1:Description></ns1:NotFound>"), "{xml}");
}
