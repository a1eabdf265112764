//! Who may do what in the UI. Roles are cumulative: «руководитель» can do everything an
//! «оператор» can, «администратор» everything a «руководитель» can. Independently of the role,
//! a user sees and acts only on the information systems listed for them (none listed: all).

use crate::config::Role;

/// What a page or an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See cases, requests, incoming requests.
    View,
    /// Create and send requests, sign ЭП-СП, answer incoming requests, cancel.
    Create,
    /// «Повторить отправку» of a failed, rejected or expired request: a supervisor's decision
    /// (a repeated interagency request is a new legal act of the agency).
    Retry,
    /// The monitoring page.
    Monitor,
    /// Dead letters and the settings view.
    Admin,
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Operator => 1,
        Role::Supervisor => 2,
        Role::Admin => 3,
    }
}

/// Whether `role` may perform `action`.
pub fn allows(role: Role, action: Action) -> bool {
    let needed = match action {
        Action::View | Action::Create => Role::Operator,
        Action::Retry | Action::Monitor => Role::Supervisor,
        Action::Admin => Role::Admin,
    };
    rank(role) >= rank(needed)
}

/// The role as staff call it.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Operator => "оператор",
        Role::Supervisor => "руководитель",
        Role::Admin => "администратор",
    }
}

/// Whether a user working for `user_systems` (empty: all) sees `system`.
pub fn sees_system(user_systems: &[String], system: &str) -> bool {
    user_systems.is_empty() || user_systems.iter().any(|s| s == system)
}

/// The Russian refusal for a missing permission.
pub fn refusal(action: Action) -> &'static str {
    match action {
        Action::View | Action::Create => "У вас нет прав на это действие.",
        Action::Retry => {
            "Повторную отправку запроса может выполнить только руководитель или администратор."
        }
        Action::Monitor => "Страница мониторинга доступна только руководителю и администратору.",
        Action::Admin => "Эта страница доступна только администратору.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_cumulative() {
        use Action::*;
        for a in [View, Create] {
            assert!(allows(Role::Operator, a));
            assert!(allows(Role::Supervisor, a));
            assert!(allows(Role::Admin, a));
        }
        assert!(!allows(Role::Operator, Retry));
        assert!(allows(Role::Supervisor, Retry));
        assert!(allows(Role::Admin, Retry));
        assert!(!allows(Role::Operator, Monitor));
        assert!(allows(Role::Supervisor, Monitor));
        assert!(allows(Role::Admin, Monitor));
        assert!(!allows(Role::Operator, Admin));
        assert!(!allows(Role::Supervisor, Admin));
        assert!(allows(Role::Admin, Admin));
    }

    #[test]
    fn systems() {
        assert!(sees_system(&[], "any"));
        let mine = vec!["is-main".to_string()];
        assert!(sees_system(&mine, "is-main"));
        assert!(!sees_system(&mine, "is-other"));
    }

    #[test]
    fn labels() {
        assert_eq!(role_label(Role::Operator), "оператор");
        assert_eq!(role_label(Role::Supervisor), "руководитель");
        assert_eq!(role_label(Role::Admin), "администратор");
        assert!(refusal(Action::Admin).contains("администратор"));
    }
}
