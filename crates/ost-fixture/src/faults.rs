//! Fault planting: stale or malformed sync metadata on chosen messages
//! (by ostscan rule id), and structural damage to a written file.

use std::fmt;
use std::str::FromStr;

use ost_ndb::ndb::crc::crc32;

use crate::format::Format;
use crate::ndb_writer::{Layout, TreeKind};

/// A sync-metadata rule whose violation can be planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Change key missing while a PCL exists.
    Ck001,
    /// Change key not a valid XID.
    Ck002,
    /// PCL missing while a change key exists.
    Pcl001,
    /// PCL malformed.
    Pcl002,
    /// One namespace GUID twice in the PCL.
    Pcl003,
    /// PCL not sorted by GUID.
    Pcl004,
    /// PCL entry with the change key's GUID but a different LocalId length.
    Pcl005,
    /// Change key's namespace absent from the PCL.
    Sync001,
    /// PCL holds a higher counter than the change key for its namespace.
    Sync002,
    /// PCL's counter for the change key's namespace is lower than the change key's.
    Sync003,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 10] = [
        Rule::Ck001,
        Rule::Ck002,
        Rule::Pcl001,
        Rule::Pcl002,
        Rule::Pcl003,
        Rule::Pcl004,
        Rule::Pcl005,
        Rule::Sync001,
        Rule::Sync002,
        Rule::Sync003,
    ];

    /// The rule id, e.g. "SYNC002".
    pub fn id(self) -> &'static str {
        match self {
            Rule::Ck001 => "CK001",
            Rule::Ck002 => "CK002",
            Rule::Pcl001 => "PCL001",
            Rule::Pcl002 => "PCL002",
            Rule::Pcl003 => "PCL003",
            Rule::Pcl004 => "PCL004",
            Rule::Pcl005 => "PCL005",
            Rule::Sync001 => "SYNC001",
            Rule::Sync002 => "SYNC002",
            Rule::Sync003 => "SYNC003",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Rule {
    type Err = String;
    fn from_str(s: &str) -> Result<Rule, String> {
        Rule::ALL
            .into_iter()
            .find(|r| r.id().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown rule {s:?}"))
    }
}

/// An XID: namespace GUID + big-endian LocalId of `len` bytes.
pub fn xid(guid: &[u8; 16], local_id: u64, len: usize) -> Vec<u8> {
    assert!((1..=8).contains(&len));
    let mut x = guid.to_vec();
    x.extend_from_slice(&local_id.to_be_bytes()[8 - len..]);
    x
}

/// A PCL from XIDs, in the order given (SizedXid: size byte + XID).
pub fn pcl_unsorted(xids: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for x in xids {
        out.push(x.len() as u8);
        out.extend_from_slice(x);
    }
    out
}

/// A well-formed PCL: XIDs sorted by GUID.
pub fn pcl(xids: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = xids.to_vec();
    sorted.sort_by(|a, b| a[..16].cmp(&b[..16]));
    pcl_unsorted(&sorted)
}

/// The sync metadata of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncMeta {
    /// PR_CHANGE_KEY.
    pub change_key: Option<Vec<u8>>,
    /// PR_PREDECESSOR_CHANGE_LIST.
    pub pcl: Option<Vec<u8>>,
}

/// Consistent metadata: the change key is `local` (4-byte LocalId) in
/// `namespace`, and the PCL holds exactly that XID plus `other`'s XID
/// (a server change number, 6-byte LocalId).
pub fn healthy(namespace: &[u8; 16], local: u64, other: &[u8; 16], other_local: u64) -> SyncMeta {
    let ck = xid(namespace, local, 4);
    let list = pcl(&[ck.clone(), xid(other, other_local, 6)]);
    SyncMeta {
        change_key: Some(ck),
        pcl: Some(list),
    }
}

/// Metadata that violates exactly `rule` (and keeps the rest as healthy as
/// the rule allows). `local` must be at least 2.
pub fn planted(
    rule: Rule,
    namespace: &[u8; 16],
    local: u64,
    other: &[u8; 16],
    other_local: u64,
) -> SyncMeta {
    assert!(local >= 2);
    assert!(namespace != other);
    let ck = xid(namespace, local, 4);
    let theirs = xid(other, other_local, 6);
    let ok = healthy(namespace, local, other, other_local);
    match rule {
        Rule::Ck001 => SyncMeta {
            change_key: None,
            pcl: ok.pcl,
        },
        // 12 bytes: shorter than a GUID, so no XID at all.
        Rule::Ck002 => SyncMeta {
            change_key: Some(ck[4..16].to_vec()),
            pcl: ok.pcl,
        },
        Rule::Pcl001 => SyncMeta {
            change_key: Some(ck),
            pcl: None,
        },
        Rule::Pcl002 => {
            // the last SizedXid claims 48 bytes but only 3 follow
            let mut p = ok.pcl.expect("pcl");
            p.extend_from_slice(&[48, 1, 2, 3]);
            SyncMeta {
                change_key: Some(ck),
                pcl: Some(p),
            }
        }
        Rule::Pcl003 => SyncMeta {
            change_key: Some(ck.clone()),
            pcl: Some(pcl(&[ck, theirs, xid(other, other_local + 1, 6)])),
        },
        Rule::Pcl004 => {
            let mut xs = [ck.clone(), theirs];
            xs.sort_by(|a, b| b[..16].cmp(&a[..16]));
            SyncMeta {
                change_key: Some(ck),
                pcl: Some(pcl_unsorted(&xs)),
            }
        }
        Rule::Pcl005 => SyncMeta {
            change_key: Some(ck),
            pcl: Some(pcl(&[xid(namespace, local, 6), theirs])),
        },
        Rule::Sync001 => SyncMeta {
            change_key: Some(ck),
            pcl: Some(pcl(&[theirs])),
        },
        Rule::Sync002 => SyncMeta {
            change_key: Some(ck),
            pcl: Some(pcl(&[xid(namespace, local + 3, 4), theirs])),
        },
        Rule::Sync003 => SyncMeta {
            change_key: Some(ck),
            pcl: Some(pcl(&[xid(namespace, local - 1, 4), theirs])),
        },
    }
}

/// Structural damage to a written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// Flip the stored CRC of the data block of node `nid`.
    BadBlockCrc {
        /// Node whose data block is damaged.
        nid: u32,
    },
    /// Flip the header's dwCRCPartial.
    BadHeaderCrc,
    /// Cut the file to `len` bytes.
    Truncate {
        /// New length.
        len: u64,
    },
    /// Zero the first leaf page of a B-tree.
    ZeroLeafPage {
        /// Which B-tree.
        tree: TreeKind,
    },
    /// Make the root page of a B-tree point at itself (needs a branch root;
    /// with a single-page tree, the header's root is pointed at an AMap).
    SelfPointingRoot {
        /// Which B-tree.
        tree: TreeKind,
    },
    /// Point the BBT entry of node `nid`'s data block past the end of the file.
    BlockPastEnd {
        /// Node whose data block is moved.
        nid: u32,
    },
}

