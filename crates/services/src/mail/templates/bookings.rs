//! The emails about bookings: a basket validated, staff's decisions on requests, a closure and a
//! reopening, the waiting list moving, the holiday booking reminders. All link to the
//! guardian's reservations.

use super::{BookedDay, Content, Section, Summary, french_instant, of_name};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use domain::Cents;
use domain::operations::Reminder;

const BUTTON: &str = "Voir mes réservations";

fn reservations(public_url: &str) -> (String, &'static str) {
    (format!("{public_url}/reservations.html"), BUTTON)
}

/// To each guardian of a family whose bookings a closure (a strike, a closed school) cancelled.
#[derive(Debug, Clone)]
pub struct ClosureCancellation {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    /// The closures' reasons, each once (« Grève du 15/03 »).
    pub reasons: Vec<String>,
    pub cancelled: Vec<BookedDay>,
}

impl ClosureCancellation {
    pub fn render(&self) -> Content {
        Summary {
            town: &self.town,
            subject: "Fermeture\u{202f}: réservations annulées".into(),
            first_name: &self.first_name,
            intro: format!(
                "En raison de\u{202f}: {}, les réservations suivantes sont annulées par la commune et ne seront pas facturées\u{202f}:",
                self.reasons.join("\u{202f}; ")
            ),
            sections: vec![Section::new("Réservations annulées", lines(&self.cancelled))],
            remarks: vec!["Les places sont libérées\u{202f}; rien ne vous sera facturé pour ces jours.".into()],
            link: reservations(&self.public_url),
        }
        .render()
    }
}

/// To each guardian of a family whose bookings a closure had cancelled, when the days reopen:
/// nothing is booked again.
#[derive(Debug, Clone)]
pub struct Reopening {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    /// The cancelled bookings whose days are open again.
    pub reopened: Vec<BookedDay>,
}

impl Reopening {
    pub fn render(&self) -> Content {
        Summary {
            town: &self.town,
            subject: "Réouverture\u{202f}: vos réservations ne sont pas rétablies".into(),
            first_name: &self.first_name,
            intro: "La commune a rouvert des jours qu’une fermeture avait annulés. Les réservations annulées ne sont pas rétablies automatiquement\u{202f}: si vous en avez besoin, réservez-les de nouveau dans votre Espace Famille.".into(),
            sections: vec![Section::new("Jours de nouveau ouverts", lines(&self.reopened))],
            remarks: vec![],
            link: reservations(&self.public_url),
        }
        .render()
    }
}

/// What the portal did with a request on a waiting list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitingListChange {
    /// A place freed for a request staff validate: offered, to be examined.
    PlaceOffered,
    /// A place freed for a request validated automatically: booked.
    Booked,
    /// The offered place was not decided on in time; `reason` is the request's refusal reason.
    NotRetained { reason: String },
}

/// To each guardian of the family whose waiting request moved.
#[derive(Debug, Clone)]
pub struct WaitingList {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    pub request: BookedDay,
    pub change: WaitingListChange,
}

impl WaitingList {
    pub fn render(&self) -> Content {
        let (subject, title, intro) = match &self.change {
            WaitingListChange::PlaceOffered => (
                "Liste d’attente\u{202f}: une place se libère",
                "Demande",
                "Une place s’est libérée pour votre demande en liste d’attente. Le service enfance va l’examiner et vous répondra par courriel\u{202f}:".to_owned(),
            ),
            WaitingListChange::Booked => (
                "Liste d’attente\u{202f}: réservation validée",
                "Demande",
                "Une place s’est libérée\u{202f}: votre demande en liste d’attente est validée. La réservation sera facturée comme les autres\u{202f}:".to_owned(),
            ),
            WaitingListChange::NotRetained { reason } => {
                ("Liste d’attente\u{202f}: demande non retenue", "Demande refusée", reason.clone())
            }
        };
        Summary {
            town: &self.town,
            subject: subject.into(),
            first_name: &self.first_name,
            intro,
            sections: vec![Section::new(title, vec![self.request.to_string()])],
            remarks: vec![],
            link: reservations(&self.public_url),
        }
        .render()
    }
}

/// To each guardian (who did not turn reminders off) of a family with children enrolled in a
/// holiday period who have booked nothing of it: when bookings open, and a few days before the
/// deadline.
#[derive(Debug, Clone)]
pub struct HolidayReminder {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    pub reminder: Reminder,
    /// The holiday period's name (« Vacances d’hiver »).
    pub period: String,
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub deadline: DateTime<Utc>,
    /// The town's time zone, in which the deadline is written.
    pub tz: Tz,
    /// The children who have nothing booked, by first name.
    pub unbooked: Vec<String>,
    /// The page that turns these reminders off in one click (`desabonnement.html`).
    pub unsubscribe: String,
}

