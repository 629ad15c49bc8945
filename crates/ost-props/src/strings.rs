//! Text of string properties: PT_UNICODE is UTF-16LE; PT_STRING8 is in the
//! item's Windows code page (PR_MESSAGE_CODEPAGE, else the default).

use encoding_rs::Encoding;
use ost_ndb::ltp::prop_type as pt;
use ost_ndb::ltp::PropValue;

/// The code page of PT_STRING8 values when an item names none.
pub const DEFAULT_CODEPAGE: u32 = 1252;

/// Text of a string property, decoding PT_STRING8 with `codepage`.
pub fn prop_string(v: &PropValue<'_>, codepage: u32) -> Option<String> {
    match v.prop_type {
        pt::UNICODE => Some(decode_unicode(v.as_bytes())),
        pt::STRING8 => Some(decode_string8(v.as_bytes(), codepage)),
        _ => None,
    }
}

/// The encoding of a Windows code page number, falling back to
/// windows-1252 for pages encoding_rs does not know.
pub fn encoding_for_codepage(cp: u32) -> &'static Encoding {
    use encoding_rs::*;
    match cp {
        65001 => UTF_8,
        874 => WINDOWS_874,
        932 => SHIFT_JIS,
        936 | 54936 => GBK,
        949 => EUC_KR,
        950 => BIG5,
        1200 => UTF_16LE,
        1201 => UTF_16BE,
        1250 => WINDOWS_1250,
        1251 => WINDOWS_1251,
        1253 => WINDOWS_1253,
        1254 => WINDOWS_1254,
        1255 => WINDOWS_1255,
        1256 => WINDOWS_1256,
        1257 => WINDOWS_1257,
        1258 => WINDOWS_1258,
        20866 => KOI8_R,
        21866 => KOI8_U,
        28592 => ISO_8859_2,
        28595 => ISO_8859_5,
        28597 => ISO_8859_7,
        28605 => ISO_8859_15,
        50220..=50222 => ISO_2022_JP,
        51932 => EUC_JP,
        _ => WINDOWS_1252,
    }
}

/// Decode PT_STRING8 bytes (a trailing NUL, if stored, is dropped).
pub fn decode_string8(bytes: &[u8], codepage: u32) -> String {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    let (text, _, _) = encoding_for_codepage(codepage).decode(bytes);
    text.into_owned()
}

/// Decode PT_UNICODE bytes (UTF-16LE; unpaired surrogates become U+FFFD; a
/// trailing NUL, if stored, is dropped).
pub fn decode_unicode(bytes: &[u8]) -> String {
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

/// A subject without its 0x01+length prefix marker: Outlook stores subjects
/// like "RE: x" as "\u{1}\u{4}RE: x", the second character giving the
/// length of the prefix. The normal view drops those two characters.
pub fn strip_subject_marker(s: &str) -> &str {
    let mut chars = s.chars();
    if chars.next() == Some('\u{1}') && chars.next().is_some() {
        chars.as_str()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_marker() {
        assert_eq!(strip_subject_marker("\u{1}\u{1}Success"), "Success");
        assert_eq!(strip_subject_marker("\u{1}\u{4}RE: hi"), "RE: hi");
        assert_eq!(strip_subject_marker("plain"), "plain");
        assert_eq!(strip_subject_marker("\u{1}"), "\u{1}");
        assert_eq!(strip_subject_marker(""), "");
    }

    #[test]
    fn decodes_both_string_types() {
        assert_eq!(decode_unicode(&[0x48, 0, 0x69, 0, 0, 0]), "Hi");
        assert_eq!(decode_unicode(&[0x00, 0xD8, 0x41, 0]), "\u{FFFD}A");
        assert_eq!(decode_unicode(&[0x41]), "");
        // ASCII, then a non-ASCII character, then a surrogate pair.
        let text = "ab\u{e9}c\u{1F600}d";
        let bytes: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(decode_unicode(&bytes), text);
        assert_eq!(decode_string8(b"caf\xe9\0", 1252), "café");
        assert_eq!(decode_string8(b"\xcf\xf0\xe8", 1251), "При");
        assert_eq!(decode_string8(b"x", 999_999), "x");
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
                    assert_eq!(
                        decode_unicode(&bytes),
                        reference(&bytes),
                        "{len} {pos} {odd:x}"
                    );
                    bytes.push(0x7F);
                    assert_eq!(decode_unicode(&bytes), reference(&bytes), "{len} {pos} odd");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn decode_unicode_matches_the_definition(
            units in proptest::collection::vec(
                proptest::prop_oneof![4 => 0u16..0x80, 1 => proptest::num::u16::ANY], 0..64),
            odd_byte in proptest::option::of(proptest::num::u8::ANY),
        ) {
            let mut bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
            bytes.extend(odd_byte);
            proptest::prop_assert_eq!(decode_unicode(&bytes), reference(&bytes));
        }
    }
}
