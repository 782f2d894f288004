//! The school year: its value (`2027-2028`, 1 September to 31 August), a child's class level and
//! how it moves on (PS → MS → GS → CP → CE1 → CE2 → CM1 → CM2, then the child leaves the school
//! units), the yearly enrolment campaign (what the town offers and requires, each family's
//! answer, each child's status), what a child's file lacks for a year ([`file_gaps`], the one
//! place that asks it), whether a booking of the new year is open to a child
//! ([`booking_gate`]), and the rollover's plan ([`rollover`]).

mod campaign;
mod enrolment;
mod file;
mod level;
pub mod request;
pub mod rollover;
mod year;

pub use campaign::{Campaign, CampaignInput, CampaignRefused, Offer, Requirement};
pub use enrolment::{
    ChildAnswer, DocFact, EnrolmentInput, EnrolmentRefused, FamilyEnrolment, Gap, Review, RulesAccepted, Status,
    booking_gate, file_gaps, status, with_holds,
};
pub use file::child_file_gaps;
pub use level::{ChildLevel, Level, UnknownLevel};
pub use request::{AccountRequest, PROOF_KEPT_DAYS, Proof, ProofInput, RequestInput, RequestRefused, RequestStatus};
pub use year::{InvalidSchoolYear, SchoolYear};
