//! `ost-fixture`: write a generated PST/OST file and its manifest.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use ost_fixture::{manifest, CryptMethod, FixtureBuilder, Format, Rule, SyncPlacement};

#[derive(Parser, Debug)]
#[command(
    name = "ost-fixture",
    about = "Write a valid PST/OST file with seeded content and planted faults"
)]
struct Args {
    /// unicode, ansi, ost or ost4k
    #[arg(long, default_value = "unicode")]
    format: Format,
    /// none, permute or cyclic
    #[arg(long, default_value = "none", value_parser = parse_crypt)]
    crypt: CryptMethod,
    /// Number of messages
    #[arg(long, default_value_t = 20)]
    messages: usize,
    /// Output file
    #[arg(long)]
    out: PathBuf,
    /// Write the manifest (JSON lines) here
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Plant a fault: RULE:COUNT, e.g. SYNC002:3 (repeatable; SYNC004,
    /// SYNC005 and ROW001 need --sync-in rows or both)
    #[arg(long, value_parser = parse_plant)]
    plant: Vec<(Rule, usize)>,
    /// PRNG seed
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Size of each message's padding body
    #[arg(long, default_value_t = 200)]
    body_bytes: usize,
    /// Size of the padding body of the messages in the Sync Issues log
    /// folders (Sync Issues, Local Failures, Server Failures; default:
    /// --body-bytes)
    #[arg(long)]
    log_body_bytes: Option<usize>,
    /// Where messages keep their change key, PCL and modification time:
    /// item (as PSTs), rows (the contents-table rows, as real OSTs; OST
    /// formats only) or both
    #[arg(long, default_value = "item")]
    sync_in: SyncPlacement,
    /// Healthy messages whose rows lack the change key and PCL that their
    /// items have (with --sync-in rows or both)
    #[arg(long, default_value_t = 0)]
    row_gaps: usize,
    /// Write the store's ids (replica map, namespaces, folder ids) here as
    /// JSON (with --sync-in rows or both)
    #[arg(long)]
    store_json: Option<PathBuf>,
}

fn parse_crypt(s: &str) -> Result<CryptMethod, String> {
    match s {
        "none" => Ok(CryptMethod::None),
        "permute" => Ok(CryptMethod::Permute),
        "cyclic" => Ok(CryptMethod::Cyclic),
        _ => Err(format!(
            "unknown crypt {s:?} (expected none, permute or cyclic)"
        )),
    }
}

fn parse_plant(s: &str) -> Result<(Rule, usize), String> {
    let (rule, count) = s.split_once(':').unwrap_or((s, "1"));
    let count = count.parse().map_err(|_| format!("bad count in {s:?}"))?;
    Ok((rule.parse()?, count))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut b = FixtureBuilder::new(args.format)
        .crypt(args.crypt)
        .messages(args.messages)
        .seed(args.seed)
        .body_bytes(args.body_bytes)
        .sync_placement(args.sync_in)
        .row_gaps(args.row_gaps);
    if let Some(n) = args.log_body_bytes {
        b = b.log_body_bytes(n);
    }
    for (rule, count) in &args.plant {
        b = b.plant(*rule, *count);
    }
    if let Err(e) = b.validate() {
        eprintln!("ost-fixture: {e}");
        return ExitCode::from(2);
    }
    let start = Instant::now();
    let written = match b.write_file(&args.out) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("ost-fixture: cannot write {}: {e}", args.out.display());
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.manifest {
        if let Err(e) = std::fs::write(path, manifest::to_json_lines(&written.manifest)) {
            eprintln!("ost-fixture: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if let Some(path) = &args.store_json {
        let Some(store) = &written.store else {
            eprintln!("ost-fixture: --store-json needs --sync-in rows or both");
            return ExitCode::from(2);
        };
        let json = serde_json::to_string_pretty(store).expect("store record serializes");
        if let Err(e) = std::fs::write(path, json + "\n") {
            eprintln!("ost-fixture: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    eprintln!(
        "ost-fixture: wrote {} ({} bytes, {} messages) in {:.2} s",
        args.out.display(),
        written.layout.file_size,
        written.manifest.len(),
        start.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
