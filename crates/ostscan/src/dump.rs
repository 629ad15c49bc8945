//! `ostscan dump`: every property of one node, its subnodes, a folder's
//! table rows, a message's row in its folder's table, as one typed report;
//! the JSON and the text are both rendered from it.

use std::fmt::Write as _;

use ost_ndb::ltp::prop_type as pt;
use ost_ndb::ltp::tc::TableContext;
use ost_ndb::ltp::{PropValue, PropertyContext};
use ost_ndb::{Bid, Client, Nid, NidType, Node, Pst};
use ost_props::strings::prop_string;
use ost_props::{hex, tags, FileTime, Pcl, RawPclEntries, Xid};

use crate::proof::XidView;
use serde::Serialize;
use serde_json::Value;

use crate::report::count;

/// The `dump` report of one node. Its JSON goes through a
/// `serde_json::Value`, whose objects keep their keys sorted: the key order
/// `dump --json` has always had.
#[derive(Clone, Debug, Serialize)]
pub struct DumpReport {
    pub nid: Nid,
    pub nid_type: &'static str,
    pub bid_data: Bid,
    pub bid_sub: Bid,
    /// The NBT parent (a message's folder); `None` for subnodes.
    pub parent: Option<Nid>,
    pub subnodes: Listed<Vec<SubnodeView>>,
    /// The node's property context (any node but a table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Listed<Vec<PropertyLine>>>,
    /// The node's table context (a table node).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<Listed<TableView>>,
    /// A folder's tables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hierarchy_table: Option<Listed<TableView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contents_table: Option<Listed<TableView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub associated_contents_table: Option<Listed<TableView>>,
    /// A message's row in its parent folder's contents table (associated
    /// contents table for a hidden item): real OSTs keep the change key,
    /// PCL and modification time there, not in the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<RowLookup>,
    /// The store is an OST (the text says where its sync values are).
    #[serde(skip)]
    pub cache: bool,
}

/// What the parent folder's table says of a message.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum RowLookup {
    Found(RowView),
    /// The table has no row for the message: an orphan, or an item that
    /// another folder's table lists (the NBT parent is not always the
    /// folder; `ostscan items` names the folder whose table lists it).
    NotListed {
        table: Nid,
        listed: bool,
    },
    /// The table could not be read.
    Failed {
        table: Nid,
        error: String,
    },
}

/// A message's row in its folder's table.
#[derive(Clone, Debug, Serialize)]
pub struct RowView {
    /// The table's NID.
    pub table: Nid,
    pub table_type: &'static str,
    /// The row's position in the table.
    pub index: u32,
    /// The row's cells (columns whose cell is not empty).
    pub cells: Vec<PropertyLine>,
}

/// What was read, or why it could not be.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Listed<T> {
    Read(T),
    Failed { error: String },
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct SubnodeView {
    pub nid: Nid,
    pub bid_data: Bid,
    pub bid_sub: Bid,
}

/// One property of a property context.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum PropertyLine {
    Property {
        /// `0xIIIITTTT`.
        tag: String,
        id: u16,
        name: Option<&'static str>,
        #[serde(rename = "type")]
        prop_type: String,
        /// The value decoded (change keys and PCLs too); null when it is
        /// not a type shown decoded, or could not be read.
        value: Value,
        hex: Option<String>,
        error: Option<String>,
    },
    /// The property context's tree broke here.
    Broken { error: String },
}

