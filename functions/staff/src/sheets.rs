//! « Fiche sanitaire de liaison »: a child's file as a PDF staff take on an outing (offline),
//! one per child or one for a whole group on a day (a child a page). For the staff roles the
//! town names for health data; each PDF made is a health read in the audit trail.

use crate::attendance::unit_and_site;
use crate::child_files::{health_read, health_reserved, may_read_health};
use crate::{AppState, children_by_id, today};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::child_file::{ChildFile, ConsentKind, FileRecord, Person};
use domain::config::Town;
use domain::family::Child;
use domain::{ChildId, fr};
use edge::http::auth::Staff;
use edge::http::{self, Path, Problem};
use edge::pdf::{About, LEFT, Layout, PdfError, RIGHT, Tag, Weight, draw};
use serde::Deserialize;
use serde_json::json;
use store::{child_files, repo};

/// The most children one group PDF holds.
pub const MAX_GROUP: usize = 200;

fn heading(l: &mut Layout, text: &str) {
    l.room(40.0);
    l.down(12.0);
    l.tagged(Tag::H(3), |l| l.put(LEFT, 11.0, Weight::Bold, false, text));
    l.down(5.0);
    l.rule(LEFT, RIGHT);
    l.down(14.0);
}

fn line(l: &mut Layout, text: &str) {
    l.para(LEFT, RIGHT, 9.5, Weight::Regular, false, text);
    l.down(2.0);
}

fn persons(l: &mut Layout, title: &str, list: &[Person], none: &str) {
    l.tagged(Tag::H(4), |l| l.para(LEFT, RIGHT, 9.5, Weight::Bold, false, title));
    if list.is_empty() {
        line(l, none);
    }
    for p in list {
        line(l, &format!("{} ({}) — {}", p.name, p.relationship, p.phone));
    }
    l.down(4.0);
}

fn health(l: &mut Layout, f: &ChildFile) {
    heading(l, "Santé");
    let h = &f.health;
    if h.allergies.is_empty() {
        line(l, "Allergies : aucune déclarée.");
    }
    for a in &h.allergies {
        l.para(LEFT, RIGHT, 9.5, Weight::Bold, false, &format!("Allergie {} : {}", a.kind.label(), a.name));
        line(l, &format!("Conduite à tenir : {}", a.what_to_do));
    }
    match &h.pai {
        Some(p) => line(l, &format!("PAI jusqu’au {} : {}", fr::date(p.ends), p.reason)),
        None => line(l, "PAI : aucun."),
    }
    line(l, &format!("Régime : {}.", h.diet.label()));
    line(l, &format!("Traitement régulier : {}", h.treatment.as_deref().unwrap_or("aucun.")));
    match &h.doctor {
        Some(d) => line(l, &format!("Médecin traitant : {} — {}", d.name, d.phone)),
        None => line(l, "Médecin traitant : non renseigné."),
    }
    let dtp = h.dtp_booster.map_or_else(|| "non renseigné.".to_owned(), fr::date);
    line(l, &format!("Dernier rappel DTP : {dtp}"));
    if let Some(n) = &h.notes {
        line(l, &format!("À savoir : {n}"));
    }
}

