//! A family's bookings as iCalendar text (RFC 5545: UTF-8, CRLF, lines folded at 75 octets),
//! without I/O (here and not in the domain: `icalendar` draws OS randomness for the UIDs it
//! would make, and the domain has none): one event per booking — timed in the town's time zone when its unit has opening
//! hours (« Léa : Périscolaire soir 16 h 30 – 18 h 30 », from 16:30 to 18:30 local time, with
//! the zone's `VTIMEZONE`), all day otherwise — its state in the description, under a `PRODID`
//! of our own, `METHOD:PUBLISH`. The family's private feed (`functions/calendar`) and a booking
//! confirmation's `.ics` attachment (`functions/basket`) are both written here, with the same
//! events and UIDs, so a phone that added one recognises the other's.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use domain::booking::{Booking, BookingStatus};
use domain::config::{Hours, Town};
use domain::fr;
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike, EventStatus, Property};

/// Who made the feed (RFC 5545 §3.7.3): ours, not the library's.
pub const PRODID: &str = "-//Espace Famille//Réservations//FR";

/// One booking as the feed shows it.
pub struct Entry<'a> {
    /// Unique and stable for the booking (child, date, unit).
    pub uid: String,
    pub child: &'a str,
    pub unit: &'a str,
    /// The unit's opening hours; none: an all-day event.
    pub hours: Option<Hours>,
    pub date: NaiveDate,
    pub site: &'a str,
    pub status: BookingStatus,
    pub updated_at: DateTime<Utc>,
}

/// Whether a booking in this state is on the family's calendar: confirmed, or its cancellation
/// asked and not yet decided (the feed's events, a confirmation's attachment).
pub fn shown(status: BookingStatus) -> bool {
    matches!(status, BookingStatus::Confirmed | BookingStatus::CancelRequested)
}

/// The event of `booking` (of the child called `first_name`) in `town`: its UID stable for the
/// child, date and unit, the unit's name and hours, the site's name.
pub fn entry<'a>(town: &'a Town, first_name: &'a str, booking: &'a Booking) -> Entry<'a> {
    let unit = town.unit(&booking.unit).map(|(_, u)| u);
    let config = town.config();
    Entry {
        uid: format!("{}-{}-{}-{}@espace-famille", town.id(), booking.child, booking.date, booking.unit),
        child: first_name,
        unit: unit.map_or(booking.unit.as_str(), |u| u.name.as_str()),
        hours: unit.and_then(|u| u.hours),
        date: booking.date,
        site: config.sites.iter().find(|s| s.id == booking.site).map_or("", |s| s.name.as_str()),
        status: booking.status,
        updated_at: booking.updated_at,
    }
}

/// The largest calendar a confirmation carries (about 250 days): the email is stored in the
/// outbox (a DynamoDB item holds 400 kB) and a basket may hold 2,000 lines; a bigger one is not
/// attached (the feed has every day).
pub const MAX_ATTACHED_BYTES: usize = 100_000;

/// A booking confirmation's calendar: the days it booked (`entries`), as the feed shows them,
/// named after the town. None when it booked nothing the calendar shows, or when it is over
/// [`MAX_ATTACHED_BYTES`].
pub fn confirmation(town: &Town, entries: &[Entry]) -> Option<String> {
    let from = entries.iter().map(|e| e.date).min()?;
    let to = entries.iter().map(|e| e.date).max()?;
    let ics = feed(&format!("Réservations – {}", town.config().name), town.tz(), from, to, entries);
    (ics.len() <= MAX_ATTACHED_BYTES).then_some(ics)
}

/// « Réservation confirmée. » and the like: what the booking's state means for the parent.
fn state(status: BookingStatus) -> &'static str {
    match status {
        BookingStatus::Confirmed => "Réservation confirmée.",
        BookingStatus::CancelRequested => "Annulation demandée\u{202f}: la mairie ne l’a pas encore traitée.",
        BookingStatus::Pending => "Demande en cours\u{202f}: pas encore validée par la mairie.",
        BookingStatus::Refused => "Demande refusée.",
        BookingStatus::Cancelled => "Réservation annulée.",
    }
}

