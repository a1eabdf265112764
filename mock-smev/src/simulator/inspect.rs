//! What the admin API reads and resets: the call log, counters, statistics, the inbox and faults.

use super::*;

impl Simulator {
    /// Received calls, oldest first, filtered.
    pub fn messages(&self, f: &LogFilter) -> Vec<LogEntry> {
        let st = self.state();
        let mut out: Vec<LogEntry> = st
            .log
            .iter()
            .filter(|e| f.since_seq.is_none_or(|s| e.seq > s))
            .filter(|e| {
                f.operation
                    .as_deref()
                    .is_none_or(|o| e.operation.as_str().eq_ignore_ascii_case(o))
            })
            .filter(|e| {
                f.message_id.as_deref().is_none_or(|m| {
                    e.message_id.as_deref() == Some(m)
                        || e.delivered_message_id.as_deref() == Some(m)
                })
            })
            .filter(|e| {
                f.caller
                    .as_deref()
                    .is_none_or(|c| e.caller.as_deref() == Some(c))
            })
            .filter(|e| f.outcome.as_deref().is_none_or(|o| e.outcome == o))
            .cloned()
            .collect();
        if let Some(limit) = f.limit {
            let skip = out.len().saturating_sub(limit);
            out.drain(..skip);
        }
        out
    }

    /// Counters of one MessageID.
    pub fn count(&self, message_id: &str) -> CountView {
        let st = self.state();
        CountView {
            message_id: message_id.to_string(),
            counts: st.counts.get(message_id).copied().unwrap_or_default(),
            log_entries: st
                .log
                .iter()
                .filter(|e| {
                    e.message_id.as_deref() == Some(message_id)
                        || e.delivered_message_id.as_deref() == Some(message_id)
                })
                .count(),
        }
    }

    pub fn stats(&self) -> Stats {
        let st = self.state();
        Stats {
            uptime_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            queues: st
                .boxes
                .iter()
                .map(|(k, mb)| {
                    (
                        k.clone(),
                        MailboxStats {
                            requests: mb.requests.depth(self.redelivery),
                            responses: mb.responses.depth(self.redelivery),
                            statuses: mb.statuses.len(),
                        },
                    )
                })
                .collect(),
            operations: st.stats.clone(),
            accepted_message_ids: st.sent.len(),
            inbox: st.inbox.len(),
            fault_rules: st.injector.list().len(),
            log_entries: st.log.len(),
            gost_signs: smev_protocol::dsig::operations::totals().0,
            gost_verifies: smev_protocol::dsig::operations::totals().1,
        }
    }

    pub fn inbox(&self) -> Vec<InboxEntry> {
        self.state().inbox.clone()
    }

    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64, AdminError> {
        Ok(self.state().injector.add(spec)?)
    }

    pub fn remove_fault(&self, id: u64) -> bool {
        self.state().injector.remove(id)
    }

    pub fn clear_faults(&self) {
        self.state().injector.clear();
    }

    pub fn faults(&self) -> Vec<RuleView> {
        self.state().injector.list()
    }

    /// Back to the initial state: empty queues, logs and counters, the configured fault rules
    /// and consumer settings.
    pub fn reset(&self) {
        let mut injector = Injector::new(self.config.smev.seed);
        for f in &self.config.faults {
            // Validated at start, so a refusal here cannot happen.
            if let Err(e) = injector.add(f.clone()) {
                tracing::error!(error = %e, "fault rule refused on reset");
            }
        }
        let mut st = self.state();
        st.boxes.clear();
        st.names.clear();
        st.sent.clear();
        st.counts.clear();
        st.routes.clear();
        st.log.clear();
        st.stats.clear();
        st.inbox.clear();
        st.injector = injector;
        st.consumers = consumers_state(&self.consumers);
    }
}
