//! What a person does about a failure: for each SMEV fault, transport failure and provider's
//! refusal, plain Russian advice (who acts and how), and whether sending the same request again
//! can help — the UI offers «Повторить отправку» only where it can.

use crate::domain::{ErrorClass, ErrorInfo, RequestRecord, RequestState};
use crate::smev::model::RejectionReasonCode;
use crate::smev::SmevFaultKind;

/// Advice on one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Advice {
    /// What to do, in Russian.
    pub what_to_do: &'static str,
    /// Whether sending the same data again can succeed (now or once someone fixes a setting).
    pub retry_helps: bool,
}

const fn advice(what_to_do: &'static str, retry_helps: bool) -> Advice {
    Advice {
        what_to_do,
        retry_helps,
    }
}

const WAIT: Advice = advice(
    "Ничего делать не нужно: шлюз повторит отправку автоматически. Если ошибка держится дольше часа, сообщите администратору шлюза.",
    true,
);
const FIX_DATA: Advice = advice(
    "Исправьте данные запроса и создайте новый запрос: повторная отправка тех же данных даст ту же ошибку.",
    false,
);
const CALL_ADMIN: Advice = advice(
    "Сообщите администратору шлюза; после исправления настроек повторите отправку.",
    true,
);

/// Advice on a stored error (SMEV fault name or transport code, as in [`ErrorInfo::code`]).
pub(crate) fn for_error(e: &ErrorInfo) -> Advice {
    let head = e.code.split('.').next().unwrap_or(&e.code);
    if let Some(kind) = SmevFaultKind::from_element_name(head) {
        return for_fault(kind);
    }
    if let Some(status) = e.code.strip_prefix("transport.http_") {
        return match status.parse::<u16>() {
            Ok(s) if s >= 500 || s == 429 => WAIT,
            _ => CALL_ADMIN,
        };
    }
    match e.code.as_str() {
        "transport.connect" | "transport.timeout" | "transport.io" => WAIT,
        "transport.invalid_endpoint" => advice(
            "Администратору шлюза: исправить адрес СМЭВ (smev.endpoint) в настройках и перезапустить шлюз; затем повторите отправку.",
            true,
        ),
        "transport.too_large" | "smev.unexpected_answer" | "smev.mtom" => CALL_ADMIN,
        "schema_violation" | "invalid_content" | "xml" => FIX_DATA,
        "attachment_too_large" => advice(
            "Уменьшите вложения (сожмите сканы или разделите файлы) и создайте новый запрос.",
            false,
        ),
        "signature" | "gateway.build" => CALL_ADMIN,
        _ if e.class == ErrorClass::Temporary || e.class == ErrorClass::SlowRetry => WAIT,
        _ => CALL_ADMIN,
    }
}

fn for_fault(kind: SmevFaultKind) -> Advice {
    use SmevFaultKind::*;
    match kind {
        AccessDenied => advice(
            "Нашей информационной системе не открыт доступ к этому виду сведений. Администратору: подать заявку на доступ через технологический портал СМЭВ; после её исполнения повторите отправку.",
            true,
        ),
        PersonalAccessDenied => advice(
            "Сертификат ЭП-СП не допущен к этому виду сведений. Подпишите новый запрос сертификатом уполномоченного должностного лица или обратитесь к администратору.",
            false,
        ),
        SenderIsNotRegistered => advice(
            "СМЭВ не знает нашу информационную систему (мнемонику или сертификат ЭП-ОВ). Администратору: проверить регистрацию ИС и сертификата в СМЭВ; затем повторите отправку.",
            true,
        ),
        SignatureVerificationFault => advice(
            "СМЭВ не принял электронную подпись ведомства (ЭП-ОВ). Администратору: проверить срок действия и регистрацию сертификата; затем повторите отправку.",
            true,
        ),
        BusinessDataTypeIsNotSupported => advice(
            "Эта версия вида сведений не зарегистрирована в СМЭВ. Администратору: проверить версию схемы вида сведений в настройках; затем создайте новый запрос.",
            false,
        ),
        InvalidContent | IncorrectResponseContentType => FIX_DATA,
        AttachmentSizeLimitExceeded => advice(
            "Вложения больше допустимого размера. Уменьшите вложения и создайте новый запрос.",
            false,
        ),
        AttachmentContentMiscoordination => advice(
            "Вложения не совпали с их описанием. Повторите отправку; если ошибка повторится, сообщите администратору.",
            true,
        ),
        RecipientIsNotFound => CALL_ADMIN,
        EndOfLifeReached => advice(
            "Срок жизни сообщения в СМЭВ истёк. Повторите отправку: запрос уйдёт заново.",
            true,
        ),
        DestinationOverflow | QuoteLimitExceeded | SMEVFailure | StaleMessageId
        | MessageIsAlreadySent => WAIT,
        InvalidMessageIdFormat | RequestIsNotFound | TargetMessageIsNotFound
        | TransactionCodeInvalid | UnknownMessageType => CALL_ADMIN,
    }
}

