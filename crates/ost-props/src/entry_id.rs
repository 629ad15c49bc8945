//! Entry ids, as far as they name a folder or message of the store being
//! read: the PST form ([MS-PST] 2.4.3.2: flags, the store's PR_RECORD_KEY,
//! a NID) in stores Outlook made, and the long-term Exchange forms
//! ([MS-OXCDATA] 2.2.4.1 folder, 2.2.4.2 message) in caches of a mailbox,
//! which name the object by the 22 bytes of its source key.

use ost_ndb::Nid;

/// An entry id, as far as it names a folder or message of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryId {
    /// [MS-PST] 2.4.3.2: flags, provider UID (the store's PR_RECORD_KEY), NID.
    Pst { provider: [u8; 16], nid: Nid },
    /// [MS-OXCDATA] 2.2.4.1: the folder's source key is database GUID + global counter.
    ExchangeFolder {
        provider: [u8; 16],
        source_key: [u8; 22],
    },
    /// [MS-OXCDATA] 2.2.4.2: folder and message source keys.
    ExchangeMessage {
        provider: [u8; 16],
        folder_source_key: [u8; 22],
        message_source_key: [u8; 22],
    },
}

fn source_key_at(bytes: &[u8], at: usize) -> Option<[u8; 22]> {
    let mut key = [0u8; 22];
    key[..16].copy_from_slice(bytes.get(at..at + 16)?);
    key[16..].copy_from_slice(bytes.get(at + 16..at + 22)?);
    Some(key)
}

/// Decode an entry id by its length (24, 46 or 70 bytes); `None` for any
/// other shape. Never panics.
pub fn parse_entry_id(bytes: &[u8]) -> Option<EntryId> {
    let provider: [u8; 16] = bytes.get(4..20)?.try_into().ok()?;
    match bytes.len() {
        24 => Some(EntryId::Pst {
            provider,
            nid: Nid(u32::from_le_bytes(bytes.get(20..24)?.try_into().ok()?)),
        }),
        // flags 4, provider 16, type 2, then database GUID 16 + counter 6.
        46 => Some(EntryId::ExchangeFolder {
            provider,
            source_key: source_key_at(bytes, 22)?,
        }),
        70 => Some(EntryId::ExchangeMessage {
            provider,
            folder_source_key: source_key_at(bytes, 22)?,
            message_source_key: source_key_at(bytes, 46)?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_by_length() {
        let mut pst_id = vec![0u8; 4];
        pst_id.extend_from_slice(&[7; 16]);
        pst_id.extend_from_slice(&0x8042u32.to_le_bytes());
        assert_eq!(
            parse_entry_id(&pst_id),
            Some(EntryId::Pst {
                provider: [7; 16],
                nid: Nid(0x8042)
            })
        );
        assert_eq!(parse_entry_id(&pst_id[..23]), None);
        assert_eq!(parse_entry_id(&[]), None);
        let mut ex = vec![0u8; 20];
        ex.extend_from_slice(&[1, 0]);
        ex.extend_from_slice(&[9; 16]);
        ex.extend_from_slice(&[0, 0, 0, 0, 1, 0x5c]);
        ex.extend_from_slice(&[0, 0]);
        match parse_entry_id(&ex) {
            Some(EntryId::ExchangeFolder { source_key, .. }) => {
                assert_eq!(&source_key[..16], &[9; 16]);
                assert_eq!(&source_key[16..], &[0, 0, 0, 0, 1, 0x5c]);
            }
            other => panic!("{other:?}"),
        }
    }
}
