//! mock-smev as a separate process, driven by the gateway's own SMEV client: the consumer and
//! provider round trips, acknowledgement and redelivery, every strict check with the exact SMEV
//! fault, every injected fault with the retry class the gateway derives from it, and the admin
//! API.

mod common;

use std::time::Duration;

use common::*;
use smev_protocol::smev::build::{self, AttachmentMode};
use smev_protocol::smev::client::sign_envelope;
use smev_protocol::smev::model::*;
use smev_protocol::smev::transport::TransportError;
use smev_protocol::smev::{parse, FaultClass, MessageId, SmevError, SmevFaultKind};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn request_answer_with_mtom_pdf_ack_and_empty_queue() {
    let mock = Mock::start();
    let client = mock.client();
    // A request with an attachment, sent as MTOM.
    let mut data = request_data(&tax_request("7701000122"));
    data.attachment_headers.push(AttachmentHeader {
        content_id: "scan".into(),
        mime_type: "image/png".into(),
        signature_pkcs7: None,
    });
    let png = std::fs::read(workspace().join("mock-smev/samples/sample.png")).unwrap();
    let out = sign_envelope(
        build::send_request(
            &data,
            &[AttachmentContent {
                id: "scan".into(),
                content: png,
            }],
            AttachmentMode::Xop,
            false,
        ),
        signer("ov").as_ref(),
        build::ID_CONSUMER,
    )
    .unwrap();
    assert!(!out.parts.is_empty(), "sent as multipart/related");
    let meta = client.post_send_request(&out).await.unwrap();
    assert_eq!(
        meta.value.message_id.as_deref(),
        Some(data.message_id.as_str())
    );
    assert_eq!(meta.value.status, Some(InteractionStatus::RequestIsQueued));
    // ЭП-СМЭВ over MessageMetadata, by SMEV's own certificate.
    let sigs = signatures(&meta.envelope);
    assert_eq!(sigs.len(), 1);
    assert!(sigs[0].valid, "{:?}", sigs[0].causes);
    assert!(sigs[0]
        .certificate
        .as_ref()
        .unwrap()
        .subject
        .contains("ТСМЭВ 3"));
    driver().validate(&meta.envelope).unwrap();

    let got = poll_response(&client, None, WAIT).await;
    let msg = got.value.clone().expect("an answer");
    assert_eq!(
        msg.original_message_id.as_deref(),
        Some(data.message_id.as_str())
    );
    let ResponseContent::Primary {
        content,
        attachment_headers,
        ..
    } = &msg.data.content
    else {
        panic!("{msg:?}")
    };
    assert!(
        content.contains("<td:RequestID>R-7701000122</td:RequestID>"),
        "{content}"
    );
    assert!(
        content.contains("<td:HasDebt>true</td:HasDebt>"),
        "{content}"
    );
    assert_eq!(attachment_headers[0].mime_type, "application/pdf");
    // The PDF came as an MTOM part and was resolved by the client.
    let pdf = std::fs::read(workspace().join("mock-smev/samples/sample.pdf")).unwrap();
    assert_eq!(msg.attachments[0].content, pdf);
    // Both the provider's ЭП-ОВ and ЭП-СМЭВ verify against the test CA.
    let sigs = signatures(&got.envelope);
    assert_eq!(sigs.len(), 2);
    assert!(sigs.iter().all(|s| s.valid), "{sigs:?}");
    assert!(sigs.iter().any(|s| s
        .location
        .ends_with("SenderInformationSystemSignature/Signature")
        && s.certificate.as_ref().unwrap().subject.contains("OU=FNS01")));
    assert!(sigs
        .iter()
        .any(|s| s.location.ends_with("SMEVSignature/Signature")));
    driver().validate(&got.envelope).unwrap();
    assert_eq!(
        msg.metadata.sender.as_ref().unwrap().mnemonic.as_deref(),
        Some("FNS01")
    );
    assert_eq!(
        msg.metadata.recipient.as_ref().unwrap().mnemonic.as_deref(),
        Some("SYSTEM1")
    );

    client.ack(msg.ack_id(), true).await.unwrap();
    assert!(client.get_response(None).await.unwrap().value.is_none());
    let c = mock.count(msg.ack_id());
    assert_eq!(
        (c["deliveries"].as_u64(), c["acks"].as_u64()),
        (Some(1), Some(1))
    );
    let c = mock.count(&data.message_id);
    assert_eq!(
        (c["sends"].as_u64(), c["accepted"].as_u64()),
        (Some(1), Some(1))
    );
    let stats = mock.get("/stats");
    assert_eq!(stats["queues"]["SYSTEM1"]["responses"]["ready"], 0);
    assert_eq!(stats["queues"]["SYSTEM1"]["responses"]["pending"], 0);
}

