//! XIDs ([MS-OXCFXICS] 2.2.2.2) and change keys (PR_CHANGE_KEY, 0x65E2).
//!
//! An XID is a 16-byte namespace GUID followed by a LocalId of 1 to 8
//! bytes. The LocalId is a big-endian unsigned counter: servers derive it
//! from a 6-byte GLOBCNT ([MS-OXCFXICS] 2.2.2.5, big-endian), clients use
//! another length for their own namespaces (3.3.5.2.3). A change key is one
//! XID stored as the whole property value, without a size prefix.

use core::fmt;

use crate::guid::{Guid, GUID_LEN};
use crate::hex::{hex_digits, UPPER};

/// Shortest LocalId an XID may carry.
pub const LOCAL_ID_MIN_LEN: usize = 1;
/// Longest LocalId an XID may carry; it always fits a `u64`.
pub const LOCAL_ID_MAX_LEN: usize = 8;
/// Shortest encoded XID: GUID + 1-byte LocalId.
pub const XID_MIN_LEN: usize = GUID_LEN + LOCAL_ID_MIN_LEN;
/// Longest encoded XID: GUID + 8-byte LocalId.
pub const XID_MAX_LEN: usize = GUID_LEN + LOCAL_ID_MAX_LEN;
/// LocalId length of server-generated XIDs (a GLOBCNT). Client-generated
/// ("foreign") XIDs must use a different length ([MS-OXCFXICS] 3.3.5.2.3).
pub const GLOBCNT_LEN: usize = 6;

/// Why a change key or PCL could not be decoded. Every variant that is
/// tied to a place carries the byte offset into the property value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// The property value has no bytes at all.
    Empty,
    /// An XID shorter than 17 bytes (GUID + at least 1 LocalId byte).
    XidTooShort {
        /// Where the XID starts.
        offset: usize,
        /// How many bytes it has.
        len: usize,
    },
    /// An XID longer than 24 bytes (LocalId over 8 bytes).
    XidTooLong {
        /// Where the XID starts.
        offset: usize,
        /// How many bytes it has.
        len: usize,
    },
    /// A PCL entry whose XidSize byte is outside 17..=24.
    XidSizeOutOfRange {
        /// Offset of the XidSize byte.
        offset: usize,
        /// The value found.
        size: u8,
    },
    /// A PCL entry announces more bytes than the value has left.
    Overrun {
        /// Offset of the XidSize byte of the entry.
        offset: usize,
        /// Bytes the entry needs after its size byte.
        needed: usize,
        /// Bytes actually left after its size byte.
        available: usize,
    },
    /// Zero bytes after the last complete PCL entry. The PCL is serialized
    /// "without padding" (2.2.2.3), so this is reported on its own rather
    /// than as a bogus size byte of 0.
    TrailingBytes {
        /// Offset of the first padding byte.
        offset: usize,
        /// How many padding bytes follow.
        len: usize,
    },
}

impl DecodeError {
    /// Byte offset the error refers to (0 for an empty value).
    pub fn offset(&self) -> usize {
        match *self {
            DecodeError::Empty => 0,
            DecodeError::XidTooShort { offset, .. }
            | DecodeError::XidTooLong { offset, .. }
            | DecodeError::XidSizeOutOfRange { offset, .. }
            | DecodeError::Overrun { offset, .. }
            | DecodeError::TrailingBytes { offset, .. } => offset,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::Empty => f.write_str("empty value"),
            DecodeError::XidTooShort { offset, len } => write!(
                f,
                "XID at byte offset {offset} is {len} bytes, shorter than the minimum {XID_MIN_LEN}"
            ),
            DecodeError::XidTooLong { offset, len } => write!(
                f,
                "XID at byte offset {offset} is {len} bytes, longer than the maximum {XID_MAX_LEN}"
            ),
            DecodeError::XidSizeOutOfRange { offset, size } => write!(
                f,
                "XidSize {size} at byte offset {offset} is outside {XID_MIN_LEN}..={XID_MAX_LEN}"
            ),
            DecodeError::Overrun {
                offset,
                needed,
                available,
            } => write!(
                f,
                "entry at byte offset {offset} needs {needed} bytes but only {available} remain"
            ),
            DecodeError::TrailingBytes { offset, len } => {
                write!(f, "{len} trailing zero bytes at byte offset {offset}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// A LocalId read as a number. Prints as `313173 (0x4c755)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Counter(pub u64);

impl Counter {
    /// The counter value.
    pub fn value(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#x})", self.0, self.0)
    }
}

impl fmt::LowerHex for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

/// A borrowed XID: namespace GUID plus a LocalId slice of 1..=8 bytes.
///
/// Construction checks the LocalId length, so every `Xid` is valid and
/// its counter fits a `u64`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Xid<'a> {
    namespace: Guid,
    local_id: &'a [u8],
}

/// A change key (PR_CHANGE_KEY) is exactly one XID; see [`Xid::parse`].
pub type ChangeKey<'a> = Xid<'a>;

impl<'a> Xid<'a> {
    /// Decodes a value that is exactly one XID, e.g. a PR_CHANGE_KEY.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        Self::parse_at(bytes, 0)
    }

    /// Decodes exactly `bytes` as one XID that sits at `offset` within a
    /// larger value; `offset` is only used in errors.
    pub(crate) fn parse_at(bytes: &'a [u8], offset: usize) -> Result<Self, DecodeError> {
        let len = bytes.len();
        if len == 0 && offset == 0 {
            return Err(DecodeError::Empty);
        }
        if len < XID_MIN_LEN {
            return Err(DecodeError::XidTooShort { offset, len });
        }
        if len > XID_MAX_LEN {
            return Err(DecodeError::XidTooLong { offset, len });
        }
        match (Guid::from_prefix(bytes), bytes.get(GUID_LEN..)) {
            (Some(namespace), Some(local_id)) => Ok(Xid {
                namespace,
                local_id,
            }),
            // Unreachable given the length checks above; kept as an error
            // instead of a panic so hostile input can never abort.
            _ => Err(DecodeError::XidTooShort { offset, len }),
        }
    }

    /// Builds an XID from its parts; fails when `local_id` is not 1..=8 bytes.
    pub fn new(namespace: Guid, local_id: &'a [u8]) -> Result<Self, DecodeError> {
        let len = GUID_LEN + local_id.len();
        if local_id.len() < LOCAL_ID_MIN_LEN {
            return Err(DecodeError::XidTooShort { offset: 0, len });
        }
        if local_id.len() > LOCAL_ID_MAX_LEN {
            return Err(DecodeError::XidTooLong { offset: 0, len });
        }
        Ok(Xid {
            namespace,
            local_id,
        })
    }

    /// The namespace (replica) GUID.
    pub fn namespace(&self) -> Guid {
        self.namespace
    }

    /// The raw LocalId bytes, big-endian.
    pub fn local_id(&self) -> &'a [u8] {
        self.local_id
    }

    /// LocalId length in bytes (1..=8).
    pub fn local_id_len(&self) -> usize {
        self.local_id.len()
    }

    /// Whether the LocalId has the GLOBCNT length servers use (6 bytes).
    pub fn has_globcnt_len(&self) -> bool {
        self.local_id.len() == GLOBCNT_LEN
    }

    /// The LocalId as a big-endian unsigned number.
    pub fn counter(&self) -> Counter {
        Counter(
            self.local_id
                .iter()
                .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte)),
        )
    }

