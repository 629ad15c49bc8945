//! `ostscan info FILE [--json] [--verify] [--strict]`

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use ost_ndb::{Pst, ReadOptions, Validation};
use ostscan::paths::{self, FilePath};
use ostscan::report::count;
use ostscan::report::style::{Painted, Palette};
use ostscan::scan::file_info;
use serde_json::{json, Value};

use super::output::{self, warn};

#[derive(Args)]
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

/// Exit codes: 0 read (problems, if any, are listed), 1 `--verify` found
/// problems, 2 the file could not be opened at all or the output could not
/// be written.
pub fn run(args: &InfoArgs) -> u8 {
    let options = ReadOptions {
        validation: if args.strict {
            Validation::Strict
        } else {
            Validation::Lenient
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
    let report = info_report(&args.file, &pst, args.verify);
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
        text.push('\n');
        text
    } else {
        print_text(&report, &args.file, &output::palette(None))
    };
    if let Err(code) = output::print(text.as_bytes()) {
        return code;
    }
    let problems = report["problems"].as_array().map_or(0, |a| a.len());
    if args.verify && problems > 0 {
        1
    } else {
        0
    }
}

/// The `info` report as JSON (also the source of the text form).
pub fn info_report(path: &std::path::Path, pst: &Pst<'_>, verify: bool) -> Value {
    let h = pst.header();
    let stats = pst.stats(verify);
    let problems: Vec<Value> = stats
        .problems
        .iter()
        .map(|e| {
            json!({
                "structure": e.structure,
                "offset": e.offset,
                "id": e.id,
                "message": e.kind.to_string(),
            })
        })
        .collect();
    json!({
        // The same object as `scan`'s `file`; `path` as in NDJSON records.
        "path": FilePath::new(path),
        "file": file_info(path, pst, None),
        "client": h.client.name(),
        "format": h.format.name(),
        "wver": h.wver,
        "wver_client": h.wver_client,
        "crypt": h.crypt.name(),
        "file_size": pst.len(),
        "file_eof": h.root.file_eof,
        "size_matches_eof": pst.len() == h.root.file_eof,
        "header_crc_ok": h.crc_ok(),
        "header_crc_partial": {"stored": h.crc_partial.stored, "computed": h.crc_partial.computed},
        "header_crc_full": h.crc_full.map(|c| json!({"stored": c.stored, "computed": c.computed})),
        "amap_valid": h.root.amap_valid,
        "nbt_root": {"bid": h.root.nbt.bid, "ib": h.root.nbt.ib},
        "bbt_root": {"bid": h.root.bbt.bid, "ib": h.root.bbt.ib},
        "nodes": stats.nodes,
        "nodes_by_type": stats.nodes_by_type,
        "blocks": stats.blocks,
        "blocks_by_kind": stats.blocks_by_kind,
        "compressed_blocks": if verify { Some(stats.compressed_blocks) } else { None },
        "nbt_pages": stats.nbt_pages,
        "bbt_pages": stats.bbt_pages,
        "verified": verify,
        "problems": problems,
        "problems_dropped": stats.problems_dropped,
    })
}

fn print_text(r: &Value, path: &Path, palette: &Palette) -> String {
    let mut o = String::new();
    // Lines into a String, written out in one piece by the caller.
    macro_rules! p {
        ($($arg:tt)*) => {{
            let _ = writeln!(o, $($arg)*);
        }};
    }
    let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
    let n = |k: &str| r[k].as_u64().unwrap_or(0);
    p!(
        "file:        {}",
        Painted(palette.heading, paths::display(path))
    );
    p!(
        "client:      {} (wVerClient {})",
        s("client"),
        n("wver_client")
    );
    p!("format:      {} (wVer {})", s("format"), n("wver"));
    p!("encryption:  {}", s("crypt"));
    let eof_note = if r["size_matches_eof"].as_bool() == Some(true) {
        Painted(Default::default(), "matches ibFileEof")
    } else {
        Painted(palette.problem, "DIFFERS from ibFileEof")
    };
    p!(
        "size:        {} bytes, {eof_note} ({})",
        n("file_size"),
        n("file_eof")
    );
    p!(
        "header CRC:  {}",
        if r["header_crc_ok"].as_bool() == Some(true) {
            Painted(Default::default(), "ok")
        } else {
            Painted(palette.problem, "MISMATCH")
        }
    );
    p!(
        "nodes:       {} in {}",
        n("nodes"),
        count(n("nbt_pages"), "NBT page", "NBT pages")
    );
    if let Some(m) = r["nodes_by_type"].as_object() {
        for (k, v) in m {
            p!("  {k:<24}{v}");
        }
    }
    p!(
        "blocks:      {} in {}",
        n("blocks"),
        count(n("bbt_pages"), "BBT page", "BBT pages")
    );
    if let Some(m) = r["blocks_by_kind"].as_object() {
        for (k, v) in m {
            p!("  {k:<24}{v}");
        }
    }
    if let Some(c) = r["compressed_blocks"].as_u64() {
        p!("  {:<24}{c}", "compressed");
    }
    let problems = r["problems"].as_array().cloned().unwrap_or_default();
    if problems.is_empty() {
        if r["verified"].as_bool() == Some(true) {
            p!("verify:      every page and block checked, no problem");
        }
    } else {
        p!("problems:    {}", Painted(palette.problem, problems.len()));
        for p in &problems {
            p!(
                "  {} at {:#x}: {}",
                p["structure"].as_str().unwrap_or(""),
                p["offset"].as_u64().unwrap_or(0),
                p["message"].as_str().unwrap_or("")
            );
        }
        let dropped = n("problems_dropped");
        if dropped > 0 {
            p!("  ... and {dropped} more");
        }
    }
    o
}
