//! The SMEV 3 protocol layer: every operation built, signed, validated with `xmllint --schema`
//! (an independent validator) and parsed back; SMEV answers with other prefixes, whitespace and
//! MTOM; faults and their retry class; XSD validation with positions; MTOM limits; and a
//! fuzz-style run of mutated envelopes through the parser.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{FixedOffset, TimeZone};
use smev_gateway::dsig::verify::{verify_document, VerifyOptions};
use smev_gateway::dsig::{OpenSslSigner, Signer};
use smev_gateway::smev::build::{self, AttachmentMode, Delivery};
use smev_gateway::smev::client::sign_envelope;
use smev_gateway::smev::model::*;
use smev_gateway::smev::parse::{self, IncomingCall};
use smev_gateway::smev::schema::Schema;
use smev_gateway::smev::{mtom, FaultClass, MessageId, SmevError, SmevFault, SmevFaultKind};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn signer(name: &str) -> OpenSslSigner {
    let c = root().join("certs-example");
    OpenSslSigner::from_pem_files(
        &c.join(format!("{name}.key.pem")),
        &c.join(format!("{name}.cert.pem")),
        None,
    )
    .unwrap()
}

fn kind_fixture(kind: &str, name: &str) -> String {
    std::fs::read_to_string(
        root()
            .join("tests/fixtures/schemas/kinds")
            .join(kind)
            .join(name),
    )
    .unwrap()
}

