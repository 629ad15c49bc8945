//! The messaging layer ([MS-PST] 2.4): message store, name-to-id map,
//! folders with their hierarchy / contents / associated contents tables,
//! messages with recipients and attachments.
//!
//! [`StoreWriter`] streams: each message is written when it is added; the
//! folders and their tables, which list the messages, are written at
//! [`StoreWriter::finish`].

use std::collections::BTreeMap;
use std::io::{self, Seek, Write};

use ost_ndb::ndb::crc::crc32;
use ost_ndb::ndb::crypt::CryptMethod;

use crate::format::{Format, SyncPlacement};
use crate::ltp_writer::{
    ansi_string, ptype, write_pc, write_replica_map, write_tc, Column, PropValue, Row,
};
use crate::manifest::{
    filetime_rfc3339, hex, FolderRecord, ItemKind, ManifestRecord, MidRecord, ReplicaRecord,
    StoreRecord,
};
use crate::ndb_writer::{HeaderInfo, Layout, NdbWriter, NidType, SubnodeEntry};
use crate::ost_ids::{Mid, OstIdentity, SERVER_REPLICA_ID};

/// Property ids used by the writer.
pub mod pid {
    pub const IMPORTANCE: u16 = 0x0017;
    pub const MESSAGE_CLASS: u16 = 0x001A;
    pub const SUBJECT: u16 = 0x0037;
    pub const DISPLAY_TO: u16 = 0x0E04;
    pub const MESSAGE_DELIVERY_TIME: u16 = 0x0E06;
    pub const MESSAGE_FLAGS: u16 = 0x0E07;
    pub const MESSAGE_SIZE: u16 = 0x0E08;
    pub const MESSAGE_STATUS: u16 = 0x0E17;
    pub const ATTACH_SIZE: u16 = 0x0E20;
    pub const RECIPIENT_TYPE: u16 = 0x0C15;
    pub const RECORD_KEY: u16 = 0x0FF9;
    pub const BODY: u16 = 0x1000;
    pub const RTF_COMPRESSED: u16 = 0x1009;
    pub const ROWID: u16 = 0x3000;
    pub const DISPLAY_NAME: u16 = 0x3001;
    pub const ADDRTYPE: u16 = 0x3002;
    pub const EMAIL_ADDRESS: u16 = 0x3003;
    pub const CREATION_TIME: u16 = 0x3007;
    pub const LAST_MODIFICATION_TIME: u16 = 0x3008;
    pub const VALID_FOLDER_MASK: u16 = 0x35DF;
    pub const IPM_SUBTREE_ENTRYID: u16 = 0x35E0;
    pub const IPM_WASTEBASKET_ENTRYID: u16 = 0x35E3;
    pub const CONTENT_COUNT: u16 = 0x3602;
    pub const CONTENT_UNREAD: u16 = 0x3603;
    pub const SUBFOLDERS: u16 = 0x360A;
    pub const CONTAINER_CLASS: u16 = 0x3613;
    pub const ASSOC_CONTENT_COUNT: u16 = 0x3617;
    pub const ADDITIONAL_REN_ENTRYIDS: u16 = 0x36D8;
    pub const ATTACH_DATA_BIN: u16 = 0x3701;
    pub const ATTACH_FILENAME: u16 = 0x3704;
    pub const ATTACH_METHOD: u16 = 0x3705;
    pub const ATTACH_LONG_FILENAME: u16 = 0x3707;
    pub const RENDERING_POSITION: u16 = 0x370B;
    pub const SOURCE_KEY: u16 = 0x65E0;
    pub const PARENT_SOURCE_KEY: u16 = 0x65E1;
    pub const CHANGE_KEY: u16 = 0x65E2;
    pub const PREDECESSOR_CHANGE_LIST: u16 = 0x65E3;
    pub const CONFLICT_ENTRYID: u16 = 0x3FF0;
    /// PidTagMid on messages, PidTagFolderId on folders (PT_I8).
    pub const MID: u16 = 0x67F4;
    /// Message store, PT_CLSID: the provider UID of the OST's long-term
    /// entry ids (no public name).
    pub const OST_PROVIDER_UID: u16 = 0x6615;
    /// Message store, PT_BINARY: holds the OST's local namespace GUID at
    /// bytes 4..20 (no public name).
    pub const OST_LOCAL_NAMESPACE: u16 = 0x7C07;
}

/// Message flags (PR_MESSAGE_FLAGS).
const MSGFLAG_READ: i32 = 0x01;
const MSGFLAG_HASATTACH: i32 = 0x10;
const MSGFLAG_ASSOCIATED: i32 = 0x40;

/// Fixed NIDs ([MS-PST] 2.4.1).
pub const NID_MESSAGE_STORE: u32 = 0x21;
pub const NID_NAME_TO_ID_MAP: u32 = 0x61;
pub const NID_ROOT_FOLDER: u32 = 0x122;
/// The replica map of an OST (internal NID, not in [MS-PST]).
pub const NID_REPLICA_MAP: u32 = 0x801;
const NID_RECIPIENT_TABLE: u32 = 0x692;
const NID_ATTACHMENT_TABLE: u32 = 0x671;

