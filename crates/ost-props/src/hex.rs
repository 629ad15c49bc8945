//! Hex text of bytes. Reports print change keys, PCLs, source keys and
//! GUIDs in hex, several per finding, so the digits come from a table
//! rather than a format string per byte.

pub(crate) const UPPER: &[u8; 16] = b"0123456789ABCDEF";
pub(crate) const LOWER: &[u8; 16] = b"0123456789abcdef";

/// The two hex digits of `byte`, from `digits` ([`UPPER`] or [`LOWER`]).
pub(crate) fn hex_digits(byte: u8, digits: &[u8; 16]) -> [u8; 2] {
    [
        digits[usize::from(byte >> 4)],
        digits[usize::from(byte & 15)],
    ]
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        for digit in hex_digits(byte, LOWER) {
            out.push(char::from(digit));
        }
    }
    out
}
