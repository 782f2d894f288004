//! The yearly tax certificate's settings (`billing.tax_certificate`): which part of each unit's
//! price is childcare (article 200 quater B of the CGI: food excluded), and who signs.

use super::{ConfigError, err};
use crate::UnitId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxCertificateSettings {
    /// The percentage of each unit's price that is care (« cantine »: 40, the meal being 60 %);
    /// a unit not listed is not childcare (0 %).
    pub care_percent: BTreeMap<UnitId, u32>,
    /// « Le Maire, Jean Dupont »: the signature block.
    pub signatory: String,
}

impl TaxCertificateSettings {
    pub fn check(&self, units: &[&UnitId]) -> Result<(), ConfigError> {
        for (u, p) in &self.care_percent {
            let path = format!("billing.tax_certificate.care_percent.{u}");
            if !units.contains(&u) {
                return Err(err(path, format!("l'unité « {u} » n'existe pas")));
            }
            if *p > 100 {
                return Err(err(path, "un pourcentage va de 0 à 100"));
            }
        }
        let n = self.signatory.trim().chars().count();
        if n == 0 || n > 200 {
            return Err(err("billing.tax_certificate.signatory", "le signataire fait de 1 à 200 caractères"));
        }
        Ok(())
    }

    /// The care part of `unit`'s price, in percent.
    pub fn percent(&self, unit: &UnitId) -> u32 {
        self.care_percent.get(unit).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_units_are_checked() {
        let (a, b) = (UnitId::parse("cantine").unwrap(), UnitId::parse("garderie").unwrap());
        let mut s = TaxCertificateSettings { care_percent: [(a.clone(), 40)].into(), signatory: "Le Maire".into() };
        assert_eq!(s.check(&[&a]), Ok(()));
        assert_eq!((s.percent(&a), s.percent(&b)), (40, 0));
        s.care_percent.insert(a.clone(), 101);
        assert_eq!(s.check(&[&a]).map_err(|e| e.path), Err("billing.tax_certificate.care_percent.cantine".into()));
        s.care_percent = [(b, 100)].into();
        assert!(s.check(&[&a]).is_err());
        s.care_percent.clear();
        s.signatory = " ".into();
        assert_eq!(s.check(&[&a]).map_err(|e| e.path), Err("billing.tax_certificate.signatory".into()));
    }
}
