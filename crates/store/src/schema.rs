//! Stored shapes outlive the code: every item kind has a schema version, every write stamps it
//! (attribute [`VERSION_ATTR`], set by [`crate::Item::new`] and [`crate::Item::from_value`] from
//! the item's key), and every typed read upgrades an older shape, one step at a time, before
//! decoding ([`crate::Item::to_value`]). An item without the attribute is version 1: the shapes
//! written before versions existed. `docs/store.md` says how to change a shape.

use crate::key::Key;
use crate::keys;
use serde_json::{Map, Value};

/// The partition of the migrations' progress, one item per kind ([`crate::migrate`]).
pub const MIGRATIONS: &str = "MIGRATIONS";

/// The attribute holding an item's schema version.
pub const VERSION_ATTR: &str = "v";

/// One step of a kind's shape, from version `n` to `n + 1`: the item as stored (its attributes
/// with `pk`, `sk`, and `gsi1pk`, `gsi1sk`, `ttl` when set) in, the next shape out. It may
/// change the index keys and the expiry, never `pk` nor `sk`. Pure: no store, no clock.
pub type Upgrade = fn(Value) -> Result<Value, String>;

macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident = $name:literal, v $version:literal;)*) => {
        /// Every kind of item the store keeps, with the schema version this code writes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $($(#[$doc])* $kind,)*
        }

        impl Kind {
            pub const ALL: &[Kind] = &[$(Kind::$kind,)*];

            /// The kind's stable name (the operator's, the fixtures' folder).
            pub fn name(self) -> &'static str {
                match self {
                    $(Kind::$kind => $name,)*
                }
            }

            /// CURRENT: the version this code writes (1 + its upgrade steps).
            pub const fn current(self) -> u32 {
                match self {
                    $(Kind::$kind => $version,)*
                }
            }
        }
    };
}

