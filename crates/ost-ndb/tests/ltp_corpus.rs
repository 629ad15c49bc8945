//! The LTP layer on the real files of the shared corpus, cross-checked with
//! values printed by the libpff oracle (`/work/shared/tools/pff-oracle`).

use std::path::PathBuf;

use ost_ndb::ltp::PropertyContext;
use ost_ndb::{Nid, NidType, Pst};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("OSTSCAN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipping: no corpus at {}", dir.display());
        None
    }
}

fn open(name: &str) -> Option<Pst<'static>> {
    let path = corpus()?.join(name);
    if !path.is_file() {
        println!("skipping: {} absent", path.display());
        return None;
    }
    Some(Pst::open(&path).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Files whose BBT is damaged: nodes may be unreadable there.
const DAMAGED: &[&str] = &["asposenet_AddingBulkMessagesWithImprovedPerformance.pst"];

fn corpus_files() -> Vec<PathBuf> {
    let Some(dir) = corpus() else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pst") | Some("ost")
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn hughbe_backup_store_and_message() {
    let Some(pst) = open("hughbe_backup.pst") else {
        return;
    };
    let store = PropertyContext::open(pst.node(Nid::MESSAGE_STORE).unwrap()).unwrap();
    let name = store.get(0x3001).unwrap().unwrap();
    assert_eq!(name.as_string().unwrap(), "Outlook Data File");

    let msg = PropertyContext::open(pst.node(Nid(2097188)).unwrap()).unwrap();
    assert_eq!(
        msg.get(0x0037).unwrap().unwrap().as_string().unwrap(),
        "\u{1}\u{1}Success"
    );
    assert_eq!(
        msg.get(0x001A).unwrap().unwrap().as_string().unwrap(),
        "IPM.Note"
    );
    assert_eq!(
        hex(msg.get(0x65E2).unwrap().unwrap().as_bytes()),
        "4ab111f7c89294409843750be6086bc4000000000529"
    );
    assert_eq!(
        hex(msg.get(0x65E3).unwrap().unwrap().as_bytes()),
        "164ab111f7c89294409843750be6086bc4000000000529"
    );
    // 2020-09-16T09:12:59.3800040Z
    let ft = msg.get(0x3008).unwrap().unwrap().as_filetime().unwrap();
    assert_eq!(ft, filetime(2020, 9, 16, 9, 12, 59, 3_800_040));
    // The oracle counts 140 entries in this message's PC.
    assert_eq!(msg.len().unwrap(), 140);
    assert!(msg.iter().all(|r| r.unwrap().2.is_ok()));
}

/// FILETIME of a UTC date and time (100 ns units since 1601).
fn filetime(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, ticks: i64) -> u64 {
    // Days from 1601-01-01 by the civil-from-days inverse.
    let (y2, m2) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days_since_1970 = era * 146097 + doe - 719468;
    let days = days_since_1970 + 134774;
    (((days * 24 + h) * 60 + mi) * 60 + s) as u64 * 10_000_000 + ticks as u64
}

#[test]
fn every_message_pc_reads() {
    for path in corpus_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let pst = Pst::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let damaged = DAMAGED.contains(&name.as_str());
        let mut n = 0;
        for e in pst.nbt_iter() {
            let e = match e {
                Ok(e) => e,
                Err(err) if damaged => {
                    println!("{name}: {err}");
                    continue;
                }
                Err(err) => panic!("{name}: NBT: {err}"),
            };
            if e.nid.nid_type() != NidType::NormalMessage {
                continue;
            }
            let node = pst.node_from_entry(&e);
            let res = PropertyContext::open(node).and_then(|pc| {
                let mut count = 0;
                for p in pc.iter() {
                    let (id, ty, v) = p?;
                    if let Err(err) = v {
                        println!("  property {id:#06x} type {ty:#06x}: {err}");
                        return Err(err);
                    }
                    count += 1;
                }
                Ok(count)
            });
            match res {
                Ok(_) => n += 1,
                Err(err) if damaged => println!("{name}: {:#x}: {err}", e.nid.0),
                Err(err) => panic!("{name}: message {:#x}: {err}", e.nid.0),
            }
        }
        println!("{name}: {n} message PCs read");
    }
}