/// Validates with xmllint against the SMEV 1.3 driver schema that also knows the example kinds.
fn xmllint_valid(xml: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("envelope.xml");
    std::fs::write(&f, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(root().join("schemas/kinds/smev-envelope-1.3-example-kinds.xsd"))
        .arg(&f)
        .output()
        .expect("xmllint");
    assert!(
        out.status.success(),
        "xmllint rejects:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(xml)
    );
}

fn all_signatures_valid(xml: &[u8]) -> usize {
    let reports = verify_document(xml, &VerifyOptions::default()).unwrap();
    for r in &reports {
        assert!(r.valid, "{:?} at {}", r.causes, r.location);
    }
    reports.len()
}

fn msk(y: i32, m: u32, d: u32, h: u32) -> chrono::DateTime<FixedOffset> {
    FixedOffset::east_opt(3 * 3600)
        .unwrap()
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
}

fn request_data(content: &str) -> SenderProvidedRequestData {
    SenderProvidedRequestData {
        id: build::ID_CONSUMER.into(),
        message_id: MessageId::new().to_string(),
        reference_message_id: None,
        transaction_code: Some("TX-1".into()),
        node_id: None,
        eol: Some(msk(2026, 12, 1, 9)),
        content: content.into(),
        personal_signature: None,
        attachment_headers: vec![],
        ref_attachment_headers: vec![],
        test_message: true,
    }
}

#[test]
fn send_request_with_personal_signature_and_attachment() {
    let (content, _) =
        build::business_content(&kind_fixture("fns-tax-debt", "request.valid.xml")).unwrap();
    let (content, personal_id) = build::ensure_business_id(&content).unwrap();
    let mut data = request_data(&content);
    data.attachment_headers.push(AttachmentHeader {
        content_id: "attach1".into(),
        mime_type: "application/pdf".into(),
        signature_pkcs7: None,
    });
    let attachments = vec![AttachmentContent {
        id: "attach1".into(),
        content: b"%PDF-1.4 test".to_vec(),
    }];
    let out = build::send_request(&data, &attachments, AttachmentMode::Inline, true);
    // ЭП-СП first (official), then ЭП-ОВ (system) which covers it.
    let out = sign_envelope(out, &signer("sp"), &personal_id).unwrap();
    let out = sign_envelope(out, &signer("ov"), build::ID_CONSUMER).unwrap();
    xmllint_valid(&out.xml);
    assert_eq!(all_signatures_valid(&out.xml), 2);

    let (call, _) = parse::incoming_call(&out.xml).unwrap();
    let IncomingCall::SendRequest {
        data: parsed,
        attachments: parsed_att,
    } = call
    else {
        panic!("{call:?}")
    };
    assert_eq!(parsed_att, attachments);
    assert_eq!(parsed.message_id, data.message_id);
    assert_eq!(parsed.eol, data.eol);
    assert_eq!(parsed.attachment_headers, data.attachment_headers);
    assert!(parsed.personal_signature.is_some());
    assert_eq!(parsed.content, content);
    assert!(parsed.test_message);
}

#[test]
fn send_response_in_every_form() {
    let (answer, _) =
        build::business_content(&kind_fixture("fns-tax-debt", "response-debts.valid.xml")).unwrap();
    let forms = vec![
        ResponseContent::Primary {
            content: answer,
            personal_signature: None,
            attachment_headers: vec![],
            ref_attachment_headers: vec![],
        },
        ResponseContent::Rejected(vec![Rejection {
            code: RejectionReasonCode::NoData,
            description: "Сведения отсутствуют & <ничего>".into(),
        }]),
        ResponseContent::Status(RequestStatus {
            code: 3,
            parameters: vec![("step".into(), "проверка".into())],
            description: "В обработке".into(),
        }),
    ];
    for content in forms {
        let data = SenderProvidedResponseData {
            id: build::ID_PROVIDER.into(),
            message_id: MessageId::new().to_string(),
            to: "eyJzaWQiOjF9".into(),
            content,
        };
        let out = sign_envelope(
            build::send_response(&data, &[], AttachmentMode::Inline, false),
            &signer("ov"),
            build::ID_PROVIDER,
        )
        .unwrap();
        xmllint_valid(&out.xml);
        assert_eq!(all_signatures_valid(&out.xml), 1);
        let (call, _) = parse::incoming_call(&out.xml).unwrap();
        assert_eq!(
            call,
            IncomingCall::SendResponse {
                data,
                attachments: vec![]
            }
        );
    }
}

#[test]
fn selectors_ack_and_status_requests() {
    let s = signer("ov512");
    let selector = MessageTypeSelector {
        id: build::ID_CALLER.into(),
        kind: Some(QualifiedName {
            namespace: "urn://smev-gateway/example/fns-tax-debt/1.0".into(),
            local_name: "TaxDebtResponse".into(),
        }),
        timestamp: msk(2026, 11, 25, 12),
        node_id: Some("node-1".into()),
    };
    for (out, expect) in [
        (
            build::get_response(&selector),
            IncomingCall::GetResponse(selector.clone()),
        ),
        (
            build::get_request(&MessageTypeSelector {
                kind: None,
                ..selector.clone()
            }),
            IncomingCall::GetRequest(MessageTypeSelector {
                kind: None,
                ..selector.clone()
            }),
        ),
        (
            build::ack(
                build::ID_CALLER,
                "db0486d0-3c08-11e5-95e2-d4c9eff07b77",
                false,
            ),
            IncomingCall::Ack {
                message_id: "db0486d0-3c08-11e5-95e2-d4c9eff07b77".into(),
                accepted: false,
            },
        ),
        (
            build::get_status(build::ID_CALLER, &msk(2026, 11, 25, 12)),
            IncomingCall::GetStatus,
        ),
    ] {
        let signed = sign_envelope(out, &s, build::ID_CALLER).unwrap();
        xmllint_valid(&signed.xml);
        assert_eq!(all_signatures_valid(&signed.xml), 1);
        let (call, env) = parse::incoming_call(&signed.xml).unwrap();
        assert_eq!(call, expect);
        assert!(parse::signed_element(&env).is_some());
        assert!(parse::caller_signature(&env).is_some());
    }
}

fn metadata(message_id: &str) -> MessageMetadata {
    MessageMetadata {
        id: Some(build::ID_SMEV.into()),
        message_id: Some(message_id.into()),
        message_type: Some("RESPONSE".into()),
        sender: Some(Participant {
            mnemonic: Some("FNS01".into()),
            human_readable_name: Some("ФНС (тест)".into()),
        }),
        sending_timestamp: Some(msk(2026, 11, 25, 12)),
        recipient: Some(Participant {
            mnemonic: Some("GW01".into()),
            human_readable_name: Some("Шлюз".into()),
        }),
        delivery_timestamp: Some(msk(2026, 11, 25, 13)),
        status: Some(InteractionStatus::MessageIsDelivered),
    }
}

#[test]
fn smev_answers_build_validate_and_parse() {
    let smev = signer("ov512");
    // SendRequestResponse.
    let mut m = metadata(&MessageId::new().to_string());
    m.message_type = Some("REQUEST".into());
    m.delivery_timestamp = None;
    m.status = Some(InteractionStatus::RequestIsQueued);
    let xml = build::send_answer("SendRequestResponse", &m);
    let xml = sign_envelope(
        build::Outgoing {
            xml,
            parts: vec![],
            action: "",
        },
        &smev,
        build::ID_SMEV,
    )
    .unwrap()
    .xml;
    xmllint_valid(&xml);
    assert_eq!(all_signatures_valid(&xml), 1);
    assert_eq!(parse::send_answer(&xml).unwrap().value, m);

    // GetResponseResponse with the provider's signed answer and an MTOM attachment.
    let (answer, _) =
        build::business_content(&kind_fixture("fns-tax-debt", "response-debts.valid.xml")).unwrap();
    let provider = SenderProvidedResponseData {
        id: build::ID_PROVIDER.into(),
        message_id: MessageId::new().to_string(),
        to: "to".into(),
        content: ResponseContent::Primary {
            content: answer,
            personal_signature: None,
            attachment_headers: vec![AttachmentHeader {
                content_id: "pdf1".into(),
                mime_type: "application/pdf".into(),
                signature_pkcs7: None,
            }],
            ref_attachment_headers: vec![],
        },
    };
    let provider_out = sign_envelope(
        build::send_response(&provider, &[], AttachmentMode::Inline, false),
        &signer("ov"),
        build::ID_PROVIDER,
    )
    .unwrap();
    let (call, env) = parse::incoming_call(&provider_out.xml).unwrap();
    assert!(matches!(call, IncomingCall::SendResponse { .. }));
    let data_node = parse::signed_element(&env).unwrap();
    let sender_data = String::from_utf8(env.doc.standalone(data_node)).unwrap();
    let sender_sig =
        String::from_utf8(env.doc.standalone(parse::caller_signature(&env).unwrap())).unwrap();
    let original = MessageId::new().to_string();
    let attachments = vec![AttachmentContent {
        id: "pdf1".into(),
        content: b"%PDF-1.7 \x00\x01\x02".to_vec(),
    }];
    // A file in the file storage: SMEV's one-time access to it, inside the signed Response.
    let fs_attachments = vec![smev_gateway::smev::model::FsAttachment {
        uuid: MessageId::new().to_string(),
        user_name: "u1f2e3".into(),
        password: "p & <q>".into(),
        file_name: "Выписка ЕГРН.pdf".into(),
    }];
    let delivery = Delivery {
        sender_data: &sender_data,
        sender_signature: Some(&sender_sig),
        metadata: MessageMetadata {
            id: None,
            ..metadata(&provider.message_id)
        },
        original_message_id: Some(&original),
        reference_message_id: Some(&original),
        reply_to: None,
        attachments: &attachments,
        fs_attachments: &fs_attachments,
    };
    for mode in [AttachmentMode::Inline, AttachmentMode::Xop] {
        let (xml, parts) = build::get_response_answer(&delivery, mode);
        let xml = sign_envelope(
            build::Outgoing {
                xml,
                parts: vec![],
                action: "",
            },
            &smev,
            build::ID_SMEV,
        )
        .unwrap()
        .xml;
        let (ct, body) = mtom::build(&xml, &parts, "uuid:test");
        let resolved = if parts.is_empty() {
            xml.clone()
        } else {
            mtom::xml_of_body(&ct, &body).unwrap()
        };
        xmllint_valid(&resolved);
        // ЭП-СМЭВ over Response, and the provider's ЭП-ОВ moved into it: both verify.
        assert_eq!(all_signatures_valid(&resolved), 2);
        let got = parse::get_response_answer(&resolved)
            .unwrap()
            .value
            .unwrap();
        assert_eq!(got.data, provider);
        assert_eq!(got.original_message_id.as_deref(), Some(original.as_str()));
        assert_eq!(got.attachments, attachments);
        assert_eq!(got.fs_attachments, fs_attachments);
        assert_eq!(got.ack_id(), provider.message_id);
    }

    // GetRequestResponse: a consumer's request as delivered to a provider.
    let (content, _) =
        build::business_content(&kind_fixture("zags-marriage", "request.valid.xml")).unwrap();
    let consumer = sign_envelope(
        build::send_request(&request_data(&content), &[], AttachmentMode::Inline, false),
        &signer("ov"),
        build::ID_CONSUMER,
    )
    .unwrap();
    let (_, env) = parse::incoming_call(&consumer.xml).unwrap();
    let data = String::from_utf8(env.doc.standalone(parse::signed_element(&env).unwrap())).unwrap();
    let sig =
        String::from_utf8(env.doc.standalone(parse::caller_signature(&env).unwrap())).unwrap();
    let mut m = metadata(&MessageId::new().to_string());
    m.id = None;
    m.message_type = Some("REQUEST".into());
    let (xml, _) = build::get_request_answer(
        &Delivery {
            sender_data: &data,
            sender_signature: Some(&sig),
            metadata: m.clone(),
            reply_to: Some("reply-to-token"),
            ..Default::default()
        },
        AttachmentMode::Inline,
    );
    let xml = sign_envelope(
        build::Outgoing {
            xml,
            parts: vec![],
            action: "",
        },
        &smev,
        build::ID_SMEV,
    )
    .unwrap()
    .xml;
    xmllint_valid(&xml);
    assert_eq!(all_signatures_valid(&xml), 2);
    let got = parse::get_request_answer(&xml).unwrap().value.unwrap();
    assert_eq!(got.reply_to.as_deref(), Some("reply-to-token"));
    assert_eq!(got.metadata, m);
    assert_eq!(got.data.content, content);

    // GetStatusResponse with SMEV's asynchronous rejection.
    let status = AsyncProcessingStatus {
        original_message_id: original.clone(),
        category: InteractionStatus::RequestIsRejectedBySmev,
        details: Some("Бизнес-данные не соответствуют схеме".into()),
        fault: Some(SmevFault {
            code: Some("SMEV-403".into()),
            details: vec![("ValidationError".into(), "cvc-pattern-valid".into())],
            ..SmevFault::new(SmevFaultKind::InvalidContent, "не соответствует схеме")
        }),
    };
    let xml = build::get_status_answer(&status);
    let xml = sign_envelope(
        build::Outgoing {
            xml,
            parts: vec![],
            action: "",
        },
        &smev,
        build::ID_SMEV,
    )
    .unwrap()
    .xml;
    xmllint_valid(&xml);
    let got = parse::get_status_answer(&xml)
        .unwrap()
        .value
        .unwrap()
        .status;
    assert_eq!(got.category, status.category);
    assert_eq!(
        got.fault.as_ref().unwrap().kind,
        Some(SmevFaultKind::InvalidContent)
    );
    assert_eq!(
        got.fault.as_ref().unwrap().code.as_deref(),
        Some("SMEV-403")
    );

    // Empty queues and AckResponse.
    for el in [
        "GetResponseResponse",
        "GetRequestResponse",
        "GetStatusResponse",
        "AckResponse",
    ] {
        xmllint_valid(&build::empty_answer(el));
    }
    assert!(
        parse::get_response_answer(&build::empty_answer("GetResponseResponse"))
            .unwrap()
            .value
            .is_none()
    );
    assert!(parse::ack_answer(&build::empty_answer("AckResponse")).is_ok());
}

#[test]
fn every_fault_builds_validates_parses_and_classifies() {
    for kind in SmevFaultKind::ALL {
        let mut f = SmevFault::new(*kind, format!("тест {kind}"));
        f.code = Some("SMEV-1".into());
        match kind {
            SmevFaultKind::SignatureVerificationFault => {
                f.sub_code = Some("CertificateIsExpired".into())
            }
            SmevFaultKind::InvalidContent => {
                f.details = vec![("ValidationError".into(), "cvc-complex-type.2.4.a".into())]
            }
            SmevFaultKind::QuoteLimitExceeded => {
                f.details = vec![
                    ("RemainedTotalQuoteSize".into(), "0".into()),
                    ("RealTotalAttachmentSize".into(), "10".into()),
                ]
            }
            SmevFaultKind::AttachmentSizeLimitExceeded => {
                f.details = vec![
                    ("PermittedTotalAttachmentSize".into(), "5".into()),
                    ("RealTotalAttachmentSize".into(), "10".into()),
                ]
            }
            SmevFaultKind::DestinationOverflow => {
                f.details = vec![
                    ("MessageBrokerAddress".into(), "b".into()),
                    ("DestinationName".into(), "q".into()),
                ]
            }
            SmevFaultKind::BusinessDataTypeIsNotSupported => {
                f.details = vec![
                    ("RootElementLocalName".into(), "X".into()),
                    ("RootElementNamespaceURI".into(), "urn:x".into()),
                ]
            }
            _ => {}
        }
        if kind.is_void() {
            f.code = None;
            f.description = None;
        }
        let xml = build::fault(&f);
        xmllint_valid(&xml);
        let Err(SmevError::Fault(parsed)) = parse::send_answer(&xml) else {
            panic!("{kind}: not a fault")
        };
        assert_eq!(*parsed, f, "{kind}");
        assert_eq!(SmevError::Fault(parsed.clone()).class(), kind.class());
    }
    use SmevFaultKind::*;
    assert_eq!(SMEVFailure.class(), FaultClass::Temporary);
    assert_eq!(DestinationOverflow.class(), FaultClass::Temporary);
    assert_eq!(QuoteLimitExceeded.class(), FaultClass::SlowRetry);
    assert_eq!(MessageIsAlreadySent.class(), FaultClass::AlreadySent);
    assert_eq!(StaleMessageId.class(), FaultClass::NewMessageId);
    assert_eq!(
        TargetMessageIsNotFound.class(),
        FaultClass::AlreadyAcknowledged
    );
    for k in [
        InvalidContent,
        SignatureVerificationFault,
        AccessDenied,
        SenderIsNotRegistered,
        BusinessDataTypeIsNotSupported,
        RecipientIsNotFound,
    ] {
        assert_eq!(k.class(), FaultClass::Permanent, "{k}");
    }
}

fn shared(name: &str) -> Option<Vec<u8>> {
    std::fs::read(root().join("../shared/smev3/vectors/signed").join(name)).ok()
}

#[test]
fn real_smev_answers_parse() {
    let Some(invalid) = shared("smev3sharp-2021/GetResponseResponce_InvalidContent.xml") else {
        return;
    };
    // SMEV's own asynchronous rejection, message-exchange 1.2, other prefixes and whitespace.
    let got = parse::get_response_answer(&invalid).unwrap().value.unwrap();
    let ResponseContent::AsyncProcessingStatus(s) = &got.data.content else {
        panic!("{got:?}")
    };
    assert_eq!(s.category, InteractionStatus::RequestIsRejectedBySmev);
    assert_eq!(
        s.fault.as_ref().unwrap().kind,
        Some(SmevFaultKind::InvalidContent)
    );
    assert!(s
        .fault
        .as_ref()
        .unwrap()
        .description
        .as_deref()
        .unwrap()
        .starts_with("SMEV-403"));

    let meta = parse::send_answer(&shared("smev3sharp-2021/SendRequestResponce.xml").unwrap())
        .unwrap()
        .value;
    assert_eq!(meta.status, Some(InteractionStatus::RequestIsQueued));
    assert!(meta.message_id.is_some());

    let fault = parse::get_response_answer(
        &shared("smev3sharp-2021/SoapFaultResponse_SignatureVerificationFault.xml").unwrap(),
    );
    let Err(SmevError::Fault(f)) = fault else {
        panic!("{fault:?}")
    };
    assert_eq!(f.kind, Some(SmevFaultKind::SignatureVerificationFault));
    assert_eq!(f.sub_code.as_deref(), Some("CertificateIsExpired"));
    assert_eq!(f.class(), FaultClass::Permanent);

    let Err(SmevError::Fault(f)) =
        parse::get_response_answer(&shared("smev3sharp-2021/SoapFaultResponse.xml").unwrap())
    else {
        panic!()
    };
    assert_eq!(f.kind, None);
    assert_eq!(
        f.class(),
        FaultClass::Temporary,
        "soap:Server without detail is retried"
    );

    let empty = parse::get_response_answer(
        &shared("smev3sharp-2021/GetResponseResponce_EmptyQueue.xml").unwrap(),
    )
    .unwrap();
    assert!(empty.value.is_none());
    let mime = shared("smev3sharp-2021/GetResponseResponce_MultipartEmptyQueue.xml").unwrap();
    let xml = mtom::xml_of_body("multipart/related; type=\"application/xop+xml\"; boundary=\"f438a15e-9b5b-491f-9b47-aba4d00b8837\"; start=\"<root.message@cxf.apache.org>\"", &mime).unwrap();
    assert!(parse::get_response_answer(&xml).unwrap().value.is_none());

    // The official provider-side sample (1.1): the request with ЭП-СП as a provider gets it.
    let req = parse::get_request_answer(
        &shared("ebbs-2014/GetRequestResponsePersonalSignature.xml").unwrap(),
    )
    .unwrap()
    .value
    .unwrap();
    assert!(req.data.personal_signature.is_some());
    assert!(req.data.content.contains("BreachRequest"));
    assert!(req.reply_to.is_some());
}

#[test]
fn hand_written_envelopes_with_other_prefixes_parse() {
    let dir = root().join("tests/fixtures/schemas/envelopes");
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let got = parse::get_response_answer(&read("GetResponseResponse-fns-tax-debt.valid.xml"))
        .unwrap()
        .value
        .unwrap();
    assert!(matches!(got.data.content, ResponseContent::Primary { .. }));
    assert_eq!(
        got.metadata.status,
        Some(InteractionStatus::MessageIsDelivered)
    );
    let got =
        parse::get_response_answer(&read("GetResponseResponse-async-InvalidContent.valid.xml"))
            .unwrap()
            .value
            .unwrap();
    assert!(matches!(
        got.data.content,
        ResponseContent::AsyncProcessingStatus(_)
    ));
    let got = parse::get_status_answer(&read("GetStatusResponse.valid.xml"))
        .unwrap()
        .value
        .unwrap();
    assert_eq!(
        got.status.fault.unwrap().kind,
        Some(SmevFaultKind::QuoteLimitExceeded)
    );
    let got = parse::get_request_answer(&read("GetRequestResponse-zags-marriage.valid.xml"))
        .unwrap()
        .value
        .unwrap();
    assert!(got.reply_to.is_some());
    let Err(SmevError::Fault(f)) = parse::send_answer(&read("SoapFault-InvalidContent.valid.xml"))
    else {
        panic!()
    };
    assert_eq!(f.kind, Some(SmevFaultKind::InvalidContent));
}

#[test]
fn xsd_violations_have_line_column_and_message() {
    let schema = Schema::load(&root().join("schemas/kinds/fns-tax-debt-1.0.xsd")).unwrap();
    schema
        .validate(kind_fixture("fns-tax-debt", "request.valid.xml").as_bytes())
        .unwrap();
    let bad = kind_fixture("fns-tax-debt", "request-inn-length.invalid.xml");
    let errors = schema.validate(bad.as_bytes()).unwrap_err();
    let e = &errors.0[0];
    // The INN element: find its line and column in the text independently.
    let (line_no, line) = bad
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("<td:INN>"))
        .unwrap();
    assert_eq!(e.line, line_no + 1);
    assert_eq!(e.column, line.find('<').unwrap() + 1);
    assert!(e.message.contains("length"), "{}", e.message);
    let malformed = schema
        .validate(b"<td:TaxDebtRequest xmlns:td=\"urn://smev-gateway/example/fns-tax-debt/1.0\">")
        .unwrap_err();
    assert!(malformed.0[0].message.contains("malformed"));
    assert!(Schema::load(Path::new("/nonexistent.xsd")).is_err());
}

