//! Typed SMEV 3 messages (message-exchange 1.3). Business content travels as XML text (the
//! business root element, standalone); signatures travel as the raw `ds:Signature` XML so they
//! stay verifiable byte for byte.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::fault::SmevFault;

/// `MessageTypeSelector`: which queue entries GetRequest/GetResponse take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageTypeSelector {
    /// `Id` of the signed element.
    pub id: String,
    /// NamespaceURI + RootElementLocalName of the data kind; both or neither.
    pub kind: Option<QualifiedName>,
    pub timestamp: DateTime<FixedOffset>,
    pub node_id: Option<String>,
}

/// A qualified element name: the SMEV routing key of a data kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QualifiedName {
    pub namespace: String,
    pub local_name: String,
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{{}}}{}", self.namespace, self.local_name)
    }
}

/// `AttachmentHeader` (inside the signed data) of an MTOM attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentHeader {
    pub content_id: String,
    pub mime_type: String,
    /// Detached PKCS#7 signature of the file (DER).
    pub signature_pkcs7: Option<Vec<u8>>,
}

/// `AttachmentContent` (outside the signed data): the bytes of an MTOM attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentContent {
    pub id: String,
    #[serde(with = "serde_bytes_b64")]
    pub content: Vec<u8>,
}

/// `RefAttachmentHeader`: a file in SMEV's file storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefAttachmentHeader {
    /// The upload directory (a UUID v1).
    pub uuid: String,
    pub file_name: Option<String>,
    /// GOST R 34.11-2012 digest of the file.
    pub hash: Vec<u8>,
    pub mime_type: String,
    pub signature_pkcs7: Option<Vec<u8>>,
}

/// `FSAttachment`: where to download a file-storage attachment of a received message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsAttachment {
    pub uuid: String,
    pub user_name: String,
    pub password: String,
    pub file_name: String,
}

/// `SenderProvidedRequestData`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderProvidedRequestData {
    pub id: String,
    pub message_id: String,
    pub reference_message_id: Option<String>,
    pub transaction_code: Option<String>,
    pub node_id: Option<String>,
    pub eol: Option<DateTime<FixedOffset>>,
    /// The business root element (standalone XML).
    pub content: String,
    /// The ЭП-СП `ds:Signature` XML, if any.
    pub personal_signature: Option<String>,
    pub attachment_headers: Vec<AttachmentHeader>,
    pub ref_attachment_headers: Vec<RefAttachmentHeader>,
    pub test_message: bool,
}

/// `RejectionReasonCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectionReasonCode {
    #[serde(rename = "ACCESS_DENIED")]
    AccessDenied,
    #[serde(rename = "NO_DATA")]
    NoData,
    #[serde(rename = "UNKNOWN_REQUEST_DESCRIPTION")]
    UnknownRequestDescription,
    #[serde(rename = "FAILURE")]
    Failure,
}

impl RejectionReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionReasonCode::AccessDenied => "ACCESS_DENIED",
            RejectionReasonCode::NoData => "NO_DATA",
            RejectionReasonCode::UnknownRequestDescription => "UNKNOWN_REQUEST_DESCRIPTION",
            RejectionReasonCode::Failure => "FAILURE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ACCESS_DENIED" => Some(RejectionReasonCode::AccessDenied),
            "NO_DATA" => Some(RejectionReasonCode::NoData),
            "UNKNOWN_REQUEST_DESCRIPTION" => Some(RejectionReasonCode::UnknownRequestDescription),
            "FAILURE" => Some(RejectionReasonCode::Failure),
            _ => None,
        }
    }

    /// Russian text for the UI.
    pub fn description_ru(self) -> &'static str {
        match self {
            RejectionReasonCode::AccessDenied => "Нет прав на получение сведений",
            RejectionReasonCode::NoData => "Сведения отсутствуют",
            RejectionReasonCode::UnknownRequestDescription => {
                "Недостаточно данных для идентификации объекта запроса"
            }
            RejectionReasonCode::Failure => "Ошибка при обработке запроса",
        }
    }
}

/// One `RequestRejected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub code: RejectionReasonCode,
    pub description: String,
}

/// `RequestStatus`: an intermediate business status from the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStatus {
    pub code: i32,
    pub parameters: Vec<(String, String)>,
    pub description: String,
}

/// `InteractionStatusType`. Unknown values are kept, never an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InteractionStatus {
    DoesNotExist,
    RequestIsQueued,
    RequestIsAcceptedBySmev,
    RequestIsRejectedBySmev,
    RequestIsProcessed,
    UnderProcessing,
    ResponseIsQueued,
    ResponseIsAcceptedBySmev,
    ResponseIsRejectedBySmev,
    ResponseIsProcessed,
    ResponseIsDelivered,
    Cancelled,
    MessageIsArchived,
    MessageIsDelivered,
    Other(String),
}

