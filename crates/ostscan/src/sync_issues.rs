//! What Outlook itself recorded about synchronization: the *Sync Issues*
//! folder tree, conflict items, and the synchronization logs.
//!
//! Outlook finds its Sync Issues folders through the Inbox's
//! PR_ADDITIONAL_REN_ENTRYIDS (0x36D8, PT_MV_BINARY): value 0 is Conflicts,
//! 1 Sync Issues, 2 Local Failures, 3 Server Failures, 4 Junk E-mail. Each
//! value is an entry id: a PST entry id ([MS-PST] 2.4.3.2: 4 flag bytes,
//! the store's 16-byte PR_RECORD_KEY, a 4-byte NID) in stores Outlook made,
//! or an Exchange Folder EntryID ([MS-OXCDATA] 2.2.4.1, 46 bytes: flags,
//! provider UID, folder type, database GUID, 6-byte global counter, pad) in
//! stores copied from a mailbox, which names the folder by the same 22 bytes
//! as its PR_SOURCE_KEY. When neither resolves, the folders are found by
//! their English names.
//!
//! [`analyze`] lists the conflict items (PR_CONFLICT_ENTRYID 0x3FF0, or
//! msInConflict 0x800 in PR_MESSAGE_STATUS 0x0E17) with the item each one
//! conflicts with, and parses the log messages of the Sync Issues tree
//! (their text read only for those: PR_BODY, else PR_RTF_COMPRESSED, the
//! only form Outlook writes its own logs in) into the folders they name,
//! the lines Outlook painted red and the codes they report. [`sync010`] turns that evidence, together with a
//! scan's per-folder SYNC00x counts, into SYNC010 findings.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ost_ndb::ltp::{LtpError, PropValue, PropertyContext};
use ost_ndb::{Nid, Pst};
use ost_props::entry_id::{parse_entry_id, EntryId};
use ost_props::strings::{prop_string, DEFAULT_CODEPAGE};
use ost_props::{ItemRecord, Problem, ProblemKind, Store};
use rayon::prelude::*;
use serde::Serialize;

use crate::log_text::{
    count_line, is_done, is_failure_code, line_codes, step_folder, time_stamp, LogCount, LogText,
    Resolution, ResolvedProperty, TextSource,
};
use crate::proof::hex;
use crate::rules::{Severity, SYNC010};

use ost_props::rtf_compressed;
pub use ost_props::tags::PR_ADDITIONAL_REN_ENTRYIDS;
use ost_props::tags::{
    PR_BODY, PR_INTERNET_CPID, PR_MESSAGE_CODEPAGE, PR_MESSAGE_DELIVERY_TIME, PR_RTF_COMPRESSED,
    PR_SOURCE_KEY,
};
/// msInConflict in PR_MESSAGE_STATUS ([MS-OXCFXICS] 3.1.5.6.2.1).
pub const MS_IN_CONFLICT: u32 = 0x800;

/// Lines of a log body kept in [`SyncLog::excerpt`].
const EXCERPT_LINES: usize = 12;
/// Characters kept of one excerpt line.
const EXCERPT_LINE_CHARS: usize = 200;
/// Bytes of a log's body that are read: its first lines name the folders
/// and the errors, and a mailbox may hold thousands of logs, so a long body
/// is cut here rather than decoded whole: some 100 lines of a Unicode log.
/// Just under one full data block (8,176 bytes in Unicode files, 8,180 in
/// ANSI), so that a long body costs one block read, not two.
const MAX_LOG_BODY_BYTES: usize = 8_000;
/// Lines of a log body parsed for folders and errors; logs are short, a
/// hostile body must not make the analysis quadratic.
const MAX_LOG_LINES: usize = 5000;
/// Error codes kept per log and per folder.
const MAX_CODES: usize = 32;
/// Bytes of PR_RTF_COMPRESSED that are read. Outlook's logs compress to
/// 0.4 to 1 KB (the corpus's); past this the value is cut (its CRC then
/// unchecked) rather than read whole.
const MAX_LOG_RTF_VALUE_BYTES: usize = 64 * 1024;
/// Bytes of RTF decompressed from it, whatever its RAWSIZE says: some 50
/// KB of log text, more than [`MAX_LOG_TEXT_BYTES`] needs.
const MAX_LOG_RTF_BYTES: usize = 64 * 1024;
/// Bytes (UTF-8) of a log's text that are parsed and kept in
/// [`SyncLog::text`]: as much as the [`MAX_LOG_BODY_BYTES`] of a plain
/// body hold, some 100 lines.
const MAX_LOG_TEXT_BYTES: usize = 8_000;
/// Red lines, folder names and counts kept per log.
const MAX_LOG_ENTRIES: usize = 64;

