//! The scan: every rule on every message of one file, rolled up per folder.
//!
//! [`scan_file`] opens a file, walks its folders, reads every item
//! (contents, associated and orphan) in parallel on the current rayon pool,
//! runs [`crate::rules::check_into`] on each, and returns a [`FileReport`]:
//! plain serializable data whose order depends only on the file, never on
//! the number of threads (items are read in parallel but collected back in
//! walk order). [`scan_files_ordered`] does the same for many files, one
//! file per task, handing the results back in input order.
//!
//! The report's JSON shape is documented in `docs/report.md` and published
//! as `docs/report.schema.json`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use ost_ndb::ltp::PropertyContext;
use ost_ndb::{Client, Nid, Pst};
use ost_props::{Folder, ItemKind, ItemRecord, ItemView, Namespaces, Problem, RowPolicy, Store};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::rules::{
    self as rules, check_into, check_local_change, check_row_against_item, Finding, RuleInfo,
    SyncProps, RULES,
};
use crate::sync_issues::{
    self, is_conflict, is_log_message, FolderFinding, LogIndex, ReadLog, SyncIssuesReport,
};
use crate::walk::visit_items_listing_first;
use ost_props::entry_id::{parse_entry_id, EntryId};

use crate::rules::scan_rules;

fn scan_rule_info(id: &str) -> Option<&'static RuleInfo> {
    scan_rules().find(|rule| rule.id == id)
}

/// What a scan computes besides the rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScanOptions {
    /// Compute the SHA-256 of the whole file (reads every byte once more).
    pub hash: bool,
    /// Read every item's own properties too where its row carries them,
    /// and compare the two (ROW001). Without it, an item whose row has a
    /// change key or PCL is read from the row alone.
    pub verify_rows: bool,
    /// Keep each Sync Issues log's text (its first 8,000 bytes) in the
    /// report; without it, logs are reported by their excerpt, red lines,
    /// codes and folders.
    pub log_text: bool,
}

use crate::paths::FilePath;
pub use crate::proof::hex;
use crate::proof::{pcl_view_in_store, ChangeKeyView, SyncValuesView};
use crate::status::Status;

pub mod file_report;
pub use file_report::*;

/// What one item contributes, kept small so that a scan of a large store
/// holds only the findings, never every record: 24 bytes for an item with
/// nothing to report, which is nearly every item.
struct ItemOutcome {
    /// Hash of PR_SOURCE_KEY (stored or derived), when `has_source_key`:
    /// finds the targets of Exchange-style conflict entry ids without
    /// keeping every key. Not an `Option<u64>`: with the flags beside it,
    /// an outcome is 24 bytes rather than 32 (one per message).
    source_key_hash: u64,
    has_source_key: bool,
    has_change_key: bool,
    has_pcl: bool,
    /// The change key or PCL came from the item's row.
    from_row: bool,
    /// The row and the item were both read and compared.
    row_compared: bool,
    /// Boxed: most items have none of it.
    detail: Option<Box<OutcomeDetail>>,
}

/// The rarer part of an item's outcome.
struct OutcomeDetail {
    findings: Vec<FindingReport>,
    errors: Vec<ErrorReport>,
    /// The whole record, kept only for the Sync Issues analysis: items in
    /// the Sync Issues folders and conflict items.
    kept: Option<ItemRecord>,
    /// A log message of the Sync Issues tree, read while the walk had it
    /// open.
    log: Option<ReadLog>,
}

