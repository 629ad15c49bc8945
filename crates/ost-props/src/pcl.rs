//! Predecessor change lists (PR_PREDECESSOR_CHANGE_LIST, 0x65E3;
//! [MS-OXCFXICS] 2.2.2.3).
//!
//! The value is a run of SizedXid entries: one XidSize byte (17..=24)
//! followed by that many bytes of XID. There is no count and no padding.
//! The spec requires the entries to be binary-sorted by namespace GUID
//! (stored bytes, ascending) and, per 2.2.2.2, all XIDs of one namespace
//! to share a LocalId length; both are checked here as facts, not as
//! decoding errors, so that rules can report them.

use crate::guid::Guid;
use crate::xid::{DecodeError, Xid, XID_MAX_LEN, XID_MIN_LEN};

/// One decoded PCL entry with its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PclEntry<'a> {
    /// Zero-based position in the list.
    pub index: usize,
    /// Byte offset of the entry's XidSize byte.
    pub offset: usize,
    /// The XID itself.
    pub xid: Xid<'a>,
}

/// Lazy decoder over the entries of unvalidated PCL bytes.
///
/// Yields `Err` once at the first malformed entry and then stops. Does not
/// allocate.
#[derive(Clone, Debug)]
pub struct RawPclEntries<'a> {
    bytes: &'a [u8],
    offset: usize,
    index: usize,
    failed: bool,
}

impl<'a> RawPclEntries<'a> {
    /// Starts decoding `bytes` from the first entry.
    pub fn new(bytes: &'a [u8]) -> Self {
        RawPclEntries {
            bytes,
            offset: 0,
            index: 0,
            failed: false,
        }
    }

    fn fail(&mut self, error: DecodeError) -> Option<Result<PclEntry<'a>, DecodeError>> {
        self.failed = true;
        Some(Err(error))
    }
}

impl<'a> Iterator for RawPclEntries<'a> {
    type Item = Result<PclEntry<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let offset = self.offset;
        let rest = self.bytes.get(offset..)?;
        let (&size, after_size) = rest.split_first()?;
        let xid_len = usize::from(size);
        if !(XID_MIN_LEN..=XID_MAX_LEN).contains(&xid_len) {
            if rest.iter().all(|&byte| byte == 0) {
                return self.fail(DecodeError::TrailingBytes {
                    offset,
                    len: rest.len(),
                });
            }
            return self.fail(DecodeError::XidSizeOutOfRange { offset, size });
        }
        let Some(xid_bytes) = after_size.get(..xid_len) else {
            return self.fail(DecodeError::Overrun {
                offset,
                needed: xid_len,
                available: after_size.len(),
            });
        };
        let xid = match Xid::parse_at(xid_bytes, offset + 1) {
            Ok(xid) => xid,
            Err(error) => return self.fail(error),
        };
        let entry = PclEntry {
            index: self.index,
            offset,
            xid,
        };
        self.offset = offset + 1 + xid_len;
        self.index += 1;
        Some(Ok(entry))
    }
}

/// A validated, borrowed predecessor change list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pcl<'a> {
    bytes: &'a [u8],
    len: usize,
}