/// How a special folder was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    /// Through the Inbox's PR_ADDITIONAL_REN_ENTRYIDS.
    AdditionalRenEntryIds,
    /// By its (English) display name.
    Name,
}

/// One folder of the Sync Issues tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpecialFolder {
    pub nid: u32,
    pub path: String,
    pub found_by: FoundBy,
    /// Items of the walk in this folder (contents and associated).
    pub items: u64,
}

/// The Sync Issues tree; each `None` when not found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncIssuesFolders {
    pub sync_issues: Option<SpecialFolder>,
    pub conflicts: Option<SpecialFolder>,
    pub local_failures: Option<SpecialFolder>,
    pub server_failures: Option<SpecialFolder>,
}

impl SyncIssuesFolders {
    /// The folders found, in the order Sync Issues, Conflicts, Local and Server
    /// Failures.
    pub fn all(&self) -> impl Iterator<Item = &SpecialFolder> {
        [
            &self.sync_issues,
            &self.conflicts,
            &self.local_failures,
            &self.server_failures,
        ]
        .into_iter()
        .flatten()
    }

    fn all_mut(&mut self) -> impl Iterator<Item = &mut SpecialFolder> {
        [
            &mut self.sync_issues,
            &mut self.conflicts,
            &mut self.local_failures,
            &mut self.server_failures,
        ]
        .into_iter()
        .flatten()
    }

    /// Whether `folder_nid` is one of the tree's folders.
    pub fn contains(&self, folder_nid: u32) -> bool {
        self.all().any(|f| f.nid == folder_nid)
    }

    /// Whether `folder_nid` is a folder of the tree where logs are kept:
    /// any but Conflicts, whose items are conflict copies.
    pub fn holds_logs(&self, folder_nid: u32) -> bool {
        self.contains(folder_nid) && !self.is_conflicts(folder_nid)
    }

    /// Whether `folder_nid` is the Conflicts folder.
    pub fn is_conflicts(&self, folder_nid: u32) -> bool {
        self.conflicts.as_ref().is_some_and(|f| f.nid == folder_nid)
    }
}

/// A folder named by NID and path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderRef {
    pub nid: u32,
    pub path: String,
}

/// The item a conflict item points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemLink {
    pub nid: u32,
    pub folder: String,
    pub subject: Option<String>,
}

/// An item in conflict: a conflict copy (PR_CONFLICT_ENTRYID) or the
/// item Outlook marked msInConflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConflictItem {
    pub nid: u32,
    pub folder: String,
    pub subject: Option<String>,
    pub message_class: Option<String>,
    pub last_modified: Option<String>,
    /// msInConflict (0x800) is set in PR_MESSAGE_STATUS.
    pub in_conflict: bool,
    /// PR_CONFLICT_ENTRYID, lower hex.
    pub conflict_entry_id: Option<String>,
    /// The item PR_CONFLICT_ENTRYID names, when it is in the store.
    pub conflicts_with: Option<ItemLink>,
    /// The folder whose synchronization this conflict concerns: that of
    /// `conflicts_with`, else the item's own unless it is in Sync Issues.
    pub affected_folder: Option<FolderRef>,
}

/// A folder a log names, with the errors reported while it was synchronized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogFolder {
    pub nid: u32,
    pub path: String,
    /// Error lines attributed to this folder.
    pub errors: u64,
    /// HRESULTs in those lines, e.g. `0x8004010F`.
    pub error_codes: Vec<String>,
}

/// A synchronization log message of the Sync Issues tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncLog {
    pub nid: u32,
    pub folder: String,
    /// PR_MESSAGE_DELIVERY_TIME, else PR_LAST_MODIFICATION_TIME (RFC 3339).
    pub time: Option<String>,
    pub subject: Option<String>,
    /// Where the text was read from: PR_BODY, else PR_RTF_COMPRESSED;
    /// `None` when the message has neither.
    pub text_source: Option<TextSource>,
    /// The text as lines (`\n`), trailing blank lines removed; at most
    /// [`MAX_LOG_TEXT_BYTES`]. Only when asked for (`scan --log-text`):
    /// a mailbox can hold thousands of logs, and the report their excerpts.
    pub text: Option<String>,
    /// Only the start of the log was read.
    pub text_truncated: bool,
    /// The first non-empty lines of the text.
    pub excerpt: Vec<String>,
    /// Lines that report an error: in an RTF log the lines Outlook painted
    /// red; in a plain body those with an HRESULT failure code or
    /// "error"/"failed"/"failure".
    pub error_lines: u64,
    /// The red lines of an RTF log (trimmed); empty for a plain body.
    pub red_lines: Vec<String>,
    /// Codes in the text, in order: `[n-m]`, `0x` + 8 hex digits, bare
    /// HRESULT failures (see `log_text::line_codes`).
    pub error_codes: Vec<String>,
    /// Folders of the store the log names ('Name' or 'Path\Name' in quotes).
    pub folders: Vec<LogFolder>,
    /// NAME of each "... in folder 'NAME'" line, as written, once each.
    pub folder_names: Vec<String>,
    /// Count lines ("2397 item(s) added to offline folder"), with the
    /// folder of the step they belong to.
    pub counts: Vec<LogCount>,
    /// Time stamps (time of day, as written) of the first and last lines.
    pub started: Option<String>,
    pub ended: Option<String>,
    /// The properties a "Modification Resolution" report names.
    pub properties: Vec<ResolvedProperty>,
}

