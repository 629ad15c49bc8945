//! `ostscan diff`: two copies of one mailbox compared item by item.
//!
//! Each copy may be internally consistent and still show the EWS failure:
//! between yesterday's and today's .ost the change key of an item went
//! *down*, or the two versions no longer include one another. This module
//! matches the items of two stores ([`match_items`]), compares the versions
//! of every matched pair with the [MS-OXCFXICS] 3.1.5.6.1 inclusion rule
//! ([`compare_pair`]) and lists the items added, removed and moved.
//!
//! Matching, in tiers (an item is matched at most once, in walk order):
//! 1. PR_SOURCE_KEY equal on both sides;
//! 2. PR_SEARCH_KEY equal, when at least one of the two has no source key
//!    (two items that both have source keys, different ones, are different
//!    items even if one was copied from the other and shares its search key);
//! 3. the entry id: the same NID, when both stores have the same
//!    PR_RECORD_KEY (two snapshots of one .ost), again only when at least
//!    one side has no source key.
//!
//! The JSON shape is documented in `docs/diff.md` and `docs/diff.schema.json`.

pub mod body;
pub mod report;

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::path::Path;

use rayon::prelude::*;

use ost_ndb::ltp::PropertyContext;
use ost_ndb::{Access, NdbError, Nid, Pst, ReadOptions};
use ost_props::{
    compare, Folder, ItemKind, ItemRecord, Namespaces, Pcl, PclOrdering, Problem, ProblemKind,
    RowPolicy, Store, Xid,
};

use crate::paths::FilePath;
use crate::proof::xid_list;
use crate::rules::{RuleInfo, DIFF001, DIFF002, DIFF003, DIFF_RULES};
use ost_props::entry_id::{parse_entry_id, EntryId};

pub use report::*;

/// Version of the JSON and NDJSON shapes (`docs/diff.schema.json`); goes
/// up when a field changes meaning or is removed (adding fields keeps it).
/// 2: a path that is not UTF-8 is an object `{"bytes", "text"}`.
pub const SCHEMA_VERSION: u32 = 2;

/// PR_RECORD_KEY on the message store node.
const PR_RECORD_KEY: u16 = 0x0FF9;

/// What the diff needs of one store.
#[derive(Default)]
pub struct Snapshot {
    /// PR_RECORD_KEY of the message store (the provider UID of its entry ids).
    pub record_key: Option<Vec<u8>>,
    pub folders: Vec<Folder>,
    /// Index into `folders` of the IPM subtree ("Top of Personal Folders"):
    /// the folder the store names, else a real OST's
    /// `/Root - Mailbox/IPM_SUBTREE`.
    pub ipm_subtree: Option<usize>,
    /// Contents and associated items, in walk order.
    pub items: Vec<ItemRecord>,
    /// Server and local namespaces (OSTs), for the decoded change keys.
    pub namespaces: Namespaces,
    pub errors: Vec<Problem>,
}

/// A property of the message store node; `None` when absent or unreadable
/// (the diff goes on without it).
fn store_prop(pst: &Pst<'_>, id: u16) -> Option<Vec<u8>> {
    let pc = PropertyContext::open(pst.node(Nid::MESSAGE_STORE).ok()?).ok()?;
    let value = pc.get(id).ok()??;
    Some(value.as_bytes().to_vec())
}

/// The IPM subtree of an OST that does not name it by entry id (real
/// OSTs have no PR_IPM_SUBTREE_ENTRYID): `/Root - Mailbox/IPM_SUBTREE`, the
/// names Exchange gives the mailbox's folders there. (`/Root -
/// Public/IPM_SUBTREE` holds public folders.)
fn mailbox_ipm_subtree(folders: &[Folder]) -> Option<usize> {
    folders.iter().position(|f| {
        let parent = f.parent.and_then(|p| folders.get(p));
        f.name == "IPM_SUBTREE"
            && parent.is_some_and(|p| p.name == "Root - Mailbox" && p.depth == 1)
    })
}

