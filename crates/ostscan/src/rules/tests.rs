//! One test per rule (it fires on its case, and only it), plus the valid
//! variants on which every rule must stay silent.

use super::*;

/// A namespace GUID made of one repeated byte; order follows the byte.
fn guid(byte: u8) -> [u8; 16] {
    [byte; 16]
}

/// `counter` as a big-endian LocalId of `len` bytes.
fn local_id(counter: u64, len: usize) -> Vec<u8> {
    let be = counter.to_be_bytes();
    be[8 - len..].to_vec()
}

fn xid(guid_byte: u8, counter: u64, len: usize) -> Vec<u8> {
    [guid(guid_byte).as_slice(), &local_id(counter, len)].concat()
}

/// A PCL from (GUID byte, counter, LocalId length) in the order given.
fn pcl(entries: &[(u8, u64, usize)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for &(guid_byte, counter, len) in entries {
        bytes.push((16 + len) as u8);
        bytes.extend_from_slice(&xid(guid_byte, counter, len));
    }
    bytes
}

fn run(change_key: Option<&[u8]>, pcl: Option<&[u8]>) -> Vec<Finding> {
    check(&SyncProps { change_key, pcl })
}

fn ids(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|finding| finding.rule).collect()
}

const LOCAL_ID_LENGTHS: [usize; 5] = [1, 4, 5, 6, 8];

#[test]
fn silent_on_valid_items() {
    assert!(run(None, None).is_empty(), "no sync properties at all");
    for len in LOCAL_ID_LENGTHS {
        // Largest counter the length can hold, so 8 bytes covers u64::MAX.
        let counter = if len == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * len)) - 1
        };
        let change_key = xid(0x20, counter, len);
        let variants = [
            pcl(&[(0x20, counter, len)]),
            pcl(&[(0x10, 100, 6), (0x20, counter, len), (0x30, 7, 4)]),
            pcl(&[(0x01, 1, 1), (0x02, 2, 8), (0x20, counter, len)]),
            pcl(&[(0x20, counter, len), (0xF0, 3, 5), (0xFF, 9, 6)]),
        ];
        for list in &variants {
            let findings = run(Some(&change_key), Some(list));
            assert!(findings.is_empty(), "len {len}: {findings:?}");
        }
    }
}

#[test]
fn silent_on_real_mfcmapi_bytes() {
    // The PCL-2 vector, with XID-3's namespace and PCL-2's own first counter
    // as the change key: the layout Exchange writes.
    let pcl2 = [
        "16373B21412876FE448E8D71BE34CC3154000061E71533",
        "166F267F483887D948AAFCA58AB2BC910F0000DC0B3A12",
        "148FABC61C6C4C5E47930B9B30AA0ED4EB00005CA8",
    ]
    .concat();
    let change_key = "373B21412876FE448E8D71BE34CC3154000061E71533";
    let decode = |hex: &str| -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    };
    let findings = run(Some(&decode(change_key)), Some(&decode(&pcl2)));
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn ck001_change_key_missing() {
    let list = pcl(&[(0x20, 5, 6)]);
    let findings = run(None, Some(&list));
    assert_eq!(ids(&findings), ["CK001"]);
    assert!(findings[0].detail.contains("1 entries"));
    assert!(findings[0].detail.contains("5 (0x5)"));
    // A malformed PCL still counts as present.
    let findings = run(None, Some(&[0x14, 1, 2]));
    assert_eq!(ids(&findings), ["PCL002", "CK001"]);
}

#[test]
fn ck002_change_key_not_an_xid() {
    let list = pcl(&[(0x20, 5, 6)]);
    for bad in [&[0u8; 16][..], &[0u8; 25][..], &[][..]] {
        let findings = run(Some(bad), Some(&list));
        // SYNC rules need a decoded change key, so they stay silent.
        assert_eq!(ids(&findings), ["CK002"], "{} bytes", bad.len());
        assert_eq!(findings[0].severity, Severity::Critical);
        assert!(findings[0]
            .detail
            .contains(&format!("({} bytes)", bad.len())));
    }
    let findings = run(Some(&[0u8; 16]), Some(&list));
    assert!(findings[0].detail.contains("byte offset 0"));
    // Without a PCL the PCL is still reported missing.
    assert_eq!(ids(&run(Some(&[0u8; 3]), None)), ["CK002", "PCL001"]);
}