/// The event of one booking, in `tz` (the town's zone).
pub fn event(e: &Entry, tz: Tz) -> Event {
    let mut event = Event::new();
    event.uid(&e.uid).location(e.site).timestamp(e.updated_at).status(match e.status {
        BookingStatus::Confirmed => EventStatus::Confirmed,
        _ => EventStatus::Tentative,
    });
    match e.hours {
        Some(h) => {
            let at = |t: chrono::NaiveTime| CalendarDateTime::WithTimezone {
                date_time: NaiveDateTime::new(e.date, t),
                tzid: tz.name().to_owned(),
            };
            event
                .summary(&format!("{}\u{202f}: {} {} – {}", e.child, e.unit, fr::time(h.start.0), fr::time(h.end.0)))
                .starts(at(h.start.0))
                .ends(at(h.end.0));
        }
        None => {
            // RFC 5545: an all-day event ends, exclusive, on the next day (icalendar's
            // `all_day` writes the same day twice).
            event
                .summary(&format!("{}\u{202f}: {}", e.child, e.unit))
                .starts(e.date)
                .ends(e.date.succ_opt().unwrap_or(e.date));
        }
    }
    event.description(&format!("{} – {}, {}.\n{}", e.child, e.unit, fr::weekday_date(e.date), state(e.status)));
    event.done()
}

/// « +0100 », « -0330 »
fn offset(seconds: i64) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let m = seconds.abs() / 60;
    format!("{sign}{:02}{:02}", m / 60, m % 60)
}

/// The seconds east of UTC in `tz` at `t`, whether daylight saving is on, and the zone's
/// abbreviation then.
fn observed(tz: Tz, t: DateTime<Utc>) -> (i64, bool, String) {
    let o = tz.offset_from_utc_datetime(&t.naive_utc());
    let total = o.base_utc_offset() + o.dst_offset();
    (total.num_seconds(), o.dst_offset() != TimeDelta::zero(), o.abbreviation().unwrap_or("").to_owned())
}

/// One `STANDARD` or `DAYLIGHT` observance starting at `local` (wall-clock time before it).
fn observance(out: &mut String, local: NaiveDateTime, from: i64, to: (i64, bool, String)) {
    let (seconds, dst, name) = to;
    let kind = if dst { "DAYLIGHT" } else { "STANDARD" };
    out.push_str(&format!(
        "BEGIN:{kind}\r\nDTSTART:{}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\n",
        local.format("%Y%m%dT%H%M%S"),
        offset(from),
        offset(seconds)
    ));
    if !name.is_empty() && !name.starts_with(['+', '-']) {
        out.push_str(&format!("TZNAME:{name}\r\n"));
    }
    out.push_str(&format!("END:{kind}\r\n"));
}

/// The `VTIMEZONE` of `tz` for the days `from` to `to`: the offset in force on `from`, then each
/// change of offset until `to` (for Europe/Paris: the last Sundays of March and October), found
/// from the time zone database to the minute.
pub fn vtimezone(tz: Tz, from: NaiveDate, to: NaiveDate) -> String {
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let mut out = format!("BEGIN:VTIMEZONE\r\nTZID:{}\r\n", tz.name());
    let first = observed(tz, midnight(from));
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default().and_hms_opt(0, 0, 0).unwrap_or_default();
    let mut before = first.0;
    observance(&mut out, epoch, before, first);
    let mut day = from;
    while day < to {
        let next = day + Days::new(1);
        let (a, b) = (midnight(day), midnight(next));
        if observed(tz, b).0 != observed(tz, a).0 {
            // The first minute of the day with the new offset.
            let (mut lo, mut hi) = (a, b);
            while hi - lo > TimeDelta::minutes(1) {
                let mid = lo + TimeDelta::minutes((hi - lo).num_minutes() / 2);
                if observed(tz, mid).0 == observed(tz, a).0 { lo = mid } else { hi = mid }
            }
            let now = observed(tz, hi);
            let local = hi.naive_utc() + TimeDelta::seconds(before);
            let seconds = now.0;
            observance(&mut out, local, before, now);
            before = seconds;
        }
        day = next;
    }
    out.push_str("END:VTIMEZONE\r\n");
    out
}

