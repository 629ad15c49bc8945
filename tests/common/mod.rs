//! Helpers shared by the end-to-end tests: where the corpus is, how to run
//! the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// ../shared/corpus beside the checkout, or $OSTSCAN_CORPUS; `None` (after
/// printing why) when it is absent, so tests skip instead of failing.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("OSTSCAN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    if dir.join("MANIFEST.tsv").is_file() {
        Some(dir)
    } else {
        println!("skipping: corpus {} not found", dir.display());
        None
    }
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run `ostscan` with `args`.
pub fn ostscan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ostscan"))
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_ostscan"))
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

/// The lines of NDJSON output, parsed.
pub fn ndjson(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}