fn key_hash(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

fn finding_report(record: &ItemRecord, finding: Finding, ns: &Namespaces) -> FindingReport {
    FindingReport {
        rule: finding.rule,
        severity: finding.severity,
        item: ItemIdentity::of(record),
        source_key: record.source_key.as_deref().map(hex),
        last_modified: record.last_modified.map(|t| t.to_string()),
        change_key: record
            .change_key
            .as_deref()
            .map(|b| ChangeKeyView::in_store(b, ns)),
        pcl: record.pcl.as_deref().and_then(|b| pcl_view_in_store(b, ns)),
        pcl_hex: record.pcl.as_deref().map(hex),
        sources: record.sources.into(),
        object_id: record.object_id.map(Into::into),
        source_key_derived: record.source_key_derived,
        row: record.row.as_ref().map(|r| {
            SyncValuesView::in_store(
                r.change_key.as_deref(),
                r.pcl.as_deref(),
                r.last_modified.map(|t| t.to_string()),
                ns,
            )
        }),
        detail: finding.detail,
    }
}

/// The findings of a folder's own change key and PCL (the item rules that
/// need no item: not SYNC004/SYNC005, which Outlook's folder bookkeeping
/// would set off on nearly every folder; see docs/rules.md).
fn folder_findings_of(folder: &Folder, ns: &Namespaces) -> Vec<FindingReport> {
    let props = SyncProps {
        change_key: folder.change_key.as_deref(),
        pcl: folder.pcl.as_deref(),
    };
    let mut found = Vec::new();
    check_into(&props, &mut found);
    let source_key = folder.object_id.and_then(|id| ns.source_key(id));
    let sources = |present: bool| present.then_some("item");
    found
        .into_iter()
        .map(|finding| FindingReport {
            rule: finding.rule,
            severity: finding.severity,
            item: ItemIdentity::of_folder(folder),
            source_key: source_key.as_ref().map(|k| hex(k)),
            last_modified: folder.last_modified.map(|t| t.to_string()),
            change_key: props.change_key.map(|b| ChangeKeyView::in_store(b, ns)),
            pcl: props.pcl.and_then(|b| pcl_view_in_store(b, ns)),
            pcl_hex: props.pcl.map(hex),
            sources: SourcesView {
                change_key: sources(props.change_key.is_some()),
                pcl: sources(props.pcl.is_some()),
                last_modified: sources(folder.last_modified.is_some()),
            },
            object_id: folder.object_id.map(Into::into),
            source_key_derived: source_key.is_some(),
            row: None,
            detail: finding.detail,
        })
        .collect()
}

/// What an item's outcome needs besides the item.
struct WalkContext<'a, 'p> {
    pst: &'a Pst<'p>,
    namespaces: &'a Namespaces,
    log_index: &'a LogIndex,
    /// NIDs of the Sync Issues folders.
    sync_tree: &'a HashSet<Nid>,
    /// Those that hold logs (all but Conflicts).
    log_folders: &'a HashSet<Nid>,
    /// Keep each log's text in the report.
    log_text: bool,
    /// The items the conflicts name, as far as the walk has learnt them.
    targets: &'a ConflictTargets,
}

/// The items that the conflict messages of the Sync Issues folders name
/// (by source key: an OST's long-term entry ids), learnt while those
/// folders are listed, before the others ([`visit_items_listing_first`]):
/// the rest of the walk keeps their records, so [`conflict_targets`] need
/// not read them again (on an OST that re-opened and inflated the
/// contents tables that list them: a cold scan of the OST bench store
/// spent a quarter of its time there). Which items are kept, and so what
/// is reported, does not depend on it: a target the walk does not keep is
/// read again, into the same record.
#[derive(Default)]
struct ConflictTargets {
    /// Source key hashes named so far (the first folders' conflicts).
    named: std::sync::Mutex<HashSet<u64>>,
    /// `named`, frozen once the first folders are listed.
    known: std::sync::OnceLock<HashSet<u64>>,
}

impl ConflictTargets {
    /// Note the item a conflict entry id names (before [`Self::freeze`];
    /// after it, nothing changes).
    fn note(&self, conflict_entry_id: &[u8]) {
        if self.known.get().is_some() {
            return;
        }
        if let Some(EntryId::ExchangeMessage {
            message_source_key, ..
        }) = parse_entry_id(conflict_entry_id)
        {
            let mut named = self.named.lock().unwrap_or_else(|p| p.into_inner());
            named.insert(key_hash(&message_source_key[..]));
        }
    }

    fn freeze(&self) {
        let named = std::mem::take(&mut *self.named.lock().unwrap_or_else(|p| p.into_inner()));
        let _ = self.known.set(named);
    }

    /// True when a conflict noted before the freeze names the item with
    /// this source key hash.
    fn names(&self, source_key_hash: Option<u64>) -> bool {
        match (self.known.get(), source_key_hash) {
            (Some(known), Some(hash)) => known.contains(&hash),
            _ => false,
        }
    }
}

fn evaluate(
    store: &Store<'_>,
    view: ItemView<'_>,
    pc: Option<&PropertyContext<'_>>,
    cx: &WalkContext<'_, '_>,
) -> ItemOutcome {
    let mut found = Vec::new();
    let props = SyncProps {
        change_key: view.change_key(),
        pcl: view.pcl(),
    };
    check_into(&props, &mut found);
    check_local_change(&props, cx.namespaces, &mut found);
    let row_compared = view.row_and_item_read();
    if row_compared {
        check_row_against_item(&view.item, &view.row, &mut found);
    }
    let source_key_hash = view.source_key().map(key_hash);
    let conflict_entry_id = view.conflict_entry_id();
    if let Some(entry_id) = conflict_entry_id {
        cx.targets.note(entry_id);
    }
    let keep = cx.sync_tree.contains(&view.folder_nid)
        || is_conflict(conflict_entry_id, view.message_status())
        || cx.targets.names(source_key_hash);
    let errors: Vec<ErrorReport> = view
        .errors
        .iter()
        .map(|e| {
            let mut problem = e.clone();
            problem.nid.get_or_insert(view.nid);
            ErrorReport::new(ErrorSource::Item, problem)
        })
        .collect();
    let has_source_key = source_key_hash.is_some();
    let source_key_hash = source_key_hash.unwrap_or(0);
    let has_change_key = view.change_key().is_some();
    let has_pcl = view.pcl().is_some();
    let sources = view.sources();
    let from_row = sources.change_key == Some(ost_props::Source::Row)
        || sources.pcl == Some(ost_props::Source::Row);
    // Strings decoded and bytes copied only for the items that a finding
    // reports or the Sync Issues analysis uses: most items are neither.
    let record = (keep || !found.is_empty()).then(|| view.into_record());
    let findings = match &record {
        Some(r) => found
            .into_iter()
            .map(|f| finding_report(r, f, cx.namespaces))
            .collect(),
        None => Vec::new(),
    };
    // Log messages are read while the walk has them open, rather than
    // opened again by the Sync Issues analysis.
    let log = match (&record, pc) {
        (Some(r), Some(pc)) if is_log_message(r, |nid| cx.log_folders.contains(&nid)) => Some(
            sync_issues::read_log(cx.pst, store, cx.log_index, r, Some(pc), cx.log_text),
        ),
        _ => None,
    };
    let kept = record.filter(|_| keep);
    let detail = (!findings.is_empty() || !errors.is_empty() || kept.is_some() || log.is_some())
        .then(|| {
            Box::new(OutcomeDetail {
                findings,
                errors,
                kept,
                log,
            })
        });
    ItemOutcome {
        source_key_hash,
        has_source_key,
        has_change_key,
        has_pcl,
        from_row,
        row_compared,
        detail,
    }
}

/// SHA-256 of the whole file, read in large pieces (through the map
/// should a read fail: the same bytes, or the error the map gives).
fn file_sha256(pst: &Pst<'_>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    match pst.read_whole(|piece| hasher.update(piece)) {
        Ok(()) => hasher.finalize().into(),
        Err(_) => Sha256::digest(pst.bytes()).into(),
    }
}

