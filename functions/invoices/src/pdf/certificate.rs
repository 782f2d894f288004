//! The yearly tax certificate for childcare as a PDF (« attestation fiscale pour frais de
//! garde »): the town and its régie, the certificate's number and period, the household, each
//! child under 6 with their birth date and what was paid for their care, the total in figures
//! and in words, the legal basis and the signature block. Rules in [`domain::tax`].

use super::{draw, issuer, title};
use domain::config::TownConfig;
use domain::family::Family;
use domain::tax::Certificate;
use edge::pdf::{LEFT, Layout, PdfError, RIGHT, Scope, Tag, Weight};

const NNBSP: char = '\u{202F}';

/// The certificate's PDF; `issued_on`: the day it is drawn.
pub fn certificate(
    town: &TownConfig,
    family: &Family,
    c: &Certificate,
    signatory: &str,
    issued_on: chrono::NaiveDate,
) -> Result<Vec<u8>, PdfError> {
    let mut l = Layout::new(format!("{} — attestation n° {} (suite)", town.name, c.number))?;
    let top = l.y;
    title(&mut l, "ATTESTATION FISCALE", &c.number);
    l.right(RIGHT, 9.0, Weight::Regular, &format!("Établie le {}", domain::fr::date(issued_on)));
    l.down(13.0);
    l.right(
        RIGHT,
        9.0,
        Weight::Regular,
        &format!("Période{NNBSP}: du {} au {}", domain::fr::date(c.from), domain::fr::date(c.to)),
    );
    let right_end = l.y;
    l.y = top;
    issuer(&mut l, town);
    l.y = l.y.max(right_end) + 30.0;
    l.tagged(Tag::H(2), |l| {
        l.para(
            LEFT,
            RIGHT,
            12.0,
            Weight::Bold,
            false,
            &format!("Frais de garde des enfants de moins de 6 ans — année {}", c.year),
        )
    });
    l.down(8.0);
    let payer = family.guardians.iter().map(|g| format!("{} {}", g.first_name, g.last_name)).collect::<Vec<_>>();
    let payer = if payer.is_empty() { family.name.clone() } else { payer.join(" et ") };
    let intro = format!(
        "La commune de {} atteste que {} ({}) a payé en {} pour la garde des enfants ci-dessous les sommes suivantes, repas exclus{NNBSP}:",
        town.name, payer, family.name, c.year
    );
    l.para(LEFT, RIGHT, 10.5, Weight::Regular, false, &intro);
    l.tagged(Tag::P, |l| {
        for line in &family.address {
            l.para(LEFT, RIGHT, 9.5, Weight::Regular, true, line);
        }
    });
    l.down(12.0);
    l.begin(Tag::Table);
    l.tagged(Tag::Tr, |l| {
        let th = Tag::Th(Scope::Column, 1);
        l.tagged(th, |l| l.put(LEFT, 9.0, Weight::Bold, false, "Enfant"));
        l.tagged(th, |l| l.put(300.0, 9.0, Weight::Bold, false, "Né(e) le"));
        l.tagged(th, |l| l.right(RIGHT, 9.0, Weight::Bold, "Montant payé"));
    });
    l.down(6.0);
    l.rule(LEFT, RIGHT);
    l.down(14.0);
    for k in &c.children {
        l.room(16.0);
        l.tagged(Tag::Tr, |l| {
            l.tagged(Tag::Td(1), |l| l.put(LEFT, 10.0, Weight::Regular, false, &k.name));
            l.tagged(Tag::Td(1), |l| l.put(300.0, 10.0, Weight::Regular, false, &domain::fr::date(k.birth_date)));
            l.tagged(Tag::Td(1), |l| l.right(RIGHT, 10.0, Weight::Regular, &k.amount.to_string()));
        });
        l.down(16.0);
    }
    l.rule(LEFT, RIGHT);
    l.down(16.0);
    l.tagged(Tag::Tr, |l| {
        l.tagged(Tag::Th(Scope::Row, 2), |l| l.put(LEFT, 11.0, Weight::Bold, false, "Total"));
        l.tagged(Tag::Td(1), |l| l.right(RIGHT, 11.0, Weight::Bold, &c.total.to_string()));
    });
    l.end();
    l.down(16.0);
    l.para(LEFT, RIGHT, 10.0, Weight::Regular, false, &format!("Soit{NNBSP}: {}.", c.total_words));
    l.down(14.0);
    let basis = format!(
        "Attestation délivrée pour servir au crédit d'impôt pour frais de garde des enfants de moins de 6 ans (article 200 quater B du code général des impôts){NNBSP}: sommes effectivement payées du {} au {}, hors frais de repas.",
        domain::fr::date(c.from),
        domain::fr::date(c.to)
    );
    l.para(LEFT, RIGHT, 9.0, Weight::Regular, true, &basis);
    l.down(24.0);
    l.tagged(Tag::P, |l| {
        l.para(
            320.0,
            RIGHT,
            10.0,
            Weight::Regular,
            false,
            &format!("Fait à {}, le {}", town.name, domain::fr::date(issued_on)),
        );
        l.para(320.0, RIGHT, 10.0, Weight::Bold, false, signatory);
    });
    let what = format!("attestation n° {}", c.number);
    draw(l, &format!("Attestation fiscale {} — {}", c.number, town.name), &what, town, issued_on)
}