impl HolidayReminder {
    pub fn render(&self) -> Content {
        let (first, last) = (domain::fr::date(self.first), domain::fr::date(self.last));
        let deadline = french_instant(self.deadline, self.tz);
        let (name, lower) = (&self.period, self.period.to_lowercase());
        let (subject, intro) = match self.reminder {
            Reminder::Opening => (
                format!("{name}\u{202f}: les réservations sont ouvertes"),
                format!(
                    "Les réservations de l’accueil de loisirs pour les {lower} (du {first} au {last}) sont ouvertes, jusqu’au {deadline}."
                ),
            ),
            Reminder::Deadline => (
                format!(
                    "{name}\u{202f}: réservez avant le {}",
                    domain::fr::date(self.deadline.with_timezone(&self.tz).date_naive())
                ),
                format!(
                    "Il reste quelques jours pour réserver l’accueil de loisirs des {lower} (du {first} au {last})\u{202f}: la date limite est le {deadline}."
                ),
            ),
        };
        Summary {
            town: &self.town,
            subject,
            first_name: &self.first_name,
            intro,
            sections: vec![Section::new("Rien n’est encore réservé pour", self.unbooked.clone())],
            remarks: vec![format!(
                "Vous ne souhaitez plus recevoir ces rappels\u{202f}? Désactivez-les en un clic\u{202f}: {} (ou dans «\u{202f}Mon compte\u{202f}» de votre Espace Famille).",
                self.unsubscribe
            )],
            link: reservations(&self.public_url),
        }
        .render()
    }
}

/// Who validated a basket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadeBy {
    /// A guardian, for the family.
    Family,
    /// Staff, for the family (past the deadlines).
    Staff,
}

/// What became of one line of a validated basket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BasketOutcome {
    Booked {
        price: Cents,
    },
    /// Added past the deadline, at the late price.
    BookedLate {
        price: Cents,
    },
    /// A request staff will validate.
    Requested {
        price: Cents,
    },
    Cancelled,
    /// Cancelled past the deadline: billed.
    CancelledLate {
        price: Cents,
    },
    /// A cancellation staff will decide on.
    CancellationRequested,
    /// Not applied; `why` is the refusal's message.
    Refused {
        why: String,
    },
}

/// To each guardian of the family, when a basket is validated (by a guardian or by staff) and
/// something was applied: what was booked, what was cancelled, what was refused, with prices.
#[derive(Debug, Clone)]
pub struct BasketConfirmation {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    pub made_by: MadeBy,
    pub lines: Vec<(BookedDay, BasketOutcome)>,
    /// What the applied changes cost.
    pub total: Cents,
}

impl BasketConfirmation {
    pub fn render(&self) -> Content {
        let (mut booked, mut cancelled, mut refused) = (Vec::new(), Vec::new(), Vec::new());
        for (day, outcome) in &self.lines {
            match outcome {
                BasketOutcome::Booked { price } => booked.push(format!("{day} – {price}")),
                BasketOutcome::BookedLate { price } => {
                    booked.push(format!("{day} – {price} (ajout hors délai, tarif majoré)"))
                }
                BasketOutcome::Requested { price } => {
                    booked.push(format!("{day} – {price} – demande en cours (en attente de validation par le service)"))
                }
                BasketOutcome::Cancelled => cancelled.push(format!("{day} – annulée")),
                BasketOutcome::CancelledLate { price } => {
                    cancelled.push(format!("{day} – annulation hors délai, facturée {price}"))
                }
                BasketOutcome::CancellationRequested => {
                    cancelled.push(format!("{day} – demande d’annulation transmise au service"))
                }
                BasketOutcome::Refused { why } => refused.push(format!("{day} – {why}")),
            }
        }
        let (subject, intro) = match self.made_by {
            MadeBy::Family => (
                "Confirmation de vos réservations",
                "Votre panier a été validé. Voici ce qui a été enregistré\u{202f}:".to_owned(),
            ),
            MadeBy::Staff => (
                "Modification de vos réservations par le service",
                format!(
                    "Le service enfance {} a modifié les réservations de votre famille\u{202f}:",
                    of_name(&self.town)
                ),
            ),
        };
        Summary {
            town: &self.town,
            subject: subject.into(),
            first_name: &self.first_name,
            intro,
            sections: vec![
                Section::new("Réservations", booked),
                Section::new("Annulations", cancelled),
                Section::new("Non enregistré", refused),
            ],
            remarks: vec![format!("Montant de ces changements\u{202f}: {}.", self.total)],
            link: reservations(&self.public_url),
        }
        .render()
    }
}

