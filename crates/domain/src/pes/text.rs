//! Text as a PES V2 file holds it: ISO-8859-1 (what is outside it transliterated), one line,
//! cut to the schema's length; names and addresses in the postal norm (capitals, no accents).

/// The ISO-8859-1 text for `s`: a character outside it becomes its nearest Latin-1 spelling
/// (« œ » → « oe », « ’ » → « ' », the narrow no-break space → a space), `?` when there is none;
/// controls and line breaks become spaces, runs of spaces one.
pub fn latin1(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{20}'..='\u{7E}' | '\u{A1}'..='\u{FF}' => out.push(c),
            _ => out.push_str(nearest(c)),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn nearest(c: char) -> &'static str {
    match c {
        'œ' => "oe",
        'Œ' => "OE",
        'ŀ' | 'ł' => "l",
        'Ł' => "L",
        'č' | 'ć' => "c",
        'Č' | 'Ć' => "C",
        'š' | 'ś' => "s",
        'Š' | 'Ś' => "S",
        'ž' | 'ź' | 'ż' => "z",
        'Ž' | 'Ź' | 'Ż' => "Z",
        'ă' | 'ą' | 'ā' => "a",
        'ę' | 'ě' | 'ē' => "e",
        'ń' | 'ň' => "n",
        'ř' => "r",
        'ğ' => "g",
        'ı' => "i",
        'ş' | 'ș' => "s",
        'ț' | 'ţ' => "t",
        'Ÿ' => "Y",
        '‘' | '’' | '‚' | '′' => "'",
        '“' | '”' | '„' | '″' => "\"",
        '‐' | '‑' | '‒' | '–' | '—' | '−' => "-",
        '…' => "...",
        '€' => "EUR",
        c if c.is_whitespace() || c.is_control() => " ",
        _ => "?",
    }
}

/// `s` in ISO-8859-1, at most `max` characters.
pub fn fit(s: &str, max: usize) -> String {
    latin1(s).chars().take(max).collect::<String>().trim_end().to_owned()
}

/// `s` in the postal norm (capitals without accents), at most `max` characters.
pub fn postal(s: &str, max: usize) -> String {
    let plain: String = latin1(s).chars().map(unaccent).collect::<String>().to_uppercase();
    plain.chars().take(max).collect::<String>().trim_end().to_owned()
}

fn unaccent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'ç' => 'c',
        'Ç' => 'C',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'O',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ý' | 'ÿ' => 'y',
        'Ý' => 'Y',
        c if c.is_ascii() => c,
        _ => ' ',
    }
}

/// The ISO-8859-1 bytes of `s` (a character outside it, which [`latin1`] never leaves, is `?`).
pub fn to_bytes(s: &str) -> Vec<u8> {
    s.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_text_keeps_its_accents_and_loses_what_latin1_lacks() {
        assert_eq!(latin1("Cœur d’été\u{202F}: 12\u{A0}€"), "Coeur d'été : 12 EUR");
        assert_eq!(latin1("Łukasz\nWróbel–Nowak"), "Lukasz Wróbel-Nowak");
        assert_eq!(latin1("漢字"), "??");
    }

    #[test]
    fn names_and_addresses_follow_the_postal_norm_and_their_length() {
        assert_eq!(postal("Hélène Lefèvre-Œuvray", 38), "HELENE LEFEVRE-OEUVRAY");
        assert_eq!(postal("12 rue de l’Église-Saint-Jean-Baptiste-de-la-Salle", 38).chars().count(), 38);
        assert_eq!(fit("Facture  de   novembre", 10), "Facture de");
    }

    #[test]
    fn bytes_are_one_per_character() {
        assert_eq!(to_bytes("é€"), vec![0xE9, b'?']);
        assert_eq!(to_bytes(&latin1("été œ")), vec![0xE9, b't', 0xE9, b' ', b'o', b'e']);
    }
}
