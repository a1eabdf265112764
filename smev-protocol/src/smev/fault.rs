//! SMEV faults as typed values, and the one table that says how the engine reacts to each —
//! as the faults schema's own documentation prescribes (retry, slow retry, treat as sent, new
//! MessageID, treat as acknowledged, or stop with the reason).

use serde::{Deserialize, Serialize};

/// Every fault element of the message-exchange 1.3 faults schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SmevFaultKind {
    AccessDenied,
    AttachmentContentMiscoordination,
    AttachmentSizeLimitExceeded,
    BusinessDataTypeIsNotSupported,
    DestinationOverflow,
    EndOfLifeReached,
    IncorrectResponseContentType,
    InvalidContent,
    InvalidMessageIdFormat,
    MessageIsAlreadySent,
    PersonalAccessDenied,
    QuoteLimitExceeded,
    RecipientIsNotFound,
    RequestIsNotFound,
    SenderIsNotRegistered,
    SignatureVerificationFault,
    SMEVFailure,
    StaleMessageId,
    TargetMessageIsNotFound,
    TransactionCodeInvalid,
    UnknownMessageType,
}

/// How the engine reacts to a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultClass {
    /// Retry with exponential backoff, without a limit on attempts.
    Temporary,
    /// Retry, but slowly: a quota has to free up first.
    SlowRetry,
    /// An earlier attempt with this MessageID landed: treat as sent.
    AlreadySent,
    /// The MessageID is too old: resend under a new one.
    NewMessageId,
    /// For Ack: nothing unacknowledged with this id remains, so it counts as acknowledged.
    AlreadyAcknowledged,
    /// Stop and show the reason.
    Permanent,
}

/// Sub-codes of `SignatureVerificationFault`.
pub const SIGNATURE_SUB_CODES: &[&str] = &[
    "PoorSOAPEnvelopeFormat",
    "NoSignatureFound",
    "IncorrectSignatureTarget",
    "SignatureIsInvalid",
    "CertificateIsNotFound",
    "CertificateIsExpired",
];

impl SmevFaultKind {
    /// All kinds.
    pub const ALL: &'static [SmevFaultKind] = &[
        SmevFaultKind::AccessDenied,
        SmevFaultKind::AttachmentContentMiscoordination,
        SmevFaultKind::AttachmentSizeLimitExceeded,
        SmevFaultKind::BusinessDataTypeIsNotSupported,
        SmevFaultKind::DestinationOverflow,
        SmevFaultKind::EndOfLifeReached,
        SmevFaultKind::IncorrectResponseContentType,
        SmevFaultKind::InvalidContent,
        SmevFaultKind::InvalidMessageIdFormat,
        SmevFaultKind::MessageIsAlreadySent,
        SmevFaultKind::PersonalAccessDenied,
        SmevFaultKind::QuoteLimitExceeded,
        SmevFaultKind::RecipientIsNotFound,
        SmevFaultKind::RequestIsNotFound,
        SmevFaultKind::SenderIsNotRegistered,
        SmevFaultKind::SignatureVerificationFault,
        SmevFaultKind::SMEVFailure,
        SmevFaultKind::StaleMessageId,
        SmevFaultKind::TargetMessageIsNotFound,
        SmevFaultKind::TransactionCodeInvalid,
        SmevFaultKind::UnknownMessageType,
    ];

    /// The element name in the faults namespace.
    pub fn element_name(self) -> &'static str {
        match self {
            SmevFaultKind::AccessDenied => "AccessDenied",
            SmevFaultKind::AttachmentContentMiscoordination => "AttachmentContentMiscoordination",
            SmevFaultKind::AttachmentSizeLimitExceeded => "AttachmentSizeLimitExceeded",
            SmevFaultKind::BusinessDataTypeIsNotSupported => "BusinessDataTypeIsNotSupported",
            SmevFaultKind::DestinationOverflow => "DestinationOverflow",
            SmevFaultKind::EndOfLifeReached => "EndOfLifeReached",
            SmevFaultKind::IncorrectResponseContentType => "IncorrectResponseContentType",
            SmevFaultKind::InvalidContent => "InvalidContent",
            SmevFaultKind::InvalidMessageIdFormat => "InvalidMessageIdFormat",
            SmevFaultKind::MessageIsAlreadySent => "MessageIsAlreadySent",
            SmevFaultKind::PersonalAccessDenied => "PersonalAccessDenied",
            SmevFaultKind::QuoteLimitExceeded => "QuoteLimitExceeded",
            SmevFaultKind::RecipientIsNotFound => "RecipientIsNotFound",
            SmevFaultKind::RequestIsNotFound => "RequestIsNotFound",
            SmevFaultKind::SenderIsNotRegistered => "SenderIsNotRegistered",
            SmevFaultKind::SignatureVerificationFault => "SignatureVerificationFault",
            SmevFaultKind::SMEVFailure => "SMEVFailure",
            SmevFaultKind::StaleMessageId => "StaleMessageId",
            SmevFaultKind::TargetMessageIsNotFound => "TargetMessageIsNotFound",
            SmevFaultKind::TransactionCodeInvalid => "TransactionCodeInvalid",
            SmevFaultKind::UnknownMessageType => "UnknownMessageType",
        }
    }

    /// Parses an element name.
    pub fn from_element_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.element_name() == name)
    }

    /// Whether the detail element is of type `basic:Void` (carries no Code/Description).
    pub fn is_void(self) -> bool {
        use SmevFaultKind::*;
        matches!(
            self,
            UnknownMessageType
                | MessageIsAlreadySent
                | InvalidMessageIdFormat
                | StaleMessageId
                | AttachmentContentMiscoordination
                | AccessDenied
                | SenderIsNotRegistered
                | SMEVFailure
                | IncorrectResponseContentType
                | RecipientIsNotFound
                | RequestIsNotFound
                | TargetMessageIsNotFound
        )
    }

    /// The engine's reaction, per the faults schema's documentation.
    pub fn class(self) -> FaultClass {
        use SmevFaultKind::*;
        match self {
            SMEVFailure | DestinationOverflow => FaultClass::Temporary,
            QuoteLimitExceeded => FaultClass::SlowRetry,
            MessageIsAlreadySent => FaultClass::AlreadySent,
            StaleMessageId => FaultClass::NewMessageId,
            TargetMessageIsNotFound => FaultClass::AlreadyAcknowledged,
            AccessDenied
            | AttachmentContentMiscoordination
            | AttachmentSizeLimitExceeded
            | BusinessDataTypeIsNotSupported
            | EndOfLifeReached
            | IncorrectResponseContentType
            | InvalidContent
            | InvalidMessageIdFormat
            | PersonalAccessDenied
            | RecipientIsNotFound
            | RequestIsNotFound
            | SenderIsNotRegistered
            | SignatureVerificationFault
            | TransactionCodeInvalid
            | UnknownMessageType => FaultClass::Permanent,
        }
    }

    /// What the fault means, in Russian, for the UI.
    pub fn description_ru(self) -> &'static str {
        use SmevFaultKind::*;
        match self {
            AccessDenied => "Доступ запрещён матрицей доступа СМЭВ",
            AttachmentContentMiscoordination => {
                "Заголовки вложений не соответствуют их содержимому"
            }
            AttachmentSizeLimitExceeded => "Превышен допустимый размер вложений",
            BusinessDataTypeIsNotSupported => "Вид сведений не зарегистрирован в СМЭВ",
            DestinationOverflow => "Очередь получателя переполнена",
            EndOfLifeReached => "Истёк срок жизни сообщения (EOL)",
            IncorrectResponseContentType => "Ответ содержит данные вида запроса",
            InvalidContent => "Сообщение не соответствует схеме",
            InvalidMessageIdFormat => "Неверный формат идентификатора сообщения",
            MessageIsAlreadySent => "Сообщение с таким идентификатором уже отправлено",
            PersonalAccessDenied => "Доступ запрещён по сертификату ЭП-СП",
            QuoteLimitExceeded => "Исчерпана квота файлового хранилища получателя",
            RecipientIsNotFound => "Получатель не найден",
            RequestIsNotFound => "Запрос не найден",
            SenderIsNotRegistered => {
                "Информационная система отправителя не зарегистрирована в СМЭВ"
            }
            SignatureVerificationFault => "Ошибка проверки электронной подписи",
            SMEVFailure => "Внутренняя ошибка СМЭВ",
            StaleMessageId => "Устаревший идентификатор сообщения",
            TargetMessageIsNotFound => "Подтверждаемое сообщение не найдено",
            TransactionCodeInvalid => "Неверный код транзакции",
            UnknownMessageType => "Неизвестный тип сообщения в селекторе",
        }
    }
}

