//! `ostscan reconcile`: a cache compared with what the server says today.
//!
//! Looking at a cache alone finds only items that contradict themselves.
//! The failure ostscan exists for (an archiving product changes items
//! through EWS and the server's PR_CHANGE_KEY / PCL go *down*) leaves each
//! side consistent: the cache holds a version the server now says it never
//! made. Comparing the cache's version of every item with the server's
//! finds those items directly.
//!
//! The server's side is a LISTING ([`listing`]): Microsoft Graph message
//! JSON or normalized JSON lines, each item with its source key and
//! version. Items are matched by PR_SOURCE_KEY (in an OST, derived from the
//! item's MID and the replica map) and each matched pair gets at most one
//! verdict ([`classify`]):
//!
//! - **SRV001** (critical): the cache's change key is in a *server*
//!   namespace, and the server's change key or PCL holds a lower counter
//!   for that namespace, or the server's version lacks part of the
//!   cache's: the server denies a change it made.
//! - **SRV002** (warning): neither version includes the other
//!   ([MS-OXCFXICS] 3.1.5.6.1): a conflict.
//! - **SRV003** (info): the server's version includes the cache's and is
//!   newer: a download pending.
//! - **SRV004** (info): the cache's change key is its own (a local
//!   namespace) and its version includes the server's: an upload pending.
//!
//! A version is the PCL together with the change key (a version always
//! includes the change that made it), so that a value missing from one of
//! the two lists does not count as a difference.
//!
//! The JSON shape is documented in `docs/reconcile.md` and
//! `docs/reconcile.schema.json`.

pub mod listing;
pub mod report;

use std::collections::HashMap;
use std::io;
use std::path::Path;

use ost_ndb::{NdbError, Pst};
use ost_props::pcl::PclXids;
use ost_props::{
    compare, Folder, ItemKind, ItemRecord, NamespaceRole, Namespaces, Pcl, PclOrdering, Problem,
    Xid, XidList,
};

use crate::diff::{snapshot, Snapshot};
use crate::paths::FilePath;
use crate::proof::{hex, xid_list, ChangeKeyView, SyncValuesView};
use crate::rules::{RuleInfo, SRV001, SRV002, SRV003, SRV004, SRV_RULES};
use crate::scan::{ItemIdentity, NamespacesView, SeverityCounts};
use crate::status::Status;

pub use listing::{read_listing, Listing, ListingError, ListingFormat, ServerEntry};
pub use report::*;

/// Version of the JSON and NDJSON shapes (`docs/reconcile.schema.json`);
/// goes up when a field changes meaning or is removed (adding fields
/// keeps it).
pub const SCHEMA_VERSION: u32 = 1;

/// What [`reconcile`] lists besides the findings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// List the items only one side has (else they are only counted).
    pub list_all: bool,
}

/// One version as the inclusion rule sees it: the PCL's XIDs and the
/// change key.
#[derive(Clone, Copy)]
struct Version<'a> {
    change_key: Option<Xid<'a>>,
    pcl: Option<Pcl<'a>>,
}

type VersionXids<'a> = std::iter::Chain<
    std::iter::Flatten<std::option::IntoIter<PclXids<'a>>>,
    std::option::IntoIter<Xid<'a>>,
>;

impl<'a> XidList<'a> for Version<'a> {
    type Iter = VersionXids<'a>;
    fn xid_iter(&self) -> Self::Iter {
        self.pcl
            .map(|p| p.xids())
            .into_iter()
            .flatten()
            .chain(self.change_key)
    }
}

impl Version<'_> {
    /// Highest counter per namespace, as `{guid} counter` text.
    fn describe(&self) -> String {
        let mut best: Vec<Xid<'_>> = Vec::new();
        for x in self.xid_iter() {
            match best
                .iter_mut()
                .find(|b| b.namespace() == x.namespace() && b.local_id_len() == x.local_id_len())
            {
                Some(b) if x.counter() > b.counter() => *b = x,
                Some(_) => {}
                None => best.push(x),
            }
        }
        xid_list(&best)
    }
}