kinds! {
    /// `T#<town>` / `CONFIG`: the town's configuration and its version.
    TownConfig = "town_config", v 1;
    /// `TOWNS` / `<town>`: the towns' list.
    TownListed = "town_listed", v 1;
    /// `…#F#<family>` / `FAMILY`.
    Family = "family", v 1;
    /// `…#F#<family>` / `QF`: the consent to fetch the QF from the CAF, and the QF fetched.
    Quotient = "quotient", v 1;
    /// `…#F#<family>` / `CLOSED`: a family the town closed.
    FamilyClosed = "family_closed", v 1;
    /// `…#C#<child>` / `CHILD`.
    Child = "child", v 1;
    /// `…#C#<child>` / `FILE`: the child's file as it stands.
    ChildFile = "child_file", v 1;
    /// `…#C#<child>` / `FILE#V#<n>`: a version of the child's file.
    ChildFileVersion = "child_file_version", v 1;
    /// `…#C#<child>` / `B#<date>#<unit>`.
    Booking = "booking", v 1;
    /// `…#EMAIL#<email>` / `ACCOUNT`.
    Account = "account", v 1;
    /// `…#TOKEN#<digest>` / `ACTIVATION`, `RESET`, `UNSUBSCRIBE` (a reminder's one-click link).
    Token = "token", v 1;
    /// `…#SESSION#<digest>` / `SESSION`.
    Session = "session", v 1;
    /// `…#FAIL#<digest>` / `<hour>`: failed logins counted (`count`).
    LoginFailures = "login_failures", v 1;
    /// `…#MAIL#<id>` / `MAIL`: the outbox.
    Mail = "mail", v 1;
    /// `…#MAILADDR#<digest>` / `STATE`: an address's bounces and complaints.
    MailAddress = "mail_address", v 1;
    /// `…#CAP#<unit>#<site>#<date>` / `<date>`: places `taken` and `waiting` (v1: at
    /// `…#CAP#<unit>#<site>`, moved by the migration).
    Capacity = "capacity", v 2;
    /// `…#DAYS#<date>` / `<date>`: a day's closure marks (v1: at `…#DAYS`, moved by the migration).
    Day = "day", v 2;
    /// `…#FEED#<digest>` / `FEED`: a private calendar feed.
    CalendarFeed = "calendar_feed", v 1;
    /// `…#F#<family>` / `FEED`: the family's current feed.
    FeedPointer = "feed_pointer", v 1;
    /// `…#F#<family>` / `BASKET#<email>`.
    Basket = "basket", v 1;
    /// `…#F#<family>` / `VAL#<key>`: a validation's header.
    Validation = "validation", v 1;
    /// `…#F#<family>` / `VAL#<key>#<claim>#C#<n>`: a chunk of a validation's plan.
    ValidationChunk = "validation_chunk", v 1;
    /// `…#F#<family>` / `VAL#<key>#<claim>#P`: a validation's progress.
    ValidationProgress = "validation_progress", v 1;
    /// `…#F#<family>` / `VAL#<key>#<claim>#S#<n>`: a chunk its day's queue handed back.
    ValidationSolo = "validation_solo", v 1;
    /// `…#RUSH#<date>` / `Q#<arrival>`: a validation's chunk waiting in its day's queue.
    DayQueueEntry = "day_queue_entry", v 1;
    /// `…#F#<family>` / `DOC#<id>`.
    Document = "document", v 1;
    /// `…#NEWS#<id>` / `ARTICLE`.
    Article = "article", v 1;
    /// `…#NEWS#<article>` / `ATTACH#<id>`: an attachment being uploaded.
    Attachment = "attachment", v 1;
    /// `…#AUDIT` / `<time>#<id>`.
    Audit = "audit", v 1;
    /// `…#F#<family>` / `INV#<month>`. v2: `version` always stored (invoices before payments
    /// had none, and every change is conditioned on it).
    Invoice = "invoice", v 2;
    /// `…#INVRUNS` / `RUN#<month>#N`, `RUN#<month>#TOTAL`: a billing run's counters.
    InvoiceRun = "invoice_run", v 1;
    /// `…#INVRUNS` / `PUB#<month>`: a month's publication.
    Publication = "publication", v 1;
    /// `…#INVRUNS` / `SENT#<month>#<number>`: an invoice's email queued.
    InvoiceSent = "invoice_sent", v 1;
    /// `…#INVRUNS` / `DEBIT#<month>#<number>`: a direct debit.
    Debit = "debit", v 1;
    /// `…#INVRUNS` / `PES#<id>`: a PES file for Hélios.
    PesFile = "pes_file", v 1;
    /// `…#TAXCERT#<year>` / `<family>`: a tax certificate published.
    TaxCertificateSent = "tax_certificate_sent", v 1;
    /// `…#F#<family>` / `AV#<number>`.
    CreditNote = "credit_note", v 1;
    /// `…#INVSEQ#<year>`, `…#AVSEQ#<year>`, `…#QSEQ#<year>` / `SEQ`: a numbering series.
    Sequence = "sequence", v 1;
    /// `…#F#<family>` / `CONTEST#<id>`.
    Contest = "contest", v 1;
    /// `…#F#<family>` / `PAY#<number>`: a receipt.
    Payment = "payment", v 1;
    /// `…#PAYFIP` / `OP#<idOp>`.
    PayfipOperation = "payfip_operation", v 1;
    /// `…#REMINDERS` / `<number>#<step>`: a payment reminder queued.
    ReminderSent = "reminder_sent", v 1;
    /// `BILLING#TOWNS` / `<town>`: the towns that bill.
    BillingTown = "billing_town", v 1;
    /// `…#F#<family>` / `MANDATE`: a SEPA mandate.
    Mandate = "mandate", v 1;
    /// `…#JOB#<id>` / `JOB`: a job a change left to do.
    Job = "job", v 1;
    /// `…#LEASE#<what>` / `LEASE`.
    Lease = "lease", v 1;
    /// `…#HOLIDAY_REMINDERS` / `<period>#<family>`.
    HolidayReminder = "holiday_reminder", v 1;
    /// `…#F#<family>` / `REGUL#<id>`.
    Regularisation = "regularisation", v 1;
    /// `…#F#<family>` / `REGULMONTH#<month>`: how many changes a billed month has had.
    RegularisedMonth = "regularised_month", v 1;
    /// `…#YEAR#<year>` / `CAMPAIGN`: a school year's enrolment campaign.
    Campaign = "campaign", v 1;
    /// `…#YEAR#<year>` / `ROLLOVER`: the rollover closing that year, its progress.
    RolloverRun = "rollover_run", v 1;
    /// `…#F#<family>` / `REMIND#<year>#<day>`: a campaign reminder sent.
    CampaignReminder = "campaign_reminder", v 1;
    /// `…#F#<family>` / `ENROL#<year>`: a family's enrolment for a school year.
    Enrolment = "enrolment", v 1;
    /// `…#ACCREQ#<id>` / `REQUEST`: a new family's request for an account.
    AccountRequest = "account_request", v 1;
    /// `MIGRATIONS` / `<kind>`: a migration's progress ([`crate::migrate`]).
    Migration = "migration", v 1;
}

