//! Ready-made content: a store with the standard folders, Sync Issues,
//! nested user folders and seeded messages, some with planted faults.

use std::fs::File;
use std::io::{self, BufWriter, Cursor, Seek, Write};
use std::path::Path;

use ost_ndb::ndb::crypt::CryptMethod;

use crate::faults::{healthy, planted, Rule};
use crate::format::Format;
use crate::ltp_writer::PropValue;
use crate::manifest::{filetime, ManifestRecord};
use crate::messaging::{
    pid, Attachment, FolderId, Message, NamedProp, PropName, Recipient, StoreWriter, Written,
    PS_PUBLIC_STRINGS,
};
use crate::ndb_writer::Layout;
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

/// Create the standard hierarchy under "Top of Personal Folders".
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
    // Outlook finds the Sync Issues folders through the Inbox's
    // PR_ADDITIONAL_REN_ENTRYIDS: Conflicts, Sync Issues, Local Failures,
    // Server Failures, Junk E-mail (none here).
    let ren = vec![
        w.entry_id(conflicts),
        w.entry_id(sync_issues),
        w.entry_id(local_failures),
        w.entry_id(server_failures),
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
}

/// A fixture built in memory.
pub struct Fixture {
    /// The file.
    pub bytes: Vec<u8>,
    /// Where things went.
    pub layout: Layout,
    /// One record per message.
    pub manifest: Vec<ManifestRecord>,
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
        }
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

    /// Check the options (they may come from a user).
    pub fn validate(&self) -> Result<(), String> {
        let planted: usize = self.plants.iter().map(|p| p.1).sum();
        if planted > self.messages {
            return Err(format!(
                "{planted} faults to plant but only {} messages",
                self.messages
            ));
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

        let padding: String = "The quick brown fox jumps over the lazy dog. "
            .chars()
            .cycle()
            .take(self.body_bytes)
            .collect();
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
            let meta = match fault {
                Some(rule) => planted(*rule, &namespace, local, &server, server_cn),
                None => healthy(&namespace, local, &server, server_cn),
            };
            let mut source_key = server.to_vec();
            source_key.extend_from_slice(&((i as u64 + 1) << 16).to_be_bytes()[2..]);
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
            let mut m = Message {
                subject,
                message_class: class.into(),
                change_key: meta.change_key,
                pcl: meta.pcl,
                source_key: Some(source_key),
                last_modified: Some(base_time + rng.below(365 * 86_400 * 10_000_000)),
                read: rng.below(3) != 0,
                body: Some(padding.clone()),
                recipients: vec![Recipient {
                    name: format!("User {}", i % 13),
                    email: format!("user{}@example.com", i % 13),
                }],
                planted: fault.iter().map(|r| r.id().to_string()).collect(),
                ..Message::default()
            };
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
                let fai = Message {
                    subject: String::new(),
                    message_class: "IPM.Configuration.Fixture".into(),
                    associated: true,
                    last_modified: Some(base_time),
                    extra: vec![(0x7C07, PropValue::Binary(vec![0xAB; 64]))],
                    ..Message::default()
                };
                w.add_message(folder, &fai)?;
            }
        }
        w.finish()
    }
}
