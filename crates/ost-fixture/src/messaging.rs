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

use crate::format::Format;
use crate::ltp_writer::{ansi_string, ptype, write_pc, write_tc, Column, PropValue, Row};
use crate::manifest::{filetime_rfc3339, hex, ItemKind, ManifestRecord};
use crate::ndb_writer::{HeaderInfo, Layout, NdbWriter, SubnodeEntry};

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
}

/// Message flags (PR_MESSAGE_FLAGS).
const MSGFLAG_READ: i32 = 0x01;
const MSGFLAG_HASATTACH: i32 = 0x10;
const MSGFLAG_ASSOCIATED: i32 = 0x40;

/// Fixed NIDs ([MS-PST] 2.4.1).
pub const NID_MESSAGE_STORE: u32 = 0x21;
pub const NID_NAME_TO_ID_MAP: u32 = 0x61;
pub const NID_ROOT_FOLDER: u32 = 0x122;
const NID_RECIPIENT_TABLE: u32 = 0x692;
const NID_ATTACHMENT_TABLE: u32 = 0x671;

const NID_TYPE_NORMAL_FOLDER: u32 = 0x02;
const NID_TYPE_NORMAL_MESSAGE: u32 = 0x04;
const NID_TYPE_ATTACHMENT: u32 = 0x05;
const NID_TYPE_ASSOC_MESSAGE: u32 = 0x08;
const NID_TYPE_HIERARCHY_TABLE: u32 = 0x0D;
const NID_TYPE_CONTENTS_TABLE: u32 = 0x0E;
const NID_TYPE_ASSOC_CONTENTS_TABLE: u32 = 0x0F;

/// PS_MAPI and PS_PUBLIC_STRINGS, which the name-to-id map refers to by number.
pub const PS_MAPI: [u8; 16] = [
    0x28, 0x03, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];
pub const PS_PUBLIC_STRINGS: [u8; 16] = [
    0x29, 0x03, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];

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
    /// PR_SOURCE_KEY.
    pub source_key: Option<Vec<u8>>,
    /// PR_LAST_MODIFICATION_TIME (FILETIME).
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
}

struct RowInfo {
    nid: u32,
    subject: String,
    class: String,
    flags: i32,
    size: i32,
    last_modified: Option<u64>,
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
        });
        w.add_folder_with_nid(
            FolderId(0),
            "Top of Personal Folders",
            (0x401 << 5) | NID_TYPE_NORMAL_FOLDER,
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
        });
        self.folders[parent.0].children.push(id);
        FolderId(id)
    }

    /// Add a folder under `parent`.
    pub fn add_folder(&mut self, parent: FolderId, name: &str) -> FolderId {
        let nid = (self.next_folder_index << 5) | NID_TYPE_NORMAL_FOLDER;
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
        let nid = if m.associated {
            self.next_assoc_index += 1;
            ((self.next_assoc_index - 1) << 5) | NID_TYPE_ASSOC_MESSAGE
        } else {
            self.next_message_index += 1;
            ((self.next_message_index - 1) << 5) | NID_TYPE_NORMAL_MESSAGE
        };
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
        if let Some(t) = m.last_modified {
            props.insert(pid::LAST_MODIFICATION_TIME, PropValue::SysTime(t));
            props.insert(pid::CREATION_TIME, PropValue::SysTime(t));
            props.insert(pid::MESSAGE_DELIVERY_TIME, PropValue::SysTime(t));
        }
        if let Some(v) = &m.source_key {
            props.insert(pid::SOURCE_KEY, PropValue::Binary(v.clone()));
        }
        if let Some(v) = &m.change_key {
            props.insert(pid::CHANGE_KEY, PropValue::Binary(v.clone()));
        }
        if let Some(v) = &m.pcl {
            props.insert(pid::PREDECESSOR_CHANGE_LIST, PropValue::Binary(v.clone()));
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
                let anid = ((0x401 + i as u32) << 5) | NID_TYPE_ATTACHMENT;
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

        let row = RowInfo {
            nid,
            subject: m.subject.clone(),
            class: m.message_class.clone(),
            flags,
            size,
            last_modified: m.last_modified,
        };
        let f = &mut self.folders[folder.0];
        if m.associated {
            f.associated.push(row);
        } else {
            f.contents.push(row);
        }
        let record = ManifestRecord {
            nid,
            folder: self.folder_path(folder),
            subject: self.string_as_read(&m.subject),
            message_class: self.string_as_read(&m.message_class),
            change_key: m.change_key.as_deref().map(hex),
            pcl: m.pcl.as_deref().map(hex),
            source_key: m.source_key.as_deref().map(hex),
            last_modified: m.last_modified.map(filetime_rfc3339),
            kind: if m.associated {
                ItemKind::Associated
            } else {
                ItemKind::Contents
            },
            planted: m.planted.clone(),
        };
        self.records.push((folder.0, record));
        Ok(nid)
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
        let contents_columns = [
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
        let to_rows = |list: &[RowInfo]| -> Vec<Row> {
            list.iter()
                .map(|r| Row {
                    id: r.nid,
                    values: vec![
                        Some(PropValue::Long(1)),
                        Some(PropValue::String(r.class.clone())),
                        Some(PropValue::String(r.subject.clone())),
                        r.last_modified.map(PropValue::SysTime),
                        Some(PropValue::Long(r.flags)),
                        Some(PropValue::Long(r.size)),
                        r.last_modified.map(PropValue::SysTime),
                    ],
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

        let base = nid & !0x1F;
        for (typ, columns, rows) in [
            (
                NID_TYPE_HIERARCHY_TABLE,
                &hierarchy_columns[..],
                hierarchy_rows,
            ),
            (
                NID_TYPE_CONTENTS_TABLE,
                &contents_columns[..],
                contents_rows,
            ),
            (
                NID_TYPE_ASSOC_CONTENTS_TABLE,
                &contents_columns[..],
                assoc_rows,
            ),
        ] {
            let mut next = 1u32;
            let t = write_tc(&mut self.ndb, columns, &rows, &mut next)?;
            let mut subs = t.subnodes;
            let bid_sub = self.ndb.write_subnodes(&mut subs)?;
            self.ndb.add_node(base | typ, t.bid_data, bid_sub, 0);
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
        next_nid_index[NID_TYPE_NORMAL_FOLDER as usize] = self.next_folder_index;
        next_nid_index[NID_TYPE_NORMAL_MESSAGE as usize] = self.next_message_index;
        next_nid_index[NID_TYPE_ASSOC_MESSAGE as usize] = self.next_assoc_index;
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
        let (out, layout) = self.ndb.finish(&info)?;
        Ok(Written {
            out,
            layout,
            manifest,
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