    /// Encoded length without a size prefix (17..=24).
    pub fn encoded_len(&self) -> usize {
        GUID_LEN + self.local_id.len()
    }

    /// Appends the XID (no size prefix) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.namespace.as_bytes());
        out.extend_from_slice(self.local_id);
    }

    /// The XID as an owned byte vector (no size prefix).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut out);
        out
    }

    /// A `Display` adapter for the LocalId bytes as uppercase hex, the way
    /// MFCMAPI prints `lpb:`.
    pub fn local_id_hex(&self) -> LocalIdHex<'a> {
        LocalIdHex(self.local_id)
    }
}

impl fmt::Debug for Xid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Xid")
            .field("namespace", &self.namespace)
            .field("local_id", &format_args!("{}", self.local_id_hex()))
            .finish()
    }
}

/// `{GUID}:LOCALIDHEX`, e.g. `{67375814-...}:00000004C755`.
impl fmt::Display for Xid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.local_id_hex())
    }
}

/// Uppercase hex of LocalId bytes; see [`Xid::local_id_hex`].
#[derive(Clone, Copy)]
pub struct LocalIdHex<'a>(&'a [u8]);

impl fmt::Display for LocalIdHex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        for &byte in self.0 {
            for digit in hex_digits(byte, UPPER) {
                f.write_char(char::from(digit))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xid_bytes(local_id: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0xAB; GUID_LEN];
        bytes.extend_from_slice(local_id);
        bytes
    }

    #[test]
    fn parses_every_legal_local_id_length() {
        for len in LOCAL_ID_MIN_LEN..=LOCAL_ID_MAX_LEN {
            let local_id: Vec<u8> = (1..=len as u8).collect();
            let bytes = xid_bytes(&local_id);
            let xid = Xid::parse(&bytes).unwrap();
            assert_eq!(xid.local_id_len(), len);
            assert_eq!(xid.local_id(), local_id.as_slice());
            assert_eq!(xid.namespace().as_bytes(), &[0xAB; GUID_LEN]);
            assert_eq!(xid.to_vec(), bytes);
        }
    }

    #[test]
    fn counter_is_big_endian() {
        let bytes = xid_bytes(&[0x00, 0x00, 0x00, 0x04, 0xC7, 0x55]);
        let xid = Xid::parse(&bytes).unwrap();
        assert_eq!(xid.counter(), Counter(313_173));
        assert_eq!(xid.counter().to_string(), "313173 (0x4c755)");
        let max = xid_bytes(&[0xFF; 8]);
        assert_eq!(Xid::parse(&max).unwrap().counter().value(), u64::MAX);
    }

    #[test]
    fn rejects_bad_lengths_with_offsets() {
        assert_eq!(Xid::parse(&[]), Err(DecodeError::Empty));
        assert_eq!(
            Xid::parse(&[0u8; 16]),
            Err(DecodeError::XidTooShort { offset: 0, len: 16 })
        );
        assert_eq!(
            Xid::parse(&[0u8; 25]),
            Err(DecodeError::XidTooLong { offset: 0, len: 25 })
        );
    }

    #[test]
    fn new_checks_local_id_length() {
        let guid = Guid::from_bytes([1; 16]);
        assert!(Xid::new(guid, &[]).is_err());
        assert!(Xid::new(guid, &[0; 9]).is_err());
        assert_eq!(Xid::new(guid, &[7]).unwrap().counter().value(), 7);
    }

    #[test]
    fn error_messages_name_the_offset() {
        let error = DecodeError::Overrun {
            offset: 23,
            needed: 22,
            available: 3,
        };
        assert_eq!(error.offset(), 23);
        assert!(error.to_string().contains("byte offset 23"));
    }
}