/// Counts of the analysis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncIssuesCounts {
    /// Items in the whole Sync Issues tree.
    pub items: u64,
    /// Conflict items, in the tree or not (see [`ConflictItem`]).
    pub conflict_items: u64,
    /// Synchronization logs: the items of `logs` ([`is_log`]).
    pub log_messages: u64,
    pub logs_with_errors: u64,
    /// Items of the tree that are neither conflict items nor logs: copies
    /// of items that failed to synchronize (Local and Server Failures), or
    /// anything else filed there.
    pub other_items: u64,
}

/// Per folder of the store: what Outlook recorded against it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderEvidence {
    pub nid: u32,
    pub path: String,
    /// Log messages that report an error while synchronizing this folder.
    pub logs_with_errors: u64,
    pub error_codes: Vec<String>,
    /// Conflict items whose affected folder this is.
    pub conflict_items: u64,
}

/// The analysis of one store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncIssuesReport {
    pub folders: SyncIssuesFolders,
    pub counts: SyncIssuesCounts,
    /// In the order of `records`.
    pub conflicts: Vec<ConflictItem>,
    pub logs: Vec<SyncLog>,
    /// Folders with log errors or conflict items, in walk order.
    pub evidence: Vec<FolderEvidence>,
    pub errors: Vec<Problem>,
}

impl SyncIssuesReport {
    /// The folder whose SYNC00x count a finding on item `nid` (in folder
    /// `folder_nid`) adds to, for SYNC010: a conflict copy's findings are
    /// about the item it conflicts with, so they count for its affected
    /// folder, not for Conflicts; any other item's count for its own folder.
    pub fn sync_folder_of(&self, nid: u32, folder_nid: u32) -> u32 {
        if !self.folders.contains(folder_nid) {
            return folder_nid;
        }
        self.conflicts
            .iter()
            .find(|c| c.nid == nid)
            .and_then(|c| c.affected_folder.as_ref())
            .map_or(folder_nid, |f| f.nid)
    }
}

/// Open the PC of a node, recording a failure.
fn open_pc<'p>(
    pst: &'p Pst<'p>,
    nid: u32,
    errors: &mut Vec<Problem>,
) -> Option<PropertyContext<'p>> {
    match pst
        .node(Nid(nid))
        .map_err(ost_ndb::ltp::LtpError::from)
        .and_then(PropertyContext::open)
    {
        Ok(pc) => Some(pc),
        Err(e) => {
            errors.push(Problem::ltp(pst, &e, nid));
            None
        }
    }
}

