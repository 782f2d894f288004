//! Deliverability end to end: `/dev/mail` marks an email bounced or complained about (the
//! record SES would publish, through the notifier's code), staff see it on the family and in
//! « Aujourd'hui », resend the activation link; the outbox stops what a bounce or a complaint
//! stops; the other guardian is told when an invoice could not reach the first.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, call, portal_on};
use domain::TownId;
use domain::delivery::MailKind;
use domain::family::Email;
use local_portal::devmail::Sent;
use serde_json::{Value, json};
use services::mail::outbox::{Content, Mail, MailStatus};
use store::Store;

crate::helpers::both_backends!(
    an_activation_that_bounced_shows_to_staff_who_resend_it,
    an_invoice_that_bounced_is_told_to_the_other_guardian_once,
    a_complaint_stops_reminders_only,
);

const PASSWORD: &str = local_portal::DEMO_PASSWORD;
const LINH: &str = "linh.nguyen@exemple.fr";
const SOPHIE: &str = "sophie.martin@exemple.fr";
const JULIEN: &str = "julien.martin@exemple.fr";

async fn agent(p: &TestPortal) -> Browser {
    p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap()
}

/// `/dev/mail`'s button: what SES would publish for that email.
async fn mark(p: &TestPortal, id: &str, event: &str) {
    let r = call(&p.router, "POST", &format!("/dev/mail/{id}/{event}"), &[], None).await;
    assert_eq!(r.status, 303, "{event} {id}: {:?}", r.json);
}

fn newest<'a>(mails: &'a [Sent], to: &str, subject: &str) -> &'a Sent {
    mails
        .iter()
        .find(|m| m.to.as_str() == to && m.content.subject.contains(subject))
        .unwrap_or_else(|| panic!("no « {subject} » to {to}"))
}

/// Queues one email of `kind` to `to`, as a change owing it would.
async fn queue(p: &TestPortal, to: &str, kind: MailKind, subject: &str) -> String {
    let town = TownId::parse(TOWN).unwrap();
    let content = Content { subject: subject.into(), text: "t".into(), html: "<p>t</p>".into() };
    let mail = Mail::new(&town, &Email::parse(to).unwrap(), content, p.clock.now()).of_kind(kind);
    p.store.transact(vec![mail.enqueue().unwrap()]).await.unwrap();
    mail.id
}

async fn status(p: &TestPortal, id: &str) -> Mail {
    services::mail::notifier::get(&p.store, &TownId::parse(TOWN).unwrap(), id).await.unwrap().expect("stored")
}

fn guardian<'a>(emails: &'a Value, email: &str) -> &'a Value {
    emails.as_array().unwrap().iter().find(|g| g["email"] == email).expect("guardian")
}

async fn an_activation_that_bounced_shows_to_staff_who_resend_it(store: Store) {
    let p = portal_on(store).await;
    let mails = p.deliver().await;
    let activation = newest(&mails, LINH, "Activez votre Espace Famille");
    mark(&p, &activation.id, "bounce").await;

    let staff = agent(&p).await;
    let family = p.get(&format!("/api/towns/{TOWN}/staff/families/nguyen/emails"), Some(&staff)).await;
    assert_eq!(family.status, 200, "{:?}", family.json);
    let linh = guardian(&family.json, LINH);
    assert_eq!(linh["notice"], "Adresse e-mail invalide (rejetée le 26/11/2026)");
    assert_eq!(linh["activation_pending"], true);
    assert_eq!(linh["emails"][0]["state"], "rejeté");
    assert_eq!(linh["emails"][0]["delivery"], "bounced");
    let today = p.get(&format!("/api/towns/{TOWN}/staff/mail/undeliverable"), Some(&staff)).await;
    assert_eq!(today.json.as_array().unwrap().len(), 1, "{:?}", today.json);
    assert_eq!(today.json[0]["email"], LINH);
    assert_eq!(today.json[0]["families"], json!(["nguyen"]));
    assert_eq!(today.json[0]["diagnostic"], "smtp; 550 5.1.1 user unknown");

    // Nothing but an account email goes to the address now.
    let decision = queue(&p, LINH, MailKind::Transactional, "Décision").await;
    p.deliver().await;
    let held = status(&p, &decision).await;
    assert_eq!((held.status, held.state_in_french()), (MailStatus::Suppressed, "non envoyé"));

    // Guardians and other towns do not reach these routes.
    let sophie = p.login(TOWN, SOPHIE, PASSWORD).await.unwrap();
    for uri in [
        format!("/api/towns/{TOWN}/staff/families/nguyen/emails"),
        format!("/api/towns/{TOWN}/staff/mail/undeliverable"),
    ] {
        assert_eq!(p.get(&uri, Some(&sophie)).await.status, 403, "{uri}");
    }
    let resend = format!("/api/towns/{TOWN}/staff/families/nguyen/activation");
    assert_eq!(p.post(&resend, json!({"email": LINH}), Some(&sophie)).await.status, 403);
    let other = crate::helpers::other_town_admin(&p).await;
    assert!(matches!(p.post(&resend, json!({"email": LINH}), Some(&other)).await.status, 401 | 403 | 404));
    assert!(matches!(
        p.get(&format!("/api/towns/{TOWN}/staff/mail/undeliverable"), Some(&other)).await.status,
        401 | 403 | 404
    ));

    // The agent corrected the address with the family (here: confirmed it) and resends.
    assert_problem(&p.post(&resend, json!({"email": SOPHIE}), Some(&staff)).await, 422, "not_a_guardian");
    let sent = p.post(&resend, json!({"email": LINH}), Some(&staff)).await;
    assert_eq!(sent.status, 200, "{:?}", sent.json);
    let mails = p.deliver().await;
    let again = mails.iter().filter(|m| m.to.as_str() == LINH && m.content.subject.contains("Activez")).count();
    assert_eq!(again, 2, "a new activation link went out");
    let today = p.get(&format!("/api/towns/{TOWN}/staff/mail/undeliverable"), Some(&staff)).await;
    assert_eq!(today.json, json!([]));
    let trail = store::audit::page(&p.store, &TownId::parse(TOWN).unwrap(), 5, None).await.unwrap().0;
    assert!(trail.iter().any(|e| e.action == "account.activation_resent" && e.target == "family/nguyen"));
    // Sophie's account is active: nothing to resend.
    let martin = format!("/api/towns/{TOWN}/staff/families/martin/activation");
    assert_problem(&p.post(&martin, json!({"email": SOPHIE}), Some(&staff)).await, 409, "account_already_active");
    p.stop().await;
}