/// Walk a store and read every live item (orphans are left out: they are
/// not in any folder, and an item that became one was removed).
pub fn snapshot(pst: &Pst<'_>) -> Snapshot {
    let mut store = Store::open(pst);
    // Orphans are read too (the walk does not know them apart until it
    // has joined the tables with the NBT) and dropped here.
    let items: Vec<ItemRecord> =
        crate::walk::visit_items(&mut store, true, &RowPolicy::ROWS_FIRST, |_, view, _| {
            (view.kind != ItemKind::Orphan).then(|| view.into_record())
        })
        .into_walk_order()
        .into_iter()
        .flatten()
        .collect();
    let record_key = store_prop(pst, PR_RECORD_KEY);
    let ipm_subtree = store_prop(pst, ost_props::tags::PR_IPM_SUBTREE_ENTRYID)
        .as_deref()
        .and_then(parse_entry_id)
        .and_then(|id| match id {
            EntryId::Pst { nid, .. } => Some(nid),
            _ => None,
        })
        .and_then(|nid| store.folders().iter().position(|f| f.nid == nid))
        .or_else(|| mailbox_ipm_subtree(store.folders()));
    let errors = crate::walk::read_problems(&store, &items);
    Snapshot {
        record_key,
        folders: store.folders().to_vec(),
        ipm_subtree,
        items,
        namespaces: store.namespaces().clone(),
        errors,
    }
}

impl Snapshot {
    /// The folder path the move check compares: relative to the IPM
    /// subtree when the item is below it (its path differs between an .ost,
    /// "/Root - Mailbox/IPM_SUBTREE", and a PST export, "/Top of Outlook
    /// data file"), else relative to the first level below the root.
    fn relative_folder<'s>(&self, path: &'s str) -> &'s str {
        if let Some(top) = self.ipm_subtree.and_then(|i| self.folders.get(i)) {
            if let Some(rest) = path.strip_prefix(&*top.path) {
                if rest.is_empty() || rest.starts_with('/') {
                    return rest.trim_start_matches('/');
                }
            }
        }
        let rest = path.trim_start_matches('/');
        rest.split_once('/').map_or("", |(_, below)| below)
    }
}

fn non_empty(v: &Option<Vec<u8>>) -> Option<&[u8]> {
    v.as_deref().filter(|b| !b.is_empty())
}

/// One matched pair: indices into OLD's and NEW's items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair {
    pub old: usize,
    pub new: usize,
    pub kind: MatchKind,
}

/// The matching of two item lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matching {
    /// In OLD's walk order.
    pub pairs: Vec<Pair>,
    /// OLD items without a partner, in walk order.
    pub removed: Vec<usize>,
    /// NEW items without a partner, in walk order.
    pub added: Vec<usize>,
}

/// The state of a matching in progress.
struct Matcher<'s> {
    old: &'s [ItemRecord],
    new: &'s [ItemRecord],
    old_done: Vec<bool>,
    new_done: Vec<bool>,
    pairs: Vec<Pair>,
}

impl Matcher<'_> {
    /// Pair still-unmatched items that have equal keys. `eligible(old,
    /// new)` says whether a pair may be made in this tier. Items with the
    /// same key on one side (duplicates) pair up in walk order.
    fn tier<K: Eq + Hash>(
        &mut self,
        key: impl Fn(&ItemRecord) -> Option<K>,
        eligible: impl Fn(&ItemRecord, &ItemRecord) -> bool,
        kind: MatchKind,
    ) {
        let mut by_key: HashMap<K, VecDeque<usize>> = HashMap::new();
        for (j, r) in self.new.iter().enumerate() {
            if !self.new_done[j] {
                if let Some(k) = key(r) {
                    by_key.entry(k).or_default().push_back(j);
                }
            }
        }
        for (i, r) in self.old.iter().enumerate() {
            if self.old_done[i] {
                continue;
            }
            let Some(candidates) = key(r).and_then(|k| by_key.get_mut(&k)) else {
                continue;
            };
            let Some(pos) = candidates.iter().position(|&j| eligible(r, &self.new[j])) else {
                continue;
            };
            let Some(j) = candidates.remove(pos) else {
                continue;
            };
            self.old_done[i] = true;
            self.new_done[j] = true;
            self.pairs.push(Pair {
                old: i,
                new: j,
                kind,
            });
        }
    }
}

