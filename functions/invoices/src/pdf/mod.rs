//! The invoice as a PDF, drawn with krilla (the PDF library under Typst) and two embedded DejaVu
//! Sans subsets (Latin-1, €, the narrow no-break space: `crates/edge/fonts/`, the layout in
//! `edge::pdf`). krilla subsets them again to
//! the glyphs used and writes their Unicode map, so the text can be searched and extracted.
//! A4, one column that reads on a phone: the town and its « régie », the invoice's number and
//! dates, the payer, the lines per child with the rule that priced them, the total and due
//! date, how to pay, and the legal mentions of a French local-authority bill.
//!
//! The page is laid out first as a list of drawing operations per page (so each page's footer
//! can say « page 1/2 ») with its structure (headings, paragraphs, the table of lines with its
//! header cells), then drawn as a tagged PDF/A-2a and PDF/UA-1 (docs/pdf.md).

mod certificate;

pub use certificate::certificate;
pub use edge::pdf::PdfError;

use chrono::Datelike;
use domain::billing::{Invoice, Line};
use domain::config::TownConfig;
use domain::family::Family;
use domain::payment::{self, Payment, PaymentView};
use edge::pdf::{About, LEFT, Layout, RIGHT, Scope, Tag, Weight};

/// The right edges of the quantity, unit price and amount columns.
const QTY: f32 = 392.0;
const UNIT_PRICE: f32 = 462.0;

fn draw(
    l: Layout,
    title: &str,
    what: &str,
    town: &TownConfig,
    created: chrono::NaiveDate,
) -> Result<Vec<u8>, PdfError> {
    edge::pdf::draw(l, &About { title, what, town: &town.name, author: &town.billing.regie, created })
}

/// Everything the PDF of an invoice prints.
pub struct Sheet<'a> {
    pub town: &'a TownConfig,
    pub family: &'a Family,
    pub invoice: &'a Invoice,
    /// The credit notes on this invoice, with where their money went.
    pub credit_notes: &'a [crate::views::CreditNoteView],
    /// The payments on it, as the family reads them (a direct debit « à prélever » until its day).
    pub payments: &'a [PaymentView],
    /// The due date line: « À payer avant le … », or the direct debit's « Prélèvement prévu le … ».
    pub due: &'a str,
}

/// The invoice's PDF. When the last page would hold only the end of the legal mentions, the
/// invoice is laid out again with tighter gaps between its blocks, and kept so if that saves
/// the page (the December invoice of issue 31 §9 spilled five lines onto a second page).
pub fn invoice(sheet: &Sheet) -> Result<Vec<u8>, PdfError> {
    let lay_out = |spacing: f32| -> Result<Layout, PdfError> {
        let mut l = Layout::new(format!("{} — facture n° {} (suite)", sheet.town.name, sheet.invoice.number))?;
        l.spacing = spacing;
        header(&mut l, sheet);
        lines(&mut l, sheet);
        totals(&mut l, sheet);
        mentions(&mut l, sheet);
        Ok(l)
    };
    let mut l = lay_out(1.0)?;
    if l.pages() > 1 {
        let tight = lay_out(TIGHT)?;
        if tight.pages() < l.pages() {
            l = tight;
        }
    }
    let what = format!("facture n° {}", sheet.invoice.number);
    let title = format!("Facture {} — {}", sheet.invoice.number, sheet.town.name);
    draw(l, &title, &what, sheet.town, sheet.invoice.issued_on)
}

/// The gaps between blocks, as a share of the usual ones, when that saves a page.
const TIGHT: f32 = 0.4;