#[test]
fn mtom_round_trip_of_4_mb_with_hash_and_the_inline_limit() {
    let mut data = vec![0u8; 4 * 1024 * 1024];
    let mut x: u32 = 12345;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let hash = smev_gateway::dsig::DigestAlgorithm::Streebog256
        .hash(&data)
        .unwrap();
    let (content, _) =
        build::business_content(&kind_fixture("fns-tax-debt", "request.valid.xml")).unwrap();
    let mut d = request_data(&content);
    d.ref_attachment_headers = vec![];
    d.attachment_headers.push(AttachmentHeader {
        content_id: "big".into(),
        mime_type: "application/octet-stream".into(),
        signature_pkcs7: None,
    });
    let out = build::send_request(
        &d,
        &[AttachmentContent {
            id: "big".into(),
            content: data.clone(),
        }],
        AttachmentMode::Xop,
        false,
    );
    let out = sign_envelope(out, &signer("ov"), build::ID_CONSUMER).unwrap();
    assert!(
        out.xml.len() < 10_000,
        "bytes travel in a MIME part, not in the XML"
    );
    let (ct, body) = mtom::build(&out.xml, &out.parts, "uuid:4mb");
    let resolved = mtom::xml_of_body(&ct, &body).unwrap();
    assert_eq!(all_signatures_valid(&resolved), 1);
    let (IncomingCall::SendRequest { attachments, .. }, _) =
        parse::incoming_call(&resolved).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        smev_gateway::dsig::DigestAlgorithm::Streebog256
            .hash(&attachments[0].content)
            .unwrap(),
        hash
    );

    assert!(mtom::check_inline_limit([data.len()], mtom::DEFAULT_INLINE_LIMIT).is_ok());
    let err = mtom::check_inline_limit([data.len(), 2 * 1024 * 1024], mtom::DEFAULT_INLINE_LIMIT)
        .unwrap_err();
    assert!(matches!(err, SmevError::AttachmentTooLarge { .. }));
    assert!(err.to_string().contains("exceed the inline (MTOM) limit"));
}

