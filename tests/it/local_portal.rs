//! The local portal over real HTTP: it starts, serves the demo town and the pages, and keeps
//! its data across a restart.

use local_portal::{LOCAL_OPERATOR_TOKEN, Options};
use serde_json::Value;
use std::path::Path;
use tokio::sync::oneshot;

struct Running {
    url: String,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops the server and waits until it has released the data folder.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

async fn start(data_dir: &Path, reset: bool) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // As `cargo run` starts it: the system clock, the background notifier, its own address.
    let opts = Options {
        reset,
        public_url: url.clone(),
        notifier: true,
        s3_endpoint: Some(url.clone()),
        ..Options::demo(data_dir, edge::clock::Clock::system())
    };
    let portal = local_portal::build(&opts).await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let app = portal.router.clone().into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        portal.stop().await;
    });
    Running { url, stop, task }
}

async fn get_json(url: &str) -> (u16, Value) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[test]
fn demo_data_is_consistent() {
    let (town, families) = local_portal::demo_data().unwrap();
    assert_eq!(town.config().activities.len(), 4);
    assert_eq!(families.families.len(), 4);
    let martin = families.families.iter().find(|f| f.reference.as_str() == "martin").unwrap();
    assert_eq!(martin.children.len(), 3);
    let shared_child =
        families.families.iter().filter(|f| f.children.iter().any(|c| c.as_str() == "noe-bernard-petit")).count();
    assert_eq!(shared_child, 2, "separated parents share Noé");
}

#[tokio::test]
async fn serves_the_demo_town_pages_and_health_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let portal = start(dir.path(), false).await;
    let (status, health) = get_json(&format!("{}/health", portal.url)).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    assert_eq!(health["store"], "embedded");
    let (status, town) = get_json(&format!("{}/api/towns/villeneuve-les-tilleuls", portal.url)).await;
    assert_eq!(status, 200);
    assert_eq!(town["name"], "Villeneuve-les-Tilleuls");
    let page = reqwest::get(format!("{}/", portal.url)).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("<html lang=\"fr\">"));
    let (status, problem) =
        get_json(&format!("{}/api/towns/villeneuve-les-tilleuls/days/2026-13-01", portal.url)).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_date")));
    let missing = reqwest::get(format!("{}/nothing.html", portal.url)).await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(missing.headers()["content-type"], "application/problem+json");
    portal.stop().await;
}

#[tokio::test]
async fn data_survives_a_restart_and_reset_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let portal = start(dir.path(), false).await;
    let mut cfg: Value = serde_json::from_str(local_portal::DEMO_TOWN).unwrap();
    cfg["name"] = Value::String("Villeneuve (modifiée)".into());
    let res = reqwest::Client::new()
        .put(format!("{}/api/operator/towns/villeneuve-les-tilleuls", portal.url))
        .bearer_auth(LOCAL_OPERATOR_TOKEN)
        .json(&cfg)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    portal.stop().await;

    let again = start(dir.path(), false).await;
    let (_, town) = get_json(&format!("{}/api/towns/villeneuve-les-tilleuls", again.url)).await;
    assert_eq!(town["name"], "Villeneuve (modifiée)");
    again.stop().await;

    let reset = start(dir.path(), true).await;
    let (_, town) = get_json(&format!("{}/api/towns/villeneuve-les-tilleuls", reset.url)).await;
    assert_eq!(town["name"], "Villeneuve-les-Tilleuls");
    reset.stop().await;
}