/// PS_MAPI and PS_PUBLIC_STRINGS, which the name-to-id map refers to by number.
pub const PS_MAPI: [u8; 16] = [
    0x28, 0x03, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];
pub const PS_PUBLIC_STRINGS: [u8; 16] = [
    0x29, 0x03, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];

/// A change key, PCL and last modification time, as one place holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncValues {
    /// PR_CHANGE_KEY.
    pub change_key: Option<Vec<u8>>,
    /// PR_PREDECESSOR_CHANGE_LIST.
    pub pcl: Option<Vec<u8>>,
    /// PR_LAST_MODIFICATION_TIME (FILETIME).
    pub last_modified: Option<u64>,
}

/// Handle of a folder of a [`StoreWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FolderId(pub usize);

/// A recipient row.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// PR_DISPLAY_NAME.
    pub name: String,
    /// PR_EMAIL_ADDRESS (SMTP).
    pub email: String,
}

/// An attachment by value.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    /// PR_ATTACH_LONG_FILENAME.
    pub filename: String,
    /// PR_ATTACH_DATA_BIN.
    pub data: Vec<u8>,
}

/// Name of a named property.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PropName {
    /// Numeric (LID).
    Id(u32),
    /// String name.
    Name(String),
}

/// A named property: property set GUID and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NamedProp {
    /// Property set.
    pub guid: [u8; 16],
    /// Name within the set.
    pub name: PropName,
}

/// A message to write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    /// PR_SUBJECT.
    pub subject: String,
    /// PR_MESSAGE_CLASS, e.g. "IPM.Note".
    pub message_class: String,
    /// PR_CHANGE_KEY.
    pub change_key: Option<Vec<u8>>,
    /// PR_PREDECESSOR_CHANGE_LIST.
    pub pcl: Option<Vec<u8>>,
    /// PR_SOURCE_KEY (left out of messages in [`SyncPlacement::Rows`]
    /// stores: real OSTs have none, it follows from the MID).
    pub source_key: Option<Vec<u8>>,
    /// PR_LAST_MODIFICATION_TIME (FILETIME); also the creation and delivery
    /// times.
    pub last_modified: Option<u64>,
    /// Listed in the associated (FAI) contents table instead of the contents table.
    pub associated: bool,
    /// MSGFLAG_READ.
    pub read: bool,
    /// PR_BODY (large bodies go to a subnode).
    pub body: Option<String>,
    /// Any other properties (these win over the ones the writer sets).
    pub extra: Vec<(u16, PropValue)>,
    /// Named properties (ids 0x8000 and up, registered in the name-to-id map).
    pub named: Vec<(NamedProp, PropValue)>,
    /// Recipients table rows.
    pub recipients: Vec<Recipient>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// Fault rule ids planted on this message (manifest only).
    pub planted: Vec<String>,
    /// Where `change_key`, `pcl` and `last_modified` go; `None`: the
    /// store's [`StoreWriter::set_sync_placement`].
    pub sync_placement: Option<SyncPlacement>,
    /// What the contents-table row says instead of `change_key`, `pcl` and
    /// `last_modified` (rows with sync columns only): a row that disagrees
    /// with the item, or lacks what the item has.
    pub row_sync: Option<SyncValues>,
    /// PidTagMid (0x67F4), in the property context and, in stores with
    /// sync columns, the row.
    pub mid: Option<Mid>,
}

/// What a folder's contents table says of one message.
struct RowInfo {
    nid: u32,
    subject: String,
    class: String,
    flags: i32,
    size: i32,
    /// PR_MESSAGE_DELIVERY_TIME.
    delivered: Option<u64>,
    /// The row's change key, PCL and modification time.
    sync: SyncValues,
    mid: Option<Mid>,
}

struct Folder {
    nid: u32,
    parent: Option<usize>,
    name: String,
    container_class: Option<String>,
    props: Vec<(u16, PropValue)>,
    children: Vec<usize>,
    contents: Vec<RowInfo>,
    associated: Vec<RowInfo>,
    /// PidTagFolderId (0x67F4).
    fid: Option<Mid>,
}

/// Registry of named properties (written as the name-to-id map).
#[derive(Default)]
struct NameMap {
    ids: BTreeMap<NamedProp, u16>,
    order: Vec<NamedProp>,
}