#[test]
fn pcl001_pcl_missing() {
    let change_key = xid(0x20, 0x4C755, 6);
    let findings = run(Some(&change_key), None);
    assert_eq!(ids(&findings), ["PCL001"]);
    assert!(findings[0]
        .detail
        .contains("{20202020-2020-2020-2020-202020202020}:00000004C755"));
    assert!(findings[0].detail.contains("313173 (0x4c755)"));
}

#[test]
fn ck001_and_pcl001_say_which_is_absent_and_what_the_other_holds() {
    let change_key = xid(0x20, 5, 6);
    let list = pcl(&[(0x20, 5, 6)]);
    let detail = |ck: Option<&[u8]>, p: Option<&[u8]>| {
        let findings = run(ck, p);
        let one = findings
            .iter()
            .find(|f| ["CK001", "PCL001"].contains(&f.rule));
        one.expect("CK001 or PCL001").detail.clone()
    };
    assert!(detail(None, Some(&list))
        .starts_with("PR_CHANGE_KEY is absent but PR_PREDECESSOR_CHANGE_LIST holds 1 entries: "));
    assert_eq!(
        detail(None, Some(&[0x14, 1, 2])),
        "PR_CHANGE_KEY is absent but PR_PREDECESSOR_CHANGE_LIST is present"
    );
    assert!(detail(Some(&change_key), None)
        .starts_with("PR_PREDECESSOR_CHANGE_LIST is absent but PR_CHANGE_KEY is {20202020-"));
    assert_eq!(
        detail(Some(&[0u8; 3]), None),
        "PR_PREDECESSOR_CHANGE_LIST is absent but PR_CHANGE_KEY is present"
    );
}

#[test]
fn pcl002_pcl_malformed() {
    let change_key = xid(0x20, 5, 6);
    let mut truncated = pcl(&[(0x20, 5, 6), (0x30, 1, 4)]);
    truncated.truncate(truncated.len() - 2);
    let findings = run(Some(&change_key), Some(&truncated));
    assert_eq!(ids(&findings), ["PCL002"]);
    assert!(
        findings[0].detail.contains("byte offset 23"),
        "{}",
        findings[0].detail
    );
    let findings = run(Some(&change_key), Some(&[]));
    assert_eq!(ids(&findings), ["PCL002"]);
    let mut bad_size = pcl(&[(0x20, 5, 6)]);
    bad_size[0] = 0x30;
    assert_eq!(ids(&run(Some(&change_key), Some(&bad_size))), ["PCL002"]);
}

#[test]
fn pcl003_duplicate_namespace() {
    let change_key = xid(0x20, 5, 6);
    let list = pcl(&[(0x10, 1, 6), (0x20, 3, 6), (0x20, 5, 6)]);
    let findings = run(Some(&change_key), Some(&list));
    // The highest duplicate matches the change key, so SYNC is silent.
    assert_eq!(ids(&findings), ["PCL003"]);
    assert!(findings[0].detail.contains("appears 2 times"));
    assert!(findings[0].detail.contains("#1 "));
    assert!(findings[0].detail.contains("#2 "));
    // Mixed lengths inside the duplicate are called out.
    let mixed = pcl(&[(0x10, 1, 4), (0x10, 1, 6), (0x20, 5, 6)]);
    let findings = run(Some(&change_key), Some(&mixed));
    assert_eq!(ids(&findings), ["PCL003"]);
    assert!(findings[0].detail.contains("4 and 6 bytes"));
}

#[test]
fn pcl003_detail_stays_bounded_on_hostile_lists() {
    // 2000 entries over 100 namespaces, every one duplicated.
    let entries: Vec<(u8, u64, usize)> = (0..2000u64).map(|i| ((i % 100) as u8, i, 6)).collect();
    let list = pcl(&entries);
    let findings = run(Some(&xid(0, 1900, 6)), Some(&list));
    assert_eq!(ids(&findings), ["PCL003", "PCL004"]);
    assert!(
        findings[0].detail.len() < 4096,
        "{}",
        findings[0].detail.len()
    );
    assert!(findings[0]
        .detail
        .contains("and 96 more duplicated namespaces"));
}

#[test]
fn pcl004_not_sorted() {
    let change_key = xid(0x20, 5, 6);
    let list = pcl(&[(0x30, 1, 4), (0x20, 5, 6)]);
    let findings = run(Some(&change_key), Some(&list));
    assert_eq!(ids(&findings), ["PCL004"]);
    assert_eq!(findings[0].severity, Severity::Info);
    assert!(findings[0].detail.starts_with("entry 1 {20202020"));
}

