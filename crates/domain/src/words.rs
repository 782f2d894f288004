//! Amounts in French words, as a certificate writes its total in letters (« deux cent
//! quarante-trois euros et cinquante centimes »), in the traditional spelling: hyphens between
//! tens and units under a hundred, « et » without hyphens (« vingt et un »), « quatre-vingts »
//! and « deux cents » with their s only when they end the number, « mille » invariable.

use crate::Cents;

const UNITS: [&str; 17] = [
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze", "treize",
    "quatorze", "quinze", "seize",
];
const TENS: [&str; 7] = ["", "dix", "vingt", "trente", "quarante", "cinquante", "soixante"];

/// 0 to 99.
fn below_100(n: u64) -> String {
    let (t, u) = (n / 10, n % 10);
    match n {
        0..=16 => UNITS[n as usize].to_owned(),
        17..=19 => format!("dix-{}", UNITS[u as usize]),
        20..=69 => match u {
            0 => TENS[t as usize].to_owned(),
            1 => format!("{} et un", TENS[t as usize]),
            _ => format!("{}-{}", TENS[t as usize], UNITS[u as usize]),
        },
        70..=79 if n == 71 => "soixante et onze".to_owned(),
        70..=79 => format!("soixante-{}", below_100(n - 60)),
        80 => "quatre-vingts".to_owned(),
        _ => format!("quatre-vingt-{}", below_100(n - 80)),
    }
}

/// 0 to 999; `last`: the number ends here (« deux cents », not « deux cent mille »).
fn below_1000(n: u64, last: bool) -> String {
    let (h, rest) = (n / 100, n % 100);
    let hundreds = match h {
        0 => String::new(),
        1 => "cent".to_owned(),
        _ if rest == 0 && last => format!("{} cents", UNITS[h as usize]),
        _ => format!("{} cent", UNITS[h as usize]),
    };
    let rest_words = if rest == 80 && !last { "quatre-vingt".to_owned() } else { below_100(rest) };
    match (h, rest) {
        (0, _) => rest_words,
        (_, 0) => hundreds,
        _ => format!("{hundreds} {rest_words}"),
    }
}

/// A whole number in words, up to 999 999 999 999.
pub fn number(n: u64) -> String {
    if n == 0 {
        return "zéro".to_owned();
    }
    let (billions, millions, thousands, rest) = (n / 1_000_000_000, n / 1_000_000 % 1000, n / 1000 % 1000, n % 1000);
    let mut parts = Vec::new();
    for (value, one, many) in [(billions, "un milliard", "milliards"), (millions, "un million", "millions")] {
        match value {
            0 => {}
            1 => parts.push(one.to_owned()),
            v => parts.push(format!("{} {many}", below_1000(v, true))),
        }
    }
    match thousands {
        0 => {}
        1 => parts.push("mille".to_owned()),
        t => parts.push(format!("{} mille", below_1000(t, false))),
    }
    if rest > 0 {
        parts.push(below_1000(rest, true));
    }
    parts.join(" ")
}

/// « deux cent quarante-trois euros et cinquante centimes », « un euro », « zéro euro ».
pub fn euros(amount: Cents) -> String {
    let cents = amount.get().max(0).unsigned_abs();
    let (e, c) = (cents / 100, cents % 100);
    let of = if e >= 1_000_000 && e % 1_000_000 == 0 { " d'" } else { " " };
    let unit = if e >= 2 { "euros" } else { "euro" };
    let euros = format!("{}{of}{unit}", number(e)).replace(" d' ", " d'");
    match c {
        0 => euros,
        1 => format!("{euros} et un centime"),
        c => format!("{euros} et {} centimes", number(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_the_traditional_spelling() {
        let cases = [
            (0, "zéro"),
            (1, "un"),
            (16, "seize"),
            (17, "dix-sept"),
            (21, "vingt et un"),
            (22, "vingt-deux"),
            (61, "soixante et un"),
            (70, "soixante-dix"),
            (71, "soixante et onze"),
            (77, "soixante-dix-sept"),
            (80, "quatre-vingts"),
            (81, "quatre-vingt-un"),
            (91, "quatre-vingt-onze"),
            (99, "quatre-vingt-dix-neuf"),
            (100, "cent"),
            (101, "cent un"),
            (200, "deux cents"),
            (243, "deux cent quarante-trois"),
            (280, "deux cent quatre-vingts"),
            (1000, "mille"),
            (1080, "mille quatre-vingts"),
            (2000, "deux mille"),
            (80_000, "quatre-vingt mille"),
            (200_000, "deux cent mille"),
            (1_234_567, "un million deux cent trente-quatre mille cinq cent soixante-sept"),
            (3_000_000, "trois millions"),
        ];
        for (n, words) in cases {
            assert_eq!(number(n), words, "{n}");
        }
    }

    #[test]
    fn amounts_in_euros_and_centimes() {
        let c = |n| Cents::new(n).unwrap();
        assert_eq!(euros(c(24350)), "deux cent quarante-trois euros et cinquante centimes");
        assert_eq!(euros(c(100)), "un euro");
        assert_eq!(euros(c(0)), "zéro euro");
        assert_eq!(euros(c(101)), "un euro et un centime");
        assert_eq!(euros(c(8000)), "quatre-vingts euros");
        assert_eq!(euros(c(100_000_000)), "un million d'euros");
    }
}
