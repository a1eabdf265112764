//! SendRequest: the strict checks shared by both Send calls, routing a request to its provider
//! (a participant's queue or a simulated provider) and the asynchronous rejections SMEV sends.

use super::*;

impl Simulator {
    /// Checks shared by SendRequest and SendResponse after the caller is known.
    pub(super) fn send_checks(
        &self,
        env: &Envelope,
        mid: &MessageId,
        headers: &[AttachmentHeader],
        attachments: &[AttachmentContent],
        v: &mut Verification,
    ) -> Result<(), Fault> {
        if let Some(data) = parse::signed_element(env) {
            checks::personal_signature(env, data, &self.ids.trust, v)?;
        }
        checks::staleness(mid, self.stale_after, v)?;
        if self.state().sent.contains(&mid.to_string()) {
            return Err(checks::fault(
                SmevFaultKind::MessageIsAlreadySent,
                format!("Сообщение с идентификатором {mid} уже было отправлено"),
            ));
        }
        let declared: BTreeSet<&str> = headers.iter().map(|h| h.content_id.as_str()).collect();
        let present: BTreeSet<&str> = attachments.iter().map(|a| a.id.as_str()).collect();
        if declared != present {
            return Err(checks::fault(
                SmevFaultKind::AttachmentContentMiscoordination,
                format!(
                    "Заголовки вложений не соответствуют их содержимому: заголовки {declared:?}, содержимое {present:?}"
                ),
            ));
        }
        // A file's own signature (SignaturePKCS7) must verify over its bytes.
        for h in headers {
            let (Some(sig), Some(a)) = (
                &h.signature_pkcs7,
                attachments.iter().find(|a| a.id == h.content_id),
            ) else {
                continue;
            };
            match smev_protocol::dsig::pkcs7::verify_detached(sig, &a.content) {
                Ok(signer) => v.file_signatures.push(checks::FileSignature {
                    file: h.content_id.clone(),
                    signer,
                }),
                Err(e) => {
                    return Err(checks::signature_fault(
                        "SignatureIsInvalid",
                        format!("ЭП файла вложения {} не прошла проверку: {e}", h.content_id),
                    ))
                }
            }
        }
        let total: u64 = attachments.iter().map(|a| a.content.len() as u64).sum();
        if total > self.config.smev.max_attachment_bytes {
            let mut f = checks::fault(
                SmevFaultKind::AttachmentSizeLimitExceeded,
                format!(
                    "Превышен допустимый размер вложений: {total} байт при допустимых {}",
                    self.config.smev.max_attachment_bytes
                ),
            );
            f.details = vec![
                (
                    "PermittedTotalAttachmentSize".into(),
                    self.config.smev.max_attachment_bytes.to_string(),
                ),
                ("RealTotalAttachmentSize".into(), total.to_string()),
            ];
            return Err(f);
        }
        Ok(())
    }

    pub(super) fn business_root(content: &str) -> Result<QualifiedName, Fault> {
        build::business_content(content)
            .map(|(_, q)| q)
            .map_err(|e| {
                checks::invalid_content("SMEV-400:Нарушен формат бизнес-данных", &[e.to_string()])
            })
    }

    pub(super) fn not_supported(q: &QualifiedName, why: &str) -> Fault {
        let mut f = checks::fault(
            SmevFaultKind::BusinessDataTypeIsNotSupported,
            format!("Вид сведений {q} {why}"),
        );
        f.details = vec![
            ("RootElementLocalName".into(), q.local_name.clone()),
            ("RootElementNamespaceURI".into(), q.namespace.clone()),
        ];
        f
    }

