//! GUIDs as they are stored in MAPI binary properties.
//!
//! A stored GUID is 16 bytes whose first three fields (Data1, Data2, Data3)
//! are little-endian, as in the Windows `GUID` structure; the last 8 bytes
//! are taken as they are. The registry form `{9D8647F2-3674-4FE6-...}`
//! therefore shows the first 8 bytes reordered.
//!
//! Ordering (`Ord`) compares the 16 *stored* bytes one by one. That is the
//! "binary sort" [MS-OXCFXICS] 2.2.2.3 prescribes for serializing a
//! predecessor change list, and it differs from the order of the registry
//! form (the MFCMAPI PCL-2 vector is sorted by stored bytes, not by text).

use core::fmt;

use crate::hex::{hex_digits, LOWER, UPPER};

/// Length of a stored GUID in bytes.
pub const GUID_LEN: usize = 16;

/// A 16-byte GUID kept in its stored (on-disk / on-wire) byte order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid([u8; GUID_LEN]);

impl Guid {
    /// Wraps 16 bytes in stored order.
    pub const fn from_bytes(bytes: [u8; GUID_LEN]) -> Self {
        Guid(bytes)
    }

    /// Takes the first 16 bytes of `bytes`, or `None` when there are fewer.
    pub fn from_prefix(bytes: &[u8]) -> Option<Self> {
        let head = bytes.get(..GUID_LEN)?;
        let mut stored = [0u8; GUID_LEN];
        stored.copy_from_slice(head);
        Some(Guid(stored))
    }

    /// The 16 bytes in stored order.
    pub const fn as_bytes(&self) -> &[u8; GUID_LEN] {
        &self.0
    }

    /// Parses the registry form `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`
    /// (braces optional, hex digits in either case).
    pub fn parse_registry(text: &str) -> Option<Self> {
        let inner = text
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .unwrap_or(text);
        let groups: Vec<&str> = inner.split('-').collect();
        let expected_widths = [8usize, 4, 4, 4, 12];
        if groups.len() != expected_widths.len()
            || groups
                .iter()
                .zip(expected_widths)
                .any(|(group, width)| group.len() != width)
        {
            return None;
        }
        let digits: String = groups.concat();
        let mut as_read = [0u8; GUID_LEN];
        for (index, byte) in as_read.iter_mut().enumerate() {
            let pair = digits.get(index * 2..index * 2 + 2)?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        // The registry text shows Data1..Data3 big-endian; store them little-endian.
        let mut stored = as_read;
        stored[..4].reverse();
        stored[4..6].reverse();
        stored[6..8].reverse();
        Some(Guid(stored))
    }

    /// A `Display` adapter printing the 16 stored bytes as lowercase hex.
    pub fn hex(&self) -> GuidHex<'_> {
        GuidHex(self)
    }
}

/// Registry form: `{9D8647F2-3674-4FE6-A4CC-56F8B4809280}`.
impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every finding's proof prints a few GUIDs: written from a table
        // into one buffer, not through a format string per field. Data1..
        // Data3 are stored little-endian and shown big-endian.
        const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
        let mut text = [b'-'; 38];
        text[0] = b'{';
        text[37] = b'}';
        let mut at = 1;
        for (i, &k) in ORDER.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1; // past a dash
            }
            let [high, low] = hex_digits(self.0[k], UPPER);
            text[at] = high;
            text[at + 1] = low;
            at += 2;
        }
        // ASCII only.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

/// Lowercase hex of the stored bytes; see [`Guid::hex`].
pub struct GuidHex<'a>(&'a Guid);

impl fmt::Display for GuidHex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; 32];
        for (pair, &byte) in text.chunks_exact_mut(2).zip(self.0.as_bytes()) {
            pair.copy_from_slice(&hex_digits(byte, LOWER));
        }
        // ASCII only.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Stored bytes of the MFCMAPI PCL-1 namespace.
    const PCL1_STORED: [u8; 16] = [
        0xF2, 0x47, 0x86, 0x9D, 0x74, 0x36, 0xE6, 0x4F, 0xA4, 0xCC, 0x56, 0xF8, 0xB4, 0x80, 0x92,
        0x80,
    ];

    #[test]
    fn registry_form_swaps_the_first_three_fields() {
        let guid = Guid::from_bytes(PCL1_STORED);
        assert_eq!(guid.to_string(), "{9D8647F2-3674-4FE6-A4CC-56F8B4809280}");
    }

    proptest::proptest! {
        #[test]
        fn both_forms_match_format_strings(bytes in proptest::array::uniform16(proptest::num::u8::ANY)) {
            let b = bytes;
            let registry = format!(
                "{{{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{}}}",
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                u16::from_le_bytes([b[4], b[5]]),
                u16::from_le_bytes([b[6], b[7]]),
                b[8],
                b[9],
                b[10..].iter().map(|x| format!("{x:02X}")).collect::<String>(),
            );
            let guid = Guid::from_bytes(bytes);
            proptest::prop_assert_eq!(guid.to_string(), registry);
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            proptest::prop_assert_eq!(guid.hex().to_string(), hex);
        }
    }

    #[test]
    fn hex_form_keeps_stored_order() {
        let guid = Guid::from_bytes(PCL1_STORED);
        assert_eq!(guid.hex().to_string(), "f247869d7436e64fa4cc56f8b4809280");
    }

    #[test]
    fn registry_parse_inverts_display() {
        let guid = Guid::from_bytes(PCL1_STORED);
        assert_eq!(
            Guid::parse_registry("{9D8647F2-3674-4FE6-A4CC-56F8B4809280}"),
            Some(guid)
        );
        assert_eq!(
            Guid::parse_registry("9d8647f2-3674-4fe6-a4cc-56f8b4809280"),
            Some(guid)
        );
        let not_guids = [
            "{9D8647F2-3674-4FE6-A4CC-56F8B480928}",
            "{9D8647F2-3674-4FE6-A4CC56-F8B4809280}",
            "{9D8647G2-3674-4FE6-A4CC-56F8B4809280}",
            "{ΩΩΩΩ47F2-3674-4FE6-A4CC-56F8B4809280}",
        ];
        for text in not_guids {
            assert_eq!(Guid::parse_registry(text), None, "{text}");
        }
    }

    #[test]
    fn from_prefix_needs_sixteen_bytes() {
        assert_eq!(Guid::from_prefix(&PCL1_STORED[..15]), None);
        assert_eq!(
            Guid::from_prefix(&[PCL1_STORED.as_slice(), &[1, 2]].concat()),
            Some(Guid::from_bytes(PCL1_STORED))
        );
    }

    #[test]
    fn order_is_stored_byte_order_not_registry_text_order() {
        // {1CC6AB8F-...} sorts before {41213B37-...} as text, but its first
        // stored byte is 0x8F, after 0x37.
        let a = Guid::parse_registry("{41213B37-7628-44FE-8E8D-71BE34CC3154}").unwrap();
        let b = Guid::parse_registry("{1CC6AB8F-4C6C-475E-930B-9B30AA0ED4EB}").unwrap();
        assert!(a < b);
    }
}
