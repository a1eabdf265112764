//! What the layout (`base.html`) shows around every page: the logged-in user's block with the
//! menu items their role opens, and the CSRF token of the logout form.

use serde::Serialize;

use super::access::{self, Action};
use super::{role_id, User};

/// A page inside the layout.
#[derive(Debug, Serialize)]
pub(crate) struct Layout<'a, T: Serialize> {
    /// None on the login page.
    pub me: Option<Me>,
    pub csrf: Option<&'a str>,
    #[serde(flatten)]
    pub page: &'a T,
}

/// The logged-in user as the header shows them.
#[derive(Debug, Serialize)]
pub(crate) struct Me {
    pub login: String,
    pub name: String,
    pub role: &'static str,
    pub role_label: &'static str,
    pub can_monitor: bool,
    pub can_admin: bool,
    pub can_create: bool,
    pub can_retry: bool,
}

impl Me {
    pub(crate) fn of(u: &User) -> Me {
        Me {
            login: u.s.login.clone(),
            name: u.s.name.clone(),
            role: role_id(u.s.role),
            role_label: access::role_label(u.s.role),
            can_monitor: access::allows(u.s.role, Action::Monitor),
            can_admin: access::allows(u.s.role, Action::Admin),
            can_create: access::allows(u.s.role, Action::Create),
            can_retry: access::allows(u.s.role, Action::Retry),
        }
    }
}
