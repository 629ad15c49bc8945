//! The text of a synchronization log and what its lines say.
//!
//! Outlook writes its logs ("Synchronization Log:", "Modification
//! Resolution") as RTF only (PR_RTF_COMPRESSED, no PR_BODY), one line per
//! paragraph, each stamped with the time of day, and paints the lines that
//! report an error with colour 2 of the colour table (red); other clients
//! write plain PR_BODY logs. [`LogText`] is either, as lines; the
//! functions below read one line: the folder a step synchronizes, counts,
//! error codes, and the properties of a conflict resolution report; and
//! `parse_log` reads a whole log with them, matching the folders it names
//! against a [`LogIndex`]. See docs/format.md for what the real logs hold.
//!
//! Plain text code: no I/O, nothing of the file. The caller reads the text
//! (`super::analyze`, through `ost_props::body`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

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
/// Lines of a log body kept in [`super::SyncLog::excerpt`].
const EXCERPT_LINES: usize = 12;
/// Characters kept of one excerpt line.
const EXCERPT_LINE_CHARS: usize = 200;
/// Lines of a log body parsed for folders and errors; logs are short, a
/// hostile body must not make the analysis quadratic.
const MAX_LOG_LINES: usize = 5000;
/// Error codes kept per log and per folder.
pub(super) const MAX_CODES: usize = 32;
/// Red lines, folder names and counts kept per log.
const MAX_LOG_ENTRIES: usize = 64;

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

