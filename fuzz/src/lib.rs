//! What the fuzz targets exercise, shared between them. Every function
//! reads as much as a reader can reach from its input and throws the
//! results away: the targets only look for panics, hangs and memory blowups.

use std::borrow::Cow;

use ost_ndb::ltp::tc::TableContext;
use ost_ndb::ltp::{Bth, Heap, NameMap, PropertyContext};
use ost_ndb::{Format, Pst, ReadOptions, Validation};
use ost_props::{Pcl, Store, Xid};

/// The format a selector byte names.
pub fn format_of(b: u8) -> Format {
    match b % 3 {
        0 => Format::Ansi,
        1 => Format::Unicode,
        _ => Format::Unicode4k,
    }
}

/// A whole-file input: its first byte names the reading options
/// ([`options_of`]), the rest is the file, handed to `run` when it opens.
pub fn with_store(data: &[u8], run: impl FnOnce(&Pst<'_>)) {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    if let Ok(pst) = Pst::from_bytes_with(file, options_of(sel)) {
        run(&pst);
    }
}

/// The reading options a selector byte names (lenient unless bit 0).
pub fn options_of(b: u8) -> ReadOptions {
    ReadOptions {
        validation: if b & 1 == 1 {
            Validation::Strict
        } else {
            Validation::Lenient
        },
        verify_block_crc: b & 2 == 0,
        ..ReadOptions::default()
    }
}

/// The NDB layer of a whole file: both B-trees, every block, every node's
/// data tree and subnode tree, the statistics pass.
pub fn ndb_walk(pst: &Pst<'_>) {
    let _ = pst.stats(true);
    for e in pst.bbt_iter().take(20_000).flatten() {
        let _ = pst.block_data(e.bid);
    }
    for e in pst.nbt_iter().take(20_000).flatten() {
        let Ok(node) = pst.node(e.nid) else { continue };
        let _ = node.data_blocks();
        let _ = node.read_data();
        if let Ok(subs) = node.subnodes() {
            for s in subs.iter().take(256) {
                let sub = node.subnode_from_entry(s);
                let _ = sub.read_data();
                let _ = sub.subnodes();
            }
        }
    }
    let _ = pst.issues();
}

/// The LTP layer over every node of a file: each node opened as a PC and as
/// a TC, and the name-to-id map.
pub fn ltp_walk(pst: &Pst<'_>) {
    for e in pst.nbt_iter().take(5_000).flatten() {
        let Ok(node) = pst.node(e.nid) else { continue };
        if let Ok(pc) = PropertyContext::open(node) {
            pc_walk(&pc);
        }
        if let Ok(tc) = TableContext::open(node) {
            tc_walk(&tc);
        }
    }
    if let Ok(map) = NameMap::open(pst) {
        for r in map.iter().take(10_000) {
            let _ = r;
        }
        for id in [0x8000u16, 0x8001, 0x8100, 0xFFFF] {
            let _ = map.resolve(id);
        }
    }
}

/// Every property of a PC, decoded.
pub fn pc_walk(pc: &PropertyContext<'_>) {
    for r in pc.iter().take(10_000) {
        let _ = r;
    }
    let _ = pc.len();
    for id in [0x0037u16, 0x001A, 0x65E2, 0x65E3, 0x3008, 0x3001] {
        let _ = pc.get(id);
    }
}

/// Every row and cell of a TC.
pub fn tc_walk(tc: &TableContext<'_>) {
    let _ = tc.row_index();
    let _ = tc.row_count();
    if let Ok(rows) = tc.rows() {
        for row in rows.take(5_000).flatten() {
            for (_c, v) in row.values() {
                let _ = v;
            }
        }
    }
    let _ = tc.row_by_id(0x200024);
}

/// Every BTH record of a heap whose user root is a BTH.
pub fn bth_walk(heap: &Heap<'_>) {
    if let Ok(bth) = Bth::open(heap, heap.user_root()) {
        for r in bth.iter().take(10_000) {
            let _ = r;
        }
        let _ = bth.count();
        let _ = bth.get(0x65E2);
    }
}

