//! The yearly tax certificate for childcare in « Mes factures »: a household's certificate for a
//! year that is over, drawn from its invoices and the payments received that year (rules in
//! [`domain::tax`], PDF in [`crate::pdf::certificate`]). A guardian reads their own household's,
//! staff any household's of their town.

use crate::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use domain::billing::Invoice;
use domain::payment::Payment;
use edge::http::auth::Caller;
use edge::http::{self, Path, Problem};
use store::{Item, Query, SkRange, keys, repo};

fn unknown(year: &str) -> Problem {
    Problem::not_found(
        "no_tax_certificate",
        format!(
            "Aucune attestation fiscale pour {year}\u{202F}: aucune somme payée pour la garde d'un enfant de moins de 6 ans."
        ),
    )
}

/// The household's certificate for `year` (a past year), as a PDF.
pub async fn pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, year)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let today = town.today(now);
    let y: i32 = match year.parse() {
        Ok(y) if year.len() == 4 && (2000..today.year()).contains(&y) => y,
        Ok(y) if year.len() == 4 && y >= today.year() => {
            return Err(Problem::not_found(
                "year_not_over",
                "L'attestation fiscale d'une année est disponible à partir du 1er janvier suivant.",
            ));
        }
        _ => return Err(Problem::bad_request("invalid_year", "L'année s'écrit sur quatre chiffres (AAAA).")),
    };
    let Some(settings) = town.config().billing.tax_certificate.as_ref() else { return Err(unknown(&year)) };
    let store = &state.auth.store;
    let household = repo::get_family(store, town.id(), &reference).await?.ok_or_else(|| unknown(&year))?;
    let mut children = Vec::new();
    for id in &household.children {
        children.extend(repo::get_child(store, town.id(), id).await?);
    }
    let partition = keys::family_partition(town.id(), &reference);
    let of = |prefix: &str| Query::table(partition.clone(), SkRange::Prefix(prefix.into()));
    let invoices: Vec<Invoice> = Item::decode_listed(&store.query_all(&of(keys::INVOICE_PREFIX)).await?);
    let payments: Vec<Payment> = Item::decode_listed(&store.query_all(&of(keys::PAYMENT_PREFIX)).await?);
    let cert = domain::tax::certificate(y, &household, &children, &invoices, &payments, settings);
    if cert.children.is_empty() {
        return Err(unknown(&year));
    }
    let bytes = crate::pdf::certificate(town.config(), &household, &cert, &settings.signatory, today)
        .map_err(|e| Problem::internal(&e))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"attestation-fiscale-{}.pdf\"", cert.number)),
        ],
        bytes,
    )
        .into_response())
}
