//! The demo town loaded on first start: its configuration and families (`demo/*.json`), staff
//! and guardians' accounts, a school year of bookings, last month billed and published, and two
//! news articles; and what the engine's tests and benchmarks start from.

use crate::{Error, Options};
use domain::account::{Password, Role};
use domain::booking::{Actor, Attendance, Booking, BookingStatus, ChangedBy, Slot, Terms};
use domain::config::Town;
use domain::family::Email;
use domain::family::{Child, Family};
use domain::pricing;
use edge::auth::accounts::{Account, AccountStatus, Purpose};
use edge::auth::password;
use serde::Deserialize;
use std::time::Duration;
use store::Store;
use store::repo::{self, Towns};

/// The demo town, as the seed's town runs it.
pub const DEMO_TOWN: &str = include_str!("../demo/town.json");

/// Its families: three children in one, separated parents sharing a child, a non-resident.
pub const DEMO_FAMILIES: &str = include_str!("../demo/families.json");

/// The 2027-2028 enrolment campaign, ready for the administrator to open (`PUT …/staff/
/// school-years/2027-2028/campaign`, or « Ouvrir la campagne » on the school year page).
pub const DEMO_CAMPAIGN: &str = include_str!("../demo/campaign-2027-2028.json");

/// The password of the demo's active accounts, printed at start.
pub const DEMO_PASSWORD: &str = "tilleuls-demo-2026";

/// The demo town's staff: (email, first name, last name, role).
pub const DEMO_STAFF: [(&str, &str, &str, Role); 2] = [
    ("mairie@villeneuve-les-tilleuls.fr", "Nadia", "Roux", Role::TownAdmin),
    ("agent@villeneuve-les-tilleuls.fr", "Karim", "Benali", Role::Agent),
];

/// The demo family whose guardian has not activated yet (an activation email waits at `/dev/mail`).
pub const DEMO_PENDING_FAMILY: &str = "nguyen";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoFamilies {
    pub children: Vec<Child>,
    pub families: Vec<Family>,
}

/// The demo town and families, parsed and cross-checked.
pub fn demo_data() -> Result<(Town, DemoFamilies), Error> {
    let town = Town::parse(DEMO_TOWN.as_bytes()).map_err(|e| Error::Demo(format!("town.json: {e}")))?;
    let data: DemoFamilies =
        domain::json::parse(DEMO_FAMILIES.as_bytes()).map_err(|e| Error::Demo(format!("families.json: {e}")))?;
    for f in &data.families {
        for c in &f.children {
            if !data.children.iter().any(|k| &k.id == c) {
                return Err(Error::Demo(format!("family {} lists unknown child {c}", f.reference)));
            }
        }
    }
    for c in &data.children {
        for e in &c.enrolments {
            let activity = town.config().activities.iter().find(|a| a.id == e.activity);
            let ok = activity.is_some_and(|a| {
                a.sites.contains(&e.site) && e.units.iter().all(|u| a.units.iter().any(|x| &x.id == u))
            });
            if !ok || e.to < e.from {
                return Err(Error::Demo(format!("child {}: bad enrolment {e:?}", c.id)));
            }
        }
    }
    Ok((town, data))
}

pub(crate) fn demo_error(e: impl std::fmt::Display) -> Error {
    Error::Demo(e.to_string())
}

