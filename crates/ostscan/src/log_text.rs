//! The text of a synchronization log and what its lines say.
//!
//! Outlook writes its logs ("Synchronization Log:", "Modification
//! Resolution") as RTF only (PR_RTF_COMPRESSED, no PR_BODY), one line per
//! paragraph, each stamped with the time of day, and paints the lines that
//! report an error with colour 2 of the colour table (red); other clients
//! write plain PR_BODY logs. [`LogText`] is either, as lines; the
//! functions below read one line: the folder a step synchronizes, counts,
//! error codes, and the properties of a conflict resolution report. See
//! docs/format.md for what the real logs hold.

use serde::Serialize;

use crate::rtf::rtf_to_text;

/// Colour-table index Outlook paints error lines with: red (255, 0, 0) in
/// the table every real log carries (black, dark red, red).
pub const RED: u32 = 2;

/// Characters kept of one value of a resolution report.
const MAX_VALUE_CHARS: usize = 200;
/// Properties kept of one resolution report.
const MAX_PROPERTIES: usize = 64;
/// Actions kept per property.
const MAX_ACTIONS: usize = 8;

/// Where a log's text was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSource {
    /// PR_BODY (0x1000): plain text, as clients other than Outlook write.
    Body,
    /// PR_RTF_COMPRESSED (0x1009), as Outlook writes its logs.
    RtfCompressed,
}

/// A log's text: lines separated by `\n`, trailing blank lines removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogText {
    pub text: String,
    /// For an RTF log, per line of `text`: whether Outlook painted it red.
    /// `None` for a plain body, which has no colours.
    pub red: Option<Vec<bool>>,
    pub source: TextSource,
    /// Only the start of the log was read.
    pub truncated: bool,
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut at = max;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text.truncate(at);
    true
}

impl LogText {
    /// A plain body, `cut_short` when only its start was read. Lines are
    /// split as `str::lines` does (`\n`, a `\r` before it dropped).
    pub fn from_body(body: &str, cut_short: bool, max_bytes: usize) -> LogText {
        // `lines` then `join` only drops the \r of \r\n line ends: a body
        // without any is copied as it is (most are; this runs per log).
        let mut text = if memchr::memchr(b'\r', body.as_bytes()).is_none() {
            body.to_owned()
        } else {
            body.lines().collect::<Vec<_>>().join("\n")
        };
        let cut_here = cut(&mut text, max_bytes);
        text.truncate(text.trim_end().len());
        LogText {
            text,
            red: None,
            source: TextSource::Body,
            truncated: cut_short || cut_here,
        }
    }

    /// The RTF of PR_RTF_COMPRESSED, `cut_short` when only its start was
    /// decompressed.
    pub fn from_rtf(rtf: &[u8], cut_short: bool, max_bytes: usize) -> LogText {
        let read = rtf_to_text(rtf, max_bytes, RED);
        let mut text = read.text;
        text.truncate(text.trim_end().len());
        let mut red = read.painted;
        red.truncate(text.matches('\n').count() + 1);
        LogText {
            text,
            red: Some(red),
            source: TextSource::RtfCompressed,
            truncated: cut_short || read.truncated,
        }
    }
}

/// A line without its leading time stamp ("16:37:22 ", "1:55:00 ").
pub fn after_time(line: &str) -> &str {
    line.trim_start_matches(|c: char| {
        c.is_ascii_digit() || c == ':' || c == '.' || c.is_whitespace()
    })
}

/// The time stamp a line starts with: `H:MM:SS` or `HH:MM:SS`.
pub fn time_stamp(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let end = line
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(line.len());
    let stamp = &line[..end];
    let parts: Vec<&str> = stamp.split(':').collect();
    let shape = parts.len() == 3
        && (1..=2).contains(&parts[0].len())
        && parts[1].len() == 2
        && parts[2].len() == 2;
    shape.then_some(stamp)
}

/// Whether a line ends a synchronization ("16:37:48 Done"): what follows is
/// about no folder (the offline address book, another pass).
pub fn is_done(line: &str) -> bool {
    after_time(line).trim_end() == "Done"
}

/// The folder a step line synchronizes: NAME in "... in folder 'NAME'"
/// (up to the line's last quote, as a name may hold an apostrophe).
pub fn step_folder(line: &str) -> Option<&str> {
    const MARK: &str = " in folder '";
    let start = line.find(MARK)? + MARK.len();
    let rest = &line[start..];
    let end = rest.rfind('\'')?;
    Some(&rest[..end])
}

