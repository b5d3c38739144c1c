//! Byte-level clean-up before a card reaches `calcard`.
//!
//! `calcard` takes `&str`, so everything that must happen on bytes happens
//! here: UTF-16 and BOM detection, line ends (CRLF, LF, CR-only), unfolding
//! (a fold may split a UTF-8 character), 2.1 QUOTED-PRINTABLE soft line
//! breaks, legacy code pages (`CHARSET=`, or windows-1252 for raw 8-bit
//! bytes), and the parameter forms calcard mis-reads (a bare
//! `;QUOTED-PRINTABLE`, a parameter without a name, a quoted `TYPE` list).
//! Cards are split here too, so that one broken card can never swallow or
//! leak into the next, and every error carries the line it starts on.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// One card's text, ready for calcard: valid UTF-8, unfolded, CRLF-separated.
#[derive(Debug, Clone)]
pub struct RawCard {
    /// 1-based line of `BEGIN:VCARD` in the file.
    pub line: usize,
    pub text: String,
    /// Byte range of the card (BEGIN through END and its line end) in the
    /// file as UTF-8 ([`to_utf8`]), so a writer can keep other cards as they were.
    pub span: std::ops::Range<usize>,
}

/// A card (or stretch of a file) that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardError {
    /// 1-based line in the file.
    pub line: usize,
    pub message: String,
}

/// Turn a file's bytes into UTF-8 bytes: strips a UTF-8 BOM, decodes UTF-16
/// (with a BOM, or recognised by its zero bytes).
pub fn to_utf8(bytes: &[u8]) -> Cow<'_, [u8]> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Cow::Borrowed(rest);
    }
    let utf16 = match bytes {
        [0xFF, 0xFE, ..] => Some(UTF_16LE),
        [0xFE, 0xFF, ..] => Some(UTF_16BE),
        [a, 0, ..] if *a != 0 => Some(UTF_16LE),
        [0, b, ..] if *b != 0 => Some(UTF_16BE),
        _ => None,
    };
    match utf16 {
        // `decode` strips the BOM itself and replaces invalid sequences.
        Some(encoding) => Cow::Owned(encoding.decode(bytes).0.into_owned().into_bytes()),
        None => Cow::Borrowed(bytes),
    }
}

/// Physical lines with their 1-based numbers. A lone CR ends a line only in
/// files that have no LF at all (old Mac files); elsewhere a stray CR is
/// part of the value.
/// Each item: line number, the line without its end, and the byte offset
/// just past the line end.
fn physical_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8], usize)> {
    let cr_only = !bytes.contains(&b'\n');
    let sep = if cr_only { b'\r' } else { b'\n' };
    let mut offset = 0;
    bytes
        .split(move |b| *b == sep)
        .enumerate()
        .map(move |(i, raw)| {
            offset += raw.len() + 1;
            let line = if cr_only {
                raw
            } else {
                raw.strip_suffix(b"\r").unwrap_or(raw)
            };
            (i + 1, line, offset.min(bytes.len()))
        })
}

