//! Write a healthy fixture and one damaged copy per kind of structural
//! damage, for trying readers on them (see crates/ost-fixture/README.md for
//! how libpff takes each).
//!
//! `cargo run -p ost-fixture --example damage -- OUTDIR [FORMAT]`

use std::path::PathBuf;

use ost_fixture::{damage, Damage, FixtureBuilder, Format, TreeKind};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: damage OUTDIR [FORMAT]")?);
    let format: Format = args.next().as_deref().unwrap_or("unicode").parse()?;
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let f = FixtureBuilder::new(format)
        .messages(400)
        .seed(5)
        .build()
        .map_err(|e| e.to_string())?;
    // A message in the middle of the walk, so that damage to it shows as
    // one item lost, not as a whole folder.
    let nid = f.manifest[f.manifest.len() / 2].nid;
    let cases = [
        ("healthy", None),
        ("bad-block-crc", Some(Damage::BadBlockCrc { nid })),
        ("bad-header-crc", Some(Damage::BadHeaderCrc)),
        (
            "truncate-half",
            Some(Damage::Truncate {
                len: f.layout.file_size / 2,
            }),
        ),
        (
            "zero-nbt-leaf",
            Some(Damage::ZeroLeafPage {
                tree: TreeKind::Nbt,
            }),
        ),
        (
            "zero-bbt-leaf",
            Some(Damage::ZeroLeafPage {
                tree: TreeKind::Bbt,
            }),
        ),
        (
            "self-pointing-nbt-root",
            Some(Damage::SelfPointingRoot {
                tree: TreeKind::Nbt,
            }),
        ),
        (
            "self-pointing-bbt-root",
            Some(Damage::SelfPointingRoot {
                tree: TreeKind::Bbt,
            }),
        ),
        ("block-past-end", Some(Damage::BlockPastEnd { nid })),
    ];
    for (name, d) in cases {
        let mut bytes = f.bytes.clone();
        if let Some(d) = d {
            damage(&mut bytes, format, &f.layout, d)?;
        }
        let path = dir.join(format!("{}-{name}.pst", format.name()));
        std::fs::write(&path, &bytes).map_err(|e| e.to_string())?;
        println!("{}", path.display());
    }
    println!("damaged message nid: {nid} ({} messages)", f.manifest.len());
    Ok(())
}