async fn an_invoice_that_bounced_is_told_to_the_other_guardian_once(store: Store) {
    let p = portal_on(store).await;
    let id = queue(&p, SOPHIE, MailKind::Invoice, "Votre facture de novembre 2026 est disponible").await;
    let mails = p.deliver().await;
    assert_eq!(newest(&mails, SOPHIE, "Votre facture de novembre").id, id);
    // SES publishes the bounce twice (it may): Julien is told once.
    mark(&p, &id, "bounce").await;
    mark(&p, &id, "bounce").await;
    let mails = p.deliver().await;
    let told: Vec<&Sent> =
        mails.iter().filter(|m| m.content.subject.starts_with("Un e-mail n’a pas pu être remis")).collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].to.as_str(), JULIEN);
    assert!(told[0].content.text.contains(SOPHIE) && told[0].content.text.contains("Votre facture de novembre 2026"));
    // A delivery event arriving late for the same email does not undo the bounce.
    mark(&p, &id, "delivery").await;
    assert_eq!(status(&p, &id).await.state_in_french(), "rejeté");

    // Sophie's « Mon compte » lists her emails with their state.
    let sophie = p.login(TOWN, SOPHIE, PASSWORD).await.unwrap();
    let mine = p.get(&format!("/api/towns/{TOWN}/auth/emails"), Some(&sophie)).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.json["undeliverable"], true);
    let listed = mine.json["emails"].as_array().unwrap();
    assert!(listed.iter().any(|e| e["id"] == id.as_str() && e["state"] == "rejeté"), "{listed:?}");
    assert!(listed.iter().all(|e| e.get("to").is_none() && e.get("text").is_none()));
    // The family's export carries what the bounce taught of the address.
    let export = p.get(&format!("/api/towns/{TOWN}/families/martin/export"), Some(&sophie)).await;
    let addresses = export.json["email_addresses"].as_array().expect("email_addresses");
    assert!(addresses.iter().any(|a| a["email"] == SOPHIE && a["bounced_at"].is_string()), "{addresses:?}");

    // An email that reaches her later (an account email is always attempted) clears the bounce,
    // and nothing is kept about the address any more.
    p.clock.set(p.clock.now() + chrono::TimeDelta::hours(1));
    let reset = queue(&p, SOPHIE, MailKind::Account, "Réinitialisation").await;
    p.deliver().await;
    mark(&p, &reset, "delivery").await;
    let sophie = p.login(TOWN, SOPHIE, PASSWORD).await.unwrap();
    let mine = p.get(&format!("/api/towns/{TOWN}/auth/emails"), Some(&sophie)).await;
    assert_eq!(mine.json["undeliverable"], false);
    let key = store::keys::mail_address(&TownId::parse(TOWN).unwrap(), &Email::parse(SOPHIE).unwrap());
    assert!(p.store.get(&key).await.unwrap().is_none(), "the address's state is deleted");
    p.stop().await;
}

async fn a_complaint_stops_reminders_only(store: Store) {
    let p = portal_on(store).await;
    let first = queue(&p, JULIEN, MailKind::Transactional, "Reçu").await;
    p.deliver().await;
    mark(&p, &first, "complaint").await;
    assert_eq!(status(&p, &first).await.state_in_french(), "plainte");
    let reminder = queue(&p, JULIEN, MailKind::Reminder, "Rappel").await;
    let receipt = queue(&p, JULIEN, MailKind::Transactional, "Paiement reçu").await;
    p.deliver().await;
    assert_eq!(status(&p, &reminder).await.status, MailStatus::Suppressed);
    assert_eq!(status(&p, &receipt).await.status, MailStatus::Sent);
    // A staff list shows the complaint, not as an invalid address.
    let staff = agent(&p).await;
    let family = p.get(&format!("/api/towns/{TOWN}/staff/families/martin/emails"), Some(&staff)).await;
    let julien = guardian(&family.json, JULIEN);
    assert!(julien["complained_at"].is_string() && julien.get("notice").is_none(), "{julien}");
    p.stop().await;
}
