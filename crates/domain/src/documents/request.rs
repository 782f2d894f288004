//! What a guardian's request to send a document says, checked against its kind: the child it
//! is about, the absence it justifies, and the family's cap.

use super::{Absence, AbsenceRefused, Concerns, DocumentKind};

/// The most documents a family keeps, every status (older ones go by the retention rules).
pub const MAX_PER_FAMILY: usize = 200;

/// Whether a family holding `existing` documents may send one more.
pub fn room_for_another(existing: usize) -> bool {
    existing < MAX_PER_FAMILY
}

/// Why a request to send a document is refused: what it says about the child or the absence
/// does not fit its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefused {
    #[error("Indiquez l'enfant que ce document concerne.")]
    ChildRequired,
    #[error("Cet enfant ne fait pas partie de la famille.")]
    UnknownChild,
    #[error("Ce document concerne toute la famille, pas un enfant.")]
    ChildNotExpected,
    #[error("Indiquez les dates d'absence que le certificat couvre.")]
    AbsenceRequired,
    #[error("{0}")]
    InvalidAbsence(AbsenceRefused),
    #[error("Ce type de document ne justifie pas une absence.")]
    AbsenceNotExpected,
}

impl RequestRefused {
    pub fn code(self) -> &'static str {
        match self {
            RequestRefused::ChildRequired => "child_required",
            RequestRefused::UnknownChild => "unknown_child",
            RequestRefused::ChildNotExpected => "child_not_expected",
            RequestRefused::AbsenceRequired => "absence_required",
            RequestRefused::InvalidAbsence(_) => "invalid_absence",
            RequestRefused::AbsenceNotExpected => "absence_not_expected",
        }
    }

    /// The request's field at fault.
    pub fn field(self) -> &'static str {
        match self {
            RequestRefused::ChildRequired | RequestRefused::UnknownChild | RequestRefused::ChildNotExpected => "child",
            _ => "absence",
        }
    }
}

impl crate::Refusal for RequestRefused {
    fn code(&self) -> &'static str {
        RequestRefused::code(*self)
    }
    fn field(&self) -> Option<String> {
        Some(RequestRefused::field(*self).to_owned())
    }
}

/// What a document of `kind` is about, from what the guardian gave: a child of the family
/// (`children`) when the kind concerns a child and none otherwise, the absence's dates when it
/// justifies one and none otherwise.
pub fn request(
    kind: &DocumentKind,
    children: &[crate::ChildId],
    child: Option<&str>,
    absence: Option<Absence>,
) -> Result<(Option<crate::ChildId>, Option<Absence>), RequestRefused> {
    let child = match (kind.concerns, child) {
        (Concerns::Child, None) => return Err(RequestRefused::ChildRequired),
        (Concerns::Child, Some(raw)) => {
            let c = crate::ChildId::parse(raw).ok().filter(|c| children.contains(c));
            Some(c.ok_or(RequestRefused::UnknownChild)?)
        }
        (Concerns::Family, Some(_)) => return Err(RequestRefused::ChildNotExpected),
        (Concerns::Family, None) => None,
    };
    let absence = match (kind.justifies_absence, absence) {
        (true, None) => return Err(RequestRefused::AbsenceRequired),
        (true, Some(a)) => {
            a.check().map_err(RequestRefused::InvalidAbsence)?;
            Some(a)
        }
        (false, Some(_)) => return Err(RequestRefused::AbsenceNotExpected),
        (false, None) => None,
    };
    Ok((child, absence))
}