/// Match OLD's items with NEW's (see the module documentation for the tiers).
pub fn match_items(old: &Snapshot, new: &Snapshot) -> Matching {
    let mut m = Matcher {
        old: &old.items,
        new: &new.items,
        old_done: vec![false; old.items.len()],
        new_done: vec![false; new.items.len()],
        pairs: Vec::new(),
    };
    let either_lacks_source_key = |a: &ItemRecord, b: &ItemRecord| {
        non_empty(&a.source_key).is_none() || non_empty(&b.source_key).is_none()
    };
    m.tier(
        |r| non_empty(&r.source_key).map(<[u8]>::to_vec),
        |_, _| true,
        MatchKind::SourceKey,
    );
    m.tier(
        |r| non_empty(&r.search_key).map(<[u8]>::to_vec),
        either_lacks_source_key,
        MatchKind::SearchKey,
    );
    let same_store = matches!(
        (&old.record_key, &new.record_key),
        (Some(a), Some(b)) if !a.is_empty() && a == b
    );
    if same_store {
        m.tier(|r| Some(r.nid), either_lacks_source_key, MatchKind::EntryId);
    }
    let mut pairs = m.pairs;
    pairs.sort_by_key(|p| p.old);
    Matching {
        pairs,
        removed: (0..old.items.len()).filter(|&i| !m.old_done[i]).collect(),
        added: (0..new.items.len()).filter(|&j| !m.new_done[j]).collect(),
    }
}

/// A version as the inclusion rule sees it: the PCL when it decodes, else
/// the change key alone (a one-element list).
#[derive(Clone, Copy)]
enum Version<'a> {
    Pcl(Pcl<'a>),
    ChangeKey(Xid<'a>),
}

impl<'a> Version<'a> {
    fn of(change_key: Option<Xid<'a>>, pcl: Option<Pcl<'a>>) -> Option<Version<'a>> {
        pcl.map(Version::Pcl).or(change_key.map(Version::ChangeKey))
    }

    fn name(self) -> &'static str {
        match self {
            Version::Pcl(_) => "PCL",
            Version::ChangeKey(_) => "change key",
        }
    }

    /// The version's XIDs (a PCL's, one per namespace in a valid PCL, or
    /// the change key), as `{guid} counter` text, for details.
    fn describe(self) -> String {
        let xids: Vec<Xid<'_>> = match self {
            Version::Pcl(p) => p.xids().collect(),
            Version::ChangeKey(x) => vec![x],
        };
        xid_list(&xids)
    }
}

fn compare_versions(a: Version<'_>, b: Version<'_>) -> PclOrdering {
    match (a, b) {
        (Version::Pcl(a), Version::Pcl(b)) => compare(&a, &b),
        (Version::Pcl(a), Version::ChangeKey(b)) => compare(&a, &b),
        (Version::ChangeKey(a), Version::Pcl(b)) => compare(&a, &b),
        (Version::ChangeKey(a), Version::ChangeKey(b)) => compare(&a, &b),
    }
}