impl NameMap {
    fn id(&mut self, name: &NamedProp) -> u16 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = 0x8000 + self.order.len() as u16;
        assert!(id < 0xFFFF, "too many named properties");
        self.ids.insert(name.clone(), id);
        self.order.push(name.clone());
        id
    }

    /// PidTagNameidBucketCount, streams and buckets ([MS-PST] 2.4.7).
    fn props(&self) -> Vec<(u16, PropValue)> {
        const BUCKETS: u32 = 251;
        let mut guids: Vec<[u8; 16]> = Vec::new();
        let mut entries = Vec::new();
        let mut strings = Vec::new();
        let mut buckets: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
        for (i, np) in self.order.iter().enumerate() {
            let guid_index: u16 = if np.guid == PS_MAPI {
                1
            } else if np.guid == PS_PUBLIC_STRINGS {
                2
            } else {
                let k = guids.iter().position(|g| *g == np.guid).unwrap_or_else(|| {
                    guids.push(np.guid);
                    guids.len() - 1
                });
                3 + k as u16
            };
            let (key, hash_key, is_string) = match &np.name {
                PropName::Id(lid) => (*lid, *lid, 0u16),
                PropName::Name(s) => {
                    let utf = crate::ltp_writer::utf16(s);
                    let off = strings.len() as u32;
                    strings.extend_from_slice(&(utf.len() as u32).to_le_bytes());
                    strings.extend_from_slice(&utf);
                    while strings.len() % 4 != 0 {
                        strings.push(0);
                    }
                    (off, crc32(&utf), 1u16)
                }
            };
            let wguid = (guid_index << 1) | is_string;
            let mut e = key.to_le_bytes().to_vec();
            e.extend_from_slice(&wguid.to_le_bytes());
            e.extend_from_slice(&(i as u16).to_le_bytes());
            entries.extend_from_slice(&e);
            let bucket = (hash_key ^ wguid as u32) % BUCKETS;
            let be = buckets.entry(bucket).or_default();
            be.extend_from_slice(&hash_key.to_le_bytes());
            be.extend_from_slice(&wguid.to_le_bytes());
            be.extend_from_slice(&(i as u16).to_le_bytes());
        }
        let mut props = vec![
            (0x0001, PropValue::Long(BUCKETS as i32)),
            (0x0002, PropValue::Binary(guids.concat())),
            (0x0003, PropValue::Binary(entries)),
            (0x0004, PropValue::Binary(strings)),
        ];
        for (b, data) in buckets {
            props.push((0x1000 + b as u16, PropValue::Binary(data)));
        }
        props
    }
}

/// Everything [`StoreWriter::finish`] hands back.
pub struct Written<W> {
    /// The output, positioned at its end.
    pub out: W,
    /// Where every block, node and page went.
    pub layout: Layout,
    /// One record per message, in the order a folder walk meets them.
    pub manifest: Vec<ManifestRecord>,
    /// The store's ids (stores with an [`OstIdentity`] only).
    pub store: Option<StoreRecord>,
}

/// Streaming writer of a message store.
pub struct StoreWriter<W: Write + Seek> {
    ndb: NdbWriter<W>,
    format: Format,
    folders: Vec<Folder>,
    records: Vec<(usize, ManifestRecord)>,
    names: NameMap,
    next_folder_index: u32,
    next_message_index: u32,
    next_assoc_index: u32,
    record_key: [u8; 16],
    display_name: String,
    wastebasket: Option<FolderId>,
    unique: u32,
    placement: SyncPlacement,
    identity: Option<OstIdentity>,
    /// Highest GLOBCNT of the server replica in the ids written.
    server_globcnt_high: u64,
}

impl<W: Write + Seek> StoreWriter<W> {
    /// Start a store with the root folder and "Top of Personal Folders".
    /// `record_key` is the store's PR_RECORD_KEY (provider UID of its entry ids).
    pub fn new(
        out: W,
        format: Format,
        crypt: CryptMethod,
        record_key: [u8; 16],
    ) -> io::Result<Self> {
        let ndb = NdbWriter::new(out, format, crypt)?;
        let mut w = StoreWriter {
            ndb,
            format,
            folders: Vec::new(),
            records: Vec::new(),
            names: NameMap::default(),
            next_folder_index: 0x402,
            next_message_index: 0x10001,
            next_assoc_index: 0x10001,
            record_key,
            display_name: "Personal Folders".into(),
            wastebasket: None,
            unique: crc32(&record_key),
            placement: SyncPlacement::Item,
            identity: None,
            server_globcnt_high: 0,
        };
        w.folders.push(Folder {
            nid: NID_ROOT_FOLDER,
            parent: None,
            name: String::new(),
            container_class: None,
            props: Vec::new(),
            children: Vec::new(),
            contents: Vec::new(),
            associated: Vec::new(),
            fid: None,
        });
        w.add_folder_with_nid(
            FolderId(0),
            "Top of Personal Folders",
            NidType::NormalFolder.nid(0x401),
        );
        Ok(w)
    }

    /// The file variant.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The root folder (NID 0x122, path "/").
    pub fn root(&self) -> FolderId {
        FolderId(0)
    }

    /// "Top of Personal Folders" (the IPM subtree).
    pub fn ipm_subtree(&self) -> FolderId {
        FolderId(1)
    }

    /// Set the store's PR_DISPLAY_NAME.
    pub fn set_display_name(&mut self, name: &str) {
        self.display_name = name.into();
    }

    /// Where messages keep their change key, PCL and last modification time
    /// (default [`SyncPlacement::Item`]). With `Rows` or `Both`, contents
    /// and associated contents tables get the columns real OSTs have for
    /// them (PR_MESSAGE_STATUS, PR_CHANGE_KEY, PR_PREDECESSOR_CHANGE_LIST,
    /// PidTagMid) and `Rows` leaves them, and PR_SOURCE_KEY, out of the
    /// messages' property contexts. Set it before adding messages.
    pub fn set_sync_placement(&mut self, placement: SyncPlacement) {
        assert!(
            self.records.is_empty(),
            "set the sync placement before adding messages"
        );
        self.placement = placement;
    }

