//! Plain text of an RTF document, with the lines painted in one colour
//! marked: what ostscan needs of the synchronization logs Outlook writes
//! as RTF only (PR_RTF_COMPRESSED; see docs/format.md).
//!
//! A small reader, not a renderer: groups, control words and symbols,
//! `\par`/`\line` as newlines, `\tab` as a tab, `\'hh` in the document's
//! code page (`\ansicpg`), `\uN` with its `\ucN` fallback skipped, and the
//! text of destinations (font and colour tables, style sheet, document
//! info, pictures, `\*` groups, ...) left out. The foreground colour
//! (`\cfN`, reset by `\plain` and at the end of a group) is tracked so that
//! the caller learns which lines carry text in a given colour.
//!
//! Hostile input: one pass over the bytes, no recursion (group states are
//! kept on a stack that stops growing at [`MAX_GROUP_DEPTH`]; deeper
//! groups share their ancestor's state), the text stops at the caller's
//! cap, and nothing panics.

use ost_props::strings::decode_string8;

/// Group levels that get a state of their own. RTF documents rarely nest
/// more than a dozen; deeper groups are still counted, so that their
/// closing braces do not end the outer groups, but share the state of the
/// deepest one kept.
pub const MAX_GROUP_DEPTH: usize = 256;

/// Code page of `\'hh` escapes and 8-bit text when the document names none.
const DEFAULT_CODEPAGE: u32 = 1252;

/// Destinations whose text is not part of the body.
const SKIPPED_DESTINATIONS: &[&[u8]] = &[
    b"fonttbl",
    b"colortbl",
    b"stylesheet",
    b"info",
    b"pict",
    b"object",
    b"objdata",
    b"header",
    b"headerl",
    b"headerr",
    b"headerf",
    b"footer",
    b"footerl",
    b"footerr",
    b"footerf",
    b"footnote",
    b"annotation",
    b"fldinst",
    b"themedata",
    b"colorschememapping",
    b"datastore",
    b"latentstyles",
    b"listtable",
    b"listoverridetable",
    b"rsidtbl",
    b"generator",
    b"xmlnstbl",
    b"filetbl",
    b"revtbl",
    b"userprops",
    b"docvar",
    b"pgdsctbl",
    b"nonshppict",
    b"xe",
    b"tc",
    b"bkmkstart",
    b"bkmkend",
];

/// The text of a document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtfText {
    /// Lines separated by `\n`, as the document lays them out.
    pub text: String,
    /// For each line of `text` (split at `\n`): whether a non-blank
    /// character of it was painted with the colour asked for.
    pub painted: Vec<bool>,
    /// The text reached the cap; the rest of the document was not read.
    pub truncated: bool,
}

/// Formatting that a group inherits and restores when it ends.
#[derive(Clone, Copy, Debug)]
struct GroupState {
    /// In a destination whose text is not part of the body (or outside
    /// the document's outermost group).
    skip: bool,
    /// `\cfN`: index into the colour table.
    colour: u32,
    /// `\ucN`: bytes of fallback that follow each `\uN`.
    unicode_skip: u32,
}

/// Where text goes: code-page bytes are gathered and decoded in runs, so
/// that a multi-byte character written as two `\'hh` escapes decodes whole.
struct TextOut {
    text: String,
    bytes: Vec<u8>,
    codepage: u32,
    painted: Vec<bool>,
    line_painted: bool,
    /// A UTF-16 high surrogate from `\uN`, waiting for its low half.
    high_surrogate: Option<u16>,
}

impl TextOut {
    fn len(&self) -> usize {
        self.text.len() + self.bytes.len()
    }

    fn flush(&mut self) {
        if !self.bytes.is_empty() {
            self.text
                .push_str(&decode_string8(&self.bytes, self.codepage));
            self.bytes.clear();
        }
    }

    fn flush_surrogate(&mut self) {
        if self.high_surrogate.take().is_some() {
            self.text.push(char::REPLACEMENT_CHARACTER);
        }
    }