impl Resolution {
    pub fn line(&mut self, line: &str) {
        let rest = after_time(line).trim_end();
        for (label, remote) in [("Local: ", false), ("Remote: ", true)] {
            if let Some(value) = rest.strip_prefix(label) {
                if let Some(p) = self.last.and_then(|i| self.properties.get_mut(i)) {
                    let slot = if remote { &mut p.remote } else { &mut p.local };
                    *slot = Some(first_chars(value, MAX_VALUE_CHARS).to_owned());
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
            p.actions
                .push(first_chars(action, MAX_VALUE_CHARS).to_owned());
        }
        p.conflict |= action.starts_with("Not equal");
        self.last = Some(index);
    }

    pub fn finish(self) -> Vec<ResolvedProperty> {
        self.properties
    }
}

/// Where a log body says "error", "failed" or "failure" (in any ASCII
/// case): the byte offsets where those words start, in order. Found with
/// memchr's vectorised substring search over one lowercased copy of the
/// body, rather than a search per line and word.
struct FailureWords {
    starts: Vec<usize>,
    /// The first start not yet behind the lines already asked about.
    next: usize,
}

impl FailureWords {
    fn new(text: &str) -> FailureWords {
        // Lowered while copied: one pass, not a copy and a pass.
        let lower: Vec<u8> = text.bytes().map(|b| b.to_ascii_lowercase()).collect();
        let mut starts: Vec<usize> = memchr::memmem::find_iter(&lower, b"error").collect();
        starts.extend(memchr::memmem::find_iter(&lower, b"fail").filter(|&i| {
            let rest = &lower[i + 4..];
            rest.starts_with(b"ed") || rest.starts_with(b"ure")
        }));
        starts.sort_unstable();
        FailureWords { starts, next: 0 }
    }

    /// Whether one of the words starts in `range`. Ranges must be asked in
    /// increasing, non-overlapping order (the lines of the body).
    fn any_in(&mut self, range: std::ops::Range<usize>) -> bool {
        while self.starts.get(self.next).is_some_and(|&s| s < range.start) {
            self.next += 1;
        }
        // A word is letters only, so one that starts in a trimmed line ends
        // in it too.
        self.starts.get(self.next).is_some_and(|&s| s < range.end)
    }
}

/// Whether a line reports an error: a failure code, or "error", "failed" or
/// "failure" in any ASCII case.
#[cfg(test)]
fn is_error_line(line: &str, codes: &[String]) -> bool {
    !codes.is_empty() || FailureWords::new(line).any_in(0..line.len())
}

/// Texts in single, double or typographic quotes.
fn quoted(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    // Every opening quote starts with ', " or 0xE2 (the lead byte of U+2018
    // and U+201C), and most log lines have none: find those bytes first.
    while let Some(pos) = memchr::memchr3(b'\'', b'"', 0xE2, rest.as_bytes()) {
        // `pos` is at a character boundary: an ASCII byte or a lead byte.
        let tail = &rest[pos..];
        let Some(open) = tail.chars().next() else {
            break;
        };
        let close = match open {
            '\'' | '"' => open,
            '\u{2018}' => '\u{2019}',
            '\u{201C}' => '\u{201D}',
            // Another character with lead byte 0xE2.
            _ => {
                rest = &tail[open.len_utf8()..];
                continue;
            }
        };
        let after = &tail[open.len_utf8()..];
        match after.find(close) {
            Some(end) => {
                out.push(&after[..end]);
                rest = &after[end + close.len_utf8()..];
            }
            None => break,
        }
    }
    out
}

/// The folders of a store by name and by path below the top, which log
/// lines are matched against. Built once per store (`LogIndex::new`, in
/// `super::analyze`, from the store's folders).
pub struct LogIndex {
    by_name: HashMap<String, Vec<usize>>,
    paths: Vec<(String, usize)>,
}

impl LogIndex {
    /// An index of `folders`: each its index among the store's folders,
    /// its name and its path. Names and paths are matched ignoring case.
    pub fn from_folders<'f>(
        folders: impl IntoIterator<Item = (usize, &'f str, &'f str)>,
    ) -> LogIndex {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut paths = Vec::new();
        for (i, name, path) in folders {
            by_name.entry(name.to_lowercase()).or_default().push(i);
            paths.push((path.to_lowercase(), i));
        }
        LogIndex { by_name, paths }
    }

    /// Folders a quoted text names: a path ('Inbox\Sub', '\\Mailbox\Inbox')
    /// by its trailing components, else a bare name.
    fn lookup(&self, text: &str) -> Vec<usize> {
        let text = text.trim().to_lowercase();
        if text.is_empty() {
            return Vec::new();
        }
        let parts: Vec<&str> = text.split(['\\', '/']).filter(|p| !p.is_empty()).collect();
        if parts.len() > 1 {
            let suffix = format!("/{}", parts.join("/"));
            let mut hits: Vec<usize> = self
                .paths
                .iter()
                .filter(|(p, _)| p.ends_with(&suffix))
                .map(|&(_, i)| i)
                .collect();
            if hits.is_empty() {
                // "\\Mailbox - Name\Inbox": the first part is the store's
                // name, which the folder tree does not have.
                let suffix = format!("/{}", parts[1..].join("/"));
                hits = self
                    .paths
                    .iter()
                    .filter(|(p, _)| p.ends_with(&suffix))
                    .map(|&(_, i)| i)
                    .collect();
            }
            return hits;
        }
        self.by_name.get(&text).cloned().unwrap_or_default()
    }
}

/// The first `n` characters of `text` (all of it when shorter).
fn first_chars(text: &str, n: usize) -> &str {
    // Log text is ASCII almost always, where characters are bytes: cut
    // there without walking the characters.
    let head = &text.as_bytes()[..text.len().min(n)];
    if head.is_ascii() {
        return &text[..head.len()];
    }
    text.char_indices().nth(n).map_or(text, |(i, _)| &text[..i])
}

/// Whether a log line starts a step ("11:02:10 Synchronizing local changes
/// in folder 'Inbox'"): after the time stamp, it begins with
/// "Synchronizing ". "Error synchronizing message ..." inside a step does
/// not, nor does "Synchronization of some deletions failed.", an error
/// line of the step (asposenet_SampleOstFile.ost, NID 2180260).
fn starts_step(line: &str) -> bool {
    after_time(line)
        .get(..14)
        .is_some_and(|head| head.eq_ignore_ascii_case("synchronizing "))
}

/// The lines of a body as `str::lines` splits them (at \n, a trailing \r
/// dropped), trimmed, each with the byte offset where its trimmed text
/// starts in the body.
fn log_lines(body: &str) -> impl Iterator<Item = (usize, &str)> {
    // `split_inclusive('\n')`, with the memchr crate's vectorised search
    // (the standard library's searches a word at a time).
    let mut offset = 0;
    std::iter::from_fn(move || {
        let rest = body.get(offset..).filter(|r| !r.is_empty())?;
        let len = memchr::memchr(b'\n', rest.as_bytes()).map_or(rest.len(), |i| i + 1);
        // After a '\n' (ASCII) or at the end: a character boundary.
        let raw = rest.get(..len)?;
        let line_start = offset;
        offset += len;
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim();
        Some((line_start + (line.len() - line.trim_start().len()), trimmed))
    })
}

/// What [`parse_log`] finds in a log's text (see [`super::SyncLog`]).
pub(super) struct ParsedLog {
    pub(super) excerpt: Vec<String>,
    pub(super) error_lines: u64,
    pub(super) red_lines: Vec<String>,
    pub(super) error_codes: Vec<String>,
    /// The folders named, in the order of their indices in the store.
    pub(super) folders: Vec<FolderErrors>,
    pub(super) folder_names: Vec<String>,
    pub(super) counts: Vec<LogCount>,
    pub(super) started: Option<String>,
    pub(super) ended: Option<String>,
    pub(super) properties: Vec<ResolvedProperty>,
}

/// A folder a log names and the errors it reports while that folder is
/// synchronized.
pub(super) struct FolderErrors {
    /// The folder's index in the store's folders (as [`LogIndex`] has it).
    pub(super) folder: usize,
    pub(super) errors: u64,
    /// The codes of those error lines, in code order.
    pub(super) codes: Vec<String>,
}

/// Parse a log's text: the folders it names and the errors reported for
/// each. A line that starts a step ("Synchronizing ...") sets the folders
/// the following lines are about, and "Done" ends them; error lines count
/// for those folders.
pub(super) fn parse_log(log: &LogText, index: &LogIndex) -> ParsedLog {
    let text = log.text.as_str();
    let mut excerpt = Vec::new();
    let mut error_lines = 0;
    let mut red_lines = Vec::new();
    let mut all_codes: Vec<String> = Vec::new();
    let mut per_folder: BTreeMap<usize, (u64, BTreeSet<String>)> = BTreeMap::new();
    let mut current: Vec<usize> = Vec::new();
    let mut folder_names: Vec<String> = Vec::new();
    let mut step_name: Option<&str> = None;
    let mut counts = Vec::new();
    let (mut started, mut ended) = (None, None);
    let mut resolution = Resolution::default();
    let mut failure_words = FailureWords::new(text);
    for (line_no, (start, trimmed)) in log_lines(text).enumerate().take(MAX_LOG_LINES) {
        if trimmed.is_empty() {
            continue;
        }
        if excerpt.len() < EXCERPT_LINES {
            excerpt.push(first_chars(trimmed, EXCERPT_LINE_CHARS).to_owned());
        }
        if let Some(stamp) = time_stamp(trimmed) {
            started.get_or_insert(stamp);
            ended = Some(stamp);
        }
        let named: Vec<usize> = quoted(trimmed)
            .into_iter()
            .flat_map(|q| index.lookup(q))
            .collect();
        if starts_step(trimmed) {
            current = named.clone();
            step_name = step_folder(trimmed);
            if let Some(name) = step_name {
                if !folder_names.iter().any(|n| n == name) && folder_names.len() < MAX_LOG_ENTRIES {
                    folder_names.push(name.to_owned());
                }
            }
        } else if is_done(trimmed) {
            // What follows (the offline address book, ...) is about no
            // folder of the last step.
            current.clear();
            step_name = None;
        } else {
            for i in &named {
                if !current.contains(i) {
                    current.push(*i);
                }
            }
        }
        for &i in &named {
            per_folder.entry(i).or_default();
        }
        if let Some((count, what)) = count_line(trimmed) {
            if counts.len() < MAX_LOG_ENTRIES {
                counts.push(LogCount {
                    folder: step_name.map(str::to_owned),
                    count,
                    what: first_chars(what, EXCERPT_LINE_CHARS).to_owned(),
                });
            }
        }
        let codes = line_codes(trimmed);
        // Always asked, so that the words of this line are passed.
        let failure_word = failure_words.any_in(start..start + trimmed.len());
        let is_error = match &log.red {
            Some(red) => red.get(line_no).copied().unwrap_or(false),
            None => failure_word || codes.iter().any(|c| is_failure_code(c)),
        };
        if is_error {
            error_lines += 1;
            if log.red.is_some() && red_lines.len() < MAX_LOG_ENTRIES {
                red_lines.push(first_chars(trimmed, EXCERPT_LINE_CHARS).to_owned());
            }
            for &i in &current {
                let entry = per_folder.entry(i).or_default();
                entry.0 += 1;
                entry.1.extend(codes.iter().cloned());
            }
        }
        for code in codes {
            if !all_codes.contains(&code) && all_codes.len() < MAX_CODES {
                all_codes.push(code);
            }
        }
        resolution.line(trimmed);
    }
    let log_folders = per_folder
        .into_iter()
        .map(|(folder, (errors, codes))| FolderErrors {
            folder,
            errors,
            codes: codes.into_iter().take(MAX_CODES).collect(),
        })
        .collect();
    ParsedLog {
        excerpt,
        error_lines,
        red_lines,
        error_codes: all_codes,
        folders: log_folders,
        folder_names,
        counts,
        started: started.map(str::to_owned),
        ended: ended.map(str::to_owned),
        properties: resolution.finish(),
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

    proptest::proptest! {
        #[test]
        fn log_lines_match_str_lines(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["\n", "\r", "\r\n", " ", "\t", "ab", "\u{e9}", "x y"]),
                0..40,
            ),
        ) {
            let body: String = parts.concat();
            let got: Vec<(usize, &str)> = log_lines(&body).collect();
            let want: Vec<&str> = body.lines().map(str::trim).collect();
            proptest::prop_assert_eq!(got.iter().map(|&(_, l)| l).collect::<Vec<_>>(), want);
            for &(start, line) in &got {
                proptest::prop_assert_eq!(&body[start..start + line.len()], line);
            }
        }

    }