    /// The store's sync placement.
    pub fn sync_placement(&self) -> SyncPlacement {
        self.placement
    }

    /// Make this an OST of a mailbox: the replica map (NID 0x801), the
    /// store's 0x7C07 and 0x6615 are written at [`StoreWriter::finish`],
    /// and folders with an id get long-term entry ids.
    pub fn set_ost_identity(&mut self, identity: OstIdentity) {
        assert!(
            identity.replicas.len() > SERVER_REPLICA_ID as usize,
            "an OST identity needs replicas 0 and 1"
        );
        self.identity = Some(identity);
    }

    /// The store's OST identity, if any.
    pub fn ost_identity(&self) -> Option<&OstIdentity> {
        self.identity.as_ref()
    }

    /// Give a folder its PidTagFolderId (0x67F4).
    pub fn set_folder_fid(&mut self, folder: FolderId, fid: Mid) {
        self.note_id(fid);
        self.folders[folder.0].fid = Some(fid);
    }

    /// A folder's PidTagFolderId, if set.
    pub fn folder_fid(&self, folder: FolderId) -> Option<Mid> {
        self.folders[folder.0].fid
    }

    /// The folder's long-term entry id (46 bytes), when the store has an
    /// OST identity and the folder an id.
    pub fn long_term_entry_id(&self, folder: FolderId) -> Option<Vec<u8>> {
        let fid = self.folders[folder.0].fid?;
        Some(self.identity.as_ref()?.folder_entry_id(fid))
    }

    fn note_id(&mut self, id: Mid) {
        if id.replica_id == SERVER_REPLICA_ID {
            self.server_globcnt_high = self.server_globcnt_high.max(id.globcnt);
        }
    }

    /// Make `folder` the store's wastebasket (PR_IPM_WASTEBASKET_ENTRYID).
    pub fn set_wastebasket(&mut self, folder: FolderId) {
        self.wastebasket = Some(folder);
    }

    fn add_folder_with_nid(&mut self, parent: FolderId, name: &str, nid: u32) -> FolderId {
        let id = self.folders.len();
        self.folders.push(Folder {
            nid,
            parent: Some(parent.0),
            name: name.into(),
            container_class: None,
            props: Vec::new(),
            children: Vec::new(),
            contents: Vec::new(),
            associated: Vec::new(),
            fid: None,
        });
        self.folders[parent.0].children.push(id);
        FolderId(id)
    }

    /// Add a folder under `parent`.
    pub fn add_folder(&mut self, parent: FolderId, name: &str) -> FolderId {
        let nid = NidType::NormalFolder.nid(self.next_folder_index);
        self.next_folder_index += 1;
        self.add_folder_with_nid(parent, name, nid)
    }

    /// Set PR_CONTAINER_CLASS of a folder (e.g. "IPF.Note").
    pub fn set_container_class(&mut self, folder: FolderId, class: &str) {
        self.folders[folder.0].container_class = Some(class.into());
    }

    /// Add a property to a folder's PC.
    pub fn set_folder_prop(&mut self, folder: FolderId, id: u16, value: PropValue) {
        self.folders[folder.0].props.retain(|p| p.0 != id);
        self.folders[folder.0].props.push((id, value));
    }

    /// NID of a folder.
    pub fn folder_nid(&self, folder: FolderId) -> u32 {
        self.folders[folder.0].nid
    }

    /// The folder's entry id: flags, the store's provider UID, the NID.
    pub fn entry_id(&self, folder: FolderId) -> Vec<u8> {
        entry_id(&self.record_key, self.folders[folder.0].nid)
    }

    /// "/" + names from the root folder down.
    pub fn folder_path(&self, folder: FolderId) -> String {
        let mut names = Vec::new();
        let mut f = Some(folder.0);
        while let Some(i) = f {
            if self.folders[i].parent.is_some() {
                names.push(self.string_as_read(&self.folders[i].name));
            }
            f = self.folders[i].parent;
        }
        names.reverse();
        format!("/{}", names.join("/"))
    }

    /// A string as a reader will decode it from this file.
    fn string_as_read(&self, s: &str) -> String {
        if self.format.is_ansi() {
            ansi_string(s)
        } else {
            s.to_string()
        }
    }