    pub(super) fn send_request(
        &self,
        env: &Envelope,
        data: SenderProvidedRequestData,
        attachments: Vec<AttachmentContent>,
        caller: &Participant,
        mid: MessageId,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let v = &mut log.verification;
        self.send_checks(env, &mid, &data.attachment_headers, &attachments, v)?;
        if let Some(eol) = data.eol {
            if eol < now() {
                return Err(checks::fault(
                    SmevFaultKind::EndOfLifeReached,
                    format!("Истёк срок жизни сообщения (EOL {eol})"),
                ));
            }
        }
        let root = Self::business_root(&data.content)?;
        log.kind = Some(qname_text(&root));
        let kind_index = match self.kinds.iter().position(|k| k.request_root == root) {
            Some(i) => i,
            None if self.kinds.iter().any(|k| k.response_root == root) => {
                return Err(Self::not_supported(
                    &root,
                    "является ответом и не может быть отправлен методом SendRequest",
                ))
            }
            None => return Err(Self::not_supported(&root, "не зарегистрирован в СМЭВ")),
        };
        let kind = &self.kinds[kind_index];
        if kind.config.validate {
            if let Some(schema) = &kind.schema {
                checks::business(
                    schema,
                    &data.content,
                    &data.message_id,
                    &mut log.verification,
                )?;
            }
        }
        let data_node =
            parse::signed_element(env).ok_or_else(|| failure("no SenderProvidedRequestData"))?;
        let sender_data = standalone(env, data_node);
        let sender_signature = parse::caller_signature(env).map(|s| standalone(env, s));
        let id = data.message_id.clone();
        let provider = self.participant_named(&self.state(), &kind.config.provider);
        let reply_to;
        {
            let mut st = self.state();
            // Re-check under the lock: two concurrent sends of one id.
            if !st.sent.insert(id.clone()) {
                return Err(checks::fault(
                    SmevFaultKind::MessageIsAlreadySent,
                    format!("Сообщение с идентификатором {id} уже было отправлено"),
                ));
            }
            let sid = st.next_sid;
            st.next_sid += 1;
            reply_to = reply_to_token(sid, &id, &kind.config.name, &caller.mnemonic);
            st.routes.insert(
                reply_to.clone(),
                Route {
                    consumer: caller.clone(),
                    consumer_simulated: false,
                    node_id: data.node_id.clone(),
                    provider: provider.mnemonic.clone(),
                    request_message_id: id.clone(),
                    reference_message_id: data.reference_message_id.clone(),
                    kind: kind_index,
                },
            );
        }
        let upload_problem = self.upload_problem(
            &caller.mnemonic,
            &data.ref_attachment_headers,
            &mut log.verification,
        );
        let async_fault = self
            .state()
            .injector
            .pick(Operation::SendRequest, Phase::Accept, |_| true);
        if let Some((description, status_queue)) = rejection(upload_problem, &async_fault, log) {
            self.async_rejection(
                caller,
                data.node_id.clone(),
                &id,
                &reply_to,
                InteractionStatus::RequestIsRejectedBySmev,
                &description,
                status_queue,
                Some(kind_index),
            )?;
        } else if let Some(FaultAction::NoAnswer { .. }) = &async_fault {
            log.injected = Some("no_answer".into());
        } else if kind.config.simulated {
            self.simulate_provider(kind_index, &data, caller, &reply_to);
        } else {
            let mut e = Entry::new(
                id.clone(),
                Payload {
                    sender_data,
                    sender_signature,
                    metadata: MessageMetadata {
                        id: None,
                        message_id: Some(id.clone()),
                        message_type: Some("REQUEST".into()),
                        sender: Some(Self::model_participant(caller)),
                        sending_timestamp: Some(now()),
                        recipient: Some(Self::model_participant(&provider)),
                        delivery_timestamp: None,
                        status: None,
                    },
                    original_message_id: None,
                    reference_message_id: None,
                    reply_to: Some(reply_to.clone()),
                    attachments,
                    fs_attachments: self.forward_uploads(
                        &id,
                        &caller.mnemonic,
                        &data.ref_attachment_headers,
                    ),
                },
                now(),
            );
            e.request_kind = Some(kind.request_root.clone());
            e.response_kind = Some(kind.response_root.clone());
            self.state()
                .boxes
                .entry(provider.mnemonic.clone())
                .or_default()
                .requests
                .push(e);
        }
        log.outcome = "accepted".into();
        let backdate = match &async_fault {
            Some(FaultAction::NoAnswer { backdate_days }) => {
                chrono::Duration::days(i64::from(*backdate_days))
            }
            _ => chrono::Duration::zero(),
        };
        let meta = MessageMetadata {
            id: Some(build::ID_SMEV.into()),
            message_id: Some(id),
            message_type: Some("REQUEST".into()),
            sender: Some(Self::model_participant(caller)),
            sending_timestamp: Some(now() - backdate),
            recipient: Some(Self::model_participant(&provider)),
            delivery_timestamp: None,
            status: Some(InteractionStatus::RequestIsQueued),
        };
        self.signed_answer(
            Operation::SendRequest,
            build::send_answer("SendRequestResponse", &meta),
            Vec::new(),
            log,
        )
    }