#[test]
fn pcl004_uses_stored_bytes_not_registry_text() {
    // Registry text order would put {1CC6AB8F-...} first; stored bytes
    // put 0x37.. before 0x8F.., which is what Exchange writes.
    let pcl2 = [
        "16373B21412876FE448E8D71BE34CC3154000061E71533",
        "148FABC61C6C4C5E47930B9B30AA0ED4EB00005CA8",
    ]
    .concat();
    let bytes: Vec<u8> = (0..pcl2.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&pcl2[i..i + 2], 16).unwrap())
        .collect();
    assert!(run(None, Some(&bytes)).iter().all(|f| f.rule != "PCL004"));
}

#[test]
fn pcl005_length_mismatch_blocks_sync_rules() {
    // The PCL counter is far higher, but with 4 vs 6 bytes nobody can say.
    let change_key = xid(0x20, 5, 6);
    let list = pcl(&[(0x20, 900, 4)]);
    let findings = run(Some(&change_key), Some(&list));
    assert_eq!(ids(&findings), ["PCL005"]);
    assert!(findings[0].detail.contains("6-byte LocalId"));
    assert!(findings[0].detail.contains("has 4 bytes (00000384)"));
}

#[test]
fn sync001_namespace_absent() {
    let change_key = xid(0x99, 5, 6);
    let list = pcl(&[(0x10, 5, 6), (0x20, 7, 4)]);
    let findings = run(Some(&change_key), Some(&list));
    assert_eq!(ids(&findings), ["SYNC001"]);
    assert!(findings[0].detail.contains("{99999999-9999"));
    assert!(findings[0].detail.contains("#1 {20202020"));
}

#[test]
fn sync002_change_key_went_backwards() {
    let change_key = xid(0x20, 0x4C755, 6);
    let list = pcl(&[(0x10, 1, 4), (0x20, 0x4C75C, 6)]);
    let findings = run(Some(&change_key), Some(&list));
    assert_eq!(ids(&findings), ["SYNC002"]);
    assert_eq!(findings[0].severity, Severity::Critical);
    let detail = &findings[0].detail;
    assert!(detail.contains("313173 (0x4c755)"), "{detail}");
    assert!(detail.contains("313180 (0x4c75c)"), "{detail}");
    assert!(detail.contains("back by 7"), "{detail}");
    // With duplicates, any higher counter counts.
    let dup = pcl(&[(0x20, 1, 6), (0x20, 0x4C756, 6)]);
    assert_eq!(
        ids(&run(Some(&change_key), Some(&dup))),
        ["PCL003", "SYNC002"]
    );
}

#[test]
fn sync003_pcl_not_updated() {
    let change_key = xid(0x20, 10, 1);
    let list = pcl(&[(0x20, 8, 1), (0x30, 8, 6)]);
    let findings = run(Some(&change_key), Some(&list));
    assert_eq!(ids(&findings), ["SYNC003"]);
    assert!(findings[0].detail.contains("8 (0x8)"));
    assert!(findings[0].detail.contains("10 (0xa)"));
    assert!(findings[0].detail.contains("2 behind"));
}

#[test]
fn catalogue_is_consistent() {
    let mut seen = std::collections::HashSet::new();
    for rule in RULES {
        assert!(seen.insert(rule.id), "duplicate id {}", rule.id);
        assert!(!rule.summary.is_empty());
        assert_eq!(rule_info(&rule.id.to_lowercase()), Some(rule));
    }
    assert_eq!(RULES.len(), 13);
    assert_eq!(rule_info("NOPE"), None);
    assert_eq!(
        rule_info("sync002").map(|r| r.severity),
        Some(Severity::Critical)
    );
}

type Bytes = Vec<u8>;

