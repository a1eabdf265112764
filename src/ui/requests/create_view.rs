//! What the «Создать запрос» form and its preview show: the choices of system and kind, the
//! kind's fields with the values and errors typed so far, and the request as it will be sent.

use serde::Serialize;

use crate::config::{KindConfig, PersonalSignatureMode};
use crate::domain::CaseInfo;

use super::super::choice::Choice;
use super::super::forms::{FieldError, FieldSpec};
use super::super::xmltable::Row;
use super::signature_mode_label;

/// `new_request.html`: the form.
#[derive(Debug, Serialize)]
pub(super) struct NewRequestPage<'a> {
    pub title: &'static str,
    pub nav: &'static str,
    pub systems: Vec<Choice>,
    pub kinds: Vec<Choice>,
    /// The chosen system's id.
    pub system: &'a str,
    pub kind: KindSummary<'a>,
    pub case_fields: Vec<FieldSpec>,
    pub kind_fields: Vec<FieldSpec>,
    /// The form made from the kind's request schema (kinds without hand-written fields).
    pub schema_rows: Vec<super::super::schema_form::Row>,
    pub errors: &'a [FieldError],
    /// The message above the form, when it is refused as a whole.
    pub general: Option<String>,
    pub details: Vec<String>,
    /// The idempotency key that makes a double submit create one request.
    pub client_id: String,
}

/// The chosen kind, as the form introduces it.
#[derive(Debug, Serialize)]
pub(super) struct KindSummary<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub signature: &'static str,
    pub two_phase: bool,
    pub deadline_days: u32,
}

impl KindSummary<'_> {
    pub(super) fn of(kind: &KindConfig) -> KindSummary<'_> {
        KindSummary {
            id: &kind.id,
            name: &kind.name,
            signature: signature_mode_label(kind.personal_signature),
            two_phase: kind.personal_signature == PersonalSignatureMode::TwoPhase,
            deadline_days: kind.deadline_working_days,
        }
    }
}

/// `preview.html`: the request before it is sent.
#[derive(Debug, Serialize)]
pub(super) struct PreviewPage<'a> {
    pub title: &'static str,
    pub nav: &'static str,
    /// The posted form again, for «Изменить» and «Сохранить и отправить запрос».
    pub hidden: Vec<HiddenField<'a>>,
    pub xml: &'a str,
    pub rows: Vec<Row>,
    pub case: &'a CaseInfo,
    pub kind_name: &'a str,
    pub signature: &'static str,
    pub system_name: String,
    /// The most the «Сохранить и отправить запрос» form may carry (the UI's body limit), MB.
    pub max_files_mb: u64,
    /// Files above this many MB go through SMEV's file storage.
    pub inline_mb: u64,
}

/// A posted form field carried in a hidden input.
#[derive(Debug, Serialize)]
pub(super) struct HiddenField<'a> {
    pub name: &'a str,
    pub value: &'a str,
}
