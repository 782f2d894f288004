//! Accounts: activation from the emailed link, login, sessions, reset, and their attacks.

use crate::helpers::{TOWN, TestPortal, assert_problem, browser_of, call, portal};
use chrono::TimeDelta;
use serde_json::json;

const PENDING: &str = "linh.nguyen@exemple.fr";
const ACTIVE: &str = "sophie.martin@exemple.fr";
const PASSWORD: &str = local_portal::DEMO_PASSWORD;

async fn activate(p: &TestPortal, token: &str, password: &str) -> crate::helpers::Reply {
    p.post(&format!("/api/towns/{TOWN}/auth/activate"), json!({"token": token, "password": password}), None).await
}

#[tokio::test]
async fn pending_guardian_activates_from_the_emailed_link_then_logs_in_and_out() {
    let p = portal().await;
    assert_problem(
        &p.login(TOWN, PENDING, "un mot de passe quelconque").await.err().unwrap(),
        401,
        "invalid_credentials",
    );
    let mails = p.deliver().await;
    let mail = mails.iter().find(|m| m.to.as_str() == PENDING).expect("activation email");
    assert!(mail.content.subject.starts_with("Activez votre Espace Famille"));
    assert!(mail.content.text.contains("http://portail.test/activation.html?commune=villeneuve-les-tilleuls#jeton="));
    let token = p.link_token(PENDING).await;

    let weak = activate(&p, &token, "azertyuiop").await;
    assert_problem(&weak, 422, "weak_password");
    assert_eq!(weak.json["field"], "password");

    let browser = browser_of(activate(&p, &token, "les lilas du jardin").await).expect("activated and logged in");
    let me = p.get(&format!("/api/towns/{TOWN}/auth/session"), Some(&browser)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["email"], PENDING);
    assert_eq!(me.json["families"], json!(["nguyen"]));
    assert_eq!(me.headers["cache-control"], "no-store");

    let logout = p.post(&format!("/api/towns/{TOWN}/auth/logout"), json!({}), Some(&browser)).await;
    assert_eq!(logout.status, 204);
    assert!(logout.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    // The pages' hint that a session may be open goes with it.
    let cleared: Vec<&str> = logout.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(
        cleared.iter().any(|c| c.starts_with(&format!("ef_connecte_{TOWN}=;")) && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    assert_problem(&p.get(&format!("/api/towns/{TOWN}/auth/session"), Some(&browser)).await, 401, "unauthenticated");
    // A login sets the session (HttpOnly, the town's API path) and the hint (readable, path /).
    let login = p
        .post(
            &format!("/api/towns/{TOWN}/auth/login"),
            json!({"email": PENDING, "password": "les lilas du jardin"}),
            None,
        )
        .await;
    assert_eq!(login.status, 200);
    let set: Vec<&str> = login.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(set[0].starts_with("ef_session=") && set[0].contains("HttpOnly"), "{set:?}");
    assert!(
        set.iter().any(|c| c.starts_with(&format!("ef_connecte_{TOWN}=1;"))
            && c.contains("Path=/;")
            && !c.contains("HttpOnly")),
        "{set:?}"
    );

    let again = p.login(TOWN, PENDING, "les lilas du jardin").await.expect("logs in with the chosen password");
    assert_eq!(p.get(&format!("/api/towns/{TOWN}/families/nguyen"), Some(&again)).await.status, 200);
    p.stop().await;
}

#[tokio::test]
async fn an_activation_link_works_once() {
    let p = portal().await;
    let token = p.link_token(PENDING).await;
    assert_eq!(activate(&p, &token, "les lilas du jardin").await.status, 200);
    assert_problem(&activate(&p, &token, "un autre mot de passe").await, 404, "link_invalid");
    assert!(p.login(TOWN, PENDING, "un autre mot de passe").await.is_err());
    p.stop().await;
}

#[tokio::test]
async fn an_expired_link_says_so_and_a_new_one_can_be_asked_for() {
    let p = portal().await;
    let token = p.link_token(PENDING).await;
    p.clock.advance(TimeDelta::days(7) + TimeDelta::seconds(1));
    assert_problem(&activate(&p, &token, "les lilas du jardin").await, 410, "link_expired");
    let again = p.post(&format!("/api/towns/{TOWN}/auth/activation-link"), json!({"email": PENDING}), None).await;
    assert_eq!(again.status, 202);
    let fresh = p.link_token(PENDING).await;
    assert_ne!(fresh, token);
    assert_eq!(activate(&p, &fresh, "les lilas du jardin").await.status, 200);
    p.stop().await;
}

#[tokio::test]
async fn a_forged_token_is_refused() {
    let p = portal().await;
    assert_problem(&activate(&p, "pas-un-vrai-jeton", "les lilas du jardin").await, 404, "link_invalid");
    p.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_give_the_same_answer() {
    let p = portal().await;
    let wrong = p.login(TOWN, ACTIVE, "pas le bon mot de passe").await.err().unwrap();
    let unknown = p.login(TOWN, "personne@exemple.fr", "pas le bon mot de passe").await.err().unwrap();
    assert_eq!((wrong.status, &wrong.json), (unknown.status, &unknown.json));
    assert_problem(&wrong, 401, "invalid_credentials");
    let a = p.post(&format!("/api/towns/{TOWN}/auth/password-reset"), json!({"email": ACTIVE}), None).await;
    let b =
        p.post(&format!("/api/towns/{TOWN}/auth/password-reset"), json!({"email": "personne@exemple.fr"}), None).await;
    assert_eq!((a.status, &a.json), (b.status, &b.json));
    assert_eq!(a.status, 202);
    p.stop().await;
}

#[tokio::test]
async fn lockout_engages_after_repeated_failures_and_reset_still_works() {
    let p = portal().await;
    let limit = edge::auth::accounts::Throttle::default().per_account;
    for _ in 0..limit {
        assert_problem(
            &p.login(TOWN, ACTIVE, "pas le bon mot de passe").await.err().unwrap(),
            401,
            "invalid_credentials",
        );
    }
    let locked = p.login(TOWN, ACTIVE, PASSWORD).await.err().expect("refused even with the right password");
    assert_problem(&locked, 429, "too_many_attempts");
    assert!(locked.headers.contains_key("retry-after"));
    assert!(locked.json["title"].as_str().unwrap().contains("Mot de passe oublié"));
    // Another account from the same address is not locked (the address limit is higher).
    assert!(p.login(TOWN, "claire.bernard@exemple.fr", PASSWORD).await.is_ok());
    // The guardian can still reset the password, and the lock lifts with the hour.
    let reset = p.post(&format!("/api/towns/{TOWN}/auth/password-reset"), json!({"email": ACTIVE}), None).await;
    assert_eq!(reset.status, 202);
    assert!(p.link_token(ACTIVE).await.len() >= 43);
    p.clock.advance(TimeDelta::hours(1));
    assert!(p.login(TOWN, ACTIVE, PASSWORD).await.is_ok());
    p.stop().await;
}

#[tokio::test]
async fn password_reset_sets_a_new_password_and_ends_other_sessions() {
    let p = portal().await;
    let elsewhere = p.login(TOWN, ACTIVE, PASSWORD).await.unwrap();
    p.post(&format!("/api/towns/{TOWN}/auth/password-reset"), json!({"email": ACTIVE}), None).await;
    let token = p.link_token(ACTIVE).await;
    let confirm = p
        .post(
            &format!("/api/towns/{TOWN}/auth/password-reset/confirm"),
            json!({"token": token, "password": "un jardin en hiver"}),
            None,
        )
        .await;
    assert_eq!(confirm.status, 200, "{:?}", confirm.json);
    assert_problem(&p.get(&format!("/api/towns/{TOWN}/auth/session"), Some(&elsewhere)).await, 401, "unauthenticated");
    assert!(p.login(TOWN, ACTIVE, PASSWORD).await.is_err());
    assert!(p.login(TOWN, ACTIVE, "un jardin en hiver").await.is_ok());
    p.stop().await;
}

#[tokio::test]
async fn a_session_expires_when_idle() {
    let p = portal().await;
    let b = p.login(TOWN, ACTIVE, PASSWORD).await.unwrap();
    p.clock.advance(TimeDelta::minutes(59));
    assert_eq!(p.get(&format!("/api/towns/{TOWN}/auth/session"), Some(&b)).await.status, 200);
    p.clock.advance(TimeDelta::minutes(59));
    assert_eq!(p.get(&format!("/api/towns/{TOWN}/auth/session"), Some(&b)).await.status, 200, "use keeps it alive");
    p.clock.advance(TimeDelta::minutes(61));
    assert_problem(&p.get(&format!("/api/towns/{TOWN}/auth/session"), Some(&b)).await, 401, "unauthenticated");
    p.stop().await;
}

#[tokio::test]
async fn writes_without_the_csrf_token_are_refused() {
    let p = portal().await;
    let b = p.login(TOWN, ACTIVE, PASSWORD).await.unwrap();
    let forged = crate::helpers::Browser { csrf: "jeton-devine".into(), ..b.clone() };
    assert_problem(
        &p.post(&format!("/api/towns/{TOWN}/auth/logout"), json!({}), Some(&forged)).await,
        403,
        "csrf_token_invalid",
    );
    assert_eq!(p.get(&format!("/api/towns/{TOWN}/auth/session"), Some(&b)).await.status, 200, "still logged in");
    p.stop().await;
}

#[tokio::test]
async fn login_rotates_the_session() {
    let p = portal().await;
    let first = p.login(TOWN, ACTIVE, PASSWORD).await.unwrap();
    let r = call(
        &p.router,
        "POST",
        &format!("/api/towns/{TOWN}/auth/login"),
        &[("content-type", "application/json"), ("cookie", &first.cookie)],
        Some(json!({"email": ACTIVE, "password": PASSWORD}).to_string().into_bytes()),
    )
    .await;
    let second = browser_of(r).unwrap();
    assert_ne!(first.cookie, second.cookie);
    assert_problem(&p.get(&format!("/api/towns/{TOWN}/auth/session"), Some(&first)).await, 401, "unauthenticated");
    p.stop().await;
}

#[tokio::test]
async fn a_guardian_cannot_read_another_family_but_staff_can() {
    let p = portal().await;
    let sophie = p.login(TOWN, ACTIVE, PASSWORD).await.unwrap();
    let own = p.get(&format!("/api/towns/{TOWN}/families/martin"), Some(&sophie)).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.json["children_details"].as_array().unwrap().len(), 3);
    let other = p.get(&format!("/api/towns/{TOWN}/families/bernard"), Some(&sophie)).await;
    let missing = p.get(&format!("/api/towns/{TOWN}/families/nexiste-pas"), Some(&sophie)).await;
    assert_problem(&other, 404, "unknown_family");
    assert_eq!(other.json, missing.json, "learns nothing");
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    assert_eq!(p.get(&format!("/api/towns/{TOWN}/families/bernard"), Some(&agent)).await.status, 200);
    // Separated parents both see the child they share.
    let thomas = p.login(TOWN, "thomas.petit@exemple.fr", PASSWORD).await.unwrap();
    let petit = p.get(&format!("/api/towns/{TOWN}/families/petit"), Some(&thomas)).await;
    assert_eq!(petit.json["children_details"][0]["id"], "noe-bernard-petit");
    p.stop().await;
}

#[tokio::test]
async fn a_session_of_one_town_is_refused_by_another() {
    let p = portal().await;
    let mut other: serde_json::Value = serde_json::from_str(local_portal::DEMO_TOWN).unwrap();
    other["id"] = json!("autre-ville");
    other["name"] = json!("Autre-Ville");
    let auth = format!("Bearer {}", local_portal::LOCAL_OPERATOR_TOKEN);
    let put = call(
        &p.router,
        "PUT",
        "/api/operator/towns/autre-ville",
        &[("content-type", "application/json"), ("authorization", &auth)],
        Some(other.to_string().into_bytes()),
    )
    .await;
    assert_eq!(put.status, 201);
    let staff = call(
        &p.router,
        "POST",
        "/api/operator/towns/autre-ville/staff",
        &[("content-type", "application/json"), ("authorization", &auth)],
        Some(
            json!({"email": "mairie@autre-ville.fr", "first_name": "Léon", "last_name": "Blanc", "role": "town_admin"})
                .to_string()
                .into_bytes(),
        ),
    )
    .await;
    assert_eq!(staff.status, 201, "{:?}", staff.json);

    let sophie = p.login(TOWN, ACTIVE, PASSWORD).await.unwrap();
    assert_problem(&p.get("/api/towns/autre-ville/auth/session", Some(&sophie)).await, 401, "unauthenticated");
    assert_problem(&p.get("/api/towns/autre-ville/families/martin", Some(&sophie)).await, 401, "unauthenticated");
    // Town A's staff is nobody in town B either.
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    assert_problem(&p.get("/api/towns/autre-ville/staff/outbox/parked", Some(&agent)).await, 401, "unauthenticated");
    // The same email in town B has no password until activated there.
    assert!(p.login("autre-ville", ACTIVE, PASSWORD).await.is_err());
    // Town B's new administrator activates from the emailed link.
    let token = p.link_token("mairie@autre-ville.fr").await;
    let r = p
        .post(
            "/api/towns/autre-ville/auth/activate",
            json!({"token": token, "password": "une mairie bien tenue"}),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["role"], "town_admin");
    p.stop().await;
}

#[tokio::test]
async fn guardians_get_403_on_staff_routes() {
    let p = portal().await;
    let sophie = p.login(TOWN, ACTIVE, PASSWORD).await.unwrap();
    assert_problem(&p.get(&format!("/api/towns/{TOWN}/staff/outbox/parked"), Some(&sophie)).await, 403, "forbidden");
    p.stop().await;
}

#[tokio::test]
async fn login_bad_input_is_a_clear_4xx() {
    let p = portal().await;
    assert_problem(&p.login(TOWN, "pas-une-adresse", "x").await.err().unwrap(), 422, "invalid_email");
    assert_problem(&p.login("nulle-part", ACTIVE, PASSWORD).await.err().unwrap(), 404, "unknown_town");
    let r = p.post(&format!("/api/towns/{TOWN}/auth/login"), json!({"email": ACTIVE}), None).await;
    assert_problem(&r, 422, "invalid_body");
    p.stop().await;
}

#[tokio::test]
async fn an_email_that_keeps_failing_is_parked_and_shown_to_staff() {
    use services::mail::{notifier, sender::Mailer};
    let p = portal().await;
    // A mail folder that cannot be created: a file stands where it should be.
    let blocked = tempfile::NamedTempFile::new().unwrap();
    let broken = Mailer::Folder(blocked.path().join("mail"));
    for attempt in 1..=notifier::MAX_ATTEMPTS {
        let done = notifier::drain(&p.store_of("NotifierFunction"), &broken, p.clock.now()).await.unwrap();
        let expected = if attempt < notifier::MAX_ATTEMPTS { (1, 0) } else { (0, 1) };
        assert_eq!((done.retried, done.parked), expected, "attempt {attempt}");
        // Nothing is due again before the backoff has passed.
        assert_eq!(
            notifier::drain(&p.store_of("NotifierFunction"), &broken, p.clock.now()).await.unwrap(),
            notifier::Drained::default()
        );
        p.clock.advance(notifier::backoff(attempt) + TimeDelta::seconds(1));
    }
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let parked = p.get(&format!("/api/towns/{TOWN}/staff/outbox/parked"), Some(&agent)).await;
    assert_eq!(parked.status, 200);
    let mails = parked.json.as_array().unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["to"], PENDING);
    assert_eq!(mails[0]["attempts"], notifier::MAX_ATTEMPTS);
    assert!(mails[0]["last_error"].as_str().is_some_and(|e| !e.is_empty()));
    // A parked email is kept, not sent by later runs.
    assert_eq!(p.deliver().await.iter().filter(|m| m.to.as_str() == PENDING).count(), 0);
    p.stop().await;
}
