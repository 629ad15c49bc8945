//! The conventions an analyst meets before any finding: colour, plurals,
//! messages, completions, man page, `--version`, and the build and test
//! setup behind them.

use std::path::Path;

use common::{ostscan, workspace};

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

// ---------------------------------------------------------------- fixtures

use std::path::PathBuf;
use std::process::{Command, Output};

use ost_fixture::faults::{pcl, xid};
use ost_fixture::manifest::filetime;
use ost_fixture::{
    standard_folders, CryptMethod, FixtureBuilder, Format, Message, Rule, StoreWriter,
};
use serde_json::Value;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn testdata(name: &str) -> String {
    workspace()
        .join("testdata")
        .join(name)
        .display()
        .to_string()
}

/// A store of `messages` messages with one SYNC002 planted (one finding).
/// An OST (a PST's remedy is not Clear Offline Items, so it has no folder
/// to clear) with one SYNC002.
fn one_finding_store(dir: &Path, messages: usize) -> PathBuf {
    let path = dir.join(format!("one-finding-{messages}.ost"));
    FixtureBuilder::new(Format::Ost)
        .messages(messages)
        .seed(7)
        .plant(Rule::Sync002, 1)
        .write_file(&path)
        .unwrap();
    path
}

// ---------------------------------------------------------------- plurals