#[test]
fn business_content_rules() {
    assert!(build::business_content("<a/>").is_err(), "no namespace");
    assert!(build::business_content(
        "<x:a xmlns:x=\"urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.3\"/>"
    )
    .is_err());
    assert!(build::business_content("<!DOCTYPE a><a xmlns=\"urn:x\"/>").is_err());
    let (xml, qn) =
        build::business_content("<?xml version=\"1.0\"?><!-- c --><a xmlns=\"urn:x\"><b/></a>")
            .unwrap();
    assert_eq!(xml, "<a xmlns=\"urn:x\"><b/></a>");
    assert_eq!(qn.local_name, "a");
    let (with_id, id) = build::ensure_business_id("<a xmlns=\"urn:x\"><b/></a>").unwrap();
    assert_eq!(id, "PERSONAL_SIGNATURE");
    assert_eq!(
        with_id,
        "<a Id=\"PERSONAL_SIGNATURE\" xmlns=\"urn:x\"><b/></a>"
    );
    let (same, id) = build::ensure_business_id("<a xmlns=\"urn:x\" Id=\"mine\"/>").unwrap();
    assert_eq!(
        (same.as_str(), id.as_str()),
        ("<a xmlns=\"urn:x\" Id=\"mine\"/>", "mine")
    );
}