/// The verdict on one item both sides have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The same version on both sides.
    Identical,
    /// A rule, and why (with the decoded counters).
    Finding(&'static RuleInfo, String),
    /// No verdict, and why.
    NotCompared(String),
}

fn decode_change_key<'a>(b: Option<&'a [u8]>, side: &str) -> Result<Option<Xid<'a>>, String> {
    b.map(|b| Xid::parse(b).map_err(|e| format!("the {side}'s change key is not an XID ({e})")))
        .transpose()
}

fn decode_pcl<'a>(b: Option<&'a [u8]>, side: &str) -> Result<Option<Pcl<'a>>, String> {
    b.map(|b| Pcl::parse(b).map_err(|e| format!("the {side}'s PCL does not decode ({e})")))
        .transpose()
}

/// Compare the cache's version of an item (`cache_*`, raw property bytes)
/// with the server's; `namespaces` are the cache's, which say whose
/// change key the cache holds.
pub fn classify(
    cache_change_key: Option<&[u8]>,
    cache_pcl: Option<&[u8]>,
    server_change_key: Option<&[u8]>,
    server_pcl: Option<&[u8]>,
    namespaces: &Namespaces,
) -> Verdict {
    let decoded = (|| {
        Ok::<_, String>((
            decode_change_key(cache_change_key, "cache")?,
            decode_pcl(cache_pcl, "cache")?,
            decode_change_key(server_change_key, "server")?,
            decode_pcl(server_pcl, "server")?,
        ))
    })();
    let (cck, cpcl, sck, spcl) = match decoded {
        Ok(d) => d,
        Err(reason) => return Verdict::NotCompared(reason),
    };
    if cck.is_none() && cpcl.is_none() {
        return Verdict::NotCompared("the cache's item has no change key and no PCL".to_string());
    }
    if sck.is_none() && spcl.is_none() {
        return Verdict::NotCompared("the listing gives no change key and no PCL".to_string());
    }
    let cache = Version {
        change_key: cck,
        pcl: cpcl,
    };
    let server = Version {
        change_key: sck,
        pcl: spcl,
    };
    let cache_role = cck.map(|c| namespaces.role(&c));

    // SRV001, the counter itself: a server value for the namespace of the
    // cache's (server-made) change key that is lower than it.
    if let (Some(c), Some(NamespaceRole::Server)) = (cck, cache_role) {
        let mut lower: Vec<String> = Vec::new();
        let same =
            |x: &Xid<'_>| x.namespace() == c.namespace() && x.local_id_len() == c.local_id_len();
        if let Some(s) = sck.filter(|s| same(s) && s.counter() < c.counter()) {
            lower.push(format!("change key {}", s.counter()));
        }
        if let Some(p) = spcl {
            if let Some(top) = p.xids().filter(same).map(|x| x.counter()).max() {
                if top < c.counter() {
                    lower.push(format!("PCL {top}"));
                }
            }
        }
        if !lower.is_empty() {
            return Verdict::Finding(
                &SRV001,
                format!(
                    "the cache's change key {} {} is the server's, and the server now holds {} for that namespace",
                    c.namespace(),
                    c.counter(),
                    lower.join(" and ")
                ),
            );
        }
    }
    match compare(&cache, &server) {
        PclOrdering::Identical => Verdict::Identical,
        PclOrdering::IncludedBy => Verdict::Finding(
            &SRV003,
            format!(
                "the server's version {} includes the cache's {} and is newer",
                server.describe(),
                cache.describe()
            ),
        ),
        PclOrdering::Includes => match cache_role {
            Some(NamespaceRole::Server) => Verdict::Finding(
                &SRV001,
                format!(
                    "the cache's change key is the server's, and the server's version {} lacks part of the cache's {}",
                    server.describe(),
                    cache.describe()
                ),
            ),
            Some(role) => Verdict::Finding(
                &SRV004,
                format!(
                    "the cache's change key is {} ({}), and its version {} includes the server's {}",
                    cck.map(|c| format!("{} {}", c.namespace(), c.counter()))
                        .unwrap_or_default(),
                    role.name(),
                    cache.describe(),
                    server.describe()
                ),
            ),
            None => Verdict::NotCompared(
                "the cache's PCL includes the server's version but the cache has no change key"
                    .to_string(),
            ),
        },
        PclOrdering::Conflict => Verdict::Finding(
            &SRV002,
            format!(
                "neither version includes the other: the cache's {}, the server's {}",
                cache.describe(),
                server.describe()
            ),
        ),
        PclOrdering::Incomparable(m) => Verdict::NotCompared(format!(
            "namespace {} has LocalIds of {} and {} bytes: counters of different lengths are not compared",
            m.namespace, m.first_len, m.second_len
        )),
    }
}

