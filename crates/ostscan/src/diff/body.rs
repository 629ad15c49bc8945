//! Body fingerprints, for DIFF003 only: an edit that rewrites the body in
//! place (Outlook's "Edit Message", a tool appending a line) may keep the
//! change key, the subject and even PR_LAST_MODIFICATION_TIME, so the diff
//! compares the bodies too. Bodies are hashed as they are read, one data
//! block at a time, and never kept; `scan` never reads them.

use ost_ndb::ltp::{LtpError, PropertyContext};
use ost_ndb::{Nid, Pst};
use ost_props::tags;
use sha2::{Digest, Sha256};

/// The body properties compared, in the order details name them: PR_BODY,
/// PR_HTML and PR_RTF_COMPRESSED.
pub const BODY_PROPS: [(u16, &str); 3] = [
    (tags::PR_BODY, "PR_BODY"),
    (tags::PR_HTML, "PR_HTML"),
    (tags::PR_RTF_COMPRESSED, "PR_RTF_COMPRESSED"),
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
pub fn body_fingerprint(pst: &Pst<'_>, nid: Nid) -> Result<BodyFingerprint, LtpError> {
    let pc = ost_props::open_pc(pst, nid)?;
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
    let mut pieces = pc.value_pieces(&entry)?;
    let known = pieces.total_len();
    let mut hashed = 0u64;
    let mut read = 0u64;
    for piece in pieces.by_ref() {
        let piece = piece?;
        let take = (MAX_HASHED_BYTES - hashed).min(piece.len() as u64) as usize;
        hasher.update(&piece[..take]);
        hashed += take as u64;
        read += piece.len() as u64;
        if hashed >= MAX_HASHED_BYTES {
            break;
        }
    }
    // What was read, when it was read to its end (a tree of blocks whose
    // lcbTotal disagrees with its blocks is hashed as it is); else the
    // stored length (lcbTotal) of what was cut.
    let length = if pieces.has_more() {
        known.unwrap_or(read)
    } else {
        read
    };
    hasher.update(length.to_le_bytes());
    Ok(Some(hasher.finalize().into()))
}
