//! The answers several of billing's routes give alike.

use domain::Month;
use edge::http::Problem;

pub fn in_progress() -> Problem {
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        "payment_in_progress",
        "Un paiement en ligne de cette facture est en cours. Attendez sa fin (quelques minutes au plus) avant de réessayer.",
    )
}

/// A month in a path or a query that is not `AAAA-MM`.
pub fn invalid_month() -> Problem {
    Problem::bad_request("invalid_month", "Le mois s'écrit AAAA-MM, par exemple 2026-11.")
}

/// The month a path or query names, or 400 `invalid_month`.
pub fn month(raw: &str) -> Result<Month, Problem> {
    Month::parse(raw).map_err(|_| invalid_month())
}

/// The month of an invoice a path names: one that cannot be is an invoice that does not exist.
pub fn invoice_month(raw: &str) -> Result<Month, Problem> {
    Month::parse(raw).map_err(|_| Problem::not_found("unknown_invoice", "Cette facture est introuvable."))
}
