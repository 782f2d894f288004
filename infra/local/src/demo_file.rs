//! Léa's file in the demo town: an allergy to kiwi with what to do, her doctor, an emergency
//! contact, a pick-up person, her consents and insurance, validated by the town's
//! administrator, so that the register shows her mark and a guardian has a file to correct.

use crate::Error;
use crate::demo::demo_error;
use chrono::{DateTime, Utc};
use domain::child_file::record::Author;
use domain::child_file::{ChildFile, Context, FileRecord};
use domain::config::Town;
use serde_json::json;
use store::{Store, child_files};

fn lea_file() -> serde_json::Value {
    json!({
        "health": {
            "allergies": [{"kind": "food", "name": "kiwi",
                           "what_to_do": "Pas de kiwi ; en cas de démangeaisons ou de gonflement des lèvres, appeler la famille puis le 15."}],
            "doctor": {"name": "Dr Élise Morel", "phone": "01 23 45 67 89"},
            "dtp_booster": "2022-03-20"
        },
        "people": {
            "pickup": [{"name": "Jeanne Martin", "relationship": "grand-mère", "phone": "06 12 34 56 78"}],
            "emergency": [{"name": "Jeanne Martin", "relationship": "grand-mère", "phone": "06 12 34 56 78"}]
        },
        "consents": [
            {"kind": "photos_internal", "given": true}, {"kind": "photos_publication", "given": false},
            {"kind": "outings", "given": true}, {"kind": "transport", "given": true},
            {"kind": "emergency_care", "given": true}, {"kind": "go_home_alone", "given": false}
        ],
        "insurance": {"insurer": "MAE", "policy": "MAE-2026-481516", "valid_until": "2027-08-31"}
    })
}

/// Sophie's file for Léa, validated by the administrator a moment later.
pub(crate) async fn store_lea_file(store: &Store, town: &Town, now: DateTime<Utc>) -> Result<(), Error> {
    let lea = domain::ChildId::parse("lea-martin").map_err(demo_error)?;
    let martin = domain::FamilyRef::parse("martin").map_err(demo_error)?;
    let today = town.today(now);
    let birth_date = chrono::NaiveDate::from_ymd_opt(2016, 3, 14).unwrap_or_default();
    let ctx = Context { today, birth_date, settings: &town.config().child_file };
    let file: ChildFile = serde_json::from_value(lea_file()).map_err(demo_error)?;
    let file = file.checked(ctx).map_err(demo_error)?;
    let author = Author { family: &martin, by: "sophie.martin@exemple.fr", at: now, today };
    let (record, version) =
        FileRecord::update(None, &lea, file, author).ok_or_else(|| Error::Demo("Léa's file".into()))?;
    let validated = record.validate(record.version, crate::demo::DEMO_STAFF[0].0, now).map_err(demo_error)?;
    store.transact(child_files::writes(town.id(), None, &validated, Some(&version))?).await?;
    Ok(())
}