/// Apply `damage` to the bytes of a file written with `layout`.
pub fn damage(
    file: &mut Vec<u8>,
    format: Format,
    layout: &Layout,
    damage: Damage,
) -> Result<(), String> {
    let page = format.page_size();
    let trailer = page - format.page_trailer_size();
    let fix_page_crc = |file: &mut Vec<u8>, ib: usize| {
        let crc = crc32(&file[ib..ib + trailer]);
        let off = if format.is_ansi() {
            ib + trailer + 8
        } else {
            ib + trailer + 4
        };
        file[off..off + 4].copy_from_slice(&crc.to_le_bytes());
    };
    match damage {
        Damage::BadBlockCrc { nid } => {
            let node = layout.node(nid).ok_or("no such node")?;
            let b = layout.block(node.bid_data).ok_or("no such block")?;
            let t = (b.ib + b.total_size as u64) as usize - format.block_trailer_size();
            let off = if format.is_ansi() { t + 8 } else { t + 4 };
            file[off] ^= 0xFF;
        }
        Damage::BadHeaderCrc => file[4] ^= 0xFF,
        Damage::Truncate { len } => file.truncate(len as usize),
        Damage::ZeroLeafPage { tree } => {
            let p = layout
                .pages
                .iter()
                .find(|p| p.tree == tree && p.level == 0)
                .ok_or("no leaf page")?;
            file[p.ib as usize..p.ib as usize + page].fill(0);
        }
        Damage::SelfPointingRoot { tree } => {
            let root = layout
                .pages
                .iter()
                .rev()
                .find(|p| p.tree == tree)
                .ok_or("no page")?;
            if root.level == 0 {
                return Err("the B-tree has a single page; write more messages".into());
            }
            let ib = root.ib as usize;
            let id = format.id_size();
            // first BTENTRY: key, then BREF (bid, ib)
            if format.is_ansi() {
                file[ib + id..ib + 2 * id].copy_from_slice(&(root.bid as u32).to_le_bytes());
                file[ib + 2 * id..ib + 3 * id].copy_from_slice(&(root.ib as u32).to_le_bytes());
            } else {
                file[ib + id..ib + 2 * id].copy_from_slice(&root.bid.to_le_bytes());
                file[ib + 2 * id..ib + 3 * id].copy_from_slice(&root.ib.to_le_bytes());
            }
            fix_page_crc(file, ib);
        }
        Damage::BlockPastEnd { nid } => {
            let node = layout.node(nid).ok_or("no such node")?;
            let bid = node.bid_data;
            let id = format.id_size();
            let entry = if format.is_ansi() { 12 } else { 24 };
            for p in layout
                .pages
                .iter()
                .filter(|p| p.tree == TreeKind::Bbt && p.level == 0)
            {
                for k in 0..p.entries as usize {
                    let e = p.ib as usize + k * entry;
                    let mut raw = [0u8; 8];
                    raw[..id].copy_from_slice(&file[e..e + id]);
                    if u64::from_le_bytes(raw) == bid {
                        let past = file.len() as u64 + 0x10_0000;
                        if format.is_ansi() {
                            file[e + id..e + 2 * id].copy_from_slice(&(past as u32).to_le_bytes());
                        } else {
                            file[e + id..e + 2 * id].copy_from_slice(&past.to_le_bytes());
                        }
                        fix_page_crc(file, p.ib as usize);
                        return Ok(());
                    }
                }
            }
            return Err("block not found in the BBT".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: [u8; 16] = [0x11; 16];
    const H: [u8; 16] = [0x22; 16];

    /// Split a PCL into XIDs; None when malformed.
    fn split(p: &[u8]) -> Option<Vec<&[u8]>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < p.len() {
            let n = p[i] as usize;
            if !(17..=24).contains(&n) || i + 1 + n > p.len() {
                return None;
            }
            out.push(&p[i + 1..i + 1 + n]);
            i += 1 + n;
        }
        Some(out)
    }

    #[test]
    fn healthy_metadata_is_consistent() {
        let m = healthy(&G, 7, &H, 100);
        let ck = m.change_key.unwrap();
        assert_eq!(ck.len(), 20);
        let p = m.pcl.unwrap();
        let xs = split(&p).unwrap();
        assert_eq!(xs.len(), 2);
        assert!(xs.contains(&ck.as_slice()));
        assert!(xs[0][..16] < xs[1][..16]);
    }

    #[test]
    fn each_rule_breaks_what_it_names() {
        let pl = |r| planted(r, &G, 7, &H, 100);
        assert!(pl(Rule::Ck001).change_key.is_none() && pl(Rule::Ck001).pcl.is_some());
        assert!(pl(Rule::Ck002).change_key.unwrap().len() < 17);
        assert!(pl(Rule::Pcl001).pcl.is_none());
        assert!(split(&pl(Rule::Pcl002).pcl.unwrap()).is_none());
        let p3 = pl(Rule::Pcl003).pcl.unwrap();
        let xs = split(&p3).unwrap();
        assert_eq!(xs.iter().filter(|x| x[..16] == H).count(), 2);
        let p4 = pl(Rule::Pcl004).pcl.unwrap();
        let xs = split(&p4).unwrap();
        assert!(xs[0][..16] > xs[1][..16]);
        let p5 = pl(Rule::Pcl005).pcl.unwrap();
        assert!(split(&p5)
            .unwrap()
            .iter()
            .any(|x| x[..16] == G && x.len() == 22));
        let p6 = pl(Rule::Sync001).pcl.unwrap();
        assert!(split(&p6).unwrap().iter().all(|x| x[..16] != G));
        let counter = |p: &[u8]| {
            let xs = split(p).unwrap();
            let x = xs.iter().find(|x| x[..16] == G).unwrap();
            u32::from_be_bytes(x[16..20].try_into().unwrap())
        };
        assert!(counter(&pl(Rule::Sync002).pcl.unwrap()) > 7);
        assert!(counter(&pl(Rule::Sync003).pcl.unwrap()) < 7);
        assert_eq!("sync002".parse::<Rule>().unwrap(), Rule::Sync002);
    }
}