#[tokio::test]
async fn unacked_is_redelivered_acked_is_not() {
    let mock = Mock::start();
    let client = mock.client();
    let data = request_data(&tax_request("7701000122"));
    client
        .post_send_request(&signed_request(&data, "ov"))
        .await
        .unwrap();
    let first = poll_response(&client, None, WAIT).await.value.unwrap();
    // Pending: not delivered again before the timeout…
    assert!(client.get_response(None).await.unwrap().value.is_none());
    // …and delivered again after it (1 s in the test configuration).
    let again = poll_response(&client, None, WAIT)
        .await
        .value
        .expect("redelivered");
    assert_eq!(again.ack_id(), first.ack_id());
    assert_eq!(mock.count(first.ack_id())["deliveries"], 2);
    client.ack(again.ack_id(), true).await.unwrap();
    // Acknowledged: gone for good (nothing ready, nothing pending).
    let r = &mock.get("/stats")["queues"]["SYSTEM1"]["responses"];
    assert_eq!(
        (r["ready"].as_u64(), r["pending"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(client.get_response(None).await.unwrap().value.is_none());
}

#[tokio::test]
async fn ack_of_an_unknown_id_is_target_message_is_not_found() {
    let mock = Mock::start();
    let id = MessageId::new().to_string();
    let out = sign_envelope(
        build::ack(build::ID_CALLER, &id, true),
        signer("ov").as_ref(),
        build::ID_CALLER,
    )
    .unwrap();
    let raw = mock.soap(WAIT).call(&out).await.unwrap();
    driver().validate(&raw).unwrap();
    let f = fault(parse::ack_answer(&raw));
    assert_eq!(f.kind, Some(SmevFaultKind::TargetMessageIsNotFound));
    assert_eq!(f.class(), FaultClass::AlreadyAcknowledged);
    // The gateway's client treats it as acknowledged.
    mock.client().ack(&id, true).await.unwrap();
    let log = mock.get("/messages?operation=Ack");
    assert_eq!(log.as_array().unwrap().len(), 2);
    assert!(log[0]["fault"]
        .as_str()
        .unwrap()
        .starts_with("TargetMessageIsNotFound"));
}

async fn send_fault(mock: &Mock, out: &build::Outgoing) -> smev_protocol::smev::SmevFault {
    let raw = mock.soap(WAIT).call(out).await.unwrap();
    driver()
        .validate(&raw)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&raw)));
    fault(parse::send_answer(&raw))
}

#[tokio::test]
async fn bad_signatures_are_signature_verification_faults() {
    let mock = Mock::start();
    let content = tax_request("7701000122");

    // Content changed after signing.
    let data = request_data(&content);
    let mut out = signed_request(&data, "ov");
    let text = String::from_utf8(out.xml.clone())
        .unwrap()
        .replace("R-7701000122", "R-tampered");
    out.xml = text.into_bytes();
    let f = send_fault(&mock, &out).await;
    assert_eq!(f.kind, Some(SmevFaultKind::SignatureVerificationFault));
    assert_eq!(f.sub_code.as_deref(), Some("SignatureIsInvalid"));
    assert_eq!(f.class(), FaultClass::Permanent);

    // No ЭП-ОВ at all.
    let data = request_data(&content);
    let mut out = build::send_request(&data, &[], AttachmentMode::Inline, false);
    out.xml = String::from_utf8(out.xml)
        .unwrap()
        .replace("<tns:CallerInformationSystemSignature/>", "")
        .into_bytes();
    let f = send_fault(&mock, &out).await;
    assert_eq!(f.sub_code.as_deref(), Some("NoSignatureFound"));

    // An expired certificate, a certificate not issued by the trusted CA.
    for (key, sub) in [
        ("expired", "CertificateIsExpired"),
        ("untrusted", "CertificateIsNotFound"),
    ] {
        let out = signed_request(&request_data(&content), key);
        let f = send_fault(&mock, &out).await;
        assert_eq!(
            f.kind,
            Some(SmevFaultKind::SignatureVerificationFault),
            "{key}"
        );
        assert_eq!(f.sub_code.as_deref(), Some(sub), "{key}: {f}");
    }

    // A selector signed with a tampered SignatureValue.
    let s = MessageTypeSelector {
        id: build::ID_CALLER.into(),
        kind: None,
        timestamp: smev_protocol::smev::client::now(),
        node_id: None,
    };
    let out = sign_envelope(
        build::get_response(&s),
        signer("ov").as_ref(),
        build::ID_CALLER,
    )
    .unwrap();
    let mut xml = out.xml.clone();
    let pos = xml
        .windows(15)
        .position(|w| w == b"SignatureValue>")
        .unwrap()
        + 15;
    xml[pos] = if xml[pos] == b'A' { b'B' } else { b'A' };
    let raw = mock
        .soap(WAIT)
        .call(&build::Outgoing { xml, ..out })
        .await
        .unwrap();
    let f = fault(parse::get_response_answer(&raw));
    assert_eq!(f.sub_code.as_deref(), Some("SignatureIsInvalid"));

    // The admin log shows why.
    let log = mock.get("/messages?operation=SendRequest");
    let first = &log[0]["verification"]["caller_signature"];
    assert_eq!(first["valid"], false);
    assert!(
        first["causes"][0]
            .as_str()
            .unwrap()
            .contains("content changed"),
        "{first}"
    );
}