/// What the header of an open file says (`scan`'s and `info`'s `file`).
pub fn file_info(path: &Path, pst: &Pst<'_>, sha256: Option<String>) -> FileInfo {
    let header = pst.header();
    FileInfo {
        path: FilePath::new(path),
        bytes: Some(pst.len()),
        sha256,
        client: Some(header.client.name()),
        format: Some(header.format.name()),
        wver: Some(header.wver),
        crypt: Some(header.crypt.name()),
        header_crc_ok: Some(header.crc_ok()),
    }
}

/// The `FileInfo` of a file whose header could not be read: path and size.
pub fn bare_file_info(path: &Path) -> FileInfo {
    FileInfo {
        path: FilePath::new(path),
        bytes: std::fs::metadata(path).ok().map(|m| m.len()),
        sha256: None,
        client: None,
        format: None,
        wver: None,
        crypt: None,
        header_crc_ok: None,
    }
}

/// Scan one file on the current rayon pool. Never panics on file content;
/// a file that cannot be opened is [`FileScan::Unreadable`], every other
/// problem is an entry of [`FileReport::errors`] and the scan goes on.
pub fn scan_file(path: &Path, options: &ScanOptions) -> FileScan {
    match Pst::open(path) {
        Ok(pst) => scan_opened(path, &pst, options),
        Err(e) => FileScan::Unreadable(Box::new(Unreadable {
            file: bare_file_info(path),
            error: crate::input::open_error(&e),
        })),
    }
}

