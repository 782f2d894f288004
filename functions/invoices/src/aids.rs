//! What the town claims from its aids' funders (the CAF, the MSA, its own budget) for a civil
//! year ([`domain::aid::claim`]): the aid lines of the year's invoices and the régularisations'
//! aid changes, as JSON for the page or as a CSV for the funder's claim. Read a month at a time
//! from the invoices' index (twelve queries) and the régularisations with an aid (two).

use crate::AppState;
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use domain::aid::ClaimLine;
use domain::config::Funder;
use domain::{ChildId, FamilyRef, Month};
use edge::http::auth::Admin;
use edge::http::{self, Problem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::{regularisations, repo};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AidsQuery {
    year: Option<String>,
    format: Option<String>,
}

/// A claim line with the names staff read.
#[derive(Serialize)]
struct Named {
    #[serde(flatten)]
    line: ClaimLine,
    aid_name: String,
    family_name: String,
    child_name: String,
}

#[derive(Serialize)]
struct Claim {
    year: i32,
    lines: Vec<Named>,
    /// Per aid: what the year's lines add up to.
    totals: Vec<Total>,
}

#[derive(Serialize)]
struct Total {
    aid: String,
    aid_name: String,
    funder: Funder,
    amount: i64,
}

fn funder(f: Funder) -> &'static str {
    match f {
        Funder::Caf => "CAF",
        Funder::Msa => "MSA",
        Funder::Town => "Commune",
    }
}

/// `GET /api/towns/{town}/staff/invoices/aids?year=AAAA[&format=csv]` (the town's
/// administrator).
pub(crate) async fn claim(
    State(state): State<AppState>,
    Admin(caller): Admin,
    query: Result<Query<AidsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let year = http::year(q.year.as_deref().unwrap_or_default())?;
    let csv = http::wants_csv(q.format.as_deref())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let mut invoices = Vec::new();
    let mut month = Month::parse(&format!("{year}-01")).map_err(|e| Problem::refused(&e))?;
    while month.first().year() == year {
        invoices.extend(crate::run::of_month(store, town.id(), month).await?);
        month = month.next();
    }
    let regularised = regularisations::aided(store, town.id()).await?;
    let lines = domain::aid::claim(&town, year, &invoices, domain::regularisation::Regularisation::aided(&regularised));
    let families: BTreeMap<FamilyRef, String> =
        repo::all_families(store, town.id()).await?.into_iter().map(|f| (f.reference, f.name)).collect();
    let children: BTreeMap<ChildId, String> = repo::all_children(store, town.id())
        .await?
        .into_iter()
        .map(|c| (c.id, format!("{} {}", c.first_name, c.last_name)))
        .collect();
    let aid_name = |id: &domain::AidId| {
        town.config().aids.iter().find(|a| &a.id == id).map_or_else(String::new, |a| a.name.clone())
    };
    let named: Vec<Named> = lines
        .into_iter()
        .map(|line| Named {
            aid_name: aid_name(&line.aid),
            family_name: families.get(&line.family).cloned().unwrap_or_default(),
            child_name: children.get(&line.child).cloned().unwrap_or_else(|| line.child.to_string()),
            line,
        })
        .collect();
    if csv {
        let mut out = edge::http::csv::Export::new(&[
            "Aide",
            "Financeur",
            "Mois",
            "Famille",
            "Référence",
            "Enfant",
            "Jours",
            "Montant",
        ])?;
        for n in &named {
            let days = n.line.days.map_or_else(|| "régularisation".to_owned(), |d| d.to_string());
            let amount = domain::Cents::new(n.line.amount.abs()).unwrap_or_default().decimal_comma();
            let amount = if n.line.amount < 0 { format!("-{amount}") } else { amount };
            out.row(&[
                n.aid_name.as_str(),
                funder(n.line.funder),
                &n.line.month.to_string(),
                n.family_name.as_str(),
                n.line.family.as_str(),
                n.child_name.as_str(),
                &days,
                &amount,
            ])?;
        }
        return out.into_response(&format!("aides-{}-{year}.csv", caller.town));
    }
    let mut totals: Vec<Total> = Vec::new();
    for n in &named {
        match totals.iter_mut().find(|t| t.aid == n.line.aid.as_str()) {
            Some(t) => t.amount += n.line.amount,
            None => totals.push(Total {
                aid: n.line.aid.to_string(),
                aid_name: n.aid_name.clone(),
                funder: n.line.funder,
                amount: n.line.amount,
            }),
        }
    }
    Ok(AxumJson(Claim { year, lines: named, totals }).into_response())
}
