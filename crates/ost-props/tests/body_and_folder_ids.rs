//! `body::read_text` and `folder_ids` on fixture stores: the start of a
//! plain or compressed RTF body within the caller's limits, with the
//! problems of a damaged one; and the folders the Inbox's
//! PR_ADDITIONAL_REN_ENTRYIDS name, as PST entry ids and as the long-term
//! Exchange ids of an OST.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use ost_fixture::sync_log::{outlook_log, outlook_log_rtf, plain_log, LogLine, RtfForm};
use ost_fixture::{standard_folders, CryptMethod, Format, Message, PropValue, StoreWriter};
use ost_props::body::{read_text, BodyText, TextLimits, TextProblem};
use ost_props::folder_ids::{additional_ren_entry_ids, EntryIdFolders};
use ost_props::{open_pc, FileTime, Nid, Pst, Store};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ost-props-body-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn new_store(path: &PathBuf, format: Format) -> StoreWriter<BufWriter<File>> {
    let out = BufWriter::new(File::create(path).unwrap());
    StoreWriter::new(out, format, CryptMethod::None, [0x77; 16]).unwrap()
}

const LIMITS: TextLimits = TextLimits {
    body_bytes: 64,
    rtf_value_bytes: 64 * 1024,
    rtf_bytes: 64 * 1024,
};

const LINES: [LogLine<'static>; 2] = [
    LogLine {
        text: "16:37:22 Synchronizing local changes in folder 'Inbox'",
        error: false,
    },
    LogLine {
        text: "16:37:23 Error synchronizing message 'x'",
        error: true,
    },
];

#[test]
fn text_of_plain_and_rtf_bodies_within_limits() {
    for format in [Format::Unicode, Format::Ansi] {
        let path = scratch(&format!("bodies-{}.pst", format.name()));
        let mut w = new_store(&path, format);
        let f = standard_folders(&mut w);
        let short = w
            .add_message(f.inbox, &plain_log("short", "11:02:10 Done\n"))
            .unwrap();
        let long_body = "0123456789".repeat(1000);
        let long = w
            .add_message(f.inbox, &plain_log("long", &long_body))
            .unwrap();
        let rtf = w
            .add_message(f.inbox, &outlook_log("rtf", &LINES, RtfForm::Lzfu))
            .unwrap();
        // The stored CRC no longer that of the data.
        let mut damaged = outlook_log("damaged", &LINES, RtfForm::Lzfu);
        match &mut damaged.extra[0].1 {
            PropValue::Binary(v) => v[12] ^= 0xFF,
            _ => unreachable!("PR_RTF_COMPRESSED is binary"),
        }
        let damaged = w.add_message(f.inbox, &damaged).unwrap();
        let empty = Message {
            subject: "empty".into(),
            message_class: "IPM.Note".into(),
            ..Message::default()
        };
        let empty = w.add_message(f.inbox, &empty).unwrap();
        w.finish().unwrap();

        let pst = Pst::open(&path).unwrap();
        let read = |nid| read_text(&open_pc(&pst, Nid(nid)).unwrap(), &LIMITS);

        let t = read(short);
        let want = BodyText::Plain {
            text: "11:02:10 Done\n".into(),
            cut: false,
        };
        assert_eq!(t.text, Some(want), "{format}");
        assert!(t.problems.is_empty(), "{format}: {:?}", t.problems);
        // The fixture delivers a message when it was last modified.
        let delivered = Some(FileTime(0x01DA_0000_0000_0000));
        assert_eq!(t.delivered, delivered, "{format}");

        // 64 bytes: 32 UTF-16 code units, or 64 ANSI characters.
        let chars = if format.is_ansi() { 64 } else { 32 };
        let want = BodyText::Plain {
            text: long_body[..chars].into(),
            cut: true,
        };
        assert_eq!(read(long).text, Some(want), "{format}");

        let t = read(rtf);
        let want = BodyText::Rtf {
            rtf: outlook_log_rtf(&LINES).into_bytes(),
            cut: false,
        };
        assert_eq!(t.text, Some(want), "{format}");
        assert!(t.problems.is_empty(), "{format}: {:?}", t.problems);
        assert_eq!(t.delivered, delivered, "{format}");

        // Damage is reported; the RTF is still read.
        let t = read(damaged);
        assert!(
            matches!(&t.problems[..], [TextProblem::RtfDamage(issue)] if issue.is_damage()),
            "{format}: {:?}",
            t.problems
        );
        assert!(
            matches!(&t.text, Some(BodyText::Rtf { rtf, cut: false }) if rtf.starts_with(b"{\\rtf1")),
            "{format}"
        );

        let t = read(empty);
        assert_eq!((t.text, t.delivered), (None, None), "{format}");
        assert!(t.problems.is_empty(), "{format}");
    }
}

#[test]
fn inbox_entry_ids_name_the_sync_issues_folders() {
    // A PST holds PST entry ids (by NID); an OST long-term Exchange ids
    // (by source key).
    for format in [Format::Unicode, Format::Ost4k] {
        let path = scratch(&format!("ren-{}.ost", format.name()));
        let mut w = new_store(&path, format);
        standard_folders(&mut w);
        w.finish().unwrap();

        let pst = Pst::open(&path).unwrap();
        let store = Store::open(&pst);
        let folders = store.folders();
        let inbox = folders.iter().find(|f| f.name == "Inbox").unwrap();
        let ren = additional_ren_entry_ids(&pst, inbox.nid)
            .unwrap()
            .expect("the Inbox has PR_ADDITIONAL_REN_ENTRYIDS");
        assert_eq!(ren.len(), 5, "{format}");
        assert_eq!(
            additional_ren_entry_ids(&pst, folders[0].nid).unwrap(),
            None,
            "{format}: the root has none"
        );

        let mut ids = EntryIdFolders::new(&store);
        let mut errors = Vec::new();
        let named: Vec<Option<&str>> = ren
            .iter()
            .map(|id| ids.folder(id, &mut errors).map(|i| &*folders[i].path))
            .collect();
        let top = "/Top of Personal Folders/Sync Issues";
        assert_eq!(
            named,
            [
                Some(format!("{top}/Conflicts").as_str()),
                Some(top),
                Some(format!("{top}/Local Failures").as_str()),
                Some(format!("{top}/Server Failures").as_str()),
                None,
            ],
            "{format}"
        );
        assert!(errors.is_empty(), "{format}: {errors:?}");
    }
}