/// The messaging walk and the rules, as `ostscan items --all` / `scan` do
/// it: contents-table rows read as a property source where they carry the
/// sync columns (real OSTs), every item's own properties too (as
/// `--verify-rows`), then a few items through `read_item` (which finds an
/// item's row in its table itself).
pub fn store_walk(pst: &Pst<'_>) {
    let mut store = Store::open(pst);
    let namespaces = store.namespaces().clone();
    for rec in store
        .records(true, &ost_props::RowPolicy::EVERYTHING)
        .iter()
        .take(20_000)
    {
        let props = ostscan::SyncProps {
            change_key: rec.change_key.as_deref(),
            pcl: rec.pcl.as_deref(),
        };
        let mut findings = ostscan::check(&props);
        ostscan::rules::check_local_change(&props, &namespaces, &mut findings);
    }
    for r in store.item_refs(true).iter().take(64) {
        let _ = store.read_item(r);
    }
    let _ = store.errors();
}

/// Split `data` into length-prefixed chunks (u16 LE length, then bytes).
pub fn chunks(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < 64 {
        let n = u16::from_le_bytes([data[0], data[1]]) as usize;
        data = &data[2..];
        let n = n.min(data.len());
        out.push(&data[..n]);
        data = &data[n..];
    }
    out
}

/// The LTP target's input: format byte, then chunks; the heap's blocks up
/// to the first empty chunk, the row matrix's blocks after it.
pub fn ltp_input(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let format = format_of(sel);
    let all = chunks(rest);
    let split = all.iter().position(|c| c.is_empty()).unwrap_or(all.len());
    let heap_blocks: Vec<Cow<'_, [u8]>> = all[..split].iter().map(|c| Cow::Borrowed(*c)).collect();
    let row_blocks: Vec<Cow<'_, [u8]>> = all
        .get(split + 1..)
        .unwrap_or(&[])
        .iter()
        .map(|c| Cow::Borrowed(*c))
        .collect();
    if let Ok(heap) = Heap::from_blocks(format, heap_blocks.clone()) {
        for i in 0..heap.page_count().min(16) {
            let _ = heap.item_count(i);
        }
        bth_walk(&heap);
        for hid in [heap.user_root(), 0x20, 0x40, 0x60, 0x10020] {
            let _ = heap.get(hid);
        }
    }
    if let Ok(heap) = Heap::from_blocks(format, heap_blocks.clone()) {
        if let Ok(pc) = PropertyContext::from_heap(heap) {
            pc_walk(&pc);
            if let Ok(map) = NameMap::from_pc(&pc) {
                for r in map.iter().take(10_000) {
                    let _ = r;
                }
            }
        }
    }
    if let Ok(heap) = Heap::from_blocks(format, heap_blocks) {
        if let Ok(tc) = TableContext::from_heap(heap, row_blocks) {
            tc_walk(&tc);
        }
    }
}

/// XID and PCL decoding, comparison and the rules over two values cut
/// from `data` (first byte: where to cut).
pub fn xid_pcl_input(data: &[u8]) {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (cut as usize).min(rest.len());
    let (a, b) = rest.split_at(cut);
    for v in [a, b, rest] {
        if let Ok(x) = Xid::parse(v) {
            let _ = x.counter();
            let _ = x.to_vec();
            let _ = format!("{}", x.local_id_hex());
        }
        if let Ok(p) = Pcl::parse(v) {
            let _ = p.is_sorted();
            let _ = p.first_unsorted();
            let _ = p.duplicate_namespaces();
            let _ = p.to_vec();
            for e in p.entries() {
                let _ = e;
            }
        }
    }
    if let (Ok(x), Ok(p)) = (Xid::parse(a), Pcl::parse(b)) {
        let _ = ost_props::pcl_includes_change_key(&p, &x);
        let _ = ost_props::compare(&p, &x);
    }
    if let (Ok(p), Ok(q)) = (Pcl::parse(a), Pcl::parse(b)) {
        let _ = ost_props::compare(&p, &q);
    }
    for (ck, pcl) in [(Some(a), Some(b)), (None, Some(rest)), (Some(rest), None)] {
        let _ = ostscan::check(&ostscan::SyncProps {
            change_key: ck,
            pcl,
        });
    }
}

