//! What the campaign asks of each child's file (« fiche enfant »): the parts it requires, from
//! the file as the family last saved it, and staff's review of it.

use super::{Campaign, Gap};
use crate::child_file::{ChildFile, FileRecord, Status, missing};

/// The gaps of a child's file for `campaign`'s year: each required part it lacks on the year's
/// first day (a guardian's to fill), and, when it waits for staff, « fiche enfant à vérifier »
/// (pending: nothing for the guardian to do). A child without a file lacks every required part.
pub fn child_file_gaps(campaign: &Campaign, record: Option<&FileRecord>) -> Vec<Gap> {
    let empty = ChildFile::default();
    let file = record.map_or(&empty, |r| &r.file);
    let mut gaps: Vec<Gap> = missing(file, &campaign.input.file, campaign.year.first_day())
        .into_iter()
        .map(|part| Gap { label: part.label(), pending: false })
        .collect();
    match record.map(|r| &r.status) {
        Some(Status::ToCheck) => gaps.push(Gap { label: "fiche enfant à vérifier".into(), pending: true }),
        Some(Status::CorrectionAsked { reason }) => {
            gaps.push(Gap { label: format!("fiche enfant à corriger ({reason})"), pending: false });
        }
        Some(Status::Validated) | None => {}
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child_file::Requirements;
    use crate::school_year::campaign::tests::{input, y2027};
    use crate::testkit::d;

    fn campaign(file: Requirements) -> Campaign {
        Campaign { year: y2027(), input: super::super::CampaignInput { file, ..input() } }
    }

    fn record(file: ChildFile, status: Status) -> FileRecord {
        let at = d(2027, 6, 1).and_hms_opt(9, 0, 0).unwrap().and_utc();
        FileRecord {
            child: crate::ChildId::parse("lea-martin").unwrap(),
            version: 1,
            file,
            updated_at: at,
            updated_by: "sophie.martin@exemple.fr".into(),
            status,
            reviewed: None,
            validated: None,
        }
    }

    #[test]
    fn a_campaign_requiring_nothing_of_the_file_finds_no_gap_even_without_a_file() {
        assert_eq!(child_file_gaps(&campaign(Requirements::default()), None), vec![]);
    }

    #[test]
    fn a_missing_file_lacks_every_required_part_for_the_guardian_to_fill() {
        let req = Requirements { insurance: true, people: true, ..Requirements::default() };
        let gaps = child_file_gaps(&campaign(req), None);
        let labels: Vec<&str> = gaps.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["contact d’urgence manquant", "assurance manquante"]);
        assert!(gaps.iter().all(|g| !g.pending));
    }

    #[test]
    fn a_file_waiting_for_staff_is_pending_and_a_correction_asked_is_the_guardians() {
        let c = campaign(Requirements::default());
        let to_check = child_file_gaps(&c, Some(&record(ChildFile::default(), Status::ToCheck)));
        assert_eq!(to_check, vec![Gap { label: "fiche enfant à vérifier".into(), pending: true }]);
        let asked = Status::CorrectionAsked { reason: "médecin illisible".into() };
        let corr = child_file_gaps(&c, Some(&record(ChildFile::default(), asked)));
        assert_eq!(corr, vec![Gap { label: "fiche enfant à corriger (médecin illisible)".into(), pending: false }]);
        assert_eq!(child_file_gaps(&c, Some(&record(ChildFile::default(), Status::Validated))), vec![]);
    }
}