fn non_empty(v: &Option<Vec<u8>>) -> Option<&[u8]> {
    v.as_deref().filter(|b| !b.is_empty())
}

fn cache_version(r: &ItemRecord, ns: &Namespaces) -> SyncValuesView {
    SyncValuesView::in_store(
        r.change_key.as_deref(),
        r.pcl.as_deref(),
        r.last_modified.map(|t| t.to_string()),
        ns,
    )
}

fn server_view(e: &ServerEntry, ns: &Namespaces) -> ServerView {
    ServerView {
        version: SyncValuesView::in_store(
            e.change_key.as_deref(),
            e.pcl.as_deref(),
            e.last_modified.clone(),
            ns,
        ),
        change_key_origin: e.change_key_origin,
        subject: e.subject.clone(),
        folder: e.folder.clone(),
        id: e.id.clone(),
    }
}

fn rule_counts() -> std::collections::BTreeMap<&'static str, u64> {
    SRV_RULES.iter().map(|r| (r.id, 0)).collect()
}

/// Per-folder totals while the items are compared.
struct FolderTally {
    report: FolderReport,
    used: bool,
}

/// Reconcile a cache's snapshot with a listing.
pub fn reconcile(
    cache: &Snapshot,
    cache_side: CacheSide,
    listing: &Listing,
    listing_side: ListingSide,
    options: Options,
) -> ReconcileReport {
    let ns = &cache.namespaces;
    let mut summary = ReconcileSummary {
        cache_items: cache.items.len() as u64,
        listing_entries: listing.entries.len() as u64,
        findings_by_rule: rule_counts(),
        ..ReconcileSummary::default()
    };
    let mut errors: Vec<ReconcileError> = cache
        .errors
        .iter()
        .map(|e| ReconcileError::Cache(e.clone()))
        .collect();
    let mut listing_errors: Vec<ListingError> = listing.errors.clone();
    let mut errors_dropped = listing.errors_dropped;

    // The listing by source key; the first entry of a key is the one compared.
    let mut by_key: HashMap<&[u8], usize> = HashMap::with_capacity(listing.entries.len());
    for (j, e) in listing.entries.iter().enumerate() {
        match by_key.get(e.source_key.as_slice()) {
            None => {
                by_key.insert(&e.source_key, j);
            }
            Some(&first) => {
                summary.duplicates += 1;
                let f = &listing.entries[first];
                if (&f.change_key, &f.pcl) != (&e.change_key, &e.pcl) {
                    let message = format!(
                        "source key {} is also on line {} with another version; line {} is compared",
                        hex(&e.source_key),
                        f.line,
                        f.line
                    );
                    if listing_errors.len() < listing::MAX_ERRORS_KEPT {
                        listing_errors.push(ListingError {
                            line: e.line,
                            message,
                        });
                    } else {
                        errors_dropped += 1;
                    }
                }
            }
        }
    }
    let mut listing_matched = vec![false; listing.entries.len()];

    let folder_index = Folder::positions(&cache.folders);
    let mut folders: Vec<FolderTally> = cache
        .folders
        .iter()
        .map(|f| FolderTally {
            report: FolderReport {
                folder: f.path.to_string(),
                folder_nid: f.nid,
                items: 0,
                matched: 0,
                cache_only: 0,
                findings: 0,
                findings_by_rule: rule_counts(),
                findings_by_severity: SeverityCounts::default(),
                worst_severity: None,
                recommend_clear_offline_items: false,
                local_changes_pending: 0,
            },
            used: false,
        })
        .collect();

    let mut findings = Vec::new();
    let mut not_compared = Vec::new();
    let mut cache_only = Vec::new();
    for r in &cache.items {
        let Some(key) = non_empty(&r.source_key) else {
            summary.cache_without_source_key += 1;
            continue;
        };
        let folder = folder_index
            .get(&r.folder_nid)
            .and_then(|&i| folders.get_mut(i));
        let folder = folder.map(|f| {
            f.used = true;
            f.report.items += 1;
            &mut f.report
        });
        let Some(&j) = by_key.get(key) else {
            if r.kind == ItemKind::Associated {
                summary.associated_unmatched += 1;
                continue;
            }
            summary.cache_only += 1;
            if let Some(f) = folder {
                f.cache_only += 1;
            }
            if options.list_all {
                cache_only.push(CacheOnly {
                    nid: r.nid,
                    kind: r.kind.name(),
                    folder: r.folder.to_string(),
                    folder_nid: r.folder_nid,
                    subject: r.subject.clone(),
                    source_key: hex(key),
                    change_key: r
                        .change_key
                        .as_deref()
                        .map(|b| ChangeKeyView::in_store(b, ns)),
                    last_modified: r.last_modified.map(|t| t.to_string()),
                });
            }
            continue;
        };
        let entry = &listing.entries[j];
        listing_matched[j] = true;
        summary.matched += 1;
        let mut folder = folder;
        if let Some(f) = folder.as_deref_mut() {
            f.matched += 1;
        }
        let verdict = match &entry.unusable {
            Some(reason) => Verdict::NotCompared(format!(
                "the listing's line {} is not usable: {reason}",
                entry.line
            )),
            None => classify(
                r.change_key.as_deref(),
                r.pcl.as_deref(),
                entry.change_key.as_deref(),
                entry.pcl.as_deref(),
                ns,
            ),
        };
        match verdict {
            Verdict::Identical => summary.identical += 1,
            Verdict::NotCompared(reason) => {
                summary.not_compared += 1;
                not_compared.push(NotCompared {
                    source_key: hex(key),
                    nid: r.nid,
                    folder: r.folder.to_string(),
                    subject: r.subject.clone(),
                    listing_line: entry.line,
                    reason,
                });
            }
            Verdict::Finding(rule, detail) => {
                summary.findings += 1;
                *summary.findings_by_rule.entry(rule.id).or_insert(0) += 1;
                summary.findings_by_severity.add(rule.severity, 1);
                if let Some(f) = folder {
                    f.findings += 1;
                    *f.findings_by_rule.entry(rule.id).or_insert(0) += 1;
                    f.findings_by_severity.add(rule.severity, 1);
                    f.worst_severity = f.worst_severity.max(Some(rule.severity));
                    if crate::rules::clears_offline_items(rule.id) {
                        f.recommend_clear_offline_items = true;
                    }
                    if rule.id == SRV004.id {
                        f.local_changes_pending += 1;
                    }
                }
                findings.push(ReconcileFinding {
                    rule: rule.id,
                    severity: rule.severity,
                    source_key: hex(key),
                    source_key_derived: r.source_key_derived,
                    item: ItemIdentity::of(r),
                    listing_line: entry.line,
                    cache: cache_version(r, ns),
                    server: server_view(entry, ns),
                    detail,
                });
            }
        }
    }

    // Items only the listing has: counted per server folder, in listing order.
    let mut server_folders: Vec<ServerFolderCount> = Vec::new();
    let mut server_folder_index: HashMap<Option<&str>, usize> = HashMap::new();
    let mut server_only = Vec::new();
    for (j, e) in listing.entries.iter().enumerate() {
        if listing_matched[j] || by_key.get(e.source_key.as_slice()) != Some(&j) {
            continue;
        }
        summary.server_only += 1;
        let at = *server_folder_index
            .entry(e.folder.as_deref())
            .or_insert_with(|| {
                server_folders.push(ServerFolderCount {
                    folder: e.folder.clone(),
                    items: 0,
                });
                server_folders.len() - 1
            });
        server_folders[at].items += 1;
        if options.list_all {
            server_only.push(ServerOnly {
                listing_line: e.line,
                source_key: hex(&e.source_key),
                folder: e.folder.clone(),
                subject: e.subject.clone(),
                id: e.id.clone(),
                change_key: e
                    .change_key
                    .as_deref()
                    .map(|b| ChangeKeyView::in_store(b, ns)),
                last_modified: e.last_modified.clone(),
            });
        }
    }

    let folders: Vec<FolderReport> = folders
        .into_iter()
        .filter(|f| f.used)
        .map(|f| f.report)
        .collect();
    let mut to_clear: Vec<&FolderReport> = folders
        .iter()
        .filter(|f| f.recommend_clear_offline_items)
        .collect();
    to_clear.sort_by(|a, b| {
        let srv001 = |f: &FolderReport| f.findings_by_rule.get(SRV001.id).copied().unwrap_or(0);
        srv001(b).cmp(&srv001(a)).then(a.folder.cmp(&b.folder))
    });
    summary.folders_to_clear = to_clear.iter().map(|f| f.folder.clone()).collect();

    errors.extend(listing_errors.into_iter().map(ReconcileError::Listing));
    summary.errors_dropped = errors_dropped;
    summary.errors = errors.len() as u64 + errors_dropped;
    let status = if summary.errors > 0 {
        Status::Partial
    } else {
        Status::Ok
    };
    ReconcileReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool::this(),
        status,
        cache: cache_side,
        listing: listing_side,
        summary,
        folders,
        findings,
        not_compared,
        server_only_by_folder: server_folders,
        cache_only,
        server_only,
        errors,
    }
}

