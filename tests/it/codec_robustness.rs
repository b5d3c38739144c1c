//! The codec never panics, whatever bytes it is given: every prefix of real
//! cards, and cards with bytes replaced by the ones that matter to the
//! syntax, either read or become errors with a line number.

use abgleich::vcard::{WriteVersion, read_cards, write_card};

const OUTLOOK_21: &[u8] = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;LANGUAGE=de;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FC=\r\nrgen\r\nFN:J\xfcrgen M\xfcller\r\nTEL;WORK;VOICE:+49 30 1234567\r\nEMAIL;PREF;INTERNET:j@example.de\r\nADR;WORK;PREF;ENCODING=QUOTED-PRINTABLE;CHARSET=utf-8:;;Stra=C3=\r\n=9Fe 1;Berlin;;10115;DE\r\nPHOTO;TYPE=JPEG;ENCODING=BASE64:\r\n  /9j/4AAQSkZJRgAB\r\n  AQEASABIAAD=\r\n\r\nAGENT:\r\nBEGIN:VCARD\r\nFN:Agent\r\nEND:VCARD\r\nEND:VCARD\r\n";
const APPLE_30: &[u8] = "BEGIN:VCARD\nVERSION:3.0\nN:Ørsted;Søren;;;\nFN:Søren Ørsted\nitem1.EMAIL;type=INTERNET;type=pref:s@example.dk\nitem1.X-ABLabel:_$!<Other>!$_\nTEL;TYPE=\"cell,voice\":+45 12 34 56 78\nBDAY;X-APPLE-OMIT-YEAR=1604:1604-03-21\nNOTE:a\\nb\\, c\nEND:VCARD\n".as_bytes();

fn exercise(bytes: &[u8]) {
    for card in read_cards(bytes) {
        match card {
            Ok(card) => {
                // The properties no field reads are read too (no panic);
                // the fields must survive a write.
                let _ = abgleich::vcard::to_contact(&card.card);
                let contact = abgleich::vcard::map::to_contact(&card.card);
                for version in [WriteVersion::V3, WriteVersion::V4] {
                    let text = write_card(&card.card, version);
                    let again = read_cards(text.as_bytes());
                    assert_eq!(again.len(), 1, "written card does not read back:\n{text}");
                    let again = again
                        .into_iter()
                        .next()
                        .unwrap()
                        .expect("written card reads");
                    assert_eq!(
                        abgleich::vcard::map::to_contact(&again.card),
                        contact,
                        "\n{text}"
                    );
                }
            }
            Err(e) => assert!(e.line >= 1 && !e.message.is_empty()),
        }
    }
}

#[test]
fn every_prefix_of_a_card_reads_or_errs_without_panic() {
    for sample in [OUTLOOK_21, APPLE_30] {
        for end in 0..=sample.len() {
            exercise(&sample[..end]);
        }
    }
}

#[test]
fn syntax_bytes_anywhere_read_or_err_without_panic() {
    let specials: &[u8] = b"\0\r\n:;=,\"\\ \xff\xc3";
    for sample in [OUTLOOK_21, APPLE_30] {
        for at in 0..sample.len() {
            for &b in specials {
                let mut bytes = sample.to_vec();
                bytes[at] = b;
                exercise(&bytes);
            }
        }
    }
}
