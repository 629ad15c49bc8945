//! `ostscan::sync_issues` on a fixture store with a Sync Issues tree,
//! conflict items and synchronization logs, on a store where the folders
//! can only be found by name, and on the real corpus file that has them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use common::corpus;
use ost_fixture::faults::{pcl, xid};
use ost_fixture::messaging::{entry_id, pid};
use ost_fixture::sync_log::{outlook_log, plain_log, LogLine, RtfForm};
use ost_fixture::{
    standard_folders, CryptMethod, Format, Message, PropValue, StandardFolders, StoreWriter,
};
use ost_ndb::Pst;
use ost_props::{ItemRecord, Nid, Store};
use ostscan::sync_issues::{analyze, sync010, FoundBy, SyncIssuesReport, MS_IN_CONFLICT};
use ostscan::{check, SyncProps};

const NS: [u8; 16] = [0x44; 16];
const RECORD_KEY: [u8; 16] = [0x77; 16];
/// PR_CONFLICT_ENTRYID.
const CONFLICT_ENTRYID: u16 = 0x3FF0;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ostscan-sync-issues-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A store written to `path`, with the standard folder tree.
fn new_store(
    path: &Path,
    format: Format,
    crypt: CryptMethod,
) -> (StoreWriter<BufWriter<File>>, StandardFolders) {
    let out = BufWriter::new(File::create(path).unwrap());
    let mut w = StoreWriter::new(out, format, crypt, RECORD_KEY).unwrap();
    let f = standard_folders(&mut w);
    (w, f)
}

fn note(subject: &str, ck: u64, pcl_counter: u64) -> Message {
    Message {
        subject: subject.into(),
        message_class: "IPM.Note".into(),
        change_key: Some(xid(&NS, ck, 4)),
        pcl: Some(pcl(&[xid(&NS, pcl_counter, 4)])),
        source_key: Some(subject.bytes().chain([0u8; 22]).take(22).collect()),
        last_modified: Some(0x01DA_0000_0000_0000),
        ..Message::default()
    }
}

fn log(subject: &str, body: &str) -> Message {
    Message {
        subject: subject.into(),
        message_class: "IPM.Note".into(),
        body: Some(body.into()),
        last_modified: Some(0x01DA_0000_0000_0000),
        ..Message::default()
    }
}

const PROJECTS_LOG: &str = "\
11:02:10 Synchronizer Version 16.0.17328
11:02:10 Synchronizing Mailbox 'Jane Doe'
11:02:10 Synchronizing local changes in folder 'Projects'
11:02:11 Uploading to server 'outlook.example.com'
11:02:11 \t Error synchronizing message 'Quarterly report'
11:02:11 \t\t [80040119-0-0-560]
11:02:11 \t\t The client operation failed.
11:02:12 Synchronizing server changes in folder 'Inbox'
11:02:12 Downloading from server 'outlook.example.com'
11:02:12 Done
";

const REPORTS_LOG: &str = "\
09:00:00 Synchronizing server changes in folder 'Alpha\\Reports'
09:00:01 \t 3 item(s) updated in offline folder
09:00:01 Done
";

const ARCHIVE_LOG: &str = "\
10:00:00 Synchronizing server changes in folder 'Archive'
10:00:01 \t Error 0x8004010F: the object could not be found.
";

/// The fixture: Inbox holds an item marked msInConflict and an item with a
/// SYNC001 fault; its conflict copy is in Sync Issues/Conflicts; Projects
/// holds a SYNC002 item and is named with an error by a Local Failures
/// log; Reports has a SYNC002 item and a log without errors; Archive has an
/// error log but healthy items.
fn write_fixture(path: &Path, format: Format) {
    let (mut w, f) = new_store(path, format, CryptMethod::None);
    let (projects, reports, archive) = (f.user[0], f.user[2], f.user[3]);

    let mut original = note("original", 20, 20);
    original
        .extra
        .push((pid::MESSAGE_STATUS, PropValue::Long(MS_IN_CONFLICT as i32)));
    let original_nid = w.add_message(f.inbox, &original).unwrap();
    let mut sync001 = note("inbox sync001", 5, 5);
    sync001.pcl = Some(pcl(&[xid(&[0x55; 16], 5, 4)]));
    w.add_message(f.inbox, &sync001).unwrap();
    w.add_message(f.inbox, &note("inbox healthy", 6, 6))
        .unwrap();

    let mut copy = note("original", 19, 19);
    copy.extra.push((
        CONFLICT_ENTRYID,
        PropValue::Binary(entry_id(&RECORD_KEY, original_nid)),
    ));
    w.add_message(f.conflicts, &copy).unwrap();

    w.add_message(projects, &note("projects sync002", 5, 9))
        .unwrap();
    w.add_message(reports, &note("reports sync002", 5, 9))
        .unwrap();
    w.add_message(archive, &note("archive healthy", 8, 8))
        .unwrap();

    w.add_message(f.local_failures, &log("Synchronization Log:", PROJECTS_LOG))
        .unwrap();
    w.add_message(f.sync_issues, &log("Synchronization Log:", REPORTS_LOG))
        .unwrap();
    w.add_message(
        f.server_failures,
        &log("Synchronization Log: server", ARCHIVE_LOG),
    )
    .unwrap();
    w.finish().unwrap();
}