    /// Write a message into `folder`; returns its NID.
    pub fn add_message(&mut self, folder: FolderId, m: &Message) -> io::Result<u32> {
        let (nid_type, index) = if m.associated {
            (NidType::AssocMessage, &mut self.next_assoc_index)
        } else {
            (NidType::NormalMessage, &mut self.next_message_index)
        };
        let nid = nid_type.nid(*index);
        *index += 1;
        let mut flags = 0;
        if m.read {
            flags |= MSGFLAG_READ;
        }
        if !m.attachments.is_empty() {
            flags |= MSGFLAG_HASATTACH;
        }
        if m.associated {
            flags |= MSGFLAG_ASSOCIATED;
        }
        let mut props: BTreeMap<u16, PropValue> = BTreeMap::new();
        props.insert(
            pid::MESSAGE_CLASS,
            PropValue::String(m.message_class.clone()),
        );
        props.insert(pid::SUBJECT, PropValue::String(m.subject.clone()));
        props.insert(pid::MESSAGE_FLAGS, PropValue::Long(flags));
        props.insert(pid::MESSAGE_STATUS, PropValue::Long(0));
        props.insert(pid::IMPORTANCE, PropValue::Long(1));
        let placement = m.sync_placement.unwrap_or(self.placement);
        if let Some(t) = m.last_modified {
            if placement.in_item() {
                props.insert(pid::LAST_MODIFICATION_TIME, PropValue::SysTime(t));
            }
            props.insert(pid::CREATION_TIME, PropValue::SysTime(t));
            props.insert(pid::MESSAGE_DELIVERY_TIME, PropValue::SysTime(t));
        }
        // Real OSTs keep no source key in a message: it follows from the MID.
        let pc_source_key = m.source_key.as_ref().filter(|_| self.placement.in_item());
        if let Some(v) = pc_source_key {
            props.insert(pid::SOURCE_KEY, PropValue::Binary(v.clone()));
        }
        if placement.in_item() {
            if let Some(v) = &m.change_key {
                props.insert(pid::CHANGE_KEY, PropValue::Binary(v.clone()));
            }
            if let Some(v) = &m.pcl {
                props.insert(pid::PREDECESSOR_CHANGE_LIST, PropValue::Binary(v.clone()));
            }
        }
        if let Some(mid) = m.mid {
            props.insert(pid::MID, PropValue::I64(mid.as_i64()));
            self.note_id(mid);
        }
        if let Some(b) = &m.body {
            props.insert(pid::BODY, PropValue::String(b.clone()));
        }
        if !m.recipients.is_empty() {
            let to: Vec<&str> = m.recipients.iter().map(|r| r.name.as_str()).collect();
            props.insert(pid::DISPLAY_TO, PropValue::String(to.join("; ")));
        }
        for (np, v) in &m.named {
            let id = self.names.id(np);
            props.insert(id, v.clone());
        }
        for (id, v) in &m.extra {
            props.insert(*id, v.clone());
        }
        let size: usize = props
            .values()
            .map(|v| v.encoded_len(self.format) + 8)
            .sum::<usize>()
            + m.attachments.iter().map(|a| a.data.len()).sum::<usize>();
        let size = size.min(i32::MAX as usize) as i32;
        props.insert(pid::MESSAGE_SIZE, PropValue::Long(size));
        let props: Vec<(u16, PropValue)> = props.into_iter().collect();

        let mut next_subnode = 1u32;
        let pc = write_pc(&mut self.ndb, &props, &mut next_subnode)?;
        let mut subnodes = pc.subnodes;

        // Recipients table: every message has one ([MS-PST] 2.4.4.5).
        let recipient_columns = [
            Column {
                id: pid::RECIPIENT_TYPE,
                ptype: ptype::LONG,
            },
            Column {
                id: pid::DISPLAY_NAME,
                ptype: ptype::UNICODE,
            },
            Column {
                id: pid::ADDRTYPE,
                ptype: ptype::UNICODE,
            },
            Column {
                id: pid::EMAIL_ADDRESS,
                ptype: ptype::UNICODE,
            },
            Column {
                id: pid::ROWID,
                ptype: ptype::LONG,
            },
        ];
        let rows: Vec<Row> = m
            .recipients
            .iter()
            .enumerate()
            .map(|(i, r)| Row {
                id: i as u32,
                values: vec![
                    Some(PropValue::Long(1)),
                    Some(PropValue::String(r.name.clone())),
                    Some(PropValue::String("SMTP".into())),
                    Some(PropValue::String(r.email.clone())),
                    Some(PropValue::Long(i as i32)),
                ],
            })
            .collect();
        let mut table_subnode = 1u32;
        let t = write_tc(&mut self.ndb, &recipient_columns, &rows, &mut table_subnode)?;
        let mut t_subs = t.subnodes;
        let bid_sub = self.ndb.write_subnodes(&mut t_subs)?;
        subnodes.push(SubnodeEntry {
            nid: NID_RECIPIENT_TABLE,
            bid_data: t.bid_data,
            bid_sub,
        });

        if !m.attachments.is_empty() {
            let mut rows = Vec::new();
            for (i, a) in m.attachments.iter().enumerate() {
                let anid = NidType::Attachment.nid(0x401 + i as u32);
                let aprops = vec![
                    (pid::ATTACH_SIZE, PropValue::Long(a.data.len() as i32)),
                    (pid::ATTACH_DATA_BIN, PropValue::Binary(a.data.clone())),
                    (pid::ATTACH_FILENAME, PropValue::String(a.filename.clone())),
                    (pid::ATTACH_METHOD, PropValue::Long(1)),
                    (
                        pid::ATTACH_LONG_FILENAME,
                        PropValue::String(a.filename.clone()),
                    ),
                    (pid::RENDERING_POSITION, PropValue::Long(-1)),
                ];
                let mut a_subnode = 1u32;
                let apc = write_pc(&mut self.ndb, &aprops, &mut a_subnode)?;
                let mut a_subs = apc.subnodes;
                let bid_sub = self.ndb.write_subnodes(&mut a_subs)?;
                subnodes.push(SubnodeEntry {
                    nid: anid,
                    bid_data: apc.bid_data,
                    bid_sub,
                });
                rows.push(Row {
                    id: anid,
                    values: vec![
                        Some(PropValue::Long(a.data.len() as i32)),
                        Some(PropValue::String(a.filename.clone())),
                        Some(PropValue::Long(1)),
                        Some(PropValue::Long(-1)),
                    ],
                });
            }
            let columns = [
                Column {
                    id: pid::ATTACH_SIZE,
                    ptype: ptype::LONG,
                },
                Column {
                    id: pid::ATTACH_FILENAME,
                    ptype: ptype::UNICODE,
                },
                Column {
                    id: pid::ATTACH_METHOD,
                    ptype: ptype::LONG,
                },
                Column {
                    id: pid::RENDERING_POSITION,
                    ptype: ptype::LONG,
                },
            ];
            let mut table_subnode = 1u32;
            let t = write_tc(&mut self.ndb, &columns, &rows, &mut table_subnode)?;
            let mut t_subs = t.subnodes;
            let bid_sub = self.ndb.write_subnodes(&mut t_subs)?;
            subnodes.push(SubnodeEntry {
                nid: NID_ATTACHMENT_TABLE,
                bid_data: t.bid_data,
                bid_sub,
            });
        }
        let bid_sub = self.ndb.write_subnodes(&mut subnodes)?;
        let folder_nid = self.folders[folder.0].nid;
        self.ndb.add_node(nid, pc.bid_data, bid_sub, folder_nid);

        let row_sync = match &m.row_sync {
            Some(v) => v.clone(),
            None if placement.in_row() => SyncValues {
                change_key: m.change_key.clone(),
                pcl: m.pcl.clone(),
                last_modified: m.last_modified,
            },
            // Contents tables always had a modification time column.
            None => SyncValues {
                last_modified: m.last_modified,
                ..SyncValues::default()
            },
        };
        let record = self.manifest_record(folder, nid, m, placement, &row_sync);
        let row = RowInfo {
            nid,
            subject: m.subject.clone(),
            class: m.message_class.clone(),
            flags,
            size,
            delivered: m.last_modified,
            sync: row_sync,
            mid: m.mid,
        };
        let f = &mut self.folders[folder.0];
        if m.associated {
            f.associated.push(row);
        } else {
            f.contents.push(row);
        }
        self.records.push((folder.0, record));
        Ok(nid)
    }

