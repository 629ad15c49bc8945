//! Property values as the LTP layer stores them: the type and the raw
//! little-endian bytes, with typed readers. Strings and binaries borrow from
//! the heap where they can.

use std::borrow::Cow;

use super::error::{LtpError, Result};
use crate::ndb::bytes::{u16_at, u32_at, u64_at};

/// Declares the property types as constants and, from the same list,
/// their `PT_` names.
macro_rules! prop_types {
    ($($name:ident = $value:expr;)*) => {
        $(
            #[doc = concat!("`PT_", stringify!($name), "` (", stringify!($value), ").")]
            pub const $name: u16 = $value;
        )*

        /// The `PT_` name of a single-valued type of the list.
        pub fn name(t: u16) -> Option<&'static str> {
            match t {
                $($name => Some(concat!("PT_", stringify!($name))),)*
                _ => None,
            }
        }
    };
}

/// Property types ([MS-OXCDATA] 2.11.1) the LTP layer distinguishes.
pub mod prop_type {
    prop_types! {
        UNSPECIFIED = 0x0000;
        NULL = 0x0001;
        SHORT = 0x0002;
        LONG = 0x0003;
        FLOAT = 0x0004;
        DOUBLE = 0x0005;
        CURRENCY = 0x0006;
        APPTIME = 0x0007;
        ERROR = 0x000A;
        BOOLEAN = 0x000B;
        OBJECT = 0x000D;
        I8 = 0x0014;
        STRING8 = 0x001E;
        UNICODE = 0x001F;
        SYSTIME = 0x0040;
        CLSID = 0x0048;
        SVREID = 0x00FB;
        RESTRICTION = 0x00FD;
        RULE_ACTION = 0x00FE;
        BINARY = 0x0102;
    }

    /// Bit marking a multi-valued type.
    pub const MV: u16 = 0x1000;
}

use prop_type as pt;

/// How a value of a type is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Fixed size of this many bytes (inline in a PC when <= 4 bytes).
    Fixed(usize),
    /// Variable size, always through an HNID.
    Variable,
    /// A type the layer does not know: kept as raw bytes.
    Unknown,
}

/// Storage class of a property type.
pub fn storage(ty: u16) -> Storage {
    match ty {
        pt::BOOLEAN => Storage::Fixed(1),
        pt::SHORT => Storage::Fixed(2),
        pt::LONG | pt::FLOAT | pt::ERROR => Storage::Fixed(4),
        pt::DOUBLE | pt::CURRENCY | pt::APPTIME | pt::I8 | pt::SYSTIME => Storage::Fixed(8),
        pt::CLSID => Storage::Fixed(16),
        pt::STRING8
        | pt::UNICODE
        | pt::BINARY
        | pt::OBJECT
        | pt::SVREID
        | pt::RESTRICTION
        | pt::RULE_ACTION => Storage::Variable,
        t if t & pt::MV != 0 => match storage(t & !pt::MV) {
            Storage::Fixed(_) | Storage::Variable => Storage::Variable,
            Storage::Unknown => Storage::Unknown,
        },
        _ => Storage::Unknown,
    }
}

/// Element size of a fixed-size multi-valued type, `None` for variable ones.
fn mv_element_size(ty: u16) -> Option<usize> {
    match storage(ty & !pt::MV) {
        Storage::Fixed(n) => Some(n),
        _ => None,
    }
}

/// A property value: its id, type and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropValue<'h> {
    pub id: u16,
    pub prop_type: u16,
    /// The value's bytes: the inline bytes of fixed types (1, 2, 4 or 8),
    /// the heap item or subnode data of others. For types the layer does not
    /// know, the stored bytes as they are (the 4-byte dwValueHnid in a PC,
    /// the cell in a TC).
    pub data: Cow<'h, [u8]>,
}

