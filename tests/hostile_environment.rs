//! Issue 15: ostscan in a hostile environment. Each numbered case of the
//! issue has a test here:
//!
//! 1. `--out` naming an input is refused before a byte is written; `--out`
//!    is replaced only by a run that completed.
//! 2. A file read in part is `partial` and exits 2 (unless
//!    `--allow-partial`).
//! 3. FIFOs, sockets and directories among the inputs are errors, never
//!    hangs (run with a time limit, so they fail instead of hanging).
//! 4. A closed pipe ends quietly; a full disk is one line and exit 2.
//! 5. Paths that are not UTF-8 stay distinct and exact (JSON, text,
//!    resume, manifests, `-0`).
//! 6. `--resume` after any interruption: valid NDJSON, each file once, one
//!    summary (`kill_and_resume_at_random_points_scans_each_file_once`).
//! 7. `--jobs` is capped.

#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{assert_valid, corpus, report_validator, scratch, without_timing, workspace, Rng};
use ost_fixture::{FixtureBuilder, Format, Rule};
use ostscan::paths::base64_decode;
use serde_json::Value;

/// Longest any one run may take before the test fails (a hang).
const LIMIT: Duration = Duration::from_secs(120);

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// Run ostscan with a time limit; a run that has to be killed fails the
/// test instead of hanging it.
fn run(args: &[&OsStr]) -> Output {
    common::ostscan_timeout(args, LIMIT)
        .unwrap_or_else(|| panic!("ostscan {args:?}: still running after {LIMIT:?}"))
}

fn run_str(args: &[&str]) -> Output {
    let args: Vec<&OsStr> = args.iter().map(|a| os(a)).collect();
    run(&args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn no_panic(out: &Output, what: &str) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_ne!(out.status.code(), Some(101), "{what}: {err}");
    assert!(out.status.code().is_some(), "{what}: killed by a signal");
}

fn testdata(name: &str) -> PathBuf {
    workspace().join("testdata").join(name)
}

fn ndjson_lines(bytes: &[u8]) -> Vec<Value> {
    common::ndjson(bytes)
}

fn sha(path: &Path) -> Vec<u8> {
    use std::hash::{Hash, Hasher};
    // Identity of the contents, enough to see a change (not a security
    // property): the bytes themselves for these small files.
    let bytes = std::fs::read(path).unwrap();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    let mut out = bytes.len().to_le_bytes().to_vec();
    out.extend(h.finish().to_le_bytes());
    out
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

/// A path from raw bytes.
fn raw(dir: &Path, name: &[u8]) -> PathBuf {
    dir.join(OsStr::from_bytes(name))
}

/// The bytes a JSON path stands for.
fn path_bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(map) => {
            let text = map["text"].as_str().expect("text");
            assert!(!text.is_empty());
            base64_decode(map["bytes"].as_str().expect("bytes")).expect("base64")
        }
        other => panic!("not a path: {other}"),
    }
}

// ---------------------------------------------------------------- case 1