/// Staff's decision on one request of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffDecision {
    RequestAccepted,
    RequestRefused {
        reason: String,
    },
    CancellationAccepted,
    /// The booking is kept.
    CancellationRefused {
        reason: String,
    },
}

/// To each guardian of a family whose requests staff decided on (at once: one email).
#[derive(Debug, Clone)]
pub struct RequestDecisions {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    pub decisions: Vec<(BookedDay, StaffDecision)>,
}

impl RequestDecisions {
    pub fn render(&self) -> Content {
        let (mut accepted, mut refused, mut cancelled, mut kept) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (day, decision) in &self.decisions {
            match decision {
                StaffDecision::RequestAccepted => accepted.push(day.to_string()),
                StaffDecision::RequestRefused { reason } => refused.push(format!("{day} – {reason}")),
                StaffDecision::CancellationAccepted => cancelled.push(day.to_string()),
                StaffDecision::CancellationRefused { reason } => kept.push(format!("{day} – {reason}")),
            }
        }
        Summary {
            town: &self.town,
            subject: "Décision sur vos demandes".into(),
            first_name: &self.first_name,
            intro: "Le service enfance a examiné vos demandes\u{202f}:".into(),
            sections: vec![
                Section::new("Annulations acceptées", cancelled),
                Section::new("Annulations refusées (la réservation est maintenue)", kept),
                Section::new("Demandes refusées", refused),
                Section::new("Demandes validées", accepted),
            ],
            remarks: vec![],
            link: reservations(&self.public_url),
        }
        .render()
    }
}