/// A payment's receipt (« quittance »): who paid what, when and how, for which invoice, and
/// what is left to pay on it.
pub fn receipt(town: &TownConfig, family: &Family, invoice: &Invoice, p: &Payment) -> Result<Vec<u8>, PdfError> {
    let mut l = Layout::new(format!("{} — quittance n° {} (suite)", town.name, p.number))?;
    let b = &town.billing;
    let top = l.y;
    title(&mut l, "QUITTANCE", &p.number);
    l.right(RIGHT, 9.0, Weight::Regular, &format!("Émise le {}", domain::fr::date(p.recorded_at.date_naive())));
    let right_end = l.y;
    l.y = top;
    issuer(&mut l, town);
    l.y = right_end.max(l.y) + 30.0;
    let period = invoice.month.french();
    let payer = family.guardians.first().map(|g| format!("{} {} ({})", g.first_name, g.last_name, family.name));
    let texts = [
        format!(
            "La régie reconnaît avoir reçu de {} la somme de {} le {}.",
            payer.unwrap_or_else(|| family.name.clone()),
            p.amount,
            domain::fr::date(p.received_on)
        ),
        format!("Mode de paiement : {}.", p.method.french()),
        format!("Pour la facture n° {} ({period}) de {}.", invoice.number, invoice.total),
    ];
    for t in texts.iter().chain(p.details.iter()) {
        l.para(LEFT, RIGHT, 11.0, Weight::Regular, false, t);
        l.down(6.0);
    }
    l.down(10.0);
    let left = payment::left_to_pay(invoice);
    let status = if left == domain::Cents::ZERO {
        "Cette facture est soldée.".to_owned()
    } else {
        format!("Reste à payer sur cette facture : {left}.")
    };
    l.para(LEFT, RIGHT, 11.0, Weight::Bold, false, &status);
    l.down(24.0);
    l.para(LEFT, RIGHT, 8.0, Weight::Regular, true, &format!("Pour la régie : {}", b.regie));
    let what = format!("quittance n° {}", p.number);
    draw(l, &format!("Quittance {} — {}", p.number, town.name), &what, town, p.recorded_at.date_naive())
}

fn header(l: &mut Layout, s: &Sheet) {
    let i = s.invoice;
    let top = l.y;
    title(l, "FACTURE", &i.number);
    let period = i.month.french();
    let titre = i.titre.as_ref().map(domain::pes::titre_label);
    for text in [
        format!("Émise le {}", domain::fr::date(i.issued_on)),
        format!("Période : {period}"),
        s.due.to_owned(),
        format!("{} – référence {}", s.family.name, i.family),
    ]
    .into_iter()
    .chain(titre)
    {
        l.right(RIGHT, 9.0, Weight::Regular, &text);
        l.down(13.0);
    }
    let right_end = l.y;
    l.y = top;
    issuer(l, s.town);
    l.y = l.y.max(right_end);
    l.gap(18.0);
    // The payer, where a window envelope shows it.
    l.tagged(Tag::P, |l| {
        l.put(320.0, 8.0, Weight::Regular, true, "Facturé à");
        l.down(13.0);
        l.para(320.0, RIGHT, 10.5, Weight::Bold, false, &s.family.name);
        let guardian = s.family.guardians.first().map(|g| format!("{} {}", g.first_name, g.last_name));
        if let Some(g) = guardian {
            l.para(320.0, RIGHT, 9.5, Weight::Regular, false, &g);
        }
        for line in &s.family.address {
            l.para(320.0, RIGHT, 9.5, Weight::Regular, false, line);
        }
    });
    l.gap(22.0);
    if let Some(c) = &i.cancelled {
        l.para(
            LEFT,
            RIGHT,
            11.0,
            Weight::Bold,
            false,
            &format!(
                "Facture annulée le {} : {} (avoir {}).",
                domain::fr::date(c.at.date_naive()),
                c.reason,
                c.credit_note
            ),
        );
        l.down(6.0);
    }
    l.tagged(Tag::H(2), |l| l.put(LEFT, 11.0, Weight::Bold, false, &format!("Services de {period}")));
    l.down(8.0);
    l.rule(LEFT, RIGHT);
    l.down(14.0);
    // The table of lines, closed after the subtotals ([`lines`]).
    l.begin(Tag::Table);
    l.tagged(Tag::Tr, |l| {
        let th = Tag::Th(Scope::Column, 1);
        l.tagged(th, |l| l.put(LEFT, 8.0, Weight::Regular, true, "Prestation, tarif appliqué et dates"));
        l.tagged(th, |l| l.right(QTY, 8.0, Weight::Regular, "Qté"));
        l.tagged(th, |l| l.right(UNIT_PRICE, 8.0, Weight::Regular, "Prix unit."));
        l.tagged(th, |l| l.right(RIGHT, 8.0, Weight::Regular, "Montant"));
    });
    l.down(16.0);
}