/// The demo's accounts: every guardian active with the demo password, but the pending family's,
/// who gets an activation email; the town's two staff.
async fn demo_accounts(
    store: &Store,
    town: &Town,
    data: &DemoFamilies,
    opts: &Options,
    links: &accounts::AppState,
) -> Result<(), Error> {
    let now = opts.clock.now();
    let hash = password::hash(Password::parse(DEMO_PASSWORD).map_err(demo_error)?).await;
    let mut people: Vec<(Email, String, String, Role, Vec<domain::FamilyRef>)> = Vec::new();
    for f in &data.families {
        for g in &f.guardians {
            match people.iter_mut().find(|p| p.0 == g.email) {
                Some(p) => p.4.push(f.reference.clone()),
                None => people.push((
                    g.email.clone(),
                    g.first_name.clone(),
                    g.last_name.clone(),
                    Role::Guardian,
                    vec![f.reference.clone()],
                )),
            }
        }
    }
    for (email, first, last, role) in DEMO_STAFF {
        people.push((Email::parse(email).map_err(demo_error)?, first.into(), last.into(), role, Vec::new()));
    }
    for (email, first_name, last_name, role, families) in people {
        let pending = families.iter().any(|f| f.as_str() == DEMO_PENDING_FAMILY);
        let account = Account {
            email,
            first_name,
            last_name,
            role,
            families,
            status: if pending { AccountStatus::Pending } else { AccountStatus::Active },
            password_hash: (!pending).then(|| hash.clone()),
            created_at: now,
            credentials: 0,
            version: 0,
            no_reminders: false,
        };
        let mut ops = vec![account.clone().save(town.id())?];
        if pending {
            ops.extend(
                accounts::link_email(links, town, &account, Purpose::Activation).map_err(|p| Error::Demo(p.title))?,
            );
        }
        store.transact(ops).await?;
    }
    Ok(())
}

/// Bookings that show every state of the seed's legend, around the day the demo is loaded:
/// last week attended (present, absent, absent with a certificate), next week's canteen
/// confirmed, a holiday request pending, one refused, one whose cancellation is asked, and a
/// full Wednesday at the leisure centre.
fn demo_bookings(
    town: &Town,
    families: &[Family],
    today: chrono::NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Booking>, Error> {
    use chrono::{Datelike, Days, Weekday};
    let monday = today.week(Weekday::Mon).first_day();
    let day = |weeks: i64, weekday: u64| -> chrono::NaiveDate {
        let base =
            if weeks >= 0 { monday + Days::new(weeks as u64 * 7) } else { monday - Days::new((-weeks) as u64 * 7) };
        base + Days::new(weekday)
    };
    let cal = town.calendar();
    let first_holiday = (14..120)
        .filter_map(|i| today.checked_add_days(Days::new(i)))
        .find(|d| cal.kind(*d) == Some(domain::calendar::DayKind::Holiday) && d.weekday() == Weekday::Mon)
        .ok_or_else(|| Error::Demo("no school holiday within four months".into()))?;
    let make = |child: &str, family: &str, unit: &str, date: chrono::NaiveDate, status: BookingStatus| {
        demo_booking(town, families, (child, family, unit, date), status, now)
    };
    let mut out = Vec::new();
    let staff = Actor { by: "demo@mairie", role: ChangedBy::Staff, at: now };
    for (weekday, attendance) in [(0, Attendance::Present), (1, Attendance::Absent), (3, Attendance::AbsentJustified)] {
        out.push(
            make("lea-martin", "martin", "cantine", day(-1, weekday), BookingStatus::Confirmed)?.mark(attendance, now),
        );
    }
    for weekday in [0, 1, 3, 4] {
        out.push(make("lea-martin", "martin", "cantine", day(1, weekday), BookingStatus::Confirmed)?);
        out.push(make("hugo-martin", "martin", "peri-soir", day(1, weekday), BookingStatus::Confirmed)?);
    }
    out.push(make("hugo-martin", "martin", "alsh-vacances", first_holiday, BookingStatus::Pending)?);
    let reason = "Plus de place ce jour-là pour la tranche d'âge de l'enfant.";
    let asked = make("hugo-martin", "martin", "alsh-vacances", first_holiday + Days::new(1), BookingStatus::Pending)?;
    out.push(asked.decide(false, Some(reason), staff).map_err(|_| Error::Demo("demo request not pending".into()))?);
    let booked =
        make("hugo-martin", "martin", "alsh-vacances", first_holiday + Days::new(2), BookingStatus::Confirmed)?;
    out.push(booked.cancel(BookingStatus::CancelRequested, false, Actor { role: ChangedBy::Guardian, ..staff }));
    out.push(make("lea-martin", "martin", "alsh-mercredi", open_wednesdays(town, today)?.0, BookingStatus::Confirmed)?);
    // Last month, for its invoices: Léa's canteen on its first four school days and Noé's (the
    // Bernards' booking) on the first three, all present.
    let (first, last) = domain::billing::previous_month(today);
    let cantine = domain::UnitId::parse("cantine").map_err(demo_error)?;
    let (activity, unit) = town.unit(&cantine).ok_or_else(|| Error::Demo("no canteen".into()))?;
    let school_days: Vec<_> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| town.offering(activity, unit, *d).is_ok())
        .take(4)
        .collect();
    for (i, date) in school_days.iter().enumerate() {
        out.push(
            make("lea-martin", "martin", "cantine", *date, BookingStatus::Confirmed)?.mark(Attendance::Present, now),
        );
        if i < 3 {
            out.push(
                make("noe-bernard-petit", "bernard", "cantine", *date, BookingStatus::Confirmed)?
                    .mark(Attendance::Present, now),
            );
        }
    }
    Ok(out)
}

