//! `ostscan dump FILE --nid N [--json]`: every property of a node.

use std::path::PathBuf;

use clap::Args;
use ost_ndb::{Nid, Pst};
use ostscan::dump::DumpReport;
use ostscan::paths;

use super::output::{self, warn};

const EXIT_CODES: &str = "\
Exit codes (the highest that applies wins):
  2  the file could not be opened, the node could not be read (or the file
     has no such node), the output could not be written, or bad usage
  0  none of the above: the node is shown (a table or subnode of it that
     could not be read is said in the output)
A closed output pipe (`| head`) ends ostscan quietly with status 0.";

#[derive(Args)]
#[command(after_help = EXIT_CODES)]
pub struct DumpArgs {
    /// The .pst or .ost file (opened read-only).
    pub file: PathBuf,
    /// The node id, decimal or 0x-prefixed hex (as `ostscan items` prints it).
    #[arg(long, value_parser = parse_nid)]
    pub nid: Nid,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_nid(s: &str) -> Result<Nid, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map(Nid).map_err(|e| format!("not a NID: {s} ({e})"))
}

/// Exit codes: [`EXIT_CODES`].
pub fn run(args: &DumpArgs) -> u8 {
    let fail = |what: String| {
        warn(format_args!("{}: {what}", paths::display(&args.file)));
        2
    };
    let pst = match Pst::open(&args.file) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    let report = match DumpReport::read(&pst, args.nid) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let text = if args.json {
        report.to_json()
    } else {
        report.to_text()
    };
    match output::print(text.as_bytes()) {
        Ok(()) => 0,
        Err(code) => code,
    }
}
