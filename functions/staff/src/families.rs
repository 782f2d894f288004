//! Families by staff: search, read a family's records whole, and correct them (the family's
//! name, residence, quotient familial and guardians' names and phones; a child's names, birth
//! date, school, class, health and diet notes and enrolments). Writes are optimistic: the
//! client sends back the `etag` it read, and the store writes only if the record is still the
//! one read (409 otherwise), with its audit entry in the same transaction. Adding or replacing a
//! guardian goes through the import, which creates accounts and sends activation links.

use super::{AppState, today};
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use chrono::{Days, NaiveDate};
use domain::family::{Child, Diet, Enrollment, Family, check_child};
use domain::{ChildId, FamilyRef};
use edge::auth::{accounts, secret};
use edge::http::auth::{Caller, Staff, unknown_family};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use store::audit;
use store::{Cond, StoreError, WriteOp, repo};

/// How far ahead a child's bookings are checked against new enrolments.
const BOOKINGS_AHEAD_DAYS: u64 = 800;

/// Lower case without accents, for searching.
fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            c => c,
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchQuery {
    q: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct FamilyHit {
    reference: FamilyRef,
    name: String,
    guardians: Vec<serde_json::Value>,
    children: Vec<serde_json::Value>,
}

/// Families whose name, reference, guardians (name, email) or children's names contain every
/// word of `q` (case and accents ignored); at most 50.
pub(crate) async fn search(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<FamilyHit>>, Problem> {
    let Query(q) = query.map_err(|_| edge::http::bad_query())?;
    let words: Vec<String> = fold(q.q.as_deref().unwrap_or_default()).split_whitespace().map(str::to_owned).collect();
    if words.is_empty() || words.iter().map(|w| w.chars().count()).sum::<usize>() < 2 || words.len() > 6 {
        return Err(Problem::bad_request(
            "invalid_search",
            "Tapez au moins deux lettres d'un nom, d'une adresse e-mail ou d'une référence.",
        )
        .field("q"));
    }
    let store = &state.auth.store;
    let children = repo::all_children(store, &caller.town).await?;
    let mut hits = Vec::new();
    for f in repo::all_families(store, &caller.town).await? {
        let kids: Vec<&Child> = children.iter().filter(|c| f.children.contains(&c.id)).collect();
        let mut text = format!("{} {}", f.reference, f.name);
        for g in &f.guardians {
            text.push_str(&format!(" {} {} {}", g.first_name, g.last_name, g.email));
        }
        for c in &kids {
            text.push_str(&format!(" {} {} {}", c.id, c.first_name, c.last_name));
        }
        let text = fold(&text);
        if words.iter().all(|w| text.contains(w.as_str())) {
            let mut guardians = Vec::new();
            for g in &f.guardians {
                // Whether « Renvoyer le lien d'activation » makes sense: no account active yet.
                let account = edge::auth::accounts::get_account(store, &caller.town, &g.email).await?;
                let activated = account.is_some_and(|a| a.status == edge::auth::accounts::AccountStatus::Active);
                guardians.push(serde_json::json!({
                    "first_name": g.first_name, "last_name": g.last_name, "email": g.email, "activated": activated,
                }));
            }
            hits.push(FamilyHit {
                reference: f.reference.clone(),
                name: f.name.clone(),
                guardians,
                children: kids
                    .iter()
                    .map(|c| serde_json::json!({"id": c.id, "first_name": c.first_name, "last_name": c.last_name}))
                    .collect(),
            });
        }
        if hits.len() == 50 {
            break;
        }
    }
    Ok(AxumJson(hits))
}

// ----- Records -----

/// The fields a stored record may have: the write condition says the absent ones must still be
/// absent (a field added meanwhile is a change too).
pub(crate) const FAMILY_FIELDS: [&str; 6] =
    ["reference", "name", "resident", "quotient_familial", "guardians", "children"];
pub(crate) const CHILD_FIELDS: [&str; 11] = [
    "id",
    "first_name",
    "last_name",
    "birth_date",
    "school",
    "class",
    "level",
    "health_notes",
    "diet",
    "pai",
    "enrolments",
];

/// A short fingerprint of a record as stored: what the client sends back to say which version
/// it corrects.
fn etag<T: Serialize>(record: &T) -> Result<String, Problem> {
    let json = serde_json::to_string(record).map_err(|e| Problem::internal(&e))?;
    Ok(secret::digest(&json)[..20].to_owned())
}

/// The condition "the record is still `read`": each of its attributes, and the absent ones.
pub(crate) fn unchanged<T: Serialize>(read: &T, fields: &[&str]) -> Result<Cond, Problem> {
    let serde_json::Value::Object(mut attrs) = serde_json::to_value(read).map_err(|e| Problem::internal(&e))? else {
        return Err(Problem::internal(&"a record is not a JSON object"));
    };
    for f in fields {
        attrs.entry(*f).or_insert(serde_json::Value::Null);
    }
    Ok(Cond::AttrsEqual(attrs))
}

fn changed_meanwhile() -> Problem {
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        "record_changed",
        "Ces informations ont été modifiées entre-temps : rechargez-les avant d'enregistrer.",
    )
}

#[derive(Serialize)]
pub(crate) struct Versioned<T> {
    etag: String,
    #[serde(flatten)]
    record: T,
}

fn versioned<T: Serialize>(record: T) -> Result<Versioned<T>, Problem> {
    Ok(Versioned { etag: etag(&record)?, record })
}

#[derive(Serialize)]
pub(crate) struct FamilyRecords {
    family: Versioned<Family>,
    children: Vec<Versioned<Child>>,
}

/// A family and its children, whole (with enrolments and notes), each with its etag.
pub(crate) async fn records(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, reference)): Path<(String, String)>,
) -> Result<AxumJson<FamilyRecords>, Problem> {
    let reference = FamilyRef::parse(&reference).map_err(|_| unknown_family())?;
    let store = &state.auth.store;
    let family = repo::get_family(store, &caller.town, &reference).await?.ok_or_else(unknown_family)?;
    let mut children = Vec::new();
    for id in &family.children {
        if let Some(c) = repo::get_child(store, &caller.town, id).await? {
            children.push(versioned(c)?);
        }
    }
    Ok(AxumJson(FamilyRecords { family: versioned(family)?, children }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GuardianUpdate {
    email: domain::family::Email,
    first_name: String,
    last_name: String,
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FamilyUpdate {
    etag: String,
    name: String,
    resident: bool,
    #[serde(default)]
    quotient_familial: Option<u32>,
    /// The same guardians, in the same order (by email), with their names and phones.
    guardians: Vec<GuardianUpdate>,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem::unprocessable("invalid_record", message).field(field)
}

fn text(field: &str, value: &str, max: usize) -> Result<String, Problem> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(invalid(field, format!("Ce champ est obligatoire ({max} caractères au plus).")));
    }
    Ok(v.to_owned())
}

fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Problem> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(|v| text(field, v, max)).transpose()
}

/// Corrects a family's own data. Guardians' names also change on their accounts, in the same
/// transaction.
pub(crate) async fn update_family(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, reference)): Path<(String, String)>,
    body: Result<Json<FamilyUpdate>, Problem>,
) -> Result<AxumJson<Versioned<Family>>, Problem> {
    let reference = FamilyRef::parse(&reference).map_err(|_| unknown_family())?;
    let Json(update) = body?;
    let store = &state.auth.store;
    let before = repo::get_family(store, &caller.town, &reference).await?.ok_or_else(unknown_family)?;
    if etag(&before)? != update.etag {
        return Err(changed_meanwhile());
    }
    let mut after = before.clone();
    after.name = text("name", &update.name, 200)?;
    after.resident = update.resident;
    after.quotient_familial = update.quotient_familial;
    if update.quotient_familial.is_some_and(|qf| qf > 100_000) {
        return Err(invalid("quotient_familial", "Le quotient familial est un nombre entier de 0 à 100 000."));
    }
    let emails: Vec<_> = update.guardians.iter().map(|g| &g.email).collect();
    if emails != before.guardians.iter().map(|g| &g.email).collect::<Vec<_>>() {
        return Err(invalid(
            "guardians",
            "Les responsables se corrigent ici (nom, prénom, téléphone) ; pour en ajouter ou changer une adresse e-mail, importez la famille.",
        ));
    }
    for (i, (g, u)) in after.guardians.iter_mut().zip(&update.guardians).enumerate() {
        g.first_name = text(&format!("guardians[{i}].first_name"), &u.first_name, 200)?;
        g.last_name = text(&format!("guardians[{i}].last_name"), &u.last_name, 200)?;
        g.phone = optional_text(&format!("guardians[{i}].phone"), u.phone.as_deref(), 30)?;
    }
    if after == before {
        return Ok(AxumJson(versioned(after)?));
    }
    let mut ops = vec![WriteOp::Put {
        item: repo::family_item(&caller.town, &after)?,
        cond: Some(unchanged(&before, &FAMILY_FIELDS)?),
    }];
    for (old, new) in before.guardians.iter().zip(&after.guardians) {
        if (&old.first_name, &old.last_name) == (&new.first_name, &new.last_name) {
            continue;
        }
        if let Some(mut account) = accounts::get_account(store, &caller.town, &new.email).await? {
            account.first_name.clone_from(&new.first_name);
            account.last_name.clone_from(&new.last_name);
            ops.push(account.save(&caller.town)?);
        }
    }
    commit(&state, &caller, ("family.update", format!("family/{reference}")), &before, after, ops).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChildUpdate {
    etag: String,
    first_name: String,
    last_name: String,
    birth_date: NaiveDate,
    #[serde(default)]
    school: Option<String>,
    #[serde(default)]
    class: Option<String>,
    /// The level and its school year; absent: unchanged.
    #[serde(default)]
    level: Option<domain::school_year::ChildLevel>,
    #[serde(default)]
    health_notes: Option<String>,
    #[serde(default)]
    diet: Diet,
    #[serde(default)]
    pai: bool,
    enrolments: Vec<Enrollment>,
}

/// Corrects a child's record. New enrolments must still cover the child's bookings and requests
/// to come (not cancelled nor refused, waiting lists included): cancel those first, or keep the
/// enrolment.
pub(crate) async fn update_child(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, id)): Path<(String, String)>,
    body: Result<Json<ChildUpdate>, Problem>,
) -> Result<AxumJson<Versioned<Child>>, Problem> {
    let unknown_child = || Problem::not_found("unknown_child", "Cet enfant est introuvable.");
    let id = ChildId::parse(&id).map_err(|_| unknown_child())?;
    let Json(update) = body?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let before = repo::get_child(store, town.id(), &id).await?.ok_or_else(unknown_child)?;
    if etag(&before)? != update.etag {
        return Err(changed_meanwhile());
    }
    let trimmed = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let after = Child {
        id: before.id.clone(),
        first_name: update.first_name.trim().to_owned(),
        last_name: update.last_name.trim().to_owned(),
        birth_date: update.birth_date,
        school: trimmed(update.school),
        class: trimmed(update.class),
        level: update.level.or(before.level),
        health_notes: trimmed(update.health_notes),
        diet: update.diet,
        pai: update.pai,
        enrolments: update.enrolments,
    };
    let today = today(&state, &town);
    check_child(&town, &after, today)?;
    if after == before {
        return Ok(AxumJson(versioned(after)?));
    }
    let ahead = today.checked_add_days(Days::new(BOOKINGS_AHEAD_DAYS)).unwrap_or(today);
    let orphans: Vec<NaiveDate> = repo::bookings(store, town.id(), &id, today, ahead)
        .await?
        .into_iter()
        .filter(|b| b.is_live() && !after.enrolments.iter().any(|e| e.covers(&b.activity, &b.site, &b.unit, b.date)))
        .map(|b| b.date)
        .collect();
    if let Some(first) = orphans.first() {
        return Err(Problem::new(
            axum::http::StatusCode::CONFLICT,
            "bookings_outside_enrolments",
            format!(
                "{} réservation(s) à venir ne seraient plus couvertes par les inscriptions (la première le {}) : annulez-les d'abord, ou gardez l'inscription.",
                orphans.len(),
                first.format("%d/%m/%Y")
            ),
        )
        .field("enrolments"));
    }
    let ops = vec![WriteOp::Put {
        item: repo::child_item(town.id(), &after)?,
        cond: Some(unchanged(&before, &CHILD_FIELDS)?),
    }];
    commit(&state, &caller, ("child.update", format!("child/{id}")), &before, after, ops).await
}

