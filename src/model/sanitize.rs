//! The terminal is an untrusted sink: contact text is neutralised before it
//! is printed or drawn, so a contact cannot retitle, clear or recolour the
//! operator's terminal.

use std::borrow::Cow;

/// `text` with every control character shown as a visible stand-in:
/// ESC as `␛`, other C0 controls as their Unicode control pictures, DEL and
/// C1 controls as `\xNN`. Line breaks and tabs become a space.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
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
            c => out.push(c),
        }
    }
    Cow::Owned(out)
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
}
