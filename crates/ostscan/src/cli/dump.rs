//! `ostscan dump FILE --nid N [--json]`: every property of a node.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use ost_ndb::ltp::prop_type as pt;
use ost_ndb::ltp::tc::TableContext;
use ost_ndb::ltp::{PropValue, PropertyContext};
use ost_ndb::{Nid, NidType, Node, Pst};
use ost_props::store::prop_string;
use ost_props::{hex, tags, FileTime, Pcl, Xid};
use ostscan::paths;
use serde_json::{json, Value};

use super::output::{self, warn};

#[derive(Args)]
pub struct DumpArgs {
    /// The .pst or .ost file (opened read-only).
    pub file: PathBuf,
    /// The node id, decimal or 0x-prefixed hex (as `ostscan items` prints it).
    #[arg(long, value_parser = parse_nid)]
    pub nid: u32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_nid(s: &str) -> Result<u32, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("not a NID: {s} ({e})"))
}

/// Name of a property type.
fn type_name(t: u16) -> String {
    let base = match t & !pt::MV {
        pt::UNSPECIFIED => "PT_UNSPECIFIED",
        pt::NULL => "PT_NULL",
        pt::SHORT => "PT_SHORT",
        pt::LONG => "PT_LONG",
        pt::FLOAT => "PT_FLOAT",
        pt::DOUBLE => "PT_DOUBLE",
        pt::CURRENCY => "PT_CURRENCY",
        pt::APPTIME => "PT_APPTIME",
        pt::ERROR => "PT_ERROR",
        pt::BOOLEAN => "PT_BOOLEAN",
        pt::OBJECT => "PT_OBJECT",
        pt::I8 => "PT_I8",
        pt::STRING8 => "PT_STRING8",
        pt::UNICODE => "PT_UNICODE",
        pt::SYSTIME => "PT_SYSTIME",
        pt::CLSID => "PT_CLSID",
        pt::BINARY => "PT_BINARY",
        _ => return format!("{t:#06x}"),
    };
    if t & pt::MV != 0 {
        format!("PT_MV_{}", &base[3..])
    } else {
        base.to_string()
    }
}

/// A readable rendering of a value (change keys and PCLs decoded).
fn render(id: u16, v: &PropValue<'_>) -> Value {
    if id == tags::PR_CHANGE_KEY {
        if let Ok(x) = Xid::parse(v.as_bytes()) {
            return json!(format!("XID {} counter {}", x.namespace(), x.counter()));
        }
    }
    if id == tags::PR_PREDECESSOR_CHANGE_LIST {
        if let Ok(p) = Pcl::parse(v.as_bytes()) {
            let parts: Vec<String> = p
                .xids()
                .map(|x| format!("{} counter {}", x.namespace(), x.counter()))
                .collect();
            return json!(format!("PCL [{}]", parts.join(", ")));
        }
    }
    match v.prop_type {
        pt::UNICODE | pt::STRING8 => json!(prop_string(v, 1252)),
        pt::SYSTIME => json!(v.as_filetime().map(|t| FileTime(t).to_string())),
        pt::BOOLEAN => json!(v.as_bool()),
        pt::SHORT | pt::LONG | pt::ERROR | pt::I8 | pt::CURRENCY => json!(v.as_i64()),
        pt::DOUBLE | pt::FLOAT | pt::APPTIME => json!(v.as_f64()),
        t if t & pt::MV != 0 && matches!(t & !pt::MV, pt::UNICODE) => json!(v.as_strings()),
        _ => Value::Null,
    }
}

fn props_json(node: Node<'_>) -> Result<Vec<Value>, String> {
    let pc = PropertyContext::open(node).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for item in pc.iter() {
        match item {
            Ok((id, ty, value)) => {
                let (decoded, raw, error) = match &value {
                    Ok(v) => (render(id, v), Some(hex(v.as_bytes())), None),
                    Err(e) => (Value::Null, None, Some(e.to_string())),
                };
                out.push(json!({
                    "tag": format!("{:#010x}", (id as u32) << 16 | ty as u32),
                    "id": id,
                    "name": tags::name(id),
                    "type": type_name(ty),
                    "value": decoded,
                    "hex": raw,
                    "error": error,
                }));
            }
            Err(e) => out.push(json!({"error": e.to_string()})),
        }
    }
    Ok(out)
}

fn table_json(node: Node<'_>) -> Result<Value, String> {
    let tc = TableContext::open(node).map_err(|e| e.to_string())?;
    let columns: Vec<Value> = tc
        .columns()
        .iter()
        .map(|c| {
            json!({"tag": format!("{:#010x}", c.tag), "name": tags::name(c.id()), "type": type_name(c.prop_type())})
        })
        .collect();
    let rows: Vec<Value> = tc
        .row_index()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|&(id, index)| json!({"row_id": id, "index": index}))
        .collect();
    Ok(json!({"columns": columns, "rows": rows}))
}

