//! Folding names so that spellings of one name meet: "Müller", "Mueller"
//! and "MÜLLER" all fold to `mueller`; "Müller" and "Muller" meet through
//! the accent-stripped key. No crate transliterates German, so the four
//! German letters are spelt out here; Unicode normalisation and the
//! stripping of other accents are left to `unicode-normalization` and
//! `deunicode`.

use unicode_normalization::UnicodeNormalization;

/// The German fold: NFKC, lower case, ä→ae ö→oe ü→ue ß→ss, other letters
/// without accents, only letters and digits, words separated by one space.
pub fn german(text: &str) -> String {
    let mut spelt = String::with_capacity(text.len());
    for c in text.nfkc().flat_map(char::to_lowercase) {
        match c {
            'ä' => spelt.push_str("ae"),
            'ö' => spelt.push_str("oe"),
            'ü' => spelt.push_str("ue"),
            'ß' => spelt.push_str("ss"),
            _ => spelt.push(c),
        }
    }
    words(&deunicode::deunicode(&spelt))
}

/// The accent-stripped fold: "Müller" → `muller`, "Øster" → `oster`.
pub fn plain(text: &str) -> String {
    words(&deunicode::deunicode(&text.nfkc().collect::<String>()).to_lowercase())
}

fn words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_meet() {
        assert_eq!(german("Müller"), "mueller");
        assert_eq!(german("Mueller"), "mueller");
        assert_eq!(german("MÜLLER"), "mueller");
        assert_eq!(german("Straße"), "strasse");
        assert_eq!(plain("Müller"), plain("Muller"));
        assert_eq!(german("  Jean-Luc   Picard "), "jean luc picard");
        assert_eq!(german("Łukasz Żółć"), "lukasz zolc");
        assert_ne!(german("Müller"), german("Miller"));
    }
}
