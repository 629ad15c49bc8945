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
    /// Info: a local change pending upload. The change key is in the OST's
    /// own namespace (4-byte LocalId); the PCL holds that XID and the server
    /// version the change was made to. OST row stores only.
    Sync004,
    /// Info: an item known only to this cache (made offline, never echoed
    /// by the server): a local change key and a PCL holding only it. OST row
    /// stores only.
    Sync005,
    /// The contents-table row and the message's property context disagree:
    /// each carries a self-consistent change key and PCL, but not the same
    /// ones, and different modification times. OST row stores only.
    Row001,
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

    /// The rules that only stores with sync metadata in contents-table rows
    /// ([`crate::SyncPlacement::Rows`] or `Both`) can carry. Not in
    /// [`Rule::ALL`], which tests plant on every kind of store.
    pub const OST_ROWS: [Rule; 3] = [Rule::Sync004, Rule::Sync005, Rule::Row001];

    /// True for the rules of [`Rule::OST_ROWS`].
    pub fn needs_rows(self) -> bool {
        Rule::OST_ROWS.contains(&self)
    }

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
            Rule::Sync004 => "SYNC004",
            Rule::Sync005 => "SYNC005",
            Rule::Row001 => "ROW001",
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
            .chain(Rule::OST_ROWS)
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

/// An XID namespace: a GUID and the LocalId length all its XIDs share
/// ([MS-OXCFXICS] 2.2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespace {
    /// Namespace GUID.
    pub guid: [u8; 16],
    /// LocalId bytes: 4 for a client's own counters, 6 for server change numbers.
    pub local_id_len: usize,
}

impl Namespace {
    /// A client namespace (4-byte LocalIds).
    pub fn client(guid: [u8; 16]) -> Namespace {
        Namespace {
            guid,
            local_id_len: 4,
        }
    }

    /// A server namespace (6-byte change numbers).
    pub fn server(guid: [u8; 16]) -> Namespace {
        Namespace {
            guid,
            local_id_len: 6,
        }
    }

    /// The XID of `counter` in this namespace.
    pub fn xid(&self, counter: u64) -> Vec<u8> {
        xid(&self.guid, counter, self.local_id_len)
    }
}

/// Change key `change_key` and a PCL of it plus `others`, sorted.
pub fn consistent(change_key: Vec<u8>, others: &[Vec<u8>]) -> SyncMeta {
    let mut xids = vec![change_key.clone()];
    xids.extend_from_slice(others);
    SyncMeta {
        change_key: Some(change_key),
        pcl: Some(pcl(&xids)),
    }
}

/// Consistent metadata: the change key is `counter` in `mine`, and the PCL
/// holds exactly that XID plus `other_counter` in `other`.
pub fn healthy_in(mine: Namespace, counter: u64, other: Namespace, other_counter: u64) -> SyncMeta {
    consistent(mine.xid(counter), &[other.xid(other_counter)])
}

/// Consistent metadata: the change key is `local` (4-byte LocalId) in
/// `namespace`, and the PCL holds exactly that XID plus `other`'s XID
/// (a server change number, 6-byte LocalId).
pub fn healthy(namespace: &[u8; 16], local: u64, other: &[u8; 16], other_local: u64) -> SyncMeta {
    healthy_in(
        Namespace::client(*namespace),
        local,
        Namespace::server(*other),
        other_local,
    )
}

/// Metadata that violates exactly `rule` (and keeps the rest as healthy as
/// the rule allows), for a change key in `namespace` (4-byte LocalIds) and
/// a server namespace `other`. `local` must be at least 2.
pub fn planted(
    rule: Rule,
    namespace: &[u8; 16],
    local: u64,
    other: &[u8; 16],
    other_local: u64,
) -> SyncMeta {
    planted_in(
        rule,
        Namespace::client(*namespace),
        local,
        Namespace::server(*other),
        other_local,
    )
}

