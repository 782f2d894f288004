//! A child's class level, and how it moves on at the rollover.

use super::SchoolYear;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The levels of the école maternelle and élémentaire, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    PS,
    MS,
    GS,
    CP,
    CE1,
    CE2,
    CM1,
    CM2,
}

/// A level that is not one of PS, MS, GS, CP, CE1, CE2, CM1, CM2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("le niveau « {0} » n'existe pas (PS, MS, GS, CP, CE1, CE2, CM1 ou CM2)")]
pub struct UnknownLevel(pub String);

impl crate::Refusal for UnknownLevel {
    fn code(&self) -> &'static str {
        "unknown_level"
    }
    fn field(&self) -> Option<String> {
        Some("level".into())
    }
}

impl Level {
    pub const ALL: [Level; 8] =
        [Level::PS, Level::MS, Level::GS, Level::CP, Level::CE1, Level::CE2, Level::CM1, Level::CM2];

    /// The level of the next school year; none after CM2 (the child leaves the school units).
    pub fn next(self) -> Option<Level> {
        let i = Level::ALL.iter().position(|l| *l == self)?;
        Level::ALL.get(i + 1).copied()
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::PS => "PS",
            Level::MS => "MS",
            Level::GS => "GS",
            Level::CP => "CP",
            Level::CE1 => "CE1",
            Level::CE2 => "CE2",
            Level::CM1 => "CM1",
            Level::CM2 => "CM2",
        }
    }

    /// Any case, surrounding spaces ignored.
    pub fn parse(raw: &str) -> Result<Level, UnknownLevel> {
        let up = raw.trim().to_uppercase();
        Level::ALL.into_iter().find(|l| l.label() == up).ok_or_else(|| UnknownLevel(raw.chars().take(20).collect()))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A child's level for a school year: the rollover moves a child whose level is of the year it
/// closes, and only those, so running it twice moves a child once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildLevel {
    pub level: Level,
    pub year: SchoolYear,
}

impl ChildLevel {
    /// What the rollover from `closing` makes of it: `Ok(Some)` the next level, `Ok(None)` the
    /// child leaves the school units (after CM2), `Err(self)` unchanged (not of that year: moved
    /// already, or set by staff for another year).
    pub fn roll(self, closing: SchoolYear) -> Result<Option<ChildLevel>, ChildLevel> {
        if self.year != closing {
            return Err(self);
        }
        Ok(self.level.next().map(|level| ChildLevel { level, year: closing.next() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_move_on_in_order_and_cm2_leaves() {
        let order: Vec<Option<Level>> = Level::ALL.iter().map(|l| l.next()).collect();
        assert_eq!(
            order,
            vec![
                Some(Level::MS),
                Some(Level::GS),
                Some(Level::CP),
                Some(Level::CE1),
                Some(Level::CE2),
                Some(Level::CM1),
                Some(Level::CM2),
                None
            ]
        );
        assert_eq!(Level::parse(" ce1 ").unwrap(), Level::CE1);
        assert!(Level::parse("6e").is_err());
        assert_eq!(serde_json::to_string(&Level::CM2).unwrap(), "\"CM2\"");
    }

    #[test]
    fn a_level_rolls_once_from_its_own_year() {
        let y = SchoolYear::parse("2026-2027").unwrap();
        let ce2 = ChildLevel { level: Level::CE2, year: y };
        let moved = ce2.roll(y).unwrap().unwrap();
        assert_eq!(moved, ChildLevel { level: Level::CM1, year: y.next() });
        assert_eq!(moved.roll(y), Err(moved), "a second run changes nothing");
        assert_eq!(ChildLevel { level: Level::CM2, year: y }.roll(y), Ok(None));
    }
}
