//! How dates and instants are written for parents and staff, in French.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

const WEEKDAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];

/// « 01/12/2026 »
pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// « mardi 01/12/2026 »
pub fn weekday_date(d: NaiveDate) -> String {
    format!("{} {}", WEEKDAYS[d.weekday().num_days_from_monday() as usize], date(d))
}

/// « novembre 2026 »
pub fn month(d: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    format!("{} {}", MONTHS[d.month0() as usize], d.year())
}

/// « de novembre 2026 », « d'octobre 2026 »: a month after « de », elided before a vowel.
pub fn of_month(d: NaiveDate) -> String {
    let m = month(d);
    if m.starts_with(['a', 'o']) { format!("d'{m}") } else { format!("de {m}") }
}

/// « de Villeneuve-les-Tilleuls », « d'Argenteuil »: a name after « de », elided before a vowel
/// (a name starting with « H » keeps « de »: aspirated or not, it cannot be told from the name).
pub fn of_name(name: &str) -> String {
    let vowel = name.chars().next().is_some_and(|c| "AEIOUYÉÈÊÂÎÔaeiouyéèêâîô".contains(c));
    if vowel { format!("d'{name}") } else { format!("de {name}") }
}

/// « 01/12/2026 à 23h59 », in the town's time zone.
pub fn date_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%d/%m/%Y à %Hh%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn town_names_take_de_or_d() {
        assert_eq!(of_name("Villeneuve-les-Tilleuls"), "de Villeneuve-les-Tilleuls");
        assert_eq!(of_name("Argenteuil"), "d'Argenteuil");
        assert_eq!(of_name("Évry"), "d'Évry");
    }

    #[test]
    fn de_is_elided_before_avril_aout_and_octobre() {
        let of = |m| of_month(NaiveDate::from_ymd_opt(2026, m, 1).unwrap());
        assert_eq!((of(10).as_str(), of(11).as_str()), ("d'octobre 2026", "de novembre 2026"));
        assert_eq!(
            (of(4).as_str(), of(8).as_str(), of(1).as_str()),
            ("d'avril 2026", "d'août 2026", "de janvier 2026")
        );
    }

    #[test]
    fn dates_read_the_french_way() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(date(d), "01/12/2026");
        assert_eq!(weekday_date(d), "mardi 01/12/2026");
        assert_eq!(month(d), "décembre 2026");
        // 22:59 UTC is 23:59 in Paris in winter.
        let t = d.and_hms_opt(22, 59, 0).unwrap().and_utc();
        assert_eq!(date_time(t, chrono_tz::Europe::Paris), "01/12/2026 à 23h59");
    }
}