#[tokio::test]
async fn personal_signature_is_checked() {
    let mock = Mock::start();
    let sign_both = |tamper: bool, sp_key: &str| {
        let (content, pid) = build::ensure_business_id(&tax_request("7701000122")).unwrap();
        let data = request_data(&content);
        let out = build::send_request(&data, &[], AttachmentMode::Inline, true);
        let mut out = sign_envelope(out, signer(sp_key).as_ref(), &pid).unwrap();
        if tamper {
            out.xml = String::from_utf8(out.xml)
                .unwrap()
                .replace("2026-11-01", "2026-11-02")
                .into_bytes();
        }
        sign_envelope(out, signer("ov").as_ref(), build::ID_CONSUMER).unwrap()
    };
    let ok = sign_both(false, "sp");
    mock.client().post_send_request(&ok).await.unwrap();
    let f = send_fault(&mock, &sign_both(true, "sp")).await;
    assert_eq!(
        (f.kind, f.sub_code.as_deref()),
        (
            Some(SmevFaultKind::SignatureVerificationFault),
            Some("SignatureIsInvalid")
        )
    );
    let f = send_fault(&mock, &sign_both(false, "expired")).await;
    assert_eq!(f.kind, Some(SmevFaultKind::PersonalAccessDenied), "{f}");
    let log = mock.get("/messages?operation=SendRequest&limit=1");
    assert_eq!(log[0]["verification"]["personal_signature"]["valid"], false);
}

#[tokio::test]
async fn schema_violations_are_invalid_content() {
    let mock = Mock::start();
    // Business content: INN of 11 digits.
    let data = request_data(&fixture("fns-tax-debt", "request-inn-length.invalid.xml"));
    let f = send_fault(&mock, &signed_request(&data, "ov")).await;
    assert_eq!(f.kind, Some(SmevFaultKind::InvalidContent));
    assert!(f
        .description
        .as_deref()
        .unwrap()
        .contains("не соответствуют схеме"));
    let errors: Vec<&str> = f
        .details
        .iter()
        .filter(|(k, _)| k == "ValidationError")
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(errors.iter().any(|e| e.contains("INN")), "{errors:?}");

    // The envelope: an element SMEV does not know, inside the signed data.
    let data = request_data(&tax_request("7701000122"));
    let mut out = build::send_request(&data, &[], AttachmentMode::Inline, false);
    out.xml = String::from_utf8(out.xml)
        .unwrap()
        .replace(
            "</tns:MessageID>",
            "</tns:MessageID><tns:Bogus>1</tns:Bogus>",
        )
        .into_bytes();
    let out = sign_envelope(out, signer("ov").as_ref(), build::ID_CONSUMER).unwrap();
    let f = send_fault(&mock, &out).await;
    assert_eq!(f.kind, Some(SmevFaultKind::InvalidContent));
    assert!(
        f.description
            .as_deref()
            .unwrap()
            .contains("бизнес-конверта"),
        "{f}"
    );
    assert!(f.details.iter().any(|(_, v)| v.contains("Bogus")), "{f:?}");

    // Not XML at all.
    let raw = mock
        .soap(WAIT)
        .call(&build::Outgoing {
            xml: b"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>".to_vec(),
            parts: vec![],
            action: "urn:SendRequest",
        })
        .await
        .unwrap();
    let f = fault(parse::send_answer(&raw));
    assert_eq!(f.kind, Some(SmevFaultKind::InvalidContent));
    assert!(f.details[0].1.contains("malformed"), "{f:?}");
}