/// Writes a correction's `ops` with its audit entry (`action` on `target`, before and after) in
/// one transaction; a failed condition means someone changed the record meanwhile.
async fn commit<T: Serialize>(
    state: &AppState,
    caller: &Caller,
    (action, target): (&str, String),
    before: &T,
    after: T,
    mut ops: Vec<WriteOp>,
) -> Result<AxumJson<Versioned<T>>, Problem> {
    let entry = audit::Entry {
        at: state.auth.clock.now(),
        by: caller.session.email.to_string(),
        action: action.to_owned(),
        target,
        before: serde_json::to_value(before).ok(),
        after: serde_json::to_value(&after).ok(),
    };
    ops.push(entry.record(&caller.town)?);
    match state.auth.store.transact(ops).await {
        Ok(()) => Ok(AxumJson(versioned(after)?)),
        Err(StoreError::TransactionCanceled { .. }) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::family::{Email, Guardian};

    #[test]
    fn the_field_lists_name_every_field_a_record_can_have() {
        let family = Family {
            address: Vec::new(),
            reference: FamilyRef::parse("fam-1").unwrap(),
            name: "Famille Martin".into(),
            resident: true,
            quotient_familial: Some(800),
            guardians: vec![Guardian {
                first_name: "Marie".into(),
                last_name: "Martin".into(),
                email: Email::parse("marie@exemple.fr").unwrap(),
                phone: Some("0600000000".into()),
            }],
            children: vec![],
        };
        let child = Child {
            id: ChildId::parse("lea").unwrap(),
            first_name: "Léa".into(),
            last_name: "Martin".into(),
            birth_date: NaiveDate::from_ymd_opt(2018, 3, 2).unwrap(),
            school: Some("École".into()),
            class: Some("CE1".into()),
            level: Some(domain::school_year::ChildLevel {
                level: domain::school_year::Level::CE1,
                year: domain::school_year::SchoolYear::parse("2026-2027").unwrap(),
            }),
            health_notes: Some("Allergie aux arachides".into()),
            diet: Diet::SansPorc,
            pai: true,
            enrolments: vec![],
        };
        let keys = |v: serde_json::Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let sorted = |f: &[&str]| {
            let mut k: Vec<String> = f.iter().map(|s| (*s).to_owned()).collect();
            k.sort();
            k
        };
        assert_eq!(keys(serde_json::to_value(&family).unwrap()), sorted(&FAMILY_FIELDS));
        assert_eq!(keys(serde_json::to_value(&child).unwrap()), sorted(&CHILD_FIELDS));
    }

    #[test]
    fn a_record_read_without_its_optional_fields_must_still_lack_them() {
        let child = Child {
            id: ChildId::parse("lea").unwrap(),
            first_name: "Léa".into(),
            last_name: "Martin".into(),
            birth_date: NaiveDate::from_ymd_opt(2018, 3, 2).unwrap(),
            school: None,
            class: None,
            level: None,
            health_notes: None,
            diet: Diet::Standard,
            pai: false,
            enrolments: vec![],
        };
        let Ok(Cond::AttrsEqual(attrs)) = unchanged(&child, &CHILD_FIELDS) else {
            panic!("not an attributes condition")
        };
        assert_eq!(attrs["school"], serde_json::Value::Null);
        assert_eq!(attrs["first_name"], serde_json::json!("Léa"));
        assert_eq!(attrs.len(), CHILD_FIELDS.len());
        assert_ne!(etag(&child).unwrap(), etag(&Child { school: Some("École".into()), ..child.clone() }).unwrap());
    }
}
