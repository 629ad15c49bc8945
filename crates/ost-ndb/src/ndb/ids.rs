//! Node ids (NID) and block ids (BID), [MS-PST] 2.2.2.1 and 2.2.2.2.

use std::fmt;

/// A node id: 5 bits of type, 27 bits of index.
///
/// It prints (`{}`, `{:x}`, `{:#x}`, `{:X}`) and, with the `serde` feature,
/// serializes exactly as the bare `u32` does, so reports can carry the typed
/// id without changing their text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct Nid(pub u32);

impl Nid {
    pub const MESSAGE_STORE: Nid = Nid(0x21);
    pub const NAME_TO_ID_MAP: Nid = Nid(0x61);
    pub const ROOT_FOLDER: Nid = Nid(0x122);

    /// The low five bits: what kind of node this is.
    pub fn nid_type(self) -> NidType {
        NidType::from_bits((self.0 & 0x1F) as u8)
    }

    /// The index part (the id without its type bits).
    pub fn index(self) -> u32 {
        self.0 >> 5
    }

    /// The NID of the same index with another type (a folder's tables share
    /// the folder's index).
    pub fn with_type(self, t: NidType) -> Nid {
        Nid((self.0 & !0x1F) | t.bits() as u32)
    }
}

/// `Display`, `LowerHex` and `UpperHex` of an id type as its bare number's.
macro_rules! format_as_number {
    ($($id:ty),*) => {$(
        impl fmt::Display for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::LowerHex for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }

        impl fmt::UpperHex for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::UpperHex::fmt(&self.0, f)
            }
        }
    )*};
}

format_as_number!(Nid, Bid);

/// The NID types of [MS-PST] 2.2.2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NidType {
    Hid,
    Internal,
    NormalFolder,
    SearchFolder,
    NormalMessage,
    Attachment,
    SearchUpdateQueue,
    SearchCriteriaObject,
    AssocMessage,
    ContentsTableIndex,
    ReceiveFolderTable,
    OutgoingQueueTable,
    HierarchyTable,
    ContentsTable,
    AssocContentsTable,
    SearchContentsTable,
    AttachmentTable,
    RecipientTable,
    SearchTableIndex,
    Ltp,
    Other(u8),
}

impl NidType {
    pub fn from_bits(b: u8) -> NidType {
        match b {
            0x00 => NidType::Hid,
            0x01 => NidType::Internal,
            0x02 => NidType::NormalFolder,
            0x03 => NidType::SearchFolder,
            0x04 => NidType::NormalMessage,
            0x05 => NidType::Attachment,
            0x06 => NidType::SearchUpdateQueue,
            0x07 => NidType::SearchCriteriaObject,
            0x08 => NidType::AssocMessage,
            0x0A => NidType::ContentsTableIndex,
            0x0B => NidType::ReceiveFolderTable,
            0x0C => NidType::OutgoingQueueTable,
            0x0D => NidType::HierarchyTable,
            0x0E => NidType::ContentsTable,
            0x0F => NidType::AssocContentsTable,
            0x10 => NidType::SearchContentsTable,
            0x11 => NidType::AttachmentTable,
            0x12 => NidType::RecipientTable,
            0x13 => NidType::SearchTableIndex,
            0x1F => NidType::Ltp,
            other => NidType::Other(other),
        }
    }

    pub fn bits(self) -> u8 {
        match self {
            NidType::Hid => 0x00,
            NidType::Internal => 0x01,
            NidType::NormalFolder => 0x02,
            NidType::SearchFolder => 0x03,
            NidType::NormalMessage => 0x04,
            NidType::Attachment => 0x05,
            NidType::SearchUpdateQueue => 0x06,
            NidType::SearchCriteriaObject => 0x07,
            NidType::AssocMessage => 0x08,
            NidType::ContentsTableIndex => 0x0A,
            NidType::ReceiveFolderTable => 0x0B,
            NidType::OutgoingQueueTable => 0x0C,
            NidType::HierarchyTable => 0x0D,
            NidType::ContentsTable => 0x0E,
            NidType::AssocContentsTable => 0x0F,
            NidType::SearchContentsTable => 0x10,
            NidType::AttachmentTable => 0x11,
            NidType::RecipientTable => 0x12,
            NidType::SearchTableIndex => 0x13,
            NidType::Ltp => 0x1F,
            NidType::Other(b) => b,
        }
    }

    /// Short name for reports, e.g. `normal_message`.
    pub fn name(self) -> &'static str {
        match self {
            NidType::Hid => "hid",
            NidType::Internal => "internal",
            NidType::NormalFolder => "normal_folder",
            NidType::SearchFolder => "search_folder",
            NidType::NormalMessage => "normal_message",
            NidType::Attachment => "attachment",
            NidType::SearchUpdateQueue => "search_update_queue",
            NidType::SearchCriteriaObject => "search_criteria_object",
            NidType::AssocMessage => "assoc_message",
            NidType::ContentsTableIndex => "contents_table_index",
            NidType::ReceiveFolderTable => "receive_folder_table",
            NidType::OutgoingQueueTable => "outgoing_queue_table",
            NidType::HierarchyTable => "hierarchy_table",
            NidType::ContentsTable => "contents_table",
            NidType::AssocContentsTable => "assoc_contents_table",
            NidType::SearchContentsTable => "search_contents_table",
            NidType::AttachmentTable => "attachment_table",
            NidType::RecipientTable => "recipient_table",
            NidType::SearchTableIndex => "search_table_index",
            NidType::Ltp => "ltp",
            NidType::Other(_) => "other",
        }
    }
}

/// A block id. Bit 0 is reserved (ignored when looking up), bit 1 marks an
/// internal block (XBLOCK, XXBLOCK, SLBLOCK, SIBLOCK), which is never encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct Bid(pub u64);

impl Bid {
    /// The BID as B-tree lookups compare it: reserved bit cleared.
    pub fn key(self) -> u64 {
        self.0 & !1
    }

    pub fn is_internal(self) -> bool {
        self.0 & 2 != 0
    }

    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nid_parts() {
        let n = Nid(0x200024);
        assert_eq!(n.nid_type(), NidType::NormalMessage);
        assert_eq!(n.index(), 0x10001);
        assert_eq!(Nid(0x122).nid_type(), NidType::NormalFolder);
        assert_eq!(Nid(0x122).with_type(NidType::ContentsTable), Nid(0x12E));
        for b in 0..32u8 {
            assert_eq!(NidType::from_bits(b).bits(), b);
        }
    }

    #[test]
    fn ids_print_as_their_number() {
        let n = Nid(0x200024);
        assert_eq!(
            format!("{n} {n:x} {n:#x} {n:X} {n:>9}"),
            "2097188 200024 0x200024 200024   2097188"
        );
        let b = Bid(0x1a4);
        assert_eq!(format!("{b} {b:#x}"), "420 0x1a4");
    }

    #[test]
    fn bid_bits() {
        assert!(Bid(0x6).is_internal());
        assert!(!Bid(0x4).is_internal());
        assert_eq!(Bid(0x5).key(), 0x4);
    }
}
