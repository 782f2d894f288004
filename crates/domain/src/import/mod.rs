//! Family import: the rows a town's existing software exports (CSV, `;` or `,` separated,
//! with or without BOM), or the same rows as JSON, checked one by one against the town and
//! grouped into families, children and guardians. Pure: the caller compares the plan with
//! what is stored and writes it.

use super::config::Town;
use super::family::{Child, Diet, Email, Enrollment, Family, Guardian, birth_date_possible, check_enrolment};
use super::{ActivityId, ChildId, FamilyRef, SiteId, UnitId};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

mod file;

pub use file::{COLUMNS, FileRefused, MAX_ROWS, Row, check_columns, read_csv};

/// A guardian as the file describes them, with every family that lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedGuardian {
    pub first_name: String,
    pub last_name: String,
    pub families: BTreeSet<FamilyRef>,
}

/// What one row became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowCheck {
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
    /// Empty when the row is valid.
    pub errors: Vec<String>,
}

/// The valid rows grouped into what to store, and every row's check.
#[derive(Debug, Default)]
pub struct Plan {
    pub families: BTreeMap<FamilyRef, Family>,
    pub children: BTreeMap<ChildId, Child>,
    pub guardians: BTreeMap<Email, PlannedGuardian>,
    pub rows: Vec<RowCheck>,
}

impl Plan {
    pub fn rejected(&self) -> usize {
        self.rows.iter().filter(|r| !r.errors.is_empty()).count()
    }
}

/// What an import does to one row, against what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    Created,
    Updated,
    Unchanged,
    Rejected,
}

/// One row of the import's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowReport {
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
    pub status: RowStatus,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// The counts of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Summary {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub accounts_created: usize,
    pub emails_queued: usize,
    pub transactions: usize,
}

impl Plan {
    /// Each row's status against the stored `families` and `children`: a child not stored yet
    /// is created; one stored as planned, in a family stored as planned, is unchanged.
    pub fn outcome(
        &self,
        families: &HashMap<FamilyRef, Family>,
        children: &HashMap<ChildId, Child>,
    ) -> (Vec<RowReport>, Summary) {
        let mut summary = Summary { rows: self.rows.len(), ..Summary::default() };
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let status = self.status(r, families, children);
                match status {
                    RowStatus::Created => summary.created += 1,
                    RowStatus::Updated => summary.updated += 1,
                    RowStatus::Unchanged => summary.unchanged += 1,
                    RowStatus::Rejected => summary.rejected += 1,
                }
                RowReport {
                    line: r.line,
                    family: r.family.clone(),
                    child: r.child.clone(),
                    status,
                    errors: r.errors.clone(),
                }
            })
            .collect();
        (rows, summary)
    }

    fn status(
        &self,
        r: &RowCheck,
        families: &HashMap<FamilyRef, Family>,
        children: &HashMap<ChildId, Child>,
    ) -> RowStatus {
        if !r.errors.is_empty() {
            return RowStatus::Rejected;
        }
        let child = r.child.as_deref().and_then(|c| ChildId::parse(c).ok());
        let family = r.family.as_deref().and_then(|f| FamilyRef::parse(f).ok());
        let planned_child = child.as_ref().and_then(|c| self.children.get(c));
        let family_same = family.as_ref().is_some_and(|f| families.get(f) == self.families.get(f));
        match child.as_ref().and_then(|c| children.get(c)) {
            None => RowStatus::Created,
            Some(s) if Some(s) == planned_child && family_same => RowStatus::Unchanged,
            Some(_) => RowStatus::Updated,
        }
    }
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%d/%m/%Y").or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d")).ok()
}

struct Cells<'a> {
    cells: &'a BTreeMap<String, String>,
    errors: Vec<String>,
}