    #[test]
    fn first_chars_counts_characters_not_bytes() {
        for text in [
            "",
            "abc",
            "Gr\u{fc}\u{df}e aus K\u{f6}ln",
            "\u{1F600}x\u{e9}",
            "ascii then \u{e9}\u{e9}",
        ] {
            for n in 0..20 {
                let want: String = text.chars().take(n).collect();
                assert_eq!(first_chars(text, n), want, "{text:?} {n}");
            }
        }
    }

    #[test]
    fn quoted_texts() {
        assert_eq!(
            quoted("Synchronizing local changes in folder 'Inbox' and \"Sent\""),
            ["Inbox", "Sent"]
        );
        assert_eq!(quoted("no 'close"), Vec::<&str>::new());
        // Typographic quotes, and other characters that share their lead
        // byte (U+2013, U+2026) in between.
        assert_eq!(
            quoted("a \u{2013} \u{2018}Inbox\u{2019} \u{2026} \u{201C}Sent Items\u{201D} 'x'"),
            ["Inbox", "Sent Items", "x"]
        );
        assert_eq!(quoted("\u{2018}unclosed 'a'"), Vec::<&str>::new());
    }

    #[test]
    fn log_lines_are_str_lines_with_offsets() {
        for body in [
            "",
            "\n",
            "a",
            "a\n",
            "\n\nb",
            "x\r\n",
            "\u{e9}\n\u{1F600}\n",
        ] {
            let got: Vec<&str> = log_lines(body).map(|(_, l)| l).collect();
            let want: Vec<&str> = body.lines().map(str::trim).collect();
            assert_eq!(got, want, "{body:?}");
        }
        let body = "  first line\r\n\tError here \r\n\n\r\nlast failed\rx\nend";
        let got: Vec<(usize, &str)> = log_lines(body).collect();
        let want: Vec<&str> = body.lines().map(str::trim).collect();
        assert_eq!(got.iter().map(|&(_, l)| l).collect::<Vec<_>>(), want);
        for &(start, line) in &got {
            assert_eq!(&body[start..start + line.len()], line);
        }
        // Failure words, asked line by line in order.
        let mut words = FailureWords::new(body);
        let flags: Vec<bool> = got
            .iter()
            .map(|&(start, line)| words.any_in(start..start + line.len()))
            .collect();
        assert_eq!(flags, [false, true, false, false, true, false]);
    }

    #[test]
    fn error_lines_ignore_ascii_case() {
        assert!(is_error_line("11:02 ERROR in folder", &[]));
        assert!(is_error_line("upload Failed.", &[]));
        assert!(is_error_line("a FAILURE", &[]));
        assert!(!is_error_line("failing, errand, fail", &[]));
        assert!(!is_error_line("", &[]));
        assert!(is_error_line("", &["0x80004005".to_string()]));
        assert!(is_error_line("xxErRoR", &[]));
        assert!(!is_error_line("erro", &[]));
        assert!(!is_error_line("fail\u{e9}d \u{c9}rror", &[]));
    }
}
