//! The delays of the town's everyday operations (`operations` in its configuration).

use super::{ConfigError, err};
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// The delays of the town's everyday operations, in its configuration (`operations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationsSettings {
    /// How long staff have to decide on a place offered from the waiting list of a manual unit,
    /// in hours; then it passes to the next request.
    #[serde(default = "forty_eight")]
    pub offer_hours: u32,
    /// How many days ahead, today included, a guardian may report an absence.
    #[serde(default = "seven")]
    pub absence_report_days: u32,
    /// How long after reporting an absence a medical certificate makes it justified (not
    /// billed), in hours.
    #[serde(default = "forty_eight")]
    pub certificate_hours: u32,
    /// How many days before a holiday period's booking deadline the reminder goes out.
    #[serde(default = "three")]
    pub reminder_days_before_deadline: u32,
    /// How long after a family is closed its personal data is erased, in months (its
    /// accounting records are kept ten years, anonymised).
    #[serde(default = "twelve")]
    pub erase_after_months: u32,
}

fn twelve() -> u32 {
    12
}

fn forty_eight() -> u32 {
    48
}
fn seven() -> u32 {
    7
}
fn three() -> u32 {
    3
}

impl Default for OperationsSettings {
    fn default() -> Self {
        OperationsSettings {
            offer_hours: forty_eight(),
            absence_report_days: seven(),
            certificate_hours: forty_eight(),
            reminder_days_before_deadline: three(),
            erase_after_months: twelve(),
        }
    }
}

impl OperationsSettings {
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |field: &str, msg: &str| Err(err(format!("operations.{field}"), msg));
        if !(1..=720).contains(&self.offer_hours) {
            return bad("offer_hours", "entre 1 et 720 heures");
        }
        if !(1..=31).contains(&self.absence_report_days) {
            return bad("absence_report_days", "entre 1 et 31 jours");
        }
        if !(1..=720).contains(&self.certificate_hours) {
            return bad("certificate_hours", "entre 1 et 720 heures");
        }
        if !(1..=30).contains(&self.reminder_days_before_deadline) {
            return bad("reminder_days_before_deadline", "entre 1 et 30 jours");
        }
        if !(1..=120).contains(&self.erase_after_months) {
            return bad("erase_after_months", "entre 1 et 120 mois");
        }
        Ok(())
    }

    pub fn offer_delay(&self) -> Duration {
        Duration::hours(i64::from(self.offer_hours))
    }
    pub fn certificate_delay(&self) -> Duration {
        Duration::hours(i64::from(self.certificate_hours))
    }
}
