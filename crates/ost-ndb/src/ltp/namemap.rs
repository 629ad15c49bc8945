//! The name-to-id map (NID 0x61), [MS-PST] 2.4.7: a PC whose streams map
//! named property ids (0x8000 and up) to (property set GUID, numeric id or
//! string name).
//!
//! - PidTagNameidBucketCount (0x0001): number of hash buckets.
//! - PidTagNameidStreamGuid (0x0002): the GUIDs, 16 bytes each.
//! - PidTagNameidStreamEntry (0x0003): NAMEID records of 8 bytes:
//!   dwPropertyID u32 (the numeric id, or the offset of the name in the
//!   string stream), then a u16 whose bit 0 says "string" and whose other
//!   15 bits are wGuid, then wPropIdx u16 (the property id is 0x8000 +
//!   wPropIdx).
//! - PidTagNameidStreamString (0x0004): names, each a u32 byte length and
//!   UTF-16LE characters, 4-byte aligned.

use std::collections::HashMap;

use super::error::{LtpError, Result};
use super::pc::PropertyContext;
use super::value::utf16le;
use crate::ndb::bytes::{u16_at, u32_at};
use crate::ndb::{Nid, Pst};

/// PS_MAPI {00020328-0000-0000-C000-000000000046}, on-disk byte order.
pub const PS_MAPI: [u8; 16] = [
    0x28, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];
/// PS_PUBLIC_STRINGS {00020329-0000-0000-C000-000000000046}.
pub const PS_PUBLIC_STRINGS: [u8; 16] = [
    0x29, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];

pub const PID_TAG_NAMEID_BUCKET_COUNT: u16 = 0x0001;
pub const PID_TAG_NAMEID_STREAM_GUID: u16 = 0x0002;
pub const PID_TAG_NAMEID_STREAM_ENTRY: u16 = 0x0003;
pub const PID_TAG_NAMEID_STREAM_STRING: u16 = 0x0004;

/// The name of a named property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropName {
    /// MNID_ID: a numeric id (e.g. 0x8501 for PidLidReminderDelta).
    Id(u32),
    /// MNID_STRING: a string name.
    String(String),
}

/// A named property: its property set and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedProp {
    /// The property set GUID in on-disk byte order (all zero for wGuid 0).
    pub guid: [u8; 16],
    pub name: PropName,
}

/// The name-to-id map.
pub struct NameMap {
    bucket_count: Option<u32>,
    guids: Vec<u8>,
    entries: Vec<u8>,
    strings: Vec<u8>,
    /// wPropIdx -> record index.
    by_index: HashMap<u16, usize>,
}

impl NameMap {
    /// Read the name-to-id map of a file (NID 0x61).
    pub fn open(pst: &Pst<'_>) -> Result<NameMap> {
        let node = pst.node(Nid::NAME_TO_ID_MAP)?;
        NameMap::from_pc(&PropertyContext::open(node)?)
    }

    /// Read the streams of a name-to-id map PC. A missing stream is empty.
    pub fn from_pc(pc: &PropertyContext<'_>) -> Result<NameMap> {
        let stream = |id: u16| -> Result<Vec<u8>> {
            Ok(pc.get(id)?.map(|v| v.data.into_owned()).unwrap_or_default())
        };
        let bucket_count = pc
            .get(PID_TAG_NAMEID_BUCKET_COUNT)?
            .and_then(|v| v.as_i32().map(|n| n as u32));
        let guids = stream(PID_TAG_NAMEID_STREAM_GUID)?;
        let entries = stream(PID_TAG_NAMEID_STREAM_ENTRY)?;
        let strings = stream(PID_TAG_NAMEID_STREAM_STRING)?;
        let mut by_index = HashMap::new();
        for i in 0..entries.len() / 8 {
            let idx = u16_at(&entries, 8 * i + 6).unwrap_or(0);
            by_index.entry(idx).or_insert(i);
        }
        Ok(NameMap {
            bucket_count,
            guids,
            entries,
            strings,
            by_index,
        })
    }

    /// PidTagNameidBucketCount.
    pub fn bucket_count(&self) -> Option<u32> {
        self.bucket_count
    }

