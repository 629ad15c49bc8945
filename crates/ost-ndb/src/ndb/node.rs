//! Nodes ([MS-PST] 2.2.2.8.3): a node's data is a data tree (one data block,
//! or an XBLOCK / XXBLOCK listing data blocks) read as one logical stream;
//! its subnodes are a subnode tree (SLBLOCK, or an SIBLOCK of SLBLOCKs), each
//! subnode again having data and subnodes of its own.
//!
//! Above [`Pst`]: a [`Node`] borrows the file it reads its blocks from. The
//! internal blocks of both trees are parsed in `internal_block.rs`.

use std::borrow::Cow;

use super::error::{NdbError, NdbErrorKind, NdbId, Result};
use super::file::Pst;
use super::ids::{Bid, Nid};
use super::internal_block::{self, btype, InternalHeader};

pub use super::internal_block::SubnodeEntry;

/// Upper bound on the logical size of one node's data that
/// [`Node::read_data`] assembles in memory. Larger values are read block by
/// block through [`Node::data_blocks`].
pub const MAX_ASSEMBLED_DATA: u64 = 256 << 20;

/// A node: from the NBT, or a subnode of another node.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    pst: &'a Pst<'a>,
    pub nid: Nid,
    pub bid_data: Bid,
    pub bid_sub: Bid,
    /// NBT parent (folders and messages name their folder); `None` for subnodes.
    pub parent: Option<Nid>,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("nid", &self.nid)
            .field("bid_data", &self.bid_data)
            .field("bid_sub", &self.bid_sub)
            .field("parent", &self.parent)
            .finish()
    }
}

/// The leaf data blocks of a data tree, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTree {
    pub blocks: Vec<Bid>,
    /// lcbTotal of the XBLOCK / XXBLOCK, or `None` for a single data block.
    pub total: Option<u64>,
}

impl<'p> Pst<'p> {
    /// The node with this NID in the NBT.
    pub fn node(&self, nid: Nid) -> Result<Node<'_>> {
        let e = self.nbt_lookup(nid)?;
        Ok(Node {
            pst: self,
            nid: e.nid,
            bid_data: e.bid_data,
            bid_sub: e.bid_sub,
            parent: Some(e.nid_parent),
        })
    }

    /// File offset of data block `block` of node `nid` (of its first when
    /// it has fewer), for a report that places a problem in the node's
    /// data; `None` when the node or its blocks cannot be found.
    pub fn data_block_offset(&self, nid: Nid, block: u32) -> Option<u64> {
        let tree = self.node(nid).ok()?.data_blocks().ok()?;
        let bid = *tree.blocks.get(block as usize).or(tree.blocks.first())?;
        self.bbt_lookup(bid).ok().map(|b| b.ib)
    }

    /// A node value for an NBT entry already in hand.
    pub fn node_from_entry(&self, e: &super::btree::NbtEntry) -> Node<'_> {
        Node {
            pst: self,
            nid: e.nid,
            bid_data: e.bid_data,
            bid_sub: e.bid_sub,
            parent: Some(e.nid_parent),
        }
    }

    /// The leaf data blocks of the data tree rooted at `bid`.
    pub fn data_tree(&self, bid: Bid) -> Result<DataTree> {
        if !bid.is_internal() {
            return Ok(DataTree {
                blocks: vec![bid],
                total: None,
            });
        }
        let f = self.format();
        let (hdr, data) = self.internal_block(bid, btype::XBLOCK, "XBLOCK")?;
        let mut blocks = Vec::new();
        match hdr.level {
            1 => blocks = internal_block::entry_ids(&hdr, &data, 0, f),
            2 => {
                for child in internal_block::entry_ids(&hdr, &data, 0, f) {
                    let (h, d) = self.internal_block(child, btype::XBLOCK, "XBLOCK")?;
                    if h.level != 1 {
                        return Err(self.bad_internal(child, "XBLOCK level", h.level as u64));
                    }
                    blocks.extend(internal_block::entry_ids(&h, &d, 0, f));
                }
            }
            l => return Err(self.bad_internal(bid, "XBLOCK level", l as u64)),
        }
        Ok(DataTree {
            blocks,
            total: Some(hdr.lcb_total as u64),
        })
    }

    /// Read the internal block `bid` and check it is of the expected type
    /// (`want`, called `name` in errors): its header and decoded payload.
    pub(super) fn internal_block(
        &self,
        bid: Bid,
        want: u8,
        name: &'static str,
    ) -> Result<(InternalHeader, Cow<'_, [u8]>)> {
        if !bid.is_internal() {
            return Err(self.bad_internal(bid, "internal bit of BID", bid.0));
        }
        let raw = self.raw_block(bid)?;
        let ib = raw.ib;
        let data = self.decode_block(raw)?;
        let hdr = internal_block::check(&data, want, name, bid, ib, self.format())?;
        Ok((hdr, data))
    }

    fn bad_internal(&self, bid: Bid, field: &'static str, value: u64) -> NdbError {
        let ib = self.bbt_lookup(bid).map(|e| e.ib).unwrap_or(0);
        NdbError::new(
            "internal block",
            ib,
            NdbErrorKind::BadField { field, value },
        )
        .with_bid(bid.0)
    }

    /// All entries of the subnode tree rooted at `bid_sub`, in NID order.
    pub fn subnodes(&self, bid_sub: Bid) -> Result<Vec<SubnodeEntry>> {
        if bid_sub.is_null() {
            return Ok(Vec::new());
        }
        let f = self.format();
        let (hdr, data) = self.internal_block(bid_sub, btype::SLBLOCK, "SLBLOCK")?;
        match hdr.level {
            0 => Ok(internal_block::sl_entries(&hdr, &data, f)),
            1 => {
                let mut out = Vec::new();
                // An SIBLOCK entry: the first NID of the child, then its BID.
                for child in internal_block::entry_ids(&hdr, &data, f.id_size(), f) {
                    let (h, d) = self.internal_block(child, btype::SLBLOCK, "SLBLOCK")?;
                    if h.level != 0 {
                        return Err(self.bad_internal(child, "SLBLOCK level", h.level as u64));
                    }
                    out.extend(internal_block::sl_entries(&h, &d, f));
                }
                Ok(out)
            }
            l => Err(self.bad_internal(bid_sub, "SIBLOCK level", l as u64)),
        }
    }
}

