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
//!
//! The parts, each over `ost-props` only (the file, property context and
//! LTP error types it hands out are named through it, never `ost-ndb`):
//! - [`locate`](locate()): the folders of the tree;
//! - [`log_text`]: what a log's text says, as plain `&str` code (no I/O);
//! - [`analyze`](analyze()): conflict items and logs, each log's text read
//!   through `ost_props::body`;
//! - [`sync010`](sync010()): the SYNC010 findings from that evidence.

mod analyze;
mod locate;
pub mod log_text;
mod sync010;

pub use analyze::{
    analyze, analyze_with, is_conflict, is_conflict_item, is_log, is_log_message, read_log, ReadLog,
};
pub use locate::locate;
pub use log_text::LogIndex;
pub use sync010::{sync010, FolderFinding};

use std::collections::HashMap;

use ost_props::{Nid, Problem};
use serde::Serialize;

use log_text::{LogCount, ResolvedProperty, TextSource};

pub use ost_props::tags::PR_ADDITIONAL_REN_ENTRYIDS;
/// msInConflict in PR_MESSAGE_STATUS ([MS-OXCFXICS] 3.1.5.6.2.1).
pub const MS_IN_CONFLICT: u32 = 0x800;

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
    pub nid: Nid,
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
    pub fn contains(&self, folder_nid: Nid) -> bool {
        self.all().any(|f| f.nid == folder_nid)
    }

    /// Whether `folder_nid` is a folder of the tree where logs are kept:
    /// any but Conflicts, whose messages are conflict copies (its hidden
    /// items, folder settings, are neither).
    pub fn holds_logs(&self, folder_nid: Nid) -> bool {
        self.contains(folder_nid) && !self.is_conflicts(folder_nid)
    }

    /// Whether `folder_nid` is the Conflicts folder.
    pub fn is_conflicts(&self, folder_nid: Nid) -> bool {
        self.conflicts.as_ref().is_some_and(|f| f.nid == folder_nid)
    }
}

/// A folder named by NID and path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderRef {
    pub nid: Nid,
    pub path: String,
}

/// The item a conflict item points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemLink {
    pub nid: Nid,
    pub folder: String,
    pub subject: Option<String>,
}

/// An item in conflict: a conflict copy (PR_CONFLICT_ENTRYID) or the
/// item Outlook marked msInConflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConflictItem {
    pub nid: Nid,
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
    pub nid: Nid,
    pub path: String,
    /// Error lines attributed to this folder.
    pub errors: u64,
    /// HRESULTs in those lines, e.g. `0x8004010F`.
    pub error_codes: Vec<String>,
}

/// A synchronization log message of the Sync Issues tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncLog {
    pub nid: Nid,
    pub folder: String,
    /// PR_MESSAGE_DELIVERY_TIME, else PR_LAST_MODIFICATION_TIME (RFC 3339).
    pub time: Option<String>,
    pub subject: Option<String>,
    /// Where the text was read from: PR_BODY, else PR_RTF_COMPRESSED;
    /// `None` when the message has neither.
    pub text_source: Option<TextSource>,
    /// The text as lines (`\n`), trailing blank lines removed; at most
    /// `MAX_LOG_TEXT_BYTES` (8,000). Only when asked for (`scan --log-text`):
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
    /// of items that failed to synchronize (Local and Server Failures), the
    /// hidden items of Conflicts (its settings), or anything else filed
    /// there.
    pub other_items: u64,
}

/// Per folder of the store: what Outlook recorded against it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderEvidence {
    pub nid: Nid,
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
    pub fn sync_folder_of(&self, nid: Nid, folder_nid: Nid) -> Nid {
        self.sync_folders()(nid, folder_nid)
    }

    /// [`SyncIssuesReport::sync_folder_of`] for many findings: the conflict
    /// copies indexed once, not searched once per finding.
    pub fn sync_folders(&self) -> impl Fn(Nid, Nid) -> Nid + '_ {
        // The first copy of a NID decides, as a search would (reversed, so
        // that it is the last one inserted).
        let affected: HashMap<Nid, Option<Nid>> = self
            .conflicts
            .iter()
            .rev()
            .map(|c| (c.nid, c.affected_folder.as_ref().map(|f| f.nid)))
            .collect();
        move |nid, folder_nid| {
            if !self.folders.contains(folder_nid) {
                return folder_nid;
            }
            affected.get(&nid).copied().flatten().unwrap_or(folder_nid)
        }
    }
}
