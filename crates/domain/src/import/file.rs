//! The family file as a file: its columns, reading a CSV (UTF-8, `;` or `,`), and why a whole
//! file is refused.

use std::collections::{BTreeMap, BTreeSet};

/// The columns, in the order of the template file; only the first ones are required.
pub const COLUMNS: [&str; 24] = [
    "famille_reference",
    "famille_nom",
    "responsable1_prenom",
    "responsable1_nom",
    "responsable1_email",
    "enfant_id",
    "enfant_prenom",
    "enfant_nom",
    "enfant_naissance",
    "quotient_familial",
    "residente",
    "responsable1_telephone",
    "responsable2_prenom",
    "responsable2_nom",
    "responsable2_email",
    "responsable2_telephone",
    "ecole",
    "classe",
    "sante_regime",
    "regime",
    "pai",
    "inscriptions",
    "inscription_debut",
    "inscription_fin",
];
const REQUIRED: usize = 9;

/// The most rows one file may have.
pub const MAX_ROWS: usize = 20_000;

/// One input row: its row number in the spreadsheet (1 is the header) and its cells by column name.
pub type Row = (usize, BTreeMap<String, String>);

/// Reads a CSV file into rows. A file that cannot be a family file at all (not UTF-8, no
/// header, required columns missing, unknown columns) is refused whole, with the reason.
pub fn read_csv(bytes: &[u8]) -> Result<Vec<Row>, FileRefused> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| FileRefused::NotUtf8(e.valid_up_to()))?;
    let header_line = text.lines().next().unwrap_or_default();
    let delimiter = if header_line.matches(';').count() >= header_line.matches(',').count() { b';' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| FileRefused::Header(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    check_columns(&headers)?;
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| FileRefused::Csv(e.to_string()))?;
        // The spreadsheet's row number, as staff see it: the header is row 1.
        let line = index + 2;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut cells: BTreeMap<String, String> =
            headers.iter().cloned().zip(record.iter().map(|c| c.trim().to_owned())).collect();
        if record.len() != headers.len() {
            cells.insert("#columns".into(), format!("{} colonnes au lieu de {}", record.len(), headers.len()));
        }
        rows.push((line, cells));
    }
    if rows.is_empty() {
        return Err(FileRefused::Empty);
    }
    Ok(rows)
}

/// Why a whole file is refused (a row's errors are in its report instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRefused {
    #[error(
        "le fichier n'est pas encodé en UTF-8 (octet invalide à la position {0}) : enregistrez-le en « CSV UTF-8 »"
    )]
    NotUtf8(usize),
    #[error("en-tête illisible : {0}")]
    Header(String),
    #[error("fichier CSV illisible : {0}")]
    Csv(String),
    /// A JSON file that does not have the shape of rows: where and why.
    #[error("{0}")]
    Json(String),
    #[error("le fichier ne contient aucune ligne de famille")]
    Empty,
    #[error("{0} lignes : {MAX_ROWS} au plus par fichier")]
    TooManyRows(usize),
    #[error("colonnes obligatoires absentes : {}", .0.join(", "))]
    Missing(Vec<String>),
    #[error("colonnes inconnues : {} (colonnes possibles : {})", .0.join(", "), COLUMNS.join(", "))]
    Unknown(Vec<String>),
    #[error("la colonne « {0} » apparaît deux fois")]
    Twice(String),
}

impl crate::Refusal for FileRefused {
    fn code(&self) -> &'static str {
        "invalid_file"
    }
    fn french(&self) -> String {
        "Le fichier des familles ne peut pas être importé.".into()
    }
    fn detail(&self) -> Option<String> {
        Some(self.to_string())
    }
}

/// Checks a header: every required column, no unknown or repeated one.
pub fn check_columns(headers: &[String]) -> Result<(), FileRefused> {
    let missing: Vec<String> =
        COLUMNS[..REQUIRED].iter().filter(|c| !headers.iter().any(|h| h == *c)).map(|c| (*c).to_owned()).collect();
    if !missing.is_empty() {
        return Err(FileRefused::Missing(missing));
    }
    let unknown: Vec<String> = headers.iter().filter(|h| !COLUMNS.contains(&h.as_str())).cloned().collect();
    if !unknown.is_empty() {
        return Err(FileRefused::Unknown(unknown));
    }
    let mut seen = BTreeSet::new();
    if let Some(dup) = headers.iter().find(|h| !seen.insert(h.as_str())) {
        return Err(FileRefused::Twice(dup.clone()));
    }
    Ok(())
}