#[test]
fn findings_carry_catalogue_severity() {
    // (PR_CHANGE_KEY, PR_PREDECESSOR_CHANGE_LIST) pairs that trigger rules.
    let cases: [(Option<Bytes>, Option<Bytes>); 6] = [
        (None, Some(pcl(&[(1, 1, 6)]))),
        (Some(vec![1]), Some(pcl(&[(1, 1, 6)]))),
        (Some(xid(1, 1, 6)), Some(vec![0xFF])),
        (
            Some(xid(1, 1, 6)),
            Some(pcl(&[(2, 1, 6), (1, 1, 6), (2, 1, 6)])),
        ),
        (Some(xid(1, 1, 6)), Some(pcl(&[(1, 3, 6)]))),
        (Some(xid(1, 9, 6)), Some(pcl(&[(1, 3, 6)]))),
    ];
    let mut fired = 0;
    for (change_key, list) in &cases {
        for finding in run(change_key.as_deref(), list.as_deref()) {
            let rule = rule_info(finding.rule).expect("rule in catalogue");
            assert_eq!(finding.severity, rule.severity);
            fired += 1;
        }
    }
    assert!(fired >= cases.len());
}

#[test]
fn severity_is_ordered_and_serializes_lowercase() {
    assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
    assert_eq!(Severity::parse("CRITICAL"), Some(Severity::Critical));
    assert_eq!(Severity::parse("fatal"), None);
    let finding = Finding {
        rule: "SYNC002",
        severity: Severity::Critical,
        detail: "x".to_string(),
    };
    assert_eq!(
        serde_json::to_string(&finding).unwrap(),
        r#"{"rule":"SYNC002","severity":"critical","detail":"x"}"#
    );
    assert_eq!(
        serde_json::to_string(&CK001).unwrap(),
        r#"{"id":"CK001","severity":"warning","summary":"change key missing while a PCL exists"}"#
    );
}

/// The namespaces of a store whose server replica is GUID 0xBC and whose
/// own namespace is 0x26.
fn ost_namespaces() -> ost_props::Namespaces {
    ost_props::Namespaces {
        replicas: vec![(1, ost_props::Guid::from_bytes(guid(0xBC)))],
        local: Some(ost_props::Guid::from_bytes(guid(0x26))),
    }
}

fn run_local(change_key: &[u8], list: &[u8], ns: &ost_props::Namespaces) -> Vec<Finding> {
    let props = SyncProps {
        change_key: Some(change_key),
        pcl: Some(list),
    };
    let mut findings = check(&props);
    check_local_change(&props, ns, &mut findings);
    findings
}

#[test]
fn local_changes_pending_and_local_only_items() {
    let ns = ost_namespaces();
    // The real shapes: a local change of a synchronized item, an item only
    // this cache knows, and a server version (healthy).
    let pending = run_local(
        &xid(0x26, 0xc08, 4),
        &pcl(&[(0x26, 0xc08, 4), (0xBC, 0xa6a, 6)]),
        &ns,
    );
    assert_eq!(ids(&pending), ["SYNC004"]);
    assert!(
        pending[0].detail.contains("2666 (0xa6a)"),
        "{}",
        pending[0].detail
    );
    let local_only = run_local(&xid(0x26, 0x807, 4), &pcl(&[(0x26, 0x807, 4)]), &ns);
    assert_eq!(ids(&local_only), ["SYNC005"]);
    assert_eq!(local_only[0].severity, Severity::Info);
    let server = run_local(
        &xid(0xBC, 0x8ae, 6),
        &pcl(&[(0x26, 0x804, 4), (0xBC, 0x8ae, 6)]),
        &ns,
    );
    assert!(server.is_empty(), "{server:?}");
    // A 6-byte XID of a GUID outside the map is still the server's.
    let foreign = run_local(&xid(0x26, 9, 4), &pcl(&[(0x26, 9, 4), (0x77, 5, 6)]), &ns);
    assert_eq!(ids(&foreign), ["SYNC004"]);
}

#[test]
fn local_change_rules_need_a_named_local_namespace_and_a_sound_item() {
    let ns = ost_namespaces();
    // No local namespace (PSTs): silent.
    let none = ost_props::Namespaces::default();
    assert!(run_local(&xid(0x26, 9, 4), &pcl(&[(0x26, 9, 4)]), &none).is_empty());
    // An item another rule already reports: only that rule.
    let stale = run_local(&xid(0x26, 9, 4), &pcl(&[(0x26, 12, 4), (0xBC, 1, 6)]), &ns);
    assert_eq!(ids(&stale), ["SYNC002"]);
    // Undecodable values: the other rules speak.
    assert_eq!(
        ids(&run_local(&[1, 2], &pcl(&[(0x26, 9, 4)]), &ns)),
        ["CK002"]
    );
}

