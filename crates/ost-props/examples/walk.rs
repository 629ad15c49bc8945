//! Time the sync-property walk of files (a development aid for profiling).
fn main() {
    for path in std::env::args().skip(1) {
        let pst = ost_ndb::Pst::open(&path).expect("open");
        let t = std::time::Instant::now();
        let mut store = ost_props::Store::open(&pst);
        let refs = store.item_refs(true);
        let t_refs = t.elapsed();
        let n = refs
            .iter()
            .map(|r| store.read_item(r))
            .filter(|r| r.change_key.is_some())
            .count();
        println!(
            "{path}: {} items ({n} with a change key), refs {t_refs:?}, total {:?}",
            refs.len(),
            t.elapsed()
        );
    }
}