/// SYNC010's findings as (folder, SYNC findings, logs with errors,
/// conflict items).
fn flagged(findings: &[ostscan::sync_issues::FolderFinding]) -> Vec<(&str, u64, u64, u64)> {
    findings
        .iter()
        .map(|f| {
            (
                f.folder.as_str(),
                f.sync_findings,
                f.logs_with_errors,
                f.conflict_items,
            )
        })
        .collect()
}

/// Analyze a file the way `scan` would: every item read, SYNC001-003
/// counted per folder, SYNC010 derived.
fn analyze_file(
    path: &Path,
) -> (
    SyncIssuesReport,
    Vec<ostscan::sync_issues::FolderFinding>,
    Vec<ItemRecord>,
) {
    let pst = Pst::open(path).unwrap();
    let mut store = Store::open(&pst);
    let refs = store.item_refs(true);
    let records: Vec<ItemRecord> = refs.iter().map(|r| store.read_item(r)).collect();
    let report = analyze(&pst, &store, &records);
    let mut sync_by_folder: BTreeMap<Nid, u64> = BTreeMap::new();
    for r in &records {
        let n = check(&SyncProps {
            change_key: r.change_key.as_deref(),
            pcl: r.pcl.as_deref(),
        })
        .iter()
        .filter(|f| f.rule.starts_with("SYNC"))
        .count() as u64;
        let folder = report.sync_folder_of(r.nid, r.folder_nid);
        *sync_by_folder.entry(folder).or_insert(0) += n;
    }
    let cache = pst.header().client == ost_ndb::Client::Ost;
    let findings = sync010(&report, &sync_by_folder, cache);
    (report, findings, records)
}

#[test]
fn fixture_tree_conflicts_logs_and_sync010() {
    for format in [Format::Unicode, Format::Ansi, Format::Ost4k] {
        let path = scratch(&format!("tree-{}.ost", format.name()));
        write_fixture(&path, format);
        let (report, findings, records) = analyze_file(&path);
        let top = "/Top of Personal Folders";

        let folders = &report.folders;
        for (found, name) in [
            (&folders.sync_issues, "Sync Issues"),
            (&folders.conflicts, "Sync Issues/Conflicts"),
            (&folders.local_failures, "Sync Issues/Local Failures"),
            (&folders.server_failures, "Sync Issues/Server Failures"),
        ] {
            let found = found.as_ref().unwrap_or_else(|| panic!("{format}: {name}"));
            assert_eq!(found.path, format!("{top}/{name}"), "{format}");
            assert_eq!(found.found_by, FoundBy::AdditionalRenEntryIds, "{format}");
        }
        assert_eq!(folders.conflicts.as_ref().unwrap().items, 1);
        assert_eq!(report.counts.items, 4, "{format}");
        assert_eq!(report.counts.conflict_items, 2, "{format}");
        assert_eq!(report.counts.log_messages, 3, "{format}");
        assert_eq!(report.counts.logs_with_errors, 2, "{format}");

        // Conflicts: the copy points at the original; the original is
        // marked msInConflict. Both concern the Inbox.
        let original = records
            .iter()
            .find(|r| r.subject.as_deref() == Some("original") && r.folder.ends_with("/Inbox"))
            .unwrap();
        let copy = report
            .conflicts
            .iter()
            .find(|c| c.folder.ends_with("/Conflicts"))
            .unwrap();
        let target = copy.conflicts_with.as_ref().expect("copy resolves");
        assert_eq!(target.nid, original.nid);
        assert_eq!(target.folder, format!("{top}/Inbox"));
        assert!(!copy.in_conflict);
        assert_eq!(
            copy.affected_folder.as_ref().unwrap().path,
            format!("{top}/Inbox")
        );
        let marked = report
            .conflicts
            .iter()
            .find(|c| c.nid == original.nid)
            .unwrap();
        assert!(marked.in_conflict && marked.conflicts_with.is_none());

        // Logs: folders named in quotes, errors attributed to the folder
        // being synchronized when they were reported.
        let projects_log = report
            .logs
            .iter()
            .find(|l| l.folder.ends_with("/Local Failures"))
            .unwrap();
        assert_eq!(projects_log.error_codes, ["0x80040119"], "{format}");
        assert_eq!(
            projects_log.excerpt[0],
            "11:02:10 Synchronizer Version 16.0.17328"
        );
        let named: Vec<(&str, u64)> = projects_log
            .folders
            .iter()
            .map(|f| (f.path.as_str(), f.errors))
            .collect();
        assert!(
            named.contains(&(&*format!("{top}/Projects"), 3)),
            "{named:?}"
        );
        assert!(named.contains(&(&*format!("{top}/Inbox"), 0)), "{named:?}");
        assert_eq!(named.len(), 2, "{named:?}");
        let reports_log = report
            .logs
            .iter()
            .find(|l| l.folder == format!("{top}/Sync Issues"))
            .unwrap();
        assert_eq!(reports_log.error_lines, 0);
        assert_eq!(reports_log.folders.len(), 1);
        assert_eq!(
            reports_log.folders[0].path,
            format!("{top}/Projects/Alpha/Reports")
        );
        assert!(reports_log.time.is_some());

        // SYNC010 exactly on the Inbox (conflicts + SYNC001) and Projects
        // (log errors + SYNC002); not Reports (no errors), not Archive (no
        // SYNC findings).
        let flagged = flagged(&findings);
        assert_eq!(
            flagged,
            [
                (&*format!("{top}/Inbox"), 1, 0, 2),
                (&*format!("{top}/Projects"), 1, 1, 0),
            ],
            "{format}"
        );
        assert!(findings.iter().all(|f| f.rule == "SYNC010"
            && f.severity == ostscan::Severity::Critical
            && f.recommend_clear_offline_items));
        assert_eq!(findings[1].error_codes, ["0x80040119"]);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        // Plain data: serializes for scan's report.
        serde_json::to_value(&report).unwrap();
    }
}

