//! Simulated consumers: requests injected by the admin API or sent on a timer, and their settings.

use super::*;

impl Simulator {
    /// Puts a request of a simulated consumer into a participant's GetRequest queue.
    pub fn inject_request(&self, req: InjectRequest) -> Result<Injected, AdminError> {
        let kind_index = self
            .kinds
            .iter()
            .position(|k| k.config.name == req.kind)
            .ok_or_else(|| AdminError::NotFound(format!("unknown kind {:?}", req.kind)))?;
        let kind = &self.kinds[kind_index];
        let to = match &req.to {
            Some(t) => t.clone(),
            None if !kind.config.simulated => kind.config.provider.clone(),
            None => {
                return Err(AdminError::BadRequest(format!(
                    "kind {} is answered by a simulated provider: give \"to\" (the participant that should receive the request)",
                    kind.config.name
                )))
            }
        };
        let from = Participant {
            mnemonic: req.from.clone().unwrap_or_else(|| "CONSUMER".into()),
            name: req
                .from_name
                .clone()
                .unwrap_or_else(|| "Имитация потребителя (mock-smev)".into()),
        };
        let today = now().format("%Y-%m-%d").to_string();
        let extra = [
            ("now", now().to_rfc3339()),
            ("today", today),
            ("new_uuid", uuid::Uuid::new_v4().to_string()),
            ("sender", from.mnemonic.clone()),
        ];
        let content = match &req.content {
            Some(c) => c.clone(),
            None => {
                let t = kind.sample_request.as_deref().ok_or_else(|| {
                    AdminError::BadRequest(format!(
                        "kind {} has no sample_request: give \"content\"",
                        kind.config.name
                    ))
                })?;
                scenario::render(t, &Values::default(), &extra).map_err(AdminError::BadRequest)?
            }
        };
        let (content, root) =
            build::business_content(&content).map_err(|e| AdminError::BadRequest(e.to_string()))?;
        if root != kind.request_root {
            return Err(AdminError::BadRequest(format!(
                "content root {root} is not the request root {} of kind {}",
                kind.request_root, kind.config.name
            )));
        }
        if kind.config.validate {
            if let Some(schema) = &kind.schema {
                schema.validate(content.as_bytes()).map_err(|e| {
                    AdminError::BadRequest(format!("content violates the kind's schema: {e}"))
                })?;
            }
        }
        let files = {
            let list = req.attachments.clone();
            let mut out = Vec::new();
            for (i, a) in list.iter().enumerate() {
                let bytes = resources::read(&a.file, &self.config.base_dir)
                    .map_err(|e| AdminError::BadRequest(e.to_string()))?;
                let id = a.content_id.clone().unwrap_or_else(|| {
                    scenario::content_id_from(
                        a.file
                            .rsplit(['/', '\\', ':'])
                            .next()
                            .unwrap_or("attachment"),
                    )
                });
                let id = if out
                    .iter()
                    .any(|(h, _): &(AttachmentHeader, AttachmentContent)| h.content_id == id)
                {
                    format!("{id}-{i}")
                } else {
                    id
                };
                out.push((
                    AttachmentHeader {
                        content_id: id.clone(),
                        mime_type: a.mime_type.clone(),
                        signature_pkcs7: None,
                    },
                    AttachmentContent { id, content: bytes },
                ));
            }
            out
        };
        let mut storage_files = Vec::new();
        if !req.storage_files.is_empty() {
            let storage = self.file_storage.as_ref().ok_or_else(|| {
                AdminError::BadRequest("storage_files need [file_storage] listen".into())
            })?;
            for f in &req.storage_files {
                storage_files.push(
                    storage
                        .prepare(f, &self.config.base_dir, self.ids.simulator.as_ref())
                        .map_err(|e| AdminError::BadRequest(e.to_string()))?,
                );
            }
        }
        self.inject(
            kind_index,
            &from,
            &to,
            content,
            (files, &storage_files),
            req.node_id.clone(),
            req.test_message,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn inject(
        &self,
        kind_index: usize,
        from: &Participant,
        to: &str,
        content: String,
        (files, storage_files): (Vec<(AttachmentHeader, AttachmentContent)>, &[StoredFile]),
        node_id: Option<String>,
        test_message: bool,
    ) -> Result<Injected, AdminError> {
        let kind = &self.kinds[kind_index];
        let message_id = MessageId::new().to_string();
        // Files through the file storage: offered under fresh UUIDs, named in the signed data.
        let (ref_headers, fs_attachments) = match (&self.file_storage, storage_files.is_empty()) {
            (Some(storage), false) => storage
                .publish(&message_id, storage_files)
                .map_err(|e| AdminError::BadRequest(format!("file storage: {e}")))?,
            _ => (Vec::new(), Vec::new()),
        };
        let d = SenderProvidedRequestData {
            id: build::ID_CONSUMER.into(),
            message_id: message_id.clone(),
            reference_message_id: None,
            transaction_code: None,
            node_id,
            eol: None,
            content,
            personal_signature: None,
            attachment_headers: files.iter().map(|(h, _)| h.clone()).collect(),
            ref_attachment_headers: ref_headers,
            test_message,
        };
        let out = build::send_request(&d, &[], AttachmentMode::Inline, false);
        let signed = sign_envelope(out, self.ids.simulator.as_ref(), build::ID_CONSUMER)
            .map_err(|e| AdminError::BadRequest(format!("cannot sign: {e}")))?;
        let (sender_data, sender_signature) =
            pieces(&signed.xml).map_err(|e| AdminError::BadRequest(e.to_string()))?;
        let mut st = self.state();
        let recipient = self.participant_named(&st, to);
        let sid = st.next_sid;
        st.next_sid += 1;
        let reply_to = reply_to_token(sid, &message_id, &kind.config.name, &from.mnemonic);
        st.routes.insert(
            reply_to.clone(),
            Route {
                consumer: from.clone(),
                consumer_simulated: true,
                node_id: None,
                provider: to.to_string(),
                request_message_id: message_id.clone(),
                reference_message_id: None,
                kind: kind_index,
            },
        );
        st.sent.insert(message_id.clone());
        let mut e = Entry::new(
            message_id.clone(),
            Payload {
                sender_data,
                sender_signature,
                metadata: MessageMetadata {
                    id: None,
                    message_id: Some(message_id.clone()),
                    message_type: Some("REQUEST".into()),
                    sender: Some(Self::model_participant(from)),
                    sending_timestamp: Some(now()),
                    recipient: Some(Self::model_participant(&recipient)),
                    delivery_timestamp: None,
                    status: None,
                },
                original_message_id: None,
                reference_message_id: None,
                reply_to: Some(reply_to.clone()),
                attachments: files.into_iter().map(|(_, c)| c).collect(),
                fs_attachments,
            },
            now(),
        );
        e.request_kind = Some(kind.request_root.clone());
        e.response_kind = Some(kind.response_root.clone());
        st.boxes.entry(to.to_string()).or_default().requests.push(e);
        drop(st);
        let mut log = LogEntry::new(Operation::SendRequest);
        log.source = "simulated";
        log.caller = Some(from.mnemonic.clone());
        log.message_id = Some(message_id.clone());
        log.kind = Some(qname_text(&kind.request_root));
        log.outcome = "accepted".into();
        self.record(log);
        Ok(Injected {
            message_id,
            reply_to,
            to: to.to_string(),
            from: from.mnemonic.clone(),
            kind: kind.config.name.clone(),
        })
    }

    /// Sends the requests of enabled simulated consumers that are due.
    pub fn tick_consumers(&self) {
        let due: Vec<usize> = {
            let mut st = self.state();
            let now_i = Instant::now();
            let mut due = Vec::new();
            for (i, c) in st.consumers.iter_mut().enumerate() {
                if c.enabled && c.next_due <= now_i {
                    match now_i.checked_add(c.every) {
                        Some(t) => c.next_due = t,
                        None => c.enabled = false,
                    }
                    c.sent += 1;
                    due.push(i);
                }
            }
            due
        };
        for i in due {
            let c = &self.consumers[i];
            let Some(kind_index) = self
                .kinds
                .iter()
                .position(|k| k.config.name == c.config.kind)
            else {
                continue;
            };
            let today = now().format("%Y-%m-%d").to_string();
            let extra = [
                ("now", now().to_rfc3339()),
                ("today", today),
                ("new_uuid", uuid::Uuid::new_v4().to_string()),
                ("sender", c.config.mnemonic.clone()),
            ];
            let result = scenario::render(&c.template, &Values::default(), &extra)
                .and_then(|xml| {
                    build::business_content(&xml)
                        .map(|(x, _)| x)
                        .map_err(|e| e.to_string())
                })
                .map_err(AdminError::BadRequest)
                .and_then(|content| {
                    let from = Participant {
                        mnemonic: c.config.mnemonic.clone(),
                        name: c
                            .config
                            .name
                            .clone()
                            .unwrap_or_else(|| c.config.mnemonic.clone()),
                    };
                    let files = c
                        .attachments
                        .iter()
                        .map(|a| (a.header.clone(), a.content.clone()))
                        .collect();
                    self.inject(
                        kind_index,
                        &from,
                        &c.config.to,
                        content,
                        (files, &[]),
                        None,
                        c.config.test_message,
                    )
                });
            match result {
                Ok(i) => tracing::info!(
                    "consumer {} sent request {} to {}",
                    c.config.mnemonic,
                    i.message_id,
                    i.to
                ),
                Err(e) => tracing::warn!("consumer {}: {e}", c.config.mnemonic),
            }
        }
    }

    /// Switches a simulated consumer on or off and/or changes its period.
    pub fn set_consumer(
        &self,
        mnemonic: &str,
        enabled: Option<bool>,
        every_secs: Option<u64>,
    ) -> Result<ConsumerView, AdminError> {
        let i = self
            .consumers
            .iter()
            .position(|c| c.config.mnemonic == mnemonic)
            .ok_or_else(|| AdminError::NotFound(format!("unknown consumer {mnemonic:?}")))?;
        {
            let mut st = self.state();
            let c = &mut st.consumers[i];
            if let Some(s) = every_secs {
                c.every = Duration::from_secs(s.clamp(1, MAX_PERIOD_SECS));
            }
            if let Some(e) = enabled {
                if e && !c.enabled {
                    c.next_due = Instant::now();
                }
                c.enabled = e;
            }
        }
        self.consumers_view()
            .into_iter()
            .nth(i)
            .ok_or_else(|| AdminError::NotFound(mnemonic.to_string()))
    }

    pub fn consumers_view(&self) -> Vec<ConsumerView> {
        let st = self.state();
        self.consumers
            .iter()
            .zip(st.consumers.iter())
            .map(|(c, s)| ConsumerView {
                mnemonic: c.config.mnemonic.clone(),
                kind: c.config.kind.clone(),
                to: c.config.to.clone(),
                enabled: s.enabled,
                every_secs: s.every.as_secs(),
                sent: s.sent,
            })
            .collect()
    }
}
