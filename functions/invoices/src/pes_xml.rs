//! The PES V2 XML of a file ([`domain::pes::PesFile`]), written with quick-xml and encoded in
//! ISO-8859-1: the envelope, `EnTetePES` (the town's Hélios codes), `PES_RecetteAller` with one
//! bordereau per kind (ORMC titles, reductions), and `PES_PJ` with each title's invoice PDF
//! (gzip, then base64) that its piece names in `PJRef`. Every value was checked and cut by
//! [`domain::pes`] when the file was created.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::Cents;
use domain::config::HeliosSettings;
use domain::pes::{Bordereau, Kind, Line, PesFile, Piece, text};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use std::io::{self, Write};

type W = Writer<Vec<u8>>;

/// « 25.50 »: the amount as the schema's `Base_Montant`.
pub fn amount(c: Cents) -> String {
    format!("{}.{:02}", c.get() / 100, c.get() % 100)
}

/// `<name V="value"/>`
fn v(w: &mut W, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name).with_attribute(("V", value)).write_empty()?;
    Ok(())
}

fn date(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The file's XML in ISO-8859-1; `pdfs`: each title's attachment name and PDF.
pub fn write(file: &PesFile, h: &HeliosSettings, town: &str, pdfs: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 1);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("ISO-8859-1"), None))).map_err(|e| e.to_string())?;
    w.create_element("n:PES_Aller")
        .with_attribute(("xmlns:n", "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller"))
        .with_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"))
        .write_inner_content(|w| {
            envelope(w, file, town)?;
            w.create_element("EnTetePES").write_inner_content(|w| {
                v(w, "DteStr", &date(file.created_on))?;
                v(w, "IdPost", &h.id_post)?;
                v(w, "IdColl", &h.id_coll)?;
                v(w, "CodCol", &h.cod_col)?;
                v(w, "CodBud", &h.cod_bud)
            })?;
            w.create_element("PES_RecetteAller").write_inner_content(|w| {
                w.create_element("EnTeteRecette").write_inner_content(|w| {
                    v(w, "IdVer", "2")?;
                    v(w, "InfoDematerialisee", "0")
                })?;
                for b in &file.bordereaux {
                    bordereau(w, file, b, town)?;
                }
                Ok(())
            })?;
            attachments(w, pdfs)
        })
        .map_err(|e| e.to_string())?;
    let utf8 = String::from_utf8(w.into_inner()).map_err(|e| e.to_string())?;
    Ok(text::to_bytes(&utf8))
}

fn envelope(w: &mut W, file: &PesFile, town: &str) -> io::Result<()> {
    w.create_element("Enveloppe").write_inner_content(|w| {
        w.create_element("Parametres").write_inner_content(|w| {
            v(w, "Version", "2")?;
            v(w, "TypFic", "PESORMC")?;
            v(w, "NomFic", &format!("{}.xml", file.id))
        })?;
        w.create_element("Emetteur").write_inner_content(|w| {
            v(w, "Sigle", &text::fit(town, 38))?;
            v(w, "Adresse", "Espace Famille")
        })?;
        Ok(())
    })?;
    Ok(())
}

