//! The analysis: conflict items with the items they conflict with, and
//! the log messages of the Sync Issues tree, each read
//! ([`ost_props::body`]) and parsed ([`super::log_text`]); per folder of
//! the store, the evidence SYNC010 weighs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ost_props::body::{self, BodyText, MessageText, TextLimits, TextProblem};
use ost_props::entry_id::{parse_entry_id, EntryId};
use ost_props::{ItemKind, ItemRecord, Nid, Problem, ProblemKind, PropertyContext, Pst, Store};
use rayon::prelude::*;

use super::log_text::{parse_log, time_stamp, LogIndex, LogText, MAX_CODES};
use super::{
    locate, ConflictItem, FolderEvidence, FolderRef, ItemLink, LogFolder, SyncIssuesCounts,
    SyncIssuesFolders, SyncIssuesReport, SyncLog, MS_IN_CONFLICT,
};
use crate::proof::hex;

/// Bytes of a log's body that are read: its first lines name the folders
/// and the errors, and a mailbox may hold thousands of logs, so a long body
/// is cut here rather than decoded whole: some 100 lines of a Unicode log.
/// Just under one full data block (8,176 bytes in Unicode files, 8,180 in
/// ANSI), so that a long body costs one block read, not two.
const MAX_LOG_BODY_BYTES: usize = 8_000;
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
pub(super) const MAX_LOG_TEXT_BYTES: usize = 8_000;

/// What of a log message's body is read.
const LOG_TEXT_LIMITS: TextLimits = TextLimits {
    body_bytes: MAX_LOG_BODY_BYTES,
    rtf_value_bytes: MAX_LOG_RTF_VALUE_BYTES,
    rtf_bytes: MAX_LOG_RTF_BYTES,
};

impl LogIndex {
    /// The index of a store's folders below the top: the root and the
    /// top-level folders (IPM subtree, search root) are never what a log
    /// means by a folder name.
    pub fn new(store: &Store<'_>) -> LogIndex {
        LogIndex::from_folders(
            store
                .folders()
                .iter()
                .enumerate()
                .filter(|(_, f)| f.depth >= 2)
                .map(|(i, f)| (i, f.name.as_str(), &*f.path)),
        )
    }
}

/// Read the text and delivery time of a log message, from its property
/// context when the caller has it open. Problems are recorded.
fn read_log_body(
    pst: &Pst<'_>,
    nid: Nid,
    open: Option<&PropertyContext<'_>>,
    errors: &mut Vec<Problem>,
) -> (Option<LogText>, Option<ost_props::FileTime>) {
    let read = match open {
        Some(pc) => body::read_text(pc, &LOG_TEXT_LIMITS),
        None => match ost_props::open_pc(pst, nid) {
            Ok(pc) => body::read_text(&pc, &LOG_TEXT_LIMITS),
            Err(e) => {
                errors.push(Problem::ltp(pst, &e, nid));
                return (None, None);
            }
        },
    };
    let MessageText {
        text,
        delivered,
        problems,
    } = read;
    for problem in problems {
        errors.push(match problem {
            TextProblem::Body(e) | TextProblem::RtfValue(e) => Problem::ltp(pst, &e, nid),
            TextProblem::RtfDamage(issue) => {
                rtf_problem(pst, nid, ProblemKind::CompressedRtfIssue(issue))
            }
            TextProblem::RtfUnreadable(e) => rtf_problem(pst, nid, ProblemKind::CompressedRtf(e)),
        });
    }
    let text = text.map(|text| match text {
        BodyText::Plain { text, cut } => LogText::from_body(&text, cut, MAX_LOG_TEXT_BYTES),
        BodyText::Rtf { rtf, cut } => LogText::from_rtf(&rtf, cut, MAX_LOG_TEXT_BYTES),
    });
    (text, delivered)
}

/// Damaged PR_RTF_COMPRESSED of log message `nid`.
fn rtf_problem(pst: &Pst<'_>, nid: Nid, kind: ProblemKind) -> Problem {
    Problem::at_node(pst, nid, "log message RTF", kind)
}