fn trimmed(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

fn is_begin(line: &[u8]) -> bool {
    trimmed(line).eq_ignore_ascii_case(b"BEGIN:VCARD")
}

fn is_end(line: &[u8]) -> bool {
    trimmed(line).eq_ignore_ascii_case(b"END:VCARD")
}

/// Split a file into cards. Never panics; every problem becomes a
/// [`CardError`] naming a line.
pub fn split_cards(bytes: &[u8]) -> Vec<Result<RawCard, CardError>> {
    let bytes = to_utf8(bytes);
    let mut out = Vec::new();
    let mut current: Option<CardBuilder> = None;
    let mut stray: Option<usize> = None;
    let mut saw_card = false;

    let mut line_start = 0;
    for (no, line, line_end) in physical_lines(&bytes) {
        let start = std::mem::replace(&mut line_start, line_end);
        match current.as_mut() {
            None => {
                if is_begin(line) {
                    saw_card = true;
                    current = Some(CardBuilder::new(no, start));
                } else if !trimmed(line).is_empty() && stray.is_none() {
                    stray = Some(no);
                }
            }
            Some(card) => {
                if is_begin(line) && !card.expects_nested() {
                    // The previous card never ended: report it and start anew.
                    let begun = card.line;
                    out.push(Err(CardError {
                        line: begun,
                        message: format!("card has no END:VCARD (a new card begins at line {no})"),
                    }));
                    current = Some(CardBuilder::new(no, start));
                } else if card.push(no, line) {
                    let done = current.take().map(|c| c.finish(line_end));
                    out.extend(done);
                }
            }
        }
    }
    if let Some(card) = current {
        out.push(Err(CardError {
            line: card.line,
            message: "card has no END:VCARD before the end of the file".to_string(),
        }));
    }
    if let Some(line) = stray {
        let message = if saw_card {
            "text outside a card (between END:VCARD and BEGIN:VCARD)"
        } else {
            "not a vCard file: no BEGIN:VCARD found"
        };
        out.push(Err(CardError {
            line,
            message: message.to_string(),
        }));
    }
    out
}

/// A logical (unfolded) content line and the physical line it starts on.
struct Logical {
    line: usize,
    bytes: Vec<u8>,
}

struct CardBuilder {
    line: usize,
    start: usize,
    lines: Vec<Logical>,
    /// Lines of a card nested in an `AGENT` property, and its depth.
    nested: Option<(usize, Vec<u8>)>,
}

impl CardBuilder {
    fn new(line: usize, start: usize) -> Self {
        CardBuilder {
            line,
            start,
            lines: Vec::new(),
            nested: None,
        }
    }

    /// A `BEGIN:VCARD` right after an empty `AGENT:` is a nested card (2.1).
    fn expects_nested(&self) -> bool {
        self.nested.is_some()
            || self.lines.last().is_some_and(|l| {
                let (head, value) = split_head(&l.bytes).unwrap_or((&l.bytes, &[]));
                let name = head.split(|b| *b == b';').next().unwrap_or(&[]);
                let name = name.rsplit(|b| *b == b'.').next().unwrap_or(name);
                name.eq_ignore_ascii_case(b"AGENT") && trimmed(value).is_empty()
            })
    }

    /// Add a physical line; true when the card is complete.
    fn push(&mut self, no: usize, line: &[u8]) -> bool {
        if let Some((depth, text)) = self.nested.as_mut() {
            if is_begin(line) {
                *depth += 1;
            }
            text.extend_from_slice(line);
            text.extend_from_slice(b"\r\n");
            if is_end(line) {
                *depth -= 1;
                if *depth == 0 {
                    self.close_nested();
                }
            }
            return false;
        }
        if is_begin(line) {
            // expects_nested() held: collect the agent's card.
            self.nested = Some((1, [line, b"\r\n"].concat()));
            return false;
        }
        if is_end(line) {
            return true;
        }
        let continues_qp = self.lines.last().is_some_and(|l| {
            l.bytes.ends_with(b"=") && split_head(&l.bytes).is_some_and(|(h, _)| head_is_qp(h))
        });
        if let Some(last) = self.lines.last_mut() {
            if continues_qp {
                // Soft line break: drop the `=`, keep the next line as it is.
                last.bytes.pop();
                last.bytes.extend_from_slice(line);
                return false;
            }
            if let [b' ' | b'\t', rest @ ..] = line {
                last.bytes.extend_from_slice(rest);
                return false;
            }
        }
        if trimmed(line).is_empty() {
            // 2.1 ends a BASE64 value with a blank line; nothing is lost.
            return false;
        }
        self.lines.push(Logical {
            line: no,
            bytes: line.to_vec(),
        });
        false
    }

    /// Put a nested agent card into the `AGENT` line as its value.
    fn close_nested(&mut self) {
        let Some((_, text)) = self.nested.take() else {
            return;
        };
        if let Some(agent) = self.lines.last_mut() {
            let value = String::from_utf8_lossy(&text);
            let head = split_head(&agent.bytes)
                .map(|(h, _)| h.to_vec())
                .unwrap_or_default();
            agent.bytes = head;
            agent
                .bytes
                .extend_from_slice(b";ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:");
            agent.bytes.extend_from_slice(qp_encode(&value).as_bytes());
        }
    }

    fn finish(self, end: usize) -> Result<RawCard, CardError> {
        let mut text =
            String::with_capacity(self.lines.iter().map(|l| l.bytes.len() + 2).sum::<usize>() + 32);
        text.push_str("BEGIN:VCARD\r\n");
        for logical in &self.lines {
            let clean = clean_line(&logical.bytes).map_err(|message| CardError {
                line: logical.line,
                message,
            })?;
            text.push_str(&clean);
            text.push_str("\r\n");
        }
        text.push_str("END:VCARD\r\n");
        Ok(RawCard {
            line: self.line,
            text,
            span: self.start..end,
        })
    }
}

/// Walk `bytes` keeping track of double quotes (inside which a backslash
/// escapes the next byte, as calcard reads it) and call `at` for every byte
/// outside quotes with its position; stop when `at` returns true.
fn scan_unquoted(bytes: &[u8], mut at: impl FnMut(usize, u8) -> bool) {
    let mut quoted = false;
    let mut escaped = false;
    for (i, b) in bytes.iter().enumerate() {
        if quoted {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => {}
            }
        } else if *b == b'"' {
            quoted = true;
        } else if at(i, *b) {
            return;
        }
    }
}

