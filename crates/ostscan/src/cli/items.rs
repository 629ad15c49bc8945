//! `ostscan items FILE [--all]`: one JSON line per message.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use ost_ndb::Pst;
use ost_props::{ItemRecord, RowPolicy, Store};
use ostscan::paths;
use ostscan::walk::visit_items;
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
    /// Also read every item whose contents-table row carries its sync
    /// properties, and print the row's values beside the item's (`row`).
    #[arg(long)]
    pub verify_rows: bool,
}

fn hex(b: &Option<Vec<u8>>) -> Value {
    match b {
        Some(b) => Value::String(ost_props::hex(b)),
        None => Value::Null,
    }
}

/// The JSON line of one item (the shape `ost-fixture` manifests share).
pub fn item_json(r: &ItemRecord) -> Value {
    let source = |s: Option<ost_props::Source>| s.map(|s| s.name());
    json!({
        "nid": r.nid,
        "nid_hex": format!("{:#x}", r.nid),
        "folder": &*r.folder,
        "subject": r.subject,
        "message_class": r.message_class,
        "change_key": hex(&r.change_key),
        "pcl": hex(&r.pcl),
        "source_key": hex(&r.source_key),
        "source_key_derived": r.source_key_derived,
        "last_modified": r.last_modified.map(|t| t.to_string()),
        "kind": r.kind.name(),
        "object_id": r.object_id.map(|id| json!({"replica_id": id.replica_id, "globcnt": id.globcnt})),
        "sources": {
            "change_key": source(r.sources.change_key),
            "pcl": source(r.sources.pcl),
            "last_modified": source(r.sources.last_modified),
        },
        "row": r.row.as_ref().map(|row| json!({
            "change_key": hex(&row.change_key),
            "pcl": hex(&row.pcl),
            "last_modified": row.last_modified.map(|t| t.to_string()),
        })),
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
    let policy = if args.verify_rows {
        RowPolicy::EVERYTHING
    } else {
        RowPolicy::ROWS_FIRST
    };
    let records: Vec<ItemRecord> = visit_items(&mut store, args.all, &policy, |_, view, _| {
        view.into_record()
    })
    .into_walk_order();
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
