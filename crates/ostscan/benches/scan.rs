//! `cargo bench -p ostscan --bench scan [-- FILE...]`
//!
//! Times `ostscan scan` on stores of about 1 GB against `cat FILE >
//! /dev/null` on the same warm file and against the `outlook-pst` crate
//! reading the same sync properties of every message, and reports the
//! scan's CPU time, page faults and peak RSS. With no FILE, generates (once,
//! cached by name) two Unicode PST fixture stores with `ost-fixture`
//! (`outlook-pst` reads PSTs, not OSTs): ~40,000 messages with large bodies
//! and ~200,000 messages with small ones, both over 1 GB, both with planted
//! faults.
//!
//! A third generated store is a 4K OST in the real OSTs' layout (sync
//! properties in the contents-table rows), ~200,000 messages, 1.3 GB; it
//! runs without `outlook-pst`, which reads PSTs only.
//!
//! Then, as root (it drops the page cache; otherwise it prints "skipped:
//! needs root"), each file on a cold page cache: `cat` and `scan` in turn,
//! caches dropped before each, with the bytes each read from the device
//! (`ru_inblock`); and, with no FILE, `ostscan batch` over a directory of
//! 50 generated ~20 MB stores against a cold `cat` of them all.
//! `OSTSCAN_BENCH_NO_COLD=1` skips the cold runs.
//!
//! Environment: `OSTSCAN_BENCH_DIR` (default: `<system temp>/ostscan-bench`)
//! holds the generated stores; `OSTSCAN_BENCH_JOBS` is passed as `--jobs`;
//! `OSTSCAN_BENCH_NO_OUTLOOK_PST=1` skips the `outlook-pst` run.
//!
//! `OSTSCAN_BENCH_ROUNDS` (default 5) rounds per file, each running `cat`,
//! the scan and `outlook-pst` in turn, so that the three see the same
//! machine (a shared machine's speed drifts); the figures printed are
//! medians over the rounds, and each ratio is the median of the rounds'
//! own ratios. On a shared machine one round's ratio moves by a fifth, so
//! the median of three could land on an outlier; five rounds add about 20
//! seconds. Not a statistical harness: the point is the ratios to the
//! cost of reading the bytes and to another reader, recorded in
//! docs/performance.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ost_fixture::{CryptMethod, FixtureBuilder, Format, Rule, SyncPlacement};

/// A generated store: name, messages, body size (bytes), and the body
/// size of the messages in the Sync Issues log folders where it differs
/// (the generator's logs have the messages' body size unless told). A
/// name ending in `.ost` is a 4K OST in the real OSTs' layout (change key,
/// PCL and modification time in the contents-table rows; zlib blocks, no
/// encoding), which `outlook-pst` cannot read; the others are Unicode PSTs
/// with permute encoding.
const STORES: &[(&str, usize, usize, Option<usize>)] = &[
    ("scan-40k-big-bodies.pst", 40_000, 24_000, None),
    ("scan-200k-small-bodies.pst", 200_000, 3_500, None),
    // Real-sized Sync Issues logs (a few hundred bytes): the store on
    // which the vector code is judged (docs/performance.md, "Vector code").
    ("scan-200k-real-logs.pst", 200_000, 600, None),
    // Bodies compress about 3:1: 30,000 bytes make the file 1.3 GB. Its
    // 24,000 logs of 30 KB each cost a cold scan three dependent reads each.
    ("scan-200k-ost-rows.ost", 200_000, 30_000, None),
    // The same with logs of Outlook's size (a few hundred bytes, as in the
    // real OSTs' Sync Issues folders): the cold-cache target's OST.
    ("scan-200k-ost-real-logs.ost", 200_000, 30_000, Some(600)),
];

/// The stores of the cold `batch` run: how many, messages and body size
/// (about 20 MB each).
const BATCH_STORES: (usize, usize, usize) = (50, 400, 24_000);

fn is_ost(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ost"))
}