/// A possible log message read and parsed, and the problems met doing it.
/// A scan holds one per message of the folders that hold logs from its
/// walk to the analysis (a mailbox may have thousands), so the log is
/// boxed, and dropped at once when the message is not a log ([`is_log`]:
/// the copies of items that failed to synchronize, which Local and Server
/// Failures hold by the thousand, are counted, not kept).
#[derive(Debug, Clone)]
pub struct ReadLog {
    nid: Nid,
    /// `None`: the message is not a log.
    log: Option<Box<SyncLog>>,
    errors: Box<[Problem]>,
}

/// Whether [`analyze`] reads an item as a possible log message: in a folder
/// of the Sync Issues tree that holds logs (`in_tree` of its folder: any
/// but Conflicts, see [`SyncIssuesFolders::holds_logs`]) and not a
/// conflict item. Whether it is a log is known once its text is read
/// ([`is_log`]).
pub fn is_log_message(r: &ItemRecord, in_tree: impl Fn(Nid) -> bool) -> bool {
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
    let parsed = parse_log(text.as_ref().unwrap_or(&empty), index);
    let time = delivered.or(r.last_modified).map(|t| t.to_string());
    let store_folders = store.folders();
    let folders = parsed
        .folders
        .into_iter()
        .filter_map(|named| {
            let f = store_folders.get(named.folder)?;
            Some(LogFolder {
                nid: f.nid,
                path: f.path.to_string(),
                errors: named.errors,
                error_codes: named.codes,
            })
        })
        .collect();
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
        folders,
        folder_names: parsed.folder_names,
        counts: parsed.counts,
        started: parsed.started,
        ended: parsed.ended,
        properties: parsed.properties,
    };
    ReadLog {
        nid: r.nid,
        log: is_log(&log).then(|| Box::new(log)),
        errors: errors.into_boxed_slice(),
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
/// [`LogIndex`], and the logs it read ([`read_log`]), in any order (they
/// are found by NID; a scan reads each log while its walk has the message
/// open). Logs not given are read here.
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
    let tree: BTreeSet<Nid> = folders.all().map(|f| f.nid).collect();
    for f in folders.all_mut() {
        f.items = records.iter().filter(|r| r.folder_nid == f.nid).count() as u64;
    }
    let store_folders = store.folders();
    let folder_ref = |nid: Nid| -> Option<FolderRef> {
        let f = store_folders.iter().find(|f| f.nid == nid)?;
        Some(FolderRef {
            nid: f.nid,
            path: f.path.to_string(),
        })
    };
    let by_nid: HashMap<Nid, usize> = records
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
        // Every message of Conflicts is a conflict copy, marked or not; a
        // hidden (associated) item there holds the folder's settings
        // (views, rules), unless PR_CONFLICT_ENTRYID marks it.
        let in_conflicts = folders.is_conflicts(r.folder_nid);
        if is_conflict_item(r) || (in_conflicts && r.kind != ItemKind::Associated) {
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
        if in_conflicts {
            counts.other_items += 1;
        } else if is_log_message(r, |nid| folders.holds_logs(nid)) {
            log_records.push(r);
        }
    }
    // Log bodies are the only bodies read; a mailbox can hold thousands of
    // logs, so they are read and parsed in parallel (in record order).
    // Logs the caller read during its own walk are taken as they are; the
    // others are read here, in place.
    let mut read: HashMap<Nid, ReadLog> = read.into_iter().map(|l| (l.nid, l)).collect();
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
        ..
    } in slots.into_iter().filter_map(|(_, l)| l)
    {
        // Only the logs are reported; the problems met reading any message.
        match log {
            Some(log) => logs.push(*log),
            None => counts.other_items += 1,
        }
        errors.extend(log_errors.into_vec());
    }
    counts.conflict_items = conflicts.len() as u64;
    counts.log_messages = logs.len() as u64;
    counts.logs_with_errors = logs.iter().filter(|l| l.error_lines > 0).count() as u64;

    // Evidence per folder, in walk order.
    let mut evidence: BTreeMap<usize, FolderEvidence> = BTreeMap::new();
    let position = |nid: Nid| store_folders.iter().position(|f| f.nid == nid);
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