impl Cells<'_> {
    fn get(&self, col: &str) -> &str {
        self.cells.get(col).map(String::as_str).unwrap_or_default()
    }
    fn opt(&self, col: &str) -> Option<String> {
        Some(self.get(col).to_owned()).filter(|s| !s.is_empty())
    }
    fn required(&mut self, col: &str) -> String {
        let v = self.get(col).to_owned();
        if v.is_empty() {
            self.errors.push(format!("{col} : valeur obligatoire"));
        } else if v.chars().count() > 200 {
            self.errors.push(format!("{col} : 200 caractères au plus"));
        }
        v
    }
    fn parsed<T, E: std::fmt::Display>(&mut self, col: &str, f: impl FnOnce(&str) -> Result<T, E>) -> Option<T> {
        let v = self.get(col).to_owned();
        match f(&v) {
            Ok(t) => Some(t),
            Err(e) => {
                self.errors.push(format!("{col} : {e}"));
                None
            }
        }
    }
    fn date(&mut self, col: &str) -> Option<NaiveDate> {
        self.parsed(col, |v| date(v).ok_or_else(|| format!("date « {v} » invalide (JJ/MM/AAAA)")))
    }
    fn guardian(&mut self, n: u8, required: bool) -> Option<Guardian> {
        let [first, last, email, phone] =
            ["prenom", "nom", "email", "telephone"].map(|f| format!("responsable{n}_{f}"));
        if !required && [&first, &last, &email, &phone].iter().all(|c| self.get(c).is_empty()) {
            return None;
        }
        let first_name = self.required(&first);
        let last_name = self.required(&last);
        let email = self.parsed(&email, Email::parse)?;
        Some(Guardian { first_name, last_name, email, phone: self.opt(&phone) })
    }
}

/// `activite@site` or `activite@site:prestation+prestation`, separated by `|`.
fn enrolments(town: &Town, spec: &str, from: NaiveDate, to: NaiveDate) -> Result<Vec<Enrollment>, String> {
    let mut out = Vec::new();
    for part in spec.split('|').map(str::trim).filter(|p| !p.is_empty()) {
        let (head, units) = part.split_once(':').unwrap_or((part, ""));
        let (activity, site) = head
            .split_once('@')
            .ok_or_else(|| format!("« {part} » : écrivez service@site, par exemple restauration@ecole"))?;
        let activity = ActivityId::parse(activity.trim()).map_err(|e| e.0)?;
        let site = SiteId::parse(site.trim()).map_err(|e| e.0)?;
        let units = units
            .split('+')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| UnitId::parse(u).map_err(|e| e.0))
            .collect::<Result<Vec<_>, _>>()?;
        let enrolment = Enrollment { activity, site, units, from, to, hold: None };
        check_enrolment(town, &enrolment).map_err(|e| e.to_string())?;
        out.push(enrolment);
    }
    Ok(out)
}

fn parse_row(
    town: &Town,
    cells: &BTreeMap<String, String>,
    today: NaiveDate,
) -> (Option<(Family, Child)>, Vec<String>) {
    let mut c = Cells { cells, errors: Vec::new() };
    if let Some(why) = cells.get("#columns") {
        c.errors.push(format!("nombre de colonnes incorrect ({why})"));
    }
    for (col, value) in cells {
        if let Err(why) = super::text::check(value) {
            c.errors.push(format!("{col} : {why}"));
        }
    }
    let reference = c.parsed("famille_reference", |v| FamilyRef::parse(&v.to_lowercase()).map_err(|e| e.0));
    let family_name = c.required("famille_nom");
    let qf = c.parsed("quotient_familial", |v| {
        if v.is_empty() {
            Ok(None)
        } else {
            v.parse::<u32>().map(Some).map_err(|_| format!("« {v} » n'est pas un nombre entier"))
        }
    });
    let resident = c.parsed("residente", |v| match v.to_lowercase().as_str() {
        "" | "oui" | "o" | "1" | "true" => Ok(true),
        "non" | "n" | "0" | "false" => Ok(false),
        _ => Err(format!("« {v} » : écrivez oui ou non")),
    });
    let diet = c.parsed("regime", Diet::parse);
    let pai = c.parsed("pai", |v| match v.to_lowercase().as_str() {
        "" | "non" | "n" | "0" | "false" => Ok(false),
        "oui" | "o" | "1" | "true" => Ok(true),
        _ => Err(format!("« {v} » : écrivez oui ou non")),
    });
    let g1 = c.guardian(1, true);
    let g2 = c.guardian(2, false);
    let child_id = c.parsed("enfant_id", |v| ChildId::parse(&v.to_lowercase()).map_err(|e| e.0));
    let first_name = c.required("enfant_prenom");
    let last_name = c.required("enfant_nom");
    let birth = c.date("enfant_naissance");
    if let Some(b) = birth
        && !birth_date_possible(b, today)
    {
        c.errors.push(format!("enfant_naissance : date « {} » impossible", b.format("%d/%m/%Y")));
    }
    let spec = c.get("inscriptions").to_owned();
    let mut enrolments_found = Vec::new();
    if !spec.is_empty() {
        let from = c.date("inscription_debut");
        let to = c.date("inscription_fin");
        match (from, to) {
            (Some(f), Some(t)) if t < f => c.errors.push("inscription_fin : avant inscription_debut".into()),
            (Some(f), Some(t)) => match enrolments(town, &spec, f, t) {
                Ok(e) => enrolments_found = e,
                Err(e) => c.errors.push(format!("inscriptions : {e}")),
            },
            _ => {}
        }
    }
    let (Some(reference), Some(qf), Some(resident), Some(g1), Some(child_id), Some(birth)) =
        (reference, qf, resident, g1, child_id, birth)
    else {
        return (None, c.errors);
    };
    if !c.errors.is_empty() {
        return (None, c.errors);
    }
    let guardians: Vec<Guardian> = std::iter::once(g1).chain(g2).collect();
    if guardians.len() == 2 && guardians[0].email == guardians[1].email {
        return (None, vec!["responsable2_email : identique à celle du responsable 1".into()]);
    }
    let family = Family {
        address: Vec::new(),
        reference,
        name: family_name,
        resident,
        quotient_familial: qf,
        guardians,
        children: vec![child_id.clone()],
    };
    let child = Child {
        id: child_id,
        first_name,
        last_name,
        birth_date: birth,
        school: c.opt("ecole"),
        class: c.opt("classe"),
        level: None,
        health_notes: c.opt("sante_regime"),
        diet: diet.unwrap_or_default(),
        pai: pai.unwrap_or_default(),
        enrolments: enrolments_found,
    };
    (Some((family, child)), Vec::new())
}