#[test]
fn folders_are_found_by_name_without_the_inbox_property() {
    let path = scratch("by-name.pst");
    let out = BufWriter::new(File::create(&path).unwrap());
    let mut w = StoreWriter::new(out, Format::Unicode, CryptMethod::None, RECORD_KEY).unwrap();
    let top = w.ipm_subtree();
    w.add_folder(top, "Inbox");
    let sync = w.add_folder(top, "Sync Issues");
    let conflicts = w.add_folder(sync, "Conflicts");
    w.add_folder(sync, "Local Failures");
    w.add_message(conflicts, &note("lonely copy", 1, 1))
        .unwrap();
    // The folder's hidden settings (its view, say): not a conflict copy.
    let mut settings = note("", 2, 2);
    settings.associated = true;
    settings.message_class = "IPM.Microsoft.FolderDesign.NamedView".into();
    w.add_message(conflicts, &settings).unwrap();
    w.finish().unwrap();
    let (report, findings, _) = analyze_file(&path);
    let f = &report.folders;
    assert_eq!(f.sync_issues.as_ref().unwrap().found_by, FoundBy::Name);
    assert_eq!(f.conflicts.as_ref().unwrap().found_by, FoundBy::Name);
    assert!(f.local_failures.is_some());
    assert!(f.server_failures.is_none());
    // A message in Conflicts without conflict markers is still a conflict
    // copy (not a log); it names no original, so nothing is attributed.
    // The hidden item is counted apart, with the other items.
    assert_eq!(report.counts.items, 2);
    assert_eq!(report.counts.log_messages, 0);
    assert_eq!(report.counts.conflict_items, 1);
    assert_eq!(report.conflicts[0].subject.as_deref(), Some("lonely copy"));
    assert_eq!(report.counts.other_items, 1);
    assert!(report.conflicts[0].affected_folder.is_none());
    assert!(report.evidence.is_empty());
    assert!(findings.is_empty());
}

#[test]
fn real_backup_with_exchange_entry_ids() {
    let Some(dir) = corpus() else { return };
    let (report, findings, _) = analyze_file(&dir.join("hughbe_backup.pst"));
    let f = &report.folders;
    let top = "/Top of Outlook data file/Sync Issues";
    assert_eq!(f.sync_issues.as_ref().unwrap().path, top);
    assert_eq!(
        f.conflicts.as_ref().unwrap().path,
        format!("{top}/Conflicts")
    );
    assert_eq!(
        f.local_failures.as_ref().unwrap().path,
        format!("{top}/Local Failures")
    );
    // The Inbox's PR_ADDITIONAL_REN_ENTRYIDS holds 46-byte Exchange folder
    // entry ids; only Server Failures carries the PR_SOURCE_KEY they name.
    let server = f.server_failures.as_ref().unwrap();
    assert_eq!(server.path, format!("{top}/Server Failures"));
    assert_eq!(server.found_by, FoundBy::AdditionalRenEntryIds);
    assert_eq!(f.sync_issues.as_ref().unwrap().found_by, FoundBy::Name);
    assert_eq!(report.counts.items, 0);
    assert!(findings.is_empty());
}