/// Exit codes: 0 dumped, 2 the file or the node could not be read.
pub fn run(args: &DumpArgs) -> u8 {
    let fail = |what: String| {
        warn(format_args!("{}: {what}", paths::display(&args.file)));
        2
    };
    let pst = match Pst::open(&args.file) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    let node = match pst.node(Nid(args.nid)) {
        Ok(n) => n,
        Err(e) => return fail(format!("nid {:#x}: {e}", args.nid)),
    };
    let t = node.nid.nid_type();
    let mut report = json!({
        "nid": node.nid.0,
        "nid_type": t.name(),
        "bid_data": node.bid_data.0,
        "bid_sub": node.bid_sub.0,
        "parent": node.parent.map(|p| p.0),
    });
    report["subnodes"] = match node.subnodes() {
        Ok(s) => s
            .iter()
            .map(|e| json!({"nid": e.nid.0, "bid_data": e.bid_data.0, "bid_sub": e.bid_sub.0}))
            .collect(),
        Err(e) => json!({"error": e.to_string()}),
    };
    let is_table = matches!(
        t,
        NidType::HierarchyTable
            | NidType::ContentsTable
            | NidType::AssocContentsTable
            | NidType::SearchContentsTable
            | NidType::AttachmentTable
            | NidType::RecipientTable
    );
    if is_table {
        report["table"] = table_json(node).unwrap_or_else(|e| json!({"error": e}));
    } else {
        report["properties"] = match props_json(node) {
            Ok(p) => Value::Array(p),
            Err(e) => json!({"error": e}),
        };
    }
    if matches!(t, NidType::NormalFolder | NidType::SearchFolder) {
        for (key, tt) in [
            ("hierarchy_table", NidType::HierarchyTable),
            ("contents_table", NidType::ContentsTable),
            ("associated_contents_table", NidType::AssocContentsTable),
        ] {
            if let Ok(tn) = pst.node(node.nid.with_type(tt)) {
                report[key] = table_json(tn).unwrap_or_else(|e| json!({"error": e}));
            }
        }
    }
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
        text.push('\n');
        text
    } else {
        print_text(&report)
    };
    match output::print(text.as_bytes()) {
        Ok(()) => 0,
        Err(code) => code,
    }
}

fn print_text(r: &Value) -> String {
    let mut o = String::new();
    // Lines into a String, written out in one piece by the caller.
    macro_rules! p {
        ($($arg:tt)*) => {{
            let _ = writeln!(o, $($arg)*);
        }};
    }
    p!(
        "nid {} ({:#x}), {}; data bid {:#x}, subnode bid {:#x}, parent {}",
        r["nid"],
        r["nid"].as_u64().unwrap_or(0),
        r["nid_type"].as_str().unwrap_or(""),
        r["bid_data"].as_u64().unwrap_or(0),
        r["bid_sub"].as_u64().unwrap_or(0),
        r["parent"]
    );
    if let Some(props) = r["properties"].as_array() {
        p!("properties ({}):", props.len());
        for p in props {
            let raw = p["hex"].as_str().unwrap_or("");
            let shown = if raw.len() > 96 {
                format!("{}... ({} bytes)", &raw[..96], raw.len() / 2)
            } else {
                raw.to_string()
            };
            p!(
                "  {} {:<28} {:<16} {}",
                p["tag"].as_str().unwrap_or("?"),
                p["name"].as_str().unwrap_or(""),
                p["type"].as_str().unwrap_or(""),
                if p["value"].is_null() {
                    p["error"]
                        .as_str()
                        .map(|e| format!("ERROR {e}"))
                        .unwrap_or_default()
                } else {
                    p["value"].to_string()
                }
            );
            if !shown.is_empty() {
                p!("      {shown}");
            }
        }
    }
    if let Some(subs) = r["subnodes"].as_array() {
        if !subs.is_empty() {
            p!("subnodes ({}):", subs.len());
            for s in subs {
                p!("  nid {:#x}", s["nid"].as_u64().unwrap_or(0));
            }
        }
    }
    for key in [
        "table",
        "hierarchy_table",
        "contents_table",
        "associated_contents_table",
    ] {
        if let Some(rows) = r[key]["rows"].as_array() {
            let ids: Vec<String> = rows.iter().map(|x| x["row_id"].to_string()).collect();
            let n = ostscan::report::count(rows.len() as u64, "row", "rows");
            p!("{key}: {n}: {}", ids.join(" "));
        }
    }
    o
}