#[test]
fn counts_of_one_are_singular() {
    let dir = common::scratch("plurals");
    let store = one_finding_store(&dir, 1);
    let store = store.to_str().unwrap();
    let out = ostscan(&["scan", store]);
    let text = stdout(&out);
    assert!(text.contains(" 1 with neither"), "{text}");
    assert!(text.contains("  1 finding: 1 critical"), "{text}");
    assert!(text.contains(": 1 finding (1 critical"), "{text}");
    for wrong in [
        "1 findings",
        "1 messages",
        "1 folders",
        "1 errors",
        "1 files",
    ] {
        assert!(!text.contains(&format!(" {wrong}")), "{wrong:?} in {text}");
    }
    // info: "in 1 NBT page", "in 8 NBT pages".
    for file in [store.to_string(), testdata("small-unicode.pst")] {
        let text = stdout(&ostscan(&["info", &file]));
        for line in text
            .lines()
            .filter(|l| l.contains(" in ") && l.contains("T page"))
        {
            let n: u64 = line
                .split(" in ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{line}"));
            assert_eq!(line.ends_with("pages"), n != 1, "{line}");
        }
    }
    // The total line: one of each, then two of each.
    let empty = dir.join("empty.pst");
    std::fs::write(&empty, b"").unwrap();
    let out = ostscan(&["scan", store, empty.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(
        text.lines().last().unwrap(),
        "total: 2 files (1 unreadable, 0 read in part), 2 messages, 1 finding \
         (1 critical, 0 warning, 0 info), 1 folder to clear, 1 error"
    );
    let out = ostscan(&["scan", store, store]);
    let text = stdout(&out);
    assert_eq!(
        text.lines().last().unwrap(),
        "total: 2 files (0 unreadable, 0 read in part), 4 messages, 2 findings \
         (2 critical, 0 warning, 0 info), 2 folders to clear, 0 errors"
    );
}

#[test]
fn out_runs_end_with_a_summary_line_on_stderr() {
    let dir = common::scratch("out-summary");
    let store = one_finding_store(&dir, 3);
    let out_path = dir.join("out.ndjson");
    let out = ostscan(&[
        "scan",
        store.to_str().unwrap(),
        "--ndjson",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        format!("ostscan: 1 file, 1 finding; wrote {}\n", out_path.display())
    );
    // batch, with a file read in part and one unreadable.
    std::fs::write(dir.join("empty.pst"), b"").unwrap();
    let batch_out = dir.join("batch.ndjson");
    let out = ostscan(&[
        "batch",
        dir.to_str().unwrap(),
        "--out",
        batch_out.to_str().unwrap(),
    ]);
    let last = stderr(&out).lines().last().unwrap_or("").to_string();
    assert_eq!(
        last,
        format!(
            "ostscan: 2 files, 1 finding, 1 unreadable; wrote {}",
            batch_out.display()
        )
    );
    // Without --out nothing is added.
    let out = ostscan(&["scan", store.to_str().unwrap()]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

// ---------------------------------------------------------------- errors

#[test]
fn errors_are_in_plain_words() {
    let dir = common::scratch("errors");
    let missing = dir.join("missing.ost");
    let empty = dir.join("empty.ost");
    std::fs::write(&empty, b"").unwrap();
    let short = dir.join("short.pst");
    let full = std::fs::read(workspace().join("testdata/small-unicode.pst")).unwrap();
    std::fs::write(&short, &full[..full.len() / 2]).unwrap();
    let (d, m, e, s) = (
        dir.display().to_string(),
        missing.display().to_string(),
        empty.display().to_string(),
        short.display().to_string(),
    );
    for command in ["info", "items", "scan"] {
        let out = ostscan(&[command, &d]);
        assert!(
            stderr(&out).contains(&format!("ostscan: {d}: is a directory")),
            "{command}: {}",
            stderr(&out)
        );
        let out = ostscan(&[command, &m]);
        assert_eq!(
            stderr(&out),
            format!("ostscan: {m}: no such file or directory\n"),
            "{command}"
        );
        let out = ostscan(&[command, &e]);
        assert_eq!(
            stderr(&out),
            format!("ostscan: {e}: empty file (0 bytes): not a PST/OST file\n"),
            "{command}"
        );
    }
    // The other inputs: a listing, a directory to search, an --out.
    let out = ostscan(&["reconcile", &testdata("sync-faults.ost"), "--server", &m]);
    assert_eq!(
        stderr(&out),
        format!("ostscan: {m}: no such file or directory\n")
    );
    let out = ostscan(&["batch", &m]);
    assert_eq!(
        stderr(&out),
        format!("ostscan: {m}: no such file or directory\n")
    );
    let nowhere = format!("{m}/out.ndjson");
    let out = ostscan(&["scan", &s, "--out", &nowhere]);
    assert_eq!(
        stderr(&out),
        format!("ostscan: {nowhere}: no such file or directory\n")
    );
    let out = ostscan(&["scan", &s]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "the file is {} bytes but its header says {}: the copy was cut short",
            full.len() / 2,
            full.len()
        )),
        "{text}"
    );
    for out in [ostscan(&["scan", &m, &e, &d, &s]), ostscan(&["info", &m])] {
        let all = stdout(&out) + &stderr(&out);
        for jargon in [
            "at offset 0x0",
            "os error",
            "read past",
            "needs bytes up to 0x4",
        ] {
            assert!(!all.contains(jargon), "{jargon:?} in {all}");
        }
    }
}

/// An error names its structure and offset once: in a damaged store, no
/// line of the text or of standard error says "X at offset Y" twice.
#[test]
fn damaged_store_errors_say_each_thing_once() {
    let dir = common::scratch("damaged");
    let mut bytes = std::fs::read(workspace().join("testdata/sync-faults.ost")).unwrap();
    // A fixed scatter of damage over the blocks and pages.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for _ in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = 0x4400 + (x as usize) % (bytes.len() - 0x4400 - 8);
        bytes[at..at + 4].copy_from_slice(&[0xff; 4]);
    }
    let path = dir.join("damaged.ost");
    std::fs::write(&path, &bytes).unwrap();
    let path = path.to_str().unwrap();
    let scan = ostscan(&["scan", path]);
    let scan_text = stdout(&scan) + &stderr(&scan);
    assert!(
        scan_text.contains(" errors:") || scan_text.contains(" error:"),
        "{scan_text}"
    );
    // And a copy cut short, whose NBT page is past its end: every node
    // read through it fails with the node's NID as the error's id.
    let full = std::fs::read(workspace().join("testdata/small-ost4k.ost")).unwrap();
    let cut = dir.join("cut.ost");
    std::fs::write(&cut, &full[..full.len() * 2 / 3]).unwrap();
    let cut = cut.to_str().unwrap();
    let mut lines_with_ids = 0;
    for args in [
        &["scan", path][..],
        &["items", "--all", path],
        &["timeline", path],
        &["scan", cut],
        &["items", "--all", cut],
        &["timeline", cut],
    ] {
        let out = ostscan(args);
        let all = stdout(&out) + &stderr(&out);
        for line in all.lines() {
            assert!(line.matches(" at offset ").count() <= 1, "{line}");
            assert!(!line.contains(" of data block 0 at 0x"), "{line}");
            // "(nid 0x200344): NID 0x200344 not found" or "(nid 0x801):
            // ... (NID 0x801)" would say one id twice.
            let ids: Vec<&str> = line
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| w.starts_with("0x"))
                .collect();
            if line.contains("(nid ") || line.contains("NID ") {
                lines_with_ids += 1;
                for id in &ids {
                    let named = line.matches(&format!("nid {id}")).count()
                        + line.matches(&format!("NID {id}")).count();
                    assert!(named <= 1, "{args:?}: {line}");
                }
            }
        }
    }
    assert!(lines_with_ids > 0, "{scan_text}");
}