impl Kind {
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// The kind of the item at `key`, from the key design (`keys.rs`); `None` for a key the
    /// project does not write (the contract tests' own).
    pub fn of(key: &Key) -> Option<Kind> {
        let sk = key.sk.as_str();
        let mut parts = key.pk.split('#');
        match parts.next()? {
            "T" => {}
            _ if key.pk == keys::TOWNS => return Some(Kind::TownListed),
            _ if key.pk == keys::BILLING_TOWNS => return Some(Kind::BillingTown),
            _ if key.pk == MIGRATIONS => return Some(Kind::Migration),
            _ => return None,
        }
        parts.next()?;
        let starts = |p: &str| sk.starts_with(p);
        Some(match (parts.next(), sk) {
            (None, "CONFIG") => Kind::TownConfig,
            (Some("F"), "FAMILY") => Kind::Family,
            (Some("F"), "CLOSED") => Kind::FamilyClosed,
            (Some("F"), "FEED") => Kind::FeedPointer,
            (Some("F"), "MANDATE") => Kind::Mandate,
            (Some("F"), _) if starts("BASKET#") => Kind::Basket,
            (Some("F"), _) if starts("VAL#") && sk.ends_with("#P") => Kind::ValidationProgress,
            (Some("F"), _) if starts("VAL#") && is_chunk(sk) => Kind::ValidationChunk,
            (Some("F"), _) if starts("VAL#") && is_numbered(sk, "#S#") => Kind::ValidationSolo,
            (Some("F"), _) if starts("VAL#") => Kind::Validation,
            (Some("F"), _) if starts(keys::DOCUMENT_PREFIX) => Kind::Document,
            (Some("F"), _) if starts(keys::INVOICE_PREFIX) => Kind::Invoice,
            (Some("F"), _) if starts(keys::CREDIT_NOTE_PREFIX) => Kind::CreditNote,
            (Some("F"), _) if starts(keys::CONTEST_PREFIX) => Kind::Contest,
            (Some("F"), _) if starts(keys::PAYMENT_PREFIX) => Kind::Payment,
            (Some("F"), _) if starts(keys::REGULARISATION_PREFIX) => Kind::Regularisation,
            (Some("F"), _) if starts("REGULMONTH#") => Kind::RegularisedMonth,
            (Some("F"), _) if starts(keys::ENROLMENT_PREFIX) => Kind::Enrolment,
            (Some("YEAR"), "CAMPAIGN") => Kind::Campaign,
            (Some("YEAR"), "ROLLOVER") => Kind::RolloverRun,
            (Some("F"), _) if starts("REMIND#") => Kind::CampaignReminder,
            (Some("ACCREQ"), "REQUEST") => Kind::AccountRequest,
            (Some("F"), "QF") => Kind::Quotient,
            (Some("C"), "CHILD") => Kind::Child,
            (Some("C"), _) if starts("B#") => Kind::Booking,
            (Some("C"), "FILE") => Kind::ChildFile,
            (Some("C"), _) if starts(keys::CHILD_FILE_VERSION_PREFIX) => Kind::ChildFileVersion,
            (Some("EMAIL"), "ACCOUNT") => Kind::Account,
            (Some("TOKEN"), _) => Kind::Token,
            (Some("SESSION"), "SESSION") => Kind::Session,
            (Some("FAIL"), _) => Kind::LoginFailures,
            (Some("MAIL"), "MAIL") => Kind::Mail,
            (Some("MAILADDR"), "STATE") => Kind::MailAddress,
            (Some("CAP"), _) => Kind::Capacity,
            (Some("DAYS"), _) => Kind::Day,
            (Some("RUSH"), _) if starts(keys::DAY_QUEUE_PREFIX) => Kind::DayQueueEntry,
            (Some("FEED"), "FEED") => Kind::CalendarFeed,
            (Some("NEWS"), "ARTICLE") => Kind::Article,
            (Some("NEWS"), _) if starts("ATTACH#") => Kind::Attachment,
            (Some("AUDIT"), _) => Kind::Audit,
            (Some("INVRUNS"), _) if starts("RUN#") => Kind::InvoiceRun,
            (Some("INVRUNS"), _) if starts("PUB#") => Kind::Publication,
            (Some("INVRUNS"), _) if starts("SENT#") => Kind::InvoiceSent,
            (Some("INVRUNS"), _) if starts("DEBIT#") => Kind::Debit,
            (Some("INVRUNS"), _) if starts(keys::PES_FILE_PREFIX) => Kind::PesFile,
            (Some("INVSEQ" | "AVSEQ" | "QSEQ" | "PESSEQ"), "SEQ") => Kind::Sequence,
            (Some("PAYFIP"), _) if starts("OP#") => Kind::PayfipOperation,
            (Some("REMINDERS"), _) => Kind::ReminderSent,
            (Some("TAXCERT"), _) => Kind::TaxCertificateSent,
            (Some("JOB"), "JOB") => Kind::Job,
            (Some("LEASE"), "LEASE") => Kind::Lease,
            (Some("HOLIDAY_REMINDERS"), _) => Kind::HolidayReminder,
            _ => return None,
        })
    }
}

