//! Why a record changed: a typed vocabulary of history reasons. Each reason has a stable
//! machine-readable code (the public API's `reason.code`) and today's English text, which is
//! what the store keeps — so records written before the type existed decode into the same
//! reasons, and the UI translates the typed value instead of matching sentences.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A history or audit reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A request was accepted from an agency system or a person.
    Accepted,
    /// The sender claimed the request.
    Sending,
    /// The signed SendRequest was stored before sending.
    Signed,
    /// SMEV accepted the SendRequest.
    AcceptedBySmev,
    /// SMEV answered `MessageIsAlreadySent`: an earlier attempt landed.
    AlreadySent,
    /// A temporary failure; the request is due again later (the error code).
    RetryAfter(String),
    /// `StaleMessageId`: the request is resent under a new MessageID.
    NewMessageId,
    /// A permanent failure (its message).
    Failed(String),
    /// The provider's business answer arrived.
    AnswerReceived,
    /// The provider or SMEV rejected the request.
    Rejected,
    /// An intermediate status from the provider.
    ProviderStatus { code: i32, description: String },
    /// A status from SMEV (its category).
    SmevStatus(String),
    /// SMEV answered something else to a response we sent.
    AnswerToOurResponse,
    /// The official's ЭП-СП was verified and attached.
    PersonalSignatureAccepted,
    /// An operator sent a failed, rejected or expired request again.
    OperatorRetry,
    /// An operator cancelled the request.
    Cancelled,
    /// No answer within the legal deadline.
    Expired,
    /// The gateway restarted with the record mid-send.
    Recovered,
    /// A request of another agency arrived (provider role).
    Received,
    /// The agency system posted its answer to an incoming request.
    AnswerPosted,
    /// The responder claimed the answer.
    SendingResponse,
    /// The signed SendResponse was stored before sending.
    ResponseSigned,
    /// SMEV accepted the SendResponse.
    ResponseAccepted,
    /// SendResponse failed (the error code).
    ResponseFault(String),
    /// SMEV took the Ack of a dead letter.
    AckedToSmev,
    /// An operator acknowledged (accepted=false) and closed a dead letter.
    AckAndClose,
    /// An operator had a dead letter processed again, successfully.
    Reprocessed,
    /// Reprocessing a dead letter failed again (why).
    ReprocessFailed(String),
    /// The executor was assigned (their login; empty: nobody).
    Assigned(String),
    /// Any other text (older records, free-form notes).
    Other(String),
}

/// Reasons with a fixed text, with their codes.
const FIXED: &[(Reason, &str, &str)] = &[
    (Reason::Accepted, "accepted", "request accepted"),
    (Reason::Sending, "sending", "sending to SMEV"),
    (Reason::Signed, "signed", "signed SendRequest prepared"),
    (
        Reason::AcceptedBySmev,
        "accepted_by_smev",
        "accepted by SMEV",
    ),
    (
        Reason::AlreadySent,
        "already_sent",
        "MessageIsAlreadySent: an earlier attempt landed",
    ),
    (
        Reason::NewMessageId,
        "new_message_id",
        "StaleMessageId: new MessageID",
    ),
    (Reason::AnswerReceived, "answer_received", "answer received"),
    (Reason::Rejected, "rejected", "rejected"),
    (
        Reason::AnswerToOurResponse,
        "answer_to_our_response",
        "answer to our response",
    ),
    (
        Reason::PersonalSignatureAccepted,
        "personal_signature_accepted",
        "personal signature (ЭП-СП) accepted",
    ),
    (Reason::OperatorRetry, "operator_retry", "operator retry"),
    (Reason::Cancelled, "cancelled", "cancelled by the operator"),
    (
        Reason::Expired,
        "expired",
        "no answer within the legal deadline",
    ),
    (Reason::Recovered, "recovered", "recovery after restart"),
    (Reason::Received, "received", "received"),
    (Reason::AnswerPosted, "answer_posted", "answer posted"),
    (
        Reason::SendingResponse,
        "sending_response",
        "sending the response",
    ),
    (
        Reason::ResponseSigned,
        "response_signed",
        "signed SendResponse prepared",
    ),
    (
        Reason::ResponseAccepted,
        "response_accepted",
        "response accepted by SMEV",
    ),
    (Reason::AckedToSmev, "acked_to_smev", "acknowledged to SMEV"),
    (Reason::AckAndClose, "ack_and_close", "ack_and_close"),
    (Reason::Reprocessed, "reprocessed", "reprocess"),
];

const RETRY_AFTER: &str = "retry after ";
const PROVIDER_STATUS: &str = "provider status ";
const SMEV_STATUS: &str = "SMEV status ";
const RESPONSE_FAULT: &str = "SendResponse: ";
const REPROCESS_FAILED: &str = "reprocess failed: ";
const ASSIGNED: &str = "executor assigned: ";

