//! SendResponse, delivery through GetRequest/GetResponse (with redelivery of what is not
//! acknowledged), Ack and GetStatus.

use super::*;

impl Simulator {
    pub(super) fn send_response(
        &self,
        env: &Envelope,
        data: SenderProvidedResponseData,
        attachments: Vec<AttachmentContent>,
        caller: &Participant,
        mid: MessageId,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let (headers, ref_headers): (Vec<AttachmentHeader>, Vec<RefAttachmentHeader>) =
            match &data.content {
                ResponseContent::Primary {
                    attachment_headers,
                    ref_attachment_headers,
                    ..
                } => (attachment_headers.clone(), ref_attachment_headers.clone()),
                _ => (Vec::new(), Vec::new()),
            };
        self.send_checks(env, &mid, &headers, &attachments, &mut log.verification)?;
        let route = self.state().routes.get(data.to.trim()).cloned().ok_or_else(|| {
            checks::fault(
                SmevFaultKind::RecipientIsNotFound,
                "Получатель не найден: значение To не соответствует ни одному запросу (скопируйте ReplyTo полученного запроса)",
            )
        })?;
        if route.provider != caller.mnemonic {
            return Err(checks::fault(
                SmevFaultKind::AccessDenied,
                format!(
                    "Доступ запрещён: запрос {} адресован {}, а ответ отправляет {}",
                    route.request_message_id, route.provider, caller.mnemonic
                ),
            ));
        }
        let kind = &self.kinds[route.kind];
        log.kind = Some(qname_text(&kind.response_root));
        let (content_type, content_text) = match &data.content {
            ResponseContent::Primary { content, .. } => {
                let root = Self::business_root(content)?;
                log.kind = Some(qname_text(&root));
                if root != kind.response_root {
                    if self.kinds.iter().any(|k| k.request_root == root) {
                        return Err(checks::fault(
                            SmevFaultKind::IncorrectResponseContentType,
                            format!("Ответ содержит данные вида запроса {root}"),
                        ));
                    }
                    return Err(Self::not_supported(
                        &root,
                        "не является ответом на этот запрос",
                    ));
                }
                if kind.config.validate {
                    if let Some(schema) = &kind.schema {
                        checks::business(schema, content, &data.message_id, &mut log.verification)?;
                    }
                }
                ("answer", content.clone())
            }
            ResponseContent::Rejected(r) => (
                "rejection",
                r.iter()
                    .map(|x| format!("{}: {}", x.code.as_str(), x.description))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            ResponseContent::Status(s) => ("status", format!("{}: {}", s.code, s.description)),
            ResponseContent::AsyncProcessingStatus(_) => {
                return Err(checks::invalid_content(
                    "SMEV-400:AsyncProcessingStatus формирует только СМЭВ",
                    &["AsyncProcessingStatus is reserved to SMEV".to_string()],
                ))
            }
        };
        let id = data.message_id.clone();
        if !self.state().sent.insert(id.clone()) {
            return Err(checks::fault(
                SmevFaultKind::MessageIsAlreadySent,
                format!("Сообщение с идентификатором {id} уже было отправлено"),
            ));
        }
        let upload_problem =
            self.upload_problem(&caller.mnemonic, &ref_headers, &mut log.verification);
        let async_fault =
            self.state()
                .injector
                .pick(Operation::SendResponse, Phase::Accept, |_| true);
        if let Some((description, status_queue)) = rejection(upload_problem, &async_fault, log) {
            self.async_rejection(
                caller,
                None,
                &id,
                &data.to,
                InteractionStatus::ResponseIsRejectedBySmev,
                &description,
                status_queue,
                Some(route.kind),
            )?;
        } else if route.consumer_simulated {
            self.state().inbox.push(InboxEntry {
                received_at: now(),
                consumer: route.consumer.mnemonic.clone(),
                provider: caller.mnemonic.clone(),
                message_id: id.clone(),
                original_message_id: route.request_message_id.clone(),
                content_type: content_type.into(),
                content: content_text,
                attachments: attachments
                    .iter()
                    .map(|a| a.id.clone())
                    .chain(
                        ref_headers.iter().map(|h| {
                            format!("{}/{}", h.uuid, h.file_name.as_deref().unwrap_or(""))
                        }),
                    )
                    .collect(),
            });
        } else {
            let data_node = parse::signed_element(env)
                .ok_or_else(|| failure("no SenderProvidedResponseData"))?;
            let mut e = Entry::new(
                id.clone(),
                Payload {
                    sender_data: standalone(env, data_node),
                    sender_signature: parse::caller_signature(env).map(|s| standalone(env, s)),
                    metadata: MessageMetadata {
                        id: None,
                        message_id: Some(id.clone()),
                        message_type: Some("RESPONSE".into()),
                        sender: Some(Self::model_participant(caller)),
                        sending_timestamp: Some(now()),
                        recipient: Some(Self::model_participant(&route.consumer)),
                        delivery_timestamp: None,
                        status: None,
                    },
                    original_message_id: Some(route.request_message_id.clone()),
                    reference_message_id: Some(
                        route
                            .reference_message_id
                            .clone()
                            .unwrap_or_else(|| route.request_message_id.clone()),
                    ),
                    reply_to: None,
                    attachments,
                    fs_attachments: self.forward_uploads(&id, &caller.mnemonic, &ref_headers),
                },
                now(),
            );
            e.request_kind = Some(kind.request_root.clone());
            e.response_kind = Some(kind.response_root.clone());
            e.node_id = route.node_id.clone();
            self.state()
                .boxes
                .entry(route.consumer.mnemonic.clone())
                .or_default()
                .responses
                .push(e);
        }
        log.outcome = "accepted".into();
        let meta = MessageMetadata {
            id: Some(build::ID_SMEV.into()),
            message_id: Some(id),
            message_type: Some("RESPONSE".into()),
            sender: Some(Self::model_participant(caller)),
            sending_timestamp: Some(now()),
            recipient: Some(Self::model_participant(&route.consumer)),
            delivery_timestamp: None,
            status: Some(InteractionStatus::ResponseIsQueued),
        };
        self.signed_answer(
            Operation::SendResponse,
            build::send_answer("SendResponseResponse", &meta),
            Vec::new(),
            log,
        )
    }

    pub(super) fn deliver(
        &self,
        op: Operation,
        caller: &Participant,
        s: &MessageTypeSelector,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let (answer_el, is_request) = if op == Operation::GetRequest {
            ("GetRequestResponse", true)
        } else {
            ("GetResponseResponse", false)
        };
        if let Some(k) = &s.kind {
            log.kind = Some(qname_text(k));
            let known = self
                .kinds
                .iter()
                .any(|x| x.request_root == *k || (!is_request && x.response_root == *k));
            if !known {
                return Err(checks::fault(
                    SmevFaultKind::UnknownMessageType,
                    format!("Неизвестный тип сообщения в MessageTypeSelector: {k}"),
                ));
            }
        }
        let filter = Filter {
            kind: s.kind.clone(),
            either_root: !is_request,
            node_id: if is_request {
                None
            } else {
                Some(s.node_id.clone())
            },
        };
        let taken = {
            let mut st = self.state();
            let mb = st.boxes.entry(caller.mnemonic.clone()).or_default();
            let q = if is_request {
                &mut mb.requests
            } else {
                &mut mb.responses
            };
            let taken = q.take(&filter, self.redelivery);
            if let Some(e) = &taken {
                if st
                    .injector
                    .pick(op, Phase::Delivery, |a| {
                        *a == FaultAction::DuplicateDelivery
                    })
                    .is_some()
                {
                    let mb = st.boxes.entry(caller.mnemonic.clone()).or_default();
                    let q = if is_request {
                        &mut mb.requests
                    } else {
                        &mut mb.responses
                    };
                    q.duplicate(&e.message_id);
                    log.injected = Some("duplicate_delivery".into());
                }
                st.counts
                    .entry(e.message_id.clone())
                    .or_default()
                    .deliveries += 1;
            }
            taken
        };
        let Some(e) = taken else {
            log.outcome = "empty".into();
            return Ok(Outcome::Soap {
                xml: build::empty_answer(answer_el),
                parts: Vec::new(),
            });
        };
        log.outcome = "delivered".into();
        log.delivered_message_id = Some(e.message_id.clone());
        let mut metadata = e.payload.metadata.clone();
        metadata.delivery_timestamp = Some(now());
        metadata.status = Some(InteractionStatus::MessageIsDelivered);
        let p = &e.payload;
        let delivery = Delivery {
            sender_data: &p.sender_data,
            sender_signature: p.sender_signature.as_deref(),
            metadata,
            original_message_id: p.original_message_id.as_deref(),
            reference_message_id: p.reference_message_id.as_deref(),
            reply_to: p.reply_to.as_deref(),
            attachments: &p.attachments,
            fs_attachments: &p.fs_attachments,
        };
        let (xml, parts) = if is_request {
            build::get_request_answer(&delivery, self.mode())
        } else {
            build::get_response_answer(&delivery, self.mode())
        };
        self.signed_answer(op, xml, parts, log)
    }

    pub(super) fn ack(
        &self,
        caller: &Participant,
        message_id: &str,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let id = message_id.trim();
        let found = {
            let mut st = self.state();
            let mb = st.boxes.entry(caller.mnemonic.clone()).or_default();
            let found = mb.requests.ack(id) | mb.responses.ack(id);
            if found {
                st.counts.entry(id.to_string()).or_default().acks += 1;
            }
            found
        };
        if found {
            self.close_files(id);
        }
        if !found {
            return Err(checks::fault(
                SmevFaultKind::TargetMessageIsNotFound,
                format!("Неподтверждённое сообщение с идентификатором {id} не найдено"),
            ));
        }
        log.outcome = "acknowledged".into();
        Ok(Outcome::Soap {
            xml: build::empty_answer("AckResponse"),
            parts: Vec::new(),
        })
    }

    pub(super) fn get_status(
        &self,
        caller: &Participant,
        log: &mut LogEntry,
    ) -> Result<Outcome, Fault> {
        let status = self
            .state()
            .boxes
            .entry(caller.mnemonic.clone())
            .or_default()
            .statuses
            .pop_front();
        match status {
            None => {
                log.outcome = "empty".into();
                Ok(Outcome::Soap {
                    xml: build::empty_answer("GetStatusResponse"),
                    parts: Vec::new(),
                })
            }
            Some(s) => {
                log.outcome = "delivered".into();
                log.delivered_message_id = Some(s.original_message_id.clone());
                self.signed_answer(
                    Operation::GetStatus,
                    build::get_status_answer(&s),
                    Vec::new(),
                    log,
                )
            }
        }
    }
}
