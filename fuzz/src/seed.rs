//! Write the seed corpora of every fuzz target into fuzz/corpus/<target>/,
//! from ost-fixture files of every format and encoding plus testdata/.
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --features seed --bin seed
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use ost_fixture::{CryptMethod, FixtureBuilder, Format, TreeKind};
use ost_ndb::Pst;

fn sel_of(f: Format) -> u8 {
    match f {
        Format::Ansi => 0,
        Format::Ost4k => 2,
        _ => 1,
    }
}

fn chunk(out: &mut Vec<u8>, c: &[u8]) {
    let n = c.len().min(u16::MAX as usize);
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&c[..n]);
}

struct Corpus {
    root: PathBuf,
    count: usize,
}

impl Corpus {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join(name), bytes).expect("write seed");
        self.count += 1;
    }

    /// Seeds for every target from one file.
    fn file(&mut self, tag: &str, sel: u8, bytes: &[u8]) {
        let mut with_sel = vec![0u8];
        with_sel.extend_from_slice(bytes);
        self.put("file", tag, &with_sel);
        self.put("walk", tag, &with_sel);
        self.put("scan", tag, &with_sel);
        self.put("diff", tag, &with_sel);
        self.put("header", tag, &bytes[..bytes.len().min(4096)]);
        let Ok(pst) = Pst::from_bytes(bytes) else {
            return;
        };
        // One LTP seed per node: its decoded data blocks, then (after an
        // empty chunk) the blocks of its first subnode (a TC's row matrix).
        for e in pst.nbt_iter().flatten() {
            let Ok(node) = pst.node(e.nid) else { continue };
            let Ok(tree) = node.data_blocks() else {
                continue;
            };
            let mut input = vec![sel];
            for b in &tree.blocks {
                if let Ok(d) = node.block(*b) {
                    chunk(&mut input, &d);
                }
            }
            if let Ok(subs) = node.subnodes() {
                if let Some(s) = subs.first() {
                    let sub = node.subnode_from_entry(s);
                    if let Ok(t) = sub.data_blocks() {
                        chunk(&mut input, &[]);
                        for b in &t.blocks {
                            if let Ok(d) = sub.block(*b) {
                                chunk(&mut input, &d);
                            }
                        }
                    }
                }
            }
            if input.len() > 3 {
                self.put("ltp", &format!("{tag}-nid{:x}", e.nid.0), &input);
            }
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut c = Corpus { root, count: 0 };
    for format in Format::ALL {
        for (ci, crypt) in [CryptMethod::None, CryptMethod::Permute, CryptMethod::Cyclic]
            .into_iter()
            .enumerate()
        {
            let fx = FixtureBuilder::new(format)
                .crypt(crypt)
                .messages(6)
                .body_bytes(40)
                .seed(11 + ci as u64)
                .build()
                .expect("fixture");
            let tag = format!("{}-{ci}", format.name());
            let sel = sel_of(format);
            c.file(&tag, sel, &fx.bytes);
            let page = format.page_size();
            for (i, p) in fx.layout.pages.iter().enumerate() {
                let tree_bit = if p.tree == TreeKind::Bbt { 0x80 } else { 0 };
                let mut input = vec![sel | tree_bit];
                input.extend_from_slice(&fx.bytes[p.ib as usize..p.ib as usize + page]);
                c.put("bt_page", &format!("{tag}-page{i}"), &input);
            }
            for (i, r) in fx.manifest.iter().enumerate().take(4) {
                let unhex = |s: &Option<String>| -> Vec<u8> {
                    let s = s.as_deref().unwrap_or("");
                    (0..s.len() / 2)
                        .map(|k| u8::from_str_radix(&s[2 * k..2 * k + 2], 16).unwrap_or(0))
                        .collect()
                };
                let ck = unhex(&r.change_key);
                let mut input = vec![ck.len() as u8];
                input.extend_from_slice(&ck);
                input.extend_from_slice(&unhex(&r.pcl));
                c.put("xid_pcl", &format!("{tag}-{i}"), &input);
            }
        }
    }
    // Planted sync faults: malformed change keys and PCLs.
    let fx = FixtureBuilder::new(Format::Ost)
        .messages(10)
        .plant(ost_fixture::Rule::Ck002, 1)
        .plant(ost_fixture::Rule::Pcl002, 1)
        .plant(ost_fixture::Rule::Pcl003, 1)
        .plant(ost_fixture::Rule::Pcl004, 1)
        .plant(ost_fixture::Rule::Pcl005, 1)
        .plant(ost_fixture::Rule::Sync002, 1)
        .build()
        .expect("fixture");
    c.file("planted", 1, &fx.bytes);
    // testdata/ as it is (the larger files only for the file-level targets).
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    if let Ok(dir) = fs::read_dir(&testdata) {
        for e in dir.flatten() {
            let p = e.path();
            let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
            if ext == "pst" || ext == "ost" {
                let bytes = fs::read(&p).expect("read testdata");
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                let sel = if bytes.get(10) == Some(&36) { 2 } else { 1 };
                c.file(&name, sel, &bytes);
            }
        }
    }
    // The real-OST layout: sync properties only in contents-table rows,
    // MIDs, a replica map, local and server namespaces (every format that
    // has it and every encoding).
    for (format, crypt) in [
        (Format::Ost, CryptMethod::Permute),
        (Format::Ost4k, CryptMethod::None),
        (Format::Ost4k, CryptMethod::Cyclic),
    ] {
        let mut builder = FixtureBuilder::new(format)
            .crypt(crypt)
            .messages(12)
            .body_bytes(40)
            .seed(21)
            .sync_placement(ost_fixture::SyncPlacement::Rows)
            .row_gaps(1);
        for rule in ost_fixture::Rule::OST_ROWS {
            builder = builder.plant(rule, 1);
        }
        let fx = builder.build().expect("fixture");
        c.file(
            &format!("rows-{}-{crypt:?}", format.name()),
            sel_of(format),
            &fx.bytes,
        );
    }
    // The reference store of the `reconcile` and `diff` targets, and
    // listings of it in both forms: the server's own values, then with the
    // counters changed as each of reconcile's rules needs them.
    reference(&mut c);
    // The two real Outlook OSTs of the shared corpus (never committed; the
    // seeds are written under fuzz/corpus, which is gitignored): their
    // 4K table contexts and replica maps are the input the rows walk
    // meets in the field.
    let corpus = std::env::var_os("OSTSCAN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    for name in [
        "pstextractor_outlookcom_test.ost",
        "asposenet_SampleOstFile.ost",
    ] {
        match fs::read(corpus.join(name)) {
            Ok(bytes) => {
                let sel = if bytes.get(10) == Some(&36) { 2 } else { 1 };
                c.file(name, sel, &bytes);
            }
            Err(e) => println!("not seeding {name}: {e}"),
        }
    }
    // Sync Issues logs: Outlook's RTF, compressed and stored, red lines
    // and codes in them.
    use ost_fixture::sync_log::{compress_rtf, outlook_log_rtf, LogLine, RtfForm};
    let lines = [
        (
            "11:02:10 Synchronizing local changes in folder 'Projects'",
            false,
        ),
        ("11:02:11 \t   3 item(s) updated in online folder", false),
        ("11:02:11 \t\t [0-130]", true),
        ("11:02:12 Done", false),
        ("11:02:40 \t0X80190194", true),
        (
            "1:55:22 Compare (conflict) named property: 0x82180003",
            false,
        ),
        ("1:55:22 Local: {I4:4}", false),
    ]
    .map(|(text, error)| LogLine { text, error });
    let rtf = outlook_log_rtf(&lines);
    c.put("rtf_log", "lzfu", &compress_rtf(&rtf, RtfForm::Lzfu));
    c.put("rtf_log", "mela", &compress_rtf(&rtf, RtfForm::Mela));
    c.put("rtf_log", "rtf", rtf.as_bytes());
    println!("{} seeds in {}", c.count, c.root.display());
}

/// Writes `fuzz/reference/rows.ost` (see `ostscan_fuzz::reference`), and
/// seeds of the `reconcile` target: listings of its items.
fn reference(c: &mut Corpus) {
    use ostscan::paths::base64_encode;
    let fx = FixtureBuilder::new(Format::Ost4k)
        .messages(16)
        .body_bytes(40)
        .seed(31)
        .sync_placement(ost_fixture::SyncPlacement::Rows)
        .plant(ost_fixture::Rule::Sync004, 1)
        .plant(ost_fixture::Rule::Sync005, 1)
        .build()
        .expect("fixture");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(ostscan_fuzz::REFERENCE);
    fs::create_dir_all(path.parent().unwrap()).expect("mkdir");
    fs::write(&path, &fx.bytes).expect("write the reference store");
    let unhex = |s: &str| -> Vec<u8> {
        (0..s.len() / 2)
            .map(|k| u8::from_str_radix(&s[2 * k..2 * k + 2], 16).unwrap_or(0))
            .collect()
    };
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let json_string = |s: &str| serde_json::to_string(s).unwrap_or_default();
    // Each item's change key and PCL, as the server has them: unchanged,
    // or with the last byte of the change key's counter moved down or up.
    let versions = |bump: i16| -> Vec<(String, Vec<u8>, Vec<u8>, &str)> {
        fx.manifest
            .iter()
            .filter_map(|r| {
                let key = r.source_key.as_deref()?;
                let mut ck = unhex(r.row_change_key.as_deref().or(r.change_key.as_deref())?);
                let pcl = unhex(r.row_pcl.as_deref().or(r.pcl.as_deref())?);
                if let Some(last) = ck.last_mut() {
                    *last = (*last as i16 + bump).clamp(0, 255) as u8;
                }
                Some((key.to_string(), ck, pcl, r.subject.as_str()))
            })
            .collect()
    };
    for (name, bump) in [("same", 0), ("older", -1), ("newer", 1)] {
        let mut normalized = String::new();
        for (key, ck, pcl, subject) in versions(bump) {
            normalized += &format!(
                "{{\"source_key\":\"{key}\",\"change_key\":\"{}\",\"pcl\":\"{}\",\"subject\":{},\"last_modified\":\"2024-01-02T03:04:05Z\"}}\n",
                hex(&ck),
                hex(&pcl),
                json_string(subject)
            );
        }
        c.put(
            "reconcile",
            &format!("normalized-{name}"),
            &[&[5u8][..], normalized.as_bytes()].concat(),
        );
        let messages: Vec<String> = versions(bump)
            .into_iter()
            .enumerate()
            .map(|(n, (key, ck, pcl, subject))| {
                let mut ews = 9u32.to_le_bytes().to_vec();
                ews.extend((ck.len() as u32).to_le_bytes());
                ews.extend(&ck);
                format!(
                    "{{\"id\":\"AAMk-{n}\",\"subject\":{},\"changeKey\":\"{}\",\"singleValueExtendedProperties\":[{{\"id\":\"Binary 0x65e0\",\"value\":\"{}\"}},{{\"id\":\"Binary 0x65e3\",\"value\":\"{}\"}}]}}",
                    json_string(subject),
                    base64_encode(&ews),
                    base64_encode(&unhex(&key)),
                    base64_encode(&pcl)
                )
            })
            .collect();
        let graph = format!("{{\"value\":[\n{}\n]}}\n", messages.join(",\n"));
        c.put(
            "reconcile",
            &format!("graph-{name}"),
            &[&[4u8][..], graph.as_bytes()].concat(),
        );
    }
}
