//! Helpers shared by the end-to-end tests: where the corpus is, how to run
//! the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// ../shared/corpus beside the checkout, or $OSTSCAN_CORPUS; `None` (after
/// printing why) when it is absent, so tests skip instead of failing.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("OSTSCAN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    if dir.join("MANIFEST.tsv").is_file() {
        Some(dir)
    } else {
        skip(format_args!("skipping: corpus {} not found", dir.display()));
        None
    }
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `ostscan` binary under test: `$OSTSCAN_BIN` when set (to test an
/// installed or release build), else the workspace's own, which cargo
/// builds (or finds up to date) the first time a test asks, in the profile
/// this test binary was built in. cargo hands `CARGO_BIN_EXE_ostscan` only
/// to the tests of the binary's own package, and these tests are a package
/// of their own.
pub fn ostscan_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("OSTSCAN_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => build_ostscan(),
    })
}

fn build_ostscan() -> PathBuf {
    // This test binary is target/<profile dir>/deps/NAME-HASH; the dev
    // profile's directory is "debug".
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = match exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
    {
        Some("debug") | None => "dev".to_string(),
        Some(name) => name.to_string(),
    };
    // $CARGO: the cargo that runs these tests (set by `cargo test`).
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "build",
            "--quiet",
            "--package",
            "ostscan",
            "--bin",
            "ostscan",
        ])
        .args(["--profile", &profile, "--message-format", "json"])
        .output()
        .expect("run cargo to build ostscan");
    assert!(
        out.status.success(),
        "cargo build -p ostscan failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The compiler-artifact message of the binary names the executable.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "ostscan")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo named no ostscan executable")
}

/// Run `ostscan` with `args`.
pub fn ostscan(args: &[&str]) -> Output {
    Command::new(ostscan_bin())
        .args(args)
        .output()
        .expect("run ostscan")
}

/// The rows of the corpus MANIFEST.tsv as (column name -> value) maps.
pub fn manifest(dir: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut lines = text.lines();
    let head: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split('\t')
        .map(str::to_string)
        .collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split('\t').map(str::to_string))
                .collect()
        })
        .collect()
}

/// A fresh, empty scratch directory for one test (under the system temp
/// directory, named after the test and this process).
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ostscan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Run `ostscan` with `args` and `stdin` as standard input.
pub fn ostscan_stdin(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(ostscan_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ostscan");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("wait for ostscan")
}

/// A validator for docs/report.schema.json: the report object itself
/// (`definition` None) or one of its `$defs` (e.g. "record").
pub fn report_validator(definition: Option<&str>) -> jsonschema::Validator {
    let text = std::fs::read_to_string(workspace().join("docs/report.schema.json"))
        .expect("docs/report.schema.json");
    let mut schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    if let Some(name) = definition {
        assert!(schema["$defs"][name].is_object(), "no $defs/{name}");
        schema["$ref"] = serde_json::Value::String(format!("#/$defs/{name}"));
        if let Some(object) = schema.as_object_mut() {
            for key in ["required", "properties", "type"] {
                object.remove(key);
            }
        }
    }
    jsonschema::validator_for(&schema).expect("schema compiles")
}

/// Assert `value` validates, listing every violation otherwise.
pub fn assert_valid(validator: &jsonschema::Validator, value: &serde_json::Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

/// `value` with every `elapsed_ms` field set to 0: the only part of a
/// report that differs between two runs over the same input.
pub fn without_timing(mut value: serde_json::Value) -> serde_json::Value {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if key == "elapsed_ms" {
                        *item = serde_json::Value::from(0);
                    } else {
                        walk(item);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

/// Temporary files `--out` leaves beside itself while a run is going on
/// (none should outlive it).
pub fn out_temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".ostscan-tmp"))
        .collect()
}

/// The lines of NDJSON output, parsed.
pub fn ndjson(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// The fixture's splitmix64 from a raw state, so every run makes the same
/// mutants; `below` draws by modulo, the sequence the sweep's recorded
/// mutants were made with.
pub struct Rng(ost_fixture::rng::Rng);

impl Rng {
    pub fn new(state: u64) -> Rng {
        Rng(ost_fixture::rng::Rng::from_state(state))
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }
}

/// A global allocator that counts, per thread, the bytes currently
/// allocated and their peak, so a test can bound the memory one walk takes
/// (`#[global_allocator] static A: common::CountingAlloc = common::CountingAlloc;`).
pub struct CountingAlloc;

thread_local! {
    static LIVE: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
    static PEAK: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

fn count(delta: isize) {
    // try_with: the thread-locals may be gone while a thread exits.
    let _ = LIVE.try_with(|l| {
        let v = l.get() + delta;
        l.set(v);
        let _ = PEAK.try_with(|p| {
            if v > p.get() {
                p.set(v)
            }
        });
    });
}

unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count(layout.size() as isize);
        std::alloc::System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        count(-(layout.size() as isize));
        std::alloc::System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        count(new as isize - layout.size() as isize);
        std::alloc::System.realloc(ptr, layout, new)
    }
}

/// Run `f` and return its result with the peak of bytes this thread held
/// during it, above what it held before.
pub fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(base));
    let out = f();
    let peak = PEAK.with(|p| p.get());
    (out, (peak - base).max(0) as usize)
}

/// Run `ostscan args` with a time limit; `None` when it had to be killed.
pub fn ostscan_timeout(args: &[&std::ffi::OsStr], limit: std::time::Duration) -> Option<Output> {
    use std::process::Stdio;
    let mut child = Command::new(ostscan_bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ostscan");
    // Drain the pipes on threads so a chatty child cannot block on them.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut v);
        v
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    status.map(|status| Output {
        status,
        stdout,
        stderr,
    })
}

/// Why a test skips its work, written to the process's standard error
/// itself: libtest captures `println!` and `eprintln!` (and shows them only
/// for a failing test), but a skipped check must be seen in `cargo test`'s
/// output.
pub fn skip(reason: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{reason}");
}

/// A copy of fixture `fx` (written in `format`) whose node `nid` has a
/// data block that fails its CRC: the block still reads, so the file is
/// read in full but is damaged (status partial, `info --verify` lists it).
pub fn with_a_bad_block_crc(
    fx: &ost_fixture::Fixture,
    format: ost_fixture::Format,
    nid: u32,
) -> Vec<u8> {
    use ost_fixture::faults::{damage, Damage};
    let mut bytes = fx.bytes.clone();
    damage(&mut bytes, format, &fx.layout, Damage::BadBlockCrc { nid }).unwrap();
    bytes
}

/// A Unicode PST of `messages` fixture messages (seed `seed`) whose first
/// message's data block fails its CRC ([`with_a_bad_block_crc`]).
pub fn pst_with_a_bad_block_crc(messages: usize, seed: u64) -> Vec<u8> {
    use ost_fixture::{FixtureBuilder, Format};
    let fx = FixtureBuilder::new(Format::Unicode)
        .messages(messages)
        .seed(seed)
        .build()
        .unwrap();
    with_a_bad_block_crc(&fx, Format::Unicode, fx.manifest[0].nid)
}
