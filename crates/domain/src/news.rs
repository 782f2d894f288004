//! News articles (« Actualités »): what staff may publish. A title on one line, a body of safe
//! Markdown whose HTML stays small enough to store, an expiry after the publication, and an
//! exceptional closure that closes dates for booking only from a « fermeture » article by the
//! town's administrator, for at most two months, not in the past, for the town's activities.

use super::ActivityId;
use super::account::Role;
use super::config::Town;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The longest title and body staff may write.
pub const MAX_TITLE_CHARS: usize = 150;
pub const MAX_BODY_CHARS: usize = 20_000;
/// The most HTML an article may render to: deep nesting (quotes in quotes) or huge tables make
/// far more HTML than text, and an article with its audit entry must fit the store's items.
pub const MAX_HTML_BYTES: usize = 120_000;
/// The longest closure one article may declare.
pub const MAX_CLOSURE_DAYS: i64 = 62;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Information,
    Fermeture,
    Tarifs,
    Reglement,
}

/// Dates an exceptional closure closes for booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosePeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Empty: every activity.
    #[serde(default)]
    pub activities: Vec<ActivityId>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    pub title: String,
    /// Markdown (the safe subset the news function renders).
    pub body: String,
    pub category: Category,
    /// Default: now.
    #[serde(default)]
    pub publish_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub pinned: bool,
    #[serde(default)]
    pub close_booking: Option<ClosePeriod>,
    /// On an update: the version that was read (the update fails if it changed since).
    #[serde(default)]
    pub version: Option<u64>,
}

/// Why an article is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// A field is wrong: its path and the French message.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// Its HTML would pass [`MAX_HTML_BYTES`].
    #[error(
        "Le texte est trop complexe une fois mis en forme (citations imbriquées, très grands tableaux) : simplifiez-le ou joignez un document."
    )]
    TooComplex,
    /// Only the town's administrator may do this.
    #[error("Votre compte ne permet pas cette action.")]
    AdminOnly(&'static str),
}

