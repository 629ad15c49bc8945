//! Writer behaviour that does not need libpff: determinism, input checks,
//! structural damage.

use ost_fixture::ndb_writer::{compute_sig, TreeKind, DFL_BACKFILL_COMPLETE};
use ost_fixture::{damage, CryptMethod, Damage, FixtureBuilder, Format, ItemKind, Rule};
use ost_ndb::ndb::crc::crc32;
use ost_ndb::ndb::page::{ptype, PageTrailer};

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

/// The reader's view of a fixture format.
fn ndb_format(format: Format) -> ost_ndb::ndb::Format {
    match format {
        Format::Ansi => ost_ndb::ndb::Format::Ansi,
        Format::Unicode | Format::Ost => ost_ndb::ndb::Format::Unicode,
        Format::Ost4k => ost_ndb::ndb::Format::Unicode4k,
    }
}

/// Parse a page's trailer and check its type, CRC and (for map pages) that
/// its BID is its own offset.
fn check_page(file: &[u8], format: Format, ib: u64, ptype: u8) -> PageTrailer {
    let size = format.page_size();
    let page = &file[ib as usize..ib as usize + size];
    let nf = ndb_format(format);
    let t = PageTrailer::parse(page, nf).unwrap();
    assert_eq!(
        (t.ptype, t.ptype_repeat),
        (ptype, ptype),
        "{format} page at {ib:#x}"
    );
    assert_eq!(
        t.crc,
        crc32(&page[..nf.page_trailer_offset()]),
        "{format} page at {ib:#x}"
    );
    t
}

/// Free 64-byte (512-byte in 4K) slots of each AMap, read from the file.
fn amap_free_slots(file: &[u8], format: Format, amaps: &[u64]) -> Vec<u32> {
    let start = if format.is_ansi() { 4 } else { 0 };
    amaps
        .iter()
        .map(|&ib| {
            let t = check_page(file, format, ib, ptype::AMAP);
            assert_eq!(t.bid, ib);
            assert_eq!(t.sig, 0);
            let bits = &file[ib as usize + start..ib as usize + start + format.amap_bitmap_size()];
            bits.iter().map(|b| b.count_zeros()).sum()
        })
        .collect()
}

#[test]
fn density_list_reads_back_and_matches_the_amaps() {
    for format in Format::ALL {
        let f = FixtureBuilder::new(format)
            .messages(300)
            .body_bytes(4000)
            .build()
            .unwrap();
        let file = &f.bytes;
        let layout = &f.layout;
        // AMaps at every region start, up to the end of the file.
        assert_eq!(layout.amaps[0], format.first_amap());
        for (r, &ib) in layout.amaps.iter().enumerate() {
            assert_eq!(ib, format.first_amap() + r as u64 * format.amap_interval());
        }
        assert!(*layout.amaps.last().unwrap() < layout.file_size);
        let free = amap_free_slots(file, format, &layout.amaps);
        if !format.is_4k() {
            assert!(layout.amaps.len() >= 4, "{format}: want several AMaps");
            assert_eq!(layout.pmaps.len(), layout.amaps.len().div_ceil(8));
            for &ib in &layout.pmaps {
                let t = check_page(file, format, ib, ptype::PMAP);
                assert_eq!(t.bid, ib);
            }
        }
        // cbAMapFree adds up the AMaps.
        let unit = format.amap_unit();
        let total: u64 = free.iter().map(|&s| s as u64 * unit).sum();
        let cb_free = if format.is_ansi() {
            u32::from_le_bytes(file[176..180].try_into().unwrap()) as u64
        } else {
            u64::from_le_bytes(file[200..208].try_into().unwrap())
        };
        assert_eq!(cb_free, total, "{format}");

        let ib = format.dlist_offset();
        assert_eq!(layout.dlist, ib);
        let t = check_page(file, format, ib, ptype::DLIST);
        // The trailer's BID is the header's bidNextP, as Outlook writes it.
        let bid_next_p = if format.is_ansi() {
            u32::from_le_bytes(file[28..32].try_into().unwrap()) as u64
        } else {
            u64::from_le_bytes(file[32..40].try_into().unwrap())
        };
        assert_eq!(t.bid, bid_next_p, "{format}");
        assert_eq!(t.sig, compute_sig(ib, t.bid), "{format}");
        let p = &file[ib as usize..ib as usize + format.page_size()];
        let count = p[1] as usize;
        let current = u32::from_le_bytes(p[4..8].try_into().unwrap()) as usize;
        let entries: Vec<(usize, u32)> = (0..count)
            .map(|k| {
                let e = u32::from_le_bytes(p[8 + 4 * k..12 + 4 * k].try_into().unwrap());
                ((e & 0xF_FFFF) as usize, e >> 20)
            })
            .collect();
        let end = ndb_format(format).page_trailer_offset();
        assert!(
            p[8 + 4 * count..end].iter().all(|&b| b == 0),
            "{format}: padding"
        );
        if format.is_4k() {
            // Undocumented 4K entry layout: the list is left unbuilt.
            assert_eq!((p[0], count, current), (0, 0, 0));
            continue;
        }
        assert_eq!(p[0], DFL_BACKFILL_COMPLETE, "{format}");
        assert_eq!(current, layout.amaps.len() - 1, "{format}");
        assert_eq!(count, layout.amaps.len() - 1, "{format}");
        let mut want: Vec<(usize, u32)> = free[..current].iter().copied().enumerate().collect();
        want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        assert_eq!(entries, want, "{format}");
        // Every AMap below the current one is nearly full; PMap regions
        // lose 8 more slots.
        assert!(
            entries.iter().all(|e| e.1 < 3960 / 2),
            "{format}: {entries:?}"
        );
    }
}

#[test]
fn header_free_maps_are_all_ones() {
    for format in Format::ALL {
        let f = FixtureBuilder::new(format).messages(3).build().unwrap();
        let maps = if format.is_ansi() { 204..460 } else { 256..512 };
        assert!(f.bytes[maps].iter().all(|&b| b == 0xFF), "{format}");
    }
}

/// `log_body_bytes` sizes the bodies of the messages in the Sync Issues
/// log folders only; the other messages keep `body_bytes`, and Conflicts
/// (copies of messages, not logs) too.
#[test]
fn log_bodies_have_their_own_size() {
    use ost_ndb::ltp::PropertyContext;
    use ost_ndb::{Nid, Pst};
    const PR_BODY: u16 = 0x1000;
    let f = FixtureBuilder::new(Format::Unicode)
        .messages(200)
        .seed(3)
        .body_bytes(3000)
        .log_body_bytes(250)
        .build()
        .unwrap();
    let pst = Pst::from_bytes(&f.bytes).unwrap();
    let mut sizes = std::collections::BTreeMap::new();
    // The generated messages (the associated ones are folder settings).
    let messages = f.manifest.iter().filter(|m| m.kind == ItemKind::Contents);
    for m in messages {
        let pc = PropertyContext::open(pst.node(Nid(m.nid)).unwrap()).unwrap();
        let body = pc.get(PR_BODY).unwrap().expect("every message has a body");
        // UTF-16: two bytes a character.
        let chars = body.as_bytes().len() / 2;
        let log_folder = ["/Sync Issues", "/Local Failures", "/Server Failures"]
            .iter()
            .any(|end| m.folder.ends_with(end));
        assert_eq!(chars, if log_folder { 250 } else { 3000 }, "{}", m.folder);
        *sizes.entry(chars).or_insert(0) += 1;
    }
    // Both kinds were written.
    assert_eq!(sizes.len(), 2, "{sizes:?}");
}