impl<'a> Node<'a> {
    pub fn pst(&self) -> &'a Pst<'a> {
        self.pst
    }

    /// The leaf data blocks of this node's data, in order.
    pub fn data_blocks(&self) -> Result<DataTree> {
        if self.bid_data.is_null() {
            return Ok(DataTree {
                blocks: Vec::new(),
                total: Some(0),
            });
        }
        self.pst.data_tree(self.bid_data)
    }

    /// Payload of the `i`th data block (each is one heap page to the LTP layer).
    pub fn block(&self, bid: Bid) -> Result<Cow<'a, [u8]>> {
        self.pst.block_data(bid)
    }

    /// Whether the `read` bytes of a tree of blocks are the `total` its
    /// XBLOCK states: an integrity issue when not (an error in strict mode).
    pub(crate) fn check_total(&self, total: u64, read: u64) -> Result<()> {
        if read == total {
            return Ok(());
        }
        self.pst.integrity(
            NdbError::new(
                "XBLOCK",
                0,
                NdbErrorKind::BadField {
                    field: "lcbTotal (vs. sum of blocks)",
                    value: total,
                },
            )
            .with_bid(self.bid_data.0),
        )
    }

    /// The whole data stream. Borrowed when it is one unencoded block.
    pub fn read_data(&self) -> Result<Cow<'a, [u8]>> {
        let tree = self.data_blocks()?;
        if tree.blocks.len() == 1 && tree.total.is_none() {
            return self.pst.block_data(tree.blocks[0]);
        }
        let total = tree.total.unwrap_or(0);
        if total > MAX_ASSEMBLED_DATA || total > self.pst.len().saturating_mul(64) {
            return Err(NdbError::new(
                "XBLOCK",
                0,
                NdbErrorKind::BadField {
                    field: "lcbTotal",
                    value: total,
                },
            )
            .with_bid(self.bid_data.0));
        }
        // Read whole: on a cold file, its blocks are read ahead together.
        self.pst.prefetch_blocks(&tree.blocks);
        let mut out = Vec::with_capacity(total as usize);
        for b in tree.blocks {
            out.extend_from_slice(&self.pst.block_data(b)?);
            if out.len() as u64 > total {
                break;
            }
        }
        self.check_total(total, out.len() as u64)?;
        Ok(Cow::Owned(out))
    }

    /// Entries of this node's subnode tree.
    pub fn subnodes(&self) -> Result<Vec<SubnodeEntry>> {
        self.pst.subnodes(self.bid_sub)
    }

    /// One subnode, as a node of its own.
    pub fn subnode(&self, nid: Nid) -> Result<Node<'a>> {
        let subs = self.subnodes()?;
        let e = subs.iter().find(|s| s.nid == nid).ok_or_else(|| {
            let kind = NdbErrorKind::NotFound {
                key: NdbId::Nid(nid),
            };
            NdbError::new("SLBLOCK", 0, kind).with_bid(self.bid_sub.0)
        })?;
        Ok(Node {
            pst: self.pst,
            nid: e.nid,
            bid_data: e.bid_data,
            bid_sub: e.bid_sub,
            parent: None,
        })
    }

    /// A node value for a subnode entry already in hand.
    pub fn subnode_from_entry(&self, e: &SubnodeEntry) -> Node<'a> {
        Node {
            pst: self.pst,
            nid: e.nid,
            bid_data: e.bid_data,
            bid_sub: e.bid_sub,
            parent: None,
        }
    }
}
