//! Russian labels of states, as staff read them in the UI and agency systems show them
//! (`status_label` in the API and webhooks). Kept here, above the store, so storage never
//! carries presentation.

use crate::domain::{IncomingState, RequestState};

/// The request's status as staff see it.
pub fn request_state(state: RequestState) -> &'static str {
    match state {
        RequestState::Draft => "Черновик",
        RequestState::AwaitingPersonalSignature => "Ожидает подписи ЭП-СП",
        RequestState::Queued => "В очереди на отправку",
        RequestState::Sending => "Отправляется",
        RequestState::Sent => "Ожидает ответа",
        RequestState::Answered => "Ответ получен",
        RequestState::Rejected => "Отклонён",
        RequestState::Failed => "Ошибка",
        RequestState::Expired => "Срок истёк",
        RequestState::Cancelled => "Отменён",
    }
}

/// The incoming request's status as staff see it.
/// The state of an incoming request whose answer is a refusal: a refusal is not an answer, and
/// the clerk must see which one went out.
pub fn incoming_refusal_state(state: IncomingState) -> &'static str {
    match state {
        IncomingState::Received => "Получен, ожидает ответа",
        IncomingState::Responding => "Отказ отправляется",
        IncomingState::Responded => "Отказ отправлен",
        IncomingState::Failed => "Ошибка отправки отказа",
    }
}

pub fn incoming_state(state: IncomingState) -> &'static str {
    match state {
        IncomingState::Received => "Получен, ожидает ответа",
        IncomingState::Responding => "Ответ отправляется",
        IncomingState::Responded => "Ответ отправлен",
        IncomingState::Failed => "Ошибка отправки ответа",
    }
}