/// Scan a store already open, such as one read from bytes in memory
/// (tests, fuzzing, a caller that holds the file itself); `path` is what
/// the report calls it. Never panics on the store's content.
pub fn scan_opened(path: &Path, pst: &Pst<'_>, options: &ScanOptions) -> FileScan {
    let started = Instant::now();
    let (sha256, report) = rayon::join(
        || options.hash.then(|| hex(&file_sha256(pst))),
        || scan_store(pst, options),
    );
    let mut report = report.into_report(file_info(path, pst, sha256));
    report.summary.elapsed_ms = started.elapsed().as_millis() as u64;
    FileScan::Scanned(Box::new(report))
}

struct StoreScan {
    summary: Summary,
    namespaces: NamespacesView,
    folders: Vec<FolderReport>,
    findings: Vec<FindingReport>,
    folder_findings: Vec<FolderFinding>,
    sync_issues: SyncIssuesReport,
    errors: Vec<ErrorReport>,
}

impl StoreScan {
    /// The report of the file this store was read from.
    fn into_report(self, file: FileInfo) -> FileReport {
        FileReport {
            file,
            summary: self.summary,
            namespaces: self.namespaces,
            folders: self.folders,
            findings: self.findings,
            folder_findings: self.folder_findings,
            sync_issues: self.sync_issues,
            errors: self.errors,
        }
    }
}

/// The outcome details, split by who reads them: the Sync Issues analysis
/// takes the kept records (borrowed) and the logs (moved out), the roll-up
/// the findings and errors. Each part in walk order.
struct SplitDetails<'d> {
    kept: Vec<&'d ItemRecord>,
    /// The walk index of each of `kept`.
    kept_at: Vec<u32>,
    logs: Vec<ReadLog>,
    reported: Vec<Reported<'d>>,
}

/// The findings and errors of one item, with its walk index; the roll-up
/// moves them out.
type Reported<'d> = (u32, &'d mut Vec<FindingReport>, &'d mut Vec<ErrorReport>);

/// One pass over the details (in walk order). Each is a separate
/// allocation the walk made long ago, so each visit is a cache miss or
/// two, and a store may have tens of thousands: the records stay where
/// they are, borrowed, rather than moved into a vector of their own.
fn split_details(details: &mut [(u32, Box<OutcomeDetail>)]) -> SplitDetails<'_> {
    let mut split = SplitDetails {
        kept: Vec::new(),
        kept_at: Vec::new(),
        logs: Vec::new(),
        reported: Vec::new(),
    };
    for (i, d) in details.iter_mut() {
        let OutcomeDetail {
            findings,
            errors,
            kept,
            log,
        } = &mut **d;
        split.logs.extend(log.take());
        if let Some(r) = &*kept {
            split.kept.push(r);
            split.kept_at.push(*i);
        }
        if !findings.is_empty() || !errors.is_empty() {
            split.reported.push((*i, findings, errors));
        }
    }
    split
}

/// The items the kept conflict items' entry ids point at and that were not
/// kept themselves (there are few), read again, with their walk indices.
/// `outcomes` are in read order (`order[k]` is the ref of `outcomes[k]`).
fn conflict_targets(
    store: &Store<'_>,
    refs: &[ost_props::ItemRef],
    order: &[u32],
    outcomes: &[ItemOutcome],
    kept: &[&ItemRecord],
    kept_at: &[u32],
) -> Vec<(u32, ItemRecord)> {
    // The targets first (there are few), then one pass over the refs or
    // the outcomes for each kind: no map of every item's NID or key hash,
    // which on a store of 200,000 items was the scan's largest allocation.
    let mut target_nids: HashMap<Nid, Option<u32>> = HashMap::new();
    let mut target_keys: HashSet<u64> = HashSet::new();
    for r in kept {
        match r.conflict_entry_id.as_deref().and_then(parse_entry_id) {
            Some(EntryId::Pst { nid, .. }) => {
                target_nids.insert(nid, None);
            }
            Some(EntryId::ExchangeMessage {
                message_source_key, ..
            }) => {
                target_keys.insert(key_hash(&message_source_key[..]));
            }
            Some(EntryId::ExchangeFolder { .. }) | None => {}
        }
    }
    // A NID listed twice (a damaged table) names its last ref.
    if !target_nids.is_empty() {
        for (i, r) in refs.iter().enumerate() {
            if let Some(last) = target_nids.get_mut(&r.nid) {
                *last = Some(i as u32);
            }
        }
    }
    let mut wanted: BTreeSet<u32> = target_nids.into_values().flatten().collect();
    if !target_keys.is_empty() {
        for (o, &i) in outcomes.iter().zip(order) {
            if o.has_source_key && target_keys.contains(&o.source_key_hash) {
                wanted.insert(i);
            }
        }
    }
    for i in kept_at {
        wanted.remove(i);
    }
    // In walk order: targets listed by one table are read with it opened
    // once.
    let wanted: Vec<u32> = wanted
        .into_iter()
        .filter(|&w| (w as usize) < refs.len())
        .collect();
    let records = store.read_items(wanted.iter().map(|&w| &refs[w as usize]));
    wanted.into_iter().zip(records).collect()
}

