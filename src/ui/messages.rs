//! Russian texts for what the engine reports in English: refusals of [`IntakeError`], stored
//! error codes (SMEV faults, transport failures), rejection codes.

use axum::http::StatusCode;

use crate::engine::intake::IntakeError;
use crate::smev::model::RejectionReasonCode;
use crate::smev::SmevFaultKind;

/// A refusal for a person: a sentence, optional details (schema errors), an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
    pub details: Vec<String>,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }
}

fn what_ru(what: &str) -> &str {
    match what {
        "business XML" => "XML запроса",
        "attachments" => "вложений",
        _ => "данных",
    }
}

fn conflict_ru(m: &str) -> String {
    if m.contains("not awaiting a personal signature") {
        "Запрос уже не ожидает подписи ЭП-СП: вероятно, подпись уже принята. Обновите страницу."
            .into()
    } else if m.contains("can be retried") {
        "Повторить отправку можно только для запроса в статусе «Ошибка», «Отклонён» или «Срок истёк»."
            .into()
    } else if m.contains("already has an answer") {
        "На этот входящий запрос ответ уже дан.".into()
    } else if m.contains("dead letter is already") {
        "Это сообщение уже обработано.".into()
    } else if m.contains("being sent right now") {
        "Запрос отправляется прямо сейчас; повторите действие через минуту.".into()
    } else if let Some(rest) = m.strip_prefix("SMEV did not take the Ack: ") {
        format!("СМЭВ не принял подтверждение получения (Ack): {rest}")
    } else if let Some(rest) = m.strip_prefix("reprocessing failed again: ") {
        format!("Повторная обработка снова не удалась: {rest}")
    } else if m.contains("cannot go from") || m.contains("transition") {
        format!("Это действие невозможно в текущем статусе запроса ({m}).")
    } else {
        format!("Действие невозможно: состояние записи изменилось ({m}). Обновите страницу.")
    }
}

/// Why the official's signature of a file was refused, in Russian (None: not about a file).
fn file_signature_ru(m: &str) -> Option<String> {
    if let Some(rest) = m.strip_prefix("the signature of «") {
        let (name, why) = rest.split_once('»')?;
        return Some(if why.contains("another certificate") {
            format!("подпись вложения «{name}» сделана другим сертификатом, а не сертификатом ЭП-СП запроса; подпишите все файлы тем же сертификатом, что и запрос.")
        } else if why.contains("not a CMS") {
            format!("файл подписи вложения «{name}» не распознан: нужна отсоединённая подпись CMS/PKCS#7 (.sig, .p7s — DER, PEM или base64).")
        } else if why.contains("does not match the file") {
            format!("подпись вложения «{name}» не соответствует файлу: подписан другой файл, или файл подписи повреждён.")
        } else {
            format!(
                "подпись вложения «{name}» не принята ({}).",
                why.trim_start_matches(": ")
            )
        });
    }
    if m.contains("file(s) the official signs") {
        return Some("приложите подпись к каждому вложению запроса.".into());
    }
    if m.contains("not signed by the official") {
        return Some(
            "вложения этого запроса не подписываются должностным лицом; подписи файлов не нужны."
                .into(),
        );
    }
    None
}

