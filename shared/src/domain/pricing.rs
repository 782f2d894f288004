//! What a booking costs a family: the normal price (quotient familial bracket, residence) and
//! the late price (an addition past the deadline, or a child present without a booking).

use super::Cents;
use super::config::Unit;
use super::family::Family;

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
    use crate::domain::testkit::{family, id, town};

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