impl crate::Refusal for Refused {
    fn code(&self) -> &'static str {
        match self {
            Refused::Invalid { .. } => "invalid_article",
            Refused::TooComplex => "article_too_complex",
            Refused::AdminOnly(_) => "forbidden",
        }
    }
    fn field(&self) -> Option<String> {
        match self {
            Refused::Invalid { field, .. } => Some(field.clone()),
            Refused::TooComplex => Some("body".into()),
            Refused::AdminOnly(_) => None,
        }
    }
    fn detail(&self) -> Option<String> {
        match self {
            Refused::AdminOnly(why) => Some((*why).to_owned()),
            _ => None,
        }
    }
    fn kind(&self) -> crate::Kind {
        match self {
            Refused::AdminOnly(_) => crate::Kind::Forbidden,
            _ => crate::Kind::Invalid,
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> Refused {
    Refused::Invalid { field: field.to_owned(), message: message.into() }
}

/// Checks an article written by a member of staff with `role` against the town at `now`;
/// `html_bytes` is the size of its rendered HTML.
pub fn check(
    town: &Town,
    role: Role,
    input: &ArticleInput,
    html_bytes: usize,
    now: DateTime<Utc>,
) -> Result<(), Refused> {
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
        return Err(invalid("title", format!("Le titre compte de 1 à {MAX_TITLE_CHARS} caractères, sur une ligne.")));
    }
    if input.body.trim().is_empty() || input.body.chars().count() > MAX_BODY_CHARS {
        return Err(invalid("body", format!("Le texte compte de 1 à {MAX_BODY_CHARS} caractères.")));
    }
    if html_bytes > MAX_HTML_BYTES {
        return Err(Refused::TooComplex);
    }
    let publish_at = input.publish_at.unwrap_or(now);
    if input.expires_at.is_some_and(|e| e <= publish_at) {
        return Err(invalid("expires_at", "L'actualité doit expirer après sa publication."));
    }
    if let Some(c) = &input.close_booking {
        if input.category != Category::Fermeture {
            return Err(invalid("close_booking", "Seule une actualité « fermeture » peut fermer des dates."));
        }
        closure_change(role, None, Some(c), false)?;
        let today = town.today(now);
        if c.to < c.from || (c.to - c.from).num_days() >= MAX_CLOSURE_DAYS {
            return Err(invalid(
                "close_booking.to",
                format!("La fermeture va d'une date à une date postérieure, sur {MAX_CLOSURE_DAYS} jours au plus."),
            ));
        }
        if c.from < today {
            return Err(invalid("close_booking.from", "Une fermeture ne peut pas commencer dans le passé."));
        }
        if let Some(a) = c.activities.iter().find(|a| !town.config().activities.iter().any(|x| &x.id == *a)) {
            return Err(invalid(
                "close_booking.activities",
                format!("Le service « {a} » n'existe pas dans la commune."),
            ));
        }
    }
    Ok(())
}

/// Only the town's administrator closes dates to booking, or changes or removes a closure: the
/// refusal for `role` taking an article's closure from `before` to `after` (`deleted`: the
/// article goes).
pub fn closure_change(
    role: Role,
    before: Option<&ClosePeriod>,
    after: Option<&ClosePeriod>,
    deleted: bool,
) -> Result<(), Refused> {
    if role == Role::TownAdmin {
        return Ok(());
    }
    match (before, after) {
        (Some(_), _) if deleted => Err(Refused::AdminOnly(
            "Supprimer une fermeture des réservations est réservé à l'administrateur de la commune.",
        )),
        (Some(b), a) if a != Some(b) => Err(Refused::AdminOnly(
            "Modifier une fermeture des réservations est réservé à l'administrateur de la commune.",
        )),
        (None, Some(_)) => {
            Err(Refused::AdminOnly("Fermer des dates à la réservation est réservé à l'administrateur de la commune."))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{at, town};

    fn input(title: &str, body: &str) -> ArticleInput {
        serde_json::from_value(serde_json::json!({"title": title, "body": body, "category": "information"})).unwrap()
    }

    #[test]
    fn an_article_needs_a_one_line_title_a_body_and_small_html() {
        let (t, now) = (town(), at(2026, 12, 1, 10, 0));
        assert_eq!(check(&t, Role::Agent, &input("Menus", "Semaine 49"), 40, now), Ok(()));
        let field = |r: Result<(), Refused>| match r {
            Err(Refused::Invalid { field, .. }) => field,
            other => format!("{other:?}"),
        };
        assert_eq!(field(check(&t, Role::Agent, &input("A\nB", "x"), 1, now)), "title");
        assert_eq!(field(check(&t, Role::Agent, &input("Menus", " "), 1, now)), "body");
        assert_eq!(check(&t, Role::Agent, &input("Menus", "x"), MAX_HTML_BYTES + 1, now), Err(Refused::TooComplex));
    }

    #[test]
    fn only_the_administrator_closes_dates_from_a_closure_article() {
        let (t, now) = (town(), at(2026, 12, 1, 10, 0));
        let mut strike = input("Grève", "Fermé");
        strike.category = Category::Fermeture;
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        strike.close_booking = Some(ClosePeriod { from: day(14), to: day(14), activities: Vec::new() });
        assert_eq!(check(&t, Role::TownAdmin, &strike, 10, now), Ok(()));
        assert!(matches!(check(&t, Role::Agent, &strike, 10, now), Err(Refused::AdminOnly(_))));
        strike.close_booking =
            Some(ClosePeriod { from: day(1).pred_opt().unwrap(), to: day(2), activities: Vec::new() });
        assert!(
            matches!(check(&t, Role::TownAdmin, &strike, 10, now), Err(Refused::Invalid { field, .. }) if field == "close_booking.from")
        );
    }
}

#[cfg(test)]
mod closures {
    use super::*;

    fn period(day: u32) -> ClosePeriod {
        let d = NaiveDate::from_ymd_opt(2027, 3, day).unwrap();
        ClosePeriod { from: d, to: d, activities: Vec::new() }
    }

    #[test]
    fn only_the_administrator_closes_changes_or_removes_a_closure() {
        let (a, b) = (period(1), period(2));
        for (before, after, deleted) in
            [(None, Some(&a), false), (Some(&a), Some(&b), false), (Some(&a), None, false), (Some(&a), Some(&a), true)]
        {
            assert_eq!(closure_change(Role::TownAdmin, before, after, deleted), Ok(()));
            assert!(matches!(closure_change(Role::Agent, before, after, deleted), Err(Refused::AdminOnly(_))));
        }
    }

    #[test]
    fn an_agent_edits_an_article_that_leaves_its_closure_as_it_is() {
        let a = period(1);
        assert_eq!(closure_change(Role::Agent, Some(&a), Some(&a), false), Ok(()));
        assert_eq!(closure_change(Role::Agent, None, None, false), Ok(()));
        assert_eq!(closure_change(Role::Agent, None, None, true), Ok(()));
    }
}