    /// What was written for message `nid`: the property context's change
    /// key, PCL, source key and modification time in the fields PSTs have
    /// always had; in stores with sync columns, the row's in `row_*`.
    fn manifest_record(
        &self,
        folder: FolderId,
        nid: u32,
        m: &Message,
        placement: SyncPlacement,
        row: &SyncValues,
    ) -> ManifestRecord {
        let in_item = placement.in_item();
        let item_ck = m.change_key.as_deref().filter(|_| in_item);
        let item_pcl = m.pcl.as_deref().filter(|_| in_item);
        let rows = self.placement.in_row();
        let derived_source_key = match (&self.identity, m.mid) {
            (Some(id), Some(mid)) => Some(id.source_key(mid)),
            _ => None,
        };
        let source_key = if self.placement.in_item() {
            m.source_key.clone()
        } else {
            derived_source_key
        };
        // The change key a reader of this store should take: the row's, else
        // the item's.
        let effective_ck = if rows {
            row.change_key.as_deref().or(item_ck)
        } else {
            None
        };
        let namespace = match (effective_ck, &self.identity) {
            (Some(ck), Some(id)) if ck.len() >= 16 => {
                if ck[..16] == id.server_guid() {
                    Some("server")
                } else if ck[..16] == id.local_guid {
                    Some("local")
                } else {
                    None
                }
            }
            _ => None,
        };
        ManifestRecord {
            nid,
            folder: self.folder_path(folder),
            subject: self.string_as_read(&m.subject),
            message_class: self.string_as_read(&m.message_class),
            change_key: item_ck.map(hex),
            pcl: item_pcl.map(hex),
            source_key: source_key.as_deref().map(hex),
            last_modified: m.last_modified.filter(|_| in_item).map(filetime_rfc3339),
            kind: if m.associated {
                ItemKind::Associated
            } else {
                ItemKind::Contents
            },
            planted: m.planted.clone(),
            placement: rows.then_some(placement),
            row_change_key: row.change_key.as_deref().filter(|_| rows).map(hex),
            row_pcl: row.pcl.as_deref().filter(|_| rows).map(hex),
            row_last_modified: row.last_modified.filter(|_| rows).map(filetime_rfc3339),
            mid: m.mid.map(MidRecord::from),
            change_key_namespace: namespace,
        }
    }

