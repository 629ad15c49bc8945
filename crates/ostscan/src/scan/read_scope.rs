//! What a scan reads: the sync metadata only. The test scans fixture
//! stores through a block source that logs every block read
//! (`Pst::log_reads`) and checks that no byte of any message's body,
//! attachments or recipient table was among them (all of those live in the
//! message's subnodes). The exception is the Sync Issues folders, whose
//! logs' bodies the Sync Issues analysis reads.

use ost_fixture::{CryptMethod, FixtureBuilder, Format, Rule, SyncPlacement};
use ost_ndb::{Bid, Nid, NidType, Pst};
use ost_props::Store;

use super::{scan_store, ScanOptions};

/// (offset, size) of every block of a node's data tree: the XBLOCKs and
/// the data blocks.
fn data_tree_blocks(pst: &Pst<'_>, bid: Bid, out: &mut Vec<(u64, u64, Nid)>, nid: Nid) {
    let f = pst.format();
    let mut block = |b: Bid| {
        let e = pst.bbt_lookup(b).expect("BBT entry of a subnode block");
        out.push((e.ib, f.block_size_for(e.cb as u64), nid));
    };
    if bid.is_null() {
        return;
    }
    if bid.is_internal() {
        block(bid);
    }
    for b in pst.data_tree(bid).expect("data tree").blocks {
        block(b);
    }
}

/// Blocks holding a body, an attachment or a recipient table of a message
/// outside the Sync Issues folders: (offset, size, message NID).
fn forbidden_blocks(bytes: &[u8]) -> (Vec<(u64, u64, Nid)>, [usize; 3]) {
    let pst = Pst::from_bytes(bytes).expect("fixture opens");
    let mut store = Store::open(&pst);
    let refs = store.item_refs(true);
    let folders = store.folders();
    let mut out = Vec::new();
    // Subnodes seen: large property values (the bodies), recipient
    // tables, attachments and attachment tables.
    let mut kinds = [0usize; 3];
    for r in refs {
        let in_sync_issues = r
            .folder()
            .and_then(|i| folders.get(i))
            .is_some_and(|f| f.path.contains("Sync Issues"));
        if in_sync_issues {
            continue;
        }
        let node = pst.node(r.nid).expect("message node");
        for sub in node.subnodes().expect("subnode tree") {
            match sub.nid.nid_type() {
                NidType::Ltp => kinds[0] += 1,
                NidType::RecipientTable => kinds[1] += 1,
                NidType::Attachment | NidType::AttachmentTable => kinds[2] += 1,
                _ => {}
            }
            data_tree_blocks(&pst, sub.bid_data, &mut out, r.nid);
            // An attachment's own subnodes (its data, an embedded message).
            for inner in pst.subnodes(sub.bid_sub).expect("attachment subnodes") {
                data_tree_blocks(&pst, inner.bid_data, &mut out, r.nid);
            }
        }
    }
    out.sort_unstable();
    (out, kinds)
}

fn check(format: Format, sync: SyncPlacement) {
    let mut builder = FixtureBuilder::new(format)
        .crypt(CryptMethod::Permute)
        .messages(400)
        .seed(17)
        // Bodies larger than a heap item: each in a subnode of its own.
        .body_bytes(6_000)
        .sync_placement(sync);
    for rule in Rule::ALL {
        builder = builder.plant(rule, 3);
    }
    let fixture = builder.build().expect("fixture");
    let (forbidden, kinds) = forbidden_blocks(&fixture.bytes);
    // The check means something only if the store has each kind.
    assert!(
        kinds.iter().all(|&n| n > 20),
        "bodies, recipient tables, attachments: {kinds:?}"
    );

    let pst = Pst::from_bytes(&fixture.bytes)
        .expect("fixture opens")
        .log_reads();
    let report = scan_store(&pst, &ScanOptions::default());
    assert!(
        !report.findings.is_empty(),
        "the planted faults are found, so the scan read the metadata"
    );
    let reads = pst.logged_reads();
    assert!(!reads.is_empty());
    for &(offset, len) in &reads {
        // The forbidden block starting at or before the end of this read.
        let i = forbidden.partition_point(|&(ib, _, _)| ib < offset + len);
        if let Some(&(ib, size, nid)) = i.checked_sub(1).and_then(|i| forbidden.get(i)) {
            assert!(
                ib + size <= offset,
                "{format:?}: read {offset}+{len} touches block {ib}+{size} of a body, \
                 attachment or recipient table of message {nid:#x}"
            );
        }
    }
}

#[test]
fn a_pst_scan_reads_no_body_attachment_or_recipient_table() {
    check(Format::Unicode, SyncPlacement::Item);
}

#[test]
fn an_ost_rows_scan_reads_no_body_attachment_or_recipient_table() {
    check(Format::Ost4k, SyncPlacement::Rows);
}