#[derive(Clone, Debug, Serialize)]
pub struct TableView {
    pub columns: Vec<ColumnView>,
    pub rows: Vec<RowRef>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ColumnView {
    pub tag: String,
    pub name: Option<&'static str>,
    #[serde(rename = "type")]
    pub prop_type: String,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct RowRef {
    pub row_id: u32,
    pub index: u32,
}

/// Name of a property type: `PT_BINARY`, `PT_MV_UNICODE`, else its number.
pub fn type_name(t: u16) -> String {
    match pt::name(t & !pt::MV) {
        Some(base) if t & pt::MV != 0 => format!("PT_MV_{}", &base[3..]),
        Some(base) => base.to_string(),
        None => format!("{t:#06x}"),
    }
}

/// A readable rendering of a value (change keys and PCLs decoded).
fn decoded(id: u16, v: &PropValue<'_>) -> Value {
    if id == tags::PR_CHANGE_KEY {
        return Value::from(match Xid::parse(v.as_bytes()) {
            Ok(x) => format!("XID {}", XidView::new(&x).brief()),
            Err(e) => format!("not an XID: {e}"),
        });
    }
    if id == tags::PR_PREDECESSOR_CHANGE_LIST {
        let brief = |x: Xid<'_>| XidView::new(&x).brief();
        return Value::from(match Pcl::parse(v.as_bytes()) {
            Ok(p) => format!(
                "PCL [{}]",
                p.xids().map(brief).collect::<Vec<_>>().join(", ")
            ),
            // Shown up to its fault, as `decode pcl` does: how it broke is
            // the evidence.
            Err(e) => {
                let before: Vec<String> = RawPclEntries::new(v.as_bytes())
                    .map_while(Result::ok)
                    .map(|entry| brief(entry.xid))
                    .collect();
                format!("malformed PCL [{}] then: {e}", before.join(", "))
            }
        });
    }
    let json = |v: Option<Value>| v.unwrap_or(Value::Null);
    match v.prop_type {
        pt::UNICODE | pt::STRING8 => json(prop_string(v, 1252).map(Value::from)),
        pt::SYSTIME => json(v.as_filetime().map(|t| FileTime(t).to_string().into())),
        pt::BOOLEAN => json(v.as_bool().map(Value::from)),
        pt::SHORT | pt::LONG | pt::ERROR | pt::I8 | pt::CURRENCY => {
            json(v.as_i64().map(Value::from))
        }
        pt::DOUBLE | pt::FLOAT | pt::APPTIME => json(v.as_f64().map(Value::from)),
        t if t & pt::MV != 0 && matches!(t & !pt::MV, pt::UNICODE) => {
            json(v.as_strings().map(Value::from))
        }
        _ => Value::Null,
    }
}

/// One property (of a property context, or a cell of a table row).
fn property_line<E: ToString>(id: u16, ty: u16, value: Result<&PropValue<'_>, E>) -> PropertyLine {
    let (value, hex, error) = match value {
        Ok(v) => (decoded(id, v), Some(hex(v.as_bytes())), None),
        Err(e) => (Value::Null, None, Some(e.to_string())),
    };
    PropertyLine::Property {
        tag: format!("{:#010x}", (id as u32) << 16 | ty as u32),
        id,
        name: tags::name(id),
        prop_type: type_name(ty),
        value,
        hex,
        error,
    }
}

fn properties(node: Node<'_>) -> Listed<Vec<PropertyLine>> {
    let pc = match PropertyContext::open(node) {
        Ok(pc) => pc,
        Err(e) => {
            return Listed::Failed {
                error: e.to_string(),
            }
        }
    };
    let lines = pc
        .iter()
        .map(|item| match item {
            Ok((id, ty, value)) => property_line(id, ty, value.as_ref()),
            Err(e) => PropertyLine::Broken {
                error: e.to_string(),
            },
        })
        .collect();
    Listed::Read(lines)
}

/// The row of message `nid` in `table` (its parent folder's contents
/// table), the cells decoded as properties are.
fn row(pst: &Pst<'_>, table: Nid, nid: Nid) -> RowLookup {
    let read = || -> Result<Option<RowView>, String> {
        let node = pst.node(table).map_err(|e| e.to_string())?;
        let tc = TableContext::open(node).map_err(|e| e.to_string())?;
        let Some(row) = tc.row_by_id(nid.0).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let cells = row
            .values()
            .iter()
            .map(|(c, v)| property_line(c.id(), c.prop_type(), v.as_ref()))
            .collect();
        Ok(Some(RowView {
            table,
            table_type: table.nid_type().name(),
            index: row.index(),
            cells,
        }))
    };
    match read() {
        Ok(Some(r)) => RowLookup::Found(r),
        Ok(None) => RowLookup::NotListed {
            table,
            listed: false,
        },
        Err(error) => RowLookup::Failed { table, error },
    }
}

fn table(node: Node<'_>) -> Listed<TableView> {
    let read = || -> Result<TableView, String> {
        let tc = TableContext::open(node).map_err(|e| e.to_string())?;
        let columns = tc
            .columns()
            .iter()
            .map(|c| ColumnView {
                tag: format!("{:#010x}", c.tag),
                name: tags::name(c.id()),
                prop_type: type_name(c.prop_type()),
            })
            .collect();
        let rows = tc
            .row_index()
            .map_err(|e| e.to_string())?
            .iter()
            .map(|&(row_id, index)| RowRef { row_id, index })
            .collect();
        Ok(TableView { columns, rows })
    };
    match read() {
        Ok(t) => Listed::Read(t),
        Err(error) => Listed::Failed { error },
    }
}

impl DumpReport {
    /// Read node `nid`; `Err` says why it could not be found.
    pub fn read(pst: &Pst<'_>, nid: Nid) -> Result<DumpReport, String> {
        let node = pst.node(nid).map_err(|e| {
            // "NID 0x... not found" names the node already.
            if e.kind_names(ost_ndb::NdbId::Nid(nid)) {
                e.to_string()
            } else {
                format!("nid {nid:#x}: {e}")
            }
        })?;
        let t = node.nid.nid_type();
        let subnodes = match node.subnodes() {
            Ok(s) => Listed::Read(
                s.iter()
                    .map(|e| SubnodeView {
                        nid: e.nid,
                        bid_data: e.bid_data,
                        bid_sub: e.bid_sub,
                    })
                    .collect(),
            ),
            Err(e) => Listed::Failed {
                error: e.to_string(),
            },
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
        let folder_table = |tt: NidType| {
            matches!(t, NidType::NormalFolder | NidType::SearchFolder)
                .then(|| pst.node(node.nid.with_type(tt)).ok())
                .flatten()
                .map(table)
        };
        // A message's row: in its folder's contents table, or in the
        // associated contents table for a hidden item.
        let row_table = match (t, node.parent) {
            (NidType::NormalMessage, Some(folder)) => {
                Some(folder.with_type(NidType::ContentsTable))
            }
            (NidType::AssocMessage, Some(folder)) => {
                Some(folder.with_type(NidType::AssocContentsTable))
            }
            _ => None,
        };
        Ok(DumpReport {
            nid: node.nid,
            nid_type: t.name(),
            bid_data: node.bid_data,
            bid_sub: node.bid_sub,
            parent: node.parent,
            subnodes,
            properties: (!is_table).then(|| properties(node)),
            table: is_table.then(|| table(node)),
            hierarchy_table: folder_table(NidType::HierarchyTable),
            contents_table: folder_table(NidType::ContentsTable),
            associated_contents_table: folder_table(NidType::AssocContentsTable),
            row: row_table.map(|table| row(pst, table, node.nid)),
            cache: pst.header().client == Client::Ost,
        })
    }

    /// The JSON form, pretty-printed, keys sorted.
    pub fn to_json(&self) -> String {
        crate::report::pretty_json_sorted(self)
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        // Lines into a String, written out in one piece by the caller.
        macro_rules! p {
            ($($arg:tt)*) => {{
                let _ = writeln!(o, $($arg)*);
            }};
        }
        p!(
            "nid {} ({:#x}), {}; data bid {:#x}, subnode bid {:#x}, parent {}",
            self.nid,
            self.nid,
            self.nid_type,
            self.bid_data,
            self.bid_sub,
            self.parent
                .map_or("null".to_string(), |p| format!("{p:#x}"))
        );
        if let Some(Listed::Read(props)) = &self.properties {
            p!("properties ({}):", props.len());
            write_lines(&mut o, props);
        }
        match &self.row {
            Some(RowLookup::Found(r)) => {
                let note = if self.cache {
                    "; an OST keeps the change key, PCL and modification time here"
                } else {
                    ""
                };
                p!(
                    "row {} of {} {:#x} ({}{note}):",
                    r.index,
                    r.table_type,
                    r.table,
                    count(r.cells.len() as u64, "cell", "cells")
                );
                write_lines(&mut o, &r.cells);
            }
            Some(RowLookup::NotListed { table, .. }) => p!(
                "row: none in {} {table:#x}, its parent folder's: an orphan, or another folder's table lists it (`ostscan items --all` names the folder)",
                table.nid_type().name()
            ),
            Some(RowLookup::Failed { table, error }) => {
                p!("row: ERROR reading {} {table:#x}: {error}", table.nid_type().name())
            }
            None => {}
        }
        if let Listed::Read(subs) = &self.subnodes {
            if !subs.is_empty() {
                p!("subnodes ({}):", subs.len());
                for s in subs {
                    p!("  nid {:#x}", s.nid);
                }
            }
        }
        for (key, table) in [
            ("table", &self.table),
            ("hierarchy_table", &self.hierarchy_table),
            ("contents_table", &self.contents_table),
            ("associated_contents_table", &self.associated_contents_table),
        ] {
            if let Some(Listed::Read(t)) = table {
                let ids: Vec<String> = t.rows.iter().map(|r| format!("{:#x}", r.row_id)).collect();
                let n = count(t.rows.len() as u64, "row", "rows");
                p!("{key}: {n}: {}", ids.join(" "));
            }
        }
        o
    }
}

/// Properties (or a row's cells) as text: tag, name, type and decoded value,
/// then the raw bytes (the first 48 of a longer value).
fn write_lines(o: &mut String, lines: &[PropertyLine]) {
    for line in lines {
        let (tag, name, prop_type, shown_value, raw) = match line {
            PropertyLine::Property {
                tag,
                name,
                prop_type,
                value,
                hex,
                error,
                ..
            } => {
                let shown = if value.is_null() {
                    error
                        .as_deref()
                        .map(|e| format!("ERROR {e}"))
                        .unwrap_or_default()
                } else {
                    value.to_string()
                };
                (
                    tag.as_str(),
                    name.unwrap_or(""),
                    prop_type.as_str(),
                    shown,
                    hex.as_deref().unwrap_or(""),
                )
            }
            PropertyLine::Broken { error } => ("?", "", "", format!("ERROR {error}"), ""),
        };
        let _ = writeln!(o, "  {tag} {name:<28} {prop_type:<16} {shown_value}");
        // `raw` is lowercase hex (ASCII): cutting it at 96 is a char boundary.
        if raw.len() > 96 {
            let _ = writeln!(o, "      {}... ({} bytes)", &raw[..96], raw.len() / 2);
        } else if !raw.is_empty() {
            let _ = writeln!(o, "      {raw}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_types_are_named_single_and_multi_valued() {
        assert_eq!(type_name(0x0102), "PT_BINARY");
        assert_eq!(type_name(0x101F), "PT_MV_UNICODE");
        assert_eq!(type_name(0x00FB), "PT_SVREID");
        assert_eq!(type_name(0x0000), "PT_UNSPECIFIED");
        // Not a type of the list: its number.
        assert_eq!(type_name(0x0099), "0x0099");
        assert_eq!(type_name(0x1099), "0x1099");
    }
}
