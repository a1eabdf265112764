//! The template environment: every page template compiled into the binary, HTML
//! auto-escaping on (templates end in `.html`), and the filters the pages use — dates in
//! «ДД.ММ.ГГГГ ЧЧ:ММ» in the configured zone, status labels, error texts in Russian, file
//! sizes, URL encoding. Views are serialized with serde and converted to template values.

use crate::domain::Reason;
use chrono::{DateTime, FixedOffset, Utc};
use minijinja::{Environment, Value};

use crate::domain::RequestState;

use super::messages;

/// Every template, by name.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("login.html", include_str!("templates/login.html")),
    ("password.html", include_str!("templates/password.html")),
    ("error.html", include_str!("templates/error.html")),
    ("cases.html", include_str!("templates/cases.html")),
    ("case.html", include_str!("templates/case.html")),
    ("requests.html", include_str!("templates/requests.html")),
    ("request.html", include_str!("templates/request.html")),
    ("print.html", include_str!("templates/print.html")),
    (
        "request_panel.html",
        include_str!("templates/request_panel.html"),
    ),
    (
        "new_request.html",
        include_str!("templates/new_request.html"),
    ),
    ("preview.html", include_str!("templates/preview.html")),
    ("sign.html", include_str!("templates/sign.html")),
    (
        "incoming_list.html",
        include_str!("templates/incoming_list.html"),
    ),
    ("incoming.html", include_str!("templates/incoming.html")),
    (
        "dead_letters.html",
        include_str!("templates/dead_letters.html"),
    ),
    (
        "dead_letter.html",
        include_str!("templates/dead_letter.html"),
    ),
    ("monitoring.html", include_str!("templates/monitoring.html")),
    ("settings.html", include_str!("templates/settings.html")),
];

/// Converts JSON (a serialized view) to a template value.
pub fn from_json(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::from(()),
        J::Bool(b) => Value::from(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(0.0))
            }
        }
        J::String(s) => Value::from(s.as_str()),
        J::Array(a) => Value::from(a.iter().map(from_json).collect::<Vec<_>>()),
        J::Object(o) => Value::from(
            o.iter()
                .map(|(k, v)| (k.clone(), from_json(v)))
                .collect::<std::collections::BTreeMap<String, Value>>(),
        ),
    }
}

/// Serializes anything serde can into a template value (null on failure).
pub fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v)
        .map(|j| from_json(&j))
        .unwrap_or_else(|_| Value::from(()))
}

/// Percent-encoding of everything but unreserved characters (RFC 3986), for path segments
/// and query values.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// «ДД.ММ.ГГГГ ЧЧ:ММ» of an RFC 3339 timestamp in `tz`; "—" for none.
pub fn format_dt(v: &Value, tz: FixedOffset) -> String {
    match v.as_str() {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| crate::calendar::format_ru(t.with_timezone(&Utc), tz))
            .unwrap_or_else(|_| s.to_string()),
        None => "—".to_string(),
    }
}

/// A size in bytes as staff read it: «512 байт», «12,3 КБ», «4,0 МБ».
pub fn file_size(n: u64) -> String {
    if n < 1024 {
        return format!("{n} байт");
    }
    let (v, unit) = if n < 1024 * 1024 {
        (n as f64 / 1024.0, "КБ")
    } else {
        (n as f64 / (1024.0 * 1024.0), "МБ")
    };
    format!("{v:.1} {unit}").replace('.', ",")
}

/// The environment with every template and filter.
pub fn environment(tz: FixedOffset) -> Environment<'static> {
    let mut env = Environment::new();
    for (name, src) in TEMPLATES {
        if let Err(e) = env.add_template(name, src) {
            // A template error is a bug caught by the tests; log instead of panicking.
            tracing::error!(template = name, error = %e, "UI template does not compile");
        }
    }
    env.add_filter("dt", move |v: Value| format_dt(&v, tz));
    env.add_filter("urlenc", |s: String| url_encode(&s));
    env.add_filter("filesize", |n: Value| {
        file_size(u64::try_from(n.clone()).unwrap_or(0))
    });
    env.add_filter("state_label", |s: String| {
        RequestState::parse(&s)
            .map(|st| crate::read::labels::request_state(st).to_string())
            .unwrap_or(s)
    });
    env.add_filter("error_ru", |code: String| messages::error_code_ru(&code));
    env.add_filter("error_class_ru", |c: String| {
        messages::error_class_ru(&c).to_string()
    });
    env.add_filter("rejection_ru", |code: String| {
        crate::smev::model::RejectionReasonCode::parse(&code)
            .map(|c| messages::rejection_ru(c).to_string())
            .unwrap_or(code)
    });
    env.add_filter("actor_ru", |a: String| actor_ru(&a));
    env.add_filter("reason_ru", |r: String| reason_ru(&r));
    env.add_filter("incoming_event_ru", |r: String| incoming_event_ru(&r));
    let label = if tz == crate::calendar::moscow() {
        "по московскому времени".to_string()
    } else {
        format!("по времени UTC{tz}")
    };
    env.add_global("tz_label", label);
    env
}

/// An incoming request's history entry ("received → responding: answer posted") in Russian.
pub fn incoming_event_ru(e: &str) -> String {
    use crate::domain::IncomingState as S;
    let label = |s: &str| {
        [S::Received, S::Responding, S::Responded, S::Failed]
            .into_iter()
            .find(|x| x.as_str() == s.trim())
            .map(|x| format!("«{}»", crate::read::labels::incoming_state(x)))
            .unwrap_or_else(|| s.trim().to_string())
    };
    match e.split_once(": ") {
        Some((states, reason)) => match states.split_once(" → ") {
            Some((from, to)) => format!("{} → {}: {}", label(from), label(to), reason_ru(reason)),
            None => reason_ru(e),
        },
        None => reason_ru(e),
    }
}