/// `…#C#<4 digits>`: a validation chunk's sort key.
fn is_chunk(sk: &str) -> bool {
    is_numbered(sk, "#C#")
}

/// `…<tag><digits>`: a numbered record of a validation.
fn is_numbered(sk: &str, tag: &str) -> bool {
    sk.rsplit_once(tag).is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The upgrade steps of a kind, the first from version 1 to 2.
fn steps(kind: Kind) -> &'static [Upgrade] {
    match kind {
        Kind::Invoice => &[invoice_v1_stores_its_version],
        Kind::Capacity | Kind::Day => &[moved_to_a_partition_per_day],
        _ => &[],
    }
}

/// Capacity counters and day marks of v1 shared one partition for every date (`…#CAP#<unit>#<site>`,
/// `…#DAYS`), which the opening rush heats past DynamoDB's partition limit; v2 gives each date
/// its own. The attributes do not change: the migration moves each item to its new key
/// ([`relocated`], [`crate::migrate`]), and the code reads only the new keys.
fn moved_to_a_partition_per_day(v: Value) -> Result<Value, String> {
    Ok(v)
}

/// Where an item of a v1 key layout lives now, if its kind moved (`None`: it is where it
/// belongs).
pub fn relocated(key: &Key) -> Option<Key> {
    let parts: Vec<&str> = key.pk.split('#').collect();
    match parts.as_slice() {
        ["T", _, "CAP", _, _] | ["T", _, "DAYS"] => Some(Key::new(format!("{}#{}", key.pk, key.sk), key.sk.clone())),
        _ => None,
    }
}

/// Invoices written before payments existed have no `version`; every change of an invoice is
/// conditioned on the version read (`version = n`), which such an invoice never meets. Its
/// version is 0 (never changed since versions exist), stored explicitly so that the condition
/// holds: the migration job writes it ([`crate::migrate`]).
fn invoice_v1_stores_its_version(mut v: Value) -> Result<Value, String> {
    let map = v.as_object_mut().ok_or("an invoice is a map")?;
    map.entry("version").or_insert(Value::from(0));
    Ok(v)
}

/// The shapes this code reads: the production steps, and in tests further ones.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    extra: Vec<(Kind, Upgrade)>,
}

static PRODUCTION: Schema = Schema { extra: Vec::new() };

impl Schema {
    /// The shapes this code writes and reads.
    pub fn production() -> &'static Schema {
        &PRODUCTION
    }

    /// These shapes and one step more for `kind` (a test's shape change, before it is real).
    pub fn with_step(mut self, kind: Kind, upgrade: Upgrade) -> Schema {
        self.extra.push((kind, upgrade));
        self
    }

    /// The upgrade steps of `kind`, from v1 to v2 first.
    pub fn steps(&self, kind: Kind) -> impl Iterator<Item = Upgrade> + '_ {
        steps(kind).iter().copied().chain(self.extra.iter().filter(move |(k, _)| *k == kind).map(|(_, u)| *u))
    }

    /// The version of `kind` these shapes end at.
    pub fn version(&self, kind: Kind) -> u32 {
        1 + u32::try_from(self.steps(kind).count()).unwrap_or(u32::MAX - 1)
    }
}