/// A log's PR_RTF_COMPRESSED value (`data`) decompressed within the
/// scan's caps, its RTF turned into text and every line parsed as
/// `scan` parses a log; `data` is also read as RTF itself.
pub fn rtf_log_input(data: &[u8]) {
    use ostscan::sync_issues::log_text::{
        count_line, line_codes, step_folder, time_stamp, LogText, Resolution,
    };
    let mut texts = vec![LogText::from_rtf(data, false, 8_000)];
    if let Ok(d) = ost_props::rtf_compressed::decompress(data, 64 * 1024) {
        for issue in &d.issues {
            let _ = issue.to_string();
        }
        texts.push(LogText::from_rtf(&d.rtf, false, 8_000));
    }
    for text in &texts {
        let mut resolution = Resolution::default();
        for line in text.text.lines().take(5_000) {
            let _ = line_codes(line);
            let _ = step_folder(line);
            let _ = count_line(line);
            let _ = time_stamp(line);
            resolution.line(line);
        }
        let _ = resolution.finish();
    }
}

/// The whole scan of a store, `scan --verify-rows --log-text` (every rule,
/// the Sync Issues analysis, SYNC010), then its report written as NDJSON and
/// as text.
pub fn scan(pst: &Pst<'_>) {
    let options = ostscan::scan::ScanOptions {
        hash: false,
        verify_rows: true,
        log_text: true,
    };
    let scan = ostscan::scan::scan_opened(std::path::Path::new("fuzz.ost"), pst, &options);
    let _ = ostscan::report::file_records(&scan);
    let _ = ostscan::report::write_text(&mut std::io::sink(), &scan);
}

/// The store the `reconcile` and `diff` targets hold their input against:
/// `fuzz/reference/rows.ost` when the seed generator has written it (an
/// OST in the layout of real ones: sync metadata in the rows, a replica
/// map, local and server namespaces), else the bundled example
/// `testdata/sync-faults.ost`.
pub fn reference() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(REFERENCE);
        match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!(
                    "{}: {e}; using testdata/sync-faults.ost (run the seed generator)",
                    path.display()
                );
                include_bytes!("../../testdata/sync-faults.ost").to_vec()
            }
        }
    })
}

/// Where the seed generator writes the reference store, below `fuzz/`.
pub const REFERENCE: &str = "reference/rows.ost";

/// A server listing (`reconcile --server`) against the reference store:
/// the first byte names the format (detected, Graph or normalized) and
/// whether the items of one side only are listed; the rest is the listing.
/// The listing is framed, parsed and reconciled item by item, and the
/// report serialized.
pub fn reconcile_input(data: &[u8]) {
    use ostscan::reconcile::listing::{read_listing, ListingFormat};
    let Some((&sel, listing)) = data.split_first() else {
        return;
    };
    let format = match sel % 3 {
        0 => None,
        1 => Some(ListingFormat::Graph),
        _ => Some(ListingFormat::Normalized),
    };
    let Ok(listing) = read_listing(listing, format) else {
        return;
    };
    let Ok(pst) = Pst::from_bytes(reference()) else {
        return;
    };
    let snap = ostscan::diff::snapshot(&pst);
    let options = ostscan::reconcile::Options {
        list_all: sel & 4 != 0,
    };
    let path = std::path::Path::new;
    if let Ok(report) = ostscan::reconcile::reconcile_opened(
        path("fuzz.ost"),
        &pst,
        snap,
        path("listing.json"),
        listing,
        options,
    ) {
        let _ = serde_json::to_vec(&report);
    }
}

/// `diff` of a store with the reference store, bodies compared, in the
/// direction bit 2 of the selector byte names; the report serialized.
pub fn diff(pst: &Pst<'_>, sel: u8) {
    let Ok(reference) = Pst::from_bytes(reference()) else {
        return;
    };
    let (a, b) = (std::path::Path::new("a.ost"), std::path::Path::new("b.ost"));
    let report = if sel & 4 == 0 {
        ostscan::diff::diff_opened(a, &reference, b, pst)
    } else {
        ostscan::diff::diff_opened(a, pst, b, &reference)
    };
    let _ = serde_json::to_vec(&report);
}