/// The records the Sync Issues analysis gets: the kept ones and the
/// conflict targets read again, merged in walk order.
fn merge_records<'r>(
    kept: &[&'r ItemRecord],
    kept_at: &[u32],
    targets: &'r [(u32, ItemRecord)],
) -> Vec<&'r ItemRecord> {
    let mut records = Vec::with_capacity(kept.len() + targets.len());
    let mut targets = targets.iter().peekable();
    for (&r, &i) in kept.iter().zip(kept_at) {
        while let Some((_, t)) = targets.next_if(|(w, _)| *w < i) {
            records.push(t);
        }
        records.push(r);
    }
    records.extend(targets.map(|(_, t)| t));
    records
}

/// Totals, folders and findings of the items' outcomes, in walk order.
struct Rollup {
    summary: Summary,
    folders: Vec<FolderReport>,
    /// Per folder, the rules behind its Clear Offline Items recommendation,
    /// keyed by catalogue order.
    folder_rules: Vec<BTreeMap<usize, &'static str>>,
    findings: Vec<FindingReport>,
    /// The walk's errors, then the items'.
    errors: Vec<ErrorReport>,
}

/// `outcomes` in any order (they are counted); `reported`, the items'
/// findings and errors lent by [`split_details`], in walk order, each with
/// the index of its ref (they are moved out).
fn roll_up(
    store: &Store<'_>,
    refs: &[ost_props::ItemRef],
    outcomes: Vec<ItemOutcome>,
    reported: Vec<Reported<'_>>,
) -> Rollup {
    let ns = store.namespaces();
    let mut summary = Summary::new();
    summary.folders = store.folders().len() as u64;
    let mut folders: Vec<FolderReport> = store
        .folders()
        .iter()
        .map(|f| FolderReport {
            path: f.path.to_string(),
            nid: f.nid,
            nid_hex: nid_hex(f.nid),
            messages: 0,
            findings: 0,
            findings_by_severity: SeverityCounts::default(),
            worst_severity: None,
            recommend_clear_offline_items: false,
            clear_offline_items_rules: Vec::new(),
            remedy: Remedy::None,
        })
        .collect();
    let mut folder_rules: Vec<BTreeMap<usize, &'static str>> = vec![BTreeMap::new(); folders.len()];
    let mut findings = Vec::new();
    let mut errors: Vec<ErrorReport> = store
        .errors()
        .iter()
        .map(|e| ErrorReport::new(ErrorSource::Walk, e.clone()))
        .collect();
    summary.messages = refs.len() as u64;
    for r in refs {
        match r.kind {
            ItemKind::Contents => summary.messages_by_kind.contents += 1,
            ItemKind::Associated => summary.messages_by_kind.associated += 1,
            ItemKind::Orphan => summary.messages_by_kind.orphan += 1,
        }
        if let Some(f) = r.folder().and_then(|i| folders.get_mut(i)) {
            f.messages += 1;
        }
    }
    for outcome in &outcomes {
        summary.with_change_key += u64::from(outcome.has_change_key);
        summary.with_pcl += u64::from(outcome.has_pcl);
        summary.checked += u64::from(outcome.has_change_key || outcome.has_pcl);
        summary.from_rows += u64::from(outcome.from_row);
        summary.rows_compared += u64::from(outcome.row_compared);
    }
    summary.not_checked = summary.messages.saturating_sub(summary.checked);
    // The folders' own findings first (in walk order), then the items'.
    let mut folder_found: Vec<(usize, Vec<FindingReport>)> = Vec::new();
    for (i, f) in store.folders().iter().enumerate() {
        summary.folders_checked += u64::from(f.change_key.is_some() || f.pcl.is_some());
        let found = folder_findings_of(f, ns);
        if !found.is_empty() {
            folder_found.push((i, found));
        }
    }
    let folder_count = folders.len();
    let mut item_found = reported.into_iter().map(|(i, item_findings, item_errors)| {
        let folder = refs
            .get(i as usize)
            .and_then(|r| r.folder())
            .filter(|&f| f < folder_count);
        (folder, std::mem::take(item_findings), Some(item_errors))
    });
    let folder_found = folder_found
        .into_iter()
        .map(|(i, found)| (Some(i), found, None));
    for (folder, found, item_errors) in folder_found.chain(&mut item_found) {
        for finding in found {
            summary.findings += 1;
            *summary.findings_by_rule.entry(finding.rule).or_insert(0) += 1;
            summary.findings_by_severity.add(finding.severity, 1);
            if let Some(i) = folder {
                let f = &mut folders[i];
                f.findings += 1;
                f.findings_by_severity.add(finding.severity, 1);
                if rules::clears_offline_items(finding.rule) {
                    let order = RULES
                        .iter()
                        .position(|rule| rule.id == finding.rule)
                        .unwrap_or(usize::MAX);
                    folder_rules[i].insert(order, finding.rule);
                }
            }
            findings.push(finding);
        }
        if let Some(item_errors) = item_errors {
            errors.append(item_errors);
        }
    }
    Rollup {
        summary,
        folders,
        folder_rules,
        findings,
        errors,
    }
}

