//! The key design, in one place: every key starts with the town id (`T#<town>`), so one
//! town's data never mixes with another's. `docs/store.md` lists the access patterns.

use crate::key::Key;
use domain::family::Email;
use domain::{ChildId, FamilyRef, Month, TownId};

fn town(t: &TownId) -> String {
    format!("T#{t}")
}

/// The town's configuration document.
pub fn town_config(t: &TownId) -> Key {
    Key::new(town(t), "CONFIG")
}

/// A family's record.
pub fn family(t: &TownId, f: &FamilyRef) -> Key {
    Key::new(family_partition(t, f), "FAMILY")
}

/// A family's quotient familial from the CAF (`domain::qf`): the guardian's consent and the
/// last QF fetched, in the family's partition (erased with it).
pub fn quotient(t: &TownId, f: &FamilyRef) -> Key {
    Key::new(family_partition(t, f), "QF")
}

/// The index partition listing a town's families, by reference (`gsi1`).
pub fn families_of_town(t: &TownId) -> String {
    format!("{}#FAMILIES", town(t))
}
pub fn family_in_town(t: &TownId, f: &FamilyRef) -> Key {
    Key::new(families_of_town(t), format!("F#{f}"))
}

/// A child's record; the child's bookings will share its partition (`B#<date>#<unit>`), so
/// the calendar of one child over a date range is one query.
pub fn child(t: &TownId, c: &ChildId) -> Key {
    Key::new(format!("{}#C#{c}", town(t)), "CHILD")
}

/// A child's file (`domain::child_file`), in the child's partition, apart from its record.
pub fn child_file(t: &TownId, c: &ChildId) -> Key {
    Key::new(child(t, c).pk, "FILE")
}

/// A version of a child's file, in the child's partition (`FILE#V#<000001>`).
pub fn child_file_version(t: &TownId, c: &ChildId, version: u32) -> Key {
    Key::new(child(t, c).pk, format!("{CHILD_FILE_VERSION_PREFIX}{version:06}"))
}
/// The sort-key prefix of a file's versions.
pub const CHILD_FILE_VERSION_PREFIX: &str = "FILE#V#";

/// The index partition of the files a guardian changed and staff have not checked (`gsi1`).
pub fn child_files_to_check(t: &TownId) -> String {
    format!("{}#FILES#TOCHECK", town(t))
}

/// A login: one account per email and town (a guardian of two families has one account).
pub fn account(t: &TownId, email: &Email) -> Key {
    Key::new(format!("{}#EMAIL#{email}", town(t)), "ACCOUNT")
}

/// An activation or reset token, by the SHA-256 of the secret.
pub fn token(t: &TownId, digest: &str, purpose: &str) -> Key {
    Key::new(format!("{}#TOKEN#{digest}", town(t)), purpose)
}

/// A session, by the SHA-256 of its cookie.
pub fn session(t: &TownId, digest: &str) -> Key {
    Key::new(format!("{}#SESSION#{digest}", town(t)), "SESSION")
}

/// The index partition of one account's sessions (to revoke them all).
pub fn sessions_of(t: &TownId, email: &Email) -> String {
    format!("{}#EMAIL#{email}#SESSIONS", town(t))
}

/// The index partition listing the reminders' unsubscribe links made for an address (`gsi1`):
/// deleted with the account at a family's erasure, kept through a password change.
pub fn unsubscribe_links_of(t: &TownId, email: &Email) -> String {
    format!("{}#EMAIL#{email}#UNSUBSCRIBE", town(t))
}

/// Failed logins (or emails asked) of one account or one client address in one hour; the
/// subject is hashed, so that no counter keeps an address.
pub fn failures(t: &TownId, subject: &str, hour: &str) -> Key {
    Key::new(format!("{}#FAIL#{}", town(t), crate::secret::digest(subject)), hour)
}

/// An email in the outbox.
pub fn mail(t: &TownId, id: &str) -> Key {
    Key::new(format!("{}#MAIL#{id}", town(t)), "MAIL")
}

