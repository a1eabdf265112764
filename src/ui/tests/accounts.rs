//! UI accounts over restarts: sessions come back after a restart, «Запомнить меня» gives a
//! bounded persistent cookie, and a changed password replaces the configured one, ends the
//! user's other sessions and is audited.

use super::*;

/// The same store behind a new UI, as after a restart of the gateway.
async fn restarted(env: &Env) -> Env {
    Env {
        base: serve(env.ctx.clone()).await,
        ctx: env.ctx.clone(),
        _dir: tempfile::tempdir().unwrap(),
    }
}

#[tokio::test]
async fn a_session_survives_a_restart() {
    let env = start().await;
    let (sid, _) = login(&env, "operator").await;
    let after_restart = restarted(&env).await;
    let page = send(&after_restart, Method::GET, "/ui/cases", &sid, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Logging out ends it for good, after the next restart too.
    let csrf = page.hidden("csrf");
    let out = send(
        &after_restart,
        Method::POST,
        "/ui/logout",
        &sid,
        form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let again = restarted(&env).await;
    let page = send(&again, Method::GET, "/ui/cases", &sid, None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

#[tokio::test]
async fn remember_me_sets_a_bounded_persistent_cookie() {
    let env = start().await;
    let days = env.ctx.config.ui.remember_days;
    assert!(days > 0);
    let plain = post_login(&env, "operator", PASSWORD, false).await;
    let remembered = post_login(&env, "operator", PASSWORD, true).await;
    let max_age = |r: &Resp| {
        let c = r.cookie("smev_ui_session").unwrap();
        c.split("Max-Age=")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(max_age(&plain), env.ctx.config.ui.session_ttl_minutes * 60);
    assert_eq!(max_age(&remembered), days * 86_400);
    let page = send(&env, Method::GET, "/ui/login", "", None).await;
    assert!(page.body.contains(&format!("Запомнить меня на {days} дн.")));
}

#[tokio::test]
async fn a_changed_password_replaces_the_configured_one() {
    let env = start().await;
    let (sid, csrf) = login(&env, "operator").await;
    let (other, _) = login(&env, "operator").await;
    let new = "совсем-новый-пароль-2026";
    let change = |current: &'static str, repeat: &'static str| {
        let sid = sid.clone();
        let csrf = csrf.clone();
        let env = &env;
        async move {
            send(
                env,
                Method::POST,
                "/ui/password",
                &sid,
                form(&[
                    ("csrf", &csrf),
                    ("current", current),
                    ("new", new),
                    ("repeat", repeat),
                ]),
            )
            .await
        }
    };
    let r = change("неверный-пароль", new).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Текущий пароль введён неверно."),
        "{}",
        r.body
    );
    let r = change(PASSWORD, "другой-повтор-пароля").await;
    assert!(r.body.contains("не совпадают"), "{}", r.body);
    let r = change(PASSWORD, new).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/ui/password?done=changed");
    // This session goes on; the user's other one has ended.
    assert_eq!(
        send(&env, Method::GET, "/ui/cases", &sid, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(&env, Method::GET, "/ui/cases", &other, None)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    // The old password no longer opens a session; the new one does.
    assert_eq!(
        post_login(&env, "operator", PASSWORD, false).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post_login(&env, "operator", new, false).await.status,
        StatusCode::SEE_OTHER
    );
    let audit = env.ctx.store.audit_of("operator").unwrap();
    assert!(audit.iter().any(|e| e.action == "password_changed"));
}
