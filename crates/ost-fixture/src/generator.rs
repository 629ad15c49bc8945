//! Ready-made content: a store with the standard folders, Sync Issues,
//! nested user folders and seeded messages, some with planted faults.

use std::fs::File;
use std::io::{self, BufWriter, Cursor, Seek, Write};
use std::path::Path;

use ost_ndb::ndb::crypt::CryptMethod;

use crate::faults::{
    consistent, healthy, healthy_in, planted, planted_in, row001_row, Namespace, Rule, SyncMeta,
};
use crate::format::{Format, SyncPlacement};
use crate::ltp_writer::PropValue;
use crate::manifest::{filetime, ManifestRecord, StoreRecord};
use crate::messaging::{
    pid, Attachment, FolderId, Message, NamedProp, PropName, Recipient, StoreWriter, SyncValues,
    Written, PS_PUBLIC_STRINGS,
};
use crate::ndb_writer::Layout;
use crate::ost_ids::{GlobcntCounter, Mid, OstIdentity, DEFAULT_FOLDERS_REPLICA};
use crate::rng::Rng;

/// PSETID_Common {00062008-0000-0000-C000-000000000046}.
const PSETID_COMMON: [u8; 16] = [
    0x08, 0x20, 0x06, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];

/// The folders of a generated store.
#[derive(Debug, Clone)]
pub struct StandardFolders {
    /// Inbox.
    pub inbox: FolderId,
    /// Sent Items.
    pub sent: FolderId,
    /// Deleted Items (the wastebasket).
    pub deleted: FolderId,
    /// Sync Issues.
    pub sync_issues: FolderId,
    /// Sync Issues/Conflicts.
    pub conflicts: FolderId,
    /// Sync Issues/Local Failures.
    pub local_failures: FolderId,
    /// Sync Issues/Server Failures.
    pub server_failures: FolderId,
    /// User folders, nested: Projects, Projects/Alpha, Projects/Alpha/Reports, Archive.
    pub user: Vec<FolderId>,
}

/// First GLOBCNT of the server replica given to folders by
/// [`standard_folders`]; messages of generated stores count from
/// [`FIRST_MESSAGE_GLOBCNT`].
pub const FIRST_FOLDER_GLOBCNT: u64 = 0x101;
/// First GLOBCNT of generated messages (server replica).
pub const FIRST_MESSAGE_GLOBCNT: u64 = 0x1001;

/// Create the standard hierarchy under "Top of Personal Folders".
///
/// In a store with an OST identity, the folders also get what real OSTs
/// give them: a folder id (replica 0 with Outlook's small counters for the
/// default folders, the server replica for Sync Issues and user folders), a
/// local change key with a PCL of it and a server version, and long-term
/// entry ids in the Inbox's PR_ADDITIONAL_REN_ENTRYIDS.
pub fn standard_folders<W: Write + Seek>(w: &mut StoreWriter<W>) -> StandardFolders {
    let top = w.ipm_subtree();
    let deleted = w.add_folder(top, "Deleted Items");
    let inbox = w.add_folder(top, "Inbox");
    let sent = w.add_folder(top, "Sent Items");
    let sync_issues = w.add_folder(top, "Sync Issues");
    let conflicts = w.add_folder(sync_issues, "Conflicts");
    let local_failures = w.add_folder(sync_issues, "Local Failures");
    let server_failures = w.add_folder(sync_issues, "Server Failures");
    let projects = w.add_folder(top, "Projects");
    let alpha = w.add_folder(projects, "Alpha");
    let reports = w.add_folder(alpha, "Reports");
    let archive = w.add_folder(top, "Archive");
    for f in [
        deleted,
        inbox,
        sent,
        sync_issues,
        conflicts,
        local_failures,
        server_failures,
        projects,
        alpha,
        reports,
        archive,
    ] {
        w.set_container_class(f, "IPF.Note");
    }
    w.set_wastebasket(deleted);
    if let Some(id) = w.ost_identity().cloned() {
        // The counters of the real OSTs' default folders.
        for (f, globcnt) in [(top, 0x0a), (deleted, 0x0b), (inbox, 0x0c), (sent, 0x0e)] {
            w.set_folder_fid(f, Mid::new(0, globcnt));
        }
        let mut server_ids = GlobcntCounter::new(1, FIRST_FOLDER_GLOBCNT);
        for f in [
            sync_issues,
            conflicts,
            local_failures,
            server_failures,
            projects,
            alpha,
            reports,
            archive,
        ] {
            w.set_folder_fid(f, server_ids.allocate());
        }
        let local = Namespace::client(id.local_guid);
        let server = Namespace::server(id.server_guid());
        for (k, f) in (1..).zip([
            top,
            deleted,
            inbox,
            sent,
            sync_issues,
            conflicts,
            local_failures,
            server_failures,
            projects,
            alpha,
            reports,
            archive,
        ]) {
            let meta = healthy_in(local, 0x400 + k, server, 0x80 + k);
            let (ck, pcl) = (meta.change_key.expect("ck"), meta.pcl.expect("pcl"));
            w.set_folder_prop(f, pid::CHANGE_KEY, PropValue::Binary(ck));
            w.set_folder_prop(f, pid::PREDECESSOR_CHANGE_LIST, PropValue::Binary(pcl));
        }
    }
    // Outlook finds the Sync Issues folders through the Inbox's
    // PR_ADDITIONAL_REN_ENTRYIDS: Conflicts, Sync Issues, Local Failures,
    // Server Failures, Junk E-mail (none here). OSTs hold long-term ids.
    let ren_id = |f| w.long_term_entry_id(f).unwrap_or_else(|| w.entry_id(f));
    let ren = vec![
        ren_id(conflicts),
        ren_id(sync_issues),
        ren_id(local_failures),
        ren_id(server_failures),
        Vec::new(),
    ];
    w.set_folder_prop(
        inbox,
        pid::ADDITIONAL_REN_ENTRYIDS,
        PropValue::MvBinary(ren),
    );
    StandardFolders {
        inbox,
        sent,
        deleted,
        sync_issues,
        conflicts,
        local_failures,
        server_failures,
        user: vec![projects, alpha, reports, archive],
    }
}

