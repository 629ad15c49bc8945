//! Text of string properties: PT_UNICODE is UTF-16LE; PT_STRING8 is in the
//! item's Windows code page (PR_MESSAGE_CODEPAGE, else the default).

use encoding_rs::Encoding;
use ost_ndb::ltp::prop_type as pt;
use ost_ndb::ltp::value::utf16le;
use ost_ndb::ltp::PropValue;

/// The code page of PT_STRING8 values when an item names none.
pub const DEFAULT_CODEPAGE: u32 = 1252;

/// Text of a string property, decoding PT_STRING8 with `codepage`.
pub fn prop_string(v: &PropValue<'_>, codepage: u32) -> Option<String> {
    match v.prop_type {
        pt::UNICODE => Some(utf16le(v.as_bytes())),
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
    fn decodes_string8_in_its_code_page() {
        assert_eq!(decode_string8(b"caf\xe9\0", 1252), "café");
        assert_eq!(decode_string8(b"\xcf\xf0\xe8", 1251), "При");
        assert_eq!(decode_string8(b"x", 999_999), "x");
    }
}