/// The DIFF rules on one matched pair, in rule order; at most one finding
/// per rule. DIFF001 and DIFF002 exclude each other; DIFF003 needs equal
/// change keys and can accompany a DIFF001 found on the PCLs.
/// `changed_bodies` names the body properties whose fingerprints differ
/// ([`body::BodyFingerprint::changed`]; empty when not compared).
pub fn compare_pair(
    old: &ItemRecord,
    new: &ItemRecord,
    changed_bodies: &[&str],
) -> Vec<(&'static RuleInfo, String)> {
    let mut out: Vec<(&'static RuleInfo, String)> = Vec::new();
    let old_ck = old.change_key.as_deref().and_then(|b| Xid::parse(b).ok());
    let new_ck = new.change_key.as_deref().and_then(|b| Xid::parse(b).ok());
    let old_pcl = old.pcl.as_deref().and_then(|b| Pcl::parse(b).ok());
    let new_pcl = new.pcl.as_deref().and_then(|b| Pcl::parse(b).ok());

    // The change key counter itself, within one namespace: the EWS
    // decrement caught in the act, whatever the PCLs say.
    let mut regressed: Option<String> = None;
    if let (Some(o), Some(n)) = (old_ck, new_ck) {
        if o.namespace() == n.namespace()
            && o.local_id_len() == n.local_id_len()
            && n.counter() < o.counter()
        {
            regressed = Some(format!(
                "change key went down in namespace {}: OLD {} -> NEW {} (back by {})",
                o.namespace(),
                o.counter(),
                n.counter(),
                o.counter().value() - n.counter().value()
            ));
        }
    }
    let mut conflict = None;
    if let (Some(ov), Some(nv)) = (Version::of(old_ck, old_pcl), Version::of(new_ck, new_pcl)) {
        match compare_versions(ov, nv) {
            PclOrdering::Includes => {
                let text = format!(
                    "OLD's {} {} includes NEW's {} {} and not the reverse",
                    ov.name(),
                    ov.describe(),
                    nv.name(),
                    nv.describe()
                );
                regressed = Some(match regressed {
                    Some(ck) => format!("{ck}; {text}"),
                    None => text,
                });
            }
            PclOrdering::Conflict => {
                conflict = Some(format!(
                    "neither version includes the other: OLD's {} {}, NEW's {} {}",
                    ov.name(),
                    ov.describe(),
                    nv.name(),
                    nv.describe()
                ));
            }
            // Identical, newer, or LocalId lengths that cannot be compared
            // (ostscan scan reports those as PCL005; no guess here).
            _ => {}
        }
    }
    if let Some(text) = regressed {
        out.push((&DIFF001, text));
    } else if let Some(text) = conflict {
        out.push((&DIFF002, text));
    }

    if let (Some(o), Some(n)) = (non_empty(&old.change_key), non_empty(&new.change_key)) {
        if o == n {
            let changes = content_changes(old, new, changed_bodies);
            if !changes.is_empty() {
                let ck = old_ck.map_or_else(
                    || report::hex(o),
                    |x| format!("{} {}", x.namespace(), x.counter()),
                );
                out.push((
                    &DIFF003,
                    format!(
                        "change key {ck} is the same on both sides but {}",
                        changes.join(", ")
                    ),
                ));
            }
        }
    }
    out
}

/// What counts as "the content changed" for DIFF003: any of
/// PR_LAST_MODIFICATION_TIME (both present), PR_SUBJECT, PR_MESSAGE_CLASS
/// differs, or a body (`changed_bodies`). Every save through MAPI or EWS
/// moves the modification time, so it is the signal; subject, class and
/// body catch writers that preserve it.
fn content_changes(old: &ItemRecord, new: &ItemRecord, changed_bodies: &[&str]) -> Vec<String> {
    let mut changes = Vec::new();
    if let (Some(o), Some(n)) = (old.last_modified, new.last_modified) {
        if o != n {
            changes.push(format!("PR_LAST_MODIFICATION_TIME changed from {o} to {n}"));
        }
    }
    if old.subject != new.subject {
        changes.push("PR_SUBJECT changed".to_string());
    }
    if old.message_class != new.message_class {
        changes.push(format!(
            "PR_MESSAGE_CLASS changed from {:?} to {:?}",
            old.message_class.as_deref().unwrap_or(""),
            new.message_class.as_deref().unwrap_or("")
        ));
    }
    if !changed_bodies.is_empty() {
        changes.push(format!("the body changed ({})", changed_bodies.join(", ")));
    }
    changes
}

/// The two files, for the body fingerprints of pairs with equal change keys.
#[derive(Clone, Copy)]
pub struct Bodies<'a, 'p> {
    pub old: &'a Pst<'p>,
    pub new: &'a Pst<'p>,
}

/// What reading the bodies of the pairs gave: per pair (in `pairs`
/// order) the names of the changed body properties, and the problems met.
struct BodyComparison {
    changed: Vec<Vec<&'static str>>,
    compared: u64,
    errors: Vec<DiffError>,
}

/// Whether a pair's bodies are compared: DIFF003 needs equal change keys.
fn same_change_key(o: &ItemRecord, n: &ItemRecord) -> bool {
    matches!((non_empty(&o.change_key), non_empty(&n.change_key)), (Some(a), Some(b)) if a == b)
}

/// Fingerprint the bodies of every pair with equal change keys (in
/// parallel) and compare them.
fn compare_bodies(
    bodies: Bodies<'_, '_>,
    old: &Snapshot,
    new: &Snapshot,
    pairs: &[Pair],
) -> BodyComparison {
    let read = |pst: &Pst<'_>, side: Side, nid: Nid| {
        body::body_fingerprint(pst, nid).map_err(|e| {
            let problem = Problem::ltp(pst, &e, nid);
            DiffError::new(
                side,
                problem.context("reading the body (DIFF003 not checked)"),
            )
        })
    };
    let results: Vec<Option<(Result<_, DiffError>, Result<_, DiffError>)>> = pairs
        .par_iter()
        .map(|p| {
            let (o, n) = (&old.items[p.old], &new.items[p.new]);
            same_change_key(o, n).then(|| {
                (
                    read(bodies.old, Side::Old, o.nid),
                    read(bodies.new, Side::New, n.nid),
                )
            })
        })
        .collect();
    let mut out = BodyComparison {
        changed: Vec::with_capacity(pairs.len()),
        compared: 0,
        errors: Vec::new(),
    };
    for result in results {
        let changed = match result {
            Some((Ok(a), Ok(b))) => {
                out.compared += 1;
                a.changed(&b)
            }
            Some((a, b)) => {
                out.errors.extend(a.err());
                out.errors.extend(b.err());
                Vec::new()
            }
            None => Vec::new(),
        };
        out.changed.push(changed);
    }
    out
}