/// What delivery events taught about one address (hashed: no key keeps the address).
pub fn mail_address(t: &TownId, email: &Email) -> Key {
    Key::new(format!("{}#MAILADDR#{}", town(t), crate::secret::digest(email.as_str())), "STATE")
}

/// The index partition of a town's undeliverable addresses (the agent's « Aujourd'hui »).
pub fn undeliverable(t: &TownId) -> String {
    format!("{}#UNDELIVERABLE", town(t))
}

/// The index partition of emails waiting to be sent, all towns together (the notifier drains
/// it); its sort key starts with the next attempt's time.
pub const OUTBOX_PENDING: &str = "OUTBOX#PENDING";

/// The index partition of a town's emails that could not be sent (shown to staff).
pub fn outbox_parked(t: &TownId) -> String {
    format!("{}#OUTBOX#PARKED", town(t))
}

/// The index partition listing a town's accounts, by email (`gsi1`).
pub fn accounts_of_town(t: &TownId) -> String {
    format!("{}#ACCOUNTS", town(t))
}

/// The index partition listing a town's children, by id (`gsi1`).
pub fn children_of_town(t: &TownId) -> String {
    format!("{}#CHILDREN", town(t))
}

/// A child's booking of a unit on a date: in the child's partition, so the calendar of one
/// child over a date range is one query.
pub fn booking(t: &TownId, c: &ChildId, date: chrono::NaiveDate, unit: &domain::UnitId) -> Key {
    Key::new(format!("{}#C#{c}", town(t)), format!("{BOOKING_PREFIX}{date}#{unit}"))
}

/// The sort-key prefix of a child's bookings in its partition.
pub const BOOKING_PREFIX: &str = "B#";