/// Advice on a provider's refusal.
pub(crate) fn for_rejection(code: RejectionReasonCode) -> Advice {
    match code {
        RejectionReasonCode::NoData => advice(
            "Поставщик не нашёл сведений по этим данным. Проверьте данные запроса (ФИО, дату рождения, реквизиты документа): если в них ошибка, создайте новый запрос; если данные верны, это окончательный ответ — его можно сообщить заявителю.",
            false,
        ),
        RejectionReasonCode::UnknownRequestDescription => advice(
            "Данных запроса поставщику недостаточно, чтобы найти сведения. Уточните данные у заявителя и создайте новый запрос.",
            false,
        ),
        RejectionReasonCode::AccessDenied => advice(
            "Поставщик отказал нашей системе в доступе к сведениям. Сообщите администратору: вопрос решается с ведомством-поставщиком.",
            false,
        ),
        RejectionReasonCode::Failure => advice(
            "У поставщика произошла техническая ошибка. Повторите отправку позже.",
            true,
        ),
    }
}

/// Whether «Повторить отправку» can help `r`: a failure whose cause a retry can clear, a
/// refusal for a technical reason, or an expired request.
pub(crate) fn retry_helps(r: &RequestRecord) -> bool {
    match r.state {
        RequestState::Expired => true,
        RequestState::Rejected => {
            let codes: Vec<RejectionReasonCode> = r
                .answer
                .as_ref()
                .map(|a| a.rejections.iter().map(|x| x.code).collect())
                .unwrap_or_default();
            codes.is_empty() || codes.iter().all(|c| for_rejection(*c).retry_helps)
        }
        RequestState::Failed => {
            let fault = r.answer.as_ref().and_then(|a| a.smev_fault.as_ref());
            fault
                .or(r.last_error.as_ref())
                .is_none_or(|e| for_error(e).retry_helps)
        }
        _ => false,
    }
}

/// A stored technical message as a person may read it: markup of an HTML error page removed,
/// white space collapsed, cut to a few lines (the full text stays in the store and the API).
pub(crate) fn readable_detail(message: &str) -> String {
    const MAX_CHARS: usize = 300;
    let mut out = String::new();
    let mut in_tag = false;
    for c in message.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > MAX_CHARS {
        let cut: String = collapsed.chars().take(MAX_CHARS).collect();
        format!("{cut}…")
    } else {
        collapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn error(code: &str, class: ErrorClass) -> ErrorInfo {
        ErrorInfo {
            code: code.into(),
            message: String::new(),
            class,
            at: Utc::now(),
        }
    }

    #[test]
    fn retry_is_offered_only_where_it_can_help() {
        let cases = [
            ("transport.connect", ErrorClass::Temporary, true),
            ("transport.http_503", ErrorClass::Temporary, true),
            ("transport.http_404", ErrorClass::Permanent, true),
            ("InvalidContent", ErrorClass::Permanent, false),
            ("AccessDenied", ErrorClass::Permanent, true),
            ("PersonalAccessDenied", ErrorClass::Permanent, false),
            (
                "SignatureVerificationFault.CertificateIsExpired",
                ErrorClass::Permanent,
                true,
            ),
            ("schema_violation", ErrorClass::Permanent, false),
            ("attachment_too_large", ErrorClass::Permanent, false),
        ];
        for (code, class, helps) in cases {
            let a = for_error(&error(code, class));
            assert_eq!(a.retry_helps, helps, "{code}");
            assert!(!a.what_to_do.is_empty(), "{code}");
        }
        assert!(!for_rejection(RejectionReasonCode::NoData).retry_helps);
        assert!(for_rejection(RejectionReasonCode::Failure).retry_helps);
    }

    #[test]
    fn html_error_pages_become_one_readable_line() {
        let page = "<html><head><title>503 Service Unavailable</title></head>\n<body><h1>Service\n  Unavailable</h1></body></html>";
        assert_eq!(
            readable_detail(page),
            "503 Service Unavailable Service Unavailable"
        );
        let long = "x".repeat(1000);
        assert_eq!(readable_detail(&long).chars().count(), 301);
    }
}