impl<'a> Pcl<'a> {
    /// Validates the whole value in one pass (no allocation). After this,
    /// iteration cannot fail.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            return Err(DecodeError::Empty);
        }
        let mut len = 0;
        for entry in RawPclEntries::new(bytes) {
            entry?;
            len += 1;
        }
        Ok(Pcl { bytes, len })
    }

    /// The raw property value.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of entries (at least 1).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: an empty value is rejected by [`Pcl::parse`].
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries in stored order, with index and offset.
    pub fn entries(&self) -> PclEntries<'a> {
        PclEntries {
            raw: RawPclEntries::new(self.bytes),
        }
    }

    /// The XIDs in stored order.
    pub fn xids(&self) -> PclXids<'a> {
        PclXids {
            entries: self.entries(),
        }
    }

    /// Entries whose namespace is `namespace`, in stored order.
    pub fn entries_for(&self, namespace: Guid) -> impl Iterator<Item = PclEntry<'a>> + Clone {
        self.entries()
            .filter(move |entry| entry.xid.namespace() == namespace)
    }

    /// The first pair of neighbours out of the spec's order: returns the
    /// later entry, whose GUID sorts before (or equals, see below) the one
    /// preceding it. Equal neighbours are not an ordering fault (they are
    /// duplicates, reported by [`Pcl::duplicate_namespaces`]).
    pub fn first_unsorted(&self) -> Option<(PclEntry<'a>, PclEntry<'a>)> {
        let mut previous: Option<PclEntry<'a>> = None;
        for entry in self.entries() {
            if let Some(before) = previous {
                if entry.xid.namespace() < before.xid.namespace() {
                    return Some((before, entry));
                }
            }
            previous = Some(entry);
        }
        None
    }

    /// Whether entries are in ascending stored-byte GUID order
    /// (duplicates allowed).
    pub fn is_sorted(&self) -> bool {
        self.first_unsorted().is_none()
    }

    /// Namespace GUIDs that occur more than once, each reported once,
    /// ascending. Allocates only when the list holds a duplicate or is
    /// unsorted; the size is bounded by the entry count.
    pub fn duplicate_namespaces(&self) -> Vec<Guid> {
        let mut duplicates = Vec::new();
        if self.is_sorted() {
            // Duplicates are neighbours in a sorted list.
            let mut previous: Option<Guid> = None;
            for xid in self.xids() {
                let guid = xid.namespace();
                if previous == Some(guid) && duplicates.last() != Some(&guid) {
                    duplicates.push(guid);
                }
                previous = Some(guid);
            }
            return duplicates;
        }
        let mut guids: Vec<Guid> = self.xids().map(|xid| xid.namespace()).collect();
        guids.sort_unstable();
        for pair in guids.windows(2) {
            if let [a, b] = pair {
                if a == b && duplicates.last() != Some(a) {
                    duplicates.push(*a);
                }
            }
        }
        duplicates
    }

    /// Re-encodes the list (same entries, same order).
    pub fn to_vec(&self) -> Vec<u8> {
        serialize(self.xids())
    }
}

impl<'a> IntoIterator for Pcl<'a> {
    type Item = PclEntry<'a>;
    type IntoIter = PclEntries<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries()
    }
}

/// Infallible iterator over the entries of a validated [`Pcl`].
#[derive(Clone, Debug)]
pub struct PclEntries<'a> {
    raw: RawPclEntries<'a>,
}

impl<'a> Iterator for PclEntries<'a> {
    type Item = PclEntry<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        // The bytes were validated by `Pcl::parse`, so `Err` cannot occur;
        // if it somehow did, iteration just ends.
        self.raw.next()?.ok()
    }
}

/// Infallible iterator over the XIDs of a validated [`Pcl`].
#[derive(Clone, Debug)]
pub struct PclXids<'a> {
    entries: PclEntries<'a>,
}

impl<'a> Iterator for PclXids<'a> {
    type Item = Xid<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        self.entries.next().map(|entry| entry.xid)
    }
}

/// Appends XIDs as SizedXid entries, in the order given.
pub fn write_pcl<'x, I>(xids: I, out: &mut Vec<u8>)
where
    I: IntoIterator<Item = Xid<'x>>,
{
    for xid in xids {
        // An `Xid` always encodes to 17..=24 bytes, so the size fits a u8.
        let size = u8::try_from(xid.encoded_len()).unwrap_or(u8::MAX);
        out.push(size);
        xid.write_to(out);
    }
}

/// Serializes XIDs as a PCL value, in the order given. Use
/// [`serialize_sorted`] to produce the spec's canonical order.
pub fn serialize<'x, I>(xids: I) -> Vec<u8>
where
    I: IntoIterator<Item = Xid<'x>>,
{
    let mut out = Vec::new();
    write_pcl(xids, &mut out);
    out
}

