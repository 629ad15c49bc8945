//! `cargo bench -p ostscan --bench scan [-- FILE...]`
//!
//! Times `ostscan scan` on stores of about 1 GB against `cat FILE >
//! /dev/null` on the same warm file, and reports the scan's peak RSS. With
//! no FILE, generates (once, cached by name) two fixture stores with
//! `ost-fixture`: ~40,000 messages with large bodies and ~200,000 messages
//! with small ones, both about 1 GB, both with planted faults.
//!
//! Environment: `OSTSCAN_BENCH_DIR` (default: `<system temp>/ostscan-bench`)
//! holds the generated stores; `OSTSCAN_BENCH_JOBS` is passed as `--jobs`.
//!
//! One run per file, not a statistical harness: the point is the ratio to
//! the cost of reading the bytes, recorded in docs/performance.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ost_fixture::{CryptMethod, FixtureBuilder, Format, Rule};

/// A generated store: name, messages, body size (bytes).
const STORES: &[(&str, usize, usize)] = &[
    ("scan-40k-big-bodies.ost", 40_000, 24_000),
    ("scan-200k-small-bodies.ost", 200_000, 3_500),
];

fn bench_dir() -> PathBuf {
    std::env::var_os("OSTSCAN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("ostscan-bench"))
}

/// The store, generated unless a previous run left it.
fn store(name: &str, messages: usize, body: usize) -> PathBuf {
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
    let mut builder = FixtureBuilder::new(Format::Ost)
        .crypt(CryptMethod::Permute)
        .messages(messages)
        .seed(messages as u64)
        .body_bytes(body);
    for rule in Rule::ALL {
        builder = builder.plant(rule, 50);
    }
    builder.write_file(&partial).expect("write store");
    // Renamed only when complete, so an interrupted run never leaves a
    // truncated store that later runs would take as cached.
    std::fs::rename(&partial, &path).expect("rename store");
    eprintln!("  done in {:.1} s", started.elapsed().as_secs_f64());
    path
}

fn time(command: &mut Command) -> Duration {
    let started = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run command");
    let elapsed = started.elapsed();
    // ostscan exits 1 when it has findings (the stores have planted ones).
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "{command:?} failed: {status}"
    );
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

/// Run `command`, timing it and sampling its VmHWM until it exits (the
/// value only grows, so the last sample is the peak up to the last few
/// milliseconds).
fn time_with_peak_rss(command: &mut Command) -> (Duration, u64, u64) {
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
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "{command:?} failed: {status}"
    );
    (elapsed, peak, peak_anon)
}

fn bench_file(path: &Path) {
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    let cat = || {
        time(
            Command::new("sh")
                .arg("-c")
                .arg("cat \"$1\" > /dev/null")
                .arg("sh")
                .arg(path),
        )
    };
    cat(); // warm the page cache
    let cat_time = cat();
    let mut scan = Command::new(env!("CARGO_BIN_EXE_ostscan"));
    scan.args(["scan", "--ndjson", "--out", "/dev/null"]);
    if let Some(jobs) = std::env::var_os("OSTSCAN_BENCH_JOBS") {
        scan.arg("--jobs").arg(jobs);
    }
    scan.arg(path);
    let (scan_time, rss, anon) = time_with_peak_rss(&mut scan);
    let mib = bytes as f64 / (1 << 20) as f64;
    println!("{}", path.display());
    println!("  size            {mib:.0} MiB ({bytes} bytes)");
    println!(
        "  cat > /dev/null {:>8.3} s  {:>7.0} MiB/s",
        cat_time.as_secs_f64(),
        mib / cat_time.as_secs_f64()
    );
    println!(
        "  ostscan scan    {:>8.3} s  {:>7.0} MiB/s",
        scan_time.as_secs_f64(),
        mib / scan_time.as_secs_f64()
    );
    println!(
        "  scan / cat      {:>8.2}x",
        scan_time.as_secs_f64() / cat_time.as_secs_f64()
    );
    println!(
        "  peak RSS        {:>8.0} MiB (VmHWM of the scan, mapped file pages included)",
        rss as f64 / 1024.0
    );
    println!(
        "  peak RssAnon    {:>8.0} MiB (heap and stacks, sampled every 2 ms)",
        anon as f64 / 1024.0
    );
}

fn main() {
    // `cargo bench` passes `--bench`; anything else is a file to time.
    let files: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    let files = if files.is_empty() {
        STORES
            .iter()
            .map(|(name, messages, body)| store(name, *messages, *body))
            .collect()
    } else {
        files
    };
    println!(
        "ostscan scan vs cat, {} CPUs",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for file in &files {
        bench_file(file);
    }
}