/// One demo booking, priced as the family's guardian would have booked it.
fn demo_booking(
    town: &Town,
    families: &[Family],
    (child, family, unit, date): (&str, &str, &str, chrono::NaiveDate),
    status: BookingStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Booking, Error> {
    let unit_id = domain::UnitId::parse(unit).map_err(demo_error)?;
    let (activity, u) = town.unit(&unit_id).ok_or_else(|| Error::Demo(format!("unknown unit {unit}")))?;
    let f = families
        .iter()
        .find(|f| f.reference.as_str() == family)
        .ok_or_else(|| Error::Demo(format!("unknown family {family}")))?;
    let slot = Slot {
        child: domain::ChildId::parse(child).map_err(demo_error)?,
        family: f.reference.clone(),
        activity: activity.id.clone(),
        site: activity.sites[0].clone(),
        unit: unit_id,
        date,
    };
    let (price, rule) = pricing::priced(u, f, false);
    let terms = Terms { status, price, late: false, waiting_list: false, rule: Some(rule) };
    let by = f.guardians.first().map_or("demo", |g| g.email.as_str());
    Ok(Booking::book(None, slot, terms, Actor { by, role: ChangedBy::Guardian, at: now }))
}

/// Today's morning for the agent: on a school day, the Martin children and Noé booked today
/// (morning care, canteen, study, evening care, as each is enrolled and the unit runs), attendance
/// not taken, so the register opens on children to mark. Added at each start of the portal on the
/// system clock ([`crate::Options::demo_morning`]), to what is not booked yet: the dated demo
/// stays on its own day, the agent's day is always today.
async fn book_demo_morning(towns: &Towns, town: &Town, opts: &Options) -> Result<usize, Error> {
    let (_, data) = demo_data()?;
    let now = opts.clock.now();
    let today = town.today(now);
    let plan = [
        ("lea-martin", "martin", "cantine"),
        ("lea-martin", "martin", "etude-dirigee"),
        ("hugo-martin", "martin", "peri-matin"),
        ("hugo-martin", "martin", "cantine"),
        ("hugo-martin", "martin", "peri-soir"),
        ("jade-martin", "martin", "peri-matin"),
        ("jade-martin", "martin", "cantine"),
        ("jade-martin", "martin", "peri-soir"),
        ("noe-bernard-petit", "bernard", "cantine"),
        ("noe-bernard-petit", "bernard", "peri-soir"),
    ];
    let mut booked = Vec::new();
    for (child, family, unit) in plan {
        let b = demo_booking(town, &data.families, (child, family, unit, today), BookingStatus::Confirmed, now)?;
        let Some((activity, u)) = town.unit(&b.unit) else { continue };
        if town.offering(activity, u, today).is_err() {
            continue;
        }
        let existing = repo::bookings(towns.store(), town.id(), &b.child, today, today).await?;
        if existing.iter().any(|e| e.unit == b.unit) {
            continue;
        }
        booked.push(b);
    }
    store_demo_bookings(towns.store(), town, &booked, today).await?;
    Ok(booked.len())
}

/// The demo's news: a pinned welcome and the year's prices.
fn demo_news(now: chrono::DateTime<chrono::Utc>) -> Vec<news::Article> {
    let by = DEMO_STAFF[0].0;
    let welcome = news::ArticleInput {
        title: "Bienvenue sur votre Espace Famille".into(),
        body: "Réservez la **cantine**, le **périscolaire**, l'**étude** et l'**accueil de loisirs** de vos enfants, \
               par semaine ou par période, puis validez votre panier.\n\n\
               - périscolaire, cantine, étude : jusqu'à 2 jours ouvrés avant (23h59) ;\n\
               - mercredis et vacances : jusqu'à 5 jours ouvrés avant.\n\n\
               Passé ces délais, contactez le service enfance."
            .into(),
        category: news::Category::Information,
        publish_at: Some(now - chrono::TimeDelta::days(2)),
        expires_at: None,
        pinned: true,
        close_booking: None,
        version: None,
    };
    let prices = news::ArticleInput {
        title: "Tarifs de l'année scolaire 2026-2027".into(),
        body: "Les tarifs dépendent de votre **quotient familial**. Un ajout hors délai est majoré \
               (4 € le matin, 10 € le soir et l'étude, +3 € à l'accueil de loisirs)."
            .into(),
        category: news::Category::Tarifs,
        publish_at: Some(now - chrono::TimeDelta::days(20)),
        expires_at: None,
        pinned: false,
        close_booking: None,
        version: None,
    };
    vec![
        news::build("demo-bienvenue".into(), welcome, by, now, None),
        news::build("demo-tarifs".into(), prices, by, now, None),
    ]
}

/// The first two Wednesdays the leisure centre opens, past next week's deadlines: one that
/// Léa books, one that is full.
fn open_wednesdays(town: &Town, today: chrono::NaiveDate) -> Result<(chrono::NaiveDate, chrono::NaiveDate), Error> {
    use chrono::Days;
    let alsh = domain::UnitId::parse("alsh-mercredi").map_err(demo_error)?;
    let (activity, unit) = town.unit(&alsh).ok_or_else(|| Error::Demo("no alsh-mercredi".into()))?;
    let mut open = (8..150)
        .filter_map(|i| today.checked_add_days(Days::new(i)))
        .filter(|d| town.offering(activity, unit, *d).is_ok());
    match (open.next(), open.next()) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(Error::Demo("no open Wednesday within five months".into())),
    }
}