fn scan_store(pst: &Pst<'_>, options: &ScanOptions) -> StoreScan {
    let mut store = Store::open(pst);
    // Located before the walk: the items of the Sync Issues tree are read
    // whole (their logs and conflict entry ids), even where rows carry
    // their sync properties.
    let located = sync_issues::locate(pst, &store);
    let sync_tree: HashSet<Nid> = located.0.all().map(|f| f.nid).collect();
    let log_folders: HashSet<Nid> = sync_tree
        .iter()
        .copied()
        .filter(|&nid| located.0.holds_logs(nid))
        .collect();
    let log_index = LogIndex::new(&store);
    let namespaces = store.namespaces().clone();
    let cx = WalkContext {
        pst,
        namespaces: &namespaces,
        log_index: &log_index,
        sync_tree: &sync_tree,
        log_folders: &log_folders,
        log_text: options.log_text,
        targets: &ConflictTargets::default(),
    };
    let read_item_if = |view: &ItemView<'_>| {
        sync_tree.contains(&view.folder_nid)
            || view
                .message_status()
                .is_some_and(|s| s & sync_issues::MS_IN_CONFLICT != 0)
    };
    // Only the logs' texts are read (a long text is in a subnode).
    let subnodes_read_if = |view: &ItemView<'_>| log_folders.contains(&view.folder_nid);
    let policy = RowPolicy {
        read_all_items: options.verify_rows,
        read_item_if: &read_item_if,
        subnodes_read_if: &subnodes_read_if,
    };
    // The Sync Issues folders first: their conflicts name the items the
    // rest of the walk keeps (see `ConflictTargets`).
    let in_sync_tree: Vec<bool> = store
        .folders()
        .iter()
        .map(|f| sync_tree.contains(&f.nid))
        .collect();
    let walked = visit_items_listing_first(
        &mut store,
        true,
        &policy,
        &|i| in_sync_tree.get(i).copied().unwrap_or(false),
        || cx.targets.freeze(),
        |store, view, pc| evaluate(store, view, pc, &cx),
    );
    let refs = walked.refs;
    let order = walked.order;
    let mut outcomes = walked.outcomes;
    // ... and reported in walk order: most outcomes are only counted, and
    // the few that carry something are put back in walk order. Neither
    // depends on the number of threads.
    let mut details: Vec<(u32, Box<OutcomeDetail>)> = outcomes
        .iter_mut()
        .zip(&order)
        .filter_map(|(o, &i)| Some((i, o.detail.take()?)))
        .collect();
    details.sort_unstable_by_key(|&(i, _)| i);
    let SplitDetails {
        kept,
        kept_at,
        logs,
        reported,
    } = split_details(&mut details);
    let targets = conflict_targets(&store, &refs, &order, &outcomes, &kept, &kept_at);
    let records = merge_records(&kept, &kept_at, &targets);
    // The analysis and the roll-up of the items' outcomes are independent.
    let (sync_report, rollup) = rayon::join(
        || {
            sync_issues::analyze_with(
                pst,
                &store,
                located,
                &log_index,
                &records,
                logs,
                options.log_text,
            )
        },
        || roll_up(&store, &refs, outcomes, reported),
    );
    // The borrows end here. The details, with the kept records in them
    // (tens of thousands of allocations), and the targets read again are
    // freed by a job on the pool while this thread goes on; rayon runs it
    // even after the scan has returned.
    drop((records, kept));
    rayon::spawn(move || drop((details, targets)));
    let Rollup {
        mut summary,
        mut folders,
        mut folder_rules,
        findings,
        mut errors,
    } = rollup;
    let namespaces = NamespacesView::new(store.namespaces());
    // SYNC010: Outlook's own records agree with the item findings.
    // A conflict copy's findings count for the folder it concerns.
    let mut sync_by_folder: BTreeMap<Nid, u64> = BTreeMap::new();
    {
        let sync_folder_of = sync_report.sync_folders();
        for f in &findings {
            let item = &f.item;
            if matches!(f.rule, "SYNC001" | "SYNC002" | "SYNC003") && item.folder_nid != Nid(0) {
                let folder = sync_folder_of(item.nid, item.folder_nid);
                *sync_by_folder.entry(folder).or_insert(0) += 1;
            }
        }
    }
    let client = pst.header().client;
    let mut folder_findings =
        sync_issues::sync010(&sync_report, &sync_by_folder, client == Client::Ost);
    for ff in &folder_findings {
        summary.findings += 1;
        *summary.findings_by_rule.entry(ff.rule).or_insert(0) += 1;
        summary.findings_by_severity.add(ff.severity, 1);
        if let Some(i) = folders.iter().position(|f| f.nid == ff.folder_nid) {
            folders[i].findings += 1;
            folders[i].findings_by_severity.add(ff.severity, 1);
            folder_rules[i].insert(RULES.len(), ff.rule);
        }
    }
    errors.extend(
        sync_report
            .errors
            .iter()
            .map(|e| ErrorReport::new(ErrorSource::Walk, e.clone())),
    );
    for (folder, rules) in folders.iter_mut().zip(folder_rules) {
        folder.worst_severity = folder.findings_by_severity.worst();
        folder.clear_offline_items_rules = rules.into_values().collect();
        let sync_issues_tree = sync_report.folders.contains(folder.nid);
        folder.remedy =
            Remedy::for_folder(&folder.clear_offline_items_rules, client, sync_issues_tree);
        folder.recommend_clear_offline_items = folder.remedy == Remedy::ClearOfflineItems;
    }
    if client != Client::Ost {
        for ff in &mut folder_findings {
            ff.for_local_store();
        }
    }
    summary.folders_to_clear = folders
        .iter()
        .filter(|f| f.recommend_clear_offline_items)
        .count() as u64;
    let with_items = folders_with_items(&folders, &sync_report.folders);
    summary.recreate_ost_suggested = recreate_ost_suggested(summary.folders_to_clear, with_items);
    summary.rows_verified = options.verify_rows;
    // Read after the walk: the reader records integrity problems as it
    // meets them. `issues()` returns them sorted by offset, so their order
    // does not depend on which thread met them first.
    let (issues, dropped) = pst.issues();
    errors.extend(
        issues
            .iter()
            .map(|e| ErrorReport::new(ErrorSource::Integrity, Problem::ndb_kind_only(e))),
    );
    summary.errors = errors.len() as u64;
    summary.errors_dropped = dropped;
    StoreScan {
        summary,
        namespaces,
        folders,
        findings,
        folder_findings,
        sync_issues: sync_report,
        errors,
    }
}

