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
            k.labels.insert("OnDate".into(), "Дата, на которую нужны сведения".into());
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