#[tokio::test]
async fn message_id_format_staleness_and_duplicates() {
    let mock = Mock::start();
    let client = mock.client();
    let content = tax_request("7701000122");

    let mut data = request_data(&content);
    data.message_id = uuid::Uuid::new_v4().to_string();
    let f = send_fault(&mock, &signed_request(&data, "ov")).await;
    assert_eq!(f.kind, Some(SmevFaultKind::InvalidMessageIdFormat));

    let mut data = request_data(&content);
    data.message_id = MessageId::at(chrono::Utc::now() - chrono::Duration::days(3)).to_string();
    let f = fault(client.post_send_request(&signed_request(&data, "ov")).await);
    assert_eq!(f.kind, Some(SmevFaultKind::StaleMessageId));
    assert_eq!(f.class(), FaultClass::NewMessageId);

    let data = request_data(&content);
    let signed = signed_request(&data, "ov");
    client.post_send_request(&signed).await.unwrap();
    let f = fault(client.post_send_request(&signed).await);
    assert_eq!(f.kind, Some(SmevFaultKind::MessageIsAlreadySent));
    assert_eq!(f.class(), FaultClass::AlreadySent);
    let c = mock.count(&data.message_id);
    assert_eq!(
        (
            c["sends"].as_u64(),
            c["accepted"].as_u64(),
            c["faults"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    // The second send was a fault, not an injection: it is in the log with the fault.
    let log = mock.get(&format!("/messages?message_id={}", data.message_id));
    assert_eq!(
        log[1]["fault"].as_str().unwrap().split(':').next(),
        Some("MessageIsAlreadySent")
    );
}

#[tokio::test]
async fn unknown_kinds() {
    let mock = Mock::start();
    let data =
        request_data("<x:Unknown xmlns:x=\"urn://example/unknown/1.0\"><x:A>1</x:A></x:Unknown>");
    let f = send_fault(&mock, &signed_request(&data, "ov")).await;
    assert_eq!(f.kind, Some(SmevFaultKind::BusinessDataTypeIsNotSupported));
    assert!(f
        .details
        .contains(&("RootElementLocalName".into(), "Unknown".into())));
    // A response root is not a request.
    let data = request_data(&fixture("fns-tax-debt", "response-no-debt.valid.xml"));
    let f = send_fault(&mock, &signed_request(&data, "ov")).await;
    assert_eq!(f.kind, Some(SmevFaultKind::BusinessDataTypeIsNotSupported));
    // A selector for an unregistered kind.
    let f = fault(
        mock.client()
            .get_response(Some(qn("urn://example/unknown/1.0", "Unknown")))
            .await,
    );
    assert_eq!(f.kind, Some(SmevFaultKind::UnknownMessageType));
}

#[tokio::test]
async fn rules_reject_and_send_statuses_and_selectors_filter() {
    let mock = Mock::start();
    let client = mock.client();
    let rejected = request_data(&tax_request("0100000000"));
    client
        .post_send_request(&signed_request(&rejected, "ov"))
        .await
        .unwrap();
    let slow = request_data(&tax_request("0200000000"));
    client
        .post_send_request(&signed_request(&slow, "ov"))
        .await
        .unwrap();

    let msg = poll_response(&client, None, WAIT).await.value.unwrap();
    let ResponseContent::Rejected(r) = &msg.data.content else {
        panic!("{msg:?}")
    };
    assert_eq!(r[0].code, RejectionReasonCode::NoData);
    assert_eq!(r[0].description, "Нет сведений по ИНН 0100000000");
    client.ack(msg.ack_id(), true).await.unwrap();

    // The status arrives first, then (after 300 ms) the answer; selecting by the response root
    // works as well as by the request root.
    let status = poll_response(&client, Some(qn(TAX_NS, "TaxDebtResponse")), WAIT)
        .await
        .value
        .unwrap();
    assert!(matches!(
        status.data.content,
        ResponseContent::Status(RequestStatus { code: 1, .. })
    ));
    assert_eq!(
        status.original_message_id.as_deref(),
        Some(slow.message_id.as_str())
    );
    client.ack(status.ack_id(), true).await.unwrap();
    // Nothing of the marriage kind is queued for us.
    assert!(client
        .get_response(Some(qn(ZAGS_NS, "MarriageRecordRequest")))
        .await
        .unwrap()
        .value
        .is_none());
    let answer = poll_response(&client, Some(qn(TAX_NS, "TaxDebtRequest")), WAIT)
        .await
        .value
        .unwrap();
    assert!(matches!(
        answer.data.content,
        ResponseContent::Primary { .. }
    ));
    client.ack(answer.ack_id(), true).await.unwrap();
}

#[tokio::test]
async fn injected_faults_surface_with_their_class() {
    let mock = Mock::start();
    let client = mock.client();
    let content = tax_request("7701000122");

    // HTTP errors without SOAP, a dropped connection: temporary transport failures.
    for (fault, check) in [
        ("http_500", Some(500u16)),
        ("http_503", Some(503)),
        ("reset", None),
    ] {
        mock.post(
            "/faults",
            &format!(r#"{{"fault":"{fault}","operations":["SendRequest"],"count":1}}"#),
        );
        let err = client
            .post_send_request(&signed_request(&request_data(&content), "ov"))
            .await
            .unwrap_err();
        assert_eq!(err.class(), FaultClass::Temporary, "{fault}: {err}");
        match (check, &err) {
            (Some(code), SmevError::Transport(TransportError::Http { status, .. })) => {
                assert_eq!(*status, code)
            }
            (None, SmevError::Transport(TransportError::Io(_) | TransportError::Connect(_))) => {}
            _ => panic!("{fault}: {err:?}"),
        }
    }
    // Slow: beyond the client's timeout; the request was processed anyway, so the retry with
    // the same MessageID is "already sent".
    mock.post(
        "/faults",
        r#"{"fault":"slow","delay_ms":1500,"operations":["SendRequest"],"count":1}"#,
    );
    let data = request_data(&content);
    let signed = signed_request(&data, "ov");
    let impatient = mock.client_as("ov", Duration::from_millis(300));
    let err = impatient.post_send_request(&signed).await.unwrap_err();
    assert!(
        matches!(err, SmevError::Transport(TransportError::Timeout(_))),
        "{err:?}"
    );
    assert_eq!(err.class(), FaultClass::Temporary);
    let f = fault(client.post_send_request(&signed).await);
    assert_eq!(f.class(), FaultClass::AlreadySent);

    // Every SMEV fault of the faults schema, valid against it, with the class the engine uses.
    for kind in SmevFaultKind::ALL {
        mock.post(
            "/faults",
            &format!(r#"{{"fault":"{kind}","operations":["SendRequest"],"count":1}}"#),
        );
        let out = signed_request(&request_data(&content), "ov");
        let f = send_fault(&mock, &out).await;
        assert_eq!(f.kind, Some(*kind));
        assert_eq!(
            SmevError::Fault(Box::new(f)).class(),
            kind.class(),
            "{kind}"
        );
    }
    // The rules are exhausted: the next send goes through.
    client
        .post_send_request(&signed_request(&request_data(&content), "ov"))
        .await
        .unwrap();
    let stats = mock.get("/stats");
    assert_eq!(stats["operations"]["SendRequest"]["injected:http_503"], 1);
    assert_eq!(
        stats["operations"]["SendRequest"]["injected:DestinationOverflow"],
        1
    );

    // A rule by rate on another operation, switched off again.
    let ids = mock.post(
        "/faults",
        r#"{"fault":"SMEVFailure","operations":["GetResponse"],"rate":1.0}"#,
    );
    let f = fault(client.get_response(None).await);
    assert_eq!(
        (f.kind, f.class()),
        (Some(SmevFaultKind::SMEVFailure), FaultClass::Temporary)
    );
    let (status, _) = mock.admin("DELETE", &format!("/faults/{}", ids["ids"][0]), None);
    assert_eq!(status, 204);
    client.get_response(None).await.unwrap();
    let (status, _) = mock.admin("DELETE", "/faults", None);
    assert_eq!(status, 204);
    assert_eq!(mock.get("/faults").as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn corrupted_smev_signature_and_duplicate_delivery() {
    let mock = Mock::start();
    let client = mock.client();
    mock.post(
        "/faults",
        r#"[{"fault":"corrupt_signature","count":1},{"fault":"duplicate_delivery","count":1}]"#,
    );
    let data = request_data(&tax_request("7701000122"));
    client
        .post_send_request(&signed_request(&data, "ov"))
        .await
        .unwrap();
    let got = poll_response(&client, None, WAIT).await;
    let msg = got.value.unwrap();
    let sigs = signatures(&got.envelope);
    let smev = sigs
        .iter()
        .find(|s| s.location.ends_with("SMEVSignature/Signature"))
        .unwrap();
    let provider = sigs
        .iter()
        .find(|s| s.location.contains("SenderInformationSystemSignature"))
        .unwrap();
    assert!(!smev.valid, "ЭП-СМЭВ must fail");
    assert!(provider.valid, "{:?}", provider.causes);
    // The gateway acknowledges with accepted=false and gets the duplicate anyway.
    client.ack(msg.ack_id(), false).await.unwrap();
    let dup = poll_response(&client, None, WAIT).await;
    let dup_msg = dup.value.unwrap();
    assert_eq!(dup_msg.ack_id(), msg.ack_id());
    assert!(signatures(&dup.envelope).iter().all(|s| s.valid));
    client.ack(dup_msg.ack_id(), true).await.unwrap();
    assert!(client.get_response(None).await.unwrap().value.is_none());
    let c = mock.count(msg.ack_id());
    assert_eq!(
        (c["deliveries"].as_u64(), c["acks"].as_u64()),
        (Some(2), Some(2))
    );
}

#[tokio::test]
async fn async_rejection_arrives_through_get_response_and_get_status() {
    let mock = Mock::start();
    let client = mock.client();
    mock.post(
        "/faults",
        r#"{"fault":"async_rejection","count":1,"status_queue":true}"#,
    );
    let data = request_data(&tax_request("7701000122"));
    let meta = client
        .post_send_request(&signed_request(&data, "ov"))
        .await
        .unwrap();
    assert_eq!(meta.value.status, Some(InteractionStatus::RequestIsQueued));
    let got = poll_response(&client, None, WAIT).await;
    let msg = got.value.unwrap();
    let ResponseContent::AsyncProcessingStatus(s) = &msg.data.content else {
        panic!("{msg:?}")
    };
    assert_eq!(s.original_message_id, data.message_id);
    assert_eq!(s.category, InteractionStatus::RequestIsRejectedBySmev);
    let f = s.fault.as_ref().unwrap();
    assert_eq!(f.kind, Some(SmevFaultKind::InvalidContent));
    assert!(f
        .description
        .as_deref()
        .unwrap()
        .contains("не соответствуют схеме"));
    assert_eq!(msg.data.id, build::ID_ASYNC_SMEV);
    assert_eq!(
        msg.original_message_id.as_deref(),
        Some(data.message_id.as_str())
    );
    let sigs = signatures(&got.envelope);
    assert_eq!(sigs.len(), 2);
    assert!(sigs.iter().all(|s| s.valid), "{sigs:?}");
    driver().validate(&got.envelope).unwrap();
    client.ack(msg.ack_id(), true).await.unwrap();
    // No provider answer follows.
    assert!(client.get_response(None).await.unwrap().value.is_none());
    let status = client.get_status().await.unwrap();
    driver().validate(&status.envelope).unwrap();
    assert_eq!(
        status.value.unwrap().status.category,
        InteractionStatus::RequestIsRejectedBySmev
    );
    assert!(client.get_status().await.unwrap().value.is_none());
}

fn marriage_answer(to: &str) -> SenderProvidedResponseData {
    SenderProvidedResponseData {
        id: build::ID_PROVIDER.into(),
        message_id: MessageId::new().to_string(),
        to: to.into(),
        content: ResponseContent::Primary {
            content: fixture("zags-marriage", "response.valid.xml"),
            personal_signature: None,
            attachment_headers: vec![],
            ref_attachment_headers: vec![],
        },
    }
}

#[tokio::test]
async fn provider_role_with_an_injected_request() {
    let mock = Mock::start();
    let client = mock.client();
    let injected = mock.post(
        "/requests",
        r#"{"kind":"zags-marriage","to":"SYSTEM1","from":"MFC01"}"#,
    );
    let id = injected["message_id"].as_str().unwrap().to_string();
    let got = poll_request(&client, WAIT).await;
    let req = got.value.unwrap();
    assert_eq!(req.ack_id(), id);
    assert!(req.data.content.contains("MarriageRecordRequest"));
    assert_eq!(
        req.metadata.sender.as_ref().unwrap().mnemonic.as_deref(),
        Some("MFC01")
    );
    let sigs = signatures(&got.envelope);
    assert_eq!(sigs.len(), 2);
    assert!(sigs.iter().all(|s| s.valid), "{sigs:?}");
    driver().validate(&got.envelope).unwrap();
    let reply_to = req.reply_to.clone().unwrap();

    // A response to nobody.
    let bad = sign_envelope(
        build::send_response(
            &marriage_answer("bm9ib2R5"),
            &[],
            AttachmentMode::Inline,
            false,
        ),
        signer("ov").as_ref(),
        build::ID_PROVIDER,
    )
    .unwrap();
    let f = fault(client.post_send_response(&bad).await);
    assert_eq!(f.kind, Some(SmevFaultKind::RecipientIsNotFound));

    let answer = marriage_answer(&reply_to);
    let out = sign_envelope(
        build::send_response(&answer, &[], AttachmentMode::Inline, false),
        signer("ov").as_ref(),
        build::ID_PROVIDER,
    )
    .unwrap();
    let meta = client.post_send_response(&out).await.unwrap();
    assert_eq!(meta.value.status, Some(InteractionStatus::ResponseIsQueued));
    client.ack(req.ack_id(), true).await.unwrap();
    let inbox = mock.get("/inbox");
    assert_eq!(inbox[0]["original_message_id"], id.as_str());
    assert_eq!(inbox[0]["content_type"], "answer");
    assert_eq!(inbox[0]["consumer"], "MFC01");
}

#[tokio::test]
async fn simulated_consumer_sends_requests_when_switched_on() {
    let mock = Mock::start();
    let client = mock.client();
    assert!(client.get_request(None).await.unwrap().value.is_none());
    let v = mock.post("/consumers", r#"{"mnemonic":"MFC01","enabled":true}"#);
    assert_eq!(v["enabled"], true);
    let req = poll_request(&client, WAIT)
        .await
        .value
        .expect("a request from MFC01");
    assert_eq!(
        req.metadata.sender.as_ref().unwrap().mnemonic.as_deref(),
        Some("MFC01")
    );
    mock.post("/consumers", r#"{"mnemonic":"MFC01","enabled":false}"#);
    client.ack(req.ack_id(), true).await.unwrap();
}

#[tokio::test]
async fn requests_between_real_participants_are_routed_both_ways() {
    let mock = Mock::start();
    let consumer = mock.client();
    let provider = mock.client_as("ov512", WAIT); // mapped to PROV02 by the configuration
    let data = request_data(&fixture("zags-marriage", "request.valid.xml"));
    let meta = consumer
        .post_send_request(&signed_request(&data, "ov"))
        .await
        .unwrap();
    assert_eq!(
        meta.value.recipient.as_ref().unwrap().mnemonic.as_deref(),
        Some("PROV02")
    );
    // Only the provider sees the request.
    assert!(consumer.get_request(None).await.unwrap().value.is_none());
    let req = poll_request(&provider, WAIT).await.value.unwrap();
    assert_eq!(req.ack_id(), data.message_id);
    provider.ack(req.ack_id(), true).await.unwrap();
    // The consumer may not answer its own request.
    let answer = marriage_answer(req.reply_to.as_deref().unwrap());
    let signed = |key: &str| {
        sign_envelope(
            build::send_response(&answer, &[], AttachmentMode::Inline, false),
            signer(key).as_ref(),
            build::ID_PROVIDER,
        )
        .unwrap()
    };
    let f = fault(consumer.post_send_response(&signed("ov")).await);
    assert_eq!(f.kind, Some(SmevFaultKind::AccessDenied));
    provider.post_send_response(&signed("ov512")).await.unwrap();
    let got = poll_response(&consumer, Some(qn(ZAGS_NS, "MarriageRecordResponse")), WAIT).await;
    let msg = got.value.unwrap();
    assert_eq!(
        msg.original_message_id.as_deref(),
        Some(data.message_id.as_str())
    );
    assert_eq!(msg.data.message_id, answer.message_id);
    assert!(signatures(&got.envelope).iter().all(|s| s.valid));
    consumer.ack(msg.ack_id(), true).await.unwrap();
}

#[tokio::test]
async fn admin_api_lists_counts_and_resets() {
    let mock = Mock::start();
    let client = mock.client();
    let health = mock.get("/health");
    assert_eq!(health["status"], "ok");
    let data = request_data(&tax_request("7701000122"));
    client
        .post_send_request(&signed_request(&data, "ov"))
        .await
        .unwrap();
    let log = mock.get("/messages");
    let e = &log[0];
    assert_eq!(e["operation"], "SendRequest");
    assert_eq!(e["caller"], "SYSTEM1");
    assert_eq!(e["outcome"], "accepted");
    assert_eq!(e["verification"]["caller_signature"]["valid"], true);
    assert_eq!(e["verification"]["envelope_schema"]["ok"], true);
    assert_eq!(e["verification"]["business_schema"]["ok"], true);
    assert_eq!(e["verification"]["message_id"]["ok"], true);
    // Bad admin input is a 4xx with a reason.
    let (status, body) = mock.admin("POST", "/faults", Some(r#"{"fault":"nonsense"}"#));
    assert_eq!(status, 400, "{body}");
    let (status, _) = mock.admin("POST", "/requests", Some(r#"{"kind":"nope"}"#));
    assert_eq!(status, 404);
    mock.post("/reset", "");
    assert_eq!(mock.get("/messages").as_array().unwrap().len(), 0);
    assert_eq!(mock.count(&data.message_id)["sends"], 0);
    // After a reset the id is new again, and nothing is queued.
    assert!(client.get_response(None).await.unwrap().value.is_none());
    client
        .post_send_request(&signed_request(&data, "ov"))
        .await
        .unwrap();
}

#[tokio::test]
async fn node_queues_and_the_smev_path() {
    let mock = Mock::start();
    // The /smev/… path is the same endpoint.
    let soap = smev_protocol::smev::transport::SoapClient::new(
        smev_protocol::smev::transport::TransportConfig {
            endpoint: format!("http://{}/smev/v1.3/ws", mock.addr),
            request_timeout: WAIT,
            ..Default::default()
        },
    )
    .unwrap();
    let plain = smev_protocol::smev::client::SmevClient::new(soap.clone(), signer("ov"), None);
    let node =
        smev_protocol::smev::client::SmevClient::new(soap, signer("ov"), Some("node-2".into()));
    let mut data = request_data(&tax_request("7701000122"));
    data.node_id = Some("node-2".into());
    plain
        .post_send_request(&signed_request(&data, "ov"))
        .await
        .unwrap();
    // Answers to a request sent with a NodeID are in that node's queue only.
    let got = poll_response(&node, None, WAIT)
        .await
        .value
        .expect("node-2 answer");
    assert_eq!(
        got.original_message_id.as_deref(),
        Some(data.message_id.as_str())
    );
    assert!(plain.get_response(None).await.unwrap().value.is_none());
    node.ack(got.ack_id(), true).await.unwrap();
}

#[tokio::test]
async fn demo_scenario_answers_within_seconds() {
    let mock = Mock::start_demo();
    let client = mock.client();
    let answered = request_data(&tax_request("7701000121"));
    client
        .post_send_request(&signed_request(&answered, "ov"))
        .await
        .unwrap();
    let no_data = request_data(&tax_request("0100000000"));
    client
        .post_send_request(&signed_request(&no_data, "ov"))
        .await
        .unwrap();
    let (mut status, mut answer, mut rejection) = (false, false, false);
    let start = std::time::Instant::now();
    while !(status && answer && rejection) && start.elapsed() < Duration::from_secs(8) {
        let Some(m) = poll_response(&client, None, WAIT).await.value else {
            continue;
        };
        match &m.data.content {
            ResponseContent::Status(_) => status = true,
            ResponseContent::Primary { .. } => {
                assert_eq!(
                    m.original_message_id.as_deref(),
                    Some(answered.message_id.as_str())
                );
                assert_eq!(m.attachments.len(), 1, "the PDF");
                assert!(m.attachments[0].content.starts_with(b"%PDF-"));
                answer = true;
            }
            ResponseContent::Rejected(r) => {
                assert_eq!(r[0].code, RejectionReasonCode::NoData);
                rejection = true;
            }
            other => panic!("{other:?}"),
        }
        client.ack(m.ack_id(), true).await.unwrap();
    }
    assert!(
        status && answer && rejection,
        "{status} {answer} {rejection}"
    );
    // The demo consumer is off until switched on.
    assert_eq!(mock.get("/consumers")[0]["enabled"], false);
}
