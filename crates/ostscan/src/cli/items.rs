//! `ostscan items FILE [--all]`: one JSON line per message.

use std::path::PathBuf;

use clap::Args;
use ost_ndb::Pst;
use ost_props::{RowPolicy, Store};
use ostscan::items::ItemLine;
use ostscan::paths;
use ostscan::report::JsonLines;
use ostscan::walk::{read_problems, read_records};

use super::output::{warn, Output};

const EXIT_CODES: &str = "\
Exit codes (the highest that applies wins):
  2  the file could not be opened, or was read only in part (each problem
     goes to standard error; the lines cover what was read; not with
     --allow-partial), the output could not be written, or bad usage
  0  none of the above
A closed output pipe (`| head`) ends ostscan quietly with status 0.";

#[derive(Args)]
#[command(after_help = EXIT_CODES)]
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
    /// A file read only in part does not make the exit status 2 (its
    /// problems are still said on standard error).
    #[arg(long)]
    pub allow_partial: bool,
}

/// Exit codes: [`EXIT_CODES`]. Read in part: a structure that could not
/// be read, or bytes that failed their integrity checks.
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
    let records = read_records(&mut store, args.all, &policy);
    let mut out = Output::stdout();
    let written = JsonLines::new(&mut out).lines(&records, ItemLine::new);
    if let Err(code) = out.end(written) {
        return code;
    }
    let file = paths::display(&args.file);
    let unread = read_problems(&store, &records);
    for e in &unread {
        warn(format_args!("{file}: {e}"));
    }
    let mut problems = unread.len();
    let (issues, dropped) = pst.issues();
    for e in &issues {
        warn(format_args!("{file}: {e}"));
    }
    if dropped > 0 {
        warn(format_args!(
            "{file}: {dropped} more integrity issues not listed"
        ));
    }
    problems += issues.len() + dropped as usize;
    if problems == 0 || args.allow_partial {
        return 0;
    }
    warn(format_args!(
        "{file}: read in part ({}): the items listed are what could be read \
         (--allow-partial: exit 0)",
        ostscan::report::count(problems as u64, "problem", "problems")
    ));
    2
}