fn lines(l: &mut Layout, s: &Sheet) {
    let mut children: Vec<(&str, Vec<&Line>)> = Vec::new();
    for line in &s.invoice.lines {
        let name = if line.child_name.is_empty() { line.child.as_str() } else { line.child_name.as_str() };
        match children.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(line),
            None => children.push((name, vec![line])),
        }
    }
    // A child with aids but no line of its own (never: an aid is earned on a billed day) would be
    // left out; its aids follow its lines.
    for (name, lines) in children {
        l.room(60.0);
        // The child's name heads their lines: a header cell across the row.
        l.tagged(Tag::Tr, |l| l.tagged(Tag::Th(Scope::Row, 4), |l| l.put(LEFT, 10.5, Weight::Bold, false, name)));
        l.down(15.0);
        let child = lines.first().map(|x| &x.child);
        let aids: Vec<_> = s.invoice.aids.iter().filter(|a| Some(&a.child) == child).collect();
        let mut subtotal = domain::Cents::ZERO;
        for line in lines {
            subtotal += line.amount;
            l.room(40.0);
            l.tagged(Tag::Tr, |l| {
                l.tagged(Tag::Td(1), |l| l.put(LEFT + 10.0, 9.5, Weight::Bold, false, &line.unit_name));
                l.tagged(Tag::Td(1), |l| l.right(QTY, 9.5, Weight::Regular, &line.quantity.to_string()));
                l.tagged(Tag::Td(1), |l| l.right(UNIT_PRICE, 9.5, Weight::Regular, &line.unit_price.to_string()));
                l.tagged(Tag::Td(1), |l| l.right(RIGHT, 9.5, Weight::Bold, &line.amount.to_string()));
                l.down(12.5);
                // The rule and the dates, under the unit's name, in its cell.
                l.into_cell(0, |l| {
                    l.para(LEFT + 10.0, QTY - 50.0, 8.5, Weight::Regular, false, &line.rule);
                    l.para(
                        LEFT + 10.0,
                        QTY - 50.0,
                        8.5,
                        Weight::Regular,
                        true,
                        &format!("Dates : {}", line.dates_text),
                    );
                });
            });
            l.gap(5.0);
        }
        for aid in aids {
            subtotal = subtotal.minus(aid.amount);
            l.room(40.0);
            l.put(LEFT + 10.0, 9.5, Weight::Bold, false, &aid.unit_name);
            l.right(QTY, 9.5, Weight::Regular, &aid.quantity.to_string());
            l.right(UNIT_PRICE, 9.5, Weight::Regular, &format!("−{}", aid.per_day));
            l.right(RIGHT, 9.5, Weight::Bold, &format!("−{}", aid.amount));
            l.down(12.5);
            l.para(LEFT + 10.0, QTY - 50.0, 8.5, Weight::Regular, false, &aid.label);
            l.para(LEFT + 10.0, QTY - 50.0, 8.5, Weight::Regular, true, &format!("Dates : {}", aid.dates_text));
            l.gap(5.0);
        }
        l.room(20.0);
        l.tagged(Tag::Tr, |l| {
            l.tagged(Tag::Td(4), |l| l.right(RIGHT, 9.5, Weight::Regular, &format!("Sous-total {name} : {subtotal}")));
        });
        l.down(8.0);
        l.rule(LEFT, RIGHT);
        l.gap(16.0);
    }
    l.end();
}

fn totals(l: &mut Layout, s: &Sheet) {
    let i = s.invoice;
    l.room(80.0);
    l.right(RIGHT, 13.0, Weight::Bold, &format!("Total : {}", i.total));
    l.down(18.0);
    for d in &i.deductions {
        l.room(30.0);
        // The amount on the label's first line, the label wrapped at its left.
        l.right(RIGHT, 9.5, Weight::Regular, &format!("−{}", d.amount));
        l.para(LEFT, RIGHT - 80.0, 9.5, Weight::Regular, false, &d.label);
        l.down(4.0);
    }
    for view in s.credit_notes {
        let note = &view.note;
        l.right(
            RIGHT,
            9.5,
            Weight::Regular,
            &format!("Avoir {} du {} : −{}", note.number, domain::fr::date(note.issued_on), note.total),
        );
        l.down(12.0);
        l.right(RIGHT, 8.5, Weight::Regular, &view.destination);
        l.down(13.0);
    }
    for p in s.payments {
        l.right(RIGHT, 9.5, Weight::Regular, &format!("{}, quittance {}", p.label, p.payment.number));
        l.down(13.0);
    }
    if i.credited > domain::Cents::ZERO || i.paid > domain::Cents::ZERO || !i.deductions.is_empty() {
        l.right(RIGHT, 11.0, Weight::Bold, &format!("Reste à payer : {}", payment::left_to_pay(i)));
        l.down(16.0);
    }
    l.right(RIGHT, 10.0, Weight::Regular, s.due);
    l.gap(28.0);
}

