//! Evaluation of the change key / PCL rules for one item.

use core::fmt::Write as _;

use ost_props::{NamespaceRole, Namespaces, Pcl, PclEntry, SourceProps, Xid};

use super::{
    Finding, RuleInfo, SyncProps, CK001, CK002, PCL001, PCL002, PCL003, PCL004, PCL005, ROW001,
    SYNC001, SYNC002, SYNC003, SYNC004, SYNC005,
};

/// Most entries quoted in one detail line; a hostile PCL can hold
/// thousands, and a report line must stay readable and bounded.
const MAX_LISTED: usize = 8;

/// Runs every rule on `props` and returns the findings in catalogue order.
pub fn check(props: &SyncProps<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    check_into(props, &mut findings);
    findings
}

/// Like [`check`], appending to `findings` so a scan can reuse one buffer.
pub fn check_into(props: &SyncProps<'_>, findings: &mut Vec<Finding>) {
    let change_key = decoded(
        props.change_key,
        Xid::parse,
        &CK002,
        "PR_CHANGE_KEY",
        "is not an XID",
        findings,
    );
    let pcl = decoded(
        props.pcl,
        Pcl::parse,
        &PCL002,
        "PR_PREDECESSOR_CHANGE_LIST",
        "is malformed",
        findings,
    );

    // Presence rules look at the raw properties: a present but undecodable
    // property is reported by CK002/PCL002, not as missing.
    // A malformed value that is present still makes the other one's
    // absence a fact of its own (CK002/PCL002 say what is wrong with it).
    if props.change_key.is_none() && props.pcl.is_some() {
        let holds = pcl.as_ref().map(|pcl| {
            format!(
                "holds {} entries: {}",
                pcl.len(),
                list_entries(pcl.entries())
            )
        });
        findings.push(one_absent(
            &CK001,
            "PR_CHANGE_KEY",
            "PR_PREDECESSOR_CHANGE_LIST",
            holds,
        ));
    }
    if props.pcl.is_none() && props.change_key.is_some() {
        let holds = change_key
            .as_ref()
            .map(|x| format!("is {}", describe_xid(x)));
        findings.push(one_absent(
            &PCL001,
            "PR_PREDECESSOR_CHANGE_LIST",
            "PR_CHANGE_KEY",
            holds,
        ));
    }

    let Some(pcl) = pcl else { return };
    check_pcl_shape(&pcl, findings);
    if let Some(change_key) = change_key {
        check_change_key_against_pcl(&change_key, &pcl, findings);
    }
}

/// CK001 / PCL001: `absent` is missing while `present` is there, and
/// `holds` what it decodes to (`is present` when it does not decode).
fn one_absent(
    rule: &'static RuleInfo,
    absent: &str,
    present: &str,
    holds: Option<String>,
) -> Finding {
    let holds = holds.as_deref().unwrap_or("is present");
    Finding::new(rule, format!("{absent} is absent but {present} {holds}"))
}

/// `bytes` decoded by `parse`; when they do not decode, a finding of
/// `rule` says so (`{property} (n bytes) {fault}: {error}`).
fn decoded<'a, T, E: std::fmt::Display>(
    bytes: Option<&'a [u8]>,
    parse: fn(&'a [u8]) -> Result<T, E>,
    rule: &'static RuleInfo,
    property: &str,
    fault: &str,
    findings: &mut Vec<Finding>,
) -> Option<T> {
    let bytes = bytes?;
    match parse(bytes) {
        Ok(value) => Some(value),
        Err(error) => {
            let detail = format!("{property} ({} bytes) {fault}: {error}", bytes.len());
            findings.push(Finding::new(rule, detail));
            None
        }
    }
}

/// Most duplicated namespaces described in one PCL003 finding.
const MAX_DUPLICATES_LISTED: usize = 4;

