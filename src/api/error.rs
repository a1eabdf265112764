//! API errors as RFC 7807 `application/problem+json`, each with a stable machine-readable
//! `code`. Internal errors are typed; this is the one place where they become HTTP.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::engine::intake::IntakeError;
use crate::smev::schema::SchemaError;
use crate::store::StoreError;

/// An API error.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<SchemaError>,
    /// `invalid_fields`: each field value that does not fit the kind's schema.
    pub field_errors: Vec<crate::xsd::build::FieldError>,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [SchemaError],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    field_errors: &'a [crate::xsd::build::FieldError],
}

/// Every error code with its HTTP status and title (documented in the README and OpenAPI).
pub const CODES: &[(&str, u16, &str)] = &[
    ("unauthorized", 401, "Missing or invalid bearer token"),
    ("forbidden", 403, "Not allowed"),
    ("not_found", 404, "No such resource"),
    ("answer_not_available", 404, "The request has no answer yet"),
    (
        "invalid_json",
        400,
        "The body is not valid JSON of the expected shape",
    ),
    ("invalid_xml", 422, "Business XML is not well-formed"),
    (
        "invalid_content",
        422,
        "Business XML cannot be sent through SMEV",
    ),
    (
        "wrong_root_element",
        422,
        "Business XML is not of the data kind",
    ),
    (
        "schema_violation",
        422,
        "Business XML violates the data kind's XSD",
    ),
    ("unknown_kind", 422, "Unknown data kind"),
    (
        "invalid_fields",
        422,
        "The field values do not fit the data kind's schema",
    ),
    (
        "kind_not_allowed",
        403,
        "The data kind is not enabled for this system",
    ),
    ("invalid_parameter", 400, "A parameter is invalid"),
    (
        "payload_too_large",
        413,
        "The body or a part of it is too large",
    ),
    ("conflict", 409, "The action does not fit the current state"),
    ("bad_signature", 422, "The personal signature was refused"),
    ("signing_failed", 500, "The gateway could not sign"),
    ("unsupported_media_type", 415, "Unsupported Content-Type"),
    ("storage_error", 503, "Storage unavailable"),
    (
        "method_not_allowed",
        405,
        "The endpoint does not support this HTTP method",
    ),
    (
        "request_timeout",
        408,
        "The request was not completed in time",
    ),
    (
        "too_many_requests",
        429,
        "Too many attempts; wait and try again",
    ),
    ("internal", 500, "Internal error"),
];

impl ApiError {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        let status = CODES
            .iter()
            .find(|(c, _, _)| *c == code)
            .and_then(|(_, s, _)| StatusCode::from_u16(*s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            field_errors: Vec::new(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new("not_found", format!("{what} not found"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = CODES
            .iter()
            .find(|(c, _, _)| *c == self.code)
            .map(|(_, _, t)| *t)
            .unwrap_or("Error");
        let body = Problem {
            kind: format!("https://smev-gateway.local/problems/{}", self.code),
            title,
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
            errors: &self.errors,
            field_errors: &self.field_errors,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut resp = (self.status, json).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"smev-gateway\""),
            );
        }
        resp
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        let detail = e.to_string();
        match e {
            IntakeError::UnknownSystem(_) => ApiError::new("forbidden", detail),
            IntakeError::UnknownKind(_) => ApiError::new("unknown_kind", detail),
            IntakeError::KindNotAllowed { .. } => ApiError::new("kind_not_allowed", detail),
            IntakeError::InvalidXml(x) => {
                let mut err = ApiError::new("invalid_xml", detail);
                if let crate::xml::XmlError::Malformed {
                    line,
                    column,
                    message,
                } = x
                {
                    err.errors.push(SchemaError {
                        line,
                        column,
                        message,
                    });
                }
                err
            }
            IntakeError::InvalidContent(_) => ApiError::new("invalid_content", detail),
            IntakeError::WrongRoot { .. } => ApiError::new("wrong_root_element", detail),
            IntakeError::SchemaViolation(errors) => {
                let mut err = ApiError::new("schema_violation", detail);
                err.errors = errors.0;
                err
            }
            IntakeError::TooLarge { .. } => ApiError::new("payload_too_large", detail),
            IntakeError::NotFound => ApiError::new("not_found", "not found"),
            IntakeError::Conflict(_) => ApiError::new("conflict", detail),
            IntakeError::BadSignature(_) => ApiError::new("bad_signature", detail),
            IntakeError::Invalid(_) => ApiError::new("invalid_parameter", detail),
            IntakeError::Signing(_) => ApiError::new("signing_failed", detail),
            IntakeError::Store(_) => ApiError::new("storage_error", detail),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::new("not_found", "not found"),
            StoreError::Conflict(m) => ApiError::new("conflict", m),
            StoreError::Lifecycle(e) => ApiError::new("conflict", e.to_string()),
            other => ApiError::new("storage_error", other.to_string()),
        }
    }
}