    fn write_folder(&mut self, i: usize) -> io::Result<()> {
        let f = &self.folders[i];
        let nid = f.nid;
        let parent_nid = f.parent.map(|p| self.folders[p].nid).unwrap_or(nid);
        let unread = f
            .contents
            .iter()
            .filter(|r| r.flags & MSGFLAG_READ == 0)
            .count() as i32;
        let mut props: BTreeMap<u16, PropValue> = BTreeMap::new();
        props.insert(pid::DISPLAY_NAME, PropValue::String(f.name.clone()));
        props.insert(pid::CONTENT_COUNT, PropValue::Long(f.contents.len() as i32));
        props.insert(pid::CONTENT_UNREAD, PropValue::Long(unread));
        props.insert(
            pid::ASSOC_CONTENT_COUNT,
            PropValue::Long(f.associated.len() as i32),
        );
        props.insert(pid::SUBFOLDERS, PropValue::Bool(!f.children.is_empty()));
        if let Some(c) = &f.container_class {
            props.insert(pid::CONTAINER_CLASS, PropValue::String(c.clone()));
        }
        if let Some(fid) = f.fid {
            props.insert(pid::MID, PropValue::I64(fid.as_i64()));
        }
        for (id, v) in &f.props {
            props.insert(*id, v.clone());
        }
        let props: Vec<(u16, PropValue)> = props.into_iter().collect();

        let hierarchy_columns = [
            Column {
                id: pid::DISPLAY_NAME,
                ptype: ptype::UNICODE,
            },
            Column {
                id: pid::CONTENT_COUNT,
                ptype: ptype::LONG,
            },
            Column {
                id: pid::CONTENT_UNREAD,
                ptype: ptype::LONG,
            },
            Column {
                id: pid::SUBFOLDERS,
                ptype: ptype::BOOLEAN,
            },
            Column {
                id: pid::CONTAINER_CLASS,
                ptype: ptype::UNICODE,
            },
        ];
        let hierarchy_rows: Vec<Row> = f
            .children
            .iter()
            .map(|&c| {
                let c = &self.folders[c];
                let unread = c
                    .contents
                    .iter()
                    .filter(|r| r.flags & MSGFLAG_READ == 0)
                    .count() as i32;
                Row {
                    id: c.nid,
                    values: vec![
                        Some(PropValue::String(c.name.clone())),
                        Some(PropValue::Long(c.contents.len() as i32)),
                        Some(PropValue::Long(unread)),
                        Some(PropValue::Bool(!c.children.is_empty())),
                        c.container_class.clone().map(PropValue::String),
                    ],
                }
            })
            .collect();
        let mut contents_columns = vec![
            Column {
                id: pid::IMPORTANCE,
                ptype: ptype::LONG,
            },
            Column {
                id: pid::MESSAGE_CLASS,
                ptype: ptype::UNICODE,
            },
            Column {
                id: pid::SUBJECT,
                ptype: ptype::UNICODE,
            },
            Column {
                id: pid::MESSAGE_DELIVERY_TIME,
                ptype: ptype::SYSTIME,
            },
            Column {
                id: pid::MESSAGE_FLAGS,
                ptype: ptype::LONG,
            },
            Column {
                id: pid::MESSAGE_SIZE,
                ptype: ptype::LONG,
            },
            Column {
                id: pid::LAST_MODIFICATION_TIME,
                ptype: ptype::SYSTIME,
            },
        ];
        // Real OSTs keep these in the row (among some 80 columns).
        let sync_columns = self.placement.in_row();
        if sync_columns {
            contents_columns.extend([
                Column {
                    id: pid::MESSAGE_STATUS,
                    ptype: ptype::LONG,
                },
                Column {
                    id: pid::CHANGE_KEY,
                    ptype: ptype::BINARY,
                },
                Column {
                    id: pid::PREDECESSOR_CHANGE_LIST,
                    ptype: ptype::BINARY,
                },
                Column {
                    id: pid::MID,
                    ptype: ptype::I8,
                },
            ]);
        }
        let to_rows = |list: &[RowInfo]| -> Vec<Row> {
            list.iter()
                .map(|r| {
                    let mut values = vec![
                        Some(PropValue::Long(1)),
                        Some(PropValue::String(r.class.clone())),
                        Some(PropValue::String(r.subject.clone())),
                        r.delivered.map(PropValue::SysTime),
                        Some(PropValue::Long(r.flags)),
                        Some(PropValue::Long(r.size)),
                        r.sync.last_modified.map(PropValue::SysTime),
                    ];
                    if sync_columns {
                        values.extend([
                            Some(PropValue::Long(0)),
                            r.sync.change_key.clone().map(PropValue::Binary),
                            r.sync.pcl.clone().map(PropValue::Binary),
                            r.mid.map(|m| PropValue::I64(m.as_i64())),
                        ]);
                    }
                    Row { id: r.nid, values }
                })
                .collect()
        };
        let contents_rows = to_rows(&f.contents);
        let assoc_rows = to_rows(&f.associated);

        let mut next = 1u32;
        let pc = write_pc(&mut self.ndb, &props, &mut next)?;
        let mut subs = pc.subnodes;
        let bid_sub = self.ndb.write_subnodes(&mut subs)?;
        self.ndb.add_node(nid, pc.bid_data, bid_sub, parent_nid);

        // A folder's tables share its index.
        let index = nid >> 5;
        for (typ, columns, rows) in [
            (
                NidType::HierarchyTable,
                &hierarchy_columns[..],
                hierarchy_rows,
            ),
            (NidType::ContentsTable, &contents_columns[..], contents_rows),
            (
                NidType::AssocContentsTable,
                &contents_columns[..],
                assoc_rows,
            ),
        ] {
            let mut next = 1u32;
            let t = write_tc(&mut self.ndb, columns, &rows, &mut next)?;
            let mut subs = t.subnodes;
            let bid_sub = self.ndb.write_subnodes(&mut subs)?;
            self.ndb.add_node(typ.nid(index), t.bid_data, bid_sub, 0);
        }
        Ok(())
    }

