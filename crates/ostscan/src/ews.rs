//! The EWS form of a change key: what Exchange Web Services' `ChangeKey`
//! attribute (and Microsoft Graph's `changeKey`) holds, base64-encoded.
//!
//! Decoded, it is an 8-byte header, then the item's PR_CHANGE_KEY (an XID):
//! a 4-byte little-endian number Exchange sets by the kind of item, a
//! 4-byte little-endian length, then that many bytes. `CQAAABYAAAB...` is
//! such a value: type 9, 22 bytes of XID.

/// Bytes of the header before the XID.
pub const HEADER_BYTES: usize = 8;

/// An EWS change key split into its header and the PR_CHANGE_KEY it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EwsChangeKey<'a> {
    /// The first 4 bytes (little-endian): set by the kind of item.
    pub item_type: u32,
    /// The PR_CHANGE_KEY bytes (as many as the header's length says).
    pub change_key: &'a [u8],
}

/// Split the base64-decoded bytes of an EWS `ChangeKey`; the reason when
/// they are not of that form (too short, or a length that does not match
/// the bytes that follow).
pub fn parse_change_key(bytes: &[u8]) -> Result<EwsChangeKey<'_>, String> {
    let Some((header, rest)) = bytes.split_first_chunk::<HEADER_BYTES>() else {
        return Err(format!(
            "{} bytes, shorter than the {HEADER_BYTES}-byte header",
            bytes.len()
        ));
    };
    let item_type = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if len != rest.len() {
        return Err(format!(
            "the header says {len} bytes of change key, {} follow",
            rest.len()
        ));
    }
    Ok(EwsChangeKey {
        item_type,
        change_key: rest,
    })
}

/// The XID of an EWS `ChangeKey`, base64-decoded (see [`parse_change_key`]).
pub fn ews_change_key(bytes: &[u8]) -> Result<&[u8], String> {
    parse_change_key(bytes).map(|k| k.change_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::base64_decode;

    #[test]
    fn splits_the_header_of_a_real_shape() {
        // Type 9, 22 bytes: the shape of the ChangeKey of a mail item.
        let mut bytes = vec![9, 0, 0, 0, 22, 0, 0, 0];
        bytes.extend_from_slice(&[0x44; 22]);
        let k = parse_change_key(&bytes).unwrap();
        assert_eq!(k.item_type, 9);
        assert_eq!(k.change_key, &[0x44; 22]);
        assert!(crate::paths::base64_encode(&bytes).starts_with("CQAAABYAAAB"));
        assert_eq!(base64_decode("CQAAAAAAAAA=").unwrap().len(), 8);
        assert_eq!(
            ews_change_key(&bytes[..8]).unwrap_err(),
            "the header says 22 bytes of change key, 0 follow"
        );
        assert!(parse_change_key(&bytes[..7])
            .unwrap_err()
            .contains("shorter than the 8-byte header"));
    }
}