fn people_and_consents(l: &mut Layout, f: &ChildFile) {
    heading(l, "Personnes");
    persons(l, "À prévenir en cas d’urgence", &f.people.emergency, "Aucune : appeler les responsables légaux.");
    persons(l, "Autorisées à venir chercher l’enfant (pièce d’identité demandée)", &f.people.pickup, "Aucune.");
    if !f.people.forbidden.is_empty() {
        l.tagged(Tag::H(4), |l| {
            l.para(LEFT, RIGHT, 9.5, Weight::Bold, false, "Ne doivent jamais venir chercher l’enfant")
        });
        for p in &f.people.forbidden {
            line(l, &format!("{} — {}", p.name, p.court_decision));
        }
    }
    heading(l, "Autorisations");
    for kind in ConsentKind::ALL {
        let answer = match f.consent(kind) {
            Some(c) => {
                let when = c.on.map(|d| format!(" le {}", fr::date(d))).unwrap_or_default();
                let by = c.by.as_ref().map(|b| format!(" par {b}")).unwrap_or_default();
                format!("{}{when}{by}", if c.given { "oui" } else { "non" })
            }
            None => "non renseignée".to_owned(),
        };
        line(l, &format!("{} : {answer}", capitalised(kind.label())));
    }
    heading(l, "Assurance");
    match &f.insurance {
        Some(i) => {
            line(l, &format!("{}, contrat {}, valable jusqu’au {}.", i.insurer, i.policy, fr::date(i.valid_until)))
        }
        None => line(l, "Non renseignée."),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// One child's sheet from the current line of `l`, a section of the document.
fn sheet(l: &mut Layout, town: &Town, child: &Child, record: Option<&FileRecord>) {
    l.begin(Tag::Sect);
    l.put(LEFT, 8.5, Weight::Regular, true, &town.config().name);
    l.down(22.0);
    l.tagged(Tag::H(1), |l| l.put(LEFT, 15.0, Weight::Bold, false, "FICHE SANITAIRE DE LIAISON"));
    l.down(22.0);
    l.tagged(Tag::H(2), |l| {
        l.put(LEFT, 12.0, Weight::Bold, false, &format!("{} {}", child.first_name, child.last_name))
    });
    l.down(15.0);
    let class = [child.school.as_deref(), child.class.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", ");
    let born = format!(
        "Né(e) le {}{}",
        fr::date(child.birth_date),
        if class.is_empty() { String::new() } else { format!(" — {class}") }
    );
    line(l, &born);
    let status = match record {
        None => "Aucune fiche remplie par la famille.".to_owned(),
        Some(r) => match &r.validated {
            Some(v) if v.version == r.version => {
                format!("Fiche version {}, vérifiée par le service le {}.", r.version, fr::date(v.at.date_naive()))
            }
            _ => format!(
                "Fiche version {} du {}, pas encore vérifiée par le service.",
                r.version,
                fr::date(r.updated_at.date_naive())
            ),
        },
    };
    l.para(LEFT, RIGHT, 9.0, Weight::Regular, true, &status);
    let file = record.map(|r| r.file.clone()).unwrap_or_default();
    health(l, &file);
    people_and_consents(l, &file);
    l.end();
}

fn pdf_answer(bytes: Vec<u8>, name: &str) -> Response {
    let disposition = format!("inline; filename=\"{name}\"");
    ([(header::CONTENT_TYPE, "application/pdf".to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response()
}

fn drawn(l: Layout, town: &Town, title: &str, created: chrono::NaiveDate) -> Result<Vec<u8>, Problem> {
    let c = town.config();
    let about = About { title, what: "fiche sanitaire de liaison", town: &c.name, author: &c.name, created };
    draw(l, &about).map_err(|e: PdfError| Problem::internal(&e))
}

/// GET: one child's « fiche sanitaire de liaison » (health readers; audited).
pub(crate) async fn child_sheet(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, child)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    if !may_read_health(&town, &caller) {
        return Err(health_reserved());
    }
    let unknown = || Problem::not_found("unknown_child", "Cet enfant est introuvable.");
    let id = ChildId::parse(&child).map_err(|_| unknown())?;
    let store = &state.auth.store;
    let child = repo::get_child(store, town.id(), &id).await?.ok_or_else(unknown)?;
    let record = child_files::get(store, town.id(), &id).await?;
    let entry = health_read(
        &caller,
        state.auth.clock.now(),
        format!("child/{id}/file"),
        json!({"pdf": true, "version": record.as_ref().map(|r| r.version)}),
    );
    store.transact(vec![entry.record(town.id())?]).await?;
    let mut l = Layout::new(format!("Fiche sanitaire de {} {} (suite)", child.first_name, child.last_name))
        .map_err(|e| Problem::internal(&e))?;
    sheet(&mut l, &town, &child, record.as_ref());
    let title = format!("Fiche sanitaire de liaison — {} {}", child.first_name, child.last_name);
    let bytes = drawn(l, &town, &title, today(&state, &town))?;
    Ok(pdf_answer(bytes, &format!("fiche-sanitaire-{id}.pdf")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupQuery {
    date: Option<String>,
    unit: Option<String>,
    site: Option<String>,
}

/// GET: the sheets of every child of a group (unit and site) on a day, a child a page, for an
/// outing (health readers; audited once, with the children).
pub(crate) async fn group_sheets(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<GroupQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    if !may_read_health(&town, &caller) {
        return Err(health_reserved());
    }
    let date = match q.date.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("date"))?,
        None => today(&state, &town),
    };
    let (unit, site) = unit_and_site(&town, q.unit.as_deref(), q.site.as_deref())?;
    let store = &state.auth.store;
    let children = children_by_id(store, &town).await?;
    let mut group: Vec<&Child> = repo::bookings_on(store, town.id(), date)
        .await?
        .iter()
        .filter(|b| b.unit == unit && b.site == site && b.holds_place())
        .filter_map(|b| children.get(&b.child))
        .collect();
    group.sort_by(|a, b| (&a.last_name, &a.first_name).cmp(&(&b.last_name, &b.first_name)));
    group.dedup_by(|a, b| a.id == b.id);
    group.truncate(MAX_GROUP);
    let ids: Vec<&str> = group.iter().map(|c| c.id.as_str()).collect();
    let entry =
        health_read(&caller, state.auth.clock.now(), format!("outing/{date}/{unit}/{site}"), json!({"pdf": ids}));
    store.transact(vec![entry.record(town.id())?]).await?;
    let mut l =
        Layout::new(format!("Fiches sanitaires — {} — {} (suite)", crate::unit_name(&town, &unit), fr::date(date)))
            .map_err(|e| Problem::internal(&e))?;
    for (i, child) in group.iter().enumerate() {
        if i > 0 {
            l.room(f32::MAX);
        }
        let record = child_files::get(store, town.id(), &child.id).await?;
        sheet(&mut l, &town, child, record.as_ref());
    }
    if group.is_empty() {
        line(&mut l, "Aucun enfant inscrit ce jour-là dans ce groupe.");
    }
    let title = format!("Fiches sanitaires de liaison — {} — {}", crate::unit_name(&town, &unit), fr::date(date));
    Ok(pdf_answer(drawn(l, &town, &title, today(&state, &town))?, &format!("fiches-sanitaires-{date}-{unit}.pdf")))
}