/// Mutated envelopes never panic the parser: every failure is an error value.
#[test]
fn fuzzed_envelopes_never_panic() {
    let mut seeds: Vec<Vec<u8>> =
        std::fs::read_dir(root().join("tests/fixtures/schemas/envelopes"))
            .unwrap()
            .filter_map(|e| std::fs::read(e.unwrap().path()).ok())
            .collect();
    seeds.push(build::fault(&SmevFault::new(
        SmevFaultKind::SMEVFailure,
        "x",
    )));
    let iterations: usize = std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let tokens: &[&[u8]] = &[
        b"<",
        b">",
        b"&",
        b"&amp;",
        b"&#0;",
        b"&#x110000;",
        b"]]>",
        b"<!DOCTYPE x>",
        b"xmlns:a=\"\"",
        b"\xff",
        b"\"",
        b"</a>",
        b"<a:b>",
        b"Id=\"SIGNED_BY_SMEV\"",
        b"<!--",
        b"<?x?>",
        b"<![CDATA[",
    ];
    let mut errors = 0;
    for i in 0..iterations {
        let mut doc = seeds[i % seeds.len()].clone();
        for _ in 0..(1 + next() % 4) {
            if doc.is_empty() {
                break;
            }
            let pos = (next() as usize) % doc.len();
            match next() % 4 {
                0 => doc[pos] = next() as u8,
                1 => doc.truncate(pos),
                2 => {
                    let t = tokens[(next() as usize) % tokens.len()];
                    doc.splice(pos..pos, t.iter().copied());
                }
                _ => {
                    let end = (pos + (next() as usize) % 64).min(doc.len());
                    doc.drain(pos..end);
                }
            }
        }
        let results = [
            parse::get_response_answer(&doc).err(),
            parse::get_request_answer(&doc).err(),
            parse::send_answer(&doc).err(),
            parse::get_status_answer(&doc).err(),
            parse::incoming_call(&doc).err(),
        ];
        errors += results.iter().filter(|r| r.is_some()).count();
        let _ = mtom::xml_of_body("multipart/related; boundary=uuid:x", &doc);
        let _ = verify_document(&doc, &VerifyOptions::default());
    }
    assert!(
        errors > iterations,
        "mutations should mostly produce errors"
    );
}