/// Checks every row and groups the valid ones. Rows of one family must agree on the family's
/// data; a child listed by two families (separated parents) must be described the same way.
pub fn plan(town: &Town, rows: &[Row], today: NaiveDate) -> Plan {
    let mut plan = Plan::default();
    let mut family_line: BTreeMap<FamilyRef, usize> = BTreeMap::new();
    let mut child_line: BTreeMap<ChildId, usize> = BTreeMap::new();
    for (line, cells) in rows {
        let (parsed, mut errors) = parse_row(town, cells, today);
        let mut check = RowCheck {
            line: *line,
            family: cells.get("famille_reference").filter(|s| !s.is_empty()).map(|s| s.to_lowercase()),
            child: cells.get("enfant_id").filter(|s| !s.is_empty()).map(|s| s.to_lowercase()),
            errors: Vec::new(),
        };
        if let Some((family, child)) = parsed {
            if let Some(known) = plan.families.get(&family.reference) {
                let same = known.name == family.name
                    && known.resident == family.resident
                    && known.quotient_familial == family.quotient_familial
                    && known.guardians == family.guardians;
                if !same {
                    errors.push(format!(
                        "les informations de la famille « {} » diffèrent de celles de la ligne {}",
                        family.reference, family_line[&family.reference]
                    ));
                } else if known.children.contains(&child.id) {
                    errors.push(format!(
                        "l'enfant « {} » figure déjà à la ligne {} (ligne en double)",
                        child.id, child_line[&child.id]
                    ));
                }
            }
            if errors.is_empty()
                && let Some(known) = plan.children.get(&child.id)
                && known != &child
            {
                errors.push(format!(
                    "l'enfant « {} » est décrit autrement à la ligne {}",
                    child.id, child_line[&child.id]
                ));
            }
            for g in &family.guardians {
                if let Some(known) = plan.guardians.get(&g.email)
                    && (known.first_name != g.first_name || known.last_name != g.last_name)
                {
                    errors.push(format!("le responsable {} porte un autre nom sur une autre ligne", g.email));
                }
            }
            if errors.is_empty() {
                for g in &family.guardians {
                    plan.guardians
                        .entry(g.email.clone())
                        .or_insert_with(|| PlannedGuardian {
                            first_name: g.first_name.clone(),
                            last_name: g.last_name.clone(),
                            families: BTreeSet::new(),
                        })
                        .families
                        .insert(family.reference.clone());
                }
                family_line.entry(family.reference.clone()).or_insert(*line);
                child_line.entry(child.id.clone()).or_insert(*line);
                match plan.families.get_mut(&family.reference) {
                    Some(known) => known.children.push(child.id.clone()),
                    None => {
                        plan.families.insert(family.reference.clone(), family);
                    }
                }
                plan.children.insert(child.id.clone(), child);
            }
        }
        check.errors = errors;
        plan.rows.push(check);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn town() -> Town {
        let json = serde_json::json!({
            "id": "ville", "name": "Ville", "school_holiday_zone": "B",
            "sites": [{"id": "ecole", "name": "École"}],
            "activities": [{"id": "restauration", "name": "R", "sites": ["ecole"], "units": [{
                "id": "cantine", "name": "Cantine", "runs_on": ["school_day"],
                "add_deadline": {"n": 2, "unit": "working_days", "cutoff": "23:59"},
                "cancel_deadline": {"n": 2, "unit": "working_days", "cutoff": "23:59"},
                "validation": "automatic", "price": {"base": 380}}]}]
        });
        Town::parse(json.to_string().as_bytes()).unwrap()
    }

    const HEADER: &str = "famille_reference;famille_nom;responsable1_prenom;responsable1_nom;responsable1_email;enfant_id;enfant_prenom;enfant_nom;enfant_naissance;inscriptions;inscription_debut;inscription_fin";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn run(body: &str) -> Plan {
        plan(&town(), &read_csv(body.as_bytes()).unwrap(), today())
    }

    #[test]
    fn french_spreadsheet_export_with_bom_and_semicolons() {
        let csv = format!(
            "\u{feff}{HEADER}\nF-001;Famille Martin;Sophie;Martin;sophie@exemple.fr;LEA-1;Léa;Martin;14/03/2016;restauration@ecole;01/09/2026;03/07/2027\nF-001;Famille Martin;Sophie;Martin;sophie@exemple.fr;hugo-1;Hugo;Martin;2019-07-02;;;\n"
        );
        let p = run(&csv);
        assert_eq!(p.rejected(), 0, "{:?}", p.rows);
        let f = &p.families[&FamilyRef::parse("f-001").unwrap()];
        assert_eq!(f.children.len(), 2);
        assert_eq!(p.children[&ChildId::parse("lea-1").unwrap()].enrolments.len(), 1);
        assert_eq!(p.guardians.len(), 1);
        assert_eq!(p.rows[0].line, 2);
    }

    #[test]
    fn the_canteen_diet_and_the_pai_are_read_or_the_row_is_refused() {
        let header = "famille_reference;famille_nom;responsable1_prenom;responsable1_nom;responsable1_email;enfant_id;enfant_prenom;enfant_nom;enfant_naissance;regime;pai";
        let csv = format!(
            "{header}\nf-1;Martin;Sophie;Martin;sophie@exemple.fr;lea;Léa;Martin;14/03/2016;Végétarien;oui\nf-1;Martin;Sophie;Martin;sophie@exemple.fr;hugo;Hugo;Martin;02/07/2019;;\nf-2;Petit;Anne;Petit;anne@exemple.fr;noe;Noé;Petit;09/11/2018;halal;non\n"
        );
        let p = run(&csv);
        let lea = &p.children[&ChildId::parse("lea").unwrap()];
        assert_eq!((lea.diet, lea.pai), (Diet::Vegetarien, true));
        let hugo = &p.children[&ChildId::parse("hugo").unwrap()];
        assert_eq!((hugo.diet, hugo.pai), (Diet::Standard, false));
        assert_eq!(p.rejected(), 1);
        assert!(
            p.rows[2].errors.iter().any(|e| e.starts_with("regime : ") && e.contains("« halal »")),
            "{:?}",
            p.rows[2].errors
        );
        assert!(!p.children.contains_key(&ChildId::parse("noe").unwrap()));
    }

    #[test]
    fn rows_are_created_updated_or_unchanged_against_what_is_stored() {
        let csv = format!(
            "{HEADER}\nf-1;Famille A;Ana;A;ana@exemple.fr;c-1;Léo;A;01/01/2018;;;\nf-1;Famille A;Ana;A;ana@exemple.fr;c-2;Lou;A;02/02/2019;;;\nf-2;;;;;;;;;;;\n"
        );
        let p = run(&csv);
        let (rows, summary) = p.outcome(&HashMap::new(), &HashMap::new());
        assert_eq!((summary.created, summary.rejected, summary.rows), (2, 1, 3), "{rows:?}");
        let stored_families: HashMap<_, _> = p.families.clone().into_iter().collect();
        let mut stored_children: HashMap<_, _> = p.children.clone().into_iter().collect();
        let (_, again) = p.outcome(&stored_families, &stored_children);
        assert_eq!((again.unchanged, again.created, again.updated), (2, 0, 0));
        stored_children.get_mut(&ChildId::parse("c-2").unwrap()).unwrap().first_name = "Louise".into();
        let (rows, changed) = p.outcome(&stored_families, &stored_children);
        assert_eq!((changed.unchanged, changed.updated), (1, 1));
        assert_eq!(rows[1].status, RowStatus::Updated);
    }

    #[test]
    fn control_characters_in_a_cell_reject_the_row() {
        let csv = format!("{HEADER}\nf-1;Famille A;Ana;A\u{202E}gpj.exe;ana@exemple.fr;c-1;Léo\u{0};A;01/01/2018;;;\n");
        let p = run(&csv);
        assert_eq!(p.rejected(), 1);
        assert_eq!(p.rows[0].errors.len(), 2, "{:?}", p.rows[0].errors);
    }

    #[test]
    fn comma_separated_files_work_too() {
        let csv = format!("{}\nf2,Famille B,Ana,B,ana@exemple.fr,c2,Léo,B,01/01/2018,,,\n", HEADER.replace(';', ","));
        assert_eq!(run(&csv).rejected(), 0);
    }

    #[test]
    fn each_bad_row_says_why() {
        let csv = format!(
            "{HEADER}\n\
             f1;Famille A;Ana;A;pas-un-email;c1;Léo;A;01/01/2018;;;\n\
             f2;Famille B;Ana;B;ana@exemple.fr;c2;Léo;B;31/02/2018;;;\n\
             f3;Famille C;Ana;C;anac@exemple.fr;c3;Léo;C;01/01/2018;piscine@ecole;01/09/2026;03/07/2027\n\
             f4;Famille D;Ana;D;anad@exemple.fr;c4;Léo;D;01/01/2018;restauration@ecole;01/09/2027;03/07/2027\n\
             f5;Famille E;Ana;E;anae@exemple.fr;c5;Léo;E;01/01/2018;;;\n\
             f5;Famille E;Ana;E;anae@exemple.fr;c5;Léo;E;01/01/2018;;;\n\
             f6;Famille F;Ana;F;anaf@exemple.fr;c6;Léo;F;01/01/2018\n"
        );
        let p = run(&csv);
        let errs: Vec<String> = p.rows.iter().map(|r| r.errors.join(" | ")).collect();
        assert!(errs[0].contains("responsable1_email"), "{errs:?}");
        assert!(errs[1].contains("enfant_naissance"), "{errs:?}");
        assert!(errs[2].contains("piscine"), "{errs:?}");
        assert!(errs[3].contains("inscription_fin"), "{errs:?}");
        assert!(errs[4].is_empty(), "{errs:?}");
        assert!(errs[5].contains("ligne en double"), "{errs:?}");
        assert!(errs[6].contains("nombre de colonnes"), "{errs:?}");
        assert_eq!(p.families.len(), 1);
    }

    #[test]
    fn a_child_of_separated_parents_is_in_both_families() {
        let csv = format!(
            "{HEADER}\nbernard;Famille Bernard;Claire;Bernard;claire@exemple.fr;noe;Noé;Bernard-Petit;09/11/2018;;;\npetit;Famille Petit;Thomas;Petit;thomas@exemple.fr;noe;Noé;Bernard-Petit;09/11/2018;;;\n"
        );
        let p = run(&csv);
        assert_eq!(p.rejected(), 0);
        assert_eq!(p.families.len(), 2);
        assert_eq!(p.children.len(), 1);
    }

    #[test]
    fn family_rows_must_agree() {
        let csv = format!(
            "{HEADER}\nf1;Famille A;Ana;A;ana@exemple.fr;c1;Léo;A;01/01/2018;;;\nf1;Famille Autre;Ana;A;ana@exemple.fr;c2;Mia;A;01/01/2019;;;\n"
        );
        let p = run(&csv);
        assert!(p.rows[1].errors[0].contains("ligne 2"), "{:?}", p.rows[1]);
    }

    #[test]
    fn files_that_cannot_be_family_files_are_refused_whole() {
        assert!(read_csv(b"nom;prenom\nA;B\n").unwrap_err().to_string().contains("colonnes obligatoires absentes"));
        assert!(read_csv(&[0xff, 0xfe, 0x00]).unwrap_err().to_string().contains("UTF-8"));
        assert!(read_csv(format!("{HEADER};couleur\n").as_bytes()).unwrap_err().to_string().contains("couleur"));
        assert!(read_csv(format!("{HEADER}\n").as_bytes()).unwrap_err().to_string().contains("aucune ligne"));
    }
}