/// Why a reconciliation could not be made at all.
#[derive(Debug)]
pub enum Failure {
    /// The cache could not be opened.
    Cache { path: FilePath, error: NdbError },
    /// The listing could not be read.
    ListingUnreadable { path: FilePath, error: io::Error },
    /// Nothing in the listing could be used: no JSON object, an unknown
    /// format, or every entry broken. The listing's errors say why.
    ListingUnparsed { path: FilePath, listing: Listing },
}

/// Open the listing: `-` is standard input; a directory is refused (a
/// FIFO is read as a stream).
fn open_listing(path: &Path) -> io::Result<Box<dyn io::Read + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin()));
    }
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a directory, not a listing",
        ));
    }
    Ok(Box::new(std::fs::File::open(path)?))
}

/// Whether a listing says nothing usable about any item.
pub fn unusable(listing: &Listing) -> Option<String> {
    if !listing.entries.is_empty() {
        return None;
    }
    if listing.objects == 0 && listing.error_count() == 0 {
        return Some("holds no JSON object".to_string());
    }
    if listing.format.is_none() {
        return Some("is neither Graph message JSON nor normalized JSON lines".to_string());
    }
    if listing.error_count() > 0 {
        return Some(format!(
            "has no usable item: {}",
            crate::report::count(listing.error_count(), "error", "errors")
        ));
    }
    None
}