#[test]
fn scan_reports_the_sync_issues_and_sync010_first() {
    let path = scratch("scan.ost");
    write_fixture(&path, Format::Ost);
    let p = path.to_str().unwrap();
    let out = common::ostscan(&["scan", "--json", p]);
    assert_eq!(out.status.code(), Some(1), "critical findings");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_valid(&common::report_validator(None), &report, "scan --json");
    let file = &report["files"][0];
    let si = &file["sync_issues"];
    assert_eq!(si["counts"]["conflict_items"], 2);
    assert_eq!(si["counts"]["log_messages"], 3);
    assert_eq!(si["counts"]["logs_with_errors"], 2);
    // The conflict copy is linked to its original even though scan keeps
    // only the records the analysis needs.
    let copy = si["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| !c["conflicts_with"].is_null())
        .unwrap();
    assert_eq!(copy["conflicts_with"]["subject"], "original");
    // SYNC010 on exactly Inbox and Projects, counted as findings.
    let flagged: Vec<&str> = file["folder_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["folder"].as_str().unwrap())
        .collect();
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    assert!(flagged[0].ends_with("/Inbox") && flagged[1].ends_with("/Projects"));
    assert_eq!(file["summary"]["findings_by_rule"]["SYNC010"], 2);
    assert_eq!(report["summary"]["findings_by_rule"]["SYNC010"], 2);
    let projects = file["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("/Projects"))
        .unwrap();
    assert!(projects["clear_offline_items_rules"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("SYNC010")));
    // NDJSON: one folder_finding record per SYNC010, every line valid.
    let out = common::ostscan(&["scan", "--ndjson", p]);
    let lines = common::ndjson(&out.stdout);
    let record = common::report_validator(Some("record"));
    for line in &lines {
        common::assert_valid(&record, line, "ndjson line");
    }
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["type"] == "folder_finding")
            .count(),
        2
    );
    let end = lines.iter().find(|l| l["type"] == "end").unwrap();
    assert_eq!(end["sync_issues"]["counts"]["conflict_items"], 2);
    // Text: the folders to clear first are named.
    let out = common::ostscan(&["scan", p]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Clear Offline Items on these first (SYNC010)"),
        "{text}"
    );
    assert!(text.contains("Sync Issues: "), "{text}");
    std::fs::remove_file(&path).ok();
}

#[test]
fn only_the_first_data_block_of_a_long_log_is_read() {
    let path = scratch("long-log.pst");
    let (mut w, f) = new_store(&path, Format::Unicode, CryptMethod::None);
    // An error for 'Projects' in the first lines, then 40 KiB of routine
    // lines (a body in a subnode data tree of several blocks), then an error
    // for 'Archive' past the cut.
    let mut body = String::from(
        "08:00:00 Synchronizing local changes in folder 'Projects'\n\
         08:00:01 \t Error synchronizing message 'x'\n\
         08:00:01 \t\t [80040119-0-0-560]\n",
    );
    while body.len() < 40 * 1024 {
        body.push_str("08:00:02 \t 1 item(s) updated in offline folder\n");
    }
    body.push_str("09:00:00 Synchronizing server changes in folder 'Archive'\n");
    body.push_str("09:00:01 \t Error 0x8004010F: the object could not be found.\n");
    w.add_message(f.local_failures, &log("Synchronization Log:", &body))
        .unwrap();
    w.finish().unwrap();
    let (report, _, _) = analyze_file(&path);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let log = &report.logs[0];
    let named: Vec<&str> = log.folders.iter().map(|f| f.path.as_str()).collect();
    assert!(named.iter().any(|p| p.ends_with("/Projects")), "{named:?}");
    assert!(!named.iter().any(|p| p.ends_with("/Archive")), "{named:?}");
    assert_eq!(log.error_codes, ["0x80040119"]);
    assert_eq!(
        log.excerpt[0],
        "08:00:00 Synchronizing local changes in folder 'Projects'"
    );
    std::fs::remove_file(&path).ok();
}

#[test]
fn sync010_follows_folder_nids_when_two_folders_share_a_path() {
    let path = scratch("same-name.pst");
    let (mut w, f) = new_store(&path, Format::Unicode, CryptMethod::None);
    let top = w.ipm_subtree();
    let first = w.add_folder(top, "Twins");
    let second = w.add_folder(top, "Twins");
    w.add_message(first, &note("healthy twin", 4, 4)).unwrap();
    let bad = w.add_message(second, &note("sync002 twin", 5, 9)).unwrap();
    let body = "10:00:00 Synchronizing local changes in folder 'Twins'\n\
                10:00:01 \t Error synchronizing message 'sync002 twin'\n";
    w.add_message(f.local_failures, &log("Synchronization Log:", body))
        .unwrap();
    w.finish().unwrap();

    let out = common::ostscan(&["scan", "--json", path.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = &report["files"][0];
    let finding = file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["nid"] == bad && x["rule"] == "SYNC002")
        .unwrap();
    let flagged = file["folder_findings"].as_array().unwrap();
    // The log names both folders (same name); only the one whose item has
    // the SYNC002 finding gets SYNC010.
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0]["folder_nid"], finding["folder_nid"]);
    assert_ne!(finding["folder_nid"], 0);
    std::fs::remove_file(&path).ok();
}