    fn newline(&mut self) {
        self.flush_surrogate();
        self.flush();
        self.text.push('\n');
        self.painted.push(self.line_painted);
        self.line_painted = false;
    }

    /// A byte of text in the document's code page.
    fn byte(&mut self, b: u8, painted: bool) {
        match b {
            b'\n' => return self.newline(),
            // Line breaks of the RTF source are not text; a NUL ends C
            // strings and is never text either.
            b'\r' | 0 => return,
            _ => {}
        }
        self.flush_surrogate();
        self.line_painted |= painted && !b.is_ascii_whitespace();
        self.bytes.push(b);
    }

    /// A character given by its code point (`\uN`, named symbols).
    fn char(&mut self, c: char, painted: bool) {
        self.flush_surrogate();
        self.flush();
        self.line_painted |= painted && !c.is_whitespace();
        self.text.push(c);
    }

    /// A UTF-16 unit from `\uN`.
    fn utf16(&mut self, unit: u16, painted: bool) {
        match unit {
            0xD800..=0xDBFF => {
                self.flush_surrogate();
                self.flush();
                self.high_surrogate = Some(unit);
            }
            0xDC00..=0xDFFF => {
                let c = match self.high_surrogate.take() {
                    Some(high) => char::decode_utf16([high, unit])
                        .next()
                        .and_then(Result::ok)
                        .unwrap_or(char::REPLACEMENT_CHARACTER),
                    None => char::REPLACEMENT_CHARACTER,
                };
                self.char(c, painted);
            }
            0 => {}
            _ => self.char(
                char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER),
                painted,
            ),
        }
    }

    fn finish(mut self, max_text: usize, truncated: bool) -> RtfText {
        self.flush_surrogate();
        self.flush();
        self.painted.push(self.line_painted);
        let mut text = self.text;
        let mut truncated = truncated;
        if text.len() > max_text {
            let mut cut = max_text;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            truncated = true;
        }
        let mut painted = self.painted;
        painted.truncate(text.bytes().filter(|&b| b == b'\n').count() + 1);
        RtfText {
            text,
            painted,
            truncated,
        }
    }
}

/// A control word: its letters and numeric parameter.
struct ControlWord<'a> {
    name: &'a [u8],
    param: Option<i64>,
}

