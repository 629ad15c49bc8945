//! `ostscan reconcile`, end to end: a cache against the server's listing.
//!
//! Listings are built from what the cache holds (fixture OSTs through their
//! manifests; the shared real 4K OST through its truth rows and the source
//! keys its MIDs stand for), with one item planted in each category by
//! editing the server's counters, in both listing forms (normalized JSON
//! lines and Graph pages). Each planted item must be found, with its rule,
//! and nothing else; a listing equal to the cache gives no finding and exit
//! 0. The Graph export script runs against a local mock of Graph (its own
//! tests, then an export reconciled against a fixture).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_valid, corpus, ndjson, ostscan, ostscan_stdin, scratch, workspace};
use ost_fixture::{FixtureBuilder, Format, ManifestRecord, Rule, StoreRecord, SyncPlacement};
use ostscan::paths::base64_encode;
use serde_json::{json, Value};

// ---------------------------------------------------------------- values

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The XID `xid` with its LocalId set to `counter` (same length).
fn with_counter(xid: &[u8], counter: u64) -> Vec<u8> {
    let len = xid.len() - 16;
    let mut out = xid[..16].to_vec();
    out.extend_from_slice(&counter.to_be_bytes()[8 - len..]);
    out
}

fn counter(xid: &[u8]) -> u64 {
    xid[16..].iter().fold(0, |n, &b| n << 8 | u64::from(b))
}

fn pcl_xids(pcl: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < pcl.len() {
        let size = pcl[at] as usize;
        out.push(pcl[at + 1..at + 1 + size].to_vec());
        at += 1 + size;
    }
    out
}

fn make_pcl(xids: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = xids.to_vec();
    sorted.sort_by(|a, b| a[..16].cmp(&b[..16]));
    sorted
        .iter()
        .flat_map(|x| std::iter::once(x.len() as u8).chain(x.iter().copied()))
        .collect()
}

/// The PCL with the entry of `xid`'s namespace replaced by `xid` (added
/// when there is none).
fn pcl_with(pcl: &[u8], xid: &[u8]) -> Vec<u8> {
    let mut xids: Vec<Vec<u8>> = pcl_xids(pcl)
        .into_iter()
        .filter(|x| x[..16] != xid[..16])
        .collect();
    xids.push(xid.to_vec());
    make_pcl(&xids)
}

// ---------------------------------------------------------------- listings

/// One item as the server lists it.
#[derive(Clone, Debug)]
struct ServerItem {
    source_key: Vec<u8>,
    change_key: Vec<u8>,
    pcl: Vec<u8>,
    /// Graph only: a `Binary 0x65e2` that must win over `changeKey`.
    extended_change_key: Option<Vec<u8>>,
    subject: String,
    folder: String,
    last_modified: Option<String>,
}

impl ServerItem {
    fn new(source_key: Vec<u8>, change_key: Vec<u8>, pcl: Vec<u8>) -> ServerItem {
        ServerItem {
            source_key,
            change_key,
            pcl,
            extended_change_key: None,
            subject: String::new(),
            folder: String::new(),
            last_modified: None,
        }
    }
}

fn normalized(items: &[ServerItem]) -> String {
    items
        .iter()
        .map(|i| {
            let change_key = i.extended_change_key.as_ref().unwrap_or(&i.change_key);
            json!({
                "source_key": hex(&i.source_key),
                "change_key": hex(change_key),
                "pcl": hex(&i.pcl),
                "last_modified": i.last_modified,
                "subject": i.subject,
                "folder": i.folder,
            })
            .to_string()
                + "\n"
        })
        .collect()
}

/// EWS's ChangeKey: base64 of a 4-byte type, a 4-byte length, the XID.
fn ews_change_key(xid: &[u8]) -> String {
    let mut bytes = 9u32.to_le_bytes().to_vec();
    bytes.extend((xid.len() as u32).to_le_bytes());
    bytes.extend(xid);
    base64_encode(&bytes)
}

fn graph_message(i: &ServerItem, n: usize) -> Value {
    let mut props = vec![
        json!({"id": "Binary 0x65e0", "value": base64_encode(&i.source_key)}),
        json!({"id": "Binary 0x65e3", "value": base64_encode(&i.pcl)}),
    ];
    if let Some(ck) = &i.extended_change_key {
        props.push(json!({"id": "Binary 0x65E2", "value": base64_encode(ck)}));
    }
    json!({
        "@odata.etag": format!("W/\"{n}\""),
        "id": format!("AAMkAGI2-{n}"),
        "subject": i.subject,
        "lastModifiedDateTime": i.last_modified,
        "changeKey": ews_change_key(&i.change_key),
        "parentFolderId": format!("AAMkFolder-{}", i.folder.len()),
        "singleValueExtendedProperties": props,
    })
}

