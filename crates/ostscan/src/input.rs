//! What ostscan says about an input it cannot open.

use ost_ndb::{NdbError, NdbErrorKind};
use ost_props::{Problem, ProblemKind};

use crate::scan::file_report::{ErrorReport, ErrorSource};

/// The `source: "open"` error of a file that could not be opened. A path
/// that is not a regular file is named for what it is, and a directory
/// gets the command that reads one.
pub fn open_error(e: &NdbError) -> ErrorReport {
    let mut problem = Problem::ndb_kind_only(e);
    if e.kind == NdbErrorKind::NotAFile("directory") {
        problem.kind = ProblemKind::Text("is a directory: use `ostscan batch DIR`".to_string());
    }
    ErrorReport::new(ErrorSource::Open, problem)
}