fn mentions(l: &mut Layout, s: &Sheet) {
    let b = &s.town.billing;
    let i = s.invoice;
    l.room(60.0);
    l.tagged(Tag::H(2), |l| l.put(LEFT, 10.5, Weight::Bold, false, "Comment payer"));
    l.down(15.0);
    for p in &b.how_to_pay {
        l.para(LEFT, RIGHT, 9.0, Weight::Regular, false, p);
        l.gap(3.0);
    }
    l.para(
        LEFT,
        RIGHT,
        9.0,
        Weight::Regular,
        false,
        &format!("Rappelez le numéro de facture {} avec votre paiement.", i.number),
    );
    let contact: Vec<&str> = [&b.phone, &b.email, &b.hours].into_iter().flatten().map(String::as_str).collect();
    if !contact.is_empty() {
        l.para(
            LEFT,
            RIGHT,
            9.0,
            Weight::Regular,
            false,
            &format!("Une question : {} — {}.", b.regie, contact.join(" — ")),
        );
    }
    l.gap(14.0);
    l.room(40.0);
    l.tagged(Tag::H(2), |l| l.put(LEFT, 8.5, Weight::Bold, false, "Mentions légales"));
    l.down(12.0);
    let year = i.issued_on.year();
    let texts = [
        format!(
            "Facture émise par {}, pour la commune de {} ; encaissée par la {} pour le compte du comptable public. Numéro {} de la série {year}, continue et sans doublon.",
            b.issuer, s.town.name, b.regie, i.number
        ),
        format!(
            "Voies et délais de recours : vous pouvez contester la somme due dans un délai de deux mois suivant la réception de cette facture en saisissant le {} (article L. 1617-5 du code général des collectivités territoriales). Une réclamation auprès de la régie ou depuis l'Espace Famille (« Contester une ligne ») ne suspend pas ce délai.",
            b.court
        ),
        format!(
            "Données personnelles : la commune de {} traite les données de cette facture pour facturer les services périscolaires et de restauration (mission de service public et obligation légale). Elles sont conservées dix ans, comme toute pièce comptable. Vous pouvez y accéder et les faire rectifier auprès de la mairie{}.",
            s.town.name,
            b.email.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
        ),
    ];
    for t in texts {
        l.para(LEFT, RIGHT, 7.5, Weight::Regular, true, &t);
        l.gap(3.0);
    }
}

/// The town, its régie and how to reach it, top left, from the current line (one paragraph
/// after the title in reading order, though drawn beside it).
fn issuer(l: &mut Layout, town: &TownConfig) {
    let b = &town.billing;
    l.tagged(Tag::P, |l| {
        l.put(LEFT, 15.0, Weight::Bold, false, &format!("Commune de {}", town.name));
        l.down(18.0);
        l.para(LEFT, 300.0, 9.5, Weight::Regular, false, &b.regie);
        for line in &b.address {
            l.para(LEFT, 300.0, 9.0, Weight::Regular, true, line);
        }
        for contact in [&b.phone, &b.email].into_iter().flatten() {
            l.para(LEFT, 300.0, 9.0, Weight::Regular, true, contact);
        }
    });
}

/// « FACTURE », « QUITTANCE » and its number, top right: the document's heading.
fn title(l: &mut Layout, what: &str, number: &str) {
    l.tagged(Tag::H(1), |l| {
        l.right(RIGHT, 18.0, Weight::Bold, what);
        l.down(20.0);
        l.right(RIGHT, 10.0, Weight::Bold, &format!("N° {number}"));
    });
    l.down(14.0);
}
