//! Who may read the health part of a child's file, and the town's age for going home alone
//! (`child_file` in its configuration).

use super::{ConfigError, err};
use crate::account::Role;
use serde::{Deserialize, Serialize};

/// The town's settings of the children's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildFileSettings {
    /// The staff roles that may read the health part of a file (allergies, PAI, treatment,
    /// doctor, vaccination); both staff roles unless the town names fewer.
    #[serde(default = "both_staff_roles")]
    pub health_readers: Vec<Role>,
    /// From this age (in whole years on the day) a child may go home alone, if a guardian
    /// consents.
    #[serde(default = "eight")]
    pub home_alone_from_age: u8,
    /// How many calendar years a file is kept after the year of the child's last use of the
    /// service (the privacy register's rule: 1, the most; 0 deletes it at the end of that year).
    #[serde(default = "one")]
    pub kept_years_after_last_use: u8,
}

impl Default for ChildFileSettings {
    fn default() -> Self {
        ChildFileSettings {
            health_readers: both_staff_roles(),
            home_alone_from_age: eight(),
            kept_years_after_last_use: one(),
        }
    }
}

impl ChildFileSettings {
    /// Whether a staff member with `role` may read a health part.
    pub fn may_read_health(&self, role: Role) -> bool {
        role.is_staff() && self.health_readers.contains(&role)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.health_readers.contains(&Role::Guardian) {
            return Err(err("child_file.health_readers", "seuls des rôles du personnel peuvent lire la santé"));
        }
        if !(6..=18).contains(&self.home_alone_from_age) {
            return Err(err("child_file.home_alone_from_age", "entre 6 et 18 ans"));
        }
        if self.kept_years_after_last_use > crate::child_file::retention::MAX_KEPT_YEARS {
            return Err(err(
                "child_file.kept_years_after_last_use",
                "au plus 1\u{a0}an après l’année de la dernière réservation (0 ou 1)",
            ));
        }
        Ok(())
    }
}

fn both_staff_roles() -> Vec<Role> {
    vec![Role::Agent, Role::TownAdmin]
}

fn one() -> u8 {
    1
}

fn eight() -> u8 {
    8
}