fn bench_dir() -> PathBuf {
    std::env::var_os("OSTSCAN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("ostscan-bench"))
}

/// The store, generated unless a previous run left it.
fn store(name: &str, messages: usize, body: usize, log_body: Option<usize>) -> PathBuf {
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).expect("create bench dir");
    let path = dir.join(name);
    if path.is_file() {
        return path;
    }
    eprintln!(
        "generating {} ({messages} messages, {body}-byte bodies)...",
        path.display()
    );
    let started = Instant::now();
    let partial = dir.join(format!("{name}.partial"));
    let mut rules = Rule::ALL.to_vec();
    let (format, crypt, sync) = if is_ost(&path) {
        rules.extend(Rule::OST_ROWS);
        (Format::Ost4k, CryptMethod::None, SyncPlacement::Rows)
    } else {
        (Format::Unicode, CryptMethod::Permute, SyncPlacement::Item)
    };
    let mut builder = FixtureBuilder::new(format)
        .crypt(crypt)
        .sync_placement(sync)
        .messages(messages)
        .seed(messages as u64)
        .body_bytes(body);
    if let Some(log_body) = log_body {
        builder = builder.log_body_bytes(log_body);
    }
    for rule in rules {
        builder = builder.plant(rule, 50);
    }
    builder.write_file(&partial).expect("write store");
    // Renamed only when complete, so an interrupted run never leaves a
    // truncated store that later runs would take as cached.
    std::fs::rename(&partial, &path).expect("rename store");
    eprintln!("  done in {:.1} s", started.elapsed().as_secs_f64());
    path
}

/// CPU time and page faults of the children reaped so far (RUSAGE_CHILDREN).
#[derive(Clone, Copy)]
struct Usage {
    user: f64,
    sys: f64,
    minor_faults: i64,
    /// Bytes read from the device (`ru_inblock`, the 512-byte units of
    /// `/proc/PID/io`'s `read_bytes`).
    read_bytes: u64,
}

fn children_usage() -> Usage {
    // SAFETY: getrusage writes one rusage struct, which we provide zeroed.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        user: secs(ru.ru_utime),
        sys: secs(ru.ru_stime),
        minor_faults: ru.ru_minflt,
        read_bytes: ru.ru_inblock as u64 * 512,
    }
}

fn time(command: &mut Command) -> Duration {
    let started = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run command");
    let elapsed = started.elapsed();
    assert!(status.success(), "{command:?} failed: {status}");
    elapsed
}

/// A field of /proc/PID/status in KiB (`VmHWM`: peak resident set,
/// including the mapped file's pages; `RssAnon`: current heap and stacks).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| {
        l.strip_prefix(field)
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What one scan run measured.
struct ScanRun {
    elapsed: Duration,
    /// Peak VmHWM and RssAnon (KiB), sampled every 2 ms.
    peak: u64,
    peak_anon: u64,
    /// CPU time and faults of the scan process (from getrusage).
    user: f64,
    sys: f64,
    faults: i64,
}