/// The whole feed: its name, our `PRODID`, the zone's `VTIMEZONE` for the days `from` to `to`
/// when an event is timed, and the events.
pub fn feed(name: &str, tz: Tz, from: NaiveDate, to: NaiveDate, entries: &[Entry]) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        .name(name)
        .append_property(Property::new("X-WR-TIMEZONE", tz.name()));
    for e in entries {
        calendar.push(event(e, tz));
    }
    let text = calendar.done().to_string();
    if !entries.iter().any(|e| e.hours.is_some()) {
        return text;
    }
    // icalendar writes no VTIMEZONE: ours goes before the first event (after the calendar's
    // own properties).
    let at = text.find("\r\nBEGIN:VEVENT").or_else(|| text.find("\r\nEND:VCALENDAR")).map_or(text.len(), |i| i + 2);
    let mut out = String::with_capacity(text.len() + 600);
    out.push_str(&text[..at]);
    out.push_str(&vtimezone(tz, from, to));
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::deadline::Cutoff;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn soir() -> Hours {
        let t = |h, m| Cutoff(chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap());
        Hours { start: t(16, 30), end: t(18, 30) }
    }

    fn entry(date: NaiveDate, hours: Option<Hours>, status: BookingStatus) -> Entry<'static> {
        Entry {
            uid: format!("t-lea-{date}-peri-soir@espace-famille"),
            child: "Léa",
            unit: "Périscolaire soir",
            hours,
            date,
            site: "Groupe scolaire Jules Ferry",
            status,
            updated_at: "2026-11-02T10:00:00Z".parse().unwrap(),
        }
    }

    /// The text lines of `ics` unfolded (RFC 5545 §3.1).
    fn lines(ics: &str) -> Vec<String> {
        ics.replace("\r\n ", "").split("\r\n").map(str::to_owned).collect()
    }

    #[test]
    fn a_unit_with_hours_is_a_timed_event_in_paris_time_with_its_state() {
        let ics = feed(
            "Espace Famille",
            chrono_tz::Europe::Paris,
            d(2026, 11, 1),
            d(2027, 12, 1),
            &[entry(d(2026, 12, 1), Some(soir()), BookingStatus::Confirmed)],
        );
        let l = lines(&ics);
        assert!(l.contains(&format!("PRODID:{PRODID}")), "{ics}");
        assert!(!ics.contains("ICALENDAR-RS"), "{ics}");
        assert!(
            l.contains(&"SUMMARY:Léa\u{202f}: Périscolaire soir 16\u{a0}h\u{a0}30 – 18\u{a0}h\u{a0}30".to_owned()),
            "{ics}"
        );
        assert!(l.contains(&"DTSTART;TZID=Europe/Paris:20261201T163000".to_owned()), "{ics}");
        assert!(l.contains(&"DTEND;TZID=Europe/Paris:20261201T183000".to_owned()), "{ics}");
        assert!(l.contains(&"STATUS:CONFIRMED".to_owned()), "{ics}");
        assert!(
            l.iter().any(|x| x.starts_with("DESCRIPTION:")
                && x.contains("mardi 01/12/2026")
                && x.contains("Réservation confirmée.")),
            "{ics}"
        );
        // The time zone, defined once, before the event.
        let tz = ics.find("BEGIN:VTIMEZONE").expect("a VTIMEZONE");
        assert!(tz < ics.find("BEGIN:VEVENT").unwrap(), "{ics}");
        assert_eq!(ics.matches("BEGIN:VTIMEZONE").count(), 1);
        assert!(l.contains(&"TZID:Europe/Paris".to_owned()), "{ics}");
    }

    #[test]
    fn a_unit_without_hours_stays_an_all_day_event_and_a_cancellation_asked_is_tentative() {
        let ics = feed(
            "Espace Famille",
            chrono_tz::Europe::Paris,
            d(2026, 11, 1),
            d(2027, 12, 1),
            &[entry(d(2026, 11, 30), None, BookingStatus::CancelRequested)],
        );
        let l = lines(&ics);
        assert!(l.contains(&"DTSTART;VALUE=DATE:20261130".to_owned()), "{ics}");
        assert!(l.contains(&"DTEND;VALUE=DATE:20261201".to_owned()), "{ics}");
        assert!(l.contains(&"SUMMARY:Léa\u{202f}: Périscolaire soir".to_owned()), "{ics}");
        assert!(l.contains(&"STATUS:TENTATIVE".to_owned()), "{ics}");
        assert!(l.iter().any(|x| x.starts_with("DESCRIPTION:") && x.contains("Annulation demandée")), "{ics}");
        assert!(!ics.contains("VTIMEZONE"), "no timed event, no time zone: {ics}");
    }

    /// The instant a calendar computes from a local time and the VTIMEZONE's observances: the
    /// last observance started at or before it.
    fn utc_of(vtimezone: &str, local: NaiveDateTime) -> NaiveDateTime {
        let l = lines(vtimezone);
        let mut best: Option<(NaiveDateTime, i64)> = None;
        for (i, line) in l.iter().enumerate() {
            let Some(start) = line.strip_prefix("DTSTART:") else { continue };
            let start = NaiveDateTime::parse_from_str(start, "%Y%m%dT%H%M%S").unwrap();
            let to = l[i + 2].strip_prefix("TZOFFSETTO:").unwrap();
            let sign = if to.starts_with('-') { -1 } else { 1 };
            let seconds = sign * (to[1..3].parse::<i64>().unwrap() * 3600 + to[3..5].parse::<i64>().unwrap() * 60);
            if start <= local && best.is_none_or(|(b, _)| start >= b) {
                best = Some((start, seconds));
            }
        }
        local - TimeDelta::seconds(best.unwrap().1)
    }

    #[test]
    fn the_time_zone_follows_the_changes_of_the_last_sundays_of_march_and_october() {
        let paris = chrono_tz::Europe::Paris;
        let tz = vtimezone(paris, d(2026, 11, 5), d(2027, 11, 6));
        let l = lines(&tz);
        // Winter time on the first day, summer time from 28 March 2027 at 2:00, winter time
        // again from 31 October at 3:00.
        assert!(l.contains(&"BEGIN:STANDARD".to_owned()) && l.contains(&"BEGIN:DAYLIGHT".to_owned()), "{tz}");
        assert!(l.contains(&"DTSTART:20270328T020000".to_owned()), "{tz}");
        assert!(l.contains(&"DTSTART:20271031T030000".to_owned()), "{tz}");
        assert!(l.contains(&"TZNAME:CEST".to_owned()) && l.contains(&"TZNAME:CET".to_owned()), "{tz}");
        // 16:30 in Paris: 15:30 UTC the day before each change, 14:30 UTC on and after 28 March,
        // 15:30 again on 31 October, as the time zone database says.
        for day in [d(2027, 3, 27), d(2027, 3, 28), d(2027, 3, 29), d(2027, 10, 30), d(2027, 10, 31), d(2027, 11, 1)] {
            let local = NaiveDateTime::new(day, chrono::NaiveTime::from_hms_opt(16, 30, 0).unwrap());
            let expected = paris.from_local_datetime(&local).unwrap().naive_utc();
            assert_eq!(utc_of(&tz, local), expected, "{day}");
        }
        // An event on the day summer time starts is written in local time.
        let ics = feed(
            "F",
            paris,
            d(2026, 11, 5),
            d(2027, 11, 6),
            &[entry(d(2027, 3, 28), Some(soir()), BookingStatus::Confirmed)],
        );
        assert!(lines(&ics).contains(&"DTSTART;TZID=Europe/Paris:20270328T163000".to_owned()), "{ics}");
    }

    #[test]
    fn a_confirmation_holds_the_feeds_events_of_the_days_it_booked_folded_in_crlf_lines() {
        use domain::testkit::{booking, town};
        let town = town();
        let cantine = booking("cantine", d(2026, 12, 1), BookingStatus::Confirmed, 400);
        let soir = booking("peri-soir", d(2026, 12, 3), BookingStatus::Confirmed, 250);
        let entries = [super::entry(&town, "Léa", &cantine), super::entry(&town, "Léa", &soir)];
        let ics = confirmation(&town, &entries).expect("a calendar");
        // RFC 5545: CRLF line ends, no line over 75 octets, continuations start with a space.
        assert!(!ics.replace("\r\n", "").contains('\n'), "{ics}");
        assert!(ics.split("\r\n").all(|l| l.len() <= 75), "{ics}");
        assert!(ics.contains("\r\n "), "the long description is folded: {ics}");
        let l = lines(&ics);
        assert!(l.contains(&"METHOD:PUBLISH".to_owned()), "{ics}");
        assert!(l.contains(&"X-WR-CALNAME:Réservations – Ville test".to_owned()), "{ics}");
        // The feed's UIDs (town, child, date, unit), names and site.
        assert!(l.contains(&"UID:ville-test-lea-2026-12-01-cantine@espace-famille".to_owned()), "{ics}");
        assert!(l.contains(&"SUMMARY:Léa\u{202f}: Cantine".to_owned()), "{ics}");
        assert!(l.contains(&"LOCATION:École A".to_owned()), "{ics}");
        assert!(l.contains(&"DTSTART;VALUE=DATE:20261203".to_owned()), "{ics}");
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2);
        // Only what the calendar shows; nothing booked: no calendar.
        assert!(shown(BookingStatus::Confirmed) && shown(BookingStatus::CancelRequested));
        assert!(!shown(BookingStatus::Pending) && !shown(BookingStatus::Cancelled) && !shown(BookingStatus::Refused));
        assert_eq!(confirmation(&town, &[]), None);
        // Too many days for an email: none attached.
        let many: Vec<Booking> =
            (0..400).map(|n| booking("cantine", d(2026, 1, 1) + Days::new(n), BookingStatus::Confirmed, 400)).collect();
        let entries: Vec<Entry> = many.iter().map(|b| super::entry(&town, "Léa", b)).collect();
        assert_eq!(confirmation(&town, &entries), None);
    }

    #[test]
    fn a_zone_without_summer_time_has_one_observance() {
        let tz = vtimezone(chrono_tz::Indian::Reunion, d(2026, 11, 5), d(2027, 11, 6));
        assert_eq!(tz.matches("BEGIN:STANDARD").count(), 1, "{tz}");
        assert!(tz.contains("TZOFFSETTO:+0400"), "{tz}");
        assert!(!tz.contains("DAYLIGHT"), "{tz}");
    }
}
