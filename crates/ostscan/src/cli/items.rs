//! `ostscan items FILE [--all]`: one JSON line per message.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use ost_ndb::Pst;
use ost_props::{ItemRecord, Store};
use ostscan::paths;
use rayon::prelude::*;
use serde_json::{json, Value};

use super::output::{warn, Output};

#[derive(Args)]
pub struct ItemsArgs {
    /// The .pst or .ost file (opened read-only).
    pub file: PathBuf,
    /// Also list associated (FAI) items and orphans: message nodes that no
    /// contents table lists.
    #[arg(long)]
    pub all: bool,
}

fn hex(b: &Option<Vec<u8>>) -> Value {
    match b {
        Some(b) => Value::String(ost_props::hex(b)),
        None => Value::Null,
    }
}

/// The JSON line of one item (the shape `ost-fixture` manifests share).
pub fn item_json(r: &ItemRecord) -> Value {
    json!({
        "nid": r.nid,
        "folder": &*r.folder,
        "subject": r.subject,
        "message_class": r.message_class,
        "change_key": hex(&r.change_key),
        "pcl": hex(&r.pcl),
        "source_key": hex(&r.source_key),
        "last_modified": r.last_modified.map(|t| t.to_string()),
        "kind": r.kind.name(),
    })
}

/// Exit codes: 0 listed, 2 the file could not be opened or the output
/// could not be written.
pub fn run(args: &ItemsArgs) -> u8 {
    let pst = match Pst::open(&args.file) {
        Ok(p) => p,
        Err(e) => {
            warn(format_args!("{}: {e}", paths::display(&args.file)));
            return 2;
        }
    };
    let mut store = Store::open(&pst);
    let refs = store.item_refs(args.all);
    let records: Vec<ItemRecord> = refs.par_iter().map(|r| store.read_item(r)).collect();
    let mut out = Output::stdout();
    let written = records
        .iter()
        .try_for_each(|r| writeln!(out, "{}", item_json(r)));
    if let Err(e) = written {
        return out.failed(&e);
    }
    if let Err(code) = out.finish() {
        return code;
    }
    let file = paths::display(&args.file);
    for e in store.errors() {
        warn(format_args!(
            "{file}: {} at offset {:#x}{}: {}",
            e.structure,
            e.offset,
            e.nid.map(|n| format!(" (nid {n:#x})")).unwrap_or_default(),
            e.message
        ));
    }
    for r in &records {
        for e in &r.errors {
            warn(format_args!(
                "{file}: nid {:#x}: {} at offset {:#x}: {}",
                r.nid, e.structure, e.offset, e.message
            ));
        }
    }
    0
}
