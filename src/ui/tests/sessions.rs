//! Login, logout, audit, redirects and the roles' guard of pages.

use super::*;

#[tokio::test]
async fn login_logout_audit_and_redirects() {
    let env = start().await;
    // Root and /ui lead to the UI; pages need a session.
    let r = send(&env, Method::GET, "/", "", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/ui/");
    let r = send(&env, Method::GET, "/ui/cases?q=1", "", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/ui/login?next=%2Fui%2Fcases%3Fq%3D1");
    let r = send(&env, Method::GET, "/ui/status?ids=x", "", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The login page: Russian, its own double-submit cookie.
    let page = send(&env, Method::GET, "/ui/login", "", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<html lang=\"ru\">"));
    assert!(page.body.contains("Вход в шлюз СМЭВ"));
    let c = page.cookie("smev_ui_login").unwrap();
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"));
    assert!(page
        .headers
        .get("content-security-policy")
        .is_some_and(|v| v.to_str().unwrap().contains("script-src 'self'")));
    let login_cookie = cookie_pair(&c);
    let token = page.hidden("token");

    // A forged form (no matching token) is refused.
    let r = send(
        &env,
        Method::POST,
        "/ui/login",
        "",
        form(&[
            ("login", "operator"),
            ("password", PASSWORD),
            ("token", &token),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Форма входа устарела"));

    // A wrong password: 401, Russian, audited.
    let r = send(
        &env,
        Method::POST,
        "/ui/login",
        &login_cookie,
        form(&[
            ("login", "operator"),
            ("password", "nope"),
            ("token", &token),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Неверный логин или пароль."));
    assert!(r.cookie("smev_ui_session").is_none());
    let audit = env.ctx.store.audit_of("operator").unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "login_failed" && a.actor == "user:operator"));

    // Success: session cookie, audited; the user's name is escaped on the page.
    let (sid, csrf) = login(&env, "operator").await;
    let audit = env.ctx.store.audit_of("operator").unwrap();
    assert!(audit.iter().any(|a| a.action == "login"));
    let page = send(&env, Method::GET, "/ui/cases", &sid, None).await;
    assert!(page.body.contains("Тест operator &lt;b&gt;"));
    assert!(page.body.contains("оператор"));
    assert!(
        !page.body.contains("/ui/dead-letters\""),
        "operators get no admin link"
    );

    // Logout needs the CSRF token.
    let r = send(
        &env,
        Method::POST,
        "/ui/logout",
        &sid,
        form(&[("csrf", "bad")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("CSRF"));
    let r = send(
        &env,
        Method::POST,
        "/ui/logout",
        &sid,
        form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.cookie("smev_ui_session").unwrap().contains("Max-Age=0"));
    let r = send(&env, Method::GET, "/ui/cases", &sid, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let audit = env.ctx.store.audit_of("operator").unwrap();
    assert!(audit.iter().any(|a| a.action == "logout"));
}

#[tokio::test]
async fn roles_guard_pages() {
    let env = start().await;
    let (op, _) = login(&env, "operator").await;
    for path in ["/ui/dead-letters", "/ui/settings"] {
        let r = send(&env, Method::GET, path, &op, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(r
            .body
            .contains("Эта страница доступна только администратору."));
    }
    let r = send(&env, Method::GET, "/ui/monitoring", &op, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("руководителю"));

    let (sup, _) = login(&env, "supervisor").await;
    let r = send(&env, Method::GET, "/ui/monitoring", &sup, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Запросы по статусам"));
    let r = send(&env, Method::GET, "/ui/dead-letters", &sup, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let (admin, _) = login(&env, "admin").await;
    for path in [
        "/ui/dead-letters",
        "/ui/settings",
        "/ui/monitoring",
        "/ui/incoming",
    ] {
        let r = send(&env, Method::GET, path, &admin, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    let settings = send(&env, Method::GET, "/ui/settings", &admin, None).await;
    assert!(
        !settings.body.contains("$argon2"),
        "no password hashes shown"
    );
    assert!(settings
        .body
        .contains("Сведения о наличии (отсутствии) задолженности"));

    let r = send(&env, Method::GET, "/ui/no-such-page", &admin, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("Такой страницы нет"));
}

/// The POST routes of the UI's route table (read as source text), `{…}` segments filled in.
fn post_routes() -> Vec<String> {
    let source = include_str!("../mod.rs");
    let mut out = Vec::new();
    for chunk in source.split(".route(").skip(1) {
        let Some(path) = chunk.split('"').nth(1) else {
            continue;
        };
        let handlers = chunk.split(".route(").next().unwrap_or("");
        // The login form has no session yet; the catch-all only answers 404.
        if handlers.contains("post(") && path != "/ui/login" && !path.contains("{*") {
            let filled: Vec<String> = path
                .split('/')
                .map(|s| {
                    if s.starts_with('{') {
                        "x".to_string()
                    } else {
                        s.to_string()
                    }
                })
                .collect();
            out.push(filled.join("/"));
        }
    }
    out
}

#[tokio::test]
async fn every_post_route_refuses_a_form_without_its_csrf_token() {
    let env = start().await;
    let (sid, _csrf) = login(&env, "admin").await;
    let routes = post_routes();
    assert!(routes.len() >= 10, "{routes:?}");
    for path in routes {
        let plain = send(&env, Method::POST, &path, &sid, form(&[("csrf", "wrong")])).await;
        let parts = super::flows::multipart(&[("csrf", None, b"wrong")]);
        let multi = send(&env, Method::POST, &path, &sid, parts).await;
        for r in [&plain, &multi] {
            assert!(
                r.status.is_client_error(),
                "{path}: {} {}",
                r.status,
                r.body
            );
        }
        assert!(
            [plain.status, multi.status].contains(&StatusCode::FORBIDDEN),
            "{path}: neither body kind was refused for its CSRF token"
        );
    }
}
