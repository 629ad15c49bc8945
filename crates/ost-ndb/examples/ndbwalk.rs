//! Walk a file's NBT and BBT and print counts (a development aid).
fn main() {
    for path in std::env::args().skip(1) {
        match ost_ndb::Pst::open(&path) {
            Ok(pst) => {
                let s = pst.stats(true);
                println!(
                    "{path}: {} {} crc_ok={} nodes={} blocks={} {:?} problems={}",
                    pst.header().client.name(),
                    pst.format().name(),
                    pst.header().crc_ok(),
                    s.nodes,
                    s.blocks,
                    s.blocks_by_kind,
                    s.problems.len()
                );
                for p in s.problems.iter().take(3) {
                    println!("   {p}");
                }
            }
            Err(e) => println!("{path}: ERROR {e}"),
        }
    }
}