    /// Signs an answer with ЭП-СМЭВ, corrupting the signature when a rule says so.
    pub(super) fn signed_answer(
        &self,
        op: Operation,
        xml: Vec<u8>,
        parts: Vec<MimePart>,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let mut xml = self.smev_sign(xml)?;
        if self
            .state()
            .injector
            .pick(op, Phase::Delivery, |a| *a == FaultAction::CorruptSignature)
            .is_some()
            && corrupt_smev_signature(&mut xml)
        {
            log.injected = Some(match log.injected.take() {
                Some(i) => format!("{i}+corrupt_signature"),
                None => "corrupt_signature".into(),
            });
        }
        Ok(Outcome::Soap { xml, parts })
    }

    /// Builds a message a simulated sender signed: the sender data and its signature.
    pub(super) fn signed_response_pieces(
        &self,
        d: &SenderProvidedResponseData,
        by_smev: bool,
    ) -> Result<(String, Option<String>), SmevError> {
        let out = build::send_response(d, &[], AttachmentMode::Inline, false);
        let signer = if by_smev {
            &self.ids.smev
        } else {
            &self.ids.simulator
        };
        let signed = sign_envelope(out, signer.as_ref(), &d.id)?;
        pieces(&signed.xml)
    }

    pub(super) fn simulate_provider(
        &self,
        kind_index: usize,
        data: &SenderProvidedRequestData,
        consumer: &Participant,
        reply_to: &str,
    ) {
        let kind = &self.kinds[kind_index];
        let values = scenario::values(&data.content);
        let today = now().format("%Y-%m-%d").to_string();
        let extra = [
            ("message_id", data.message_id.clone()),
            ("sender", consumer.mnemonic.clone()),
            ("now", now().to_rfc3339()),
            ("today", today),
            ("new_uuid", uuid::Uuid::new_v4().to_string()),
        ];
        let planned = match kind.rule_for(&values) {
            Some(rule) => {
                let delay = self.state().injector.between(
                    rule.config.delay_ms,
                    rule.config.delay_max_ms.unwrap_or(rule.config.delay_ms),
                );
                scenario::plan(rule, &values, &extra, Duration::from_millis(delay))
            }
            None => vec![scenario::Planned {
                after: Duration::ZERO,
                content: ResponseContent::Rejected(vec![Rejection {
                    code: RejectionReasonCode::Failure,
                    description: "mock-smev: no scenario rule matches the request".into(),
                }]),
                attachments: Vec::new(),
                storage_files: Vec::new(),
            }],
        };
        let provider = Participant {
            mnemonic: kind.config.provider.clone(),
            name: kind.provider_name(),
        };
        for mut p in planned {
            let message_id = MessageId::new().to_string();
            let fs_attachments = self.offer_answer_files(&message_id, &mut p);
            let d = SenderProvidedResponseData {
                id: build::ID_PROVIDER.into(),
                message_id,
                to: reply_to.to_string(),
                content: p.content,
            };
            let (sender_data, sender_signature) = match self.signed_response_pieces(&d, false) {
                Ok(x) => x,
                Err(e) => {
                    tracing::error!(
                        "simulated provider {}: cannot sign its answer: {e}",
                        provider.mnemonic
                    );
                    continue;
                }
            };
            let visible = Instant::now()
                .checked_add(p.after)
                .unwrap_or_else(Instant::now);
            let sending = i64::try_from(p.after.as_millis())
                .ok()
                .and_then(chrono::Duration::try_milliseconds)
                .and_then(|d| now().checked_add_signed(d))
                .unwrap_or_else(now);
            let mut e = Entry::new(
                d.message_id.clone(),
                Payload {
                    sender_data,
                    sender_signature,
                    metadata: MessageMetadata {
                        id: None,
                        message_id: Some(d.message_id.clone()),
                        message_type: Some("RESPONSE".into()),
                        sender: Some(Self::model_participant(&provider)),
                        sending_timestamp: Some(sending),
                        recipient: Some(Self::model_participant(consumer)),
                        delivery_timestamp: None,
                        status: None,
                    },
                    original_message_id: Some(data.message_id.clone()),
                    reference_message_id: Some(
                        data.reference_message_id
                            .clone()
                            .unwrap_or_else(|| data.message_id.clone()),
                    ),
                    reply_to: None,
                    attachments: p.attachments,
                    fs_attachments,
                },
                sending,
            );
            e.request_kind = Some(kind.request_root.clone());
            e.response_kind = Some(kind.response_root.clone());
            e.node_id = data.node_id.clone();
            e.visible_at = visible;
            self.state()
                .boxes
                .entry(consumer.mnemonic.clone())
                .or_default()
                .responses
                .push(e);
        }
    }