// ---------------------------------------------------------------- colour

/// Run `ostscan ARGS` with its standard output on a terminal (through
/// `script`, which gives the command a pty), with `env` set; `None` when
/// `script` is not installed.
fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    let mut line = shell_quote(&common::ostscan_bin().to_string_lossy());
    for a in args {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    // Standard error is the terminal too, and on a slow machine the
    // progress bar draws there (with its own escape codes) before the scan
    // ends; only standard output is under test.
    line.push_str(" 2>/dev/null");
    let mut command = Command::new("script");
    command.args(["-qec", &line, "/dev/null"]);
    // `script` runs the line with $SHELL, whose start-up on some machines
    // writes its own control sequences to the terminal; /bin/sh does not.
    command
        .env("SHELL", "/bin/sh")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR");
    command.env("TERM", "xterm-256color");
    for (k, v) in env {
        command.env(k, v);
    }
    match command.output() {
        // A `script` that is not util-linux's (BSD, macOS) takes other
        // arguments and runs nothing.
        Ok(out) if out.stdout.is_empty() => {
            common::skip(format_args!(
                "skipping: `script -qec` printed nothing: {}",
                stderr(&out).trim()
            ));
            None
        }
        Ok(out) => Some(stdout(&out)),
        Err(e) => {
            common::skip(format_args!(
                "skipping: script (util-linux) not runnable: {e}"
            ));
            None
        }
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

const ESC: &str = "\x1b[";

#[test]
fn colour_on_a_terminal_and_never_in_a_pipe() {
    let file = testdata("sync-faults.ost");
    let Some(tty) = on_a_terminal(&["scan", &file], &[]) else {
        return;
    };
    assert!(tty.contains("SYNC002"), "{tty}");
    // Severities highlighted: critical in bold red, warning in yellow.
    assert!(tty.contains("\x1b[1m\x1b[31mcritical"), "{tty:?}");
    assert!(tty.contains("\x1b[33mwarning"), "{tty:?}");
    // NO_COLOR, --color never, TERM=dumb: plain on the terminal.
    for (args, env) in [
        (vec!["scan", &file], vec![("NO_COLOR", "1")]),
        (vec!["scan", &file, "--color", "never"], vec![]),
        (vec!["scan", &file], vec![("TERM", "dumb")]),
        // CI machines set CI, and anstream alone colours a dumb terminal
        // there (how this test once failed on CI only).
        (vec!["scan", &file], vec![("TERM", "dumb"), ("CI", "true")]),
    ] {
        let Some(text) = on_a_terminal(&args, &env) else {
            return;
        };
        assert!(text.contains("SYNC002"), "{text}");
        let colours = sgr_sequences(&text);
        assert!(
            colours.is_empty(),
            "{args:?} {env:?}: colour codes {colours:?}; every escape sequence: {:?}",
            escape_sequences(&text)
        );
    }
    // --color always beats NO_COLOR (a flag is the nearer choice).
    let text = on_a_terminal(&["scan", &file, "--color", "always"], &[("NO_COLOR", "1")]).unwrap();
    assert!(!sgr_sequences(&text).is_empty(), "{text:?}");
    // A pipe: plain, unless asked.
    let piped = ostscan(&["scan", &file]);
    assert!(!stdout(&piped).contains(ESC));
    let forced = ostscan(&["scan", &file, "--color", "always"]);
    assert!(stdout(&forced).contains(ESC));
    // Same words either way: the colour adds codes only.
    let stripped = strip_ansi(&stdout(&forced));
    assert_eq!(stripped, stdout(&piped));
    // Never in JSON, whatever --color says.
    let json = ostscan(&["scan", &file, "--json", "--color", "always"]);
    assert!(!stdout(&json).contains(ESC));
    // info: a header CRC mismatch in red on a terminal.
    let info = on_a_terminal(&["info", &file], &[]).unwrap();
    assert!(info.contains(&format!("{ESC}1m")), "{info:?}");
}

/// The escape sequences `ESC [ ... final-byte` in `text`, as written
/// (parameters and final byte, without the ESC).
fn escape_sequences(text: &str) -> Vec<String> {
    text.split(ESC)
        .skip(1)
        .map(|after| {
            let end = after
                .find(|c: char| ('\x40'..='\x7e').contains(&c))
                .map_or(after.len(), |i| i + 1);
            format!("[{}", &after[..end])
        })
        .collect()
}

/// The colour (SGR) sequences among [`escape_sequences`]: those ending in
/// `m`. A terminal's own sequences (bracketed paste, cursor keys) are not
/// colour and not ours.
fn sgr_sequences(text: &str) -> Vec<String> {
    escape_sequences(text)
        .into_iter()
        .filter(|s| s.ends_with('m'))
        .collect()
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(ESC) {
        out.push_str(&rest[..i]);
        let after = &rest[i + ESC.len()..];
        let end = after.find('m').map_or(after.len(), |j| j + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

// ------------------------------------------------- completions, man, help

const SUBCOMMANDS: &[&str] = &[
    "info",
    "items",
    "dump",
    "decode",
    "diff",
    "reconcile",
    "scan",
    "batch",
    "timeline",
    "completions",
    "man",
];

#[test]
fn completions_for_every_shell_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = ostscan(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
        // fish writes options as `-l color`.
        assert!(
            script.contains("--color") || script.contains("-l color"),
            "{shell}"
        );
        assert!(script.contains("fail-on"), "{shell}");
    }
    let bash = stdout(&ostscan(&["completions", "bash"]));
    assert!(bash.contains("complete -F _ostscan"), "{bash}");
    let out = ostscan(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_for_the_command_and_each_subcommand() {
    let out = ostscan(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH ostscan 1"),
        "{page}"
    );
    assert!(page.contains(".TH ostscan 1"), "{page}");
    assert!(page.contains("timeline"));
    let dir = common::scratch("man");
    let out = ostscan(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.join("ostscan.1").is_file());
    for sub in SUBCOMMANDS {
        let page = std::fs::read_to_string(dir.join(format!("ostscan-{sub}.1")))
            .unwrap_or_else(|e| panic!("ostscan-{sub}.1: {e}"));
        assert!(
            page.contains(&format!(".TH ostscan-{sub} 1")),
            "{sub}: {page}"
        );
        assert!(page.contains("Examples:"), "{sub}: no examples in its page");
    }
    // One page for the command and one per subcommand, none for `help`.
    let pages = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(pages, SUBCOMMANDS.len() + 1);
    assert!(!dir.join("ostscan-help.1").exists());
}

/// The command's own help says what it does and its exit codes (a doc
/// comment put between the text and `struct Cli` once took them away).
#[test]
fn the_long_help_says_what_ostscan_does_and_its_exit_codes() {
    let help = stdout(&ostscan(&["--help"]));
    assert!(
        help.contains("reads Outlook .ost caches and .pst stores"),
        "{help}"
    );
    assert!(help.contains("Exit codes: 0 success"), "{help}");
}

#[test]
fn every_subcommand_has_examples_in_its_long_help() {
    for sub in SUBCOMMANDS {
        let long = stdout(&ostscan(&[sub, "--help"]));
        let examples = long
            .split("Examples:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{sub} --help has no examples:\n{long}"));
        // Every example line indented alike, and naming the subcommand.
        for line in examples.lines().take_while(|l| !l.is_empty()) {
            // A command, or the first part of one continued with `\`.
            let command = line.contains("ostscan ") || line.ends_with('\\');
            assert!(
                (line.starts_with("  ") && !line.starts_with("   ") && command)
                    || line.starts_with("      "),
                "{sub}: {line:?}"
            );
        }
        assert!(
            examples.contains(&format!("ostscan {sub}")),
            "{sub}: {examples}"
        );
        if *sub != "reconcile" {
            // `-h` stays short.
            let short = stdout(&ostscan(&[sub, "-h"]));
            assert!(!short.contains("Examples:"), "{sub} -h: {short}");
        }
    }
    // The notes that were there stay, after the examples.
    let scan = stdout(&ostscan(&["scan", "--help"]));
    let (examples, codes) = (
        scan.find("Examples:").unwrap(),
        scan.find("Exit codes").unwrap(),
    );
    assert!(examples < codes);
}

#[test]
fn each_report_command_names_its_own_schema_and_records() {
    // The options are shared (one clap struct); their help is each command's.
    let cases = [
        (
            "scan",
            "docs/report.schema.json",
            "begin, finding, error, end per file",
        ),
        ("diff", "docs/diff.schema.json", "added, removed, moved"),
        (
            "reconcile",
            "docs/reconcile.schema.json",
            "not_compared, folder",
        ),
    ];
    for (sub, schema, records) in cases {
        let short = stdout(&ostscan(&[sub, "-h"]));
        let line = |flag: &str| {
            short
                .lines()
                .find(|l| l.trim_start().starts_with(flag))
                .unwrap_or_else(|| panic!("{sub} -h has no {flag}:\n{short}"))
                .to_string()
        };
        assert!(
            line("--json ").contains(schema),
            "{sub}: {}",
            line("--json ")
        );
        assert!(
            line("--ndjson ").contains(records),
            "{sub}: {}",
            line("--ndjson ")
        );
        assert!(line("--fail-on ").contains("[default: warning]"), "{sub}");
    }
    let reconcile = stdout(&ostscan(&["reconcile", "-h"]));
    assert!(reconcile.contains("never FILE or LISTING"), "{reconcile}");
}

#[test]
fn version_names_the_commit_and_features() {
    let long = stdout(&ostscan(&["--version"]));
    let short = stdout(&ostscan(&["-V"]));
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(short, format!("ostscan {version}\n"));
    assert!(
        long.starts_with(&format!("ostscan {version}\ncommit:   ")),
        "{long}"
    );
    let commit = long
        .lines()
        .find_map(|l| l.strip_prefix("commit:   "))
        .unwrap();
    let head = Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short=12",
            "HEAD",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| stdout(&o).trim().to_string());
    match head {
        Some(head) if std::env::var_os("OSTSCAN_BUILD_COMMIT").is_none() => {
            assert_eq!(commit, head)
        }
        _ => assert!(!commit.is_empty()),
    }
    let features = long
        .lines()
        .find_map(|l| l.strip_prefix("features: "))
        .unwrap();
    if cfg!(all(target_arch = "x86_64", not(target_env = "msvc"))) {
        assert!(features.contains("jemalloc"), "{features}");
    } else {
        assert!(features.contains("system-allocator"), "{features}");
    }
    assert!(long.contains("target:   "), "{long}");
}

/// build.rs outside a git checkout (a source tarball): the commit is
/// "unknown" and the build goes on. The script is compiled on its own and
/// run in an empty directory, as cargo would run it.
#[test]
fn build_script_without_git_says_unknown() {
    let dir = common::scratch("build-rs");
    let script = dir.join("build-script");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let compiled = Command::new(&rustc)
        .args(["--edition", "2021", "-o"])
        .arg(&script)
        .arg(workspace().join("crates/ostscan/build.rs"))
        .output();
    match compiled {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("rustc build.rs: {}", stderr(&out)),
        Err(e) => {
            common::skip(format_args!("skipping: no rustc to compile build.rs: {e}"));
            return;
        }
    }
    let tarball = dir.join("ostscan-0.1.0");
    std::fs::create_dir_all(&tarball).unwrap();
    std::fs::write(tarball.join("Cargo.toml"), "[package]\n").unwrap();
    let run = |extra: &[(&str, &str)]| {
        let mut command = Command::new(&script);
        command
            .current_dir(&tarball)
            .env("CARGO_MANIFEST_DIR", &tarball)
            .env("GIT_CEILING_DIRECTORIES", &dir)
            .env("TARGET", "x86_64-unknown-linux-gnu")
            .env("PROFILE", "release")
            .env("CARGO_CFG_TARGET_ARCH", "aarch64")
            .env("CARGO_CFG_TARGET_ENV", "gnu")
            .env_remove("OSTSCAN_BUILD_COMMIT");
        for (k, v) in extra {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let lines = run(&[]);
    assert!(
        lines.contains("cargo:rustc-env=OSTSCAN_COMMIT=unknown\n"),
        "{lines}"
    );
    assert!(
        lines.contains("cargo:rustc-env=OSTSCAN_FEATURES=system-allocator\n"),
        "{lines}"
    );
    assert!(!lines.contains("rerun-if-changed=/"), "{lines}");
    let lines = run(&[
        ("OSTSCAN_BUILD_COMMIT", "v0.1.0-3-gabcdef"),
        ("CARGO_FEATURE_EXTRA_CHECKS", "1"),
    ]);
    assert!(
        lines.contains("cargo:rustc-env=OSTSCAN_COMMIT=v0.1.0-3-gabcdef\n"),
        "{lines}"
    );
    assert!(
        lines.contains("cargo:rustc-env=OSTSCAN_FEATURES=extra-checks, system-allocator\n"),
        "{lines}"
    );
}

// ---------------------------------------------------------------- JSON

fn json(args: &[&str]) -> Value {
    let out = ostscan(args);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stderr(&out)))
}

#[test]
fn nids_have_their_hex_form_beside_them() {
    let file = testdata("sync-faults.ost");
    let report = json(&["scan", &file, "--json"]);
    common::assert_valid(&common::report_validator(None), &report, "output");
    let entry = &report["files"][0];
    let findings = entry["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 20);
    for f in findings {
        assert_eq!(f["nid_hex"], format!("{:#x}", f["nid"].as_u64().unwrap()));
    }
    for f in entry["folders"].as_array().unwrap() {
        assert_eq!(f["nid_hex"], format!("{:#x}", f["nid"].as_u64().unwrap()));
    }
    // The text shows the same strings.
    let text = stdout(&ostscan(&["scan", &file]));
    for f in findings.iter().take(10) {
        assert!(text.contains(&format!(" nid {} ", f["nid_hex"].as_str().unwrap())));
    }
    // items too.
    let items = stdout(&ostscan(&["items", &file]));
    for line in items.lines() {
        let item: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            item["nid_hex"],
            format!("{:#x}", item["nid"].as_u64().unwrap())
        );
    }
}

#[test]
fn error_records_have_nid_hex_and_end_records_the_status() {
    let dir = common::scratch("ndjson-errors");
    let mut bytes = std::fs::read(workspace().join("testdata/sync-faults.ost")).unwrap();
    let len = bytes.len();
    bytes.truncate(len * 2 / 3);
    let path = dir.join("cut.ost");
    std::fs::write(&path, &bytes).unwrap();
    let out = ostscan(&[
        "scan",
        path.to_str().unwrap(),
        "--ndjson",
        "--allow-partial",
    ]);
    let validator = common::report_validator(Some("record"));
    let records: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let errors: Vec<&Value> = records.iter().filter(|r| r["type"] == "error").collect();
    assert!(!errors.is_empty());
    for e in &errors {
        match e["nid"].as_u64() {
            Some(nid) => assert_eq!(e["nid_hex"], format!("{nid:#x}")),
            None => assert!(e["nid_hex"].is_null()),
        }
    }
    let end = records.iter().find(|r| r["type"] == "end").unwrap();
    assert_eq!(end["status"], "partial");
    assert_eq!(end["path"], path.to_str().unwrap());
    for r in &records {
        common::assert_valid(&validator, r, "record");
    }
}

#[test]
fn info_json_has_the_file_object_of_scan() {
    for name in ["sync-faults.ost", "small-ost4k.ost", "small-unicode.pst"] {
        let file = testdata(name);
        let info = json(&["info", &file, "--json"]);
        let scan = json(&["scan", &file, "--json"]);
        assert_eq!(info["file"], scan["files"][0]["file"], "{name}");
        assert_eq!(info["path"], file.as_str());
        assert_eq!(info["file"]["path"], file.as_str());
    }
}

/// A change key whose 8-byte LocalId is above 2^53, where a reader with
/// only doubles (JavaScript, jq) would round the number.
#[test]
fn counters_above_2_53_are_also_decimal_strings() {
    let dir = common::scratch("big-counter");
    let path = dir.join("big.pst");
    let big: u64 = (1 << 53) + 1;
    let guid = [0x11u8; 16];
    {
        let out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut w = StoreWriter::new(out, Format::Unicode, CryptMethod::None, [0x5a; 16]).unwrap();
        let folders = standard_folders(&mut w);
        let m = Message {
            subject: "big counter".into(),
            message_class: "IPM.Note".into(),
            // The PCL is ahead of the change key: SYNC002, a finding with both.
            change_key: Some(xid(&guid, big, 8)),
            pcl: Some(pcl(&[xid(&guid, big + 2, 8)])),
            last_modified: Some(filetime(2024, 5, 1, 12, 0, 0, 0)),
            ..Message::default()
        };
        w.add_message(folders.inbox, &m).unwrap();
        w.finish().unwrap();
    }
    let report = json(&["scan", path.to_str().unwrap(), "--json"]);
    common::assert_valid(&common::report_validator(None), &report, "output");
    let finding = report["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "SYNC002")
        .expect("SYNC002")
        .clone();
    assert_eq!(finding["change_key"]["counter_decimal"], big.to_string());
    assert_eq!(finding["change_key"]["counter"].as_u64(), Some(big));
    assert_eq!(finding["pcl"][0]["counter_decimal"], (big + 2).to_string());
    // The hex beside it holds the same counter.
    let hex = finding["change_key"]["hex"].as_str().unwrap();
    assert_eq!(u64::from_str_radix(&hex[32..], 16).unwrap(), big);
}

// ---------------------------------------------------------------- timeline

fn is_timesketch_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 32
        && s.ends_with("+00:00")
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && s[20..26].bytes().all(|c| c.is_ascii_digit())
}

/// A file read only in part: each problem goes to standard error with its
/// offset, and the exit status is 2 (whatever events could be read are
/// listed; of this cut copy, none).
#[test]
fn a_timeline_of_a_file_read_in_part_says_so() {
    let dir = common::scratch("timeline-partial");
    let whole = std::fs::read(testdata("sync-faults.ost")).unwrap();
    let cut = dir.join("cut.ost");
    std::fs::write(&cut, &whole[..150_000]).unwrap();
    let out = ostscan(&["timeline", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cut.ost: ") && err.contains(" at offset 0x"),
        "{err}"
    );
    // A whole file: no problem, exit 0.
    let out = ostscan(&["timeline", &testdata("sync-faults.ost")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn timeline_is_timesketch_jsonl() {
    let file = testdata("sync-faults.ost");
    let out = ostscan(&["timeline", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let items: Vec<Value> = stdout(&ostscan(&["items", &file]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let report = json(&["scan", &file, "--json"]);
    let logs = report["files"][0]["sync_issues"]["logs"]
        .as_array()
        .unwrap();
    let conflicts = report["files"][0]["sync_issues"]["conflicts"]
        .as_array()
        .unwrap();
    let of = |desc: &str| {
        events
            .iter()
            .filter(|e| e["timestamp_desc"] == desc)
            .count()
    };
    let timed = items
        .iter()
        .filter(|i| !i["last_modified"].is_null())
        .count();
    assert_eq!(of("Last Modification Time"), timed);
    assert_eq!(
        of("Sync Log Time"),
        logs.iter().filter(|l| !l["time"].is_null()).count()
    );
    assert_eq!(
        of("Conflict Item Modification Time"),
        conflicts
            .iter()
            .filter(|c| !c["last_modified"].is_null())
            .count()
    );
    // The example's Sync Issues folders hold conflict copies and failed
    // items but no Outlook log (logs are checked on the real OSTs below).
    // Its three conflict copies; the hidden item it keeps in Conflicts (a
    // folder setting) is none.
    assert_eq!(of("Conflict Item Modification Time"), 3);
    assert_eq!(
        events.len(),
        timed + of("Sync Log Time") + of("Conflict Item Modification Time")
    );
    let mut previous = String::new();
    for e in &events {
        let datetime = e["datetime"].as_str().unwrap();
        assert!(is_timesketch_datetime(datetime), "{datetime}");
        assert!(!e["message"].as_str().unwrap().is_empty());
        assert_eq!(e["nid_hex"], format!("{:#x}", e["nid"].as_u64().unwrap()));
        assert_eq!(e["path"], file.as_str());
        assert!(datetime >= previous.as_str(), "sorted by time");
        previous = datetime.to_string();
    }
    // The item's time is its last modification, to the microsecond.
    let item = items
        .iter()
        .find(|i| !i["last_modified"].is_null())
        .unwrap();
    let event = events
        .iter()
        .find(|e| e["nid"] == item["nid"] && e["timestamp_desc"] == "Last Modification Time")
        .unwrap();
    let rfc = item["last_modified"].as_str().unwrap();
    assert_eq!(event["datetime"].as_str().unwrap()[..26], rfc[..26]);
    // --out: the same lines, and the summary line.
    let dir = common::scratch("timeline");
    let path = dir.join("t.jsonl");
    let out = ostscan(&["timeline", &file, "--out", path.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        ostscan(&["timeline", &file]).stdout
    );
    assert_eq!(
        stderr(&out),
        format!(
            "ostscan: {} events; wrote {}\n",
            events.len(),
            path.display()
        )
    );
}

/// The real OSTs: every synchronization log the independent reader found
/// (../shared/truth) is one `Sync Log Time` event, and every item with a
/// time one `Last Modification Time` event.
#[test]
fn timeline_of_the_real_osts_has_every_log() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let truth = corpus.join("../truth");
    for name in [
        "asposenet_SampleOstFile.ost",
        "pstextractor_outlookcom_test.ost",
    ] {
        let logs_path = truth.join(format!("{name}.logs.jsonl"));
        let Ok(logs) = std::fs::read_to_string(&logs_path) else {
            common::skip(format_args!(
                "skipping {name}: {} not found",
                logs_path.display()
            ));
            continue;
        };
        let mut want: Vec<u64> = logs
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["nid"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        want.sort_unstable();
        let file = corpus.join(name);
        let file = file.to_str().unwrap();
        let out = ostscan(&["timeline", file]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let events: Vec<Value> = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut got: Vec<u64> = events
            .iter()
            .filter(|e| e["timestamp_desc"] == "Sync Log Time")
            .map(|e| e["nid"].as_u64().unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, want, "{name}");
        // A log event says "errors in" the folders the scan attributes error
        // lines to, and only those; the others it names were synchronized.
        let scan: Value =
            serde_json::from_str(&stdout(&ostscan(&["scan", "--json", file]))).unwrap();
        let mut attributed = 0;
        for log in scan["files"][0]["sync_issues"]["logs"].as_array().unwrap() {
            let event = events
                .iter()
                .find(|e| e["timestamp_desc"] == "Sync Log Time" && e["nid"] == log["nid"])
                .unwrap();
            let message = event["message"].as_str().unwrap();
            let with_errors: Vec<&str> = log["folders"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["errors"].as_u64().unwrap() > 0)
                .map(|f| f["path"].as_str().unwrap())
                .collect();
            if with_errors.is_empty() {
                assert!(!message.contains("; errors in "), "{name}: {message}");
            } else {
                attributed += 1;
                assert!(
                    message.contains(&format!("; errors in {}", with_errors.join(", "))),
                    "{name}: {message}"
                );
            }
            let names: Vec<&str> = log["folder_names"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap())
                .collect();
            if !names.is_empty() {
                assert!(
                    message.ends_with(&format!("; folders synchronized: {}", names.join(", "))),
                    "{name}: {message}"
                );
            }
        }
        if name == "asposenet_SampleOstFile.ost" {
            assert!(attributed > 0, "some of its logs attribute their errors");
        }
        let timed = stdout(&ostscan(&["items", file]))
            .lines()
            .filter(|l| !serde_json::from_str::<Value>(l).unwrap()["last_modified"].is_null())
            .count();
        let modified = events
            .iter()
            .filter(|e| e["timestamp_desc"] == "Last Modification Time")
            .count();
        assert_eq!(modified, timed, "{name}");
        assert!(events
            .iter()
            .all(|e| is_timesketch_datetime(e["datetime"].as_str().unwrap())));
    }
}

/// Every subcommand's long help says its exit codes, after its examples,
/// and that a closed output pipe ends it quietly.
#[test]
fn every_subcommand_states_its_exit_codes() {
    for sub in SUBCOMMANDS {
        let long = stdout(&ostscan(&[sub, "--help"]));
        let codes = long
            .find("Exit codes")
            .unwrap_or_else(|| panic!("{sub} --help has no exit codes:\n{long}"));
        assert!(long.find("Examples:").unwrap() < codes, "{sub}");
        let section = &long[codes..];
        assert!(section.contains("0 "), "{sub}: {section}");
        assert!(section.contains("2 "), "{sub}: {section}");
        assert!(
            section.contains("A closed output pipe (`| head`) ends ostscan quietly with status 0."),
            "{sub}: {section}"
        );
    }
}

/// A node the file does not have is said once, by its NID, and exits 2.
#[test]
fn dump_of_a_missing_node_names_it_once() {
    let file = workspace().join("testdata/small-ost4k.ost");
    let out = ostscan(&["dump", file.to_str().unwrap(), "--nid", "0x999999"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(": NID 0x999999 not found"), "{err}");
    assert_eq!(err.matches("0x999999").count(), 1, "{err}");
}