    /// Write folders, tables, the store and the name-to-id map, then the
    /// B-trees and header.
    pub fn finish(mut self) -> io::Result<Written<W>> {
        for i in 0..self.folders.len() {
            self.write_folder(i)?;
        }
        let mut mask = 0x1; // FOLDER_IPM_SUBTREE_VALID
        let mut store = vec![
            (pid::RECORD_KEY, PropValue::Binary(self.record_key.to_vec())),
            (
                pid::DISPLAY_NAME,
                PropValue::String(self.display_name.clone()),
            ),
            (
                pid::IPM_SUBTREE_ENTRYID,
                PropValue::Binary(self.entry_id(self.ipm_subtree())),
            ),
        ];
        if let Some(w) = self.wastebasket {
            store.push((
                pid::IPM_WASTEBASKET_ENTRYID,
                PropValue::Binary(self.entry_id(w)),
            ));
            mask |= 0x8; // FOLDER_IPM_WASTEBASKET_VALID
        }
        store.push((pid::VALID_FOLDER_MASK, PropValue::Long(mask)));
        if let Some(id) = &self.identity {
            store.push((pid::OST_PROVIDER_UID, PropValue::Guid(id.provider_uid)));
            store.push((
                pid::OST_LOCAL_NAMESPACE,
                PropValue::Binary(id.local_namespace_record(self.server_globcnt_high + 1)),
            ));
            let map = write_replica_map(&mut self.ndb, &id.replicas)?;
            self.ndb.add_node(NID_REPLICA_MAP, map.bid_data, 0, 0);
        }
        let mut next = 1u32;
        let pc = write_pc(&mut self.ndb, &store, &mut next)?;
        let mut subs = pc.subnodes;
        let bid_sub = self.ndb.write_subnodes(&mut subs)?;
        self.ndb
            .add_node(NID_MESSAGE_STORE, pc.bid_data, bid_sub, 0);

        let names = self.names.props();
        let mut next = 1u32;
        let pc = write_pc(&mut self.ndb, &names, &mut next)?;
        let mut subs = pc.subnodes;
        let bid_sub = self.ndb.write_subnodes(&mut subs)?;
        self.ndb
            .add_node(NID_NAME_TO_ID_MAP, pc.bid_data, bid_sub, 0);

        let mut next_nid_index = [0x400u32; 32];
        next_nid_index[NidType::NormalFolder as usize] = self.next_folder_index;
        next_nid_index[NidType::NormalMessage as usize] = self.next_message_index;
        next_nid_index[NidType::AssocMessage as usize] = self.next_assoc_index;
        let info = HeaderInfo {
            next_nid_index,
            unique: self.unique,
        };

        // Manifest order: folders depth-first in hierarchy order; in each,
        // the contents rows, then the associated ones.
        let mut order = Vec::new();
        let mut stack = vec![0usize];
        while let Some(f) = stack.pop() {
            order.push(f);
            for &c in self.folders[f].children.iter().rev() {
                stack.push(c);
            }
        }
        let mut by_folder: Vec<Vec<ManifestRecord>> = vec![Vec::new(); self.folders.len()];
        for (f, r) in std::mem::take(&mut self.records) {
            by_folder[f].push(r);
        }
        let mut manifest = Vec::new();
        for f in order {
            let mut recs = std::mem::take(&mut by_folder[f]);
            recs.sort_by_key(|r| (r.kind == ItemKind::Associated, r.nid));
            manifest.extend(recs);
        }
        let store = self.store_record();
        let (out, layout) = self.ndb.finish(&info)?;
        Ok(Written {
            out,
            layout,
            manifest,
            store,
        })
    }
}

impl<W: Write + Seek> StoreWriter<W> {
    /// The store's part of the manifest (stores with an OST identity).
    fn store_record(&self) -> Option<StoreRecord> {
        let id = self.identity.as_ref()?;
        Some(StoreRecord {
            placement: self.placement,
            server_guid: hex(&id.server_guid()),
            local_guid: hex(&id.local_guid),
            provider_uid: hex(&id.provider_uid),
            replicas: id
                .replicas
                .iter()
                .enumerate()
                .map(|(i, g)| ReplicaRecord {
                    id: i as u16,
                    guid: hex(g),
                })
                .collect(),
            folders: (0..self.folders.len())
                .map(|i| FolderRecord {
                    nid: self.folders[i].nid,
                    path: self.folder_path(FolderId(i)),
                    fid: self.folders[i].fid.map(MidRecord::from),
                })
                .collect(),
        })
    }
}

/// An entry id: 4 flag bytes, provider UID, NID.
pub fn entry_id(record_key: &[u8; 16], nid: u32) -> Vec<u8> {
    let mut e = vec![0u8; 4];
    e.extend_from_slice(record_key);
    e.extend_from_slice(&nid.to_le_bytes());
    e
}