impl InteractionStatus {
    const NAMES: &'static [(&'static str, InteractionStatus)] = &[
        ("doesNotExist", InteractionStatus::DoesNotExist),
        ("requestIsQueued", InteractionStatus::RequestIsQueued),
        (
            "requestIsAcceptedBySmev",
            InteractionStatus::RequestIsAcceptedBySmev,
        ),
        (
            "requestIsRejectedBySmev",
            InteractionStatus::RequestIsRejectedBySmev,
        ),
        ("requestIsProcessed", InteractionStatus::RequestIsProcessed),
        ("underProcessing", InteractionStatus::UnderProcessing),
        ("responseIsQueued", InteractionStatus::ResponseIsQueued),
        (
            "responseIsAcceptedBySmev",
            InteractionStatus::ResponseIsAcceptedBySmev,
        ),
        (
            "responseIsRejectedBySmev",
            InteractionStatus::ResponseIsRejectedBySmev,
        ),
        (
            "responseIsProcessed",
            InteractionStatus::ResponseIsProcessed,
        ),
        (
            "responseIsDelivered",
            InteractionStatus::ResponseIsDelivered,
        ),
        ("cancelled", InteractionStatus::Cancelled),
        ("messageIsArchived", InteractionStatus::MessageIsArchived),
        ("messageIsDelivered", InteractionStatus::MessageIsDelivered),
    ];

    pub fn parse(s: &str) -> Self {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| InteractionStatus::Other(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            InteractionStatus::Other(s) => s,
            known => Self::NAMES
                .iter()
                .find(|(_, v)| v == known)
                .map(|(n, _)| *n)
                .unwrap_or("unknown"),
        }
    }

    /// Whether SMEV rejected the message.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            InteractionStatus::RequestIsRejectedBySmev
                | InteractionStatus::ResponseIsRejectedBySmev
        )
    }
}

/// `AsyncProcessingStatus`: SMEV's own verdict on a message sent earlier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncProcessingStatus {
    pub original_message_id: String,
    pub category: InteractionStatus,
    pub details: Option<String>,
    pub fault: Option<SmevFault>,
}

/// The content of `SenderProvidedResponseData`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseContent {
    /// A business answer.
    Primary {
        content: String,
        personal_signature: Option<String>,
        attachment_headers: Vec<AttachmentHeader>,
        ref_attachment_headers: Vec<RefAttachmentHeader>,
    },
    Rejected(Vec<Rejection>),
    Status(RequestStatus),
    /// Only SMEV itself sends this.
    AsyncProcessingStatus(AsyncProcessingStatus),
}

/// `SenderProvidedResponseData`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderProvidedResponseData {
    pub id: String,
    pub message_id: String,
    /// Copy of the request's ReplyTo.
    pub to: String,
    pub content: ResponseContent,
}

/// Sender or recipient in `MessageMetadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub mnemonic: Option<String>,
    pub human_readable_name: Option<String>,
}

/// `MessageMetadata` as SMEV fills it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMetadata {
    pub id: Option<String>,
    pub message_id: Option<String>,
    pub message_type: Option<String>,
    pub sender: Option<Participant>,
    pub sending_timestamp: Option<DateTime<FixedOffset>>,
    pub recipient: Option<Participant>,
    pub delivery_timestamp: Option<DateTime<FixedOffset>>,
    pub status: Option<InteractionStatus>,
}

/// `GetResponseResponse/ResponseMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseMessage {
    pub original_message_id: Option<String>,
    pub original_transaction_code: Option<String>,
    pub reference_message_id: Option<String>,
    pub data: SenderProvidedResponseData,
    pub metadata: MessageMetadata,
    pub fs_attachments: Vec<FsAttachment>,
    pub attachments: Vec<AttachmentContent>,
}

impl ResponseMessage {
    /// The id to Ack: MessageMetadata/MessageId, else the sender's MessageID.
    pub fn ack_id(&self) -> &str {
        self.metadata
            .message_id
            .as_deref()
            .unwrap_or(&self.data.message_id)
    }
}

/// `GetRequestResponse/RequestMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMessage {
    pub data: SenderProvidedRequestData,
    pub metadata: MessageMetadata,
    pub fs_attachments: Vec<FsAttachment>,
    pub reply_to: Option<String>,
    pub attachments: Vec<AttachmentContent>,
}

impl RequestMessage {
    /// The id to Ack.
    pub fn ack_id(&self) -> &str {
        self.metadata
            .message_id
            .as_deref()
            .unwrap_or(&self.data.message_id)
    }
}

/// `GetStatusResponse/SmevAsyncProcessingMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMessage {
    pub status: AsyncProcessingStatus,
}

/// A received SMEV answer: the parsed value plus the exact bytes it came in, so every signature
/// in it can be verified again later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received<T> {
    pub value: T,
    /// The SOAP envelope (root part) as received, XOP includes resolved.
    pub envelope: Vec<u8>,
}

mod serde_bytes_b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}