fn lines(days: &[BookedDay]) -> Vec<String> {
    days.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::super::whole;
    use super::*;
    use domain::testkit::{at, d};

    const TOWN: &str = "Villeneuve-les-Tilleuls";
    const URL: &str = "https://famille.villeneuve-les-tilleuls.fr";

    fn day(date: NaiveDate, child: &str, unit: &str) -> BookedDay {
        BookedDay { date, child: child.into(), unit: unit.into() }
    }

    fn cents(n: i64) -> Cents {
        Cents::new(n).unwrap_or(Cents::ZERO)
    }

    #[test]
    fn closure_cancellation_snapshot() {
        let c = ClosureCancellation {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            reasons: vec!["Grève du 15/03".into(), "Travaux de la cuisine".into()],
            cancelled: vec![
                day(d(2027, 3, 15), "Léa", "Cantine"),
                day(d(2027, 3, 15), "Léa", "Périscolaire matin"),
                day(d(2027, 3, 16), "Hugo", "Cantine"),
            ],
        };
        insta::assert_snapshot!(whole(&c.render()));
    }

    #[test]
    fn reopening_snapshot() {
        let c = Reopening {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            reopened: vec![day(d(2027, 3, 15), "Léa", "Cantine"), day(d(2027, 3, 16), "Léa", "Cantine")],
        };
        insta::assert_snapshot!(whole(&c.render()));
    }

    fn waiting(change: WaitingListChange) -> String {
        let c = WaitingList {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            request: day(d(2026, 12, 16), "Léa", "Accueil de loisirs mercredi"),
            change,
        };
        whole(&c.render())
    }

    #[test]
    fn waiting_list_snapshots() {
        insta::assert_snapshot!("waiting_list_place_offered", waiting(WaitingListChange::PlaceOffered));
        insta::assert_snapshot!("waiting_list_booked", waiting(WaitingListChange::Booked));
        insta::assert_snapshot!(
            "waiting_list_not_retained",
            waiting(WaitingListChange::NotRetained {
                reason: "La place proposée n’a pas été confirmée à temps par le service.".into()
            })
        );
    }

    fn reminder(reminder: Reminder, unbooked: &[&str]) -> HolidayReminder {
        HolidayReminder {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            reminder,
            period: "Vacances d’hiver".into(),
            first: d(2027, 2, 22),
            last: d(2027, 3, 5),
            deadline: at(2027, 2, 8, 23, 59),
            tz: chrono_tz::Europe::Paris,
            unbooked: unbooked.iter().map(|s| (*s).to_owned()).collect(),
            unsubscribe: format!("{URL}/desabonnement.html?commune=villeneuve-les-tilleuls#jeton=abc"),
        }
    }

    #[test]
    fn holiday_reminder_snapshots() {
        insta::assert_snapshot!(
            "holiday_reminder_opening",
            whole(&reminder(Reminder::Opening, &["Léa", "Hugo"]).render())
        );
        insta::assert_snapshot!("holiday_reminder_deadline", whole(&reminder(Reminder::Deadline, &["Léa"]).render()));
    }

    #[test]
    fn the_deadline_reminder_names_the_deadline_day_in_the_towns_time() {
        // 23:30 UTC on 8 February is already the 9th in Paris.
        let mut late = reminder(Reminder::Deadline, &["Léa"]);
        late.deadline = "2027-02-08T23:30:00Z".parse().unwrap_or(late.deadline);
        let c = late.render();
        assert!(c.subject.starts_with("Vacances d’hiver\u{202f}: réservez avant le 09/02/2027"), "{}", c.subject);
        assert!(c.text.contains("la date limite est le 09/02/2027 à 0\u{a0}h\u{a0}30."), "{}", c.text);
    }

    fn basket(made_by: MadeBy, lines: Vec<(BookedDay, BasketOutcome)>, total: i64) -> BasketConfirmation {
        BasketConfirmation {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            made_by,
            lines,
            total: cents(total),
        }
    }

    #[test]
    fn basket_confirmation_snapshots() {
        let lines = vec![
            (day(d(2026, 12, 7), "Léa", "Cantine"), BasketOutcome::Booked { price: cents(250) }),
            (day(d(2026, 12, 8), "Léa", "Cantine"), BasketOutcome::BookedLate { price: cents(350) }),
            (
                day(d(2026, 12, 9), "Léa", "Accueil de loisirs mercredi"),
                BasketOutcome::Requested { price: cents(1200) },
            ),
            (day(d(2026, 11, 30), "Hugo", "Cantine"), BasketOutcome::Cancelled),
            (day(d(2026, 12, 1), "Hugo", "Périscolaire soir"), BasketOutcome::CancelledLate { price: cents(250) }),
            (day(d(2026, 12, 2), "Hugo", "Accueil de loisirs mercredi"), BasketOutcome::CancellationRequested),
            (
                day(d(2026, 12, 25), "Léa", "Cantine"),
                BasketOutcome::Refused { why: "Le service est fermé ce jour-là.".into() },
            ),
        ];
        insta::assert_snapshot!("basket_by_family", whole(&basket(MadeBy::Family, lines.clone(), 1800).render()));
        insta::assert_snapshot!("basket_by_staff", whole(&basket(MadeBy::Staff, lines, 1800).render()));
    }

    #[test]
    fn a_basket_that_only_cancels_lists_no_booking_and_costs_nothing() {
        let c = basket(MadeBy::Family, vec![(day(d(2026, 11, 30), "Hugo", "Cantine"), BasketOutcome::Cancelled)], 0)
            .render();
        assert!(
            c.text.contains("\nAnnulations\u{202f}:\n- lundi 30/11/2026 – Hugo – Cantine – annulée\n"),
            "{}",
            c.text
        );
        assert!(!c.text.contains("Réservations\u{202f}:") && !c.text.contains("Non enregistré"), "{}", c.text);
        assert!(c.text.contains("Montant de ces changements\u{202f}: 0,00\u{a0}€."), "{}", c.text);
    }

    #[test]
    fn staff_changes_name_the_towns_service() {
        let mut b = basket(MadeBy::Staff, vec![], 0);
        b.town = "Argenteuil".into();
        let c = b.render();
        assert_eq!(c.subject, "Modification de vos réservations par le service – Argenteuil");
        assert!(c.text.contains("Le service enfance d’Argenteuil a modifié"), "{}", c.text);
    }

    #[test]
    fn request_decisions_snapshot() {
        let c = RequestDecisions {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            decisions: vec![
                (day(d(2026, 12, 21), "Hugo", "Accueil de loisirs"), StaffDecision::RequestAccepted),
                (
                    day(d(2026, 12, 22), "Hugo", "Accueil de loisirs"),
                    StaffDecision::RequestRefused { reason: "Le groupe des 6-8 ans est complet.".into() },
                ),
                (day(d(2026, 12, 16), "Léa", "Accueil de loisirs mercredi"), StaffDecision::CancellationAccepted),
                (
                    day(d(2026, 12, 23), "Léa", "Accueil de loisirs"),
                    StaffDecision::CancellationRefused { reason: "Le séjour est déjà payé.".into() },
                ),
            ],
        };
        insta::assert_snapshot!(whole(&c.render()));
    }

    #[test]
    fn decisions_of_one_kind_make_one_section() {
        let c = RequestDecisions {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            decisions: vec![
                (day(d(2026, 12, 21), "Hugo", "Accueil de loisirs"), StaffDecision::RequestAccepted),
                (day(d(2026, 12, 22), "Hugo", "Accueil de loisirs"), StaffDecision::RequestAccepted),
            ],
        }
        .render();
        assert_eq!(c.text.matches("\u{202f}:\n").count(), 2, "the intro and one section: {}", c.text);
        assert!(c.text.contains("Demandes validées\u{202f}:\n- lundi 21/12/2026 – Hugo"), "{}", c.text);
    }
}