    /// Number of NAMEID records.
    pub fn len(&self) -> usize {
        self.entries.len() / 8
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The GUID wGuid names.
    fn guid(&self, w_guid: u16, at: u64) -> Result<[u8; 16]> {
        Ok(match w_guid {
            0 => [0; 16],
            1 => PS_MAPI,
            2 => PS_PUBLIC_STRINGS,
            n => {
                let off = (n as usize - 3) * 16;
                self.guids
                    .get(off..off + 16)
                    .and_then(|g| g.try_into().ok())
                    .ok_or_else(|| LtpError::bad("NAMEID", at + 4, "wGuid", n as u64))?
            }
        })
    }

    /// Record `i`: the property id it names and the name.
    pub fn record(&self, i: usize) -> Result<(u16, NamedProp)> {
        let at = 8 * i;
        let (Some(value), Some(flags), Some(idx)) = (
            u32_at(&self.entries, at),
            u16_at(&self.entries, at + 4),
            u16_at(&self.entries, at + 6),
        ) else {
            return Err(LtpError::oob(
                "NAMEID",
                at as u64,
                at as u64 + 8,
                self.entries.len() as u64,
            ));
        };
        let guid = self.guid(flags >> 1, at as u64)?;
        let name = if flags & 1 == 0 {
            PropName::Id(value)
        } else {
            let off = value as usize;
            let len = u32_at(&self.strings, off)
                .ok_or_else(|| LtpError::bad("NAMEID", at as u64, "string offset", value as u64))?
                as usize;
            let s = off
                .checked_add(4)
                .and_then(|st| self.strings.get(st..st.checked_add(len)?))
                .ok_or_else(|| {
                    LtpError::bad("PidTagNameidStreamString", off as u64, "length", len as u64)
                })?;
            PropName::String(utf16le(s))
        };
        Ok((0x8000u16.wrapping_add(idx), NamedProp { guid, name }))
    }

    /// The name of a named property id (0x8000 and up), if mapped.
    pub fn resolve(&self, prop_id: u16) -> Result<Option<NamedProp>> {
        if prop_id < 0x8000 {
            return Ok(None);
        }
        match self.by_index.get(&(prop_id - 0x8000)) {
            Some(&i) => self.record(i).map(|(_, n)| Some(n)),
            None => Ok(None),
        }
    }

    /// Every record: (property id, name).
    pub fn iter(&self) -> impl Iterator<Item = Result<(u16, NamedProp)>> + '_ {
        (0..self.len()).map(move |i| self.record(i))
    }
}

#[cfg(test)]
mod tests {
    use super::super::heap::tests::{heap_of, hnhdr, page, pc_record as rec};
    use super::*;
    use crate::ndb::Format;

    fn nameid(value: u32, w_guid: u16, string: bool, idx: u16) -> Vec<u8> {
        let mut r = value.to_le_bytes().to_vec();
        r.extend_from_slice(&((w_guid << 1) | string as u16).to_le_bytes());
        r.extend_from_slice(&idx.to_le_bytes());
        r
    }

    fn map(entries: &[u8], guids: &[u8], strings: &[u8]) -> NameMap {
        let mut h = vec![0xB5, 2, 6, 0];
        h.extend_from_slice(&0x40u32.to_le_bytes());
        let leaf = [
            rec(0x0001, 0x0003, 251),
            rec(0x0002, 0x0102, 0x60),
            rec(0x0003, 0x0102, 0x80),
            rec(0x0004, 0x0102, 0xA0),
        ]
        .concat();
        let p = page(&hnhdr(0xBC, 0x20), &[&h, &leaf, guids, entries, strings]);
        let pc = PropertyContext::from_heap(heap_of(Format::Unicode, vec![p])).unwrap();
        NameMap::from_pc(&pc).unwrap()
    }

    #[test]
    fn resolves_ids_and_strings() {
        let custom: [u8; 16] = core::array::from_fn(|i| i as u8);
        let mut strings = 10u32.to_le_bytes().to_vec();
        strings.extend_from_slice(b"H\0e\0l\0l\0o\0");
        let entries = [
            nameid(0x8501, 1, false, 0),
            nameid(0, 3, true, 1),
            nameid(0x1234, 2, false, 2),
        ]
        .concat();
        let m = map(&entries, &custom, &strings);
        assert_eq!(m.bucket_count(), Some(251));
        assert_eq!(m.len(), 3);
        assert_eq!(
            m.resolve(0x8000).unwrap(),
            Some(NamedProp {
                guid: PS_MAPI,
                name: PropName::Id(0x8501)
            })
        );
        assert_eq!(
            m.resolve(0x8001).unwrap(),
            Some(NamedProp {
                guid: custom,
                name: PropName::String("Hello".into())
            })
        );
        assert_eq!(m.resolve(0x8002).unwrap().unwrap().guid, PS_PUBLIC_STRINGS);
        assert_eq!(m.resolve(0x8003).unwrap(), None);
        assert_eq!(m.resolve(0x0037).unwrap(), None);
        assert_eq!(m.iter().count(), 3);
    }

    #[test]
    fn hostile_records() {
        let mut strings = 0xFFFF_FFF0u32.to_le_bytes().to_vec();
        strings.extend_from_slice(b"x\0");
        let entries = [
            nameid(0, 9, false, 0),  // GUID index past the stream
            nameid(0, 1, true, 1),   // string length past the stream
            nameid(999, 1, true, 2), // string offset past the stream
        ]
        .concat();
        let m = map(&entries, &[0; 16], &strings);
        assert!(m.resolve(0x8000).is_err());
        assert!(m.resolve(0x8001).is_err());
        assert!(m.resolve(0x8002).is_err());
        assert_eq!(m.iter().filter(|r| r.is_err()).count(), 3);
    }
}