/// Builder of a generated fixture file.
#[derive(Debug, Clone)]
pub struct FixtureBuilder {
    format: Format,
    crypt: CryptMethod,
    messages: usize,
    seed: u64,
    plants: Vec<(Rule, usize)>,
    body_bytes: usize,
    log_body_bytes: Option<usize>,
    sync_placement: SyncPlacement,
    row_gaps: usize,
}

/// A fixture built in memory.
pub struct Fixture {
    /// The file.
    pub bytes: Vec<u8>,
    /// Where things went.
    pub layout: Layout,
    /// One record per message.
    pub manifest: Vec<ManifestRecord>,
    /// The store's ids (OST row stores only).
    pub store: Option<StoreRecord>,
}

impl FixtureBuilder {
    /// A builder for `format` (no crypt, 20 messages, seed 1).
    pub fn new(format: Format) -> FixtureBuilder {
        FixtureBuilder {
            format,
            crypt: CryptMethod::None,
            messages: 20,
            seed: 1,
            plants: Vec::new(),
            body_bytes: 200,
            log_body_bytes: None,
            sync_placement: SyncPlacement::Item,
            row_gaps: 0,
        }
    }

    /// Where messages keep their change key, PCL and modification time
    /// (default [`SyncPlacement::Item`], as before). `Rows` writes the
    /// layout of real OSTs: the metadata in the contents-table rows, MIDs
    /// and FIDs, the replica map, the store's local namespace and
    /// long-term entry ids; healthy items then have server change keys.
    /// `Both` adds the same metadata (and source keys) to the messages.
    /// OST formats only.
    pub fn sync_placement(mut self, placement: SyncPlacement) -> Self {
        self.sync_placement = placement;
        self
    }

    /// In a `Rows` or `Both` store, `n` healthy messages whose rows lack
    /// the change key and PCL (empty cells) while their property contexts
    /// have them: a reader must fall back to the item. The manifest says
    /// `placement: "item"` for them.
    pub fn row_gaps(mut self, n: usize) -> Self {
        self.row_gaps = n;
        self
    }

    /// Block encoding.
    pub fn crypt(mut self, crypt: CryptMethod) -> Self {
        self.crypt = crypt;
        self
    }

    /// Number of (contents-table) messages.
    pub fn messages(mut self, n: usize) -> Self {
        self.messages = n;
        self
    }

