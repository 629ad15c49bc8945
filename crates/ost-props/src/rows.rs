//! Contents-table rows as a source of item properties.
//!
//! Real Outlook OSTs keep each item's PR_CHANGE_KEY, PCL and
//! PR_LAST_MODIFICATION_TIME in the row of its folder's contents table, not
//! in the item's property context (docs/format.md, "Where OSTs keep the sync
//! properties"). A table whose columns include the change key or the PCL
//! "carries the sync columns": its rows are read as the walk lists them.

use ost_ndb::ltp::prop_type as pt;
use ost_ndb::ltp::tc::{Column, Row, TableContext};
use ost_ndb::ltp::{LtpError, PropValue};

use crate::object_id::{ObjectId, PR_OST_OBJECT_ID};
use crate::tags::*;
use crate::time::FileTime;
use crate::view::SourceProps;

/// The columns of a contents table the walk reads, found once per table.
#[derive(Debug, Default, Clone, Copy)]
pub struct RowColumns {
    subject: Option<Column>,
    message_class: Option<Column>,
    change_key: Option<Column>,
    pcl: Option<Column>,
    source_key: Option<Column>,
    parent_source_key: Option<Column>,
    search_key: Option<Column>,
    conflict_entry_id: Option<Column>,
    last_modified: Option<Column>,
    change_num: Option<Column>,
    message_status: Option<Column>,
    object_id: Option<Column>,
}

/// The column of a property of one of `types` (a table may list a property
/// under another type; such a column is not read).
fn column(tc: &TableContext<'_>, id: u16, types: &[u16]) -> Option<Column> {
    tc.columns()
        .iter()
        .find(|c| c.id() == id && types.contains(&c.prop_type()))
        .copied()
}

impl RowColumns {
    /// The columns of `tc` that the walk reads.
    pub fn of(tc: &TableContext<'_>) -> RowColumns {
        let text = [pt::UNICODE, pt::STRING8];
        let binary = [pt::BINARY];
        RowColumns {
            subject: column(tc, PR_SUBJECT, &text),
            message_class: column(tc, PR_MESSAGE_CLASS, &text),
            change_key: column(tc, PR_CHANGE_KEY, &binary),
            pcl: column(tc, PR_PREDECESSOR_CHANGE_LIST, &binary),
            source_key: column(tc, PR_SOURCE_KEY, &binary),
            parent_source_key: column(tc, PR_PARENT_SOURCE_KEY, &binary),
            search_key: column(tc, PR_SEARCH_KEY, &binary),
            conflict_entry_id: column(tc, PR_CONFLICT_ENTRYID, &binary),
            last_modified: column(tc, PR_LAST_MODIFICATION_TIME, &[pt::SYSTIME]),
            change_num: column(tc, PR_CHANGE_NUM, &[pt::I8]),
            message_status: column(tc, PR_MESSAGE_STATUS, &[pt::LONG]),
            object_id: column(tc, PR_OST_OBJECT_ID, &[pt::I8]),
        }
    }

    /// Whether the table carries the change key or the PCL: then its rows
    /// are a source of the items' sync properties.
    pub fn carries_sync(&self) -> bool {
        self.change_key.is_some() || self.pcl.is_some()
    }

    /// Read the columns of one row into `props`. A cell that cannot be
    /// read is left empty and its error pushed to `errors`; the others are
    /// still read.
    pub fn read<'t>(
        &self,
        row: &Row<'t, '_>,
        props: &mut SourceProps<'t>,
        errors: &mut Vec<LtpError>,
    ) {
        let mut get = |c: &Option<Column>| -> Option<PropValue<'t>> {
            match row.value(c.as_ref()?) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(e);
                    None
                }
            }
        };
        props.subject = get(&self.subject);
        props.message_class = get(&self.message_class);
        props.change_key = get(&self.change_key);
        props.pcl = get(&self.pcl);
        props.source_key = get(&self.source_key);
        props.parent_source_key = get(&self.parent_source_key);
        props.search_key = get(&self.search_key);
        props.conflict_entry_id = get(&self.conflict_entry_id);
        props.last_modified = get(&self.last_modified)
            .and_then(|v| v.as_filetime())
            .map(FileTime);
        props.change_num = get(&self.change_num)
            .and_then(|v| v.as_i64())
            .map(|n| n as u64);
        props.message_status = get(&self.message_status)
            .and_then(|v| v.as_i32())
            .map(|n| n as u32);
        props.object_id = get(&self.object_id).and_then(|v| ObjectId::from_bytes(v.as_bytes()));
    }
}