    /// SMEV's asynchronous rejection of an accepted message, into the sender's response queue
    /// (and status queue).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn async_rejection(
        &self,
        sender: &Participant,
        node_id: Option<String>,
        original: &str,
        reply_to: &str,
        category: InteractionStatus,
        description: &str,
        status_queue: bool,
        kind: Option<usize>,
    ) -> Result<(), Fault> {
        let text = format!("{description} MessageId = {original}");
        let mut fault = checks::fault(SmevFaultKind::InvalidContent, format!("SMEV-403:{text}"));
        fault.code = Some("mock-smev:TSMEV3_ASYNC_CORE1:TR:ASYNC:PP:BSV:3".into());
        fault.details = vec![(
            "ValidationError".into(),
            "cvc-complex-type.2.4.b: содержимое бизнес-данных не соответствует схеме (имитация)"
                .into(),
        )];
        let status = AsyncProcessingStatus {
            original_message_id: original.to_string(),
            category,
            details: Some(text),
            fault: Some(*fault),
        };
        let d = SenderProvidedResponseData {
            id: build::ID_ASYNC_SMEV.into(),
            message_id: MessageId::new().to_string(),
            to: reply_to.to_string(),
            content: ResponseContent::AsyncProcessingStatus(status.clone()),
        };
        let (sender_data, sender_signature) =
            self.signed_response_pieces(&d, true).map_err(failure)?;
        let smev = self.smev_participant();
        let mut e = Entry::new(
            d.message_id.clone(),
            Payload {
                sender_data,
                sender_signature,
                metadata: MessageMetadata {
                    id: None,
                    message_id: Some(d.message_id.clone()),
                    message_type: Some("RESPONSE".into()),
                    sender: Some(Self::model_participant(&smev)),
                    sending_timestamp: Some(now()),
                    recipient: Some(Self::model_participant(sender)),
                    delivery_timestamp: None,
                    status: None,
                },
                original_message_id: Some(original.to_string()),
                reference_message_id: Some(original.to_string()),
                reply_to: None,
                attachments: Vec::new(),
                fs_attachments: Vec::new(),
            },
            now(),
        );
        if let Some(k) = kind {
            e.request_kind = Some(self.kinds[k].request_root.clone());
            e.response_kind = Some(self.kinds[k].response_root.clone());
        }
        e.node_id = node_id;
        let mut st = self.state();
        let mb = st.boxes.entry(sender.mnemonic.clone()).or_default();
        mb.responses.push(e);
        if status_queue {
            mb.statuses.push_back(status);
        }
        Ok(())
    }
}