/// A count line ("16:37:46 \t   2397 item(s) added to offline folder"):
/// the number and what it counts.
pub fn count_line(line: &str) -> Option<(u64, &str)> {
    let line = line.trim();
    let rest = match time_stamp(line) {
        Some(stamp) => &line[line.find(stamp)? + stamp.len()..],
        None => line,
    }
    .trim_start();
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let what = &rest[digits..];
    if digits == 0 || !what.starts_with(char::is_whitespace) || !what.contains("(s)") {
        return None;
    }
    Some((rest[..digits].parse().ok()?, what.trim_start()))
}

/// A code is a failure: an HRESULT with the severity bit set.
pub fn is_failure_code(code: &str) -> bool {
    code.strip_prefix("0x")
        .and_then(|hex| hex.get(..1))
        .and_then(|d| u8::from_str_radix(d, 16).ok())
        .is_some_and(|d| d >= 8)
}

/// ASCII letters and digits: the bytes of a word.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Codes in a line, in the order they appear: Outlook's error detail
/// `[n-m]` (decimal, e.g. `[0-130]`); `0x` + 8 hex digits, whatever the
/// value (`0X80190194`, and the property tags of a resolution report);
/// and a bare word of 8 hex digits with the severity bit set (the HRESULT
/// of `[8004010F-0-0-560]`). Hex is upper-cased after a lower `0x`.
pub fn line_codes(line: &str) -> Vec<String> {
    let bytes = line.as_bytes();
    // Most lines have neither a bracket nor 8 hex digits in a row: every
    // byte of every log comes through here.
    if memchr::memchr(b'[', bytes).is_none() && !has_eight_hex_digits(bytes) {
        return Vec::new();
    }
    scan_codes(line)
}

/// Whether `bytes` holds 8 ASCII hex digits in a row: the prefilter of
/// [`line_codes`]. A byte loop: word-at-a-time (SWAR) and SSE2 versions
/// were no faster in a whole scan, and were removed (docs/performance.md,
/// "Vector code").
fn has_eight_hex_digits(bytes: &[u8]) -> bool {
    let mut run = 0;
    bytes.iter().any(|b| {
        run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
        run >= 8
    })
}

/// [`line_codes`] without its prefilter: a scan of every byte.
fn scan_codes(line: &str) -> Vec<String> {
    let bytes = line.as_bytes();
    let mut codes = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'[' {
            if let Some(len) = bracket_code(&bytes[at..]) {
                codes.push(line[at..at + len].to_string());
                at += len;
                continue;
            }
            at += 1;
            continue;
        }
        if !is_word_byte(bytes[at]) {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && is_word_byte(bytes[at]) {
            at += 1;
        }
        let word = &bytes[start..at];
        let (digits, prefixed) = match word {
            [b'0', b'x' | b'X', rest @ ..] => (rest, true),
            _ => (word, false),
        };
        if digits.len() == 8 && digits.iter().all(u8::is_ascii_hexdigit) {
            let code = format!("0x{}", String::from_utf8_lossy(digits).to_ascii_uppercase());
            if prefixed || is_failure_code(&code) {
                codes.push(code);
            }
        }
    }
    codes
}

/// The length of `[n-m]` (two decimal numbers of up to 10 digits) at the
/// start of `bytes`.
fn bracket_code(bytes: &[u8]) -> Option<usize> {
    let number = |from: usize| -> usize {
        bytes[from.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let first = number(1);
    if !(1..=10).contains(&first) || bytes.get(1 + first) != Some(&b'-') {
        return None;
    }
    let second = number(2 + first);
    let close = 2 + first + second;
    ((1..=10).contains(&second) && bytes.get(close) == Some(&b']')).then_some(close + 1)
}

/// A count line of a log: a number of items of a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogCount {
    /// NAME of the step's "... in folder 'NAME'" line, if the step has one.
    pub folder: Option<String>,
    pub count: u64,
    /// What is counted, as written ("item(s) added to offline folder").
    pub what: String,
}

/// A property a "Modification Resolution" report names, with what Outlook
/// did with it while resolving the conflict between the local and the
/// server copy of an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedProperty {
    /// The property tag as the report writes it, upper-cased after `0x`
    /// (for a named property, the id the store mapped its name to).
    pub tag: String,
    /// The report calls it a named property.
    pub named: bool,
    /// What the report did with it, in order: "Ignore", "Compare", "Last
    /// writer", "Overwrite", "Compare (conflict)", "Not equal (conflict)",
    /// "Conflict Merge", ...
    pub actions: Vec<String>,
    /// The values printed for it ("{I4:4}", "{Error (0x8004010F)}").
    pub local: Option<String>,
    pub remote: Option<String>,
    /// A "Not equal" line names it: the two copies disagreed on it.
    pub conflict: bool,
}