/// The warning that OLD and NEW look like different mailboxes: they share
/// almost none of their source keys (fewer than 1 in 20 of those of the
/// side with fewer) and almost no items are matched at all (fewer than 1
/// in 20 of the smaller side: a PST export without source keys, matched by
/// search key, is not another mailbox), so nearly every item is "added"
/// or "removed".
fn different_mailboxes(
    old: &Snapshot,
    new: &Snapshot,
    summary: &DiffSummary,
) -> Option<DiffWarning> {
    let with_key = |s: &Snapshot| {
        s.items
            .iter()
            .filter(|r| non_empty(&r.source_key).is_some())
            .count() as u64
    };
    let (old_keys, new_keys) = (with_key(old), with_key(new));
    let shared = summary.matched_by.source_key;
    let few_keys = shared * 20 < old_keys.min(new_keys);
    let few_items = summary.matched * 20 < summary.old_items.min(summary.new_items);
    (few_keys && few_items).then(|| DiffWarning {
        code: "different_mailboxes",
        message: format!(
            "OLD and NEW share {shared} source keys of {old_keys} and {new_keys}: these look like different mailboxes, not two copies of one"
        ),
    })
}

/// Whether the pair's folder changed: by PR_PARENT_SOURCE_KEY when both
/// items have one (stable across copies and renames), else by the folder
/// path below the IPM subtree.
fn moved(old: &Snapshot, o: &ItemRecord, new: &Snapshot, n: &ItemRecord) -> bool {
    match (
        non_empty(&o.parent_source_key),
        non_empty(&n.parent_source_key),
    ) {
        (Some(a), Some(b)) => a != b,
        _ => old.relative_folder(&o.folder) != new.relative_folder(&n.folder),
    }
}

fn file_side(path: &Path, pst: &Pst<'_>, snap: &Snapshot) -> FileSide {
    let header = pst.header();
    FileSide {
        path: FilePath::new(path),
        bytes: pst.len(),
        client: header.client.name(),
        format: header.format.name(),
        record_key: snap.record_key.as_deref().map(hex),
        folders: snap.folders.len() as u64,
        items: snap.items.len() as u64,
    }
}

/// Diff two snapshots without reading bodies (DIFF003 then sees only the
/// modification time, subject and class). `old_side`/`new_side` describe
/// the files.
pub fn diff_snapshots(
    old_side: FileSide,
    old: &Snapshot,
    new_side: FileSide,
    new: &Snapshot,
) -> DiffReport {
    diff_snapshots_with(old_side, old, new_side, new, None)
}

