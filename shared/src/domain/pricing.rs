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