    /// PRNG seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Plant `rule` on `count` distinct messages.
    pub fn plant(mut self, rule: Rule, count: usize) -> Self {
        self.plants.push((rule, count));
        self
    }

    /// Size of each message's PR_BODY (padding text).
    pub fn body_bytes(mut self, n: usize) -> Self {
        self.body_bytes = n;
        self
    }

    /// Size of the PR_BODY of the messages in the folders of Sync Issues
    /// logs (Sync Issues, Local Failures, Server Failures), which a scan
    /// reads; default: [`FixtureBuilder::body_bytes`]. Outlook's logs are
    /// a few hundred bytes.
    pub fn log_body_bytes(mut self, n: usize) -> Self {
        self.log_body_bytes = Some(n);
        self
    }

    /// Check the options (they may come from a user).
    pub fn validate(&self) -> Result<(), String> {
        let planted: usize = self.plants.iter().map(|p| p.1).sum();
        if planted + self.row_gaps > self.messages {
            return Err(format!(
                "{planted} faults to plant and {} row gaps but only {} messages",
                self.row_gaps, self.messages
            ));
        }
        let rows = self.sync_placement.in_row();
        if rows && !self.format.is_ost() {
            return Err(format!(
                "sync metadata in rows is an OST layout; {} is not an OST format",
                self.format
            ));
        }
        if !rows {
            if let Some((rule, _)) = self.plants.iter().find(|p| p.0.needs_rows()) {
                return Err(format!(
                    "{rule} can only be planted with the sync metadata in rows"
                ));
            }
            if self.row_gaps > 0 {
                return Err("row gaps need the sync metadata in rows".into());
            }
        }
        let limit = if self.format.is_ansi() {
            1_500_000_000
        } else {
            u64::MAX / 2
        };
        if (self.messages as u64).saturating_mul(self.body_bytes as u64 + 2048) > limit {
            return Err("too much data for this format (ANSI files stay below 2 GB)".into());
        }
        if self.messages > 4_000_000 {
            return Err("at most 4,000,000 messages".into());
        }
        Ok(())
    }

    /// Build in memory.
    pub fn build(&self) -> io::Result<Fixture> {
        let w = self.write_to(Cursor::new(Vec::new()))?;
        Ok(Fixture {
            bytes: w.out.into_inner(),
            layout: w.layout,
            manifest: w.manifest,
            store: w.store,
        })
    }

    /// Write to a file.
    pub fn write_file(&self, path: &Path) -> io::Result<Written<()>> {
        let f = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let w = self.write_to(f)?;
        let file = w.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all().ok();
        Ok(Written {
            out: (),
            layout: w.layout,
            manifest: w.manifest,
            store: w.store,
        })
    }