/// A stored history reason in Russian (free-form texts stay as they are).
pub fn reason_ru(r: &str) -> String {
    use crate::domain::Reason as R;
    let fixed = match Reason::parse(r) {
        R::Accepted => "запрос принят",
        R::OperatorRetry => "повторная отправка по решению сотрудника",
        R::Cancelled => "отменён сотрудником",
        R::PersonalSignatureAccepted => "подпись ЭП-СП проверена и принята",
        R::Sending => "отправка в СМЭВ",
        R::AcceptedBySmev => "принят СМЭВ",
        R::Signed => "сообщение подписано ЭП-ОВ",
        R::Recovered => "восстановление после перезапуска шлюза",
        R::Expired => "ответ не получен в установленный срок",
        R::AnswerReceived => "получен ответ",
        R::Rejected => "получен отказ",
        R::NewMessageId => "устаревший MessageID заменён новым",
        R::AckAndClose => "подтверждено (СМЭВ сообщено об отказе в приёме) и закрыто",
        R::Reprocessed => "обработано повторно",
        R::AnswerPosted => "ответ подготовлен",
        R::Received => "получен из СМЭВ",
        R::ResponseAccepted => "ответ принят СМЭВ",
        R::AlreadySent => "СМЭВ сообщил, что сообщение уже было принято",
        R::SendingResponse => "отправка ответа в СМЭВ",
        R::ResponseSigned => "ответ подписан ЭП-ОВ",
        R::AnswerToOurResponse => "ответ СМЭВ на наш ответ",
        R::AckedToSmev => "подтверждено СМЭВ",
        R::RetryAfter(code) => {
            return format!(
                "повтор после ошибки: {} ({code})",
                messages::error_code_ru(&code)
            )
        }
        R::SmevStatus(s) => return format!("статус СМЭВ: {s}"),
        R::ReprocessFailed(s) => return format!("повторная обработка не удалась: {s}"),
        R::ProviderStatus { code, description } => {
            return format!("статус от поставщика: {code}: {description}")
        }
        R::ResponseFault(code) => {
            return format!(
                "ошибка отправки ответа: {} ({code})",
                messages::error_code_ru(&code)
            )
        }
        R::Assigned(login) if login.is_empty() => "исполнитель снят",
        R::Assigned(login) => return format!("назначен исполнитель: {login}"),
        R::Failed(text) | R::Other(text) => return text,
    };
    fixed.to_string()
}

/// Who did something, as staff read it.
pub fn actor_ru(a: &str) -> String {
    if let Some(l) = a.strip_prefix("user:") {
        format!("пользователь {l}")
    } else if let Some(s) = a.strip_prefix("system:") {
        format!("система {s}")
    } else {
        match a {
            "engine" => "шлюз".into(),
            "smev" => "СМЭВ".into(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn every_template_compiles() {
        let env = environment(crate::calendar::moscow());
        for (name, _) in TEMPLATES {
            env.get_template(name)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }

    #[test]
    fn html_is_escaped() {
        let env = environment(crate::calendar::moscow());
        let html = env
            .get_template("error.html")
            .unwrap()
            .render(context! {
                title => "Ошибка",
                message => "<script>alert(1)</script> & \"x\"",
                details => vec!["<b>строка</b>"],
                code => 400,
            })
            .unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<b>строка</b>"));
        assert!(html.contains("lang=\"ru\""));
    }

    #[test]
    fn filters() {
        let tz = crate::calendar::moscow();
        assert_eq!(
            format_dt(&Value::from("2026-11-26T09:05:00Z"), tz),
            "26.11.2026 12:05"
        );
        assert_eq!(format_dt(&Value::from(()), tz), "—");
        assert_eq!(url_encode("2026/1 а"), "2026%2F1%20%D0%B0");
        assert_eq!(file_size(10), "10 байт");
        assert_eq!(file_size(2048), "2,0 КБ");
        assert_eq!(file_size(3 * 1024 * 1024), "3,0 МБ");
        assert_eq!(actor_ru("user:ivanova"), "пользователь ivanova");
        assert_eq!(
            reason_ru("operator retry"),
            "повторная отправка по решению сотрудника"
        );
        assert!(reason_ru("retry after transport.connect").contains("Нет соединения"));
        assert_eq!(reason_ru("something new"), "something new");
        assert_eq!(
            incoming_event_ru("received → responding: answer posted"),
            "«Получен, ожидает ответа» → «Ответ отправляется»: ответ подготовлен"
        );
        let env = environment(tz);
        let out = env
            .render_str(
                "{{ 'sent'|state_label }}|{{ 'transport.connect'|error_ru }}|{{ 'NO_DATA'|rejection_ru }}",
                context! {},
            )
            .unwrap();
        assert_eq!(
            out,
            "Ожидает ответа|Нет соединения со СМЭВ|Сведения отсутствуют"
        );
    }

    #[test]
    fn json_values() {
        let v = from_json(&serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": -3}}));
        let env = Environment::new();
        let out = env
            .render_str("{{ v.a[0] }} {{ v.a[1] }} {{ v.a[2] }} {{ v.a[3] is none }} {{ v.a[4] }} {{ v.b.c }}", context! { v })
            .unwrap();
        assert_eq!(out.to_lowercase(), "1 2.5 x true true -3");
    }
}