/// Waits (a bounded time) for the background notifier to write an email to `to`.
async fn wait_for_mail(dir: &Path, to: &str) -> local_portal::devmail::Sent {
    for _ in 0..100 {
        if let Some(m) =
            local_portal::devmail::read_all(&dir.join("mail")).await.into_iter().find(|m| m.to.as_str() == to)
        {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no email to {to} within 10 s");
}

#[tokio::test]
async fn import_email_activation_login_and_logout_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let portal = start(dir.path(), false).await;
    let base = format!("{}/api/towns/villeneuve-les-tilleuls", portal.url);
    let http = reqwest::Client::new();
    let session_of = |res: &reqwest::Response| -> String {
        res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
    };

    let res = http
        .post(format!("{base}/auth/login"))
        .json(
            &serde_json::json!({"email": "mairie@villeneuve-les-tilleuls.fr", "password": local_portal::DEMO_PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let staff_cookie = session_of(&res);
    let staff: Value = res.json().await.unwrap();
    let csv = "famille_reference;famille_nom;responsable1_prenom;responsable1_nom;responsable1_email;enfant_id;enfant_prenom;enfant_nom;enfant_naissance\n\
               durand;Famille Durand;Paul;Durand;paul.durand@exemple.fr;zoe-durand;Zoé;Durand;03/03/2019\n";
    let res = http
        .post(format!("{base}/staff/families/import"))
        .header("content-type", "text/csv")
        .header("cookie", &staff_cookie)
        .header("x-csrf-token", staff["csrf_token"].as_str().unwrap())
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    let mail = wait_for_mail(dir.path(), "paul.durand@exemple.fr").await;
    let page = format!("{}/activation.html?commune=villeneuve-les-tilleuls#jeton=", portal.url);
    let start_at = mail.content.text.find(&page).expect("the link to the local page") + page.len();
    let token: String = mail.content.text[start_at..].split_whitespace().next().unwrap().to_owned();
    let listed = reqwest::get(format!("{}/dev/mail", portal.url)).await.unwrap().text().await.unwrap();
    assert!(listed.contains("paul.durand@exemple.fr"));

    let res = http
        .post(format!("{base}/auth/activate"))
        .json(&serde_json::json!({"token": token, "password": "la famille Durand"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let res = http
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"email": "paul.durand@exemple.fr", "password": "la famille Durand"}))
        .send()
        .await
        .unwrap();
    let cookie = session_of(&res);
    let me: Value = res.json().await.unwrap();
    let family = http.get(format!("{base}/families/durand")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(family.status().as_u16(), 200);
    let logout = http
        .post(format!("{base}/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", me["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status().as_u16(), 204);
    let after = http.get(format!("{base}/families/durand")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(after.status().as_u16(), 401);
    portal.stop().await;
}

#[tokio::test]
async fn a_town_contacts_the_operator_through_the_outbox_within_limits() {
    let p = crate::helpers::portal().await;
    let ok = serde_json::json!({
        "town": "Saint-Martin-des-Champs", "name": "Claire Dubois", "email": "claire@saint-martin.example",
        "message": "Bonjour, nous aimerions une démonstration."
    });
    let r = p.post("/api/contact", ok.clone(), None).await;
    assert_eq!(r.status, 202, "{:?}", r.json);
    let mails = p.deliver().await;
    let sent: Vec<_> = mails.iter().filter(|m| m.to.as_str() == local_portal::LOCAL_CONTACT_EMAIL).collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].content.subject,
        "Demande de contact d’une mairie\u{202f}: Saint-Martin-des-Champs – Espace Famille"
    );
    assert!(sent[0].content.text.contains("E-mail\u{202f}: claire@saint-martin.example"));
    // The operator writes back to the sender; the email is the portal's, signed as such.
    assert!(sent[0].content.html.contains("href=\"mailto:claire@saint-martin.example\""), "{}", sent[0].content.html);
    assert!(sent[0].content.html.contains("Répondre à Claire Dubois"));
    assert!(sent[0].content.text.ends_with("— Espace Famille\n"), "{}", sent[0].content.text);
    assert!(!sent[0].content.text.contains("de Espace Famille"));
    // Bad input: a clear 422 naming the field, nothing sent.
    for (field, value, code) in [
        ("email", "pas-une-adresse", "invalid_contact"),
        ("message", "court", "invalid_contact"),
        ("town", "X", "invalid_contact"),
        // Control characters are refused at the edge, in every field of every body.
        ("name", "a\u{7}b", "invalid_characters"),
    ] {
        let mut body = ok.clone();
        body[field] = serde_json::json!(value);
        let r = p.post("/api/contact", body, None).await;
        crate::helpers::assert_problem(&r, 422, code);
        assert_eq!(r.json["field"], field);
    }
    // A robot filling the hidden field is thanked, and nothing is sent.
    let mut robot = ok.clone();
    robot["website"] = serde_json::json!("http://spam.example");
    assert_eq!(p.post("/api/contact", robot, None).await.status, 202);
    // Five messages an hour from one address.
    for _ in 0..4 {
        assert_eq!(p.post("/api/contact", ok.clone(), None).await.status, 202);
    }
    crate::helpers::assert_problem(&p.post("/api/contact", ok.clone(), None).await, 429, "too_many_messages");
    let mails = p.deliver().await;
    assert_eq!(mails.iter().filter(|m| m.to.as_str() == local_portal::LOCAL_CONTACT_EMAIL).count(), 5);
    p.stop().await;
}

/// The agent's first visit is a real morning (issue 31 §8): started as `cargo run` starts it,
/// the demo has children booked today, to mark in the register (the dated demo alone, which the
/// other tests count on, has nobody: the defect).
#[tokio::test]
async fn the_demo_gives_the_agent_children_to_mark_today() {
    use crate::helpers::{portal, portal_with_morning};
    let quiet = portal().await;
    assert_eq!(register(&quiet, "cantine").await, 0, "the dated demo alone has nobody today");
    quiet.stop().await;
    let morning = portal_with_morning().await;
    assert_eq!(register(&morning, "cantine").await, 4, "Léa, Hugo, Jade and Noé at the canteen");
    assert_eq!(register(&morning, "peri-matin").await, 2, "Hugo and Jade in the morning");
    assert_eq!(register(&morning, "peri-soir").await, 3, "Hugo, Jade and Noé in the evening");
    morning.stop().await;
}

/// How many children today's register of `unit` lists, as the agent reads it.
async fn register(p: &crate::helpers::TestPortal, unit: &str) -> usize {
    use crate::helpers::TOWN;
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let r = p.get(&format!("/api/towns/{TOWN}/staff/attendance?date=2026-11-26&unit={unit}"), Some(&agent)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json.as_array().map_or(0, Vec::len)
}
