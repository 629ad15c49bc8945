//! Body fingerprints, for DIFF003 only: an edit that rewrites the body in
//! place (Outlook's "Edit Message", a tool appending a line) may keep the
//! change key, the subject and even PR_LAST_MODIFICATION_TIME, so the diff
//! compares the bodies too. Bodies are hashed as they are read, one data
//! block at a time, and never kept; `scan` never reads them.

use ost_ndb::ltp::heap::hnid_is_hid;
use ost_ndb::ltp::{prop_type, LtpError, PropertyContext};
use ost_ndb::{Nid, Pst};
use sha2::{Digest, Sha256};

/// The body properties compared, in the order details name them: PR_BODY,
/// PR_HTML and PR_RTF_COMPRESSED.
pub const BODY_PROPS: [(u16, &str); 3] = [
    (0x1000, "PR_BODY"),
    (0x1013, "PR_HTML"),
    (0x1009, "PR_RTF_COMPRESSED"),
];

/// Bytes of one body property that are hashed. Past them only the value's
/// length counts: an edit beyond the first 16 MiB that keeps the length is
/// not seen, and a hostile size costs no more than this.
pub const MAX_HASHED_BYTES: u64 = 16 << 20;

/// What one item's bodies hash to: per property of [`BODY_PROPS`], `None`
/// when the item does not have it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyFingerprint {
    digests: [Option<[u8; 32]>; 3],
}

impl BodyFingerprint {
    /// The names of the body properties that differ between `self` and
    /// `other` (one present, the other not, or different bytes).
    pub fn changed(&self, other: &BodyFingerprint) -> Vec<&'static str> {
        BODY_PROPS
            .iter()
            .zip(self.digests.iter().zip(&other.digests))
            .filter(|(_, (a, b))| a != b)
            .map(|((_, name), _)| *name)
            .collect()
    }
}

/// Read and hash the bodies of message `nid`. An error names the structure
/// that could not be read; the caller reports it and compares nothing.
pub fn body_fingerprint(pst: &Pst<'_>, nid: u32) -> Result<BodyFingerprint, LtpError> {
    let node = pst.node(Nid(nid)).map_err(LtpError::from)?;
    let pc = PropertyContext::open(node)?;
    let mut digests = [None; 3];
    for (slot, (id, _)) in digests.iter_mut().zip(BODY_PROPS) {
        *slot = prop_digest(&pc, id)?;
    }
    Ok(BodyFingerprint { digests })
}

/// SHA-256 of the property's type, its length and its first
/// [`MAX_HASHED_BYTES`]; `None` when the PC does not have it. A value in a
/// subnode is read block by block.
fn prop_digest(pc: &PropertyContext<'_>, id: u16) -> Result<Option<[u8; 32]>, LtpError> {
    let Some(entry) = pc.entry(id)? else {
        return Ok(None);
    };
    let mut hasher = Sha256::new();
    hasher.update(entry.prop_type.to_le_bytes());
    let hnid = entry.hnid();
    // Only a string or binary value can live in a subnode; any other type
    // (a damaged or hostile PC) is hashed as its value resolves.
    let variable = matches!(
        entry.prop_type,
        prop_type::STRING8 | prop_type::UNICODE | prop_type::BINARY
    );
    let length = if !variable || hnid == 0 || hnid_is_hid(hnid) {
        // In the PC record or the heap: one heap item, under 4 KiB.
        let value = pc.value(&entry)?;
        hasher.update(value.as_bytes());
        value.as_bytes().len() as u64
    } else {
        let node = pc.heap().subnode(hnid)?;
        let tree = node.data_blocks().map_err(LtpError::from)?;
        let mut hashed = 0u64;
        let mut read = 0u64;
        for bid in tree.blocks {
            if hashed >= MAX_HASHED_BYTES {
                break;
            }
            let block = node.block(bid).map_err(LtpError::from)?;
            let take = (MAX_HASHED_BYTES - hashed).min(block.len() as u64) as usize;
            hasher.update(&block[..take]);
            hashed += take as u64;
            read += block.len() as u64;
        }
        // lcbTotal of a tree of blocks; one block's own length otherwise.
        tree.total.unwrap_or(read)
    };
    hasher.update(length.to_le_bytes());
    Ok(Some(hasher.finalize().into()))
}
