//! The answers several of billing's routes give alike.

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
