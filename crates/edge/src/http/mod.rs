//! The HTTP pieces every function shares: problem+json errors, extractors that answer bad
//! input with them, and the finishing layers of a router.

pub mod auth;
pub mod csv;
pub mod extract;
pub mod headers;
pub mod problem;

pub use extract::{Json, Path};
pub use problem::Problem;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;

/// A town id from a path, or a 404 that says so (an id that cannot exist is an unknown town).
pub fn town_id(raw: &str) -> Result<domain::TownId, Problem> {
    domain::TownId::parse(raw).map_err(|_| unknown_town())
}

/// The town of a request, or a 404 that says so.
pub async fn load_town(
    towns: &store::repo::Towns,
    id: &domain::TownId,
) -> Result<std::sync::Arc<domain::config::Town>, Problem> {
    towns.get(id).await?.ok_or_else(unknown_town)
}

/// The town a path names, or a 404.
pub async fn load_town_from_path(
    towns: &store::repo::Towns,
    raw: &str,
) -> Result<std::sync::Arc<domain::config::Town>, Problem> {
    load_town(towns, &town_id(raw)?).await
}

/// Query parameters that do not parse.
pub fn bad_query() -> Problem {
    Problem::bad_request("invalid_query", "Les paramètres de la demande sont incorrects.")
}

/// A list's `format` query parameter: whether the CSV is asked (`csv`; `json` or none: JSON),
/// or a 400 naming `format`.
pub fn wants_csv(format: Option<&str>) -> Result<bool, Problem> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(Problem::bad_request("invalid_format", "Le format est « json » ou « csv ».").field("format")),
    }
}

/// A civil year of a query, `AAAA` from 2000 to 2100, or a 400 naming `year`.
pub fn year(raw: &str) -> Result<i32, Problem> {
    raw.parse::<i32>().ok().filter(|y| raw.len() == 4 && (2000..=2100).contains(y)).ok_or_else(|| {
        Problem::bad_request("invalid_year", "L'année s'écrit sur quatre chiffres (AAAA).").field("year")
    })
}

/// A change of a month already billed (see `store::repo::month_billed`).
pub fn month_billed() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "month_billed",
        "Ce mois est déjà facturé : ses réservations et son pointage ne changent plus. Une correction passe par un avoir.",
    )
}

pub fn unknown_town() -> Problem {
    Problem::not_found("unknown_town", "Cette commune n'utilise pas l'Espace Famille.")
}

/// A date from a path or query, written `AAAA-MM-JJ` ([`domain::date::parse_date`]).
pub fn date(raw: &str) -> Result<chrono::NaiveDate, Problem> {
    domain::date::parse_date(raw).map_err(|why| {
        Problem::bad_request(
            "invalid_date",
            format!(
                "La date « {} » n'est pas valide : écrivez-la AAAA-MM-JJ, par exemple 2026-09-01.",
                raw.chars().take(40).collect::<String>()
            ),
        )
        .detail(why.to_string())
    })
}

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "Cette adresse n'existe pas.")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Cette action n'est pas possible à cette adresse.",
    )
}

/// Finishes the router a host serves (one function in Lambda, all of them locally): unknown
/// routes and methods answer problem+json, bodies are limited to 1 MiB, and every answer has
/// the security headers ([`headers::secure`]).
pub fn finish(router: Router) -> Router {
    let router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    headers::secure(router, &[])
}