/// Run `command`, timing it and sampling its VmHWM until it exits (the
/// value only grows, so the last sample is the peak up to the last few
/// milliseconds).
fn time_with_peak_rss(command: &mut Command) -> ScanRun {
    let before = children_usage();
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run command");
    let (mut peak, mut peak_anon) = (0, 0);
    let status = loop {
        if let Some(kib) = status_kib(child.id(), "VmHWM") {
            peak = peak.max(kib);
        }
        if let Some(kib) = status_kib(child.id(), "RssAnon") {
            peak_anon = peak_anon.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    let after = children_usage();
    // ostscan exits 1 when it has findings (the stores have planted ones).
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "{command:?} failed: {status}"
    );
    ScanRun {
        elapsed,
        peak,
        peak_anon,
        user: after.user - before.user,
        sys: after.sys - before.sys,
        faults: after.minor_faults - before.minor_faults,
    }
}

/// The `outlook-pst` crate (a dev-dependency of this bench only) on the
/// same file: the six properties of every message, the way a user of that
/// crate would read them.
mod outlook {
    use std::rc::Rc;
    use std::time::{Duration, Instant};

    use outlook_pst::messaging::store::Store;
    use outlook_pst::ndb::node_id::NodeId;

    /// PR_SUBJECT, PR_MESSAGE_CLASS, PR_CHANGE_KEY,
    /// PR_PREDECESSOR_CHANGE_LIST, PR_SOURCE_KEY, PR_LAST_MODIFICATION_TIME.
    const PROPS: [u16; 6] = [0x0037, 0x001A, 0x65E2, 0x65E3, 0x65E0, 0x3008];

    /// The root folder (NID_ROOT_FOLDER), where ostscan's walk starts too.
    const ROOT_FOLDER: u32 = 0x122;

    pub struct Run {
        pub elapsed: Duration,
        pub threads: usize,
        pub messages: usize,
        /// Properties found over all messages.
        pub props: usize,
        pub errors: usize,
    }

    fn open(path: &std::path::Path) -> Rc<dyn Store> {
        outlook_pst::open_store(path).expect("outlook-pst: open store")
    }

    /// NIDs of every message of every folder's contents and associated
    /// contents tables, depth first from the root folder.
    fn message_nids(store: &Rc<dyn Store>) -> Vec<u32> {
        let props = store.properties();
        let mut out = Vec::new();
        let mut stack = vec![ROOT_FOLDER];
        let mut seen = std::collections::HashSet::new();
        while let Some(nid) = stack.pop() {
            if !seen.insert(nid) {
                continue;
            }
            let Ok(id) = props.make_entry_id(NodeId::from(nid)) else {
                continue;
            };
            let Ok(folder) = store.open_folder(&id) else {
                continue;
            };
            if let Some(t) = folder.hierarchy_table() {
                stack.extend(t.rows_matrix().map(|r| u32::from(r.id())));
            }
            for t in [folder.contents_table(), folder.associated_table()]
                .into_iter()
                .flatten()
            {
                out.extend(t.rows_matrix().map(|r| u32::from(r.id())));
            }
        }
        out
    }

    /// Read the six properties of each message; (found, errors).
    fn read(store: &Rc<dyn Store>, nids: &[u32]) -> (usize, usize) {
        let (mut found, mut errors) = (0, 0);
        for &nid in nids {
            let message = store
                .properties()
                .make_entry_id(NodeId::from(nid))
                .and_then(|id| store.open_message(&id, Some(&PROPS)));
            match message {
                Ok(m) => {
                    let p = m.properties();
                    found += PROPS
                        .iter()
                        .filter(|&&id| std::hint::black_box(p.get(id)).is_some())
                        .count();
                }
                Err(_) => errors += 1,
            }
        }
        (found, errors)
    }

    /// Its stores hold `Rc`s and are neither `Send` nor `Sync`, so each
    /// thread opens the file itself and reads its share of the messages
    /// (one thread per CPU); the folder walk runs once, first.
    pub fn run(path: &std::path::Path) -> Run {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let started = Instant::now();
        let nids = message_nids(&open(path));
        let chunk = nids.len().div_ceil(threads).max(1);
        let (props, errors) = std::thread::scope(|s| {
            let handles: Vec<_> = nids
                .chunks(chunk)
                .map(|part| s.spawn(move || read(&open(path), part)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("outlook-pst thread"))
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        });
        Run {
            elapsed: started.elapsed(),
            threads,
            messages: nids.len(),
            props,
            errors,
        }
    }
}

/// Each round's ratio, as the figures quote them: `1.82x 1.51x 1.58x`.
fn each_ratio(ratios: &[f64]) -> String {
    ratios
        .iter()
        .map(|r| format!("{r:.2}x"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The median of some values (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn bench_file(path: &Path) {
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    let rounds = rounds();
    // outlook-pst reads PSTs only.
    let with_outlook = std::env::var_os("OSTSCAN_BENCH_NO_OUTLOOK_PST").is_none() && !is_ost(path);
    let cat = || {
        time(
            Command::new("sh")
                .arg("-c")
                .arg("cat \"$1\" > /dev/null")
                .arg("sh")
                .arg(path),
        )
        .as_secs_f64()
    };
    cat(); // warm the page cache
    let (mut cats, mut scans, mut outlooks) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        cats.push(cat());
        scans.push(time_with_peak_rss(&mut scan_command(path)));
        if with_outlook {
            outlooks.push(outlook::run(path));
        }
    }
    let scan_secs: Vec<f64> = scans.iter().map(|r| r.elapsed.as_secs_f64()).collect();
    let outlook_secs: Vec<f64> = outlooks.iter().map(|o| o.elapsed.as_secs_f64()).collect();
    let cat_time = median(cats.clone());
    let scan_time = median(scan_secs.clone());
    // CPU figures of the median scan run; peaks are the largest of all.
    let run = scans
        .iter()
        .min_by(|a, b| {
            (a.elapsed.as_secs_f64() - scan_time)
                .abs()
                .total_cmp(&(b.elapsed.as_secs_f64() - scan_time).abs())
        })
        .expect("at least one round");
    let peak = scans.iter().map(|r| r.peak).max().unwrap_or(0);
    let peak_anon = scans.iter().map(|r| r.peak_anon).max().unwrap_or(0);
    let mib = bytes as f64 / (1 << 20) as f64;
    println!("{} ({rounds} rounds, medians)", path.display());
    println!("  size            {mib:.0} MiB ({bytes} bytes)");
    println!(
        "  cat > /dev/null {cat_time:>8.3} s  {:>7.0} MiB/s",
        mib / cat_time
    );
    println!(
        "  ostscan scan    {scan_time:>8.3} s  {:>7.0} MiB/s",
        mib / scan_time
    );
    println!(
        "    cpu           {:>8.3} s user + {:.3} s sys = {:.2} CPUs busy, {} page faults",
        run.user,
        run.sys,
        (run.user + run.sys) / run.elapsed.as_secs_f64(),
        run.faults
    );
    if let Some(o) = outlooks.first() {
        println!(
            "  outlook-pst     {:>8.3} s  ({} threads, {} messages, {} properties, {} errors)",
            median(outlook_secs.clone()),
            o.threads,
            o.messages,
            o.props,
            o.errors
        );
    }
    let ratios =
        |num: &[f64], den: &[f64]| median(num.iter().zip(den).map(|(n, d)| n / d).collect());
    println!("  scan / cat      {:>8.2}x", ratios(&scan_secs, &cats));
    if !outlooks.is_empty() {
        println!(
            "  outlook-pst / scan {:>5.1}x  (rounds: {})",
            ratios(&outlook_secs, &scan_secs),
            outlook_secs
                .iter()
                .zip(&scan_secs)
                .map(|(o, s)| format!("{:.1}x", o / s))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    println!(
        "  peak RSS        {:>8.0} MiB (VmHWM of the scan, mapped file pages included)",
        peak as f64 / 1024.0
    );
    println!(
        "  peak RssAnon    {:>8.0} MiB (heap and stacks, sampled every 2 ms)",
        peak_anon as f64 / 1024.0
    );
}

/// Drop the page cache (root only): `sync`, then 3 to drop_caches.
fn drop_caches() -> bool {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

/// True when this process may drop the page cache.
fn can_drop_caches() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A command run on a cold page cache: wall time and bytes read from the
/// device.
fn cold_run(command: &mut Command) -> (f64, u64) {
    assert!(drop_caches(), "drop caches");
    // The program itself is loaded first (`--version`): its own pages (43
    // MB for a bench build with debug info) are not the file's reads.
    let _ = Command::new(command.get_program())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let before = children_usage();
    let started = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run command");
    let elapsed = started.elapsed().as_secs_f64();
    // ostscan exits 1 when it has findings.
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "{command:?} failed: {status}"
    );
    (elapsed, children_usage().read_bytes - before.read_bytes)
}

fn scan_command(path: &Path) -> Command {
    let mut scan = Command::new(env!("CARGO_BIN_EXE_ostscan"));
    scan.args(["scan", "--ndjson", "--out", "/dev/null"]);
    if let Some(jobs) = std::env::var_os("OSTSCAN_BENCH_JOBS") {
        scan.arg("--jobs").arg(jobs);
    }
    scan.arg(path);
    scan
}

fn cat_command(paths: &[&Path]) -> Command {
    let mut cat = Command::new("cat");
    cat.args(paths);
    cat
}

/// `cat` and `scan` of `path` on a cold page cache, alternating, `rounds`
/// times each: the share of the file each read from the device, the
/// medians of their times, and the median of the rounds' own ratios.
fn bench_cold(path: &Path, rounds: usize) {
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len()).max(1);
    let (mut cats, mut scans, mut read) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (cat, cat_read) = cold_run(&mut cat_command(&[path]));
        let (scan, scan_read) = cold_run(&mut scan_command(path));
        cats.push(cat);
        scans.push(scan);
        read.push((
            scan_read as f64 / bytes as f64,
            cat_read as f64 / bytes as f64,
        ));
    }
    let ratios: Vec<f64> = scans.iter().zip(&cats).map(|(s, c)| s / c).collect();
    println!("  cold page cache ({rounds} rounds, caches dropped before each run)");
    println!(
        "    cat           {:>8.3} s  (read {:.1}% of the file)",
        median(cats.clone()),
        100.0 * median(read.iter().map(|r| r.1).collect())
    );
    println!(
        "    ostscan scan  {:>8.3} s  (read {:.1}% of the file)",
        median(scans.clone()),
        100.0 * median(read.iter().map(|r| r.0).collect())
    );
    println!(
        "    scan / cat    {:>8.2}x  (rounds: {})",
        median(ratios.clone()),
        each_ratio(&ratios)
    );
}

/// `ostscan batch` over a directory of [`BATCH_STORES`] small stores on a
/// cold page cache, against a cold `cat` of all of them.
fn bench_batch_cold(rounds: usize) {
    let (count, messages, body) = BATCH_STORES;
    let dir = bench_dir().join(format!("batch-{count}x{messages}"));
    std::fs::create_dir_all(&dir).expect("create batch dir");
    let mut paths = Vec::new();
    for i in 0..count {
        let path = dir.join(format!("store-{i:02}.pst"));
        if !path.is_file() {
            let partial = dir.join(format!("store-{i:02}.pst.partial"));
            let mut builder = FixtureBuilder::new(Format::Unicode)
                .crypt(CryptMethod::Permute)
                .messages(messages)
                .seed(1000 + i as u64)
                .body_bytes(body);
            for rule in Rule::ALL {
                builder = builder.plant(rule, 2);
            }
            builder.write_file(&partial).expect("write store");
            std::fs::rename(&partial, &path).expect("rename store");
        }
        paths.push(path);
    }
    let bytes: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum::<u64>()
        .max(1);
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let (mut cats, mut batches, mut read) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (cat, _) = cold_run(&mut cat_command(&refs));
        let mut batch = Command::new(env!("CARGO_BIN_EXE_ostscan"));
        batch.args(["batch", "--out", "/dev/null"]);
        if let Some(jobs) = std::env::var_os("OSTSCAN_BENCH_JOBS") {
            batch.arg("--jobs").arg(jobs);
        }
        batch.arg(&dir);
        let (scan, scan_read) = cold_run(&mut batch);
        cats.push(cat);
        batches.push(scan);
        read.push(scan_read as f64 / bytes as f64);
    }
    let ratios: Vec<f64> = batches.iter().zip(&cats).map(|(s, c)| s / c).collect();
    let mib = bytes as f64 / (1 << 20) as f64;
    println!(
        "{} ({count} stores, {mib:.0} MiB; cold page cache, {rounds} rounds, medians)",
        dir.display()
    );
    let (cat, batch) = (median(cats), median(batches));
    println!(
        "  cat             {cat:>8.3} s  {:>7.1} files/s",
        count as f64 / cat
    );
    println!(
        "  ostscan batch   {batch:>8.3} s  {:>7.1} files/s  (read {:.1}% of the bytes)",
        count as f64 / batch,
        100.0 * median(read)
    );
    println!(
        "  batch / cat     {:>8.2}x  (rounds: {})",
        median(ratios.clone()),
        each_ratio(&ratios)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; anything else is a file to time.
    let files: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    let named = files.clone();
    // A store's name instead of its path, or a typo: said before any
    // store is generated or timed (each would panic half-way otherwise).
    let missing: Vec<&PathBuf> = files.iter().filter(|f| !f.is_file()).collect();
    if !missing.is_empty() {
        for f in missing {
            eprintln!(
                "scan bench: {}: not a file (give the path of a store, e.g. {})",
                f.display(),
                bench_dir().join("scan-40k-big-bodies.pst").display()
            );
        }
        std::process::exit(2);
    }
    let files = if files.is_empty() {
        STORES
            .iter()
            .map(|&(name, messages, body, log_body)| store(name, messages, body, log_body))
            .collect()
    } else {
        files
    };
    println!(
        "ostscan scan vs cat vs outlook-pst, {} CPUs",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let rounds = rounds();
    let cold = std::env::var_os("OSTSCAN_BENCH_NO_COLD").is_none();
    for file in &files {
        bench_file(file);
        if cold && can_drop_caches() {
            bench_cold(file, rounds);
        } else if cold {
            println!("  cold page cache: skipped: needs root (to drop the page cache)");
        }
    }
    if cold && named.is_empty() {
        if can_drop_caches() {
            bench_batch_cold(rounds);
        } else {
            println!("batch on a cold page cache: skipped: needs root");
        }
    }
}

/// `OSTSCAN_BENCH_ROUNDS`, default 5.
fn rounds() -> usize {
    std::env::var("OSTSCAN_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(5)
}