#[test]
fn out_naming_an_input_is_refused_before_a_byte_is_written() {
    let dir = scratch("hostile-out-input");
    let evidence = dir.join("ev.ost");
    std::fs::copy(testdata("sync-faults.ost"), &evidence).unwrap();
    let before = sha(&evidence);
    symlink(&evidence, dir.join("link.ost")).unwrap();
    std::fs::hard_link(&evidence, dir.join("hard.ost")).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let ev = evidence.to_str().unwrap();
    let link = dir.join("link.ost");
    let hard = dir.join("hard.ost");
    let dotted = dir.join("sub/../ev.ost");
    let attempts: Vec<Vec<&str>> = vec![
        vec!["scan", ev, "--out", ev],
        vec!["scan", "--ndjson", ev, "--out", ev],
        vec!["scan", "--json", ev, "--out", link.to_str().unwrap()],
        vec!["scan", ev, "--out", hard.to_str().unwrap()],
        vec!["scan", link.to_str().unwrap(), "--out", ev],
        vec!["scan", ev, "--out", dotted.to_str().unwrap()],
        vec!["batch", ev, "--out", ev],
        vec!["batch", dir.to_str().unwrap(), "--out", ev],
        vec!["batch", "--resume", ev, "--out", ev],
        vec!["diff", ev, ev, "--out", ev],
        vec![
            "diff",
            "--json",
            ev,
            link.to_str().unwrap(),
            "--out",
            hard.to_str().unwrap(),
        ],
        vec![
            "diff",
            "--ndjson",
            link.to_str().unwrap(),
            ev,
            "--out",
            dotted.to_str().unwrap(),
        ],
    ];
    for args in &attempts {
        let out = run_str(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("refusing to write over an input"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        assert_eq!(sha(&evidence), before, "{args:?} changed the evidence");
        assert!(common::out_temp_files(&dir).is_empty(), "{args:?}");
    }
    // An input that does not exist yet is still an input.
    let missing = dir.join("missing.ost");
    let out = run_str(&[
        "scan",
        missing.to_str().unwrap(),
        "--out",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!missing.exists(), "no output was created");
    // The manifest of a batch is an input too.
    let manifest = dir.join("list.txt");
    std::fs::write(&manifest, format!("{ev}\n")).unwrap();
    let manifest_before = sha(&manifest);
    let m = manifest.to_str().unwrap();
    let out = run_str(&["batch", "--manifest", m, "--out", m]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(sha(&manifest), manifest_before);
    assert_eq!(sha(&evidence), before);
}

#[test]
fn out_is_replaced_only_by_a_complete_run() {
    let dir = scratch("hostile-out-atomic");
    let input = testdata("small-unicode.pst");
    let target = dir.join("report.json");
    std::fs::write(&target, b"earlier report\n").unwrap();
    let args = [
        os("scan"),
        os("--json"),
        input.as_os_str(),
        os("--out"),
        target.as_os_str(),
    ];
    // Interrupted after 100 bytes: the earlier report is untouched.
    let out = run_command(
        Command::new(common::ostscan_bin())
            .args(args)
            .env("OSTSCAN_TEST_ABORT_AFTER_BYTES", "100"),
    );
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    assert_eq!(std::fs::read(&target).unwrap(), b"earlier report\n");
    // Where there was none, an interrupted run leaves none.
    let fresh = dir.join("fresh.json");
    let out = run_command(
        Command::new(common::ostscan_bin())
            .args([
                os("scan"),
                os("--ndjson"),
                input.as_os_str(),
                os("--out"),
                fresh.as_os_str(),
            ])
            .env("OSTSCAN_TEST_ABORT_AFTER_BYTES", "10"),
    );
    assert_eq!(out.status.code(), Some(137));
    assert!(!fresh.exists());
    for temp in common::out_temp_files(&dir) {
        std::fs::remove_file(temp).unwrap();
    }
    // A complete run replaces it, through a symbolic link too (the link
    // stays a link), and leaves no temporary file.
    let link = dir.join("link.json");
    symlink(&target, &link).unwrap();
    let out = run(&[
        os("scan"),
        os("--json"),
        input.as_os_str(),
        os("--out"),
        link.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(report["files"][0]["status"], "ok");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(common::out_temp_files(&dir).is_empty());
    // A device is written to, never replaced.
    let out = run(&[os("scan"), input.as_os_str(), os("--out"), os("/dev/null")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::metadata("/dev/null")
        .map(|m| !m.is_file())
        .unwrap());
}

// ---------------------------------------------------------------- case 2

#[test]
fn a_file_read_in_part_is_partial_and_exits_2() {
    let dir = scratch("hostile-partial");
    let bytes = std::fs::read(testdata("sync-faults.ost")).unwrap();
    let cut = dir.join("t.ost");
    std::fs::write(&cut, &bytes[..150_000]).unwrap();
    let t = cut.to_str().unwrap();

    for fail_on in ["warning", "info", "critical"] {
        let out = run_str(&["scan", t, "--fail-on", fail_on]);
        assert_eq!(out.status.code(), Some(2), "--fail-on {fail_on}");
    }
    let out = run_str(&["scan", t]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("read in part: 7 errors; results cover 0 of 0 messages found"),
        "{text}"
    );
    assert!(!text.contains("  no findings\n"), "{text}");
    assert!(stderr(&out).contains("read in part"), "{}", stderr(&out));

    let out = run_str(&["scan", "--json", t]);
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&report_validator(None), &report, "t.ost");
    assert_eq!(report["files"][0]["status"], "partial");
    assert_eq!(report["summary"]["files_partial"], 1);
    assert_eq!(report["summary"]["files_unreadable"], 0);

    let out = run_str(&["scan", "--ndjson", t]);
    let records = ndjson_lines(&out.stdout);
    let end = records.iter().find(|r| r["type"] == "end").unwrap();
    assert_eq!(end["status"], "partial");

    // --allow-partial: findings only (none here).
    let out = run_str(&["scan", "--allow-partial", t]);
    assert_eq!(out.status.code(), Some(0));
    // With a healthy file with findings beside it: still 2, as 2 wins.
    let faults = testdata("sync-faults.ost");
    let out = run_str(&["scan", faults.to_str().unwrap(), t]);
    assert_eq!(out.status.code(), Some(2));
    let out = run_str(&["scan", "--allow-partial", faults.to_str().unwrap(), t]);
    assert_eq!(out.status.code(), Some(1));

    // batch: the summary counts it.
    let out = run_str(&["batch", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let summary = ndjson_lines(&out.stdout).pop().unwrap();
    assert_eq!(summary["files_partial"], 1);
    assert_eq!(summary["files_unreadable"], 0);
    let out = run_str(&["batch", "--allow-partial", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));

    // The corpus file with a bad header CRC and an unreadable BBT page.
    let Some(corpus) = corpus() else { return };
    let damaged = corpus.join("asposenet_AddingBulkMessagesWithImprovedPerformance.pst");
    let d = damaged.to_str().unwrap();
    for fail_on in ["warning", "info"] {
        let out = run_str(&["scan", d, "--fail-on", fail_on]);
        assert_eq!(out.status.code(), Some(2));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("read in part: 8 errors"), "{text}");
    }
}

// ---------------------------------------------------------------- case 3

#[test]
fn non_regular_inputs_are_errors_not_hangs() {
    let dir = scratch("hostile-fifo");
    let a = dir.join("a.ost");
    let b = dir.join("b.ost");
    std::fs::copy(testdata("small-ost4k.ost"), &a).unwrap();
    std::fs::copy(testdata("small-unicode.pst"), &b).unwrap();
    let fifo = dir.join("f.ost");
    mkfifo(&fifo);
    let socket_path = dir.join("s.pst");
    let _listener = std::os::unix::net::UnixListener::bind(&socket_path).unwrap();
    let subdir = dir.join("d.ost");
    std::fs::create_dir(&subdir).unwrap();
    let (a, b, f) = (a.as_os_str(), b.as_os_str(), fifo.as_os_str());

    let out = run(&[os("scan"), a, f, b, os("--ndjson")]);
    assert_eq!(out.status.code(), Some(2));
    let records = ndjson_lines(&out.stdout);
    let ends: Vec<&Value> = records.iter().filter(|r| r["type"] == "end").collect();
    assert_eq!(ends.len(), 3, "b.ost is reported after the FIFO");
    assert_eq!(ends[1]["status"], "unreadable");
    assert_eq!(ends[2]["status"], "ok");
    let error = records.iter().find(|r| r["type"] == "error").unwrap();
    assert!(
        error["message"].as_str().unwrap().contains("FIFO"),
        "{error}"
    );

    // Every kind, in text: named for what it is.
    for (path, what) in [
        (&fifo, "is a FIFO (named pipe)"),
        (&socket_path, "is a socket"),
        (&subdir, "is a directory: use `ostscan batch DIR`"),
    ] {
        let out = run(&[os("scan"), a, path.as_os_str(), b]);
        assert_eq!(out.status.code(), Some(2), "{what}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(what), "{what}: {text}");
        assert!(text.contains("b.ost"), "{text}");
        assert!(stderr(&out).contains(what), "{}", stderr(&out));
    }
    let dev = os("/dev/zero");
    let out = run(&[os("scan"), dev]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("character device"));

    // The other subcommands that open files.
    for args in [
        vec![os("items"), f],
        vec![os("info"), f],
        vec![os("info"), os("--verify"), f],
        vec![os("dump"), f, os("--nid"), os("33")],
        vec![os("diff"), a, f],
        vec![os("diff"), f, a],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("FIFO"), "{args:?}: {}", stderr(&out));
    }

    // batch --manifest with the FIFO listed.
    let manifest = dir.join("list.txt");
    let mut list = Vec::new();
    for p in [a, f, b] {
        list.extend_from_slice(p.as_bytes());
        list.push(b'\n');
    }
    std::fs::write(&manifest, &list).unwrap();
    let out = run(&[os("batch"), os("--manifest"), manifest.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let records = ndjson_lines(&out.stdout);
    assert_eq!(records.iter().filter(|r| r["type"] == "end").count(), 3);

    // batch DIR: found, never opened, said.
    let out = run(&[os("batch"), dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let records = ndjson_lines(&out.stdout);
    let ended: BTreeSet<String> = records
        .iter()
        .filter(|r| r["type"] == "end")
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    assert!(ended.contains(a.to_str().unwrap()) && ended.contains(b.to_str().unwrap()));
    assert!(
        !ended.contains(f.to_str().unwrap()),
        "the FIFO is not scanned"
    );
    let said: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "error" && r["structure"] == "file")
        .collect();
    assert_eq!(said.len(), 2, "the FIFO and the socket: {said:?}");
}

// ---------------------------------------------------------------- case 4

/// Every subcommand, with arguments that make it write output.
fn writers() -> Vec<Vec<OsString>> {
    let faults = testdata("sync-faults.ost").into_os_string();
    let small = testdata("small-unicode.pst").into_os_string();
    let s = |x: &str| OsString::from(x);
    vec![
        vec![s("info"), faults.clone()],
        vec![s("info"), s("--json"), faults.clone()],
        vec![s("dump"), faults.clone(), s("--nid"), s("33")],
        vec![s("dump"), s("--json"), faults.clone(), s("--nid"), s("33")],
        vec![s("items"), s("--all"), faults.clone()],
        vec![
            s("decode"),
            s("xid"),
            s("0x0102030405060708090a0b0c0d0e0f1011121314"),
        ],
        vec![s("scan"), faults.clone()],
        vec![s("scan"), s("--json"), faults.clone()],
        vec![s("scan"), s("--ndjson"), faults.clone(), small.clone()],
        vec![s("diff"), faults.clone(), small.clone()],
        vec![s("diff"), s("--ndjson"), faults.clone(), small.clone()],
        vec![s("batch"), testdata("").into_os_string()],
        vec![s("--help")],
    ]
}

/// Run ostscan with standard output connected to `stdout`.
fn run_with_stdout(args: &[OsString], stdout: Stdio) -> Output {
    let mut cmd = Command::new(common::ostscan_bin());
    cmd.args(args).stdout(stdout);
    run_command(&mut cmd)
}

/// Run `cmd` (standard error captured, and standard output unless the
/// caller set it) within [`LIMIT`]: a run that has to be killed fails the
/// test instead of hanging it. The pipes are drained on threads, so a
/// chatty child cannot block on them.
fn run_command(cmd: &mut Command) -> Output {
    use std::io::Read;
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?}: still running after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A pipe whose reading end is already closed: every write to the other
/// end fails with EPIPE, whatever the timing.
fn closed_pipe() -> Stdio {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: fds has room for the two descriptors pipe(2) writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fds[0] is ours and closed once; fds[1] is handed over once.
    unsafe {
        libc::close(fds[0]);
        Stdio::from(std::os::fd::OwnedFd::from_raw_fd(fds[1]))
    }
}

#[test]
fn a_closed_pipe_ends_quietly_in_every_subcommand() {
    for args in writers() {
        let out = run_with_stdout(&args, closed_pipe());
        no_panic(&out, &format!("{args:?}"));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        // Nothing about the pipe (other lines, e.g. a finding count, may
        // not be written at all: the process ends at the first write).
        let err = stderr(&out);
        assert!(
            !err.contains("pipe") && !err.contains("os error"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_full_disk_is_one_line_and_exit_2_in_every_subcommand() {
    for args in writers() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = run_with_stdout(&args, Stdio::from(full));
        no_panic(&out, &format!("{args:?}"));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("No space left on device"))
            .collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(lines[0].starts_with("ostscan: standard output: "), "{err}");
    }
    // --out on a full device: the same.
    let faults = testdata("sync-faults.ost");
    for cmd in ["scan", "batch"] {
        let out = run(&[os(cmd), faults.as_os_str(), os("--out"), os("/dev/full")]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(
            stderr(&out).contains("/dev/full: No space left"),
            "{}",
            stderr(&out)
        );
    }
}

// ---------------------------------------------------------------- case 5

#[test]
fn paths_that_are_not_utf8_stay_distinct_and_exact() {
    let dir = scratch("hostile-bytes");
    let ff = raw(&dir, b"a\xff.ost");
    let fe = raw(&dir, b"a\xfe.ost");
    std::fs::copy(testdata("small-ost4k.ost"), &ff).unwrap();
    std::fs::copy(testdata("small-unicode.pst"), &fe).unwrap();

    // JSON: exact bytes, two different paths.
    let out = run(&[os("scan"), os("--json"), ff.as_os_str(), fe.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&report_validator(None), &report, "bytes");
    let got: Vec<Vec<u8>> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| path_bytes(&f["file"]["path"]))
        .collect();
    assert_eq!(
        got,
        vec![
            ff.as_os_str().as_bytes().to_vec(),
            fe.as_os_str().as_bytes().to_vec()
        ]
    );
    // NDJSON: every record's path.
    let out = run(&[os("scan"), os("--ndjson"), ff.as_os_str()]);
    let validator = report_validator(Some("record"));
    for record in ndjson_lines(&out.stdout) {
        assert_valid(&validator, &record, "record");
        if record["type"] != "summary" {
            assert_eq!(path_bytes(&record["path"]), ff.as_os_str().as_bytes());
        }
    }
    // Text: escaped visibly, so the two differ.
    let out = run(&[os("scan"), ff.as_os_str(), fe.as_os_str()]);
    let text = String::from_utf8(out.stdout).expect("text output is UTF-8");
    assert!(
        text.contains("a\\xFF.ost") && text.contains("a\\xFE.ost"),
        "{text}"
    );
    assert!(!text.contains('\u{fffd}'), "{text}");
    let out = run(&[os("info"), ff.as_os_str()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("a\\xFF.ost"));

    // Resume matches files by their bytes: after a run over a\xff alone,
    // a run over the directory scans a\xfe, and not a\xff again.
    let out_file = scratch("hostile-bytes-out").join("out.ndjson");
    let manifest = scratch("hostile-bytes-list").join("list");
    std::fs::write(&manifest, [ff.as_os_str().as_bytes(), b"\n"].concat()).unwrap();
    let out = run(&[
        os("batch"),
        os("--manifest"),
        manifest.as_os_str(),
        os("--resume"),
        os("--out"),
        out_file.as_os_str(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "manifest with a non-UTF-8 line: {}",
        stderr(&out)
    );
    let out = run(&[
        os("batch"),
        dir.as_os_str(),
        os("--resume"),
        os("--out"),
        out_file.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = ndjson_lines(&std::fs::read(&out_file).unwrap());
    let begun: Vec<Vec<u8>> = records
        .iter()
        .filter(|r| r["type"] == "begin")
        .map(|r| path_bytes(&r["path"]))
        .collect();
    assert_eq!(
        begun,
        vec![
            ff.as_os_str().as_bytes().to_vec(),
            fe.as_os_str().as_bytes().to_vec()
        ],
        "each scanned once"
    );
    let summary = records.last().unwrap();
    assert_eq!(summary["files"], 2);
    assert_eq!(summary["files_skipped"], 1);

    // -0: NUL-separated, names with a newline in them too.
    let odd = dir.join("new\nline.pst");
    std::fs::copy(testdata("small-unicode.pst"), &odd).unwrap();
    let mut list = Vec::new();
    for p in [&ff, &odd] {
        list.extend_from_slice(p.as_os_str().as_bytes());
        list.push(0);
    }
    let nul_list = scratch("hostile-bytes-nul").join("list0");
    std::fs::write(&nul_list, &list).unwrap();
    let out = run(&[
        os("batch"),
        os("-0"),
        os("--manifest"),
        nul_list.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ended: BTreeSet<Vec<u8>> = ndjson_lines(&out.stdout)
        .iter()
        .filter(|r| r["type"] == "end")
        .map(|r| path_bytes(&r["path"]))
        .collect();
    let expected: BTreeSet<Vec<u8>> = [&ff, &odd]
        .iter()
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .collect();
    assert_eq!(ended, expected);
    let out = run(&[os("scan"), odd.as_os_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("{}\n", dir.join("new\\x0Aline.pst").display())),
        "{text}"
    );
}

// ---------------------------------------------------------------- case 6

#[test]
fn resume_truncates_a_torn_line_and_keeps_one_summary() {
    let dir = scratch("hostile-torn");
    let stores = dir.join("stores");
    std::fs::create_dir(&stores).unwrap();
    for (i, name) in ["a.ost", "b.pst", "c.ost"].iter().enumerate() {
        FixtureBuilder::new(Format::Unicode)
            .messages(10)
            .seed(300 + i as u64)
            .write_file(&stores.join(name))
            .unwrap();
    }
    let out_file = dir.join("out.ndjson");
    let batch = |extra: &[&OsStr]| {
        let mut args = vec![
            os("batch"),
            stores.as_os_str(),
            os("--resume"),
            os("--out"),
            out_file.as_os_str(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let first = batch(&[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let whole = std::fs::read(&out_file).unwrap();
    // Cut inside the second file's end record.
    let text = String::from_utf8(whole.clone()).unwrap();
    let second_end = text.match_indices("{\"type\":\"end\"").nth(1).unwrap().0;
    std::fs::write(&out_file, &whole[..second_end + 30]).unwrap();
    let again = batch(&[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let bytes = std::fs::read(&out_file).unwrap();
    let records = ndjson_lines(&bytes);
    let begins: Vec<&str> = records
        .iter()
        .filter(|r| r["type"] == "begin")
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(begins.len(), 3, "one begin per file: {begins:?}");
    assert_eq!(records.iter().filter(|r| r["type"] == "summary").count(), 1);
    assert_eq!(records.last().unwrap()["type"], "summary");
    assert_eq!(records.last().unwrap()["files"], 3);
    assert_eq!(records.last().unwrap()["files_skipped"], 1);
    // Nothing left to do, several times: still one summary.
    for _ in 0..3 {
        assert_eq!(batch(&[]).status.code(), Some(0));
    }
    let records = ndjson_lines(&std::fs::read(&out_file).unwrap());
    assert_eq!(records.iter().filter(|r| r["type"] == "summary").count(), 1);
    assert_eq!(records.iter().filter(|r| r["type"] == "begin").count(), 3);
}

/// One file's records in an NDJSON output: what a complete run says of it.
fn by_file(records: &[Value]) -> BTreeMap<Vec<u8>, Vec<Value>> {
    let mut files: BTreeMap<Vec<u8>, Vec<Value>> = BTreeMap::new();
    for r in records {
        if r["type"] == "summary" {
            continue;
        }
        if r["type"] == "error" && r["structure"] == "file" {
            continue;
        }
        files
            .entry(path_bytes(&r["path"]))
            .or_default()
            .push(without_timing(r.clone()));
    }
    files
}

/// Check an output after the final, complete run: every line whole and
/// valid, each file's records once and contiguous, one summary last.
fn check_complete(bytes: &[u8], reference: &[Value], what: &str) {
    assert!(bytes.ends_with(b"\n"), "{what}: ends mid-line");
    let validator = report_validator(Some("record"));
    let records: Vec<Value> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l)
                .unwrap_or_else(|e| panic!("{what}: {e}: {}", String::from_utf8_lossy(l)))
        })
        .collect();
    for r in &records {
        assert_valid(&validator, r, what);
    }
    let summaries = records.iter().filter(|r| r["type"] == "summary").count();
    assert_eq!(summaries, 1, "{what}: summaries");
    assert_eq!(records.last().unwrap()["type"], "summary", "{what}");
    // Contiguous: a begin, then that file's records, then its end.
    let mut open: Option<Vec<u8>> = None;
    for r in &records {
        let kind = r["type"].as_str().unwrap();
        match kind {
            "begin" => {
                assert!(open.is_none(), "{what}: begin inside a file");
                open = Some(path_bytes(&r["path"]));
            }
            "end" => {
                assert_eq!(open.take(), Some(path_bytes(&r["path"])), "{what}");
            }
            "summary" => assert!(open.is_none(), "{what}"),
            "error" if open.is_none() => assert_eq!(r["structure"], "file", "{what}"),
            _ => assert_eq!(open.as_deref(), Some(&path_bytes(&r["path"])[..]), "{what}"),
        }
    }
    // The directory errors of the last run only.
    let said = |records: &[Value]| {
        records
            .iter()
            .filter(|r| r["type"] == "error" && r["structure"] == "file")
            .count()
    };
    assert_eq!(said(&records), said(reference), "{what}: directory errors");
    // The same per-file records as an uninterrupted run: each file exactly
    // once, scanned once.
    assert_eq!(by_file(&records), by_file(reference), "{what}");
    let strip = |v: &Value| {
        let mut v = without_timing(v.clone());
        v.as_object_mut().unwrap().remove("files_skipped");
        v
    };
    assert_eq!(
        strip(records.last().unwrap()),
        strip(reference.last().unwrap()),
        "{what}: summary"
    );
}

/// A directory of stores for the kill test: healthy, with findings, read
/// in part, unreadable, and a name that is not UTF-8; `with_fifo` adds a
/// FIFO with a store's name (an error record each run writes first, so a
/// resume must drop the earlier one from the middle of the output).
fn kill_test_tree(dir: &Path, with_fifo: bool) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for (i, name) in ["a.pst", "sub/b.ost", "c.pst"].iter().enumerate() {
        FixtureBuilder::new(if i % 2 == 0 {
            Format::Unicode
        } else {
            Format::Ost
        })
        .messages(12)
        .seed(500 + i as u64)
        .write_file(&dir.join(name))
        .unwrap();
    }
    FixtureBuilder::new(Format::Ost4k)
        .messages(15)
        .seed(77)
        .plant(Rule::Sync002, 2)
        .write_file(&dir.join("sub/faulty.ost"))
        .unwrap();
    let bytes = std::fs::read(testdata("sync-faults.ost")).unwrap();
    std::fs::write(dir.join("cut.ost"), &bytes[..150_000]).unwrap();
    std::fs::write(dir.join("garbage.pst"), vec![0x5Au8; 2048]).unwrap();
    std::fs::copy(testdata("small-unicode.pst"), raw(dir, b"z\xff.pst")).unwrap();
    if with_fifo {
        mkfifo(&dir.join("sub/pipe.ost"));
    }
}

#[test]
fn kill_and_resume_at_random_points_scans_each_file_once() {
    let base = scratch("hostile-kill");
    let trees = [base.join("plain"), base.join("with-fifo")];
    kill_test_tree(&trees[0], false);
    kill_test_tree(&trees[1], true);
    let batch = |tree: &Path, out: &Path, abort_after: Option<u64>| {
        let mut cmd = Command::new(common::ostscan_bin());
        cmd.args([
            os("batch"),
            tree.as_os_str(),
            os("--resume"),
            os("--out"),
            out.as_os_str(),
            os("--jobs"),
            os("2"),
        ])
        .stdout(Stdio::null());
        if let Some(n) = abort_after {
            cmd.env("OSTSCAN_TEST_ABORT_AFTER_BYTES", n.to_string());
        }
        let out = run_command(&mut cmd);
        assert!(
            matches!(out.status.code(), Some(2 | 137)),
            "{:?}: {}",
            out.status,
            stderr(&out)
        );
        out.status.code() == Some(137)
    };
    // The reference: one uninterrupted run per tree.
    let references: Vec<(Vec<Value>, u64)> = trees
        .iter()
        .enumerate()
        .map(|(i, tree)| {
            let out = base.join(format!("reference-{i}.ndjson"));
            assert!(!batch(tree, &out, None));
            let bytes = std::fs::read(&out).unwrap();
            (ndjson_lines(&bytes), bytes.len() as u64)
        })
        .collect();
    let mut rng = Rng::new(0x15_15_15);
    let mut interruptions = 0;
    for round in 0..24 {
        let which = round % 2;
        let (reference, len) = &references[which];
        let out = base.join(format!("round-{round}.ndjson"));
        // One to three interruptions at random bytes, then a run that is
        // left to finish.
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(*len as usize) as u64;
            if batch(&trees[which], &out, Some(at)) {
                interruptions += 1;
                // Whatever was cut, the next run must cope.
            }
        }
        assert!(
            !batch(&trees[which], &out, None),
            "round {round}: the last run completes"
        );
        check_complete(
            &std::fs::read(&out).unwrap(),
            reference,
            &format!("round {round} ({})", trees[which].display()),
        );
    }
    assert!(interruptions >= 20, "only {interruptions} interruptions");
}

// ---------------------------------------------------------------- case 7

#[test]
fn jobs_is_capped_and_zero_is_automatic() {
    let faults = testdata("sync-faults.ost");
    let small = testdata("small-unicode.pst");
    let reference = run(&[
        os("scan"),
        os("--json"),
        os("--jobs"),
        os("1"),
        faults.as_os_str(),
        small.as_os_str(),
    ]);
    let expected = without_timing(serde_json::from_slice(&reference.stdout).unwrap());
    for jobs in ["1000000", "0"] {
        let out = run(&[
            os("scan"),
            os("--json"),
            os("--jobs"),
            os(jobs),
            faults.as_os_str(),
            small.as_os_str(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "--jobs {jobs}: {}",
            stderr(&out)
        );
        let got = without_timing(serde_json::from_slice(&out.stdout).unwrap());
        assert_eq!(got, expected, "--jobs {jobs}");
        let capped = stderr(&out).contains("--jobs 1000000 capped at");
        assert_eq!(capped, jobs != "0", "{}", stderr(&out));
    }
    let out = run(&[os("batch"), os("--jobs"), os("1000000"), small.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("capped at"), "{}", stderr(&out));
}