/// Serializes XIDs in the order [MS-OXCFXICS] 2.2.2.3 requires: ascending
/// by stored GUID bytes (stable for equal GUIDs).
pub fn serialize_sorted<'x, I>(xids: I) -> Vec<u8>
where
    I: IntoIterator<Item = Xid<'x>>,
{
    let mut sorted: Vec<Xid<'x>> = xids.into_iter().collect();
    sorted.sort_by_key(|xid| xid.namespace());
    serialize(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(guid_byte: u8, local_id: &[u8]) -> Vec<u8> {
        let mut bytes = vec![(16 + local_id.len()) as u8];
        bytes.extend_from_slice(&[guid_byte; 16]);
        bytes.extend_from_slice(local_id);
        bytes
    }

    #[test]
    fn parses_multi_namespace_list() {
        let bytes = [
            entry(1, &[0, 0, 0, 0, 0, 9]),
            entry(2, &[0, 0, 0, 5]),
            entry(3, &[1]),
        ]
        .concat();
        let pcl = Pcl::parse(&bytes).unwrap();
        assert_eq!(pcl.len(), 3);
        let entries: Vec<PclEntry> = pcl.entries().collect();
        assert_eq!(entries[1].offset, 23);
        assert_eq!(entries[2].offset, 23 + 21);
        assert_eq!(entries[1].xid.counter().value(), 5);
        assert_eq!(entries[2].index, 2);
        assert!(pcl.is_sorted());
        assert!(pcl.duplicate_namespaces().is_empty());
        assert_eq!(pcl.to_vec(), bytes);
    }

    #[test]
    fn precise_errors() {
        assert_eq!(Pcl::parse(&[]), Err(DecodeError::Empty));
        let good = entry(1, &[0, 0, 0, 1]);
        let mut bad_size = good.clone();
        bad_size.extend_from_slice(&[0x10; 17]);
        assert_eq!(
            Pcl::parse(&bad_size),
            Err(DecodeError::XidSizeOutOfRange {
                offset: 21,
                size: 0x10
            })
        );
        let mut overrun = good.clone();
        overrun.extend_from_slice(&[20, 1, 2, 3]);
        assert_eq!(
            Pcl::parse(&overrun),
            Err(DecodeError::Overrun {
                offset: 21,
                needed: 20,
                available: 3
            })
        );
        let mut padded = good.clone();
        padded.extend_from_slice(&[0, 0, 0]);
        assert_eq!(
            Pcl::parse(&padded),
            Err(DecodeError::TrailingBytes { offset: 21, len: 3 })
        );
        assert_eq!(
            Pcl::parse(&[25]),
            Err(DecodeError::XidSizeOutOfRange {
                offset: 0,
                size: 25
            })
        );
    }

    #[test]
    fn raw_iterator_stops_after_the_first_error() {
        let bytes = [entry(1, &[1]), vec![3, 3, 3]].concat();
        let results: Vec<_> = RawPclEntries::new(&bytes).collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        assert!(results[1].is_err());
    }

    #[test]
    fn finds_unsorted_neighbours_and_duplicates() {
        let bytes = [
            entry(2, &[0, 0, 0, 1]),
            entry(1, &[0, 0, 0, 2]),
            entry(2, &[0, 0, 0, 3]),
        ]
        .concat();
        let pcl = Pcl::parse(&bytes).unwrap();
        let (before, after) = pcl.first_unsorted().unwrap();
        assert_eq!((before.index, after.index), (0, 1));
        assert_eq!(pcl.duplicate_namespaces(), vec![Guid::from_bytes([2; 16])]);
        assert_eq!(pcl.entries_for(Guid::from_bytes([2; 16])).count(), 2);

        let sorted_bytes = [entry(1, &[1]), entry(1, &[2]), entry(1, &[3])].concat();
        let sorted = Pcl::parse(&sorted_bytes).unwrap();
        assert!(sorted.is_sorted());
        assert_eq!(
            sorted.duplicate_namespaces(),
            vec![Guid::from_bytes([1; 16])]
        );
    }

    #[test]
    fn serialize_sorted_orders_by_stored_bytes() {
        let low = [0x01; 16];
        let high = [0xF0; 16];
        let a = Xid::new(Guid::from_bytes(high), &[1]).unwrap();
        let b = Xid::new(Guid::from_bytes(low), &[2]).unwrap();
        let bytes = serialize_sorted([a, b]);
        let pcl = Pcl::parse(&bytes).unwrap();
        assert!(pcl.is_sorted());
        assert_eq!(pcl.xids().next().unwrap(), b);
    }
}
