//! Synchronization logs of the Sync Issues folders, written as Outlook
//! writes its own (the text only in PR_RTF_COMPRESSED, error lines in red)
//! or as other clients do (plain PR_BODY).
//!
//! Outlook's RTF, as the real logs in the corpus have it: a font table of
//! two Arial fonts, the colour table black, dark red (128, 0, 0), red
//! (255, 0, 0); `\plain\fs18` and `\uc1`; one paragraph per line, each
//! tab as `\tab` and a line break of the source, the quoted folder or
//! mailbox name of a step in font 1, and an error line painted with
//! `\cf2` up to `\plain\fs18` before its `\par`.

use crate::ltp_writer::PropValue;
use crate::messaging::{pid, Message};

/// The start of every log's RTF, up to the first line.
const OUTLOOK_RTF_HEAD: &str = "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0\\froman\\fcharset0\\fprq2 Arial;}{\\f1\\fswiss\\fprq2\\fcharset0 Arial;}}{\\colortbl\\red0\\green0\\blue0;\\red128\\green0\\blue0;\\red255\\green0\\blue0;}\\plain\\fs18\r\n\\uc1 ";

/// How PR_RTF_COMPRESSED holds the RTF ([MS-OXRTFCP]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtfForm {
    /// LZFu-compressed with its CRC: what Outlook writes.
    Lzfu,
    /// Stored uncompressed ("MELA"): valid, written by some tools.
    Mela,
}

/// One line of a log and whether Outlook paints it red (an error line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLine<'a> {
    pub text: &'a str,
    pub error: bool,
}

/// `text` escaped for RTF: `\`, `{`, `}` escaped, tabs as Outlook writes
/// them, characters past ASCII as `\uN?`.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\tab\r\n"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    // \uN takes a signed 16-bit number.
                    out.push_str(&format!("\\u{}?", *unit as i16));
                }
            }
        }
    }
}

/// The RTF Outlook writes for a log of `lines`.
pub fn outlook_log_rtf(lines: &[LogLine<'_>]) -> String {
    let mut rtf = String::from(OUTLOOK_RTF_HEAD);
    for line in lines {
        if line.error {
            rtf.push_str("\\cf2 ");
        }
        // A step's quoted name ("... in folder 'Inbox'", "Synchronizing
        // Mailbox 'Jane'") is set in font 1.
        let quoted = line
            .text
            .contains("Synchronizing ")
            .then(|| Some((line.text.find('\'')?, line.text.rfind('\'')?)))
            .flatten()
            .filter(|(open, close)| open < close);
        match quoted {
            Some((open, close)) => {
                escape(&line.text[..=open], &mut rtf);
                rtf.push_str("\\f1 ");
                escape(&line.text[open + 1..close], &mut rtf);
                rtf.push_str("\\f0 ");
                escape(&line.text[close..], &mut rtf);
            }
            None => escape(line.text, &mut rtf),
        }
        if line.error {
            rtf.push_str("\\plain\\fs18 ");
        }
        rtf.push_str("\\par\r\n");
    }
    rtf.push('}');
    rtf
}

/// `rtf` as a PR_RTF_COMPRESSED value. Compressed with Microsoft's
/// `compressed-rtf` crate: an implementation independent of ostscan's
/// reader, so that tests check one against the other.
pub fn compress_rtf(rtf: &str, form: RtfForm) -> Vec<u8> {
    let value = match form {
        RtfForm::Lzfu => compressed_rtf::compress_rtf(rtf),
        RtfForm::Mela => compressed_rtf::encode_rtf(rtf),
    };
    // Only characters past U+00FF fail, and `escape` writes ASCII.
    value.expect("RTF of Latin-1 characters")
}

/// A log message as Outlook writes one: IPM.Note, no PR_BODY, the text in
/// PR_RTF_COMPRESSED.
pub fn outlook_log(subject: &str, lines: &[LogLine<'_>], form: RtfForm) -> Message {
    Message {
        subject: subject.into(),
        message_class: "IPM.Note".into(),
        last_modified: Some(0x01DA_0000_0000_0000),
        extra: vec![(
            pid::RTF_COMPRESSED,
            PropValue::Binary(compress_rtf(&outlook_log_rtf(lines), form)),
        )],
        ..Message::default()
    }
}

/// A log message as other clients write one: plain PR_BODY.
pub fn plain_log(subject: &str, body: &str) -> Message {
    Message {
        subject: subject.into(),
        message_class: "IPM.Note".into(),
        body: Some(body.into()),
        last_modified: Some(0x01DA_0000_0000_0000),
        ..Message::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtf_as_outlook_writes_it() {
        let rtf = outlook_log_rtf(&[
            LogLine {
                text: "1:55:00 Synchronizing local changes in folder 'Calendar'",
                error: false,
            },
            LogLine {
                text: "1:55:00 \t\t [0-130] {x}\\ \u{e9}",
                error: true,
            },
        ]);
        assert_eq!(
            rtf,
            OUTLOOK_RTF_HEAD.to_string()
                + "1:55:00 Synchronizing local changes in folder '\\f1 Calendar\\f0 '\\par\r\n"
                + "\\cf2 1:55:00 \\tab\r\n\\tab\r\n [0-130] \\{x\\}\\\\ \\u233?\\plain\\fs18 \\par\r\n}"
        );
        let lzfu = compress_rtf(&rtf, RtfForm::Lzfu);
        assert_eq!(&lzfu[8..12], b"LZFu");
        assert_eq!(compressed_rtf::decompress_rtf(&lzfu).unwrap(), rtf);
        let mela = compress_rtf(&rtf, RtfForm::Mela);
        assert_eq!(&mela[8..12], b"MELA");
        assert_eq!(&mela[16..], rtf.as_bytes());
    }

    #[test]
    fn messages_carry_the_text_where_their_writer_puts_it() {
        let m = outlook_log("Synchronization Log:", &[], RtfForm::Lzfu);
        assert!(m.body.is_none());
        assert_eq!(m.extra[0].0, pid::RTF_COMPRESSED);
        let m = plain_log("Synchronization Log:", "a\r\nb");
        assert_eq!(m.body.as_deref(), Some("a\r\nb"));
        assert!(m.extra.is_empty());
    }
}