    /// Write to any seekable output.
    pub fn write_to<W: Write + Seek>(&self, out: W) -> io::Result<Written<W>> {
        self.validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut rng = Rng::new(self.seed);
        let record_key = rng.guid();
        // The store's own replica (client-made change keys, 4-byte LocalIds)
        // and the server's (6-byte change numbers).
        let namespace = rng.guid();
        let mut server = rng.guid();
        if server == namespace {
            server[0] ^= 1;
        }
        let mut w = StoreWriter::new(out, self.format, self.crypt, record_key)?;
        w.set_display_name("Fixture Store");
        // Drawn only for row stores, so that other stores keep their bytes.
        let mut ost = if self.sync_placement.in_row() {
            let identity = OstIdentity {
                replicas: vec![DEFAULT_FOLDERS_REPLICA, server, rng.guid()],
                local_guid: namespace,
                provider_uid: rng.guid(),
            };
            let mut guids = identity.replicas.clone();
            guids.push(identity.local_guid);
            guids.sort();
            guids.dedup();
            assert_eq!(guids.len(), 4, "namespace GUIDs collide; change the seed");
            w.set_sync_placement(self.sync_placement);
            w.set_ost_identity(identity.clone());
            Some(OstContent::new(identity))
        } else {
            None
        };
        let folders = standard_folders(&mut w);
        let targets = [
            (folders.inbox, 40),
            (folders.sent, 15),
            (folders.deleted, 8),
            (folders.conflicts, 5),
            (folders.local_failures, 3),
            (folders.server_failures, 3),
            (folders.user[0], 6),
            (folders.user[1], 8),
            (folders.user[2], 6),
            (folders.user[3], 6),
        ];
        let total_weight: u64 = targets.iter().map(|t| t.1).sum();

        // Which message gets which fault: a seeded shuffle of the indices.
        let mut plan: Vec<Option<Rule>> = vec![None; self.messages];
        let mut idx: Vec<usize> = (0..self.messages).collect();
        for i in (1..idx.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            idx.swap(i, j);
        }
        let mut k = 0;
        for (rule, count) in &self.plants {
            for _ in 0..*count {
                plan[idx[k]] = Some(*rule);
                k += 1;
            }
        }
        let mut row_gap = vec![false; self.messages];
        for &i in &idx[k..k + self.row_gaps] {
            row_gap[i] = true;
        }
        let in_sync_issues = [
            folders.sync_issues,
            folders.conflicts,
            folders.local_failures,
            folders.server_failures,
        ];

        let padding = |bytes: usize| -> String {
            "The quick brown fox jumps over the lazy dog. "
                .chars()
                .cycle()
                .take(bytes)
                .collect()
        };
        let body = padding(self.body_bytes);
        let log_body = padding(self.log_body_bytes.unwrap_or(self.body_bytes));
        let log_folders = [
            folders.sync_issues,
            folders.local_failures,
            folders.server_failures,
        ];
        let base_time = filetime(2024, 1, 1, 0, 0, 0, 0);
        for (i, fault) in plan.iter().enumerate() {
            let mut pick = rng.below(total_weight);
            let mut folder = targets[0].0;
            for (f, weight) in targets {
                if pick < weight {
                    folder = f;
                    break;
                }
                pick -= weight;
            }
            let local = 2 + rng.below(1 << 30);
            let server_cn = 1 + rng.below(1 << 40);
            let subject = if i % 7 == 3 {
                format!("Grüße aus Köln #{i}")
            } else {
                format!("Fixture message {i:06}")
            };
            let class = if folder == folders.conflicts {
                "IPM.Conflict.Message"
            } else {
                "IPM.Note"
            };
            let last_modified = base_time + rng.below(365 * 86_400 * 10_000_000);
            let read = rng.below(3) != 0;
            let mut m = Message {
                subject,
                message_class: class.into(),
                last_modified: Some(last_modified),
                read,
                body: Some(if log_folders.contains(&folder) {
                    log_body.clone()
                } else {
                    body.clone()
                }),
                recipients: vec![Recipient {
                    name: format!("User {}", i % 13),
                    email: format!("user{}@example.com", i % 13),
                }],
                planted: fault.iter().map(|r| r.id().to_string()).collect(),
                ..Message::default()
            };
            match &mut ost {
                None => {
                    let meta = match fault {
                        Some(rule) => planted(*rule, &namespace, local, &server, server_cn),
                        None => healthy(&namespace, local, &server, server_cn),
                    };
                    let mut source_key = server.to_vec();
                    source_key.extend_from_slice(&((i as u64 + 1) << 16).to_be_bytes()[2..]);
                    m.change_key = meta.change_key;
                    m.pcl = meta.pcl;
                    m.source_key = Some(source_key);
                }
                Some(ost) => {
                    let slot = match (fault, row_gap[i]) {
                        (Some(rule), _) => Slot::Fault(*rule),
                        (None, true) => Slot::RowGap,
                        (None, false) => Slot::Healthy {
                            edited_here: rng.below(8) == 0,
                        },
                    };
                    ost.fill(&mut m, slot, local, server_cn + 1);
                    if folder == folders.conflicts {
                        if let Some((fid, mid)) = ost.last_original {
                            let id = ost.identity.message_entry_id(fid, mid);
                            m.extra.push((pid::CONFLICT_ENTRYID, PropValue::Binary(id)));
                        }
                    } else if !in_sync_issues.contains(&folder) {
                        let fid = w.folder_fid(folder).expect("generated folders have ids");
                        ost.last_original = m.mid.map(|mid| (fid, mid));
                    }
                }
            }
            m.extra.push((
                0x1035,
                PropValue::String(format!("<{i}.fixture@example.com>")),
            ));
            m.extra.push((0x0E08 + 0x100, PropValue::Bool(i % 2 == 0))); // 0x0F08: arbitrary boolean
            m.named.push((
                NamedProp {
                    guid: PS_PUBLIC_STRINGS,
                    name: PropName::Name("Keywords".into()),
                },
                PropValue::MvString(vec!["fixture".into(), format!("n{}", i % 5)]),
            ));
            m.named.push((
                NamedProp {
                    guid: PSETID_COMMON,
                    name: PropName::Id(0x8580),
                },
                PropValue::I64(i as i64),
            ));
            if i % 10 == 4 {
                let size = if i % 50 == 4 { 20_000 } else { 100 + (i % 900) };
                m.attachments.push(Attachment {
                    filename: format!("file{i}.bin"),
                    data: (0..size).map(|k| (k * 31 + i) as u8).collect(),
                });
            }
            w.add_message(folder, &m)?;
            if i % 40 == 0 {
                let mut fai = Message {
                    subject: String::new(),
                    message_class: "IPM.Configuration.Fixture".into(),
                    associated: true,
                    last_modified: Some(base_time),
                    extra: vec![(0x7C07, PropValue::Binary(vec![0xAB; 64]))],
                    ..Message::default()
                };
                if let Some(ost) = &mut ost {
                    let cn = 2 + rng.below(1 << 40);
                    ost.fill(&mut fai, Slot::Healthy { edited_here: false }, 2, cn);
                }
                w.add_message(folder, &fai)?;
            }
        }
        w.finish()
    }
}