/// The version attribute of a new item at `key`, if its kind is known.
pub(crate) fn stamp(key: &Key, attrs: &mut Map<String, Value>) {
    if let Some(kind) = Kind::of(key) {
        attrs.insert(VERSION_ATTR.into(), Value::from(kind.current()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Item, StoreError};
    use domain::{ChildId, FamilyRef, SiteId, TownId, UnitId};
    use serde_json::json;
    use std::borrow::Cow;

    #[test]
    fn each_kind_declares_the_version_its_steps_reach() {
        for &kind in Kind::ALL {
            assert_eq!(kind.current(), Schema::production().version(kind), "{kind:?}");
            assert_eq!(Kind::parse(kind.name()), Some(kind));
        }
    }

    /// Every key `keys.rs` makes, with the kind it holds: a key added there without a kind
    /// fails `every_key_function_is_classified`.
    fn every_key() -> Vec<(&'static str, Key, Kind)> {
        let t = TownId::parse("ville").unwrap();
        let f = FamilyRef::parse("martin").unwrap();
        let c = ChildId::parse("lea").unwrap();
        let email = domain::family::Email::parse("a@b.fr").unwrap();
        let (u, s) = (UnitId::parse("midi").unwrap(), SiteId::parse("ecole").unwrap());
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        let year = domain::school_year::SchoolYear::parse("2027-2028").unwrap();
        let (run_n, run_total) = keys::invoice_run(&t, domain::Month::parse("2026-11").unwrap());
        vec![
            ("town_config", keys::town_config(&t), Kind::TownConfig),
            ("family", keys::family(&t, &f), Kind::Family),
            ("child", keys::child(&t, &c), Kind::Child),
            ("child_file", keys::child_file(&t, &c), Kind::ChildFile),
            ("child_file_version", keys::child_file_version(&t, &c, 3), Kind::ChildFileVersion),
            ("account", keys::account(&t, &email), Kind::Account),
            ("token", keys::token(&t, "ab12", "activation"), Kind::Token),
            ("session", keys::session(&t, "ab12"), Kind::Session),
            ("failures", keys::failures(&t, "a@b.fr", "2026-11-03T10"), Kind::LoginFailures),
            ("mail", keys::mail(&t, "m1"), Kind::Mail),
            ("booking", keys::booking(&t, &c, d, &u), Kind::Booking),
            ("capacity", keys::capacity(&t, &u, &s, d), Kind::Capacity),
            ("day", keys::day(&t, d), Kind::Day),
            ("calendar_feed", keys::calendar_feed(&t, "ab12"), Kind::CalendarFeed),
            ("family_feed", keys::family_feed(&t, &f), Kind::FeedPointer),
            ("basket", keys::basket(&t, &f, &email), Kind::Basket),
            ("validation", keys::validation(&t, &f, "k-1"), Kind::Validation),
            ("validation_solo", keys::validation_solo(&t, &f, "k-1#c", 3), Kind::ValidationSolo),
            ("day_queue_entry", keys::day_queue_entry(&t, d, "00017#c#0003"), Kind::DayQueueEntry),
            ("validation_chunk", keys::validation_chunk(&t, &f, "k-1#c9", 3), Kind::ValidationChunk),
            ("validation_progress", keys::validation_progress(&t, &f, "k-1#c9"), Kind::ValidationProgress),
            ("document", keys::document(&t, &f, "d1"), Kind::Document),
            ("article", keys::article(&t, "n1"), Kind::Article),
            ("attachment", keys::attachment(&t, "n1", "a1"), Kind::Attachment),
            ("invoice", keys::invoice(&t, &f, domain::Month::parse("2026-11").unwrap()), Kind::Invoice),
            ("invoice_run", run_n, Kind::InvoiceRun),
            ("invoice_run", run_total, Kind::InvoiceRun),
            (
                "invoice_run_issued",
                keys::invoice_run_issued(&t, domain::Month::parse("2026-11").unwrap()),
                Kind::InvoiceRun,
            ),
            ("publication", keys::publication(&t, domain::Month::parse("2026-11").unwrap()), Kind::Publication),
            (
                "invoice_notified",
                keys::invoice_notified(&t, domain::Month::parse("2026-11").unwrap(), "F-2026-1"),
                Kind::InvoiceSent,
            ),
            ("credit_note", keys::credit_note(&t, &f, "AV-2026-1"), Kind::CreditNote),
            ("credit_sequence", keys::credit_sequence(&t, 2026), Kind::Sequence),
            ("contest", keys::contest(&t, &f, "x1"), Kind::Contest),
            ("invoice_sequence", keys::invoice_sequence(&t, 2026), Kind::Sequence),
            ("payment", keys::payment(&t, &f, "Q-2026-1"), Kind::Payment),
            ("receipt_sequence", keys::receipt_sequence(&t, 2026), Kind::Sequence),
            ("payfip_operation", keys::payfip_operation(&t, "op1"), Kind::PayfipOperation),
            ("reminder_sent", keys::reminder_sent(&t, "F-2026-1", "before_due"), Kind::ReminderSent),
            ("billing_town", keys::billing_town(&t), Kind::BillingTown),
            ("mandate", keys::mandate(&t, &f), Kind::Mandate),
            ("debit", keys::debit(&t, domain::Month::parse("2026-11").unwrap(), "F-2026-1"), Kind::Debit),
            ("pes_file", keys::pes_file(&t, "PES-2026-000001"), Kind::PesFile),
            ("pes_sequence", keys::pes_sequence(&t, 2026), Kind::Sequence),
            ("tax_certificate_sent", keys::tax_certificate_sent(&t, 2026, &f), Kind::TaxCertificateSent),
            ("job", keys::job(&t, "j1"), Kind::Job),
            ("lease", keys::lease(&t, "PROMOTE#midi#ecole#2026-11-03"), Kind::Lease),
            ("town_registered", keys::town_registered(&t), Kind::TownListed),
            ("holiday_reminder", keys::holiday_reminder(&t, "2026-12-19#alsh#open", &f), Kind::HolidayReminder),
            ("family_closed", keys::family_closed(&t, &f), Kind::FamilyClosed),
            ("quotient", keys::quotient(&t, &f), Kind::Quotient),
            ("regularisation", keys::regularisation(&t, &f, "r1"), Kind::Regularisation),
            (
                "regularised_month",
                keys::regularised_month(&t, &f, domain::Month::parse("2026-11").unwrap()),
                Kind::RegularisedMonth,
            ),
            ("audit", Key::new(keys::audit(&t), "2026-11-03T10:00:00.000000Z#x"), Kind::Audit),
            ("migration", crate::migrate::progress_key(Kind::Invoice), Kind::Migration),
            ("campaign", keys::campaign(&t, year), Kind::Campaign),
            ("rollover", keys::rollover(&t, year), Kind::RolloverRun),
            ("campaign_reminder", keys::campaign_reminder(&t, year, d, &f), Kind::CampaignReminder),
            ("enrolment", keys::enrolment(&t, &f, year), Kind::Enrolment),
            ("account_request", keys::account_request(&t, "r1"), Kind::AccountRequest),
            (
                "mail_address",
                keys::mail_address(&t, &domain::family::Email::parse("sophie.martin@exemple.fr").unwrap()),
                Kind::MailAddress,
            ),
        ]
    }

    #[test]
    fn every_item_key_has_its_kind() {
        for (name, key, kind) in every_key() {
            let got = Kind::of(&key);
            assert_eq!(got, Some(kind), "{name}: {key:?}");
        }
        let kinds: std::collections::BTreeSet<Kind> = every_key().into_iter().map(|(_, _, k)| k).collect();
        assert_eq!(kinds.len(), Kind::ALL.len(), "every kind has a key");
    }

    /// The functions of `keys.rs` that make an item's key: each is in [`every_key`]. (The
    /// others name index partitions or prefixes, or a key's parts.)
    #[test]
    fn every_key_function_is_classified() {
        let source = include_str!("keys.rs");
        let not_items = [
            "town",
            "families_of_town",
            "family_in_town",
            "sessions_of",
            "unsubscribe_links_of",
            "outbox_parked",
            "accounts_of_town",
            "children_of_town",
            "bookings_between",
            "day_of_bookings",
            "booking_on_day",
            "family_partition",
            "day_queue",
            "documents_pending",
            "articles_of",
            "audit",
            "invoices_of_month",
            "invoice_runs",
            "credit_notes_of_month",
            "tax_certificates_sent",
            "contests_pending",
            "payments_of_month",
            "payfip_pending",
            "payfip_anomalies",
            "mails_to",
            "mails_to_all",
            "families_closed",
            "regularisations_open",
            "regularisations_aided",
            "school_year",
            "account_requests_pending",
            "child_files_to_check",
            "undeliverable",
        ];
        let covered: Vec<&str> = every_key().into_iter().map(|(n, _, _)| n).collect();
        for line in source.lines() {
            let Some(rest) = line.strip_prefix("pub fn ").or_else(|| line.strip_prefix("fn ")) else { continue };
            let name = rest.split('(').next().unwrap_or_default();
            assert!(
                covered.contains(&name) || not_items.contains(&name),
                "keys::{name} makes a key without a schema kind: add it to schema.rs"
            );
        }
    }

    #[test]
    fn keys_the_project_does_not_write_have_no_kind() {
        for (pk, sk) in [("T#a#X", "1"), ("T#a#R", "1"), ("other", "x"), ("T#a#F#f", "UNKNOWN")] {
            assert_eq!(Kind::of(&Key::new(pk, sk)), None, "{pk}/{sk}");
        }
    }

    #[test]
    fn new_items_carry_their_kinds_version() {
        let t = TownId::parse("ville").unwrap();
        let f = FamilyRef::parse("martin").unwrap();
        let inv =
            Item::from_value(keys::invoice(&t, &f, domain::Month::parse("2026-11").unwrap()), &json!({"total": 3}))
                .unwrap();
        assert_eq!(inv.attrs.get(VERSION_ATTR), Some(&json!(2)));
        assert_eq!(Item::new(keys::family(&t, &f)).attrs.get(VERSION_ATTR), Some(&json!(1)));
        assert_eq!(Item::new(Key::new("T#a#X", "1")).attrs.get(VERSION_ATTR), None);
        let clash = Item::from_value(keys::family(&t, &f), &json!({"v": 3}));
        assert!(matches!(clash, Err(StoreError::Invalid(_))));
    }

    fn moved(mut v: Value) -> Result<Value, String> {
        let map = v.as_object_mut().ok_or("a map")?;
        let phone = map.remove("phone").unwrap_or(Value::Null);
        map.insert("contact".into(), json!({ "phone": phone }));
        Ok(v)
    }

    #[test]
    fn an_older_item_is_upgraded_step_by_step_and_a_newer_one_refused() {
        let schema = Schema::default().with_step(Kind::Family, moved);
        assert_eq!(schema.version(Kind::Family), 2);
        let mut old = Item::new(Key::new("T#a#F#f", "FAMILY"));
        old.attrs.remove(VERSION_ATTR);
        old.attrs.insert("phone".into(), json!("01"));
        let up = old.upgraded(&schema).unwrap();
        assert_eq!(up.attrs.get("contact"), Some(&json!({"phone": "01"})));
        assert_eq!(up.attrs.get(VERSION_ATTR), Some(&json!(2)));
        assert!(matches!(up.upgraded(&schema).unwrap(), Cow::Borrowed(_)));
        let err = up.upgraded(Schema::production()).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
    }

    #[test]
    fn an_invoice_without_version_reads_as_version_0_and_keeps_a_stored_one() {
        let key = Key::new("T#a#F#f", "INV#2026-09");
        let item = Item::unflatten(json!({"pk": key.pk, "sk": key.sk, "total": 1})).unwrap();
        let up = item.upgraded(Schema::production()).unwrap();
        assert_eq!((up.attrs.get("version"), up.attrs.get(VERSION_ATTR)), (Some(&json!(0)), Some(&json!(2))));
        let item = Item::unflatten(json!({"pk": key.pk, "sk": key.sk, "version": 4})).unwrap();
        assert_eq!(item.upgraded(Schema::production()).unwrap().attrs.get("version"), Some(&json!(4)));
    }

    #[test]
    fn a_stored_item_flattens_and_back() {
        let item = Item::new(Key::new("T#a#F#f", "DOC#1")).with_gsi1(Key::new("g", "h")).with_ttl(9);
        assert_eq!(Item::unflatten(item.flatten()).unwrap(), item);
    }
}
