//! The town's identity in Hélios, the Trésor public's accounting (`billing.helios`): what the PES
//! V2 file of its invoices carries in `EnTetePES` and on each line, and its checks.

use super::{ConfigError, err};
use crate::UnitId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The codes the town's comptable public gives it (« fiche d'identification Hélios »).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeliosSettings {
    /// `IdPost`: the poste comptable, 7 digits (« 0920xxx »).
    pub id_post: String,
    /// `IdColl`: the town's SIRET, 14 digits.
    pub id_coll: String,
    /// `CodCol`: the collectivité's code in Hélios, 3 letters or digits.
    pub cod_col: String,
    /// `CodBud`: the budget's code, 2 letters or digits (« 00 » for the main budget).
    pub cod_bud: String,
    /// `CodProdLoc` of a unit without its own: 1 to 4 letters or digits.
    pub product: String,
    /// `CodProdLoc` per unit (« cantine » → « CANT »).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub products: BTreeMap<UnitId, String>,
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn alnum(s: &str, from: usize, to: usize) -> bool {
    (from..=to).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl HeliosSettings {
    /// `units`: the town's units, which `products` may name.
    pub fn check(&self, units: &[&UnitId]) -> Result<(), ConfigError> {
        if !digits(&self.id_post, 7) {
            return Err(err("billing.helios.id_post", "le code du poste comptable (IdPost) a 7 chiffres"));
        }
        if !digits(&self.id_coll, 14) {
            return Err(err(
                "billing.helios.id_coll",
                "l'identifiant de la collectivité (IdColl) est son SIRET, 14 chiffres",
            ));
        }
        if !alnum(&self.cod_col, 3, 3) {
            return Err(err(
                "billing.helios.cod_col",
                "le code collectivité (CodCol) a 3 lettres majuscules ou chiffres",
            ));
        }
        if !alnum(&self.cod_bud, 2, 2) {
            return Err(err("billing.helios.cod_bud", "le code budget (CodBud) a 2 lettres majuscules ou chiffres"));
        }
        let products = std::iter::once(("billing.helios.product".to_owned(), &self.product))
            .chain(self.products.iter().map(|(u, p)| (format!("billing.helios.products.{u}"), p)));
        for (path, p) in products {
            if !alnum(p, 1, 4) {
                return Err(err(path, "un code produit (CodProdLoc) a 1 à 4 lettres majuscules ou chiffres"));
            }
        }
        if let Some(u) = self.products.keys().find(|u| !units.contains(u)) {
            return Err(err(format!("billing.helios.products.{u}"), format!("l'unité « {u} » n'existe pas")));
        }
        Ok(())
    }

    /// The product code of `unit`.
    pub fn product_of(&self, unit: &UnitId) -> &str {
        self.products.get(unit).unwrap_or(&self.product)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h() -> HeliosSettings {
        HeliosSettings {
            id_post: "0920100".into(),
            id_coll: "21920078500012".into(),
            cod_col: "078".into(),
            cod_bud: "00".into(),
            product: "ENF".into(),
            products: [(UnitId::parse("cantine").unwrap(), "CANT".to_owned())].into_iter().collect(),
        }
    }

    #[test]
    fn codes_are_checked_with_the_field_named() {
        let cantine = UnitId::parse("cantine").unwrap();
        assert_eq!(h().check(&[&cantine]), Ok(()));
        type Change = fn(&mut HeliosSettings);
        let cases: [(Change, &str); 6] = [
            (|h| h.id_post = "92010".into(), "billing.helios.id_post"),
            (|h| h.id_coll = "2192007850001A".into(), "billing.helios.id_coll"),
            (|h| h.cod_col = "78".into(), "billing.helios.cod_col"),
            (|h| h.cod_bud = "0".into(), "billing.helios.cod_bud"),
            (|h| h.product = "ENFANT".into(), "billing.helios.product"),
            (
                |h| h.products = [(UnitId::parse("garderie").unwrap(), "GAR".into())].into(),
                "billing.helios.products.garderie",
            ),
        ];
        for (change, path) in cases {
            let mut bad = h();
            change(&mut bad);
            assert_eq!(bad.check(&[&cantine]).map_err(|e| e.path), Err(path.to_owned()));
        }
    }

    #[test]
    fn a_unit_without_its_code_takes_the_towns() {
        assert_eq!(h().product_of(&UnitId::parse("cantine").unwrap()), "CANT");
        assert_eq!(h().product_of(&UnitId::parse("garderie").unwrap()), "ENF");
    }
}