/// [`diff_snapshots`], comparing the bodies of the pairs whose change keys
/// are equal when `bodies` gives the files they were read from.
pub fn diff_snapshots_with(
    old_side: FileSide,
    old: &Snapshot,
    new_side: FileSide,
    new: &Snapshot,
    bodies: Option<Bodies<'_, '_>>,
) -> DiffReport {
    let matching = match_items(old, new);
    let body_comparison = bodies.map(|b| compare_bodies(b, old, new, &matching.pairs));
    let mut summary = DiffSummary {
        old_items: old.items.len() as u64,
        new_items: new.items.len() as u64,
        matched: matching.pairs.len() as u64,
        added: matching.added.len() as u64,
        removed: matching.removed.len() as u64,
        findings_by_rule: DIFF_RULES.iter().map(|r| (r.id, 0)).collect(),
        ..DiffSummary::default()
    };
    summary.bodies_compared = body_comparison.as_ref().map_or(0, |b| b.compared);
    let mut findings = Vec::new();
    let mut moved_items = Vec::new();
    for (i, pair) in matching.pairs.iter().enumerate() {
        let changed_bodies: &[&'static str] = body_comparison
            .as_ref()
            .and_then(|b| b.changed.get(i))
            .map_or(&[], Vec::as_slice);
        let (o, n) = (&old.items[pair.old], &new.items[pair.new]);
        match pair.kind {
            MatchKind::SourceKey => summary.matched_by.source_key += 1,
            MatchKind::SearchKey => summary.matched_by.search_key += 1,
            MatchKind::EntryId => summary.matched_by.entry_id += 1,
        }
        if o.change_key != n.change_key || o.pcl != n.pcl {
            summary.changed += 1;
        }
        // Built only for a pair that is reported: most are neither moved
        // nor found against.
        let was_moved = moved(old, o, new, n);
        let found = compare_pair(o, n, changed_bodies);
        if !was_moved && found.is_empty() {
            continue;
        }
        let matched = MatchedPair::new(pair.kind, o, n);
        if was_moved {
            moved_items.push(matched.clone());
        }
        for (rule, detail) in found {
            summary.findings += 1;
            *summary.findings_by_rule.entry(rule.id).or_insert(0) += 1;
            summary.findings_by_severity.add(rule.severity, 1);
            findings.push(DiffFinding {
                rule: rule.id,
                severity: rule.severity,
                pair: matched.clone(),
                message_class: n.message_class.clone().or_else(|| o.message_class.clone()),
                old_change_key: o
                    .change_key
                    .as_deref()
                    .map(|b| ChangeKeyView::in_store(b, &old.namespaces)),
                new_change_key: n
                    .change_key
                    .as_deref()
                    .map(|b| ChangeKeyView::in_store(b, &new.namespaces)),
                old_pcl: o
                    .pcl
                    .as_deref()
                    .and_then(|b| pcl_view_in_store(b, &old.namespaces)),
                new_pcl: n
                    .pcl
                    .as_deref()
                    .and_then(|b| pcl_view_in_store(b, &new.namespaces)),
                old_pcl_hex: o.pcl.as_deref().map(hex),
                new_pcl_hex: n.pcl.as_deref().map(hex),
                old_last_modified: o.last_modified.map(|t| t.to_string()),
                new_last_modified: n.last_modified.map(|t| t.to_string()),
                changed_bodies: if rule.id == DIFF003.id {
                    changed_bodies.to_vec()
                } else {
                    Vec::new()
                },
                detail,
            });
        }
    }
    summary.moved = moved_items.len() as u64;
    let errors: Vec<DiffError> = old
        .errors
        .iter()
        .map(|e| DiffError::new(Side::Old, e.clone()))
        .chain(
            new.errors
                .iter()
                .map(|e| DiffError::new(Side::New, e.clone())),
        )
        .chain(body_comparison.into_iter().flat_map(|b| b.errors))
        .collect();
    summary.errors = errors.len() as u64;
    let warnings: Vec<DiffWarning> = different_mailboxes(old, new, &summary)
        .into_iter()
        .collect();
    DiffReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool::this(),
        old: old_side,
        new: new_side,
        summary,
        findings,
        added: matching
            .added
            .iter()
            .map(|&j| ListedItem::new(&new.items[j], &new.namespaces))
            .collect(),
        removed: matching
            .removed
            .iter()
            .map(|&i| ListedItem::new(&old.items[i], &old.namespaces))
            .collect(),
        moved: moved_items,
        errors,
        warnings,
    }
}

/// A file of the pair that could not be opened.
#[derive(Debug)]
pub struct OpenFailure {
    pub side: Side,
    pub path: FilePath,
    pub error: NdbError,
}

/// Open, walk and diff two files (both walks run in parallel). Fails only
/// when a file cannot be opened at all; damage inside a file is listed in
/// [`DiffReport::errors`].
pub fn diff_files(old_path: &Path, new_path: &Path) -> Result<DiffReport, Vec<OpenFailure>> {
    // The bodies of every pair are read: most of both files.
    let options = ReadOptions {
        access: Access::Most,
        ..ReadOptions::default()
    };
    let open = |path| Pst::open_with(path, options);
    let (old_pst, new_pst) = rayon::join(|| open(old_path), || open(new_path));
    let (old_pst, new_pst) = match (old_pst, new_pst) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            let mut failures = Vec::new();
            if let Err(error) = a {
                failures.push(OpenFailure {
                    side: Side::Old,
                    path: FilePath::new(old_path),
                    error,
                });
            }
            if let Err(error) = b {
                failures.push(OpenFailure {
                    side: Side::New,
                    path: FilePath::new(new_path),
                    error,
                });
            }
            return Err(failures);
        }
    };
    Ok(diff_opened(old_path, &old_pst, new_path, &new_pst))
}