/// Why a personal signature was refused, in Russian.
pub fn bad_signature_ru(m: &str) -> String {
    let reason = if let Some(r) = file_signature_ru(m) {
        r
    } else if m.contains("not valid PEM") {
        "файл сертификата не является корректным PEM.".to_string()
    } else if m.contains("neither PEM nor base64 DER") {
        "файл сертификата не распознан: нужен сертификат в формате PEM или DER.".to_string()
    } else if m.contains("not a valid X.509 certificate") {
        "файл не является сертификатом X.509.".to_string()
    } else if m.contains("unreadable public key") {
        "не удалось прочитать открытый ключ сертификата.".to_string()
    } else if m.contains("not a GOST R 34.10-2012 key") {
        "ключ сертификата не является ключом ГОСТ Р 34.10-2012.".to_string()
    } else if let Some(date) = m.strip_prefix("the certificate expired on ") {
        format!("срок действия сертификата истёк {date}.")
    } else if m.contains("not yet valid") {
        "срок действия сертификата ещё не начался.".to_string()
    } else if m.contains("signs attributes (CAdES)") {
        "файл подписи — CAdES с подписанными атрибутами (время подписи и т. п.): такая подпись \
         относится к атрибутам, а не к самим данным, и не может стать ЭП-СП. Подпишите кнопкой \
         «Подписать» через КриптоПро ЭЦП Browser plug-in на этой странице или создайте \
         отсоединённую подпись без подписанных атрибутов (например, openssl cms -sign -binary \
         -noattr -outform DER)."
            .to_string()
    } else if m.contains("neither a signature value nor a CMS") {
        "файл подписи не распознан: нужна отсоединённая подпись CMS/PKCS#7 (.sig, .p7s — DER, PEM \
         или base64) или значение подписи (двоичное, base64 или hex; 64 байта для ключа 256 бит, \
         128 — для 512 бит)."
            .to_string()
    } else if m.contains("signers; exactly one") {
        "в файле подписи несколько подписантов; нужна подпись одного должностного лица.".to_string()
    } else if m.contains("but not SignedData") {
        "файл CMS не содержит подписи (SignedData).".to_string()
    } else if let Some(detail) = m.strip_prefix("the CMS signature: ") {
        format!("файл подписи CMS/PKCS#7 повреждён или в неподдерживаемом виде ({detail}).")
    } else if m.contains("does not verify") {
        "подпись не соответствует подготовленным данным (SignedInfo) и ключу этого сертификата: \
         подписаны другие данные, выбран другой сертификат или файл подписи повреждён."
            .to_string()
    } else {
        format!("{m}.")
    };
    format!("Подпись ЭП-СП не принята: {reason}")
}

fn invalid_ru(m: &str) -> String {
    if m.contains("rejection reason must have") {
        "Причина отказа должна содержать от 1 до 4000 символов.".into()
    } else if m.contains("invalid file name") {
        "Недопустимое имя файла вложения.".into()
    } else if m.contains("MIME type") {
        "Недопустимый тип файла вложения.".into()
    } else if m.contains("client_id") {
        "Недопустимый идентификатор запроса клиента.".into()
    } else if m.contains("unknown algorithm") {
        "Неизвестный алгоритм подписи (ожидается ГОСТ Р 34.10-2012, 256 или 512 бит).".into()
    } else {
        format!("Данные не приняты: {m}.")
    }
}

/// The Russian refusal of an [`IntakeError`].
pub fn intake_error(e: &IntakeError) -> Refusal {
    use IntakeError::*;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match e {
        UnknownSystem(s) => Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("Информационная система «{s}» не настроена в шлюзе."),
        ),
        UnknownKind(k) => Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("Вид сведений «{k}» не настроен в шлюзе."),
        ),
        KindNotAllowed { system, kind } => Refusal::new(
            StatusCode::FORBIDDEN,
            format!("Вид сведений «{kind}» не разрешён информационной системе «{system}»."),
        ),
        InvalidXml(x) => Refusal::new(
            unprocessable,
            format!("XML составлен с ошибкой и не может быть прочитан: {x}."),
        ),
        InvalidContent(m) => Refusal::new(
            unprocessable,
            format!("Содержимое сообщения не принято: {m}."),
        ),
        WrongRoot {
            kind,
            expected,
            got,
        } => Refusal::new(
            unprocessable,
            format!(
                "Корневой элемент XML — {got}, а для вида сведений «{kind}» ожидается {expected}."
            ),
        ),
        SchemaViolation(errs) => Refusal {
            status: unprocessable,
            message: "XML не соответствует схеме (XSD) вида сведений. Исправьте ошибки:".into(),
            details: errs
                .0
                .iter()
                .map(|x| format!("строка {}, позиция {}: {}", x.line, x.column, x.message))
                .collect(),
        },
        TooLarge { what, size, limit } => Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Размер {} ({size} байт) превышает допустимый ({limit} байт).",
                what_ru(what)
            ),
        ),
        NotFound => Refusal::new(StatusCode::NOT_FOUND, "Запись не найдена."),
        Conflict(m) => Refusal::new(StatusCode::CONFLICT, conflict_ru(m)),
        BadSignature(m) => Refusal::new(unprocessable, bad_signature_ru(m)),
        Invalid(m) => Refusal::new(unprocessable, invalid_ru(m)),
        Signing(m) => Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Не удалось подписать сообщение: {m}. Обратитесь к администратору."),
        ),
        Store(m) => Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Ошибка хранилища шлюза: {m}. Обратитесь к администратору."),
        ),
    }
}