/// Graph pages of `page` messages, pretty-printed and concatenated, as a
/// loop over `@odata.nextLink` saving each response writes them.
fn graph(items: &[ServerItem], page: usize) -> String {
    let chunks: Vec<&[ServerItem]> = items.chunks(page).collect();
    let mut out = String::new();
    for (k, chunk) in chunks.iter().enumerate() {
        let mut body = json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('u')/messages",
            "value": chunk.iter().enumerate().map(|(j, i)| graph_message(i, k * page + j)).collect::<Vec<_>>(),
        });
        if k + 1 < chunks.len() {
            body["@odata.nextLink"] = json!(format!(
                "https://graph.microsoft.com/v1.0/next?$skip={}",
                (k + 1) * page
            ));
        }
        out.push_str(&serde_json::to_string_pretty(&body).unwrap());
        out.push('\n');
    }
    out
}

#[derive(Clone, Copy, Debug)]
enum Form {
    Normalized,
    Graph,
}

const FORMS: [Form; 2] = [Form::Normalized, Form::Graph];

fn write_listing(dir: &Path, name: &str, items: &[ServerItem], form: Form) -> PathBuf {
    let path = dir.join(format!("{name}-{form:?}.json"));
    let text = match form {
        Form::Normalized => normalized(items),
        Form::Graph => graph(items, 7),
    };
    std::fs::write(&path, text).unwrap();
    path
}

// ---------------------------------------------------------------- running

fn schema() -> Value {
    let text = std::fs::read_to_string(workspace().join("docs/reconcile.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema()).expect("docs/reconcile.schema.json compiles")
}

fn record_validator() -> jsonschema::Validator {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/$defs/record",
        "$defs": schema()["$defs"].clone(),
    });
    jsonschema::validator_for(&schema).expect("record schema compiles")
}

