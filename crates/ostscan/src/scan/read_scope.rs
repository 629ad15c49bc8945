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

/// How the store is read.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Reading {
    /// From memory: every block the walk reads.
    Memory,
    /// From a file out of the page cache: also every block read ahead.
    Cold,
}

/// The store the checks scan: every rule planted, bodies in subnodes.
fn store(format: Format, sync: SyncPlacement) -> Vec<u8> {
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
    builder.build().expect("fixture").bytes
}

/// Straight to the process's stderr: libtest captures eprintln!.
fn skip(what: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipping {what}: nothing was read ahead (the file stayed in the page \
         cache, or the file system has no direct reads)"
    );
}

fn check(format: Format, sync: SyncPlacement, reading: Reading) {
    let bytes = store(format, sync);
    let (forbidden, kinds) = forbidden_blocks(&bytes);
    // The check means something only if the store has each kind.
    assert!(
        kinds.iter().all(|&n| n > 20),
        "bodies, recipient tables, attachments: {kinds:?}"
    );

    let cold_file;
    let pst = match reading {
        Reading::Memory => Pst::from_bytes(&bytes).expect("fixture opens"),
        Reading::Cold => {
            cold_file = ColdFile::new(&bytes);
            Pst::open(&cold_file.path).expect("fixture opens")
        }
    }
    .log_reads();
    let report = scan_store(&pst, &ScanOptions::default());
    if reading == Reading::Cold && !pst.reading_ahead() {
        skip(&format!("the cold {format:?} scan"));
        return;
    }
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

/// The fixture written to a file of its own and dropped from the page
/// cache, so that a scan of it reads ahead; removed when dropped.
struct ColdFile {
    path: std::path::PathBuf,
}

impl ColdFile {
    fn new(bytes: &[u8]) -> ColdFile {
        use std::os::unix::io::AsRawFd;
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("ostscan-read-scope-{}-{n}.pst", std::process::id()));
        std::fs::write(&path, bytes).expect("write the fixture");
        let file = std::fs::File::open(&path).expect("open the fixture");
        file.sync_all().expect("sync the fixture");
        // SAFETY: advice on our own descriptor.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        ColdFile { path }
    }
}

impl Drop for ColdFile {
    fn drop(&mut self) {
        std::fs::remove_file(&self.path).ok();
    }
}

#[test]
fn a_pst_scan_reads_no_body_attachment_or_recipient_table() {
    check(Format::Unicode, SyncPlacement::Item, Reading::Memory);
}

#[test]
fn an_ost_rows_scan_reads_no_body_attachment_or_recipient_table() {
    check(Format::Ost4k, SyncPlacement::Rows, Reading::Memory);
}

/// On a cold file the blocks read ahead (taken by the walk or not) are
/// checked too: a read-ahead that guessed wrong would read what the walk
/// never asks for.
#[test]
fn cold_scans_read_ahead_no_body_attachment_or_recipient_table() {
    check(Format::Unicode, SyncPlacement::Item, Reading::Cold);
    check(Format::Ost4k, SyncPlacement::Rows, Reading::Cold);
}

/// A scan reads a cold file's blocks direct, which leaves them out of the
/// page cache, and its B-tree pages through it: a second scan of the file
/// finds the B-tree pages cached and the blocks not, and must read ahead
/// as much as the first. (Cached BBT leaves once stopped a PST's batches
/// from being read ahead: a second scan of a PST of small messages took
/// eight times as long as the first.)
#[test]
fn a_second_cold_scan_reads_ahead_as_much_as_the_first() {
    for (format, sync) in [
        (Format::Unicode, SyncPlacement::Item),
        (Format::Ost4k, SyncPlacement::Rows),
    ] {
        let cold_file = ColdFile::new(&store(format, sync));
        let scan = || {
            let pst = Pst::open(&cold_file.path)
                .expect("fixture opens")
                .log_reads();
            scan_store(&pst, &ScanOptions::default());
            pst.reading_ahead().then(|| pst.logged_reads().len())
        };
        let Some(first) = scan() else {
            skip(&format!("the first cold {format:?} scan"));
            continue;
        };
        let second = scan().unwrap_or(0);
        assert!(
            second * 10 >= first * 9,
            "{format:?}: the first scan read {first} blocks ahead, the second {second}"
        );
    }
}