/// Metadata that violates exactly `rule` (and keeps the rest as healthy as
/// the rule allows), starting from [`healthy_in`]`(mine, counter, other,
/// other_counter)`. `counter` must be at least 2.
///
/// [`Rule::Sync004`] and [`Rule::Sync005`] move the change key to `other`
/// (in OST row stores `mine` is the server's namespace and `other` the
/// OST's own). [`Rule::Row001`] is about two copies of the metadata: this
/// gives the property context's; [`row001_row`] gives the row's.
pub fn planted_in(
    rule: Rule,
    mine: Namespace,
    counter: u64,
    other: Namespace,
    other_counter: u64,
) -> SyncMeta {
    assert!(counter >= 2);
    assert!(mine.guid != other.guid);
    let ck = mine.xid(counter);
    let theirs = other.xid(other_counter);
    let ok = healthy_in(mine, counter, other, other_counter);
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
            pcl: Some(pcl(&[ck, theirs, other.xid(other_counter + 1)])),
        },
        Rule::Pcl004 => {
            let mut xs = [ck.clone(), theirs];
            xs.sort_by(|a, b| b[..16].cmp(&a[..16]));
            SyncMeta {
                change_key: Some(ck),
                pcl: Some(pcl_unsorted(&xs)),
            }
        }
        Rule::Pcl005 => {
            let other_len = if mine.local_id_len == 6 { 4 } else { 6 };
            SyncMeta {
                change_key: Some(ck),
                pcl: Some(pcl(&[xid(&mine.guid, counter, other_len), theirs])),
            }
        }
        Rule::Sync001 => SyncMeta {
            change_key: Some(ck),
            pcl: Some(pcl(&[theirs])),
        },
        Rule::Sync002 => SyncMeta {
            change_key: Some(ck),
            pcl: Some(pcl(&[mine.xid(counter + 3), theirs])),
        },
        Rule::Sync003 => SyncMeta {
            change_key: Some(ck),
            pcl: Some(pcl(&[mine.xid(counter - 1), theirs])),
        },
        Rule::Sync004 => healthy_in(other, other_counter, mine, counter),
        Rule::Sync005 => consistent(theirs, &[]),
        Rule::Row001 => ok,
    }
}

/// The row side of [`Rule::Row001`]: an older version than the property
/// context's [`planted_in`] (the change key one lower in `mine`), just as
/// self-consistent.
pub fn row001_row(mine: Namespace, counter: u64, other: Namespace, other_counter: u64) -> SyncMeta {
    healthy_in(mine, counter - 1, other, other_counter)
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
        assert_eq!("row001".parse::<Rule>().unwrap(), Rule::Row001);
    }

    /// The rules as ostscan states them, for checking what a planted
    /// fault breaks; `local` is the OST's own namespace, when known.
    fn findings(m: &SyncMeta, local: Option<&[u8]>) -> Vec<&'static str> {
        let mut found = Vec::new();
        let ck = m.change_key.as_deref();
        let ck_xid = ck.filter(|c| (17..=24).contains(&c.len()));
        if ck.is_some() && ck_xid.is_none() {
            found.push("CK002");
        }
        let pcl = match m.pcl.as_deref().map(split) {
            Some(None) => {
                found.push("PCL002");
                None
            }
            Some(Some(xs)) => Some(xs),
            None => None,
        };
        if ck.is_none() && m.pcl.is_some() {
            found.push("CK001");
        }
        if m.pcl.is_none() && ck.is_some() {
            found.push("PCL001");
        }
        let Some(xs) = pcl else { return found };
        let mut guids: Vec<&[u8]> = xs.iter().map(|x| &x[..16]).collect();
        if xs.windows(2).any(|w| w[0][..16] > w[1][..16]) {
            found.push("PCL004");
        }
        guids.sort();
        if guids.windows(2).any(|w| w[0] == w[1]) {
            found.push("PCL003");
        }
        let Some(ck) = ck_xid else { return found };
        let value = |x: &[u8]| x[16..].iter().fold(0u64, |v, &b| v << 8 | b as u64);
        let same: Vec<&[u8]> = xs.iter().copied().filter(|x| x[..16] == ck[..16]).collect();
        if same.iter().any(|x| x.len() != ck.len()) {
            found.push("PCL005");
        } else if let Some(high) = same.iter().map(|x| value(x)).max() {
            if high > value(ck) {
                found.push("SYNC002");
            } else if high < value(ck) {
                found.push("SYNC003");
            }
        } else {
            found.push("SYNC001");
        }
        if found.is_empty() && local == Some(&ck[..16]) {
            found.push(if xs.len() == 1 { "SYNC005" } else { "SYNC004" });
        }
        found
    }

    #[test]
    fn each_rule_breaks_only_itself_in_either_namespace() {
        let client = Namespace::client(G);
        let server = Namespace::server(H);
        // PST stores: client change keys. Row stores: server change keys.
        for (mine, other) in [(client, server), (server, client)] {
            let local = (mine == server).then_some(&G[..]);
            assert!(findings(&healthy_in(mine, 7, other, 100), local).is_empty());
            assert!(findings(&consistent(mine.xid(7), &[]), local).is_empty());
            for rule in Rule::ALL {
                let m = planted_in(rule, mine, 7, other, 100);
                assert_eq!(findings(&m, local), [rule.id()], "{mine:?} {rule}");
            }
        }
        let (server, client) = (Namespace::server(H), Namespace::client(G));
        for rule in [Rule::Sync004, Rule::Sync005] {
            let m = planted_in(rule, server, 7, client, 100);
            assert_eq!(m.change_key.as_ref().unwrap().len(), 20, "{rule}");
            assert_eq!(findings(&m, Some(&G)), [rule.id()]);
        }
        let item = planted_in(Rule::Row001, server, 7, client, 100);
        let row = row001_row(server, 7, client, 100);
        assert!(findings(&item, Some(&G)).is_empty());
        assert!(findings(&row, Some(&G)).is_empty());
        assert_ne!(item, row);
    }
}
