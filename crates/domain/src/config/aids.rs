//! The aids a town deducts on its invoices (`aids`: the CAF's « aide aux temps libres », the
//! MSA's, the town's own) and the sibling reductions of a unit's price (`price.siblings`): their
//! settings and checks. The rules that apply them are [`crate::aid`] and [`crate::billing`].

use super::{ConfigError, Unit, err};
use crate::{AidId, Cents, FamilyRef, UnitId};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Who pays an aid (for the town's accounts: the aid is claimed from that funder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Funder {
    Caf,
    Msa,
    Town,
}

/// What an aid's amount is counted by: each day attended, or each hour of the unit's session
/// (`duration_minutes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    Day,
    Hour,
}

/// The year an aid's ceiling counts over: the civil year (January to December, as a CAF's
/// « aide aux temps libres » is granted) or the school year (September to August).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AidYear {
    #[default]
    Civil,
    School,
}

/// A QF bracket, bounds included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QfRange {
    #[serde(default)]
    pub from: u32,
    pub up_to: u32,
}

/// One aid: how much, on which units, for whom, up to what per child and year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aid {
    /// A slug, unique in the town: what invoices keep to count the ceiling.
    pub id: AidId,
    /// « Aide CAF temps libres », as the invoice line reads.
    pub name: String,
    pub funder: Funder,
    pub units: Vec<UnitId>,
    /// Cents per day, or per hour of the unit's session.
    pub amount: Cents,
    pub per: Per,
    /// Families whose QF is in this bracket (a family without a known QF is not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qf: Option<QfRange>,
    /// Families named by reference, whatever their QF.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<FamilyRef>,
    /// The most given to one child of one household in a year, in cents; none: no ceiling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<Cents>,
    #[serde(default)]
    pub year: AidYear,
}

/// The most aids a town may configure, and the most units or families one may name.
pub const MAX_AIDS: usize = 20;
pub const MAX_AID_FAMILIES: usize = 500;

/// Checks the town's aids against its units.
pub fn check_aids(aids: &[Aid], units: &[&Unit]) -> Result<(), ConfigError> {
    if aids.len() > MAX_AIDS {
        return Err(err("aids", format!("{MAX_AIDS} aides au plus")));
    }
    let mut ids = HashSet::new();
    for (i, a) in aids.iter().enumerate() {
        let at = format!("aids[{i}]");
        if !ids.insert(&a.id) {
            return Err(err(format!("{at}.id"), format!("l'aide « {} » est déclarée deux fois", a.id)));
        }
        let n = a.name.trim().chars().count();
        if n == 0 || n > 80 {
            return Err(err(format!("{at}.name"), "le nom de l'aide fait de 1 à 80 caractères"));
        }
        if a.units.is_empty() {
            return Err(err(format!("{at}.units"), "indiquez au moins une prestation"));
        }
        for (ui, u) in a.units.iter().enumerate() {
            let Some(unit) = units.iter().find(|x| &x.id == u) else {
                return Err(err(format!("{at}.units[{ui}]"), format!("la prestation « {u} » n'existe pas")));
            };
            if a.per == Per::Hour && unit.duration_minutes.is_none() {
                return Err(err(
                    format!("{at}.units[{ui}]"),
                    format!("une aide à l'heure demande la durée de la prestation « {u} » (duration_minutes)"),
                ));
            }
        }
        if a.amount == Cents::ZERO || a.amount.get() > 100_000 {
            return Err(err(format!("{at}.amount"), "le montant va de 1 centime à 1 000 €"));
        }
        if a.qf.is_none() && a.families.is_empty() {
            return Err(err(
                at,
                "indiquez à qui l'aide s'applique : une tranche de quotient familial (qf) ou des familles",
            ));
        }
        if let Some(q) = a.qf
            && q.from > q.up_to
        {
            return Err(err(format!("{at}.qf"), "la tranche doit aller d'un quotient au plus égal à « up_to »"));
        }
        if a.families.len() > MAX_AID_FAMILIES {
            return Err(err(format!("{at}.families"), format!("{MAX_AID_FAMILIES} familles au plus")));
        }
        if a.ceiling == Some(Cents::ZERO) {
            return Err(err(format!("{at}.ceiling"), "un plafond de 0 € n'accorde rien : retirez l'aide"));
        }
    }
    Ok(())
}

/// How a unit's price goes down with the family's children: the reductions by rank of the
/// child among the family's children booked on that unit the same day, or enrolled in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Siblings {
    /// What is counted: the children booked the same day, or enrolled in the unit that day.
    pub count: SiblingCount,
    /// Ascending by `from_child`: from that rank on, `percent` off the price.
    pub reductions: Vec<SiblingReduction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiblingCount {
    /// The family's children booked on the unit that day (billed at their price), ranked from
    /// the dearest booking to the cheapest.
    SameDay,
    /// The family's children enrolled in the unit that day, booked or not, ranked from the
    /// eldest: the second enrolled child pays the second's price every day it is booked.
    Enrolled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiblingReduction {
    /// 2 for the second child, 3 for the third and the next ones.
    pub from_child: u32,
    /// 1 to 100.
    pub percent: u32,
}

impl Siblings {
    /// The reduction the `rank`-th child (1 for the first) has, in percent; 0 for none.
    pub fn percent(&self, rank: u32) -> u32 {
        self.reductions.iter().rev().find(|r| r.from_child <= rank).map_or(0, |r| r.percent)
    }

    pub fn check(&self, at: &str) -> Result<(), ConfigError> {
        if self.reductions.is_empty() {
            return Err(err(format!("{at}.reductions"), "indiquez au moins une réduction"));
        }
        let mut last = 1;
        for (i, r) in self.reductions.iter().enumerate() {
            let path = format!("{at}.reductions[{i}]");
            if !(2..=10).contains(&r.from_child) || r.from_child <= last {
                return Err(err(
                    format!("{path}.from_child"),
                    "les rangs vont de 2 à 10, dans l'ordre croissant (2 pour le deuxième enfant)",
                ));
            }
            if !(1..=100).contains(&r.percent) {
                return Err(err(format!("{path}.percent"), "une réduction va de 1 à 100 %"));
            }
            last = r.from_child;
        }
        Ok(())
    }
}