/// A stored error code (SMEV fault name, `transport.*`, …) in plain Russian.
pub fn error_code_ru(code: &str) -> String {
    let head = code.split('.').next().unwrap_or(code);
    if let Some(kind) = SmevFaultKind::from_element_name(head) {
        return kind.description_ru().to_string();
    }
    if let Some(status) = code.strip_prefix("transport.http_") {
        return format!("СМЭВ ответил ошибкой HTTP {status}");
    }
    match code {
        "transport.connect" => "Нет соединения со СМЭВ",
        "transport.timeout" => "СМЭВ не ответил за отведённое время",
        "transport.too_large" => "Ответ СМЭВ слишком большой",
        "transport.io" => "Ошибка передачи данных при обмене со СМЭВ",
        "transport.invalid_endpoint" => "Неверно настроен адрес СМЭВ",
        "smev.unexpected_answer" => "СМЭВ вернул неожиданный ответ",
        "smev.mtom" => "Ошибка разбора вложений (MTOM) в ответе СМЭВ",
        "signature" => "Ошибка электронной подписи",
        "xml" => "Ошибка разбора XML",
        "invalid_content" => "Содержимое сообщения не принято",
        "schema_violation" => "Сообщение не соответствует схеме",
        "attachment_too_large" => "Вложения превышают допустимый размер",
        "gateway.build" => "Шлюз не смог сформировать сообщение",
        "SMEV.async_rejection" => "СМЭВ отклонил сообщение при обработке",
        _ => "Ошибка при обмене со СМЭВ",
    }
    .to_string()
}

/// The class of a stored error in Russian.
pub fn error_class_ru(class: &str) -> &'static str {
    match class {
        "temporary" => "временная: шлюз повторит отправку автоматически",
        "slow_retry" => "временная: повтор отправки отложен",
        "already_sent" => "сообщение уже было отправлено",
        "new_message_id" => "отправка будет повторена с новым идентификатором",
        "already_acknowledged" => "сообщение уже подтверждено",
        "permanent" => "постоянная: нужен повтор вручную после исправления",
        _ => "",
    }
}

/// How a received attachment is tied to the signed message, in Russian.
pub fn integrity_ru(i: crate::smev::attachments::Integrity) -> &'static str {
    match i {
        crate::smev::attachments::Integrity::Verified => "подпись файла (PKCS#7) проверена",
        crate::smev::attachments::Integrity::Declared => {
            "указан в подписанном перечне вложений, без отдельной подписи файла"
        }
        crate::smev::attachments::Integrity::Hashed => {
            "получен из файлового хранилища СМЭВ, хеш совпал с подписанным заголовком"
        }
    }
}

/// What went wrong with a dead letter, in Russian (the stored reason stays as the detail).
pub fn dead_letter_reason_ru(reason: &str) -> &'static str {
    if reason.starts_with("file storage download keeps failing") {
        "Файлы сообщения не удаётся скачать из файлового хранилища СМЭВ. СМЭВ будет присылать сообщение снова, пока вы не решите: «Обработать повторно» — скачать ещё раз сейчас; «Подтвердить и закрыть» — отказаться (файлы будут потеряны)"
    } else if reason.starts_with("file storage:") {
        "Файл из файлового хранилища СМЭВ отклонён: он не совпадает с подписанным заголовком или нарушает ограничения"
    } else if reason.starts_with("signature check failed") {
        "Электронная подпись сообщения не прошла проверку"
    } else if reason.starts_with("attachment check failed") || reason.starts_with("attachment ") {
        "Вложения не совпадают с подписанным перечнем вложений (подмена или добавление в пути)"
    } else if reason.starts_with("oversize")
        || reason.contains("exceeds")
        || reason.contains("more than")
    {
        "Сообщение превышает допустимые размеры или ограничения разбора"
    } else if reason.starts_with("unparsable") {
        "Сообщение не удалось разобрать"
    } else if reason.contains("unknown MessageID") {
        "Ответ на неизвестный запрос (MessageID не найден)"
    } else if reason.contains("of another system") {
        "Ответ на запрос другой информационной системы"
    } else if reason.contains("which is already") {
        "Повторный окончательный ответ на уже завершённый запрос"
    } else {
        "Сообщение не удалось обработать"
    }
}

