//! Data kinds through the API against a real gateway process: the kinds a system uses with
//! their roles, a kind's field trees, and a request sent as `fields` — built by the schema,
//! accepted by the gateway's own libxml2 check (202), refused field by field when values do not
//! fit (422 `invalid_fields`), with the same auth boundary as every other resource.

mod common;

use common::*;
use serde_json::{json, Value};

fn start() -> (tempfile::TempDir, Proc) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = gateway_config(dir.path(), "http://127.0.0.1:9/ws", "");
    let gw = start_gateway(&cfg);
    (dir, gw)
}

fn url(gw: &Proc, path: &str) -> String {
    format!("http://{}{path}", gw.addr)
}

#[test]
fn kinds_are_listed_per_system_with_their_roles() {
    let (_dir, gw) = start();
    let (s, b) = call("GET", &url(&gw, "/api/v1/kinds"), Some(TOKEN_A), None);
    assert_eq!(s, 200, "{b}");
    let roles: Vec<(String, Value)> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["id"].as_str().unwrap().to_string(), k["roles"].clone()))
        .collect();
    assert_eq!(
        roles,
        [
            ("fns-tax-debt".to_string(), json!(["consumer"])),
            ("zags-marriage".to_string(), json!(["consumer", "provider"]))
        ]
    );
    let (s, b) = call("GET", &url(&gw, "/api/v1/kinds"), Some(TOKEN_B), None);
    assert_eq!(
        (s, b["items"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{b}"
    );
    // A kind another system uses is missing for this one.
    let (s, b) = call(
        "GET",
        &url(&gw, "/api/v1/kinds/zags-marriage"),
        Some(TOKEN_B),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (404, Some("not_found")), "{b}");
    let (s, _) = call("GET", &url(&gw, "/api/v1/kinds"), None, None);
    assert_eq!(s, 401);
}

#[test]
fn a_kind_shows_the_fields_of_its_schema() {
    let (_dir, gw) = start();
    let (s, b) = call(
        "GET",
        &url(&gw, "/api/v1/kinds/fns-tax-debt"),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(s, 200, "{b}");
    let request = &b["fields"]["request"];
    assert_eq!(request["name"], "TaxDebtRequest");
    let items = request["content"]["children"]["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["RequestID", "Taxpayer", "OnDate"]);
    let taxpayer = &items[1]["content"]["children"];
    assert_eq!(taxpayer["compositor"], "choice");
    assert_eq!(
        items[0]["documentation"],
        "Идентификатор запроса (ИдЗапрос), присваивается запрашивающей стороной."
    );
}

#[test]
fn a_request_sent_as_fields_is_built_validated_and_queued() {
    let (_dir, gw) = start();
    let body = json!({
        "kind": "fns-tax-debt",
        "client_id": "fields-1",
        "fields": {"RequestID": "REQ-2026-000777", "Taxpayer": {"Organization": {"INN": "7707329152"}}, "OnDate": "2026-12-01"}
    });
    let (s, b) = call(
        "POST",
        &url(&gw, "/api/v1/requests"),
        Some(TOKEN_A),
        Some(&body),
    );
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["kind"], "fns-tax-debt");
}

#[test]
fn field_values_that_do_not_fit_are_listed_by_path() {
    let (_dir, gw) = start();
    let cases = [
        (
            json!({"RequestID": "R-1", "Taxpayer": {"Organization": {"INN": "7707329153"}}, "OnDate": "2026-13-01"}),
            vec![
                (
                    "Taxpayer/Organization/INN",
                    "неверное контрольное число ИНН",
                ),
                ("OnDate", "должно быть датой в формате ГГГГ-ММ-ДД"),
            ],
        ),
        (
            json!({"RequestID": "R-1", "Taxpayer": {}, "OnDate": "2026-12-01", "Extra": "x"}),
            vec![
                (
                    "Taxpayer",
                    "выберите один из вариантов: Organization | Person",
                ),
                ("Extra", "такого поля нет в схеме"),
            ],
        ),
    ];
    for (fields, want) in cases {
        let body = json!({"kind": "fns-tax-debt", "fields": fields});
        let (s, b) = call(
            "POST",
            &url(&gw, "/api/v1/requests"),
            Some(TOKEN_A),
            Some(&body),
        );
        assert_eq!(
            (s, b["code"].as_str()),
            (422, Some("invalid_fields")),
            "{b}"
        );
        let got: Vec<(String, String)> = b["field_errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["path"].as_str().unwrap().into(),
                    e["message"].as_str().unwrap().into(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = want
            .into_iter()
            .map(|(a, b)| (a.into(), b.into()))
            .collect();
        assert_eq!(got, want);
    }
}

#[test]
fn fields_and_xml_together_or_neither_are_refused() {
    let (_dir, gw) = start();
    for body in [
        json!({"kind": "fns-tax-debt"}),
        json!({"kind": "fns-tax-debt", "business_xml": tax_request("R-2", "7701000121"), "fields": {}}),
    ] {
        let (s, b) = call(
            "POST",
            &url(&gw, "/api/v1/requests"),
            Some(TOKEN_A),
            Some(&body),
        );
        assert_eq!(
            (s, b["code"].as_str()),
            (422, Some("invalid_fields")),
            "{b}"
        );
    }
}