/// The folders that need attention, worst first: by worst severity, then
/// number of findings, then path. Folders without findings are left out.
pub fn folders_to_treat(folders: &[FolderReport]) -> Vec<&FolderReport> {
    let mut treat: Vec<&FolderReport> = folders.iter().filter(|f| f.findings > 0).collect();
    treat.sort_by(|a, b| {
        b.worst_severity
            .cmp(&a.worst_severity)
            .then(b.findings.cmp(&a.findings))
            .then(a.path.cmp(&b.path))
    });
    treat
}

/// Totals over several files (the last record of NDJSON, `summary` of JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Files the output reports (scanned or unreadable): this run's, and
    /// after `batch --resume` also the earlier runs' (`files_skipped`).
    pub files: u64,
    pub files_unreadable: u64,
    /// Files read only in part (`status: "partial"`, see `crate::status`).
    pub files_partial: u64,
    /// Files `batch --resume` found complete in the output, kept and
    /// skipped.
    pub files_skipped: u64,
    pub messages: u64,
    pub with_change_key: u64,
    pub with_pcl: u64,
    pub findings: u64,
    pub findings_by_rule: BTreeMap<&'static str, u64>,
    pub findings_by_severity: SeverityCounts,
    pub errors: u64,
    /// Folders where Clear Offline Items is recommended, over all files.
    pub folders_to_clear: u64,
    pub elapsed_ms: u64,
}