impl Reason {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::RetryAfter(_) => "retry_after",
            Reason::Failed(_) => "failed",
            Reason::ProviderStatus { .. } => "provider_status",
            Reason::SmevStatus(_) => "smev_status",
            Reason::ResponseFault(_) => "response_fault",
            Reason::ReprocessFailed(_) => "reprocess_failed",
            Reason::Assigned(_) => "assigned",
            Reason::Other(_) => "other",
            fixed => FIXED
                .iter()
                .find(|(r, _, _)| r == fixed)
                .map(|(_, code, _)| *code)
                .unwrap_or("other"),
        }
    }

    /// The English text, exactly as stored.
    pub fn text(&self) -> String {
        match self {
            Reason::RetryAfter(code) => format!("{RETRY_AFTER}{code}"),
            Reason::Failed(message) => message.clone(),
            Reason::ProviderStatus { code, description } => {
                format!("{PROVIDER_STATUS}{code}: {description}")
            }
            Reason::SmevStatus(s) => format!("{SMEV_STATUS}{s}"),
            Reason::ResponseFault(code) => format!("{RESPONSE_FAULT}{code}"),
            Reason::ReprocessFailed(why) => format!("{REPROCESS_FAILED}{why}"),
            Reason::Assigned(login) => format!("{ASSIGNED}{login}"),
            Reason::Other(text) => text.clone(),
            fixed => FIXED
                .iter()
                .find(|(r, _, _)| r == fixed)
                .map(|(_, _, text)| text.to_string())
                .unwrap_or_default(),
        }
    }

    /// Reads a stored text back into its reason; unknown texts are [`Reason::Other`] (a
    /// failure's message cannot be told from a note without its context: see
    /// [`super::history::Transition`]).
    pub fn parse(text: &str) -> Reason {
        if let Some((r, _, _)) = FIXED.iter().find(|(_, _, t)| *t == text) {
            return r.clone();
        }
        if let Some(code) = text.strip_prefix(RETRY_AFTER) {
            return Reason::RetryAfter(code.to_string());
        }
        if let Some(rest) = text.strip_prefix(PROVIDER_STATUS) {
            if let Some((code, description)) = rest.split_once(": ") {
                if let Ok(code) = code.parse() {
                    return Reason::ProviderStatus {
                        code,
                        description: description.to_string(),
                    };
                }
            }
        }
        if let Some(s) = text.strip_prefix(SMEV_STATUS) {
            return Reason::SmevStatus(s.to_string());
        }
        if let Some(code) = text.strip_prefix(RESPONSE_FAULT) {
            return Reason::ResponseFault(code.to_string());
        }
        if let Some(why) = text.strip_prefix(REPROCESS_FAILED) {
            return Reason::ReprocessFailed(why.to_string());
        }
        if let Some(login) = text.strip_prefix(ASSIGNED) {
            return Reason::Assigned(login.to_string());
        }
        Reason::Other(text.to_string())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Reason::parse(&String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Reason> {
        let mut all: Vec<Reason> = FIXED.iter().map(|(r, _, _)| r.clone()).collect();
        all.extend([
            Reason::RetryAfter("SMEV.transport".into()),
            Reason::Assigned("ivanova".into()),
            Reason::ProviderStatus {
                code: 3,
                description: "в работе: этап 2".into(),
            },
            Reason::SmevStatus("messageIsDelivered".into()),
            Reason::ResponseFault("InvalidContent".into()),
            Reason::ReprocessFailed("answer to an unknown MessageID x".into()),
            Reason::Other("a note".into()),
        ]);
        all
    }

    #[test]
    fn every_reason_reads_back_from_its_stored_text() {
        for r in every_kind() {
            assert_eq!(Reason::parse(&r.text()), r, "{}", r.text());
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), r);
        }
    }

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<&str> = every_kind().iter().map(Reason::code).collect();
        let n = codes.len();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), n);
    }

    #[test]
    fn the_openapi_document_lists_every_code() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../api/openapi.json")).unwrap();
        let documented: std::collections::BTreeSet<String> = doc["components"]["schemas"]["Reason"]
            ["properties"]["code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        // A failure's text is its message, so it reads back only with its state (history.rs).
        let failed = Reason::Failed("x".into());
        let made: std::collections::BTreeSet<String> = every_kind()
            .iter()
            .chain([&failed])
            .map(|r| r.code().to_string())
            .collect();
        assert_eq!(documented, made);
    }

    #[test]
    fn stored_texts_of_earlier_releases_are_recognised() {
        let cases = [
            ("request accepted", "accepted"),
            ("retry after SMEV.transport", "retry_after"),
            ("provider status 7: принято", "provider_status"),
            ("provider status x: y", "other"),
            ("SMEV status requestIsRejectedBySmev", "smev_status"),
            ("ack_and_close", "ack_and_close"),
            ("the certificate expired", "other"),
        ];
        for (text, code) in cases {
            assert_eq!(Reason::parse(text).code(), code, "{text}");
            assert_eq!(Reason::parse(text).text(), text);
        }
    }
}