/// Split a content line at its first colon outside double quotes.
fn split_head(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut colon = None;
    scan_unquoted(line, |i, b| {
        if b == b':' {
            colon = Some(i);
        }
        colon.is_some()
    });
    colon.map(|i| (&line[..i], &line[i + 1..]))
}

/// Split the part before the colon at semicolons outside quotes.
fn split_params(head: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    scan_unquoted(head, |i, b| {
        if b == b';' {
            out.push(&head[start..i]);
            start = i + 1;
        }
        false
    });
    out.push(&head[start..]);
    out
}

/// A byte that cannot be part of a property or parameter name: calcard
/// would read a backslash as an escape and write a control byte raw.
fn bad_name_byte(b: &u8) -> bool {
    b.is_ascii_control() || matches!(b, b'\\' | b'"' | b':' | b';')
}

fn head_is_qp(head: &[u8]) -> bool {
    split_params(head).iter().skip(1).any(|p| {
        let p = trimmed(p);
        p.eq_ignore_ascii_case(b"QUOTED-PRINTABLE")
            || p.eq_ignore_ascii_case(b"ENCODING=QUOTED-PRINTABLE")
    })
}

/// Rewrite one logical line into clean UTF-8 that calcard reads right.
fn clean_line(line: &[u8]) -> Result<String, String> {
    let Some((head, value)) = split_head(line) else {
        let shown = String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
        return Err(format!("content line without ':' ({shown:?})"));
    };
    let mut unquoted_backslash = false;
    scan_unquoted(head, |_, b| {
        unquoted_backslash |= b == b'\\';
        unquoted_backslash
    });
    if unquoted_backslash {
        // calcard reads `\:` in a parameter as an escaped colon, so the
        // value would start elsewhere than the colon found here.
        let shown = String::from_utf8_lossy(&head[..head.len().min(40)]).into_owned();
        return Err(format!(
            "backslash outside quotes in the parameters of {shown:?}"
        ));
    }
    let mut parts = split_params(head).into_iter();
    let name = parts.next().unwrap_or_default();
    if trimmed(name).is_empty() {
        return Err("content line without a property name".to_string());
    }
    let valid_name = !trimmed(name).iter().any(bad_name_byte);
    if !valid_name {
        let shown = String::from_utf8_lossy(&name[..name.len().min(40)]).into_owned();
        return Err(format!("{shown:?} is not a property name"));
    }
    let mut params: Vec<Cow<'_, [u8]>> = Vec::new();
    let mut qp = false;
    let mut charset: Option<&[u8]> = None;
    let mut changed = false;
    for param in parts {
        let p = trimmed(param);
        if p.eq_ignore_ascii_case(b"QUOTED-PRINTABLE")
            || p.eq_ignore_ascii_case(b"ENCODING=QUOTED-PRINTABLE")
        {
            qp = true;
            changed = true;
            continue;
        }
        if p.len() > 8 && p[..8].eq_ignore_ascii_case(b"CHARSET=") {
            charset = Some(&p[8..]);
            changed = true;
            continue;
        }
        if p.is_empty() || p.starts_with(b"=") {
            // `;;` or `;=broken`: calcard would attach it to a later property.
            changed = true;
            continue;
        }
        if p.len() > 5 && p[..5].eq_ignore_ascii_case(b"TYPE=") && p[5..].contains(&b'"') {
            // `TYPE="work,internet"`: calcard keeps only the first value.
            let list: Vec<u8> = p[5..].iter().copied().filter(|b| *b != b'"').collect();
            params.push(Cow::Owned([b"TYPE=".as_slice(), &list].concat()));
            changed = true;
            continue;
        }
        if p.eq_ignore_ascii_case(b"VALUE=DATE") && is_date_property(name) {
            // calcard reads `BDAY;VALUE=date:2003-12-09` as December 2003
            // (it expects the basic form); without the parameter it reads
            // both forms right.
            changed = true;
            continue;
        }
        let param_name = p.split(|b| *b == b'=').next().unwrap_or_default();
        if param_name.iter().any(bad_name_byte) {
            let shown = String::from_utf8_lossy(&p[..p.len().min(40)]).into_owned();
            return Err(format!("{shown:?} is not a parameter"));
        }
        params.push(Cow::Borrowed(param));
    }

    let decoded_value: Cow<'_, str> = if qp {
        let bytes = qp_decode(value);
        Cow::Owned(decode_text(&bytes, charset))
    } else {
        match std::str::from_utf8(value) {
            Ok(v) => Cow::Borrowed(v),
            Err(_) => {
                changed = true;
                Cow::Owned(decode_text(value, charset))
            }
        }
    };
    let head_text = |bytes: &[u8]| decode_text(bytes, None);

    if !changed
        && std::str::from_utf8(head).is_ok()
        && let Ok(line) = std::str::from_utf8(line)
    {
        return Ok(line.to_string());
    }
    let mut out = head_text(name);
    for p in &params {
        out.push(';');
        out.push_str(&head_text(p));
    }
    if qp {
        // Re-encode as UTF-8 QP on one line: calcard decodes it and keeps
        // 2.1's unescaped value syntax intact.
        out.push_str(";ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:");
        out.push_str(&qp_encode(&decoded_value));
    } else {
        out.push(':');
        out.push_str(&decoded_value);
    }
    Ok(out)
}

