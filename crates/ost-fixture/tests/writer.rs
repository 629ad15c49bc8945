//! Writer behaviour that does not need libpff: determinism, input checks,
//! structural damage.

use ost_fixture::ndb_writer::TreeKind;
use ost_fixture::{damage, CryptMethod, Damage, FixtureBuilder, Format, Rule};
use ost_ndb::ndb::crc::crc32;

#[test]
fn same_arguments_give_the_same_bytes() {
    for format in Format::ALL {
        let a = FixtureBuilder::new(format)
            .messages(30)
            .seed(9)
            .build()
            .unwrap();
        let b = FixtureBuilder::new(format)
            .messages(30)
            .seed(9)
            .build()
            .unwrap();
        let c = FixtureBuilder::new(format)
            .messages(30)
            .seed(10)
            .build()
            .unwrap();
        assert!(a.bytes == b.bytes, "{format}");
        assert!(a.bytes != c.bytes, "{format}");
        assert_eq!(a.bytes.len() as u64, a.layout.file_size);
    }
}

#[test]
fn too_many_plants_is_an_error_not_a_panic() {
    let err = FixtureBuilder::new(Format::Unicode)
        .messages(3)
        .plant(Rule::Ck001, 5)
        .build();
    assert!(err.is_err());
}

#[test]
fn header_crcs_and_client_fields_follow_the_format() {
    for format in Format::ALL {
        let f = FixtureBuilder::new(format).messages(5).build().unwrap();
        let h = &f.bytes;
        assert_eq!(&h[0..4], b"!BDN");
        assert_eq!(&h[8..10], format.client_magic());
        assert_eq!(u16::from_le_bytes([h[10], h[11]]), format.version());
        assert_eq!(
            u32::from_le_bytes(h[4..8].try_into().unwrap()),
            crc32(&h[8..479])
        );
        if !format.is_ansi() {
            assert_eq!(
                u32::from_le_bytes(h[524..528].try_into().unwrap()),
                crc32(&h[8..524])
            );
            assert_eq!(
                u64::from_le_bytes(h[184..192].try_into().unwrap()),
                f.layout.file_size
            );
        }
    }
}

#[test]
fn four_k_blocks_are_compressed_only_when_unencrypted() {
    let plain = FixtureBuilder::new(Format::Ost4k)
        .messages(20)
        .build()
        .unwrap();
    assert!(plain.layout.blocks.iter().any(|b| b.cb < b.inflated));
    let permuted = FixtureBuilder::new(Format::Ost4k)
        .messages(20)
        .crypt(CryptMethod::Permute)
        .build()
        .unwrap();
    assert!(permuted.layout.blocks.iter().all(|b| b.cb == b.inflated));
    for b in &plain.layout.blocks {
        assert_eq!(b.ib % 512, 0);
    }
}

#[test]
fn damage_changes_exactly_what_it_says() {
    let f = FixtureBuilder::new(Format::Unicode)
        .messages(400)
        .build()
        .unwrap();
    let nid = f.manifest[0].nid;

    let mut bytes = f.bytes.clone();
    damage(
        &mut bytes,
        Format::Unicode,
        &f.layout,
        Damage::BadBlockCrc { nid },
    )
    .unwrap();
    assert_eq!(
        bytes.iter().zip(&f.bytes).filter(|(a, b)| a != b).count(),
        1
    );

    let mut bytes = f.bytes.clone();
    damage(
        &mut bytes,
        Format::Unicode,
        &f.layout,
        Damage::Truncate { len: 100_000 },
    )
    .unwrap();
    assert_eq!(bytes.len(), 100_000);

    let mut bytes = f.bytes.clone();
    damage(
        &mut bytes,
        Format::Unicode,
        &f.layout,
        Damage::ZeroLeafPage {
            tree: TreeKind::Nbt,
        },
    )
    .unwrap();
    let leaf = f
        .layout
        .pages
        .iter()
        .find(|p| p.tree == TreeKind::Nbt && p.level == 0)
        .unwrap();
    assert!(bytes[leaf.ib as usize..leaf.ib as usize + 512]
        .iter()
        .all(|&b| b == 0));

    let mut bytes = f.bytes.clone();
    damage(
        &mut bytes,
        Format::Unicode,
        &f.layout,
        Damage::SelfPointingRoot {
            tree: TreeKind::Bbt,
        },
    )
    .unwrap();
    let root = f
        .layout
        .pages
        .iter()
        .rev()
        .find(|p| p.tree == TreeKind::Bbt)
        .unwrap();
    let ib = root.ib as usize;
    assert_eq!(
        u64::from_le_bytes(bytes[ib + 16..ib + 24].try_into().unwrap()),
        root.ib
    );
    assert_eq!(
        u32::from_le_bytes(bytes[ib + 500..ib + 504].try_into().unwrap()),
        crc32(&bytes[ib..ib + 496])
    );

    let mut bytes = f.bytes.clone();
    damage(
        &mut bytes,
        Format::Unicode,
        &f.layout,
        Damage::BlockPastEnd { nid },
    )
    .unwrap();
    assert_ne!(bytes, f.bytes);
}
