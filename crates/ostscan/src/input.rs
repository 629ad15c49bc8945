//! What ostscan says about an input it cannot open.

use ost_ndb::{NdbError, NdbErrorKind};

use crate::scan::file_report::{ErrorReport, ErrorSource};

/// The `source: "open"` error of a file that could not be opened. A path
/// that is not a regular file is named for what it is, and a directory
/// gets the command that reads one.
pub fn open_error(e: &NdbError) -> ErrorReport {
    let mut report = ErrorReport::from_ndb(ErrorSource::Open, e);
    if e.kind == NdbErrorKind::NotAFile("directory") {
        report.message = "is a directory: use `ostscan batch DIR`".to_string();
    }
    report
}

/// What a file type is, in words ("directory", "FIFO (named pipe)", ...).
pub fn kind_name(kind: std::fs::FileType) -> &'static str {
    if kind.is_file() {
        return "regular file";
    }
    if kind.is_dir() {
        return "directory";
    }
    if kind.is_symlink() {
        return "symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "FIFO (named pipe)";
        }
        if kind.is_socket() {
            return "socket";
        }
        if kind.is_char_device() {
            return "character device";
        }
        if kind.is_block_device() {
            return "block device";
        }
    }
    "special file"
}