fn is_date_property(name: &[u8]) -> bool {
    let name = name.rsplit(|b| *b == b'.').next().unwrap_or(name);
    [b"BDAY".as_slice(), b"ANNIVERSARY", b"DEATHDATE"]
        .iter()
        .any(|n| name.trim_ascii().eq_ignore_ascii_case(n))
}

/// Decode text bytes: by the `CHARSET` label if given and known, else UTF-8
/// when valid, else windows-1252 (what Outlook writes without a label).
fn decode_text(bytes: &[u8], charset: Option<&[u8]>) -> String {
    let label = charset
        .map(|c| c.trim_ascii_start().trim_ascii_end())
        .map(|c| {
            let c = c.strip_prefix(b"\"").unwrap_or(c);
            c.strip_suffix(b"\"").unwrap_or(c)
        });
    let encoding = label.and_then(Encoding::for_label);
    match encoding {
        // A card labelled UTF-8 that is not valid UTF-8 was written by a
        // program that lied; windows-1252 is the best guess for its bytes.
        Some(enc) if enc != UTF_8 => enc.decode_without_bom_handling(bytes).0.into_owned(),
        _ => match std::str::from_utf8(bytes) {
            Ok(text) => text.to_string(),
            Err(_) => WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
        },
    }
}

/// QUOTED-PRINTABLE to bytes. Soft line breaks were joined already; an `=`
/// not followed by two hex digits is kept as it is.
pub fn qp_decode(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'=' {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(Some(h)), Some(Some(l))) = (
                value.get(i + 1).map(|b| hex(*b)),
                value.get(i + 2).map(|b| hex(*b)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(value[i]);
        i += 1;
    }
    out
}

/// Encode UTF-8 text as QUOTED-PRINTABLE without line breaks.
pub fn qp_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for b in text.bytes() {
        if (b.is_ascii_graphic() && b != b'=') || b == b' ' {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_cards(bytes: &[u8]) -> Vec<RawCard> {
        split_cards(bytes).into_iter().map(|c| c.unwrap()).collect()
    }

    #[test]
    fn fold_that_splits_a_utf8_character_is_joined_before_decoding() {
        let card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:M\xC3\r\n \xBCller\r\nEND:VCARD\r\n";
        let cards = ok_cards(card);
        assert!(cards[0].text.contains("FN:Müller"), "{}", cards[0].text);
    }

    #[test]
    fn latin1_qp_is_decoded_and_reencoded_as_utf8() {
        let card = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FC=\r\nrgen\r\nEND:VCARD\r\n";
        let cards = ok_cards(card);
        assert!(
            cards[0]
                .text
                .contains("N;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:M=C3=BCller;J=C3=BCrgen"),
            "{}",
            cards[0].text
        );
    }

    #[test]
    fn unterminated_card_does_not_swallow_the_next() {
        let file = b"BEGIN:VCARD\nFN:A\nBEGIN:VCARD\nFN:B\nEND:VCARD\n";
        let cards = split_cards(file);
        assert_eq!(cards.len(), 2);
        assert_eq!(cards[0].as_ref().unwrap_err().line, 1);
        assert!(cards[1].as_ref().unwrap().text.contains("FN:B"));
    }

    #[test]
    fn line_without_colon_rejects_its_card_with_the_line() {
        let file = b"BEGIN:VCARD\nFN:A\nEND:VCARD\nBEGIN:VCARD\nFN:B\ngarbage\nEND:VCARD\n";
        let cards = split_cards(file);
        assert!(cards[0].is_ok());
        assert_eq!(cards[1].as_ref().unwrap_err().line, 6);
    }

    #[test]
    fn utf16_with_bom_is_read() {
        let text = "BEGIN:VCARD\r\nFN:Søren\r\nEND:VCARD\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert!(ok_cards(&bytes)[0].text.contains("FN:Søren"));
    }

    #[test]
    fn spans_cover_each_card_with_its_line_end() {
        let file = b"BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\nBEGIN:VCARD\nFN:B\nEND:VCARD";
        let cards = ok_cards(file);
        assert_eq!(
            &file[cards[0].span.clone()],
            b"BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n"
        );
        assert_eq!(
            &file[cards[1].span.clone()],
            b"BEGIN:VCARD\nFN:B\nEND:VCARD"
        );
    }

    #[test]
    fn cr_only_line_ends_are_lines() {
        let cards = ok_cards(b"BEGIN:VCARD\rFN:A\rEND:VCARD\r");
        assert!(cards[0].text.contains("FN:A\r\n"));
    }

    #[test]
    fn text_outside_cards_is_reported() {
        let cards = split_cards(b"Name,E-mail\nHans,h@example.com\n");
        assert_eq!(cards.len(), 1);
        assert_eq!(cards[0].as_ref().unwrap_err().line, 1);
    }
}