/// PCL003 and PCL004: facts about the list alone. One finding per rule and
/// item, so that reports count items, not entries.
fn check_pcl_shape(pcl: &Pcl<'_>, findings: &mut Vec<Finding>) {
    let duplicates = pcl.duplicate_namespaces();
    if !duplicates.is_empty() {
        let mut detail = String::new();
        for namespace in duplicates.iter().take(MAX_DUPLICATES_LISTED) {
            let entries = pcl.entries_for(*namespace);
            let count = entries.clone().count();
            let mut lengths: Vec<usize> = entries.clone().map(|e| e.xid.local_id_len()).collect();
            lengths.sort_unstable();
            lengths.dedup();
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            let _ = write!(
                detail,
                "namespace {namespace} appears {count} times in the PCL: {}",
                list_entries(entries)
            );
            if lengths.len() > 1 {
                let _ = write!(
                    detail,
                    " (LocalId lengths differ: {} bytes, so these counters are not comparable)",
                    join(lengths.iter())
                );
            }
        }
        if duplicates.len() > MAX_DUPLICATES_LISTED {
            let _ = write!(
                detail,
                "; and {} more duplicated namespaces",
                duplicates.len() - MAX_DUPLICATES_LISTED
            );
        }
        findings.push(Finding::new(&PCL003, detail));
    }
    if let Some((before, after)) = pcl.first_unsorted() {
        findings.push(Finding::new(
            &PCL004,
            format!(
                "entry {} {} (stored bytes {}) sorts before entry {} {} (stored bytes {}); \
                 the PCL should be ascending by stored GUID bytes",
                after.index,
                after.xid.namespace(),
                after.xid.namespace().hex(),
                before.index,
                before.xid.namespace(),
                before.xid.namespace().hex(),
            ),
        ));
    }
}

/// PCL005 and SYNC001..003: the change key against the PCL.
fn check_change_key_against_pcl(change_key: &Xid<'_>, pcl: &Pcl<'_>, findings: &mut Vec<Finding>) {
    let namespace = change_key.namespace();
    let same_namespace = pcl.entries_for(namespace);

    // Counters of different lengths cannot be compared (one namespace, one
    // LocalId length: [MS-OXCFXICS] 2.2.2.2), so a mismatch stops the
    // SYNC rules rather than letting them guess.
    if let Some(mismatch) = same_namespace
        .clone()
        .find(|entry| entry.xid.local_id_len() != change_key.local_id_len())
    {
        findings.push(Finding::new(
            &PCL005,
            format!(
                "change key {} has a {}-byte LocalId but PCL entry {} for the same namespace \
                 has {} bytes ({}); their counters cannot be compared",
                describe_xid(change_key),
                change_key.local_id_len(),
                mismatch.index,
                mismatch.xid.local_id_len(),
                mismatch.xid.local_id_hex(),
            ),
        ));
        return;
    }

    // With duplicates (PCL003) the PCL's knowledge of the namespace is its
    // highest counter.
    let Some(highest) = same_namespace.max_by_key(|entry| entry.xid.counter()) else {
        findings.push(Finding::new(
            &SYNC001,
            format!(
                "change key {} names a namespace absent from the PCL, which holds {}",
                describe_xid(change_key),
                list_namespaces(pcl)
            ),
        ));
        return;
    };
    let ck_counter = change_key.counter();
    let pcl_counter = highest.xid.counter();
    if pcl_counter > ck_counter {
        findings.push(Finding::new(
            &SYNC002,
            format!(
                "change key {} counter {ck_counter} is lower than PCL entry {} counter \
                 {pcl_counter} for the same namespace: the change key went back by {}",
                namespace,
                highest.index,
                pcl_counter.value() - ck_counter.value(),
            ),
        ));
    } else if pcl_counter < ck_counter {
        findings.push(Finding::new(
            &SYNC003,
            format!(
                "PCL entry {} for {} has counter {pcl_counter}, lower than the change key's \
                 counter {ck_counter}: the PCL does not record the current change ({} behind)",
                highest.index,
                namespace,
                ck_counter.value() - pcl_counter.value(),
            ),
        ));
    }
}

/// `{GUID}:LOCALID (counter N (0xN))`.
fn describe_xid(xid: &Xid<'_>) -> String {
    format!("{xid} (counter {})", xid.counter())
}

/// `#0 {GUID}:LOCALID = N (0xN), ...`, at most [`MAX_LISTED`] entries.
fn list_entries<'a>(entries: impl Iterator<Item = PclEntry<'a>>) -> String {
    let mut text = String::new();
    let mut total = 0usize;
    for entry in entries {
        if total < MAX_LISTED {
            if total > 0 {
                text.push_str(", ");
            }
            let _ = write!(
                text,
                "#{} {} = {}",
                entry.index,
                entry.xid,
                entry.xid.counter()
            );
        }
        total += 1;
    }
    if total > MAX_LISTED {
        let _ = write!(text, ", and {} more", total - MAX_LISTED);
    }
    text
}