/// Stores the demo bookings, the places they take, and one full Wednesday.
async fn store_demo_bookings(
    store: &Store,
    town: &Town,
    bookings: &[Booking],
    today: chrono::NaiveDate,
) -> Result<(), Error> {
    let mut taken: std::collections::BTreeMap<store::Key, i64> = std::collections::BTreeMap::new();
    for b in bookings {
        store.put(repo::booking_item(town.id(), b)?, None).await?;
        if b.holds_place() && town.unit(&b.unit).is_some_and(|(_, u)| u.capacity.is_some()) {
            *taken.entry(store::keys::capacity(town.id(), &b.unit, &b.site, b.date)).or_default() += 1;
        }
    }
    // The next open Wednesday after Léa's: every place of the leisure centre taken.
    if let Some(b) = bookings.iter().find(|b| b.unit.as_str() == "alsh-mercredi")
        && let Some((_, u)) = town.unit(&b.unit)
    {
        let (_, full_day) = open_wednesdays(town, today)?;
        let full = store::keys::capacity(town.id(), &b.unit, &b.site, full_day);
        taken.insert(full, i64::from(u.capacity.unwrap_or(0)));
    }
    for (key, n) in taken {
        store.add(&key, "taken", n, None).await?;
    }
    Ok(())
}

pub(crate) async fn load_demo(towns: &Towns, opts: &Options, links: &accounts::AppState) -> Result<Town, Error> {
    let (town, data) = demo_data()?;
    if towns.get(town.id()).await?.is_none() {
        towns.put(&town).await?;
        for c in &data.children {
            repo::put_child(towns.store(), town.id(), c).await?;
        }
        for f in &data.families {
            repo::put_family(towns.store(), town.id(), f).await?;
        }
        demo_accounts(towns.store(), &town, &data, opts, links).await?;
        let now = opts.clock.now();
        crate::demo_file::store_lea_file(towns.store(), &town, now).await?;
        let today = town.today(now);
        let bookings = demo_bookings(&town, &data.families, today, now)?;
        store_demo_bookings(towns.store(), &town, &bookings, today).await?;
        // Last month billed, as the town's administrator would have done on the 1st at 8:00.
        let last_month = domain::billing::previous_month(today);
        let first_day = last_month.1.succ_opt().unwrap_or(today);
        let billed_at =
            domain::deadline::local_instant(first_day, chrono::NaiveTime::MIN, town.tz()) + chrono::TimeDelta::hours(8);
        let billed_at = billed_at.min(now);
        invoices::run::finalise(towns.store(), &town, last_month, billed_at, DEMO_STAFF[0].0)
            .await
            .map_err(|e| Error::Demo(format!("last month's invoices: {e}")))?;
        // … and published that day (its emails left then: the demo does not send them again).
        let month = domain::Month::of(last_month.0);
        invoices::publish::record(towns.store(), &town, month, town.today(billed_at), billed_at, DEMO_STAFF[0].0)
            .await?;
        for article in demo_news(now) {
            towns.store().put(news::item(town.id(), &article)?, None).await?;
        }
        tracing::info!(town = %town.id(), "demo town loaded");
    }
    if opts.demo_morning {
        let booked = book_demo_morning(towns, &town, opts).await?;
        tracing::info!(town = %town.id(), booked, "today's demo bookings");
    }
    Ok(town)
}

