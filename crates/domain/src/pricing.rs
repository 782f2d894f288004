//! What a booking costs a family: the normal price (quotient familial bracket, residence) and
//! the late price (an addition past the deadline, or a child present without a booking).

use super::Cents;
use super::config::{LateAddition, Price, Unit};
use super::family::Family;
use serde::{Deserialize, Serialize};

/// The normal tariff that priced a booking, with its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tariff {
    /// The unit's base price (no bracket applied: no known QF, or above every bracket).
    Base { resident: bool },
    /// A quotient familial bracket, from `from` to `to` euros included.
    Bracket { from: u32, to: u32, resident: bool },
    /// The unit's flat non-resident price.
    NonResident,
}

/// The rule that priced a booking, kept on it when it is made (`Booking::priced_by`): the
/// tariff and the normal price it gave, and the late rule when the booking was late. The
/// invoice prints it, so a later QF change or price rise never renames the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub tariff: Tariff,
    /// The normal price the tariff gave.
    pub normal: Cents,
    /// The late rule applied, for an addition past the deadline or a child present without
    /// a booking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<LateAddition>,
}

impl Rule {
    /// « Tarif QF 0–600 €, non-résident : 0,80 € », « Ajout hors délai : tarif 2,50 € + 1,00 € »:
    /// the rule as an invoice line names it, for a booking of `price`.
    pub fn text(&self, price: Cents) -> String {
        let normal = self.normal;
        match self.late {
            None => {
                let who = |resident: bool| if resident { "résident" } else { "non-résident" };
                match self.tariff {
                    Tariff::NonResident => format!("Tarif non-résident : {price}"),
                    Tariff::Base { resident } => format!("Tarif de base, {} : {price}", who(resident)),
                    Tariff::Bracket { from, to, resident } => {
                        format!("Tarif QF {from}–{to} €, {} : {price}", who(resident))
                    }
                }
            }
            Some(LateAddition::ReplaceWith(_)) => format!("Ajout hors délai : tarif majoré {price}"),
            Some(LateAddition::Add(extra)) => format!("Ajout hors délai : tarif {normal} + {extra}"),
            Some(LateAddition::Percent(p)) => format!("Ajout hors délai : {p} % du tarif {normal}, soit {price}"),
            Some(LateAddition::None) => format!("Ajout hors délai, sans majoration : {price}"),
        }
    }
}

/// The tariff of `price` for a family, and the normal price it gives.
pub fn tariff(price: &Price, family: &Family) -> (Tariff, Cents) {
    if !family.resident
        && let Some(p) = price.non_resident
    {
        return (Tariff::NonResident, p);
    }
    let resident = family.resident;
    let bracket = family.quotient_familial.and_then(|qf| price.qf_brackets.iter().position(|b| qf <= b.up_to_qf));
    match bracket {
        Some(i) => {
            let from = if i == 0 { 0 } else { price.qf_brackets[i - 1].up_to_qf + 1 };
            (Tariff::Bracket { from, to: price.qf_brackets[i].up_to_qf, resident }, price.qf_brackets[i].price)
        }
        None => (Tariff::Base { resident }, price.base),
    }
}

/// The rule's text for a booking made before its rule was kept on it: the family's rule today
/// when it gives the booking's price; otherwise the price the booking has (« Tarif de la
/// réservation : … », « Ajout hors délai : … »), rather than a rule it no longer matches.
pub fn text_today(unit: &Unit, family: &Family, booked: Cents, late: bool) -> String {
    let (price, rule) = priced(unit, family, late);
    match (price == booked, late) {
        (true, _) => rule.text(booked),
        (false, true) => format!("Ajout hors délai : {booked}"),
        (false, false) => format!("Tarif de la réservation : {booked}"),
    }
}

/// The price of a booking made now (late or normal) and the rule that priced it.
pub fn priced(unit: &Unit, family: &Family, is_late: bool) -> (Cents, Rule) {
    let (tariff, normal) = tariff(&unit.price, family);
    let late = is_late.then_some(unit.late_addition);
    (late.map_or(normal, |l| l.apply(normal)), Rule { tariff, normal, late })
}

/// The family's normal price for one booking of `unit`.
pub fn normal(unit: &Unit, family: &Family) -> Cents {
    unit.price.for_family(family.resident, family.quotient_familial)
}