impl std::fmt::Display for SmevFaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.element_name())
    }
}

/// A fault SMEV answered with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmevFault {
    /// The detail element; `None` when the SOAP fault carried no SMEV detail.
    pub kind: Option<SmevFaultKind>,
    /// SOAP `faultcode`.
    pub fault_code: String,
    /// SOAP `faultstring`: SMEV's human-readable text.
    pub fault_string: String,
    /// `SmevFault/Code`.
    pub code: Option<String>,
    /// `SmevFault/Description`.
    pub description: Option<String>,
    /// Sub-code of SignatureVerificationFault (e.g. CertificateIsExpired).
    pub sub_code: Option<String>,
    /// Further detail fields (name, value), e.g. ValidationError texts or quota sizes.
    pub details: Vec<(String, String)>,
}

impl SmevFault {
    /// A fault of `kind` with a description.
    pub fn new(kind: SmevFaultKind, description: impl Into<String>) -> Self {
        let description = description.into();
        SmevFault {
            kind: Some(kind),
            fault_code: "soap:Server".into(),
            fault_string: description.clone(),
            code: None,
            description: Some(description),
            sub_code: None,
            details: Vec::new(),
        }
    }

    /// How the engine should react.
    pub fn class(&self) -> FaultClass {
        match self.kind {
            Some(k) => k.class(),
            // A SOAP fault without a SMEV detail: a server-side failure, retry.
            None if self.fault_code.ends_with("Server") => FaultClass::Temporary,
            None => FaultClass::Permanent,
        }
    }

    /// The stable code we store and show: the detail element name, with the sub-code.
    pub fn code_name(&self) -> String {
        match (self.kind, &self.sub_code) {
            (Some(k), Some(sub)) => format!("{k}.{sub}"),
            (Some(k), None) => k.to_string(),
            (None, _) => "SOAPFault".into(),
        }
    }
}

impl std::fmt::Display for SmevFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code_name())?;
        let text = self
            .description
            .as_deref()
            .filter(|d| !d.is_empty())
            .unwrap_or(&self.fault_string);
        if !text.is_empty() {
            // SMEV-side text: bounded and escaped before it reaches a log line or the UI.
            write!(f, ": {}", super::peer_text(text, 1000))?;
        }
        Ok(())
    }
}
