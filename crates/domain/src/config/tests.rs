//! The configuration's tests: parsing and checks, and what a change may not touch.

#[cfg(test)]
mod town {
    use super::super::*;
    use serde_json::{Value, json};

    fn minimal() -> Value {
        json!({
            "id": "ville-test", "name": "Ville test", "school_holiday_zone": "B",
            "sites": [{"id": "ecole", "name": "École"}],
            "activities": [{
                "id": "restauration", "name": "Restauration scolaire", "sites": ["ecole"],
                "units": [{
                    "id": "cantine", "name": "Cantine", "runs_on": ["school_day"],
                    "add_deadline": {"n": 2, "unit": "working_days", "cutoff": "23:59"},
                    "cancel_deadline": {"n": 2, "unit": "working_days", "cutoff": "23:59"},
                    "validation": "automatic", "price": {"base": 380}
                }]
            }]
        })
    }

    fn refuse(v: Value) -> ConfigError {
        Town::parse(v.to_string().as_bytes()).expect_err("should be refused")
    }

    #[test]
    fn a_units_hours_give_its_caf_duration_unless_one_is_declared() {
        let cantine = UnitId::parse("cantine").unwrap();
        let mut v = minimal();
        assert_eq!(Town::parse(v.to_string().as_bytes()).unwrap().unit(&cantine).unwrap().1.caf_minutes(), None);
        v["activities"][0]["units"][0]["hours"] = json!({"start": "11:30", "end": "13:30"});
        let town = Town::parse(v.to_string().as_bytes()).unwrap();
        let unit = town.unit(&cantine).unwrap().1;
        assert_eq!(unit.hours.map(|h| h.start.0.to_string()), Some("11:30:00".to_owned()));
        assert_eq!(unit.caf_minutes(), Some(120));
        v["activities"][0]["units"][0]["duration_minutes"] = json!(90);
        assert_eq!(Town::parse(v.to_string().as_bytes()).unwrap().unit(&cantine).unwrap().1.caf_minutes(), Some(90));
    }

    #[test]
    fn a_minimal_configuration_loads() {
        let town = Town::parse(minimal().to_string().as_bytes()).unwrap();
        assert_eq!(town.tz(), chrono_tz::Europe::Paris);
        assert!(town.unit(&UnitId::parse("cantine").unwrap()).is_some());
    }

    #[test]
    fn errors_name_the_field() {
        let mut v = minimal();
        v["activities"][0]["units"][0]["add_deadline"]["cutoff"] = json!("25:00");
        let e = refuse(v);
        assert_eq!(e.path, "activities[0].units[0].add_deadline.cutoff");
        assert!(e.message.contains("25:00"), "{e}");

        let mut v = minimal();
        v["activities"][0]["units"][0]["price"]["base"] = json!(-4);
        assert_eq!(refuse(v).path, "activities[0].units[0].price.base");

        let mut v = minimal();
        v["activities"][0]["sites"] = json!(["inconnu"]);
        let e = refuse(v);
        assert_eq!(e.path, "activities[0].sites[0]");

        let mut v = minimal();
        v["activities"][0]["units"][0]["add_deadline"]["n"] = json!(0);
        assert_eq!(refuse(v).path, "activities[0].units[0].add_deadline.n");

        for minutes in [0, 24 * 60 + 1] {
            let mut v = minimal();
            v["activities"][0]["units"][0]["duration_minutes"] = json!(minutes);
            let e = refuse(v);
            assert_eq!(e.path, "activities[0].units[0].duration_minutes", "{minutes}");
            assert!(e.message.contains("1440 minutes"), "{e}");
        }

        let mut v = minimal();
        v["activities"][0]["units"][0]["hours"] = json!({"start": "18:30", "end": "16:30"});
        assert_eq!(refuse(v).path, "activities[0].units[0].hours.end");
        let mut v = minimal();
        v["activities"][0]["units"][0]["hours"] = json!({"start": "16:30", "end": "25:00"});
        assert!(refuse(v).message.contains("25:00"));
        let mut v = minimal();
        v["activities"][0]["units"][0]["hours"] = json!({"start": "16:30", "end": "18:30"});
        v["activities"][0]["units"][0]["duration_minutes"] = json!(121);
        let e = refuse(v);
        assert_eq!(e.path, "activities[0].units[0].duration_minutes");
        assert!(e.message.contains("120 minutes"), "{e}");

        let mut v = minimal();
        v["time_zone"] = json!("Mars/Olympus");
        assert!(refuse(v).message.contains("Mars/Olympus"));

        let mut v = minimal();
        v.as_object_mut().unwrap().remove("school_holiday_zone");
        assert_eq!(refuse(v).path, "school_holiday_zone");
    }

    #[test]
    fn a_child_file_is_kept_at_most_a_year_after_the_last_use() {
        let town = Town::parse(minimal().to_string().as_bytes()).unwrap();
        assert_eq!(town.config().child_file.kept_years_after_last_use, 1);
        let mut v = minimal();
        v["child_file"] = json!({"kept_years_after_last_use": 0});
        let town = Town::parse(v.to_string().as_bytes()).unwrap();
        assert_eq!(town.config().child_file.kept_years_after_last_use, 0);
        let mut v = minimal();
        v["child_file"] = json!({"kept_years_after_last_use": 2});
        assert_eq!(refuse(v).path, "child_file.kept_years_after_last_use");
    }

    #[test]
    fn duplicate_units_are_refused() {
        let mut v = minimal();
        let unit = v["activities"][0]["units"][0].clone();
        v["activities"][0]["units"].as_array_mut().unwrap().push(unit);
        let e = refuse(v);
        assert_eq!(e.path, "activities[0].units[1].id");
    }