impl<'h> PropValue<'h> {
    pub fn new(id: u16, prop_type: u16, data: Cow<'h, [u8]>) -> PropValue<'h> {
        PropValue {
            id,
            prop_type,
            data,
        }
    }

    /// The property tag: id << 16 | type.
    pub fn tag(&self) -> u32 {
        (self.id as u32) << 16 | self.prop_type as u32
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    pub fn into_owned(self) -> PropValue<'static> {
        PropValue {
            id: self.id,
            prop_type: self.prop_type,
            data: Cow::Owned(self.data.into_owned()),
        }
    }

    pub fn is_multi(&self) -> bool {
        self.prop_type & pt::MV != 0
    }

    /// PT_SHORT.
    pub fn as_i16(&self) -> Option<i16> {
        (self.prop_type == pt::SHORT)
            .then(|| u16_at(&self.data, 0).map(|v| v as i16))
            .flatten()
    }

    /// PT_LONG, PT_ERROR, or PT_SHORT widened.
    pub fn as_i32(&self) -> Option<i32> {
        match self.prop_type {
            pt::LONG | pt::ERROR => u32_at(&self.data, 0).map(|v| v as i32),
            pt::SHORT => self.as_i16().map(i32::from),
            _ => None,
        }
    }

    /// PT_I8, PT_CURRENCY, PT_SYSTIME, or 32-bit integers widened.
    pub fn as_i64(&self) -> Option<i64> {
        match self.prop_type {
            pt::I8 | pt::CURRENCY | pt::SYSTIME => u64_at(&self.data, 0).map(|v| v as i64),
            _ => self.as_i32().map(i64::from),
        }
    }

    /// PT_SYSTIME as a FILETIME (100 ns since 1601-01-01 UTC).
    pub fn as_filetime(&self) -> Option<u64> {
        (self.prop_type == pt::SYSTIME)
            .then(|| u64_at(&self.data, 0))
            .flatten()
    }

    /// PT_DOUBLE, PT_APPTIME, or PT_FLOAT widened.
    pub fn as_f64(&self) -> Option<f64> {
        match self.prop_type {
            pt::DOUBLE | pt::APPTIME => u64_at(&self.data, 0).map(f64::from_bits),
            pt::FLOAT => u32_at(&self.data, 0).map(|v| f32::from_bits(v) as f64),
            _ => None,
        }
    }

    /// PT_BOOLEAN: any nonzero low byte is true.
    pub fn as_bool(&self) -> Option<bool> {
        (self.prop_type == pt::BOOLEAN)
            .then(|| self.data.first().map(|&b| b != 0))
            .flatten()
    }

    /// PT_CLSID, in on-disk byte order.
    pub fn as_guid(&self) -> Option<[u8; 16]> {
        if self.prop_type != pt::CLSID {
            return None;
        }
        self.data.get(..16)?.try_into().ok()
    }

    /// PT_UNICODE decoded from UTF-16LE (unpaired surrogates replaced, a
    /// trailing NUL dropped). `None` for other types: PT_STRING8 is left to
    /// the caller, who knows the code page (see [`PropValue::as_string8`]).
    pub fn as_string(&self) -> Option<String> {
        (self.prop_type == pt::UNICODE).then(|| utf16le(&self.data))
    }

    /// PT_STRING8's bytes, for the caller to decode with the right code page.
    pub fn as_string8(&self) -> Option<&[u8]> {
        (self.prop_type == pt::STRING8).then_some(&*self.data)
    }

    /// The elements of a multi-valued value: fixed-size types are a plain
    /// array; variable ones (strings, binaries, GUID-less) are ulCount,
    /// rgulDataOffsets[ulCount] and the data.
    pub fn values(&self) -> Result<Vec<&[u8]>> {
        if !self.is_multi() {
            return Err(LtpError::bad(
                "multi-valued property",
                0,
                "type",
                self.prop_type as u64,
            ));
        }
        split_multi(self.prop_type, &self.data)
    }

    /// The elements of PT_MV_UNICODE, decoded.
    pub fn as_strings(&self) -> Option<Vec<String>> {
        if self.prop_type != pt::MV | pt::UNICODE {
            return None;
        }
        Some(self.values().ok()?.into_iter().map(utf16le).collect())
    }
}

/// Decode PT_UNICODE bytes (UTF-16LE; unpaired surrogates become U+FFFD; a
/// trailing NUL, if stored, is dropped, and an odd last byte). The one
/// UTF-16 decoder of the workspace.
pub fn utf16le(bytes: &[u8]) -> String {
    let units = &bytes[..bytes.len() & !1];
    // Most text is ASCII. Test the whole text first with a branch-free OR
    // of its 8-byte words (`q` has 8 bytes, so the conversion cannot fail),
    // then copy the low bytes: neither loop exits early, so the compiler
    // turns both into vector code.
    let quads = units.chunks_exact(8);
    let tail = quads
        .remainder()
        .chunks_exact(2)
        .fold(0u16, |acc, u| acc | u16::from_le_bytes([u[0], u[1]]));
    let all = quads.fold(u64::from(tail), |acc, q| {
        acc | u64::from_le_bytes(q.try_into().unwrap_or([0xFF; 8]))
    });
    let mut s = if all & 0xFF80_FF80_FF80_FF80 == 0 {
        let ascii: Vec<u8> = units.chunks_exact(2).map(|u| u[0]).collect();
        // Only ASCII bytes: never the lossy branch.
        String::from_utf8(ascii)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    } else {
        char::decode_utf16(
            units
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]])),
        )
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
    };
    if s.ends_with('\0') {
        s.pop();
    }
    s
}

