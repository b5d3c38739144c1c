//! The terminal is an untrusted sink: contact text is neutralised before it
//! is printed or drawn, so a contact cannot retitle, clear or recolour the
//! operator's terminal.

use std::borrow::Cow;

/// `text` with every control character shown as a visible stand-in:
/// ESC as `␛`, other C0 controls as their Unicode control pictures, DEL and
/// C1 controls as `\xNN`. Line breaks and tabs become a space. Characters
/// that reorder or hide text ([`is_spoofing`]: bidirectional overrides,
/// zero-width characters, line separators) are shown as `<U+XXXX>`.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_stand_in) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            '\u{1b}' => out.push('␛'),
            c if (c as u32) < 0x20 => {
                out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?'));
            }
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if is_spoofing(c) => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// JSON text with every character [`is_spoofing`] names written as a
/// `\uXXXX` escape. Such characters only occur inside JSON strings (the
/// serializer already escapes control characters), so the JSON means the
/// same and a terminal shows it as it is.
pub fn for_json(json: &str) -> Cow<'_, str> {
    // The serializer escapes C0 controls, not DEL and the C1 controls
    // (U+009B is a CSI on many terminals).
    let escaped = |c: char| is_spoofing(c) || c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c);
    if !json.chars().any(escaped) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escaped(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_stand_in(c: char) -> bool {
    c.is_control() || is_spoofing(c)
}

/// A character that is no control character but changes how the text
/// around it is shown without being seen itself: the bidirectional
/// embeddings, overrides, isolates and marks (a name that reads backwards,
/// a file name whose `.exe` shows as `.txt`), zero-width spaces, joiners
/// and the byte order mark (two names that look the same), and the line and
/// paragraph separators (a line break the terminal may honour).
pub fn is_spoofing(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'                // Arabic letter mark
            | '\u{180e}'          // Mongolian vowel separator
            | '\u{200b}'..='\u{200f}' // zero-width space, non-joiner, joiner; LRM, RLM
            | '\u{2028}'..='\u{202e}' // line/paragraph separator; LRE RLE PDF LRO RLO
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // LRI RLI FSI PDI
            | '\u{feff}' // zero-width no-break space (byte order mark)
    )
}

#[cfg(test)]
mod tests {
    use super::for_terminal;

    #[test]
    fn escape_sequences_are_neutralised() {
        let evil = "Eve\u{1b}]2;owned\u{7}\u{1b}[2J\u{9b}31m";
        let shown = for_terminal(evil);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert_eq!(shown, "Eve␛]2;owned␇␛[2J\\x9b31m");
        assert_eq!(for_terminal("Müller"), "Müller");
    }

    #[test]
    fn text_that_reorders_or_hides_itself_is_shown() {
        // After a right-to-left override, "exe.txt" reads as "txt.exe".
        assert_eq!(for_terminal("Eve\u{202e}exe.txt"), "Eve<U+202E>exe.txt");
        assert_eq!(for_terminal("Ev\u{200b}e\u{feff}"), "Ev<U+200B>e<U+FEFF>");
        assert_eq!(for_terminal("a\u{2028}b\u{2069}"), "a<U+2028>b<U+2069>");
        // Letters of right-to-left scripts themselves are text, not tricks.
        assert_eq!(for_terminal("שלום مرحبا"), "שלום مرحبا");
        // What it shows is shown as it is the second time.
        let once = for_terminal("E\u{1b}[2J\u{202e}\u{9b}").into_owned();
        assert_eq!(for_terminal(&once), once);
    }

    #[test]
    fn json_keeps_its_meaning() {
        let name = "Eve\u{202e}\u{200d}x\u{9b}31m\u{85}\u{7f}";
        let json = serde_json::to_string(name).unwrap();
        let shown = super::for_json(&json);
        assert_eq!(shown, r#""Eve\u202e\u200dx\u009b31m\u0085\u007f""#);
        assert!(!shown.chars().any(char::is_control));
        let back: String = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, name);
    }
}