/// The PCL's namespaces with their counters, bounded.
fn list_namespaces(pcl: &Pcl<'_>) -> String {
    list_entries(pcl.entries())
}

fn join<T: core::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let mut text = String::new();
    for (position, item) in items.enumerate() {
        if position > 0 {
            text.push_str(" and ");
        }
        let _ = write!(text, "{item}");
    }
    text
}

/// SYNC004 and SYNC005, for a message whose change key and PCL passed the
/// other rules (`findings` holds that item's findings so far): a change
/// key in the store's *local* namespace is a change Outlook made in this
/// cache; whether its PCL also names a server version tells a change of a
/// synchronized item from an item only this cache knows. Silent where the
/// store does not name its local namespace (PSTs).
pub fn check_local_change(
    props: &SyncProps<'_>,
    namespaces: &Namespaces,
    findings: &mut Vec<Finding>,
) {
    if !findings.is_empty() || namespaces.local.is_none() {
        return;
    }
    let (Some(Ok(change_key)), Some(Ok(pcl))) =
        (props.change_key.map(Xid::parse), props.pcl.map(Pcl::parse))
    else {
        return;
    };
    if namespaces.role(&change_key) != NamespaceRole::Local {
        return;
    }
    match pcl
        .entries()
        .find(|e| namespaces.role(&e.xid) == NamespaceRole::Server)
    {
        Some(server) => findings.push(Finding::new(
            &SYNC004,
            format!(
                "change key {} is in this cache's local namespace and PCL entry {} holds the \
                 server's version {} = {}: a change made here that the server has not \
                 confirmed yet (Clear Offline Items would discard it)",
                describe_xid(&change_key),
                server.index,
                server.xid,
                server.xid.counter(),
            ),
        )),
        None => findings.push(Finding::new(
            &SYNC005,
            format!(
                "change key {} is in this cache's local namespace and the PCL ({}) holds no \
                 server version: an item created in this cache and not yet uploaded, or one \
                 of Outlook's own local items (Clear Offline Items would discard it)",
                describe_xid(&change_key),
                list_entries(pcl.entries()),
            ),
        )),
    }
}

/// ROW001: the item's own change key, PCL and modification time against
/// those of its contents-table row, each compared where both have it.
pub fn check_row_against_item(
    item: &SourceProps<'_>,
    row: &SourceProps<'_>,
    findings: &mut Vec<Finding>,
) {
    let mut differences = Vec::new();
    if let (Some(a), Some(b)) = (item.change_key(), row.change_key()) {
        if a != b {
            differences.push(format!(
                "change key: item {}, row {}",
                describe_bytes_as_xid(a),
                describe_bytes_as_xid(b)
            ));
        }
    }
    if let (Some(a), Some(b)) = (item.pcl(), row.pcl()) {
        if a != b {
            differences.push(format!(
                "PCL: item {}, row {}",
                describe_bytes_as_pcl(a),
                describe_bytes_as_pcl(b)
            ));
        }
    }
    if let (Some(a), Some(b)) = (item.last_modified, row.last_modified) {
        if a != b {
            differences.push(format!("last modified: item {a}, row {b}"));
        }
    }
    if !differences.is_empty() {
        findings.push(Finding::new(
            &ROW001,
            format!(
                "the folder lists one version and the item holds another: {}",
                differences.join("; ")
            ),
        ));
    }
}

/// An XID's description, or its length when it is none.
fn describe_bytes_as_xid(bytes: &[u8]) -> String {
    match Xid::parse(bytes) {
        Ok(xid) => describe_xid(&xid),
        Err(_) => format!("({} bytes, not an XID)", bytes.len()),
    }
}

/// A PCL's entries, or its length when it does not decode.
fn describe_bytes_as_pcl(bytes: &[u8]) -> String {
    match Pcl::parse(bytes) {
        Ok(pcl) => format!("[{}]", list_entries(pcl.entries())),
        Err(_) => format!("({} bytes, malformed)", bytes.len()),
    }
}
