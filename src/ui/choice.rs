//! One choice of a `<select>` (a filter, a form's system or kind, a rejection code): the
//! submitted value and what staff read.

use serde::Serialize;

/// An option of a drop-down list.
#[derive(Debug, Serialize)]
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
}

impl Choice {
    pub(crate) fn new(value: impl Into<String>, label: impl Into<String>) -> Choice {
        Choice {
            value: value.into(),
            label: label.into(),
        }
    }
}