impl Totals {
    pub fn new() -> Totals {
        Totals {
            findings_by_rule: scan_rules().map(|rule| (rule.id, 0)).collect(),
            ..Totals::default()
        }
    }

    /// The worst status of the files: what the run's exit status follows.
    pub fn status(&self) -> Status {
        if self.files_unreadable > 0 {
            Status::Unreadable
        } else if self.files_partial > 0 {
            Status::Partial
        } else {
            Status::Ok
        }
    }

    /// Count one scanned file.
    pub fn add(&mut self, scan: &FileScan) {
        match scan {
            FileScan::Unreadable(_) => self.add_file(scan.status(), None, 0),
            FileScan::Scanned(report) => {
                let s = &report.summary;
                self.add_file(scan.status(), Some(&s.into()), s.folders_to_clear);
            }
        }
    }

    /// Count one file: its status, its summary's counts when it was read,
    /// and its folders where Clear Offline Items is recommended.
    pub fn add_file(&mut self, status: Status, counts: Option<&FileCounts>, folders_to_clear: u64) {
        self.files += 1;
        match status {
            Status::Unreadable => {
                self.files_unreadable += 1;
                self.errors += 1;
            }
            Status::Partial => self.files_partial += 1,
            Status::Ok => {}
        }
        // Saturating: `batch --resume` reads the counts back from an
        // earlier output, which may have been edited to hold anything.
        if let Some(c) = counts {
            self.messages = self.messages.saturating_add(c.messages);
            self.with_change_key = self.with_change_key.saturating_add(c.with_change_key);
            self.with_pcl = self.with_pcl.saturating_add(c.with_pcl);
            self.findings = self.findings.saturating_add(c.findings);
            for (rule, n) in &c.findings_by_rule {
                // Keys come from the catalogue; look them up to keep
                // the 'static names (and skip a rule an earlier version
                // had).
                if let Some(info) = scan_rule_info(rule) {
                    let total = self.findings_by_rule.entry(info.id).or_insert(0);
                    *total = total.saturating_add(*n);
                }
            }
            self.findings_by_severity.add_all(&c.findings_by_severity);
            self.errors = self.errors.saturating_add(c.errors);
        }
        self.folders_to_clear = self.folders_to_clear.saturating_add(folders_to_clear);
    }
}

/// Scan `paths` on `pool`, one file per task, and hand each result to
/// `deliver` in input order as soon as it and all before it are done (so
/// output can be streamed and flushed per file while later files are still
/// being scanned). `deliver` runs on the calling thread, which must not be
/// a thread of `pool`: it blocks waiting for results. It hands back the
/// scans it does not keep, and `pool` frees them: a large report is
/// hundreds of thousands of allocations, milliseconds the calling thread
/// then spends writing instead (or the process ends first).
pub fn scan_files_ordered<F>(
    pool: &rayon::ThreadPool,
    paths: &[PathBuf],
    options: &ScanOptions,
    mut deliver: F,
) where
    F: FnMut(usize, FileScan) -> Option<FileScan>,
{
    let (sender, receiver) = mpsc::channel::<(usize, FileScan)>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            pool.install(|| {
                paths
                    .par_iter()
                    .enumerate()
                    // One file per task: files are independent, and each
                    // file's items are spread over the same pool.
                    .with_max_len(1)
                    .for_each_with(sender, |sender, (index, path)| {
                        // The receiver only goes away if `deliver` panicked.
                        let _ = sender.send((index, scan_file(path, options)));
                    });
            })
        });
        let mut pending: BTreeMap<usize, FileScan> = BTreeMap::new();
        let mut next = 0;
        for (index, scan) in receiver.iter() {
            pending.insert(index, scan);
            while let Some(scan) = pending.remove(&next) {
                if let Some(done) = deliver(next, scan) {
                    pool.spawn(move || drop(done));
                }
                next += 1;
            }
        }
    });
}

#[cfg(test)]
mod read_scope;

/// One outcome per message is held until the roll-up (200,000 on the
/// bench's OST): its size is part of the scan's memory budget
/// (docs/performance.md).
#[test]
fn an_item_outcome_is_24_bytes() {
    assert_eq!(std::mem::size_of::<ItemOutcome>(), 24);
}