fn props<'a>(
    change_key: Option<&'a [u8]>,
    list: Option<&'a [u8]>,
    modified: Option<u64>,
) -> ost_props::SourceProps<'a> {
    use std::borrow::Cow;
    let value = |id, bytes: &'a [u8]| {
        ost_ndb::ltp::PropValue::new(id, ost_ndb::ltp::prop_type::BINARY, Cow::Borrowed(bytes))
    };
    ost_props::SourceProps::for_tests(
        change_key.map(|b| value(0x65E2, b)),
        list.map(|b| value(0x65E3, b)),
        modified.map(ost_props::FileTime),
    )
}

#[test]
fn row001_compares_what_both_sides_have() {
    let ck_new = xid(0xBC, 0x900, 6);
    let ck_old = xid(0xBC, 0x8ff, 6);
    let list_new = pcl(&[(0xBC, 0x900, 6)]);
    let list_old = pcl(&[(0xBC, 0x8ff, 6)]);
    let mut findings = Vec::new();
    // Equal: silent.
    check_row_against_item(
        &props(Some(&ck_new), Some(&list_new), Some(7)),
        &props(Some(&ck_new), Some(&list_new), Some(7)),
        &mut findings,
    );
    assert!(findings.is_empty());
    // One side lacks a value: nothing to compare.
    check_row_against_item(
        &props(None, None, Some(7)),
        &props(Some(&ck_old), Some(&list_old), None),
        &mut findings,
    );
    assert!(findings.is_empty());
    // The row lists an older version.
    check_row_against_item(
        &props(Some(&ck_new), Some(&list_new), Some(8)),
        &props(Some(&ck_old), Some(&list_old), Some(7)),
        &mut findings,
    );
    assert_eq!(ids(&findings), ["ROW001"]);
    let detail = &findings[0].detail;
    assert!(
        detail.contains("change key: item") && detail.contains("2304 (0x900)"),
        "{detail}"
    );
    assert!(detail.contains("2303 (0x8ff)"), "{detail}");
    assert!(
        detail.contains("PCL: item") && detail.contains("last modified: item"),
        "{detail}"
    );
    assert_eq!(findings[0].severity, Severity::Warning);
}

/// docs/rules.md has one `### ID — title (severity)` heading for every rule
/// of the catalogue, with its severity, and none for a rule that does not
/// exist.
#[test]
fn every_rule_has_its_heading_in_rules_md_and_no_other() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rules.md");
    let text = std::fs::read_to_string(path).expect("docs/rules.md");
    let mut headed = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("### ") else {
            continue;
        };
        let Some((id, title)) = rest.split_once(" — ") else {
            continue;
        };
        let severity = title
            .rsplit_once('(')
            .and_then(|(_, s)| s.strip_suffix(')'))
            .unwrap_or_else(|| panic!("no (severity) in {line:?}"));
        assert!(
            headed
                .insert(id.to_string(), severity.to_string())
                .is_none(),
            "two headings for {id}"
        );
    }
    for rule in CATALOGUE {
        match headed.remove(rule.id) {
            Some(severity) => assert_eq!(severity, rule.severity.as_str(), "{}", rule.id),
            None => panic!("docs/rules.md has no heading for {}", rule.id),
        }
    }
    assert!(
        headed.is_empty(),
        "headings for rules that do not exist: {headed:?}"
    );
}

/// Each id once in the catalogue; the item rules are its first part.
#[test]
fn the_catalogue_holds_each_rule_once() {
    let mut ids: Vec<&str> = CATALOGUE.iter().map(|r| r.id).collect();
    assert!(ids.iter().zip(RULES).all(|(id, r)| *id == r.id));
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), CATALOGUE.len());
    // Each command's list is the catalogue's rules of its scope, in order.
    let of = |scopes: &[Scope]| -> Vec<&str> {
        CATALOGUE
            .iter()
            .filter(|r| scopes.contains(&r.scope))
            .map(|r| r.id)
            .collect()
    };
    let ids = |rules: &[RuleInfo]| -> Vec<&str> { rules.iter().map(|r| r.id).collect() };
    assert_eq!(of(&[Scope::Item, Scope::Row]), ids(RULES));
    assert_eq!(of(&[Scope::SyncIssues]), [SYNC010.id]);
    assert_eq!(of(&[Scope::Diff]), ids(DIFF_RULES));
    assert_eq!(of(&[Scope::Server]), ids(SRV_RULES));
    assert!(clears_offline_items("SYNC002") && clears_offline_items("SRV001"));
    assert!(!clears_offline_items("SYNC004") && !clears_offline_items("DIFF001"));
}