/// Read the control word whose letters start at `at`; returns it and the
/// offset after it (and after the space that ends it, if any).
fn control_word(rtf: &[u8], at: usize) -> (ControlWord<'_>, usize) {
    let mut end = at;
    while rtf.get(end).is_some_and(u8::is_ascii_alphabetic) {
        end += 1;
    }
    let name = &rtf[at..end];
    let mut param = None;
    let negative = rtf.get(end) == Some(&b'-') && rtf.get(end + 1).is_some_and(u8::is_ascii_digit);
    let digits_at = if negative { end + 1 } else { end };
    if rtf.get(digits_at).is_some_and(u8::is_ascii_digit) {
        let mut value: i64 = 0;
        end = digits_at;
        while let Some(d) = rtf.get(end).filter(|d| d.is_ascii_digit()) {
            value = value.saturating_mul(10).saturating_add(i64::from(d - b'0'));
            end += 1;
        }
        param = Some(if negative { -value } else { value });
    }
    if rtf.get(end) == Some(&b' ') {
        end += 1;
    }
    (ControlWord { name, param }, end)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The text of `rtf`, at most `max_text` bytes of UTF-8, with the lines
/// that have text in colour `colour` (an index of the colour table) marked.
pub fn rtf_to_text(rtf: &[u8], max_text: usize, colour: u32) -> RtfText {
    let mut out = TextOut {
        text: String::new(),
        bytes: Vec::new(),
        codepage: DEFAULT_CODEPAGE,
        painted: Vec::new(),
        line_painted: false,
        high_surrogate: None,
    };
    // Outside the outermost group nothing is text.
    let mut state = GroupState {
        skip: true,
        colour: 0,
        unicode_skip: 1,
    };
    let mut saved: Vec<GroupState> = Vec::new();
    // Groups opened past MAX_GROUP_DEPTH (they share `state`).
    let mut unsaved_depth: u64 = 0;
    // Fallback bytes of the last `\uN` still to drop.
    let mut fallback = 0u32;
    let mut truncated = false;
    let mut at = 0;
    while let Some(&b) = rtf.get(at) {
        if out.len() >= max_text {
            truncated = true;
            break;
        }
        match b {
            b'{' => {
                at += 1;
                fallback = 0;
                if saved.len() < MAX_GROUP_DEPTH {
                    saved.push(state);
                    if saved.len() == 1 {
                        state.skip = false;
                    }
                } else {
                    unsaved_depth += 1;
                }
            }
            b'}' => {
                at += 1;
                fallback = 0;
                if unsaved_depth > 0 {
                    unsaved_depth -= 1;
                } else if let Some(outer) = saved.pop() {
                    state = outer;
                }
            }
            b'\r' | b'\n' => at += 1,
            b'\\' => {
                let Some(&next) = rtf.get(at + 1) else {
                    break;
                };
                if next.is_ascii_alphabetic() {
                    let (word, after) = control_word(rtf, at + 1);
                    at = after;
                    if word.name == b"bin" {
                        // Binary data: skipped whatever it holds.
                        let n =
                            usize::try_from(word.param.unwrap_or(0).max(0)).unwrap_or(usize::MAX);
                        at = at.saturating_add(n).min(rtf.len());
                        continue;
                    }
                    if fallback > 0 {
                        fallback -= 1;
                        continue;
                    }
                    apply_word(&word, &mut state, &mut out, &mut fallback, colour);
                } else if next == b'\'' {
                    let hex = rtf
                        .get(at + 2)
                        .and_then(|&h| hex_value(h))
                        .zip(rtf.get(at + 3).and_then(|&l| hex_value(l)));
                    match hex {
                        Some((h, l)) => {
                            at += 4;
                            if fallback > 0 {
                                fallback -= 1;
                            } else if !state.skip {
                                out.byte(h << 4 | l, state.colour == colour);
                            }
                        }
                        None => at += 2,
                    }
                } else {
                    at += 2;
                    if fallback > 0 {
                        fallback -= 1;
                        continue;
                    }
                    match next {
                        // An ignorable destination: skipped, as every one
                        // this reader does not know.
                        b'*' => state.skip = true,
                        _ if state.skip => {}
                        b'\\' | b'{' | b'}' => out.byte(next, state.colour == colour),
                        b'~' => out.char('\u{A0}', state.colour == colour),
                        b'_' => out.char('\u{2011}', state.colour == colour),
                        // A backslash before a line break is a paragraph.
                        b'\r' | b'\n' => out.newline(),
                        _ => {}
                    }
                }
            }
            _ => {
                at += 1;
                if fallback > 0 {
                    fallback -= 1;
                } else if !state.skip {
                    if b == b'\t' {
                        out.char('\t', false);
                    } else {
                        out.byte(b, state.colour == colour);
                    }
                }
            }
        }
    }
    out.finish(max_text, truncated)
}

/// What one control word does to the state and the text.
fn apply_word(
    word: &ControlWord<'_>,
    state: &mut GroupState,
    out: &mut TextOut,
    fallback: &mut u32,
    colour: u32,
) {
    let param_u32 = || word.param.and_then(|p| u32::try_from(p).ok());
    match word.name {
        b"ansicpg" => {
            if let Some(cp) = param_u32() {
                out.flush();
                out.codepage = cp;
            }
        }
        b"plain" => state.colour = 0,
        b"cf" => state.colour = param_u32().unwrap_or(0),
        b"uc" => state.unicode_skip = param_u32().unwrap_or(1),
        name if SKIPPED_DESTINATIONS.contains(&name) => state.skip = true,
        _ if state.skip => {}
        b"par" | b"line" | b"sect" | b"page" | b"row" => out.newline(),
        b"tab" | b"cell" => out.char('\t', false),
        b"u" => {
            if let Some(p) = word.param {
                // A signed 16-bit value: negative for units above 0x7FFF.
                out.utf16(p.rem_euclid(0x1_0000) as u16, state.colour == colour);
                *fallback = state.unicode_skip;
            }
        }
        _ => {
            let symbol = match word.name {
                b"emdash" => '\u{2014}',
                b"endash" => '\u{2013}',
                b"bullet" => '\u{2022}',
                b"lquote" => '\u{2018}',
                b"rquote" => '\u{2019}',
                b"ldblquote" => '\u{201C}',
                b"rdblquote" => '\u{201D}',
                b"emspace" | b"enspace" | b"qmspace" => ' ',
                _ => return,
            };
            out.char(symbol, state.colour == colour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rtf: &str) -> RtfText {
        rtf_to_text(rtf.as_bytes(), 1 << 20, 2)
    }

    /// The start of a real Outlook 2007 log (asposenet_SampleOstFile.ost,
    /// NID 2180260), as Outlook lays it out.
    const OUTLOOK_LOG: &str = "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0\\froman\\fcharset0\\fprq2 Arial;}{\\f1\\fswiss\\fprq2\\fcharset0 Arial;}}{\\colortbl\\red0\\green0\\blue0;\\red128\\green0\\blue0;\\red255\\green0\\blue0;}\\plain\\fs18\r\n\\uc1 1:55:00 Synchronizing local changes in folder '\\f1 Calendar\\f0 '\\par\r\n\\cf2 1:55:00 Synchronization of some deletions failed.\\plain\\fs18 \\par\r\n\\cf2 1:55:00 \\tab\r\n\\tab\r\n [0-130]\\plain\\fs18 \\par\r\n\\cf1 1:55:22 Not equal (conflict)\\plain\\fs18 \\par\r\n1:55:00 Done\\par\r\n}";

    #[test]
    fn outlook_log_text_and_red_lines() {
        let t = text(OUTLOOK_LOG);
        assert_eq!(
            t.text,
            "1:55:00 Synchronizing local changes in folder 'Calendar'\n\
             1:55:00 Synchronization of some deletions failed.\n\
             1:55:00 \t\t [0-130]\n\
             1:55:22 Not equal (conflict)\n\
             1:55:00 Done\n"
        );
        assert_eq!(t.painted, [false, true, true, false, false, false]);
        assert!(!t.truncated);
        // Colour 1 (dark red) is another colour.
        assert_eq!(
            rtf_to_text(OUTLOOK_LOG.as_bytes(), 1 << 20, 1).painted,
            [false, false, false, true, false, false]
        );
    }

    #[test]
    fn colour_ends_with_its_group_and_at_plain() {
        let t = text("{\\rtf1 a{\\cf2 red}\\par b\\par\\cf2 c\\cf0 \\par\\cf2 \\par\\plain {\\cf2 x\\plain y}\\par z}");
        assert_eq!(t.text, "ared\nb\nc\n\nxy\nz");
        assert_eq!(t.painted, [true, false, true, false, true, false]);
    }

    #[test]
    fn escapes_code_pages_and_unicode() {
        // \'e9 in windows-1252 and in windows-1251; \'0a is a line break.
        assert_eq!(text("{\\rtf1\\ansi caf\\'e9\\'0a x}").text, "caf\u{e9}\n x");
        assert_eq!(text("{\\rtf1\\ansi\\ansicpg1251 \\'e9}").text, "\u{439}");
        // Shift-JIS: two escapes, one character.
        assert_eq!(text("{\\rtf1\\ansicpg932 \\'82\\'a0}").text, "\u{3042}");
        // \uN with the default one-byte fallback, \uc2, \uc0, negative N,
        // a surrogate pair, a lone surrogate.
        assert_eq!(text("{\\rtf1 \\u233?x}").text, "\u{e9}x");
        assert_eq!(text("{\\rtf1\\uc2 \\u233\\'3f\\'3fx}").text, "\u{e9}x");
        assert_eq!(text("{\\rtf1\\uc0 \\u233 x}").text, "\u{e9}x");
        assert_eq!(text("{\\rtf1 \\u-4064?}").text, "\u{f020}");
        assert_eq!(text("{\\rtf1 \\u-10179?\\u-8704?}").text, "\u{1F600}");
        assert_eq!(text("{\\rtf1 \\u-10179?x}").text, "\u{FFFD}x");
        // Escaped braces and backslash, tab, line, symbols.
        assert_eq!(
            text("{\\rtf1 \\{a\\}\\\\\\tab b\\line c\\emdash\\~d}").text,
            "{a}\\\tb\nc\u{2014}\u{a0}d"
        );
    }

    #[test]
    fn destinations_are_skipped() {
        let t = text(
            "{\\rtf1{\\fonttbl{\\f0 Arial;}}{\\colortbl;\\red255\\green0\\blue0;}{\\stylesheet{\\s0 Normal;}}{\\info{\\title T}}{\\*\\generator Riched20;}{\\*\\unknown x}{\\pict\\bin3 }}}}body}",
        );
        assert_eq!(t.text, "body");
        // Text outside the document's group is not text.
        assert_eq!(text("before{\\rtf1 in}after").text, "in");
    }

    #[test]
    fn text_stops_at_the_cap() {
        let rtf = "{\\rtf1 ".to_string() + &"\\'e9".repeat(1000) + "}";
        let t = rtf_to_text(rtf.as_bytes(), 101, 2);
        assert!(t.truncated);
        assert!(t.text.len() <= 101);
        assert!(t.text.chars().all(|c| c == '\u{e9}'));
        let t = rtf_to_text(b"{\\rtf1 abc}", 3, 2);
        assert_eq!(t.text, "abc");
    }

    #[test]
    fn deep_nesting_is_not_recursion() {
        // A million groups: no stack overflow, the state stack stays
        // bounded, and closing braces still match.
        let n = 1_000_000;
        let mut rtf = b"{\\rtf1 a".to_vec();
        rtf.extend(std::iter::repeat_n(b'{', n));
        rtf.extend_from_slice(b"\\cf2 deep");
        rtf.extend(std::iter::repeat_n(b'}', n));
        rtf.extend_from_slice(b" b}after");
        let t = rtf_to_text(&rtf, 1 << 20, 2);
        assert_eq!(t.text, "adeep b");
        assert_eq!(t.painted, [true]);
        // Unbalanced braces either way.
        assert_eq!(text("}}}{\\rtf1 x").text, "x");
        assert_eq!(text("{\\rtf1 x}}}}y").text, "x");
    }

    #[test]
    fn truncated_and_garbage_input() {
        for rtf in [
            "",
            "{",
            "\\",
            "{\\",
            "{\\'",
            "{\\'4",
            "{\\rtf1 \\'zz",
            "{\\u",
            "{\\u-",
            "{\\cf-99999999999999999999999 x",
            "{\\bin99999999999999999999 x",
            "{\\bin-5 x}",
            "{\\uc99999999999 \\u65 abc}",
        ] {
            let t = text(rtf);
            assert!(t.text.len() < 10, "{rtf:?}: {t:?}");
            assert_eq!(t.painted.len(), t.text.matches('\n').count() + 1);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_bounded_consistent_text(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000), cap in 0usize..500) {
            let t = rtf_to_text(&bytes, cap, 2);
            proptest::prop_assert!(t.text.len() <= cap);
            proptest::prop_assert_eq!(t.painted.len(), t.text.matches('\n').count() + 1);
        }

        #[test]
        fn rtf_like_bytes_give_bounded_consistent_text(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "\\par ", "\\cf2 ", "\\plain ", "\\'e9", "\\u-10179?", "\\uc3 ", "\\*", "\\fonttbl ",
                    "\\bin4 ", "abc", "\\tab", " ", "\\", "'", "\r\n", "\\ansicpg932 ", "\\'82",
                ]),
                0..200,
            ),
        ) {
            let rtf: String = parts.concat();
            let t = rtf_to_text(rtf.as_bytes(), 300, 2);
            proptest::prop_assert!(t.text.len() <= 300);
            proptest::prop_assert_eq!(t.painted.len(), t.text.matches('\n').count() + 1);
        }
    }
}