/// Open and walk the cache, read the listing (both at once, on the current
/// rayon pool), and reconcile them.
pub fn reconcile_files(
    cache_path: &Path,
    listing_path: &Path,
    format: Option<ListingFormat>,
    options: Options,
) -> Result<ReconcileReport, Failure> {
    let pst = Pst::open(cache_path).map_err(|error| Failure::Cache {
        path: FilePath::new(cache_path),
        error,
    })?;
    let (snap, listing) = rayon::join(
        || snapshot(&pst),
        || open_listing(listing_path).and_then(|input| read_listing(input, format)),
    );
    let listing = listing.map_err(|error| Failure::ListingUnreadable {
        path: FilePath::new(listing_path),
        error,
    })?;
    reconcile_opened(cache_path, &pst, snap, listing_path, listing, options)
}

/// Reconcile a cache that is open and walked (`snap` is [`snapshot`] of
/// `pst`) with a listing that was read: [`reconcile_files`] after the
/// reading, also for a store and a listing in memory. The paths only name
/// them.
pub fn reconcile_opened(
    cache_path: &Path,
    pst: &Pst<'_>,
    mut snap: Snapshot,
    listing_path: &Path,
    listing: Listing,
    options: Options,
) -> Result<ReconcileReport, Failure> {
    let Some(listing_format) = listing.format.filter(|_| unusable(&listing).is_none()) else {
        return Err(Failure::ListingUnparsed {
            path: FilePath::new(listing_path),
            listing,
        });
    };
    // Integrity problems the reader met and read past (CRC, signature, a
    // file shorter than its header says): the cache was not read as
    // written, so the result is partial (see `crate::status`).
    let (issues, cache_errors_dropped) = pst.issues();
    snap.errors.extend(issues.iter().map(Problem::integrity));
    let header = pst.header();
    let cache_side = CacheSide {
        path: FilePath::new(cache_path),
        bytes: pst.len(),
        client: header.client.name(),
        format: header.format.name(),
        namespaces: NamespacesView::new(&snap.namespaces),
        folders: snap.folders.len() as u64,
        items: snap.items.len() as u64,
    };
    let listing_side = ListingSide {
        path: FilePath::new(listing_path),
        format: listing_format,
        format_detected: listing.format_detected,
        bytes: listing.bytes,
        lines: listing.lines,
        objects: listing.objects,
        entries: listing.entries.len() as u64,
    };
    let mut report = reconcile(&snap, cache_side, &listing, listing_side, options);
    if cache_errors_dropped > 0 {
        report.summary.errors_dropped += cache_errors_dropped;
        report.summary.errors += cache_errors_dropped;
        report.status = Status::Partial;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ost_props::Guid;

    const SERVER: [u8; 16] = [0xbc; 16];
    const LOCAL: [u8; 16] = [0x26; 16];
    const OTHER: [u8; 16] = [0x77; 16];

    fn xid(guid: [u8; 16], counter: u64, len: usize) -> Vec<u8> {
        let mut x = guid.to_vec();
        x.extend_from_slice(&counter.to_be_bytes()[8 - len..]);
        x
    }

    fn pcl(xids: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for x in xids {
            out.push(x.len() as u8);
            out.extend_from_slice(x);
        }
        out
    }

    fn ns() -> Namespaces {
        Namespaces {
            replicas: vec![(1, Guid::from_bytes(SERVER))],
            local: Some(Guid::from_bytes(LOCAL)),
        }
    }

    fn rule(v: &Verdict) -> &'static str {
        match v {
            Verdict::Identical => "identical",
            Verdict::Finding(r, _) => r.id,
            Verdict::NotCompared(_) => "not compared",
        }
    }

    fn verdict(cck: &[u8], cpcl: &[u8], sck: &[u8], spcl: &[u8]) -> Verdict {
        classify(
            Some(cck).filter(|b| !b.is_empty()),
            Some(cpcl).filter(|b| !b.is_empty()),
            Some(sck).filter(|b| !b.is_empty()),
            Some(spcl).filter(|b| !b.is_empty()),
            &ns(),
        )
    }

    #[test]
    fn each_category_on_its_own() {
        let s10 = xid(SERVER, 10, 6);
        let s8 = xid(SERVER, 8, 6);
        let s12 = xid(SERVER, 12, 6);
        let l3 = xid(LOCAL, 3, 4);
        let o5 = xid(OTHER, 5, 6);
        // Equal.
        assert_eq!(
            rule(&verdict(&s10, &pcl(&[&s10]), &s10, &pcl(&[&s10]))),
            "identical"
        );
        // The server's change key went down (the EWS decrement).
        let v = verdict(&s10, &pcl(&[&s10]), &s8, &pcl(&[&s8]));
        assert_eq!(rule(&v), "SRV001");
        let Verdict::Finding(_, detail) = v else {
            unreachable!()
        };
        assert!(detail.contains("change key 8 (0x8)"), "{detail}");
        assert!(detail.contains("PCL 8 (0x8)"), "{detail}");
        // Its change key only, the PCL kept high: still SRV001.
        assert_eq!(
            rule(&verdict(&s10, &pcl(&[&s10]), &s8, &pcl(&[&s10]))),
            "SRV001"
        );
        // The server lost part of a version it made.
        assert_eq!(
            rule(&verdict(&s10, &pcl(&[&s10, &o5]), &s10, &pcl(&[&s10]))),
            "SRV001"
        );
        // A download pending.
        assert_eq!(
            rule(&verdict(&s10, &pcl(&[&s10]), &s12, &pcl(&[&s12]))),
            "SRV003"
        );
        assert_eq!(
            rule(&verdict(&s10, &pcl(&[&s10]), &o5, &pcl(&[&s10, &o5]))),
            "SRV003"
        );
        // An upload pending: a local change on top of the server's version.
        assert_eq!(
            rule(&verdict(&l3, &pcl(&[&s10, &l3]), &s10, &pcl(&[&s10]))),
            "SRV004"
        );
        // A conflict: the server moved on while the cache changed locally.
        assert_eq!(
            rule(&verdict(&l3, &pcl(&[&s10, &l3]), &s12, &pcl(&[&s12]))),
            "SRV002"
        );
        // The server's change in another namespace, the cache's own
        // server change missing from it.
        assert_eq!(
            rule(&verdict(&s10, &pcl(&[&s10]), &o5, &pcl(&[&o5]))),
            "SRV002"
        );
    }

    #[test]
    fn no_verdict_without_comparable_versions() {
        let s10 = xid(SERVER, 10, 6);
        let s4 = xid(SERVER, 10, 4);
        for v in [
            verdict(&s10, &[], &[1, 2, 3], &[]),
            verdict(&[], &[], &s10, &[]),
            verdict(&s10, &[], &[], &[]),
            verdict(&s10, &[99], &s10, &[]),
            verdict(&s10, &[], &s4, &[]),
        ] {
            assert_eq!(rule(&v), "not compared", "{v:?}");
        }
        // Change keys alone compare.
        assert_eq!(rule(&verdict(&s10, &[], &s10, &[])), "identical");
    }

    #[test]
    fn local_or_unknown_change_keys_are_never_srv001() {
        // The cache's change key is its own: a lower server counter in its
        // PCL is the server's business, the item goes up as SRV004.
        let l3 = xid(LOCAL, 3, 4);
        let s10 = xid(SERVER, 10, 6);
        let s8 = xid(SERVER, 8, 6);
        assert_eq!(
            rule(&verdict(&l3, &pcl(&[&s10, &l3]), &s8, &pcl(&[&s8]))),
            "SRV004"
        );
        // A change key of a namespace the store does not name (4-byte
        // LocalIds: not a server's): never SRV001 either.
        let u3 = xid(OTHER, 3, 4);
        let u2 = xid(OTHER, 2, 4);
        assert_eq!(rule(&verdict(&u3, &pcl(&[&u3]), &u2, &[])), "SRV004");
    }
}