/// Find the Sync Issues folders: by the Inbox's PR_ADDITIONAL_REN_ENTRYIDS
/// first, then by name for those still missing.
pub fn locate(pst: &Pst<'_>, store: &Store<'_>) -> (SyncIssuesFolders, Vec<Problem>) {
    let folders = store.folders();
    let mut errors = Vec::new();
    let mut found = SyncIssuesFolders::default();
    let special = |i: usize, found_by| SpecialFolder {
        nid: folders[i].nid,
        path: folders[i].path.to_string(),
        found_by,
        items: 0,
    };

    // The Inbox: a folder named so one level below the IPM subtree; when
    // several folders carry the property, the shallowest wins.
    let mut inboxes: Vec<usize> = (0..folders.len())
        .filter(|&i| folders[i].name.eq_ignore_ascii_case("Inbox"))
        .collect();
    inboxes.sort_by_key(|&i| folders[i].depth);
    let mut ren: Option<Vec<Vec<u8>>> = None;
    for i in inboxes {
        let Some(pc) = open_pc(pst, folders[i].nid, &mut errors) else {
            continue;
        };
        match pc.get(PR_ADDITIONAL_REN_ENTRYIDS) {
            Ok(Some(v)) => match v.values() {
                Ok(values) => {
                    ren = Some(values.into_iter().map(<[u8]>::to_vec).collect());
                    break;
                }
                Err(e) => errors.push(Problem::ltp(pst, &e, folders[i].nid)),
            },
            Ok(None) => {}
            Err(e) => errors.push(Problem::ltp(pst, &e, folders[i].nid)),
        }
    }
    if let Some(values) = ren {
        // Exchange entry ids name folders by source key: read those only
        // when needed (folders are few; each read is one PC lookup).
        let mut by_source_key: Option<HashMap<Vec<u8>, usize>> = None;
        let mut resolve = |bytes: &[u8], errors: &mut Vec<Problem>| -> Option<usize> {
            match parse_entry_id(bytes)? {
                EntryId::Pst { nid, .. } => folders.iter().position(|f| f.nid == nid),
                EntryId::ExchangeFolder { source_key, .. } => {
                    let map = by_source_key.get_or_insert_with(|| {
                        // A folder's PR_SOURCE_KEY (stores copied from a
                        // mailbox), else the one its folder id stands for
                        // (OSTs, which store none: replica GUID + GLOBCNT).
                        let namespaces = store.namespaces();
                        let mut map = HashMap::new();
                        for (i, f) in folders.iter().enumerate() {
                            if let Some(pc) = open_pc(pst, f.nid, errors) {
                                if let Ok(Some(v)) = pc.get(PR_SOURCE_KEY) {
                                    map.entry(v.as_bytes().to_vec()).or_insert(i);
                                    continue;
                                }
                            }
                            if let Some(key) = f.object_id.and_then(|id| namespaces.source_key(id))
                            {
                                map.entry(key.to_vec()).or_insert(i);
                            }
                        }
                        map
                    });
                    map.get(&source_key[..]).copied()
                }
                EntryId::ExchangeMessage { .. } => None,
            }
        };
        for (k, bytes) in values.iter().enumerate().take(4) {
            if let Some(i) = resolve(bytes, &mut errors) {
                let slot = match k {
                    0 => &mut found.conflicts,
                    1 => &mut found.sync_issues,
                    2 => &mut found.local_failures,
                    _ => &mut found.server_failures,
                };
                *slot = Some(special(i, FoundBy::AdditionalRenEntryIds));
            }
        }
    }

    // By name: "Sync Issues" (shallowest), then its children.
    if found.sync_issues.is_none() {
        let mut candidates: Vec<usize> = (0..folders.len())
            .filter(|&i| folders[i].name.eq_ignore_ascii_case("Sync Issues"))
            .collect();
        // Prefer the parent of a subfolder already found by entry id.
        let known_parent = [
            &found.conflicts,
            &found.local_failures,
            &found.server_failures,
        ]
        .into_iter()
        .flatten()
        .find_map(|s| folders.iter().find(|f| f.nid == s.nid)?.parent);
        candidates.sort_by_key(|&i| (Some(i) != known_parent, folders[i].depth));
        if let Some(&i) = candidates.first() {
            found.sync_issues = Some(special(i, FoundBy::Name));
        }
    }
    let parent = found
        .sync_issues
        .as_ref()
        .and_then(|s| folders.iter().position(|f| f.nid == s.nid));
    if let Some(p) = parent {
        let child = |name: &str| {
            (0..folders.len()).find(|&i| {
                folders[i].parent == Some(p) && folders[i].name.eq_ignore_ascii_case(name)
            })
        };
        for (name, slot) in [
            ("Conflicts", &mut found.conflicts),
            ("Local Failures", &mut found.local_failures),
            ("Server Failures", &mut found.server_failures),
        ] {
            if slot.is_none() {
                if let Some(i) = child(name) {
                    *slot = Some(special(i, FoundBy::Name));
                }
            }
        }
    }
    (found, errors)
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
/// lines are matched against. Built once per store.
pub struct LogIndex {
    by_name: HashMap<String, Vec<usize>>,
    paths: Vec<(String, usize)>,
}

impl LogIndex {
    pub fn new(store: &Store<'_>) -> LogIndex {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut paths = Vec::new();
        for (i, f) in store.folders().iter().enumerate() {
            // The root and the top-level folders (IPM subtree, search root)
            // are never what a log means by a folder name.
            if f.depth < 2 {
                continue;
            }
            by_name.entry(f.name.to_lowercase()).or_default().push(i);
            paths.push((f.path.to_lowercase(), i));
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
    crate::log_text::after_time(line)
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

/// What [`parse_log`] finds in a log's text.
struct ParsedLog {
    excerpt: Vec<String>,
    error_lines: u64,
    red_lines: Vec<String>,
    error_codes: Vec<String>,
    folders: Vec<LogFolder>,
    folder_names: Vec<String>,
    counts: Vec<LogCount>,
    started: Option<String>,
    ended: Option<String>,
    properties: Vec<ResolvedProperty>,
}

/// Parse a log's text: the folders it names and the errors reported for
/// each. A line that starts a step ("Synchronizing ...") sets the folders
/// the following lines are about, and "Done" ends them; error lines count
/// for those folders.
fn parse_log(log: &LogText, index: &LogIndex, store: &Store<'_>) -> ParsedLog {
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
    let folders = store.folders();
    let log_folders = per_folder
        .into_iter()
        .filter_map(|(i, (errors, codes))| {
            let f = folders.get(i)?;
            Some(LogFolder {
                nid: f.nid,
                path: f.path.to_string(),
                errors,
                error_codes: codes.into_iter().take(MAX_CODES).collect(),
            })
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

/// Read the text and delivery time of a log message, from its property
/// context when the caller has it open.
fn read_log_body(
    pst: &Pst<'_>,
    nid: u32,
    open: Option<&PropertyContext<'_>>,
    errors: &mut Vec<Problem>,
) -> (Option<LogText>, Option<u64>) {
    match open {
        Some(pc) => log_body_from(pst, nid, pc, errors),
        None => match open_pc(pst, nid, errors) {
            Some(pc) => log_body_from(pst, nid, &pc, errors),
            None => (None, None),
        },
    }
}

fn log_body_from(
    pst: &Pst<'_>,
    nid: u32,
    pc: &PropertyContext<'_>,
    errors: &mut Vec<Problem>,
) -> (Option<LogText>, Option<u64>) {
    let codepage = [PR_MESSAGE_CODEPAGE, PR_INTERNET_CPID]
        .into_iter()
        .find_map(|id| pc.get(id).ok().flatten().and_then(|v| v.as_i32()))
        .map_or(DEFAULT_CODEPAGE, |c| c as u32);
    let body = match prop_prefix(pc, PR_BODY, MAX_LOG_BODY_BYTES) {
        Ok(v) => v.and_then(|(v, cut)| {
            let body = prop_string(&v, codepage)?;
            Some(LogText::from_body(&body, cut, MAX_LOG_TEXT_BYTES))
        }),
        Err(e) => {
            errors.push(Problem::ltp(pst, &e, nid));
            None
        }
    };
    // Outlook's own logs have no PR_BODY: their text is only in RTF.
    let text = body.or_else(|| log_rtf(pst, nid, pc, errors));
    let delivered = pc
        .get(PR_MESSAGE_DELIVERY_TIME)
        .ok()
        .flatten()
        .and_then(|v| v.as_filetime());
    (text, delivered)
}

/// The text of a log's PR_RTF_COMPRESSED: its first
/// [`MAX_LOG_RTF_VALUE_BYTES`] decompressed to at most
/// [`MAX_LOG_RTF_BYTES`] of RTF. A bad header, CRC or size is recorded;
/// the RTF that could be read is still parsed.
fn log_rtf(
    pst: &Pst<'_>,
    nid: u32,
    pc: &PropertyContext<'_>,
    errors: &mut Vec<Problem>,
) -> Option<LogText> {
    let (value, cut) = match prop_prefix(pc, PR_RTF_COMPRESSED, MAX_LOG_RTF_VALUE_BYTES) {
        Ok(v) => v?,
        Err(e) => {
            errors.push(Problem::ltp(pst, &e, nid));
            return None;
        }
    };
    let problem = |kind: ProblemKind| {
        // Located at the message's node, the closest place the file has.
        let offset = pst.data_block_offset(Nid(nid), 0).unwrap_or(0);
        Problem::new("log message RTF", offset, kind).with_nid(nid)
    };
    match rtf_compressed::decompress(value.as_bytes(), MAX_LOG_RTF_BYTES) {
        Ok(d) => {
            let mut cut_short = cut;
            for issue in &d.issues {
                // A value cut by our own read limit is expected; one
                // shorter than its header says, read whole, is damage.
                let ours = !issue.is_damage()
                    && (cut || matches!(issue, rtf_compressed::RtfIssue::OutputCapped { .. }));
                if ours {
                    cut_short = true;
                } else {
                    errors.push(problem(ProblemKind::CompressedRtfIssue(*issue)));
                }
            }
            Some(LogText::from_rtf(&d.rtf, cut_short, MAX_LOG_TEXT_BYTES))
        }
        Err(e) => {
            errors.push(problem(ProblemKind::CompressedRtf(e)));
            None
        }
    }
}

/// The first `max` bytes of property `id`, and whether it has more. A
/// large value lives in a subnode's data tree; only the blocks that hold
/// those bytes are read and decoded.
fn prop_prefix<'p>(
    pc: &'p PropertyContext<'_>,
    id: u16,
    max: usize,
) -> Result<Option<(PropValue<'p>, bool)>, LtpError> {
    let Some(entry) = pc.entry(id)? else {
        return Ok(None);
    };
    // Whole UTF-16 code units only.
    let keep = if entry.prop_type == ost_ndb::ltp::prop_type::UNICODE {
        max & !1
    } else {
        max
    };
    let (bytes, cut) = pc.value_prefix(&entry, keep)?;
    Ok(Some((
        PropValue::new(entry.id, entry.prop_type, bytes),
        cut,
    )))
}

/// A log message read and parsed, and the problems met doing it. The log
/// is boxed: a scan holds one per log from its walk to the analysis (a
/// mailbox may have thousands), and moves them about in between.
#[derive(Debug, Clone)]
pub struct ReadLog {
    log: Box<SyncLog>,
    errors: Vec<Problem>,
}

/// Whether [`analyze`] reads an item as a possible log message: in a folder
/// of the Sync Issues tree that holds logs (`in_tree` of its folder: any
/// but Conflicts, see [`SyncIssuesFolders::holds_logs`]) and not a
/// conflict item. Whether it is a log is known once its text is read
/// ([`is_log`]).
pub fn is_log_message(r: &ItemRecord, in_tree: impl Fn(u32) -> bool) -> bool {
    in_tree(r.folder_nid) && !is_conflict_item(r)
}

/// Whether a message read by [`read_log`] is a synchronization log: its
/// text starts with a time-stamped line ("16:37:22 Synchronizer Version
/// ..."), as every log and report Outlook writes does, or its subject is
/// that of Outlook's logs and reports ("Synchronization Log:",
/// "Modification Resolution"), or its text has what only a log has (red
/// lines, folder steps: a log of an Outlook in another language, or whose
/// first line is not stamped). Copies of items that failed to synchronize,
/// filed in Local or Server Failures, are not (a time further down their
/// text does not make them logs).
pub fn is_log(log: &SyncLog) -> bool {
    let subject = log.subject.as_deref().unwrap_or("").trim_start();
    let starts = |prefix: &str| {
        subject
            .get(..prefix.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(prefix))
    };
    let stamped = log.excerpt.first().is_some_and(|l| time_stamp(l).is_some());
    // What only a log has, whatever its language or first line: lines
    // Outlook painted red, the folders its steps name.
    let parsed = !log.red_lines.is_empty() || !log.folders.is_empty();
    stamped || parsed || starts("Synchronization Log") || starts("Modification Resolution")
}

/// Read and parse one log message: its text's first lines (PR_BODY, else
/// PR_RTF_COMPRESSED) and delivery time, from `pc` when the caller has the
/// message open; with `keep_text`, the text itself is kept in the report.
pub fn read_log(
    pst: &Pst<'_>,
    store: &Store<'_>,
    index: &LogIndex,
    r: &ItemRecord,
    pc: Option<&PropertyContext<'_>>,
    keep_text: bool,
) -> ReadLog {
    let mut errors = Vec::new();
    let (text, delivered) = read_log_body(pst, r.nid, pc, &mut errors);
    // A message with neither body parses as an empty log.
    let empty = LogText::from_body("", false, 0);
    let parsed = parse_log(text.as_ref().unwrap_or(&empty), index, store);
    let time = delivered
        .map(ost_props::FileTime)
        .or(r.last_modified)
        .map(|t| t.to_string());
    let log = SyncLog {
        nid: r.nid,
        folder: r.folder.to_string(),
        time,
        subject: r.subject.clone(),
        text_source: text.as_ref().map(|t| t.source),
        text_truncated: text.as_ref().is_some_and(|t| t.truncated),
        text: keep_text.then(|| text.map(|t| t.text).unwrap_or_default()),
        excerpt: parsed.excerpt,
        error_lines: parsed.error_lines,
        red_lines: parsed.red_lines,
        error_codes: parsed.error_codes,
        folders: parsed.folders,
        folder_names: parsed.folder_names,
        counts: parsed.counts,
        started: parsed.started,
        ended: parsed.ended,
        properties: parsed.properties,
    };
    ReadLog {
        log: Box::new(log),
        errors,
    }
}

/// Whether an item is a conflict item.
pub fn is_conflict_item(r: &ItemRecord) -> bool {
    is_conflict(r.conflict_entry_id.as_deref(), r.message_status)
}

/// [`is_conflict_item`] from the two properties that decide it.
pub fn is_conflict(conflict_entry_id: Option<&[u8]>, message_status: Option<u32>) -> bool {
    conflict_entry_id.is_some_and(|b| !b.is_empty())
        || message_status.is_some_and(|s| s & MS_IN_CONFLICT != 0)
}

/// Analyze the Sync Issues data of a store. `records` are the items the
/// caller read (a scan's records); conflict targets are looked up among
/// them. Only the bodies of the log messages are read from the file.
pub fn analyze(pst: &Pst<'_>, store: &Store<'_>, records: &[ItemRecord]) -> SyncIssuesReport {
    let records: Vec<&ItemRecord> = records.iter().collect();
    let located = locate(pst, store);
    analyze_with(
        pst,
        store,
        located,
        &LogIndex::new(store),
        &records,
        Vec::new(),
        true,
    )
}

/// [`analyze`], with what the caller already has from its walk: the Sync
/// Issues tree [`locate`] found (with its problems), the store's
/// [`LogIndex`], and the logs it read ([`read_log`]) in the order of their
/// records in `records` (a scan reads each log while its walk has the
/// message open). Logs not given are read here.
pub fn analyze_with(
    pst: &Pst<'_>,
    store: &Store<'_>,
    located: (SyncIssuesFolders, Vec<Problem>),
    index: &LogIndex,
    records: &[&ItemRecord],
    read: Vec<ReadLog>,
    keep_text: bool,
) -> SyncIssuesReport {
    let (mut folders, mut errors) = located;
    let tree: BTreeSet<u32> = folders.all().map(|f| f.nid).collect();
    for f in folders.all_mut() {
        f.items = records.iter().filter(|r| r.folder_nid == f.nid).count() as u64;
    }
    let store_folders = store.folders();
    let folder_ref = |nid: u32| -> Option<FolderRef> {
        let f = store_folders.iter().find(|f| f.nid == nid)?;
        Some(FolderRef {
            nid: f.nid,
            path: f.path.to_string(),
        })
    };
    let by_nid: HashMap<u32, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.nid, i))
        .collect();
    let mut by_source_key: Option<HashMap<&[u8], usize>> = None;

    let mut counts = SyncIssuesCounts {
        items: records
            .iter()
            .filter(|r| tree.contains(&r.folder_nid))
            .count() as u64,
        ..SyncIssuesCounts::default()
    };
    let mut conflicts = Vec::new();
    let mut log_records: Vec<&ItemRecord> = Vec::new();
    for r in records {
        // Every item of Conflicts is a conflict copy, marked or not.
        if is_conflict_item(r) || folders.is_conflicts(r.folder_nid) {
            let target = r
                .conflict_entry_id
                .as_deref()
                .and_then(parse_entry_id)
                .and_then(|id| match id {
                    EntryId::Pst { nid, .. } => by_nid.get(&nid).copied(),
                    EntryId::ExchangeMessage {
                        message_source_key, ..
                    } => {
                        let map = by_source_key.get_or_insert_with(|| {
                            records
                                .iter()
                                .enumerate()
                                .filter_map(|(i, r)| Some((r.source_key.as_deref()?, i)))
                                .collect()
                        });
                        map.get(&message_source_key[..]).copied()
                    }
                    EntryId::ExchangeFolder { .. } => None,
                })
                .filter(|&i| records[i].nid != r.nid)
                .map(|i| &records[i]);
            let affected = match target {
                Some(t) => folder_ref(t.folder_nid),
                None if !tree.contains(&r.folder_nid) => folder_ref(r.folder_nid),
                None => None,
            };
            conflicts.push(ConflictItem {
                nid: r.nid,
                folder: r.folder.to_string(),
                subject: r.subject.clone(),
                message_class: r.message_class.clone(),
                last_modified: r.last_modified.map(|t| t.to_string()),
                in_conflict: r.message_status.is_some_and(|s| s & MS_IN_CONFLICT != 0),
                conflict_entry_id: r.conflict_entry_id.as_deref().map(hex),
                conflicts_with: target.map(|t| ItemLink {
                    nid: t.nid,
                    folder: t.folder.to_string(),
                    subject: t.subject.clone(),
                }),
                affected_folder: affected,
            });
            continue;
        }
        if is_log_message(r, |nid| folders.holds_logs(nid)) {
            log_records.push(r);
        }
    }
    // Log bodies are the only bodies read; a mailbox can hold thousands of
    // logs, so they are read and parsed in parallel (in record order).
    // Logs the caller read during its own walk are taken as they are; the
    // others are read here, in place.
    let mut read: HashMap<u32, ReadLog> = read.into_iter().map(|l| (l.log.nid, l)).collect();
    let mut slots: Vec<(&ItemRecord, Option<ReadLog>)> = log_records
        .into_iter()
        .map(|r| (r, read.remove(&r.nid)))
        .collect();
    slots.par_iter_mut().for_each(|(r, slot)| {
        if slot.is_none() {
            *slot = Some(read_log(pst, store, index, r, None, keep_text));
        }
    });
    let mut logs = Vec::with_capacity(slots.len());
    for ReadLog {
        log,
        errors: log_errors,
    } in slots.into_iter().filter_map(|(_, l)| l)
    {
        // Only the logs are reported; the problems met reading any message.
        if is_log(&log) {
            logs.push(*log);
        } else {
            counts.other_items += 1;
        }
        errors.extend(log_errors);
    }
    counts.conflict_items = conflicts.len() as u64;
    counts.log_messages = logs.len() as u64;
    counts.logs_with_errors = logs.iter().filter(|l| l.error_lines > 0).count() as u64;

    // Evidence per folder, in walk order.
    let mut evidence: BTreeMap<usize, FolderEvidence> = BTreeMap::new();
    let position = |nid: u32| store_folders.iter().position(|f| f.nid == nid);
    for log in &logs {
        for lf in log.folders.iter().filter(|lf| lf.errors > 0) {
            let Some(i) = position(lf.nid) else { continue };
            let e = evidence.entry(i).or_insert_with(|| FolderEvidence {
                nid: lf.nid,
                path: lf.path.clone(),
                logs_with_errors: 0,
                error_codes: Vec::new(),
                conflict_items: 0,
            });
            e.logs_with_errors += 1;
            for code in &lf.error_codes {
                if !e.error_codes.contains(code) && e.error_codes.len() < MAX_CODES {
                    e.error_codes.push(code.clone());
                }
            }
        }
    }
    for c in &conflicts {
        let Some(f) = &c.affected_folder else {
            continue;
        };
        let Some(i) = position(f.nid) else { continue };
        evidence
            .entry(i)
            .or_insert_with(|| FolderEvidence {
                nid: f.nid,
                path: f.path.clone(),
                logs_with_errors: 0,
                error_codes: Vec::new(),
                conflict_items: 0,
            })
            .conflict_items += 1;
    }
    SyncIssuesReport {
        folders,
        counts,
        conflicts,
        logs,
        evidence: evidence.into_values().collect(),
        errors,
    }
}

/// A SYNC010 finding: a folder where Outlook's own records and the
/// change key / PCL rules agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderFinding {
    pub rule: &'static str,
    pub severity: Severity,
    pub folder_nid: u32,
    pub folder: String,
    /// SYNC001-003 findings on the folder's items and on the conflict copies
    /// that concern it (as the caller counted them).
    pub sync_findings: u64,
    pub logs_with_errors: u64,
    pub error_codes: Vec<String>,
    pub conflict_items: u64,
    /// Clear Offline Items on this folder first: true in an OST; false in
    /// a PST, which has no offline items ([`FolderFinding::for_local_store`]).
    pub recommend_clear_offline_items: bool,
    pub detail: String,
}

/// The end of a SYNC010 detail in an OST.
const CLEAR_FIRST: &str = "Clear Offline Items on this folder first";
/// ... and in a store that is not a cache.
const COMPARE_FIRST: &str = "the items are local (a PST is not synchronized, there are no offline items to clear): compare them with their source first";

impl FolderFinding {
    /// The finding as it applies to a store that is not a cache (a PST):
    /// no Clear Offline Items, compare the items with their source.
    pub fn for_local_store(&mut self) {
        self.recommend_clear_offline_items = false;
        if let Some(why) = self.detail.strip_suffix(CLEAR_FIRST) {
            self.detail = format!("{why}{COMPARE_FIRST}");
        }
    }
}

/// SYNC010 for every folder that has evidence in `report` and a non-zero
/// count in `sync_findings_by_folder` (folder NID -> number of SYNC001-003
/// findings on its items, a conflict copy's counted for the folder
/// [`SyncIssuesReport::sync_folder_of`] names). In walk order.
pub fn sync010(
    report: &SyncIssuesReport,
    sync_findings_by_folder: &BTreeMap<u32, u64>,
) -> Vec<FolderFinding> {
    report
        .evidence
        .iter()
        .filter_map(|e| {
            let n = *sync_findings_by_folder.get(&e.nid)?;
            if n == 0 {
                return None;
            }
            let mut why = Vec::new();
            if e.logs_with_errors > 0 {
                let codes = if e.error_codes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", e.error_codes.join(", "))
                };
                why.push(format!(
                    "{} synchronization log(s) report errors for it{codes}",
                    e.logs_with_errors
                ));
            }
            if e.conflict_items > 0 {
                why.push(format!("{} conflict item(s) concern it", e.conflict_items));
            }
            Some(FolderFinding {
                rule: SYNC010.id,
                severity: SYNC010.severity,
                folder_nid: e.nid,
                folder: e.path.clone(),
                sync_findings: n,
                logs_with_errors: e.logs_with_errors,
                error_codes: e.error_codes.clone(),
                conflict_items: e.conflict_items,
                recommend_clear_offline_items: true,
                detail: format!(
                    "{} and {n} SYNC00x findings concern its items (conflict copies included): {CLEAR_FIRST}",
                    why.join("; ")
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