/// The family's price for one booking of `unit` added past its deadline.
pub fn late(unit: &Unit, family: &Family) -> Cents {
    unit.late_addition.apply(normal(unit, family))
}

/// The price of a booking made now: late or normal.
pub fn of(unit: &Unit, family: &Family, is_late: bool) -> Cents {
    if is_late { late(unit, family) } else { normal(unit, family) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{family, id, town};

    #[test]
    fn the_family_pays_its_bracket_or_the_non_resident_price() {
        let town = town();
        let (_, cantine) = town.unit(&id("cantine")).unwrap();
        let mut f = family();
        assert_eq!(normal(cantine, &f).get(), 250, "QF 750: the 601–900 bracket");
        f.quotient_familial = Some(600);
        assert_eq!(normal(cantine, &f).get(), 150, "a bracket includes its upper bound");
        f.quotient_familial = None;
        assert_eq!(normal(cantine, &f).get(), 400, "unknown QF: the base price");
        f.resident = false;
        f.quotient_familial = Some(300);
        assert_eq!(normal(cantine, &f).get(), 600, "non-residents pay their flat price whatever their QF");
    }

    #[test]
    fn the_rule_is_priced_with_the_price_and_names_residence_and_bracket() {
        let town = town();
        let (_, cantine) = town.unit(&id("cantine")).unwrap();
        let (_, soir) = town.unit(&id("peri-soir")).unwrap();
        let mut f = family();
        for late in [false, true] {
            assert_eq!(priced(cantine, &f, late).0, of(cantine, &f, late), "the same price as before");
        }
        let (price, rule) = priced(cantine, &f, false);
        assert_eq!(rule.text(price), "Tarif QF 601–900 €, résident : 2,50\u{a0}€");
        let (price, rule) = priced(cantine, &f, true);
        assert_eq!(rule.text(price), "Ajout hors délai : tarif 2,50\u{a0}€ + 3,00\u{a0}€");
        // A non-resident on a unit without a non-resident price pays the bracket, and is never
        // called « résident ».
        f.resident = false;
        f.quotient_familial = Some(500);
        let (price, rule) = priced(cantine, &f, false);
        assert_eq!(rule.text(price), "Tarif non-résident : 6,00\u{a0}€");
        let mut soir_priced = soir.clone();
        soir_priced.price.qf_brackets =
            vec![crate::config::QfBracket { up_to_qf: 600, price: Cents::new(80).unwrap() }];
        let (price, rule) = priced(&soir_priced, &f, false);
        assert_eq!(rule.text(price), "Tarif QF 0–600 €, non-résident : 0,80\u{a0}€");
        f.quotient_familial = None;
        let (price, rule) = priced(soir, &f, false);
        assert_eq!(rule.text(price), "Tarif de base, non-résident : 2,50\u{a0}€");
    }

    #[test]
    fn a_percentage_late_price_is_rounded_half_up_to_the_cent() {
        let town = town();
        let (_, mercredi) = town.unit(&id("alsh-mercredi")).unwrap();
        let mut odd = mercredi.clone();
        odd.price.base = Cents::new(333).unwrap();
        let (price, rule) = priced(&odd, &family(), true);
        // 150 % of 3,33 € is 4,995 €: 5,00 € (half up).
        assert_eq!(price, Cents::new(500).unwrap());
        assert_eq!(rule.text(price), "Ajout hors délai : 150 % du tarif 3,33\u{a0}€, soit 5,00\u{a0}€");
        odd.price.base = Cents::new(331).unwrap();
        assert_eq!(priced(&odd, &family(), true).0, Cents::new(497).unwrap(), "4,965 €: 4,97 €");
    }

    #[test]
    fn late_prices_add_replace_or_scale_the_normal_one() {
        let town = town();
        let f = family();
        let price = |unit: &str| late(town.unit(&id(unit)).unwrap().1, &f).get();
        assert_eq!(price("cantine"), 250 + 300);
        assert_eq!(price("peri-soir"), 1000);
        assert_eq!(price("alsh-mercredi"), 1800);
        assert_eq!(of(town.unit(&id("cantine")).unwrap().1, &f, false).get(), 250);
    }
}
