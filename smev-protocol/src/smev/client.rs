//! The SMEV operations as one object: build, sign with the information system's ЭП-ОВ, post,
//! parse. The engine calls this; it never builds SOAP itself.

use std::sync::Arc;

use chrono::{FixedOffset, Utc};

use crate::dsig::sign::{self, Placement};
use crate::dsig::Signer;

use super::build::{self, Outgoing};
use super::fault::FaultClass;
use super::model::*;
use super::parse;
use super::transport::SoapClient;
use super::SmevError;

/// A SMEV endpoint plus the ЭП-ОВ key that signs every call.
#[derive(Clone)]
pub struct SmevClient {
    soap: SoapClient,
    signer: Arc<dyn Signer>,
    node_id: Option<String>,
}

impl std::fmt::Debug for SmevClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmevClient")
            .field("soap", &self.soap)
            .finish()
    }
}

/// Signs the element `id` of an envelope with ЭП-ОВ (into `CallerInformationSystemSignature`).
pub fn sign_envelope(out: Outgoing, signer: &dyn Signer, id: &str) -> Result<Outgoing, SmevError> {
    let xml = sign::sign(&out.xml, id, signer, Placement::Auto)?;
    Ok(Outgoing { xml, ..out })
}

/// Now, in Moscow time as SMEV writes its timestamps.
pub fn now() -> chrono::DateTime<FixedOffset> {
    let msk = FixedOffset::east_opt(3 * 3600).unwrap_or_else(|| Utc.fix());
    Utc::now().with_timezone(&msk)
}

use chrono::Offset as _;

impl SmevClient {
    pub fn new(soap: SoapClient, signer: Arc<dyn Signer>, node_id: Option<String>) -> Self {
        SmevClient {
            soap,
            signer,
            node_id,
        }
    }

    /// The ЭП-ОВ signer.
    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &str {
        self.soap.endpoint()
    }

    /// Posts an already signed SendRequest (the engine stores the signed bytes first, then
    /// sends the same bytes on every attempt).
    pub async fn post_send_request(
        &self,
        signed: &Outgoing,
    ) -> Result<Received<MessageMetadata>, SmevError> {
        let answer = self.soap.call(signed).await?;
        crate::cpu::offload(|| parse::send_answer(&answer)).await
    }

    /// Posts an already signed SendResponse.
    pub async fn post_send_response(
        &self,
        signed: &Outgoing,
    ) -> Result<Received<MessageMetadata>, SmevError> {
        let answer = self.soap.call(signed).await?;
        crate::cpu::offload(|| parse::send_answer(&answer)).await
    }

    fn selector(&self, kind: Option<QualifiedName>) -> MessageTypeSelector {
        MessageTypeSelector {
            id: build::ID_CALLER.into(),
            kind,
            timestamp: now(),
            node_id: self.node_id.clone(),
        }
    }

    /// GetResponse (any kind) returning the raw answer envelope: the engine stores what it
    /// cannot parse instead of losing it.
    pub async fn get_response_raw(&self) -> Result<Vec<u8>, SmevError> {
        let out = sign_envelope(
            build::get_response(&self.selector(None)),
            self.signer.as_ref(),
            build::ID_CALLER,
        )?;
        self.soap.call(&out).await
    }

    /// GetRequest (any kind) returning the raw answer envelope.
    pub async fn get_request_raw(&self) -> Result<Vec<u8>, SmevError> {
        let out = sign_envelope(
            build::get_request(&self.selector(None)),
            self.signer.as_ref(),
            build::ID_CALLER,
        )?;
        self.soap.call(&out).await
    }

    /// GetStatus returning the raw answer envelope.
    pub async fn get_status_raw(&self) -> Result<Vec<u8>, SmevError> {
        let out = sign_envelope(
            build::get_status(build::ID_CALLER, &now()),
            self.signer.as_ref(),
            build::ID_CALLER,
        )?;
        self.soap.call(&out).await
    }

    /// GetResponse for a data kind (or any kind).
    pub async fn get_response(
        &self,
        kind: Option<QualifiedName>,
    ) -> Result<Received<Option<ResponseMessage>>, SmevError> {
        let out = sign_envelope(
            build::get_response(&self.selector(kind)),
            self.signer.as_ref(),
            build::ID_CALLER,
        )?;
        let answer = self.soap.call(&out).await?;
        crate::cpu::offload(|| parse::get_response_answer(&answer)).await
    }

    /// GetRequest for a data kind (or any kind).
    pub async fn get_request(
        &self,
        kind: Option<QualifiedName>,
    ) -> Result<Received<Option<RequestMessage>>, SmevError> {
        let out = sign_envelope(
            build::get_request(&self.selector(kind)),
            self.signer.as_ref(),
            build::ID_CALLER,
        )?;
        let answer = self.soap.call(&out).await?;
        crate::cpu::offload(|| parse::get_request_answer(&answer)).await
    }

    /// Ack of a received message. `TargetMessageIsNotFound` (already acknowledged) is success.
    pub async fn ack(&self, message_id: &str, accepted: bool) -> Result<(), SmevError> {
        let out = sign_envelope(
            build::ack(build::ID_CALLER, message_id, accepted),
            self.signer.as_ref(),
            build::ID_CALLER,
        )?;
        let result = match self.soap.call(&out).await {
            Ok(a) => crate::cpu::offload(|| parse::ack_answer(&a)).await,
            Err(e) => Err(e),
        };
        match result {
            Err(SmevError::Fault(f)) if f.class() == FaultClass::AlreadyAcknowledged => Ok(()),
            other => other,
        }
    }

    /// GetStatus: one message of the status queue, if any.
    pub async fn get_status(&self) -> Result<Received<Option<StatusMessage>>, SmevError> {
        let out = sign_envelope(
            build::get_status(build::ID_CALLER, &now()),
            self.signer.as_ref(),
            build::ID_CALLER,
        )?;
        let answer = self.soap.call(&out).await?;
        crate::cpu::offload(|| parse::get_status_answer(&answer)).await
    }
}