/// The scan reads log messages during its walk and hands them to the
/// analysis; the analysis reads the ones it is not given. Whichever reads
/// them, the report is the same: the scan's equals `analyze` reading every
/// log itself, and so does `analyze_with` given only some of them.
#[test]
fn logs_read_in_the_walk_or_by_the_analysis_give_one_report() {
    use ostscan::sync_issues::{analyze_with, is_log_message, read_log, LogIndex};
    let path = scratch("logs-either-way.ost");
    write_fixture(&path, Format::Ost);
    let (alone, _, records) = analyze_file(&path);
    let alone = serde_json::to_value(&alone).unwrap();
    assert_eq!(alone["counts"]["log_messages"], 3);

    let out = common::ostscan(&["scan", "--json", "--log-text", path.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files"][0]["sync_issues"], alone);

    let pst = Pst::open(&path).unwrap();
    let mut store = Store::open(&pst);
    store.item_refs(true);
    let located = ostscan::sync_issues::locate(&pst, &store);
    let tree: Vec<Nid> = located.0.all().map(|f| f.nid).collect();
    let index = LogIndex::new(&store);
    let logs: Vec<_> = records
        .iter()
        .filter(|r| is_log_message(r, |nid| tree.contains(&nid)))
        .skip(1)
        .step_by(2)
        .map(|r| read_log(&pst, &store, &index, r, None, true))
        .collect();
    assert_eq!(logs.len(), 1, "the second of three logs");
    let borrowed: Vec<&ItemRecord> = records.iter().collect();
    let mixed = analyze_with(&pst, &store, located, &index, &borrowed, logs, true);
    assert_eq!(serde_json::to_value(&mixed).unwrap(), alone);
    std::fs::remove_file(&path).ok();
}

/// Conflict copies whose originals are ordinary items (not in conflict, not
/// in the Sync Issues tree: items `scan` does not keep), one named by a PST
/// entry id and one by an Exchange entry id (its source key), each among
/// other items: `scan` reads them back and links both copies, whatever
/// order it read the store in.
#[test]
fn scan_links_conflict_copies_to_items_it_did_not_keep() {
    let path = scratch("unkept-originals.ost");
    let (mut w, f) = new_store(&path, Format::Ost, CryptMethod::Permute);
    for i in 0..20 {
        w.add_message(f.user[1], &note(&format!("filler {i}"), 7, 7))
            .unwrap();
    }
    let by_nid = note("plain original", 30, 30);
    let by_nid_id = w.add_message(f.inbox, &by_nid).unwrap();
    let by_key = note("exchange original", 31, 31);
    let key = by_key.source_key.clone().unwrap();
    w.add_message(f.sent, &by_key).unwrap();
    for i in 20..40 {
        w.add_message(f.inbox, &note(&format!("filler {i}"), 7, 7))
            .unwrap();
    }
    let mut pst_copy = note("plain copy", 29, 29);
    pst_copy.extra.push((
        CONFLICT_ENTRYID,
        PropValue::Binary(entry_id(&RECORD_KEY, by_nid_id)),
    ));
    // flags, provider, type, folder source key, pad, message source key, pad.
    let mut exchange_id = vec![0u8; 4];
    exchange_id.extend_from_slice(&[0x38; 16]);
    exchange_id.extend_from_slice(&[0x07, 0x00]);
    exchange_id.extend_from_slice(&[0x99; 22]);
    exchange_id.extend_from_slice(&[0, 0]);
    exchange_id.extend_from_slice(&key);
    exchange_id.extend_from_slice(&[0, 0]);
    assert_eq!(exchange_id.len(), 70);
    let mut exchange_copy = note("exchange copy", 28, 28);
    exchange_copy
        .extra
        .push((CONFLICT_ENTRYID, PropValue::Binary(exchange_id)));
    w.add_message(f.conflicts, &exchange_copy).unwrap();
    w.add_message(f.conflicts, &pst_copy).unwrap();
    w.finish().unwrap();

    for jobs in ["1", "2"] {
        let out = common::ostscan(&["scan", "--json", "--jobs", jobs, path.to_str().unwrap()]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let conflicts = report["files"][0]["sync_issues"]["conflicts"]
            .as_array()
            .unwrap()
            .clone();
        let linked: Vec<(&str, &str)> = conflicts
            .iter()
            .map(|c| {
                (
                    c["subject"].as_str().unwrap(),
                    c["conflicts_with"]["subject"].as_str().unwrap_or("-"),
                )
            })
            .collect();
        assert_eq!(
            linked,
            [
                ("exchange copy", "exchange original"),
                ("plain copy", "plain original")
            ],
            "--jobs {jobs}"
        );
    }
}

/// The lines of an Outlook log: a local-changes step for 'Projects' with
/// two red lines (no error word in them: only the colour says so), a
/// line with an error word that is not red, and the offline address
/// book's red lines after "Done".
const OUTLOOK_LINES: [(&str, bool); 11] = [
    ("11:02:10 Synchronizer Version 16.0.17328", false),
    ("11:02:10 Synchronizing Mailbox 'Jane Doe'", false),
    (
        "11:02:10 Synchronizing local changes in folder 'Projects'",
        false,
    ),
    ("11:02:11 Uploading to server 'outlook.example.com'", false),
    ("11:02:11 \t   3 item(s) updated in online folder", false),
    ("11:02:11 Earlier failed uploads retried", false),
    ("11:02:11 \t\t Could not upload 'Quarterly report'.", true),
    ("11:02:11 \t\t [0-130]", true),
    ("11:02:12 Done", false),
    ("11:02:40 Microsoft Exchange offline address book", true),
    ("11:02:40 \t0X80190194", true),
];

fn log_lines(lines: &[(&'static str, bool)]) -> Vec<LogLine<'static>> {
    lines
        .iter()
        .map(|&(text, error)| LogLine { text, error })
        .collect()
}

/// Outlook's own logs keep their text only in PR_RTF_COMPRESSED (LZFu) and
/// paint error lines red; other clients write plain PR_BODY. A store with
/// both, an uncompressed (MELA) RTF log and one whose CRC is wrong: `scan`
/// reads every text, counts the red lines as an RTF log's errors, blames
/// the folder of the step they are in (SYNC010 with their codes), and
/// reports the bad CRC while still reading that log.
#[test]
fn scan_reads_outlook_rtf_logs_and_plain_logs() {
    for format in [Format::Ost, Format::Ansi, Format::Ost4k] {
        let path = scratch(&format!("rtf-logs-{}.ost", format.name()));
        let (mut w, f) = new_store(&path, format, CryptMethod::Permute);
        let (projects, archive) = (f.user[0], f.user[3]);
        w.add_message(projects, &note("projects sync002", 5, 9))
            .unwrap();
        w.add_message(archive, &note("archive sync002", 5, 9))
            .unwrap();
        let rtf_log = outlook_log(
            "Synchronization Log: ",
            &log_lines(&OUTLOOK_LINES),
            RtfForm::Lzfu,
        );
        w.add_message(f.sync_issues, &rtf_log).unwrap();
        w.add_message(
            f.local_failures,
            &plain_log("Synchronization Log:", PROJECTS_LOG),
        )
        .unwrap();
        let mela_lines = [
            (
                "12:00:00 Synchronizing server changes in folder 'Inbox'",
                false,
            ),
            ("12:00:01 \t\t [0-0]", true),
        ];
        w.add_message(
            f.sync_issues,
            &outlook_log(
                "Synchronization Log: ",
                &log_lines(&mela_lines),
                RtfForm::Mela,
            ),
        )
        .unwrap();
        let bad_crc_lines = [
            (
                "13:00:00 Synchronizing server changes in folder 'Archive'",
                false,
            ),
            ("13:00:01 \t\t [0-7]", true),
        ];
        let mut bad_crc = outlook_log(
            "Synchronization Log: ",
            &log_lines(&bad_crc_lines),
            RtfForm::Lzfu,
        );
        match &mut bad_crc.extra[0].1 {
            PropValue::Binary(value) => value[12] ^= 0xFF,
            other => panic!("{other:?}"),
        }
        let bad_crc_nid = w.add_message(f.server_failures, &bad_crc).unwrap();
        w.finish().unwrap();

        // Without --log-text the report has no log's text, only its parts.
        let out = common::ostscan(&["scan", "--json", path.to_str().unwrap()]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for log in report["files"][0]["sync_issues"]["logs"]
            .as_array()
            .unwrap()
        {
            assert!(log["text"].is_null(), "{log}");
            assert!(!log["excerpt"].as_array().unwrap().is_empty(), "{log}");
        }
        let out = common::ostscan(&["scan", "--json", "--log-text", path.to_str().unwrap()]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        common::assert_valid(&common::report_validator(None), &report, "scan --json");
        let file = &report["files"][0];
        // SYNC010's remedy follows the client: Clear Offline Items in an
        // OST; in a PST (the ANSI one) the items are compared with their source.
        let ost = file["file"]["client"] == "OST";
        assert_eq!(ost, format != Format::Ansi);
        let ff = file["folder_findings"].as_array().unwrap();
        assert!(!ff.is_empty(), "{format}");
        for f in ff {
            assert_eq!(f["recommend_clear_offline_items"], ost, "{format}");
            let detail = f["detail"].as_str().unwrap();
            let end = if ost {
                ": Clear Offline Items on this folder first"
            } else {
                ": the items are local (a PST is not synchronized, there are no offline items to clear): compare them with their source first"
            };
            assert!(detail.ends_with(end), "{format}: {detail}");
        }
        let out = common::ostscan(&["scan", path.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout);
        let heading = if ost {
            "  Clear Offline Items on these first (SYNC010):"
        } else {
            "  Compare these with their source first (SYNC010):"
        };
        assert!(text.lines().any(|l| l == heading), "{format}: {text}");
        let si = &file["sync_issues"];
        let logs = si["logs"].as_array().unwrap();
        assert_eq!(logs.len(), 4, "{format}");
        let by_first_line = |start: &str| {
            logs.iter()
                .find(|l| l["text"].as_str().unwrap().starts_with(start))
                .unwrap_or_else(|| panic!("{format}: no log starting {start:?}"))
        };

        let rtf = by_first_line("11:02:10 Synchronizer");
        assert_eq!(rtf["text_source"], "rtf_compressed", "{format}");
        let text: Vec<&str> = OUTLOOK_LINES.iter().map(|&(t, _)| t).collect();
        assert_eq!(rtf["text"], text.join("\n"), "{format}");
        let red: Vec<&str> = OUTLOOK_LINES
            .iter()
            .filter(|&&(_, red)| red)
            .map(|&(t, _)| t)
            .collect();
        assert_eq!(rtf["red_lines"], serde_json::json!(red), "{format}");
        assert_eq!(rtf["error_lines"], 4, "{format}");
        assert_eq!(
            rtf["error_codes"],
            serde_json::json!(["[0-130]", "0x80190194"]),
            "{format}"
        );
        assert_eq!(rtf["folder_names"], serde_json::json!(["Projects"]));
        assert_eq!(rtf["counts"][0]["folder"], "Projects");
        assert_eq!(rtf["counts"][0]["count"], 3);
        let blamed: Vec<(&str, &serde_json::Value, &serde_json::Value)> = rtf["folders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["path"].as_str().unwrap(), &f["errors"], &f["error_codes"]))
            .collect();
        assert_eq!(
            blamed,
            [(
                "/Top of Personal Folders/Projects",
                &serde_json::json!(2),
                &serde_json::json!(["[0-130]"])
            )],
            "{format}"
        );

        // The plain log keeps today's reading: error words and HRESULTs.
        let plain = by_first_line("11:02:10 Synchronizer Version 16.0.17328\n11:02:10 Synchronizing Mailbox 'Jane Doe'\n11:02:10 Synchronizing local changes in folder 'Projects'\n11:02:11 Uploading to server 'outlook.example.com'\n11:02:11 \t Error");
        assert_eq!(plain["text_source"], "body", "{format}");
        assert_eq!(plain["text"], PROJECTS_LOG.trim_end(), "{format}");
        assert_eq!(plain["error_lines"], 3, "{format}");
        assert_eq!(plain["red_lines"], serde_json::json!([]));
        assert_eq!(plain["error_codes"], serde_json::json!(["0x80040119"]));

        let mela = by_first_line("12:00:00");
        assert_eq!(mela["text_source"], "rtf_compressed");
        assert_eq!(
            mela["red_lines"],
            serde_json::json!(["12:00:01 \t\t [0-0]"])
        );
        assert_eq!(mela["folder_names"], serde_json::json!(["Inbox"]));

        // A wrong CRC is reported at the message; its text is still read.
        let damaged = by_first_line("13:00:00");
        assert_eq!(damaged["nid"], bad_crc_nid);
        assert_eq!(damaged["error_codes"], serde_json::json!(["[0-7]"]));
        let errors = si["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{format}: {errors:?}");
        assert_eq!(errors[0]["structure"], "log message RTF");
        assert_eq!(errors[0]["nid"], bad_crc_nid);
        assert!(
            errors[0]["message"]
                .as_str()
                .unwrap()
                .contains("CRC mismatch"),
            "{errors:?}"
        );
        assert_ne!(errors[0]["offset"], 0, "located in the file");

        // SYNC010: Projects (red lines + SYNC002) and Archive (the damaged
        // log's red line + SYNC002); the Inbox has no SYNC findings.
        let flagged: Vec<(&str, &serde_json::Value)> = file["folder_findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["folder"].as_str().unwrap(), &f["error_codes"]))
            .collect();
        assert_eq!(
            flagged,
            [
                (
                    "/Top of Personal Folders/Projects",
                    // In the order of the logs: Sync Issues' RTF log first.
                    &serde_json::json!(["[0-130]", "0x80040119"])
                ),
                (
                    "/Top of Personal Folders/Archive",
                    &serde_json::json!(["[0-7]"])
                ),
            ],
            "{format}"
        );
        std::fs::remove_file(&path).ok();
    }
}

/// Only the start of a long RTF log is read: an error line past the text
/// cap is not seen, and the log says it was cut; nothing is an error.
#[test]
fn only_the_start_of_a_long_rtf_log_is_read() {
    let path = scratch("long-rtf-log.ost");
    let (mut w, f) = new_store(&path, Format::Ost, CryptMethod::None);
    let mut lines = vec![
        (
            "08:00:00 Synchronizing local changes in folder 'Projects'",
            false,
        ),
        ("08:00:01 \t\t [0-130]", true),
    ];
    lines.extend(std::iter::repeat_n(
        ("08:00:02 \t   1 item(s) updated in offline folder", false),
        600,
    ));
    lines.push((
        "09:00:00 Synchronizing server changes in folder 'Archive'",
        false,
    ));
    lines.push(("09:00:01 \t\t [0-7]", true));
    w.add_message(
        f.local_failures,
        &outlook_log("Synchronization Log: ", &log_lines(&lines), RtfForm::Lzfu),
    )
    .unwrap();
    w.finish().unwrap();
    let (report, _, _) = analyze_file(&path);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let log = &report.logs[0];
    assert!(log.text_truncated);
    // `analyze` keeps the text (the scan only with --log-text).
    let text = log.text.as_deref().expect("text kept");
    assert!(text.len() <= 8_000 && text.len() > 7_000, "{}", text.len());
    assert_eq!(log.error_codes, ["[0-130]"]);
    assert_eq!(log.error_lines, 1);
    assert_eq!(log.folder_names, ["Projects"]);
    std::fs::remove_file(&path).ok();
}

/// A folder whose only Sync Issues evidence is a conflict, and whose only
/// SYNC00x finding is on the conflict copy in Conflicts (the stale version
/// Outlook set aside): the copy's finding counts for the folder it
/// conflicts with, so that folder gets SYNC010 (with no log error at all),
/// and Conflicts gets none. Both through the library and `scan`.
#[test]
fn a_conflict_alone_gives_sync010_to_the_folder_it_concerns() {
    let path = scratch("conflict-only.ost");
    let (mut w, f) = new_store(&path, Format::Ost, CryptMethod::None);
    let projects = f.user[0];
    let original = w.add_message(projects, &note("budget", 9, 9)).unwrap();
    w.add_message(projects, &note("healthy", 4, 4)).unwrap();
    // The copy: its change key went backwards against its PCL (SYNC002).
    let mut copy = note("budget", 5, 9);
    copy.extra.push((
        CONFLICT_ENTRYID,
        PropValue::Binary(entry_id(&RECORD_KEY, original)),
    ));
    w.add_message(f.conflicts, &copy).unwrap();
    // A log without errors, naming nothing.
    w.add_message(
        f.sync_issues,
        &log(
            "Synchronization Log:",
            "09:00:00 Synchronizing Mailbox 'Jane'\n09:00:01 Done\n",
        ),
    )
    .unwrap();
    w.finish().unwrap();

    let (report, findings, _) = analyze_file(&path);
    let projects_path = "/Top of Personal Folders/Projects";
    assert_eq!(report.counts.conflict_items, 1);
    assert_eq!(report.counts.logs_with_errors, 0);
    let copy = &report.conflicts[0];
    assert!(copy.folder.ends_with("/Sync Issues/Conflicts"));
    assert_eq!(copy.affected_folder.as_ref().unwrap().path, projects_path);
    let flagged = flagged(&findings);
    assert_eq!(flagged, [(projects_path, 1, 0, 1)]);

    let out = common::ostscan(&["scan", "--json", path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_valid(&common::report_validator(None), &v, "scan --json");
    let file = &v["files"][0];
    let ff = file["folder_findings"].as_array().unwrap();
    assert_eq!(ff.len(), 1, "{ff:?}");
    assert_eq!(ff[0]["folder"], projects_path);
    assert_eq!(ff[0]["conflict_items"], 1);
    assert_eq!(ff[0]["logs_with_errors"], 0);
    assert_eq!(ff[0]["sync_findings"], 1);
    assert_eq!(
        ff[0]["detail"],
        "1 conflict item(s) concern it and 1 SYNC00x findings concern its items (conflict copies included): Clear Offline Items on this folder first"
    );
    // The SYNC002 itself stays on the copy, in Conflicts.
    let sync002 = file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "SYNC002")
        .unwrap();
    assert!(sync002["folder"].as_str().unwrap().ends_with("/Conflicts"));
    std::fs::remove_file(&path).ok();
}

/// Only logs are logs: copies of items that failed to synchronize (in
/// Local and Server Failures, with bodies that are not logs, even with a
/// time stamp on their second line) and unmarked
/// items of Conflicts are not counted as logs. 5 logs among 12 items.
#[test]
fn log_messages_count_logs_only() {
    let path = scratch("log-count.pst");
    let (mut w, f) = new_store(&path, Format::Unicode, CryptMethod::None);
    // 6 logs: plain ones with time stamps, an RTF one as Outlook writes
    // them, one of a German Outlook, and an empty one with Outlook's
    // subject.
    for (folder, body) in [
        (f.sync_issues, REPORTS_LOG),
        (f.local_failures, PROJECTS_LOG),
        (f.server_failures, ARCHIVE_LOG),
    ] {
        w.add_message(folder, &log("Synchronization Log:", body))
            .unwrap();
    }
    let rtf = outlook_log(
        "Synchronization Log:",
        &[
            LogLine {
                text: "16:37:46 Synchronizing local changes in folder 'Inbox'",
                error: false,
            },
            LogLine {
                text: "16:37:47 \t\t [0-0]",
                error: true,
            },
        ],
        RtfForm::Lzfu,
    );
    w.add_message(f.sync_issues, &rtf).unwrap();
    // A log of an Outlook in another language: neither its subject nor its
    // first line is one the English checks know, but it has a red line.
    let foreign = outlook_log(
        "Synchronisierungsprotokoll:",
        &[
            LogLine {
                text: "Synchronisierung des Ordners 'Posteingang'",
                error: false,
            },
            LogLine {
                text: "Fehler beim Synchronisieren [0-130]",
                error: true,
            },
        ],
        RtfForm::Lzfu,
    );
    w.add_message(f.sync_issues, &foreign).unwrap();
    let mut empty = log("Modification Resolution", "");
    empty.body = None;
    w.add_message(f.sync_issues, &empty).unwrap();
    // 5 failed-item copies: ordinary mail, bodies without time stamps.
    for (i, folder) in [
        f.local_failures,
        f.local_failures,
        f.server_failures,
        f.server_failures,
        f.local_failures,
    ]
    .into_iter()
    .enumerate()
    {
        let mut item = note(&format!("failed item {i}"), 3, 3);
        item.body = Some(
            "Dear Jane, the figures are attached.\r\n10:30:00 is when we meet. Error rates are down."
                .into(),
        );
        w.add_message(folder, &item).unwrap();
    }
    // 2 items of Conflicts without markers.
    w.add_message(f.conflicts, &note("unmarked copy 1", 2, 2))
        .unwrap();
    w.add_message(f.conflicts, &note("unmarked copy 2", 2, 2))
        .unwrap();
    w.finish().unwrap();

    let (report, _, _) = analyze_file(&path);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let c = &report.counts;
    assert_eq!(c.items, 13);
    assert_eq!(c.log_messages, 6);
    assert_eq!(report.logs.len(), 6);
    assert_eq!(c.other_items, 5);
    assert_eq!(c.conflict_items, 2);
    // PROJECTS_LOG, ARCHIVE_LOG and the two RTF logs report errors.
    assert_eq!(c.logs_with_errors, 4);
    assert!(report.logs.iter().all(|l| !l
        .subject
        .as_deref()
        .unwrap_or("")
        .starts_with("failed item")));

    let out = common::ostscan(&["scan", "--json", path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_valid(&common::report_validator(None), &v, "scan --json");
    let counts = &v["files"][0]["sync_issues"]["counts"];
    assert_eq!(counts["log_messages"], 6);
    assert_eq!(counts["other_items"], 5);
    assert_eq!(counts["items"], 13);
    // The text's numbers add up: 13 = 2 conflict items + 6 logs + 5 other.
    let out = common::ostscan(&["scan", path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "Sync Issues: 13 items, 2 conflict items, 6 logs (4 reporting errors), 5 other"
        ),
        "{text}"
    );
    std::fs::remove_file(&path).ok();
}