/// The SMEV queue a message came from, in Russian.
pub fn queue_ru(source: &str) -> &'static str {
    match source {
        "GetResponse" => "ответы (GetResponse)",
        "GetRequest" => "входящие запросы (GetRequest)",
        "GetStatus" => "статусы (GetStatus)",
        _ => "другая",
    }
}

/// A rejection code with its Russian meaning.
pub fn rejection_ru(code: RejectionReasonCode) -> &'static str {
    code.description_ru()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smev::schema::{SchemaError, SchemaErrors};

    #[test]
    fn every_variant_speaks_russian() {
        let cyrillic = |s: &str| {
            s.chars()
                .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)))
        };
        let errs = vec![
            IntakeError::UnknownSystem("x".into()),
            IntakeError::UnknownKind("k".into()),
            IntakeError::KindNotAllowed {
                system: "s".into(),
                kind: "k".into(),
            },
            IntakeError::InvalidContent("bad".into()),
            IntakeError::WrongRoot {
                kind: "k".into(),
                expected: "{urn:a}A".into(),
                got: "{urn:b}B".into(),
            },
            IntakeError::TooLarge {
                what: "business XML".into(),
                size: 10,
                limit: 5,
            },
            IntakeError::NotFound,
            IntakeError::Conflict(
                "only failed, rejected or expired requests can be retried; this one is sent".into(),
            ),
            IntakeError::BadSignature(
                "the signature does not verify over the prepared SignedInfo".into(),
            ),
            IntakeError::Invalid("the rejection reason must have 1 to 4000 characters".into()),
            IntakeError::Signing("x".into()),
            IntakeError::Store("x".into()),
        ];
        for e in &errs {
            let r = intake_error(e);
            assert!(cyrillic(&r.message), "{e:?} → {}", r.message);
        }
        assert_eq!(
            intake_error(&IntakeError::NotFound).status,
            StatusCode::NOT_FOUND
        );
        assert!(intake_error(&errs[7]).message.contains("«Ошибка»"));
        assert!(intake_error(&errs[8])
            .message
            .starts_with("Подпись ЭП-СП не принята"));
        assert!(intake_error(&errs[5]).message.contains("XML запроса"));
    }

    #[test]
    fn schema_violations_list_positions() {
        let e = IntakeError::SchemaViolation(SchemaErrors(vec![SchemaError {
            line: 3,
            column: 7,
            message: "Element 'INN': [facet 'length'] The value has a length of '3'".into(),
        }]));
        let r = intake_error(&e);
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.message.contains("схеме"));
        assert_eq!(r.details.len(), 1);
        assert!(r.details[0].starts_with("строка 3, позиция 7: Element 'INN'"));
    }

    #[test]
    fn signature_reasons() {
        assert!(
            bad_signature_ru("the certificate expired on 01.01.2020").contains("истёк 01.01.2020")
        );
        assert!(
            bad_signature_ru("the certificate is neither PEM nor base64 DER")
                .contains("PEM или DER")
        );
        assert!(
            bad_signature_ru("the certificate's key is not a GOST R 34.10-2012 key")
                .contains("ГОСТ")
        );
    }

    #[test]
    fn error_codes() {
        assert_eq!(
            error_code_ru("InvalidContent"),
            "Сообщение не соответствует схеме"
        );
        assert_eq!(
            error_code_ru("SignatureVerificationFault.CertificateIsExpired"),
            "Ошибка проверки электронной подписи"
        );
        assert_eq!(
            error_code_ru("transport.http_503"),
            "СМЭВ ответил ошибкой HTTP 503"
        );
        assert_eq!(error_code_ru("transport.connect"), "Нет соединения со СМЭВ");
        assert_eq!(error_code_ru("???"), "Ошибка при обмене со СМЭВ");
        assert!(error_class_ru("temporary").contains("автоматически"));
        assert_eq!(
            dead_letter_reason_ru("signature check failed: /Envelope/…"),
            "Электронная подпись сообщения не прошла проверку"
        );
        assert!(dead_letter_reason_ru("answer to an unknown MessageID x").contains("неизвестный"));
        assert_eq!(queue_ru("GetRequest"), "входящие запросы (GetRequest)");
        assert_eq!(
            rejection_ru(RejectionReasonCode::NoData),
            "Сведения отсутствуют"
        );
    }
}