/// The partition of a child's bookings, and the sort-key range of the dates `from..=to`.
pub fn bookings_between(
    t: &TownId,
    c: &ChildId,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> (String, String, String) {
    (format!("{}#C#{c}", town(t)), format!("B#{from}"), format!("B#{to}~"))
}

/// The index partition of a town's bookings on one day (`gsi1`).
pub fn day_of_bookings(t: &TownId, date: chrono::NaiveDate) -> String {
    format!("{}#DAY#{date}", town(t))
}

/// A booking's place in its day's index partition: by site, unit, child.
pub fn booking_on_day(t: &TownId, b: &domain::booking::Booking) -> Key {
    Key::new(day_of_bookings(t, b.date), format!("{}#{}#{}", b.site, b.unit, b.child))
}

/// The places taken (`taken`) and asked for on the waiting list (`waiting`) for a unit at a site
/// on a date. Every booking of the day moves it, so each date is a partition of its own: an
/// opening rush spreads over as many partitions as it books days instead of heating one
/// (docs/store.md, « Hot keys »; until schema v2 every date of a unit at a site shared one).
pub fn capacity(t: &TownId, unit: &domain::UnitId, site: &domain::SiteId, date: chrono::NaiveDate) -> Key {
    Key::new(format!("{}#CAP#{unit}#{site}#{date}", town(t)), date.to_string())
}

/// A day of the town's calendar as the store orders it: its closure marks (`closed` for every
/// activity, `closed_<activity>` for one, each holding the reason) and the configuration
/// `version` that wrote them. Every transaction that puts a booking on a day checks its marks,
/// so each date is a partition of its own, like [`capacity`] (until schema v2 the town's days
/// shared one).
pub fn day(t: &TownId, date: chrono::NaiveDate) -> Key {
    Key::new(format!("{}#DAYS#{date}", town(t)), date.to_string())
}

/// A private calendar feed, by the SHA-256 of its secret.
pub fn calendar_feed(t: &TownId, digest: &str) -> Key {
    Key::new(format!("{}#FEED#{digest}", town(t)), "FEED")
}

/// The family's current calendar feed (so that a new one revokes the old one).
pub fn family_feed(t: &TownId, f: &FamilyRef) -> Key {
    Key::new(family_partition(t, f), "FEED")
}

/// A guardian's basket for one family: in the family's partition, one per account, so it
/// follows the guardian from one device to another.
pub fn basket(t: &TownId, f: &FamilyRef, email: &Email) -> Key {
    Key::new(family_partition(t, f), format!("BASKET#{email}"))
}

/// A validation (of a basket, or of staff changes) by its idempotency key: its header, the
/// chunks of its plan (`#C#<n>`) and its progress (`#P`).
pub fn validation(t: &TownId, f: &FamilyRef, idempotency_key: &str) -> Key {
    Key::new(family_partition(t, f), format!("VAL#{idempotency_key}"))
}
pub fn validation_chunk(t: &TownId, f: &FamilyRef, idempotency_key: &str, chunk: usize) -> Key {
    Key::new(family_partition(t, f), format!("VAL#{idempotency_key}#C#{chunk:04}"))
}
pub fn validation_progress(t: &TownId, f: &FamilyRef, idempotency_key: &str) -> Key {
    Key::new(family_partition(t, f), format!("VAL#{idempotency_key}#P"))
}
/// A chunk of a validation that its day's queue handed back: its worker applies it itself.
pub fn validation_solo(t: &TownId, f: &FamilyRef, idempotency_key: &str, chunk: usize) -> Key {
    Key::new(family_partition(t, f), format!("VAL#{idempotency_key}#S#{chunk:04}"))
}

/// The partition of a day's queue of validation chunks (the opening rush, docs/basket.md).
pub fn day_queue(t: &TownId, date: chrono::NaiveDate) -> String {
    format!("{}#RUSH#{date}", town(t))
}

/// One chunk waiting in its day's queue, in order of arrival (`arrival` sorts as it came).
pub fn day_queue_entry(t: &TownId, date: chrono::NaiveDate, arrival: &str) -> Key {
    Key::new(day_queue(t, date), format!("{DAY_QUEUE_PREFIX}{arrival}"))
}

/// The sort-key prefix of a day queue's entries.
pub const DAY_QUEUE_PREFIX: &str = "Q#";

/// The partition of a family: its record, feed, baskets, validations and documents.
pub fn family_partition(t: &TownId, f: &FamilyRef) -> String {
    format!("{}#F#{f}", town(t))
}

/// A family's document (« Mes demandes »), in the family's partition (`DOC#<id>`).
pub fn document(t: &TownId, f: &FamilyRef, id: &str) -> Key {
    Key::new(family_partition(t, f), format!("{DOCUMENT_PREFIX}{id}"))
}
/// The sort-key prefix of a family's documents.
pub const DOCUMENT_PREFIX: &str = "DOC#";

/// The index partition of the documents waiting for staff, oldest first (`gsi1`).
pub fn documents_pending(t: &TownId) -> String {
    format!("{}#DOCS#PENDING", town(t))
}

/// The index partition of decided documents of every town, by the day they are deleted.
pub const DOCUMENTS_PURGE: &str = "DOCS#PURGE";

/// A news article.
pub fn article(t: &TownId, id: &str) -> Key {
    Key::new(format!("{}#NEWS#{id}", town(t)), "ARTICLE")
}

/// An article's attachment, in the article's partition.
pub fn attachment(t: &TownId, article: &str, id: &str) -> Key {
    Key::new(format!("{}#NEWS#{article}", town(t)), format!("ATTACH#{id}"))
}

/// The index partition listing a town's articles (`gsi1`).
pub fn articles_of(t: &TownId) -> String {
    format!("{}#NEWS", town(t))
}

/// The partition of a town's audit trail, by time.
pub fn audit(t: &TownId) -> String {
    format!("{}#AUDIT", town(t))
}

/// A family's invoice of a month (`INV#AAAA-MM`), in the family's partition.
pub fn invoice(t: &TownId, f: &FamilyRef, month: Month) -> Key {
    Key::new(family_partition(t, f), format!("{INVOICE_PREFIX}{month}"))
}
/// The sort-key prefix of a family's invoices.
pub const INVOICE_PREFIX: &str = "INV#";

/// The index partition of a month's invoices, by family (`gsi1`).
pub fn invoices_of_month(t: &TownId, month: Month) -> String {
    format!("{}#INVOICES#{month}", town(t))
}

/// A town's billing runs: `RUN#AAAA-MM#N` and `RUN#AAAA-MM#TOTAL` (invoices issued and their
/// total, added to by each finalising transaction), `PUB#AAAA-MM` (the publication) and `SENT#AAAA-MM#<number>` (an
/// invoice whose email is queued). One partition: a town has a dozen months a year.
pub fn invoice_runs(t: &TownId) -> String {
    format!("{}#INVRUNS", town(t))
}
pub fn invoice_run(t: &TownId, month: Month) -> (Key, Key) {
    (Key::new(invoice_runs(t), format!("RUN#{month}#N")), Key::new(invoice_runs(t), format!("RUN#{month}#TOTAL")))
}
/// The day a month's invoices were last issued (« facturé le … »).
pub fn invoice_run_issued(t: &TownId, month: Month) -> Key {
    Key::new(invoice_runs(t), format!("RUN#{month}#ON"))
}
pub fn publication(t: &TownId, month: Month) -> Key {
    Key::new(invoice_runs(t), format!("PUB#{month}"))
}
pub fn invoice_notified(t: &TownId, month: Month, number: &str) -> Key {
    Key::new(invoice_runs(t), format!("SENT#{month}#{number}"))
}

/// A family's credit note (`AV#<number>`), in the family's partition; by month in `gsi1`.
pub fn credit_note(t: &TownId, f: &FamilyRef, number: &str) -> Key {
    Key::new(family_partition(t, f), format!("{CREDIT_NOTE_PREFIX}{number}"))
}
pub const CREDIT_NOTE_PREFIX: &str = "AV#";
pub fn credit_notes_of_month(t: &TownId, month: Month) -> String {
    format!("{}#CREDITS#{month}", town(t))
}
/// A town's credit note numbers of a year, a series of their own.
pub fn credit_sequence(t: &TownId, year: i32) -> Key {
    Key::new(format!("{}#AVSEQ#{year}", town(t)), "SEQ")
}

/// A guardian's contest of an invoice line (`CONTEST#<id>`), in the family's partition; the
/// ones waiting for staff are in `gsi1` under [`contests_pending`].
pub fn contest(t: &TownId, f: &FamilyRef, id: &str) -> Key {
    Key::new(family_partition(t, f), format!("{CONTEST_PREFIX}{id}"))
}
pub const CONTEST_PREFIX: &str = "CONTEST#";
pub fn contests_pending(t: &TownId) -> String {
    format!("{}#CONTESTS#PENDING", town(t))
}

/// A town's invoice numbers of a year: the next one to give (attribute `next`).
pub fn invoice_sequence(t: &TownId, year: i32) -> Key {
    Key::new(format!("{}#INVSEQ#{year}", town(t)), "SEQ")
}

/// A payment's receipt (`PAY#<number>`), in the family's partition; by month of receipt in
/// `gsi1` (the régie's day book).
pub fn payment(t: &TownId, f: &FamilyRef, number: &str) -> Key {
    Key::new(family_partition(t, f), format!("{PAYMENT_PREFIX}{number}"))
}
pub const PAYMENT_PREFIX: &str = "PAY#";
pub fn payments_of_month(t: &TownId, month: Month) -> String {
    format!("{}#PAYMENTS#{month}", town(t))
}
/// A town's receipt numbers of a year, a series of their own.
pub fn receipt_sequence(t: &TownId, year: i32) -> Key {
    Key::new(format!("{}#QSEQ#{year}", town(t)), "SEQ")
}

/// A PayFiP operation (`OP#<idOp>`): what the notification and the return name. Those PayFiP
/// has not settled are in `gsi1` under [`payfip_pending`] (the reconciliation's list), those
/// whose details did not match under [`payfip_anomalies`] (staff's).
pub fn payfip_operation(t: &TownId, idop: &str) -> Key {
    Key::new(format!("{}#PAYFIP", town(t)), format!("OP#{idop}"))
}
pub fn payfip_pending(t: &TownId) -> String {
    format!("{}#PAYFIP#PENDING", town(t))
}
pub fn payfip_anomalies(t: &TownId) -> String {
    format!("{}#PAYFIP#ANOMALIES", town(t))
}

/// A reminder queued for an invoice at one step (`before_due`, `after_due`): never twice.
pub fn reminder_sent(t: &TownId, number: &str, step: &str) -> Key {
    Key::new(format!("{}#REMINDERS", town(t)), format!("{number}#{step}"))
}

/// The towns that bill (`<town>`, written at each publication): the scheduled jobs' list.
pub const BILLING_TOWNS: &str = "BILLING#TOWNS";
pub fn billing_town(t: &TownId) -> Key {
    Key::new(BILLING_TOWNS, t.as_str())
}

/// A family's SEPA mandate (one at a time), in its partition.
pub fn mandate(t: &TownId, f: &FamilyRef) -> Key {
    Key::new(family_partition(t, f), "MANDATE")
}

/// A month's direct debit of one invoice (`DEBIT#AAAA-MM#<number>`), in the runs' partition: the
/// monthly pain.008 file is made of them, and an invoice is debited once.
pub fn debit(t: &TownId, month: Month, number: &str) -> Key {
    Key::new(invoice_runs(t), format!("DEBIT#{month}#{number}"))
}

/// A PES file for Hélios (`PES#<id>`), in the runs' partition: its bordereaux and pieces as
/// sent, so that downloading it again gives the same file.
pub fn pes_file(t: &TownId, id: &str) -> Key {
    Key::new(invoice_runs(t), format!("{PES_FILE_PREFIX}{id}"))
}
pub const PES_FILE_PREFIX: &str = "PES#";
/// A town's bordereau numbers of a year (`IdBord`), a series of their own.
pub fn pes_sequence(t: &TownId, year: i32) -> Key {
    Key::new(format!("{}#PESSEQ#{year}", town(t)), "SEQ")
}

/// A household's tax certificate of a year published (`…#TAXCERT#<year>` / `<family>`): its
/// emails queued once.
pub fn tax_certificate_sent(t: &TownId, year: i32, f: &FamilyRef) -> Key {
    Key::new(tax_certificates_sent(t, year), f.as_str())
}
pub fn tax_certificates_sent(t: &TownId, year: i32) -> String {
    format!("{}#TAXCERT#{year}", town(t))
}

/// A job a change left to do (a closure's cancellations, a waiting list to move), by its id.
pub fn job(t: &TownId, id: &str) -> Key {
    Key::new(format!("{}#JOB#{id}", town(t)), "JOB")
}

/// The index partition of every town's jobs, by when they are due (the sweep reads it).
pub const JOBS_DUE: &str = "JOBS#DUE";

/// A short lease on some work (one promoter per unit's day), expiring by itself.
pub fn lease(t: &TownId, what: &str) -> Key {
    Key::new(format!("{}#LEASE#{what}", town(t)), "LEASE")
}

/// Every town (`<town>`): the scheduled jobs' list, written with each configuration.
pub const TOWNS: &str = "TOWNS";
pub fn town_registered(t: &TownId) -> Key {
    Key::new(TOWNS, t.as_str())
}

/// A holiday booking reminder sent to a family (`<first day>#<activity>#<kind>#<family>`):
/// never twice.
pub fn holiday_reminder(t: &TownId, period: &str, family: &FamilyRef) -> Key {
    Key::new(format!("{}#HOLIDAY_REMINDERS", town(t)), format!("{period}#{family}"))
}

/// The index partition of the emails sent to one address (`gsi1`): the address is hashed, so
/// that no key keeps it once its emails are erased.
pub fn mails_to(t: &TownId, email: &str) -> String {
    format!("{}#MAILS#{}", town(t), crate::secret::digest(&email.trim().to_lowercase()))
}

/// Both index partitions of the emails sent to one address: the hashed one, and the one that
/// named the address (emails sent before it was hashed), for a family's export and erasure.
pub fn mails_to_all(t: &TownId, email: &str) -> [String; 2] {
    [mails_to(t, email), format!("{}#MAILS#{email}", town(t))]
}

/// A family the town closed (it left): when, by whom, and when its data is erased; listed in
/// `gsi1` under [`families_closed`] by erasure day.
pub fn family_closed(t: &TownId, f: &FamilyRef) -> Key {
    Key::new(family_partition(t, f), "CLOSED")
}
pub fn families_closed(t: &TownId) -> String {
    format!("{}#CLOSED", town(t))
}

/// A régularisation (`REGUL#<id>`: a booking's change, or a carried credit note), in the
/// family's partition; the open ones are in `gsi1` under [`regularisations_open`], by date.
pub fn regularisation(t: &TownId, f: &FamilyRef, id: &str) -> Key {
    Key::new(family_partition(t, f), format!("{REGULARISATION_PREFIX}{id}"))
}
pub const REGULARISATION_PREFIX: &str = "REGUL#";
/// How many changes a family's billed month has had since billing (`REGULMONTH#<month>`): each
/// change writes it, conditioned on the count read, so that two at once are taken in turn.
pub fn regularised_month(t: &TownId, f: &FamilyRef, month: domain::Month) -> Key {
    Key::new(family_partition(t, f), format!("REGULMONTH#{month}"))
}
pub fn regularisations_open(t: &TownId) -> String {
    format!("{}#REGULS#OPEN", town(t))
}
/// The settled régularisations that gave or took back an aid, in `gsi1` by month: the aids'
/// yearly ceilings count them (the open ones are under [`regularisations_open`]).
pub fn regularisations_aided(t: &TownId) -> String {
    format!("{}#REGULS#AIDED", town(t))
}

/// The partition of a school year's town-wide records: `CAMPAIGN` (the enrolment campaign),
/// `ROLLOVER` (the rollover's progress).
pub fn school_year(t: &TownId, year: domain::school_year::SchoolYear) -> String {
    format!("{}#YEAR#{year}", town(t))
}
pub fn campaign(t: &TownId, year: domain::school_year::SchoolYear) -> Key {
    Key::new(school_year(t, year), "CAMPAIGN")
}
pub fn rollover(t: &TownId, year: domain::school_year::SchoolYear) -> Key {
    Key::new(school_year(t, year), "ROLLOVER")
}
/// A campaign reminder sent to a family on a day (`REMIND#<year>#<day>`), in the family's
/// partition: never twice a day, and erased with the family.
pub fn campaign_reminder(
    t: &TownId,
    year: domain::school_year::SchoolYear,
    day: chrono::NaiveDate,
    f: &FamilyRef,
) -> Key {
    Key::new(family_partition(t, f), format!("REMIND#{year}#{day}"))
}

/// A family's enrolment for a school year (`ENROL#<year>`), in the family's partition.
pub fn enrolment(t: &TownId, f: &FamilyRef, year: domain::school_year::SchoolYear) -> Key {
    Key::new(family_partition(t, f), format!("{ENROLMENT_PREFIX}{year}"))
}
/// The sort-key prefix of a family's enrolments.
pub const ENROLMENT_PREFIX: &str = "ENROL#";

/// A new family's request for an account (« Créer mon espace famille »), by its id.
pub fn account_request(t: &TownId, id: &str) -> Key {
    Key::new(format!("{}#ACCREQ#{id}", town(t)), "REQUEST")
}
/// The index partition of the requests waiting for staff, oldest first (`gsi1`).
pub fn account_requests_pending(t: &TownId) -> String {
    format!("{}#ACCREQ#PENDING", town(t))
}
