//! The Spark job (`integrations/spark/ostscan_spark.py`, docs/scale.md)
//! against one `ostscan batch` over the same manifest: the same files ended,
//! the same records per file, the same summary and exit status; partition
//! K-1 is `--shard K/N`; Spark reads the output back; a crashing scan is an
//! `error` record and a lost Python worker does not duplicate records.
//!
//! Runs in Spark's `local[2]` mode when `.venv/bin/python` (or
//! $OSTSCAN_SPARK_PYTHON) has pyspark and Java is installed (`.ci/run`
//! installs pyspark==4.3.0); skips with a printed reason otherwise.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_valid, ndjson, ostscan, report_validator, scratch, without_timing, workspace};
use ost_fixture::{FixtureBuilder, Format, Rule};
use serde_json::Value;

/// A Python with pyspark, when it and Java are there; `None` after saying
/// why not.
fn spark_python() -> Option<PathBuf> {
    let python = std::env::var_os("OSTSCAN_SPARK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    let has_pyspark = Command::new(&python)
        .args(["-c", "import pyspark"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pyspark {
        common::skip(format_args!(
            "skipping: no python with pyspark at {} (.venv/bin/pip install pyspark==4.3.0; .ci/run does it)",
            python.display()
        ));
        return None;
    }
    let java = std::env::var_os("JAVA_HOME")
        .map(|home| PathBuf::from(home).join("bin/java"))
        .unwrap_or_else(|| PathBuf::from("java"));
    let has_java = Command::new(&java)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_java {
        common::skip(format_args!(
            "skipping: Spark needs Java 17 or later; {} did not run",
            java.display()
        ));
        return None;
    }
    Some(python)
}

/// Run the Spark job in `dir` (so Spark's scratch files land there).
fn run_job(python: &Path, dir: &Path, args: &[&OsStr]) -> Output {
    Command::new(python)
        .arg(workspace().join("integrations/spark/ostscan_spark.py"))
        .args(["--conf", "spark.ui.enabled=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run the Spark job")
}

/// The records of the job's part files, one list per part file, in
/// partition order.
fn part_files(out: &Path) -> Vec<Vec<Value>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("output directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().unwrap().as_bytes().starts_with(b"part-"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| ndjson(&std::fs::read(p).expect("part file")))
        .collect()
}

/// Records by file (the JSON of their `path`), each file's records in
/// order, timing zeroed; records outside a file are refused.
fn by_file(records: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut files: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for record in records {
        assert!(
            record["type"] != "summary",
            "a summary among the file records"
        );
        let path = record["path"].to_string();
        assert!(record["path"].is_string() || record["path"].is_object());
        files
            .entry(path)
            .or_default()
            .push(without_timing(record.clone()));
    }
    files
}

/// The files (JSON of their path) that have a `begin`, in order.
fn begun(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["type"] == "begin")
        .map(|r| r["path"].to_string())
        .collect()
}

fn write_store(path: &Path, format: Format, seed: u64, faults: &[(Rule, usize)]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut builder = FixtureBuilder::new(format).messages(15).seed(seed);
    for &(rule, n) in faults {
        builder = builder.plant(rule, n);
    }
    builder.write_file(path).unwrap();
}

/// Local `ostscan batch --manifest` output: (exit code, file records, summary).
fn local_batch(manifest: &Path, extra: &[&str]) -> (Option<i32>, Vec<Value>, Value) {
    let mut args = vec!["batch", "--manifest", manifest.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = ostscan(&args);
    let mut records = ndjson(&out.stdout);
    let summary = records.pop().expect("a summary");
    assert_eq!(summary["type"], "summary");
    (out.status.code(), records, summary)
}

#[test]
fn the_job_writes_what_one_batch_writes() {
    let Some(python) = spark_python() else {
        return;
    };
    let dir = scratch("spark-equal");
    let stores = dir.join("stores");
    write_store(&stores.join("a.pst"), Format::Unicode, 1, &[]);
    write_store(
        &stores.join("b.ost"),
        Format::Ost4k,
        2,
        &[(Rule::Sync002, 2), (Rule::Pcl001, 1)],
    );
    write_store(
        &stores.join("sub/c.ost"),
        Format::Ost,
        3,
        &[(Rule::Ck002, 1)],
    );
    write_store(
        &stores.join("sub/d.pst"),
        Format::Ansi,
        4,
        &[(Rule::Sync003, 1)],
    );
    // A name that is not UTF-8, a store cut short, a file that is no
    // store, a missing one.
    let odd = stores.join(OsStr::from_bytes(b"caf\xe9.ost"));
    std::fs::copy(stores.join("b.ost"), &odd).unwrap();
    let bytes = std::fs::read(stores.join("a.pst")).unwrap();
    std::fs::write(stores.join("cut.pst"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(stores.join("junk.ost"), b"!BDN not a store").unwrap();

    let mut manifest: Vec<u8> = Vec::new();
    let mut line = |path: &[u8]| {
        manifest.extend_from_slice(path);
        manifest.push(b'\n');
    };
    for name in [
        "a.pst",
        "b.ost",
        "sub/c.ost",
        "sub/d.pst",
        "cut.pst",
        "junk.ost",
    ] {
        line(stores.join(name).as_os_str().as_bytes());
    }
    line(odd.as_os_str().as_bytes());
    line(stores.join("missing.ost").as_os_str().as_bytes());
    // Comments, blank lines, a CR, a file twice and spelled twice: the
    // manifest rules of `ostscan batch`.
    line(b"# a comment");
    line(b"");
    line(format!("{}\r", stores.join("b.ost").display()).as_bytes());
    line(format!("{}//sub/./c.ost", stores.display()).as_bytes());
    for name in ["small-unicode.pst", "small-ost4k.ost", "sync-faults.ost"] {
        line(
            workspace()
                .join("testdata")
                .join(name)
                .as_os_str()
                .as_bytes(),
        );
    }
    if let Some(corpus) = common::corpus() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&corpus)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.to_string_lossy().to_ascii_lowercase();
                name.ends_with(".ost") || name.ends_with(".pst")
            })
            .collect();
        entries.sort();
        for path in entries {
            line(path.as_os_str().as_bytes());
        }
    }
    let manifest_path = dir.join("paths.txt");
    std::fs::write(&manifest_path, &manifest).unwrap();

    let (local_code, local, local_summary) = local_batch(&manifest_path, &[]);
    assert_eq!(local_code, Some(2), "the manifest has unreadable files");

    let partitions = 3;
    let out_dir = dir.join("records");
    let parquet_dir = dir.join("findings");
    let job = run_job(
        &python,
        &dir,
        &[
            OsStr::new("--master"),
            OsStr::new("local[2]"),
            OsStr::new("--manifest"),
            manifest_path.as_os_str(),
            OsStr::new("--out"),
            out_dir.as_os_str(),
            OsStr::new("--parquet"),
            parquet_dir.as_os_str(),
            OsStr::new("--partitions"),
            OsStr::new(&partitions.to_string()),
            OsStr::new("--ostscan"),
            OsStr::new(common::ostscan_bin()),
        ],
    );
    let stderr = String::from_utf8_lossy(&job.stderr);
    assert_eq!(
        job.status.code(),
        local_code,
        "exit status; stderr:\n{stderr}"
    );

    // The summary: on standard output and in _summary.json, equal to the
    // batch's (but for the time taken).
    let summary: Value = serde_json::from_slice(&job.stdout).expect("one summary line");
    assert_eq!(
        without_timing(summary.clone()),
        without_timing(local_summary)
    );
    let written: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("_summary.json")).unwrap()).unwrap();
    assert_eq!(written, summary);
    assert!(out_dir.join("_SUCCESS").is_file(), "the job committed");

    // Per file, the records of the batch, in its order; each file once.
    let parts = part_files(&out_dir);
    assert_eq!(parts.len(), partitions);
    let records: Vec<Value> = parts.iter().flatten().cloned().collect();
    let spark_files = by_file(&records);
    let local_files = by_file(&local);
    assert_eq!(
        spark_files.keys().collect::<Vec<_>>(),
        local_files.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (path, expected) in &local_files {
        assert_eq!(&spark_files[path], expected, "records of {path}");
    }
    let mut once = begun(&records);
    once.sort();
    once.dedup();
    assert_eq!(once.len(), begun(&records).len(), "a file twice");
    assert!(
        spark_files.keys().any(|p| p.contains("\"bytes\"")),
        "the non-UTF-8 path is in the output"
    );
    let record = report_validator(Some("record"));
    for r in &records {
        assert_valid(&record, r, "a record of the Spark job");
    }

    // Partition K-1 holds exactly what --shard K/N takes, in its order.
    for (k, part) in parts.iter().enumerate() {
        let shard = format!("{}/{partitions}", k + 1);
        let (_, shard_records, _) = local_batch(&manifest_path, &["--shard", &shard]);
        assert_eq!(
            begun(part),
            begun(&shard_records),
            "partition {k} is shard {shard}"
        );
    }

    // Spark reads the output back: every line a record, the findings table
    // row for row the batch's findings.
    let read_back = Command::new(&python)
        .args(["-c", READ_BACK])
        .arg(&out_dir)
        .arg(&parquet_dir)
        .env("PYSPARK_PYTHON", &python)
        .current_dir(&dir)
        .output()
        .expect("run the read-back");
    assert!(
        read_back.status.success(),
        "{}",
        String::from_utf8_lossy(&read_back.stderr)
    );
    let seen: Value = serde_json::from_slice(&read_back.stdout).expect("read-back JSON");
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        *types
            .entry(r["type"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let read_types: BTreeMap<String, u64> = serde_json::from_value(seen["types"].clone()).unwrap();
    assert_eq!(read_types, types, "spark.read.json sees every record");
    assert!(
        !seen["json_columns"]
            .as_array()
            .unwrap()
            .contains(&Value::from("_corrupt_record")),
        "a line spark.read.json could not parse"
    );
    assert_eq!(
        seen["columns"],
        serde_json::json!([
            "path",
            "path_b64",
            "rule",
            "severity",
            "nid",
            "kind",
            "folder",
            "folder_nid",
            "subject",
            "change_key_hex",
            "change_key_guid",
            "counter"
        ])
    );
    let mut expected_rows: Vec<Value> = local
        .iter()
        .filter(|r| r["type"] == "finding")
        .map(finding_row)
        .collect();
    let mut rows: Vec<Value> = seen["rows"].as_array().unwrap().clone();
    expected_rows.sort_by_key(|r| r.to_string());
    rows.sort_by_key(|r| r.to_string());
    assert!(!rows.is_empty());
    assert_eq!(rows, expected_rows, "the Parquet findings table");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads the job's output with `spark.read.json` and its Parquet table;
/// prints the record counts by type and the table's rows as JSON.
const READ_BACK: &str = r#"
import json, sys
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]")
         .config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").getOrCreate())
records = spark.read.json(sys.argv[1])
types = {r["type"]: r["count"] for r in records.groupBy("type").count().collect()}
table = spark.read.parquet(sys.argv[2])
rows = [[None if v is None else (str(v) if k == "counter" else v)
         for k, v in r.asDict().items()] for r in table.collect()]
print(json.dumps({"types": types, "json_columns": records.columns,
                  "columns": table.columns, "rows": rows}))
spark.stop()
"#;

/// The Parquet row a `finding` record should give.
fn finding_row(r: &Value) -> Value {
    let (path, path_b64) = match &r["path"] {
        Value::String(s) => (Value::from(s.as_str()), Value::Null),
        object => (object["text"].clone(), object["bytes"].clone()),
    };
    let ck = &r["change_key"];
    let counter = match &ck["counter"] {
        Value::Null => Value::Null,
        n => Value::from(n.to_string()),
    };
    serde_json::json!([
        path,
        path_b64,
        r["rule"],
        r["severity"],
        r["nid"],
        r["kind"],
        r["folder"],
        r["folder_nid"],
        r["subject"],
        ck["hex"],
        ck["guid"],
        counter
    ])
}

/// Stands in for ostscan: passes the real one's output through, but dies
/// by SIGKILL when a file named crash-me is next, and (once, the first
/// time) kills its parent, the PySpark worker running the task, right
/// after a file named lose-worker is written.
const FAKE_OSTSCAN: &str = r#"
import os, signal, subprocess, sys
if sys.argv[1:2] != ["batch"]:
    os.execv(os.environ["OSTSCAN_REAL"], [os.environ["OSTSCAN_REAL"]] + sys.argv[1:])
real = subprocess.Popen([os.environ["OSTSCAN_REAL"]] + sys.argv[1:], stdout=subprocess.PIPE)
marker = os.environ["LOSE_WORKER_MARKER"]
for line in real.stdout:
    if line.startswith(b'{"type":"begin"') and b"crash-me" in line:
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdout.buffer.write(line)
    sys.stdout.flush()
    if line.startswith(b'{"type":"end"') and b"lose-worker" in line and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getppid(), signal.SIGKILL)
sys.exit(real.wait())
"#;

#[test]
fn a_crash_is_an_error_record_and_a_lost_worker_duplicates_nothing() {
    let Some(python) = spark_python() else {
        return;
    };
    let dir = scratch("spark-crash");
    let stores = dir.join("stores");
    // Sorted and dealt over 2 partitions: [a, crash-me, e] and
    // [b, d, lose-worker]. After the crash, e is scanned again alone.
    let names = [
        "a.pst",
        "b.ost",
        "crash-me.ost",
        "d.pst",
        "e.ost",
        "lose-worker.pst",
    ];
    let mut manifest = String::new();
    for (i, name) in names.iter().enumerate() {
        let format = if i % 2 == 0 {
            Format::Unicode
        } else {
            Format::Ost
        };
        write_store(
            &stores.join(name),
            format,
            10 + i as u64,
            &[(Rule::Sync002, 1)],
        );
        manifest.push_str(&format!("{}\n", stores.join(name).display()));
    }
    let manifest_path = dir.join("paths.txt");
    std::fs::write(&manifest_path, manifest).unwrap();
    let fake = dir.join("fake-ostscan");
    std::fs::write(&fake, format!("#!{}\n{FAKE_OSTSCAN}", python.display())).unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let marker = dir.join("worker-lost");

    let out_dir = dir.join("records");
    let mut job = Command::new(&python);
    job.arg(workspace().join("integrations/spark/ostscan_spark.py"))
        .args(["--conf", "spark.ui.enabled=false"])
        // local[N,F]: N threads, F attempts per task.
        .args(["--master", "local[2,3]", "--partitions", "2"])
        .arg("--manifest")
        .arg(&manifest_path)
        .arg("--out")
        .arg(&out_dir)
        .arg("--ostscan")
        .arg(&fake)
        .env("OSTSCAN_REAL", common::ostscan_bin())
        .env("LOSE_WORKER_MARKER", &marker)
        .current_dir(&dir);
    let job = job.output().expect("run the Spark job");
    let stderr = String::from_utf8_lossy(&job.stderr);
    assert_eq!(
        job.status.code(),
        Some(2),
        "the crashed file is unreadable:\n{stderr}"
    );
    assert!(
        marker.exists(),
        "the worker was never lost: the test did not test"
    );
    assert!(
        stderr.contains("Lost task"),
        "Spark retried no task:\n{stderr}"
    );

    let records: Vec<Value> = part_files(&out_dir).into_iter().flatten().collect();
    let spark_files = by_file(&records);
    let (_, local, _) = local_batch(&manifest_path, &[]);
    let local_files = by_file(&local);
    assert_eq!(spark_files.len(), names.len(), "every file, once");
    let mut once = begun(&records);
    once.sort();
    once.dedup();
    assert_eq!(once.len(), begun(&records).len(), "a file twice");
    let record = report_validator(Some("record"));
    for (path, spark) in &spark_files {
        if path.contains("crash-me") {
            let kinds: Vec<&str> = spark.iter().map(|r| r["type"].as_str().unwrap()).collect();
            assert_eq!(kinds, ["begin", "error", "end"], "{spark:#?}");
            assert_eq!(spark[1]["source"], "open");
            assert_eq!(spark[1]["structure"], "ostscan process");
            let message = spark[1]["message"].as_str().unwrap();
            assert!(message.contains("SIGKILL"), "{message}");
            assert_eq!(spark[2]["status"], "unreadable");
            for r in spark {
                assert_valid(&record, r, "a crash record");
            }
        } else {
            assert_eq!(spark, &local_files[path], "records of {path}");
        }
    }
    let summary: Value = serde_json::from_slice(&job.stdout).expect("one summary line");
    assert_eq!(summary["files"], names.len());
    assert_eq!(summary["files_unreadable"], 1);
    assert_eq!(summary["findings_by_rule"]["SYNC002"], names.len() - 1);
    let _ = std::fs::remove_dir_all(&dir);
}
