//! The conventions an analyst meets before any finding: colour, plurals,
//! messages, completions, man page, `--version`, and the build and test
//! setup behind them.

mod common;

use std::path::Path;

use common::workspace;

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines of `text` from the line `[name]` to the next section.
fn toml_section<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| l.trim() != format!("[{name}]"))
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn release_has_no_debug_info_and_profiling_has_line_tables() {
    let cargo = read("Cargo.toml");
    let release = toml_section(&cargo, "profile.release");
    assert!(
        release.contains(&"debug = false"),
        "release profile: {release:?}"
    );
    let profiling = toml_section(&cargo, "profile.profiling");
    assert!(
        profiling.contains(&"inherits = \"release\""),
        "{profiling:?}"
    );
    assert!(profiling.contains(&"debug = 1"), "{profiling:?}");
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, into: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() && !path.ends_with("target") {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// libtest captures `println!` and `eprintln!`: a reason to skip printed
/// with them is never seen in `cargo test`'s output.
#[test]
fn skip_reasons_go_to_the_real_standard_error() {
    let mut files = Vec::new();
    rust_files(&workspace().join("tests"), &mut files);
    rust_files(&workspace().join("crates"), &mut files);
    let mut offenders = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let call = line.contains("println!(");
            let next = lines.get(i + 1).copied().unwrap_or("");
            let said = |l: &str| l.contains("\"skipping") || l.contains("\"skipped");
            if call && (said(line) || (line.trim_end().ends_with('(') && said(next))) {
                offenders.push(format!("{}:{}", file.display(), i + 1));
            }
        }
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    assert!(
        offenders.is_empty(),
        "skip reasons via println!/eprintln!: {offenders:?}"
    );
}

#[test]
fn testdata_readme_has_no_absolute_paths() {
    let text = read("testdata/README.md");
    for word in text.split_whitespace() {
        let word = word
            .trim_start_matches(|c: char| "`(\"'".contains(c))
            .trim_end_matches(|c: char| "`)\"',.".contains(c));
        assert!(
            !(word.starts_with('/') && word.len() > 1),
            "absolute path in testdata/README.md: {word}"
        );
    }
}