fn bordereau(w: &mut W, file: &PesFile, b: &Bordereau, town: &str) -> io::Result<()> {
    let object = match b.kind {
        Kind::Ormc => format!("Factures {} {town}", file.month.french()),
        Kind::Reduction => format!("Réductions de titres {town}"),
    };
    w.create_element("Bordereau").write_inner_content(|w| {
        w.create_element("BlocBordereau").write_inner_content(|w| {
            v(w, "Exer", &file.exer.to_string())?;
            v(w, "IdBord", &b.id.to_string())?;
            v(w, "DteBordEm", &date(file.created_on))?;
            v(w, "TypBord", b.kind.typ_bord())?;
            v(w, "NbrPce", &b.pieces.len().to_string())?;
            v(w, "MtBordHt", &amount(b.total()))?;
            v(w, "DteAsp", &date(file.created_on))?;
            v(w, "Objet", &text::fit(&object, 160))
        })?;
        for p in &b.pieces {
            piece(w, b.kind, p)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn piece(w: &mut W, kind: Kind, p: &Piece) -> io::Result<()> {
    w.create_element("Piece").write_inner_content(|w| {
        w.create_element("BlocPiece").write_inner_content(|w| {
            v(w, "IdPce", &p.id.to_string())?;
            v(w, "TypPce", kind.typ_pce())?;
            v(w, "NatPce", kind.nat_pce())?;
            v(w, "ObjPce", &p.object)?;
            if kind == Kind::Ormc {
                w.create_element("PJRef").write_inner_content(|w| {
                    v(w, "Support", "01")?;
                    v(w, "IdUnique", stem(&p.attachment))?;
                    v(w, "NomPJ", &p.attachment)
                })?;
            }
            if let Some(t) = &p.reduces {
                w.create_element("RattachPiece").write_inner_content(|w| {
                    v(w, "NatPceOrig", "01")?;
                    v(w, "ExerRat", &t.exer.to_string())?;
                    v(w, "IdPceOrig", &t.piece.to_string())?;
                    v(w, "IdBordOrig", &t.bordereau.to_string())
                })?;
            }
            v(w, "NumDette", &p.num_dette)?;
            v(w, "Per", &p.per.to_string())?;
            v(w, "Cle1", &p.cle1.to_string())?;
            v(w, "Cle2", &p.cle2.to_string())?;
            v(w, "NumeroFacture", &p.invoice)
        })?;
        for (n, l) in p.lines.iter().enumerate() {
            line(w, p, n + 1, l)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn line(w: &mut W, p: &Piece, n: usize, l: &Line) -> io::Result<()> {
    w.create_element("LigneDePiece").write_inner_content(|w| {
        w.create_element("BlocLignePiece").write_inner_content(|w| {
            w.create_element("InfoLignePiece").write_inner_content(|w| {
                v(w, "IdLigne", &n.to_string())?;
                v(w, "ObjLignePce", &l.object)?;
                v(w, "CodProdLoc", &l.product)?;
                v(w, "Nature", "588")?;
                v(w, "Majo", "0")?;
                v(w, "TvaIntraCom", "0")?;
                v(w, "MtHT", &amount(l.amount))
            })?;
            if let Some(s) = &p.sepa {
                w.create_element("InfoPrelevementSEPA").write_inner_content(|w| {
                    v(w, "NatPrel", "01")?;
                    v(w, "PerPrel", "07")?;
                    v(w, "DtePrel", &date(s.on))?;
                    v(w, "MtPrel", &amount(l.amount))?;
                    v(w, "SequencePres", &s.sequence)?;
                    v(w, "DateSignMandat", &date(s.signed_on))?;
                    v(w, "RefUniMdt", &s.rum)?;
                    v(w, "LibPrel", &s.label)
                })?;
            }
            Ok(())
        })?;
        tiers(w, p)
    })?;
    Ok(())
}

fn tiers(w: &mut W, p: &Piece) -> io::Result<()> {
    let d = &p.debtor;
    w.create_element("Tiers").write_inner_content(|w| {
        w.create_element("InfoTiers").write_inner_content(|w| {
            v(w, "CatTiers", "01")?;
            v(w, "NatJur", "01")?;
            v(w, "TypTiers", "01")?;
            v(w, "Nom", &d.name)?;
            if !d.first_name.is_empty() {
                v(w, "Prenom", &d.first_name)?;
            }
            Ok(())
        })?;
        w.create_element("Adresse").write_inner_content(|w| {
            v(w, "TypAdr", "1")?;
            v(w, "Adr2", &d.street)?;
            v(w, "CP", &d.postcode)?;
            v(w, "Ville", &d.city)?;
            v(w, "CodRes", "0")
        })?;
        if let Some(s) = &p.sepa {
            w.create_element("CpteBancaire").write_inner_content(|w| {
                if let Some(bic) = &s.bic {
                    v(w, "BIC", bic)?;
                }
                v(w, "IBAN", &s.iban)?;
                v(w, "TitCpte", &s.holder)
            })?;
        }
        Ok(())
    })?;
    Ok(())
}

fn stem(name: &str) -> &str {
    name.strip_suffix(".pdf").unwrap_or(name)
}

fn attachments(w: &mut W, pdfs: &[(String, Vec<u8>)]) -> io::Result<()> {
    if pdfs.is_empty() {
        return Ok(());
    }
    w.create_element("PES_PJ").write_inner_content(|w| {
        w.create_element("EnTetePES_PJ").write_inner_content(|w| v(w, "IdVer", "1"))?;
        for (name, pdf) in pdfs {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(pdf)?;
            let content = STANDARD.encode(gz.finish()?);
            w.create_element("PJ").write_inner_content(|w| {
                w.create_element("Contenu").write_inner_content(|w| {
                    w.create_element("Fichier")
                        .with_attribute(("MIMEType", "application/pdf"))
                        .write_text_content(BytesText::new(&content))?;
                    Ok(())
                })?;
                v(w, "IdUnique", stem(name))?;
                v(w, "NomPJ", name)?;
                v(w, "TypePJ", "006")
            })?;
        }
        Ok(())
    })?;
    Ok(())
}
