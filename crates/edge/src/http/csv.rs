//! The one CSV writer every export uses: what French spreadsheets open as is (UTF-8 with a
//! byte-order mark, `;` between cells), with each cell that a spreadsheet would read as a
//! formula neutralised, as OWASP recommends against CSV injection.

use super::Problem;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A CSV export being written.
pub struct Export {
    writer: csv::Writer<Vec<u8>>,
}

impl Export {
    /// A new export with its header row.
    pub fn new(header: &[&str]) -> Result<Export, Problem> {
        let mut e = Export { writer: csv::WriterBuilder::new().delimiter(b';').from_writer(vec![0xEF, 0xBB, 0xBF]) };
        // Headers are French words a person reads: typeset like every other text.
        let header: Vec<String> = header.iter().map(|h| domain::fr::typeset(h)).collect();
        e.row(&header)?;
        Ok(e)
    }

    /// One row; each cell is neutralised (see [`cell`]).
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<(), Problem> {
        self.writer.write_record(cells.iter().map(|c| cell(c.as_ref()).into_owned())).map_err(|e| Problem::internal(&e))
    }

    /// The file's bytes (a file inside an archive).
    pub fn into_bytes(self) -> Result<Vec<u8>, Problem> {
        self.writer.into_inner().map_err(|e| Problem::internal(&e.to_string()))
    }

    /// The file as a download named `file_name`.
    pub fn into_response(self, file_name: &str) -> Result<Response, Problem> {
        let bytes = self.writer.into_inner().map_err(|e| Problem::internal(&e.to_string()))?;
        let mut res = (StatusCode::OK, bytes).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
            res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        Ok(res)
    }
}

/// A cell a spreadsheet shows as text: one starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return (a formula, or one hidden behind a control character) is prefixed with `'`,
/// which spreadsheets hide and which makes the cell text.
pub fn cell(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}").into() } else { value.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_written_as_text() {
        for formula in ["=HYPERLINK(\"http://x\")", "+33 6", "-2+3", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(cell(formula), format!("'{formula}"));
        }
        assert_eq!(cell("Martin"), "Martin");
        assert_eq!(cell("Léa-Rose"), "Léa-Rose", "a dash inside a name is no formula");
    }

    #[test]
    fn an_export_has_a_bom_semicolons_and_neutral_cells() {
        let mut e = Export::new(&["Nom", "Prénom"]).unwrap();
        e.row(&["=1+1", "Léa; Rose"]).unwrap();
        let bytes = e.writer.into_inner().unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), "\u{feff}Nom;Prénom\n'=1+1;\"Léa; Rose\"\n");
    }
}