/// Split a multi-valued property's bytes into its elements.
pub fn split_multi(ty: u16, data: &[u8]) -> Result<Vec<&[u8]>> {
    if let Some(size) = mv_element_size(ty) {
        if data.len() % size != 0 {
            return Err(LtpError::bad(
                "multi-valued property",
                0,
                "size",
                data.len() as u64,
            ));
        }
        return Ok(data.chunks_exact(size).collect());
    }
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let count = u32_at(data, 0)
        .ok_or_else(|| LtpError::oob("multi-valued property", 0, 4, data.len() as u64))?
        as usize;
    // The offsets alone need 4 bytes each: check before allocating.
    let table_end = count
        .checked_mul(4)
        .and_then(|n| n.checked_add(4))
        .filter(|&n| n <= data.len())
        .ok_or_else(|| LtpError::bad("multi-valued property", 0, "ulCount", count as u64))?;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let start = u32_at(data, 4 + 4 * i).unwrap_or(0) as usize;
        let end = if i + 1 < count {
            u32_at(data, 8 + 4 * i).unwrap_or(0) as usize
        } else {
            data.len()
        };
        if start < table_end || start > end || end > data.len() {
            return Err(LtpError::bad(
                "multi-valued property",
                4 + 4 * i as u64,
                "rgulDataOffsets",
                start as u64,
            ));
        }
        out.push(&data[start..end]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(ty: u16, data: &[u8]) -> PropValue<'_> {
        PropValue::new(0x1234, ty, Cow::Borrowed(data))
    }

    #[test]
    fn typed_readers() {
        assert_eq!(v(pt::LONG, &(-5i32).to_le_bytes()).as_i32(), Some(-5));
        assert_eq!(v(pt::SHORT, &[0xFF, 0xFF]).as_i32(), Some(-1));
        assert_eq!(v(pt::BOOLEAN, &[1]).as_bool(), Some(true));
        assert_eq!(v(pt::BOOLEAN, &[0]).as_bool(), Some(false));
        assert_eq!(v(pt::LONG, &[1]).as_bool(), None);
        assert_eq!(v(pt::SYSTIME, &7u64.to_le_bytes()).as_filetime(), Some(7));
        assert_eq!(v(pt::I8, &(-2i64).to_le_bytes()).as_i64(), Some(-2));
        assert_eq!(v(pt::DOUBLE, &1.5f64.to_le_bytes()).as_f64(), Some(1.5));
        assert_eq!(v(pt::FLOAT, &2.5f32.to_le_bytes()).as_f64(), Some(2.5));
        assert_eq!(v(pt::UNICODE, b"h\0i\0\0\0").as_string().unwrap(), "hi");
        assert_eq!(v(pt::UNICODE, b"h\0i").as_string().unwrap(), "h");
        assert_eq!(v(pt::STRING8, b"abc").as_string(), None);
        assert_eq!(v(pt::STRING8, b"abc").as_string8(), Some(&b"abc"[..]));
        assert_eq!(v(pt::LONG, &[1, 2]).as_i32(), None);
        assert_eq!(v(pt::CLSID, &[7; 16]).as_guid(), Some([7; 16]));
        assert_eq!(v(0x0102, &[1]).tag(), 0x1234_0102);
    }

    #[test]
    fn multi_valued() {
        let fixed = [1u8, 0, 0, 0, 2, 0, 0, 0];
        let mv = v(pt::MV | pt::LONG, &fixed);
        let vals = mv.values().unwrap();
        assert_eq!(vals, vec![&[1, 0, 0, 0][..], &[2, 0, 0, 0][..]]);
        assert!(v(pt::MV | pt::LONG, &fixed[..7]).values().is_err());
        // Variable: count 2, offsets 12 and 16.
        let mut var = vec![2, 0, 0, 0, 12, 0, 0, 0, 16, 0, 0, 0];
        var.extend_from_slice(b"a\0b\0c\0");
        let mv = v(pt::MV | pt::UNICODE, &var);
        assert_eq!(
            mv.as_strings().unwrap(),
            vec!["ab".to_string(), "c".to_string()]
        );
        assert!(v(pt::MV | pt::UNICODE, &[]).values().unwrap().is_empty());
        // Hostile: huge count, offsets out of order / out of range.
        assert!(v(pt::MV | pt::BINARY, &[0xFF, 0xFF, 0xFF, 0xFF])
            .values()
            .is_err());
        let bad = [1u8, 0, 0, 0, 200, 0, 0, 0];
        assert!(v(pt::MV | pt::BINARY, &bad).values().is_err());
        let bad = [2u8, 0, 0, 0, 12, 0, 0, 0, 10, 0, 0, 0, 1, 2];
        assert!(v(pt::MV | pt::BINARY, &bad).values().is_err());
        assert!(v(pt::LONG, &fixed).values().is_err());
    }

    #[test]
    fn storage_classes() {
        assert_eq!(storage(pt::BOOLEAN), Storage::Fixed(1));
        assert_eq!(storage(pt::SYSTIME), Storage::Fixed(8));
        assert_eq!(storage(pt::CLSID), Storage::Fixed(16));
        assert_eq!(storage(pt::BINARY), Storage::Variable);
        assert_eq!(storage(pt::MV | pt::LONG), Storage::Variable);
        assert_eq!(storage(pt::UNSPECIFIED), Storage::Unknown);
        assert_eq!(storage(0x1234), Storage::Unknown);
        assert_eq!(storage(pt::MV | 0x0234), Storage::Unknown);
    }

    #[test]
    fn decodes_utf16le() {
        assert_eq!(utf16le(&[0x48, 0, 0x69, 0, 0, 0]), "Hi");
        assert_eq!(utf16le(&[0x00, 0xD8, 0x41, 0]), "\u{FFFD}A");
        assert_eq!(utf16le(&[0x41]), "");
        // ASCII, then a non-ASCII character, then a surrogate pair.
        let text = "ab\u{e9}c\u{1F600}d";
        let bytes: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(utf16le(&bytes), text);
    }

    /// The definition the fast path must agree with.
    fn reference(bytes: &[u8]) -> String {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let mut s = String::from_utf16_lossy(&units);
        if s.ends_with('\0') {
            s.pop();
        }
        s
    }

    #[test]
    fn ascii_fast_path_agrees_at_every_position() {
        // A non-ASCII unit (or a lone surrogate, or a NUL) at each position
        // of texts around the four-unit steps, odd byte counts included.
        for len in 0..20usize {
            for pos in 0..=len {
                for odd in [0x00E9u16, 0xD800, 0x0000, 0x0100, 0x0080] {
                    let mut units: Vec<u16> = (0..len as u16).map(|i| 0x41 + i).collect();
                    if pos < len {
                        units[pos] = odd;
                    }
                    let mut bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
                    assert_eq!(utf16le(&bytes), reference(&bytes), "{len} {pos} {odd:x}");
                    bytes.push(0x7F);
                    assert_eq!(utf16le(&bytes), reference(&bytes), "{len} {pos} odd");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn utf16le_matches_the_definition(
            units in proptest::collection::vec(
                proptest::prop_oneof![4 => 0u16..0x80, 1 => proptest::num::u16::ANY], 0..64),
            odd_byte in proptest::option::of(proptest::num::u8::ANY),
        ) {
            let mut bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
            bytes.extend(odd_byte);
            proptest::prop_assert_eq!(utf16le(&bytes), reference(&bytes));
        }
    }
}