/// The demo town, families and children in `store`, without accounts or bookings: what the
/// engine's tests and benchmarks start from.
pub async fn demo_town_only(store: &Store) -> Result<(std::sync::Arc<Town>, DemoFamilies), Error> {
    let (town, data) = demo_data()?;
    Towns::new(store.clone(), Duration::from_secs(60)).put(&town).await?;
    for c in &data.children {
        repo::put_child(store, town.id(), c).await?;
    }
    for f in &data.families {
        repo::put_family(store, town.id(), f).await?;
    }
    Ok((std::sync::Arc::new(town), data))
}

/// Every line a demo family could book from `from` to `to`: each child, each enrolled unit,
/// each day it runs and is open for booking on `today` (the Martins' school year: about 1,300
/// lines).
pub fn demo_basket(
    town: &Town,
    data: &DemoFamilies,
    family: &str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> Vec<basket::check::Line> {
    let mut out = Vec::new();
    let Some(family) = data.families.iter().find(|f| f.reference.as_str() == family) else { return out };
    for child in data.children.iter().filter(|c| family.children.contains(&c.id)) {
        for e in &child.enrolments {
            let Some(activity) = town.config().activities.iter().find(|a| a.id == e.activity) else { continue };
            for unit in activity.units.iter().filter(|u| e.units.is_empty() || e.units.contains(&u.id)) {
                let opens = |d: chrono::NaiveDate| {
                    unit.booking_opens_days_before
                        .is_none_or(|n| d.checked_sub_days(chrono::Days::new(u64::from(n))).is_some_and(|o| o <= today))
                };
                let mut d = e.from.max(from);
                while d <= e.to.min(to) {
                    if opens(d) && town.offering_at(activity, unit, &e.site, d).is_ok() {
                        out.push(basket::check::Line {
                            child: child.id.clone(),
                            unit: unit.id.clone(),
                            date: d,
                            action: domain::cells::ActionKind::Add,
                        });
                    }
                    let Some(next) = d.succ_opt() else { break };
                    d = next;
                }
            }
        }
    }
    out
}