#[test]
fn signer_is_object_safe_for_the_engine() {
    let s: std::sync::Arc<dyn Signer> = std::sync::Arc::new(signer("ov"));
    assert_eq!(s.sign(b"abc").unwrap().len(), 64);
}

/// A forged `Response` slipped in beside the one SMEV signed is refused, and the element the
/// parser reads is the one a signature must cover.
#[test]
fn forged_sibling_responses_are_refused() {
    let smev = signer("ov512");
    let (answer, _) =
        build::business_content(&kind_fixture("fns-tax-debt", "response-debts.valid.xml")).unwrap();
    let provider = SenderProvidedResponseData {
        id: build::ID_PROVIDER.into(),
        message_id: MessageId::new().to_string(),
        to: "to".into(),
        content: ResponseContent::Primary {
            content: answer,
            personal_signature: None,
            attachment_headers: vec![],
            ref_attachment_headers: vec![],
        },
    };
    let data = build::response_data_xml(&provider);
    let (xml, _) = build::get_response_answer(
        &Delivery {
            sender_data: &data,
            metadata: MessageMetadata::default(),
            original_message_id: Some("x"),
            ..Default::default()
        },
        AttachmentMode::Inline,
    );
    let xml = sign_envelope(
        build::Outgoing {
            xml,
            parts: vec![],
            action: "",
        },
        &smev,
        build::ID_SMEV,
    )
    .unwrap()
    .xml;
    let env = parse::envelope(&xml).unwrap();
    let signed = parse::smev_signed_element(&env).unwrap();
    assert_eq!(
        env.doc.element(signed).unwrap().attr("Id"),
        Some(build::ID_SMEV)
    );
    assert!(parse::get_response_answer(&xml).is_ok());
    // The attacker's copy goes first, without an Id; the genuine signed one stays.
    let text = String::from_utf8(xml).unwrap();
    let genuine_start = text.find("<tns:Response ").unwrap();
    let genuine_end = text.find("</tns:Response>").unwrap() + "</tns:Response>".len();
    let forged = text[genuine_start..genuine_end]
        .replacen(" Id=\"SIGNED_BY_SMEV\"", "", 1)
        .replace("Налог на доходы", "Ничего не должен");
    let attacked = format!(
        "{}{}{}",
        &text[..genuine_start],
        forged,
        &text[genuine_start..]
    );
    let err = parse::get_response_answer(attacked.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("more than one <Response>"),
        "{err}"
    );
    // Every signature still verifies: signature validity alone would not have caught it.
    assert!(
        verify_document(attacked.as_bytes(), &VerifyOptions::default())
            .unwrap()
            .iter()
            .all(|r| r.valid)
    );
}
