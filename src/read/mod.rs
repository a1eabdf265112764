//! Read models shared by the HTTP API and the web UI, below both: the views of records (with
//! the API's hrefs), Russian labels of states, history reasons as `{code, text}`, file
//! downloads, and the JSON of webhook events. Neither the API nor the UI borrows the other's
//! types; both build on these.

pub mod download;
pub mod history;
pub mod labels;
pub mod views;
pub mod webhook_payloads;