/// The conflicts of the Sync Issues folders name items elsewhere, whose
/// records the analysis needs. On an OST those come from contents-table
/// rows: the walk lists the Sync Issues folders first and keeps the rows
/// the conflicts name as it meets them, so no contents table outside the
/// Sync Issues folders is read twice (reading the targets again afterwards
/// opened and inflated their tables a second time).
#[test]
fn an_ost_scan_reads_each_contents_table_once() {
    contents_tables_read_once(&store(Format::Ost4k, SyncPlacement::Rows));
}

/// The same on a store with folders of more rows than a batch of the
/// walk: the row-matrix blocks it lets go of between batches
/// (`TableContext::release_rows_before`) are not needed, and read, again.
#[test]
fn an_ost_scan_letting_go_of_walked_rows_reads_each_contents_table_once() {
    let bytes = FixtureBuilder::new(Format::Ost4k)
        .crypt(CryptMethod::Permute)
        .messages(4000)
        .seed(23)
        .body_bytes(40)
        .sync_placement(SyncPlacement::Rows)
        .plant(Rule::Sync002, 20)
        .build()
        .expect("fixture")
        .bytes;
    let pst = Pst::from_bytes(&bytes).expect("fixture opens");
    let large = pst
        .nbt_iter()
        .filter_map(Result::ok)
        .filter(|e| e.nid.nid_type() == NidType::ContentsTable)
        .filter_map(|e| ost_ndb::ltp::TableContext::open(pst.node_from_entry(&e)).ok())
        .filter(|tc| tc.row_count().unwrap_or(0) > 1024 && tc.row_matrix_blocks() > Some(2))
        .count();
    assert!(large > 0, "a table of more rows than a batch of the walk");
    contents_tables_read_once(&bytes);
}

fn contents_tables_read_once(bytes: &[u8]) {
    let pst = Pst::from_bytes(bytes).expect("fixture opens").log_reads();
    let report = scan_store(&pst, &ScanOptions::default());
    let conflicts = report
        .sync_issues
        .conflicts
        .iter()
        .filter(|c| c.conflicts_with.is_some())
        .count();
    assert!(conflicts > 0, "the fixture's conflicts name their targets");
    let logged = pst.logged_reads();
    // The tables' blocks, found through a reader of its own (not logged):
    // their heaps' and their row matrices' (a subnode, in a large table).
    let tables = Pst::from_bytes(bytes).expect("fixture opens");
    let mut table_blocks = std::collections::HashMap::new();
    for entry in tables.nbt_iter().filter_map(Result::ok) {
        if entry.nid.nid_type() == NidType::ContentsTable {
            let mut blocks = Vec::new();
            data_tree_blocks(&tables, entry.bid_data, &mut blocks, entry.nid);
            for sub in tables.subnodes(entry.bid_sub).expect("table subnodes") {
                data_tree_blocks(&tables, sub.bid_data, &mut blocks, entry.nid);
            }
            for (offset, _, nid) in blocks {
                table_blocks.insert(offset, nid);
            }
        }
    }
    let mut reads = std::collections::HashMap::new();
    for (offset, _) in logged {
        if let Some(&nid) = table_blocks.get(&offset) {
            *reads.entry((nid, offset)).or_insert(0u32) += 1;
        }
    }
    assert!(!reads.is_empty());
    let twice: Vec<_> = reads.iter().filter(|(_, &n)| n > 1).collect();

    assert!(
        twice.is_empty(),
        "contents-table blocks read more than once: {twice:?}"
    );
}
