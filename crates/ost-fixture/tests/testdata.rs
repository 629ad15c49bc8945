//! The committed files in testdata/ are exactly what the writer produces
//! for the commands in testdata/README.md.

use std::path::Path;

use ost_fixture::manifest::to_json_lines;
use ost_fixture::{CryptMethod, FixtureBuilder, Format, Rule};

fn testdata(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_same(builder: FixtureBuilder, file: &str, manifest: &str) {
    let fixture = builder.build().unwrap();
    let expected = testdata(file);
    assert_eq!(
        fixture.bytes.len(),
        expected.len(),
        "{file}: size differs; see testdata/README.md"
    );
    assert!(
        fixture.bytes == expected,
        "{file}: bytes differ; see testdata/README.md"
    );
    let lines = to_json_lines(&fixture.manifest);
    assert!(
        lines.as_bytes() == testdata(manifest),
        "{manifest} differs; see testdata/README.md"
    );
}

#[test]
fn small_unicode_pst_is_reproducible() {
    assert_same(
        FixtureBuilder::new(Format::Unicode).messages(40).seed(1),
        "small-unicode.pst",
        "small-unicode.jsonl",
    );
}

#[test]
fn small_ost4k_is_reproducible() {
    assert_same(
        FixtureBuilder::new(Format::Ost4k).messages(40).seed(2),
        "small-ost4k.ost",
        "small-ost4k.jsonl",
    );
}

#[test]
fn sync_faults_ost_is_reproducible_and_plants_every_rule() {
    let mut b = FixtureBuilder::new(Format::Ost)
        .crypt(CryptMethod::Permute)
        .messages(60)
        .seed(3);
    for rule in Rule::ALL {
        b = b.plant(rule, 2);
    }
    let fixture = b.clone().build().unwrap();
    for rule in Rule::ALL {
        let n = fixture
            .manifest
            .iter()
            .filter(|r| r.planted == [rule.id()])
            .count();
        assert_eq!(n, 2, "{rule}");
    }
    assert_same(b, "sync-faults.ost", "sync-faults.jsonl");
}