/// The properties of a resolution report, read line by line.
#[derive(Default)]
pub struct Resolution {
    properties: Vec<ResolvedProperty>,
    /// The property the last action line named: "Local:" and "Remote:"
    /// lines that follow are its values.
    last: Option<usize>,
}

fn first_chars(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

impl Resolution {
    pub fn line(&mut self, line: &str) {
        let rest = after_time(line).trim_end();
        for (label, remote) in [("Local: ", false), ("Remote: ", true)] {
            if let Some(value) = rest.strip_prefix(label) {
                if let Some(p) = self.last.and_then(|i| self.properties.get_mut(i)) {
                    let slot = if remote { &mut p.remote } else { &mut p.local };
                    *slot = Some(first_chars(value, MAX_VALUE_CHARS));
                }
                return;
            }
        }
        const MARK: &str = "property: ";
        // Every line of every log comes here: memchr's substring search
        // (the standard library's sets up a two-way searcher per call).
        let Some(at) = memchr::memmem::find(rest.as_bytes(), MARK.as_bytes()) else {
            return;
        };
        let tag = rest[at + MARK.len()..].trim();
        let [b'0', b'x' | b'X', digits @ ..] = tag.as_bytes() else {
            return;
        };
        if digits.len() != 8 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return;
        }
        let tag = format!("0x{}", tag[2..].to_ascii_uppercase());
        let head = rest[..at].trim_end();
        let (action, named) = match head.strip_suffix(" named") {
            Some(action) => (action, true),
            None => (head, false),
        };
        let index = match self.properties.iter().position(|p| p.tag == tag) {
            Some(i) => i,
            None if self.properties.len() < MAX_PROPERTIES => {
                self.properties.push(ResolvedProperty {
                    tag,
                    named,
                    actions: Vec::new(),
                    local: None,
                    remote: None,
                    conflict: false,
                });
                self.properties.len() - 1
            }
            None => {
                self.last = None;
                return;
            }
        };
        let p = &mut self.properties[index];
        if p.actions.len() < MAX_ACTIONS {
            p.actions.push(first_chars(action, MAX_VALUE_CHARS));
        }
        p.conflict |= action.starts_with("Not equal");
        self.last = Some(index);
    }

    pub fn finish(self) -> Vec<ResolvedProperty> {
        self.properties
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn eight_hex_digits_in_a_row(
            bytes in proptest::collection::vec(
                proptest::sample::select(b"0a9FfGx \xe9-".to_vec()), 0..300),
        ) {
            let naive = bytes.windows(8).any(|w| w.iter().all(u8::is_ascii_hexdigit));
            proptest::prop_assert_eq!(has_eight_hex_digits(&bytes), naive);
        }
    }

    #[test]
    fn codes_as_outlook_writes_them() {
        assert_eq!(line_codes("1:55:00 \t\t [0-130]"), ["[0-130]"]);
        assert_eq!(line_codes("16:38:27 \t0X80190194"), ["0x80190194"]);
        assert_eq!(
            line_codes("Compare named property: 0x00150003"),
            ["0x00150003"]
        );
        assert_eq!(line_codes("Remote: {Error (0x8004010f)}"), ["0x8004010F"]);
        assert_eq!(line_codes("\t\t [8004010F-0-0-560]"), ["0x8004010F"]);
        assert_eq!(
            line_codes("[0-0] then [12-3] and 0x80040115"),
            ["[0-0]", "[12-3]", "0x80040115"]
        );
        // Not codes: longer hex, a bare word without the severity bit,
        // brackets of other shapes, the MailboxId of a server name.
        for line in [
            "LPB:0x00000000975647AD64823B458DACB3F7F1E8D53E",
            "Downloading 12345678 items",
            "x80040110 0x8004011 0x800401101",
            "[0-] [-1] [a-b] [0-0-0] [12345678901-0] [0-1",
            "'https://outlook.office365.com/mapi/emsmdb/?MailboxId=00030000-40'",
        ] {
            assert!(
                line_codes(line).is_empty(),
                "{line}: {:?}",
                line_codes(line)
            );
        }
        assert_eq!(
            line_codes("0X80070005;c0000005\u{e9}80004005"),
            ["0x80070005", "0xC0000005", "0x80004005"]
        );
        assert!(is_failure_code("0x80190194") && !is_failure_code("0x00150003"));
        assert!(!is_failure_code("[0-130]"));
    }

    proptest::proptest! {
        /// The prefilter never hides a code the full scan finds.
        #[test]
        fn prefilter_never_hides_a_code(
            words in proptest::collection::vec(
                proptest::sample::select(vec![
                    "8004010F", "0x80040115", "0X8", "c0000005", "12345678", "deadbeef",
                    "deadbeefcafe", "x", " ", "-", "[", "]", "0", "\u{e9}", "Error", "F", "abc", "130",
                ]),
                0..24,
            ),
        ) {
            let line: String = words.concat();
            proptest::prop_assert_eq!(line_codes(&line), scan_codes(&line));
        }
    }

    #[test]
    fn step_lines() {
        assert_eq!(
            step_folder("16:37:22 Synchronizing server changes in folder 'Calendar'"),
            Some("Calendar")
        );
        assert_eq!(
            step_folder("Synchronizing local changes in folder 'John's mail'"),
            Some("John's mail")
        );
        assert_eq!(step_folder("Synchronizing Mailbox 'Saqib Razzaq'"), None);
        assert_eq!(step_folder("in folder 'unclosed"), None);
        assert!(is_done("16:37:48 Done") && is_done("1:55:00 Done "));
        assert!(!is_done("16:37:48 Done with it"));
        assert_eq!(time_stamp("16:37:22 Synchronizing"), Some("16:37:22"));
        assert_eq!(time_stamp("1:55:00 Done"), Some("1:55:00"));
        assert_eq!(time_stamp("Done"), None);
        assert_eq!(time_stamp("2397 item(s)"), None);
        assert_eq!(
            count_line("16:37:46 \t   2397 item(s) added to offline folder"),
            Some((2397, "item(s) added to offline folder"))
        );
        assert_eq!(
            count_line("13:41:51 \t   1 view(s)/form(s) added to offline folder"),
            Some((1, "view(s)/form(s) added to offline folder"))
        );
        assert_eq!(count_line("16:37:46 Downloading from server 'x'"), None);
        assert_eq!(count_line("16:37:46 item(s)"), None);
        assert_eq!(count_line("7 item(s) added"), Some((7, "item(s) added")));
        assert_eq!(count_line("16:37:46 7item(s)"), None);
    }

    #[test]
    fn resolution_report_properties() {
        let mut r = Resolution::default();
        for line in [
            "1:55:22 Local subject: {SU:05 - test}",
            "1:55:22 Ignore property: 0x3FFA001F",
            "1:55:22 Compare named property: 0x82180003",
            "1:55:22 Local: {I4:9}",
            "1:55:22 Compare (conflict) named property: 0x82180003",
            "1:55:22 Local: {I4:4}",
            "1:55:22 Remote: {I4:5}",
            "1:55:22 Not equal (conflict) named property: 0x82180003",
            "1:55:22 Conflict Merge named property: 0x82180003",
            "1:55:22 Compare named property: 0x8218000",
        ] {
            r.line(line);
        }
        let props = r.finish();
        assert_eq!(props.len(), 2);
        assert_eq!(props[0].tag, "0x3FFA001F");
        assert!(!props[0].named && !props[0].conflict);
        assert_eq!(props[0].actions, ["Ignore"]);
        let p = &props[1];
        assert!(p.named && p.conflict);
        assert_eq!(
            p.actions,
            [
                "Compare",
                "Compare (conflict)",
                "Not equal (conflict)",
                "Conflict Merge"
            ]
        );
        assert_eq!(p.local.as_deref(), Some("{I4:4}"));
        assert_eq!(p.remote.as_deref(), Some("{I4:5}"));
    }

    #[test]
    fn text_of_a_body_and_of_rtf() {
        let t = LogText::from_body("a\r\nb\n\n\r\n", false, 100);
        assert_eq!(t.text, "a\nb");
        assert_eq!(t.red, None);
        let t = LogText::from_body("\u{e9}\u{e9}\u{e9}", false, 3);
        assert_eq!(t.text, "\u{e9}");
        assert!(t.truncated);
        let t = LogText::from_rtf(b"{\\rtf1 a\\par\\cf2 b\\plain\\par\\par}", false, 100);
        assert_eq!(t.text, "a\nb");
        assert_eq!(t.red, Some(vec![false, true]));
        assert_eq!(t.source, TextSource::RtfCompressed);
    }
}
