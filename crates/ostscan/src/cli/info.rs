//! `ostscan info FILE [--json] [--verify] [--strict]`

use std::path::PathBuf;

use clap::Args;
use ost_ndb::{Access, Pst, ReadOptions, Validation};
use ostscan::info::InfoReport;
use ostscan::paths;

use super::output::{self, warn};

const AFTER_HELP: &str = "\
Exit codes (the highest that applies wins):
  2  the file could not be opened at all, --strict and any problem (a
     mismatch in the header stops the open; one met later is listed), the
     output could not be written, or bad usage
  1  problems were found and listed: a CRC or signature that does not
     match, a page or block that cannot be read, a file shorter than its
     header says (without --verify, in the header and the pages read to
     count nodes and blocks; --verify reads every page and block)
  0  none of the above
A closed output pipe (`| head`) ends ostscan quietly with status 0.";

#[derive(Args)]
#[command(after_help = AFTER_HELP)]
pub struct InfoArgs {
    /// The .pst or .ost file (opened read-only).
    pub file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Read every page and block and report CRC / signature failures with offsets.
    #[arg(long)]
    pub verify: bool,
    /// Treat any CRC or signature mismatch as fatal (default: report it and read on).
    #[arg(long)]
    pub strict: bool,
}

/// Exit codes: 0 read without a problem, 1 problems listed (a damaged
/// file read on: a sanity check must not pass it), 2 the file could not be
/// opened at all, a problem under --strict, or the output could not be
/// written.
pub fn run(args: &InfoArgs) -> u8 {
    let options = ReadOptions {
        validation: if args.strict {
            Validation::Strict
        } else {
            Validation::Lenient
        },
        // --verify reads every block.
        access: if args.verify {
            Access::Most
        } else {
            Access::Sparse
        },
        ..ReadOptions::default()
    };
    let pst = match Pst::open_with(&args.file, options) {
        Ok(p) => p,
        Err(e) => {
            warn(format_args!("{}: {e}", paths::display(&args.file)));
            return 2;
        }
    };
    let report = InfoReport::new(&args.file, &pst, args.verify);
    let text = if args.json {
        report.to_json()
    } else {
        report.to_text(&args.file, &output::palette(None))
    };
    if let Err(code) = output::print(text.as_bytes()) {
        return code;
    }
    match (report.problems.is_empty(), args.strict) {
        (true, _) => 0,
        // --strict makes any mismatch fatal, also one met after the open
        // (a page read while counting nodes and blocks).
        (false, true) => 2,
        (false, false) => 1,
    }
}