/// Walk and diff two stores that are already open (both walks run in
/// parallel), bodies included: [`diff_files`] after the opening, also
/// for stores read from memory. The paths only name the files.
pub fn diff_opened(
    old_path: &Path,
    old_pst: &Pst<'_>,
    new_path: &Path,
    new_pst: &Pst<'_>,
) -> DiffReport {
    let (old, new) = rayon::join(|| snapshot(old_pst), || snapshot(new_pst));
    let old_side = file_side(old_path, old_pst, &old);
    let new_side = file_side(new_path, new_pst, &new);
    let bodies = Bodies {
        old: old_pst,
        new: new_pst,
    };
    let mut report = diff_snapshots_with(old_side, &old, new_side, &new, Some(bodies));
    // Integrity problems the readers met and read past (CRC, signature, a
    // file shorter than its header says), read once both walks and the
    // bodies are done: a file not read as written is covered only in part,
    // as in the scan and the reconciliation.
    for (side, pst) in [(Side::Old, old_pst), (Side::New, new_pst)] {
        let (issues, dropped) = pst.issues();
        let integrity = issues
            .iter()
            .map(|e| DiffError::new(side, Problem::integrity(e)));
        report.errors.extend(integrity);
        if dropped > 0 {
            let more = ProblemKind::Text(format!("{dropped} more integrity problems, not listed"));
            report.errors.push(DiffError::new(
                side,
                Problem::new("file (integrity)", 0, more),
            ));
        }
    }
    report.summary.errors = report.errors.len() as u64;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Folders as a store lists them, each `(name, parent index)`.
    fn folders(tree: &[(&str, Option<usize>)]) -> Vec<Folder> {
        let mut out: Vec<Folder> = Vec::new();
        for (i, &(name, parent)) in tree.iter().enumerate() {
            let (path, depth) = match parent {
                None => ("/".to_string(), 0),
                Some(p) => {
                    let above = out[p].path.trim_end_matches('/');
                    (format!("{above}/{name}"), out[p].depth + 1)
                }
            };
            let nid = Nid(0x122 + 32 * i as u32);
            out.push(Folder::new(
                nid,
                parent,
                name.to_string(),
                path.into(),
                depth,
            ));
        }
        out
    }

    fn relative(snapshot: &Snapshot, folder: usize) -> &str {
        snapshot.relative_folder(&snapshot.folders[folder].path)
    }

    /// A real OST names no IPM subtree; its mail is below the mailbox's
    /// IPM_SUBTREE (not the public folders'), and compares with a PST
    /// export's mail below "Top of Outlook data file".
    #[test]
    fn a_real_osts_ipm_subtree_is_the_mailboxs() {
        let ost = folders(&[
            ("", None),
            ("Root - Public", Some(0)),
            ("IPM_SUBTREE", Some(1)),
            ("Root - Mailbox", Some(0)),
            ("IPM_SUBTREE", Some(3)),
            ("Inbox", Some(4)),
            ("Projects", Some(5)),
        ]);
        assert_eq!(mailbox_ipm_subtree(&ost), Some(4));
        let ost = Snapshot {
            ipm_subtree: mailbox_ipm_subtree(&ost),
            folders: ost,
            ..Snapshot::default()
        };
        let export = folders(&[
            ("", None),
            ("Top of Outlook data file", Some(0)),
            ("Inbox", Some(1)),
            ("Projects", Some(2)),
        ]);
        let export = Snapshot {
            ipm_subtree: Some(1),
            folders: export,
            ..Snapshot::default()
        };
        assert_eq!(relative(&ost, 6), "Inbox/Projects");
        assert_eq!(relative(&ost, 6), relative(&export, 3));
        // Without it, the path would keep the subtree's own name.
        let unnamed = Snapshot {
            ipm_subtree: None,
            folders: ost.folders.clone(),
            ..Snapshot::default()
        };
        assert_eq!(relative(&unnamed, 6), "IPM_SUBTREE/Inbox/Projects");
        // A PST's tree has no such folder.
        assert_eq!(mailbox_ipm_subtree(&export.folders), None);
    }
}