    #[test]
    fn prices_by_residence_and_quotient() {
        let price = Price {
            base: Cents::new(500).unwrap(),
            non_resident: Some(Cents::new(700).unwrap()),
            qf_brackets: vec![
                QfBracket { up_to_qf: 600, price: Cents::new(150).unwrap() },
                QfBracket { up_to_qf: 1200, price: Cents::new(300).unwrap() },
            ],
            siblings: None,
        };
        assert_eq!(price.for_family(true, Some(400)).get(), 150);
        assert_eq!(price.for_family(true, Some(600)).get(), 150);
        assert_eq!(price.for_family(true, Some(601)).get(), 300);
        assert_eq!(price.for_family(true, Some(5000)).get(), 500);
        assert_eq!(price.for_family(true, None).get(), 500);
        assert_eq!(price.for_family(false, Some(400)).get(), 700);
    }

    #[test]
    fn a_service_may_have_its_own_contact_checked_like_the_regies() {
        let mut v = minimal();
        v["activities"][0]["contact"] =
            json!({"name": "Accueil de loisirs", "phone": "01 23 45 67 89", "hours": "Mercredi 8 h – 18 h"});
        let town = Town::parse(v.to_string().as_bytes()).unwrap();
        let contact = town.config().activities[0].contact.as_ref().unwrap();
        assert_eq!((contact.name.as_str(), contact.phone.as_deref()), ("Accueil de loisirs", Some("01 23 45 67 89")));
        v["activities"][0]["contact"]["name"] = json!("  ");
        assert_eq!(Town::parse(v.to_string().as_bytes()).unwrap_err().path, "activities[0].contact.name");
        v["activities"][0]["contact"] = json!({"name": "Accueil", "hours": "x".repeat(401)});
        assert_eq!(Town::parse(v.to_string().as_bytes()).unwrap_err().path, "activities[0].contact");
        v["activities"][0]["contact"] = json!({"name": "Accueil", "fax": "01"});
        assert!(Town::parse(v.to_string().as_bytes()).is_err(), "an unknown field is refused");
    }

    #[test]
    fn late_addition_rules() {
        let day = Cents::new(1200).unwrap();
        assert_eq!(LateAddition::ReplaceWith(Cents::new(400).unwrap()).apply(day).get(), 400);
        assert_eq!(LateAddition::Add(Cents::new(300).unwrap()).apply(day).get(), 1500);
        assert_eq!(LateAddition::Percent(150).apply(day).get(), 1800);
        assert_eq!(LateAddition::None.apply(day).get(), 1200);
    }

    #[test]
    fn offering_distinguishes_every_reason() {
        let mut v = minimal();
        v["closures"] = json!([{"date": "2026-12-04", "reason": "Grève"}]);
        let town = Town::parse(v.to_string().as_bytes()).unwrap();
        let (a, u) = town.unit(&UnitId::parse("cantine").unwrap()).unwrap();
        let ecole = SiteId::parse("ecole").unwrap();
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(town.offering_at(a, u, &ecole, d(12, 1)), Ok(DayKind::SchoolDay));
        assert_eq!(town.offering_at(a, u, &ecole, d(12, 5)), Err(NotOffered::Weekend));
        assert_eq!(
            town.offering_at(a, u, &ecole, d(11, 11)),
            Err(NotOffered::PublicHoliday { name: "Armistice 1918".into() })
        );
        assert_eq!(town.offering_at(a, u, &ecole, d(12, 4)), Err(NotOffered::Closure { detail: "Grève".into() }));
        assert_eq!(town.offering_at(a, u, &ecole, d(12, 2)), Err(NotOffered::NotRunningThatDay));
        assert!(matches!(town.offering_at(a, u, &ecole, d(12, 22)), Err(NotOffered::SchoolHoliday { .. })));
        assert_eq!(town.offering_at(a, u, &SiteId::parse("autre").unwrap(), d(12, 1)), Err(NotOffered::NotAtSite));
    }
}

#[cfg(test)]
mod change {
    use crate::testkit::{d, town};
    use serde_json::json;

    fn changed(f: impl FnOnce(&mut serde_json::Value)) -> crate::config::TownConfig {
        let mut v = serde_json::to_value(town().config()).unwrap();
        f(&mut v);
        serde_json::from_value(v).unwrap()
    }

    fn check(f: impl FnOnce(&mut serde_json::Value)) -> Result<(), String> {
        let before = town().config().clone();
        before.check_change(&changed(f), d(2026, 12, 1)).map_err(|e| e.path)
    }

    #[test]
    fn prices_capacities_and_future_closures_may_change() {
        assert_eq!(check(|v| v["activities"][0]["units"][0]["capacity"] = json!(80)), Ok(()));
        assert_eq!(check(|v| v["activities"][0]["units"][0]["price"]["base"] = json!(420)), Ok(()));
        assert_eq!(check(|v| v["closures"] = json!([{"date": "2026-12-18", "reason": "Grève"}])), Ok(()));
    }

    #[test]
    fn what_bookings_point_to_and_the_past_stay() {
        assert_eq!(check(|v| v["id"] = json!("autre")), Err("id".into()));
        assert_eq!(check(|v| v["school_holiday_zone"] = json!("A")), Err("school_holiday_zone".into()));
        assert_eq!(check(|v| v["sites"].as_array_mut().unwrap().truncate(1)), Err("sites".into()));
        assert_eq!(check(|v| v["activities"].as_array_mut().unwrap().truncate(1)), Err("activities".into()));
        assert_eq!(
            check(|v| v["activities"][0]["units"].as_array_mut().unwrap().truncate(1)),
            Err("activities".into())
        );
        assert_eq!(
            check(|v| v["closures"] = json!([{"date": "2026-11-30", "reason": "Grève"}])),
            Err("closures".into())
        );
    }
}