fn run(cache: &Path, listing: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec![
        "reconcile",
        cache.to_str().unwrap(),
        "--server",
        listing.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = ostscan(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}\nstderr: {stderr}"));
    assert_valid(&validator(), &report, &format!("{args:?}"));
    (out.status.code(), report, stderr)
}

/// The text form of `reconcile CACHE --server LISTING`.
fn run_text(cache: &Path, listing: &Path) -> String {
    let out = ostscan(&[
        "reconcile",
        cache.to_str().unwrap(),
        "--server",
        listing.to_str().unwrap(),
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (nid, rule) of every finding.
fn found(report: &Value) -> BTreeSet<(u64, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["nid"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- fixtures

/// A 4K OST in the real layout (sync values in the rows, MIDs, replica
/// map, local namespace), with three items whose change keys are local.
fn fixture(dir: &Path, seed: u64) -> (PathBuf, Vec<ManifestRecord>, StoreRecord) {
    let path = dir.join(format!("cache-{seed}.ost"));
    let written = FixtureBuilder::new(Format::Ost4k)
        .messages(40)
        .seed(seed)
        .sync_placement(SyncPlacement::Rows)
        .plant(Rule::Sync004, 3)
        .write_file(&path)
        .expect("write fixture");
    (path, written.manifest, written.store.expect("store record"))
}

/// The cache's version of a manifest record: the row's, else the item's.
fn cache_side(r: &ManifestRecord) -> ServerItem {
    let ck = r.row_change_key.as_ref().or(r.change_key.as_ref()).unwrap();
    let pcl = r.row_pcl.as_ref().or(r.pcl.as_ref()).unwrap();
    let mut item = ServerItem::new(unhex(r.source_key.as_ref().unwrap()), unhex(ck), unhex(pcl));
    item.subject = r.subject.clone();
    item.folder = r.folder.clone();
    item.last_modified = r.last_modified.clone();
    item
}

/// A listing that equals the cache, then items planted in every category.
struct Planted {
    equal: Vec<ServerItem>,
    planted: Vec<ServerItem>,
    expected: BTreeSet<(u64, String)>,
    cache_only: u64,
    server_only: Vec<u8>,
    srv001_folder: String,
    srv004_folder: String,
}

fn plant(manifest: &[ManifestRecord], store: &StoreRecord) -> Planted {
    let equal: Vec<ServerItem> = manifest.iter().map(cache_side).collect();
    let server: Vec<usize> = (0..manifest.len())
        .filter(|&i| {
            manifest[i].planted.is_empty() && manifest[i].change_key_namespace == Some("server")
        })
        .collect();
    let local: Vec<usize> = (0..manifest.len())
        .filter(|&i| manifest[i].planted.contains(&"SYNC004".to_string()))
        .collect();
    assert!(
        server.len() >= 5 && local.len() == 3,
        "{server:?} {local:?}"
    );
    let mut planted = equal.clone();
    let mut expected = BTreeSet::new();
    let nid = |i: usize| u64::from(manifest[i].nid);

    // SRV001: the server's change key and PCL went down by 5 (the EWS
    // decrement). In Graph, the lowered key is only in Binary 0x65e2,
    // `changeKey` still the cache's: the extended property must win.
    let i = server[0];
    let down = with_counter(&equal[i].change_key, counter(&equal[i].change_key) - 5);
    planted[i].pcl = pcl_with(&equal[i].pcl, &down);
    planted[i].extended_change_key = Some(down);
    expected.insert((nid(i), "SRV001".to_string()));

    // SRV003: the server moved on by 7.
    let i = server[1];
    let up = with_counter(&equal[i].change_key, counter(&equal[i].change_key) + 7);
    planted[i].pcl = pcl_with(&equal[i].pcl, &up);
    planted[i].change_key = up;
    expected.insert((nid(i), "SRV003".to_string()));

    // SRV004: a local change on top of the server's version, which the
    // server still has.
    let i = local[0];
    let server_xid = pcl_xids(&equal[i].pcl)
        .into_iter()
        .find(|x| hex(&x[..16]) == store.server_guid)
        .expect("the PCL of a local change holds the server's version");
    planted[i].pcl = make_pcl(std::slice::from_ref(&server_xid));
    planted[i].change_key = server_xid.clone();
    expected.insert((nid(i), "SRV004".to_string()));

    // SRV002: a local change, while the server moved on.
    let i = local[1];
    let server_xid = pcl_xids(&equal[i].pcl)
        .into_iter()
        .find(|x| hex(&x[..16]) == store.server_guid)
        .unwrap();
    let moved = with_counter(&server_xid, counter(&server_xid) + 10);
    planted[i].pcl = make_pcl(std::slice::from_ref(&moved));
    planted[i].change_key = moved;
    expected.insert((nid(i), "SRV002".to_string()));

    // Only in the cache: left out. Only on the server: a new item.
    let gone = server[2];
    planted.remove(gone);
    let mut new_key = unhex(&store.server_guid);
    new_key.extend_from_slice(&[0, 0, 0, 0xff, 0xff, 0xff]);
    let mut new_item = equal[server[3]].clone();
    new_item.source_key = new_key.clone();
    new_item.subject = "arrived after the cache was copied".to_string();
    new_item.folder = "/Inbox".to_string();
    planted.push(new_item);
    Planted {
        srv001_folder: manifest[server[0]].folder.clone(),
        srv004_folder: manifest[local[0]].folder.clone(),
        equal,
        planted,
        expected,
        cache_only: 1,
        server_only: new_key,
    }
}

#[test]
fn a_listing_equal_to_the_cache_gives_no_finding_and_exit_0() {
    let dir = scratch("reconcile-equal");
    let (ost, manifest, store) = fixture(&dir, 16);
    let p = plant(&manifest, &store);
    for form in FORMS {
        let listing = write_listing(&dir, "equal", &p.equal, form);
        for fail_on in ["warning", "info"] {
            let (code, report, stderr) = run(&ost, &listing, &["--fail-on", fail_on]);
            assert_eq!(code, Some(0), "{form:?} {fail_on}: {stderr}");
            let s = &report["summary"];
            assert_eq!(s["findings"], 0, "{form:?}: {s}");
            assert_eq!(s["matched"], manifest.len() as u64, "{form:?}");
            assert_eq!(s["identical"], manifest.len() as u64, "{form:?}");
            assert_eq!(
                (s["cache_only"].as_u64(), s["server_only"].as_u64()),
                (Some(0), Some(0))
            );
            assert_eq!(report["status"], "ok");
            assert_eq!(report["listing"]["format_detected"], true);
            assert_eq!(
                report["listing"]["format"],
                match form {
                    Form::Normalized => "normalized",
                    Form::Graph => "graph",
                }
            );
        }
    }
}

#[test]
fn fixture_items_planted_in_each_category_are_found_on_their_items() {
    let dir = scratch("reconcile-planted");
    let (ost, manifest, store) = fixture(&dir, 17);
    let p = plant(&manifest, &store);
    let by_nid: BTreeMap<u64, &ManifestRecord> =
        manifest.iter().map(|r| (u64::from(r.nid), r)).collect();
    for form in FORMS {
        let listing = write_listing(&dir, "planted", &p.planted, form);
        let (code, report, stderr) = run(&ost, &listing, &["--all"]);
        assert_eq!(code, Some(1), "{form:?}: {stderr}");
        assert_eq!(found(&report), p.expected, "{form:?}");
        let s = &report["summary"];
        assert_eq!(
            s["findings_by_rule"],
            json!({"SRV001": 1, "SRV002": 1, "SRV003": 1, "SRV004": 1})
        );
        assert_eq!(
            s["findings_by_severity"],
            json!({"critical": 1, "warning": 1, "info": 2})
        );
        assert_eq!(s["cache_only"], p.cache_only, "{form:?}");
        assert_eq!(s["server_only"], 1, "{form:?}");
        assert_eq!(s["matched"], manifest.len() as u64 - 1);
        assert_eq!(s["identical"], manifest.len() as u64 - 5);
        assert_eq!(s["not_compared"], 0);
        assert_eq!(s["folders_to_clear"], json!([p.srv001_folder]));
        for f in report["findings"].as_array().unwrap() {
            let r = by_nid[&f["nid"].as_u64().unwrap()];
            // On its item: the source key its MID stands for, the folder,
            // the listing line, every XID labelled.
            assert_eq!(f["source_key"], json!(r.source_key), "{f}");
            assert_eq!(f["source_key_derived"], true);
            assert_eq!(f["nid_hex"], format!("{:#x}", f["nid"].as_u64().unwrap()));
            assert_eq!(f["folder"], json!(r.folder));
            assert!(f["listing_line"].as_u64().unwrap() >= 1);
            let role = f["cache"]["change_key"]["namespace"].as_str().unwrap();
            match f["rule"].as_str().unwrap() {
                "SRV001" | "SRV003" => assert_eq!(role, "server"),
                _ => assert_eq!(role, "local"),
            }
            assert_eq!(f["server"]["change_key"]["namespace"], "server");
            if f["rule"] == "SRV001" {
                let cache = f["cache"]["change_key"]["counter"].as_u64().unwrap();
                let server = f["server"]["change_key"]["counter"].as_u64().unwrap();
                assert_eq!(cache - server, 5);
                let origin = match form {
                    Form::Normalized => "hex",
                    Form::Graph => "extended_property",
                };
                assert_eq!(f["server"]["change_key_origin"], origin);
            }
        }
        if let Form::Graph = form {
            let srv003 = report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["rule"] == "SRV003")
                .unwrap();
            assert_eq!(srv003["server"]["change_key_origin"], "ews_change_key");
            assert!(srv003["server"]["id"].as_str().unwrap().starts_with("AAMk"));
        }
        let folders = report["folders"].as_array().unwrap();
        let folder = |name: &str| folders.iter().find(|f| f["folder"] == name).unwrap();
        assert_eq!(
            folder(&p.srv001_folder)["recommend_clear_offline_items"],
            true
        );
        assert!(
            folder(&p.srv004_folder)["local_changes_pending"]
                .as_u64()
                .unwrap()
                >= 1
        );
        assert_eq!(
            folders
                .iter()
                .filter(|f| f["recommend_clear_offline_items"] == true)
                .count(),
            1
        );
        // --all lists the items only one side has.
        let cache_only = report["cache_only"].as_array().unwrap();
        assert_eq!(cache_only.len(), 1);
        assert!(!p
            .planted
            .iter()
            .any(|i| hex(&i.source_key) == cache_only[0]["source_key"]));
        let server_only = report["server_only"].as_array().unwrap();
        assert_eq!(server_only.len(), 1);
        assert_eq!(server_only[0]["source_key"], hex(&p.server_only));

        // NDJSON says the same, every record valid.
        let out = ostscan(&[
            "reconcile",
            ost.to_str().unwrap(),
            "--server",
            listing.to_str().unwrap(),
            "--ndjson",
        ]);
        assert_eq!(out.status.code(), Some(1));
        let records = ndjson(&out.stdout);
        let rv = record_validator();
        for r in &records {
            assert_valid(&rv, r, &format!("{form:?} record"));
        }
        assert_eq!(records.first().unwrap()["type"], "begin");
        assert_eq!(records[records.len() - 2]["type"], "end");
        assert_eq!(records.last().unwrap()["type"], "summary");
        let nd: BTreeSet<(u64, String)> = records
            .iter()
            .filter(|r| r["type"] == "finding")
            .map(|r| {
                (
                    r["nid"].as_u64().unwrap(),
                    r["rule"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(nd, p.expected);
        // Without --all, only counted.
        assert!(!records.iter().any(|r| r["type"] == "cache_only"));

        // The text names the folder to clear and every finding.
        let text = run_text(&ost, &listing);
        assert!(
            text.contains("Clear Offline Items on these folders"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "folders (SRV001; save local changes first):\n  {}",
                p.srv001_folder
            )),
            "{text}"
        );
        for (_, rule) in &p.expected {
            assert!(text.contains(&format!("{rule} ")), "{text}");
        }
        // The counts by severity, as every command's text says them.
        let by = &report["summary"]["findings_by_severity"];
        let counts = format!(
            "findings {} ({} critical, {} warning, {} info)\n",
            report["summary"]["findings"], by["critical"], by["warning"], by["info"]
        );
        assert!(text.contains(&counts), "{counts}\n{text}");
        // --fail-on critical still fails (SRV001); the format can be named.
        let format = match form {
            Form::Normalized => "normalized",
            Form::Graph => "graph",
        };
        let (code, report, _) = run(
            &ost,
            &listing,
            &["--fail-on", "critical", "--server-format", format],
        );
        assert_eq!(code, Some(1));
        assert_eq!(report["listing"]["format_detected"], false);
    }
}

#[test]
fn a_wrong_server_format_finds_nothing_usable() {
    let dir = scratch("reconcile-wrong-format");
    let (ost, manifest, store) = fixture(&dir, 18);
    let p = plant(&manifest, &store);
    let listing = write_listing(&dir, "equal", &p.equal, Form::Normalized);
    let out = ostscan(&[
        "reconcile",
        ost.to_str().unwrap(),
        "--server",
        listing.to_str().unwrap(),
        "--server-format",
        "graph",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing was compared"), "{stderr}");
    assert!(stderr.contains("line 1: "), "{stderr}");
}

#[test]
fn bad_lines_are_located_and_the_rest_is_compared() {
    let dir = scratch("reconcile-bad-lines");
    let (ost, manifest, store) = fixture(&dir, 19);
    let p = plant(&manifest, &store);
    let text = normalized(&p.planted);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Line 3: not hex; line 6: cut short; line 9: not JSON at all.
    lines.insert(
        2,
        r#"{"source_key": "xyz", "change_key": "00"}"#.to_string(),
    );
    lines.insert(5, r#"{"source_key": "bc78"#.to_string());
    lines.insert(8, "\u{0}\u{1} garbage".to_string());
    let listing = dir.join("bad.jsonl");
    std::fs::write(&listing, lines.join("\n") + "\n").unwrap();
    let (code, report, stderr) = run(&ost, &listing, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(report["status"], "partial");
    assert_eq!(found(&report), p.expected);
    let errors: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["source"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(3, "listing"), (6, "listing"), (9, "listing")]);
    assert_eq!(report["summary"]["errors"], 3);
    assert!(
        stderr.contains(&format!("{}: line 3: ", listing.display())),
        "{stderr}"
    );
    let (code, _, _) = run(&ost, &listing, &["--allow-partial"]);
    assert_eq!(code, Some(1));
}

#[test]
fn the_text_form_says_how_many_errors_it_left_out() {
    let dir = scratch("reconcile-many-bad-lines");
    let (ost, manifest, store) = fixture(&dir, 23);
    let p = plant(&manifest, &store);
    let mut text = normalized(&p.planted);
    for _ in 0..60 {
        text.push_str("{\"source_key\": \"xyz\", \"change_key\": \"00\"}\n");
    }
    let listing = dir.join("many-bad.jsonl");
    std::fs::write(&listing, text).unwrap();
    let args = [
        "reconcile",
        ost.to_str().unwrap(),
        "--server",
        listing.to_str().unwrap(),
        "--color",
        "never",
    ];
    let out = ostscan(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("\n60 errors (the result covers part"),
        "{stdout}"
    );
    let listed = stdout.lines().filter(|l| l.contains(": line ")).count();
    assert_eq!(listed, 50, "{stdout}");
    assert!(
        stdout.contains("\n  ... 10 more (--json lists the first 60)\n"),
        "{stdout}"
    );
}

#[test]
fn unusable_listings_and_outputs_exit_2_and_touch_nothing() {
    let dir = scratch("reconcile-unusable");
    let (ost, manifest, store) = fixture(&dir, 20);
    let p = plant(&manifest, &store);
    let ost_arg = ost.to_str().unwrap();
    for (name, bytes) in [
        ("empty", Vec::new()),
        ("binary", vec![0u8, 159, 146, 150, 255, 10, 1, 2]),
        ("other-json", b"{\"hello\": 1}\n{\"world\": 2}\n".to_vec()),
        (
            "all-bad",
            b"{\"source_key\": \"zz\"}\n{\"source_key\": \"\"}\n".to_vec(),
        ),
    ] {
        let listing = dir.join(name);
        std::fs::write(&listing, &bytes).unwrap();
        let out = ostscan(&[
            "reconcile",
            ost_arg,
            "--server",
            listing.to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(out.stdout.is_empty(), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("nothing was compared"), "{name}: {stderr}");
    }
    // A missing listing, a directory, a cache that is not a PST/OST.
    let listing = write_listing(&dir, "equal", &p.equal, Form::Normalized);
    for (cache, server) in [
        (ost_arg, dir.join("missing").to_str().unwrap().to_string()),
        (ost_arg, dir.to_str().unwrap().to_string()),
        (
            listing.to_str().unwrap(),
            listing.to_str().unwrap().to_string(),
        ),
    ] {
        let out = ostscan(&["reconcile", cache, "--server", &server]);
        assert_eq!(out.status.code(), Some(2), "{cache} {server}");
        assert!(out.stdout.is_empty());
    }
    // --out is never an input: neither FILE nor LISTING.
    let before = std::fs::read(&listing).unwrap();
    let ost_before = std::fs::read(&ost).unwrap();
    for target in [&listing, &ost] {
        let out = ostscan(&[
            "reconcile",
            ost_arg,
            "--server",
            listing.to_str().unwrap(),
            "--json",
            "--out",
            target.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("refusing to write over an input"),
            "{stderr}"
        );
    }
    assert_eq!(std::fs::read(&listing).unwrap(), before);
    assert_eq!(std::fs::read(&ost).unwrap(), ost_before);
    // --out elsewhere is written; the listing may come on standard input.
    let out_path = dir.join("report.json");
    let out = ostscan_stdin(
        &[
            "reconcile",
            ost_arg,
            "--server",
            "-",
            "--json",
            "--out",
            out_path.to_str().unwrap(),
        ],
        normalized(&p.planted).as_bytes(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_valid(&validator(), &report, "stdin listing");
    assert_eq!(found(&report), p.expected);
    assert_eq!(report["listing"]["path"], "-");
}

#[test]
fn a_cache_read_in_part_makes_the_result_partial() {
    let dir = scratch("reconcile-partial-cache");
    let (ost, manifest, store) = fixture(&dir, 22);
    let p = plant(&manifest, &store);
    let listing = write_listing(&dir, "planted", &p.planted, Form::Normalized);
    // The CRC of the message store's block no longer matches (its data,
    // read for the namespaces, is intact and used anyway).
    let fx = FixtureBuilder::new(Format::Ost4k)
        .messages(40)
        .seed(22)
        .sync_placement(SyncPlacement::Rows)
        .plant(Rule::Sync004, 3)
        .build()
        .unwrap();
    assert_eq!(fx.bytes, std::fs::read(&ost).unwrap());
    let bytes = common::with_a_bad_block_crc(&fx, Format::Ost4k, 0x21);
    let damaged = dir.join("bad-crc.ost");
    std::fs::write(&damaged, &bytes).unwrap();
    let (code, report, stderr) = run(&damaged, &listing, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(report["status"], "partial");
    let cache_errors: Vec<&Value> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "cache")
        .collect();
    assert!(!cache_errors.is_empty());
    assert!(
        cache_errors
            .iter()
            .any(|e| e["structure"].as_str().unwrap().contains("(integrity)")),
        "{cache_errors:?}"
    );
    assert!(stderr.contains("bad-crc.ost: "), "{stderr}");
    let (code, report, _) = run(&damaged, &listing, &["--allow-partial"]);
    assert_eq!(code, Some(1));
    assert_eq!(found(&report), p.expected);
}

// ---------------------------------------------------------------- real OST

/// The 4K real OST: its truth rows give the server's versions (Aspose's
/// reading of the rows), `ostscan items` the source keys its MIDs stand for.
#[test]
fn the_real_4k_ost_equal_and_with_each_category_planted() {
    let Some(corpus) = corpus() else { return };
    let truth = corpus.join("../truth/pstextractor_outlookcom_test.ost.rows.jsonl");
    if !truth.is_file() {
        common::skip(format_args!("skipping: {} not found", truth.display()));
        return;
    }
    let ost = corpus.join("pstextractor_outlookcom_test.ost");
    let out = ostscan(&["items", "--all", ost.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let items: BTreeMap<u64, Value> = ndjson(&out.stdout)
        .into_iter()
        .map(|v| (v["nid"].as_u64().unwrap(), v))
        .collect();
    let mut equal = Vec::new();
    let mut nids = Vec::new();
    for line in std::fs::read_to_string(&truth).unwrap().lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        let nid = row["nid"].as_u64().unwrap();
        let item = &items[&nid];
        // The source key is the one the MID stands for.
        assert_eq!(item["source_key_derived"], true);
        let globcnt = item["object_id"]["globcnt"].as_u64().unwrap();
        let key = item["source_key"].as_str().unwrap();
        assert_eq!(&key[32..], format!("{globcnt:012x}"));
        let mut s = ServerItem::new(
            unhex(key),
            unhex(row["change_key"].as_str().unwrap()),
            unhex(row["pcl"].as_str().unwrap()),
        );
        s.subject = row["subject"].as_str().unwrap_or("").to_string();
        s.folder = row["folder"].as_str().unwrap().to_string();
        s.last_modified = row["last_modified"].as_str().map(str::to_string);
        equal.push(s);
        nids.push(nid);
    }
    let contents_not_listed = items
        .iter()
        .filter(|(nid, v)| v["kind"] == "contents" && !nids.contains(nid))
        .count() as u64;
    let dir = scratch("reconcile-real");
    for form in FORMS {
        let listing = write_listing(&dir, "equal", &equal, form);
        let (code, report, stderr) = run(&ost, &listing, &[]);
        assert_eq!(code, Some(0), "{form:?}: {stderr}");
        let s = &report["summary"];
        assert_eq!(s["findings"], 0, "{form:?}: {s}");
        assert_eq!(s["matched"], equal.len() as u64);
        assert_eq!(s["identical"], equal.len() as u64);
        assert_eq!(s["cache_only"], contents_not_listed);
        assert_eq!(report["status"], "ok");
        // The text's counts cover every cache item: the hidden items,
        // which the truth (contents tables) and Graph do not list, are
        // said, not left out.
        let n = |k: &str| s[k].as_u64().unwrap();
        assert_eq!(n("associated_unmatched"), 31);
        assert_eq!(
            n("matched")
                + n("cache_only")
                + n("associated_unmatched")
                + n("cache_without_source_key"),
            n("cache_items")
        );
        let text = run_text(&ost, &listing);
        assert!(
            text.contains(&format!(
                "only in the cache {}, only on the server {}; 31 hidden (associated) cache items unmatched (Graph does not list them)\n",
                n("cache_only"),
                n("server_only"),
            )),
            "{text}"
        );
    }

    // Plant: by the role of the cache's change key (6-byte: a replica's;
    // 4-byte: the OST's own namespace, per the store's namespaces).
    let server_rows: Vec<usize> = (0..equal.len())
        .filter(|&i| equal[i].change_key.len() == 22)
        .collect();
    let local_with_server: Vec<usize> = (0..equal.len())
        .filter(|&i| {
            equal[i].change_key.len() == 20 && pcl_xids(&equal[i].pcl).iter().any(|x| x.len() == 22)
        })
        .collect();
    let local_only: Vec<usize> = (0..equal.len())
        .filter(|&i| equal[i].change_key.len() == 20 && pcl_xids(&equal[i].pcl).len() == 1)
        .collect();
    assert!(server_rows.len() > 10 && !local_with_server.is_empty() && !local_only.is_empty());
    let mut planted = equal.clone();
    let mut expected = BTreeSet::new();
    // SRV001 on one server-made item: its counter 3 lower on the server.
    let i = server_rows[3];
    let down = with_counter(&equal[i].change_key, counter(&equal[i].change_key) - 3);
    planted[i].pcl = pcl_with(&equal[i].pcl, &down);
    planted[i].change_key = down;
    expected.insert((nids[i], "SRV001".to_string()));
    // SRV003: newer on the server.
    let i = server_rows[7];
    let up = with_counter(&equal[i].change_key, counter(&equal[i].change_key) + 2);
    planted[i].pcl = pcl_with(&equal[i].pcl, &up);
    planted[i].change_key = up;
    expected.insert((nids[i], "SRV003".to_string()));
    // SRV004: the local change pending upload; the server has the version
    // it was made on.
    let i = local_with_server[0];
    let base = pcl_xids(&equal[i].pcl)
        .into_iter()
        .find(|x| x.len() == 22)
        .unwrap();
    planted[i].pcl = make_pcl(std::slice::from_ref(&base));
    planted[i].change_key = base;
    expected.insert((nids[i], "SRV004".to_string()));
    // SRV002: an item known only to this cache that the server has in
    // another version of its own.
    let i = local_only[0];
    let theirs = with_counter(&equal[server_rows[0]].change_key, 0x9999);
    planted[i].pcl = make_pcl(std::slice::from_ref(&theirs));
    planted[i].change_key = theirs;
    expected.insert((nids[i], "SRV002".to_string()));
    for form in FORMS {
        let listing = write_listing(&dir, "planted", &planted, form);
        let (code, report, stderr) = run(&ost, &listing, &[]);
        assert_eq!(code, Some(1), "{form:?}: {stderr}");
        assert_eq!(found(&report), expected, "{form:?}");
        assert_eq!(report["summary"]["identical"], equal.len() as u64 - 4);
        let srv001 = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "SRV001")
            .unwrap();
        assert_eq!(srv001["cache"]["change_key"]["namespace"], "server");
        assert!(srv001["detail"]
            .as_str()
            .unwrap()
            .contains("the server now holds change key"));
        assert_eq!(
            report["summary"]["folders_to_clear"],
            json!([srv001["folder"]])
        );
    }
}

// ---------------------------------------------------------------- Graph export

/// `python3`, or `None` after saying why the test skips.
fn python3() -> Option<&'static str> {
    match Command::new("python3").arg("--version").output() {
        Ok(out) if out.status.success() => Some("python3"),
        Ok(out) => {
            common::skip(format_args!(
                "skipping: python3 --version failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            None
        }
        Err(e) => {
            common::skip(format_args!("skipping: python3 not found ({e})"));
            None
        }
    }
}

/// A mailbox for the mock: the fixture's folders (as a tree) and their
/// messages as Graph returns them.
fn mock_spec(items: &[ServerItem], throttle_pages: u64) -> Value {
    #[derive(Default)]
    struct Node {
        children: BTreeMap<String, Node>,
        messages: Vec<Value>,
    }
    let mut root = Node::default();
    for (n, item) in items.iter().enumerate() {
        let mut node = &mut root;
        for part in item.folder.split('/').filter(|p| !p.is_empty()) {
            node = node.children.entry(part.to_string()).or_default();
        }
        let mut m = graph_message(item, n);
        if let Some(o) = m.as_object_mut() {
            o.remove("parentFolderId");
            o.remove("@odata.etag");
        }
        node.messages.push(m);
    }
    fn folders(node: &Node, prefix: &str) -> Vec<Value> {
        node.children
            .iter()
            .enumerate()
            .map(|(k, (name, child))| {
                let id = format!("{prefix}-{k}");
                json!({
                    "id": id,
                    "displayName": name,
                    "messages": child.messages,
                    "children": folders(child, &id),
                })
            })
            .collect()
    }
    json!({
        "mailbox": "user@example.com",
        "token": "mock-token",
        "folder_page_size": 2,
        "message_page_size": 3,
        "throttle": {"status": 429, "retry_after": "1", "pages": throttle_pages},
        "folders": folders(&root, "F"),
    })
}

#[test]
fn graph_export_script_against_a_mock_server_then_reconciled() {
    let Some(python) = python3() else { return };
    let graph_dir = workspace().join("integrations/graph");
    // The script's own tests: paging, throttling, failures, app-only auth.
    let out = Command::new(python)
        .args(["-m", "unittest", "discover", "-s"])
        .arg(&graph_dir)
        .args(["-p", "test_*.py", "-v"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python tests failed:\n{stderr}");
    assert!(stderr.contains("OK"), "{stderr}");

    // End to end: a fixture's items served as Graph, one with its changeKey
    // lowered (the EWS decrement), exported, reconciled.
    let dir = scratch("reconcile-graph-export");
    let (ost, manifest, store) = fixture(&dir, 21);
    let p = plant(&manifest, &store);
    let mut served = p.equal.clone();
    let victim = manifest
        .iter()
        .position(|r| r.planted.is_empty() && r.change_key_namespace == Some("server"))
        .unwrap();
    let ck = served[victim].change_key.clone();
    let down = with_counter(&ck, counter(&ck) - 1);
    served[victim].pcl = pcl_with(&served[victim].pcl, &down);
    served[victim].change_key = down;
    let spec = dir.join("mailbox.json");
    std::fs::write(&spec, serde_json::to_vec(&mock_spec(&served, 2)).unwrap()).unwrap();
    let listing = dir.join("listing.json");
    let out = Command::new(python)
        .arg(graph_dir.join("mock_graph.py"))
        .arg("serve-export")
        .arg(&spec)
        .arg(&listing)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run mock_graph.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["status"], 0, "{stats}");
    assert_eq!(stats["throttled"], 2, "{stats}");
    // It waited as long as Retry-After said before asking again.
    assert!(stats["min_retry_delay"].as_f64().unwrap() >= 1.0, "{stats}");
    let (code, report, stderr) = run(&ost, &listing, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        found(&report),
        BTreeSet::from([(u64::from(manifest[victim].nid), "SRV001".to_string())])
    );
    let s = &report["summary"];
    assert_eq!(s["matched"], manifest.len() as u64);
    assert_eq!(
        (s["cache_only"].as_u64(), s["server_only"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(report["listing"]["format"], "graph");
    let f = &report["findings"][0];
    assert_eq!(f["server"]["change_key_origin"], "ews_change_key");
    // The exporter's folderPath: the folder's path from the top.
    assert_eq!(f["server"]["folder"], json!(manifest[victim].folder));
}

#[test]
fn every_srv_rule_is_documented_and_in_the_schema() {
    let rules_md = std::fs::read_to_string(workspace().join("docs/rules.md")).unwrap();
    let reconcile_md = std::fs::read_to_string(workspace().join("docs/reconcile.md")).unwrap();
    let in_schema: Vec<Value> = schema()["$defs"]["rule_id"]["enum"]
        .as_array()
        .unwrap()
        .clone();
    let catalogue = ostscan::rules::SRV_RULES;
    assert_eq!(in_schema.len(), catalogue.len());
    for rule in catalogue {
        assert!(
            rules_md.contains(&format!("### {} — ", rule.id)),
            "{} in docs/rules.md",
            rule.id
        );
        assert!(
            reconcile_md.contains(&format!("| `{}` | {} |", rule.id, rule.severity)),
            "{} in docs/reconcile.md",
            rule.id
        );
        assert!(in_schema.contains(&json!(rule.id)));
    }
}