/// What one generated message of a row store is.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// Consistent metadata: a server change key, and a PCL of it alone or,
    /// for an item `edited_here`, of it and a local version.
    Healthy { edited_here: bool },
    /// Healthy in the property context, nothing in the row.
    RowGap,
    /// Violates this rule.
    Fault(Rule),
}

/// The state of a row store while its messages are generated.
struct OstContent {
    identity: OstIdentity,
    server: Namespace,
    local: Namespace,
    /// MIDs of items the server knows.
    server_ids: GlobcntCounter,
    /// MIDs Outlook allocated itself, for items made offline (replica 2,
    /// as in real OSTs).
    outlook_ids: GlobcntCounter,
    /// (folder id, MID) of the last message written outside Sync Issues:
    /// what the next conflict item names.
    last_original: Option<(Mid, Mid)>,
}

impl OstContent {
    fn new(identity: OstIdentity) -> OstContent {
        OstContent {
            server: Namespace::server(identity.server_guid()),
            local: Namespace::client(identity.local_guid),
            identity,
            server_ids: GlobcntCounter::new(1, FIRST_MESSAGE_GLOBCNT),
            outlook_ids: GlobcntCounter::new(2, 0x1_0001),
            last_original: None,
        }
    }

    /// Set `m`'s change key, PCL, MID, source key and what its row says.
    /// `server_cn` (at least 2) is its server change number, `local` its
    /// counter in the OST's namespace.
    fn fill(&mut self, m: &mut Message, slot: Slot, local: u64, server_cn: u64) {
        let (server, client) = (self.server, self.local);
        let meta = match slot {
            Slot::Healthy { edited_here: true } => healthy_in(server, server_cn, client, local),
            Slot::Healthy { edited_here: false } | Slot::RowGap => {
                consistent(server.xid(server_cn), &[])
            }
            Slot::Fault(rule) => planted_in(rule, server, server_cn, client, local),
        };
        let mid = match slot {
            Slot::Fault(Rule::Sync005) => self.outlook_ids.allocate(),
            _ => self.server_ids.allocate(),
        };
        let SyncMeta { change_key, pcl } = meta;
        m.change_key = change_key;
        m.pcl = pcl;
        m.mid = Some(mid);
        m.source_key = Some(self.identity.source_key(mid));
        match slot {
            Slot::RowGap => {
                m.sync_placement = Some(SyncPlacement::Item);
                m.row_sync = Some(SyncValues {
                    last_modified: m.last_modified,
                    ..SyncValues::default()
                });
            }
            Slot::Fault(Rule::Row001) => {
                // The row shows the version before, saved an hour earlier.
                let older = row001_row(server, server_cn, client, local);
                m.sync_placement = Some(SyncPlacement::Both);
                m.row_sync = Some(SyncValues {
                    change_key: older.change_key,
                    pcl: older.pcl,
                    last_modified: m.last_modified.map(|t| t - 3600 * 10_000_000),
                });
            }
            _ => {}
        }
    }
}
