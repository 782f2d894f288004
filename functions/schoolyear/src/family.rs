//! A family's side of the campaign: which campaigns are open to it (the home page's « Inscriptions
//! 2027-2028 : à compléter »), the campaign with its children as they stand (their file, what it
//! lacks, their status) and the step to resume at, and each step saved.

use super::{AppState, get_campaign, get_enrolment, no_campaign, year};
use axum::Json as AxumJson;
use axum::extract::State;
use domain::config::Town;
use domain::family::{Child, Family};
use domain::school_year::{Campaign, EnrolmentInput, FamilyEnrolment, Gap, SchoolYear, Status, status};
use edge::http::auth::{Caller, unknown_family};
use edge::http::{self, Json, Path, Problem};
use serde::Serialize;
use store::{Cond, Item, WriteOp, keys, repo};

#[derive(Serialize)]
pub(crate) struct OpenCampaign {
    year: SchoolYear,
    closes_on: chrono::NaiveDate,
    /// `children`, `rules`, `submit` or `done`.
    step: &'static str,
    /// « Inscriptions 2027-2028 : à compléter ».
    label: String,
}

/// The campaigns open today (this school year's and the next), for the home page.
pub(crate) async fn open_campaigns(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<AxumJson<Vec<OpenCampaign>>, Problem> {
    let reference = caller.own_family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let family = repo::get_family(store, town.id(), &reference).await?.ok_or_else(unknown_family)?;
    let today = town.today(state.auth.clock.now());
    let mut out = Vec::new();
    let this = SchoolYear::of(today);
    for y in [this, this.next()] {
        let Some(c) = get_campaign(store, town.id(), y).await?.filter(|c| c.is_open(today)) else { continue };
        let enrolment = get_enrolment(store, town.id(), &reference, y).await?;
        let step = enrolment.as_ref().map_or("children", |e| e.next_step(&family));
        let what = if step == "done" { "envoyé" } else { "à compléter" };
        out.push(OpenCampaign {
            year: y,
            closes_on: c.input.closes_on,
            step,
            label: format!("Inscriptions {y}\u{202f}: {what}"),
        });
    }
    Ok(AxumJson(out))
}

#[derive(Serialize)]
pub(crate) struct ChildView {
    #[serde(flatten)]
    child: Child,
    status: Status,
    status_label: &'static str,
    gaps: Vec<Gap>,
}

#[derive(Serialize)]
pub(crate) struct OfferView {
    activity: domain::ActivityId,
    name: String,
    /// The names of the documents it requires.
    requires: Vec<String>,
}

#[derive(Serialize)]
pub(crate) struct EnrolmentView {
    year: SchoolYear,
    opens_on: chrono::NaiveDate,
    closes_on: chrono::NaiveDate,
    open: bool,
    rules_version: String,
    file_required: bool,
    offers: Vec<OfferView>,
    step: &'static str,
    enrolment: Option<FamilyEnrolment>,
    children: Vec<ChildView>,
}

fn offers(town: &Town, c: &Campaign) -> Vec<OfferView> {
    c.input
        .offers
        .iter()
        .map(|o| OfferView {
            activity: o.activity.clone(),
            name: town
                .config()
                .activities
                .iter()
                .find(|a| a.id == o.activity)
                .map_or_else(String::new, |a| a.name.clone()),
            requires: o
                .requires
                .iter()
                .map(|domain::school_year::Requirement::Document { kind }| {
                    town.config().documents.kind(kind).map_or_else(|| kind.to_string(), |k| k.name.clone())
                })
                .collect(),
        })
        .collect()
}

async fn view(
    state: &AppState,
    town: &Town,
    family: &Family,
    campaign: &Campaign,
    enrolment: Option<FamilyEnrolment>,
) -> Result<EnrolmentView, Problem> {
    let store = &state.auth.store;
    let docs = services::school_year::documents(store, town.id(), &family.reference).await?;
    let mut children = Vec::new();
    for id in &family.children {
        let Some(child) = repo::get_child(store, town.id(), id).await? else { continue };
        let gaps =
            services::school_year::gaps_of_child(store, town, campaign, enrolment.as_ref(), &child, &docs).await?;
        let s = status(enrolment.as_ref(), &gaps);
        children.push(ChildView { child, status: s, status_label: s.french(), gaps });
    }
    let today = town.today(state.auth.clock.now());
    Ok(EnrolmentView {
        year: campaign.year,
        opens_on: campaign.input.opens_on,
        closes_on: campaign.input.closes_on,
        open: campaign.is_open(today),
        rules_version: campaign.input.rules_version.clone(),
        file_required: campaign.input.file_required,
        offers: offers(town, campaign),
        step: enrolment.as_ref().map_or("children", |e| e.next_step(family)),
        enrolment,
        children,
    })
}

async fn load(
    state: &AppState,
    caller: &Caller,
    family: &str,
    raw_year: &str,
) -> Result<(std::sync::Arc<Town>, Family, Campaign), Problem> {
    let reference = caller.own_family(family)?;
    let y = year(raw_year)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let family = repo::get_family(store, town.id(), &reference).await?.ok_or_else(unknown_family)?;
    let campaign = get_campaign(store, town.id(), y).await?.ok_or_else(|| no_campaign(y))?;
    Ok((town, family, campaign))
}

/// The campaign as the family stands in it.
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, y)): Path<(String, String, String)>,
) -> Result<AxumJson<EnrolmentView>, Problem> {
    let (town, family, campaign) = load(&state, &caller, &family, &y).await?;
    let enrolment = get_enrolment(&state.auth.store, town.id(), &family.reference, campaign.year).await?;
    Ok(AxumJson(view(&state, &town, &family, &campaign, enrolment).await?))
}

/// One step saved (or the whole answer sent): written only if the enrolment is still the one
/// read, so two guardians answering at once never lose one another's step (409).
pub(crate) async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, y)): Path<(String, String, String)>,
    body: Result<Json<EnrolmentInput>, Problem>,
) -> Result<AxumJson<EnrolmentView>, Problem> {
    let (town, family, campaign) = load(&state, &caller, &family, &y).await?;
    let Json(input) = body?;
    let store = &state.auth.store;
    let before = get_enrolment(store, town.id(), &family.reference, campaign.year).await?;
    let now = state.auth.clock.now();
    let by = &caller.session.email;
    let after = input.apply(before.clone(), &campaign, &family, (by, now, town.today(now)))?;
    let cond = before.as_ref().map_or(Cond::NotExists, |b| Cond::version(b.version));
    let item = Item::from_value(keys::enrolment(town.id(), &family.reference, campaign.year), &after)?;
    let mut ops = vec![WriteOp::Put { item, cond: Some(cond) }];
    ops.extend(services::school_year::refresh_holds(store, &town, &campaign, &family, Some(&after)).await?);
    store.transact(ops).await?;
    Ok(AxumJson(view(&state, &town, &family, &campaign, Some(after)).await?))
}
